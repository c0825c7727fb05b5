"""Protocol buffers' wire format, the few kinds of field that minicnn writes: TensorBoard's
event files (``tensorboard``) and ONNX models (``onnx_export``) are such messages."""

from __future__ import annotations

import struct
from typing import Any


def varint(value: int) -> bytes:
    """A base-128 varint; a negative int64 as its two's complement, as protobuf writes it."""
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def int_field(field: int, value: int) -> bytes:
    return key(field, 0) + varint(int(value))


def bytes_field(field: int, value: bytes) -> bytes:
    return key(field, 2) + varint(len(value)) + value


def text_field(field: int, value: str) -> bytes:
    return bytes_field(field, value.encode("utf-8"))


def float_field(field: int, value: float) -> bytes:
    return key(field, 5) + struct.pack("<f", value)


def double_field(field: int, value: float) -> bytes:
    return key(field, 1) + struct.pack("<d", value)


def packed_doubles(field: int, values: Any) -> bytes:
    return bytes_field(field, b"".join(struct.pack("<d", float(v)) for v in values))


# --- reading -----------------------------------------------------------------------------------


class WireError(ValueError):
    """Bytes that are not a well-formed protocol-buffer message."""


def _varint_at(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(data) or shift > 63:
            raise WireError("a varint runs past the end of the message")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def fields(data: bytes) -> list[tuple[int, int, Any]]:
    """A message's fields in order, as (field number, wire type, value): an int for a varint,
    bytes for a length-delimited field and for the 8- and 4-byte fixed ones (their meaning,
    float or integer, is the message's to say)."""
    out, i, end = [], 0, len(data)
    while i < end:
        tag, i = _varint_at(data, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint_at(data, i)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i : i + size], i + size
        elif wire == 2:
            size, i = _varint_at(data, i)
            value, i = data[i : i + size], i + size
        else:
            raise WireError(f"field {field} has wire type {wire}, which no message here uses")
        if i > end or field == 0:
            raise WireError("a field runs past the end of the message")
        out.append((field, wire, value))
    return out


def signed(value: int) -> int:
    """A varint read as int64 (two's complement)."""
    return value - (1 << 64) if value >> 63 else value


def packed_varints(data: bytes) -> list[int]:
    """A packed repeated int field's values, as int64."""
    out, i = [], 0
    while i < len(data):
        value, i = _varint_at(data, i)
        out.append(signed(value))
    return out
