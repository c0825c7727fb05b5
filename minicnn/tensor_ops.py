"""The arithmetic of ``Tensor`` beyond add, multiply and matmul (in ``functions``): subtract,
divide, negate, powers and means, with NumPy's broadcasting, so that code written with
tensors (a subclassed model's ``call``, a ``Lambda`` layer) differentiates as it reads."""

from __future__ import annotations

from typing import Any

import numpy as np

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


class GetItem(Function):
    """x[key], NumPy's indexing: slices, integers, None, Ellipsis, and integer or boolean
    arrays (whose repeated picks add up their gradients)."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def forward(self, x: Any) -> Any:
        self.shape = x.shape
        return x[self.key]

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        out = xp.zeros(self.shape, dtype=grad.dtype)
        keys = self.key if isinstance(self.key, tuple) else (self.key,)
        if all(_picks_once(k) for k in keys):
            out[self.key] = grad  # each place is picked at most once
        else:
            backend.scatter_add(out, self.key, grad)
        return out


def _picks_once(key: Any) -> bool:
    """Whether an index part picks no place twice: all but integer arrays of one or more
    axes, which may repeat (a 0-d one is a single integer)."""
    if key is None or key is Ellipsis or isinstance(key, (int, slice)):
        return True
    kind = getattr(getattr(key, "dtype", None), "kind", "")
    return kind == "b" or (kind in "iu" and getattr(key, "ndim", 1) == 0)


def get_item(x: Any, key: Any) -> Tensor:
    """x[key]; index arrays (and Tensors) go to x's device."""
    device = backend.device_of(x.data if isinstance(x, Tensor) else x)
    keys = key if isinstance(key, tuple) else (key,)
    keys = tuple(
        backend.to_device(k.data if isinstance(k, Tensor) else k, device)
        if isinstance(k, (Tensor, np.ndarray)) or backend.is_device_array(k)
        else k
        for k in keys
    )
    return GetItem(keys if isinstance(key, tuple) else keys[0])(x)


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
