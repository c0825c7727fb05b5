"""Activation layers: ``Activation(name)``, and Keras' ``ReLU``, ``LeakyReLU``, ``PReLU``,
``ELU`` and ``Softmax`` with their arguments."""

from __future__ import annotations

import warnings
from typing import Any

from . import activation_ops as A
from . import activations, constraints, initializers, regularizers
from . import functions as F
from .autograd import Tensor
from .data_checks import finite_number
from .layer_base import Layer, Shape


class Activation(Layer):
    """An activation on its own: ``Activation("relu")``."""

    supports_masking = True  # a padding mask passes through, as in Keras

    def __init__(self, activation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation, self.activation_name = activations.resolve(activation)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        """The input itself: what the model hands the loss when it fuses a last softmax."""
        return F.relu(x) if relu else x

    def call(self, x: Tensor, training: bool) -> Tensor:
        return self.activation(x)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": activations.config_entry(self.activation_name),
        }


class _Elementwise(Layer):
    """An activation layer with arguments of its own; shapes and padding masks pass
    through, as in Keras."""

    supports_masking = True

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
            None if max_value is None else finite_number(max_value, "max_value", owner, 0)
        )
        self.negative_slope = finite_number(negative_slope, "negative_slope", owner, 0)
        self.threshold = finite_number(threshold, "threshold", owner)

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
        self.negative_slope = finite_number(negative_slope, "negative_slope", self.describe(), 0)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return A.relu(x, negative_slope=self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """x for x > 0, ``alpha * (e^x - 1)`` below."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = finite_number(alpha, "alpha", self.describe())

    def call(self, x: Tensor, training: bool) -> Tensor:
        return A.elu(x, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(_Elementwise):
    """x for x > 0, ``alpha * x`` below, with ``alpha`` learned: one per input value, or shared
    along ``shared_axes`` (1-based axes of the input, as in Keras: ``shared_axes=[1, 2]`` gives
    one alpha per channel of an image)."""

    WEIGHT_NAMES = ("alpha",)

    def __init__(
        self,
        alpha_initializer: str = "zeros",
        alpha_regularizer: Any = None,
        shared_axes: list[int] | None = None,
        alpha_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer_name = initializers.config_of(alpha_initializer)
        self._alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]

    def _create_weights(self, input_shape: Shape) -> list[Any]:
        shared = set(self.shared_axes or [])
        bad = sorted(a for a in shared if not 1 <= a <= len(input_shape))
        if bad:
            raise ValueError(
                f"{self.describe()}: shared_axes {bad} are not axes of an input of shape "
                f"(batch, {', '.join(map(str, input_shape))}) (they count from 1)."
            )
        shape = tuple(1 if axis in shared else d for axis, d in enumerate(input_shape, 1))
        return [self._alpha_initializer(shape)]

    def call(self, x: Tensor, training: bool) -> Tensor:
        return A.prelu(x, self._weights[0])

    @property
    def losses(self) -> list[Tensor]:
        return self._penalties([(self.alpha_regularizer, 0)])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": self.alpha_initializer_name,
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }

    def _attach_constraints(self) -> None:
        self._weights[0].constraint = self.alpha_constraint


class Softmax(Activation):
    """Softmax over ``axis`` (the last by default); over the last axis, as the model's last
    layer, the cross-entropy takes it over like a softmax Dense."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__("softmax", **kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"{self.describe()}: axis must be an int, got {axis!r}.")
        self.axis = axis
        if axis != -1:  # no loss may fuse it: the classes are not on the last axis
            self.activation_name = "softmax_over_axis"

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.axis != -1 and not -len(input_shape) - 1 <= self.axis <= len(input_shape):
            raise ValueError(
                f"{self.describe()}: axis {self.axis} is out of range for inputs of shape "
                f"{(None, *input_shape)}."
            )
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        return activations.softmax(x, axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activation"]
        return {**config, "axis": self.axis}
