import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

keras.utils.set_random_seed(0)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [keras.layers.Dense(ff_dim, activation="relu"), keras.layers.Dense(embed_dim)]
        )
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = keras.layers.Dropout(rate)
        self.dropout2 = keras.layers.Dropout(rate)

    def call(self, inputs, training=False):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = keras.layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = keras.layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, inputs):
        maxlen = ops.shape(inputs)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        position_embeddings = self.pos_emb(positions)
        token_embeddings = self.token_emb(inputs)
        return token_embeddings + position_embeddings


class NERModel(keras.Model):
    def __init__(self, num_tags, vocab_size, maxlen=12, embed_dim=8, num_heads=2, ff_dim=8):
        super().__init__()
        self.embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
        self.transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim, rate=0.0)
        self.dropout1 = layers.Dropout(0.0)
        self.ff = layers.Dense(ff_dim, activation="relu")
        self.dropout2 = layers.Dropout(0.0)
        self.ff_final = layers.Dense(num_tags, activation="softmax")

    def call(self, inputs, training=False):
        x = self.embedding_layer(inputs)
        x = self.transformer_block(x)
        x = self.dropout1(x, training=training)
        x = self.ff(x)
        x = self.dropout2(x, training=training)
        x = self.ff_final(x)
        return x


class CustomNonPaddingTokenLoss(keras.losses.Loss):
    def __init__(self, name="custom_ner_loss"):
        super().__init__(name=name)

    def call(self, y_true, y_pred):
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=False, reduction=None)
        loss = loss_fn(y_true, y_pred)
        mask = ops.cast((y_true > 0), dtype="float32")
        loss = loss * mask
        return ops.sum(loss) / ops.sum(mask)


num_tags, vocab_size, maxlen = 5, 30, 12
rng = np.random.default_rng(0)
x_train = rng.integers(1, vocab_size, (32, maxlen)).astype("int32")
lengths = rng.integers(4, maxlen + 1, 32)
for row, length in zip(x_train, lengths, strict=True):
    row[length:] = 0
y_train = np.where(x_train > 0, x_train % (num_tags - 1) + 1, 0).astype("int32")
ner_model = NERModel(num_tags, vocab_size, maxlen=maxlen)
ner_model(x_train[:1])
print(len(ner_model.weights), [w.path for w in ner_model.weights][:4])
wrng = np.random.default_rng(2)
ner_model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.3).astype("float32") if w.ndim > 1 else w
        for w in ner_model.get_weights()
    ]
)
loss = CustomNonPaddingTokenLoss()
print(loss.name, loss.reduction)
print(round(float(loss(y_train[:4], ner_model(x_train[:4]))), 5))
ner_model.compile(optimizer="adam", loss=loss)
history = ner_model.fit(x_train, y_train, batch_size=8, epochs=3, shuffle=False, verbose=0)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
sample = x_train[:1]
output = ner_model.predict(sample, verbose=0)
prediction = np.argmax(output, axis=-1)[0]
print(prediction[: lengths[0]].tolist(), y_train[0, : lengths[0]].tolist())
print(round(ner_model.evaluate(x_train, y_train, verbose=0), 4))
