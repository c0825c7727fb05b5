"""``minicnn.ops.linalg``, Keras' ops.linalg: every op against NumPy and SciPy, on stacks of
matrices, with float64 finite-difference gradient checks on every device (symmetric inputs
made symmetric inside the checked function, since only their symmetric part has a slope)."""

import numpy as np
import pytest
import scipy.linalg
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend, ops
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)
linalg = ops.linalg


def on(x, device):
    return Tensor(backend.to_device(x, device))


def spd(*batch, n=4):
    m = RNG.standard_normal((*batch, n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def symmetric(t):
    return (t + ops.swapaxes(t, -1, -2)) * 0.5


def test_solve_inv_det_follow_numpy(device):
    a = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal((2, 3, 2))
    np.testing.assert_allclose(
        host(linalg.solve(on(a, device), on(b, device))), np.linalg.solve(a, b)
    )
    v = RNG.standard_normal(3)
    np.testing.assert_allclose(
        host(ops.solve(on(a, device), on(v, device))), np.linalg.solve(a, v[:, None])[..., 0]
    )
    np.testing.assert_allclose(host(linalg.inv(on(a, device))), np.linalg.inv(a))
    np.testing.assert_allclose(host(linalg.det(on(a, device))), np.linalg.det(a))
    sign, logabs = linalg.slogdet(on(-a, device))
    np.testing.assert_allclose(host(sign), np.linalg.slogdet(-a)[0])
    np.testing.assert_allclose(host(logabs), np.linalg.slogdet(-a)[1])
    check_gradients(lambda x, y: linalg.solve(x, y), a, b, device=device)
    check_gradients(lambda x, y: linalg.solve(x, y), a, v, device=device)  # b broadcasts
    check_gradients(linalg.inv, a, device=device)
    check_gradients(linalg.det, a, device=device)
    check_gradients(lambda x: linalg.slogdet(x)[1], -a, device=device)
    check_gradients(lambda x: linalg.logdet(symmetric(x)), spd(2), device=device)
    with pytest.raises(ValueError, match=r"square matrices \(\.\.\., n, n\)"):
        linalg.inv(np.ones((2, 3)))


def test_triangular_solves_and_cholesky(device):
    a = spd(2)
    low = host(linalg.cholesky(on(a, device)))
    np.testing.assert_allclose(low, np.linalg.cholesky(a))
    up = host(linalg.cholesky(on(a, device), upper=True))
    np.testing.assert_allclose(up, np.swapaxes(np.linalg.cholesky(a), -1, -2))
    np.testing.assert_allclose(host(linalg.cholesky_inverse(on(low, device))), np.linalg.inv(a))
    np.testing.assert_allclose(
        host(linalg.cholesky_inverse(on(up, device), upper=True)), np.linalg.inv(a)
    )
    b = RNG.standard_normal((2, 4, 3))
    got = host(linalg.solve_triangular(on(a, device), on(b, device), lower=True))
    expected = [scipy.linalg.solve_triangular(a[i], b[i], lower=True) for i in range(2)]
    np.testing.assert_allclose(got, expected)
    check_gradients(lambda x: linalg.cholesky(symmetric(x)), a, device=device)
    check_gradients(lambda x: linalg.cholesky_inverse(x), low, device=device)
    check_gradients(lambda x, y: linalg.solve_triangular(x, y), a, b, device=device)


def test_eigh_follows_numpy_and_its_gradient(device):
    a = spd(2)
    w, v = linalg.eigh(on(a, device))
    ew, ev = np.linalg.eigh(a)
    np.testing.assert_allclose(host(w), ew)
    np.testing.assert_allclose(np.abs(host(v)), np.abs(ev), atol=1e-12)  # columns up to sign
    check_gradients(lambda x: linalg.eigh(symmetric(x))[0], a, device=device)
    # The vectors' sign is LAPACK's choice; their outer products are not, so check those.
    check_gradients(
        lambda x: (lambda vv: vv[..., :, :2] @ ops.swapaxes(vv[..., :, :2], -1, -2))(
            linalg.eigh(symmetric(x))[1]
        ),
        a,
        device=device,
    )


@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 3)])
def test_qr_and_svd_follow_numpy_and_their_gradients(shape, device):
    a = RNG.standard_normal(shape)
    q, r = linalg.qr(on(a, device))
    eq, er = np.linalg.qr(a)
    np.testing.assert_allclose(host(q), eq, atol=1e-12)
    np.testing.assert_allclose(host(r), er, atol=1e-12)
    complete = linalg.qr(on(a, device), mode="complete")[0]
    assert complete.shape == (*shape[:-1], shape[-2])
    check_gradients(lambda x: linalg.qr(x)[0], a, device=device)
    check_gradients(lambda x: linalg.qr(x)[1], a, device=device)
    u, s, vh = linalg.svd(on(a, device), full_matrices=False)
    eu, es, evh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(host(s), es, atol=1e-12)
    np.testing.assert_allclose(host(u) * host(s)[..., None, :] @ host(vh), a, atol=1e-12)
    np.testing.assert_allclose(host(linalg.svd(on(a, device), compute_uv=False)), es)
    check_gradients(lambda x: linalg.svd(x, compute_uv=False), a, device=device)
    # U and V^H up to a shared sign per singular value: products of them are unique.
    check_gradients(
        lambda x: (lambda p: p[0][..., :, :1] @ p[2][..., :1, :])(linalg.svd(x, False)),
        a,
        device=device,
    )
    check_gradients(
        lambda x: (lambda p: p[0] @ ops.swapaxes(p[0], -1, -2))(linalg.svd(x, False)),
        a,
        device=device,
    )


def test_a_full_svds_extra_columns_take_no_gradient():
    a = Tensor(RNG.standard_normal((4, 2)), requires_grad=True)
    u, s, _ = linalg.svd(a)  # full: U is 4 x 4
    assert u.shape == (4, 4)
    ops.sum(s).backward()  # the values alone are fine
    np.testing.assert_allclose(
        a.grad, np.linalg.svd(a.data, full_matrices=False)[0] @ np.linalg.svd(a.data)[2]
    )
    with pytest.raises(ValueError, match="full_matrices=False"):
        ops.sum(linalg.svd(Tensor(a.data, requires_grad=True))[0]).backward()


def test_lstsq_and_lu_factor(device):
    a, b = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 2))
    got = host(linalg.lstsq(on(a, device), on(b, device)))
    np.testing.assert_allclose(got, np.linalg.lstsq(a, b, rcond=None)[0])
    check_gradients(lambda x, y: linalg.lstsq(x, y), a, b, device=device)
    check_gradients(lambda x, y: linalg.lstsq(x, y), a, b[:, 0], device=device)
    m = RNG.standard_normal((2, 5, 5))
    lu, pivots = linalg.lu_factor(on(m, device))
    for i in range(2):
        expected_lu, expected_pivots = scipy.linalg.lu_factor(m[i])
        np.testing.assert_allclose(host(lu)[i], expected_lu, atol=1e-12)
        np.testing.assert_array_equal(host(pivots)[i], expected_pivots)


def test_jvp_is_the_jacobian_times_the_tangents(device):
    """Keras' ops.jvp: (fun(*primals), J t) as JAX's forward mode gives it (its doc's
    example: sin at 0.1 with tangent 0.2 gives 0.19900084), against derivatives by hand and
    a central difference in float64; containers, several outputs and aux too."""
    primal, tangent = ops.jvp(ops.sin, (np.float32(0.1),), (np.float32(0.2),))
    np.testing.assert_allclose(host(primal), np.sin(0.1), rtol=1e-6)
    np.testing.assert_allclose(host(tangent), 0.19900084, rtol=1e-6)
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    t_x, t_w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))

    def fun(pair):
        a, b = pair["a"], pair["b"]
        product = ops.matmul(a, b)
        return [ops.tanh(product), ops.sum(ops.square(a))], "aux"

    dev = lambda a: Tensor(backend.to_device(a, device))  # noqa: E731  (float64 kept)
    (outs, tangents, aux) = ops.jvp(
        fun, ({"a": dev(x), "b": dev(w)},), ({"a": dev(t_x), "b": dev(t_w)},), has_aux=True
    )
    assert aux == "aux"
    by_hand = (1 - np.tanh(x @ w) ** 2) * (t_x @ w + x @ t_w)
    np.testing.assert_allclose(host(outs[0]), np.tanh(x @ w), rtol=1e-12)
    np.testing.assert_allclose(host(tangents[0]), by_hand, rtol=1e-9)
    np.testing.assert_allclose(host(tangents[1]), (2 * x * t_x).sum(), rtol=1e-9)
    h = 1e-6
    central = (np.sin((x + h * t_x) @ w) - np.sin((x - h * t_x) @ w)) / (2 * h)
    _, along = ops.jvp(lambda a: ops.sin(ops.matmul(a, dev(w))), (dev(x),), (dev(t_x),))
    np.testing.assert_allclose(host(along), central, rtol=1e-6, atol=1e-8)
    # an int primal is a constant: its tangent is not read
    _, scaled = ops.jvp(lambda a, k: a * k, (dev(x), 3), (dev(t_x), 0))
    np.testing.assert_allclose(host(scaled), 3 * t_x, rtol=1e-12)
    with pytest.raises(ValueError, match="2 primals and 1 tangents"):
        ops.jvp(ops.add, (x, x), (t_x,))
