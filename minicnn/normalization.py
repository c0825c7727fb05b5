"""BatchNormalization and LayerNormalization, with Keras' arguments, weights and rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, constraints, initializers, regularizers
from . import functions as F
from .autograd import Tensor
from .layer_base import Layer, Shape
from .norm_ops import group_normalization, layer_normalization


class _ScaleAndShift(Layer):
    """What the normalizations share: gamma (with ``scale``) and beta (with ``center``) are
    their first weights, with Keras' regularizers and constraints."""

    center = scale = True

    def _scale_and_shift_options(
        self,
        beta_regularizer: Any,
        gamma_regularizer: Any,
        beta_constraint: Any,
        gamma_constraint: Any,
    ) -> None:
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _gamma_and_beta_indices(self) -> tuple[int | None, int | None]:
        gamma = 0 if self.scale else None
        beta = (1 if self.scale else 0) if self.center else None
        return gamma, beta

    def _attach_constraints(self) -> None:
        gamma, beta = self._gamma_and_beta_indices()
        if gamma is not None:
            self._weights[gamma].constraint = self.gamma_constraint
        if beta is not None:
            self._weights[beta].constraint = self.beta_constraint

    @property
    def losses(self) -> list[Tensor]:
        gamma, beta = self._gamma_and_beta_indices()
        pairs = [(self.gamma_regularizer, gamma), (self.beta_regularizer, beta)]
        return self._penalties([(r, i) for r, i in pairs if i is not None])

    def _scale_and_shift_config(self) -> dict[str, Any]:
        config = {
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }
        return {
            **config,
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class BatchNormalization(_ScaleAndShift):
    """Keras' BatchNormalization: normalizes each index of ``axis`` (the channels by default)
    by the batch's statistics in training, and by their moving averages otherwise.

    Weights, in Keras' order: gamma (with ``scale``), beta (with ``center``), then the moving
    mean and variance, which are non-trainable. A frozen layer (``trainable = False``) runs in
    inference mode, as in Keras 3.
    """

    # Batch renormalization is not implemented.
    _keras_defaults = {"renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}

    WEIGHT_NAMES = ("gamma", "beta", "moving_mean", "moving_variance")

    supports_masking = True  # a padding mask passes through, as in Keras

    state_weight_count = 2

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: str = "zeros",
        gamma_initializer: str = "ones",
        moving_mean_initializer: str = "zeros",
        moving_variance_initializer: str = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._scale_and_shift_options(
            beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint
        )
        # Keras' synchronized sums batch statistics across devices; one device has them all.
        self.synchronized = bool(synchronized)
        if not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{self.describe()}: axis must be one int, got {axis!r}.")
        if not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"{self.describe()}: momentum must be in [0, 1), got {momentum!r}.")
        if not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"{self.describe()}: epsilon must be positive, got {epsilon!r}.")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._init_names = {
            "beta_initializer": initializers.config_of(beta_initializer),
            "gamma_initializer": initializers.config_of(gamma_initializer),
            "moving_mean_initializer": initializers.config_of(moving_mean_initializer),
            "moving_variance_initializer": initializers.config_of(moving_variance_initializer),
        }
        self._initializers = {k: initializers.get(v) for k, v in self._init_names.items()}

    def _feature_axis(self, input_shape: Shape) -> int:
        """The axis as an index into the sample's shape (the batch axis left out)."""
        ndim = len(input_shape) + 1
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 1 <= axis < ndim:
            raise ValueError(
                f"{self.describe()}: axis {self.axis} is not a feature axis of input shape "
                f"{(None, *input_shape)}."
            )
        return axis - 1

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._feature_axis(input_shape)
        return input_shape

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        shape = (input_shape[self._feature_axis(input_shape)],)
        made = self._initializers
        weights = [made["gamma_initializer"](shape)] if self.scale else []
        weights += [made["beta_initializer"](shape)] if self.center else []
        return weights + [
            made["moving_mean_initializer"](shape),
            made["moving_variance_initializer"](shape),
        ]

    def call(self, x: Tensor, training: bool) -> Tensor:
        weights = list(self._weights)
        xp = backend.get_array_module(weights[0].data)
        features = weights[-1].shape
        gamma = weights.pop(0) if self.scale else xp.ones(features, weights[0].dtype)
        beta = weights.pop(0) if self.center else xp.zeros(features, weights[0].dtype)
        moving_mean, moving_variance = weights
        return F.batch_normalization(
            x,
            gamma,
            beta,
            moving_mean.data,
            moving_variance.data,
            training=training and self.trainable,
            momentum=self.momentum,
            epsilon=self.epsilon,
            axis=self._feature_axis(x.shape[1:]) + 1,
        )

    def masked_call(self, x: Tensor, training: bool, mask: Any, **kwargs: Any) -> Tensor:
        """Keras' BatchNormalization given a padding mask: in training, the batch's mean and
        variance are those of the kept entries only (each divided by their count plus
        1e-7, as Keras'), and the moving statistics move towards them; every entry is
        normalized by them. Otherwise the mask changes nothing."""
        if mask.ndim != x.ndim - 1:
            raise ValueError(
                f"{self.describe()}: the mask must have one axis less than the inputs; got "
                f"mask of shape {tuple(mask.shape)} for inputs of {x.shape}."
            )
        if not (training and self.trainable):
            return self.call(x, training)
        from . import ops

        weights = list(self._weights)
        xp = backend.get_array_module(x.data)
        axis = self._feature_axis(x.shape[1:]) + 1
        features = weights[-1].shape
        gamma = weights.pop(0) if self.scale else xp.ones(features, x.dtype)
        beta = weights.pop(0) if self.center else xp.zeros(features, x.dtype)
        moving_mean, moving_variance = weights
        kept = xp.broadcast_to(mask.astype(x.dtype)[..., None], x.shape)
        axes = tuple(a for a in range(x.ndim) if a != axis)
        count = kept.sum(axis=axes, keepdims=True) + x.dtype.type(1e-7)
        mean = ops.sum(x * Tensor(kept), axis=axes, keepdims=True) / Tensor(count)
        centered = (x - mean) * Tensor(kept)
        variance = ops.sum(centered * centered, axis=axes, keepdims=True) / Tensor(count)
        for moving, batch in ((moving_mean, mean), (moving_variance, variance)):
            moving.data *= moving.dtype.type(self.momentum)
            moving.data += moving.dtype.type(1 - self.momentum) * batch.data.reshape(features)
        shape = [1] * x.ndim
        shape[axis] = features[0]
        scale = ops.reshape(gamma, tuple(shape)) / ops.sqrt(variance + self.epsilon)
        return (x - mean) * scale + ops.reshape(beta, tuple(shape))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **self._init_names,
            **self._scale_and_shift_config(),
            "synchronized": self.synchronized,
        }


class LayerNormalization(_ScaleAndShift):
    """Keras' LayerNormalization: each sample normalized by its own mean and variance over
    ``axis`` (the last, the features, by default; an int or a list of sample axes), then
    scaled by gamma and shifted by beta, one each per position of those axes. The same in
    training and inference."""

    _keras_defaults = {"rms_scaling": False}  # RMS normalization is not implemented

    WEIGHT_NAMES = ("gamma", "beta")

    supports_masking = True  # a padding mask passes through, as in Keras

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: str = "zeros",
        gamma_initializer: str = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._scale_and_shift_options(
            beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint
        )
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(
                f"{self.describe()}: axis must be an int or a list of ints, got {axis!r}."
            )
        if 0 in axes:
            raise ValueError(f"{self.describe()}: axis 0 is the batch, which is not normalized.")
        if not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"{self.describe()}: epsilon must be positive, got {epsilon!r}.")
        self.axis: int | list[int] = axes if isinstance(axis, (list, tuple)) else axes[0]
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._init_names = {
            "beta_initializer": initializers.config_of(beta_initializer),
            "gamma_initializer": initializers.config_of(gamma_initializer),
        }
        self._initializers = {k: initializers.get(v) for k, v in self._init_names.items()}

    def _axes(self, rank: int) -> tuple[int, ...]:
        """The normalized axes of a batch of samples of ``rank`` axes, counted from 0."""
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        resolved = sorted({a + rank + 1 if a < 0 else a for a in axes})
        if not all(1 <= a <= rank for a in resolved):
            raise ValueError(
                f"{self.describe()}: axis {self.axis} is not an axis of samples of rank {rank}."
            )
        return tuple(resolved)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._axes(len(input_shape))
        return input_shape

    def _param_shape(self, input_shape: Shape) -> tuple[int, ...]:
        return tuple(input_shape[a - 1] for a in self._axes(len(input_shape)))

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        shape = self._param_shape(input_shape)
        weights = [self._initializers["gamma_initializer"](shape)] if self.scale else []
        return weights + ([self._initializers["beta_initializer"](shape)] if self.center else [])

    def _gamma_beta(self, x: Tensor) -> tuple[Any, Any]:
        """The scale and shift weights (or ones and zeros where ``scale``/``center`` is off),
        shaped to broadcast against x."""
        weights = list(self._weights)
        xp = backend.get_array_module(x.data)
        shape = self._param_shape(x.shape[1:])
        gamma = weights.pop(0) if self.scale else xp.ones(shape, x.dtype)
        beta = weights.pop(0) if self.center else xp.zeros(shape, x.dtype)
        axes = self._axes(x.ndim - 1)
        if axes != tuple(range(x.ndim - len(axes), x.ndim)):  # not the trailing axes
            broadcast = tuple(x.shape[a] if a in axes else 1 for a in range(1, x.ndim))
            gamma, beta = F.reshape(gamma, broadcast), F.reshape(beta, broadcast)
        return gamma, beta

    def call(self, x: Tensor, training: bool) -> Tensor:
        axes = self._axes(x.ndim - 1)
        return layer_normalization(x, *self._gamma_beta(x), self.epsilon, axes)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **self._init_names,
            **self._scale_and_shift_config(),
        }


class RMSNormalization(LayerNormalization):
    """Keras' RMSNormalization (Zhang and Sennrich): each sample divided by the root mean
    square of its values over ``axis`` (plus ``epsilon``), then scaled by a learned weight
    per position of those axes (ones at first); no centering, no shift."""

    supports_masking = False  # Keras' RMSNormalization drops a padding mask
    _keras_defaults: dict[str, Any] = {}  # (it is the RMS scaling)

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-6, **kwargs: Any):
        super().__init__(axis=axis, epsilon=epsilon, center=False, scale=True, **kwargs)

    def _weight_names(self) -> list[str]:
        return ["scale"]  # Keras' name for its one weight

    def call(self, x: Tensor, training: bool) -> Tensor:
        from . import ops

        gamma, _ = self._gamma_beta(x)
        return ops.rms_normalization(x, gamma, self._axes(x.ndim - 1), self.epsilon)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        return {
            key: value
            for key, value in config.items()
            if key not in ("center", "scale", "beta_initializer", "gamma_initializer")
            and not key.startswith("beta_")
            and not key.startswith("gamma_")
        }


class GroupNormalization(LayerNormalization):
    """Keras' GroupNormalization: the channels (last axis) in ``groups`` groups, each sample's
    group normalized over its channels at every position, then gamma and beta per channel.
    ``groups=-1`` gives each channel its own group (instance normalization); ``groups=1``
    normalizes all of a sample's values together. The same in training and inference."""

    _keras_defaults: dict = {}

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, **kwargs: Any):
        super().__init__(axis=axis, epsilon=epsilon, **kwargs)
        if axis != -1:
            raise ValueError(f"{self.describe()}: only axis=-1 (channels last) is available.")
        if (
            isinstance(groups, bool)
            or not isinstance(groups, int)
            or not (groups >= 1 or groups == -1)
        ):
            raise ValueError(
                f"{self.describe()}: groups must be a positive int or -1, got {groups!r}."
            )
        self.groups = groups

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = input_shape[-1]
        if self.groups != -1 and (self.groups > channels or channels % self.groups):
            raise ValueError(
                f"{self.describe()}: {channels} channels do not split into {self.groups} "
                "groups of equal size."
            )
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        groups = x.shape[-1] if self.groups == -1 else self.groups
        return group_normalization(x, *self._gamma_beta(x), groups, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups}
