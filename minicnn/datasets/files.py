"""Finding, checking and downloading dataset files, shared by every dataset."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..fileio import atomic_write

T = TypeVar("T")


class DatasetError(ValueError):
    """A dataset file that is missing, truncated, corrupt or not what it claims to be."""


def cache_root() -> Path:
    """$MINICNN_CACHE, else $XDG_CACHE_HOME/minicnn, else ~/.cache/minicnn."""
    if os.environ.get("MINICNN_CACHE"):
        return Path(os.environ["MINICNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "minicnn"


def search_dirs(data_dir: str | os.PathLike | None, folder: str) -> list[tuple[str, Path]]:
    """Where a dataset is looked for, in order, each with the reason: ``data_dir``,
    ``$MINICNN_DATA`` and its ``folder``, then the cache's ``folder``."""
    dirs = []
    if data_dir is not None:
        dirs.append(("data_dir argument", Path(data_dir)))
    if os.environ.get("MINICNN_DATA"):
        env = Path(os.environ["MINICNN_DATA"])
        dirs += [("$MINICNN_DATA", env), ("$MINICNN_DATA", env / folder)]
    dirs.append(("cache", cache_root() / folder))
    return dirs


def locate(
    title: str,
    dirs: list[tuple[str, Path]],
    probe: Callable[[Path], T | None],
    cache: Path,
    fetch: Callable[[Path], list[str]] | None,
    fix: str,
) -> T:
    """What ``probe`` finds in the first of ``dirs`` that has it; else ``fetch`` it into
    ``cache`` (when given); else a DatasetError listing every place tried and how to fix it."""
    tried = []
    for why, directory in dirs:
        found = probe(directory)
        if found:
            return found
        tried.append(f"{directory} ({why}): " + ("incomplete" if directory.is_dir() else "absent"))
    if fetch is not None:
        failures = fetch(cache)
        found = probe(cache)
        if found and not failures:
            return found
        tried += failures
    else:
        tried.append("download: not allowed (download=False)")
    raise DatasetError(f"{title} not found. Tried:\n  - " + "\n  - ".join(tried) + f"\nFix: {fix}")


def locate_download(
    title: str,
    folder: str,
    data_dir: str | os.PathLike | None,
    probe: Callable[[Path], T | None],
    archive: str,
    sha256: str,
    mirrors: Sequence[str],
    download_missing: bool,
    fix: str,
) -> T:
    """``locate`` for a dataset of one downloadable file (its SHA-256 that of the file as
    served): looked for in ``search_dirs(data_dir, folder)``, fetched into the cache's
    ``folder`` when allowed."""

    def fetch(cache: Path) -> list[str]:
        return download([archive], {archive: sha256}, mirrors, cache, hash_decompressed=False)

    return locate(
        title,
        search_dirs(data_dir, folder),
        probe,
        cache_root() / folder,
        fetch if download_missing else None,
        fix,
    )


def open_maybe_gzip(path: Path) -> bytes:
    """The whole (decompressed) contents of ``path``; a DatasetError naming it if it is corrupt."""
    return _decompressed(path.read_bytes(), str(path))


IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, path: Path, expected_ndim: int) -> np.ndarray:
    """An IDX array (LeCun's format: 0x0000, a type byte, a rank byte, big-endian sizes, data)."""
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in IDX_TYPES:
        raise DatasetError(
            f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'none'})."
        )
    ndim = data[3]
    if ndim != expected_ndim:
        raise DatasetError(f"{path}: an IDX file of rank {ndim}, expected rank {expected_ndim}.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header.")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        what = "truncated" if len(data) - header < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: IDX file {what}: header says {shape} ({expected} bytes of data), "
            f"found {len(data) - header} bytes."
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def find_file(directory: Path, name: str) -> Path | None:
    """``name`` (a .gz name) or its uncompressed twin inside ``directory``."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(
    names: Sequence[str],
    checksums: dict[str, str],
    mirrors: Sequence[str],
    target: Path,
    hash_decompressed: bool = True,
) -> list[str]:
    """Fetch every file from the first mirror that works into ``target``; returns what failed.

    Each file is checked against its SHA-256 (of the decompressed bytes when
    ``hash_decompressed``, so that a mirror that recompresses still matches), written to a
    temporary file and renamed: a failed or interrupted download leaves nothing behind.
    """
    failures = []
    for mirror in mirrors:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return [f"cannot create cache directory {target}: {e}"]
        try:
            for name in names:
                if find_file(target, name) is not None:
                    continue
                with urllib.request.urlopen(mirror + name, timeout=30) as response:
                    payload = response.read()
                hashed = _decompressed(payload, mirror + name) if hash_decompressed else payload
                digest = sha256_of(hashed)
                if digest != checksums[name]:
                    raise DatasetError(
                        f"{mirror + name}: checksum mismatch (SHA-256 {digest}, expected "
                        f"{checksums[name]}); the download was discarded."
                    )
                atomic_write(target / name, lambda f, data=payload: f.write(data))
            return []
        except (OSError, DatasetError, ValueError) as e:
            failures.append(f"download from {mirror}: {e}")
    return failures


def _decompressed(payload: bytes, where: str) -> bytes:
    if payload[:2] != b"\x1f\x8b":
        return payload
    try:
        return gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{where}: corrupt or truncated gzip data ({e}).") from None
