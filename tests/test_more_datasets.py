"""MNIST (Keras' mnist.npz), CIFAR-100 (the official python tarball) and the two house-price
datasets (Keras' npz files), as Keras loads them:
small files in their formats written here, the places looked in, a checked download from a
local mirror (a bad checksum discards the file), and corrupt or wrong files named."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from minicnn.datasets import DatasetError, boston_housing, california_housing, cifar100, mnist


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "MIRRORS", [])
    monkeypatch.setattr(cifar100, "MIRRORS", [])
    monkeypatch.setattr(boston_housing, "mirrors", [])
    monkeypatch.setattr(california_housing, "mirrors", [])
    return tmp_path


def write_mnist(directory, train=12, test=5, **changes):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (train, 28, 28)).astype(np.uint8),
        "y_train": rng.integers(0, 10, train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (test, 28, 28)).astype(np.uint8),
        "y_test": rng.integers(0, 10, test).astype(np.uint8),
        **changes,
    }
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / mnist.FILE, **arrays)
    return arrays


def test_mnist_loads_keras_file_from_the_places_looked_in(isolated, monkeypatch):
    arrays = write_mnist(isolated / "d")
    (xtr, ytr), (xte, yte) = mnist.load_data(isolated / "d")
    np.testing.assert_array_equal(xtr, arrays["x_train"])
    np.testing.assert_array_equal(yte, arrays["y_test"])
    assert xtr.dtype == np.uint8 and xte.shape == (5, 28, 28)
    with pytest.raises(DatasetError, match=r"MNIST not found\. Tried:(.|\n)*nowhere"):
        mnist.load_data(isolated / "nowhere", download=False)
    monkeypatch.setenv("MINICNN_DATA", str(isolated / "env"))
    write_mnist(isolated / "env" / "mnist", train=3)
    assert mnist.load_data()[0][0].shape == (3, 28, 28)


def test_mnist_refuses_wrong_files(isolated):
    write_mnist(isolated / "a", y_test=np.full(5, 12, np.uint8))
    with pytest.raises(DatasetError, match="y_test outside 0..9"):
        mnist.load_data(isolated / "a")
    write_mnist(isolated / "b", x_train=np.zeros((12, 28, 27), np.uint8))
    with pytest.raises(DatasetError, match=r"x_train must be uint8 of shape \('N', 28, 28\)"):
        mnist.load_data(isolated / "b")
    (isolated / "c").mkdir()
    (isolated / "c" / mnist.FILE).write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        mnist.load_data(isolated / "c")


def test_mnist_downloads_from_a_mirror_checking_its_sha256(isolated, monkeypatch):
    write_mnist(isolated / "mirror")
    payload = (isolated / "mirror" / mnist.FILE).read_bytes()
    monkeypatch.setattr(mnist, "MIRRORS", [f"file://{isolated / 'mirror'}/"])
    monkeypatch.setattr(mnist, "SHA256", {mnist.FILE: "0" * 64})
    with pytest.raises(DatasetError, match="checksum mismatch"):
        mnist.load_data()
    assert not (isolated / "cache" / "mnist" / mnist.FILE).exists()  # discarded
    monkeypatch.setattr(mnist, "SHA256", {mnist.FILE: hashlib.sha256(payload).hexdigest()})
    (xtr, _), _ = mnist.load_data()
    assert xtr.shape == (12, 28, 28)
    assert (isolated / "cache" / "mnist" / mnist.FILE).read_bytes() == payload


def write_cifar100(directory, per_split=(10, 4), fine_top=100, skip=None):
    rng = np.random.default_rng(1)
    splits = {}
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(directory / cifar100.ARCHIVE, "w:gz") as tar:
        for name, count in zip(("train", "test"), per_split, strict=True):
            images = rng.integers(0, 256, (count, 32, 32, 3)).astype(np.uint8)
            fine = rng.integers(0, fine_top, count)
            coarse = fine // 5
            splits[name] = (images, fine, coarse)
            if name == skip:
                continue
            batch = {
                b"data": images.transpose(0, 3, 1, 2).reshape(count, -1),
                b"fine_labels": fine.tolist(),
                b"coarse_labels": coarse.tolist(),
                b"filenames": [b"x.png"] * count,
            }
            data = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"{cifar100.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return splits


def test_cifar100_fine_and_coarse_labels(isolated):
    splits = write_cifar100(isolated / "d")
    (xtr, ytr), (xte, yte) = cifar100.load_data(data_dir=isolated / "d")
    np.testing.assert_array_equal(xtr, splits["train"][0])
    np.testing.assert_array_equal(ytr[:, 0], splits["train"][1])
    assert ytr.shape == (10, 1) and xte.shape == (4, 32, 32, 3) and yte.dtype == np.uint8
    (_, coarse), _ = cifar100.load_data("coarse", data_dir=isolated / "d")
    np.testing.assert_array_equal(coarse[:, 0], splits["train"][2])
    with pytest.raises(ValueError, match='label_mode must be one of "fine", "coarse"'):
        cifar100.load_data("medium", data_dir=isolated / "d")


def test_cifar100_wrong_files_are_named(isolated):
    write_cifar100(isolated / "a", skip="test")
    with pytest.raises(DatasetError, match="batch cifar-100-python/test is missing"):
        cifar100.load_data(data_dir=isolated / "a")
    write_cifar100(isolated / "b", fine_top=130)
    with pytest.raises(DatasetError, match=r"labels outside 0\.\.99"):
        cifar100.load_data(data_dir=isolated / "b")
    with pytest.raises(DatasetError, match=r"CIFAR-100 not found\. Tried:"):
        cifar100.load_data(data_dir=isolated / "nowhere")


def write_housing(directory, name, samples=50, features=8):
    rng = np.random.default_rng(2)
    x, y = rng.random((samples, features)), rng.random(samples) * 1e5
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / name, x=x, y=y)
    return x, y


def test_housing_datasets_split_as_keras_does(isolated):
    x, y = write_housing(isolated / "d", california_housing.FILE, samples=700)
    (xtr, ytr), (xte, yte) = california_housing.load_data(data_dir=isolated / "d")
    order = np.arange(700)
    np.random.RandomState(113).shuffle(order)  # Keras' shuffle and cut
    np.testing.assert_array_equal(xtr, x[order][:560])
    np.testing.assert_array_equal(yte, y[order][560:])
    (small, _), (small_test, _) = california_housing.load_data(
        "small", 0.5, data_dir=isolated / "d"
    )
    assert len(small) == len(small_test) == 300
    bx, _ = write_housing(isolated / "b", boston_housing.FILE, samples=30, features=13)
    (btr, _), (bte, _) = boston_housing.load_data(test_split=0.1, seed=1, data_dir=isolated / "b")
    assert btr.shape == (27, 13) and bte.shape == (3, 13)
    with pytest.raises(ValueError, match="version must be one of 'small', 'large'"):
        california_housing.load_data("medium", data_dir=isolated / "d")
    np.savez(isolated / "d" / california_housing.FILE, x=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(DatasetError, match=r"x must be \(samples, features\) and y \(samples,\)"):
        california_housing.load_data(data_dir=isolated / "d", download=False)
