"""``Input(shape=())``: one value per sample (an id, a word), as Keras takes it."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Model, Sequential, load_model, ops
from minicnn import layers as L


def test_ids_one_per_sample_train_through_an_embedding(tmp_path):
    minicnn.utils.set_random_seed(0)
    model = Sequential([Input(shape=(), dtype="int32"), L.Embedding(6, 4), L.Dense(2)])
    assert model.output_shape == (None, 2) and model.input_shape == (None,)
    ids = np.arange(60) % 6
    labels = (ids >= 3).astype(np.int64)
    model.compile(
        minicnn.optimizers.Adam(0.05),
        minicnn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(ids, labels, epochs=20, batch_size=12, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    model.save(tmp_path / "ids.keras")
    np.testing.assert_allclose(
        load_model(tmp_path / "ids.keras").predict(ids, verbose=0), model.predict(ids, verbose=0)
    )


def test_words_one_per_sample_go_through_a_lookup():
    words = Input(shape=(), dtype="string")
    ids = L.StringLookup(vocabulary=["cat", "dog"])(words)
    assert ops.shape(ids) == (None,)
    model = Model(words, ops.expand_dims(ids, -1))
    np.testing.assert_array_equal(
        model.predict(np.array(["dog", "cat", "emu"]), verbose=0)[:, 0], [2, 1, 0]
    )


def test_a_layer_that_needs_an_axis_says_so():
    x = Input(shape=())
    with pytest.raises(ValueError, match=r"one value per sample \(shape \(None,\)\)"):
        L.Dense(3)(x)
    model = Model(x, ops.expand_dims(x, -1) * 2.0)
    with pytest.raises(ValueError, match=r"\(None,\)"):
        model.predict(np.ones((3, 2), np.float32), verbose=0)
    np.testing.assert_allclose(model.predict(np.arange(3.0), verbose=0)[:, 0], [0, 2, 4])
