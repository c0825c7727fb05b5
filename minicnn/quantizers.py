"""Keras' ``keras.quantizers``: ``abs_max_quantize``, ``quantize_and_dequantize``,
``abs_max_quantize_grouped_with_zero_point``, int4 packing, the ``AbsMaxQuantizer`` object,
and the configs that ``quantize(config=...)`` takes, ``Int8QuantizationConfig`` and
``Int4QuantizationConfig(block_size=128)`` (see ``minicnn.quantization``)."""

from __future__ import annotations

from typing import Any

from .fake_quant import fake_quant_with_min_max_vars, pack_int4, unpack_int4
from .quantization import (
    DEFAULT_BLOCK_SIZE,
    EPSILON,
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    quantize_and_dequantize,
)

__all__ = [
    "AbsMaxQuantizer",
    "Int4QuantizationConfig",
    "Int8QuantizationConfig",
    "QuantizationConfig",
    "Quantizer",
    "abs_max_quantize",
    "abs_max_quantize_grouped_with_zero_point",
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
    """Keras' AbsMaxQuantizer: ``abs_max_quantize`` along the axis of the call (else of
    the constructor, where Keras 3.15 deprecates it; else -1)."""

    def __init__(
        self,
        axis: int | tuple[int, ...] | None = None,
        value_range: tuple[int, int] = (-127, 127),
        epsilon: float = EPSILON,
        output_dtype: str = "int8",
    ) -> None:
        self.axis = (axis,) if isinstance(axis, int) else None if axis is None else tuple(axis)
        self.value_range, self.epsilon = tuple(value_range), float(epsilon)
        self.output_dtype = output_dtype
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ValueError(
                "Quantizer with output_dtype='int8' requires value_range to be within the "
                f"interval [-128, 127]. Received: value_range={self.value_range}"
            )

    def __call__(self, x: Any, axis: int | tuple[int, ...] | None = None) -> tuple[Any, Any]:
        axis = self.axis if axis is None else axis
        axis = -1 if axis is None else axis
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        config = {
            "value_range": list(self.value_range),
            "epsilon": self.epsilon,
            "output_dtype": self.output_dtype,
        }
        return config if self.axis is None else {**config, "axis": list(self.axis)}


class QuantizationConfig:
    """Keras' base of the configs ``quantize(config=...)`` takes: a mode, and the
    quantizers of the weights and of the inputs (activations)."""

    mode = ""

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = None) -> None:
        self.weight_quantizer = get(weight_quantizer)
        self.activation_quantizer = get(activation_quantizer)
        if self.weight_quantizer is not None:  # minicnn computes the weights' scales itself
            raise ValueError(
                f"{type(self).__name__}: minicnn quantizes the weights by Keras' default "
                "scheme (abs-max per unit, int4 per block); a custom weight_quantizer is "
                "not available."
            )

    def get_config(self) -> dict[str, Any]:
        return {
            "weight_quantizer": None,
            "activation_quantizer": None
            if self.activation_quantizer is None
            else serialize(self.activation_quantizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> QuantizationConfig:
        return cls(**config)


class Int8QuantizationConfig(QuantizationConfig):
    """Keras' int8 config: the inputs quantized row by row (AbsMaxQuantizer on the last
    axis, to [-127, 127]), the only one minicnn computes."""

    mode = "int8"

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = "default") -> None:
        if activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer(axis=-1)
        super().__init__(weight_quantizer, activation_quantizer)
        inputs = self.activation_quantizer
        if not (
            isinstance(inputs, AbsMaxQuantizer)
            and inputs.value_range == (-127, 127)
            and inputs.epsilon == EPSILON
            and inputs.output_dtype == "int8"
        ):
            raise ValueError(
                "Int8QuantizationConfig: minicnn quantizes the inputs as Keras does by "
                "default (AbsMaxQuantizer to [-127, 127]); got activation_quantizer "
                f"{activation_quantizer!r}."
            )


class Int4QuantizationConfig(QuantizationConfig):
    """Keras' int4 config: weights only, in blocks of ``block_size`` along the axis each
    scale covers (-1 or None: one scale per unit)."""

    mode = "int4"

    def __init__(
        self,
        weight_quantizer: Any = None,
        activation_quantizer: Any = "default",
        block_size: int | None = DEFAULT_BLOCK_SIZE,
    ) -> None:
        if activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if self.activation_quantizer is not None:
            raise ValueError(
                "Int4QuantizationConfig: minicnn's int4 quantizes the weights only; "
                "activation_quantizer must be None."
            )
        valid = block_size is None or (
            isinstance(block_size, int)
            and not isinstance(block_size, bool)
            and (block_size == -1 or block_size > 0)
        )
        if not valid:
            raise ValueError(
                f"block_size must be None, -1, or a positive integer. Received: "
                f"block_size={block_size!r}"
            )
        self.block_size = block_size

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Int4QuantizationConfig:
        # Keras' files from before block sizes were per unit.
        return cls(**{"block_size": None, **config})


def default_config(mode: str) -> QuantizationConfig:
    """The config ``quantize(mode)`` uses, as Keras resolves it."""
    configs = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig}
    return configs[mode]()


def serialize(quantizer: Quantizer | QuantizationConfig) -> dict[str, Any]:
    """Keras' dict of a quantizer or a quantization config."""
    return {
        "module": "keras.quantizers",
        "class_name": type(quantizer).__name__,
        "config": quantizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Quantizer | QuantizationConfig:
    """The quantizer or quantization config of Keras' dict."""
    classes = {
        "AbsMaxQuantizer": AbsMaxQuantizer,
        "Int8QuantizationConfig": Int8QuantizationConfig,
        "Int4QuantizationConfig": Int4QuantizationConfig,
    }
    name = config.get("class_name")
    if name not in classes:
        raise ValueError(f"Unknown quantizer {name!r}: minicnn has {', '.join(classes)}.")
    return classes[name].from_config(config.get("config") or {})


def get(identifier: Any) -> Quantizer | QuantizationConfig | None:
    """A quantizer or quantization config from Keras' dict of one, or itself (None stays
    None)."""
    if identifier is None or isinstance(identifier, (Quantizer, QuantizationConfig)):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}")
