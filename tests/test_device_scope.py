"""Where arrays that ops make from nothing live, as in Keras: on the device of ``with
minicnn.device(...)`` (Keras' ``keras.device``), or of the model whose pass (or fit, evaluate,
predict, custom train_step) runs them; NumPy operands of GPU tensors go to the GPU."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Model, Sequential, backend, ops
from minicnn import layers as L
from minicnn.autograd import Tensor

CONSTANTS = [
    lambda: ops.zeros((2, 3)),
    lambda: ops.ones(4),
    lambda: ops.full((2,), 7.0),
    lambda: ops.arange(5),
    lambda: ops.arange(1, 7, 2, dtype="float32"),
    lambda: ops.eye(3, 2),
]


def test_constants_follow_the_device_scope(gpu):
    expected = [
        np.zeros((2, 3)),
        np.ones(4),
        np.full(2, 7.0),
        np.arange(5),
        [1, 3, 5],
        np.eye(3, 2),
    ]
    for make, values in zip(CONSTANTS, expected, strict=True):
        assert isinstance(make().data, np.ndarray)  # the suite's default device is the CPU
        with minicnn.device("gpu"):
            on_gpu = make()
            with minicnn.device("cpu"):
                assert isinstance(make().data, np.ndarray)
            assert backend.is_device_array(make().data)
        assert backend.is_device_array(on_gpu.data)
        np.testing.assert_array_equal(backend.to_numpy(on_gpu.data), values)
        assert on_gpu.dtype == make().dtype
    for name in ("cuda", "cuda:0", "GPU:0"):
        with minicnn.device(name):
            assert backend.current_device() == "gpu"


@pytest.mark.parametrize("name", ["tpu", "gpu:1", "auto:0", ""])
def test_unknown_device_names_are_refused(name):
    with pytest.raises(ValueError, match="Unknown device"):
        with minicnn.device(name):
            pass


def test_a_gpu_scope_without_a_gpu_says_why(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        with minicnn.device("gpu"):
            pass


class Shifted(L.Layer):
    """A layer of the user's that makes constants in call: ops.ones, ops.arange, a NumPy
    array."""

    def call(self, inputs):
        steps = ops.arange(inputs.shape[-1], dtype="float32") * 0.1
        return (inputs + ops.ones(inputs.shape[1:])) * steps + np.float32(0.5) * np.ones(
            inputs.shape[-1], np.float32
        )


class ZeroCentredLoss(Model):
    """A custom train_step that builds its loss from ops.zeros."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        prediction = self(x, training=True)
        offset = ops.zeros(prediction.shape[1:])
        loss = ops.mean(ops.square(prediction - y + offset))
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        return {"loss": loss}


def test_user_code_makes_its_constants_on_the_models_device(device):
    rng = np.random.default_rng(0)
    x = rng.random((16, 4), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = Sequential([Input((4,)), Shifted(), L.Dense(1)]).to(device)
    model.compile("adam", "mse")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    expected = (x + 1) * np.arange(4) * 0.1 + 0.5
    layer_out = model.layers[0](Tensor(backend.to_device(x, device)))
    np.testing.assert_allclose(backend.to_numpy(layer_out.data), expected, rtol=1e-6)
    inputs = Input((4,))
    custom = ZeroCentredLoss(inputs, L.Dense(1)(inputs)).to(device)
    custom.compile("adam", loss=None)
    assert np.isfinite(custom.fit(x, y, epochs=1, batch_size=8, verbose=0).history["loss"]).all()
