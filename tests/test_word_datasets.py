"""Keras' IMDB and Reuters loaders: small files in Keras' format written here (ragged
arrays, which NumPy stores as pickles), Keras' recipe on the sequences checked against a
plain re-statement of it, the word index, and a crafted pickle refused without running."""

import hashlib
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from minicnn.datasets import DatasetError, imdb, reuters


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(imdb, "MIRRORS", [])
    monkeypatch.setattr(reuters, "MIRRORS", [])
    return tmp_path


def ragged(rng, count, vocabulary=30):
    out = np.empty(count, dtype=object)
    out[:] = [list(rng.integers(1, vocabulary, rng.integers(1, 12))) for _ in range(count)]
    return out


def keras_recipe(
    xs, labels, rng, start_char=1, oov_char=2, index_from=3, num_words=None, skip_top=0, maxlen=None
):
    order = np.arange(len(xs))
    rng.shuffle(order)
    xs, labels = [list(xs[i]) for i in order], labels[order]
    xs = [[start_char] + [w + index_from for w in x] for x in xs]
    if maxlen:
        keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in keep], labels[keep]
    return xs, labels


def test_imdb_follows_keras_recipe(isolated):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": ragged(rng, 20),
        "y_train": rng.integers(0, 2, 20),
        "x_test": ragged(rng, 10),
        "y_test": rng.integers(0, 2, 10),
    }
    folder = isolated / "data"
    folder.mkdir()
    np.savez(folder / "imdb.npz", **arrays)  # object arrays: stored as pickles
    (x_train, y_train), (x_test, y_test) = imdb.load_data(data_dir=folder, num_words=20, seed=5)
    shuffle = np.random.RandomState(5)
    train, train_labels = keras_recipe(arrays["x_train"], arrays["y_train"], shuffle)
    test, test_labels = keras_recipe(arrays["x_test"], arrays["y_test"], shuffle)
    capped = [[w if w < 20 else 2 for w in x] for x in train + test]
    assert x_train == capped[:20] and x_test == capped[20:]
    np.testing.assert_array_equal(y_train, train_labels)
    np.testing.assert_array_equal(y_test, test_labels)
    (short, _), _ = imdb.load_data(data_dir=folder, maxlen=8, oov_char=None, skip_top=4)
    assert all(len(x) < 8 and all(4 <= w for w in x) for x in short)
    with pytest.raises(ValueError, match="no sequence was kept. Increase maxlen"):
        imdb.load_data(data_dir=folder, maxlen=1)


def test_reuters_splits_one_shuffled_set(isolated):
    rng = np.random.default_rng(1)
    xs, ys = ragged(rng, 25), rng.integers(0, 46, 25)
    folder = isolated / "data"
    folder.mkdir()
    np.savez(folder / "reuters.npz", x=xs, y=ys)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(data_dir=folder, test_split=0.2)
    expected, labels = keras_recipe(xs, ys, np.random.RandomState(113))
    # Keras' num_words=None is the largest index, and "w < num_words" makes that one OOV too
    top = max(max(x) for x in expected)
    expected = [[w if w < top else 2 for w in x] for x in expected]
    assert x_train.dtype == object and x_train.shape == (20,) and x_test.shape == (5,)
    assert list(x_train) + list(x_test) == expected
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), labels)
    assert len(reuters.get_label_names()) == 46 and reuters.get_label_names()[3] == "earn"


def test_word_index_from_a_folder_or_fetched_once(isolated, monkeypatch):
    folder = isolated / "data"
    folder.mkdir()
    (folder / "imdb_word_index.json").write_text(json.dumps({"the": 1, "and": 2}))
    assert imdb.get_word_index(data_dir=folder) == {"the": 1, "and": 2}
    served = isolated / "server" / "reuters_word_index.json"
    served.parent.mkdir()
    served.write_text(json.dumps({"said": 1}))
    from minicnn.datasets import word_sequences

    monkeypatch.setattr(word_sequences, "KERAS_FOLDER", served.parent.as_uri() + "/")
    monkeypatch.setattr(reuters, "WORD_INDEX_MD5", hashlib.md5(served.read_bytes()).hexdigest())
    assert reuters.get_word_index() == {"said": 1}
    assert (isolated / "cache" / "reuters" / "reuters_word_index.json").is_file()


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_crafted_pickle_is_refused_without_running(isolated, monkeypatch):
    monkeypatch.chdir(isolated)
    folder = isolated / "data"
    folder.mkdir()
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        member, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    member.write(pickle.dumps(np.array([Exploit()], dtype=object), protocol=3))
    with zipfile.ZipFile(folder / "reuters.npz", "w") as archive:
        archive.writestr("x.npy", member.getvalue())
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(1, np.int64))
        archive.writestr("y.npy", buffer.getvalue())
    with pytest.raises(DatasetError, match="refusing to load posix.system|refusing to load"):
        reuters.load_data(data_dir=folder)
    assert not (isolated / "pwned.txt").exists()
    with pytest.raises(DatasetError, match="Reuters.*not found|not found|looked"):
        reuters.load_data(data_dir=isolated / "empty", download=False)
