"""The 3-D layers (Conv3D, Conv3DTranspose, the 3-D pools, padding, cropping, upsampling,
SpatialDropout3D) against naive loops over voxels, with Keras' shapes and parameter counts,
float64 gradient checks on every device, training and saving."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients

from minicnn import Input, Sequential, backend, load_model, optimizers, volume_ops
from minicnn import functions as F
from minicnn import layers as L


def naive_conv3d(x, w, strides, padding, dilation=(1, 1, 1), groups=1):
    """Loops over output voxels and taps: a (dilated, grouped) 3-D cross-correlation."""
    n, d, h, wd, c = x.shape
    spans = [(k - 1) * r + 1 for k, r in zip(w.shape[:3], dilation, strict=True)]
    geometry = [
        F.window_geometry(size, span, s, padding)
        for size, span, s in zip((d, h, wd), spans, strides, strict=True)
    ]
    (od, pf, _), (oh, pt, _), (ow, pl, _) = geometry
    step_in, filters = w.shape[3], w.shape[4]
    step_out = filters // groups
    out = np.zeros((n, od, oh, ow, filters))
    for i, j, k in np.ndindex(od, oh, ow):
        for a, b, e in np.ndindex(*w.shape[:3]):
            z = i * strides[0] - pf + a * dilation[0]
            y = j * strides[1] - pt + b * dilation[1]
            v = k * strides[2] - pl + e * dilation[2]
            if not (0 <= z < d and 0 <= y < h and 0 <= v < wd):
                continue
            for g in range(groups):
                voxel = x[:, z, y, v, g * step_in : (g + 1) * step_in]
                block = slice(g * step_out, (g + 1) * step_out)
                out[:, i, j, k, block] += voxel @ w[a, b, e, :, block]
    return out


def naive_pool3d(x, pool, strides, padding, mode):
    """Loops over windows; only voxels inside the input count (max pads with -inf)."""
    n, d, h, wd, c = x.shape
    geometry = [
        F.window_geometry(size, p, s, padding)
        for size, p, s in zip((d, h, wd), pool, strides, strict=True)
    ]
    (od, pf, _), (oh, pt, _), (ow, pl, _) = geometry
    out = np.zeros((n, od, oh, ow, c))
    for i, j, k in np.ndindex(od, oh, ow):
        z0, y0, v0 = i * strides[0] - pf, j * strides[1] - pt, k * strides[2] - pl
        window = x[
            :,
            max(z0, 0) : z0 + pool[0],
            max(y0, 0) : y0 + pool[1],
            max(v0, 0) : v0 + pool[2],
        ]
        reduce = np.max if mode == "max" else np.mean
        out[:, i, j, k] = reduce(window, axis=(1, 2, 3))
    return out


def on(device):
    return lambda a: backend.to_device(a, device)


CONV_CASES = [
    # kernel, strides, padding, dilation, groups
    ((3, 3, 3), (1, 1, 1), "same", (1, 1, 1), 1),
    ((2, 3, 2), (2, 1, 2), "valid", (1, 1, 1), 1),
    ((2, 2, 2), (2, 2, 2), "same", (1, 1, 1), 1),  # an even window: the odd pad goes after
    ((2, 3, 2), (1, 1, 1), "same", (2, 1, 2), 1),
    ((3, 1, 2), (1, 2, 1), "valid", (1, 1, 1), 2),
]


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv3d_layer_matches_loops(case, device):
    kernel, strides, padding, dilation, groups = CONV_CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((2, 5, 6, 4, 4))
    layer = L.Conv3D(
        4, kernel, strides, padding, dilation_rate=dilation, groups=groups, activation="relu"
    )
    model = Sequential([Input(x.shape[1:]), layer]).to(device)
    w = rng.standard_normal((*kernel, 4 // groups, 4))
    b = rng.standard_normal(4)
    layer.set_weights([w, b])
    expected = np.maximum(naive_conv3d(x, w, strides, padding, dilation, groups) + b, 0)
    assert model.output_shape == (None, *expected.shape[1:])
    assert model.count_params() == w.size + 4
    got = model.predict(x.astype(np.float32), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv3d_gradients_check_in_float64(case, device):
    kernel, strides, padding, dilation, groups = CONV_CASES[case]
    x = np.random.default_rng(20 + case).standard_normal((2, 4, 5, 3, 2))
    layer = L.Conv3D(2, kernel, strides, padding, dilation_rate=dilation, groups=groups)
    check_layer_gradients(layer, x, device=device)


def test_the_fused_relu_gradient_checks(device):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4, 2))
    check_layer_gradients(L.Conv3D(3, 2, padding="same", activation="relu"), x, device=device)


@pytest.mark.parametrize(
    "kernel,strides,padding",
    [
        ((3, 3, 3), (1, 1, 1), "same"),
        ((2, 3, 2), (2, 1, 3), "valid"),
        ((3, 2, 1), (2, 2, 2), "same"),
    ],
)
def test_conv3d_transpose_is_the_adjoint_of_conv3d(kernel, strides, padding, device):
    """<conv3d(y, w), x> = <y, conv3d_transpose(x, w)>, with Keras' output sizes; and its
    float64 gradients check."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 2, 4, 3))
    w = rng.standard_normal((*kernel, 4, 3))
    to = on(device)
    out = host(volume_ops.conv3d_transpose(to(x), to(w), to(np.zeros(4)), strides, padding))
    sizes = [  # Keras' rule: a window shorter than its stride leaves s - k more
        size * s if padding == "same" else size * s + max(k - s, 0)
        for size, k, s in zip((3, 2, 4), kernel, strides, strict=True)
    ]
    assert out.shape == (2, *sizes, 4)
    y = rng.standard_normal(out.shape)
    back = host(volume_ops.conv3d(to(y), to(w), to(np.zeros(3)), strides, padding))
    assert float((back * x).sum()) == pytest.approx(float((y * out).sum()), rel=1e-10)
    b = rng.standard_normal(4)
    check_gradients(
        lambda *t: volume_ops.conv3d_transpose(*t, strides, padding), x, w, b, device=device
    )


def test_conv3d_transpose_layer(device, tmp_path):
    layer = L.Conv3DTranspose(3, (2, 3, 3), strides=(1, 2, 2), padding="same")
    model = Sequential([Input((3, 4, 4, 2)), layer]).to(device)
    assert model.output_shape == (None, 3, 8, 8, 3)
    assert [w.shape for w in layer.get_weights()] == [(2, 3, 3, 3, 2), (3,)]
    assert model.count_params() == 2 * 3 * 3 * 3 * 2 + 3
    x = np.random.default_rng(8).standard_normal((2, 3, 4, 4, 2))
    check_layer_gradients(L.Conv3DTranspose(2, 2, strides=2, activation="relu"), x, device=device)
    check_layer_gradients(L.Conv3DTranspose(3, 2, use_bias=False), x, device=device)


POOL_CASES = [
    ((2, 2, 2), (2, 2, 2), "valid"),
    ((3, 3, 3), (1, 1, 1), "same"),
    ((2, 3, 2), (1, 2, 2), "same"),
    ((3, 2, 2), (2, 1, 2), "valid"),
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pool3d_matches_loops_and_its_gradients_check(mode, case, device):
    pool, strides, padding = POOL_CASES[case]
    # All negative: a max that padded with zeros instead of -inf would show.
    x = -np.random.default_rng(case).random((2, 5, 4, 5, 3)) - 0.1
    layer = (L.MaxPooling3D if mode == "max" else L.AveragePooling3D)(pool, strides, padding)
    model = Sequential([Input(x.shape[1:]), layer]).to(device)
    expected = naive_pool3d(x, pool, strides, padding, mode)
    assert model.output_shape == (None, *expected.shape[1:])
    got = model.predict(x.astype(np.float32), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # Distinct values, so every max has one winner and finite differences do not cross ties.
    distinct = np.random.default_rng(40 + case).permutation(x.size).reshape(x.shape) * 0.01
    check_layer_gradients(layer, distinct, device=device)


def test_default_pool_is_two_and_strides_follow_it():
    layer = L.MaxPooling3D()
    Sequential([Input((4, 6, 8, 1)), layer])
    assert layer.pool_size == (2, 2, 2) and layer.strides == (2, 2, 2)
    assert layer.sample_output_shape == (2, 3, 4, 1)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools(keepdims, device):
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 3, 5))
    for cls, reduce in ((L.GlobalAveragePooling3D, np.mean), (L.GlobalMaxPooling3D, np.max)):
        layer = cls(keepdims=keepdims)
        model = Sequential([Input(x.shape[1:]), layer]).to(device)
        expected = reduce(x, axis=(1, 2, 3), keepdims=keepdims)
        assert model.output_shape == (None, *expected.shape[1:])
        got = model.predict(x.astype(np.float32), verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        check_layer_gradients(cls(keepdims=keepdims), x, device=device)


def test_padding_cropping_and_upsampling(device):
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 2, 3))
    cases = [
        (L.ZeroPadding3D(1), np.pad(x, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0)))),
        (
            L.ZeroPadding3D(((0, 2), (1, 0), (2, 1))),
            np.pad(x, ((0, 0), (0, 2), (1, 0), (2, 1), (0, 0))),
        ),
        (L.Cropping3D(((1, 0), (1, 2), (0, 1))), x[:, 1:, 1:2, :1]),
        (L.Cropping3D((1, 1, 0)), x[:, 1:2, 1:3, :]),
        (L.UpSampling3D((2, 1, 3)), x.repeat(2, axis=1).repeat(3, axis=3)),
        (L.UpSampling3D(), x.repeat(2, axis=1).repeat(2, axis=2).repeat(2, axis=3)),
    ]
    for layer, expected in cases:
        model = Sequential([Input(x.shape[1:]), layer]).to(device)
        assert model.output_shape == (None, *expected.shape[1:]), layer
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
        check_layer_gradients(type(layer).from_config(layer.get_config()), x, device=device)


def test_spatial_dropout3d_drops_whole_channels(device):
    layer = L.SpatialDropout3D(0.5)
    x = np.ones((8, 2, 3, 3, 6), np.float32)
    model = Sequential([Input(x.shape[1:]), layer]).to(device)
    out = host(layer(backend.to_device(x, device), training=True).data)
    per_channel = out.reshape(8, -1, 6)
    assert np.all(per_channel == per_channel[:, :1]), "one draw per sample and channel"
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def octant_data(n, seed):
    """Volumes of noise with one bright 2x2x2 blob; the label is the octant it sits in."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, (n, 6, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 8, n)
    for i, label in enumerate(y):
        z, r, c = (label >> 2) & 1, (label >> 1) & 1, label & 1
        pos = [v * 3 + rng.integers(0, 2) for v in (z, r, c)]
        x[i, pos[0] : pos[0] + 2, pos[1] : pos[1] + 2, pos[2] : pos[2] + 2] += 2.0
    return x, y


def test_a_3d_cnn_learns_where_a_blob_is_and_saves(device, tmp_path):
    x, y = octant_data(256, 0)
    x_test, y_test = octant_data(128, 1)
    model = Sequential(
        [
            Input((6, 6, 6, 1)),
            L.Conv3D(8, 3, padding="same", activation="relu"),
            L.MaxPooling3D(3),
            L.Flatten(),
            L.Dense(8, activation="softmax"),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9
    model.save(tmp_path / "volumes.minicnn")
    loaded = load_model(tmp_path / "volumes.minicnn", device=device)
    np.testing.assert_array_equal(
        loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0)
    )


def test_every_3d_layer_survives_config_and_saving(tmp_path):
    model = Sequential(
        [
            Input((4, 6, 6, 2)),
            L.ZeroPadding3D((0, 1, 1)),
            L.Conv3D(4, (2, 3, 3), dilation_rate=(1, 2, 2), groups=2, kernel_regularizer="l2"),
            L.SpatialDropout3D(0.2),
            L.UpSampling3D((1, 2, 2)),
            L.Conv3DTranspose(2, 2, strides=(1, 1, 1), padding="same"),
            L.AveragePooling3D((1, 2, 2), padding="same"),
            L.MaxPooling3D((1, 2, 2)),
            L.Cropping3D(((1, 0), (0, 0), (0, 0))),
            L.GlobalMaxPooling3D(keepdims=True),
            L.GlobalAveragePooling3D(),
        ]
    )
    assert model.output_shape == (None, 2)
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6, 2)).astype(np.float32)
    model.save(tmp_path / "all.minicnn")
    loaded = load_model(tmp_path / "all.minicnn")
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers
    ]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "make,shape,message",
    [
        (lambda: L.Conv3D(2, 3), (8, 8, 1), "expects input of shape (batch, depth"),
        (lambda: L.Conv3D(2, 3), (2, 8, 8, 1), "window does not fit"),
        (lambda: L.MaxPooling3D(3), (2, 6, 6, 1), "does not fit"),
        (lambda: L.Cropping3D(2), (4, 6, 6, 1), "leaves nothing"),
        (lambda: L.Conv3D(3, 3, groups=3), (4, 4, 4, 2), "divisible by groups"),
    ],
)
def test_bad_shapes_are_named(make, shape, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Sequential([Input(shape), make()])


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: L.Conv3D(2, (3, 3)), "kernel_size must be a positive int or three"),
        (lambda: L.Conv3D(2, 3, strides=2, dilation_rate=2), "strides > 1 together"),
        (lambda: L.MaxPooling3D(0), "pool_size must be a positive int"),
        (lambda: L.ZeroPadding3D((1, 2)), "padding must be an int, three ints"),
        (lambda: L.Conv3D(2, 3, data_format="NDHWC"), "must be 'channels_last' or"),
    ],
)
def test_bad_arguments_are_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_the_functions_refuse_mismatched_kernels():
    x = np.zeros((1, 3, 3, 3, 2))
    with pytest.raises(ValueError, match="conv3d: input of shape"):
        volume_ops.conv3d(x, np.zeros((2, 2, 2, 3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="needs \\(N, D, H, W, C\\) input"):
        volume_ops.max_pool3d(np.zeros((1, 3, 3, 2)))


def test_a_3d_cnn_step_is_captured_in_a_cuda_graph_and_trains_the_same(gpu):
    """jit_compile=True: every 3-D operation runs in a captured, replayed step (no cuBLAS, no
    host reads), with the same training as uncaptured."""
    from test_graph_step import assert_captured_trains_like_plain

    x, y = octant_data(40, 2)
    captured = assert_captured_trains_like_plain(
        lambda: [
            Input((6, 6, 6, 1)),
            L.Conv3D(4, 3, padding="same", activation="relu"),
            L.AveragePooling3D(2, padding="same"),
            L.Conv3DTranspose(2, 2, strides=(1, 2, 1)),
            L.SpatialDropout3D(0.2),
            L.MaxPooling3D((2, 3, 2)),
            L.Flatten(),
            L.Dense(8, activation="softmax"),
        ],
        x,
        y,
        metrics=["accuracy"],
    )
    # Five batches an epoch: the first step runs plain, the second is captured, then replays.
    assert captured._captured_step.replays == 3 + 5


def test_conv3d_transpose_output_padding_sizes_and_gradients(device):
    """Keras' sizes with output_padding: (n - 1) s + k - 2 pad + output_padding, pad k // 2
    with 'same' (0 with 'valid'); the float64 gradients check."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 2, 2, 2))
    w = rng.standard_normal((4, 3, 2, 3, 2))
    b = rng.standard_normal(3)
    to = on(device)
    for padding, extra in (("same", (1, 0, 1)), ("valid", (1, 2, 0))):
        out = host(volume_ops.conv3d_transpose(to(x), to(w), to(b), (2, 3, 2), padding, extra))
        pads = [k // 2 if padding == "same" else 0 for k in (4, 3, 2)]
        sizes = [
            (n - 1) * s + k - 2 * p + e
            for n, s, k, p, e in zip((3, 2, 2), (2, 3, 2), (4, 3, 2), pads, extra, strict=True)
        ]
        assert out.shape == (2, *sizes, 3)
        check_gradients(
            lambda *t, padding=padding, extra=extra: volume_ops.conv3d_transpose(
                *t, (2, 3, 2), padding, extra
            ),
            x,
            w,
            b,
            device=device,
        )
