"""Keras' noise layers, active in training only: GaussianNoise, GaussianDropout and
AlphaDropout. Their random numbers are hashed from one seed per batch on the model's device,
as the augmentation layers' are, so a GPU draws them without waiting and a captured step
replays new ones."""

from __future__ import annotations

import math
from typing import Any

from . import backend
from . import functions as F
from .augmentation import _RandomLayer
from .autograd import Tensor
from .layer_base import Shape, checked_noise_shape, resolved_noise_shape


def _rate(value: Any, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{owner}: rate must be a number in [0, 1), got {value!r}.")
    return float(value)


class _NoiseLayer(_RandomLayer):
    _keras_defaults: dict[str, Any] = {}  # no data_format: they take any tensor
    default_training = False  # Keras' noise layers: call(inputs, training=False)
    supports_masking = True  # a padding mask passes through, as in Keras

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape


class GaussianNoise(_NoiseLayer):
    """Adds zero-mean normal noise of standard deviation ``stddev`` to every value."""

    def __init__(self, stddev: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f"{self.describe()}: stddev must be a number >= 0, got {stddev!r}.")
        self.stddev = float(stddev)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        noise = self._normal(xp, x.shape) * self.stddev
        return F.add(x, noise.astype(x.dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev}


class _RateLayer(_NoiseLayer):
    """A noise layer whose strength is a ``rate`` in [0, 1); at 0 it passes its input on."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _rate(rate, self.describe())

    def augment(self, x: Tensor) -> Tensor:
        return x if self.rate == 0 else self._noisy(x, backend.get_array_module(x.data))

    def _noisy(self, x: Tensor, xp: Any) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


class GaussianDropout(_RateLayer):
    """Multiplies every value by normal noise of mean 1 and standard deviation
    sqrt(rate / (1 - rate))."""

    def _noisy(self, x: Tensor, xp: Any) -> Tensor:
        spread = math.sqrt(self.rate / (1 - self.rate))
        noise = 1 + self._normal(xp, x.shape) * spread
        return F.Dropout(noise.astype(x.dtype))(x)


class AlphaDropout(_RateLayer):
    """Dropout for SELU networks (Klambauer et al.): dropped values become SELU's negative
    saturation, and an affine map keeps the mean and variance, as Keras computes it."""

    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate: float, noise_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(rate, **kwargs)
        # Keras' noise_shape: the shape of the drop pattern, broadcast over the input.
        self.noise_shape = checked_noise_shape(noise_shape, self.describe())

    def _noisy(self, x: Tensor, xp: Any) -> Tensor:
        saturation = -self.ALPHA * self.SCALE
        a = ((1 - self.rate) * (1 + self.rate * saturation**2)) ** -0.5
        b = -a * saturation * self.rate
        shape = resolved_noise_shape(self.noise_shape, x.shape, self.describe()) or x.shape
        kept = self._uniform(xp, math.prod(shape), 0.0, 1.0).reshape(shape) >= self.rate
        factor = (a * kept).astype(x.dtype)
        shift = (a * saturation * (1 - kept) + b).astype(x.dtype)
        return F.add(F.Dropout(factor)(x), shift)

    def get_config(self) -> dict[str, Any]:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "noise_shape": noise}
