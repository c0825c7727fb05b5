"""A user's layer called on a dict of tensors, as Keras calls it: its build gets their
shapes by key, its call the dict in the order it was given (a model's dict of Inputs, as
keras.io's Variable Selection Network takes it), a dict of layers set in build is tracked,
and Keras' config and archive hold the call's dict. tests/keras_files/dict_called_layer.keras
was saved by Keras 3.15 from tests/keras_io/dict_called_layer.py."""

from pathlib import Path

import numpy as np
import pytest
from script_runs import printed_by

from minicnn import Input, Model, ops
from minicnn import layers as L

HERE = Path(__file__).parent
# What the script printed under Keras 3.15 when saving and when loading (Keras' first,
# symbolic call of the layer gets the dict with its keys sorted, its calls on data the
# dict as given; minicnn gives every call the dict as given).
SAVED = [
    "build {'b': (None,), 'a': (None,)}",
    "['picks/part_b/kernel', 'picks/part_b/bias', 'picks/part_a/kernel', 'picks/part_a/bias', "
    "'dense/kernel', 'dense/bias']",
    '{"input_shape": {"b": [null], "a": [null]}} [\'b\', \'a\']',
    "call ['b', 'a']",
    "[[1.7999999523162842], [1.7000000476837158]]",
]
LOADED = ["build {'b': (None,), 'a': (None,)}", *SAVED[-2:]]


def test_minicnn_saves_and_loads_a_layer_called_on_a_dict_as_keras(tmp_path):
    printed = printed_by("dict_called_layer", "save", str(tmp_path / "m.keras"))
    assert printed == [SAVED[0], "call ['b', 'a']", *SAVED[1:]]
    assert printed_by("dict_called_layer", "load", str(tmp_path / "m.keras"))[-2:] == LOADED[1:]
    keras_file = str(HERE / "keras_files" / "dict_called_layer.keras")
    printed = printed_by("dict_called_layer", "load", keras_file)
    assert printed[0] == LOADED[0] and printed[-2:] == LOADED[1:]


class Weighted(L.Layer):
    def __init__(self):  # no name, no **kwargs: Keras' config leaves the name out
        super().__init__()
        self.scales = {}

    def build(self):  # Keras hands a build without a shape argument nothing
        self.built = True

    def call(self, inputs):
        for key in inputs:
            if key not in self.scales:
                self.scales[key] = L.Dense(1, use_bias=False)
        return ops.concatenate([self.scales[k](v) for k, v in inputs.items()], axis=-1)


def test_a_layer_of_a_dict_builds_without_a_shape_and_keeps_its_dicts_layers():
    inputs = {"x": Input((2,), name="x"), "w": Input((3,), name="w")}
    layer = Weighted()
    model = Model(inputs, layer(inputs))
    assert [k for k in layer.scales] == ["x", "w"]  # called with the dict as given
    assert len(model.weights) == 2 and model.weights[0].shape == (2, 1)
    entry = model.get_config()["layers"][2]
    assert entry["build_config"] == {"shapes_dict": {}}
    assert "name" not in entry["config"]
    assert list(entry["inbound_nodes"][0]["args"][0]) == ["x", "w"]
    out = model.predict({"x": np.ones((4, 2), "f4"), "w": np.ones((4, 3), "f4")}, verbose=0)
    assert out.shape == (4, 2)
    with pytest.raises(ValueError, match="called on a dict of"):
        layer({"x": Input((2,))})
