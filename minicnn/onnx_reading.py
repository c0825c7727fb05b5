"""Reading an ONNX file (a ModelProto message) into plain Python: its graph's nodes,
constants, inputs and outputs, without the ``onnx`` package. The field numbers are those
of onnx.proto; ``onnx_import`` turns what this reads into a minicnn model."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .protobuf import WireError, fields, packed_varints, signed

# TensorProto.DataType -> NumPy's little-endian dtype.
DTYPES = {
    1: "<f4",
    2: "u1",
    3: "i1",
    4: "<u2",
    5: "<i2",
    6: "<i4",
    7: "<i8",
    9: "bool",
    10: "<f2",
    11: "<f8",
    12: "<u4",
    13: "<u8",
}
BFLOAT16 = 16


class OnnxFileError(ValueError):
    """A file that is not an ONNX model minicnn can read."""


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    name: str
    attrs: dict[str, Any]
    domain: str = ""


@dataclass
class Graph:
    nodes: list[Node]
    constants: dict[str, np.ndarray]
    inputs: list[tuple[str, tuple[int | str | None, ...], str]]  # name, shape, dtype
    outputs: list[str]
    opset: int
    name: str = "onnx_model"
    folder: Path | None = None  # where its external data files are


def _grouped(message: bytes) -> dict[int, list[tuple[int, Any]]]:
    out: dict[int, list[tuple[int, Any]]] = {}
    for number, wire, value in fields(message):
        out.setdefault(number, []).append((wire, value))
    return out


def _text(group: dict, number: int, default: str = "") -> str:
    found = group.get(number)
    return found[-1][1].decode("utf-8") if found else default


def _int(group: dict, number: int, default: int = 0) -> int:
    found = group.get(number)
    return signed(found[-1][1]) if found else default


def _ints(group: dict, number: int) -> list[int]:
    """A repeated int64 field, packed or not."""
    out: list[int] = []
    for wire, value in group.get(number, []):
        out.extend(packed_varints(value) if wire == 2 else [signed(value)])
    return out


def _numbers(group: dict, number: int, fmt: str) -> list[float]:
    """A repeated float ("f") or double ("d") field, packed or not."""
    out: list[float] = []
    size = struct.calcsize("<" + fmt)
    for _, value in group.get(number, []):
        out.extend(struct.unpack(f"<{len(value) // size}{fmt}", value))
    return out


def _external(group: dict, name: str, folder: Path | None) -> bytes:
    """The bytes of a tensor kept in a file beside the model (as PyTorch's exporter keeps
    them, in "model.onnx.data"): its location, offset and length."""
    entries = {}
    for _, entry in group.get(13, []):
        e = _grouped(entry)
        entries[_text(e, 1)] = _text(e, 2)
    location = entries.get("location", "")
    if folder is None:
        raise OnnxFileError(f"tensor '{name}' is kept in the file '{location}' beside the model.")
    path = (folder / location).resolve()
    if not location or Path(location).is_absolute() or folder.resolve() not in path.parents:
        raise OnnxFileError(
            f"tensor '{name}': its external data location {location!r} is not a file in the "
            "model's own folder."
        )
    if not path.is_file():
        raise OnnxFileError(f"tensor '{name}' is kept in {path}, which is not there.")
    offset = int(entries.get("offset", 0))
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(int(entries["length"])) if "length" in entries else f.read()
    if "length" in entries and len(data) != int(entries["length"]):
        raise OnnxFileError(f"tensor '{name}': {path} ends before its data does (truncated).")
    return data


def tensor(message: bytes, folder: Path | None = None) -> tuple[str, np.ndarray]:
    """A TensorProto's name and array; ``folder`` holds the files of external data."""
    group = _grouped(message)
    name, kind = _text(group, 8), _int(group, 2)
    dims = _ints(group, 1)
    if _int(group, 14) == 1:
        group[9] = [(2, _external(group, name, folder))]
    if kind == BFLOAT16:
        bits = _raw_or_ints(group, "<u2", 5)
        array = (bits.astype(np.uint32) << 16).view(np.float32)
    elif kind in DTYPES:
        dtype = np.dtype(DTYPES[kind])
        if 9 in group:
            array = np.frombuffer(group[9][-1][1], dtype=dtype).copy()
        elif kind == 1:
            array = np.array(_numbers(group, 4, "f"), np.float32)
        elif kind == 11:
            array = np.array(_numbers(group, 10, "d"), np.float64)
        elif kind in (7,):
            array = np.array(_ints(group, 7), np.int64)
        elif kind in (12, 13):
            array = np.array([v % (1 << 64) for v in _ints(group, 11)], dtype)
        elif kind == 10:
            array = np.array(_ints(group, 5), np.uint16).view(np.float16)
        else:
            array = np.array(_ints(group, 5), np.int64).astype(dtype)
    else:
        raise OnnxFileError(f"tensor '{name}' has ONNX data type {kind}, which minicnn can't read")
    count = int(np.prod(dims)) if dims else 1
    if array.size != count:
        raise OnnxFileError(
            f"tensor '{name}' holds {array.size} values for its shape {tuple(dims)} "
            f"({count} values): the file is corrupt."
        )
    return name, array.reshape(dims)


def _raw_or_ints(group: dict, dtype: str, number: int) -> np.ndarray:
    if 9 in group:
        return np.frombuffer(group[9][-1][1], dtype=dtype).copy()
    return np.array(_ints(group, number), np.int64).astype(dtype)


def _attribute(message: bytes) -> tuple[str, Any]:
    group = _grouped(message)
    name, kind = _text(group, 1), _int(group, 20)
    if kind == 1:
        return name, struct.unpack("<f", group[2][-1][1])[0] if 2 in group else 0.0
    if kind == 2:
        return name, _int(group, 3)
    if kind == 3:
        return name, group[4][-1][1].decode("utf-8") if 4 in group else ""
    if kind == 4:
        return name, tensor(group[5][-1][1])[1]
    if kind == 6:
        return name, _numbers(group, 7, "f")
    if kind == 7:
        return name, _ints(group, 8)
    if kind == 8:
        return name, [v.decode("utf-8") for _, v in group.get(9, [])]
    if kind == 5:  # a subgraph (If, Loop, Scan): kept as bytes, read where it is taken
        return name, group[6][-1][1]
    raise OnnxFileError(f"attribute '{name}' has ONNX attribute type {kind}, not read here.")


def _value_info(message: bytes) -> tuple[str, tuple[int | str | None, ...], str]:
    """A ValueInfoProto's name, shape (an int, a symbolic name or None per axis) and dtype."""
    group = _grouped(message)
    name = _text(group, 1)
    shape: tuple[int | str | None, ...] = ()
    dtype = "float32"
    for _, type_proto in group.get(2, []):
        tensor_type = _grouped(type_proto).get(1)
        if not tensor_type:
            continue
        tensor_group = _grouped(tensor_type[-1][1])
        kind = _int(tensor_group, 1, 1)
        dtype = np.dtype(DTYPES.get(kind, "<f4")).name
        dims = []
        for _, shape_proto in tensor_group.get(2, []):
            for _, dim in _grouped(shape_proto).get(1, []):
                d = _grouped(dim)
                dims.append(_int(d, 1) if 1 in d else (_text(d, 2) or None))
        shape = tuple(dims)
    return name, shape, dtype


def read_graph(data: bytes, source: str = "ONNX model", folder: Path | None = None) -> Graph:
    """The graph of a serialized ModelProto; ``folder`` holds its external data files."""
    try:
        model = _grouped(data)
        if 7 not in model:
            raise OnnxFileError(f"{source}: no graph in it; is it an ONNX model file?")
        opset = 0
        for _, opset_proto in model.get(8, []):
            o = _grouped(opset_proto)
            if _text(o, 1) in ("", "ai.onnx"):
                opset = _int(o, 2)
        return _graph(model[7][-1][1], source, folder, opset)
    except WireError as e:
        raise OnnxFileError(f"{source}: not a well-formed ONNX file ({e}).") from None
    except (KeyError, IndexError, UnicodeDecodeError, struct.error) as e:
        raise OnnxFileError(f"{source}: not a well-formed ONNX file ({e!r}).") from None


def read_subgraph(data: bytes, parent: Graph, source: str) -> Graph:
    """A subgraph attribute's GraphProto (an If's branch), in its parent's opset."""
    try:
        return _graph(data, source, parent.folder, parent.opset)
    except WireError as e:
        raise OnnxFileError(f"{source}: not a well-formed subgraph ({e}).") from None
    except (KeyError, IndexError, UnicodeDecodeError, struct.error) as e:
        raise OnnxFileError(f"{source}: not a well-formed subgraph ({e!r}).") from None


def _graph(data: bytes, source: str, folder: Path | None, opset: int) -> Graph:
    graph = _grouped(data)
    nodes = []
    for _, node in graph.get(1, []):
        n = _grouped(node)
        nodes.append(
            Node(
                op=_text(n, 4),
                inputs=[v.decode("utf-8") for _, v in n.get(1, [])],
                outputs=[v.decode("utf-8") for _, v in n.get(2, [])],
                name=_text(n, 3),
                attrs=dict(_attribute(a) for _, a in n.get(5, [])),
                domain=_text(n, 7),
            )
        )
    constants = dict(tensor(t, folder) for _, t in graph.get(5, []))
    if graph.get(15):
        raise OnnxFileError(f"{source}: sparse initializers are not read by minicnn.")
    inputs = [_value_info(v) for _, v in graph.get(11, [])]
    return Graph(
        nodes=nodes,
        constants=constants,
        inputs=[i for i in inputs if i[0] not in constants],
        outputs=[_value_info(v)[0] for _, v in graph.get(12, [])],
        opset=opset,
        name=_text(graph, 2) or "onnx_model",
        folder=folder,
    )


def read_onnx(path: str | os.PathLike) -> Graph:
    """The graph of the ONNX file at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No ONNX file at {path}.")
    return read_graph(path.read_bytes(), str(path), path.parent)


def is_onnx(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like an ONNX model: its name ends in .onnx and it starts with
    ModelProto's ir_version field."""
    path = Path(path)
    if path.suffix.lower() != ".onnx" or not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(1) == b"\x08"
