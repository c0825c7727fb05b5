"""Keras' random augmentation layers: active in training only, identity otherwise. Each draw
comes from minicnn's generator (or the layer's own, with ``seed``) and is made on the model's
device, so a GPU keeps training without waiting."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from . import backend
from . import image_ops as ops
from .autograd import Tensor
from .functions import draw_seed
from .layer_base import Layer, Shape, _require_image


def _factor_range(
    value: Any, what: str, layer: str, low: float = -math.inf, high: float = math.inf
) -> tuple[float, float]:
    """Keras' factor: a number f means (-f, f); a pair is (lower, upper)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        pair = (-abs(float(value)), abs(float(value)))
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = (float(value[0]), float(value[1]))
    else:
        raise ValueError(
            f"{layer}: {what} must be a number or a (lower, upper) pair, got {value!r}."
        )
    if not low <= pair[0] <= pair[1] <= high:
        raise ValueError(
            f"{layer}: {what} must give lower <= upper within [{low}, {high}], got {value!r}."
        )
    return pair


class _RandomLayer(Layer):
    """Draws a 32-bit seed per call; the per-image numbers are hashed from it on the device."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Image augmentation")
        return input_shape

    def _uniform(self, xp: Any, count: int, lower: float, upper: float) -> Any:
        """``count`` draws from U(lower, upper), float64, on the array module's device."""
        seed = backend.step_scalar(partial(draw_seed, self._generator), np.uint32)
        return lower + (upper - lower) * ops.hashed_uniform(xp, seed, count)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return self.augment(x) if training else x

    def augment(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_RandomLayer):
    """Mirror each image left-right and/or upside down, each with probability 1/2."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(
                f"{self.describe()}: mode must be one of {', '.join(self.MODES)}; got {mode!r}."
            )
        self.mode = mode

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        draws = self._uniform(xp, 2 * n, 0.0, 1.0) < 0.5
        horizontal = draws[:n] if "horizontal" in self.mode else None
        vertical = draws[n:] if "vertical" in self.mode else None
        return ops.flip(x, horizontal, vertical)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class _RandomAffine(_RandomLayer):
    """A random affine warp per image, with Keras' fill_mode, interpolation and fill_value."""

    def __init__(
        self,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if fill_mode not in ops.FILL_MODES:
            raise ValueError(
                f"{self.describe()}: fill_mode must be one of {', '.join(ops.FILL_MODES)}; "
                f"got {fill_mode!r}."
            )
        if interpolation not in ops.INTERPOLATIONS:
            raise ValueError(
                f"{self.describe()}: interpolation must be one of "
                f"{', '.join(ops.INTERPOLATIONS)}; got {interpolation!r}."
            )
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def matrices(self, xp: Any, n: int, h: int, w: int) -> Any:
        """(n, 6) rows [a0, a1, a2, b0, b1, b2] mapping output pixels to input pixels."""
        raise NotImplementedError

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, h, w, _ = x.shape
        m = self.matrices(xp, n, h, w)
        return ops.affine_transform(x, m, self.fill_mode, self.interpolation, self.fill_value)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomTranslation(_RandomAffine):
    """Shift each image by fractions of its height and width drawn from the factors."""

    def __init__(self, height_factor: Any, width_factor: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_factor = _factor_range(height_factor, "height_factor", self.describe(), -1, 1)
        self.width_factor = _factor_range(width_factor, "width_factor", self.describe(), -1, 1)

    def matrices(self, xp: Any, n: int, h: int, w: int) -> Any:
        dy = self._uniform(xp, n, *self.height_factor) * h
        dx = self._uniform(xp, n, *self.width_factor) * w
        ones, zeros = xp.ones(n), xp.zeros(n)
        return xp.stack([ones, zeros, -dx, zeros, ones, -dy], axis=1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "height_factor": list(self.height_factor),
            "width_factor": list(self.width_factor),
        }


class RandomRotation(_RandomAffine):
    """Rotate each image about its center by a fraction of a full turn drawn from ``factor``
    (0.1: up to 36 degrees either way)."""

    def __init__(self, factor: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = _factor_range(factor, "factor", self.describe())

    def matrices(self, xp: Any, n: int, h: int, w: int) -> Any:
        angle = self._uniform(xp, n, *self.factor) * (2 * math.pi)
        cos, sin = xp.cos(angle), xp.sin(angle)
        x_offset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2
        y_offset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2
        return xp.stack([cos, -sin, x_offset, sin, cos, y_offset], axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_RandomAffine):
    """Zoom each image about its center: a factor above 0 zooms out, below 0 in (Keras'
    sign). Without ``width_factor`` the aspect ratio is kept."""

    def __init__(self, height_factor: Any, width_factor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_factor = _factor_range(height_factor, "height_factor", self.describe(), -1)
        self.width_factor = (
            None
            if width_factor is None
            else _factor_range(width_factor, "width_factor", self.describe(), -1)
        )

    def matrices(self, xp: Any, n: int, h: int, w: int) -> Any:
        zoom_h = 1 + self._uniform(xp, n, *self.height_factor)
        zoom_w = (
            zoom_h if self.width_factor is None else 1 + self._uniform(xp, n, *self.width_factor)
        )
        zeros = xp.zeros(n)
        x_offset = (w - 1) / 2 * (1 - zoom_w)
        y_offset = (h - 1) / 2 * (1 - zoom_h)
        return xp.stack([zoom_w, zeros, x_offset, zeros, zoom_h, y_offset], axis=1)

    def get_config(self) -> dict[str, Any]:
        width = None if self.width_factor is None else list(self.width_factor)
        return {
            **super().get_config(),
            "height_factor": list(self.height_factor),
            "width_factor": width,
        }
