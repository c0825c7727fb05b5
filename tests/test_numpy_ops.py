"""The ops of Keras' NumPy namespace beyond the first set: values against NumPy on every
device, and float64 gradient checks for the differentiable ones."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend, ops
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
A[np.abs(A) < 0.1] = 0.4  # off zero, where some slopes break
INSIDE = np.tanh(A) * 0.9  # in (-1, 1)
ABOVE_ONE = np.abs(A) + 1.5
POSITIVE = np.abs(A) + 0.5
B = RNG.standard_normal((3, 4))

# name: (ours, NumPy's, input, differentiable)
CASES = {
    "arcsin": (ops.arcsin, np.arcsin, INSIDE, True),
    "arccos": (ops.arccos, np.arccos, INSIDE, True),
    "arctan": (ops.arctan, np.arctan, A, True),
    "arcsinh": (ops.arcsinh, np.arcsinh, A, True),
    "arccosh": (ops.arccosh, np.arccosh, ABOVE_ONE, True),
    "arctanh": (ops.arctanh, np.arctanh, INSIDE, True),
    "sinh": (ops.sinh, np.sinh, A, True),
    "cosh": (ops.cosh, np.cosh, A, True),
    "tan": (ops.tan, np.tan, INSIDE, True),
    "cbrt": (ops.cbrt, np.cbrt, A, True),
    "exp2": (ops.exp2, np.exp2, A, True),
    "log2": (ops.log2, np.log2, POSITIVE, True),
    "log10": (ops.log10, np.log10, POSITIVE, True),
    "reciprocal": (ops.reciprocal, np.reciprocal, A, True),
    "rsqrt": (ops.rsqrt, lambda a: 1 / np.sqrt(a), POSITIVE, True),
    "trunc": (ops.trunc, np.trunc, A * 3, False),
    "logaddexp": (lambda t: ops.logaddexp(t, t * 2), lambda a: np.logaddexp(a, a * 2), A, True),
    "mod": (lambda t: ops.mod(t * 3, 1.7), lambda a: np.mod(a * 3, 1.7), A, True),
    "floor_divide": (lambda t: ops.floor_divide(t * 3, 1.7), lambda a: a * 3 // 1.7, A, False),
    "nan_to_num": (ops.nan_to_num, np.nan_to_num, A, True),
    "swapaxes": (lambda t: ops.swapaxes(t, 0, 1), lambda a: np.swapaxes(a, 0, 1), A, True),
    "flip": (lambda t: ops.flip(t, 1), lambda a: np.flip(a, 1), A, True),
    "flip_all": (ops.flip, np.flip, A, True),
    "roll": (lambda t: ops.roll(t, 2, 1), lambda a: np.roll(a, 2, 1), A, True),
    "roll_flat": (lambda t: ops.roll(t, -5), lambda a: np.roll(a, -5), A, True),
    "ravel": (ops.ravel, np.ravel, A, True),
    "split": (lambda t: ops.split(t, [1, 3], 1)[1], lambda a: np.split(a, [1, 3], 1)[1], A, True),
    "unstack": (lambda t: ops.unstack(t, axis=1)[2], lambda a: a[:, 2], A, True),
    "hstack": (lambda t: ops.hstack([t, t * 2]), lambda a: np.hstack([a, a * 2]), A, True),
    "vstack": (lambda t: ops.vstack([t, t[0]]), lambda a: np.vstack([a, a[0]]), A, True),
    "append": (lambda t: ops.append(t, t), lambda a: np.append(a, a), A, True),
    "broadcast_to": (
        lambda t: ops.broadcast_to(t[:1], (5, 4)),
        lambda a: np.broadcast_to(a[:1], (5, 4)),
        A,
        True,
    ),
    "take": (lambda t: ops.take(t, [3, 0, 3], axis=1), lambda a: np.take(a, [3, 0, 3], 1), A, True),
    "take_flat": (lambda t: ops.take(t, [7, 1]), lambda a: np.take(a, [7, 1]), A, True),
    "take_one": (  # a 0-d index: one place, its gradient put there, not added up
        lambda t: ops.take(t, np.array(-2), axis=1),
        lambda a: np.take(a, np.array(-2), 1),
        A,
        True,
    ),
    "diagonal": (lambda t: ops.diagonal(t, 1), lambda a: np.diagonal(a, 1), A, True),
    "trace": (lambda t: ops.trace(t, -1), lambda a: np.trace(a, -1), A, True),
    "tril": (lambda t: ops.tril(t, 1), lambda a: np.tril(a, 1), A, True),
    "triu": (lambda t: ops.triu(t, -1), lambda a: np.triu(a, -1), A, True),
    "diag_vector": (lambda t: ops.diag(t[0], 1), lambda a: np.diag(a[0], 1), A, True),
    "diag_matrix": (ops.diag, np.diag, A, True),
    "diagflat": (lambda t: ops.diagflat(t[:2]), lambda a: np.diagflat(a[:2]), A, True),
    "rot90": (lambda t: ops.rot90(t, 3), lambda a: np.rot90(a, 3), A, True),
    "tensordot": (
        lambda t: ops.tensordot(t, t * 2, ([1], [1])),
        lambda a: np.tensordot(a, a * 2, ([1], [1])),
        A,
        True,
    ),
    "dot": (lambda t: ops.dot(t, ops.transpose(t)), lambda a: a @ a.T, A, True),
    "dot_vector": (lambda t: ops.dot(t, t[0]), lambda a: np.dot(a, a[0]), A, True),
    "vdot": (lambda t: ops.vdot(t, t * 3), lambda a: np.vdot(a, a * 3), A, True),
    "inner": (lambda t: ops.inner(t, t), lambda a: np.inner(a, a), A, True),
    "outer": (lambda t: ops.outer(t[0], t[1]), lambda a: np.outer(a[0], a[1]), A, True),
    "kron": (lambda t: ops.kron(t[:2, :2], t), lambda a: np.kron(a[:2, :2], a), A, True),
    "cross": (
        lambda t: ops.cross(t[:, :3], t[:, 1:]),
        lambda a: np.cross(a[:, :3], a[:, 1:]),
        A,
        True,
    ),
    "prod": (lambda t: ops.prod(t, axis=1), lambda a: a.prod(axis=1), A, True),
    "prod_all": (ops.prod, np.prod, A, True),
    "prod_keep": (
        lambda t: ops.prod(t, axis=(0, 1), keepdims=True),
        lambda a: a.prod(axis=(0, 1), keepdims=True),
        A,
        True,
    ),
    "diff": (lambda t: ops.diff(t, 2, axis=1), lambda a: np.diff(a, 2, axis=1), A, True),
    "average": (
        lambda t: ops.average(t, axis=1, weights=np.arange(1.0, 5.0)),
        lambda a: np.average(a, axis=1, weights=np.arange(1.0, 5.0)),
        A,
        True,
    ),
    "sort": (lambda t: ops.sort(t, axis=0), lambda a: np.sort(a, axis=0), A, True),
    "median": (lambda t: ops.median(t, axis=1), lambda a: np.median(a, axis=1), A, True),
    "quantile": (
        lambda t: ops.quantile(t, [0.1, 0.9], axis=0),
        lambda a: np.quantile(a, [0.1, 0.9], axis=0),
        A,
        True,
    ),
    "percentile_all": (lambda t: ops.percentile(t, 30), lambda a: np.percentile(a, 30), A, True),
    "quantile_lower": (
        lambda t: ops.quantile(t, 0.4, axis=1, method="lower"),
        lambda a: np.quantile(a, 0.4, axis=1, method="lower"),
        A,
        True,
    ),
    "select": (
        lambda t: ops.select([host(t) > 0.5, host(t) < -0.5], [t, t * 2], -1.0),
        lambda a: np.select([a > 0.5, a < -0.5], [a, a * 2], -1.0),
        A,
        True,
    ),
    "divide_no_nan": (
        lambda t: ops.divide_no_nan(t, np.where(np.arange(4) == 2, 0.0, 1.5)),
        lambda a: np.where(np.arange(4) == 2, 0.0, a / 1.5),
        A,
        True,
    ),
    "copy": (ops.copy, np.copy, A, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_ops_follow_numpy_and_their_gradients_check(name, device):
    ours, numpy, x, differentiable = CASES[name]
    got = ours(Tensor(backend.to_device(x, device)))
    np.testing.assert_allclose(host(got), numpy(x), rtol=1e-10, atol=1e-12)
    if differentiable:
        check_gradients(ours, x.copy(), device=device)


def test_tests_counts_and_made_values(device):
    x = np.array([[1.0, np.nan, -np.inf], [0.0, 2.0, np.inf]])
    t = Tensor(backend.to_device(x, device))
    for name in ("isnan", "isinf", "isfinite", "signbit"):
        np.testing.assert_array_equal(host(getattr(ops, name)(t)), getattr(np, name)(x))
    np.testing.assert_array_equal(host(ops.nan_to_num(t, nan=-1.0)), np.nan_to_num(x, nan=-1.0))
    finite = Tensor(backend.to_device(B, device))
    np.testing.assert_array_equal(host(ops.all(ops.greater(finite, -9))), True)
    np.testing.assert_array_equal(host(ops.any(ops.greater(finite, 0), axis=0)), (B > 0).any(0))
    assert int(host(ops.count_nonzero(Tensor(backend.to_device(np.eye(3), device))))) == 3
    np.testing.assert_array_equal(host(ops.argsort(finite, axis=1)), np.argsort(B, axis=1))
    np.testing.assert_array_equal(host(ops.isclose(finite, finite + 1e-9)), True)
    rows, cols = ops.nonzero(Tensor(backend.to_device(np.eye(3), device)))
    np.testing.assert_array_equal(host(rows), [0, 1, 2])
    edges = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(host(ops.digitize(finite, edges)), np.digitize(B, edges))
    np.testing.assert_array_equal(
        host(ops.searchsorted(edges, finite[0])), np.searchsorted(edges, B[0])
    )
    counts = ops.bincount(Tensor(backend.to_device(np.array([0, 2, 2, 5]), device)), minlength=7)
    np.testing.assert_array_equal(host(counts), [1, 0, 2, 0, 0, 1, 0])
    assert ops.ndim(finite) == 2 and ops.size(finite) == 12 and ops.shape(finite) == (3, 4)
    np.testing.assert_allclose(host(ops.linspace(0, 1, 5)), np.linspace(0, 1, 5))
    np.testing.assert_allclose(host(ops.logspace(0, 2, 3)), [1, 10, 100])
    np.testing.assert_array_equal(host(ops.tri(3, 4, 1)), np.tri(3, 4, 1))
    grid = ops.meshgrid(np.arange(3), np.arange(2), indexing="ij")
    np.testing.assert_array_equal(
        host(grid[0]), np.meshgrid(np.arange(3), np.arange(2), indexing="ij")[0]
    )
    with pytest.raises(ValueError, match="does not split into 3 equal parts"):
        ops.split(finite, 3, axis=1)
    with pytest.raises(ValueError, match="method 'cubic' is not one of"):
        ops.quantile(finite, 0.5, method="cubic")
