"""Tensor arithmetic (+, -, *, /, unary -, ** and mean) with NumPy's broadcasting: values,
float64 gradient checks on every device, and Python numbers that keep float32 float32."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend
from minicnn.autograd import Tensor

EXPRESSIONS = {
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "rsub": (lambda a, b: 2 - a * b, lambda a, b: 2 - a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "rdiv": (lambda a, b: 3 / (a * a + 1) + b, lambda a, b: 3 / (a * a + 1) + b),
    "neg_pow": (lambda a, b: -(a**3) + b**2, lambda a, b: -(a**3) + b**2),
    "mean": (lambda a, b: (a * b).mean(axis=1), lambda a, b: (a * b).mean(axis=1)),
    "mean_keep": (
        lambda a, b: (a - b).mean(axis=(0, 2), keepdims=True),
        lambda a, b: (a - b).mean(axis=(0, 2), keepdims=True),
    ),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_arithmetic_matches_numpy_and_its_gradients_check(name, device):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4))
    b = rng.standard_normal((3, 1))  # broadcast against a
    if name in ("mean", "mean_keep"):
        b = rng.standard_normal((2, 3, 4))
    ours, numpy = EXPRESSIONS[name]
    got = ours(*(Tensor(backend.to_device(v, device)) for v in (a, b)))
    np.testing.assert_allclose(host(got), numpy(a, b), rtol=1e-12)
    check_gradients(ours, a, b, device=device)


def test_python_numbers_keep_the_tensors_dtype(device):
    x = Tensor(backend.to_device(np.ones((2, 2), np.float32), device))
    for y in (x + 1, 1 - x, x * 0.5, 2.0 / (x + 1), -x, x**2, (x / 3).mean()):
        assert y.data.dtype == np.float32
    assert float(host((x * 0.5 + 1).mean())) == 1.5


def test_equality_compares_entries_and_a_tensor_still_hashes_by_identity(device):
    """== and != give boolean Tensors, as Keras' tensors (a metric of the user's that
    counts ``y_true == y_pred`` reads them); dicts and sets find a Tensor by identity; its
    truth is NumPy's."""
    a = Tensor(backend.to_device(np.array([1, 2, 3]), device))
    b = Tensor(backend.to_device(np.array([[1], [0]]), device))
    np.testing.assert_array_equal(host((a == b).data), [[True, False, False], [False] * 3])
    np.testing.assert_array_equal(host((a != 2).data), [True, False, True])
    assert (a == None) is False and (a != "a") is True  # noqa: E711
    twin = Tensor(a.data)
    assert {a: 1, twin: 2}[twin] == 2 and len({a, twin, a}) == 2
    assert bool(Tensor(np.array(2.0))) and not bool(Tensor(np.array([0.0])))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
