"""Keras' weight names and paths ("dense/kernel", "batch_normalization/moving_mean") and
weight attributes (``dense.kernel``, ``embedding.embeddings``): each layer's own names, the
optional ones left out as Keras leaves them, a user's add_weight names, LoRA's, and the same
names on a model loaded from a file."""

import numpy as np
import pytest

from minicnn import Input, Sequential, load_model
from minicnn import layers as L


def paths(model):
    return [w.path for w in model.weights]


def test_builtin_layers_name_their_weights_as_keras():
    model = Sequential(
        [
            Input((6, 8)),
            L.Conv1D(4, 3, name="conv"),
            L.LSTM(5, return_sequences=True, name="lstm"),
            L.LayerNormalization(name="ln"),
            L.Flatten(),
            L.Dense(3, use_bias=False, name="head"),
            L.BatchNormalization(scale=False, name="bn"),
        ]
    )
    assert paths(model) == [
        "conv/kernel",
        "conv/bias",
        "lstm/kernel",
        "lstm/recurrent_kernel",
        "lstm/bias",
        "ln/gamma",
        "ln/beta",
        "head/kernel",
        "bn/beta",
        "bn/moving_mean",
        "bn/moving_variance",
    ]
    images = Sequential(
        [
            Input((8, 8, 3)),
            L.SeparableConv2D(4, 3, name="sep"),
            L.DepthwiseConv2D(3, name="dw"),
            L.PReLU(name="prelu"),
            L.Conv2DTranspose(2, 2, name="up"),
        ]
    )
    assert paths(images) == [
        "sep/depthwise_kernel",
        "sep/pointwise_kernel",
        "sep/bias",
        "dw/kernel",
        "dw/bias",
        "prelu/alpha",
        "up/kernel",
        "up/bias",
    ]
    words = Sequential(
        [Input((5,)), L.Embedding(10, 4, name="emb"), L.RMSNormalization(name="rms")]
    )
    assert paths(words) == ["emb/embeddings", "rms/scale"]
    attention = L.Attention(use_scale=True, score_mode="concat", name="att")
    attention([Input((3, 4)), Input((3, 4))])
    assert [w.path for w in attention.weights] == ["att/scale", "att/concat_score_weight"]
    heads = L.MultiHeadAttention(2, 4, use_bias=False, name="mha")
    heads([Input((3, 5)), Input((3, 5))])
    assert [w.path for w in heads.weights] == [
        "mha/query/kernel",
        "mha/key/kernel",
        "mha/value/kernel",
        "mha/attention_output/kernel",
    ]
    assert {w.name for w in heads.weights} == {"kernel"}


def test_weights_are_attributes_and_missing_ones_are_named():
    dense = L.Dense(3)
    dense.build((None, 4))
    assert dense.kernel is dense.weights[0] and dense.bias.shape == (3,)
    norm = L.BatchNormalization()
    norm.build((None, 2))
    assert norm.moving_variance.name == "moving_variance"
    with pytest.raises(AttributeError, match="'Dense' object has no attribute 'gamma'"):
        _ = dense.gamma
    adapted = L.Normalization()
    adapted.adapt(np.ones((4, 2), np.float32))
    assert [w.name for w in adapted.weights] == ["mean", "variance", "count"]
    assert adapted.count.data == 4


class Scaled(L.Layer):
    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1],), "ones", name="w")
        self.offset = self.add_weight((), "zeros")

    def call(self, x):
        return x * self.w + self.offset


def test_user_weights_lora_and_a_loaded_model_keep_their_names(tmp_path):
    layer = Scaled(name="scaled")
    model = Sequential([Input((4,)), layer, L.Dense(2, name="out")])
    assert paths(model) == ["scaled/w", "scaled/variable", "out/kernel", "out/bias"]
    model.layers[-1].enable_lora(2)
    assert paths(model)[-2:] == ["out/lora_kernel_a", "out/lora_kernel_b"]
    plain = Sequential([Input((4,)), L.Dense(3, name="d"), L.BatchNormalization(name="b")])
    plain.save(tmp_path / "m.minicnn")
    assert paths(load_model(tmp_path / "m.minicnn")) == paths(plain)


def test_weights_assign_in_place_as_keras_variables(device):
    model = Sequential([Input((3,)), L.Dense(2, name="d")]).to(device)
    dense = model.layers[0]
    kernel_array = dense.kernel.data
    dense.kernel.assign(np.ones((3, 2)))
    dense.bias.assign(np.zeros(2))
    dense.bias.assign_add([0.5, 1.0])
    dense.bias.assign_sub(np.array([0.5, 0.0]))
    assert dense.kernel.data is kernel_array  # the same array, written in place
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), [[6.0, 7.0]])
    with pytest.raises(ValueError, match=r"the value has shape \(2,\); this tensor has \(3, 2\)"):
        dense.kernel.assign(np.ones(2))
