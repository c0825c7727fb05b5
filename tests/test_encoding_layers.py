"""CategoryEncoding and Discretization, as Keras' (their docstring examples), on every
device, in a model that trains, adapted, and saved."""

import numpy as np
import pytest
from test_functions import host

import minicnn
from minicnn import Input, Sequential, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor


def test_category_encoding_as_keras_docstrings(device):
    def encode(layer, ids):
        return host(layer(Tensor(backend.to_device(np.array(ids), device))))

    np.testing.assert_array_equal(
        encode(L.CategoryEncoding(4, output_mode="one_hot"), [[3], [2], [0], [1]]),
        np.eye(4)[[3, 2, 0, 1]],
    )
    np.testing.assert_array_equal(
        encode(L.CategoryEncoding(4, output_mode="multi_hot"), [[0, 1], [0, 0], [1, 2], [3, 1]]),
        [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]],
    )
    np.testing.assert_array_equal(
        encode(L.CategoryEncoding(4, output_mode="count"), [[0, 1], [0, 0], [1, 2], [3, 1]]),
        [[1, 1, 0, 0], [2, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]],
    )


def test_discretization_as_keras_docstrings(device):
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    layer = L.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    np.testing.assert_array_equal(
        host(layer(Tensor(backend.to_device(x, device)))), [[0, 2, 3, 1], [1, 3, 2, 1]]
    )
    # adapt finds the boundaries as Keras 3.15 does (its summaries of the data), to the
    # bit: these are its, and its bins (its docstring shows others).
    adapted = L.Discretization(num_bins=4, epsilon=0.01)
    adapted.adapt(x)
    assert adapted.bin_boundaries == [0.0, 0.5, 1.2999999523162842]
    np.testing.assert_array_equal(
        host(adapted(Tensor(backend.to_device(x, device)))), [[0, 2, 3, 2], [1, 3, 3, 1]]
    )
    normal = L.Discretization(num_bins=5, epsilon=0.01)
    normal.adapt(np.random.default_rng(0).normal(size=(1000, 1)))
    assert normal.bin_boundaries == [
        -0.8496066927909851,
        -0.3048001825809479,
        0.17602071166038513,
        0.7710492014884949,
    ]


def test_a_tabular_model_with_bins_and_categories(tmp_path):
    rng = np.random.default_rng(0)
    ages = rng.uniform(0, 100, (128, 1)).astype(np.float32)
    labels = (ages[:, 0] > 60).astype(np.int64)
    bins = L.Discretization(num_bins=5)
    bins.adapt(ages)
    minicnn.set_random_seed(0)
    model = Sequential(
        [
            Input((1,)),
            bins,
            L.CategoryEncoding(5, output_mode="one_hot"),
            L.Dense(2, activation="softmax"),
        ]
    )
    model.compile(minicnn.optimizers.Adam(0.1), metrics=["accuracy"])
    history = model.fit(ages, labels, epochs=20, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    model.save(tmp_path / "tabular.minicnn")
    loaded = load_model(tmp_path / "tabular.minicnn")
    assert loaded.layers[0].bin_boundaries == bins.bin_boundaries
    np.testing.assert_array_equal(loaded.predict(ages, verbose=0), model.predict(ages, verbose=0))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="ids must be in \\[0, 3\\)"):
        L.CategoryEncoding(3)(Tensor(np.array([[0, 3]])))
    with pytest.raises(ValueError, match="give bin_boundaries or num_bins"):
        L.Discretization()
    with pytest.raises(ValueError, match="call adapt first"):
        L.Discretization(num_bins=3)(Tensor(np.zeros((2, 1))))
    with pytest.raises(ValueError, match="output_mode must be one of"):
        L.CategoryEncoding(3, output_mode="tf_idf")
