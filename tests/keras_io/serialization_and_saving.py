"""Keras' guide "Save, serialize, and export models" (keras.io/guides/
serialization_and_saving): model.save and load_model, custom objects registered, given
by custom_objects or a scope, configs (serialize, get_config/from_config, to_json), clone
models, weights moved between layers and models, save_weights/load_weights, a layer's own
variables (save_own_variables), its build and compile configs. Where the guide's code fails
in Keras 3.15 itself, the change is marked "(the guide: ...)"."""

import os
import sys
import tempfile

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import ops
else:
    import minicnn as keras
    from minicnn import ops
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
folder = tempfile.mkdtemp()


def path(name):
    return os.path.join(folder, name)


def get_model():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


model = get_model()
test_input = rng.random((128, 32)).astype("float32")
test_target = rng.random((128, 1)).astype("float32")
model.fit(test_input, test_target, verbose=0)
model.save(path("my_model.keras"))
reconstructed_model = keras.models.load_model(path("my_model.keras"))
np.testing.assert_allclose(
    model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0)
)
print(type(reconstructed_model).__name__, reconstructed_model.optimizer.iterations > 0)


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):  # noqa: F811 -- the guide registers it again
    return x**2


def get_custom_model():
    inputs = keras.Input(shape=(4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    return model


model = get_custom_model()
model.save(path("custom_model.keras"))
reconstructed_model = keras.models.load_model(path("custom_model.keras"))
x = rng.random((4, 4)).astype("float32")
np.testing.assert_allclose(
    model.predict(x, verbose=0), reconstructed_model.predict(x, verbose=0), rtol=1e-6
)
print([type(layer).__name__ for layer in reconstructed_model.layers])
print(keras.saving.get_registered_name(CustomLayer), keras.saving.get_registered_name(custom_fn))
print(keras.saving.get_registered_object("MyLayers>CustomLayer") is CustomLayer)

reconstructed_model = keras.models.load_model(
    path("custom_model.keras"),
    custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
)
with keras.saving.custom_object_scope({"CustomLayer": CustomLayer, "custom_fn": custom_fn}):
    reconstructed_model = keras.models.load_model(path("custom_model.keras"))
print(reconstructed_model.layers[1].factor)

layer = keras.layers.Dense(3, activation="relu")
layer_config = keras.layers.serialize(layer)
print(layer_config["class_name"], layer_config["config"]["units"], layer_config["module"])
new_layer = keras.layers.deserialize(layer_config)
print(type(new_layer).__name__, new_layer.units, new_layer.activation.__name__)

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = model.get_config()
new_model = keras.Sequential.from_config(config)
print(type(new_model).__name__, new_model.count_params())

inputs = keras.Input((32,))
outputs = keras.layers.Dense(1)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config)
print(type(new_model).__name__, new_model.count_params(), [w.shape for w in new_model.weights])

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)
print(type(json_config).__name__, new_model.count_params())

new_model = keras.models.clone_model(model)
print(new_model.count_params(), new_model.layers[0].name != model.layers[0].name)


@keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
class MyDense(keras.layers.Layer):
    def __init__(
        self,
        units,
        *,
        kernel_regularizer=None,
        kernel_initializer=None,
        nested_model=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = units
        self.kernel_regularizer = kernel_regularizer
        self.kernel_initializer = kernel_initializer
        self.nested_model = nested_model

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.hidden_units,
                "kernel_regularizer": self.kernel_regularizer,
                "kernel_initializer": self.kernel_initializer,
                "nested_model": self.nested_model,
            }
        )
        return config

    def build(self, input_shape):
        input_units = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_units, self.hidden_units),
            regularizer=self.kernel_regularizer,
            initializer=self.kernel_initializer,
        )

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel)


layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
layer3 = MyDense(units=64, nested_model=layer)
config = keras.layers.serialize(layer3)
print(config["registered_name"], config["config"]["nested_model"]["class_name"])
new_layer = keras.layers.deserialize(config)
print(new_layer.hidden_units, new_layer.kernel_regularizer)


def create_layer():
    layer = keras.layers.Dense(64, activation="relu", name="dense_2")
    layer.build((None, 784))
    return layer


layer_1 = create_layer()
layer_2 = create_layer()
layer_2.set_weights(layer_1.get_weights())
pairs = zip(layer_1.get_weights(), layer_2.get_weights(), strict=True)
print(all(np.array_equal(a, b) for a, b in pairs))

inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = keras.layers.Dense(10, name="predictions")(x)
functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")


class SubclassedModel(keras.Model):
    def __init__(self, output_dim, name=None):
        super().__init__(name=name)
        self.output_dim = output_dim
        self.dense_1 = keras.layers.Dense(64, activation="relu", name="dense_1")
        self.dense_2 = keras.layers.Dense(64, activation="relu", name="dense_2")
        self.dense_3 = keras.layers.Dense(output_dim, name="predictions")

    def call(self, inputs):
        x = self.dense_1(inputs)
        x = self.dense_2(x)
        x = self.dense_3(x)
        return x

    def get_config(self):
        return {"output_dim": self.output_dim, "name": self.name}


subclassed_model = SubclassedModel(10)
subclassed_model(np.ones((1, 784)))
subclassed_model.set_weights(functional_model.get_weights())
assert len(functional_model.weights) == len(subclassed_model.weights)
for a, b in zip(functional_model.weights, subclassed_model.weights, strict=True):
    np.testing.assert_allclose(a.numpy(), b.numpy())
print("subclassed weights ok", [w.path for w in subclassed_model.weights][:2])

inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = keras.layers.Dense(10, name="predictions")(x)
functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")
inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
x = keras.layers.Dropout(0.5)(x)
outputs = keras.layers.Dense(10, name="predictions")(x)
functional_model_with_dropout = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")
functional_model_with_dropout.set_weights(functional_model.get_weights())
print(len(functional_model_with_dropout.weights))

sequential_model = keras.Sequential(
    [
        keras.Input(shape=(784,), name="digits"),
        keras.layers.Dense(64, activation="relu", name="dense_1"),
        keras.layers.Dense(64, activation="relu", name="dense_2"),
        keras.layers.Dense(10, name="predictions"),
    ]
)
sequential_model.save_weights(path("my_model.weights.h5"))
sequential_model.load_weights(path("my_model.weights.h5"))
functional_model.load_weights(path("my_model.weights.h5"))
pairs = zip(sequential_model.get_weights(), functional_model.get_weights(), strict=True)
print(all(np.array_equal(a, b) for a, b in pairs))


class LayerWithCustomVariable(keras.layers.Dense):
    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.my_variable = keras.Variable(
            np.random.random((units,)), name="my_variable", dtype="float32"
        )

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["variables"] = self.my_variable.numpy()

    def load_own_variables(self, store):
        self.my_variable.assign(store["variables"])
        for i, v in enumerate([self.kernel, self.bias]):  # (the guide: self.weights)
            v.assign(store[f"{i}"])

    def call(self, inputs):
        dense_out = super().call(inputs)
        return dense_out + self.my_variable


model = keras.Sequential([LayerWithCustomVariable(1)])
ref_input = rng.random((8, 10)).astype("float32")
ref_output = rng.random((8, 1)).astype("float32")  # (the guide: (8, 10), which Keras broadcasts)
model.compile(optimizer="rmsprop", loss="mean_squared_error")
model.fit(ref_input, ref_output, verbose=0)
model.save(path("custom_vars_model.keras"))
restored_model = keras.models.load_model(
    path("custom_vars_model.keras"),
    custom_objects={"LayerWithCustomVariable": LayerWithCustomVariable},
)
np.testing.assert_allclose(
    model.layers[0].my_variable.numpy(), restored_model.layers[0].my_variable.numpy()
)
print("custom variables ok", sorted(w.name for w in restored_model.layers[0].weights))


@keras.saving.register_keras_serializable(package="my_custom_package")
class LayerWithCustomBuild(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return dict(units=self.units, **super().get_config())

    def build(self, input_shape, layer_init):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer=keras.initializers.RandomNormal(mean=0.0, stddev=layer_init),
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.RandomNormal(mean=0.0, stddev=layer_init),
            trainable=True,
        )
        self.layer_init = layer_init

    def get_build_config(self):
        build_config = {"layer_init": self.layer_init, "input_shape": (8,)}  # (the guide: (4,))
        return build_config

    def build_from_config(self, config):
        self.build(config["input_shape"], config["layer_init"])


custom_layer = LayerWithCustomBuild(units=16)
custom_layer.build(input_shape=(8,), layer_init=0.01)
model = keras.Sequential([keras.Input((8,)), custom_layer])  # (the guide: no Input)
model.compile(loss="mse", optimizer="adam", metrics=["mae"])
model.save(path("custom_build_model.keras"))
restored_model = keras.models.load_model(path("custom_build_model.keras"))
print(restored_model.layers[0].layer_init, [tuple(w.shape) for w in restored_model.weights])
print(restored_model.get_compile_config()["loss"], restored_model.get_compile_config()["metrics"])
