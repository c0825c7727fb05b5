import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import ops
else:
    import minicnn as keras
    from minicnn import ops
import numpy as np

keras.utils.set_random_seed(0)


def euclidean_distance(vects):
    x, y = vects
    sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
    return ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))


input = keras.layers.Input((28, 28, 1))
x = keras.layers.BatchNormalization()(input)
x = keras.layers.Conv2D(4, (5, 5), activation="tanh")(x)
x = keras.layers.AveragePooling2D(pool_size=(2, 2))(x)
x = keras.layers.Conv2D(16, (5, 5), activation="tanh")(x)
x = keras.layers.AveragePooling2D(pool_size=(2, 2))(x)
x = keras.layers.Flatten()(x)
x = keras.layers.BatchNormalization()(x)
x = keras.layers.Dense(10, activation="tanh")(x)
embedding_network = keras.Model(input, x)
input_1 = keras.layers.Input((28, 28, 1))
input_2 = keras.layers.Input((28, 28, 1))
tower_1 = embedding_network(input_1)
tower_2 = embedding_network(input_2)
merge_layer = keras.layers.Lambda(euclidean_distance, output_shape=(1,))([tower_1, tower_2])
normal_layer = keras.layers.BatchNormalization()(merge_layer)
output_layer = keras.layers.Dense(1, activation="sigmoid")(normal_layer)
siamese = keras.Model(inputs=[input_1, input_2], outputs=output_layer)


def loss(margin=1):
    def contrastive_loss(y_true, y_pred):
        square_pred = ops.square(y_pred)
        margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
        return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)

    return contrastive_loss


siamese.compile(loss=loss(margin=1), optimizer="RMSprop", metrics=["accuracy"])
print([l.name for l in siamese.layers], siamese.output_shape)
rng = np.random.default_rng(0)
a = rng.random((32, 28, 28, 1)).astype("float32")
b = rng.random((32, 28, 28, 1)).astype("float32")
y = rng.integers(0, 2, 32).astype("float32")
h = siamese.fit(
    [a, b], y, validation_data=([a[:8], b[:8]], y[:8]), batch_size=16, epochs=1, verbose=0
)
print(sorted(h.history), siamese.count_params())
print(siamese.predict([a[:2], b[:2]], verbose=0).shape)
siamese.summary()
