"""Keras' LoRA on Dense and Embedding: lora_rank (or enable_lora on a built layer) freezes
the matrix W and trains A and B, the layer computing with W + (alpha / rank) A B; B starts
at zero. Checked: Keras' weight order and trainability, the formula, float64 gradients on
every device, fine-tuning that leaves W alone, saving, and the errors Keras gives."""

import numpy as np
import pytest
from test_layers import check_layer_gradients

from minicnn import Input, Sequential, load_model, optimizers
from minicnn import layers as L


def test_dense_lora_weights_formula_and_training(device, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.standard_normal((32, 3)).astype(np.float32)
    dense = L.Dense(3, lora_rank=2, lora_alpha=4.0)
    model = Sequential([Input((6,)), dense]).to(device)
    kernel, bias, a, b = dense.get_weights()
    assert [w.shape for w in (kernel, bias, a, b)] == [(6, 3), (3,), (6, 2), (2, 3)]
    assert not b.any()  # the layer starts as it was
    assert [w.name for w in dense.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    assert len(dense.non_trainable_weights) == 1 and model.count_params() == 18 + 3 + 12 + 6
    model.compile(optimizers.Adam(0.05), "mse")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    kernel_after, bias_after, a_after, b_after = dense.get_weights()
    np.testing.assert_array_equal(kernel_after, kernel)  # frozen
    assert b_after.any() and not np.allclose(a_after, a)
    expected = x @ (kernel_after + 2.0 * a_after @ b_after) + bias_after  # alpha / rank = 2
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[0].get_config()["lora_rank"] == 2
    check_layer_gradients(
        L.Dense(3, lora_rank=2, activation="relu"), x[:4].astype(np.float64), device=device
    )


def test_enable_lora_fine_tunes_a_trained_model():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.int64)[:, 0]
    model = Sequential(
        [Input((5,)), L.Dense(8, activation="relu"), L.Dense(2, activation="softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    before = model.predict(x, verbose=0)
    frozen = model.layers[0].get_weights()[0]
    model.layers[0].enable_lora(4)
    np.testing.assert_allclose(model.predict(x, verbose=0), before, rtol=1e-6)
    model.compile("adam", "sparse_categorical_crossentropy")  # as in Keras: compile again
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], frozen)
    assert model.layers[0].get_config()["lora_alpha"] == 4.0
    with pytest.raises(ValueError, match="LoRA is already enabled"):
        model.layers[0].enable_lora(2)
    with pytest.raises(ValueError, match="not built yet"):
        L.Dense(2).enable_lora(2)
    with pytest.raises(ValueError, match="incompatible with a kernel constraint"):
        Sequential([Input((3,)), L.Dense(2, kernel_constraint="non_neg", lora_rank=1)])


def test_embedding_lora(device):
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 10, (16, 4))
    layer = L.Embedding(10, 3, lora_rank=2)
    model = Sequential([Input((4,)), layer, L.Flatten(), L.Dense(1)]).to(device)
    names = [w.name for w in layer.weights[1:]]
    assert (
        names == ["lora_embeddings_a", "lora_embeddings_b"] and not layer.weights[0].requires_grad
    )
    model.compile(optimizers.Adam(0.05), "mse")
    table = layer.get_weights()[0]
    model.fit(ids, rng.standard_normal((16, 1)), epochs=2, verbose=0)
    table_after, a, b = layer.get_weights()
    np.testing.assert_array_equal(table_after, table)
    adapted = table + a @ b  # alpha defaults to the rank
    flat = adapted[ids].reshape(16, -1)
    dense_kernel, dense_bias = model.layers[2].get_weights()
    np.testing.assert_allclose(
        model.predict(ids, verbose=0), flat @ dense_kernel + dense_bias, rtol=1e-5, atol=1e-5
    )


def test_the_kernel_regularizer_covers_the_lora_matrices():
    layer = L.Dense(2, kernel_regularizer="l2", lora_rank=1)
    Sequential([Input((3,)), layer])
    assert len(layer.losses) == 3  # the kernel's, A's and B's, as Keras adds them


def test_a_lora_step_is_captured_in_a_cuda_graph_and_trains_the_same(gpu):
    from test_graph_step import assert_captured_trains_like_plain

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    assert_captured_trains_like_plain(
        lambda: [
            Input((6,)),
            L.Dense(8, activation="relu", lora_rank=2),
            L.Dense(3, activation="softmax"),
        ],
        x,
        y,
        loss="sparse_categorical_crossentropy",
    )
