"""Keras' ``keras.ops.image`` for minicnn Tensors (``minicnn.ops.image``): color conversions,
resizing, affine and perspective warps, map_coordinates, Gaussian blur, elastic distortion,
crops, pads and patches, with Keras' arguments. Each takes one image (3-D) or a batch (4-D),
channels last unless ``data_format`` says otherwise, and is differentiable; the warps read
through ``image_ops``' interpolation, whose backward sends each output's gradient to the
pixels it read."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend, image_ops
from . import ops as O
from .autograd import Function, Tensor
from .layer_base import channels_last
from .resampling import scale_and_translate  # Keras' ops.image one, as it is

__all__ = [
    "affine_transform",
    "crop_images",
    "elastic_transform",
    "extract_patches",
    "extract_patches_3d",
    "gaussian_blur",
    "hsv_to_rgb",
    "map_coordinates",
    "pad_images",
    "perspective_transform",
    "resize",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "scale_and_translate",
    "sobel_edges",
    "ssim",
]

# Keras' (and SciPy's) ways to read outside an image: 'reflect' repeats the edge pixel
# (d c b a | a b c d), 'mirror' does not (d c b | a b c d).
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
LUMA = (0.2989, 0.5870, 0.1140)  # Keras' (TensorFlow's) grayscale weights


def _on_images(
    images: Any, data_format: Any, owner: str, work: Callable[[Tensor], Tensor]
) -> Tensor:
    """``work`` on the images as a channels-last batch, the result back in their layout."""
    x = O.convert_to_tensor(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{owner}: images of rank 3 (one image) or 4 (a batch), got shape {x.shape}."
        )
    single = x.ndim == 3
    if single:
        x = O.expand_dims(x, 0)
    first = channels_last(data_format, owner) == "channels_first"
    if first:
        x = O.transpose(x, (0, 2, 3, 1))
    out = work(x)
    if first:
        out = O.transpose(out, (0, 3, 1, 2))
    return O.squeeze(out, 0) if single else out


def _fill_mode(value: str, owner: str) -> str:
    if value not in FILL_MODES:
        raise ValueError(
            f"{owner}: fill_mode must be one of {', '.join(FILL_MODES)}; got {value!r}."
        )
    return value


# --- colors ------------------------------------------------------------------------------------


def rgb_to_grayscale(images: Any, data_format: str | None = None) -> Tensor:
    """Each pixel's luminance 0.2989 R + 0.5870 G + 0.1140 B, one channel."""

    def gray(x: Tensor) -> Tensor:
        weights = backend.get_array_module(x.data).asarray(LUMA, dtype=x.dtype)
        return O.sum(x * weights, axis=-1, keepdims=True)

    return _on_images(images, data_format, "rgb_to_grayscale", gray)


def _planes(x: Tensor) -> list[Tensor]:
    if x.shape[-1] != 3:
        raise ValueError(f"a color conversion takes 3 channels, got {x.shape[-1]}.")
    return [x[..., k] for k in range(3)]


def rgb_to_hsv(images: Any, data_format: str | None = None) -> Tensor:
    """RGB in [0, 1] to (hue, saturation, value), each in [0, 1], by Keras' formulas."""

    def convert(x: Tensor) -> Tensor:
        eps = float(np.finfo(x.dtype).eps)
        x = O.where(O.less(O.abs(x), eps), 0.0, x)
        r, g, b = _planes(x)
        value = O.maximum(O.maximum(r, g), b)
        spread = value - O.minimum(O.minimum(r, g), b)
        saturation = O.where(
            O.greater(value, 0.0), spread / O.where(O.greater(value, 0.0), value, 1.0), 0.0
        )
        norm = 1.0 / (6.0 * O.where(O.greater(spread, 0.0), spread, 1.0))
        hue = O.where(O.equal(value, g), norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
        hue = O.where(O.equal(value, r), norm * (g - b), hue)
        hue = O.where(O.greater(spread, 0.0), hue, 0.0)
        hue = hue + O.cast(O.less(hue, 0.0), x.dtype)
        return O.stack([hue, saturation, value], axis=-1)

    return _on_images(images, data_format, "rgb_to_hsv", convert)


def hsv_to_rgb(images: Any, data_format: str | None = None) -> Tensor:
    """(hue, saturation, value) to RGB, by Keras' formulas."""

    def convert(x: Tensor) -> Tensor:
        hue, saturation, value = _planes(x)
        sector = O.mod(hue, 1.0) * 6.0
        red = O.clip(O.abs(sector - 3.0) - 1.0, 0.0, 1.0)
        green = O.clip(2.0 - O.abs(sector - 2.0), 0.0, 1.0)
        blue = O.clip(2.0 - O.abs(sector - 4.0), 0.0, 1.0)
        gray = 1.0 - saturation
        return O.stack([value * (gray + saturation * d) for d in (red, green, blue)], axis=-1)

    return _on_images(images, data_format, "hsv_to_rgb", convert)


# --- resizing, crops, pads, patches --------------------------------------------------------------


def resize(
    images: Any,
    size: Any,
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Keras' resize (half-pixel centers): bilinear, nearest, or Keras' JAX backend's
    bicubic, lanczos3 and lanczos5; ``antialias`` (for bilinear and those) widens the kernel
    when shrinking; optionally cropped or padded to the target's aspect ratio first."""
    if fill_mode != "constant":
        raise ValueError(f"resize: fill_mode must be 'constant' (as in Keras), got {fill_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of crop_to_aspect_ratio and pad_to_aspect_ratio.")
    if len(size) != 2:
        raise ValueError(f"resize: size is (height, width), got {size!r}.")
    image_ops.checked_interpolation(interpolation, "resize", image_ops.RESIZE_INTERPOLATIONS)

    def work(x: Tensor) -> Tensor:
        return image_ops.resize(
            x,
            tuple(size),
            interpolation,
            crop_to_aspect_ratio,
            pad_to_aspect_ratio,
            fill_value,
            bool(antialias),
        )

    return _on_images(images, data_format, "resize", work)


def _edges(
    before: int | None, after: int | None, target: int | None, size: int, owner: str, what: str
) -> tuple[int, int]:
    """(before, after) from Keras' three ways to say them: before (default 0) and either
    after or the target size."""
    before = before or 0
    if (after is None) == (target is None):
        raise ValueError(f"{owner}: give exactly one of bottom/right_{what} and the target size.")
    if after is None:
        after = target - before - size if what == "padding" else size - before - target
    if min(before, after) < 0 or (what == "cropping" and before + after >= size):
        raise ValueError(
            f"{owner}: {what} ({before}, {after}) does not fit an axis of {size} pixels."
        )
    return before, after


def crop_images(
    images: Any,
    top_cropping: int | None = None,
    left_cropping: int | None = None,
    bottom_cropping: int | None = None,
    right_cropping: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    """Each image cropped by (top, left) and either (bottom, right) or to the target size."""

    def work(x: Tensor) -> Tensor:
        _, h, w, _ = x.shape
        top, bottom = _edges(
            top_cropping, bottom_cropping, target_height, h, "crop_images", "cropping"
        )
        left, right = _edges(
            left_cropping, right_cropping, target_width, w, "crop_images", "cropping"
        )
        return x[:, top : h - bottom, left : w - right, :]

    return _on_images(images, data_format, "crop_images", work)


def pad_images(
    images: Any,
    top_padding: int | None = None,
    left_padding: int | None = None,
    bottom_padding: int | None = None,
    right_padding: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    """Each image padded with zeros by (top, left) and either (bottom, right) or to the
    target size."""

    def work(x: Tensor) -> Tensor:
        _, h, w, _ = x.shape
        rows = _edges(top_padding, bottom_padding, target_height, h, "pad_images", "padding")
        cols = _edges(left_padding, right_padding, target_width, w, "pad_images", "padding")
        return O.pad(x, ((0, 0), rows, cols, (0, 0)))

    return _on_images(images, data_format, "pad_images", work)


def extract_patches(
    images: Any,
    size: Any,
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """TensorFlow's extract_patches: each window of ``size`` (slid by ``strides``, by default
    the size) as one vector of its (row, column, channel) values, (N, rows, cols, kh*kw*C)
    channels last; 'same' padding as a convolution's (zeros, the extra one after)."""
    from .nn_ops import unfold

    kh, kw = (size, size) if isinstance(size, int) else tuple(size)
    sh, sw = (kh, kw) if strides is None else _pair(strides)
    dh, dw = _pair(dilation_rate)
    if padding not in ("valid", "same"):
        raise ValueError(f"extract_patches: padding 'valid' or 'same', got {padding!r}.")

    def work(x: Tensor) -> Tensor:
        n, h, w, c = x.shape
        if padding == "same":
            rows = _same(h, kh, sh, dh)
            cols = _same(w, kw, sw, dw)
            x = O.pad(x, ((0, 0), rows, cols, (0, 0)))
        columns = unfold(O.transpose(x, (0, 3, 1, 2)), (kh, kw), (dh, dw), 0, (sh, sw))
        oh = (x.shape[1] - dh * (kh - 1) - 1) // sh + 1
        ow = (x.shape[2] - dw * (kw - 1) - 1) // sw + 1
        taps = O.transpose(O.reshape(columns, (n, c, kh * kw, oh, ow)), (0, 3, 4, 2, 1))
        return O.reshape(taps, (n, oh, ow, kh * kw * c))

    return _on_images(images, data_format, "extract_patches", work)


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _same(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


# --- warps ------------------------------------------------------------------------------------


class MapCoordinates(Function):
    """x read at real ``coordinates`` (one array per axis of x), each place the weighted sum
    of its 2^rank neighbours (order 1) or its nearest one (order 0)."""

    def __init__(self, coordinates: list[Any], order: int, fill_mode: str, fill_value: float):
        self.coordinates, self.order = coordinates, order
        self.fill_mode, self.fill_value = fill_mode, fill_value

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.shape = x.shape
        self.taps = []
        per_axis = []
        for c in self.coordinates:
            c = c.astype(np.float64)
            if self.order == 0:
                per_axis.append([(xp.floor(c + 0.5).astype(np.int64), None)])
            else:
                low = xp.floor(c)
                per_axis.append(
                    [(low.astype(np.int64), 1 - (c - low)), (low.astype(np.int64) + 1, c - low)]
                )
        strides = np.cumprod((1, *x.shape[::-1]))[:-1][::-1]
        out = 0
        flat = x.reshape(-1)
        for corner in itertools.product(*per_axis):
            index, weight, inside = 0, None, None
            for (place, share), size, stride in zip(corner, x.shape, strides, strict=True):
                source, within = image_ops.source_index(place, size, self.fill_mode)
                index = index + source * int(stride)
                weight = share if weight is None else (weight if share is None else weight * share)
                if within is not None:
                    inside = within if inside is None else inside & within
            value = flat[index]
            if inside is not None:
                value = xp.where(inside, value, x.dtype.type(self.fill_value))
            out = out + (value if weight is None else weight.astype(x.dtype) * value)
            self.taps.append((index, weight, inside))
        return xp.asarray(out, dtype=x.dtype)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        dx = xp.zeros(math.prod(self.shape), dtype=grad.dtype)
        for index, weight, inside in self.taps:
            share = grad if weight is None else weight.astype(grad.dtype) * grad
            if inside is not None:
                share = share * inside.astype(grad.dtype)
            backend.scatter_add(dx, index.reshape(-1), share.reshape(-1))
        return dx.reshape(self.shape)


def map_coordinates(
    inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant", fill_value: float = 0.0
) -> Tensor:
    """Keras' map_coordinates (SciPy's, order 0 or 1): ``inputs`` read at ``coordinates``, one
    array of real positions per axis of ``inputs``; outside it per ``fill_mode``."""
    x = O.convert_to_tensor(inputs)
    if len(coordinates) != x.ndim:
        raise ValueError(
            f"map_coordinates: one coordinate array per axis of the {x.ndim}-D input, got "
            f"{len(coordinates)}."
        )
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: order 0 or 1 (as in Keras), got {order!r}.")
    xp = backend.get_array_module(x.data)
    # Keras reads every coordinate as a real number, ints too.
    places = [xp.asarray(O._data(O.convert_to_tensor(c)), dtype=np.float64) for c in coordinates]
    return MapCoordinates(places, order, _fill_mode(fill_mode, "map_coordinates"), fill_value)(x)


def _transforms(transform: Any, xp: Any, count: int, owner: str) -> Any:
    m = xp.asarray(O._data(O.convert_to_tensor(transform)), dtype=np.float64)
    if m.ndim not in (1, 2) or m.shape[-1] != 8:
        raise ValueError(f"{owner}: a transform is 8 numbers, or (batch, 8); got {m.shape}.")
    return xp.broadcast_to(m.reshape(-1, 8), (count, 8))


def affine_transform(
    images: Any,
    transform: Any,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Keras' affine_transform: output pixel (x, y) reads the input at ((a0 x + a1 y + a2) /
    k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, from ``transform`` [a0, a1, a2, b0, b1,
    b2, c0, c1] (one, or one per image)."""
    image_ops.checked_interpolation(interpolation, "affine_transform")
    mode = _fill_mode(fill_mode, "affine_transform")

    def work(x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        m = _transforms(transform, xp, x.shape[0], "affine_transform")
        return _warp(x, m, interpolation, mode, fill_value)

    return _on_images(images, data_format, "affine_transform", work)


def _warp(x: Tensor, m: Any, interpolation: str, fill_mode: str, fill_value: float) -> Tensor:
    """x read through the (N, 8) projective rows ``m``, in any of Keras' fill modes."""
    return image_ops.AffineTransform(m, fill_mode, interpolation, float(fill_value))(x)


def perspective_transform(
    images: Any,
    start_points: Any,
    end_points: Any,
    interpolation: str = "bilinear",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Keras' perspective_transform: the homography that takes the four ``end_points`` (x, y)
    of the output to the ``start_points`` of the input ((4, 2), or (batch, 4, 2)), in closed
    form through the unit square; outside reads ``fill_value``."""
    image_ops.checked_interpolation(interpolation, "perspective_transform")

    def work(x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        start, end = (
            xp.asarray(O._data(O.convert_to_tensor(p)), dtype=np.float64)
            for p in (start_points, end_points)
        )
        if start.shape != end.shape or start.shape[-2:] != (4, 2) or start.ndim not in (2, 3):
            raise ValueError(
                "perspective_transform: start_points and end_points are both (4, 2) or "
                f"(batch, 4, 2); got {start.shape} and {end.shape}."
            )
        m = image_ops.point_homographies(xp, start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))
        return _warp(x, xp.broadcast_to(m, (x.shape[0], 8)), interpolation, "constant", fill_value)

    return _on_images(images, data_format, "perspective_transform", work)


# --- blur and elastic distortion -------------------------------------------------------------


def gaussian_blur(
    images: Any,
    kernel_size: Any = (3, 3),
    sigma: Any = (1.0, 1.0),
    data_format: str | None = None,
) -> Tensor:
    """Keras' gaussian_blur: a separable Gaussian, zero padding, the input's size. As in
    Keras' backends, ``kernel_size`` and ``sigma`` give the width's first, then the
    height's."""
    kx, ky = _pair(kernel_size)
    sx, sy = (float(sigma),) * 2 if isinstance(sigma, (int, float)) else map(float, sigma)
    if kx % 2 == 0 or ky % 2 == 0 or min(kx, ky) < 1:
        raise ValueError(f"gaussian_blur: kernel sizes are odd positive ints, got {kernel_size!r}.")
    if min(sx, sy) <= 0:
        raise ValueError(f"gaussian_blur: sigmas are positive, got {sigma!r}.")

    def work(x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        return image_ops.gaussian_blur(x, xp.full(n, sy), xp.full(n, sx), (ky, kx))

    return _on_images(images, data_format, "gaussian_blur", work)


def elastic_transform(
    images: Any,
    alpha: float = 20.0,
    sigma: float = 5.0,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
    seed: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    """Keras' elastic_transform: each image read at its pixels moved by ``alpha`` times a
    field of normal noise times ``sigma``, blurred by a Gaussian of ``sigma`` (kernel
    int(6 sigma) | 1); the noise from ``seed``."""
    image_ops.checked_interpolation(interpolation, "elastic_transform")
    mode = _fill_mode(fill_mode, "elastic_transform")

    def work(x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, h, w, c = x.shape
        noise = np.random.default_rng(seed).standard_normal((n, h, w, 2)) * sigma
        size = int(6 * sigma) | 1
        sigmas = xp.full(n, float(sigma))
        smooth = image_ops.gaussian_blur(Tensor(xp.asarray(noise)), sigmas, sigmas, (size, size))
        shift = alpha * smooth.data
        rows = xp.arange(h)[None, :, None] + shift[..., 1]
        columns = xp.arange(w)[None, None, :] + shift[..., 0]
        return image_ops.Remap(rows, columns, mode, interpolation, float(fill_value))(x)

    return _on_images(images, data_format, "elastic_transform", work)


def sobel_edges(images: Any, data_format: str | None = None) -> Tensor:
    """Keras' sobel_edges: each channel's vertical and horizontal Sobel derivatives, with
    zero padding (Keras' JAX and PyTorch backends; TensorFlow's reflects), as
    (batch, height, width, channels, 2) holding [dy, dx] (channels first: (batch, channels,
    height, width, 2)). Differentiable."""
    x = O.convert_to_tensor(images)
    if x.ndim != 4:
        raise ValueError(f"sobel_edges: a batch of images (rank 4), got shape {x.shape}.")
    first = channels_last(data_format, "sobel_edges") == "channels_first"
    if first:
        x = O.transpose(x, (0, 2, 3, 1))
    x = x if x.dtype.kind == "f" else O.cast(x, backend.FLOAT)
    xp = backend.get_array_module(x.data)
    vertical = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], x.dtype)
    edges = []
    for taps in (vertical, vertical.T):
        kernel = np.broadcast_to(taps[:, :, None, None], (3, 3, x.shape[-1], 1))
        edges.append(O.depthwise_conv(x, Tensor(xp.asarray(kernel)), padding="same"))
    out = O.stack(edges, axis=-1)
    return O.transpose(out, (0, 3, 1, 2, 4)) if first else out


def ssim(
    image1: Any,
    image2: Any,
    max_val: float = 1.0,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_format: str | None = None,
) -> Tensor:
    """Keras' ssim (Wang et al.'s structural similarity): local means, variances and
    covariance under a ``filter_size`` Gaussian of ``filter_sigma`` (valid windows), their
    SSIM map averaged over the image and its channels: one value per image pair (a scalar
    for two single images). Differentiable."""
    a, b = O.convert_to_tensor(image1), O.convert_to_tensor(image2)
    if a.ndim not in (3, 4) or a.shape != b.shape:
        raise ValueError(
            f"ssim: two images (rank 3) or batches (rank 4) of one shape, got {a.shape} "
            f"and {b.shape}."
        )
    single = a.ndim == 3
    a, b = (v if v.dtype.kind == "f" else O.cast(v, backend.FLOAT) for v in (a, b))
    if single:
        a, b = O.expand_dims(a, 0), O.expand_dims(b, 0)
    if channels_last(data_format, "ssim") == "channels_first":
        a, b = O.transpose(a, (0, 2, 3, 1)), O.transpose(b, (0, 2, 3, 1))
    n, h, w, c = a.shape
    if min(h, w) < filter_size:
        raise ValueError(f"ssim: images of {h}x{w} are smaller than the {filter_size} filter.")
    offsets = np.arange(filter_size) - (filter_size - 1) / 2.0
    line = np.exp(-(offsets**2) / (2.0 * filter_sigma**2))
    line /= line.sum()
    xp = backend.get_array_module(a.data)
    kernel = Tensor(xp.asarray(np.outer(line, line)[:, :, None, None].astype(a.dtype)))

    def planes(v: Tensor) -> Tensor:  # each channel an image of its own, (n c, h, w, 1)
        return O.reshape(O.transpose(v, (0, 3, 1, 2)), (n * c, h, w, 1))

    def local_mean(v: Tensor) -> Tensor:
        return O.conv(v, kernel, padding="valid")

    a, b = planes(a), planes(b)
    mean_a, mean_b = local_mean(a), local_mean(b)
    var_a = local_mean(a * a) - mean_a * mean_a
    var_b = local_mean(b * b) - mean_b * mean_b
    covariance = local_mean(a * b) - mean_a * mean_b
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    score = ((2.0 * mean_a * mean_b + c1) * (2.0 * covariance + c2)) / (
        (mean_a * mean_a + mean_b * mean_b + c1) * (var_a + var_b + c2)
    )
    out = O.mean(O.reshape(O.mean(score, axis=(1, 2, 3)), (n, c)), axis=-1)
    return out[0] if single else out


def extract_patches_3d(
    volumes: Any,
    size: Any,
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """Keras' extract_patches_3d: each window of ``size`` (depth, height, width; slid by
    ``strides``, by default the size) of volumes (N, D, H, W, C), or of one volume, as one
    vector of its (depth, row, column, channel) values; 'same' padding as a convolution's.
    Differentiable (strided slices of the input)."""
    x = O.convert_to_tensor(volumes)
    if x.ndim not in (4, 5):
        raise ValueError(f"extract_patches_3d: volumes of rank 4 or 5, got shape {x.shape}.")
    if padding not in ("valid", "same"):
        raise ValueError(f"extract_patches_3d: padding 'valid' or 'same', got {padding!r}.")
    window = (size,) * 3 if isinstance(size, int) else tuple(size)
    steps = window if strides is None else (strides,) * 3 if isinstance(strides, int) else strides
    dilation = (dilation_rate,) * 3 if isinstance(dilation_rate, int) else tuple(dilation_rate)
    if not len(window) == len(steps) == len(dilation) == 3:
        raise ValueError("extract_patches_3d: size, strides and dilation_rate give 3 numbers.")
    single = x.ndim == 4
    if single:
        x = O.expand_dims(x, 0)
    first = channels_last(data_format, "extract_patches_3d") == "channels_first"
    if first:
        x = O.moveaxis(x, 1, -1)
    if padding == "same":
        pads = [_same(x.shape[1 + a], window[a], steps[a], dilation[a]) for a in range(3)]
        x = O.pad(x, ((0, 0), *pads, (0, 0)))
    counts = [
        (x.shape[1 + a] - dilation[a] * (window[a] - 1) - 1) // steps[a] + 1 for a in range(3)
    ]
    if min(counts) < 1:
        raise ValueError(f"extract_patches_3d: a {window} window does not fit {x.shape[1:4]}.")
    taps = []
    for offsets in itertools.product(*(range(k) for k in window)):
        cut = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offsets, dilation, counts, steps, strict=True)
        )
        taps.append(x[(slice(None), *cut, slice(None))])
    out = O.reshape(O.stack(taps, axis=-2), (x.shape[0], *counts, len(taps) * x.shape[-1]))
    if first:
        out = O.moveaxis(out, -1, 1)
    return out[0] if single else out
