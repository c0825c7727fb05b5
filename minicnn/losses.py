"""Losses by Keras name: sparse categorical cross-entropy (integer labels, the study's),
categorical cross-entropy (one-hot or soft target rows), binary cross-entropy, mean squared /
absolute error, and Keras' other losses on values (Huber, log-cosh, squared log error,
percentage error, Poisson, KL divergence, hinge, squared hinge; targets of the outputs'
shape)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functions as F
from . import pointwise_losses as P
from .autograd import Tensor
from .data_checks import as_labels, as_target_array, as_target_rows


class Loss:
    """A loss: it checks targets, computes the mean loss as a Tensor, and says which output
    activation it can take over (``fused_activation``: the model then hands it the logits)."""

    name = ""
    classification = False  # targets are classes (the model's outputs are class scores)
    fused_activation: str | None = None

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """y checked against ``n`` samples of outputs of ``output_shape`` (without the batch
        axis) and converted on the host; ``owner`` names the model in errors."""
        raise NotImplementedError


class CrossEntropy(Loss):
    """What both categorical cross-entropies share: ``from_logits``, the fused path on the
    logits of a softmax output layer, and class ids for the metrics."""

    classification = True
    fused_activation = "softmax"

    @staticmethod
    def _classes(output_shape: tuple[int, ...], owner: str) -> int:
        if len(output_shape) != 1 or not output_shape[0]:
            raise ValueError(
                f"{owner} ends in shape {output_shape}; classification needs flat "
                "(batch, classes) outputs."
            )
        return output_shape[0]


class SparseCategoricalCrossentropy(CrossEntropy):
    """Mean cross-entropy of integer labels; on probabilities, or on logits with from_logits."""

    name = "sparse_categorical_crossentropy"

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """int64 class ids of shape (n,)."""
        return as_labels(y, n, self._classes(output_shape, owner))

    def __call__(
        self, y_true: Any, y_pred: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        """The loss; ``checked`` says y_true is known to hold valid class ids."""
        if self.from_logits:
            return F.softmax_cross_entropy(y_pred, y_true, checked, sample_weight)
        return F.cross_entropy_from_probs(y_pred, y_true, checked, sample_weight)

    def on_logits(
        self, y_true: Any, logits: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        """The same loss, computed from the logits of a softmax output (stable, and faster)."""
        return F.softmax_cross_entropy(logits, y_true, checked, sample_weight)

    def label_ids(self, y_true: Any) -> Any:
        """The class id of each sample, for the metrics."""
        return y_true


class CategoricalCrossentropy(CrossEntropy):
    """Mean of -sum(t * log p) over rows of target distributions t: one-hot rows
    (``keras.utils.to_categorical``) or soft ones. ``label_smoothing`` mixes each target row
    with the uniform distribution, as Keras does; accuracy compares argmaxes."""

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0) -> None:
        super().__init__(from_logits)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}.")
        self.label_smoothing = float(label_smoothing)

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """float32 rows of shape (n, classes)."""
        return as_target_rows(y, n, self._classes(output_shape, owner))

    def _smoothed(self, y_true: Any) -> Any:
        if not self.label_smoothing:
            return y_true
        y_true = y_true.data if isinstance(y_true, Tensor) else y_true
        classes = y_true.shape[1]
        return y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes

    def __call__(
        self, y_true: Any, y_pred: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        if self.from_logits:
            return F.softmax_cross_entropy_dense(y_pred, self._smoothed(y_true), sample_weight)
        return F.cross_entropy_from_probs_dense(y_pred, self._smoothed(y_true), sample_weight)

    def on_logits(
        self, y_true: Any, logits: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        return F.softmax_cross_entropy_dense(logits, self._smoothed(y_true), sample_weight)

    def label_ids(self, y_true: Any) -> Any:
        return y_true.argmax(axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class _ValueLoss(Loss):
    """A loss on targets of the outputs' own shape."""

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """Float targets of the outputs' own shape."""
        return as_target_array(y, n, output_shape, self.name)


class MeanSquaredError(_ValueLoss):
    """Mean of (output - target) ** 2 over every value."""

    name = "mean_squared_error"

    def __call__(
        self, y_true: Any, y_pred: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        return P.mean_squared_error(y_pred, y_true, sample_weight)


class MeanAbsoluteError(_ValueLoss):
    """Mean of |output - target| over every value."""

    name = "mean_absolute_error"

    def __call__(
        self, y_true: Any, y_pred: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        return P.mean_absolute_error(y_pred, y_true, sample_weight)


class BinaryCrossentropy(_ValueLoss):
    """Mean binary cross-entropy of targets in [0, 1] (one or several independent yes/no
    outputs); ``label_smoothing`` pulls targets towards 1/2, as Keras does. With a sigmoid
    output layer the model hands it the logits (stable, and faster)."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0) -> None:
        super().__init__(from_logits)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}.")
        self.label_smoothing = float(label_smoothing)

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        y = super().targets(y, n, output_shape, owner)
        if ((y < 0) | (y > 1)).any():
            raise ValueError("binary_crossentropy takes targets in [0, 1].")
        return y

    def _smoothed(self, y_true: Any) -> Any:
        if not self.label_smoothing:
            return y_true
        return y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing

    def __call__(
        self, y_true: Any, y_pred: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        return P.binary_crossentropy(
            y_pred, self._smoothed(y_true), self.from_logits, sample_weight
        )

    def on_logits(
        self, y_true: Any, logits: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        return P.binary_crossentropy(logits, self._smoothed(y_true), True, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class _Elementwise(_ValueLoss):
    """One of Keras' losses on values, from its formula in ``pointwise_losses``."""

    terms: Any = None
    sum_last_axis = False  # Keras sums KL divergence over the last axis rather than averaging

    def __init__(self) -> None:
        super().__init__()

    def _terms(self) -> Any:
        return type(self).terms

    def __call__(
        self, y_true: Any, y_pred: Tensor, checked: bool = False, sample_weight: Any = None
    ) -> Tensor:
        return P.elementwise_loss(self._terms(), y_pred, y_true, sample_weight, self.sum_last_axis)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class Huber(_Elementwise):
    """0.5 e^2 for |e| <= delta, delta |e| - 0.5 delta^2 beyond (e = output - target)."""

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise ValueError(f"Huber: delta must be a positive number, got {delta!r}.")
        self.delta = float(delta)

    def _terms(self) -> Any:
        return P.huber_terms(self.delta)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


class LogCosh(_Elementwise):
    """log(cosh(output - target)): about e^2 / 2 near 0, |e| - log 2 far from it."""

    name = "log_cosh"
    terms = staticmethod(P.log_cosh_terms)


class MeanSquaredLogarithmicError(_Elementwise):
    name = "mean_squared_logarithmic_error"
    terms = staticmethod(P.squared_log_terms)


class MeanAbsolutePercentageError(_Elementwise):
    name = "mean_absolute_percentage_error"
    terms = staticmethod(P.percentage_terms)


class Poisson(_Elementwise):
    """output - target * log(output + eps), for counts."""

    name = "poisson"
    terms = staticmethod(P.poisson_terms)


class KLDivergence(_Elementwise):
    """sum over the last axis of t log(t / p), targets and outputs clipped to [eps, 1]."""

    name = "kl_divergence"
    terms = staticmethod(P.kl_divergence_terms)
    sum_last_axis = True


class Hinge(_Elementwise):
    """max(1 - t * output, 0), targets -1/1 (a batch of 0/1 targets is mapped to them)."""

    name = "hinge"
    terms = staticmethod(P.hinge_terms)


class SquaredHinge(_Elementwise):
    name = "squared_hinge"
    terms = staticmethod(P.squared_hinge_terms)


_BY_NAME: dict[str, type[Loss]] = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "log_cosh": LogCosh,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "poisson": Poisson,
    "kl_divergence": KLDivergence,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
}
_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "msle": "mean_squared_logarithmic_error",
    "mape": "mean_absolute_percentage_error",
    "logcosh": "log_cosh",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
}


def get(identifier: str | Loss | dict[str, Any]) -> Any:
    """A loss from its Keras name (aliases such as 'mse', 'mae', 'msle', 'mape', 'kld' too),
    its config dict, or itself."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if name not in _BY_NAME:
            raise ValueError(f"Unknown loss {name!r}; known: {', '.join(sorted(_BY_NAME))}.")
        return _BY_NAME[name](**config)
    identifier = _ALIASES.get(identifier, identifier) if isinstance(identifier, str) else identifier
    if identifier not in _BY_NAME:
        known = ", ".join(sorted([*_BY_NAME, *_ALIASES]))
        raise ValueError(f"Unknown loss {identifier!r}; known: {known}.")
    return _BY_NAME[identifier]()
