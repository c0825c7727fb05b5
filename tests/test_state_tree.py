"""Keras 3's ``get_state_tree`` and ``set_state_tree``: Keras' layout, and a round trip that
carries training on as if nothing had happened."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential
from minicnn import layers as L


def _model(seed=0):
    minicnn.utils.clear_session()  # the same layer names for a twin, as in Keras
    minicnn.utils.set_random_seed(seed)
    model = Sequential(
        [Input(shape=(3,), name="my_input"), L.BatchNormalization(), L.Dense(2, name="my_dense")],
        name="my_sequential",
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    return x, x[:, :2] * 2.0


def test_the_tree_has_keras_layout():
    model = _model()
    x, y = _data()
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    tree = model.get_state_tree()
    assert set(tree) == {
        "trainable_variables",
        "non_trainable_variables",
        "optimizer_variables",
        "metrics_variables",
    }
    dense = tree["trainable_variables"]["my_sequential"]["my_dense"]
    assert set(dense) == {"kernel", "bias"} and dense["kernel"].shape == (3, 2)
    norm = tree["non_trainable_variables"]["my_sequential"]["batch_normalization"]
    assert set(norm) == {"moving_mean", "moving_variance"}
    adam = tree["optimizer_variables"]["adam"]
    assert adam["iteration"] == 2
    assert "my_sequential_my_dense_kernel_momentum" in adam
    assert "my_sequential_my_dense_kernel_velocity" in adam
    assert set(tree["metrics_variables"]) == {"loss", "mae"}
    loss = tree["metrics_variables"]["loss"]
    assert set(loss) == {"total", "count"} and float(loss["count"]) == 32
    # As in Keras, the metrics hold the last epoch's values after fit.
    assert float(loss["total"]) / 32 == pytest.approx(history.history["loss"][-1])
    assert model.get_metrics_result()["mae"] == pytest.approx(history.history["mae"][-1])


def test_a_tree_set_on_a_twin_carries_training_on_identically():
    x, y = _data()
    first = _model(0)
    first.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    twin = _model(1)
    twin.fit(x[:16], y[:16], epochs=1, batch_size=16, verbose=0)  # its optimizer is built
    twin.set_state_tree(first.get_state_tree("numpy_array"))
    np.testing.assert_array_equal(twin.predict(x, verbose=0), first.predict(x, verbose=0))
    first.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    twin.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(twin.get_weights(), first.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_set_state_tree_names_what_does_not_fit():
    model = _model()
    tree = model.get_state_tree("numpy_array")
    tree["trainable_variables"]["my_sequential"]["my_dense"]["kernel"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"my_dense/kernel.*shape \(3, 2\)"):
        model.set_state_tree(tree)
    with pytest.raises(ValueError, match="unknown sections"):
        model.set_state_tree({"weights": {}})
    stray = {"trainable_variables": {"my_sequential": {"other": {"kernel": np.zeros(1)}}}}
    with pytest.raises(ValueError, match="no value for|names no variable"):
        model.set_state_tree(stray)
    with pytest.raises(ValueError, match="value_format"):
        model.get_state_tree("torch")
