"""Lambda layers: Python functions of tensors as layers, differentiated through, with output
shapes found by running them; models with them save weights, not architecture."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_models import toy_data

from minicnn import Input, Sequential, backend
from minicnn import functions as F
from minicnn import layers as L


def test_lambdas_compute_shapes_and_gradients(device):
    scale = L.Lambda(lambda x: x / 255.0 * 2 - 1)
    squash = L.Lambda(lambda x: F.tanh(x) * x.mean(axis=-1, keepdims=True))
    halves = L.Lambda(lambda x: F.reshape(x, (x.shape[0], -1, 2)), output_shape=lambda s: (6, 2))
    model = Sequential([Input((3, 4)), scale, squash, halves]).to(device)
    assert [layer.output_shape for layer in model.layers] == [(3, 4), (3, 4), (6, 2)]
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 4))
    np.testing.assert_allclose(
        backend.to_numpy(model(backend.to_device(x, device)).data),
        (np.tanh(x / 127.5 - 1) * (x / 127.5 - 1).mean(axis=-1, keepdims=True)).reshape(2, 6, 2),
        rtol=1e-5,
    )
    check_gradients(lambda t: squash(scale(t)), x / 100, device=device)


def test_models_with_lambdas_train_and_keep_their_weights(tmp_path):
    x, y = toy_data(48)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Lambda(lambda t: t * 2 - 1),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(TypeError, match=r"save: Layer 'lambda.*' \(Lambda\) runs Python code"):
        model.save(tmp_path / "m.minicnn")
    model.save_weights(tmp_path / "w.npz")
    again = Sequential(
        [Input((8, 8, 1)), L.Lambda(lambda t: t * 2 - 1), L.Flatten(), L.Dense(3, "softmax")]
    )
    again.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not (tmp_path / "m.minicnn").exists()
    with pytest.raises(TypeError, match="function must be callable"):
        L.Lambda("x * 2")
