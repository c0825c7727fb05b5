"""IMDB movie reviews: 25,000 train and 25,000 test reviews as sequences of word indices
(most frequent first), labelled 0 (negative) or 1 (positive), as Keras' ``imdb`` gives them.

``load_data()`` reads Keras' ``imdb.npz`` from ``data_dir``, ``$MINICNN_DATA`` (or its
``imdb`` folder) or the cache, else downloads it from Keras' mirror checking its SHA-256.
Its ragged arrays are pickles: they are read by an unpickler that accepts only NumPy arrays.
"""

from __future__ import annotations

import os

import numpy as np

from .word_sequences import (
    KERAS_FOLDER,
    Sequences,
    capped,
    read_arrays,
    shorter_than,
    shuffled,
    with_marks,
    word_index,
)

FILE = "imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX, WORD_INDEX_MD5 = "imdb_word_index.json", "bfafd718b763782e994055a2d397834f"
MIRRORS = [KERAS_FOLDER]


def load_data(
    path: str = FILE,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[tuple[Sequences, np.ndarray], tuple[Sequences, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` by Keras' recipe: each split shuffled with
    ``seed``; each review ``[start_char] + [w + index_from ...]``; reviews of ``maxlen`` words
    or more dropped; words below ``skip_top`` or from ``num_words`` on replaced by
    ``oov_char`` (dropped when it is None). Reviews are lists of ints, labels an array."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    arrays = read_arrays("IMDB", "imdb", path, SHA256, keys, data_dir, download, MIRRORS)
    rng = np.random.RandomState(seed)
    x_train, labels_train = shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = shuffled(rng, arrays["x_test"], arrays["y_test"])
    train = with_marks(x_train, start_char, index_from)
    test = with_marks(x_test, start_char, index_from)
    if maxlen:
        train, labels_train = shorter_than(maxlen, train, labels_train)
        test, labels_test = shorter_than(maxlen, test, labels_test)
        if not train or not test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                "kept. Increase maxlen."
            )
    xs = capped(train + test, num_words, skip_top, oov_char)
    return (xs[: len(train)], labels_train), (xs[len(train) :], labels_test)


def get_word_index(
    path: str = WORD_INDEX, data_dir: str | os.PathLike | None = None
) -> dict[str, int]:
    """Keras' word index: word -> its rank (add ``index_from`` to match ``load_data``)."""
    return word_index(path, WORD_INDEX_MD5, "imdb", data_dir)
