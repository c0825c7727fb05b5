"""Keras 3's losses that minicnn writes as their formulas with ``minicnn.ops`` (so autograd
differentiates them): the focal cross-entropies, the generalized cross-entropy (noisy
labels), categorical hinge, cosine similarity, Dice and Tversky for segmentation masks, and
the circle loss for metric learning.
Each gives a loss per sample and takes Keras' reductions and sample weights (``Loss``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, ops
from .autograd import Tensor
from .config import epsilon as backend_epsilon
from .data_checks import as_labels, as_target_array, as_target_rows, integer_ids
from .losses import Loss


class FormulaLoss(Loss):
    """A Keras loss by its formula: found by name (it needs no custom_objects), its
    arguments in its config."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None):
        super().__init__(name=name, reduction=reduction)

    def _arguments(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> dict[str, Any]:
        # Keyed by the class's Keras name, which rebuilds it (losses.get); a name of the
        # user's keeps the class's too.
        config = {"name": self.name, "reduction": self.reduction, **self._arguments()}
        if self.name != type(self).name:
            config["class_name"] = type(self).__name__
        return config

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """Float targets of the outputs' own shape."""
        return as_target_array(y, n, output_shape, self.name)


def _check_fraction(value: float, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{owner}: {name} must be in [0, 1], got {value!r}.")
    return float(value)


def _check_gamma(gamma: float, owner: str) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma < 0:
        raise ValueError(f"{owner}: gamma must be a number >= 0, got {gamma!r}.")
    return float(gamma)


def _modulated(loss: Tensor, miss: Tensor, gamma: float) -> Tensor:
    """loss * miss ** gamma; gamma 0 leaves the loss as it is (no 0 ** -1 in the gradient)."""
    return loss if gamma == 0 else ops.power(miss, gamma) * loss


class BinaryFocalCrossentropy(FormulaLoss):
    """Binary cross-entropy times (1 - p_t) ** gamma, p_t the probability given to the true
    label, which weights hard examples up (Lin et al.); ``apply_class_balancing`` also
    weights positives by ``alpha`` and negatives by 1 - alpha. Mean over the last axis."""

    name = "binary_focal_crossentropy"

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
    ) -> None:
        super().__init__(reduction, name)
        owner = type(self).__name__
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = _check_fraction(alpha, "alpha", owner)
        self.gamma = _check_gamma(gamma, owner)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_fraction(label_smoothing, "label_smoothing", owner)
        self.axis = axis

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        y = super().targets(y, n, output_shape, owner)
        if ((y < 0) | (y > 1)).any():
            raise ValueError(f"{self.name} takes targets in [0, 1].")
        return y

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        probs = ops.sigmoid(y_pred) if self.from_logits else y_pred
        eps = backend_epsilon()
        clipped = ops.clip(probs, eps, 1.0 - eps)
        bce = -(y_true * ops.log(clipped) + (1.0 - y_true) * ops.log(1.0 - clipped))
        p_t = y_true * probs + (1.0 - y_true) * (1.0 - probs)
        focal = _modulated(bce, 1.0 - p_t, self.gamma)
        if self.apply_class_balancing:
            focal = (y_true * self.alpha + (1.0 - y_true) * (1.0 - self.alpha)) * focal
        return ops.mean(focal, axis=self.axis)

    def _arguments(self) -> dict[str, Any]:
        return {
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class CategoricalFocalCrossentropy(FormulaLoss):
    """Categorical cross-entropy of target rows times alpha (1 - p) ** gamma per class,
    summed over the classes; the predictions are first scaled to sum to 1 and clipped, as
    Keras does. Accuracy compares argmaxes, as for categorical cross-entropy."""

    name = "categorical_focal_crossentropy"
    classification = True

    def __init__(
        self,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
    ) -> None:
        super().__init__(reduction, name)
        owner = type(self).__name__
        self.alpha = _check_fraction(alpha, "alpha", owner)
        self.gamma = _check_gamma(gamma, owner)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_fraction(label_smoothing, "label_smoothing", owner)
        self.axis = axis

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """float32 rows of shape (n, classes), as categorical cross-entropy takes."""
        return as_target_rows(y, n, output_shape[-1])

    def label_ids(self, y_true: Any) -> Any:
        return y_true.argmax(axis=1)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if self.label_smoothing:
            classes = y_true.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes
        probs = ops.softmax(y_pred, axis=self.axis) if self.from_logits else y_pred
        probs = probs / ops.sum(probs, axis=self.axis, keepdims=True)
        eps = backend_epsilon()
        probs = ops.clip(probs, eps, 1.0 - eps)
        focal = self.alpha * _modulated(-y_true * ops.log(probs), 1.0 - probs, self.gamma)
        return ops.sum(focal, axis=self.axis)

    def _arguments(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class CategoricalHinge(FormulaLoss):
    """max(neg - pos + 1, 0): pos the score of the true class (target rows), neg the
    largest score of another."""

    name = "categorical_hinge"

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        pos = ops.sum(y_true * y_pred, axis=-1)
        neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
        return ops.maximum(neg - pos + 1.0, 0.0)


class CosineSimilarity(FormulaLoss):
    """The negative cosine similarity of targets and predictions along ``axis``: -1 when
    they point the same way, 0 when orthogonal (minimizing it aligns them)."""

    name = "cosine_similarity"

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
    ) -> None:
        super().__init__(reduction, name)
        self.axis = axis

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        aligned = ops.normalize(y_true, self.axis) * ops.normalize(y_pred, self.axis)
        return -ops.sum(aligned, axis=self.axis)

    def _arguments(self) -> dict[str, Any]:
        return {"axis": self.axis}


class Dice(FormulaLoss):
    """Keras' Dice loss for segmentation masks: 1 - 2 sum(t p) / (sum(t) + sum(p)), over the
    whole batch (``axis=None``, one value, as Keras computes it) or over ``axis`` (say (1, 2,
    3), one value per sample)."""

    name = "dice"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        axis: int | tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(reduction, name)
        self.axis = tuple(axis) if isinstance(axis, list) else axis

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        overlap = ops.sum(y_true * y_pred, axis=self.axis)
        total = ops.sum(y_true, axis=self.axis) + ops.sum(y_pred, axis=self.axis)
        return 1.0 - 2.0 * overlap / (total + backend_epsilon())

    def _arguments(self) -> dict[str, Any]:
        return {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class Tversky(FormulaLoss):
    """Keras' Tversky loss, over the whole batch: 1 - TP / (TP + alpha FP + beta FN) with
    soft counts; alpha = beta = 0.5 is the Dice loss, larger beta punishes missed pixels."""

    name = "tversky"

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        axis: int | tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(reduction, name)
        self.alpha = _check_fraction(alpha, "alpha", "Tversky")
        self.beta = _check_fraction(beta, "beta", "Tversky")
        self.axis = tuple(axis) if isinstance(axis, list) else axis

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        true_positives = ops.sum(y_true * y_pred, axis=self.axis)
        false_positives = ops.sum((1.0 - y_pred) * y_true, axis=self.axis)
        false_negatives = ops.sum(y_pred * (1.0 - y_true), axis=self.axis)
        denominator = (
            true_positives
            + self.alpha * false_positives
            + self.beta * false_negatives
            + backend_epsilon()
        )
        return 1.0 - true_positives / denominator

    def _arguments(self) -> dict[str, Any]:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {"alpha": self.alpha, "beta": self.beta, "axis": axis}


class CTC(FormulaLoss):
    """Keras' CTC loss: ``y_true`` (batch, max_length) class ids padded with 0 (the blank,
    never a label), ``y_pred`` the logits (batch, steps, classes); per sample, -log of the
    probability of every alignment that collapses to the labels (``minicnn.ctc``)."""

    name = "ctc"

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        """Class ids (n, max_length) in [0, classes), 0 the padding."""
        labels = np.asarray(y)
        if labels.ndim != 2 or len(labels) != n:
            raise ValueError(
                f"{owner}: the CTC loss takes y of shape (samples, max_length) = ({n}, ...); "
                f"got {labels.shape}."
            )
        if len(output_shape) != 2:
            raise ValueError(
                f"{owner}: the CTC loss takes outputs (batch, steps, classes); got "
                f"{(None, *output_shape)}."
            )
        if labels.size and (labels.min() < 0 or labels.max() >= output_shape[-1]):
            raise ValueError(
                f"{owner}: CTC labels must be class ids in [0, {output_shape[-1]}) (0 pads); got "
                f"values from {labels.min()} to {labels.max()}."
            )
        return labels.astype(np.float32)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        from .ctc import ctc_loss

        labels = y_true.data.astype(np.int64)
        label_lengths = (labels != 0).sum(axis=-1)
        every_step = label_lengths * 0 + y_pred.shape[1]  # each sample uses all the steps
        return ctc_loss(labels, y_pred, label_lengths, every_step, mask_index=0)


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float = 0.5) -> Tensor:
    """Keras' generalized cross-entropy (Zhang and Sabuncu): (1 - p^q) / q per sample, p the
    probability ``y_pred`` (batch, classes) gives the class id ``y_true`` (batch,)."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = ops._data(ops.convert_to_tensor(y_true)).reshape(-1).astype(np.int64)
    xp = backend.get_array_module(y_pred.data)
    picked = ops.take_along_axis(y_pred, xp.asarray(labels)[:, None], axis=-1)[:, 0]
    return (1.0 - ops.power(picked, q)) * (1.0 / q)


class CategoricalGeneralizedCrossEntropy(FormulaLoss):
    """Keras' CategoricalGeneralizedCrossEntropy, robust to noisy labels: (1 - p^q) / q for
    integer labels and class probabilities; q near 0 is the cross-entropy, q near 1 the
    mean absolute error."""

    name = "categorical_generalized_cross_entropy"
    classification = True

    def __init__(
        self, q: float = 0.5, reduction: str | None = "sum_over_batch_size", name: str | None = None
    ) -> None:
        super().__init__(reduction, name)
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in (0, 1), got {q!r}.")
        self.q = float(q)

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        return as_labels(y, n, output_shape[-1]).astype(np.float32)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return categorical_generalized_cross_entropy(y_true, y_pred, self.q)

    def _arguments(self) -> dict[str, Any]:
        return {"q": self.q}


def circle(
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float = 80.0,
    margin: float = 0.4,
) -> Tensor:
    """Keras' circle loss (Sun et al., 2020) of L2-normalized embeddings ``y_pred`` (batch,
    dim) with integer labels ``y_true``, against reference embeddings and labels (by default
    the batch itself). With d = max(1 - cos, 0) for each pair, positives (same label; a
    sample with itself not, with ``remove_diagonal``) weigh a_p = max(m + d, 0) and
    negatives a_n = max(1 + m - d, 0); per sample, softplus(logsumexp_p(-gamma a_p (m - d)) +
    logsumexp_n(gamma a_n (1 - m - d))), 0 where a sample has no positive pair."""
    y_pred = ops.convert_to_tensor(y_pred)
    xp = backend.get_array_module(y_pred.data)
    labels = xp.asarray(ops._data(ops.convert_to_tensor(y_true))).reshape(-1).astype(np.int64)
    reference = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref = labels if ref_labels is None else xp.asarray(ops._data(ops.convert_to_tensor(ref_labels)))
    ref = ref.reshape(-1).astype(np.int64)
    distances = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(reference)), 0.0)
    positive = labels[:, None] == ref[None, :]
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~xp.eye(labels.shape[0], ref.shape[0], dtype=bool)
    pos_weights = ops.maximum((margin + distances) * positive.astype(y_pred.dtype), 0.0)
    neg_weights = ops.maximum((1.0 + margin - distances) * negative.astype(y_pred.dtype), 0.0)
    pos_terms = -gamma * pos_weights * (margin - distances)
    neg_terms = gamma * neg_weights * (1.0 - margin - distances)
    # Keras fills the pairs left out with -inf; a row of those then has a NaN slope, so
    # this fills them with a finite number as low (its softplus is 0 all the same).
    low = float(np.finfo(y_pred.dtype).min) / 4
    p_loss = ops.logsumexp(ops.where(positive, pos_terms, low), axis=1)
    n_loss = ops.logsumexp(ops.where(negative, neg_terms, low), axis=1)
    return ops.softplus(p_loss + n_loss)


class Circle(FormulaLoss):
    """Keras' Circle loss for metric learning: integer labels, L2-normalized embeddings (a
    Dense without activation, then UnitNormalization); see ``circle``. As Keras does (its
    mask "loss > 0"), a sample without a positive pair in the batch leaves the reduction."""

    name = "circle"

    def __init__(
        self,
        gamma: float = 80.0,
        margin: float = 0.4,
        remove_diagonal: bool = True,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
    ) -> None:
        super().__init__(reduction, name)
        self.gamma = _check_gamma(gamma, "Circle")
        self.margin = float(margin)
        self.remove_diagonal = bool(remove_diagonal)

    def targets(
        self, y: Any, n: int, output_shape: tuple[int, ...], owner: str = "The model"
    ) -> np.ndarray:
        y = np.asarray(backend.to_numpy(y))
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (n,):
            raise ValueError(
                f"Circle takes one integer label per sample, shape ({n},); got {y.shape}."
            )
        return integer_ids(y, "Circle's labels must hold").astype(np.float32)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return circle(y_true, y_pred, None, None, self.remove_diagonal, self.gamma, self.margin)

    def kept(self, values: Any) -> Any:
        return values > 0

    def _arguments(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "margin": self.margin, "remove_diagonal": self.remove_diagonal}


FORMULA_LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (
        BinaryFocalCrossentropy,
        CategoricalFocalCrossentropy,
        CategoricalGeneralizedCrossEntropy,
        CategoricalHinge,
        Circle,
        CosineSimilarity,
        Dice,
        Tversky,
        CTC,
    )
}
