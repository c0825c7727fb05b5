"""Layers that change the size of images: ZeroPadding2D, Cropping2D and UpSampling2D
(Resizing and CenterCrop are in ``preprocessing``); RepeatVector, and Identity."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, image_ops, regularizers
from . import functions as F
from .autograd import Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape, _positive_pair, _require_image, require_spatial

Borders = tuple[tuple[int, int], ...]

_FORMS = {
    2: "an int, a pair, or a pair of pairs",
    3: "an int, three ints, or three pairs",
}


def _borders(value: Any, what: str, layer: str, rank: int = 2) -> Borders:
    """Keras' forms: n (every side), one count per spatial axis (both sides), or a (before,
    after) pair per axis; every count a non-negative int."""
    problem = ValueError(
        f"{layer}: {what} must be {_FORMS[rank]} of non-negative ints, got {value!r}."
    )

    def count(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise problem
        return int(v)

    if not isinstance(value, (tuple, list)):
        return ((count(value),) * 2,) * rank
    if len(value) != rank:
        raise problem
    if all(isinstance(v, (tuple, list)) for v in value):
        if any(len(v) != 2 for v in value):
            raise problem
        return tuple((count(a), count(b)) for a, b in value)
    return tuple((count(v), count(v)) for v in value)


class _ZeroPadding(Layer):
    """Zeros before and after each spatial axis of an image or a volume."""

    takes_data_format = True

    rank = 2

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _borders(padding, "padding", self.describe(), self.rank)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), type(self).__name__, self.rank)
        pairs = zip(input_shape[:-1], self.padding, strict=True)
        return (*(s + a + b for s, (a, b) in pairs), input_shape[-1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.ZeroPad(self.padding)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": tuple(tuple(p) for p in self.padding)}


class ZeroPadding2D(_ZeroPadding):
    """Rows and columns of zeros around each image."""


class _Cropping(Layer):
    """Each image or volume without some pixels at the borders of its spatial axes."""

    takes_data_format = True

    rank = 2

    def __init__(self, cropping: Any = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _borders(cropping, "cropping", self.describe(), self.rank)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), type(self).__name__, self.rank)
        spatial = input_shape[:-1]
        sizes = [s - a - b for s, (a, b) in zip(spatial, self.cropping, strict=True)]
        if min(sizes) < 1:
            raise ValueError(
                f"{self.describe()}: cropping {self.cropping} leaves nothing of a "
                f"{'x'.join(map(str, spatial))} input."
            )
        return (*sizes, input_shape[-1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.Crop(self.cropping)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": tuple(tuple(c) for c in self.cropping)}


class Cropping2D(_Cropping):
    """Each image without some rows and columns at its borders."""


class UpSampling2D(Layer):
    """Each pixel repeated ``size`` times down and across (``interpolation="nearest"``), or
    the image resized to ``size`` times its height and width (``"bilinear"``), as Keras
    does."""

    takes_data_format = True

    def __init__(self, size: Any = (2, 2), interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = _positive_pair(size, "size", self.describe())
        self.interpolation = image_ops.checked_interpolation(interpolation, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "UpSampling2D")
        return (input_shape[0] * self.size[0], input_shape[1] * self.size[1], input_shape[2])

    def call(self, x: Tensor, training: bool) -> Tensor:
        if self.interpolation == "nearest":
            return F.UpSample(self.size)(x)
        size = (x.shape[1] * self.size[0], x.shape[2] * self.size[1])
        return image_ops.resize(x, size, "bilinear")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "size": tuple(self.size),
            "interpolation": self.interpolation,
        }


class RepeatVector(Layer):
    """Keras' RepeatVector: each sample's features (batch, features) repeated ``n`` times,
    (batch, n, features); the gradient adds up the copies."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = positive_int(n, f"{self.describe()}: n")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.describe()} expects input of shape (batch, features); got "
                f"{(None, *input_shape)}."
            )
        return (self.n, input_shape[0])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.reshape(x, (x.shape[0], 1, x.shape[1])) * _ones_row(x, self.n)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


def _ones_row(x: Tensor, n: int) -> Any:
    """Ones of shape (1, n, 1) on x's device, which broadcasting turns into n copies."""
    xp = backend.get_array_module(x.data)
    return xp.ones((1, n, 1), dtype=x.dtype)


class Identity(Layer):
    """Keras' Identity: its input, unchanged (a placeholder in a stack of layers)."""

    supports_masking = True  # a padding mask passes through, as in Keras

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        return x


class ActivityRegularization(Identity):
    """Keras' ActivityRegularization: its input unchanged, and l1 * sum(|x|) + l2 * sum(x^2)
    over the batch, divided by the batch size, added to the loss (``add_loss``)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        if "activity_regularizer" in kwargs:
            raise TypeError(f"ActivityRegularization takes l1 and l2, not {kwargs}.")
        super().__init__(activity_regularizer=regularizers.L1L2(l1, l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activity_regularizer"]
        return {**config, "l1": self.l1, "l2": self.l2}


class UnitNormalization(Layer):
    """Keras' UnitNormalization: each sample scaled to unit L2 norm along ``axis`` (the last
    by default, or a list of axes)."""

    supports_masking = True

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"{self.describe()}: axis must be an int or a list of ints.")
        if 0 in axes:
            raise ValueError(f"{self.describe()}: axis 0 is the batch.")
        self.axis = axes if isinstance(axis, (list, tuple)) else axes[0]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        from . import ops

        return ops.normalize(x, tuple(self.axis) if isinstance(self.axis, list) else self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
