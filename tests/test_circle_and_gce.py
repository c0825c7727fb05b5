"""Keras' Circle loss (metric learning) and CategoricalGeneralizedCrossEntropy (noisy labels):
against loops over pairs and the formula, Keras' mask (a sample with no positive pair leaves
the mean), float64 gradient checks, saved configs, and models that learn with them."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import assert_learns_and_reloads, toy_data

from minicnn import Input, Sequential, backend, losses
from minicnn import layers as L
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def unit_rows(n, dim):
    e = RNG.standard_normal((n, dim))
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def loop_circle(labels, e, ref_labels, ref, remove_diagonal, gamma, margin):
    """The circle loss of each sample by a loop over its pairs."""
    out = []
    for i, (label, row) in enumerate(zip(labels, e, strict=True)):
        pos, neg = [], []
        for j, (other, ref_row) in enumerate(zip(ref_labels, ref, strict=True)):
            d = max(1.0 - row @ ref_row, 0.0)
            if other == label and not (remove_diagonal and i == j):
                pos.append(-gamma * max(margin + d, 0.0) * (margin - d))
            elif other != label:
                neg.append(gamma * max(1.0 + margin - d, 0.0) * (1.0 - margin - d))
        if not pos:
            out.append(0.0)
            continue
        total = np.logaddexp.reduce(pos) + (np.logaddexp.reduce(neg) if neg else -np.inf)
        out.append(np.logaddexp(0.0, total))
    return np.array(out)


@pytest.mark.parametrize("remove_diagonal", [True, False])
def test_circle_follows_a_loop_over_pairs(remove_diagonal, device):
    labels, e = np.array([0, 0, 1, 1, 2, 0]), unit_rows(6, 5)
    got = host(
        losses.circle(
            labels,
            Tensor(backend.to_device(e, device)),
            remove_diagonal=remove_diagonal,
            gamma=8.0,
            margin=0.3,
        )
    )
    expected = loop_circle(labels, e, labels, e, remove_diagonal, 8.0, 0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    ref_labels, ref = np.array([1, 0, 2, 2]), unit_rows(4, 5)
    got = host(
        losses.circle(
            labels,
            Tensor(backend.to_device(e, device)),
            ref_labels,
            backend.to_device(ref, device),
            gamma=8.0,
        )
    )
    np.testing.assert_allclose(
        got, loop_circle(labels, e, ref_labels, ref, True, 8.0, 0.4), rtol=1e-10
    )
    check_gradients(lambda t: losses.circle(labels, t, gamma=8.0), e, device=device)


def test_circle_leaves_samples_without_positives_out_of_the_mean():
    labels, e = np.array([0, 0, 1, 2]), unit_rows(4, 3).astype(np.float32)
    per_sample = loop_circle(labels, e.astype(np.float64), labels, e, True, 80.0, 0.4)
    assert per_sample[2] == per_sample[3] == 0.0
    mean = float(host(losses.Circle()(labels, e)))
    assert mean == pytest.approx(per_sample.sum() / 2, rel=1e-5)
    assert float(host(losses.Circle(reduction="sum")(labels, e))) == pytest.approx(
        per_sample.sum(), rel=1e-5
    )
    weights = np.array([2.0, 1.0, 5.0, 5.0])
    weighted = float(host(losses.Circle()(labels, e, sample_weight=weights)))
    assert weighted == pytest.approx((2 * per_sample[0] + per_sample[1]) / 2, rel=1e-5)
    again = losses.get(losses.Circle(gamma=30, margin=0.2).get_config())
    assert (again.gamma, again.margin, again.remove_diagonal) == (30.0, 0.2, True)
    with pytest.raises(ValueError, match="one integer label per sample"):
        losses.Circle().targets(np.zeros((4, 2)), 4, (3,))


def test_an_embedding_model_learns_with_circle(tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Flatten(),
            L.Dense(16, activation="relu"),
            L.Dense(8),
            L.UnitNormalization(),
        ]
    ).to(device)
    model.compile("adam", losses.Circle(gamma=16.0))
    assert_learns_and_reloads(model, x, y, tmp_path, device, epochs=8, drop=0.7)


def test_generalized_cross_entropy_follows_its_formula(device):
    probs = RNG.dirichlet(np.ones(4), size=5)
    labels = np.array([0, 3, 1, 1, 2])
    p = probs[np.arange(5), labels]
    for q in (0.2, 0.7):
        got = host(
            losses.categorical_generalized_cross_entropy(
                labels, Tensor(backend.to_device(probs, device)), q
            )
        )
        np.testing.assert_allclose(got, (1 - p**q) / q)
    loss = losses.CategoricalGeneralizedCrossEntropy(q=0.7)
    assert float(host(loss(labels, probs))) == pytest.approx(((1 - p**0.7) / 0.7).mean())
    check_gradients(
        lambda t: losses.categorical_generalized_cross_entropy(labels, t, 0.5), probs, device=device
    )
    assert losses.get(loss.get_config()).q == 0.7
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)


def test_a_classifier_learns_with_generalized_cross_entropy(tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Flatten(),
            L.Dense(16, activation="relu"),
            L.Dense(3, activation="softmax"),
        ]
    ).to(device)
    model.compile("adam", "categorical_generalized_cross_entropy", metrics=["accuracy"])
    loaded = assert_learns_and_reloads(model, x, y, tmp_path, device, epochs=15)
    assert loaded.evaluate(x, y, verbose=0)[1] > 0.6
