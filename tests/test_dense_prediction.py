"""Classifying every position: the categorical cross-entropies and their metrics on outputs
of shape (batch, ..., classes), as a segmentation network's (batch, h, w, classes) or a
sequence tagger's (batch, steps, classes), with labels of shape (batch, ...)."""

import numpy as np
import pytest
from test_functions import host

import minicnn
from minicnn import Input, Sequential, backend, load_model, losses, metrics, optimizers
from minicnn import layers as L
from minicnn.autograd import Tensor


def _segmentation_data(n=24, seed=0):
    """Blobs on noise: class 1 inside a bright square, 2 inside a dark one, 0 elsewhere."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.1, (n, 8, 8, 1)).astype(np.float32)
    labels = np.zeros((n, 8, 8), np.int64)
    for i in range(n):
        for cls, value in ((1, 1.0), (2, -1.0)):
            r, c = rng.integers(0, 6, 2)
            images[i, r : r + 3, c : c + 3, 0] += value
            labels[i, r : r + 3, c : c + 3] = cls
    return images, labels


def _fcn(device):
    minicnn.set_random_seed(0)
    return Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(8, 3, padding="same", activation="relu"),
            L.Conv2D(3, 1, activation="softmax"),
        ]
    ).to(device)


def test_pixelwise_crossentropy_matches_numpy(device):
    rng = np.random.default_rng(1)
    probs = rng.random((3, 4, 5, 6)).astype(np.float32)
    probs /= probs.sum(axis=-1, keepdims=True)
    labels = rng.integers(0, 6, (3, 4, 5))
    weights = np.array([1.0, 0.5, 2.0], np.float32)
    picked = np.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
    expected = -(np.log(picked) * weights[:, None, None]).mean()
    on_device = Tensor(backend.to_device(probs, device))
    sparse = losses.SparseCategoricalCrossentropy()(labels, on_device, sample_weight=weights)
    dense = losses.CategoricalCrossentropy()(np.eye(6)[labels], on_device, sample_weight=weights)
    assert float(host(sparse)) == pytest.approx(expected, rel=1e-5)
    assert float(host(dense)) == pytest.approx(expected, rel=1e-5)
    logits = np.log(probs)
    fused = losses.SparseCategoricalCrossentropy().on_logits(
        labels, Tensor(backend.to_device(logits, device)), sample_weight=weights
    )
    assert float(host(fused)) == pytest.approx(expected, rel=1e-5)


def test_a_segmentation_network_trains_and_reports_pixel_metrics(device, tmp_path):
    images, labels = _segmentation_data()
    model = _fcn(device)
    model.compile(
        optimizers.Adam(0.03),
        "sparse_categorical_crossentropy",
        metrics=["accuracy", metrics.MeanIoU(num_classes=3, sparse_y_pred=False)],
    )
    history = model.fit(images, labels, batch_size=8, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    logs = model.evaluate(images, labels, batch_size=8, verbose=0, return_dict=True)
    predicted = model.predict(images, verbose=0).argmax(axis=-1)
    assert logs["accuracy"] == pytest.approx((predicted == labels).mean(), rel=1e-5)
    assert logs["accuracy"] > 0.8
    ious = []
    for cls in range(3):
        both = ((predicted == cls) & (labels == cls)).sum()
        either = ((predicted == cls) | (labels == cls)).sum()
        ious.append(both / either)
    assert logs["mean_io_u"] == pytest.approx(np.mean(ious), rel=1e-5)
    model.save(tmp_path / "fcn.minicnn")
    loaded = load_model(tmp_path / "fcn.minicnn", device=device)
    assert loaded.evaluate(images, labels[..., None], verbose=0) == pytest.approx(
        model.evaluate(images, labels, verbose=0)
    )


def test_one_hot_maps_and_label_errors():
    images, labels = _segmentation_data(8)
    model = _fcn("cpu")
    model.compile("sgd", "categorical_crossentropy", metrics=["categorical_accuracy"])
    one_hot = np.eye(3, dtype=np.float32)[labels]
    loss, accuracy = model.evaluate(images, one_hot, verbose=0)
    probs = model.predict(images, verbose=0)
    assert accuracy == pytest.approx((probs.argmax(-1) == labels).mean())
    assert loss == pytest.approx(
        -np.log(np.clip((probs * one_hot).sum(-1), 1e-7, 1)).mean(), rel=1e-5
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"class ids of shape \(N, 8, 8\); got shape \(8, 8\)"):
        model.evaluate(images, labels[0], verbose=0)
    with pytest.raises(ValueError, match="looks one-hot"):
        model.evaluate(images, one_hot, verbose=0)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["top_k_categorical_accuracy"])
    with pytest.raises(ValueError, match="takes \\(batch, classes\\) outputs"):
        model.evaluate(images, labels, verbose=0)


def test_a_sequence_tagger(device):
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 10, (48, 7))
    tags = (ids > 5).astype(np.int64)  # tag each token: large or small
    minicnn.set_random_seed(1)
    model = Sequential(
        [
            Input((7,)),
            L.Embedding(10, 8),
            L.LSTM(8, return_sequences=True),
            L.Dense(2, activation="softmax"),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.03), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, tags, batch_size=16, epochs=25, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    predicted = model.predict(ids, verbose=0).argmax(axis=-1)
    assert model.evaluate(ids, tags, verbose=0)[1] == pytest.approx((predicted == tags).mean())
    assert model.predict(ids, verbose=0).shape == (48, 7, 2)
