"""Reshapes that fold the batch into another axis, for ``onnx_import``.

Attention as PyTorch exports it (``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer``)
reshapes (time, batch, features) to (time, batch * heads, head size), works on batch * heads
matrices, and later folds time with the batch around its output projection. minicnn's layers
keep the batch as an axis of its own, so such a tensor is held with the batch and the other
axes apart, and remembered as ONNX sees it (``Value.groups``: each ONNX axis is the product
of which held axes). A reshape is then a relabelling plus, at most, held axes cut in pieces,
one Permute, and axes merged that no batch is part of."""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from .onnx_reading import Node
from .onnx_values import (
    BATCH,
    Value,
    batch_only,
    inverse,
    is_batch_multiple,
    layer_module,
    op_module,
    plain,
    spelled,
)

Size = tuple[int, int]  # a size of shape arithmetic: (1 if it holds the batch, the factor)
Pieces = list[list[tuple[int, int]]]  # per target axis: (held axis, size), major first


def _size(d: int) -> Size:
    return (1, d // BATCH) if is_batch_multiple(d) else (0, d)


def plan_pieces(atoms: list[tuple[int, int]], target: list[Size]) -> Pieces | None:
    """Which pieces of held axes make each axis of a reshape's ``target``.

    ``atoms`` are the held axes, (axis, size), in ONNX's row-major order: held axis 0 is the
    batch, whose size is unknown; axes of size 1 are left out. A held axis may be cut into
    pieces over neighbouring target axes, the batch never. None where the reshape can't be
    held so: it would cut the batch, or a target axis would need a part of an axis on each
    side of the batch."""
    if not target:
        return None
    pieces: Pieces = [[] for _ in target]
    j, left = 0, list(target[0])

    def open_axis() -> bool:  # move past the target axes that are complete
        nonlocal j, left
        while left == [0, 1]:
            if j + 1 >= len(target):
                return False
            j += 1
            left = list(target[j])
        return True

    for axis, size in atoms:
        if not open_axis():
            return None
        if axis == 0:
            if left[0] != 1:
                return None
            pieces[j].append((0, 1))
            left[0] = 0
            continue
        while size > 1:
            if not open_axis():
                return None
            if left[1] % size == 0:
                pieces[j].append((axis, size))
                left[1] //= size
                size = 1
            elif left[0] == 0 and left[1] > 1 and size % left[1] == 0:
                pieces[j].append((axis, left[1]))
                size //= left[1]
                left[1] = 1
            else:
                return None
    if left != [0, 1] or any(tuple(t) != (0, 1) for t in target[j + 1 :]):
        return None
    return pieces


def _without(groups: tuple[tuple[int, ...], ...], axes: list[int]) -> tuple[tuple[int, ...], ...]:
    """Groups without the ONNX ``axes`` (each one held axis), the held axes renumbered."""
    gone = [groups[a][0] for a in axes]
    return tuple(
        tuple(h - sum(g < h for g in gone) for h in group)
        for k, group in enumerate(groups)
        if k not in axes
    )


def _likelihood(plan: Pieces) -> tuple[bool, bool, bool]:
    """How PyTorch code reshapes where a batch traced as a number could stand for several
    axes, likeliest first: the batch on an axis of its own (``view(b, t, -1)``); not merged
    into the last axis, which a dense layer or a head size takes (``view(t * b, e)``); the
    leading part of the axis it joins (``view(t, b * heads, d)``)."""
    j = next(j for j, pieces in enumerate(plan) if (0, 1) in pieces)
    return plan[j] == [(0, 1)], j != len(plan) - 1, plan[j][0] == (0, 1)


class FoldOps:
    """The importer's handling of tensors whose batch is merged with other ONNX axes (a
    mixin of ``onnx_import``'s importer)."""

    def layout_groups(self, v: Value) -> tuple[tuple[int, ...], ...]:
        """For each ONNX axis of ``v``, the held axes it is made of (major first)."""
        if v.groups is not None:
            return v.groups
        rank = len(v.tensor.sample_shape) + 1
        if v.order is None:
            return tuple((k,) for k in range(rank))
        back = inverse(v.order)
        return tuple((back[k],) for k in range(rank))

    def onnx_rank(self, v: Value) -> int:
        """How many axes the ONNX value has (the batch among them)."""
        return len(v.groups) if v.groups is not None else len(v.tensor.sample_shape) + 1

    def folded_shape(self, v: Value) -> tuple[int, ...]:
        """The ONNX shape of a value held in groups, the batch size as BATCH."""
        held = [BATCH, *(int(d) for d in v.tensor.sample_shape)]
        return tuple(prod(held[a] for a in group) for group in v.groups or ())

    def fail_folded(self, v: Value) -> Any:
        return self.fail(
            f"its input is {spelled(self.folded_shape(v))} in ONNX: the batch merged with "
            "another axis (as attention folds its heads into the batch, TimeDistributed its "
            "steps). minicnn keeps the batch an axis of its own, and this op needs it so; "
            "reshapes, transposes, elementwise ops, softmax, matrix products and dense "
            "layers take such a tensor."
        )

    def target_sizes(self, target: list[int], shape: tuple[int, ...]) -> list[list[Size]]:
        """A reshape's target as sizes of shape arithmetic (copied axes and the one left to
        work out filled in): the one reading where the batch is symbolic; where tracing
        wrote the batch size as a number, also each reading that puts it on one axis."""
        allow_zero = bool(self.attr("allowzero", 0))
        dims = [
            int(shape[i]) if t == 0 and not allow_zero and i < len(shape) else int(t)
            for i, t in enumerate(target)
        ]
        whole = (sum(b for b, _ in map(_size, shape)), prod(n for _, n in map(_size, shape)))
        readings = []
        if -1 in dims:
            known = [_size(d) for d in dims if d != -1]
            batch, factor = sum(b for b, _ in known), prod(n for _, n in known)
            if factor and not whole[1] % factor and whole[0] - batch in (0, 1):
                sizes = [_size(d) for d in dims]
                sizes[dims.index(-1)] = (whole[0] - batch, whole[1] // factor)
                readings.append(sizes)
        elif any(is_batch_multiple(d) for d in dims):
            return [[_size(d) for d in dims]]
        traced = self.traced_batch
        if not traced or any(is_batch_multiple(d) for d in dims):
            return readings
        for j, n in enumerate(dims):
            if n == -1 or n % traced:
                continue
            sizes = [(1, n // traced) if i == j else (0, d) for i, d in enumerate(dims)]
            if -1 in dims:
                factor = prod(f for i, (_, f) in enumerate(sizes) if dims[i] != -1)
                if not factor or whole[1] % factor:
                    continue
                sizes[dims.index(-1)] = (0, whole[1] // factor)
            if prod(f for _, f in sizes) == whole[1]:
                readings.append(sizes)
        return readings

    def regrouped(self, node: Node, v: Value, target: list[int]) -> None:
        """A reshape of any layout, the batch possibly merged with other axes before or
        after it (see the module's text)."""
        if v.flat_order is not None:
            v = Value(self.in_onnx_layout(v))
        shape = self.onnx_shape(v)
        groups = self.layout_groups(v)
        held = [1, *(int(d) for d in v.tensor.sample_shape)]
        atoms = [(a, held[a]) for group in groups for a in group if a == 0 or held[a] != 1]
        readings, x = self.target_sizes(target, shape), v.tensor
        plans = [plan for sizes in readings if (plan := plan_pieces(atoms, sizes)) is not None]
        if not plans and readings:  # each run of axes without the batch made one, then cut
            x, atoms = self.compacted(x, atoms)
            plans = [plan for sizes in readings if (plan := plan_pieces(atoms, sizes))]
        if len(plans) > 1:  # a batch size traced as a number: the likeliest reading(s)
            best = max(map(_likelihood, plans))
            plans = [plan for plan in plans if _likelihood(plan) == best]
        if len(plans) != 1:
            why = (
                f"the batch size it was traced with ({self.traced_batch}) could stand for more "
                "than one of its axes. Export with a dynamic batch axis (torch.onnx.export's "
                "dynamic_axes={'input': {0: 'batch'}}, or dynamic_shapes with dynamo=True)."
                if plans
                else "it would cut the batch axis, or weave it into others in a way that "
                "minicnn can't hold apart."
            )
            raise self.fail(f"it reshapes {spelled(shape)} to {spelled(target)}: {why}")
        self.set_grouped(node.outputs[0], *self.held_as(x, plans[0]))

    def set_grouped(self, name: str, tensor: Any, groups: tuple[tuple[int, ...], ...]) -> None:
        """A result held in groups; as Value.order where each ONNX axis is one held axis."""
        if any(len(group) != 1 for group in groups):
            self.values[name] = Value(tensor, groups=tuple(groups))
            return
        order = [0] * len(groups)
        for axis, (held,) in enumerate(groups):
            order[held] = axis
        self.set(name, tensor, order=order)

    def compacted(self, x: Any, atoms: list[tuple[int, int]]) -> tuple[Any, list[tuple[int, int]]]:
        """The held tensor with each run of axes that lie side by side in ONNX's order
        without the batch between them made one axis (moved together first where they lie
        apart), and its atoms then: any reshape that keeps the batch whole can cut those."""
        runs: list[list[tuple[int, int]]] = [[]]
        for axis, size in atoms:
            if axis == 0:
                runs += [[(0, 1)], []]
            else:
                runs[-1].append((axis, size))
        runs = [run for run in runs if run]
        L = layer_module()
        moves = [0, *(axis for run in runs if run[0][0] != 0 for axis, _ in run)]
        moves += [a for a in range(len(x.sample_shape) + 1) if a not in moves]  # units, dropped
        if moves != sorted(moves):
            x = L.Permute(tuple(moves[1:]))(x)
        sizes = tuple(prod(size for _, size in run) for run in runs if run[0][0] != 0)
        if tuple(int(d) for d in x.sample_shape) != sizes:
            x = L.Reshape(sizes)(x) if sizes else batch_only(x)
        merged, count = [], 0
        for run in runs:
            if run[0][0] == 0:
                merged.append((0, 1))
            else:
                count += 1
                merged.append((count, prod(size for _, size in run)))
        return x, merged

    def held_as(self, x: Any, plan: Pieces) -> tuple[Any, tuple[tuple[int, ...], ...]]:
        """The held tensor cut, moved and merged as ``plan`` says; and for each target
        axis, the held axes it is made of. A target axis without the batch is one held axis;
        where its pieces lie apart, one Permute brings them together, where its last piece
        was. Target axes of size 1 are new held axes, last."""
        L = layer_module()
        cut: dict[int, list[tuple[int, int]]] = {}  # held axis -> (size, target axis) pieces
        for j, pieces in enumerate(plan):
            for axis, size in pieces:
                cut.setdefault(axis, []).append((size, j))
        in_held = [(axis, size, j) for axis in sorted(cut) for size, j in cut[axis]]
        members: dict[int, list[int]] = {}  # target axis -> its pieces, major first
        for p, (_, _, j) in enumerate(in_held):
            members.setdefault(j, []).append(p)
        for j, ps in members.items():
            ps.sort(key=lambda p: [a for a, _ in plan[j]].index(in_held[p][0]))
        batch_axis = in_held[0][2]
        slots: list[list[int]] = []  # the pieces of each new held axis
        for p, (_, _, j) in enumerate(in_held):
            if j == batch_axis or len(members[j]) == 1:
                slots.append([p])
            elif p == max(members[j]):
                slots.append(members[j])
        moves = [p for slot in slots for p in slot]
        if moves != sorted(moves):
            split = tuple(size for _, size, _ in in_held[1:])
            if tuple(int(d) for d in x.sample_shape) != split:
                x = L.Reshape(split)(x)
            x = L.Permute(tuple(moves[1:]))(x)
        slot_of = {p: s for s, slot in enumerate(slots) for p in slot}
        new_groups: list[tuple[int, ...]] = []
        final = [int(np.prod([in_held[p][1] for p in slot])) for slot in slots[1:]]
        for j in range(len(plan)):
            if j not in members:  # a new axis of size 1
                final.append(1)
                new_groups.append((len(final),))
            else:
                new_groups.append(tuple(dict.fromkeys(slot_of[p] for p in members[j])))
        if tuple(int(d) for d in x.sample_shape) != tuple(final):
            x = L.Reshape(tuple(final))(x) if final else batch_only(x)
        return x, tuple(new_groups)

    def folded_axis(self, v: Value, axis: int) -> int:
        """The held axis that ONNX axis ``axis`` of a value held in groups is (an axis
        with no batch in it)."""
        group = (v.groups or ())[axis]
        if len(group) != 1 or group[0] == 0:
            raise self.fail_folded(v)
        return group[0]

    def folded_reduce(
        self, node: Node, v: Value, axes: list[int], keepdims: bool, function: Any
    ) -> None:
        """A reduction over ONNX axes without the batch of a value held in groups."""
        held = sorted(self.folded_axis(v, a) for a in axes)
        reducer = function if callable(function) else getattr(op_module(), function)
        y = reducer(v.tensor, axis=tuple(held), keepdims=keepdims)
        groups = v.groups or ()
        self.set_grouped(node.outputs[0], y, groups if keepdims else _without(groups, axes))

    def folded_gather(self, node: Node, v: Value, indices: np.ndarray, axis: int) -> None:
        """Entries at constant indices (one, or a list) along an ONNX axis without the batch
        of a value held in groups (attention's q, k and v picked from one tensor)."""
        if indices.ndim > 1:
            raise self.fail_folded(v)
        y = op_module().take(v.tensor, indices, axis=self.folded_axis(v, axis))
        groups = v.groups or ()
        self.set_grouped(node.outputs[0], y, groups if indices.ndim else _without(groups, [axis]))

    def expanded(self, v: Value) -> tuple[Any, list[int]]:
        """A value held in groups with its held axes in ONNX's order, each group's parts
        side by side (the batch must lead): the tensor, and each ONNX axis' part count."""
        groups = v.groups or ()
        parts = [a for group in groups for a in group]
        if parts[0] != 0:
            raise self.fail_folded(v)
        x = v.tensor
        if parts != sorted(parts):
            x = layer_module().Permute(tuple(parts[1:]))(x)
        return x, [len(group) for group in groups]

    def folded_matmul(self, node: Node) -> None:
        """A product of two computed tensors whose leading axis is the batch merged with
        others (a batched matrix product per batch and head): on the parts."""
        a, b = (self.value(name) for name in node.inputs[:2])
        (x, x_parts), (y, y_parts) = (
            self.expanded(v)
            if v.groups is not None
            else (v.tensor, [1] * len(v.tensor.sample_shape))
            for v in (a, b)
        )
        leading = x_parts[:-2]
        if (
            a.groups is None
            or b.groups is None
            or x_parts[-2:] != [1, 1]
            or y_parts != x_parts
            or tuple(x.sample_shape[: sum(leading) - 1])
            != tuple(y.sample_shape[: sum(leading) - 1])
        ):
            raise self.fail_folded(a if a.groups is not None else b)
        product = op_module().matmul(x, y)
        groups, start = [], 0
        for count in x_parts:
            groups.append(tuple(range(start, start + count)))
            start += count
        self.set_grouped(node.outputs[0], product, tuple(groups))

    def per_step(self, node: Node, index: int, handler: Any) -> None:
        """An op that needs the batch apart (a convolution, pooling, normalization), on a
        tensor whose first ONNX axis is the batch merged with the steps after it, as
        TimeDistributed's (batch * steps, ...) is: its layers are made on one step's
        input, then each applied to every step as TimeDistributed (a constant's arithmetic
        as it is: it broadcasts over the steps)."""
        from .symbolic_arithmetic import TensorArithmetic

        name = node.inputs[0]
        v = self.values[name]
        groups = v.groups or ()
        others = [i for i in node.inputs[1:] if i and not self.is_constant(i)]
        if groups[0] != (0, 1) or any(len(g) != 1 for g in groups[1:]) or others:
            raise self.fail_folded(v)
        L = layer_module()
        step = L.Input(shape=tuple(int(d) for d in v.tensor.sample_shape[1:]))
        order = [0] * len(groups)
        for axis, (held,) in enumerate(groups[1:], start=1):
            order[held - 1] = axis
        self.values[name] = Value(step, order=plain(order))
        try:
            handler(node, index)
        finally:
            self.values[name] = v
        for out in node.outputs:
            if not out or out not in self.values:
                continue
            made = self.values[out]
            if made.flat_order is not None:  # a flattened channels-last step: ONNX's columns
                made = Value(self.in_onnx_layout(made))
            chain, t = [], made.tensor
            while t is not step:
                if t.layer is None or len(t.inputs) != 1:
                    raise self.fail_folded(v)
                chain.append(t.layer)
                t = t.inputs[0]
            y = v.tensor
            for layer in reversed(chain):
                each = isinstance(layer, TensorArithmetic)  # broadcasts over the steps
                y = layer([y]) if each else L.TimeDistributed(layer)(y)
            rank = len(made.tensor.sample_shape) + 1
            held = inverse(made.order) if made.order is not None else tuple(range(rank))
            self.set_grouped(out, y, ((0, 1), *((held[k] + 1,) for k in range(1, rank))))

    def features_last(self, v: Value) -> tuple[Any, tuple[tuple[int, ...], ...]]:
        """A value held in groups with its last ONNX axis as its last held axis (a dense
        layer's input), and its groups then."""
        groups = v.groups or ()
        last = groups[-1]
        if len(last) != 1 or last[0] == 0:
            raise self.fail_folded(v)
        rank = len(v.tensor.sample_shape) + 1
        if last[0] == rank - 1:
            return v.tensor, groups
        moves = [a for a in range(rank) if a != last[0]] + [last[0]]
        back = inverse(moves)
        x = layer_module().Permute(tuple(moves[1:]))(v.tensor)
        return x, tuple(tuple(back[a] for a in group) for group in groups)

    def folded_constant(self, c: np.ndarray, v: Value) -> np.ndarray:
        """A constant operand in the held layout of a value held in groups: it must be one
        number along the axes that hold the batch."""
        groups = v.groups or ()
        held = [1, *(int(d) for d in v.tensor.sample_shape)]
        if c.ndim > len(groups):
            raise self.fail(f"a constant of rank {c.ndim} meets a tensor of rank {len(groups)}.")
        c = c.reshape((1,) * (len(groups) - c.ndim) + c.shape)
        atoms, split = [a for g in groups for a in g], []
        for group, size in zip(groups, c.shape, strict=True):
            if size != 1 and 0 in group:
                raise self.fail(f"a constant of shape {c.shape} varies along the batch axis.")
            split += [held[a] if size != 1 else 1 for a in group]
        c = c.reshape(split).transpose(inverse(atoms))
        return np.asarray(c[0], order="C")
