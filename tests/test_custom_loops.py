"""Training loops written by hand, the Keras way: metrics used on their own (update_state,
result, reset_state; the worked examples of Keras' docstrings), optimizer.apply and
apply_gradients, minicnn.grad, and a loop that reproduces fit step for step."""

import numpy as np
import pytest
from test_functions import host

import minicnn
from minicnn import Input, Sequential, backend, losses, metrics, optimizers
from minicnn import layers as L
from minicnn.autograd import Tensor

# (metric, y_true, y_pred, value, sample_weight, weighted value): Keras' docstring examples.
KERAS_EXAMPLES = [
    (
        lambda: metrics.SparseCategoricalAccuracy(),
        [[2], [1]],
        [[0.1, 0.6, 0.3], [0.05, 0.95, 0]],
        0.5,
        [0.7, 0.3],
        0.3,
    ),
    (
        lambda: metrics.CategoricalAccuracy(),
        [[0, 0, 1], [0, 1, 0]],
        [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
        0.5,
        [0.7, 0.3],
        0.3,
    ),
    (
        lambda: metrics.TopKCategoricalAccuracy(k=1),
        [[0, 0, 1], [0, 1, 0]],
        [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
        0.5,
        [0.7, 0.3],
        0.3,
    ),
    (
        lambda: metrics.SparseTopKCategoricalAccuracy(k=1),
        [2, 1],
        [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
        0.5,
        [0.7, 0.3],
        0.3,
    ),
    (
        lambda: metrics.BinaryAccuracy(),
        [[1], [1], [0], [0]],
        [[0.98], [1], [0], [0.6]],
        0.75,
        [1, 0, 0, 1],
        0.5,
    ),
    (
        lambda: metrics.Accuracy(),
        [[1], [2], [3], [4]],
        [[0], [2], [3], [4]],
        0.75,
        [1, 1, 0, 0],
        0.5,
    ),
    (
        lambda: metrics.MeanSquaredError(),
        [[0, 1], [0, 0]],
        [[1, 1], [0, 0]],
        0.25,
        [1, 0],
        0.5,
    ),
    (
        lambda: metrics.MeanAbsoluteError(),
        [[0, 1], [0, 0]],
        [[1, 1], [0, 0]],
        0.25,
        [1, 0],
        0.5,
    ),
    (
        lambda: metrics.RootMeanSquaredError(),
        [[0, 1], [0, 0]],
        [[1, 1], [0, 0]],
        0.5,
        [1, 0],
        0.70710677,
    ),
    (lambda: metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3, [0, 0, 1, 0], 1.0),
    (lambda: metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3, [0, 0, 1, 0], 1.0),
    (
        lambda: metrics.AUC(num_thresholds=3),
        [0, 0, 1, 1],
        [0, 0.5, 0.3, 0.9],
        0.75,
        [1, 0, 0, 1],
        1.0,
    ),
]


@pytest.mark.parametrize("case", range(len(KERAS_EXAMPLES)))
def test_standalone_metrics_match_keras_examples(case, device):
    make, y_true, y_pred, expected, weights, weighted = KERAS_EXAMPLES[case]
    to_device = backend.to_device
    metric = make()
    metric.update_state(y_true, to_device(np.asarray(y_pred, np.float32), device))
    assert isinstance(metric.result(), np.float32)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
    metric.reset_state()
    got = metric(y_true, to_device(np.asarray(y_pred, np.float32), device), sample_weight=weights)
    assert float(got) == pytest.approx(weighted, rel=1e-6)


def test_f1_score_per_class_as_in_keras():
    metric = metrics.F1Score(threshold=0.5)
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.float32)
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    metric.update_state(y_true, y_pred)
    np.testing.assert_allclose(metric.result(), [0.5, 0.8, 0.6666667], rtol=1e-5)


def test_metric_state_adds_up_over_batches_and_resets(device):
    rng = np.random.default_rng(1)
    probs = rng.random((100, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 100)
    weights = rng.random(100).astype(np.float32)
    accuracy, mse = metrics.SparseCategoricalAccuracy(), metrics.MeanSquaredError()
    assert float(accuracy.result()) == 0.0  # nothing seen yet, as in Keras
    for start in range(0, 100, 32):
        rows = slice(start, start + 32)
        accuracy.update_state(labels[rows], backend.to_device(probs[rows], device), weights[rows])
        mse.update_state(probs[rows][:, :2], backend.to_device(probs[rows][:, 2:4], device))
    correct = probs.argmax(axis=1) == labels
    assert float(accuracy.result()) == pytest.approx(np.sum(weights * correct) / weights.sum())
    assert float(mse.result()) == pytest.approx(np.mean((probs[:, :2] - probs[:, 2:4]) ** 2))
    accuracy.reset_state()
    assert float(accuracy.result()) == 0.0
    accuracy.update_state(labels[:10], probs[:10])
    assert float(accuracy.result()) == pytest.approx(correct[:10].mean())


def test_weighted_counts_match_scikit_learn(device):
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    rng = np.random.default_rng(2)
    truth = (rng.random(400) < 0.4).astype(np.float32)
    scores = np.clip(truth * 0.3 + rng.random(400) * 0.7, 0, 1).astype(np.float32)
    weights = rng.random(400).astype(np.float32)
    predicted = scores > 0.5
    on_device = backend.to_device(scores, device)
    expected = {
        metrics.Precision(): precision_score(truth, predicted, sample_weight=weights),
        metrics.Recall(): recall_score(truth, predicted, sample_weight=weights),
        metrics.AUC(num_thresholds=2000): roc_auc_score(truth, scores, sample_weight=weights),
    }
    for metric, value in expected.items():
        assert float(metric(truth, on_device, sample_weight=weights)) == pytest.approx(
            value, abs=2e-3 if isinstance(metric, metrics.AUC) else 1e-6
        )
    labels = rng.integers(0, 3, 400)
    probs = rng.random((400, 3)).astype(np.float32)
    f1 = metrics.F1Score("macro")
    f1.update_state(np.eye(3)[labels], backend.to_device(probs, device), sample_weight=weights)
    got = float(f1.result())
    assert got == pytest.approx(
        f1_score(labels, probs.argmax(axis=1), average="macro", sample_weight=weights), abs=1e-5
    )


def test_mean_and_sum_follow_keras(device):
    mean = metrics.Mean()
    mean.update_state(backend.to_device(np.array([1, 3, 5, 7], np.float32), device))
    assert float(mean.result()) == 4.0
    mean.reset_state()
    assert float(mean([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])) == 2.0
    total = metrics.Sum()
    total.update_state([1, 3, 5, 7])
    assert float(total.result()) == 16.0
    # Scalars count once each (a loop's batch losses); rows count as one sample each.
    losses_seen = metrics.Mean(name="loss")
    for value in (0.5, Tensor(np.float32(1.5)), np.float32(4.0)):
        losses_seen.update_state(value)
    assert float(losses_seen.result()) == 2.0
    rows = metrics.Mean()
    values = backend.to_device(np.array([[1, 2], [3, 6]], np.float32), device)
    rows.update_state(values, sample_weight=[1, 3])
    assert float(rows.result()) == pytest.approx((1.5 * 1 + 4.5 * 3) / 4)
    with pytest.raises(ValueError, match="sample_weight of shape \\(3,\\) does not fit"):
        metrics.Mean().update_state([1, 2], sample_weight=[1, 2, 3])
    model = Sequential([Input((3,)), L.Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="adds up values given to update_state"):
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=[metrics.Mean()])


def test_standalone_metrics_name_bad_input():
    accuracy = metrics.SparseCategoricalAccuracy()
    with pytest.raises(ValueError, match="y_true holds 3 samples but y_pred holds 2"):
        accuracy.update_state([0, 1, 2], [[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(ValueError, match="Labels must be in 0..1"):
        accuracy.update_state([0, 2], [[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(ValueError, match="looks one-hot"):
        accuracy.update_state([[0, 1], [1, 0]], [[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(ValueError, match="sample_weight must have one weight per sample"):
        accuracy.update_state([0, 1], [[0.1, 0.9], [0.8, 0.2]], sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="y_pred must hold a batch"):
        metrics.MeanSquaredError().update_state(1.0, 2.0)


def test_grad_gives_gradients_and_leaves_grad_alone():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    other = Tensor(rng.standard_normal(2), requires_grad=True)
    x = rng.standard_normal((4, 3))
    hidden = Tensor(x) @ w + b
    loss = ((hidden + other) ** 2).mean()
    previous = np.ones((3, 2))
    w.grad = previous
    dw, db, dhidden = minicnn.grad(loss, [w, b, hidden])
    # d mean((xw + b + o)^2) = 2 (xw + b + o) / n
    upstream = 2 * (x @ w.data + b.data + other.data) / 8
    np.testing.assert_allclose(dw, x.T @ upstream)
    np.testing.assert_allclose(db, upstream.sum(axis=0))
    np.testing.assert_allclose(dhidden, upstream)
    assert w.grad is previous and b.grad is None and other.grad is None and loss.grad is None
    unused = Tensor(np.zeros(2), requires_grad=True)
    assert minicnn.grad((Tensor(x) @ w).sum(), [unused, w])[0] is None
    with pytest.raises(ValueError, match="differentiates a scalar Tensor"):
        minicnn.grad(Tensor(x) @ w, [w])


def _grads_and_weights(shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    weights = [Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)]
    weights.append(Tensor(rng.standard_normal(2).astype(np.float32), requires_grad=True))
    grads = [rng.standard_normal(w.shape).astype(np.float32) for w in weights]
    return weights, grads


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.1), lambda: optimizers.SGD(0.1, 0.9)])
def test_apply_and_apply_gradients_match_fits_update(make, device):
    reference, grads = _grads_and_weights()
    by_apply, _ = _grads_and_weights()
    by_pairs, _ = _grads_and_weights()
    for group in (reference, by_apply, by_pairs):
        for w in group:
            w.data = backend.to_device(w.data, device)
    opts = [make(), make(), make()]
    for _ in range(3):
        for w, g in zip(reference, grads, strict=True):
            w.grad = backend.to_device(g, device)
        opts[0].update_weights(reference)
        opts[1].apply([backend.to_device(g, device) for g in grads], by_apply)
        opts[2].apply_gradients(zip([Tensor(g) for g in grads], by_pairs, strict=True))
    for a, b, c in zip(reference, by_apply, by_pairs, strict=True):
        np.testing.assert_allclose(host(b.data), host(a.data), rtol=1e-6)
        np.testing.assert_allclose(host(c.data), host(a.data), rtol=1e-6)
    assert opts[1].iterations == 3


def test_apply_updates_a_subset_and_skips_none():
    weights, grads = _grads_and_weights()
    before = [w.data.copy() for w in weights]
    adam = optimizers.Adam(0.1)
    adam.build(weights)
    adam.apply([grads[1]], [weights[1]])  # a subset of the built weights
    np.testing.assert_array_equal(weights[0].data, before[0])
    assert not np.allclose(weights[1].data, before[1])
    adam.apply([None, grads[1]])  # all built weights, in their order; None: left alone
    np.testing.assert_array_equal(weights[0].data, before[0])
    assert adam.iterations == 2


def test_apply_names_bad_input():
    weights, grads = _grads_and_weights()
    with pytest.raises(ValueError, match="needs a built optimizer"):
        optimizers.SGD().apply(grads)
    sgd = optimizers.SGD()
    with pytest.raises(ValueError, match="apply got 1 gradients for 2 weights"):
        sgd.apply(grads[:1], weights)
    with pytest.raises(ValueError, match=r"gradient of shape \(2,\) for weight .* of shape \(3,\)"):
        sgd.apply(grads[::-1], weights)
    stranger = Tensor(np.zeros(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="does not know"):
        sgd.apply([grads[0]], [stranger])
    with pytest.raises(ValueError, match="No gradients provided"):
        sgd.apply([None, None], weights)
    with pytest.raises(ValueError, match="no \\(gradient, weight\\) pairs"):
        sgd.apply_gradients([])


def _model_and_data():
    minicnn.set_random_seed(3)
    model = Sequential(
        [Input((6, 6, 1)), L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(3)]
    )
    rng = np.random.default_rng(5)
    x = rng.standard_normal((48, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    return model, x, y


def test_a_hand_written_loop_reproduces_fit(device):
    """The loop of Keras' guide "Writing a training loop from scratch", in minicnn: the same
    weights and the same accuracy as fit, step for step."""
    fitted, x, y = _model_and_data()
    fitted.to(device)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    fitted.compile(optimizers.Adam(0.01), loss_fn, metrics=["accuracy"])
    history = fitted.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    model, _, _ = _model_and_data()
    model.to(device)
    optimizer = optimizers.Adam(0.01)
    train_acc = metrics.SparseCategoricalAccuracy()
    loss_tracker = metrics.Mean()
    for epoch in range(2):
        for start in range(0, len(x), 16):
            x_batch = backend.to_device(x[start : start + 16], device)
            y_batch = y[start : start + 16]
            logits = model(x_batch, training=True)
            loss_value = loss_fn(backend.to_device(y_batch, device), logits)
            grads = minicnn.grad(loss_value, model.trainable_weights)
            optimizer.apply(grads, model.trainable_weights)
            train_acc.update_state(y_batch, logits)
            loss_tracker.update_state(loss_value)
        assert float(train_acc.result()) == pytest.approx(history.history["accuracy"][epoch])
        assert float(loss_tracker.result()) == pytest.approx(
            history.history["loss"][epoch], rel=1e-5
        )
        train_acc.reset_state()
        loss_tracker.reset_state()
    for a, b in zip(model.get_weights(), fitted.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
