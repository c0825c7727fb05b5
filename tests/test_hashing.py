"""Keras' Hashing and HashedCrossing: the bins of Keras' docstrings and tests, TensorFlow's
frozen fingerprints, SipHash's reference vectors, the output modes, and a model that learns
from hashed categories."""

import numpy as np
import pytest

from minicnn import Input, Model, Sequential
from minicnn import layers as L
from minicnn.hashing import fingerprint64, siphash24

LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]


def test_hashes_match_their_references():
    # TensorFlow's fingerprint_test: Fingerprint64 "IsForeverFrozen"
    assert fingerprint64(b"Hello") == 15404698994557526151
    assert fingerprint64(b"World") == 18308117990299812472
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F
    # SipHash-2-4's reference vectors (key 00..0f; messages of 0 and 15 bytes 00, 01, ...)
    k0 = int.from_bytes(bytes(range(8)), "little")
    k1 = int.from_bytes(bytes(range(8, 16)), "little")
    assert siphash24(k0, k1, b"") == 0x726FDB47DD0E0E31
    assert siphash24(k0, k1, bytes(range(15))) == 0xA129CA6149BE45E5
    assert siphash24(k0, k1, bytes(range(8))) == 0x93F5F5799A932462
    # every length class of FarmHash (to 16, 17-32, 33-64, the loop) hashes differently
    texts = [bytes(range(n)) for n in (3, 12, 20, 40, 64, 65, 200)]
    assert len({fingerprint64(t) for t in texts}) == len(texts)
    assert fingerprint64(bytes(200)) != fingerprint64(bytes(199) + b"\x01")


def test_hashing_gives_keras_bins():
    np.testing.assert_array_equal(L.Hashing(3)(LETTERS), [[1], [0], [1], [1], [2]])
    masked = L.Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]])
    np.testing.assert_array_equal(masked, [[1], [1], [0], [2], [2]])
    np.testing.assert_array_equal(L.Hashing(3, salt=133)(LETTERS), [[0], [0], [2], [1], [0]])
    np.testing.assert_array_equal(L.Hashing(3, salt=[133, 137])(LETTERS), [[1], [2], [1], [0], [2]])
    words = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]
    np.testing.assert_array_equal(L.Hashing(2)(words), [[0], [0], [1], [0], [0]])
    integers = L.Hashing(3)([[0], [1], [2], [3], [4]])  # as their decimal strings
    np.testing.assert_array_equal(integers, [[1], [0], [1], [0], [2]])


def test_hashing_output_modes_and_errors():
    one_hot = L.Hashing(3, output_mode="one_hot")(np.array(["A", "B", "C"]))
    np.testing.assert_array_equal(one_hot, [[0, 1, 0], [1, 0, 0], [0, 1, 0]])
    counts = L.Hashing(3, output_mode="count")([["A", "A", "E"], ["B", "C", "D"]])
    np.testing.assert_array_equal(counts, [[0, 2, 1], [1, 2, 0]])
    multi = L.Hashing(3, output_mode="multi_hot")([["A", "A", "E"], ["B", "C", "D"]])
    np.testing.assert_array_equal(multi, [[0, 1, 1], [1, 1, 0]])
    config = L.Hashing(5, mask_value="", salt=7, output_mode="count").get_config()
    assert config["salt"] == [7, 7]
    assert L.Hashing.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="hashes strings and integers, got 1.5"):
        L.Hashing(3)([[1.5]])
    with pytest.raises(ValueError, match="salt must be an int or a pair of ints"):
        L.Hashing(3, salt="pepper")
    with pytest.raises(ValueError, match="sparse outputs are not available"):
        L.Hashing(3, sparse=True)
    words = Input((1,), dtype="string")  # in a model's graph, as Keras' preprocessing models
    binned = Model(words, L.Hashing(3)(words))
    np.testing.assert_array_equal(
        binned.predict(np.array([["a"], ["b"]]), verbose=0), L.Hashing(3)([["a"], ["b"]])
    )


def test_hashed_crossing_gives_keras_bins():
    first = np.array(["A", "B", "A", "B", "A"])
    second = np.array([101, 101, 101, 102, 102])
    np.testing.assert_array_equal(L.HashedCrossing(5)((first, second)), [1, 4, 1, 1, 3])
    one_hot = L.HashedCrossing(5, output_mode="one_hot")((first, second))
    np.testing.assert_array_equal(one_hot.argmax(1), [1, 4, 1, 1, 3])
    column = L.HashedCrossing(5)((first[:, None], second[:, None]))
    assert column.shape == (5, 1)
    with pytest.raises(ValueError, match="the same for all"):
        L.HashedCrossing(5)((first, second[:3]))
    with pytest.raises(ValueError, match="a tuple of at least two features"):
        L.HashedCrossing(5)(first)


def test_a_model_learns_from_hashed_categories():
    rng = np.random.default_rng(0)
    colors = np.array(["red", "green", "blue", "amber", "violet", "cyan"])
    picks = rng.integers(0, len(colors), 400)
    labels = (picks % 2).astype(np.int64)  # the class is a property of the category
    features = L.Hashing(64, output_mode="one_hot")(colors[picks])
    model = Sequential([Input((64,)), L.Dense(2, activation="softmax")])
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(features, labels, epochs=60, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
