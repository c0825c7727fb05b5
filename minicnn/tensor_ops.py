"""The arithmetic of ``Tensor`` beyond add, multiply and matmul (in ``functions``): subtract,
divide, negate, powers and means, with NumPy's broadcasting, so that code written with
tensors (a subclassed model's ``call``, a ``Lambda`` layer) differentiates as it reads."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Function, Tensor
from .functions import _unbroadcast


class Sub(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, grad: Any) -> tuple[Any, Any]:
        return _unbroadcast(grad, self.shapes[0]), _unbroadcast(-grad, self.shapes[1])


class Div(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a / b

    def backward(self, grad: Any) -> tuple[Any, Any]:
        share = grad / self.b
        return (
            _unbroadcast(share, self.a.shape),
            _unbroadcast(-share * self.a / self.b, self.b.shape),
        )


class Power(Function):
    """a ** exponent for a fixed number ``exponent``."""

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, a: Any) -> Any:
        self.a = a
        return a**self.exponent

    def backward(self, grad: Any) -> Any:
        return grad * (self.exponent * self.a ** (self.exponent - 1))


class Mean(Function):
    """The mean over ``axis`` (every axis when None), as NumPy takes it."""

    def __init__(self, axis: int | tuple[int, ...] | None, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a: Any) -> Any:
        self.shape = a.shape
        out = a.mean(axis=self.axis, keepdims=self.keepdims)
        self.count = a.size // max(out.size, 1)
        return out

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        if not self.keepdims and self.axis is not None:
            axes = (self.axis,) if isinstance(self.axis, int) else self.axis
            for axis in sorted(a % len(self.shape) for a in axes):
                grad = xp.expand_dims(grad, axis)
        share = grad / grad.dtype.type(self.count)
        return xp.broadcast_to(share, self.shape).copy()


class Sum(Mean):
    """The sum over ``axis`` (every axis when None)."""

    def forward(self, a: Any) -> Any:
        self.shape = a.shape
        self.count = 1
        return a.sum(axis=self.axis, keepdims=self.keepdims)


def sub(a: Any, b: Any) -> Tensor:
    return Sub()(a, b)


def div(a: Any, b: Any) -> Tensor:
    return Div()(a, b)


def power(a: Any, exponent: float) -> Tensor:
    return Power(exponent)(a)


def mean(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    return Mean(axis, keepdims)(a)


def reduce_sum(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    return Sum(axis, keepdims)(a)
