"""Numbers of a whole batch, for ``onnx_import``: a reduction over every axis, the batch's
too, is one number as the model runs (the range of a dynamic quantization, written as
ReduceMin and ReduceMax: minicnn's export of a dynamically quantized model). Elementwise
ops compute on it, and a tensor that meets it keeps its layout, since one number
broadcasts against any. Anything else that takes it is refused by name."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import onnx_names as names
from .onnx_reading import DTYPES, Node
from .onnx_values import op_module

_UNARY = names.by_onnx(names.UNARY)
_BINARY = names.by_onnx({**names.ARITHMETIC, **names.COMPARISONS})


class StatisticOps:
    """The handling of a whole batch's numbers (a mixin of ``onnx_import``'s importer)."""

    def is_statistic(self, node: Node) -> bool:
        return any(name in self.statistics for name in node.inputs)

    def statistic_op(self, node: Node) -> None:
        """An elementwise op with a whole batch's number among its inputs; its result is
        another such number, or a tensor in the layout of the one tensor it takes."""
        tensors = [
            n for n in node.inputs if n and n not in self.statistics and not self.is_constant(n)
        ]
        if len(tensors) > 1:
            raise self.fail("a number of the whole batch, and more than one tensor.")
        v = self.value(tensors[0]) if tensors else None

        def operand(name: str) -> Any:
            if name in self.statistics:
                return self.statistics[name]
            if self.is_constant(name):
                c = np.asarray(self.constants[name])
                if c.size != 1:
                    raise self.fail(
                        f"a constant of shape {c.shape} with a number of the whole batch; "
                        "minicnn takes such a number with one tensor or single numbers."
                    )
                return c.reshape(()).astype(np.float32 if c.dtype.kind == "f" else c.dtype)
            return v.tensor

        y = self.statistic_result(node, [operand(n) if n else None for n in node.inputs])
        if v is None:
            self.statistics[node.outputs[0]] = y
        else:
            self.values[node.outputs[0]] = v.like(y)

    def statistic_result(self, node: Node, xs: list[Any]) -> Any:
        ops = op_module()
        if node.op in _UNARY:
            return getattr(ops, _UNARY[node.op])(xs[0])
        if node.op in _BINARY:
            return getattr(ops, _BINARY[node.op])(xs[0], xs[1])
        if node.op == "Where":
            return ops.where(*xs)
        if node.op == "Clip":
            low = xs[1] if len(xs) > 1 and xs[1] is not None else self.attr("min", -np.inf)
            high = xs[2] if len(xs) > 2 and xs[2] is not None else self.attr("max", np.inf)
            return ops.minimum(ops.maximum(xs[0], low), high)
        if node.op == "Cast":
            to = np.dtype(DTYPES.get(int(self.attr("to", 1)), "<f4"))
            return ops.cast(xs[0], "float32" if to.kind == "f" else to.name)
        if node.op in ("Identity", "Dropout"):
            return xs[0]
        raise self.fail(
            "it takes a number of the whole batch (a reduction over every axis, the batch's "
            "too); minicnn takes such a number in elementwise ops only."
        )

    def batch_statistic(self, node: Node, x: Any, function: Any) -> None:
        """A reduction over every axis: one number as the model runs."""
        reducer = function if callable(function) else getattr(op_module(), function)
        self.statistics[node.outputs[0]] = reducer(x, axis=None, keepdims=False)
