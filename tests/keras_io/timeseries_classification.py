import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
else:
    import minicnn as keras
import tempfile

import numpy as np

OUT = tempfile.mkdtemp()
keras.utils.set_random_seed(1)
rng = np.random.default_rng(0)
x_train = rng.standard_normal((256, 50)).astype("float32")
y_train = (x_train[:, :25].mean(1) > 0).astype(int)
x_test = rng.standard_normal((64, 50)).astype("float32")
y_test = (x_test[:, :25].mean(1) > 0).astype(int)
x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
num_classes = len(np.unique(y_train))
idx = np.random.permutation(len(x_train))
x_train = x_train[idx]
y_train = y_train[idx]


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)
    conv1 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)
    conv2 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)
    gap = keras.layers.GlobalAveragePooling1D()(conv2)
    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)
    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])
print(model.input_shape, model.output_shape)
callbacks = [
    keras.callbacks.ModelCheckpoint(
        OUT + f"/best_model_{sys.argv[1]}.keras", save_best_only=True, monitor="val_loss"
    ),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, verbose=1),
]
model.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)
history = model.fit(
    x_train, y_train, batch_size=32, epochs=4, callbacks=callbacks, validation_split=0.2, verbose=0
)
print(sorted(history.history))
model = keras.models.load_model(OUT + f"/best_model_{sys.argv[1]}.keras")
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print("Test accuracy", round(float(test_acc), 2), "loss", round(float(test_loss), 2))
metric = "sparse_categorical_accuracy"
print(len(history.history[metric]), len(history.history["val_" + metric]))
