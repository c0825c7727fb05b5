import numpy as np
import pytest
from gradcheck import check_gradients

from minicnn import backend
from minicnn import functions as F
from minicnn.autograd import Tensor, no_grad


def naive_conv2d(x, w, b, stride, padding):
    """Direct loops over every output pixel: the independent oracle for conv2d."""
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    if padding == "same":
        oh, ow = -(-h // stride), -(-wd // stride)
        ph = max((oh - 1) * stride + kh - h, 0)
        pw = max((ow - 1) * stride + kw - wd, 0)
        pt, pl = ph // 2, pw // 2
        xp = np.zeros((n, h + ph, wd + pw, c), dtype=x.dtype)
        xp[:, pt : pt + h, pl : pl + wd] = x
    else:
        oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
        xp = x
    out = np.zeros((n, oh, ow, f), dtype=x.dtype)
    for b_ in range(n):
        for i in range(oh):
            for j in range(ow):
                for o in range(f):
                    patch = xp[b_, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                    out[b_, i, j, o] = np.sum(patch * w[:, :, :, o]) + b[o]
    return out


CONV_CASES = [
    # (h, w, c, f, k, stride, padding)
    (5, 5, 1, 2, 3, 1, "same"),
    (6, 5, 2, 3, 3, 1, "valid"),
    (6, 6, 2, 2, 2, 1, "same"),
    (7, 7, 2, 2, 4, 1, "same"),
    (7, 6, 3, 2, 5, 1, "same"),
    (7, 7, 2, 3, 3, 2, "same"),
    (8, 7, 2, 2, 2, 2, "valid"),
    (9, 9, 1, 2, 3, 3, "valid"),
    (5, 5, 2, 2, 1, 1, "valid"),
]


def on(device, *arrays):
    """The arrays on ``device`` (one array alone, or a list)."""
    moved = [backend.to_device(a, device) for a in arrays]
    return moved[0] if len(moved) == 1 else moved


def host(a):
    return backend.to_numpy(a.data if isinstance(a, Tensor) else a)


# Every operation runs on each backend: the CPU, the emulated GPU and, where there is one, the
# GPU (the ``device`` fixture of conftest.py).


@pytest.mark.parametrize("h,w,c,f,k,stride,padding", CONV_CASES)
def test_conv2d_matches_naive_loops(device, h, w, c, f, k, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, h, w, c))
    kern = rng.standard_normal((k, k, c, f))
    bias = rng.standard_normal(f)
    got = F.conv2d(*on(device, x, kern, bias), strides=stride, padding=padding)
    expected = naive_conv2d(x, kern, bias, stride, padding)
    np.testing.assert_allclose(host(got), expected, rtol=1e-10, atol=1e-12)


def test_conv2d_float32_stays_float32(device):
    x, kern, bias = np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 2)), np.zeros(2)
    out = F.conv2d(*on(device, *(a.astype(np.float32) for a in (x, kern, bias))), padding="same")
    assert out.dtype == np.float32
    assert host(out)[0, 0, 0, 0] == 4.0 and host(out)[0, 1, 1, 0] == 9.0


@pytest.mark.parametrize("h,w,c,f,k,stride,padding", CONV_CASES)
@pytest.mark.parametrize("relu", [False, True])
def test_conv2d_gradients(device, h, w, c, f, k, stride, padding, relu):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, h, w, c))
    kern = rng.standard_normal((k, k, c, f))
    bias = rng.standard_normal(f)

    def conv(a, b_, c_):
        return F.conv2d(a, b_, c_, stride, padding, relu=relu)

    check_gradients(conv, x, kern, bias, device=device)


@pytest.mark.parametrize("h,w,c,f,k,stride,padding", CONV_CASES)
@pytest.mark.parametrize("relu", [False, True])
def test_conv2d_without_a_bias(device, h, w, c, f, k, stride, padding, relu):
    """bias=None (a layer with use_bias=False): the naive loops' values with a zero bias,
    and gradients for x and the kernel alone."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, h, w, c))
    kern = rng.standard_normal((k, k, c, f))
    got = F.conv2d(*on(device, x, kern), None, stride, padding, relu=relu)
    expected = naive_conv2d(x, kern, np.zeros(f), stride, padding)
    expected = np.maximum(expected, 0) if relu else expected
    np.testing.assert_allclose(host(got), expected, rtol=1e-10, atol=1e-12)

    def conv(a, b_):
        return F.conv2d(a, b_, None, stride, padding, relu=relu)

    check_gradients(conv, x, kern, device=device)


def test_conv2d_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 1, 1)), np.zeros(1))


def tie_free(rng, shape):
    # A permutation of distinct values: no window has two equal maxima, so max is differentiable.
    return rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) / 7.0


@pytest.mark.parametrize(
    "shape,pool,stride,padding",
    [
        ((2, 4, 4, 3), 2, None, "valid"),
        ((2, 5, 5, 2), 2, None, "valid"),
        ((2, 5, 5, 2), 2, None, "same"),
        ((1, 7, 6, 2), 3, 2, "same"),
        ((1, 6, 6, 2), 3, 1, "valid"),
        ((1, 5, 7, 1), (2, 3), (1, 2), "same"),
    ],
)
def test_max_pool_gradients(device, shape, pool, stride, padding):
    x = tie_free(np.random.default_rng(2), shape)
    check_gradients(lambda a: F.max_pool2d(a, pool, stride, padding), x, device=device)


def test_max_pool_values_and_neg_inf_padding(device):
    x = -np.arange(1, 26, dtype=np.float64).reshape(1, 5, 5, 1)  # all negative
    out = host(F.max_pool2d(on(device, x), 2, padding="same"))[0, :, :, 0]
    # The last row/column windows hang over the edge: -inf padding must not win (0 would).
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[-1, -3, -5], [-11, -13, -15], [-21, -23, -25]])


def test_max_pool_propagates_nan(device):
    x = np.ones((1, 2, 2, 1))
    x[0, 1, 1, 0] = np.nan
    assert np.isnan(host(F.max_pool2d(on(device, x), 2))).all()


def test_linear_relu_softmax_flatten_gradients(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 2, 2))
    w = rng.standard_normal((8, 5))
    b = rng.standard_normal(5)

    def layers(a, w_, b_):
        return F.softmax(F.relu(F.linear(F.flatten(a), w_, b_)))

    check_gradients(layers, x, w, b, device=device)
    check_gradients(
        lambda a, w_, b_: F.linear(a, w_, b_, relu=True), x[:, 0, 0], w[:2], b, device=device
    )


def test_sigmoid_and_tanh_values_gradients_and_saturation(device):
    x = np.random.default_rng(10).standard_normal((4, 5)) * 3
    np.testing.assert_allclose(host(F.sigmoid(on(device, x))), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(host(F.tanh(on(device, x))), np.tanh(x), rtol=1e-12)
    check_gradients(F.sigmoid, x, device=device)
    check_gradients(F.tanh, x, device=device)
    huge = on(device, np.array([-1000.0, 1000.0], np.float32))
    with np.errstate(all="raise"):  # no overflow on the way
        np.testing.assert_array_equal(host(F.sigmoid(huge)), [0.0, 1.0])
        np.testing.assert_array_equal(host(F.tanh(huge)), [-1.0, 1.0])


def test_relu_gradient_away_from_kink(device):
    x = np.random.default_rng(4).standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5
    check_gradients(F.relu, x, device=device)


def test_dropout_with_fixed_mask_gradient_and_scaling(device):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6))
    mask = (rng.random((4, 6)) >= 0.25) / 0.75
    check_gradients(lambda a: F.dropout(a, 0.25, mask=on(device, mask)), x, device=device)
    dropped = F.dropout(on(device, x), 0.25, mask=on(device, mask))
    np.testing.assert_allclose(host(dropped), x * mask)
    # Outside training dropout is the identity: no scaling, no copy.
    x_there = on(device, x)
    assert F.dropout(Tensor(x_there), 0.25, training=False).data is x_there


def test_dropout_drops_the_rate_fraction(device):
    x = on(device, np.ones((200, 500), np.float32))
    out = host(F.dropout(x, 0.2))
    assert abs((out == 0).mean() - 0.2) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.8, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02


def test_softmax_cross_entropy_value_and_gradient(device):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.log(p[np.arange(5), labels]).mean()
    assert np.isclose(float(host(F.softmax_cross_entropy(on(device, logits), labels))), expected)
    check_gradients(lambda z: F.softmax_cross_entropy(z, labels), logits, device=device)


def test_softmax_cross_entropy_is_stable_for_huge_logits(device):
    logits = on(device, np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], np.float32))
    loss = float(host(F.softmax_cross_entropy(logits, np.array([0, 0]))))
    assert np.isfinite(loss) and np.isclose(loss, 1000.0)


def test_cross_entropy_from_probabilities_gradient(device):
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((4, 3))
    labels = np.array([2, 0, 1, 1])

    def loss(z):
        return F.cross_entropy_from_probs(F.softmax(z), labels)

    check_gradients(loss, logits, device=device)
    fused = float(host(F.softmax_cross_entropy(on(device, logits), labels)))
    assert np.isclose(float(host(loss(on(device, logits)))), fused)
    # Rows that do not sum to 1 (a sigmoid output's): Keras scales them first, as here.
    scale = rng.random((4, 1)) + 0.5

    def scaled(z):
        return F.cross_entropy_from_probs(F.softmax(z) * Tensor(on(device, scale)), labels)

    check_gradients(scaled, logits, device=device)
    assert np.isclose(float(host(scaled(on(device, logits)))), fused)


def test_categorical_cross_entropy_on_logits_value_and_gradient(device):
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((5, 4)) * 3
    targets = rng.random((5, 4))
    targets[1] = 0.0  # a row of zeros contributes nothing
    targets[2] *= 3.0  # rows need not sum to 1 (Keras does not ask it)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -(targets * log_p).sum(1).mean()
    loss = F.softmax_cross_entropy_dense(on(device, logits), targets)
    assert np.isclose(float(host(loss)), expected)
    check_gradients(lambda z: F.softmax_cross_entropy_dense(z, targets), logits, device=device)
    # One-hot rows give the sparse loss, value and gradient.
    labels = np.array([0, 3, 1, 1, 2])
    one_hot = np.eye(4)[labels]
    z_dense, z_sparse = (Tensor(on(device, logits), requires_grad=True) for _ in range(2))
    dense = F.softmax_cross_entropy_dense(z_dense, one_hot)
    sparse = F.softmax_cross_entropy(z_sparse, labels)
    for loss in (dense, sparse):
        loss.backward()
    assert np.isclose(float(host(dense)), float(host(sparse)))
    np.testing.assert_allclose(host(z_dense.grad), host(z_sparse.grad), atol=1e-12)


def test_categorical_cross_entropy_from_probabilities_gradient(device):
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((4, 3))
    targets = rng.dirichlet(np.ones(3), size=4)
    scale = rng.random((4, 1)) + 0.5

    def loss(z):
        # Rows that do not sum to 1: Keras scales them before the log.
        return F.cross_entropy_from_probs_dense(F.softmax(z) * Tensor(on(device, scale)), targets)

    check_gradients(loss, logits, device=device)
    fused = float(host(F.softmax_cross_entropy_dense(on(device, logits), targets)))
    assert np.isclose(float(host(loss(on(device, logits)))), fused)
    with pytest.raises(ValueError, match=r"Targets of shape \(4, 2\) do not match"):
        F.softmax_cross_entropy_dense(on(device, logits), targets[:, :2])


@pytest.mark.parametrize("bad", [np.array([0, 3]), np.array([-1, 0])])
def test_losses_reject_labels_out_of_range(device, bad):
    with pytest.raises(ValueError, match=r"0\.\.2"):
        F.softmax_cross_entropy(on(device, np.zeros((2, 3))), bad)


def test_autograd_accumulates_over_shared_inputs_and_broadcasts(device):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4,))
    ones = on(device, np.ones((4, 2)))
    # x is used twice (its gradient adds up); y is broadcast over rows (its gradient sums them).
    check_gradients(lambda x, y: (x * y + x) @ ones, a, b, device=device)


def test_no_grad_records_nothing():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    with no_grad():
        y = F.matmul(np.ones((1, 2)), w)
    assert y.creator is None and not y.requires_grad


@pytest.mark.parametrize(
    "c,k,padding", [(3, 3, "same"), (8, 4, "same"), (5, 3, "valid"), (64, 3, "same")]
)
def test_a_stride_one_input_gradient_is_the_same_by_either_route(c, k, padding):
    """On the CPU a stride-1 convolution below 64 channels takes dx as a convolution of
    the output gradient; from 64 channels on, as col2im of the GEMM's product. Both are the
    adjoint of the forward pass."""
    rng = np.random.default_rng(7)
    x = Tensor(rng.standard_normal((2, 7, 6, c)), requires_grad=True)
    kern, bias = Tensor(rng.standard_normal((k, k, c, 4))), Tensor(rng.standard_normal(4))
    out = F.conv2d(x, kern, bias, 1, padding)
    grad = rng.standard_normal(out.shape)
    by_convolution = out.creator._input_grad_by_convolution(
        np, grad.reshape(-1, 4), x.shape, out.creator.geometry[1], *out.creator.geometry[2:]
    )
    out.backward(grad)
    expected = np.zeros(x.shape)  # the adjoint written out: each tap adds its share
    oh, ow = out.shape[1:3]
    pt = (max((oh - 1) + k - 7, 0) // 2) if padding == "same" else 0
    pl = (max((ow - 1) + k - 6, 0) // 2) if padding == "same" else 0
    padded = np.zeros((2, 7 + k, 6 + k, c))
    for i in range(oh):
        for j in range(ow):
            padded[:, i : i + k, j : j + k] += np.einsum("nf,pqcf->npqc", grad[:, i, j], kern.data)
    expected = padded[:, pt : pt + 7, pl : pl + 6]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(by_convolution, expected, rtol=1e-10, atol=1e-10)
