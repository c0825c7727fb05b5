"""Keras' ``quantizers.fake_quant_with_min_max_vars`` (TensorFlow's FakeQuant, for
quantization-aware training) and its int4 packing helpers ``pack_int4``/``unpack_int4``."""

from __future__ import annotations

from typing import Any

from . import backend, ops
from .autograd import Function, Tensor
from .quantization import pack_int4_values, unpack_int4_values


class _FakeQuant(Function):
    """Forward, TensorFlow's FakeQuant: the range nudged so that 0 is a step, values clamped
    to it and rounded half up to its steps. Backward, the straight-through estimator: the
    gradient passes where x is inside the range; at or below it, it goes to min as well,
    at or above it to max (per channel along ``axis``, else for the whole tensor)."""

    def __init__(self, num_bits: int, narrow_range: bool, axis: int | None) -> None:
        self.num_bits, self.narrow_range, self.axis = num_bits, narrow_range, axis

    def _spread(self, v: Any, rank: int) -> Any:
        if self.axis is None:
            return v.reshape(())
        shape = [1] * rank
        shape[self.axis] = -1
        return v.reshape(shape)

    def forward(self, x: Any, low: Any, high: Any) -> Any:
        xp = backend.get_array_module(x)
        shapes = low.shape, high.shape
        low, high = self._spread(low, x.ndim), self._spread(high, x.ndim)
        quant_max = (1 << self.num_bits) - 1
        quant_min = 1 if self.narrow_range else 0
        scale = (high - low) / (quant_max - quant_min)
        inv_scale = (quant_max - quant_min) / (high - low)
        zero = xp.round(xp.clip(quant_min - low / scale, quant_min, quant_max))
        nudged_min, nudged_max = (quant_min - zero) * scale, (quant_max - zero) * scale
        quant_zero = xp.floor(-nudged_min * inv_scale + 0.5)
        shifted = xp.clip(x, nudged_min, nudged_max) - nudged_min
        if self.recording:
            self.shapes = shapes
            self.below, self.above = x <= nudged_min, x >= nudged_max
            self.inside = (x >= nudged_min) & (x <= nudged_max)
        return (xp.floor(shifted * inv_scale - quant_zero + 0.5) * scale).astype(x.dtype)

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        xp = backend.get_array_module(grad)
        axes = tuple(i for i in range(grad.ndim) if i != self.axis)
        dlow = xp.where(self.below, grad, 0).sum(axis=axes).reshape(self.shapes[0])
        dhigh = xp.where(self.above, grad, 0).sum(axis=axes).reshape(self.shapes[1])
        return xp.where(self.inside, grad, 0), dlow, dhigh


def fake_quant_with_min_max_vars(
    inputs: Any,
    min_vals: Any,
    max_vals: Any,
    num_bits: int = 8,
    narrow_range: bool = False,
    axis: int | None = None,
) -> Tensor:
    """Keras' fake quantization to ``num_bits`` over [min_vals, max_vals] (one pair for the
    tensor, or one per entry of ``axis``), with gradients for the input and the range, so
    that min and max can be learned."""
    x = ops.convert_to_tensor(inputs)
    if axis is not None:
        axis = int(axis) % x.ndim
    bounds = [ops.cast(ops.convert_to_tensor(v), x.dtype) for v in (min_vals, max_vals)]
    return _FakeQuant(int(num_bits), bool(narrow_range), axis)(x, *bounds)


def pack_int4(arr: Any, axis: int = 0, dtype: str = "int8") -> tuple[Any, tuple[int, ...], int]:
    """Keras' pack_int4: int4 values (held in int8 or uint8) two to a byte along ``axis``,
    the even entries in the low nibble; gives the packed array, its shape and the axis'
    length before packing (odd lengths get a zero after)."""
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    values = ops.convert_to_numpy(arr)
    if values.dtype.name != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got {values.dtype.name}.")
    packed = pack_int4_values(values, axis, dtype)
    return packed, tuple(packed.shape), values.shape[axis % values.ndim]


def unpack_int4(packed: Any, orig_len: int, axis: int = 0, dtype: str = "int8") -> Any:
    """Keras' unpack_int4: ``pack_int4``'s bytes back to one int4 value each (signed for
    "int8", 0..15 for "uint8"), the axis cut to ``orig_len``."""
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    values = ops.convert_to_numpy(packed)
    if values.dtype.name not in ("int8", "uint8"):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {values.dtype.name}")
    return unpack_int4_values(values, orig_len, axis, dtype)
