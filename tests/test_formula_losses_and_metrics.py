"""Keras 3's focal cross-entropies, categorical hinge and cosine similarity losses (written
with minicnn.ops), and the IoU family, R2Score and CosineSimilarity metrics: Keras' docstring
examples, scikit-learn or NumPy as oracles, float64 gradient checks, every device, fit and
saved models."""

import numpy as np
import pytest
from gradcheck import check_gradients
from sklearn.metrics import confusion_matrix, r2_score
from test_functions import host

import minicnn
from minicnn import Input, Sequential, backend, load_model, losses, metrics
from minicnn import layers as L
from minicnn.autograd import Tensor

# (loss, y_true, y_pred, Keras' value)
KERAS_LOSSES = [
    (
        lambda: losses.BinaryFocalCrossentropy(gamma=2, from_logits=True),
        [[0], [1], [0], [0]],
        [[-18.6], [0.51], [2.94], [-12.8]],
        0.691,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, gamma=2, from_logits=True
        ),
        [[0], [1], [0], [0]],
        [[-18.6], [0.51], [2.94], [-12.8]],
        0.51,
    ),
    (
        lambda: losses.CategoricalFocalCrossentropy(),
        [[0, 1, 0], [0, 0, 1]],
        [[0.05, 0.95, 0], [0.1, 0.8, 0.1]],
        0.23315276,
    ),
    (
        lambda: losses.CategoricalHinge(),
        [[0, 1], [0, 0]],
        [[0.6, 0.4], [0.4, 0.6]],
        1.4,
    ),
    (
        lambda: losses.CosineSimilarity(axis=1),
        [[0.0, 1.0], [1.0, 1.0]],
        [[1.0, 0.0], [1.0, 1.0]],
        -0.5,
    ),
]


@pytest.mark.parametrize("case", range(len(KERAS_LOSSES)))
def test_losses_match_keras_examples(case, device):
    make, y_true, y_pred, expected = KERAS_LOSSES[case]
    predictions = Tensor(backend.to_device(np.array(y_pred, np.float32), device))
    value = float(host(make()(np.array(y_true, np.float32), predictions)))
    assert value == pytest.approx(expected, abs=1e-3 if expected in (0.691, 0.51) else 1e-6)


@pytest.mark.parametrize("case", range(len(KERAS_LOSSES)))
def test_loss_gradients_check_in_float64(case, device):
    make, y_true, _, _ = KERAS_LOSSES[case]
    rng = np.random.default_rng(case)
    targets = backend.to_device(np.array(y_true, np.float64), device)
    shape = np.array(y_true).shape
    raw = rng.uniform(0.1, 0.9, shape) if case >= 2 else rng.standard_normal(shape)
    weights = rng.random(shape[0])

    def build(y_pred):
        return make()(targets, y_pred, sample_weight=weights)

    check_gradients(build, raw, device=device, rtol=1e-4, atol=1e-7)


def test_focal_losses_by_formula_and_in_fit(tmp_path):
    rng = np.random.default_rng(0)
    truth = (rng.random((50, 3)) < 0.4).astype(np.float32)
    probs = rng.uniform(0.01, 0.99, (50, 3)).astype(np.float32)
    bce = -(truth * np.log(probs) + (1 - truth) * np.log(1 - probs))
    p_t = truth * probs + (1 - truth) * (1 - probs)
    expected = ((1 - p_t) ** 3 * bce).mean(axis=1).mean()
    got = losses.BinaryFocalCrossentropy(gamma=3.0)(truth, Tensor(probs))
    assert float(got.data) == pytest.approx(expected, rel=1e-5)

    x = rng.standard_normal((60, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 60)
    minicnn.set_random_seed(0)
    model = Sequential([Input((4,)), L.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_focal_crossentropy", metrics=["categorical_accuracy"])
    history = model.fit(x, np.eye(3)[labels], epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "focal.minicnn")
    loaded = load_model(tmp_path / "focal.minicnn")  # found by name: no custom_objects
    assert isinstance(loaded.loss, losses.CategoricalFocalCrossentropy)
    np.testing.assert_allclose(
        loaded.evaluate(x, np.eye(3)[labels], verbose=0),
        model.evaluate(x, np.eye(3)[labels], verbose=0),
    )
    with pytest.raises(ValueError, match="gamma must be a number >= 0"):
        losses.BinaryFocalCrossentropy(gamma=-1)


# (metric, y_true, y_pred, value, sample_weight, weighted value): Keras' docstrings.
KERAS_METRICS = [
    (
        lambda: metrics.MeanIoU(num_classes=2),
        [0, 0, 1, 1],
        [0, 1, 0, 1],
        1 / 3,
        [0.3, 0.3, 0.3, 0.1],
        0.23809525,
    ),
    (
        lambda: metrics.IoU(num_classes=2, target_class_ids=[0]),
        [0, 0, 1, 1],
        [0, 1, 0, 1],
        1 / 3,
        [0.3, 0.3, 0.3, 0.1],
        0.33333334,
    ),
    (lambda: metrics.R2Score(), [[1], [4], [3]], [[2], [4], [4]], 0.57142854, None, None),
    (
        lambda: metrics.CosineSimilarity(axis=1),
        [[0.0, 1.0], [1.0, 1.0]],
        [[1.0, 0.0], [1.0, 1.0]],
        0.5,
        [0.3, 0.7],
        0.7,
    ),
]


@pytest.mark.parametrize("case", range(len(KERAS_METRICS)))
def test_metrics_match_keras_examples(case, device):
    make, y_true, y_pred, expected, weights, weighted = KERAS_METRICS[case]
    on_device = backend.to_device(np.array(y_pred, np.float32), device)
    assert float(make()(y_true, on_device)) == pytest.approx(expected, rel=1e-6)
    if weights is not None:
        got = make()(y_true, on_device, sample_weight=weights)
        assert float(got) == pytest.approx(weighted, rel=1e-6)


def _iou_oracle(truth, predicted, classes, weights=None):
    matrix = confusion_matrix(truth, predicted, labels=range(classes), sample_weight=weights)
    tp = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - tp
    valid = union > 0
    return (tp[valid] / union[valid]).mean()


def test_mean_iou_of_segmentation_maps_adds_up_over_batches(device):
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 4, (6, 5, 5))
    scores = rng.random((6, 5, 5, 4)).astype(np.float32)
    scores[..., 0] += (truth == 0) * 0.5  # class 0 is easier
    weights = rng.random(6).astype(np.float32)
    metric = metrics.MeanIoU(num_classes=4, sparse_y_pred=False, ignore_class=3)
    for rows in (slice(0, 4), slice(4, 6)):
        metric.update_state(
            truth[rows], backend.to_device(scores[rows], device), sample_weight=weights[rows]
        )
    kept = truth.reshape(-1) != 3
    pixel_weights = np.repeat(weights, 25)[kept]
    expected = _iou_oracle(
        truth.reshape(-1)[kept], scores.argmax(-1).reshape(-1)[kept], 4, pixel_weights
    )
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    one_hot = metrics.OneHotMeanIoU(num_classes=4)
    one_hot.update_state(np.eye(4)[truth], backend.to_device(scores, device))
    expected = _iou_oracle(truth.reshape(-1), scores.argmax(-1).reshape(-1), 4)
    assert float(one_hot.result()) == pytest.approx(expected, rel=1e-5)


def test_r2_score_matches_scikit_learn(device):
    rng = np.random.default_rng(5)
    truth = rng.standard_normal((40, 3)).astype(np.float32) * [1.0, 3.0, 0.5]
    pred = (truth + rng.standard_normal((40, 3)) * 0.4).astype(np.float32)
    weights = rng.random(40).astype(np.float32)
    for aggregation, sklearn_name in (
        ("uniform_average", "uniform_average"),
        ("variance_weighted_average", "variance_weighted"),
    ):
        metric = metrics.R2Score(class_aggregation=aggregation)
        metric.update_state(truth[:25], backend.to_device(pred[:25], device), weights[:25])
        metric.update_state(truth[25:], backend.to_device(pred[25:], device), weights[25:])
        expected = r2_score(truth, pred, sample_weight=weights, multioutput=sklearn_name)
        assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    per_output = metrics.R2Score(class_aggregation=None)
    per_output.update_state(truth, pred)
    np.testing.assert_allclose(
        per_output.result(), r2_score(truth, pred, multioutput="raw_values"), rtol=1e-5
    )
    adjusted = metrics.R2Score(num_regressors=2)
    adjusted.update_state(truth, pred)
    plain = r2_score(truth, pred)
    assert float(adjusted.result()) == pytest.approx(1 - (1 - plain) * 39 / 37, rel=1e-5)


def test_iou_and_r2_in_compile_and_saved(tmp_path):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    minicnn.set_random_seed(0)
    model = Sequential([Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=[metrics.MeanIoU(num_classes=3, sparse_y_pred=False)],
    )
    logs = model.evaluate(x, labels, batch_size=10, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert logs["mean_io_u"] == pytest.approx(_iou_oracle(labels, predicted, 3), rel=1e-5)
    model.save(tmp_path / "iou.minicnn")
    assert load_model(tmp_path / "iou.minicnn").evaluate(x, labels, verbose=0) == (
        model.evaluate(x, labels, verbose=0)
    )
    regressor = Sequential([Input((4,)), L.Dense(2)])
    regressor.compile("adam", "mse", metrics=["r2_score"])
    y = x[:, :2] * 2
    logs = regressor.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert logs["r2_score"] == pytest.approx(r2_score(y, regressor.predict(x, verbose=0)), rel=1e-5)
    with pytest.raises(ValueError, match="class_aggregation=None gives one score per output"):
        regressor.compile("adam", "mse", metrics=[metrics.R2Score(class_aggregation=None)])
    with pytest.raises(ValueError, match="target_class_ids must be class ids in 0..1"):
        metrics.IoU(num_classes=2, target_class_ids=[2])


def test_dice_and_tversky_by_their_formulas(device):
    rng = np.random.default_rng(7)
    truth = (rng.random((4, 6, 6, 1)) < 0.3).astype(np.float64)
    probs = rng.uniform(0.05, 0.95, truth.shape)
    eps = 1e-7
    whole = 1 - 2 * (truth * probs).sum() / (truth.sum() + probs.sum() + eps)
    per_sample = 1 - 2 * (truth * probs).sum(axis=(1, 2, 3)) / (
        truth.sum(axis=(1, 2, 3)) + probs.sum(axis=(1, 2, 3)) + eps
    )
    tp, fp, fn = (truth * probs).sum(), ((1 - probs) * truth).sum(), (probs * (1 - truth)).sum()
    tversky = 1 - tp / (tp + 0.3 * fp + 0.7 * fn + eps)
    on_device = Tensor(backend.to_device(probs, device))
    assert float(host(losses.Dice()(truth, on_device))) == pytest.approx(whole, rel=1e-6)
    got = losses.Dice(axis=(1, 2, 3))(truth, on_device)
    assert float(host(got)) == pytest.approx(per_sample.mean(), rel=1e-6)
    got = losses.Tversky(alpha=0.3, beta=0.7)(truth, on_device)
    assert float(host(got)) == pytest.approx(tversky, rel=1e-6)
    targets = backend.to_device(truth, device)
    check_gradients(lambda p: losses.Dice(axis=(1, 2, 3))(targets, p), probs, device=device)
    check_gradients(lambda p: losses.Tversky(0.3, 0.7)(targets, p), probs, device=device)


def test_a_mask_network_trains_on_dice():
    rng = np.random.default_rng(8)
    images = rng.normal(0, 0.2, (32, 8, 8, 1)).astype(np.float32)
    masks = np.zeros_like(images)
    for i in range(32):
        r, c = rng.integers(0, 5, 2)
        images[i, r : r + 4, c : c + 4] += 1.0
        masks[i, r : r + 4, c : c + 4] = 1.0
    minicnn.set_random_seed(0)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.Conv2D(1, 1, activation="sigmoid"),
        ]
    )
    model.compile(minicnn.optimizers.Adam(0.05), "dice")
    history = model.fit(images, masks, batch_size=8, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.3
