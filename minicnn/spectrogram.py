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
from .config import epsilon as backend_epsilon
from .data_checks import positive_int
from .fft_ops import irfft, rfft
from .layer_base import CHANNELS_LAST_ONLY, Layer, Shape

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


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

    _keras_defaults = CHANNELS_LAST_ONLY

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

    def _sides(self) -> list[str]:
        return [s for s in ("real", "imag") if s != {"imag": "real", "real": "imag"}.get(self.mode)]

    def _weight_names(self) -> list[str]:
        return [f"{side}_kernel" for side in self._sides()]  # Keras' names

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        sides = self._sides()
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
        magnitude = ops.sqrt(ops.maximum(power, backend_epsilon()))
        if self.mode == "magnitude":
            return self._arranged(magnitude)
        return self._arranged(ops.log(ops.maximum(magnitude, backend_epsilon())))

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


MEL_BREAK_HERTZ, MEL_HIGH_Q = 700.0, 1127.0  # Keras' (HTK's) mel scale: 1127 ln(1 + f / 700)


def _reflected(index: np.ndarray, size: int) -> np.ndarray:
    """NumPy's 'reflect' padding as indices: -1 reads 1, size reads size - 2."""
    period = 2 * (size - 1)
    folded = np.mod(index, period) if size > 1 else np.zeros_like(index)
    return np.where(folded < size, folded, period - folded)


def stft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    window: Any = "hann",
    center: bool = True,
) -> tuple[Tensor, Tensor]:
    """Keras' ops.stft: the real and imaginary parts, (..., frames, fft_length // 2 + 1), of
    the last axis cut into frames of ``fft_length`` every ``sequence_stride`` (``center``:
    reflect-padded by fft_length // 2 first), each times the window (SciPy's, periodic, of
    ``sequence_length``, zero-padded to the frame's middle; None: none). The transform is a
    product with cosine and sine matrices, so it is differentiable and graph-safe."""
    x = ops.convert_to_tensor(x)
    steps = x.shape[-1]
    rows = F.reshape(x, (-1, steps))
    start = -(fft_length // 2) if center else 0
    stop = steps + (fft_length // 2 if center else 0)
    frames = (stop - start - fft_length) // sequence_stride + 1
    if frames < 1 or (center and fft_length // 2 >= steps):
        raise ValueError(
            f"stft: {steps} samples are too few for frames of {fft_length}"
            f"{' (reflect padding needs more than half a frame)' if center else ''}."
        )
    places = start + np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)
    xp = backend.get_array_module(rows.data)
    pieces = rows[:, xp.asarray(_reflected(places, steps))]  # (rows, frames, fft_length)
    if window is not None:
        taps = frame_window(window, sequence_length, fft_length)
        pieces = pieces * xp.asarray(taps, dtype=rows.dtype)
    real, imag = rfft(pieces, fft_length)
    shape = (*x.shape[:-1], frames, fft_length // 2 + 1)
    return F.reshape(real, shape), F.reshape(imag, shape)


def frame_window(window: Any, sequence_length: int, fft_length: int) -> np.ndarray:
    """Keras' stft window: SciPy's periodic one of ``sequence_length``, zero-padded to the
    middle of a frame of ``fft_length``."""
    taps = np.zeros(fft_length)
    left = (fft_length - sequence_length) // 2
    taps[left : left + sequence_length] = window_taps(window, sequence_length, True)
    return taps


def mel_matrix(
    num_mel_bins: int, spectrogram_bins: int, sampling_rate: float, low: float, high: float
) -> np.ndarray:
    """Keras' linear_to_mel_weight_matrix: (spectrogram_bins, num_mel_bins) triangles,
    linear in mel, peak 1, edges from ``low`` to ``high`` hertz; the DC bin left out."""

    def mel(hertz: Any) -> Any:
        return MEL_HIGH_Q * np.log1p(np.asarray(hertz, np.float64) / MEL_BREAK_HERTZ)

    linear = mel(np.linspace(0.0, sampling_rate / 2.0, spectrogram_bins)[1:])[:, None]
    edges = np.linspace(mel(low), mel(high), num_mel_bins + 2)
    lower, middle, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (linear - lower) / (middle - lower)
    falling = (upper - linear) / (upper - middle)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, ((1, 0), (0, 0))).astype(backend.FLOAT)


class MelSpectrogram(Layer):
    """Keras' MelSpectrogram: (batch, time) audio (or (time,)) to (batch, num_mel_bins,
    frames): ops.stft (centered, ``sequence_length`` windows every ``sequence_stride``, FFT
    of ``fft_length``), magnitude to the power ``mag_exp``, Keras' mel filter bank from
    ``min_freq`` to ``max_freq`` (half the sampling rate by default), and with
    ``power_to_db`` decibels (10 log10 of max(x, min_power) over ``ref_power``) floored at
    ``top_db`` below the maximum. Keras takes that maximum over the whole batch; here each
    signal's own, so a signal's result does not depend on the others. No weights."""

    def __init__(
        self,
        fft_length: int = 2048,
        sequence_stride: int = 512,
        sequence_length: int | None = None,
        window: Any = "hann",
        sampling_rate: int = 16000,
        num_mel_bins: int = 128,
        min_freq: float = 20.0,
        max_freq: float | None = None,
        power_to_db: bool = True,
        top_db: float = 80.0,
        mag_exp: float = 2.0,
        min_power: float = 1e-10,
        ref_power: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.fft_length = positive_int(fft_length, f"{owner}: fft_length")
        self.sequence_stride = positive_int(sequence_stride, f"{owner}: sequence_stride")
        self.sequence_length = positive_int(
            sequence_length or fft_length, f"{owner}: sequence_length"
        )
        if self.fft_length < self.sequence_length:
            raise ValueError(
                f"{owner}: fft_length ({fft_length}) must be at least sequence_length "
                f"({self.sequence_length})."
            )
        self.window, self.sampling_rate = window, sampling_rate
        self.num_mel_bins = positive_int(num_mel_bins, f"{owner}: num_mel_bins")
        self.min_freq = float(min_freq)
        self.max_freq = float(max_freq) if max_freq is not None else int(sampling_rate / 2)
        self.power_to_db, self.top_db = bool(power_to_db), float(top_db)
        self.mag_exp, self.min_power, self.ref_power = float(mag_exp), float(min_power), ref_power

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.describe()} takes audio of shape (batch, time); got {(None, *input_shape)}."
            )
        frames = (input_shape[0] - self.fft_length + 2 * (self.fft_length // 2)) // (
            self.sequence_stride
        ) + 1
        return (self.num_mel_bins, frames)

    def call(self, x: Tensor, training: bool) -> Tensor:
        real, imag = stft(
            x, self.sequence_length, self.sequence_stride, self.fft_length, self.window
        )
        magnitude = ops.sqrt(ops.square(real) + ops.square(imag))
        spectrum = magnitude if self.mag_exp == 1 else ops.power(magnitude, self.mag_exp)
        xp = backend.get_array_module(x.data)
        filters = mel_matrix(
            self.num_mel_bins, real.shape[-1], self.sampling_rate, self.min_freq, self.max_freq
        )
        mels = ops.matmul(spectrum, xp.asarray(filters, dtype=x.dtype))  # (batch, frames, mel)
        if self.power_to_db:
            decibels = ops.log(ops.maximum(mels, self.min_power)) * (10.0 / np.log(10.0))
            reference = max(abs(float(self.ref_power)), self.min_power)
            decibels = decibels - 10.0 * np.log10(reference)
            floor = ops.max(decibels, axis=(1, 2), keepdims=True) - self.top_db
            mels = ops.maximum(decibels, ops.stop_gradient(floor))
        return ops.transpose(mels, (0, 2, 1))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "window": self.window,
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "power_to_db": self.power_to_db,
            "top_db": self.top_db,
            "mag_exp": self.mag_exp,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
        }


def istft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    length: int | None = None,
    window: Any = "hann",
    center: bool = True,
) -> Tensor:
    """Keras' ops.istft: the signal back from a (real, imaginary) stft: each frame's
    inverse FFT, times the window over the sum of the squared windows that overlap there
    (TensorFlow's inverse_stft_window_fn), added up where the frames overlap; the centering
    padding cut off (or ``length`` samples kept)."""
    frames = irfft(x, fft_length)  # (..., count, fft_length)
    count = frames.shape[-2]
    xp = backend.get_array_module(frames.data)
    if window is not None:
        taps = frame_window(window, sequence_length, fft_length)
        overlaps = -(-fft_length // sequence_stride)
        squares = np.pad(taps**2, (0, overlaps * sequence_stride - fft_length))
        denominator = np.tile(squares.reshape(overlaps, sequence_stride).sum(0), overlaps)
        frames = frames * xp.asarray(taps / denominator[:fft_length], dtype=frames.dtype)
    total = fft_length + sequence_stride * (count - 1)
    # Overlap-add as one product: frame f's sample t lands at f * stride + t.
    places = np.zeros((count * fft_length, total))
    rows = np.arange(count * fft_length)
    places[rows, (rows // fft_length) * sequence_stride + rows % fft_length] = 1.0
    lead = frames.shape[:-2]
    flat = F.reshape(frames, (*lead, count * fft_length))
    signal = ops.matmul(flat, xp.asarray(places, dtype=frames.dtype))
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = total - fft_length // 2 if center else total
    return signal[..., start:end]
