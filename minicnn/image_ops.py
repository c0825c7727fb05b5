"""Differentiable image operations for preprocessing and augmentation: rescaling, per-image
flips and affine warps (translation, rotation, zoom, crops) with Keras' fill modes, resizing,
brightness and contrast, and the random numbers they draw.

Random numbers are a hash of (seed, index) computed where they are used, as dropout's masks
are: a GPU draws them without a host-to-device copy (which would make each step wait), and
the CPU and a GPU draw the same ones. The seed comes from a host generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from . import ops as tensor_ops
from .autograd import Function, Tensor
from .functions import Crop

FILL_MODES = ("reflect", "wrap", "nearest", "constant")
INTERPOLATIONS = ("bilinear", "nearest")
# Resizing also takes Keras' kernel methods (``resampling``; its JAX backend's).
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def hashed_uniform(xp: Any, seed: Any, count: int) -> Any:
    """``count`` floats in [0, 1), float64, from the 32-bit ``seed`` (MurmurHash3's mixer); the
    seed may be a 0-d uint32 device array (``backend.step_scalar`` in a captured step)."""
    seed = seed if backend.is_device_array(seed) else xp.uint32(seed)
    h = xp.arange(count, dtype=xp.uint32) * xp.uint32(0x9E3779B9) + seed
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        h ^= h >> xp.uint32(shift)
        h *= xp.uint32(factor)
    h ^= h >> xp.uint32(16)
    return (h >> xp.uint32(8)).astype(np.float64) / float(2**24)


# --- flips -----------------------------------------------------------------------------------


class Flip(Function):
    """Each image mirrored left-right where ``horizontal`` is true, and upside down where
    ``vertical`` is (boolean arrays of one entry per image, or None)."""

    def __init__(self, horizontal: Any, vertical: Any) -> None:
        self.horizontal, self.vertical = horizontal, vertical

    def _apply(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        for flags, axis in ((self.horizontal, 2), (self.vertical, 1)):
            if flags is not None:
                x = xp.where(flags[:, None, None, None], xp.flip(x, axis=axis), x)
        return x

    def forward(self, x: Any) -> Any:
        return self._apply(x)

    def backward(self, grad: Any) -> Any:
        return self._apply(grad)  # each flip is its own inverse


def flip(x: Any, horizontal: Any = None, vertical: Any = None) -> Tensor:
    return Flip(horizontal, vertical)(x)


# --- affine warps ----------------------------------------------------------------------------


def source_index(index: Any, size: int, fill_mode: str) -> tuple[Any, Any]:
    """Where integer position ``index`` reads from in an image extended by ``fill_mode``, and
    whether it reads the image at all (False only outside it with 'constant')."""
    xp = backend.get_array_module(index)
    inside = (index >= 0) & (index < size)
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        m = xp.mod(index, 2 * size)
        return xp.where(m < size, m, 2 * size - 1 - m), None
    if fill_mode == "wrap":  # a b c d | a b c d | a b c d
        return xp.mod(index, size), None
    if fill_mode == "mirror":  # d c b | a b c d | c b a (SciPy's and Keras' ops' mirror)
        if size == 1:
            return xp.zeros_like(index), None
        m = xp.mod(index, 2 * size - 2)
        return xp.where(m < size, m, 2 * size - 2 - m), None
    clipped = xp.clip(index, 0, size - 1)  # nearest: a a a a | a b c d | d d d d
    return clipped, (inside if fill_mode == "constant" else None)


class AffineTransform(Function):
    """Warp each image by its matrix [a0, a1, a2, b0, b1, b2]: output pixel (x, y) takes the
    input at (a0 x + a1 y + a2, b0 x + b1 y + b2), as Keras' transforms map output to input;
    with Keras' two more, [..., c0, c1], a projective one: both divided by c0 x + c1 y + 1.
    ``matrices`` is an (N, 6) or (N, 8) array, one row per image, or a tuple of six (eight)
    numbers for every image; the output is ``output_size`` (height, width), by default the
    input's. The input is
    extended beyond its edges by ``fill_mode`` ('reflect', 'wrap', 'nearest', or 'constant'
    with ``fill_value``) and read by bilinear or nearest interpolation. The gradient is the
    adjoint: each output's gradient goes back to the pixels it read."""

    def __init__(
        self,
        matrices: Any,
        fill_mode: str,
        interpolation: str,
        fill_value: float,
        output_size: tuple[int, int] | None = None,
    ) -> None:
        self.matrices = matrices
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value
        self.output_size = output_size

    def _coefficients(self) -> list[Any]:
        if isinstance(self.matrices, tuple):
            return [float(a) for a in self.matrices]
        m = self.matrices.astype(np.float64)
        return [m[:, i, None, None] for i in range(m.shape[1])]

    def _coordinates(self, xp: Any, out_h: int, out_w: int) -> tuple[Any, Any]:
        """Where each output pixel reads the input: (row, column), real numbers."""
        a0, a1, a2, b0, b1, b2, *projective = self._coefficients()
        ys = xp.arange(out_h, dtype=np.float64)[None, :, None]
        xs = xp.arange(out_w, dtype=np.float64)[None, None, :]
        col = a0 * xs + a1 * ys + a2
        row = b0 * xs + b1 * ys + b2
        if projective:
            depth = projective[0] * xs + projective[1] * ys + 1.0
            col, row = col / depth, row / depth
        return row, col

    def _taps(self, shape: tuple[int, ...], xp: Any) -> list[tuple[Any, Any, Any]]:
        """For each pixel the model reads: (flat index into (N*H*W), weight, inside mask)."""
        n, h, w, _ = shape
        out_h, out_w = self.output_size or (h, w)
        row, col = self._coordinates(xp, out_h, out_w)
        base = (xp.arange(n) * h)[:, None, None]
        if self.interpolation == "nearest":
            corners = [(xp.floor(row + 0.5), xp.floor(col + 0.5), None)]
        else:
            r0, c0 = xp.floor(row), xp.floor(col)
            fr, fc = row - r0, col - c0
            corners = [
                (r0, c0, (1 - fr) * (1 - fc)),
                (r0, c0 + 1, (1 - fr) * fc),
                (r0 + 1, c0, fr * (1 - fc)),
                (r0 + 1, c0 + 1, fr * fc),
            ]
        taps = []
        for r, c, weight in corners:
            r_src, r_in = source_index(r.astype(np.int64), h, self.fill_mode)
            c_src, c_in = source_index(c.astype(np.int64), w, self.fill_mode)
            inside = None if r_in is None else r_in & c_in
            taps.append(((base + r_src) * w + c_src, weight, inside))
        return taps

    def _warped_by_kernel(self, x: Any) -> Any:
        """The warp by the Numba kernel (float32 images on the CPU, an affine or projective
        map): the same bits as the array code below, without its index arrays."""
        from .kernels import cpu

        n, h, w, c = x.shape
        out_h, out_w = self.output_size or (h, w)
        if isinstance(self.matrices, tuple):
            rows = np.tile(np.asarray(self.matrices, np.float64), (n, 1))
        else:
            rows = np.asarray(self.matrices, np.float64).reshape(n, -1)
        projective = rows.shape[1] == 8
        rows = np.ascontiguousarray(np.pad(rows, ((0, 0), (0, 8 - rows.shape[1]))))
        out = np.empty((n, out_h, out_w, c), dtype=x.dtype)
        code = cpu.FILL_CODES[self.fill_mode]
        nearest = self.interpolation == "nearest"
        fill = x.dtype.type(self.fill_value)
        return cpu.affine_warp(np.ascontiguousarray(x), rows, projective, nearest, code, fill, out)

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        n, h, w, c = x.shape
        self.x_shape = x.shape
        if (
            xp is np
            and x.dtype == np.float32
            and type(self)._coordinates is AffineTransform._coordinates
        ):
            self.taps = None  # made by backward, if a gradient is asked for
            return self._warped_by_kernel(x)
        flat = x.reshape(n * h * w, c)
        self.taps = self._taps(x.shape, xp)
        out_h, out_w = self.output_size or (h, w)
        out = xp.zeros((n, out_h, out_w, c), dtype=x.dtype)
        for index, weight, inside in self.taps:
            value = flat[index]
            if inside is not None:
                value = xp.where(inside[..., None], value, x.dtype.type(self.fill_value))
            out += value if weight is None else weight[..., None].astype(x.dtype) * value
        return out

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        n, h, w, c = self.x_shape
        if self.taps is None:
            self.taps = self._taps(self.x_shape, xp)
        dx = xp.zeros((n * h * w, c), dtype=grad.dtype)
        for index, weight, inside in self.taps:
            share = grad if weight is None else weight[..., None].astype(grad.dtype) * grad
            if inside is not None:
                share = share * inside[..., None].astype(grad.dtype)
            backend.scatter_add(dx, index.reshape(-1), share.reshape(-1, c))
        return dx.reshape(self.x_shape)


def affine_transform(
    x: Any,
    matrices: Any,
    fill_mode: str = "reflect",
    interpolation: str = "bilinear",
    fill_value: float = 0.0,
    output_size: tuple[int, int] | None = None,
) -> Tensor:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {', '.join(FILL_MODES)}; got {fill_mode!r}.")
    checked_interpolation(interpolation)
    count = len(matrices) if isinstance(matrices, tuple) else matrices.shape[-1]
    if count not in (6, 8):
        raise ValueError(f"a transform has 6 (affine) or 8 (projective) numbers, got {count}.")
    return AffineTransform(matrices, fill_mode, interpolation, fill_value, output_size)(x)


class Remap(AffineTransform):
    """Each output pixel (i, j) of image k reads the input at (``rows[k, i, j]``,
    ``columns[k, i, j]``), with the fill modes and interpolations of ``AffineTransform``
    (SciPy's map_coordinates, batched)."""

    def __init__(
        self, rows: Any, columns: Any, fill_mode: str, interpolation: str, fill_value: float
    ) -> None:
        super().__init__(None, fill_mode, interpolation, fill_value, tuple(rows.shape[1:]))
        self.rows, self.columns = rows, columns

    def _coordinates(self, xp: Any, out_h: int, out_w: int) -> tuple[Any, Any]:
        return self.rows.astype(np.float64), self.columns.astype(np.float64)


def remap(
    x: Any,
    rows: Any,
    columns: Any,
    fill_mode: str = "reflect",
    interpolation: str = "bilinear",
    fill_value: float = 0.0,
) -> Tensor:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {', '.join(FILL_MODES)}; got {fill_mode!r}.")
    checked_interpolation(interpolation)
    return Remap(rows, columns, fill_mode, interpolation, fill_value)(x)


def gaussian_bands(xp: Any, sigma: Any, size: int, length: int, dtype: Any) -> Any:
    """(n, length, length): row i holds the normalized Gaussian taps (one sigma per image)
    centered on i, cut off past the edges (zero padding), so ``band @ line`` blurs a line."""
    radius = (size - 1) // 2
    taps = xp.exp(-0.5 * ((xp.arange(size) - radius)[None, :] / sigma[:, None]) ** 2)
    taps = taps / taps.sum(axis=1, keepdims=True)
    offset = xp.arange(length)[None, :] - xp.arange(length)[:, None] + radius
    inside = (offset >= 0) & (offset < size)
    bands = xp.where(inside, taps[:, xp.clip(offset, 0, size - 1)], 0.0)
    return bands.astype(dtype)


def gaussian_blur(x: Tensor, sigma_y: Any, sigma_x: Any, kernel_size: tuple[int, int]) -> Tensor:
    """Each NHWC image blurred by its own separable Gaussian (sigmas per image, zero padding,
    output the input's size), as two batched products with banded matrices."""
    xp = backend.get_array_module(x.data)
    n, h, w, c = x.shape
    rows = Tensor(gaussian_bands(xp, sigma_y, kernel_size[0], h, x.dtype))
    columns = Tensor(gaussian_bands(xp, sigma_x, kernel_size[1], w, x.dtype))
    down = tensor_ops.matmul(rows, tensor_ops.reshape(x, (n, h, w * c)))
    across = tensor_ops.transpose(tensor_ops.reshape(down, (n, h, w, c)), (0, 2, 1, 3))
    blurred = tensor_ops.matmul(columns, tensor_ops.reshape(across, (n, w, h * c)))
    return tensor_ops.transpose(tensor_ops.reshape(blurred, (n, w, h, c)), (0, 2, 1, 3))


def _square_to_quad(xp: Any, corners: Any) -> Any:
    """(N, 3, 3): the projective maps taking the unit square's corners (0,0), (1,0), (0,1),
    (1,1) to ``corners`` (N, 4, 2) points (x, y) in that order (Heckbert's closed form)."""
    (x0, y0), (x1, y1), (x3, y3), (x2, y2) = (corners[:, i].T for i in range(4))
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    den = dx1 * dy2 - dx2 * dy1
    g = (dx3 * dy2 - dx2 * dy3) / den
    h = (dx1 * dy3 - dx3 * dy1) / den
    return xp.stack(
        [
            xp.stack([x1 - x0 + g * x1, x3 - x0 + h * x3, x0], axis=-1),
            xp.stack([y1 - y0 + g * y1, y3 - y0 + h * y3, y0], axis=-1),
            xp.stack([g, h, xp.ones_like(g)], axis=-1),
        ],
        axis=1,
    )


def _adjugate(xp: Any, m: Any) -> Any:
    """The cofactors of each 3 x 3 matrix, transposed: its inverse up to scale."""
    return xp.stack(
        [
            xp.stack([_minor(m, 1, 2, 1, 2), -_minor(m, 0, 2, 1, 2), _minor(m, 0, 1, 1, 2)], -1),
            xp.stack([-_minor(m, 1, 2, 0, 2), _minor(m, 0, 2, 0, 2), -_minor(m, 0, 1, 0, 2)], -1),
            xp.stack([_minor(m, 1, 2, 0, 1), -_minor(m, 0, 2, 0, 1), _minor(m, 0, 1, 0, 1)], -1),
        ],
        axis=1,
    )


def _projective_rows(m: Any) -> Any:
    """(N, 3, 3) matrices as Keras' (N, 8) rows, scaled so that [2, 2] is 1."""
    return (m / m[:, 2:3, 2:3]).reshape(-1, 9)[:, :8]


def quad_homographies(xp: Any, corners: Any) -> Any:
    """(N, 8) projective rows, Keras' layout, mapping each output pixel into the unit square
    (u, v) whose corners (0,0), (1,0), (0,1), (1,1) went to ``corners`` (N, 4, 2) points
    (x, y) in that order: the inverse of Heckbert's square-to-quad map, in closed form."""
    return _projective_rows(_adjugate(xp, _square_to_quad(xp, corners)))


def point_homographies(xp: Any, start: Any, end: Any) -> Any:
    """(N, 8) projective rows taking the four ``end`` points (N, 4, 2) to the four ``start``
    ones, as Keras' perspective_transform solves for them: through the unit square, the
    inverse of end's square-to-quad map, then start's."""
    to_square = _adjugate(xp, _square_to_quad(xp, end))
    return _projective_rows(_square_to_quad(xp, start) @ to_square)


def _minor(m: Any, r0: int, r1: int, c0: int, c1: int) -> Any:
    return m[:, r0, c0] * m[:, r1, c1] - m[:, r0, c1] * m[:, r1, c0]


def checked_interpolation(
    value: str, owner: str = "", allowed: tuple[str, ...] = INTERPOLATIONS
) -> str:
    """``value`` if it is an interpolation here, or a ValueError naming it (and ``owner``)."""
    if value not in allowed:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}interpolation must be one of {', '.join(allowed)}; got {value!r}"
            + (" (TensorFlow's area is not here)." if value == "area" else ".")
        )
    return value


# --- resizing --------------------------------------------------------------------------------


def aspect_ratio_box(height: int, width: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Keras' crop_to_aspect_ratio: the largest centered (top, left, rows, cols) window of a
    height x width image with the aspect ratio of ``size``."""
    rows = max(min(height, int(width * size[0] / size[1])), 1)
    cols = max(min(width, int(height * size[1] / size[0])), 1)
    return (height - rows) // 2, (width - cols) // 2, rows, cols


def resize(
    x: Any,
    size: tuple[int, int],
    interpolation: str = "bilinear",
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_value: float = 0.0,
    antialias: bool = False,
) -> Tensor:
    """Images resized to ``size`` as Keras resizes them (half-pixel centers): output pixel
    x reads the input at (x + 0.5) * in / out - 0.5; bilinear and nearest extend the edge
    pixels beyond the border, and bicubic, lanczos3 and lanczos5 (and ``antialias``, which
    widens the kernel when shrinking) weigh the taps inside it (``resampling``). First,
    optionally, the image is cropped to the largest centered window of the target's aspect
    ratio, or padded with ``fill_value`` to it."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    _, h, w, _ = x.shape
    if crop_to_aspect_ratio:
        top, left, rows, cols = aspect_ratio_box(h, w, size)
        if (rows, cols) != (h, w):
            x = Crop(((top, h - top - rows), (left, w - left - cols)))(x)
            h, w = rows, cols
    elif pad_to_aspect_ratio:
        rows = max(h, int(w * size[0] / size[1]))
        cols = max(w, int(h * size[1] / size[0]))
        if (rows, cols) != (h, w):
            top, left = (rows - h) // 2, (cols - w) // 2
            shift = (1.0, 0.0, -left, 0.0, 1.0, -top)
            x = AffineTransform(shift, "constant", "nearest", fill_value, (rows, cols))(x)
            h, w = rows, cols
    if (h, w) == tuple(size):
        return x
    if interpolation not in INTERPOLATIONS or (antialias and interpolation == "bilinear"):
        from .resampling import kernel_resize

        return kernel_resize(x, tuple(size), interpolation, antialias)
    sh, sw = h / size[0], w / size[1]
    matrix = (sw, 0.0, 0.5 * sw - 0.5, 0.0, sh, 0.5 * sh - 0.5)
    return AffineTransform(matrix, "nearest", interpolation, 0.0, tuple(size))(x)


# --- values ----------------------------------------------------------------------------------


class Rescale(Function):
    """x * scale + offset; each a number, or an array of one value per channel (last axis)."""

    def __init__(self, scale: Any, offset: Any) -> None:
        self.scale, self.offset = scale, offset

    def forward(self, x: Any) -> Any:
        return (x * self.scale + self.offset).astype(x.dtype, copy=False)

    def backward(self, grad: Any) -> Any:
        return (grad * self.scale).astype(grad.dtype, copy=False)


class _Clipped(Function):
    """An elementwise map whose result is clipped to [low, high]; no gradient where it was."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def _clip(self, y: Any) -> Any:
        xp = backend.get_array_module(y)
        self.passed = (y >= self.low) & (y <= self.high)
        return xp.clip(y, y.dtype.type(self.low), y.dtype.type(self.high))

    def _unclipped(self, grad: Any) -> Any:
        return grad * self.passed.astype(grad.dtype)


class Brightness(_Clipped):
    """x + delta, one delta per image, clipped to the value range."""

    def __init__(self, delta: Any, low: float, high: float) -> None:
        super().__init__(low, high)
        self.delta = delta

    def forward(self, x: Any) -> Any:
        return self._clip(x + self.delta.astype(x.dtype)[:, None, None, None])

    def backward(self, grad: Any) -> Any:
        return self._unclipped(grad)


class Contrast(_Clipped):
    """(x - mean) * factor + mean, with each image channel's own mean and each image's own
    factor, clipped to the value range."""

    def __init__(self, factor: Any, low: float, high: float) -> None:
        super().__init__(low, high)
        self.factor = factor

    def forward(self, x: Any) -> Any:
        self.f = self.factor.astype(x.dtype)[:, None, None, None]
        mean = x.mean(axis=(1, 2), keepdims=True)
        return self._clip((x - mean) * self.f + mean)

    def backward(self, grad: Any) -> Any:
        g = self._unclipped(grad)
        return g * self.f + g.mean(axis=(1, 2), keepdims=True) * (1 - self.f)


def adjust_brightness(x: Any, delta: Any, value_range: tuple[float, float]) -> Tensor:
    return Brightness(delta, *value_range)(x)


def adjust_contrast(x: Any, factor: Any, value_range: tuple[float, float]) -> Tensor:
    return Contrast(factor, *value_range)(x)
