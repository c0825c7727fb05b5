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
from sklearn.metrics import jaccard_score

keras.utils.set_random_seed(0)


class JaccardScoreCallback(keras.callbacks.Callback):
    """Computes the Jaccard score (the example writes it to TensorBoard with tf.summary;
    here a list keeps it)."""

    def __init__(self, model, x_test, y_test):
        self.set_model(model)
        self.x_test = x_test
        self.y_test = y_test
        self.keras_metric = keras.metrics.Mean("jaccard_score")
        self.epoch = 0
        self.written = []

    def on_epoch_end(self, batch, logs=None):
        self.epoch += 1
        self.keras_metric.reset_state()
        predictions = self.model.predict(self.x_test, verbose=0)
        jaccard_value = jaccard_score(
            np.argmax(predictions, axis=-1), self.y_test, average=None, zero_division=0.0
        )
        self.keras_metric.update_state(jaccard_value)
        value = np.asarray(self.keras_metric.result()).astype(float)
        self.written.append((self.keras_metric.name, round(float(value), 4), self.epoch))


num_classes = 4
input_shape = (10, 10, 1)
rng = np.random.default_rng(0)
x_train = rng.random((48, 10, 10)).astype("float32")
y_train = rng.integers(0, num_classes, 48)
x_test, y_test = x_train[:16], y_train[:16]
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.0),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
wrng = np.random.default_rng(1)
model.set_weights(
    [(wrng.standard_normal(w.shape) * 0.5).astype("float32") for w in model.get_weights()]
)
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
callback = JaccardScoreCallback(model, x_test, np.argmax(y_test, axis=-1))
print(callback.model is model)
history = model.fit(
    x_train,
    y_train,
    batch_size=16,
    epochs=3,
    validation_split=0.25,
    shuffle=False,
    verbose=0,
    callbacks=[callback],
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
print(callback.written)
metric = keras.metrics.Mean("m")
metric.update_state(np.array([1.0, 2.0, 6.0]))
metric.update_state(4.0, sample_weight=3.0)
print(float(metric.result()), np.asarray(metric.result()).astype(float), np.asarray(metric.count))
