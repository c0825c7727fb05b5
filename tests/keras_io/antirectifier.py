import os
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


class Antirectifier(layers.Layer):
    def __init__(self, initializer="he_normal", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        output_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(output_dim * 2, output_dim),
            initializer=self.initializer,
            name="kernel",
            trainable=True,
        )

    def call(self, inputs):
        inputs -= ops.mean(inputs, axis=-1, keepdims=True)
        pos = ops.relu(inputs)
        neg = ops.relu(-inputs)
        concatenated = ops.concatenate([pos, neg], axis=-1)
        mixed = ops.matmul(concatenated, self.kernel)
        return mixed

    def get_config(self):
        # Implement get_config to enable serialization. This is optional.
        base_config = super().get_config()
        config = {"initializer": keras.initializers.serialize(self.initializer)}
        return dict(list(base_config.items()) + list(config.items()))


rng = np.random.default_rng(0)
x_train = rng.random((60, 36)).astype("float32")
y_train = rng.integers(0, 10, 60)
x_test, y_test = x_train[:20], y_train[:20]
model = keras.Sequential(
    [
        keras.Input(shape=(36,)),
        layers.Dense(16),
        Antirectifier(),
        layers.Dense(16),
        Antirectifier(),
        layers.Dropout(0.5),
        layers.Dense(10),
    ]
)
model.summary()
wr = np.random.default_rng(3)
model.set_weights(
    [(wr.standard_normal(w.shape) * 0.3).astype("float32") for w in model.get_weights()]
)
print(np.round(model.predict(x_test[:2], verbose=0), 4).tolist())
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
print(np.round(model.evaluate(x_test, y_test, verbose=0), 4).tolist())
history = model.fit(x_train, y_train, batch_size=16, epochs=2, validation_split=0.15, verbose=0)
print(sorted(history.history), len(history.history["loss"]))
print(model.layers[1].get_config())
path = os.path.join(tempfile.mkdtemp(), "antirectifier.keras")
model.save(path)
loaded = keras.saving.load_model(path, custom_objects={"Antirectifier": Antirectifier})
print(
    type(loaded.layers[1]).__name__,
    loaded.layers[1].initializer.__class__.__name__,
    np.allclose(loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-5),
)
