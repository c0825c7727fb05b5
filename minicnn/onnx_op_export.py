"""``export(format="onnx")`` of the layers that ops on symbolic tensors make (OpCall,
GetItem, TensorArithmetic beyond + - * /): each op as the ONNX operator that computes it,
its constant arguments as initializers. Tensors keep minicnn's layout here, so an op's axes
are ONNX's axes as they are. Models that ``load_onnx`` read hold such layers, and export
again through this module."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import onnx_names as names
from .keras_op_writing import INPUT, op_arguments
from .onnx_reading import DTYPES

_UNARY = names.UNARY
_BINARY = {**names.ARITHMETIC, "matmul": "MatMul", **names.COMPARISONS}
_REDUCTIONS = names.REDUCTIONS
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge"}
_ONNX_TYPES = {np.dtype(dtype).name: kind for kind, dtype in DTYPES.items()}


def op_layer(g: Any, layer: Any, xs: list[str], rank: int) -> str | None:
    """The ONNX form of an op layer, or None where it has none here; ``rank`` is the
    rank of its first input, the batch included."""
    try:
        op, bound = op_arguments(layer)
    except ValueError:
        return None
    hint = layer.name

    def operand(value: Any, like: str | None = None) -> str:
        if isinstance(value, dict) and set(value) == {INPUT}:
            return xs[value[INPUT]]
        array = np.asarray(value)
        if like is not None and isinstance(value, (bool, int, float)):
            # A Python number takes the tensor's type, as NumPy and ONNX's operators want.
            return g.constant(f"{hint}_constant", array.astype(like))
        kind = np.int64 if array.dtype.kind in "iub" else np.float32
        return g.constant(f"{hint}_constant", array.astype(kind))

    def axes(value: Any) -> list[int]:
        found = range(rank) if value is None else np.ravel(value)
        return [int(a) % rank for a in found]

    if op in _UNARY:
        return g.op(_UNARY[op], [operand(bound["x"])], f"{hint}_{op}")
    if op == "stop_gradient":  # a model's forward: the tensor itself
        return g.op("Identity", [operand(bound["x"])], f"{hint}_{op}")
    if op in _BINARY:
        a, b = list(bound.values())[:2]
        like = next(iter(getattr(layer, "input_dtypes", None) or []), None)
        return g.op(_BINARY[op], [operand(a, like), operand(b, like)], f"{hint}_{op}")
    if op in ("softmax", "log_softmax"):
        kind = "Softmax" if op == "softmax" else "LogSoftmax"
        return g.op(kind, [operand(bound["x"])], f"{hint}_{op}", axis=int(bound["axis"]))
    if op in _REDUCTIONS:
        x, keep = operand(bound["x"]), int(bool(bound["keepdims"]))
        if op == "sum":  # opset 13 takes ReduceSum's axes as an input
            found = g.constant(f"{hint}_axes", np.array(axes(bound["axis"]), np.int64))
            return g.op("ReduceSum", [x, found], f"{hint}_{op}", keepdims=keep)
        return g.op(_REDUCTIONS[op], [x], f"{hint}_{op}", axes=axes(bound["axis"]), keepdims=keep)
    if op in ("argmax", "argmin") and bound["axis"] is not None:
        kind = "ArgMax" if op == "argmax" else "ArgMin"
        keep = int(bool(bound["keepdims"]))
        axis = int(bound["axis"]) % rank
        return g.op(kind, [operand(bound["x"])], f"{hint}_{op}", axis=axis, keepdims=keep)
    if op == "take" and bound["axis"] is not None:
        picked = np.asarray(bound["indices"], np.int64)
        indices = g.constant(f"{hint}_indices", picked.reshape(-1) if picked.ndim == 0 else picked)
        axis = int(bound["axis"]) % rank
        y = g.op("Gather", [operand(bound["x"]), indices], f"{hint}_take", axis=axis)
        if picked.ndim == 0:  # one index: its axis goes (initializers here have one at least)
            found = g.constant(f"{hint}_axis", np.array([axis], np.int64))
            y = g.op("Squeeze", [y, found], f"{hint}_picked")
        return y
    if op == "tile":
        repeats = g.constant(f"{hint}_repeats", np.asarray(bound["repeats"], np.int64))
        return g.op("Tile", [operand(bound["x"]), repeats], f"{hint}_tile")
    if op == "clip":
        low = g.constant(f"{hint}_low", np.float32(bound["x_min"]))
        high = g.constant(f"{hint}_high", np.float32(bound["x_max"]))
        return g.op("Clip", [operand(bound["x"]), low, high], f"{hint}_clip")
    if op == "where":
        parts = [operand(bound[k]) for k in ("condition", "x", "y")]
        return g.op("Where", parts, f"{hint}_where")
    if op == "cast":
        to = _ONNX_TYPES.get(np.dtype(bound["dtype"]).name)
        return None if to is None else g.op("Cast", [operand(bound["x"])], f"{hint}_cast", to=to)
    if op == "transpose" and bound["axes"] is not None:
        perm = [int(a) for a in bound["axes"]]
        return g.op("Transpose", [operand(bound["x"])], f"{hint}_transpose", perm=perm)
    if op in ("concatenate", "stack"):
        parts = [operand(v) for v in bound["xs"]]
        axis = int(bound["axis"])
        if op == "stack":
            axis %= rank + 1
            unit = g.constant(f"{hint}_axis", np.array([axis], np.int64))
            parts = [g.op("Unsqueeze", [p, unit], f"{hint}_unit") for p in parts]
        return g.op("Concat", parts, f"{hint}_{op}", axis=axis % (rank + (op == "stack")))
    if op == "pad" and bound["mode"] in _PAD_MODES:
        widths = [(int(b), int(a)) for b, a in bound["pad_width"]]
        pads = np.array([b for b, _ in widths] + [a for _, a in widths], np.int64)
        inputs = [operand(bound["x"]), g.constant(f"{hint}_pads", pads)]
        if bound["mode"] == "constant":
            inputs.append(g.constant(f"{hint}_value", np.float32(bound["constant_values"])))
        return g.op("Pad", inputs, f"{hint}_pad", mode=_PAD_MODES[bound["mode"]])
    if op == "get_item":
        return _get_item(g, layer, operand(bound["x"]), bound["key"], rank)
    return None


def _get_item(g: Any, layer: Any, x: str, key: Any, rank: int) -> str | None:
    """x[key] for keys of slices and whole numbers: one Slice, then a Squeeze of the axes
    that numbers picked."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (rank - len(key) + 1) + key[at + 1 :]
    starts, ends, axes, steps, dropped = [], [], [], [], []
    for axis, k in enumerate(key):
        if isinstance(k, (int, np.integer)):
            k, drop = slice(int(k), int(k) + 1 if int(k) != -1 else None, 1), True
        elif isinstance(k, slice):
            drop = False
        else:
            return None  # None (new axes), arrays: not here
        if k == slice(None) or k == slice(None, None, 1):
            if drop:
                dropped.append(axis)
            continue
        step = 1 if k.step is None else int(k.step)
        big = np.iinfo(np.int64).max
        start = k.start if k.start is not None else (0 if step > 0 else -1)
        stop = k.stop if k.stop is not None else (big if step > 0 else -big)
        starts.append(int(start))
        ends.append(int(stop))
        axes.append(axis)
        steps.append(step)
        if drop:
            dropped.append(axis)
    hint = layer.name
    y = x
    if axes:
        parts = [
            g.constant(f"{hint}_{what}", np.array(values, np.int64))
            for what, values in (
                ("starts", starts),
                ("ends", ends),
                ("axes", axes),
                ("steps", steps),
            )
        ]
        y = g.op("Slice", [x, *parts], f"{hint}_slice")
    if dropped:
        found = g.constant(f"{hint}_squeezed", np.array(dropped, np.int64))
        y = g.op("Squeeze", [y, found], f"{hint}_squeeze")
    return y
