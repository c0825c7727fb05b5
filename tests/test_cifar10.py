import hashlib
import pickle
import re

import numpy as np
import pytest
from cifar_files import write_cifar_tarball

from minicnn.datasets import DatasetError, cifar10
from minicnn.experiments import cli


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cifar10, "MIRRORS", [])
    return tmp_path


def test_tarball_loads_channels_last_like_keras(isolated):
    _, batches = write_cifar_tarball(isolated / "d", per_batch=12)
    (xtr, ytr), (xte, yte) = cifar10.load_data(isolated / "d")
    assert xtr.shape == (60, 32, 32, 3) and xtr.dtype == np.uint8
    assert ytr.shape == (60, 1) and yte.shape == (12, 1)
    images, labels = batches["data_batch_2"]
    np.testing.assert_array_equal(xtr[12:24], images)
    np.testing.assert_array_equal(ytr[12:24, 0], labels)
    np.testing.assert_array_equal(xte, batches["test_batch"][0])
    assert cifar10.class_names[3] == "cat"


def test_extracted_folder_is_read_too(isolated):
    import tarfile

    path, batches = write_cifar_tarball(isolated / "d", per_batch=5)
    with tarfile.open(path) as tar:
        tar.extractall(isolated / "x", filter="data")
    (_, _), (xte, _) = cifar10.load_data(isolated / "x")
    np.testing.assert_array_equal(xte, batches["test_batch"][0])


def test_missing_batch_is_named(isolated):
    write_cifar_tarball(isolated / "d", skip="data_batch_3")
    with pytest.raises(DatasetError, match="batch cifar-10-batches-py/data_batch_3 is missing"):
        cifar10.load_data(isolated / "d")


def test_pickle_that_asks_for_code_is_refused(isolated):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2)
    write_cifar_tarball(isolated / "d", replace={"test_batch": evil})
    with pytest.raises(DatasetError, match=r"refusing to load (__builtin__|builtins)\.print"):
        cifar10.load_data(isolated / "d")


def test_truncated_tarball_is_reported(isolated):
    path, _ = write_cifar_tarball(isolated / "d")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match="corrupt or truncated tarball"):
        cifar10.load_data(isolated / "d")


def test_download_checks_the_archive_sha256(isolated, monkeypatch):
    mirror = isolated / "mirror"
    path, _ = write_cifar_tarball(mirror, per_batch=4)
    monkeypatch.setattr(cifar10, "MIRRORS", [mirror.as_uri() + "/"])
    monkeypatch.setattr(cifar10, "SHA256", {cifar10.ARCHIVE: "f" * 64})
    with pytest.raises(DatasetError, match="checksum mismatch"):
        cifar10.load_data()
    monkeypatch.setattr(
        cifar10, "SHA256", {cifar10.ARCHIVE: hashlib.sha256(path.read_bytes()).hexdigest()}
    )
    (xtr, _), _ = cifar10.load_data()
    assert xtr.shape == (20, 32, 32, 3)
    assert (isolated / "cache" / "cifar-10" / cifar10.ARCHIVE).is_file()


def test_nothing_found_lists_what_was_tried(isolated):
    with pytest.raises(DatasetError, match=r"CIFAR-10 not found. Tried:\n  - .*nowhere"):
        cifar10.load_data(isolated / "nowhere", download=False)


def test_compare_runs_on_cifar10(tmp_path, isolated, capsys):
    write_cifar_tarball(tmp_path / "data", per_batch=40)
    argv = [
        "compare",
        "--dataset",
        "cifar10",
        "--data-dir",
        str(tmp_path / "data"),
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--out",
        str(tmp_path / "runs"),
    ]
    assert cli.main(argv) == 0
    text = (tmp_path / "runs" / "compare" / "report.md").read_text()
    assert "data: cifar10" in text
    # The models adapt to 32x32x3: the MLP's first layer sees 3072 inputs.
    assert re.search(r"^\| mlp \| .* \| 439,644 \| – \|", text, re.M), text
    assert "| airplane |" in text
