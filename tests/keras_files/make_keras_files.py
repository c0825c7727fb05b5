"""Writes the Keras model files that tests/test_keras_files.py reads: each model saved by
Keras itself (``model.save("name.keras")``), with an input and Keras' own predictions
(``name.npz``). Run it where Keras 3 and a backend are installed (Keras is not a dependency
of minicnn; the files are kept in the repository):

    KERAS_BACKEND=jax python tests/keras_files/make_keras_files.py
"""

import json
import os
import sys
import tempfile

import keras
import numpy as np
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def cnn():
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ],
        name="cnn",
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.random((16, 28, 28, 1)).astype("float32")
    model.fit(x, rng.integers(0, 10, 16), epochs=1, verbose=0)
    return model, x[:3]


def functional():
    inputs = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    a = layers.DepthwiseConv2D(3, padding="same")(x)
    b = layers.SeparableConv2D(8, 3, padding="same", activation="tanh")(x)
    x = layers.Add()([a, b])
    c = layers.Conv2D(4, 1, strides=2)(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Concatenate()([x, c])
    x = layers.LayerNormalization()(x)
    x = layers.Activation("gelu")(x)
    pooled = layers.GlobalAveragePooling2D()(x)
    classes = layers.Dense(5, activation="softmax", name="classes")(pooled)
    score = layers.Dense(1, name="score")(layers.Dense(6, activation="elu")(pooled))
    model = keras.Model(inputs, [classes, score], name="branches")
    model.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    x = rng.random((8, 16, 16, 3)).astype("float32")
    model.fit(x, [rng.integers(0, 5, 8), rng.random((8, 1))], epochs=2, verbose=0)
    return model, x[:3]


def recurrent():
    model = keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            layers.Embedding(20, 6, mask_zero=True),
            layers.Bidirectional(layers.LSTM(5, return_sequences=True)),
            layers.GRU(4),
            layers.Dense(2),
        ],
        name="recurrent",
    )
    x = rng.integers(1, 20, (4, 7)).astype("int32")
    x[0, 5:] = 0  # padding, masked
    return model, x


def attention():
    inputs = keras.Input((6, 8))
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    x = layers.LayerNormalization()(layers.Add()([inputs, attended]))
    x = layers.Conv1D(4, 3, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    model = keras.Model(inputs, layers.Dense(3)(x), name="attention")
    return model, rng.random((3, 6, 8)).astype("float32")


def nested():
    inner = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)], name="inner")
    inputs = keras.Input((5,))
    model = keras.Model(inputs, layers.Dense(2)(inner(inputs)), name="outer")
    x = rng.random((4, 5)).astype("float32")
    model.save_weights(os.path.join(HERE, "nested.weights.h5"))
    return model, x


def image_zoo():
    """Many of Keras' image layers in one graph."""
    inputs = keras.Input((12, 12, 3))
    x = layers.Rescaling(1 / 2.0, offset=-0.25)(inputs)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.Conv2D(6, 3, dilation_rate=2, kernel_regularizer="l2")(x)
    x = layers.PReLU()(x)
    x = layers.GroupNormalization(groups=3)(x)
    up = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="swish")(x)
    up = layers.MaxPooling2D(3, strides=2, padding="same")(up)
    down = layers.Cropping2D(((0, 0), (0, 0)))(layers.LeakyReLU(0.1)(x))
    down = layers.Conv2D(4, 1)(down)
    x = layers.Multiply()([up, down])
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Resizing(6, 6)(x)
    x = layers.SpatialDropout2D(0.3)(x)
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((36, 4))(x)
    x = layers.Conv1D(3, 5, strides=2, padding="causal")(x)
    x = layers.UnitNormalization()(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Maximum()([layers.Dense(5, activation="selu")(x), layers.Dense(5)(x)])
    model = keras.Model(inputs, layers.Softmax()(x), name="image_zoo")
    return model, rng.random((3, 12, 12, 3)).astype("float32")


def sequence_zoo():
    """Keras' sequence layers: recurrent cells, TimeDistributed, Dot, RepeatVector."""
    tokens = keras.Input((6,), dtype="int32")
    values = keras.Input((6, 3))
    e = layers.Embedding(15, 4)(tokens)
    x = layers.Concatenate()([e, values])
    x = layers.SimpleRNN(5, return_sequences=True, go_backwards=True)(x)
    x = layers.TimeDistributed(layers.Dense(4, activation="tanh"))(x)
    y = layers.LSTM(4, return_sequences=True, unit_forget_bias=False)(x)
    y = layers.GRU(4, return_sequences=True)(y)
    d = layers.Dot(axes=(2, 2), normalize=True)([x, y])
    pooled = layers.GlobalMaxPooling1D()(d)
    r = layers.RepeatVector(2)(pooled)
    out = layers.Flatten()(layers.Conv1D(2, 1, activation="sigmoid")(r))
    model = keras.Model([tokens, values], out, name="sequence_zoo")
    x = [rng.integers(0, 15, (3, 6)).astype("int32"), rng.random((3, 6, 3)).astype("float32")]
    return model, x


def masked_sequences():
    """Masked steps of returned sequences: Bidirectional's zeros, a plain LSTM's last output
    repeated (Keras' zero_output_for_mask)."""
    tokens = keras.Input((5,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(tokens)
    both = layers.Bidirectional(layers.GRU(3, return_sequences=True))(e)
    plain = layers.LSTM(2, return_sequences=True)(e)
    model = keras.Model(tokens, [both, plain], name="masked_sequences")
    x = rng.integers(1, 10, (3, 5)).astype("int32")
    x[0, 3:] = 0
    x[1, 4:] = 0
    return model, x


def gru_reset_before():
    """Keras 2's GRU (reset_after=False), with recurrent dropout in its config."""
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.GRU(4, reset_after=False, return_sequences=True, recurrent_dropout=0.1),
            layers.GRU(2, reset_after=False, go_backwards=True),
        ],
        name="gru_reset_before",
    )
    return model, rng.random((3, 5, 3)).astype("float32")


def quantized():
    """Keras' int8 quantization of Dense and Embedding layers, and a LoRA Dense (Keras
    saves its kernel merged)."""
    tokens = keras.Input((4,), dtype="int32")
    x = layers.Flatten()(layers.Embedding(12, 3)(tokens))
    x = layers.Dense(6, activation="relu")(x)
    model = keras.Model(tokens, layers.Dense(3)(x), name="quantized")
    model.quantize("int8")
    adapted = layers.Dense(2, lora_rank=2)
    out = adapted(model.output)
    adapted.lora_kernel_b.assign(rng.normal(size=(2, 2)).astype("float32"))
    model = keras.Model(model.input, out, name="quantized")
    return model, rng.integers(0, 12, (3, 4)).astype("int32")


def language_model():
    """Keras' ReversibleEmbedding: a tied table (ids 0 masked) read back as the output
    projection, its reverse call taking a later layer's output; an untied one with a soft
    cap on its logits."""
    tokens = keras.Input((6,), dtype="int32")
    tied = layers.ReversibleEmbedding(30, 8, mask_zero=True)
    hidden = layers.LSTM(8, return_sequences=True)(tied(tokens))
    untied = layers.ReversibleEmbedding(30, 8, tie_weights=False, logit_soft_cap=2.0)
    mixed = layers.Add()([untied(tokens), hidden])
    logits = layers.Add()([tied(hidden, reverse=True), untied(mixed, reverse=True)])
    model = keras.Model(tokens, logits, name="language_model")
    for weight in model.weights:  # off the small uniform start, so the logits differ
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    ids = rng.integers(1, 30, (3, 6)).astype("int32")
    ids[0, 4:] = 0  # padding
    return model, ids


def mixed_precision():
    """A model made under the global policy "mixed_float16": compile wraps Adam in a
    LossScaleOptimizer, whose state the file keeps. Its twin in float32 (the same config and
    weights) gives the outputs minicnn must match (Keras' own are float16's)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                layers.Conv2D(4, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dense(3),
                layers.Activation("softmax", dtype="float32"),
            ],
            name="mixed",
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        x = rng.random((16, 8, 8, 1)).astype("float32")
        model.fit(x, np.arange(16) % 3, batch_size=8, epochs=2, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    twin = keras.Sequential.from_config(
        json.loads(json.dumps(model.get_config()).replace("mixed_float16", "float32"))
    )
    twin.set_weights(model.get_weights())
    model.float32_outputs = twin.predict(x[:3], verbose=0)
    return model, x[:3]


def quantized_language_model():
    """ReversibleEmbedding quantized to int8 by Keras, tied and untied: the reverse calls
    multiply int8 inputs by the int8 table (or reverse matrix) and divide both scales out."""
    tokens = keras.Input((6,), dtype="int32")
    tied = layers.ReversibleEmbedding(30, 8)
    untied = layers.ReversibleEmbedding(30, 8, tie_weights=False, logit_soft_cap=2.0)
    hidden = layers.Dense(8, activation="tanh")(tied(tokens))
    logits = layers.Add()([tied(hidden, reverse=True), untied(untied(tokens), reverse=True)])
    model = keras.Model(tokens, logits, name="quantized_language_model")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    model.quantize("int8")
    return model, rng.integers(0, 30, (3, 6)).astype("int32")


def quantized_int4():
    """Keras' int4 quantization (weights only, two values to a byte): an Embedding in blocks
    of 16 features (its 40 in three, the last padded with zeros), a Dense over 160 inputs in
    Keras' default blocks of 128 (the second padded), and one with a scale per unit (block
    size -1) and an odd number of units."""
    tokens = keras.Input((4,), dtype="int32")
    embedding = layers.Embedding(12, 40)
    x = layers.Dense(7, activation="relu", name="blocks")(layers.Flatten()(embedding(tokens)))
    model = keras.Model(tokens, layers.Dense(5, name="per_unit")(x), name="quantized_int4")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    config = keras.quantizers.Int4QuantizationConfig
    embedding.quantize("int4", config=config(block_size=16))
    model.quantize("int4", filters="blocks")
    model.quantize(config=config(block_size=-1), filters="per_unit")
    return model, rng.integers(0, 12, (3, 4)).astype("int32")


def quantized_int4_language_model():
    """ReversibleEmbedding quantized to int4 by Keras (weights only): tied in blocks of 4,
    untied with a scale per id, untied in blocks of 4 (the reverse matrix two to a byte
    along its first axis, its zero points float32)."""
    tokens = keras.Input((6,), dtype="int32")
    config = keras.quantizers.Int4QuantizationConfig
    tied = layers.ReversibleEmbedding(30, 10, name="tied")
    per_id = layers.ReversibleEmbedding(30, 10, tie_weights=False, name="per_id")
    blocks = layers.ReversibleEmbedding(30, 10, tie_weights=False, name="blocks")
    hidden = layers.Dense(10, activation="tanh")(tied(tokens))
    logits = layers.Add()(
        [
            tied(hidden, reverse=True),
            per_id(per_id(tokens), reverse=True),
            blocks(layers.Add()([blocks(tokens), hidden]), reverse=True),
        ]
    )
    model = keras.Model(tokens, logits, name="quantized_int4_language_model")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    tied.quantize("int4", config=config(block_size=4))
    per_id.quantize("int4", config=config(block_size=-1))
    blocks.quantize("int4", config=config(block_size=4))
    return model, rng.integers(0, 30, (3, 6)).astype("int32")


def quantized_lora():
    """LoRA on quantized layers: an int4 Embedding (a scale per row), an int4 Dense in
    blocks of 16 and an int8 Dense, A and B off their start. Keras saves each matrix merged
    with A B and quantized again (new scales), so the file alone does not give the live
    model's outputs: quantized_lora_live.npz keeps the input, those outputs and each
    layer's live weights in Keras' file order, A and B last."""
    tokens = keras.Input((3,), dtype="int32")
    table = layers.Embedding(10, 12, name="table")
    x = layers.Dense(6, activation="relu", name="blocks")(layers.Flatten()(table(tokens)))
    model = keras.Model(tokens, layers.Dense(4, name="int8")(x), name="quantized_lora")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    config = keras.quantizers.Int4QuantizationConfig
    table.quantize("int4", config=config(block_size=-1))
    model.get_layer("blocks").quantize("int4", config=config(block_size=16))
    model.get_layer("int8").quantize("int8")
    save_live(model, rng.integers(0, 10, (3, 3)).astype("int32"))


def quantized_einsum_lora():
    """LoRA on quantized EinsumDense layers (A has every kernel axis but the last): int8
    into heads, int4 in blocks of 4 out of them; saved merged and quantized again, as in
    quantized_lora."""
    inputs = keras.Input((4, 6))
    x = layers.EinsumDense("abc,cde->abde", (4, 2, 3), bias_axes="de", name="int8")(inputs)
    out = layers.EinsumDense("abcd,cde->abe", (4, 5), name="blocks")(x)
    model = keras.Model(inputs, out, name="quantized_einsum_lora")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    model.get_layer("int8").quantize("int8")
    config = keras.quantizers.Int4QuantizationConfig(block_size=4)
    model.get_layer("blocks").quantize("int4", config=config)
    save_live(model, rng.normal(size=(3, 4, 6)).astype("float32"))


def save_live(model, x):
    """A quantized model given LoRA (A and B off their start) saved as ``model.name``.keras,
    with ``model.name``_live.npz: the input, the live model's outputs and each layer's live
    weights in Keras' file order, A and B last (the file has them merged)."""
    live = {}
    for layer in model.layers[1:]:
        if not layer.weights:
            continue
        order = [w for w in layer.weights if "lora" not in w.path]
        layer.enable_lora(2)
        loras = [w for w in layer.weights if "lora" in w.path]
        for weight in loras:
            weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.3)
        spec = layer.variable_serialization_spec[layer.quantization_mode]
        named = {w.path.split("/")[-1]: w for w in order}
        kept = [named[name] for name in spec if name in named]
        for i, weight in enumerate([*kept, *loras]):
            live[f"{layer.name}/{i}"] = np.asarray(weight.numpy())
    live.update(x=x, y0=model.predict(x, verbose=0))
    model.save(os.path.join(HERE, f"{model.name}.keras"))
    np.savez(os.path.join(HERE, f"{model.name}_live.npz"), **live)
    print(model.name, sorted(live))


def quantized_einsum():
    """Keras' int8 and int4 EinsumDense: int8 into heads (its scales laid out along the
    output's axes, its inputs quantized over the summed axis), int4 out of the heads in
    blocks of 4 over their 6 inputs, and int4 with a scale per unit whose kernel has its
    summed axis last (Keras reshapes it to a matrix without moving that axis)."""
    inputs = keras.Input((5, 8))
    x = layers.EinsumDense("abc,cde->abde", (5, 2, 3), bias_axes="de", name="heads")(inputs)
    x = layers.EinsumDense("abcd,cde->abe", (5, 8), activation="relu", name="merge")(x)
    out = layers.EinsumDense("abc,dc->abd", (5, 7), name="per_unit")(x)
    model = keras.Model(inputs, out, name="quantized_einsum")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    config = keras.quantizers.Int4QuantizationConfig
    model.get_layer("heads").quantize("int8")
    model.get_layer("merge").quantize("int4", config=config(block_size=4))
    model.get_layer("per_unit").quantize("int4", config=config(block_size=-1))
    return model, rng.normal(size=(3, 5, 8)).astype("float32")


def rnn_cells():
    """Keras' RNN layer around a cell, and around a StackedRNNCells of an LSTM cell and a
    GRU cell (the file keeps each cell's weights under its name)."""
    inputs = keras.Input((5, 3))
    x = layers.RNN(layers.SimpleRNNCell(4), return_sequences=True)(inputs)
    stacked = layers.StackedRNNCells([layers.LSTMCell(3), layers.GRUCell(2)])
    model = keras.Model(inputs, layers.RNN(stacked)(x), name="rnn_cells")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, rng.normal(size=(3, 5, 3)).astype("float32")


def masked_cells():
    """RNN layers around cells reading a padding mask as Keras' do (a masked step keeps the
    states, and its output is the last cell's previous output), a stack of two GRU cells
    named by the user, whose file groups Keras names by class (gru_cell, gru_cell_1)."""
    tokens = keras.Input((6,), dtype="int32")
    x = layers.Embedding(12, 4, mask_zero=True)(tokens)
    cells = [layers.GRUCell(4, name="first"), layers.GRUCell(4, name="second")]
    stacked = layers.RNN(layers.StackedRNNCells(cells), return_sequences=True)(x)
    backwards = layers.RNN(layers.LSTMCell(3), go_backwards=True)(x)
    outputs = [layers.GlobalAveragePooling1D()(stacked), backwards]
    model = keras.Model(tokens, outputs, name="masked_cells")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, _padded_ids((3, 6), {0: 4, 1: 2})


def zero_output_masks():
    """Recurrent layers with zero_output_for_mask=True on padded sequences: a masked step's
    output is zeros, the last one's too where the last step run is padding (not backwards)."""
    tokens = keras.Input((6,), dtype="int32")
    x = layers.Embedding(12, 3, mask_zero=True)(tokens)
    outputs = [
        layers.SimpleRNN(3, zero_output_for_mask=True)(x),
        layers.LSTM(3, zero_output_for_mask=True, return_state=True)(x)[0],
        layers.GRU(3, zero_output_for_mask=True, go_backwards=True)(x),
        layers.LSTM(3, zero_output_for_mask=True, return_sequences=True)(x),
        layers.RNN(layers.GRUCell(3), zero_output_for_mask=True)(x),
    ]
    model = keras.Model(tokens, outputs, name="zero_output_masks")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    ids = _padded_ids((3, 6), {0: 4, 1: 2})
    ids[2, :2] = 0  # padded before
    return model, ids


def masked_seq2seq():
    """An encoder-decoder on padded token ids: Keras runs a recurrent layer started from
    states unmasked (its call has two tensor arguments, so it gets no mask), yet gives its
    output the decoder sequence's mask, which a later average reads."""
    source, target = keras.Input((5,), dtype="int32"), keras.Input((4,), dtype="int32")
    encoded = layers.Embedding(12, 3, mask_zero=True)(source)
    _, h, c = layers.LSTM(3, return_state=True)(encoded)
    decoded = layers.Embedding(12, 3, mask_zero=True)(target)
    sequence = layers.LSTM(3, return_sequences=True)(decoded, initial_state=[h, c])
    last = layers.GRU(2)(decoded, initial_state=layers.Dense(2)(h))
    outputs = [sequence, layers.GlobalAveragePooling1D()(sequence), last]
    model = keras.Model([source, target], outputs, name="masked_seq2seq")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, [_padded_ids((3, 5), {0: 3, 2: 1}), _padded_ids((3, 4), {0: 2, 1: 3})]


def bidirectional_conv_lstm():
    """Bidirectional ConvLSTMs: a ConvLSTM2D's sequences concatenated, a ConvLSTM1D's last
    outputs averaged with its four states."""
    clip, rows = keras.Input((3, 5, 5, 2)), keras.Input((4, 6, 2))
    both = layers.Bidirectional(layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    last = layers.Bidirectional(layers.ConvLSTM1D(2, 3, return_state=True), merge_mode="ave")
    outputs = [both(clip), *last(rows)]
    model = keras.Model([clip, rows], outputs, name="bidirectional_conv_lstm")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    shapes = [(2, 3, 5, 5, 2), (2, 4, 6, 2)]
    return model, [rng.normal(size=s).astype("float32") for s in shapes]


def bidirectional_cells():
    """Bidirectional RNN(cell) layers: an LSTMCell's sequences concatenated over a padded
    sequence, and a stack of a GRU and a SimpleRNN cell summed, whose file keeps each
    direction as Keras keeps an RNN layer alone (cell, cells/gru_cell, ...)."""
    tokens = keras.Input((5,), dtype="int32")
    x = layers.Embedding(12, 3, mask_zero=True)(tokens)
    x = layers.Bidirectional(layers.RNN(layers.LSTMCell(2), return_sequences=True))(x)
    cells = [layers.GRUCell(2), layers.SimpleRNNCell(3)]
    x = layers.Bidirectional(layers.RNN(cells, return_state=True), merge_mode="sum")(x)
    model = keras.Model(tokens, list(x), name="bidirectional_cells")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, _padded_ids((3, 5), {0: 3, 1: 1})


def bidirectional_started():
    """Bidirectional layers started from given states (Keras' initial_state: the forward
    layer's, then the backward layer's), one of them giving both directions unmerged
    (merge_mode=None)."""
    source, target = keras.Input((5, 4)), keras.Input((3, 2))
    encoded, forward_h, forward_c, backward_h, backward_c = layers.Bidirectional(
        layers.LSTM(3, return_state=True)
    )(source)
    ahead, behind = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode=None)(
        target, initial_state=[forward_h, backward_c]
    )
    started = layers.Bidirectional(layers.LSTM(3), merge_mode="mul")(
        target, initial_state=[forward_h, forward_c, backward_h, backward_c]
    )
    outputs = [encoded, ahead, behind, started]
    model = keras.Model([source, target], outputs, name="bidirectional_started")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, [rng.normal(size=s).astype("float32") for s in ((2, 5, 4), (2, 3, 2))]


def _padded_tagger(name, vocabulary):
    """A tagger of 3 classes on 6 token ids embedded with mask_zero, its weights moved off
    their starting values, and 5 rows of ids, two padded."""
    tokens = keras.Input((6,), dtype="int32")
    x = layers.Embedding(vocabulary, 4, mask_zero=True)(tokens)
    model = keras.Model(tokens, layers.Dense(3, activation="softmax")(x), name=name)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, _padded_ids((5, 6), {0: 3, 1: 1})


def masked_metrics():
    """A sequence tagger on padded ids, evaluated by Keras: its mean metrics (accuracy,
    cross-entropy, weighted ones too) weight each step by the output's padding mask, over
    the whole run (batches of 2 keep different shares of their steps); one sample all
    padding. The values go in the npz as metrics_all and metrics_by_2 (accuracy, xent,
    weighted_accuracy, loss)."""
    tokens = keras.Input((6,), dtype="int32")
    x = layers.Embedding(12, 4, mask_zero=True)(tokens)
    x = layers.LSTM(4, return_sequences=True)(x)
    model = keras.Model(tokens, layers.Dense(3, activation="softmax")(x), name="masked_metrics")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    ids = _padded_ids((5, 6), {0: 3, 1: 1, 4: 0})
    targets = rng.integers(0, 3, (5, 6))
    model.compile(
        "sgd",
        "sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="xent")],
        weighted_metrics=["accuracy"],
    )
    names = ("accuracy", "xent", "weighted_accuracy", "loss")
    model.extra_npz = {"targets": targets}
    for key, batch in (("metrics_all", None), ("metrics_by_2", 2)):
        found = model.evaluate(ids, targets, batch_size=batch, verbose=0, return_dict=True)
        model.extra_npz[key] = np.array([found[name] for name in names])
    # On one-hot rows, the errors: Keras' RootMeanSquaredError (a Mean of the squares) finds
    # no mask; a function wrapped by MeanMetricWrapper does (value_metrics, in this order).
    model.compile(
        "sgd",
        "mse",
        metrics=[
            keras.metrics.RootMeanSquaredError(),
            keras.metrics.MeanSquaredError(),
            keras.metrics.CosineSimilarity(),
            keras.metrics.PearsonCorrelation(),
            keras.metrics.MeanMetricWrapper(
                lambda t, p: keras.ops.mean(keras.ops.abs(t - p), axis=-1), name="fn"
            ),
        ],
    )
    found = model.evaluate(ids, np.eye(3)[targets], verbose=0, return_dict=True)
    names = ("root_mean_squared_error", "mean_squared_error", "cosine_similarity")
    names += ("pearson_correlation", "fn", "loss")
    model.extra_npz["value_metrics"] = np.array([found[name] for name in names])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model, ids


def ignored_labels():
    """A tagger of padded ids whose targets hold 255 where a label is unknown, trained by
    Keras with ignore_class=255 (the loss and a cross-entropy metric leave those positions
    out, as they do the padding; accuracy counts them wrong). The npz holds Keras' evaluate
    (accuracy, xent, loss; all at once and by 2) and two epochs of fit without shuffling
    (history), from the weights saved."""
    model, ids = _padded_tagger("ignored_labels", 12)
    targets = rng.integers(0, 3, (5, 6))
    targets[0, 1] = targets[2, 2:4] = targets[4, 5] = targets[1, 3] = 255
    model.compile(
        keras.optimizers.SGD(0.5),
        keras.losses.SparseCategoricalCrossentropy(ignore_class=255),
        metrics=[
            "accuracy",
            keras.metrics.SparseCategoricalCrossentropy(name="xent", ignore_class=255),
        ],
    )
    names = ("accuracy", "xent", "loss")
    model.extra_npz = {"targets": targets}
    for key, batch in (("evaluate_all", None), ("evaluate_by_2", 2)):
        found = model.evaluate(ids, targets, batch_size=batch, verbose=0, return_dict=True)
        model.extra_npz[key] = np.array([found[name] for name in names])
    start = os.path.join(tempfile.mkdtemp(), "start.keras")
    model.save(start)
    history = model.fit(ids, targets, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    saved = keras.saving.load_model(start)
    saved.extra_npz = {**model.extra_npz, "history": np.array([history[n] for n in names])}
    return saved, ids


def masked_outputs():
    """Three outputs, two of them padded sequences (a tagger under a cross-entropy, values
    under mse) and a label: each output's mask weights its own loss and mean metrics, as
    Keras' evaluate gives them (evaluate, in the order of EVALUATED)."""
    tokens = keras.Input((6,), dtype="int32")
    x = layers.Embedding(12, 4, mask_zero=True)(tokens)
    sequence = layers.LSTM(4, return_sequences=True)(x)
    tags = layers.Dense(3, activation="softmax", name="tags")(sequence)
    values = layers.Dense(2, name="values")(sequence)
    label = layers.Dense(1, activation="sigmoid", name="label")(layers.LSTM(3)(x))
    model = keras.Model(tokens, [tags, values, label], name="masked_outputs")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    ids = _padded_ids((5, 6), {0: 3, 1: 1})
    targets = {
        "tags": rng.integers(0, 3, (5, 6)),
        "values": rng.normal(size=(5, 6, 2)).astype("float32"),
        "label": rng.integers(0, 2, (5, 1)),
    }
    model.compile(
        "sgd",
        ["sparse_categorical_crossentropy", "mse", "binary_crossentropy"],
        metrics=[["accuracy"], ["mae"], ["accuracy"]],
        loss_weights=[1.0, 0.5, 2.0],
    )
    found = model.evaluate(ids, list(targets.values()), verbose=0, return_dict=True)
    names = ("loss", "tags_loss", "values_loss", "label_loss")
    names += ("tags_accuracy", "values_mae", "label_accuracy")
    model.extra_npz = {f"target_{k}": v for k, v in targets.items()}
    model.extra_npz["evaluated"] = np.array([found[name] for name in names])
    return model, ids


def temporal_weights():
    """A tagger of padded ids weighted per step (Keras' sample weights of shape (batch,
    steps)), with and without its padding mask: Keras' evaluate (loss, weighted accuracy,
    weighted cross-entropy; all at once and by 2) and three epochs of fit without
    shuffling. The unmasked runs read the embeddings of the padding as tokens (``ids + 1``)."""
    tagger, ids = _padded_tagger("temporal_weights", 13)
    targets = rng.integers(0, 3, (5, 6))
    weights = rng.uniform(0, 2, (5, 6)).astype("float32")
    start = os.path.join(tempfile.mkdtemp(), "start.keras")
    tagger.save(start)
    found = {"targets": targets, "step_weights": weights}
    for key, given in (("masked", ids), ("unmasked", ids + 1)):
        model = keras.saving.load_model(start)
        model.compile(
            keras.optimizers.SGD(0.5),
            "sparse_categorical_crossentropy",
            weighted_metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="xent")],
        )
        for batch in (None, 2):
            logs = model.evaluate(
                given, targets, sample_weight=weights, batch_size=batch, verbose=0, return_dict=True
            )
            found[f"{key}_by_{batch}"] = np.array([logs[n] for n in ("loss", "accuracy", "xent")])
        history = model.fit(
            given, targets, sample_weight=weights, batch_size=2, epochs=3, shuffle=False, verbose=0
        )
        found[f"{key}_history"] = np.array(history.history["loss"])
    saved = keras.saving.load_model(start)
    saved.extra_npz = found
    return saved, ids


def conv_lstm_states():
    """ConvLSTMs started from given states (Keras' initial_state, which its file keeps as
    the call's keyword), one of them channels_first, whose states are (batch, filters, ...)."""
    clip, h0, c0 = keras.Input((3, 5, 6, 2)), keras.Input((5, 6, 3)), keras.Input((5, 6, 3))
    sequence, h, c = layers.ConvLSTM2D(
        3, 3, padding="same", return_sequences=True, return_state=True
    )(clip, initial_state=[h0, c0])
    rows, start = keras.Input((4, 2, 7)), keras.Input((2, 7))
    first = layers.ConvLSTM1D(2, 3, padding="same", data_format="channels_first")
    outputs = [sequence, h, c, first(rows, initial_state=[start, start])]
    model = keras.Model([clip, h0, c0, rows, start], outputs, name="conv_lstm_states")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    shapes = [(2, 3, 5, 6, 2), (2, 5, 6, 3), (2, 5, 6, 3), (2, 4, 2, 7), (2, 2, 7)]
    return model, [rng.normal(size=s).astype("float32") for s in shapes]


def custom_sublayers():
    """A user's layer holding layers as attributes (tests/custom_sublayers.py): Keras keeps
    each under its attribute's path, a list's and dict's by class name."""
    sys.path.insert(0, os.path.join(HERE, ".."))
    from custom_sublayers import define

    outer = define(keras)(name="outer")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, layers.Dense(2)(outer(inputs)), name="custom_sublayers")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, rng.normal(size=(3, 6)).astype("float32")


def subclassed_model():
    """A subclassed model of the user's (tests/custom_models.py), compiled and trained a
    step, saved whole and as a weights file."""
    sys.path.insert(0, os.path.join(HERE, ".."))
    from custom_models import define

    model = define(keras)(5, name="two_stage")
    x = rng.normal(size=(3, 6)).astype("float32")
    model(x)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(x, rng.normal(size=(3, 2)).astype("float32"), verbose=0)
    model.save_weights(os.path.join(HERE, "subclassed_model.weights.h5"))
    return model, x


def bidirectional_states():
    """Bidirectional layers with return_state (Keras gives the merged output, then the
    forward states, then the backward ones): an LSTM's sequences concatenated, a
    SimpleRNN's averaged, with masked padding."""
    inputs = keras.Input((5, 4))
    masked = layers.Masking(0.0)(inputs)
    lstm = layers.Bidirectional(layers.LSTM(3, return_sequences=True, return_state=True))
    sequence, forward_h, forward_c, backward_h, backward_c = lstm(masked)
    rnn = layers.Bidirectional(layers.SimpleRNN(3, return_state=True), merge_mode="ave")
    last, forward_state, backward_state = rnn(sequence)
    states = layers.Concatenate()([forward_h, backward_c, last, forward_state, backward_state])
    model = keras.Model(inputs, [layers.GlobalAveragePooling1D()(sequence), states],
                        name="bidirectional_states")  # fmt: skip
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    x = rng.normal(size=(3, 5, 4)).astype("float32")
    x[1, 3:] = 0.0  # padding
    return model, x


def transposed_convolutions():
    """Transposed convolutions sized by Keras' rules: a kernel shorter than its stride
    ('valid': size * s), output_padding with 'valid' and 'same' (its own placement of the
    output), per axis; 1-D, 2-D and 3-D."""
    steps, image, volume = keras.Input((7, 2)), keras.Input((5, 6, 2)), keras.Input((3, 4, 3, 1))
    outputs = [
        layers.Conv1DTranspose(2, 3, strides=2, padding="same", output_padding=1)(steps),
        layers.Conv1DTranspose(2, 2, strides=3)(steps),
        layers.Conv2DTranspose(3, 2, strides=3)(image),
        layers.Conv2DTranspose(3, 4, strides=2, padding="same", output_padding=1)(image),
        layers.Conv2DTranspose(3, (3, 2), strides=(2, 3), padding="same", output_padding=(1, 2))(
            image
        ),
        layers.Conv2DTranspose(3, 3, strides=2, output_padding=1)(image),
        layers.Conv3DTranspose(2, 3, strides=2, output_padding=1)(volume),
        layers.Conv3DTranspose(2, 4, strides=2, padding="same", output_padding=1)(volume),
        layers.Conv3DTranspose(2, 2, strides=3)(volume),
    ]
    model = keras.Model([steps, image, volume], outputs, name="transposed_convolutions")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    shapes = [(3, 7, 2), (3, 5, 6, 2), (3, 3, 4, 3, 1)]
    return model, [rng.normal(size=shape).astype("float32") for shape in shapes]


def attention_axes():
    """MultiHeadAttention over axes of its own: every position of an image (the default
    for inputs of more than three axes), and along one axis, the other an index of its own
    (Keras' attention_axes)."""
    image = keras.Input((4, 5, 6))
    both = layers.MultiHeadAttention(2, 3, name="both")(image, image)
    rows = layers.MultiHeadAttention(2, 3, attention_axes=[2], output_shape=4, name="rows")(
        both, image
    )
    model = keras.Model(image, [both, rows], name="attention_axes")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, rng.normal(size=(3, 4, 5, 6)).astype("float32")


def _padded_ids(shape, padded_from):
    """Token ids 1..11, each row named in ``padded_from`` padded with 0 from that step on."""
    ids = rng.integers(1, 12, shape).astype("int32")
    for row, start in padded_from.items():
        ids[row, start:] = 0
    return ids


def masked_attention():
    """Attention layers reading padding masks, as Keras' do: MultiHeadAttention on a padded
    sequence (self-attention, causal too, and across to another padded sequence),
    Attention and AdditiveAttention; the query's mask goes on through merges (Add, Maximum,
    Multiply, Concatenate along steps and along features) to masked averages. Keras'
    MultiHeadAttention erases the masks of the tensors it reads, so the other attention
    layers read embeddings of their own."""
    tokens, other = keras.Input((6,), dtype="int32"), keras.Input((4,), dtype="int32")
    x = layers.Embedding(12, 8, mask_zero=True)(tokens)
    y = layers.Embedding(12, 8, mask_zero=True)(other)
    itself = layers.MultiHeadAttention(2, 4, name="itself")(x, x)
    causal = layers.MultiHeadAttention(2, 4, name="causal")(itself, itself, use_causal_mask=True)
    across = layers.MultiHeadAttention(2, 4, name="across")(causal, y)
    x2 = layers.Embedding(12, 8, mask_zero=True)(tokens)
    y2 = layers.Embedding(12, 8, mask_zero=True)(other)
    dot = layers.Attention(use_scale=True)([across, y2])
    additive = layers.AdditiveAttention()([x2, y2])
    merged = [
        layers.Add()([dot, additive]),
        layers.Maximum()([dot, additive]),
        layers.Multiply()([dot, additive]),
        # Named: Keras names the op of a Concatenate's mask "concatenate" when it reads a
        # file without that op (minicnn's), and a layer of that name would clash with it.
        layers.Concatenate(axis=1, name="steps")([dot, y2]),
        layers.Concatenate(name="features")([dot, x2]),
    ]
    outputs = [layers.GlobalAveragePooling1D()(m) for m in merged]
    model = keras.Model([tokens, other], [*outputs, across], name="masked_attention")
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, [_padded_ids((3, 6), {0: 4, 1: 2}), _padded_ids((3, 4), {0: 3, 2: 1})]


def erased_masks():
    """Keras' MultiHeadAttention erases the masks of the tensors it reads, in its run, so a
    later call reading them finds none: a merge then keeps no mask, and the next attention
    layer masks nothing; the layers whose call takes a mask (the average) get the one the
    graph recorded. Two Transformer blocks on a padded sequence, an Attention and a
    Maximum reading tensors an attention layer read before them."""
    tokens, other = keras.Input((6,), dtype="int32"), keras.Input((4,), dtype="int32")
    x = layers.Embedding(12, 8, mask_zero=True)(tokens)
    y = layers.Embedding(12, 8, mask_zero=True)(other)
    h = x
    for _ in range(2):
        attended = layers.MultiHeadAttention(2, 4)(h, h)
        h = layers.LayerNormalization()(layers.Add()([h, attended]))
    across = layers.MultiHeadAttention(2, 4, name="across")(h, y)
    dot = layers.Attention(name="dot")([across, y])
    largest = layers.Maximum()([x, dot])
    pooled = layers.GlobalAveragePooling1D()(h)
    model = keras.Model(
        [tokens, other],
        [pooled, h, dot, layers.GlobalAveragePooling1D()(largest)],
        name="erased_masks",
    )
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return model, [_padded_ids((3, 6), {0: 4, 1: 2}), _padded_ids((3, 4), {0: 3, 2: 1})]


def attention_scores():
    """Attention layers giving their weights too (return_attention_scores): Keras then runs
    MultiHeadAttention through its Softmax layer, which gives a query that sees no key (a
    padded one) no weights; so does a layer with dropout, even in inference. Attention's
    weights, and MultiHeadAttention over two axes of images."""
    tokens, other = keras.Input((5,), dtype="int32"), keras.Input((4,), dtype="int32")
    embed = lambda ids: layers.Embedding(12, 8, mask_zero=True)(ids)  # noqa: E731
    out, weights = layers.MultiHeadAttention(2, 4, name="mha")(
        embed(tokens), embed(other), return_attention_scores=True
    )
    dropping = layers.MultiHeadAttention(2, 4, dropout=0.25, name="dropping")(
        embed(tokens), embed(other)
    )
    dot, dot_weights = layers.Attention(use_scale=True, name="dot")(
        [embed(tokens), embed(other)], return_attention_scores=True
    )
    images = keras.Input((3, 4, 5))
    flat, image_weights = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), name="image")(
        images, images, return_attention_scores=True
    )
    pairs = keras.Input((5, 4), dtype="bool")  # which key each query may see, given
    given = layers.MultiHeadAttention(2, 4, name="given")(
        embed(tokens), embed(other), attention_mask=pairs
    )
    model = keras.Model(
        [tokens, other, images, pairs],
        [out, weights, dropping, dot, dot_weights, flat, image_weights, given],
        name="attention_scores",
    )
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    ids, others = _padded_ids((3, 5), {0: 3, 1: 1}), _padded_ids((3, 4), {0: 2, 2: 3})
    seen = rng.random((3, 5, 4)) < 0.7
    return model, [ids, others, rng.normal(size=(3, 3, 4, 5)).astype("float32"), seen]


def squash(x):
    """The function of named_lambda's Lambda layer, which Keras saves by name."""
    return keras.ops.square(x) * 0.5 + 1.0


def named_lambda():
    """A Lambda layer whose function is a module's: saved by name, found again through
    custom_objects (a Python lambda would be bytecode)."""
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(3),
            layers.Lambda(squash, name="squash"),
            layers.Dense(2),
        ],
        name="named_lambda",
    )
    return model, rng.random((3, 4)).astype("float32")


MAKERS = (
    cnn,
    functional,
    recurrent,
    attention,
    nested,
    image_zoo,
    sequence_zoo,
    masked_sequences,
    gru_reset_before,
    quantized,
    language_model,
    mixed_precision,
    named_lambda,
    quantized_language_model,
    quantized_int4,
    quantized_int4_language_model,
    quantized_einsum,
    rnn_cells,
    custom_sublayers,
    subclassed_model,
    bidirectional_states,
    transposed_convolutions,
    attention_axes,
    masked_attention,
    attention_scores,
    erased_masks,
    masked_cells,
    conv_lstm_states,
    zero_output_masks,
    masked_seq2seq,
    bidirectional_conv_lstm,
    bidirectional_cells,
    bidirectional_started,
    masked_metrics,
    ignored_labels,
    masked_outputs,
    temporal_weights,
)
wanted = set(sys.argv[1:])  # some of them by name; all by default
for make_live in (quantized_lora, quantized_einsum_lora):
    if not wanted or make_live.__name__ in wanted:
        make_live()
for make in (m for m in MAKERS if not wanted or m.__name__ in wanted):
    model, x = make()
    y = model.predict(x, verbose=0)
    outputs = {f"y{i}": v for i, v in enumerate(y)} if isinstance(y, list) else {"y0": y}
    if hasattr(model, "float32_outputs"):
        outputs["float32"] = model.float32_outputs
    outputs.update(getattr(model, "extra_npz", {}))
    model.save(os.path.join(HERE, f"{make.__name__}.keras"))
    inputs = {f"x{i}": v for i, v in enumerate(x)} if isinstance(x, list) else {"x": x}
    np.savez(os.path.join(HERE, f"{make.__name__}.npz"), **inputs, **outputs)
    print(make.__name__, model.count_params(), {k: v.shape for k, v in outputs.items()})
