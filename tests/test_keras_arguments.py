"""Keras arguments that code written for Keras passes: data_format (channels-last, Keras'
default, is minicnn's; channels-first is refused with the way round it), Dropout's
noise_shape and seed, SpatialDropout's seed."""

import numpy as np
import pytest
from test_functions import host

from minicnn import Input, Sequential, backend, load_model
from minicnn import layers as L

IMAGE_LAYERS = [
    (lambda **kw: L.Conv2D(2, 3, **kw), (6, 6, 1)),
    (lambda **kw: L.Conv2DTranspose(2, 3, **kw), (6, 6, 1)),
    (lambda **kw: L.DepthwiseConv2D(3, **kw), (6, 6, 2)),
    (lambda **kw: L.SeparableConv2D(2, 3, **kw), (6, 6, 2)),
    (lambda **kw: L.MaxPooling2D(**kw), (6, 6, 1)),
    (lambda **kw: L.AveragePooling2D(**kw), (6, 6, 1)),
    (lambda **kw: L.GlobalAveragePooling2D(**kw), (6, 6, 1)),
    (lambda **kw: L.GlobalMaxPooling2D(**kw), (6, 6, 1)),
    (lambda **kw: L.Flatten(**kw), (6, 6, 1)),
    (lambda **kw: L.UpSampling2D(**kw), (6, 6, 1)),
    (lambda **kw: L.ZeroPadding2D(**kw), (6, 6, 1)),
    (lambda **kw: L.Cropping2D(1, **kw), (6, 6, 1)),
    (lambda **kw: L.SpatialDropout2D(0.5, **kw), (6, 6, 1)),
    (lambda **kw: L.Conv1D(2, 3, **kw), (6, 1)),
    (lambda **kw: L.Conv1DTranspose(2, 3, **kw), (6, 1)),
    (lambda **kw: L.MaxPooling1D(**kw), (6, 1)),
    (lambda **kw: L.GlobalAveragePooling1D(**kw), (6, 1)),
    (lambda **kw: L.Conv3D(2, 3, **kw), (4, 4, 4, 1)),
    (lambda **kw: L.MaxPooling3D(**kw), (4, 4, 4, 1)),
    (lambda **kw: L.UpSampling3D(**kw), (4, 4, 4, 1)),
]


@pytest.mark.parametrize("case", range(len(IMAGE_LAYERS)))
def test_data_format_channels_last_is_taken_and_saved(case, tmp_path):
    make, shape = IMAGE_LAYERS[case]
    explicit = Sequential([Input(shape), make(data_format="channels_last")])
    assert explicit.layers[0].get_config()["data_format"] == "channels_last"
    default = Sequential([Input(shape), make()])
    assert default.sample_output_shape == explicit.sample_output_shape
    explicit.save(tmp_path / "m.minicnn")
    assert load_model(tmp_path / "m.minicnn").layers[0].data_format == "channels_last"
    with pytest.raises(ValueError, match="must be 'channels_last' or 'channels_first'"):
        make(data_format="NHWC")


def channels_first(a, spatial):
    """A channels-last batch (or output) in channels-first order (flat ones as they are)."""
    if a.ndim < spatial + 2:
        return a
    return np.moveaxis(a, -1, a.ndim - 1 - spatial)


@pytest.mark.parametrize("case", range(len(IMAGE_LAYERS)))
def test_channels_first_computes_what_channels_last_does(case, device, tmp_path):
    """PyTorch's layout, as Keras takes it: the same weights on the same data with the
    channels first give the same numbers with the channels first."""
    make, shape = IMAGE_LAYERS[case]
    spatial = len(shape) - 1
    x = np.random.default_rng(case).random((2, *shape)).astype(np.float32)
    last = Sequential([Input(shape), make()]).to(device)
    first_layer = make(data_format="channels_first")
    first = Sequential([Input(channels_first(x, spatial).shape[1:]), first_layer]).to(device)
    assert [w.shape for w in first.get_weights()] == [w.shape for w in last.get_weights()]
    first.set_weights(last.get_weights())
    expected = channels_first(last.predict(x, verbose=0), spatial)
    assert first.sample_output_shape == expected.shape[1:]
    got = first.predict(channels_first(x, spatial), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    first.save(tmp_path / "m.minicnn")
    again = load_model(tmp_path / "m.minicnn", device=device)
    np.testing.assert_array_equal(again.predict(channels_first(x, spatial), verbose=0), got)


def test_a_channels_first_cnn_trains_and_its_gradients_check(device):
    from test_layers import check_layer_gradients

    from minicnn import optimizers

    x = np.random.default_rng(7).random((16, 3, 8, 8)).astype(np.float32)
    y = np.arange(16) % 2
    model = Sequential(
        [
            Input((3, 8, 8)),
            L.Conv2D(4, 3, padding="same", activation="relu", data_format="channels_first"),
            L.BatchNormalization(axis=1),
            L.MaxPooling2D(data_format="channels_first"),
            L.Conv2D(2, 3, activation="softmax", data_format="channels_first"),
            L.GlobalAveragePooling2D(data_format="channels_first"),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    check_layer_gradients(
        L.Conv2D(2, 3, strides=2, data_format="channels_first"),
        np.random.default_rng(8).standard_normal((2, 3, 5, 5)),
        device=device,
    )


def test_layers_without_data_format_refuse_it_as_keras_does():
    for make in (
        lambda: L.Dense(2, data_format="channels_last"),
        lambda: L.SpatialDropout1D(0.1, data_format="channels_last"),
    ):
        with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
            make()


def test_dropout_noise_shape_drops_along_the_axes_it_names(device):
    x = np.ones((4, 5, 6), np.float32)
    layer = L.Dropout(0.5, noise_shape=(None, 1, 6))
    Sequential([Input((5, 6)), layer]).to(device)
    out = host(layer(backend.to_device(x, device), training=True).data)
    assert (out == out[:, :1]).all()  # the same units dropped at every step
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1
    with pytest.raises(ValueError, match="does not broadcast"):
        L.Dropout(0.5, noise_shape=(None, 3, 6))(x, training=True)
    with pytest.raises(ValueError, match="does not match the input's rank"):
        L.Dropout(0.5, noise_shape=(None, 6))(x, training=True)
    with pytest.raises(ValueError, match="noise_shape must be a tuple"):
        L.Dropout(0.5, noise_shape=(0, 1))


@pytest.mark.parametrize(
    "make", [lambda s: L.Dropout(0.5, seed=s), lambda s: L.SpatialDropout2D(0.5, seed=s)]
)
def test_a_seeded_dropout_draws_its_own_masks(make):
    """Keras' seed: the layer's masks follow its own generator, whatever the global one."""
    x = np.ones((8, 4, 4, 3), np.float32)

    def masks(seed, global_seed):
        backend.set_random_seed(global_seed)
        layer = make(seed)
        return [host(layer(x, training=True).data) for _ in range(2)]

    a, b = masks(3, 1), masks(3, 2)
    np.testing.assert_array_equal(a, b)
    assert (a[0] != a[1]).any()  # a new mask each call
    assert (masks(None, 1)[0] != masks(None, 2)[0]).any()
    assert make(3).get_config()["seed"] == 3


def test_embedding_takes_starting_weights_and_a_constraint(tmp_path):
    from minicnn import constraints, optimizers

    vectors = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    unit_rows = constraints.UnitNorm(axis=1)
    layer = L.Embedding(10, 4, weights=[vectors], embeddings_constraint=unit_rows)
    model = Sequential([Input((3,)), layer, L.Flatten(), L.Dense(1)])
    np.testing.assert_array_equal(layer.get_weights()[0], vectors)
    model.compile(optimizers.SGD(0.5), "mse")
    ids = np.random.default_rng(1).integers(0, 10, (16, 3))
    model.fit(ids, np.ones((16, 1)), epochs=1, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(layer.get_weights()[0], axis=1), 1, rtol=1e-5)
    model.save(tmp_path / "m.minicnn")
    assert load_model(tmp_path / "m.minicnn").layers[0].get_config()["embeddings_constraint"]
    with pytest.raises(ValueError, match=r"weights must be one array of shape \(input_dim"):
        L.Embedding(10, 4, weights=np.zeros((9, 4)))


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: L.BatchNormalization(synchronized=True, **kw),
        lambda **kw: L.LayerNormalization(**kw),
        lambda **kw: L.GroupNormalization(groups=2, **kw),
    ],
)
def test_normalizations_take_gamma_and_beta_regularizers_and_constraints(make, tmp_path):
    from minicnn import constraints, optimizers

    layer = make(
        gamma_regularizer="l2",
        beta_regularizer="l1",
        gamma_constraint=constraints.NonNeg(),
        beta_constraint=constraints.MaxNorm(0.1, axis=0),
    )
    model = Sequential([Input((4, 4, 4)), layer, L.Flatten(), L.Dense(1)])
    gamma, beta = layer.get_weights()[:2]
    assert len(layer.losses) == 2
    penalty = 0.01 * (gamma**2).sum() + 0.01 * np.abs(beta).sum()
    assert float(sum(host(p.data) for p in layer.losses)) == pytest.approx(penalty, rel=1e-5)
    model.compile(optimizers.SGD(1.0), "mse")
    x = np.random.default_rng(2).standard_normal((8, 4, 4, 4)).astype(np.float32)
    model.fit(x, -10 * np.ones((8, 1)), epochs=3, verbose=0)
    gamma, beta = layer.get_weights()[:2]
    assert (gamma >= 0).all() and np.linalg.norm(beta) <= 0.1 + 1e-6
    model.save(tmp_path / "m.minicnn")
    config = load_model(tmp_path / "m.minicnn").layers[0].get_config()
    assert config["gamma_regularizer"] and config["beta_constraint"]["class_name"] == "MaxNorm"
    # Without scale (or center) the other weight keeps its options.
    only_beta = make(scale=False, beta_regularizer="l2")
    Sequential([Input((4, 4, 4)), only_beta])
    assert len(only_beta.losses) == 1


def test_multi_head_attention_seed_constraints_and_refused_switches(tmp_path):
    from minicnn import Model, constraints, optimizers

    def model(seed):
        backend.set_random_seed(0)
        query = Input((5, 4))
        mha = L.MultiHeadAttention(
            2,
            3,
            dropout=0.5,
            seed=seed,
            kernel_constraint=constraints.MaxNorm(0.3),
            bias_constraint=constraints.NonNeg(),
            attention_axes=None,
            flash_attention=False,
        )
        return Model(query, L.GlobalAveragePooling1D()(mha(query, query))), mha

    x = np.random.default_rng(0).standard_normal((6, 5, 4)).astype(np.float32)
    outs = []
    for global_seed in (1, 2):
        net, mha = model(9)
        backend.set_random_seed(global_seed)
        outs.append(host(mha([x, x], training=True).data))
    np.testing.assert_array_equal(outs[0], outs[1])  # the layer's own dropout masks
    net.compile(optimizers.SGD(0.5), "mse")
    net.fit(x, np.ones((6, 4)), epochs=2, verbose=0)
    weights = mha.get_weights()
    for kernel in weights[0::2]:
        assert np.linalg.norm(kernel, axis=0).max() <= 0.3 + 1e-6
    assert all((bias >= 0).all() for bias in weights[1::2])
    net.save(tmp_path / "m.minicnn")
    config = load_model(tmp_path / "m.minicnn").get_layer(mha.name).get_config()
    assert config["seed"] == 9 and config["kernel_constraint"]["class_name"] == "MaxNorm"
    with pytest.raises(ValueError, match="attention_axes must be an int, a list of ints"):
        L.MultiHeadAttention(2, 3, attention_axes="rows")
    with pytest.raises(ValueError, match="flash_attention=True"):
        L.MultiHeadAttention(2, 3, flash_attention=True)


def test_input_takes_keras_arguments():
    from minicnn import Model

    a = Input(shape=(5,), batch_size=4, dtype="int32", name="ids")
    b = Input(batch_shape=(4, 5), dtype="int32")
    assert a.shape == b.shape == (4, 5) and a.batch_size == b.batch_size == 4
    assert a.dtype == "int32" and a.name == "ids"
    assert Input(7).shape == (None, 7)  # an int is one axis, as in Keras
    model = Model(a, L.Dense(2)(L.Flatten()(L.Embedding(10, 3)(a))))
    assert model.predict(np.arange(20).reshape(4, 5) % 10, verbose=0).shape == (4, 2)
    assert Input(shape=(None, 3)).shape == (None, None, 3)  # an unknown size, as in Keras
    with pytest.raises(ValueError, match="shape or batch_shape, not both"):
        Input(shape=(3,), batch_shape=(2, 3))
    with pytest.raises(ValueError, match="sparse inputs"):
        Input(shape=(3,), sparse=True)
    with pytest.raises(ValueError, match="give the shape of one sample"):
        Input()


def test_alpha_dropout_noise_shape_drops_the_same_units_at_every_step():
    x = np.random.default_rng(3).standard_normal((4, 6, 5)).astype(np.float32)
    layer = L.AlphaDropout(0.5, noise_shape=(None, 1, 5), seed=2)
    out = host(layer(x, training=True).data)
    saturation = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.5) * (1 + 0.5 * saturation**2)) ** -0.5
    b = -a * saturation * 0.5
    kept = np.isclose(out, a * x + b, atol=1e-5)
    dropped = np.isclose(out, a * saturation + b, atol=1e-5)
    assert (kept | dropped).all()
    # The same pattern at every step: one draw per sample and feature.
    assert (kept == kept[:, :1]).all() and 0 < kept[:, 0].mean() < 1
    assert layer.get_config()["noise_shape"] == [None, 1, 5]
    with pytest.raises(ValueError, match="does not broadcast"):
        L.AlphaDropout(0.5, noise_shape=(None, 2, 5))(x, training=True)


def test_utils_normalize_and_set_random_seed():
    from minicnn import utils

    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0, order=1), [[1.0, 1.0], [0.0, 0.0]])
    utils.set_random_seed(5)
    a = L.Dense(3)
    Sequential([Input((2,)), a])
    utils.set_random_seed(5)
    b = L.Dense(3)
    Sequential([Input((2,)), b])
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])


def test_a_channels_first_conv_lstm_takes_time_then_channels():
    """Keras' channels_first ConvLSTM2D: (batch, time, channels, rows, cols); its states
    (batch, filters, rows, cols)."""
    x = np.random.default_rng(9).random((2, 3, 5, 5, 2)).astype(np.float32)
    last = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True)
    first = L.ConvLSTM2D(
        3,
        3,
        padding="same",
        return_sequences=True,
        return_state=True,
        data_format="channels_first",
    )
    out_last = last(x)
    x_first = np.moveaxis(x, -1, 2)
    first.build(x_first.shape)
    first.set_weights(last.get_weights())
    out_first = first(x_first)
    assert first.sample_output_shape == [(3, 3, 5, 5), (3, 5, 5), (3, 5, 5)]
    np.testing.assert_allclose(
        host(out_first[0].data), np.moveaxis(host(out_last[0].data), -1, 2), rtol=1e-5
    )
    for a, b in zip(out_first[1:], out_last[1:], strict=True):
        np.testing.assert_allclose(host(a.data), np.moveaxis(host(b.data), -1, 1), rtol=1e-5)


def test_config_image_data_format_float_type_and_policies():
    from minicnn import config, mixed_precision

    assert config.image_data_format() == "channels_last" and config.floatx() == "float32"
    config.set_image_data_format("channels_first")
    try:
        conv = L.Conv2D(2, 3)
        model = Sequential([Input((3, 6, 6)), conv, L.Flatten()])
        assert conv.data_format == "channels_first" and conv.sample_output_shape == (2, 4, 4)
        assert model.output_shape == (None, 32)
        assert L.Conv2D(2, 3, data_format="channels_last").data_format == "channels_last"
    finally:
        config.set_image_data_format("channels_last")
    assert L.Conv2D(2, 3).data_format == "channels_last"
    with pytest.raises(ValueError, match="must be one of"):
        config.set_image_data_format("NCHW")
    config.set_floatx("float32")
    with pytest.raises(ValueError, match="float32 only"):
        config.set_floatx("float16")
    mixed_precision.set_global_policy("float32")
    assert mixed_precision.global_policy().compute_dtype == "float32"
    with pytest.warns(UserWarning, match="computes in float32"):
        mixed_precision.set_global_policy("mixed_float16")
    try:  # kept by name, as layers made now keep it; computed in float32
        assert mixed_precision.global_policy().compute_dtype == "float32"
        assert L.Dense(2).dtype_policy.name == "mixed_float16"
    finally:
        mixed_precision.set_global_policy("float32")
    assert L.Dense(2).dtype_policy.name == "float32"
    with pytest.raises(ValueError, match="computes in float32"):
        mixed_precision.set_global_policy("float16")
    assert config.epsilon() == 1e-7


def test_set_epsilon_is_read_when_losses_metrics_and_layers_compute():
    """Keras' set_epsilon: the fuzz factor that clips probabilities, floors Normalization's
    spread and pads the constraints' norms, read at each computation."""
    from minicnn import config, constraints, losses, metrics

    probs = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    labels = np.array([0, 1])
    assert float(losses.get("sparse_categorical_crossentropy")(labels, probs)) == pytest.approx(
        -np.log(1e-7), rel=1e-5
    )
    layer = L.Normalization(mean=0.0, variance=0.0)
    config.set_epsilon(1e-3)
    try:
        assert config.epsilon() == 1e-3
        scce = losses.get("sparse_categorical_crossentropy")(labels, probs)
        assert float(scce) == pytest.approx(-np.log(1e-3), rel=1e-5)
        bce = losses.BinaryCrossentropy()(np.array([[1.0]]), np.array([[0.0]], np.float32))
        assert float(bce) == pytest.approx(-np.log(1e-3), rel=1e-5)
        metric = metrics.SparseCategoricalCrossentropy()
        metric.update_state(labels, probs)
        assert float(metric.result()) == pytest.approx(-np.log(1e-3), rel=1e-5)
        np.testing.assert_allclose(host(layer(np.ones((1, 1), np.float32)).data), 1e3, rtol=1e-5)
        unit = constraints.UnitNorm(axis=0)(np.array([[3.0], [4.0]], np.float32))
        np.testing.assert_allclose(unit, [[3 / 5.001], [4 / 5.001]], rtol=1e-6)
    finally:
        config.set_epsilon(1e-7)
    assert float(losses.get("sparse_categorical_crossentropy")(labels, probs)) == pytest.approx(
        -np.log(1e-7), rel=1e-5
    )
    with pytest.raises(ValueError, match="set_epsilon takes a number in"):
        config.set_epsilon(0)
