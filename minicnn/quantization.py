"""Keras 3's int8 quantization (``model.quantize("int8")``, the guide "Quantization in
Keras"): a Dense layer keeps its kernel as int8 with one float32 scale per output unit, and
multiplies inputs that it quantizes itself, row by row, to int8 (abs-max scaling, as Keras'
``abs_max_quantize``); an Embedding keeps its table as int8 with one scale per row. The
quantized weights do not train (LoRA, enabled afterwards, does), and the model saves and
loads quantized (its layers' dtype policy is Keras' "int8_from_float32").

The int8 products are summed in float32, exact while a unit has at most 1040 inputs
(127 * 127 * 1040 < 2 ** 24; Keras sums in int32)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Function, Tensor

EPSILON = 1e-7  # Keras' backend.epsilon()
MODES = ("int8",)  # Keras also has "float8", "int4" and "gptq"
QUANTIZED_POLICY = "int8_from_float32"


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
            f"{owner}: quantization mode must be one of {MODES} (Keras' float8, int4 and "
            f"gptq modes are not available); got {mode!r}."
        )
    return mode


class Int8Quantizable:
    """The int8 part of a layer whose first weight is its matrix (Dense: the kernel,
    quantized per output unit, axis 0; Embedding: the table, per row, axis -1). The layer
    names ``quantized_axis`` and ``scale_name``, calls ``_quantized_build`` after its
    weights exist, and computes with the int8 matrix when ``quantization_mode`` is set."""

    quantized_axis = 0
    scale_name = "kernel_scale"

    def quantize(self, mode: str, type_check: bool = True) -> None:
        """Keras' ``layer.quantize("int8")``: the matrix becomes int8 with its scales, in
        place (a built layer; the model recompiles before it trains again)."""
        owner = self.describe()
        check_mode(mode, owner)
        if not self.built:
            raise ValueError(f"{owner}: cannot quantize a layer that is not built yet.")
        if self.quantization_mode is not None:
            raise ValueError(f"{owner}: the layer is already quantized ({self.quantization_mode}).")
        if getattr(self, "lora_enabled", False):
            raise ValueError(
                f"{owner}: quantize a layer before enabling LoRA on it (LoRA then trains on "
                "the int8 matrix), not after."
            )
        self.quantization_mode = mode
        self._quantized_build()

    def _quantized_build(self) -> None:
        """The matrix as int8 (frozen), and its scales as a weight after the others."""
        matrix = self._weights[0]
        values, scale = abs_max_quantize(matrix.data, axis=self.quantized_axis)
        matrix.data = values
        matrix.requires_grad = False
        self._frozen_weights.add(id(matrix))
        scale = backend.to_numpy(scale).reshape(-1)  # one per unit (per row)
        self.add_weight(scale.shape, lambda shape: scale, trainable=False, name=self.scale_name)

    def _quantized_policy_config(self) -> dict[str, Any]:
        return {"dtype": QUANTIZED_POLICY} if self.quantization_mode else {}

    @property
    def quantized_scale(self) -> Tensor:
        for weight in self._weights:
            if weight.name == self.scale_name:
                return weight
        raise AttributeError(f"{self.describe()} is not quantized.")
