"""Activation layers: ``Activation(name)``, and Keras' ``ReLU``, ``LeakyReLU``, ``ELU`` and
``Softmax`` with their arguments."""

from __future__ import annotations

import warnings
from typing import Any

from . import activation_ops as A
from . import activations
from . import functions as F
from .autograd import Tensor
from .layer_base import Layer, Shape


class Activation(Layer):
    """An activation on its own: ``Activation("relu")``."""

    def __init__(self, activation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation_name = activation
        self.activation = activations.get(activation)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        """The input itself: what the model hands the loss when it fuses a last softmax."""
        return F.relu(x) if relu else x

    def call(self, x: Tensor, training: bool) -> Tensor:
        return self.activation(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation_name}


class _Elementwise(Layer):
    """An activation layer with arguments of its own; shapes pass through."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape


class ReLU(_Elementwise):
    """Keras' ReLU layer: x from ``threshold`` up to ``max_value`` (None: no cap),
    ``negative_slope * (x - threshold)`` below the threshold."""

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.max_value = (
            None if max_value is None else A.check_finite_number(max_value, "max_value", owner, 0)
        )
        self.negative_slope = A.check_finite_number(negative_slope, "negative_slope", owner, 0)
        self.threshold = A.check_finite_number(threshold, "threshold", owner)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return A.relu(x, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(_Elementwise):
    """x for x >= 0, ``negative_slope * x`` below (Keras 3's default slope 0.3; Keras 2's
    ``alpha`` is taken, with Keras' deprecation warning)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
        self.negative_slope = A.check_finite_number(
            negative_slope, "negative_slope", self.describe(), 0
        )

    def call(self, x: Tensor, training: bool) -> Tensor:
        return A.relu(x, negative_slope=self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """x for x > 0, ``alpha * (e^x - 1)`` below."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = A.check_finite_number(alpha, "alpha", self.describe())

    def call(self, x: Tensor, training: bool) -> Tensor:
        return A.elu(x, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Activation):
    """Softmax over the last axis (``axis=-1``, the only one here); as the last layer, the
    cross-entropy takes it over like a softmax Dense."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__("softmax", **kwargs)
        if axis != -1:
            raise ValueError(f"{self.describe()}: only axis=-1 is supported, got {axis!r}.")
        self.axis = -1

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activation"]
        return {**config, "axis": self.axis}
