"""Keras' guide "Working with preprocessing layers" (keras.io/guides/
preprocessing_layers): adapt() of Normalization, TextVectorization; StringLookup and
IntegerLookup with a vocabulary and adapted, their inverse; one-hot and multi-hot
encodings, hashing, Discretization, CategoryEncoding, TextVectorization's modes,
preprocessing inside a model. Keras needs TensorFlow for its string layers: run it with
KERAS_BACKEND=tensorflow."""

import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def show(x):
    # (Keras' lookup layers give their one_hot, multi_hot and count encodings as int64 when
    # called eagerly, float32 in a graph; minicnn gives float32 both ways)
    print(np.round(np.asarray(x, "float32"), 4).tolist())


data = np.array([[0.1, 0.2, 0.3], [0.8, 0.9, 1.0], [1.5, 1.6, 1.7]])
layer = layers.Normalization()
layer.adapt(data)
normalized_data = layer(data)
print(f"Features mean: {np.asarray(normalized_data).mean():.2f}")
print(f"Features std: {np.asarray(normalized_data).std():.2f}")

data = [
    "ξεῖν᾽, ἦ τοι μὲν ὄνειροι ἀμήχανοι ἀκριτόμυθοι",
    "γίγνοντ᾽, οὐδέ τι πάντα τελείεται ἀνθρώποισι.",
    "δοιαὶ γάρ τε πύλαι ἀμενηνῶν εἰσὶν ὀνείρων:",
    "αἱ μὲν γὰρ κεράεσσι τετεύχαται, αἱ δ᾽ ἐλέφαντι:",
    "τῶν οἳ μέν κ᾽ ἔλθωσι διὰ πριστοῦ ἐλέφαντος,",
    "οἵ ῥ᾽ ἐλεφαίρονται, ἔπε᾽ ἀκράαντα φέροντες:",
    "οἱ δὲ διὰ ξεστῶν κεράων ἔλθωσι θύραζε,",
    "οἵ ῥ᾽ ἔτυμα κραίνουσι, βροτῶν ὅτε κέν τις ἴδηται.",
]
layer = layers.TextVectorization()
layer.adapt(data)
vectorized_text = layer(data)
print(np.asarray(vectorized_text).tolist())
print(layer.vocabulary_size(), [str(t) for t in layer.get_vocabulary()[:6]])

vocab = ["a", "b", "c", "d"]
data = np.array([["a", "c", "d"], ["d", "z", "b"]])
layer = layers.StringLookup(vocabulary=vocab)
vectorized_data = layer(data)
print(np.asarray(vectorized_data).tolist())

inverse = layers.StringLookup(vocabulary=vocab, invert=True)
inverted = np.asarray(inverse(np.array([[1, 3, 4], [4, 0, 2]]))).tolist()
print([[t.decode() if isinstance(t, bytes) else t for t in row] for row in inverted])

vocab = ["a", "b", "c", "d"]
data = np.array([["a"], ["b"], ["c"], ["d"], ["d"], ["z"]])
layer = layers.StringLookup(vocabulary=vocab, output_mode="one_hot")
show(layer(data))
layer = layers.StringLookup(vocabulary=vocab, output_mode="multi_hot")
show(layer(np.array([["a", "b"], ["c", "z"]])))
layer = layers.StringLookup(vocabulary=vocab, output_mode="count")
show(layer(np.array([["a", "a", "b"], ["c", "z", "z"]])))

data = np.array([[12, 1138, 42], [42, 1000, 36]])
layer = layers.IntegerLookup()
layer.adapt(data)
print([int(t) for t in layer.get_vocabulary()], np.asarray(layer(data)).tolist())
layer = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], output_mode="one_hot")
show(layer(np.array([[12], [1138], [42], [42], [0], [36]])))

layer = layers.Hashing(num_bins=64, salt=1337)
print(np.asarray(layer(np.array([["a"], ["b"], ["c"]]))).tolist())
layer = layers.Hashing(num_bins=8)
print(np.asarray(layer(np.array([[1], [2], [300]]))).tolist())

layer = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.5])
print(np.asarray(layer(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]))).tolist())
layer = layers.Discretization(num_bins=4, epsilon=0.01)
layer.adapt(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]))
print(np.round(layer.bin_boundaries, 4).tolist())

layer = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
show(layer(np.array([3, 2, 0, 1])))
layer = layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
show(layer(np.array([[0, 1], [0, 0], [1, 2], [3, 1]])))
layer = layers.CategoryEncoding(num_tokens=4, output_mode="count")
weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
show(layer(np.array([[0, 1], [0, 0], [1, 2], [3, 1]]), count_weights=weights))

adapt_data = np.array(
    [
        "The Brain is wider than the Sky",
        "For put them side by side",
        "The one the other will contain",
        "With ease and You beside",
    ]
)
text_vectorizer = layers.TextVectorization(output_mode="int", output_sequence_length=8)
text_vectorizer.adapt(adapt_data)
print([str(t) for t in text_vectorizer.get_vocabulary()])
print(np.asarray(text_vectorizer(np.array(["The Brain is deeper than the sea"]))).tolist())
text_vectorizer = layers.TextVectorization(output_mode="multi_hot", ngrams=2)
text_vectorizer.adapt(adapt_data)
print(text_vectorizer.vocabulary_size(), [str(t) for t in text_vectorizer.get_vocabulary()[:8]])
show(text_vectorizer(np.array(["The Brain is deeper than the sea"])))
text_vectorizer = layers.TextVectorization(output_mode="tf_idf", ngrams=2)
text_vectorizer.adapt(adapt_data)
show(text_vectorizer(np.array(["The Brain is deeper than the sea"])))

inputs = keras.Input(shape=(1,), dtype="string")
text_vectorizer = layers.TextVectorization(output_mode="int", output_sequence_length=8)
text_vectorizer.adapt(adapt_data)
x = text_vectorizer(inputs)
x = layers.Embedding(input_dim=text_vectorizer.vocabulary_size(), output_dim=4)(x)
x = layers.GRU(4)(x)
outputs = layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
model.summary()

inputs = keras.Input(shape=(3,))
norm = layers.Normalization()
norm.adapt(rng.random((32, 3)))
outputs = layers.Dense(1)(norm(inputs))
model = keras.Model(inputs, outputs)
# (Keras keeps the mean as (1, 3), minicnn as (3,))
print([w.name for w in model.weights], np.round(np.asarray(norm.mean), 4).ravel().tolist())
