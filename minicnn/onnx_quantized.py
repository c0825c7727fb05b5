"""Quantized models in ONNX's QDQ format, for ``onnx_import``: what ONNX Runtime's
``quantize_static`` (and PyTorch's quantization export) write, each tensor quantized by a
QuantizeLinear and read back by a DequantizeLinear around float ops.

The weights' DequantizeLinear of int8 constants is computed at import: the layers hold the
dequantized weights. A QuantizeLinear -> DequantizeLinear pair on a tensor becomes fake
quantization: forward, exactly ONNX's ``(saturate(round(x / s) + zp) - zp') * s'`` (so the
model predicts as the quantized one; the saturation also stands for a ReLU that the
quantizer removed before a uint8 zero point of 0); backward, the gradient of the clipping
alone (the straight-through estimator of quantization-aware training), so it trains.
The QOperator format's integer ops come here written as QDQ (``onnx_qoperator``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_reading import Node
from .onnx_values import OnnxImportError, Value, op_module

# The integers each zero point's type holds.
_RANGES = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "uint16": (0, 65535),
    "int16": (-32768, 32767),
    "int32": (-(2**31), 2**31 - 1),
}


# ONNX Runtime's fused ops of dynamic quantization that minicnn does not read (it reads the
# integer products, MatMulInteger and ConvInteger, and their fusions: ``onnx_dynamic``).
_DYNAMIC = {"QAttention", "DynamicQuantizeLSTM", "DynamicQuantizeConvInteger"}


def node_is_dynamic_quantization(node: Node | None) -> bool:
    return node is not None and node.op in _DYNAMIC


def _per_axis(c: np.ndarray, rank: int, axis: int) -> np.ndarray:
    """A scale or zero point of one value per entry of ``axis`` shaped to broadcast."""
    if c.ndim == 0 or c.size == 1:
        return c.reshape(())
    shape = [1] * rank
    shape[axis % rank] = c.size
    return c.reshape(shape)


def _zero_point(given: Any) -> np.ndarray:
    """A zero point, or ONNX's default where none is given: uint8, 0."""
    return np.zeros((), np.uint8) if given is None else np.asarray(given)


def _integers(zero_point: np.ndarray, node: Node) -> tuple[int, int]:
    """The lowest and highest integer of the zero point's type."""
    if zero_point.dtype.name not in _RANGES:
        raise OnnxImportError(
            f"load_onnx: node '{node.name}' ({node.op}): a zero point of type "
            f"{zero_point.dtype.name}; minicnn reads {', '.join(_RANGES)}."
        )
    return _RANGES[zero_point.dtype.name]


def _per_axis_only(node: Node) -> None:
    if node.attrs.get("block_size"):
        raise OnnxImportError(
            f"load_onnx: node '{node.name}' ({node.op}): blocked quantization (block_size); "
            "minicnn reads scales per tensor or per axis."
        )


def fold_dequantize(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    _per_axis_only(node)
    x = np.asarray(xs[0])
    axis = int(node.attrs.get("axis", 1))
    scale = _per_axis(np.asarray(xs[1], np.float32), x.ndim, axis)
    zero = _per_axis(_zero_point(xs[2] if len(xs) > 2 else None).astype(np.float32), x.ndim, axis)
    return [((x.astype(np.float32) - zero) * scale).astype(np.float32)]


def fold_quantize(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    _per_axis_only(node)
    x = np.asarray(xs[0], np.float32)
    axis = int(node.attrs.get("axis", 1))
    zero_point = _zero_point(xs[2] if len(xs) > 2 else None)
    low, high = _integers(zero_point, node)
    scale = _per_axis(np.asarray(xs[1], np.float32), x.ndim, axis)
    zero = _per_axis(zero_point.astype(np.float32), x.ndim, axis)
    q = np.clip(np.round(x / scale) + zero, low, high)  # NumPy rounds half to even, as ONNX
    return [q.astype(zero_point.dtype)]


class QuantizeOps:
    """The QDQ format's handlers of the importer (a mixin of ``onnx_import``'s)."""

    def op_QuantizeLinear(self, node: Node, index: int) -> None:
        """Kept until its DequantizeLinear: the pair is one fake quantization."""
        _per_axis_only(node)
        for reader in self.readers.get(node.outputs[0], []):
            if self.graph.nodes[reader].op != "DequantizeLinear":
                raise self.fail(
                    f"its integers are read by a {self.graph.nodes[reader].op} node, which "
                    "minicnn does not run on integers (it reads the QDQ format, "
                    "QuantizeLinear then DequantizeLinear around float ops, and the "
                    "QOperator format's QLinearConv, QLinearMatMul, QGemm, ...)."
                )
        if node.outputs[0] in self.graph.outputs:
            raise self.fail("its integers are an output of the model; minicnn computes floats.")
        self.quantized[node.outputs[0]] = node

    def op_DequantizeLinear(self, node: Node, index: int) -> None:
        _per_axis_only(node)
        name = node.inputs[0]
        if name not in self.quantized:  # integers given to the model: dequantized
            v = self.value(name)
            x = op_module().cast(v.tensor, "float32")
            zero = self.quantization_constant(node, 2, v, 0.0)
            scale = self.quantization_constant(node, 1, v, 1.0)
            self.values[node.outputs[0]] = v.like((x - zero) * scale)
            return
        quantize = self.quantized[name]
        v = self.value(quantize.inputs[0])
        if quantize.op == "DynamicQuantizeLinear":
            self.values[node.outputs[0]] = v.like(self.dynamically_quantized(v))
            return
        self.values[node.outputs[0]] = v.like(self.fake_quantized(v, quantize, node))

    def op_DynamicQuantizeLinear(self, node: Node, index: int) -> None:
        """Kept until its DequantizeLinear (``onnx_dynamic`` writes one for each integer
        product): the pair is one fake quantization, its scale from the tensor's range."""
        integers = node.outputs[0]
        for name in node.outputs:
            for reader in self.readers.get(name, []):
                found = self.graph.nodes[reader]
                if found.op != "DequantizeLinear" or found.inputs[:3] != node.outputs:
                    raise self.fail(
                        f"its output '{name}' is read by a {found.op} node; minicnn reads "
                        "dynamically quantized integers where an integer product "
                        "(MatMulInteger, ConvInteger) or a DequantizeLinear with their own "
                        "scale and zero point reads them."
                    )
            if name in self.graph.outputs:
                raise self.fail(f"'{name}' is an output of the model; minicnn computes floats.")
        self.quantized[integers] = node

    def quantization_constant(self, node: Node, index: int, v: Value, default: float) -> Any:
        """A scale or zero point of ``node`` in the layout of ``v``, as floats."""
        given = len(node.inputs) > index and node.inputs[index]
        what = "scale" if index == 1 else "zero point"
        c = self.constant(node.inputs[index], what) if given else np.asarray(default)
        axis = int(node.attrs.get("axis", 1))
        c = _per_axis(np.asarray(c, np.float32), self.onnx_rank(v), axis)
        return self.broadcast_constant(c, v) if c.ndim else float(c)

    def dynamically_quantized(self, v: Value) -> Any:
        """ONNX's DynamicQuantizeLinear then DequantizeLinear forward: uint8 over the range
        of the whole tensor (the batch's, as ONNX Runtime computes it) widened to hold 0;
        backward, the identity (no value falls outside the range)."""
        ops = op_module()
        x = v.tensor
        low = ops.minimum(ops.min(x), 0.0)
        high = ops.maximum(ops.max(x), 0.0)
        scale = (high - low) / 255.0
        divisor = ops.where(scale > 0, scale, 1.0)  # all zeros: each integer the zero point
        zero = ops.clip(ops.round(-low / divisor), 0, 255)
        integers = ops.clip(ops.round(x / divisor) + zero, 0, 255)
        exact = (integers - zero) * scale
        return x + ops.stop_gradient(exact - x)

    def fake_quantized(self, v: Value, quantize: Node, dequantize: Node) -> Any:
        """ONNX's dequantize(quantize(x)) forward, the clipping's gradient backward."""
        ops = op_module()
        given = quantize.inputs[2] if len(quantize.inputs) > 2 else ""
        zero_point = _zero_point(self.constant(given, "zero point") if given else None)
        low, high = _integers(zero_point, quantize)
        scale = self.quantization_constant(quantize, 1, v, 1.0)
        zero = self.quantization_constant(quantize, 2, v, 0.0)
        lowest, highest = (low - zero) * scale, (high - zero) * scale
        x = v.tensor
        if np.ndim(scale) == 0 and np.ndim(zero) == 0:
            clipped = ops.clip(x, float(lowest), float(highest))
        else:
            clipped = ops.maximum(ops.minimum(x, highest), lowest)
        # Clipped to the integers' range first, round(x / s) + zp needs no saturation after.
        integers = ops.round(clipped / scale) + zero
        out_scale = self.quantization_constant(dequantize, 1, v, 1.0)
        out_zero = self.quantization_constant(dequantize, 2, v, 0.0)
        exact = (integers - out_zero) * out_scale
        return clipped + ops.stop_gradient(exact - clipped)
