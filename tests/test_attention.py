"""MultiHeadAttention, Attention and Permute: Keras' einsum formulas in NumPy as the oracle,
float64 gradient checks on every device, causal masks, a model that attends, saving, and a
captured step (whose batched products take minicnn's GEMM kernel)."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_graph_step import assert_same_training, fit_twice

from minicnn import Input, Model, backend, load_model, optimizers
from minicnn import layers as L
from minicnn.autograd import Tensor


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def mha_oracle(query, value, key, weights, key_dim, causal=False):
    """Keras 3's MultiHeadAttention without masks or dropout, written with einsum."""
    qk, qb, kk, kb, vk, vb, ok, ob = weights
    q = np.einsum("btd,dhk->bthk", query, qk) + qb
    k = np.einsum("btd,dhk->bthk", key, kk) + kb
    v = np.einsum("btd,dhk->bthk", value, vk) + vb
    scores = np.einsum("bshk,bthk->bhts", k, q / np.sqrt(key_dim))
    if causal:
        steps_q, steps_k = scores.shape[-2:]
        scores = np.where(np.triu(np.ones((steps_q, steps_k)), 1) > 0, -1e9, scores)
    heads = np.einsum("bhts,bshk->bthk", softmax(scores), v)
    return np.einsum("bthk,hko->bto", heads, ok) + ob


def built_mha(device, shapes, **kwargs):
    layer = L.MultiHeadAttention(**kwargs)
    layer.to(device)
    layer.build([(None, *shape) for shape in shapes])  # Keras' shapes: the batch first
    return layer


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_follows_keras_einsums(causal, device):
    rng = np.random.default_rng(0)
    query, value, key = (rng.standard_normal((2, t, d)) for t, d in ((4, 6), (5, 3), (5, 7)))
    layer = built_mha(device, [(4, 6), (5, 3), (5, 7)], num_heads=2, key_dim=3, value_dim=4)
    assert [w.shape for w in layer.weights] == [
        (6, 2, 3), (2, 3), (7, 2, 3), (2, 3), (3, 2, 4), (2, 4), (2, 4, 6), (6,),
    ]  # fmt: skip
    weights = [rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    weights = layer.get_weights()  # as stored, in float32
    inputs = [Tensor(backend.to_device(a, device)) for a in (query, value, key)]
    got = host(layer(*inputs, use_causal_mask=causal))
    expected = mha_oracle(query, value, key, weights, 3, causal)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_attention_gradients(device):
    rng = np.random.default_rng(1)
    query, value = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    mha = built_mha(device, [(3, 4), (5, 4)], num_heads=2, key_dim=2)
    params = [rng.standard_normal(w.shape) * 0.5 for w in mha.weights]

    def run(q, v, *ws):
        mha._weights = list(ws)
        return mha.call([q, v], False)

    check_gradients(run, query, value, *params, device=device)
    mha.use_causal_mask = True
    check_gradients(lambda q, *ws: run(q, q, *ws), query, *params, device=device)
    dot = L.Attention(use_scale=True)
    dot.to(device)
    dot.build([(None, 3, 4), (None, 5, 4)])

    def run_dot(q, v, scale):
        dot._weights = [scale]
        return dot.call([q, v], False)

    check_gradients(run_dot, query, value, np.array(0.7), device=device)


def test_dot_product_attention_and_permute_match_numpy():
    rng = np.random.default_rng(2)
    query, value, key = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 6)), None
    key = rng.standard_normal((2, 5, 4))
    got = L.Attention()(query, value, key).data
    np.testing.assert_allclose(got, softmax(query @ key.transpose(0, 2, 1)) @ value, rtol=1e-10)
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(L.Permute((3, 1, 2))(x).data, x.transpose(0, 3, 1, 2))
    check_gradients(lambda t: L.Permute((2, 3, 1))(t), x)


def test_attention_takes_keras_list_call_with_a_causal_mask(tmp_path):
    """Keras calls Attention on a list, ``Attention()([query, value], use_causal_mask=True)``:
    the mask is the one of ``Attention()(query, value, use_causal_mask=True)``, and a model
    keeps it through its own calls, saving and loading."""
    rng = np.random.default_rng(5)
    q, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    causal = L.Attention()(q, v, use_causal_mask=True).data
    np.testing.assert_allclose(L.Attention()([q, v], use_causal_mask=True).data, causal)
    assert np.abs(L.Attention()([q, v]).data - causal).max() > 1e-3  # the mask mattered
    x = Input((4, 3))
    model = Model(x, L.Attention()([x, x], use_causal_mask=True))
    model.save(tmp_path / "m.npz")
    for m in (model, load_model(tmp_path / "m.npz")):
        np.testing.assert_allclose(
            m.predict(q.astype(np.float32), verbose=0),
            L.Attention()(q, q, use_causal_mask=True).data,
            rtol=1e-5,
            atol=1e-6,
        )


def contains_token(n=256, steps=6, seed=0):
    """Whether token 3 occurs in the sequence: attention finds it wherever it is."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, steps))
    hits = rng.random(n) < 0.5
    x[hits, rng.integers(0, steps, hits.sum())] = 3
    return x, (x == 3).any(axis=1).astype(np.int64)


def test_a_small_transformer_learns_and_saves(tmp_path, device):
    loaded = assert_token_detector_learns_and_saves(
        lambda e: L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(e, e), tmp_path, device
    )
    config = loaded.layers[2].get_config()
    assert config["num_heads"] == 2 and config["key_dim"] == 4 and config["dropout"] == 0.1


def test_a_captured_step_replays_attention(gpu):
    def build(device):
        inputs = Input((8, 8, 1))
        rows = L.Reshape((8, 8))(inputs)
        attended = L.MultiHeadAttention(2, 4, dropout=0.2)(rows, rows, use_causal_mask=True)
        pooled = L.GlobalAveragePooling1D()(attended)
        return Model(inputs, L.Dense(3, activation="softmax")(pooled), device=device)

    plain = fit_twice(build, "adam", jit_compile=False)
    captured = fit_twice(build, "adam", jit_compile=True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None


def test_bad_attention_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(MultiHeadAttention\): num_heads must be a positive"):
        L.MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match=r"takes \[query, value\] or \[query, value, key\]"):
        L.MultiHeadAttention(2, 4)(Input((4,)), Input((4,)))
    with pytest.raises(ValueError, match="query, value and key must have as many axes"):
        L.MultiHeadAttention(2, 4)(Input((4, 4, 1)), Input((4, 1)))
    with pytest.raises(ValueError, match="attention does not run over must agree"):
        L.MultiHeadAttention(2, 4, attention_axes=[2])(Input((4, 3, 1)), Input((5, 3, 1)))
    with pytest.raises(ValueError, match="score_mode must be one of dot, concat; got 'add'"):
        L.Attention(score_mode="add")
    with pytest.raises(TypeError, match="needs a query and a value"):
        L.Attention()(Input((3, 4)))
    with pytest.raises(ValueError, match=r"dims must order the sample axes 1..2"):
        L.Permute((1, 3))


def numpy_attention(query, value, key, scores_of, causal=False):
    """softmax(scores) value with the scores from ``scores_of(q_i, k_j)``, written as loops."""
    b, tq, tv = query.shape[0], query.shape[1], key.shape[1]
    scores = np.empty((b, tq, tv))
    for n in range(b):
        for i in range(tq):
            for j in range(tv):
                scores[n, i, j] = scores_of(query[n, i], key[n, j])
                if causal and j > i:
                    scores[n, i, j] = -np.inf
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ value


def test_concat_scores_follow_keras_test_values():
    query = np.array([[[1.0, 1.1, 1.2, 1.3], [2.0, 2.1, 2.2, 2.3]]])
    key = np.array([[[1.5, 1.6, 1.7, 1.8], [2.5, 2.6, 2.7, 2.8], [3.5, 3.6, 3.7, 3.8]]])
    layer = L.Attention(score_mode="concat")
    layer.build([query.shape, key.shape])
    scores = layer.scores(Tensor(query), Tensor(key)).data
    # Keras' own expected values (tanh sums over the four features)
    np.testing.assert_allclose(scores[0, 0], [3.96753427840, 3.99558784825, 3.99940254147])
    np.testing.assert_allclose(scores[0, 1, 0], 3.99558784825)


@pytest.mark.parametrize("kind", ["concat", "concat scaled", "additive", "additive plain"])
def test_additive_scores_attend_like_a_loop_and_their_gradients_check(kind, device):
    rng = np.random.default_rng(6)
    query, value, key = rng.standard_normal((3, 2, 4, 5))
    layer = {
        "concat": lambda: L.Attention(score_mode="concat"),
        "concat scaled": lambda: L.Attention(use_scale=True, score_mode="concat"),
        "additive": lambda: L.AdditiveAttention(),
        "additive plain": lambda: L.AdditiveAttention(use_scale=False),
    }[kind]()
    layer.to(device)
    layer.build([query.shape, value.shape, key.shape])
    weights = [rng.uniform(0.5, 1.5, w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    stored = [w.astype(np.float64) for w in layer.get_weights()]
    if kind.startswith("additive"):
        scale = stored[0] if stored else np.ones(5)
        assert [w.shape for w in stored] == ([(5,)] if stored else [])

        def score(q, k):
            return (scale * np.tanh(q + k)).sum()
    else:
        inner = stored[0] if kind == "concat scaled" else 1.0
        outer = stored[-1]

        def score(q, k):
            return outer * np.tanh(inner * (q + k)).sum()

    for causal in (False, True):
        on = [Tensor(backend.to_device(a, device)) for a in (query, value, key)]
        out = layer(*on, use_causal_mask=causal)
        expected = numpy_attention(query, value, key, score, causal)
        np.testing.assert_allclose(host(out), expected, rtol=1e-6)

    def run(q, v, k, *w):
        layer._weights = list(w)
        return layer.call([q, v, k], False)

    device_weights = [np.asarray(w, np.float64) for w in weights]
    check_gradients(run, query, value, key, *device_weights, device=device)


def assert_token_detector_learns_and_saves(attend, tmp_path, device):
    """A Transformer-style block with ``attend(embedded)`` as its attention finds the token
    in Keras' way (Embedding, residual, LayerNormalization, pooling); it saves and loads.
    The loaded model comes back."""
    x, y = contains_token()
    backend.set_random_seed(0)
    inputs = Input((6,))
    embedded = L.Embedding(4, 8)(inputs)
    pooled = L.GlobalMaxPooling1D()(L.LayerNormalization()(L.add([embedded, attend(embedded)])))
    model = Model(inputs, L.Dense(2, activation="softmax")(pooled), device=device)
    model.compile(optimizers.Adam(0.02), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=10, verbose=0)
    assert history.history["accuracy"][-1] > 0.95, history.history["accuracy"]
    model.save(tmp_path / "attention.minicnn")
    loaded = load_model(tmp_path / "attention.minicnn", device=device)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[2].get_config() == model.layers[2].get_config()
    return loaded


def test_additive_attention_learns_saves_and_loads(tmp_path, device):
    loaded = assert_token_detector_learns_and_saves(
        lambda e: L.AdditiveAttention(dropout=0.1)([e, e]), tmp_path, device
    )
    config = loaded.layers[2].get_config()
    assert config["use_scale"] is True and "score_mode" not in config


def keras_group_query_attention(query, value, weights, groups, causal):
    """Keras' GroupQueryAttention in its own einsums (NumPy, float64)."""
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    q = np.einsum("bqm,muh->bquh", query, wq) + bq
    k = np.repeat(np.einsum("bkm,mvh->bkvh", value, wk) + bk, groups, axis=2)
    v = np.repeat(np.einsum("bkm,mvh->bkvh", value, wv) + bv, groups, axis=2)
    scores = np.einsum("bquh,bkuh->buqk", q / np.sqrt(q.shape[-1]), k)
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[-2:])) > 0, scores, -np.inf)
    attention = np.exp(scores - scores.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    heads = np.einsum("buqk,bkuh->bquh", attention, v)
    return np.einsum("bquh,uhm->bqm", heads, wo) + bo


@pytest.mark.parametrize("shared", [1, 2, 6])
def test_group_query_attention_follows_keras_einsums(shared, device):
    rng = np.random.default_rng(7)
    query, value = rng.standard_normal((2, 2, 5, 8))
    layer = L.GroupQueryAttention(head_dim=4, num_query_heads=6, num_key_value_heads=shared)
    layer.to(device)
    layer.build([query.shape, value.shape])
    assert [w.shape for w in layer.weights][:4] == [(8, 6, 4), (6, 4), (8, shared, 4), (shared, 4)]
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.weights])
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    for causal in (False, True):
        out = layer(*(backend.to_device(a, device) for a in (query, value)), use_causal_mask=causal)
        expected = keras_group_query_attention(query, value, weights, 6 // shared, causal)
        np.testing.assert_allclose(host(out), expected, rtol=1e-5, atol=1e-6)

    def run(q, v, *w):
        layer._weights = list(w)
        return layer.call([q, v], False)

    check_gradients(run, query[:1], value[:1], *weights, device=device)


def test_group_query_attention_with_every_head_shared_is_multi_head_attention():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    grouped = L.GroupQueryAttention(4, 2, 2)
    multi = L.MultiHeadAttention(2, 4)
    grouped(x, x)
    multi(x, x)
    multi.set_weights(grouped.get_weights())
    np.testing.assert_allclose(grouped(x, x).data, multi(x, x).data, rtol=1e-6)
    config = grouped.get_config()
    assert config["num_key_value_heads"] == 2 and "num_heads" not in config
    assert L.GroupQueryAttention.from_config(config).get_config() == config
    with pytest.raises(ValueError, match=r"num_query_heads \(6\) must be a multiple of"):
        L.GroupQueryAttention(4, 6, 4)


def test_a_group_query_transformer_learns_and_saves(tmp_path, device):
    loaded = assert_token_detector_learns_and_saves(
        lambda e: L.GroupQueryAttention(4, 4, 2, dropout=0.1)(e, e), tmp_path, device
    )
    assert loaded.layers[2].get_config()["num_key_value_heads"] == 2


def _oracle_with_mask(query, value, weights, key_dim, keep, zero_hidden):
    """mha_oracle with Keras' attention mask ``keep`` (batch, Tq, Tk): hidden scores take
    -1e9; ``zero_hidden``: a query that sees no key gets no weights (Keras' Softmax layer)."""
    qk, qb, kk, kb, vk, vb, ok, ob = weights
    q = np.einsum("btd,dhk->bthk", query, qk) + qb
    k = np.einsum("btd,dhk->bthk", value, kk) + kb
    v = np.einsum("btd,dhk->bthk", value, vk) + vb
    scores = np.einsum("bshk,bthk->bhts", k, q / np.sqrt(key_dim))
    scores = np.where(keep[:, None], scores, scores - 1e9)
    attention = softmax(scores)
    if zero_hidden:
        attention = attention * keep[:, None].any(-1, keepdims=True)
    heads = np.einsum("bhts,bshk->bthk", attention, v)
    return np.einsum("bthk,hko->bto", heads, ok) + ob, attention


def test_attention_masks_given_to_a_call_as_keras_takes_them(device):
    """Keras' call arguments: attention_mask (batch, Tq, Tk), query_mask/value_mask, and
    return_attention_scores (the weights, a padded query's all zero as Keras' Softmax layer
    gives them); the output carries the query's mask, and the masks an Embedding attaches
    are read as these."""
    rng = np.random.default_rng(7)
    query, value = rng.standard_normal((3, 4, 6)), rng.standard_normal((3, 5, 6))
    layer = built_mha(device, [(4, 6), (5, 6)], num_heads=2, key_dim=3)
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    weights = layer.get_weights()
    query_mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], bool)
    value_mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], bool)
    keep = query_mask[:, :, None] & value_mask[:, None, :]
    q, v = (Tensor(backend.to_device(a, device)) for a in (query, value))

    got = layer(q, v, attention_mask=keep)
    expected, _ = _oracle_with_mask(query, value, weights, 3, keep, zero_hidden=False)
    np.testing.assert_allclose(host(got), expected, rtol=1e-5, atol=1e-5)
    # Keras 3.15 takes the query's mask from the query alone: a query_mask argument
    # changes nothing (its call replaces it by the one the query carries, here none).
    by_masks = layer(q, v, query_mask=query_mask, value_mask=value_mask)
    seen = np.ones_like(query_mask)[:, :, None] & value_mask[:, None, :]
    expected_seen, _ = _oracle_with_mask(query, value, weights, 3, seen, zero_hidden=False)
    np.testing.assert_allclose(host(by_masks), expected_seen, rtol=1e-5, atol=1e-5)
    assert getattr(by_masks, "_keras_mask", None) is None

    got, scores = layer(q, v, attention_mask=keep, return_attention_scores=True)
    expected, attention = _oracle_with_mask(query, value, weights, 3, keep, zero_hidden=True)
    np.testing.assert_allclose(host(got), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(scores), attention, rtol=1e-5, atol=1e-6)
    assert host(scores)[1, :, 1:].max() == 0.0  # padded queries: no weights

    causal = np.tril(np.ones((4, 5), bool))[None].repeat(3, axis=0)
    np.testing.assert_allclose(
        host(layer(q, v, attention_mask=causal)), host(layer(q, v, use_causal_mask=True))
    )


def test_attention_reads_the_masks_an_embedding_attaches_or_a_call_gives(device):
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 8]])
    embedding = L.Embedding(10, 4, mask_zero=True)
    embedding.to(device)
    x = embedding(backend.to_device(ids, device))
    dot = L.Attention()
    carried, weights = dot([x, x], return_attention_scores=True)
    plain = Tensor(x.data)  # the same values, no mask attached
    given = dot([plain, plain], mask=[ids != 0, ids != 0])
    np.testing.assert_allclose(host(carried), host(given))
    np.testing.assert_array_equal(host(carried._keras_mask), ids != 0)
    assert host(carried)[0, 2:].max() == 0.0  # Keras zeroes padded queries' results
    np.testing.assert_allclose(host(weights)[0, :, 2:], 0.0, atol=1e-7)  # padded keys
    np.testing.assert_allclose(host(weights).sum(-1), 1.0, rtol=1e-6)
    unmasked = dot([plain, plain])
    assert not np.allclose(host(unmasked), host(carried))


def test_bad_attention_mask_arguments_are_named():
    layer = L.MultiHeadAttention(2, 3)
    x = np.zeros((2, 4, 6), np.float32)
    with pytest.raises(TypeError, match=r"unexpected call arguments \['mask'\]"):
        layer(x, x, mask=[None, None])
    with pytest.raises(ValueError, match=r"attention_mask of shape \(2, 3, 4\) does not fit"):
        layer(x, x, attention_mask=np.ones((2, 3, 4), bool))
    with pytest.raises(TypeError, match="unexpected call arguments \\['query_mask'\\]"):
        L.Attention()([x, x], query_mask=np.ones((2, 4), bool))
    tokens = Input((4, 6))
    with pytest.raises(TypeError, match="come with the inputs"):
        layer(tokens, tokens, value_mask=np.ones((2, 4), bool))


def test_masked_attention_gradients_check_in_float64(device):
    rng = np.random.default_rng(9)
    query, value = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    mha = built_mha(device, [(3, 4), (5, 4)], num_heads=2, key_dim=2)
    params = [rng.standard_normal(w.shape) * 0.5 for w in mha.weights]
    masks = [
        backend.to_device(np.array([[1, 1, 0], [1, 1, 1]], bool), device),
        backend.to_device(np.array([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], bool), device),
    ]

    def run(q, v, *ws):
        mha._weights = list(ws)
        out, scores = mha.call([q, v], False, masks=masks, return_attention_scores=True)
        return out * 1.0 + (scores * 2.0).sum()

    check_gradients(run, query, value, *params, device=device)


def test_a_model_gives_attention_weights_and_saves_them(tmp_path):
    """return_attention_scores in a model's graph: two tensors, kept through save and
    load, the query's padding mask on the output only."""
    tokens = Input((5,), dtype="int32")
    x = L.Embedding(10, 6, mask_zero=True)(tokens)
    out, scores = L.MultiHeadAttention(2, 3)(x, x, return_attention_scores=True)
    pooled = L.GlobalAveragePooling1D()(out)
    model = Model(tokens, [pooled, scores])
    assert tuple(scores.shape) == (None, 2, 5, 5)
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    got_pooled, got_scores = model.predict(ids, verbose=0)
    assert got_scores.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(got_scores[0, :, :3].sum(-1), 1.0, rtol=1e-6)
    assert got_scores[0, :, 3:].max() == 0.0 and got_scores[0, :, :, 3:].max() < 1e-6
    model.summary(print_fn=lambda *a, **k: None)
    for path in (tmp_path / "scores.keras", tmp_path / "scores.h5"):
        model.save(path)
        again = load_model(path)
        for a, b in zip(again.predict(ids, verbose=0), (got_pooled, got_scores), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_an_attention_mask_input_of_a_graph_saves_and_refuses_onnx(tmp_path):
    """attention_mask as a tensor of a model's graph (an Input): the call takes it as its
    last input, and minicnn's and Keras' formats keep it; causal pairs give what
    use_causal_mask gives."""
    query, pairs = Input((4, 6)), Input((4, 4), dtype="bool")
    layer = L.MultiHeadAttention(2, 3)
    model = Model([query, pairs], layer(query, query, attention_mask=pairs))
    x = np.random.default_rng(4).standard_normal((2, 4, 6)).astype(np.float32)
    causal = np.tril(np.ones((4, 4), bool))[None].repeat(2, axis=0)
    got = model.predict([x, causal], verbose=0)
    np.testing.assert_allclose(got, host(layer(x, x, use_causal_mask=True)), rtol=1e-6)
    model.save(tmp_path / "given.keras")
    model.export(tmp_path / "keras_format.keras", format="keras")
    for path in ("given.keras", "keras_format.keras"):
        again = load_model(tmp_path / path)
        np.testing.assert_allclose(again.predict([x, causal], verbose=0), got, rtol=1e-6)
    with pytest.raises(TypeError, match="attention_mask must be a tensor of the graph"):
        layer(query, query, attention_mask=causal)
    tokens = Input((4, 6))
    out, _ = L.MultiHeadAttention(2, 3)(tokens, tokens, return_attention_scores=True)
    scored = Model(tokens, out)
    with pytest.raises(ValueError, match=r"called with \['return_attention_scores'\]"):
        scored.export(tmp_path / "scores.onnx", format="onnx")
