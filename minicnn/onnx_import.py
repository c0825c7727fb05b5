"""``minicnn.load_onnx("model.onnx")`` (and ``load_model`` on a ``.onnx`` file): an ONNX
model, e.g. one that ``torch.onnx.export`` wrote, as a minicnn functional model of
trainable layers (Conv2D, Dense, BatchNormalization, ...) with the file's weights, ready
for ``predict``, ``evaluate`` and ``fit``.

ONNX images are channels-first, (N, C, H, W), and its sequences time-major; minicnn's
layers work channels-last and batch-first. Each tensor is kept in whichever layout its
producer made (``Value.order``), and moved only where a consumer needs another:
convolutions, poolings and normalizations take channels-last, recurrent layers
batch-first, elementwise ops any layout, reshapes and matrix products ONNX's own. A
Transpose only relabels the axes. A Flatten of a
channels-last image followed by a dense layer permutes the dense kernel's rows instead of
the image, and a Transpose that turns channels-last to channels-first (as minicnn's own
exports have) costs nothing: so a PyTorch CNN becomes Permute, Conv2D, MaxPooling2D,
Flatten, Dense, and a model minicnn exported comes back with no transposes at all.

Shape arithmetic (PyTorch's ``x.view(x.size(0), -1)``: Shape, Gather, Concat) is computed
at import, the batch size kept symbolic. An operator outside the set here is refused by
name, with the node that has it."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from . import onnx_names as names
from .onnx_dynamic import dynamic_qdq_form
from .onnx_fills import Fill, FillOps
from .onnx_folds import FoldOps
from .onnx_qoperator import qdq_form
from .onnx_quantized import QuantizeOps, node_is_dynamic_quantization
from .onnx_reading import DTYPES, Graph, Node, read_onnx, read_subgraph
from .onnx_recurrent import RecurrentOps
from .onnx_shapes import COMPOSITE_REDUCTIONS, FOLDED, REDUCTIONS, ShapeOps
from .onnx_spatial import SpatialOps
from .onnx_statistics import StatisticOps
from .onnx_tokens import TokenOps
from .onnx_values import (
    BATCH,
    OnnxImportError,
    Value,
    inverse,
    layer_module,
    op_module,
    plain,
    spelled,
    to_last,
)

# ONNX activations that minicnn's Activation layer has, by its name (HardSwish and Mish:
# opset 14's and 18's; the exporter, at opset 13, writes them otherwise).
_ACTIVATIONS = {**names.by_onnx(names.ACTIVATIONS), "HardSwish": "hard_swish", "Mish": "mish"}
# Elementwise functions of one tensor, as minicnn.ops names them (the activations among
# them are Activation layers here; Not is an elementwise op of any layout).
_UNARY = {
    onnx: op
    for onnx, op in names.by_onnx(names.UNARY).items()
    if onnx not in _ACTIVATIONS and onnx != "Not"
}
# Elementwise functions of two tensors (NumPy broadcasting): TensorArithmetic's operation.
_BINARY = names.by_onnx(names.ARITHMETIC)
# Elementwise ops of any arity that take and give any layout, as minicnn.ops names them.
_ELEMENTWISE = {**names.by_onnx(names.COMPARISONS), "Where": "where", "Not": "logical_not"}


# Ops that work on each sample alone and need the batch apart: on a tensor whose batch is
# merged with the steps after it (TimeDistributed's), they run on every step.
PER_STEP = {
    "Conv",
    "ConvTranspose",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "Pad",
    "Resize",
    "Upsample",
    "DepthToSpace",
    "SpaceToDepth",
}


class _Importer(
    SpatialOps, ShapeOps, RecurrentOps, FoldOps, FillOps, TokenOps, QuantizeOps, StatisticOps
):
    """An ONNX graph made a minicnn model, node by node."""

    def __init__(
        self, graph: Graph, channels_last: bool, input_shapes: dict[str, Any] | None = None
    ) -> None:
        self.graph = graph
        self.channels_last_inputs = channels_last
        self.input_shapes = input_shapes or {}
        self.values: dict[str, Value] = {}
        self.constants: dict[str, np.ndarray] = {
            k: np.asarray(v) for k, v in graph.constants.items()
        }
        self.readers: dict[str, list[int]] = {}  # a value's consumer nodes, by index
        self.count_readers()
        self.node: Node | None = None
        self.fused: set[int] = set()  # nodes folded into the one before them
        self.aliased: set[int] = set()  # activations made their layer's own
        self.fills: dict[str, Fill] = {}  # values the same for every sample
        self.quantized: dict[str, Node] = {}  # QuantizeLinear's integers, by their name
        self.statistics: dict[str, Any] = {}  # numbers of the whole batch (onnx_statistics)
        # A constant spread over the batch (a learned token, position embeddings): one
        # sample of it, and the name of the constant it came from.
        self.spread: dict[str, tuple[np.ndarray, str]] = {}
        self.moved: dict[tuple[int, tuple[int, ...]], Any] = {}  # tensors Permuted, by order
        self.by_weights: dict[tuple[Any, ...], Any] = {}  # layers, by their file's weights
        # The batch size the file was traced with, where its inputs give one (shape
        # arithmetic that tracing wrote as numbers holds it).
        traced = {shape[0] if shape else None for _, shape, _ in graph.inputs}
        self.traced_batch = next(iter(traced)) if len(traced) == 1 else None
        if not isinstance(self.traced_batch, int) or self.traced_batch < 1:
            self.traced_batch = None

    # --- errors and attributes -------------------------------------------------------------

    def fail(self, why: str) -> OnnxImportError:
        node = self.node
        where = f"node '{node.name or node.outputs[0]}' ({node.op})" if node else "the model"
        return OnnxImportError(f"load_onnx: {where}: {why}")

    def attr(self, name: str, default: Any = None) -> Any:
        assert self.node is not None
        return self.node.attrs.get(name, default)

    # --- values ------------------------------------------------------------------------------

    def is_constant(self, name: str) -> bool:
        return name == "" or name in self.constants

    def used(self, name: str) -> bool:
        """Whether a node or the graph's outputs read value ``name``."""
        return bool(name) and (bool(self.readers.get(name)) or name in self.graph.outputs)

    def is_zero(self, name: str) -> bool:
        """Whether ``name`` is zeros (a constant, or zeros as many as the batch)."""
        if name in self.fills:
            return not np.any(self.fills[name].sample)
        return name in self.constants and not np.any(self.constants[name])

    def count_readers(self) -> None:
        self.readers.clear()
        for index, node in enumerate(self.graph.nodes):
            for name in node.inputs:
                self.readers.setdefault(name, []).append(index)

    def op_If(self, node: Node, index: int) -> None:
        """An If whose condition is known at import (TorchScript's checks of a shape): the
        nodes of the branch it takes, spliced in after it, its outputs the If's."""
        if not self.is_constant(node.inputs[0]):
            raise self.fail(
                "its condition depends on the data; minicnn builds one graph, so it takes an "
                "If only where import knows the condition (a check of a shape)."
            )
        taken = "then_branch" if np.ravel(self.constants[node.inputs[0]])[0] else "else_branch"
        branch = read_subgraph(node.attrs[taken], self.graph, f"node '{node.name}' ({taken})")
        self.constants.update(branch.constants)
        self.graph.constants.update(branch.constants)
        results = [
            Node("Identity", [inner], [outer], f"{node.name}/{outer}", {})
            for inner, outer in zip(branch.outputs, node.outputs, strict=True)
        ]
        spliced = [*branch.nodes, *results]
        self.graph.nodes[index + 1 : index + 1] = spliced
        moved = len(spliced)  # the later nodes' indices move on
        self.fused = {i + moved if i > index else i for i in self.fused}
        self.aliased = {i + moved if i > index else i for i in self.aliased}
        self.count_readers()

    def lacking(self) -> OnnxImportError:
        """The error of an operator minicnn has no layer for."""
        hint = (
            " It is a fused op of dynamic quantization: minicnn reads quantize_dynamic's "
            "models with their integer products (MatMulInteger, ConvInteger), and "
            "statically quantized ones (quantize_static, QDQ or QOperator format); leave "
            "the op out of op_types_to_quantize."
            if node_is_dynamic_quantization(self.node)
            else ""
        )
        return self.fail(
            "minicnn has no layer for this ONNX operator (README's ONNX section lists the ones "
            "it reads)." + hint
        )

    def reused(self, weights: list[str], settings: Any, make: Any) -> tuple[Any, bool]:
        """The layer already made from the same weights of the file with the same settings
        (a module PyTorch called more than once, as a Siamese network's encoder: one layer,
        its weights shared), else a new one from ``make()``; and whether it is new."""
        names = tuple(n for n in weights if n)
        if not names or any(n not in self.graph.constants for n in names):
            return make(), True
        key = (names, repr(settings))
        if key in self.by_weights:
            return self.by_weights[key], False
        self.by_weights[key] = layer = make()
        return layer, True

    def constant(self, name: str, what: str) -> np.ndarray:
        if name not in self.constants:
            raise self.fail(f"its {what} must be a constant (an initializer) for minicnn's layers.")
        return self.constants[name]

    def scalar(self, name: str, what: str) -> float:
        c = self.constant(name, what)
        if c.size != 1:
            raise self.fail(f"its {what} must be one number; got shape {c.shape}.")
        return float(c.reshape(-1)[0])

    def named(self, *weights: str) -> dict[str, str]:
        """A layer's name from its weights' names in the file, PyTorch's module paths
        ("features.0.weight" -> "features_0"), where they have one; else Keras' own."""
        from . import backend

        for name in weights:
            if name not in self.graph.constants:  # computed at import: no module's name
                continue
            for suffix in (".weight", ".bias", ".weight_ih_l0", "_weight", "_bias"):
                if name.endswith(suffix) and len(name) > len(suffix):
                    return {"name": backend.unique_name(_layer_name(name[: -len(suffix)]))}
        return {}

    def optional_constant(self, node: Node, index: int, what: str) -> np.ndarray | None:
        if len(node.inputs) <= index or node.inputs[index] == "":
            return None
        return self.constant(node.inputs[index], what)

    def value(self, name: str) -> Value:
        if name in self.values:
            return self.values[name]
        if name in self.spread:
            raise self.fail(
                "a constant spread over the batch meets it; minicnn learns such a tensor as "
                "ClassToken (joined before a sequence's steps) or PositionEmbedding (added to "
                "a sequence of its shape), and this is neither."
            )
        if name in self.fills:  # a tensor wanted: made from the batch of the first input
            self.values[name] = self.materialized(self.fills[name])
            return self.values[name]
        raise self.fail(f"its input '{name}' is neither a graph input nor computed before it.")

    def onnx_shape(self, v: Value) -> tuple[int, ...]:
        """The ONNX value's shape, the batch size as BATCH."""
        if v.groups is not None:
            return self.folded_shape(v)
        held = [BATCH, *(int(d) if d is not None else BATCH for d in v.tensor.sample_shape)]
        if v.order is None:
            return tuple(held)
        shape = [0] * len(held)
        for axis, size in zip(v.order, held, strict=True):
            shape[axis] = size
        return tuple(shape)

    def in_onnx_layout(self, v: Value) -> Any:
        """The tensor in ONNX's own layout."""
        if v.groups is not None:
            raise self.fail_folded(v)
        if v.order is None and v.flat_order is None:
            return v.tensor
        if v.order is not None and v.order[0] != 0:
            raise self.fail(
                f"it needs its input with the batch axis first; here the batch is ONNX's axis "
                f"{v.order[0]} (a time-major sequence?): transpose it back before this op."
            )
        if v.in_onnx_layout is None:
            L = layer_module()
            if v.flat_order is not None:
                if np.array_equal(v.flat_order, np.arange(v.flat_order.size)):
                    v.in_onnx_layout = v.tensor
                else:
                    image = L.Reshape(v.flat_image)(v.tensor)
                    rank = len(v.flat_image) + 1
                    back = L.Permute((rank - 1, *range(1, rank - 1)))(image)
                    v.in_onnx_layout = L.Flatten()(back)
            else:
                shape = tuple(v.tensor.sample_shape)
                if v.channels_last and all(d == 1 for d in shape[:-1]):  # a reshape will do
                    v.in_onnx_layout = L.Reshape((shape[-1], *shape[:-1]))(v.tensor)
                else:
                    v.in_onnx_layout = L.Permute(inverse(v.order)[1:])(v.tensor)
        return v.in_onnx_layout

    def in_order(self, v: Value, order: tuple[int, ...] | None) -> Any:
        """The tensor with its axes in ``order`` (as Value.order), the batch still first."""
        if v.groups is not None:
            raise self.fail_folded(v)
        if v.flat_order is not None:
            return self.in_onnx_layout(v) if order is None else self.fail_order()
        if v.order == order:
            return v.tensor
        if order is None:
            return self.in_onnx_layout(v)
        held = inverse(v.order) if v.order is not None else tuple(range(len(order)))
        moves = tuple(held[axis] for axis in order)
        if moves[0] != 0:
            raise self.fail_order()
        key = (id(v.tensor), moves)  # one Permute for all the readers that want this order
        if key not in self.moved:
            self.moved[key] = layer_module().Permute(moves[1:])(v.tensor)
        return self.moved[key]

    def fail_order(self) -> OnnxImportError:
        return self.fail("its inputs hold their batch on different axes.")

    def in_channels_last(self, v: Value) -> Any:
        """The tensor channels-last (an image of rank 3 or more)."""
        if v.channels_last:
            return v.tensor
        rank = len(v.tensor.sample_shape) + 1
        if rank < 3:
            raise self.fail(f"it takes images (batch, channels, ...); got rank {rank}.")
        if (
            v.order is None
            and v.flat_order is None
            and all(d == 1 for d in v.tensor.sample_shape[1:])
        ):
            t = v.tensor
            return layer_module().Reshape((*t.sample_shape[1:], t.sample_shape[0]))(t)
        return self.in_order(v, tuple(to_last(rank)))

    def set(
        self,
        name: str,
        tensor: Any,
        channels_last: bool = False,
        order: Any = None,
        **kw: Any,
    ) -> None:
        if channels_last:
            order = to_last(len(tensor.sample_shape) + 1)
        self.values[name] = Value(tensor, None if order is None else plain(order), **kw)

    # --- the model -----------------------------------------------------------------------------

    def build(self, name: str) -> Any:
        L = layer_module()
        from .models import Model

        inputs = []
        for input_name, shape, dtype in self.graph.inputs:
            if len(shape) < 1:
                raise self.fail(f"input '{input_name}' has no known shape.")
            rest = tuple(d if isinstance(d, int) and d > 0 else None for d in shape[1:])
            given = self.input_shapes.get(input_name)
            if given is not None:  # the caller's sizes where the file leaves them open
                given = tuple(int(d) for d in given)
                if len(given) != len(rest) or any(
                    d is not None and d != g for d, g in zip(rest, given, strict=True)
                ):
                    raise self.fail(
                        f"input_shape {given} does not fit input '{input_name}', whose shape "
                        f"is {shape} (the batch first, not given)."
                    )
                rest = given
            if None in rest:
                raise self.fail(
                    f"input '{input_name}' has shape {shape}: minicnn's layers need every axis "
                    "but the batch fixed; give them as load_onnx's input_shape (without the "
                    "batch, in the file's layout)."
                )
            last = self.channels_last_inputs and len(shape) >= 3
            if last:
                rest = (*rest[1:], rest[0])
            kind = "float32" if np.dtype(dtype).kind == "f" else dtype
            t = L.Input(shape=rest, dtype=kind, name=_layer_name(input_name))
            inputs.append(t)
            self.set(input_name, t, channels_last=last)
        for node in self.graph.nodes:  # name the first operator minicnn lacks, up front
            if not hasattr(self, f"op_{node.op}") and node.op not in FOLDED:
                self.node = node
                raise self.lacking()
        for index, node in enumerate(self.graph.nodes):
            if index in self.fused:
                continue
            if index in self.aliased:
                self.values[node.outputs[0]] = self.value(node.inputs[0])
                continue
            self.node = node
            if node.domain not in ("", "ai.onnx"):
                raise self.fail(f"its domain '{node.domain}' is not ONNX's own.")
            if self.is_statistic(node):
                self.statistic_op(node)
                continue
            if self.batch_fill(node):
                continue
            if all(self.is_constant(i) for i in node.inputs) and node.op in FOLDED:
                results = FOLDED[node.op](self, node, [self.constants.get(i) for i in node.inputs])
                for out, result in zip(node.outputs, results, strict=False):
                    self.constants[out] = np.asarray(result)
                continue
            handler = getattr(self, f"op_{node.op}", None)
            if handler is None:
                raise self.lacking()
            first = self.values.get(node.inputs[0]) if node.inputs else None
            if first is not None and first.groups is not None and node.op in PER_STEP:
                self.per_step(node, index, handler)
            elif node.op in _BINARY or node.op in _ELEMENTWISE:
                self.with_fills_as_constants(node, index, handler)
            else:
                handler(node, index)
        self.node = None
        outputs = []
        for out in self.graph.outputs:
            if out in self.constants:
                raise self.fail(f"output '{out}' is a constant, not computed from the inputs.")
            if out in self.statistics:
                raise self.fail(f"output '{out}' is one number of the whole batch.")
            v = self.value(out)
            if v.groups is not None:
                raise self.fail(
                    f"output '{out}' is {spelled(self.folded_shape(v))} in ONNX: the batch "
                    "merged with another axis; minicnn's outputs keep the batch apart."
                )
            last = self.channels_last_inputs and v.channels_last
            outputs.append(v.tensor if last else self.in_onnx_layout(v))
        return Model(
            inputs if len(inputs) > 1 else inputs[0],
            outputs if len(outputs) > 1 else outputs[0],
            name=_layer_name(name),
        )

    # --- dense layers and matrix products ----------------------------------------------------

    def dense(
        self, node: Node, v: Value, kernel: np.ndarray, bias: np.ndarray | None, index: int
    ) -> None:
        order, groups = None, None
        if v.groups is not None:
            x, groups = self.features_last(v)
        elif v.flat_order is not None:  # the kernel takes the columns in minicnn's order
            x, kernel = v.tensor, kernel[v.flat_order]
        elif v.order is not None and v.order[-1] == len(v.order) - 1:
            x, order = v.tensor, v.order  # features last either way (a time-major sequence)
        elif v.order is not None and v.flat_order is None and v.order[0] != 0:
            last = len(v.order) - 1  # features moved last, the batch kept first
            order = (v.order[0], *(o for o in v.order[1:] if o != last), last)
            x = self.in_order(v, order)
        else:
            x = self.in_onnx_layout(v)
        if int(x.sample_shape[-1]) != kernel.shape[0]:
            raise self.fail(
                f"its input has {x.sample_shape[-1]} features, its weights {kernel.shape[0]}."
            )
        weights = [*node.inputs[1:], *self.graph.nodes[index].inputs[1:]]
        activation = self.fused_activation(index)
        rows = None if v.flat_order is None else v.flat_order.tobytes()  # kernel rows moved
        settings = (node.op, sorted(node.attrs.items()), kernel.shape, repr(activation), rows)
        layer, new = self.reused(
            weights,
            settings,
            lambda: layer_module().Dense(
                int(kernel.shape[1]),
                use_bias=bias is not None,
                activation=activation,
                **self.named(*weights),
            ),
        )
        y = layer(x)
        if new:
            values = [kernel.astype(np.float32)]
            if bias is not None:
                values.append(np.broadcast_to(bias, (kernel.shape[1],)).astype(np.float32))
            layer.set_weights(values)
        self.set(node.outputs[0], y, order=order, groups=groups)

    def op_Gemm(self, node: Node, index: int) -> None:
        if self.attr("transA", 0):
            raise self.fail("transA: its input would hold the batch on its second axis.")
        if not self.is_constant(node.inputs[1]):
            if self.attr("transB", 0):
                raise self.fail("transB of a computed tensor, whose first axis is the batch.")
            return self.matmul_of(node)
        v = self.value(node.inputs[0])
        b = self.constant(node.inputs[1], "weights").astype(np.float32)
        b = b.T if self.attr("transB", 0) else b
        c = self.optional_constant(node, 2, "bias")
        alpha, beta = float(self.attr("alpha", 1.0)), float(self.attr("beta", 1.0))
        if c is not None and np.shape(c) not in ((), (1,), (b.shape[1],), (1, b.shape[1])):
            raise self.fail(f"its bias has shape {np.shape(c)}; a dense layer's is (units,).")
        bias = None if c is None else (beta * c.astype(np.float32)).reshape(-1)
        self.dense(node, v, alpha * b, bias, index)
        return None

    def matmul_of(self, node: Node) -> None:
        """A product of two computed tensors (attention's), in ONNX's layout; Gemm's
        alpha * a @ b + beta * c."""
        folded = [n in self.values and self.values[n].groups is not None for n in node.inputs[:2]]
        if node.op == "MatMul" and any(folded):
            return self.folded_matmul(node)
        ops = op_module()
        a, b = (self.operand(name) for name in node.inputs[:2])
        y = ops.matmul(a, b)
        if node.op == "Gemm":
            if float(self.attr("alpha", 1.0)) != 1.0:
                y = ops.multiply(y, float(self.attr("alpha", 1.0)))
            if len(node.inputs) > 2 and node.inputs[2]:
                c = self.operand(node.inputs[2])
                y = ops.add(y, ops.multiply(c, float(self.attr("beta", 1.0))))
        self.set(node.outputs[0], y)

    def operand(self, name: str) -> Any:
        """A constant as its array, a value in ONNX's layout."""
        if name in self.constants:
            return self.constants[name].astype(np.float32)
        return self.in_onnx_layout(self.value(name))

    def op_Einsum(self, node: Node, index: int) -> None:
        """torch.einsum: an EinsumDense where one tensor meets one constant (its kernel,
        learned), else the einsum op. The tensors are taken in ONNX's layout; the batch must
        be each tensor's first letter and the result's, and no constant's."""
        tensors = [not self.is_constant(n) for n in node.inputs]
        ranks = [
            self.onnx_rank(self.value(n)) if t else np.ndim(self.constants[n])
            for n, t in zip(node.inputs, tensors, strict=True)
        ]
        terms, result = _einsum_terms(str(self.attr("equation")), ranks)
        batch = {terms[k][0] for k, t in enumerate(tensors) if t}
        kept = [terms[k] for k, t in enumerate(tensors) if not t]
        if len(batch) != 1 or not result.startswith(next(iter(batch))):
            raise self.fail("its batch axis is not the first of each tensor and of the result.")
        if any(next(iter(batch)) in term for term in kept):
            raise self.fail("a constant operand spans the batch axis.")
        equation = f"{','.join(terms)}->{result}"
        operands = [
            self.in_onnx_layout(self.value(n)) if t else self.constants[n].astype(np.float32)
            for n, t in zip(node.inputs, tensors, strict=True)
        ]
        if tensors == [True, False]:  # x and a weight: a trainable EinsumDense
            x, kernel = operands
            layer = layer_module().EinsumDense(
                equation,
                output_shape=tuple(int(d) for d in _einsum_shape(equation, operands)),
                **self.named(node.inputs[1]),
            )
            y = layer(x)
            layer.set_weights([kernel])
        else:
            y = op_module().einsum(equation, *operands)
        self.set(node.outputs[0], y)

    def op_MatMul(self, node: Node, index: int) -> None:
        if self.is_constant(node.inputs[1]) and np.ndim(self.constants[node.inputs[1]]) == 2:
            kernel = self.constants[node.inputs[1]].astype(np.float32)
            bias, after = self.bias_after(node, index, kernel.shape[1])
            self.dense(node, self.value(node.inputs[0]), kernel, bias, index + (after is not None))
            if after is not None:
                self.values[after.outputs[0]] = self.values[node.outputs[0]]
            return
        self.matmul_of(node)

    def bias_after(
        self, node: Node, index: int, units: int
    ) -> tuple[np.ndarray | None, Node | None]:
        """The constant that a single Add right after a MatMul adds (a dense layer's bias)."""
        out = node.outputs[0]
        if self.only_reader(out) != index + 1:
            return None, None
        after = self.graph.nodes[index + 1]
        if after.op != "Add" or len(after.inputs) != 2:
            return None, None
        other = after.inputs[1 - after.inputs.index(out)]
        if not self.is_constant(other) or self.constants[other].shape not in ((units,), (1, units)):
            return None, None
        self.fused.add(index + 1)
        return self.constants[other].astype(np.float32).reshape(-1), after

    # --- elementwise ---------------------------------------------------------------------------

    def only_reader(self, name: str) -> int | None:
        """The one node that reads value ``name``, if one alone does."""
        readers = self.readers.get(name, [])
        if len(readers) != 1 or name in self.graph.outputs:
            return None
        return readers[0]

    def fused_activation(self, index: int) -> Any:
        """The activation a Conv or Dense layer takes in: that of the activation node that
        alone reads its output (a Transpose between them moves nothing an activation
        sees), which then passes its input on."""
        from . import activations

        reader = self.only_reader(self.graph.nodes[index].outputs[0])
        if reader is not None and self.graph.nodes[reader].op == "Transpose":
            reader = self.only_reader(self.graph.nodes[reader].outputs[0])
        name = None if reader is None else self.activation_name(self.graph.nodes[reader])
        if name is None:
            return activations.get("linear")
        self.aliased.add(reader)
        return activations.get(name)

    def activation_name(self, node: Node) -> str | None:
        """Keras' name of the activation ``node`` is, if it is one with Keras' settings."""
        attrs = node.attrs
        if node.op in _ACTIVATIONS:
            return _ACTIVATIONS[node.op]
        if node.op == "Elu" and attrs.get("alpha", 1.0) == 1.0:
            return "elu"
        if node.op == "Gelu" and attrs.get("approximate", "none") == "none":
            return "gelu"
        if node.op == "LeakyRelu" and math.isclose(attrs.get("alpha", 0.01), 0.2, rel_tol=1e-6):
            return "leaky_relu"
        if node.op == "HardSigmoid" and attrs.get("beta", 0.5) == 0.5:
            if math.isclose(attrs.get("alpha", 0.2), 1 / 6, rel_tol=1e-6):
                return "hard_sigmoid"
        if node.op == "Clip":
            bounds = [attrs.get("min"), attrs.get("max")]
            for i, name in enumerate(node.inputs[1:3]):
                if name:
                    found = self.constants.get(name)
                    if found is None or found.size != 1:
                        return None
                    bounds[i] = float(found.reshape(-1)[0])
            if bounds[0] == 0.0 and bounds[1] in (None, 6.0):
                return "relu" if bounds[1] is None else "relu6"
        return None

    def activation(self, node: Node, name: str, layer_of: Any = None) -> None:
        """An activation: folded into the Conv or Dense layer before it where that layer's
        output goes nowhere else, else its own layer."""
        v = self.value(node.inputs[0])
        layer = layer_of if layer_of is not None else layer_module().Activation(name)
        self.keep_layout(node, v, layer)

    def keep_layout(self, node: Node, v: Value, layer: Any) -> None:
        """An elementwise layer, applied in whatever layout its input is in."""
        self.values[node.outputs[0]] = v.like(layer(v.tensor))

    def op_LeakyRelu(self, node: Node, index: int) -> None:
        alpha = float(self.attr("alpha", 0.01))
        self.activation(node, "leaky_relu", layer_module().LeakyReLU(negative_slope=alpha))

    def op_Elu(self, node: Node, index: int) -> None:
        alpha = float(self.attr("alpha", 1.0))
        if alpha == 1.0:
            return self.activation(node, "elu")
        return self.activation(node, "elu", layer_module().ELU(alpha=alpha))

    def op_Gelu(self, node: Node, index: int) -> None:
        if self.attr("approximate", "none") == "tanh":
            from . import activations

            layer = layer_module().Activation(lambda x: activations.gelu(x, approximate=True))
            return self.activation(node, "gelu", layer)
        return self.activation(node, "gelu")

    def op_Celu(self, node: Node, index: int) -> None:
        if float(self.attr("alpha", 1.0)) != 1.0:
            raise self.fail("CELU with alpha other than 1; Keras' celu activation has 1.")
        self.activation(node, "celu")

    def op_PRelu(self, node: Node, index: int) -> None:
        """Keras' PReLU: its slopes in the tensor's layout, shared along the axes where
        ONNX's slope has one value (PyTorch's per-channel slope: all but the channels)."""
        v = self.value(node.inputs[0])
        slope = self.broadcast_constant(self.constant(node.inputs[1], "slope"), v)
        held = tuple(int(d) for d in v.tensor.sample_shape)
        slope = slope.reshape((1,) * (len(held) - slope.ndim) + slope.shape)
        shared = [axis + 1 for axis, size in enumerate(slope.shape) if size == 1 and held[axis] > 1]
        layer = layer_module().PReLU(shared_axes=shared or None, **self.named(node.inputs[1]))
        self.keep_layout(node, v, layer)
        alpha = np.broadcast_to(slope, [1 if a + 1 in shared else d for a, d in enumerate(held)])
        layer.set_weights([np.ascontiguousarray(alpha, np.float32)])

    def op_HardSigmoid(self, node: Node, index: int) -> None:
        alpha, beta = float(self.attr("alpha", 0.2)), float(self.attr("beta", 0.5))
        if not (math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5):
            v = self.value(node.inputs[0])
            ops = op_module()
            y = ops.clip(ops.add(ops.multiply(v.tensor, alpha), beta), 0.0, 1.0)
            self.values[node.outputs[0]] = v.like(y)
            return None
        return self.activation(node, "hard_sigmoid")

    def op_Clip(self, node: Node, index: int) -> None:
        low, high = self.attr("min"), self.attr("max")
        if len(node.inputs) > 1 and node.inputs[1]:
            low = self.scalar(node.inputs[1], "minimum")
        if len(node.inputs) > 2 and node.inputs[2]:
            high = self.scalar(node.inputs[2], "maximum")
        v = self.value(node.inputs[0])
        if low == 0.0 and high in (None, 6.0):
            return self.activation(node, "relu" if high is None else "relu6")
        if low == 0.0:
            return self.activation(node, "relu", layer_module().ReLU(max_value=high))
        lo = -np.inf if low is None else low
        hi = np.inf if high is None else high
        y = op_module().clip(v.tensor, lo, hi)
        self.values[node.outputs[0]] = v.like(y)
        return None

    def unary(self, node: Node, function: str) -> None:
        v = self.value(node.inputs[0])
        y = getattr(op_module(), function)(v.tensor)
        self.values[node.outputs[0]] = v.like(y)

    def passthrough(self, node: Node, index: int) -> None:
        self.values[node.outputs[0]] = self.value(node.inputs[0])

    op_Identity = passthrough

    def op_Dropout(self, node: Node, index: int) -> None:
        has_ratio = len(node.inputs) > 1 and node.inputs[1] != ""
        rate = self.scalar(node.inputs[1], "ratio") if has_ratio else float(self.attr("ratio", 0.5))
        if len(node.outputs) > 1 and self.used(node.outputs[1]):
            raise self.fail("its mask output is used.")
        v = self.value(node.inputs[0])
        self.keep_layout(node, v, layer_module().Dropout(rate))

    def op_Cast(self, node: Node, index: int) -> None:
        to = np.dtype(DTYPES.get(int(self.attr("to", 1)), "<f4"))
        v = self.value(node.inputs[0])
        held = np.dtype(_dtype_of(v.tensor) or "float32")
        if to.kind == "f" and held.kind == "f":  # minicnn computes in float32 throughout
            return self.passthrough(node, index)
        y = op_module().cast(v.tensor, "float32" if to.kind == "f" else to.name)
        self.values[node.outputs[0]] = v.like(y)
        return None

    def broadcast_constant(self, c: np.ndarray, v: Value) -> np.ndarray:
        """A constant operand in the layout of the tensor it meets."""
        c = c.astype(np.float32)
        if v.groups is not None:
            return self.folded_constant(c, v)
        if v.order is not None:
            rank = len(v.tensor.sample_shape) + 1
            if c.ndim > rank:
                raise self.fail(f"a constant of rank {c.ndim} meets a tensor of rank {rank}.")
            c = c.reshape((1,) * (rank - c.ndim) + c.shape).transpose(v.order)
        elif v.flat_order is not None and c.ndim and c.shape[-1] > 1:
            c = np.broadcast_to(c, (*c.shape[:-1], v.flat_order.size))[..., v.flat_order]
        sample_rank = len(v.tensor.sample_shape)
        while c.ndim > sample_rank and c.shape[0] == 1:  # the batch axis of the broadcast
            c = c[0]
        if c.ndim > sample_rank and c.shape[0] == self.traced_batch and np.all(c == c[:1]):
            c = c[0]  # the same for every sample of the batch it was traced with
        if c.ndim > sample_rank:
            raise self.fail(f"a constant of shape {c.shape} varies along the batch axis.")
        return np.asarray(c, order="C")  # a 0-d one stays 0-d

    def binary(self, node: Node, operation: str) -> None:
        from .symbolic_arithmetic import OPERATIONS, TensorArithmetic

        names = node.inputs[:2]
        if operation not in OPERATIONS and any(self.is_constant(n) for n in names):
            return self.elementwise(node, operation)  # maximum, minimum: op layers
        if operation == "add" and self.position_embedding(node):
            return
        if operation == "multiply" and self.layer_scale(node):
            return
        constants = [self.is_constant(n) for n in names]
        if constants[0] or constants[1]:
            k = 0 if constants[0] else 1
            c = self.constants[names[k]]
            v = self.with_leading_units(self.value(names[1 - k]), np.ndim(c))
            c = self.broadcast_constant(c, v)
            layer = TensorArithmetic(operation, constant=c, constant_first=k == 0)
            self.values[node.outputs[0]] = v.like(layer([v.tensor]))
            return
        a, b = (self.value(n) for n in names)
        ta, tb, order = self.aligned([a, b])
        merge = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply"}.get(operation)
        merge = merge or {"maximum": "Maximum", "minimum": "Minimum"}.get(operation)
        if merge and tuple(ta.sample_shape) == tuple(tb.sample_shape):
            y = getattr(layer_module(), merge)()([ta, tb])
        elif operation not in OPERATIONS:
            y = getattr(op_module(), operation)(ta, tb)
        else:
            y = TensorArithmetic(operation)([ta, tb])
        self.set(node.outputs[0], y, order=order)

    def common_order(self, vs: list[Value]) -> tuple[int, ...] | None:
        """The layout tensors meet in: the first one's that is not ONNX's own, where all
        have its rank; else ONNX's."""
        ranks = {len(v.tensor.sample_shape) for v in vs}
        held = [v.order for v in vs if v.order is not None and v.flat_order is None]
        return held[0] if held and len(ranks) == 1 else None

    def aligned(self, vs: list[Value]) -> tuple[Any, ...]:
        """The tensors in one layout, and that layout (as Value.order)."""
        vs = self.same_rank(vs)
        order = self.common_order(vs)
        return (*(self.in_order(v, order) for v in vs), order)

    def same_rank(self, vs: list[Value], rank: int = 0) -> list[Value]:
        """Tensors (and constants of ``rank``) broadcast together, each as NumPy broadcasts
        it: of fewer axes, new ones of size 1 before its first."""
        rank = max(rank, *(self.onnx_rank(v) for v in vs))
        return [self.with_leading_units(v, rank) for v in vs]

    def elementwise(self, node: Node, function: str) -> None:
        """An elementwise op of any arity (comparisons, Where), broadcast as NumPy does."""
        tensors = [n for n in node.inputs if not self.is_constant(n)]
        if not tensors:
            raise self.fail("no tensor among its inputs.")
        ranks = [np.ndim(self.constants[n]) for n in node.inputs if self.is_constant(n)]
        vs = self.same_rank([self.value(n) for n in tensors], max(ranks, default=0))
        given = dict(zip(tensors, vs, strict=True))
        order = self.common_order(vs)
        reference = Value(vs[0].tensor, order)
        operands = []
        for name in node.inputs:
            if self.is_constant(name):
                c = self.constants[name]
                if order is not None:
                    c = self.broadcast_constant(c, reference).astype(c.dtype)
                operands.append(c.astype(np.float32) if c.dtype.kind == "f" else c)
            else:
                operands.append(self.in_order(given[name], order))
        self.set(node.outputs[0], getattr(op_module(), function)(*operands), order=order)

    def merged(self, node: Node, merge: str) -> None:
        if merge == "Add" and len(node.inputs) == 2 and self.position_embedding(node):
            return None
        if any(self.is_constant(n) for n in node.inputs):
            raise self.fail("a constant among its inputs.")
        vs = [self.value(n) for n in node.inputs]
        if len(vs) == 1:
            return self.passthrough(node, 0)
        *tensors, order = self.aligned(vs)
        self.set(node.outputs[0], getattr(layer_module(), merge)()(list(tensors)), order=order)
        return None


def _install_simple_ops() -> None:
    """The handlers of the ops that only name a function or layer: op_Relu, op_Add, ..."""
    tables = [
        (_ACTIVATIONS, _Importer.activation),
        (_UNARY, _Importer.unary),
        (_ELEMENTWISE, _Importer.elementwise),
        (_BINARY, _Importer.binary),
        (REDUCTIONS, _Importer.reduce),
        (COMPOSITE_REDUCTIONS, _Importer.reduce),
        ({"Sum": "Add", "Mean": "Average"}, _Importer.merged),  # Keras' merge layers
    ]
    for table, method in tables:
        for op, name in table.items():
            handler = lambda self, node, index, m=method, n=name: m(self, node, n)  # noqa: E731
            setattr(_Importer, f"op_{op}", handler)


_install_simple_ops()


def _einsum_terms(equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """An einsum equation's input terms and result, "..." written out as letters (from
    each operand's rank) and an implicit result made explicit (NumPy's rule)."""
    equation = equation.replace(" ", "")
    inputs, _, result = equation.partition("->")
    terms = inputs.split(",")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    span = max((r - len(t) + 3 for t, r in zip(terms, ranks, strict=True) if "..." in t), default=0)
    ellipsis = "".join(free[:span])
    written = [
        t.replace("...", ellipsis[span - (r - len(t) + 3) :]) if "..." in t else t
        for t, r in zip(terms, ranks, strict=True)
    ]
    if "->" not in equation:  # the letters seen once, in order, after the ellipsis
        letters = "".join(written)
        single = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
        return written, ellipsis + "".join(single)
    return written, result.replace("...", ellipsis)


def _einsum_shape(equation: str, operands: list[Any]) -> list[int]:
    """The per-sample shape of an einsum's result (the batch letter left out)."""
    inputs, result = equation.split("->")
    sizes = {}
    for term, operand in zip(inputs.split(","), operands, strict=True):
        shape = (None, *operand.sample_shape) if hasattr(operand, "layer") else tuple(operand.shape)
        sizes.update(zip(term, shape, strict=True))
    return [sizes[c] for c in result[1:]]


# Layers that move a tensor's entries and keep their type.
_TYPE_KEEPING = {"Reshape", "Permute", "Flatten", "GetItem"}


def _dtype_of(tensor: Any) -> str | None:
    """A symbolic tensor's dtype, where an op made it (a comparison's bool), looked up
    through the layers that only move entries (a mask unsqueezed before its Cast)."""
    while getattr(tensor, "_dtype", None) is None:
        layer = getattr(tensor, "layer", None)
        if type(layer).__name__ not in _TYPE_KEEPING or not getattr(tensor, "inputs", None):
            return None
        tensor = tensor.inputs[0]
    return str(tensor._dtype)


def _layer_name(name: str) -> str:
    """An ONNX name as a layer name: letters, digits and underscores."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return cleaned or "onnx"


def load_onnx(
    path: str | os.PathLike,
    channels_last: bool = False,
    device: str | None = None,
    input_shape: Any = None,
) -> Any:
    """The ONNX model at ``path`` as a minicnn functional model with its weights.

    ``channels_last=True`` makes its image inputs and outputs (rank 3 and more)
    channels-last, (batch, height, width, channels), as minicnn's and Keras' images are;
    by default they keep the file's layout, (batch, channels, height, width) for a PyTorch
    model, so the model takes the same arrays as the original. ``input_shape`` fixes the
    sizes a file leaves open (exported with dynamic height and width): a shape without the
    batch, in the file's layout, or a dict of them by input name. ``device`` is where the
    model runs, as for ``Sequential``."""
    graph = qdq_form(dynamic_qdq_form(read_onnx(path)))
    if graph.opset and graph.opset < 7:
        raise OnnxImportError(f"load_onnx: {path}: opset {graph.opset}; minicnn reads 7 and later.")
    shapes = input_shape
    if shapes is not None and not isinstance(shapes, dict):
        if len(graph.inputs) != 1:
            raise OnnxImportError(
                f"load_onnx: {path} has {len(graph.inputs)} inputs; give input_shape as a "
                "dict of shapes by input name."
            )
        shapes = {graph.inputs[0][0]: shapes}
    model = _Importer(graph, channels_last, shapes).build(graph.name)
    if device is not None:
        model.to(device)
    return model
