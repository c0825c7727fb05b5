"""Datasets, loaded as Keras loads them: ``(x_train, y_train), (x_test, y_test)`` as uint8."""

from . import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from .files import DatasetError

__all__ = [
    "DatasetError",
    "boston_housing",
    "california_housing",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
]
