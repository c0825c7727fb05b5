"""Dynamically quantized models in ONNX, for ``onnx_import``: what ONNX Runtime's
``quantize_dynamic`` writes. Each input of a matrix product or convolution is quantized as
the model runs (DynamicQuantizeLinear: uint8 with the scale and zero point of the whole
tensor's range), the product is computed on integers (MatMulInteger, ConvInteger), cast to
float and multiplied by the two scales' product. ONNX Runtime's optimizer fuses these into
DynamicQuantizeMatMul and MatMulIntegerToFloat.

They are written here in the QDQ form that ``onnx_quantized`` reads: each integer input
dequantized (DequantizeLinear, with the scale the product is multiplied by), then the float
op. A DequantizeLinear of DynamicQuantizeLinear's integers is a fake quantization with the
scale computed from the tensor as the model runs (``QuantizeOps``), so the model computes
what the integer kernels do, to float32's rounding of the sums."""

from __future__ import annotations

from dataclasses import replace

from .onnx_qoperator import QdqWriter
from .onnx_reading import Graph, Node
from .onnx_values import OnnxImportError

# Integer products whose int32 result ONNX Runtime casts to float and scales: the float op
# and the axis of the weights' scales (a MatMul's columns, a Conv's output channels).
_PRODUCTS = {"MatMulInteger": ("MatMul", -1), "ConvInteger": ("Conv", 0)}


class _Rewrite:
    """The graph's nodes with their integer products written as float ones."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.producers = {out: node for node in graph.nodes for out in node.outputs}
        self.readers: dict[str, list[Node]] = {}
        for node in graph.nodes:
            for name in node.inputs:
                self.readers.setdefault(name, []).append(node)
        self.dropped: set[int] = set()  # ids of the nodes written into others
        self.written: dict[int, list[Node]] = {}  # a node's id -> the nodes in its place

    def fail(self, node: Node, why: str) -> OnnxImportError:
        where = f"node '{node.name or node.outputs[0]}' ({node.op})"
        return OnnxImportError(f"load_onnx: {where}: {why}")

    def sole_reader(self, node: Node, name: str, op: str) -> Node:
        readers = self.readers.get(name, [])
        if len(readers) != 1 or readers[0].op != op or name in self.graph.outputs:
            raise self.fail(
                node,
                f"its int32 result is not cast to float by one {op} node then scaled by a Mul "
                "(as ONNX Runtime's quantize_dynamic writes it); minicnn computes floats and "
                "reads integer products in that form.",
            )
        return readers[0]

    def product(self, node: Node, index: int) -> None:
        """MatMulInteger or ConvInteger -> Cast -> Mul by the scales' product: the float op
        of the two inputs dequantized, in the final Mul's place."""
        a, b, a_zero, b_zero = (list(node.inputs) + ["", "", ""])[:4]
        cast = self.sole_reader(node, node.outputs[0], "Cast")
        scaling = self.sole_reader(node, cast.outputs[0], "Mul")
        scales = next(i for i in scaling.inputs if i != cast.outputs[0])
        pair = self.producers.get(scales)
        if pair is None or pair.op != "Mul":
            raise self.fail(
                node, f"its result is scaled by '{scales}', not by a product of two scales."
            )
        a_scale, b_scale = pair.inputs
        quantize = self.producers.get(a)
        if quantize is not None and quantize.op == "DynamicQuantizeLinear":
            if a_scale != quantize.outputs[1]:  # the product's order is not pinned down
                a_scale, b_scale = b_scale, a_scale
        constant = self.graph.constants.get(a_zero)
        if constant is not None and constant.size > 1:
            raise self.fail(node, "a zero point per row of its first input.")
        float_op, axis = _PRODUCTS[node.op]
        writer = QdqWriter(node, {}, index)
        inputs = [
            writer.dequantized(a, a_scale, a_zero),
            writer.dequantized(b, b_scale, b_zero, axis),
        ]
        result = Node(
            float_op, inputs, list(scaling.outputs), f"{writer.label}/float", dict(node.attrs)
        )
        self.dropped |= {id(node), id(cast)}
        self.written[id(scaling)] = [*writer.nodes, result]
        if all(id(r) in self.written or id(r) in self.dropped for r in self.readers[scales]):
            self.dropped.add(id(pair))

    def fused(self, node: Node, index: int) -> None:
        """ONNX Runtime's fusions: DynamicQuantizeMatMul (A float, quantized here) and
        MatMulIntegerToFloat (A and B integers with their scales), each with a bias."""
        writer = QdqWriter(node, {}, index)
        label = writer.label
        if node.op == "DynamicQuantizeMatMul":
            a, b, b_scale, b_zero, bias = (list(node.inputs) + ["", ""])[:5]
            integers = [f"{a}/{suffix}/{label}" for suffix in ("quantized", "scale", "zero")]
            writer.nodes.append(Node("DynamicQuantizeLinear", [a], integers, integers[0], {}))
            a, a_scale, a_zero = integers
        else:
            a, b, a_scale, b_scale, a_zero, b_zero, bias = (list(node.inputs) + [""] * 3)[:7]
        inputs = [
            writer.dequantized(a, a_scale, a_zero),
            writer.dequantized(b, b_scale, b_zero, -1),
        ]
        product = f"{node.outputs[0]}/product" if bias else node.outputs[0]
        nodes = [*writer.nodes, Node("MatMul", inputs, [product], f"{label}/float", {})]
        if bias:
            nodes.append(Node("Add", [product, bias], list(node.outputs), f"{label}/bias", {}))
        self.written[id(node)] = nodes

    def nodes(self) -> list[Node]:
        for index, node in enumerate(self.graph.nodes):
            if node.op in _PRODUCTS:
                self.product(node, index)
            elif node.op in ("DynamicQuantizeMatMul", "MatMulIntegerToFloat"):
                self.fused(node, index)
        out: list[Node] = []
        for node in self.graph.nodes:
            if id(node) in self.written:
                out += self.written[id(node)]
            elif id(node) not in self.dropped:
                out.append(node)
        return out


def dynamic_qdq_form(graph: Graph) -> Graph:
    """``graph`` with its dynamic quantization's integer products written in the QDQ
    format (itself where it has none)."""
    wanted = {*_PRODUCTS, "DynamicQuantizeMatMul", "MatMulIntegerToFloat"}
    if not any(node.op in wanted for node in graph.nodes):
        return graph
    return replace(graph, nodes=_Rewrite(graph).nodes())
