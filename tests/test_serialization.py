"""keras.saving's serialize_keras_object / deserialize_keras_object: every kind of object
round-trips through JSON, and a custom layer that holds a sublayer (Keras' guide's way: the
sublayer serialized in get_config, rebuilt in from_config) saves and loads in a model."""

import json

import numpy as np
import pytest

from minicnn import (
    Input,
    Sequential,
    constraints,
    initializers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    saving,
)
from minicnn import layers as L


def round_trip(obj):
    data = json.loads(json.dumps(saving.serialize_keras_object(obj)))
    return saving.deserialize_keras_object(data)


def test_every_kind_round_trips_through_json():
    dense = L.Dense(4, activation="relu", kernel_initializer=initializers.HeNormal(seed=3))
    again = round_trip(dense)
    assert isinstance(again, L.Dense) and again.get_config() | {"name": 0} == dense.get_config() | {
        "name": 0
    }
    he_normal = round_trip(initializers.HeNormal(seed=3, input_axes=[0], output_axes=[1, 2]))
    assert he_normal.get_config() == {"seed": 3, "input_axes": [0], "output_axes": [1, 2]}
    assert round_trip(regularizers.L2(0.1)).l2 == 0.1
    assert round_trip(constraints.MaxNorm(2.0)).get_config()["max_value"] == 2.0
    assert round_trip(losses.Huber(delta=2.0)).delta == 2.0
    assert round_trip(metrics.Precision(thresholds=0.3)).get_config()["thresholds"] == 0.3
    assert round_trip(optimizers.Adam(0.01)).get_config()["learning_rate"] == np.float32(0.01)
    relu = saving.deserialize_keras_object("relu")
    np.testing.assert_array_equal(relu(np.array([-1.0, 2.0])).data, [0.0, 2.0])
    model = Sequential([Input((3,)), L.Dense(2)])
    rebuilt = round_trip(model)
    assert [type(layer) for layer in rebuilt.layers] == [L.Dense]
    assert saving.serialize_keras_object(np.arange(3)) == [0, 1, 2]
    with pytest.raises(ValueError, match="Unknown object 'Nowhere'"):
        saving.deserialize_keras_object({"class_name": "Nowhere", "config": {}})


@saving.register_keras_serializable(package="serialization_test")
class Gated(L.Layer):
    """A layer around another: sigmoid(gate) * inner(x), the inner layer in the config."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner
        self.gate = L.Dense(inner.units, activation="sigmoid")

    def build(self, input_shape):
        self.inner.build(input_shape)
        self.gate.build(input_shape)

    def call(self, inputs):
        return self.inner(inputs) * self.gate(inputs)

    @property
    def weights(self):
        return [*self.inner.weights, *self.gate.weights]

    def get_config(self):
        return {**super().get_config(), "inner": saving.serialize_keras_object(self.inner)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(saving.deserialize_keras_object(config.pop("inner")), **config)


def test_a_custom_layer_holding_a_layer_round_trips():
    layer = Gated(L.Dense(3, activation="tanh"))
    config = json.loads(json.dumps(saving.serialize_keras_object(layer)))
    assert config["registered_name"] == "serialization_test>Gated"
    assert config["config"]["inner"]["class_name"] == "Dense"
    again = saving.deserialize_keras_object(config)
    assert isinstance(again, Gated) and again.inner.units == 3
    assert again.inner.get_config()["activation"] == "tanh"


def test_keras_models_module_saves_and_loads(tmp_path):
    model = Sequential([Input((4,)), L.Dense(2)])
    models.save_model(model, tmp_path / "m.minicnn")
    again = models.load_model(tmp_path / "m.minicnn")
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert saving.get_registered_name(Gated) == "serialization_test>Gated"


def test_a_layers_config_holds_its_dtype_policy_as_kerass_does(tmp_path):
    """Keras 3's base config: name, trainable, then the dtype policy as Keras' dict (a
    mixed policy's too); an InputLayer's dtype is its data's, as Keras writes it."""
    dense = L.Dense(2)
    config = dense.get_config()
    assert list(config)[:3] == ["name", "trainable", "dtype"]
    assert config["dtype"] == {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }
    assert L.Dense.from_config(config).get_config() == config
    mixed = L.Dense(2, dtype="mixed_float16").get_config()["dtype"]
    assert mixed["config"] == {"name": "mixed_float16"}
    assert L.Dense.from_config({**config, "dtype": mixed}).dtype_policy.name == "mixed_float16"
    ids = Input((3,), dtype="int32")
    assert ids.input_layer.get_config()["dtype"] == "int32"
    model = Sequential([ids, L.Embedding(10, 2)])
    model.save(tmp_path / "m.minicnn")
    assert saving.load_model(tmp_path / "m.minicnn").get_config() == model.get_config()
