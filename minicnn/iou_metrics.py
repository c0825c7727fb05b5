"""Keras' intersection-over-union metrics (IoU, MeanIoU, OneHotIoU, OneHotMeanIoU): a
confusion matrix of true against predicted classes, summed over batches (and over every
position of a segmentation map) on the model's device; per class, IoU = true positives /
(true positives + false positives + false negatives)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, losses
from .metric_base import Metric, along_samples


class IoU(Metric):
    """The mean IoU of ``target_class_ids``. Class ids are read from ``y_true`` and
    ``y_pred`` (``sparse_y_true``/``sparse_y_pred``), or as the argmax along ``axis`` of
    one-hot targets or class scores; positions whose true class is ``ignore_class`` do not
    count. A class that never appears in either is left out of the mean, as in Keras."""

    default_name = "io_u"
    divides_by_seen = False

    def __init__(
        self,
        num_classes: int,
        target_class_ids: list[int] | tuple[int, ...],
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ) -> None:
        owner = type(self).__name__
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{owner}: num_classes must be a positive int, got {num_classes!r}.")
        ids = [int(i) for i in target_class_ids]
        if not ids or any(not 0 <= i < num_classes for i in ids):
            raise ValueError(
                f"{owner}: target_class_ids must be class ids in 0..{num_classes - 1}, got "
                f"{target_class_ids!r}."
            )
        self.num_classes, self.target_class_ids = num_classes, ids
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred = bool(sparse_y_true), bool(sparse_y_pred)
        self.axis = axis
        # Keras' IoU metrics are int32 by default (their confusion counts); minicnn counts the
        # same, and keeps the name in the config.
        counts = dtype is None or np.dtype(dtype).kind in "iu"
        super().__init__(name, None if counts else dtype)
        if counts:
            self.dtype = "int32" if dtype in (None, "int") else np.dtype(dtype).name

    def _class_ids(self, values: Any, sparse: bool) -> Any:
        ids = values if sparse else values.argmax(axis=self.axis)
        return ids.astype(np.int64)

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        """The (num_classes * num_classes,) confusion counts, true class by row."""
        xp = backend.get_array_module(outputs)
        truth = self._class_ids(y_true, self.sparse_y_true)
        predicted = self._class_ids(outputs, self.sparse_y_pred)
        if truth.size != predicted.size:
            raise ValueError(
                f"Metric '{self.name}': {truth.size} true class ids for {predicted.size} "
                "predicted ones; give sparse_y_true / sparse_y_pred as the data are."
            )
        truth, predicted = truth.reshape(len(outputs), -1), predicted.reshape(len(outputs), -1)
        count = xp.ones(truth.shape, dtype=np.float64)
        if weights is not None:
            count = count * along_samples(weights.astype(np.float64), count)
        if self.ignore_class is not None:
            count = count * (truth != self.ignore_class)
        inside = (truth >= 0) & (truth < self.num_classes)
        inside &= (predicted >= 0) & (predicted < self.num_classes)
        cells = xp.where(inside, truth * self.num_classes + predicted, 0).reshape(-1)
        return xp.bincount(
            cells, weights=(count * inside).reshape(-1), minlength=self.num_classes**2
        )

    def value(self, total: Any, seen: float) -> float:
        matrix = backend.to_numpy(total).reshape(self.num_classes, self.num_classes)
        true_positives = np.diag(matrix)
        union = matrix.sum(axis=1) + matrix.sum(axis=0) - true_positives
        ids = self.target_class_ids
        valid = union[ids] != 0
        if not valid.any():
            return 0.0
        iou = np.where(valid, true_positives[ids] / np.where(valid, union[ids], 1.0), 0.0)
        return float(iou.sum() / valid.sum())

    def _target_reader(self) -> Any:
        return losses.Loss(name=self.name)  # class ids or one-hot rows, of any shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class MeanIoU(IoU):
    """The IoU averaged over every class."""

    default_name = "mean_io_u"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ) -> None:
        super().__init__(
            num_classes,
            list(range(num_classes)),
            name,
            dtype,
            ignore_class,
            sparse_y_true,
            sparse_y_pred,
            axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """IoU of one-hot targets and class scores (their argmaxes)."""

    default_name = "one_hot_io_u"

    def __init__(
        self,
        num_classes: int,
        target_class_ids: list[int] | tuple[int, ...],
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ) -> None:
        super().__init__(
            num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """MeanIoU of one-hot targets and class scores (their argmaxes)."""

    default_name = "one_hot_mean_io_u"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ) -> None:
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
