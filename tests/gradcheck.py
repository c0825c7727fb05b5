"""Float64 central finite differences, the oracle for every backward pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minicnn import backend
from minicnn.autograd import Tensor


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(
    build: Callable[..., Tensor],
    *arrays: np.ndarray,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    device: str = "cpu",
) -> None:
    """Compare autograd's gradient of sum(build(*tensors) * R) with finite differences, with
    the tensors on ``device`` (the finite differences perturb the host copies)."""
    assert all(a.dtype == np.float64 for a in arrays), "gradient checks run in float64"
    probe = np.random.default_rng(1234)
    tensors = [Tensor(backend.to_device(a, device), requires_grad=True) for a in arrays]
    out = build(*tensors)
    weights = probe.standard_normal(out.shape) if out.data.size > 1 else np.ones(out.shape)
    weights = backend.to_device(weights, device)
    (out * weights).sum().backward()

    def scalar() -> float:
        inputs = [Tensor(backend.to_device(a, device)) for a in arrays]
        return float((build(*inputs).data * weights).sum())

    for i, (a, t) in enumerate(zip(arrays, tensors, strict=True)):
        expected = numeric_grad(scalar, a)
        assert t.grad is not None, f"input {i} got no gradient"
        got = backend.to_numpy(t.grad)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"input {i}")
