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
INP_SIZE = (48, 48)
TARGET_SIZE = (32, 32)
INTERPOLATION = "bilinear"
BATCH_SIZE = 4
EPOCHS = 1

rng = np.random.default_rng(0)
images = rng.uniform(0, 255, (8, 60, 52, 3)).astype("float32")
# (the example resizes each image to INP_SIZE and one-hot encodes its label first)
x_train = np.asarray(keras.ops.image.resize(images, INP_SIZE))
y_train = np.asarray(keras.ops.one_hot(rng.integers(0, 2, 8), 2))
print(x_train.shape, y_train.shape, round(float(x_train.mean()), 3))


def conv_block(x, filters, kernel_size, strides, activation=layers.LeakyReLU(0.2)):  # noqa: B008
    x = layers.Conv2D(filters, kernel_size, strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    if activation:
        x = activation(x)
    return x


def res_block(x):
    inputs = x
    x = conv_block(x, 16, 3, 1)
    x = conv_block(x, 16, 3, 1, activation=None)
    return layers.Add()([inputs, x])


# Note: User can change num_res_blocks to >1 also if needed
def get_learnable_resizer(filters=16, num_res_blocks=1, interpolation=INTERPOLATION):
    inputs = layers.Input(shape=[None, None, 3])

    # First, perform naive resizing.
    naive_resize = layers.Resizing(*TARGET_SIZE, interpolation=interpolation)(inputs)

    # First convolution block without batch normalization.
    x = layers.Conv2D(filters=filters, kernel_size=7, strides=1, padding="same")(inputs)
    x = layers.LeakyReLU(0.2)(x)

    # Second convolution block with batch normalization.
    x = layers.Conv2D(filters=filters, kernel_size=1, strides=1, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.BatchNormalization()(x)

    # Intermediate resizing as a bottleneck.
    bottleneck = layers.Resizing(*TARGET_SIZE, interpolation=interpolation)(x)

    # Residual passes.
    # First res_block will get bottleneck output as input
    x = res_block(bottleneck)
    # Remaining res_blocks will get previous res_block output as input
    for _ in range(num_res_blocks - 1):
        x = res_block(x)

    # Projection.
    x = layers.Conv2D(filters=filters, kernel_size=3, strides=1, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)

    # Skip connection.
    x = layers.Add()([bottleneck, x])

    # Final resized image.
    x = layers.Conv2D(filters=3, kernel_size=7, strides=1, padding="same")(x)
    final_resize = layers.Add()([naive_resize, x])

    return keras.Model(inputs, final_resize, name="learnable_resizer")


learnable_resizer = get_learnable_resizer(num_res_blocks=2)
learnable_resizer.summary()
# conv_block's default activation is one LeakyReLU, shared by every block that takes it
print([layer.name for layer in learnable_resizer.layers if isinstance(layer, layers.LeakyReLU)])
wrng = np.random.default_rng(3)
learnable_resizer.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.1).astype("float32") if w.ndim > 1 else w
        for w in learnable_resizer.get_weights()
    ]
)
# (training=False: called without it, Keras 3.15 runs every layer after a Resizing in
# training mode, as Resizing's call defaults to training=True and that default stays in the
# call context; minicnn keeps inference)
resized_image = learnable_resizer(x_train[:1] / 255, training=False)
print(tuple(resized_image.shape), np.round(np.asarray(resized_image)[0, :2, :2, 0], 4).tolist())


def get_model():
    backbone = keras.applications.MobileNetV2(
        weights=None,
        include_top=True,
        classes=2,
        alpha=0.35,
        input_shape=((TARGET_SIZE[0], TARGET_SIZE[1], 3)),
    )
    backbone.trainable = True

    inputs = layers.Input((INP_SIZE[0], INP_SIZE[1], 3))
    x = layers.Rescaling(scale=1.0 / 255)(inputs)
    x = learnable_resizer(x)
    outputs = backbone(x)

    return keras.Model(inputs, outputs)


model = get_model()
model.summary()
model.compile(
    loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
    optimizer="sgd",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=0)
print(sorted(history.history), len(model.trainable_weights), len(model.non_trainable_weights))
print(tuple(learnable_resizer(x_train[:1] / 255).shape))
