"""Keras' saving hooks on layers and models (keras.io "Customizing Saving and
Serialization"): the order of a layer's weights when a subclass adds a Variable in __init__,
what the default save_own_variables stores, save_assets/load_assets, a build of several
arguments, and a subclassed model's automatic config. Expected values are Keras 3.15's."""

import os

import numpy as np
import pytest

import minicnn
from minicnn import layers as L
from minicnn.saving import ModelFileError, load_model


class Scaled(L.Dense):
    """A Dense subclass with a trainable Variable made in __init__ and a frozen one."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.scale = minicnn.Variable(np.full((units,), 2.0), name="scale", dtype="float32")
        self.offset = minicnn.Variable(
            np.zeros((units,)), name="offset", dtype="float32", trainable=False
        )

    def call(self, inputs):
        return super().call(inputs) * self.scale + self.offset


def test_init_variables_take_keras_places_in_weights_and_get_weights():
    layer = Scaled(3)
    layer.build((None, 4))
    # Keras: its trainable variables (in the order they were made), then the others.
    assert [w.name for w in layer.weights] == ["scale", "kernel", "bias", "offset"]
    assert [w.name for w in layer.trainable_weights] == ["scale", "kernel", "bias"]
    assert [w.name for w in layer.non_trainable_weights] == ["offset"]
    arrays = layer.get_weights()
    assert [a.shape for a in arrays] == [(3,), (4, 3), (3,), (3,)]
    arrays[0] = np.full(3, 5.0, np.float32)
    layer.set_weights(arrays)
    np.testing.assert_array_equal(layer.scale.numpy(), [5.0, 5.0, 5.0])
    x = np.ones((2, 4), np.float32)
    expected = (x @ layer.kernel.numpy() + layer.bias.numpy()) * 5.0
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6)


def test_dense_stores_its_own_weights_and_a_base_layer_all():
    layer = Scaled(3)
    layer.build((None, 4))
    store = {}
    layer.save_own_variables(store)
    # Keras' Dense.save_own_variables: its kernel and bias alone.
    assert sorted(store) == ["0", "1"] and store["0"].shape == (4, 3)
    fresh = Scaled(3)
    fresh.build((None, 4))
    fresh.load_own_variables(store)
    np.testing.assert_array_equal(fresh.kernel.numpy(), layer.kernel.numpy())
    with pytest.raises(ValueError, match="expects 2 variables, got 1"):
        fresh.load_own_variables({"0": store["0"]})

    class Counting(L.Layer):
        def __init__(self):
            super().__init__()
            self.count = minicnn.Variable(np.zeros(()), name="count", trainable=False)

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones")

        def call(self, x):
            return x @ self.w

    counting = Counting()
    counting.build((None, 3))
    store = {}
    counting.save_own_variables(store)  # Keras' Layer: every variable, trainable ones first
    assert [store[k].shape for k in sorted(store)] == [(3, 2), ()]


@minicnn.saving.register_keras_serializable(package="hooks_test")
class WithVocabulary(L.Dense):
    def __init__(self, units, vocabulary="", **kwargs):
        super().__init__(units, **kwargs)
        self.vocabulary = vocabulary
        self.loaded_from = None

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary}

    def save_assets(self, inner_path):
        os.makedirs(os.path.join(inner_path, "words"))
        with open(os.path.join(inner_path, "words", "list.txt"), "w") as f:
            f.write(self.vocabulary.upper())

    def load_assets(self, inner_path):
        with open(os.path.join(inner_path, "words", "list.txt")) as f:
            self.vocabulary = f.read()
        self.loaded_from = sorted(os.listdir(inner_path))


def test_assets_are_saved_with_the_model_and_given_back_in_a_folder(tmp_path):
    model = minicnn.Sequential([minicnn.Input((3,)), WithVocabulary(2, "a b c")])
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert again.layers[0].vocabulary == "A B C"
    assert again.layers[0].loaded_from == ["words"]
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def test_a_build_of_several_arguments_is_recorded_by_name():
    class Initialized(L.Layer):
        def build(self, input_shape, initializer):
            super().build(input_shape)  # first, as Keras' guide does: call runs later
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer=initializer)

        def call(self, x):
            return x @ self.w

    layer = Initialized()
    layer.build((None, 3), initializer="ones")
    assert layer.get_build_config() == {
        "shapes_dict": {"input_shape": (None, 3), "initializer": "ones"}
    }
    again = Initialized()
    again.build_from_config(layer.get_build_config())
    np.testing.assert_array_equal(again.w.numpy(), np.ones((3, 2)))


class Tower(minicnn.Model):
    def __init__(self, units=4, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation
        self.hidden = L.Dense(units, activation=activation)
        self.out = L.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))


def test_a_subclassed_models_automatic_config_holds_its_arguments(tmp_path):
    model = Tower(units=6, activation="tanh", name="tower")
    config = model.get_config()
    assert config["units"] == 6 and config["activation"] == "tanh" and config["name"] == "tower"
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    model.save(tmp_path / "tower.keras")
    with pytest.raises(ModelFileError, match="'Tower'"):
        load_model(tmp_path / "tower.keras")
    again = load_model(tmp_path / "tower.keras", custom_objects={"Tower": Tower})
    assert again.units == 6 and again.name == "tower" and again.hidden.units == 6
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    # An argument no config holds: Keras' automatic config gives up, so does save.
    held = Tower(activation=minicnn.activations.tanh)  # a function
    held(x)
    with pytest.raises(TypeError, match="made with arguments a config cannot hold"):
        held.save(tmp_path / "held.keras")
