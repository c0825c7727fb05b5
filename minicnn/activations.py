"""Keras' activations: functions on Tensors with Keras' names and arguments
(``activations.relu(x, max_value=6.0)``), and ``get``/``serialize``/``deserialize``, by which
layers take an activation by name or as a function (a user's, found again by name on
loading when registered or given in ``custom_objects``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import partial
from typing import Any

from . import activation_ops as A
from . import backend, registry
from . import functions as F
from .autograd import Tensor

Activation = Callable[[Tensor], Tensor]


def _ops() -> Any:
    from . import ops

    return ops


def linear(x: Any) -> Any:
    return x


def relu(
    x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Tensor:
    """Keras' relu: x from ``threshold`` up to ``max_value``, ``negative_slope * (x -
    threshold)`` below the threshold."""
    if negative_slope == 0 and max_value is None and threshold == 0:
        return F.relu(x)
    return A.relu(x, negative_slope, max_value, threshold)


def sigmoid(x: Any) -> Tensor:
    return F.sigmoid(x)


def tanh(x: Any) -> Tensor:
    return F.tanh(x)


def softmax(x: Any, axis: int = -1) -> Tensor:
    return F.softmax(x) if axis in (-1, x.ndim - 1) else _ops().softmax(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    return _ops().log_softmax(x, axis=axis)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    return A.elu(x, alpha)


def selu(x: Any) -> Tensor:
    return A.selu(x)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """x Phi(x); ``approximate``: Keras' tanh form."""
    if not approximate:
        return A.gelu(x)
    ops = _ops()
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * ops.power(x, 3))
    return 0.5 * x * (1.0 + ops.tanh(inner))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    return A.leaky_relu(x, negative_slope)


def relu6(x: Any) -> Tensor:
    return A.relu6(x)


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    """max(x, 0) + min(0, alpha (exp(x / alpha) - 1))."""
    ops = _ops()
    ops.real_only("celu", x)
    return ops.maximum(x, 0.0) + ops.minimum(0.0, alpha * (ops.exp(x / alpha) - 1.0))


def glu(x: Any, axis: int = -1) -> Tensor:
    """The first half of ``axis`` gated by the sigmoid of the second."""
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: axis {axis} must have an even size, got {size}.")
    ops = _ops()
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, size // 2)
    first = x[tuple(index)]
    index[axis] = slice(size // 2, None)
    return first * ops.sigmoid(x[tuple(index)])


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    ops = _ops()
    return ops.where(ops.abs(x).data > threshold, x, 0.0)


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    ops = _ops()
    data = ops.convert_to_tensor(x).data
    return ops.where(
        data > threshold, x - threshold, ops.where(data < -threshold, x + threshold, 0.0)
    )


def hard_tanh(x: Any) -> Tensor:
    return _ops().clip(x, -1, 1)  # ints stay ints, as Keras


def log_sigmoid(x: Any) -> Tensor:
    _ops().real_only("log_sigmoid", x)
    return -A.elementwise("softplus", -_ops().convert_to_tensor(x))


def sparse_plus(x: Any) -> Tensor:
    """0 below -1, x above 1, (x + 1)^2 / 4 between."""
    ops = _ops()
    data = ops.convert_to_tensor(x).data
    return ops.where(data <= -1, 0.0, ops.where(data >= 1, x, ops.square(x + 1.0) * 0.25))


def squareplus(x: Any, b: float = 4.0) -> Tensor:
    ops = _ops()
    return (x + ops.sqrt(ops.square(x) + b)) * 0.5


def tanh_shrink(x: Any) -> Tensor:
    return x - _ops().tanh(x)


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:  # noqa: A002
    """x where x > threshold, else ``default_value``."""
    ops = _ops()
    return ops.where(ops.convert_to_tensor(x).data > threshold, x, float(default_value))


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """The Euclidean projection of x onto the simplex along ``axis`` (Martins and Astudillo):
    max(x - tau, 0), tau making the outputs sum to 1; sparse where softmax is dense. Its
    gradient is the projection's, on the support."""
    ops = _ops()
    x = ops.convert_to_tensor(x)
    xp = backend.get_array_module(x.data)
    values = xp.moveaxis(x.data, axis, -1)
    ordered = -xp.sort(-values, axis=-1)
    ranks = xp.arange(1, values.shape[-1] + 1, dtype=values.dtype)
    cumulative = xp.cumsum(ordered, axis=-1)
    kept = (1 + ranks * ordered > cumulative).sum(axis=-1, keepdims=True)
    cutoff = xp.take_along_axis(ordered, kept - 1, axis=-1)
    support = xp.moveaxis(values >= cutoff, -1, axis)  # the entries that stay positive
    count = support.sum(axis=axis, keepdims=True).astype(values.dtype)
    tau = (ops.sum(ops.where(support, x, 0.0), axis=axis, keepdims=True) - 1.0) / count
    return ops.maximum(x - tau, 0.0)


_BY_NAME: dict[str, Activation] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "tanh": tanh,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
    "relu6": relu6,
    "celu": celu,
    "glu": glu,
    "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink,
    "hard_tanh": hard_tanh,
    "log_sigmoid": log_sigmoid,
    "sparse_plus": sparse_plus,
    "squareplus": squareplus,
    "tanh_shrink": tanh_shrink,
    "sparsemax": sparsemax,
    **{name: partial(A.elementwise, name) for name in A.ELEMENTWISE},
}


def _is_symbolic(x: Any) -> bool:
    from .layer_base import SymbolicTensor

    return isinstance(x, SymbolicTensor)


def _symbolic_through_ops(function: Activation, name: str) -> Activation:
    """An activation that, on a functional model's symbolic tensor, is the ``minicnn.ops``
    function of its name (a layer of the graph, as Keras' activations call its ops)."""

    @functools.wraps(function)
    def activation(x: Any, *args: Any, **kwargs: Any) -> Any:
        # A Tensor goes straight on; only something else may be symbolic (layer_base,
        # which imports this module, is looked at then).
        if not isinstance(x, Tensor) and _is_symbolic(x):
            op = getattr(_ops(), name, None)
            if op is None:
                raise TypeError(f"activations.{name} takes Tensors, not a symbolic tensor.")
            return op(x, *args, **kwargs)
        return function(x, *args, **kwargs)

    return activation


_BY_NAME = {
    name: function if name == "linear" else _symbolic_through_ops(function, name)
    for name, function in _BY_NAME.items()
}
_BY_NAME["swish"] = _BY_NAME["silu"]  # Keras' other names
_BY_NAME["hard_swish"] = _BY_NAME["hard_silu"]
for _name, _function in list(_BY_NAME.items()):  # the module's names: the wrapped ones
    globals()[_name] = _function
_NAME_OF = {id(fn): name for name, fn in reversed(list(_BY_NAME.items()))}


def get(identifier: Any) -> Activation:
    """Keras' activations.get: None (linear), a name (Keras' or a registered or custom
    one's), or a function, which is taken as it is."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") == "function":
        identifier = identifier.get("config")  # Keras' entry of a function: by its name
    if isinstance(identifier, str):
        found = _BY_NAME.get(identifier) or registry.get_registered_object(identifier)
        if found is not None:
            return found
    raise ValueError(
        f"Unknown activation {identifier!r}; known: {', '.join(sorted(_BY_NAME))}, None, a "
        "function, or a custom one's name (register_keras_serializable or custom_objects)."
    )


def serialize(activation: Any) -> Any:
    """What a config records, as Keras' ``activations.serialize``: Keras' name for its own
    activations, Keras' entry of a function for a user's (its registered name, or
    ``__name__``, in it)."""
    return config_entry(activation if isinstance(activation, str) else _name(activation))


def config_entry(name: str | None) -> Any:
    """A layer's config entry for the activation of this name (see ``serialize``)."""
    if name is None or name in _BY_NAME:
        return name
    return {
        "module": "builtins",
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def _name(activation: Any) -> str | None:
    if activation is None or isinstance(activation, str):
        return activation
    return _NAME_OF.get(id(activation)) or registry.registered_name(activation)


def deserialize(name: Any) -> Activation:
    return get(name)


def resolve(identifier: Any) -> tuple[Activation, str | None]:
    """A layer's activation argument as (the function, its name; None stays None): a config
    records ``config_entry(name)``."""
    function = get(identifier)
    return function, None if identifier is None else _name(function)
