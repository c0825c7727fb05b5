"""BatchNormalization, average and global pooling, Activation, Reshape, frozen layers, and the
weight initialisers: each against an independent oracle, on every backend."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients
from test_models import toy_data

from minicnn import Input, Sequential, backend, initializers, load_model, optimizers
from minicnn import functions as F
from minicnn import layers as L
from minicnn.autograd import Tensor

# --- average and global pooling ------------------------------------------------------------


def naive_avg_pool(x, pool, strides, padding):
    """Loops over windows; with 'same', a window averages only the pixels inside x."""
    n, h, w, c = x.shape
    (ph, pw), (sh, sw) = pool, strides
    oh, pt, _ = F.window_geometry(h, ph, sh, padding)
    ow, pl, _ = F.window_geometry(w, pw, sw, padding)
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            rows = range(max(i * sh - pt, 0), min(i * sh - pt + ph, h))
            cols = range(max(j * sw - pl, 0), min(j * sw - pl + pw, w))
            window = x[:, rows.start : rows.stop, cols.start : cols.stop, :]
            out[:, i, j, :] = window.sum(axis=(1, 2)) / (len(rows) * len(cols))
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "pool,strides,shape",
    [
        ((2, 2), (2, 2), (2, 6, 6, 3)),
        ((3, 3), (2, 2), (2, 7, 5, 2)),
        ((3, 2), (1, 2), (1, 5, 6, 1)),
    ],
)
def test_avg_pool_matches_loops_and_its_gradient_checks(pool, strides, shape, padding, device):
    x = np.random.default_rng(0).standard_normal(shape)
    out = F.avg_pool2d(backend.to_device(x, device), pool, strides, padding)
    np.testing.assert_allclose(host(out), naive_avg_pool(x, pool, strides, padding), rtol=1e-12)
    check_gradients(lambda t: F.avg_pool2d(t, pool, strides, padding), x, device=device)


def test_global_pools_match_numpy_and_their_gradients_check(device):
    x = np.random.default_rng(1).standard_normal((3, 4, 5, 2))
    on = backend.to_device(x, device)
    np.testing.assert_allclose(host(F.global_avg_pool2d(on)), x.mean(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(host(F.global_max_pool2d(on)), x.max(axis=(1, 2)), rtol=1e-12)
    check_gradients(F.global_avg_pool2d, x, device=device)
    check_gradients(F.global_max_pool2d, x, device=device)


def test_global_max_pool_splits_the_gradient_between_ties():
    x = Tensor(np.array([[[[1.0], [3.0]], [[3.0], [0.0]]]]), requires_grad=True)
    F.global_max_pool2d(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[0.0, 0.5], [0.5, 0.0]])


def test_pooling_layers_shapes_and_gradients(device):
    x = np.random.default_rng(2).standard_normal((2, 5, 6, 3))
    check_layer_gradients(L.AveragePooling2D(2, padding="same"), x, device=device)
    check_layer_gradients(L.GlobalAveragePooling2D(), x, device=device)
    check_layer_gradients(L.GlobalMaxPooling2D(keepdims=True), x, device=device)
    model = Sequential(
        [
            Input((5, 6, 3)),
            L.AveragePooling2D(2, padding="same"),
            L.AveragePooling2D(3, strides=1),
            L.GlobalMaxPooling2D(keepdims=True),
            L.GlobalAveragePooling2D(),
        ]
    )
    assert [layer.sample_output_shape for layer in model.layers] == [
        (3, 3, 3),
        (1, 1, 3),
        (1, 1, 3),
        (3,),
    ]
    assert model.predict(x.astype(np.float32), verbose=0).shape == (2, 3)
    with pytest.raises(ValueError, match=r"\(GlobalAveragePooling2D\) expects input of shape"):
        Sequential([Input((4,)), L.GlobalAveragePooling2D()])


# --- batch normalization -------------------------------------------------------------------


def test_batch_norm_gradients_in_training_and_inference(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 3, 2))
    gamma, beta = rng.standard_normal(2) + 1, rng.standard_normal(2)

    def training(x, gamma, beta):
        stats = [backend.to_device(np.zeros(2), device), backend.to_device(np.ones(2), device)]
        return F.batch_normalization(x, gamma, beta, *stats, training=True)

    def inference(x, gamma, beta):
        mean, variance = (
            backend.to_device(np.full(2, 0.3), device),
            backend.to_device(np.full(2, 2.0), device),
        )
        return F.batch_normalization(x, gamma, beta, mean, variance, training=False)

    check_gradients(training, x, gamma, beta, device=device)
    check_gradients(inference, x, gamma, beta, device=device)
    # Another axis: features along axis 1 of (batch, features, positions).
    x2 = rng.standard_normal((4, 3, 5))

    def axis1(x, gamma, beta):
        stats = [backend.to_device(np.zeros(3), device), backend.to_device(np.ones(3), device)]
        return F.batch_normalization(x, gamma, beta, *stats, training=True, axis=1)

    check_gradients(axis1, x2, gamma[:1].repeat(3), beta[:1].repeat(3), device=device)


def test_batch_norm_layer_gradients(device):
    x = np.random.default_rng(4).standard_normal((4, 3, 3, 2))
    check_layer_gradients(L.BatchNormalization(), x, training=True, device=device)
    check_layer_gradients(L.BatchNormalization(), x, training=False, device=device)
    check_layer_gradients(L.BatchNormalization(center=False), x, training=True, device=device)


def test_batch_norm_follows_keras_rules(device):
    """Training: the batch's biased statistics, and moving = moving * m + batch * (1 - m).
    Inference: the moving statistics. Weights in Keras' order."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((16, 3, 3, 4)) * 3 + 2).astype(np.float32)
    layer = L.BatchNormalization(momentum=0.9, epsilon=1e-3)
    layer.to(device)
    layer.build(x.shape)
    assert [w.shape for w in layer.weights] == [(4,)] * 4
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    out = host(layer(backend.to_device(x, device), training=True))
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(variance + 1e-3), rtol=1e-4, atol=1e-5)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving_variance, 0.9 + 0.1 * variance, rtol=1e-5)
    out = host(layer(backend.to_device(x, device), training=False))
    expected = (x - moving_mean) / np.sqrt(moving_variance + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.get_weights()[2], moving_mean)  # inference moves nothing


def test_batch_norm_options_and_errors():
    x = np.ones((2, 3, 3, 4), np.float32)
    layer = L.BatchNormalization(center=False, scale=False)
    layer(x)
    assert len(layer.weights) == 2 and not layer.trainable_weights
    dense_norm = L.BatchNormalization(axis=1)
    assert dense_norm(np.ones((2, 5, 3), np.float32)).shape == (2, 5, 3)
    assert dense_norm.weights[0].shape == (5,)
    with pytest.raises(ValueError, match=r"axis 0 is not a feature axis"):
        L.BatchNormalization(axis=0)(x)
    with pytest.raises(ValueError, match=r"axis 4 is not a feature axis"):
        L.BatchNormalization(axis=4)(x)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        L.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="Unknown initializer 'twos'"):
        L.BatchNormalization(gamma_initializer="twos")


def bn_cnn():
    # momentum 0.9: a few dozen steps bring the moving statistics to the data's (Keras' 0.99
    # needs hundreds), so that evaluation in inference mode sees the trained model.
    return Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, padding="same", use_bias=False),
            L.BatchNormalization(momentum=0.9),
            L.Activation("relu"),
            L.AveragePooling2D(),
            L.Conv2D(6, 3, padding="same", activation="relu"),
            L.GlobalAveragePooling2D(),
            L.Dense(8),
            L.BatchNormalization(momentum=0.9),
            L.Activation("relu"),
            L.Dense(3),
            L.Activation("softmax"),
        ]
    )


def test_a_batch_norm_cnn_learns_and_reports_non_trainable_params(device):
    x, y = toy_data(192)
    model = bn_cnn().to(device)
    model.compile(optimizers.Adam(0.02), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert " Non-trainable params: 24 (96.00 B)" in text  # 2 x (4 + 8) moving statistics
    trainable = sum(w.data.size for w in model.trainable_weights)
    assert f" Trainable params: {trainable:,} " in text
    assert trainable + 24 == model.count_params()


def test_batch_norm_models_save_and_load_their_moving_statistics(tmp_path, device):
    x, y = toy_data(64)
    model = bn_cnn().to(device)
    model.compile("adam", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "bn.minicnn")
    loaded = load_model(tmp_path / "bn.minicnn", device=device)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bn_model_checkpoint_resumes_exactly(tmp_path):
    x, y = toy_data(64)

    def run(epochs, checkpoint=None):
        backend.clear_session()
        backend.set_random_seed(4)
        model = bn_cnn()
        model.compile("adam", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, checkpoint=checkpoint)
        return model.get_weights()

    straight = run(3)
    run(2, checkpoint=tmp_path / "ckpt.npz")
    resumed = run(3, checkpoint=tmp_path / "ckpt.npz")  # the same path: resumes after epoch 2
    for a, b in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(a, b)


# --- frozen layers -------------------------------------------------------------------------


def test_a_frozen_layer_keeps_its_weights_and_a_frozen_batch_norm_its_statistics():
    x, y = toy_data(64)
    model = bn_cnn()
    model.build((None, 8, 8, 1))
    frozen = [model.layers[0], model.layers[1]]
    for layer in frozen:
        layer.trainable = False
    model.compile("adam", metrics=["accuracy"])
    before = [layer.get_weights() for layer in model.layers]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    after = [layer.get_weights() for layer in model.layers]
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        same = all(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
        assert same == (i in (0, 1) or not old), model.layers[i]
    # Frozen: the first kernel, the first BN's four arrays, the second BN's moving statistics.
    assert len(model.trainable_weights) == len(model.weights) - 1 - 4 - 2
    assert model.layers[1].get_config()["trainable"] is False
    lines = []
    model.summary(print_fn=lines.append)
    assert " Non-trainable params: 68 (272.00 B)" in lines[0]  # 36 + 4 x 4 + 2 x 8


def test_freezing_after_training_asks_for_a_new_compile():
    x, y = toy_data(32)
    model = bn_cnn()
    model.compile("adam")
    model.fit(x, y, epochs=1, verbose=0)
    model.trainable = False
    assert not model.trainable_weights and not model.trainable
    with pytest.raises(ValueError, match="compile the model again"):
        model.fit(x, y, epochs=1, verbose=0)
    model.trainable = True
    model.layers[0].trainable = False
    model.compile("adam")
    model.fit(x, y, epochs=1, verbose=0)


def test_frozen_layers_survive_save_and_load(tmp_path):
    model = bn_cnn()
    model.build((None, 8, 8, 1))
    model.layers[0].trainable = False
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert [layer.trainable for layer in loaded.layers] == [
        layer.trainable for layer in model.layers
    ]
    assert len(loaded.trainable_weights) == len(model.trainable_weights)


# --- Activation and Reshape ----------------------------------------------------------------


def test_a_softmax_activation_layer_trains_like_a_softmax_dense(device):
    """The last Activation('softmax') is fused into the loss, as Dense(activation='softmax')."""
    x, y = toy_data(64)
    losses = []
    for split in (False, True):
        backend.clear_session()
        backend.set_random_seed(9)
        head = [L.Dense(3), L.Activation("softmax")] if split else [L.Dense(3, "softmax")]
        model = Sequential([Input((8, 8, 1)), L.Flatten(), *head]).to(device)
        model.compile("adam")
        assert model._fuses_activation()
        losses.append(model.fit(x, y, batch_size=16, epochs=2, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)


def test_activation_and_reshape_layers(device):
    x = np.random.default_rng(6).standard_normal((2, 3, 4))
    check_layer_gradients(L.Activation("tanh"), x, device=device)
    check_layer_gradients(L.Reshape((4, -1)), x, device=device)
    model = Sequential([Input((12,)), L.Reshape((2, 2, 3)), L.Conv2D(2, 2), L.Reshape((-1,))])
    assert model.output_shape == (None, 2)
    with pytest.raises(ValueError, match=r"\(12 values per sample\) cannot be reshaped to"):
        Sequential([Input((12,)), L.Reshape((5, -1))])
    with pytest.raises(ValueError, match="at most one -1"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match="Unknown activation 'gelu2'"):
        L.Activation("gelu2")


# --- initialisers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,variance",
    [
        ("he_normal", 2 / 288),
        ("he_uniform", 2 / 288),
        ("lecun_normal", 1 / 288),
        ("lecun_uniform", 1 / 288),
        ("glorot_normal", 2 / (288 + 576)),
        ("glorot_uniform", 2 / (288 + 576)),
    ],
)
def test_variance_scaling_initializers_have_keras_variances(name, variance):
    """A (3, 3, 32, 64) kernel: fan_in 288, fan_out 576. Normal ones are truncated at two
    standard deviations of the untruncated distribution, and rescaled to keep the variance."""
    w = initializers.get(name)((3, 3, 32, 64))
    assert w.dtype == np.float32
    assert abs(w.var() / variance - 1) < 0.03, w.var() / variance
    if name.endswith("normal"):
        assert np.abs(w).max() <= 2 * np.sqrt(variance) / 0.87962566103423978 + 1e-6
    else:
        assert np.abs(w).max() <= np.sqrt(3 * variance) + 1e-6


def test_layers_take_the_initializers_by_name():
    layer = L.Dense(3, kernel_initializer="ones", bias_initializer="random_uniform")
    layer.build((None, 4))
    kernel, bias = layer.get_weights()
    np.testing.assert_array_equal(kernel, np.ones((4, 3)))
    assert np.abs(bias).max() <= 0.05 and np.abs(bias).max() > 0
    with pytest.raises(ValueError, match=r"Unknown initializer 'he'; known: .*he_normal"):
        L.Dense(3, kernel_initializer="he")


def test_batch_norms_cpu_kernels_equal_the_array_form():
    """Past 4096 values a CPU batch norm over the last axis runs in Numba kernels; they
    give what the array form (gradient-checked above on small inputs) gives."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((8, 16, 16, 4)) * 3 + 1
    gamma, beta, grad = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(x.shape)
    results = []
    for kernel in (True, False):
        norm = F.BatchNorm(-1, 1e-3)
        norm._by_kernel = lambda a, kernel=kernel: kernel  # noqa: ARG005
        inputs = [Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        out = norm(*inputs)
        out.backward(grad)
        results.append((out.data, norm.batch_mean, norm.batch_variance, *(t.grad for t in inputs)))
    for by_kernel, by_arrays in zip(*results, strict=True):
        np.testing.assert_allclose(by_kernel, by_arrays, rtol=1e-9, atol=1e-9)
    assert F.BatchNorm(-1, 1e-3)._by_kernel(x) and not F.BatchNorm(1, 1e-3)._by_kernel(x)
