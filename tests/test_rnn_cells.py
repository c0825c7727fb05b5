"""Keras' RNN(cell): the built-in cells equal SimpleRNN, LSTM and GRU with the same weights;
Keras' guide's MinimalRNNCell (a cell of the user's) and a stack of cells run, train, check
their float64 gradients and save; states in and out."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients

from minicnn import Input, Model, Sequential, backend, load_model, ops, optimizers, saving
from minicnn import layers as L


class MinimalRNNCell(L.Layer):
    """Keras' guide's cell, as written there."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="uniform", name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="uniform", name="recurrent_kernel"
        )
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@pytest.mark.parametrize(
    "layer,cell",
    [
        (lambda: L.SimpleRNN(6, return_sequences=True), lambda: L.SimpleRNNCell(6)),
        (lambda: L.LSTM(6, return_sequences=True), lambda: L.LSTMCell(6)),
        (lambda: L.GRU(6, return_sequences=True), lambda: L.GRUCell(6)),
        (
            lambda: L.GRU(6, return_sequences=True, reset_after=False),
            lambda: L.GRUCell(6, reset_after=False),
        ),
    ],
)
def test_built_in_cells_equal_the_fused_layers(layer, cell, device):
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    fused = Sequential([Input((5, 4)), layer()]).to(device)
    generic = Sequential([Input((5, 4)), L.RNN(cell(), return_sequences=True)]).to(device)
    assert [w.shape for w in generic.get_weights()] == [w.shape for w in fused.get_weights()]
    generic.set_weights(fused.get_weights())
    np.testing.assert_allclose(
        generic.predict(x, verbose=0), fused.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_keras_guide_cell_and_stacked_cells(device, tmp_path):
    x = np.random.default_rng(1).standard_normal((8, 10, 5)).astype(np.float32)
    single = L.RNN(MinimalRNNCell(4))
    model = Sequential([Input((10, 5)), single]).to(device)
    kernel, recurrent = single.get_weights()
    h = np.zeros((8, 4))
    for t in range(10):
        h = x[:, t] @ kernel + h @ recurrent
    np.testing.assert_allclose(model.predict(x, verbose=0), h, rtol=1e-4, atol=1e-5)
    stacked = L.RNN([MinimalRNNCell(4), MinimalRNNCell(3)], return_state=True)
    inputs = Input((10, 5))
    output, first, second = stacked(inputs)
    assert (output.shape, first.shape, second.shape) == ((None, 3), (None, 4), (None, 3))
    net = Model(inputs, L.Dense(1)(output)).to(device)
    net.compile(optimizers.Adam(0.01), "mse")
    history = net.fit(x, x[:, -1, :1], epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    net.save(tmp_path / "m.minicnn")
    with pytest.raises(ValueError, match="MinimalRNNCell"):
        load_model(tmp_path / "m.minicnn")
    loaded = load_model(
        tmp_path / "m.minicnn", custom_objects={"MinimalRNNCell": MinimalRNNCell}, device=device
    )
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), net.predict(x, verbose=0))
    assert saving  # custom_objects, as Keras' load_model takes them


def test_gradients_check_in_float64(device):
    x = np.random.default_rng(2).standard_normal((2, 4, 3))
    check_layer_gradients(L.RNN(L.LSTMCell(3), return_sequences=True), x, device=device)
    check_layer_gradients(L.RNN([L.GRUCell(2), L.SimpleRNNCell(3)]), x, device=device)
    check_layer_gradients(L.RNN(L.GRUCell(3, reset_after=False)), x, device=device)


def test_initial_states_and_errors():
    x = np.random.default_rng(3).standard_normal((2, 6, 3)).astype(np.float32)
    rnn = L.RNN(L.LSTMCell(4), return_state=True)
    _, h, c = rnn(x[:, :3])
    # The same cell (its weights) on the second half, from the first half's states, ends
    # where it ends on the whole sequence.
    second = L.RNN(rnn.cell, return_state=True)
    out, *_ = second(x[:, 3:], initial_state=[h, c])
    np.testing.assert_allclose(out.data, L.RNN(rnn.cell)(x).data, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="takes 2 initial state"):
        L.RNN(L.LSTMCell(4))(x, initial_state=[h])
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\)"):
        L.LSTMCell(4, dropout=1.2)
    with pytest.raises(ValueError, match="cell must be a layer with state_size"):
        L.RNN(L.Dense(3))


def test_a_stateful_rnn_of_stacked_cells_runs_a_sequence_in_chunks(device):
    """Keras' stateful RNN(cell): each batch starts from the last one's states (a stack's
    states of different sizes), a sequence fed in chunks equals it fed whole."""
    x = np.random.default_rng(4).standard_normal((2, 6, 3)).astype(np.float32)
    cells = lambda: [L.GRUCell(3), L.LSTMCell(2)]  # noqa: E731
    whole = Sequential([Input((6, 3)), L.RNN(cells(), return_sequences=True)]).to(device)
    chunked = Sequential(
        [Input((2, 3), batch_size=2), L.RNN(cells(), return_sequences=True, stateful=True)]
    ).to(device)
    chunked.set_weights(whole.get_weights())
    expected = whole.predict(x, verbose=0)
    for start in range(0, 6, 2):
        got = chunked.predict(x[:, start : start + 2], batch_size=2, verbose=0)
        np.testing.assert_allclose(got, expected[:, start : start + 2], rtol=1e-5, atol=1e-6)
    assert [s.shape for s in chunked.layers[0].states] == [(2, 3), (2, 2), (2, 2)]
    chunked.reset_states()
    assert chunked.layers[0].states is None
    np.testing.assert_allclose(
        chunked.predict(x[:, :2], batch_size=2, verbose=0), expected[:, :2], rtol=1e-5, atol=1e-6
    )
    assert chunked.layers[0].get_config()["stateful"] is True


@pytest.mark.parametrize("cell", [L.SimpleRNNCell, L.LSTMCell, L.GRUCell])
def test_a_cells_dropout_keeps_one_mask_for_a_sequence(cell):
    """Keras' DropoutRNNCell: in training, the inputs and the previous state are dropped by
    masks drawn once for each sequence (every step the same units); in inference, none."""
    x = np.ones((4, 6, 3), np.float32)
    rnn = L.RNN(cell(5, dropout=0.5, recurrent_dropout=0.3, seed=7), return_sequences=True)
    plain = rnn(x, training=False).data
    again = L.RNN(rnn.cell, return_sequences=True)(x, training=False).data
    np.testing.assert_array_equal(plain, again)  # no dropout out of training
    dropped = rnn(x, training=True).data
    assert not np.allclose(dropped, plain)
    masks = rnn.cell._masks
    assert set(masks) == {"inputs", "states"}
    kept = masks["inputs"] != 0
    assert 0.2 < kept.mean() < 0.8 and np.allclose(masks["inputs"][kept], 2.0)
    first = {k: v.copy() for k, v in masks.items()}
    rnn(x, training=True)  # a new sequence: new masks
    assert any(not np.array_equal(first[k], rnn.cell._masks[k]) for k in first)
    model = Sequential([Input((6, 3)), L.RNN(cell(4, dropout=0.2, recurrent_dropout=0.2))])
    model.compile(optimizers.Adam(0.01), "mse")
    history = model.fit(x, np.zeros((4, 4), np.float32), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_bidirectional_rnn_of_a_cell_equals_bidirectional_lstm(device):
    """Keras' own file of it: tests/keras_files/bidirectional_cells.keras."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    fused = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True))
    cells = L.Bidirectional(L.RNN(L.LSTMCell(3), return_sequences=True, return_state=True))
    for layer in (fused, cells):
        layer.to(device)
        layer.build((None, 5, 2))
    cells.set_weights(fused.get_weights())
    on = lambda a: backend.to_device(a, device)  # noqa: E731
    for mine, theirs in zip(cells(on(x), mask=on(mask)), fused(on(x), mask=on(mask)), strict=True):
        np.testing.assert_allclose(host(mine.data), host(theirs.data), rtol=1e-5, atol=1e-6)
    weights = [rng.standard_normal(w.shape) * 0.5 for w in cells.weights]

    def run(xt, *wt):
        cells._weights = list(wt)
        out = cells.call(xt, False, on(mask))
        return ops.concatenate([ops.reshape(t, (3, -1)) for t in out], axis=1)

    check_gradients(run, x.astype(np.float64), *weights, device=device)
