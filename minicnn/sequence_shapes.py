"""Keras' 1-D shape layers over (batch, steps, channels): ZeroPadding1D, Cropping1D and
UpSampling1D, run as their 2-D twins on an image one row high (as the 1-D convolution and
pools are). SpatialDropout1D is SpatialDropout2D's sibling in ``layers``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functions as F
from .autograd import Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape
from .sequence_layers import _as_image, _as_sequence, _require_sequence


def _ends(value: Any, what: str, owner: str) -> tuple[int, int]:
    """Keras' forms: n (both ends) or (start, end), non-negative ints."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in pair
    ):
        raise ValueError(f"{owner}: {what} must be an int or a (start, end) pair of ints >= 0.")
    return int(pair[0]), int(pair[1])


class ZeroPadding1D(Layer):
    """Steps of zeros at the start and end of each sequence."""

    takes_data_format = True  # as Keras': channels_first sequences are (channels, steps)

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _ends(padding, "padding", self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "ZeroPadding1D")
        return (input_shape[0] + sum(self.padding), input_shape[1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return _as_sequence(F.ZeroPad(((0, 0), self.padding))(_as_image(x)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": tuple(self.padding)}


class Cropping1D(Layer):
    """Each sequence without ``cropping`` steps at its start and end."""

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _ends(cropping, "cropping", self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "Cropping1D")
        steps = input_shape[0] - sum(self.cropping)
        if steps < 1:
            raise ValueError(f"{self.describe()}: cropping {self.cropping} leaves no step.")
        return (steps, input_shape[1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return _as_sequence(F.Crop(((0, 0), self.cropping))(_as_image(x)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": tuple(self.cropping)}


class UpSampling1D(Layer):
    """Each step repeated ``size`` times."""

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = positive_int(size, f"{self.describe()}: size")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "UpSampling1D")
        return (input_shape[0] * self.size, input_shape[1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return _as_sequence(F.UpSample((1, self.size))(_as_image(x)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}
