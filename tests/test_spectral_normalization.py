"""Keras' SpectralNormalization: one training call against Keras' power-iteration update
written in NumPy, convergence of the kernel's largest singular value to 1 (NumPy's SVD),
inference untouched, and a wrapped model that trains, saves and loads on every device."""

import numpy as np
import pytest
from test_functions import host
from test_models import assert_learns_and_reloads, toy_data

from minicnn import Input, Sequential, backend
from minicnn import layers as L


def keras_update(kernel, u, iterations):
    """Keras' normalized_weights, in NumPy (float64)."""
    w = kernel.reshape(-1, kernel.shape[-1])
    for _ in range(iterations):
        v = u @ w.T
        v /= np.linalg.norm(v)
        u = v @ w
        u /= np.linalg.norm(u)
    sigma = (v @ w @ u.T).item()
    return (w / sigma).reshape(kernel.shape), u


WRAPPED = {
    "dense": (lambda: L.Dense(5), (4, 8)),
    "conv": (lambda: L.Conv2D(3, 2), (2, 5, 5, 2)),
    "embedding": (lambda: L.Embedding(10, 4), (3, 6)),
}


@pytest.mark.parametrize("kind", list(WRAPPED))
@pytest.mark.parametrize("iterations", [1, 3])
def test_one_training_call_follows_keras_update(kind, iterations, device):
    make, shape = WRAPPED[kind]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, shape) if kind == "embedding" else rng.standard_normal(shape)
    layer = L.SpectralNormalization(make(), power_iterations=iterations)
    layer.to(device)
    layer.build(shape)
    before = [w.astype(np.float64) for w in layer.get_weights()]
    expected_kernel, expected_u = keras_update(before[0], before[-1], iterations)
    out = host(layer(backend.to_device(x.astype(np.float32), device), training=True))
    after = layer.get_weights()
    np.testing.assert_allclose(after[0], expected_kernel, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(after[-1], expected_u, rtol=2e-5, atol=1e-6)
    plain = make()
    plain.build(shape)
    plain.set_weights(after[:-1])
    np.testing.assert_allclose(out, plain(x.astype(np.float32)).data, rtol=1e-5, atol=1e-6)
    inference = host(layer(backend.to_device(x.astype(np.float32), device)))
    np.testing.assert_array_equal(layer.get_weights()[0], after[0])  # inference changes nothing
    np.testing.assert_allclose(inference, out, rtol=1e-6, atol=1e-7)


def test_repeated_calls_bring_the_spectral_norm_to_one_and_zero_kernels_stay():
    layer = L.SpectralNormalization(L.Dense(6))
    x = np.ones((2, 9), np.float32)
    layer(x)
    layer.set_weights([layer.get_weights()[0] * 7, *layer.get_weights()[1:]])
    for _ in range(30):
        layer(x, training=True)
    assert np.linalg.svd(layer.get_weights()[0], compute_uv=False)[0] == pytest.approx(1, 1e-4)
    assert [w.requires_grad for w in layer.weights] == [True, True, False]  # u is state
    zero = L.SpectralNormalization(L.Dense(3, kernel_initializer="zeros"))
    zero(x)
    u = zero.get_weights()[-1]
    zero(x, training=True)
    np.testing.assert_array_equal(zero.get_weights()[0], 0)
    np.testing.assert_array_equal(zero.get_weights()[-1], u)
    with pytest.raises(ValueError, match="has no kernel"):
        L.SpectralNormalization(L.SeparableConv2D(2, 3))(np.ones((1, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="power_iterations must be a positive int"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)


def test_a_spectrally_normalized_model_trains_saves_and_loads(tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.SpectralNormalization(L.Conv2D(4, 3, activation="relu")),
            L.Flatten(),
            L.SpectralNormalization(L.Dense(3, activation="softmax"), power_iterations=2),
        ]
    ).to(device)
    assert_learns_and_reloads(model, x, y, tmp_path, device)
    kernel = model.layers[0].get_weights()[0].reshape(-1, 4)
    assert np.linalg.svd(kernel, compute_uv=False)[0] < 1.2  # held near 1 through training


def test_a_spectrally_normalized_step_is_captured_and_trains_the_same(gpu):
    from test_graph_step import assert_captured_trains_like_plain

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    captured = assert_captured_trains_like_plain(
        lambda: [
            Input((6,)),
            L.SpectralNormalization(L.Dense(8, activation="relu")),
            L.Dense(3, activation="softmax"),
        ],
        x,
        y,
    )
    kernel = captured.layers[0].get_weights()[0]
    assert np.linalg.svd(kernel, compute_uv=False)[0] < 1.1
