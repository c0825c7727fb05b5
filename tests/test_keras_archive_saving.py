"""``model.save("m.keras")`` writes Keras 3's archive, as Keras does (Keras loads it), with
a user's layers' saving hooks; a model the archive cannot hold is written as minicnn's own
file, with a warning; ``zipped=False`` gives Keras' folder of the same files.
tests/keras_files/saving_hooks.keras (and the folder saving_hooks_folder) were saved by
Keras 3.15 from tests/keras_io/saving_hooks.py, which makes the same layers in either library."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from script_runs import printed_by

import minicnn
from minicnn import Input, Model, ops
from minicnn import layers as L
from minicnn.models import load_model

h5py = pytest.importorskip("h5py", reason="Keras' archive holds its weights in HDF5: needs h5py")

HERE = Path(__file__).parent
# What tests/keras_io/saving_hooks.py printed under Keras 3.15 on loading the archive that
# it saved there (and on loading minicnn's).
PRINTED = [
    "max difference 0.0",
    "vocab a b c offset [0.0, 1.0, 2.0, 3.0]",
    "scale 0.5 factor 2.0",
    'compile ["mae", {"module": "keras.metrics", "class_name": "MeanSquaredError", "config": '
    '{"name": "m2", "dtype": "float32"}, "registered_name": null}]',
    "evaluate ['loss', 'm2', 'mae']",
]


def hooks_script(*argv: str) -> list[str]:
    return printed_by("saving_hooks", *argv)


def test_minicnn_loads_kerass_archive_through_the_users_hooks():
    assert hooks_script("load", str(HERE / "keras_files" / "saving_hooks.keras")) == PRINTED


def test_save_writes_kerass_archive_through_the_users_hooks(tmp_path):
    path = tmp_path / "m.keras"
    hooks_script("save", str(path))
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
        vocabulary = archive.read("assets/layers/offset/vocab.txt")
    # As Keras' own archive of the same model (tests/keras_files/saving_hooks.keras).
    with zipfile.ZipFile(HERE / "keras_files" / "saving_hooks.keras") as archive:
        assert names == sorted(archive.namelist())
    assert vocabulary == b"a b c"  # save_assets' file
    entries = {e["name"]: e for e in config["config"]["layers"]}
    scale = next(e for e in entries.values() if e["class_name"] == "Scale")
    assert scale["config"] == {"factor": 2.0}  # its own get_config, no dtype added
    assert scale["registered_name"] == "hooks>Scale" and scale["module"] is None
    assert entries["built"]["build_config"] == {"input_shape": [None, 5], "scale": 0.5}
    with h5py.File(io.BytesIO(weights), "r") as h5:  # save_own_variables' store
        assert sorted(h5["layers/offset/vars"]) == ["0", "1", "offset"]
        np.testing.assert_array_equal(h5["layers/offset/vars/offset"][()], np.arange(4.0))
    assert hooks_script("load", str(path)) == PRINTED


def test_zipped_false_writes_and_reads_kerass_folder_of_the_same_files(tmp_path):
    # Keras' own folder of the same model (made with an absolute path: Keras 3.15 loses
    # the assets of a relative one) loads through the hooks, as its archive does.
    folder = HERE / "keras_files" / "saving_hooks_folder"
    assert hooks_script("load", str(folder)) == PRINTED
    path = tmp_path / "saved"
    hooks_script("save", str(path))
    names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))
    assert names == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    assert (path / "assets/layers/offset/vocab.txt").read_text() == "a b c"
    assert json.loads((path / "metadata.json").read_text())["keras_version"].startswith("3.15")
    assert hooks_script("load", str(path)) == PRINTED
    # As Keras: into a folder that is there already, keeping what else it holds; a file
    # of that name is refused, and the name must not end in .keras.
    model = load_model(path)
    (path / "notes.txt").write_text("mine")
    model.save(str(path), zipped=False)
    assert (path / "notes.txt").read_text() == "mine"
    assert hooks_script("load", str(path)) == PRINTED
    (tmp_path / "plain").write_text("x")
    with pytest.raises(NotADirectoryError, match="plain is a file; zipped=False"):
        model.save(tmp_path / "plain", zipped=False)
    with pytest.raises(ValueError, match="should not end in `.keras`"):
        minicnn.saving.save_model(model, tmp_path / "m.keras", zipped=False)


def test_a_model_kerass_archive_cannot_hold_is_saved_as_minicnns_file(tmp_path):
    inputs = Input((4,))
    hidden = L.Dense(3)(inputs)
    model = Model(inputs, L.Dense(1)(hidden))
    model.add_loss(0.01 * ops.sum(ops.square(hidden)))  # tf.keras' graph loss: not Keras 3's
    model.compile("adam", "mse")
    path = tmp_path / "graph_loss.keras"
    with pytest.warns(UserWarning, match="cannot hold this model .*adds losses"):
        model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert "config.json" not in archive.namelist()
    x = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    np.testing.assert_allclose(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_dict_inputs_and_outputs_keep_their_keys_in_the_config_and_archive(tmp_path):
    title, tags = Input((None,), name="title_ids"), Input((3,), name="tag_flags")
    joined = L.concatenate([L.GRU(4)(L.Embedding(20, 4)(title)), tags])
    outputs = {"priority": L.Dense(1)(joined), "department": L.Dense(2)(joined)}
    model = Model({"title": title, "tags": tags}, outputs)
    config = model.get_config()  # Keras' form: the dicts by key
    assert config["input_layers"] == {"tags": ["tag_flags", 0, 0], "title": ["title_ids", 0, 0]}
    assert config["output_layers"] == {"department": ["dense_1", 0, 0], "priority": ["dense", 0, 0]}
    again = Model.from_config(config)
    assert again.input_names == ["tags", "title"] and again.output_names == model.output_names
    model.save(tmp_path / "keyed.keras")
    loaded = load_model(tmp_path / "keyed.keras")
    x = {"title": np.arange(10).reshape(2, 5) % 20, "tags": np.ones((2, 3), np.float32)}
    got, want = loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    assert set(got) == {"priority", "department"}
    np.testing.assert_allclose(got["department"], want["department"], rtol=1e-6)


def test_a_metric_function_kerass_entry_names_minicnns_function():
    entry = minicnn.saving.serialize_keras_object(minicnn.metrics.sparse_categorical_accuracy)
    assert entry == {
        "module": "builtins",
        "class_name": "function",
        "config": "sparse_categorical_accuracy",
        "registered_name": "function",
    }
    again = minicnn.saving.deserialize_keras_object(entry)
    assert again is minicnn.metrics.sparse_categorical_accuracy


def test_a_users_activation_is_kerass_function_entry_in_every_file(tmp_path):
    @minicnn.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x**2

    layer = L.Dense(2, activation=custom_fn)
    entry = {  # what Keras 3.15's Dense(2, activation=custom_fn).get_config() holds
        "module": "builtins",
        "class_name": "function",
        "config": "my_package>custom_fn",
        "registered_name": "function",
    }
    assert layer.get_config()["activation"] == entry
    assert minicnn.activations.serialize(custom_fn) == entry
    assert L.Dense.from_config(layer.get_config()).activation is custom_fn
    assert L.Dense(2, activation="relu").get_config()["activation"] == "relu"
    inputs = Input((3,))
    model = Model(inputs, layer(inputs))
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    for name in ("a.keras", "a.h5", "a.npz"):  # Keras 2's file names it by its name
        model.save(tmp_path / name)
        np.testing.assert_array_equal(
            load_model(tmp_path / name).predict(x, verbose=0), model.predict(x, verbose=0)
        )
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        layers = json.loads(h5.attrs["model_config"])["config"]["layers"]
    assert layers[1]["config"]["activation"] == "my_package>custom_fn"


def test_overwrite_false_asks_as_keras_asks(tmp_path, monkeypatch, capsys):
    inputs = Input((3,))
    model = Model(inputs, L.Dense(2)(inputs))
    path = tmp_path / "m.keras"
    model.save(path, overwrite=False)  # nothing there: nothing to ask
    first = path.read_bytes()
    answers = iter(["maybe", "n"])
    asked = []

    def answer(question):
        asked.append(question)
        return next(answers)

    monkeypatch.setattr("builtins.input", answer)
    model.layers[1].set_weights([np.ones((3, 2), np.float32), np.zeros(2, np.float32)])
    model.save(path, overwrite=False)
    assert asked == [
        f"[WARNING] {path} already exists - overwrite? [y/n]",
        'Enter "y" (overwrite) or "n" (cancel).',
    ]
    assert path.read_bytes() == first  # kept
    monkeypatch.setattr("builtins.input", lambda question: "y")
    model.save_weights(tmp_path / "w.weights.h5")
    model.save_weights(tmp_path / "w.weights.h5", overwrite=False)
    model.save(path, overwrite=False)
    assert "[TIP] Next time specify overwrite=True!" in capsys.readouterr().out
    np.testing.assert_array_equal(load_model(path).layers[1].get_weights()[0], np.ones((3, 2)))
    with pytest.raises(ValueError, match="zipped=False"):
        model.save(tmp_path / "folder.keras", zipped=False)


def test_a_calls_recorded_arguments_follow_its_signature_as_kerass():
    class Plain(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    class Defaulted(Plain):
        def call(self, x, training=False, mask=None):
            return self.dense(x)

    inputs = Input((3,))
    hidden = Defaulted(name="defaulted")(Plain(name="plain")(inputs))
    model = Model(inputs, minicnn.Sequential([L.Dense(2)], name="seq")(hidden))
    recorded = {e["name"]: e["inbound_nodes"] for e in model.get_config()["layers"]}
    # What Keras 3.15 records for the same graph.
    assert recorded["plain"][0]["kwargs"] == {}
    assert recorded["defaulted"][0]["kwargs"] == {"training": False, "mask": None}
    assert recorded["seq"][0]["kwargs"] == {"mask": None}


def test_training_false_that_keras_records_for_every_call_lets_fit_train(tmp_path):
    # Keras records an LSTM's call with training=False (its default), so the file cannot
    # say the call asked for it: the model's own training wins, as in Keras (its dropout
    # runs in training); a nested model's recorded False is the call's own and stays.
    inputs = Input((5, 4))
    model = Model(inputs, L.LSTM(3, dropout=0.5)(inputs))
    entry = next(e for e in model.get_config()["layers"] if e["class_name"] == "LSTM")
    assert entry["inbound_nodes"][0]["kwargs"] == {"training": False, "mask": None}
    model.save(tmp_path / "lstm.keras")
    loaded = load_model(tmp_path / "lstm.keras")
    x = np.ones((4, 5, 4), np.float32)
    assert not np.array_equal(loaded(x, training=True).data, loaded(x, training=True).data)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
