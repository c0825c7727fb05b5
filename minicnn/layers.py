"""Keras-style layers: each knows its output shape, owns its weights and calls functions."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import activations, backend, initializers, regularizers
from . import functions as F
from .autograd import Tensor
from .data_checks import positive_int

Shape = tuple[int, ...]


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _positive_pair(value: Any, what: str, layer: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(
            f"{layer}: {what} must be a positive int or a pair of them, got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _padding(value: Any, layer: str) -> str:
    padding = str(value).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {value!r}.")
    return padding


def _require_image(input_shape: Shape, layer: str, kind: str) -> None:
    if len(input_shape) != 3:
        raise ValueError(
            f"{layer} expects input of shape (batch, height, width, channels); "
            f"got {(None, *input_shape)}. {kind} cannot follow Flatten or Dense."
        )


class Input:
    """The shape of one sample, batch left out: ``Input(shape=(28, 28, 1))``."""

    def __init__(self, shape: Shape, name: str | None = None) -> None:
        shape = tuple(shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
            raise ValueError(f"Input shape must be positive ints, got {shape!r}.")
        self.shape = tuple(int(d) for d in shape)
        self.name = name


class Layer:
    """Base class: a name, a build step that creates weights from the input shape, and a call."""

    # How many of the weights, counted from the end, are state rather than parameters: updated
    # by the layer itself, never by the optimizer (BatchNormalization's moving statistics).
    state_weight_count = 0

    def __init__(
        self,
        name: str | None = None,
        input_shape: Shape | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        self.name = name or backend.unique_name(_snake_case(type(self).__name__))
        self.input_shape_hint = tuple(input_shape) if input_shape is not None else None
        self.built = False
        self._trainable = bool(trainable)
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self._weights: list[Tensor] = []
        # Where build() puts the weights; a model sets it, a lone layer takes its input's.
        self.device = "cpu"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    def describe(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    # -- shapes and weights --------------------------------------------------------------------
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        raise NotImplementedError

    def build(self, input_shape: Shape) -> None:
        """Check the input shape, create the weights, and remember both shapes."""
        input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = input_shape
        # Initial weights are drawn on the host from minicnn's one generator, so a seed gives the
        # same model on every device.
        arrays = self._create_weights(input_shape)
        self._weights = [Tensor(backend.to_device(w, self.device)) for w in arrays]
        self.built = True
        self.trainable = self._trainable

    def to(self, device: str) -> None:
        """Move the weights to 'cpu' or 'gpu'; later builds create them there."""
        self.device = device
        for w in self._weights:
            w.data = backend.to_device(w.data, device)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        return []

    @property
    def weights(self) -> list[Tensor]:
        """Every weight, in Keras' order: the trainable ones, then the non-trainable ones."""
        return list(self._weights)

    @property
    def trainable(self) -> bool:
        """Whether the optimizer updates this layer's weights (``layer.trainable = False``
        freezes them; compile again afterwards, as in Keras)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        parameters = len(self._weights) - self.state_weight_count
        for i, w in enumerate(self._weights):
            w.requires_grad = self._trainable and i < parameters

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [w for w in self._weights if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        return [w for w in self._weights if not w.requires_grad]

    def count_params(self) -> int:
        return int(sum(w.data.size for w in self._weights))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as NumPy arrays, in Keras layout."""
        return [backend.to_numpy(w.data).copy() for w in self._weights]

    def set_weights(self, weights: list[Any]) -> None:
        if not self.built:
            raise ValueError(f"{self.describe()} is not built yet; it has no weights to set.")
        if len(weights) != len(self._weights):
            raise ValueError(
                f"{self.describe()} expects {len(self._weights)} weight arrays, got {len(weights)}."
            )
        new = []
        for i, (old, w) in enumerate(zip(self._weights, weights, strict=True)):
            w = np.asarray(backend.to_numpy(w))
            if w.shape != old.shape:
                raise ValueError(
                    f"{self.describe()}: weight {i} must have shape {old.shape}, got {w.shape}."
                )
            new.append(w)
        xp = backend.get_array_module(self._weights[0].data) if self._weights else np
        for old, w in zip(self._weights, new, strict=True):
            # A copy: training updates weights in place, and must not write into the caller's
            # arrays (nor may the caller's later changes reach the model).
            old.data = xp.array(w, dtype=old.data.dtype)

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, x: Any, training: bool = False) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.built:
            self.device = backend.device_of(x.data)
            self.build(x.shape[1:])
        return self.call(x, training)

    def call(self, x: Tensor, training: bool) -> Tensor:
        raise NotImplementedError

    @property
    def losses(self) -> list[Tensor]:
        """The weight penalties of this layer (Keras' ``layer.losses``), from its current
        weights; the model adds them to the loss."""
        return []


class _Activated(Layer):
    """A layer with a kernel, an optional bias and an activation: activation(transform(x)).

    The model may fuse the last softmax into the loss; a ReLU is fused into the bias pass.
    """

    def __init__(
        self,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activation_name = activation
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._init_names = (kernel_initializer, bias_initializer)

    def _kernel_and_bias(self, kernel_shape: Shape) -> list[np.ndarray]:
        """Initial weights: the kernel, then a bias of its last dimension when used."""
        weights = [self.kernel_initializer(kernel_shape)]
        if self.use_bias:
            weights.append(self.bias_initializer((kernel_shape[-1],)))
        return weights

    def _bias(self, dtype: Any) -> Any:
        if self.use_bias:
            return self._weights[1]
        xp = backend.get_array_module(self._weights[0].data)
        return xp.zeros(self._weights[0].shape[-1], dtype)

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        """The layer before its activation (or with a fused ReLU when ``relu``)."""
        raise NotImplementedError

    def call(self, x: Tensor, training: bool) -> Tensor:
        if self.activation_name == "relu":
            return self.transform(x, relu=True)
        return self.activation(self.transform(x))

    @property
    def losses(self) -> list[Tensor]:
        if not self.built:
            return []
        pairs = [(self.kernel_regularizer, self._weights[0])]
        if self.use_bias:
            pairs.append((self.bias_regularizer, self._weights[1]))
        return [penalty(w) for penalty, w in pairs if penalty is not None]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": self.activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": self._init_names[0],
            "bias_initializer": self._init_names[1],
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }


class Conv2D(_Activated):
    """2-D convolution over NHWC input; kernel (kh, kw, in, out) and bias (out,) as in Keras."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        self.filters = positive_int(filters, f"{self.describe()}: filters")
        self.kernel_size = _positive_pair(kernel_size, "kernel_size", self.describe())
        self.strides = _positive_pair(strides, "strides", self.describe())
        self.padding = _padding(padding, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Conv2D")
        sizes = []
        for size, k, s in zip(input_shape[:2], self.kernel_size, self.strides, strict=True):
            out, _, _ = F.window_geometry(size, k, s, self.padding)
            sizes.append(out)
        if min(sizes) < 1:
            raise ValueError(
                f"{self.describe()}: a {self.kernel_size[0]}x{self.kernel_size[1]} "
                f"'{self.padding}' window does not fit its {input_shape[0]}x{input_shape[1]} "
                f"input; the output would be {sizes[0]}x{sizes[1]}."
            )
        return (sizes[0], sizes[1], self.filters)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        return self._kernel_and_bias((*self.kernel_size, input_shape[2], self.filters))

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        kernel = self._weights[0]
        return F.conv2d(x, kernel, self._bias(x.dtype), self.strides, self.padding, relu=relu)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class _Pooling2D(Layer):
    """A pool_size window slid by strides (the window itself by default) over each channel."""

    def __init__(
        self,
        pool_size: int | tuple[int, int] = 2,
        strides: int | tuple[int, int] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_size = _positive_pair(pool_size, "pool_size", self.describe())
        self.strides = (
            self.pool_size
            if strides is None
            else _positive_pair(strides, "strides", self.describe())
        )
        self.padding = _padding(padding, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Pooling")
        sizes = [
            F.window_geometry(size, p, s, self.padding)[0]
            for size, p, s in zip(input_shape[:2], self.pool_size, self.strides, strict=True)
        ]
        if min(sizes) < 1:
            raise ValueError(
                f"{self.describe()}: a {self.pool_size[0]}x{self.pool_size[1]} pool does not fit "
                f"its {input_shape[0]}x{input_shape[1]} input; the output would be "
                f"{sizes[0]}x{sizes[1]}."
            )
        return (sizes[0], sizes[1], input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows; 'same' padding counts outside pixels as -inf."""

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows; with 'same' padding a border window averages only the
    pixels inside the input, as in Keras."""

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.avg_pool2d(x, self.pool_size, self.strides, self.padding)


class _GlobalPooling2D(Layer):
    """One value per channel over all positions; ``keepdims`` keeps them as a 1x1 image."""

    mode = ""

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Global pooling")
        return (1, 1, input_shape[2]) if self.keepdims else (input_shape[2],)

    def call(self, x: Tensor, training: bool) -> Tensor:
        out = F.GlobalPool2D(self.mode)(x)
        return F.reshape(out, (-1, 1, 1, out.shape[1])) if self.keepdims else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    mode = "avg"


class GlobalMaxPooling2D(_GlobalPooling2D):
    mode = "max"


class Flatten(Layer):
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(input_shape)),)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.flatten(x)


class Dense(_Activated):
    """y = activation(x @ kernel + bias) over the last axis; kernel (in, out) as in Keras.

    On input of more than one axis per sample, as in Keras, it acts on the last one: a
    (batch, h, w, c) input gives (batch, h, w, units)."""

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        self.units = positive_int(units, f"{self.describe()}: units")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        return self._kernel_and_bias((input_shape[-1], self.units))

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        if x.ndim == 2:
            return F.linear(x, self._weights[0], self._bias(x.dtype), relu=relu)
        # Every position's features at once: one GEMM on (batch * positions, features).
        rows = F.reshape(x, (-1, x.shape[-1]))
        out = F.linear(rows, self._weights[0], self._bias(x.dtype), relu=relu)
        return F.reshape(out, (*x.shape[:-1], self.units))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
        }


class Dropout(Layer):
    """Inverted dropout of a fraction ``rate`` of the units, active only in training."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"{self.describe()}: rate must be a number in [0, 1), got {rate!r}.")
        self.rate = float(rate)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.dropout(x, self.rate, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


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


class Reshape(Layer):
    """Each sample to ``target_shape``; one dimension may be -1, as in Keras."""

    def __init__(self, target_shape: Shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = tuple(target_shape)
        if (
            not target
            or not all(isinstance(d, (int, np.integer)) and (d >= 1 or d == -1) for d in target)
            or target.count(-1) > 1
        ):
            raise ValueError(
                f"{self.describe()}: target_shape must be positive ints with at most one -1, "
                f"got {target_shape!r}."
            )
        self.target_shape = tuple(int(d) for d in target)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        size = int(np.prod(input_shape))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if -1 in self.target_shape and size % known == 0:
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size or -1 in self.target_shape:
            raise ValueError(
                f"{self.describe()}: an input of shape {(None, *input_shape)} ({size} values "
                f"per sample) cannot be reshaped to {(None, *self.target_shape)}."
            )
        return self.target_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.reshape(x, (x.shape[0], *self.compute_output_shape(x.shape[1:])))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class BatchNormalization(Layer):
    """Keras' BatchNormalization: normalizes each index of ``axis`` (the channels by default)
    by the batch's statistics in training, and by their moving averages otherwise.

    Weights, in Keras' order: gamma (with ``scale``), beta (with ``center``), then the moving
    mean and variance, which are non-trainable. A frozen layer (``trainable = False``) runs in
    inference mode, as in Keras 3.
    """

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{self.describe()}: axis must be one int, got {axis!r}.")
        if not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"{self.describe()}: momentum must be in [0, 1), got {momentum!r}.")
        if not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"{self.describe()}: epsilon must be positive, got {epsilon!r}.")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._init_names = {
            "beta_initializer": beta_initializer,
            "gamma_initializer": gamma_initializer,
            "moving_mean_initializer": moving_mean_initializer,
            "moving_variance_initializer": moving_variance_initializer,
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

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **self._init_names,
        }


LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        Flatten,
        Dense,
        Dropout,
        Activation,
        Reshape,
        BatchNormalization,
    )
}
