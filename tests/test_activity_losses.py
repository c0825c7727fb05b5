"""Losses made by a forward pass, as in Keras: add_loss in a layer's call (the guide's
ActivityRegularizationLayer), activity_regularizer on any layer, the ActivityRegularization
layer (divided by the batch, as Keras 3 does), shared layers and nested models; and
UnitNormalization."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

import minicnn
from minicnn import Input, Model, Sequential, backend, load_model, ops
from minicnn import layers as L
from minicnn.autograd import Tensor


class ActivityRegularizationLayer(L.Layer):
    """Keras' guide example, as written there."""

    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 4)).astype(np.float32), rng.random((16, 2)).astype(np.float32)


def test_add_loss_joins_the_training_loss(device):
    x, y = _data()
    minicnn.set_random_seed(0)
    inputs = Input((4,))
    hidden = L.Dense(3, activation="relu", name="hidden")(inputs)
    regularized = ActivityRegularizationLayer(0.5)(hidden)
    model = Model(inputs, L.Dense(2)(regularized)).to(device)
    model.compile("sgd", "mse")
    loss = model.evaluate(x, y, batch_size=16, verbose=0)
    features = Model(inputs, hidden).to(device).predict(x, verbose=0)
    mse = ((model.predict(x, verbose=0) - y) ** 2).mean()
    assert loss == pytest.approx(mse + 0.5 * features.mean(), rel=1e-5)
    assert len(model.losses) == 1  # one pass, one loss: cleared at each pass
    model.predict(x, verbose=0)
    assert len(model.losses) == 1


def test_activity_regularizers_divide_by_the_batch(device, tmp_path):
    x, y = _data()
    minicnn.set_random_seed(1)
    model = Sequential(
        [
            Input((4,)),
            L.Dense(3, activity_regularizer="l2", name="dense"),
            L.ActivityRegularization(l1=0.1),
            L.Dense(2),
        ]
    ).to(device)
    model.compile("sgd", "mse")
    loss = model.evaluate(x, y, batch_size=16, verbose=0)
    hidden = Sequential([Input((4,)), model.get_layer("dense")]).to(device).predict(x, verbose=0)
    mse = ((model.predict(x, verbose=0) - y) ** 2).mean()
    expected = mse + (0.01 * (hidden**2).sum() + 0.1 * np.abs(hidden).sum()) / 16
    assert loss == pytest.approx(expected, rel=1e-5)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "activity.minicnn")
    loaded = load_model(tmp_path / "activity.minicnn", device=device)
    assert loaded.evaluate(x, y, batch_size=16, verbose=0) == pytest.approx(
        model.evaluate(x, y, batch_size=16, verbose=0)
    )


def test_a_shared_layer_keeps_each_calls_loss_and_a_lone_call_starts_afresh():
    rng = np.random.default_rng(2)
    left, right = Input((3,)), Input((3,))
    shared = ActivityRegularizationLayer(1.0)
    model = Model([left, right], L.add([shared(left), shared(right)]))
    a, b = rng.random((4, 3)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    model.predict([a, b], verbose=0)
    got = sorted(float(host(t)) for t in model.losses)
    assert got == pytest.approx(sorted([a.mean(), b.mean()]), rel=1e-6)
    shared(Tensor(a))
    shared(Tensor(b))  # its own call: the losses of the one before are gone
    assert [float(host(t)) for t in shared.losses] == pytest.approx([b.mean()])
    with pytest.raises(ValueError, match="add_loss takes a scalar Tensor"):
        shared.add_loss(1.0)


def test_unit_normalization(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5))
    layer = L.UnitNormalization()
    got = layer(Tensor(backend.to_device(x, device)))
    np.testing.assert_allclose(host(got), x / np.linalg.norm(x, axis=-1, keepdims=True))
    both = L.UnitNormalization(axis=[1, 2])
    check_gradients(lambda t: both(t), x, device=device)
    norms = np.sqrt((host(both(Tensor(backend.to_device(x, device)))) ** 2).sum(axis=(1, 2)))
    np.testing.assert_allclose(norms, 1.0)
