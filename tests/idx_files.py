"""Small IDX files written by the tests themselves."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from minicnn.datasets import fashion_mnist


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def make_fashion_like(n_train: int = 256, n_test: int = 128, seed: int = 0):
    """Images whose class is visible (a bright band at a class-dependent row) plus noise."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 250
        return images, labels

    return split(n_train), split(n_test)


def write_fashion_dir(directory: Path, n_train: int = 256, n_test: int = 128, seed: int = 0):
    directory.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = make_fashion_like(n_train, n_test, seed)
    files = fashion_mnist.FILES
    write_idx(directory / files["train_images"], xtr)
    write_idx(directory / files["train_labels"], ytr)
    write_idx(directory / files["test_images"], xte)
    write_idx(directory / files["test_labels"], yte)
    return (xtr, ytr), (xte, yte)
