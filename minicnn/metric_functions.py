"""Keras 3's metric functions: ``minicnn.metrics.binary_accuracy(y_true, y_pred)`` and the
other accuracies give one value per sample (1.0 where it is right), as Keras' do, and the
correlations one per row; ``compile(metrics=
[minicnn.metrics.sparse_categorical_accuracy])`` takes the metric class of the same name,
and on a functional model's symbolic tensors each is one OpCall layer (for add_metric)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, ops
from .autograd import Tensor
from .symbolic_ops import keras_functions


def _arrays(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Both as arrays on the predictions' device (accuracy has no gradient)."""
    p = ops.convert_to_tensor(y_pred).data
    t = backend.to_device(ops._data(ops.convert_to_tensor(y_true)), backend.device_of(p))
    return t, p


def _class_ids(y_true: Any, y_pred: Any) -> Any:
    """Integer class ids, a trailing axis of 1 dropped (Keras squeezes it)."""
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true.astype(np.int64)


def _rate(hits: Any) -> Tensor:
    return Tensor(hits.astype(np.float32))


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """1 where a value's prediction > ``threshold`` matches its 0/1 target, value by value
    (Keras 3's; its BinaryAccuracy averages them)."""
    t, p = _arrays(y_true, y_pred)
    return _rate(t == (p > threshold))


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1 where the argmax of the target row is the argmax of the prediction."""
    t, p = _arrays(y_true, y_pred)
    return _rate(t.argmax(axis=-1) == p.argmax(axis=-1))


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1 where the class id is the argmax of the prediction."""
    t, p = _arrays(y_true, y_pred)
    return _rate(_class_ids(t, p) == p.argmax(axis=-1))


def _in_top_k(ids: Any, scores: Any, k: int) -> Any:
    """Whether each position's class is among its k best scores (a tie with the k-th
    counts, as Keras' in_top_k)."""
    xp = backend.get_array_module(scores)
    target = xp.take_along_axis(scores, ids[..., None], axis=-1)
    return (scores > target).sum(axis=-1) < k


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1 where the target row's argmax is among the k best predictions."""
    t, p = _arrays(y_true, y_pred)
    return _rate(_in_top_k(t.argmax(axis=-1), p, k))


def sparse_top_k_categorical_accuracy(
    y_true: Any, y_pred: Any, k: int = 5, from_sorted_ids: bool = False
) -> Tensor:
    """1 where the class id is among the k best predictions; with ``from_sorted_ids``,
    ``y_pred`` holds each sample's class ids best first (Keras' option)."""
    t, p = _arrays(y_true, y_pred)
    if from_sorted_ids:
        ids = _class_ids(t, p[..., :1])
        return _rate((p[..., :k] == ids[..., None]).any(axis=-1))
    return _rate(_in_top_k(_class_ids(t, p), p, k))


def _correlation(metric: Any, y_true: Any, y_pred: Any, axis: int) -> Tensor:
    t, p = _arrays(y_true, y_pred)
    xp = backend.get_array_module(p)
    t = xp.moveaxis(t.astype(p.dtype), axis, -1)
    return Tensor(metric.correlation(xp, t, xp.moveaxis(p, axis, -1)))


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Keras' Pearson correlation of targets and predictions along ``axis``."""
    from .regression_metrics import PearsonCorrelation

    return _correlation(PearsonCorrelation, y_true, y_pred, axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Keras' concordance correlation of targets and predictions along ``axis``."""
    from .regression_metrics import ConcordanceCorrelation

    return _correlation(ConcordanceCorrelation, y_true, y_pred, axis)


FUNCTIONS = keras_functions(
    [
        pearson_correlation,
        concordance_correlation,
        binary_accuracy,
        categorical_accuracy,
        sparse_categorical_accuracy,
        top_k_categorical_accuracy,
        sparse_top_k_categorical_accuracy,
    ],
    "metrics",
    "__keras_metric__",
)
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
