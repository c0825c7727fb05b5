"""ZeroPadding2D, Cropping2D, UpSampling2D, LayerNormalization and SpatialDropout2D against
NumPy, with float64 gradient checks on every backend."""

import numpy as np
import pytest
from test_functions import host
from test_layers import check_layer_gradients
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model
from minicnn import layers as L


def test_padding_cropping_and_upsampling_match_numpy(device):
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3))
    on = backend.to_device(x, device)
    padded = host(L.ZeroPadding2D(((1, 2), (0, 3)))(on))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0))))
    cropped = host(L.Cropping2D(((1, 0), (2, 1)))(on))
    np.testing.assert_array_equal(cropped, x[:, 1:, 2:4])
    upsampled = host(L.UpSampling2D((2, 3))(on))
    np.testing.assert_array_equal(upsampled, np.kron(x, np.ones((1, 2, 3, 1))))


@pytest.mark.parametrize(
    "layer",
    [
        lambda: L.ZeroPadding2D(1),
        lambda: L.ZeroPadding2D((2, 0)),
        lambda: L.Cropping2D(((1, 0), (1, 2))),
        lambda: L.UpSampling2D(2),
        lambda: L.LayerNormalization(),
        lambda: L.LayerNormalization(center=False),
    ],
)
def test_shape_layer_gradients(layer, device):
    x = np.random.default_rng(1).standard_normal((2, 4, 5, 3))
    check_layer_gradients(layer(), x, device=device)


def test_layer_normalization_matches_its_definition(device):
    x = np.random.default_rng(2).standard_normal((3, 4, 6)) * 3 + 1
    layer = L.LayerNormalization(epsilon=1e-3)
    out = host(layer(backend.to_device(x, device), training=True))
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-10)
    assert [w.shape for w in layer.weights] == [(6,), (6,)]
    np.testing.assert_array_equal(host(layer(backend.to_device(x, device))), out)


@pytest.mark.parametrize("axis", [[1, 2, 3], 1, [-3, -1]])
def test_layer_normalization_over_other_axes(axis, device):
    """Keras' axis: mean and variance over those sample axes, gamma and beta shaped by them."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5)) * 2 + 1
    layer = L.LayerNormalization(axis=axis)
    layer.to(device)
    layer.build(x.shape)
    axes = tuple(sorted({a % 4 for a in (axis if isinstance(axis, list) else [axis])}))
    shapes = tuple(x.shape[a] for a in axes)
    assert [w.shape for w in layer.weights] == [shapes, shapes]
    layer.set_weights([rng.standard_normal(shapes), rng.standard_normal(shapes)])
    gamma, beta = (w.astype(np.float64) for w in layer.get_weights())  # as stored, float32
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    broadcast = [x.shape[a] if a in axes else 1 for a in range(1, 4)]
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(broadcast) + beta.reshape(broadcast)
    np.testing.assert_allclose(host(layer(backend.to_device(x, device))), expected, rtol=1e-10)
    check_layer_gradients(L.LayerNormalization(axis=axis), x, device=device)


def test_spatial_dropout_drops_whole_channels(device):
    x = np.ones((64, 3, 4, 8), np.float32)
    out = host(L.SpatialDropout2D(0.5)(backend.to_device(x, device), training=True))
    per_channel = out.reshape(64, 12, 8)
    assert (per_channel == per_channel[:, :1]).all()  # a channel is kept or dropped whole
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.4 < (per_channel[:, 0] == 0).mean() < 0.6
    np.testing.assert_array_equal(host(L.SpatialDropout2D(0.5)(backend.to_device(x, device))), x)


def test_an_encoder_decoder_trains_saves_and_loads(tmp_path):
    x, y = toy_data(64)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.ZeroPadding2D(1),
            L.Conv2D(4, 3, activation="relu"),
            L.SpatialDropout2D(0.2),
            L.MaxPooling2D(),
            L.UpSampling2D(),
            L.Cropping2D(1),
            L.LayerNormalization(),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )
    assert [layer.sample_output_shape for layer in model.layers[:7]] == [
        (10, 10, 1),
        (8, 8, 4),
        (8, 8, 4),
        (4, 4, 4),
        (8, 8, 4),
        (6, 6, 4),
        (6, 6, 4),
    ]
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_shape_layer_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(ZeroPadding2D\): padding must be an int, a pair"):
        L.ZeroPadding2D(-1)
    with pytest.raises(ValueError, match=r"cropping must be an int, a pair"):
        L.Cropping2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"leaves nothing of a 4x4 input"):
        Sequential([Input((4, 4, 1)), L.Cropping2D(2)])
    with pytest.raises(
        ValueError, match="interpolation must be one of bilinear, nearest; got 'area'"
    ):
        L.UpSampling2D(interpolation="area")
    with pytest.raises(ValueError, match="axis 0 is the batch"):
        L.LayerNormalization(axis=[0, 1])
    with pytest.raises(ValueError, match=r"axis 3 is not an axis of samples of rank 2"):
        Sequential([Input((4, 5)), L.LayerNormalization(axis=3)])
    with pytest.raises(ValueError, match=r"\(SpatialDropout2D\) expects input of shape"):
        Sequential([Input((4,)), L.SpatialDropout2D(0.1)])


@pytest.mark.parametrize("axis", [-1, [1, 3]])
def test_rms_normalization_follows_its_definition_and_keras_example(axis, device):
    """Keras' RMSNormalization: x / sqrt(mean(x^2) + eps) * scale; no shift."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4, 5)) * 2 + 1
    layer = L.RMSNormalization(axis=axis)
    layer.to(device)
    layer.build(x.shape)
    axes = (3,) if axis == -1 else (1, 3)
    shape = tuple(x.shape[a] for a in axes)
    assert [w.shape for w in layer.weights] == [shape]
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones(shape))  # Keras' ones
    scale = rng.standard_normal(shape)
    layer.set_weights([scale])
    stored = layer.get_weights()[0].astype(np.float64)
    rms = np.sqrt((x**2).mean(axis=axes, keepdims=True) + 1e-6)
    broadcast = [x.shape[a] if a in axes else 1 for a in range(1, 4)]
    expected = x / rms * stored.reshape(broadcast)
    np.testing.assert_allclose(host(layer(backend.to_device(x, device))), expected, rtol=1e-10)
    check_layer_gradients(L.RMSNormalization(axis=axis), x, device=device)
    config = layer.get_config()
    assert config["axis"] == axis and config["epsilon"] == 1e-6 and "center" not in config
    assert L.RMSNormalization.from_config(config).get_config() == config


def test_rms_normalization_trains_in_a_model_and_ops_form(tmp_path):
    x = np.random.default_rng(5).standard_normal((4, 10))
    eps = 1e-7  # Keras' backend.epsilon(), the default
    from minicnn import ops

    expected = x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * 2.0
    np.testing.assert_allclose(ops.rms_normalization(x, 2.0).data, expected, rtol=1e-12)
    data, labels = toy_data(96)
    model = Sequential(
        [Input((8, 8, 1)), L.Flatten(), L.Dense(16), L.RMSNormalization(), L.Dense(3, "softmax")]
    )
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(data, labels, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    model.save(tmp_path / "rms.minicnn")
    loaded = load_model(tmp_path / "rms.minicnn")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
