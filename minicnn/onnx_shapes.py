"""The ONNX operators that move axes and shapes, for ``onnx_import``: reshapes,
transposes, slices, reductions, concatenation, and the shape arithmetic computed at import
(PyTorch's ``x.view(x.size(0), -1)``) with the batch size kept symbolic."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import onnx_names as names
from .onnx_quantized import fold_dequantize, fold_quantize
from .onnx_reading import DTYPES, Node
from .onnx_values import (
    BATCH,
    OnnxImportError,
    Value,
    batch_only,
    inverse,
    is_batch_multiple,
    layer_module,
    op_module,
    plain,
)

# ONNX's reductions, as minicnn.ops names them.
# (ReduceLogSumExp is imported as ops.logsumexp; names.REDUCTIONS, which the export
# writes from, leaves it out.)
REDUCTIONS = {**names.by_onnx(names.REDUCTIONS), "ReduceLogSumExp": "logsumexp"}


def _sum_of(inner: str | None, outer: str | None = None) -> Any:
    """A sum of ``inner(x)`` (x itself where None), then ``outer`` of it where given."""

    def reduce(x: Any, axis: Any, keepdims: bool) -> Any:
        ops = op_module()
        total = ops.sum(getattr(ops, inner)(x) if inner else x, axis=axis, keepdims=keepdims)
        return getattr(ops, outer)(total) if outer else total

    return reduce


# ONNX's reductions that are a few of minicnn's ops (F.normalize's ReduceL2).
COMPOSITE_REDUCTIONS = {
    "ReduceL1": _sum_of("abs"),
    "ReduceL2": _sum_of("square", "sqrt"),
    "ReduceSumSquare": _sum_of("square"),
    "ReduceLogSum": _sum_of(None, "log"),
}


def _renumbered(order: tuple[int, ...], gone: list[int]) -> tuple[int, ...]:
    """``order`` without the ONNX axes ``gone``, the others numbered again."""
    return tuple(o - sum(g < o for g in gone) for o in order if o not in gone)


class ShapeOps:
    """The shape operators' handlers of the importer (a mixin of ``onnx_import``'s)."""

    def held(self, v: Value) -> tuple[Any, tuple[int, ...]]:
        """The tensor to work on and its order (a flattened image goes back to ONNX's)."""
        if v.groups is not None:
            raise self.fail_folded(v)
        rank = len(v.tensor.sample_shape) + 1
        if v.flat_order is not None or v.order is None:
            return self.in_onnx_layout(v), tuple(range(rank))
        return v.tensor, v.order

    def with_leading_units(self, v: Value, rank: int) -> Value:
        """``v`` as NumPy broadcasts it to ``rank`` axes: new ONNX axes of size 1 before its
        first (an unrolled RNN's step, (1, batch, units), meets an input step (batch,
        units)). They are held right after the batch."""
        count = rank - self.onnx_rank(v)
        if count <= 0:
            return v
        L = layer_module()
        if v.groups is not None:  # new held axes, last
            n = len(v.tensor.sample_shape)
            y = L.Reshape((*v.tensor.sample_shape, *(1,) * count))(v.tensor)
            units = tuple((n + 1 + k,) for k in range(count))
            return Value(y, groups=(*units, *v.groups))
        x, order = self.held(v)
        y = L.Reshape((*(1,) * count, *x.sample_shape))(x)
        moved = (order[0] + count, *range(count), *(o + count for o in order[1:]))
        return Value(y, plain(moved))

    # --- axes ------------------------------------------------------------------------------

    def op_Softmax(self, node: Node, index: int, log: bool = False) -> None:
        v = self.value(node.inputs[0])
        rank = self.onnx_rank(v)
        default = -1 if self.graph.opset >= 13 else 1
        axis = int(self.attr("axis", default)) % rank
        if v.groups is not None:
            held = self.folded_axis(v, axis)
            ops = op_module()
            y = (ops.log_softmax if log else ops.softmax)(v.tensor, axis=held)
            self.values[node.outputs[0]] = v.like(y)
            return
        if self.graph.opset < 13 and axis != rank - 1:
            raise self.fail("a softmax over flattened trailing axes (opset < 13); only the last.")
        x, order = self.held(v)
        if axis == order[0]:
            raise self.fail("a softmax across the batch.")
        axis = order.index(axis)
        ops = op_module()
        if log:
            y = ops.log_softmax(x, axis=axis)
        elif axis == rank - 1:
            y = layer_module().Softmax(axis=-1)(x)
        else:
            y = ops.softmax(x, axis=axis)
        self.set(node.outputs[0], y, order=order)

    def op_LogSoftmax(self, node: Node, index: int) -> None:
        self.op_Softmax(node, index, log=True)

    def axes_of(self, node: Node, position: int = 1) -> list[int] | None:
        """An op's axes: its attribute (older opsets) or its input (newer ones)."""
        if "axes" in node.attrs:
            return [int(a) for a in node.attrs["axes"]]
        if len(node.inputs) > position and node.inputs[position]:
            return [int(a) for a in np.ravel(self.constant(node.inputs[position], "axes"))]
        return None

    def reduce(self, node: Node, function: Any) -> None:
        """A reduction: ``function`` names minicnn's op, or is one (a composite)."""
        v = self.value(node.inputs[0])
        rank = self.onnx_rank(v)
        axes = self.axes_of(node)
        keepdims = bool(self.attr("keepdims", 1))
        if axes is None or not axes:
            if self.attr("noop_with_empty_axes", 0):
                return self.passthrough(node, 0)
            axes = list(range(rank))
        axes = sorted({a % rank for a in axes})
        if axes == list(range(rank)):  # the batch's axis too: one number
            return self.batch_statistic(node, v.tensor, function)
        if v.groups is not None:
            return self.folded_reduce(node, v, axes, keepdims, function)
        x, order = self.held(v)
        if order[0] in axes:
            raise self.fail("it reduces across the batch.")
        L = layer_module()
        if v.channels_last and axes == list(range(2, rank)) and function in ("mean", "max"):
            kind = "GlobalAveragePooling" if function == "mean" else "GlobalMaxPooling"
            y = getattr(L, f"{kind}{rank - 2}D")(keepdims=keepdims)(v.tensor)
            self.set(node.outputs[0], y, channels_last=keepdims)
            return None
        mapped = tuple(order.index(a) for a in axes)
        reducer = function if callable(function) else getattr(op_module(), function)
        y = reducer(x, axis=mapped, keepdims=keepdims)
        self.set(node.outputs[0], y, order=order if keepdims else _renumbered(order, axes))
        return None

    def along(self, v: Value, axis: int, refusal: str) -> tuple[Any, Any, int]:
        """The tensor to work on along ONNX axis ``axis`` (not the batch's: else the
        ``refusal``), its order (None: held in groups, as ``v``), and the held axis."""
        if v.groups is not None:
            return v.tensor, None, self.folded_axis(v, axis)
        x, order = self.held(v)
        if order[0] == axis:
            raise self.fail(refusal)
        return x, order, order.index(axis)

    def set_along(self, name: str, v: Value, y: Any, order: Any) -> None:
        """A result of ``along``'s tensor, in its layout."""
        if order is None:
            self.values[name] = v.like(y)
        else:
            self.set(name, y, order=order)

    def op_CumSum(self, node: Node, index: int) -> None:
        """Running sums along an axis without the batch (``exclusive``: before each entry;
        ``reverse``: from the end)."""
        v = self.value(node.inputs[0])
        axis = int(np.ravel(self.constant(node.inputs[1], "axis"))[0]) % self.onnx_rank(v)
        x, order, held = self.along(v, axis, "it sums across the batch.")
        ops = op_module()
        reverse = bool(self.attr("reverse", 0))
        if reverse:
            x = ops.flip(x, axis=held)
        y = ops.cumsum(x, axis=held)
        if self.attr("exclusive", 0):
            y = y - x
        if reverse:
            y = ops.flip(y, axis=held)
        self.set_along(node.outputs[0], v, y, order)

    def op_Concat(self, node: Node, index: int) -> None:
        first = self.constants.get(node.inputs[0])
        if self.traced_batch == 1 and first is not None and first.ndim == 3 and len(first) == 1:
            self.spread[node.inputs[0]] = (first[0].astype(np.float32), node.inputs[0])
        if node.inputs[0] in self.spread:  # a learned token, traced for a batch of one
            return self.class_tokens(node)
        if any(self.is_constant(n) for n in node.inputs):
            raise self.fail("a constant among the tensors it joins.")
        vs = [self.value(n) for n in node.inputs]
        rank = len(vs[0].tensor.sample_shape) + 1
        axis = int(self.attr("axis")) % rank
        *tensors, order = self.aligned(vs)
        mapped = (order or tuple(range(rank))).index(axis)
        if mapped == 0:
            raise self.fail("it joins along the batch axis.")
        y = layer_module().Concatenate(axis=mapped)(list(tensors))
        self.set(node.outputs[0], y, order=order)

    # --- shapes --------------------------------------------------------------------------------

    def op_Shape(self, node: Node, index: int) -> None:
        shape = np.array(self.onnx_shape(self.value(node.inputs[0])), np.int64)
        start, end = self.attr("start", 0), self.attr("end")
        self.constants[node.outputs[0]] = shape[start:end]

    def op_Size(self, node: Node, index: int) -> None:
        raise self.fail("the element count depends on the batch size.")

    def batch_target(self, target: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...] | None:
        """A Reshape's target without the batch axis, where it keeps the batch first and
        apart (else None)."""
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
        if not keeps_batch and first == self.traced_batch:  # the batch size it was traced
            keeps_batch = -1 in rest or int(np.prod(rest)) == known  # with: view(1, -1)
        if not keeps_batch or any(is_batch_multiple(d) for d in rest):
            return None
        return tuple(rest)

    def op_Reshape(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        target = [int(t) for t in np.ravel(self.constant(node.inputs[1], "shape"))]
        if v.groups is None and (v.order is None or v.order[0] == 0 or v.flat_order is not None):
            kept = self.batch_target(target, self.onnx_shape(v))
            if kept is not None:
                return self.reshaped(node, v, kept)
        return self.regrouped(node, v, target)

    def reshaped(self, node: Node, v: Value, target: tuple[int, ...]) -> None:
        L = layer_module()
        if not target:  # (batch,)
            self.set(node.outputs[0], batch_only(self.in_onnx_layout(v)))
            return None
        features = int(np.prod(v.tensor.sample_shape))
        if len(target) == 1 and target[0] in (-1, features):
            if v.flat_order is not None or len(v.tensor.sample_shape) == 1:
                return self.passthrough(node, 0)
            if v.channels_last:  # flattened channels-last; the order is remembered
                image = tuple(int(d) for d in v.tensor.sample_shape)
                order = np.arange(features).reshape(image[-1], *image[:-1])
                order = order.transpose(*range(1, len(image)), 0).reshape(-1)
                self.set(node.outputs[0], L.Flatten()(v.tensor), flat_order=order, flat_image=image)
                return None
            self.set(node.outputs[0], L.Flatten()(self.in_onnx_layout(v)))
            return None
        if v.order is not None and v.flat_order is None:  # cut and merged as held
            return self.regrouped(node, v, [BATCH, *target])
        self.set(node.outputs[0], L.Reshape(target)(self.in_onnx_layout(v)))
        return None

    def op_Flatten(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        axis = int(self.attr("axis", 1)) % max(len(shape), 1)
        if v.groups is not None:
            front, back = shape[:axis], shape[axis:]
            return self.regrouped(node, v, [int(np.prod(front)), int(np.prod(back))])
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
        if v.groups is not None:
            return self.regrouped(node, v, [d for a, d in enumerate(shape) if a not in axes])
        x, order = self.held(v)
        if order[0] in axes:
            raise self.fail("it squeezes the batch axis.")
        if v.order is not None and v.flat_order is None:
            kept = tuple(int(d) for i, d in enumerate(x.sample_shape) if order[i + 1] not in axes)
            y = layer_module().Reshape(kept)(x)
            self.set(node.outputs[0], y, order=_renumbered(order, sorted(axes)))
            return
        self.reshaped(node, v, tuple(d for a, d in enumerate(shape) if a not in axes and a))

    def op_Unsqueeze(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = list(self.onnx_shape(v))
        axes = sorted(a % (len(shape) + len(self.axes_of(node))) for a in self.axes_of(node))
        if v.groups is not None or (0 in axes and v.order is None):  # before the batch too
            for a in axes:
                shape.insert(a, 1)
            return self.regrouped(node, v, shape)
        if v.order is not None and v.flat_order is None:  # new unit axes held last
            old = [i for i in range(len(shape) + len(axes)) if i not in axes]
            y = layer_module().Reshape((*v.tensor.sample_shape, *(1 for _ in axes)))(v.tensor)
            self.set(node.outputs[0], y, order=(*(old[o] for o in v.order), *axes))
            return
        for a in axes:
            shape.insert(a, 1)
        self.reshaped(node, v, tuple(shape[1:]))

    def op_Transpose(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        rank = self.onnx_rank(v)
        perm = [int(p) for p in self.attr("perm", list(range(rank))[::-1])]
        if v.groups is not None:  # the held axes stay; which ONNX axis they make changes
            self.set_grouped(node.outputs[0], v.tensor, tuple(v.groups[p] for p in perm))
            return None
        if perm == list(range(rank)):
            return self.passthrough(node, index)
        # The held tensor stays as it is; only which ONNX axis each of its axes is changes
        # (a Transpose that moves channels first or last, or steps and batch, costs nothing).
        x, order = self.held(v)
        back = inverse(perm)
        self.set(node.outputs[0], x, order=tuple(back[o] for o in order))
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
        x, order = (v.tensor, None) if v.groups is not None else self.held(v)
        for a, b, e, s in zip(axes, starts, ends, steps, strict=True):
            a = int(a) % rank
            b, e, s = int(b), int(e), int(s)
            cut = slice(b, None if abs(e) >= 2**62 else e, s)  # INT64_MAX/MIN: to the end
            if is_batch_multiple(shape[a]):  # the batch's axis: only all of it
                if b != 0 or s != 1 or (cut.stop is not None and e != shape[a]):
                    raise self.fail("it slices the batch axis.")
                continue
            cuts[a] = cut
        if v.groups is not None:  # each axis cut is one held axis
            held = [slice(None)] * (len(x.sample_shape) + 1)
            for a, cut in enumerate(cuts):
                if cut != slice(None):
                    held[self.folded_axis(v, a)] = cut
            self.values[node.outputs[0]] = v.like(x[tuple(held)])
            return
        self.set(node.outputs[0], x[tuple(cuts[a] for a in order)], order=order)

    def op_Split(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        axis = int(self.attr("axis", 0)) % len(shape)
        x, order, held = self.along(v, axis, "it splits the batch axis.")
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
            cuts = [slice(None)] * (len(x.sample_shape) + 1)
            cuts[held] = slice(start, start + size)
            self.set_along(out, v, x[tuple(cuts)], order)
            start += size

    def op_Gather(self, node: Node, index: int) -> None:
        if self.is_constant(node.inputs[0]):  # a table looked up by the ids: an Embedding
            table = self.constants[node.inputs[0]].astype(np.float32)
            if table.ndim != 2 or int(self.attr("axis", 0)) != 0:
                raise self.fail("a constant gathered along an axis other than its rows.")
            ids = self.in_onnx_layout(self.value(node.inputs[1]))
            named = self.named(node.inputs[0])
            layer = layer_module().Embedding(table.shape[0], table.shape[1], **named)
            y = layer(ids)
            layer.set_weights([table])
            self.set(node.outputs[0], y)
            return
        v = self.value(node.inputs[0])
        indices = self.constant(node.inputs[1], "indices").astype(np.int64)
        self.gathered(node, v, indices, int(self.attr("axis", 0)))

    def op_GatherND(self, node: Node, index: int) -> None:
        """GatherND by one axis (indices (..., 1), no batch axes): a Gather along the first
        axis, as PyTorch's dynamo exporter writes some resizes."""
        indices = self.constant(node.inputs[1], "indices").astype(np.int64)
        if int(self.attr("batch_dims", 0)) != 0 or indices.shape[-1:] != (1,):
            raise self.fail("it gathers by several axes at once; minicnn reads one at a time.")
        self.gathered(node, self.value(node.inputs[0]), indices[..., 0], 0)

    def gathered(self, node: Node, v: Value, indices: np.ndarray, axis: int) -> None:
        """The entries at constant ``indices`` along ONNX axis ``axis`` of ``v``."""
        rank = self.onnx_rank(v)
        axis = axis % rank
        if v.groups is not None:
            return self.folded_gather(node, v, indices, axis)
        x, order = self.held(v)
        if axis == order[0]:
            raise self.fail("it gathers along the batch axis.")
        if indices.ndim > 1 and order != tuple(range(rank)):
            x, order = self.in_onnx_layout(v), tuple(range(rank))
        y = op_module().take(x, indices, axis=order.index(axis))
        if indices.ndim == 0:  # the axis goes
            self.set(node.outputs[0], y, order=_renumbered(order, [axis]))
            return
        if indices.ndim == 1:
            self.set(node.outputs[0], y, order=order)
            return
        self.set(node.outputs[0], y)

    def op_ArgMax(self, node: Node, index: int, function: str = "argmax") -> None:
        if self.attr("select_last_index", 0):
            raise self.fail("select_last_index; minicnn's argmax picks the first.")
        v = self.value(node.inputs[0])
        x, order = self.held(v)
        axis = int(self.attr("axis", 0)) % len(order)
        if axis == order[0]:
            raise self.fail("it searches across the batch.")
        keepdims = bool(self.attr("keepdims", 1))
        y = getattr(op_module(), function)(x, axis=order.index(axis), keepdims=keepdims)
        self.set(node.outputs[0], y, order=order if keepdims else _renumbered(order, [axis]))

    def op_ArgMin(self, node: Node, index: int) -> None:
        self.op_ArgMax(node, index, "argmin")

    def op_Tile(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        repeats = [int(r) for r in np.ravel(self.constant(node.inputs[1], "repeats"))]
        x, order = self.held(v)
        if repeats[order[0]] != 1:
            raise self.fail("it repeats the batch.")
        y = op_module().tile(x, tuple(repeats[o] for o in order))
        self.set(node.outputs[0], y, order=order)

    def op_DepthToSpace(self, node: Node, index: int) -> None:
        """Channels (block rows, block columns, channels) for DCR mode, (channels, rows,
        columns) for CRD, spread over blocks of pixels: reshapes around a Permute."""
        x = self.in_channels_last(self.value(node.inputs[0]))
        size = int(self.attr("blocksize"))
        h, w, c = (int(d) for d in x.sample_shape)
        L = layer_module()
        if self.attr("mode", "DCR") == "CRD":
            split, moves = (h, w, c // size**2, size, size), (1, 4, 2, 5, 3)
        else:
            split, moves = (h, w, size, size, c // size**2), (1, 3, 2, 4, 5)
        y = L.Permute(moves)(L.Reshape(split)(x))
        self.set(
            node.outputs[0], L.Reshape((h * size, w * size, c // size**2))(y), channels_last=True
        )

    def op_SpaceToDepth(self, node: Node, index: int) -> None:
        """Blocks of pixels stacked as channels (block rows, block columns, channels)."""
        x = self.in_channels_last(self.value(node.inputs[0]))
        size = int(self.attr("blocksize"))
        h, w, c = (int(d) for d in x.sample_shape)
        L = layer_module()
        y = L.Permute((1, 3, 2, 4, 5))(L.Reshape((h // size, size, w // size, size, c))(x))
        out = L.Reshape((h // size, w // size, size * size * c))(y)
        self.set(node.outputs[0], out, channels_last=True)

    def op_Expand(self, node: Node, index: int) -> None:
        """A tensor broadcast to a shape (NumPy's rule, both ways): times ones."""
        from .symbolic_arithmetic import TensorArithmetic

        v = self.value(node.inputs[0])
        shape = [int(d) for d in np.ravel(self.constant(node.inputs[1], "shape"))]
        if len(shape) > len(v.tensor.sample_shape) + 1:
            raise self.fail(f"it broadcasts to {shape}, adding axes before the batch axis.")
        ones = np.ones([1 if d in (BATCH, -1) else d for d in shape], np.float32)
        layer = TensorArithmetic("multiply", constant=self.broadcast_constant(ones, v))
        self.values[node.outputs[0]] = v.like(layer([v.tensor]))

    def op_Constant(self, node: Node, index: int) -> None:
        self.constants[node.outputs[0]] = constant_node(node)


def constant_node(node: Node) -> np.ndarray:
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


# --- shape arithmetic on constants --------------------------------------------------------------


def _fold_binary(function: Any) -> Any:
    return lambda imp, node, xs: [function(xs[0], xs[1])]


def _fold_unsqueeze(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    x = xs[0]
    axes = node.attrs.get("axes") if "axes" in node.attrs else np.ravel(xs[1]).tolist()
    rank = x.ndim + len(axes)
    for a in sorted(int(a) % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


def _fold_squeeze(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    axes = (
        node.attrs.get("axes")
        if "axes" in node.attrs
        else (np.ravel(xs[1]).tolist() if len(xs) > 1 and xs[1] is not None else None)
    )
    return [np.squeeze(xs[0], axis=None if axes is None else tuple(int(a) for a in axes))]


def _fold_slice(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
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


def _fold_split(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    x, axis = xs[0], int(node.attrs.get("axis", 0))
    if len(xs) > 1 and xs[1] is not None:
        parts = [int(p) for p in np.ravel(xs[1])]
    elif node.attrs.get("split") is not None:
        parts = [int(p) for p in node.attrs["split"]]
    else:  # equal parts, the last one smaller (opset 18's num_outputs)
        each = -(-x.shape[axis] // len(node.outputs))
        parts = [min(each, x.shape[axis] - i * each) for i in range(len(node.outputs))]
    return np.split(x, np.cumsum(parts)[:-1], axis=axis)


def _fold_trilu(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    k = int(np.ravel(xs[1])[0]) if len(xs) > 1 and xs[1] is not None else 0
    return [(np.triu if node.attrs.get("upper", 1) else np.tril)(xs[0], k)]


def _fold_reshape(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    target = [int(t) for t in np.ravel(xs[1])]
    target = [xs[0].shape[i] if t == 0 else t for i, t in enumerate(target)]
    return [xs[0].reshape(target)]


def _fold_cast(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    return [xs[0].astype(np.dtype(DTYPES.get(int(node.attrs.get("to", 1)), "<f4")))]


def _fold_constant_of_shape(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    value = node.attrs.get("value")
    fill = np.zeros(1, np.float32) if value is None else np.ravel(value)
    return [np.full([int(d) for d in np.ravel(xs[0])], fill[0], fill.dtype)]


def _fold_gather(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    return [np.take(xs[0], xs[1].astype(np.int64), axis=int(node.attrs.get("axis", 0)))]


def _fold_concat(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    return [np.concatenate([np.atleast_1d(x) for x in xs], axis=int(node.attrs.get("axis", 0)))]


def _fold_where(imp: Any, node: Node, xs: list[Any]) -> list[Any]:
    return [np.where(xs[0], xs[1], xs[2])]


def _integer_division(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return np.trunc(a / b).astype(np.result_type(a, b))
    return a / b


FOLDED: dict[str, Any] = {
    "QuantizeLinear": fold_quantize,
    "DequantizeLinear": fold_dequantize,
    "Identity": lambda imp, node, xs: [xs[0]],
    "Expand": lambda imp, node, xs: [xs[0] * np.ones([int(d) for d in xs[1]], xs[0].dtype)],
    "Size": lambda imp, node, xs: [np.array(np.size(xs[0]), np.int64)],
    "Shape": lambda imp, node, xs: [
        np.array(xs[0].shape, np.int64)[node.attrs.get("start", 0) : node.attrs.get("end")]
    ],
    "Unsqueeze": _fold_unsqueeze,
    "Squeeze": _fold_squeeze,
    "Concat": _fold_concat,
    "Gather": _fold_gather,
    "Slice": _fold_slice,
    "Split": _fold_split,
    "Trilu": _fold_trilu,
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
    "Mod": lambda imp, node, xs: [(np.fmod if node.attrs.get("fmod", 0) else np.mod)(xs[0], xs[1])],
    "Max": _fold_binary(np.maximum),
    "Min": _fold_binary(np.minimum),
    "Abs": lambda imp, node, xs: [np.abs(xs[0])],
    "Less": _fold_binary(np.less),
    "Greater": _fold_binary(np.greater),
    "Not": lambda imp, node, xs: [np.logical_not(xs[0])],
    "Sqrt": lambda imp, node, xs: [np.sqrt(xs[0])],
    "Pow": _fold_binary(np.power),
    "Floor": lambda imp, node, xs: [np.floor(xs[0])],
    "Ceil": lambda imp, node, xs: [np.ceil(xs[0])],
}
