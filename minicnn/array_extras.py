"""NumPy-style ops of Keras 3.15 (``ops.fmod``, ``ops.cdist``, ``ops.unique`` ...), each
as NumPy defines it and, where it has one, with its gradient."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Tensor

__all__ = [
    "allclose",
    "cdist",
    "dsplit",
    "fabs",
    "fliplr",
    "flipud",
    "fmax",
    "fmin",
    "fmod",
    "geomspace",
    "hsplit",
    "i0",
    "rad2deg",
    "segment_min",
    "segment_prod",
    "sinc",
    "unique",
]


def fliplr(x: Any) -> Tensor:
    """The columns (axis 1) in reverse order."""
    x = O.convert_to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: an input of two axes or more, got shape {x.shape}.")
    return O.flip(x, 1)


def flipud(x: Any) -> Tensor:
    """The rows (axis 0) in reverse order."""
    x = O.convert_to_tensor(x)
    if x.ndim < 1:
        raise ValueError("flipud: an input of one axis or more, got a scalar.")
    return O.flip(x, 0)


def hsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along axis 1 (axis 0 of a vector), as NumPy's hsplit."""
    x = O.convert_to_tensor(x)
    return O.split(x, indices_or_sections, axis=1 if x.ndim > 1 else 0)


def dsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along axis 2 (depth), as NumPy's dsplit."""
    x = O.convert_to_tensor(x)
    if x.ndim < 3:
        raise ValueError(f"dsplit: an input of three axes or more, got shape {x.shape}.")
    return O.split(x, indices_or_sections, axis=2)


def fmod(x1: Any, x2: Any) -> Tensor:
    """C's remainder, with the dividend's sign: x1 - trunc(x1 / x2) x2 (``mod`` takes the
    divisor's); integers exactly, floats with the gradients 1 and -trunc(x1 / x2)."""
    a, b = (O.convert_to_tensor(v) for v in O._operands(x1, x2))
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return Tensor(backend.get_array_module(a.data).fmod(a.data, b.data))
    return a - O.trunc(a / b) * b


def _ignoring_nan(pick: Any) -> Any:
    def op(x1: Any, x2: Any) -> Tensor:
        a, b = (O.convert_to_tensor(v) for v in O._operands(x1, x2))
        return O.where(O.isnan(a), b, O.where(O.isnan(b), a, pick(a, b)))

    return op


fmax = _ignoring_nan(O.maximum)
fmax.__doc__ = "The larger of each pair; a NaN loses to a number (NaN for two NaN)."
fmin = _ignoring_nan(O.minimum)
fmin.__doc__ = "The smaller of each pair; a NaN loses to a number (NaN for two NaN)."


def fabs(x: Any) -> Tensor:
    """|x| as a float."""
    x = O.convert_to_tensor(x)
    return O.abs(x if x.dtype.kind == "f" else O.cast(x, backend.FLOAT))


def rad2deg(x: Any) -> Tensor:
    x = O.convert_to_tensor(x)
    return (x if x.dtype.kind in "fc" else O.cast(x, backend.FLOAT)) * (180.0 / math.pi)


def sinc(x: Any) -> Tensor:
    """sin(pi x) / (pi x), and 1 at 0 (where its slope is 0)."""
    x = O.convert_to_tensor(x)
    x = x if x.dtype.kind in "fc" else O.cast(x, backend.FLOAT)
    zero = x.data == 0
    safe = O.where(zero, 1.0, x) * math.pi  # no 0/0 in the gradient either
    return O.where(zero, 1.0, O.sin(safe) / safe)


def geomspace(
    start: float,
    stop: float,
    num: int = 50,
    endpoint: bool = True,
    dtype: Any = None,
    axis: int = 0,
) -> Tensor:
    """``num`` numbers from start to stop evenly spaced on a log scale."""

    def make(xp: Any) -> Any:  # on the host: CuPy has no geomspace
        values = np.geomspace(start, stop, num, endpoint=endpoint, axis=axis)
        return xp.asarray(values.astype(backend.FLOAT))

    return O._on_device(make, dtype)


def i0(x: Any) -> Tensor:
    """The modified Bessel function of the first kind, order 0 (Kaiser's window); no
    gradient."""
    data = O._data(O.convert_to_tensor(x))
    data = data if data.dtype.kind == "f" else data.astype(backend.FLOAT)
    return Tensor(backend.get_array_module(data).i0(data).astype(data.dtype))


def allclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """Whether |x1 - x2| <= atol + rtol |x2| everywhere (a boolean scalar)."""
    a, b = (O._data(O.convert_to_tensor(v)) for v in (x1, x2))
    xp = backend.get_array_module(a, b)
    return Tensor(xp.asarray(xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def cdist(x: Any, y: Any) -> Tensor:
    """The Euclidean distance of each row of x (..., m, d) to each row of y (..., n, d):
    (..., m, n)."""
    x, y = O.convert_to_tensor(x), O.convert_to_tensor(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"cdist: x (..., m, d) and y (..., n, d) of the same d, got {x.shape} and {y.shape}."
        )
    difference = O.expand_dims(x, -2) - O.expand_dims(y, -3)
    return O.sqrt(O.sum(difference * difference, axis=-1))


def _segments(data: Any, segment_ids: Any, num_segments: int | None) -> tuple[Tensor, Any, int]:
    data = O.convert_to_tensor(data)
    ids = O._data(O.convert_to_tensor(segment_ids)).astype(np.int64)
    xp = backend.get_array_module(data.data)
    count = int(ids.max()) + 1 if num_segments is None else int(num_segments)
    member = xp.asarray(ids)[None, :] == xp.arange(count)[:, None]
    member = member.reshape(count, data.shape[0], *(1,) * (data.ndim - 1))
    return data, xp.broadcast_to(member, (count, *data.shape)), count


def segment_min(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> Tensor:  # noqa: A002
    """The rows of ``data``, min by segment id (an empty segment: the dtype's highest, as
    ``segment_max`` gives its lowest)."""
    data, member, _ = _segments(data, segment_ids, num_segments)
    highest = (
        float(np.finfo(data.dtype).max) if data.dtype.kind == "f" else np.iinfo(data.dtype).max
    )
    return O.min(O.where(member, O.expand_dims(data, 0), highest), axis=1)


def segment_prod(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> Tensor:  # noqa: A002
    """The rows of ``data`` multiplied by segment id (an empty segment: 1); differentiable."""
    from .numpy_ops import prod

    data, member, _ = _segments(data, segment_ids, num_segments)
    return prod(O.where(member, O.expand_dims(data, 0), 1), axis=1)


def unique(
    x: Any,
    sorted: bool = True,  # noqa: A002
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    size: int | None = None,
    fill_value: Any = None,
) -> Any:
    """NumPy's unique (sorted, as Keras gives them either way): the distinct values (rows
    with ``axis``), and with the flags each one's first index, each element's index among
    them and their counts; ``size`` pads (with ``fill_value``, else the smallest value) or
    cuts them to a fixed length, as JAX's."""
    data = O._data(O.convert_to_tensor(x))
    xp = backend.get_array_module(data)
    values, index, inverse, counts = xp.unique(
        data, return_index=True, return_inverse=True, return_counts=True, axis=axis
    )
    if size is not None:
        along = 0 if axis is None else axis
        found = values.shape[along]
        fill = values.min() if fill_value is None and found else (fill_value or 0)
        if found >= size:
            cut = [slice(None)] * values.ndim
            cut[along] = slice(0, size)
            values, index, counts = values[tuple(cut)], index[:size], counts[:size]
        else:
            pad = [(0, 0)] * values.ndim
            pad[along] = (0, size - found)
            values = xp.pad(values, pad, constant_values=fill)
            index = xp.pad(index, (0, size - found))
            counts = xp.pad(counts, (0, size - found))
    extras = [
        Tensor(array)
        for array, wanted in (
            (index, return_index),
            (inverse, return_inverse),
            (counts, return_counts),
        )
        if wanted
    ]
    return (Tensor(values), *extras) if extras else Tensor(values)
