"""Datasets, loaded as Keras loads them: ``(x_train, y_train), (x_test, y_test)`` as uint8."""

from . import fashion_mnist
from .files import DatasetError

__all__ = ["DatasetError", "fashion_mnist"]
