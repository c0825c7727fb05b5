"""Subclassed models, as in Keras and PyTorch: layers assigned in __init__, the forward pass
written in call(). They train exactly like the same layers in a Sequential, summarize, save
and load weights, resume checkpoints, run on every device and serve as layers."""

import numpy as np
import pytest
from test_models import toy_data

import minicnn
from minicnn import Input, Model, Sequential, backend, optimizers
from minicnn import layers as L
from minicnn.models import clone_model
from minicnn.saving import ModelFileError, load_model


class SmallNet(Model):
    def __init__(self, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.conv = L.Conv2D(4, 3, padding="same", activation="relu")
        self.pool = L.MaxPooling2D()
        self.flatten = L.Flatten()
        self.drop = L.Dropout(0.2)
        self.head = L.Dense(classes, activation="softmax")

    def call(self, x, training=False):
        x = self.pool(self.conv(x))
        return self.head(self.drop(self.flatten(x), training=training))


class ResidualNet(Model):
    """A skip connection written as code, and a list of layers (tracked as Keras does)."""

    def __init__(self):
        super().__init__(name="residual")
        self.blocks = [L.Conv2D(4, 3, padding="same", activation="relu") for _ in range(2)]
        self.stem = L.Conv2D(4, 1)
        self.norm = L.BatchNormalization()
        self.head = L.Dense(3, activation="softmax")

    def call(self, x, training=False):
        x = self.stem(x)
        y = x
        for block in self.blocks:
            y = block(y)
        x = self.norm(x + y, training=training)
        return self.head(L.GlobalAveragePooling2D()(x))


def same_as_small_net(device):
    return Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dropout(0.2),
            L.Dense(3, activation="softmax"),
        ],
        device=device,
    )


def test_a_subclassed_model_trains_exactly_like_the_same_sequential(device):
    x, y = toy_data(64)
    histories, weights = [], []
    for build in (lambda: SmallNet(device=device), lambda: same_as_small_net(device)):
        backend.set_random_seed(3)
        model = build()
        model.compile(optimizers.Adam(0.01), metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=16, epochs=3, verbose=0).history)
        weights.append(model.get_weights())
    # The sequential draws its loss through the fused softmax; the subclassed model cannot
    # know its output layer, and takes the probabilities: the same up to rounding.
    for key in histories[0]:
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-5)
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_layers_are_tracked_built_and_summarized():
    model = ResidualNet()
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "Conv2D",
        "Conv2D",
        "BatchNormalization",
        "Dense",
    ]
    lines = []
    model.summary(print_fn=lines.append)  # Keras' rows of layers not built yet
    assert "\n".join(lines).count("0 (unbuilt)") == 5
    out = model.predict(np.zeros((2, 6, 6, 1), np.float32), verbose=0)
    assert (
        out.shape == (2, 3)
        and model.output_shape == (None, 3)
        and model.input_shape == (None, 6, 6, 1)
    )
    lines = []
    model.summary(print_fn=lines.append)
    assert 'Model: "residual"' in lines[0] and "batch_normalization" in lines[0]
    assert len(model.non_trainable_weights) == 2  # the moving statistics
    assert model.count_params() == (1 * 4 + 4) + 2 * (9 * 4 * 4 + 4) + 4 * 4 + (4 * 3 + 3)


def test_weights_and_checkpoints_round_trip(tmp_path):
    x, y = toy_data(48)
    backend.set_random_seed(1)
    model = SmallNet()
    model.compile("adam")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.save_weights(tmp_path / "w.npz")
    again = SmallNet()
    again.build((None, 8, 8, 1))
    again.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    # Saved as Keras saves it: by its class (which loading must know) and its automatic
    # config (the plain arguments it was made with), its build and its weights.
    model.save(tmp_path / "m.minicnn")
    with pytest.raises(ModelFileError, match="'SmallNet'.*register it"):
        load_model(tmp_path / "m.minicnn")
    back = load_model(tmp_path / "m.minicnn", custom_objects={"SmallNet": SmallNet})
    assert type(back) is SmallNet and back.compiled
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert back.optimizer.iterations == model.optimizer.iterations
    with pytest.raises(TypeError, match="clone_model: Model"):
        clone_model(model)

    def run(epochs, checkpoint=None):
        backend.clear_session()
        backend.set_random_seed(4)
        net = SmallNet()
        net.compile("adam")
        net.fit(x, y, batch_size=16, epochs=epochs, verbose=0, checkpoint=checkpoint)
        return net.get_weights()

    straight = run(3)
    run(2, checkpoint=tmp_path / "c.npz")
    for a, b in zip(run(3, checkpoint=tmp_path / "c.npz"), straight, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_subclassed_model_is_a_layer_of_a_functional_one():
    inner = SmallNet(classes=5)
    inputs = Input((8, 8, 1))
    outputs = L.Dense(2, activation="softmax")(inner(inputs))
    model = Model(inputs, outputs)
    assert model.output_shape == (None, 2) and model.count_params() == inner.count_params() + 12
    x, _ = toy_data(8)
    assert model.predict(x, verbose=0).shape == (8, 2)


def test_a_call_without_training_and_clear_errors():
    class Plain(Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    assert Plain()(np.ones((3, 4), np.float32)).shape == (3, 2)
    with pytest.raises(TypeError, match="or subclass Model with layers assigned in __init__"):
        Model()


class DropsWithoutBeingTold(Model):
    """A call that hands no ``training`` to its Dropout, as Keras code often does."""

    def __init__(self):
        super().__init__()
        self.dense = L.Dense(16)
        self.dropout = L.Dropout(0.5)

    def call(self, x):
        return self.dropout(self.dense(x))


class NoisyBlock(L.Layer):
    """A user's layer whose call runs a Dropout without passing ``training`` on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dropout = L.Dropout(0.5)

    def call(self, inputs):
        return self.dropout(inputs)


def test_training_reaches_inner_layers_called_without_it_as_in_keras():
    x = np.ones((8, 4), np.float32)
    model = DropsWithoutBeingTold()
    model(x)  # builds
    dense = model.dense(x).data
    dropped = model(x, training=True).data
    assert ((dropped == 0) | np.isclose(dropped, 2 * dense)).all() and (dropped == 0).any()
    np.testing.assert_array_equal(model(x).data, dense)  # a model's own call: inference
    np.testing.assert_array_equal(model.predict(x, verbose=0), dense)
    block = Sequential([Input((4,)), NoisyBlock()])
    assert (block(x, training=True).data == 0).any()
    np.testing.assert_array_equal(block.predict(x, verbose=0), x)
    # Called alone, a layer takes Keras' default for it: Dropout none; augmentation layers do
    # augment (Keras' call(data, training=True)), so RandomFlip()(images) flips.
    np.testing.assert_array_equal(L.Dropout(0.5)(x).data, x)
    images = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4, 1)
    flips = [L.RandomFlip("horizontal")(images).data for _ in range(20)]
    assert any(not np.array_equal(f, images) for f in flips)
    np.testing.assert_array_equal(L.RandomFlip()(images, training=False).data, images)


class TwoInputNet(Model):
    """A subclassed model of a dict of inputs (keras.io's endpoint layer pattern, LogReg)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.image = L.Dense(3)
        self.meta = L.Dense(3)

    def call(self, inputs):
        return self.image(inputs["image"]) + self.meta(inputs["meta"])


class PairNet(Model):
    """The same with a list of inputs, unpacked in call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.image = L.Dense(3)
        self.meta = L.Dense(3)

    def call(self, inputs):
        image, meta = inputs
        return self.image(image) + self.meta(meta)


def test_a_subclassed_model_of_a_dict_or_a_list_of_inputs_trains_as_the_functional_one(
    tmp_path,
):
    rng = np.random.default_rng(0)
    image = rng.standard_normal((32, 5)).astype(np.float32)
    meta = rng.standard_normal((32, 2)).astype(np.float32)
    y = image[:, :3] - meta[:, :1]

    def functional():
        a, b = Input((5,), name="image"), Input((2,), name="meta")
        return Model({"image": a, "meta": b}, L.Add()([L.Dense(3)(a), L.Dense(3)(b)]))

    start = [rng.standard_normal(s).astype(np.float32) for s in ((5, 3), (3,), (2, 3), (3,))]
    histories = []
    for make, data in (
        (functional, {"image": image, "meta": meta}),
        (TwoInputNet, {"meta": meta, "image": image}),  # by key, whatever their order
        (PairNet, [image, meta]),
    ):
        model = make()
        model.compile(optimizers.SGD(0.05), "mse")
        model(data)  # built by its first call, as in Keras
        model.set_weights(start)
        history = model.fit(data, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        histories.append(history.history["loss"])
        assert model.predict(data, verbose=0).shape == (32, 3)
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-6)
    assert histories[2] == histories[1]
    # fit builds an unbuilt one; build takes a list of shapes.
    fitted = TwoInputNet()
    fitted.compile(optimizers.SGD(0.05), "mse")
    fitted.fit({"image": image, "meta": meta}, y, epochs=1, verbose=0)
    built = PairNet()
    built.build([(None, 5), (None, 2)])
    assert [w.shape for w in built.weights] == [(5, 3), (3,), (2, 3), (3,)]
    net = TwoInputNet()
    out = net({"image": image[:4], "meta": meta[:4]})
    assert out.shape == (4, 3) and net.input_names == ["image", "meta"]
    message = r"takes a dict of \['image', 'meta'\]; got a dict of \['extra', 'image'\]"
    with pytest.raises(ValueError, match=message):
        net({"image": image, "extra": meta})
    net.save_weights(tmp_path / "two.weights.h5")
    again = TwoInputNet()
    again({"image": image[:1], "meta": meta[:1]})
    again.load_weights(tmp_path / "two.weights.h5")
    np.testing.assert_array_equal(
        again.predict({"image": image, "meta": meta}, verbose=0),
        net.predict({"image": image, "meta": meta}, verbose=0),
    )


class TwoHeads(Model):
    """A subclassed model of two outputs: a class and a number."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = L.Dense(6, activation="relu")
        self.kind = L.Dense(3, activation="softmax")
        self.size = L.Dense(1)

    def call(self, x):
        h = self.hidden(x)
        return [self.kind(h), self.size(h)]


def test_a_subclassed_model_of_two_outputs_trains_with_a_loss_each_as_the_functional_one():
    """As Keras: one loss (and metrics) per output, compiled before or after its first call
    (which tells how many outputs there are); logs name them output_0, output_1."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    kind, size = rng.integers(0, 3, 32), x[:, :1] * 2

    def functional():
        inputs = Input((4,))
        h = L.Dense(6, activation="relu")(inputs)
        return Model(inputs, [L.Dense(3, activation="softmax")(h), L.Dense(1)(h)])

    start = [
        rng.standard_normal(s).astype(np.float32)
        for s in ((4, 6), (6,), (6, 3), (3,), (6, 1), (1,))
    ]
    runs = []
    for make, called_first in ((functional, True), (TwoHeads, True), (TwoHeads, False)):
        model = make()
        if called_first:
            model(x[:1])
        model.compile(
            optimizers.SGD(0.05),
            loss=["sparse_categorical_crossentropy", "mse"],
            loss_weights=[1.0, 0.5],
            metrics=[["accuracy"], []],
        )
        if not called_first:
            model.build((None, 4))
        model.set_weights(start)
        history = model.fit(x, [kind, size], batch_size=8, epochs=2, shuffle=False, verbose=0)
        runs.append(history.history["loss"])  # (the functional one's names differ)
        assert [p.shape for p in model.predict(x, verbose=0)] == [(32, 3), (32, 1)]
    assert list(history.history) == ["loss", "output_0_accuracy", "output_0_loss", "output_1_loss"]
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6)
    assert runs[2] == runs[1]
    fitted = TwoHeads()  # compiled, then built by fit
    fitted.compile("adam", loss=["sparse_categorical_crossentropy", "mse"])
    logs = fitted.fit(x, [kind, size], epochs=1, verbose=0).history
    assert set(logs) == {"loss", "output_0_loss", "output_1_loss"}
    assert len(fitted.evaluate(x, [kind, size], verbose=0)) == 3
    one_for_all = TwoHeads()  # one loss for every output, compiled before the first call
    one_for_all.compile("adam", loss="mse")
    logs = one_for_all.fit(x, [np.eye(3)[kind], size], epochs=1, verbose=0).history
    assert set(logs) == {"loss", "output_0_loss", "output_1_loss"}
    single = SmallNet()  # one output given as a list of one loss
    single.compile("adam", loss=["sparse_categorical_crossentropy"], metrics=[["accuracy"]])
    images, labels = toy_data(16)
    assert set(single.fit(images, labels, epochs=1, verbose=0).history) == {"loss", "accuracy"}


def test_a_nest_of_outputs_comes_back_as_the_call_gives_it():
    class Scores(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = L.Dense(3)
            self.heads = [L.Dense(2), L.Dense(1)]

        def call(self, x):
            h = self.dense(x)
            return h, {"second": self.heads[1](h), "first": self.heads[0](h)}

    model = Scores()
    x = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    direct = model(x)
    assert isinstance(direct, tuple) and list(direct[1]) == ["second", "first"]
    predicted = model.predict(x, batch_size=2, verbose=0)
    assert isinstance(predicted, tuple) and list(predicted[1]) == ["second", "first"]
    assert predicted[0].shape == (5, 3) and predicted[1]["first"].shape == (5, 2)
    np.testing.assert_allclose(predicted[1]["second"], direct[1]["second"].numpy(), rtol=1e-6)


def test_a_call_without_training_takes_the_call_signatures_default_as_keras():
    """keras.io's DeiT: ``call(self, inputs, training=True)`` returns both heads' logits
    in training, their mean in inference; a direct call without training trains, as Keras'
    reads the default. Variables and layers a subclass assigns again stay tracked, as in
    Keras (the first pos_embedding is still among the weights)."""

    class Base(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.pos = minicnn.Variable(np.zeros((1, 2), "float32"), name="pos_embedding")
            self.head = L.Dense(3)
            self.proj = L.Dense(2)

        def call(self, x, training=True):
            return self.head(self.proj(x) + self.pos)

    class Distilled(Base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.pos = minicnn.Variable(np.ones((1, 2), "float32"), name="pos_embedding")
            self.head_dist = L.Dense(3)

        def call(self, x, training=True):
            h = self.proj(x) + self.pos
            out = self.head(h), self.head_dist(h)
            return (out[0] + out[1]) / 2 if not training else out

    model = Distilled()
    x = np.ones((2, 5), np.float32)
    assert model(x, training=False).shape == (2, 3)
    assert isinstance(model(x), tuple)  # training=True, the signature's default
    assert [w.name for w in model.weights][:2] == ["pos_embedding", "pos_embedding"]
