"""More of Keras' ``keras.ops`` (its NumPy namespace) for minicnn Tensors, built on the
differentiable operations of ``ops``: inverse and hyperbolic functions, shape operations
(flip, roll, split, diagonal, tril, ...), products (tensordot, dot, outer, kron, prod),
order statistics (sort, median, quantile) and tests (isnan, isclose, ...). They are
re-exported by ``minicnn.ops``; gradients flow wherever the operation has one."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Function, Tensor

__all__ = [
    "absolute",
    "all",
    "amax",
    "amin",
    "any",
    "append",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "argsort",
    "average",
    "bincount",
    "broadcast_to",
    "cbrt",
    "copy",
    "cosh",
    "count_nonzero",
    "cross",
    "diag",
    "diagflat",
    "diagonal",
    "diff",
    "digitize",
    "divide_no_nan",
    "dot",
    "empty",
    "exp2",
    "flip",
    "floor_divide",
    "full_like",
    "hstack",
    "identity",
    "inner",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "kron",
    "linspace",
    "log10",
    "log2",
    "logaddexp",
    "logspace",
    "median",
    "meshgrid",
    "mod",
    "nan_to_num",
    "ndim",
    "nonzero",
    "outer",
    "percentile",
    "prod",
    "quantile",
    "ravel",
    "reciprocal",
    "roll",
    "rot90",
    "rsqrt",
    "searchsorted",
    "select",
    "shape",
    "signbit",
    "sinh",
    "size",
    "sort",
    "split",
    "swapaxes",
    "take",
    "tan",
    "tensordot",
    "trace",
    "tri",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "unstack",
    "vdot",
    "vstack",
]


# --- elementwise functions with their slopes ---------------------------------------------------

arcsin = O._elementwise(lambda xp, x: xp.arcsin(x), lambda xp, x, y: 1 / xp.sqrt(1 - x * x))
arccos = O._elementwise(lambda xp, x: xp.arccos(x), lambda xp, x, y: -1 / xp.sqrt(1 - x * x))
arctan = O._elementwise(lambda xp, x: xp.arctan(x), lambda xp, x, y: 1 / (1 + x * x))
arcsinh = O._elementwise(lambda xp, x: xp.arcsinh(x), lambda xp, x, y: 1 / xp.sqrt(x * x + 1))
arccosh = O._elementwise(lambda xp, x: xp.arccosh(x), lambda xp, x, y: 1 / xp.sqrt(x * x - 1))
arctanh = O._elementwise(lambda xp, x: xp.arctanh(x), lambda xp, x, y: 1 / (1 - x * x))
sinh = O._elementwise(lambda xp, x: xp.sinh(x), lambda xp, x, y: xp.cosh(x))
cosh = O._elementwise(lambda xp, x: xp.cosh(x), lambda xp, x, y: xp.sinh(x))
tan = O._elementwise(lambda xp, x: xp.tan(x), lambda xp, x, y: 1 + y * y)
cbrt = O._elementwise(lambda xp, x: xp.cbrt(x), lambda xp, x, y: 1 / (3 * y * y))
exp2 = O._elementwise(lambda xp, x: xp.exp2(x), lambda xp, x, y: y * math.log(2))
log2 = O._elementwise(lambda xp, x: xp.log2(x), lambda xp, x, y: 1 / (x * math.log(2)))
log10 = O._elementwise(lambda xp, x: xp.log10(x), lambda xp, x, y: 1 / (x * math.log(10)))
reciprocal = O._elementwise(lambda xp, x: 1 / x, lambda xp, x, y: -y * y)
rsqrt = O._elementwise(lambda xp, x: 1 / xp.sqrt(x), lambda xp, x, y: -0.5 * y * y * y)

absolute = O.abs
true_divide = O.divide
amax, amin = O.max, O.min


def trunc(x: Any) -> Tensor:
    """Rounded toward zero (no gradient, as a rounding)."""
    data = O.convert_to_tensor(x).data
    return Tensor(backend.get_array_module(data).trunc(data))


def logaddexp(x1: Any, x2: Any) -> Tensor:
    """log(exp(x1) + exp(x2)), without overflow."""
    O.real_only("logaddexp", x1, x2)
    larger = O.maximum(x1, x2)
    return larger + O.log1p(O.exp(-O.abs(O.subtract(x1, x2))))


def _integers(x1: Any, x2: Any) -> tuple[Any, Any] | None:
    """Both operands' arrays when neither is a float (ints stay ints, as in Keras)."""
    a, b = (O._data(O.convert_to_tensor(v)) for v in O._operands(x1, x2))
    return (a, b) if a.dtype.kind in "biu" and b.dtype.kind in "biu" else None


def mod(x1: Any, x2: Any) -> Tensor:
    """NumPy's mod (the remainder with the divisor's sign): x1 - floor(x1 / x2) x2."""
    ints = _integers(x1, x2)
    if ints is not None:
        return Tensor(backend.get_array_module(*ints).mod(*ints))
    return O.subtract(x1, O.multiply(O.floor(O.divide(x1, x2)), x2))


def floor_divide(x1: Any, x2: Any) -> Tensor:
    ints = _integers(x1, x2)
    if ints is not None:
        return Tensor(backend.get_array_module(*ints).floor_divide(*ints))
    return O.floor(O.divide(x1, x2))


def divide_no_nan(x1: Any, x2: Any) -> Tensor:
    """x1 / x2, and 0 where x2 is 0 (gradients too)."""
    a, b = (O.convert_to_tensor(v) for v in O._operands(x1, x2))
    zero = b.data == 0
    safe = O.where(zero, 1.0, b)
    return O.where(zero, 0.0, a / safe)


def nan_to_num(
    x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN, +inf and -inf replaced (by default: 0, and the dtype's largest and lowest)."""
    x = O.convert_to_tensor(x)
    if np.dtype(x.dtype).kind in "biu":
        return x  # no NaN nor infinity in ints
    if np.dtype(x.dtype).kind == "c":  # each part on its own, as NumPy's (no gradient)
        xp = backend.get_array_module(x.data)
        return Tensor(xp.nan_to_num(x.data, nan=nan, posinf=posinf, neginf=neginf))
    info = np.finfo(x.dtype)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    xp = backend.get_array_module(x.data)
    out = O.where(xp.isnan(x.data), nan, x)
    return O.where(xp.isposinf(x.data), high, O.where(xp.isneginf(x.data), low, out))


# --- tests and counts (no gradient) -----------------------------------------------------------


def _test(name: str) -> Any:
    def op(x: Any) -> Tensor:
        data = O.convert_to_tensor(x).data
        return Tensor(getattr(backend.get_array_module(data), name)(data))

    op.__name__ = name
    return op


isnan, isinf, isfinite, signbit = (_test(n) for n in ("isnan", "isinf", "isfinite", "signbit"))


def isclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    a, b = (O._data(v) for v in O._operands(x1, x2))
    return Tensor(backend.get_array_module(a).isclose(a, b, rtol, atol, equal_nan))


def all(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    data = O.convert_to_tensor(x).data
    return Tensor(data.astype(bool).all(axis=axis, keepdims=keepdims))


def any(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    data = O.convert_to_tensor(x).data
    return Tensor(data.astype(bool).any(axis=axis, keepdims=keepdims))


def count_nonzero(x: Any, axis: O.Axis = None) -> Tensor:
    data = O.convert_to_tensor(x).data
    return Tensor(backend.get_array_module(data).count_nonzero(data, axis=axis))


def argsort(x: Any, axis: int = -1) -> Tensor:
    data = O.convert_to_tensor(x).data
    return Tensor(backend.get_array_module(data).argsort(data, axis=axis, kind="stable"))


def sort(x: Any, axis: int = -1) -> Tensor:
    """Sorted along ``axis``; each value's gradient goes back to where it came from."""
    x = O.convert_to_tensor(x)
    return O.take_along_axis(x, argsort(x, axis).data, axis=axis)


def nonzero(x: Any) -> tuple[Tensor, ...]:
    data = O.convert_to_tensor(x).data
    return tuple(Tensor(i) for i in backend.get_array_module(data).nonzero(data))


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> Tensor:
    a, v = (O._data(t) for t in O._operands(sorted_sequence, values))
    return Tensor(backend.get_array_module(a).searchsorted(a, v, side=side))


def digitize(x: Any, bins: Any) -> Tensor:
    a, b = (O._data(t) for t in O._operands(x, bins))
    return Tensor(backend.get_array_module(a).digitize(a, b))


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Tensor:
    data = O.convert_to_tensor(x).data
    xp = backend.get_array_module(data)
    w = None if weights is None else O._data(O.convert_to_tensor(weights))
    return Tensor(xp.bincount(data, weights=w, minlength=minlength))


def ndim(x: Any) -> int:
    return O.convert_to_tensor(x).ndim


def size(x: Any) -> int:
    return int(O.convert_to_tensor(x).data.size)


def shape(x: Any) -> tuple[int, ...]:
    return O.convert_to_tensor(x).shape


# --- making values on the device --------------------------------------------------------------


def _spaced_dtype(*ends: Any) -> Any:
    """float32, or complex64 between complex ends (as Keras')."""
    kinds = {np.asarray(backend.to_numpy(_end(e))).dtype.kind for e in ends}
    return np.complex64 if "c" in kinds else backend.FLOAT


def _end(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def linspace(
    start: float, stop: float, num: int = 50, endpoint: bool = True, dtype: Any = None
) -> Tensor:
    kind = _spaced_dtype(start, stop)
    return O._on_device(
        lambda xp: xp.linspace(_end(start), _end(stop), num, endpoint=endpoint).astype(kind),
        dtype,
    )


def logspace(
    start: float,
    stop: float,
    num: int = 50,
    endpoint: bool = True,
    base: float = 10.0,
    dtype: Any = None,
) -> Tensor:
    kind = _spaced_dtype(start, stop)
    return O._on_device(
        lambda xp: xp.logspace(_end(start), _end(stop), num, endpoint=endpoint, base=base).astype(
            kind
        ),
        dtype,
    )


def tri(n: int, m: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:
    return O._on_device(lambda xp: xp.tri(n, m, k, dtype=backend.FLOAT), dtype)


def identity(n: int, dtype: Any = None) -> Tensor:
    return O.eye(n, dtype=dtype)


def empty(shape: Any, dtype: Any = None) -> Tensor:
    return O.zeros(shape, dtype)


def full_like(x: Any, fill_value: float, dtype: Any = None) -> Tensor:
    data = O.convert_to_tensor(x).data
    return Tensor(backend.get_array_module(data).full_like(data, fill_value, dtype=dtype))


def meshgrid(*xs: Any, indexing: str = "xy") -> list[Tensor]:
    arrays = [O.convert_to_tensor(x).data for x in xs]
    return [
        Tensor(a) for a in backend.get_array_module(*arrays).meshgrid(*arrays, indexing=indexing)
    ]


# --- shapes -----------------------------------------------------------------------------------


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    x = O.convert_to_tensor(x)
    order = list(range(x.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return O.transpose(x, tuple(order))


def flip(x: Any, axis: O.Axis = None) -> Tensor:
    x = O.convert_to_tensor(x)
    axes = range(x.ndim) if axis is None else (axis if isinstance(axis, (tuple, list)) else (axis,))
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return x[tuple(index)]


def roll(x: Any, shift: Any, axis: O.Axis = None) -> Tensor:
    x = O.convert_to_tensor(x)
    if axis is None:
        return O.reshape(roll(O.reshape(x, (-1,)), shift, 0), x.shape)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    xp = backend.get_array_module(x.data)
    for s, a in zip(shifts, axes, strict=True):
        n = x.shape[a]
        index = [slice(None)] * x.ndim
        index[a] = xp.asarray((np.arange(n) - s) % n)
        x = x[tuple(index)]
    return x


def ravel(x: Any) -> Tensor:
    return O.reshape(x, (-1,))


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """NumPy's split: into equal sections, or at the given indices."""
    x = O.convert_to_tensor(x)
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: {n} does not split into {indices_or_sections} equal parts.")
        size = n // indices_or_sections
        cuts = list(range(size, n, size))
    else:
        cuts = [int(i) for i in indices_or_sections]
    out = []
    for start, stop in zip([0, *cuts], [*cuts, n], strict=True):
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop)
        out.append(x[tuple(index)])
    return out


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[Tensor]:
    x = O.convert_to_tensor(x)
    count = x.shape[axis]
    if num is not None and num != count:
        raise ValueError(f"unstack: axis {axis} has {count} entries, not num={num}.")
    return [O.squeeze(part, axis) for part in split(x, count, axis)]


def _sequence(xs: Any) -> list[Tensor]:
    """The arrays to stack: a list of them, or one array's entries along its first axis
    (as NumPy reads a single array)."""
    if isinstance(xs, (list, tuple)):
        tensors = [O.convert_to_tensor(x) for x in xs]
    else:
        x = O.convert_to_tensor(xs)
        tensors = [x[i] for i in range(x.shape[0])]
    return [O.reshape(t, (1,)) if t.ndim == 0 else t for t in tensors]


def hstack(xs: list[Any]) -> Tensor:
    tensors = _sequence(xs)
    return O.concatenate(tensors, axis=0 if tensors[0].ndim == 1 else 1)


def vstack(xs: list[Any]) -> Tensor:
    tensors = _sequence(xs)
    return O.concatenate([O.reshape(t, (1, -1)) if t.ndim == 1 else t for t in tensors], axis=0)


def append(x1: Any, x2: Any, axis: int | None = None) -> Tensor:
    if axis is None:
        return O.concatenate([ravel(x1), ravel(x2)], axis=0)
    return O.concatenate([x1, x2], axis=axis)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Tensor:
    """x repeated to ``shape``; the gradient sums back over the repeats."""
    x = O.convert_to_tensor(x)
    return x + Tensor(backend.get_array_module(x.data).zeros(O.shape_ints(shape), x.dtype))


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """NumPy's take: the entries at ``indices`` (of the flattened x when axis is None)."""
    x = O.convert_to_tensor(x)
    xp = backend.get_array_module(x.data)
    idx = xp.asarray(O._data(indices))
    if axis is None:
        return ravel(x)[idx]
    index = [slice(None)] * x.ndim
    index[axis] = idx
    return x[tuple(index)]


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal of axes axis1 and axis2, which move to the end."""
    x = O.convert_to_tensor(x)
    rest = [a for a in range(x.ndim) if a not in (axis1 % x.ndim, axis2 % x.ndim)]
    moved = O.transpose(x, (*rest, axis1 % x.ndim, axis2 % x.ndim))
    rows, cols = moved.shape[-2:]
    start_r, start_c = max(-offset, 0), max(offset, 0)
    length = max(min(rows - start_r, cols - start_c), 0)
    xp = backend.get_array_module(x.data)
    r = xp.asarray(np.arange(length) + start_r)
    c = xp.asarray(np.arange(length) + start_c)
    return moved[(..., r, c)]


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    return O.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def tril(x: Any, k: int = 0) -> Tensor:
    x = O.convert_to_tensor(x)
    xp = backend.get_array_module(x.data)
    keep = xp.tri(x.shape[-2], x.shape[-1], k, dtype=bool)
    return O.where(xp.broadcast_to(keep, x.shape), x, O.zeros_like(x))


def triu(x: Any, k: int = 0) -> Tensor:
    x = O.convert_to_tensor(x)
    xp = backend.get_array_module(x.data)
    below = xp.tri(x.shape[-2], x.shape[-1], k - 1, dtype=bool)
    return O.where(xp.broadcast_to(below, x.shape), O.zeros_like(x), x)


def diag(x: Any, k: int = 0) -> Tensor:
    """A 1-D x as the k-th diagonal of a square matrix; a 2-D x's k-th diagonal."""
    x = O.convert_to_tensor(x)
    if x.ndim == 2:
        return diagonal(x, k)
    n = x.shape[0] + abs(k)
    xp = backend.get_array_module(x.data)
    rows = xp.asarray(np.arange(x.shape[0]) + max(-k, 0))
    cols = xp.asarray(np.arange(x.shape[0]) + max(k, 0))
    place = xp.zeros((n, n, x.shape[0]), x.dtype)
    place[rows, cols, xp.arange(x.shape[0])] = 1
    return O.sum(Tensor(place) * x, axis=-1)


def diagflat(x: Any, k: int = 0) -> Tensor:
    return diag(ravel(x), k)


def rot90(x: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
    """Rotated by k quarter turns in the plane of ``axes`` (counterclockwise, as NumPy)."""
    x = O.convert_to_tensor(x)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"rot90: k must be an int (quarter turns), got {type(k).__name__}.")
    k = int(k) % 4
    a, b = axes
    for _ in range(k):
        x = swapaxes(flip(x, b), a, b)
    return x


# --- products -------------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Tensor:
    """Sums over ``axes`` (a count of last-of-x1 and first-of-x2 axes, or two lists)."""
    a, b = O.convert_to_tensor(x1), O.convert_to_tensor(x2)
    if isinstance(axes, int):
        pairs = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    else:
        first, second = axes
        pairs = (
            [first] if isinstance(first, int) else list(first),
            [second] if isinstance(second, int) else list(second),
        )
    spec_a = LETTERS[: a.ndim]
    spec_b = list(LETTERS[a.ndim : a.ndim + b.ndim])
    for i, j in zip(*pairs, strict=True):
        spec_b[j % b.ndim] = spec_a[i % a.ndim]
    summed = {spec_a[i % a.ndim] for i in pairs[0]}
    out = "".join(c for c in spec_a if c not in summed) + "".join(
        c for c in spec_b if c not in summed
    )
    return O.einsum(f"{spec_a},{''.join(spec_b)}->{out}", a, b)


def dot(x1: Any, x2: Any) -> Tensor:
    """NumPy's dot: products of scalars, vectors and matrices; for more axes, the last of
    x1 with the second-to-last of x2."""
    a, b = O.convert_to_tensor(x1), O.convert_to_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return O.multiply(a, b)
    if b.ndim == 1:
        return tensordot(a, b, ([a.ndim - 1], [0]))
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 2]))


def vdot(x1: Any, x2: Any) -> Tensor:
    """NumPy's vdot: the flattened x1, conjugated when complex, dotted with x2."""
    first = O.convert_to_tensor(x1)
    if first.dtype.kind == "c":
        first = Tensor(backend.get_array_module(first.data).conj(first.data))
    return O.sum(O.multiply(ravel(first), ravel(x2)))


def inner(x1: Any, x2: Any) -> Tensor:
    a, b = (O.convert_to_tensor(v) for v in O._operands(x1, x2))
    if a.ndim == 0 or b.ndim == 0:
        return O.multiply(a, b)  # NumPy's: a scalar scales
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def outer(x1: Any, x2: Any) -> Tensor:
    return O.multiply(O.reshape(ravel(x1), (-1, 1)), O.reshape(ravel(x2), (1, -1)))


def kron(x1: Any, x2: Any) -> Tensor:
    """The Kronecker product of arrays of any rank (the smaller one's shape padded with
    leading 1s, as NumPy's): each entry of x1 times the whole of x2."""
    a, b = (O.convert_to_tensor(v) for v in O._operands(x1, x2))
    ndim = max(a.ndim, b.ndim)
    a = O.reshape(a, (1,) * (ndim - a.ndim) + tuple(a.shape))
    b = O.reshape(b, (1,) * (ndim - b.ndim) + tuple(b.shape))
    # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...), then each pair of axes merged.
    spread_a = O.reshape(a, tuple(d for n in a.shape for d in (n, 1)))
    spread_b = O.reshape(b, tuple(d for n in b.shape for d in (1, n)))
    product = O.multiply(spread_a, spread_b)
    return O.reshape(product, tuple(m * n for m, n in zip(a.shape, b.shape, strict=True)))


def cross(x1: Any, x2: Any) -> Tensor:
    """The cross product of 3-vectors along the last axis."""
    a, b = O.convert_to_tensor(x1), O.convert_to_tensor(x2)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(f"cross: 3-vectors on the last axis, got {a.shape} and {b.shape}.")
    ax, ay, az = (a[..., i] for i in range(3))
    bx, by, bz = (b[..., i] for i in range(3))
    return O.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


class _Product(Function):
    """The product along an axis; each entry's gradient is the product of the others (by
    products from each side, so zeros are fine)."""

    def __init__(self, axis: int, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.x = xp.moveaxis(x, self.axis, -1)
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        ones = xp.ones_like(self.x[..., :1])
        left = xp.cumprod(xp.concatenate([ones, self.x[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(
            xp.cumprod(xp.concatenate([ones, xp.flip(self.x, -1)[..., :-1]], -1), -1), -1
        )
        g = grad if self.keepdims else xp.expand_dims(grad, self.axis)
        return xp.moveaxis(left * right, -1, self.axis) * g


def prod(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    x = O.convert_to_tensor(x)
    if axis is None:
        out = _Product(0, False)(ravel(x))
        return O.reshape(out, (1,) * x.ndim) if keepdims else out
    if isinstance(axis, (tuple, list)):
        for a in sorted((a % x.ndim for a in axis), reverse=True):
            x = _Product(a, keepdims)(x)
        return x
    return _Product(axis % x.ndim, keepdims)(x)


def diff(x: Any, n: int = 1, axis: int = -1) -> Tensor:
    x = O.convert_to_tensor(x)
    for _ in range(n):
        before = [slice(None)] * x.ndim
        after = [slice(None)] * x.ndim
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        x = x[tuple(after)] - x[tuple(before)]
    return x


def average(x: Any, axis: O.Axis = None, weights: Any = None) -> Tensor:
    if weights is None:
        return O.mean(x, axis=axis)
    x = O.convert_to_tensor(x)
    w = weights if isinstance(weights, Tensor) else np.asarray(weights, dtype=x.dtype)
    if w.ndim == 1 and x.ndim > 1 and axis is not None:
        shape = [1] * x.ndim
        shape[axis] = w.shape[0]
        w = O.reshape(w, tuple(shape)) if isinstance(w, Tensor) else w.reshape(shape)
    spread = O.multiply(O.ones_like(x), w)  # the weights on x's shape (and device)
    return O.sum(O.multiply(x, w), axis=axis) / O.sum(spread, axis=axis)


def quantile_positions(xp: Any, position: Any, last: Any, method: str) -> tuple[Any, Any, Any]:
    """Where a quantile at (fractional) ``position`` of sorted values reads: the indices
    below and above (at most ``last``) and the weight of the one above, by ``method``."""
    low = xp.floor(position).astype(np.int64)
    high = xp.minimum(low + 1, last)
    fraction = position - low
    if method == "lower":
        fraction = xp.zeros_like(fraction)
    elif method == "higher":
        fraction = (position > low).astype(float)
    elif method == "nearest":
        fraction = (xp.round(position) > low).astype(float)
    elif method == "midpoint":
        fraction = xp.where(position > low, 0.5, 0.0)
    elif method != "linear":
        raise ValueError(
            f"quantile: method {method!r} is not one of linear, lower, higher, nearest, midpoint."
        )
    return low, high, fraction


def quantile(
    x: Any, q: Any, axis: O.Axis = None, keepdims: bool = False, method: str = "linear"
) -> Tensor:
    """NumPy's quantile, method 'linear' (and 'lower', 'higher', 'nearest', 'midpoint'):
    the sorted values interpolated; the gradient goes to the values it reads."""
    x = O.convert_to_tensor(x)
    ordered, axis_ = sorted_last(x, axis)
    n = ordered.shape[-1]
    qs = quantile_levels(q)
    low, high, fraction = quantile_positions(np, qs * (n - 1), n - 1, method)
    xp = backend.get_array_module(ordered.data)
    below = ordered[..., xp.asarray(low)]
    above = ordered[..., xp.asarray(high)]
    out = below + (above - below) * xp.asarray(fraction, dtype=ordered.dtype)
    out = O.moveaxis(out, -1, 0)  # the quantiles first, as NumPy puts them
    return shaped_quantiles(out, x, axis, axis_, q, keepdims)


def sorted_last(x: Tensor, axis: O.Axis) -> tuple[Tensor, int]:
    """x sorted along ``axis`` (all of it flattened for None), that axis moved last; and
    the axis (0 for None)."""
    if axis is None:
        values, axis_ = ravel(x), 0
    else:
        values, axis_ = x, int(axis) % x.ndim
    return O.moveaxis(sort(values, axis_), axis_, -1), axis_


def quantile_levels(q: Any) -> np.ndarray:
    """The quantiles asked for, as float64 (a list stays exact; a Tensor is read)."""
    return np.atleast_1d(np.asarray(O._data(q) if isinstance(q, Tensor) else q, float))


def shaped_quantiles(
    out: Tensor, x: Tensor, axis: O.Axis, axis_: int, q: Any, keepdims: bool
) -> Tensor:
    """Quantiles (one per level first) in NumPy's shape: with ``keepdims`` the reduced axes
    kept as 1, and no level axis for a single q."""
    if keepdims:
        shape = list(x.shape) if axis is not None else [1] * x.ndim
        if axis is not None:
            shape[axis_] = 1
        out = O.reshape(out, (out.shape[0], *shape))
    return out[0] if np.ndim(q) == 0 else out


def percentile(
    x: Any, q: Any, axis: O.Axis = None, keepdims: bool = False, method: str = "linear"
) -> Tensor:
    return quantile(x, np.asarray(q, float) / 100.0, axis, keepdims, method)


def median(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return quantile(x, 0.5, axis, keepdims)


def select(condlist: list[Any], choicelist: list[Any], default: float = 0.0) -> Tensor:
    """The first choice whose condition holds, else ``default``."""
    out: Any = float(default)
    for condition, choice in reversed(list(zip(condlist, choicelist, strict=True))):
        out = O.where(O._data(O.convert_to_tensor(condition)), choice, out)
    return out


def copy(x: Any) -> Tensor:
    x = O.convert_to_tensor(x)
    return x * 1.0 if x.dtype.kind == "f" else Tensor(x.data.copy())
