"""minicnn's layers of ops on symbolic tensors (``OpCall``, ``TensorArithmetic`` for
``x * 2``, ``GetItem`` for ``x[:, 1:]``) in Keras' files. ``op_arguments`` gives any of
them as one op of ``minicnn.ops`` with its arguments by parameter name, the layer's inputs
among them as ``{"__input__": i}``; ``keras_op_entry`` writes that as Keras 3's operation (its
class in ``keras.src.ops``, the call's arguments in the node, the others in its config), as
Keras 3 saves ``keras.ops`` on KerasTensors. The writers of the functional config put the
layer's tensors in place of the ``{"__input__": i}`` of the entry's ``CALL``."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .keras_files import KerasFileError

INPUT = "__input__"
# Keras' op classes whose call takes, after the tensor, arguments that minicnn's op has
# after the class's own (ops.pad(x, pad_width, mode, constant_values): Pad(pad_width, mode)
# called on x, constant_values=...): module, class, and those arguments.
CALL_KEYWORDS = {"pad": ("numpy", "Pad", ("constant_values",))}
CALL = "__call__"  # an op layer's entry's call: {"args", "kwargs"}, the inputs as above


def op_arguments(layer: Any, defaults: bool = True) -> tuple[str, dict[str, Any]]:
    """The layer's op (its name in ``minicnn.ops``) and arguments by parameter name, with
    the op's defaults filled in unless ``defaults`` is False."""
    from .symbolic_ops import ops_function

    kind = type(layer).__name__
    if kind == "GetItem":
        return "get_item", {"x": {INPUT: 0}, "key": layer.key}
    if kind == "TensorArithmetic":
        op = {"absolute": "abs"}.get(layer.operation, layer.operation)
        operands: list[Any] = [{INPUT: i} for i in range(len(layer.sample_input_shape))]
        if layer.constant is not None:
            constant = layer.constant
            operands = [constant, *operands] if layer.constant_first else [*operands, constant]
        arguments, keywords = operands, {}
    else:
        op = layer.function
        if not layer.serializable:
            raise KerasFileError(
                f"layer '{layer.name}' calls a Python function, which Keras' files cannot hold."
            )
        inputs = [
            {INPUT: i} for i in range(len(layer.sample_input_shape))
        ]  # the inputs stay marked
        arguments = layer.decoded(layer.arguments, inputs, layer.constants)
        keywords = layer.decoded(layer.keywords, inputs, layer.constants)
    bound = inspect.signature(ops_function(op)).bind(*arguments, **keywords)
    if defaults:
        bound.apply_defaults()
    return op, dict(bound.arguments)


def keras_op_entry(layer: Any) -> dict[str, Any]:
    """Keras 3's entry for the layer's op: its operation class with the arguments that are
    not the call's in its config."""
    from .keras_op_table import KERAS_OPS, RENAMED

    op, bound = op_arguments(layer)
    if op in CALL_KEYWORDS:
        module, class_name, keywords = CALL_KEYWORDS[op]
        if bound.get("mode", "constant") != "constant" or not bound.get("constant_values"):
            bound.pop("constant_values", None)  # Keras takes it for a constant other than 0
        values = list(bound.items())
        config = {k: keras_value(v) for k, v in values[1:] if k not in keywords}
        return {
            "module": f"keras.src.ops.{module}",
            "class_name": class_name,
            "config": {"name": layer.name, **config},
            "registered_name": class_name,
            CALL: {
                "args": [keras_value(values[0][1])],
                "kwargs": {k: keras_value(v) for k, v in values[1:] if k in keywords},
            },
        }
    if op not in KERAS_OPS:
        raise KerasFileError(
            f"layer '{layer.name}' ({type(layer).__name__} {op!r}) has no operation in Keras "
            "3 that minicnn writes."
        )
    module, class_name, count = KERAS_OPS[op]
    renamed = RENAMED.get(op, {})
    values = list(bound.values())
    config = {renamed.get(k, k): keras_value(v) for k, v in list(bound.items())[count:]}
    return {
        "module": f"keras.src.ops.{module}",
        "class_name": class_name,
        "config": {"name": layer.name, **config},
        "registered_name": class_name,
        CALL: {"args": [keras_value(v) for v in values[:count]], "kwargs": {}},
    }


def keras_value(value: Any) -> Any:
    """A Python value as Keras' JSON holds it: slices, an ellipsis and arrays as its
    serialized objects, tuples as lists; the inputs' placeholders as they are."""
    if isinstance(value, slice):
        config = {"start": value.start, "stop": value.stop, "step": value.step}
        return {"class_name": "__slice__", "config": config}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": value.tolist(), "dtype": str(value.dtype)},
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [keras_value(v) for v in value]
    return value


def placed(value: Any, tensors: list[Any]) -> Any:
    """``value`` with each ``{"__input__": i}`` replaced by ``tensors[i]``."""
    if isinstance(value, dict) and set(value) == {INPUT}:
        return tensors[value[INPUT]]
    if isinstance(value, list):
        return [placed(v, tensors) for v in value]
    if isinstance(value, dict):
        return {k: placed(v, tensors) for k, v in value.items()}
    return value
