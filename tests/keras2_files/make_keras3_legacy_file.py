"""Writes keras3_legacy.h5, a model that Keras 3 saved in the legacy HDF5 format
(``model.save("name.h5")``, whose config is Keras 3's), with inputs, targets, Keras'
predictions and the weights after one more training step (keras3_legacy.npz). Run it where
Keras 3 and a backend are installed:

    KERAS_BACKEND=jax python tests/keras2_files/make_keras3_legacy_file.py
"""

import os

import keras
import numpy as np
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = keras.Input((8, 8, 1), name="img")
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    a = layers.Dense(5, name="a")(x)
    outputs = layers.Add()([layers.Dense(3)(a), layers.Dense(3)(x)])
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.01), keras.losses.MeanSquaredError())
    x = rng.random((16, 8, 8, 1)).astype("float32")
    y = rng.random((16, 3)).astype("float32")
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(os.path.join(HERE, "keras3_legacy.h5"))
    predicted = model.predict(x, verbose=0)
    model.train_on_batch(x[:8], y[:8])
    after = {f"next{i}": w for i, w in enumerate(model.get_weights())}
    np.savez(os.path.join(HERE, "keras3_legacy.npz"), x0=x, y0=y, predicted0=predicted, **after)
