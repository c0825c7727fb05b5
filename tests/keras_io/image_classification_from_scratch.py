import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers
import tempfile

import numpy as np

OUT = tempfile.mkdtemp()
keras.utils.set_random_seed(0)
image_size = (32, 32)
data_augmentation_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x
    for size in [32, 64]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x
    x = layers.SeparableConv2D(128, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    units = 1 if num_classes == 2 else num_classes
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (3,), num_classes=2)
rng = np.random.default_rng(0)
X = rng.integers(0, 255, (64, 32, 32, 3)).astype("float32")
y = rng.integers(0, 2, 64)
aug = data_augmentation(X[:4])
print(tuple(aug.shape))
model.compile(
    optimizer=keras.optimizers.Adam(3e-4),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc")],
)
h = model.fit(
    X,
    y,
    epochs=1,
    batch_size=16,
    validation_split=0.25,
    callbacks=[keras.callbacks.ModelCheckpoint(OUT + f"/save_at_{{epoch}}_{sys.argv[1]}.keras")],
    verbose=0,
)
print(sorted(h.history), model.count_params())
predictions = model.predict(X[:1], verbose=0)
score = float(keras.ops.sigmoid(predictions[0][0]))
print(0 <= score <= 1, [l.name for l in model.layers][:12])
print(os.path.exists(OUT + f"/save_at_1_{sys.argv[1]}.keras"))
