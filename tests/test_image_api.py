"""``minicnn.ops.image``, Keras' ops.image: colors against Python's colorsys, map_coordinates
and the warps against Keras' NumPy-backend recipe (pad, then SciPy's map_coordinates),
perspective against Keras' 8 x 8 solve, patches, crops and pads against loops and slices,
the blur against SciPy's 2-D convolution; float64 gradient checks on every device."""

import colorsys

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from gradcheck import check_gradients
from test_augmentation import keras_homography
from test_functions import host

from minicnn import backend, ops
from minicnn import layers as L
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)
image = ops.image


def on(x, device):
    return Tensor(backend.to_device(x, device))


def test_color_conversions_follow_colorsys(device):
    x = RNG.random((2, 4, 5, 3))
    x[0, 0, 0] = [0.3, 0.3, 0.3]  # gray: hue 0
    x[0, 0, 1] = 0.0  # black: saturation 0
    hsv = host(image.rgb_to_hsv(on(x, device)))
    expected = np.apply_along_axis(lambda p: colorsys.rgb_to_hsv(*p), -1, x)
    np.testing.assert_allclose(hsv, expected, atol=1e-12)
    rgb = host(image.hsv_to_rgb(on(expected, device)))
    np.testing.assert_allclose(rgb, x, atol=1e-12)
    gray = host(image.rgb_to_grayscale(on(x, device)))
    np.testing.assert_allclose(gray[..., 0], x @ [0.2989, 0.5870, 0.1140], atol=1e-12)
    first = host(image.rgb_to_hsv(np.moveaxis(x[0], -1, 0), data_format="channels_first"))
    np.testing.assert_allclose(first, np.moveaxis(expected[0], -1, 0), atol=1e-12)
    check_gradients(lambda t: image.rgb_to_hsv(t), x[1:, :2], device=device)  # no ties
    check_gradients(lambda t: image.hsv_to_rgb(t), expected[1:, :2], device=device)


def keras_map_coordinates(x, coordinates, order, fill_mode, fill_value=0.0):
    """Keras' NumPy backend: pad far enough by the mode, then SciPy reads inside."""
    padding = [
        (max(-int(np.floor(c.min())) + 1, 0), max(int(np.ceil(c.max())) + 1 - size, 0))
        for c, size in zip(coordinates, x.shape, strict=True)
    ]
    shifted = [c + p[0] for p, c in zip(padding, coordinates, strict=True)]
    mode = {"nearest": "edge", "mirror": "reflect", "reflect": "symmetric"}.get(
        fill_mode, fill_mode
    )
    extra = {"constant_values": fill_value} if fill_mode == "constant" else {}
    padded = np.pad(x, padding, mode=mode, **extra)
    return scipy.ndimage.map_coordinates(
        padded, shifted, order=order, mode=fill_mode, cval=fill_value
    )


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("order", [0, 1])
def test_map_coordinates_follows_keras(fill_mode, order, device):
    x = RNG.standard_normal((5, 4))
    coordinates = [RNG.uniform(-3, 8, (3, 7)), RNG.uniform(-4, 6, (3, 7))]
    got = host(image.map_coordinates(on(x, device), coordinates, order, fill_mode, 0.5))
    expected = keras_map_coordinates(x, coordinates, order, fill_mode, 0.5)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    if order == 1:
        check_gradients(
            lambda t: image.map_coordinates(t, coordinates, 1, fill_mode), x, device=device
        )


def test_map_coordinates_refuses_what_keras_refuses():
    with pytest.raises(ValueError, match="one coordinate array per axis"):
        image.map_coordinates(np.ones((3, 3)), [np.zeros(2)], 1)
    with pytest.raises(ValueError, match="order 0 or 1"):
        image.map_coordinates(np.ones((3, 3)), [np.zeros(2)] * 2, 3)
    with pytest.raises(ValueError, match="fill_mode must be one of"):
        image.map_coordinates(np.ones((3, 3)), [np.zeros(2)] * 2, 1, "edge")


def keras_warp(x, rows):
    """Each image and channel read where Keras' projective rows send its pixels."""
    n, h, w, c = x.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.zeros_like(x)
    for i in range(n):
        a = rows[i]
        k = a[6] * xs + a[7] * ys + 1
        col, row = (a[0] * xs + a[1] * ys + a[2]) / k, (a[3] * xs + a[4] * ys + a[5]) / k
        for ch in range(c):
            out[i, :, :, ch] = keras_map_coordinates(x[i, :, :, ch], [row, col], 1, "constant")
    return out


def test_affine_transform_follows_keras(device):
    x = RNG.random((2, 6, 7, 2))
    rows = np.array([[0.9, 0.2, 0.5, -0.1, 1.1, -0.7, 0, 0], [1, 0, 1.5, 0, 1, -2, 0.01, 0.02]])
    got = host(image.affine_transform(on(x, device), backend.to_device(rows, device)))
    np.testing.assert_allclose(got, keras_warp(x, rows), atol=1e-12)
    one = host(image.affine_transform(x[0], rows[0], interpolation="nearest", fill_mode="wrap"))
    np.testing.assert_allclose(one[:, :, 0], keras_nearest_wrap(x[0, :, :, 0], rows[0]), atol=1e-12)
    check_gradients(lambda t: image.affine_transform(t, rows), x[:, :4, :4, :1], device=device)
    with pytest.raises(ValueError, match="a transform is 8 numbers"):
        image.affine_transform(x, [1, 0, 0, 0, 1, 0])


def keras_nearest_wrap(channel, a):
    h, w = channel.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    k = a[6] * xs + a[7] * ys + 1
    col, row = (a[0] * xs + a[1] * ys + a[2]) / k, (a[3] * xs + a[4] * ys + a[5]) / k
    return keras_map_coordinates(channel, [row, col], 0, "wrap")


def test_perspective_transform_follows_kerass_solve(device):
    x = RNG.random((2, 7, 8, 1))
    start = np.array([[0, 0], [7, 0], [0, 6], [7, 6]], np.float64)
    end = np.array([[1, 0.5], [6, 0], [0.5, 6], [7, 5]], np.float64)
    got = host(image.perspective_transform(on(x, device), start, end))
    rows = np.tile(keras_homography(start, end), (2, 1))
    np.testing.assert_allclose(got, keras_warp(x, rows), atol=1e-10)
    same = host(image.perspective_transform(on(x, device), start, start))
    np.testing.assert_allclose(same, x, atol=1e-12)
    with pytest.raises(ValueError, match=r"both \(4, 2\)"):
        image.perspective_transform(x, start, end[:3])


def test_resize_is_the_resizing_layers(device):
    x = RNG.random((2, 9, 6, 3)).astype(np.float32)
    got = host(image.resize(on(x, device), (4, 5), crop_to_aspect_ratio=True))
    expected = L.Resizing(4, 5, crop_to_aspect_ratio=True)(x).data
    np.testing.assert_allclose(got, expected, atol=1e-6)
    single = host(image.resize(np.moveaxis(x[0], -1, 0), (3, 3), data_format="channels_first"))
    np.testing.assert_allclose(
        single, np.moveaxis(L.Resizing(3, 3)(x[:1]).data[0], -1, 0), atol=1e-6
    )
    with pytest.raises(ValueError, match="TensorFlow's area is not here"):
        image.resize(x, (2, 2), interpolation="area")


def test_crops_and_pads_follow_slices(device):
    x = RNG.random((2, 6, 7, 2))
    got = host(image.crop_images(on(x, device), 1, 2, target_height=3, target_width=4))
    np.testing.assert_array_equal(got, x[:, 1:4, 2:6])
    got = host(image.crop_images(on(x, device), 2, None, 1, 3))
    np.testing.assert_array_equal(got, x[:, 2:5, 0:4])
    padded = host(image.pad_images(on(x, device), 1, 0, target_height=9, right_padding=2))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (1, 2), (0, 2), (0, 0))))
    with pytest.raises(ValueError, match="exactly one of"):
        image.crop_images(x, 1, 1, 1, 1, target_height=3, target_width=3)
    with pytest.raises(ValueError, match="does not fit"):
        image.pad_images(x, 4, 0, target_height=8, target_width=7)


def naive_patches(x, k, s, d, padding):
    if padding == "same":

        def pads(size, kk, ss, dd):
            out = -(-size // ss)
            total = max((out - 1) * ss + (kk - 1) * dd + 1 - size, 0)
            return total // 2, total - total // 2

        x = np.pad(x, ((0, 0), pads(x.shape[1], k, s, d), pads(x.shape[2], k, s, d), (0, 0)))
    n, h, w, c = x.shape
    oh, ow = (h - d * (k - 1) - 1) // s + 1, (w - d * (k - 1) - 1) // s + 1
    out = np.zeros((n, oh, ow, k * k * c))
    for r, q, i, j in np.ndindex(oh, ow, k, k):
        out[:, r, q, (i * k + j) * c : (i * k + j + 1) * c] = x[:, r * s + i * d, q * s + j * d]
    return out


@pytest.mark.parametrize(
    "k, s, d, padding", [(2, None, 1, "valid"), (3, 2, 1, "same"), (2, 1, 2, "same")]
)
def test_extract_patches_follow_tensorflows_order(k, s, d, padding, device):
    x = RNG.standard_normal((2, 7, 6, 3))
    got = host(image.extract_patches(on(x, device), k, s, d, padding))
    np.testing.assert_allclose(got, naive_patches(x, k, s or k, d, padding), atol=0)
    check_gradients(
        lambda t: image.extract_patches(t, k, s, d, padding), x[:1, :5, :5, :2], device=device
    )


def test_gaussian_blur_follows_scipy(device):
    x = RNG.random((2, 7, 6, 2))
    got = host(image.gaussian_blur(on(x, device), (5, 5), (1.3, 1.3)))
    taps = np.exp(-0.5 * ((np.arange(5) - 2) / 1.3) ** 2)
    kernel = np.outer(taps, taps) / taps.sum() ** 2
    for i, ch in np.ndindex(2, 2):
        expected = scipy.signal.convolve2d(np.pad(x[i, :, :, ch], 2), kernel, mode="valid")
        np.testing.assert_allclose(got[i, :, :, ch], expected, atol=1e-12)
    check_gradients(
        lambda t: image.gaussian_blur(t, (3, 3), (0.8, 1.1)), x[:1, :4, :4, :1], device=device
    )
    with pytest.raises(ValueError, match="odd positive"):
        image.gaussian_blur(x, (4, 3))


def test_elastic_transform_is_seeded_and_a_zero_field_keeps_the_image(device):
    x = RNG.random((2, 8, 8, 1)).astype(np.float32)
    a = host(image.elastic_transform(on(x, device), alpha=5.0, sigma=1.0, seed=3))
    b = host(image.elastic_transform(on(x, device), alpha=5.0, sigma=1.0, seed=3))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    still = host(image.elastic_transform(on(x, device), alpha=0.0, sigma=1.0, seed=3))
    np.testing.assert_allclose(still, x, atol=1e-6)


def test_extract_patches_3d_follows_loops(device):
    """Each window's (depth, row, column, channel) values, as Keras' identity-kernel
    convolution orders them (Keras 3.15 gave the same patches, difference 0)."""
    v = RNG.random((2, 5, 6, 4, 2))
    got = host(image.extract_patches_3d(on(v, device), (2, 3, 2), strides=(1, 2, 2)))
    expected = np.zeros((2, 4, 2, 2, 2 * 3 * 2 * 2))
    for a in range(4):
        for b in range(2):
            for c in range(2):
                window = v[:, a : a + 2, 2 * b : 2 * b + 3, 2 * c : 2 * c + 2, :]
                expected[:, a, b, c] = window.reshape(2, -1)
    np.testing.assert_array_equal(got, expected)
    same = host(image.extract_patches_3d(on(v, device), 3, strides=2, padding="same"))
    assert same.shape == (2, 3, 3, 2, 54)
    check_gradients(
        lambda t: image.extract_patches_3d(t, 2, strides=1, dilation_rate=(1, 2, 1)),
        v[:1, :3, :4, :3],
        device=device,
    )
    with pytest.raises(ValueError, match="volumes of rank 4 or 5"):
        image.extract_patches_3d(v[0, 0], 2)
