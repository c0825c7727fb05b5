"""Keras' metrics that are losses' values, tracked as a mean over samples: the three
cross-entropies and the categorical hinge, and BinaryIoU (IoU of thresholded scores). The
formulas are Keras' (probabilities clipped to [1e-7, 1 - 1e-7]; a categorical row divided by
its sum), computed on the model's device."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, losses
from .config import epsilon as backend_epsilon
from .iou_metrics import IoU
from .metric_base import Metric, per_sample_mean


def _log_probabilities(xp: Any, outputs: Any, from_logits: bool) -> Any:
    """log of each row's class probabilities: a log-softmax of logits, or the log of the
    scores divided by their row's sum and clipped, as Keras' categorical cross-entropy."""
    if from_logits:
        shifted = outputs - outputs.max(axis=-1, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))
    probs = outputs / outputs.sum(axis=-1, keepdims=True)
    eps = backend_epsilon()
    return xp.log(xp.clip(probs, eps, 1 - eps))


class _CrossEntropyMetric(Metric):
    def __init__(
        self,
        name: str | None = None,
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(name, dtype)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"{type(self).__name__}: label_smoothing must be in [0, 1], got "
                f"{label_smoothing!r}."
            )
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


class BinaryCrossentropy(_CrossEntropyMetric):
    """The mean over a sample's outputs of -(t log p + (1 - t) log(1 - p))."""

    default_name = "binary_crossentropy"
    target_loss = losses.BinaryCrossentropy

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        t = y_true.reshape(outputs.shape).astype(outputs.dtype)
        t = t * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            terms = xp.maximum(outputs, 0) - outputs * t + xp.log1p(xp.exp(-xp.abs(outputs)))
        else:
            eps = backend_epsilon()
            p = xp.clip(outputs, eps, 1 - eps)
            terms = -(t * xp.log(p) + (1 - t) * xp.log(1 - p))
        return per_sample_mean(terms)


class CategoricalCrossentropy(_CrossEntropyMetric):
    """-sum(t log p) of one-hot (or soft) target rows."""

    default_name = "categorical_crossentropy"
    target_loss = losses.CategoricalCrossentropy
    needs_classes = True

    def __init__(
        self,
        name: str | None = None,
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
    ) -> None:
        super().__init__(name, dtype, from_logits, label_smoothing)
        if axis != -1:
            raise ValueError(f"{type(self).__name__}: only axis=-1 is available, got {axis!r}.")
        self.axis = axis

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        rows = y_true.reshape(outputs.shape).astype(outputs.dtype)
        if self.label_smoothing:
            rows = rows * (1 - self.label_smoothing) + self.label_smoothing / rows.shape[-1]
        log_p = _log_probabilities(xp, outputs, self.from_logits)
        return per_sample_mean(-(rows * log_p).sum(axis=-1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class SparseCategoricalCrossentropy(Metric):
    """-log p of each sample's true class."""

    default_name = "sparse_categorical_crossentropy"
    target_loss = losses.SparseCategoricalCrossentropy
    needs_classes = True

    def __init__(
        self,
        name: str | None = None,
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ) -> None:
        super().__init__(name, dtype)
        if axis != -1:
            raise ValueError(f"{type(self).__name__}: only axis=-1 is available, got {axis!r}.")
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer))
        ):
            raise ValueError(f"ignore_class must be an int or None, got {ignore_class!r}.")
        self.from_logits, self.axis = bool(from_logits), axis
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def _target_reader(self) -> Any:
        return losses.SparseCategoricalCrossentropy(ignore_class=self.ignore_class)

    def _labels(self, outputs: Any, y_true: Any) -> Any:
        return y_true.reshape(outputs.shape[:-1]).astype(np.int64)

    def position_validity(self, outputs: Any, y_true: Any) -> Any:
        if self.ignore_class is None:
            return None
        return self._labels(outputs, y_true) != self.ignore_class

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        labels = self._labels(outputs, y_true)
        valid = self.position_validity(outputs, y_true)
        if valid is not None:  # Keras: an ignored position's value is 0
            labels = xp.where(valid, labels, 0)
        log_p = _log_probabilities(xp, outputs, self.from_logits)
        values = -xp.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
        if valid is not None:
            values = xp.where(valid, values, values.dtype.type(0))
        return per_sample_mean(values)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "from_logits": self.from_logits, "axis": self.axis}
        return {**config, "ignore_class": self.ignore_class}


class CategoricalHinge(Metric):
    """max(max((1 - t) p) - sum(t p) + 1, 0): the best wrong score against the true one."""

    default_name = "categorical_hinge"
    target_loss = losses.CategoricalCrossentropy

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        t = y_true.reshape(outputs.shape).astype(outputs.dtype)
        positive = (t * outputs).sum(axis=-1)
        negative = ((1 - t) * outputs).max(axis=-1)
        return per_sample_mean(xp.maximum(negative - positive + 1, 0))


class BinaryIoU(IoU):
    """Keras' BinaryIoU: IoU of 0/1 targets and scores read as 1 above ``threshold``, over
    ``target_class_ids`` (both classes by default)."""

    default_name = "binary_io_u"

    def __init__(
        self,
        target_class_ids: list[int] | tuple[int, ...] = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(2, target_class_ids, name, dtype)
        self.threshold = float(threshold)

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        decided = (outputs > outputs.dtype.type(self.threshold)).astype(np.int64)
        return super().total(decided, y_true.astype(np.int64), loss, weights)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
        }


LOSS_METRICS = (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    CategoricalHinge,
    BinaryIoU,
)
