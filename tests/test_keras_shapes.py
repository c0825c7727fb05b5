"""Shapes as Keras 3 gives them: a symbolic tensor's ``shape`` and a model's ``input_shape``
and ``output_shape`` put the batch axis first. The expected values are Keras 3.15's own
(JAX backend) for the same program."""

import numpy as np

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
