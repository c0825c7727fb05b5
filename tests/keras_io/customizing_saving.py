"""Keras' guide "Customizing Saving and Serialization" (keras.io/guides/
customizing_saving_and_serialization): a layer's own variables (save_own_variables /
load_own_variables), its assets (save_assets / load_assets), a build with an argument of
its own (get_build_config / build_from_config) and a model's compile arguments of its own
(get_compile_config / compile_from_config). The guide's TensorFlow calls are Keras' own
here (keras.Variable, ops)."""

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
saved = tempfile.mkdtemp(prefix="customizing_saving_")


@keras.utils.register_keras_serializable(package="my_custom_package")
class LayerWithCustomVariables(keras.layers.Dense):
    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.stored_variables = keras.Variable(
            rng.random((10,)), name="special_arr", dtype="float32"
        )

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["variables"] = self.stored_variables.numpy()

    def load_own_variables(self, store):
        self.stored_variables.assign(store["variables"])
        # (the guide: enumerate(self.weights), whose first in Keras 3.15 is the Variable made
        # in __init__, so the guide's loop fails there)
        for i, v in enumerate([self.kernel, self.bias]):
            v.assign(store[f"{i}"])

    def call(self, inputs):
        return super().call(inputs) * self.stored_variables


model = keras.Sequential([LayerWithCustomVariables(1)])
ref_input = rng.random((8, 10))
ref_output = rng.random((8, 10))  # (the guide: (8,), which fails in Keras: outputs are (8, 10))
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(ref_input, ref_output, verbose=0)
print([w.path for w in model.weights])
print([w.path for w in model.layers[0].weights], len(model.layers[0].weights))
model.save(os.path.join(saved, "custom_vars_model.keras"))
restored_model = keras.models.load_model(os.path.join(saved, "custom_vars_model.keras"))
np.testing.assert_allclose(
    model.layers[0].stored_variables.numpy(), restored_model.layers[0].stored_variables.numpy()
)
np.testing.assert_allclose(
    model.predict(ref_input, verbose=0), restored_model.predict(ref_input, verbose=0)
)
print("custom variables restored", restored_model.layers[0].stored_variables.shape)


@keras.saving.register_keras_serializable(package="my_custom_package")
class LayerWithCustomAssets(keras.layers.Dense):
    def __init__(self, vocab=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.vocab = vocab

    def save_assets(self, inner_path):
        print("save_assets", sorted(os.listdir(inner_path)))
        with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
            f.write(self.vocab)

    def load_assets(self, inner_path):
        print("load_assets", sorted(os.listdir(inner_path)))
        with open(os.path.join(inner_path, "vocabulary.txt")) as f:
            text = f.read()
        self.vocab = text.replace("<unk>", "little")


model = keras.Sequential([LayerWithCustomAssets(vocab="Mary had a <unk> lamb.", units=5)])
x = rng.random((10, 10))
y = model(x)
model.save(os.path.join(saved, "custom_assets_model.keras"))
restored_model = keras.models.load_model(os.path.join(saved, "custom_assets_model.keras"))
np.testing.assert_string_equal(restored_model.layers[0].vocab, "Mary had a little lamb.")
print("assets", restored_model.layers[0].vocab)


@keras.saving.register_keras_serializable(package="my_custom_package")
class LayerWithCustomBuild(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape, layer_init):
        # (the guide's methods, in another order than the serialization guide's same class)
        super().build(input_shape)
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer=layer_init, trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer=layer_init, trainable=True)
        self.layer_init = layer_init

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return dict(units=self.units, **super().get_config())

    def get_build_config(self):
        build_config = super().get_build_config()
        build_config.update({"layer_init": self.layer_init})
        return build_config

    def build_from_config(self, config):
        # (the guide: config["input_shape"], which Keras 3.15 keeps under "shapes_dict" for a
        # build of more arguments than the shape)
        shapes = config.get("shapes_dict", config)
        self.build(shapes["input_shape"], config["layer_init"])


custom_layer = LayerWithCustomBuild(units=16)
custom_layer.build(input_shape=(8,), layer_init="random_normal")
print(custom_layer.built, custom_layer.get_build_config())
model = keras.Sequential([custom_layer, keras.layers.Dense(1, activation="sigmoid")])
x = rng.random((16, 8))
y = model(x)
print(model.built, [w.shape for w in model.weights])
model.save(os.path.join(saved, "custom_build_model.keras"))
restored_model = keras.models.load_model(os.path.join(saved, "custom_build_model.keras"))
np.testing.assert_equal(restored_model.layers[0].layer_init, "random_normal")
np.testing.assert_equal(restored_model.built, True)
np.testing.assert_allclose(model(x), restored_model(x), rtol=1e-6)
print("build", restored_model.layers[0].layer_init, restored_model.built)


@keras.saving.register_keras_serializable(package="my_custom_package")
def small_square_sum_loss(y_true, y_pred):
    loss = ops.square(y_pred - y_true)
    loss = loss / 10.0
    loss = ops.sum(loss, axis=1)
    return loss


@keras.saving.register_keras_serializable(package="my_custom_package")
def mean_pred(y_true, y_pred):
    return ops.mean(y_pred)


@keras.saving.register_keras_serializable(package="my_custom_package")
class ModelWithCustomCompile(keras.Model):
    # (the guide: __init__(self), which Keras 3.15 saves but cannot load: the config it
    # writes for the model holds trainable and dtype, which that __init__ does not take)
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense1 = keras.layers.Dense(8, activation="relu")
        self.dense2 = keras.layers.Dense(4, activation="softmax")

    def call(self, inputs):
        x = self.dense1(inputs)
        return self.dense2(x)

    def compile(self, optimizer, loss_fn, metrics):
        super().compile(optimizer=optimizer, loss=loss_fn, metrics=metrics)
        self.model_optimizer = optimizer
        self.loss_fn = loss_fn
        self.loss_metrics = metrics

    def get_compile_config(self):
        return {
            "model_optimizer": self.model_optimizer,
            "loss_fn": self.loss_fn,
            "metric": self.loss_metrics,
        }

    def compile_from_config(self, config):
        print("compile_from_config", sorted(config))
        optimizer = keras.utils.deserialize_keras_object(config["model_optimizer"])
        loss_fn = keras.utils.deserialize_keras_object(config["loss_fn"])
        metrics = keras.utils.deserialize_keras_object(config["metric"])
        print(
            type(optimizer).__name__, loss_fn.__name__, [getattr(m, "__name__", m) for m in metrics]
        )
        self.compile(optimizer=optimizer, loss_fn=loss_fn, metrics=metrics)


model = ModelWithCustomCompile()
model.compile(optimizer="SGD", loss_fn=small_square_sum_loss, metrics=["accuracy", mean_pred])
x = rng.random((4, 8))
y = rng.random((4,))
history = model.fit(x, y, verbose=0)
print(sorted(history.history))
model.save(os.path.join(saved, "custom_compile_model.keras"))
restored_model = keras.models.load_model(os.path.join(saved, "custom_compile_model.keras"))
np.testing.assert_equal(model.model_optimizer, restored_model.model_optimizer)
np.testing.assert_equal(model.loss_fn, restored_model.loss_fn)
np.testing.assert_equal(model.loss_metrics, restored_model.loss_metrics)
print(
    "compile",
    restored_model.model_optimizer,
    [getattr(m, "__name__", m) for m in restored_model.loss_metrics],
)
config = restored_model.get_config()
print(config["name"], config["trainable"], restored_model.built, type(restored_model).__name__)
np.testing.assert_allclose(
    model.predict(x, verbose=0), restored_model.predict(x, verbose=0), rtol=1e-6
)
print(restored_model.evaluate(x, y, verbose=0, return_dict=True).keys())
print(restored_model.loss_fn.__name__, restored_model.compiled)
