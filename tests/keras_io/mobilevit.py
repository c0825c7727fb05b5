import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import backend, layers
else:
    import minicnn as keras
    from minicnn import backend, layers
import numpy as np

keras.utils.set_random_seed(0)
patch_size = 4  # 2x2, for the Transformer blocks.
image_size = 32
expansion_factor = 2  # expansion factor for the MobileNetV2 blocks.


def conv_block(x, filters=16, kernel_size=3, strides=2):
    conv_layer = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        activation=keras.activations.swish,
        padding="same",
    )
    return conv_layer(x)


# Reference: https://github.com/keras-team/keras/blob/e3858739d178fe16a0c77ce7fab88b0be6dbbdc7/keras/applications/imagenet_utils.py#L413C17-L435


def correct_pad(inputs, kernel_size):
    img_dim = 2 if backend.image_data_format() == "channels_first" else 1
    input_size = inputs.shape[img_dim : (img_dim + 2)]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    if input_size[0] is None:
        adjust = (1, 1)
    else:
        adjust = (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return (
        (correct[0] - adjust[0], correct[0]),
        (correct[1] - adjust[1], correct[1]),
    )


# Reference: https://git.io/JKgtC


def inverted_residual_block(x, expanded_channels, output_channels, strides=1):
    m = layers.Conv2D(expanded_channels, 1, padding="same", use_bias=False)(x)
    m = layers.BatchNormalization()(m)
    m = keras.activations.swish(m)

    if strides == 2:
        m = layers.ZeroPadding2D(padding=correct_pad(m, 3))(m)
    m = layers.DepthwiseConv2D(
        3, strides=strides, padding="same" if strides == 1 else "valid", use_bias=False
    )(m)
    m = layers.BatchNormalization()(m)
    m = keras.activations.swish(m)

    m = layers.Conv2D(output_channels, 1, padding="same", use_bias=False)(m)
    m = layers.BatchNormalization()(m)

    if keras.ops.equal(x.shape[-1], output_channels) and strides == 1:
        return layers.Add()([m, x])
    return m


# Reference:
# https://keras.io/examples/vision/image_classification_with_vision_transformer/


def mlp(x, hidden_units, dropout_rate):
    for units in hidden_units:
        x = layers.Dense(units, activation=keras.activations.swish)(x)
        x = layers.Dropout(dropout_rate)(x)
    return x


def transformer_block(x, transformer_layers, projection_dim, num_heads=2):
    for _ in range(transformer_layers):
        # Layer normalization 1.
        x1 = layers.LayerNormalization(epsilon=1e-6)(x)
        # Create a multi-head attention layer.
        attention_output = layers.MultiHeadAttention(
            num_heads=num_heads, key_dim=projection_dim, dropout=0.1
        )(x1, x1)
        # Skip connection 1.
        x2 = layers.Add()([attention_output, x])
        # Layer normalization 2.
        x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
        # MLP.
        x3 = mlp(
            x3,
            hidden_units=[x.shape[-1] * 2, x.shape[-1]],
            dropout_rate=0.1,
        )
        # Skip connection 2.
        x = layers.Add()([x3, x2])

    return x


def mobilevit_block(x, num_blocks, projection_dim, strides=1):
    # Local projection with convolutions.
    local_features = conv_block(x, filters=projection_dim, strides=strides)
    local_features = conv_block(
        local_features, filters=projection_dim, kernel_size=1, strides=strides
    )

    # Unfold into patches and then pass through Transformers.
    num_patches = int((local_features.shape[1] * local_features.shape[2]) / patch_size)
    non_overlapping_patches = layers.Reshape((patch_size, num_patches, projection_dim))(
        local_features
    )
    global_features = transformer_block(non_overlapping_patches, num_blocks, projection_dim)

    # Fold into conv-like feature-maps.
    folded_feature_map = layers.Reshape((*local_features.shape[1:-1], projection_dim))(
        global_features
    )

    # Apply point-wise conv -> concatenate with the input features.
    folded_feature_map = conv_block(
        folded_feature_map, filters=x.shape[-1], kernel_size=1, strides=strides
    )
    local_global_features = layers.Concatenate(axis=-1)([x, folded_feature_map])

    # Fuse the local and global features using a convoluion layer.
    local_global_features = conv_block(
        local_global_features, filters=projection_dim, strides=strides
    )

    return local_global_features


def create_mobilevit(num_classes=5):
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(scale=1.0 / 255)(inputs)

    # Initial conv-stem -> MV2 block.
    x = conv_block(x, filters=8)
    x = inverted_residual_block(x, expanded_channels=8 * expansion_factor, output_channels=8)

    # Downsampling with MV2 block.
    x = inverted_residual_block(
        x, expanded_channels=8 * expansion_factor, output_channels=12, strides=2
    )
    x = inverted_residual_block(x, expanded_channels=12 * expansion_factor, output_channels=12)

    # First MV2 -> MobileViT block.
    x = inverted_residual_block(
        x, expanded_channels=12 * expansion_factor, output_channels=16, strides=2
    )
    x = mobilevit_block(x, num_blocks=2, projection_dim=16)

    x = conv_block(x, filters=32, kernel_size=1, strides=1)

    # Classification head.
    x = layers.GlobalAvgPool2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)

    return keras.Model(inputs, outputs)


mobilevit_xxs = create_mobilevit()
mobilevit_xxs.summary()

rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, (16, image_size, image_size, 3)).astype("float32")
labels = rng.integers(0, 5, 16)
y_train = np.eye(5, dtype="float32")[labels]
learning_rate = 0.002
label_smoothing_factor = 0.1
epochs = 2
optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing_factor)
wrng = np.random.default_rng(3)
mobilevit_xxs.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.2).astype("float32") if w.ndim > 1 else w
        for w in mobilevit_xxs.get_weights()
    ]
)
mobilevit_xxs.compile(optimizer=optimizer, loss=loss_fn, metrics=["accuracy"])
print(np.round(mobilevit_xxs.predict(x_train[:2], verbose=0), 4))
print(np.round(mobilevit_xxs.evaluate(x_train, y_train, verbose=0), 4).tolist())
# (dropout draws differ between the libraries: after training only the keys are printed)
history = mobilevit_xxs.fit(
    x_train,
    y_train,
    batch_size=8,
    epochs=epochs,
    shuffle=False,
    verbose=0,
    validation_data=(x_train[:8], y_train[:8]),
)
print(sorted(history.history))
path = os.path.join("/tmp", f"mobilevit_{sys.argv[1]}.keras")
mobilevit_xxs.save(path)
reloaded = keras.models.load_model(path)
os.remove(path)
same = np.allclose(reloaded.predict(x_train, verbose=0), mobilevit_xxs.predict(x_train, verbose=0))
print("reloaded predicts the same:", same, reloaded.optimizer.iterations.numpy())
print([layer.__class__.__name__ for layer in mobilevit_xxs.layers][-12:])
