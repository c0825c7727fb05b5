"""The study's data: images scaled to [0, 1] as float32, channels-last."""

from __future__ import annotations

import numpy as np

from ..datasets import cifar10, fashion_mnist

RECIPE = (
    "pixels/255 as float32, channels-last; Adam(lr 1e-3, beta_1 0.9, beta_2 0.999, "
    "epsilon 1e-7); sparse categorical cross-entropy on softmax; glorot-uniform weights, zero "
    "biases; dropout 0.2 after hidden dense layers; max-pool 2x2; reshuffled every epoch; "
    "the test set is the validation set."
)

DATASETS = {"fashion_mnist": fashion_mnist, "cifar10": cifar10}

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def prepare_images(x: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) -> float32 (N, H, W, C) in [0, 1]."""
    x = x.astype(np.float32) / np.float32(255.0)
    return x[..., None] if x.ndim == 3 else x


def class_names(dataset: str) -> list[str]:
    return list(DATASETS[dataset].class_names)


def load_dataset(
    dataset: str, data_dir: str | None, max_train: int | None, max_test: int | None
) -> Splits:
    """The dataset's train and test splits (the first N images of each when asked)."""
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; known: {', '.join(DATASETS)}.")
    (x_train, y_train), (x_test, y_test) = DATASETS[dataset].load_data(data_dir)
    x_train, y_train = x_train[:max_train], y_train[:max_train].reshape(-1)
    x_test, y_test = x_test[:max_test], y_test[:max_test].reshape(-1)
    return (prepare_images(x_train), y_train), (prepare_images(x_test), y_test)
