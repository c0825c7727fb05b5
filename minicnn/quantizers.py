"""Keras' ``keras.quantizers`` for int8: ``abs_max_quantize``, ``quantize_and_dequantize``
and the ``AbsMaxQuantizer`` object (see ``minicnn.quantization``)."""

from __future__ import annotations

from typing import Any

from .fake_quant import fake_quant_with_min_max_vars, pack_int4, unpack_int4
from .quantization import EPSILON, abs_max_quantize, quantize_and_dequantize

__all__ = [
    "AbsMaxQuantizer",
    "Quantizer",
    "abs_max_quantize",
    "deserialize",
    "fake_quant_with_min_max_vars",
    "get",
    "pack_int4",
    "quantize_and_dequantize",
    "serialize",
    "unpack_int4",
]


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


def serialize(quantizer: Quantizer) -> dict[str, Any]:
    """Keras' dict of a quantizer."""
    return {
        "module": "keras.quantizers",
        "class_name": type(quantizer).__name__,
        "config": quantizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Quantizer:
    """The quantizer of Keras' dict."""
    classes = {"AbsMaxQuantizer": AbsMaxQuantizer}
    name = config.get("class_name")
    if name not in classes:
        raise ValueError(f"Unknown quantizer {name!r}: minicnn has {', '.join(classes)}.")
    return classes[name].from_config(config.get("config") or {})


def get(identifier: Any) -> Quantizer | None:
    """A quantizer from Keras' dict of one, or itself (None stays None)."""
    if identifier is None or isinstance(identifier, Quantizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}")
