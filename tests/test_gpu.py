"""The GPU backend: its kernels against the CPU kernels, CPU/GPU parity of operations and whole
models, and no host synchronisation inside a training step.

Every test takes the ``gpu`` fixture: it runs on a real GPU through CuPy where there is one,
and everywhere else on the emulated backend (the same CUDA source compiled by g++, behind a
strict fake CuPy), so CI exercises the GPU code too.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from idx_files import write_fashion_dir
from minicnn.kernels import cpu, cuda
from test_functions import host
from test_models import compiled, small_cnn, toy_data
from test_robustness import build as build_layer
from test_robustness import shapes, valid_stacks

from minicnn import Input, Sequential, backend, load_model, optimizers
from minicnn import functions as F
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.experiments import cli, runner, zoo
from minicnn.experiments.results import ResultsStore

pytestmark = pytest.mark.gpu

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def on_gpu(a):
    return backend.to_device(np.ascontiguousarray(a), "gpu")


# --- kernels against the CPU kernels -------------------------------------------------------

WINDOWS = [
    # (h, w, c, kh, kw, sh, sw, padding)
    (7, 6, 3, 3, 3, 1, 1, "same"),
    (8, 8, 2, 2, 2, 2, 2, "valid"),
    (9, 7, 1, 4, 3, 2, 1, "same"),
    (6, 6, 4, 5, 5, 1, 1, "same"),
    (7, 7, 2, 3, 3, 2, 2, "same"),
    (5, 9, 2, 1, 1, 1, 3, "valid"),
]


def geometry(h, w, kh, kw, sh, sw, padding):
    oh, pt, _ = F.window_geometry(h, kh, sh, padding)
    ow, pl, _ = F.window_geometry(w, kw, sw, padding)
    return oh, ow, pt, pl


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("h,w,c,kh,kw,sh,sw,padding", WINDOWS)
def test_im2col_and_col2im_match_the_cpu_kernels(gpu, dtype, h, w, c, kh, kw, sh, sw, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, h, w, c)).astype(dtype)
    oh, ow, pt, pl = geometry(h, w, kh, kw, sh, sw, padding)
    shape = (3, oh, ow, kh, kw, c)
    expected = cpu.im2col(x, kh, kw, sh, sw, pt, pl, oh, ow, np.empty(shape, dtype))
    got = cuda.im2col(on_gpu(x), kh, kw, sh, sw, pt, pl, oh, ow, gpu.empty(shape, dtype))
    np.testing.assert_array_equal(host(got), expected)

    dcols = rng.standard_normal(shape).astype(dtype)
    expected = cpu.col2im(dcols, sh, sw, pt, pl, np.empty(x.shape, dtype))
    got = cuda.col2im(on_gpu(dcols), sh, sw, pt, pl, gpu.empty(x.shape, dtype))
    np.testing.assert_allclose(host(got), expected, **TOL[dtype])


POOLS = [
    # (h, w, c, ph, pw, sh, sw, padding)
    (8, 8, 3, 2, 2, 2, 2, "valid"),
    (7, 7, 2, 2, 2, 2, 2, "same"),
    (9, 8, 2, 3, 3, 2, 2, "same"),  # overlapping windows
    (6, 7, 1, 3, 2, 1, 1, "valid"),
    (5, 5, 2, 2, 2, 3, 3, "same"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("h,w,c,ph,pw,sh,sw,padding", POOLS)
def test_max_pool_matches_the_cpu_kernels(gpu, dtype, h, w, c, ph, pw, sh, sw, padding):
    rng = np.random.default_rng(1)
    # Few distinct values, so that windows have ties; and one NaN, which must win its windows.
    x = rng.integers(0, 4, (2, h, w, c)).astype(dtype)
    x[1, 2, 3 % w, 0] = np.nan
    oh, ow, pt, pl = geometry(h, w, ph, pw, sh, sw, padding)
    shape = (2, oh, ow, c)
    out, arg = np.empty(shape, dtype), np.empty(shape, np.int32)
    cpu.max_pool_forward(x, ph, pw, sh, sw, pt, pl, out, arg)
    g_out, g_arg = gpu.empty(shape, dtype), gpu.empty(shape, np.int32)
    cuda.max_pool_forward(on_gpu(x), ph, pw, sh, sw, pt, pl, g_out, g_arg)
    np.testing.assert_array_equal(host(g_out), out)
    np.testing.assert_array_equal(host(g_arg), arg)

    dout = rng.standard_normal(shape).astype(dtype)
    expected = cpu.max_pool_backward(dout, arg, ph, pw, sh, sw, pt, pl, np.empty(x.shape, dtype))
    got = gpu.empty(x.shape, dtype)
    cuda.max_pool_backward(on_gpu(dout), g_arg, ph, pw, sh, sw, pt, pl, got)
    np.testing.assert_allclose(host(got), expected, **TOL[dtype])


def test_batches_too_large_for_one_launch_are_split(gpu, monkeypatch):
    """Kernels index with int; a batch whose arrays would overflow it goes in slices."""
    monkeypatch.setattr(cuda, "MAX_ELEMENTS", 1000)  # a few samples per launch
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 6, 5, 2)).astype(np.float32)
    kern = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    bias = np.zeros(4, np.float32)

    def forward_and_backward(device):
        xt = Tensor(backend.to_device(x, device), requires_grad=True)
        weights = [backend.to_device(a, device) for a in (kern, bias)]
        out = F.max_pool2d(F.conv2d(xt, *weights, padding="same"))
        out.sum().backward()
        return host(out.data), host(xt.grad)

    for got, expected in zip(forward_and_backward("gpu"), forward_and_backward("cpu"), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="too many for one launch"):
        cuda.bias_relu(gpu.zeros((100, 20), np.float32), gpu.zeros(20, np.float32))


def test_kernels_refuse_what_they_would_read_wrong(gpu):
    out = gpu.zeros((4, 3), np.float64)
    with pytest.raises(TypeError, match="one float type, got float32, float64"):
        cuda.bias_relu(out, gpu.zeros(3, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        cuda.bias_relu(gpu.zeros((3, 4), np.float64).T, gpu.zeros(3, np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_and_relu_backward_match_the_cpu_kernels(gpu, dtype):
    rng = np.random.default_rng(2)
    out = rng.standard_normal((37, 5)).astype(dtype)
    out[3, 1] = np.nan
    bias = rng.standard_normal(5).astype(dtype)
    got = cuda.bias_relu(on_gpu(out), on_gpu(bias))
    np.testing.assert_array_equal(host(got), cpu.bias_relu(out.copy(), bias))
    grad = rng.standard_normal(out.shape).astype(dtype)
    y = host(got)
    expected = cpu.relu_backward(grad, y, np.empty_like(grad))
    got = cuda.relu_backward(on_gpu(grad), on_gpu(y), gpu.empty(grad.shape, dtype))
    np.testing.assert_array_equal(host(got), expected)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.9])
def test_dropout_masks_are_the_same_bits_on_cpu_and_gpu(gpu, rate):
    threshold = math.ceil(rate * 2**F.DROPOUT_BITS)
    shape = (64, 33)
    expected = cpu.dropout_mask(987654321, threshold, 1 / (1 - rate), np.empty(shape, np.float32))
    got = cuda.dropout_mask(987654321, threshold, 1 / (1 - rate), gpu.empty(shape, np.float32))
    np.testing.assert_array_equal(host(got), expected)
    assert abs((expected == 0).mean() - rate) < 0.03
    assert set(np.unique(expected)) <= {0.0, np.float32(1 / (1 - rate))}


OPTIMIZERS = {
    "adam": lambda: optimizers.Adam(0.01),
    "sgd": lambda: optimizers.SGD(0.1),
    "momentum": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adamw_global_clipnorm": lambda: optimizers.AdamW(0.01, 0.1, global_clipnorm=1.0),
    "sgd_clipnorm": lambda: optimizers.SGD(0.1, clipnorm=0.5, weight_decay=0.01),
    "sgd_clipvalue": lambda: optimizers.SGD(0.1, clipvalue=0.2),
    "nadam": lambda: optimizers.Nadam(0.01),
    "adamax": lambda: optimizers.Adamax(0.01),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "lion": lambda: optimizers.Lion(0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_optimizer_steps_on_the_gpu_match_the_cpu(gpu, dtype, optimizer):
    """Adam runs as one fused kernel per weight; SGD as CuPy elementwise operations."""
    rng = np.random.default_rng(3)
    value = rng.standard_normal((4, 6)).astype(dtype)
    grads = [rng.standard_normal(value.shape).astype(dtype) for _ in range(3)]
    cpu_param = Tensor(value.copy(), requires_grad=True)
    gpu_param = Tensor(on_gpu(value), requires_grad=True)
    cpu_opt, gpu_opt = OPTIMIZERS[optimizer](), OPTIMIZERS[optimizer]()
    for g in grads:
        cpu_param.grad, gpu_param.grad = g, on_gpu(g)
        cpu_opt.update_weights([cpu_param])
        gpu_opt.update_weights([gpu_param])
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(host(gpu_param.data), cpu_param.data, **tol)
    for a, b in zip(gpu_opt.state_arrays(), cpu_opt.state_arrays(), strict=True):
        np.testing.assert_allclose(host(a), b, **tol)


# --- operations: CPU against GPU ----------------------------------------------------------
# (The oracle and float64 gradient checks of every operation run on each backend in
# test_functions.py and test_layers.py, through the ``device`` fixture.)


def test_softmax_cross_entropy_on_the_gpu_matches_the_cpu(gpu):
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal((9, 10)) * 30).astype(np.float32)  # large: must not overflow
    labels = rng.integers(0, 10, 9)
    cpu_logits, gpu_logits = Tensor(logits, True), Tensor(on_gpu(logits), True)
    cpu_loss = F.softmax_cross_entropy(cpu_logits, labels)
    gpu_loss = F.softmax_cross_entropy(gpu_logits, on_gpu(labels))
    cpu_loss.backward()
    gpu_loss.backward()
    np.testing.assert_allclose(float(gpu_loss.data), float(cpu_loss.data), rtol=1e-5)
    np.testing.assert_allclose(host(gpu_logits.grad), cpu_logits.grad, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"Labels must be integers in 0\.\.9"):
        F.softmax_cross_entropy(gpu_logits, on_gpu(labels + 1))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(stack=valid_stacks, shape=shapes, batch=st.integers(1, 3))
def test_random_stacks_agree_on_cpu_and_gpu(gpu, stack, shape, batch):
    """Random valid layer stacks (any window, stride and padding): the same outputs and input
    gradients on both devices."""

    def stacked(device):
        head, tail = stack
        layers = [build_layer(s) for s in head] + [L.Flatten()] + [build_layer(s) for s in tail]
        return Sequential([Input(shape), *layers], device=device)

    try:
        cpu_model = stacked("cpu")
    except ValueError:
        assume(False)  # a window that does not fit: refused alike on every device
    gpu_model = stacked("gpu")
    gpu_model.set_weights(cpu_model.get_weights())
    x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
    results = []
    for model in (cpu_model, gpu_model):
        backend.set_random_seed(1)  # the same dropout masks
        xt = Tensor(backend.to_device(x, model.device), requires_grad=True)
        out = model(xt, training=True)
        (out * out).sum().backward()
        results.append((host(out.data), host(xt.grad)))
    for got, expected in zip(results[1], results[0], strict=True):
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


# --- models ------------------------------------------------------------------------------


def paired_models(build=small_cnn):
    """The same model with the same weights on the CPU and on the GPU."""
    backend.set_random_seed(0)
    cpu_model = build()
    gpu_model = build().to("gpu")
    gpu_model.set_weights(cpu_model.get_weights())
    return cpu_model, gpu_model


def test_a_model_moves_to_the_gpu_and_back(gpu):
    cpu_model, gpu_model = paired_models()
    assert gpu_model.device == "gpu"
    assert all(backend.device_of(w.data) == "gpu" for w in gpu_model.weights)
    assert all(isinstance(w, np.ndarray) for w in gpu_model.get_weights())
    x, _ = toy_data(10)
    out = gpu_model.predict(x, verbose=0)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, cpu_model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)
    called = gpu_model(x[:3].astype(np.float32))  # Keras-style call on a host array
    assert backend.device_of(called.data) == "gpu"
    np.testing.assert_allclose(host(called.data), out[:3], rtol=1e-6)
    gpu_model.to("cpu")
    assert all(backend.device_of(w.data) == "cpu" for w in gpu_model.weights)


def study_batch(n=8):
    rng = np.random.default_rng(8)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("model_id", [spec.id for spec in zoo.STUDY])
def test_every_study_model_gives_the_same_outputs_on_the_gpu(gpu, model_id):
    """All the study's geometry (even windows, valid and same padding, deep stacks)."""
    cpu_model, gpu_model = paired_models(lambda: zoo.build_model(model_id))
    x, _ = study_batch()
    np.testing.assert_allclose(
        gpu_model.predict(x, verbose=0), cpu_model.predict(x, verbose=0), rtol=1e-4, atol=1e-6
    )


def test_a_model_moved_mid_training_takes_its_optimizer_state_along(gpu):
    """Train an epoch on the CPU, move to the GPU, train another: as if it had stayed."""
    x, y = toy_data(64)
    weights = []
    for move in (False, True):
        backend.clear_session()
        backend.set_random_seed(2)
        model = compiled(small_cnn())
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        if move:
            model.to("gpu")
            assert all(backend.device_of(v) == "gpu" for v in model.optimizer.state_arrays())
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "build", [small_cnn, lambda: zoo.build_model("base")], ids=["small", "base"]
)
def test_cpu_and_gpu_agree_on_outputs_and_gradients(gpu, build):
    """Same seed, same weights: forward outputs and every gradient within 1e-4 relative."""
    cpu_model, gpu_model = paired_models(build)
    for model in (cpu_model, gpu_model):
        model.compile("adam", metrics=["accuracy"])
    x, y = toy_data(32) if build is small_cnn else study_batch(32)
    grads = []
    for model in (cpu_model, gpu_model):
        backend.set_random_seed(7)  # the same dropout masks on both
        xd, yd = model._prepare(x, y)
        loss, outputs = model._loss_and_outputs(xd, yd, training=True)
        loss.backward()
        grads.append([host(w.grad) for w in model.weights])
        grads.append(host(outputs))
    cpu_grads, cpu_out, gpu_grads, gpu_out = grads
    np.testing.assert_allclose(gpu_out, cpu_out, rtol=1e-4, atol=1e-6)
    for got, expected in zip(gpu_grads, cpu_grads, strict=True):
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale)


def test_one_epoch_on_cpu_and_gpu_ends_with_the_same_loss(gpu):
    x, y = toy_data(192)
    losses = []
    for device in ("cpu", "gpu"):
        backend.clear_session()
        backend.set_random_seed(3)
        model = small_cnn().to(device)
        model.compile(optimizers.Adam(0.01), metrics=["accuracy"])
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        losses.append(history.history["loss"][0])
    assert abs(losses[0] - losses[1]) < 1e-3, losses


def epoch_traffic(make_model, samples):
    """The emulated GPU's host-device transfers while a fresh model trains two epochs on
    ``samples`` samples already on the device."""
    import fake_cupy

    model = make_model()
    x, y = toy_data(samples)
    x_dev, y_dev = backend.to_device(x, "gpu"), backend.to_device(y, "gpu")
    fake_cupy.traffic.clear()
    model.fit(x_dev, y_dev, batch_size=16, epochs=2, verbose=0)
    return dict(fake_cupy.traffic)


def test_a_training_step_never_waits_for_the_gpu(gpu):
    """Reading a device value back is what makes the host wait. With the progress line off,
    an epoch reads its totals once at its end: the count does not grow with the steps."""
    if not hasattr(gpu, "ndarray") or gpu.__class__.__name__ != "FakeCupy":
        pytest.skip("counting transfers needs the emulated backend")

    def compiled_small_cnn():
        model = small_cnn().to("gpu")
        model.compile("adam", metrics=["accuracy"])
        return model

    counts = [epoch_traffic(compiled_small_cnn, samples) for samples in (64, 192)]
    assert counts[0] == counts[1], counts
    # Per epoch: the shuffled order goes up once, and loss and hits come back once.
    assert counts[0]["h2d"] <= 2 * 1 + 2, counts  # + x and y
    assert counts[0]["d2h"] <= 2 * 2 + 2, counts  # + x and y checked on the host


def test_a_training_step_of_base_costs_the_host_few_cupy_calls(gpu):
    """On a GPU a step of a study model is bound by the host: each CuPy call (a kernel launch, a
    cuBLAS GEMM, an array operation) costs some microseconds before the GPU does anything, and
    PyTorch eager's whole step of base takes about 3.7 ms on an H200. So the number of calls a
    step makes is the GPU speed this CPU machine can watch: base made 155 (49 launches of our
    kernels, 23 GEMMs; 210 before ``backend.contiguous`` replaced no-op ``ascontiguousarray``
    calls) when this test was written; a change that adds calls to every step must say why
    here."""
    if gpu.__class__.__name__ != "FakeCupy":
        pytest.skip("counting CuPy calls needs the emulated backend")
    import fake_cupy

    backend.set_random_seed(0)
    model = zoo.build_model("base", device="gpu")
    model.compile("adam", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = model._prepare(rng.random((32, 28, 28, 1), np.float32), rng.integers(0, 10, 32))
    model._train_step(x, y)  # the first step builds the optimizer's slots
    fake_cupy.calls.clear()
    model._train_step(x, y)
    calls = dict(fake_cupy.calls)
    assert calls["launch"] <= 49, calls
    assert sum(calls.values()) <= 160, calls


def test_evaluate_save_and_load_on_the_gpu(gpu, tmp_path):
    cpu_model, gpu_model = paired_models()
    for model in (cpu_model, gpu_model):
        model.compile("adam", metrics=["accuracy"])
    x, y = toy_data(40)
    gpu_model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loss, accuracy = gpu_model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and isinstance(accuracy, float)
    path = tmp_path / "m.npz"
    gpu_model.save(path)
    on_gpu_again = load_model(path, device="gpu")
    on_cpu = load_model(path, device="cpu")
    assert on_gpu_again.device == "gpu" and on_cpu.device == "cpu"
    expected = gpu_model.predict(x, verbose=0)
    np.testing.assert_allclose(on_gpu_again.predict(x, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(on_cpu.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)


def test_checkpoints_resume_on_the_gpu(gpu, tmp_path):
    x, y = toy_data(64)

    def train(epochs, checkpoint):
        backend.clear_session()
        backend.set_random_seed(5)
        model = small_cnn().to("gpu")
        model.compile("adam", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, checkpoint=checkpoint)
        return model

    path = tmp_path / "ckpt.npz"
    train(1, path)
    resumed = train(3, path)
    straight = train(3, None)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_device_choice(gpu, monkeypatch):
    assert backend.resolve_device("auto") == "gpu"
    monkeypatch.setenv("MINICNN_DEVICE", "gpu")
    assert Sequential([L.Dense(3)]).device == "gpu"
    monkeypatch.setenv("MINICNN_DEVICE", "cpu")
    assert Sequential([L.Dense(3)]).device == "cpu"
    assert Sequential([L.Dense(3)], device="gpu").device == "gpu"


def test_asking_for_a_gpu_without_one_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(
        RuntimeError, match=r"CuPy is not installed \(pip install 'minicnn\[gpu\]'\)"
    ):
        Sequential(device="gpu")
    assert backend.resolve_device("auto") == "cpu"

    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    installed_without_gpu = types.SimpleNamespace(
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    )
    monkeypatch.setattr(backend, "_cupy", installed_without_gpu)
    with pytest.raises(RuntimeError, match=r"CuPy sees no GPU \(cudaErrorInsufficientDriver"):
        backend.resolve_device("gpu")
    assert backend.resolve_device("auto") == "cpu"


def test_experiments_train_on_the_gpu_and_record_it(gpu, tmp_path, capsys):
    write_fashion_dir(tmp_path, 256, 100)
    argv = ["width", "--variants", "w1", "--seeds", "1", "--epochs", "1"]
    argv += ["--data-dir", str(tmp_path), "--out", str(tmp_path / "runs")]
    assert cli.main([*argv, "--device", "gpu"]) == 0
    assert cli.main([*argv, "--device", "cpu"]) == 0
    records = ResultsStore(tmp_path / "runs" / "width" / "results.jsonl").load().values()
    by_device = {r["device"]: r for r in records}
    assert set(by_device) == {"cpu", "gpu"}  # a GPU run is its own run, not the CPU's
    assert abs(by_device["gpu"]["test_accuracy"] - by_device["cpu"]["test_accuracy"]) < 0.05
    assert "trained 1 runs" in capsys.readouterr().out


def test_baseline_on_the_gpu_reports_its_memory(gpu, tmp_path, capsys):
    write_fashion_dir(tmp_path, 128, 64)
    argv = ["baseline", "--model", "w1", "--epochs", "1", "--device", "gpu"]
    assert cli.main([*argv, "--data-dir", str(tmp_path), "--out", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"peak memory \d+ MB RSS, \d+ MB held on the GPU", printed)
    record = ResultsStore(tmp_path / "runs" / "baseline" / "results.jsonl").load().popitem()[1]
    assert record["device"] == "gpu" and record["gpu_pool_mb"] >= 0


def test_running_out_of_gpu_memory_is_a_clear_error(gpu, tmp_path, capsys, monkeypatch):
    write_fashion_dir(tmp_path, 64, 32)

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Out of memory allocating 1,048,576 bytes")

    monkeypatch.setattr(runner, "train_run", out_of_memory)
    argv = ["width", "--variants", "w1", "--seeds", "1", "--device", "gpu"]
    assert cli.main([*argv, "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "error: out of memory on the GPU (Out of memory allocating 1,048,576 bytes)" in err
    assert "smaller --batch-size or fewer --jobs" in err


def test_experiments_refuse_a_missing_gpu(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(backend, "_cupy", None)
    assert cli.main(["width", "--device", "gpu", "--out", str(tmp_path)]) == 2
    assert "--device gpu: device='gpu' was asked for, but CuPy is not installed" in (
        capsys.readouterr().err
    )


# --- the CUDA source itself -------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_cuda_source_compiles_for_hopper(tmp_path, dtype):
    source = tmp_path / "kernels.cu"
    source.write_text(cuda.source(dtype))
    result = subprocess.run(
        ["nvcc", *cuda.COMPILE_OPTIONS, "-arch=sm_90", "-cubin", "-o", str(tmp_path / "k.cubin")]
        + [str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def _nvrtc_library():
    """libnvrtc from the nvidia-cuda-nvrtc wheel (the test extra) or the system, else None."""
    import ctypes.util
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("nvidia")
    for folder in spec.submodule_search_locations if spec else []:
        found = sorted(Path(folder).glob("*/lib/libnvrtc.so*"))
        if found:
            return str(found[0])
    return ctypes.util.find_library("nvrtc")


@pytest.mark.skipif(_nvrtc_library() is None, reason="needs NVRTC (pip install nvidia-cuda-nvrtc)")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_cuda_source_compiles_with_nvrtc_as_cupy_compiles_it(dtype):
    """NVRTC is CuPy's compiler; unlike nvcc it includes no CUDA header by itself. It needs no
    GPU to compile."""
    import ctypes

    nvrtc = ctypes.CDLL(_nvrtc_library())
    program = ctypes.c_void_p()
    source = cuda.source(dtype).encode()
    assert nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, b"k.cu", 0, None, None) == 0
    options = [o.encode() for o in (*cuda.COMPILE_OPTIONS, "-arch=compute_90")]
    result = nvrtc.nvrtcCompileProgram(
        program, len(options), (ctypes.c_char_p * len(options))(*options)
    )
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    assert result == 0, log.value.decode()


def test_the_keras_extras_add_no_wait_to_a_training_step(gpu):
    """Batch normalization, augmentation, a functional merge, weight penalties, clipping,
    a schedule and several metrics all stay on the device: as for the plain model, the
    transfers of an epoch do not grow with its steps."""
    if gpu.__class__.__name__ != "FakeCupy":
        pytest.skip("counting transfers needs the emulated backend")
    from minicnn import Model, metrics, regularizers
    from minicnn.optimizers import schedules

    def build():
        inputs = Input((8, 8, 1))
        x = L.RandomFlip("horizontal")(inputs)
        x = L.RandomTranslation(0.1, 0.1)(x)
        x = L.Conv2D(4, 3, padding="same", kernel_regularizer="l2")(x)
        y = L.BatchNormalization()(x)
        x = L.Activation("relu")(L.Add()([x, y]))
        x = L.Concatenate()([L.GlobalAveragePooling2D()(x), L.Flatten()(x)])
        outputs = L.Dense(3, activation="softmax", bias_regularizer=regularizers.L1(0.01))(x)
        return Model(inputs, outputs, device="gpu")

    def compiled_extras():
        model = build()
        rate = schedules.CosineDecay(0.01, decay_steps=50)
        model.compile(
            optimizers.AdamW(rate, global_clipnorm=1.0),
            metrics=["accuracy", metrics.SparseTopKCategoricalAccuracy(k=2)],
        )
        return model

    counts = [epoch_traffic(compiled_extras, samples) for samples in (64, 192)]
    assert counts[0] == counts[1], counts
