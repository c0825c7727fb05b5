"""Keras 3's ``optimizer.variables`` and optimizer names: the step count, the learning rate
and the state, in Keras' order, with Keras' paths (the optimizer's name, numbered where one
repeats, then the weight's path with underscores and the slot's Keras name). The values
below are Keras 3.15's for the same programs (its JAX backend counts steps in int32;
minicnn, as Keras' TensorFlow and PyTorch backends, in int64)."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, optimizers
from minicnn import layers as L


def _trained(optimizer):
    model = Sequential([Input((3,)), L.Dense(2, name="d")], name="s")
    model.compile(optimizer, "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    return model


def _slots(prefix, *names):
    return [f"{prefix}/s_d_{w}_{n}" for w in ("kernel", "bias") for n in names]


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: optimizers.SGD(), ["sgd/iteration", "sgd/learning_rate"]),
        (
            lambda: optimizers.Adam(amsgrad=True),
            ["adam/iteration", "adam/learning_rate"]
            + _slots("adam", "momentum", "velocity")
            + _slots("adam", "velocity_hat"),
        ),
        (
            lambda: optimizers.RMSprop(momentum=0.5, centered=True),
            ["rm_sprop/iteration", "rm_sprop/learning_rate"]
            + _slots("rm_sprop", "velocity")
            + _slots("rm_sprop", "momentum")
            + _slots("rm_sprop", "average_gradient"),
        ),
        (
            lambda: optimizers.Adamax(),
            ["adamax/iteration", "adamax/learning_rate"] + _slots("adamax", "momentum", "norm"),
        ),
        (
            lambda: optimizers.Adafactor(),
            ["adafactor/iteration", "adafactor/learning_rate", "adafactor/kernel"]
            + ["adafactor/kernel", "adafactor/s_d_kernel_velocity", "bias", "bias"]
            + ["adafactor/s_d_bias_velocity"],
        ),
        (
            lambda: optimizers.Adam(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
            ["adam/iteration"] + _slots("adam", "momentum", "velocity"),
        ),
        (
            lambda: optimizers.Adam(use_ema=True),
            ["adam/iteration", "adam/learning_rate"]
            + _slots("adam", "average")
            + _slots("adam", "momentum", "velocity"),
        ),
        (
            lambda: optimizers.LossScaleOptimizer(optimizers.SGD(momentum=0.5)),
            ["loss_scale_optimizer/iteration", "loss_scale_optimizer/learning_rate"]
            + ["loss_scale_optimizer/step_counter", "loss_scale_optimizer/dynamic_scale"]
            + ["sgd/iteration", "sgd/learning_rate", "sgd/s_d_kernel_momentum"]
            + ["sgd/s_d_bias_momentum"],
        ),
    ],
)
def test_the_variables_are_kerass(make, expected):
    minicnn.utils.clear_session()  # names numbered afresh, as Keras' clear_session does
    optimizer = make()
    # Before it is built, Keras has its counts and rates alone.
    made_by_build = ("/s_d_", "adafactor/kernel", "step_counter", "dynamic_scale")
    unbuilt = [p for p in expected if p != "bias" and not any(m in p for m in made_by_build)]
    assert [v.path for v in optimizer.variables] == unbuilt
    _trained(optimizer)
    assert [v.path for v in optimizer.variables] == expected


def test_a_state_variable_is_the_optimizers_own_array():
    minicnn.utils.clear_session()
    optimizer = optimizers.Adam(0.01)
    model = _trained(optimizer)
    iteration, rate, momentum = optimizer.variables[:3]
    assert (int(iteration.numpy()), iteration.dtype, rate.dtype) == (1, np.int64, np.float32)
    assert repr(iteration) == "<Variable path=adam/iteration, shape=(), dtype=int64, value=1>"
    assert momentum.name == "s_d_kernel_momentum" and momentum.shape == (3, 2)
    momentum.assign(np.zeros((3, 2)))  # writes the state the next update reads
    assert not optimizer._slots[0]["m"].any()
    lines = []
    model.summary(print_fn=lines.append)
    # Keras counts every variable: 2 + 2 moments of 8 weights; 8 + 4 bytes for the two
    # scalars here (Keras' JAX backend: 4 + 4).
    assert " Optimizer params: 18 (76.00 B)" in "\n".join(lines)


def test_an_optimizers_name_is_kerass_and_survives_its_config():
    minicnn.utils.clear_session()
    first, second, named = optimizers.Adam(), optimizers.Adam(), optimizers.Adam(name="mine")
    assert (first.name, second.name, named.name) == ("adam", "adam_1", "mine")
    assert optimizers.AdamW().get_config()["name"] == "adam_w"
    again = optimizers.deserialize(optimizers.serialize(named))
    assert type(again) is optimizers.Adam and again.name == "mine"
    assert optimizers.get({"name": "rmsprop", "learning_rate": 0.5}).learning_rate == 0.5
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        optimizers.SGD(name="")


def test_the_state_tree_nests_a_wrapped_optimizers_variables_under_its_name():
    minicnn.utils.clear_session()
    model = _trained(optimizers.LossScaleOptimizer(optimizers.SGD(momentum=0.5)))
    tree = model.get_state_tree("numpy_array")["optimizer_variables"]
    assert sorted(tree) == ["loss_scale_optimizer", "sgd"]  # Keras 3.15's
    assert sorted(tree["sgd"]) == [
        "iteration",
        "learning_rate",
        "s_d_bias_momentum",
        "s_d_kernel_momentum",
    ]
    tree["sgd"]["s_d_kernel_momentum"] = np.full((3, 2), 0.25, np.float32)
    tree["sgd"]["learning_rate"] = np.float32(0.125)
    tree["loss_scale_optimizer"]["dynamic_scale"] = np.float32(64.0)
    model.set_state_tree({"optimizer_variables": tree})
    inner = model.optimizer.inner_optimizer
    assert inner.learning_rate == 0.125 and model.optimizer.dynamic_scale == 64.0
    np.testing.assert_array_equal(inner._slots[0]["velocity"], np.full((3, 2), 0.25))
    with pytest.raises(ValueError, match="names no variable"):
        model.set_state_tree({"optimizer_variables": {**tree, "other": np.zeros(1)}})


def test_iterations_and_learning_rate_are_numbers_with_a_variables_attributes():
    """Keras' optimizer.iterations and learning_rate are scalar Variables: code written for
    Keras reads them with numpy(), float() or int() and writes them with assign (values
    below are Keras 3.15's, but for its JAX backend's int32 count)."""
    import copy
    import pickle

    import minicnn

    model = minicnn.Sequential([minicnn.Input((3,)), minicnn.layers.Dense(1)])
    model.compile(minicnn.optimizers.Adam(0.01), "mse")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    optimizer = model.optimizer
    count = optimizer.iterations
    assert count == 4 and int(count) == 4 and count.numpy() == 4 and count + 1 == 5
    assert (count.path, count.name, count.dtype, count.trainable) == (
        "adam/iteration",
        "iteration",
        "int64",
        False,
    )
    assert repr(count) == "<Variable path=adam/iteration, shape=(), dtype=int64, value=4>"
    rate = optimizer.learning_rate
    assert (rate.path, rate.dtype, rate.shape) == ("adam/learning_rate", "float32", ())
    assert float(rate.numpy()) == 0.009999999776482582  # its float32 value, as Keras'
    assert f"{rate:.3f}" == "0.010" and rate * 2 == pytest.approx(0.02)
    optimizer.learning_rate.assign(0.5)
    assert optimizer.learning_rate == 0.5
    optimizer.learning_rate.assign(np.float32(0.25))
    assert optimizer.get_config()["learning_rate"] == 0.25
    optimizer.iterations.assign(0)
    assert optimizer.iterations == 0
    optimizer.iterations.assign_add(3)
    assert optimizer.iterations == 3
    # Pickled or copied, it is the plain number, not the optimizer with it.
    assert type(pickle.loads(pickle.dumps(optimizer.learning_rate))) is float
    assert type(copy.deepcopy(optimizer.iterations)) is int
