"""Quantized models in ONNX's QOperator format, for ``onnx_import``: integer ops
(QLinearConv, QLinearMatMul, and ONNX Runtime's QGemm, QLinearAdd, QLinearAveragePool, ...)
written as the QDQ format that ``onnx_quantized`` reads: each integer input dequantized
(DequantizeLinear), the float op, its result quantized again (QuantizeLinear). Ops that
only move integers (MaxPool, Reshape, Transpose, ...) commute with dequantization, so they
are written between a DequantizeLinear and a QuantizeLinear with the same scale and zero
point. The model then computes what the integer kernels do, up to where float sums break
a rounding tie the other way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .onnx_reading import Graph, Node
from .onnx_values import OnnxImportError

Quantized = dict[str, tuple[str, str]]  # an integer tensor -> its scale and zero point

# Ops that only move a tensor's entries (or compare them: max pooling): the same on the
# integers as on what they stand for.
_MOVING = {
    *("MaxPool", "GlobalMaxPool", "Reshape", "Transpose", "Flatten", "Squeeze"),
    *("Unsqueeze", "Slice", "Gather", "Identity", "DepthToSpace", "SpaceToDepth"),
}


class QdqWriter:
    """The nodes written for one integer op: DequantizeLinear and QuantizeLinear nodes
    with fresh names."""

    def __init__(self, node: Node, quantized: Quantized, index: int) -> None:
        self.node, self.quantized, self.nodes = node, quantized, []
        self.label = f"{node.name or node.op}#{index}"  # unique, where names are not

    def dequantized(self, name: str, scale: str, zero: str, axis: int | None = None) -> str:
        out = f"{name}/dequantized/{self.label}"
        attrs = {} if axis is None else {"axis": axis}
        self.nodes.append(Node("DequantizeLinear", [name, scale, zero], [out], out, attrs))
        return out

    def quantize(self, name: str, scale: str, zero: str, out: str) -> None:
        node = Node("QuantizeLinear", [name, scale, zero], [out], f"{out}/quantize", {})
        self.nodes.append(node)
        self.quantized[out] = (scale, zero)

    def float_op(self, op: str, inputs: list[str], attrs: dict[str, Any]) -> str:
        out = f"{self.node.outputs[0]}/float"
        self.nodes.append(Node(op, inputs, [out], f"{self.label}/float", attrs))
        return out

    def product_scale(self, a: str, b: str) -> str:
        """The scale of an int32 bias: the input's scale times the weights'."""
        out = f"{self.label}/bias_scale"
        self.nodes.append(Node("Mul", [a, b], [out], out, {}))
        return out

    def output(self, result: str, scale: str, zero: str) -> None:
        if scale:
            self.quantize(result, scale, zero, self.node.outputs[0])
        else:  # a float output (QGemm without y_scale)
            self.nodes.append(Node("Identity", [result], list(self.node.outputs), "", {}))


def _attrs(node: Node, *drop: str) -> dict[str, Any]:
    return {k: v for k, v in node.attrs.items() if k not in drop}


def _linear_conv(w: QdqWriter) -> None:
    x, xs, xz, k, ks, kz, ys, yz, *bias = w.node.inputs
    inputs = [w.dequantized(x, xs, xz), w.dequantized(k, ks, kz, axis=0)]
    if bias and bias[0]:
        inputs.append(w.dequantized(bias[0], w.product_scale(xs, ks), "", axis=0))
    w.output(w.float_op("Conv", inputs, _attrs(w.node)), ys, yz)


def _linear_matmul(w: QdqWriter) -> None:
    a, a_s, az, b, bs, bz, ys, yz = w.node.inputs
    product = [w.dequantized(a, a_s, az), w.dequantized(b, bs, bz, axis=-1)]
    w.output(w.float_op("MatMul", product, {}), ys, yz)


def _gemm(w: QdqWriter) -> None:
    a, a_s, az, b, bs, bz, *rest = w.node.inputs
    c, ys, yz = (rest + ["", "", ""])[:3]
    if w.node.attrs.get("transA", 0):
        raise OnnxImportError(f"load_onnx: node '{w.node.name}' (QGemm): transA.")
    axis = 0 if w.node.attrs.get("transB", 0) else 1  # the output's columns
    inputs = [w.dequantized(a, a_s, az), w.dequantized(b, bs, bz, axis=axis)]
    if c:
        inputs.append(w.dequantized(c, w.product_scale(a_s, bs), "", axis=0))
    w.output(w.float_op("Gemm", inputs, _attrs(w.node)), ys, yz)


def _binary(op: str) -> Callable[[QdqWriter], None]:
    def write(w: QdqWriter) -> None:
        a, a_s, az, b, bs, bz, ys, yz = w.node.inputs
        inputs = [w.dequantized(a, a_s, az), w.dequantized(b, bs, bz)]
        w.output(w.float_op(op, inputs, {}), ys, yz)

    return write


def _unary(op: str, *drop: str) -> Callable[[QdqWriter], None]:
    def write(w: QdqWriter) -> None:
        if w.node.attrs.get("channels_last", 0):
            raise OnnxImportError(
                f"load_onnx: node '{w.node.name}' ({w.node.op}): channels_last integers."
            )
        x, xs, xz, ys, yz = w.node.inputs
        attrs = _attrs(w.node, "channels_last", *drop)
        w.output(w.float_op(op, [w.dequantized(x, xs, xz)], attrs), ys, yz)

    return write


def _concat(w: QdqWriter) -> None:
    ys, yz, *parts = w.node.inputs
    inputs = [w.dequantized(*parts[i : i + 3]) for i in range(0, len(parts), 3)]
    w.output(w.float_op("Concat", inputs, _attrs(w.node)), ys, yz)


_WRITERS: dict[str, Callable[[QdqWriter], None]] = {
    "QLinearConv": _linear_conv,
    "QLinearMatMul": _linear_matmul,
    "QGemm": _gemm,
    "QLinearAdd": _binary("Add"),
    "QLinearMul": _binary("Mul"),
    "QLinearAveragePool": _unary("AveragePool"),
    "QLinearGlobalAveragePool": _unary("GlobalAveragePool"),
    "QLinearSigmoid": _unary("Sigmoid"),
    "QLinearLeakyRelu": _unary("LeakyRelu"),
    "QLinearSoftmax": _unary("Softmax", "opset"),
    "QLinearConcat": _concat,
}


def qdq_form(graph: Graph) -> Graph:
    """``graph`` with its QOperator ops written in the QDQ format (itself where it has
    none)."""
    if not any(node.op in _WRITERS for node in graph.nodes):
        return graph
    quantized: Quantized = {}
    nodes: list[Node] = []
    for index, node in enumerate(graph.nodes):
        if node.op == "QuantizeLinear":
            zero = node.inputs[2] if len(node.inputs) > 2 else ""
            quantized[node.outputs[0]] = (node.inputs[1], zero)
            nodes.append(node)
        elif node.op in _WRITERS:
            writer = QdqWriter(node, quantized, index)
            _WRITERS[node.op](writer)
            nodes += writer.nodes
        elif node.inputs and node.inputs[0] in quantized and node.op in _MOVING | {"Shape"}:
            nodes += _moved(QdqWriter(node, quantized, index))
        else:
            nodes.append(node)
    return replace(graph, nodes=nodes)


def _moved(writer: QdqWriter) -> list[Node]:
    """An op on integers that only moves them: on the dequantized tensor, quantized again
    as it was (a Shape reads the dequantized tensor's)."""
    node = writer.node
    scale, zero = writer.quantized[node.inputs[0]]
    floats = writer.dequantized(node.inputs[0], scale, zero)
    if node.op == "Shape":
        return [*writer.nodes, replace(node, inputs=[floats, *node.inputs[1:]])]
    result = writer.float_op(node.op, [floats, *node.inputs[1:]], dict(node.attrs))
    writer.output(result, scale, zero)
    return writer.nodes
