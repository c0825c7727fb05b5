"""Losses by Keras name: sparse categorical cross-entropy (integer labels, the study's),
categorical cross-entropy (one-hot or soft target rows), binary cross-entropy, mean squared /
absolute error, and Keras' other losses on values (Huber, log-cosh, squared log error,
percentage error, Poisson, KL divergence, hinge, squared hinge; targets of the outputs'
shape)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, ops, registry
from . import functions as F
from . import pointwise_losses as P
from .autograd import Tensor
from .data_checks import as_any_targets, as_labels, as_target_array, as_target_rows

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")


class Loss:
    """A loss: it checks targets, computes the loss as a Tensor, and says which output
    activation it can take over (``fused_activation``: the model then hands it the logits).

    As in Keras, a custom loss subclasses ``Loss`` and writes ``call(y_true, y_pred)`` with
    ``minicnn.ops`` on Tensors, returning a loss per sample (or per value); calling it reduces
    them by ``reduction``: 'sum_over_batch_size' (the default: sum(w * l) / count, over every
    value) or 'mean' (the same, in Keras 3.15), 'sum', 'mean_with_sample_weight' (sum(w * l)
    / sum(w), the weights as given) or 'none'. ``compile`` also takes a plain
    function ``fn(y_true, y_pred)`` (``LossFunctionWrapper``)."""

    name = ""
    classification = False  # targets are classes (the model's outputs are class scores)
    fused_activation: str | None = None
    from_logits = False

    def __init__(
        self,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype: Any = None,
    ) -> None:
        if name is not None:
            self.name = name
        elif not self.name:
            self.name = backend.snake_case(type(self).__name__)
        reduction = "none" if reduction is None else reduction
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"Loss '{self.name}': reduction must be one of {', '.join(REDUCTIONS)}; got "
                f"{reduction!r}."
            )
        if dtype is not None and np.dtype(dtype) != np.dtype(backend.FLOAT):
            raise ValueError(f"Loss '{self.name}': losses compute in float32; got dtype {dtype}.")
        self.reduction = reduction

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} subclasses Loss: write call(y_true, y_pred), returning a "
            "Tensor of losses (one per sample, or per value)."
        )

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        """``call``'s losses, weighted by ``sample_weight`` (one weight per sample) and
        reduced."""
        y_pred = ops.convert_to_tensor(y_pred)
        device = backend.device_of(y_pred.data)
        if _differentiable(y_true):  # targets computed by a model: gradients reach it too
            targets = y_true if y_true.dtype == y_pred.dtype else ops.cast(y_true, y_pred.dtype)
        else:
            targets = Tensor(backend.to_device(_float_targets(y_true, y_pred), device))
        values = self.call(targets, y_pred)
        if not isinstance(values, Tensor):
            raise TypeError(
                f"Loss '{self.name}' returned {type(values).__name__}, not a Tensor: compute it "
                "with minicnn.ops on the Tensors it gets, so that gradients flow."
            )
        return reduce_losses(
            values, sample_weight, self.reduction, self.name, self.kept(values.data)
        )

    def kept(self, values: Any) -> Any:
        """Which losses count in the reduction (an array like ``values``), or None for all:
        Keras' mask on a loss's values."""
        return None

    def valid_positions(self, y_true: Any, output_shape: tuple[int, ...]) -> Any:
        """Which positions (batch, *positions) of outputs of ``output_shape`` (batch
        included) the targets let count (an ignore_class keeps its positions out), or None
        for all: what ``kept`` masks, known before the loss runs."""
        return None

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """y checked against ``n`` samples of outputs of ``output_shape`` (without the batch
        axis) and converted on the host; ``owner`` names the model in errors. A custom loss
        takes any float targets with one row per sample, as Keras does."""
        return as_any_targets(y, n, self.name)

    def get_config(self) -> dict[str, Any]:
        """Keras' config of a loss: its name and reduction (a subclass adds its arguments).
        ``serialize`` gives its class too, which a custom one is found by when loaded."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` that returns a Tensor of losses
    per sample (what ``compile(loss=fn)`` makes)."""

    def __init__(
        self,
        fn: Any,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper takes a function, not {fn!r}.")
        self.fn, self.fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        """Keras' config: the function as Keras' entry of one (its registered name)."""
        from .serialization import serialize_keras_object

        return {
            "name": self.name,
            "reduction": self.reduction,
            "fn": serialize_keras_object(self.fn),
            **self.fn_kwargs,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        from .serialization import deserialize_keras_object

        config = dict(config)
        return cls(deserialize_keras_object(config.pop("fn")), **config)


def _differentiable(y_true: Any) -> bool:
    """Whether targets are a float Tensor in a recorded graph (a teacher's predictions, in
    distillation): Keras differentiates a loss through them as through its predictions."""
    return isinstance(y_true, Tensor) and y_true.requires_grad and y_true.dtype.kind == "f"


def _float_targets(y_true: Any, y_pred: Tensor) -> Any:
    """Targets as an array of the predictions' float dtype (Keras casts them too)."""
    data = y_true.data if isinstance(y_true, Tensor) else y_true
    if not (backend.is_device_array(data) or isinstance(data, np.ndarray)):
        data = np.asarray(data)
    if data.dtype.kind not in "fiub":
        raise TypeError(f"y_true must hold numbers; got dtype {data.dtype}.")
    return data.astype(y_pred.dtype if y_pred.dtype.kind == "f" else backend.FLOAT, copy=False)


def reduce_losses(
    values: Tensor, sample_weight: Any, reduction: str, name: str, kept: Any = None
) -> Tensor:
    """Keras' reductions of a Tensor of losses, after weighting each sample's by its
    ``sample_weight`` (broadcast along the losses' other axes). With ``kept`` (a mask like
    the losses), only the kept ones count, as Keras reduces masked losses: the others weigh
    0, and a sum over the batch size divides by how many are kept."""
    count = values.data.size
    if kept is not None:
        kept = kept.astype(values.dtype)
        values = values * kept
        xp = backend.get_array_module(kept)
        count = xp.maximum(kept.sum(), kept.dtype.type(1))
    if sample_weight is not None:
        if isinstance(sample_weight, Tensor):
            sample_weight = sample_weight.data
        weights = backend.to_device(sample_weight, backend.device_of(values.data))
        weights = weights.astype(values.dtype, copy=False).reshape(-1)
        if values.ndim > 1 and weights.size == values.data.size:
            # A weight per position: a padding mask's (kept ones included), scaled so that
            # the mean over all positions is the mean over the kept ones, as Keras' are.
            weights, count = weights.reshape(values.shape), values.data.size
        elif values.ndim == 0:  # one loss for the batch (Dice's): Keras weighs it by each weight
            count = weights.size
        elif weights.shape[0] != values.shape[0]:
            raise ValueError(
                f"Loss '{name}': sample_weight has {weights.shape[0]} weights for losses of "
                f"shape {values.shape}; give one per sample."
            )
        else:
            weights = weights.reshape((-1,) + (1,) * (values.ndim - 1))
        values = values * weights
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        # Keras divides by the weights' sum: one per sample (or per kept value, masked).
        xp = backend.get_array_module(weights)
        every = (
            weights.sum() if kept is None else (xp.broadcast_to(weights, kept.shape) * kept).sum()
        )
        return total / every if float(every) != 0 else total * 0
    return total / (max(count, 1) if kept is None else count)


class BuiltinLoss(Loss):
    """Keras' losses that minicnn writes itself, with Keras' arguments. Keras' default
    reduction, the mean over the batch, comes from fused functions (and the model may hand
    them the logits of the output's activation); another reduction, an axis of classes
    other than the last, or an ignored class take the loss of each sample from Keras' loss
    function of the same name (``call``, as Keras' ``Loss.call``) and reduce it."""

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        if not self._fused():
            self.fused_activation = None  # the loss of each sample takes the outputs as given

    def _fused(self) -> bool:
        """Whether the fused functions compute this loss (Keras' default reduction)."""
        return self.reduction in ("sum_over_batch_size", "mean")

    def _function_arguments(self) -> dict[str, Any]:
        """The keyword arguments of Keras' loss function of this name."""
        return {}

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        from .loss_functions import FUNCTIONS

        return FUNCTIONS[type(self).name](y_true, y_pred, **self._function_arguments())

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        if self._fused() and not _differentiable(y_true):
            return self._mean_loss(y_true, ops.convert_to_tensor(y_pred), sample_weight, checked)
        return super().__call__(y_true, y_pred, sample_weight, checked)

    def _mean_loss(self, y_true: Any, y_pred: Tensor, sample_weight: Any, checked: bool) -> Tensor:
        raise NotImplementedError

    def _arguments(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}

    def get_config(self) -> dict[str, Any]:
        """Keras' name, reduction and arguments."""
        return {"name": self.name, "reduction": self.reduction, **self._arguments()}


class CrossEntropy(BuiltinLoss):
    """What both categorical cross-entropies share: ``from_logits``, the fused path on the
    logits of a softmax output layer, and class ids for the metrics. Outputs may have more
    axes than (batch, classes), as a segmentation map's (batch, h, w, classes) or a tagged
    sequence's (batch, steps, classes): the classes are the last axis, each position is
    classified, and the loss is the mean over every position of every sample (Keras'
    sum_over_batch_size); a sample's weight counts for each of its positions."""

    classification = True
    fused_activation = "softmax"
    weights_positions = True  # sample_weight may give each position its own weight

    @staticmethod
    def _classes(output_shape: tuple[int, ...], owner: str) -> int:
        if not output_shape or not output_shape[-1]:
            raise ValueError(
                f"{owner} ends in shape {output_shape}; classification needs outputs of shape "
                "(batch, ..., classes)."
            )
        return output_shape[-1]

    @staticmethod
    def _rows(y_pred: Tensor, y_true: Any, sample_weight: Any, dense: bool) -> tuple:
        """Outputs of more than (batch, classes) as rows of classes, one per position, with
        their targets and weights (each sample's repeated over its positions)."""
        if y_pred.ndim <= 2:
            return y_pred, y_true, sample_weight
        classes = y_pred.shape[-1]
        positions = int(np.prod(y_pred.shape[1:-1]))
        data = y_true.data if isinstance(y_true, Tensor) else y_true
        targets = data.reshape(-1, classes) if dense else data.reshape(-1)
        if sample_weight is not None:
            xp = backend.get_array_module(y_pred.data)
            weights = xp.asarray(sample_weight).reshape(len(y_pred.data), -1)
            if weights.shape[1] == 1:
                weights = xp.repeat(weights, positions, axis=1)
            sample_weight = weights.reshape(-1)
        return F.reshape(y_pred, (-1, classes)), targets, sample_weight


class SparseCategoricalCrossentropy(CrossEntropy):
    """Mean cross-entropy of integer labels; on probabilities, or on logits with from_logits."""

    name = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer))
        ):
            raise ValueError(f"ignore_class must be an int or None, got {ignore_class!r}.")
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self._valid: Any = None
        super().__init__(from_logits, reduction, name, dtype)

    def _fused(self) -> bool:
        return super()._fused() and self.ignore_class is None

    def _function_arguments(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "ignore_class": self.ignore_class}

    def _arguments(self) -> dict[str, Any]:
        return {**super()._arguments(), "ignore_class": self.ignore_class}

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if self.ignore_class is not None:  # Keras' mask: ignored positions do not count
            labels = y_true.data
            if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
                labels = labels[..., 0]
            self._valid = labels != self.ignore_class
        return super().call(y_true, y_pred)

    def kept(self, values: Any) -> Any:
        return self._valid if self.ignore_class is not None else None

    def valid_positions(self, y_true: Any, output_shape: tuple[int, ...]) -> Any:
        if self.ignore_class is None:
            return None
        return y_true.reshape(output_shape[:-1]) != self.ignore_class

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """int64 class ids of shape (n, *positions): (n,) for a classifier."""
        classes = self._classes(output_shape, owner)
        return as_labels(y, n, classes, tuple(output_shape[:-1]), self.ignore_class)

    def _mean_loss(
        self, y_true: Any, y_pred: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        """The loss; ``checked`` says y_true is known to hold valid class ids."""
        y_pred, y_true, sample_weight = self._rows(y_pred, y_true, sample_weight, dense=False)
        if self.from_logits:
            return F.softmax_cross_entropy(y_pred, y_true, checked, sample_weight)
        return F.cross_entropy_from_probs(y_pred, y_true, checked, sample_weight)

    def on_logits(
        self, y_true: Any, logits: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        """The same loss, computed from the logits of a softmax output (stable, and faster)."""
        logits, y_true, sample_weight = self._rows(logits, y_true, sample_weight, dense=False)
        return F.softmax_cross_entropy(logits, y_true, checked, sample_weight)

    def label_ids(self, y_true: Any) -> Any:
        """The class id of each sample, for the metrics."""
        return y_true


class _Smoothed:
    """What the categorical and binary cross-entropies share (a mixin of the loss classes):
    Keras' ``label_smoothing`` and ``axis`` (the classes' axis; the fused functions take
    the last)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}.")
        self.label_smoothing, self.axis = float(label_smoothing), int(axis)
        BuiltinLoss.__init__(self, from_logits, reduction, name, dtype)  # type: ignore[arg-type]

    def _fused(self) -> bool:
        return super()._fused() and self.axis == -1  # type: ignore[misc]

    def _function_arguments(self) -> dict[str, Any]:
        return {**self._arguments(), "axis": self.axis}

    def _arguments(self) -> dict[str, Any]:
        return {
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class CategoricalCrossentropy(_Smoothed, CrossEntropy):
    """Mean of -sum(t * log p) over rows of target distributions t: one-hot rows
    (``keras.utils.to_categorical``) or soft ones. ``label_smoothing`` mixes each target row
    with the uniform distribution, as Keras does; accuracy compares argmaxes."""

    name = "categorical_crossentropy"

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """float32 rows of shape (n, *positions, classes): (n, classes) for a classifier."""
        classes = self._classes(output_shape, owner)
        return as_target_rows(y, n, classes, tuple(output_shape[:-1]))

    def _smoothed(self, y_true: Any) -> Any:
        if not self.label_smoothing:
            return y_true
        y_true = y_true.data if isinstance(y_true, Tensor) else y_true
        classes = y_true.shape[-1]
        return y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes

    def _mean_loss(
        self, y_true: Any, y_pred: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        y_pred, y_true, sample_weight = self._rows(y_pred, y_true, sample_weight, dense=True)
        if self.from_logits:
            return F.softmax_cross_entropy_dense(y_pred, self._smoothed(y_true), sample_weight)
        return F.cross_entropy_from_probs_dense(y_pred, self._smoothed(y_true), sample_weight)

    def on_logits(
        self, y_true: Any, logits: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        logits, y_true, sample_weight = self._rows(logits, y_true, sample_weight, dense=True)
        return F.softmax_cross_entropy_dense(logits, self._smoothed(y_true), sample_weight)

    def label_ids(self, y_true: Any) -> Any:
        return y_true.argmax(axis=-1)


class _ValueLoss(BuiltinLoss):
    """A loss on targets of the outputs' own shape."""

    weights_positions = True  # a padding mask may weight each position (see RowLoss)

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(False, reduction, name, dtype)

    def _arguments(self) -> dict[str, Any]:
        return {}

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """Float targets of the outputs' own shape."""
        return as_target_array(y, n, output_shape, self.name)


class MeanSquaredError(_ValueLoss):
    """Mean of (output - target) ** 2 over every value."""

    name = "mean_squared_error"

    def _mean_loss(
        self, y_true: Any, y_pred: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        return P.mean_squared_error(y_pred, y_true, sample_weight)


class MeanAbsoluteError(_ValueLoss):
    """Mean of |output - target| over every value."""

    name = "mean_absolute_error"

    def _mean_loss(
        self, y_true: Any, y_pred: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        return P.mean_absolute_error(y_pred, y_true, sample_weight)


class BinaryCrossentropy(_Smoothed, _ValueLoss):
    """Mean binary cross-entropy of targets in [0, 1] (one or several independent yes/no
    outputs); ``label_smoothing`` pulls targets towards 1/2, as Keras does. With a sigmoid
    output layer the model hands it the logits (stable, and faster)."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

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

    def _mean_loss(
        self, y_true: Any, y_pred: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        return P.binary_crossentropy(
            y_pred, self._smoothed(y_true), self.from_logits, sample_weight
        )

    def on_logits(
        self, y_true: Any, logits: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        return P.binary_crossentropy(logits, self._smoothed(y_true), True, sample_weight)


class _Elementwise(_ValueLoss):
    """One of Keras' losses on values, from its formula in ``pointwise_losses``."""

    terms: Any = None
    sum_last_axis = False  # Keras sums KL divergence over the last axis rather than averaging

    def _terms(self) -> Any:
        return type(self).terms

    def _mean_loss(
        self, y_true: Any, y_pred: Tensor, sample_weight: Any = None, checked: bool = False
    ) -> Tensor:
        return P.elementwise_loss(self._terms(), y_pred, y_true, sample_weight, self.sum_last_axis)


class Huber(_Elementwise):
    """0.5 e^2 for |e| <= delta, delta |e| - 0.5 delta^2 beyond (e = output - target)."""

    name = "huber"

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise ValueError(f"Huber: delta must be a positive number, got {delta!r}.")
        self.delta = float(delta)
        super().__init__(reduction, name or "huber_loss", dtype)  # Keras' name of the class

    def _terms(self) -> Any:
        return P.huber_terms(self.delta)

    def _arguments(self) -> dict[str, Any]:
        return {"delta": self.delta}

    def _function_arguments(self) -> dict[str, Any]:
        return {"delta": self.delta}


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
# Keras' losses written as formulas (formula_losses builds on Loss, defined above).
from .formula_losses import (  # noqa: E402, F401 - re-exported as minicnn.losses names
    CTC,
    FORMULA_LOSSES,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    CategoricalHinge,
    Circle,
    CosineSimilarity,
    Dice,
    Tversky,
    categorical_generalized_cross_entropy,
    circle,
)

_BY_NAME.update(FORMULA_LOSSES)
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}
_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "msle": "mean_squared_logarithmic_error",
    "mape": "mean_absolute_percentage_error",
    "logcosh": "log_cosh",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "huber_loss": "huber",  # the Huber class's name in Keras' configs
}


def get(identifier: Any) -> Loss:
    """A loss from its Keras name (aliases such as 'mse', 'mae', 'msle', 'mape', 'kld' too),
    its config dict, a function ``fn(y_true, y_pred)``, or itself. A custom loss (by its
    config or name) is found as ``registry.get_registered_object`` finds it."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict) and {"class_name", "config"} <= set(identifier):
        from .serialization import deserialize_keras_object  # Keras' entry (serialize's)

        return get(deserialize_keras_object(identifier))
    if isinstance(identifier, dict) and "registered_name" in identifier:
        return _custom(dict(identifier))
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        class_name = config.pop("class_name", None)
        cls = _BY_CLASS.get(class_name) if class_name else _BY_NAME.get(_ALIASES.get(name, name))
        if cls is None:
            known = ", ".join(sorted(_BY_NAME))
            raise ValueError(f"Unknown loss {class_name or name!r}; known: {known}.")
        if class_name:  # a name of the user's
            config["name"] = name
        return cls(**config)
    if getattr(identifier, "__keras_loss__", None):  # Keras' loss function: its class
        return _BY_NAME[identifier.__keras_loss__]()
    if callable(identifier) and not isinstance(identifier, type):
        return LossFunctionWrapper(identifier)
    identifier = _ALIASES.get(identifier, identifier) if isinstance(identifier, str) else identifier
    if identifier not in _BY_NAME:
        found = registry.get_registered_object(identifier) if isinstance(identifier, str) else None
        if found is not None:
            return get(found() if isinstance(found, type) else found)
        known = ", ".join(sorted([*_BY_NAME, *_ALIASES]))
        raise ValueError(f"Unknown loss {identifier!r}; known: {known}.")
    return _BY_NAME[identifier]()


def from_class_config(class_name: str, config: dict[str, Any]) -> Loss:
    """Keras' loss of class ``class_name`` from its config (Keras' entry's two parts)."""
    classes = {**_BY_CLASS, "LossFunctionWrapper": LossFunctionWrapper}
    if class_name not in classes:
        raise ValueError(f"Unknown loss class {class_name!r}; known: {', '.join(sorted(classes))}.")
    return classes[class_name].from_config(dict(config))


def serialize(loss: Any) -> Any:
    """Keras' ``losses.serialize``: a loss as ``{"module", "class_name", "config",
    "registered_name"}`` (a function by its name)."""
    from .serialization import serialize_keras_object

    return serialize_keras_object(get(loss) if isinstance(loss, str) else loss)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Loss:
    """Keras' ``losses.deserialize``: the loss ``serialize`` wrote, or one ``get`` takes."""
    with registry.custom_object_scope(custom_objects):
        if isinstance(config, dict) and "module" in config and "config" in config:
            from .serialization import deserialize_keras_object

            return get(deserialize_keras_object(config))
        return get(config)


def _custom(config: dict[str, Any]) -> Loss:
    """A custom loss rebuilt from its config: its function or Loss subclass is found by the
    name the config records."""
    key = config.pop("registered_name")
    found = registry.saved_object(key, "loss", config.get("name", key))
    if isinstance(found, type) and issubclass(found, Loss):
        return found.from_config(config)
    if callable(found) and not isinstance(found, type):
        return LossFunctionWrapper(found, **config)
    raise ValueError(f"'{key}' names {found!r}: a loss is a function or a Loss subclass.")


# Keras' loss functions (one loss per sample), as minicnn.losses.mean_squared_error & co.
from .loss_functions import *  # noqa: E402, F403
