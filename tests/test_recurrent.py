"""SimpleRNN, LSTM and GRU: Keras' equations written out per sample as the oracle, float64
gradient checks through time on every device, Keras' weight shapes, dropout masks, a sequence
task that needs memory, saving, and a captured step."""

import numpy as np
import pytest
from test_graph_step import assert_same_training, fit_twice
from test_layers import check_layer_gradients

from minicnn import Input, Sequential, backend, initializers, load_model, optimizers
from minicnn import layers as L


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def oracle(kind, x, kernel, recurrent, bias, return_sequences=False, go_backwards=False):
    """Keras' cells, one sample and one step at a time."""
    n, steps, _ = x.shape
    units = recurrent.shape[0]
    outputs = np.zeros((n, steps, units))
    for b in range(n):
        h, c = np.zeros(units), np.zeros(units)
        sequence = x[b, ::-1] if go_backwards else x[b]
        for t, x_t in enumerate(sequence):
            if kind == "SimpleRNN":
                h = np.tanh(x_t @ kernel + h @ recurrent + bias)
            elif kind == "LSTM":
                z = x_t @ kernel + h @ recurrent + bias
                i, f, g, o = np.split(z, 4)
                c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
                h = sigmoid(o) * np.tanh(c)
            elif kind == "GRUv1":  # reset_after=False: the reset gate scales h first
                xz, hz = x_t @ kernel + bias, h @ recurrent
                update = sigmoid(xz[:units] + hz[:units])
                reset = sigmoid(xz[units : 2 * units] + hz[units : 2 * units])
                candidate = np.tanh(xz[2 * units :] + (reset * h) @ recurrent[:, 2 * units :])
                h = update * h + (1 - update) * candidate
            else:  # GRU, reset_after
                xz, hz = x_t @ kernel + bias[0], h @ recurrent + bias[1]
                update = sigmoid(xz[:units] + hz[:units])
                reset = sigmoid(xz[units : 2 * units] + hz[units : 2 * units])
                candidate = np.tanh(xz[2 * units :] + reset * hz[2 * units :])
                h = update * h + (1 - update) * candidate
            outputs[b, t] = h
    return outputs if return_sequences else outputs[:, -1]


KINDS = {
    "SimpleRNN": L.SimpleRNN,
    "LSTM": L.LSTM,
    "GRU": L.GRU,
    "GRUv1": lambda units, **kw: L.GRU(units, reset_after=False, **kw),
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("options", [{}, {"return_sequences": True, "go_backwards": True}])
def test_cells_follow_keras_equations(kind, options, device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 4))
    layer = KINDS[kind](5, **options)
    layer.to(device)
    layer.build(x.shape)
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    got = backend.to_numpy(layer(backend.to_device(x, device)).data)
    np.testing.assert_allclose(got, oracle(kind, x, *weights, **options), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_through_time(kind, return_sequences, device):
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    layer = KINDS[kind](3, return_sequences=return_sequences, go_backwards=return_sequences)
    check_layer_gradients(layer, x, device=device)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gradients_with_keras2_hard_sigmoid_gates(kind, device):
    """Keras 2's gates (its files' "hard_sigmoid", clip(0.2 x + 0.5, 0, 1))."""
    x = np.random.default_rng(3).standard_normal((2, 4, 3))
    layer = KINDS[kind](3, recurrent_activation="legacy_hard_sigmoid", return_sequences=True)
    check_layer_gradients(layer, x, device=device)


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradients_with_dropout_masks(kind, device):
    x = np.random.default_rng(2).standard_normal((3, 4, 3))
    layer = KINDS[kind](4, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
    check_layer_gradients(layer, x, training=True, seed=7, device=device)


def test_keras_weight_shapes_and_initial_values():
    backend.set_random_seed(0)
    lstm = L.LSTM(8)
    lstm.build((None, 5, 3))
    kernel, recurrent, bias = lstm.get_weights()
    assert kernel.shape == (3, 32) and recurrent.shape == (8, 32) and bias.shape == (32,)
    np.testing.assert_array_equal(bias, [0] * 8 + [1] * 8 + [0] * 16)  # unit_forget_bias
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(8), atol=1e-5)  # orthogonal
    gru = Sequential([Input((5, 3)), L.GRU(8)])
    assert [w.shape for w in gru.get_weights()] == [(3, 24), (8, 24), (2, 24)]
    assert gru.count_params() == 3 * 24 + 8 * 24 + 48  # Keras' count for GRU(8) on 3 features
    assert Sequential([Input((5, 3)), L.SimpleRNN(8)]).count_params() == 3 * 8 + 64 + 8
    q = initializers.get("orthogonal")((3, 7))
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-5)


def remembers_first_token(n=256, steps=6, seed=0):
    """Sequences of token ids; the label is the first token, so the model must carry it to the
    last step."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 4, (n, steps))
    return x, x[:, 0] - 1


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])  # a learning task
def test_a_recurrent_model_remembers_and_saves(kind, tmp_path, device):
    x, y = remembers_first_token()
    backend.set_random_seed(1)
    model = Sequential(
        [Input((6,)), L.Embedding(4, 8), KINDS[kind](16), L.Dense(3, activation="softmax")]
    ).to(device)
    model.compile(optimizers.Adam(0.05), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=12, verbose=0)
    assert history.history["accuracy"][-1] > 0.95, history.history["accuracy"]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_captured_step_replays_the_recurrence(gpu):
    def build(device):
        return Sequential(
            [
                Input((8, 8)),
                L.LSTM(6, return_sequences=True, recurrent_dropout=0.2),
                L.GRU(5, dropout=0.1),
                L.Dense(3, activation="softmax"),
            ],
            device=device,
        )

    plain = fit_twice(lambda device: _images_as_rows(build(device)), "adam", jit_compile=False)
    captured = fit_twice(lambda device: _images_as_rows(build(device)), "adam", jit_compile=True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None


def _images_as_rows(model):
    """toy_data's (8, 8, 1) images as sequences of 8 rows of 8 features."""
    return Sequential([Input((8, 8, 1)), L.Reshape((8, 8)), *model.layers], device=model.device)


def test_bad_recurrent_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(LSTM\): units must be a positive int"):
        L.LSTM(0)
    with pytest.raises(ValueError, match="recurrent cell takes the activations tanh, sigmoid"):
        L.GRU(4, activation="gelu")
    with pytest.raises(ValueError, match=r"recurrent_dropout must be a number in \[0, 1\)"):
        L.SimpleRNN(4, recurrent_dropout=1.0)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, steps, features\)"):
        Sequential([Input((4, 4, 1)), L.LSTM(3)])
    with pytest.raises(ValueError, match="use_cudnn=True asks for cuDNN"):
        L.LSTM(3, use_cudnn=True)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_reads_both_ways_and_merges(merge_mode, return_sequences, device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3))
    layer = L.Bidirectional(L.GRU(4, return_sequences=return_sequences), merge_mode)
    layer.to(device)
    layer.build(x.shape)
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    forward = oracle("GRU", x, *weights[:3], return_sequences=return_sequences)
    backward = oracle("GRU", x, *weights[3:], return_sequences, go_backwards=True)
    if return_sequences:
        backward = backward[:, ::-1]  # back in time order
    expected = {
        "concat": np.concatenate([forward, backward], axis=-1),
        "sum": forward + backward,
        "mul": forward * backward,
        "ave": (forward + backward) / 2,
    }[merge_mode]
    got = backend.to_numpy(layer(backend.to_device(x, device)).data)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    check_layer_gradients(
        L.Bidirectional(L.LSTM(3, return_sequences=return_sequences), merge_mode), x, device=device
    )


def test_bidirectional_models_count_train_and_save(tmp_path):
    x, y = remembers_first_token(128)
    backend.set_random_seed(2)
    wrapped = L.LSTM(8)
    model = Sequential(
        [Input((6,)), L.Embedding(4, 8), L.Bidirectional(wrapped), L.Dense(3, "softmax")]
    )
    assert wrapped.name.startswith("forward_lstm")
    assert model.layers[1].backward_layer.go_backwards
    assert model.count_params() == 4 * 8 + 2 * (8 * 32 + 8 * 32 + 32) + 16 * 3 + 3
    model.compile(optimizers.Adam(0.05), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(TypeError, match="GRU, ConvLSTM or RNN layer, got Dense"):
        L.Bidirectional(L.Dense(3))
    with pytest.raises(ValueError, match="merge_mode must be one of concat, sum, mul, ave"):
        L.Bidirectional(L.GRU(3), merge_mode="max")


def test_time_distributed_applies_one_layer_to_every_step(device):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 5, 1))
    wrapper = L.TimeDistributed(L.Conv2D(3, 3, activation="relu"))
    wrapper.to(device)
    wrapper.build(x.shape)
    assert wrapper.sample_output_shape == (4, 3, 3, 3) and len(wrapper.weights) == 2
    got = backend.to_numpy(wrapper(backend.to_device(x, device)).data)
    inner = wrapper.layer
    for t in range(4):
        step = backend.to_numpy(inner(backend.to_device(x[:, t], device)).data)
        np.testing.assert_allclose(got[:, t], step, rtol=1e-6)
    check_layer_gradients(
        L.TimeDistributed(L.Dense(3, activation="tanh")), x[..., 0], device=device
    )


def test_repeat_vector_identity_and_a_sequence_autoencoder(tmp_path):
    x = np.random.default_rng(6).standard_normal((3, 4))
    np.testing.assert_array_equal(L.RepeatVector(5)(x).data, np.repeat(x[:, None], 5, axis=1))
    check_layer_gradients(L.RepeatVector(3), x)
    np.testing.assert_array_equal(L.Identity()(x).data, x)
    seqs = np.random.default_rng(7).random((64, 6, 2)).astype(np.float32)
    model = Sequential(
        [
            Input((6, 2)),
            L.GRU(8),
            L.RepeatVector(6),
            L.GRU(8, return_sequences=True),
            L.TimeDistributed(L.Dense(2)),
            L.Identity(),
        ]
    )
    model.compile(optimizers.Adam(0.02), "mse")
    history = model.fit(seqs, seqs, batch_size=16, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    np.testing.assert_array_equal(loaded.predict(seqs, verbose=0), model.predict(seqs, verbose=0))
    with pytest.raises(TypeError, match="wraps one layer of one input"):
        L.TimeDistributed(L.Add())
