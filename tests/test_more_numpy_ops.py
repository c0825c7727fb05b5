"""The rest of Keras' ops: NaN reductions, cumprod, trapezoid, correlate, corrcoef and the
other NumPy functions against NumPy itself, with float64 gradient checks on every device;
the integer, bitwise, set and window functions' values; scan, associative_scan, map and
switch; einops' rearrange; sparse_sigmoid."""

import math

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend, ops
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def on(x, device):
    return Tensor(backend.to_device(x, device))


def test_nan_reductions_ptp_and_small_functions_follow_numpy(device):
    x = RNG.standard_normal((3, 4))
    x[0, 1] = x[2, 3] = np.nan
    t = on(x, device)
    for name in ("nansum", "nanmean", "nanmax", "nanmin", "nanprod"):
        for axis in (None, 1):
            np.testing.assert_allclose(
                host(getattr(ops, name)(t, axis=axis)), getattr(np, name)(x, axis=axis)
            )
    clean = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(host(ops.ptp(on(clean, device), axis=0)), np.ptp(clean, axis=0))
    y = RNG.standard_normal((3, 4))
    pairs = {
        "hypot": np.hypot(clean, y),
        "logaddexp2": np.logaddexp2(clean, y),
        "heaviside": np.heaviside(np.round(clean), y),
    }
    np.testing.assert_allclose(host(ops.hypot(on(clean, device), on(y, device))), pairs["hypot"])
    np.testing.assert_allclose(
        host(ops.logaddexp2(on(clean, device), on(y, device))), pairs["logaddexp2"]
    )
    np.testing.assert_allclose(
        host(ops.heaviside(on(np.round(clean), device), on(y, device))), pairs["heaviside"]
    )
    np.testing.assert_allclose(host(ops.deg2rad(on(clean, device))), np.deg2rad(clean))
    np.testing.assert_allclose(
        host(ops.ldexp(on(clean, device), on(np.arange(4), device))), np.ldexp(clean, np.arange(4))
    )
    check_gradients(lambda a: ops.nanmean(a, axis=1), np.where(np.isnan(x), 1.0, x), device=device)
    check_gradients(lambda a, b: ops.hypot(a, b) + ops.logaddexp2(a, b), clean, y, device=device)
    check_gradients(lambda a: ops.ptp(a, axis=1), clean, device=device)


def test_cumprod_trapezoid_correlate_corrcoef_vander(device):
    x = RNG.standard_normal((3, 5))
    x[1, 2] = 0.0  # the recurrence needs no division
    np.testing.assert_allclose(host(ops.cumprod(on(x, device), axis=1)), np.cumprod(x, axis=1))
    np.testing.assert_allclose(host(ops.cumprod(on(x, device))), np.cumprod(x))
    check_gradients(lambda a: ops.cumprod(a, axis=1), x, device=device)
    check_gradients(lambda a: ops.cumprod(a, axis=0), x, device=device)
    points = np.sort(RNG.random(5))
    np.testing.assert_allclose(host(ops.trapezoid(on(x, device))), np.trapezoid(x))
    np.testing.assert_allclose(
        host(ops.trapezoid(on(x, device), on(points, device))), np.trapezoid(x, points)
    )
    check_gradients(lambda a: ops.trapezoid(a, dx=0.5, axis=0), x, device=device)
    for m, n in [(7, 3), (3, 7), (4, 6), (5, 5)]:
        a, v = RNG.standard_normal(m), RNG.standard_normal(n)
        for mode in ("valid", "same", "full"):
            got = host(ops.correlate(on(a, device), on(v, device), mode))
            np.testing.assert_allclose(got, np.correlate(a, v, mode), err_msg=f"{m} {n} {mode}")
    check_gradients(
        lambda a, b: ops.correlate(a, b, "same"),
        RNG.standard_normal(6),
        RNG.standard_normal(3),
        device=device,
    )
    np.testing.assert_allclose(host(ops.corrcoef(on(x, device))), np.corrcoef(x))
    check_gradients(ops.corrcoef, x, device=device)
    np.testing.assert_allclose(host(ops.vander(on(x[0], device), 4)), np.vander(x[0], 4))
    np.testing.assert_allclose(
        host(ops.vander(on(x[0], device), increasing=True)), np.vander(x[0], increasing=True)
    )


def test_splits_stacks_and_complex_helpers(device):
    x = on(np.arange(14.0).reshape(7, 2), device)
    pieces = ops.array_split(x, 3)
    assert [p.shape[0] for p in pieces] == [3, 2, 2]
    np.testing.assert_array_equal(
        host(pieces[1]), np.array_split(np.arange(14.0).reshape(7, 2), 3)[1]
    )
    assert [p.shape[0] for p in ops.array_split(x, [2, 5])] == [2, 3, 2]
    assert [p.shape[0] for p in ops.vsplit(on(np.ones((4, 2)), device), 2)] == [2, 2]
    stacked = ops.dstack([on(np.ones((2, 3)), device), on(np.zeros((2, 3)), device)])
    assert stacked.shape == (2, 3, 2)
    np.testing.assert_array_equal(host(ops.get_item(x, (slice(1, 3), 0))), [2.0, 4.0])
    r = RNG.standard_normal(5)
    np.testing.assert_array_equal(host(ops.angle(on(r, device))), np.angle(r))
    np.testing.assert_array_equal(host(ops.real(on(r, device))), r)
    np.testing.assert_array_equal(host(ops.imag(on(r, device))), 0.0)
    assert host(ops.isreal(on(r, device))).all()


def test_integer_bitwise_set_and_window_functions(device):
    a, b = np.array([12, 7, 5, 0]), np.array([8, 3, 10, 4])
    ta, tb = on(a, device), on(b, device)
    for name, expected in {
        "bitwise_and": a & b,
        "bitwise_or": a | b,
        "bitwise_xor": a ^ b,
        "left_shift": a << 1,
        "right_shift": a >> 1,
        "gcd": np.gcd(a, b),
        "lcm": np.lcm(a, b),
    }.items():
        other = on(np.ones_like(a), device) if "shift" in name else tb
        np.testing.assert_array_equal(host(getattr(ops, name)(ta, other)), expected, err_msg=name)
    np.testing.assert_array_equal(host(ops.bitwise_invert(ta)), ~a)
    np.testing.assert_array_equal(host(ops.isin(ta, tb)), np.isin(a, b))
    inf = on(np.array([-np.inf, 0.0, np.inf]), device)
    np.testing.assert_array_equal(host(ops.isneginf(inf)), [True, False, False])
    np.testing.assert_array_equal(host(ops.isposinf(inf)), [False, False, True])
    for name in ("bartlett", "blackman", "hamming", "hanning"):
        np.testing.assert_allclose(host(getattr(ops, name)(7)), getattr(np, name)(7), atol=1e-12)
    np.testing.assert_allclose(host(ops.kaiser(7, 2.5)), np.kaiser(7, 2.5), atol=1e-12)
    counts, edges = ops.histogram(on(RNG.random(50), device), bins=5)
    assert int(host(counts).sum()) == 50 and host(edges).shape == (6,)
    parts = host(ops.argpartition(on(np.array([5, 1, 4, 2, 3]), device), 2))
    assert parts[2] == 4 and set(parts[:2]) == {1, 3}
    rows, cols = ops.unravel_index(on(np.array([5, 7]), device), (3, 4))
    np.testing.assert_array_equal(host(rows), [1, 1])
    np.testing.assert_array_equal(host(cols), [1, 3])
    np.testing.assert_array_equal(
        host(ops.view(on(np.array([1.0], np.float32), device), "int32")), [1065353216]
    )
    np.testing.assert_array_equal(
        host(ops.nextafter(on(np.array([1.0]), device), on(np.array([2.0]), device))),
        np.nextafter(1.0, 2.0),
    )


def test_vectorize_follows_numpys_and_keeps_gradients(device):
    x = RNG.standard_normal((3, 4))
    square_then_sin = ops.vectorize(lambda v: ops.sin(v * v))
    np.testing.assert_allclose(host(square_then_sin(on(x, device))), np.sin(x * x))
    rows_dot = ops.vectorize(lambda u, v: ops.sum(u * v), signature="(n),(n)->()")
    y = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(host(rows_dot(on(x, device), on(y, device))), (x * y).sum(1))
    check_gradients(lambda a, b: rows_dot(a, b), x, y, device=device)


def test_scan_associative_scan_map_and_switch(device):
    xs = RNG.standard_normal((5, 3))
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), on(np.zeros(3), device), on(xs, device))
    running = np.cumsum(xs, axis=0)
    np.testing.assert_allclose(host(carry), running[-1])
    np.testing.assert_allclose(host(ys), np.vstack([np.zeros(3), running[:-1]]) * xs)
    back, _ = ops.scan(lambda c, x: (c * 2 + x, None), 0.0, on(xs[:, 0], device), reverse=True)
    expected = 0.0
    for v in xs[::-1, 0]:
        expected = expected * 2 + v
    assert float(host(back)) == pytest.approx(expected)
    _, counted = ops.scan(lambda c, _: (c + 1, c), on(np.array(0.0), device), length=4)
    np.testing.assert_array_equal(host(counted), [0, 1, 2, 3])
    check_gradients(
        lambda a: ops.scan(lambda c, x: (c * x, c), on(np.ones(3), device), a)[1], xs, device=device
    )
    sums = ops.associative_scan(lambda a, b: a + b, on(xs, device), axis=1)
    np.testing.assert_allclose(host(sums), np.cumsum(xs, axis=1))
    tails = ops.associative_scan(lambda a, b: a + b, on(xs, device), reverse=True)
    np.testing.assert_allclose(host(tails), np.cumsum(xs[::-1], axis=0)[::-1])
    nested = ops.map(lambda d: {"twice": d["v"] * 2}, {"v": on(xs, device)})
    np.testing.assert_allclose(host(nested["twice"]), xs * 2)
    branches = [lambda v: v + 1, lambda v: v * 10]
    assert ops.switch(1, branches, 2.0) == 20.0 and ops.switch(-3, branches, 2.0) == 3.0


def test_rearrange_follows_reshapes_and_transposes(device):
    x = RNG.standard_normal((2, 6, 4))
    t = on(x, device)
    np.testing.assert_array_equal(
        host(ops.rearrange(t, "b (h w) c -> b h w c", h=2)), x.reshape(2, 2, 3, 4)
    )
    np.testing.assert_array_equal(
        host(ops.rearrange(t, "b n c -> c (b n)")), x.transpose(2, 0, 1).reshape(4, 12)
    )
    np.testing.assert_array_equal(
        host(ops.rearrange(t, "b (h w) c -> b (w h) c", w=3)),
        x.reshape(2, 2, 3, 4).transpose(0, 2, 1, 3).reshape(2, 6, 4),
    )
    check_gradients(lambda a: ops.rearrange(a, "b (h w) c -> (b c) w h", h=3), x, device=device)
    with pytest.raises(ValueError, match="all but one"):
        ops.rearrange(t, "b (h w) c -> b h w c")
    with pytest.raises(ValueError, match="each name once"):
        ops.rearrange(t, "b n c -> b n")


def test_sparse_sigmoid(device):
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.3, 1.0, 4.0])
    np.testing.assert_allclose(
        host(ops.sparse_sigmoid(on(x, device))), [0, 0, 0.25, 0.5, 0.65, 1, 1]
    )
    check_gradients(ops.sparse_sigmoid, np.array([-1.7, -0.4, 0.2, 0.9, 2.5]), device=device)
    assert math.isclose(float(host(ops.sparse_sigmoid(0.0))), 0.5)
