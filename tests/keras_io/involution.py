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


class Involution(keras.layers.Layer):
    def __init__(self, channel, group_number, kernel_size, stride, reduction_ratio, name):
        super().__init__(name=name)
        self.channel = channel
        self.group_number = group_number
        self.kernel_size = kernel_size
        self.stride = stride
        self.reduction_ratio = reduction_ratio

    def build(self, input_shape):
        (_, height, width, num_channels) = input_shape
        height = height // self.stride
        width = width // self.stride
        self.stride_layer = (
            keras.layers.AveragePooling2D(
                pool_size=self.stride, strides=self.stride, padding="same"
            )
            if self.stride > 1
            else keras.layers.Identity()
        )
        self.kernel_gen = keras.Sequential(
            [
                keras.layers.Conv2D(filters=self.channel // self.reduction_ratio, kernel_size=1),
                keras.layers.BatchNormalization(),
                keras.layers.ReLU(),
                keras.layers.Conv2D(
                    filters=self.kernel_size * self.kernel_size * self.group_number,
                    kernel_size=1,
                ),
            ]
        )
        self.kernel_reshape = keras.layers.Reshape(
            target_shape=(height, width, self.kernel_size * self.kernel_size, 1, self.group_number)
        )
        self.input_patches_reshape = keras.layers.Reshape(
            target_shape=(
                height,
                width,
                self.kernel_size * self.kernel_size,
                num_channels // self.group_number,
                self.group_number,
            )
        )
        self.output_reshape = keras.layers.Reshape(target_shape=(height, width, num_channels))

    def call(self, x):
        kernel_input = self.stride_layer(x)
        kernel = self.kernel_gen(kernel_input)
        kernel = self.kernel_reshape(kernel)
        input_patches = ops.image.extract_patches(
            x, size=self.kernel_size, strides=self.stride, padding="same"
        )
        input_patches = self.input_patches_reshape(input_patches)
        output = ops.multiply(kernel, input_patches)
        output = ops.sum(output, axis=3)
        output = self.output_reshape(output)
        return output, kernel


input_tensor = np.random.default_rng(1).random((2, 8, 8, 3)).astype("float32")
output_tensor, _ = Involution(
    channel=3, group_number=1, kernel_size=5, stride=1, reduction_ratio=1, name="inv_1"
)(input_tensor)
print(f"with stride 1 ouput shape: {output_tensor.shape}")
output_tensor, _ = Involution(
    channel=3, group_number=1, kernel_size=5, stride=2, reduction_ratio=1, name="inv_2"
)(input_tensor)
print(f"with stride 2 ouput shape: {output_tensor.shape}")
output_tensor, _ = Involution(
    channel=16, group_number=1, kernel_size=5, stride=1, reduction_ratio=2, name="inv_3"
)(input_tensor)
print(f"with channel 16 and reduction ratio 2 ouput shape: {output_tensor.shape}")

inputs = keras.Input(shape=(12, 12, 3))
x, _ = Involution(
    channel=3, group_number=1, kernel_size=3, stride=1, reduction_ratio=2, name="inv_1"
)(inputs)
x = keras.layers.ReLU()(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x, _ = Involution(
    channel=3, group_number=1, kernel_size=3, stride=1, reduction_ratio=2, name="inv_2"
)(x)
x = keras.layers.ReLU()(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(8, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)
inv_model = keras.Model(inputs=[inputs], outputs=[outputs], name="inv_model")
inv_model.summary()
print([w.path for w in inv_model.weights][:6])
wr = np.random.default_rng(3)
inv_model.set_weights(
    [
        (
            np.abs(wr.standard_normal(w.shape)) + 0.5
            if "variance" in v.path
            else wr.standard_normal(w.shape) * 0.3
        ).astype("float32")
        for w, v in zip(inv_model.get_weights(), inv_model.weights, strict=True)
    ]
)
images = np.random.default_rng(2).random((16, 12, 12, 3)).astype("float32")
labels = np.random.default_rng(2).integers(0, 10, (16, 1))
print(np.round(inv_model.predict(images[:2], verbose=0), 4).tolist())
inv_model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = inv_model.fit(images, labels, epochs=2, batch_size=8, shuffle=False, verbose=0)
print(np.round(history.history["loss"], 4).tolist())
