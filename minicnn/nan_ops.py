"""Keras' NaN-ignoring ops (``ops.nansum`` ... ``ops.nanquantile``): NumPy's rules, a NaN
taking no part, and gradients to the values that do."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Tensor

__all__ = [
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmedian",
    "nanmin",
    "nanpercentile",
    "nanprod",
    "nanquantile",
    "nanstd",
    "nansum",
    "nanvar",
]


def _nan_filled(x: Any, fill: float) -> Tensor:
    """x with each NaN as ``fill``; ints (which hold no NaN) as they are."""
    x = O.convert_to_tensor(x)
    if np.dtype(x.dtype).kind in "biu":
        return x
    return O.where(O.isnan(x), fill, x)


def _kept(x: Any) -> Tensor:
    """1 where x is a number, 0 where it is NaN, in x's float dtype."""
    x = O.convert_to_tensor(x)
    return O.cast(O.logical_not(O.isnan(x)), x.dtype)


def nansum(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return O.sum(_nan_filled(x, 0.0), axis=axis, keepdims=keepdims)


def _per_number(total: Tensor, x: Any, axis: O.Axis, keepdims: bool) -> Tensor:
    """``total`` divided by the count of numbers it summed; NaN where there were none."""
    count = O.sum(_kept(x), axis=axis, keepdims=keepdims)
    none = count.data == 0
    return O.where(none, np.nan, total / O.where(none, 1.0, count))


def nanmean(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return _per_number(nansum(x, axis, keepdims), x, axis, keepdims)


def nanvar(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    """The variance of the numbers (divided by their count); NaN where there are none."""
    x = O.convert_to_tensor(x)
    if x.dtype.kind == "c":  # the mean squared modulus of the deviations, real (no gradient)
        xp = backend.get_array_module(x.data)
        axes = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        return Tensor(xp.nanvar(x.data, axis=axes, keepdims=keepdims))
    deviation = _nan_filled(x - nanmean(x, axis, keepdims=True), 0.0)
    return _per_number(
        O.sum(deviation * deviation, axis=axis, keepdims=keepdims), x, axis, keepdims
    )


def nanstd(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return O.sqrt(nanvar(x, axis, keepdims))


def nanmax(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return O.max(_nan_filled(x, -np.inf), axis=axis, keepdims=keepdims)


def nanmin(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return O.min(_nan_filled(x, np.inf), axis=axis, keepdims=keepdims)


def nanprod(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    from .numpy_ops import prod

    return prod(_nan_filled(x, 1.0), axis=axis, keepdims=keepdims)


def _nan_arg(x: Any, axis: int | None, keepdims: bool, fill: float, name: str) -> Tensor:
    """Where the largest (smallest) number is; -1 where a slice has only NaN (as Keras)."""
    data = O._data(O.convert_to_tensor(x))
    xp = backend.get_array_module(data)
    nan = xp.isnan(data)
    filled = xp.where(nan, fill, data)
    found = getattr(filled, name)(axis=axis, keepdims=keepdims)
    empty = nan.all(axis=axis, keepdims=keepdims)
    return Tensor(xp.where(empty, -1, found))


def nanargmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return _nan_arg(x, axis, keepdims, -np.inf, "argmax")


def nanargmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return _nan_arg(x, axis, keepdims, np.inf, "argmin")


def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """The running sum with each NaN counted as 0."""
    out = O.cumsum(_nan_filled(x, 0.0), axis=axis)
    return out if dtype is None else O.cast(out, dtype)


def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """The running product with each NaN counted as 1."""
    return O.cumprod(_nan_filled(x, 1.0), axis=axis, dtype=dtype)


def nanquantile(
    x: Any, q: Any, axis: O.Axis = None, method: str = "linear", keepdims: bool = False
) -> Tensor:
    """NumPy's nanquantile: each slice's numbers sorted (NaN sort last) and read at q of
    their own count, with ``quantile``'s methods; NaN for a slice of NaN only."""
    from .numpy_ops import quantile_levels, quantile_positions, shaped_quantiles, sorted_last

    x = O.convert_to_tensor(x)
    ordered, axis_ = sorted_last(x, axis)  # NaN last, as NumPy sorts
    data = ordered.data
    xp = backend.get_array_module(data)
    counts = (~xp.isnan(data)).sum(axis=-1, keepdims=True)  # (..., 1)
    qs = quantile_levels(q)
    last = xp.maximum(counts - 1, 0)
    outs = []
    for quantile in qs:
        position = xp.asarray(quantile) * last
        low, high, fraction = quantile_positions(xp, position, last, method)
        below = O.take_along_axis(ordered, low, axis=-1)
        above = O.take_along_axis(ordered, high, axis=-1)
        value = below + (above - below) * fraction.astype(data.dtype)
        outs.append(O.where(counts == 0, np.nan, value)[..., 0])
    out = O.stack(outs, axis=0)  # the quantiles first, as NumPy puts them
    return shaped_quantiles(out, x, axis, axis_, q, keepdims)


def nanpercentile(
    x: Any, q: Any, axis: O.Axis = None, method: str = "linear", keepdims: bool = False
) -> Tensor:
    q = np.asarray(O._data(q) if isinstance(q, Tensor) else q, float) / 100.0
    return nanquantile(x, q, axis, method, keepdims)


def nanmedian(x: Any, axis: O.Axis = None, keepdims: bool = False) -> Tensor:
    return nanquantile(x, 0.5, axis, keepdims=keepdims)
