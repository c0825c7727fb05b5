"""Adaptive pooling (Keras' ops and layers, PyTorch's bins): against a naive loop over bins
of 1, 2 and 3 spatial axes, inputs smaller and larger than the output, channels first or
last; float64 gradient checks; PyTorch itself as a second oracle where it is installed; the
layers in a model that trains, saves and loads on every device."""

import math

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import assert_learns_and_reloads, toy_data

from minicnn import Input, Sequential, backend, ops
from minicnn import layers as L
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def naive_adaptive(x, sizes, reduce):
    """Channels-last x: each output place reduces its box, bin i of n over an axis of s
    being [floor(i s / n), ceil((i + 1) s / n))."""
    spatial = x.shape[1:-1]
    out = np.zeros((x.shape[0], *sizes, x.shape[-1]))
    for place in np.ndindex(*sizes):
        box = tuple(
            slice(i * s // n, math.ceil((i + 1) * s / n))
            for i, s, n in zip(place, spatial, sizes, strict=True)
        )
        window = x[(slice(None), *box)].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *place)] = reduce(window, axis=1)
    return out


CASES = [
    ((2, 11, 3), 4),
    ((2, 5, 3), (8,)),  # more bins than places: bins share them
    ((1, 9, 7, 2), (4, 3)),
    ((2, 8, 8, 1), 1),  # a global pool
    ((1, 6, 5, 4, 2), (3, 2, 4)),
]


@pytest.mark.parametrize("shape, sizes", CASES)
@pytest.mark.parametrize("mode", ["average", "max"])
def test_adaptive_pools_follow_a_naive_loop(shape, sizes, mode, device):
    x = RNG.standard_normal(shape)
    rank = len(shape) - 2
    full = (sizes,) * rank if isinstance(sizes, int) else sizes
    pool = ops.adaptive_average_pool if mode == "average" else ops.adaptive_max_pool
    got = host(pool(Tensor(backend.to_device(x, device)), sizes))
    reduce = np.mean if mode == "average" else np.max
    np.testing.assert_allclose(got, naive_adaptive(x, full, reduce), atol=1e-12)
    if x.size <= 200:
        check_gradients(lambda t: pool(t, sizes), x, device=device)


def test_channels_first_and_bad_arguments():
    x = RNG.standard_normal((2, 3, 7, 6))
    first = host(ops.adaptive_max_pool(x, (3, 2), data_format="channels_first"))
    last = host(ops.adaptive_max_pool(np.moveaxis(x, 1, -1), (3, 2)))
    np.testing.assert_array_equal(first, np.moveaxis(last, -1, 1))
    with pytest.raises(ValueError, match="output_size must be a positive int or a pair"):
        ops.adaptive_average_pool(x, (2, 0))
    with pytest.raises(ValueError, match="1, 2 or 3 spatial axes"):
        ops.adaptive_average_pool(np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="output_size must be a positive int or a 1-tuple"):
        L.AdaptiveMaxPooling1D((2, 2))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_adaptive_pools_equal_pytorchs(rank):
    torch = pytest.importorskip("torch")
    shape, sizes = {1: ((2, 3, 13), 5), 2: ((2, 3, 9, 10), (4, 7)), 3: ((1, 2, 5, 7, 6), 3)}[rank]
    x = RNG.standard_normal(shape).astype(np.float32)
    for mode, ours in (("avg", ops.adaptive_average_pool), ("max", ops.adaptive_max_pool)):
        theirs = getattr(torch.nn.functional, f"adaptive_{mode}_pool{rank}d")
        expected = theirs(torch.tensor(x), sizes).numpy()
        got = host(ours(x, sizes, data_format="channels_first"))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_max_gradient_goes_to_each_bins_winner_once():
    # Bins [0, 2) and [1, 3) share place 1, the max of both: it gets both gradients.
    x = Tensor(np.array([[[0.0], [5.0], [1.0]]]), requires_grad=True)
    ops.sum(ops.adaptive_max_pool(x, 2) * np.array([[[2.0], [3.0]]])).backward()
    np.testing.assert_array_equal(x.grad[0, :, 0], [0.0, 5.0, 0.0])


def test_adaptive_pooling_layers_train_save_and_load(tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, activation="relu"),
            L.AdaptiveMaxPooling2D((4, 3)),
            L.AdaptiveAveragePooling2D(2, data_format="channels_first"),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    ).to(device)
    assert model.layers[1].sample_output_shape == (4, 3, 4)
    assert model.layers[2].sample_output_shape == (4, 2, 2)  # pools (3, 4) of (4, 4, 3)
    assert_learns_and_reloads(model, x, y, tmp_path, device, epochs=25)


def test_1d_and_3d_layers_shapes():
    seq = L.AdaptiveAveragePooling1D(4)(np.ones((2, 9, 3), np.float32))
    vol = L.AdaptiveMaxPooling3D((2, 1, 3))(np.ones((1, 4, 5, 6, 2), np.float32))
    assert seq.shape == (2, 4, 3) and vol.shape == (1, 2, 1, 3, 2)
    np.testing.assert_array_equal(host(vol), 1.0)
