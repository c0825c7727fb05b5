"""Conv1D and the 1-D pooling layers against naive loops over steps (written here
independently) and float64 finite differences, on the CPU and the (emulated) GPU; shapes,
configs and errors as in Keras."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradients

from minicnn import Sequential, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor


def naive_conv1d(x, kernel, bias, stride, padding, dilation):
    """out[b, t, f] = bias[f] + sum_k sum_c x[b, t*stride + k*dilation - pad, c] kernel[k, c, f]."""
    n, steps, c = x.shape
    k, _, f = kernel.shape
    span = (k - 1) * dilation + 1
    if padding == "causal":
        pad, out_steps = span - 1, -(-steps // stride)
    elif padding == "same":
        out_steps = -(-steps // stride)
        pad = max((out_steps - 1) * stride + span - steps, 0) // 2
    else:
        pad, out_steps = 0, (steps - span) // stride + 1
    out = np.zeros((n, out_steps, f))
    for b in range(n):
        for t in range(out_steps):
            for j in range(k):
                s = t * stride + j * dilation - pad
                if 0 <= s < steps:
                    out[b, t] += x[b, s] @ kernel[j]
    return out + bias


def built(layer, input_shape, device):
    layer.device = device
    layer.build((None, *input_shape))  # Keras' shape: the batch first
    return layer


CASES = [  # kernel, stride, padding, dilation
    (3, 1, "valid", 1),
    (3, 2, "same", 1),
    (4, 1, "same", 1),
    (3, 1, "causal", 1),
    (2, 1, "causal", 3),
    (3, 3, "valid", 1),
]


@pytest.mark.parametrize("k, stride, padding, dilation", CASES)
def test_conv1d_matches_naive_loops_and_finite_differences(device, k, stride, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 3))
    layer = built(
        L.Conv1D(4, k, strides=stride, padding=padding, dilation_rate=dilation), (9, 3), device
    )
    kernel = rng.standard_normal((k, 3, 4))
    bias = rng.standard_normal(4)
    layer.set_weights([kernel, bias])
    expected = naive_conv1d(x, kernel, bias, stride, padding, dilation)
    assert layer.sample_output_shape == expected.shape[1:]
    out = layer(Tensor(backend.to_device(x.astype(np.float32), device)))
    np.testing.assert_allclose(backend.to_numpy(out.data), expected, rtol=1e-4, atol=1e-4)

    def conv(xt, wt, bt):
        saved = list(layer._weights)
        layer._weights = [wt, bt]
        try:
            return layer.transform(xt)
        finally:
            layer._weights = saved

    check_gradients(conv, x, kernel, bias, device=device)


def test_causal_conv1d_never_looks_ahead():
    layer = built(L.Conv1D(1, 3, padding="causal"), (8, 1), "cpu")
    x = np.zeros((1, 8, 1), np.float32)
    x[0, 5, 0] = 1.0  # an impulse at step 5 reaches only steps 5, 6 and 7
    out = layer(Tensor(x)).data[0, :, 0] - layer.get_weights()[1][0]
    assert np.all(out[:5] == 0) and np.all(out[5:] != 0)


@pytest.mark.parametrize("pool, cls", [(np.max, L.MaxPooling1D), (np.mean, L.AveragePooling1D)])
def test_pooling1d_matches_naive_windows(device, pool, cls):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 3))
    layer = built(cls(pool_size=3, strides=2), (9, 3), device)
    expected = np.stack([pool(x[:, t * 2 : t * 2 + 3], axis=1) for t in range(4)], axis=1)
    assert layer.sample_output_shape == (4, 3)
    out = layer(Tensor(backend.to_device(x, device)))
    np.testing.assert_allclose(backend.to_numpy(out.data), expected, rtol=1e-12)
    check_gradients(
        lambda t: layer(t), x + np.arange(x.size).reshape(x.shape) * 1e-3, device=device
    )


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling1d(device, keepdims):
    x = np.random.default_rng(2).standard_normal((2, 5, 3))
    for cls, pool in ((L.GlobalAveragePooling1D, np.mean), (L.GlobalMaxPooling1D, np.max)):
        layer = built(cls(keepdims=keepdims), (5, 3), device)
        out = backend.to_numpy(layer(Tensor(backend.to_device(x, device))).data)
        np.testing.assert_allclose(out, pool(x, axis=1, keepdims=keepdims), rtol=1e-12)
        assert layer.sample_output_shape == ((1, 3) if keepdims else (3,))


def test_a_1d_model_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 64)
    x = rng.standard_normal((64, 20, 2)).astype(np.float32) * 0.3
    x[y == 1, 8:12, 0] += 1.5  # class 1 has a bump
    backend.set_random_seed(0)
    model = Sequential(
        [
            L.Input((20, 2)),
            L.Conv1D(8, 3, padding="causal", activation="relu"),
            L.MaxPooling1D(),
            L.Conv1D(8, 3, activation="relu"),
            L.GlobalAveragePooling1D(),
            L.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert model.layers[0].get_weights()[0].shape == (3, 2, 8)  # Keras' kernel layout
    path = tmp_path / "m.npz"
    model.save(path)
    np.testing.assert_allclose(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_1d_layers_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, steps, channels\)"):
        Sequential([L.Input((8, 8, 1)), L.Conv1D(2, 3)])
    with pytest.raises(ValueError, match="padding must be one of"):
        L.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="does not fit its 2 steps"):
        Sequential([L.Input((2, 1)), L.Conv1D(2, 3)])
    with pytest.raises(ValueError, match="strides > 1 together with dilation_rate > 1"):
        L.Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding must be one of"):
        L.MaxPooling1D(padding="causal")


def test_embedding_looks_up_rows_and_adds_up_their_gradients(device):
    from minicnn.sequence_layers import EmbeddingLookup

    rng = np.random.default_rng(4)
    table = rng.standard_normal((6, 3))
    ids = np.array([[0, 5, 5, 2], [2, 2, 1, 0]], np.float64)  # repeated ids add up
    layer = built(L.Embedding(6, 3), (4,), device)
    layer.set_weights([table])
    assert layer.sample_output_shape == (4, 3)
    out = layer(Tensor(backend.to_device(ids.astype(np.float32), device)))
    np.testing.assert_allclose(backend.to_numpy(out.data), table[ids.astype(int)], rtol=1e-6)
    ids_on_device = Tensor(backend.to_device(ids, device))
    check_gradients(lambda t: EmbeddingLookup("e")(ids_on_device, t), table, device=device)


def test_embedding_refuses_ids_out_of_range_or_not_integers_on_the_cpu():
    layer = built(L.Embedding(4, 2), (3,), "cpu")
    for bad, shown in (([[0, 4, 1]], "4.0"), ([[0, -1, 1]], "-1.0"), ([[0, 1.5, 1]], "1.5")):
        with pytest.raises(ValueError, match=rf"ids must be integers in \[0, 4\); got {shown}"):
            layer(Tensor(np.array(bad, np.float32)))


def test_a_text_cnn_trains_saves_and_loads(tmp_path):
    """Keras' text classifier: Embedding, Conv1D, GlobalMaxPooling1D, Dense."""
    rng = np.random.default_rng(5)
    x = rng.integers(1, 50, (96, 12))
    y = rng.integers(0, 2, 96)
    x[y == 1, rng.integers(0, 12, int((y == 1).sum()))] = 0  # class 1 holds token 0
    backend.set_random_seed(0)
    model = Sequential(
        [
            L.Input((12,)),
            L.Embedding(50, 8),
            L.Conv1D(8, 3, activation="relu"),
            L.GlobalMaxPooling1D(),
            L.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=40, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert model.count_params() == 50 * 8 + (3 * 8 * 8 + 8) + (8 * 2 + 2)
    path = tmp_path / "m.npz"
    model.save(path)
    np.testing.assert_allclose(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_pad_sequences_follows_keras_docstring():
    from minicnn.utils import pad_sequences

    sequences = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(sequences), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(
        pad_sequences(sequences, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]
    )
    np.testing.assert_array_equal(
        pad_sequences(sequences, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    )
    np.testing.assert_array_equal(pad_sequences(sequences, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    cut = pad_sequences(sequences, maxlen=2, truncating="post")
    np.testing.assert_array_equal(cut, [[0, 1], [2, 3], [4, 5]])
    assert pad_sequences(sequences).dtype == np.int32


def test_one_dimensional_shape_layers_match_numpy_and_their_gradients_check(device):
    from test_layers import check_layer_gradients

    x = np.random.default_rng(9).standard_normal((2, 5, 3))
    cases = [
        (L.ZeroPadding1D((1, 2)), np.pad(x, ((0, 0), (1, 2), (0, 0)))),
        (L.Cropping1D((2, 1)), x[:, 2:4]),
        (L.UpSampling1D(3), np.repeat(x, 3, axis=1)),
    ]
    for layer, expected in cases:
        layer.to(device)
        got = backend.to_numpy(layer(backend.to_device(x, device)).data)
        np.testing.assert_array_equal(got, expected)
        check_layer_gradients(type(layer).from_config(layer.get_config()), x, device=device)
    dropped = backend.to_numpy(
        L.SpatialDropout1D(0.5)(backend.to_device(np.ones((64, 4, 6)), device), training=True).data
    )
    assert (dropped == dropped[:, :1]).all() and set(np.unique(dropped)) == {0.0, 2.0}
    with pytest.raises(ValueError, match=r"cropping \(3, 3\) leaves no step"):
        Sequential([L.Input((5, 2)), L.Cropping1D(3)])
    with pytest.raises(ValueError, match=r"padding must be an int or a \(start, end\) pair"):
        L.ZeroPadding1D((1, 2, 3))
