"""Metrics: Keras' names and log keys, top-k against a NumPy oracle, and their values in fit,
evaluate and saved models."""

import numpy as np
import pytest
from test_functions import host
from test_models import compiled, small_cnn, toy_data

from minicnn import backend, load_model, losses, metrics, utils


def top_k_oracle(outputs, labels, k):
    """In the top k when fewer than k classes score strictly higher (ties count as inside)."""
    true = outputs[np.arange(len(labels)), labels]
    return float(np.mean([(row > t).sum() < k for row, t in zip(outputs, true, strict=True)]))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_counts_like_in_top_k(k, device):
    rng = np.random.default_rng(0)
    outputs = rng.integers(0, 4, (200, 6)).astype(np.float32)  # many ties
    labels = rng.integers(0, 6, 200)
    metric = metrics.SparseTopKCategoricalAccuracy(k=k)
    loss = losses.SparseCategoricalCrossentropy()
    got = metric.total(backend.to_device(outputs, device), backend.to_device(labels, device), loss)
    assert int(host(got)) / 200 == pytest.approx(top_k_oracle(outputs, labels, k))


def test_metric_names_and_lookup_follow_keras():
    assert metrics.get("accuracy").name == "accuracy"
    assert metrics.get("sparse_top_k_categorical_accuracy").k == 5
    assert metrics.get("categorical_accuracy").name == "categorical_accuracy"
    assert metrics.get(metrics.TopKCategoricalAccuracy(k=3, name="top3").serialize()).k == 3
    with pytest.raises(ValueError, match="Unknown metric 'f1_score'; known: accuracy, acc"):
        metrics.get("f1_score")
    with pytest.raises(ValueError, match="k must be a positive int"):
        metrics.SparseTopKCategoricalAccuracy(k=0)


def test_fit_and_evaluate_report_every_metric(device, tmp_path):
    x, y = toy_data(96)
    model = small_cnn().to(device)
    top2 = metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
    model.compile("adam", metrics=["accuracy", top2, "sparse_categorical_accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0)
    assert list(history.history) == [  # by name, as Keras 3 hands logs to History
        "accuracy",
        "loss",
        "sparse_categorical_accuracy",
        "top2",
        "val_accuracy",
        "val_loss",
        "val_sparse_categorical_accuracy",
        "val_top2",
    ]
    assert history.history["accuracy"] == history.history["sparse_categorical_accuracy"]
    loss, accuracy, top_2, same = model.evaluate(x, y, verbose=0)
    probs = model.predict(x, verbose=0)
    assert accuracy == same == pytest.approx(np.mean(probs.argmax(axis=1) == y))
    assert top_2 == pytest.approx(top_k_oracle(probs, y, 2))
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {
        "accuracy": accuracy,
        "top2": top_2,
        "sparse_categorical_accuracy": same,
        "loss": loss,
    }
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    assert loaded.metrics_names == model.metrics_names == ["loss", "compile_metrics"]  # Keras 3
    kinds = [(type(m), m.name) for m in model.metrics[1].metrics]
    assert [(type(m), m.name) for m in loaded.metrics[1].metrics] == kinds
    assert loaded.metrics[1].metrics[1].k == 2
    assert loaded.evaluate(x, y, verbose=0) == [loss, accuracy, top_2, same]


def test_categorical_targets_take_the_categorical_metrics():
    x, y = toy_data(64)
    model = small_cnn()
    model.compile(
        "adam",
        "categorical_crossentropy",
        metrics=["categorical_accuracy", "top_k_categorical_accuracy"],
    )
    model.fit(x, utils.to_categorical(y), epochs=1, verbose=0)
    _, accuracy, top5 = model.evaluate(x, utils.to_categorical(y), verbose=0)
    assert accuracy == pytest.approx(np.mean(model.predict(x, verbose=0).argmax(1) == y))
    assert top5 == 1.0  # three classes: always in the top five


def test_metric_names_must_differ():
    with pytest.raises(ValueError, match="Metric names must differ"):
        compiled(small_cnn()).compile("adam", metrics=["accuracy", "accuracy"])
    with pytest.raises(ValueError, match="Metric names must differ"):
        small_cnn().compile("adam", metrics=[metrics.SparseCategoricalAccuracy(name="loss")])


def test_a_mean_subclass_with_its_own_update_state_is_a_compiled_metric():
    # Keras' pattern: Mean's state, an update_state(y_true, y_pred) of one's own (the values
    # are what Keras 3.15 logs for this model and data).
    from minicnn import Input, Sequential, layers, optimizers

    class MeanPrediction(metrics.Mean):
        def update_state(self, y_true, y_pred, sample_weight=None):
            return super().update_state(y_pred, sample_weight)

    model = Sequential([Input((4,)), layers.Dense(3, "softmax", kernel_initializer="ones")])
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy", [MeanPrediction("mp")])
    x = np.linspace(0, 1, 40, dtype=np.float32).reshape(10, 4)
    logs = model.evaluate(x, np.arange(10) % 3, batch_size=4, verbose=0, return_dict=True)
    assert logs == pytest.approx({"loss": 1.098612, "mp": 1 / 3}, rel=1e-5)
    with pytest.raises(ValueError, match="adds up values given to update_state"):
        model.compile("sgd", "sparse_categorical_crossentropy", [metrics.Mean(name="plain")])
