"""Writing files so that a crash never leaves one half-written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class ModelFileError(ValueError):
    """A file that is not a model file, or whose contents do not fit the model it describes."""


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it over
    ``path``: readers see the old file or the whole new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp's file is private (0600); the file it replaces keeps its mode, and a new
        # one gets what open() would have given it.
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it back at once
        os.umask(umask)
        return 0o666 & ~umask


def may_overwrite(path: str | os.PathLike) -> bool:
    """Keras' ``ask_to_proceed_with_overwrite`` for ``overwrite=False``: True where no file
    is there, else the user's answer to Keras' question."""
    if not os.path.exists(path):
        return True
    answer = input(f"[WARNING] {path} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True


def files_written_by(write: Callable[[str], object]) -> dict[str, bytes]:
    """The files ``write(folder)`` puts into a fresh temporary folder (a layer's Keras
    ``save_assets``), by their paths in it ("a/b.txt"), in sorted order."""
    with tempfile.TemporaryDirectory(prefix="minicnn-assets-") as folder:
        write(folder)
        files = sorted(f for f in Path(folder).rglob("*") if f.is_file())
        return {f.relative_to(folder).as_posix(): f.read_bytes() for f in files}


def read_from_files(
    files: dict[str, bytes], read: Callable[[str], object], refuse: Callable[[str], Exception]
) -> None:
    """``read(folder)`` (a layer's Keras ``load_assets``) on a temporary folder holding
    ``files`` (paths in it: contents); a path that would leave the folder raises
    ``refuse(path)``."""
    with tempfile.TemporaryDirectory(prefix="minicnn-assets-") as folder:
        for name, content in files.items():
            inner = Path(name)
            if inner.is_absolute() or ".." in inner.parts:
                raise refuse(name)
            target = Path(folder, inner)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        read(folder)
