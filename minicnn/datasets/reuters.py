"""Reuters newswires: 11,228 wires as sequences of word indices, labelled with one of 46
topics, as Keras' ``reuters`` gives them (split into train and test after one shuffle).

``load_data()`` reads Keras' ``reuters.npz`` from ``data_dir``, ``$MINICNN_DATA`` (or its
``reuters`` folder) or the cache, else downloads it from Keras' mirror checking its SHA-256.
Its ragged arrays are pickles: they are read by an unpickler that accepts only NumPy arrays.
"""

from __future__ import annotations

import os

import numpy as np

from .word_sequences import (
    KERAS_FOLDER,
    capped,
    read_arrays,
    shorter_than,
    shuffled,
    with_marks,
    word_index,
)

FILE = "reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX, WORD_INDEX_MD5 = "reuters_word_index.json", "4d44cc38712099c9e383dc6e5f11a921"
MIRRORS = [KERAS_FOLDER]
LABEL_NAMES = (
    "cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar trade "
    "reserves ship cotton carcass crude nat-gas cpi money-fx interest gnp meal-feed alum "
    "oilseed gold tin strategic-metal livestock retail ipi iron-steel rubber heat jobs lei "
    "bop zinc orange pet-chem dlr gas silver wpi hog lead"
).split()


def load_data(
    path: str = FILE,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` by Keras' recipe (IMDB's, on one shuffled
    set, then the last ``test_split`` of it for testing); the wires are an object array of
    lists of ints, as Keras returns them."""
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1); got {test_split}.")
    arrays = read_arrays(
        "Reuters", "reuters", path, SHA256, ("x", "y"), data_dir, download, MIRRORS
    )
    xs_array, labels = shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = with_marks(xs_array, start_char, index_from)
    if maxlen:
        xs, labels = shorter_than(maxlen, xs, labels)
    xs = capped(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return (_objects(xs[:split]), np.array(labels[:split])), (
        _objects(xs[split:]),
        np.array(labels[split:]),
    )


def _objects(xs: list[list[int]]) -> np.ndarray:
    """A 1-D object array of the lists (also when they have one length)."""
    out = np.empty(len(xs), dtype=object)
    out[:] = xs
    return out


def get_word_index(
    path: str = WORD_INDEX, data_dir: str | os.PathLike | None = None
) -> dict[str, int]:
    """Keras' word index: word -> its rank (add ``index_from`` to match ``load_data``)."""
    return word_index(path, WORD_INDEX_MD5, "reuters", data_dir)


def get_label_names() -> tuple[str, ...]:
    """The 46 topics, in the order of the labels."""
    return tuple(LABEL_NAMES)
