"""Keras' ``keras.saving.KerasFileEditor``: the weights of a Keras file (``.keras`` or
``.weights.h5``, Keras' or minicnn's) as a tree of dicts, edited by path ("layers/dense_1")
or by a name that occurs once, compared with a model, and saved again as a ``.weights.h5``
file that Keras and ``model.load_weights`` read. A layer's arrays are named "0", "1", ... as
in Keras' files (its "vars" groups are folded into their layer, as Keras' editor folds
them)."""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .keras_files import KerasFileError, _h5_bytes, h5py_module, write_h5_file

Tree = dict[str, Any]
_MAX_BYTES = 1 << 32  # an array larger than 4 GiB is taken for a malformed file


class KerasFileEditor:
    """Open ``filepath`` (a ``.keras`` archive or a ``.weights.h5`` file) to inspect and
    edit its weights: ``summary()``, ``compare(model)``, ``rename_object``,
    ``delete_object``, ``add_object``, ``delete_weight``, ``add_weights``, then
    ``save("edited.weights.h5")``."""

    def __init__(self, filepath: str | Path) -> None:
        self.filepath = str(filepath)
        self.config: dict[str, Any] | None = None
        self.metadata: dict[str, Any] | None = None
        h5py = h5py_module()
        if self.filepath.endswith(".keras"):
            with zipfile.ZipFile(self.filepath) as archive:
                self.config = json.loads(archive.read("config.json"))
                names = archive.namelist()
                if "metadata.json" in names:
                    self.metadata = json.loads(archive.read("metadata.json"))
                weights = archive.read("model.weights.h5")
            source: Any = io.BytesIO(weights)
        elif self.filepath.endswith(".weights.h5"):
            source = self.filepath
        else:
            raise ValueError(
                "Invalid filename: expected a `.keras` `.weights.h5` extension. "
                f"Received: filepath={self.filepath}"
            )
        self.object_metadata: dict[str, dict[str, Any]] = {}
        with h5py.File(source, "r") as h5:
            self.weights_dict = self._read(h5, "")
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print(
                f"Saved with Keras {self.metadata.get('keras_version')} - date: "
                f"{self.metadata.get('date_saved')}"
            )

    def _read(self, group: Any, inner_path: str) -> Tree:
        """The arrays under ``group`` by name and its groups as dicts, checked as Keras
        checks them (no links out of the file, no array over 4 GiB)."""
        h5py = h5py_module()
        if group.attrs:
            self.object_metadata[inner_path] = dict(group.attrs)
        tree: Tree = {}
        for key in sorted(group, key=_in_number_order):
            path = f"{inner_path}/{key}"
            link = group.get(key, getclass=True, getlink=True)
            if link in (h5py.ExternalLink, h5py.SoftLink):
                raise KerasFileError(f"Not allowed: H5 file with {link.__name__} at {path}")
            value = group[key]
            if isinstance(value, h5py.Group):
                read = self._read(value, path)
                if key == "vars":  # a layer's own arrays, "0", "1", ...: folded into it
                    tree.update(read)
                elif read:  # (an object without weights is left out, as Keras leaves it)
                    tree[key] = read
                continue
            if not isinstance(value, h5py.Dataset):
                continue
            if value.external or value.is_virtual:
                raise KerasFileError(f"Not allowed: H5 dataset with outside data at {path}")
            if len(value.shape) > 64 or math.prod(value.shape) * value.dtype.itemsize > _MAX_BYTES:
                raise KerasFileError(f"HDF5 dataset {path} is too large to load safely.")
            tree[key] = value[()]
        return tree

    # -- looking ---------------------------------------------------------------------------------
    def summary(self) -> None:
        """Print the tree of objects and weights (shape and dtype of each array)."""
        print("Weights structure")
        self._print(self.weights_dict, "  ", "")

    weights_summary = summary

    def _print(self, tree: Tree, prefix: str, inner_path: str) -> None:
        for index, (key, value) in enumerate(tree.items()):
            last = index == len(tree) - 1
            connector = "> " if (index == 0 and not inner_path) else ("└─ " if last else "├─ ")
            path = f"{inner_path}/{key}"
            if isinstance(value, dict):
                label = f"{prefix}{connector}{key}"
                name = self.object_metadata.get(path, {}).get("name")
                print(label + (f" ('{name}')" if name is not None else ""))
                self._print(value, prefix + ("    " if last else "│   "), path)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model: Any) -> dict[str, Any]:
        """Each mismatch between the file and ``reference_model`` (an object or weight in one
        and not the other, a shape that differs), printed; returns Keras' summary
        ``{"status": "success" | "error", "error_count", "match_count"}``, each weight
        counted once (Keras 3.15's count adds a subtree's matches twice). A compiled model's
        optimizer state is part of the reference, as it is of Keras' files."""
        from .keras_writing import write_optimizer, write_weights_group

        reference_model._require_built()
        h5py = h5py_module()

        def fill(h5: Any) -> None:  # what Keras' file of the model holds
            write_weights_group(reference_model, h5)
            if reference_model.compiled and reference_model.optimizer.built:
                write_optimizer(reference_model, h5)

        data = _h5_bytes(fill)
        with h5py.File(io.BytesIO(data), "r") as h5:
            reference = KerasFileEditor.__new__(KerasFileEditor)
            reference.object_metadata = {}
            reference_tree = reference._read(h5, "")
        print("Running comparison")
        errors, matches = self._compare(self.weights_dict, reference_tree, "", "saved file")
        errors += self._compare(reference_tree, self.weights_dict, "", "reference model")[0]
        print("─────────────────────")
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(
                f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not "
                "compatible with the reference model"
            )
        return {
            "status": "success" if errors == 0 else "error",
            "error_count": errors,
            "match_count": matches,
        }

    @staticmethod
    def _compare(target: Tree, reference: Tree, inner_path: str, target_name: str) -> list[int]:
        """Errors and matches of ``target`` against ``reference``, walking the reference:
        what the reference has that the target lacks, and shapes that differ (counted on
        the first walk only: the second, the other way round, finds only what is missing)."""
        reference_name = "reference model" if target_name == "saved file" else "saved file"
        errors = matches = 0
        for key, value in reference.items():
            path = f"{inner_path}/{key}"
            if key not in target:
                errors += 1
                kind = "Object" if isinstance(value, dict) else "Weight"
                print(f"...{kind} {path} present in {reference_name}, missing from {target_name}")
                if isinstance(value, dict):
                    print(f"    In {reference_name}, {path} contains the keys: {list(value)}")
            elif isinstance(value, dict):
                if not isinstance(target[key], dict):
                    errors += 1
                    print(f"...{path} is an object in {reference_name}, a weight in {target_name}")
                    continue
                more = KerasFileEditor._compare(target[key], value, path, target_name)
                errors, matches = errors + more[0], matches + more[1]
            elif target_name == "saved file":
                if isinstance(target[key], dict) or target[key].shape != value.shape:
                    errors += 1
                    shape = getattr(target[key], "shape", "an object")
                    print(
                        f"...Weight shape mismatch for {path}\n    In {reference_name}: "
                        f"shape={value.shape}\n    In {target_name}: shape={shape}"
                    )
                else:
                    matches += 1
        return [errors, matches]

    # -- editing ---------------------------------------------------------------------------------
    def _edit(self, edit: Callable[[Tree, str], None], name: str) -> None:
        """``edit(parent, key)`` at the object that ``name`` names: a path from the root, or
        a name found exactly once anywhere in the tree."""
        if "/" in name:
            parent, key = self._parent_of(name, name)
            if key not in parent:
                raise ValueError(f"Path '{name}' not found in model.")
            edit(parent, key)
            return
        holders = _holders_of(self.weights_dict, name)
        if len(holders) > 1:
            raise ValueError(
                f"Name '{name}' occurs more than once in the model; try passing a complete path"
            )
        if not holders:
            raise ValueError(
                f"Source name '{name}' does not appear in the model. Use "
                "`editor.weights_summary()` to list all objects."
            )
        edit(holders[0], name)

    def _parent_of(self, path: str, shown: str) -> tuple[Tree, str]:
        """The dict that holds the last part of ``path``, and that part (``shown`` names
        the path in the error when a dict on the way is missing)."""
        *parents, key = path.split("/")
        parent = self.weights_dict
        for part in parents:
            if not isinstance(parent.get(part), dict):
                raise ValueError(f"Path '{shown}' not found in model.")
            parent = parent[part]
        return parent, key

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename an object (a layer, say: "dense_2" or "layers/dense_2"); ``new_name`` is a
        leaf name."""
        if "/" in new_name:
            raise ValueError(
                "Argument `target_name` should be a leaf name, not a full path name. "
                f"Received: target_name='{new_name}'"
            )

        def rename(parent: Tree, key: str) -> None:
            if new_name in parent and new_name != key:
                raise ValueError(f"'{new_name}' already exists beside '{key}'.")
            parent[new_name] = parent.pop(key)

        self._edit(rename, object_name)

    def delete_object(self, object_name: str) -> None:
        """Remove an object (a layer) and its weights."""
        self._edit(lambda parent, key: parent.pop(key), object_name)

    def add_object(self, object_path: str, weights: dict[str, Any]) -> None:
        """Add an object at ``object_path`` ("layers/dense_3") with ``weights`` by name
        ({"0": kernel, "1": bias})."""
        _check_weights(weights)
        parent, key = self._parent_of(object_path, object_path.rpartition("/")[0])
        parent[key] = {k: np.asarray(v) for k, v in weights.items()}

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove the weight ``weight_name`` ("0") from an object."""

        def delete(parent: Tree, key: str) -> None:
            if not isinstance(parent[key], dict) or weight_name not in parent[key]:
                found = list(parent[key]) if isinstance(parent[key], dict) else []
                raise ValueError(
                    f"Weight {weight_name} not found in object {object_name}. Weights "
                    f"found: {found}"
                )
            parent[key].pop(weight_name)

        self._edit(delete, object_name)

    def add_weights(self, object_name: str, weights: dict[str, Any]) -> None:
        """Add (or replace) weights of an existing object, by name."""
        _check_weights(weights)

        def add(parent: Tree, key: str) -> None:
            parent[key].update({k: np.asarray(v) for k, v in weights.items()})

        self._edit(add, object_name)

    # -- saving ----------------------------------------------------------------------------------
    def save(self, filepath: str | Path) -> None:
        """Write the edited weights as a ``.weights.h5`` file (atomically): each object's
        arrays in its "vars" group, as Keras lays them out."""
        filepath = str(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(
                "Invalid `filepath` argument: expected a `.weights.h5` extension. "
                f"Received: filepath={filepath}"
            )
        write_h5_file(Path(filepath), lambda h5: _write(h5, self.weights_dict))

    resave_weights = save


def _in_number_order(key: str) -> tuple[int, int, str]:
    """ "2" before "10"; names after numbers."""
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _holders_of(tree: Tree, name: str) -> list[Tree]:
    """The dicts of ``tree`` (itself included) that hold ``name``."""
    found = [tree] if name in tree else []
    for value in tree.values():
        if isinstance(value, dict):
            found += _holders_of(value, name)
    return found


def _check_weights(weights: Any) -> None:
    if not isinstance(weights, dict):
        raise ValueError(
            "Argument `weights` should be a dict where keys are weight names (usually '0', "
            f"'1', etc.) and values are NumPy arrays. Received: type(weights)={type(weights)}"
        )


def _write(group: Any, tree: Tree) -> None:
    arrays = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    if arrays or not tree:
        own = group.create_group("vars")
        for name, value in arrays.items():
            own.create_dataset(name, data=value)
    for name, value in tree.items():
        if isinstance(value, dict) and value:
            _write(group.create_group(name), value)
