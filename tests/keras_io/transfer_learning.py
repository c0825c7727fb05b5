"""Keras' guide "Transfer learning & fine-tuning" (keras.io/guides/transfer_learning): weights
and trainable flags, a frozen base under a new head, the summaries; a subclassed model's
summary before and after its first call."""

import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers
import numpy as np

keras.utils.set_random_seed(0)

layer = keras.layers.Dense(3)
layer.build((None, 4))
print("weights:", len(layer.weights))
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))
layer = keras.layers.BatchNormalization()
layer.build((None, 4))
print("weights:", len(layer.weights), [w.name for w in layer.weights])
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))
layer = keras.layers.Dense(3)
layer.build((None, 4))
layer.trainable = False
print("weights:", len(layer.weights))
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))

layer1 = keras.layers.Dense(3, activation="relu")
layer2 = keras.layers.Dense(3, activation="sigmoid")
model = keras.Sequential([keras.Input(shape=(3,)), layer1, layer2])
layer1.trainable = False
initial_layer1_weights_values = layer1.get_weights()
model.compile(optimizer="adam", loss="mse")
model.fit(np.random.random((2, 3)), np.random.random((2, 3)), verbose=0)
final_layer1_weights_values = layer1.get_weights()
np.testing.assert_allclose(initial_layer1_weights_values[0], final_layer1_weights_values[0])
print("frozen ok")

inner_model = keras.Sequential(
    [
        keras.Input(shape=(3,)),
        keras.layers.Dense(3, activation="relu"),
        keras.layers.Dense(3, activation="relu"),
    ]
)
model = keras.Sequential(
    [keras.Input(shape=(3,)), inner_model, keras.layers.Dense(3, activation="sigmoid")]
)
model.trainable = False
inner_model.trainable = True
assert inner_model.layers[0].trainable
print(model.trainable, inner_model.trainable, len(model.trainable_weights))

base_model = keras.Sequential(
    [
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
    ],
    name="base",
)
base_model.trainable = False
inputs = keras.Input(shape=(32, 32, 3))
x = base_model(inputs, training=False)
x = keras.layers.Dropout(0.2)(x)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
model.summary(show_trainable=True)
model.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy()],
)
xs = np.random.random((16, 32, 32, 3)).astype("float32")
ys = np.random.randint(0, 2, (16, 1)).astype("float32")
h = model.fit(xs, ys, epochs=1, verbose=0, validation_data=(xs, ys))
print(sorted(h.history))
base_model.trainable = True
model.summary(show_trainable=True)
model.compile(
    optimizer=keras.optimizers.Adam(1e-5),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy()],
)
print(len(model.trainable_weights), len(model.non_trainable_weights))


class MyModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = layers.Dense(4)
        self.d2 = layers.Dense(2)

    def call(self, x):
        return self.d2(self.d1(x))


m = MyModel()
m.summary()
m(np.ones((1, 3), "float32"))
m.summary()
