"""DepthwiseConv2D, SeparableConv2D and dilated convolutions against naive loops, with float64
gradient checks on every backend."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients

from minicnn import Input, Sequential, backend, conv_ops, load_model
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
    [((3, 3), (1, 1), "same", 1), ((3, 2), (2, 1), "valid", 2), ((2, 2), (2, 2), "same", 3)],
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
    layer.build(x.shape[1:])
    w, b = layer.get_weights()
    out = host(layer(backend.to_device(x.astype(np.float32), device)))
    expected = naive_conv(x, w, (1, 1), padding, rate) + b
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert out.shape[1:] == layer.output_shape
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
    layer.build(x.shape[1:])
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
    assert [layer.output_shape for layer in model.layers] == [(10, 10, 16), (10, 10, 16), (6, 6, 4)]
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
