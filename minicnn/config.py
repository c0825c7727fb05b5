"""Keras' ``keras.config`` settings that minicnn has: the default image data format (which
layers take when their ``data_format`` is None) and the float type (float32, the type minicnn
trains in; others are refused by name)."""

from __future__ import annotations

_settings = {"image_data_format": "channels_last"}


def image_data_format() -> str:
    """'channels_last' (Keras' default) or 'channels_first': what layers created from now on
    take when their ``data_format`` is None."""
    return _settings["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format!r}"
        )
    _settings["image_data_format"] = data_format


def floatx() -> str:
    """The float type of weights and computations: float32."""
    return "float32"


def set_floatx(value: str) -> None:
    """Keras' set_floatx: float32 only (minicnn trains in float32; float64 is for its gradient
    checks, bfloat16 and float16 need kernels it does not have)."""
    if value != "float32":
        raise ValueError(
            f"set_floatx({value!r}): minicnn computes in float32 only; other float types "
            "are not available."
        )


def epsilon() -> float:
    """Keras' fuzz factor, 1e-7, which minicnn's losses and metrics use."""
    return 1e-7
