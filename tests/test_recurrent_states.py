"""Initial and returned states of SimpleRNN, LSTM and GRU, as Keras has them: return_state
gives [output, h, (c)]; initial_state (or a list [x, *states]) starts the recurrence there.
Oracles: a sequence run in two halves, the second from the first's states, equals it run
whole; float64 gradient checks through the states; Keras' seq2seq encoder-decoder trains,
saves and loads."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import Input, Model, backend, load_model, optimizers
from minicnn import layers as L
from minicnn.autograd import Tensor

KINDS = {"SimpleRNN": L.SimpleRNN, "LSTM": L.LSTM, "GRU": L.GRU}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_returned_states_and_a_sequence_run_in_two_halves(kind, return_sequences, device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    whole = KINDS[kind](5, return_sequences=return_sequences, return_state=True)
    on = lambda a: Tensor(backend.to_device(a, device))  # noqa: E731
    whole.to(device)
    output, *states = whole(on(x))
    assert len(states) == (2 if kind == "LSTM" else 1)
    last = host(output.data)[:, -1] if return_sequences else host(output.data)
    np.testing.assert_allclose(host(states[0].data), last, rtol=1e-6)  # h is the last output
    half = KINDS[kind](5, return_sequences=return_sequences, return_state=True)
    half.to(device)
    half.build((None, 4, 4))
    half.set_weights(whole.get_weights())
    _, *middle = half(on(x[:, :4]))
    second, *end = half(on(x[:, 4:]), initial_state=middle)
    for a, b in zip(end, states, strict=True):
        np.testing.assert_allclose(host(a.data), host(b.data), rtol=1e-5, atol=1e-6)
    expected = host(output.data)[:, 4:] if return_sequences else host(output.data)
    np.testing.assert_allclose(host(second.data), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_through_initial_and_returned_states(kind, return_sequences, device):
    rng = np.random.default_rng(1)
    layer = KINDS[kind](3, return_sequences=return_sequences, return_state=True)
    layer.to(device)
    layer.build((None, 4, 2))
    x = rng.standard_normal((2, 4, 2))
    states = [rng.standard_normal((2, 3)) for _ in range(2 if kind == "LSTM" else 1)]
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.weights]

    def run(x, *tensors):
        count = len(states)
        layer._weights = list(tensors[count:])
        output, *final = layer.call([x, *tensors[:count]], False)
        # Every output counts, so each piece's gradient path is checked.
        total = (output * output).sum()
        for k, state in enumerate(final):
            total = total + (state * (k + 2.0)).sum()
        return total

    check_gradients(run, x, *states, *weights, device=device)


def seq2seq(steps=5, tokens=6, units=16):
    """Keras' character-level seq2seq, small: the encoder's final states start the decoder,
    which reads the target shifted by one (teacher forcing)."""
    encoder_inputs = Input((steps, tokens))
    _, state_h, state_c = L.LSTM(units, return_state=True)(encoder_inputs)
    decoder_inputs = Input((steps, tokens))
    decoder = L.LSTM(units, return_sequences=True, return_state=True)
    decoded, _, _ = decoder(decoder_inputs, initial_state=[state_h, state_c])
    outputs = L.Dense(tokens, activation="softmax")(decoded)
    return Model([encoder_inputs, decoder_inputs], outputs)


def test_keras_seq2seq_learns_to_reverse_and_saves(tmp_path, device):
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 6, (400, 5))
    target = ids[:, ::-1]
    shifted = np.concatenate([np.zeros((400, 1), np.int64), target[:, :-1]], axis=1)
    eye = np.eye(6, dtype=np.float32)
    x = [eye[ids], eye[shifted]]
    model = seq2seq().to(device)
    model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, target, batch_size=32, epochs=25, verbose=0)
    assert model.evaluate(x, target, verbose=0)[1] > 0.9
    model.save(tmp_path / "seq2seq.minicnn")
    loaded = load_model(tmp_path / "seq2seq.minicnn", device=device)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    lines = []
    model.summary(print_fn=lines.append)
    assert "lstm_1 (LSTM)" in lines[0] and "(None, 16)" in lines[0]


def test_bad_states_are_named():
    sequence = Input((4, 3))
    with pytest.raises(ValueError, match=r"takes 2 initial state\(s\) \(h and c\), got 1"):
        L.LSTM(2)(sequence, initial_state=[Input((2,))])
    with pytest.raises(ValueError, match=r"an initial state has shape \(batch, units\)"):
        L.GRU(2)(sequence, initial_state=Input((3,)))
    layer = L.SimpleRNN(2)
    layer(sequence, initial_state=Input((2,)))
    with pytest.raises(ValueError, match="was called with initial states"):
        layer(sequence)
    with pytest.raises(ValueError, match="must agree on return_state"):
        L.Bidirectional(L.LSTM(2, return_state=True), backward_layer=L.LSTM(2, go_backwards=True))
    with pytest.raises(ValueError, match=r"an initial state has shape"):
        L.LSTM(2)(
            np.zeros((2, 4, 3), np.float32),
            initial_state=[np.zeros((2, 2))] * 2 and [np.zeros((3, 2), np.float32)] * 2,
        )


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_stateful_layer_carries_its_states_from_batch_to_batch(kind, device):
    """Keras' stateful=True: sample i of a batch starts from where sample i of the last
    batch ended; reset_states() starts again from zeros; a batch of another size is an
    error until then."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 9, 3)).astype(np.float32)
    whole = KINDS[kind](5, return_sequences=True)
    Sequential = __import__("minicnn").Sequential
    reference = Sequential([Input((9, 3)), whole]).to(device)
    stateful = KINDS[kind](5, return_sequences=True, stateful=True)
    chunked = Sequential([Input((3, 3)), stateful]).to(device)
    stateful.set_weights(whole.get_weights())
    pieces = [chunked.predict(x[:, k : k + 3], batch_size=4, verbose=0) for k in (0, 3, 6)]
    np.testing.assert_allclose(
        np.concatenate(pieces, axis=1), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert len(stateful.states) == (2 if kind == "LSTM" else 1)
    with pytest.raises(ValueError, match="stateful with batches of 4 samples, and got 2"):
        chunked.predict(x[:2, :3], verbose=0)
    chunked.reset_states()
    assert stateful.states is None
    np.testing.assert_allclose(
        chunked.predict(x[:, :3], batch_size=4, verbose=0), pieces[0], rtol=1e-6
    )
    # Training carries them too (without gradients across batches), and a fit runs.
    chunked.compile("adam", "mse")
    chunked.reset_states()
    chunked.fit(x[:, :3], x[:, :3, :1].repeat(5, -1), batch_size=4, epochs=2, verbose=0)
    assert stateful.states is not None
    stateful.reset_states([np.ones((4, 5))] * len(stateful.states))
    np.testing.assert_array_equal(stateful.states[0], np.ones((4, 5)))


def test_a_stateful_model_trains_uncaptured_on_a_gpu(gpu):
    from minicnn import Sequential

    x = np.random.default_rng(4).standard_normal((8, 3, 2)).astype(np.float32)
    model = Sequential([Input((3, 2)), L.GRU(4, stateful=True), L.Dense(1)], device="gpu")
    model.compile("adam", "mse", jit_compile=True)
    model.fit(x, x[:, -1, :1], batch_size=4, epochs=2, verbose=0)
    assert model._captured_step is None


def test_recurrent_seeds_constraints_and_keras_switches(tmp_path):
    from minicnn import Sequential, constraints

    x = np.random.default_rng(5).standard_normal((6, 4, 3)).astype(np.float32)
    y = np.random.default_rng(6).standard_normal((6, 2)).astype(np.float32)

    def trained(seed, global_seed):
        backend.set_random_seed(0)
        layer = L.LSTM(
            2,
            dropout=0.5,
            recurrent_dropout=0.5,
            seed=seed,
            kernel_constraint=constraints.MaxNorm(0.5),
            recurrent_constraint="non_neg",
            unroll=True,
            use_cudnn=False,
        )
        model = Sequential([Input((4, 3)), layer])
        model.compile("sgd", "mse")
        backend.set_random_seed(global_seed)  # the global draws differ; a seeded layer's not
        model.fit(x, y, epochs=3, batch_size=3, verbose=0, shuffle=False)
        return model, layer

    a, layer = trained(7, 1)
    b, _ = trained(7, 2)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    c, _ = trained(None, 1)
    d, _ = trained(None, 2)
    assert any((wc != wd).any() for wc, wd in zip(c.get_weights(), d.get_weights(), strict=True))
    kernel, recurrent, _ = layer.get_weights()
    assert (np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-6).all() and (recurrent >= 0).all()
    a.save(tmp_path / "m.minicnn")
    config = load_model(tmp_path / "m.minicnn").layers[0].get_config()
    assert config["seed"] == 7 and config["unroll"] is True and config["stateful"] is False
    assert config["kernel_constraint"]["class_name"] == "MaxNorm"


def test_keras_files_write_initial_states_as_keras_does(tmp_path):
    """Keras' own form: the decoder's node takes the sequence, initial_state=[h, c] as a
    keyword, and builds from a shapes_dict (Keras 3.15 loads such a file, to 3e-8)."""
    import json
    import zipfile

    model = seq2seq()
    model.export(tmp_path / "s.keras")
    with zipfile.ZipFile(tmp_path / "s.keras") as archive:
        layers = json.loads(archive.read("config.json"))["config"]["layers"]
    lstms = [e for e in layers if e["class_name"] == "LSTM"]
    assert len(lstms) == 2 and "initial_state" not in lstms[0]["inbound_nodes"][0]["kwargs"]
    decoder = lstms[1]
    node = decoder["inbound_nodes"][0]
    assert len(node["args"]) == 1 and len(node["kwargs"]["initial_state"]) == 2
    assert decoder["build_config"]["shapes_dict"] == {
        "sequences_shape": [None, 5, 6],
        "initial_state_shape": [[None, 16], [None, 16]],
    }
    x = [np.random.default_rng(0).random((2, 5, 6)).astype(np.float32)] * 2
    again = load_model(tmp_path / "s.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_started_layer_runs_unmasked_and_passes_the_sequence_mask_on():
    """As Keras: a call with initial states has two tensor arguments, so it gets no mask
    (the padded steps run), yet its output carries the sequence's mask (Keras' mask of the
    call's first argument; tests/keras_files/masked_seq2seq.keras in a model)."""
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 0]])
    embedded = L.Embedding(6, 3, mask_zero=True)(ids)
    start = [np.full((2, 2), 0.5, np.float32)] * 2
    lstm = L.LSTM(2, return_sequences=True)
    out = lstm(embedded, initial_state=start)
    np.testing.assert_array_equal(host(out._keras_mask), ids != 0)
    plain = lstm([Tensor(embedded.data), *start])
    np.testing.assert_array_equal(out.data, plain.data)
    assert not np.allclose(out.data[0, 2], out.data[0, 1])  # the padded step ran
    last = L.GRU(2)(embedded, initial_state=start[:1])
    assert getattr(last, "_keras_mask", None) is None  # a last output has none


def test_bidirectional_starts_each_direction_from_its_states(tmp_path, device):
    """Keras' Bidirectional(initial_state=[forward states..., backward states...]); with
    merge_mode=None both directions come back unmerged (Keras' own file of both:
    tests/keras_files/bidirectional_started.keras)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    h0, c0, h1, c1 = (rng.standard_normal((2, 2)).astype(np.float32) for _ in range(4))
    on = lambda a: Tensor(backend.to_device(a, device))  # noqa: E731
    both = L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=None)
    both.to(device)
    ahead, behind = both(on(x), initial_state=[on(h0), on(c0), on(h1), on(c1)])
    forward, backward = both.forward_layer, both.backward_layer
    np.testing.assert_allclose(
        host(ahead.data), host(forward(on(x), initial_state=[on(h0), on(c0)]).data), rtol=1e-6
    )
    turned = host(backward(on(x), initial_state=[on(h1), on(c1)]).data)[:, ::-1]
    np.testing.assert_allclose(host(behind.data), turned, rtol=1e-6)
    with pytest.raises(ValueError, match=r"takes 4 initial state\(s\) \(the forward layer's"):
        both(on(x), initial_state=[on(h0), on(c0)])

    sequence, *starts = Input((4, 3)), Input((2,)), Input((2,))
    summed = L.Bidirectional(L.GRU(2), merge_mode="sum")(sequence, initial_state=starts)
    model = Model([sequence, *starts], summed).to(device)
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras", device=device)
    np.testing.assert_array_equal(
        again.predict([x, h0, h1], verbose=0), model.predict([x, h0, h1], verbose=0)
    )


def test_a_stateful_bidirectional_carries_both_layers_states():
    """Each direction starts a batch from where it ended the last (as Keras 3.15 on
    PyTorch's predict: to 1e-7 on a model of its), the same as a call from those states;
    reset_states on the model reaches both layers."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    both = L.Bidirectional(L.LSTM(2, stateful=True, return_sequences=True))
    model = Model(inputs := Input((3, 2), batch_size=2), both(inputs))
    first = model.predict(x, batch_size=2, verbose=0)
    carried = both.states
    assert both.stateful and [s.shape for s in carried] == [(2, 2)] * 4
    second = model.predict(x, batch_size=2, verbose=0)
    started = L.Bidirectional(L.LSTM(2, return_sequences=True))
    started.build((None, 3, 2))
    started.set_weights(both.get_weights())
    expected = started(x, initial_state=[Tensor(s) for s in carried])
    np.testing.assert_allclose(second, expected.data, rtol=1e-5, atol=1e-6)
    model.reset_states()
    assert both.states is None
    np.testing.assert_allclose(model.predict(x, batch_size=2, verbose=0), first, rtol=1e-6)
