"""What the parts of ``onnx_import`` share: a tensor of the ONNX graph as minicnn holds
it (its layout), the symbolic batch size of shape arithmetic, and the error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BATCH = -(2**40) + 7  # the batch size in shape arithmetic: unknown until the model runs


class OnnxImportError(ValueError):
    """An ONNX model that minicnn can't turn into its layers, with the reason."""


@dataclass
class Value:
    """A tensor of the ONNX graph as minicnn holds it: the ONNX value with its axes in
    ``order`` (the ONNX axis at each axis of ``tensor``; None: ONNX's own order), the batch
    first. Channels-last images have order (0, 2, ..., 1); a time-major sequence (steps,
    batch, features), as recurrent ops take it, (1, 0, 2)."""

    tensor: Any
    order: tuple[int, ...] | None = None
    flat_order: np.ndarray | None = None  # a flattened channels-last image: ONNX's column
    flat_image: tuple[int, ...] | None = None  # per column, and the image's channels-last shape
    in_onnx_layout: Any = None  # the same tensor in ONNX's layout, once made
    # Where an ONNX axis is the batch merged with others (attention's batch * heads): for
    # each ONNX axis, the held axes it is made of, the most significant first; else None.
    groups: tuple[tuple[int, ...], ...] | None = None

    @property
    def channels_last(self) -> bool:
        order = self.order
        return order is not None and len(order) >= 3 and list(order) == to_last(len(order))

    def like(self, tensor: Any) -> Value:
        """Another tensor in this one's layout (an elementwise op's result)."""
        return Value(tensor, self.order, self.flat_order, self.flat_image, groups=self.groups)


def inverse(order: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """The permutation that undoes ``order``."""
    out = [0] * len(order)
    for i, o in enumerate(order):
        out[o] = i
    return tuple(out)


def plain(order: Any) -> tuple[int, ...] | None:
    """``order`` as Value keeps it: None where it is ONNX's own."""
    order = tuple(int(o) for o in order)
    return None if order == tuple(range(len(order))) else order


def layer_module() -> Any:
    from . import layers as module

    return module


def op_module() -> Any:
    from . import ops as module

    return module


def to_last(rank: int) -> list[int]:
    """ONNX axes in channels-last order: (0, 2, ..., rank - 1, 1)."""
    return [0, *range(2, rank), 1]


def is_batch_multiple(size: int) -> bool:
    """Whether a size of shape arithmetic is the batch size times a whole number."""
    return size != 0 and size % BATCH == 0 and size // BATCH > 0


def spelled(shape: Any) -> str:
    """A shape of shape arithmetic as words: the batch size as "batch", "4*batch"."""

    def size(d: int) -> str:
        if is_batch_multiple(d):
            count = d // BATCH
            return "batch" if count == 1 else f"{count}*batch"
        return str(d)

    return "(" + ", ".join(size(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def batch_only(x: Any) -> Any:
    """A tensor whose axes but the batch are all of size 1, as (batch,)."""
    return op_module().squeeze(x, axis=tuple(range(1, len(x.sample_shape) + 1)))
