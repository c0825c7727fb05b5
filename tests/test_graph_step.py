"""compile(jit_compile=True): fit's training step captured in a CUDA graph and replayed.

On the emulated GPU a capture records instead of running and a launch replays the records on
whatever the arrays hold then (see ``fake_cupy``), so these tests catch what would go wrong on
a GPU: an array rebound instead of written in place, a number baked into the graph that should
change each step, a result read before the graph ran. The oracle is the same fit uncaptured.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pytest
from test_models import toy_data

from minicnn import Sequential, backend, load_model, optimizers
from minicnn import layers as L
from minicnn.callbacks import LearningRateScheduler
from minicnn.layer_base import Layer
from minicnn.optimizers import schedules

# 44 samples in batches of 8: five full batches (captured from the second on) and one of four
# (uncaptured) per epoch.
SAMPLES, BATCH = 44, 8


def busy_cnn(device="cpu"):
    """Every kind of per-step randomness and state a study-like model has: augmentation seeds,
    dropout seeds, batch statistics and moving averages."""
    return Sequential(
        [
            L.Input((8, 8, 1)),
            L.RandomFlip("horizontal"),
            L.RandomTranslation(0.1, 0.1),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.SpatialDropout2D(0.25),
            L.Flatten(),
            L.Dense(12, activation="relu"),
            L.Dropout(0.3),
            L.Dense(3, activation="softmax"),
        ],
        device=device,
    )


def fit_twice(build, optimizer, jit_compile, epochs=2, callbacks=None, **compile_args):
    """Seed 0, build, compile, fit; the model and its History."""
    backend.set_random_seed(0)
    model = build(device="gpu")
    model.compile(optimizer, metrics=["accuracy"], jit_compile=jit_compile, **compile_args)
    x, y = toy_data(SAMPLES)
    history = model.fit(
        x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks, shuffle=True
    )
    return model, history


def assert_same_training(a, b):
    """The same History and weights, up to the rounding of another GEMM (captured steps multiply
    with minicnn's kernel, uncaptured ones with cuBLAS or NumPy): the same random draws, the
    same updates."""
    (model_a, history_a), (model_b, history_b) = a, b
    for key in history_a.history:
        np.testing.assert_allclose(history_a.history[key], history_b.history[key], rtol=1e-4)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    assert model_a.optimizer.iterations == model_b.optimizer.iterations


def assert_captured_trains_like_plain(layers, x, y, **compile_args):
    """Fit the GPU model that ``layers()`` builds, uncaptured and captured (batch 8, two
    epochs, the same seed), assert the same training and a capture that did not fail; the
    captured model comes back."""

    def run(jit_compile):
        backend.set_random_seed(0)
        model = Sequential(layers(), device="gpu")
        model.compile("adam", jit_compile=jit_compile, **compile_args)
        return model, model.fit(x, y, batch_size=8, epochs=2, verbose=0)

    plain, captured = run(False), run(True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None
    return captured[0]


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: "adam",
        lambda: optimizers.SGD(
            schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5), momentum=0.9
        ),
        lambda: optimizers.RMSprop(centered=True, momentum=0.5, weight_decay=0.01),
        lambda: optimizers.AdamW(global_clipnorm=0.5),
        lambda: optimizers.Nadam(schedules.CosineDecay(0.002, decay_steps=10)),
        lambda: optimizers.Adamax(0.002),
        lambda: optimizers.SGD(0.05, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3),
        lambda: optimizers.ScheduleFreeAdamW(0.01, warmup_steps=4, weight_decay=0.01),
        lambda: optimizers.MultiOptimizer(
            optimizers.OptimizerMap(
                optimizers.SGD(0.05, momentum=0.9), {".*bias": optimizers.Adam()}
            )
        ),
    ],
    ids=[
        "adam",
        "sgd-schedule",
        "rmsprop-decay",
        "adamw-clip",
        "nadam-schedule",
        "adamax",
        "sgd-ema",
        "schedule-free-warmup",
        "multi",
    ],
)
def test_a_captured_fit_trains_exactly_like_an_uncaptured_one(gpu, make_optimizer):
    plain = fit_twice(busy_cnn, make_optimizer(), jit_compile=False)
    captured = fit_twice(busy_cnn, make_optimizer(), jit_compile=True)
    assert_same_training(plain, captured)
    step = captured[0]._captured_step
    # Per epoch: 5 full batches; the first is run plainly, the second captured, then replays.
    assert step.failure is None
    assert step.replays == 3 + 5


def test_gradient_accumulation_runs_its_steps_uncaptured(gpu):
    """Whether a step updates or only accumulates is the host's count, so with
    gradient_accumulation_steps fit does not capture; it trains as uncaptured."""
    make = partial(optimizers.Adam, 0.01, gradient_accumulation_steps=2)
    plain = fit_twice(busy_cnn, make(), jit_compile=False)
    asked = fit_twice(busy_cnn, make(), jit_compile=True)
    assert_same_training(plain, asked)
    assert asked[0]._captured_step is None
    assert asked[0].optimizer.iterations == plain[0].optimizer.iterations > 0


def test_a_replayed_step_costs_the_host_a_handful_of_cupy_calls(gpu):
    """The point of the graph: base made 155 CuPy calls a step uncaptured (see test_gpu); a
    replay copies the batch in, uploads the step scalars and launches the graph."""
    if gpu.__class__.__name__ != "FakeCupy":
        pytest.skip("counting CuPy calls needs the emulated backend")
    import fake_cupy

    from minicnn.experiments import zoo

    backend.set_random_seed(0)
    model = zoo.build_model("base", device="gpu")
    model.compile("adam", metrics=["accuracy"], jit_compile=True)
    rng = np.random.default_rng(0)
    x, y = model._prepare(rng.random((16, 28, 28, 1), np.float32), rng.integers(0, 10, 16))
    step = model._fit_step()
    step(x, y)  # run plainly
    step(x, y)  # captured
    fake_cupy.calls.clear()
    fake_cupy.traffic.clear()
    step(x, y)
    assert step.replays == 1
    assert dict(fake_cupy.calls) == {"index": 2, "method": 1, "graph_launch": 1}
    # The one copy up is the step scalars (Adam's step size); nothing waits for the device.
    assert dict(fake_cupy.traffic) == {"h2d": 1}


def test_a_learning_rate_changed_by_a_callback_reaches_the_replays(gpu):
    def halve_each_epoch(epoch, rate):
        return 0.01 * 0.5**epoch

    def run(jit_compile):
        callbacks = [LearningRateScheduler(halve_each_epoch)]
        return fit_twice(busy_cnn, optimizers.SGD(0.01), jit_compile, 3, callbacks)

    assert_same_training(run(False), run(True))


def test_weights_set_between_fits_are_what_the_graph_trains(gpu):
    """set_weights writes into the arrays the graph holds, so the graph stays valid."""

    def run(jit_compile):
        model, _ = fit_twice(busy_cnn, "adam", jit_compile, epochs=1)
        model.set_weights([w * 0.5 for w in model.get_weights()])
        x, y = toy_data(SAMPLES)
        history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        return model, history

    plain, captured = run(False), run(True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.replays == 3 + 5


def test_freezing_a_layer_captures_the_step_again(gpu):
    def run(jit_compile):
        model, _ = fit_twice(busy_cnn, "sgd", jit_compile, epochs=1)
        model.layers[2].trainable = False  # the Conv2D
        model.compile("sgd", metrics=["accuracy"], jit_compile=jit_compile)
        x, y = toy_data(SAMPLES)
        return model, model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    plain, captured = run(False), run(True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.replays == 3


class HostReading(Layer):
    """A layer that reads its input on the host in training, which no graph can hold."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x, training):
        if training:
            float(x.data.sum())
        return x


def test_a_step_that_cannot_be_captured_warns_once_and_trains_uncaptured(gpu):
    def with_host_read(device):
        return Sequential(
            [L.Input((8, 8, 1)), L.Flatten(), HostReading(), L.Dense(3, activation="softmax")],
            device=device,
        )

    plain = fit_twice(with_host_read, "adam", jit_compile=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        captured = fit_twice(with_host_read, "adam", jit_compile=True)
    messages = [str(w.message) for w in caught if "CUDA graph" in str(w.message)]
    if gpu.__class__.__name__ == "FakeCupy":
        assert len(messages) == 1 and "not permitted when stream is capturing" in messages[0]
        assert captured[0]._captured_step.failure is not None
    assert_same_training(plain, captured)


def test_jit_compile_is_saved_and_changes_nothing_on_the_cpu(tmp_path):
    results = []
    for jit_compile in (False, True):
        backend.set_random_seed(0)
        model = busy_cnn()
        model.compile("adam", metrics=["accuracy"], jit_compile=jit_compile)
        x, y = toy_data(SAMPLES)
        results.append((model, model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)))
    assert_same_training(*results)
    path = tmp_path / "m.npz"
    results[1][0].save(path)
    assert load_model(path).jit_compile is True
    with pytest.raises(ValueError, match="jit_compile"):
        busy_cnn().compile("adam", jit_compile="xla")


def test_another_batch_size_captures_again(gpu):
    def run(jit_compile):
        model, _ = fit_twice(busy_cnn, "adam", jit_compile, epochs=1)
        x, y = toy_data(SAMPLES)
        return model, model.fit(x, y, batch_size=BATCH // 2, epochs=1, verbose=0)

    plain, captured = run(False), run(True)
    assert_same_training(plain, captured)
    # The first fit replayed 3 steps and ran its last batch, of 4, plainly; so the second fit's
    # first batch of 4 is captured at once (dropping the graph for 8), and 10 replays follow.
    assert captured[0]._captured_step.replays == 3 + 10


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (5, 3, 7), (9, 300, 6), (37, 4, 2), (0, 3, 2)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_the_graph_gemm_kernel_multiplies_like_numpy(gpu, monkeypatch, dtype, m, k, n, ta, tb):
    """minicnn's GEMM (for captured steps, where CuPy refuses cuBLAS): transposed operands as
    they come from autograd (x.T, w.T views), ragged tiles, and k split into chunks."""
    from minicnn.kernels import cuda

    monkeypatch.setattr(cuda, "GEMM_MIN_CHUNK", 8)  # split k = 300 into several chunks
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    a_dev, b_dev = gpu.asarray(a), gpu.asarray(b)
    a_op, b_op = (a_dev.T if ta else a_dev), (b_dev.T if tb else b_dev)
    a_math = (a.T if ta else a).astype(np.float64)
    b_math = (b.T if tb else b).astype(np.float64)
    expected = a_math @ b_math
    # The rounding error of a sum of k products, bounded by sum |a| |b| (cancellation makes the
    # relative error of small entries large, so rtol alone would not do).
    bound = 2 * k * np.finfo(dtype).eps * (np.abs(a_math) @ np.abs(b_math))
    out = backend.to_numpy(cuda.gemm(a_op, b_op))
    assert out.shape == (m, n) and out.dtype == dtype
    assert np.all(np.abs(out - expected) <= bound)
    into = gpu.full((m, n), np.nan, dtype=dtype)
    assert cuda.gemm(a_op, b_op, out=into) is into
    assert np.all(np.abs(backend.to_numpy(into) - expected) <= bound)


def test_the_graph_gemm_refuses_shapes_that_do_not_multiply(gpu):
    from minicnn.kernels import cuda

    with pytest.raises(ValueError, match="do not multiply"):
        cuda.gemm(gpu.zeros((2, 3), np.float32), gpu.zeros((4, 2), np.float32))


@pytest.mark.parametrize("spec", ["rtc,tcm->rcm", "rtc,rcm->tcm", "rcm,tcm->rtc"])
def test_depthwise_products_have_a_form_without_cublas(gpu, spec):
    from minicnn.conv_ops import _per_channel

    r, t, c, m = 7, 9, 3, 2
    sizes = dict(zip("rtcm", (r, t, c, m), strict=True))
    rng = np.random.default_rng(0)
    a_spec, b_spec = spec.split("->")[0].split(",")
    a = rng.standard_normal([sizes[d] for d in a_spec])
    b = rng.standard_normal([sizes[d] for d in b_spec])
    with backend.capturing_step(backend.DeviceScalars(gpu)):
        assert backend.graph_safe()
        out = _per_channel(spec, gpu.asarray(a), gpu.asarray(b))
    np.testing.assert_allclose(backend.to_numpy(out), np.einsum(spec, a, b), rtol=1e-10, atol=1e-12)


def separable_cnn(device="cpu"):
    return Sequential(
        [
            L.Input((8, 8, 2)),
            L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="gelu"),
            L.SeparableConv2D(4, 3, activation="swish"),
            L.LeakyReLU(),
            L.Conv2DTranspose(2, 2, strides=2),
            L.GlobalAveragePooling2D(),
            L.Dense(3, activation="softmax"),
        ],
        device=device,
    )


def test_depthwise_separable_and_transposed_convolutions_and_gelu_are_captured_too(gpu):
    def run(jit_compile):
        backend.set_random_seed(0)
        model = separable_cnn(device="gpu")
        model.compile("adam", metrics=["accuracy"], jit_compile=jit_compile)
        x, y = toy_data(SAMPLES)
        x = np.concatenate([x, x[:, ::-1]], axis=-1)  # two channels
        return model, model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)

    plain, captured = run(False), run(True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None
    assert captured[0]._captured_step.replays == 3 + 5


def test_the_gemm_tile_is_the_same_on_both_sides():
    """The launcher counts tiles with the tile size the CUDA source computes with."""
    from minicnn.kernels import cuda

    assert f"#define GEMM_TILE {cuda.GEMM_TILE}\n" in cuda.SOURCE_PATH.read_text()


def test_train_on_batch_replays_the_captured_step_too(gpu):
    def run(jit_compile):
        backend.set_random_seed(0)
        model = busy_cnn(device="gpu")
        model.compile("adam", metrics=["accuracy"], jit_compile=jit_compile)
        x, y = toy_data(SAMPLES)
        logs = [model.train_on_batch(x[:BATCH], y[:BATCH]) for _ in range(4)]
        return model, logs

    (plain, plain_logs), (captured, captured_logs) = run(False), run(True)
    np.testing.assert_allclose(plain_logs, captured_logs, rtol=1e-4)
    for wa, wb in zip(plain.get_weights(), captured.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    assert captured._captured_step.replays == 2  # one step plain, one captured, two replays


def test_run_eagerly_keeps_the_step_out_of_a_graph_as_keras_does(gpu, tmp_path):
    """compile(run_eagerly=True, jit_compile=True) warns and turns jit_compile off, as Keras
    does; model.run_eagerly set after compile keeps fit's step uncaptured too."""
    model = busy_cnn(device="gpu")
    with pytest.warns(UserWarning, match="Disabling `jit_compile`"):
        model.compile("adam", jit_compile=True, run_eagerly=True)
    assert (model.jit_compile, model.run_eagerly) == (False, True)
    x, y = toy_data(SAMPLES)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert model._captured_step is None
    model.compile("adam", jit_compile=True)
    model.run_eagerly = True
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert model._captured_step is None
    model.run_eagerly = False
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert model._captured_step is not None and model._captured_step.replays > 0
    model.compile("adam", run_eagerly=True, steps_per_execution=1, auto_scale_loss=False)
    config = model.get_compile_config()
    assert (config["run_eagerly"], config["steps_per_execution"]) == (True, 1)
    model.save(tmp_path / "m.minicnn")
    assert load_model(tmp_path / "m.minicnn", device="gpu").run_eagerly is True


def test_steps_per_execution_above_one_is_refused_as_keras_3_on_pytorch_does():
    with pytest.raises(ValueError, match="steps_per_execution must be 1.*Received: "):
        busy_cnn().compile("adam", steps_per_execution=32)


def ops_in_a_graph(device="cpu"):
    """A functional model whose graph holds minicnn.ops calls (OpCall layers, one with an
    array constant) between its layers."""
    from minicnn import Input, Model, ops

    x = Input((8, 8, 1))
    maps = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    joined = ops.concatenate([ops.mean(maps, axis=[1, 2]), ops.max(maps, axis=(1, 2))], -1)
    mixed = ops.matmul(joined, np.linspace(-1.0, 1.0, 32, dtype=np.float32).reshape(8, 4))
    return Model(x, L.Dense(3, activation="softmax")(ops.relu(mixed)), device=device)


def test_ops_in_a_models_graph_are_captured_too(gpu):
    plain = fit_twice(ops_in_a_graph, "adam", jit_compile=False)
    captured = fit_twice(ops_in_a_graph, "adam", jit_compile=True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None


def any_size_cnn(device="cpu"):
    """Built for images of any size (None), trained on 8x8 ones."""
    return Sequential(
        [
            L.Input((None, None, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.GlobalAveragePooling2D(),
            L.Dense(3, activation="softmax"),
        ],
        device=device,
    )


def test_a_model_of_unknown_sizes_is_captured_for_its_batches_shape(gpu):
    plain = fit_twice(any_size_cnn, "adam", jit_compile=False)
    captured = fit_twice(any_size_cnn, "adam", jit_compile=True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None
