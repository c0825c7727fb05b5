"""Keras' confusion counts (TruePositives, FalsePositives, TrueNegatives, FalseNegatives) and
its metrics at an operating point (PrecisionAtRecall, RecallAtPrecision,
SensitivityAtSpecificity, SpecificityAtSensitivity): counts at thresholds, summed over the
batches on the model's device, read by Keras' formulas."""

from __future__ import annotations

from typing import Any

import numpy as np

from .confusion_metrics import (
    ThresholdCounts,
    _positives,
    _ratio,
    evenly_spaced,
    spaced_thresholds,
)

_ROWS = {"true_positives": 0, "false_positives": 1, "false_negatives": 2, "true_negatives": 3}


class _Count(ThresholdCounts):
    """One confusion count at ``thresholds`` (0.5 by default; a list gives one count per
    threshold, standalone)."""

    row = ""

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        values = [0.5] if thresholds is None else thresholds
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if not values or not all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t <= 1 for t in values
        ):
            raise ValueError(
                f"{type(self).__name__}: thresholds must be numbers in [0, 1], got {thresholds!r}."
            )
        self.thresholds = np.array(values, dtype=np.float64)
        self._given = thresholds
        super().__init__(name, dtype)

    def check(self, loss: Any) -> None:
        if len(self.thresholds) > 1:
            raise ValueError(
                f"Metric '{self.name}' has {len(self.thresholds)} thresholds, one count each, "
                "which a model's logs cannot hold; compile with one threshold."
            )

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        return self._counts(outputs, _positives(outputs, y_true, loss), weights)[_ROWS[self.row]]

    def value(self, total: Any, seen: float) -> Any:
        from . import backend

        counts = backend.to_numpy(total)
        return float(counts[0]) if counts.size == 1 else counts

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self._given}


class TruePositives(_Count):
    default_name = "true_positives"
    row = "true_positives"


class FalsePositives(_Count):
    default_name = "false_positives"
    row = "false_positives"


class TrueNegatives(_Count):
    default_name = "true_negatives"
    row = "true_negatives"


class FalseNegatives(_Count):
    default_name = "false_negatives"
    row = "false_negatives"


class _AtOperatingPoint(ThresholdCounts):
    """The best value of one rate among the ``num_thresholds`` thresholds (Keras' spacing,
    as AUC's) where another rate meets ``target``; 0 where none does. ``class_id`` scores
    one column of a classifier's outputs."""

    target_name = ""

    def __init__(
        self,
        target: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        owner = type(self).__name__
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise ValueError(f"{owner}: {self.target_name} must be a number in [0, 1].")
        if not 0 <= target <= 1:
            raise ValueError(f"{owner}: {self.target_name} must be in [0, 1], got {target!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int):
            raise ValueError(f"{owner}: num_thresholds must be an int > 0, got {num_thresholds!r}.")
        if num_thresholds <= 0:
            raise ValueError(f"{owner}: num_thresholds must be > 0, got {num_thresholds}.")
        self.target, self.num_thresholds, self.class_id = float(target), num_thresholds, class_id
        if num_thresholds == 1:
            self.thresholds = np.array([0.5])
        else:
            self.thresholds = spaced_thresholds(evenly_spaced(num_thresholds))
        super().__init__(name, dtype)

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        positive = _positives(outputs, y_true, loss)
        if self.class_id is not None:
            if outputs.ndim < 2 or not 0 <= self.class_id < outputs.shape[-1]:
                raise ValueError(
                    f"Metric '{self.name}': class_id {self.class_id} is outside outputs of "
                    f"shape {outputs.shape}."
                )
            outputs, positive = outputs[..., self.class_id], positive[..., self.class_id]
        return self._counts(outputs, positive, weights)

    def value(self, total: Any, seen: float) -> float:
        from . import backend

        tp, fp, fn, tn = backend.to_numpy(total)
        constraint, dependent = self._rates(tp, fp, fn, tn)
        feasible = constraint >= self.target
        return float(dependent[feasible].max()) if feasible.any() else 0.0

    def _rates(self, tp: Any, fp: Any, fn: Any, tn: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            self.target_name: self.target,
            "num_thresholds": self.num_thresholds,
            "class_id": self.class_id,
        }


class PrecisionAtRecall(_AtOperatingPoint):
    """The best precision where recall >= ``recall``."""

    default_name = "precision_at_recall"
    target_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, **kwargs: Any) -> None:
        super().__init__(recall, num_thresholds, **kwargs)

    def _rates(self, tp: Any, fp: Any, fn: Any, tn: Any) -> tuple[Any, Any]:
        return _ratio(tp, tp + fn), _ratio(tp, tp + fp)


class RecallAtPrecision(_AtOperatingPoint):
    """The best recall where precision >= ``precision``."""

    default_name = "recall_at_precision"
    target_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, **kwargs: Any) -> None:
        super().__init__(precision, num_thresholds, **kwargs)

    def _rates(self, tp: Any, fp: Any, fn: Any, tn: Any) -> tuple[Any, Any]:
        return _ratio(tp, tp + fp), _ratio(tp, tp + fn)


class SensitivityAtSpecificity(_AtOperatingPoint):
    """The best sensitivity (recall) where specificity >= ``specificity``."""

    default_name = "sensitivity_at_specificity"
    target_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, **kwargs: Any) -> None:
        super().__init__(specificity, num_thresholds, **kwargs)

    def _rates(self, tp: Any, fp: Any, fn: Any, tn: Any) -> tuple[Any, Any]:
        return _ratio(tn, tn + fp), _ratio(tp, tp + fn)


class SpecificityAtSensitivity(_AtOperatingPoint):
    """The best specificity where sensitivity (recall) >= ``sensitivity``."""

    default_name = "specificity_at_sensitivity"
    target_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, **kwargs: Any) -> None:
        super().__init__(sensitivity, num_thresholds, **kwargs)

    def _rates(self, tp: Any, fp: Any, fn: Any, tn: Any) -> tuple[Any, Any]:
        return _ratio(tp, tp + fn), _ratio(tn, tn + fp)
