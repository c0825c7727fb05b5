"""compile(weighted_metrics=...): metrics that weight each sample by fit's and evaluate's
sample_weight or class_weight, with Keras 3's names ("weighted_<name>" beside an unweighted
metric of the same name), for every kind of metric, several outputs, every device and saved
models."""

import numpy as np
import pytest
from sklearn.metrics import precision_score
from test_custom_objects import BinaryTruePositives
from test_multi_io import data, two_headed

import minicnn
from minicnn import Input, Sequential, load_model, metrics, ops
from minicnn import layers as L


def absolute_error(y_true, y_pred):
    """Each probability's distance from the class id, averaged per sample."""
    return ops.mean(ops.abs(y_pred - ops.reshape(y_true, (-1, 1))), axis=-1)


def _classifier(device):
    minicnn.set_random_seed(0)
    model = Sequential([Input((4,)), L.Dense(3, activation="softmax")])
    model.to(device)
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["accuracy", metrics.Precision(class_id=1), absolute_error],
    )
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 4)).astype(np.float32)
    y = rng.integers(0, 3, 90)
    return x, y, rng.random(90).astype(np.float32)


def test_weighted_metrics_weight_each_sample(device):
    x, y, w = _data()
    model = _classifier(device)
    model.fit(x, y, sample_weight=w, epochs=2, batch_size=16, verbose=0)
    logs = model.evaluate(x, y, sample_weight=w, batch_size=32, verbose=0, return_dict=True)
    assert list(logs) == ["absolute_error", "accuracy", "loss", "precision", "weighted_accuracy"]
    probs = model.predict(x, verbose=0)
    correct = probs.argmax(axis=1) == y
    assert logs["accuracy"] == pytest.approx(correct.mean())
    assert logs["weighted_accuracy"] == pytest.approx(np.sum(w * correct) / w.sum(), rel=1e-5)
    precision = precision_score(y == 1, probs[:, 1] > 0.5, sample_weight=w, zero_division=0)
    assert logs["precision"] == pytest.approx(precision, abs=1e-6)
    errors = np.abs(probs - y[:, None]).mean(axis=1)
    assert logs["absolute_error"] == pytest.approx(np.sum(w * errors) / w.sum(), rel=1e-5)
    # Without weights a weighted metric is its plain self.
    plain = model.evaluate(x, y, verbose=0, return_dict=True)
    assert plain["weighted_accuracy"] == pytest.approx(plain["accuracy"])
    assert plain["absolute_error"] == pytest.approx(errors.mean(), rel=1e-5)


def test_class_weight_and_fit_logs(device):
    x, y, _ = _data()
    model = _classifier(device)
    history = model.fit(x, y, class_weight={0: 1.0, 1: 3.0, 2: 0.0}, epochs=1, verbose=0)
    assert "weighted_accuracy" in history.history
    logs = model.evaluate(
        x, y, sample_weight=np.array([1.0, 3.0, 0.0])[y], verbose=0, return_dict=True
    )
    probs = model.predict(x, verbose=0)
    keep = y != 2
    weights = np.where(y == 1, 3.0, 1.0)[keep]
    correct = (probs.argmax(axis=1) == y)[keep]
    assert logs["weighted_accuracy"] == pytest.approx(np.sum(weights * correct) / weights.sum())


def test_weighted_stateful_metric_and_saving(tmp_path):
    x, y, w = _data()
    minicnn.set_random_seed(0)
    model = Sequential([Input((4,)), L.Dense(1, activation="sigmoid")])
    binary = (y == 1).astype(np.float32)
    model.compile("adam", "binary_crossentropy", weighted_metrics=[BinaryTruePositives()])
    logs = model.evaluate(x, binary, sample_weight=w, verbose=0, return_dict=True)
    hit = (model.predict(x, verbose=0)[:, 0] > 0.5) & (binary > 0.5)
    assert logs["binary_true_positives"] == pytest.approx(np.sum(w * hit), rel=1e-5)

    model = _classifier("cpu")
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", custom_objects={"absolute_error": absolute_error})
    compiled = [m.name for m in model.metrics[1].metrics]  # Keras' compile_metrics
    assert [m.name for m in loaded.metrics[1].metrics] == compiled
    assert [m.weighted for m in loaded.metrics[1].metrics] == [False, True, True, True]
    np.testing.assert_allclose(
        loaded.evaluate(x, y, sample_weight=w, verbose=0),
        model.evaluate(x, y, sample_weight=w, verbose=0),
    )


def test_weighted_metrics_of_several_outputs(device):
    x, meta, y, size = data()
    weights = np.random.default_rng(1).random(len(y)).astype(np.float32)
    minicnn.set_random_seed(0)
    model = two_headed(device)
    model.compile(
        "adam",
        loss={"kind": "sparse_categorical_crossentropy", "size": "mse"},
        metrics={"kind": ["accuracy"]},
        weighted_metrics={"kind": ["accuracy"], "size": ["mae"]},
    )
    logs = model.evaluate([x, meta], [y, size], sample_weight=weights, verbose=0, return_dict=True)
    assert list(logs) == [  # by name, as Keras 3's return_dict
        "kind_accuracy",
        "kind_loss",
        "kind_weighted_accuracy",
        "loss",
        "size_loss",
        "size_mae",
    ]
    probs, sizes = model.predict([x, meta], verbose=0)
    correct = probs.argmax(axis=1) == y
    assert logs["kind_weighted_accuracy"] == pytest.approx(
        np.sum(weights * correct) / weights.sum(), rel=1e-5
    )
    error = np.abs(sizes[:, 0] - size[:, 0])
    assert logs["size_mae"] == pytest.approx(np.sum(weights * error) / weights.sum(), rel=1e-5)
