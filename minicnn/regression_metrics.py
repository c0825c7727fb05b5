"""Keras' R2Score (the coefficient of determination, from sums over every sample seen) and
the CosineSimilarity metric."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .metric_base import Metric, along_samples, per_sample_mean


class R2Score(Metric):
    """1 - (residual sum of squares) / (total sum of squares) per output column, from sums
    that add up over the batches (``y_true`` and ``y_pred`` of shape (n, outputs));
    ``class_aggregation`` 'uniform_average' (the mean over outputs), 'variance_weighted_average'
    or None (one score per output, standalone only). ``num_regressors`` gives the adjusted R2.
    A constant target (no variance) scores 0, as in Keras."""

    default_name = "r2_score"
    divides_by_seen = False
    AGGREGATIONS = ("uniform_average", "variance_weighted_average", None)

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if class_aggregation not in self.AGGREGATIONS:
            raise ValueError(
                "R2Score: class_aggregation must be 'uniform_average', "
                f"'variance_weighted_average' or None; got {class_aggregation!r}."
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int):
            raise ValueError(
                f"R2Score: num_regressors must be an int >= 0, got {num_regressors!r}."
            )
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}.")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        super().__init__(name, dtype)

    def check(self, loss: Any) -> None:
        if self.class_aggregation is None:
            raise ValueError(
                f"Metric '{self.name}' with class_aggregation=None gives one score per output, "
                "which a model's logs cannot hold; compile with 'uniform_average' or "
                "'variance_weighted_average'."
            )

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        """(4, outputs) sums: of weights, of weighted targets, of weighted squared targets,
        and of weighted squared residuals."""
        xp = backend.get_array_module(outputs)
        pred = outputs.reshape(len(outputs), -1).astype(np.float64)
        true = y_true.reshape(pred.shape).astype(np.float64)
        w = (
            xp.ones_like(true)
            if weights is None
            else xp.broadcast_to(along_samples(weights.astype(np.float64), true), true.shape)
        )
        return xp.stack(
            [
                w.sum(axis=0),
                (w * true).sum(axis=0),
                (w * true * true).sum(axis=0),
                (w * (true - pred) ** 2).sum(axis=0),
            ]
        )

    def value(self, total: Any, seen: float) -> Any:
        count, first, second, residual = backend.to_numpy(total)
        mean = first / np.where(count == 0, 1.0, count)
        variance_sum = second - first * mean
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = 1.0 - residual / variance_sum
        scores = np.where(np.isfinite(scores), scores, 0.0)
        if self.class_aggregation == "variance_weighted_average":
            weight = variance_sum.sum()
            score = float(np.sum(scores * variance_sum) / weight) if weight else 0.0
        elif self.class_aggregation == "uniform_average":
            score = float(scores.mean())
        else:
            score = scores
        if self.num_regressors:
            n = float(count.max())
            if n - self.num_regressors - 1 <= 0:
                raise ValueError(
                    f"R2Score: adjusting for {self.num_regressors} regressors needs more than "
                    f"{self.num_regressors + 1} samples; got {n:g}."
                )
            score = 1.0 - (1.0 - np.asarray(score)) * (n - 1) / (n - self.num_regressors - 1)
            score = float(score) if np.ndim(score) == 0 else score
        return score

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }


class CosineSimilarity(Metric):
    """The mean over samples of the cosine of the angle between targets and predictions
    along ``axis`` (Keras' metric; the loss of that name is its negative)."""

    default_name = "cosine_similarity"

    def __init__(self, name: str | None = None, dtype: Any = None, axis: int = -1) -> None:
        self.axis = axis
        super().__init__(name, dtype)

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        true = y_true.reshape(outputs.shape).astype(outputs.dtype)

        def unit(a: Any) -> Any:
            squares = (a * a).sum(axis=self.axis, keepdims=True)
            return a / xp.sqrt(xp.maximum(squares, outputs.dtype.type(1e-12)))

        cosine = (unit(true) * unit(outputs)).sum(axis=self.axis)
        return per_sample_mean(cosine)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class _RowCorrelation(Metric):
    """A correlation of each sample's targets and predictions along ``axis`` (the last),
    averaged over the samples (and any other axes), as Keras' MeanMetricWrapper does."""

    def __init__(self, name: str | None = None, dtype: Any = None, axis: int = -1) -> None:
        if axis != -1:
            raise ValueError(f"{type(self).__name__}: only axis=-1 is available, got {axis!r}.")
        super().__init__(name, dtype)
        self.axis = axis

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        values = self.correlation(
            backend.get_array_module(outputs), y_true.reshape(outputs.shape), outputs
        )
        return per_sample_mean(values)

    @staticmethod
    def correlation(xp: Any, t: Any, p: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class PearsonCorrelation(_RowCorrelation):
    """Keras' PearsonCorrelation: mean(z(t) * z(p)) along the last axis, z the values less
    their mean over their standard deviation."""

    default_name = "pearson_correlation"

    @staticmethod
    def correlation(xp: Any, t: Any, p: Any) -> Any:
        t = t - t.mean(axis=-1, keepdims=True)
        p = p - p.mean(axis=-1, keepdims=True)
        t = t / t.std(axis=-1, keepdims=True)
        p = p / p.std(axis=-1, keepdims=True)
        return (t * p).mean(axis=-1)


class ConcordanceCorrelation(_RowCorrelation):
    """Keras' ConcordanceCorrelation, its formula as Keras computes it: mean(2 (t - mean(p))
    (p - mean(p)) / (var(t) + var(p) + (mean(t) - mean(p))^2 + 1e-7)) along the last axis."""

    default_name = "concordance_correlation"

    @staticmethod
    def correlation(xp: Any, t: Any, p: Any) -> Any:
        t_mean, p_mean = t.mean(axis=-1, keepdims=True), p.mean(axis=-1, keepdims=True)
        spread = t.var(axis=-1, keepdims=True) + p.var(axis=-1, keepdims=True)
        norm = spread + (t_mean - p_mean) ** 2
        covariance = (t - p_mean) * (p - p_mean)
        return (2 * covariance / (norm + t.dtype.type(1e-7))).mean(axis=-1)
