"""The rest of Keras' ``keras.ops`` NumPy namespace for minicnn Tensors: NaN-skipping
reductions, ptp, cumprod, trapezoid, correlate, corrcoef, hypot, logaddexp2 and deg2rad
(differentiable); splits and stacks; the integer and bitwise functions, set and infinity
tests, windows (bartlett, blackman, hamming, hanning, kaiser), histogram, argpartition and
unravel_index (values only); the complex helpers on real Tensors (real, imag, conj, angle);
and vectorize. Re-exported by ``minicnn.ops``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Function, Tensor

__all__ = [
    "angle",
    "argpartition",
    "array",
    "array_split",
    "bartlett",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "blackman",
    "conj",
    "conjugate",
    "polar",
    "view_as_complex",
    "view_as_real",
    "corrcoef",
    "correlate",
    "cumprod",
    "deg2rad",
    "dstack",
    "empty_like",
    "gcd",
    "get_item",
    "hamming",
    "hanning",
    "heaviside",
    "histogram",
    "hypot",
    "imag",
    "isin",
    "isneginf",
    "isposinf",
    "isreal",
    "kaiser",
    "lcm",
    "ldexp",
    "left_shift",
    "logaddexp2",
    "nextafter",
    "ptp",
    "real",
    "right_shift",
    "trapezoid",
    "unravel_index",
    "vander",
    "vectorize",
    "view",
    "vsplit",
]


def _values(name: str, arity: int = 2) -> Callable[..., Tensor]:
    """xp.<name> on ``arity`` arrays: a result without a gradient (integers, tests, bits).
    (One more would be NumPy's ``out``, which it would write into.)"""

    def op(*xs: Any) -> Tensor:
        if len(xs) != arity:
            raise TypeError(f"{name}() takes {arity} argument(s) ({len(xs)} given)")
        arrays = [O._data(O.convert_to_tensor(x)) for x in xs]
        xp = backend.get_array_module(*arrays)
        return Tensor(getattr(xp, name)(*arrays))

    op.__name__ = name
    return op


bitwise_and, bitwise_or, bitwise_xor = (
    _values(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor")
)
bitwise_not = bitwise_invert = _values("invert", 1)
left_shift = bitwise_left_shift = _values("left_shift")
right_shift = bitwise_right_shift = _values("right_shift")
gcd, lcm, nextafter = _values("gcd"), _values("lcm"), _values("nextafter")
isneginf, isposinf = _values("isneginf", 1), _values("isposinf", 1)


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of x1 is among x2's."""
    a, b = (O._data(O.convert_to_tensor(x)) for x in (x1, x2))
    xp = backend.get_array_module(a, b)
    return Tensor(xp.isin(a, b, assume_unique=assume_unique, invert=invert))


def argpartition(x: Any, kth: int, axis: int = -1) -> Tensor:
    """Indices that put the kth element in its sorted place, smaller ones before it."""
    a = O._data(O.convert_to_tensor(x))
    return Tensor(backend.get_array_module(a).argpartition(a, kth, axis=axis))


def unravel_index(indices: Any, shape: tuple[int, ...]) -> tuple[Tensor, ...]:
    """The coordinates, one Tensor per axis, of flat ``indices`` into ``shape``."""
    a = O._data(O.convert_to_tensor(indices))
    return tuple(Tensor(c) for c in backend.get_array_module(a).unravel_index(a, shape))


def histogram(x: Any, bins: int = 10, range: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(counts, bin edges) of x's values, as NumPy's."""
    a = O._data(O.convert_to_tensor(x))
    counts, edges = backend.get_array_module(a).histogram(a, bins=bins, range=range)
    return Tensor(counts.astype(np.float32)), Tensor(edges)  # Keras' counts are floats


def view(x: Any, dtype: Any = None) -> Tensor:
    """The same bytes read as ``dtype``."""
    a = O._data(O.convert_to_tensor(x))
    return Tensor(a.view(np.dtype(dtype)) if dtype is not None else a.view())


def _window(name: str) -> Callable[..., Tensor]:
    def window(x: int, *args: Any) -> Tensor:
        return O._on_device(lambda xp: getattr(xp, name)(int(x), *args), None)

    window.__name__ = name
    return window


bartlett, blackman, hamming, hanning = (
    _window(n) for n in ("bartlett", "blackman", "hamming", "hanning")
)


def kaiser(x: int, beta: float) -> Tensor:
    return O._on_device(lambda xp: xp.kaiser(int(x), float(beta)), None)


# --- complex numbers (as NumPy's; their results take no gradient) ----------------------------


def _complex(x: Any) -> Any:
    """x's values when they are complex, else None (a real Tensor keeps its gradient)."""
    a = O._data(O.convert_to_tensor(x))
    return a if a.dtype.kind == "c" else None


def real(x: Any) -> Tensor:
    """The real part: a complex Tensor's, or a real Tensor itself (differentiable)."""
    a = _complex(x)
    if a is not None:
        return Tensor(backend.get_array_module(a).real(a).copy())
    return O.convert_to_tensor(x) * 1


def imag(x: Any) -> Tensor:
    """The imaginary part (zeros for a real Tensor)."""
    a = _complex(x)
    return O.zeros_like(x) if a is None else Tensor(backend.get_array_module(a).imag(a).copy())


def conj(x: Any) -> Tensor:
    """The complex conjugate (a real Tensor itself)."""
    a = _complex(x)
    return real(x) if a is None else Tensor(backend.get_array_module(a).conj(a))


conjugate = conj


def angle(x: Any) -> Tensor:
    """The angle of each value: atan2(imag, real); a real value's is pi where negative."""
    a = O._data(O.convert_to_tensor(x))
    xp = backend.get_array_module(a)
    if a.dtype.kind == "c":
        return Tensor(xp.angle(a))
    dtype = a.dtype if a.dtype.kind == "f" else np.float64
    return Tensor(xp.where(a < 0, math.pi, 0.0).astype(dtype))


def polar(abs_: Any, angle: Any) -> Tensor:
    """Keras' ops.polar: the complex numbers ``abs_ * exp(1j * angle)`` (complex64 of
    float32 parts)."""
    r, theta = (O._data(O.convert_to_tensor(v)) for v in O._operands(abs_, angle))
    xp = backend.get_array_module(r)
    dtype = np.complex128 if np.result_type(r.dtype, theta.dtype) == np.float64 else np.complex64
    return Tensor((r * xp.cos(theta) + 1j * (r * xp.sin(theta))).astype(dtype))


def view_as_real(x: Any) -> Tensor:
    """Keras' ops.view_as_real: complex values as (..., 2) of their real and imaginary
    parts (real values: their imaginary parts 0, in their dtype)."""
    a = O._data(O.convert_to_tensor(x))
    xp = backend.get_array_module(a)
    parts = [xp.real(a), xp.imag(a)] if a.dtype.kind == "c" else [a, xp.zeros_like(a)]
    return Tensor(xp.stack(parts, axis=-1))


def view_as_complex(x: Any) -> Tensor:
    """Keras' ops.view_as_complex: (..., 2) real and imaginary parts as complex values."""
    a = O._data(O.convert_to_tensor(x))
    if a.dtype.kind != "f" or a.ndim == 0 or a.shape[-1] != 2:
        raise ValueError(
            "view_as_complex takes floats of a last axis of size 2 (real, imaginary), got "
            f"{a.dtype} of shape {tuple(a.shape)}."
        )
    dtype = np.complex128 if a.dtype == np.float64 else np.complex64
    return Tensor((a[..., 0] + 1j * a[..., 1]).astype(dtype))


def isreal(x: Any) -> Tensor:
    """Where the imaginary part is 0 (everywhere, for real values)."""
    a = _complex(x)
    if a is None:
        return O.ones_like(x, dtype="bool")
    return Tensor(backend.get_array_module(a).imag(a) == 0)


# --- differentiable functions ------------------------------------------------------------------


def deg2rad(x: Any) -> Tensor:
    return O.convert_to_tensor(x) * (math.pi / 180)


def hypot(x1: Any, x2: Any) -> Tensor:
    """sqrt(x1^2 + x2^2) elementwise."""
    return O.sqrt(O.square(x1) + O.square(x2))


def logaddexp2(x1: Any, x2: Any) -> Tensor:
    """log2(2^x1 + 2^x2), without overflow."""
    from .numpy_ops import logaddexp

    O.real_only("logaddexp2", x1, x2)

    ln2 = math.log(2)
    a, b = (O.convert_to_tensor(v) for v in O._operands(x1, x2))
    return logaddexp(a * ln2, b * ln2) * (1 / ln2)


def heaviside(x1: Any, x2: Any) -> Tensor:
    """0 where x1 < 0, 1 where x1 > 0, x2 where x1 == 0 (the gradient reaches x2)."""
    x1 = O.convert_to_tensor(x1)
    return O.where(O.less(x1, 0), 0.0, O.where(O.greater(x1, 0), 1.0, x2))


def ldexp(x1: Any, x2: Any) -> Tensor:
    """x1 * 2**x2, x2 integers."""
    exponent = O._data(O.convert_to_tensor(x2))
    return O.convert_to_tensor(x1) * Tensor(backend.get_array_module(exponent).exp2(exponent))


def ptp(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    """max - min."""
    return O.max(x, axis=axis, keepdims=keepdims) - O.min(x, axis=axis, keepdims=keepdims)


class _CumProd(Function):
    """The running product; the gradient by a backward recurrence, so zeros are fine:
    dL/dx_i = (prod of x before i) * S_i, S_i = g_i + x_(i+1) S_(i+1)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        self.x = x
        return backend.get_array_module(x).cumprod(x, axis=self.axis)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        x, g = xp.moveaxis(self.x, self.axis, 0), xp.moveaxis(grad, self.axis, 0)
        before = xp.concatenate([xp.ones_like(x[:1]), xp.cumprod(x[:-1], axis=0)])
        tail = xp.zeros_like(g)
        running = g[-1]
        tail[-1] = running
        for i in range(g.shape[0] - 2, -1, -1):
            running = g[i] + x[i + 1] * running
            tail[i] = running
        return xp.moveaxis(before * tail, 0, self.axis)


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """The running product along ``axis`` (the flattened array when None)."""
    x = O.convert_to_tensor(x)
    if dtype is not None:
        x = O.cast(x, dtype)
    if axis is None:
        return _CumProd(0)(O.reshape(x, (-1,)))
    return _CumProd(axis % x.ndim)(x)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Tensor:
    """The trapezoid rule's integral of y along ``axis``, at spacing dx or points x."""
    y = O.moveaxis(O.convert_to_tensor(y), axis, -1)
    pairs = (y[..., 1:] + y[..., :-1]) * 0.5
    if x is None:
        return O.sum(pairs, axis=-1) * dx
    x = O.convert_to_tensor(x)
    x = x if x.ndim == 1 else O.moveaxis(x, axis, -1)
    steps = x[..., 1:] - x[..., :-1]
    return O.sum(pairs * steps, axis=-1)


def correlate(x1: Any, x2: Any, mode: str = "valid") -> Tensor:
    """NumPy's correlate of two 1-D Tensors, c[k] = sum_n x1[n + k] x2[n] ('valid', 'same'
    or 'full'), as a gather of x1's windows times x2 (differentiable in both)."""
    a, v = O.convert_to_tensor(x1), O.convert_to_tensor(x2)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"correlate: two 1-D inputs, got shapes {a.shape} and {v.shape}.")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode 'valid', 'same' or 'full', got {mode!r}.")
    m, n = a.shape[0], v.shape[0]
    padded = O.pad(a, ((n - 1, n - 1),))
    xp = backend.get_array_module(a.data)
    places = xp.asarray(np.arange(m + n - 1)[:, None] + np.arange(n))
    full = O.matmul(padded[places], v)  # full[k'] = sum_j a_pad[k' + j] v[j]
    if mode == "full":
        return full
    if mode == "valid":
        return full[min(m, n) - 1 : max(m, n)]
    start = (n - 1) // 2 if m >= n else m // 2  # where NumPy centers it
    return full[start : start + max(m, n)]


def corrcoef(x: Any) -> Tensor:
    """Pearson correlation coefficients of the rows of x (each row a variable)."""
    x = O.convert_to_tensor(x)
    if x.dtype.kind == "c":  # NumPy's, with conjugates (no gradient)
        return Tensor(backend.get_array_module(x.data).corrcoef(x.data).astype(x.dtype))
    vector = x.ndim == 1
    if vector:
        x = O.expand_dims(x, 0)
    centered = x - O.mean(x, axis=1, keepdims=True)
    cov = O.matmul(centered, O.transpose(centered))
    spread = O.sqrt(O.sum(O.square(centered), axis=1))
    found = O.clip(cov / (O.expand_dims(spread, 1) * O.expand_dims(spread, 0)), -1.0, 1.0)
    return O.reshape(found, ()) if vector else found  # one variable: a number, as NumPy's


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """Columns of powers of the 1-D x: x^(N-1), ..., x, 1 (or increasing)."""
    x = O.convert_to_tensor(x)
    count = x.shape[0] if N is None else N
    powers = range(count) if increasing else range(count - 1, -1, -1)
    return O.stack([O.power(x, float(k)) if k else O.ones_like(x) for k in powers], axis=1)


# --- splits, stacks, items ---------------------------------------------------------------------


def array(x: Any, dtype: Any = None) -> Tensor:
    return O.convert_to_tensor(x, dtype)


def empty_like(x: Any, dtype: Any = None) -> Tensor:
    return O.zeros_like(x, dtype)


def get_item(x: Any, key: Any) -> Tensor:
    return O.convert_to_tensor(x)[key]


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Split into pieces; a count need not divide the axis (the first pieces get one more)."""
    x = O.convert_to_tensor(x)
    size = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        count = int(indices_or_sections)
        base, extra = divmod(size, count)
        ends = np.cumsum([base + (i < extra) for i in range(count)])
        bounds = [0, *ends.tolist()]
    else:
        bounds = [0, *indices_or_sections, size]
    lead = (slice(None),) * (axis % x.ndim)
    return [x[(*lead, slice(a, b))] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def vsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    from .numpy_ops import split

    return split(x, indices_or_sections, axis=0)


def dstack(xs: list[Any]) -> Tensor:
    """Stacked along the third axis (1-D and 2-D inputs made 3-D first, as NumPy's)."""

    def three_d(t: Tensor) -> Tensor:
        if t.ndim == 1:
            return O.reshape(t, (1, t.shape[0], 1))
        return O.expand_dims(t, -1) if t.ndim == 2 else t

    from .numpy_ops import _sequence

    return O.concatenate([three_d(t) for t in _sequence(xs)], axis=2)


# --- vectorize ---------------------------------------------------------------------------------

_CORE = re.compile(r"\(([^()]*)\)")


def vectorize(
    pyfunc: Callable[..., Any], *, excluded: Any = None, signature: str | None = None
) -> Callable[..., Tensor]:
    """NumPy's vectorize for functions on Tensors: ``pyfunc`` on each element (or, with a
    ``signature`` such as '(n),(n)->()', on each core block) of inputs broadcast together,
    the results stacked; differentiable through pyfunc."""
    excluded = set(excluded or ())
    if signature is None:
        ins, outs = None, 0
    else:
        left, _, right = signature.replace(" ", "").partition("->")
        ins = [len([d for d in core.split(",") if d]) for core in _CORE.findall(left)]
        outs = len([d for d in _CORE.findall(right)[0].split(",") if d])

    def vectorized(*args: Any, **kwargs: Any) -> Tensor:
        picked = [k for k in range(len(args)) if k not in excluded]
        tensors = {k: O.convert_to_tensor(args[k]) for k in picked}
        cores = ins or [0] * len(picked)
        loops = [
            tensors[k].shape[: tensors[k].ndim - c] for k, c in zip(picked, cores, strict=True)
        ]
        loop = np.broadcast_shapes(*loops)
        for k, c in zip(picked, cores, strict=True):
            t = tensors[k]
            tensors[k] = O.broadcast_to(t, (*loop, *t.shape[t.ndim - c :]))
        results = []
        for place in np.ndindex(*loop):
            call = list(args)
            for k in picked:
                call[k] = tensors[k][place] if place else tensors[k]
            results.append(O.convert_to_tensor(pyfunc(*call, **kwargs)))
        stacked = O.stack(results, axis=0)
        return O.reshape(stacked, (*loop, *stacked.shape[1:])) if outs is not None else stacked

    return vectorized
