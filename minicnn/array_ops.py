"""Differentiable array operations behind ``minicnn.ops``' tile, repeat, pad,
take_along_axis and cumsum: each a Function whose backward sums (or slices) the gradient back
to the input's places."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Function


class Tile(Function):
    """x repeated ``reps`` times along each axis (NumPy's tile)."""

    def __init__(self, reps: tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, x: Any) -> Any:
        reps = (1,) * (x.ndim - len(self.reps)) + tuple(self.reps)
        self.shape = (1,) * (len(reps) - x.ndim) + x.shape
        self.in_shape = x.shape
        self.full_reps = reps
        return backend.get_array_module(x).tile(x, self.reps)

    def backward(self, grad: Any) -> Any:
        # The output's axis k holds reps[k] copies of the input's: split it and sum the copies.
        split = []
        for r, s in zip(self.full_reps, self.shape, strict=True):
            split += [r, s]
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(self.in_shape)


class Repeat(Function):
    """Each element repeated ``repeats`` times along ``axis`` (NumPy's repeat, one count)."""

    def __init__(self, repeats: int, axis: int) -> None:
        self.repeats, self.axis = repeats, axis

    def forward(self, x: Any) -> Any:
        self.axis = self.axis % x.ndim
        self.shape = x.shape
        return backend.get_array_module(x).repeat(x, self.repeats, axis=self.axis)

    def backward(self, grad: Any) -> Any:
        shape = list(self.shape)
        shape.insert(self.axis + 1, self.repeats)
        return grad.reshape(shape).sum(axis=self.axis + 1)


class Pad(Function):
    """Constant padding, ``pad_width`` as NumPy's ((before, after), ...) per axis."""

    def __init__(self, pad_width: tuple[tuple[int, int], ...], value: float) -> None:
        self.pad_width, self.value = pad_width, value

    def forward(self, x: Any) -> Any:
        self.shape = x.shape
        xp = backend.get_array_module(x)
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, grad: Any) -> Any:
        inner = tuple(
            slice(before, before + size)
            for (before, _), size in zip(self.pad_width, self.shape, strict=True)
        )
        return grad[inner]


class TakeAlongAxis(Function):
    """NumPy's take_along_axis; a place picked twice gets both gradients."""

    def __init__(self, indices: Any, axis: int) -> None:
        self.indices, self.axis = indices, axis

    def forward(self, x: Any) -> Any:
        self.shape = x.shape
        self.axis = self.axis % x.ndim
        return backend.get_array_module(x).take_along_axis(x, self.indices, axis=self.axis)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        out = xp.zeros(self.shape, dtype=grad.dtype)
        places = []
        for k, size in enumerate(grad.shape):
            if k == self.axis:
                places.append(self.indices)
            else:
                shape = [1] * grad.ndim
                shape[k] = size
                places.append(xp.arange(size).reshape(shape))
        backend.scatter_add(out, tuple(places), grad)
        return out


class CumSum(Function):
    """The running sum along ``axis`` (the flattened array when None)."""

    def __init__(self, axis: int | None) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        self.shape = x.shape
        return backend.get_array_module(x).cumsum(x, axis=self.axis)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        axis = 0 if self.axis is None else self.axis
        flipped = xp.flip(grad, axis=axis)
        return xp.flip(xp.cumsum(flipped, axis=axis), axis=axis).reshape(self.shape)
