"""Reading Keras 3's files into minicnn (see ``keras_files``): the architecture from Keras'
config, each argument checked against minicnn's class of the same name, the weights from
Keras' groups, the compile settings and the optimizer's state."""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .keras_call_records import records_training_false
from .keras_files import (
    MODELS,
    SUBLAYERS,
    TF_OP_LAYERS,
    WRAPPED_KEYS,
    KerasFileError,
    entry_name,
    group_paths,
    is_operation,
    keras_layers,
    keras_snake,
    keras_state_entries,
    numbered_paths,
    own_hook,
    sublayer_paths,
)


def model_from_keras_config(document: dict[str, Any], device: str | None = None) -> Any:
    """A minicnn model from Keras' serialized model (``{"class_name", "config"}``)."""
    class_name, config = document["class_name"], document["config"]
    model = None
    if class_name not in ("Sequential", "Functional", "Model"):
        model = _subclassed(document, device)
    if model is None:
        model = _model_of_class(class_name, config, device)
    if config.get("dtype") is not None:  # the policy its compile reads (mixed_float16)
        from .mixed_precision import layer_policy

        model._dtype_policy = layer_policy(config["dtype"])
    return model


def _model_of_class(class_name: str, config: dict[str, Any], device: str | None) -> Any:
    from .models import Sequential

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
        f"a Keras {class_name!r} (a subclassed model) keeps its architecture in code: "
        "register the class (saving.register_keras_serializable) or give it in "
        "custom_objects, with a get_config of its __init__'s arguments, as Keras needs."
    )


def _subclassed(document: dict[str, Any], device: str | None) -> Any:
    """A subclassed model of the user's (registered, or in custom_objects): made from its
    config by its class, as Keras makes it, and built for the input shape Keras recorded;
    None where the entry names no such class."""
    from . import registry
    from .models import Model, _unpickled_subclass

    cls = registry.get_registered_object(
        document.get("registered_name") or document["class_name"]
    ) or registry.get_registered_object(document["class_name"])
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        return None
    built = document.get("build_config")
    return _unpickled_subclass(cls, document["config"], None, None, device or "cpu", built)


# Keras' serialized Python values among a call's arguments: x[:, 1:3]'s slices, an array.
_PYTHON_VALUES: dict[str, Any] = {
    "__slice__": lambda c, _: slice(c.get("start"), c.get("stop"), c.get("step")),
    "__ellipsis__": lambda c, _: Ellipsis,
    "__numpy__": lambda c, _: np.asarray(c["value"], dtype=c.get("dtype")),
    "__tuple__": lambda c, resolve: tuple(resolve(c["value"])),
}


def python_value(value: Any) -> Any:
    """A Python value Keras' JSON holds as a serialized object (an array's ``__numpy__``, a
    slice, a tuple) as that value; any other value as it is."""
    if isinstance(value, dict) and value.get("class_name") in _PYTHON_VALUES:
        return _PYTHON_VALUES[value["class_name"]](value.get("config") or {}, python_value)
    return value


def _history(value: Any) -> set[tuple[str, int]]:
    """The (layer, call) pairs whose outputs a call's arguments take."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        name, node, _ = value["config"]["keras_history"]
        return {(name, node)}
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list, tuple)):
        return set().union(*(_history(v) for v in items)) if items else set()
    return set()


def _pick(outputs: Any, index: int) -> Any:
    """A call's output ``index``: of its list, or of its dict's values in sorted order of
    the keys (Keras' flat order); the output itself where there is one."""
    if isinstance(outputs, dict):
        return outputs[sorted(outputs)[index]]
    if isinstance(outputs, (list, tuple)):
        return outputs[index]
    shape = getattr(outputs, "shape", ())
    if len(shape) > 1 and isinstance(shape[1], tuple):  # one node of several outputs
        from .models import SelectOutput

        return SelectOutput(index)(outputs)
    return outputs


def _functional(config: dict[str, Any], device: str | None) -> Any:
    from .models import Model

    outputs: dict[tuple[str, int], Any] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node, index = value["config"]["keras_history"]
            return _pick(outputs[(name, node)], index)
        if isinstance(value, dict) and value.get("class_name") in _PYTHON_VALUES:
            return _PYTHON_VALUES[value["class_name"]](value.get("config") or {}, resolve)
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    calls: list[tuple[str, Any, int, dict[str, Any]]] = []  # each layer's calls, in order
    for entry in config["layers"]:
        name = entry["config"].get("name", entry.get("name"))
        if entry["class_name"] == "InputLayer":
            outputs[(name, 0)] = _input(entry["config"])
            continue
        if entry["class_name"] in TF_OP_LAYERS:  # Keras 2's tf calls
            from .keras_legacy import tf_operation

            layer = tf_operation(entry)
        else:
            layer = _operation(entry) if is_operation(entry) else _layer(entry, device)
        calls += [(name, layer, k, node) for k, node in enumerate(entry.get("inbound_nodes", []))]
    # A call can take a later layer's output (a tied embedding called again on the last
    # hidden states): calls wait, in order, until what they take is there, as in Keras.
    while calls:
        waiting, blocked = [], set()
        for name, layer, k, node in calls:
            if name in blocked or not all(key in outputs for key in _history(node)):
                waiting.append((name, layer, k, node))
                blocked.add(name)
                continue
            args = resolve(node.get("args", []))
            # A call's training=False stays where it was the call's own (a base model kept in
            # inference mode, as minicnn's graph that wrote it ran), not where Keras records
            # it for every call of the layer (its default: the model's own training wins,
            # as in Keras); minicnn's graph carries the masks itself (Keras' file computes
            # them as ops).
            own_false = not records_training_false(layer)
            kwargs = {
                key: value
                for key, value in resolve(node.get("kwargs", {})).items()
                if value is not None
                and key != "mask"
                and (key != "training" or (value is False and own_false))
            }
            outputs[(name, k)] = layer(*args, **kwargs)
        if len(waiting) == len(calls):
            missing = sorted({key for *_, node in waiting for key in _history(node)} - set(outputs))
            raise KeyError(f"calls take outputs no layer gives: {missing}")
        calls = waiting

    def ends(spec: Any) -> Any:
        if isinstance(spec, dict):  # a dict of inputs or outputs, by key
            return {key: ends(one) for key, one in spec.items()}
        if spec and isinstance(spec[0], str):  # one [name, node, index]: one tensor
            return ends([spec])[0]
        found = []
        for name, node, index in spec:
            found.append(_pick(outputs[(name, node)], index))
        return found

    # One tensor or a list, as Keras' config gives them (a list of one stays a list).
    inputs, outs = ends(config["input_layers"]), ends(config["output_layers"])
    return Model(inputs, outs, name=config.get("name"), device=device)


@functools.cache
def _ops_by_class() -> dict[tuple[str, str], str]:
    """minicnn's op of each Keras operation class, by (module, class): the op table read
    backwards, for the classes whose snake-case name is not the op's (CDist is cdist)."""
    from .keras_op_table import KERAS_OPS

    return {(module, cls): op for op, (module, cls, _) in KERAS_OPS.items()}


def _operation(entry: dict[str, Any]) -> Any:
    """A Keras op of the graph as the ``minicnn.ops`` function of its name, with the
    arguments its config holds (``Sum``'s axis, ...): called on symbolic tensors, it adds an
    OpCall layer."""
    from .symbolic_ops import ops_function

    module = (entry.get("module") or "").rsplit(".", 1)[-1]
    try:
        function = ops_function(
            _ops_by_class().get((module, entry["class_name"]), keras_snake(entry["class_name"]))
        )
    except ValueError:
        raise KerasFileError(
            f"minicnn has no op {entry['class_name']!r} ({entry['module']})."
        ) from None
    options = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}
    name = (entry.get("config") or {}).get("name", entry.get("name"))
    if entry["class_name"] == "Reshape" and "newshape" in options:  # NumPy's old name
        options["new_shape"] = options.pop("newshape")

    if entry["class_name"] == "GetItem":  # x[key], the key's tuple kept as a JSON list
        function = lambda x, key: x[tuple(key) if isinstance(key, list) else key]  # noqa: E731

    def call(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **options, **kwargs)
        return named_as_in_file(result, name, [args, kwargs]) if name else result

    return call


def named_as_in_file(result: Any, name: str, given: Any) -> Any:
    """The op's result, its layer named as the file names it (an op's own name, counted in
    this session, could be one the file gives another layer)."""
    from .layer_base import SymbolicTensor

    def tensors(value: Any) -> list[Any]:
        if isinstance(value, SymbolicTensor):
            return [value]
        if isinstance(value, (list, tuple)):
            return [t for v in value for t in tensors(v)]
        if isinstance(value, dict):
            return [t for v in value.values() for t in tensors(v)]
        return []

    before = {id(t.layer) for t in tensors(given)}
    for tensor in tensors(result):
        layer = tensor.layer
        if getattr(layer, "selects_output", False):  # one output of several
            layer = tensor.inputs[0].layer
        if id(layer) not in before:  # not an input handed through (tf.identity)
            layer.name = name
    return result


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
    if cls is None and entry.get("module") is None:  # minicnn's own (FeatureSpaceLayer)
        from .models import layer_class

        cls = layer_class(class_name)
    if cls is None:
        raise KerasFileError(f"minicnn has no layer {class_name!r} (Keras {entry.get('module')}).")
    config = {k: _value(v) for k, v in entry["config"].items()}
    for key in WRAPPED_KEYS:  # wrappers' layers
        if isinstance(config.get(key), dict) and "class_name" in config[key]:
            config[key] = _layer(config[key], device)
    if isinstance(config.get("cells"), list):  # StackedRNNCells' cells
        config["cells"] = [
            _layer(c, device) if isinstance(c, dict) and "class_name" in c else c
            for c in config["cells"]
        ]
    layer = _construct(cls, config, class_name)
    if "name" not in config and entry.get("name"):  # a user's get_config left it out
        layer.name = entry["name"]
    if entry.get("build_config"):  # Keras builds it on its own first, out of any model's scope
        layer._fix_parent_path()
        if own_hook(layer, "build_from_config"):  # the user's
            layer.build_from_config(entry["build_config"])
    if id(entry) in _VOCABULARIES:
        layer.load_keras_vocabulary(*_VOCABULARIES[id(entry)])
    return layer


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
    "oov_method": ("floormod",),  # how a lookup spreads OOV tokens over several indices
    "vocabulary_dtype": ("int64",),  # IntegerLookup's tokens, Python ints here
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
        elif key == "quantization_config" and _default_quantization(value):
            continue  # the scheme minicnn computes (the dtype policy names mode and blocks)
        else:
            raise KerasFileError(f"{owner}: minicnn does not take Keras' argument {key}={value!r}.")
    return kept


def _default_quantization(config: Any) -> bool:
    """Whether Keras' quantization config is a default one, which minicnn follows: int8's
    weights by their own abs-max, inputs by AbsMaxQuantizer to [-127, 127] with eps 1e-7;
    int4's weights only (per unit or in blocks, as the layer's dtype policy says)."""
    kinds = ("Int8QuantizationConfig", "Int4QuantizationConfig")
    if not isinstance(config, dict) or config.get("class_name") not in kinds:
        return False
    inner = config.get("config") or {}
    activation = inner.get("activation_quantizer")
    if inner.get("weight_quantizer") is not None:
        return False
    if activation is None:
        return True
    if config["class_name"] == "Int4QuantizationConfig":
        return False
    settings = activation.get("config") or {}
    return (
        activation.get("class_name") == "AbsMaxQuantizer"
        and list(settings.get("value_range", [-127, 127])) == [-127, 127]
        and float(settings.get("epsilon", 1e-7)) == 1e-7
        and settings.get("output_dtype", "int8") == "int8"
    )


# What Keras records in a layer's config but sets itself, from the rest (a lookup layer's
# vocabulary size follows from its vocabulary, given or kept as an asset).
_RECORDED = {"vocabulary_size"}


def _construct(cls: type, config: dict[str, Any], class_name: str) -> Any:
    config = {k: v for k, v in config.items() if k not in _RECORDED}
    return cls(**_accepted(cls, config, f"Keras layer {class_name} '{config.get('name')}'"))


def load_weights_group(
    model: Any, group: Any, where: str, config: dict[str, Any] | None = None
) -> None:
    """Every layer's weights from Keras' file (``group``: its root, or a nested model's;
    ``config``: Keras' config of the model, when the file came with one)."""
    if getattr(model, "_subclassed", False):  # its layers under their attributes' paths
        held = model._held_variables()  # and its own weights from its "vars"
        if held is not None:
            own = group.get("vars")
            count = len(own) if own is not None else 0
            _assign(held, [np.asarray(own[str(i)]) for i in range(count)], where)
        _load_sublayers(model, group, where)
        return
    layers_group = group.get("layers")
    layers = keras_layers(model, config)
    entries = {entry_name(e): e for e in (config or {}).get("layers", [])}
    for layer, path in zip(layers, group_paths(layers), strict=True):
        if getattr(layer, "is_model", False):
            inner = entries.get(layer.name, {}).get("config")
            load_weights_group(layer, layers_group[path], where, inner)
            continue
        if loads_itself(layer) and layers_group is not None and path in layers_group:
            _load_own_store(layers_group[path], layer, where)
            continue
        if not layer.weights:
            continue
        if layers_group is None or path not in layers_group:
            raise KerasFileError(f"{where}: no weights for layer '{layer.name}' ({path}).")
        arrays = _arrays(layers_group[path], type(layer).__name__, layer)
        _assign(layer, arrays, where)


def loads_itself(layer: Any) -> bool:
    """Whether the layer's class replaces Keras' ``load_own_variables``."""
    return own_hook(layer, "load_own_variables")


def _load_own_store(group: Any, layer: Any, where: str) -> None:
    """The layer's own ``load_own_variables`` given its "vars" group as the store (arrays
    by key, as Keras hands it), then its sublayers' weights from their paths."""
    own = group.get("vars")
    store = {key: np.asarray(own[key]) for key in own} if own is not None else {}
    try:
        layer.load_own_variables(store)
    except (KeyError, ValueError) as error:
        raise KerasFileError(
            f"{where}: layer '{layer.name}' could not load its variables: {error!r}"
        ) from None
    _load_sublayers(layer, group, where)


def _load_sublayers(owner: Any, group: Any, where: str) -> None:
    """The weights of the layers ``owner`` keeps as attributes, each from its path."""
    for sub, path in sublayer_paths(owner):
        if not sub.weights:
            continue
        if path not in group:
            raise KerasFileError(f"{where}: no weights for '{path}' ({sub.name}).")
        if getattr(sub, "is_model", False):
            load_weights_group(sub, group[path], where)
        else:
            _assign(sub, _arrays(group[path], type(sub).__name__, sub), where)


def asset_vocabularies(
    document: dict[str, Any], assets: dict[str, bytes], h5: Any
) -> dict[int, tuple[str, Any]]:
    """The vocabularies that Keras keeps as assets for the lookup layers it adapted
    (``assets/layers/string_lookup/vocabulary.txt``, at the path of the layer's weights),
    with their idf weights from the weight file (``h5``, or None), by the id of the
    layer's entry in ``document``."""
    found: dict[int, tuple[str, Any]] = {}

    def walk(model: dict[str, Any], inner: str) -> None:
        sequential = model["class_name"] == "Sequential"
        entries = [
            e
            for e in model["config"]["layers"]
            if not is_operation(e) and not (sequential and e["class_name"] == "InputLayer")
        ]
        for entry, path in zip(
            entries, numbered_paths([e["class_name"] for e in entries]), strict=False
        ):
            where = f"{inner}layers/{path}"
            if entry["class_name"] in MODELS:
                walk(entry, f"{where}/")
                continue
            text = assets.get(f"assets/{where}/vocabulary.txt")
            if text is not None and entry.get("module") == "keras.layers":  # (not a user's)
                idf = h5.get(f"{where}/vars/idf_weights") if h5 is not None else None
                found[id(entry)] = (text.decode("utf-8"), None if idf is None else np.asarray(idf))

    walk(document, "")
    return found


_VOCABULARIES: dict[int, tuple[str, Any]] = {}


@contextlib.contextmanager
def given_vocabularies(vocabularies: dict[int, tuple[str, Any]]) -> Iterator[None]:
    """While a model is built from Keras' config: the lookup layers' vocabularies (from
    ``asset_vocabularies``), which a layer takes as it is made, since its output shape
    may follow from it (multi_hot's width)."""
    _VOCABULARIES.update(vocabularies)
    try:
        yield
    finally:
        _VOCABULARIES.clear()


def _arrays(group: Any, class_name: str, layer: Any = None) -> list[np.ndarray]:
    """A layer's arrays in minicnn's order: its own variables, then its sublayers'
    (SpectralNormalization: the wrapped layer's, then its vector u; Keras also keeps a copy
    of the kernel among its own; an RNN's cell's, a StackedRNNCells' cells' by their
    names, in the stack's order)."""
    found = []
    if "vars" in group:
        found += [np.asarray(group["vars"][str(i)]) for i in range(len(group["vars"]))]
    inner = sublayer_paths(layer) if layer is not None else []
    if inner:  # a user's layer: each sublayer's arrays under its attribute's path
        for sub, path in inner:
            if path not in group:
                raise KerasFileError(f"no weights for '{layer.name}/{path}' ({sub.name}).")
            if getattr(sub, "is_model", False):
                found += _model_arrays(sub, group[path])
            else:
                found += _arrays(group[path], type(sub).__name__, sub)
        return found
    if class_name == "SpectralNormalization":
        return _arrays(group["layer"], "") + found[1:]
    if class_name == "RNN" and "cell" in group:
        cell = group["cell"]
        if "cells" not in cell:
            return found + _arrays(cell, "")
        # Keras names each cell's group by its class, numbered (gru_cell, gru_cell_1, ...)
        names = group_paths(layer.cell.cells) if layer is not None else sorted(cell["cells"])
        return found + [a for name in names for a in _arrays(cell["cells"][name], "")]
    if class_name == "Bidirectional" and layer is not None:  # each direction as read alone
        for name in ("forward_layer", "backward_layer"):
            side = getattr(layer, name)
            found += _arrays(group[name], type(side).__name__, side)
        return found
    for sub in SUBLAYERS.get(class_name, ()):
        if sub in group:
            inner = group[sub]
            sub_class = inner.attrs.get("class_name", "")
            found += _arrays(inner, sub_class if isinstance(sub_class, str) else "")
            if "cell" in inner:  # a recurrent layer inside a wrapper
                found += _arrays(inner["cell"], "")
    return found


def _model_arrays(model: Any, group: Any) -> list[np.ndarray]:
    """A nested model's arrays in the order of its weights, from its group."""
    layers_group = group.get("layers")
    found = []
    layers = keras_layers(model)
    for layer, path in zip(layers, group_paths(layers), strict=True):
        if layer.weights and layers_group is not None and path in layers_group:
            if getattr(layer, "is_model", False):
                found += _model_arrays(layer, layers_group[path])
            else:
                found += _arrays(layers_group[path], type(layer).__name__, layer)
    return found


def _assign(layer: Any, arrays: list[np.ndarray], where: str) -> None:
    weights = layer.weights
    if getattr(layer, "lora_enabled", False) and len(arrays) == len(weights) - 2:
        # Keras keeps a LoRA layer's kernel merged (W + scale A B) and starts A and B at
        # zeros when it loads; so does minicnn.
        zeros = [np.zeros(w.shape, np.float32) for w in weights[-2:]]
        arrays = [*arrays, *zeros]
    shapes = [tuple(w.shape) for w in weights]
    given = [tuple(a.shape) for a in arrays]
    if shapes != given:
        raise KerasFileError(
            f"{where}: layer '{layer.name}' has weights of shapes {shapes}; Keras' file gives "
            f"{given}."
        )
    layer.set_weights(arrays)


def compile_as_saved(model: Any, config: dict[str, Any], path: Path) -> None:
    """Keras' compile config, where minicnn has its optimizer, loss and metrics; else the
    model stays uncompiled, with a warning (as Keras warns)."""
    from .models import Model
    from .serialization import deserialize_compile_argument as given

    if type(model).compile_from_config is not Model.compile_from_config:
        model.compile_from_config(config)  # the model's own reads its own get_compile_config's
        return
    try:
        model.compile(
            optimizer=_optimizer(config.get("optimizer")),
            loss=given(config.get("loss")),
            metrics=given(config.get("metrics")),
            loss_weights=given(config.get("loss_weights")),
            weighted_metrics=given(config.get("weighted_metrics")),
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
    if cls is optimizers.LossScaleOptimizer:  # its optimizer is an entry of its own
        wrapped = _optimizer(inner.pop("inner_optimizer"))
        return cls(wrapped, **_accepted(cls, inner, "Keras"))
    if cls is optimizers.MultiOptimizer:  # its optimizers are entries of their own
        mapping = inner["optimizer_map"]["config"]
        return cls(
            optimizers.OptimizerMap(
                _optimizer(mapping["default_optimizer"]),
                {k: _optimizer(v) for k, v in mapping["optimizer_map"].items()},
            ),
            **_accepted(cls, {k: v for k, v in inner.items() if k != "optimizer_map"}, "Keras"),
        )
    inner.pop("name", None)  # Keras names its variables by it; minicnn's need no name
    return cls(**_accepted(cls, inner, f"Keras optimizer {entry['class_name']}"))


def restore_optimizer(model: Any, group: Any, keras_order: list[Any], path: Path) -> None:
    """The optimizer's state from Keras' file, so that training goes on as in Keras; an
    optimizer whose layout minicnn does not follow starts afresh, with a warning."""
    optimizer, params = model.optimizer, model.trainable_weights
    optimizer.build(params)
    entries = keras_state_entries(optimizer, keras_order)
    arrays = [np.asarray(group[str(i)]) for i in range(len(group))]
    if entries is None or len(arrays) != len(entries):
        warnings.warn(
            f"{path}: the {type(optimizer).__name__} optimizer's saved state is not read "
            "(its layout is Keras' own); training starts it afresh.",
            stacklevel=4,
        )
        return
    for entry, value in zip(entries, arrays, strict=True):
        if entry.kind == "iterations":
            entry.owner.steps_applied = int(value)  # (Nadam's product follows from it)
        elif entry.kind == "step_counter":
            entry.owner.step_counter = int(value)
        elif entry.kind == "dynamic_scale":
            entry.owner.dynamic_scale = float(value)
        elif entry.kind == "slot" and entry.slot is not None:  # (None: Keras 3's placeholder)
            slots, name = entry.slots, entry.slot
            if value.shape != slots[name].shape:
                raise KerasFileError(
                    f"{path}: optimizer state of shape {value.shape} for a weight of "
                    f"shape {slots[name].shape}."
                )
            slots[name][...] = backend.to_device(value, backend.device_of(slots[name]))
