import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
    from keras.applications import EfficientNetB0
else:
    import minicnn as keras
    from minicnn import layers
    from minicnn.applications import EfficientNetB0
import numpy as np

keras.utils.set_random_seed(0)
IMG_SIZE = 32
NUM_CLASSES = 3
rng = np.random.default_rng(0)
x_train = (rng.random((8, IMG_SIZE, IMG_SIZE, 3)) * 255).astype("float32")
y_train = keras.utils.to_categorical(rng.integers(0, NUM_CLASSES, 8), NUM_CLASSES)


def build_model(num_classes):
    inputs = layers.Input(shape=(IMG_SIZE, IMG_SIZE, 3))
    model = EfficientNetB0(include_top=False, input_tensor=inputs, weights=None)
    # Freeze the pretrained weights
    model.trainable = False
    # Rebuild top
    x = layers.GlobalAveragePooling2D(name="avg_pool")(model.output)
    x = layers.BatchNormalization()(x)
    top_dropout_rate = 0.2
    x = layers.Dropout(top_dropout_rate, name="top_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="pred")(x)
    # Compile
    model = keras.Model(inputs, outputs, name="EfficientNet")
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def unfreeze_model(model):
    # We unfreeze the top 20 layers while leaving BatchNorm layers frozen
    for layer in model.layers[-20:]:
        if not isinstance(layer, layers.BatchNormalization):
            layer.trainable = True
    optimizer = keras.optimizers.Adam(learning_rate=1e-4)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])


model = build_model(num_classes=NUM_CLASSES)
print(model.name, len(model.layers), model.layers[1].name, model.layers[-5].name)
print(len(model.trainable_weights), len(model.non_trainable_weights), model.count_params())
wrng = np.random.default_rng(1)
model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.1).astype("float32")
        if "variance" not in p
        else np.ones(w.shape, "float32")
        for w, p in zip(model.get_weights(), [v.path for v in model.weights], strict=True)
    ]
)
model.get_layer("top_dropout").rate = 0.0
history = model.fit(x_train, y_train, batch_size=4, epochs=2, shuffle=False, verbose=0)
print({k: [round(v, 3) for v in vs] for k, vs in history.history.items()})
unfreeze_model(model)
print(len(model.trainable_weights), len(model.non_trainable_weights))
print([layer.name for layer in model.layers[-20:] if layer.trainable][:6])
history = model.fit(x_train, y_train, batch_size=4, epochs=1, shuffle=False, verbose=0)
print({k: [round(v, 3) for v in vs] for k, vs in history.history.items()})
