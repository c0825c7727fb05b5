"""Keras' random augmentation layers that move pixels (flips, affine warps, crops, erasing),
their shared base and Pipeline; those that change values are in ``color_augmentation``.
Random layers act in training only, identity otherwise. Each draw comes from minicnn's
generator (or the layer's own, with ``seed``) and is made on the model's device, so a GPU
keeps training without waiting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from . import image_ops as ops
from . import ops as tensor_ops
from . import random as draws
from .autograd import Tensor
from .data_checks import finite_number, positive_int
from .layer_base import CHANNELS_LAST_ONLY, Layer, Shape, _require_image, sample_shape


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


def as_given(**arguments: Any) -> dict[str, Any]:
    """Arguments as a config keeps them, Keras' way: as given (a pair as a list)."""
    return {k: list(v) if isinstance(v, (tuple, list)) else v for k, v in arguments.items()}


def _unit_fraction(value: Any, what: str, layer: str) -> tuple[float, float]:
    """Keras' factor of a probability or fraction: a number f means (0, f), within [0, 1]."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (0.0, float(value))
    return _factor_range(value, what, layer, 0, 1)


def beta_tries(alpha: float) -> int:
    """How many pairs Johnk's method for Beta(alpha, alpha) draws so that all are refused
    with odds under 2^-40: a pair is kept with probability Gamma(alpha + 1)^2 /
    Gamma(2 alpha + 1)."""
    kept = math.exp(2 * math.lgamma(alpha + 1) - math.lgamma(2 * alpha + 1))
    return 1 if kept >= 1 else math.ceil(-40 * math.log(2) / math.log1p(-kept))


class _RandomLayer(Layer):
    """Draws a 32-bit seed per call; the per-image numbers are hashed from it on the device."""

    _keras_defaults = CHANNELS_LAST_ONLY

    default_training = True  # Keras' image preprocessing layers: a direct call augments

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Image augmentation")
        return input_shape

    def _uniform(self, xp: Any, count: int, lower: float, upper: float) -> Any:
        """``count`` draws from U(lower, upper), float64, on the array module's device."""
        return lower + (upper - lower) * draws.uniform_array(xp, count, self._seed())

    def _seed(self) -> Any:
        return draws.layer_seed(self._generator)

    def _normal(self, xp: Any, shape: tuple[int, ...]) -> Any:
        """Standard normal numbers (Box-Muller on two hashed uniforms; |z| < 5.8)."""
        return draws.normal_array(xp, math.prod(shape), self._seed()).reshape(shape)

    def _symmetric_beta(self, xp: Any, count: int, alpha: Any, largest: float) -> Any:
        """``count`` draws from Beta(alpha, alpha) on the device (alpha a number, or a device
        draw of at most ``largest``), by Johnk's method in logs (exact for any alpha > 0): a
        pair of uniforms u, v is kept when u^(1/alpha) + v^(1/alpha) <= 1, giving
        u^(1/alpha) over that sum; each draw takes the first pair kept out of enough tries
        that all fail with odds under 2^-40."""
        tries = beta_tries(largest)
        u = self._uniform(xp, 2 * tries * count, 0.0, 1.0).reshape(2, tries, count)
        logs = xp.log1p(-u) / alpha  # 1 - u is in (0, 1]: no log of zero
        total = xp.logaddexp(logs[0], logs[1])
        kept = total <= 0
        first = xp.argmax(kept, axis=0)
        pick = xp.take_along_axis(logs[0] - total, first[None], axis=0)[0]
        return xp.where(kept.any(axis=0), xp.exp(pick), 0.5)

    def _gamma(self, xp: Any, count: int, alpha: float) -> Any:
        """``count`` draws from Gamma(alpha, 1) on the device (``random.gamma_array``)."""
        return draws.gamma_array(xp, count, alpha, self._seed())

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
        self.fill_mode = fill_mode
        self.interpolation = ops.checked_interpolation(interpolation, self.describe())
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
        self._given = as_given(height_factor=height_factor, width_factor=width_factor)

    def matrices(self, xp: Any, n: int, h: int, w: int) -> Any:
        dy = self._uniform(xp, n, *self.height_factor) * h
        dx = self._uniform(xp, n, *self.width_factor) * w
        ones, zeros = xp.ones(n), xp.zeros(n)
        return xp.stack([ones, zeros, -dx, zeros, ones, -dy], axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._given}  # as given, as Keras keeps them


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
        self._given = as_given(height_factor=height_factor, width_factor=width_factor)

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
        return {**super().get_config(), **self._given}  # as given, as Keras keeps them


class RandomShear(_RandomAffine):
    """Keras' RandomShear: each image sheared along x by a factor drawn from ``x_factor`` and
    along y from ``y_factor`` (a number f: [-f, f]; a pair: [lower, upper] in [0, 1]), both
    with one random sign per image, by Keras' matrix [[1, s_x, 0], [s_y, 1, 0]] (output
    pixel to input pixel)."""

    def __init__(self, x_factor: Any = 0.0, y_factor: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x_factor = _factor_range(x_factor, "x_factor", self.describe(), -1, 1)
        self.y_factor = _factor_range(y_factor, "y_factor", self.describe(), -1, 1)

    def matrices(self, xp: Any, n: int, h: int, w: int) -> Any:
        sign = xp.where(self._uniform(xp, n, 0.0, 1.0) > 0.5, -1.0, 1.0)
        shear_y = self._uniform(xp, n, *self.y_factor) * sign
        shear_x = self._uniform(xp, n, *self.x_factor) * sign
        ones, zeros = xp.ones(n), xp.zeros(n)
        return xp.stack([ones, shear_x, zeros, shear_y, ones, zeros], axis=1)

    def get_config(self) -> dict[str, Any]:
        # As Keras: the ranges drawn from (a number f is kept as [-f, f]).
        return {
            **super().get_config(),
            "x_factor": list(self.x_factor),
            "y_factor": list(self.y_factor),
        }


class RandomPerspective(_RandomLayer):
    """Keras' RandomPerspective: each image, with a probability drawn from ``factor`` (a
    number f: from [0, f]), warped so that its corners move to new places: corner (x, y)
    goes to (x, y) times 1 plus a draw from [-scale / 2, scale / 2] per coordinate (Keras'
    rule, so the top-left corner stays), the rest following by the homography (bilinear or
    nearest; ``fill_value`` outside)."""

    def __init__(
        self,
        factor: Any = 1.0,
        scale: float = 1.0,
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.factor = _unit_fraction(factor, "factor", owner)
        self.scale = finite_number(scale, "scale", owner)
        if not 0 <= self.scale <= 1:
            raise ValueError(f"{owner}: scale must be in [0, 1], got {scale!r}.")
        self.interpolation = ops.checked_interpolation(interpolation, owner)
        self.fill_value = finite_number(fill_value, "fill_value", owner)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, h, w, _ = x.shape
        if h < 2 or w < 2:
            return x  # no corners to move apart
        draws = self._uniform(xp, 10 * n, 0.0, 1.0)
        corners = xp.asarray([[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]])
        shift = self.scale * (draws[: 8 * n].reshape(n, 4, 2) - 0.5)
        moved = corners * (1.0 + shift)
        rows = ops.quad_homographies(xp, moved)  # output pixel -> unit square
        rows = rows * xp.asarray([w - 1] * 3 + [h - 1] * 3 + [1, 1])  # -> input pixel
        warped = ops.affine_transform(x, rows, "constant", self.interpolation, self.fill_value)
        probability = self.factor[0] + (self.factor[1] - self.factor[0]) * draws[8 * n : 9 * n]
        chosen = (draws[9 * n :] < probability).reshape(n, 1, 1, 1)
        return tensor_ops.where(chosen, warped, x)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomElasticTransform(_RandomLayer):
    """Keras' RandomElasticTransform: each image, with a probability drawn from ``factor`` (a
    number f: from [0, f]), read at its pixels moved by ``alpha`` times a smoothed random
    field: normal noise times sigma, blurred by a Gaussian of sigma. Per batch a distortion d
    is drawn from ``scale`` (a number s: from [0, s]; within [0, 1]), and, as in Keras,
    alpha = 0.1 d max(h, w) and sigma = 0.05 d min(h, w); then clipped to ``value_range``.
    The blur's kernel is Keras' int(6 sigma) | 1 taps for the largest sigma the scale
    allows (Keras sizes it for the drawn one; the extra taps carry under 0.3% of the
    weight), so no draw has to reach the host."""

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = 1.0,
        interpolation: str = "bilinear",
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        value_range: Any = (0, 255),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.factor = _unit_fraction(factor, "factor", owner)
        self.scale = _unit_fraction(scale, "scale", owner)
        self.interpolation = ops.checked_interpolation(interpolation, owner)
        if fill_mode not in ops.FILL_MODES:
            raise ValueError(
                f"{owner}: fill_mode must be one of {', '.join(ops.FILL_MODES)}; got {fill_mode!r}."
            )
        self.fill_mode = fill_mode
        self.fill_value = finite_number(fill_value, "fill_value", owner)
        self.value_range = _value_range(value_range, owner)

    def augment(self, x: Tensor) -> Tensor:
        if self.scale[1] == 0 or self.factor[1] == 0:
            return x  # as Keras: nothing to draw
        xp = backend.get_array_module(x.data)
        n, h, w, _ = x.shape
        draws = self._uniform(xp, 2 * n + 1, 0.0, 1.0)
        distortion = self.scale[0] + (self.scale[1] - self.scale[0]) * draws[2 * n]
        alpha = 0.1 * distortion * max(h, w)
        sigma = xp.maximum(0.05 * distortion * min(h, w), 1e-6)
        size = int(6 * 0.05 * self.scale[1] * min(h, w)) | 1
        noise = self._normal(xp, (n, h, w, 2)) * sigma
        sigmas = xp.broadcast_to(sigma, (n,))
        smooth = ops.gaussian_blur(Tensor(noise), sigmas, sigmas, (size, size))
        shift = alpha * smooth.data
        rows = xp.arange(h, dtype=np.float64)[None, :, None] + shift[..., 1]
        columns = xp.arange(w, dtype=np.float64)[None, None, :] + shift[..., 0]
        warped = ops.remap(x, rows, columns, self.fill_mode, self.interpolation, self.fill_value)
        probability = self.factor[0] + (self.factor[1] - self.factor[0]) * draws[:n]
        chosen = (draws[n : 2 * n] < probability).reshape(n, 1, 1, 1)
        return tensor_ops.clip(tensor_ops.where(chosen, warped, x), *self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "scale": list(self.scale),
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "value_range": list(self.value_range),
        }


class RandomCrop(_RandomLayer):
    """In training, a random (height, width) window of each image (each image its own; Keras
    crops a whole batch at one place). In inference, and in training when an image is smaller
    than the window, Keras' fallback: the largest centered window of the target's aspect
    ratio, resized to (height, width)."""

    def __init__(self, height: int, width: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = positive_int(height, f"{self.describe()}: height")
        self.width = positive_int(width, f"{self.describe()}: width")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Image augmentation")
        return (self.height, self.width, input_shape[2])

    def call(self, x: Tensor, training: bool) -> Tensor:
        _, h, w, _ = x.shape
        if training and h >= self.height and w >= self.width:
            return self.augment(x)
        size = (self.height, self.width)
        return ops.resize(x, size, "bilinear", crop_to_aspect_ratio=True)

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, h, w, _ = x.shape
        draws = self._uniform(xp, 2 * n, 0.0, 1.0)
        top = xp.floor(draws[:n] * (h - self.height + 1))
        left = xp.floor(draws[n:] * (w - self.width + 1))
        ones, zeros = xp.ones(n), xp.zeros(n)
        m = xp.stack([ones, zeros, left, zeros, ones, top], axis=1)
        window = (self.height, self.width)
        return ops.affine_transform(x, m, "nearest", "nearest", output_size=window)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


def _value_range(value: Any, owner: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{owner}: value_range must be a (low, high) pair, got {value!r}.")
    low, high = sorted(finite_number(v, "value_range", owner) for v in value)
    return low, high


class Pipeline(Layer):
    """Keras' Pipeline: ``layers`` (preprocessing and augmentation ones, say) applied in
    order as one layer; its weights are theirs."""

    default_training = True

    def __init__(self, layers: list[Layer], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError(f"{self.describe()} takes a non-empty list of layers, got {layers!r}.")
        self.layers = list(layers)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        for layer in self.layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def build(self, input_shape: Shape) -> None:
        shape = sample_shape(input_shape)
        self.sample_input_shape = shape
        for layer in self.layers:
            layer.device = self.device
            if not layer.built:
                layer._build_sample_shape(shape)
            shape = layer.sample_output_shape
        self.sample_output_shape = shape
        self._weights = [w for layer in self.layers for w in layer.weights]
        self.built = True
        self._settle_trainable()

    def _inner_layers(self) -> list[Layer]:
        return list(self.layers)

    def to(self, device: str) -> None:
        super().to(device)
        for layer in self.layers:
            layer.device = device

    def call(self, x: Tensor, training: bool) -> Tensor:
        for layer in self.layers:
            x = layer.call(x, training)
        return x

    @property
    def losses(self) -> list[Tensor]:
        return [loss for layer in self.layers for loss in layer.losses]

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object

        # As Keras' Pipeline: no trainable or dtype.
        return {
            "name": self.name,
            "layers": [serialize_keras_object(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Pipeline:
        from .models import layer_class

        config = dict(config)
        layers = []
        for entry in config.pop("layers"):
            found = layer_class(entry["class_name"])
            if found is None:
                raise ValueError(f"Pipeline holds an unknown layer class {entry['class_name']!r}.")
            layers.append(found.from_config(entry["config"]))
        return cls(layers, **config)


def box_mask(xp: Any, h: int, w: int, x0: Any, x1: Any, y0: Any, y1: Any) -> Any:
    """(n, h, w): whether each pixel (its index as its place) lies in image i's box
    [x0, x1) x [y0, y1), the corners real numbers, as Keras draws them."""
    columns, rows = xp.arange(w)[None, None, :], xp.arange(h)[None, :, None]
    return (
        (columns >= x0[:, None, None])
        & (columns < x1[:, None, None])
        & (rows >= y0[:, None, None])
        & (rows < y1[:, None, None])
    )


class RandomErasing(_RandomLayer):
    """Keras' RandomErasing (Zhong et al.): in training, each image, with a probability drawn
    from ``factor``, has one rectangle replaced by ``fill_value`` (None: normal noise times
    the range's top, clipped to ``value_range``). The rectangle's width and height are the
    square roots of two draws from ``scale`` (so its area is within it) times the image's,
    at a uniformly drawn place, as Keras computes it."""

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = (0.02, 0.33),
        fill_value: float | None = None,
        value_range: Any = (0, 255),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        pairs = []
        for name, value in (("factor", factor), ("scale", scale)):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = (0.0, float(value))
            pairs.append(_factor_range(value, name, self.describe(), 0, 1))
        self.factor, self.scale = pairs
        if fill_value is not None and (
            isinstance(fill_value, bool) or not isinstance(fill_value, (int, float))
        ):
            raise ValueError(f"{self.describe()}: fill_value must be a number or None.")
        self.fill_value = None if fill_value is None else float(fill_value)
        self.value_range = _value_range(value_range, self.describe())

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, h, w = x.shape[0], x.shape[1], x.shape[2]
        draws = self._uniform(xp, 6 * n, 0.0, 1.0).reshape(6, n)
        low, high = self.scale
        ratio_w, ratio_h = xp.sqrt(low + (high - low) * draws[:2])
        x0 = draws[2] * (w - ratio_w * w)
        y0 = draws[3] * (h - ratio_h * h)
        x1, y1 = x0 + ratio_w * w, y0 + ratio_h * h
        probability = self.factor[0] + (self.factor[1] - self.factor[0]) * draws[4]
        erase = draws[5] < probability
        inside = (box_mask(xp, h, w, x0, x1, y0, y1) & erase[:, None, None])[..., None]
        lowest, highest = self.value_range
        if self.fill_value is None:
            fill = xp.clip(self._normal(xp, x.shape) * highest, lowest, highest)
        else:
            fill = xp.full(x.shape, min(max(self.fill_value, lowest), highest))
        mask = xp.broadcast_to(inside, x.shape)
        return tensor_ops.where(mask, fill.astype(x.dtype), x)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "scale": list(self.scale),
            "fill_value": self.fill_value,
            "value_range": list(self.value_range),
        }
