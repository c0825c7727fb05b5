"""Keras' automatic config of a user's layer or model class without a get_config of its
own: the arguments it was made with, its __init__'s defaults filled in (what Keras 3.15's
Operation.__new__ records), as long as they are plain values."""

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.models import load_model


class Scaled(layers.Layer):
    def __init__(self, units=3, scale=1.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale

    def call(self, x):
        return x * self.scale


class Plain(layers.Layer):
    def call(self, x):
        return x


class Holding(layers.Layer):
    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x):
        return self.inner(x)


def _policy():
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def test_a_users_layer_records_its_arguments_with_their_defaults():
    # Keras 3.15 prints this config for the same class.
    assert Scaled(units=5, name="my").get_config() == {
        "name": "my",
        "units": 5,
        "scale": 1.5,
        "trainable": True,
        "dtype": _policy(),
    }
    again = Scaled.from_config(Scaled(units=5, scale=2.0).get_config())
    assert (again.units, again.scale) == (5, 2.0)


def test_a_layer_without_an_init_records_keras_base_arguments():
    assert Plain(name="n").get_config() == {
        "name": "n",
        "activity_regularizer": None,
        "autocast": True,
        "trainable": True,
        "dtype": _policy(),
    }
    assert Plain.from_config(Plain(name="n").get_config()).name == "n"
    with pytest.raises(ValueError, match="autocast"):
        Plain(autocast=False)


def test_arguments_a_config_cannot_hold_are_refused_when_it_is_asked_for(tmp_path):
    layer = Holding(layers.Dense(2))
    with pytest.raises(NotImplementedError, match="get_config of its __init__'s arguments"):
        layer.get_config()
    model = minicnn.Sequential([minicnn.Input((3,)), layer])
    with pytest.raises(NotImplementedError):
        model.save(tmp_path / "m.minicnn")
    assert not (tmp_path / "m.minicnn").exists()
    model.save_weights(tmp_path / "m.weights.npz")  # weights need no config
    model.load_weights(tmp_path / "m.weights.npz")


def test_a_saved_model_keeps_a_users_layers_arguments(tmp_path):
    minicnn.saving.register_keras_serializable("automatic")(Scaled)
    model = minicnn.Sequential([minicnn.Input((3,)), Scaled(units=4, scale=3.0)])
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert (loaded.layers[0].units, loaded.layers[0].scale) == (4, 3.0)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), 3 * x)


class Tower(minicnn.Model):
    def __init__(self, width=4, depth=2, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [layers.Dense(width) for _ in range(depth)]

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def test_a_users_model_records_its_arguments_with_their_defaults():
    config = Tower(width=6, name="t").get_config()
    assert config == {"name": "t", "width": 6, "depth": 2, "trainable": True, "dtype": _policy()}
    assert len(Tower.from_config(config).blocks) == 2
