"""Writes the Keras 2 files (TensorFlow's ``tf.keras``, the legacy HDF5 format) that
tests/test_keras2_files.py reads: whole models saved by ``model.save("name.h5")``, with
inputs, targets, Keras' predictions and the weights after one more training step
(``name.npz``), and a weights-only file of ``model.save_weights("name.h5")``. Run it where
TensorFlow 2.15 is installed (neither it nor Keras is a dependency of minicnn; the files are
kept in the repository):

    python tests/keras2_files/make_keras2_files.py
    python tests/keras2_files/make_keras2_files.py mixed_precision  # that file alone
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

layers = keras.layers
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def sequential():
    """A Sequential CNN whose first layer takes ``input_shape``; the new Adam."""
    model = keras.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.random((16, 8, 8, 1)).astype("float32")
    return model, x, np.arange(16) % 3


def functional():
    """Two inputs and two outputs, a nested Sequential, a shared layer, a masked LSTM,
    BatchNormalization, a regularizer; SGD with momentum, loss weights, metrics per output."""
    img = keras.Input((8, 8, 1), name="img")
    tok = keras.Input((5,), dtype="int32", name="tok")
    x = layers.Conv2D(4, 3, padding="same", kernel_regularizer=keras.regularizers.l2(1e-3))(img)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    s = layers.LSTM(4)(layers.Embedding(20, 6, mask_zero=True)(tok))
    block = keras.Sequential(
        [
            layers.Dense(6, activation="tanh", input_shape=(8,)),
            layers.BatchNormalization(),
            layers.Dense(4),
        ],
        name="block",
    )
    h = block(layers.Concatenate()([x, s]))
    shared = layers.Dense(4, name="shared")
    total = layers.Add(name="sum")([shared(h), shared(x)])
    flag = layers.Dense(1, activation="sigmoid", name="flag")(h)
    model = keras.Model([img, tok], [total, flag])
    model.compile(
        keras.optimizers.SGD(0.05, momentum=0.9),
        loss=["mse", keras.losses.BinaryCrossentropy()],
        metrics=[["mae"], ["accuracy"]],
        loss_weights=[1.0, 0.5],
    )
    x = [
        rng.random((16, 8, 8, 1)).astype("float32"),
        rng.integers(0, 20, (16, 5)).astype("int32"),
    ]
    y = [rng.random((16, 4)).astype("float32"), (rng.random((16, 1)) > 0.5).astype("float32")]
    return model, x, y


def optimizer_v2():
    """The legacy optimizer (``tf.keras.optimizers.legacy``, Keras 2.10 and before): its
    state is named per weight ("Adam/dense/kernel/m:0"), all m's before all v's."""
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4, activation="tanh"), layers.Dense(2)]
    )
    model.compile(keras.optimizers.legacy.Adam(0.01, amsgrad=True), "mse")
    return model, rng.random((16, 5)).astype("float32"), rng.random((16, 2)).astype("float32")


def each_optimizer(optimizer):
    """The same small model with each of Keras 2's optimizers (their state's names)."""

    def make():
        model = keras.Sequential(
            [keras.Input((5,)), layers.Dense(4, activation="tanh"), layers.Dense(2)]
        )
        model.compile(optimizer(), "mse")
        return model, rng.random((16, 5)).astype("float32"), rng.random((16, 2)).astype("float32")

    return make


OPTIMIZERS = {
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01, momentum=0.9, centered=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.1),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "adamw": lambda: keras.optimizers.AdamW(0.01, amsgrad=True),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "ftrl": lambda: keras.optimizers.Ftrl(0.1),
    "lion": lambda: keras.optimizers.Lion(0.001),
    "sgd_v2": lambda: keras.optimizers.legacy.SGD(0.1, momentum=0.9, nesterov=True),
    "adafactor": lambda: keras.optimizers.Adafactor(0.05),
}


def weights_only():
    """``save_weights`` of a model that minicnn's test builds again with its own names."""
    model = keras.Sequential(
        [
            keras.Input((6, 3)),
            layers.Conv1D(4, 3, padding="same", activation="relu"),
            layers.Bidirectional(layers.GRU(3, return_sequences=True)),
            layers.LayerNormalization(),
            layers.Dropout(0.3),
            layers.GlobalMaxPooling1D(),
            layers.Dense(2),
        ]
    )
    return model, rng.random((4, 6, 3)).astype("float32")


def zoo():
    """Layers whose Keras 2 configs differ from Keras 3's: SeparableConv2D (unused kernel
    arguments), LeakyReLU's alpha, ThresholdedReLU, ConvLSTM2D and LSTM with Keras 2's
    hard sigmoid, MultiHeadAttention's build shapes, an Embedding's input_length,
    Discretization's int64 dtype, GRU without reset_after, Normalization on axis 3 and
    InceptionResNetV2's CustomScaleLayer (EfficientNet's and InceptionResNetV2's)."""
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    image = keras.Input((6, 6, 2), name="image")
    x = layers.Normalization(axis=3, mean=[0.5, -0.5], variance=[4.0, 0.25])(image)
    x = CustomScaleLayer(0.17)([x, layers.Conv2D(2, 1)(x)])  # InceptionResNetV2's
    x = layers.SeparableConv2D(3, 3, padding="same")(x)
    x = layers.LeakyReLU(alpha=0.2)(x)
    x = layers.ThresholdedReLU(theta=0.1)(x)
    frames = layers.Reshape((2, 6, 9, 1))(layers.Permute((1, 3, 2))(x))
    x = layers.ConvLSTM2D(2, 3)(frames)
    x = layers.Flatten()(x)
    tokens = keras.Input((5,), name="tokens")
    ids = layers.Embedding(4, 6, input_length=5)(layers.Discretization([0.25, 0.5, 0.75])(tokens))
    s = layers.MultiHeadAttention(2, 3)(ids, ids)
    s = layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True)(s)
    s = layers.Bidirectional(layers.GRU(3, reset_after=False))(s)
    model = keras.Model([image, tokens], layers.Concatenate()([x, s]))
    for layer in model.layers:  # weights off their initial values
        layer.set_weights([w + rng.normal(0, 0.2, w.shape) for w in layer.get_weights()])
    x = [rng.normal(size=(3, 6, 6, 2)).astype("float32"), rng.random((3, 5)).astype("float32")]
    return model, x


def tf_ops():
    """TensorFlow's functions and operators on KerasTensors, which Keras 2 saved as
    TFOpLambda and SlicingOpLambda layers (a constant first argument among them)."""
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    x = tf.nn.relu((a + b) * 2.0)
    y = tf.concat([x, b], axis=-1)[:, 1:5]
    product = tf.matmul(tf.expand_dims(a, 1), tf.expand_dims(b, 2), transpose_a=False)
    parts = [
        tf.reduce_mean(y, axis=1, keepdims=True),
        tf.squeeze(tf.expand_dims(y, -1), axis=-1),
        tf.reshape(product, (-1, 1)),
        tf.math.sigmoid(a) - b,
        tf.transpose(tf.stack([a, b], axis=1), [0, 2, 1])[:, :, 0],
        tf.clip_by_value(a, -0.5, 0.5),
        tf.math.maximum(a, b),
        a / (1.0 + tf.abs(b)),
        tf.cast(a > b, tf.float32),
        tf.split(a, [1, 3], axis=1)[1],
        tf.math.l2_normalize(a, axis=-1),
        tf.nn.softmax(b),
        tf.nn.leaky_relu(a, alpha=0.3),
        tf.math.reduce_logsumexp(a, axis=-1, keepdims=True),
        tf.where(a > 0, a, b),
        tf.tile(a[:, :1], [1, 2]),
        tf.math.squared_difference(a, b),
        tf.nn.gelu(b),
        2.0 - tf.math.reduce_max(b, axis=1, keepdims=True),
    ]
    model = keras.Model([a, b], layers.Concatenate()(parts))
    return model, [rng.normal(size=(3, 4)).astype("float32") for _ in range(2)]


def tf_ops_more():
    """The rest of the TensorFlow functions minicnn maps, on inputs that keep them finite."""
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    positive = tf.abs(a) + 1.0
    parts = [
        tf.sqrt(positive),
        tf.exp(a),
        tf.math.log(positive),
        tf.negative(a),
        tf.math.rsqrt(positive),
        tf.math.reciprocal(positive),
        tf.sign(a),
        tf.floor(a),
        tf.math.ceil(a),
        tf.round(a * 3.0),
        tf.math.log1p(positive),
        tf.tanh(a),
        tf.nn.softplus(a),
        tf.nn.relu6(a * 4.0),
        tf.nn.elu(a),
        tf.math.minimum(a, b),
        tf.math.add(a, 1.0),
        tf.math.multiply(a, b),
        tf.cast(a >= b, tf.float32),
        tf.cast(a < b, tf.float32),
        tf.cast(a <= 0.0, tf.float32),
        tf.cast(tf.equal(tf.floor(a), tf.floor(b)), tf.float32),
        tf.cast(tf.not_equal(tf.floor(a), tf.floor(b)), tf.float32),
        tf.math.floordiv(a, 0.5),
        a // b,
        tf.math.divide(a, positive),
        -b,
        a**2,
        tf.square(b),
        tf.pow(positive, 1.5),
        tf.add_n([a, b, a]),
        tf.reduce_sum(a, axis=1, keepdims=True),
        tf.reduce_min(a, axis=-1, keepdims=True),
        tf.reduce_prod(positive, axis=1, keepdims=True),
        tf.math.reduce_std(a, axis=1, keepdims=True),
        tf.math.reduce_variance(b, axis=1, keepdims=True),
        tf.cast(tf.expand_dims(tf.argmax(a, axis=1), -1), tf.float32),
        tf.cast(tf.expand_dims(tf.math.argmin(b, axis=1), -1), tf.float32),
        tf.nn.log_softmax(a),
        tf.nn.silu(b),
        tf.nn.silu(b, beta=2.0),
        tf.reshape(
            tf.matmul(tf.expand_dims(a, 1), tf.expand_dims(b, 1), transpose_b=True), (-1, 1)
        ),
        tf.identity(b),
        tf.ones_like(a) + tf.zeros_like(b),
        tf.squeeze(tf.stack([a, b], axis=-1)[:, :, :1], axis=2),
    ]
    model = keras.Model([a, b], layers.Concatenate()(parts))
    return model, [rng.normal(size=(3, 4)).astype("float32") for _ in range(2)]


def mixed_precision():
    """Made under the global policy "mixed_float16": compile wraps Adam in TensorFlow's
    LossScaleOptimizerV3. Its float32 twin (same config and weights) gives the outputs
    minicnn must match; Keras' own are float16's."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                layers.Conv2D(4, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dense(3),
                layers.Activation("softmax", dtype="float32"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        x = rng.random((16, 8, 8, 1)).astype("float32")
        model.fit(x, np.arange(16) % 3, batch_size=8, epochs=2, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    config = json.loads(json.dumps(model.get_config()).replace("mixed_float16", "float32"))
    twin = keras.Sequential.from_config(config)
    twin.set_weights(model.get_weights())
    return model, x, twin.predict(x, verbose=0)


def split(data, rows):
    return [d[rows] for d in data] if isinstance(data, list) else data[rows]


def arrays(name, data):
    data = data if isinstance(data, list) else [data]
    return {f"{name}{i}": d for i, d in enumerate(data)}


if __name__ == "__main__" and sys.argv[1:] == ["mixed_precision"]:
    tf.keras.utils.set_random_seed(0)
    model, x, float32_outputs = mixed_precision()
    model.save(os.path.join(HERE, "mixed_precision.h5"))
    np.savez(os.path.join(HERE, "mixed_precision.npz"), x=x, predicted=float32_outputs)
elif __name__ == "__main__":
    tf.keras.utils.set_random_seed(0)
    for name, make in [
        ("sequential", sequential),
        ("functional", functional),
        ("optimizer_v2", optimizer_v2),
        *[(f"optimizer_{k}", each_optimizer(o)) for k, o in OPTIMIZERS.items()],
    ]:
        model, x, y = make()
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        model.save(os.path.join(HERE, f"{name}.h5"))
        predicted = model.predict(x, verbose=0)
        model.train_on_batch(split(x, slice(0, 8)), split(y, slice(0, 8)))
        saved = {**arrays("x", x), **arrays("y", y), **arrays("predicted", predicted)}
        saved.update(arrays("next", model.get_weights()))
        np.savez(os.path.join(HERE, f"{name}.npz"), **saved)
    for name, make in [("zoo", zoo), ("tf_ops", tf_ops), ("tf_ops_more", tf_ops_more)]:
        model, x = make()
        saved = {**arrays("x", x), **arrays("predicted", model.predict(x, verbose=0))}
        model.save(os.path.join(HERE, f"{name}.h5"))
        np.savez(os.path.join(HERE, f"{name}.npz"), **saved)
    model, x = weights_only()
    model.save_weights(os.path.join(HERE, "weights_only.h5"))
    np.savez(os.path.join(HERE, "weights_only.npz"), x=x, predicted=model.predict(x, verbose=0))
