"""What the two house-price regression datasets share: an ``.npz`` of arrays x (samples,
features) and y (samples,), found where the other datasets are (or downloaded with the SHA-256
Keras publishes), shuffled with Keras' seed and split as Keras splits it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from . import files
from .files import DatasetError

MIRRORS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"]

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_npz(
    title: str,
    name: str,
    sha256: str,
    folder: str,
    data_dir: str | os.PathLike | None,
    download_missing: bool,
    mirrors: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the file ``name``, checked."""
    path: Path = files.locate_download(
        title,
        folder,
        data_dir,
        lambda d: d / name if (d / name).is_file() else None,
        name,
        sha256,
        mirrors,
        download_missing,
        f"put Keras' {name} in a folder and pass data_dir= or set MINICNN_DATA.",
    )
    try:
        with np.load(path, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"]
    except KeyError as e:
        raise DatasetError(f"{path}: not Keras' {title} file (no array {e}).") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"{path}: corrupt or truncated ({e}).") from None
    if x.ndim != 2 or y.shape != (len(x),):
        raise DatasetError(
            f"{path}: x must be (samples, features) and y (samples,); got {x.shape}, {y.shape}."
        )
    return x, y


def split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> Arrays:
    """Keras' split: shuffled by NumPy's RandomState(seed), the last ``test_split`` for test."""
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split!r}.")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
