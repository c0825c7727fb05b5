"""Keras' augmentation and preprocessing layers that change pixel values, not places:
brightness, contrast, inversion, solarization, posterization, the color ones (grayscale,
degeneration, saturation, hue) and sharpness. The random ones act in training only."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, conv_ops
from . import image_ops as ops
from . import ops as tensor_ops
from .augmentation import _factor_range, _RandomLayer, _unit_fraction, _value_range, as_given
from .autograd import Tensor
from .data_checks import finite_number, positive_int
from .layer_base import CHANNELS_LAST_ONLY, Layer, Shape, _require_image


class RandomBrightness(_RandomLayer):
    """Add to each image a number drawn from ``factor`` (a fraction of the value range:
    0.2 means up to 20% of it either way), then clip to ``value_range``, as Keras does;
    ``value_range=(0, 1)`` for images scaled to [0, 1]."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = _factor_range(factor, "factor", self.describe(), -1, 1)
        self.value_range = _value_range(value_range, self.describe())

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        low, high = self.value_range
        delta = self._uniform(xp, x.shape[0], *self.factor) * (high - low)
        return ops.adjust_brightness(x, delta, self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "value_range": list(self.value_range),
        }


class RandomContrast(_RandomLayer):
    """Scale each image's distance from its channel means by a factor drawn from [1 - lower,
    1 + upper] (``factor`` f means lower = upper = f), then clip to ``value_range``."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            factor = (factor, factor)
        if not isinstance(factor, (tuple, list)) or len(factor) != 2:
            raise ValueError(
                f"{self.describe()}: factor must be a number or a (lower, upper) pair in "
                f"[0, 1], got {factor!r}."
            )
        self.factor = tuple(
            finite_number(f, "factor", self.describe(), minimum=0.0) for f in factor
        )
        if max(self.factor) > 1:
            raise ValueError(f"{self.describe()}: factor must be within [0, 1], got {factor!r}.")
        self.value_range = _value_range(value_range, self.describe())

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        lower, upper = self.factor
        factor = self._uniform(xp, x.shape[0], 1 - lower, 1 + upper)
        return ops.adjust_contrast(x, factor, self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "value_range": list(self.value_range),
        }


class _UnitFactorLayer(_RandomLayer):
    """A random layer of Keras' kind ``(factor, value_range)``, its factor within [0, 1]."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = _unit_fraction(factor, "factor", self.describe())
        self.value_range = _value_range(value_range, self.describe())

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "value_range": list(self.value_range),
        }


class RandomInvert(_UnitFactorLayer):
    """Keras' RandomInvert: each image, with a probability drawn from ``factor`` (a number f:
    from [0, f]; a pair: from [lower, upper]), becomes ``value_range[1] - x``; in training
    only."""

    def __init__(self, factor: Any = 1.0, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(factor, value_range, **kwargs)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        draws = self._uniform(xp, 2 * n, 0.0, 1.0)
        probability = self.factor[0] + (self.factor[1] - self.factor[0]) * draws[:n]
        flip = (draws[n:] < probability).reshape(n, *(1,) * (x.ndim - 1))
        return tensor_ops.where(flip, self.value_range[1] - x, x)


class AutoContrast(Layer):
    """Keras' AutoContrast: each channel of each image stretched from its own (min, max) to
    the whole ``value_range``; a flat channel stays as it is. It acts in training and in
    inference, as Keras'."""

    _keras_defaults = CHANNELS_LAST_ONLY

    def __init__(self, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_range = _value_range(value_range, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "AutoContrast")
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        low, high = self.value_range
        lowest = tensor_ops.min(x, axis=(1, 2), keepdims=True)
        highest = tensor_ops.max(x, axis=(1, 2), keepdims=True)
        spread = highest - lowest
        flat = spread.data == 0
        xp = backend.get_array_module(x.data)
        safe = spread + Tensor(xp.asarray(flat, dtype=x.dtype))
        stretched = (x - lowest) / safe * (high - low) + low
        clipped = tensor_ops.clip(stretched, low, high)
        return tensor_ops.where(xp.broadcast_to(flat, x.shape), x, clipped)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": list(self.value_range)}


class Solarization(_RandomLayer):
    """Keras' Solarization, in training: on the image scaled to [0, 255], add a number drawn
    from [addition_factor[0], addition_factor[1] * 255] (Keras' bounds), clip, and invert
    (255 - v) every value at or above a threshold drawn likewise from ``threshold_factor``
    (defaults 0: every value inverted); then back to ``value_range``. A number f for a factor
    means (0, f)."""

    def __init__(
        self,
        addition_factor: Any = 0.0,
        threshold_factor: Any = 0.0,
        value_range: Any = (0, 255),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.addition_factor = _unit_fraction(addition_factor, "addition_factor", self.describe())
        self.threshold_factor = _unit_fraction(
            threshold_factor, "threshold_factor", self.describe()
        )
        self.value_range = _value_range(value_range, self.describe())

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        draws = self._uniform(xp, 2 * n, 0.0, 1.0)
        shape = (n, *(1,) * (x.ndim - 1))

        def drawn(bounds: tuple[float, float], u: Any) -> Any:
            return (bounds[0] + (bounds[1] * 255 - bounds[0]) * u).reshape(shape)

        additions = drawn(self.addition_factor, draws[:n]).astype(x.dtype)
        thresholds = drawn(self.threshold_factor, draws[n:]).astype(x.dtype)
        low, high = self.value_range
        scaled = (x - low) * (255.0 / (high - low))
        shifted = tensor_ops.clip(scaled + additions, 0.0, 255.0)
        solarized = tensor_ops.where(shifted.data < thresholds, shifted, 255.0 - shifted)
        return solarized * ((high - low) / 255.0) + low

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "addition_factor": list(self.addition_factor),
            "threshold_factor": list(self.threshold_factor),
            "value_range": list(self.value_range),
        }


LUMA = (0.2989, 0.5870, 0.1140)  # Keras' rgb_to_grayscale weights


class _RGBOnly(Layer):
    """Mixed into a random layer whose images must have three channels, in a model or alone."""

    _keras_defaults = CHANNELS_LAST_ONLY

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        kind = type(self).__name__
        _require_image(input_shape, self.describe(), kind)
        if input_shape[-1] != 3:
            raise ValueError(
                f"{self.describe()}: {kind} takes RGB images (3 channels), "
                f"got {input_shape[-1]} channels in {tuple(input_shape)}."
            )
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        self.compute_output_shape(tuple(x.shape[1:]))
        return super().call(x, training)


def _luminance(x: Tensor) -> Tensor:
    """Each pixel's gray value, one channel (broadcasts back over the three)."""
    weights = backend.get_array_module(x.data).asarray(LUMA, dtype=x.dtype)
    return tensor_ops.sum(x * weights, axis=-1, keepdims=True)


class RandomGrayscale(_RGBOnly, _RandomLayer):
    """Keras' RandomGrayscale: each RGB image, with probability ``factor``, becomes its
    luminance (0.2989 R + 0.5870 G + 0.1140 B, Keras' weights) in all three channels."""

    def __init__(self, factor: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        factor = finite_number(factor, "factor", self.describe())
        if not 0 <= factor <= 1:
            raise ValueError(f"{self.describe()}: factor must be in [0, 1], got {factor!r}.")
        self.factor = float(factor)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        convert = (self._uniform(xp, n, 0.0, 1.0) < self.factor).reshape(n, 1, 1, 1)
        return tensor_ops.where(convert, _luminance(x), x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomPosterization(_RandomLayer):
    """Keras' RandomPosterization: on the image scaled to [0, 255] and truncated to 8 bits,
    keep the top ``factor`` bits of every value, then back to ``value_range``. An integer
    keeps that many bits; a pair (lower, upper) draws per image from lower .. upper - 1, as
    Keras' randint does (upper excluded). Its gradient is zero, as a rounding's."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        if isinstance(factor, (tuple, list)) and len(factor) == 2:
            bits = tuple(factor)
        else:
            bits = (factor, factor)
        if not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 8 for b in bits):
            raise ValueError(
                f"{owner}: factor must be an integer (or a pair) of bits in 1..8, got {factor!r}."
            )
        if bits[0] > bits[1]:
            raise ValueError(f"{owner}: factor must give lower <= upper, got {factor!r}.")
        self.factor = bits
        self.value_range = _value_range(value_range, owner)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        lower, upper = self.factor
        if lower == upper:
            bits = xp.full(n, lower, dtype=np.int64)
        else:
            draws = self._uniform(xp, n, 0.0, 1.0)
            bits = lower + xp.minimum(xp.floor(draws * (upper - lower)), upper - lower - 1)
        shift = (8 - bits).astype(np.uint8).reshape(n, *(1,) * (x.ndim - 1))
        low, high = self.value_range
        scaled = (x.data - low) * (255.0 / (high - low))
        levels = xp.clip(scaled, 0, 255).astype(np.uint8)
        kept = ((levels >> shift) << shift).astype(x.dtype)
        return Tensor(kept * x.dtype.type((high - low) / 255.0) + x.dtype.type(low))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "value_range": list(self.value_range),
        }


class RandomColorDegeneration(_RGBOnly, _UnitFactorLayer):
    """Keras' RandomColorDegeneration: each RGB image moves toward its gray version by a
    fraction drawn per image from ``factor`` (a number f: from [0, f]; a pair: from it; all
    within [0, 1]), then is clipped to ``value_range``."""

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        fraction = self._uniform(xp, n, *self.factor).astype(x.dtype).reshape(n, 1, 1, 1)
        degenerated = x + (_luminance(x) - x) * fraction
        return tensor_ops.clip(degenerated, *self.value_range)


class RandomSharpness(_UnitFactorLayer):
    """Keras' RandomSharpness: blend each image with its blur (Keras' 3x3 kernel, weights
    1/13 and 5/13 in the middle, zero padding at the edges), ``x + (1 - 2 f) (blur - x)`` with
    f drawn per image from ``factor`` (a number f: from [0, f]; within [0, 1]): 0 blurs,
    0.5 keeps the image, 1 sharpens; then clipped to ``value_range``."""

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, channels = x.shape[0], x.shape[-1]
        # Made on the device: a copy from the host would stop a captured step.
        middle = (xp.arange(3)[:, None] == 1) & (xp.arange(3)[None, :] == 1)
        taps = xp.where(middle, 5.0 / 13.0, 1.0 / 13.0).astype(x.dtype)
        kernel = xp.ascontiguousarray(xp.broadcast_to(taps[:, :, None, None], (3, 3, channels, 1)))
        bias = xp.zeros(channels, dtype=x.dtype)
        blurred = conv_ops.depthwise_conv2d(x, Tensor(kernel), Tensor(bias), 1, "same")
        sharpness = self._uniform(xp, n, *self.factor).astype(x.dtype).reshape(n, 1, 1, 1)
        blended = x + (blurred - x) * (1 - 2 * sharpness)
        return tensor_ops.clip(blended, *self.value_range)


def _value_and_chroma(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """HSV's value (the largest channel), the smallest channel and the chroma (their gap)."""
    value = tensor_ops.max(x, axis=-1, keepdims=True)
    smallest = tensor_ops.min(x, axis=-1, keepdims=True)
    return value, smallest, value - smallest


class RandomSaturation(_RGBOnly, _UnitFactorLayer):
    """Keras' RandomSaturation: each RGB image's HSV saturation times ``f / (1 - f)``, f
    drawn per image from ``factor`` (a number f: from [0, f]; within [0, 1]): 0 gives gray,
    0.5 keeps the image, 1 saturates it fully; hue and value stay. The saturation is capped
    at 1 (Keras caps it at ``value_range[1]``, which lets 255 turn values negative)."""

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        f = self._uniform(xp, n, *self.factor)
        scale = (f / (1 - f + 1e-7)).astype(x.dtype).reshape(n, 1, 1, 1)
        value, _, chroma = _value_and_chroma(x)
        colored = (chroma.data > 0) & (value.data > 0)
        # In HSV, each channel is value - (value - channel) with the saturation as a factor;
        # the saturation times ``scale``, capped at 1, scales (value - channel) alike.
        safe_chroma = tensor_ops.where(colored, chroma, 1.0)
        ratio = tensor_ops.where(colored, tensor_ops.minimum(value / safe_chroma, scale), 1.0)
        return value - (value - x) * ratio


HUE_OFFSETS = (5.0, 3.0, 1.0)  # where red, green and blue sit on the six-sector hue circle


class RandomHue(_RGBOnly, _UnitFactorLayer):
    """Keras' RandomHue: each RGB image's HSV hue turned by ``+-f / 2`` of a full turn (the
    sign and f drawn per image, f from ``factor``: a number f means [0, f], within [0, 1]),
    saturation and value kept, on the image scaled from ``value_range`` to [0, 1] and
    clipped there, as Keras computes it."""

    def __init__(self, factor: Any, value_range: Any, **kwargs: Any) -> None:
        super().__init__(factor, value_range, **kwargs)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        draws = self._uniform(xp, 2 * n, 0.0, 1.0)
        turn = self.factor[0] + (self.factor[1] - self.factor[0]) * draws[:n]
        turn = xp.where(draws[n:] < 0.5, turn, -turn) * 0.5
        low, high = self.value_range
        unit = (x - low) * (1.0 / (high - low))
        turned = _turn_hue(unit, (6 * turn).astype(x.dtype).reshape(n, 1, 1, 1))
        return tensor_ops.clip(turned, 0.0, 1.0) * (high - low) + low


def _turn_hue(x: Tensor, sectors: Any) -> Tensor:
    """RGB with its hue (in sixths of a turn, 0 at red) moved by ``sectors``; the value and
    the chroma stay, so each channel is smallest + chroma * (its share at the new hue)."""
    value, smallest, chroma = _value_and_chroma(x)
    red, green, blue = (x[..., i : i + 1] for i in range(3))
    colored = chroma.data > 0
    safe_chroma = tensor_ops.where(colored, chroma, 1.0)
    # Keras' (and dm_pix's) choice where channels tie for largest: red, then green, then blue.
    hue = tensor_ops.where(
        value.data == red.data,
        (green - blue) / safe_chroma,
        tensor_ops.where(
            value.data == green.data,
            (blue - red) / safe_chroma + 2.0,
            (red - green) / safe_chroma + 4.0,
        ),
    )
    xp = backend.get_array_module(x.data)
    k = hue + sectors + xp.asarray(HUE_OFFSETS, dtype=x.dtype)
    k = k - 6.0 * tensor_ops.floor(k / 6.0)  # onto [0, 6): a whole turn changes nothing
    below_top = tensor_ops.clip(tensor_ops.minimum(k, 4.0 - k), 0.0, 1.0)
    return value - chroma * below_top


class RandomColorJitter(_RandomLayer):
    """Keras' RandomColorJitter: RandomBrightness, RandomContrast, RandomSaturation and
    RandomHue, in that order, each only if its factor is given (with its meaning in that
    layer), all on ``value_range``; their draws come one after another from this layer's
    generator. Saturation and hue need RGB images."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        brightness_factor: Any = None,
        contrast_factor: Any = None,
        saturation_factor: Any = None,
        hue_factor: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.value_range = _value_range(value_range, self.describe())
        factors = {
            "brightness_factor": (brightness_factor, RandomBrightness),
            "contrast_factor": (contrast_factor, RandomContrast),
            "saturation_factor": (saturation_factor, RandomSaturation),
            "hue_factor": (hue_factor, RandomHue),
        }
        self._given = as_given(**{name: value for name, (value, _) in factors.items()})
        self.steps: list[_RandomLayer] = []
        for name, (value, kind) in factors.items():
            if value is None:
                continue
            try:
                step = kind(value, value_range=self.value_range)
            except ValueError as error:
                raise ValueError(f"{self.describe()}: {name}: {error}") from None
            step._generator = self._generator  # one stream of draws, so a seed fixes them all
            self.steps.append(step)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        for step in self.steps:
            step.compute_output_shape(input_shape)
        return super().compute_output_shape(input_shape)

    def augment(self, x: Tensor) -> Tensor:
        self.compute_output_shape(tuple(x.shape[1:]))
        for step in self.steps:
            x = step.augment(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": list(self.value_range), **self._given}


def _odd_sizes(value: Any, owner: str) -> tuple[int, int]:
    sizes = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(sizes) != 2 or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 and s % 2 == 1 for s in sizes
    ):
        raise ValueError(
            f"{owner}: kernel_size must be an odd positive integer or a (height, width) pair "
            f"of them, got {value!r}."
        )
    return sizes


class RandomGaussianBlur(_UnitFactorLayer):
    """Keras' RandomGaussianBlur: each image, with a probability drawn from ``factor`` (a
    number f: from [0, f]), blurred by a ``kernel_size`` Gaussian (odd; zero padding) whose
    horizontal and vertical sigmas are drawn from ``sigma`` (a number s: from [0, s]; plus
    1e-6, as Keras); then every image clipped to ``value_range``. Keras draws one pair of
    sigmas per batch, though its docstring promises one per image; here each image has its
    own."""

    def __init__(
        self,
        factor: Any = 1.0,
        kernel_size: Any = 3,
        sigma: Any = 1.0,
        value_range: Any = (0, 255),
        **kwargs: Any,
    ) -> None:
        super().__init__(factor, value_range, **kwargs)
        self.kernel_size = _odd_sizes(kernel_size, self.describe())
        if isinstance(sigma, (int, float)) and not isinstance(sigma, bool):
            sigma = (0.0, sigma)
        self.sigma = _factor_range(sigma, "sigma", self.describe(), 0.0)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        draws = self._uniform(xp, 4 * n, 0.0, 1.0).reshape(4, n)
        low, high = self.sigma
        sigma_x, sigma_y = low + (high - low) * draws[:2] + 1e-6
        probability = self.factor[0] + (self.factor[1] - self.factor[0]) * draws[2]
        blur = (draws[3] < probability).reshape(n, 1, 1, 1)
        blurred = ops.gaussian_blur(x, sigma_y, sigma_x, self.kernel_size)
        return tensor_ops.clip(tensor_ops.where(blur, blurred, x), *self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "sigma": list(self.sigma),
        }


class Equalization(Layer):
    """Keras' Equalization: histogram equalization of each channel of each image. On the
    values scaled from ``value_range`` to [0, 255], each falls in one of ``bins`` bins
    (``int(v * (bins - 1) / 255)``, clipped), and becomes ``round(255 (cdf - cdf_min) /
    (count - cdf_min))`` of its bin, scaled back; a channel all in one bin stays as it is.
    Keras pools the histogram over the batch; here each image has its own, so an image's
    result does not depend on the others. It acts in training and inference (Keras'
    docstring), and its gradient is zero, as a lookup's."""

    _keras_defaults = CHANNELS_LAST_ONLY

    def __init__(self, value_range: Any = (0, 255), bins: int = 256, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_range = _value_range(value_range, self.describe())
        self.bins = positive_int(bins, f"{self.describe()}: bins")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Equalization")
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, h, w, c = x.shape
        low, high = self.value_range
        scaled = (x.data - low) * (255.0 / (high - low))
        # Truncation toward zero, as Keras' cast to int32, then clipped into the bins.
        index = xp.clip(xp.trunc(scaled * ((self.bins - 1) / 255.0)), 0, self.bins - 1)
        index = xp.moveaxis(index.astype(np.int64), -1, 1).reshape(n * c, h * w)
        counts = xp.zeros(n * c * self.bins, dtype=np.int64)
        rows = xp.arange(n * c)[:, None] * self.bins
        backend.scatter_add(counts, (rows + index).reshape(-1), xp.ones(index.size, np.int64))
        counts = counts.reshape(n * c, self.bins)
        cdf = xp.cumsum(counts, axis=1)
        first = xp.where(cdf > 0, cdf, h * w).min(axis=1, keepdims=True)  # the first bin's count
        span = cdf[:, -1:] - first
        table = xp.rint((cdf - first) * 255.0 / xp.where(span == 0, 1, span))
        table = xp.clip(table, 0, 255)
        equalized = xp.take_along_axis(table, index, axis=1)
        flat = ((counts > 0).sum(axis=1) <= 1)[:, None]
        out = xp.where(flat, xp.moveaxis(scaled, -1, 1).reshape(n * c, h * w), equalized)
        out = xp.moveaxis(out.reshape(n, c, h, w), 1, -1)
        return Tensor((out * ((high - low) / 255.0) + low).astype(x.dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": list(self.value_range), "bins": self.bins}
