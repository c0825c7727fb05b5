"""Fashion-MNIST (Zalando): 60,000 train and 10,000 test 28x28 greyscale images of 10 classes.

``load_data()`` looks, in order, in: ``data_dir``; ``$MINICNN_DATA`` (or its ``fashion-mnist``
folder); the cache (``$MINICNN_CACHE`` or ``~/.cache/minicnn``)``/fashion-mnist``; Debian's
``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``); then downloads
into the cache, checking each file's SHA-256.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import files
from .files import DatasetError, cache_root, download, find_file, open_maybe_gzip, parse_idx

class_names = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# SHA-256 of each file's *decompressed* IDX bytes, which stay the same when a mirror or a
# distribution recompresses the .gz files.
SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    "train-labels-idx1-ubyte.gz": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}

MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
]

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where ``load_data`` looks, in order, each with the reason it looks there."""
    return [
        *files.search_dirs(data_dir, "fashion-mnist"),
        ("Debian package dataset-fashion-mnist", SYSTEM_DIR),
    ]


def _complete(directory: Path) -> dict[str, Path] | None:
    found = {key: find_file(directory, name) for key, name in FILES.items()}
    return found if all(found.values()) else None


def locate(
    data_dir: str | os.PathLike | None = None, download_missing: bool = True
) -> dict[str, Path]:
    """The four files, from the first place that has all of them (downloading if allowed)."""
    return files.locate(
        "Fashion-MNIST",
        search_dirs(data_dir),
        _complete,
        cache_root() / "fashion-mnist",
        (lambda cache: download(list(FILES.values()), SHA256, MIRRORS, cache))
        if download_missing
        else None,
        "`apt-get install dataset-fashion-mnist`, or put the four IDX files "
        f"({', '.join(FILES.values())}) in a folder and pass data_dir= or set MINICNN_DATA.",
    )


def read_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = parse_idx(open_maybe_gzip(images_path), images_path, expected_ndim=3)
    labels = parse_idx(open_maybe_gzip(labels_path), labels_path, expected_ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DatasetError(
            f"{images_path}, {labels_path}: Fashion-MNIST files hold unsigned bytes."
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels."
        )
    if len(labels) and labels.max() >= len(class_names):
        raise DatasetError(f"{labels_path}: label {labels.max()} is not one of the 10 classes.")
    return images, labels


def load_data(data_dir: str | os.PathLike | None = None, download: bool = True) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8 labels (N,)."""
    files = locate(data_dir, download_missing=download)
    train = read_split(files["train_images"], files["train_labels"])
    test = read_split(files["test_images"], files["test_labels"])
    return train, test
