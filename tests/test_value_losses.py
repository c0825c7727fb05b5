"""Binary cross-entropy, mean squared and absolute error, and the metrics that go with them:
formulas, float64 gradients, the fused sigmoid, and whole models (a binary classifier, a
multi-label one, an autoencoder) on every backend."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model, losses, optimizers
from minicnn import layers as L
from minicnn import pointwise_losses as P


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_values_match_their_formulas(device):
    rng = np.random.default_rng(0)
    out, target = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    d = lambda a: backend.to_device(a, device)  # noqa: E731
    assert float(host(P.mean_squared_error(d(out), d(target)))) == pytest.approx(
        np.mean((out - target) ** 2)
    )
    assert float(host(P.mean_absolute_error(d(out), d(target)))) == pytest.approx(
        np.mean(np.abs(out - target))
    )
    bce = -np.mean(target * np.log(out) + (1 - target) * np.log(1 - out))
    assert float(host(P.binary_crossentropy(d(out), d(target)))) == pytest.approx(bce)
    logits = np.log(out / (1 - out))
    assert float(host(P.binary_crossentropy(d(logits), d(target), from_logits=True))) == (
        pytest.approx(bce)
    )
    # Extreme logits stay finite.
    huge = np.array([[80.0, -80.0]])
    value = float(host(P.binary_crossentropy(d(huge), d(np.array([[0.0, 1.0]])), True)))
    assert value == pytest.approx(80.0)


def test_gradients(device):
    rng = np.random.default_rng(1)
    out, target = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))
    target_dev = backend.to_device(target, device)
    check_gradients(lambda o: P.mean_squared_error(o, target_dev), out, device=device)
    check_gradients(lambda o: P.mean_absolute_error(o, target_dev), out, device=device)
    check_gradients(lambda o: P.binary_crossentropy(o, target_dev), out, device=device)
    logits = rng.standard_normal((3, 4)) * 3
    check_gradients(lambda z: P.binary_crossentropy(z, target_dev, True), logits, device=device)


def binary_data(n=128):
    x, y = toy_data(n)
    return x, (y == 0).astype(np.float32)


def test_a_binary_classifier_with_a_fused_sigmoid(device, tmp_path):
    x, y = binary_data()
    model = Sequential(
        [Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(1, "sigmoid")]
    ).to(device)
    model.compile(optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy", "mse"])
    assert model._fuses_activation()
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    loss, accuracy, mse = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    assert loss == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-4)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == y)) and accuracy > 0.9
    assert mse == pytest.approx(np.mean((p - y) ** 2), rel=1e-4)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    assert loaded.evaluate(x, y, verbose=0) == [loss, accuracy, mse]


def test_multi_label_outputs_and_label_smoothing():
    x, labels = toy_data(96)
    y = np.eye(3, dtype=np.float32)[labels]
    y[:, 2] = 1.0  # a label every sample has
    model = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(3, "sigmoid")])
    model.compile(
        "adam", losses.BinaryCrossentropy(label_smoothing=0.1), metrics=["binary_accuracy"]
    )
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["binary_accuracy"][-1] > 0.8


def test_an_autoencoder_learns_with_mse_and_reports_mae(device):
    x, _ = toy_data(64)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.UpSampling2D(),
            L.Conv2D(1, 3, padding="same"),
        ]
    ).to(device)
    model.compile("adam", "mse", metrics=["mae"])
    history = model.fit(x, x, batch_size=16, epochs=10, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loss, mae = model.evaluate(x, x, verbose=0)
    rebuilt = model.predict(x, verbose=0)
    assert loss == pytest.approx(np.mean((rebuilt - x) ** 2), rel=1e-4)
    assert mae == pytest.approx(np.mean(np.abs(rebuilt - x)), rel=1e-4)


def test_regression_targets_may_be_flat_for_one_output():
    x, labels = toy_data(64)
    model = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(1)])
    model.compile("adam", "mean_absolute_error")
    history = model.fit(x, labels.astype(np.float32), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3


def test_bad_targets_and_metrics_are_named():
    x, labels = toy_data(16)
    model = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(2, "sigmoid")])
    model.compile("adam", "binary_crossentropy")
    with pytest.raises(
        ValueError, match=r"binary_crossentropy takes targets of the outputs' shape \(None, 2\)"
    ):
        model.fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        model.fit(x, np.full((16, 2), 2.0), verbose=0)
    with pytest.raises(
        ValueError, match="Metric 'sparse_top_k_categorical_accuracy' compares classes"
    ):
        model.compile("adam", "mse", metrics=["sparse_top_k_categorical_accuracy"])
    with pytest.raises(ValueError, match="must hold finite values"):
        model.compile("adam", "mse")
        model.fit(x, np.full((16, 2), np.nan), verbose=0)
