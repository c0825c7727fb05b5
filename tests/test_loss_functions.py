"""Keras 3's loss functions (``minicnn.losses.mean_squared_error(y_true, y_pred)`` and the
rest: one loss per sample) against NumPy's formulas, and the loss classes' Keras arguments
that use them: ``reduction``, ``name``, ``axis``, ``ignore_class``."""

import numpy as np
import pytest
from gradcheck import check_gradients

import minicnn
from minicnn import Input, Model, load_model, losses, ops
from minicnn import layers as L
from minicnn.autograd import Tensor

EPS = 1e-7
rng = np.random.default_rng(0)
T = rng.uniform(0.05, 0.95, (5, 4)).astype(np.float32)
P = rng.uniform(0.05, 0.95, (5, 4)).astype(np.float32)


def _bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _huber(e, delta=1.0):
    return np.where(np.abs(e) <= delta, 0.5 * e**2, delta * np.abs(e) - 0.5 * delta**2)


FORMULAS = {
    "mean_squared_error": lambda t, p: ((p - t) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(p - t).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: (
        100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1)
    ),
    "mean_squared_logarithmic_error": lambda t, p: (
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2
    ).mean(-1),
    "huber": lambda t, p: _huber(p - t).mean(-1),
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "kl_divergence": lambda t, p: (t * np.log(t / p)).sum(-1),
    "hinge": lambda t, p: np.maximum(1 - t * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1),
    "binary_crossentropy": lambda t, p: _bce(t, p).mean(-1),
    "categorical_crossentropy": lambda t, p: -(t * np.log(p / p.sum(-1, keepdims=True))).sum(-1),
    "cosine_similarity": lambda t, p: (
        -(
            t
            * p
            / np.linalg.norm(t, axis=-1, keepdims=True)
            / np.linalg.norm(p, axis=-1, keepdims=True)
        ).sum(-1)
    ),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_each_loss_function_gives_keras_formula_per_sample(name):
    values = getattr(losses, name)(T, P)
    assert isinstance(values, Tensor) and values.shape == (5,)
    np.testing.assert_allclose(values.data, FORMULAS[name](T, P), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_a_loss_function_differentiates(name):
    def build(p):
        return getattr(losses, name)(Tensor(T.astype(np.float64)), p)

    check_gradients(build, P.astype(np.float64), rtol=1e-4, atol=1e-6)


def test_the_cross_entropies_take_keras_arguments():
    labels = np.array([0, 3, 1, 1, 2])
    probs = P / P.sum(-1, keepdims=True)
    picked = -np.log(probs[np.arange(5), labels])
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, probs).data, picked, rtol=1e-5
    )
    np.testing.assert_allclose(  # a trailing axis of 1, as Keras drops it
        losses.sparse_categorical_crossentropy(labels[:, None], probs).data, picked, rtol=1e-5
    )
    logits = np.log(probs)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, logits, from_logits=True).data,
        picked,
        rtol=1e-5,
    )
    ignored = losses.sparse_categorical_crossentropy(labels, probs, ignore_class=1).data
    np.testing.assert_allclose(ignored, np.where(labels == 1, 0, picked), rtol=1e-5)
    one_hot = np.eye(4, dtype=np.float32)[labels]
    smoothed = one_hot * 0.8 + 0.2 / 4
    np.testing.assert_allclose(
        losses.categorical_crossentropy(one_hot, probs, label_smoothing=0.2).data,
        -(smoothed * np.log(probs)).sum(-1),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        losses.binary_crossentropy(T, P, label_smoothing=0.1).data,
        _bce(T * 0.9 + 0.05, P).mean(-1),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match=r"class ids must lie in \[0, 4\)"):
        losses.sparse_categorical_crossentropy(labels + 2, probs)


@pytest.mark.parametrize(
    "reduction", ["sum", "mean", "mean_with_sample_weight", "none", None, "sum_over_batch_size"]
)
@pytest.mark.parametrize(
    "loss_class", [losses.MeanSquaredError, losses.Huber, losses.BinaryCrossentropy]
)
def test_a_loss_class_reduces_as_keras_with_sample_weights(loss_class, reduction):
    weights = np.array([1.0, 0.0, 2.0, 0.5, 1.0], np.float32)
    per_sample = getattr(losses, loss_class.name)(T, P).data * weights
    expected = {
        "sum": per_sample.sum(),
        "mean": per_sample.sum() / 5,  # Keras 3.15's "mean" counts, as sum_over_batch_size
        "mean_with_sample_weight": per_sample.sum() / weights.sum(),
        "none": per_sample,
        None: per_sample,
        "sum_over_batch_size": per_sample.sum() / 5,
    }[reduction]
    loss = loss_class(reduction=reduction, name="mine")
    assert loss.name == "mine"
    np.testing.assert_allclose(
        loss(T, Tensor(P), sample_weight=weights).data, expected, rtol=1e-5, atol=1e-7
    )


def test_ignore_class_leaves_those_positions_out_of_the_mean():
    labels = np.array([[0, 3], [1, 3]])
    probs = rng.dirichlet(np.ones(4), size=(2, 2)).astype(np.float32)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=3)
    kept = -np.log([probs[0, 0, 0], probs[1, 0, 1]])
    np.testing.assert_allclose(loss(labels, Tensor(probs)).data, kept.mean(), rtol=1e-5)
    assert loss.get_config()["ignore_class"] == 3


def test_a_named_or_reduced_loss_is_saved_with_the_model(tmp_path):
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([Input((4,)), L.Dense(4)])
    model.compile("sgd", loss=losses.MeanSquaredError(reduction="sum", name="total_se"))
    x = rng.normal(size=(16, 4)).astype(np.float32)
    reported = model.evaluate(x, x, batch_size=16, verbose=0)
    np.testing.assert_allclose(
        reported, ((model.predict(x, verbose=0) - x) ** 2).mean(-1).sum(), rtol=1e-5
    )
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert (loaded.loss.name, loaded.loss.reduction) == ("total_se", "sum")
    np.testing.assert_allclose(loaded.evaluate(x, x, batch_size=16, verbose=0), reported, rtol=1e-6)


def test_compile_takes_a_keras_loss_function_as_its_class():
    model = minicnn.Sequential([Input((4,)), L.Dense(3, activation="softmax")])
    model.compile("adam", loss=losses.sparse_categorical_crossentropy, metrics=["accuracy"])
    assert isinstance(model.loss, losses.SparseCategoricalCrossentropy)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    model.fit(x, (x[:, 0] > 0).astype(int), epochs=1, verbose=0)


def test_a_loss_function_on_symbolic_tensors_is_one_layer_of_the_graph(tmp_path):
    minicnn.utils.set_random_seed(0)
    x = Input((6,))
    decoded = L.Dense(6, activation="sigmoid")(L.Dense(3, activation="relu")(x))
    autoencoder = Model(x, decoded)
    reconstruction = losses.binary_crossentropy(x, decoded)
    assert ops.shape(reconstruction) == (None,)
    assert reconstruction.layer.function == "losses.binary_crossentropy"
    autoencoder.add_loss(ops.mean(reconstruction))
    autoencoder.compile("adam")
    data = rng.uniform(0, 1, (64, 6)).astype(np.float32)
    history = autoencoder.fit(data, epochs=3, batch_size=16, verbose=0)
    predicted = autoencoder.predict(data, verbose=0)
    np.testing.assert_allclose(
        autoencoder.evaluate(data, batch_size=64, verbose=0),
        _bce(data, predicted).mean(),
        rtol=1e-5,
    )
    assert history.history["loss"][-1] < history.history["loss"][0]
    autoencoder.save(tmp_path / "ae.keras")
    loaded = load_model(tmp_path / "ae.keras")
    np.testing.assert_allclose(
        loaded.evaluate(data, verbose=0), autoencoder.evaluate(data, verbose=0), rtol=1e-6
    )


def test_the_accuracy_functions_give_one_value_per_sample():
    labels = np.array([0, 1, 2, 2])
    scores = np.array(
        [[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.1, 0.1, 0.8], [0.5, 0.3, 0.2]], np.float32
    )
    rows = np.eye(3, dtype=np.float32)[labels]
    metrics = minicnn.metrics
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(labels, scores).data, [1, 0, 1, 0]
    )
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(labels[:, None], scores).data, [1, 0, 1, 0]
    )
    np.testing.assert_array_equal(metrics.categorical_accuracy(rows, scores).data, [1, 0, 1, 0])
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(labels, scores, k=2).data, [1, 1, 1, 0]
    )
    np.testing.assert_array_equal(
        metrics.top_k_categorical_accuracy(rows, scores, k=2).data, [1, 1, 1, 0]
    )
    sorted_ids = np.argsort(-scores, axis=-1)
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(
            labels, sorted_ids, k=2, from_sorted_ids=True
        ).data,
        [1, 1, 1, 0],
    )
    binary = metrics.binary_accuracy(np.array([[1, 0], [1, 1]]), np.array([[0.7, 0.6], [0.2, 0.9]]))
    np.testing.assert_array_equal(binary.data, [[1, 0], [0, 1]])  # Keras 3: value by value
    # As compile's metrics, each function is the metric class of its name.
    assert isinstance(metrics.get(metrics.binary_accuracy), metrics.BinaryAccuracy)
    assert metrics.get(metrics.mean_squared_error).name == "mean_squared_error"


def test_an_accuracy_function_on_symbolic_tensors_feeds_add_metric():
    minicnn.utils.set_random_seed(0)
    x, labels = Input((4,)), Input((1,), dtype="int32")
    scores = L.Dense(3, activation="softmax")(x)
    model = Model([x, labels], scores)
    model.add_metric(ops.mean(minicnn.metrics.sparse_categorical_accuracy(labels, scores)), "hit")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = rng.normal(size=(40, 4)).astype(np.float32)
    y = (data[:, 0] > 0).astype(np.int64)
    logs = model.evaluate([data, y[:, None]], y, batch_size=40, verbose=0, return_dict=True)
    assert logs["hit"] == pytest.approx(logs["accuracy"])
