"""A reader of ONNX files and a NumPy interpreter of the operators minicnn's ONNX export
writes: the test oracle of ``export(format="onnx")``, written from the ONNX and protobuf
specifications, independent of the exporter (ONNX Runtime, where installed, agrees: see
test_onnx_export)."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import scipy.special


def _fields(data: bytes) -> list[tuple[int, int, object]]:
    """A protobuf message's (field number, wire type, value) in order."""
    out, i = [], 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
            out.append((field, wire, value - (1 << 64) if value >> 63 else value))
        elif wire == 2:
            size = varint()
            out.append((field, wire, data[i : i + size]))
            i += size
        elif wire == 5:
            out.append((field, wire, struct.unpack("<f", data[i : i + 4])[0]))
            i += 4
        else:
            raise ValueError(f"wire type {wire} is not used by ONNX files")
    return out


def _all(message: bytes, field: int) -> list[object]:
    return [v for f, _, v in _fields(message) if f == field]


def _one(message: bytes, field: int, default: object = None) -> object:
    found = _all(message, field)
    return found[-1] if found else default


def _tensor(message: bytes) -> tuple[str, np.ndarray]:
    dims = [int(d) for d in _all(message, 1)]
    kind = _one(message, 2)
    dtype = {1: "<f4", 7: "<i8"}[kind]
    array = np.frombuffer(_one(message, 9, b""), dtype=dtype).reshape(dims)
    return _one(message, 8).decode(), array


def _attribute(message: bytes) -> tuple[str, object]:
    name, kind = _one(message, 1).decode(), _one(message, 20)
    value = {
        1: lambda: _one(message, 2),
        2: lambda: _one(message, 3),
        3: lambda: _one(message, 4).decode(),
        7: lambda: list(_all(message, 8)),
        8: lambda: [v.decode() for v in _all(message, 9)],
    }[kind]()
    return name, value


def read_model(path: str) -> dict:
    """The parts of an ONNX model that running it needs."""
    data = open(path, "rb").read()
    graph = _one(data, 7)
    opsets = [(_one(o, 1, b"").decode(), _one(o, 2)) for o in _all(data, 8)]
    nodes = []
    for node in _all(graph, 1):
        nodes.append(
            {
                "op": _one(node, 4).decode(),
                "inputs": [s.decode() for s in _all(node, 1)],
                "outputs": [s.decode() for s in _all(node, 2)],
                "attrs": dict(_attribute(a) for a in _all(node, 5)),
            }
        )
    return {
        "ir_version": _one(data, 1),
        "opsets": opsets,
        "nodes": nodes,
        "initializers": dict(_tensor(t) for t in _all(graph, 5)),
        "inputs": [_one(v, 1).decode() for v in _all(graph, 11)],
        "outputs": [_one(v, 1).decode() for v in _all(graph, 12)],
    }


def _windows(x, attrs, fill=0.0):
    """x padded, and each output position's window of it (N spatial axes)."""
    kernel = attrs["kernel_shape"]
    dims = len(kernel)
    strides = attrs.get("strides", [1] * dims)
    dilations = attrs.get("dilations", [1] * dims)
    pads = attrs.get("pads", [0] * 2 * dims)
    spread = [(0, 0), (0, 0), *zip(pads[:dims], pads[dims:], strict=True)]
    x = np.pad(x, spread, constant_values=fill)
    counts = [
        (x.shape[2 + a] - dilations[a] * (kernel[a] - 1) - 1) // strides[a] + 1 for a in range(dims)
    ]
    for at in itertools.product(*(range(c) for c in counts)):
        cut = tuple(
            slice(i * s, i * s + d * (k - 1) + 1, d)
            for i, s, d, k in zip(at, strides, dilations, kernel, strict=True)
        )
        yield at, counts, x[(slice(None), slice(None), *cut)]


def _conv(x, w, b, attrs):
    group = attrs.get("group", 1)
    per_in, per_out = x.shape[1] // group, w.shape[0] // group
    out = None
    for at, counts, window in _windows(x, attrs):
        if out is None:
            out = np.zeros((x.shape[0], w.shape[0], *counts))
        for o in range(w.shape[0]):
            g = o // per_out
            part = window[:, g * per_in : (g + 1) * per_in]
            out[(slice(None), o, *at)] = (part * w[o]).sum(axis=tuple(range(1, part.ndim)))
    bias = 0 if b is None else b.reshape(1, -1, *[1] * (x.ndim - 2))
    return out + bias


def _pool(x, attrs, kind):
    out = None
    for at, counts, window in _windows(x, attrs, -np.inf if kind == "max" else np.nan):
        if out is None:
            out = np.zeros((*x.shape[:2], *counts))
        axes = tuple(range(2, window.ndim))
        out[(slice(None), slice(None), *at)] = (
            window.max(axis=axes) if kind == "max" else np.nanmean(window, axis=axes)
        )
    return out


def _resize(x, sizes, attrs):
    """ONNX's Resize by sizes, axis by axis: linear or nearest at half-pixel positions."""
    for axis, size in enumerate(int(v) for v in sizes):
        n = x.shape[axis]
        if size == n:
            continue
        at = (np.arange(size) + 0.5) * n / size - 0.5
        if attrs["mode"] == "nearest":  # round_prefer_ceil
            x = np.take(x, np.clip(np.floor(at + 0.5), 0, n - 1).astype(int), axis=axis)
            continue
        at = np.clip(at, 0, n - 1)
        low = np.floor(at).astype(int)
        high = np.minimum(low + 1, n - 1)
        shape = [1] * x.ndim
        shape[axis] = size
        weight = (at - low).reshape(shape)
        x = np.take(x, low, axis=axis) * (1 - weight) + np.take(x, high, axis=axis) * weight
    return x


def _conv_transpose(x, w, b, attrs):
    """Each input pixel's kernel-weighted copy added at its strided place, then cropped."""
    n, c, h, wd = x.shape
    kh, kw = attrs["kernel_shape"]
    sh, sw = attrs["strides"]
    top, left, bottom, right = attrs["pads"]
    eh, ew = attrs.get("output_padding", [0, 0])
    full = np.zeros((n, w.shape[1], (h - 1) * sh + kh + eh, (wd - 1) * sw + kw + ew))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += np.einsum(
                "nc,cokl->nokl", x[:, :, i, j], w
            )
    out = full[:, :, top : full.shape[2] - bottom, left : full.shape[3] - right]
    return out + (0 if b is None else b[None, :, None, None])


_ACTIVATIONS = {
    "Sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "Tanh": np.tanh,
    "Relu": lambda v: np.maximum(v, 0),
}


def _recurrent(op, x, w, r, b, attrs, initial=(None, None)):
    """ONNX's RNN, GRU and LSTM (one direction, time first), from zeros or the initial
    states given (initial_h, initial_c): (Y, Y_h, Y_c)."""
    hidden = attrs["hidden_size"]
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    default = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    f, g, h = ([_ACTIVATIONS[n] for n in attrs.get("activations", default)] + [None] * 3)[:3]
    w, r = w[0], r[0]
    wb, rb = (b[0][: gates * hidden], b[0][gates * hidden :]) if b is not None else (0, 0)
    steps = (
        range(x.shape[0] - 1, -1, -1) if attrs.get("direction") == "reverse" else range(x.shape[0])
    )
    state = np.zeros((x.shape[1], hidden)) if initial[0] is None else initial[0][0]
    cell = np.zeros_like(state) if len(initial) < 2 or initial[1] is None else initial[1][0]
    out = np.zeros((x.shape[0], 1, x.shape[1], hidden))
    for t in steps:
        xw, hr = x[t] @ w.T + wb, state @ r.T
        if op == "RNN":
            state = f(xw + hr + rb)
        elif op == "LSTM":
            i, o, fo, c = np.split(xw + hr + rb, 4, axis=-1)
            cell = f(fo) * cell + f(i) * g(c)
            state = f(o) * h(cell)
        else:
            xz, xr, xh = np.split(xw, 3, axis=-1)
            rz, rr, rh = np.split(state @ r.T, 3, axis=-1)
            bz, br, bh = np.split(np.broadcast_to(rb, (gates * hidden,)), 3)
            z, reset = f(xz + rz + bz), f(xr + rr + br)
            if attrs.get("linear_before_reset"):
                candidate = g(xh + reset * (rh + bh))
            else:
                candidate = g(xh + (reset * state) @ r[2 * hidden :].T + bh)
            state = (1 - z) * candidate + z * state
        out[t, 0] = state
    return out, state[None], cell[None]


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run_one(op: str, a: list, attrs: dict) -> np.ndarray:
    if op == "Conv":
        return _conv(a[0], a[1], a[2] if len(a) > 2 else None, attrs)
    return _pool(a[0], attrs, "max" if op == "MaxPool" else "average")


def run(model: dict, x: np.ndarray) -> np.ndarray:
    """The model's output for input ``x``, in float64."""
    values = {
        k: v.astype(np.float64) if v.dtype.kind == "f" else v
        for k, v in model["initializers"].items()
    }
    values[model["inputs"][0]] = x.astype(np.float64)
    for node in model["nodes"]:
        a = [values[i] if i else None for i in node["inputs"]]  # "": an input left out
        op, attrs = node["op"], node["attrs"]
        if op == "Transpose":
            y = a[0].transpose(attrs["perm"])
        elif op in ("Conv", "MaxPool", "AveragePool"):
            y = run_one(op, a, attrs)
        elif op in ("RNN", "GRU", "LSTM"):
            given = (a + [None] * 7)[5:7]  # initial_h, initial_c
            y, *states = _recurrent(op, *(a + [None])[:4], attrs, given)
            for name, state in zip(node["outputs"][1:], states, strict=False):
                values[name] = state
        elif op == "Squeeze":
            y = np.squeeze(a[0], axis=tuple(int(i) for i in a[1]))
        elif op == "Unsqueeze":
            y = np.expand_dims(a[0], axis=tuple(int(i) for i in a[1]))
        elif op == "ConvTranspose":
            y = _conv_transpose(a[0], a[1], a[2] if len(a) > 2 else None, attrs)
        elif op == "Resize" and len(a) > 3:  # by sizes, at half-pixel positions
            y = _resize(a[0], a[3], attrs)
        elif op == "Shape":
            y = np.array(a[0].shape, np.int64)
        elif op == "Expand":
            y = a[0] * np.ones(tuple(int(d) for d in a[1]), a[0].dtype)
        elif op == "Resize":  # nearest, asymmetric, floor: each pixel repeated
            y = a[0]
            for axis, scale in enumerate(a[2]):
                y = np.repeat(y, int(scale), axis=axis)
        elif op == "Gather":
            y = np.take(a[0], a[1], axis=attrs.get("axis", 0))
        elif op == "Cast":
            y = a[0].astype(np.int64)
        elif op == "Div":
            y = a[0] / a[1]
        elif op == "HardSigmoid":
            y = np.clip(attrs.get("alpha", 0.2) * a[0] + attrs.get("beta", 0.5), 0, 1)
        elif op == "Pow":
            y = a[0] ** a[1]
        elif op == "Neg":
            y = -a[0]
        elif op == "Abs":
            y = np.abs(a[0])
        elif op == "Erf":
            y = scipy.special.erf(a[0])
        elif op == "Sqrt":
            y = np.sqrt(a[0])
        elif op == "LeakyRelu":
            y = np.where(a[0] >= 0, a[0], attrs["alpha"] * a[0])
        elif op == "Slice":
            index = [slice(None)] * a[0].ndim
            axes = a[3] if len(a) > 3 else range(len(a[1]))  # by default the first ones
            steps = a[4] if len(a) > 4 else [1] * len(a[1])
            for start, end, axis, step in zip(a[1], a[2], axes, steps, strict=True):
                stop = None if step < 0 and end < -a[0].shape[axis] else int(end)
                index[axis] = slice(int(start), stop, int(step))
            y = a[0][tuple(index)]
        elif op == "Gemm":
            y = a[0] @ a[1] + (a[2] if len(a) > 2 else 0)
        elif op == "MatMul":
            y = a[0] @ a[1]
        elif op in ("Add", "Sum"):
            y = sum(a[1:], a[0])
        elif op == "Sub":
            y = a[0] - a[1]
        elif op == "Mul":
            y = a[0] * a[1]
        elif op == "Mean":
            y = sum(a) / len(a)
        elif op in ("Max", "Min"):
            y = (np.maximum if op == "Max" else np.minimum).reduce(np.broadcast_arrays(*a))
        elif op == "Relu":
            y = np.maximum(a[0], 0)
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-a[0]))
        elif op == "Tanh":
            y = np.tanh(a[0])
        elif op == "Elu":
            y = np.where(a[0] > 0, a[0], np.expm1(a[0]))
        elif op == "Clip":
            y = np.clip(a[0], a[1], a[2])
        elif op == "Softmax":
            y = _softmax(a[0], attrs.get("axis", -1))
        elif op == "Flatten":
            y = a[0].reshape(a[0].shape[0], -1)
        elif op == "Reshape":
            shape = [a[0].shape[i] if s == 0 else int(s) for i, s in enumerate(a[1])]
            y = a[0].reshape(shape)
        elif op in ("ReduceMean", "ReduceMax"):
            reduce = np.mean if op == "ReduceMean" else np.max
            y = reduce(a[0], axis=tuple(attrs["axes"]), keepdims=bool(attrs.get("keepdims", 1)))
        elif op == "Identity":
            y = a[0]
        elif op == "Pad":
            half = len(a[1]) // 2
            y = np.pad(a[0], list(zip(a[1][:half], a[1][half:], strict=True)))
        elif op == "Concat":
            y = np.concatenate(a, axis=attrs["axis"])
        else:
            raise NotImplementedError(op)
        values[node["outputs"][0]] = y
    return values[model["outputs"][0]]
