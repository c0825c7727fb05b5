"""Keras' metrics that are losses' values (BinaryCrossentropy, CategoricalCrossentropy,
SparseCategoricalCrossentropy, CategoricalHinge) and BinaryIoU: Keras' docstring numbers,
scikit-learn's log_loss as oracle, compiled by name and by class on every device."""

import numpy as np
import pytest
from sklearn.metrics import jaccard_score, log_loss

from minicnn import Input, Sequential, metrics, optimizers
from minicnn import layers as L

DOCSTRING_CASES = [
    (
        metrics.BinaryCrossentropy,
        [[0, 1], [0, 0]],
        [[0.6, 0.4], [0.4, 0.6]],
        [1, 0],
        0.81492424,
        0.9162905,
    ),
    (
        metrics.CategoricalCrossentropy,
        [[0, 1, 0], [0, 0, 1]],
        [[0.05, 0.95, 0], [0.1, 0.8, 0.1]],
        [0.3, 0.7],
        1.1769392,
        1.6271976,
    ),
    (
        metrics.SparseCategoricalCrossentropy,
        [1, 2],
        [[0.05, 0.95, 0], [0.1, 0.8, 0.1]],
        [0.3, 0.7],
        1.1769392,
        1.6271976,
    ),
    (metrics.CategoricalHinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], [1, 0], 1.4, 1.2),
]


@pytest.mark.parametrize("case", range(len(DOCSTRING_CASES)))
def test_keras_docstring_numbers(case):
    cls, y_true, y_pred, weights, plain, weighted = DOCSTRING_CASES[case]
    m = cls()
    m.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(plain, rel=1e-5)
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=weights)
    assert float(m.result()) == pytest.approx(weighted, rel=1e-5)


def test_binary_iou_keras_docstring_and_jaccard():
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    assert float(m.result()) == pytest.approx(0.33333334, rel=1e-6)
    m.reset_state()
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])
    assert float(m.result()) == pytest.approx(0.17361112, rel=1e-6)
    rng = np.random.default_rng(0)
    truth, scores = rng.integers(0, 2, 200), rng.random(200)
    only_ones = metrics.BinaryIoU(target_class_ids=[1])
    only_ones.update_state(truth, scores)
    assert float(only_ones.result()) == pytest.approx(jaccard_score(truth, scores > 0.5))


def test_cross_entropies_match_scikit_learn_log_loss():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((50, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 4, 50)
    expected = log_loss(labels, probs, labels=range(4))
    sparse = metrics.SparseCategoricalCrossentropy()
    sparse.update_state(labels, probs.astype(np.float32))
    assert float(sparse.result()) == pytest.approx(expected, rel=1e-5)
    from_logits = metrics.CategoricalCrossentropy(from_logits=True)
    from_logits.update_state(np.eye(4)[labels], logits)
    assert float(from_logits.result()) == pytest.approx(expected, rel=1e-5)
    truth, p = rng.integers(0, 2, 60), rng.uniform(0.05, 0.95, 60)
    binary = metrics.BinaryCrossentropy()
    binary.update_state(truth[:, None], p[:, None])
    assert float(binary.result()) == pytest.approx(log_loss(truth, p), rel=1e-5)


def test_compiled_by_name_and_by_class_they_track_the_loss(device):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = Sequential([Input((6,)), L.Dense(2, activation="softmax")]).to(device)
    model.compile(
        optimizers.Adam(0.05),
        "sparse_categorical_crossentropy",
        metrics=[metrics.SparseCategoricalCrossentropy(name="ce"), "accuracy"],
    )
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0, shuffle=False)
    # One batch an epoch: the metric is the loss of that batch, as computed in training.
    np.testing.assert_allclose(history.history["ce"], history.history["loss"], rtol=1e-5)
    binary = Sequential([Input((6,)), L.Dense(1, activation="sigmoid")]).to(device)
    binary.compile(
        "adam", "binary_crossentropy", metrics=["binary_crossentropy", metrics.BinaryIoU()]
    )
    logs = binary.evaluate(x, y.astype(np.float32), return_dict=True, verbose=0)
    assert logs["binary_crossentropy"] == pytest.approx(logs["loss"], rel=1e-5)
    assert 0 <= logs["binary_io_u"] <= 1


def test_pearson_and_concordance_correlations_keras_docstring_and_scipy():
    from scipy.stats import pearsonr

    y_true, y_pred = [[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]
    for cls, expected in (
        (metrics.PearsonCorrelation, 0.9966996338993913),
        (metrics.ConcordanceCorrelation, 0.9816320385426076),
    ):
        m = cls(axis=-1)
        m.update_state(y_true, y_pred)
        assert float(m.result()) == pytest.approx(expected, rel=1e-6)
    rng = np.random.default_rng(3)
    t, p = rng.standard_normal((20, 8)), rng.standard_normal((20, 8))
    m = metrics.PearsonCorrelation()
    m.update_state(t, p)
    rows = [pearsonr(a, b)[0] for a, b in zip(t, p, strict=True)]
    assert float(m.result()) == pytest.approx(np.mean(rows), rel=1e-5)
    with pytest.raises(ValueError, match="only axis=-1"):
        metrics.ConcordanceCorrelation(axis=0)
