"""A reader of ONNX files and a NumPy interpreter of the operators minicnn's ONNX export
writes: the test oracle of ``export(format="onnx")``, written from the ONNX and protobuf
specifications, independent of the exporter (ONNX Runtime, where installed, agrees: see
test_onnx_export)."""

from __future__ import annotations

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


def _conv(x, w, b, attrs):
    n, c, h, wd = x.shape
    kh, kw = attrs["kernel_shape"]
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    group = attrs.get("group", 1)
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, w.shape[0], oh, ow))
    per_in, per_out = c // group, w.shape[0] // group
    for o in range(w.shape[0]):
        g = o // per_out
        for i in range(oh):
            for j in range(ow):
                window = x[
                    :,
                    g * per_in : (g + 1) * per_in,
                    i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                    j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                ]
                out[:, o, i, j] = (window * w[o]).sum(axis=(1, 2, 3))
    return out + (0 if b is None else b[None, :, None, None])


def _pool(x, attrs, kind):
    kh, kw = attrs["kernel_shape"]
    sh, sw = attrs.get("strides", [1, 1])
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    fill = -np.inf if kind == "max" else np.nan
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            out[:, :, i, j] = (
                window.max(axis=(2, 3)) if kind == "max" else np.nanmean(window, axis=(2, 3))
            )
    return out


def _as_2d(attrs: dict) -> dict:
    """A 1-D Conv's or pool's attributes as a 2-D one's of height 1."""
    if len(attrs["kernel_shape"]) == 2:
        return attrs
    out = dict(attrs, kernel_shape=[1, *attrs["kernel_shape"]])
    for key in ("strides", "dilations"):
        if key in attrs:
            out[key] = [1, *attrs[key]]
    if "pads" in attrs:
        out["pads"] = [0, attrs["pads"][0], 0, attrs["pads"][1]]
    return out


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


def _recurrent(op, x, w, r, b, attrs):
    """ONNX's RNN, GRU and LSTM (one direction, time first): (Y, Y_h)."""
    hidden = attrs["hidden_size"]
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    default = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    f, g, h = ([_ACTIVATIONS[n] for n in attrs.get("activations", default)] + [None] * 3)[:3]
    w, r = w[0], r[0]
    wb, rb = (b[0][: gates * hidden], b[0][gates * hidden :]) if b is not None else (0, 0)
    steps = (
        range(x.shape[0] - 1, -1, -1) if attrs.get("direction") == "reverse" else range(x.shape[0])
    )
    state = np.zeros((x.shape[1], hidden))
    cell = np.zeros_like(state)
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
    return out, state[None]


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
        elif op in ("Conv", "MaxPool", "AveragePool") and a[0].ndim == 3:  # 1-D: height 1
            weights = [v[:, :, None] for v in a[1:2]] + a[2:]
            y = run_one(op, [a[0][:, :, None], *weights], _as_2d(attrs))[:, :, 0]
        elif op in ("Conv", "MaxPool", "AveragePool"):
            y = run_one(op, a, attrs)
        elif op in ("RNN", "GRU", "LSTM"):
            y, last = _recurrent(op, a[0], a[1], a[2], a[3] if len(a) > 3 else None, attrs)
            values[node["outputs"][1]] = last
        elif op == "Squeeze":
            y = np.squeeze(a[0], axis=tuple(int(i) for i in a[1]))
        elif op == "ConvTranspose":
            y = _conv_transpose(a[0], a[1], a[2] if len(a) > 2 else None, attrs)
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
        elif op == "Erf":
            y = scipy.special.erf(a[0])
        elif op == "Sqrt":
            y = np.sqrt(a[0])
        elif op == "LeakyRelu":
            y = np.where(a[0] >= 0, a[0], attrs["alpha"] * a[0])
        elif op == "Slice":
            index = [slice(None)] * a[0].ndim
            steps = a[4] if len(a) > 4 else [1] * len(a[1])
            for start, end, axis, step in zip(a[1], a[2], a[3], steps, strict=True):
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
