"""Group and layer normalization as differentiable operations (batch normalization, whose
statistics depend on the batch, is in ``functions``)."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Function, Tensor

GROUP_AXES = (1, 3)  # positions and the channels of a group, in the (n, positions, groups, c) view


class GroupNorm(Function):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, with mean and variance taken over
    each sample's group of channels at every position (Keras' GroupNormalization: ``groups``
    groups of C / groups consecutive channels); gamma and beta per channel."""

    def __init__(self, groups: int, epsilon: float) -> None:
        self.groups, self.epsilon = groups, epsilon

    def _grouped(self, a: Any) -> Any:
        return a.reshape(a.shape[0], -1, self.groups, a.shape[-1] // self.groups)

    def forward(self, x: Any, gamma: Any, beta: Any) -> Any:
        xp = backend.get_array_module(x)
        grouped = self._grouped(x)
        centered = grouped - grouped.mean(axis=GROUP_AXES, keepdims=True)
        variance = (centered * centered).mean(axis=GROUP_AXES, keepdims=True)
        inv_std = 1 / xp.sqrt(variance + x.dtype.type(self.epsilon))
        normalized = (centered * inv_std).reshape(x.shape)
        gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
        if self.recording:
            self.normalized, self.inv_std, self.gamma = normalized, inv_std, gamma
        return normalized * gamma + beta

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        rows = tuple(range(grad.ndim - 1))
        dbeta = grad.sum(axis=rows)
        dgamma = (grad * self.normalized).sum(axis=rows)
        g = self._grouped(grad * self.gamma)
        normalized = self._grouped(self.normalized)
        dx = g - g.mean(axis=GROUP_AXES, keepdims=True)
        dx -= normalized * (g * normalized).mean(axis=GROUP_AXES, keepdims=True)
        dx *= self.inv_std
        return dx.reshape(grad.shape), dgamma, dbeta


def group_normalization(
    x: Any, gamma: Any, beta: Any, groups: int, epsilon: float = 1e-3
) -> Tensor:
    return GroupNorm(groups, epsilon)(x, gamma, beta)


class LayerNorm(GroupNorm):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, with mean and variance taken over
    the last axis at each position of each sample (Keras' LayerNormalization): a group
    normalization whose groups are single positions."""

    def __init__(self, epsilon: float) -> None:
        super().__init__(1, epsilon)

    def _grouped(self, a: Any) -> Any:
        return a.reshape(-1, 1, 1, a.shape[-1])


def layer_normalization(x: Any, gamma: Any, beta: Any, epsilon: float = 1e-3) -> Tensor:
    return LayerNorm(epsilon)(x, gamma, beta)
