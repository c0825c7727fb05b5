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
    """A tensor of the ONNX graph as minicnn holds it."""

    tensor: Any
    channels_last: bool = False  # the ONNX value with its channel axis moved last
    flat_order: np.ndarray | None = None  # a flattened channels-last image: ONNX's column
    flat_image: tuple[int, ...] | None = None  # per column, and the image's channels-last shape
    in_onnx_layout: Any = None  # the same tensor in ONNX's layout, once made


def layer_module() -> Any:
    from . import layers as module

    return module


def op_module() -> Any:
    from . import ops as module

    return module


def to_last(rank: int) -> list[int]:
    """ONNX axes in channels-last order: (0, 2, ..., rank - 1, 1)."""
    return [0, *range(2, rank), 1]


def cl_axis(axis: int, rank: int) -> int:
    """Where ONNX's axis ``axis`` is in the channels-last tensor."""
    return to_last(rank).index(axis % rank)
