"""Keras 2's TensorFlow calls in a functional model: ``x + y``, ``tf.concat``, ``x[:, 1:]``
on KerasTensors became ``TFOpLambda`` and ``SlicingOpLambda`` layers, saved as the name of
TensorFlow's function (``"math.multiply"``) and its arguments. ``TF_OPS`` pairs each name
with the same computation in ``minicnn.ops`` and their parameters, which serves both ways:
reading Keras 2's files (an ``OpCall`` layer for each call) and writing them (``tf_call``).
A few functions that are several ops here are read only (``_COMPOSITE``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ops

Parameters = tuple[tuple[str, str], ...]  # (TensorFlow's name, minicnn.ops' name), in order

_X: Parameters = (("x", "x"),)
_XY: Parameters = (("x", "x"), ("y", "y"))
_REDUCE: Parameters = (("input_tensor", "x"), ("axis", "axis"), ("keepdims", "keepdims"))
_FEATURES: Parameters = (("features", "x"),)

# TensorFlow's function (its canonical name, as Keras 2 saved it): minicnn's op and the
# parameters of both, the first being the call's first argument. Where two names give one
# op, the first is the one written.
TF_OPS: dict[str, tuple[str, Parameters]] = {
    **{
        f"math.{name}": (name, _XY)
        for name in ("add", "subtract", "multiply", "maximum", "minimum", "greater")
    },
    **{f"math.{name}": (name, _XY) for name in ("greater_equal", "less", "less_equal")},
    **{f"math.{name}": (name, _XY) for name in ("equal", "not_equal")},
    "__operators__.add": ("add", _XY),
    "math.truediv": ("divide", _XY),
    "compat.v1.floor_div": ("floor_divide", (("x", "x1"), ("y", "x2"))),
    "math.pow": ("power", (("x", "x"), ("y", "exponent"))),
    **{
        f"math.{name}": (op, _X)
        for name, op in [
            ("abs", "abs"),
            ("sqrt", "sqrt"),
            ("square", "square"),
            ("exp", "exp"),
            ("log", "log"),
            ("negative", "negative"),
            ("rsqrt", "rsqrt"),
            ("reciprocal", "reciprocal"),
            ("sign", "sign"),
            ("floor", "floor"),
            ("ceil", "ceil"),
            ("round", "round"),
            ("log1p", "log1p"),
            ("sigmoid", "sigmoid"),
            ("tanh", "tanh"),
            ("softplus", "softplus"),
            ("erf", "erf"),
            ("erfc", "erfc"),
            ("erfinv", "erfinv"),
        ]
    },
    **{f"nn.{name}": (name, _FEATURES) for name in ("relu", "relu6", "elu", "silu")},
    **{
        f"math.reduce_{name}": (op, _REDUCE)
        for name, op in [
            ("mean", "mean"),
            ("sum", "sum"),
            ("max", "max"),
            ("min", "min"),
            ("prod", "prod"),
            ("std", "std"),
            ("variance", "var"),
            ("logsumexp", "logsumexp"),
        ]
    },
    "math.argmax": ("argmax", (("input", "x"), ("axis", "axis"))),
    "math.argmin": ("argmin", (("input", "x"), ("axis", "axis"))),
    "nn.softmax": ("softmax", (("logits", "x"), ("axis", "axis"))),
    "nn.log_softmax": ("log_softmax", (("logits", "x"), ("axis", "axis"))),
    "nn.leaky_relu": ("leaky_relu", (("features", "x"), ("alpha", "negative_slope"))),
    "nn.gelu": ("gelu", (("features", "x"), ("approximate", "approximate"))),
    "concat": ("concatenate", (("values", "xs"), ("axis", "axis"))),
    "stack": ("stack", (("values", "xs"), ("axis", "axis"))),
    "reshape": ("reshape", (("tensor", "x"), ("shape", "new_shape"))),
    "expand_dims": ("expand_dims", (("input", "x"), ("axis", "axis"))),
    "compat.v1.squeeze": ("squeeze", (("input", "x"), ("axis", "axis"))),
    "compat.v1.transpose": ("transpose", (("a", "x"), ("perm", "axes"))),
    "linalg.matmul": ("matmul", (("a", "x"), ("b", "y"))),
    "clip_by_value": (
        "clip",
        (("t", "x"), ("clip_value_min", "x_min"), ("clip_value_max", "x_max")),
    ),
    "cast": ("cast", (("x", "x"), ("dtype", "dtype"))),
    "split": (
        "split",
        (("value", "x"), ("num_or_size_splits", "indices_or_sections"), ("axis", "axis")),
    ),
    "tile": ("tile", (("input", "x"), ("multiples", "repeats"))),
    "compat.v1.gather": ("take", (("params", "x"), ("indices", "indices"), ("axis", "axis"))),
    "compat.v1.pad": (
        "pad",
        (
            ("tensor", "x"),
            ("paddings", "pad_width"),
            ("mode", "mode"),
            ("constant_values", "constant_values"),
        ),
    ),
    "math.logical_not": ("logical_not", _X),
    "stop_gradient": ("stop_gradient", (("input", "x"),)),
    **{
        f"math.logical_{name}": (f"logical_{name}", (("x", "x1"), ("y", "x2")))
        for name in ("and", "or", "xor")
    },
    "where": ("where", (("condition", "condition"), ("x", "x"), ("y", "y"))),
    "ones_like": ("ones_like", (("input", "x"), ("dtype", "dtype"))),
    "zeros_like": ("zeros_like", (("input", "x"), ("dtype", "dtype"))),
}

# TensorFlow's defaults that differ from minicnn's (None given or left out means them).
_TF_DEFAULTS = {
    "math.argmax": {"axis": 0},
    "math.argmin": {"axis": 0},
    "nn.softmax": {"axis": -1},
    "nn.log_softmax": {"axis": -1},
    "split": {"axis": 0},
    "compat.v1.gather": {"axis": 0},
    "nn.gelu": {"approximate": False},  # keras.ops.gelu's default is the tanh form
}
# TensorFlow's arguments that change nothing at these values, and other names of some.
_IGNORED = {
    "compat.v1.transpose": {"conjugate": (False,)},
    "compat.v1.gather": {"validate_indices": (None, True, False), "batch_dims": (0,)},
}
_ALIASES = {"compat.v1.squeeze": {"squeeze_dims": "axis"}}


def _split(value: Any, num_or_size_splits: Any, axis: int = 0) -> Any:
    """TensorFlow's split takes a number of parts or their sizes; NumPy's, where to cut."""
    if isinstance(num_or_size_splits, int):
        return ops.split(value, num_or_size_splits, axis=axis)
    cuts, total = [], 0
    for size in num_or_size_splits[:-1]:
        total += size
        cuts.append(total)
    return ops.split(value, cuts, axis=axis)


def _matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Any:
    a = ops.swapaxes(a, -1, -2) if transpose_a else a
    b = ops.swapaxes(b, -1, -2) if transpose_b else b
    return ops.matmul(a, b)


def _pad(
    tensor: Any,
    paddings: Any,
    mode: str = "CONSTANT",
    constant_values: Any = 0,
) -> Any:
    """TensorFlow's modes in capitals (case aside, they are NumPy's)."""
    return ops.pad(tensor, paddings, mode=mode.lower(), constant_values=constant_values)


def _l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12) -> Any:
    """TensorFlow's x / sqrt(max(sum(x^2), epsilon))."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squares, epsilon))


def _silu(features: Any, beta: float = 1.0) -> Any:
    return ops.silu(features) if beta == 1.0 else features * ops.sigmoid(features * beta)


# Read only: TensorFlow's functions that are several of minicnn's ops, or take arguments
# that are ops of their own here.
_COMPOSITE: dict[str, Callable[..., Any]] = {
    "split": _split,
    "compat.v1.pad": _pad,
    "linalg.matmul": _matmul,
    "nn.silu": _silu,
    "math.l2_normalize": _l2_normalize,
    "math.squared_difference": lambda x, y: ops.square(ops.subtract(x, y)),
    "math.add_n": lambda inputs: sum(inputs[1:], inputs[0]),
    "identity": lambda input: input,  # noqa: A006 - TensorFlow's name
}


def tf_function(name: str) -> Callable[..., Any]:
    """The computation of TensorFlow's ``tf.<name>``, called as Keras 2 called it (the first
    argument, the others by TensorFlow's names), or a ValueError naming it."""
    if name in _COMPOSITE:
        return _COMPOSITE[name]
    if name not in TF_OPS:
        raise ValueError(f"minicnn has no counterpart of TensorFlow's tf.{name}")
    op, parameters = TF_OPS[name]
    function = getattr(ops, op)
    names = dict(parameters)

    def call(first: Any, **kwargs: Any) -> Any:
        for alias, real in _ALIASES.get(name, {}).items():
            if alias in kwargs:
                kwargs[real] = kwargs.pop(alias)
        for key, harmless in _IGNORED.get(name, {}).items():
            if kwargs.get(key) in harmless:
                kwargs.pop(key, None)
        for key, default in _TF_DEFAULTS.get(name, {}).items():
            if kwargs.get(key) is None:
                kwargs[key] = default
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"tf.{name} has no argument {', '.join(sorted(unknown))} here")
        given = {names[key]: value for key, value in kwargs.items()}
        return function(first, **given)

    return call


_WRITTEN: dict[str, tuple[str, Parameters]] = {}
for _name, (_op, _parameters) in TF_OPS.items():
    _WRITTEN.setdefault(_op, (_name, _parameters))


def tf_call(op: str, bound: dict[str, Any]) -> tuple[str, Any, dict[str, Any]] | None:
    """minicnn's op with its arguments by ops' names as TensorFlow's call: (its function's
    name, the first argument, the others by TensorFlow's names); None where TensorFlow has
    no such function here."""
    if op not in _WRITTEN:
        return None
    name, parameters = _WRITTEN[op]
    first_op = parameters[0][1]
    if first_op not in bound or set(bound) - {o for _, o in parameters}:
        return None
    kwargs = {tf: bound[o] for tf, o in parameters[1:] if o in bound}
    return name, bound[first_op], kwargs


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


def slice_spec_of(key: Any) -> list[Any]:
    """A Python index as Keras 2's ``slice_spec``."""
    parts = key if isinstance(key, tuple) else (key,)
    spec: list[Any] = []
    for part in parts:
        if isinstance(part, slice):
            spec.append({"start": part.start, "stop": part.stop, "step": part.step})
        elif part is Ellipsis:
            spec.append({"class_name": "__ellipsis__"})
        else:
            spec.append(part)
    return spec
