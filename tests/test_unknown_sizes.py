"""Inputs with unknown (None) sizes, as Keras' ``Input((None, None, 3))`` and
``Input((None,), dtype="int32")``: a layer built for them gives, on samples of each size, what
the same layer (the same weights) built for that size gives; output shapes carry None where the
size follows the input's; models train, predict on several sizes, save and load; a layer that
needs a size for its weights says so."""

import numpy as np
import pytest

from minicnn import Input, Model, Sequential, load_model, ops
from minicnn import layers as L

# name: (make the layer, the sample shape with None sizes, two sample shapes that fit it)
CASES = {
    "Conv1D causal": (lambda: L.Conv1D(4, 3, padding="causal"), (None, 3), [(9, 3), (14, 3)]),
    "Conv2D strided": (lambda: L.Conv2D(4, 3, strides=2), (None, None, 2), [(9, 9, 2), (12, 7, 2)]),
    "Conv3D": (lambda: L.Conv3D(2, 2), (None, 4, None, 1), [(3, 4, 5, 1), (6, 4, 2, 1)]),
    "Conv2DTranspose": (
        lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same"),
        (None, None, 2),
        [(4, 5, 2), (7, 3, 2)],
    ),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3), (None, None, 3), [(5, 6, 3), (8, 4, 3)]),
    "SeparableConv2D": (
        lambda: L.SeparableConv2D(4, 3, padding="same"),
        (None, None, 3),
        [(5, 6, 3), (8, 4, 3)],
    ),
    "MaxPooling2D": (lambda: L.MaxPooling2D(2), (None, None, 2), [(6, 6, 2), (9, 5, 2)]),
    "AveragePooling1D same": (
        lambda: L.AveragePooling1D(3, padding="same"),
        (None, 2),
        [(7, 2), (10, 2)],
    ),
    "GlobalMaxPooling2D": (lambda: L.GlobalMaxPooling2D(), (None, None, 3), [(3, 4, 3), (6, 2, 3)]),
    "UpSampling2D": (lambda: L.UpSampling2D(2), (None, None, 2), [(3, 4, 2), (5, 2, 2)]),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(1), (None, None, 2), [(3, 4, 2), (5, 2, 2)]),
    "Cropping1D": (lambda: L.Cropping1D((1, 2)), (None, 3), [(6, 3), (9, 3)]),
    "BatchNormalization": (lambda: L.BatchNormalization(), (None, None, 3), [(3, 4, 3), (5, 2, 3)]),
    "LayerNormalization": (lambda: L.LayerNormalization(), (None, 4), [(3, 4), (7, 4)]),
    "GroupNormalization": (lambda: L.GroupNormalization(2), (None, 4), [(3, 4), (7, 4)]),
    "Dense on the last axis": (lambda: L.Dense(3), (None, 4), [(2, 4), (5, 4)]),
    "Softmax": (lambda: L.Softmax(), (3, None), [(3, 2), (3, 6)]),
    "LSTM": (lambda: L.LSTM(3, return_sequences=True), (None, 4), [(5, 4), (8, 4)]),
    "GRU last": (lambda: L.GRU(3), (None, 4), [(5, 4), (8, 4)]),
    "Bidirectional": (lambda: L.Bidirectional(L.SimpleRNN(2)), (None, 3), [(4, 3), (7, 3)]),
    "TimeDistributed": (lambda: L.TimeDistributed(L.Dense(2)), (None, 3), [(4, 3), (7, 3)]),
    "MultiHeadAttention": (
        lambda: _SelfAttention(L.MultiHeadAttention(2, 3)),
        (None, 4),
        [(3, 4), (6, 4)],
    ),
    "Reshape with -1": (lambda: L.Reshape((-1, 2)), (None, 4), [(3, 4), (5, 4)]),
    "Permute": (lambda: L.Permute((2, 1)), (None, 3), [(4, 3), (6, 3)]),
    "Rescaling": (lambda: L.Rescaling(0.5, 1.0), (None, None, 3), [(2, 3, 3), (4, 5, 3)]),
    "AdaptiveAveragePooling2D": (
        lambda: L.AdaptiveAveragePooling2D((2, 2)),
        (None, None, 2),
        [(4, 6, 2), (7, 5, 2)],
    ),
}


class _SelfAttention(L.Layer):
    def __init__(self, attention, **kwargs):
        super().__init__(**kwargs)
        self.attention = attention

    def call(self, x):
        return self.attention(x, x)


def _data(shape, seed):
    return np.random.default_rng(seed).standard_normal((2, *shape)).astype(np.float32)


@pytest.mark.parametrize("case", list(CASES))
def test_a_layer_built_for_unknown_sizes_gives_what_it_gives_built_for_each(case, device):
    make, unknown, sizes = CASES[case]
    layer = make()
    model = Model(x := Input(unknown), layer(x)).to(device)
    declared = model.output_shape
    for seed, shape in enumerate(sizes):
        twin = make()
        fixed = Model(y := Input(shape), twin(y)).to(device)
        fixed.set_weights(model.get_weights())
        data = _data(shape, seed)
        got = model.predict(data, verbose=0)
        np.testing.assert_allclose(got, fixed.predict(data, verbose=0), rtol=1e-5, atol=1e-6)
        assert len(declared) == got.ndim and declared[0] is None
        assert all(d is None or d == g for d, g in zip(declared, got.shape, strict=True))
    assert None in declared[1:] or case.startswith(("Global", "Adaptive", "GRU", "Bidirectional"))


def test_a_text_model_of_unknown_length_trains_on_each_length_and_reloads(tmp_path):
    ids = Input((None,), dtype="int32")
    hidden = L.LSTM(6)(L.Embedding(40, 8, mask_zero=True)(ids))
    model = Model(ids, L.Dense(2, activation="softmax")(hidden))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    for steps in (6, 11):
        tokens = rng.integers(1, 40, (48, steps))
        labels = (tokens[:, 0] >= 20).astype(np.int64)
        history = model.fit(tokens, labels, epochs=3, batch_size=16, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "text.keras")
    loaded = load_model(tmp_path / "text.keras")
    assert loaded.input_shape == (None, None)
    np.testing.assert_allclose(
        loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0), rtol=1e-6
    )


def test_a_fully_convolutional_sequential_model_takes_any_image_size():
    model = Sequential(
        [
            Input((None, None, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(3, 1),
        ]
    )
    assert model.output_shape == (None, None, None, 3)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 8, 8, 1)), np.zeros((4, 4, 4, 3)), epochs=1, verbose=0)
    assert model.predict(np.ones((1, 10, 6, 1)), verbose=0).shape == (1, 5, 3, 3)


def test_ops_and_merges_on_unknown_sizes():
    a, b = Input((None, 3)), Input((None, 3))
    total = L.Add()([a, b])
    mean = ops.mean(total, axis=1)
    both = ops.concatenate([a, b], axis=1)
    assert (total.shape, mean.shape, both.shape) == ((None, None, 3), (None, 3), (None, None, 3))
    model = Model([a, b], [mean, both])
    x, y = _data((5, 3), 1), _data((5, 3), 2)
    got_mean, got_both = model.predict([x, y], verbose=0)
    np.testing.assert_allclose(got_mean, (x + y).mean(axis=1), rtol=1e-5)
    assert got_both.shape == (2, 10, 3)


def test_what_needs_a_size_says_so():
    with pytest.raises(ValueError, match="needs the size of every axis"):
        L.Dense(2)(L.Flatten()(Input((None, 3))))
    with pytest.raises(ValueError, match="needs the size of every axis"):
        L.Conv2D(2, 3)(Input((8, 8, None)))
    model = Model(x := Input((None, 3)), L.Dense(2)(x))
    with pytest.raises(ValueError, match=r"expects input of shape \(None, None, 3\)"):
        model.predict(np.ones((2, 5, 4)), verbose=0)
    with pytest.raises(ValueError, match="positive ints or None"):
        Input((0, None))


def test_build_takes_kerass_batch_shapes():
    model = Sequential([L.Dense(3), L.Dense(2)])
    model.build((None, 4))  # Keras' form: the batch first
    assert model.input_shape == (None, 4) and model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    images = Sequential([L.Conv2D(3, 3), L.GlobalAveragePooling2D()])
    images.build((None, None, None, 3))
    assert images.sample_output_shape == (3,)
    assert images.predict(np.ones((2, 9, 7, 3)), verbose=0).shape == (2, 3)
    batch = Sequential([L.Dense(2)])
    batch.build((32, 5))  # a batch's size first, as in Keras, and not a sample's shape
    assert batch.input_shape == (32, 5) and batch.count_params() == 12  # Keras keeps 32
    with pytest.raises(ValueError, match="the shape of a batch"):
        batch.build(())


class FullyConvolutional(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = L.Conv2D(4, 3, padding="same")
        self.pool = L.MaxPooling2D()
        self.head = L.Conv2D(2, 1)

    def call(self, x):
        return self.head(self.pool(self.conv(x)))


def test_a_subclassed_model_built_for_unknown_sizes():
    model = FullyConvolutional()
    assert model.name.startswith("fully_convolutional")  # Keras names it after its class
    model.build((None, None, None, 3))
    assert model.output_shape == (None, None, None, 2)
    assert [layer.sample_output_shape for layer in model.layers] == [
        (None, None, 4),
        (None, None, 4),
        (None, None, 2),
    ]
    assert model.predict(np.ones((1, 10, 6, 3)), verbose=0).shape == (1, 5, 3, 2)
