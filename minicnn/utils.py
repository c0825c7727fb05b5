"""Small helpers Keras users reach for, under Keras' names."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .backend import set_random_seed
from .batches import PyDataset
from .data_checks import integer_ids
from .datasets.image_folders import image_dataset_from_directory
from .datasets.timeseries import timeseries_dataset_from_array
from .image_utils import array_to_img, img_to_array, load_img, save_img
from .model_plot import model_to_dot, plot_model

# Keras 2's name of PyDataset, which Keras 3 keeps.
Sequence = PyDataset

__all__ = [
    "PyDataset",
    "Sequence",
    "array_to_img",
    "image_dataset_from_directory",
    "img_to_array",
    "load_img",
    "model_to_dot",
    "pad_sequences",
    "plot_model",
    "normalize",
    "save_img",
    "set_random_seed",
    "timeseries_dataset_from_array",
    "to_categorical",
]


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


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: str = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: float = 0.0,
) -> np.ndarray:
    """Keras' ``pad_sequences``: lists of token ids of any lengths as one (n, maxlen) array,
    padded with ``value`` and cut to ``maxlen`` (default: the longest), at the start
    ('pre', Keras' default) or the end ('post') of each sequence."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(
            f"padding and truncating must be 'pre' or 'post'; got {padding!r}, {truncating!r}."
        )
    rows = [np.asarray(s) for s in sequences]
    if any(r.ndim != 1 for r in rows):
        raise ValueError("pad_sequences takes a list of flat sequences.")
    length = max((len(r) for r in rows), default=0) if maxlen is None else int(maxlen)
    if length < 0:
        raise ValueError(f"maxlen must be >= 0, got {maxlen!r}.")
    out = np.full((len(rows), length), value, dtype=dtype)
    for i, row in enumerate(rows):
        kept = row[-length:] if truncating == "pre" else row[:length]
        if length == 0 or not len(kept):
            continue
        if padding == "pre":
            out[i, length - len(kept) :] = kept
        else:
            out[i, : len(kept)] = kept
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """Keras' utils.normalize: ``x`` divided by its ``order``-norm along ``axis`` (a zero
    norm left as 1, so a zero vector stays zero)."""
    array = np.asarray(backend.to_numpy(x))
    norm = np.atleast_1d(np.linalg.norm(array, order, axis))
    norm[norm == 0] = 1
    return array / np.expand_dims(norm, axis)
