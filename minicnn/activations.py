"""Activation functions that layers accept by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from . import activation_ops as A
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
    "elu": A.elu,
    "selu": A.selu,
    "gelu": A.gelu,
    "leaky_relu": A.leaky_relu,
    "relu6": A.relu6,
    **{name: partial(A.elementwise, name) for name in A.ELEMENTWISE},
}
_BY_NAME["swish"] = _BY_NAME["silu"]  # Keras' other name for it
_BY_NAME["hard_swish"] = _BY_NAME["hard_silu"]


def get(name: str | None) -> Activation:
    if name is None:
        return _linear
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown activation {name!r}; known: {', '.join(sorted(_BY_NAME))} or None."
        ) from None
