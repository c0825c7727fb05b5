"""What Keras' IMDB and Reuters loaders share: the file found (or fetched) like the other
datasets, its ragged arrays read without running pickled code, and Keras' recipe on the
sequences (shuffle with ``seed``, ``start_char``, ``index_from``, ``maxlen``, ``num_words``,
``skip_top``, ``oov_char``); and the word index, fetched once through ``utils.get_file``."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import files
from .files import DatasetError
from .safe_pickle import load_npz

KERAS_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
Sequences = list[list[int]]


def read_arrays(
    title: str,
    folder: str,
    name: str,
    sha256: str,
    keys: tuple[str, ...],
    data_dir: str | os.PathLike | None,
    download: bool,
    mirrors: list[str],
) -> dict[str, np.ndarray]:
    """The named arrays of Keras' ``name`` (.npz), found or fetched and checked."""

    def probe(directory: Path) -> Path | None:
        return directory / name if (directory / name).is_file() else None

    path = files.locate_download(
        title,
        folder,
        data_dir,
        probe,
        name,
        sha256,
        mirrors,
        download,
        f"put Keras' {name} in a folder and pass data_dir= or set MINICNN_DATA.",
    )
    try:
        arrays = load_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: corrupt, truncated or unsafe ({e}).") from None
    except Exception as e:  # a malformed pickle, whatever the exception type
        raise DatasetError(f"{path}: unreadable ragged arrays ({e}).") from None
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise DatasetError(f"{path}: not Keras' {title} file (no array {missing[0]!r}).")
    return arrays


def shuffled(rng: np.random.RandomState, *arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays in one random order (Keras' draws, so the same seed gives Keras' order)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [a[indices] for a in arrays]


def with_marks(xs: Any, start_char: int | None, index_from: int) -> Sequences:
    if start_char is not None:
        return [[start_char] + [int(w) + index_from for w in x] for x in xs]
    return [[int(w) + index_from for w in x] for x in xs]


def shorter_than(maxlen: int, xs: Sequences, labels: np.ndarray) -> tuple[Sequences, np.ndarray]:
    """Keras' remove_long_seq: the sequences (and labels) shorter than ``maxlen``."""
    keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in keep], labels[keep]


def capped(xs: Sequences, num_words: int | None, skip_top: int, oov_char: int | None) -> Sequences:
    """Words outside [skip_top, num_words) become ``oov_char``, or are dropped without one."""
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def word_index(
    name: str, md5: str, folder: str, data_dir: str | os.PathLike | None
) -> dict[str, int]:
    """A word index (JSON) from the places a dataset is looked for, else fetched once into
    the cache with ``utils.get_file`` (checked by Keras' MD5)."""
    from ..file_download import get_file

    for _, directory in files.search_dirs(data_dir, folder):
        if (directory / name).is_file():
            path = directory / name
            break
    else:
        path = Path(
            get_file(
                name,
                KERAS_FOLDER + name,
                file_hash=md5,
                cache_dir=files.cache_root(),
                cache_subdir=folder,
            )
        )
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: not a word index ({e}).") from None
    if not isinstance(index, dict):
        raise DatasetError(f"{path}: not a word index (a JSON object of word: index).")
    return index
