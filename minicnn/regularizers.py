"""Weight penalties added to the loss, named and scaled as in Keras: L1 is l1 * sum(|w|), L2
is l2 * sum(w ** 2) (no one-half)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from .autograd import Function, Tensor


class Penalty(Function):
    """l1 * sum(|w|) + l2 * sum(w ** 2), as a 0-d array on w's device."""

    def __init__(self, l1: float, l2: float) -> None:
        self.l1, self.l2 = l1, l2

    def forward(self, w: Any) -> Any:
        xp = backend.get_array_module(w)
        cast = w.dtype.type
        total = xp.zeros((), dtype=w.dtype)
        if self.l1:
            total = total + cast(self.l1) * xp.abs(w).sum()
        if self.l2:
            total = total + cast(self.l2) * (w * w).sum()
        if self.recording:
            self.w = w
        return total

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        cast = self.w.dtype.type
        out = xp.zeros_like(self.w)
        if self.l1:
            out += cast(self.l1) * xp.sign(self.w)
        if self.l2:
            out += cast(2 * self.l2) * self.w
        return out * grad


class Regularizer:
    """The base of weight penalties, as Keras': a subclass gives ``__call__(weight)`` (the
    penalty, a scalar) and, to be saved, ``get_config``; ``from_config`` calls the class with
    that dict."""

    def __call__(self, weight: Tensor) -> Any:
        return 0.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{self} does not implement get_config()")

    def __repr__(self) -> str:
        # A user's class keeps Python's repr, as in Keras: its get_config may call this
        # one's, whose message shows the object.
        if type(self).__module__ != __name__ or type(self) is Regularizer:
            return object.__repr__(self)
        return f"{type(self).__name__}({self.get_config()})"

    def serialize(self) -> dict[str, Any]:
        return {"class_name": type(self).__name__, "config": self.get_config()}


def _factor(value: Any, name: str) -> float:
    """A penalty's factor: a finite number, not negative (Keras' message)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float."
            f"Received: {name}={value}"
        )
    return float(value)


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w ** 2); None counts as 0, as in Keras."""

    def __init__(self, l1: float | None = 0.0, l2: float | None = 0.0) -> None:
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, weight: Tensor) -> Tensor:
        return Penalty(self.l1, self.l2)(weight)

    def get_config(self) -> dict[str, float]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor(l1, "l1")

    def __call__(self, weight: Tensor) -> Tensor:
        return Penalty(self.l1, 0.0)(weight)

    def get_config(self) -> dict[str, float]:
        return {"l1": float(np.float32(self.l1))}  # Keras keeps L1's factor as float32


class L2(Regularizer):
    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor(l2, "l2")

    def __call__(self, weight: Tensor) -> Tensor:
        return Penalty(0.0, self.l2)(weight)

    def get_config(self) -> dict[str, float]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Keras' OrthogonalRegularizer for 2-D kernels: with the rows (mode 'rows') or columns
    ('columns') scaled to unit length, ``factor`` times the mean |cosine| between two
    different ones (half the sum over the off-diagonal of their Gram matrix, over the number
    of pairs): it pushes them apart, toward orthogonal."""

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"mode must be 'rows' or 'columns', got {mode!r}.")
        self.factor, self.mode = float(factor), mode

    def __call__(self, weight: Tensor) -> Tensor:
        from . import ops

        if weight.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer takes 2-D kernels (a Dense's), got shape {weight.shape}."
            )
        vectors = weight if self.mode == "rows" else ops.transpose(weight)
        unit = ops.normalize(vectors, axis=1)
        gram = ops.matmul(unit, ops.transpose(unit))
        size = gram.shape[0]
        xp = backend.get_array_module(weight.data)
        off_diagonal = gram * Tensor(1.0 - xp.eye(size, dtype=weight.dtype))
        pairs = size * (size - 1) / 2.0
        return ops.sum(ops.abs(off_diagonal)) * (0.5 * self.factor / max(pairs, 1.0))

    def get_config(self) -> dict[str, Any]:  # type: ignore[override]
        return {"factor": float(np.float32(self.factor)), "mode": self.mode}  # float32, as Keras


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Keras' shortcut, with its defaults of 0.01 each."""
    return L1L2(l1, l2)


_BY_NAME: dict[str, Any] = {
    "l1": L1,
    "l2": L2,
    "l1_l2": l1_l2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}
_CLASSES: dict[str, type[Regularizer]] = {
    "L1": L1,
    "L2": L2,
    "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
}


def get(identifier: Any) -> Regularizer | None:
    """None, a regularizer, its name ('l1', 'l2', 'l1_l2', with Keras' default 0.01), or the
    ``{"class_name": ..., "config": ...}`` dict that ``serialize`` gives."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(
        f"Unknown regularizer {identifier!r}; known: 'l1', 'l2', 'l1_l2', "
        "'orthogonal_regularizer', an L1/L2/L1L2/OrthogonalRegularizer instance or its "
        "serialized dict."
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """Keras' entry of a regularizer (its module, class, config and registered name)."""
    from .serialization import serialize_keras_object

    return serialize_keras_object(regularizer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Regularizer | None:
    """Keras' ``deserialize``: what ``serialize`` described, a registered class's too."""
    from .registry import deserialized_with

    return deserialized_with(get, config, custom_objects)


# Keras' lowercase names of the classes.
l1, l2, orthogonal_regularizer = L1, L2, OrthogonalRegularizer
