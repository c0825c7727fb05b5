"""keras.io examples run as written there (only the import line changed), against the
numbers Keras 3.15 gives for the same program and weights (PyTorch backend where the
example needs it). Each found a difference that is now fixed."""

import numpy as np

import minicnn as keras
from minicnn import layers, ops

# --- "English-to-Spanish translation with a sequence-to-sequence Transformer" -------------
# Custom layers that read and make masks, a list input with a mask each, a causal mask built
# with ops.tile of a tensor, positions looked up in an Embedding of sequence_length rows.


class TransformerEncoder(layers.Layer):
    def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.dense_dim = dense_dim
        self.num_heads = num_heads
        self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            padding_mask = ops.cast(mask[:, None, :], dtype="int32")
        else:
            padding_mask = None
        attention_output = self.attention(
            query=inputs, value=inputs, key=inputs, attention_mask=padding_mask
        )
        proj_input = self.layernorm_1(inputs + attention_output)
        proj_output = self.dense_proj(proj_input)
        return self.layernorm_2(proj_input + proj_output)


class PositionalEmbedding(layers.Layer):
    def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embeddings = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=embed_dim)
        self.sequence_length = sequence_length
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim

    def call(self, inputs):
        length = ops.shape(inputs)[-1]
        positions = ops.arange(0, length, 1)
        embedded_tokens = self.token_embeddings(inputs)
        embedded_positions = self.position_embeddings(positions)
        return embedded_tokens + embedded_positions

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)


class TransformerDecoder(layers.Layer):
    def __init__(self, embed_dim, latent_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.attention_1 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.attention_2 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(latent_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.layernorm_3 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, mask=None):
        inputs, encoder_outputs = inputs
        causal_mask = self.get_causal_attention_mask(inputs)
        if mask is None:
            inputs_padding_mask, encoder_outputs_padding_mask = None, None
        else:
            inputs_padding_mask, encoder_outputs_padding_mask = mask
        attention_output_1 = self.attention_1(
            query=inputs,
            value=inputs,
            key=inputs,
            attention_mask=causal_mask,
            query_mask=inputs_padding_mask,
        )
        out_1 = self.layernorm_1(inputs + attention_output_1)
        attention_output_2 = self.attention_2(
            query=out_1,
            value=encoder_outputs,
            key=encoder_outputs,
            query_mask=inputs_padding_mask,
            key_mask=encoder_outputs_padding_mask,
        )
        out_2 = self.layernorm_2(out_1 + attention_output_2)
        proj_output = self.dense_proj(out_2)
        return self.layernorm_3(out_2 + proj_output)

    def get_causal_attention_mask(self, inputs):
        input_shape = ops.shape(inputs)
        batch_size, sequence_length = input_shape[0], input_shape[1]
        i = ops.arange(sequence_length)[:, None]
        j = ops.arange(sequence_length)
        mask = ops.cast(i >= j, dtype="int32")
        mask = ops.reshape(mask, (1, input_shape[1], input_shape[1]))
        mult = ops.concatenate(
            [ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], axis=0
        )
        return ops.tile(mask, mult)


def translation_transformer(embed_dim=16, latent_dim=32, num_heads=2, vocab_size=50, length=10):
    encoder_inputs = keras.Input(shape=(None,), dtype="int64", name="encoder_inputs")
    x = PositionalEmbedding(length, vocab_size, embed_dim)(encoder_inputs)
    encoder_outputs = TransformerEncoder(embed_dim, latent_dim, num_heads)(x)
    decoder_inputs = keras.Input(shape=(None,), dtype="int64", name="decoder_inputs")
    x = PositionalEmbedding(length, vocab_size, embed_dim)(decoder_inputs)
    x = TransformerDecoder(embed_dim, latent_dim, num_heads)([x, encoder_outputs])
    x = layers.Dropout(0.5)(x)
    decoder_outputs = layers.Dense(vocab_size, activation="softmax")(x)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs, name="transformer")


def test_the_translation_transformer_gives_kerass_numbers():
    transformer = translation_transformer()
    transformer.compile("rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert transformer.count_params() == 11554 and transformer.output_shape == (None, None, 50)
    assert [layer.name for layer in transformer.layers] == [
        "encoder_inputs",
        "decoder_inputs",
        "positional_embedding",
        "positional_embedding_1",
        "transformer_encoder",
        "transformer_decoder",
        "dropout_3",
        "dense_4",
    ]
    rng = np.random.default_rng(0)
    enc = rng.integers(1, 50, (32, 10))
    enc[:, 7:] = 0  # padding, which the masks keep out
    dec = rng.integers(1, 50, (32, 10))
    dec[:, 8:] = 0
    target = np.roll(dec, -1, axis=1)
    weights = np.random.default_rng(5)
    transformer.set_weights(
        [
            (weights.standard_normal(w.shape) * 0.3).astype("float32")
            for w in transformer.get_weights()
        ]
    )
    data = {"encoder_inputs": enc, "decoder_inputs": dec}
    predicted = transformer.predict({k: v[:2] for k, v in data.items()}, verbose=0)
    expected = [  # Keras 3.15 (PyTorch backend)
        [0.027806, 0.006391, 0.030467, 0.004846],
        [0.028248, 0.006391, 0.030882, 0.004458],
        [0.028277, 0.005976, 0.029773, 0.004581],
    ]
    np.testing.assert_allclose(predicted[0, :3, :4], expected, rtol=2e-4, atol=1e-6)
    padded = [[0.026185, 0.00534, 0.028688], [0.026286, 0.005233, 0.029012]]
    np.testing.assert_allclose(predicted[1, 7:9, :3], padded, rtol=2e-4, atol=1e-6)
    loss = transformer.evaluate(data, target, verbose=0)[0]  # the output's mask weighs it
    np.testing.assert_allclose(loss, 4.047794, rtol=1e-5)
