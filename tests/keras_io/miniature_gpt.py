import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

keras.utils.set_random_seed(0)


def causal_attention_mask(batch_size, n_dest, n_src, dtype):
    i = ops.arange(n_dest)[:, None]
    j = ops.arange(n_src)
    m = i >= j - n_src + n_dest
    mask = ops.cast(m, dtype)
    mask = ops.reshape(mask, [1, n_dest, n_src])
    mult = ops.concatenate([ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], 0)
    return ops.tile(mask, mult)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads, embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        input_shape = ops.shape(inputs)
        batch_size = input_shape[0]
        seq_len = input_shape[1]
        causal_mask = causal_attention_mask(batch_size, seq_len, seq_len, "bool")
        attention_output = self.att(inputs, inputs, attention_mask=causal_mask)
        attention_output = self.dropout1(attention_output)
        out1 = self.layernorm1(inputs + attention_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(0, maxlen, 1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


corpus = (
    "this movie is great . this movie is bad . the film is a great film . "
    "the plot is thin but the actors are great . a bad film is a bad film . "
    "this film is not a movie , it is a great show ."
).split()
vocab = ["", "[UNK]"] + sorted(set(corpus), key=lambda w: (-corpus.count(w), w))
vocab_size = len(vocab)
maxlen = 10
embed_dim = 16
num_heads = 2
feed_forward_dim = 16
word_to_index = {word: index for index, word in enumerate(vocab)}
tokens = np.array([word_to_index[w] for w in corpus])
starts = np.arange(0, len(tokens) - maxlen - 1, 2)
x_train = np.stack([tokens[s : s + maxlen] for s in starts]).astype("int32")
y_train = np.stack([tokens[s + 1 : s + maxlen + 1] for s in starts]).astype("int32")
print(vocab_size, x_train.shape, y_train.shape)


def create_model():
    inputs = layers.Input(shape=(maxlen,), dtype="int32")
    embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, feed_forward_dim, rate=0.0)
    x = transformer_block(x)
    outputs = layers.Dense(vocab_size)(x)
    model = keras.Model(inputs=inputs, outputs=[outputs, x])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss=[loss_fn, None])
    return model


class TextGenerator(keras.callbacks.Callback):
    def __init__(self, max_tokens, start_tokens, index_to_word, top_k=3, print_every=1):
        self.max_tokens = max_tokens
        self.start_tokens = start_tokens
        self.index_to_word = index_to_word
        self.print_every = print_every
        self.k = top_k

    def sample_from(self, logits):
        logits, indices = ops.top_k(logits, k=self.k, sorted=True)
        indices = np.asarray(indices).astype("int32")
        preds = keras.activations.softmax(ops.expand_dims(logits, 0))[0]
        preds = np.asarray(preds).astype("float32")
        return int(indices[np.argmax(preds)])  # the example samples; the most likely here

    def on_epoch_end(self, epoch, logs=None):
        start_tokens = [_ for _ in self.start_tokens]
        if (epoch + 1) % self.print_every != 0:
            return
        tokens_generated = []
        while len(tokens_generated) <= self.max_tokens:
            pad_len = maxlen - len(start_tokens)
            sample_index = len(start_tokens) - 1
            if pad_len < 0:
                x = start_tokens[:maxlen]
                sample_index = maxlen - 1
            elif pad_len > 0:
                x = start_tokens + [0] * pad_len
            else:
                x = start_tokens
            x = np.array([x])
            y, _ = self.model.predict(x, verbose=0)
            sample_token = self.sample_from(y[0][sample_index])
            tokens_generated.append(sample_token)
            start_tokens.append(sample_token)
        txt = " ".join([self.index_to_word[_] for _ in self.start_tokens + tokens_generated])
        print(f"generated text:\n{txt}\n")


model = create_model()
model.summary()
print(causal_attention_mask(2, 3, 3, "int32").tolist())
wrng = np.random.default_rng(2)
model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.3).astype("float32") if w.ndim > 1 else w
        for w in model.get_weights()
    ]
)
start_tokens = [word_to_index.get(_, 1) for _ in "this movie is".split()]
text_gen_callback = TextGenerator(4, start_tokens, vocab)
history = model.fit(
    x_train,
    y_train,
    batch_size=4,
    epochs=3,
    shuffle=False,
    verbose=0,
    callbacks=[text_gen_callback],
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
outputs = model.predict(x_train[:2], verbose=0)
print(type(outputs).__name__, [o.shape for o in outputs])
print(round(model.evaluate(x_train, y_train, verbose=0), 5))
