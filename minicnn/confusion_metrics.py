"""Keras' metrics made from counts of true and false positives: Precision, Recall and AUC.
A batch's counts add up on the model's device; the value is computed on the host from the
summed counts, by Keras' formulas."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .config import epsilon as backend_epsilon
from .metric_base import Metric, along_samples


def _positives(outputs: Any, y_true: Any, loss: Any) -> Any:
    """Which targets are positive, in the outputs' shape: class ids become one-hot rows; any
    nonzero target counts as positive, as in Keras."""
    classes = getattr(loss, "classification", False)
    if classes and outputs.ndim >= 2 and y_true.ndim == outputs.ndim - 1:
        xp = backend.get_array_module(outputs)
        return y_true[..., None] == xp.arange(outputs.shape[-1])
    return y_true.reshape(outputs.shape) != 0


def spaced_thresholds(inner: list[float]) -> np.ndarray:
    """Keras' thresholds: the ``inner`` ones between one just below 0 and one just above 1,
    so that every score lies above the first and below the last."""
    eps = backend_epsilon()
    return np.array([-eps, *inner, 1.0 + eps], dtype=np.float64)


def evenly_spaced(num_thresholds: int) -> list[float]:
    """The num_thresholds - 2 inner thresholds Keras spaces evenly in (0, 1)."""
    return [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]


def _ratio(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator, 0 where the denominator is 0 (Keras' divide_no_nan)."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


class _ThresholdMetric(Metric):
    """Precision and Recall: outputs above ``thresholds`` (0.5) are predicted positive; with
    ``top_k``, only each sample's k highest outputs can be (Keras': the others count as
    negative; ties to the lower index); with ``class_id``, only that column counts."""

    divides_by_seen = False

    def __init__(
        self,
        thresholds: float | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name, dtype)
        owner = type(self).__name__
        if isinstance(thresholds, (list, tuple)):
            raise ValueError(
                f"{owner}: give one threshold; lists of thresholds (one value each) are not here."
            )
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValueError(f"{owner}: top_k must be an int >= 1, got {top_k!r}.")
        self.top_k = top_k
        threshold = 0.5 if thresholds is None else thresholds
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"{owner}: thresholds must be a number in [0, 1], got {thresholds!r}.")
        if not 0 <= threshold <= 1:
            raise ValueError(f"{owner}: thresholds must be in [0, 1], got {thresholds!r}.")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int)):
            raise ValueError(f"{owner}: class_id must be an int, got {class_id!r}.")
        self.thresholds, self.class_id = float(threshold), class_id
        self._given_threshold = thresholds  # the config keeps it as given (None: 0.5), as Keras'

    def _counts(self, outputs: Any, y_true: Any, loss: Any, weights: Any) -> tuple[Any, Any, Any]:
        """(predicted positive, actually positive) as boolean arrays, and each element's
        weight (1, or its sample's)."""
        positive = _positives(outputs, y_true, loss)
        if self.top_k is not None:  # Keras: the others set to -inf before the threshold
            xp = backend.get_array_module(outputs)
            stable = {"kind": "stable"} if xp is np else {}
            ranks = xp.argsort(xp.argsort(-outputs, axis=-1, **stable), axis=-1, **stable)
            outputs = xp.where(ranks < self.top_k, outputs, outputs.dtype.type(-np.inf))
        if self.class_id is not None:
            if outputs.ndim != 2 or not 0 <= self.class_id < outputs.shape[1]:
                raise ValueError(
                    f"Metric '{self.name}': class_id {self.class_id} is outside outputs of "
                    f"shape {outputs.shape}."
                )
            outputs, positive = outputs[:, self.class_id], positive[:, self.class_id]
        weight = 1 if weights is None else along_samples(weights, outputs)
        return outputs > outputs.dtype.type(self.thresholds), positive, weight

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": self._given_threshold,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ThresholdMetric):
    """True positives / predicted positives (0 while nothing is predicted positive)."""

    default_name = "precision"

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        xp = backend.get_array_module(outputs)
        predicted, positive, weight = self._counts(outputs, y_true, loss, weights)
        return xp.stack([((predicted & positive) * weight).sum(), (predicted * weight).sum()])

    def value(self, total: Any, seen: float) -> float:
        true_positives, predicted = backend.to_numpy(total)
        return float(_ratio(true_positives, predicted))


class Recall(_ThresholdMetric):
    """True positives / actual positives (0 while there is none)."""

    default_name = "recall"

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        xp = backend.get_array_module(outputs)
        predicted, positive, weight = self._counts(outputs, y_true, loss, weights)
        return xp.stack([((predicted & positive) * weight).sum(), (positive * weight).sum()])

    def value(self, total: Any, seen: float) -> float:
        true_positives, positives = backend.to_numpy(total)
        return float(_ratio(true_positives, positives))


class ThresholdCounts(Metric):
    """What AUC and the metrics at an operating point share: confusion counts at each of
    ``self.thresholds`` (a NumPy array, copied to a device once), summed over batches."""

    divides_by_seen = False
    thresholds: np.ndarray

    def _thresholds_for(self, outputs: Any) -> Any:
        """The thresholds on the outputs' device, copied there once (before any step that a
        CUDA graph captures, which could not copy)."""
        cache = self.__dict__.setdefault("_on_device", {})
        device = backend.device_of(outputs)
        if device not in cache:
            cache[device] = backend.to_device(self.thresholds, device)
        return cache[device]

    def _counts(
        self,
        scores: Any,
        positive: Any,
        weights: Any,
        per_label: bool = False,
        label_weights: Any = None,
    ) -> Any:
        """(4, thresholds[, labels]) counts of true positives, false positives, false
        negatives and true negatives (each sample counted with its weight), for ``scores``
        and ``positive`` of shape (n, ...)."""
        xp = backend.get_array_module(scores)
        n = scores.shape[0]
        positive = positive.reshape(n, -1)[None]
        thresholds = self._thresholds_for(scores)
        predicted = scores.astype(np.float64).reshape(n, -1)[None] > thresholds[:, None, None]
        weight = 1 if weights is None else along_samples(weights, predicted, sample_axis=1)
        if label_weights is not None:  # each label's predictions weighted (Keras' AUC)
            weight = weight * backend.to_device(label_weights, backend.device_of(predicted))
        counts = [
            ((predicted & positive) * weight).sum(axis=1),
            ((predicted & ~positive) * weight).sum(axis=1),
            ((~predicted & positive) * weight).sum(axis=1),
            ((~predicted & ~positive) * weight).sum(axis=1),
        ]
        if not per_label:
            counts = [c.sum(axis=1) for c in counts]
        return xp.stack(counts).astype(np.float64)


class AUC(ThresholdCounts):
    """Keras' AUC: the area under the ROC or precision-recall curve, from confusion counts at
    ``num_thresholds`` evenly spaced thresholds (or the given ``thresholds``) between just
    below 0 and just above 1, summed by ``summation_method`` ('interpolation': trapezoids, or
    for PR Davis & Goadrich's interpolation; 'minoring'; 'majoring'). With ``multi_label`` each
    output column gets its own curve and the areas are averaged; otherwise all outputs are
    pooled. ``from_logits`` applies a sigmoid first."""

    default_name = "auc"
    CURVES = ("ROC", "PR")
    SUMMATIONS = ("interpolation", "minoring", "majoring")

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: list[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        super().__init__(name, dtype)
        if curve not in self.CURVES:
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}.")
        if summation_method not in self.SUMMATIONS:
            raise ValueError(
                f"AUC: summation_method must be one of {', '.join(self.SUMMATIONS)}; got "
                f"{summation_method!r}."
            )
        self.label_weights = None
        if label_weights is not None:
            self.label_weights = np.asarray(backend.to_numpy(label_weights), np.float64).ravel()
            if (self.label_weights < 0).any() or not np.isfinite(self.label_weights).all():
                raise ValueError(f"AUC: label_weights must be >= 0, got {label_weights!r}.")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            if not all(0 <= t <= 1 for t in inner):
                raise ValueError(f"AUC: thresholds must lie in [0, 1], got {thresholds!r}.")
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int):
                raise ValueError(f"AUC: num_thresholds must be an int > 1, got {num_thresholds!r}.")
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}.")
            inner = evenly_spaced(num_thresholds)
        self.num_thresholds = num_thresholds
        self._given_thresholds = None if thresholds is None else inner
        self.thresholds = spaced_thresholds(inner)
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.from_logits = bool(from_logits)

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        """(4, thresholds[, labels]) counts (weighted by the samples' ``weights``): true
        positives, false positives, false negatives, true negatives."""
        xp = backend.get_array_module(outputs)
        scores = outputs.astype(np.float64)
        if self.from_logits:
            scores = 1 / (1 + xp.exp(-scores))
        # Keras buckets scores into its evenly spaced thresholds, a score below 0 into the
        # first and one above 1 into the last: as if clipped to [0, 1].
        scores = xp.clip(scores, 0.0, 1.0)
        positive = _positives(outputs, y_true, loss)
        weighted = None if self.multi_label else self._label_weights(outputs)
        return self._counts(scores, positive, weights, self.multi_label, weighted)

    def _label_weights(self, outputs: Any) -> Any:
        """The label weights, one per output column (None: none given)."""
        if self.label_weights is None:
            return None
        labels = int(np.prod(outputs.shape[1:]))
        if self.label_weights.size != labels:
            raise ValueError(
                f"AUC: {self.label_weights.size} label_weights for outputs of {labels} labels."
            )
        return self.label_weights

    def value(self, total: Any, seen: float) -> float:
        counts = backend.to_numpy(total)
        if self.multi_label:
            areas = np.array([self._area(*counts[..., i]) for i in range(counts.shape[-1])])
            if self.label_weights is None:
                return float(np.mean(areas))
            if self.label_weights.size != areas.size:
                raise ValueError(
                    f"AUC: {self.label_weights.size} label_weights for {areas.size} labels."
                )
            return float(_ratio((areas * self.label_weights).sum(), self.label_weights.sum()))
        return self._area(*counts)

    def _area(self, tp: Any, fp: Any, fn: Any, tn: Any) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_area(tp, fp, fn)
        recall = _ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), recall
        else:
            x, y = recall, _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    @staticmethod
    def _interpolated_pr_area(tp: Any, fp: Any, fn: Any) -> float:
        """Davis & Goadrich's interpolation, in Keras' closed form: between two thresholds
        TP and P = TP + FP vary linearly, and precision TP / P is integrated over recall."""
        predicted = tp + fp
        d_tp = tp[:-1] - tp[1:]
        slope = _ratio(d_tp, np.maximum(predicted[:-1] - predicted[1:], 0))
        intercept = tp[1:] - slope * predicted[1:]
        both = (predicted[:-1] > 0) & (predicted[1:] > 0)
        ratio = np.where(both, _ratio(predicted[:-1], np.maximum(predicted[1:], 0)), 1.0)
        increments = _ratio(
            slope * (d_tp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)
        )
        return float(np.sum(increments))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
            # As Keras: the thresholds only where they were given.
            **({} if self._given_thresholds is None else {"thresholds": self._given_thresholds}),
        }


class FBetaScore(Metric):
    """Keras' FBetaScore: per class, (1 + beta^2) precision recall / (beta^2 precision +
    recall), from counts summed over the batches, averaged over the classes by ``average``:
    'micro' (the counts of all classes pooled), 'macro' (a plain mean) or 'weighted' (by each
    class's support). A prediction is the top class of each sample (``threshold=None``), or
    every output above ``threshold``. Keras' default ``average=None`` gives one score per
    class: ``result()`` returns them, but a model's logs hold single numbers, so compile
    needs one of the three."""

    default_name = "fbeta_score"
    divides_by_seen = False
    AVERAGES = ("micro", "macro", "weighted")

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name, dtype)
        owner = type(self).__name__
        if average is not None and average not in self.AVERAGES:
            raise ValueError(
                f"{owner}: average must be None, 'micro', 'macro' or 'weighted'; got {average!r}."
            )
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{owner}: beta must be a positive number, got {beta!r}.")
        if threshold is not None and not 0 <= threshold <= 1:
            raise ValueError(f"{owner}: threshold must be in [0, 1] or None, got {threshold!r}.")
        self.average, self.beta, self.threshold = average, float(beta), threshold

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        """(4, classes) counts (weighted by the samples' ``weights``): true positives, false
        positives, false negatives, support."""
        xp = backend.get_array_module(outputs)
        positive = _positives(outputs, y_true, loss)
        if self.threshold is None:
            top = outputs.argmax(axis=-1)
            predicted = top[..., None] == xp.arange(outputs.shape[-1])
        else:
            predicted = outputs > outputs.dtype.type(self.threshold)
        rows = tuple(range(outputs.ndim - 1))
        weight = 1 if weights is None else along_samples(weights, outputs)
        counts = [
            ((predicted & positive) * weight).sum(axis=rows),
            ((predicted & ~positive) * weight).sum(axis=rows),
            ((~predicted & positive) * weight).sum(axis=rows),
            (positive * weight).sum(axis=rows),
        ]
        return xp.stack(counts).astype(np.float64)

    def value(self, total: Any, seen: float) -> Any:
        tp, fp, fn, support = backend.to_numpy(total)
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        eps = backend_epsilon()
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta**2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            return float(np.sum(score * support) / max(np.sum(support), eps))
        if self.average is None:
            return score
        return float(np.mean(score))

    def check(self, loss: Any) -> None:
        if self.average is None:
            raise ValueError(
                f"Metric '{self.name}' with average=None gives one score per class, which a "
                "model's logs (one number per metric) cannot hold; give average='micro', "
                "'macro' or 'weighted' to compile with it."
            )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """FBetaScore with beta 1: the harmonic mean of precision and recall."""

    default_name = "f1_score"

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
