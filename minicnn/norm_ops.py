"""Layer and group normalization as differentiable operations (batch normalization, whose
statistics depend on the batch, is in ``functions``)."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Function, Tensor
from .functions import _unbroadcast


class Standardize(Function):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, with mean and variance taken over
    ``axes`` of each sample (of the ``_view`` of x, for group normalization); gamma and beta
    broadcast against x."""

    def __init__(self, axes: tuple[int, ...], epsilon: float) -> None:
        self.axes, self.epsilon = axes, epsilon

    def _view(self, a: Any) -> Any:
        return a

    def forward(self, x: Any, gamma: Any, beta: Any) -> Any:
        xp = backend.get_array_module(x)
        view = self._view(x)
        centered = view - view.mean(axis=self.axes, keepdims=True)
        variance = (centered * centered).mean(axis=self.axes, keepdims=True)
        inv_std = 1 / xp.sqrt(variance + x.dtype.type(self.epsilon))
        normalized = (centered * inv_std).reshape(x.shape)
        gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
        if self.recording:
            self.normalized, self.inv_std, self.gamma = normalized, inv_std, gamma
            self.beta_shape = beta.shape
        return normalized * gamma + beta

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        dbeta = _unbroadcast(grad, self.beta_shape)
        dgamma = _unbroadcast(grad * self.normalized, self.gamma.shape)
        g = self._view(grad * self.gamma)
        normalized = self._view(self.normalized)
        dx = g - g.mean(axis=self.axes, keepdims=True)
        dx -= normalized * (g * normalized).mean(axis=self.axes, keepdims=True)
        dx *= self.inv_std
        return dx.reshape(grad.shape), dgamma, dbeta


class GroupNorm(Standardize):
    """Keras' GroupNormalization: mean and variance over each sample's group of channels at
    every position (``groups`` groups of C / groups consecutive channels); gamma and beta per
    channel."""

    def __init__(self, groups: int, epsilon: float) -> None:
        super().__init__((1, 3), epsilon)  # positions and a group's channels, in the view
        self.groups = groups

    def _view(self, a: Any) -> Any:
        return a.reshape(a.shape[0], -1, self.groups, a.shape[-1] // self.groups)


def group_normalization(
    x: Any, gamma: Any, beta: Any, groups: int, epsilon: float = 1e-3
) -> Tensor:
    return GroupNorm(groups, epsilon)(x, gamma, beta)


def layer_normalization(
    x: Any, gamma: Any, beta: Any, epsilon: float = 1e-3, axes: tuple[int, ...] = (-1,)
) -> Tensor:
    """Keras' LayerNormalization: each sample standardized over ``axes`` (the last by
    default), gamma and beta shaped to broadcast over the other axes."""
    return Standardize(axes, epsilon)(x, gamma, beta)
