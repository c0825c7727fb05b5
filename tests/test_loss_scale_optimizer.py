"""Keras' LossScaleOptimizer and mixed-precision policies: the same updates as the wrapped
optimizer (scaling by a power of two is exact in float32), skipped steps on overflow, the
scale's growth, and Keras' mixed-precision files (Keras 3's .keras and TF 2.15's .h5, made by
tests/keras_files/make_keras_files.py and tests/keras2_files/make_keras2_files.py), whose
outputs minicnn computes as their float32 twins do."""

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, backend, mixed_precision
from minicnn import layers as L
from minicnn import optimizers as O

TESTS = Path(__file__).parent
rng = np.random.default_rng(0)
X = rng.random((16, 6)).astype(np.float32)
Y = rng.integers(0, 3, 16)


def _model(device: str = "cpu") -> Sequential:
    backend.set_random_seed(3)
    return Sequential(
        [Input((6,)), L.Dense(5, activation="tanh"), L.Dense(3, activation="softmax")],
        device=device,
    )


def _host(weights: list) -> list:
    """Copies on the host (to_numpy of a CPU weight is the weight itself)."""
    return [np.array(backend.to_numpy(w)) for w in weights]


def test_updates_are_the_wrapped_optimizers_to_the_bit(device):
    plain, scaled = _model(device), _model(device)
    plain.compile(O.Adam(0.01), "sparse_categorical_crossentropy")
    lso = O.LossScaleOptimizer(O.Adam(0.01), initial_scale=2.0**10, dynamic_growth_steps=3)
    scaled.compile(lso, "sparse_categorical_crossentropy")
    a = plain.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    b = scaled.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for u, v in zip(_host(plain.get_weights()), _host(scaled.get_weights()), strict=True):
        np.testing.assert_array_equal(u, v)
    assert a.history["loss"] == b.history["loss"]  # the loss logged is not scaled
    # 8 finite steps, the scale doubling after every third: 2 ** 12, 2 steps since.
    assert lso.iterations == 8 and lso.dynamic_scale == 2.0**12 and lso.step_counter == 2
    assert lso.learning_rate == pytest.approx(0.01)


def test_a_step_that_overflows_is_skipped_and_halves_the_scale():
    model = _model()
    lso = O.LossScaleOptimizer(O.SGD(0.1), initial_scale=64.0)
    model.compile(lso, "sparse_categorical_crossentropy")
    model.train_on_batch(X, Y)
    before = _host(model.trainable_weights)
    grads = [np.ones(w.shape, np.float32) for w in model.trainable_weights]
    grads[1][0] = np.inf
    lso.apply(grads, model.trainable_weights)
    for u, v in zip(before, _host(model.trainable_weights), strict=True):
        np.testing.assert_array_equal(u, v)
    assert lso.dynamic_scale == 32.0 and lso.step_counter == 0 and lso.iterations == 1
    grads[1][0] = 1.0
    lso.apply(grads, model.trainable_weights)  # divided by the scale, then SGD's step
    np.testing.assert_allclose(
        _host(model.trainable_weights)[0], before[0] - 0.1 / 32, rtol=1e-6, atol=1e-7
    )
    assert lso.iterations == 2 and lso.step_counter == 1
    assert float(lso.scale_loss(np.float32(2.0))) == 64.0


def test_arguments_config_and_names_follow_keras():
    lso = O.LossScaleOptimizer(O.RMSprop(0.002), initial_scale=128.0, dynamic_growth_steps=10)
    config = lso.get_config()
    assert config["name"] == "loss_scale_optimizer"
    assert config["inner_optimizer"]["class_name"] == "RMSprop"
    assert (config["initial_scale"], config["dynamic_growth_steps"]) == (128.0, 10)
    again = O.deserialize(O.serialize(lso))
    assert isinstance(again, O.LossScaleOptimizer) and again.get_config() == config
    assert isinstance(again.inner_optimizer, O.RMSprop)
    assert mixed_precision.LossScaleOptimizer is O.LossScaleOptimizer
    with pytest.raises(ValueError, match="no longer supports `dynamic=False`"):
        O.LossScaleOptimizer(O.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="does not support `clipnorm`"):
        O.LossScaleOptimizer(O.SGD(), clipnorm=1.0)
    O.LossScaleOptimizer(O.SGD(), clipnorm=None, use_ema=False)  # older Keras' defaults
    with pytest.raises(ValueError, match="does not support arguments: `momentum`"):
        O.LossScaleOptimizer(O.SGD(), momentum=0.9)
    with pytest.raises(TypeError, match="wraps an optimizer"):
        O.LossScaleOptimizer(lso)
    with pytest.raises(ValueError, match="initial_scale must be positive"):
        O.LossScaleOptimizer(O.SGD(), initial_scale=0)
    with pytest.raises(ValueError, match="dynamic_growth_steps must be a positive integer"):
        O.LossScaleOptimizer(O.SGD(), dynamic_growth_steps=0)
    inner = O.SGD(loss_scale_factor=4.0)
    O.LossScaleOptimizer(inner)
    assert inner.loss_scale_factor is None  # or the loss would be scaled twice


def test_compile_under_mixed_float16_wraps_the_optimizer(tmp_path):
    with pytest.warns(UserWarning, match="computes in float32"):
        mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _model()
        assert model.dtype_policy.name == "mixed_float16"
        assert model.layers[0].dtype_policy.compute_dtype == "float32"
        model.compile("adam", "sparse_categorical_crossentropy")
        unscaled = _model()
        unscaled.compile("adam", "sparse_categorical_crossentropy", auto_scale_loss=False)
    finally:
        mixed_precision.set_global_policy("float32")
    assert isinstance(model.optimizer, O.LossScaleOptimizer)
    assert isinstance(model.optimizer.inner_optimizer, O.Adam)
    assert isinstance(unscaled.optimizer, O.Adam)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "mixed.minicnn"
    model.save(path)
    again = minicnn.load_model(path)
    assert isinstance(again.optimizer, O.LossScaleOptimizer)
    assert again.optimizer.step_counter == 2 and again.optimizer.iterations == 2
    states = _host(model.optimizer.state_arrays()), _host(again.optimizer.state_arrays())
    for u, v in zip(*states, strict=True):
        np.testing.assert_array_equal(u, v)
    assert again.layers[0].dtype_policy.name == "mixed_float16"
    # A checkpoint of it resumes in the same layers made under float32 (the same numbers).
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, checkpoint=tmp_path / "run.npz")
    plain = _model()
    plain.compile(O.LossScaleOptimizer(O.Adam()), "sparse_categorical_crossentropy")
    resumed = plain.fit(X, Y, batch_size=8, epochs=2, verbose=0, checkpoint=tmp_path / "run.npz")
    assert resumed.epoch == [0, 1] and plain.optimizer.iterations == 6


def test_a_resumed_run_goes_on_with_the_scale_count_and_rate(tmp_path):
    from minicnn.callbacks import LearningRateScheduler

    def run(epochs: int, **kwargs) -> Sequential:
        model = _model()
        lso = O.LossScaleOptimizer(O.Adam(0.01), initial_scale=4.0, dynamic_growth_steps=3)
        model.compile(lso, "sparse_categorical_crossentropy")
        halving = LearningRateScheduler(lambda epoch, rate: rate / 2)
        model.fit(X, Y, batch_size=8, epochs=epochs, verbose=0, callbacks=[halving], **kwargs)
        return model

    straight = run(4)
    run(2, checkpoint=tmp_path / "run.npz")  # "killed" after 2 epochs
    resumed = run(4, checkpoint=tmp_path / "run.npz")
    for model in (straight, resumed):  # 8 steps: doubled twice, 2 since
        lso = model.optimizer
        assert (lso.dynamic_scale, lso.step_counter, lso.iterations) == (16.0, 2, 8)
        assert lso.learning_rate == pytest.approx(0.01 / 16)
    for a, b in zip(_host(straight.get_weights()), _host(resumed.get_weights()), strict=True):
        np.testing.assert_array_equal(a, b)


h5py = pytest.importorskip("h5py", reason="Keras' files need h5py")


def _keras_state(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        weights = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(weights), "r") as h5:
        return {
            group: [np.asarray(h5[group][str(i)]) for i in range(len(h5[group]))]
            for group in ("optimizer/vars", "optimizer/inner_optimizer/vars")
        }


def test_keras3_mixed_precision_file_loads_trains_and_saves_as_keras(tmp_path):
    path = TESTS / "keras_files" / "mixed_precision.keras"
    saved = np.load(TESTS / "keras_files" / "mixed_precision.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = minicnn.load_model(path)
    assert model.dtype_policy.name == "mixed_float16"
    assert model.layers[-1].dtype_policy.name == "float32"  # Keras' float32 softmax
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["float32"], atol=2e-7)
    # Keras' own outputs are float16's: within its rounding.
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["y0"], atol=2e-3)
    lso = model.optimizer
    state = _keras_state(path)
    own, inner = state["optimizer/vars"], state["optimizer/inner_optimizer/vars"]
    assert isinstance(lso, O.LossScaleOptimizer) and isinstance(lso.inner_optimizer, O.Adam)
    assert (lso.step_counter, lso.dynamic_scale, lso.iterations) == (4, 32768.0, 4)
    assert (int(own[2]), float(own[3]), int(own[4])) == (4, 32768.0, 4)
    first_moment = lso.inner_optimizer._slots[0]["m"]
    np.testing.assert_array_equal(backend.to_numpy(first_moment), inner[2])
    model.fit(saved["x"], np.arange(3), verbose=0)
    written = tmp_path / "again.keras"
    model.export(written)
    state = _keras_state(written)
    own, inner = state["optimizer/vars"], state["optimizer/inner_optimizer/vars"]
    assert [int(own[0]), float(own[1]), int(own[2]), float(own[3])] == [0, 0.0, 5, 32768.0]
    assert len(own) == len(inner) + 4 and int(inner[0]) == 5
    np.testing.assert_array_equal(inner[2], backend.to_numpy(first_moment))
    with zipfile.ZipFile(written) as archive:
        document = json.loads(archive.read("config.json"))
    assert document["compile_config"]["optimizer"]["class_name"] == "Adam"  # as compile got
    assert document["config"]["dtype"]["config"]["name"] == "mixed_float16"
    reread = minicnn.load_model(written)
    assert (reread.optimizer.step_counter, reread.optimizer.iterations) == (5, 5)


def test_tf2_mixed_precision_file_loads_and_saves_as_tensorflow_wrote_it(tmp_path):
    path = TESTS / "keras2_files" / "mixed_precision.h5"
    saved = np.load(TESTS / "keras2_files" / "mixed_precision.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = minicnn.load_model(path)
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["predicted"], atol=2e-7)
    lso = model.optimizer
    assert isinstance(lso, O.LossScaleOptimizer) and lso.iterations == 4
    with h5py.File(path, "r") as h5:
        moment = np.asarray(h5["optimizer_weights"]["m/conv2d/kernel:0"])
    np.testing.assert_array_equal(backend.to_numpy(lso.inner_optimizer._slots[0]["m"]), moment)
    written = tmp_path / "again.h5"
    model.save(written)
    with h5py.File(written, "r") as h5:
        training = json.loads(h5.attrs["training_config"])
        names = [n.decode() for n in h5["optimizer_weights"].attrs["weight_names"]]
    assert training["optimizer_config"]["class_name"] == "LossScaleOptimizerV3"
    assert training["optimizer_config"]["config"]["inner_optimizer"]["class_name"] == "Adam"
    assert names[:2] == ["iteration:0", "m/conv2d/kernel:0"]
    again = minicnn.load_model(written)
    assert again.optimizer.iterations == 4
    np.testing.assert_array_equal(
        backend.to_numpy(again.optimizer.inner_optimizer._slots[0]["m"]), moment
    )
