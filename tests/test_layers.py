import numpy as np
import pytest
from gradcheck import check_gradients

from minicnn import backend
from minicnn import layers as L
from minicnn.autograd import Tensor


def check_layer_gradients(layer, x, training=False, seed=None, device="cpu"):
    """Gradient check of a layer's own call path, with float64 weights swapped in."""
    layer.to(device)
    layer.build(x.shape)
    rng = np.random.default_rng(11)
    # State weights (moving statistics) take no gradient: they stay fixed, and positive.
    params = len(layer.weights) - layer.state_weight_count
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.weights[:params]]
    state = [
        Tensor(backend.to_device(rng.random(w.shape) + 0.5, device)) for w in layer.weights[params:]
    ]

    def run(xt, *wt):
        layer._weights = [*wt, *state]
        if seed is not None:
            backend.set_random_seed(seed)  # the same dropout mask on every evaluation
        return layer.call(xt, training)

    check_gradients(run, x, *weights, device=device)


@pytest.mark.parametrize(
    "kwargs,shape",
    [
        ({"filters": 3, "kernel_size": 3, "padding": "same"}, (2, 5, 5, 2)),
        ({"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 4, 5, 1)),
        ({"filters": 2, "kernel_size": (3, 2), "strides": 2, "padding": "valid"}, (1, 7, 6, 2)),
        ({"filters": 2, "kernel_size": 5, "padding": "same", "activation": "relu"}, (1, 6, 6, 2)),
        ({"filters": 2, "kernel_size": 3, "padding": "same", "activation": "tanh"}, (1, 5, 5, 2)),
    ],
)
def test_conv2d_layer_gradients(kwargs, shape, device):
    x = np.random.default_rng(0).standard_normal(shape)
    check_layer_gradients(L.Conv2D(**kwargs), x, device=device)


def test_dense_layer_gradients(device):
    x = np.random.default_rng(1).standard_normal((3, 6))
    check_layer_gradients(L.Dense(4, activation="softmax"), x, device=device)
    check_layer_gradients(L.Dense(4, activation="sigmoid"), x, device=device)
    check_layer_gradients(L.Dense(4), x, device=device)
    check_layer_gradients(L.Dense(4, use_bias=False), x, device=device)


def test_pool_flatten_dropout_layer_gradients(device):
    rng = np.random.default_rng(2)
    x = rng.permutation(2 * 4 * 4 * 3).reshape(2, 4, 4, 3) / 10.0
    check_layer_gradients(L.MaxPooling2D(2), x, device=device)
    check_layer_gradients(L.Flatten(), x, device=device)
    dropout = L.Dropout(0.3)
    check_layer_gradients(dropout, rng.standard_normal((4, 5)), True, seed=3, device=device)


def test_output_shapes_match_forward():
    layers = [
        (L.Conv2D(4, 3, padding="same"), (2, 9, 7, 3)),
        (L.Conv2D(4, 2, strides=2, padding="same"), (2, 9, 7, 3)),
        (L.Conv2D(4, 3, padding="valid"), (2, 9, 7, 3)),
        (L.MaxPooling2D(2), (2, 9, 7, 3)),
        (L.MaxPooling2D(3, strides=2, padding="same"), (2, 9, 7, 3)),
        (L.Flatten(), (2, 9, 7, 3)),
        (L.Dense(5), (2, 8)),
    ]
    for layer, shape in layers:
        out = layer(np.zeros(shape, np.float32))
        assert out.shape == (shape[0], *layer.sample_output_shape), layer


def test_weight_layout_is_keras():
    conv = L.Conv2D(8, (3, 2), input_shape=(10, 10, 5))
    conv.build((None, 10, 10, 5))
    kernel, bias = conv.get_weights()
    assert kernel.shape == (3, 2, 5, 8) and bias.shape == (8,)
    assert kernel.dtype == np.float32 and not bias.any()
    dense = L.Dense(7)
    dense.build((None, 12))
    assert [w.shape for w in dense.get_weights()] == [(12, 7), (7,)]


def test_weight_layout_drives_the_computation():
    # Kernel[kh, kw, in, out] must multiply x[h+kh, w+kw, in]: pick one tap and see it move.
    conv = L.Conv2D(1, 3)
    conv.build((None, 3, 3, 2))
    kernel = np.zeros((3, 3, 2, 1), np.float32)
    kernel[0, 2, 1, 0] = 1.0  # top row, right column, channel 1
    conv.set_weights([kernel, np.zeros(1, np.float32)])
    x = np.zeros((1, 3, 3, 2), np.float32)
    x[0, 0, 2, 1] = 5.0
    assert conv(x).data[0, 0, 0, 0] == 5.0


def test_set_weights_checks_count_and_shapes():
    dense = L.Dense(3)
    dense.build((None, 4))
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        dense.set_weights([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"weight 0 must have shape \(4, 3\)"):
        dense.set_weights([np.zeros((3, 4)), np.zeros(3)])


def test_get_weights_returns_copies():
    dense = L.Dense(2)
    dense.build((None, 2))
    w = dense.get_weights()[0]
    w[:] = 42
    assert not (dense.get_weights()[0] == 42).any()


def test_set_weights_takes_copies(device):
    """Training updates weights in place: it must never write into the arrays given to
    set_weights (a float32 array of the right dtype was once kept as it was)."""
    from minicnn import Input, Sequential, optimizers

    model = Sequential([Input((3,)), L.Dense(2)]).to(device)
    model.compile(optimizers.SGD(0.5))
    given = [np.ones((3, 2), np.float32), np.zeros(2, np.float32)]
    model.set_weights(given)
    x = np.random.default_rng(0).random((4, 3), dtype=np.float32)
    model.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    np.testing.assert_array_equal(given[0], np.ones((3, 2)))
    np.testing.assert_array_equal(given[1], np.zeros(2))
    assert not np.array_equal(model.get_weights()[0], given[0])


def test_glorot_uniform_limits_and_fans():
    backend.set_random_seed(0)
    conv = L.Conv2D(64, 3)
    conv.build((None, 8, 8, 32))
    kernel = conv.get_weights()[0]
    limit = np.sqrt(6 / (32 * 9 + 64 * 9))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01 * limit


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: L.Conv2D(4, 3, activation="swishy"), "Unknown activation 'swishy'"),
        (lambda: L.Conv2D(4, 3, padding="full"), "padding must be 'valid' or 'same'"),
        (lambda: L.Conv2D(0, 3), "filters must be a positive int"),
        (lambda: L.Conv2D(4, 0), "kernel_size"),
        (lambda: L.Dense(-1), "units must be a positive int"),
        (lambda: L.Dropout(1.0), r"rate must be a number in \[0, 1\)"),
        (lambda: L.MaxPooling2D(0), "pool_size"),
        (lambda: L.Dense(3, kernel_initializer="he"), "Unknown initializer 'he'"),
    ],
)
def test_bad_layer_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_layer_keyword_is_named():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Conv2D.*filtres"):
        L.Conv2D(4, 3, filtres=8)


def test_layer_errors_name_the_layer_and_the_problem():
    with pytest.raises(ValueError, match=r"Layer 'conv2d' \(Conv2D\).*cannot follow Flatten"):
        L.Conv2D(4, 3).build((None, 64))
    with pytest.raises(ValueError, match=r"Layer 'max_pooling2d' \(MaxPooling2D\).*Pooling cannot"):
        L.MaxPooling2D().build((None, 10))
    with pytest.raises(ValueError, match=r"'conv2d_1'.*3x3 'valid' window does not fit its 2x2"):
        L.Conv2D(4, 3).build((None, 2, 2, 1))
    with pytest.raises(ValueError, match=r"'max_pooling2d_1'.*2x2 pool does not fit its 1x1"):
        L.MaxPooling2D(2).build((None, 1, 1, 8))


def test_dense_acts_on_the_last_axis_like_keras(device):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 3, 5))
    layer = L.Dense(6, activation="relu")
    layer.to(device)
    out = layer(backend.to_device(x, device))
    assert layer.sample_output_shape == (4, 3, 6) and out.shape == (2, 4, 3, 6)
    kernel, bias = layer.get_weights()
    expected = np.maximum(np.einsum("bhwc,cu->bhwu", x, kernel) + bias, 0)
    np.testing.assert_allclose(backend.to_numpy(out.data), expected, rtol=1e-6, atol=1e-12)
    check_layer_gradients(L.Dense(3, activation="softmax"), x, device=device)
