"""Keras' ops.rearrange, einops' rearrange for minicnn Tensors: a pattern such as
``"b (h w) c -> b h w c"`` names each axis; parentheses group axes into one. The input is
reshaped into its named axes, transposed into the output's order, and reshaped into the
output's groups (every step differentiable)."""

from __future__ import annotations

import math
import re
from typing import Any

from . import ops as O
from .autograd import Tensor

_TOKEN = re.compile(r"\(([^()]*)\)|(\S+)")


def _side(text: str, where: str) -> list[list[str]]:
    """Each axis of one side as the list of the names in it (one, or a group's)."""
    axes = []
    for group, name in _TOKEN.findall(text):
        names = group.split() if group or not name else [name]
        for n in names:
            if not n.isidentifier():
                raise ValueError(f"rearrange: {n!r} on the {where} is not an axis name.")
        axes.append(names)
    return axes


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> Tensor:
    """Rearrange ``tensor``'s axes by ``pattern``; ``axes_lengths`` give the sizes a group
    of the input cannot infer (all but one of its names)."""
    x = O.convert_to_tensor(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: a pattern 'input -> output', got {pattern!r}.")
    left_text, right_text = pattern.split("->")
    left, right = _side(left_text, "left"), _side(right_text, "right")
    names = [n for axis in left for n in axis]
    if len(left) != x.ndim:
        raise ValueError(f"rearrange: the pattern names {len(left)} axes, the input has {x.ndim}.")
    if sorted(names) != sorted(n for axis in right for n in axis) or len(set(names)) != len(names):
        raise ValueError(f"rearrange: each name once on each side, got {pattern!r}.")
    sizes = dict(axes_lengths)
    for axis, size in zip(left, x.shape, strict=True):
        unknown = [n for n in axis if n not in sizes]
        known = math.prod(sizes[n] for n in axis if n in sizes)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: give the sizes of all but one of ({' '.join(axis)}).")
        if unknown:
            sizes[unknown[0]] = size // known
        if math.prod(sizes[n] for n in axis) != size:
            raise ValueError(f"rearrange: ({' '.join(axis)}) does not make an axis of {size}.")
    flat = O.reshape(x, tuple(sizes[n] for n in names))
    order = [names.index(n) for axis in right for n in axis]
    moved = O.transpose(flat, tuple(order))
    return O.reshape(moved, tuple(math.prod(sizes[n] for n in axis) for axis in right))
