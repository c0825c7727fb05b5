"""Augmentation layers: the warps against SciPy's interpolation (an independent oracle), their
gradients, Keras' training-only rule, reproducible draws, and the same draws on every device."""

from functools import partial

import numpy as np
import pytest
from gradcheck import check_gradients
from scipy import ndimage
from test_functions import host
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model
from minicnn import image_ops as ops
from minicnn import layers as L
from minicnn.autograd import Tensor

# Keras' fill modes are SciPy's grid modes.
SCIPY_MODE = {
    "reflect": "reflect",
    "wrap": "grid-wrap",
    "nearest": "nearest",
    "constant": "grid-constant",
}


def scipy_warp(x, matrices, fill_mode, interpolation, fill_value):
    n, h, w, c = x.shape
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.empty_like(x)
    for i, (a0, a1, a2, b0, b1, b2) in enumerate(matrices):
        coords = [b0 * cols + b1 * rows + b2, a0 * cols + a1 * rows + a2]
        for ch in range(c):
            out[i, :, :, ch] = ndimage.map_coordinates(
                x[i, :, :, ch],
                coords,
                order=1 if interpolation == "bilinear" else 0,
                mode=SCIPY_MODE[fill_mode],
                cval=fill_value,
            )
    return out


def random_matrices(n, h, w, seed):
    """Rotations, zooms and shifts about the image center, reaching well past the edges."""
    rng = np.random.default_rng(seed)
    angle, zoom = rng.uniform(-0.6, 0.6, n), rng.uniform(0.7, 1.4, n)
    shift_x, shift_y = rng.uniform(-3, 3, (2, n))
    a0, a1 = np.cos(angle) * zoom, -np.sin(angle) * zoom
    b0, b1 = np.sin(angle) * zoom, np.cos(angle) * zoom
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a2 = cx - a0 * cx - a1 * cy + shift_x
    b2 = cy - b0 * cx - b1 * cy + shift_y
    return np.stack([a0, a1, a2, b0, b1, b2], axis=1)


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_warps_match_scipy(fill_mode, interpolation, device):
    x = np.random.default_rng(0).standard_normal((3, 7, 6, 2))
    m = random_matrices(3, 7, 6, seed=1)
    if interpolation == "nearest":
        m = np.round(m * 4) / 4 + 0.01  # keep sample points off the .5 ties, where rounding differs
    got = ops.affine_transform(
        backend.to_device(x, device), backend.to_device(m, device), fill_mode, interpolation, 0.7
    )
    expected = scipy_warp(x, m, fill_mode, interpolation, 0.7)
    np.testing.assert_allclose(host(got), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
def test_affine_warp_and_flip_gradients(fill_mode, device):
    x = np.random.default_rng(2).standard_normal((2, 5, 4, 2))
    m = backend.to_device(random_matrices(2, 5, 4, seed=3), device)
    check_gradients(
        lambda t: ops.affine_transform(t, m, fill_mode, "bilinear", 0.5), x, device=device
    )
    flags = backend.to_device(np.array([True, False]), device)
    check_gradients(lambda t: ops.flip(t, flags, flags[::-1].copy()), x, device=device)


def test_hashed_draws_are_uniform_and_the_same_on_every_device(gpu):
    cpu = ops.hashed_uniform(np, 12345, 100_000)
    assert 0 <= cpu.min() and cpu.max() < 1
    assert abs(cpu.mean() - 0.5) < 0.005 and abs(cpu.var() - 1 / 12) < 0.002
    np.testing.assert_array_equal(host(ops.hashed_uniform(gpu, 12345, 1000)), cpu[:1000])
    assert not np.array_equal(ops.hashed_uniform(np, 12346, 1000), cpu[:1000])


AUGMENTERS = {
    "flip": lambda: L.RandomFlip(),
    "translation": lambda: L.RandomTranslation(0.2, (-0.1, 0.3), fill_mode="constant"),
    "rotation": lambda: L.RandomRotation(0.1, interpolation="nearest"),
    "zoom": lambda: L.RandomZoom(0.3, fill_mode="wrap"),
    "brightness": lambda: L.RandomBrightness(0.3, value_range=(0, 1)),
    "contrast": lambda: L.RandomContrast(0.5, value_range=(0, 1)),
    "shear": lambda: L.RandomShear(0.3, (0.1, 0.2), fill_mode="nearest"),
    "invert": lambda: L.RandomInvert(value_range=(0, 1)),
    "erasing": lambda: L.RandomErasing(value_range=(0, 1)),
    "solarization": lambda: L.Solarization(0.2, 0.5, value_range=(0, 1)),
    "posterization": lambda: L.RandomPosterization((1, 8), value_range=(0, 1)),
    "sharpness": lambda: L.RandomSharpness(1.0, value_range=(-5, 5)),
}
# Those that take RGB images only; the generic tests give them three channels.
RGB_AUGMENTERS = {
    "grayscale": lambda: L.RandomGrayscale(),
    "color_degeneration": lambda: L.RandomColorDegeneration(0.9, value_range=(0, 1)),
    "saturation": lambda: L.RandomSaturation(0.9, value_range=(0, 1)),
    "hue": lambda: L.RandomHue(0.9, value_range=(0, 1)),
    "color_jitter": lambda: L.RandomColorJitter((0, 1), 0.2, 0.3, 0.8, 0.4),
}
AUGMENTERS["mixup"] = lambda: L.MixUp(0.4)
AUGMENTERS["cutmix"] = lambda: L.CutMix()
AUGMENTERS["perspective"] = lambda: L.RandomPerspective(0.9, 0.6, fill_value=0.5)
AUGMENTERS["elastic"] = lambda: L.RandomElasticTransform(0.9, (0.5, 1.0), value_range=(0, 1))
AUGMENTERS["gaussian_blur"] = lambda: L.RandomGaussianBlur(0.8, (3, 5), (0.5, 2.0), (-5, 5))
AUGMENTERS.update(RGB_AUGMENTERS)
# RandomCrop draws too, and acts in inference as well (see test_preprocessing).
DRAWERS = {**AUGMENTERS, "crop": lambda: L.RandomCrop(5, 4)}


def image_batch(name, n, h, w, seed):
    channels = 3 if name in RGB_AUGMENTERS else 2
    return np.random.default_rng(seed).random((n, h, w, channels), np.float32)


@pytest.mark.parametrize("name", list(AUGMENTERS))
def test_augmenters_act_in_training_only_and_draw_reproducibly(name, device):
    x = backend.to_device(image_batch(name, 16, 6, 6, seed=4), device)
    layer = AUGMENTERS[name]()
    assert layer(x, training=False).data is x  # inference: the input itself
    backend.set_random_seed(5)
    first = host(layer(x, training=True))
    second = host(layer(x, training=True))
    backend.set_random_seed(5)
    again = host(layer(x, training=True))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    assert first.dtype == np.float32 and first.shape == x.shape


@pytest.mark.parametrize("name", list(DRAWERS))
def test_augmenters_draw_the_same_on_cpu_and_gpu(name, gpu):
    x = image_batch(name, 8, 6, 5, seed=6)
    results = []
    for device in ("cpu", "gpu"):
        backend.set_random_seed(7)
        results.append(host(DRAWERS[name]()(backend.to_device(x, device), training=True)))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(DRAWERS))
def test_augmenters_rebuild_from_their_config_with_the_same_draws(name):
    layer = DRAWERS[name]()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x = image_batch(name, 8, 6, 5, seed=8)
    backend.set_random_seed(9)
    first = host(layer(x, training=True))
    backend.set_random_seed(9)
    np.testing.assert_array_equal(host(clone(x, training=True)), first)


def test_flips_mirror_about_half_of_the_images():
    x = np.random.default_rng(8).random((400, 3, 4, 1), np.float32)
    out = L.RandomFlip("horizontal")(x, training=True).data
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x, strict=True)])
    same = np.array([np.array_equal(o, i) for o, i in zip(out, x, strict=True)])
    assert (mirrored | same).all() and 0.4 < mirrored.mean() < 0.6
    out = L.RandomFlip("vertical")(x, training=True).data
    assert all(
        np.array_equal(o, i) or np.array_equal(o, i[::-1]) for o, i in zip(out, x, strict=True)
    )


def test_translations_shift_by_the_drawn_fraction():
    """A fixed factor range (0.25, 0.25) of an 8-pixel width: a shift of exactly 2 pixels."""
    x = np.random.default_rng(9).random((2, 4, 8, 1), np.float32)
    layer = L.RandomTranslation((0, 0), (0.25, 0.25), fill_mode="constant", fill_value=-1)
    out = layer(x, training=True).data
    np.testing.assert_allclose(out[:, :, 2:], x[:, :, :-2], rtol=1e-6)
    np.testing.assert_array_equal(out[:, :, :2], -1)


def test_augmented_models_train_save_and_load(tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.RandomTranslation(0.1, 0.1),
            L.RandomZoom(0.1),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    ).to(device)
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_augmentation_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(RandomFlip\): mode must be one of"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"height_factor must give lower <= upper within"):
        L.RandomTranslation((0.3, 0.1), 0.1)
    with pytest.raises(ValueError, match=r"width_factor must give lower <= upper within"):
        L.RandomTranslation(0.1, 1.5)
    with pytest.raises(ValueError, match=r"fill_mode must be one of reflect, wrap"):
        L.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"interpolation must be one of bilinear, nearest"):
        L.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"factor must be a number or a \(lower, upper\) pair"):
        L.RandomRotation("a lot")
    with pytest.raises(ValueError, match=r"\(RandomFlip\) expects input of shape \(batch, height"):
        Sequential([Input((5,)), L.RandomFlip()])


def test_shears_follow_keras_matrix_with_a_random_sign():
    """x_factor (0.3, 0.3): each image is sheared by +0.3 or -0.3 along x, by Keras' matrix
    [[1, s_x, 0], [0, 1, 0]] from output pixels to input pixels."""
    x = np.random.default_rng(10).random((40, 6, 7, 1), np.float32)
    layer = L.RandomShear(x_factor=(0.3, 0.3), y_factor=0.0, fill_mode="constant")
    out = host(layer(x, training=True))
    signs = []
    for image, sheared in zip(x, out, strict=True):
        candidates = []
        for s in (0.3, -0.3):
            m = np.array([[1.0, s, 0.0, 0.0, 1.0, 0.0]])
            candidates.append(host(ops.affine_transform(image[None], m, "constant")[0]))
        matches = [np.allclose(sheared, c, atol=1e-5) for c in candidates]
        assert any(matches)
        signs.append(matches[0])
    assert 0.2 < np.mean(signs) < 0.8
    with pytest.raises(ValueError, match="x_factor must give lower <= upper within"):
        L.RandomShear(x_factor=(0.5, 1.5))
    config = L.RandomShear(0.2, seed=3).get_config()
    # Keras' config keeps the range drawn from; minicnn reads it back (Keras refuses it).
    assert config["x_factor"] == [-0.2, 0.2] and config["seed"] == 3
    assert L.RandomShear.from_config(config).x_factor == (-0.2, 0.2)


def test_random_invert_flips_about_half_with_keras_factor():
    x = np.random.default_rng(11).random((400, 3, 3, 1), np.float32) * 200
    out = host(L.RandomInvert(value_range=(0, 255))(x, training=True))
    inverted = np.all(np.isclose(out, 255 - x), axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert (inverted | kept).all() and 0.4 < inverted.mean() < 0.6  # p ~ U(0, 1): 1/2
    always = host(L.RandomInvert(factor=(1.0, 1.0), value_range=(0, 1))(x / 200, training=True))
    np.testing.assert_allclose(always, 1 - x / 200, rtol=1e-6)


def test_auto_contrast_stretches_each_channel_in_training_and_inference(device):
    rng = np.random.default_rng(12)
    x = (rng.random((3, 5, 5, 2)) * 40 + 10).astype(np.float32)
    x[2, :, :, 1] = 7.0  # a flat channel stays as it is
    layer = L.AutoContrast(value_range=(0, 255))
    model = Sequential([Input((5, 5, 2)), layer]).to(device)
    out = model.predict(x, verbose=0)
    lo = x.min(axis=(1, 2), keepdims=True)
    hi = x.max(axis=(1, 2), keepdims=True)
    expected = np.where(hi == lo, x, (x - lo) / np.where(hi == lo, 1, hi - lo) * 255)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)
    assert out[0, :, :, 0].min() == 0 and out[0, :, :, 0].max() == pytest.approx(255)
    np.testing.assert_array_equal(out[2, :, :, 1], 7.0)
    check_gradients(
        lambda t: L.AutoContrast(value_range=(0, 1))(t),
        rng.random((2, 3, 3, 1)),
        device=device,
    )


def test_a_pipeline_applies_its_layers_in_order_and_saves(tmp_path, device):
    x = np.random.default_rng(13).random((4, 8, 8, 1)).astype(np.float32)
    pipeline = L.Pipeline([L.Rescaling(2.0), L.RandomFlip("horizontal", seed=1), L.Normalization()])
    model = Sequential([Input((8, 8, 1)), pipeline, L.Flatten(), L.Dense(2)]).to(device)
    assert len(pipeline.weights) == 3  # Normalization's mean, variance and count
    assert not pipeline.trainable_weights  # state, never trained
    inference = model.layers[0](backend.to_device(x, device), training=False)
    np.testing.assert_allclose(host(inference), 2 * x, rtol=1e-6)
    flipped = host(model.layers[0](backend.to_device(x, device)))  # a direct call augments
    assert all(
        np.allclose(image, 2 * original) or np.allclose(image, 2 * original[:, ::-1])
        for image, original in zip(flipped, x, strict=True)
    )
    assert not np.allclose(flipped, 2 * x)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers[0].layers] == [
        "Rescaling",
        "RandomFlip",
        "Normalization",
    ]
    with pytest.raises(TypeError, match="non-empty list of layers"):
        L.Pipeline([])


def test_random_erasing_replaces_one_rectangle_of_keras_size(device):
    """factor (1, 1): every image loses one rectangle, of an area within ``scale`` of the
    image's (up to a pixel's rounding at each edge), filled with ``fill_value``."""
    x = np.random.default_rng(14).random((64, 20, 20, 2)).astype(np.float32)
    layer = L.RandomErasing(factor=(1.0, 1.0), scale=(0.1, 0.3), fill_value=5.0, value_range=(0, 9))
    Sequential([Input((20, 20, 2)), layer]).to(device)
    out = host(layer(backend.to_device(x, device), training=True))
    for image in out:
        erased = image[:, :, 0] == 5.0
        assert (erased == (image[:, :, 1] == 5.0)).all()  # every channel alike
        rows, cols = np.where(erased)
        assert erased.sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert 0.1 * 400 - 2 * 21 <= erased.sum() <= 0.3 * 400 + 2 * 21
    np.testing.assert_array_equal(out[out != 5.0], x[out != 5.0])
    never = L.RandomErasing(factor=(0.0, 0.0), value_range=(0, 1))
    np.testing.assert_array_equal(host(never(backend.to_device(x, device), training=True)), x)
    noisy = host(L.RandomErasing(factor=(1.0, 1.0), value_range=(0, 1))(x, training=True))
    assert (noisy >= 0).all() and (noisy <= 1).all() and (noisy != x).any()
    with pytest.raises(ValueError, match="scale must give lower <= upper within"):
        L.RandomErasing(scale=(0.5, 1.5))


def test_solarization_follows_keras_rule():
    x = np.random.default_rng(15).random((50, 4, 4, 1)).astype(np.float32) * 255
    inverted = host(L.Solarization(value_range=(0, 255))(x, training=True))
    np.testing.assert_allclose(inverted, 255 - x, rtol=1e-5, atol=1e-3)  # defaults: all
    # Keras draws thresholds from [lo, hi * 255]: (0.5, 0.5) spans [0.5, 127.5], one per image.
    fixed = L.Solarization(threshold_factor=(0.5, 0.5), value_range=(0, 1))
    out = host(fixed(x / 255, training=True))
    kept = np.isclose(out, x / 255, atol=1e-5)
    flipped = np.isclose(out, 1 - x / 255, atol=1e-5)
    assert (kept | flipped).all() and kept.any() and flipped.any()
    for image, keep, flip in zip(x, kept, flipped, strict=True):
        # one threshold per image: every kept value lies below every inverted one
        below, above = image[keep & ~flip], image[flip & ~keep]
        if below.size and above.size:
            assert below.max() < above.min()
            assert 0.5 <= above.min() and below.max() < 127.5
    np.testing.assert_array_equal(host(L.Solarization()(x, training=False)), x)


def test_random_grayscale_converts_a_factor_of_the_images(device):
    rgb = np.random.default_rng(16).random((400, 3, 2, 3)).astype(np.float32)
    layer = L.RandomGrayscale(0.5, seed=3)
    out = host(layer(backend.to_device(rgb, device), training=True))
    luminance = rgb @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    gray = np.isclose(out, luminance[..., None], atol=1e-6).all(axis=(1, 2, 3))
    kept = (out == rgb).all(axis=(1, 2, 3))
    assert (gray ^ kept).all() and 150 < gray.sum() < 250
    every = host(L.RandomGrayscale(1.0)(rgb, training=True))
    np.testing.assert_allclose(every, np.repeat(luminance[..., None], 3, axis=-1), atol=1e-6)
    np.testing.assert_array_equal(host(L.RandomGrayscale(1.0)(rgb, training=False)), rgb)
    with pytest.raises(ValueError, match="RGB images \\(3 channels\\), got 1 channels"):
        L.RandomGrayscale()(rgb[..., :1], training=True)
    with pytest.raises(ValueError, match="factor must be in \\[0, 1\\]"):
        L.RandomGrayscale(1.5)
    again = L.RandomGrayscale(0.5, seed=3)(rgb, training=True)  # the same draws on the CPU
    np.testing.assert_allclose(host(again), out, atol=1e-6)


def test_random_posterization_keeps_the_top_bits(device):
    levels = np.arange(256, dtype=np.float32).reshape(1, 16, 16, 1)
    for bits in range(1, 9):
        layer = L.RandomPosterization(bits)
        out = host(layer(backend.to_device(levels, device), training=True))
        step = 2 ** (8 - bits)
        np.testing.assert_array_equal(out, levels // step * step)  # the top bits of each value
    x = np.random.default_rng(17).random((300, 8, 8, 1)).astype(np.float32)
    out = host(L.RandomPosterization((2, 5), value_range=(0, 1), seed=4)(x, training=True))
    truncated = (x * 255).astype(np.uint8)
    seen = set()
    for image, levels_of in zip(out, truncated, strict=True):
        # each image keeps one number of bits, from 2 .. 4 (Keras' randint excludes 5)
        keeping = [
            b
            for b in range(1, 9)
            if np.allclose(image * 255, levels_of >> (8 - b) << (8 - b), atol=1e-3)
        ]
        assert keeping and keeping[0] in (2, 3, 4)
        seen.add(keeping[0])
    assert seen == {2, 3, 4}
    np.testing.assert_array_equal(host(L.RandomPosterization(3)(x, training=False)), x)
    with pytest.raises(ValueError, match="bits in 1..8"):
        L.RandomPosterization(9)
    with pytest.raises(ValueError, match="lower <= upper"):
        L.RandomPosterization((5, 2))


def test_random_color_degeneration_moves_toward_gray(device):
    rgb = np.random.default_rng(18).random((50, 3, 3, 3)).astype(np.float32)
    gray = (rgb @ np.array([0.2989, 0.5870, 0.1140], np.float32))[..., None]
    half = L.RandomColorDegeneration((0.5, 0.5), value_range=(0, 1))
    out = host(half(backend.to_device(rgb, device), training=True))
    np.testing.assert_allclose(out, np.clip(rgb + 0.5 * (gray - rgb), 0, 1), atol=1e-6)
    drawn = host(L.RandomColorDegeneration(0.8, value_range=(0, 1), seed=1)(rgb, training=True))
    # per image one fraction t in [0, 0.8]: out - x = t (gray - x) in every value
    t = ((drawn - rgb) * (gray - rgb)).sum(axis=(1, 2, 3)) / ((gray - rgb) ** 2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(drawn, rgb + t[:, None, None, None] * (gray - rgb), atol=1e-5)
    assert (t >= -1e-6).all() and (t <= 0.8 + 1e-6).all() and t.std() > 0.1
    np.testing.assert_array_equal(host(half(rgb, training=False)), rgb)
    with pytest.raises(ValueError, match="RGB images"):
        half(rgb[..., :2], training=True)
    with pytest.raises(ValueError, match="factor must give lower <= upper within"):
        L.RandomColorDegeneration(1.5)


def keras_blur(image: np.ndarray) -> np.ndarray:
    """A loop oracle: the 3x3 weighted average (1/13 around, 5/13 in the middle), zero-padded."""
    h, w, _ = image.shape
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            window = padded[i : i + 3, j : j + 3]
            out[i, j] = (window.sum(axis=(0, 1)) + 4 * window[1, 1]) / 13
    return out


def test_random_sharpness_blends_with_keras_blur(device):
    x = np.random.default_rng(19).random((20, 5, 6, 2)).astype(np.float32)
    blur = np.stack([keras_blur(image) for image in x])
    for f in (0.0, 0.5, 1.0):
        layer = L.RandomSharpness((f, f), value_range=(-10, 10))
        out = host(layer(backend.to_device(x, device), training=True))
        np.testing.assert_allclose(out, x + (1 - 2 * f) * (blur - x), atol=1e-5)
    clipped = host(L.RandomSharpness((1.0, 1.0), value_range=(0, 1))(x, training=True))
    np.testing.assert_allclose(clipped, np.clip(2 * x - blur, 0, 1), atol=1e-5)
    drawn = host(L.RandomSharpness(0.6, value_range=(-10, 10), seed=2)(x, training=True))
    direction = blur - x
    step = ((drawn - x) * direction).sum(axis=(1, 2, 3)) / (direction**2).sum(axis=(1, 2, 3))
    f = 0.5 * (1 - step)  # out - x = (1 - 2 f) (blur - x), f per image
    assert (f >= -1e-4).all() and (f <= 0.6 + 1e-4).all() and f.std() > 0.05
    np.testing.assert_array_equal(host(L.RandomSharpness(0.5)(x, training=False)), x)


def colorsys_map(rgb: np.ndarray, change) -> np.ndarray:
    """An independent oracle: each pixel through the standard library's HSV conversions, with
    ``change(h, s, v) -> (h, s, v)`` in between."""
    import colorsys

    out = np.empty_like(rgb)
    for index in np.ndindex(rgb.shape[:-1]):
        h, s, v = colorsys.rgb_to_hsv(*rgb[index].tolist())
        out[index] = colorsys.hsv_to_rgb(*change(h, s, v))
    return out


def test_random_saturation_scales_the_hsv_saturation(device):
    rgb = np.random.default_rng(20).random((6, 4, 5, 3))
    rgb[0, 0, 0] = 0.3  # a gray pixel stays gray
    for f in (0.0, 0.25, 0.5, 0.8, 1.0):
        layer = L.RandomSaturation((f, f), value_range=(0, 1))
        out = host(layer(backend.to_device(rgb.astype(np.float32), device), training=True))
        scale = f / (1 - f + 1e-7)
        expected = colorsys_map(rgb, lambda h, s, v, k=scale: (h, min(s * k, 1.0), v))
        np.testing.assert_allclose(out, expected, atol=2e-5)
    full = host(L.RandomSaturation((1.0, 1.0))(rgb.astype(np.float32) * 255, training=True))
    lowest = full.min(axis=-1)
    assert lowest[0, 0, 0] == pytest.approx(76.5)  # the gray pixel
    lowest[0, 0, 0] = 0
    np.testing.assert_allclose(lowest, 0, atol=1e-3)  # the others fully saturated
    drawn = host(L.RandomSaturation(0.9, seed=3)(rgb.astype(np.float32), training=True))
    spread = drawn.max(axis=-1) - drawn.min(axis=-1)
    assert spread.reshape(6, -1).std(axis=0).mean() > 0.01  # one factor per image, not per batch
    np.testing.assert_allclose(drawn.max(axis=-1), rgb.max(axis=-1), atol=1e-6)  # value kept
    check_gradients(
        lambda t: L.RandomSaturation((0.7, 0.7), value_range=(0, 1))(t, training=True),
        rgb[1:3, :2, :2],  # away from the gray pixel, where the channels tie
        device=device,
    )
    with pytest.raises(ValueError, match="RGB images"):
        L.RandomSaturation(0.5)(rgb[..., :1].astype(np.float32), training=True)


def test_random_hue_turns_the_hue_by_a_drawn_signed_fraction(device):
    rng = np.random.default_rng(21)
    rgb = rng.random((40, 3, 4, 3))
    rgb[0, 0, 0] = (0.2, 0.9, 0.9)  # green and blue tie for largest
    rgb[0, 0, 1] = 0.6  # gray: no hue
    f = 0.3
    layer = L.RandomHue((f, f), value_range=(0, 255), seed=4)
    out = host(layer(backend.to_device((rgb * 255).astype(np.float32), device), training=True))
    plus = colorsys_map(rgb, lambda h, s, v: ((h + f / 2) % 1.0, s, v)) * 255
    minus = colorsys_map(rgb, lambda h, s, v: ((h - f / 2) % 1.0, s, v)) * 255
    turned_up = np.isclose(out, plus, atol=1e-3).all(axis=(1, 2, 3))
    turned_down = np.isclose(out, minus, atol=1e-3).all(axis=(1, 2, 3))
    assert (turned_up | turned_down).all() and 10 < turned_up.sum() < 30
    for turn in (0.0, 1.0):  # no turn; and half a turn, the same either way
        whole = L.RandomHue((turn, turn), value_range=(0, 1))(rgb.astype(np.float32), True)
        expected = colorsys_map(rgb, lambda h, s, v, t=turn: ((h + t / 2) % 1.0, s, v))
        np.testing.assert_allclose(host(whole), expected, atol=2e-5)
    check_gradients(
        lambda t: L.RandomHue((0.4, 0.4), value_range=(0, 1), seed=1)(t, training=True),
        rgb[1:3, :2, :2],  # away from ties
        device=device,
    )
    with pytest.raises(TypeError):
        L.RandomHue(0.2)  # Keras asks for the value range


def test_random_color_jitter_applies_keras_four_steps_in_order(device):
    rgb = np.random.default_rng(22).random((5, 4, 4, 3)).astype(np.float32)
    x = backend.to_device(rgb, device)
    jitter = L.RandomColorJitter(
        value_range=(0, 1),
        brightness_factor=(0.1, 0.1),
        contrast_factor=0.0,
        saturation_factor=(0.8, 0.8),
        hue_factor=(1.0, 1.0),  # half a turn: the same either way
    )
    out = host(jitter(x, training=True))
    steps = [
        L.RandomBrightness((0.1, 0.1), value_range=(0, 1)),
        L.RandomSaturation((0.8, 0.8), value_range=(0, 1)),
        L.RandomHue((1.0, 1.0), value_range=(0, 1)),
    ]
    expected = x
    for step in steps:
        expected = step(expected, training=True)
    np.testing.assert_allclose(out, host(expected), atol=1e-5)
    np.testing.assert_array_equal(host(jitter(x, training=False)), rgb)
    gray = rgb[..., :1]  # brightness and contrast alone take any channels
    brighter = L.RandomColorJitter((0, 1), brightness_factor=(0.2, 0.2))(gray, training=True)
    np.testing.assert_allclose(host(brighter), np.clip(gray + 0.2, 0, 1), atol=1e-6)
    seeded = [L.RandomColorJitter((0, 1), 0.3, 0.5, 0.9, 0.5, seed=6) for _ in range(2)]
    np.testing.assert_array_equal(*(host(j(rgb, training=True)) for j in seeded))
    with pytest.raises(ValueError, match="RGB images"):
        L.RandomColorJitter(hue_factor=0.2)(gray, training=True)
    with pytest.raises(ValueError, match="saturation_factor: .*factor must give lower <= upper"):
        L.RandomColorJitter(saturation_factor=2.0)


def gaussian_taps(size, sigma):
    taps = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return taps / taps.sum()


def loop_blur(image, kernel):
    """A loop oracle: each output pixel the kernel-weighted sum of the taps around it, zero
    outside the image."""
    h, w, _ = image.shape
    kh, kw = kernel.shape
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    y, x = i + a - kh // 2, j + b - kw // 2
                    if 0 <= y < h and 0 <= x < w:
                        out[i, j] += kernel[a, b] * image[y, x]
    return out


def test_random_gaussian_blur_follows_a_loop_oracle(device):
    x = np.random.default_rng(23).random((4, 6, 7, 2))
    layer = L.RandomGaussianBlur((1.0, 1.0), (3, 5), (0.8, 0.8), value_range=(0, 1))
    out = host(layer(backend.to_device(x.astype(np.float32), device), training=True))
    sigma = 0.8 + 1e-6
    kernel = np.outer(gaussian_taps(3, sigma), gaussian_taps(5, sigma))
    np.testing.assert_allclose(out, [loop_blur(image, kernel) for image in x], atol=1e-6)
    check_gradients(
        lambda t: L.RandomGaussianBlur((1.0, 1.0), 3, (0.7, 0.7), (-9, 9))(t, training=True),
        x[:2, :4, :3],
        device=device,
    )
    # A point of light shows each image's own kernel: its sigmas, drawn per image and axis.
    point = np.zeros((200, 5, 5, 1), np.float32)
    point[:, 2, 2] = 1.0
    drawn = L.RandomGaussianBlur(0.6, 3, (0.5, 2.0), value_range=(0, 1), seed=5)
    spread = host(drawn(backend.to_device(point, device), training=True))[..., 0]
    blurred = spread[:, 2, 2] < 1
    assert 40 < blurred.sum() < 80  # probabilities drawn from [0, 0.6]: 30% on average
    np.testing.assert_array_equal(spread[~blurred], point[~blurred, ..., 0])

    def sigma_of(center, side):  # center / side = exp(1 / (2 sigma^2))
        return np.sqrt(0.5 / np.log(center / side))

    centered = spread[blurred]
    sigma_y = sigma_of(centered[:, 2, 2], centered[:, 1, 2])
    sigma_x = sigma_of(centered[:, 2, 2], centered[:, 2, 1])
    assert (sigma_x > 0.5 - 1e-3).all() and (sigma_x < 2 + 1e-3).all()
    assert sigma_x.std() > 0.2 and np.abs(sigma_x - sigma_y).mean() > 0.1
    with pytest.raises(ValueError, match="kernel_size must be an odd positive integer"):
        L.RandomGaussianBlur(kernel_size=4)


def keras_equalize(channel, bins):
    """Keras' rule for one channel of one image in [0, 255], written out with Python loops."""
    index = [min(max(int(v * (bins - 1) / 255), 0), bins - 1) for v in channel.ravel()]
    counts = [index.count(b) for b in range(bins)]
    if sum(1 for count in counts if count) <= 1:
        return channel.copy()
    cdf, total = [], 0
    for count in counts:
        total += count
        cdf.append(total)
    first = next(value for value in cdf if value > 0)
    span = (cdf[-1] - first) or 1
    table = [min(max(round((value - first) * 255 / span), 0), 255) for value in cdf]
    return np.array([table[i] for i in index], dtype=float).reshape(channel.shape)


def test_equalization_follows_keras_rule_per_image_and_channel(device):
    rng = np.random.default_rng(24)
    x = (rng.beta(2, 5, (3, 6, 7, 2)) * 255).astype(np.float32)  # crowded in the darks
    x[1, :, :, 1] = 40.0  # one bin: stays
    for bins in (256, 16):
        layer = L.Equalization(bins=bins)
        out = host(layer(backend.to_device(x, device), training=False))  # in inference too
        expected = np.stack(
            [
                np.stack([keras_equalize(image[..., k], bins) for k in range(2)], axis=-1)
                for image in x
            ]
        )
        np.testing.assert_allclose(out, expected, atol=1e-3)
    assert out[0, ..., 0].min() == 0 and out[0, ..., 0].max() == 255  # spread over the range
    unit = host(L.Equalization(value_range=(0, 1))(x / 255, training=True))
    np.testing.assert_allclose(unit * 255, host(L.Equalization()(x, training=True)), atol=1e-3)
    alone = host(L.Equalization()(x[:1], training=True))  # an image's result is its own
    np.testing.assert_allclose(alone, host(L.Equalization()(x, training=True))[:1], atol=1e-4)
    config = L.Equalization((0, 1), bins=16).get_config()
    assert L.Equalization.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="bins"):
        L.Equalization(bins=0)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])  # below, float64 cannot hold 1 - u
def test_symmetric_beta_draws_follow_scipy_beta(alpha, device):
    from scipy import stats

    xp = backend.xp_for(device)
    layer = L.MixUp(seed=11)
    draws = host(layer._symmetric_beta(xp, 20_000, alpha, alpha))
    assert stats.kstest(draws, stats.beta(alpha, alpha).cdf).pvalue > 1e-3
    assert ((draws >= 0) & (draws <= 1)).all()


def test_mixup_mixes_images_and_labels_by_one_drawn_weight(device):
    rng = np.random.default_rng(25)
    x = rng.random((12, 4, 4, 2)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 12)]
    layer = L.MixUp(alpha=1.0, seed=7)
    out = layer({"images": backend.to_device(x, device), "labels": y, "ids": "kept"})
    images, labels = host(out["images"]), host(out["labels"])
    assert out["ids"] == "kept"
    # Each image pairs with one partner by one batch-wide w; an image paired with itself
    # (the permutation may fix it) comes out as it was.
    partner, weights = {}, set()
    for i in range(12):
        if np.allclose(images[i], x[i], atol=1e-6):
            partner[i] = i
            continue
        matches = []
        for j in set(range(12)) - {i}:
            direction = x[i] - x[j]
            w = ((images[i] - x[j]) * direction).sum() / (direction**2).sum()
            if np.allclose(images[i], w * x[i] + (1 - w) * x[j], atol=1e-5):
                matches.append((j, w))
        assert len(matches) == 1
        partner[i] = matches[0][0]
        weights.add(round(float(matches[0][1]), 4))
    assert sorted(partner.values()) == list(range(12))  # a permutation
    assert len(weights) == 1  # one weight for the batch, as Keras draws it
    w = weights.pop()
    order = [partner[i] for i in range(12)]
    np.testing.assert_allclose(labels, w * y + (1 - w) * y[order], atol=1e-4)
    unchanged = layer({"images": x, "labels": y}, training=False)
    np.testing.assert_array_equal(host(unchanged["images"]), x)
    check_gradients(
        lambda t: L.MixUp(0.5, seed=3)(t, training=True),
        x[:3, :2, :2].astype(np.float64),
        device=device,
    )
    with pytest.raises(ValueError, match="labels must be one-hot float rows"):
        layer({"images": x, "labels": np.arange(12)})
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 5\]"):
        L.MixUp(alpha=0)


def test_cutmix_pastes_one_box_and_mixes_labels_by_its_area(device):
    rng = np.random.default_rng(26)
    n, h, w = 64, 10, 12
    x = (rng.random((n, h, w, 1)) + np.arange(n)[:, None, None, None]).astype(np.float32)
    y = np.eye(n, dtype=np.float32)  # each image its own class: labels show the partner
    out = L.CutMix(factor=1.0, seed=8)({"images": backend.to_device(x, device), "labels": y})
    images, labels = host(out["images"]), host(out["labels"])
    for i in range(n):
        source = np.floor(images[i, ..., 0]).astype(int)  # which image each pixel came from
        others = source != i
        partner = set(np.flatnonzero(labels[i] > 1e-6).tolist()) - {i}
        if not others.any():
            continue
        rows, columns = np.flatnonzero(others.any(axis=1)), np.flatnonzero(others.any(axis=0))
        box = others[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        assert box.all() and others.sum() == box.size  # one rectangle
        assert len(set(source[others].tolist())) == 1
        j = source[others][0]
        assert partner == {j}
        # Keras' label weight: 1 - the box's (real-valued) area; pixels count it to an edge.
        share = others.mean()
        assert abs((1 - labels[i, i]) - share) <= (h + w + 1) / (h * w)
    assert (labels.max(axis=1) < 1 - 1e-3).sum() > n // 2
    with pytest.raises(ValueError, match="factor must give lower <= upper within"):
        L.CutMix(factor=1.5)


def test_mixed_batches_train_a_model_as_keras_recipe_does(device):
    """Keras' recipe: mix each batch of images and one-hot labels, then train on it; the
    mixed Tensors go to train_on_batch as arrays do (np.asarray gives their values)."""
    from minicnn import utils

    x, y = toy_data(96)
    onehot = utils.to_categorical(y, 3)
    model = Sequential(
        [Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(3, "softmax")]
    ).to(device)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    before = model.evaluate(x, onehot, verbose=0)[0]
    mixers = [L.MixUp(0.2, seed=1), L.CutMix(seed=2)]
    for epoch in range(8):
        for i in range(0, 96, 16):
            batch = mixers[epoch % 2]({"images": x[i : i + 16], "labels": onehot[i : i + 16]})
            assert np.asarray(batch["labels"]).shape == (16, 3)
            model.train_on_batch(batch["images"], batch["labels"])
    assert model.evaluate(x, onehot, verbose=0)[0] < 0.8 * before


def keras_homography(start, end):
    """Keras' way: the 8 numbers that send each end point to its start point, from the 8x8
    linear system of the four pairs."""
    rows, target = [], []
    for (sx, sy), (ex, ey) in zip(start, end, strict=True):
        rows.append([ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey])
        rows.append([0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey])
        target += [sx, sy]
    return np.linalg.solve(np.array(rows), np.array(target))


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_projective_warps_match_scipy_and_their_gradients_check(interpolation, device):
    rng = np.random.default_rng(27)
    n, h, w = 3, 7, 9
    x = rng.random((n, h, w, 2))
    start = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], float)
    ends = start + rng.uniform(-2, 2, (n, 4, 2))
    rows = np.stack([keras_homography(start, end) for end in ends])
    square = ops.quad_homographies(np, ends) * np.array([w - 1] * 3 + [h - 1] * 3 + [1, 1])
    np.testing.assert_allclose(square, rows, rtol=1e-9, atol=1e-9)  # closed form = the solve
    on_device = backend.to_device(rows, device)
    out = host(
        ops.affine_transform(
            Tensor(backend.to_device(x, device)), on_device, "constant", interpolation, 0.25
        )
    )
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    expected = np.empty_like(x)
    for i, (a0, a1, a2, b0, b1, b2, c0, c1) in enumerate(rows):
        depth = c0 * xs + c1 * ys + 1
        coords = [(b0 * xs + b1 * ys + b2) / depth, (a0 * xs + a1 * ys + a2) / depth]
        for ch in range(2):
            expected[i, ..., ch] = ndimage.map_coordinates(
                x[i, ..., ch],
                coords,
                order=1 if interpolation == "bilinear" else 0,
                mode="grid-constant",
                cval=0.25,
            )
    np.testing.assert_allclose(out, expected, atol=1e-9)
    check_gradients(
        lambda t: ops.affine_transform(t, on_device, "reflect", interpolation), x, device=device
    )


def test_random_perspective_moves_corners_by_keras_rule(device):
    x = np.random.default_rng(28).random((200, 6, 8, 1)).astype(np.float32)
    x_dev = backend.to_device(x, device)
    np.testing.assert_array_equal(host(L.RandomPerspective(scale=0.0)(x_dev)), x)
    layer = L.RandomPerspective(factor=0.5, scale=0.8, fill_value=-1.0, seed=3)
    out = host(layer(x_dev))  # a direct call augments, as in Keras
    warped = ~(out == x).all(axis=(1, 2, 3))
    assert 30 < warped.sum() < 70  # probabilities drawn from [0, 0.5]: a quarter on average
    np.testing.assert_array_equal(out[:, 0, 0], x[:, 0, 0])  # Keras' rule keeps (0, 0)
    assert (out[warped] == -1.0).any()  # corners pulled in leave the fill outside
    np.testing.assert_array_equal(host(layer(x_dev, training=False)), x)
    with pytest.raises(ValueError, match=r"scale must be in \[0, 1\]"):
        L.RandomPerspective(scale=1.5)
    with pytest.raises(ValueError, match="6 \\(affine\\) or 8 \\(projective\\)"):
        ops.affine_transform(Tensor(x), np.zeros((200, 7)))


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
def test_remap_reads_where_told_like_scipy(fill_mode, device):
    rng = np.random.default_rng(29)
    x = rng.random((2, 5, 6, 2))
    rows = rng.uniform(-3, 8, (2, 4, 7))  # another output size, reaching past every edge
    columns = rng.uniform(-3, 9, (2, 4, 7))
    to = partial(backend.to_device, device=device)
    out = host(ops.remap(Tensor(to(x)), to(rows), to(columns), fill_mode, "bilinear", 0.5))
    expected = np.stack(
        [
            np.stack(
                [
                    ndimage.map_coordinates(
                        x[i, ..., ch],
                        [rows[i], columns[i]],
                        order=1,
                        mode=SCIPY_MODE[fill_mode],
                        cval=0.5,
                    )
                    for ch in range(2)
                ],
                axis=-1,
            )
            for i in range(2)
        ]
    )
    np.testing.assert_allclose(out, expected, atol=1e-9)
    check_gradients(
        lambda t: ops.remap(t, to(rows), to(columns), fill_mode, "bilinear", 0.5), x, device=device
    )


def test_random_elastic_transform_moves_pixels_by_a_smooth_field_of_keras_size(device):
    h = w = 28
    ramp = np.broadcast_to(np.arange(w, dtype=np.float32), (64, h, w))[..., None] * 1.0
    layer = L.RandomElasticTransform((1.0, 1.0), (1.0, 1.0), value_range=(-100, 100), seed=4)
    out = host(layer(backend.to_device(np.ascontiguousarray(ramp), device)))
    shift = (out - ramp)[:, 5:-5, 5:-5, 0]  # on a ramp of columns, the value read is the place
    # Keras' sizes for distortion 1: alpha = 0.1 * 28, sigma = 0.05 * 28; normal noise times
    # sigma, blurred by a Gaussian of sigma, has standard deviation 1 / (2 sqrt(pi)), so:
    expected = 0.1 * 28 / (2 * np.sqrt(np.pi))
    assert 0.75 * expected < shift.std() < 1.25 * expected
    neighbours = np.corrcoef(shift[:, :, :-1].ravel(), shift[:, :, 1:].ravel())[0, 1]
    assert neighbours > 0.8  # smooth, not pixel noise
    assert np.abs(shift.mean(axis=(1, 2))).max() < 1.0 and shift.std(axis=(1, 2)).min() > 0.1
    flat = np.full((4, 9, 9, 1), 7.0, np.float32)
    np.testing.assert_allclose(host(layer(backend.to_device(flat, device))), 7.0, atol=1e-5)
    clipped = L.RandomElasticTransform((1.0, 1.0), value_range=(0, 10))(ramp[:2] * 10)
    assert host(clipped).max() <= 10
    none = L.RandomElasticTransform(scale=0.0)
    np.testing.assert_array_equal(host(none(backend.to_device(flat, device))), flat)
