"""Weight initialisers, named as in Keras."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import backend

Initializer = Callable[[tuple[int, ...]], np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        return shape[0], shape[0]
    # Conv kernels are (kh, kw, in, out): every tap of the window counts towards the fans.
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape: tuple[int, ...]) -> np.ndarray:
    """Uniform in [-l, l] with l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return backend.rng().uniform(-limit, limit, size=shape).astype(backend.FLOAT)


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape, dtype=backend.FLOAT)


_BY_NAME: dict[str, Initializer] = {"glorot_uniform": glorot_uniform, "zeros": zeros}


def get(name: str) -> Initializer:
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown initializer {name!r}; known: {', '.join(sorted(_BY_NAME))}."
        ) from None
