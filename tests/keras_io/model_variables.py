"""A subclassed model with weights of its own, in Keras 3.15 and minicnn: a Variable kept
as an attribute in __init__, and add_weight's in the model's build (one not trainable),
before the weights of its layer. argv: keras or minicnn; save or load; the .keras file.
``keras save`` made tests/keras_files/model_variables.keras (and its predictions, .npy);
Keras loads the archive minicnn saves (``keras load``), and minicnn Keras'
(tests/test_model_variables.py)."""

import os
import sys

import numpy as np

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers


@keras.saving.register_keras_serializable(package="own")
class Tempered(keras.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.temperature = keras.Variable(2.0, name="temperature")
        self.encoder = layers.Dense(units)

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, self.units), initializer="ones", name="token")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
        self.encoder.build(input_shape)  # (Keras' model.build runs no call)
        super().build(input_shape)

    def call(self, x):
        self.count.assign(self.count + 1.0)
        return (self.encoder(x) + self.token) * self.temperature

    def get_config(self):
        return {**super().get_config(), "units": self.units}


x = np.linspace(-1, 1, 20, dtype="float32").reshape(5, 4)
y = np.ones((5, 3), "float32")


def show(model):
    print([(w.path, tuple(w.shape)) for w in model.weights])
    print([w.path for w in model.trainable_weights], len(model.non_trainable_weights))


if sys.argv[2] == "save":
    keras.utils.set_random_seed(0)
    model = Tempered(name="tempered")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    show(model)
    model.save(sys.argv[3])
    np.save(sys.argv[3] + ".npy", np.asarray(model.predict(x, verbose=0)))
else:
    model = keras.models.load_model(sys.argv[3])
    want = np.load(sys.argv[3] + ".npy")
    print("max difference", float(np.abs(np.asarray(model.predict(x, verbose=0)) - want).max()))
    show(model)
    print("count", float(np.asarray(model.count)), "iterations", int(model.optimizer.iterations))
    print([np.round(np.asarray(w), 4).tolist() for w in model.get_weights()[:2]])
    model.summary()
