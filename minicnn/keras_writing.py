"""Writing minicnn models in Keras 3's format (see ``keras_files``): Keras' config of each
layer and graph, the weights in Keras' groups, the compile settings and the optimizer's
state, as Keras 3.15 reads them."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import backend
from .keras_call_records import built_at_init, makes_masks, recorded
from .keras_files import (
    MODELS,
    SUBLAYERS,
    KerasFileError,
    StateEntry,
    entry_value,
    graph_order,
    group_paths,
    is_op_layer,
    keras_layers,
    keras_state_entries,
    keras_trainable,
    own_hook,
    sublayer_paths,
)
from .keras_op_writing import CALL, placed
from .mixed_precision import MIXED

KERAS_VERSION = "3.15.1"  # the Keras whose format these files follow (and which read them)


def _is_sequential(model: Any) -> bool:
    return type(model).__name__ == "Sequential"


def _batch_shape(shape: Any, batch: int | None = None) -> Any:
    if isinstance(shape, list):
        return [_batch_shape(s, batch) for s in shape]
    return [batch, *shape]


def _policy(layer: Any = None) -> dict[str, Any]:
    """Keras' dtype policy of a layer or model: float32, Keras' mixed policy it was made
    under, or int8 or int4 from float32 once quantized."""
    if getattr(layer, "quantization_mode", None):
        from .dtype_policies import serialize

        return serialize(layer.dtype_policy)
    policy = getattr(layer, "dtype_policy", None)
    name = policy.name if policy is not None and policy.name in MIXED else "float32"
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": name},
        "registered_name": None,
    }


def model_entry(model: Any) -> dict[str, Any]:
    """Keras' entry for a model: its class as Keras registers it, and its config."""
    if getattr(model, "_subclassed", False):  # the user's class, by its registered name
        cls = type(model)
        return {
            "module": cls.__module__,
            "class_name": cls.__name__,
            "config": model.get_config(),
            "registered_name": _registered(model),
            # built on data, as Keras builds it: its first batch's shape, size included
            "build_config": {
                "input_shape": _batch_shape(model.sample_input_shape, model._build_batch)
            },
        }
    if _is_sequential(model):
        module, class_name, registered = "keras", "Sequential", None
    else:
        module, class_name, registered = "keras.src.models.functional", "Functional", "Functional"
    return {
        "module": module,
        "class_name": class_name,
        "config": _model_config(model),
        "registered_name": registered,
        "build_config": {"input_shape": _batch_shape(model.sample_input_shape)},
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
        for key in _NOT_KERAS_ARGUMENTS.get(found["class_name"], ()):  # a wrapped layer's too
            found["config"].pop(key, None)
    return found


# What minicnn's configs hold that Keras' constructors of the same layers do not take
# (MultiHeadAttention's causal mask is an argument of Keras' call: see _call_kwargs).
_NOT_KERAS_ARGUMENTS = {
    "MultiHeadAttention": ("use_causal_mask",),
    "GroupQueryAttention": ("use_causal_mask",),
    "Attention": ("use_causal_mask",),  # a call's argument in Keras (_call_kwargs)
    "AdditiveAttention": ("use_causal_mask",),
}


def _call_kwargs(layer: Any) -> dict[str, Any]:
    """What Keras passes to a call where minicnn keeps it in the layer."""
    if getattr(layer, "use_causal_mask", False):
        return {"use_causal_mask": True}
    return {}


_APPLICATION_LAYERS = {
    "CustomScaleLayer": "keras.src.applications.inception_resnet_v2",
    "LayerScale": "keras.src.applications.convnext",
    "StochasticDepth": "keras.src.applications.convnext",
}
# Layers of other packages: their module and registered name (Keras loads them with the
# package installed; ClassToken is minicnn's own).
_PACKAGE_LAYERS = {
    "PositionEmbedding": (
        "keras_hub.src.layers.modeling.position_embedding",
        "keras_hub>PositionEmbedding",
    ),
    "ClassToken": ("minicnn.token_layers", "minicnn>ClassToken"),
}


# How the layers of ops are written where it is not as Keras 3's operations (Keras 2's).
_op_writer: list[Callable[[Any], dict[str, Any]]] = []


@contextlib.contextmanager
def ops_written_as(writer: Callable[[Any], dict[str, Any]]) -> Iterator[None]:
    """Within it, ``model_entry`` writes the layers of ops on symbolic tensors (OpCall,
    TensorArithmetic, GetItem) with ``writer`` (Keras 2's TFOpLambda), not as Keras 3's
    operations."""
    _op_writer.append(writer)
    try:
        yield
    finally:
        _op_writer.pop()


def _entry(layer: Any) -> dict[str, Any]:
    """Keras' entry for one layer (a nested model's is a model's)."""
    if getattr(layer, "is_model", False):
        if _op_writer:  # Keras 2's entry of a nested model
            return model_entry(layer)
        return {**model_entry(layer), "compile_config": compile_config(layer) or {}}
    if is_op_layer(layer):
        from .keras_op_writing import keras_op_entry

        return (_op_writer[-1] if _op_writer else keras_op_entry)(layer)
    if type(layer).__name__ == "Lambda" and not layer.serializable:
        raise KerasFileError(
            f"layer '{layer.name}' (Lambda) calls a lambda or a nested function, which Keras "
            "keeps as bytecode and minicnn does not write; a function defined at a module's "
            "top level is written by name."
        )
    from .layers import LAYER_CLASSES

    builtin = LAYER_CLASSES.get(type(layer).__name__) is type(layer)
    config = _with_modules(layer.get_config())
    if builtin or "dtype" in config:  # (a user's get_config that leaves it out: as Keras')
        config["dtype"] = _policy(layer)
    if getattr(layer, "quantization_mode", None) == "int4":
        # Keras' int4 quantizes no inputs when its config says so; without one, a
        # ReversibleEmbedding's reverse call would quantize them.
        from .quantizers import Int4QuantizationConfig, serialize

        block = layer.quantization_block_size
        config["quantization_config"] = serialize(Int4QuantizationConfig(block_size=block or -1))
    for key in _NOT_KERAS_ARGUMENTS.get(type(layer).__name__, ()):
        config.pop(key, None)
    entry = {
        "module": "keras.layers" if builtin else None,
        "class_name": type(layer).__name__,
        "config": config,
        "registered_name": None if builtin else _registered(layer),
    }
    if type(layer).__name__ in _APPLICATION_LAYERS:  # Keras keeps them in its applications
        entry["module"] = _APPLICATION_LAYERS[type(layer).__name__]
        entry["registered_name"] = type(layer).__name__
    if type(layer).__name__ in _PACKAGE_LAYERS:
        entry["module"], entry["registered_name"] = _PACKAGE_LAYERS[type(layer).__name__]
    if own_hook(layer, "get_build_config"):  # the user's, as Keras writes it
        if layer.built:
            entry["build_config"] = _with_modules(layer.get_build_config())
    elif layer.sample_input_shape is not None and not built_at_init(layer):
        entry["build_config"] = _build_config(layer)
    return entry


def without_slashes(document: dict[str, Any]) -> None:
    """Keras 3 refuses "/" in a layer's name, which Keras 2 allowed (MobileNetV3's
    "Conv/BatchNorm"): such a layer is written as "Conv_BatchNorm", everywhere its name
    appears, with a warning (a name that would clash with another layer's is refused)."""
    names: set[str] = set()

    def collect(config: dict[str, Any]) -> None:
        for entry in config.get("layers", []):
            names.add(entry["config"].get("name", ""))
            if entry["class_name"] in MODELS:
                collect(entry["config"])

    collect(document["config"])
    renamed = {n: n.replace("/", "_") for n in names if "/" in n}
    if not renamed:
        return
    clashes = sorted(n for n in renamed if renamed[n] in names)
    if clashes:
        raise KerasFileError(
            f"Keras 3 takes no '/' in layer names, and '{clashes[0]}' written as "
            f"'{renamed[clashes[0]]}' would clash with the layer of that name: rename it."
        )
    warnings.warn(
        f"Keras 3 takes no '/' in layer names: {len(renamed)} layers are written with '_' "
        f"instead ('{next(iter(sorted(renamed)))}' as '{renamed[min(renamed)]}').",
        stacklevel=4,
    )

    references = ("name", "keras_history", "input_layers", "output_layers")

    def walk(value: Any, key: str = "") -> Any:
        """Layer names renamed where the config holds them: a "name", and the layer of each
        [layer, node, tensor] reference (nested in lists, which hand their key down)."""
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if key in references and isinstance(value, str):
            return renamed.get(value, value)
        return value

    document.update(walk(document))


def refuse_keras2_activations(document: dict[str, Any]) -> None:
    """Keras 3 has no activation "legacy_hard_sigmoid" (Keras 2's hard sigmoid, which
    Keras 2's files mean by "hard_sigmoid"): a model with it is refused, naming the layer."""
    for entry in document["config"].get("layers", []):  # a subclassed model's are code
        if entry["class_name"] in MODELS:
            refuse_keras2_activations(entry)
            continue
        for key, value in entry["config"].items():
            if value == "legacy_hard_sigmoid" and key.endswith("activation"):
                raise KerasFileError(
                    f"layer '{entry['config'].get('name')}': Keras 3 has no {key} "
                    "'legacy_hard_sigmoid' (Keras 2's hard sigmoid, clip(0.2 x + 0.5, 0, 1)); "
                    "its 'hard_sigmoid' is relu6(x + 3) / 6."
                )


def _build_config(layer: Any) -> dict[str, Any]:
    """Keras' build config: the input shape, or the attention layers' named shapes."""
    if layer.__dict__.get("_build_takes_no_shape"):  # a user's build(self)
        return {"shapes_dict": {}}
    shapes = _batch_shape(layer.sample_input_shape)
    keys = layer.__dict__.get("_input_dict_keys")
    if keys:  # a user's layer called on a dict: its shapes by key, as the dict came
        by_key = dict(zip(keys, shapes, strict=True))
        return {"input_shape": {key: by_key[key] for key in layer.__dict__["_input_dict_order"]}}
    if _started(layer):  # Keras' RNN.build(sequences_shape, initial_state_shape)
        return {"shapes_dict": {"sequences_shape": shapes[0], "initial_state_shape": shapes[1:]}}
    if type(layer).__name__ in ("MultiHeadAttention", "GroupQueryAttention"):
        names = ("query_shape", "value_shape", "key_shape")
        return {"shapes_dict": dict(zip(names, shapes, strict=False))}
    return {"input_shape": shapes}


def _started(layer: Any) -> bool:
    """Whether a recurrent layer is called with initial states ([x, *states])."""
    return layer.takes_list and hasattr(layer, "state_count")


def _registered(layer: Any) -> str:
    from . import registry

    return registry.registered_name(type(layer))


def _input_entry(model_input: Any) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": [None, *model_input.sample_shape],
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
            "dtype": _policy(model),
            "layers": entries + [_entry(layer) for layer in layers],
            "build_input_shape": _batch_shape(model.sample_input_shape),
        }
    return _functional_config(model)


def _functional_config(model: Any) -> dict[str, Any]:
    """Keras' functional config: each layer with the calls (inbound nodes) that feed it,
    each input a keras_history [layer, call, output index]."""
    from .functional import call_indices, input_count

    if model._added_slots:
        raise KerasFileError(
            f"model '{model.name}' adds losses or metrics of its graph's tensors (add_loss, "
            "add_metric on a functional model, tf.keras' way), which Keras 3's config "
            "cannot hold."
        )
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

    arguments = getattr(model, "_call_arguments", None) or {}
    fixed = getattr(model, "_fixed_training", None) or {}  # a call's training=True/False

    def shape(slot: int) -> list[Any]:
        if slot < k:
            return [None, *model._graph_inputs[slot].shape]
        layer, sources = nodes[slot - k]
        own = arguments.get(slot - k)
        found = None
        if own and len(sources) == 1:  # a call whose own arguments change its output
            found = layer.call_output_shape(tuple(shape(sources[0])[1:]), own)
        return [None, *(layer.sample_output_shape if found is None else found)]

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
    masked = makes_masks([layer for layer, _ in nodes])
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
        call = entries[id(layer)].get(CALL)
        if call is not None:  # an op: its arguments, the inputs put in their places
            tensors = [tensor(s) for s in sources]
            node = {
                "args": placed(call["args"], tensors),
                "kwargs": placed(call["kwargs"], tensors),
            }
            entries[id(layer)]["inbound_nodes"].append(node)
            continue
        args = [tensor(s) for s in sources]
        one_by_one = getattr(layer, "_spreads_inputs", False) or type(layer).__name__ in (
            "MultiHeadAttention",  # Keras' call(query, value, key=None)
            "GroupQueryAttention",
        )
        one_tensor = len(args) == 1 and not layer.takes_list
        kwargs = {
            # (Keras 2 records no such arguments: its files get only a user's)
            **(recorded(layer, one_tensor, masked) if not _op_writer else {}),
            **({"training": fixed[j]} if j in fixed and not _op_writer else {}),
            **_call_kwargs(layer),
            **arguments.get(j, {}),
        }
        if kwargs.get("attention_mask") is True:  # the call's last input: Keras' argument
            *args, kwargs["attention_mask"] = args
        if _started(layer):  # Keras' rnn(x, initial_state=[h, c])
            args, kwargs = args[:1], {**kwargs, "initial_state": args[1:]}
        elif layer.takes_list and not one_by_one:
            keys = layer.__dict__.get("_input_dict_keys")  # a user's layer called on a dict
            if keys:
                by_key = dict(zip(keys, args, strict=True))
                args = [{key: by_key[key] for key in layer.__dict__["_input_dict_order"]}]
            else:
                args = [args]
        entries[id(layer)]["inbound_nodes"].append({"args": args, "kwargs": kwargs})
    for entry in entries.values():
        entry.pop(CALL, None)
    inputs = [[nodes[i][0].name, 0, 0] for i in range(k)]
    outputs = [list(origin(s)) for s in model._output_slots]
    ranked = [id(layer) for layer in graph_order(model)]  # Keras' order of the layers
    listed = getattr(model, "_listed_ends", (False, True))
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": [entries[i] for i in sorted(order, key=ranked.index)],
        "input_layers": _ends(inputs, model._input_keys, listed[0]),
        "output_layers": _ends(outputs, model._output_keys, listed[1]),
    }


def _ends(ends: list[list[Any]], keys: list[str] | None, listed: bool) -> Any:
    """A model's inputs or outputs as Keras' config gives them: a dict by key where the
    model was given a dict, a list, or one where it was given one tensor."""
    if keys is not None:
        return dict(zip(keys, ends, strict=True))
    return ends if len(ends) > 1 or listed else ends[0]


def write_weights_group(model: Any, group: Any) -> None:
    """Every layer's weights where Keras' file keeps them (``group``: the root, or a nested
    model's)."""
    own = group.create_group("vars")
    if getattr(model, "_subclassed", False):  # its layers under their attributes' paths
        held = model._held_variables()  # and its own weights in its "vars", as Keras'
        for i, array in enumerate(keras_arrays(held) if held is not None else []):
            own.create_dataset(str(i), data=array)
        _write_sublayers(group, sublayer_paths(model))
        return
    layers_group = group.create_group("layers")
    layers = keras_layers(model)
    for layer, path in zip(layers, group_paths(layers), strict=True):
        inner = layers_group.create_group(path)
        if getattr(layer, "is_model", False):
            write_weights_group(layer, inner)
            continue
        if saves_itself(layer):
            _write_own_store(inner, layer)
            continue
        _write_arrays(inner, layer, type(layer).__name__, keras_arrays(layer))
        idf = layer.keras_idf_weights() if hasattr(layer, "keras_idf_weights") else None
        if idf is not None:  # a tf_idf lookup's, which Keras loads by name
            inner["vars"].create_dataset("idf_weights", data=idf)
            if type(layer).__name__ == "TextVectorization":  # and its inner StringLookup's
                lookup = inner.create_group("_lookup_layer").create_group("vars")
                lookup.create_dataset("idf_weights", data=idf)


def keras_arrays(layer: Any) -> list[np.ndarray]:
    """A layer's arrays as Keras saves them (a LoRA layer's kernel merged, see
    ``LowRankAdaptation._stored_arrays``)."""
    return layer._stored_arrays()


def _write_sublayers(group: Any, placed: list[tuple[Any, str]]) -> None:
    """Each (sublayer, path) pair's weights at its path under ``group``."""
    for sub, path in placed:
        place = group.require_group(path)
        if getattr(sub, "is_model", False):
            write_weights_group(sub, place)
        elif saves_itself(sub):
            _write_own_store(place, sub)
        else:
            _write_arrays(place, sub, type(sub).__name__, keras_arrays(sub))


def saves_itself(layer: Any) -> bool:
    """Whether the layer's class replaces Keras' ``save_own_variables`` (state of its own)."""
    return own_hook(layer, "save_own_variables")


def _write_own_store(group: Any, layer: Any) -> None:
    """What the layer's own ``save_own_variables`` put in its store, as Keras writes it (the
    store is the layer's "vars" group), and its sublayers' weights at their paths."""
    store: dict[str, Any] = {}
    layer.save_own_variables(store)
    vars_group = group.create_group("vars")
    for key, value in store.items():
        vars_group.create_dataset(str(key), data=backend.to_numpy(value))
    _write_sublayers(group, sublayer_paths(layer))


def _write_arrays(group: Any, layer: Any, class_name: str, arrays: list[np.ndarray]) -> None:
    """A layer's arrays split as ``_arrays`` reads them: its own, then its sublayers'."""
    inner = sublayer_paths(layer) if layer is not None else []
    if inner:  # a user's layer: its own variables, each sublayer under its attribute's path
        own = len(arrays) - sum(len(sub.weights) for sub, _ in inner)
        vars_group = group.create_group("vars")
        for i, array in enumerate(arrays[:own]):
            vars_group.create_dataset(str(i), data=array)
        _write_sublayers(group, inner)
        return
    subs = SUBLAYERS.get(class_name, ())
    own = group.create_group("vars")
    if class_name == "SpectralNormalization":  # Keras' own: the kernel again, and u
        own.create_dataset("0", data=arrays[0])
        own.create_dataset("1", data=arrays[-1])
        _write_arrays(group.create_group("layer"), None, "", arrays[:-1])
        return
    if class_name == "RNN":  # its cell's arrays; a StackedRNNCells' each under its name
        stacked = getattr(layer.cell, "cells", None)
        if stacked is None:
            _write_arrays(group.create_group("cell"), None, "", arrays)
            return
        cell = group.create_group("cell")
        cell.create_group("vars")
        inner, start = cell.create_group("cells"), 0
        for sub, path in zip(stacked, group_paths(stacked), strict=True):  # Keras' names
            count = len(sub.weights)
            _write_arrays(inner.create_group(path), None, "", arrays[start : start + count])
            start += count
        return
    if not subs:
        for i, array in enumerate(arrays):
            own.create_dataset(str(i), data=array)
        return
    if class_name == "Bidirectional":  # each direction's layer as it is written alone
        split = len(layer.forward_layer.weights)
        sides = (layer.forward_layer, layer.backward_layer)
        parts = {"forward_layer": arrays[:split], "backward_layer": arrays[split:]}
        for side, (name, part) in zip(sides, parts.items(), strict=True):
            _write_arrays(group.create_group(name), side, type(side).__name__, part)
        return
    if len(subs) == 1:  # a recurrent layer's cell, a wrapper's layer
        _write_arrays(group.create_group(subs[0]), None, "", arrays)
        return
    per = len(arrays) // len(subs)  # attention: a kernel (and a bias) per projection
    for i, name in enumerate(subs):
        _write_arrays(group.create_group(name), None, "", arrays[i * per : (i + 1) * per])


def write_optimizer(model: Any, h5: Any) -> None:
    """The optimizer's state where Keras keeps it (for the optimizers whose layout minicnn
    follows, once built); a MultiOptimizer's, as Keras, also each of its optimizers' on its
    own under "optimizer/optimizers/adam" (named by class, numbered where one repeats)."""
    optimizer = model.optimizer
    order = keras_trainable(model)
    entries = keras_state_entries(optimizer, order) if optimizer.built else None
    if entries is None:
        return
    group = h5.create_group("optimizer")
    _write_entries(group.create_group("vars"), entries)
    wrapped = getattr(optimizer, "inner_optimizer", None)
    if wrapped is not None:  # Keras keeps the wrapped optimizer's state on its own too
        found = keras_state_entries(wrapped, order) or []
        _write_entries(group.create_group("inner_optimizer").create_group("vars"), found)
    inner = getattr(optimizer, "optimizers", None)
    if inner is not None:
        subs = group.create_group("optimizers")
        for sub, name in zip(inner, group_paths(inner), strict=True):
            own = {id(p) for p in sub._params}
            found = keras_state_entries(sub, [w for w in order if id(w) in own])
            _write_entries(subs.create_group(name).create_group("vars"), found or [])


def _write_entries(group: Any, entries: list[StateEntry]) -> None:
    for i, entry in enumerate(entries):
        group.create_dataset(str(i), data=backend.to_numpy(entry_value(entry)))


def compile_config(model: Any) -> dict[str, Any] | None:
    """Keras' compile config of a compiled model (compile's arguments as given, each object
    as its Keras entry), None for a model that is not compiled or whose loss is code of its
    own (which Keras could not compile again)."""
    from .losses import BuiltinLoss
    from .models import Model

    if not model.compiled:
        return None
    if type(model).get_compile_config is not Model.get_compile_config:
        # The model's own (which its compile_from_config reads): its objects as Keras' entries.
        from .serialization import serialize_keras_object

        return serialize_keras_object(model.get_compile_config())
    if model.optimizer is None or model.loss is None:
        return None
    losses = model.loss if isinstance(model.loss, list) else [model.loss]
    if not all(isinstance(loss, BuiltinLoss) or loss is None for loss in losses):
        return None
    # Keras runs it as XLA where it can; minicnn's CUDA-graph switch means nothing there.
    return {**model.get_compile_config(), "jit_compile": False}
