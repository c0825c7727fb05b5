"""Keras' ``utils.get_file``: a file from a URL, kept in minicnn's cache (``$MINICNN_CACHE``,
else ``~/.cache/minicnn``), checked against a SHA-256 or MD5 hash, and optionally
extracted from a tar or zip archive. A download or an extraction is written beside its
target and renamed into place, so an interrupted one leaves nothing half-written."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from .datasets.files import cache_root
from .fileio import atomic_write

CHUNK = 1 << 16


def _hasher(algorithm: str) -> Any:
    # MD5 only to check the legacy hashes Keras publishes for some files
    return hashlib.sha256() if algorithm == "sha256" else hashlib.md5()


def hash_file(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The file's SHA-256 (or MD5) as hex digits, read in chunks."""
    hasher = _hasher(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _algorithm(file_hash: str, algorithm: str) -> str:
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5'; got {algorithm!r}.")
    if algorithm == "auto":
        return "sha256" if len(file_hash) == 64 else "md5"
    return algorithm


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: Any = "auto",
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
) -> str:
    """Keras' get_file: ``origin`` fetched into ``cache_dir/cache_subdir/fname`` unless it
    is there already (and matches ``file_hash``, when given); returns its path, or with
    ``extract`` the folder it was extracted to (``<name>_extracted`` for an ``fname`` with
    an extension, else ``fname``), as Keras 3 does."""
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _algorithm(file_hash, hash_algorithm) if file_hash else hash_algorithm
    folder = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    datadir = folder / cache_subdir  # an absolute cache_subdir replaces the cache folder
    datadir.mkdir(parents=True, exist_ok=True)
    given = os.fspath(fname) if fname else None
    if given and os.sep in given:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's "
            f"parent directory, use the `cache_dir` argument. Received: fname={given}"
        )
    name = given or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(
            f"Can't parse the file name from the origin provided: '{origin}'. Please specify "
            "the `fname` argument."
        )
    extraction_dir = None
    target = datadir / name
    if extract or untar:
        if given and "." in name:
            extraction_dir = datadir / f"{name[: name.find('.')]}_extracted"
        else:
            extraction_dir, target = datadir / name, datadir / f"{name}_archive"
    if force_download or not target.exists() or not _matches(target, file_hash, algorithm):
        if target.exists() and not force_download:
            print(
                f"A local file was found, but it seems to be incomplete or outdated because "
                f"the {algorithm} file hash does not match the original value of {file_hash} "
                "so we will re-download the data."
            )
        _download(origin, target, file_hash, algorithm)
    if extraction_dir is None:
        return os.fspath(target)
    if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
        print(f"Warning: could not extract {target}: not a tar or zip archive.", file=sys.stderr)
    return os.fspath(extraction_dir)


def _matches(path: Path, file_hash: str | None, algorithm: str) -> bool:
    return file_hash is None or hash_file(path, algorithm) == file_hash


def _download(origin: str, target: Path, file_hash: str | None, algorithm: str) -> None:
    """``origin`` streamed into ``target`` through ``fileio.atomic_write``, hashed on the way:
    a failed fetch or a wrong hash leaves no file."""
    from .progress import Progbar, print_msg

    print_msg(f"Downloading data from {origin}")
    hasher = _hasher(algorithm)

    def write(out: BinaryIO) -> None:
        try:
            with urllib.request.urlopen(origin, timeout=60) as response:
                size = response.headers.get("Content-Length")
                bar, done = Progbar(int(size) if size and size.isdigit() else None), 0
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    bar.update(done)
        except urllib.error.HTTPError as e:
            raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from None
        except urllib.error.URLError as e:
            raise OSError(f"URL fetch failure on {origin}: {e.reason}") from None
        if file_hash is not None and hasher.hexdigest() != file_hash:
            raise ValueError(
                f"Incomplete or corrupted file detected. The {algorithm} file hash does not "
                f"match the provided value of {file_hash}."
            )

    atomic_write(target, write)


def extract_archive(
    file_path: str | os.PathLike, path: str | os.PathLike = ".", archive_format: Any = "auto"
) -> bool:
    """Keras' extract_archive: a tar (plain, gz, bz2, xz) or zip archive's members into
    ``path``, none outside it; True when the file was such an archive. The members go to a
    folder beside ``path`` first, renamed into place when all are out."""
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format or []
    formats = [formats] if isinstance(formats, str) else list(formats)
    file_path, path = Path(file_path), Path(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise NotImplementedError(f"archive_format {kind!r}: 'tar' or 'zip'.")
        if not (tarfile.is_tarfile if kind == "tar" else zipfile.is_zipfile)(file_path):
            continue
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            if kind == "tar":
                with tarfile.open(file_path) as archive:
                    _safe_tar_extract(archive, staging)
            else:
                with zipfile.ZipFile(file_path) as archive:
                    archive.extractall(staging)  # zipfile drops ".." and absolute parts
            if path.exists():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            os.replace(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return True
    return False


def _safe_tar_extract(archive: tarfile.TarFile, destination: Path) -> None:
    """Extract only members that land inside ``destination`` (no absolute paths, no "..",
    no links out): Python's "data" filter where it has one, the same check by hand before."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(destination, filter="data")
        return
    root = destination.resolve()
    for member in archive.getmembers():
        where = (destination / member.name).resolve()
        if root not in where.parents and where != root:
            raise tarfile.TarError(f"archive member {member.name!r} would land outside {root}")
        if member.issym() or member.islnk():
            raise tarfile.TarError(f"archive member {member.name!r} is a link")
    archive.extractall(destination)
