"""Keras' ReversibleEmbedding: ids to vectors, and with ``reverse=True`` vectors back to
logits over the vocabulary by the table's transpose (tied) or a matrix of its own, soft
capped where asked. Keras 3's own file of one is in tests/keras_files (language_model)."""

import numpy as np
import pytest
from gradcheck import check_gradients
from onnx_reader import read_model, run

import minicnn
from minicnn import backend
from minicnn import layers as L
from minicnn.autograd import Tensor

RNG = np.random.default_rng(41)


def language_model(tie_weights=True, logit_soft_cap=None, mask_zero=False):
    ids = minicnn.Input((5,), dtype="int64")
    embedding = L.ReversibleEmbedding(
        20, 8, tie_weights=tie_weights, logit_soft_cap=logit_soft_cap, mask_zero=mask_zero
    )
    hidden = L.Dense(8, activation="tanh")(embedding(ids))
    model = minicnn.Model(ids, embedding(hidden, reverse=True))
    for weight in model.weights:
        weight.data[...] = RNG.standard_normal(weight.shape).astype(np.float32) * 0.5
    return model, embedding


@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("cap", [None, 3.0])
def test_the_reverse_call_projects_back_to_the_vocabulary(tie_weights, cap):
    model, embedding = language_model(tie_weights, cap)
    ids = RNG.integers(0, 20, (4, 5))
    table, *rest = embedding.get_weights()
    kernel, bias = model.layers[2].get_weights()
    logits = np.tanh(table[ids] @ kernel + bias) @ (table.T if tie_weights else rest[0])
    if cap is not None:
        logits = np.tanh(logits / cap) * cap
    np.testing.assert_allclose(model.predict(ids, verbose=0), logits, rtol=1e-5, atol=1e-6)
    names = [w.name for w in embedding.weights]
    assert names == (["embeddings"] if tie_weights else ["embeddings", "reverse_embeddings"])
    assert embedding.get_config()["tie_weights"] is tie_weights


def test_reverse_call_gradients_reach_the_table_from_both_calls(device):
    embedding = L.ReversibleEmbedding(6, 4, logit_soft_cap=2.0)
    embedding.to(device)
    embedding.build((3,))
    ids = Tensor(backend.to_device(np.array([[0, 3, 5], [2, 2, 1]], np.float64), device))

    def tied(table, scale):
        embedding._weights = [table]
        return embedding.call(embedding.call(ids, False) * scale, False, reverse=True)

    table = RNG.standard_normal((6, 4))
    check_gradients(tied, table, RNG.standard_normal((1, 1, 4)), device=device)
    untied = L.ReversibleEmbedding(6, 4, tie_weights=False)
    untied.to(device)
    untied.build((3,))

    def projected(hidden, reverse_kernel):
        untied._weights = [Tensor(backend.to_device(table, device)), reverse_kernel]
        return untied.call(hidden, False, reverse=True)

    check_gradients(
        projected, RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 6)), device=device
    )


def test_summary_shows_both_calls_and_the_last_calls_shape(monkeypatch):
    from summary_table import table_rows

    monkeypatch.setenv("COLUMNS", "200")
    model, _ = language_model()
    text = []
    model.summary(print_fn=text.append)
    row = next(r for r in table_rows(text[0]) if "(ReversibleEmbedding)" in r[0])
    assert row[1] == "(None, 5, 20)" and "input_layer[0][0]" in row[3]
    assert "Connected to" in "\n".join(text)


def test_padding_masks_the_lookup_and_not_the_logits():
    """mask_zero marks id 0 as padding for the layers after the lookup; the reverse call's
    logits carry no mask (Keras' compute_mask gives None), so the loss counts every step."""
    ids = minicnn.Input((5,), dtype="int64")
    embedding = L.ReversibleEmbedding(20, 8, mask_zero=True)
    hidden = L.LSTM(8, return_sequences=True)(embedding(ids))
    model = minicnn.Model(ids, embedding(hidden, reverse=True))
    x = RNG.integers(1, 20, (2, 5))
    x[0, 3:] = 0
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(out[0, 3], out[0, 2], rtol=1e-6)  # masked steps repeat
    assert embedding.compute_mask(Tensor(x), None, reverse=True) is None
    assert embedding.compute_mask(Tensor(x), None).tolist() == (x != 0).tolist()


def test_a_language_model_trains_its_tied_table():
    model, embedding = language_model()
    before = embedding.get_weights()[0].copy()
    ids = RNG.integers(0, 20, (32, 5))
    model.compile("adam", minicnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ids, ids, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.array_equal(embedding.get_weights()[0], before)


@pytest.mark.parametrize("tie_weights", [True, False])
def test_files_keep_the_reverse_call(tie_weights, tmp_path):
    """minicnn's file, Keras 3's (the reverse call's kwargs on its node; Keras 3.15 read
    these with the same predictions) and ONNX (a MatMul by the transposed table, Tanh for
    the cap; ONNX Runtime agreed to 4e-7)."""
    model, _ = language_model(tie_weights, logit_soft_cap=3.0)
    ids = RNG.integers(0, 20, (3, 5))
    expected = model.predict(ids, verbose=0)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(
        minicnn.load_model(tmp_path / "m.keras").predict(ids, verbose=0), expected
    )
    model.export(tmp_path / "k.keras", format="keras")
    np.testing.assert_array_equal(
        minicnn.load_model(tmp_path / "k.keras").predict(ids, verbose=0), expected
    )
    model.export(tmp_path / "m.onnx", format="onnx")
    np.testing.assert_allclose(run(read_model(str(tmp_path / "m.onnx")), ids), expected, atol=1e-5)


def test_bad_calls_and_arguments_are_named():
    embedding = L.ReversibleEmbedding(20, 8)
    hidden = minicnn.Input((5, 7))
    with pytest.raises(ValueError, match="output_dim = 8 values; got shape"):
        embedding(hidden, reverse=True)
    with pytest.raises(TypeError, match=r"unexpected call arguments \['backwards'\]"):
        embedding(minicnn.Input((5,)), backwards=True)
    with pytest.raises(ValueError, match="float32 only"):
        L.ReversibleEmbedding(20, 8, reverse_dtype="bfloat16")
    with pytest.raises(ValueError, match="logit_soft_cap must be positive"):
        L.ReversibleEmbedding(20, 8, logit_soft_cap=0)
    model, embedding = language_model()
    embedding.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        embedding.quantize("int8")


def _int8_rows(x):
    """Keras' AbsMaxQuantizer along the last axis: int8 values and their scales."""
    scale = 127.0 / np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-7)
    return np.clip(np.round(x * scale), -127, 127), scale


@pytest.mark.parametrize("tie_weights", [True, False])
def test_int8_reverse_calls_multiply_int8_values_as_keras(tie_weights, tmp_path):
    """Keras 3.15's own int8 model of both kinds is in tests/keras_files
    (quantized_language_model): minicnn predicts it to 5e-7."""
    model, embedding = language_model(tie_weights, logit_soft_cap=3.0)
    ids = RNG.integers(0, 20, (4, 5))
    float_logits = model.predict(ids, verbose=0)
    model.quantize("int8")
    names = [w.name for w in embedding.weights]
    expected_names = ["embeddings", "embeddings_scale"]
    if not tie_weights:  # Keras' order
        expected_names += ["reverse_embeddings", "reverse_embeddings_scale"]
    assert names == expected_names and embedding.trainable_weights == []
    table, table_scale, *reverse = embedding.get_weights()
    assert table.dtype == np.int8 and np.abs(table).max() == 127
    # The int8 Dense before it has its own tests: its output is taken as it is.
    hidden = minicnn.Model(model.inputs, model.layers[2].output).predict(ids, verbose=0)
    x_q, x_scale = _int8_rows(hidden)
    if tie_weights:
        matrix, scale = table.T.astype(np.float64), table_scale
    else:
        matrix, scale = reverse[0].astype(np.float64), reverse[1]
    logits = x_q @ matrix / (x_scale * scale)
    logits = np.tanh(logits / 3.0) * 3.0
    np.testing.assert_allclose(model.predict(ids, verbose=0), logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(ids, verbose=0), float_logits, atol=0.05)
    model.save(tmp_path / "q.minicnn")
    again = minicnn.load_model(tmp_path / "q.minicnn")
    np.testing.assert_array_equal(again.predict(ids, verbose=0), model.predict(ids, verbose=0))
