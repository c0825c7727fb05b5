"""Shared layers, as in Keras: one layer called at several places of a functional graph (a
siamese network) has one set of weights, whose gradient adds up the calls' (checked by finite
differences); it saves, loads, summarizes and trains on every device."""

import numpy as np
import pytest
from test_functions import host
from test_models import toy_data

from minicnn import Input, Model, backend, load_model, optimizers
from minicnn import layers as L
from minicnn.autograd import Tensor


def siamese(device="cpu"):
    """Are two images of the same class? One encoder reads both."""
    left, right = Input((8, 8, 1), name="left"), Input((8, 8, 1), name="right")
    encoder = L.Dense(6, activation="tanh", name="encoder")
    flatten = L.Flatten()
    a, b = encoder(flatten(left)), encoder(flatten(right))
    distance = L.Lambda(lambda t: t * t)(L.subtract([a, b]))
    same = L.Dense(1, activation="sigmoid")(distance)
    return Model([left, right], same, device=device)


def pairs(n=128, seed=0):
    x, y = toy_data(2 * n, seed)
    return x[:n], x[n:], (y[:n] == y[n:]).astype(np.float32)


def test_a_shared_layer_has_one_set_of_weights_and_sums_its_gradients(device):
    model = siamese(device)
    assert [layer.name for layer in model.layers].count("encoder") == 1
    assert len(model.weights) == 4 and model.count_params() == 64 * 6 + 6 + 6 + 1
    left, right, _ = pairs(3)
    inputs = [Tensor(backend.to_device(a.astype(np.float64), device)) for a in (left, right)]
    kernel = model.get_layer("encoder").weights[0]
    kernel.data = kernel.data.astype(np.float64)
    for w in model.weights:
        w.data = w.data.astype(np.float64)
        w.grad = None
    model._forward(inputs, training=False).sum().backward()
    analytic = host(kernel.grad)
    numeric = np.zeros_like(analytic)
    base = host(kernel.data).copy()
    for index in [(0, 0), (10, 3), (63, 5), (30, 1)]:
        for sign in (1, -1):
            bumped = base.copy()
            bumped[index] += sign * 1e-6
            kernel.data = backend.to_device(bumped, device)
            numeric[index] += sign * float(host(model._forward(inputs, False).sum().data)) / 2e-6
        kernel.data = backend.to_device(base, device)
        assert analytic[index] == pytest.approx(numeric[index], rel=1e-5, abs=1e-9)


def test_a_siamese_network_learns_saves_and_summarizes(tmp_path, device):
    left, right, same = pairs()
    backend.set_random_seed(0)
    model = siamese(device)
    model.compile(optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit([left, right], same, batch_size=16, epochs=40, verbose=0)
    assert history.history["accuracy"][-1] > 0.9, history.history["accuracy"]
    lines = []
    model.summary(print_fn=lines.append)
    assert "flatten[0][0]" in lines[0] and "flatten[1][0]" in lines[0]
    assert "encoder[0][0]" in lines[0] and "encoder[1][0]" in lines[0]
    model.save_weights(tmp_path / "w.npz")
    again = siamese(device)
    again.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(
        again.predict([left, right], verbose=0), model.predict([left, right], verbose=0)
    )


def test_a_shared_graph_saves_whole_and_rebuilds_its_calls(tmp_path):
    inputs = Input((5,))
    block = L.Dense(5, activation="relu", name="block")
    x = block(block(inputs))  # the same layer twice in a row (weight tying)
    model = Model(inputs, L.Dense(2, activation="softmax")(L.add([x, block(inputs)])))
    model.compile("adam", "sparse_categorical_crossentropy")
    data = np.random.default_rng(0).random((8, 5)).astype(np.float32)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert [n[0] for n in loaded._own_config()["nodes"]] == [
        n[0] for n in model._own_config()["nodes"]
    ]

    def calls(m):  # Keras' config: each layer's calls (its inbound nodes)
        return [(e["name"], len(e["inbound_nodes"])) for e in m.get_config()["layers"]]

    assert calls(loaded) == calls(model)
    assert max(count for _, count in calls(model)) == 3
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    untied = Input((5,))
    other = Model(
        untied, L.Dense(2, "softmax")(L.add([L.Dense(5)(L.Dense(5)(untied)), L.Dense(5)(untied)]))
    )
    with pytest.raises(Exception, match="another architecture|expects"):
        other.load_weights(tmp_path / "m.minicnn")
