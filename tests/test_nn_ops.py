"""Keras' nn and core ops: convolutions and pools against naive loops, cross-entropies and
normalizations against their formulas, attention, segments, control flow, scatters and
slices, custom_gradient; float64 gradient checks on every device."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import backend, ops
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def naive_conv(x, w, stride=1, dilation=1):
    """A loop over outputs: 'valid' channels-last convolution of any rank (groups from the
    channels)."""
    spatial = x.shape[1:-1]
    window = w.shape[:-2]
    span = [(k - 1) * dilation + 1 for k in window]
    out_shape = [(s - sp) // stride + 1 for s, sp in zip(spatial, span, strict=True)]
    groups = x.shape[-1] // w.shape[-2]
    per_in, per_out = w.shape[-2], w.shape[-1] // groups
    out = np.zeros((x.shape[0], *out_shape, w.shape[-1]))
    for place in np.ndindex(*out_shape):
        for tap in np.ndindex(*window):
            at = tuple(p * stride + t * dilation for p, t in zip(place, tap, strict=True))
            patch = x[(slice(None), *at)]  # (batch, channels)
            for g in range(groups):
                block = patch[:, g * per_in : (g + 1) * per_in]
                out[(slice(None), *place, slice(g * per_out, (g + 1) * per_out))] += (
                    block @ w[tap][:, g * per_out : (g + 1) * per_out]
                )
    return out


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, dilation",
    [
        ((2, 9, 3), (3, 3, 4), 2, 1),
        ((2, 9, 4), (2, 2, 6), 1, 2),  # two groups, dilated
        ((1, 6, 7, 2), (3, 2, 2, 3), 1, 1),
        ((1, 7, 7, 4), (2, 2, 1, 4), 2, 1),  # depthwise-like groups
        ((1, 4, 5, 4, 2), (2, 2, 2, 2, 3), 1, 1),
    ],
)
def test_conv_follows_a_naive_loop(x_shape, w_shape, stride, dilation, device):
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    got = ops.conv(
        Tensor(backend.to_device(x, device)),
        Tensor(backend.to_device(w, device)),
        strides=stride,
        dilation_rate=dilation,
    )
    np.testing.assert_allclose(host(got), naive_conv(x, w, stride, dilation), atol=1e-10)
    if len(x_shape) == 3:
        check_gradients(
            lambda a, b: ops.conv(a, b, stride, dilation_rate=dilation), x, w, device=device
        )


def test_depthwise_separable_transposed_and_pools(device):
    x = RNG.standard_normal((2, 6, 5, 3))
    on = Tensor(backend.to_device(x, device))
    dw = RNG.standard_normal((2, 2, 3, 2))
    depth = host(ops.depthwise_conv(on, backend.to_device(dw, device)))
    # each channel c alone, by its own 2 filters: output channel c * 2 + m
    expected = np.concatenate(
        [naive_conv(x[..., c : c + 1], dw[:, :, c : c + 1, :]) for c in range(3)], axis=-1
    )
    np.testing.assert_allclose(depth, expected, atol=1e-10)
    pw = RNG.standard_normal((1, 1, 6, 4))
    separable = host(
        ops.separable_conv(on, backend.to_device(dw, device), backend.to_device(pw, device))
    )
    np.testing.assert_allclose(separable, naive_conv(expected, pw), atol=1e-10)
    kernel = RNG.standard_normal((3, 3, 4, 3))  # (window, out, in), as Keras'
    y = RNG.standard_normal((1, 4, 4, 3))
    # the transposed convolution is the adjoint: <conv_t(y), z> = <y, conv(z)>
    up = host(
        ops.conv_transpose(
            Tensor(backend.to_device(y, device)), backend.to_device(kernel, device), 2
        )
    )
    z = RNG.standard_normal(up.shape)
    forward = naive_conv(z, kernel, stride=2)  # (window, in=4, out=3) for z -> y
    assert np.vdot(up, z) == pytest.approx(np.vdot(y, forward))
    pooled = host(ops.max_pool(on, 2, 1))
    windows = np.stack([x[:, i : i + 5, j : j + 4] for i in range(2) for j in range(2)])
    np.testing.assert_allclose(pooled, windows.max(axis=0))
    np.testing.assert_allclose(host(ops.average_pool(on, 2, 1)), windows.mean(axis=0))
    sequence = RNG.standard_normal((2, 8, 3))
    np.testing.assert_allclose(
        host(ops.max_pool(Tensor(backend.to_device(sequence, device)), 2)),
        sequence.reshape(2, 4, 2, 3).max(axis=2),
    )


def test_cross_entropies_normalizations_and_helpers(device):
    logits = RNG.standard_normal((4, 5))
    labels = RNG.integers(0, 5, 4)
    one_hot = np.eye(5)[labels]
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    on = Tensor(backend.to_device(logits, device))
    np.testing.assert_allclose(
        host(ops.categorical_crossentropy(one_hot, on, from_logits=True)), -(one_hot * log_p).sum(1)
    )
    np.testing.assert_allclose(
        host(ops.sparse_categorical_crossentropy(labels, on, from_logits=True)),
        -log_p[np.arange(4), labels],
    )
    probs = np.exp(log_p)
    np.testing.assert_allclose(
        host(ops.categorical_crossentropy(one_hot, Tensor(backend.to_device(probs, device)))),
        -(one_hot * np.log(probs)).sum(1),
        rtol=1e-6,
    )
    z = (RNG.random((3, 4)) > 0.5).astype(float)
    sig = 1 / (1 + np.exp(-logits[:3, :4]))
    bce = -(z * np.log(sig) + (1 - z) * np.log(1 - sig))
    np.testing.assert_allclose(
        host(ops.binary_crossentropy(z, on[:3, :4], from_logits=True)), bce, rtol=1e-6
    )
    check_gradients(
        lambda t: ops.binary_crossentropy(z, t, from_logits=True),
        logits[:3, :4].copy(),
        device=device,
    )
    mean, variance = ops.moments(on, axes=[0])
    np.testing.assert_allclose(host(mean), logits.mean(0))
    np.testing.assert_allclose(host(variance), logits.var(0))
    normed = ops.batch_normalization(on, logits.mean(0), logits.var(0), axis=1, epsilon=1e-3)
    np.testing.assert_allclose(
        host(normed), (logits - logits.mean(0)) / np.sqrt(logits.var(0) + 1e-3)
    )
    layer_normed = host(ops.layer_normalization(on, epsilon=1e-3))
    centered = logits - logits.mean(1, keepdims=True)
    np.testing.assert_allclose(
        layer_normed, centered / np.sqrt(logits.var(1, keepdims=True) + 1e-3)
    )
    np.testing.assert_array_equal(
        host(ops.multi_hot([[1, 3], [0, 0]], 4)), [[0, 1, 0, 1], [1, 0, 0, 0]]
    )
    a, b = RNG.random((2, 8)), RNG.random((2, 8))
    assert float(host(ops.psnr(a, b, 1.0))) == pytest.approx(
        20 * np.log10(1.0) - 10 * np.log10(((a - b) ** 2).mean()), rel=1e-6
    )
    frames = host(ops.extract_sequences(np.arange(10.0), 4, 3))
    np.testing.assert_array_equal(frames, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    np.testing.assert_array_equal(
        host(ops.in_top_k(labels, on, 2)),
        (logits > logits[np.arange(4), labels][:, None]).sum(1) < 2,
    )
    ids = np.array([0, 2, 0, 1])
    data = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(
        host(ops.segment_sum(backend.to_device(data, device), ids, 4)),
        [data[[0, 2]].sum(0), data[3], data[1], np.zeros(3)],
    )
    maxed = host(ops.segment_max(backend.to_device(data, device), ids))
    np.testing.assert_allclose(maxed, [data[[0, 2]].max(0), data[3], data[1]])
    check_gradients(lambda t: ops.segment_sum(t, ids, 3), data, device=device)


def test_dot_product_attention_follows_its_formula(device):
    q, k, v = RNG.standard_normal((3, 2, 5, 3, 4))  # (batch, steps, heads, dim)
    got = ops.dot_product_attention(
        *(Tensor(backend.to_device(t, device)) for t in (q, k, v)), is_causal=True
    )
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / 2.0
    scores = np.where(np.tril(np.ones((5, 5))) > 0, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(host(got), np.einsum("bhqk,bkhd->bqhd", weights, v), atol=1e-10)
    check_gradients(
        lambda a, b, c: ops.dot_product_attention(a, b, c),
        q[:1, :3],
        k[:1, :3],
        v[:1, :3],
        device=device,
    )


def test_control_flow_scatter_slice_and_custom_gradient(device):
    assert ops.cond(Tensor(np.array(True)), lambda: 1, lambda: 2) == 1
    total, i = ops.while_loop(lambda t, i: i < 5, lambda t, i: (t + i, i + 1), (0, 0))
    assert (total, i) == (10, 5)
    assert ops.while_loop(lambda x: x < 100, lambda x: x * 2, 1, maximum_iterations=3) == 8
    assert ops.fori_loop(0, 4, lambda i, acc: acc + i, 10) == 16
    values = RNG.standard_normal(3)
    scattered = ops.scatter([[0, 1], [2, 2], [0, 1]], backend.to_device(values, device), (3, 3))
    expected = np.zeros((3, 3))
    np.add.at(expected, ([0, 2, 0], [1, 2, 1]), values)
    np.testing.assert_allclose(host(scattered), expected)
    check_gradients(lambda t: ops.scatter([[0, 1], [2, 2]], t, (3, 3)), values[:2], device=device)
    base = RNG.standard_normal((3, 4))
    updated = ops.scatter_update(
        backend.to_device(base, device), [[1, 2], [0, 0]], backend.to_device(values[:2], device)
    )
    want = base.copy()
    want[1, 2], want[0, 0] = values[:2]
    np.testing.assert_allclose(host(updated), want)
    np.testing.assert_allclose(host(ops.slice(base, [1, 1], [2, 2])), base[1:3, 1:3])
    patch = RNG.standard_normal((2, 2))
    replaced = base.copy()
    replaced[1:3, 2:4] = patch
    np.testing.assert_allclose(
        host(
            ops.slice_update(
                backend.to_device(base, device), [1, 2], backend.to_device(patch, device)
            )
        ),
        replaced,
    )
    check_gradients(lambda a, b: ops.slice_update(a, [1, 2], b), base, patch, device=device)

    @ops.custom_gradient
    def clipped_identity(x):
        def grad(upstream):
            return ops.clip(upstream, -0.1, 0.1)

        return x * 1.0, grad

    t = Tensor(backend.to_device(np.array([1.0, 2.0]), device), requires_grad=True)
    (clipped_identity(t) * backend.to_device(np.array([5.0, -0.05]), device)).sum().backward()
    np.testing.assert_allclose(host(t.grad), [0.1, -0.05])
    assert ops.dtype(base) == "float64" and ops.is_tensor(t) and not ops.is_tensor(base)
    np.testing.assert_array_equal(
        ops.saturate_cast(np.array([-300.0, 20.5, 999.0]), "uint8").data, [0, 20, 255]
    )
    assert isinstance(ops.convert_to_numpy(t), np.ndarray)


def test_erf_and_erfinv_follow_math_and_their_gradients_check(device):
    import math

    x = np.linspace(-2.5, 2.5, 11)
    got = host(ops.erf(Tensor(backend.to_device(x, device))))
    np.testing.assert_allclose(got, [math.erf(v) for v in x], rtol=1e-12, atol=1e-15)
    check_gradients(ops.erf, x.reshape(1, -1).copy(), device=device)
    p = np.array([-0.9999, -0.7, -0.1, 0.0, 0.25, 0.6, 0.99, 0.999999])
    inverse = host(ops.erfinv(Tensor(backend.to_device(p, device))))
    np.testing.assert_allclose([math.erf(v) for v in inverse], p, rtol=1e-12, atol=1e-14)
    check_gradients(ops.erfinv, p[1:-1].reshape(1, -1).copy(), device=device)
    edges = host(ops.erfinv(Tensor(backend.to_device(np.array([1.0, -1.0, 1.5]), device))))
    assert edges[0] == np.inf and edges[1] == -np.inf and np.isnan(edges[2])
    single = host(ops.erf(Tensor(backend.to_device(np.array([0.5], np.float32), device))))
    assert single.dtype == np.float32 and single[0] == pytest.approx(math.erf(0.5), rel=1e-6)


def test_erfc_keeps_its_precision_where_one_minus_erf_is_zero(device):
    """erfc(x) = 1 - erf(x), from its own kernel: relative precision far into the tail
    (erfc(9) = 4e-37, where 1 - erf(9) is 0 in float32 and float64 alike)."""
    import math

    x = np.array([-6.0, -2.0, -0.3, 0.0, 0.7, 3.0, 6.0, 9.0, 27.0])
    got = host(ops.erfc(Tensor(backend.to_device(x, device))))
    np.testing.assert_allclose(got, [math.erfc(v) for v in x], rtol=1e-13, atol=0)
    check_gradients(ops.erfc, np.linspace(-2.5, 2.5, 11).reshape(1, -1), device=device)
    tail = backend.to_device(np.array([4.0, 9.0], np.float32), device)
    single = host(ops.erfc(Tensor(tail)))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, [math.erfc(4.0), math.erfc(9.0)], rtol=1e-5)


def test_fourier_ops_follow_numpy_fft_and_their_gradients_check(device):
    real, imag = RNG.standard_normal((2, 3, 6))
    pair = tuple(Tensor(backend.to_device(v, device)) for v in (real, imag))
    spectrum = np.fft.fft(real + 1j * imag)
    got = ops.fft(pair)
    np.testing.assert_allclose(host(got[0]), spectrum.real, atol=1e-10)
    np.testing.assert_allclose(host(got[1]), spectrum.imag, atol=1e-10)
    two = np.fft.fft2(real + 1j * imag)
    got2 = ops.fft2(pair)
    np.testing.assert_allclose(host(got2[0]) + 1j * host(got2[1]), two, atol=1e-10)
    back = ops.ifft2(got2)
    np.testing.assert_allclose(host(back[0]), real, atol=1e-10)
    np.testing.assert_allclose(host(back[1]), imag, atol=1e-10)
    for length in (None, 8, 5):
        r, i = ops.rfft(pair[0], length)
        expected = np.fft.rfft(real, length)
        np.testing.assert_allclose(host(r) + 1j * host(i), expected, atol=1e-10)
        n = length or 6
        restored = host(ops.irfft((r, i), n))
        np.testing.assert_allclose(restored, np.fft.irfft(expected, n), atol=1e-10)
    check_gradients(lambda a, b: ops.fft((a, b))[1], real, imag, device=device)
    check_gradients(lambda a: ops.irfft(ops.rfft(a, 8), 7), real, device=device)
    with pytest.raises(ValueError, match="a \\(real, imaginary\\) pair"):
        ops.fft(pair[0])


def naive_unfold(x, k, d, p, s):
    """PyTorch's unfold by loops: column (c, i, j), row the window's place."""
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    oh = (x.shape[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (x.shape[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((x.shape[0], x.shape[1] * k[0] * k[1], oh * ow))
    for c, i, j, r, q in np.ndindex(x.shape[1], k[0], k[1], oh, ow):
        row = (c * k[0] + i) * k[1] + j
        out[:, row, r * ow + q] = x[:, c, r * s[0] + i * d[0], q * s[1] + j * d[1]]
    return out


@pytest.mark.parametrize(
    "k, d, p, s", [((3, 3), (1, 1), (0, 0), (1, 1)), ((2, 3), (2, 1), (1, 2), (2, 1))]
)
def test_unfold_follows_a_loop_and_its_gradient_adds_overlaps(k, d, p, s, device):
    x = RNG.standard_normal((2, 2, 6, 5))
    got = host(ops.unfold(Tensor(backend.to_device(x, device)), k, d, p, s))
    np.testing.assert_allclose(got, naive_unfold(x, k, d, p, s), atol=0)
    check_gradients(lambda t: ops.unfold(t, k, d, p, s), x, device=device)
    with pytest.raises(ValueError, match="does not fit"):
        ops.unfold(x, 7)


def test_depth_to_space_follows_tensorflows_rule_and_inverts(device):
    x = RNG.standard_normal((2, 3, 2, 12))
    got = host(ops.depth_to_space(Tensor(backend.to_device(x, device)), 2))
    # TensorFlow's NHWC rule: out[n, h b + i, w b + j, c] = in[n, h, w, (i b + j) C + c]
    for n, h, w, i, j, c in np.ndindex(2, 3, 2, 2, 2, 3):
        assert got[n, h * 2 + i, w * 2 + j, c] == x[n, h, w, (i * 2 + j) * 3 + c]
    back = ops.space_to_depth(backend.to_device(got, device), 2)
    np.testing.assert_array_equal(host(back), x)
    first = np.moveaxis(x, -1, 1)  # channels first: PyTorch's pixel shuffle, (c, i, j)
    shuffled = host(ops.depth_to_space(first, 2, "channels_first"))
    for n, c, h, w, i, j in np.ndindex(2, 3, 3, 2, 2, 2):
        assert shuffled[n, c, h * 2 + i, w * 2 + j] == first[n, c * 4 + i * 2 + j, h, w]
    np.testing.assert_array_equal(host(ops.space_to_depth(shuffled, 2, "channels_first")), first)
    check_gradients(lambda t: ops.depth_to_space(t, 2), x[:1, :2], device=device)
    with pytest.raises(ValueError, match="do not divide by 3"):
        ops.depth_to_space(x, 3)
    with pytest.raises(ValueError, match="does not divide by 2"):
        ops.space_to_depth(x, 2)


def test_unfold_and_pixel_shuffle_equal_pytorchs():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 8, 6, 4)).astype(np.float32)
    expected = torch.nn.functional.unfold(torch.tensor(x), (2, 3), 1, (1, 0), (2, 1)).numpy()
    np.testing.assert_array_equal(host(ops.unfold(x, (2, 3), 1, (1, 0), (2, 1))), expected)
    shuffled = torch.nn.functional.pixel_shuffle(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(host(ops.depth_to_space(x, 2, "channels_first")), shuffled)
