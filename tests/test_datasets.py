import gzip
import hashlib

import numpy as np
import pytest
from idx_files import idx_bytes, write_fashion_dir, write_idx

from minicnn.datasets import DatasetError, fashion_mnist


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data anywhere the loader looks, and no network."""
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "no-system-dir")
    monkeypatch.setattr(fashion_mnist, "MIRRORS", [])
    return tmp_path


def test_load_from_data_dir_returns_keras_arrays(isolated):
    (xtr, ytr), (xte, yte) = write_fashion_dir(isolated / "d", 50, 20)
    (a, b), (c, d) = fashion_mnist.load_data(isolated / "d")
    assert a.dtype == np.uint8 and a.shape == (50, 28, 28) and b.shape == (50,)
    np.testing.assert_array_equal(a, xtr)
    np.testing.assert_array_equal(d, yte)
    assert len(fashion_mnist.class_names) == 10 and fashion_mnist.class_names[6] == "Shirt"


def test_uncompressed_files_are_read_too(isolated):
    d = isolated / "raw"
    d.mkdir()
    arrays = {
        "train_images": np.zeros((3, 28, 28)),
        "train_labels": np.array([1, 2, 3]),
        "test_images": np.ones((2, 28, 28)),
        "test_labels": np.array([4, 5]),
    }
    for key, name in fashion_mnist.FILES.items():
        write_idx(d / name.removesuffix(".gz"), arrays[key], compress=False)
    (_, ytr), (xte, _) = fashion_mnist.load_data(d)
    assert list(ytr) == [1, 2, 3] and xte.sum() == 2 * 784


def test_search_order_env_then_cache_then_system(isolated, monkeypatch):
    write_fashion_dir(isolated / "env" / "fashion-mnist", 5, 5, seed=1)
    write_fashion_dir(isolated / "cache" / "fashion-mnist", 6, 5, seed=2)
    write_fashion_dir(isolated / "system", 7, 5, seed=3)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", isolated / "system")
    monkeypatch.setenv("MINICNN_DATA", str(isolated / "env"))
    assert len(fashion_mnist.load_data()[0][0]) == 5
    monkeypatch.delenv("MINICNN_DATA")
    assert len(fashion_mnist.load_data()[0][0]) == 6
    monkeypatch.setenv("MINICNN_CACHE", str(isolated / "nothing"))
    assert len(fashion_mnist.load_data()[0][0]) == 7


def test_nothing_found_lists_what_was_tried(isolated):
    with pytest.raises(DatasetError) as info:
        fashion_mnist.load_data(isolated / "empty", download=False)
    message = str(info.value)
    assert "empty (data_dir argument): absent" in message
    assert "cache" in message and "no-system-dir" in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_download_checks_sha256_and_writes_atomically(isolated, monkeypatch):
    mirror = isolated / "mirror"
    (xtr, _), _ = write_fashion_dir(mirror, 8, 4)
    checksums = {
        name: hashlib.sha256(gzip.decompress((mirror / name).read_bytes())).hexdigest()
        for name in fashion_mnist.FILES.values()
    }
    monkeypatch.setattr(fashion_mnist, "SHA256", checksums)
    monkeypatch.setattr(fashion_mnist, "MIRRORS", [mirror.as_uri() + "/"])
    (a, _), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(a, xtr)
    cached = sorted(p.name for p in (isolated / "cache" / "fashion-mnist").iterdir())
    assert cached == sorted(fashion_mnist.FILES.values())


def test_download_with_wrong_checksum_keeps_nothing(isolated, monkeypatch):
    mirror = isolated / "mirror"
    write_fashion_dir(mirror, 8, 4)
    monkeypatch.setattr(
        fashion_mnist, "SHA256", dict.fromkeys(fashion_mnist.FILES.values(), "0" * 64)
    )
    monkeypatch.setattr(fashion_mnist, "MIRRORS", [mirror.as_uri() + "/"])
    with pytest.raises(DatasetError, match="checksum mismatch"):
        fashion_mnist.load_data()
    assert list((isolated / "cache" / "fashion-mnist").iterdir()) == []


def test_real_checksums_are_of_the_decompressed_files():
    for name, digest in fashion_mnist.SHA256.items():
        assert len(digest) == 64 and name in fashion_mnist.FILES.values()


def _corrupt(isolated, name, payload):
    d = isolated / "bad"
    write_fashion_dir(d, 10, 5)
    (d / name).write_bytes(payload)
    return d


def test_wrong_magic_names_the_file(isolated):
    d = _corrupt(isolated, "train-images-idx3-ubyte.gz", gzip.compress(b"\x12\x34\x56\x78" * 10))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: not an IDX file"):
        fashion_mnist.load_data(d)


def test_truncated_idx_names_the_file(isolated):
    data = idx_bytes(np.zeros((10, 28, 28)))[:-100]
    d = _corrupt(isolated, "train-images-idx3-ubyte.gz", gzip.compress(data))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: IDX file truncated"):
        fashion_mnist.load_data(d)


def test_truncated_gzip_names_the_file(isolated):
    blob = gzip.compress(idx_bytes(np.zeros(10)))
    d = _corrupt(isolated, "t10k-labels-idx1-ubyte.gz", blob[: len(blob) // 2])
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: corrupt or truncated gzip"):
        fashion_mnist.load_data(d)


def test_counts_that_disagree_are_reported(isolated):
    d = _corrupt(isolated, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.zeros(9))))
    with pytest.raises(DatasetError, match="has 10 images but .* has 9 labels"):
        fashion_mnist.load_data(d)


def test_wrong_rank_is_reported(isolated):
    d = _corrupt(isolated, "t10k-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.zeros((5, 2)))))
    with pytest.raises(DatasetError, match="rank 2, expected rank 1"):
        fashion_mnist.load_data(d)
