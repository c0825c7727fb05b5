"""pytest-benchmark suites on the GPU (batch 128), skipped without CuPy and a GPU:
``pytest benchmarks/test_bench_gpu.py``.

GPU work is asynchronous, so every timed round ends by waiting for the GPU; the first rounds
(kernel compilation, cuBLAS start-up) are warm-up and left out.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import BATCH, compiled_study_model
from test_bench_ops import CONVS

from minicnn import backend
from minicnn import functions as F
from minicnn.autograd import Tensor

pytestmark = pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a GPU")

STEPS_QUEUED = 20


def waiting(run: Callable[..., Any]) -> Callable[..., None]:
    """``run``, then wait until the GPU has finished what it queued."""

    def timed(*args: Any) -> None:
        run(*args)
        backend.synchronize("gpu")

    return timed


@pytest.mark.parametrize("model_id", ["base", "w4", "mlp"])
def test_gpu_training_step(benchmark, batch, model_id):
    """One step, waited for: the latency of a step."""
    model = compiled_study_model(model_id, device="gpu")
    x, y = model._prepare(*batch)
    benchmark.pedantic(waiting(model._train_step), (x, y), warmup_rounds=5, rounds=50)


@pytest.mark.parametrize("captured", [False, True], ids=["eager", "cuda-graph"])
@pytest.mark.parametrize("model_id", ["base", "w4", "mlp"])
def test_gpu_training_steps_queued(benchmark, batch, model_id, captured):
    """STEPS_QUEUED steps queued back to back, as fit runs them, then one wait: divide the time
    by STEPS_QUEUED for the throughput of a step; "cuda-graph" is fit's step after
    ``compile(jit_compile=True)``, captured once and replayed."""
    model = compiled_study_model(model_id, device="gpu", jit_compile=captured)
    x, y = model._prepare(*batch)
    train_step = model._fit_step()

    def steps() -> None:
        for _ in range(STEPS_QUEUED):
            train_step(x, y)

    benchmark.pedantic(waiting(steps), warmup_rounds=2, rounds=10)


def study_gemms() -> list[tuple[str, tuple[int, int], tuple[int, int], bool, bool]]:
    """The products of a training step of base at batch 128, as (name, a's shape, b's shape,
    a transposed, b transposed): forward, weight gradient, input gradient."""
    conv1, conv2, dense = (BATCH * 26 * 26, 9, 32), (BATCH * 11 * 11, 288, 64), (BATCH, 1600, 128)
    cases = []
    for name, (m, k, n) in (("conv1", conv1), ("conv2", conv2), ("dense", dense)):
        cases += [
            (f"{name}-forward", (m, k), (k, n), False, False),
            (f"{name}-weight-grad", (m, k), (m, n), True, False),
            (f"{name}-input-grad", (m, n), (k, n), False, True),
        ]
    return cases


@pytest.mark.parametrize("gemm", ["cublas", "minicnn"])
@pytest.mark.parametrize("case", study_gemms(), ids=lambda case: case[0])
def test_gpu_gemm(benchmark, case, gemm):
    """cuBLAS (through CuPy) against minicnn's GEMM kernel, which captured steps use."""
    from minicnn.kernels import cuda

    _, a_shape, b_shape, ta, tb = case
    xp = backend.xp_for("gpu")
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.random(a_shape, dtype=np.float32))
    b = xp.asarray(rng.random(b_shape, dtype=np.float32))
    a, b = (a.T if ta else a), (b.T if tb else b)
    multiply = cuda.gemm if gemm == "minicnn" else xp.matmul
    benchmark.pedantic(waiting(multiply), (a, b), warmup_rounds=3, rounds=30)


@pytest.mark.parametrize("in_shape,kernel_shape,padding", CONVS)
def test_gpu_conv2d_forward_backward(benchmark, in_shape, kernel_shape, padding):
    rng = np.random.default_rng(0)

    def on_gpu(shape: tuple[int, ...]) -> Tensor:
        data = rng.random(shape, dtype=np.float32)
        return Tensor(backend.to_device(data, "gpu"), requires_grad=True)

    x, w = on_gpu((BATCH, *in_shape)), on_gpu(kernel_shape)
    b = on_gpu(kernel_shape[-1:])

    def step() -> None:
        out = F.conv2d(x, w, b, 1, padding, relu=True)
        out.backward(backend.xp_for("gpu").ones(out.shape, np.float32))

    benchmark.pedantic(waiting(step), warmup_rounds=3, rounds=20)
