"""Small helpers Keras users reach for, under Keras' names."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .batches import PyDataset
from .data_checks import integer_ids
from .datasets.image_folders import image_dataset_from_directory

__all__ = ["PyDataset", "image_dataset_from_directory", "to_categorical"]


def to_categorical(y: Any, num_classes: int | None = None) -> np.ndarray:
    """Class ids as one-hot rows: shape ``y.shape + (num_classes,)`` (a trailing axis of 1 is
    dropped first, as Keras does), float32. ``num_classes`` defaults to ``max(y) + 1``."""
    ids = integer_ids(np.asarray(backend.to_numpy(y)), "to_categorical takes")
    if ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]
    if num_classes is None:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(
            f"to_categorical: class ids must be in 0..{num_classes - 1}; got values from "
            f"{ids.min()} to {ids.max()}."
        )
    return np.eye(num_classes, dtype=backend.FLOAT)[ids]
