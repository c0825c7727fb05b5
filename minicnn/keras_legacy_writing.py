"""Writing Keras' legacy HDF5 file, what ``model.save("model.h5")`` gives in Keras: the
architecture in Keras 2's dialect of the config (as TensorFlow 2's Keras writes it, so that
both it and Keras 3 read the file), the weights layer by layer in ``model_weights`` and the
compile settings in ``training_config``. The optimizer's state is not written (Keras 2 and
Keras 3 lay it out differently); a model loaded from the file trains on with a fresh one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import backend
from .keras_files import MODELS, KerasFileError, keras_layers

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
    "Resizing": {"pad_to_aspect_ratio": (False,), "fill_mode": ("constant",), "fill_value": (0,)},
    "Attention": {"use_causal_mask": (False,)},  # Keras 2 took it in the call
    "AdditiveAttention": {"use_causal_mask": (False,)},
}
_RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}
# Keras 2's registered names of the classes it kept outside its layers module.
_REGISTERED = {"CustomScaleLayer": "Custom>CustomScaleLayer"}
_WRAPPED = ("layer", "forward_layer", "backward_layer", "cell")
# The names of a layer's positional arguments after the first, which Keras 2 recorded
# among the call's keyword arguments.
_EXTRA_ARGUMENTS = {"MultiHeadAttention": ("value", "key")}


def save_legacy_h5(model: Any, path: Path) -> None:
    """``model`` as Keras' legacy HDF5 file (written atomically)."""
    from .fileio import atomic_write
    from .keras_files import _h5_bytes
    from .keras_writing import compile_config, model_entry

    model._require_built()
    document = keras2_document(model_entry(model))
    settings = compile_config(model)

    def fill(h5: Any) -> None:
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["keras_version"] = KERAS2_VERSION
        h5.attrs["model_config"] = json.dumps(document).encode("utf8")
        if settings is not None:
            h5.attrs["training_config"] = json.dumps(training_config(settings)).encode("utf8")
        write_keras2_weights(model, h5.create_group("model_weights"))

    weights = _h5_bytes(fill)
    atomic_write(path, lambda file: file.write(weights))


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
        modern["inbound_nodes"] = [
            _keras2_node(node, entry["class_name"], shifted) for node in entry["inbound_nodes"]
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
    spec = [spec] if spec and isinstance(spec[0], str) else spec
    return [[name, node + (name in shifted), index] for name, node, index in spec]


def _keras2_entry(entry: dict[str, Any]) -> dict[str, Any]:
    class_name = entry["class_name"]
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
        if key == "dtype":
            value = _policy_name(value, layer_name)
        elif key in _WRAPPED and isinstance(value, dict):
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
        legacy[_RENAMED.get(class_name, {}).get(key, key)] = value
    if class_name == "MultiHeadAttention":  # Keras 2 built it from the shapes in its config
        shapes = (entry.get("build_config") or {}).get("shapes_dict") or {}
        for key in ("query_shape", "key_shape", "value_shape"):
            legacy[key] = shapes.get(key)
    return legacy


_OBJECT_MODULES = ("keras.initializers", "keras.regularizers", "keras.constraints")


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


def _tensor_reference(value: Any, shifted: set[str]) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        name, node, index = value["config"]["keras_history"]
        return [name, node + (name in shifted), index]
    if isinstance(value, list):
        return [_tensor_reference(v, shifted) for v in value]
    return value


def training_config(settings: dict[str, Any]) -> dict[str, Any]:
    """Keras 3's compile config as Keras 2's ``training_config``."""
    optimizer = settings.get("optimizer")
    if isinstance(optimizer, dict):
        config = dict(optimizer.get("config") or {})
        for key in ("loss_scale_factor", "gradient_accumulation_steps"):  # Keras 3's
            if config.get(key) is not None:
                raise KerasFileError(f"Keras 2's optimizers have no {key}.")
            config.pop(key, None)
        config.update({"is_legacy_optimizer": False, "jit_compile": False})
        # TensorFlow 2.11's Keras registered its optimizers so; Keras 3 reads that name too.
        optimizer = {"class_name": f"Custom>{optimizer['class_name']}", "config": config}
    return {
        "loss": settings.get("loss"),
        "metrics": settings.get("metrics"),
        "weighted_metrics": settings.get("weighted_metrics"),
        "loss_weights": settings.get("loss_weights"),
        "optimizer_config": optimizer,
    }


def write_keras2_weights(model: Any, group: Any) -> None:
    """Each layer's weights (trainable, then non-trainable; a nested model's all together)
    in a group of its name, listed in ``weight_names``, as Keras 2 writes them."""
    units = keras_layers(model)
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = KERAS2_VERSION
    group.attrs["layer_names"] = [u.name.encode("utf8") for u in units]
    for unit in units:
        layer_group = group.create_group(unit.name)
        weights = unit.trainable_weights + unit.non_trainable_weights
        names: list[str] = []
        for i, weight in enumerate(weights):
            path = getattr(weight, "path", None) or f"{unit.name}/weight_{i}"
            name = f"{path}:0" if f"{path}:0" not in names else f"{path}_{i}:0"
            names.append(name)
            layer_group.create_dataset(name, data=backend.to_numpy(weight.data))
        layer_group.attrs["weight_names"] = [n.encode("utf8") for n in names]
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = []
