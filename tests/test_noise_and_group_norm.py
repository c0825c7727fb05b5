"""GaussianNoise, GaussianDropout and AlphaDropout (their statistics, training-only rule,
reproducible draws on every device, gradients) and GroupNormalization (against NumPy written
out, float64 gradient checks, Keras' rules)."""

import numpy as np
import pytest
from test_functions import host
from test_layers import check_layer_gradients
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model
from minicnn import layers as L
from minicnn.norm_ops import group_normalization

NOISE = {
    "gaussian_noise": lambda: L.GaussianNoise(0.5),
    "gaussian_dropout": lambda: L.GaussianDropout(0.3),
    "alpha_dropout": lambda: L.AlphaDropout(0.2),
}


def test_noise_has_keras_statistics():
    x = np.full((400, 50), 2.0)
    backend.set_random_seed(0)
    noisy = L.GaussianNoise(0.5)(x, training=True).data - 2.0
    assert abs(noisy.mean()) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    scaled = L.GaussianDropout(0.3)(x, training=True).data / 2.0
    assert abs(scaled.mean() - 1) < 0.01 and abs(scaled.std() - np.sqrt(0.3 / 0.7)) < 0.01
    # AlphaDropout keeps zero mean and unit variance of standard normal inputs.
    z = np.random.default_rng(1).standard_normal((400, 50))
    dropped = L.AlphaDropout(0.2)(z, training=True).data
    assert abs(dropped.mean()) < 0.02 and abs(dropped.std() - 1) < 0.02
    saturated = -1.6732632423543772 * 1.0507009873554805
    a = (0.8 * (1 + 0.2 * saturated**2)) ** -0.5
    assert np.isclose(dropped, a * saturated - a * saturated * 0.2).mean() == pytest.approx(
        0.2, abs=0.01
    )


@pytest.mark.parametrize("name", list(NOISE))
def test_noise_layers_act_in_training_only_and_draw_the_same_on_every_device(name, gpu):
    x = np.random.default_rng(2).random((8, 5, 3), np.float32)
    layer = NOISE[name]()
    assert layer(x, training=False).data is x
    results = []
    for device in ("cpu", "gpu", "cpu"):
        backend.set_random_seed(3)
        results.append(host(layer(backend.to_device(x, device), training=True)))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(results[2], results[0])
    assert results[0].dtype == np.float32 and not np.array_equal(results[0], x)


@pytest.mark.parametrize("name", list(NOISE))
def test_noise_layer_gradients(name, device):
    x = np.random.default_rng(4).standard_normal((3, 4, 2))
    check_layer_gradients(NOISE[name](), x, training=True, seed=5, device=device)


def numpy_group_norm(x, gamma, beta, groups, epsilon):
    out = np.empty_like(x)
    per_group = x.shape[-1] // groups
    for n in range(x.shape[0]):
        for g in range(groups):
            channels = slice(g * per_group, (g + 1) * per_group)
            values = x[n, ..., channels]
            out[n, ..., channels] = (values - values.mean()) / np.sqrt(values.var() + epsilon)
    return out * gamma + beta


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm_matches_numpy(groups, device):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5, 6)) * 3 + 1
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    got = group_normalization(*(backend.to_device(a, device) for a in (x, gamma, beta)), groups)
    np.testing.assert_allclose(host(got), numpy_group_norm(x, gamma, beta, groups, 1e-3), 1e-10)


@pytest.mark.parametrize("kwargs", [{"groups": 3}, {"groups": -1, "center": False}])
def test_group_norm_layer_gradients(kwargs, device):
    x = np.random.default_rng(7).standard_normal((2, 3, 3, 6))
    check_layer_gradients(L.GroupNormalization(**kwargs), x, device=device)


def test_models_with_noise_and_group_norm_train_save_and_load(tmp_path, device):
    x, y = toy_data(64)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.GaussianNoise(0.05),
            L.Conv2D(8, 3, padding="same", activation="relu"),
            L.GroupNormalization(4),
            L.MaxPooling2D(),
            L.Flatten(),
            L.GaussianDropout(0.1),
            L.Dense(3, activation="softmax"),
        ]
    ).to(device)
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert model.count_params() == 80 + 16 + 128 * 3 + 3
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers
    ]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(GaussianDropout\): rate must be a number in \[0, 1\)"):
        L.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="stddev must be a number >= 0"):
        L.GaussianNoise(-1)
    with pytest.raises(ValueError, match="groups must be a positive int or -1"):
        L.GroupNormalization(0)
    with pytest.raises(ValueError, match="6 channels do not split into 4 groups of equal size"):
        Sequential([Input((3, 3, 6)), L.GroupNormalization(4)])
