"""Values the same for every sample, for ``onnx_import``.

PyTorch writes zeros as many as the batch for a recurrent layer's initial state
(ConstantOfShape or Expand of a shape that holds the batch size) and fills as many as the
batch for a padding mask; an RNN that the dynamo exporter unrolls multiplies its zero state
by the recurrent kernel before the first input step meets it. Such a value is held as one
sample of it (its ONNX shape with the batch's axis of size 1, and which axis that is), and
what shape arithmetic and elementwise ops make of it with constants is computed at import.
Where it meets a tensor in an elementwise op, NumPy's broadcasting spreads it over the
batch (a constant operand); an op that needs it as a tensor (a matrix product, whose
matrix its Dense learns) gets one made from the batch of the model's first input.

Each op on such values is computed twice, for a batch of one and of two, so that a result
is taken for a fill only where the batch stays one axis of its own and every sample gets
the same (an op that mixes samples, or merges the batch with another axis, is refused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .onnx_reading import Node
from .onnx_shapes import FOLDED
from .onnx_values import (
    BATCH,
    Value,
    batch_only,
    is_batch_multiple,
    layer_module,
    op_module,
    plain,
)

# Ops on fills and constants computed at import (Shape is answered from the fill's shape:
# the batch stays symbolic). A matrix product is not: its matrix is a weight that the
# product's Dense learns, as in the tensor's other steps (an unrolled RNN's first step).
_FOLDED_FILLS = {op: f for op, f in FOLDED.items() if op != "Shape"}


@dataclass
class Fill:
    """A value the same for every sample: one sample (the batch's axis of size 1)."""

    sample: np.ndarray
    axis: int  # the batch's axis

    def for_batch(self, size: int) -> np.ndarray:
        return np.repeat(self.sample, size, axis=self.axis)

    def shape(self) -> tuple[int, ...]:
        """The ONNX shape, the batch size as BATCH."""
        shape = list(self.sample.shape)
        shape[self.axis] = BATCH
        return tuple(shape)


def _with_batch(c: np.ndarray, size: int) -> np.ndarray | None:
    """A constant of shape arithmetic with the batch size ``size`` (None where it holds a
    multiple of the batch: the batch merged with another axis)."""
    if c.dtype.kind not in "iu" or not np.any(c <= BATCH // 2):
        return c
    if any(is_batch_multiple(int(d)) and d != BATCH for d in np.ravel(c)):
        return None
    return np.where(c == BATCH, size, c).astype(c.dtype)


def _as_fill(one: np.ndarray, two: np.ndarray) -> Fill | None:
    """The fill that a result is, from the batch of one's and of two's (None where the
    two don't differ by one axis of size 1 and 2 with the same samples)."""
    if one.ndim != two.ndim or one.dtype != two.dtype:
        return None
    axes = [k for k, (a, b) in enumerate(zip(one.shape, two.shape, strict=True)) if a != b]
    if len(axes) != 1 or (one.shape[axes[0]], two.shape[axes[0]]) != (1, 2):
        return None
    spread = np.repeat(one, 2, axis=axes[0])
    same = (
        np.allclose(spread, two, rtol=1e-6, atol=1e-7, equal_nan=True)
        if one.dtype.kind == "f"
        else np.array_equal(spread, two)
    )
    return Fill(one, axes[0]) if same else None


class FillOps:
    """The importer's handling of values the same for every sample (a mixin of
    ``onnx_import``'s importer)."""

    def batch_fill(self, node: Node) -> bool:
        """A value the same for every sample, or a constant spread over the batch (a
        learned token), made or computed at import."""
        ins = [i for i in node.inputs if i]
        if any(i in self.fills for i in ins):
            return self.folded_fill(node, ins)
        return self.new_fill(node, ins) or self.spread_token(node, ins)

    def new_fill(self, node: Node, ins: list[str]) -> bool:
        """A fill that a node makes from constants: ConstantOfShape of a shape with the
        batch size, or a constant of one number Expanded to one."""
        shape = self.constants.get(ins[-1]) if ins else None
        if shape is None or not np.any(np.asarray(shape) == BATCH):
            return False
        sizes = [_with_batch(np.asarray(shape), n) for n in (1, 2)]
        if sizes[0] is None or np.sum(np.asarray(shape) == BATCH) != 1:
            return False
        axis = int(np.flatnonzero(np.ravel(shape) == BATCH)[0])
        if node.op == "ConstantOfShape":
            value = node.attrs.get("value")
            number = np.zeros(1, np.float32) if value is None else np.ravel(value)
            sample = np.full([int(d) for d in np.ravel(sizes[0])], number[0], number.dtype)
            self.fills[node.outputs[0]] = Fill(sample, axis)
            return True
        if node.op == "Expand" and ins[0] in self.constants:
            c = np.asarray(self.constants[ins[0]])
            if c.size and np.all(c == c.reshape(-1)[0]):
                result = _as_fill(*(c * np.ones(s.astype(int), c.dtype) for s in sizes))
                if result is not None:
                    self.fills[node.outputs[0]] = result
                    return True
        return False

    def folded_fill(self, node: Node, ins: list[str]) -> bool:
        """An op of fills and constants computed at import, where its results are fills."""
        if node.op == "Shape" and len(ins) == 1:
            shape = np.array(self.fills[ins[0]].shape(), np.int64)
            start, end = node.attrs.get("start", 0), node.attrs.get("end")
            self.constants[node.outputs[0]] = shape[start:end]
            return True
        fold = _FOLDED_FILLS.get(node.op)
        if fold is None or not all(i in self.fills or i in self.constants for i in ins):
            return False
        runs = []
        for size in (1, 2):
            xs = []
            for name in node.inputs:
                if name in self.fills:
                    xs.append(self.fills[name].for_batch(size))
                elif name:
                    xs.append(_with_batch(np.asarray(self.constants[name]), size))
                else:
                    xs.append(None)
            if any(x is None for x, name in zip(xs, node.inputs, strict=True) if name):
                return False
            try:
                runs.append(fold(self, node, xs))
            except (ValueError, IndexError):  # a shape that only the batch size makes fit
                return False
        fills = [_as_fill(np.asarray(a), np.asarray(b)) for a, b in zip(*runs, strict=True)]
        if any(f is None for f in fills):
            return False
        for out, fill in zip(node.outputs, fills, strict=False):
            self.fills[out] = fill
        return True

    def with_fills_as_constants(self, node: Node, index: int, handler: Any) -> None:
        """An elementwise op that meets a fill: the fill's one sample taken as a constant
        operand, which broadcasting spreads over the batch."""
        taken = [n for n in node.inputs if n in self.fills and n not in self.constants]
        for name in taken:
            sample = self.fills[name].sample
            self.constants[name] = sample.astype(np.float32) if sample.dtype.kind == "f" else sample
        try:
            handler(node, index)
        finally:
            for name in taken:
                del self.constants[name]

    def materialized(self, fill: Fill) -> Value:
        """A fill as a tensor, for an op that needs one: zeros as many as the batch (from
        the first input's), plus the one sample."""
        L, ops = layer_module(), op_module()
        from .symbolic_arithmetic import TensorArithmetic

        source = self.values[self.graph.inputs[0][0]].tensor
        corner = source[(slice(None), *(slice(0, 1) for _ in source.sample_shape))]
        zeros = ops.zeros_like(corner)
        if zeros.dtype != "float32":
            zeros = ops.cast(zeros, "float32")
        sample = np.moveaxis(fill.sample, fill.axis, 0)[0]
        zeros = L.Reshape((1,) * sample.ndim)(zeros) if sample.ndim else batch_only(zeros)
        y = TensorArithmetic("add", constant=sample.astype(np.float32))([zeros])
        if sample.dtype.kind != "f":
            y = ops.cast(y, sample.dtype.name)
        rank = fill.sample.ndim
        return Value(y, plain((fill.axis, *(k for k in range(rank) if k != fill.axis))))
