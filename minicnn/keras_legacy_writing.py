"""Writing Keras' legacy HDF5 file, what ``model.save("model.h5")`` gives in Keras: the
architecture in Keras 2's dialect of the config (as TensorFlow 2's Keras writes it, so that
both it and Keras 3 read the file), the weights layer by layer in ``model_weights``, the
compile settings in ``training_config``, and the optimizer's state in ``optimizer_weights``,
named by slot and weight as TensorFlow 2.11+'s Keras names them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .keras_files import (
    MODELS,
    TF_OP_LAYERS,
    WRAPPED_KEYS,
    KerasFileError,
    keras_layers,
    keras_trainable,
    state_segments,
    state_walk,
    write_h5_file,
)
from .keras_legacy import keras2_slot_names
from .keras_op_writing import CALL, INPUT, keras_value, op_arguments
from .name_scopes import unscoped_path

KERAS2_VERSION = "2.15.0"  # the dialect written: TensorFlow 2.15's Keras

# Keras 3's arguments that Keras 2 does not take, left out where they hold these values
# (Keras 2 refuses an argument it does not know; None: whatever the value).
_KERAS3_ONLY = {
    "optional": None,
    "lora_rank": (None,),
    "lora_alpha": (None,),
    "quantization_config": (None,),
    "use_cudnn": ("auto",),
    "rms_scaling": (False,),
    "flash_attention": (None,),
    "sliding_window": (None,),  # MultiHeadAttention's
    "use_gate": (False,),
}
# Keras 3's arguments of these layers that Keras 2 has not got at all.
_KERAS3_ARGUMENTS = {
    "GRU": ("seed",),
    "LSTM": ("seed",),
    "SimpleRNN": ("seed",),
    "ConvLSTM1D": ("seed",),
    "ConvLSTM2D": ("seed",),
    "ConvLSTM3D": ("seed",),
    "MultiHeadAttention": ("seed",),
    "Attention": ("seed",),
    "AdditiveAttention": ("seed",),
}
# Keras 3's arguments of these layers that Keras 2 has not got, where they hold the values
# that mean what Keras 2 does (another value is left for Keras 2 to refuse by name).
_KERAS3_DEFAULTS = {
    "Resizing": {
        "pad_to_aspect_ratio": (False,),
        "fill_mode": ("constant",),
        "fill_value": (0,),
        "antialias": (False,),
        "data_format": ("channels_last",),
    },
    "Attention": {"use_causal_mask": (False,)},  # Keras 2 took it in the call
    "AdditiveAttention": {"use_causal_mask": (False,)},
    # Keras 2's image preprocessing layers and ZeroPadding1D work channels-last only.
    **dict.fromkeys(
        (
            "RandomFlip RandomRotation RandomZoom RandomTranslation RandomContrast "
            "RandomBrightness RandomCrop CenterCrop ZeroPadding1D"
        ).split(),
        {"data_format": ("channels_last",)},
    ),
}
_RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}
# The activations TensorFlow 2.15's Keras has by name ("hard_sigmoid" is its own, below).
_KERAS2_ACTIVATIONS = {
    *("elu", "exponential", "gelu", "leaky_relu", "linear", "log_softmax", "mish", "relu"),
    *("relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign", "swish", "tanh"),
}
# Keras 3's layers that TensorFlow 2.15's Keras has not got (its dir(keras.layers)); a
# file with one would not load there. (LayerScale and StochasticDepth are classes of its
# applications, read with custom_objects, as a user's layer is.)
KERAS3_ONLY_LAYERS = frozenset(
    {
        *("AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D"),
        *("AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"),
        *("AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix"),
        *("Equalization", "GroupQueryAttention", "MelSpectrogram", "MixUp", "Pipeline"),
        *("RMSNormalization", "RandAugment", "RandomColorDegeneration", "RandomColorJitter"),
        *("RandomElasticTransform", "RandomErasing", "RandomGaussianBlur", "RandomGrayscale"),
        *("RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization"),
        *("RandomSaturation", "RandomSharpness", "RandomShear", "ReversibleEmbedding"),
        *("STFTSpectrogram", "Solarization"),
    }
)
# Keras 2's registered names of the classes it kept outside its layers module.
_REGISTERED = {"CustomScaleLayer": "Custom>CustomScaleLayer"}
# The names of a layer's positional arguments after the first, which Keras 2 recorded
# among the call's keyword arguments.
_EXTRA_ARGUMENTS = {"MultiHeadAttention": ("value", "key")}


def save_legacy_h5(model: Any, path: Path) -> None:
    """``model`` as Keras' legacy HDF5 file (written atomically)."""
    from .keras_writing import compile_config, model_entry, ops_written_as

    model._require_built()
    with ops_written_as(_op_entry):
        document = keras2_document(model_entry(model))
    settings = compile_config(model)

    def fill(h5: Any) -> None:
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["keras_version"] = KERAS2_VERSION
        h5.attrs["model_config"] = json.dumps(document).encode("utf8")
        if settings is not None:
            h5.attrs["training_config"] = json.dumps(training_config(settings)).encode("utf8")
        names = write_keras2_weights(model, h5.create_group("model_weights"))
        if settings is not None:
            write_keras2_optimizer(model, h5, names)

    write_h5_file(path, fill)


def save_legacy_weights(model: Any, path: Path) -> None:
    """The weights alone as Keras 2's ``save_weights("w.h5")`` writes them: the layers'
    groups at the file's root (written atomically)."""
    model._require_built()
    write_h5_file(path, lambda h5: write_keras2_weights(model, h5))


def keras2_document(document: dict[str, Any]) -> dict[str, Any]:
    """Keras 3's serialized model as Keras 2 serialized it."""
    class_name, config = document["class_name"], document["config"]
    if class_name == "Sequential":
        layers = [_keras2_entry(entry) for entry in config["layers"]]
        return {"class_name": "Sequential", "config": {"name": config["name"], "layers": layers}}
    # Keras 2 counts a nested model's calls after the one that built it on its own input.
    shifted = {e["name"] for e in config["layers"] if e["class_name"] in MODELS}
    layers = []
    for entry in config["layers"]:
        modern = _keras2_entry(entry)
        modern["name"] = entry["name"]
        op = modern["class_name"] in TF_OP_LAYERS
        modern["inbound_nodes"] = [
            _keras2_op_node(node, shifted)
            if op
            else _keras2_node(node, entry["class_name"], shifted)
            for node in entry["inbound_nodes"]
        ]
        layers.append(modern)
    return {
        "class_name": "Functional",
        "config": {
            "name": config["name"],
            "trainable": config.get("trainable", True),
            "layers": layers,
            "input_layers": _references(config["input_layers"], shifted),
            "output_layers": _references(config["output_layers"], shifted),
        },
    }


def _references(spec: Any, shifted: set[str]) -> list[list[Any]]:
    if isinstance(spec, dict):  # Keras 2's list: the values, in the model's order of keys
        spec = list(spec.values())
    spec = [spec] if spec and isinstance(spec[0], str) else spec
    return [[name, node + (name in shifted), index] for name, node, index in spec]


def _keras2_entry(entry: dict[str, Any]) -> dict[str, Any]:
    class_name = entry["class_name"]
    if class_name in TF_OP_LAYERS:  # an op, already in Keras 2's terms
        return {"class_name": class_name, "config": entry["config"]}
    if class_name in MODELS:
        return keras2_document(entry)
    if class_name == "InputLayer":
        config = entry["config"]
        return {
            "class_name": "InputLayer",
            "config": {
                "batch_input_shape": config["batch_shape"],
                "dtype": config.get("dtype", "float32"),
                "sparse": False,
                "ragged": False,
                "name": config["name"],
            },
        }
    if class_name in KERAS3_ONLY_LAYERS and entry.get("module") is not None:
        raise KerasFileError(
            f"layer '{entry['config'].get('name')}': TensorFlow 2.15's Keras has no "
            f"{class_name} layer (Keras 3 added it), so it could not read the file; save the "
            "model as .keras (Keras 3's file)."
        )
    name = entry.get("registered_name") if entry.get("module") is None else None
    name = _REGISTERED.get(class_name, name or class_name)
    return {"class_name": name, "config": _keras2_config(class_name, entry)}


def _keras2_config(class_name: str, entry: dict[str, Any]) -> dict[str, Any]:
    config, layer_name = entry["config"], entry["config"].get("name")
    legacy = {}
    for key, value in config.items():
        if key in _KERAS3_ONLY and (_KERAS3_ONLY[key] is None or value in _KERAS3_ONLY[key]):
            continue
        if key in _KERAS3_ARGUMENTS.get(class_name, ()):
            continue
        if value in _KERAS3_DEFAULTS.get(class_name, {}).get(key, ()):
            continue
        if key.endswith("activation") and isinstance(value, dict):
            # A user's function as activation: Keras 2 names it by its registered name,
            # and finds it by that name, as Keras 3 does.
            legacy[_RENAMED.get(class_name, {}).get(key, key)] = value["config"]
            continue
        if key == "dtype":
            value = _policy_name(value, layer_name)
        elif key in WRAPPED_KEYS and isinstance(value, dict):
            value = _keras2_entry(value)
        elif isinstance(value, dict) and value.get("module") in _OBJECT_MODULES:
            value = {"class_name": value["class_name"], "config": value["config"]}
        elif key.endswith("activation") and value == "hard_sigmoid":
            raise KerasFileError(
                f"layer '{layer_name}': Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1), not "
                "Keras 3's relu6(x + 3) / 6, which Keras 2 has not got."
            )
        elif key.endswith("activation") and value == "legacy_hard_sigmoid":
            value = "hard_sigmoid"
        elif key.endswith("activation") and isinstance(value, str):
            if value not in _KERAS2_ACTIVATIONS:
                raise KerasFileError(
                    f"layer '{layer_name}': Keras 2 has no activation '{value}' (TensorFlow "
                    "2.15's Keras would not read the file)."
                )
        legacy[_RENAMED.get(class_name, {}).get(key, key)] = value
    if class_name == "Lambda":  # Keras 2's way of a function by name
        legacy.update(_keras2_function(legacy["function"], "function"))
        legacy.update(_keras2_function(legacy.get("output_shape"), "output_shape"))
    if class_name == "MultiHeadAttention":  # Keras 2 built it from the shapes in its config
        shapes = (entry.get("build_config") or {}).get("shapes_dict") or {}
        for key in ("query_shape", "key_shape", "value_shape"):
            legacy[key] = shapes.get(key)
    return legacy


_OBJECT_MODULES = ("keras.initializers", "keras.regularizers", "keras.constraints")


def _keras2_function(value: Any, key: str) -> dict[str, Any]:
    """A Lambda's function (or output shape) as Keras 2 names it: ``key``, its type
    ("function": found by name in custom_objects; "raw": a shape) and its module."""
    if key == "function":
        type_key, module_key = "function_type", "module"
    else:
        type_key, module_key = f"{key}_type", f"{key}_module"
    if isinstance(value, dict):  # Keras 3's entry of a named function
        return {key: value["config"], type_key: "function", module_key: value.get("module")}
    return {key: value, type_key: "raw", module_key: None}


def _policy_name(value: Any, layer_name: str) -> str:
    inner = (value.get("config") or {}) if isinstance(value, dict) else {}
    name = inner.get("name", value) if isinstance(value, dict) else value
    if "mode" in inner or not isinstance(name, str) or name.startswith("int8"):
        raise KerasFileError(
            f"layer '{layer_name}': Keras 2 has no quantized layers (dtype policy {value!r})."
        )
    return name


def _keras2_node(node: dict[str, Any], class_name: str, shifted: set[str]) -> list[Any]:
    """Keras 3's call ({"args", "kwargs"}) as Keras 2's node: a reference
    ``[layer, node, tensor, kwargs]`` per inbound tensor of the first argument, the other
    arguments among the keyword ones."""
    args, kwargs = node["args"], dict(node.get("kwargs") or {})
    extra = _EXTRA_ARGUMENTS.get(class_name, ())
    if len(args) > 1 + len(extra):
        raise KerasFileError(
            f"a {class_name} called with {len(args)} positional arguments cannot be written "
            "in Keras 2's format."
        )
    kwargs.update(zip(extra, args[1:], strict=False))
    kwargs = {key: _tensor_reference(value, shifted) for key, value in kwargs.items()}
    first = args[0] if isinstance(args[0], list) else [args[0]]
    return [[*_tensor_reference(tensor, shifted), kwargs] for tensor in first]


def _keras2_op_node(node: dict[str, Any], shifted: set[str]) -> list[Any]:
    """Keras 2's node of a TFOpLambda: its first argument's tensor as one flat reference
    (a list of them for a list argument, as tf.concat's values; a constant as Keras 2's
    ``_CONSTANT_VALUE``), carrying the call's other arguments, whose tensors are references
    too."""
    kwargs = {key: _tensor_reference(value, shifted) for key, value in node["kwargs"].items()}
    first = node["args"][0]
    if _is_tensor(first):
        return [*_tensor_reference(first, shifted), kwargs]
    if isinstance(first, list) and first and all(_is_tensor(f) for f in first):
        return [[*_tensor_reference(f, shifted), kwargs] for f in first]
    return ["_CONSTANT_VALUE", -1, first, kwargs]


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _tensor_reference(value: Any, shifted: set[str]) -> Any:
    if _is_tensor(value):
        name, node, index = value["config"]["keras_history"]
        return [name, node + (name in shifted), index]
    if isinstance(value, list):
        return [_tensor_reference(v, shifted) for v in value]
    return value


def training_config(settings: dict[str, Any]) -> dict[str, Any]:
    """Keras 3's compile config as Keras 2's ``training_config``."""
    optimizer = settings.get("optimizer")
    if isinstance(optimizer, dict):
        optimizer = _keras2_optimizer(optimizer)
    return {
        "loss": _keras2_objects(settings.get("loss")),
        "metrics": _keras2_objects(settings.get("metrics")),
        "weighted_metrics": _keras2_objects(settings.get("weighted_metrics")),
        "loss_weights": settings.get("loss_weights"),
        "optimizer_config": optimizer,
    }


def _keras2_objects(value: Any) -> Any:
    """Keras 3's entries of losses and metrics (in their lists and dicts by output) as
    Keras 2 serialized them: a function by its name, an object as its class and config
    (a registered one by its registered name)."""
    if isinstance(value, list):
        return [_keras2_objects(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value:  # one entry per output, by name
        return {k: _keras2_objects(v) for k, v in value.items()}
    if value["class_name"] == "function":
        return value["config"]
    return {
        "class_name": value.get("registered_name") or value["class_name"],
        "config": _keras2_objects(value.get("config")),
    }


def _keras2_optimizer(optimizer: dict[str, Any]) -> dict[str, Any]:
    """Keras 3's serialized optimizer as TensorFlow 2.11+'s Keras names and configures it."""
    if optimizer.get("class_name") == "MultiOptimizer":
        raise KerasFileError(
            "Keras 2 has no MultiOptimizer: save the model as .keras (Keras 3's file)."
        )
    config = dict(optimizer.get("config") or {})
    if optimizer.get("class_name") == "LossScaleOptimizer":  # TF 2.11+'s LossScaleOptimizerV3
        inner = _keras2_optimizer(config["inner_optimizer"])
        inner_entry = {
            "module": "keras.optimizers",
            "class_name": inner["class_name"].removeprefix("Custom>"),
            "config": inner["config"],
            "registered_name": None,
        }
        return {
            "class_name": "LossScaleOptimizerV3",
            "config": {
                "inner_optimizer": inner_entry,
                "dynamic": True,
                "initial_scale": config["initial_scale"],
                "dynamic_growth_steps": config["dynamic_growth_steps"],
            },
        }
    for key in ("loss_scale_factor", "gradient_accumulation_steps"):  # Keras 3's
        if config.get(key) is not None:
            raise KerasFileError(f"Keras 2's optimizers have no {key}.")
        config.pop(key, None)
    config.update({"is_legacy_optimizer": False, "jit_compile": False})
    # TensorFlow 2.11's Keras registered its optimizers so; Keras 3 reads that name too.
    return {"class_name": f"Custom>{optimizer['class_name']}", "config": config}


def write_keras2_weights(model: Any, group: Any) -> dict[int, str]:
    """Each layer's weights (trainable, then non-trainable; a nested model's all together)
    in a group of its name, listed in ``weight_names``, as Keras 2 writes them. Returns the
    name written for each weight (by its id), as the optimizer's state names it."""
    units = keras_layers(model)
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = KERAS2_VERSION
    _set_listed(group, "layer_names", [u.name for u in units])
    written: dict[int, str] = {}
    # In the order of their names, so that a group "a/b" is made before "a/b/c" (Keras 2's
    # names may hold slashes: MobileNetV3's "expanded_conv/depthwise").
    for unit in sorted(units, key=lambda u: u.name):
        layer_group = group.create_group(unit.name)
        weights = unit.trainable_weights + unit.non_trainable_weights
        names: list[str] = []
        for i, weight in enumerate(weights):
            # Keras 2's names have no model scopes ("dense/kernel:0" in a Sequential)
            path = unscoped_path(weight) or f"{unit.name}/weight_{i}"
            name = f"{path}:0" if f"{path}:0" not in names else f"{path}_{i}:0"
            names.append(name)
            written[id(weight)] = name[: -len(":0")]
            layer_group.create_dataset(name, data=backend.to_numpy(weight.data))
        _set_listed(layer_group, "weight_names", names)
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = []
    return written


def write_keras2_optimizer(model: Any, h5: Any, names: dict[int, str]) -> None:
    """The optimizer's state as TensorFlow 2.11+'s Keras keeps it in ``optimizer_weights``:
    the step count, then its slots in Keras 3's segments less the learning rate, each named
    "Adam/m/dense/kernel:0". Nothing for an optimizer not built yet, or whose layout
    minicnn does not follow (Keras 2 then starts it afresh, as minicnn does)."""
    optimizer = model.optimizer
    # A LossScaleOptimizer's state is its optimizer's, named without an optimizer's name
    # (as TF 2.15 writes it); TensorFlow keeps no loss scale in the file.
    wrapped = getattr(optimizer, "inner_optimizer", None)
    built = optimizer.built
    optimizer = optimizer if wrapped is None else wrapped
    segments = state_segments(optimizer) if built else None
    if segments is None:
        return
    kind = type(optimizer).__name__
    prefix = f"{kind}/" if wrapped is None else ""
    renamed = keras2_slot_names(kind)
    entries = [("iteration:0", np.asarray(optimizer.iterations, np.int64))]
    for weight, slots, slot in state_walk(optimizer, segments, keras_trainable(model), False):
        name = f"{prefix}{renamed.get(slot, slot)}/{names[id(weight)]}:0"
        entries.append((name, backend.to_numpy(slots[slot])))
    group = h5.create_group("optimizer_weights")
    _set_listed(group, "weight_names", [name for name, _ in entries])
    for name, value in entries:
        group.create_dataset(name, data=value)


def _op_entry(layer: Any) -> dict[str, Any]:
    """Keras 2's TFOpLambda (SlicingOpLambda for ``x[...]``) for one of minicnn's ops on
    symbolic tensors, with the call's arguments (``keras_op_writing``'s ``CALL``)."""
    from .keras2_ops import slice_spec_of, tf_call

    config = {"name": layer.name, "trainable": True, "dtype": "float32"}
    if type(layer).__name__ == "GetItem":
        config["function"] = "__operators__.getitem"
        call = {"args": [{INPUT: 0}], "kwargs": {"slice_spec": slice_spec_of(layer.key)}}
        return {"class_name": "SlicingOpLambda", "config": config, CALL: call}
    op, bound = op_arguments(layer, defaults=False)
    if op == "take" and bound.get("axis") is not None:
        bound["indices"] = _gathered_indices(layer, bound)
    if op == "pad":
        mode = bound.get("mode", "constant")
        if mode not in ("constant", "reflect", "symmetric"):
            raise KerasFileError(
                f"layer '{layer.name}': TensorFlow's pad has no mode {mode!r} (only "
                "constant, reflect and symmetric), so Keras 2's format can't hold it."
            )
        bound["mode"] = mode.upper()  # TensorFlow's spelling
    bound = {k: _keras2_value(v) for k, v in bound.items()}
    if op == "split" and isinstance(bound.get("indices_or_sections"), list):
        bound["indices_or_sections"] = _split_sizes(layer, bound)
    if op == "swapaxes":  # TensorFlow's transpose with the permutation that swaps them
        rank = len(_first_shape(layer)) + 1
        order = list(range(rank))
        a, b = bound["axis1"] % rank, bound["axis2"] % rank
        order[a], order[b] = order[b], order[a]
        op, bound = "transpose", {"x": bound["x"], "axes": order}
    found = tf_call(op, bound)
    if found is None:
        raise KerasFileError(
            f"layer '{layer.name}' ({type(layer).__name__} {op!r}, arguments {sorted(bound)}) "
            "has no TensorFlow function that Keras 2's format can hold."
        )
    config["function"], first, kwargs = found
    return {"class_name": "TFOpLambda", "config": config, CALL: {"args": [first], "kwargs": kwargs}}


def _keras2_value(value: Any) -> Any:
    """A call's argument as Keras 2 saved it: an array as nested lists (Keras 3 writes its
    ``__numpy__`` object, which TensorFlow's Keras passes on to the op as a dict)."""
    if isinstance(value, np.ndarray) and value.ndim:
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_keras2_value(v) for v in value]
    return keras_value(value)


def _gathered_indices(layer: Any, bound: dict[str, Any]) -> Any:
    """NumPy's take's indices for TensorFlow's gather, which has no negative ones: counted
    from the end of the axis."""
    indices = np.asarray(backend.to_numpy(bound["indices"]))
    if np.any(indices < 0):
        length = (None, *_first_shape(layer))[bound["axis"]]
        if length is None:
            raise KerasFileError(
                f"layer '{layer.name}': TensorFlow's gather takes no negative indices, and "
                "the axis's length is unknown."
            )
        indices = np.where(indices < 0, indices + length, indices)
    return indices.tolist()  # a number or a list, as TensorFlow wrote them


def _first_shape(layer: Any) -> tuple[Any, ...]:
    """The sample shape of the layer's first input."""
    shapes = layer.sample_input_shape
    return tuple(shapes[0] if shapes and isinstance(shapes[0], (list, tuple)) else shapes)


def _split_sizes(layer: Any, bound: dict[str, Any]) -> list[int]:
    """NumPy's cuts as TensorFlow's sizes of the parts."""
    axis = bound.get("axis", 0)
    length = (None, *_first_shape(layer))[axis]
    if length is None:
        raise KerasFileError(f"layer '{layer.name}': a split of an axis of unknown length.")
    ends = [0, *bound["indices_or_sections"], length]
    return [b - a for a, b in zip(ends, ends[1:], strict=False)]


HDF5_HEADER_LIMIT = 64512  # the bytes an HDF5 object's attributes may take (Keras' limit)


def _set_listed(group: Any, attribute: str, names: list[str]) -> None:
    """Names in an attribute, split over ``name0``, ``name1``, ... where they would pass
    HDF5's limit, as Keras 2 splits them (and reads them back)."""
    data = np.asarray([n.encode("utf8") for n in names]) if names else np.zeros(0)
    chunks, parts = 1, [data]
    while any(p.nbytes > HDF5_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks == 1:
        group.attrs[attribute] = data
        return
    for i, part in enumerate(parts):
        group.attrs[f"{attribute}{i}"] = part
