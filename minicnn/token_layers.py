"""Learned tensors at a transformer's input: ``PositionEmbedding`` (keras_hub's: one learned
vector per position, given in the input's shape, to be added to it) and ``ClassToken``
(learned vectors put before a sequence's steps: ViT's class token, DeiT's distillation
token). What ``load_onnx`` makes of PyTorch's ``x + self.pos_embedding`` and
``torch.cat([self.cls_token.expand(n, -1, -1), x], 1)``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, initializers
from . import functions as F
from .autograd import Function, Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape


class SpreadOverBatch(Function):
    """A weight repeated for each of ``count`` samples; its gradient sums over them."""

    def __init__(self, count: int) -> None:
        self.count = count

    def forward(self, w: Any) -> Any:
        xp = backend.get_array_module(w)
        return xp.broadcast_to(w, (self.count, *w.shape))

    def backward(self, grad: Any) -> Any:
        return grad.sum(axis=0)


def _sequence_shape(layer: Layer, input_shape: Shape) -> tuple[int, int]:
    if len(input_shape) != 2 or None in input_shape:
        raise ValueError(
            f"{layer.describe()} takes sequences (batch, steps, features) of known sizes; got "
            f"{(None, *input_shape)}."
        )
    return int(input_shape[0]), int(input_shape[1])


class PositionEmbedding(Layer):
    """keras_hub's PositionEmbedding: a learned vector for each position up to
    ``sequence_length``. Called on (batch, steps, features), it gives the first ``steps`` of
    them, the same for every sample, in the input's shape: ``x + PositionEmbedding(n)(x)``."""

    WEIGHT_NAMES = ("embeddings",)

    def __init__(
        self, sequence_length: int, initializer: Any = "glorot_uniform", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sequence_length = positive_int(sequence_length, f"{self.describe()}: sequence_length")
        self.initializer_name = initializers.config_of(initializer)
        self._initializer = initializers.get(initializer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        steps, _ = _sequence_shape(self, input_shape)
        if steps > self.sequence_length:
            raise ValueError(
                f"{self.describe()} has {self.sequence_length} positions; its input has "
                f"{steps} steps."
            )
        return input_shape

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        _, features = _sequence_shape(self, input_shape)
        return [self._initializer((self.sequence_length, features))]

    def call(self, x: Tensor, training: bool) -> Tensor:
        w = self._weights[0]
        if x.shape[1] < self.sequence_length:
            w = w[: x.shape[1]]
        return SpreadOverBatch(x.shape[0])(w)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "initializer": self.initializer_name,
        }


class ClassToken(Layer):
    """``count`` learned vectors put before the steps of a sequence, the same for every
    sample (ViT's class token; DeiT's distillation token makes two): (batch, steps,
    features) -> (batch, count + steps, features)."""

    WEIGHT_NAMES = ("tokens",)

    def __init__(self, count: int = 1, initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = positive_int(count, f"{self.describe()}: count")
        self.initializer_name = initializers.config_of(initializer)
        self._initializer = initializers.get(initializer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        steps, features = _sequence_shape(self, input_shape)
        return (self.count + steps, features)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        _, features = _sequence_shape(self, input_shape)
        return [self._initializer((self.count, features))]

    def call(self, x: Tensor, training: bool) -> Tensor:
        tokens = SpreadOverBatch(x.shape[0])(self._weights[0])
        return F.concatenate([tokens, x], axis=1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "count": self.count,
            "initializer": self.initializer_name,
        }
