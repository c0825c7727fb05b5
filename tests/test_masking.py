"""Keras' padding masks: Embedding(mask_zero=True) and Masking make them; the recurrent
layers (also backwards and Bidirectional) skip masked steps, and GlobalAveragePooling1D
averages the kept ones. Oracles: the same layers run on each sequence without its padding;
float64 gradient checks of the masked recurrences on every device."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

import minicnn
from minicnn import Input, Model, Sequential, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor

RNNS = {
    "simple": lambda **kw: L.SimpleRNN(4, **kw),
    "lstm": lambda **kw: L.LSTM(4, **kw),
    "gru": lambda **kw: L.GRU(4, **kw),
    "cell": lambda **kw: L.RNN(L.LSTMCell(4), **kw),
    "stacked_cells": lambda **kw: L.RNN([L.GRUCell(3), L.SimpleRNNCell(4)], **kw),
}


def _padded(rng, lengths, steps, pre):
    """Token ids 1..9, padded with 0 before (Keras' pad_sequences default) or after."""
    ids = np.zeros((len(lengths), steps), np.int64)
    for i, n in enumerate(lengths):
        tokens = rng.integers(1, 10, n)
        if pre:
            ids[i, steps - n :] = tokens
        else:
            ids[i, :n] = tokens
    return ids


def _trimmed(ids, i, pre):
    kept = ids[i][ids[i] != 0]
    return kept[None]


@pytest.mark.parametrize("kind", list(RNNS))
@pytest.mark.parametrize("pre", [True, False], ids=["pre", "post"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_masked_rnn_equals_it_on_the_unpadded_sequence(kind, pre, go_backwards, device):
    rng = np.random.default_rng(0)
    ids = _padded(rng, [5, 2, 7, 1], 7, pre)
    minicnn.set_random_seed(1)
    embedding = L.Embedding(10, 3, mask_zero=True)
    rnn = RNNS[kind](go_backwards=go_backwards)
    masked = Sequential([Input((7,)), embedding, rnn]).to(device)
    got = masked.predict(ids, verbose=0)
    for i in range(len(ids)):
        tokens = _trimmed(ids, i, pre)
        plain = Sequential(
            [Input((tokens.shape[1],)), L.Embedding(10, 3), RNNS[kind](go_backwards=go_backwards)]
        ).to(device)
        plain.set_weights(masked.get_weights())
        np.testing.assert_allclose(
            got[i], plain.predict(tokens, verbose=0)[0], rtol=1e-5, atol=1e-6
        )


def test_masked_sequences_repeat_the_last_output_and_bidirectional(device):
    rng = np.random.default_rng(1)
    ids = _padded(rng, [3, 6], 6, pre=False)
    minicnn.set_random_seed(2)
    model = Sequential(
        [Input((6,)), L.Embedding(10, 3, mask_zero=True), L.LSTM(4, return_sequences=True)]
    ).to(device)
    outputs = model.predict(ids, verbose=0)
    np.testing.assert_array_equal(outputs[0, 3:], np.repeat(outputs[0, 2:3], 3, axis=0))
    assert not np.allclose(outputs[1, 3], outputs[1, 2])
    both = Sequential(
        [Input((6,)), L.Embedding(10, 3, mask_zero=True), L.Bidirectional(L.GRU(4))]
    ).to(device)
    got = both.predict(ids, verbose=0)
    tokens = _trimmed(ids, 0, pre=False)
    plain = Sequential([Input((3,)), L.Embedding(10, 3), L.Bidirectional(L.GRU(4))]).to(device)
    plain.set_weights(both.get_weights())
    np.testing.assert_allclose(got[0], plain.predict(tokens, verbose=0)[0], rtol=1e-5, atol=1e-6)


def test_zero_output_for_mask_gives_zeros_at_masked_steps_as_bidirectional_does(device):
    rng = np.random.default_rng(1)
    ids = _padded(rng, [3, 6], 6, pre=False)
    minicnn.set_random_seed(2)
    model = Sequential(
        [
            Input((6,)),
            L.Embedding(10, 3, mask_zero=True),
            L.LSTM(4, return_sequences=True, zero_output_for_mask=True),
        ]
    ).to(device)
    outputs = model.predict(ids, verbose=0)
    np.testing.assert_array_equal(outputs[0, 3:], 0.0)
    assert np.abs(outputs[0, :3]).min() > 0 and np.abs(outputs[1]).min() > 0
    both = L.Bidirectional(L.GRU(2, return_sequences=True))
    assert both.forward_layer.zero_output_for_mask and both.backward_layer.zero_output_for_mask


@pytest.mark.parametrize(
    "zero_output,return_sequences", [(False, True), (True, True), (True, False)]
)
@pytest.mark.parametrize("kind", list(RNNS))
def test_masked_recurrences_gradients_check_in_float64(kind, zero_output, return_sequences, device):
    """(With zero_output_for_mask a last output is zeros where the last step is masked.)"""
    rng = np.random.default_rng(2)
    layer = RNNS[kind](return_sequences=return_sequences, zero_output_for_mask=zero_output)
    layer.to(device)
    layer.build((None, 5, 3))
    x = rng.standard_normal((3, 5, 3))
    mask = backend.to_device(
        np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool), device
    )
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.weights]

    def run(xt, *wt):
        if isinstance(layer, L.RNN):  # RNN(cell): its weights are its cells'
            layer._weights = list(wt)
            return layer.call(xt, False, mask=mask)
        return layer._run(xt, False, list(wt), mask)

    check_gradients(run, x, *weights, device=device)


def test_masked_average_pooling_and_masking_layer(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3))
    x[0, 2:] = 0.0  # padding steps, all zeros
    pool = L.GlobalAveragePooling1D()
    mask = backend.to_device(np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool), device)
    got = pool.call_masked(Tensor(backend.to_device(x, device)), False, mask)
    np.testing.assert_allclose(host(got), [x[0, :2].mean(axis=0), x[1].mean(axis=0)])
    check_gradients(lambda t: pool.call_masked(t, False, mask), x, device=device)

    inputs = Input((4, 3))
    masked = L.Masking(0.0)(inputs)
    model = Model(inputs, L.GlobalAveragePooling1D()(L.Dense(2)(masked))).to(device)
    dense = model.layers[2]
    w, b = dense.get_weights()
    expected = np.stack([(x[0, :2] @ w + b).mean(axis=0), (x[1] @ w + b).mean(axis=0)])
    np.testing.assert_allclose(
        model.predict(x.astype(np.float32), verbose=0), expected, rtol=1e-5, atol=1e-6
    )


def test_a_masked_text_classifier_trains_and_saves(tmp_path, device):
    rng = np.random.default_rng(4)
    lengths = rng.integers(2, 12, 96)
    ids = _padded(rng, lengths, 12, pre=True)
    labels = (np.array([(row == 7).any() for row in ids])).astype(np.int64)
    minicnn.set_random_seed(0)
    model = Sequential(
        [
            Input((12,)),
            L.Embedding(10, 8, mask_zero=True),
            L.LSTM(8),
            L.Dense(2, activation="softmax"),
        ]
    ).to(device)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, labels, epochs=12, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "text.minicnn")
    loaded = load_model(tmp_path / "text.minicnn", device=device)
    assert loaded.layers[0].mask_zero
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    with pytest.raises(ValueError, match="mask_value must be a number"):
        L.Masking("zero")


def test_the_loss_of_a_masked_sequence_output_counts_kept_steps(device):
    """Keras' rule: sum(w * l * mask) / kept positions, for a tagger on padded sequences."""
    rng = np.random.default_rng(5)
    ids = _padded(rng, [6, 2, 4, 5], 6, pre=False)
    tags = rng.integers(0, 3, ids.shape)
    weights = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    minicnn.set_random_seed(3)
    model = Sequential(
        [
            Input((6,)),
            L.Embedding(10, 4, mask_zero=True),
            L.GRU(5, return_sequences=True),
            L.Dense(3, activation="softmax"),
        ]
    ).to(device)
    model.compile("sgd", "sparse_categorical_crossentropy")
    loss = model.evaluate(ids, tags, sample_weight=weights, batch_size=4, verbose=0)
    probs = model.predict(ids, verbose=0)
    per_step = -np.log(np.take_along_axis(probs, tags[..., None], axis=-1)[..., 0])
    kept = ids != 0
    expected = (per_step * kept * weights[:, None]).sum() / kept.sum()
    assert loss == pytest.approx(expected, rel=1e-4)
    model.fit(ids, tags, epochs=1, verbose=0)  # trains on the same rule


@pytest.mark.parametrize(
    "loss,per_value",
    [
        ("mse", lambda p, t: (p - t) ** 2),
        ("mae", lambda p, t: np.abs(p - t)),
        (
            "huber",
            lambda p, t: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5),
        ),
        ("binary_crossentropy", lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p))),
    ],
)
def test_losses_on_values_count_kept_steps_of_a_masked_sequence(loss, per_value, device):
    """Keras 3 masks every loss: a sequence regressor (or multi-label tagger) on padded
    sequences is scored on the kept steps, sum(w * l * mask) / kept steps, with l the mean
    over a step's features."""
    rng = np.random.default_rng(6)
    ids = _padded(rng, [5, 2, 4, 3], 5, pre=True)
    targets = rng.random((4, 5, 2)).astype(np.float32)
    weights = np.array([1.0, 0.5, 2.0, 1.0], np.float32)
    minicnn.set_random_seed(4)
    model = Sequential(
        [
            Input((5,)),
            L.Embedding(10, 4, mask_zero=True),
            L.LSTM(3, return_sequences=True),
            L.TimeDistributed(L.Dense(2, activation="sigmoid")),
        ]
    ).to(device)
    model.compile("adam", loss)
    value = model.evaluate(ids, targets, sample_weight=weights, batch_size=4, verbose=0)
    probs = model.predict(ids, verbose=0).astype(np.float64)
    per_step = per_value(probs, targets).mean(axis=-1)
    kept = ids != 0
    expected = (per_step * kept * weights[:, None]).sum() / kept.sum()
    assert value == pytest.approx(expected, rel=1e-4)
    # Padded steps take no gradient: their targets do not change what training does.
    noisy = targets.copy()
    noisy[~kept] = rng.random((int((~kept).sum()), 2))
    before = [w.copy() for w in model.get_weights()]
    model.fit(ids, targets, batch_size=4, epochs=1, verbose=0, shuffle=False)
    trained = model.get_weights()
    model.set_weights(before)
    model.compile("adam", loss)
    model.fit(ids, noisy, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(trained, model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_mask_that_is_not_one_per_position_is_left_out():
    """A mask of (batch, steps) on outputs (batch, features) (an RNN that returns its last
    state) weights nothing: the loss is the plain mean, as before."""
    rng = np.random.default_rng(7)
    ids = _padded(rng, [5, 2, 4, 3], 5, pre=True)
    y = rng.random((4, 2)).astype(np.float32)
    model = Sequential([Input((5,)), L.Embedding(10, 4, mask_zero=True), L.LSTM(2)])
    model.compile("sgd", "mse")
    value = model.evaluate(ids, y, verbose=0)
    assert value == pytest.approx(((model.predict(ids, verbose=0) - y) ** 2).mean(), rel=1e-5)


@pytest.mark.parametrize("name", ["mse", "mae", "bce", "bce_logits", "kld"])
def test_losses_weighted_per_position_check_in_float64(name, device):
    from minicnn import pointwise_losses as P

    rng = np.random.default_rng(8)
    outputs = rng.uniform(0.1, 0.9, (3, 4, 2))
    targets = rng.uniform(0.1, 0.9, (3, 4, 2))
    weights = rng.random((3, 4)) * (rng.random((3, 4)) > 0.3)
    losses = {
        "mse": lambda o, t, w: P.mean_squared_error(o, t, w),
        "mae": lambda o, t, w: P.mean_absolute_error(o, t, w),
        "bce": lambda o, t, w: P.binary_crossentropy(o, t, False, w),
        "bce_logits": lambda o, t, w: P.binary_crossentropy(o, t, True, w),
        "kld": lambda o, t, w: P.elementwise_loss(P.kl_divergence_terms, o, t, w, True),
    }
    on = lambda a: backend.to_device(a, device)  # noqa: E731
    loss = losses[name]
    check_gradients(lambda o: loss(o, on(targets), on(weights)), outputs, device=device)
    # Weights of one per sample mean the same as those weights at every position.
    per_sample = rng.random(3)
    a = host(loss(on(outputs), on(targets), on(per_sample)).data)
    b = host(loss(on(outputs), on(targets), on(np.repeat(per_sample[:, None], 4, 1))).data)
    assert float(a) == pytest.approx(float(b), rel=1e-12)


def _padded_ids():
    return np.array([[5, 3, 7, 0, 0, 0], [2, 9, 4, 8, 6, 0], [1, 4, 2, 6, 3, 7]])


def test_eager_layers_carry_and_read_masks_as_kerass_guide(device):
    ids = _padded_ids()
    model = Model(
        x := Input((None,), dtype="int32"), L.LSTM(3)(L.Embedding(10, 4, mask_zero=True)(x))
    )
    model.to(device)
    embedding, lstm = model.layers[1], model.layers[2]
    embedded = embedding(backend.to_device(ids, device))
    np.testing.assert_array_equal(host(embedded._keras_mask), ids != 0)
    expected = model.predict(ids, verbose=0)
    np.testing.assert_allclose(host(lstm(embedded).data), expected, rtol=1e-5, atol=1e-6)
    explicit = lstm(Tensor(embedded.data), mask=embedded._keras_mask)
    np.testing.assert_allclose(host(explicit.data), expected, rtol=1e-5, atol=1e-6)
    unmasked = lstm(Tensor(embedded.data))  # a fresh tensor: no mask, every step counts
    assert not np.allclose(host(unmasked.data), expected)
    assert embedding.compute_mask(ids) is not None  # Keras' signature: mask=None


class MaskedMean(L.Layer):
    """A user's layer that reads masks: Keras' call(inputs, mask=None)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        keep = minicnn.ops.expand_dims(minicnn.ops.cast(mask, "float32"), -1)
        return minicnn.ops.sum(inputs * keep, axis=1) / minicnn.ops.sum(keep, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


class EmbedAndRecur(L.Layer):
    """The guide's layer that passes a mask on by hand (compute_mask, then mask=)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = L.Embedding(10, 4, mask_zero=True)
        self.lstm = L.LSTM(3)

    def call(self, inputs):
        x = self.embedding(inputs)
        return self.lstm(x, mask=self.embedding.compute_mask(inputs))


def test_users_layers_read_and_pass_masks(device):
    ids = _padded_ids()
    embedded = L.Embedding(10, 4, mask_zero=True)
    model = Model(x := Input((None,), dtype="int32"), MaskedMean()(embedded(x))).to(device)
    vectors = embedded.get_weights()[0][ids]
    keep = (ids != 0)[..., None]
    np.testing.assert_allclose(
        model.predict(ids, verbose=0), (vectors * keep).sum(1) / keep.sum(1), rtol=1e-5
    )
    layer = EmbedAndRecur()
    by_hand = Model(y := Input((None,), dtype="int32"), layer(y)).to(device)
    reference = Model(
        z := Input((None,), dtype="int32"), L.LSTM(3)(L.Embedding(10, 4, mask_zero=True)(z))
    )
    reference.to(device).set_weights(by_hand.get_weights())
    np.testing.assert_allclose(
        by_hand.predict(ids, verbose=0), reference.predict(ids, verbose=0), rtol=1e-5, atol=1e-6
    )


def _masked_mean(values, keep):
    keep = keep[..., None].astype(values.dtype)
    return (values * keep).sum(axis=1) / keep.sum(axis=1)


def test_attention_layers_read_padding_masks_as_the_unpadded_sequences(device):
    """Embedding(mask_zero=True) into MultiHeadAttention (self and across) and Attention:
    each sample equals the same layers on its sequences without their padding, and the
    query's mask goes on to the average, as Keras'."""
    rng = np.random.default_rng(11)
    tokens, other = Input((None,), dtype="int32"), Input((None,), dtype="int32")
    x = L.Embedding(10, 8, mask_zero=True)(tokens)
    y = L.Embedding(10, 8, mask_zero=True)(other)
    itself = L.MultiHeadAttention(2, 4)(x, x)
    across = L.MultiHeadAttention(2, 4)(itself, y)
    # (the MultiHeadAttention erased y's mask, as Keras': the Attention reads its own)
    values = L.Embedding(10, 8, mask_zero=True)(other)
    dot = L.Attention(use_scale=True)([across, values])
    model = Model([tokens, other], L.GlobalAveragePooling1D()(dot))
    for layer in model.layers:
        layer.set_weights([rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()])
    model = model.to(device)
    ids, others = _padded(rng, [4, 6, 2], 6, False), _padded(rng, [5, 1, 3], 5, False)
    got = model.predict([ids, others], verbose=0)
    for i in range(3):
        alone = model.predict([_trimmed(ids, i, False), _trimmed(others, i, False)], verbose=0)
        np.testing.assert_allclose(got[i], alone[0], rtol=1e-5, atol=1e-6)


def test_merges_join_masks_as_keras(device):
    """Keras' merges of masked inputs: the output keeps a step any input keeps (Add);
    Maximum takes the other input's value where one is masked, Multiply counts it as 1;
    Concatenate joins the masks along the steps, or along the features (all kept)."""
    rng = np.random.default_rng(5)
    a_values, b_values = rng.standard_normal((2, 3, 4, 2)).astype(np.float32)
    a_values[0, 3:] = a_values[1, 1:] = 0.0  # padding, as Masking(0.0) sees it
    b_values[0, 2:] = b_values[2, :2] = 0.0
    keep_a, keep_b = (a_values != 0).any(-1), (b_values != 0).any(-1)
    a_in, b_in = Input((4, 2)), Input((4, 2))
    a, b = L.Masking(0.0)(a_in), L.Masking(0.0)(b_in)
    pool = L.GlobalAveragePooling1D
    outputs = [
        pool()(L.Add()([a, b])),
        pool()(L.Maximum()([a, b])),
        pool()(L.Multiply()([a, b])),
        pool()(L.Concatenate(axis=1)([a, b])),
        pool()(L.Concatenate()([a, b])),
    ]
    model = Model([a_in, b_in], outputs).to(device)
    added, largest, product, steps, features = model.predict([a_values, b_values], verbose=0)
    either = keep_a | keep_b
    np.testing.assert_allclose(added, _masked_mean(a_values + b_values, either), rtol=1e-6)
    a_or_b = np.where(keep_a[..., None], a_values, b_values)
    b_or_a = np.where(keep_b[..., None], b_values, a_values)
    np.testing.assert_allclose(largest, _masked_mean(np.maximum(a_or_b, b_or_a), either))
    ones = np.ones_like(a_values)
    both = np.where(keep_a[..., None], a_values, ones) * np.where(keep_b[..., None], b_values, ones)
    np.testing.assert_allclose(product, _masked_mean(both, either), rtol=1e-6)
    joined = np.concatenate([a_values, b_values], axis=1)
    kept = np.concatenate([keep_a, keep_b], axis=1)
    np.testing.assert_allclose(steps, _masked_mean(joined, kept), rtol=1e-6)
    paired = np.concatenate([a_values, b_values], axis=-1)
    np.testing.assert_allclose(features, _masked_mean(paired, either), rtol=1e-6)


def test_multi_head_attention_erases_its_inputs_masks_as_keras(device):
    """Keras' MultiHeadAttention takes the masks off the tensors it reads: eagerly, and in a
    model's run, where a later merge finds none on them and keeps none, and the next
    attention layer masks nothing (an average still gets the mask its graph recorded)."""
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 8]])
    embedding = L.Embedding(10, 6, mask_zero=True)
    embedding.to(device)
    x = embedding(backend.to_device(ids, device))
    mha = L.MultiHeadAttention(2, 3)
    out = mha(x, x)
    assert x._keras_mask is None
    np.testing.assert_array_equal(host(out._keras_mask), ids != 0)

    tokens = Input((4,), dtype="int32")
    h = L.Embedding(10, 6, mask_zero=True)(tokens)
    first = L.MultiHeadAttention(2, 3)
    second = L.MultiHeadAttention(2, 3)
    summed = L.Add()([h, first(h, h)])
    model = Model(tokens, [second(summed, summed), L.GlobalAveragePooling1D()(summed)])
    model = model.to(device)
    got, pooled = model.predict(ids, verbose=0)
    inner = Model(tokens, summed).to(device).predict(ids, verbose=0)
    unmasked = Tensor(backend.to_device(inner, device))
    plain = host(second(unmasked, unmasked))
    np.testing.assert_allclose(got, plain, rtol=1e-5, atol=1e-6)  # no mask reached it
    np.testing.assert_allclose(pooled[0], inner[0, :2].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_batch_normalization_takes_the_moments_of_kept_steps_in_training(device):
    """Keras' BatchNormalization with a padding mask: in training, the mean and variance of
    the kept steps only (divided by their count plus 1e-7), the moving statistics moving
    towards them, every step normalized; in inference the mask changes nothing. A float64
    gradient check of the masked pass."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(3, 5, 4))
    mask = np.ones((3, 5), bool)
    mask[0, 3:], mask[1, 1:] = False, False
    bn = L.BatchNormalization(momentum=0.9)
    bn.build((None, 5, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    bn.set_weights([gamma, beta, np.zeros(4), np.ones(4)])
    bn.to(device)
    kept = x[mask]  # (kept steps, features)
    mean, variance = kept.mean(axis=0), kept.var(axis=0)
    scale = kept.shape[0] / (kept.shape[0] + 1e-7)
    expected = (x - mean * scale) / np.sqrt(variance * scale + 1e-3) * gamma + beta
    device_mask = backend.to_device(mask, device)
    got = bn.call_masked(Tensor(backend.to_device(x.astype(np.float32), device)), True, device_mask)
    np.testing.assert_allclose(host(got), expected, rtol=1e-4, atol=1e-5)
    moving_mean, moving_variance = bn.get_weights()[2:]
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(moving_variance, 0.9 + 0.1 * variance, rtol=1e-4)
    inference = bn.call_masked(Tensor(backend.to_device(x, device)), False, device_mask)
    np.testing.assert_allclose(
        host(inference), host(bn.call(Tensor(backend.to_device(x, device)), False))
    )
    check_gradients(lambda t: bn.call_masked(t, True, device_mask), x, device=device)
    with pytest.raises(ValueError, match="one axis less than the inputs"):
        bn.call_masked(Tensor(x), True, np.ones((3, 5, 4), bool))


# Keras 3.15's supports_masking of these layers (a padding mask passes through or not).
KERAS_SUPPORTS_MASKING = {
    True: [
        "L.ReLU()", "L.LeakyReLU()", "L.ELU()", "L.PReLU()", "L.Softmax()",
        "L.GaussianNoise(0.1)", "L.GaussianDropout(0.1)", "L.AlphaDropout(0.1)",
        "L.Rescaling(0.5)", "L.Normalization()", "L.RNN(L.LSTMCell(2))", "L.Add()",
        "L.Concatenate()", "L.Dot(axes=1)", "L.Attention()", "L.MultiHeadAttention(2, 2)",
        "L.Dense(2)", "L.LayerNormalization()", "L.BatchNormalization()", "L.Dropout(0.1)",
    ],
    False: [
        "L.EinsumDense('ab,bc->ac', output_shape=2)", "L.RMSNormalization()", "L.Conv1D(2, 2)",
        "L.Flatten()", "L.MaxPooling1D()",
    ],
}  # fmt: skip


@pytest.mark.parametrize("supported", [True, False])
def test_layers_pass_masks_on_where_keras_does(supported):
    for spec in KERAS_SUPPORTS_MASKING[supported]:
        assert eval(spec).supports_masking is supported, spec


def test_mean_metrics_weight_the_kept_steps_as_keras_does():
    """Keras' mean metrics weight each position by the output's padding mask, over the
    whole run: Keras 3.15's own evaluate of tests/keras_files/masked_metrics.keras (batches
    that keep different shares of their steps, a sample all padding)."""
    from pathlib import Path

    from minicnn import metrics, ops

    files = Path(__file__).parent / "keras_files"
    expected = np.load(files / "masked_metrics.npz")
    model = load_model(files / "masked_metrics.keras", compile=False)
    model.compile(
        "sgd",
        "sparse_categorical_crossentropy",
        metrics=["accuracy", metrics.SparseCategoricalCrossentropy(name="xent")],
        weighted_metrics=["accuracy"],
    )
    names = ("accuracy", "xent", "weighted_accuracy", "loss")
    for key, batch_size in (("metrics_all", None), ("metrics_by_2", 2)):
        found = model.evaluate(
            expected["x"], expected["targets"], batch_size=batch_size, verbose=0, return_dict=True
        )
        np.testing.assert_allclose([found[n] for n in names], expected[key], rtol=1e-6)
    model.compile(
        "sgd",
        "mse",
        metrics=[
            metrics.RootMeanSquaredError(),  # Keras' finds no mask (a Mean of the squares)
            metrics.MeanSquaredError(),
            metrics.CosineSimilarity(),
            metrics.PearsonCorrelation(),
            metrics.MeanMetricWrapper(lambda t, p: ops.mean(ops.abs(t - p), axis=-1), name="fn"),
        ],
    )
    found = model.evaluate(expected["x"], np.eye(3)[expected["targets"]], verbose=0)
    np.testing.assert_allclose(np.roll(found, -1), expected["value_metrics"], rtol=1e-6)
    # A metric of counts (Keras' confusion metrics) reads no mask: every step counts.
    iou = metrics.MeanIoU(3, sparse_y_pred=False)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=[iou])
    found = model.evaluate(expected["x"], expected["targets"], verbose=0, return_dict=True)
    predicted, truth = expected["y0"].argmax(-1).ravel(), expected["targets"].ravel()
    ious = [
        ((predicted == c) & (truth == c)).sum() / ((predicted == c) | (truth == c)).sum()
        for c in range(3)
    ]
    assert found["mean_io_u"] == pytest.approx(np.mean(ious), rel=1e-6)


def test_ignore_class_leaves_out_unknown_labels_as_keras_does():
    """Targets of 255 where a label is unknown (a segmentation set's convention), with
    ignore_class=255 in the loss and a cross-entropy metric, on a padded sequence: Keras
    3.15's own evaluate and two epochs of fit (tests/keras_files/ignored_labels.keras)."""
    from pathlib import Path

    files = Path(__file__).parent / "keras_files"
    expected = np.load(files / "ignored_labels.npz")
    model = load_model(files / "ignored_labels.keras")
    x, targets = expected["x"], expected["targets"]
    names = ("accuracy", "xent", "loss")
    for key, batch_size in (("evaluate_all", None), ("evaluate_by_2", 2)):
        found = model.evaluate(x, targets, batch_size=batch_size, verbose=0, return_dict=True)
        np.testing.assert_allclose([found[n] for n in names], expected[key], rtol=1e-6)
    history = model.fit(x, targets, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], expected["history"][2], rtol=1e-5)
    # The metrics of fit as Keras 3.15 on PyTorch gives them (its JAX backend, which made
    # the file, loses the output's mask on the way out of its training step, so there they
    # count the padding; evaluate's do not on either).
    on_torch = {"accuracy": [0.454545, 0.454545], "xent": [1.171344, 1.095308]}
    for name, values in on_torch.items():
        np.testing.assert_allclose(history[name], values, atol=2e-6)
    with pytest.raises(ValueError, match=r"Labels must be in 0..2 \(the model has 3 outputs\) or"):
        model.evaluate(x, np.where(targets == 255, 7, targets), verbose=0)


def test_each_output_mask_weights_its_own_loss_and_metrics():
    """A model of three outputs, two of them padded sequences: Keras 3.15's evaluate of
    tests/keras_files/masked_outputs.keras (each output's mask weights its loss and its
    mean metrics; the weighted sum of the losses follows)."""
    from pathlib import Path

    files = Path(__file__).parent / "keras_files"
    expected = np.load(files / "masked_outputs.npz")
    model = load_model(files / "masked_outputs.keras")
    targets = [expected[f"target_{name}"] for name in ("tags", "values", "label")]
    found = model.evaluate(expected["x"], targets, verbose=0, return_dict=True)
    names = ("loss", "tags_loss", "values_loss", "label_loss")
    names += ("tags_accuracy", "values_mae", "label_accuracy")
    np.testing.assert_allclose([found[n] for n in names], expected["evaluated"], rtol=2e-6)


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_weights_per_step_weight_the_loss_and_metrics_as_keras_does(masked):
    """Keras' sample weights of shape (batch, steps), with and without the padding mask:
    Keras 3.15's evaluate (at once and by 2) and three epochs of fit from the weights of
    tests/keras_files/temporal_weights.keras."""
    from pathlib import Path

    from minicnn import metrics, optimizers

    files = Path(__file__).parent / "keras_files"
    expected = np.load(files / "temporal_weights.npz")
    key = "masked" if masked else "unmasked"
    ids = expected["x"] if masked else expected["x"] + 1
    targets, weights = expected["targets"], expected["step_weights"]
    model = load_model(files / "temporal_weights.keras", compile=False)
    model.compile(
        optimizers.SGD(0.5),
        "sparse_categorical_crossentropy",
        weighted_metrics=["accuracy", metrics.SparseCategoricalCrossentropy(name="xent")],
    )
    for batch_size in (None, 2):
        logs = model.evaluate(
            ids, targets, sample_weight=weights, batch_size=batch_size, verbose=0, return_dict=True
        )
        found = [logs[n] for n in ("loss", "accuracy", "xent")]
        np.testing.assert_allclose(found, expected[f"{key}_by_{batch_size}"], rtol=2e-6)
    history = model.fit(
        ids, targets, sample_weight=weights, batch_size=2, epochs=3, shuffle=False, verbose=0
    )
    np.testing.assert_allclose(history.history["loss"], expected[f"{key}_history"], rtol=1e-5)
    with pytest.raises(ValueError, match=r"weights per position must match the output's"):
        model.evaluate(ids, targets, sample_weight=weights[:, :4], verbose=0)


def test_a_step_of_the_users_reads_the_masks_the_outputs_carry():
    """A model's eager call gives outputs that carry their padding masks (as Keras'), so a
    train_step or test_step of the user's, calling compute_loss and compute_metrics, weights
    the padding out as fit's own step does: Keras 3.15 on PyTorch's fit and evaluate of
    tests/keras_files/ignored_labels.keras."""
    from pathlib import Path

    from minicnn import Model, losses, metrics, optimizers

    class Stepped(Model):
        def train_step(self, data):
            return super().train_step(data)

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            assert y_pred._keras_mask is not None
            self.compute_loss(x, y, y_pred)
            return self.compute_metrics(x, y, y_pred)

    files = Path(__file__).parent / "keras_files"
    expected = np.load(files / "ignored_labels.npz")
    saved = load_model(files / "ignored_labels.keras")
    model = Stepped(saved.inputs, saved.outputs)
    model.compile(
        optimizers.SGD(0.5),
        losses.SparseCategoricalCrossentropy(ignore_class=255),
        metrics=["accuracy", metrics.SparseCategoricalCrossentropy(name="xent", ignore_class=255)],
    )
    x, targets = expected["x"], expected["targets"]
    found = model.evaluate(x, targets, verbose=0, return_dict=True)
    np.testing.assert_allclose(
        [found["accuracy"], found["xent"]], expected["evaluate_all"][:2], rtol=1e-6
    )
    history = model.fit(x, targets, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    on_torch = {"accuracy": [0.454545, 0.454545], "xent": [1.171344, 1.095308]}
    on_torch["loss"] = expected["history"][2]
    for name, values in on_torch.items():
        np.testing.assert_allclose(history[name], values, atol=2e-6)


def test_a_cross_entropy_metric_with_ignore_class_standalone_as_keras():
    """Keras 3.15's numbers: without weights the ignored positions count as zeros (its mean
    finds their mask only beside weights); with weights per position they are left out."""
    from minicnn import metrics

    p = np.array(
        [[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]],
         [[0.2, 0.5, 0.3], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]]], np.float32
    )  # fmt: skip
    t = np.array([[0, 1, 255], [255, 255, 0]])
    plain = metrics.SparseCategoricalCrossentropy(ignore_class=255)
    plain.update_state(t, p)
    assert float(plain.result()) == pytest.approx(0.48040062189102173, rel=1e-6)
    weighted = metrics.SparseCategoricalCrossentropy(ignore_class=255)
    weighted.update_state(t, p, sample_weight=np.ones((2, 3)))
    assert float(weighted.result()) == pytest.approx(0.9608012437820435, rel=1e-6)
