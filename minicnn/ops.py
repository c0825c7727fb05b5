"""Keras' ``keras.ops`` for minicnn Tensors: the differentiable operations a custom loss,
metric, ``Lambda`` layer or subclassed model's ``call`` is written with (elementwise math,
reductions, softmax, clipping, choosing), on NumPy or CuPy arrays alike. Every function takes
Tensors or arrays and returns a Tensor; gradients flow through all but the comparisons,
``argmax``, ``one_hot`` and ``stop_gradient``."""

from __future__ import annotations

import builtins  # ops.any, all, sum, max and min are Keras'; these are Python's
import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import array_ops as A
from . import backend
from . import functions as F
from . import tensor_ops as T
from .activation_ops import _softplus, _stable_sigmoid
from .attention import transpose as _transpose
from .autograd import Function, Tensor

Axis = int | tuple[int, ...] | None


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Tensor:
    """x as a Tensor (a Tensor stays itself unless ``dtype`` changes it); Python floats and
    float64 lists become float32, Keras' default float type. (Keras' ``sparse`` and
    ``ragged``: minicnn's tensors are dense, and True is refused.)"""
    if sparse or ragged:
        raise ValueError("convert_to_tensor: minicnn's tensors are dense (sparse and ragged).")
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    if not (backend.is_device_array(x) or isinstance(x, np.ndarray)):
        x = np.asarray(x)
        if dtype is None and x.dtype == np.float64:
            dtype = backend.FLOAT
    return Tensor(x if dtype is None else x.astype(dtype))


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _dtype_of(*xs: Any) -> Any:
    """The float dtype a Python number should take next to these operands."""
    for x in xs:
        if isinstance(x, Tensor) or hasattr(x, "dtype"):
            dtype = _data(x).dtype
            if dtype.kind == "f":
                return dtype
    return backend.FLOAT


def real_only(owner: str, *xs: Any) -> None:
    """A TypeError when a value is complex, for the functions NumPy defines on reals only
    (JAX computes their formulas for reals on complex values, which minicnn does not)."""
    for x in xs:
        dtype = getattr(x.data if isinstance(x, Tensor) else x, "dtype", None)
        if dtype is None and isinstance(x, complex):
            dtype = np.dtype(complex)
        if dtype is not None and np.dtype(dtype).kind == "c":
            raise TypeError(f"{owner} takes real values, got {np.dtype(dtype)}.")


def _operands(*xs: Any) -> list[Any]:
    """Tensors as they are; Python numbers as 0-d arrays of the others' float dtype, and
    NumPy arrays (and host Tensors that need no gradient: constants) next to GPU ones as GPU
    arrays, on the operands' device."""
    dtype = _dtype_of(*xs)
    on_gpu = builtins.any(backend.is_device_array(_data(x)) for x in xs)
    xp = backend.xp_for("gpu") if on_gpu else np
    out = []
    for x in xs:
        if isinstance(x, (int, float)):
            x = xp.full((), x, dtype=dtype)
        elif not (isinstance(x, (Tensor, np.ndarray)) or backend.is_device_array(x)):
            x = convert_to_tensor(x).data  # a list
        if on_gpu and isinstance(x, Tensor) and isinstance(x.data, np.ndarray):
            x = x if x.requires_grad else x.data
        if on_gpu and isinstance(x, np.ndarray):
            x = backend.to_device(x, "gpu")
        out.append(x)
    return out


# --- elementwise functions of one argument ------------------------------------------------------


class _Elementwise(Function):
    """y = f(x) elementwise; ``slope(xp, x, y)`` is dy/dx."""

    def __init__(self, f: Callable[[Any, Any], Any], slope: Callable[[Any, Any, Any], Any]) -> None:
        self.f, self.slope = f, slope

    def forward(self, x: Any) -> Any:
        y = self.f(backend.get_array_module(x), x)
        if self.recording:
            self.x, self.y = x, y
        return y

    def backward(self, grad: Any) -> Any:
        return grad * self.slope(backend.get_array_module(grad), self.x, self.y)


def _elementwise(
    f: Callable[[Any, Any], Any], slope: Callable[[Any, Any, Any], Any]
) -> Callable[[Any], Tensor]:
    def op(x: Any) -> Tensor:
        return _Elementwise(f, slope)(convert_to_tensor(x))

    return op


abs = _elementwise(lambda xp, x: xp.abs(x), lambda xp, x, y: xp.sign(x))  # noqa: A001
square = _elementwise(lambda xp, x: x * x, lambda xp, x, y: 2 * x)
sqrt = _elementwise(lambda xp, x: xp.sqrt(x), lambda xp, x, y: 0.5 / y)
exp = _elementwise(lambda xp, x: xp.exp(x), lambda xp, x, y: y)
log = _elementwise(lambda xp, x: xp.log(x), lambda xp, x, y: 1 / x)
log1p = _elementwise(lambda xp, x: xp.log1p(x), lambda xp, x, y: 1 / (1 + x))
expm1 = _elementwise(lambda xp, x: xp.expm1(x), lambda xp, x, y: y + 1)
negative = _elementwise(lambda xp, x: -x, lambda xp, x, y: -xp.ones_like(x))
softplus = _elementwise(_softplus, lambda xp, x, y: _stable_sigmoid(xp, x))
sin = _elementwise(lambda xp, x: xp.sin(x), lambda xp, x, y: xp.cos(x))
cos = _elementwise(lambda xp, x: xp.cos(x), lambda xp, x, y: -xp.sin(x))
abs.__doc__ = "|x| (its gradient is sign(x): 0 at 0)."
square.__doc__ = "x * x."
sqrt.__doc__ = "The square root of x."
exp.__doc__ = "e ** x."
log.__doc__ = "The natural logarithm of x."
log1p.__doc__ = "log(1 + x), accurate for small x."
expm1.__doc__ = "e ** x - 1, accurate for small x."
negative.__doc__ = "-x."
softplus.__doc__ = "log(1 + e ** x), computed without overflow."
sin.__doc__ = "The sine of x."
cos.__doc__ = "The cosine of x."


def relu(x: Any) -> Tensor:
    return F.relu(convert_to_tensor(x))


def sigmoid(x: Any) -> Tensor:
    return F.sigmoid(convert_to_tensor(x))


def tanh(x: Any) -> Tensor:
    return F.tanh(convert_to_tensor(x))


# --- arithmetic with broadcasting ---------------------------------------------------------------


def add(x: Any, y: Any) -> Tensor:
    return F.add(*_operands(x, y))


def subtract(x: Any, y: Any) -> Tensor:
    return T.sub(*_operands(x, y))


def multiply(x: Any, y: Any) -> Tensor:
    return F.mul(*_operands(x, y))


def divide(x: Any, y: Any) -> Tensor:
    return T.div(*_operands(x, y))


class _Power(Function):
    """x ** y with both operands arrays (broadcast). The exponent's gradient, x ** y * log x,
    is taken as 0 where x <= 0, as TensorFlow's is."""

    def forward(self, x: Any, y: Any) -> Any:
        out = backend.get_array_module(x, y).power(x, y)
        if self.recording:
            self.x, self.y, self.out = x, y, out
        return out

    def backward(self, grad: Any) -> tuple[Any, Any]:
        xp = backend.get_array_module(grad)
        one = self.x.dtype.type(1)
        to_x = grad * self.y * xp.power(self.x, self.y - one)
        positive = self.x > 0
        log_x = xp.where(positive, xp.log(xp.where(positive, self.x, one)), self.x.dtype.type(0))
        to_y = grad * self.out * log_x
        return F._unbroadcast(to_x, self.x.shape), F._unbroadcast(to_y, self.y.shape)


def power(x: Any, exponent: Any) -> Tensor:
    """x ** exponent: a fixed number, or a tensor (broadcast), as Keras' ops.power."""
    if isinstance(exponent, (int, float, np.number)) and not isinstance(exponent, bool):
        if isinstance(x, Tensor) or backend.is_device_array(x) or isinstance(x, np.ndarray):
            return T.power(convert_to_tensor(x), float(exponent))
    return _Power()(*_operands(x, exponent))


def matmul(x: Any, y: Any) -> Tensor:
    return F.matmul(convert_to_tensor(x), convert_to_tensor(y))


class _Choose(Function):
    """maximum or minimum of two operands (broadcast); a tie's gradient goes to the first, as
    TensorFlow does."""

    def __init__(self, larger: bool) -> None:
        self.larger = larger

    def forward(self, a: Any, b: Any) -> Any:
        first = a >= b if self.larger else a <= b
        if self.recording:
            self.first, self.shapes = first, (a.shape, b.shape)
        return backend.get_array_module(a).where(first, a, b)

    def backward(self, grad: Any) -> tuple[Any, Any]:
        zero = grad.dtype.type(0)
        xp = backend.get_array_module(grad)
        return (
            F._unbroadcast(xp.where(self.first, grad, zero), self.shapes[0]),
            F._unbroadcast(xp.where(self.first, zero, grad), self.shapes[1]),
        )


def maximum(x: Any, y: Any) -> Tensor:
    return _Choose(True)(*_operands(x, y))


def minimum(x: Any, y: Any) -> Tensor:
    return _Choose(False)(*_operands(x, y))


class _ArcTan2(Function):
    """The angle of (x, y): its gradient is (x, -y) / (x^2 + y^2) for (y, x)."""

    def forward(self, y: Any, x: Any) -> Any:
        if self.recording:
            self.y, self.x = y, x
        return backend.get_array_module(y).arctan2(y, x)

    def backward(self, grad: Any) -> tuple[Any, Any]:
        square = self.x * self.x + self.y * self.y
        square = backend.get_array_module(grad).where(square == 0, 1, square)
        return (
            F._unbroadcast(grad * self.x / square, self.y.shape),
            F._unbroadcast(-grad * self.y / square, self.x.shape),
        )


def arctan2(x1: Any, x2: Any) -> Tensor:
    """Keras' (NumPy's) arctan2: the angle of the point (x2, x1), in (-pi, pi]."""
    real_only("arctan2", x1, x2)
    return _ArcTan2()(*_operands(x1, x2))


class _Clip(Function):
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def forward(self, x: Any) -> Any:
        if self.recording:
            self.inside = (x >= self.low) & (x <= self.high)
        return backend.get_array_module(x).clip(x, self.low, self.high)

    def backward(self, grad: Any) -> Any:
        return grad * self.inside


def clip(x: Any, x_min: float, x_max: float) -> Tensor:
    """x limited to [x_min, x_max]; the gradient flows where x lies inside."""
    if x_min > x_max:
        raise ValueError(f"clip: x_min {x_min} is above x_max {x_max}.")
    return _Clip(x_min, x_max)(convert_to_tensor(x))


class _Where(Function):
    def __init__(self, condition: Any) -> None:
        self.condition = condition

    def forward(self, a: Any, b: Any) -> Any:
        xp = backend.get_array_module(a, b)
        if self.recording:
            self.shapes = (a.shape, b.shape)
        return xp.where(self.condition, a, b)

    def backward(self, grad: Any) -> tuple[Any, Any]:
        xp = backend.get_array_module(grad)
        zero = grad.dtype.type(0)
        out = xp.broadcast_to(grad, xp.broadcast_shapes(*self.shapes, self.condition.shape))
        return (
            F._unbroadcast(xp.where(self.condition, out, zero), self.shapes[0]),
            F._unbroadcast(xp.where(self.condition, zero, out), self.shapes[1]),
        )


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """x where ``condition`` holds, else y (broadcast); each gets the gradient of its places.
    With neither x nor y: the indices where it holds, one array per axis (``nonzero``)."""
    if x is None and y is None:
        from .numpy_ops import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: give both x and y, or neither (for the indices).")
    a, b = _operands(x, y)
    condition = _data(condition).astype(bool)
    if builtins.any(backend.is_device_array(_data(v)) for v in (a, b)):
        condition = backend.to_device(condition, "gpu")
    return _Where(condition)(a, b)


# --- reductions ---------------------------------------------------------------------------------


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return T.reduce_sum(convert_to_tensor(x), axis, keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return T.mean(convert_to_tensor(x), axis, keepdims)


class _Extreme(Function):
    """max or min over ``axis``; tied extremes share the gradient equally, as TensorFlow's."""

    def __init__(self, largest: bool, axis: Axis, keepdims: bool) -> None:
        self.largest, self.axis, self.keepdims = largest, axis, keepdims

    def forward(self, x: Any) -> Any:
        kept = (
            x.max(axis=self.axis, keepdims=True)
            if self.largest
            else x.min(axis=self.axis, keepdims=True)
        )
        if self.recording:
            hits = (x == kept).astype(x.dtype)
            self.share = hits / hits.sum(axis=self.axis, keepdims=True)
        if self.keepdims:
            return kept
        return kept.reshape(()) if self.axis is None else kept.squeeze(axis=self.axis)

    def backward(self, grad: Any) -> Any:
        keep_shape = [
            1 if _reduced(i, self.axis, self.share.ndim) else n
            for i, n in enumerate(self.share.shape)
        ]
        return grad.reshape(keep_shape) * self.share


def _reduced(axis_index: int, axis: Axis, ndim: int) -> bool:
    if axis is None:
        return True
    axes = (axis,) if isinstance(axis, int) else axis
    return axis_index in {a % ndim for a in axes}


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _Extreme(True, axis, keepdims)(convert_to_tensor(x))


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _Extreme(False, axis, keepdims)(convert_to_tensor(x))


class _LogSumExp(Function):
    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        top = x.max(axis=self.axis, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)
        e = xp.exp(x - top)
        total = e.sum(axis=self.axis, keepdims=True)
        if self.recording:
            self.weights = e / total
        out = xp.log(total) + top
        if self.keepdims:
            return out
        return out.reshape(()) if self.axis is None else out.squeeze(axis=self.axis)

    def backward(self, grad: Any) -> Any:
        keep_shape = [
            1 if _reduced(i, self.axis, self.weights.ndim) else n
            for i, n in enumerate(self.weights.shape)
        ]
        return grad.reshape(keep_shape) * self.weights


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed without overflow."""
    return _LogSumExp(axis, keepdims)(convert_to_tensor(x))


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``; over an axis of size 1 (always 1) it warns, as
    Keras does."""
    x = convert_to_tensor(x)
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(
            f"You are using a softmax over axis {axis} of a tensor of shape {x.shape}. This "
            "axis has size 1. The softmax operation will always return the value 1, which is "
            "likely not what you intended. Did you mean to use a sigmoid instead?",
            stacklevel=2,
        )
    return _along_last(F.softmax, x, axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``: the log of softmax, without its underflow."""
    x = convert_to_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def _along_last(op: Callable[[Tensor], Tensor], x: Tensor, axis: int) -> Tensor:
    """op (which works along the last axis) applied along ``axis``."""
    axis = axis % x.ndim
    if axis == x.ndim - 1:
        return op(x)
    order = [*(i for i in range(x.ndim) if i != axis), axis]
    back = tuple(int(i) for i in np.argsort(order))
    return _transpose(op(_transpose(x, tuple(order))), back)


def normalize(x: Any, axis: Axis = -1, epsilon: float = 1e-12) -> Tensor:
    """Keras' ops.normalize (order 2): x / ||x|| along ``axis``, a zero vector staying zero."""
    x = convert_to_tensor(x)
    squares = sum(square(x), axis=axis, keepdims=True)
    return x / sqrt(maximum(squares, epsilon))


# --- shapes -------------------------------------------------------------------------------------


def rms_normalization(
    x: Any, scale: Any = 1, axis: Axis = -1, epsilon: float | None = None
) -> Tensor:
    """Keras' ops.rms_normalization: ``x / sqrt(mean(x ** 2 over axis) + epsilon) * scale``
    (epsilon None: Keras' backend.epsilon(), 1e-7)."""
    x = convert_to_tensor(x)
    epsilon = 1e-7 if epsilon is None else float(epsilon)
    mean_square = mean(square(x), axis=axis, keepdims=True)
    return x / sqrt(mean_square + epsilon) * scale


def shape_ints(shape: Any) -> Any:
    """A shape or repeat counts as Python ints, also when given as a tensor or a list that
    holds tensors (``ops.concatenate([ops.expand_dims(batch, -1), [1, 1]], 0)``, as Keras'
    examples build them); an int stays an int."""
    if isinstance(shape, (int, np.integer)):
        return int(shape)
    if isinstance(shape, Tensor) or hasattr(shape, "__array__"):
        return tuple(int(d) for d in np.ravel(backend.to_numpy(_data(shape))))
    return tuple(
        d if d is None or isinstance(d, int) else int(backend.to_numpy(_data(d))) for d in shape
    )


def reshape(x: Any, new_shape: tuple[int, ...]) -> Tensor:
    new_shape = shape_ints(new_shape)
    return F.reshape(
        convert_to_tensor(x), new_shape if isinstance(new_shape, tuple) else (new_shape,)
    )


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Tensor:
    x = convert_to_tensor(x)
    return _transpose(x, tuple(range(x.ndim))[::-1] if axes is None else tuple(axes))


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    """NumPy's moveaxis: axis ``source`` moved to ``destination`` (or several, each to its
    place), the others in order."""
    x = convert_to_tensor(x)
    sources = [a % x.ndim for a in ((source,) if isinstance(source, int) else source)]
    targets = [
        a % x.ndim for a in ((destination,) if isinstance(destination, int) else destination)
    ]
    if len(sources) != len(targets) or len(set(sources)) != len(sources):
        raise ValueError(
            f"moveaxis: source {source!r} and destination {destination!r} must name as many "
            "different axes."
        )
    order = [a for a in range(x.ndim) if a not in sources]
    for target, moved in sorted(zip(targets, sources, strict=True)):
        order.insert(target, moved)
    return _transpose(x, tuple(order))


def expand_dims(x: Any, axis: int) -> Tensor:
    x = convert_to_tensor(x)
    shape = list(x.shape)
    shape.insert(axis % (x.ndim + 1), 1)
    return reshape(x, tuple(shape))


def squeeze(x: Any, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """Keras' ops.squeeze: the axes of size 1 (all of them, or those named) removed."""
    x = convert_to_tensor(x)
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    for a in sorted(axes):
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {x.shape} is not of size 1.")
    return reshape(x, tuple(n for a, n in enumerate(x.shape) if a not in axes))


def concatenate(xs: list[Any], axis: int = 0) -> Tensor:
    """Keras' ops.concatenate (axis 0 by default, unlike the Concatenate layer)."""
    return F.concatenate([convert_to_tensor(x) for x in xs], axis=axis)


class _Cast(Function):
    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype

    def forward(self, x: Any) -> Any:
        self.source = x.dtype
        if x.dtype.kind == "c" and self.dtype.kind != "c":  # the real parts, as Keras' cast
            return backend.get_array_module(x).real(x).astype(self.dtype)
        return x.astype(self.dtype)

    def backward(self, grad: Any) -> Any:
        return grad.astype(self.source) if self.source.kind == "f" else None


def cast(x: Any, dtype: Any) -> Tensor:
    """x as ``dtype``; the gradient flows back to a float x."""
    return _Cast(np.dtype(dtype))(convert_to_tensor(x))


# --- without gradients --------------------------------------------------------------------------


def stop_gradient(x: Any) -> Tensor:
    """x's values, with no gradient flowing back through them."""
    return Tensor(_data(convert_to_tensor(x)))


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Where the largest value is along ``axis`` (of the flattened input by default, as in
    Keras and NumPy)."""
    return Tensor(_data(convert_to_tensor(x)).argmax(axis=axis, keepdims=keepdims))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Where the smallest value is along ``axis`` (of the flattened input by default)."""
    return Tensor(_data(convert_to_tensor(x)).argmin(axis=axis, keepdims=keepdims))


def _compare(name: str) -> Callable[[Any, Any], Tensor]:
    def op(x: Any, y: Any) -> Tensor:
        a, b = (_data(v) for v in _operands(x, y))
        return Tensor(getattr(a, name)(b))

    op.__name__ = name.strip("_")
    return op


equal = _compare("__eq__")
not_equal = _compare("__ne__")
greater = _compare("__gt__")
greater_equal = _compare("__ge__")
less = _compare("__lt__")
less_equal = _compare("__le__")


def sign(x: Any) -> Tensor:
    data = _data(convert_to_tensor(x))
    return Tensor(backend.get_array_module(data).sign(data))


def one_hot(x: Any, num_classes: int) -> Tensor:
    """Class ids as float32 rows of ``num_classes`` (0 rows for ids outside the range)."""
    ids = _data(convert_to_tensor(x)).astype(np.int64)
    xp = backend.get_array_module(ids)
    return Tensor((ids[..., None] == xp.arange(num_classes)).astype(backend.FLOAT))


# --- more of Keras' ops: building, stacking, picking, statistics ------------------------------


def stack(xs: list[Any], axis: int = 0) -> Tensor:
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def tile(x: Any, repeats: int | tuple[int, ...]) -> Tensor:
    repeats = shape_ints(repeats)
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    return A.Tile(reps)(convert_to_tensor(x))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Tensor:
    """Each element ``repeats`` times along ``axis`` (of the flattened x when None), or
    each its own count (``repeats`` one per element there)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    counts = np.asarray(backend.to_numpy(_data(convert_to_tensor(repeats))))
    if counts.ndim == 0:
        return A.Repeat(int(counts), axis)(x)
    if counts.shape != (x.shape[axis],) or counts.dtype.kind not in "iu" or (counts < 0).any():
        raise ValueError(
            f"repeat: repeats must be a count, or one count >= 0 for each of the "
            f"{x.shape[axis]} entries on axis {axis}; got {counts.tolist()}."
        )
    from .numpy_ops import take

    return take(x, np.repeat(np.arange(x.shape[axis]), counts), axis=axis)


# NumPy's padding modes that copy the input's own values outward.
COPYING_PAD_MODES = ("reflect", "symmetric", "edge", "wrap")


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: float = 0) -> Tensor:
    """``pad_width`` one (before, after) per axis: a constant (Keras' default mode), or as
    NumPy's 'reflect', 'symmetric', 'edge' and 'wrap' copy the input outward (each such
    axis a gather of the input's own positions, whose gradient adds back to them)."""
    if mode != "constant" and mode not in COPYING_PAD_MODES:
        raise ValueError(
            f"pad: mode must be 'constant' or one of {', '.join(COPYING_PAD_MODES)}; got {mode!r}."
        )
    x = convert_to_tensor(x)
    # NumPy's shorthands: n (every side), (n,), (before, after) for every axis.
    given = np.asarray(pad_width, dtype=np.int64)
    if given.ndim < 2:
        given = np.broadcast_to(given.reshape(-1)[:2] if given.size else given, (x.ndim, 2))
    width = tuple((int(b), int(a)) for b, a in given)
    if len(width) != x.ndim:
        raise ValueError(f"pad: {len(width)} (before, after) pairs for {x.ndim} axes.")
    if mode == "constant":
        return A.Pad(width, constant_values)(x)
    from .numpy_ops import take

    for axis, (before, after) in enumerate(width):
        if before or after:
            positions = np.pad(np.arange(x.shape[axis]), (before, after), mode=mode)
            x = take(x, positions, axis=axis)
    return x


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    (ids,) = _operands(_data(convert_to_tensor(indices)))
    if backend.is_device_array(x.data) and isinstance(ids, np.ndarray):
        ids = backend.to_device(ids, "gpu")
    return A.TakeAlongAxis(ids.astype(np.int64), axis)(x)


def cumsum(x: Any, axis: int | None = None) -> Tensor:
    return A.CumSum(axis)(convert_to_tensor(x))


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The (population) variance over ``axis``; of complex values, the mean squared modulus
    of their deviations, in their dtype (as Keras')."""
    x = convert_to_tensor(x)
    if x.dtype.kind == "c":
        return cast(_complex_variance(x, axis, keepdims), x.dtype)
    return mean(square(x - mean(x, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims)


def _complex_variance(x: Tensor, axis: Axis, keepdims: bool) -> Tensor:
    xp = backend.get_array_module(x.data)
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    deviations = x.data - x.data.mean(axis=axes, keepdims=True)
    return Tensor((xp.abs(deviations) ** 2).mean(axis=axes, keepdims=keepdims))


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    x = convert_to_tensor(x)
    if x.dtype.kind == "c":  # a real deviation, as Keras'
        return sqrt(_complex_variance(x, axis, keepdims))
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def norm(x: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Keras' (NumPy's ``linalg.norm``): a vector norm over an int ``axis`` (or of a 1-D x)
    — 2 by default, any p, inf, -inf, 0 (the count of nonzeros) — or a matrix norm over a
    pair of axes (or of a 2-D x) — 'fro' by default, 'nuc', 1, -1, 2, -2 (singular values),
    inf, -inf. With ``axis`` None and x of more axes, the 2-norm of all its values."""
    x = convert_to_tensor(x)
    if x.dtype.kind == "c":  # the moduli's norm, but a complex matrix's singular values
        pair = axis is not None and not isinstance(axis, int) and len(axis) == 2
        matrix = pair or (axis is None and ord is not None and x.ndim == 2)
        if not (matrix and ord in ("nuc", 2, -2)):
            x = abs(x)
    if axis is None:
        if ord is None:
            total = sqrt(sum(square(x)))
            return reshape(total, (1,) * x.ndim) if keepdims else total
        if x.ndim > 2:
            raise ValueError(
                f"norm: ord={ord!r} over all {x.ndim} axes of x; pass one axis for a vector "
                "norm, or two for a matrix norm (as Keras asks)."
            )
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % x.ndim for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"norm: axis must be an int or two different axes, got {axis!r}.")
    return _matrix_norm(x, ord, axes, keepdims)


def _vector_norm(x: Tensor, ord: Any, axis: int, keepdims: bool) -> Tensor:  # noqa: A002
    if ord is None or ord == 2:
        return sqrt(sum(square(x), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"norm: ord {ord!r} is a matrix norm's; over one axis give a number.")
    if ord == math.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(cast(not_equal(x, 0), backend.FLOAT), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    return power(sum(power(abs(x), ord), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x: Tensor, ord: Any, axes: tuple[int, int], keepdims: bool) -> Tensor:  # noqa: A002
    rows, cols = axes
    if ord in (None, "fro"):
        found = sqrt(sum(square(x), axis=axes, keepdims=True))
    elif ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum; inf: the largest row sum (-1, -inf: the smallest).
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        pick = max if ord in (1, math.inf) else min
        found = pick(sum(abs(x), axis=summed, keepdims=True), axis=over, keepdims=True)
    elif ord in ("nuc", 2, -2):
        from .linalg import svd

        values = svd(moveaxis(x, (rows, cols), (-2, -1)), compute_uv=False)
        picked = {"nuc": sum, 2: max, -2: min}[ord](values, axis=-1)
        kept = [1 if i in axes else n for i, n in enumerate(x.shape)]
        found = reshape(picked, tuple(kept))  # the other axes kept their order
    else:
        raise ValueError(
            f"norm: a matrix norm's ord is None, 'fro', 'nuc', 1, -1, 2, -2, inf or -inf; got "
            f"{ord!r}."
        )
    return found if keepdims else squeeze(found, axis=axes)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002
    """The ``k`` largest values along the last axis (largest first) and their indices; the
    values take gradients."""
    x = convert_to_tensor(x)
    xp = backend.get_array_module(x.data)
    order = xp.argsort(-x.data, axis=-1)[..., :k]
    return take_along_axis(x, order, axis=-1), Tensor(order)


# Without gradients: new arrays, logic and rounding.
def _on_device(make: Callable[[Any], Any], dtype: Any) -> Tensor:
    """Values made by ``make(xp)`` on the current device (``minicnn.device``, or the running
    model's), as Keras makes them on its device; filled there, with no copy from the host."""
    values = make(backend.xp_for(backend.current_device()))
    return Tensor(values if dtype is None else values.astype(dtype))


def zeros(shape: Any, dtype: Any = None) -> Tensor:
    shape = shape_ints(shape)
    return _on_device(lambda xp: xp.zeros(shape, backend.FLOAT), dtype)


def ones(shape: Any, dtype: Any = None) -> Tensor:
    shape = shape_ints(shape)
    return _on_device(lambda xp: xp.ones(shape, backend.FLOAT), dtype)


def full(shape: Any, fill_value: float, dtype: Any = None) -> Tensor:
    shape = shape_ints(shape)
    return _on_device(lambda xp: xp.full(shape, fill_value, backend.FLOAT), dtype)


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    data = _data(convert_to_tensor(x))
    return Tensor(backend.get_array_module(data).zeros_like(data, dtype=dtype))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    data = _data(convert_to_tensor(x))
    return Tensor(backend.get_array_module(data).ones_like(data, dtype=dtype))


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    if stop is None:
        start, stop = 0, start
    return _on_device(lambda xp: xp.arange(start, stop, step), dtype)


def eye(n: int, m: int | None = None, dtype: Any = None) -> Tensor:
    return _on_device(lambda xp: xp.eye(n, m, dtype=backend.FLOAT), dtype)


def _logical_of(name: str, *xs: Any) -> Tensor:
    arrays = [_data(v).astype(bool) for v in _operands(*xs)]
    return Tensor(getattr(backend.get_array_module(*arrays), name)(*arrays))


# Keras' parameter names, which its operation classes (and so its files) hold.
def logical_and(x1: Any, x2: Any) -> Tensor:
    return _logical_of("logical_and", x1, x2)


def logical_or(x1: Any, x2: Any) -> Tensor:
    return _logical_of("logical_or", x1, x2)


def logical_xor(x1: Any, x2: Any) -> Tensor:
    return _logical_of("logical_xor", x1, x2)


def logical_not(x: Any) -> Tensor:
    return _logical_of("logical_not", x)


def _rounding(name: str) -> Callable[[Any], Tensor]:
    def op(x: Any) -> Tensor:
        data = _data(convert_to_tensor(x))
        return Tensor(getattr(backend.get_array_module(data), name)(data))

    op.__name__ = name
    return op


floor = _rounding("floor")
ceil = _rounding("ceil")


def round(x: Any, decimals: int = 0) -> Tensor:  # noqa: A001
    """Rounded half to even, to ``decimals`` places (negative: tens, hundreds, ...)."""
    data = _data(convert_to_tensor(x))
    return Tensor(backend.get_array_module(data).round(data, int(decimals)))


# Keras' ops.ctc_loss and ops.ctc_decode (their module uses these ops when called).
from . import image_api as image  # noqa: E402, F401
from . import linalg  # noqa: E402, F401
from .array_extras import *  # noqa: E402, F403
from .core_ops import *  # noqa: E402, F403
from .ctc import ctc_decode, ctc_loss  # noqa: E402, F401
from .einsum import einsum  # noqa: E402, F401
from .fft_ops import *  # noqa: E402, F403
from .linalg import *  # noqa: E402, F403
from .more_numpy_ops import *  # noqa: E402, F403
from .nan_ops import *  # noqa: E402, F403
from .nn_ops import *  # noqa: E402, F403
from .numpy_ops import *  # noqa: E402, F403
from .rearrange import rearrange  # noqa: E402, F401
from .spectrogram import istft, stft  # noqa: E402, F401

# Last: each function also takes a functional model's symbolic tensors (an OpCall layer).
from .symbolic_ops import make_symbolic_aware as _make_symbolic_aware  # noqa: E402

_make_symbolic_aware(image, "image.")
_make_symbolic_aware(linalg, "linalg.")
_make_symbolic_aware(sys.modules[__name__])

from . import ops_namespaces as _namespaces  # noqa: E402

nn = _namespaces.namespace("nn", _namespaces.NN, sys.modules[__name__])
numpy = _namespaces.namespace("numpy", _namespaces.NUMPY, sys.modules[__name__])
