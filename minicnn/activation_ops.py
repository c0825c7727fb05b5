"""The activations beyond ReLU, sigmoid, tanh and softmax, with Keras' names and formulas, and
the configurable ReLU of Keras' ``ReLU`` and ``LeakyReLU`` layers.

Each is a Function of elementwise array operations, the same for NumPy and CuPy, except GELU,
whose error function runs in the Numba and CUDA kernels (NumPy has no erf).
"""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Function, Tensor
from .functions import _kernels, _unbroadcast
from .functions import relu as plain_relu

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _stable_sigmoid(xp: Any, x: Any) -> Any:
    """1 / (1 + e^-x) through tanh, which never overflows."""
    return (xp.tanh(x * 0.5) + 1) * 0.5


def _softplus(xp: Any, x: Any) -> Any:
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
    if x.dtype.kind == "c":
        raise TypeError(f"softplus takes real values, got {x.dtype}.")
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class ConfigurableReLU(Function):
    """Keras' relu(x, negative_slope, max_value, threshold): x from the threshold up to
    max_value, max_value above it, negative_slope * (x - threshold) below the threshold."""

    def __init__(self, negative_slope: float, max_value: float | None, threshold: float) -> None:
        self.negative_slope, self.max_value, self.threshold = negative_slope, max_value, threshold

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        cast = x.dtype.type
        below = x < cast(self.threshold)
        y = xp.where(below, (x - cast(self.threshold)) * cast(self.negative_slope), x)
        slope = xp.where(below, cast(self.negative_slope), cast(1)).astype(x.dtype)
        if self.max_value is not None:
            above = x >= cast(self.max_value)
            y = xp.where(above, cast(self.max_value), y)
            slope = xp.where(above, cast(0), slope)
        self.slope = slope
        return y.astype(x.dtype, copy=False)

    def backward(self, grad: Any) -> Any:
        return grad * self.slope


def relu(
    x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Tensor:
    if negative_slope == 0 and max_value is None and threshold == 0:
        return plain_relu(x)  # two passes over memory, where the general form takes six
    if negative_slope == 0 and threshold == 0 and max_value is not None and max_value > 0:
        return ClippedReLU(max_value)(x)  # ReLU6 (MobileNetV2's) and its kin
    return ConfigurableReLU(negative_slope, max_value, threshold)(x)


class ClippedReLU(Function):
    """min(max(x, 0), max_value) in one pass; the gradient passes where the output is
    strictly between 0 and max_value (0 at x = 0, as Keras' relu's)."""

    def __init__(self, max_value: float) -> None:
        self.max_value = max_value

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        cast = x.dtype.type
        y = xp.clip(x, cast(0), cast(self.max_value))
        if self.recording:
            self.y = y
        return y

    def backward(self, grad: Any) -> Any:
        inside = (self.y > 0) & (self.y < self.y.dtype.type(self.max_value))
        return grad * inside


class PReLU(Function):
    """max(x, 0) + alpha * min(x, 0), alpha a weight broadcast over the batch (and the shared
    axes)."""

    def forward(self, x: Any, alpha: Any) -> Any:
        xp = backend.get_array_module(x)
        alpha = alpha.astype(x.dtype, copy=False)
        self.negative = xp.minimum(x, 0)
        self.x_positive, self.alpha = x > 0, alpha
        return xp.maximum(x, 0) + alpha * self.negative

    def backward(self, grad: Any) -> tuple[Any, Any]:
        xp = backend.get_array_module(grad)
        dx = grad * xp.where(self.x_positive, grad.dtype.type(1), self.alpha)
        return dx, _unbroadcast(grad * self.negative, self.alpha.shape)


def prelu(x: Any, alpha: Any) -> Tensor:
    return PReLU()(x, alpha)


class ELU(Function):
    """x where x > 0, else alpha * (e^x - 1); times ``scale`` (SELU is scaled ELU)."""

    def __init__(self, alpha: float = 1.0, scale: float = 1.0) -> None:
        self.alpha, self.scale = alpha, scale

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        cast = x.dtype.type
        self.positive = x > 0
        negative = cast(self.alpha) * xp.expm1(xp.minimum(x, 0))
        self.negative = negative  # the slope below 0 is alpha * e^x = negative + alpha
        return cast(self.scale) * xp.where(self.positive, x, negative)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        cast = grad.dtype.type
        slope = xp.where(self.positive, cast(1), self.negative + cast(self.alpha))
        return grad * (cast(self.scale) * slope)


class Elementwise(Function):
    """An activation given by its value and its derivative, both from x (and the value)."""

    def __init__(self, value: Any, slope: Any) -> None:
        self.value, self.slope = value, slope

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.x = x
        self.y = self.value(xp, x)
        return self.y

    def backward(self, grad: Any) -> Any:
        return grad * self.slope(backend.get_array_module(grad), self.x, self.y)


def _hard_sigmoid(xp: Any, x: Any) -> Any:
    """relu6(x + 3) / 6, Keras 3's hard sigmoid."""
    return xp.clip(x + 3, 0, 6) / 6


def legacy_hard_sigmoid(xp: Any, x: Any) -> Any:
    """Keras 2's hard sigmoid, clip(0.2 x + 0.5, 0, 1): what "hard_sigmoid" means in its
    files (its LSTM's and ConvLSTM2D's gates too)."""
    return xp.clip(0.2 * x + 0.5, 0, 1)


def legacy_hard_sigmoid_slope(xp: Any, y: Any) -> Any:
    """Its derivative, from its output y: 0.2 where 0 < y < 1."""
    return ((y > 0) & (y < 1)).astype(y.dtype) * y.dtype.type(0.2)


def _hard_sigmoid_slope(xp: Any, x: Any) -> Any:
    return ((x > -3) & (x < 3)).astype(x.dtype) / 6


def _mish_slope(xp: Any, x: Any, y: Any) -> Any:
    t = xp.tanh(_softplus(xp, x))
    return t + x * (1 - t * t) * _stable_sigmoid(xp, x)


def _silu_slope(xp: Any, x: Any, y: Any) -> Any:
    s = _stable_sigmoid(xp, x)
    return s * (1 + x * (1 - s))


ELEMENTWISE = {
    "softplus": (_softplus, lambda xp, x, y: _stable_sigmoid(xp, x)),
    "softsign": (lambda xp, x: x / (1 + xp.abs(x)), lambda xp, x, y: 1 / (1 + xp.abs(x)) ** 2),
    "exponential": (lambda xp, x: xp.exp(x), lambda xp, x, y: y),
    "silu": (lambda xp, x: x * _stable_sigmoid(xp, x), _silu_slope),
    "hard_sigmoid": (_hard_sigmoid, lambda xp, x, y: _hard_sigmoid_slope(xp, x)),
    "legacy_hard_sigmoid": (
        lambda xp, x: legacy_hard_sigmoid(xp, x),
        lambda xp, x, y: legacy_hard_sigmoid_slope(xp, y),
    ),
    "hard_silu": (
        lambda xp, x: x * _hard_sigmoid(xp, x),
        lambda xp, x, y: _hard_sigmoid(xp, x) + x * _hard_sigmoid_slope(xp, x),
    ),
    "mish": (lambda xp, x: x * xp.tanh(_softplus(xp, x)), _mish_slope),
    # Blondel et al.'s sparse sigmoid: 0, then (x + 1) / 2 on (-1, 1), then 1.
    "sparse_sigmoid": (
        lambda xp, x: xp.clip((x + 1) * x.dtype.type(0.5), 0, 1),
        lambda xp, x, y: ((x > -1) & (x < 1)).astype(x.dtype) * x.dtype.type(0.5),
    ),
}


def elementwise(name: str, x: Any) -> Tensor:
    value, slope = ELEMENTWISE[name]
    return Elementwise(value, slope)(x)


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (exact: Keras' default ``approximate=False``)."""

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.x = backend.contiguous(x)
        return _kernels(xp).gelu_forward(self.x, xp.empty_like(self.x))

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        grad = backend.contiguous(grad, self.x.dtype)
        return _kernels(xp).gelu_backward(self.x, grad, xp.empty_like(self.x))


def gelu(x: Any) -> Tensor:
    return GELU()(x)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    return ELU(alpha)(x)


def selu(x: Any) -> Tensor:
    return ELU(SELU_ALPHA, SELU_SCALE)(x)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """Keras 3's activations.leaky_relu (the LeakyReLU layer's default slope is 0.3)."""
    return relu(x, negative_slope=negative_slope)


def relu6(x: Any) -> Tensor:
    return relu(x, max_value=6.0)
