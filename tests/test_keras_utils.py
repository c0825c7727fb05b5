"""More of keras.utils and the top-level names: Progbar's running means, split_dataset,
(un)packing batches, source inputs, registered names and scopes, build configs."""

import re

import numpy as np
import pytest
from test_models import compiled, small_cnn

import minicnn
from minicnn import Input, Model, Sequential, utils
from minicnn import layers as L


def test_progbar_shows_running_means_and_stateful_values(capsys):
    bar = utils.Progbar(4, verbose=2, stateful_metrics=["lr"])
    bar.update(1, [("loss", 4.0), ("lr", 0.1)])
    bar.update(3, [("loss", 1.0), ("lr", 0.05)])  # this value covers two steps
    bar.add(1, [("loss", 2.0), ("lr", 0.01)])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("4/4")
    # (4 * 1 + 1 * 2 + 2 * 1) / 4 steps = 2.0; lr as last given
    assert re.search(r"loss: 2\.0000 - lr: 0\.0100$", out[0])
    unit = utils.Progbar(None, verbose=2, unit_name="sample")
    unit.update(5, [("x", 1.0)], finalize=True)
    assert "/sample" in capsys.readouterr().out


def test_split_dataset_and_batches():
    x, y = np.arange(10).reshape(10, 1), np.arange(10)
    (lx, ly), (rx, ry) = utils.split_dataset((x, y), left_size=0.7)
    assert len(lx) == len(ly) == 7 and len(rx) == 3
    np.testing.assert_array_equal(ly, np.arange(7))
    left, right = utils.split_dataset(y, right_size=4, shuffle=True, seed=1)
    assert len(left) == 6 and len(right) == 4 and sorted([*left, *right]) == list(range(10))
    half, other = utils.split_dataset(y)
    assert len(half) == len(other) == 5
    with pytest.raises(ValueError, match="exceed the 10 given"):
        utils.split_dataset(y, left_size=8, right_size=5)
    assert utils.pack_x_y_sample_weight(x) == (x,)
    assert len(utils.pack_x_y_sample_weight(x, y, y)) == 3
    assert utils.unpack_x_y_sample_weight((x, y)) == (x, y, None)
    assert utils.unpack_x_y_sample_weight(x)[1:] == (None, None)


def test_source_inputs_and_keras_tensors():
    a, b = Input((3,)), Input((3,))
    out = L.Dense(2)(L.Add()([L.Dense(3)(a), b]))
    assert utils.get_source_inputs(out) == [a, b]
    assert utils.is_keras_tensor(out) and not utils.is_keras_tensor(np.ones(3))
    assert minicnn.KerasTensor is type(a).__mro__[1]


def test_registered_names_and_scopes():
    @utils.register_keras_serializable(package="utils_test")
    def twice(x):
        return x * 2

    assert utils.get_registered_name(twice) == "utils_test>twice"
    assert utils.get_registered_object("utils_test>twice") is twice
    sentinel = object()
    with utils.custom_object_scope({"thing": sentinel}):
        assert utils.get_registered_object("thing") is sentinel
    with utils.CustomObjectScope({"other": sentinel}):
        assert utils.get_registered_object("other") is sentinel
    assert utils.get_registered_object("thing") is None


def test_build_configs_round_trip():
    model = compiled(small_cnn())
    config = model.get_build_config()
    assert config == {"input_shape": (None, 8, 8, 1)}
    fresh = Sequential([L.Flatten(), L.Dense(3)])
    fresh.build_from_config({"input_shape": (None, 4, 4, 1)})
    assert fresh.layers[1].get_weights()[0].shape == (16, 3)
    a, b = Input((2,)), Input((3,))
    two = Model([a, b], L.Concatenate()([a, b]))
    assert two.get_build_config() == {"input_shape": [(None, 2), (None, 3)]}
    two.build_from_config(two.get_build_config())
    assert Sequential([L.Dense(2)]).get_build_config() is None  # not built yet, as Keras
    dense = L.Dense(4)
    dense.build_from_config({"input_shape": (None, 5)})
    assert dense.get_weights()[0].shape == (5, 4) and dense.get_build_config() == {
        "input_shape": (None, 5)
    }


def test_keras_3_variable_and_dtype_names():
    model = Sequential([Input((3,)), L.Dense(2), L.BatchNormalization()])
    assert [id(v) for v in model.variables] == [id(w) for w in model.weights]
    assert len(model.trainable_variables) == 4 and len(model.non_trainable_variables) == 2
    dense = model.layers[0]
    assert dense.trainable_variables == dense.trainable_weights
    assert (dense.dtype, dense.compute_dtype, dense.variable_dtype) == ("float32",) * 3
    assert dense.dtype_policy.name == "float32" and dense.path == f"{model.name}/{dense.name}"


def test_top_level_names_are_keras():
    for name in (
        "Layer",
        "Loss",
        "Metric",
        "Optimizer",
        "Initializer",
        "Regularizer",
        "Constraint",
        "InputSpec",
    ):
        assert hasattr(minicnn, name), name
    assert issubclass(L.Dense, minicnn.Layer)
    assert isinstance(minicnn.losses.get("mse"), minicnn.Loss)
    assert isinstance(minicnn.initializers.HeNormal(), minicnn.Initializer)
