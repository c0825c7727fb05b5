"""``minicnn.load_onnx("model.onnx")`` (and ``load_model`` on a ``.onnx`` file): an ONNX
model, e.g. one that ``torch.onnx.export`` wrote, as a minicnn functional model of
trainable layers (Conv2D, Dense, BatchNormalization, ...) with the file's weights, ready
for ``predict``, ``evaluate`` and ``fit``.

ONNX images are channels-first, (N, C, H, W); minicnn's layers work channels-last. Each
tensor is kept in whichever layout its producer made, and moved only where a consumer
needs the other: convolutions, poolings and normalizations take channels-last, elementwise
ops take either, reshapes and matrix products take ONNX's own layout. A Flatten of a
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
from dataclasses import dataclass
from typing import Any

import numpy as np

from .onnx_reading import DTYPES, Graph, Node, read_onnx

BATCH = -(2**40) + 7  # the batch size in shape arithmetic: unknown until the model runs

# ONNX activations that minicnn's Activation layer has, by its name.
_ACTIVATIONS = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "Selu": "selu",
    "Exp": "exponential",
    "HardSwish": "hard_swish",
}
# Elementwise functions of one tensor, as minicnn.ops names them.
_UNARY = {
    "Erf": "erf",
    "Sqrt": "sqrt",
    "Log": "log",
    "Neg": "negative",
    "Abs": "abs",
    "Reciprocal": "reciprocal",
    "Floor": "floor",
    "Ceil": "ceil",
    "Sin": "sin",
    "Cos": "cos",
    "Sign": "sign",
    "Round": "round",
}
# Elementwise functions of two tensors (NumPy broadcasting): TensorArithmetic's operation.
_BINARY = {
    "Add": "add",
    "Sub": "subtract",
    "Mul": "multiply",
    "Div": "divide",
    "Pow": "power",
    "Max": "maximum",
    "Min": "minimum",
}
# Elementwise ops of any arity that take and give any layout, as minicnn.ops names them.
_ELEMENTWISE = {
    "Greater": "greater",
    "Less": "less",
    "GreaterOrEqual": "greater_equal",
    "LessOrEqual": "less_equal",
    "Equal": "equal",
    "Where": "where",
    "Not": "logical_not",
    "And": "logical_and",
    "Or": "logical_or",
}


class OnnxImportError(ValueError):
    """An ONNX model that minicnn can't turn into its layers, with the reason."""


@dataclass
class _Value:
    """A tensor of the ONNX graph as minicnn holds it."""

    tensor: Any
    channels_last: bool = False  # the ONNX value with its channel axis moved last
    flat_order: np.ndarray | None = None  # a flattened channels-last image: ONNX's column
    flat_image: tuple[int, ...] | None = None  # per column, and the image's channels-last shape
    in_onnx_layout: Any = None  # the same tensor in ONNX's layout, once made


def _layers() -> Any:
    from . import layers

    return layers


def _ops() -> Any:
    from . import ops

    return ops


def _to_last(rank: int) -> list[int]:
    """ONNX axes in channels-last order: (0, 2, ..., rank - 1, 1)."""
    return [0, *range(2, rank), 1]


def _cl_axis(axis: int, rank: int) -> int:
    """Where ONNX's axis ``axis`` is in the channels-last tensor."""
    return _to_last(rank).index(axis % rank)


class _Importer:
    def __init__(self, graph: Graph, channels_last: bool) -> None:
        self.graph = graph
        self.channels_last_inputs = channels_last
        self.values: dict[str, _Value] = {}
        self.constants: dict[str, np.ndarray] = {
            k: np.asarray(v) for k, v in graph.constants.items()
        }
        self.consumers: dict[str, int] = {}
        for node in graph.nodes:
            for name in node.inputs:
                self.consumers[name] = self.consumers.get(name, 0) + 1
        for name in graph.outputs:
            self.consumers[name] = self.consumers.get(name, 0) + 1
        self.readers: dict[str, list[int]] = {}  # a value's consumer nodes, by index
        for index, node in enumerate(graph.nodes):
            for name in node.inputs:
                self.readers.setdefault(name, []).append(index)
        self.node: Node | None = None
        self.fused: set[int] = set()  # nodes folded into the one before them
        self.aliased: set[int] = set()  # activations made their layer's own

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

    def constant(self, name: str, what: str) -> np.ndarray:
        if name not in self.constants:
            raise self.fail(f"its {what} must be a constant (an initializer) for minicnn's layers.")
        return self.constants[name]

    def scalar(self, name: str, what: str) -> float:
        c = self.constant(name, what)
        if c.size != 1:
            raise self.fail(f"its {what} must be one number; got shape {c.shape}.")
        return float(c.reshape(-1)[0])

    def optional_constant(self, node: Node, index: int, what: str) -> np.ndarray | None:
        if len(node.inputs) <= index or node.inputs[index] == "":
            return None
        return self.constant(node.inputs[index], what)

    def value(self, name: str) -> _Value:
        if name in self.values:
            return self.values[name]
        raise self.fail(f"its input '{name}' is neither a graph input nor computed before it.")

    def onnx_shape(self, v: _Value) -> tuple[int, ...]:
        """The ONNX value's shape, the batch size as BATCH."""
        shape = (BATCH, *v.tensor.shape)
        if v.channels_last:
            shape = (shape[0], shape[-1], *shape[1:-1])
        return tuple(int(d) if d is not None else BATCH for d in shape)

    def in_onnx_layout(self, v: _Value) -> Any:
        """The tensor in ONNX's own layout."""
        if not v.channels_last and v.flat_order is None:
            return v.tensor
        if v.in_onnx_layout is None:
            L = _layers()
            if v.flat_order is not None:
                if np.array_equal(v.flat_order, np.arange(v.flat_order.size)):
                    v.in_onnx_layout = v.tensor
                else:
                    image = L.Reshape(v.flat_image)(v.tensor)
                    rank = len(v.flat_image) + 1
                    back = L.Permute((rank - 1, *range(1, rank - 1)))(image)
                    v.in_onnx_layout = L.Flatten()(back)
            else:
                shape = tuple(v.tensor.shape)
                if all(d == 1 for d in shape[:-1]):  # no spatial extent: a reshape will do
                    v.in_onnx_layout = L.Reshape((shape[-1], *shape[:-1]))(v.tensor)
                else:
                    rank = len(shape) + 1
                    v.in_onnx_layout = L.Permute((rank - 1, *range(1, rank - 1)))(v.tensor)
        return v.in_onnx_layout

    def in_channels_last(self, v: _Value) -> Any:
        """The tensor channels-last (an image of rank 3 or more)."""
        if v.channels_last:
            return v.tensor
        t = self.in_onnx_layout(v)
        rank = len(t.shape) + 1
        if rank < 3:
            raise self.fail(f"it takes images (batch, channels, ...); got {tuple(t.shape)}.")
        if all(d == 1 for d in t.shape[1:]):
            return _layers().Reshape((*t.shape[1:], t.shape[0]))(t)
        return _layers().Permute((*range(2, rank), 1))(t)

    def set(self, name: str, tensor: Any, channels_last: bool = False, **kw: Any) -> None:
        self.values[name] = _Value(tensor, channels_last, **kw)

    # --- the model -----------------------------------------------------------------------------

    def build(self, name: str) -> Any:
        L = _layers()
        from .models import Model

        inputs = []
        for input_name, shape, dtype in self.graph.inputs:
            if len(shape) < 1:
                raise self.fail(f"input '{input_name}' has no known shape.")
            rest = tuple(d if isinstance(d, int) and d > 0 else None for d in shape[1:])
            if None in rest:
                raise self.fail(
                    f"input '{input_name}' has shape {shape}: minicnn's layers need every axis "
                    "but the batch fixed (export with a fixed size there)."
                )
            last = self.channels_last_inputs and len(shape) >= 3
            if last:
                rest = (*rest[1:], rest[0])
            kind = "float32" if np.dtype(dtype).kind == "f" else dtype
            t = L.Input(shape=rest, dtype=kind, name=_layer_name(input_name))
            inputs.append(t)
            self.set(input_name, t, channels_last=last)
        for node in self.graph.nodes:  # name the first operator minicnn lacks, up front
            if not hasattr(self, f"op_{node.op}") and node.op not in _FOLDED:
                self.node = node
                raise self.fail(
                    "minicnn has no layer for this ONNX operator (README's ONNX section lists "
                    "the ones it reads)."
                )
        for index, node in enumerate(self.graph.nodes):
            if index in self.fused:
                continue
            if index in self.aliased:
                self.values[node.outputs[0]] = self.value(node.inputs[0])
                continue
            self.node = node
            if node.domain not in ("", "ai.onnx"):
                raise self.fail(f"its domain '{node.domain}' is not ONNX's own.")
            if all(self.is_constant(i) for i in node.inputs) and node.op in _FOLDED:
                results = _FOLDED[node.op](self, node, [self.constants.get(i) for i in node.inputs])
                for out, result in zip(node.outputs, results, strict=False):
                    self.constants[out] = np.asarray(result)
                continue
            handler = getattr(self, f"op_{node.op}", None)
            if handler is None:
                raise self.fail(
                    "minicnn has no layer for this ONNX operator (README's ONNX section lists "
                    "the ones it reads)."
                )
            handler(node, index)
        self.node = None
        outputs = []
        for out in self.graph.outputs:
            if out in self.constants:
                raise self.fail(f"output '{out}' is a constant, not computed from the inputs.")
            v = self.value(out)
            last = self.channels_last_inputs and v.channels_last
            outputs.append(v.tensor if last else self.in_onnx_layout(v))
        return Model(
            inputs if len(inputs) > 1 else inputs[0],
            outputs if len(outputs) > 1 else outputs[0],
            name=_layer_name(name),
        )

    # --- convolutions and poolings ---------------------------------------------------------

    def spatial_pads(
        self, sizes: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int]
    ) -> list[int]:
        """ONNX's pads (begins, then ends) with auto_pad resolved."""
        rank = len(kernel)
        auto = self.attr("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = _same_pads(sizes, kernel, strides, dilations)
            if auto == "SAME_LOWER":  # the odd pixel at the start
                pads = pads[rank:] + pads[:rank]
            return pads
        if auto == "VALID":
            return [0] * 2 * rank
        pads = [int(p) for p in self.attr("pads", [0] * 2 * rank)]
        if any(p < 0 for p in pads):
            raise self.fail(f"negative pads {pads} (cropping) are not read.")
        return pads

    def padded(self, x: Any, pads: list[int], fill: float = 0.0) -> Any:
        """x (channels-last) padded by ONNX's pads along its spatial axes."""
        if not any(pads):
            return x
        rank = len(pads) // 2
        widths = tuple(zip(pads[:rank], pads[rank:], strict=True))
        if fill == 0.0:
            layer = {1: "ZeroPadding1D", 2: "ZeroPadding2D", 3: "ZeroPadding3D"}[rank]
            return getattr(_layers(), layer)(widths[0] if rank == 1 else widths)(x)
        return _ops().pad(x, [(0, 0), *widths, (0, 0)], constant_values=fill)

    def padding_of(
        self, x: Any, pads: list[int], kernel: list[int], strides: list[int], dilations: list[int]
    ) -> tuple[Any, str]:
        """Keras' padding for ONNX's pads: 'same' where they are the same, else zeros
        added before a 'valid' layer."""
        sizes = tuple(x.shape[:-1])
        if not any(pads):
            return x, "valid"
        if pads == _same_pads(sizes, kernel, strides, dilations):
            return x, "same"
        return self.padded(x, pads), "valid"

    def op_Conv(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        w = self.constant(node.inputs[1], "kernel").astype(np.float32)
        bias = self.optional_constant(node, 2, "bias")
        rank = w.ndim - 2
        if rank not in (1, 2, 3):
            raise self.fail(f"a {rank}-D convolution; minicnn's are 1-D, 2-D and 3-D.")
        x = self.in_channels_last(v)
        channels = int(x.shape[-1])
        group = int(self.attr("group", 1))
        kernel = [int(k) for k in w.shape[2:]]
        strides = [int(s) for s in self.attr("strides", [1] * rank)]
        dilations = [int(d) for d in self.attr("dilations", [1] * rank)]
        pads = self.spatial_pads(tuple(x.shape[:-1]), kernel, strides, dilations)
        x, padding = self.padding_of(x, pads, kernel, strides, dilations)
        L = _layers()
        common = dict(strides=strides, padding=padding, dilation_rate=dilations)
        common["use_bias"] = bias is not None
        common["activation"] = self.fused_activation(index)
        filters = int(w.shape[0])
        if group == channels and group > 1 and rank in (1, 2) and filters % channels == 0:
            multiplier = filters // channels
            kind = L.DepthwiseConv2D if rank == 2 else L.DepthwiseConv1D
            layer = kind(kernel, depth_multiplier=multiplier, **common)
            # (C * multiplier, 1, *k) -> (*k, C, multiplier)
            keras_kernel = w.reshape(channels, multiplier, *kernel)
            keras_kernel = keras_kernel.transpose(*range(2, rank + 2), 0, 1)
        else:
            kind = {1: L.Conv1D, 2: L.Conv2D, 3: L.Conv3D}[rank]
            layer = kind(filters, kernel, groups=group, **common)
            keras_kernel = w.transpose(*range(2, rank + 2), 1, 0)  # (*k, C / groups, filters)
        y = layer(x)
        layer.set_weights([keras_kernel] + ([bias.astype(np.float32)] if bias is not None else []))
        self.set(node.outputs[0], y, channels_last=True)

    def op_ConvTranspose(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        w = self.constant(node.inputs[1], "kernel").astype(np.float32)
        bias = self.optional_constant(node, 2, "bias")
        rank = w.ndim - 2
        if int(self.attr("group", 1)) != 1:
            raise self.fail("a grouped transposed convolution; minicnn's have one group.")
        if any(int(d) != 1 for d in self.attr("dilations", [1] * rank)):
            raise self.fail("a dilated transposed convolution; minicnn's are not dilated.")
        x = self.in_channels_last(v)
        kernel = [int(k) for k in w.shape[2:]]
        strides = [int(s) for s in self.attr("strides", [1] * rank)]
        extra = [int(p) for p in self.attr("output_padding", [0] * rank)]
        sizes = [int(n) for n in x.shape[:-1]]
        natural = [(n - 1) * s + k for n, s, k in zip(sizes, strides, kernel, strict=True)]
        if self.attr("output_shape") is not None:
            wanted = [int(d) for d in self.attr("output_shape")][-rank:]
            totals = [n + e - o for n, e, o in zip(natural, extra, wanted, strict=True)]
            upper = self.attr("auto_pad", "NOTSET") != "SAME_LOWER"
            pads = [t // 2 if upper else t - t // 2 for t in totals]
            pads += [t - p for t, p in zip(totals, pads, strict=True)]
        elif self.attr("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
            totals = [
                n + e - s * m for n, e, s, m in zip(natural, extra, strides, sizes, strict=True)
            ]
            upper = self.attr("auto_pad") == "SAME_UPPER"
            pads = [t // 2 if upper else t - t // 2 for t in totals]
            pads += [t - p for t, p in zip(totals, pads, strict=True)]
        else:
            pads = [int(p) for p in self.attr("pads", [0] * 2 * rank)]
        L = _layers()
        kind = {1: L.Conv1DTranspose, 2: L.Conv2DTranspose, 3: L.Conv3DTranspose}.get(rank)
        if kind is None:
            raise self.fail(f"a {rank}-D transposed convolution.")
        # Cropped to ONNX's size afterwards: the bias would miss rows output_padding adds
        # past the pads, so then it is added after the cropping instead.
        ends = [pads[rank + a] - extra[a] for a in range(rank)]
        late_bias = bias is not None and any(e < 0 for e in ends)
        with_bias = bias is not None and not late_bias
        layer = kind(int(w.shape[1]), kernel, strides=strides, use_bias=with_bias)
        y = layer(x)
        got = [int(d) for d in y.shape[:-1]]
        if got != natural:
            raise self.fail(f"minicnn's transposed convolution makes {got}, ONNX's {natural}.")
        weights = [w.transpose(*range(2, rank + 2), 1, 0)]  # (C, filters, *k) -> (*k, filters, C)
        if bias is not None and not late_bias:
            weights.append(bias.astype(np.float32))
        layer.set_weights(weights)
        crops = [(pads[a], max(ends[a], 0)) for a in range(rank)]
        if any(b or e for b, e in crops):
            crop = {1: L.Cropping1D, 2: L.Cropping2D, 3: L.Cropping3D}[rank]
            y = crop(crops[0] if rank == 1 else tuple(crops))(y)
        if any(e < 0 for e in ends):
            y = self.padded(y, [0] * rank + [max(-e, 0) for e in ends])
        if late_bias:
            y = _ops().add(y, bias.astype(np.float32))
        self.set(node.outputs[0], y, channels_last=True)

    def pool_geometry(self, x: Any) -> tuple[list[int], list[int], list[int], list[int]]:
        """kernel, strides, ONNX's pads, and the extra end pads that ceil_mode adds."""
        kernel = [int(k) for k in self.attr("kernel_shape")]
        rank = len(kernel)
        strides = [int(s) for s in self.attr("strides", [1] * rank)]
        if any(int(d) != 1 for d in self.attr("dilations", [1] * rank)):
            raise self.fail("a dilated pooling; minicnn's poolings are not dilated.")
        sizes = tuple(int(n) for n in x.shape[:-1])
        pads = self.spatial_pads(sizes, kernel, strides, [1] * rank)
        extra = [0] * rank
        if self.attr("ceil_mode", 0):
            for a in range(rank):
                span = sizes[a] + pads[a] + pads[rank + a] - kernel[a]
                count = -(-span // strides[a]) + 1
                if (count - 1) * strides[a] >= sizes[a] + pads[a]:  # a window all padding
                    count -= 1
                extra[a] = max((count - 1) * strides[a] + kernel[a] - (span + kernel[a]), 0)
        return kernel, strides, pads, extra

    def op_MaxPool(self, node: Node, index: int) -> None:
        if len(node.outputs) > 1 and node.outputs[1] and self.consumers.get(node.outputs[1]):
            raise self.fail("its indices output is used; minicnn's max pooling has none.")
        x = self.in_channels_last(self.value(node.inputs[0]))
        kernel, strides, pads, extra = self.pool_geometry(x)
        rank = len(kernel)
        L = _layers()
        kind = {1: L.MaxPooling1D, 2: L.MaxPooling2D, 3: L.MaxPooling3D}[rank]
        if not any(extra) and pads == _same_pads(tuple(x.shape[:-1]), kernel, strides, [1] * rank):
            y = kind(kernel, strides=strides, padding="same" if any(pads) else "valid")(x)
        else:
            total = [p + (extra[a % rank] if a >= rank else 0) for a, p in enumerate(pads)]
            lowest = float(np.finfo(np.float32).min)  # padding never wins a window
            y = kind(kernel, strides=strides)(self.padded(x, total, fill=lowest))
        self.set(node.outputs[0], y, channels_last=True)

    def op_AveragePool(self, node: Node, index: int) -> None:
        x = self.in_channels_last(self.value(node.inputs[0]))
        kernel, strides, pads, extra = self.pool_geometry(x)
        rank = len(kernel)
        sizes = tuple(int(n) for n in x.shape[:-1])
        L = _layers()
        kind = {1: L.AveragePooling1D, 2: L.AveragePooling2D, 3: L.AveragePooling3D}[rank]
        include_pad = bool(self.attr("count_include_pad", 0))
        if not any(extra) and not any(pads):
            self.set(node.outputs[0], kind(kernel, strides=strides)(x), channels_last=True)
            return
        same = pads == _same_pads(sizes, kernel, strides, [1] * rank)
        if not any(extra) and not include_pad and same:
            y = kind(kernel, strides=strides, padding="same")(x)
            self.set(node.outputs[0], y, channels_last=True)
            return
        # Zeros padded in, a 'valid' average, then each output rescaled from the window's
        # size to the count ONNX divides by: the pixels inside the input (and inside the
        # declared pads with count_include_pad), never those ceil_mode adds.
        total = [p + (extra[a % rank] if a >= rank else 0) for a, p in enumerate(pads)]
        y = kind(kernel, strides=strides)(self.padded(x, total))
        counted = np.ones(sizes, np.float64)
        widths = [(pads[a], pads[rank + a]) for a in range(rank)]
        counted = np.pad(counted, widths, constant_values=1.0 if include_pad else 0.0)
        counted = np.pad(counted, [(0, e) for e in extra])
        counts = _window_sums(counted, kernel, strides)
        scale = (np.prod(kernel) / counts).astype(np.float32)
        if not np.allclose(scale, 1.0):
            y = _ops().multiply(y, scale[..., None])
        self.set(node.outputs[0], y, channels_last=True)

    def global_pool(self, node: Node, average: bool) -> None:
        x = self.in_channels_last(self.value(node.inputs[0]))
        rank = len(x.shape) - 1
        L = _layers()
        name = ("GlobalAveragePooling" if average else "GlobalMaxPooling") + f"{rank}D"
        y = getattr(L, name)(keepdims=True)(x)
        self.set(node.outputs[0], y, channels_last=True)

    def op_GlobalAveragePool(self, node: Node, index: int) -> None:
        self.global_pool(node, True)

    def op_GlobalMaxPool(self, node: Node, index: int) -> None:
        self.global_pool(node, False)

    # --- normalizations ----------------------------------------------------------------------

    def op_BatchNormalization(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        gamma, beta, mean, variance = (
            self.constant(node.inputs[i], what).astype(np.float32)
            for i, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance"))
        )
        rank = len(v.tensor.shape) + 1
        x = self.in_channels_last(v) if rank >= 3 else self.in_onnx_layout(v)
        layer = _layers().BatchNormalization(
            axis=-1,
            epsilon=float(self.attr("epsilon", 1e-5)),
            momentum=float(self.attr("momentum", 0.9)),
        )
        y = layer(x)
        layer.set_weights([gamma, beta, mean, variance])
        self.set(node.outputs[0], y, channels_last=rank >= 3)

    def op_InstanceNormalization(self, node: Node, index: int) -> None:
        x = self.in_channels_last(self.value(node.inputs[0]))
        gamma = self.constant(node.inputs[1], "scale").astype(np.float32)
        beta = self.constant(node.inputs[2], "bias").astype(np.float32)
        channels = int(x.shape[-1])
        layer = _layers().GroupNormalization(
            groups=channels, epsilon=float(self.attr("epsilon", 1e-5))
        )
        y = layer(x)
        layer.set_weights([gamma, beta])
        self.set(node.outputs[0], y, channels_last=True)

    def op_LayerNormalization(self, node: Node, index: int) -> None:
        x = self.in_onnx_layout(self.value(node.inputs[0]))
        rank = len(x.shape) + 1
        axis = int(self.attr("axis", -1)) % rank
        if axis == 0:
            raise self.fail("it normalizes across the batch.")
        shape = tuple(int(d) for d in x.shape[axis - 1 :])
        gamma = self.constant(node.inputs[1], "scale").astype(np.float32)
        beta = self.optional_constant(node, 2, "bias")
        layer = _layers().LayerNormalization(
            axis=list(range(axis, rank)) if axis < rank - 1 else -1,
            epsilon=float(self.attr("epsilon", 1e-5)),
            center=beta is not None,
        )
        y = layer(x)
        weights = [np.broadcast_to(gamma, shape).astype(np.float32)]
        if beta is not None:
            weights.append(np.broadcast_to(beta, shape).astype(np.float32))
        expected = [tuple(w.shape) for w in layer.get_weights()]
        layer.set_weights([w.reshape(e) for w, e in zip(weights, expected, strict=True)])
        if len(node.outputs) > 1 and any(self.consumers.get(o) for o in node.outputs[1:]):
            raise self.fail("its mean and inverse deviation outputs are used.")
        self.set(node.outputs[0], y)

    # --- dense layers and matrix products ----------------------------------------------------

    def dense(
        self, node: Node, v: _Value, kernel: np.ndarray, bias: np.ndarray | None, index: int
    ) -> None:
        if v.flat_order is not None:  # the kernel takes the columns in minicnn's order
            x, kernel = v.tensor, kernel[v.flat_order]
        else:
            x = self.in_onnx_layout(v)
        if int(x.shape[-1]) != kernel.shape[0]:
            raise self.fail(f"its input has {x.shape[-1]} features, its weights {kernel.shape[0]}.")
        layer = _layers().Dense(
            int(kernel.shape[1]), use_bias=bias is not None, activation=self.fused_activation(index)
        )
        y = layer(x)
        weights = [kernel.astype(np.float32)]
        if bias is not None:
            weights.append(np.broadcast_to(bias, (kernel.shape[1],)).astype(np.float32))
        layer.set_weights(weights)
        self.set(node.outputs[0], y)

    def op_Gemm(self, node: Node, index: int) -> None:
        if self.attr("transA", 0) or not self.is_constant(node.inputs[1]):
            return self.matmul_of(node, transposed=bool(self.attr("transA", 0)))
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

    def matmul_of(self, node: Node, transposed: bool = False) -> None:
        ops = _ops()
        a, b = (self.operand(name) for name in node.inputs[:2])
        if transposed:
            a = ops.transpose(a)
        y = ops.matmul(a, b)
        if node.op == "Gemm" and len(node.inputs) > 2 and node.inputs[2]:
            scaled = ops.multiply(y, float(self.attr("alpha", 1.0)))
            y = ops.add(scaled, ops.multiply(self.operand(node.inputs[2]), self.attr("beta", 1.0)))
        self.set(node.outputs[0], y)

    def operand(self, name: str) -> Any:
        """A constant as its array, a value in ONNX's layout."""
        if name in self.constants:
            return self.constants[name].astype(np.float32)
        return self.in_onnx_layout(self.value(name))

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
        if self.consumers.get(out) != 1 or index + 1 >= len(self.graph.nodes):
            return None, None
        after = self.graph.nodes[index + 1]
        if after.op != "Add" or out not in after.inputs or len(after.inputs) != 2:
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
        layer = layer_of if layer_of is not None else _layers().Activation(name)
        self.keep_layout(node, v, layer)

    def keep_layout(self, node: Node, v: _Value, layer: Any) -> None:
        """An elementwise layer, applied in whatever layout its input is in."""
        self.values[node.outputs[0]] = _Value(
            layer(v.tensor), v.channels_last, v.flat_order, v.flat_image
        )

    def op_LeakyRelu(self, node: Node, index: int) -> None:
        alpha = float(self.attr("alpha", 0.01))
        self.activation(node, "leaky_relu", _layers().LeakyReLU(negative_slope=alpha))

    def op_Elu(self, node: Node, index: int) -> None:
        alpha = float(self.attr("alpha", 1.0))
        if alpha == 1.0:
            return self.activation(node, "elu")
        return self.activation(node, "elu", _layers().ELU(alpha=alpha))

    def op_Gelu(self, node: Node, index: int) -> None:
        if self.attr("approximate", "none") == "tanh":
            from . import activations

            layer = _layers().Activation(lambda x: activations.gelu(x, approximate=True))
            return self.activation(node, "gelu", layer)
        return self.activation(node, "gelu")

    def op_HardSigmoid(self, node: Node, index: int) -> None:
        alpha, beta = float(self.attr("alpha", 0.2)), float(self.attr("beta", 0.5))
        if not (math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5):
            v = self.value(node.inputs[0])
            ops = _ops()
            y = ops.clip(ops.add(ops.multiply(v.tensor, alpha), beta), 0.0, 1.0)
            self.values[node.outputs[0]] = _Value(y, v.channels_last, v.flat_order, v.flat_image)
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
            return self.activation(node, "relu", _layers().ReLU(max_value=high))
        lo = -np.inf if low is None else low
        hi = np.inf if high is None else high
        y = _ops().clip(v.tensor, lo, hi)
        self.values[node.outputs[0]] = _Value(y, v.channels_last, v.flat_order, v.flat_image)
        return None

    def unary(self, node: Node, function: str) -> None:
        v = self.value(node.inputs[0])
        y = getattr(_ops(), function)(v.tensor)
        self.values[node.outputs[0]] = _Value(y, v.channels_last, v.flat_order, v.flat_image)

    def passthrough(self, node: Node, index: int) -> None:
        self.values[node.outputs[0]] = self.value(node.inputs[0])

    op_Identity = passthrough

    def op_Dropout(self, node: Node, index: int) -> None:
        has_ratio = len(node.inputs) > 1 and node.inputs[1] != ""
        rate = self.scalar(node.inputs[1], "ratio") if has_ratio else float(self.attr("ratio", 0.5))
        if len(node.outputs) > 1 and node.outputs[1] and self.consumers.get(node.outputs[1]):
            raise self.fail("its mask output is used.")
        v = self.value(node.inputs[0])
        self.keep_layout(node, v, _layers().Dropout(rate))

    def op_Cast(self, node: Node, index: int) -> None:
        to = np.dtype(DTYPES.get(int(self.attr("to", 1)), "<f4"))
        v = self.value(node.inputs[0])
        if to.kind == "f":
            return self.passthrough(node, index)
        y = _ops().cast(v.tensor, to.name)
        self.values[node.outputs[0]] = _Value(y, v.channels_last, v.flat_order, v.flat_image)
        return None

    def broadcast_constant(self, c: np.ndarray, v: _Value) -> np.ndarray:
        """A constant operand in the layout of the tensor it meets."""
        c = c.astype(np.float32)
        if v.channels_last:
            rank = len(v.tensor.shape) + 1
            if c.ndim > rank:
                raise self.fail(f"a constant of rank {c.ndim} meets a tensor of rank {rank}.")
            c = c.reshape((1,) * (rank - c.ndim) + c.shape).transpose(_to_last(rank))
        elif v.flat_order is not None and c.ndim and c.shape[-1] > 1:
            c = np.broadcast_to(c, (*c.shape[:-1], v.flat_order.size))[..., v.flat_order]
        sample_rank = len(v.tensor.shape)
        while c.ndim > sample_rank and c.shape[0] == 1:  # the batch axis of the broadcast
            c = c[0]
        if c.ndim > sample_rank:
            raise self.fail(f"a constant of shape {c.shape} varies along the batch axis.")
        return np.ascontiguousarray(c)

    def binary(self, node: Node, operation: str) -> None:
        from .symbolic_arithmetic import TensorArithmetic

        names = node.inputs[:2]
        constants = [self.is_constant(n) for n in names]
        if constants[0] or constants[1]:
            k = 0 if constants[0] else 1
            v = self.value(names[1 - k])
            c = self.broadcast_constant(self.constants[names[k]], v)
            layer = TensorArithmetic(operation, constant=c, constant_first=k == 0)
            self.values[node.outputs[0]] = _Value(
                layer([v.tensor]), v.channels_last, v.flat_order, v.flat_image
            )
            return
        a, b = (self.value(n) for n in names)
        ta, tb, last = self.aligned([a, b])
        merge = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply"}.get(operation)
        merge = merge or {"maximum": "Maximum", "minimum": "Minimum"}.get(operation)
        if merge and tuple(ta.shape) == tuple(tb.shape):
            y = getattr(_layers(), merge)()([ta, tb])
        else:
            y = TensorArithmetic(operation)([ta, tb])
        self.set(node.outputs[0], y, channels_last=last)

    def aligned(self, vs: list[_Value]) -> tuple[Any, ...]:
        """The tensors in one layout: channels-last where any is and all have its rank."""
        ranks = {len(v.tensor.shape) for v in vs}
        last = any(v.channels_last for v in vs) and len(ranks) == 1 and min(ranks) >= 2
        if last:
            return (*(self.in_channels_last(v) for v in vs), True)
        return (*(self.in_onnx_layout(v) for v in vs), False)

    def elementwise(self, node: Node, function: str) -> None:
        """An elementwise op of any arity (comparisons, Where), broadcast as NumPy does."""
        vs = [self.value(n) for n in node.inputs if not self.is_constant(n)]
        if not vs:
            raise self.fail("no tensor among its inputs.")
        ranks = {len(v.tensor.shape) for v in vs}
        last = any(v.channels_last for v in vs) and len(ranks) == 1 and min(ranks) >= 2
        reference = next((v for v in vs if v.channels_last), None)
        operands = []
        for name in node.inputs:
            if self.is_constant(name):
                c = self.constants[name]
                if last:
                    c = self.broadcast_constant(c, reference).astype(c.dtype)
                operands.append(c.astype(np.float32) if c.dtype.kind == "f" else c)
            else:
                v = self.values[name]
                operands.append(self.in_channels_last(v) if last else self.in_onnx_layout(v))
        self.set(node.outputs[0], getattr(_ops(), function)(*operands), channels_last=last)

    def op_Sum(self, node: Node, index: int) -> None:
        self.merged(node, "Add")

    def op_Mean(self, node: Node, index: int) -> None:
        self.merged(node, "Average")

    def merged(self, node: Node, merge: str) -> None:
        if any(self.is_constant(n) for n in node.inputs):
            raise self.fail("a constant among its inputs.")
        vs = [self.value(n) for n in node.inputs]
        if len(vs) == 1:
            return self.passthrough(node, 0)
        *tensors, last = self.aligned(vs)
        self.set(node.outputs[0], getattr(_layers(), merge)()(list(tensors)), channels_last=last)
        return None

    # --- axes ------------------------------------------------------------------------------

    def op_Softmax(self, node: Node, index: int, log: bool = False) -> None:
        v = self.value(node.inputs[0])
        rank = len(v.tensor.shape) + 1
        default = -1 if self.graph.opset >= 13 else 1
        axis = int(self.attr("axis", default)) % rank
        if self.graph.opset < 13 and axis != rank - 1:
            raise self.fail("a softmax over flattened trailing axes (opset < 13); only the last.")
        if axis == 0:
            raise self.fail("a softmax across the batch.")
        if v.channels_last:
            x, axis = v.tensor, _cl_axis(axis, rank)
        else:
            x = self.in_onnx_layout(v)
        ops = _ops()
        if log:
            y = ops.log_softmax(x, axis=axis)
        elif axis == rank - 1:
            y = _layers().Softmax(axis=-1)(x)
        else:
            y = ops.softmax(x, axis=axis)
        self.set(node.outputs[0], y, channels_last=v.channels_last)

    def op_LogSoftmax(self, node: Node, index: int) -> None:
        self.op_Softmax(node, index, log=True)

    def axes_of(self, node: Node, position: int = 1) -> list[int] | None:
        """An op's axes: its attribute (older opsets) or its input (newer ones)."""
        if "axes" in node.attrs:
            return [int(a) for a in node.attrs["axes"]]
        if len(node.inputs) > position and node.inputs[position]:
            return [int(a) for a in np.ravel(self.constant(node.inputs[position], "axes"))]
        return None

    def reduce(self, node: Node, function: str) -> None:
        v = self.value(node.inputs[0])
        rank = len(v.tensor.shape) + 1
        axes = self.axes_of(node)
        keepdims = bool(self.attr("keepdims", 1))
        if axes is None or not axes:
            if self.attr("noop_with_empty_axes", 0):
                return self.passthrough(node, 0)
            axes = list(range(rank))
        axes = sorted({a % rank for a in axes})
        if 0 in axes:
            raise self.fail("it reduces across the batch.")
        L = _layers()
        if v.channels_last and axes == list(range(2, rank)) and function in ("mean", "max"):
            kind = "GlobalAveragePooling" if function == "mean" else "GlobalMaxPooling"
            y = getattr(L, f"{kind}{rank - 2}D")(keepdims=keepdims)(v.tensor)
            self.set(node.outputs[0], y, channels_last=keepdims)
            return None
        if v.channels_last and keepdims:
            mapped = tuple(_cl_axis(a, rank) for a in axes)
            y = getattr(_ops(), function)(v.tensor, axis=mapped, keepdims=True)
            self.set(node.outputs[0], y, channels_last=True)
            return None
        x = self.in_onnx_layout(v)
        y = getattr(_ops(), function)(x, axis=tuple(axes), keepdims=keepdims)
        self.set(node.outputs[0], y)
        return None

    def op_ReduceMean(self, node: Node, index: int) -> None:
        self.reduce(node, "mean")

    def op_ReduceMax(self, node: Node, index: int) -> None:
        self.reduce(node, "max")

    def op_ReduceMin(self, node: Node, index: int) -> None:
        self.reduce(node, "min")

    def op_ReduceSum(self, node: Node, index: int) -> None:
        self.reduce(node, "sum")

    def op_Concat(self, node: Node, index: int) -> None:
        if any(self.is_constant(n) for n in node.inputs):
            raise self.fail("a constant among the tensors it joins.")
        vs = [self.value(n) for n in node.inputs]
        rank = len(vs[0].tensor.shape) + 1
        axis = int(self.attr("axis")) % rank
        if axis == 0:
            raise self.fail("it joins along the batch axis.")
        *tensors, last = self.aligned(vs)
        mapped = _cl_axis(axis, rank) if last else axis
        y = _layers().Concatenate(axis=mapped)(list(tensors))
        self.set(node.outputs[0], y, channels_last=last)

    # --- shapes --------------------------------------------------------------------------------

    def op_Shape(self, node: Node, index: int) -> None:
        shape = np.array(self.onnx_shape(self.value(node.inputs[0])), np.int64)
        start, end = self.attr("start", 0), self.attr("end")
        self.constants[node.outputs[0]] = shape[start:end]

    def op_Size(self, node: Node, index: int) -> None:
        raise self.fail("the element count depends on the batch size.")

    def batch_target(self, target: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A Reshape's target without the batch axis (which it must keep)."""
        allow_zero = bool(self.attr("allowzero", 0))
        target = [int(t) for t in target]
        resolved = [
            shape[i] if t == 0 and not allow_zero and i < len(shape) else t
            for i, t in enumerate(target)
        ]
        first, rest = resolved[0], resolved[1:]
        known = int(np.prod([d for d in shape[1:]]))
        keeps_batch = first == BATCH or (
            first == -1 and -1 not in rest and int(np.prod(rest)) == known
        )
        if not keeps_batch and first > 0 and -1 in rest:
            keeps_batch = True  # the batch size PyTorch traced with, e.g. view(1, -1)
        if not keeps_batch and first > 0 and int(np.prod(rest)) == known:
            keeps_batch = True
        if not keeps_batch or any(d == BATCH for d in rest):
            raise self.fail(f"it reshapes to {target}, which does not keep the batch axis.")
        return tuple(rest)

    def op_Reshape(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        target = self.batch_target(self.constant(node.inputs[1], "shape"), self.onnx_shape(v))
        self.reshaped(node, v, target)

    def reshaped(self, node: Node, v: _Value, target: tuple[int, ...]) -> None:
        L = _layers()
        features = int(np.prod(v.tensor.shape))
        if len(target) == 1 and target[0] in (-1, features):
            if v.flat_order is not None or len(v.tensor.shape) == 1:
                return self.passthrough(node, 0)
            if v.channels_last:  # flattened channels-last; the order is remembered
                image = tuple(int(d) for d in v.tensor.shape)
                order = np.arange(features).reshape(image[-1], *image[:-1])
                order = order.transpose(*range(1, len(image)), 0).reshape(-1)
                self.set(node.outputs[0], L.Flatten()(v.tensor), flat_order=order, flat_image=image)
                return None
            self.set(node.outputs[0], L.Flatten()(self.in_onnx_layout(v)))
            return None
        self.set(node.outputs[0], L.Reshape(target)(self.in_onnx_layout(v)))
        return None

    def op_Flatten(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        axis = int(self.attr("axis", 1)) % max(len(shape), 1)
        if axis == 0:
            raise self.fail("axis 0 merges the batch into the features.")
        target = (int(np.prod(shape[1:axis])), -1) if axis > 1 else (-1,)
        self.reshaped(node, v, target)

    def op_Squeeze(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        axes = self.axes_of(node)
        if axes is None:
            axes = [a for a, d in enumerate(shape) if d == 1]
        axes = {a % len(shape) for a in axes}
        if 0 in axes:
            raise self.fail("it squeezes the batch axis.")
        self.reshaped(node, v, tuple(d for a, d in enumerate(shape) if a not in axes and a))

    def op_Unsqueeze(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = list(self.onnx_shape(v))
        axes = sorted(a % (len(shape) + len(self.axes_of(node))) for a in self.axes_of(node))
        if 0 in axes:
            raise self.fail("it adds an axis before the batch axis.")
        for a in axes:
            shape.insert(a, 1)
        self.reshaped(node, v, tuple(shape[1:]))

    def op_Transpose(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        rank = len(v.tensor.shape) + 1
        perm = [int(p) for p in self.attr("perm", list(range(rank))[::-1])]
        if perm[0] != 0:
            raise self.fail(f"it moves the batch axis (perm {perm}).")
        if perm == list(range(rank)):
            return self.passthrough(node, index)
        if v.channels_last and perm == _to_last(rank):
            # ONNX moves channels last: exactly the tensor minicnn already holds.
            self.set(node.outputs[0], v.tensor)
            return None
        if not v.channels_last and v.flat_order is None and rank >= 3:
            if perm == [0, rank - 1, *range(1, rank - 1)]:  # channels-last to -first: free
                self.set(node.outputs[0], v.tensor, channels_last=True)
                return None
        y = _layers().Permute(tuple(perm[1:]))(self.in_onnx_layout(v))
        self.set(node.outputs[0], y)
        return None

    def op_Slice(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        rank = len(shape)
        if len(node.inputs) > 1:
            starts = np.ravel(self.constant(node.inputs[1], "starts"))
            ends = np.ravel(self.constant(node.inputs[2], "ends"))
            axes = self.axes_of(node, 3)
            steps = self.optional_constant(node, 4, "steps")
        else:
            starts, ends = self.attr("starts"), self.attr("ends")
            axes, steps = self.attr("axes"), None
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else np.ravel(steps)
        cuts = [slice(None)] * rank
        for a, b, e, s in zip(axes, starts, ends, steps, strict=True):
            a = int(a) % rank
            b, e, s = int(b), int(e), int(s)
            cut = slice(b, None if abs(e) >= 2**62 else e, s)  # INT64_MAX/MIN: to the end
            if a == 0:
                if b != 0 or s != 1 or (cut.stop is not None and e != BATCH):
                    raise self.fail("it slices the batch axis.")
                continue
            cuts[a] = cut
        if v.channels_last:
            order = _to_last(rank)
            y = v.tensor[tuple(cuts[a] for a in order)]
        else:
            y = self.in_onnx_layout(v)[tuple(cuts)]
        self.set(node.outputs[0], y, channels_last=v.channels_last)

    def op_Split(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        axis = int(self.attr("axis", 0)) % len(shape)
        if axis == 0:
            raise self.fail("it splits the batch axis.")
        if len(node.inputs) > 1 and node.inputs[1]:
            parts = [int(p) for p in np.ravel(self.constant(node.inputs[1], "split"))]
        elif self.attr("split") is not None:
            parts = [int(p) for p in self.attr("split")]
        else:  # equal parts, the last one smaller (opset 18's num_outputs)
            count = len(node.outputs)
            each = -(-shape[axis] // count)
            parts = [min(each, shape[axis] - i * each) for i in range(count)]
        if sum(parts) != shape[axis] or len(parts) != len(node.outputs):
            raise self.fail(f"parts {parts} do not split an axis of {shape[axis]}.")
        start = 0
        for out, size in zip(node.outputs, parts, strict=True):
            cuts = [slice(None)] * len(shape)
            cuts[axis] = slice(start, start + size)
            start += size
            if v.channels_last:
                y = v.tensor[tuple(cuts[a] for a in _to_last(len(shape)))]
            else:
                y = self.in_onnx_layout(v)[tuple(cuts)]
            self.set(out, y, channels_last=v.channels_last)

    def op_Gather(self, node: Node, index: int) -> None:
        if self.is_constant(node.inputs[0]):  # a table looked up by the ids: an Embedding
            table = self.constants[node.inputs[0]].astype(np.float32)
            if table.ndim != 2 or int(self.attr("axis", 0)) != 0:
                raise self.fail("a constant gathered along an axis other than its rows.")
            ids = self.in_onnx_layout(self.value(node.inputs[1]))
            layer = _layers().Embedding(table.shape[0], table.shape[1])
            y = layer(ids)
            layer.set_weights([table])
            self.set(node.outputs[0], y)
            return
        v = self.value(node.inputs[0])
        indices = self.constant(node.inputs[1], "indices")
        rank = len(v.tensor.shape) + 1
        axis = int(self.attr("axis", 0)) % rank
        if axis == 0:
            raise self.fail("it gathers along the batch axis.")
        y = _ops().take(self.in_onnx_layout(v), indices.astype(np.int64), axis=axis)
        self.set(node.outputs[0], y)

    def op_Pad(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        rank = len(v.tensor.shape) + 1
        if len(node.inputs) > 1 and node.inputs[1]:
            pads = [int(p) for p in np.ravel(self.constant(node.inputs[1], "pads"))]
        else:
            pads = [int(p) for p in self.attr("pads")]
        fill = self.optional_constant(node, 2, "value")
        fill = float(fill) if fill is not None and np.size(fill) else float(self.attr("value", 0.0))
        axes = self.axes_of(node, 3) if len(node.inputs) > 3 else None
        full = [0] * 2 * rank
        axes = list(range(rank)) if axes is None else [a % rank for a in axes]
        for i, a in enumerate(axes):
            full[a], full[rank + a] = pads[i], pads[len(axes) + i]
        if any(p < 0 for p in full):
            raise self.fail("negative pads (cropping).")
        if full[0] or full[rank]:
            raise self.fail("it pads the batch axis.")
        mode = self.attr("mode", "constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in ("constant", "reflect", "edge", "wrap"):
            raise self.fail(f"pad mode {mode!r}; minicnn reads constant, reflect, edge and wrap.")
        if rank >= 3 and not full[1] and not full[rank + 1]:
            x = self.in_channels_last(v)
            spatial = full[2:rank] + full[rank + 2 :]
            if mode == "constant":
                y = self.padded(x, spatial, fill)
            else:
                widths = [(0, 0), *zip(full[2:rank], full[rank + 2 :], strict=True), (0, 0)]
                y = _ops().pad(x, widths, mode=mode)
            self.set(node.outputs[0], y, channels_last=True)
            return
        widths = list(zip(full[:rank], full[rank:], strict=True))
        x = self.in_onnx_layout(v)
        if mode == "constant":
            y = _ops().pad(x, widths, constant_values=fill)
        else:
            y = _ops().pad(x, widths, mode=mode)
        self.set(node.outputs[0], y)

    def resize_sizes(self, node: Node, shape: tuple[int, ...]) -> list[int]:
        """Resize's (or Upsample's) output shape, from its scales or its sizes."""

        def given(position: int) -> np.ndarray | None:
            if len(node.inputs) > position and node.inputs[position]:
                found = np.ravel(self.constant(node.inputs[position], "scales or sizes"))
                return found if found.size else None
            return None

        if node.op == "Upsample":
            scales = given(1) if len(node.inputs) > 1 else np.array(self.attr("scales"))
            sizes = None
        else:
            scales = given(1 if self.graph.opset < 11 else 2)
            sizes = given(3)
        axes = self.attr("axes")
        if axes is not None:  # opset 18: scales or sizes of these axes only
            full = np.array(shape if sizes is not None else [1.0] * len(shape), np.float64)
            full[[int(a) % len(shape) for a in axes]] = sizes if sizes is not None else scales
            sizes, scales = (full, None) if sizes is not None else (None, full)
        if sizes is not None:
            return [shape[0], *(int(d) for d in sizes[1:])]
        if scales is None:
            raise self.fail("neither scales nor sizes.")
        if scales[0] != 1:
            raise self.fail(f"scales {list(scales)} resize the batch axis.")
        pairs = zip(shape[1:], scales[1:], strict=True)
        return [shape[0], *(int(math.floor(n * f)) for n, f in pairs)]

    def op_Resize(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        if len(shape) != 4:
            raise self.fail("a resize of other than images (batch, channels, height, width).")
        sizes = self.resize_sizes(node, shape)
        changed = {a for a in range(1, 4) if sizes[a] != shape[a]}
        if changed <= {2, 3}:  # ONNX's own (batch, channels, height, width)
            x, last, before, after = self.in_channels_last(v), True, shape[2:], sizes[2:]
        elif changed <= {1, 2} and not v.channels_last:  # (batch, height, width, channels)
            x, last, before, after = self.in_onnx_layout(v), False, shape[1:3], sizes[1:3]
        else:
            raise self.fail(f"it resizes {shape} to {sizes}: not the height and width alone.")
        mode = self.attr("mode", "nearest")
        default = "half_pixel" if node.op == "Resize" and self.graph.opset >= 11 else "asymmetric"
        transform = self.attr("coordinate_transformation_mode", default)
        nearest = self.attr("nearest_mode", "round_prefer_floor")
        height, width = after
        factors = (height / before[0], width / before[1])
        whole = all(f == int(f) and f >= 1 for f in factors)
        if self.attr("antialias", 0) and (height < before[0] or width < before[1]):
            raise self.fail("antialiased downscaling.")
        L = _layers()
        old = node.op == "Upsample" or self.graph.opset < 11
        picks_floor = (old or transform == "asymmetric") and (old or nearest == "floor")
        centred = transform in ("half_pixel", "pytorch_half_pixel") and nearest.startswith("round")
        if mode == "nearest" and whole and (picks_floor or centred):
            # At whole factors both rules pick pixel floor(i / f), as UpSampling2D does.
            y = L.UpSampling2D(size=tuple(int(f) for f in factors), interpolation="nearest")(x)
        elif mode in ("linear", "bilinear") and (
            transform == "half_pixel" or (transform == "pytorch_half_pixel" and min(after) > 1)
        ):
            if whole:
                y = L.UpSampling2D(size=tuple(int(f) for f in factors), interpolation="bilinear")(x)
            else:
                y = L.Resizing(height, width, interpolation="bilinear")(x)
        elif mode == "nearest" and transform == "half_pixel" and nearest == "round_prefer_ceil":
            y = L.Resizing(height, width, interpolation="nearest")(x)  # TensorFlow's rule
        else:
            raise self.fail(
                f"mode {mode!r} with coordinate_transformation_mode {transform!r}"
                + (f" and nearest_mode {nearest!r}" if mode == "nearest" else "")
                + "; minicnn reads nearest (floor) at whole factors and linear (half_pixel): "
                "PyTorch's Upsample(mode='nearest') and 'bilinear' with align_corners=False."
            )
        self.set(node.outputs[0], y, channels_last=last)

    op_Upsample = op_Resize

    def op_Constant(self, node: Node, index: int) -> None:
        self.constants[node.outputs[0]] = _constant_node(node)


def _install_simple_ops() -> None:
    """The handlers of the ops that only name a function: op_Relu, op_Erf, op_Add, ..."""
    tables = [
        (_ACTIVATIONS, _Importer.activation),
        (_UNARY, _Importer.unary),
        (_ELEMENTWISE, _Importer.elementwise),
        (_BINARY, _Importer.binary),
    ]
    for table, method in tables:
        for op, name in table.items():
            handler = lambda self, node, index, m=method, n=name: m(self, node, n)  # noqa: E731
            setattr(_Importer, f"op_{op}", handler)


_install_simple_ops()


def _constant_node(node: Node) -> np.ndarray:
    attrs = node.attrs
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            value = attrs[key]
            if key == "value_float":
                return np.float32(value)
            if key in ("value_int", "value_ints"):
                return np.asarray(value, np.int64)
            return np.asarray(value, np.float32) if key == "value_floats" else np.asarray(value)
    raise OnnxImportError(f"load_onnx: Constant node '{node.name}' has no value read here.")


def _same_pads(
    sizes: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int]
) -> list[int]:
    """Keras' 'same' padding (the odd pixel at the end) as ONNX's pads."""
    from .onnx_export import _same_pads as same

    return same(tuple(sizes), tuple(kernel), tuple(strides), tuple(dilations))


def _window_sums(a: np.ndarray, kernel: list[int], strides: list[int]) -> np.ndarray:
    """The sum of each pooling window of ``a`` (no padding)."""
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(a, tuple(kernel))
    cut = tuple(slice(None, None, s) for s in strides)
    return windows[cut].sum(axis=tuple(range(-len(kernel), 0)))


def _layer_name(name: str) -> str:
    """An ONNX name as a layer name: letters, digits and underscores."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return cleaned or "onnx"


# --- shape arithmetic on constants --------------------------------------------------------------


def _fold_binary(function: Any) -> Any:
    return lambda imp, node, xs: [function(xs[0], xs[1])]


def _fold_unsqueeze(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    x = xs[0]
    axes = node.attrs.get("axes") if "axes" in node.attrs else np.ravel(xs[1]).tolist()
    rank = x.ndim + len(axes)
    for a in sorted(int(a) % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


def _fold_squeeze(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    axes = (
        node.attrs.get("axes")
        if "axes" in node.attrs
        else (np.ravel(xs[1]).tolist() if len(xs) > 1 and xs[1] is not None else None)
    )
    return [np.squeeze(xs[0], axis=None if axes is None else tuple(int(a) for a in axes))]


def _fold_slice(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    x = xs[0]
    if len(xs) > 1:
        starts, ends = np.ravel(xs[1]), np.ravel(xs[2])
        axes = np.ravel(xs[3]) if len(xs) > 3 and xs[3] is not None else range(len(starts))
        steps = np.ravel(xs[4]) if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    else:
        starts, ends = node.attrs["starts"], node.attrs["ends"]
        axes = node.attrs.get("axes", range(len(starts)))
        steps = [1] * len(starts)
    cuts = [slice(None)] * x.ndim
    for a, b, e, s in zip(axes, starts, ends, steps, strict=False):
        cuts[int(a)] = slice(int(b), int(e) if abs(int(e)) < 2**62 else None, int(s))
    return [x[tuple(cuts)]]


def _fold_reshape(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    target = [int(t) for t in np.ravel(xs[1])]
    target = [xs[0].shape[i] if t == 0 else t for i, t in enumerate(target)]
    return [xs[0].reshape(target)]


def _fold_cast(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    return [xs[0].astype(np.dtype(DTYPES.get(int(node.attrs.get("to", 1)), "<f4")))]


def _fold_constant_of_shape(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    value = node.attrs.get("value")
    fill = np.zeros(1, np.float32) if value is None else np.ravel(value)
    return [np.full([int(d) for d in np.ravel(xs[0])], fill[0], fill.dtype)]


def _fold_gather(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    return [np.take(xs[0], xs[1].astype(np.int64), axis=int(node.attrs.get("axis", 0)))]


def _fold_concat(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    return [np.concatenate([np.atleast_1d(x) for x in xs], axis=int(node.attrs.get("axis", 0)))]


def _fold_where(imp: _Importer, node: Node, xs: list[Any]) -> list[Any]:
    return [np.where(xs[0], xs[1], xs[2])]


def _integer_division(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return np.trunc(a / b).astype(np.result_type(a, b))
    return a / b


_FOLDED: dict[str, Any] = {
    "Identity": lambda imp, node, xs: [xs[0]],
    "Shape": lambda imp, node, xs: [
        np.array(xs[0].shape, np.int64)[node.attrs.get("start", 0) : node.attrs.get("end")]
    ],
    "Unsqueeze": _fold_unsqueeze,
    "Squeeze": _fold_squeeze,
    "Concat": _fold_concat,
    "Gather": _fold_gather,
    "Slice": _fold_slice,
    "Reshape": _fold_reshape,
    "Cast": _fold_cast,
    "ConstantOfShape": _fold_constant_of_shape,
    "Where": _fold_where,
    "Add": _fold_binary(np.add),
    "Sub": _fold_binary(np.subtract),
    "Mul": _fold_binary(np.multiply),
    "Div": _fold_binary(_integer_division),
    "Equal": _fold_binary(np.equal),
    "Transpose": lambda imp, node, xs: [np.transpose(xs[0], node.attrs.get("perm"))],
    "Range": lambda imp, node, xs: [np.arange(xs[0], xs[1], xs[2])],
    "Neg": lambda imp, node, xs: [np.negative(xs[0])],
    "Sqrt": lambda imp, node, xs: [np.sqrt(xs[0])],
}


def load_onnx(
    path: str | os.PathLike, channels_last: bool = False, device: str | None = None
) -> Any:
    """The ONNX model at ``path`` as a minicnn functional model with its weights.

    ``channels_last=True`` makes its image inputs and outputs (rank 3 and more)
    channels-last, (batch, height, width, channels), as minicnn's and Keras' images are;
    by default they keep the file's layout, (batch, channels, height, width) for a PyTorch
    model, so the model takes the same arrays as the original. ``device`` is where the
    model runs, as for ``Sequential``."""
    graph = read_onnx(path)
    if graph.opset and graph.opset < 7:
        raise OnnxImportError(f"load_onnx: {path}: opset {graph.opset}; minicnn reads 7 and later.")
    model = _Importer(graph, channels_last).build(graph.name)
    if device is not None:
        model.to(device)
    return model
