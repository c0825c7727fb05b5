"""Keras' other losses on values (Huber, log-cosh, squared log error, percentage error, Poisson,
KL divergence, hinge, squared hinge): the worked examples of Keras' docstrings, float64
gradient checks, sample weights, whole models, and saved configs."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model, losses, optimizers
from minicnn import layers as L
from minicnn.autograd import Tensor

ZERO_ONE = [[0.0, 1.0], [0.0, 0.0]]
SOFT = [[0.6, 0.4], [0.4, 0.6]]
# (loss, y_true, y_pred, the value in Keras' docstring)
KERAS_EXAMPLES = [
    ("huber", ZERO_ONE, SOFT, 0.155),
    ("log_cosh", ZERO_ONE, [[1.0, 1.0], [0.0, 0.0]], 0.108),
    ("msle", ZERO_ONE, [[1.0, 1.0], [1.0, 0.0]], 0.240),
    ("mape", [[2.0, 1.0], [2.0, 3.0]], [[1.0, 1.0], [1.0, 0.0]], 50.0),
    ("poisson", ZERO_ONE, [[1.0, 1.0], [0.0, 0.0]], 0.5),
    ("kld", ZERO_ONE, SOFT, 0.458),
    ("hinge", ZERO_ONE, SOFT, 1.3),
    ("squared_hinge", ZERO_ONE, SOFT, 1.86),
]


def loss_value(name, y_true, y_pred, device="cpu", sample_weight=None):
    out = Tensor(backend.to_device(np.array(y_pred, np.float32), device))
    target = backend.to_device(np.array(y_true, np.float32), device)
    weights = None if sample_weight is None else backend.to_device(np.array(sample_weight), device)
    return float(host(losses.get(name)(target, out, sample_weight=weights).data))


@pytest.mark.parametrize("name, y_true, y_pred, expected", KERAS_EXAMPLES)
def test_losses_reproduce_keras_docstring_examples(name, y_true, y_pred, expected, device):
    assert loss_value(name, y_true, y_pred, device) == pytest.approx(expected, abs=5e-4)


def test_sample_weights_weight_each_sample_as_in_keras():
    # Keras' MSLE docstring: sample_weight=[0.7, 0.3] gives 0.120.
    weighted = loss_value("msle", ZERO_ONE, [[1.0, 1.0], [1.0, 0.0]], sample_weight=[0.7, 0.3])
    assert weighted == pytest.approx(0.120, abs=5e-4)


def safe_inputs(name, rng):
    """Outputs and targets away from each formula's kinks and clips."""
    outputs = rng.uniform(0.05, 0.95, (3, 4))
    targets = rng.uniform(0.05, 0.95, (3, 4))
    if name in ("hinge", "squared_hinge"):
        targets = np.sign(rng.standard_normal((3, 4)))
        outputs = rng.uniform(-3, 3, (3, 4))
        outputs[np.abs(1 - targets * outputs) < 0.05] = 0.0
    if name == "huber":
        outputs = targets + rng.uniform(-3, 3, (3, 4))
        outputs[np.abs(np.abs(outputs - targets) - 1) < 0.05] = targets[0, 0]
    if name == "mape":
        outputs = targets + rng.uniform(0.1, 0.5, (3, 4)) * np.sign(rng.standard_normal((3, 4)))
    return outputs, targets


@pytest.mark.parametrize("name", [name for name, *_ in KERAS_EXAMPLES])
def test_loss_gradients(name, device):
    outputs, targets = safe_inputs(name, np.random.default_rng(3))
    target_dev = backend.to_device(targets, device)
    weights = backend.to_device(np.array([0.5, 2.0, 1.0]), device)
    loss = losses.get(name)
    check_gradients(lambda o: loss(target_dev, o), outputs, device=device)
    check_gradients(lambda o: loss(target_dev, o, sample_weight=weights), outputs, device=device)


def test_hinge_takes_zero_one_or_signed_labels():
    rng = np.random.default_rng(4)
    outputs = rng.standard_normal((5, 3)).astype(np.float32)
    zero_one = (rng.random((5, 3)) < 0.5).astype(np.float32)
    for name in ("hinge", "squared_hinge"):
        assert loss_value(name, zero_one, outputs) == loss_value(name, 2 * zero_one - 1, outputs)
    expected = np.mean(np.maximum(1 - (2 * zero_one - 1) * outputs, 0))
    assert loss_value("hinge", zero_one, outputs) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("loss", ["huber", "log_cosh", "msle", "poisson", "kld", "squared_hinge"])
def test_models_train_with_each_loss_and_save_it(loss, tmp_path):
    x, labels = toy_data(64)
    targets = np.eye(3, dtype=np.float32)[labels]  # one-hot rows fit every loss here
    last = "softmax" if loss == "kld" else ("linear" if "hinge" in loss else "sigmoid")
    model = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(3, activation=last)])
    model.compile(optimizers.Adam(0.02), losses.Huber(0.5) if loss == "huber" else loss)
    history = model.fit(x, targets, batch_size=16, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.evaluate(x, targets, verbose=0) == model.evaluate(x, targets, verbose=0)


def test_loss_names_and_arguments():
    assert losses.get("logcosh").name == "log_cosh"
    assert losses.get("kullback_leibler_divergence").name == "kl_divergence"
    assert losses.get({"name": "huber", "delta": 2.0}).delta == 2.0
    with pytest.raises(ValueError, match="delta must be a positive number"):
        losses.Huber(delta=0)
    with pytest.raises(ValueError, match="Unknown loss 'triplet_margin'"):
        losses.get("triplet_margin")


def test_metrics_of_the_same_names_report_the_losses_over_the_whole_set(device):
    x, labels = toy_data(40)
    targets = np.eye(3, dtype=np.float32)[labels] * 0.8 + 0.1
    model = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(3, "sigmoid")]).to(device)
    names = ["root_mean_squared_error", "mape", "msle", "logcosh", "poisson", "kld", "hinge"]
    model.compile("adam", "mse", metrics=[*names, "squared_hinge"])
    model.fit(x, targets, batch_size=16, epochs=1, verbose=0)
    values = model.evaluate(x, targets, batch_size=7, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    assert values["root_mean_squared_error"] == pytest.approx(
        np.sqrt(np.mean((p - targets) ** 2)), rel=1e-5
    )
    for name in ["mape", "msle", "poisson", "kld", "hinge", "squared_hinge"]:
        assert values[name] == pytest.approx(loss_value(name, targets, p), rel=1e-5), name
    assert values["logcosh"] == pytest.approx(loss_value("log_cosh", targets, p), rel=1e-5)
