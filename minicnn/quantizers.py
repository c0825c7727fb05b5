"""Keras' ``keras.quantizers`` for int8: ``abs_max_quantize``, ``quantize_and_dequantize``
and the ``AbsMaxQuantizer`` object (see ``minicnn.quantization``)."""

from __future__ import annotations

from typing import Any

from .quantization import EPSILON, abs_max_quantize, quantize_and_dequantize

__all__ = ["AbsMaxQuantizer", "Quantizer", "abs_max_quantize", "quantize_and_dequantize"]


class Quantizer:
    """Keras' base of quantizers: called on values, it gives them quantized and the scale."""

    def __call__(self, x: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Quantizer:
        return cls(**config)


class AbsMaxQuantizer(Quantizer):
    """Keras' AbsMaxQuantizer: ``abs_max_quantize`` along ``axis``."""

    def __init__(
        self,
        axis: int | tuple[int, ...],
        value_range: tuple[int, int] = (-127, 127),
        epsilon: float = EPSILON,
        output_dtype: str = "int8",
    ) -> None:
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        self.value_range, self.epsilon = tuple(value_range), float(epsilon)
        self.output_dtype = output_dtype

    def __call__(self, x: Any) -> tuple[Any, Any]:
        return abs_max_quantize(x, self.axis, self.value_range, self.output_dtype, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {
            "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
            "value_range": list(self.value_range),
            "epsilon": self.epsilon,
            "output_dtype": self.output_dtype,
        }
