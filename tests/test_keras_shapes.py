"""Shapes as Keras 3 gives them: a symbolic tensor's ``shape`` and a model's ``input_shape``
and ``output_shape`` put the batch axis first. The expected values are Keras 3.15's own
(JAX backend) for the same program."""

import numpy as np
import pytest

from minicnn import Input, Model, Sequential, ops
from minicnn import layers as L


def test_symbolic_shapes_put_the_batch_axis_first_so_keras_idioms_hold():
    x = Input((28, 28, 1))
    y = L.Conv2D(4, 3)(x)
    assert (x.shape, y.shape, y.ndim) == ((None, 28, 28, 1), (None, 26, 26, 4), 4)
    assert y.sample_shape == (26, 26, 4)
    # A CNN's maps as a sequence for an RNN, and a reshape to the tail: Keras' idioms.
    steps = L.Reshape((y.shape[1] * y.shape[2], y.shape[3]))(y)
    assert steps.shape == (None, 676, 4)
    assert L.Reshape(y.shape[1:])(steps).shape == (None, 26, 26, 4)
    ids = Input((None,), dtype="int32")
    vectors = L.Embedding(10, 4)(ids)
    assert (ids.shape, vectors.shape) == ((None, None), (None, None, 4))
    assert ops.shape(vectors) == (None, None, 4)
    assert ops.mean(vectors, axis=1).shape == (None, 4)


def test_an_inputs_batch_size_goes_through_the_graph():
    x = Input((5,), batch_size=8)
    dense = L.Dense(3)(x)
    joined = L.Concatenate()([L.Dense(2)(x), dense])
    assert (x.shape, dense.shape, joined.shape) == ((8, 5), (8, 3), (8, 5))
    model = Model(x, dense)
    assert (model.input_shape, model.output_shape) == ((8, 5), (8, 3))
    assert model.predict(np.ones((3, 5), np.float32), verbose=0).shape == (3, 3)


def test_models_give_keras_input_and_output_shapes():
    sequential = Sequential([Input((6,)), L.Dense(4)])
    assert (sequential.input_shape, sequential.output_shape) == ((None, 6), (None, 4))
    first = sequential.layers[0]
    assert (first.input.shape, first.output.shape) == ((None, 6), (None, 4))
    a, b = Input((4,)), Input((3, 2))
    several = Model([a, b], [L.Dense(2)(a), L.Flatten()(b)])
    assert several.input_shape == [(None, 4), (None, 3, 2)]
    assert several.output_shape == [(None, 2), (None, 6)]
    deferred = Sequential([L.Flatten(), L.Dense(3)])
    deferred.build((None, 4, 4, 1))
    assert (deferred.input_shape, deferred.output_shape) == ((None, 4, 4, 1), (None, 3))
    # Nested, a model is a layer whose shapes are its samples' (what its callers read).
    outer = Sequential([Input((6,)), sequential, L.Dense(2)])
    assert outer.output_shape == (None, 2) and outer.layers[0].sample_output_shape == (4,)


class Linear(L.Layer):
    """Keras 2's way: the batch axis is input_shape[0], the features input_shape[1]."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        SEEN.append(("linear", input_shape))
        self.w = self.add_weight(shape=(input_shape[1], self.units), initializer="ones")
        super().build(input_shape)

    def call(self, x):
        return ops.matmul(x, self.w)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)


class ConvBlock(L.Layer):
    """Built-in layers built inside a user's build, with the shape it got."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv, self.norm = L.Conv2D(3, 3, padding="same"), L.BatchNormalization()

    def build(self, input_shape):
        SEEN.append(("block", input_shape))
        self.conv.build(input_shape)
        self.norm.build(self.conv.compute_output_shape(input_shape))

    def call(self, x, training=None):
        return self.norm(self.conv(x), training=training)


class Scaled(L.Dense):
    def build(self, input_shape):
        SEEN.append(("scaled", input_shape))
        super().build(input_shape)
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, x):
        return super().call(x) * self.scale


SEEN = []


def test_users_layers_get_and_give_keras_shapes():
    SEEN.clear()
    x = Input((6, 6, 2))
    maps = ConvBlock()(x)
    hidden = Linear(4)(L.Flatten()(maps))
    model = Model(x, Scaled(2)(hidden))
    # Keras 3.15 runs the same program to these shapes and weights.
    assert SEEN == [("block", (None, 6, 6, 2)), ("linear", (None, 108)), ("scaled", (None, 4))]
    assert (maps.shape, hidden.shape, model.output_shape) == (
        (None, 6, 6, 3),
        (None, 4),
        (None, 2),
    )
    assert [tuple(w.shape) for w in model.weights] == [
        (3, 3, 2, 3),
        *[(3,)] * 5,
        (108, 4),
        (4, 2),
        (2,),
        (),
    ]
    data = np.random.default_rng(0).standard_normal((2, 6, 6, 2)).astype(np.float32)
    assert model.predict(data, verbose=0).shape == (2, 2)


def test_a_models_build_takes_a_batch_shape_as_keras():
    model = Sequential([L.Conv2D(4, 3), L.Flatten(), L.Dense(2)])
    model.build((1, 28, 28, 1))  # a batch of one image, whose size Keras keeps
    assert (model.input_shape, model.output_shape) == ((1, 28, 28, 1), (1, 2))


def test_the_summary_shows_an_inputs_batch_size_as_keras():
    x = Input((5,), batch_size=8)
    model = Model(x, L.Dense(3)(x))
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line for line in lines[0].splitlines() if "(8, " in line]
    assert len(rows) == 2 and "(8, 5)" in rows[0] and "(8, 3)" in rows[1]  # as Keras 3.15's


def test_a_users_layer_called_on_data_is_built_for_the_datas_shape_as_in_keras():
    SEEN.clear()
    Linear(2)(np.ones((5, 3), np.float32))
    assert SEEN == [("linear", (5, 3))]  # Keras 3.15 builds it so on its first call


def test_set_random_seed_seeds_python_and_numpy_as_keras():
    import random

    from minicnn.utils import set_random_seed

    set_random_seed(1)
    drawn = (np.random.permutation(5).tolist(), random.random())
    set_random_seed(1)
    assert drawn == (np.random.permutation(5).tolist(), random.random())
    assert drawn[0] == [2, 1, 4, 0, 3]  # what NumPy draws after keras.utils.set_random_seed(1)


def weight_shapes(layer):
    return [tuple(w.shape) for w in layer.weights]


def test_a_users_direct_build_and_compute_output_shape_take_kerass_batch_shapes():
    # Keras 3.15's weights and shapes for the same calls.
    dense = L.Dense(3)
    dense.build((None, 4))
    assert weight_shapes(dense) == [(4, 3), (3,)]
    assert dense.compute_output_shape((None, 4)) == (None, 3)
    conv = L.Conv2D(2, 3)
    conv.build((None, 8, 8, 1))
    assert weight_shapes(conv) == [(3, 3, 1, 2), (2,)]
    assert conv.compute_output_shape((2, 8, 8, 1)) == (2, 6, 6, 2)  # the batch size kept
    assert conv(np.zeros((2, 8, 8, 1), np.float32)).shape == (2, 6, 6, 2)
    lstm = L.LSTM(2)
    lstm.build((None, 5, 3))
    assert weight_shapes(lstm) == [(3, 8), (2, 8), (8,)]
    assert lstm.compute_output_shape((None, 5, 3)) == (None, 2)
    states = L.LSTM(3, return_sequences=True, return_state=True)
    assert list(states.compute_output_shape((None, 5, 2))) == [(None, 5, 3), (None, 3), (None, 3)]
    embedding = L.Embedding(10, 4)
    embedding.build((None, 7))
    assert embedding.compute_output_shape((None, 7)) == (None, 7, 4)
    norm = L.LayerNormalization()
    norm.build((None, 3, 5))
    assert weight_shapes(norm) == [(5,), (5,)]
    first = L.Conv2D(2, 3, data_format="channels_first")
    assert first.compute_output_shape((None, 1, 8, 8)) == (None, 2, 6, 6)
    assert L.Flatten().compute_output_shape((None, 4, 4)) == (None, 16)
    assert L.Concatenate().compute_output_shape([(2, 3), (2, 4)]) == (2, 7)
    flatten = L.Flatten()
    flatten.build((None, 2, 3))
    assert flatten.built


def test_multi_head_attention_takes_its_shapes_one_by_one_as_in_keras():
    mha = L.MultiHeadAttention(2, 4)
    mha.build((None, 5, 6), (None, 7, 6))
    qkv = [(6, 2, 4), (2, 4)] * 3
    assert weight_shapes(mha) == [*qkv, (2, 4, 6), (6,)]
    assert mha.compute_output_shape((None, 5, 6), value_shape=(None, 7, 6)) == (None, 5, 6)
    with pytest.raises(TypeError, match="one input shape"):
        L.Dense(2).build((None, 3), (None, 3))


def test_a_users_layer_builds_built_in_layers_with_plain_keras_shapes():
    class Block(L.Layer):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(3)

        def build(self, input_shape):
            self.dense.build((None, 4))

        def call(self, x):
            assert self.dense.compute_output_shape(x.shape) == (x.shape[0], 3)
            return self.dense(x)

    block = Block()
    assert block(np.ones((2, 4), np.float32)).shape == (2, 3)
    assert weight_shapes(block) == [(4, 3), (3,)]


def test_a_models_compute_output_shape_is_kerass():
    x = Input((8, 8, 1))
    model = Model(x, L.Dense(5)(L.Flatten()(L.Conv2D(2, 3)(x))))
    assert model.compute_output_shape((None, 8, 8, 1)) == (None, 5)
    stack = Sequential([L.Dense(4), L.Dense(2)])
    stack.build((None, 3))
    assert stack.compute_output_shape((None, 3)) == (None, 2)
    open_sizes = Sequential([Input((None, None, 1)), L.Conv2D(3, 3), L.MaxPooling2D()])
    assert open_sizes.compute_output_shape((4, 10, 12, 1)) == (4, 4, 5, 3)


def test_a_bad_shape_for_build_names_the_problem():
    with pytest.raises(ValueError, match=r"batch axis first, as in Keras: build\(\(None, 4\)\)"):
        L.Dense(3).build((4,))
    with pytest.raises(ValueError, match="batch axis first"):
        L.Flatten().build(())


def test_a_sequential_keeps_the_batch_size_it_was_built_for_as_keras_does():
    stack = Sequential([L.Dense(2)])
    stack.build((1, 7))
    assert (stack.input_shape, stack.output_shape) == ((1, 7), (1, 2))  # Keras 3.15's
    called = Sequential([L.Dense(4), L.Dense(2)])
    called(np.ones((2, 3), np.float32))
    assert (called.input_shape, called.output_shape) == ((2, 3), (2, 2))
    assert called.predict(np.ones((5, 3), np.float32), verbose=0).shape == (5, 2)
    open_batch = Sequential([L.Dense(2)])
    open_batch.build((None, 7))
    assert open_batch.input_shape == (None, 7)
    fitted = Sequential([L.Dense(4), L.Dense(2)])
    fitted.compile("adam", "mse")
    fitted.fit(np.ones((8, 3), np.float32), np.ones((8, 2), np.float32), batch_size=4, verbose=0)
    assert fitted.input_shape == (4, 3)  # the first batch's, as Keras 3.15 builds


def test_symbolic_tensors_have_kerass_dtypes():
    ids = Input((3,), dtype="int32")
    x = Input((3,))
    # Keras 3.15 (JAX) gives these for the same graph.
    assert (x.dtype, ids.dtype, L.Dense(2)(x).dtype, L.Embedding(5, 2)(ids).dtype) == (
        "float32",
        "int32",
        "float32",
        "float32",
    )
    assert (L.Flatten()(ids).dtype, L.Reshape((3, 1))(ids).dtype, ids[:, :2].dtype) == (
        "int32",
        "int32",
        "int32",
    )
    assert (L.Dense(2)(ids).dtype, L.Concatenate()([ids, ids]).dtype) == ("float32", "float32")
    assert ((x > 0).dtype, (ids + ids).dtype, ops.cast(x, "int32").dtype) == (
        "bool",
        "int32",
        "int32",
    )
