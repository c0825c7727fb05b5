"""pytest-benchmark suites at the study's shapes (batch 128): ``pytest benchmarks/``.

Each benchmark warms up first, so Numba's compile time stays out of the numbers.
"""

import numpy as np
import pytest
from conftest import BATCH, compiled_study_model

from minicnn import functions as F
from minicnn.autograd import Tensor
from minicnn.experiments import zoo


def conv_cases(model_id):
    """(name, input shape, kernel shape, padding) of every conv of a study model."""
    model = zoo.build_model(model_id)
    cases = []
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            cases.append(
                pytest.param(
                    layer.sample_input_shape,
                    (*layer.kernel_size, layer.sample_input_shape[2], layer.filters),
                    layer.padding,
                    id=f"{model_id}-{layer.name}",
                )
            )
    return cases


CONVS = conv_cases("base") + conv_cases("w4")


@pytest.mark.parametrize("in_shape,kernel_shape,padding", CONVS)
def test_conv2d_forward(benchmark, in_shape, kernel_shape, padding):
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, *in_shape), dtype=np.float32)
    w = rng.random(kernel_shape, dtype=np.float32)
    b = np.zeros(kernel_shape[-1], np.float32)
    benchmark.pedantic(F.conv2d, (x, w, b, 1, padding), warmup_rounds=1, rounds=10)


@pytest.mark.parametrize("in_shape,kernel_shape,padding", CONVS)
def test_conv2d_forward_backward(benchmark, in_shape, kernel_shape, padding):
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((BATCH, *in_shape), dtype=np.float32), requires_grad=True)
    w = Tensor(rng.random(kernel_shape, dtype=np.float32), requires_grad=True)
    b = Tensor(np.zeros(kernel_shape[-1], np.float32), requires_grad=True)

    def step():
        out = F.conv2d(x, w, b, 1, padding)
        out.backward(np.ones(out.shape, np.float32))

    benchmark.pedantic(step, warmup_rounds=1, rounds=10)


@pytest.mark.parametrize("shape", [(28, 28, 32), (14, 14, 64), (3, 3, 64)])
def test_max_pool_forward_backward(benchmark, shape):
    x = Tensor(np.random.default_rng(0).random((BATCH, *shape), dtype=np.float32), True)

    def step():
        out = F.max_pool2d(x, 2)
        out.backward(np.ones(out.shape, np.float32))

    benchmark.pedantic(step, warmup_rounds=1, rounds=20)


def test_dense_forward_backward(benchmark):
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((BATCH, 784), dtype=np.float32), True)
    w = Tensor(rng.random((784, 128), dtype=np.float32), True)
    b = Tensor(np.zeros(128, np.float32), True)

    def step():
        out = F.relu(F.linear(x, w, b))
        out.backward(np.ones(out.shape, np.float32))

    benchmark.pedantic(step, warmup_rounds=1, rounds=50)


def test_softmax_cross_entropy(benchmark):
    rng = np.random.default_rng(0)
    logits = Tensor(rng.standard_normal((BATCH, 10)).astype(np.float32), True)
    labels = rng.integers(0, 10, BATCH)

    def step():
        F.softmax_cross_entropy(logits, labels).backward()

    benchmark.pedantic(step, warmup_rounds=1, rounds=100)


def test_adam_step_base(benchmark, batch):
    model = compiled_study_model("base")
    model.train_on_batch(*batch)  # builds the optimizer state and sets every .grad
    params = model.weights
    benchmark.pedantic(model.optimizer.update_weights, (params,), warmup_rounds=1, rounds=50)


@pytest.mark.parametrize("model_id", ["base", "w4", "mlp"])
def test_train_on_batch(benchmark, batch, model_id):
    model = compiled_study_model(model_id)
    benchmark.pedantic(model.train_on_batch, batch, warmup_rounds=2, rounds=10)
