"""Keras' STFTSpectrogram: the short-time Fourier transform of 1-D signals as strided
convolutions with cosine and sine kernels (trainable, as Keras'), and its output modes."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from . import backend, ops
from . import functions as F
from .autograd import Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
EPSILON = 1e-7  # Keras' backend.epsilon()


def stft_kernel(
    side: str, frame_length: int, bins: int, window: Any, scaling: str | None, periodic: bool
) -> np.ndarray:
    """Keras' STFT initializer: (frame_length, 1, bins) taps cos (or sin) of -2 pi t k / N
    (N = 2 (bins - 1)), times the window over its L2 ('density') or L1 ('spectrum') norm."""
    time = np.arange(frame_length, dtype=np.float64)[:, None, None]
    frequency = np.arange(bins, dtype=np.float64)[None, None, :] / ((bins - 1) * 2)
    angle = -2.0 * time * frequency * math.pi
    kernel = np.cos(angle) if side == "real" else np.sin(angle)
    if window is not None:
        taps = window_taps(window, frame_length, periodic).reshape(frame_length, 1, 1)
        scale = {"density": np.sqrt((taps**2).sum()), "spectrum": np.abs(taps).sum()}
        kernel = kernel * taps / (scale[scaling] if scaling else 1.0)
    return kernel.astype(backend.FLOAT)


def window_taps(window: Any, length: int, periodic: bool) -> np.ndarray:
    """A window by SciPy's name (get_window, periodic as its ``fftbins``) or given values."""
    if isinstance(window, str):
        from scipy import signal

        return signal.get_window(window, length, fftbins=periodic).astype(np.float64)
    taps = np.asarray(window, dtype=np.float64)
    if taps.shape != (length,):
        raise ValueError(f"window must have frame_length ({length}) values, got {taps.shape}.")
    return taps


class STFTSpectrogram(Layer):
    """Keras' STFTSpectrogram: (batch, time, channels) signals, each channel alone, cut into
    frames of ``frame_length`` every ``frame_step`` (``padding`` 'valid' or 'same'),
    windowed, and Fourier transformed to ``fft_length // 2 + 1`` bins, by convolutions whose
    kernels (Keras' STFT initializer; trainable) hold the cosines and sines. ``mode``: 'log'
    (the log magnitude), 'magnitude', 'psd' (power, the inner bins doubled), 'real',
    'imag', 'angle' or 'stft' (real then imaginary bins). Output (batch, frames, channels *
    bins), or (batch, frames, bins, channels) with ``expand_dims``."""

    def __init__(
        self,
        mode: str = "log",
        frame_length: int = 256,
        frame_step: int | None = None,
        fft_length: int | None = None,
        window: Any = "hann",
        periodic: bool = False,
        scaling: str | None = "density",
        padding: str = "valid",
        expand_dims: bool = False,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.frame_length = positive_int(frame_length, f"{owner}: frame_length")
        if (
            frame_step is not None
            and not 1 <= positive_int(frame_step, f"{owner}: frame_step") <= frame_length
        ):
            raise ValueError(
                f"{owner}: frame_step must be in 1..frame_length ({frame_length}), got "
                f"{frame_step}."
            )
        if (
            fft_length is not None
            and positive_int(fft_length, f"{owner}: fft_length") < frame_length
        ):
            raise ValueError(
                f"{owner}: fft_length must be at least frame_length ({frame_length}), got "
                f"{fft_length}."
            )
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(
                f"`fft_length` is recommended to be a power of two. Received "
                f"fft_length={fft_length}",
                stacklevel=2,
            )
        for name, value, allowed in (
            ("mode", mode, MODES),
            ("scaling", scaling, ("density", "spectrum", None)),
            ("padding", padding, ("valid", "same")),
        ):
            if value not in allowed:
                raise ValueError(f"{owner}: {name} must be one of {allowed}; got {value!r}.")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{owner}: data_format 'channels_last' (the default) is available.")
        if isinstance(window, str):
            window_taps(window, 1, periodic)  # an unknown window's name fails here
        self.mode, self.window, self.periodic = mode, window, bool(periodic)
        self.frame_step, self.fft_length = frame_step, fft_length
        self.scaling, self.padding, self.expand_dims = scaling, padding, bool(expand_dims)
        self.step = frame_step or frame_length // 2
        self.fft_size = fft_length or 2 ** math.ceil(math.log2(frame_length))
        self.bins = self.fft_size // 2 + 1

    def _frames(self, steps: int) -> int:
        if self.padding == "same":
            return -(-steps // self.step)
        return (steps - self.frame_length) // self.step + 1

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2:
            raise ValueError(
                f"{self.describe()} takes signals of shape (batch, time, channels); got "
                f"{(None, *input_shape)}."
            )
        steps, channels = input_shape
        frames = self._frames(steps)
        if frames < 1:
            raise ValueError(
                f"{self.describe()}: {steps} steps hold no frame of {self.frame_length} ('valid')."
            )
        bins = self.bins * (2 if self.mode == "stft" else 1)
        return (frames, bins, channels) if self.expand_dims else (frames, channels * bins)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        sides = [
            s for s in ("real", "imag") if s != {"imag": "real", "real": "imag"}.get(self.mode)
        ]
        return [
            stft_kernel(
                side, self.frame_length, self.bins, self.window, self.scaling, self.periodic
            )
            for side in sides
        ]

    def _transform(self, x: Tensor, kernel: Tensor) -> Tensor:
        """Each channel's frames by ``kernel``: (batch, channels, bins, frames)."""
        n, steps, channels = x.shape
        signals = F.reshape(ops.transpose(x, (0, 2, 1)), (n * channels, 1, steps, 1))
        xp = backend.get_array_module(x.data)
        zero = xp.zeros(self.bins, x.dtype)
        taps = F.reshape(kernel, (1, self.frame_length, 1, self.bins))
        out = F.conv2d(signals, taps, zero, (1, self.step), self.padding)  # (n*c, 1, frames, bins)
        frames = out.shape[2]
        return ops.transpose(F.reshape(out, (n, channels, frames, self.bins)), (0, 1, 3, 2))

    def call(self, x: Tensor, training: bool) -> Tensor:
        weights = list(self._weights)
        real = self._transform(x, weights.pop(0)) if self.mode != "imag" else None
        imag = self._transform(x, weights.pop(0)) if self.mode != "real" else None
        if self.mode in ("real", "imag"):
            return self._arranged(real if self.mode == "real" else imag)
        if self.mode == "angle":
            return self._arranged(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._arranged(ops.concatenate([real, imag], axis=2))
        power = ops.square(real) + ops.square(imag)
        if self.mode == "psd":  # the one-sided spectrum: each inner bin stands for two
            inner = ops.pad(power[:, :, 1:-1, :], ((0, 0), (0, 0), (1, 1), (0, 0)))
            return self._arranged(power + inner)
        magnitude = ops.sqrt(ops.maximum(power, EPSILON))
        if self.mode == "magnitude":
            return self._arranged(magnitude)
        return self._arranged(ops.log(ops.maximum(magnitude, EPSILON)))

    def _arranged(self, out: Tensor) -> Tensor:
        """(batch, channels, bins, frames) as Keras hands it out (channels last)."""
        n, channels, bins, frames = out.shape
        if self.expand_dims:
            return ops.transpose(out, (0, 3, 2, 1))
        return ops.transpose(F.reshape(out, (n, channels * bins, frames)), (0, 2, 1))

    def get_config(self) -> dict[str, Any]:
        window = (
            self.window
            if isinstance(self.window, str) or self.window is None
            else list(np.asarray(self.window, float))
        )
        return {
            **super().get_config(),
            "mode": self.mode,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": window,
            "periodic": self.periodic,
            "scaling": self.scaling,
            "padding": self.padding,
            "expand_dims": self.expand_dims,
        }
