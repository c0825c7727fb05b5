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
learning_rate = 0.001
weight_decay = 0.0001
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, (24, 16, 16, 3)).astype("float32")
y_train = rng.integers(0, 10, (24, 1))
x_val, y_val = x_train[:8], y_train[:8]
image_size = 16
print(f"Training data samples: {len(x_train)}")


def activation_block(x):
    x = layers.Activation("gelu")(x)
    return layers.BatchNormalization()(x)


def conv_stem(x, filters: int, patch_size: int):
    x = layers.Conv2D(filters, kernel_size=patch_size, strides=patch_size)(x)
    return activation_block(x)


def conv_mixer_block(x, filters: int, kernel_size: int):
    # Depthwise convolution.
    x0 = x
    x = layers.DepthwiseConv2D(kernel_size=kernel_size, padding="same")(x)
    x = layers.Add()([activation_block(x), x0])  # Residual.
    # Pointwise convolution.
    x = layers.Conv2D(filters, kernel_size=1)(x)
    x = activation_block(x)
    return x


def get_conv_mixer_256_8(
    image_size=16, filters=8, depth=2, kernel_size=3, patch_size=2, num_classes=10
):
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(scale=1.0 / 255)(inputs)
    x = conv_stem(x, filters, patch_size)
    for _ in range(depth):
        x = conv_mixer_block(x, filters, kernel_size)
    x = layers.GlobalAvgPool2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def run_experiment(model):
    optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    checkpoint_filepath = os.path.join("/tmp", f"convmixer_{sys.argv[1]}.weights.h5")
    checkpoint_callback = keras.callbacks.ModelCheckpoint(
        checkpoint_filepath,
        monitor="val_accuracy",
        save_best_only=True,
        save_weights_only=True,
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=8,
        validation_data=(x_val, y_val),
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[checkpoint_callback],
    )
    model.load_weights(checkpoint_filepath)
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"Test accuracy: {round(accuracy * 100, 2)}%")
    os.remove(checkpoint_filepath)
    return history, model


conv_mixer_model = get_conv_mixer_256_8()
conv_mixer_model.summary()
wrng = np.random.default_rng(3)
conv_mixer_model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.3).astype("float32") if w.ndim > 1 else w
        for w in conv_mixer_model.get_weights()
    ]
)
history, conv_mixer_model = run_experiment(conv_mixer_model)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
patch_embeddings = conv_mixer_model.layers[2].get_weights()[0]
print(patch_embeddings.shape, round(float(patch_embeddings.std()), 4))
for i, layer in enumerate(conv_mixer_model.layers):
    if isinstance(layer, layers.DepthwiseConv2D):
        if layer.get_config()["kernel_size"] == (3, 3):
            print(i, layer.name, layer.get_weights()[0].shape)
print(conv_mixer_model.optimizer.get_config()["weight_decay"])
