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


@pytest.mark.parametrize("model_id", ["base", "w4", "mlp"])
def test_gpu_training_steps_queued(benchmark, batch, model_id):
    """STEPS_QUEUED steps queued back to back, as fit runs them, then one wait: divide the time
    by STEPS_QUEUED for the throughput of a step."""
    model = compiled_study_model(model_id, device="gpu")
    x, y = model._prepare(*batch)

    def steps() -> None:
        for _ in range(STEPS_QUEUED):
            model._train_step(x, y)

    benchmark.pedantic(waiting(steps), warmup_rounds=2, rounds=10)


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
