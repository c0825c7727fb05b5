"""Precision, Recall and AUC: the worked examples of Keras' tests, scikit-learn as an oracle,
counts that add up over batches (a ratio of sums, never a mean of ratios), every device, a
captured step, and saved models."""

import math

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from test_functions import host
from test_value_losses import binary_data

from minicnn import Input, Sequential, backend, load_model, losses, metrics, optimizers
from minicnn import layers as L

BINARY = losses.BinaryCrossentropy()


def value(metric, outputs, targets, loss=BINARY, device="cpu"):
    """The metric over one batch, as fit would log it."""
    total = metric.total(
        backend.to_device(outputs, device), backend.to_device(targets, device), loss
    )
    return metric.value(total, len(outputs))


# Keras' AUC tests: y_pred [0, 0.5, 0.3, 0.9], y_true [0, 0, 1, 1], thresholds
# [-eps, 0.5, 1 + eps]: tp [2, 1, 0], fp [2, 0, 0], fn [0, 1, 2], tn [0, 2, 2].
PRED = np.array([[0.0], [0.5], [0.3], [0.9]], np.float32)
TRUE = np.array([[0.0], [0.0], [1.0], [1.0]], np.float32)
KERAS_AUC = [
    ({}, 0.75),
    ({"summation_method": "majoring"}, 1.0),
    ({"summation_method": "minoring"}, 0.5),
    ({"curve": "PR", "summation_method": "majoring"}, 1.0),
    ({"curve": "PR", "summation_method": "minoring"}, 0.25),
    # slopes [1/3, 1], intercepts [2/3, 0], predicted-positive ratios [4, 1]
    ({"curve": "PR"}, (1 / 3) * (1 + (2 / 3) * math.log(4)) / 2 + 1 / 2),
]


@pytest.mark.parametrize("kwargs, expected", KERAS_AUC)
def test_auc_reproduces_keras_worked_examples(kwargs, expected, device):
    auc = metrics.AUC(num_thresholds=3, **kwargs)
    assert value(auc, PRED, TRUE, device=device) == pytest.approx(expected, abs=1e-6)
    given = metrics.AUC(thresholds=[0.5], **kwargs)
    assert value(given, PRED, TRUE, device=device) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "kind, kwargs, keras",  # Keras 3.15's values on these scores
    [
        ("Precision", {"top_k": 1}, 0.166667),
        ("Precision", {"top_k": 2}, 0.333333),
        ("Precision", {"top_k": 3, "thresholds": 0.3}, 0.352941),
        ("Recall", {"top_k": 1}, 0.1),
        ("Recall", {"top_k": 2}, 0.4),
        ("Recall", {"top_k": 3, "thresholds": 0.3}, 0.6),
        ("Recall", {"top_k": 2, "class_id": 1}, 0.0),
    ],
)
def test_precision_and_recall_at_top_k_as_keras(kind, kwargs, keras, device):
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(6, 5)).astype(np.float32)
    targets = (rng.uniform(size=(6, 5)) > 0.6).astype(np.float32)
    metric = getattr(metrics, kind)(**kwargs)
    assert value(metric, scores, targets, device=device) == pytest.approx(keras, abs=1e-6)
    assert type(metric).from_config(metric.get_config()).top_k == kwargs["top_k"]


@pytest.mark.parametrize(
    "kwargs, keras",  # Keras 3.15's values on these scores and sample weights
    [
        ({"multi_label": True, "label_weights": [1.0, 3.0, 0.5]}, 0.624478),
        ({"multi_label": False, "label_weights": [1.0, 3.0, 0.5]}, 0.629964),
        ({"multi_label": True, "label_weights": [0, 1, 0], "curve": "PR"}, 0.782994),
        ({"multi_label": False}, 0.669157),
    ],
)
def test_auc_label_weights_as_keras(kwargs, keras):
    """Per-label AUCs averaged by the weights (multi_label), or each label's predictions
    weighted in the pooled confusion counts."""
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(20, 3)).astype(np.float32)
    targets = (rng.uniform(size=(20, 3)) > 0.5).astype(np.float32)
    targets[:, 1] = scores[:, 1] + 0.3 * rng.normal(size=20) > 0.5
    auc = metrics.AUC(**kwargs)
    auc.update_state(targets, scores, sample_weight=np.linspace(0.5, 1.5, 20).astype(np.float32))
    assert float(host(auc.result())) == pytest.approx(keras, abs=1e-6)
    assert metrics.AUC.from_config(auc.get_config()).get_config() == auc.get_config()
    with pytest.raises(ValueError, match="label_weights must be >= 0"):
        metrics.AUC(label_weights=[-1.0, 1.0])


def test_auc_of_scores_outside_0_1_counts_them_at_the_ends_as_keras():
    """Keras buckets a score below 0 with the first threshold and one above 1 with the last
    (its value on these logits, from Keras 3.15: 0.484375; minicnn gave 0.0625)."""
    from op_cases import PAIRS

    onehot, logits = PAIRS["onehot_logits"]
    auc = metrics.AUC()
    auc.update_state(onehot, logits)
    assert float(host(auc.result())) == pytest.approx(0.484375, abs=1e-6)
    clipped = metrics.AUC()
    clipped.update_state(onehot, np.clip(logits, 0, 1))
    assert float(host(clipped.result())) == pytest.approx(0.484375, abs=1e-6)


def test_auc_approaches_the_exact_area_with_more_thresholds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (500, 1)).astype(np.float32)
    scores = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).astype(np.float32)
    exact = roc_auc_score(y[:, 0], scores[:, 0])
    assert value(metrics.AUC(), scores, y) == pytest.approx(exact, abs=5e-3)
    assert value(metrics.AUC(num_thresholds=5000), scores, y) == pytest.approx(exact, abs=2e-4)
    logits = np.log(scores + 1e-6) - np.log1p(1e-6 - scores)
    from_logits = metrics.AUC(num_thresholds=5000, from_logits=True)
    assert value(from_logits, logits.astype(np.float32), y) == pytest.approx(exact, abs=2e-4)
    # Per column, averaged: two labels, the second the first reversed.
    two = np.concatenate([scores, 1 - scores], axis=1)
    labels = np.concatenate([y, 1 - y], axis=1)
    per_label = metrics.AUC(num_thresholds=5000, multi_label=True)
    assert value(per_label, two, labels) == pytest.approx(exact, abs=2e-4)


def test_precision_and_recall_match_scikit_learn(device):
    rng = np.random.default_rng(1)
    scores = rng.random((300, 3)).astype(np.float32)
    truth = (rng.random((300, 3)) < 0.4).astype(np.float32)
    for threshold in (0.5, 0.8):
        predicted = (scores > threshold).ravel()
        got = value(metrics.Precision(thresholds=threshold), scores, truth, device=device)
        assert got == pytest.approx(precision_score(truth.ravel(), predicted))
        got = value(metrics.Recall(thresholds=threshold), scores, truth, device=device)
        assert got == pytest.approx(recall_score(truth.ravel(), predicted))
    # class_id with class ids as targets (a softmax classifier): one column, one-vs-rest.
    labels = rng.integers(0, 3, 300)
    sparse = losses.SparseCategoricalCrossentropy()
    probs = scores / scores.sum(axis=1, keepdims=True)
    column = probs[:, 2] > 0.4
    got = value(metrics.Precision(0.4, class_id=2), probs, labels, sparse, device)
    assert got == pytest.approx(precision_score(labels == 2, column))
    got = value(metrics.Recall(0.4, class_id=2), probs, labels, sparse, device)
    assert got == pytest.approx(recall_score(labels == 2, column))
    # Nothing predicted positive: 0, as Keras' divide_no_nan gives.
    assert value(metrics.Precision(), scores * 0, truth, device=device) == 0.0


def binary_classifier(device="cpu"):
    return Sequential(
        [Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(1, "sigmoid")],
        device=device,
    )


def test_fit_and_evaluate_sum_the_counts_over_batches(device, tmp_path):
    x, y = binary_data(120)
    model = binary_classifier(device)
    model.compile(
        optimizers.Adam(0.01),
        "binary_crossentropy",
        metrics=["precision", "recall", "auc", metrics.AUC(curve="PR", name="pr_auc")],
    )
    history = model.fit(x, y, batch_size=16, epochs=4, validation_split=0.25, verbose=0)
    # By name, as Keras 3 hands logs to History.
    assert list(history.history)[:5] == ["auc", "loss", "pr_auc", "precision", "recall"]
    assert "val_auc" in history.history and history.history["auc"][-1] > 0.9
    # Batches of 7 (ragged): the counts add up to the whole set's, which sklearn scores.
    _, precision, recall, auc, _ = model.evaluate(x, y, batch_size=7, verbose=0)
    p = model.predict(x, verbose=0)[:, 0]
    assert precision == pytest.approx(precision_score(y, p > 0.5))
    assert recall == pytest.approx(recall_score(y, p > 0.5))
    assert auc == pytest.approx(value(metrics.AUC(), p[:, None], y[:, None]), abs=1e-9)
    assert auc == pytest.approx(roc_auc_score(y, p), abs=0.02)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    compiled = [m.get_config() for m in model.metrics[1].metrics]  # Keras' compile_metrics
    assert [m.get_config() for m in loaded.metrics[1].metrics] == compiled
    assert loaded.evaluate(x, y, batch_size=7, verbose=0) == model.evaluate(
        x, y, batch_size=7, verbose=0
    )
    one = model.train_on_batch(x[:16], y[:16], return_dict=True)
    assert set(one) == {"precision", "recall", "auc", "pr_auc", "loss"}


def test_a_captured_step_counts_like_an_uncaptured_one(gpu):
    """The thresholds reach the device before the capture; the counts replay."""

    def build(device):
        return Sequential(
            [Input((8, 8, 1)), L.Flatten(), L.Dense(6, "relu"), L.Dense(3, "softmax")],
            device=device,
        )

    results = []
    for jit_compile in (False, True):
        backend.set_random_seed(0)
        model = build("gpu")
        model.compile(
            "adam",
            metrics=[metrics.Precision(0.4, class_id=1), metrics.AUC(multi_label=True)],
            jit_compile=jit_compile,
        )
        x, y = binary_data(44)[0], np.arange(44) % 3
        results.append(model.fit(x, y, batch_size=8, epochs=2, verbose=0).history)
        if jit_compile:
            assert model._captured_step.failure is None and model._captured_step.replays > 0
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-4)


def test_metric_names_configs_and_bad_arguments():
    assert [metrics.get(n).name for n in ("precision", "recall", "auc")] == [
        "precision",
        "recall",
        "auc",
    ]
    pr = metrics.AUC(curve="PR", num_thresholds=50, name="pr")
    again = metrics.get(metrics.serialize(pr))
    assert again.get_config() == pr.get_config() and again.num_thresholds == 50
    assert metrics.serialize(metrics.Precision()) == {  # Keras' entry
        "module": "keras.metrics",
        "class_name": "Precision",
        "config": {
            "name": "precision",
            "dtype": "float32",
            "thresholds": None,
            "top_k": None,
            "class_id": None,
        },
        "registered_name": None,
    }
    assert host(metrics.AUC(num_thresholds=3).thresholds).tolist() == [-1e-7, 0.5, 1 + 1e-7]
    with pytest.raises(ValueError, match="curve must be 'ROC' or 'PR'"):
        metrics.AUC(curve="DET")
    with pytest.raises(ValueError, match="num_thresholds must be > 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="lists of thresholds"):
        metrics.Precision(thresholds=[0.3, 0.6])
    with pytest.raises(ValueError, match="top_k must be an int >= 1"):
        metrics.Recall(top_k=0)
    with pytest.raises(ValueError, match=r"class_id 5 is outside outputs of shape \(4, 1\)"):
        value(metrics.Precision(class_id=5), PRED, TRUE)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
def test_f_scores_match_scikit_learn(average, device):
    from sklearn.metrics import f1_score, fbeta_score

    rng = np.random.default_rng(4)
    labels = rng.integers(0, 4, 300)
    probs = rng.dirichlet(np.ones(4), 300).astype(np.float32)
    probs[np.arange(300), labels] += 0.3 * rng.random(300).astype(np.float32)  # some skill
    sparse = losses.SparseCategoricalCrossentropy()
    top = probs.argmax(axis=1)
    got = value(metrics.F1Score(average), probs, labels, sparse, device)
    assert got == pytest.approx(f1_score(labels, top, average=average), abs=1e-6)
    got = value(metrics.FBetaScore(average, beta=2.0), probs, labels, sparse, device)
    assert got == pytest.approx(fbeta_score(labels, top, beta=2.0, average=average), abs=1e-6)
    # Multi-label: every output above the threshold.
    truth = (rng.random((300, 4)) < 0.3).astype(np.float32)
    scores = np.clip(truth * 0.4 + rng.random((300, 4)) * 0.7, 0, 1).astype(np.float32)
    got = value(metrics.F1Score(average, threshold=0.5), scores, truth, device=device)
    expected = f1_score(truth, scores > 0.5, average=average)
    assert got == pytest.approx(expected, abs=1e-6)


def test_f_score_arguments():
    with pytest.raises(ValueError, match="average must be None, 'micro', 'macro' or 'weighted'"):
        metrics.F1Score("mean")
    model = Sequential([Input((3,)), L.Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match="average=None gives one score per class"):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=[metrics.F1Score()])
    with pytest.raises(ValueError, match="beta must be a positive number"):
        metrics.FBetaScore("macro", beta=0)
    f1 = metrics.F1Score("macro", name="f1")
    assert metrics.get(metrics.serialize(f1)).get_config() == f1.get_config()
