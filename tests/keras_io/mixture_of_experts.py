import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import activations, layers, ops, optimizers
else:
    import minicnn as keras
    from minicnn import activations, layers, ops, optimizers
import numpy as np

keras.utils.set_random_seed(0)


class DenseMoE(layers.Layer):
    def __init__(
        self,
        units,
        n_experts,
        expert_activation=None,
        gating_activation=None,
        use_expert_bias=True,
        use_gating_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.n_experts = n_experts
        self.expert_activation = activations.get(expert_activation)
        self.gating_activation = activations.get(gating_activation)
        self.use_expert_bias = use_expert_bias
        self.use_gating_bias = use_gating_bias

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.expert_kernel = self.add_weight(
            name="expert_kernel",
            shape=(input_dim, self.units, self.n_experts),
            initializer="glorot_uniform",
            trainable=True,
        )
        if self.use_expert_bias:
            self.expert_bias = self.add_weight(
                name="expert_bias",
                shape=(self.units, self.n_experts),
                initializer="zeros",
                trainable=True,
            )
        self.gating_kernel = self.add_weight(
            name="gating_kernel",
            shape=(input_dim, self.n_experts),
            initializer="glorot_uniform",
            trainable=True,
        )
        if self.use_gating_bias:
            self.gating_bias = self.add_weight(
                name="gating_bias",
                shape=(self.n_experts,),
                initializer="zeros",
                trainable=True,
            )
        super().build(input_shape)

    def call(self, inputs):
        expert_outputs = ops.tensordot(inputs, self.expert_kernel, axes=1)
        if self.use_expert_bias:
            expert_outputs = expert_outputs + self.expert_bias
        expert_outputs = self.expert_activation(expert_outputs)
        gating_outputs = ops.tensordot(inputs, self.gating_kernel, axes=1)
        if self.use_gating_bias:
            gating_outputs = gating_outputs + self.gating_bias
        gating_outputs = self.gating_activation(gating_outputs)
        gating_outputs = ops.expand_dims(gating_outputs, axis=1)
        output = ops.sum(expert_outputs * gating_outputs, axis=-1)
        return output

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "n_experts": self.n_experts,
                "expert_activation": activations.serialize(self.expert_activation),
                "gating_activation": activations.serialize(self.gating_activation),
                "use_expert_bias": self.use_expert_bias,
                "use_gating_bias": self.use_gating_bias,
            }
        )
        return config


class Conv2DMoE(layers.Layer):
    def __init__(
        self,
        filters,
        kernel_size,
        n_experts,
        strides=1,
        padding="valid",
        expert_activation=None,
        gating_activation=None,
        use_expert_bias=True,
        use_gating_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = (
            kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
        )
        self.n_experts = n_experts
        self.strides = strides if isinstance(strides, tuple) else (strides, strides)
        self.padding = padding
        self.expert_activation = activations.get(expert_activation)
        self.gating_activation = activations.get(gating_activation)
        self.use_expert_bias = use_expert_bias
        self.use_gating_bias = use_gating_bias

    def build(self, input_shape):
        input_channels = input_shape[-1]
        self.expert_kernel = self.add_weight(
            name="expert_kernel",
            shape=(
                self.kernel_size[0],
                self.kernel_size[1],
                input_channels,
                self.filters,
                self.n_experts,
            ),
            initializer="glorot_uniform",
            trainable=True,
        )
        if self.use_expert_bias:
            self.expert_bias = self.add_weight(
                name="expert_bias",
                shape=(self.filters, self.n_experts),
                initializer="zeros",
                trainable=True,
            )
        self.gating_kernel = self.add_weight(
            name="gating_kernel",
            shape=(1, 1, input_channels, self.n_experts),
            initializer="glorot_uniform",
            trainable=True,
        )
        if self.use_gating_bias:
            self.gating_bias = self.add_weight(
                name="gating_bias",
                shape=(self.n_experts,),
                initializer="zeros",
                trainable=True,
            )
        super().build(input_shape)

    def call(self, inputs):
        expert_kernel = ops.reshape(
            self.expert_kernel,
            (
                self.kernel_size[0],
                self.kernel_size[1],
                ops.shape(inputs)[-1],
                self.filters * self.n_experts,
            ),
        )
        expert_outputs = ops.conv(
            inputs,
            expert_kernel,
            strides=self.strides,
            padding=self.padding,
        )
        output_shape = ops.shape(expert_outputs)
        expert_outputs = ops.reshape(
            expert_outputs,
            (
                output_shape[0],
                output_shape[1],
                output_shape[2],
                self.filters,
                self.n_experts,
            ),
        )
        if self.use_expert_bias:
            expert_outputs = expert_outputs + self.expert_bias
        expert_outputs = self.expert_activation(expert_outputs)
        gating_outputs = ops.conv(
            inputs,
            self.gating_kernel,
            strides=self.strides,
            padding=self.padding,
        )
        if self.use_gating_bias:
            gating_outputs = gating_outputs + self.gating_bias
        gating_outputs = self.gating_activation(gating_outputs)
        gating_outputs = ops.expand_dims(gating_outputs, axis=-2)
        output = ops.sum(expert_outputs * gating_outputs, axis=-1)
        return output

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "n_experts": self.n_experts,
                "strides": self.strides,
                "padding": self.padding,
                "expert_activation": activations.serialize(self.expert_activation),
                "gating_activation": activations.serialize(self.gating_activation),
                "use_expert_bias": self.use_expert_bias,
                "use_gating_bias": self.use_gating_bias,
            }
        )
        return config


rng = np.random.default_rng(0)
x_train = rng.random((48, 12, 12, 3)).astype("float32")
y_train = rng.integers(0, 10, (48, 1))
x_test, y_test = x_train[:16], y_train[:16]
print(f"Training samples: {len(x_train)}")


def create_moe_model():
    inputs = keras.Input(shape=(12, 12, 3))
    x = Conv2DMoE(
        8, 3, n_experts=4, padding="same", expert_activation="relu", gating_activation="softmax"
    )(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = Conv2DMoE(
        8,
        3,
        n_experts=2,
        strides=2,
        padding="same",
        expert_activation="relu",
        gating_activation="softmax",
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = DenseMoE(16, n_experts=8, expert_activation="relu", gating_activation="softmax")(x)
    x = layers.Dropout(0.5)(x)
    x = DenseMoE(8, n_experts=4, expert_activation="relu", gating_activation="softmax")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="moe_model")


moe_model = create_moe_model()
moe_model.compile(
    optimizer=optimizers.Adam(learning_rate=0.001),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
moe_model.summary()
wr = np.random.default_rng(3)
moe_model.set_weights(
    [
        (
            np.abs(wr.standard_normal(w.shape)) + 0.5
            if "variance" in v.path
            else wr.standard_normal(w.shape) * 0.3
        ).astype("float32")
        for w, v in zip(moe_model.get_weights(), moe_model.weights, strict=True)
    ]
)
print(np.round(moe_model.predict(x_test[:2], verbose=0), 4).tolist())
print(np.round(moe_model.evaluate(x_test, y_test, verbose=0), 4).tolist())
history = moe_model.fit(
    x_train, y_train, batch_size=16, epochs=2, validation_split=0.25, shuffle=False, verbose=0
)
# The losses of training differ by the Dropout masks each library draws.
print(sorted(history.history), len(history.history["loss"]))
config = moe_model.layers[-2].get_config()
print(config["units"], config)
# (The example does not save its model: Keras cannot load Conv2DMoE, whose config's
# kernel_size tuple comes back as a list that __init__ wraps again.)
