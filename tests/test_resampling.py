"""Resizing by kernels (bicubic, lanczos3, lanczos5, antialias) and scale_and_translate,
against loops that weigh every tap from the kernels' formulas; gradient checks on every
device. Keras 3.15 (JAX) gave the same images (to 1e-6) for these cases."""

import math

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import Input, Sequential, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.ops import image

RNG = np.random.default_rng(0)


def on(x, device):
    return Tensor(backend.to_device(np.asarray(x), device))


def kernel_value(method, d):
    """The kernels, one distance at a time."""
    d = abs(d)
    if method in ("linear", "bilinear"):
        return max(0.0, 1.0 - d)
    if method in ("cubic", "bicubic"):  # Keys, a = -0.5
        if d < 1:
            return 1.5 * d**3 - 2.5 * d**2 + 1
        return -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2 if d < 2 else 0.0
    radius = int(method[-1])
    if d >= radius:
        return 0.0
    if d == 0:
        return 1.0
    return math.sin(math.pi * d) * math.sin(math.pi * d / radius) * radius / (math.pi * d) ** 2


def resampled_by_loops(x, axis, out_size, scale, shift, method, antialias):
    """Each output sample as the normalized kernel-weighted sum of the input's taps."""
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    out = np.zeros((*x.shape[:-1], out_size))
    width = max(1 / scale, 1) if antialias else 1
    for o in range(out_size):
        at = (o + 0.5 - shift) / scale - 0.5
        if not -0.5 <= at <= n - 0.5:
            continue
        taps = [kernel_value(method, (at - i) / width) for i in range(n)]
        total = sum(taps)
        out[..., o] = sum(t * x[..., i] for i, t in enumerate(taps)) / total
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize(
    "method, size, antialias",
    [
        ("bicubic", (13, 17), False),
        ("bicubic", (4, 5), False),
        ("bicubic", (3, 4), True),
        ("lanczos3", (12, 5), False),
        ("lanczos5", (4, 19), True),
        ("bilinear", (3, 4), True),
    ],
)
def test_kernel_resizing_follows_the_kernels(method, size, antialias, device):
    x = RNG.random((2, 7, 9, 2))
    got = host(image.resize(on(x, device), size, interpolation=method, antialias=antialias))
    expected = resampled_by_loops(x, 1, size[0], size[0] / 7, 0.0, method, antialias)
    expected = resampled_by_loops(expected, 2, size[1], size[1] / 9, 0.0, method, antialias)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    check_gradients(
        lambda t: image.resize(t, size, interpolation=method, antialias=antialias),
        x[:1, :4, :5],
        device=device,
    )


def test_scale_and_translate_follows_the_kernels(device):
    x = RNG.random((2, 6, 8, 1))
    got = host(
        image.scale_and_translate(
            on(x, device), (2, 9, 5, 1), [1.4, 0.6], [0.5, -1.0], (1, 2), "cubic"
        )
    )
    expected = resampled_by_loops(x, 1, 9, 1.4, 0.5, "cubic", True)
    expected = resampled_by_loops(expected, 2, 5, 0.6, -1.0, "cubic", True)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    check_gradients(
        lambda t: image.scale_and_translate(
            t, (1, 5, 4, 1), [1.2, 0.5], [0.3, 0.0], (1, 2), "lanczos3"
        ),
        x[:1],
        device=device,
    )
    with pytest.raises(ValueError, match="method must be one of"):
        image.scale_and_translate(x, (2, 6, 8, 1), 1.0, 0.0, (1, 2), "gaussian")
    with pytest.raises(ValueError, match="must keep the input's"):
        image.scale_and_translate(x, (3, 6, 8, 1), 1.0, 0.0, (1, 2), "linear")


def test_resizing_layer_takes_keras_kernels_and_keeps_them(tmp_path):
    x = RNG.random((2, 8, 8, 3)).astype(np.float32)
    model = Sequential(
        [Input((8, 8, 3)), L.Resizing(5, 6, interpolation="lanczos3", antialias=True)]
    )
    expected = host(image.resize(x, (5, 6), interpolation="lanczos3", antialias=True))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
    assert model.layers[0].get_config()["antialias"] is True
    model.save(tmp_path / "m.minicnn")
    model.export(tmp_path / "m.keras")
    for path in ("m.minicnn", "m.keras"):
        again = load_model(tmp_path / path)
        np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    same = host(image.resize(x, (8, 8), interpolation="bicubic"))
    np.testing.assert_array_equal(same, x)  # no resizing, no change
