"""A subclassed model's own weights (Keras' ``add_weight`` on a model, a Variable kept as
its attribute): listed before its layers' weights, trained, saved in Keras' archive under
the model's own "vars" (and in minicnn's file), as Keras 3.15 does.
tests/keras_files/model_variables.keras was saved by Keras from
tests/keras_io/model_variables.py, which makes the same model in either library."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from script_runs import printed_by

import minicnn
from minicnn import Input, Model, layers
from minicnn.models import load_model

HERE = Path(__file__).parent
WEIGHTS = (
    "[('temperature', ()), ('tempered/token', (1, 3)), ('tempered/count', ()), "
    "('tempered/dense/kernel', (4, 3)), ('tempered/dense/bias', (3,))]"
)
TRAINABLE = "['temperature', 'tempered/token', 'tempered/dense/kernel', 'tempered/dense/bias'] 1"
# What the script printed under Keras 3.15 on loading Keras' archive (and minicnn's): the
# summary's byte counts left out (minicnn's step counter is int64).
PRINTED = [
    "max difference 0.0",
    WEIGHTS,
    TRAINABLE,
    "count 3.0 iterations 2",
    "[1.9980000257492065, [[0.9980000257492065, 0.9980000257492065, 0.9980000257492065]]]",
    'Model: "tempered"',
    "│ dense (Dense)                   │ (5, 3)                 │            15 │",
]


def variables_script(*argv: str) -> list[str]:
    return printed_by("model_variables", *argv)


def test_minicnn_loads_kerass_archive_of_a_model_with_weights_of_its_own():
    printed = variables_script("load", str(HERE / "keras_files" / "model_variables.keras"))
    assert all(line in printed for line in PRINTED)


def test_its_own_weights_come_first_and_go_in_the_models_vars(tmp_path):
    path = tmp_path / "m.keras"
    printed = variables_script("save", str(path))
    assert printed == [WEIGHTS, TRAINABLE]
    h5py = pytest.importorskip("h5py", reason="Keras' archive holds its weights in HDF5")
    with zipfile.ZipFile(path) as archive:
        weights = archive.read("model.weights.h5")
    with zipfile.ZipFile(HERE / "keras_files" / "model_variables.keras") as archive:
        keras_weights = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(weights)) as ours, h5py.File(io.BytesIO(keras_weights)) as theirs:
        names, keras_names = [], []
        ours.visit(names.append)
        theirs.visit(keras_names.append)
        assert names == keras_names  # vars/0..2, encoder/vars/0..1, the optimizer's
        assert ours["vars/0"][()] == pytest.approx(1.998)  # the temperature, trained
        assert ours["vars/2"][()] == 2.0  # fit's two steps, not the pass build runs
    assert all(line in variables_script("load", str(path)) for line in PRINTED)


class Scaled(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = minicnn.Variable(np.float32(1.5), name="scale")
        self.query = self.add_weight(shape=(2,), initializer="ones", name="query")
        self.dense = layers.Dense(2)

    def build(self, input_shape):
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False)
        super().build(input_shape)

    def call(self, x):
        return self.dense(x) * self.scale + self.query


def test_weights_of_its_own_train_save_and_load_with_the_models(tmp_path):
    minicnn.set_random_seed(0)
    model = Scaled()
    x = np.random.default_rng(0).random((8, 3)).astype(np.float32)
    model.compile("adam", "mse")  # Adam on a weight of no axes (Keras' scalar Variable)
    model.fit(x, np.ones((8, 2), np.float32), epochs=2, verbose=0)
    assert [w.name for w in model.weights] == ["scale", "query", "variable", "kernel", "bias"]
    assert float(model.scale.numpy()) != 1.5  # trained
    assert len(model.layers) == 1 and "scaled (ModelVariables)" not in str(model.summary)
    values = model.get_weights()
    model.set_weights([v + 1 for v in values])
    np.testing.assert_allclose(model.get_weights()[0], values[0] + 1)
    model.save(tmp_path / "scaled.npz")  # minicnn's own file
    again = load_model(tmp_path / "scaled.npz", custom_objects={"Scaled": Scaled})
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 5


def test_the_first_call_runs_the_models_own_build_and_add_weight_needs_a_subclass():
    model = Scaled()
    model(np.ones((2, 3), np.float32))  # build((2, 3)) first, as Keras calls it
    assert model.seen.path.startswith(f"{model.name}/variable")
    assert len(model.weights) == 5
    inputs = Input((3,))
    functional = Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(TypeError, match="not a subclassed model"):
        functional.add_weight(shape=(2,))
