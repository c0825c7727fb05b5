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
    layer.build(shapes)
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
    dot.build([(3, 4), (5, 4)])

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


def contains_token(n=256, steps=6, seed=0):
    """Whether token 3 occurs in the sequence: attention finds it wherever it is."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, steps))
    hits = rng.random(n) < 0.5
    x[hits, rng.integers(0, steps, hits.sum())] = 3
    return x, (x == 3).any(axis=1).astype(np.int64)


def transformer(device="cpu"):
    inputs = Input((6,))
    x = L.Embedding(4, 8)(inputs)
    attended = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(x, x)
    x = L.LayerNormalization()(L.add([x, attended]))
    x = L.GlobalMaxPooling1D()(x)
    return Model(inputs, L.Dense(2, activation="softmax")(x), device=device)


def test_a_small_transformer_learns_and_saves(tmp_path, device):
    x, y = contains_token()
    backend.set_random_seed(0)
    model = transformer(device)
    model.compile(optimizers.Adam(0.02), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=10, verbose=0)
    assert history.history["accuracy"][-1] > 0.95, history.history["accuracy"]
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[2].get_config() == model.layers[2].get_config()


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
        L.MultiHeadAttention(2, 4)(Input((4, 4, 1)), Input((4, 4, 1)))
    with pytest.raises(ValueError, match="score_mode 'concat' is not available"):
        L.Attention(score_mode="concat")
    with pytest.raises(TypeError, match="needs a query and a value"):
        L.Attention()(Input((3, 4)))
    with pytest.raises(ValueError, match=r"dims must order the sample axes 1..2"):
        L.Permute((1, 3))
