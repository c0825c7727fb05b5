"""Keras' Hashing and HashedCrossing layers, with the hashes TensorFlow gives them, written
here: FarmHash's Fingerprint64 (``to_hash_bucket_fast``), SipHash-2-4 (``to_hash_bucket_strong``,
with a salt) and FingerprintCat64 (``sparse.cross_hashed``), so a value falls in the bin Keras
puts it in. They work on data (strings or integers), before a model, as the lookup layers do."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from .data_checks import positive_int
from .text_layers import DataLayer, id_vectors

MASK = (1 << 64) - 1
K0, K1, K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F
CROSS_KEY = 0xDECAFCAFFE  # TensorFlow's default hash key of sparse.cross_hashed
OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def _rotate(value: int, shift: int) -> int:
    """Right rotation, as FarmHash's Rotate."""
    return ((value >> shift) | (value << (64 - shift))) & MASK if shift else value


def _rotl(value: int, shift: int) -> int:
    """Left rotation, as SipHash's ROTL."""
    return ((value << shift) | (value >> (64 - shift))) & MASK


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _fetch64(data: bytes, at: int) -> int:
    return struct.unpack_from("<Q", data, at)[0]


def _fetch32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _hash_len16(u: int, v: int, mul: int = 0x9DDFEA08EB382D69) -> int:
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _len_0_to_16(s: bytes) -> int:
    n = len(s)
    if n >= 8:
        mul = (K2 + n * 2) & MASK
        a = (_fetch64(s, 0) + K2) & MASK
        b = _fetch64(s, n - 8)
        c = (_rotate(b, 37) * mul + a) & MASK
        d = ((_rotate(a, 25) + b) * mul) & MASK
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = (K2 + n * 2) & MASK
        return _hash_len16((n + (_fetch32(s, 0) << 3)) & MASK, _fetch32(s, n - 4), mul)
    if n:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * K2) ^ (z * K0)) & MASK) * K2) & MASK
    return K2


def _len_17_to_32(s: bytes) -> int:
    n = len(s)
    mul = (K2 + n * 2) & MASK
    a = (_fetch64(s, 0) * K1) & MASK
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & MASK
    d = (_fetch64(s, n - 16) * K2) & MASK
    return _hash_len16(
        (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK,
        (a + _rotate((b + K2) & MASK, 18) + c) & MASK,
        mul,
    )


def _len_33_to_64(s: bytes) -> int:
    n = len(s)
    mul = (K2 + n * 2) & MASK
    a = (_fetch64(s, 0) * K2) & MASK
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & MASK
    d = (_fetch64(s, n - 16) * K2) & MASK
    y = (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK
    z = _hash_len16(y, (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_fetch64(s, 16) * mul) & MASK
    f = _fetch64(s, 24)
    g = ((y + _fetch64(s, n - 32)) * mul) & MASK
    h = ((z + _fetch64(s, n - 24)) * mul) & MASK
    return _hash_len16(
        (_rotate((e + f) & MASK, 43) + _rotate(g, 30) + h) & MASK,
        (e + _rotate((f + a) & MASK, 18) + g) & MASK,
        mul,
    )


def _weak_32(s: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_fetch64(s, at + 8 * i) for i in range(4))
    a = (a + w) & MASK
    b = _rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def fingerprint64(data: bytes) -> int:
    """FarmHash's Fingerprint64 (its 'na' Hash64), TensorFlow's string fingerprint."""
    n = len(data)
    if n <= 16:
        return _len_0_to_16(data)
    if n <= 32:
        return _len_17_to_32(data)
    if n <= 64:
        return _len_33_to_64(data)
    seed = 81
    x = seed
    y = (seed * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v, w = (0, 0), (0, 0)
    x = (x * K2 + _fetch64(data, 0)) & MASK
    end = ((n - 1) // 64) * 64
    last64 = n - 64
    at = 0
    while True:
        x = (_rotate((x + y + v[0] + _fetch64(data, at + 8)) & MASK, 37) * K1) & MASK
        y = (_rotate((y + v[1] + _fetch64(data, at + 48)) & MASK, 42) * K1) & MASK
        x ^= w[1]
        y = (y + v[0] + _fetch64(data, at + 40)) & MASK
        z = (_rotate((z + w[0]) & MASK, 33) * K1) & MASK
        v = _weak_32(data, at, (v[1] * K1) & MASK, (x + w[0]) & MASK)
        w = _weak_32(data, at + 32, (z + w[1]) & MASK, (y + _fetch64(data, at + 16)) & MASK)
        z, x = x, z
        at += 64
        if at == end:
            break
    mul = (K1 + ((z & 0xFF) << 1)) & MASK
    at = last64
    w = ((w[0] + ((n - 1) & 63)) & MASK, w[1])
    v = ((v[0] + w[0]) & MASK, v[1])
    w = ((w[0] + v[0]) & MASK, w[1])
    x = (_rotate((x + y + v[0] + _fetch64(data, at + 8)) & MASK, 37) * mul) & MASK
    y = (_rotate((y + v[1] + _fetch64(data, at + 48)) & MASK, 42) * mul) & MASK
    x ^= (w[1] * 9) & MASK
    y = (y + v[0] * 9 + _fetch64(data, at + 40)) & MASK
    z = (_rotate((z + w[0]) & MASK, 33) * mul) & MASK
    v = _weak_32(data, at, (v[1] * mul) & MASK, (x + w[0]) & MASK)
    w = _weak_32(data, at + 32, (z + w[1]) & MASK, (y + _fetch64(data, at + 16)) & MASK)
    z, x = x, z
    return _hash_len16(
        (_hash_len16(v[0], w[0], mul) + _shift_mix(y) * K0 + z) & MASK,
        (_hash_len16(v[1], w[1], mul) + x) & MASK,
        mul,
    )


def siphash24(key0: int, key1: int, data: bytes) -> int:
    """SipHash-2-4 of ``data`` under the 128-bit key (key0, key1), TensorFlow's strong hash."""
    v0 = key0 ^ 0x736F6D6570736575
    v1 = key1 ^ 0x646F72616E646F6D
    v2 = key0 ^ 0x6C7967656E657261
    v3 = key1 ^ 0x7465646279746573

    def rounds(count: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(count):
            v0 = (v0 + v1) & MASK
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & MASK
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & MASK
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & MASK
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    whole = len(data) // 8 * 8
    for at in range(0, whole, 8):
        m = _fetch64(data, at)
        v3 ^= m
        rounds(2)
        v0 ^= m
    tail = data[whole:] + bytes(7 - len(data) % 8)
    m = (len(data) & 0xFF) << 56 | int.from_bytes(tail[:7], "little")
    v3 ^= m
    rounds(2)
    v0 ^= m
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


def fingerprint_cat64(first: int, second: int) -> int:
    """TensorFlow's FingerprintCat64: two fingerprints combined into one."""
    mul = 0xC6A4A7935BD1E995
    result = first ^ mul
    result ^= (_shift_mix((second * mul) & MASK) * mul) & MASK
    result = (result * mul) & MASK
    result = (_shift_mix(result) * mul) & MASK
    return _shift_mix(result)


def _as_bytes(value: Any, owner: str) -> bytes:
    """A string's UTF-8 bytes, or an integer's decimal digits, as TensorFlow's as_string."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value)).encode()
    raise ValueError(
        f"{owner} hashes strings and integers, got {value!r} ({type(value).__name__})."
    )


def _encoded(ids: np.ndarray, output_mode: str, depth: int, owner: str) -> np.ndarray:
    """Bin ids as Keras' encode_categorical_inputs gives them: as they are ('int'), or one
    row of ``depth`` per sample (one_hot: one id each; multi_hot; count)."""
    if output_mode == "int":
        return ids
    rows = ids.reshape(len(ids), -1) if ids.ndim > 1 else ids.reshape(-1, 1)
    if output_mode == "one_hot" and rows.shape[1] != 1:
        raise ValueError(f"{owner}: output_mode='one_hot' takes one value per sample.")
    return id_vectors(rows, depth, counts=output_mode == "count")


class _DataHashing(DataLayer):
    """The arguments Hashing and HashedCrossing share: bins and an output mode."""

    def __init__(self, num_bins: int, output_mode: str, sparse: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.num_bins = positive_int(num_bins, f"{owner}: num_bins")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(
                f"{owner}: output_mode must be one of {', '.join(OUTPUT_MODES)}; got "
                f"{output_mode!r}."
            )
        if sparse:
            raise ValueError(f"{owner}: sparse outputs are not available; dense ones are.")
        self.output_mode, self.sparse = output_mode, False

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


class Hashing(_DataHashing):
    """Keras' Hashing: each value (a string, or an integer as its decimal string) to a bin
    in [0, num_bins): FarmHash's Fingerprint64 modulo the bins, or, with ``salt`` (an int,
    or a pair), SipHash-2-4 keyed by it, as TensorFlow's to_hash_bucket_fast and _strong
    do. With ``mask_value``, that value gets bin 0 and the others the bins after it."""

    def __init__(
        self,
        num_bins: int,
        mask_value: Any = None,
        salt: Any = None,
        output_mode: str = "int",
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_bins, output_mode, sparse, **kwargs)
        if salt is not None:
            pair = [salt, salt] if isinstance(salt, int) and not isinstance(salt, bool) else salt
            if not (
                isinstance(pair, (list, tuple))
                and len(pair) == 2
                and all(isinstance(s, int) and not isinstance(s, bool) for s in pair)
            ):
                raise ValueError(
                    f"{self.describe()}: salt must be an int or a pair of ints, got {salt!r}."
                )
            salt = [int(s) & MASK for s in pair]
        self.mask_value, self.salt = mask_value, salt

    def _bin(self, value: Any, bins: int) -> int:
        data = _as_bytes(value, self.describe())
        if self.salt is None:
            return fingerprint64(data) % bins
        return siphash24(self.salt[0], self.salt[1], data) % bins

    def on_data(self, x: Any) -> np.ndarray:
        values = np.asarray(x, dtype=object)
        masking = self.mask_value is not None and self.num_bins > 1
        bins = self.num_bins - 1 if masking else self.num_bins
        flat = [
            0 if masking and v == self.mask_value else self._bin(v, bins) + masking
            for v in values.reshape(-1).tolist()
        ]
        ids = np.array(flat, np.int64).reshape(values.shape)
        return _encoded(ids, self.output_mode, self.num_bins, self.describe())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value, "salt": self.salt}


class HashedCrossing(_DataHashing):
    """Keras' HashedCrossing: a tuple of features (each (batch,) or (batch, 1), strings or
    integers) to the bin of their combination, as TensorFlow's sparse.cross_hashed: starting
    from its key, each feature's hash (a string's Fingerprint64, an integer itself) is folded
    in with FingerprintCat64, modulo ``num_bins``."""

    takes_list = True  # a tuple of features

    def __init__(
        self, num_bins: int, output_mode: str = "int", sparse: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(num_bins, output_mode, sparse, **kwargs)

    def on_data(self, x: Any) -> np.ndarray:
        owner = self.describe()
        if not isinstance(x, (list, tuple)) or len(x) < 2:
            raise ValueError(f"{owner} takes a tuple of at least two features.")
        columns = [np.asarray(f, dtype=object) for f in x]
        shape = columns[0].shape
        if any(c.shape != shape for c in columns) or (len(shape) == 2 and shape[1] != 1):
            raise ValueError(
                f"{owner}: every feature must have the shape (batch,) or (batch, 1), the same "
                f"for all; got {[c.shape for c in columns]}."
            )
        flat = []
        for values in zip(*(c.reshape(-1).tolist() for c in columns), strict=True):
            key = CROSS_KEY
            for v in values:
                if isinstance(v, (str, bytes)):
                    part = fingerprint64(_as_bytes(v, owner))
                elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                    part = int(v) & MASK
                else:
                    raise ValueError(f"{owner} crosses strings and integers, got {v!r}.")
                key = fingerprint_cat64(key, part)
            flat.append(key % self.num_bins)
        ids = np.array(flat, np.int64).reshape(shape)
        return _encoded(ids, self.output_mode, self.num_bins, owner)
