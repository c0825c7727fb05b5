"""Keras' Fourier ops (``fft``, ``ifft2``, ``rfft``, ...) on (real, imaginary) pairs of
Tensors, as Keras takes and gives them: each transform is a product with cosine and sine
matrices, so it is differentiable and runs as GEMMs on either device (O(n^2) per axis, for
the short axes of signals and features). Re-exported by ``minicnn.ops``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Tensor

__all__ = ["fft", "fft2", "ifft2", "irfft", "rfft"]

Pair = tuple[Tensor, Tensor]


def _angles(xp: Any, rows: int, cols: int, n: int, dtype: Any) -> tuple[Any, Any]:
    """cos and sin of 2 pi j k / n for j < rows, k < cols."""
    theta = (2 * math.pi / n) * np.outer(np.arange(rows), np.arange(cols))
    return xp.asarray(np.cos(theta), dtype=dtype), xp.asarray(np.sin(theta), dtype=dtype)


def _pair(x: Any, owner: str) -> Pair:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{owner} takes a (real, imaginary) pair of tensors, as Keras' does.")
    real, imag = (O.convert_to_tensor(v) for v in x)
    if real.shape != imag.shape:
        raise ValueError(f"{owner}: real {real.shape} and imaginary {imag.shape} parts differ.")
    return real, imag


def _transform(real: Tensor, imag: Tensor, inverse: bool) -> Pair:
    """The complex DFT (or its inverse, with 1 / n) over the last axis."""
    n = real.shape[-1]
    cos, sin = _angles(backend.get_array_module(real.data), n, n, n, real.dtype)
    sign = 1.0 if inverse else -1.0  # e^{sign i theta}
    out_real = O.matmul(real, cos) - sign * O.matmul(imag, sin)
    out_imag = O.matmul(imag, cos) + sign * O.matmul(real, sin)
    if inverse:
        out_real, out_imag = out_real * (1.0 / n), out_imag * (1.0 / n)
    return out_real, out_imag


def fft(x: Any) -> Pair:
    """The Fourier transform over the last axis of a (real, imaginary) pair."""
    return _transform(*_pair(x, "fft"), inverse=False)


def _two_axes(x: Any, owner: str, inverse: bool) -> Pair:
    real, imag = _pair(x, owner)
    if real.ndim < 2:
        raise ValueError(f"{owner} transforms the last two axes; got shape {real.shape}.")
    real, imag = _transform(real, imag, inverse)
    swap = (*range(real.ndim - 2), real.ndim - 1, real.ndim - 2)
    real, imag = _transform(O.transpose(real, swap), O.transpose(imag, swap), inverse)
    return O.transpose(real, swap), O.transpose(imag, swap)


def fft2(x: Any) -> Pair:
    """The Fourier transform over the last two axes of a (real, imaginary) pair."""
    return _two_axes(x, "fft2", inverse=False)


def ifft2(x: Any) -> Pair:
    """The inverse of fft2 (with its 1 / (rows * columns))."""
    return _two_axes(x, "ifft2", inverse=True)


def _fitted(x: Tensor, length: int) -> Tensor:
    """The last axis cut or zero-padded to ``length``, as NumPy's n argument does."""
    size = x.shape[-1]
    if size >= length:
        return x[..., :length]
    return O.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, length - size)])


def rfft(x: Any, fft_length: int | None = None) -> Pair:
    """The Fourier transform of a real signal over its last axis: the fft_length // 2 + 1
    non-negative frequencies, as (real, imaginary)."""
    x = O.convert_to_tensor(x)
    n = x.shape[-1] if fft_length is None else int(fft_length)
    x = _fitted(x, n)
    cos, sin = _angles(backend.get_array_module(x.data), n, n // 2 + 1, n, x.dtype)
    return O.matmul(x, cos), -O.matmul(x, sin)


def irfft(x: Any, fft_length: int | None = None) -> Tensor:
    """The real signal whose rfft is the (real, imaginary) pair (NumPy's irfft: Hermitian
    symmetry; the imaginary parts of the zero and Nyquist bins are ignored)."""
    real, imag = _pair(x, "irfft")
    n = 2 * (real.shape[-1] - 1) if fft_length is None else int(fft_length)
    bins = n // 2 + 1
    real, imag = _fitted(real, bins), _fitted(imag, bins)
    xp = backend.get_array_module(real.data)
    cos, sin = _angles(xp, bins, n, n, real.dtype)
    weight = np.full(bins, 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    weight = xp.asarray(weight / n, dtype=real.dtype)[:, None]
    return O.matmul(real, cos * weight) - O.matmul(imag, sin * weight)
