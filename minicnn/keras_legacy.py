"""Keras' legacy HDF5 files: ``model.save("model.h5")`` and ``model.save_weights("w.h5")``
of Keras 2 (``tf.keras``), and Keras 3's legacy format. A model file keeps its architecture
in the ``model_config`` attribute (Keras 2's config, which ``modern_document`` turns into
Keras 3's form for ``keras_reading``), its weights in ``model_weights`` (a group per layer,
each array named in the layer's ``weight_names``), its compile settings in
``training_config`` and the optimizer's state in ``optimizer_weights``, each array named by
its slot and its weight. A weights-only file is the ``model_weights`` group alone."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .keras_files import (
    MODELS,
    WRAPPED_KEYS,
    KerasFileError,
    h5py_module,
    keras_layers,
    keras_trainable,
)

_KINDS = {
    "_initializer": "initializers",
    "_regularizer": "regularizers",
    "_constraint": "constraints",
}
# Keras 2's arguments that Keras 3 dropped, where they hold the values that Keras 3 means.
# None: any value (how Keras 2 computed a recurrent layer; the sequence length it expected;
# the shapes an attention layer was built for).
_KERAS2_ONLY = {
    "time_major": (False,),
    "implementation": None,
    "input_length": None,
    "query_shape": None,
    "key_shape": None,
    "value_shape": None,
}
# Keras 2's layers that Keras 3 renamed or folded into others: (class, renamed arguments).
_RENAMED = {
    "ThresholdedReLU": ("ReLU", {"theta": "threshold"}),  # differs only at x == theta
    "LeakyReLU": ("LeakyReLU", {"alpha": "negative_slope"}),
}
# Arguments Keras 2's config held from a base class without using them.
_UNUSED = {
    "SeparableConv1D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
    "SeparableConv2D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
}

# minicnn's optimizer slots that TensorFlow 2.11+'s Keras names otherwise
# ("Adam/vhat/dense/kernel:0"); elsewhere the names are the same. Read here, written by
# keras_legacy_writing.
KERAS2_SLOT_NAMES = {
    "Adam": {"v_hat": "vhat"},
    "AdamW": {"v_hat": "vhat"},
    "SGD": {"velocity": "m"},
    "Lion": {"momentum": "m"},
}


def keras2_slot_names(kind: str) -> dict[str, str]:
    """Keras 2's names of a ``kind`` optimizer's slots where they differ from minicnn's,
    the moving averages of use_ema ("Adam/average/dense/kernel:0") among them."""
    return {"ema": "average", **KERAS2_SLOT_NAMES.get(kind, {})}


# Keras 2's first optimizers ("Adam/dense/kernel/m:0", Keras 2.10 and before, and
# tf.keras.optimizers.legacy since), the ones whose update rule is minicnn's: their slots
# as minicnn's.
_FIRST_OPTIMIZERS = {"Adam": {"m": "m", "v": "v", "vhat": "v_hat"}, "SGD": {"momentum": "velocity"}}


def is_legacy_h5(h5: Any) -> bool:
    """Whether an open HDF5 file is a legacy Keras file (a model or a weights-only one)."""
    return "model_config" in h5.attrs or "layer_names" in h5.attrs or "model_weights" in h5


def weights_group(h5: Any) -> Any:
    """Where a legacy file keeps its layers' weights: a model file's ``model_weights``, a
    weights-only file's root."""
    return h5["model_weights"] if "model_weights" in h5 else h5


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _listed(group: Any, attribute: str) -> list[str]:
    """A list of names kept in an attribute, or (a long one) in attributes ``name0``,
    ``name1``, ..., as Keras splits those beyond HDF5's 64 KB limit on an object's header."""
    if attribute in group.attrs:
        return [_text(n) for n in group.attrs[attribute]]
    names, chunk = [], 0
    while f"{attribute}{chunk}" in group.attrs:
        names += [_text(n) for n in group.attrs[f"{attribute}{chunk}"]]
        chunk += 1
    return names


def load_legacy_model(path: Path, compile: bool = True, device: str | None = None) -> Any:
    """The model a legacy ``.h5`` file holds, with its weights, compiled as it was saved and
    with its optimizer's state where minicnn has that optimizer."""
    from .keras_reading import compile_as_saved, model_from_keras_config, restore_optimizer

    with h5py_module().File(path, "r") as h5:
        if "model_config" not in h5.attrs:
            raise KerasFileError(
                f"{path} holds weights only (Keras' save_weights): build the model and call "
                "model.load_weights on it."
            )
        try:
            document = json.loads(_text(h5.attrs["model_config"]))
            keras3 = _text(h5.attrs.get("keras_version", "")).startswith("3.")
            if not keras3:  # Keras 3's legacy files hold its own configs
                document = modern_document(document)
            model = model_from_keras_config(document, device)
        except (KeyError, TypeError, IndexError) as error:
            raise KerasFileError(
                f"{path}: its Keras architecture cannot be read ({error!r})."
            ) from None
        names = load_legacy_weights(
            model, weights_group(h5), str(path), by_name=True, complete=True
        )
        if not compile or "training_config" not in h5.attrs:
            return model
        training = json.loads(_text(h5.attrs["training_config"]))
        compile_as_saved(model, compile_settings(training, model), path)
        if not model.compiled or "optimizer_weights" not in h5:
            return model
        group = h5["optimizer_weights"]
        state = {n: np.asarray(group[n]) for n in _listed(group, "weight_names")}
        if keras3:
            # Keras 3 writes its optimizer's variables in the order of its .keras files.
            arrays = {str(i): a for i, a in enumerate(state.values())}
            restore_optimizer(model, arrays, keras_trainable(model, document["config"]), path)
        else:
            restore_named_state(model, state, names, path)
    return model


def modern_document(document: dict[str, Any]) -> dict[str, Any]:
    """Keras 2's serialized model (``{"class_name", "config"}``) as Keras 3 serializes it:
    nodes as calls with arguments, ``batch_shape`` for ``batch_input_shape``, objects with
    their module, dtype policies by name. Keras 3's configs go through unchanged."""
    class_name = "Functional" if document["class_name"] == "Model" else document["class_name"]
    config = dict(document["config"])
    original = config["layers"]
    # Keras 2 counted a nested model's calls after the one that built it on its own input.
    shifted = {e["name"] for e in original if e.get("name") and _has_own_input(e)}
    config["layers"] = [_modern_entry(entry, shifted) for entry in original]
    for key in ("input_layers", "output_layers"):
        if key in config:
            config[key] = _shifted_refs(config[key], shifted)
    first = original[0] if original else None
    if class_name == "Sequential" and first and first["class_name"] != "InputLayer":
        shape = first["config"].get("batch_input_shape")
        if shape is not None:  # Keras 2's first layer held the input's shape itself
            name = f"{first['config'].get('name', 'input')}_input"
            entry = {"class_name": "InputLayer", "config": {"batch_shape": shape, "name": name}}
            config["layers"].insert(0, entry)
    return {**document, "class_name": class_name, "config": config}


def _has_own_input(entry: dict[str, Any]) -> bool:
    """Whether Keras 2 built this nested model on an input of its own (a functional model
    always, a Sequential given its input's shape), so that its first call was that one."""
    if entry["class_name"] in ("Functional", "Model"):
        return True
    layers = entry["config"].get("layers") if entry["class_name"] == "Sequential" else None
    return bool(layers) and (
        layers[0]["class_name"] == "InputLayer" or "batch_input_shape" in layers[0]["config"]
    )


def _shifted_refs(refs: Any, shifted: set[str]) -> Any:
    """``[name, node, tensor]`` references (one or a list) with the nested models' node
    indices counted as Keras 3 counts them."""
    if isinstance(refs, list) and refs and isinstance(refs[0], str):
        name, node, *rest = refs
        return [name, node - 1 if name in shifted else node, *rest]
    if isinstance(refs, list):
        return [_shifted_refs(r, shifted) for r in refs]
    return refs


def _modern_entry(entry: dict[str, Any], shifted: set[str] = frozenset()) -> dict[str, Any]:
    if entry["class_name"] in MODELS + ("Model",):
        modern = modern_document(entry)
    else:
        # Keras 2 named a registered class "Package>Name" ("Custom>" by default).
        class_name = entry["class_name"].rpartition(">")[2]
        if class_name == "Lambda" and entry["config"].get("function_type") == "lambda":
            raise KerasFileError(
                f"layer '{entry['config'].get('name')}' is a Lambda whose function Keras 2 "
                "kept as Python bytecode, which minicnn does not run from a file (Keras 3 "
                "refuses it too, in safe mode)."
            )
        config = _modern_config(entry["config"], class_name == "InputLayer")
        if class_name == "Lambda":
            config = _modern_lambda(config)
        axis = config.get("axis")
        if class_name == "BatchNormalization" and isinstance(axis, list):
            config["axis"] = axis[0] if len(axis) == 1 else axis  # Keras 2 kept a list
        for key in _UNUSED.get(class_name, ()):
            config.pop(key, None)
        if class_name in _RENAMED:
            class_name, renamed = _RENAMED[class_name]
            config = {renamed.get(k, k): v for k, v in config.items()}
        modern = {**entry, "class_name": class_name, "config": config}
        if ">" in entry["class_name"]:  # a user's class, found by its registered name
            modern["registered_name"] = entry["class_name"]
    if "inbound_nodes" in entry:
        nodes = entry["inbound_nodes"]
        modern["inbound_nodes"] = [_modern_node(_shifted_refs(n, shifted)) for n in nodes]
    return modern


def _modern_lambda(config: dict[str, Any]) -> dict[str, Any]:
    """Keras 2's Lambda config (its function by name, with a type and a module) as Keras
    3's, whose function is an entry of its own."""
    modern = dict(config)
    for key, type_key, module_key in (
        ("function", "function_type", "module"),
        ("output_shape", "output_shape_type", "output_shape_module"),
    ):
        kind, module = modern.pop(type_key, "raw"), modern.pop(module_key, None)
        if kind == "function":
            modern[key] = {
                "module": module,
                "class_name": "function",
                "config": modern[key],
                "registered_name": "function",
            }
    return modern


def _modern_config(config: dict[str, Any], is_input: bool) -> dict[str, Any]:
    modern = {}
    for key, value in config.items():
        if key in _KERAS2_ONLY and (_KERAS2_ONLY[key] is None or value in _KERAS2_ONLY[key]):
            continue
        if key == "batch_input_shape":
            if is_input:
                modern["batch_shape"] = value
            continue
        if key == "dtype" and isinstance(value, dict) and value.get("class_name") == "Policy":
            value = (value.get("config") or {}).get("name", "float32")  # Keras 2's policy
        if key == "dtype" and not is_input and str(value).startswith(("int", "uint")):
            continue  # the ids a lookup or Discretization gives, which minicnn's give too
        if value == "hard_sigmoid" and key.endswith("activation"):
            value = "legacy_hard_sigmoid"  # Keras 2's, clip(0.2 x + 0.5, 0, 1)
        elif isinstance(value, dict) and "class_name" in value and "config" in value:
            kind = next((k for end, k in _KINDS.items() if key.endswith(end)), None)
            if key in WRAPPED_KEYS:
                value = _modern_entry(value)
            elif kind is not None and not value.get("module"):
                value = {**value, "module": f"keras.{kind}"}
        modern[key] = value
    return modern


def _modern_node(node: Any) -> Any:
    """Keras 2's node (``[[layer, node, tensor, kwargs], ...]``) as Keras 3's call: one
    inbound tensor as the argument, several as one list (Keras 2 called layers so)."""
    if isinstance(node, dict):
        return node
    if node and isinstance(node[0], str):  # one inbound tensor, written flat (TFOpLambda's)
        node = [node]
    # A constant first argument of a TensorFlow call: ["_CONSTANT_VALUE", -1, value, kwargs].
    tensors = [ref[2] if ref[0] == "_CONSTANT_VALUE" else _tensor(ref) for ref in node]
    kwargs = node[-1][3] if node and len(node[-1]) > 3 else {}
    kwargs = {key: _tensor_refs(value) for key, value in kwargs.items()}
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _tensor(ref: list[Any]) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"keras_history": list(ref[:3])}}


def _tensor_refs(value: Any) -> Any:
    """Keras 2 wrote a tensor among a call's keyword arguments (attention's ``value``) as
    ``[layer, node, tensor]``."""
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) for v in value[1:])
    ):
        return _tensor(value)
    if isinstance(value, list):
        return [_tensor_refs(v) for v in value]
    return value


def load_legacy_weights(
    model: Any,
    group: Any,
    where: str,
    by_name: bool = False,
    skip_mismatch: bool = False,
    complete: bool = False,
) -> dict[str, Any]:
    """Each layer's arrays from a legacy weights group into ``model``: in order, layer by
    layer among those with weights (Keras 2's default), or by the layers' names (every one
    of them, with ``complete``: a whole model's file). A layer's arrays are its trainable
    weights, then its non-trainable ones (a nested model's too). Returns the model's weights
    by their names in the file ("dense/kernel"), which the optimizer's state refers to."""
    if "layer_names" not in group.attrs:
        raise KerasFileError(f"{where} is not a Keras weights file (it lists no layers).")
    saved = []
    for name in _listed(group, "layer_names"):
        names = _listed(group[name], "weight_names")
        if names:
            saved.append((name, names, [np.asarray(group[name][n]) for n in names]))
    units = [layer for layer in keras_layers(model) if layer.weights]
    if by_name:
        found = {name: (name, names, arrays) for name, names, arrays in saved}
        missing = [unit.name for unit in units if unit.name not in found]
        if complete and missing:  # a model file holds every layer's weights
            raise KerasFileError(f"{where}: no weights for layer '{missing[0]}'.")
        pairs = [(unit, found[unit.name]) for unit in units if unit.name in found]
    elif len(saved) != len(units):
        raise KerasFileError(
            f"{where} holds weights for {len(saved)} layers; the model has {len(units)} "
            "layers with weights."
        )
    else:
        pairs = list(zip(units, saved, strict=True))
    by_file_name = {}
    for unit, (name, names, arrays) in pairs:
        ordered = unit.trainable_weights + unit.non_trainable_weights
        shapes = [tuple(w.shape) for w in ordered]
        given = [tuple(a.shape) for a in arrays]
        if shapes != given:
            message = (
                f"{where}: layer '{unit.name}' has weights of shapes {shapes}; the file's "
                f"layer '{name}' gives {given}."
            )
            if skip_mismatch:
                warnings.warn(message + " Skipped.", stacklevel=3)
                continue
            raise KerasFileError(message)
        value = {id(w): a for w, a in zip(ordered, arrays, strict=True)}
        unit.set_weights([value[id(w)] for w in unit.weights])
        by_file_name.update({n.rsplit(":", 1)[0]: w for n, w in zip(names, ordered, strict=True)})
    return by_file_name


def compile_settings(training: dict[str, Any], model: Any) -> dict[str, Any]:
    """Keras 2's ``training_config`` as Keras 3's compile config."""
    return {
        "optimizer": _optimizer_entry(training.get("optimizer_config")),
        "loss": _loss_entry(training.get("loss")),
        "metrics": _metric_entries(training.get("metrics"), model),
        "weighted_metrics": _metric_entries(training.get("weighted_metrics"), model),
        "loss_weights": training.get("loss_weights"),
    }


def _optimizer_entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    class_name = str(entry["class_name"]).removeprefix("Custom>")  # Keras 2.11's optimizers
    config = dict(entry.get("config") or {})
    if "inner_optimizer" in config:  # LossScaleOptimizer (V3 for Keras 2.11's optimizers)
        config["inner_optimizer"] = _optimizer_entry(config["inner_optimizer"])
        config.pop("dynamic", None)  # always True since Keras 2.4
        return {"class_name": "LossScaleOptimizer", "config": config}
    for key in ("is_legacy_optimizer", "jit_compile"):
        config.pop(key, None)
    if "lr" in config:  # Keras 2's first name for it
        config["learning_rate"] = config.pop("lr")
    decay = config.pop("decay", 0.0) or 0.0
    rate = config.get("learning_rate")
    if isinstance(rate, dict) and "module" not in rate:
        config["learning_rate"] = {"class_name": rate["class_name"], "config": rate["config"]}
    if decay:  # Keras 2's rate / (1 + decay * iterations)
        if not isinstance(rate, (int, float)):
            raise ValueError("Keras 2's decay on a learning-rate schedule")
        config["learning_rate"] = {
            "class_name": "InverseTimeDecay",
            "config": {"initial_learning_rate": rate, "decay_steps": 1, "decay_rate": decay},
        }
    return {"class_name": class_name, "config": config}


def _loss_entry(entry: Any) -> Any:
    if isinstance(entry, list):
        return [_loss_entry(e) for e in entry]
    if isinstance(entry, dict) and "class_name" not in entry:  # one loss per output
        return {key: _loss_entry(e) for key, e in entry.items()}
    if not isinstance(entry, dict):
        return entry
    config = {k: v for k, v in (entry.get("config") or {}).items() if k != "fn"}
    if config.get("reduction") == "auto":
        config["reduction"] = "sum_over_batch_size"  # what "auto" meant in Keras 2's fit
    from .serialization import deserialize_keras_object

    return deserialize_keras_object({"module": "keras.losses", **entry, "config": config})


def _metric_entries(entry: Any, model: Any) -> Any:
    """Keras 2's metrics, a list per output, each metric by name or as its
    ``MeanMetricWrapper`` (whose name carries the output's: "flag_accuracy")."""
    if not isinstance(entry, list):
        return entry
    outputs = list(model.output_names)
    if entry and all(isinstance(e, list) for e in entry):
        per_output = [
            [_metric(m, outputs[i] if i < len(outputs) else "") for m in metrics]
            for i, metrics in enumerate(entry)
        ]
        return per_output[0] if len(per_output) == 1 else per_output
    return [_metric(m, outputs[0] if len(outputs) == 1 else "") for m in entry]


def _metric(metric: Any, output: str) -> Any:
    if not isinstance(metric, dict):
        return metric
    if metric.get("class_name") == "MeanMetricWrapper":
        from . import metrics

        config = metric.get("config") or {}
        name = str(config.get("name", ""))
        if output and name.startswith(f"{output}_"):
            name = name[len(output) + 1 :]
        try:
            metrics.get(name)
            return name
        except ValueError:
            return config.get("fn", name)
    return {"module": "keras.metrics", **metric}


def restore_named_state(
    model: Any, state: dict[str, np.ndarray], weights: dict, path: Path
) -> None:
    """The optimizer's state from Keras 2's arrays, each named by its slot and weight
    ("Adam/m/dense/kernel:0"; "Adam/dense/kernel/m:0" for the first optimizers); an
    optimizer whose names or rule minicnn does not follow starts afresh, with a warning."""
    optimizer, params = model.optimizer, model.trainable_weights
    optimizer.build(params)
    scaler = optimizer if hasattr(optimizer, "inner_optimizer") else None
    if scaler is not None:  # a LossScaleOptimizer: the state is its optimizer's
        optimizer = scaler.inner_optimizer
    kind = type(optimizer).__name__
    renamed = {keras2: mine for mine, keras2 in keras2_slot_names(kind).items()}
    first = _FIRST_OPTIMIZERS.get(kind, {})
    position = {id(p): i for i, p in enumerate(params)}
    iterations, found = None, {}
    for name, value in state.items():
        parts = name.rsplit(":", 1)[0].split("/")
        if parts[-1] in ("iteration", "iter"):
            iterations = int(value)
            continue
        if scaler is not None and parts[-1] in ("current_loss_scale", "good_steps"):
            if parts[-1] == "good_steps":  # the first Keras 2 LossScaleOptimizer's
                scaler.step_counter = int(value)
            else:
                scaler.dynamic_scale = float(value)
            continue
        if scaler is not None and "/".join(parts[1:]) in weights:
            parts = ["", *parts]  # TF 2.15's wrapped optimizer names no optimizer: "m/dense/..."
        slot, weight = None, None
        if len(parts) >= 3 and "/".join(parts[2:]) in weights:
            slot, weight = renamed.get(parts[1], parts[1]), weights["/".join(parts[2:])]
        elif len(parts) >= 3 and "/".join(parts[1:-1]) in weights and parts[-1] in first:
            slot, weight = first[parts[-1]], weights["/".join(parts[1:-1])]
        slots = optimizer._slots[position[id(weight)]] if id(weight) in position else {}
        if slot not in slots or slots[slot].shape != value.shape:
            warnings.warn(
                f"{path}: the {kind} optimizer's saved state is not read ({name} is not a "
                "state minicnn's optimizer keeps); training starts it afresh.",
                stacklevel=4,
            )
            return
        found[(id(weight), slot)] = (slots, value)
    wanted = sum(len(optimizer._slots[i]) for i in range(len(params)))
    if iterations is None or len(found) != wanted:
        warnings.warn(
            f"{path}: the {kind} optimizer's saved state is incomplete; training starts it afresh.",
            stacklevel=4,
        )
        return
    for (_, slot), (slots, value) in found.items():
        slots[slot][...] = backend.to_device(value, backend.device_of(slots[slot]))
    optimizer.iterations = iterations


def tf_operation(entry: dict[str, Any]) -> Any:
    """Keras 2's layer for a TensorFlow call on KerasTensors, as that computation in
    ``minicnn.ops`` (``keras2_ops``)."""
    from .keras2_ops import slice_of, tf_function
    from .keras_reading import named_as_in_file as _named

    name = entry["config"].get("name", entry.get("name"))
    if entry["class_name"] == "SlicingOpLambda":
        return lambda x, slice_spec: _named(x[slice_of(slice_spec)], name, [x])
    function_name = entry["config"].get("function")
    try:
        function = tf_function(function_name)
    except ValueError as error:
        raise KerasFileError(f"layer '{name}': {error}.") from None

    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("name", None)  # what TensorFlow named the op in its graph
        try:
            result = function(*args, **kwargs)
        except TypeError as error:
            raise KerasFileError(
                f"layer '{name}': tf.{function_name} with the arguments {sorted(kwargs)}: {error}."
            ) from None
        return _named(result, name, [args, kwargs])

    return call
