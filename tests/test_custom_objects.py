"""Custom losses and metrics, as Keras users write them: functions of (y_true, y_pred) with
minicnn.ops, Loss subclasses with call(), Keras' reductions and sample weights; in compile,
fit and evaluate; saved and loaded with custom_objects or registered names."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

import minicnn
from minicnn import Input, Sequential, backend, losses, metrics, ops, saving
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.saving import ModelFileError


def my_mse(y_true, y_pred):
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def my_crossentropy(y_true, y_pred):
    """Sparse categorical cross-entropy on probabilities, written out."""
    picked = ops.sum(ops.one_hot(y_true, y_pred.shape[-1]) * y_pred, axis=-1)
    return -ops.log(ops.clip(picked, 1e-7, 1.0))


def largest_error(y_true, y_pred):
    return ops.max(ops.abs(y_pred - y_true), axis=-1)


class ScaledMSE(losses.Loss):
    def __init__(self, factor=1.0, name="scaled_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.factor = factor

    def call(self, y_true, y_pred):
        return my_mse(y_true, y_pred) * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


Y_TRUE = np.array([[0.0, 1.0], [0.0, 0.0]], np.float32)
Y_PRED = np.array([[1.0, 1.0], [1.0, 0.0]], np.float32)


@pytest.mark.parametrize(
    "make", [lambda **kw: losses.LossFunctionWrapper(my_mse, **kw), lambda **kw: ScaledMSE(**kw)]
)
def test_reductions_follow_keras_mean_squared_error_example(make, device):
    y_pred = Tensor(backend.to_device(Y_PRED, device))
    assert float(host(make()(Y_TRUE, y_pred))) == pytest.approx(0.5)
    weighted = make()(Y_TRUE, y_pred, sample_weight=[0.7, 0.3])
    assert float(host(weighted)) == pytest.approx(0.25)
    assert float(host(make(reduction="sum")(Y_TRUE, y_pred))) == pytest.approx(1.0)
    mean = make(reduction="mean_with_sample_weight")(Y_TRUE, y_pred, sample_weight=[0.7, 0.3])
    assert float(host(mean)) == pytest.approx(0.5)  # sum(w l) / sum(w)
    counted = make(reduction="mean")(Y_TRUE, y_pred, sample_weight=[0.7, 0.3])
    assert float(host(counted)) == pytest.approx(0.25)  # Keras 3.15: as sum_over_batch_size
    np.testing.assert_allclose(host(make(reduction="none")(Y_TRUE, y_pred)), [0.5, 0.5])


def test_custom_loss_gradients_check_in_float64(device):
    rng = np.random.default_rng(0)
    y_true = backend.to_device(rng.integers(0, 4, 6), device)
    weights = rng.random(6)
    loss = losses.LossFunctionWrapper(my_crossentropy)

    def build(logits):
        return loss(y_true, ops.softmax(logits), sample_weight=weights)

    check_gradients(build, rng.standard_normal((6, 4)), device=device)
    expected = losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = rng.standard_normal((6, 4))
    ours = build(Tensor(backend.to_device(logits, device)))
    theirs = expected(y_true, Tensor(backend.to_device(logits, device)), sample_weight=weights)
    assert float(host(ours)) == pytest.approx(float(host(theirs)), rel=1e-10)


def _regression_model():
    minicnn.set_random_seed(1)
    return Sequential([Input((5,)), L.Dense(8, activation="tanh"), L.Dense(3)])


def _regression_data():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, :3] * 0.5 + 0.1).astype(np.float32)
    return x, y, rng.random(64).astype(np.float32)


@pytest.mark.parametrize("loss", [my_mse, ScaledMSE()], ids=["function", "subclass"])
def test_fit_with_a_custom_loss_matches_the_builtin(loss, device):
    x, y, w = _regression_data()
    results = []
    for spec in (loss, "mse"):
        model = _regression_model()
        model.to(device)
        model.compile("adam", spec, metrics=["mae"])
        history = model.fit(x, y, sample_weight=w, batch_size=16, epochs=2, verbose=0)
        results.append((history.history, model.get_weights()))
    (ours, ours_weights), (builtin, builtin_weights) = results
    np.testing.assert_allclose(ours["loss"], builtin["loss"], rtol=1e-5)
    np.testing.assert_allclose(ours["mae"], builtin["mae"], rtol=1e-5)
    for a, b in zip(ours_weights, builtin_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_custom_metrics_in_compile_and_standalone(device):
    x, y, _ = _regression_data()
    model = _regression_model()
    model.to(device)

    def batch_mean_error(y_true, y_pred):
        return ops.mean(ops.abs(y_pred - y_true))  # one value for the batch

    model.compile("sgd", "mse", metrics=[largest_error, batch_mean_error])
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    assert logs["largest_error"] == pytest.approx(np.abs(predicted - y).max(axis=1).mean())
    assert logs["batch_mean_error"] == pytest.approx(np.abs(predicted - y).mean(), rel=1e-5)
    metric = metrics.MeanMetricWrapper(largest_error, name="worst")
    metric.update_state(y[:10], backend.to_device(predicted[:10], device))
    metric.update_state(y[10:], backend.to_device(predicted[10:], device))
    assert float(metric.result()) == pytest.approx(logs["largest_error"], rel=1e-6)
    assert metrics.get(largest_error).name == "largest_error"


def test_accuracy_for_a_custom_loss_goes_by_the_shapes(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 60)
    minicnn.set_random_seed(0)
    model = Sequential([Input((4,)), L.Dense(3, activation="softmax")])
    model.to(device)
    model.compile("adam", my_crossentropy, metrics=["accuracy"])
    model.fit(x, labels, epochs=2, batch_size=20, verbose=0)
    logs = model.evaluate(x, labels, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    assert logs["accuracy"] == pytest.approx((probs.argmax(axis=1) == labels).mean())
    expected_loss = -np.log(np.clip(probs[np.arange(60), labels], 1e-7, 1)).mean()
    assert logs["loss"] == pytest.approx(expected_loss, rel=1e-5)
    one_hot = np.eye(3)[labels]
    rows = metrics.ShapeAccuracy()
    rows.update_state(one_hot, probs)
    assert float(rows.result()) == pytest.approx(logs["accuracy"])
    binary = metrics.ShapeAccuracy()
    binary.update_state([[1], [0], [1]], [[0.7], [0.2], [0.4]])
    assert float(binary.result()) == pytest.approx(2 / 3)


def test_saved_custom_objects_need_custom_objects_or_registration(tmp_path):
    x, y, _ = _regression_data()
    model = _regression_model()
    model.compile("adam", ScaledMSE(factor=2.0), metrics=[largest_error, BinaryTruePositives()])
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "custom.minicnn"
    model.save(path)
    expected = model.evaluate(x, y, verbose=0)
    with pytest.raises(ModelFileError, match="custom_objects=\\{'ScaledMSE': ...\\}"):
        minicnn.load_model(path)
    weights_only = minicnn.load_model(path, compile=False)
    np.testing.assert_allclose(weights_only.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded = minicnn.load_model(
        path,
        custom_objects={
            "ScaledMSE": ScaledMSE,
            "largest_error": largest_error,
            "BinaryTruePositives": BinaryTruePositives,
        },
    )
    assert isinstance(loaded.metrics[1].metrics[1], BinaryTruePositives)  # compile_metrics'"
    assert loaded.loss.factor == 2.0
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), expected, rtol=1e-6)


def test_registered_functions_load_without_custom_objects(tmp_path):
    @saving.register_keras_serializable(package="tests")
    def mean_fourth_power(y_true, y_pred):
        return ops.mean(ops.power(y_pred - y_true, 4), axis=-1)

    x, y, _ = _regression_data()
    model = _regression_model()
    model.compile("sgd", mean_fourth_power, metrics=[mean_fourth_power])
    path = tmp_path / "registered.minicnn"
    model.save(path)
    loaded = minicnn.load_model(path)
    assert loaded.loss.fn is mean_fourth_power
    assert loaded.metrics[1].metrics[0].fn is mean_fourth_power
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
    with saving.custom_object_scope({"anything": my_mse}):
        assert saving.get_registered_object("anything") is my_mse
    assert saving.get_registered_object("anything") is None
    assert saving.get_registered_object("tests>mean_fourth_power") is mean_fourth_power


def test_custom_losses_name_bad_input():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.LossFunctionWrapper(my_mse, reduction="average")
    with pytest.raises(TypeError, match="returned ndarray, not a Tensor"):
        losses.LossFunctionWrapper(lambda t, p: np.zeros(2))(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError, match="sample_weight has 3 weights for losses of shape"):
        losses.LossFunctionWrapper(my_mse)(Y_TRUE, Y_PRED, sample_weight=[1, 2, 3])
    with pytest.raises(NotImplementedError, match="write call\\(y_true, y_pred\\)"):
        losses.Loss()(Y_TRUE, Y_PRED)
    model = _regression_model()
    model.compile("sgd", my_mse, metrics=[lambda t, p: ops.sum(p, axis=None) * 0 + p[:1]])
    x, y, _ = _regression_data()
    with pytest.raises(ValueError, match="return one value per sample"):
        model.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match="x has 64 samples but y has 3"):
        model.fit(x, y[:3], verbose=0)


class BinaryTruePositives(metrics.Metric):
    """The example of Keras' guide to custom metrics, written with minicnn.ops."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.cast(ops.equal(ops.greater(y_pred, 0.5), ops.greater(y_true, 0.5)), "float32")
        hits = hits * ops.cast(ops.greater(y_true, 0.5), "float32")
        if sample_weight is not None:
            hits = hits * ops.reshape(ops.convert_to_tensor(sample_weight), (-1, 1))
        self.true_positives.assign_add(ops.sum(hits))

    def result(self):
        return self.true_positives

    def reset_state(self):  # as Keras' guide writes it (the base's would do the same)
        self.true_positives.assign(0)


def _binary_problem():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((80, 3)).astype(np.float32)
    y = (x[:, :1] + 0.3 * rng.standard_normal((80, 1)) > 0).astype(np.float32)
    minicnn.set_random_seed(2)
    model = Sequential([Input((3,)), L.Dense(1, activation="sigmoid")])
    return model, x, y


def _true_positives(model, x, y):
    return float(((model.predict(x, verbose=0) > 0.5) & (y > 0.5)).sum())


def test_a_keras_style_metric_subclass_works_standalone_and_in_fit(device):
    metric = BinaryTruePositives()
    metric.update_state([[1], [1], [0]], [[0.9], [0.2], [0.8]])
    metric.update_state([[1]], [[0.7]], sample_weight=[3.0])
    assert float(metric.result()) == 4.0
    metric.reset_state()
    assert float(metric.result()) == 0.0

    model, x, y = _binary_problem()
    model.to(device)
    tracked = BinaryTruePositives()
    model.compile("adam", "binary_crossentropy", metrics=[tracked, "accuracy"])
    history = model.fit(
        x[:60], y[:60], epochs=2, batch_size=20, validation_data=(x[60:], y[60:]), verbose=0
    )
    # The validation run at the end of each epoch starts from a fresh state.
    assert history.history["val_binary_true_positives"][-1] == _true_positives(
        model, x[60:], y[60:]
    )
    assert 0 < history.history["binary_true_positives"][-1] <= float(y[:60].sum())
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert logs["binary_true_positives"] == _true_positives(model, x, y)
    again = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert again == logs  # each run starts from a fresh state
    assert tracked.keeps_own_state and not metrics.Precision().keeps_own_state
    batch = model.test_on_batch(x[:16], y[:16], return_dict=True)
    assert batch["binary_true_positives"] == _true_positives(model, x[:16], y[:16])
