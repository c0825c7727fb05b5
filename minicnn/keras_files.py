"""Models saved by Keras 3 itself, both ways: ``load_model("model.keras")`` reads Keras'
archive (its ``config.json``, the architecture, and ``model.weights.h5``, the weights) into a
minicnn model with the same layers, names and weights, compiled as it was saved where
minicnn has what it names, its optimizer's state too; ``model.load_weights(
"model.weights.h5")`` reads Keras' weight file; ``model.export(path, format="keras")`` and
``save_weights("x.weights.h5")`` write them for Keras. Reading is ``keras_reading``, writing
``keras_writing``; this module holds what both follow of Keras' format.

Keras' weight file keeps each layer's variables under a path of the layer's class (``dense``,
``dense_1``, ... within each model, in the order Keras gives its layers), sublayers under
their attribute names (an LSTM's ``cell``, MultiHeadAttention's ``query_dense``, ...). Reading
and writing it needs h5py (``pip install minicnn[keras]``)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .fileio import ModelFileError, files_written_by, read_from_files
from .functional import keras_layer_order, keras_node_order

# Where each layer keeps the weights of its sublayers in Keras' file, in minicnn's order of
# its weights (its own variables, when it has any, come first).
SUBLAYERS = {
    "LSTM": ("cell",),
    "GRU": ("cell",),
    "SimpleRNN": ("cell",),
    "ConvLSTM1D": ("cell",),
    "ConvLSTM2D": ("cell",),
    "ConvLSTM3D": ("cell",),
    "Bidirectional": ("forward_layer", "backward_layer"),
    "TimeDistributed": ("layer",),
    "MultiHeadAttention": ("query_dense", "key_dense", "value_dense", "output_dense"),
    "GroupQueryAttention": ("_query_dense", "_key_dense", "_value_dense", "_output_dense"),
    "SpectralNormalization": ("layer",),
}
# Keras' Python class where it differs from the name Keras exports it by (the file's group
# names follow the Python class).
PYTHON_CLASSES = {"GroupQueryAttention": "GroupedQueryAttention"}


MODELS = ("Sequential", "Functional", "Model")
# The config keys under which a wrapper keeps the layer it wraps (Bidirectional's two, an
# RNN's cell).
WRAPPED_KEYS = ("layer", "forward_layer", "backward_layer", "cell")
# Keras 2's layers for TensorFlow calls on KerasTensors (``x + y``, ``tf.concat``, ``x[:, 1:]``).
TF_OP_LAYERS = ("TFOpLambda", "SlicingOpLambda")


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class KerasFileError(ModelFileError):
    """A Keras file minicnn cannot read or write (what and why)."""


def is_keras_archive(path: Path) -> bool:
    """Whether ``path`` is Keras 3's ``.keras`` zip (a config.json and its weights)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "config.json" in archive.namelist()


def is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def h5py_module() -> Any:
    try:
        import h5py
    except ImportError:
        raise KerasFileError(
            "Reading Keras' weight files needs h5py: pip install minicnn[keras] (or h5py)."
        ) from None
    return h5py


# Keras' layout of each optimizer's state after its iteration count and learning rate, as
# minicnn's slots: segments one after another, the slots of a segment interleaved weight by
# weight (Adam: momentum, velocity of each weight; RMSprop: every velocity, then every
# momentum, then every average gradient), a segment kept only where the optimizer has those
# slots; Nadam adds its momentum product at the end.
OPTIMIZER_STATE = {
    "Adam": [("m", "v"), ("v_hat",)],
    "AdamW": [("m", "v"), ("v_hat",)],
    "Nadam": [("m", "v")],
    "Adamax": [("m", "u")],
    "SGD": [("velocity",)],
    "RMSprop": [("velocity",), ("momentum",), ("average_gradient",)],
    "Adagrad": [("accumulator",)],
    "Adadelta": [("accumulated_grad", "accumulated_delta_var")],
    "Lion": [("momentum",)],
    "Lamb": [("m", "v")],
    "Ftrl": [("accumulator", "linear")],
    "Adafactor": [("r", "c", "v")],
    "Muon": [("momentum", "velocity")],
    "ScheduleFreeAdamW": [("momentum", "velocity")],
}
TRAILING_SCALARS = {"Nadam": 1}  # Keras' u_product
# Optimizers whose weights hold different slots: Adafactor factors a weight of two axes or
# more (r, c and v) but not a vector (v alone). Keras 3 keeps a scalar 0 (int32) in place
# of a vector's r and c (PLACEHOLDERS); TensorFlow 2's Keras keeps nothing there. Muon
# gives a velocity only to the weights it leaves to AdamW, and Keras keeps nothing for the
# others.
RAGGED = {"Adafactor", "Muon"}
PLACEHOLDERS = {"Adafactor"}


def state_walk(
    optimizer: Any, segments: list[tuple[str, ...]], order: list[Any], placeholders: bool
) -> list[tuple[Any, dict[str, Any], str | None]]:
    """The optimizer's state in the order of Keras' file: (weight, its slots, slot name) for
    each slot of each segment, weight by weight in ``order``. Where a weight has not got a
    slot of the segment (a ragged optimizer), the name is None with ``placeholders`` (Keras
    3 keeps a scalar 0 there), and nothing is listed without (TensorFlow 2's Keras)."""
    position = {id(p): i for i, p in enumerate(optimizer._params)}
    walk = []
    for segment in segments:
        for weight in order:
            slots = optimizer._slots[position[id(weight)]]
            for name in segment:
                if name in slots or placeholders:
                    walk.append((weight, slots, name if name in slots else None))
    return walk


# The state every optimizer may keep, before its own in Keras' file: with use_ema, the
# weights' moving averages; with gradient_accumulation_steps, their gradients' sums.
SHARED_SLOTS = ("ema", "gradient_accumulator")


def state_segments(optimizer: Any) -> list[tuple[str, ...]] | None:
    """The segments of a built optimizer's state in Keras' file (None where minicnn does
    not follow Keras' layout)."""
    segments = OPTIMIZER_STATE.get(type(optimizer).__name__)
    if segments is None:
        return None
    first = set(optimizer._slots[0]) if optimizer._slots else set()
    shared = [(name,) for name in SHARED_SLOTS if name in first]
    own = [set(slots) - set(SHARED_SLOTS) for slots in optimizer._slots]
    if type(optimizer).__name__ in RAGGED:
        names = {name for s in segments for name in s}
        return shared + segments if all(slots <= names for slots in own) else None
    present = own[0] if own else set()
    kept = [s for s in segments if set(s) <= present]
    if any(set(s) & present and not set(s) <= present for s in segments):
        return None
    if present != {name for s in kept for name in s}:
        return None
    return shared + kept


class StateEntry(NamedTuple):
    """One of Keras' optimizer variables: its kind ("iterations", "learning_rate", "slot",
    ...), the optimizer it belongs to, and for a slot, the weight, its slots and the slot's
    name (None: Keras' scalar placeholder where a weight has not got the slot)."""

    kind: str
    owner: Any
    weight: Any = None
    slots: Any = None
    slot: str | None = None


def keras_state_entries(optimizer: Any, order: list[Any]) -> list[StateEntry] | None:
    """Keras 3's optimizer variables in its order (``optimizer.variables``, its file's), for
    the weights in ``order``: "iterations", "learning_rate" where it has no schedule, then
    a "slot" for each slot, and "u_product" for Nadam. A MultiOptimizer's own count and
    rate ("zero_rate": 0 in Keras) come first, then each of its optimizers' entries; a
    LossScaleOptimizer's own two ("zero_count", "zero_rate"), its "step_counter" and
    "dynamic_scale", then its optimizer's entries. None where minicnn does not follow Keras'
    layout."""
    wrapped = getattr(optimizer, "inner_optimizer", None)
    if wrapped is not None:  # a LossScaleOptimizer: its own count and rate stay 0 in Keras
        found = keras_state_entries(wrapped, order)
        own = [StateEntry(kind, optimizer) for kind in ("zero_count", "zero_rate")]
        scaling = [  # made when it is built, as Keras makes them
            StateEntry(kind, optimizer)
            for kind in ("step_counter", "dynamic_scale")
            if optimizer.built
        ]
        return None if found is None else own + scaling + found
    inner = getattr(optimizer, "optimizers", None)
    if inner is not None:
        entries = [StateEntry("iterations", optimizer), StateEntry("zero_rate", optimizer)]
        for sub in inner:
            own = {id(p) for p in sub._params}
            found = keras_state_entries(sub, [w for w in order if id(w) in own])
            if found is None:
                return None
            entries += found
        return entries
    segments = state_segments(optimizer)
    if segments is None:
        return None
    entries = [StateEntry("iterations", optimizer)]
    if getattr(optimizer, "_schedule", None) is None:
        entries.append(StateEntry("learning_rate", optimizer))
    placeholders = type(optimizer).__name__ in PLACEHOLDERS
    for weight, slots, name in state_walk(optimizer, segments, order, placeholders):
        entries.append(StateEntry("slot", optimizer, weight, slots, name))
    count = TRAILING_SCALARS.get(type(optimizer).__name__, 0) if optimizer.built else 0
    return entries + [StateEntry("u_product", optimizer)] * count


def entry_value(entry: StateEntry) -> Any:
    """The entry's value as Keras keeps it: a slot's own array (on its device), the
    scalars as 0-d host arrays (counts int64, rates and scales float32)."""
    owner = entry.owner
    if entry.kind == "slot":
        if entry.slot is None:  # Keras 3's placeholder
            return np.zeros((), np.int32)
        return entry.slots[entry.slot]
    if entry.kind == "iterations":
        return np.asarray(owner.steps_applied, np.int64)
    if entry.kind == "zero_count":
        return np.zeros((), np.int64)
    if entry.kind == "step_counter":
        return np.asarray(owner.step_counter, np.int64)
    if entry.kind == "dynamic_scale":
        return np.asarray(owner.dynamic_scale, np.float32)
    if entry.kind == "learning_rate":
        return np.asarray(owner.learning_rate, np.float32)
    if entry.kind == "zero_rate":  # a MultiOptimizer's and a LossScaleOptimizer's own
        return np.zeros((), np.float32)
    return np.asarray(owner._product(), np.float32)  # Nadam's momentum product U_t


# Keras' names of minicnn's slots where they differ ("adam/dense_kernel_momentum"), and an
# optimizer's own; Adafactor's factors are named after their weight alone.
KERAS_SLOT_NAMES = {"m": "momentum", "v": "velocity", "v_hat": "velocity_hat", "ema": "average"}
KERAS_SLOT_NAMES_OF = {
    "SGD": {"velocity": "momentum"},
    "Adamax": {"u": "norm"},
}
WEIGHT_NAMED_SLOTS = {"Adafactor": ("r", "c")}


def keras_slot_name(optimizer: Any, slot: str) -> str:
    own = KERAS_SLOT_NAMES_OF.get(type(optimizer).__name__, {})
    return own.get(slot) or KERAS_SLOT_NAMES.get(slot, slot)


def entry_path(entry: StateEntry) -> str:
    """The Keras path of the variable an entry stands for: "adam/iteration",
    "adam/sequential_dense_kernel_momentum" (the weight's path, its slashes as
    underscores)."""
    scope = entry.owner.name
    if entry.kind in ("iterations", "zero_count"):
        return f"{scope}/iteration"
    if entry.kind in ("learning_rate", "zero_rate"):
        return f"{scope}/learning_rate"
    if entry.kind != "slot":
        return f"{scope}/{entry.kind}"
    weight = entry.weight
    if entry.slot is None:  # Keras makes its placeholder outside the optimizer's scope
        return str(weight.name)
    if entry.slot in WEIGHT_NAMED_SLOTS.get(type(entry.owner).__name__, ()):
        return f"{scope}/{weight.name}"
    path = entry.owner.scoped_paths.get(id(weight)) or weight.path or weight.name
    return f"{scope}/{path.replace('/', '_')}_{keras_slot_name(entry.owner, entry.slot)}"


def own_hook(layer: Any, name: str) -> bool:
    """Whether the layer's class replaces Layer's ``name``, one of Keras' hooks
    (``save_own_variables``, ``get_build_config``, ...), which Keras' files then follow."""
    from .layer_base import Layer

    return getattr(type(layer), name) is not getattr(Layer, name)


def keras_places(model: Any, prefix: str = "") -> list[tuple[Any, str]]:
    """Each layer of the model (nested models' and a user's layers' sublayers too) with the
    path of its group in Keras' files ("layers/dense", "layers/encoder/layers/dense"),
    where its assets go too."""
    if getattr(model, "_subclassed", False):
        placed = sublayer_paths(model)
    else:
        layers = keras_layers(model)
        paths = [f"layers/{path}" for path in group_paths(layers)]
        placed = list(zip(layers, paths, strict=True))
    found = []
    for layer, path in placed:
        found.append((layer, f"{prefix}{path}"))
        if getattr(layer, "is_model", False):
            found += keras_places(layer, f"{prefix}{path}/")
        else:
            found += [(sub, f"{prefix}{path}/{inner}") for sub, inner in sublayer_paths(layer)]
    return found


def asset_keepers(model: Any, hook: str) -> list[tuple[Any, str]]:
    """The layers with Keras' ``hook`` (``save_assets``, ``load_assets``), each with the
    folder of its assets in Keras' archive."""
    return [
        (layer, f"assets/{path}")
        for layer, path in keras_places(model)
        if callable(getattr(layer, hook, None))
    ]


def entry_name(entry: dict[str, Any]) -> str:
    """The name of a layer's entry in Keras' config: a functional model's entries name it
    (a user's get_config may leave it out of the layer's config)."""
    return entry.get("name") or entry["config"]["name"]


def keras_trainable(model: Any, config: Any = None) -> list[Any]:
    """The model's trainable weights in Keras' order (its layers' order, nested models'
    inside theirs), which is the order of the optimizer's state in Keras' file."""
    if getattr(model, "_subclassed", False):  # Keras builds its optimizer on these
        return list(model.trainable_weights)
    entries = {entry_name(e): e for e in (config or {}).get("layers", [])}
    found: list[Any] = []
    for layer in keras_layers(model, config):
        if getattr(layer, "is_model", False):
            found += keras_trainable(layer, entries.get(layer.name, {}).get("config"))
        else:
            found += layer.trainable_weights
    return found


def is_operation(entry: dict[str, Any]) -> bool:
    """Whether the entry is one of Keras' ops on KerasTensors (``x + 1``, ``ops.sum``, the
    masks Keras computes), not a layer: Keras saves those as operations of the graph."""
    return (entry.get("module") or "").startswith("keras.src.ops")


def keras_snake(name: str) -> str:
    """Keras' ``to_snake_case`` of a class name: "Conv2D" is "conv2d", "DepthwiseConv2D"
    "depthwise_conv2d"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def group_paths(layers: list[Any]) -> list[str]:
    """Each layer's group in Keras' file: its class's snake-case name, numbered within the
    model ("dense", "dense_1", ...), in the model's order of layers."""
    return numbered_paths(
        [getattr(layer, "keras_class_name", None) or type(layer).__name__ for layer in layers]
    )


def numbered_paths(class_names: list[str]) -> list[str]:
    """``group_paths`` from the layers' class names."""
    seen: dict[str, int] = {}
    paths = []
    for name in class_names:
        name = keras_snake(PYTHON_CLASSES.get(name, name))
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        paths.append(name)
    return paths


def sublayer_paths(layer: Any) -> list[tuple[Any, str]]:
    """A user's layer's sublayers (the layers it keeps as attributes), in minicnn's order of
    its weights, each with its path in Keras' weight file: Keras walks the layer's
    attributes in sorted order of their names, a layer under its attribute's name, a list
    or dict of them under the attribute's name and each one's class name (numbered within
    it, "dense", "dense_1"); a layer met twice keeps its first path. Empty for a layer
    that keeps none."""
    subclassed = getattr(layer, "is_model", False) and getattr(layer, "_subclassed", False)
    tracked = list(layer.layers) if subclassed else layer.__dict__.get("_tracked_layers") or []
    if not tracked:
        return []
    from .layer_base import Layer

    skipped = _model_base_attributes() if subclassed else _base_attributes()
    paths: dict[int, str] = {}
    attributes = {**vars(layer), "layers": layer.layers} if subclassed else vars(layer)
    for attribute in sorted(attributes):
        if attribute in skipped:
            continue
        value = attributes[attribute]
        if isinstance(value, Layer):
            paths.setdefault(id(value), attribute)
        elif isinstance(value, (list, tuple, dict)):
            items = list(value.values()) if isinstance(value, dict) else list(value)
            kept = [item for item in items if isinstance(item, Layer)]
            names = numbered_paths([type(item).__name__ for item in kept])
            for item, name in zip(kept, names, strict=True):
                paths.setdefault(id(item), f"{attribute}/{name}")
    missing = [sub.name for sub in tracked if id(sub) not in paths]
    if missing:
        raise KerasFileError(
            f"layer '{layer.name}' keeps layers {missing} where Keras' file has no place for "
            "them (keep each as an attribute, or in a list or dict attribute)."
        )
    return [(sub, paths[id(sub)]) for sub in tracked]


_BASE_ATTRIBUTES: set[str] = set()


def _base_attributes() -> set[str]:
    """The attributes every minicnn layer has (Keras skips its base Layer's too)."""
    if not _BASE_ATTRIBUTES:
        from .layer_base import Layer

        _BASE_ATTRIBUTES.update(vars(Layer(name="attribute_probe")))
        _BASE_ATTRIBUTES.update({"_tracked_layers", "_tracked_metrics"})
    return _BASE_ATTRIBUTES


_MODEL_BASE_ATTRIBUTES: set[str] = set()


def _model_base_attributes() -> set[str]:
    """The attributes every subclassed minicnn model has, but ``layers`` (Keras walks a
    model's ``layers`` property as a list: the layers it meets there first go under
    "layers/dense", ...)."""
    if not _MODEL_BASE_ATTRIBUTES:
        from .models import Model

        class Probe(Model):
            def call(self, x: Any) -> Any:
                return x

        _MODEL_BASE_ATTRIBUTES.update(vars(Probe(name="attribute_probe")))
        _MODEL_BASE_ATTRIBUTES.update(_base_attributes())
    return _MODEL_BASE_ATTRIBUTES


def keras_layers(model: Any, config: Any = None) -> list[Any]:
    """The model's layers in Keras' order and extent: a Sequential's without its input, a
    functional model's with its InputLayers, in the order of Keras' ``config`` of it when
    there is one (the archive's), else in the order Keras gives a graph's layers."""
    from .layers import InputLayer

    if getattr(model, "_subclassed", False):  # no graph: the layers as it tracked them
        return list(model.layers)
    if type(model).__name__ == "Sequential":
        return [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    if config is not None:
        by_name = {layer.name: layer for layer in model._operations}
        return [by_name[entry_name(entry)] for entry in config["layers"] if not is_operation(entry)]
    return [layer for layer in graph_order(model) if not is_op_layer(layer)]


def is_op_layer(layer: Any) -> bool:
    """minicnn's layers for what Keras keeps as ops, not layers (no group in its file)."""
    return getattr(layer, "keras_operation", False)


def graph_order(model: Any) -> list[Any]:
    """Keras' order of a functional model's layers (``functional.keras_layer_order``)."""
    return keras_layer_order(model._nodes(), model._output_slots)


def execution_order(model: Any) -> list[int]:
    """The model's nodes in the order Keras' functional model runs them."""
    return keras_node_order(model._nodes(), model._output_slots)


def load_keras_archive(path: Path, compile: bool = True, device: str | None = None) -> Any:
    """The model a Keras ``.keras`` archive holds (or the folder ``save(..., zipped=False)``
    writes), with its weights (and compiled)."""
    import io

    from .keras_reading import (
        asset_vocabularies,
        compile_as_saved,
        given_vocabularies,
        load_weights_group,
        model_from_keras_config,
        restore_optimizer,
    )

    def wanted(name: str) -> bool:
        return name in _ARCHIVE_FILES or _is_asset(name)

    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in sorted(path.rglob("*")) if p.is_file()]
        contents = {n: (path / n).read_bytes() for n in names if wanted(n)}
    else:
        with zipfile.ZipFile(path) as archive:
            contents = {n: archive.read(n) for n in archive.namelist() if wanted(n)}
    if "config.json" not in contents:
        raise KerasFileError(f"{path}: a Keras model holds a config.json; this one has none.")
    document = json.loads(contents["config.json"])
    weights = contents.get("model.weights.h5")
    files = {n: c for n, c in contents.items() if _is_asset(n)}
    # The vocabularies of lookup layers that Keras adapted are assets of their own.
    assets = {n: content for n, content in files.items() if n.endswith("/vocabulary.txt")}
    vocabularies = {}
    if assets:
        if weights is None:
            vocabularies = asset_vocabularies(document, assets, None)
        else:
            with h5py_module().File(io.BytesIO(weights), "r") as h5:
                vocabularies = asset_vocabularies(document, assets, h5)
    try:
        with given_vocabularies(vocabularies):
            model = model_from_keras_config(document, device)
    except (KeyError, TypeError) as error:
        raise KerasFileError(f"{path}: its Keras architecture cannot be read ({error}).") from None
    if weights is not None:
        with h5py_module().File(io.BytesIO(weights), "r") as h5:
            load_weights_group(model, h5, str(path), document["config"])
    _load_assets(model, files, path)
    if compile and document.get("compile_config"):
        compile_as_saved(model, document["compile_config"], path)
        if weights is not None and model.compiled:
            with h5py_module().File(io.BytesIO(weights), "r") as h5:
                if "optimizer" in h5 and "vars" in h5["optimizer"]:
                    order = keras_trainable(model, document["config"])
                    restore_optimizer(model, h5["optimizer"]["vars"], order, path)
    return model


_ARCHIVE_FILES = ("config.json", "model.weights.h5")


def _is_asset(name: str) -> bool:
    return name.startswith("assets/") and name[-1] != "/"


def _load_assets(model: Any, files: dict[str, bytes], path: Path) -> None:
    """Each ``load_assets`` of a user's layer given a folder with its files from the
    archive (what its ``save_assets`` wrote there)."""
    for layer, where in asset_keepers(model, "load_assets"):
        prefix = f"{where}/"
        own = {n[len(prefix) :]: c for n, c in files.items() if n.startswith(prefix)}
        read_from_files(
            own,
            layer.load_assets,
            lambda name, prefix=prefix: KerasFileError(
                f"{path}: asset file {prefix + name!r} leaves its folder."
            ),
        )


def asset_files(model: Any) -> dict[str, bytes]:
    """What each ``save_assets`` of a user's layer wrote, by its name in Keras' archive."""
    found = {}
    for layer, where in asset_keepers(model, "save_assets"):
        found.update({f"{where}/{n}": c for n, c in files_written_by(layer.save_assets).items()})
    return found


def load_keras_weight_file(model: Any, path: Path) -> None:
    """Keras' ``model.weights.h5`` into ``model`` (built as the Keras model was), and, as
    Keras, the optimizer's state where the file has it and the model is compiled."""
    from .keras_reading import load_weights_group, restore_optimizer

    with h5py_module().File(path, "r") as h5:
        load_weights_group(model, h5, str(path))
        if model.compiled and "optimizer" in h5 and "vars" in h5["optimizer"]:
            restore_optimizer(model, h5["optimizer"]["vars"], keras_trainable(model), path)


def _h5_bytes(fill: Any) -> bytes:
    """An HDF5 file made in memory by ``fill(h5)``, as bytes."""
    import io

    buffer = io.BytesIO()
    with h5py_module().File(buffer, "w") as h5:
        fill(h5)
    return buffer.getvalue()


def write_h5_file(path: Path, fill: Any) -> None:
    """An HDF5 file made by ``fill(h5)``, written to ``path`` atomically (built in memory
    first, so a failure leaves nothing half-written)."""
    from .fileio import atomic_write

    data = _h5_bytes(fill)
    atomic_write(path, lambda file: file.write(data))


def keras_document(model: Any) -> dict[str, Any]:
    """The model as Keras 3 serializes it: a .keras archive's config.json, and to_json's."""
    from .keras_writing import (
        compile_config,
        model_entry,
        refuse_keras2_activations,
        without_slashes,
    )

    document = model_entry(model)
    refuse_keras2_activations(document)
    without_slashes(document)
    # As Keras: {} for a model not compiled (or compiled with what its files cannot hold).
    document["compile_config"] = compile_config(model) or {}
    return document


def keras_archive_files(model: Any) -> dict[str, bytes]:
    """The files of Keras 3's archive of ``model`` by name (metadata.json, config.json,
    model.weights.h5, then what the layers' ``save_assets`` wrote), all made in memory."""
    import datetime

    from .keras_writing import KERAS_VERSION, write_optimizer, write_weights_group

    model._require_built()
    document = keras_document(model)
    settings = document.get("compile_config")

    def fill(h5: Any) -> None:
        write_weights_group(model, h5)
        if settings:
            write_optimizer(model, h5)

    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    return {
        "metadata.json": json.dumps(metadata).encode(),
        "config.json": json.dumps(document).encode(),
        "model.weights.h5": _h5_bytes(fill),
        **asset_files(model),
    }


def save_keras_archive(model: Any, path: Path) -> None:
    """``model`` as Keras 3's ``.keras`` archive (config.json, metadata.json,
    model.weights.h5), which ``keras.saving.load_model`` reads; written atomically, so a
    failure leaves nothing half-written."""
    from .fileio import atomic_write

    files = keras_archive_files(model)

    def write(file: Any) -> None:
        with zipfile.ZipFile(file, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)

    atomic_write(path, write)


def save_keras_folder(model: Any, path: Path) -> None:
    """``model.save(path, zipped=False)``: the archive's files in a folder, as Keras writes
    it (an ``assets`` folder even when empty; other files already there stay). Everything
    is made before the first file is written, and each file is replaced whole."""
    from .fileio import atomic_write

    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            f"save: {path} is a file; zipped=False writes the model as a folder of files."
        )
    files = keras_archive_files(model)
    (path / "assets").mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda file, content=content: file.write(content))


def is_keras_folder(path: Path) -> bool:
    """A folder Keras' ``save(..., zipped=False)`` wrote: it holds a config.json."""
    return path.is_dir() and (path / "config.json").is_file()


def save_keras_weight_file(model: Any, path: Path) -> None:
    """The weights, as Keras' ``model.save_weights("model.weights.h5")`` writes them
    (atomically): with the optimizer's state once it has one, as Keras' too."""
    from .keras_writing import write_optimizer, write_weights_group

    model._require_built()

    def fill(h5: Any) -> None:
        write_weights_group(model, h5)
        if model.compiled:
            write_optimizer(model, h5)

    write_h5_file(path, fill)
