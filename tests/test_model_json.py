"""to_json and model_from_json as in Keras 3: minicnn writes Keras 3's JSON (what a .keras
archive's config.json holds) and reads Keras 3's (sequential_to_json.json was written by
Keras 3.15's to_json), Keras 2's (tf.keras') and its own older JSON."""

import json
from pathlib import Path

import numpy as np
import pytest

from minicnn import Input, Model, Sequential, saving
from minicnn import layers as L
from minicnn.models import model_from_json

HERE = Path(__file__).parent


def test_to_json_is_kerass_document_and_reads_back():
    inputs = Input((4,), name="features")
    outputs = L.Dense(2, activation="relu", name="head")(L.Dense(3)(inputs))
    model = Model(inputs, outputs, name="two_layers")
    document = json.loads(model.to_json())
    assert document["module"] == "keras.src.models.functional"
    assert document["class_name"] == "Functional" and document["registered_name"] == "Functional"
    assert document["build_config"] == {"input_shape": [None, 4]}
    names = [entry["config"]["name"] for entry in document["config"]["layers"]]
    assert names[0] == "features" and names[-1] == "head"
    again = model_from_json(model.to_json())
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    again.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((3, 4), np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert json.loads(model.to_json(indent=2)) == document  # json.dumps' arguments


def test_a_keras_3_to_json_builds_the_model():
    model = model_from_json((HERE / "keras_files" / "sequential_to_json.json").read_text())
    assert type(model).__name__ == "Sequential" and model.name == "s"
    assert [layer.name for layer in model.layers] == ["d"]
    assert model.input_shape == (None, 3) and model.count_params() == 8


def test_a_keras_2_to_json_builds_the_model():
    """tf.keras' to_json: its model config (as its .h5 file holds it), with keras_version."""
    h5py = pytest.importorskip("h5py", reason="reading Keras 2's file needs h5py")
    path = HERE / "keras2_files" / "functional.h5"
    with h5py.File(path) as h5:
        config = h5.attrs["model_config"]
    document = json.loads(config.decode() if isinstance(config, bytes) else config)
    text = json.dumps({**document, "keras_version": "2.15.0", "backend": "tensorflow"})
    model = model_from_json(text)
    loaded = saving.load_model(path)
    assert [layer.name for layer in model.layers] == [layer.name for layer in loaded.layers]
    assert model.count_params() == loaded.count_params()


def test_minicnns_own_json_still_builds_the_model():
    """Written before to_json wrote Keras' JSON (and still for a model not built yet)."""
    unbuilt = Sequential([L.Dense(2, name="d")])
    document = json.loads(unbuilt.to_json())
    assert "module" not in document
    assert model_from_json(unbuilt.to_json()).layers[0].name == "d"
    old = '{"class_name": "Sequential", "config": {"name": "s", "input_shape": [3], "layers": '
    old += '[{"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}'
    assert model_from_json(old).count_params() == 8


def test_custom_objects_and_bad_json_are_named():
    @saving.register_keras_serializable(package="json_test")
    class Doubling(L.Layer):
        def call(self, x):
            return x * 2.0

    inputs = Input((2,))
    model = Model(inputs, Doubling(name="twice")(inputs))
    text = model.to_json()
    assert type(model_from_json(text).layers[1]).__name__ == "Doubling"
    with pytest.raises(ValueError, match="Not a model's JSON"):
        model_from_json('{"class_name": "Dense"}')
    with pytest.raises(ValueError, match="Not a model's JSON"):
        model_from_json("not json")
