"""Keras' STFTSpectrogram against NumPy's FFT of the windowed frames (every mode, both
paddings, several channels), Keras' docstring shapes, float64 gradient checks of its
trainable kernels, and ops.arctan2."""

import numpy as np
import pytest
from gradcheck import check_gradients
from scipy import signal
from test_functions import host
from test_layers import check_layer_gradients

from minicnn import Input, Model, backend, load_model, ops
from minicnn import layers as L
from minicnn.autograd import Tensor


def numpy_stft(x, frame, step, fft, window, padding):
    """rfft of each windowed frame (window over its L2 norm, Keras' 'density'), per channel:
    (batch, channels, frames, bins)."""
    n, steps, channels = x.shape
    if padding == "same":
        frames = -(-steps // step)
        total = max((frames - 1) * step + frame - steps, 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    else:
        frames = (steps - frame) // step + 1
    taps = signal.get_window(window, frame, fftbins=False)
    taps = taps / np.sqrt((taps**2).sum())
    out = np.empty((n, channels, frames, fft // 2 + 1), complex)
    for j in range(frames):
        piece = x[:, j * step : j * step + frame, :] * taps[None, :, None]
        out[:, :, j] = np.fft.rfft(piece, n=fft, axis=1).transpose(0, 2, 1)
    return out


def arranged(values, expand_dims):
    """(batch, channels, frames, bins) as the layer hands it out."""
    n, channels, frames, bins = values.shape
    if expand_dims:
        return values.transpose(0, 2, 3, 1)
    return values.transpose(0, 2, 1, 3).reshape(n, frames, channels * bins)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("mode", ["log", "magnitude", "psd", "real", "imag", "angle", "stft"])
def test_stft_spectrogram_follows_numpy_fft(mode, padding, device):
    x = np.random.default_rng(0).standard_normal((2, 50, 2))
    layer = L.STFTSpectrogram(
        mode=mode, frame_length=12, frame_step=5, fft_length=16, window="hamming", padding=padding
    )
    out = host(layer(backend.to_device(x.astype(np.float32), device)))
    spectrum = numpy_stft(x, 12, 5, 16, "hamming", padding)
    power = np.abs(spectrum) ** 2
    psd = power.copy()
    psd[..., 1:-1] *= 2
    expected = {
        "log": np.log(np.maximum(np.sqrt(np.maximum(power, 1e-7)), 1e-7)),
        "magnitude": np.sqrt(np.maximum(power, 1e-7)),
        "psd": psd,
        "real": spectrum.real,
        "imag": spectrum.imag,
        "angle": np.angle(spectrum),
        "stft": np.concatenate([spectrum.real, spectrum.imag], axis=-1),
    }[mode]
    if mode == "angle":  # +-pi where the imaginary part is +-0: compare unit vectors
        unit = arranged(np.exp(1j * expected), False)
        np.testing.assert_allclose(np.cos(out), unit.real, atol=2e-5)
        np.testing.assert_allclose(np.sin(out), unit.imag, atol=2e-5)
    else:
        np.testing.assert_allclose(out, arranged(expected, False), rtol=1e-4, atol=2e-5)
    assert (None, *out.shape[1:]) == layer.compute_output_shape((None, 50, 2))


def test_stft_spectrogram_shapes_weights_and_gradients(device):
    assert L.STFTSpectrogram(frame_length=256, frame_step=128, fft_length=512).compute_output_shape(
        (3, 160000, 1)
    ) == (3, 1249, 257)  # Keras' docstring examples
    same = L.STFTSpectrogram(frame_length=256, frame_step=128, fft_length=512, padding="same")
    assert same.compute_output_shape((3, 160000, 2)) == (3, 1250, 514)
    image = L.STFTSpectrogram(
        frame_length=256, frame_step=128, fft_length=512, padding="same", expand_dims=True
    )
    assert image.compute_output_shape((3, 160000, 3)) == (3, 1250, 257, 3)
    x = np.random.default_rng(1).standard_normal((2, 30, 3))
    expanded = L.STFTSpectrogram("magnitude", 8, 4, expand_dims=True)(x.astype(np.float32))
    flat = L.STFTSpectrogram("magnitude", 8, 4)(x.astype(np.float32))
    np.testing.assert_allclose(
        host(expanded), arranged(host(flat).reshape(2, 6, 3, 5).transpose(0, 2, 1, 3), True)
    )
    layer = L.STFTSpectrogram("real", 8, 4)
    layer(x.astype(np.float32))
    assert [w.shape for w in layer.weights] == [(8, 1, 5)] and layer.weights[0].requires_grad
    log = L.STFTSpectrogram("log", 6, 3, 8, window="hann")
    check_layer_gradients(log, x[:, :15], device=device)
    check_layer_gradients(L.STFTSpectrogram("angle", 6, 3, 8), x[:, :15], device=device)
    with pytest.raises(ValueError, match="mode must be one of"):
        L.STFTSpectrogram("phase")
    with pytest.raises(ValueError, match="fft_length must be at least frame_length"):
        L.STFTSpectrogram(frame_length=64, fft_length=32)
    with pytest.warns(UserWarning, match="power of two"):
        L.STFTSpectrogram(frame_length=60, fft_length=100)


def test_a_spectrogram_model_saves_and_loads(tmp_path, device):
    x = np.random.default_rng(2).standard_normal((4, 64, 1)).astype(np.float32)
    inputs = Input((64, 1))
    features = L.STFTSpectrogram("log", 16, 8, padding="same")(inputs)
    model = Model(inputs, L.Dense(2)(L.Flatten()(features))).to(device)
    model.save(tmp_path / "spectrogram.minicnn")
    loaded = load_model(tmp_path / "spectrogram.minicnn", device=device)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_arctan2_follows_numpy_and_its_gradient_checks(device):
    rng = np.random.default_rng(3)
    y, x = rng.standard_normal((2, 3, 4))
    got = ops.arctan2(Tensor(backend.to_device(y, device)), Tensor(backend.to_device(x, device)))
    np.testing.assert_allclose(host(got), np.arctan2(y, x))
    check_gradients(ops.arctan2, y, x, device=device)


def numpy_keras_stft(x, sequence_length, stride, fft, window):
    """Keras' stft as its NumPy backend computes it: reflect padding of fft // 2, frames of
    fft, SciPy's periodic window padded to the frame's middle, rfft."""
    padded = np.pad(x, ((0, 0), (fft // 2, fft // 2)), mode="reflect")
    frames = (padded.shape[1] - fft) // stride + 1
    taps = signal.get_window(window, sequence_length)
    left = (fft - sequence_length) // 2
    taps = np.pad(taps, (left, fft - sequence_length - left))
    pieces = np.stack([padded[:, j * stride : j * stride + fft] for j in range(frames)], axis=1)
    return np.fft.rfft(pieces * taps, n=fft, axis=-1)


def loop_mel_matrix(mels, bins, rate, low, high):
    """The HTK triangles, one bin and band at a time."""
    mel = lambda f: 1127.0 * np.log(1 + f / 700.0)  # noqa: E731
    edges = np.linspace(mel(low), mel(high), mels + 2)
    out = np.zeros((bins, mels))
    for k in range(1, bins):
        m = mel(k * rate / 2 / (bins - 1))
        for b in range(mels):
            left, centre, right = edges[b : b + 3]
            out[k, b] = max(0.0, min((m - left) / (centre - left), (right - m) / (right - centre)))
    return out


@pytest.mark.parametrize("sequence_length, window", [(32, "hann"), (20, "hamming")])
def test_ops_stft_follows_keras_numpy_backend(sequence_length, window, device):
    x = np.random.default_rng(4).standard_normal((3, 100))
    real, imag = ops.stft(
        Tensor(backend.to_device(x, device)), sequence_length, 12, 32, window=window
    )
    expected = numpy_keras_stft(x, sequence_length, 12, 32, window)
    np.testing.assert_allclose(host(real), expected.real, atol=1e-10)
    np.testing.assert_allclose(host(imag), expected.imag, atol=1e-10)
    check_gradients(lambda t: ops.stft(t, 8, 4, 8)[0], x[:1, :20], device=device)


def test_mel_spectrogram_follows_keras_steps(device):
    from minicnn.spectrogram import mel_matrix

    np.testing.assert_allclose(
        mel_matrix(10, 65, 8000, 20.0, 4000.0),
        loop_mel_matrix(10, 65, 8000, 20.0, 4000.0),
        atol=1e-6,
    )
    x = np.random.default_rng(5).standard_normal((2, 1000)) * [[1.0], [0.001]]
    layer = L.MelSpectrogram(
        fft_length=128, sequence_stride=64, sampling_rate=8000, num_mel_bins=16, top_db=30.0
    )
    out = host(layer(backend.to_device(x.astype(np.float32), device)))
    power = np.abs(numpy_keras_stft(x, 128, 64, 128, "hann")) ** 2
    mels = power @ loop_mel_matrix(16, 65, 8000, 20.0, 4000.0)
    decibels = 10 * np.log10(np.maximum(mels, 1e-10))
    decibels = np.maximum(decibels, decibels.max(axis=(1, 2), keepdims=True) - 30.0)
    np.testing.assert_allclose(out, decibels.transpose(0, 2, 1), atol=2e-3)
    assert out.shape == layer.compute_output_shape(x.shape)
    docstring = L.MelSpectrogram(num_mel_bins=64, sampling_rate=8000, sequence_stride=256)
    assert docstring.compute_output_shape((None, 16000)) == (None, 64, 63)  # Keras' docstring
    raw = L.MelSpectrogram(128, 64, power_to_db=False, mag_exp=1.0, num_mel_bins=8)
    magnitudes = np.abs(numpy_keras_stft(x, 128, 64, 128, "hann"))
    expected = (magnitudes @ loop_mel_matrix(8, 65, 16000, 20.0, 8000.0)).transpose(0, 2, 1)
    np.testing.assert_allclose(host(raw(x.astype(np.float32))), expected, rtol=1e-4, atol=1e-5)
    config = layer.get_config()
    assert L.MelSpectrogram.from_config(config).get_config() == config


def test_istft_inverts_stft_as_tensorflow_does(device):
    x = np.random.default_rng(6).standard_normal((2, 256))
    on = Tensor(backend.to_device(x, device))
    half = ops.istft(ops.stft(on, 64, 32, 64), 64, 32, 64, length=256)
    np.testing.assert_allclose(host(half), x, atol=1e-10)  # hann at half overlap: exact
    quarter = host(ops.istft(ops.stft(on, 64, 16, 64), 64, 16, 64, length=256))
    # TensorFlow's window normalization assumes every sample under the same number of
    # frames: exact inside, not in the first and last frame's reach
    np.testing.assert_allclose(quarter[:, 64:-64], x[:, 64:-64], atol=1e-10)
    assert host(ops.istft(ops.stft(on, 64, 32, 64), 64, 32, 64)).shape == (2, 256)
    check_gradients(lambda t: ops.istft(ops.stft(t, 8, 4, 8), 8, 4, 8), x[:1, :24], device=device)
