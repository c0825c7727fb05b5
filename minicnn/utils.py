"""Small helpers Keras users reach for, under Keras' names."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, bounding_boxes
from .backend import clear_session, set_random_seed
from .batches import PyDataset
from .data_checks import integer_ids
from .datasets.image_folders import image_dataset_from_directory
from .datasets.text_audio_folders import audio_dataset_from_directory, text_dataset_from_directory
from .datasets.timeseries import timeseries_dataset_from_array
from .feature_space import FeatureSpace
from .file_download import get_file
from .image_utils import array_to_img, img_to_array, load_img, save_img
from .model_plot import model_to_dot, plot_model
from .progress import (
    Progbar,
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from .registry import (
    custom_object_scope,
    get_custom_objects,
    get_registered_object,
    register_keras_serializable,
)
from .registry import registered_name as get_registered_name
from .serialization import deserialize_keras_object, serialize_keras_object

CustomObjectScope = custom_object_scope  # Keras' other name of it

# Keras 2's name of PyDataset, which Keras 3 keeps.
Sequence = PyDataset

__all__ = [
    "bounding_boxes",
    "Config",
    "CustomObjectScope",
    "get_custom_objects",
    "deserialize_keras_object",
    "serialize_keras_object",
    "standardize_dtype",
    "FeatureSpace",
    "Progbar",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "is_interactive_logging_enabled",
    "PyDataset",
    "Sequence",
    "clear_session",
    "custom_object_scope",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "get_source_inputs",
    "is_keras_tensor",
    "pack_x_y_sample_weight",
    "register_keras_serializable",
    "split_dataset",
    "text_dataset_from_directory",
    "unpack_x_y_sample_weight",
    "array_to_img",
    "audio_dataset_from_directory",
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


# Keras' dtype names: Python's types, and every NumPy dtype's name.
_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", str: "string", "int": "int64"}
_ALLOWED_DTYPES = {
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "string",
    "complex64",
    "complex128",
}


def standardize_dtype(dtype: Any = None) -> str:
    """Keras' ``standardize_dtype``: a dtype's name ("float32", "int64", ...) from a name,
    a NumPy (or CuPy) dtype or type, or a Python type (float is "float32", int "int64", as
    Keras has them); None is the float type, "float32"."""
    if dtype is None:
        return np.dtype(backend.FLOAT).name
    dtype = _PYTHON_DTYPES.get(dtype, dtype) if isinstance(dtype, (type, str)) else dtype
    if isinstance(dtype, str) and dtype in _ALLOWED_DTYPES:
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None)
    if name not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}.")
    return name


class Config:
    """Keras' ``utils.Config``: settings read as attributes or items (``config.lr`` or
    ``config["lr"]``), which ``freeze()`` makes read-only."""

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_values", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _check_unfrozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot change a frozen Config; call unfreeze() first.")

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"Unknown attribute: '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        self._check_unfrozen()
        self._values[name] = value

    def __delattr__(self, name: str) -> None:
        self._check_unfrozen()
        if name not in self._values:
            raise AttributeError(f"Unknown attribute: '{name}'")
        del self._values[name]

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__setattr__(key, value)

    def __delitem__(self, key: str) -> None:
        self._check_unfrozen()
        del self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Any:
        return iter(self._values)

    def keys(self) -> Any:
        return self._values.keys()

    def values(self) -> Any:
        return self._values.values()

    def items(self) -> Any:
        return self._values.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._check_unfrozen()
        self._values.update(*args, **kwargs)

    def pop(self, *args: Any) -> Any:
        self._check_unfrozen()
        return self._values.pop(*args)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def to_json(self) -> str:
        import json

        return json.dumps(self._values)

    def __repr__(self) -> str:
        return f"<Config {self._values}>"


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


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> tuple[Any, ...]:
    """Keras' packing of one batch: (x,), (x, y) or (x, y, sample_weight)."""
    if y is None:
        return (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) from a batch of one, two or three parts (None where missing)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(
            f"A batch is (x,), (x, y) or (x, y, sample_weight); got {len(data)} parts."
        )
    return (*data, *(None,) * (3 - len(data)))  # type: ignore[return-value]


def split_dataset(
    dataset: Any,
    left_size: float | int | None = None,
    right_size: float | int | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[Any, Any]:
    """Keras' split_dataset for arrays (or a tuple or list of arrays with one sample per row):
    the left and right parts, as the same structure; a size is a fraction (float) or a count
    (int); one given, the other is the rest; none given, half and half."""
    parts = list(dataset) if isinstance(dataset, (tuple, list)) else [dataset]
    arrays = [np.asarray(part) for part in parts]
    total = len(arrays[0])
    if any(len(a) != total for a in arrays):
        raise ValueError("split_dataset: every array needs the same number of samples.")

    def count(size: float | int | None) -> int | None:
        if size is None:
            return None
        if isinstance(size, float):
            if not 0 < size < 1:
                raise ValueError(f"split_dataset: a fraction must be in (0, 1), got {size}.")
            return int(round(size * total))
        if not 0 < size <= total:
            raise ValueError(f"split_dataset: a size must be in 1..{total}, got {size}.")
        return int(size)

    left, right = count(left_size), count(right_size)
    if left is None and right is None:
        left = total // 2
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: {left} + {right} samples exceed the {total} given.")
    order = np.random.default_rng(seed).permutation(total) if shuffle else np.arange(total)
    picked = [order[:left], order[left : left + right]]
    halves = [[a[index] for a in arrays] for index in picked]
    if isinstance(dataset, (tuple, list)):
        return tuple(type(dataset)(half) for half in halves)  # type: ignore[return-value]
    return halves[0][0], halves[1][0]


def is_keras_tensor(x: Any) -> bool:
    """Whether x is a symbolic tensor of a model's graph (an Input or a layer's output)."""
    from .layer_base import SymbolicTensor

    return isinstance(x, SymbolicTensor)


def get_source_inputs(tensor: Any) -> list[Any]:
    """The Inputs a symbolic tensor is computed from, in order."""
    from .layer_base import Input

    found: list[Any] = []

    def walk(t: Any) -> None:
        if isinstance(t, Input):
            if not any(t is f for f in found):
                found.append(t)
            return
        for source in t.inputs:
            walk(source)

    walk(tensor)
    return found
