"""Models saved by Keras 3 itself: ``load_model("model.keras")`` reads Keras' archive (its
``config.json``, the architecture, and ``model.weights.h5``, the weights) into a minicnn
model with the same layers, names and weights, compiled as it was saved where minicnn has
what it names; ``model.load_weights("model.weights.h5")`` reads Keras' weight file.

Keras' weight file keeps each layer's variables under a path of the layer's class (``dense``,
``dense_1``, ... within each model, in the order of its layers), sublayers under their
attribute names (an LSTM's ``cell``, MultiHeadAttention's ``query_dense``, ...). Reading it
needs h5py (``pip install minicnn[keras]``)."""

from __future__ import annotations

import inspect
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import backend

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
    "GroupQueryAttention": ("query_dense", "key_dense", "value_dense", "output_dense"),
    "SpectralNormalization": ("layer",),
}
MODELS = ("Sequential", "Functional", "Model")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class KerasFileError(ValueError):
    """A Keras file minicnn cannot read (what and why)."""


def is_keras_archive(path: Path) -> bool:
    """Whether ``path`` is Keras 3's ``.keras`` zip (a config.json and its weights)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "config.json" in archive.namelist()


def is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise KerasFileError(
            "Reading Keras' weight files needs h5py: pip install minicnn[keras] (or h5py)."
        ) from None
    return h5py


def load_keras_archive(path: Path, compile: bool = True, device: str | None = None) -> Any:
    """The model a Keras ``.keras`` archive holds, with its weights (and compiled)."""
    import io

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        document = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5") if "model.weights.h5" in names else None
    try:
        model = model_from_keras_config(document, device)
    except (KeyError, TypeError) as error:
        raise KerasFileError(f"{path}: its Keras architecture cannot be read ({error}).") from None
    if weights is not None:
        with _h5py().File(io.BytesIO(weights), "r") as h5:
            load_keras_weights_group(model, h5, str(path), document["config"])
    if compile and document.get("compile_config"):
        _compile(model, document["compile_config"], path)
        if weights is not None and model.compiled:
            with _h5py().File(io.BytesIO(weights), "r") as h5:
                if "optimizer" in h5 and "vars" in h5["optimizer"]:
                    order = _keras_trainable(model, document["config"])
                    _restore_optimizer(model, h5["optimizer"]["vars"], order, path)
    return model


# Each optimizer's state per weight in Keras' order (Keras' names: momentum, velocity),
# as minicnn's slots; Keras keeps them weight by weight after the iteration count and the
# learning rate.
OPTIMIZER_SLOTS = {"Adam": ("m", "v"), "AdamW": ("m", "v"), "SGD": ("velocity",)}


def _slot_names(optimizer: Any) -> tuple[str, ...] | None:
    """Where minicnn can follow Keras' layout of the optimizer's state (None elsewhere)."""
    names = OPTIMIZER_SLOTS.get(type(optimizer).__name__)
    if names is None or getattr(optimizer, "amsgrad", False):
        return None
    if names == ("velocity",) and not optimizer.momentum:
        return ()
    return names


def _keras_trainable(model: Any, config: Any = None) -> list[Any]:
    """The model's trainable weights in Keras' order (its layers' order, nested models'
    inside theirs), which is the order of the optimizer's state in Keras' file."""
    entries = {e["config"]["name"]: e for e in (config or {}).get("layers", [])}
    found: list[Any] = []
    for layer in _keras_layers(model, config):
        if getattr(layer, "is_model", False):
            found += _keras_trainable(layer, entries.get(layer.name, {}).get("config"))
        else:
            found += layer.trainable_weights
    return found


def _restore_optimizer(model: Any, group: Any, keras_order: list[Any], path: Path) -> None:
    """The optimizer's state from Keras' file, so that training goes on as in Keras; an
    optimizer whose layout minicnn does not follow starts afresh, with a warning."""
    optimizer, params = model.optimizer, model.trainable_weights
    names = _slot_names(optimizer)
    arrays = [np.asarray(group[str(i)]) for i in range(len(group))]
    has_rate = getattr(optimizer, "_schedule", None) is None
    expected = 1 + has_rate + (len(names) if names else 0) * len(params)
    if names is None or len(arrays) != expected:
        warnings.warn(
            f"{path}: the {type(optimizer).__name__} optimizer's saved state is not read "
            "(its layout is Keras' own); training starts it afresh.",
            stacklevel=4,
        )
        return
    optimizer.build(params)
    state = arrays[1 + has_rate :]
    position = {id(p): i for i, p in enumerate(params)}
    for k, weight in enumerate(keras_order):
        slots = optimizer._slots[position[id(weight)]]
        for j, name in enumerate(names):
            value = state[k * len(names) + j]
            if value.shape != slots[name].shape:
                raise KerasFileError(
                    f"{path}: optimizer state of shape {value.shape} for a weight of shape "
                    f"{slots[name].shape}."
                )
            slots[name][...] = backend.to_device(value, backend.device_of(slots[name]))
    optimizer.iterations = int(arrays[0])


def _write_optimizer(model: Any, h5: Any) -> None:
    """The optimizer's state where Keras keeps it (for the optimizers whose layout minicnn
    follows, once built)."""
    optimizer = model.optimizer
    names = _slot_names(optimizer)
    if names is None or not optimizer.built:
        return
    group = h5.create_group("optimizer").create_group("vars")
    values = [np.asarray(optimizer.iterations, np.int64)]
    if getattr(optimizer, "_schedule", None) is None:
        values.append(np.asarray(optimizer.learning_rate, np.float32))
    position = {id(p): i for i, p in enumerate(optimizer._params)}
    for weight in _keras_trainable(model):
        slots = optimizer._slots[position[id(weight)]]
        values += [backend.to_numpy(slots[name]) for name in names]
    for i, value in enumerate(values):
        group.create_dataset(str(i), data=value)


def _compile_config(model: Any) -> dict[str, Any] | None:
    """Keras' compile config of a compiled model (its optimizer, loss and metrics by Keras'
    names), None for a model that is not compiled or whose loss is code of its own."""
    from .losses import BuiltinLoss

    if not model.compiled or model.optimizer is None:
        return None
    losses = model.loss if isinstance(model.loss, list) else [model.loss]
    if not all(isinstance(loss, BuiltinLoss) for loss in losses):
        return None

    def loss_entry(loss: Any) -> Any:
        config = loss.get_config()
        if set(config) - {"name", "class_name"} or "class_name" in config:
            return {
                "module": "keras.losses",
                "class_name": type(loss).__name__,
                "config": {**config, "name": loss.name},
                "registered_name": None,
            }
        return loss.name

    optimizer = model.optimizer
    return {
        "optimizer": {
            "module": "keras.optimizers",
            "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(),
            "registered_name": None,
        },
        "loss": [loss_entry(x) for x in losses]
        if isinstance(model.loss, list)
        else loss_entry(model.loss),
        "loss_weights": model.loss_weights,
        "metrics": (
            [m.name for m in model._compiled_metrics if not m.weighted] or None
            if model._output_count == 1
            else None
        ),
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def load_keras_weight_file(model: Any, path: Path) -> None:
    """Keras' ``model.weights.h5`` into ``model`` (built as the Keras model was)."""
    with _h5py().File(path, "r") as h5:
        load_keras_weights_group(model, h5, str(path))


# --- architecture --------------------------------------------------------------------------


def model_from_keras_config(document: dict[str, Any], device: str | None = None) -> Any:
    """A minicnn model from Keras' serialized model (``{"class_name", "config"}``)."""
    from .models import Sequential

    class_name, config = document["class_name"], document["config"]
    if class_name == "Sequential":
        layers = []
        for entry in config["layers"]:
            if entry["class_name"] == "InputLayer":
                layers.append(_input(entry["config"]))
            else:
                layers.append(_layer(entry))
        if not layers or not hasattr(layers[0], "input_layer"):
            shape = (config.get("build_input_shape") or [None])[1:]
            if shape:
                from .layers import Input

                layers.insert(0, Input(tuple(shape)))
        return Sequential(layers, name=config.get("name"), device=device)
    if class_name in ("Functional", "Model"):
        return _functional(config, device)
    raise KerasFileError(
        f"a Keras {class_name!r} (a subclassed model) keeps its architecture in code; "
        "minicnn reads Sequential and functional models."
    )


def _functional(config: dict[str, Any], device: str | None) -> Any:
    from .models import Model

    outputs: dict[tuple[str, int], Any] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node, index = value["config"]["keras_history"]
            found = outputs[(name, node)]
            return found[index] if isinstance(found, (list, tuple)) else found
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    for entry in config["layers"]:
        name = entry["config"].get("name", entry.get("name"))
        if entry["class_name"] == "InputLayer":
            outputs[(name, 0)] = _input(entry["config"])
            continue
        layer = _operation(entry) if _is_operation(entry) else _layer(entry, device)
        for k, node in enumerate(entry.get("inbound_nodes", [])):
            args = resolve(node.get("args", []))
            # The training a call recorded gives way to the model's own (as in Keras), and
            # minicnn's graph carries the masks itself (Keras' file computes them as ops).
            kwargs = {
                key: value
                for key, value in resolve(node.get("kwargs", {})).items()
                if value is not None and key not in ("training", "mask")
            }
            outputs[(name, k)] = layer(*args, **kwargs)

    def ends(spec: Any) -> list[Any]:
        if spec and isinstance(spec[0], str):  # one [name, node, index]
            spec = [spec]
        found = []
        for name, node, index in spec:
            value = outputs[(name, node)]
            found.append(value[index] if isinstance(value, (list, tuple)) else value)
        return found

    inputs, outs = ends(config["input_layers"]), ends(config["output_layers"])
    return Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outs[0] if len(outs) == 1 else outs,
        name=config.get("name"),
        device=device,
    )


def _is_operation(entry: dict[str, Any]) -> bool:
    """Whether the entry is one of Keras' ops on KerasTensors (``x + 1``, ``ops.sum``, the
    masks Keras computes), not a layer: Keras saves those as operations of the graph."""
    return (entry.get("module") or "").startswith("keras.src.ops")


def _operation(entry: dict[str, Any]) -> Any:
    """A Keras op of the graph as the ``minicnn.ops`` function of its name, with the
    arguments its config holds (``Sum``'s axis, ...): called on symbolic tensors, it adds an
    OpCall layer."""
    from .symbolic_ops import ops_function

    try:
        function = ops_function(_snake(entry["class_name"]))
    except ValueError:
        raise KerasFileError(
            f"minicnn has no op {entry['class_name']!r} ({entry['module']})."
        ) from None
    options = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}
    return lambda *args, **kwargs: function(*args, **options, **kwargs)


def _input(config: dict[str, Any]) -> Any:
    from .layers import Input

    shape = config.get("batch_shape") or [None, *config.get("shape", ())]
    dtype = config.get("dtype")
    return Input(
        tuple(shape[1:]),
        dtype=None if dtype in (None, "float32") else dtype,
        name=config.get("name"),
    )


def _layer(entry: dict[str, Any], device: str | None = None) -> Any:
    """A layer (or a nested model) from Keras' entry for it."""
    from . import registry
    from .layers import LAYER_CLASSES

    class_name = entry["class_name"]
    if class_name in MODELS:
        return model_from_keras_config(entry, device)
    cls = LAYER_CLASSES.get(class_name) or registry.get_registered_object(
        entry.get("registered_name") or class_name
    )
    if cls is None:
        raise KerasFileError(f"minicnn has no layer {class_name!r} (Keras {entry.get('module')}).")
    config = {k: _value(v) for k, v in entry["config"].items()}
    for key in ("layer", "forward_layer", "backward_layer", "cell"):  # wrappers' layers
        if isinstance(config.get(key), dict) and "class_name" in config[key]:
            config[key] = _layer(config[key], device)
    return _construct(cls, config, class_name)


def _value(value: Any) -> Any:
    """A config value as minicnn's classes take it: Keras' serialized objects (an
    initializer, a regularizer, a constraint) with the arguments minicnn's take."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        module = value.get("module") or ""
        if module.startswith("keras.") and module.split(".")[1] in (
            "initializers",
            "regularizers",
            "constraints",
        ):
            kind = module.split(".")[1]
            cls = _object_class(kind, value["class_name"])
            inner = dict(value["config"] or {})
            if cls is not None:
                inner = _accepted(cls, inner, f"Keras {value['class_name']}")
            return {"class_name": value["class_name"], "config": inner}
    return value


def _object_class(kind: str, name: str) -> Any:
    from . import constraints, initializers, regularizers

    if kind == "initializers":
        return initializers.CLASSES.get(name)
    if kind == "regularizers":
        return getattr(regularizers, name, None)
    return getattr(constraints, name, None)


def _parameters(cls: type) -> set[str]:
    """The keyword arguments a class's ``__init__`` takes, along the bases that it passes
    the rest of its keywords to (a layer's ``data_format`` too, which Layer takes)."""
    names: set[str] = set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters
        names |= {n for n, p in parameters.items() if p.kind in kinds}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            break
    if getattr(cls, "takes_data_format", False):
        names.add("data_format")
    return names - {"self"}


# Keras' arguments that minicnn has no use for when they hold these values.
_IGNORABLE = {
    "sparse": (False,),
    "ragged": (False,),
    "optional": (False,),
    "quantization_config": (None,),
    "lora_enabled": (False,),
    "autocast": (True,),
    "input_axes": (None,),
    "output_axes": (None,),
    "seed": (None,),
    "groups": (1,),
    "data_format": ("channels_last",),  # a layer that works channels-last only
    "dilation_rate": (1, [1], [1, 1], [1, 1, 1]),  # a transposed convolution's, undilated
    "synchronized": (False,),  # BatchNormalization across devices
    "renorm_momentum": (0.99,),  # only read with renorm=True
    "renorm_clipping": (None,),
}


def _accepted(cls: type, config: dict[str, Any], owner: str) -> dict[str, Any]:
    """The config without the Keras arguments minicnn's class does not take, each dropped
    only where it holds a value that changes nothing (None, False, its default)."""
    names = _parameters(cls)
    kept = {}
    for key, value in config.items():
        if key in names:
            kept[key] = value
        elif value is None or value is False or value in _IGNORABLE.get(key, ()):
            continue
        else:
            raise KerasFileError(f"{owner}: minicnn does not take Keras' argument {key}={value!r}.")
    return kept


def _construct(cls: type, config: dict[str, Any], class_name: str) -> Any:
    return cls(**_accepted(cls, config, f"Keras layer {class_name} '{config.get('name')}'"))


# --- weights --------------------------------------------------------------------------------


def _snake(name: str) -> str:
    """Keras' ``to_snake_case`` of a class name: "Conv2D" is "conv2d", "DepthwiseConv2D"
    "depthwise_conv2d"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _paths(layers: list[Any]) -> list[str]:
    """Each layer's group in Keras' file: its class's snake-case name, numbered within the
    model ("dense", "dense_1", ...), in the model's order of layers."""
    seen: dict[str, int] = {}
    paths = []
    for layer in layers:
        name = _snake(getattr(layer, "keras_class_name", None) or type(layer).__name__)
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        paths.append(name)
    return paths


def _keras_layers(model: Any, config: Any = None) -> list[Any]:
    """The model's layers in Keras' order and extent: a Sequential's without its input, a
    functional model's with its InputLayers, in the order of Keras' ``config`` of it when
    there is one (the archive's), else in the order Keras gives a graph's layers."""
    from .layers import InputLayer

    if type(model).__name__ == "Sequential":
        return [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    if config is not None:
        by_name = {layer.name: layer for layer in model.layers}
        return [
            by_name[entry["config"]["name"]]
            for entry in config["layers"]
            if not _is_operation(entry)
        ]
    return [layer for layer in _graph_order(model) if not _is_op_layer(layer)]


def _is_op_layer(layer: Any) -> bool:
    """minicnn's layers for what Keras keeps as ops, not layers (no group in its file)."""
    return type(layer).__name__ in ("OpCall", "TensorArithmetic", "GetItem")


def _graph_order(model: Any) -> list[Any]:
    """Keras' order of a functional model's layers: by depth from the inputs (the deepest,
    furthest from the outputs, first), and at one depth in the order a walk from the
    outputs first meets them (Keras' ``map_graph``)."""
    nodes = model._nodes()
    k = sum(1 for layer, _ in nodes if type(layer).__name__ == "InputLayer")

    def producer(j: int) -> int:
        """The node whose tensor node j is (a SelectOutput's is its source's: Keras has
        none, its layers give several tensors)."""
        while getattr(nodes[j][0], "selects_output", False):
            j = nodes[j][1][0] - k
        return j

    def parents(j: int) -> list[int]:
        layer, sources = nodes[j]
        if j < k:  # an InputLayer reads the model's input itself
            return []
        return [producer(s - k) for s in sources]

    outputs = [producer(s - k) for s in (model._output_slots or [k + len(nodes) - 1])]
    first_seen: dict[int, int] = {}
    finished: list[int] = []
    visited: set[int] = set()

    def walk(j: int) -> None:  # depth-first, as Keras' _build_map (graphs are shallow)
        if j in visited:
            return
        first_seen.setdefault(id(nodes[j][0]), len(first_seen))
        for p in parents(j):
            walk(p)
        visited.add(j)
        finished.append(j)

    for j in outputs:
        walk(j)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for j in reversed(finished):
        depth = max(node_depth.setdefault(j, 0), layer_depth.get(id(nodes[j][0]), 0))
        layer_depth[id(nodes[j][0])] = node_depth[j] = depth
        for p in parents(j):
            node_depth[p] = max(depth + 1, node_depth.get(p, 0))
    layers = {id(nodes[j][0]): nodes[j][0] for j in finished}
    return sorted(layers.values(), key=lambda la: (-layer_depth[id(la)], first_seen[id(la)]))


def load_keras_weights_group(
    model: Any, group: Any, where: str, config: dict[str, Any] | None = None
) -> None:
    """Every layer's weights from Keras' file (``group``: its root, or a nested model's;
    ``config``: Keras' config of the model, when the file came with one)."""
    layers_group = group.get("layers")
    layers = _keras_layers(model, config)
    entries = {e["config"]["name"]: e for e in (config or {}).get("layers", [])}
    for layer, path in zip(layers, _paths(layers), strict=True):
        if getattr(layer, "is_model", False):
            inner = entries.get(layer.name, {}).get("config")
            load_keras_weights_group(layer, layers_group[path], where, inner)
            continue
        if not layer.weights:
            continue
        if layers_group is None or path not in layers_group:
            raise KerasFileError(f"{where}: no weights for layer '{layer.name}' ({path}).")
        arrays = _arrays(layers_group[path], type(layer).__name__)
        _assign(layer, arrays, where)


def _arrays(group: Any, class_name: str) -> list[np.ndarray]:
    """A layer's arrays in minicnn's order: its own variables, then its sublayers'."""
    found = []
    if "vars" in group:
        found += [np.asarray(group["vars"][str(i)]) for i in range(len(group["vars"]))]
    for sub in SUBLAYERS.get(class_name, ()):
        if sub in group:
            inner = group[sub]
            sub_class = inner.attrs.get("class_name", "")
            found += _arrays(inner, sub_class if isinstance(sub_class, str) else "")
            if "cell" in inner:  # a recurrent layer inside a wrapper
                found += _arrays(inner["cell"], "")
    return found


def _assign(layer: Any, arrays: list[np.ndarray], where: str) -> None:
    weights = layer.weights
    shapes = [tuple(w.shape) for w in weights]
    given = [tuple(a.shape) for a in arrays]
    if shapes != given:
        raise KerasFileError(
            f"{where}: layer '{layer.name}' has weights of shapes {shapes}; Keras' file gives "
            f"{given}."
        )
    layer.set_weights(arrays)


def _compile(model: Any, config: dict[str, Any], path: Path) -> None:
    """Keras' compile config, where minicnn has its optimizer, loss and metrics; else the
    model stays uncompiled, with a warning (as Keras warns)."""
    from .serialization import deserialize_keras_object

    try:
        optimizer = _optimizer(config.get("optimizer"))
        loss = config.get("loss")
        loss = deserialize_keras_object(loss) if isinstance(loss, dict) else loss
        metrics = config.get("metrics")
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=_metric_names(metrics),
            loss_weights=config.get("loss_weights"),
        )
    except (KeyError, TypeError, ValueError) as error:
        warnings.warn(
            f"{path}: the model's compile settings could not be read ({error}); it is loaded "
            "uncompiled: compile it before training.",
            stacklevel=3,
        )


def _optimizer(entry: Any) -> Any:
    """Keras' optimizer entry as minicnn's optimizer of that class (a name as it is)."""
    if not isinstance(entry, dict) or "config" not in entry:
        return entry
    from . import optimizers

    cls = getattr(optimizers, entry["class_name"], None)
    if not (isinstance(cls, type) and issubclass(cls, optimizers.Optimizer)):
        raise KerasFileError(f"minicnn has no optimizer {entry['class_name']!r}.")
    inner = dict(entry["config"])
    inner.pop("name", None)  # Keras names its variables by it; minicnn's need no name
    return cls(**_accepted(cls, inner, f"Keras optimizer {entry['class_name']}"))


def _metric_names(metrics: Any) -> Any:
    """Keras' metrics entry (names, serialized metrics, lists per output) as compile takes
    it."""
    if metrics is None:
        return None
    if isinstance(metrics, dict) and "class_name" in metrics:
        from .serialization import deserialize_keras_object

        return deserialize_keras_object(metrics)
    if isinstance(metrics, list):
        return [_metric_names(m) for m in metrics]
    return metrics


# --- writing Keras' files --------------------------------------------------------------------

KERAS_VERSION = "3.15.1"  # the Keras whose format these files follow (and which read them)


def save_keras_archive(model: Any, path: Path) -> None:
    """``model`` as Keras 3's ``.keras`` archive (config.json, metadata.json,
    model.weights.h5), which ``keras.saving.load_model`` reads; written to a temporary file
    and renamed, so a failure leaves nothing half-written."""
    import datetime
    import io
    import os
    import tempfile

    model._require_built()
    document = _model_entry(model)
    compile_config = _compile_config(model)
    if compile_config is not None:
        document["compile_config"] = compile_config
    weights = io.BytesIO()
    with _h5py().File(weights, "w") as h5:
        write_keras_weights_group(model, h5)
        if compile_config is not None:
            _write_optimizer(model, h5)
    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", suffix=".keras.part")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            archive.writestr("metadata.json", json.dumps(metadata))
            archive.writestr("config.json", json.dumps(document))
            archive.writestr("model.weights.h5", weights.getvalue())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_keras_weight_file(model: Any, path: Path) -> None:
    """The weights alone, as Keras' ``model.save_weights("model.weights.h5")`` writes them."""
    import os
    import tempfile

    model._require_built()
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", suffix=".h5.part")
    os.close(handle)
    try:
        with _h5py().File(temporary, "w") as h5:
            write_keras_weights_group(model, h5)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _is_sequential(model: Any) -> bool:
    return type(model).__name__ == "Sequential"


def _batch_shape(shape: Any) -> Any:
    if isinstance(shape, list):
        return [_batch_shape(s) for s in shape]
    return [None, *shape]


def _policy() -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def _model_entry(model: Any) -> dict[str, Any]:
    """Keras' entry for a model: its class as Keras registers it, and its config."""
    if _is_sequential(model):
        module, class_name, registered = "keras", "Sequential", None
    else:
        module, class_name, registered = "keras.src.models.functional", "Functional", "Functional"
    return {
        "module": module,
        "class_name": class_name,
        "config": _model_config(model),
        "registered_name": registered,
        "build_config": {"input_shape": _batch_shape(model.input_shape)},
    }


def _with_modules(value: Any) -> Any:
    """A layer's config with Keras' module on the layers it holds (Bidirectional's, a
    wrapper's), which Keras' deserializer needs."""
    from .layers import LAYER_CLASSES

    if isinstance(value, list):
        return [_with_modules(v) for v in value]
    if not isinstance(value, dict):
        return value
    found = {k: _with_modules(v) for k, v in value.items()}
    if "class_name" in found and "config" in found and found["class_name"] in LAYER_CLASSES:
        found.setdefault("module", "keras.layers")
        found.setdefault("registered_name", None)
        found["config"] = {**found["config"], "dtype": _policy()}
    return found


# What minicnn's configs hold that Keras' constructors of the same layers do not take
# (MultiHeadAttention's causal mask is an argument of Keras' call: see _call_kwargs).
_NOT_KERAS_ARGUMENTS = {
    "SimpleRNN": ("use_cudnn",),
    "SpatialDropout1D": ("trainable",),
    "SpatialDropout2D": ("trainable",),
    "SpatialDropout3D": ("trainable",),
    "MultiHeadAttention": ("use_causal_mask",),
    "GroupQueryAttention": ("use_causal_mask",),
}


def _call_kwargs(layer: Any) -> dict[str, Any]:
    """What Keras passes to a call where minicnn keeps it in the layer."""
    if getattr(layer, "use_causal_mask", False):
        return {"use_causal_mask": True}
    return {}


def _entry(layer: Any) -> dict[str, Any]:
    """Keras' entry for one layer (a nested model's is a model's)."""
    if getattr(layer, "is_model", False):
        return _model_entry(layer)
    if _is_op_layer(layer) or type(layer).__name__ == "Lambda":
        raise KerasFileError(
            f"layer '{layer.name}' ({type(layer).__name__}) cannot be written in Keras' format: "
            "Keras keeps such code or ops in a form minicnn does not write."
        )
    from .layers import LAYER_CLASSES

    builtin = LAYER_CLASSES.get(type(layer).__name__) is type(layer)
    config = {**_with_modules(layer.get_config()), "dtype": _policy()}
    for key in _NOT_KERAS_ARGUMENTS.get(type(layer).__name__, ()):
        config.pop(key, None)
    entry = {
        "module": "keras.layers" if builtin else None,
        "class_name": type(layer).__name__,
        "config": config,
        "registered_name": None if builtin else _registered(layer),
    }
    if layer.input_shape is not None:
        entry["build_config"] = _build_config(layer)
    return entry


def _build_config(layer: Any) -> dict[str, Any]:
    """Keras' build config: the input shape, or the attention layers' named shapes."""
    shapes = _batch_shape(layer.input_shape)
    if type(layer).__name__ in ("MultiHeadAttention", "GroupQueryAttention"):
        names = ("query_shape", "value_shape", "key_shape")
        return {"shapes_dict": dict(zip(names, shapes, strict=False))}
    return {"input_shape": shapes}


def _registered(layer: Any) -> str:
    from . import registry

    return registry.registered_name(type(layer))


def _input_entry(model_input: Any) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": [None, *model_input.shape],
            "dtype": getattr(model_input, "dtype", None) or "float32",
            "sparse": False,
            "ragged": False,
            "name": model_input.name,
            "optional": False,
        },
        "registered_name": None,
    }


def _model_config(model: Any) -> dict[str, Any]:
    """Keras' config of a Sequential or functional model."""
    from .layers import InputLayer

    if _is_sequential(model):
        layers = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
        entries = [_input_entry(model._graph_inputs[0])] if model._graph_inputs else []
        return {
            "name": model.name,
            "trainable": model.trainable,
            "dtype": _policy(),
            "layers": entries + [_entry(layer) for layer in layers],
            "build_input_shape": _batch_shape(model.input_shape),
        }
    return _functional_config(model)


def _functional_config(model: Any) -> dict[str, Any]:
    """Keras' functional config: each layer with the calls (inbound nodes) that feed it,
    each input a keras_history [layer, call, output index]."""
    from .functional import call_indices, input_count

    nodes = model._nodes()
    k, calls = input_count(nodes), call_indices(nodes)

    def origin(slot: int) -> tuple[str, int, int]:
        """Where a slot's tensor comes from in Keras' terms: a SelectOutput hands on an
        output of the node before it."""
        node = slot - k
        layer, sources = nodes[node]
        if getattr(layer, "selects_output", False):
            name, call, _ = origin(sources[0])
            return name, call, layer.index
        return layer.name, calls[node], 0

    def shape(slot: int) -> list[Any]:
        if slot < k:
            return [None, *model._graph_inputs[slot].shape]
        found = nodes[slot - k][0].output_shape
        return [None, *found]

    def tensor(slot: int) -> dict[str, Any]:
        name, call, index = origin(slot)
        dtype = "float32"
        if slot - k < k:  # an InputLayer's output: its input's dtype
            dtype = getattr(model._graph_inputs[slot - k], "dtype", None) or dtype
        return {
            "class_name": "__keras_tensor__",
            "config": {"shape": shape(slot), "dtype": dtype, "keras_history": [name, call, index]},
        }

    entries: dict[int, dict[str, Any]] = {}
    order: list[int] = []
    for j, (layer, sources) in enumerate(nodes):
        if getattr(layer, "selects_output", False):
            continue
        if id(layer) not in entries:
            if type(layer).__name__ == "InputLayer":
                entry = _input_entry(model._graph_inputs[j])
                entry["name"] = layer.name
                entry["inbound_nodes"] = []
                entries[id(layer)] = entry
                order.append(id(layer))
                continue
            entries[id(layer)] = {**_entry(layer), "name": layer.name, "inbound_nodes": []}
            order.append(id(layer))
        if type(layer).__name__ == "InputLayer":
            continue
        args = [tensor(s) for s in sources]
        one_by_one = getattr(layer, "_spreads_inputs", False) or type(layer).__name__ in (
            "MultiHeadAttention",  # Keras' call(query, value, key=None)
            "GroupQueryAttention",
        )
        if layer.takes_list and not one_by_one:
            args = [args]
        entries[id(layer)]["inbound_nodes"].append({"args": args, "kwargs": _call_kwargs(layer)})
    inputs = [[nodes[i][0].name, 0, 0] for i in range(k)]
    outputs = [list(origin(s)) for s in model._output_slots]
    ranked = [id(layer) for layer in _graph_order(model)]  # Keras' order of the layers
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": [entries[i] for i in sorted(order, key=ranked.index)],
        "input_layers": inputs if len(inputs) > 1 else inputs[0],
        "output_layers": outputs,
    }


def write_keras_weights_group(model: Any, group: Any) -> None:
    """Every layer's weights where Keras' file keeps them (``group``: the root, or a nested
    model's)."""
    group.create_group("vars")
    layers_group = group.create_group("layers")
    layers = _keras_layers(model)
    for layer, path in zip(layers, _paths(layers), strict=True):
        inner = layers_group.create_group(path)
        if getattr(layer, "is_model", False):
            write_keras_weights_group(layer, inner)
            continue
        _write_arrays(inner, layer, type(layer).__name__, layer.get_weights())


def _write_arrays(group: Any, layer: Any, class_name: str, arrays: list[np.ndarray]) -> None:
    """A layer's arrays split as ``_arrays`` reads them: its own, then its sublayers'."""
    subs = SUBLAYERS.get(class_name, ())
    own = group.create_group("vars")
    if not subs:
        for i, array in enumerate(arrays):
            own.create_dataset(str(i), data=array)
        return
    if class_name == "Bidirectional":
        split = len(layer.forward_layer.weights)
        parts = {"forward_layer": arrays[:split], "backward_layer": arrays[split:]}
        for name, part in parts.items():
            inner = group.create_group(name)
            inner.create_group("vars")
            _write_arrays(inner.create_group("cell"), None, "", part)
        return
    if len(subs) == 1:  # a recurrent layer's cell, a wrapper's layer
        _write_arrays(group.create_group(subs[0]), None, "", arrays)
        return
    per = len(arrays) // len(subs)  # attention: a kernel (and a bias) per projection
    for i, name in enumerate(subs):
        _write_arrays(group.create_group(name), None, "", arrays[i * per : (i + 1) * per])
