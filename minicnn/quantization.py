"""Keras 3's int8 and int4 quantization (``model.quantize("int8")`` or ``"int4"``, the
guide "Quantization in Keras").

int8: a Dense layer keeps its kernel as int8 with one float32 scale per output unit, and
multiplies inputs that it quantizes itself, row by row, to int8 (abs-max scaling, as Keras'
``abs_max_quantize``); an Embedding keeps its table as int8 with one scale per row. The
int8 products are summed in float32, exact while a unit has at most 1040 inputs
(127 * 127 * 1040 < 2 ** 24; Keras sums in int32).

int4 (weights only, as Keras 3.15): the matrix's values in [-8, 7], two to a byte along its
last axis (``pack_int4``). By default in blocks of 128 along the axis each scale covers (a
Dense's inputs, an Embedding's features), each block of each unit with its own scale and
zero point over its min..max (``abs_max_quantize_grouped_with_zero_point``); block size -1
(``Int4QuantizationConfig(block_size=-1)``) gives one abs-max scale per unit instead. The
inputs stay float32: the layer computes with the matrix dequantized.

An EinsumDense quantizes likewise (``minicnn.einsum``): int8 over the axes its sum runs
over, int4 on its kernel reshaped to a matrix.

The quantized weights do not train (LoRA, enabled afterwards, does), and the model saves and
loads quantized (its layers' dtype policy is Keras' "int8_from_float32" or
"int4/128_from_float32")."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Function, Tensor

EPSILON = 1e-7  # Keras' backend.epsilon()
MODES = ("int8", "int4")  # Keras also has "float8", "gptq" and "awq"
VALUE_RANGES = {"int8": (-127, 127), "int4": (-8, 7)}
DEFAULT_BLOCK_SIZE = 128  # Keras' Int4QuantizationConfig's


def abs_max_quantize(
    inputs: Any,
    axis: int | tuple[int, ...],
    value_range: tuple[int, int] = (-127, 127),
    dtype: str = "int8",
    epsilon: float = EPSILON,
) -> tuple[Any, Any]:
    """Keras' ``quantizers.abs_max_quantize``: values scaled so that the largest magnitude
    along ``axis`` becomes ``value_range[1]``, rounded and clipped, as ``dtype``; and the
    scale (kept dims), which divides them back."""
    data = inputs.data if isinstance(inputs, Tensor) else inputs
    xp = backend.get_array_module(data)
    data = data.astype(np.float32, copy=False)
    scale = value_range[1] / (xp.abs(data).max(axis=axis, keepdims=True) + np.float32(epsilon))
    scale = scale.astype(np.float32)
    quantized = xp.clip(xp.round(data * scale), value_range[0], value_range[1]).astype(dtype)
    return quantized, scale


def abs_max_quantize_grouped_with_zero_point(
    inputs: Any,
    block_size: int,
    value_range: tuple[int, int] = (-8, 7),
    dtype: str = "int8",
    epsilon: float = EPSILON,
) -> tuple[Any, Any, Any]:
    """Keras' grouped asymmetric quantization of a 2-D matrix (inputs, units): each block
    of ``block_size`` rows of each column mapped from its [min, max] to ``value_range``
    (the last block padded with zeros, which count in its range). Gives the values
    (inputs, units) as ``dtype``, and the scales and int8 zero points (blocks, units);
    a value is (quantized - zero) * scale again."""
    data = inputs.data if isinstance(inputs, Tensor) else inputs
    xp = backend.get_array_module(data)
    data = data.astype(np.float32, copy=False)
    if data.ndim != 2:
        raise ValueError(f"Grouped quantization takes a 2-D matrix; got shape {data.shape}.")
    rows, cols = data.shape
    blocks = -(-rows // block_size)
    padded = xp.zeros((blocks * block_size, cols), np.float32)
    padded[:rows] = data
    padded = padded.reshape(blocks, block_size, cols)
    low, high = padded.min(axis=1, keepdims=True), padded.max(axis=1, keepdims=True)
    qmin, qmax = value_range
    scale = ((high - low) + np.float32(epsilon)) / np.float32(qmax - qmin)
    zero = xp.clip(xp.round(-low / scale) + np.float32(qmin), qmin, qmax)
    values = xp.clip(xp.round(padded / scale) + zero, qmin, qmax).astype(dtype)
    values = values.reshape(blocks * block_size, cols)[:rows]
    return values, scale[:, 0], zero[:, 0].astype(np.int8)


def dequantize_with_sz_map(
    weights_matrix: Any, scale: Any, zero: Any, g_idx: Any, group_axis: int = -1
) -> Any:
    """Keras' ``dequantize_with_sz_map``: (values - zero) * scale, each position along
    ``group_axis`` taking its group's scale and zero point (``g_idx`` names the group)."""
    raw = [a.data if isinstance(a, Tensor) else a for a in (weights_matrix, scale, zero, g_idx)]
    values, scale, zero, groups = raw
    xp = backend.get_array_module(values, scale)
    groups = xp.asarray(groups).astype(np.int64)
    scales = xp.take(scale, groups, axis=group_axis)
    zeros = xp.take(zero, groups, axis=group_axis).astype(scales.dtype)
    return (values - zeros) * scales


def pack_int4_values(values: Any, axis: int = 0, dtype: str = "int8") -> Any:
    """int4 values (int8 or uint8 arrays, NumPy or CuPy) two to a byte along ``axis``, the
    even entries in the low nibble (an odd length gets a zero after), as Keras packs."""
    xp = backend.get_array_module(values)
    axis %= values.ndim
    moved = xp.moveaxis(values, axis, 0)
    if moved.shape[0] % 2:
        moved = xp.concatenate([moved, xp.zeros((1, *moved.shape[1:]), moved.dtype)])
    low = moved[::2].view(np.uint8) & 0x0F
    high = moved[1::2].view(np.uint8) & 0x0F
    return xp.moveaxis((low | (high << 4)).view(np.dtype(dtype)), 0, axis)


def unpack_int4_values(packed: Any, length: int, axis: int = 0, dtype: str = "int8") -> Any:
    """``pack_int4_values``' bytes back to one value each (signed for "int8", 0..15 for
    "uint8"), the axis cut to ``length``."""
    xp = backend.get_array_module(packed)
    axis %= packed.ndim
    moved = xp.moveaxis(packed.view(np.uint8), axis, 0)
    nibbles = xp.empty((2 * moved.shape[0], *moved.shape[1:]), np.uint8)
    nibbles[::2], nibbles[1::2] = moved & 0x0F, (moved >> 4) & 0x0F
    out = nibbles[:length].astype(np.int16)
    if dtype == "int8":
        out = (out ^ 8) - 8  # the nibble's sign bit
    return xp.moveaxis(out.astype(dtype), 0, axis)


def quantize_and_dequantize(inputs: Any, scale: Any, quantized_dtype: str = "int8") -> Any:
    """Keras' ``quantizers.quantize_and_dequantize`` for int8: the values int8 would keep."""
    data = inputs.data if isinstance(inputs, Tensor) else inputs
    xp = backend.get_array_module(data)
    return (xp.clip(xp.round(data * scale), -127, 127) / scale).astype(np.float32)


class Int8Matmul(Function):
    """x @ (kernel / kernel_scale), the way Keras' int8 Dense computes it: each row of x
    quantized to int8 by its own abs-max scale, an int8 x int8 product, then both scales
    divided out. Its gradient reaches x alone, through the dequantized kernel (the kernel
    and its scale are constants)."""

    def forward(self, x: Any, kernel: Any, kernel_scale: Any) -> Any:
        xq, x_scale = abs_max_quantize(x, axis=-1)
        self.kernel, self.kernel_scale = kernel, kernel_scale
        product = xq.astype(np.float32) @ kernel.astype(np.float32)
        return (product / (x_scale * kernel_scale)).astype(np.float32)

    def backward(self, grad: Any) -> tuple[Any, None, None]:
        dequantized = self.kernel.astype(np.float32) / self.kernel_scale
        return grad @ dequantized.T, None, None


def int8_matmul(x: Tensor, kernel: Tensor, kernel_scale: Tensor) -> Tensor:
    return Int8Matmul()(x, kernel, kernel_scale)


def check_mode(mode: Any, owner: str) -> str:
    if mode not in MODES:
        raise ValueError(
            f"{owner}: quantization mode must be one of {MODES} (Keras' float8, gptq and "
            f"awq modes are not available); got {mode!r}."
        )
    return mode


def resolve_quantization(mode: Any, config: Any, owner: str) -> tuple[str, int | None]:
    """The mode and int4 block size (None: a scale per unit) that ``quantize(mode,
    config=...)`` asks for, as Keras resolves them: the config's mode where it is given
    (it must agree with ``mode``), else the mode's default config."""
    from .quantizers import QuantizationConfig, default_config

    if isinstance(config, str):  # Keras takes the mode there too
        mode, config = config, None
    if config is None:
        check_mode(mode, owner)
        config = default_config(mode)
    if not isinstance(config, QuantizationConfig):
        raise ValueError(
            f"{owner}: config must be a quantizers.QuantizationConfig; got {config!r}."
        )
    if mode is not None and mode != config.mode:
        raise ValueError(
            f"{owner}: quantization mode {mode!r} disagrees with the config's {config.mode!r}."
        )
    block = getattr(config, "block_size", None)
    return check_mode(config.mode, owner), None if block in (None, -1) else int(block)


class Quantizable:
    """The quantized part of a layer whose first weight is its matrix: Dense's kernel
    (inputs, units), whose scales each cover an axis-0 column (a unit); Embedding's table
    (ids, features), whose scales each cover an axis -1 row (an id). The layer names
    ``quantized_axis``, ``scale_name`` and ``zero_name``, calls ``_quantized_build`` after
    its weights exist, and computes with the quantized matrix when ``quantization_mode``
    is set. Weights: the matrix (int8; int4 two to a byte along the last axis), the
    layer's others, the scales, and for int4 in blocks the zero points and each position's
    block (``g_idx``), in Keras' order."""

    saves_own_weights_only = True  # Keras' quantizable layers save their own weights alone

    quantized_axis = 0
    scale_name = "kernel_scale"
    zero_name = "kernel_zero"

    def quantize(
        self, mode: str | None = None, type_check: bool = True, config: Any = None
    ) -> None:
        """Keras' ``layer.quantize("int8")`` or ``("int4")`` (``config``: a
        ``quantizers.Int4QuantizationConfig(block_size=...)``): the matrix becomes int8 or
        int4 with its scales, in place (a built layer; the model recompiles before it
        trains again)."""
        owner = self.describe()
        mode, block = resolve_quantization(mode, config, owner)
        if not self.built:
            raise ValueError(f"{owner}: cannot quantize a layer that is not built yet.")
        if self.quantization_mode is not None:
            raise ValueError(f"{owner}: the layer is already quantized ({self.quantization_mode}).")
        if getattr(self, "lora_enabled", False):
            raise ValueError(
                f"{owner}: quantize a layer before enabling LoRA on it (LoRA then trains on "
                "the quantized matrix), not after."
            )
        self.quantization_mode, self.quantization_block_size = mode, block
        self._quantized_build()

    def _quantized_build(self) -> None:
        """The matrix quantized (frozen), and its scales (and zero points and blocks) as
        weights after the others."""
        matrix = self._weights[0]
        values, scale, zero = self._quantized_values(matrix.data)
        matrix.data = values
        matrix.requires_grad = False
        self._frozen_weights.add(id(matrix))
        arrays = {self.scale_name: scale}
        if zero is not None:
            length = self._matrix_shape()[self.quantized_axis]
            blocks = np.arange(length, dtype=np.float32) // self.quantization_block_size
            arrays.update({self.zero_name: zero, "g_idx": blocks.astype(np.float32)})
        for name, array in arrays.items():
            array = backend.to_numpy(array)
            self.add_weight(
                array.shape, lambda shape, a=array: a, array.dtype, trainable=False, name=name
            )

    def _matrix_shape(self) -> tuple[int, int]:
        """The float matrix's shape (Dense: inputs, units; Embedding: ids, features)."""
        raise NotImplementedError

    def _quantized_values(
        self, matrix: Any, axis: int | None = None, pack_axis: int = -1
    ) -> tuple[Any, Any, Any]:
        """A float matrix as the layer keeps it quantized: its values (int4 packed two to a
        byte along ``pack_axis``), the scales and the zero points (None but for int4 in
        blocks). Each scale covers ``axis`` (the layer's ``quantized_axis`` by default)."""
        axis = (self.quantized_axis if axis is None else axis) % 2
        if self.quantization_mode == "int8":
            values, scale = abs_max_quantize(matrix, axis=axis)
            return values, scale.reshape(-1), None
        zero = None
        if self.quantization_block_size is None:
            values, scale = abs_max_quantize(matrix, axis=axis, value_range=VALUE_RANGES["int4"])
            scale = scale.reshape(-1)
        else:
            columns = matrix if axis == 0 else matrix.T  # blocks run down axis 0
            values, scale, zero = abs_max_quantize_grouped_with_zero_point(
                columns, self.quantization_block_size
            )
            if axis:
                values, scale, zero = values.T, scale.T, zero.T
        xp = backend.get_array_module(values)
        return pack_int4_values(xp.ascontiguousarray(values), axis=pack_axis), scale, zero

    def _weight_named(self, name: str) -> Tensor:
        for weight in self._weights:
            if weight.name == name:
                return weight
        raise AttributeError(f"{self.describe()} has no weight {name!r}.")

    @property
    def quantized_scale(self) -> Tensor:
        if not self.quantization_mode:
            raise AttributeError(f"{self.describe()} is not quantized.")
        return self._weight_named(self.scale_name)

    def quantized_values(self, stored: Any = None) -> Any:
        """The matrix's quantized values as float32 (int4 unpacked), from ``stored`` (rows
        gathered from it, say) or the whole matrix."""
        stored = self._weights[0].data if stored is None else stored
        if self.quantization_mode == "int4":
            stored = unpack_int4_values(stored, self._matrix_shape()[1], axis=-1)
        return stored.astype(np.float32)

    def dequantize(self, values: Any, ids: Any = None) -> Any:
        """Quantized values (from ``quantized_values``) as the floats they stand for: each
        over its unit's scale, or for int4 in blocks (value - zero) * scale. ``ids``: the
        rows of an Embedding's table that ``values`` holds (their scales are taken)."""
        scale = self.quantized_scale.data
        zero = None
        if self.quantization_block_size is not None:
            zero = self._weight_named(self.zero_name).data
        if ids is not None:
            scale = scale[ids]
            zero = None if zero is None else zero[ids]
        if zero is not None:
            groups = self._weight_named("g_idx").data
            axis = 0 if self.quantized_axis % 2 == 0 else -1
            return dequantize_with_sz_map(values, scale, zero, groups, group_axis=axis)
        return values / (scale if self.quantized_axis % 2 == 0 else scale[..., None])

    def dequantized_matrix(self) -> Any:
        """The float matrix that the quantized one stands for."""
        return self.dequantize(self.quantized_values())

    def merged_quantized_weights(self) -> list[Any]:
        """The weights as Keras saves a quantized layer with LoRA: the matrix dequantized,
        LoRA's term added, and quantized again (new scales); A and B left out."""
        a, b = self._weights[-2].data, self._weights[-1].data
        merged = self.dequantized_matrix() + (a @ b) * (self.lora_alpha / self.lora_rank)
        values, scale, zero = self._quantized_values(merged.astype(np.float32))
        replaced = {self._weights[0].name: values, self.scale_name: scale, self.zero_name: zero}
        kept = [replaced.get(weight.name) for weight in self._weights[:-2]]
        return [
            backend.to_numpy(weight.data if new is None else new)
            for weight, new in zip(self._weights[:-2], kept, strict=True)
        ]

    def _quantized_policy_config(self) -> dict[str, Any]:
        from .mixed_precision import quantized_policy_name

        if not self.quantization_mode:
            return {}
        return {
            "dtype": quantized_policy_name(self.quantization_mode, self.quantization_block_size)
        }
