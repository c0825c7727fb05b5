"""TruePositives/FalsePositives/TrueNegatives/FalseNegatives and the metrics at an
operating point (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
SpecificityAtSensitivity): Keras' docstring examples, a NumPy oracle over the thresholds,
every device, compile and saving."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, backend, load_model, metrics
from minicnn import layers as L

# (metric, y_true, y_pred, value, sample_weight, weighted value): Keras' docstrings.
KERAS_EXAMPLES = [
    (
        lambda: metrics.SensitivityAtSpecificity(0.5),
        [0, 0, 0, 1, 1],
        [0, 0.3, 0.8, 0.3, 0.8],
        0.5,
        [1, 1, 2, 2, 1],
        1 / 3,
    ),
    (
        lambda: metrics.SpecificityAtSensitivity(0.5),
        [0, 0, 0, 1, 1],
        [0, 0.3, 0.8, 0.3, 0.8],
        2 / 3,
        [1, 1, 2, 2, 2],
        0.5,
    ),
    (
        lambda: metrics.PrecisionAtRecall(0.5),
        [0, 0, 0, 1, 1],
        [0, 0.3, 0.8, 0.3, 0.8],
        0.5,
        [2, 2, 2, 1, 1],
        1 / 3,
    ),
    (
        lambda: metrics.RecallAtPrecision(0.8),
        [0, 0, 1, 1],
        [0, 0.5, 0.3, 0.9],
        0.5,
        [1, 0, 0, 1],
        1.0,
    ),
    (lambda: metrics.TruePositives(), [0, 1, 1, 1], [1, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: metrics.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: metrics.TrueNegatives(), [0, 1, 0, 0], [1, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (lambda: metrics.FalseNegatives(), [0, 1, 1, 1], [0, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
]


@pytest.mark.parametrize("case", range(len(KERAS_EXAMPLES)))
def test_keras_examples(case, device):
    make, y_true, y_pred, expected, weights, weighted = KERAS_EXAMPLES[case]
    scores = backend.to_device(np.array(y_pred, np.float32), device)
    assert float(make()(y_true, scores)) == pytest.approx(expected, rel=1e-6)
    assert float(make()(y_true, scores, sample_weight=weights)) == pytest.approx(weighted, rel=1e-6)


def _oracle(truth, scores, weights, thresholds, target, kind):
    """Loops over the thresholds: the best dependent rate where the constraint is met."""
    best = 0.0
    for t in thresholds:
        predicted = scores > t
        tp = np.sum(weights * (predicted & truth))
        fp = np.sum(weights * (predicted & ~truth))
        fn = np.sum(weights * (~predicted & truth))
        tn = np.sum(weights * (~predicted & ~truth))
        recall = tp / (tp + fn) if tp + fn else 0.0
        precision = tp / (tp + fp) if tp + fp else 0.0
        specificity = tn / (tn + fp) if tn + fp else 0.0
        constraint, dependent = {
            "precision_at_recall": (recall, precision),
            "recall_at_precision": (precision, recall),
            "sensitivity_at_specificity": (specificity, recall),
            "specificity_at_sensitivity": (recall, specificity),
        }[kind]
        if constraint >= target:
            best = max(best, dependent)
    return best


@pytest.mark.parametrize(
    "make,kind",
    [
        (metrics.PrecisionAtRecall, "precision_at_recall"),
        (metrics.RecallAtPrecision, "recall_at_precision"),
        (metrics.SensitivityAtSpecificity, "sensitivity_at_specificity"),
        (metrics.SpecificityAtSensitivity, "specificity_at_sensitivity"),
    ],
)
def test_operating_points_match_a_loop_over_thresholds(make, kind, device):
    rng = np.random.default_rng(0)
    truth = rng.random(300) < 0.4
    scores = np.clip(truth * 0.25 + rng.random(300) * 0.75, 0, 1).astype(np.float32)
    weights = rng.random(300).astype(np.float32)
    metric = make(0.7, num_thresholds=50)
    for rows in (slice(0, 120), slice(120, 300)):
        metric.update_state(
            truth[rows].astype(np.float32), backend.to_device(scores[rows], device), weights[rows]
        )
    expected = _oracle(truth, scores, weights, metric.thresholds, 0.7, kind)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)


def test_in_compile_with_class_id_and_saved(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    minicnn.set_random_seed(0)
    model = Sequential([Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=[metrics.PrecisionAtRecall(0.5, class_id=1), metrics.TruePositives(0.3)],
    )
    logs = model.evaluate(x, labels, batch_size=16, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    truth = labels == 1
    thresholds = model.metrics[1].metrics[0].thresholds  # in Keras' compile_metrics
    expected = _oracle(truth, probs[:, 1], np.ones(64), thresholds, 0.5, "precision_at_recall")
    assert logs["precision_at_recall"] == pytest.approx(expected, rel=1e-5)
    assert logs["true_positives"] == ((probs > 0.3) & np.eye(3, dtype=bool)[labels]).sum()
    model.save(tmp_path / "op.minicnn")
    assert load_model(tmp_path / "op.minicnn").evaluate(x, labels, verbose=0) == (
        model.evaluate(x, labels, verbose=0)
    )
    several = metrics.FalseNegatives(thresholds=[0.2, 0.8])
    several.update_state([1, 1, 0], [0.5, 0.9, 0.1])
    np.testing.assert_array_equal(several.result(), [0, 1])
    with pytest.raises(ValueError, match="has 2 thresholds, one count each"):
        model.compile("adam", metrics=[several])
    with pytest.raises(ValueError, match="recall must be in \\[0, 1\\]"):
        metrics.PrecisionAtRecall(1.5)
