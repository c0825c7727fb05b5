"""Losses averaged over every output value: mean squared and absolute error, and binary
cross-entropy (on probabilities, or stably on logits). Targets have the outputs' shape."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Tensor
from .functions import PROB_EPSILON, RowLoss, _targets_for, _weights_for


def _per_sample(values: Any) -> Any:
    """Each sample's mean value: the mean over all values is the mean of these."""
    return values.reshape(values.shape[0], -1).mean(axis=1)


class SquaredError(RowLoss):
    def forward(self, outputs: Any, targets: Any) -> Any:
        self.diff = outputs - targets
        return self._mean(_per_sample(self.diff * self.diff))

    def backward(self, grad: Any) -> tuple[Any, None]:
        return self._weighted(self.diff * (2 * grad / self.diff.size)), None


class AbsoluteError(RowLoss):
    def forward(self, outputs: Any, targets: Any) -> Any:
        xp = backend.get_array_module(outputs)
        self.sign = xp.sign(outputs - targets)
        return self._mean(_per_sample(xp.abs(outputs - targets)))

    def backward(self, grad: Any) -> tuple[Any, None]:
        return self._weighted(self.sign * (grad / self.sign.size)), None


class BinaryCrossentropyFromProbs(RowLoss):
    """-mean(t log p + (1 - t) log(1 - p)), p clipped to [eps, 1 - eps] as Keras does (no
    gradient where the clip holds)."""

    def forward(self, probs: Any, targets: Any) -> Any:
        xp = backend.get_array_module(probs)
        self.clipped = xp.clip(probs, PROB_EPSILON, 1 - PROB_EPSILON)
        self.inside = (probs > PROB_EPSILON) & (probs < 1 - PROB_EPSILON)
        self.targets = targets
        p = self.clipped
        return self._mean(_per_sample(-(targets * xp.log(p) + (1 - targets) * xp.log(1 - p))))

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
        return self._mean(_per_sample(terms))

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
