"""Writes keras_cnn.onnx, a CNN that Keras 3's own ``model.export(format="onnx")`` wrote
(TensorFlow backend, tf2onnx: channels-last input, batch normalization folded into
products), with an input and Keras' output for it in keras_cnn.npz.

Not part of the test run: run it by hand in a virtualenv with keras 3.15, tensorflow 2.21
and tf2onnx 1.17, from this folder:

    KERAS_BACKEND=tensorflow python make_keras_files.py
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers as L  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(0)
    images = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(images)
    x = L.BatchNormalization()(x)
    x = L.MaxPooling2D()(x)
    x = L.Add()([x, L.DepthwiseConv2D(3, padding="same")(x)])
    x = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(16, activation="swish")(x)
    model = keras.Model(images, L.Dense(4, activation="softmax")(x))
    for layer in model.layers:  # weights and statistics off their starting values
        arrays = layer.get_weights()
        if arrays:
            layer.set_weights(
                [
                    rng.standard_normal(a.shape).astype("float32") * 0.3
                    + (1.0 if "variance" in w.path else 0.0)
                    for a, w in zip(arrays, layer.weights, strict=True)
                ]
            )
    x = rng.standard_normal((3, 16, 16, 3)).astype("float32")
    np.savez("keras_cnn.npz", x=x, expected=model.predict(x, verbose=0))
    model.export("keras_cnn.onnx", format="onnx")


if __name__ == "__main__":
    main()
