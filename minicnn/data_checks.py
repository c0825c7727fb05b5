"""Validation of what users pass to fit/evaluate/predict, with errors that name the problem."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend

# --- sample shapes with unknown (None) sizes, as Keras' Input((None, 3)) ------------------------


def has_unknown(shape: Any) -> bool:
    """Whether a sample shape (or a list or tuple of them) has a None size."""
    if isinstance(shape, (list, tuple)):
        return any(d is None or (isinstance(d, (list, tuple)) and has_unknown(d)) for d in shape)
    return shape is None


def fits(actual: Any, declared: Any) -> bool:
    """Whether an actual sample shape fits a declared one: the same rank, and the same size
    on each axis whose declared size is not None."""
    actual, declared = tuple(actual), tuple(declared)
    return len(actual) == len(declared) and all(
        d is None or int(a) == d for a, d in zip(actual, declared, strict=True)
    )


def shape_text(shape: Any) -> str:
    """A full shape as Keras prints it: ``(None, 28, 28, 1)`` (the batch first), ``(None,)``
    for one value per sample."""
    return str((None, *shape))


def finite_number(value: Any, name: str, owner: str, minimum: float | None = None) -> float:
    """A layer argument as a float, or a ValueError naming it."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"{owner}: {name} must be a finite number{bound}, got {value!r}.")
    return float(value)


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1 (NumPy integers too; not bools), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def as_input_batch(
    x: Any, input_shape: tuple[int, ...] | None, model_name: str, dtype: str | None = None
) -> np.ndarray:
    """x as a float32 array of shape (N, *input_shape), or a ValueError/TypeError saying why
    not; for an Input of an integer dtype, integers of it; for an Input of dtype "string",
    texts as they are (a flat list of them fits an Input of shape (1,))."""
    if dtype == "string":
        return _as_text_batch(x, input_shape, model_name)
    x = backend.to_numpy(x) if not isinstance(x, np.ndarray) else x
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"x must be a numeric array; got dtype {x.dtype}.")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"x must hold real numbers; got dtype {x.dtype}.")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x is empty (shape {x.shape}); pass at least one sample.")
    x = _one_per_sample(x, input_shape)
    if input_shape is not None and not fits(x.shape[1:], input_shape):
        raise ValueError(
            f"Model '{model_name}' expects input of shape {shape_text(input_shape)}; got x of "
            f"shape {x.shape}."
        )
    if _integer_dtype(dtype):  # an Input(dtype="int64"): ids (IntegerLookup's tokens) stay whole
        if x.dtype.kind == "f" and not np.all(np.isfinite(x) & (x == np.round(x))):
            raise ValueError(f"Model '{model_name}' takes integers ({dtype}); x holds fractions.")
        return np.asarray(x, dtype=dtype)
    x = np.asarray(x, dtype=backend.FLOAT)
    if not np.isfinite(x).all():
        bad = int(np.argwhere(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0, 0])
        raise ValueError(f"x contains NaN or inf (first in sample {bad}).")
    return x


def _integer_dtype(dtype: Any) -> bool:
    try:
        return dtype is not None and np.dtype(dtype).kind in "iu"
    except TypeError:
        return False


def integer_ids(y: np.ndarray, owner: str) -> np.ndarray:
    """y as int64 class ids: integers, or floats with integer values; else an error that
    starts with ``owner`` ("y must hold", "to_categorical takes")."""
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"{owner} integer class ids; got dtype {y.dtype}.")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise ValueError(f"{owner} integer class ids; it has non-integer values.")
    return y.astype(np.int64)


def _one_per_sample(x: np.ndarray, input_shape: Any) -> np.ndarray:
    """x with its rank adjusted to the Input's, as Keras' functional models adjust it: an
    axis of size 1 added where the Input ends in one (a flat array for an Input of shape
    (1,), volumes of (depth, height, width) for one of (..., 1)), or a last axis of size 1
    taken off where the Input has none."""
    if input_shape is None:
        return x
    rank = len(input_shape)
    if x.ndim == rank and rank and input_shape[-1] == 1:
        return x[..., None]
    if x.ndim == rank + 2 and x.shape[-1] == 1:
        return x[..., 0]
    return x


def _as_text_batch(x: Any, input_shape: Any, model_name: str) -> np.ndarray:
    texts = np.asarray(x, dtype=object)
    if texts.ndim == 0 or len(texts) == 0:
        raise ValueError(f"x is empty (shape {texts.shape}); pass at least one text.")
    if not all(isinstance(t, (str, bytes)) for t in texts.reshape(-1)):
        raise TypeError(f"Model '{model_name}' takes texts (str or bytes) for its string input.")
    texts = _one_per_sample(texts, input_shape)
    if input_shape is not None and not fits(texts.shape[1:], input_shape):
        raise ValueError(
            f"Model '{model_name}' expects texts of shape {shape_text(input_shape)}; got x of "
            f"shape {texts.shape}."
        )
    return texts


def as_labels(
    y: Any, n: int, classes: int, positions: tuple[int, ...] = (), ignore: int | None = None
) -> np.ndarray:
    """y as int64 class ids of shape (n, *positions) ((n,) for a classifier; a map's or a
    sequence's positions otherwise), or a ValueError saying why not; ``ignore`` (a loss's
    ignore_class, 255 in many segmentation sets) may stand outside the classes."""
    y = np.asarray(backend.to_numpy(y))
    wanted = (n, *positions)
    if y.ndim == len(wanted) + 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.ndim == len(wanted) + 1 and y.shape[-1] == classes and classes > 1:
        raise ValueError(
            f"y has shape {y.shape}, which looks one-hot; sparse_categorical_crossentropy takes "
            f"integer class ids of shape {('N', *positions)}. Pass y.argmax(axis=-1), or "
            'compile with loss="categorical_crossentropy".'
        )
    if y.ndim != len(wanted) or (len(y) == n and not fits(y.shape[1:], positions)):
        shape = "(N,)" if not positions else str(("N", *positions)).replace("'", "")
        raise ValueError(f"y must be integer class ids of shape {shape}; got shape {y.shape}.")
    if len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y)}.")
    y = integer_ids(y, "y must hold")
    counted = y if ignore is None else y[y != ignore]
    if len(counted) and (counted.min() < 0 or counted.max() >= classes):
        but = "" if ignore is None else f" or ignore_class {ignore}"
        raise ValueError(
            f"Labels must be in 0..{classes - 1} (the model has {classes} outputs){but}; "
            f"got values from {counted.min()} to {counted.max()}."
        )
    return y


def as_target_rows(y: Any, n: int, classes: int, positions: tuple[int, ...] = ()) -> np.ndarray:
    """y as float32 target distributions of shape (n, *positions, classes), or an error
    saying why not."""
    y = np.asarray(backend.to_numpy(y))
    depth = len(positions) + 2
    if y.ndim == depth - 1 or (y.ndim == depth and y.shape[-1] == 1 and classes > 1):
        raise ValueError(
            f"y has shape {y.shape}, which looks like class ids; categorical_crossentropy takes "
            f"one-hot rows of shape {('N', *positions, classes)}. Compile with "
            'loss="sparse_categorical_crossentropy", or pass one-hot rows.'.replace("'N'", "N")
        )
    if y.ndim != depth or y.shape[-1] != classes or not fits(y.shape[1:-1], positions):
        raise ValueError(
            f"y must be target rows of shape {('N', *positions, classes)} (the model has "
            f"{classes} outputs); got shape {y.shape}.".replace("'N'", "N")
        )
    if len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y)}.")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"y must hold numbers; got dtype {y.dtype}.")
    y = y.astype(backend.FLOAT)
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("y's target rows must hold finite, non-negative values.")
    return y


def as_target_array(y: Any, n: int, output_shape: tuple[int, ...], loss: str) -> np.ndarray:
    """y as float32 targets of shape (n, *output_shape) (a flat y fits one output per sample),
    or an error saying why not."""
    y = np.asarray(backend.to_numpy(y))
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"y must hold numbers; got dtype {y.dtype}.")
    if len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y)}.")
    if y.ndim == 1 and output_shape == (1,):
        y = y[:, None]
    if not fits(y.shape[1:], output_shape):
        raise ValueError(
            f"{loss} takes targets of the outputs' shape {(None, *output_shape)}; got y of "
            f"shape {y.shape}."
        )
    y = y.astype(backend.FLOAT)
    if not np.isfinite(y).all():
        raise ValueError("y must hold finite values (no NaN or inf).")
    return y


def as_any_targets(y: Any, n: int, loss: str, keep_integers: bool = False) -> np.ndarray:
    """y as float32 targets of any shape with ``n`` rows (a custom loss reads them as it
    likes; ``keep_integers`` leaves integer ones as int64), or an error saying why not."""
    y = np.asarray(backend.to_numpy(y))
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"y must hold numbers; got dtype {y.dtype}.")
    if y.ndim == 0 or len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y) if y.ndim else 0}.")
    if keep_integers and (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        return y.astype(np.int64)
    y = y.astype(backend.FLOAT)
    if not np.isfinite(y).all():
        raise ValueError(f"y must hold finite values for loss '{loss}' (no NaN or inf).")
    return y


def as_sample_weights(weights: Any, n: int) -> np.ndarray:
    """Loss weights as float32: one per sample, shape (n,), or one per position of a
    sequence or map output, (n, *positions) (Keras' temporal weights); or an error saying
    why not."""
    w = np.asarray(backend.to_numpy(weights))
    if not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
        raise TypeError(f"sample_weight must hold numbers; got dtype {w.dtype}.")
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim == 0 or w.shape[0] != n:
        raise ValueError(
            f"sample_weight must have one weight per sample, shape ({n},), or one per "
            f"position of the output, ({n}, *positions); got {w.shape}."
        )
    w = w.astype(backend.FLOAT)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must hold finite, non-negative numbers.")
    return w


def class_weights_to_sample_weights(y: Any, class_weight: Any) -> np.ndarray:
    """Keras' rule: each sample gets the weight of its class (the argmax of a one-hot row),
    and 1.0 when ``class_weight`` does not name its class."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be a dict {{class id: weight}}, got {type(class_weight).__name__}."
        )
    for key, value in class_weight.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"class_weight[{key!r}] must be a non-negative number, got {value!r}.")
    y = np.asarray(backend.to_numpy(y))
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] > 1 else y[..., 0]
    ids = np.round(y).astype(np.int64).reshape(-1)
    return np.array([class_weight.get(int(c), 1.0) for c in ids], dtype=backend.FLOAT)
