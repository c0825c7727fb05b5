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
    return model


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
        layer = _layer(entry, device)
        for k, node in enumerate(entry.get("inbound_nodes", [])):
            args = resolve(node.get("args", []))
            kwargs = {
                key: value
                for key, value in resolve(node.get("kwargs", {})).items()
                if value is not None and key not in ("training",)
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
    # Bidirectional's layers give zeros at masked steps; minicnn's do (Keras' own default
    # carries the last output over, which only the masked steps would show).
    "zero_output_for_mask": (True,),
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
        return [by_name[entry["config"]["name"]] for entry in config["layers"]]
    return _graph_order(model)


def _graph_order(model: Any) -> list[Any]:
    """Keras' order of a functional model's layers: by depth from the inputs (the deepest,
    furthest from the outputs, first), and at one depth in the order a walk from the
    outputs first meets them (Keras' ``map_graph``)."""
    nodes = model._nodes()
    k = sum(1 for layer, _ in nodes if type(layer).__name__ == "InputLayer")

    def parents(j: int) -> list[int]:
        layer, sources = nodes[j]
        if j < k:  # an InputLayer reads the model's input itself
            return []
        return [s - k for s in sources]

    outputs = [s - k for s in (model._output_slots or [k + len(nodes) - 1])]
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
    layers = {id(layer): layer for layer, _ in nodes}
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
