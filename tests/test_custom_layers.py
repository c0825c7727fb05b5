"""Layers written by users as in Keras' guide "Making new layers via subclassing":
add_weight in build (or in __init__), call(inputs) with or without training, trainable and
non-trainable weights, regularizers, output shapes found by a probe, in Sequential and
functional models, trained, on every device, saved and loaded with custom_objects."""

import numpy as np
import pytest
from gradcheck import check_gradients

import minicnn
from minicnn import Input, Model, Sequential, backend, load_model, ops, optimizers, saving
from minicnn import layers as L
from minicnn.autograd import Tensor


class Linear(L.Layer):
    """The guide's first layer, as written there (weights made in build)."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ComputeSum(L.Layer):
    """The guide's non-trainable weight: a running total of the inputs."""

    def __init__(self, input_dim, **kwargs):
        super().__init__(**kwargs)
        self.total = self.add_weight(shape=(input_dim,), initializer="zeros", trainable=False)

    def call(self, inputs, training=False):
        self.total.data += ops.sum(inputs, axis=0).data
        return inputs * 1.0


class Scaled(L.Layer):
    """A weight with a regularizer, and dropout only in training."""

    def build(self, input_shape):
        self.scale = self.add_weight(
            shape=(input_shape[-1],), initializer="ones", regularizer="l2", name="scale"
        )

    def call(self, inputs, training=None):
        out = inputs * self.scale
        return L.Dropout(0.5)(out, training=bool(training)) if training else out


def test_the_guides_linear_layer(device):
    minicnn.set_random_seed(0)
    layer = Linear(4)
    layer.to(device)
    x = backend.to_device(np.ones((2, 3), np.float32), device)
    y = layer(x)
    assert y.shape == (2, 4) and layer.built and layer.sample_output_shape == (4,)
    assert [w.shape for w in layer.weights] == [(3, 4), (4,)]
    assert len(layer.trainable_weights) == 2 and layer.count_params() == 16
    np.testing.assert_allclose(backend.to_numpy(y.data), np.ones((2, 3)) @ layer.get_weights()[0])


def test_weight_gradients_check_in_float64(device):
    layer = Linear(3)
    layer.to(device)
    layer.build((None, 4))
    x = np.random.default_rng(1).standard_normal((5, 4))
    w, b = (np.random.default_rng(2).standard_normal(s) for s in ((4, 3), (3,)))

    def run(xt, wt, bt):
        layer.w, layer.b = wt, bt
        return layer.call(xt)

    check_gradients(run, x, w, b, device=device)


def test_non_trainable_weights_and_regularizers(device):
    counter = ComputeSum(2)
    counter.to(device)
    counter(backend.to_device(np.ones((2, 2), np.float32), device))
    counter(backend.to_device(np.ones((2, 2), np.float32), device))
    np.testing.assert_array_equal(counter.get_weights()[0], [4, 4])
    assert counter.trainable_weights == [] and len(counter.non_trainable_weights) == 1

    scaled = Scaled()
    model = Sequential([Input((3,)), Linear(3), scaled]).to(device)
    assert model.output_shape == (None, 3)  # found by running call on zeros
    penalty = float(backend.to_numpy(scaled.losses[0].data))
    assert penalty == pytest.approx(0.01 * 3)  # l2(0.01) * sum(ones ** 2)
    assert scaled.weights[0].name == "scale"
    frozen = Linear(2)
    frozen.trainable = False
    Sequential([Input((3,)), frozen])
    assert frozen.trainable_weights == []


def test_custom_layers_train_in_models_and_save(tmp_path, device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, :2] * 3.0).astype(np.float32)
    minicnn.set_random_seed(1)
    inputs = Input((5,))
    hidden = L.Activation("tanh")(Linear(8)(inputs))
    model = Model(inputs, Linear(2, name="head")(hidden)).to(device)
    assert len(model.trainable_weights) == 4
    model.compile(optimizers.Adam(0.05), "mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    summary = []
    model.summary(print_fn=summary.append)
    assert "head (Linear)" in "\n".join(summary)
    model.save(tmp_path / "custom.minicnn")
    with pytest.raises(Exception, match="Linear"):
        load_model(tmp_path / "custom.minicnn")
    loaded = load_model(
        tmp_path / "custom.minicnn", custom_objects={"Linear": Linear}, device=device
    )
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_registered_layers_load_by_name(tmp_path):
    @saving.register_keras_serializable(package="tests")
    class RegisteredLinear(Linear):
        pass

    model = Sequential([Input((3,)), RegisteredLinear(2, name="head")])
    model.save(tmp_path / "registered.minicnn")
    loaded = load_model(tmp_path / "registered.minicnn")
    assert isinstance(loaded.get_layer("head"), RegisteredLinear)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_bad_add_weight_arguments_are_named():
    layer = L.Layer()
    with pytest.raises(TypeError, match="add_weight got unknown arguments"):
        layer.add_weight(shape=(2,), colour="red")
    with pytest.raises(ValueError, match="Unknown constraint 'non_negative'"):
        layer.add_weight(shape=(2,), constraint="non_negative")
    assert isinstance(layer.add_weight(shape=(2, 2), initializer=np.ones), Tensor)


class MLPBlock(L.Layer):
    """The guide's "layers are recursively composable" example: layers kept as attributes
    (and in a list), whose weights the block holds."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear_1 = Linear(8)
        self.rest = [L.Dense(8, kernel_regularizer="l2"), Linear(1)]

    def call(self, inputs):
        x = ops.relu(self.linear_1(inputs))
        return self.rest[1](ops.relu(self.rest[0](x)))


def test_a_layer_holds_the_weights_of_the_layers_it_keeps(tmp_path, device):
    block = MLPBlock()
    model = Model(x := Input((4,)), block(x)).to(device)
    assert len(block.weights) == 6 and len(block.trainable_weights) == 6
    assert block.count_params() == (4 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    assert len(model.losses) == 1  # the inner Dense's kernel penalty
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    data, targets = rng.standard_normal((32, 4)), rng.standard_normal((32, 1))
    before = block.rest[0].get_weights()[0]
    model.fit(data, targets, epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(block.rest[0].get_weights()[0], before)  # the inner layers train
    block.trainable = False
    assert not block.trainable_weights and not block.rest[0].trainable
    block.trainable = True
    model.save(tmp_path / "block.keras")
    loaded = load_model(tmp_path / "block.keras", custom_objects={"MLPBlock": MLPBlock})
    np.testing.assert_allclose(
        loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6
    )


class Sampling(L.Layer):
    """The guide's VAE sampling layer: takes a tuple (z_mean, z_log_var)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = minicnn.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = minicnn.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(L.Layer):
    """Sublayers, and a tuple of three outputs."""

    def __init__(self, latent_dim=2, **kwargs):
        super().__init__(**kwargs)
        self.dense_proj = L.Dense(8, activation="relu")
        self.dense_mean = L.Dense(latent_dim)
        self.dense_log_var = L.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean, z_log_var = self.dense_mean(x), self.dense_log_var(x)
        return z_mean, z_log_var, self.sampling((z_mean, z_log_var))


class VariationalAutoEncoder(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = Encoder()
        self.decoder = L.Dense(6, activation="sigmoid")

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        kl = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl)
        return self.decoder(z)


def test_the_guides_vae_layers_take_and_give_tuples(device):
    x = Input((6,))
    z_mean, z_log_var, z = Encoder(name="encoder")(x)
    assert (z_mean.shape, z_log_var.shape, z.shape) == ((None, 2),) * 3
    model = Model(x, [z_mean, z]).to(device)
    data = np.random.default_rng(0).random((5, 6)).astype(np.float32)
    mean, sample = model.predict(data, verbose=0)
    encoder = model.get_layer("encoder")
    assert encoder.count_params() == (6 * 8 + 8) + 2 * (8 * 2 + 2)
    hidden = np.maximum(data @ encoder.dense_proj.get_weights()[0], 0)
    np.testing.assert_allclose(mean, hidden @ encoder.dense_mean.get_weights()[0], rtol=1e-5)
    assert sample.shape == (5, 2) and not np.allclose(sample, mean)


def test_a_subclassed_models_add_loss_counts_in_training(device):
    vae = VariationalAutoEncoder().to(device)
    vae.compile(optimizers.Adam(1e-2), loss="mse")
    data = np.random.default_rng(1).random((32, 6)).astype(np.float32)
    history = vae.fit(data, data, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert len(vae.losses) == 1 and len(vae.trainable_weights) == 8  # the KL term of the pass

    class Penalized(Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, inputs):
            out = self.dense(inputs)
            self.add_loss(0.5 * ops.mean(out * out))
            return out

    model = Penalized().to(device)
    model.compile("sgd", "mse")
    targets = np.ones((32, 2), np.float32)
    out = model.predict(data, verbose=0)
    expected = np.mean((out - targets) ** 2) + 0.5 * np.mean(out * out)
    np.testing.assert_allclose(model.evaluate(data, targets, verbose=0), expected, rtol=1e-5)


class Counted(L.Layer):
    """Keras 3's way without add_weight: Variables kept as attributes."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.w = minicnn.Variable("glorot_uniform", shape=(4, units), name="w")
        self.b = minicnn.Variable(np.zeros(units), name="b")
        self.seen = minicnn.Variable(0.0, trainable=False, name="seen")

    def call(self, inputs):
        self.seen.assign_add(float(inputs.shape[0]))
        return ops.matmul(inputs, self.w) + self.b


def test_variables_kept_as_attributes_are_weights(device):
    layer = Counted()
    assert [w.name for w in layer.weights] == ["w", "b", "seen"]
    assert len(layer.trainable_weights) == 2 and layer.seen.dtype == np.float32
    model = Model(x := Input((4,)), layer(x)).to(device)
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    before = layer.w.numpy().copy()
    model.fit(rng.random((16, 4)), rng.random((16, 3)), epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(layer.w.numpy(), before)
    assert float(layer.seen.numpy()) >= 16  # the two batches of fit (and the shape probe)
    with pytest.raises(ValueError, match="needs a shape"):
        minicnn.Variable("zeros")


@saving.register_keras_serializable(package="custom_layers_test")
class DenseWithOffset(L.Dense):
    """Keras' customizing-saving guide: state beyond the weights, by its own hooks."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.offset_scale = 2.0  # not a weight: saved by the hooks below

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["offset_scale"] = np.array(self.offset_scale)

    def load_own_variables(self, store):
        self.offset_scale = float(store.pop("offset_scale"))
        super().load_own_variables(store)

    def call(self, inputs, training=False):
        return super().call(inputs, training) * self.offset_scale


def test_save_and_load_own_variables_hooks(tmp_path):
    model = Sequential([Input((3,)), DenseWithOffset(2)])
    model.layers[0].offset_scale = 5.0
    data = np.random.default_rng(1).random((4, 3)).astype(np.float32)
    model.save(tmp_path / "own.keras")
    loaded = load_model(tmp_path / "own.keras")
    assert loaded.layers[0].offset_scale == 5.0
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    model.save_weights(tmp_path / "own.weights.npz")
    fresh = Sequential([Input((3,)), DenseWithOffset(2)])
    fresh.load_weights(tmp_path / "own.weights.npz")
    assert fresh.layers[0].offset_scale == 5.0


class CrossAttention(L.Layer):
    """Two inputs and layers kept as attributes, with its own output shape: the sublayers
    are built (and held) before the model runs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.query, self.key = L.Dense(4), L.Dense(4)

    def call(self, inputs):
        a, b = inputs
        scores = ops.matmul(self.query(a), ops.transpose(self.key(b), (0, 2, 1)))
        return ops.softmax(scores, axis=-1)

    def compute_output_shape(self, shapes):
        return (shapes[0][0], shapes[0][1], shapes[1][1])  # Keras': the batch axis first


def test_a_layer_of_two_inputs_holds_its_layers_weights():
    a, b = Input((3, 5)), Input((6, 5))
    layer = CrossAttention()
    model = Model([a, b], layer([a, b]))
    assert model.count_params() == 2 * (5 * 4 + 4) and model.output_shape == (None, 3, 6)
    assert len(model.trainable_weights) == 4


class ScaledBlock(L.Layer):
    """A layer with call arguments of its own."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(4)

    def call(self, inputs, scale=1.0, return_inputs=False):
        out = self.dense(inputs) * scale
        return (out, inputs) if return_inputs else out


def test_a_users_call_arguments_eagerly_and_in_a_graph(tmp_path, device):
    layer = ScaledBlock()
    x = Input((3,))
    doubled = layer(x, scale=2.0)
    plain, passed = layer(x, return_inputs=True)
    assert (doubled.shape, plain.shape, passed.shape) == ((None, 4), (None, 4), (None, 3))
    model = Model(x, [doubled, plain, passed]).to(device)
    data = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    got_doubled, got_plain, got_passed = model.predict(data, verbose=0)
    np.testing.assert_allclose(got_doubled, 2 * got_plain, rtol=1e-6)
    np.testing.assert_allclose(got_passed, data)
    eager = layer(backend.to_device(data, device), scale=3.0)
    np.testing.assert_allclose(backend.to_numpy(eager.data), 3 * got_plain, rtol=1e-5)
    model.save(tmp_path / "scaled.keras")
    loaded = load_model(tmp_path / "scaled.keras", custom_objects={"ScaledBlock": ScaledBlock})
    np.testing.assert_allclose(loaded.predict(data, verbose=0)[0], got_doubled, rtol=1e-6)
    with pytest.raises(TypeError, match="unexpected call arguments"):
        L.Dense(2)(x, scale=2.0)
    with pytest.raises(TypeError, match="call arguments must be numbers"):
        layer(x, scale=np.ones(4))


def test_layers_appended_to_a_list_attribute_later_are_tracked_as_in_keras():
    """keras.io's mixed-dimension embeddings: a layer fills lists of sublayers in a loop
    (``self.encoders = []``, then ``append``); a subclassed model too. Their weights are
    the layer's, in the order appended."""

    class Blocks(L.Layer):
        def __init__(self):
            super().__init__()
            self.encoders = []
            self.projectors = []
            for units in (2, 3):
                self.encoders.append(L.Dense(units))
                self.projectors.append(L.Dense(4))
            self.projectors += [L.Dense(4)]

        def call(self, x):
            total = self.projectors[2](x)
            for encoder, projector in zip(self.encoders, self.projectors, strict=False):
                total = total + projector(encoder(x))
            return total

    layer = Blocks()
    layer(np.ones((2, 5), np.float32))
    assert [tuple(w.shape) for w in layer.weights] == [
        (5, 2),
        (2,),
        (2, 4),
        (4,),
        (5, 3),
        (3,),
        (3, 4),
        (4,),
        (5, 4),
        (4,),
    ]
    assert type(layer.encoders) is not list and layer.encoders == layer.encoders[:]

    class Stack(Model):
        def __init__(self):
            super().__init__()
            self.blocks = []
            self.blocks.extend([L.Dense(3), L.Dense(2)])

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    model(np.ones((2, 4), np.float32))
    assert [tuple(w.shape) for w in model.weights] == [(4, 3), (3,), (3, 2), (2,)]
    assert len(model.layers) == 2
