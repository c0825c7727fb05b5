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


class StandardizedConv2DWithOverride(layers.Conv2D):
    def convolution_op(self, inputs, kernel):
        mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        return ops.conv(
            inputs,
            (kernel - mean) / ops.sqrt(var + 1e-10),
            padding="valid",
            strides=list(self.strides),
            dilation_rate=list(self.dilation_rate),
        )


class StandardizedConv2DWithCall(layers.Conv2D):
    def call(self, inputs):
        mean, var = ops.moments(self.kernel, axes=[0, 1, 2], keepdims=True)
        result = self.convolution_op(inputs, (self.kernel - mean) / ops.sqrt(var + 1e-10))
        if self.use_bias:
            result = result + self.bias
        return result


num_classes = 10
input_shape = (14, 14, 1)
rng = np.random.default_rng(0)
x_train = rng.random((32, 14, 14, 1)).astype("float32")
y_train = keras.utils.to_categorical(rng.integers(0, 10, 32), num_classes)
print("x_train shape:", x_train.shape)

model = keras.Sequential(
    [
        keras.layers.InputLayer(shape=input_shape),
        StandardizedConv2DWithCall(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        StandardizedConv2DWithOverride(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
wr = np.random.default_rng(3)
model.set_weights(
    [(wr.standard_normal(w.shape) * 0.1).astype("float32") for w in model.get_weights()]
)
print(np.round(model.predict(x_train[:2], verbose=0), 4).tolist())
first = model.layers[0]
raw = ops.conv(x_train[:1], first.kernel, padding="valid") + first.bias
print(
    bool(np.any(ops.convert_to_numpy(first(x_train[:1])) < 0)),
    np.round(float(ops.convert_to_numpy(ops.sum(raw))), 2),
)
print(
    np.round(
        ops.convert_to_numpy(model.layers[2](np.ones((1, 6, 6, 8), "float32")))[0, 0, 0], 3
    ).tolist()
)
dilated = StandardizedConv2DWithOverride(2, 3, dilation_rate=2, use_bias=False)
print(tuple(dilated(x_train[:1]).shape), len(dilated.weights))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
print(np.round(model.evaluate(x_train, y_train, verbose=0), 4).tolist())
history = model.fit(
    x_train, y_train, batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0
)
print(sorted(history.history))
path = os.path.join(tempfile.mkdtemp(), "standardized.keras")
model.save(path)
loaded = keras.saving.load_model(
    path,
    custom_objects={
        "StandardizedConv2DWithCall": StandardizedConv2DWithCall,
        "StandardizedConv2DWithOverride": StandardizedConv2DWithOverride,
    },
)
print(
    [type(layer).__name__ for layer in loaded.layers[:3]],
    np.allclose(loaded.predict(x_train[:4], verbose=0), model.predict(x_train[:4], verbose=0)),
)
