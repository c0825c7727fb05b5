"""fileio.atomic_write: a file is replaced whole or not at all, and gets the mode a plain
open() would give it (mkstemp's own is private)."""

import os

import pytest

from minicnn.fileio import atomic_write


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_own(tmp_path):
    path = tmp_path / "report.txt"
    old = os.umask(0o027)
    try:
        atomic_write(path, lambda f: f.write(b"one"))
    finally:
        os.umask(old)
    assert path.read_bytes() == b"one" and path.stat().st_mode & 0o777 == 0o640
    path.chmod(0o604)
    atomic_write(path, lambda f: f.write(b"two"))
    assert path.read_bytes() == b"two" and path.stat().st_mode & 0o777 == 0o604


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
