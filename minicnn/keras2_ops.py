"""Keras 2's TensorFlow calls in a functional model: ``x + y``, ``tf.concat``, ``x[:, 1:]``
on KerasTensors became ``TFOpLambda`` and ``SlicingOpLambda`` layers, saved as the name of
TensorFlow's function (``"math.multiply"``) and its arguments. Each name here is the same
computation in ``minicnn.ops`` (on symbolic tensors, an ``OpCall`` layer), with TensorFlow's
argument names; a function minicnn has not got is refused by its name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ops


def _unary(name: str) -> Callable[..., Any]:
    function = getattr(ops, name)
    return lambda x: function(x)


def _binary(name: str) -> Callable[..., Any]:
    function = getattr(ops, name)
    return lambda x, y: function(x, y)


def _reduction(name: str) -> Callable[..., Any]:
    function = getattr(ops, name)

    def reduce(input_tensor: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return function(input_tensor, axis=axis, keepdims=keepdims)

    return reduce


def _matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Any:
    a = ops.swapaxes(a, -1, -2) if transpose_a else a
    b = ops.swapaxes(b, -1, -2) if transpose_b else b
    return ops.matmul(a, b)


def _split(value: Any, num_or_size_splits: Any, axis: int = 0) -> Any:
    if isinstance(num_or_size_splits, int):
        return ops.split(value, num_or_size_splits, axis=axis)
    ends, total = [], 0
    for size in num_or_size_splits[:-1]:
        total += size
        ends.append(total)
    return ops.split(value, ends, axis=axis)


def _l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12) -> Any:
    """TensorFlow's x / sqrt(max(sum(x^2), epsilon))."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squares, epsilon))


def _squeeze(input: Any, axis: Any = None, squeeze_dims: Any = None) -> Any:  # noqa: A002
    return ops.squeeze(input, axis=axis if axis is not None else squeeze_dims)


def _transpose(a: Any, perm: Any = None, conjugate: bool = False) -> Any:
    if conjugate:
        raise ValueError("tf.transpose with conjugate=True (complex numbers)")
    return ops.transpose(a, perm)


def _silu(features: Any, beta: float = 1.0) -> Any:
    return features * ops.sigmoid(features * beta) if beta != 1.0 else ops.silu(features)


TF_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{f"math.{n}": _unary(n) for n in ("abs", "sqrt", "square", "exp", "log", "negative")},
    **{f"math.{n}": _unary(n) for n in ("rsqrt", "reciprocal", "sign", "floor", "ceil")},
    **{f"math.{n}": _unary(n) for n in ("round", "log1p", "sigmoid", "tanh", "softplus")},
    **{f"nn.{n}": _unary(n) for n in ("relu", "relu6", "elu")},
    "__operators__.add": _binary("add"),
    **{f"math.{n}": _binary(n) for n in ("add", "subtract", "multiply", "maximum", "minimum")},
    **{f"math.{n}": _binary(n) for n in ("greater", "greater_equal", "less", "less_equal")},
    **{f"math.{n}": _binary(n) for n in ("equal", "not_equal")},
    "math.truediv": _binary("divide"),
    "compat.v1.floor_div": _binary("floor_divide"),
    "math.pow": _binary("power"),
    "math.squared_difference": lambda x, y: ops.square(ops.subtract(x, y)),
    "math.add_n": lambda inputs: sum(inputs[1:], inputs[0]),
    **{
        f"math.reduce_{n}": _reduction(m)
        for n, m in [("mean", "mean"), ("sum", "sum"), ("max", "max"), ("min", "min")]
    },
    "math.reduce_prod": _reduction("prod"),
    "math.reduce_std": _reduction("std"),
    "math.reduce_variance": _reduction("var"),
    "math.reduce_logsumexp": _reduction("logsumexp"),
    "math.argmax": lambda input, axis=None: ops.argmax(input, axis=axis),  # noqa: A006
    "math.argmin": lambda input, axis=None: ops.argmin(input, axis=axis),  # noqa: A006
    "nn.softmax": lambda logits, axis=None: ops.softmax(logits, axis=-1 if axis is None else axis),
    "nn.log_softmax": lambda logits, axis=None: ops.log_softmax(
        logits, axis=-1 if axis is None else axis
    ),
    "nn.leaky_relu": lambda features, alpha=0.2: ops.leaky_relu(features, negative_slope=alpha),
    "nn.gelu": lambda features, approximate=False: ops.gelu(features, approximate=approximate),
    "nn.silu": _silu,
    "math.l2_normalize": _l2_normalize,
    "concat": lambda values, axis: ops.concatenate(values, axis=axis),
    "stack": lambda values, axis=0: ops.stack(values, axis=axis),
    "reshape": lambda tensor, shape: ops.reshape(tensor, shape),
    "expand_dims": lambda input, axis: ops.expand_dims(input, axis),  # noqa: A006
    "compat.v1.squeeze": _squeeze,
    "compat.v1.transpose": _transpose,
    "linalg.matmul": _matmul,
    "clip_by_value": lambda t, clip_value_min, clip_value_max: ops.clip(
        t, clip_value_min, clip_value_max
    ),
    "cast": lambda x, dtype: ops.cast(x, dtype),
    "split": _split,
    "tile": lambda input, multiples: ops.tile(input, multiples),  # noqa: A006
    "where": lambda condition, x=None, y=None: ops.where(condition, x, y),
    "identity": lambda input: input,  # noqa: A006
    "ones_like": lambda input, dtype=None: ops.ones_like(input, dtype=dtype),  # noqa: A006
    "zeros_like": lambda input, dtype=None: ops.zeros_like(input, dtype=dtype),  # noqa: A006
}


def tf_function(name: str) -> Callable[..., Any]:
    """The computation of TensorFlow's function ``tf.<name>``, or a ValueError naming it."""
    if name not in TF_FUNCTIONS:
        raise ValueError(f"minicnn has no counterpart of TensorFlow's tf.{name}")
    return TF_FUNCTIONS[name]


def slice_of(slice_spec: list[Any]) -> tuple[Any, ...]:
    """Keras 2's ``slice_spec`` (one entry per axis: a number, {"start", "stop", "step"},
    None for a new axis, an ellipsis) as a Python index."""
    index: list[Any] = []
    for part in slice_spec:
        if isinstance(part, dict) and part.get("class_name") == "__ellipsis__":
            index.append(Ellipsis)
        elif isinstance(part, dict):
            index.append(slice(part.get("start"), part.get("stop"), part.get("step")))
        elif part == "...":
            index.append(Ellipsis)
        else:
            index.append(part)
    return tuple(index)
