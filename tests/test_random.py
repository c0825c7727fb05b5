"""``minicnn.random``, Keras' keras.random: each distribution against SciPy's (Kolmogorov-
Smirnov, or counts), drawn on the current device; int seeds repeat, a SeedGenerator moves
on and repeats from its seed, the CPU and the emulated GPU draw the same numbers; dropout
and shuffle keep gradients."""

import numpy as np
import pytest
import scipy.stats
from test_functions import host

import minicnn
from minicnn import backend, ops
from minicnn import random as R
from minicnn.autograd import Tensor


def ks(values, distribution):
    return scipy.stats.kstest(np.ravel(values), distribution.cdf).pvalue


def drawn(device, make):
    with minicnn.device(device):
        out = make()
    assert backend.device_of(out.data) == device
    return host(out)


def test_continuous_distributions_follow_scipy(device):
    assert (
        ks(drawn(device, lambda: R.uniform((4000,), -1, 3, seed=1)), scipy.stats.uniform(-1, 4))
        > 1e-3
    )
    assert (
        ks(drawn(device, lambda: R.normal((4000,), 2, 0.5, seed=2)), scipy.stats.norm(2, 0.5))
        > 1e-3
    )
    truncated = drawn(device, lambda: R.truncated_normal((4000,), 0, 1, seed=3))
    assert ks(truncated, scipy.stats.truncnorm(-2, 2)) > 1e-3
    for alpha in (0.5, 2.0):
        values = drawn(device, lambda a=alpha: R.gamma((4000,), a, seed=4))
        assert ks(values, scipy.stats.gamma(alpha)) > 1e-3
    values = drawn(device, lambda: R.beta((4000,), 2.0, 5.0, seed=5))
    assert ks(values, scipy.stats.beta(2, 5)) > 1e-3
    assert drawn(device, lambda: R.normal((2, 3), dtype="float64", seed=1)).dtype == np.float64


def test_discrete_distributions(device):
    ints = drawn(device, lambda: R.randint((6000,), 3, 7, seed=1))
    assert ints.dtype == np.int32 and set(np.unique(ints)) == {3, 4, 5, 6}
    np.testing.assert_allclose(np.bincount(ints)[3:] / 6000, 0.25, atol=0.03)
    counts = drawn(device, lambda: R.binomial((5000,), 10, 0.3, seed=2))
    observed = np.bincount(counts.astype(int), minlength=11) / 5000
    np.testing.assert_allclose(observed, scipy.stats.binom(10, 0.3).pmf(range(11)), atol=0.03)
    logits = np.log(np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]]))
    with minicnn.device(device):
        samples = host(R.categorical(backend.to_device(logits, device), 3000, seed=3))
    assert samples.shape == (2, 3000)
    np.testing.assert_allclose(
        np.bincount(samples[0], minlength=3) / 3000, [0.2, 0.5, 0.3], atol=0.03
    )
    np.testing.assert_allclose(
        np.bincount(samples[1], minlength=3) / 3000, [0.9, 0.05, 0.05], atol=0.03
    )


def test_seeds_repeat_generators_move_on_and_devices_agree(device):
    fixed = drawn(device, lambda: R.normal((5,), seed=11))
    np.testing.assert_array_equal(drawn(device, lambda: R.normal((5,), seed=11)), fixed)
    np.testing.assert_allclose(drawn("cpu", lambda: R.normal((5,), seed=11)), fixed, rtol=1e-6)
    generator = R.SeedGenerator(7)
    first = drawn(device, lambda: R.uniform((5,), seed=generator))
    second = drawn(device, lambda: R.uniform((5,), seed=generator))
    assert not np.array_equal(first, second)
    again = R.SeedGenerator(7)
    np.testing.assert_array_equal(drawn(device, lambda: R.uniform((5,), seed=again)), first)
    backend.set_random_seed(3)
    global_one = drawn(device, lambda: R.uniform((5,)))
    backend.set_random_seed(3)
    np.testing.assert_array_equal(drawn(device, lambda: R.uniform((5,))), global_one)
    with pytest.raises(TypeError, match="seed must be an int, a SeedGenerator or None"):
        R.uniform((2,), seed="seven")


def test_dropout_and_shuffle_keep_gradients(device):
    x = Tensor(backend.to_device(np.ones((2000,)), device), requires_grad=True)
    out = R.dropout(x, 0.25, seed=1)
    values = host(out)
    assert set(np.unique(values)) == {0.0, 1 / 0.75}
    assert (values == 0).mean() == pytest.approx(0.25, abs=0.03)
    ops.sum(out).backward()
    np.testing.assert_array_equal(host(x.grad), values)
    grid = Tensor(backend.to_device(np.arange(12.0).reshape(4, 3), device), requires_grad=True)
    rows = R.dropout(grid, 0.5, noise_shape=(4, 1), seed=2)
    kept = host(rows)
    assert all(row.all() or not row.any() for row in kept)  # whole rows dropped
    shuffled = R.shuffle(grid, axis=0, seed=3)
    assert sorted(map(tuple, host(shuffled))) == sorted(map(tuple, host(grid)))
    ops.sum(shuffled * Tensor(backend.to_device(np.arange(12.0).reshape(4, 3), device))).backward()
    assert host(grid.grad).shape == (4, 3)
    with pytest.raises(ValueError, match="rate must be in"):
        R.dropout(grid, 1.0)
