"""Keras 3.15's MultiOptimizer and OptimizerMap: each weight trained by the optimizer its
path chooses."""

import numpy as np
import pytest
from test_models import toy_data
from test_optimizers import steps

from minicnn import Input, Sequential, load_model, optimizers, set_random_seed
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.keras_files import KerasFileError


def weight(path, values):
    w = Tensor(np.array(values, np.float64), requires_grad=True, name=path.split("/")[-1])
    w.path = path
    return w


def test_each_weight_takes_the_step_of_its_own_optimizer():
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(3) for _ in range(3)]
    grads = rng.standard_normal((4, 3, 3))
    paths = ["body/kernel", "head/kernel", "x/bias"]
    body, head, other = (weight(p, s) for p, s in zip(paths, start, strict=True))
    mapping = optimizers.OptimizerMap(
        optimizers.SGD(0.1, momentum=0.9), {"head/.*": optimizers.Adam(0.01)}
    )
    mapping["x/bias"] = optimizers.RMSprop(0.05)
    multi = optimizers.MultiOptimizer(mapping)
    for g in grads:
        multi.apply(list(g), [body, head, other])
    np.testing.assert_allclose(body.data, steps(optimizers.SGD(0.1, 0.9), start[0], grads[:, 0]))
    np.testing.assert_allclose(head.data, steps(optimizers.Adam(0.01), start[1], grads[:, 1]))
    np.testing.assert_allclose(other.data, steps(optimizers.RMSprop(0.05), start[2], grads[:, 2]))
    assert [type(o).__name__ for o in multi.optimizers] == ["Adam", "RMSprop", "SGD"]
    assert multi.iterations == 4 and all(o.iterations == 4 for o in multi.optimizers)
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed"):
        multi.learning_rate  # noqa: B018 - as in Keras, each optimizer has its own
    with pytest.raises(ValueError, match="already exists"):
        mapping["head/.*"] = optimizers.SGD()
    with pytest.raises(ValueError, match="other than a MultiOptimizer"):
        mapping["y"] = multi


def test_the_map_takes_exact_keys_first_then_whole_path_patterns():
    adam, sgd, rms = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    mapping = optimizers.OptimizerMap(rms, {"encoder/.*": sgd, "encoder/dense/kernel": adam})
    assert mapping["encoder/dense/kernel"] is adam  # exact, though the pattern matches too
    assert mapping["encoder/dense/bias"] is sgd
    assert mapping["decoder/encoder/bias"] is rms  # a pattern matches the whole path
    mapping["encoder/dense/.*"] = optimizers.Lion()
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable"):
        mapping["encoder/dense/bias"]  # noqa: B018


def test_a_compiled_model_trains_each_part_with_its_optimizer_and_saves_it(tmp_path):
    """Keras 3.15's paths put a Sequential's weights under its name, so both "head/.*" and
    "seq/head/.*" choose the head of Sequential "seq"; the state and each optimizer's rate and count
    survive saving, and both models go on identically."""
    x, y = toy_data(48)
    for key in ("head/.*", "seq/head/.*"):
        set_random_seed(0)
        model = Sequential(
            [
                Input((8, 8, 1)),
                L.Flatten(),
                L.Dense(8, "relu", name="body"),
                L.Dense(3, "softmax", name="head"),
            ],
            name="seq",
        )
        mapping = optimizers.OptimizerMap(optimizers.SGD(0.05), {key: optimizers.Adam(0.02)})
        model.compile(optimizers.MultiOptimizer(mapping), "sparse_categorical_crossentropy")
        history = model.fit(x, y, batch_size=16, epochs=4, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
        adam, sgd = model.optimizer.optimizers
        assert [type(o).__name__ for o in (adam, sgd)] == ["Adam", "SGD"]
        assert [p.path for p in adam._params] == ["seq/head/kernel", "seq/head/bias"]
    sgd.learning_rate = 0.01  # a callback's change: kept with the model
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.optimizers[1].learning_rate == np.float32(0.01)
    for a, b in zip(loaded.optimizer.state_arrays(), model.optimizer.state_arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    for m in (model, loaded):
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    lines = []
    model.summary(print_fn=lines.append)
    # Keras counts each optimizer's step and rate, and the MultiOptimizer's own two: 2, then
    # Adam's 2 and its moments of the head's 27 weights, then SGD's 2 (no momentum).
    assert " Optimizer params: 60 (" in "\n".join(lines)


def test_a_function_may_choose_and_such_an_optimizer_is_not_saved(tmp_path):
    adam, sgd = optimizers.Adam(0.01), optimizers.SGD(0.1)
    model = Sequential(
        [Input((4,)), L.Dense(3, name="body"), L.Dense(2, name="head")], name="sequential"
    )
    model.compile(optimizers.MultiOptimizer(lambda w: adam if "head" in w.path else sgd), "mse")
    model.fit(np.ones((8, 4), np.float32), np.ones((8, 2), np.float32), verbose=0)
    assert [p.path for p in adam._params] == ["sequential/head/kernel", "sequential/head/bias"]
    assert model.optimizer.optimizers == [sgd, adam]  # in the order they were chosen
    with pytest.raises(TypeError, match="chooses by a function cannot be saved"):
        model.save(tmp_path / "m.minicnn")


def test_the_state_tree_and_keras_files_hold_each_optimizer(tmp_path):
    """As Keras 3.15: the tree has the MultiOptimizer's section, then each optimizer's; the
    .keras file its variables, then each optimizer's again on its own. Keras 3.15 loaded
    minicnn's file and took the same next step (to 1.2e-7), and minicnn Keras' file's.
    Keras 2 has no MultiOptimizer."""
    import zipfile

    import h5py

    model = Sequential([Input((4,)), L.Dense(3, name="body"), L.Dense(2, name="head")])
    mapping = optimizers.OptimizerMap(
        optimizers.SGD(0.1, momentum=0.9), {"head/.*": optimizers.Adam()}
    )
    model.compile(optimizers.MultiOptimizer(mapping), "mse")
    x, y = np.ones((8, 4), np.float32), np.ones((8, 2), np.float32)
    model.fit(x, y, batch_size=4, verbose=0)
    tree = model.get_state_tree("numpy_array")["optimizer_variables"]
    assert list(tree) == ["multi_optimizer", "adam", "sgd"]
    assert sorted(tree["sgd"]) == [
        "iteration",
        "learning_rate",
        "sequential_body_bias_momentum",
        "sequential_body_kernel_momentum",
    ]
    model.set_state_tree({"optimizer_variables": tree})
    model.export(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        archive.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5", "r") as h5:
        assert len(h5["optimizer/vars"]) == 2 + (2 + 4) + (2 + 2)
        assert sorted(h5["optimizer/optimizers"]) == ["adam", "sgd"]
        assert len(h5["optimizer/optimizers/adam/vars"]) == 6
    again = load_model(tmp_path / "m.keras")
    for m in (model, again):
        m.train_on_batch(x, y)
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(KerasFileError, match="Keras 2 has no MultiOptimizer"):
        model.save(tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()
