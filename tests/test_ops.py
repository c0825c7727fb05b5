"""minicnn.ops, Keras' ops for Tensors: values against NumPy and float64 gradient checks on
every device, for every differentiable operation."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend, ops
from minicnn.autograd import Tensor


def _logsumexp(a, axis=None, keepdims=False):
    top = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - top).sum(axis=axis, keepdims=True)) + top
    return out if keepdims else (out.reshape(()) if axis is None else out.squeeze(axis=axis))


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# name: (ours, NumPy's, the input's domain: "any", "positive" or "inside (-1, 1)")
UNARY = {
    "abs": (ops.abs, np.abs, "any"),
    "square": (ops.square, np.square, "any"),
    "sqrt": (ops.sqrt, np.sqrt, "positive"),
    "exp": (ops.exp, np.exp, "any"),
    "log": (ops.log, np.log, "positive"),
    "log1p": (ops.log1p, np.log1p, "inside"),
    "expm1": (ops.expm1, np.expm1, "any"),
    "negative": (ops.negative, np.negative, "any"),
    "softplus": (ops.softplus, lambda a: np.logaddexp(0, a), "any"),
    "sin": (ops.sin, np.sin, "any"),
    "cos": (ops.cos, np.cos, "any"),
    "relu": (ops.relu, lambda a: np.maximum(a, 0), "any"),
    "sigmoid": (ops.sigmoid, lambda a: 1 / (1 + np.exp(-a)), "any"),
    "tanh": (ops.tanh, np.tanh, "any"),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), "any"),
    "sum_axis": (lambda x: ops.sum(x, axis=1), lambda a: a.sum(axis=1), "any"),
    "sum_keep": (
        lambda x: ops.sum(x, axis=(0, 2), keepdims=True),
        lambda a: a.sum(axis=(0, 2), keepdims=True),
        "any",
    ),
    "mean": (lambda x: ops.mean(x, axis=-1), lambda a: a.mean(axis=-1), "any"),
    "max": (lambda x: ops.max(x, axis=1), lambda a: a.max(axis=1), "any"),
    "min_all": (ops.min, np.min, "any"),
    "max_keep": (
        lambda x: ops.max(x, axis=(1, 2), keepdims=True),
        lambda a: a.max(axis=(1, 2), keepdims=True),
        "any",
    ),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), lambda a: _logsumexp(a, axis=1), "any"),
    "logsumexp_all": (ops.logsumexp, _logsumexp, "any"),
    "softmax": (ops.softmax, lambda a: _softmax(a, -1), "any"),
    "softmax_axis1": (lambda x: ops.softmax(x, axis=1), lambda a: _softmax(a, 1), "any"),
    "log_softmax": (ops.log_softmax, lambda a: np.log(_softmax(a, -1)), "any"),
    "transpose": (ops.transpose, np.transpose, "any"),
    "expand_squeeze": (
        lambda x: ops.squeeze(ops.expand_dims(x, 1) * 2, 1),
        lambda a: a * 2,
        "any",
    ),
    "reshape": (lambda x: ops.reshape(x, (6, 4)), lambda a: a.reshape(6, 4), "any"),
    "power": (lambda x: ops.power(x, 3), lambda a: a**3, "any"),
    "tensor_abs_sum": (lambda x: abs(x).sum(axis=0), lambda a: np.abs(a).sum(axis=0), "any"),
    "slices": (
        lambda x: x[:, 1:, ::2] * x[0, :2, 1:3],
        lambda a: a[:, 1:, ::2] * a[0, :2, 1:3],
        "any",
    ),
    "int_and_none": (lambda x: x[1, None, ..., -1], lambda a: a[1, None, ..., -1], "any"),
    "repeated_picks": (
        lambda x: x[:, np.array([0, 2, 0, 0])],
        lambda a: a[:, np.array([0, 2, 0, 0])],
        "any",
    ),
    "mask": (lambda x: x[host(x) > 0.2], lambda a: a[a > 0.2], "any"),
    "tile": (lambda x: ops.tile(x, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), "any"),
    "repeat": (lambda x: ops.repeat(x, 2, axis=1), lambda a: np.repeat(a, 2, axis=1), "any"),
    "repeat_flat": (lambda x: ops.repeat(x, 3), lambda a: np.repeat(a, 3), "any"),
    "pad": (
        lambda x: ops.pad(x, ((0, 1), (2, 0), (1, 1)), constant_values=0.5),
        lambda a: np.pad(a, ((0, 1), (2, 0), (1, 1)), constant_values=0.5),
        "any",
    ),
    "take_along_axis": (
        lambda x: ops.take_along_axis(x, np.array([[[3, 0, 3]]]), axis=2),
        lambda a: np.take_along_axis(a, np.broadcast_to([[[3, 0, 3]]], (2, 3, 3)), axis=2),
        "any",
    ),
    "cumsum": (lambda x: ops.cumsum(x, axis=1), lambda a: np.cumsum(a, axis=1), "any"),
    "cumsum_flat": (ops.cumsum, np.cumsum, "any"),
    "var": (lambda x: ops.var(x, axis=-1), lambda a: a.var(axis=-1), "any"),
    "std": (lambda x: ops.std(x, axis=(0, 1)), lambda a: a.std(axis=(0, 1)), "any"),
    "norm": (lambda x: ops.norm(x, axis=-1), lambda a: np.linalg.norm(a, axis=-1), "any"),
    "norm_l1": (lambda x: ops.norm(x, ord=1, axis=1), lambda a: np.abs(a).sum(1), "any"),
    "norm_p3": (lambda x: ops.norm(x, ord=3, axis=0), lambda a: np.linalg.norm(a, 3, 0), "any"),
    "norm_nuc": (
        lambda x: ops.norm(x, ord="nuc", axis=(2, 0)),
        lambda a: np.linalg.norm(a, "nuc", (2, 0)),
        "any",
    ),
    "norm_inf": (
        lambda x: ops.norm(x, ord=np.inf, axis=(1, 2), keepdims=True),
        lambda a: np.linalg.norm(a, np.inf, (1, 2), keepdims=True),
        "any",
    ),
    "stack": (lambda x: ops.stack([x, x * 2], axis=1), lambda a: np.stack([a, a * 2], 1), "any"),
    "top_k": (lambda x: ops.top_k(x, 2)[0], lambda a: -np.sort(-a, axis=-1)[..., :2], "any"),
}


def _input(domain, rng):
    a = rng.standard_normal((2, 3, 4))
    if domain == "positive":
        return np.abs(a) + 0.5
    if domain == "inside":
        return np.tanh(a) * 0.9
    # Keep values off the kinks of abs, relu and clip, where finite differences straddle them.
    return np.where(np.abs(a) < 0.05, 0.3, a) + np.where(np.abs(a - 0.7) < 0.05, 0.2, 0)


@pytest.mark.parametrize("name", list(UNARY))
def test_one_argument_ops_match_numpy_and_their_gradients_check(name, device):
    ours, numpy, domain = UNARY[name]
    a = _input(domain, np.random.default_rng(0))
    got = ours(Tensor(backend.to_device(a, device)))
    assert isinstance(got, Tensor)
    np.testing.assert_allclose(host(got), numpy(a), rtol=1e-12, atol=1e-14)
    check_gradients(ours, a, device=device)


BINARY = {
    "add": (ops.add, np.add),
    "subtract": (ops.subtract, np.subtract),
    "multiply": (ops.multiply, np.multiply),
    "divide": (lambda x, y: ops.divide(x, ops.square(y) + 1), lambda a, b: a / (b * b + 1)),
    "maximum": (ops.maximum, np.maximum),
    "minimum": (ops.minimum, np.minimum),
    "where": (
        lambda x, y: ops.where(host(x) > 0, x, y),
        lambda a, b: np.where(a > 0, a, b),
    ),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_two_argument_ops_broadcast_and_their_gradients_check(name, device):
    ours, numpy = BINARY[name]
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 4))
    b = rng.standard_normal((3, 1))  # broadcast against a; no ties with a
    got = ours(*(Tensor(backend.to_device(v, device)) for v in (a, b)))
    np.testing.assert_allclose(host(got), numpy(a, b), rtol=1e-12)
    check_gradients(ours, a, b, device=device)


MATMUL_SHAPES = {
    "matrices": ((3, 4), (4, 2)),
    "stacks": ((5, 3, 4), (5, 4, 2)),
    "broadcast stacks": ((2, 1, 3, 4), (5, 4, 2)),
    "stack by matrix": ((5, 3, 4), (4, 2)),
    "vector by stack": ((4,), (5, 4, 2)),
    "stack by vector": ((5, 3, 4), (4,)),
    "vectors": ((4,), (4,)),
}


@pytest.mark.parametrize("shapes", list(MATMUL_SHAPES))
def test_matmul_follows_numpy_for_every_rank_and_its_gradients_check(shapes, device):
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(shape) for shape in MATMUL_SHAPES[shapes])
    got = ops.matmul(*(Tensor(backend.to_device(v, device)) for v in (a, b)))
    np.testing.assert_allclose(host(got), np.matmul(a, b), rtol=1e-12)
    check_gradients(ops.matmul, a, b, device=device)


def test_ties_share_the_gradient_as_in_tensorflow():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True)
    ops.max(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 1])  # a tie goes to the first operand
    np.testing.assert_array_equal(b.grad, [0, 0])


def test_numbers_lists_and_casts(device):
    x = Tensor(backend.to_device(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32), device))
    for y in (ops.add(x, 1), ops.subtract(2, x), ops.maximum(x, 0.0), ops.divide(x, 4)):
        assert y.dtype == np.float32
    assert ops.convert_to_tensor([0.5, 1.5]).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype.kind == "i"
    np.testing.assert_array_equal(host(ops.argmax(x, axis=-1)), [0, 0])
    assert int(host(ops.argmax(x))) == 2  # of the flattened input, as Keras' default axis None
    assert host(ops.argmin(x, axis=1, keepdims=True)).shape == (2, 1)
    np.testing.assert_array_equal(host(ops.argmax(x, axis=0)), [1, 1])
    np.testing.assert_array_equal(
        host(ops.equal(ops.argmax(x, axis=0), np.array([1, 0]))), [True, False]
    )
    np.testing.assert_array_equal(host(ops.one_hot(np.array([2, 0]), 3)), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(host(ops.sign(x)), [[1, -1], [1, 1]])
    w = Tensor(backend.to_device(np.array([1.0, 2.0]), device), requires_grad=True)
    ops.sum(ops.cast(w, "float32") * 3).backward()
    assert w.grad.dtype == np.float64
    np.testing.assert_array_equal(host(w.grad), [3, 3])
    ops.sum(ops.stop_gradient(w) * w).backward()
    np.testing.assert_array_equal(host(w.grad), [4, 5])  # 3 + w: no path through the copy


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="x_min 1 is above x_max 0"):
        ops.clip(np.zeros(2), 1, 0)
    with pytest.raises(ValueError, match="axis 0 of shape \\(2, 1\\) is not of size 1"):
        ops.squeeze(np.zeros((2, 1)), 0)


def test_constants_logic_and_rounding(device):
    x = Tensor(backend.to_device(np.array([[0.4, -1.6], [2.5, 0.0]], np.float32), device))
    np.testing.assert_array_equal(host(ops.zeros_like(x)), np.zeros((2, 2)))
    np.testing.assert_array_equal(host(ops.ones_like(x)), np.ones((2, 2)))
    assert ops.zeros((2, 3)).dtype == np.float32 and ops.ones(4).shape == (4,)
    np.testing.assert_array_equal(host(ops.full((2,), 7.0)), [7, 7])
    np.testing.assert_array_equal(host(ops.arange(3)), [0, 1, 2])
    np.testing.assert_array_equal(host(ops.eye(2)), np.eye(2))
    np.testing.assert_array_equal(host(ops.floor(x)), [[0, -2], [2, 0]])
    np.testing.assert_array_equal(host(ops.ceil(x)), [[1, -1], [3, 0]])
    np.testing.assert_array_equal(host(ops.round(x)), [[0, -2], [2, 0]])  # halves to even
    positive = ops.greater(x, 0)
    np.testing.assert_array_equal(
        host(ops.logical_and(positive, ops.less(x, 1))), [[True, False], [False, False]]
    )
    np.testing.assert_array_equal(host(ops.logical_not(positive)), [[False, True], [False, True]])
    values, indices = ops.top_k(x, 1)
    np.testing.assert_array_equal(host(indices), [[0], [0]])
    with pytest.raises(ValueError, match="mode must be 'constant' or one of reflect"):
        ops.pad(x, ((0, 0), (1, 1)), mode="linear_ramp")
    with pytest.raises(ValueError, match="a matrix norm's ord is"):
        ops.norm(x, ord=3)
    with pytest.raises(ValueError, match="pass one axis for a vector norm"):
        ops.norm(np.ones((2, 3, 4)), ord=1)
    matrix = np.random.default_rng(5).standard_normal((3, 4))
    for ord in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        np.testing.assert_allclose(
            host(ops.norm(matrix, ord=ord)), np.linalg.norm(matrix, ord=ord), rtol=1e-6
        )
    vector = matrix[0]
    for ord in (None, 0, 0.5, 1, 3, np.inf, -np.inf):
        np.testing.assert_allclose(
            host(ops.norm(vector, ord=ord)), np.linalg.norm(vector, ord=ord), rtol=1e-6
        )
    t = np.zeros((2, 3, 4))
    for source, destination in ((0, 2), ((0, 1), (2, 0)), ((-1, 0), (0, -1))):
        moved = ops.moveaxis(t, source, destination)
        assert moved.shape == np.moveaxis(t, source, destination).shape


def test_batched_products_in_a_captured_step_broadcast_like_numpy(gpu, monkeypatch):
    from minicnn import functions as F

    monkeypatch.setattr(backend, "graph_safe", lambda: True)  # as while a CUDA graph captures
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    got = F.batched_product(gpu.asarray(a), gpu.asarray(b))
    np.testing.assert_allclose(host(got), np.matmul(a, b), rtol=1e-12)


@pytest.mark.parametrize("source, destination", [(0, -1), (2, 0), (-1, 1)])
def test_moveaxis_follows_numpy(source, destination, device):
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    got = ops.moveaxis(Tensor(backend.to_device(x, device)), source, destination)
    np.testing.assert_array_equal(host(got), np.moveaxis(x, source, destination))
    check_gradients(lambda t: ops.moveaxis(t, source, destination), x, device=device)


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge", "wrap"])
def test_pad_copies_the_input_outward_as_numpy(mode, device):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 4))
    widths = ((2, 1), (1, 6))  # wider than the axis: NumPy mirrors again
    got = ops.pad(Tensor(backend.to_device(a, device)), widths, mode=mode)
    np.testing.assert_array_equal(backend.to_numpy(got.data), np.pad(a, widths, mode=mode))
    check_gradients(lambda t: ops.pad(t, widths, mode=mode), a, device=device)
