"""Keras' guide "Training & evaluation with the built-in methods" (keras.io/guides/
training_with_built_in_methods), on small random data with weights drawn from NumPy in
Keras' order: fit/evaluate/predict, custom losses (a function, a Loss subclass), a custom
Metric, add_loss in a layer, an endpoint layer, validation_split, a PyDataset,
class_weight, sample_weight, a model of two inputs and two outputs (losses, metrics and
loss weights as lists and dicts, a None loss), EarlyStopping, a callback of the user's,
ModelCheckpoint and a learning-rate schedule."""

import math
import os
import shutil
import sys
import tempfile

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def draw(model):
    """The model's weights from NumPy, so that both libraries train the same numbers."""
    model.set_weights(
        [rng.normal(0, 0.2, size=w.shape).astype("float32") for w in model.get_weights()]
    )


def rounded(history):
    return {k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()}


features = 32
x_train = rng.random((256, features)).astype("float32")
y_train = rng.integers(0, 10, 256)
x_val, y_val = x_train[-64:], y_train[-64:]
x_train, y_train = x_train[:-64], y_train[:-64]
x_test = rng.random((64, features)).astype("float32")
y_test = rng.integers(0, 10, 64)


def get_uncompiled_model():
    inputs = keras.Input(shape=(features,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    draw(model)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


def fit_compiled(**settings):
    model = get_compiled_model()
    fitted = model.fit(
        x_train, y_train, batch_size=64, epochs=1, verbose=0, shuffle=False, **settings
    )
    return rounded(fitted)


model = get_uncompiled_model()
model.compile(
    optimizer=keras.optimizers.RMSprop(),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=2,
    validation_data=(x_val, y_val),
    verbose=0,
    shuffle=False,
)
print(rounded(history))
results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
print("test loss, test acc:", np.round(results, 4))
predictions = model.predict(x_test[:3], verbose=0)
print("predictions shape:", predictions.shape)


def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
y_train_one_hot = ops.one_hot(y_train, num_classes=10)
print(
    rounded(model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0, shuffle=False))
)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
print(
    rounded(model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0, shuffle=False))
)


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0)


model = get_uncompiled_model()
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[CategoricalTruePositives()],
)
print(rounded(model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0, shuffle=False)))


class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs


inputs = keras.Input(shape=(features,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = ActivityRegularizationLayer()(x)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
draw(model)
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
print(rounded(model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0, shuffle=False)))


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return ops.softmax(logits)


inputs = keras.Input(shape=(3,), name="inputs")
targets = keras.Input(shape=(10,), name="targets")
logits = keras.layers.Dense(10)(inputs)
predictions = LogisticEndpoint(name="predictions")(targets, logits)
model = keras.Model(inputs=[inputs, targets], outputs=predictions)
draw(model)
model.compile(optimizer="adam")
data = {
    "inputs": rng.random((3, 3)).astype("float32"),
    "targets": rng.random((3, 10)).astype("float32"),
}
print(rounded(model.fit(data, verbose=0, shuffle=False)))

print(fit_compiled(validation_split=0.2))


class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.y = y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        batch_x = self.x[idx * self.batch_size : (idx + 1) * self.batch_size]
        batch_y = self.y[idx * self.batch_size : (idx + 1) * self.batch_size]
        return batch_x, batch_y


train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32)
val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32)
model = get_compiled_model()
history = model.fit(
    train_py_dataset,
    batch_size=64,
    validation_data=val_py_dataset,
    epochs=1,
    verbose=0,
    shuffle=False,
)
print(rounded(history), len(train_py_dataset), math.ceil(192 / 32))

class_weight = {i: 1.0 for i in range(10)}
class_weight[5] = 2.0
print(fit_compiled(class_weight=class_weight))

sample_weight = np.ones(shape=(len(y_train),))
sample_weight[y_train == 5] = 2.0
print(fit_compiled(sample_weight=sample_weight))

image_input = keras.Input(shape=(8, 8, 3), name="img_input")
timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
x1 = layers.Conv2D(3, 3)(image_input)
x1 = layers.GlobalMaxPooling2D()(x1)
x2 = layers.Conv1D(3, 3)(timeseries_input)
x2 = layers.GlobalMaxPooling1D()(x2)
x = layers.concatenate([x1, x2])
score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(5, name="class_output")(x)
model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])
model.summary()
img_data = rng.random((32, 8, 8, 3)).astype("float32")
ts_data = rng.random((32, 6, 10)).astype("float32")
score_targets = rng.random((32, 1)).astype("float32")
class_targets = rng.random((32, 5)).astype("float32")
start = [rng.normal(0, 0.2, size=w.shape).astype("float32") for w in model.get_weights()]


def fit_on_lists(model):
    fitted = model.fit(
        [img_data, ts_data], [score_targets, class_targets], batch_size=32, verbose=0
    )
    return rounded(fitted)


model.set_weights(start)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
)
print(fit_on_lists(model))

model.set_weights(start)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "score_output": keras.losses.MeanSquaredError(),
        "class_output": keras.losses.CategoricalCrossentropy(),
    },
    metrics={
        "score_output": [
            keras.metrics.MeanAbsolutePercentageError(),
            keras.metrics.MeanAbsoluteError(),
        ],
        "class_output": [keras.metrics.CategoricalAccuracy()],
    },
    loss_weights={"score_output": 2.0, "class_output": 1.0},
)
history = model.fit(
    {"img_input": img_data, "ts_input": ts_data},
    {"score_output": score_targets, "class_output": class_targets},
    batch_size=32,
    epochs=2,
    verbose=0,
)
print(rounded(history))
print(
    [
        round(float(v), 4)
        for v in model.evaluate(
            {"img_input": img_data, "ts_input": ts_data},
            {"score_output": score_targets, "class_output": class_targets},
            verbose=0,
        )
    ]
)

model.set_weights(start)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[None, keras.losses.CategoricalCrossentropy()],
)
print(fit_on_lists(model))

model = get_compiled_model()
callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)
]
history = model.fit(
    x_train,
    y_train,
    epochs=20,
    batch_size=64,
    callbacks=callbacks,
    validation_split=0.2,
    verbose=0,
    shuffle=False,
)
print(len(history.history["loss"]), rounded(history)["val_loss"])


class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs):
        self.per_batch_losses = []

    def on_batch_end(self, batch, logs):
        self.per_batch_losses.append(logs.get("loss"))


model = get_compiled_model()
recorder = LossHistory()
model.fit(x_train, y_train, epochs=1, batch_size=64, callbacks=[recorder], verbose=0, shuffle=False)
print([round(float(v), 4) for v in recorder.per_batch_losses])

folder = os.path.join(tempfile.gettempdir(), "keras_io_training_checkpoints")
shutil.rmtree(folder, ignore_errors=True)  # (a fixed folder: the lines print its path)
model = get_compiled_model()
callbacks = [
    keras.callbacks.ModelCheckpoint(
        filepath=os.path.join(folder, "mymodel_{epoch}.keras"),
        save_best_only=True,
        monitor="val_loss",
        verbose=1,
    )
]
model.fit(
    x_train,
    y_train,
    epochs=2,
    batch_size=64,
    callbacks=callbacks,
    validation_split=0.2,
    verbose=0,
    shuffle=False,
)
print(sorted(os.listdir(folder)))

initial_learning_rate = 0.01  # (the guide: 0.1, at which this small run diverges)
lr_schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate, decay_steps=2, decay_rate=0.96, staircase=True
)
optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
model = get_uncompiled_model()
model.compile(optimizer, "sparse_categorical_crossentropy")
print(rounded(model.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0, shuffle=False)))
print(round(float(optimizer.learning_rate), 6), int(optimizer.iterations))
