"""A small tarball in the format of the official CIFAR-10 python version."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from minicnn.datasets import cifar10


def batch_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    # Official rows are channel-major: 1024 red, 1024 green, 1024 blue values.
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    batch = {
        b"batch_label": b"test",
        b"labels": labels.tolist(),
        b"data": rows,
        b"filenames": [b"x.png"] * len(images),
    }
    return pickle.dumps(batch, protocol=2)


def make_cifar_like(per_batch: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    batches = {}
    for name in [*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]:
        labels = rng.integers(0, 10, per_batch)
        images = rng.integers(0, 60, (per_batch, 32, 32, 3)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 3 * label : 3 * label + 2, :, label % 3] = 250
        batches[name] = (images, labels)
    return batches


def write_cifar_tarball(
    directory: Path,
    per_batch: int = 20,
    skip: str | None = None,
    replace: dict[str, bytes] | None = None,
):
    directory.mkdir(parents=True, exist_ok=True)
    batches = make_cifar_like(per_batch)
    path = directory / cifar10.ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        for name, (images, labels) in batches.items():
            if name == skip:
                continue
            data = (replace or {}).get(name) or batch_bytes(images, labels)
            info = tarfile.TarInfo(f"{cifar10.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path, batches
