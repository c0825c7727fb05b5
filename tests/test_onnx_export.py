"""``export(format="onnx")``: the file read back by an independent protobuf reader and
run by a NumPy interpreter of ONNX's operators (tests/onnx_reader.py) predicts what minicnn
predicts. ONNX Runtime 1.32 and onnx 1.23's ``checker.check_model(full_check=True)``
accepted these models and the study's 19, with predictions equal to 6e-8 (neither
is installed in CI; where ONNX Runtime is, this test runs it too)."""

import numpy as np
import pytest
from onnx_reader import read_model, run

from minicnn import Input, Model, Sequential, set_random_seed
from minicnn import layers as L

RNG = np.random.default_rng(0)


def cnn():
    return Sequential(
        [
            Input((10, 10, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(6, 3, activation="relu"),
            L.MaxPooling2D(padding="same"),
            L.Flatten(),
            L.Dropout(0.3),
            L.Dense(5, activation="softmax"),
        ]
    )


def graph():
    i = Input((9, 9, 3))
    a = L.Conv2D(4, 3, strides=2, padding="same")(i)
    a = L.BatchNormalization()(a)
    a = L.Activation("swish")(a)
    b = L.ZeroPadding2D(((1, 0), (0, 1)))(i)
    b = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu6")(b)
    b = L.AveragePooling2D(3, strides=2, padding="same")(b)
    c = L.Concatenate()([a, L.Conv2D(4, 1, dilation_rate=1)(b)])
    d = L.Add()([L.GlobalAveragePooling2D()(c), L.GlobalMaxPooling2D()(c)])
    e = L.Dense(3, activation="tanh")(L.Rescaling(0.5, 0.1)(d))
    return Model(i, L.Softmax()(e))


def sequence():
    return Sequential(
        [
            Input((6, 5)),
            L.Dense(4, activation="elu"),
            L.Reshape((4, 6)),
            L.Dense(2),
            L.Flatten(),
            L.Dense(3, activation="sigmoid"),
        ]
    )


def steps():
    return Sequential(
        [
            Input((12, 3)),
            L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"),
            L.MaxPooling1D(2, padding="same"),
            L.Conv1D(5, 3, strides=2, padding="same"),
            L.AveragePooling1D(2),
            L.LayerNormalization(),
            L.GlobalAveragePooling1D(),
            L.Dense(2),
        ]
    )


def upsampling():
    return Sequential(
        [
            Input((3, 4, 2)),
            L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu"),
            L.Conv2DTranspose(2, 2, strides=3, padding="same"),
            L.Conv2DTranspose(2, 3, strides=2),
            L.UpSampling2D((2, 1)),
            L.Cropping2D(((1, 2), (3, 0))),
            L.LeakyReLU(0.1),
            L.Permute((2, 1, 3)),
        ]
    )


def per_step():
    return Sequential(
        [
            Input((4, 6, 6, 1)),
            L.TimeDistributed(L.Conv2D(2, 3, activation="relu")),
            L.TimeDistributed(L.GlobalAveragePooling2D()),
            L.LSTM(3),
        ]
    )


def tokens():
    return Sequential(
        [
            Input((7,)),
            L.Embedding(11, 4),
            L.Conv1D(3, 2),
            L.GlobalMaxPooling1D(),
            L.Dense(2, activation="softmax"),
        ]
    )


def recurrent():
    return Sequential(
        [
            Input((6, 3)),
            L.LSTM(4, return_sequences=True),
            L.GRU(4, return_sequences=True),
            L.SimpleRNN(3, return_sequences=True, activation="relu"),
            L.GRU(3, reset_after=False, go_backwards=True),
            L.Dense(2),
        ]
    )


def dot_attention():
    """Keras' Attention (dot scores, a learned scale, causal too) on one input's tensors."""
    steps = Input((4, 3))
    query = L.Dense(3)(steps)
    attended = L.Attention(use_scale=True)([query, steps])
    again = L.Attention()([attended, attended], use_causal_mask=True)
    return Model(steps, L.Dense(2)(L.GlobalAveragePooling1D()(again)))


def transformer():
    """A causal self-attention block, then cross-attention to the embeddings."""
    tokens = Input((6,))
    embedded = L.Embedding(20, 8)(tokens)
    attended = L.MultiHeadAttention(2, 4, value_dim=3)(embedded, embedded, use_causal_mask=True)
    h = L.LayerNormalization()(L.Add()([embedded, attended]))
    h = L.LayerNormalization()(L.Add()([h, L.Dense(8)(L.Dense(16, activation="gelu")(h))]))
    crossed = L.MultiHeadAttention(3, 2)(h, embedded, embedded)
    return Model(tokens, L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(crossed)))


def encoder_decoder():
    """A decoder LSTM started from its encoder's states, and a GRU from another's h."""
    steps = Input((5, 3))
    _, h, c = L.LSTM(4, return_state=True)(steps)
    decoded = L.LSTM(4, return_sequences=True)(steps, initial_state=[h, c])
    _, g = L.GRU(4, return_state=True)(decoded)
    again = L.GRU(4, go_backwards=True)(decoded, initial_state=[g])
    return Model(steps, L.Dense(2)(again))


def vision_tokens():
    """ViT's input: patches, a class token before them, learned position embeddings, an
    attention block, the class token's output."""
    images = Input((8, 8, 3))
    patches = L.Reshape((4, 48))(L.Conv2D(48, 4, strides=4)(images))
    joined = L.ClassToken(initializer="random_normal")(patches)
    placed = L.Add()([joined, L.PositionEmbedding(5)(joined)])
    attended = L.MultiHeadAttention(2, 4)(placed, placed)
    return Model(images, L.Dense(3)(L.LayerNormalization()(attended)[:, 0]))


def separable():
    normalize = L.Normalization()
    normalize.adapt(RNG.random((20, 6, 6, 3)) * 4)
    return Sequential(
        [
            Input((6, 6, 3)),
            normalize,
            L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", activation="relu"),
            L.GroupNormalization(2),
            L.SeparableConv2D(2, 2, strides=2),
            L.Flatten(),
        ]
    )


def both_ways():
    return Sequential(
        [
            Input((5, 2)),
            L.Bidirectional(L.LSTM(3, return_sequences=True)),
            L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="ave"),
            L.Bidirectional(L.GRU(2), merge_mode="sum"),
            L.Dense(2),
        ]
    )


def volumes():
    return Sequential(
        [
            Input((5, 6, 4, 2)),
            L.Conv3D(3, 3, padding="same", activation="relu"),
            L.MaxPooling3D(2),
            L.Conv3D(2, 2, strides=(1, 2, 1)),
            L.AveragePooling3D(2, padding="same"),
            L.Flatten(),
        ]
    )


def resizing():
    return Sequential(
        [
            Input((7, 5, 2)),
            L.Resizing(4, 9),
            L.UpSampling2D(2, interpolation="bilinear"),
            L.Resizing(11, 6, interpolation="nearest"),
            L.Resizing(4, 13, interpolation="nearest"),
        ]
    )


def channels_first():
    """The same layers on (batch, channels, ...) inputs, as PyTorch lays them out."""
    first = "channels_first"
    return Sequential(
        [
            Input((3, 8, 7)),
            L.Conv2D(4, 3, padding="same", activation="relu", data_format=first),
            L.BatchNormalization(axis=1),
            L.MaxPooling2D(data_format=first),
            L.ZeroPadding2D(1, data_format=first),
            L.DepthwiseConv2D(2, data_format=first),
            L.UpSampling2D(2, data_format=first),
            L.AveragePooling2D(padding="same", data_format=first),
            L.Flatten(data_format=first),
            L.Dense(3),
        ]
    )


def nested():
    """Augmentation (identities in inference) and a base model, nested in a functional
    model."""
    augment = Sequential(
        [Input((8, 8, 3)), L.RandomFlip(), L.RandomRotation(0.1), L.Rescaling(1 / 255)]
    )
    base = Sequential(
        [Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"), L.GlobalAveragePooling2D()]
    )
    images = Input((8, 8, 3))
    return Model(images, L.Dense(2)(base(augment(images))))


def application_pieces():
    """What Keras' applications add: ReLU(6), hard sigmoid and hard swish (MobileNetV3),
    LayerScale (ConvNeXt), CustomScaleLayer (InceptionResNetV2) and ops on tensors."""
    images = Input((6, 6, 3))
    x = L.Conv2D(4, 3, padding="same", activation="hard_silu")(images)
    x = L.ReLU(6.0)(x * 3.0)
    y = L.Activation("hard_sigmoid")(L.Conv2D(4, 1)(images))
    x = L.CustomScaleLayer(0.3)([x, 2.0 - y])
    x = L.LayerScale(0.5, 4)(x + y)
    return Model(images, L.Dense(2)(L.GlobalAveragePooling2D()(x)))


@pytest.mark.parametrize(
    "make",
    [
        application_pieces,
        dot_attention,
        per_step,
        nested,
        channels_first,
        cnn,
        graph,
        sequence,
        steps,
        upsampling,
        tokens,
        recurrent,
        transformer,
        vision_tokens,
        encoder_decoder,
        separable,
        both_ways,
        volumes,
        resizing,
    ],
)
def test_onnx_export_predicts_as_minicnn(make, tmp_path):
    set_random_seed(0)
    model = make()
    for layer in model.layers:  # batch statistics off their starting values
        if type(layer).__name__ == "BatchNormalization":
            layer.moving_mean.data[...] = RNG.standard_normal(layer.moving_mean.shape)
            layer.moving_variance.data[...] = RNG.random(layer.moving_variance.shape) + 0.5
    x = RNG.random((2, *model.input_shape[1:])).astype(np.float32)
    if make in (tokens, transformer):
        x = RNG.integers(0, 11, x.shape).astype(np.float32)
    for layer in model.layers:  # weights off their starting values (zero biases, ones)
        for w in layer.weights:
            if type(layer).__name__ in ("LayerNormalization", "GroupNormalization") or (
                w.name in ("bias", "scale")
            ):
                w.data[...] = RNG.standard_normal(w.shape) * 0.5
    model.export(tmp_path / "m.onnx", format="onnx")
    onnx = read_model(str(tmp_path / "m.onnx"))
    assert onnx["opsets"] == [("", 13)] and onnx["ir_version"] == 8
    assert onnx["inputs"] == ["input"]
    np.testing.assert_allclose(run(onnx, x), model.predict(x, verbose=0), atol=1e-5)
    try:
        import onnxruntime
    except ImportError:
        return
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_onnx_export_refuses_what_it_cannot_write(tmp_path):
    stateful = Sequential([Input((4, 3), batch_size=2), L.LSTM(2, stateful=True)])
    with pytest.raises(ValueError, match=r"\(LSTM\) is stateful"):
        stateful.export(tmp_path / "r.onnx", format="onnx")
    cropped = Sequential([Input((6, 6, 1)), L.RandomCrop(4, 4)])  # it crops in inference too
    with pytest.raises(ValueError, match=r"\(RandomCrop\) has no ONNX form here"):
        cropped.export(tmp_path / "v.onnx", format="onnx")
    assert not (tmp_path / "r.onnx").exists()
    two = Input((3,)), Input((3,))
    with pytest.raises(ValueError, match="one input and one output"):
        Model(list(two), L.Add()(list(two))).export(tmp_path / "t.onnx", format="onnx")
    with pytest.raises(ValueError, match="format must be 'keras'.*or 'onnx'"):
        cnn().export(tmp_path / "m.x", format="tf_saved_model")


def test_onnx_export_merges_lora_and_refuses_masks_and_quantized_layers(tmp_path):
    """A LoRA layer's kernel goes merged (W + scale A B), as Keras saves it; what ONNX's
    form here cannot hold is refused by name, not written wrong."""
    model = Sequential([Input((4,)), L.Dense(3, lora_rank=2)])
    lora_b = model.layers[0].weights[-1]
    lora_b.data[...] = RNG.standard_normal(lora_b.shape)  # (B starts at zeros)
    x = RNG.random((2, 4)).astype(np.float32)
    model.export(tmp_path / "lora.onnx", format="onnx")
    np.testing.assert_allclose(
        run(read_model(str(tmp_path / "lora.onnx")), x), model.predict(x, verbose=0), atol=1e-5
    )
    masked = Sequential([Input((4,)), L.Embedding(5, 2, mask_zero=True), L.LSTM(2)])
    with pytest.raises(ValueError, match=r"masks padding \(mask_zero=True\)"):
        masked.export(tmp_path / "m.onnx", format="onnx")
    quantized = Sequential([Input((4,)), L.Dense(3)])
    quantized.quantize("int8")
    with pytest.raises(ValueError, match=r"is quantized \(int8\)"):
        quantized.export(tmp_path / "q.onnx", format="onnx")


def test_onnx_export_of_recurrent_layers_backwards_and_with_their_states(tmp_path):
    """go_backwards with return_sequences (Keras' steps last first) and return_state (the
    output and the last states, which SelectOutput layers pick)."""
    set_random_seed(0)
    steps = Input((5, 3))
    backwards = L.LSTM(4, go_backwards=True, return_sequences=True)(steps)
    output, last, cell = L.LSTM(2, return_state=True)(backwards)
    model = Model(steps, L.Concatenate()([output, last, cell]))
    model.export(tmp_path / "r.onnx", format="onnx")
    x = RNG.random((2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        run(read_model(str(tmp_path / "r.onnx")), x), model.predict(x, verbose=0), atol=1e-5
    )


def test_a_python_number_compared_with_a_tensor_takes_the_tensors_type(tmp_path):
    """ONNX's Greater and Equal want both inputs of one type (ONNX Runtime refuses the file
    otherwise): a Python number beside a float32 tensor is written float32, beside an int64
    one int64 (token ids == 3), and an integer Input is an integer input of the file."""
    from minicnn import ops
    from minicnn.onnx_import import load_onnx
    from minicnn.onnx_reading import read_onnx

    x = Input((6,))
    y = x * ops.cast(ops.greater(x, 0), "float32") + ops.cast(ops.less(x, 1), "float32")
    ids = Input((6,), dtype="int64")
    mask = ops.cast(ops.equal(ids, 3), "float32")
    for model, dtype in [(Model(x, y), np.float32), (Model(ids, mask), np.int64)]:
        model.export(tmp_path / "c.onnx", format="onnx")
        onnx = read_model(str(tmp_path / "c.onnx"))
        compared = [n for n in onnx["nodes"] if n["op"] in ("Greater", "Less", "Equal")]
        assert compared
        for node in compared:
            assert onnx["initializers"][node["inputs"][1]].dtype == dtype
        assert read_onnx(tmp_path / "c.onnx").inputs[0][2] == np.dtype(dtype).name
        a = RNG.integers(0, 5, (3, 6)).astype(dtype)
        again = load_onnx(tmp_path / "c.onnx").predict(a, verbose=0)
        np.testing.assert_array_equal(again, model.predict(a, verbose=0))
