"""The study's data: Fashion-MNIST scaled to [0, 1] as float32 (N, 28, 28, 1)."""

from __future__ import annotations

import numpy as np

from ..datasets import fashion_mnist

RECIPE = (
    "Fashion-MNIST, pixels/255 as float32 (N, 28, 28, 1); Adam(lr 1e-3, beta_1 0.9, beta_2 0.999, "
    "epsilon 1e-7); sparse categorical cross-entropy on softmax; glorot-uniform weights, zero "
    "biases; dropout 0.2 after hidden dense layers; max-pool 2x2; reshuffled every epoch; "
    "the test set is the validation set."
)

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def prepare_images(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / np.float32(255.0))[..., None]


def load_fashion_mnist(data_dir: str | None, max_train: int | None, max_test: int | None) -> Splits:
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(data_dir)
    x_train, y_train = x_train[:max_train], y_train[:max_train]
    x_test, y_test = x_test[:max_test], y_test[:max_test]
    return (prepare_images(x_train), y_train), (prepare_images(x_test), y_test)
