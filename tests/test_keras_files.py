"""Models saved by Keras 3 itself (tests/keras_files, written by make_keras_files.py with
Keras 3.15 on JAX): ``load_model`` reads them, and minicnn's predictions equal Keras' own."""

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Model, Sequential, load_model
from minicnn import layers as L
from minicnn.keras_files import _graph_order

pytest.importorskip("h5py", reason="reading Keras' weight files needs h5py")

FILES = Path(__file__).parent / "keras_files"


NAMES = ["cnn", "functional", "recurrent", "attention", "nested", "image_zoo", "sequence_zoo"]


def _inputs(expected):
    if "x" in expected:
        return expected["x"]
    return [expected[f"x{i}"] for i in range(sum(k.startswith("x") for k in expected.files))]


@pytest.mark.parametrize("name", NAMES)
def test_a_keras_model_predicts_what_keras_predicted(name):
    model = load_model(FILES / f"{name}.keras")
    expected = np.load(FILES / f"{name}.npz")
    predicted = model.predict(_inputs(expected), verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    for i, values in enumerate(predicted):
        np.testing.assert_allclose(values, expected[f"y{i}"], rtol=2e-5, atol=2e-6)


def test_a_keras_model_keeps_its_names_and_compile_settings():
    model = load_model(FILES / "cnn.keras")
    assert model.name == "cnn"
    assert [type(layer).__name__ for layer in model.layers[:3]] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
    ]
    assert isinstance(model.optimizer, minicnn.optimizers.Adam)
    assert model.loss.name == "sparse_categorical_crossentropy"
    x = np.load(FILES / "cnn.npz")["x"]
    y = np.array([1, 2, 3])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    model.fit(x, y, epochs=1, verbose=0)  # and it trains on
    assert not load_model(FILES / "cnn.keras", compile=False).compiled


def test_keras_weights_file_loads_into_the_same_architecture():
    inner = Sequential([L.Dense(4, activation="relu"), L.Dense(3)], name="inner")
    inputs = Input((5,))
    model = Model(inputs, L.Dense(2)(inner(inputs)))
    model.load_weights(FILES / "nested.weights.h5")
    expected = np.load(FILES / "nested.npz")
    np.testing.assert_allclose(
        model.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5, atol=2e-6
    )


def test_a_keras_weights_file_that_does_not_fit_says_where(tmp_path):
    model = Sequential([Input((5,)), L.Dense(7)])
    with pytest.raises(ValueError, match=r"layer 'dense.*shapes \[\(5, 7\), \(7,\)\]"):
        model.load_weights(FILES / "nested.weights.h5")
    broken = tmp_path / "broken.keras"
    shutil.copy(FILES / "cnn.keras", broken)
    with zipfile.ZipFile(FILES / "cnn.keras") as source, zipfile.ZipFile(broken, "w") as out:
        for item in source.namelist():
            data = source.read(item)
            if item == "config.json":
                data = data.replace(b'"Conv2D"', b'"Conv9D"')
            out.writestr(item, data)
    with pytest.raises(ValueError, match="no layer 'Conv9D'"):
        load_model(broken)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("cnn", "recurrent")])
def test_a_graph_orders_its_layers_as_keras_does(name):
    """What a bare weights file needs: Keras numbers its groups in this order."""
    with zipfile.ZipFile(FILES / f"{name}.keras") as archive:
        config = json.loads(archive.read("config.json"))["config"]
    model = load_model(FILES / f"{name}.keras", compile=False)
    assert [layer.name for layer in _graph_order(model)] == [
        entry["config"]["name"] for entry in config["layers"]
    ]
