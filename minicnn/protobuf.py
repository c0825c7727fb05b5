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
