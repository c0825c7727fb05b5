"""Scratch arrays reused from one training step to the next.

The im2col matrix of a convolution is the largest array of a step (29 MB for the study's second
conv at batch 128). Allocating it afresh every step costs page faults on every first touch; the
pool hands back an array of the same shape that an earlier step has finished with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend

MAX_FREE_PER_SHAPE = 2

_free: dict[tuple[str, tuple[int, ...], str], list[Any]] = {}


def _key(xp: Any, shape: tuple[int, ...], dtype: Any) -> tuple[str, tuple[int, ...], str]:
    return xp.__name__, tuple(shape), np.dtype(dtype).str


def take(xp: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """An uninitialised array: a returned one of this shape and dtype, or a new one."""
    free = _free.get(_key(xp, shape, dtype))
    return free.pop() if free else xp.empty(shape, dtype=dtype)


def give(array: Any) -> None:
    """Return an array nobody will read again, for a later ``take`` of the same shape."""
    key = _key(backend.get_array_module(array), array.shape, array.dtype)
    free = _free.setdefault(key, [])
    if len(free) < MAX_FREE_PER_SHAPE:
        free.append(array)


def clear() -> None:
    _free.clear()
