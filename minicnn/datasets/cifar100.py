"""CIFAR-100: 50,000 train and 10,000 test 32x32 colour images of 100 classes, grouped in 20
superclasses.

``load_data(label_mode="fine")`` reads the official python-version tarball
``cifar-100-python.tar.gz`` (or its extracted ``cifar-100-python`` folder) from, in order:
``data_dir``; ``$MINICNN_DATA`` (or its ``cifar-100`` folder); the cache (``$MINICNN_CACHE`` or
``~/.cache/minicnn``)``/cifar-100``; then downloads it into the cache, checking its SHA-256 (the
one Keras publishes). Its pickles are read as CIFAR-10's are: plain containers and arrays
only.
"""

from __future__ import annotations

import os

import numpy as np

from . import files
from .cifar10 import Source, batch_arrays, source_in, unpickle

ARCHIVE = "cifar-100-python.tar.gz"
FOLDER = "cifar-100-python"
SHA256 = {ARCHIVE: "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"}
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
CLASSES = {"fine": 100, "coarse": 20}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def locate(data_dir: str | os.PathLike | None = None, download_missing: bool = True) -> Source:
    """The tarball or folder, from the first place that has it (downloading if allowed)."""
    return files.locate_download(
        "CIFAR-100",
        "cifar-100",
        data_dir,
        lambda directory: source_in(directory, ARCHIVE, FOLDER),
        ARCHIVE,
        SHA256[ARCHIVE],
        MIRRORS,
        download_missing,
        f"put the official {ARCHIVE} (python version) in a folder and pass data_dir= or set "
        "MINICNN_DATA.",
    )


def load_data(
    label_mode: str = "fine", data_dir: str | os.PathLike | None = None, download: bool = True
) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3), labels (N, 1),
    the 100 fine classes or, with ``label_mode="coarse"``, the 20 superclasses (Keras')."""
    if label_mode not in CLASSES:
        raise ValueError(f'label_mode must be one of "fine", "coarse"; got {label_mode!r}.')
    source = locate(data_dir, download_missing=download)
    key = f"{label_mode}_labels".encode()
    parts = []
    for name in ("train", "test"):
        where = f"{source.path}:{name}"
        batch = unpickle(source.read(name), where, key, "CIFAR-100")
        parts.append(batch_arrays(batch, where, key, CLASSES[label_mode]))
    return parts[0], parts[1]
