"""Losses averaged over every output value: mean squared and absolute error, binary
cross-entropy (on probabilities, or stably on logits), and Keras' other losses on values:
Huber, log-cosh, squared log error, percentage error, Poisson, KL divergence, hinge and squared
hinge. Targets have the outputs' shape."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import backend
from .autograd import Tensor
from .config import epsilon as backend_epsilon
from .functions import RowLoss, _targets_for, _weights_for


class SquaredError(RowLoss):
    def forward(self, outputs: Any, targets: Any) -> Any:
        self.diff = outputs - targets
        return self._mean(self._rows(self.diff * self.diff))

    def backward(self, grad: Any) -> tuple[Any, None]:
        return self._weighted(self.diff * (2 * grad / self.diff.size)), None


class AbsoluteError(RowLoss):
    def forward(self, outputs: Any, targets: Any) -> Any:
        xp = backend.get_array_module(outputs)
        self.sign = xp.sign(outputs - targets)
        return self._mean(self._rows(xp.abs(outputs - targets)))

    def backward(self, grad: Any) -> tuple[Any, None]:
        return self._weighted(self.sign * (grad / self.sign.size)), None


class BinaryCrossentropyFromProbs(RowLoss):
    """-mean(t log p + (1 - t) log(1 - p)), p clipped to [eps, 1 - eps] as Keras does (no
    gradient where the clip holds)."""

    def forward(self, probs: Any, targets: Any) -> Any:
        xp = backend.get_array_module(probs)
        eps = backend_epsilon()
        self.clipped = xp.clip(probs, eps, 1 - eps)
        self.inside = (probs > eps) & (probs < 1 - eps)
        self.targets = targets
        p = self.clipped
        return self._mean(self._rows(-(targets * xp.log(p) + (1 - targets) * xp.log(1 - p))))

    def backward(self, grad: Any) -> tuple[Any, None]:
        p, t = self.clipped, self.targets
        d = (p - t) / (p * (1 - p)) * self.inside
        return self._weighted(d * (grad / p.size)), None


class SigmoidCrossEntropy(RowLoss):
    """Binary cross-entropy of sigmoid(z), as max(z, 0) - z t + log(1 + exp(-|z|)): stable for
    any logit."""

    def forward(self, logits: Any, targets: Any) -> Any:
        xp = backend.get_array_module(logits)
        self.logits, self.targets = logits, targets
        terms = xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))
        return self._mean(self._rows(terms))

    def backward(self, grad: Any) -> tuple[Any, None]:
        xp = backend.get_array_module(grad)
        probs = 1 / (1 + xp.exp(-self.logits))
        return self._weighted((probs - self.targets) * (grad / probs.size)), None


def mean_squared_error(outputs: Any, targets: Any, sample_weight: Any = None) -> Tensor:
    weights = _weights_for(outputs, sample_weight)
    return SquaredError(weights)(outputs, _targets_for(outputs, targets))


def mean_absolute_error(outputs: Any, targets: Any, sample_weight: Any = None) -> Tensor:
    weights = _weights_for(outputs, sample_weight)
    return AbsoluteError(weights)(outputs, _targets_for(outputs, targets))


def binary_crossentropy(
    outputs: Any, targets: Any, from_logits: bool = False, sample_weight: Any = None
) -> Tensor:
    targets = _targets_for(outputs, targets)
    weights = _weights_for(outputs, sample_weight)
    if from_logits:
        return SigmoidCrossEntropy(weights)(outputs, targets)
    return BinaryCrossentropyFromProbs(weights)(outputs, targets)


# --- Keras' other losses on targets of the outputs' shape ------------------------------------
# Each is a function of (outputs o, targets t) for every value, with its derivative in o; the
# loss is the mean over a sample's values (times ``scale``: KL divergence sums over the last
# axis), averaged over the samples.

Terms = Callable[[Any, Any, Any], tuple[Any, Any]]


class Elementwise(RowLoss):
    def __init__(self, terms: Terms, weights: Any = None, scale: float = 1.0) -> None:
        super().__init__(weights)
        self.terms, self.scale = terms, scale

    def forward(self, outputs: Any, targets: Any) -> Any:
        xp = backend.get_array_module(outputs)
        value, self.derivative = self.terms(xp, outputs, targets)
        return self._mean(self._rows(value)) * outputs.dtype.type(self.scale)

    def backward(self, grad: Any) -> tuple[Any, None]:
        d = self.derivative
        return self._weighted(d * (grad * d.dtype.type(self.scale) / d.size)), None


def huber_terms(delta: float) -> Terms:
    """0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2 (e = o - t)."""

    def terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
        e = o - t
        small = xp.abs(e) <= delta
        value = xp.where(small, 0.5 * e * e, delta * xp.abs(e) - 0.5 * delta * delta)
        return value, xp.where(small, e, delta * xp.sign(e))

    return terms


def log_cosh_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """log(cosh(e)), computed as e + softplus(-2 e) - log 2 so that it never overflows."""
    e = o - t
    softplus = xp.log1p(xp.exp(-xp.abs(2 * e))) + xp.maximum(-2 * e, 0)
    return e + softplus - math.log(2.0), xp.tanh(e)


def squared_log_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """(log(max(o, eps) + 1) - log(max(t, eps) + 1))^2."""
    eps = backend_epsilon()
    shifted = xp.maximum(o, eps) + 1
    d = xp.log(shifted) - xp.log(xp.maximum(t, eps) + 1)
    return d * d, 2 * d / shifted * (o > eps)


def percentage_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """100 |t - o| / max(|t|, eps)."""
    scale = 100 / xp.maximum(xp.abs(t), backend_epsilon())
    return xp.abs(t - o) * scale, xp.sign(o - t) * scale


def poisson_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """o - t log(o + eps)."""
    eps = backend_epsilon()
    return o - t * xp.log(o + eps), 1 - t / (o + eps)


def kl_divergence_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """t log(t / p), both clipped to [eps, 1]; no gradient where the output was clipped."""
    eps = backend_epsilon()
    t = xp.clip(t, eps, 1)
    p = xp.clip(o, eps, 1)
    return t * xp.log(t / p), -t / p * ((o > eps) & (o < 1))


def _hinge_labels(xp: Any, t: Any) -> Any:
    """Keras' rule: a batch of 0/1 labels becomes -1/1; other labels stay as they are."""
    binary = ((t == 0) | (t == 1)).all()
    return xp.where(binary, 2 * t - 1, t)


def hinge_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """max(1 - t o, 0)."""
    t = _hinge_labels(xp, t)
    margin = 1 - t * o
    return xp.maximum(margin, 0), -t * (margin > 0)


def squared_hinge_terms(xp: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """max(1 - t o, 0)^2."""
    t = _hinge_labels(xp, t)
    margin = xp.maximum(1 - t * o, 0)
    return margin * margin, -2 * t * margin


def elementwise_loss(
    terms: Terms, outputs: Any, targets: Any, sample_weight: Any = None, sum_last_axis: bool = False
) -> Tensor:
    data = outputs.data if isinstance(outputs, Tensor) else outputs
    scale = data.shape[-1] if sum_last_axis else 1.0
    weights = _weights_for(outputs, sample_weight)
    return Elementwise(terms, weights, scale)(outputs, _targets_for(outputs, targets))
