"""MNIST: 60,000 train and 10,000 test 28x28 greyscale images of the digits 0 to 9.

``load_data()`` reads Keras' ``mnist.npz`` (arrays x_train, y_train, x_test, y_test) from, in
order: ``data_dir``; ``$MINICNN_DATA`` (or its ``mnist`` folder); the cache (``$MINICNN_CACHE``
or ``~/.cache/minicnn``)``/mnist``; then downloads it into the cache from Keras' mirror, checking
its SHA-256 (the one Keras publishes). The file is read without pickles.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from . import files
from .files import DatasetError

FILE = "mnist.npz"
SHA256 = {FILE: "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}
MIRRORS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"]
SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _file_in(directory: Path) -> Path | None:
    return directory / FILE if (directory / FILE).is_file() else None


def locate(data_dir: str | os.PathLike | None = None, download_missing: bool = True) -> Path:
    """``mnist.npz``, from the first place that has it (downloading if allowed)."""
    return files.locate_download(
        "MNIST",
        "mnist",
        data_dir,
        _file_in,
        FILE,
        SHA256[FILE],
        MIRRORS,
        download_missing,
        f"put Keras' {FILE} in a folder and pass data_dir= or set MINICNN_DATA.",
    )


def load_data(data_dir: str | os.PathLike | None = None, download: bool = True) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28), labels (N,), as
    Keras gives them (any number of samples, so that a smaller file of the format loads)."""
    path = locate(data_dir, download_missing=download)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in SHAPES}
    except KeyError as e:
        raise DatasetError(f"{path}: not Keras' MNIST file (no array {e}).") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"{path}: corrupt or truncated ({e}).") from None
    for name, shape in SHAPES.items():
        array = arrays[name]
        if array.shape[1:] != shape[1:] or array.dtype != np.uint8:
            wanted = ("N", *shape[1:])
            raise DatasetError(
                f"{path}: {name} must be uint8 of shape {wanted}; got {array.dtype} {array.shape}."
            )
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        if len(arrays[images]) != len(arrays[labels]):
            raise DatasetError(
                f"{path}: {len(arrays[images])} {images} but {len(arrays[labels])} {labels}."
            )
        if arrays[labels].size and arrays[labels].max() > 9:
            raise DatasetError(f"{path}: {labels} outside 0..9.")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
