"""Resampling by separable kernels, as Keras' JAX backend resizes with "bicubic",
"lanczos3" and "lanczos5" (and with ``antialias=True``) and as ``ops.image.
scale_and_translate`` works: along each axis, every output sample is a weighted sum of the
input samples, the weights a kernel of their distance to where the output sample falls,
normalized to sum to 1 (taps beyond the border drop out). With antialiasing, a kernel
widens by the downsampling factor, so that it averages what it skips. Each axis is one
product with a constant (out, in) matrix, so the gradient is the transposed product."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Tensor


def _triangle(d: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - d)


def _keys_cubic(d: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom)."""
    near = ((1.5 * d - 2.5) * d) * d + 1.0
    far = ((-0.5 * d + 2.5) * d - 4.0) * d + 2.0
    return np.where(d < 1.0, near, np.where(d < 2.0, far, 0.0))


def _lanczos(radius: int) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(d: np.ndarray) -> np.ndarray:
        return np.where(d < radius, np.sinc(d) * np.sinc(d / radius), 0.0)

    return kernel


KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": _triangle,
    "bilinear": _triangle,
    "trilinear": _triangle,
    "cubic": _keys_cubic,
    "bicubic": _keys_cubic,
    "tricubic": _keys_cubic,
    "lanczos3": _lanczos(3),
    "lanczos5": _lanczos(5),
}


def weights(
    in_size: int, out_size: int, scale: float, translation: float, method: str, antialias: bool
) -> np.ndarray:
    """The (out_size, in_size) matrix of one axis: output sample o falls at input position
    (o + 0.5 - translation) / scale - 0.5."""
    kernel = KERNELS[method]
    where = (np.arange(out_size) + 0.5 - translation) / scale - 0.5
    width = max(1.0 / scale, 1.0) if antialias else 1.0
    w = kernel(np.abs(where[:, None] - np.arange(in_size)[None, :]) / width)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(
        np.abs(total) > 1000 * np.finfo(np.float32).eps, w / np.where(total == 0, 1, total), 0
    )
    inside = (where >= -0.5) & (where <= in_size - 0.5)  # a sample off the input reads nothing
    return np.where(inside[:, None], w, 0.0)


def resample_axis(x: Tensor, axis: int, matrix: np.ndarray) -> Tensor:
    """x with ``axis`` replaced by ``matrix`` (out, in) times it."""
    xp = backend.get_array_module(x.data)
    moved = O.moveaxis(x, axis, -1)
    out = O.matmul(moved, Tensor(xp.asarray(matrix.T.astype(x.dtype))))
    return O.moveaxis(out, -1, axis)


def scale_and_translate(
    images: Any,
    output_shape: Any,
    scale: Any,
    translation: Any,
    spatial_dims: Any,
    method: str,
    antialias: bool = True,
) -> Tensor:
    """Keras' ops.image.scale_and_translate (JAX's): ``output_shape`` samples, those of the
    axes ``spatial_dims`` at (o + 0.5 - translation) / scale - 0.5 of the input, by the
    kernel of ``method`` (linear, cubic, lanczos3, lanczos5 and their aliases)."""
    if method not in KERNELS:
        raise ValueError(
            f"scale_and_translate: method must be one of {', '.join(sorted(KERNELS))}; got "
            f"{method!r}."
        )
    x = O.convert_to_tensor(images)
    x = x if x.dtype.kind == "f" else O.cast(x, backend.FLOAT)
    output_shape = tuple(int(s) for s in output_shape)
    dims = [int(d) % x.ndim for d in spatial_dims]
    scales = np.broadcast_to(_numbers(scale), len(dims))
    shifts = np.broadcast_to(_numbers(translation), len(dims))
    if len(output_shape) != x.ndim or any(
        output_shape[a] != x.shape[a] for a in range(x.ndim) if a not in dims
    ):
        raise ValueError(
            f"scale_and_translate: output_shape {output_shape} must keep the input's "
            f"{x.shape} but on spatial_dims {tuple(dims)}."
        )
    for axis, s, t in zip(dims, scales, shifts, strict=True):
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"scale_and_translate: scales are positive, got {s!r}.")
        matrix = weights(x.shape[axis], output_shape[axis], float(s), float(t), method, antialias)
        x = resample_axis(x, axis, matrix)
    return x


def _numbers(value: Any) -> np.ndarray:
    """Scales or translations as float64 (a list stays exact; a Tensor is read)."""
    return np.asarray(O._data(value) if isinstance(value, Tensor) else value, float)


def kernel_resize(x: Tensor, size: tuple[int, int], method: str, antialias: bool) -> Tensor:
    """Channels-last images (n, h, w, c) resized to ``size`` by ``method``'s kernel."""
    (h, w), (oh, ow) = x.shape[1:3], size
    x = resample_axis(x, 1, weights(h, oh, oh / h, 0.0, method, antialias))
    return resample_axis(x, 2, weights(w, ow, ow / w, 0.0, method, antialias))
