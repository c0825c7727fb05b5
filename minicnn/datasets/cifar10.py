"""CIFAR-10: 50,000 train and 10,000 test 32x32 colour images of 10 classes.

``load_data()`` reads the official python-version tarball ``cifar-10-python.tar.gz`` (or its
extracted ``cifar-10-batches-py`` folder) from, in order: ``data_dir``; ``$MINICNN_DATA`` (or its
``cifar-10`` folder); the cache (``$MINICNN_CACHE`` or ``~/.cache/minicnn``)``/cifar-10``; then
downloads it into the cache, checking its SHA-256. The batches inside are pickles: they are read
with an unpickler that accepts only plain containers and NumPy arrays, so a crafted file cannot
run code.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from . import files
from .files import DatasetError
from .safe_pickle import safe_loads

class_names = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
SHA256 = {ARCHIVE: "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"}
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def unpickle(
    data: bytes, where: str, label_key: bytes = b"labels", title: str = "CIFAR-10"
) -> dict[bytes, Any]:
    """A batch's dict, read by the unpickler that refuses code."""
    try:
        batch = safe_loads(data, encoding="bytes")
    except Exception as e:  # any malformed pickle, whatever the exception type
        raise DatasetError(f"{where}: not a {title} batch ({e}).") from None
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        label = label_key.decode()
        raise DatasetError(f"{where}: not a {title} batch (no data and {label} entries).")
    return batch


def batch_arrays(
    batch: dict[bytes, Any], where: str, label_key: bytes = b"labels", classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """A batch's images (N, 32, 32, 3) and labels (N, 1), uint8."""
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(f"{where}: data must be uint8 rows of 3072 pixels, got {data.shape}.")
    if labels.shape != (len(data),):
        raise DatasetError(f"{where}: {len(data)} images but {labels.size} labels.")
    if labels.size and (labels.min() < 0 or labels.max() > classes - 1):
        raise DatasetError(f"{where}: labels outside 0..{classes - 1}.")
    # Rows are channel-major (1024 red, 1024 green, 1024 blue); we train channels-last.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.uint8).reshape(-1, 1)


class Source:
    """Batches from a tarball or an extracted ``folder``."""

    def __init__(self, path: Path, folder: str = FOLDER) -> None:
        self.path, self.folder = path, folder

    def read(self, name: str) -> bytes:
        if self.path.is_dir():
            member = self.path / name
            if not member.is_file():
                raise DatasetError(f"{self.path}: batch {name} is missing.")
            return member.read_bytes()
        try:
            with tarfile.open(self.path, "r:*") as tar:
                f = tar.extractfile(f"{self.folder}/{name}")
                if f is None:
                    raise KeyError(name)
                return f.read()
        except KeyError:
            raise DatasetError(f"{self.path}: batch {self.folder}/{name} is missing.") from None
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DatasetError(f"{self.path}: corrupt or truncated tarball ({e}).") from None


def source_in(directory: Path, archive: str = ARCHIVE, folder: str = FOLDER) -> Source | None:
    """The tarball or the extracted folder in ``directory`` (or ``directory`` itself)."""
    if (directory / archive).is_file():
        return Source(directory / archive, folder)
    if (directory / folder).is_dir():
        return Source(directory / folder, folder)
    if directory.name == folder and directory.is_dir():
        return Source(directory, folder)
    return None


def locate(data_dir: str | os.PathLike | None = None, download_missing: bool = True) -> Source:
    """The tarball or folder, from the first place that has it (downloading if allowed)."""
    return files.locate_download(
        "CIFAR-10",
        "cifar-10",
        data_dir,
        source_in,
        ARCHIVE,
        SHA256[ARCHIVE],
        MIRRORS,
        download_missing,
        f"put the official {ARCHIVE} (python version) in a folder and pass data_dir= or set "
        "MINICNN_DATA.",
    )


def load_data(data_dir: str | os.PathLike | None = None, download: bool = True) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3), labels (N, 1)."""
    source = locate(data_dir, download_missing=download)
    parts = []
    for name in [*TRAIN_BATCHES, TEST_BATCH]:
        where = f"{source.path}:{name}"
        parts.append(batch_arrays(unpickle(source.read(name), where), where))
    x_train = np.concatenate([p[0] for p in parts[:-1]])
    y_train = np.concatenate([p[1] for p in parts[:-1]])
    return (x_train, y_train), parts[-1]
