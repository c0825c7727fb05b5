"""Complex values in minicnn's ops, as NumPy (and Keras on JAX) give them: their parts, the
conjugate, the angle, polar form and the views as pairs of reals, eigenvalues and vectors of
general matrices, SVD and pseudoinverses, variances; on every device. The functions NumPy
defines on reals only refuse complex values by name. Keras' own values for these are in
test_op_values.py."""

import numpy as np
import pytest
from test_functions import host

from minicnn import backend, ops

rng = np.random.default_rng(3)
Z = (rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))).astype(np.complex64)
M = (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))).astype(np.complex64)


def on(device, a):
    return backend.to_device(a, device)


def test_parts_conjugate_angle_and_views(device):
    z = on(device, Z)
    for op, expected in (
        (ops.real, Z.real),
        (ops.imag, Z.imag),
        (ops.conj, Z.conj()),
        (ops.angle, np.angle(Z)),
        (ops.abs, np.abs(Z)),
        (ops.isreal, np.isreal(Z)),
    ):
        got = host(op(z))
        assert got.dtype == expected.dtype, op.__name__
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    pairs = host(ops.view_as_real(z))
    assert pairs.shape == (3, 4, 2) and pairs.dtype == np.float32
    np.testing.assert_array_equal(host(ops.view_as_complex(on(device, pairs))), Z)
    back = host(ops.polar(on(device, np.abs(Z)), on(device, np.angle(Z))))
    assert back.dtype == np.complex64
    np.testing.assert_allclose(back, Z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(ops.vdot(z, z)), np.vdot(Z, Z), rtol=1e-5)


def test_linear_algebra_of_complex_matrices(device):
    m = on(device, M)
    values, vectors = (host(t) for t in ops.eig(m))
    assert values.dtype == vectors.dtype == np.complex64
    np.testing.assert_allclose(M @ vectors, vectors * values, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=0), 1.0, rtol=1e-5)
    real_values = host(ops.eig(on(device, M.real.copy()))[0])
    assert real_values.dtype == np.complex64  # a real matrix's eigenvalues may be complex
    np.testing.assert_allclose(
        np.sort_complex(real_values), np.sort_complex(np.linalg.eigvals(M.real)), rtol=1e-4
    )
    u, s, vh = (host(t) for t in ops.svd(on(device, Z)))
    assert s.dtype == np.float32
    np.testing.assert_allclose((u[:, :3] * s) @ vh[:3], Z, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        host(ops.pinv(on(device, Z))), np.linalg.pinv(Z), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(host(ops.inv(m)), np.linalg.inv(M), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(ops.det(m)), np.linalg.det(M), rtol=1e-4)
    for order in (None, 1, np.inf, "nuc", 2, -2):
        np.testing.assert_allclose(
            host(ops.norm(on(device, Z), ord=order, axis=(0, 1))),
            np.linalg.norm(Z, ord=order, axis=(0, 1)),
            rtol=1e-5,
        )
    np.testing.assert_allclose(
        host(ops.norm(on(device, Z), axis=1)), np.linalg.norm(Z, axis=1), rtol=1e-6
    )


def test_variances_and_spaced_values_of_complex_numbers(device):
    z = on(device, Z)
    variance = host(ops.var(z, axis=1))
    assert variance.dtype == np.complex64  # Keras keeps the dtype; the value is real
    np.testing.assert_allclose(variance, np.var(Z, axis=1), rtol=1e-5)
    spread = host(ops.std(z))
    assert spread.dtype == np.float32
    np.testing.assert_allclose(spread, np.std(Z), rtol=1e-5)
    np.testing.assert_allclose(host(ops.nanvar(z)), np.nanvar(Z), rtol=1e-5)
    line = host(ops.linspace(1 + 1j, 3 - 1j, 5))
    assert line.dtype == np.complex64
    np.testing.assert_allclose(line, np.linspace(1 + 1j, 3 - 1j, 5), rtol=1e-6)
    with_nan = Z.copy()
    with_nan[0, 0] = complex(np.nan, np.inf)
    np.testing.assert_array_equal(
        host(ops.nan_to_num(on(device, with_nan))), np.nan_to_num(with_nan)
    )


@pytest.mark.parametrize("name", ["arctan2", "logaddexp", "logaddexp2"])
def test_functions_of_reals_refuse_complex_values_by_name(name):
    with pytest.raises(TypeError, match=f"{name} takes real values, got complex64"):
        getattr(ops, name)(Z, Z)


@pytest.mark.parametrize("name", ["softplus", "log_sigmoid", "celu"])
def test_activations_of_reals_refuse_complex_values(name):
    with pytest.raises(TypeError, match="takes real values, got complex64"):
        getattr(ops, name)(Z)
    with pytest.raises(ValueError, match="last axis of size 2"):
        ops.view_as_complex(np.zeros((2, 3), np.float32))
