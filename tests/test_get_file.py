"""utils.get_file, as Keras': a file fetched once into the cache (file:// URLs stand in for
a server), checked by SHA-256 or MD5, fetched again when the cached copy does not match,
extracted from tar and zip archives (Keras 3's folder names), and nothing half-written or
outside the target after a failure."""

import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from minicnn import utils


def serve(tmp_path, name, payload):
    source = tmp_path / "server"
    source.mkdir(exist_ok=True)
    (source / name).write_bytes(payload)
    return (source / name).as_uri()


def test_a_file_is_fetched_once_and_checked(tmp_path, capsys):
    url = serve(tmp_path, "weights.bin", b"0123456789" * 1000)
    sha = hashlib.sha256(b"0123456789" * 1000).hexdigest()
    cache = tmp_path / "cache"
    path = utils.get_file(origin=url, file_hash=sha, cache_dir=cache, cache_subdir="models")
    assert path == os.fspath(cache / "models" / "weights.bin")
    assert "Downloading data from" in capsys.readouterr().out
    os.remove(tmp_path / "server" / "weights.bin")  # cached now: no second fetch
    assert (
        utils.get_file("weights.bin", url, file_hash=sha, cache_dir=cache, cache_subdir="models")
        == path
    )
    md5 = hashlib.md5(b"0123456789" * 1000).hexdigest()
    assert utils.get_file(origin=url, md5_hash=md5, cache_dir=cache, cache_subdir="models") == path


def test_a_stale_copy_is_fetched_again_and_a_corrupt_download_is_refused(tmp_path, capsys):
    cache = tmp_path / "cache"
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets" / "table.csv").write_bytes(b"old")
    url = serve(tmp_path, "table.csv", b"new")
    sha = hashlib.sha256(b"new").hexdigest()
    path = utils.get_file(origin=url, file_hash=sha, cache_dir=cache)
    assert open(path, "rb").read() == b"new"
    assert "does not match the original value" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        utils.get_file("other.csv", url, file_hash="0" * 64, cache_dir=cache)
    assert sorted(os.listdir(cache / "datasets")) == ["table.csv"]  # nothing half-written
    with pytest.raises(OSError, match="URL fetch failure"):
        utils.get_file(origin=(tmp_path / "missing.bin").as_uri(), cache_dir=cache)
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        utils.get_file("a/b.csv", url, cache_dir=cache)
    with pytest.raises(ValueError, match='specify the "origin"'):
        utils.get_file("b.csv")


def tar_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_archives_are_extracted_where_keras_puts_them(tmp_path):
    cache = tmp_path / "cache"
    url = serve(
        tmp_path, "flowers.tgz", tar_bytes({"flowers/a.txt": b"A", "flowers/b/c.txt": b"C"})
    )
    folder = utils.get_file(origin=url, extract=True, cache_dir=cache)
    assert folder == os.fspath(cache / "datasets" / "flowers.tgz")  # no fname: the URL's name
    assert open(os.path.join(folder, "flowers", "b", "c.txt"), "rb").read() == b"C"
    other = tmp_path / "other_cache"
    named = utils.get_file("flowers.tgz", url, extract=True, cache_dir=other)
    assert named == os.fspath(other / "datasets" / "flowers_extracted")
    plain = utils.get_file("blooms", url, untar=True, cache_dir=cache)
    assert os.path.isfile(os.path.join(plain, "flowers", "a.txt"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes/readme.txt", "zip")
    zipped = utils.get_file(
        "notes.zip", serve(tmp_path, "notes.zip", buffer.getvalue()), extract=True, cache_dir=cache
    )
    assert open(os.path.join(zipped, "notes", "readme.txt")).read() == "zip"


def test_a_tar_member_outside_the_folder_is_refused(tmp_path):
    cache = tmp_path / "cache"
    url = serve(tmp_path, "evil.tar.gz", tar_bytes({"../../escape.txt": b"x"}))
    with pytest.raises(tarfile.TarError):
        utils.get_file("evil.tar.gz", url, extract=True, cache_dir=cache)
    assert not (tmp_path / "escape.txt").exists() and not (cache / "escape.txt").exists()
    assert not (cache / "datasets" / "evil_extracted").exists()
