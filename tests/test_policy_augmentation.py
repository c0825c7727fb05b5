"""RandAugment and AugMix: each image's own choice of operations (checked with operations
whose effect is known), the AugMix mix (Dirichlet weights, Beta share), the Gamma draws
behind them against SciPy, values kept in range, inference untouched, seeds, configs, and
models that train, save and load with them on every device."""

import numpy as np
import pytest
import scipy.stats
from test_functions import host
from test_models import assert_learns_and_reloads, toy_data

from minicnn import Input, Sequential, backend
from minicnn import layers as L
from minicnn.augmentation import _RandomLayer
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def marked(count):
    """Operations that add 1, 10, 100, ...: the sum says which ran, and how often."""
    return [lambda x, k=k: x + float(10**k) for k in range(count)]


def test_rand_augment_draws_each_images_operations_uniformly(device):
    layer = L.RandAugment(num_ops=2, seed=3)
    layer.operations = marked(3)
    x = Tensor(backend.to_device(np.zeros((3000, 1, 1, 1), np.float32), device))
    added = host(layer(x))[:, 0, 0, 0].astype(int)
    counts = np.stack([(added // 10**k) % 10 for k in range(3)], axis=1)
    assert (counts.sum(axis=1) == 2).all()  # two operations for every image
    share = counts.sum(axis=0) / counts.sum()
    np.testing.assert_allclose(share, 1 / 3, atol=0.03)
    assert (counts.max(axis=1) == 2).mean() == pytest.approx(1 / 3, abs=0.04)  # repeats allowed


def test_rand_augment_keeps_values_in_range_and_acts_in_training_only(device):
    x = (RNG.random((6, 12, 12, 3)) * 255).astype(np.float32)
    layer = L.RandAugment(num_ops=3, factor=0.8, seed=1)
    out = host(layer(backend.to_device(x, device)))
    assert out.min() >= 0 and out.max() <= 255 and not np.allclose(out, x)
    again = host(L.RandAugment(num_ops=3, factor=0.8, seed=1)(backend.to_device(x, device)))
    np.testing.assert_allclose(again, out)  # the seed fixes every draw
    np.testing.assert_array_equal(host(layer(backend.to_device(x, device), training=False)), x)
    gray = host(
        L.RandAugment(seed=2, value_range=(0, 1))(backend.to_device(x[..., :1] / 255, device))
    )
    assert gray.shape == (6, 12, 12, 1) and 0 <= gray.min() and gray.max() <= 1
    rebuilt = L.RandAugment.from_config(L.RandAugment(num_ops=4, factor=0.2).get_config())
    assert (rebuilt.num_ops, rebuilt.factor, rebuilt.value_range) == (4, 0.2, (0.0, 255.0))
    with pytest.raises(ValueError, match="num_ops must be an int >= 0"):
        L.RandAugment(num_ops=-1)


def test_gamma_draws_follow_scipys_gamma():
    layer = _RandomLayer(seed=5)
    for alpha in (0.4, 1.0, 3.0):
        draws = layer._gamma(np, 20000, alpha)
        assert scipy.stats.kstest(draws, scipy.stats.gamma(alpha).cdf).pvalue > 1e-3


def test_augmix_mixes_chains_with_dirichlet_weights_and_a_beta_share(device):
    x = Tensor(backend.to_device(np.zeros((4000, 1, 1, 1), np.float32), device))
    layer = L.AugMix(num_chains=3, chain_depth=1, alpha=1.0, seed=4)
    layer.operations = [lambda t: t + 100.0]  # every chain adds 100
    out = host(layer(x))[:, 0, 0, 0]
    # m x + (1 - m) * sum_c w_c (x + 100) = 100 (1 - m), m ~ Beta(1, 1): uniform on [0, 100]
    assert scipy.stats.kstest(out / 100, "uniform").pvalue > 1e-3
    layer = L.AugMix(num_chains=2, chain_depth=1, alpha=1.0, seed=6)
    layer.operations = [lambda t: t + 100.0, lambda t: t]
    out = host(layer(x))[:, 0, 0, 0]
    assert out.min() >= 0 and out.max() <= 100
    identity = L.AugMix(seed=7)
    identity.operations = [lambda t: t]
    real = (RNG.random((5, 6, 6, 3)) * 255).astype(np.float32)
    np.testing.assert_allclose(host(identity(backend.to_device(real, device))), real, rtol=1e-5)


def test_augmix_chains_run_one_to_chain_depth_operations(device):
    layer = L.AugMix(num_chains=1, chain_depth=3, alpha=1.0, seed=8)
    layer._symmetric_beta = lambda xp, n, alpha, largest: xp.zeros(n)  # all of the mix
    layer.operations = [lambda t: t + 1.0]
    x = Tensor(backend.to_device(np.zeros((3000, 1, 1, 1), np.float32), device))
    steps = host(layer(x))[:, 0, 0, 0]
    np.testing.assert_array_equal(np.unique(steps), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.bincount(steps.astype(int))[1:] / 3000, 1 / 3, atol=0.04)


def test_augmix_keeps_values_in_range_and_its_config():
    x = (RNG.random((4, 10, 10, 3)) * 255).astype(np.float32)
    for all_ops in (True, False):
        out = L.AugMix(all_ops=all_ops, seed=9)(x).data
        assert out.min() >= 0 and out.max() <= 255 and not np.allclose(out, x)
    config = L.AugMix(
        num_chains=2, chain_depth=4, factor=0.6, alpha=0.5, all_ops=False
    ).get_config()
    rebuilt = L.AugMix.from_config(config)
    assert (rebuilt.num_chains, rebuilt.chain_depth, rebuilt.alpha, rebuilt.all_ops) == (
        2,
        4,
        0.5,
        False,
    )
    with pytest.raises(ValueError, match="alpha must be a number > 0"):
        L.AugMix(alpha=0)


@pytest.mark.parametrize("policy", [L.RandAugment, L.AugMix])
def test_a_model_with_a_policy_trains_saves_and_loads(policy, tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            policy(value_range=(0, 1), factor=0.2, seed=0),
            L.Flatten(),
            L.Dense(16, activation="relu"),
            L.Dense(3, activation="softmax"),
        ]
    ).to(device)
    assert_learns_and_reloads(model, x, y, tmp_path, device, epochs=15)


def test_the_warps_run_as_one_and_give_each_layers_own_result(device):
    x = np.random.default_rng(5).random((8, 10, 10, 1)).astype(np.float32)

    def make():
        policy = L.RandAugment(num_ops=1, seed=5)
        policy.operations = [
            L.RandomShear(0.3, 0.3, fill_mode="constant", seed=11),
            L.RandomTranslation(0.2, 0.2, fill_mode="constant", seed=12),
            L.RandomRotation(0.1, fill_mode="constant", seed=13),
            lambda t: t * 0.5,
        ]
        return policy

    got = host(make()(backend.to_device(x, device)))
    reference = make()
    xp = backend.get_array_module(backend.to_device(x, device))
    choice = np.minimum(np.floor(host(reference._uniform(xp, 8, 0.0, 1.0)) * 4), 3).astype(int)
    on = Tensor(backend.to_device(x, device))
    singles = [
        host(op.augment(on) if hasattr(op, "augment") else op(on)) for op in reference.operations
    ]
    expected = np.stack([singles[k][i] for i, k in enumerate(choice)])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert len(set(choice)) > 1
