"""The model file and the checkpoint: one .npz archive each, never needing unpickling.

Format (version 1): a NumPy ``.npz`` (zip) archive holding
- ``minicnn_config``: uint8 bytes of a UTF-8 JSON document
  ``{"format": "minicnn.model", "format_version": 1, "minicnn_version": ..., "model": {name,
  input_shape, layers: [{class_name, config}]}, "compile": {optimizer, loss, metrics} | null,
  "optimizer_iterations": t, "optimizer_arrays": m}`` (the last two once the model has trained);
- ``weight_0`` ... ``weight_{k-1}``: every layer's weights in order, in Keras layout;
- ``optimizer_0`` ... ``optimizer_{m-1}``: the optimizer's state (Adam's moments), so that a
  loaded model goes on training where it stopped, as a Keras model file does.
A checkpoint has ``"format": "minicnn.checkpoint"`` and also the epoch, the random-generator
state and the History in its document.
It is read with ``allow_pickle=False``, so nothing in a file can run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, backend, functional, keras_files, layer_base, registry
from .file_editor import KerasFileEditor  # noqa: F401  (keras.saving's)
from .fileio import ModelFileError, atomic_write, files_written_by, read_from_files
from .layers import LAYER_CLASSES
from .models import Model, Sequential

# keras.saving's helpers for custom objects, here as minicnn.saving's.
from .registry import (  # noqa: F401
    custom_object_scope,
    get_custom_objects,
    get_registered_object,
    register_keras_serializable,
)
from .registry import registered_name as get_registered_name  # noqa: F401
from .serialization import deserialize_keras_object, serialize_keras_object  # noqa: F401

CustomObjectScope = custom_object_scope  # Keras' other name of it

FORMAT = "minicnn.model"
CHECKPOINT_FORMAT = "minicnn.checkpoint"
WEIGHTS_FORMAT = "minicnn.weights"
FEATURE_SPACE_FORMAT = "minicnn.feature_space"
FORMAT_VERSION = 1
CONFIG_KEY = "minicnn_config"


def _write(path: str | os.PathLike, document: dict[str, Any], arrays: dict[str, Any]) -> None:
    """The JSON document plus the arrays, as one .npz written atomically."""
    header = {"format_version": FORMAT_VERSION, "minicnn_version": __version__}
    config = json.dumps({**header, **document}).encode()
    entries = {CONFIG_KEY: np.frombuffer(config, dtype=np.uint8), **arrays}
    atomic_write(path, lambda f: np.savez(f, **entries))


def _open(
    path: Path, expected_format: str | tuple[str, ...], what: str
) -> tuple[Any, dict[str, Any]]:
    """The open archive and its JSON document, after checking both are ``expected_format``
    (or one of several)."""
    formats = (expected_format,) if isinstance(expected_format, str) else expected_format
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path} is not a {what} ({e}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{path} is not a {what} (a bare .npy array).")
    try:
        if CONFIG_KEY not in archive.files:
            raise ModelFileError(f"{path} is not a {what} (no {CONFIG_KEY} entry).")
        try:
            document = json.loads(_read(archive, CONFIG_KEY, path).tobytes().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFileError(f"{path}: its description is not valid JSON ({e}).") from None
        if not isinstance(document, dict) or document.get("format") not in formats:
            raise ModelFileError(
                f"{path} is not a {what} (format is not {' or '.join(map(repr, formats))})."
            )
        version = document.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelFileError(
                f"{path} uses model format version {version}; this minicnn ({__version__}) reads "
                f"up to version {FORMAT_VERSION}. Upgrade minicnn to load it."
            )
    except BaseException:
        archive.close()
        raise
    return archive, document


def _read(archive: Any, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as e:  # an object array, which would need unpickling
        raise ModelFileError(
            f"{path}: entry {key} cannot be read without unpickling ({e})."
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path}: entry {key} is corrupt ({e}).") from None


def _read_arrays(archive: Any, prefix: str, count: int, path: Path) -> list[np.ndarray]:
    arrays = []
    for i in range(count):
        key = f"{prefix}_{i}"
        if key not in archive.files:
            raise ModelFileError(f"{path}: {prefix} array {key} is missing ({count} expected).")
        arrays.append(_read(archive, key, path))
    return arrays


def _load_weights(archive: Any, model: Model, path: Path) -> None:
    weights = _read_arrays(archive, "weight", len(model.weights), path)
    try:
        model.set_weights(weights)
        for i, layer in _own_savers(model):  # then what they saved themselves
            prefix = f"own{i}:"
            store = {
                key[len(prefix) :]: _read(archive, key, path)
                for key in archive.files
                if key.startswith(prefix)
            }
            layer.load_own_variables(store)
    except (ValueError, KeyError) as e:
        raise ModelFileError(f"{path}: its arrays do not fit the model: {e}") from None


def _weight_arrays(model: Model) -> dict[str, np.ndarray]:
    """Every weight, and what each layer that writes its own variables (Keras'
    ``save_own_variables``) put in its store."""
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    for i, layer in _own_savers(model):
        store: dict[str, Any] = {}
        layer.save_own_variables(store)
        arrays.update({f"own{i}:{key}": backend.to_numpy(v) for key, v in store.items()})
    return arrays


def _own_savers(model: Model) -> list[tuple[int, Any]]:
    """The layers (nested ones too) that replace Keras' ``save_own_variables``, by place."""
    return [
        (i, layer)
        for i, layer in enumerate(model._all_layers())
        if keras_files.own_hook(layer, "save_own_variables")
    ]


def _optimizer_state(model: Model) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The optimizer's step count and arrays, for a document and its archive."""
    variables = model.optimizer.state_arrays()
    document = {
        "optimizer_iterations": model.optimizer.steps_applied,
        "optimizer_arrays": len(variables),
    }
    return document, {f"optimizer_{i}": backend.to_numpy(a) for i, a in enumerate(variables)}


def _restore_optimizer(archive: Any, document: dict[str, Any], model: Model, path: Path) -> None:
    arrays = _read_arrays(archive, "optimizer", document["optimizer_arrays"], path)
    try:
        model.optimizer.set_state(model.trainable_weights, document["optimizer_iterations"], arrays)
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: its optimizer state does not fit the model: {e}") from None


def save_model(
    model: Model, filepath: str | os.PathLike, overwrite: bool = True, zipped: bool | None = None
) -> None:
    """Keras' ``saving.save_model``: ``model.save(filepath)`` (Keras' archive for a name
    ending in ``.keras``, its legacy file for ``.h5``, else minicnn's own file; with
    ``zipped=False`` the archive's files in a folder)."""
    model.save(filepath, overwrite, zipped)


def save_minicnn_file(model: Model, path: str | os.PathLike) -> None:
    """minicnn's own model file (see the module's description), written atomically."""
    model._require_built()
    compile_config = model.get_compile_config()
    if type(model).get_compile_config is not Model.get_compile_config:
        # A model's own compile config may hold objects (a loss function): Keras' entries.
        from .serialization import serialize_keras_object

        compile_config = serialize_keras_object(compile_config)
    document = {"format": FORMAT, "model": model._architecture(), "compile": compile_config}
    if model._subclassed:  # its class (registered, as Keras needs), config and build
        document["subclassed"] = {
            "class_name": type(model).__name__,
            "registered_name": registry.registered_name(type(model)),
            "config": model.get_config(),
            "build_config": model.get_build_config(),
        }
    arrays = _weight_arrays(model)
    if model.compiled and model.optimizer.state_arrays():
        state, state_arrays = _optimizer_state(model)
        document.update(state)
        arrays.update(state_arrays)
    assets, asset_arrays = _asset_files(model)
    if assets:
        document["assets"] = assets
        arrays.update(asset_arrays)
    _write(path, document, arrays)


def _asset_keepers(model: Model, hook: str) -> list[tuple[int, Any]]:
    """The model and its layers (nested ones too) that have Keras' ``hook`` (save_assets or
    load_assets), by place."""
    return [
        (i, layer)
        for i, layer in enumerate([model, *model._all_layers()])
        if callable(getattr(layer, hook, None))
    ]


def _asset_files(model: Model) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    """What each ``save_assets`` wrote into a folder of its own: the files' paths in that
    folder, by place, and their bytes ("asset<place>_<n>" for the n-th)."""
    paths: dict[str, list[str]] = {}
    arrays: dict[str, np.ndarray] = {}
    for i, layer in _asset_keepers(model, "save_assets"):
        files = files_written_by(layer.save_assets)
        paths[str(i)] = list(files)
        for n, content in enumerate(files.values()):
            arrays[f"asset{i}_{n}"] = np.frombuffer(content, np.uint8)
    return paths, arrays


def _load_assets(archive: Any, document: dict[str, Any], model: Model, path: Path) -> None:
    """Each ``load_assets`` given a folder with the files its ``save_assets`` wrote."""
    saved = document.get("assets", {})
    for i, layer in _asset_keepers(model, "load_assets"):
        names = saved.get(str(i), [])
        contents = _read_arrays(archive, f"asset{i}", len(names), path)
        files = {name: c.tobytes() for name, c in zip(names, contents, strict=True)}
        read_from_files(
            files,
            layer.load_assets,
            lambda name: ModelFileError(f"{path}: asset file {name!r} leaves its folder."),
        )


def load_model(
    path: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    device: str | None = None,
    safe_mode: bool = True,
) -> Model:
    """Rebuild a model saved by ``model.save``: same architecture, same weights, same compile.
    ``safe_mode`` is Keras' switch for running Python bytecode from a file (a Lambda's
    lambda); minicnn never runs it, so a file loads the same either way.
    ``custom_objects`` gives the custom losses and metrics it was compiled with, by name (or
    they are registered with ``register_keras_serializable``), as in Keras. ``device`` is
    where it goes, as for ``Sequential`` (files hold no device). A model saved by Keras 3
    itself (its ``.keras`` archive) is read too (``minicnn.keras_files``), and an ONNX
    model (a ``.onnx`` file, e.g. from ``torch.onnx.export``; ``minicnn.load_onnx``)."""
    path = Path(path)
    device = backend.resolve_device(device)
    from .onnx_reading import is_onnx

    if is_onnx(path):
        from .onnx_import import load_onnx

        return load_onnx(path, device=device)
    if (path.is_file() and keras_files.is_keras_archive(path)) or keras_files.is_keras_folder(path):
        with registry.custom_object_scope(custom_objects):
            return keras_files.load_keras_archive(path, compile, device)
    if path.is_file() and keras_files.is_hdf5(path):  # Keras 2's model.save("model.h5")
        from .keras_legacy import load_legacy_model

        with registry.custom_object_scope(custom_objects):
            return load_legacy_model(path, compile, device)
    archive, document = _open(path, (FORMAT, FEATURE_SPACE_FORMAT), "minicnn model file")
    if document.get("format") == FEATURE_SPACE_FORMAT:  # Keras loads a FeatureSpace so too
        from .feature_space import FeatureSpace

        with archive:
            return FeatureSpace.from_config(document["feature_space"])  # type: ignore[return-value]
    with archive, registry.custom_object_scope(custom_objects):
        if "subclassed" in document:
            model = _subclassed_model(document["subclassed"], path, device)
        else:
            model = _model_from_config(document.get("model"), path, device)
        _load_weights(archive, model, path)
        if compile and document.get("compile"):
            try:
                model.compile_from_config(document["compile"])
            except (KeyError, TypeError, ValueError) as e:
                raise ModelFileError(f"{path}: its compile settings are invalid ({e}).") from None
            if "optimizer_arrays" in document:
                _restore_optimizer(archive, document, model, path)
        _load_assets(archive, document, model, path)
    return model


def model_to_bytes(model: Model) -> bytes:
    """The model as ``model.save`` writes it, as bytes (what pickling a model keeps)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="minicnn-pickle-") as folder:
        path = Path(folder) / "model.npz"
        save_model(model, path)
        return path.read_bytes()


def model_from_bytes(data: bytes, device: str = "cpu") -> Model:
    """The model of ``model_to_bytes``' bytes, on ``device`` (the CPU where no GPU is)."""
    import tempfile

    device = backend.device_here(device)
    with tempfile.TemporaryDirectory(prefix="minicnn-pickle-") as folder:
        path = Path(folder) / "model.npz"
        path.write_bytes(data)
        return load_model(path, device=device)


def save_feature_space(space: Any, path: str | os.PathLike) -> None:
    """A FeatureSpace's configuration and learned state, in a file ``load_model`` reads."""
    _write(path, {"format": FEATURE_SPACE_FORMAT, "feature_space": space.get_config()}, {})


def save_weights(model: Model, path: str | os.PathLike) -> None:
    """The model's weights and its architecture's description (to check on loading); to a
    name ending in ``.weights.h5``, Keras 3's weight file, which Keras' ``load_weights``
    reads; to another name ending in ``.h5``, Keras 2's weights-only file (as tf.keras'
    ``save_weights("w.h5")`` writes it)."""
    model._require_built()
    if str(path).endswith(".weights.h5"):
        keras_files.save_keras_weight_file(model, Path(path))
        return
    if str(path).endswith(".h5"):  # Keras 2's weights-only file (Keras 3 wants .weights.h5)
        from .keras_legacy_writing import save_legacy_weights

        save_legacy_weights(model, Path(path))
        return
    with layer_base.tolerated_configs():  # weights need no config (the check only)
        document = {"format": WEIGHTS_FORMAT, "model": model._architecture()}
    _write(path, document, _weight_arrays(model))


def load_weights(
    model: Model, path: str | os.PathLike, skip_mismatch: bool = False, by_name: bool = False
) -> None:
    """Weights saved by ``save_weights`` or ``save`` into ``model``, after checking that they
    were saved from layers of the same classes (their settings may differ, as in Keras, as long
    as the weights' shapes fit). Keras 3's weight files (``model.weights.h5``) are read too,
    into a model built as the Keras one was, and Keras 2's ``.h5`` files (weights-only or
    whole models): layer by layer in order, or with ``by_name`` by the layers' names, and
    with ``skip_mismatch`` leaving a layer whose shapes differ as it is (with a warning)."""
    path = Path(path)
    model._require_built()
    is_h5 = path.is_file() and keras_files.is_hdf5(path)
    if is_h5:
        from .keras_legacy import is_legacy_h5, load_legacy_weights, weights_group

        with keras_files.h5py_module().File(path, "r") as h5:
            if is_legacy_h5(h5):
                load_legacy_weights(model, weights_group(h5), str(path), by_name, skip_mismatch)
                return
    if skip_mismatch or by_name:
        raise ValueError(
            "skip_mismatch and by_name apply to Keras 2's .h5 files (legacy_h5_format), as in "
            f"Keras; {path} is not one."
        )
    if is_h5:
        keras_files.load_keras_weight_file(model, path)
        return
    archive, document = _open(path, (WEIGHTS_FORMAT, FORMAT), "minicnn weights file")
    with archive:
        _check_same_layers(document, model, path, configs=False)
        _load_weights(archive, model, path)


def _check_same_layers(
    document: dict[str, Any], model: Model, path: Path, configs: bool = True
) -> None:
    """The saved layers are the model's: the same classes and, with ``configs``, the same
    settings. Names may differ (a session counts them on from earlier models). Shapes are
    checked as the weights go in."""
    try:
        entries = document["model"]["layers"]
        saved = [(e["class_name"], e["config"]) for e in entries]
        with layer_base.tolerated_configs():
            ours_config = model._architecture()
        same_graph = _topology(entries) == _topology(ours_config["layers"]) and _calls(
            document["model"]
        ) == _calls(ours_config)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: its model description is invalid ({e!r}).") from None
    if not same_graph:
        raise ModelFileError(f"{path} was written for another architecture than this model's.")
    with layer_base.tolerated_configs():
        ours = [(type(op).__name__, functional.layer_config(op)) for op in model._operations]
    if configs:
        saved = [(name, _unnamed(_completed(name, config))) for name, config in saved]
        ours = [(name, _unnamed(config)) for name, config in ours]
    else:
        saved, ours = [name for name, _ in saved], [name for name, _ in ours]
    if saved != ours:
        raise ModelFileError(f"{path} was written for another architecture than this model's.")


def _topology(entries: list[dict[str, Any]]) -> list[list[int] | None]:
    """Which layers (by position) feed each layer of a functional model; None for each layer
    of a Sequential one."""
    names = [e["config"]["name"] for e in entries]
    return [[names.index(n) for n in e["inbound"]] if "inbound" in e else None for e in entries]


def _calls(config: dict[str, Any]) -> list[Any] | None:
    """A graph with shared layers: each call's layer and inputs by position (names differ
    from session to session); None for other models."""
    if "nodes" not in config:
        return None
    names = [e["config"]["name"] for e in config["layers"]]

    def position(ref: str) -> tuple[int, int]:
        name, _, call = ref.partition("#")
        return names.index(name), int(call or 0)

    return [[names.index(name), [position(r) for r in refs]] for name, refs in config["nodes"]]


def _completed(class_name: str, config: Any) -> Any:
    """A saved layer config with every argument filled in, as the layer gives it today: a file
    written before an argument existed (e.g. ``trainable``) meant its default."""
    cls = LAYER_CLASSES.get(class_name)
    try:
        return cls.from_config(dict(config)).get_config() if cls is not None else config
    except (TypeError, ValueError):
        return config  # compared as it is, and so found different


def _unnamed(config: Any) -> Any:
    """A config without layer names (a session numbers them on), at every depth: a model used
    as a layer holds its own layers' configs. A mixed policy (computed in float32 as float32
    is) does not change what the weights are, so it is left out too."""
    from .mixed_precision import MIXED

    if isinstance(config, dict):
        return {
            k: _unnamed(v)
            for k, v in config.items()
            if k not in ("name", "inbound") and not (k == "dtype" and v in MIXED)
        }
    if isinstance(config, list):
        return [_unnamed(v) for v in config]
    return config


def _subclassed_model(entry: dict[str, Any], path: Path, device: str) -> Model:
    """A subclassed model of the user's made again by its class, from its config, and built
    for the input shape it was built for (its weights are read after)."""
    from .models import _unpickled_subclass

    cls = registry.get_registered_object(
        entry["registered_name"]
    ) or registry.get_registered_object(entry["class_name"])
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ModelFileError(
            f"{path}: its model is of the class {entry['class_name']!r} "
            f"({entry['registered_name']!r}), which is not known here: register it with "
            "saving.register_keras_serializable or pass it in custom_objects."
        )
    try:
        return _unpickled_subclass(
            cls, entry["config"], None, None, device, entry.get("build_config")
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: its model could not be made again ({e!r}).") from None


def _model_from_config(config: Any, path: Path, device: str) -> Model:
    try:
        if config.get("class_name") == "Functional":
            return Model.from_config(config, device=device)
        return Sequential.from_config(config, device=device)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: its model description is invalid ({e!r}).") from None


def save_checkpoint(path: str | os.PathLike, model: Model, epoch: int, history: Any) -> None:
    """Model, optimizer state, random-generator state and History after ``epoch`` epochs, in
    one .npz written atomically (the model file's layout plus ``optimizer_*`` arrays)."""
    with layer_base.tolerated_configs():  # restored into the model itself: the check only
        architecture = model._architecture()
    document = {
        "format": CHECKPOINT_FORMAT,
        "model": architecture,
        "epoch": epoch,
        "optimizer": model.optimizer.get_config(),
        "rng_state": backend.get_rng_state(),
        "history": {
            "history": history.history,
            "epoch": history.epoch,
            "epoch_seconds": history.epoch_seconds,
        },
    }
    state, state_arrays = _optimizer_state(model)
    document.update(state)
    _write(path, document, {**_weight_arrays(model), **state_arrays})


def load_checkpoint(path: str | os.PathLike, model: Model, history: Any) -> int:
    """Restore a checkpoint into ``model`` (which must have the same architecture) and
    ``history``; returns the number of epochs it had finished."""
    path = Path(path)
    archive, document = _open(path, CHECKPOINT_FORMAT, "minicnn checkpoint")
    with archive:
        _check_same_layers(document, model, path)
        _load_weights(archive, model, path)
        _restore_optimizer(archive, document, model, path)
    # The rate is optimizer state too (Keras keeps it in a variable): a callback may have
    # changed it, and the resumed run must go on from the changed rate.
    settings = document["optimizer"]
    if "inner_optimizer" in settings:  # a LossScaleOptimizer's rate is its optimizer's
        settings = settings["inner_optimizer"].get("config", {})
    rate = settings.get("learning_rate")
    if isinstance(rate, (int, float)) and rate > 0:
        model.optimizer.learning_rate = float(rate)
    backend.set_rng_state(document["rng_state"])
    saved = document["history"]
    history.epoch = list(saved["epoch"])
    history.history = {k: list(v) for k, v in saved["history"].items()}
    history.epoch_seconds = list(saved["epoch_seconds"])
    return int(document["epoch"])
