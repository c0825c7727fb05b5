"""Keras' preprocessing layers that act the same in training and inference: Rescaling,
Resizing, CenterCrop and Normalization (whose mean and variance ``adapt`` learns from data). A
model that starts with them takes raw data (pixels in [0, 255], another size) and prepares it
on its own device."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from . import functions as F
from . import image_ops as ops
from .autograd import Tensor
from .config import epsilon as backend_epsilon
from .data_checks import finite_number, positive_int
from .layer_base import CHANNELS_LAST_ONLY, Layer, Shape, _require_image


def _scale_or_channels(value: Any, name: str, owner: str) -> float | list[float]:
    """A number, or one number per channel (Keras takes a list, tuple or 1-D array)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = np.asarray(value, dtype=object).reshape(-1)
        if np.ndim(value) != 1 or len(values) == 0:
            raise ValueError(f"{owner}: {name} must be a number or a flat list, got {value!r}.")
        return [finite_number(v, f"each {name}", owner) for v in values]
    return finite_number(value, name, owner)


class Rescaling(Layer):
    """``x * scale + offset`` (``Rescaling(1 / 255)`` maps pixels to [0, 1]; ``Rescaling(1 /
    127.5, offset=-1)`` to [-1, 1]). ``scale`` and ``offset`` are numbers or one per channel."""

    supports_masking = True  # a padding mask passes through, as in Keras

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = _scale_or_channels(scale, "scale", self.describe())
        self.offset = _scale_or_channels(offset, "offset", self.describe())
        self._constants: tuple[Any, Any] = (self.scale, self.offset)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        for name, value in (("scale", self.scale), ("offset", self.offset)):
            if isinstance(value, list) and len(value) != input_shape[-1]:
                raise ValueError(
                    f"{self.describe()}: {len(value)} values of {name} for an input with "
                    f"{input_shape[-1]} channels (shape {(None, *input_shape)})."
                )
        return input_shape

    def _place_constants(self) -> None:
        """Per-channel values live on the layer's device, made once."""
        self._constants = tuple(
            backend.to_device(np.asarray(v, np.float32), self.device) if isinstance(v, list) else v
            for v in (self.scale, self.offset)
        )

    def call(self, x: Tensor, training: bool) -> Tensor:
        return ops.Rescale(*self._constants)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Resizing(Layer):
    """Each image resized to (height, width) as Keras resizes it, with half-pixel centers:
    bilinear, nearest, or (as Keras' JAX backend) bicubic, lanczos3 and lanczos5;
    ``antialias`` widens the kernel when shrinking; ``crop_to_aspect_ratio`` first crops the largest
    centered window of the target's aspect ratio, ``pad_to_aspect_ratio`` pads with
    ``fill_value`` to it instead."""

    _keras_defaults = CHANNELS_LAST_ONLY

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.height = positive_int(height, f"{owner}: height")
        self.width = positive_int(width, f"{owner}: width")
        self.interpolation = ops.checked_interpolation(
            interpolation, owner, ops.RESIZE_INTERPOLATIONS
        )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"{owner}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True."
            )
        if fill_mode != "constant":
            raise ValueError(
                f"{owner}: fill_mode must be 'constant' (as in Keras), got {fill_mode!r}."
            )
        self.antialias = bool(antialias)
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = finite_number(fill_value, "fill_value", owner)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Resizing")
        return (self.height, self.width, input_shape[2])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return ops.resize(
            x,
            (self.height, self.width),
            self.interpolation,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
            self.fill_value,
            self.antialias,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }


class CenterCrop(Layer):
    """The centered (height, width) window of each image; an image smaller than that is
    resized to it after cropping to its aspect ratio, as Keras does."""

    _keras_defaults = CHANNELS_LAST_ONLY

    def __init__(self, height: int, width: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = positive_int(height, f"{self.describe()}: height")
        self.width = positive_int(width, f"{self.describe()}: width")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "CenterCrop")
        return (self.height, self.width, input_shape[2])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return center_crop(x, self.height, self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


def center_crop(x: Tensor, height: int, width: int) -> Tensor:
    """Keras' center crop: the middle window, or a resize of the largest centered window of
    the target's aspect ratio when the image is smaller than the target."""
    _, h, w, _ = x.shape
    if h < height or w < width:
        return ops.resize(x, (height, width), "bilinear", crop_to_aspect_ratio=True)
    top, left = (h - height) // 2, (w - width) // 2
    return F.Crop(((top, h - height - top), (left, w - width - left)))(x)


class Normalization(Layer):
    """Keras' Normalization: x shifted and scaled to zero mean and unit variance, ``(x -
    mean) / max(sqrt(variance), 1e-7)``, a mean and variance for each index of the ``axis``
    kept (the last by default: each feature; a tuple of axes, as (1, 2) for each position
    of an image; None: one mean and variance for everything), given, or learned from data
    by ``adapt(data)`` before training; ``invert=True`` undoes it. As in Keras, a given mean
    and variance are constants of the config, and a layer to adapt has three non-trainable
    weights: the mean, the variance (of the kept axes' shape) and the count of values each
    was computed from."""

    supports_masking = True  # a padding mask passes through, as in Keras

    WEIGHT_NAMES = ("mean", "variance", "count")

    def __init__(
        self,
        axis: Any = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        kept = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in kept):
            raise ValueError(
                f"{self.describe()}: axis must be an int, a tuple of ints or None; got "
                f"axis={axis!r}."
            )
        if (mean is None) != (variance is None):
            raise ValueError(f"{self.describe()}: give both mean and variance, or neither.")
        if isinstance(axis, (list, tuple)):  # Keras' config keeps the axes as a tuple
            axis = (axis[0] if len(axis) == 1 else list(axis)) if axis else None
        self.axis = axis
        self._kept, self.invert = kept, bool(invert)
        self._given = None if mean is None else (np.asarray(mean), np.asarray(variance))
        # The weights set by adapt, never by the optimizer; a given mean and variance are none.
        self.state_weight_count = 3 if mean is None else 0
        self._constants: tuple[Any, Any] | None = None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def _kept_axes(self, ndim: int) -> list[int]:
        """The kept axes of an input of ``ndim`` axes (the batch's counted, as Keras)."""
        kept = sorted({a % ndim for a in self._kept}) if self._kept else []
        if any(a >= ndim or a < -ndim for a in self._kept) or 0 in kept:
            raise ValueError(
                f"{self.describe()}: axis {self.axis!r} is not an axis after the batch of "
                f"inputs of {ndim} axes."
            )
        return kept

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        kept = self._kept_axes(len(input_shape) + 1)
        shape = tuple(input_shape[a - 1] for a in kept)
        # The statistics broadcast against a sample: 1 on every axis not kept.
        self._broadcast = tuple(
            input_shape[a - 1] if a in kept else 1 for a in range(1, len(input_shape) + 1)
        )
        if self._given is None:
            return [np.zeros(shape, np.float32), np.ones(shape, np.float32), np.zeros((), np.int64)]
        try:
            given = [np.broadcast_to(v, shape).astype(np.float32) for v in self._given]
        except ValueError:
            raise ValueError(
                f"{self.describe()}: the mean and variance must be scalars or of the kept "
                f"axes' shape {shape}; got shapes {self._given[0].shape} and "
                f"{self._given[1].shape}."
            ) from None
        self._constants = tuple(backend.to_device(v, self.device) for v in given)
        return []

    @property
    def adapt_mean(self) -> Tensor:
        """The weight ``adapt`` sets: the mean of each index of the kept axes (Keras' name)."""
        return self._adapted_weight(0)

    @property
    def adapt_variance(self) -> Tensor:
        """The weight ``adapt`` sets: the variance of each index of the kept axes."""
        return self._adapted_weight(1)

    def _adapted_weight(self, index: int) -> Tensor:
        # As in Keras, only a built layer made without a mean and variance has them (the
        # AttributeError goes on to Layer.__getattr__, which names the attribute).
        if self._given is not None or not self.built:
            raise AttributeError
        return self._weights[index]

    @property
    def mean(self) -> Tensor | None:
        """As Keras' ``layer.mean``: the mean the layer subtracts, shaped to broadcast
        against a batch (1 on the batch's axis and on each axis reduced); None before
        build."""
        return self._statistic(0)

    @property
    def variance(self) -> Tensor | None:
        """As Keras' ``layer.variance``: the variance, shaped as ``mean``."""
        return self._statistic(1)

    def _statistic(self, index: int) -> Tensor | None:
        if not self.built:
            return None
        values = self._constants if self._constants is not None else self._weights[:2]
        value = values[index]
        value = value.data if isinstance(value, Tensor) else value
        return Tensor(value.reshape((1, *self._broadcast)))

    def _place_constants(self) -> None:
        if self._constants is not None:  # a given mean and variance
            self._constants = tuple(backend.to_device(v, self.device) for v in self._constants)

    def adapt(self, data: Any) -> None:
        """The mean and variance for each index of the kept axes, over every other axis
        (the samples' too) of ``data``, an array or an iterable of arrays (a dataset's
        batches)."""
        if self._given is not None:
            raise ValueError(
                f"{self.describe()} was given its mean and variance; adapt is for a layer "
                "made without them."
            )
        parts = [data] if hasattr(data, "shape") else list(data)
        arrays = [np.asarray(backend.to_numpy(p), np.float64) for p in parts]
        if not self.built:
            self._build_sample_shape(arrays[0].shape[1:])
        values = np.concatenate(arrays)
        kept = self._kept_axes(values.ndim)
        over = tuple(a for a in range(values.ndim) if a not in kept)
        count = int(np.prod([values.shape[a] for a in over], dtype=np.int64))
        self.set_weights([values.mean(axis=over), values.var(axis=over), np.int64(count)])

    def call(self, x: Tensor, training: bool) -> Tensor:
        if self._constants is not None:
            mean, variance = self._constants
        else:
            mean, variance = self._weights[0].data, self._weights[1].data
        xp = backend.get_array_module(variance)
        spread = xp.maximum(xp.sqrt(variance), variance.dtype.type(backend_epsilon()))
        mean = mean.astype(x.dtype).reshape(self._broadcast)
        spread = spread.astype(x.dtype).reshape(self._broadcast)
        if self.invert:
            return x * spread + mean
        return (x - mean) * (1 / spread)

    def get_config(self) -> dict[str, Any]:
        mean, variance = (None, None) if self._given is None else self._given
        return {
            **super().get_config(),
            "axis": self._kept,  # as Keras: a tuple of the axes kept, () for None
            "invert": self.invert,
            "mean": None if mean is None else mean.tolist(),
            "variance": None if variance is None else variance.tolist(),
        }
