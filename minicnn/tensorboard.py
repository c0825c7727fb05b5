"""TensorBoard's event files, written without TensorFlow: the records TensorBoard reads
(``events.out.tfevents.*``), each an ``Event`` protocol buffer of scalars or histograms in a
TFRecord frame (length, data, each with its masked CRC-32C). Only what the TensorBoard
callback writes is encoded; the wire format is protobuf's (varints, fixed 64- and 32-bit
fields, length-delimited messages)."""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .protobuf import bytes_field, double_field, float_field, int_field, packed_doubles


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), which TFRecord frames use."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord frame."""
    length = struct.pack("<Q", len(data))
    return (
        length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))
    )


def event(step: int, wall_time: float, summary: bytes | None = None, version: str = "") -> bytes:
    """An Event: wall_time (1), step (2), file_version (3) or summary (5)."""
    out = double_field(1, wall_time) + int_field(2, step)
    if version:
        out += bytes_field(3, version.encode())
    if summary is not None:
        out += bytes_field(5, summary)
    return out


def scalar_summary(tag: str, value: float) -> bytes:
    """A Summary with one Value: tag (1), simple_value (2)."""
    return bytes_field(1, bytes_field(1, tag.encode()) + float_field(2, value))


def histogram_summary(tag: str, values: np.ndarray, bins: int = 30) -> bytes:
    """A Summary with one Value: tag (1), histo (5), a HistogramProto of ``values``: min (1),
    max (2), num (3), sum (4), sum_squares (5), bucket_limit (6) and bucket (7), each bucket
    counting the values up to its limit."""
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size == 0:
        values = np.zeros(1)
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    proto = (
        double_field(1, float(values.min()))
        + double_field(2, float(values.max()))
        + double_field(3, float(values.size))
        + double_field(4, float(values.sum()))
        + double_field(5, float((values**2).sum()))
        + packed_doubles(6, edges[1:])
        + packed_doubles(7, counts)
    )
    return bytes_field(1, bytes_field(1, tag.encode()) + bytes_field(5, proto))


class EventWriter:
    """An event file in ``folder`` (made if missing), named as TensorFlow names them; each
    record is appended and flushed whole."""

    _count = 0

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        EventWriter._count += 1
        name = (
            f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
            f"{os.getpid()}.{EventWriter._count}.v2"
        )
        self.path = folder / name
        self._file: BinaryIO | None = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._write(event(0, time.time(), version="brain.Event:2"))

    def _write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError(f"The event file {self.path} is closed.")
        self._file.write(record(data))
        self._file.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        self._write(event(step, time.time(), scalar_summary(tag, float(value))))

    def histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        self._write(event(step, time.time(), histogram_summary(tag, values)))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
