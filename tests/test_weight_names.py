"""Keras' weight names and paths ("dense/kernel", "batch_normalization/moving_mean") and
weight attributes (``dense.kernel``, ``embedding.embeddings``): each layer's own names, the
optional ones left out as Keras leaves them, a user's add_weight names, LoRA's, and the same
names on a model loaded from a file."""

import numpy as np
import pytest

from minicnn import Input, Model, Sequential, Variable, clear_session, load_model, name_scope, ops
from minicnn import layers as L

RNN = ("kernel", "recurrent_kernel", "bias")


def paths(model):
    return [w.path for w in model.weights]


def test_builtin_layers_name_their_weights_as_keras():
    """Keras 3.15's paths: under the Sequential's name (its scope is open while it builds
    its layers), a recurrent layer's under its cell's."""
    model = Sequential(
        [
            Input((6, 8)),
            L.Conv1D(4, 3, name="conv"),
            L.LSTM(5, return_sequences=True, name="lstm"),
            L.LayerNormalization(name="ln"),
            L.Flatten(),
            L.Dense(3, use_bias=False, name="head"),
            L.BatchNormalization(scale=False, name="bn"),
        ],
        name="seq",
    )
    assert paths(model) == [
        "seq/conv/kernel",
        "seq/conv/bias",
        "seq/lstm/lstm_cell/kernel",
        "seq/lstm/lstm_cell/recurrent_kernel",
        "seq/lstm/lstm_cell/bias",
        "seq/ln/gamma",
        "seq/ln/beta",
        "seq/head/kernel",
        "seq/bn/beta",
        "seq/bn/moving_mean",
        "seq/bn/moving_variance",
    ]
    assert [w.name for w in model.layers[1].weights] == ["kernel", "recurrent_kernel", "bias"]
    images = Sequential(
        [
            Input((8, 8, 3)),
            L.SeparableConv2D(4, 3, name="sep"),
            L.DepthwiseConv2D(3, name="dw"),
            L.PReLU(name="prelu"),
            L.Conv2DTranspose(2, 2, name="up"),
        ],
        name="images",
    )
    assert paths(images) == [
        "images/sep/depthwise_kernel",
        "images/sep/pointwise_kernel",
        "images/sep/bias",
        "images/dw/kernel",
        "images/dw/bias",
        "images/prelu/alpha",
        "images/up/kernel",
        "images/up/bias",
    ]
    words = Sequential(
        [Input((5,)), L.Embedding(10, 4, name="emb"), L.RMSNormalization(name="rms")],
        name="words",
    )
    assert paths(words) == ["words/emb/embeddings", "words/rms/scale"]
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


class Encoder(L.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        self.rnn = L.Bidirectional(L.GRU(3), name="bi")
        self.cells = L.RNN([L.LSTMCell(2), L.SimpleRNNCell(2)], name="cells")

    def call(self, x):
        return ops.concatenate([self.rnn(x), self.cells(x)], -1) * self.scale


class Net(Model):
    def __init__(self):
        super().__init__(name="net")
        self.enc = Encoder(name="enc")
        self.head = L.Dense(1, name="head")

    def call(self, x):
        return self.head(self.enc(x))


def test_layers_built_inside_others_sit_under_them_as_in_keras():
    """A subclassed model's and a user's layer's sublayers, built in their call, have paths
    under theirs; a weight made in __init__ sits where its layer was made (Keras 3.15)."""
    net = Net()
    net(np.ones((2, 4, 3), np.float32))
    cells = "net/enc/cells/stacked_rnn_cells"
    assert paths(net) == [
        "enc/scale",
        *(f"net/enc/bi/{side}_gru/gru_cell/{n}" for side in ("forward", "backward") for n in RNN),
        *(f"{cells}/lstm_cell/{n}" for n in RNN),
        *(f"{cells}/simple_rnn_cell/{n}" for n in RNN),
        "net/head/kernel",
        "net/head/bias",
    ]
    assert repr(net.weights[-1]) == (
        "<Variable path=net/head/bias, shape=(1,), dtype=float32, value=[0.]>"
    )
    with name_scope("outer"):
        variable = Variable(np.zeros(2), name="v")
        dense = L.Dense(2, name="d")
        dense.build((None, 3))
    assert variable.path == "outer/v" and paths(dense) == ["outer/d/kernel", "outer/d/bias"]
    with pytest.raises(ValueError, match="without '/'"):
        name_scope("a/b")


def test_a_model_read_from_a_keras_file_has_its_layers_paths_without_its_scope(tmp_path):
    """Keras builds each layer of a model it loads on its own, before the model: their
    paths have no model scope. (A model file of minicnn's keeps the paths it had, so that
    a map of optimizers by path finds the same weights after loading.)"""
    inner = Sequential([Input((5,)), L.Dense(3, name="in_d")], name="inner")
    assert paths(inner) == ["inner/in_d/kernel", "inner/in_d/bias"]
    inputs = Input((5,))
    outer = Model(inputs, L.Dense(2, name="out_d")(inner(inputs)), name="outer")
    outer.export(tmp_path / "outer.keras", format="keras")  # Keras' own archive
    assert paths(load_model(tmp_path / "outer.keras")) == [
        "in_d/kernel",
        "in_d/bias",
        "out_d/kernel",
        "out_d/bias",
    ]
    inner.save(tmp_path / "inner.minicnn")
    assert paths(load_model(tmp_path / "inner.minicnn")) == paths(inner)


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
    clear_session()  # Keras' unnamed weights are "variable", "variable_1", ... across layers
    layer = Scaled(name="scaled")
    model = Sequential([Input((4,)), layer, L.Dense(2, name="out")], name="s2")
    assert paths(model) == ["s2/scaled/w", "s2/scaled/variable", "s2/out/kernel", "s2/out/bias"]
    model.layers[-1].enable_lora(2)
    assert paths(model)[-2:] == ["s2/out/lora_kernel_a", "s2/out/lora_kernel_b"]
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


def test_a_keras_written_file_gives_the_paths_keras_gives_it():
    pytest.importorskip("h5py")
    from pathlib import Path

    loaded = load_model(Path(__file__).parent / "keras_files" / "recurrent.keras", compile=False)
    assert paths(loaded) == [  # keras.saving.load_model's, Keras 3.15
        "embedding/embeddings",
        *(f"{side}_lstm/lstm_cell/{n}" for side in ("forward", "backward") for n in RNN),
        *(f"gru/gru_cell/{n}" for n in RNN),
        "dense_2/kernel",
        "dense_2/bias",
    ]
