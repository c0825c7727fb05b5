import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

keras.utils.set_random_seed(0)
num_classes = 5
input_shape = (8, 8, 3)
rng = np.random.default_rng(0)
x_train = rng.random((40, 8, 8, 3)).astype("float32") * 255
y_train = keras.utils.to_categorical(rng.integers(0, num_classes, 40), num_classes)
x_test, y_test = x_train[:10], y_train[:10]
print(f"x_train shape: {x_train.shape} - y_train shape: {y_train.shape}")
label_smoothing = 0.1
patch_size = 2
num_patches = (input_shape[0] // patch_size) ** 2
embedding_dim = 8
mlp_dim = 8
dim_coefficient = 4
num_heads = 2
print(f"Patch size: {patch_size} X {patch_size} = {patch_size**2} ")
print(f"Patches per image: {num_patches}")

data_augmentation = keras.Sequential([layers.Normalization()], name="data_augmentation")
data_augmentation.layers[0].adapt(x_train)


class PatchExtract(layers.Layer):
    def __init__(self, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size

    def call(self, x):
        batch_size = ops.shape(x)[0]
        patches = ops.image.extract_patches(x, self.patch_size)
        patch_num = patches.shape[1] * patches.shape[2]
        return ops.reshape(patches, (batch_size, patch_num, patches.shape[-1]))


class PatchEmbedding(layers.Layer):
    def __init__(self, num_patch, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_patch = num_patch
        self.proj = layers.Dense(embed_dim)
        self.pos_embed = layers.Embedding(input_dim=num_patch, output_dim=embed_dim)

    def call(self, patch):
        pos = ops.arange(start=0, stop=self.num_patch, step=1)
        return self.proj(patch) + self.pos_embed(pos)


def external_attention(
    x, dim, num_heads, dim_coefficient=4, attention_dropout=0.0, projection_dropout=0.0
):
    _, num_patch, channel = x.shape
    assert dim % num_heads == 0
    num_heads = num_heads * dim_coefficient
    x = layers.Dense(dim * dim_coefficient)(x)
    x = ops.reshape(x, (-1, num_patch, num_heads, dim * dim_coefficient // num_heads))
    x = ops.transpose(x, axes=[0, 2, 1, 3])
    attn = layers.Dense(dim // dim_coefficient)(x)
    attn = layers.Softmax(axis=2)(attn)
    attn = attn / (1e-9 + ops.sum(attn, axis=-1, keepdims=True))
    attn = layers.Dropout(attention_dropout)(attn)
    x = layers.Dense(dim * dim_coefficient // num_heads)(attn)
    x = ops.transpose(x, axes=[0, 2, 1, 3])
    x = ops.reshape(x, [-1, num_patch, dim * dim_coefficient])
    x = layers.Dense(dim)(x)
    x = layers.Dropout(projection_dropout)(x)
    return x


def mlp(x, embedding_dim, mlp_dim, drop_rate=0.0):
    x = layers.Dense(mlp_dim, activation=ops.gelu)(x)
    x = layers.Dropout(drop_rate)(x)
    x = layers.Dense(embedding_dim)(x)
    x = layers.Dropout(drop_rate)(x)
    return x


def transformer_encoder(x, embedding_dim, mlp_dim, num_heads, dim_coefficient):
    residual_1 = x
    x = layers.LayerNormalization(epsilon=1e-5)(x)
    x = external_attention(x, embedding_dim, num_heads, dim_coefficient)
    x = layers.add([x, residual_1])
    residual_2 = x
    x = layers.LayerNormalization(epsilon=1e-5)(x)
    x = mlp(x, embedding_dim, mlp_dim)
    x = layers.add([x, residual_2])
    return x


def get_model():
    inputs = layers.Input(shape=input_shape)
    x = data_augmentation(inputs)
    x = PatchExtract(patch_size)(x)
    x = PatchEmbedding(num_patches, embedding_dim)(x)
    for _ in range(2):
        x = transformer_encoder(x, embedding_dim, mlp_dim, num_heads, dim_coefficient)
    x = layers.GlobalAvgPool1D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


model = get_model()
# (Normalization's count: int32 in Keras' JAX backend, int64 in minicnn and TensorFlow's.)
model.summary(print_fn=lambda text, **_: print(text.split(" Non-trainable params")[0]))
wrng = np.random.default_rng(2)
model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.3).astype("float32")
        if w.ndim > 1 and w.shape != (3,)
        else w
        for w in model.get_weights()
    ]
)
model.compile(
    loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
    optimizer=keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.0001),
    metrics=[
        keras.metrics.CategoricalAccuracy(name="accuracy"),
        keras.metrics.TopKCategoricalAccuracy(5, name="top-5-accuracy"),
    ],
)
history = model.fit(
    x_train, y_train, batch_size=8, epochs=2, validation_split=0.2, shuffle=False, verbose=0
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
loss, accuracy, top_5_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"Test loss: {round(loss, 2)}")
print(f"Test accuracy: {round(accuracy * 100, 2)}%")
print(f"Test top 5 accuracy: {round(top_5_accuracy * 100, 2)}%")
