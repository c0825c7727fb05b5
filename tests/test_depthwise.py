"""DepthwiseConv2D, SeparableConv2D and dilated convolutions against naive loops, with float64
gradient checks on every backend."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients

from minicnn import Input, Sequential, backend, conv_ops, load_model, optimizers
from minicnn import functions as F
from minicnn import layers as L


def naive_conv(x, w, strides, padding, dilation=(1, 1), depthwise=False):
    """Loops over output pixels, taps and channels: a plain or depthwise (dilated) conv."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    span_h, span_w = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    oh, pt, _ = F.window_geometry(h, span_h, strides[0], padding)
    ow, pl, _ = F.window_geometry(wd, span_w, strides[1], padding)
    channels = c * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((n, oh, ow, channels))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    r = i * strides[0] - pt + p * dilation[0]
                    s = j * strides[1] - pl + q * dilation[1]
                    if not (0 <= r < h and 0 <= s < wd):
                        continue
                    pixel = x[:, r, s, :]
                    if depthwise:
                        out[:, i, j, :] += (pixel[:, :, None] * w[p, q]).reshape(n, -1)
                    else:
                        out[:, i, j, :] += pixel @ w[p, q]
    return out


@pytest.mark.parametrize(
    "kernel,strides,padding,multiplier",
    [
        ((3, 3), (1, 1), "same", 1),
        ((2, 3), (2, 2), "same", 1),  # the CPU's in-place kernels: strides, an even window
        ((3, 3), (2, 1), "valid", 1),
        ((3, 2), (2, 1), "valid", 2),
        ((2, 2), (2, 2), "same", 3),
    ],
)
def test_depthwise_matches_loops_and_its_gradients_check(
    kernel, strides, padding, multiplier, device
):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6, 3))
    w = rng.standard_normal((*kernel, 3, multiplier))
    b = rng.standard_normal(3 * multiplier)
    got = conv_ops.depthwise_conv2d(
        *(backend.to_device(a, device) for a in (x, w, b)), strides, padding
    )
    expected = naive_conv(x, w, strides, padding, depthwise=True) + b
    np.testing.assert_allclose(host(got), expected, rtol=1e-10, atol=1e-12)
    check_gradients(
        lambda *t: conv_ops.depthwise_conv2d(*t, strides, padding), x, w, b, device=device
    )


@pytest.mark.parametrize("rate,padding", [((2, 2), "same"), ((1, 3), "valid"), ((2, 1), "valid")])
def test_dilated_conv_matches_loops_and_its_gradients_check(rate, padding, device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 8, 2))
    layer = L.Conv2D(3, 3, padding=padding, dilation_rate=rate)
    layer.to(device)
    layer.build(x.shape)
    w, b = layer.get_weights()
    out = host(layer(backend.to_device(x.astype(np.float32), device)))
    expected = naive_conv(x, w, (1, 1), padding, rate) + b
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert out.shape[1:] == layer.sample_output_shape
    check_layer_gradients(L.Conv2D(2, 3, padding=padding, dilation_rate=rate), x, device=device)


def test_depthwise_and_separable_layer_gradients(device):
    x = np.random.default_rng(2).standard_normal((2, 5, 5, 3))
    check_layer_gradients(
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), x, device=device
    )
    check_layer_gradients(
        L.DepthwiseConv2D(2, activation="relu", use_bias=False, dilation_rate=2), x, device=device
    )
    check_layer_gradients(L.SeparableConv2D(4, 3, depth_multiplier=2), x, device=device)


def test_separable_is_depthwise_then_pointwise():
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 3))
    layer = L.SeparableConv2D(5, 3, padding="same", depth_multiplier=2)
    layer.build(x.shape)
    depthwise, pointwise, bias = layer.get_weights()
    expected = naive_conv(x, depthwise, (1, 1), "same", depthwise=True) @ pointwise[0, 0] + bias
    np.testing.assert_allclose(layer(x.astype(np.float32)).data, expected, rtol=1e-4, atol=1e-5)


def test_param_counts_shapes_save_and_errors_follow_keras(tmp_path):
    model = Sequential(
        [
            Input((12, 12, 8)),
            L.DepthwiseConv2D(3, depth_multiplier=2),  # 3*3*8*2 + 16 = 160
            L.SeparableConv2D(16, 3, padding="same"),  # 3*3*16 + 16*16 + 16 = 416
            L.Conv2D(4, 3, dilation_rate=2),  # 3*3*16*4 + 4 = 580, a 5x5 span
        ]
    )
    assert [layer.count_params() for layer in model.layers] == [160, 416, 580]
    assert [layer.sample_output_shape for layer in model.layers] == [
        (10, 10, 16),
        (10, 10, 16),
        (6, 6, 4),
    ]
    x = np.random.default_rng(4).random((2, 12, 12, 8), np.float32)
    model.save(tmp_path / "m.minicnn")
    np.testing.assert_array_equal(
        load_model(tmp_path / "m.minicnn").predict(x, verbose=0), model.predict(x, verbose=0)
    )
    with pytest.raises(ValueError, match="strides > 1 together with dilation_rate > 1"):
        L.Conv2D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"a 5x5 'valid' window does not fit its 4x4 input"):
        Sequential([Input((4, 4, 1)), L.Conv2D(1, 3, dilation_rate=2)])
    with pytest.raises(ValueError, match=r"\(DepthwiseConv2D\) expects input of shape"):
        Sequential([Input((4,)), L.DepthwiseConv2D(3)])


@pytest.mark.parametrize(
    "kernel,strides,padding",
    [((3, 3), (2, 2), "same"), ((3, 2), (2, 1), "valid"), ((4, 4), (2, 2), "same")],
)
def test_conv2d_transpose_is_the_adjoint_of_conv2d(kernel, strides, padding, device):
    """<conv2d(y, w), x> = <y, conv2d_transpose(x, w)> for every x and y, with Keras' output
    sizes; and its float64 gradients check."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 3))
    w = rng.standard_normal((*kernel, 4, 3))
    on = lambda a: backend.to_device(a, device)  # noqa: E731
    out = host(conv_ops.conv2d_transpose(on(x), on(w), on(np.zeros(4)), strides, padding))
    sizes = [
        size * s if padding == "same" else (size - 1) * s + k
        for size, k, s in zip((3, 4), kernel, strides, strict=True)
    ]
    assert out.shape == (2, *sizes, 4)
    y = rng.standard_normal(out.shape)
    back = host(F.conv2d(on(y), on(w), on(np.zeros(3)), strides, padding))
    assert float((back * x).sum()) == pytest.approx(float((y * out).sum()), rel=1e-10)
    b = rng.standard_normal(4)
    check_gradients(
        lambda *t: conv_ops.conv2d_transpose(*t, strides, padding), x, w, b, device=device
    )


def test_a_transposed_conv_decoder_trains(device, tmp_path):
    from test_models import toy_data

    x, _ = toy_data(64)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            L.Conv2DTranspose(1, 3, strides=2, padding="same"),
        ]
    ).to(device)
    assert model.layers[1].sample_output_shape == (8, 8, 1)
    assert [w.shape for w in model.layers[1].get_weights()] == [(3, 3, 1, 4), (1,)]
    model.compile(optimizers.Adam(0.01), "mse")
    history = model.fit(x, x, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    model.save(tmp_path / "m.minicnn")
    np.testing.assert_array_equal(
        load_model(tmp_path / "m.minicnn", device=device).predict(x, verbose=0),
        model.predict(x, verbose=0),
    )
    check_layer_gradients(
        L.Conv2DTranspose(2, 3, strides=2, activation="relu"),
        np.random.default_rng(6).standard_normal((2, 3, 3, 2)),
        device=device,
    )
    # Without a bias the layer adds zeros of its output width (filters, not the kernel's
    # last axis, which is the input's).
    check_layer_gradients(
        L.Conv2DTranspose(3, 2, use_bias=False),
        np.random.default_rng(7).standard_normal((2, 3, 3, 2)),
        device=device,
    )


def test_layers_without_a_bias_and_their_penalties():
    x = np.ones((2, 5, 5, 3), np.float32)
    separable = L.SeparableConv2D(
        4, 3, depthwise_regularizer="l2", bias_regularizer="l1", bias_initializer="ones"
    )
    separable(x)
    depthwise_kernel = separable.get_weights()[0]
    assert [float(p.data) for p in separable.losses] == pytest.approx(
        [0.01 * (depthwise_kernel**2).sum(), 0.01 * 4]
    )
    assert L.SeparableConv2D(4, 3, use_bias=False)(x).shape == (2, 3, 3, 4)
    assert L.DepthwiseConv2D(3, use_bias=False, depth_multiplier=2)(x).shape == (2, 3, 3, 6)


@pytest.mark.parametrize(
    "groups,filters,kernel,strides,padding,dilation",
    [
        (2, 6, (3, 3), (1, 1), "same", (1, 1)),
        (3, 6, (2, 3), (2, 1), "valid", (1, 1)),
        (2, 6, 3, 1, "same", 2),
        # a group per input channel (ConvNeXt's), which runs as a depthwise convolution
        (6, 6, 3, 1, "same", 1),
        (6, 12, (2, 3), (2, 1), "valid", (1, 1)),
        (6, 12, 3, 1, "same", 2),
    ],
)
def test_grouped_convolutions_match_loops_per_group_and_their_gradients_check(
    groups, filters, kernel, strides, padding, dilation, device
):
    """Keras' groups: filter block g convolves input-channel block g alone; the output is
    the blocks side by side."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 5, 6))
    layer = L.Conv2D(
        filters, kernel, strides, padding, groups=groups, dilation_rate=dilation, use_bias=False
    )
    layer.build(x.shape)
    w = layer.get_weights()[0]
    assert w.shape == (*layer.kernel_size, 6 // groups, filters)
    step, out_step = 6 // groups, filters // groups
    blocks = [
        naive_conv(
            x[..., g * step : (g + 1) * step],
            w[..., g * out_step : (g + 1) * out_step],
            layer.strides,
            padding,
            layer.dilation_rate,
        )
        for g in range(groups)
    ]
    np.testing.assert_allclose(layer(x).data, np.concatenate(blocks, axis=-1), rtol=1e-5)
    check_layer_gradients(
        L.Conv2D(filters, kernel, strides, padding, groups=groups, dilation_rate=dilation),
        x,
        device=device,
    )


def test_grouped_conv1d_and_bad_groups():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 4))
    layer = L.Conv1D(6, 3, padding="causal", groups=2)
    out = layer(x).data
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 6)
    first = L.Conv1D(3, 3, padding="causal")
    first.build((None, 7, 2))
    first.set_weights([kernel[:, :, :3], bias[:3]])
    np.testing.assert_allclose(out[..., :3], first(x[..., :2]).data, rtol=1e-6)
    model = Sequential([Input((8, 8, 4)), L.Conv2D(8, 3, groups=4)])
    assert model.count_params() == 3 * 3 * 1 * 8 + 8
    with pytest.raises(ValueError, match=r"filters \(6\) must be divisible by groups \(4\)"):
        L.Conv2D(6, 3, groups=4)
    with pytest.raises(ValueError, match="the input's 3 channels must be divisible by groups"):
        Sequential([Input((5, 5, 3)), L.Conv2D(4, 3, groups=2)])
