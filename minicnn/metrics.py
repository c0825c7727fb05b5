"""Metrics by Keras name: the mean over samples of a per-sample score (accuracies:
categorical, top-k, binary, exact; mean squared / absolute error, the root mean squared error,
and the values of Keras' other losses on values), and Precision, Recall and
AUC from counts of true and false positives (``confusion_metrics``). A metric sums its totals
over a batch as arrays on the model's device, so a GPU step adds them up without waiting; the
model reads the sums when it shows or logs them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend, losses, registry
from .autograd import Tensor, no_grad
from .confusion_metrics import AUC, F1Score, FBetaScore, Precision, Recall
from .crossentropy_metrics import (
    LOSS_METRICS,
    BinaryCrossentropy,
    BinaryIoU,
    CategoricalCrossentropy,
    CategoricalHinge,
    SparseCategoricalCrossentropy,
)
from .iou_metrics import IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .metric_base import Metric, OutputLoss, as_metric_array, per_sample_mean
from .operating_point_metrics import (
    FalseNegatives,
    FalsePositives,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from .regression_metrics import (
    ConcordanceCorrelation,
    CosineSimilarity,
    PearsonCorrelation,
    R2Score,
)

__all__ = [
    "AUC",
    "ConcordanceCorrelation",
    "PearsonCorrelation",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "SparseCategoricalCrossentropy",
    "FalseNegatives",
    "FalsePositives",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "TrueNegatives",
    "TruePositives",
    "CosineSimilarity",
    "IoU",
    "MeanIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "R2Score",
    "Accuracy",
    "BinaryAccuracy",
    "F1Score",
    "FBetaScore",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "RootMeanSquaredError",
    "ShapeAccuracy",
    "SquaredHinge",
    "Sum",
    "CategoricalAccuracy",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "OutputLoss",
    "Precision",
    "Recall",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "get",
    "serialize",
]


class SparseCategoricalAccuracy(Metric):
    """Whether the largest output is the true class."""

    default_name = "sparse_categorical_accuracy"
    ranks_only = needs_classes = True
    target_loss = losses.SparseCategoricalCrossentropy

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        hits = outputs.argmax(axis=-1) == loss.label_ids(y_true)
        return per_sample_mean(hits.astype(outputs.dtype))  # over a map's positions


class CategoricalAccuracy(SparseCategoricalAccuracy):
    """The same for one-hot or soft target rows: their argmax is the true class."""

    default_name = "categorical_accuracy"
    target_loss = losses.CategoricalCrossentropy


class SparseTopKCategoricalAccuracy(Metric):
    """Whether the true class is among the ``k`` largest outputs; classes tied with the k-th
    count as inside, as in ``tf.math.in_top_k``."""

    default_name = "sparse_top_k_categorical_accuracy"
    ranks_only = needs_classes = True
    target_loss = losses.SparseCategoricalCrossentropy

    def __init__(self, k: int = 5, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name, dtype)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{type(self).__name__}: k must be a positive int, got {k!r}.")
        self.k = k

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        if outputs.ndim != 2:
            raise ValueError(
                f"Metric '{self.name}' takes (batch, classes) outputs; got {outputs.shape[1:]} "
                "per sample (a map's classes need accuracy or MeanIoU)."
            )
        labels = loss.label_ids(y_true)
        rows = backend.get_array_module(labels).arange(labels.shape[0])
        true_scores = outputs[rows, labels]
        above = (outputs > true_scores[:, None]).sum(axis=1)
        return (above < self.k).astype(outputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


class TopKCategoricalAccuracy(SparseTopKCategoricalAccuracy):
    default_name = "top_k_categorical_accuracy"
    target_loss = losses.CategoricalCrossentropy


class BinaryAccuracy(Metric):
    """The fraction of a sample's outputs that, thresholded, equal its 0/1 targets."""

    default_name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name, dtype)
        self.threshold = float(threshold)

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        decided = (outputs > outputs.dtype.type(self.threshold)).astype(outputs.dtype)
        return per_sample_mean((decided == y_true).astype(outputs.dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


class Accuracy(Metric):
    """The fraction of a sample's outputs exactly equal to its targets (Keras' plain
    ``Accuracy``, what 'accuracy' means for a regression loss)."""

    default_name = "accuracy"

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        return per_sample_mean((outputs == y_true).astype(outputs.dtype))


class MeanSquaredError(Metric):
    default_name = "mean_squared_error"

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        diff = outputs - y_true.reshape(outputs.shape)
        return per_sample_mean(diff * diff)


class MeanAbsoluteError(Metric):
    default_name = "mean_absolute_error"

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        return per_sample_mean(xp.abs(outputs - y_true.reshape(outputs.shape)))


class RootMeanSquaredError(MeanSquaredError):
    """The square root of the mean squared error over all samples seen (not a mean of
    per-batch roots)."""

    default_name = "root_mean_squared_error"
    weighs_padding = False  # Keras' is a Mean of the squares, which finds no mask on them

    def value(self, total: Any, seen: float) -> float:
        return math.sqrt(float(total) / seen) if seen else 0.0


class _ValueMetric(Metric):
    """The mean over samples of one of Keras' losses on values: ``loss_class`` gives the
    formula (and whether it sums over the last axis)."""

    loss_class: Any = None

    def _target_reader(self) -> Any:
        return self.loss_class()

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        xp = backend.get_array_module(outputs)
        value, _ = self.loss_class.terms(xp, outputs, y_true.reshape(outputs.shape))
        scale = outputs.shape[-1] if self.loss_class.sum_last_axis else 1
        return per_sample_mean(value) * scale


class MeanAbsolutePercentageError(_ValueMetric):
    default_name = "mean_absolute_percentage_error"
    loss_class = losses.MeanAbsolutePercentageError


class MeanSquaredLogarithmicError(_ValueMetric):
    default_name = "mean_squared_logarithmic_error"
    loss_class = losses.MeanSquaredLogarithmicError


class LogCoshError(_ValueMetric):
    default_name = "logcosh"
    loss_class = losses.LogCosh


class Poisson(_ValueMetric):
    default_name = "poisson"
    loss_class = losses.Poisson


class KLDivergence(_ValueMetric):
    default_name = "kl_divergence"
    loss_class = losses.KLDivergence


class Hinge(_ValueMetric):
    default_name = "hinge"
    loss_class = losses.Hinge


class SquaredHinge(_ValueMetric):
    default_name = "squared_hinge"
    loss_class = losses.SquaredHinge


class MeanMetricWrapper(Metric):
    """The mean over samples of a function ``fn(y_true, y_pred, **kwargs)`` written with
    ``minicnn.ops``, which gives a value per sample (or one for the batch); what
    ``compile(metrics=[fn])`` makes. It gets Tensors: the targets as floats, and the model's
    outputs after its last activation."""

    def __init__(self, fn: Any, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper takes a function, not {fn!r}.")
        self.fn, self.fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        with no_grad():
            y_true = y_true.astype(outputs.dtype, copy=False)
            values = self.fn(Tensor(y_true), Tensor(outputs), **self.fn_kwargs)
        values = values.data if isinstance(values, Tensor) else values
        xp = backend.get_array_module(outputs)
        values = xp.asarray(values, dtype=outputs.dtype)
        if values.ndim == 0:  # one value for the batch: it stands for each sample's
            return xp.broadcast_to(values, (len(outputs),))
        if values.shape[0] != len(outputs):
            raise ValueError(
                f"Metric '{self.name}' gave values of shape {tuple(values.shape)} for "
                f"{len(outputs)} samples; return one value per sample (or one for the batch)."
            )
        return per_sample_mean(values)

    def _target_reader(self) -> Any:
        return losses.Loss(name=self.name)

    @property
    def _direction(self) -> str | None:  # type: ignore[override]
        """Down for a loss (one of Keras' loss functions, or a Loss), as Keras has it."""
        from .loss_functions import FUNCTIONS  # (imported after losses, which it reads)

        fn = self.fn
        if isinstance(fn, losses.Loss) or any(fn is f for f in FUNCTIONS.values()):
            return "down"
        return None

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object

        # Keras' config: the function as its entry (found again by its registered name).
        return {**super().get_config(), "fn": serialize_keras_object(self.fn), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MeanMetricWrapper:
        from .serialization import deserialize_keras_object

        config = dict(config)
        fn = deserialize_keras_object(config.pop("fn"))
        if isinstance(fn, str):  # a name only: a function of minicnn's, or not registered
            fn = registry.saved_object(fn, "metric", config.get("name", fn))
        return cls(fn, **config)


class ShapeAccuracy(Metric):
    """Keras 3's 'accuracy' for a loss that does not say what its targets are (a custom one),
    decided by the shapes: binary for one output per sample, sparse categorical for class ids,
    categorical for target rows."""

    default_name = "accuracy"

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        if outputs.ndim == 1 or outputs.shape[-1] == 1:
            decided = (outputs > outputs.dtype.type(0.5)).astype(outputs.dtype)
            hits = decided == y_true.reshape(outputs.shape)
        else:
            predicted = outputs.argmax(axis=-1)
            if y_true.ndim < outputs.ndim or y_true.shape[-1] == 1:
                hits = predicted == y_true.reshape(predicted.shape)
            else:
                hits = predicted == y_true.argmax(axis=-1)
        return per_sample_mean(hits.astype(outputs.dtype))


class Mean(Metric):
    """Keras' ``Mean``: the (weighted) mean of the values given to ``update_state``, such as
    a custom loop's batch losses. Values with more than one axis count as one per sample (the
    mean of each sample's values), as in Keras."""

    default_name = "mean"
    _reduce = "mean"

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]

        v = as_metric_array(values, "values")
        if v.dtype.kind != "f":
            v = v.astype(np.float32)
        v = v.reshape(1) if v.ndim == 0 else v
        xp = backend.get_array_module(v)
        if sample_weight is None:
            w = None
        else:
            w = backend.to_device(
                as_metric_array(sample_weight, "sample_weight"), backend.device_of(v)
            )
            w = w.reshape(1) if w.ndim == 0 else w
            try:
                w = xp.broadcast_to(w.reshape(w.shape + (1,) * (v.ndim - w.ndim)), v.shape)
            except ValueError:
                raise ValueError(
                    f"Metric '{self.name}': sample_weight of shape {tuple(w.shape)} does not fit "
                    f"values of shape {tuple(v.shape)}."
                ) from None
            v = v * w.astype(v.dtype)
        axes = tuple(range(1, v.ndim))
        if axes:
            v = getattr(v, self._reduce)(axis=axes)
            w = None if w is None else w.mean(axis=axes)
        total = v.sum()
        seen = len(v) if w is None else w.sum()
        self._total = total if self._total is None else self._total + total
        self._seen = self._seen + seen

    def __call__(self, values: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        self.update_state(values, sample_weight)
        return self.result()

    @property
    def count(self) -> np.ndarray:
        """Keras' ``count`` variable: the (weighted) number of values given so far."""
        return np.asarray(backend.to_numpy(self._seen), dtype=np.float32)

    def check(self, loss: Any) -> None:
        if type(self).update_state is not Mean.update_state:
            return  # a subclass's update_state(y_true, y_pred, sample_weight), as in Keras
        raise ValueError(
            f"Metric '{self.name}' ({type(self).__name__}) adds up values given to "
            "update_state(values); a compiled model's metrics compare outputs with targets."
        )


class Sum(Mean):
    """Keras' ``Sum``: the (weighted) sum of the values given to ``update_state``."""

    default_name = "sum"
    _reduce = "sum"

    def value(self, total: Any, seen: float) -> float:
        return float(total)


def _accuracy_for(loss: Any, name: str) -> Metric:
    """Keras' 'accuracy': categorical for a cross-entropy over classes, binary for binary
    cross-entropy, by the shapes for a custom loss, exact equality otherwise."""
    if isinstance(loss, losses.Loss) and not isinstance(loss, losses.BuiltinLoss):
        return ShapeAccuracy(name=name)
    if getattr(loss, "classification", False):
        return SparseCategoricalAccuracy(name=name)
    if getattr(loss, "name", "") == "binary_crossentropy":
        return BinaryAccuracy(name=name)
    return Accuracy(name=name)


_BY_NAME: dict[str, Any] = {
    "accuracy": lambda loss: _accuracy_for(loss, "accuracy"),
    "acc": lambda loss: _accuracy_for(loss, "acc"),
    "sparse_categorical_accuracy": lambda loss: SparseCategoricalAccuracy(),
    "categorical_accuracy": lambda loss: CategoricalAccuracy(),
    "sparse_top_k_categorical_accuracy": lambda loss: SparseTopKCategoricalAccuracy(),
    "top_k_categorical_accuracy": lambda loss: TopKCategoricalAccuracy(),
    "binary_accuracy": lambda loss: BinaryAccuracy(),
    "mean_squared_error": lambda loss: MeanSquaredError(),
    "mse": lambda loss: MeanSquaredError(name="mse"),
    "mean_absolute_error": lambda loss: MeanAbsoluteError(),
    "mae": lambda loss: MeanAbsoluteError(name="mae"),
    "root_mean_squared_error": lambda loss: RootMeanSquaredError(),
    "mean_absolute_percentage_error": lambda loss: MeanAbsolutePercentageError(),
    "mape": lambda loss: MeanAbsolutePercentageError(name="mape"),
    "mean_squared_logarithmic_error": lambda loss: MeanSquaredLogarithmicError(),
    "msle": lambda loss: MeanSquaredLogarithmicError(name="msle"),
    "logcosh": lambda loss: LogCoshError(),
    "poisson": lambda loss: Poisson(),
    "kl_divergence": lambda loss: KLDivergence(),
    "kld": lambda loss: KLDivergence(name="kld"),
    "hinge": lambda loss: Hinge(),
    "squared_hinge": lambda loss: SquaredHinge(),
    "precision": lambda loss: Precision(),
    "recall": lambda loss: Recall(),
    "auc": lambda loss: AUC(),
    "r2_score": lambda loss: R2Score(),
    "cosine_similarity": lambda loss: CosineSimilarity(),
    "binary_crossentropy": lambda loss: BinaryCrossentropy(),
    "categorical_crossentropy": lambda loss: CategoricalCrossentropy(),
    "sparse_categorical_crossentropy": lambda loss: SparseCategoricalCrossentropy(),
    "categorical_hinge": lambda loss: CategoricalHinge(),
    "pearson_correlation": lambda loss: PearsonCorrelation(),
    "concordance_correlation": lambda loss: ConcordanceCorrelation(),
}
_CLASSES: dict[str, type[Metric]] = {
    cls.__name__: cls
    for cls in (
        SparseCategoricalAccuracy,
        CategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        TopKCategoricalAccuracy,
        BinaryAccuracy,
        Accuracy,
        MeanSquaredError,
        MeanAbsoluteError,
        RootMeanSquaredError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        LogCoshError,
        Poisson,
        KLDivergence,
        Hinge,
        SquaredHinge,
        Precision,
        Recall,
        AUC,
        F1Score,
        FBetaScore,
        IoU,
        MeanIoU,
        OneHotIoU,
        OneHotMeanIoU,
        R2Score,
        CosineSimilarity,
        TruePositives,
        FalsePositives,
        TrueNegatives,
        FalseNegatives,
        PrecisionAtRecall,
        RecallAtPrecision,
        SensitivityAtSpecificity,
        SpecificityAtSensitivity,
        *LOSS_METRICS,
        PearsonCorrelation,
        ConcordanceCorrelation,
    )
}


def get(identifier: Any, loss: Any = None) -> Metric:
    """A metric from its Keras name ('accuracy', 'mae', 'sparse_top_k_categorical_accuracy',
    ...; 'accuracy' depends on the ``loss``, as in Keras), its serialized dict, a function
    ``fn(y_true, y_pred)``, or itself. A custom one (a function or Metric subclass) is found
    by the name its dict records (``registry.get_registered_object``)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        config = identifier.get("config", {})
        return _CLASSES[identifier["class_name"]].from_config(config)
    if isinstance(identifier, dict) and "class_name" in identifier:
        return _custom(identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier](loss)
    keras_name = getattr(identifier, "__keras_metric__", None) or getattr(
        identifier, "__keras_loss__", None
    )
    if keras_name in _BY_NAME:  # Keras' function: the metric class of its name
        return _BY_NAME[keras_name](loss)
    if callable(identifier) and not isinstance(identifier, type):
        return MeanMetricWrapper(identifier)
    found = registry.get_registered_object(identifier) if isinstance(identifier, str) else None
    if found is not None:
        return get(found() if isinstance(found, type) else found, loss)
    raise ValueError(
        f"Unknown metric {identifier!r}; known: {', '.join(_BY_NAME)}. A function or Metric "
        "class of your own is found by name when registered (register_keras_serializable) "
        "or given in custom_objects."
    )


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Metric:
    """Keras' ``metrics.deserialize``: the metric ``serialize`` wrote (a name or a dict),
    with ``custom_objects`` found first."""
    with registry.custom_object_scope(custom_objects):
        return get(config)


def _custom(identifier: dict[str, Any]) -> Metric:
    """A custom metric rebuilt from its dict: a function (MeanMetricWrapper) or a Metric
    subclass, found by name."""
    config = dict(identifier.get("config", {}))
    if identifier["class_name"] == "MeanMetricWrapper" and "fn" in config:
        return MeanMetricWrapper.from_config(config)  # Keras' entry: the function in it
    key = identifier.get("registered_name") or identifier["class_name"]
    found = registry.saved_object(key, "metric", config.get("name", key))
    if identifier["class_name"] == "MeanMetricWrapper":  # minicnn's older entry, fn by key
        return MeanMetricWrapper(found, **config)
    if isinstance(found, type) and issubclass(found, Metric):
        return found.from_config(config)
    raise ValueError(f"'{key}' names {found!r}, not a Metric subclass.")


def serialize(metric: Metric) -> dict[str, Any]:
    """Keras' ``metrics.serialize``: the metric's entry (``{"module", "class_name",
    "config", "registered_name"}``), which ``get`` and ``deserialize`` rebuild."""
    return metric.serialize()


for _better_up in (
    AUC,
    Accuracy,
    BinaryAccuracy,
    BinaryIoU,
    CategoricalAccuracy,
    ConcordanceCorrelation,
    CosineSimilarity,
    F1Score,
    FBetaScore,
    IoU,
    MeanIoU,
    OneHotIoU,
    OneHotMeanIoU,
    PearsonCorrelation,
    Precision,
    PrecisionAtRecall,
    R2Score,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    SpecificityAtSensitivity,
    TopKCategoricalAccuracy,
):  # Keras' metrics of _direction "up"
    _better_up._direction = "up"
for _better_down in (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
):  # Keras' metrics of _direction "down"
    _better_down._direction = "down"


# Keras 3's metric functions (one value per sample): the accuracies, and the losses.
from .loss_functions import (  # noqa: E402, F401 - minicnn.metrics names, as in Keras
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from .metric_functions import *  # noqa: E402, F403
