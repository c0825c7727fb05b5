"""Preprocessing layers (Rescaling, Resizing, CenterCrop, bilinear UpSampling2D) and the random
crop, brightness and contrast layers: resizing against TensorFlow's rules written out in loops
(an independent oracle), float64 gradient checks, the same draws on every device, and a captured
training step that replays them."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_graph_step import assert_same_training, fit_twice
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model, optimizers
from minicnn import image_ops as ops
from minicnn import layers as L


def tf_resize(x, out_h, out_w, method):
    """TensorFlow's resize with half-pixel centers and no antialiasing, one pixel at a time:
    bilinear reads at in = (i + 0.5) * scale - 0.5 between max(floor(in), 0) and
    min(ceil(in), size - 1); nearest reads min(floor((i + 0.5) * scale), size - 1)."""
    n, h, w, c = x.shape
    out = np.empty((n, out_h, out_w, c))

    def taps(i, size, out_size):
        scale = size / out_size
        if method == "nearest":
            return [(min(int(np.floor((i + 0.5) * scale)), size - 1), 1.0)]
        at = (i + 0.5) * scale - 0.5
        low, lerp = int(np.floor(at)), at - np.floor(at)
        return [(max(low, 0), 1 - lerp), (min(int(np.ceil(at)), size - 1), lerp)]

    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j] = sum(
                wr * wc * x[:, r, col]
                for r, wr in taps(i, h, out_h)
                for col, wc in taps(j, w, out_w)
            )
    return out


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(3, 4), (11, 6), (7, 7), (14, 17)])
def test_resize_follows_tensorflow(method, size, device):
    x = np.random.default_rng(0).standard_normal((2, 7, 5, 3))
    got = ops.resize(backend.to_device(x, device), size, method)
    np.testing.assert_allclose(host(got), tf_resize(x, *size, method), rtol=1e-12, atol=1e-12)


def test_resize_crops_or_pads_to_the_aspect_ratio_first():
    x = np.random.default_rng(1).standard_normal((2, 6, 9, 1))
    # The largest centered window of ratio 4:4 in 6x9 is rows 0-5, columns 1-6.
    cropped = ops.resize(x, (4, 4), "bilinear", crop_to_aspect_ratio=True)
    np.testing.assert_allclose(cropped.data, tf_resize(x[:, :, 1:7], 4, 4, "bilinear"))
    # Padded to 9x9 (rows 1 above, 2 below) with the fill value, then resized.
    padded = ops.resize(x, (3, 3), "nearest", pad_to_aspect_ratio=True, fill_value=-2.0)
    frame = np.full((2, 9, 9, 1), -2.0)
    frame[:, 1:7] = x
    np.testing.assert_allclose(padded.data, tf_resize(frame, 3, 3, "nearest"))


@pytest.mark.parametrize("kwargs", [{}, {"crop_to_aspect_ratio": True}])
def test_resize_gradients(kwargs, device):
    x = np.random.default_rng(2).standard_normal((2, 5, 6, 2))
    check_gradients(lambda t: ops.resize(t, (7, 4), "bilinear", **kwargs), x, device=device)
    check_gradients(lambda t: L.UpSampling2D((2, 3), interpolation="bilinear")(t), x, device=device)


def test_rescaling_scales_and_shifts_per_channel_on_every_device(device):
    x = np.random.default_rng(3).random((4, 3, 3, 2)).astype(np.float32) * 255
    layer = L.Rescaling([1 / 255, 2 / 255], offset=[-1.0, 0.5])
    got = host(layer(backend.to_device(x, device)))
    expected = x * np.array([1 / 255, 2 / 255], np.float32) + np.array([-1.0, 0.5], np.float32)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got.dtype == np.float32
    scalar = L.Rescaling(1 / 127.5, offset=-1)
    np.testing.assert_allclose(host(scalar(backend.to_device(x, device))), x / 127.5 - 1, rtol=1e-5)
    x64 = x.astype(np.float64)
    check_gradients(lambda t: L.Rescaling([0.5, -3.0], 1.0)(t), x64, device=device)


def test_center_crop_takes_the_middle_or_resizes_a_smaller_image():
    x = np.random.default_rng(4).random((2, 7, 8, 1))
    np.testing.assert_array_equal(L.CenterCrop(3, 4)(x).data, x[:, 2:5, 2:6])
    # 7x8 is smaller than 10x4 in height: Keras crops it to ratio 10:4 (7x2, centered), resizes.
    np.testing.assert_allclose(
        L.CenterCrop(10, 4)(x).data, tf_resize(x[:, :, 3:5], 10, 4, "bilinear")
    )


def test_random_crops_are_windows_of_their_own_image_and_resize_in_inference(device):
    x = np.random.default_rng(5).random((64, 9, 8, 1)).astype(np.float32)
    layer = L.RandomCrop(5, 4)
    backend.set_random_seed(6)
    out = host(layer(backend.to_device(x, device), training=True))
    assert out.shape == (64, 5, 4, 1)
    offsets = []
    for image, crop in zip(x, out, strict=True):
        found = [
            (t, l)
            for t in range(5)
            for l in range(5)
            if np.array_equal(image[t : t + 5, l : l + 4], crop)
        ]
        assert found, "a training crop is a window of its own image"
        offsets.append(found[0])
    assert len(set(offsets)) > 10  # each image its own window
    assert {t for t, _ in offsets} == set(range(5)) and {l for _, l in offsets} == set(range(5))
    inference = host(layer(backend.to_device(x, device), training=False))
    # Inference: the largest centered 5:4 window of 9x8 (rows 0-8, columns 0-7), resized.
    np.testing.assert_allclose(
        inference, tf_resize(x[:, :, 0:7].astype(np.float64), 5, 4, "bilinear"), rtol=1e-5
    )
    x64 = np.random.default_rng(7).standard_normal((3, 6, 6, 2))
    backend.set_random_seed(8)
    check_gradients(lambda t: L.RandomCrop(4, 3, seed=3)(t, training=True), x64, device=device)


def test_brightness_and_contrast_follow_keras_and_clip():
    x = np.random.default_rng(9).random((200, 4, 5, 2)) * 0.6 + 0.2
    out = L.RandomBrightness(0.1, value_range=(0, 1))(x, training=True).data
    shift = (out - x).reshape(200, -1)
    np.testing.assert_allclose(shift, shift[:, :1] * np.ones_like(shift), atol=1e-12)
    assert -0.1 <= shift.min() < -0.05 and 0.05 < shift.max() <= 0.1
    clipped = L.RandomBrightness((0.5, 0.5), value_range=(0, 1))(x, training=True).data
    np.testing.assert_allclose(clipped, np.minimum(x + 0.5, 1.0))
    out = L.RandomContrast((0.2, 0.5), value_range=(-5, 5))(x, training=True).data
    mean = x.mean(axis=(1, 2), keepdims=True)
    factor = (out - mean) / (x - mean)
    per_image = factor.reshape(200, -1)
    np.testing.assert_allclose(per_image, per_image[:, :1] * np.ones_like(per_image), rtol=1e-9)
    assert 0.8 <= per_image.min() < 0.9 and 1.4 < per_image.max() <= 1.5
    assert L.RandomContrast(0.3)(x, training=False).data is x


@pytest.mark.parametrize(
    "layer",
    [
        lambda: L.RandomBrightness(0.2, value_range=(-0.8, 0.9)),
        lambda: L.RandomContrast(0.4, value_range=(-0.8, 0.9)),
    ],
    ids=["brightness", "contrast"],
)
def test_brightness_and_contrast_gradients(layer, device):
    # Some values end beyond the clip limits: no gradient reaches them.
    x = np.random.default_rng(10).uniform(-1, 1, (3, 4, 4, 2))
    seeded = layer()

    def run(t):
        seeded._generator = np.random.default_rng(4)  # the same draws on every evaluation
        return seeded(t, training=True)

    check_gradients(run, x, device=device)


def raw_pixel_cnn(device="cpu"):
    """A model that takes 10x10 images of pixels in [0, 255] and prepares them itself."""
    return Sequential(
        [
            Input((10, 10, 1)),
            L.Rescaling(1 / 255),
            L.RandomCrop(9, 9),
            L.Resizing(8, 8),
            L.RandomBrightness(0.05, value_range=(0, 1)),
            L.RandomContrast(0.1, value_range=(0, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ],
        device=device,
    )


def raw_pixels(n=96):
    x, y = toy_data(n)
    big = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return (big * 255).astype(np.float32), y


def test_a_model_on_raw_pixels_trains_saves_and_loads(tmp_path, device):
    x, y = raw_pixels()
    backend.set_random_seed(0)
    model = raw_pixel_cnn(device)
    model.compile(optimizers.Adam(0.01), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    for a, b in zip(loaded.layers, model.layers, strict=True):
        assert a.get_config() == b.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_captured_step_replays_the_preprocessing_draws(gpu):
    def build(device):
        return Sequential(
            [
                Input((8, 8, 1)),
                L.Rescaling([2.0], offset=[-0.5]),
                L.RandomCrop(7, 7),
                L.RandomContrast(0.3, value_range=(-1, 2)),
                L.RandomBrightness(0.1, value_range=(-1, 2)),
                L.Resizing(8, 8),
                L.Conv2D(4, 3, padding="same", activation="relu"),
                L.Flatten(),
                L.Dense(3, activation="softmax"),
            ],
            device=device,
        )

    plain = fit_twice(build, "adam", jit_compile=False)
    captured = fit_twice(build, "adam", jit_compile=True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None
    assert captured[0]._captured_step.replays > 0


def test_bad_preprocessing_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(Rescaling\): scale must be a finite number"):
        L.Rescaling("1/255")
    with pytest.raises(ValueError, match=r"2 values of scale for an input with 3 channels"):
        Sequential([Input((4, 4, 3)), L.Rescaling([1.0, 2.0])])
    with pytest.raises(ValueError, match=r"\(Resizing\): height must be a positive int"):
        L.Resizing(0, 4)
    with pytest.raises(ValueError, match="only one of crop_to_aspect_ratio and pad_to_aspect"):
        L.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match=r"interpolation must be one of bilinear, nearest, bicu"):
        L.Resizing(4, 4, interpolation="gaussian")
    with pytest.raises(ValueError, match=r"\(RandomCrop\) expects input of shape \(batch, height"):
        Sequential([Input((5,)), L.RandomCrop(2, 2)])
    with pytest.raises(ValueError, match=r"factor must be within \[0, 1\]"):
        L.RandomContrast(1.5)
    with pytest.raises(ValueError, match=r"value_range must be a \(low, high\) pair"):
        L.RandomBrightness(0.1, value_range=255)
    with pytest.raises(ValueError, match=r"factor must give lower <= upper within \[-1, 1\]"):
        L.RandomBrightness(2.0)


def test_normalization_adapts_to_data_and_inverts(device, tmp_path):
    rng = np.random.default_rng(20)
    images = (rng.random((50, 4, 4, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0]).astype(np.float32)
    layer = L.Normalization()
    layer.to(device)
    layer.adapt(images)
    mean, variance, count = layer.get_weights()
    assert count == 50 * 4 * 4 and count.dtype == np.int64
    np.testing.assert_allclose(mean, images.reshape(-1, 3).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(variance, images.reshape(-1, 3).var(axis=0), rtol=1e-4)
    out = host(layer(backend.to_device(images, device)))
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.reshape(-1, 3).std(axis=0), 1, rtol=1e-4)
    undo = L.Normalization(mean=mean, variance=variance, invert=True)
    np.testing.assert_allclose(undo(out).data, images, rtol=1e-4, atol=1e-4)
    assert undo.get_weights() == []  # Keras: a given mean and variance are constants
    rebuilt = L.Normalization.from_config(undo.get_config())
    np.testing.assert_allclose(rebuilt(out).data, images, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="adapt is for a layer made without them"):
        undo.adapt(images)
    with pytest.raises(ValueError, match=r"of the kept axes' shape \(3,\)"):
        L.Normalization(mean=[0.0, 1.0], variance=[1.0, 1.0])(images)
    batches = [images[:20], images[20:]]  # adapt takes the batches of a dataset too
    again = L.Normalization()
    again.adapt(batches)
    np.testing.assert_allclose(again.get_weights()[0], mean, rtol=1e-6)
    model = Sequential([Input((4, 4, 3)), layer, L.Flatten(), L.Dense(2)]).to(device)
    assert len(model.non_trainable_weights) == 3 and model.count_params() == 7 + 48 * 2 + 2
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    np.testing.assert_array_equal(loaded.layers[0].get_weights()[0], mean)
    given = Sequential([Input((4, 4, 3)), undo, L.Flatten(), L.Dense(2)]).to(device)
    given.save(tmp_path / "given.minicnn")
    again_given = load_model(tmp_path / "given.minicnn", device=device)
    np.testing.assert_allclose(
        again_given.predict(out, verbose=0), given.predict(out, verbose=0), rtol=1e-6
    )
    assert given.count_params() == 48 * 2 + 2
    with pytest.raises(ValueError, match="give both mean and variance, or neither"):
        L.Normalization(mean=0.0)
    # Keras counts the batch axis: axis 3 of images is their channels (EfficientNet's).
    on_axis_3 = L.Normalization(axis=3, mean=mean, variance=variance)
    np.testing.assert_allclose(on_axis_3(images).data, out, rtol=1e-6)
    with pytest.raises(ValueError, match=r"of the kept axes' shape \(4,\)"):
        L.Normalization(axis=2, mean=mean, variance=variance)(images)  # 3 values for 4


def test_normalization_mean_and_variance_are_kerass_broadcast_statistics():
    """As Keras: layer.mean and layer.variance are shaped to broadcast against a batch (the
    keras.io MLP-Mixer example printed (1, 1, 1, 3) in Keras, the weight's (3,) here), the
    adapted weights are adapt_mean and adapt_variance, and a layer not built has none."""
    rng = np.random.default_rng(5)
    images = rng.random((6, 4, 5, 3)).astype(np.float32)
    layer = L.Normalization()
    assert layer.mean is None and layer.variance is None
    layer.adapt(images)
    assert layer.mean.shape == (1, 1, 1, 3) and layer.variance.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(
        np.asarray(layer.mean).ravel(), images.mean(axis=(0, 1, 2)), rtol=1e-6
    )
    assert layer.adapt_mean.shape == (3,) and layer.adapt_mean.name == "mean"
    assert layer.adapt_variance.path == f"{layer.name}/variance"
    per_row = L.Normalization(axis=(1, 2))
    per_row.adapt(images)
    assert per_row.mean.shape == (1, 4, 5, 1)
    given = L.Normalization(mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 4.0])
    given.build((None, 4, 5, 3))
    np.testing.assert_array_equal(np.asarray(given.variance), [[[[1.0, 1.0, 4.0]]]])
    with pytest.raises(AttributeError, match="has no attribute 'adapt_mean'"):
        given.adapt_mean  # noqa: B018


@pytest.mark.parametrize("axis", [None, (1, 2), 1, [-1, -3]])
def test_normalization_keeps_the_axes_keras_keeps(axis):
    """Keras' axis: a mean and variance per index of the kept axes, over every other axis;
    None: one for everything (Keras 3.15's adapt gives the same statistics)."""
    rng = np.random.default_rng(3)
    images = rng.normal(2.0, 3.0, (10, 4, 5, 3)).astype(np.float32)
    layer = L.Normalization(axis=axis)
    layer.adapt(images)
    kept = (
        []
        if axis is None
        else sorted({a % 4 for a in ((axis,) if isinstance(axis, int) else axis)})
    )
    over = tuple(a for a in range(4) if a not in kept)
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, images.mean(axis=over), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, images.var(axis=over), rtol=1e-5)
    assert count == np.prod([images.shape[a] for a in over])
    out = host(layer(images))
    np.testing.assert_allclose(out.mean(axis=over), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=over), 1, rtol=1e-4)
    assert L.Normalization.from_config(layer.get_config()).axis == layer.axis
    with pytest.raises(ValueError, match="not an axis after the batch"):
        L.Normalization(axis=0)(images)
