"""Keras 3's loss functions: ``minicnn.losses.mean_squared_error(y_true, y_pred)`` and the
rest give one loss per sample (reduced over the last axis, as Keras' are), written with
``minicnn.ops`` so that autograd differentiates them. A loss class with a reduction other
than Keras' default (``MeanSquaredError(reduction="none")``) computes its losses with them;
``compile(loss=minicnn.losses.mean_squared_error)`` takes the class of the same name; and on
a functional model's symbolic tensors each is one OpCall layer, as in tf.keras' functional
losses (``model.add_loss(ops.mean(binary_crossentropy(x, decoded)))``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend, ops
from .autograd import Tensor
from .config import epsilon as backend_epsilon
from .formula_losses import (
    CTC,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Dice,
    Tversky,
    _check_fraction,
    categorical_generalized_cross_entropy,
    circle,
)
from .symbolic_ops import keras_functions


def _pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    """Both as Tensors, the targets in the predictions' float dtype."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((y_pred - y_true) ** 2) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.square(p - t), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(|y_pred - y_true|) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.abs(p - t), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 mean(|y_true - y_pred| / max(|y_true|, eps)) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return 100.0 * ops.mean(ops.abs((t - p) / ops.maximum(ops.abs(t), backend_epsilon())), axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2) over the last axis."""
    t, p = _pair(y_true, y_pred)
    eps = backend_epsilon()
    first = ops.log(ops.maximum(p, eps) + 1.0)
    second = ops.log(ops.maximum(t, eps) + 1.0)
    return ops.mean(ops.square(first - second), axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """0.5 e ** 2 where |e| <= delta, delta |e| - 0.5 delta ** 2 beyond, e = y_pred - y_true;
    the mean over the last axis."""
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
        raise ValueError(f"huber: delta must be a positive number, got {delta!r}.")
    t, p = _pair(y_true, y_pred)
    error = p - t
    size = ops.abs(error)
    value = ops.where(
        size <= delta, 0.5 * ops.square(error), delta * size - 0.5 * float(delta) ** 2
    )
    return ops.mean(value, axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true))) over the last axis (computed so that it never
    overflows)."""
    t, p = _pair(y_true, y_pred)
    error = p - t
    return ops.mean(error + ops.softplus(-2.0 * error) - math.log(2.0), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true log(y_pred + eps)) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(p - t * ops.log(p + backend_epsilon()), axis=-1)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(y_true log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""
    t, p = _pair(y_true, y_pred)
    eps = backend_epsilon()
    t, p = ops.clip(t, eps, 1.0), ops.clip(p, eps, 1.0)
    return ops.sum(t * ops.log(t / p), axis=-1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras' rule: targets that are all 0 or 1 become -1 and 1; others stay."""
    data = y_true.data
    xp = backend.get_array_module(data)
    binary = xp.all((data == 0) | (data == 1))
    return Tensor(xp.where(binary, 2 * data - 1, data))


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true y_pred, 0)) over the last axis; 0/1 targets are taken as -1/1."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.maximum(1.0 - _hinge_labels(t) * p, 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true y_pred, 0) ** 2) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.square(ops.maximum(1.0 - _hinge_labels(t) * p, 0.0)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """max(neg - pos + 1, 0): pos the score of the true class, neg the best other one."""
    return CategoricalHinge(reduction=None).call(*_pair(y_true, y_pred))


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """The negative cosine similarity of targets and predictions along ``axis``."""
    return CosineSimilarity(axis=axis, reduction=None).call(*_pair(y_true, y_pred))


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """The mean binary cross-entropy over ``axis``; probabilities are clipped to [eps,
    1 - eps], logits taken by the stable formula; ``label_smoothing`` pulls the targets
    towards 1/2."""
    smoothing = _check_fraction(label_smoothing, "label_smoothing", "binary_crossentropy")
    t, p = _pair(y_true, y_pred)
    if smoothing:
        t = t * (1.0 - smoothing) + 0.5 * smoothing
    return ops.mean(ops.binary_crossentropy(t, p, from_logits=from_logits), axis=axis)


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """-sum(y_true log p) over ``axis`` (the classes), p the predictions scaled to sum to 1
    and clipped, or the softmax of logits; ``label_smoothing`` mixes each target row with
    the uniform distribution."""
    smoothing = _check_fraction(label_smoothing, "label_smoothing", "categorical_crossentropy")
    t, p = _pair(y_true, y_pred)
    if smoothing:
        t = t * (1.0 - smoothing) + smoothing / t.shape[axis]
    return ops.categorical_crossentropy(t, p, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Tensor:
    """The cross-entropy of integer class ids (a trailing axis of 1 is dropped, as Keras
    does); positions whose class is ``ignore_class`` lose 0 (a segmentation map's unlabeled
    pixels)."""
    p = ops.convert_to_tensor(y_pred)
    labels = ops._data(ops.convert_to_tensor(y_true))
    if labels.ndim == p.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.dtype.kind == "f" and (labels != labels.round()).any():
        raise ValueError("sparse_categorical_crossentropy takes integer class ids as y_true.")
    labels = labels.astype(np.int64)
    valid = None if ignore_class is None else labels != ignore_class
    if valid is not None:
        labels = labels * valid
    classes = p.shape[axis]
    xp = backend.get_array_module(labels)
    if labels.size and (int(xp.min(labels)) < 0 or int(xp.max(labels)) >= classes):
        raise ValueError(
            f"sparse_categorical_crossentropy: class ids must lie in [0, {classes}); got "
            f"values from {int(xp.min(labels))} to {int(xp.max(labels))}."
        )
    losses = ops.sparse_categorical_crossentropy(labels, p, from_logits=from_logits, axis=axis)
    return losses if valid is None else losses * valid.astype(losses.dtype)


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary cross-entropy times (1 - p_t) ** gamma (Lin et al.), the mean over ``axis``."""
    loss = BinaryFocalCrossentropy(
        apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis, reduction=None
    )
    return loss.call(*_pair(y_true, y_pred))


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Categorical cross-entropy times alpha (1 - p) ** gamma per class, summed over
    ``axis``."""
    loss = CategoricalFocalCrossentropy(
        alpha, gamma, from_logits, label_smoothing, axis, reduction=None
    )
    return loss.call(*_pair(y_true, y_pred))


def dice(y_true: Any, y_pred: Any, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """1 - 2 sum(t p) / (sum(t) + sum(p)), over the whole batch or over ``axis``."""
    return Dice(reduction=None, axis=axis).call(*_pair(y_true, y_pred))


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5) -> Tensor:
    """1 - TP / (TP + alpha FP + beta FN), with soft counts over the whole batch."""
    return Tversky(alpha, beta, reduction=None).call(*_pair(y_true, y_pred))


def ctc(y_true: Any, y_pred: Any) -> Tensor:
    """The CTC loss of each sample: ``y_true`` class ids padded with 0, ``y_pred`` logits
    (batch, steps, classes)."""
    t = ops.convert_to_tensor(y_true)
    return CTC(reduction=None).call(t, ops.convert_to_tensor(y_pred))


# Keras' name of each loss function: a loss class of the same name computes it.
FUNCTIONS = keras_functions(
    [
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        huber,
        log_cosh,
        poisson,
        kl_divergence,
        hinge,
        squared_hinge,
        categorical_hinge,
        cosine_similarity,
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        binary_focal_crossentropy,
        categorical_focal_crossentropy,
        dice,
        tversky,
        ctc,
        circle,
        categorical_generalized_cross_entropy,
    ],
    "losses",
    "__keras_loss__",
)
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
