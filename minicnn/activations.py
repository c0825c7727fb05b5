"""Activation functions that layers accept by name."""

from __future__ import annotations

from collections.abc import Callable

from . import functions as F
from .autograd import Tensor

Activation = Callable[[Tensor], Tensor]


def _linear(x: Tensor) -> Tensor:
    return x


_BY_NAME: dict[str, Activation] = {
    "linear": _linear,
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "softmax": F.softmax,
    "tanh": F.tanh,
}


def get(name: str | None) -> Activation:
    if name is None:
        return _linear
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown activation {name!r}; known: {', '.join(sorted(_BY_NAME))} or None."
        ) from None
