"""sample_weight and class_weight, as in Keras: the loss is sum(w * l) / batch size, each loss
function's weighted value and gradient check against NumPy, and fit/evaluate carry them."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import small_cnn, toy_data

from minicnn import backend, losses, utils
from minicnn import functions as F
from minicnn import pointwise_losses as P

LOSSES = {
    "sparse_logits": lambda o, y, w: F.softmax_cross_entropy(o, y, sample_weight=w),
    "sparse_probs": lambda o, y, w: F.cross_entropy_from_probs(o, y, sample_weight=w),
    "dense_logits": lambda o, y, w: F.softmax_cross_entropy_dense(o, np.eye(4)[y], w),
    "dense_probs": lambda o, y, w: F.cross_entropy_from_probs_dense(o, np.eye(4)[y], w),
    "mse": lambda o, y, w: P.mean_squared_error(o, np.eye(4)[y], w),
    "mae": lambda o, y, w: P.mean_absolute_error(o, np.eye(4)[y] * 0.5 + 0.1, w),
    "bce": lambda o, y, w: P.binary_crossentropy(o, np.eye(4)[y], False, w),
    "bce_logits": lambda o, y, w: P.binary_crossentropy(o, np.eye(4)[y], True, w),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_weighted_losses_are_weighted_means_of_per_sample_losses(name, device):
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.1, 1.0, (5, 4))
    outputs = probs / probs.sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, 5)
    w = np.array([0.0, 1.0, 2.5, 0.5, 1.0])
    loss = LOSSES[name]

    def on(a):
        return backend.to_device(a, device)

    def y_on(labels):
        return on(labels) if name.startswith("sparse") else labels

    # Per-sample losses, one sample at a time, weighted and averaged over the batch.
    rows = [float(host(loss(on(outputs[i : i + 1]), y_on(y[i : i + 1]), None))) for i in range(5)]
    weighted = float(host(loss(on(outputs), y_on(y), on(w))))
    assert weighted == pytest.approx(np.dot(w, rows) / 5, rel=1e-10)
    check_gradients(lambda o: loss(o, y_on(y), on(w)), outputs, device=device)


def test_fit_with_sample_weights_follows_the_weighted_loss(device):
    """Weights 2 and 0 on a batch: the same update as the weight-1 samples counted twice."""
    x, y = toy_data(8)
    w = np.array([2, 0, 2, 0, 2, 0, 2, 0], np.float32)
    results = []
    for xs, ys, ws in ((x, y, w), (x[::2].repeat(2, axis=0), y[::2].repeat(2), None)):
        backend.clear_session()
        backend.set_random_seed(1)
        model = small_cnn().to(device)
        model.layers[-2].rate = 0.0  # no dropout: the two batches must see the same network
        model.compile("sgd")
        loss = model.train_on_batch(xs, ys, sample_weight=ws)
        results.append((loss, model.get_weights()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_class_weight_gives_each_sample_its_class_weight():
    x, y = toy_data(48)
    weights = {0: 3.0, 2: 0.5}  # class 1 is left out: weight 1
    backend.set_random_seed(2)
    a = small_cnn()
    a.compile("adam")
    backend.set_random_seed(2)
    b = small_cnn()
    b.compile("adam")
    expected = np.array([weights.get(int(c), 1.0) for c in y], np.float32)
    assert a.evaluate(x, y, verbose=0, sample_weight=expected) == pytest.approx(
        b.evaluate(x, y, verbose=0, sample_weight=utils.to_categorical(y) @ [3.0, 1.0, 0.5])
    )
    backend.set_random_seed(3)
    ha = a.fit(x, y, epochs=2, verbose=0, class_weight=weights, shuffle=False)
    backend.set_random_seed(3)
    hb = b.fit(x, y, epochs=2, verbose=0, sample_weight=expected, shuffle=False)
    assert ha.history["loss"] == hb.history["loss"]
    # One-hot targets take the class of their argmax, as in Keras.
    c = small_cnn()
    c.compile("adam", losses.CategoricalCrossentropy())
    c.fit(x, utils.to_categorical(y), epochs=1, verbose=0, class_weight=weights)


def test_evaluate_validation_and_datasets_carry_weights():
    x, y = toy_data(32)
    model = small_cnn()
    model.compile("adam", metrics=["accuracy"])
    plain_loss, accuracy = model.evaluate(x, y, verbose=0)
    zero_half = np.where(np.arange(32) < 16, 1.0, 0.0)
    loss, weighted_accuracy = model.evaluate(x, y, sample_weight=zero_half, verbose=0)
    first_half_loss, _ = model.evaluate(x[:16], y[:16], verbose=0)
    assert loss == pytest.approx(first_half_loss * 16 / 32, rel=1e-5)
    assert weighted_accuracy == accuracy  # metrics stay unweighted, as Keras' metrics are
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y, zero_half), batch_size=32)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, sample_weight=zero_half, verbose=0)[0], rel=1e-5
    )

    class Weighted(utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            s = slice(16 * i, 16 * (i + 1))
            return x[s], y[s], zero_half[s]

    assert model.evaluate(Weighted(), verbose=0)[0] == pytest.approx(
        model.evaluate(x, y, sample_weight=zero_half, verbose=0, batch_size=16)[0], rel=1e-6
    )
    model.fit(x, y, epochs=1, verbose=0, sample_weight=zero_half, validation_split=0.25)


def test_bad_weights_are_named():
    x, y = toy_data(8)
    model = small_cnn()
    model.compile("adam")
    with pytest.raises(
        ValueError,
        match=r"one weight per sample, shape \(8,\), or one per position of the output, "
        r"\(8, \*positions\); got \(7,\)",
    ):
        model.fit(x, y, sample_weight=np.ones(7), verbose=0)
    with pytest.raises(ValueError, match="finite, non-negative"):
        model.fit(x, y, sample_weight=-np.ones(8), verbose=0)
    with pytest.raises(ValueError, match="class_weight or sample_weight, not both"):
        model.fit(x, y, sample_weight=np.ones(8), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(TypeError, match="class_weight must be a dict"):
        model.fit(x, y, class_weight=[1.0, 2.0], verbose=0)
    with pytest.raises(ValueError, match=r"class_weight\[1\] must be a non-negative number"):
        model.fit(x, y, class_weight={1: -2}, verbose=0)
