"""Keras' weight constraints: MaxNorm, MinMaxNorm, NonNeg and UnitNorm by their formulas on
every device, applied after each optimizer update (layers' kernel_constraint and
bias_constraint, add_weight's constraint), saved with the model."""

import numpy as np
import pytest
from test_functions import host

import minicnn
from minicnn import Input, Sequential, backend, constraints, load_model, optimizers
from minicnn import layers as L


def test_formulas(device):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3)).astype(np.float32) * 2
    on_device = backend.to_device(w, device)
    norms = np.sqrt((w**2).sum(axis=0, keepdims=True))
    eps = 1e-7
    expected = w * np.clip(norms, 0, 1.5) / (eps + norms)
    np.testing.assert_allclose(host(constraints.MaxNorm(1.5)(on_device)), expected, rtol=1e-6)
    mixed = 0.5 * np.clip(norms, 1.0, 2.0) + 0.5 * norms
    np.testing.assert_allclose(
        host(constraints.MinMaxNorm(1.0, 2.0, rate=0.5)(on_device)),
        w * mixed / (eps + norms),
        rtol=1e-6,
    )
    np.testing.assert_array_equal(host(constraints.NonNeg()(on_device)), np.maximum(w, 0))
    rows = np.sqrt((w**2).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(
        host(constraints.UnitNorm(axis=1)(on_device)), w / (eps + rows), rtol=1e-6
    )


def test_layers_keep_their_weights_constrained_through_training(device, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, :2] * 5).astype(np.float32)
    minicnn.set_random_seed(0)
    model = Sequential(
        [
            Input((6,)),
            L.Dense(8, kernel_constraint="max_norm", bias_constraint=constraints.NonNeg()),
            L.Dense(2, kernel_constraint=constraints.UnitNorm(axis=0)),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.1), "mse")
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    kernel, bias, head, _ = model.get_weights()
    assert np.sqrt((kernel**2).sum(axis=0)).max() <= 2.0 + 1e-5
    assert bias.min() >= 0
    np.testing.assert_allclose(np.sqrt((head**2).sum(axis=0)), 1.0, rtol=1e-5)
    model.save(tmp_path / "constrained.minicnn")
    loaded = load_model(tmp_path / "constrained.minicnn", device=device)
    assert isinstance(loaded.layers[0].kernel_constraint, constraints.MaxNorm)
    assert loaded.layers[1].kernel_constraint.axis == 0
    loaded.fit(x, y, epochs=1, verbose=0)
    assert loaded.get_weights()[1].min() >= 0


class PositiveScale(L.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(
            shape=(input_shape[-1],), initializer="ones", constraint="non_neg"
        )

    def call(self, inputs):
        return inputs * self.scale


def test_add_weight_takes_a_constraint():
    x = np.ones((16, 3), np.float32)
    model = Sequential([Input((3,)), PositiveScale()])
    model.compile(optimizers.SGD(1.0), "mse")
    model.fit(x, np.full((16, 3), -5.0, np.float32), epochs=3, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], 0.0)  # pushed below 0, held at 0
    with pytest.raises(ValueError, match="Unknown constraint 'positive'"):
        L.Dense(2, kernel_constraint="positive")
