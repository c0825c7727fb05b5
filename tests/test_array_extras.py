"""The ops Keras 3.15 added (NaN statistics, fmod, cdist, unique, pinv, fold, sobel_edges,
ssim ...) against NumPy and naive loops, with float64 gradient checks on every device.
Keras 3.15 (JAX) gave the same values on each (to 5e-7 in float32)."""

import warnings

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend, ops
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def on(x, device):
    return Tensor(backend.to_device(np.asarray(x), device))


def with_nans():
    x = RNG.standard_normal((4, 5))
    x[0, 1] = x[1, 3] = x[1, 4] = np.nan
    x[3, :] = np.nan
    return x


def numpys(f, *args, **kwargs):
    """NumPy's answer, without its warnings about slices of NaN only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(*args, **kwargs)


def test_nan_statistics_follow_numpy(device):
    x = with_nans()
    t = on(x, device)
    warnings.simplefilter("error")  # minicnn's NaN of a NaN-only slice comes with no warning
    for name in ("nanvar", "nanstd", "nanmedian", "nanmean"):
        for axis in (None, 0, 1):
            np.testing.assert_allclose(
                host(getattr(ops, name)(t, axis=axis)), numpys(getattr(np, name), x, axis=axis)
            )
    for method in ("linear", "lower", "higher", "nearest", "midpoint"):
        np.testing.assert_allclose(
            host(ops.nanquantile(t, [0.2, 0.5, 0.9], axis=1, method=method, keepdims=True)),
            numpys(np.nanquantile, x, [0.2, 0.5, 0.9], axis=1, method=method, keepdims=True),
        )
    np.testing.assert_allclose(host(ops.nanpercentile(t, 30)), np.nanpercentile(x, 30))
    np.testing.assert_allclose(host(ops.nancumsum(t, axis=1)), np.nancumsum(x, axis=1))
    np.testing.assert_allclose(host(ops.nancumprod(t)), np.nancumprod(x))
    # A slice of NaN only: -1, as Keras gives (NumPy raises).
    np.testing.assert_array_equal(host(ops.nanargmax(t, axis=1)), [*np.nanargmax(x[:3], 1), -1])
    np.testing.assert_array_equal(host(ops.nanargmin(t, axis=1)), [*np.nanargmin(x[:3], 1), -1])
    kept = x[:3]  # gradients, away from the NaN-only row
    check_gradients(lambda a: ops.nanvar(a, axis=1) + ops.nanstd(a, axis=1), kept, device=device)
    check_gradients(lambda a: ops.nanquantile(a, [0.3, 0.8], axis=1), kept, device=device)
    check_gradients(lambda a: ops.nancumsum(a, axis=1) * ops.nancumprod(a, axis=1), kept)


def test_elementwise_extras_follow_numpy(device):
    x, y = RNG.standard_normal((3, 4)) * 5, RNG.standard_normal((3, 4)) + 2.5
    x[0, 0] = np.nan
    t, u = on(x, device), on(y, device)
    np.testing.assert_allclose(host(ops.fmod(t, u)), np.fmod(x, y))
    np.testing.assert_array_equal(
        host(ops.fmod(np.array([-7, 7, 5]), np.array([3, -3, 2]))), [-1, 1, 1]
    )
    np.testing.assert_allclose(host(ops.fmax(t, u)), np.fmax(x, y))
    np.testing.assert_allclose(host(ops.fmin(u, t)), np.fmin(y, x))
    np.testing.assert_allclose(host(ops.fabs(np.array([-3, 2]))), [3.0, 2.0])
    np.testing.assert_allclose(host(ops.rad2deg(u)), np.rad2deg(y))
    np.testing.assert_allclose(host(ops.sinc(u)), np.sinc(y))
    assert float(host(ops.sinc(0.0))) == 1.0
    np.testing.assert_allclose(host(ops.i0(u)), np.i0(y), rtol=1e-6)
    np.testing.assert_allclose(host(ops.geomspace(1, 1000, 4)), [1, 10, 100, 1000], rtol=1e-6)
    assert bool(host(ops.allclose(u, u + 1e-9))) and not bool(host(ops.allclose(u, u + 1e-3)))
    np.testing.assert_array_equal(host(ops.fliplr(u)), np.fliplr(y))
    np.testing.assert_array_equal(host(ops.flipud(u)), np.flipud(y))
    np.testing.assert_array_equal(host(ops.hsplit(u, [1, 3])[1]), np.hsplit(y, [1, 3])[1])
    cube = RNG.standard_normal((2, 2, 6))
    np.testing.assert_array_equal(host(ops.dsplit(on(cube, device), 3)[2]), np.dsplit(cube, 3)[2])
    clean = np.nan_to_num(x, nan=1.3)
    check_gradients(lambda a, b: ops.fmod(a, b) + ops.fmax(a, b) * ops.fmin(a, b), clean, y)
    check_gradients(lambda a: ops.sinc(a), np.array([-1.3, 0.0, 0.4, 2.2]), device=device)
    with pytest.raises(ValueError, match="fliplr: an input of two axes"):
        ops.fliplr(np.ones(3))


def test_cdist_segments_and_unique(device):
    a, b = RNG.standard_normal((2, 4, 3)), RNG.standard_normal((2, 5, 3))
    loops = np.array(
        [
            [[np.linalg.norm(a[k, i] - b[k, j]) for j in range(5)] for i in range(4)]
            for k in range(2)
        ]
    )
    np.testing.assert_allclose(host(ops.cdist(on(a, device), on(b, device))), loops)
    check_gradients(ops.cdist, a, b, device=device)
    data, ids = RNG.standard_normal((5, 2)), np.array([0, 2, 0, 2, 2])
    np.testing.assert_allclose(
        host(ops.segment_min(on(data, device), ids, num_segments=3))[[0, 2]],
        [data[[0, 2]].min(0), data[[1, 3, 4]].min(0)],
    )
    np.testing.assert_allclose(
        host(ops.segment_prod(on(data, device), ids, num_segments=3)),
        [data[[0, 2]].prod(0), [1.0, 1.0], data[[1, 3, 4]].prod(0)],
    )
    full = np.array([0, 1, 0, 1, 1])  # (an empty segment's min is the largest float)
    check_gradients(lambda d: ops.segment_prod(d, full) + ops.segment_min(d, full), data)
    values = np.array([3, 1, 3, 2, 1, 5])
    got = ops.unique(on(values, device), return_index=True, return_inverse=True, return_counts=True)
    for mine, numpys in zip(got, np.unique(values, True, True, True), strict=True):
        np.testing.assert_array_equal(host(mine), numpys)
    np.testing.assert_array_equal(
        host(ops.unique(values, size=6, fill_value=-1)), [1, 2, 3, 5, -1, -1]
    )
    np.testing.assert_array_equal(host(ops.unique(values, size=2)), [1, 2])
    rows = np.array([[1, 2], [1, 2], [0, 1]])
    np.testing.assert_array_equal(host(ops.unique(rows, axis=0)), [[0, 1], [1, 2]])


def test_pinv_and_matrix_rank(device):
    a = RNG.standard_normal((2, 4, 3))
    np.testing.assert_allclose(host(ops.pinv(on(a, device))), np.linalg.pinv(a), atol=1e-12)
    np.testing.assert_allclose(host(ops.linalg.pinv(on(a[0].T, device))), np.linalg.pinv(a[0].T))
    check_gradients(ops.pinv, a, device=device)
    check_gradients(ops.pinv, a[0].T.copy(), device=device)  # a wide one
    low = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert int(host(ops.matrix_rank(on(low, device)))) == 1
    np.testing.assert_array_equal(host(ops.matrix_rank(a)), [3, 3])
    assert int(host(ops.matrix_rank(np.diag([1.0, 1e-3]), tol=1e-2))) == 1
    np.testing.assert_allclose(host(ops.pinv(low, rcond=1e-10)), np.linalg.pinv(low, rcond=1e-10))


def test_fold_is_the_adjoint_of_unfold(device):
    """fold(unfold(x)) multiplies each pixel by the windows that cover it (PyTorch's
    identity), and <unfold(x), c> == <x, fold(c)>."""
    x = RNG.standard_normal((2, 3, 6, 5))
    args = dict(kernel_size=(3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    columns = host(ops.unfold(on(x, device), **args))
    c = RNG.standard_normal(columns.shape)
    folded = host(ops.fold(on(c, device), (6, 5), **args))
    assert folded.shape == x.shape
    np.testing.assert_allclose((columns * c).sum(), (x * folded).sum())
    covered = host(ops.fold(ops.unfold(np.ones((1, 1, 4, 4)), 2), (4, 4), 2))[0, 0]
    np.testing.assert_array_equal(covered, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    check_gradients(lambda v: ops.fold(v, (6, 5), **args), c, device=device)
    with pytest.raises(ValueError, match="fold: 7 blocks"):
        ops.fold(np.ones((1, 4, 7)), (3, 3), 2)


def test_sobel_edges_and_ssim(device):
    images = RNG.random((2, 7, 6, 2))
    edges = host(ops.image.sobel_edges(on(images, device)))
    assert edges.shape == (2, 7, 6, 2, 2)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
    dy = (padded[:, 2:, :-2] + 2 * padded[:, 2:, 1:-1] + padded[:, 2:, 2:]) - (
        padded[:, :-2, :-2] + 2 * padded[:, :-2, 1:-1] + padded[:, :-2, 2:]
    )
    dx = (padded[:, :-2, 2:] + 2 * padded[:, 1:-1, 2:] + padded[:, 2:, 2:]) - (
        padded[:, :-2, :-2] + 2 * padded[:, 1:-1, :-2] + padded[:, 2:, :-2]
    )
    np.testing.assert_allclose(edges, np.stack([dy, dx], -1), atol=1e-12)
    check_gradients(ops.image.sobel_edges, images[:1, :4, :4], device=device)
    other = np.clip(images + 0.1 * RNG.standard_normal(images.shape), 0, 1)
    same = host(ops.image.ssim(on(images, device), on(images, device), filter_size=3))
    np.testing.assert_allclose(same, [1.0, 1.0], rtol=1e-6)
    score = host(ops.image.ssim(on(images, device), on(other, device), filter_size=3))
    np.testing.assert_allclose(score, [_ssim_loops(images[i], other[i], 3) for i in range(2)])
    assert np.all(score < 1)
    check_gradients(
        lambda a, b: ops.image.ssim(a, b, filter_size=3), images[0], other[0], device=device
    )


def _ssim_loops(a, b, size, sigma=1.5, c1=0.01**2, c2=0.03**2):
    """SSIM by loops over valid windows and channels, the oracle."""
    offsets = np.arange(size) - (size - 1) / 2
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    h, wd, channels = a.shape
    scores = []
    for ch in range(channels):
        for i in range(h - size + 1):
            for j in range(wd - size + 1):
                pa, pb = a[i : i + size, j : j + size, ch], b[i : i + size, j : j + size, ch]
                ma, mb = (w * pa).sum(), (w * pb).sum()
                va, vb = (w * pa * pa).sum() - ma**2, (w * pb * pb).sum() - mb**2
                cov = (w * pa * pb).sum() - ma * mb
                scores.append(
                    (2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
                )
    return np.mean(scores)


def test_the_new_ops_build_functional_models_and_keras_files(tmp_path):
    """On symbolic tensors they make a model's graph, written to Keras' file as Keras 3.15's
    operations (Keras loaded this model from minicnn's file and predicted the same, to
    2.4e-7); ``ops.nn`` and ``ops.numpy`` hold them under Keras' module names."""
    from minicnn import Input, Model, load_model

    x, y = Input((4, 3), name="x"), Input((5, 3), name="y")
    outputs = [
        ops.cdist(x, y),
        ops.fmod(x, 0.7),
        ops.nanstd(x, axis=1),
        ops.nanquantile(x, 0.25, axis=-1),
        ops.fliplr(x),
        ops.sinc(x),
    ]
    model = Model([x, y], outputs)
    data = [
        RNG.standard_normal((2, 4, 3)).astype("float32"),
        RNG.random((2, 5, 3)).astype("float32"),
    ]
    model.export(tmp_path / "ops.keras")
    again = load_model(tmp_path / "ops.keras")
    for a, b in zip(again.predict(data, verbose=0), model.predict(data, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)
    assert ops.nn.fold is ops.fold and ops.numpy.nanvar is ops.nanvar
    assert not hasattr(ops.nn, "add") and not hasattr(ops.numpy, "relu")
