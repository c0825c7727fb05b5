"""The same user layers in Keras 3.15 and minicnn, with Keras' saving hooks:
save_own_variables/load_own_variables, get_build_config/build_from_config,
save_assets/load_assets, and a get_config that leaves out dtype and name. argv: keras or
minicnn; save or load; the .keras file (or a folder: ``save(..., zipped=False)``).
``keras save`` made tests/keras_files/saving_hooks.keras and the folder
tests/keras_files/saving_hooks_folder (and their predictions, .npy); Keras loads the
archive minicnn saves (``keras load``), and minicnn Keras' (tests/test_keras_archive_saving.py)."""

import json
import os
import sys

import numpy as np

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import ops
else:
    import minicnn as keras
    from minicnn import ops


@keras.saving.register_keras_serializable(package="hooks")
class Scale(keras.layers.Layer):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


@keras.saving.register_keras_serializable(package="hooks")
class Offset(keras.layers.Dense):
    def __init__(self, units, vocab="", **kwargs):
        super().__init__(units, **kwargs)
        self.vocab = vocab
        self.offset = keras.Variable(
            np.arange(units, dtype="float32"), name="offset", trainable=False
        )

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["offset"] = np.asarray(self.offset.numpy())

    def load_own_variables(self, store):
        self.offset.assign(store["offset"])
        self.kernel.assign(store["0"])
        self.bias.assign(store["1"])

    def save_assets(self, inner_path):
        with open(os.path.join(inner_path, "vocab.txt"), "w") as f:
            f.write(self.vocab)

    def load_assets(self, inner_path):
        with open(os.path.join(inner_path, "vocab.txt")) as f:
            self.vocab = f.read()

    def call(self, x):
        return super().call(x) + self.offset

    def get_config(self):
        return {"units": self.units, "name": self.name}


@keras.saving.register_keras_serializable(package="hooks")
class Built(keras.layers.Layer):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape, scale):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones")
        self.scale = scale

    def call(self, x):
        return ops.matmul(x, self.w) * self.scale

    def get_build_config(self):
        return {"input_shape": [None, 5], "scale": self.scale}

    def build_from_config(self, config):
        self.build(config["input_shape"], config["scale"])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


x = np.linspace(-1, 1, 20, dtype="float32").reshape(4, 5)
if sys.argv[2] == "save":
    built = Built(units=3, name="built")
    built.build((None, 5), 0.5)
    inputs = keras.Input((5,))
    h = Scale(2.0)(inputs)
    h = Offset(4, vocab="a b c", name="offset_dense")(h)
    out = keras.layers.Dense(5)(h)
    model = keras.Model(inputs, built(out))
    model.compile(
        optimizer="adam", loss="mse", metrics=["mae", keras.metrics.MeanSquaredError(name="m2")]
    )
    model.fit(x, np.ones((4, 3), "float32"), verbose=0)
    # A name not ending in .keras: Keras' unzipped folder of the same files.
    model.save(sys.argv[3], zipped=sys.argv[3].endswith(".keras"))
    np.save(sys.argv[3] + ".npy", np.asarray(model.predict(x, verbose=0)))
else:
    model = keras.models.load_model(sys.argv[3])
    want = np.load(sys.argv[3] + ".npy")
    got = np.asarray(model.predict(x, verbose=0))
    print("max difference", float(np.abs(got - want).max()))
    offset = model.get_layer("offset_dense")
    print("vocab", offset.vocab, "offset", np.asarray(offset.offset.numpy()).tolist())
    print("scale", model.get_layer("built").scale, "factor", model.layers[1].factor)
    print("compile", json.dumps(model.get_compile_config()["metrics"]))
    logs = model.evaluate(x, np.ones((4, 3), "float32"), verbose=0, return_dict=True)
    print("evaluate", sorted(logs))
