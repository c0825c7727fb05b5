"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: Keras' cell written out with a naive convolution
and a loop over steps as the oracle, Keras' shapes and parameter counts, float64 gradient
checks on every device, states, dropout, constraints and a model that learns a motion."""

import numpy as np
import pytest
from test_depthwise import naive_conv
from test_layers import check_layer_gradients
from test_volumes import naive_conv3d

from minicnn import Input, Model, Sequential, constraints, load_model, optimizers
from minicnn import layers as L


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def oracle(x, kernel, recurrent, bias, strides, padding, rank, return_sequences=False):
    """Keras' ConvLSTM cell: z = conv(x_t, W) + b + conv_same(h, U); gates i, f, c, o."""

    def conv(a, w, s, p):
        if rank == 1:
            return naive_conv(a[:, None], w[None], (1, s[0]), p)[:, 0]
        if rank == 2:
            return naive_conv(a, w, s, p)
        return naive_conv3d(a, w, s, p)

    n, steps = x.shape[:2]
    f = recurrent.shape[-2]
    h = c = None
    outputs = []
    for t in range(steps):
        xz = conv(x[:, t], kernel, strides, padding) + bias
        if h is None:
            h = c = np.zeros((*xz.shape[:-1], f))
        z = xz + conv(h, recurrent, (1,) * rank, "same")
        i, forget = sigmoid(z[..., :f]), sigmoid(z[..., f : 2 * f])
        g, o = np.tanh(z[..., 2 * f : 3 * f]), sigmoid(z[..., 3 * f :])
        c = forget * c + i * g
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1) if return_sequences else h


CASES = [
    (L.ConvLSTM1D, (3, 7, 2), 3, 1, "valid", True),
    (L.ConvLSTM2D, (3, 5, 6, 2), 3, 1, "same", False),
    (L.ConvLSTM2D, (2, 6, 6, 1), (2, 3), 2, "valid", True),
    (L.ConvLSTM3D, (2, 4, 4, 4, 1), 2, 1, "same", True),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv_lstm_follows_keras_cell(case, device):
    cls, shape, kernel_size, strides, padding, return_sequences = CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((2, *shape)) * 0.5
    layer = cls(3, kernel_size, strides, padding, return_sequences=return_sequences)
    model = Sequential([Input(shape), layer]).to(device)
    kernel, recurrent, bias = (w + rng.standard_normal(w.shape) * 0.1 for w in layer.get_weights())
    layer.set_weights([kernel, recurrent, bias])
    rank = len(shape) - 2
    window = (kernel_size,) * rank if isinstance(kernel_size, int) else kernel_size
    assert kernel.shape == (*window, shape[-1], 12) and recurrent.shape == (*window, 3, 12)
    assert model.count_params() == kernel.size + recurrent.size + 12
    expected = oracle(
        x, kernel, recurrent, bias, (strides,) * rank, padding, rank, return_sequences
    )
    assert model.output_shape == (None, *expected.shape[1:])
    got = model.predict(x.astype(np.float32), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv_lstm_gradients_check_in_float64(case, device):
    cls, shape, kernel_size, strides, padding, return_sequences = CASES[case]
    small = (2, *shape[1:-1], 1) if len(shape) > 4 else (3, *shape[1:])
    x = np.random.default_rng(10 + case).standard_normal((2, *small))
    layer = cls(2, kernel_size, strides, padding, return_sequences=return_sequences)
    check_layer_gradients(layer, x, device=device)


def test_states_go_backwards_dropout_and_saving(tmp_path, device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 5, 5, 2)).astype(np.float32)
    inputs = Input((3, 5, 5, 2))
    output, state_h, state_c = L.ConvLSTM2D(
        3, 3, padding="same", return_sequences=True, return_state=True
    )(inputs)
    model = Model(inputs, [output, state_h, state_c]).to(device)
    out, h, c = model.predict(x, verbose=0)
    np.testing.assert_allclose(h, out[:, -1], rtol=1e-6)
    assert c.shape == h.shape == (4, 5, 5, 3)
    backwards = L.ConvLSTM2D(3, 3, padding="same", go_backwards=True)
    reverse = Sequential([Input((3, 5, 5, 2)), backwards]).to(device)
    forwards = Sequential([Input((3, 5, 5, 2)), L.ConvLSTM2D(3, 3, padding="same")]).to(device)
    forwards.set_weights(reverse.get_weights())
    np.testing.assert_allclose(
        reverse.predict(x, verbose=0), forwards.predict(x[:, ::-1], verbose=0), rtol=1e-5
    )
    dropped = L.ConvLSTM2D(
        2, 3, dropout=0.3, recurrent_dropout=0.3, seed=1, kernel_constraint=constraints.NonNeg()
    )
    net = Sequential([Input((3, 5, 5, 2)), dropped, L.Flatten(), L.Dense(1)]).to(device)
    net.compile("adam", "mse")
    net.fit(x, np.ones((4, 1)), epochs=2, verbose=0)
    assert (dropped.get_weights()[0] >= 0).all()
    net.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), net.predict(x, verbose=0))
    assert loaded.layers[0].get_config() == dropped.get_config()


def moving_dots(n, seed):
    """Clips of 4 frames of a dot moving one pixel a frame, right (label 0) or down (1)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 4, 6, 6, 1), np.float32)
    y = rng.integers(0, 2, n)
    for k in range(n):
        r, c = rng.integers(0, 3, 2)
        for t in range(4):
            x[k, t, r + t * y[k], c + t * (1 - y[k]), 0] = 1.0
    return x, y


def test_a_conv_lstm_learns_which_way_a_dot_moves(device):
    x, y = moving_dots(256, 0)
    x_test, y_test = moving_dots(128, 1)
    model = Sequential(
        [
            Input((4, 6, 6, 1)),
            L.ConvLSTM2D(6, 3, padding="same"),
            L.GlobalMaxPooling2D(),
            L.Dense(2, activation="softmax"),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, batch_size=32, epochs=6, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, time, height, width"):
        Sequential([Input((5, 5, 2)), L.ConvLSTM2D(2, 3)])
    with pytest.raises(ValueError, match="window does not fit"):
        Sequential([Input((3, 2, 2, 1)), L.ConvLSTM2D(2, 3)])
    with pytest.raises(ValueError, match="must be 'channels_last' or"):
        L.ConvLSTM2D(2, 3, data_format="NCHW")


def test_a_conv_lstm_step_is_captured_in_a_cuda_graph_and_trains_the_same(gpu):
    from test_graph_step import assert_captured_trains_like_plain

    x, y = moving_dots(40, 2)
    assert_captured_trains_like_plain(
        lambda: [
            Input((4, 6, 6, 1)),
            L.ConvLSTM2D(2, 3, padding="same", recurrent_dropout=0.2),
            L.Flatten(),
            L.Dense(2, activation="softmax"),
        ],
        x,
        y,
        loss="sparse_categorical_crossentropy",
    )
