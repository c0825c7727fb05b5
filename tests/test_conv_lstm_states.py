"""ConvLSTM layers' initial states, stateful runs and padding masks, as Keras' RNN layer has
them. Oracles: the naive-convolution cell of test_conv_lstm started from the given states; a
clip run in two halves equals it run whole; on a single pixel with a 1x1 window a ConvLSTM1D
is an LSTM, whose masks agree with Keras' (tests/test_masking.py), so a masked ConvLSTM must
give what the LSTM gives; float64 gradient checks through masks and states. Keras' own file
of ConvLSTMs started from states is tests/keras_files/conv_lstm_states.keras."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_conv_lstm import sigmoid
from test_depthwise import naive_conv
from test_functions import host

from minicnn import Input, Model, Sequential, backend, load_model, ops
from minicnn import layers as L
from minicnn.autograd import Tensor


def on(a, device):
    return Tensor(backend.to_device(np.asarray(a), device))


def cell_oracle(x, kernel, recurrent, bias, h, c):
    """Keras' ConvLSTM2D cell with 'same' padding from states h and c; the last h and c."""
    f = recurrent.shape[-2]
    for t in range(x.shape[1]):
        z = naive_conv(x[:, t], kernel, (1, 1), "same") + bias
        z = z + naive_conv(h, recurrent, (1, 1), "same")
        i, forget = sigmoid(z[..., :f]), sigmoid(z[..., f : 2 * f])
        g, o = np.tanh(z[..., 2 * f : 3 * f]), sigmoid(z[..., 3 * f :])
        c = forget * c + i * g
        h = o * np.tanh(c)
    return h, c


def test_initial_states_start_the_recurrence(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 4, 2)).astype(np.float32)
    h0, c0 = (rng.standard_normal((2, 5, 4, 3)).astype(np.float32) for _ in range(2))
    layer = L.ConvLSTM2D(3, 3, padding="same", return_state=True)
    layer.to(device)
    out, h, c = layer(on(x, device), initial_state=[on(h0, device), on(c0, device)])
    kernel, recurrent, bias = (w.astype(np.float64) for w in layer.get_weights())
    want_h, want_c = cell_oracle(x.astype(np.float64), kernel, recurrent, bias, h0, c0)
    np.testing.assert_allclose(host(h.data), want_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(c.data), want_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(host(out.data), host(h.data))
    # Keras' other form: a list [x, h, c].
    listed = layer([on(x, device), on(h0, device), on(c0, device)])
    np.testing.assert_array_equal(host(listed[2].data), host(c.data))


def test_a_clip_run_in_two_halves_equals_it_run_whole(device):
    """From returned states, and with stateful=True, which keeps them between batches."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 4, 4, 1)).astype(np.float32)
    whole = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    whole.to(device)
    expected = host(whole(on(x, device)).data)
    half = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)
    half.to(device)
    half.build((None, 6, 4, 4, 1))
    half.set_weights(whole.get_weights())
    first, h, c = half(on(x[:, :3], device))
    second, _, _ = half(on(x[:, 3:], device), initial_state=[h, c])
    got = np.concatenate([host(first.data), host(second.data)], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

    model = Sequential(
        [Input((3, 4, 4, 1), batch_size=2), L.ConvLSTM2D(2, 3, padding="same", stateful=True)]
    ).to(device)
    model.set_weights(whole.get_weights())
    model.predict(x[:, :3], batch_size=2, verbose=0)
    np.testing.assert_allclose(
        model.predict(x[:, 3:], batch_size=2, verbose=0), expected[:, -1], rtol=1e-5, atol=1e-6
    )
    model.reset_states()
    np.testing.assert_allclose(
        model.predict(x[:, :3], batch_size=2, verbose=0), expected[:, 2], rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_a_masked_conv_lstm_on_one_pixel_is_an_lstm(
    go_backwards, zero_output_for_mask, return_sequences, device
):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], bool)
    options = {
        "return_sequences": return_sequences,
        "return_state": True,
        "go_backwards": go_backwards,
        "zero_output_for_mask": zero_output_for_mask,
    }
    lstm = L.LSTM(3, **options)
    lstm.to(device)
    expected = [host(t.data) for t in lstm(on(x, device), mask=on(mask, device))]
    conv = L.ConvLSTM1D(3, 1, **options)
    conv.to(device)
    conv.build((None, 5, 1, 4))
    conv.set_weights([w[None] for w in lstm.get_weights()[:2]] + [lstm.get_weights()[2]])
    got = conv(on(x[:, :, None], device), mask=on(mask, device))
    for mine, want in zip(got, expected, strict=True):
        squeezed = host(mine.data)[..., 0, :]
        np.testing.assert_allclose(squeezed, want, rtol=1e-5, atol=1e-6)
    # The mask goes on with a returned sequence, none with a last step (Keras' compute_mask).
    assert (conv.compute_mask(None, mask)[0] is mask) == return_sequences


def test_a_padded_clip_gives_what_it_gives_without_its_padding(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3, 3, 2)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    layer = L.ConvLSTM2D(2, 3, padding="same", return_state=True)
    layer.to(device)
    padded = [host(t.data) for t in layer(on(x, device), mask=on(mask, device))]
    for k, length in enumerate((3, 2)):
        bare = layer(on(x[k : k + 1, :length], device))
        for mine, theirs in zip(padded, bare, strict=True):
            np.testing.assert_allclose(mine[k], host(theirs.data)[0], rtol=1e-5, atol=1e-6)


def test_masked_and_started_gradients(device):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 3, 3, 1))
    h0, c0 = rng.standard_normal((2, 2, 3, 3, 2)) * 0.5
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
    layer = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)
    layer.to(device)
    layer.build((None, 4, 3, 3, 1))
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.weights]

    def run(xt, ht, ct, *wt):
        out, h, c = layer._run(xt, False, list(wt), backend.to_device(mask, device), [ht, ct])
        return ops.concatenate([ops.reshape(t, (2, -1)) for t in (out, h, c)], axis=1)

    check_gradients(run, x, h0, c0, *weights, device=device)


def test_channels_first_states_and_saving(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 2, 4, 5)).astype(np.float32)  # (batch, time, ch, rows, cols)
    h0, c0 = (rng.standard_normal((2, 3, 4, 5)).astype(np.float32) for _ in range(2))
    clip, h_in, c_in = Input((3, 2, 4, 5)), Input((3, 4, 5)), Input((3, 4, 5))
    first = L.ConvLSTM2D(3, 3, padding="same", data_format="channels_first", return_state=True)
    model = Model([clip, h_in, c_in], first(clip, initial_state=[h_in, c_in]))
    assert model.output_shape == [(None, 3, 4, 5)] * 3
    last = L.ConvLSTM2D(3, 3, padding="same", return_state=True)
    last.build((None, 3, 4, 5, 2))
    last.set_weights(first.get_weights())
    to_last = lambda a: np.moveaxis(a, -3, -1)  # noqa: E731
    want = last([to_last(x), to_last(h0), to_last(c0)])
    got = model.predict([x, h0, c0], verbose=0)
    for mine, theirs in zip(got, want, strict=True):
        np.testing.assert_allclose(to_last(mine), theirs.data, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(
        load_model(tmp_path / "m.keras").predict([x, h0, c0], verbose=0)[0], got[0]
    )


def test_bad_states_and_masks_are_named():
    layer = L.ConvLSTM2D(2, 3, padding="same")
    x = np.zeros((2, 3, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match=r"takes 2 initial state\(s\) \(h and c\), got 1"):
        layer(x, initial_state=[np.zeros((2, 4, 4, 2), np.float32)])
    with pytest.raises(ValueError, match=r"an initial state has the shape of a step's output"):
        L.ConvLSTM2D(2, 3)(Input((3, 4, 4, 1)), initial_state=[Input((4, 4, 2))] * 2)
    with pytest.raises(ValueError, match=r"the shape of a step's output, \(None, 4, 4, 2\)"):
        layer(x, initial_state=[np.zeros((2, 3, 3, 2), np.float32)] * 2)
    with pytest.raises(ValueError, match=r"initial state has shape \(batch, \*state\) = \(2,"):
        layer(x, initial_state=[np.zeros((3, 4, 4, 2), np.float32)] * 2)
    with pytest.raises(ValueError, match=r"padding mask has shape \(batch, time\) = \(2, 3\)"):
        L.ConvLSTM2D(2, 3)(x, mask=np.ones((2, 3, 4, 4), bool))
    with pytest.raises(ValueError, match="is not stateful"):
        layer.reset_states()


def test_bidirectional_conv_lstm_reads_both_ways_and_skips_padding(device):
    """Keras' own file of it: tests/keras_files/bidirectional_conv_lstm.keras."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 3, 3, 1)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    both = L.Bidirectional(L.ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    both.to(device)
    got = host(both(on(x, device), mask=on(mask, device)).data)
    assert got.shape == (2, 4, 3, 3, 4)
    np.testing.assert_array_equal(got[0, 3], 0.0)  # a padded step of a returned sequence
    forward, backward = both.forward_layer, both.backward_layer
    assert backward.go_backwards and not forward.go_backwards
    for k, length in enumerate((3, 4)):
        clip = on(x[k : k + 1, :length], device)
        ahead, behind = host(forward(clip).data)[0], host(backward(clip).data)[0, ::-1]
        np.testing.assert_allclose(got[k, :length, ..., :2], ahead, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[k, :length, ..., 2:], behind, rtol=1e-5, atol=1e-6)


def test_bidirectional_conv_lstm_gradients(device):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 3, 2, 1))
    mask = backend.to_device(np.array([[1, 1, 0], [1, 0, 1]], bool), device)
    both = L.Bidirectional(L.ConvLSTM2D(2, 2, padding="same", return_state=True), "sum")
    both.to(device)
    both.build((None, 3, 3, 2, 1))
    weights = [rng.standard_normal(w.shape) * 0.5 for w in both.weights]

    def run(xt, *wt):
        both._weights = list(wt)
        out = both.call(xt, False, mask)
        return ops.concatenate([ops.reshape(t, (2, -1)) for t in out], axis=1)

    check_gradients(run, x, *weights, device=device)
