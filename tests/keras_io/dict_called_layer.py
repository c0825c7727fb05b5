"""A user's layer called on a dict of a model's Inputs, in Keras 3.15 and minicnn: its
build gets the shapes by key, its call the dict in the order it was given, and Keras'
config records the call's dict and the build's shapes by key. argv: keras or minicnn;
save or load; the .keras file. ``keras save`` made tests/keras_files/dict_called_layer.keras;
Keras loads the archive minicnn saves (``keras load``), and minicnn Keras'
(tests/test_dict_called_layers.py)."""

import json
import os
import sys

import numpy as np

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops


@keras.saving.register_keras_serializable(package="dicts")
class Picks(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.parts = {}  # filled in build: tracked as Keras tracks a dict of layers

    def build(self, input_shape):
        print("build", {k: tuple(v) for k, v in input_shape.items()})
        for k in input_shape:
            self.parts[k] = layers.Dense(self.units, name=f"part_{k}")

    def call(self, inputs):
        print("call", list(inputs))
        parts = [self.parts[k](ops.expand_dims(v, -1)) for k, v in inputs.items()]
        return ops.concatenate(parts, axis=-1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


x = {"a": np.array([1.0, 2.0], "float32"), "b": np.array([3.0, -1.0], "float32")}
if sys.argv[2] == "save":
    inputs = {"b": keras.Input((), name="b"), "a": keras.Input((), name="a")}
    model = keras.Model(inputs, layers.Dense(1)(Picks(2)(inputs)))
    print([w.path for w in model.weights])
    weights = model.get_weights()
    model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32") for i, w in enumerate(weights)])
    entry = model.get_config()["layers"][2]
    print(json.dumps(entry["build_config"]), list(entry["inbound_nodes"][0]["args"][0]))
    model.save(sys.argv[3])
else:
    model = keras.models.load_model(sys.argv[3])
print(np.round(np.asarray(model.predict(x, verbose=0)), 4).tolist())
