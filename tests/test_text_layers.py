"""StringLookup, IntegerLookup and TextVectorization: Keras' docstring examples, vocabulary
order and limits, the output modes, n-grams, configs, bad input, and Keras' text classifier
(TextVectorization, Embedding, Conv1D, GlobalMaxPooling1D) trained on its ids."""

import numpy as np
import pytest

from minicnn import Input, Model, Sequential, layers, load_model, optimizers
from minicnn import layers as L

VOCAB = ["a", "b", "c", "d"]


def test_string_lookup_keras_examples():
    data = [["a", "c", "d"], ["d", "z", "b"]]
    np.testing.assert_array_equal(L.StringLookup(vocabulary=VOCAB)(data), [[1, 3, 4], [4, 0, 2]])
    layer = L.StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(layer(data), [[5, 3, 1], [1, 2, 4]])
    hot = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    np.testing.assert_array_equal(
        L.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(hot),
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]],
    )
    np.testing.assert_array_equal(
        L.StringLookup(vocabulary=VOCAB, output_mode="count")(hot),
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]],
    )
    tf_idf = L.StringLookup(
        vocabulary=VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4], output_mode="tf_idf"
    )
    np.testing.assert_allclose(tf_idf(hot), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]])
    np.testing.assert_array_equal(
        L.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"]),
        np.eye(5)[[1, 2, 3, 4, 0]],
    )
    masked = L.StringLookup(vocabulary=VOCAB, mask_token="")
    np.testing.assert_array_equal(masked([["a", "c", "d"], ["d", "", "b"]]), [[2, 4, 5], [5, 0, 3]])
    inverse = L.StringLookup(vocabulary=VOCAB, invert=True)
    assert inverse([[1, 3, 4], [4, 0, 2]]).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_integer_lookup_keras_examples():
    vocab, data = [12, 36, 1138, 42], [[12, 1138, 42], [42, 1000, 36]]
    np.testing.assert_array_equal(L.IntegerLookup(vocabulary=vocab)(data), [[1, 3, 4], [4, 0, 2]])
    layer = L.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(layer(data), [[5, 2, 1], [1, 3, 4]])
    with pytest.raises(TypeError, match="takes integer tokens"):
        L.IntegerLookup(vocabulary=vocab)([[1.5]])


def test_text_vectorization_keras_examples():
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo", "bar", "baz"])
    np.testing.assert_array_equal(
        layer([["foo qux bar"], ["qux baz"]]), [[2, 1, 4, 0], [1, 3, 0, 0]]
    )
    given = L.TextVectorization(
        output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"]
    )
    np.testing.assert_array_equal(
        given([["earth wind and also fire"], ["fire and earth michigan"]]),
        [[2, 3, 4, 1], [5, 4, 2, 1]],
    )
    assert given.get_vocabulary()[:2] == ["", "[UNK]"] and given.vocabulary_size() == 6


def test_standardize_split_and_ngrams():
    layer = L.TextVectorization(ngrams=2)
    layer.adapt(["The cat, the HAT!"])
    vocabulary = layer.get_vocabulary(include_special_tokens=False)
    assert vocabulary[0] == "the" and set(vocabulary) == {
        "the",
        "cat",
        "hat",
        "the cat",
        "cat the",
        "the hat",
    }
    # Rows pad to the longest one; 1-grams then 2-grams, as tf.strings.ngrams orders them.
    ids = layer(["the cat", "hat"])
    assert ids.shape == (2, 3) and ids[1, 1] == 0
    assert [vocabulary[i - 2] for i in ids[0]] == ["the", "cat", "the cat"]
    chars = L.TextVectorization(split="character", standardize="lower", output_mode="count")
    chars.adapt(["abba"])
    np.testing.assert_array_equal(chars(["ABc"]), [[1, 1, 1]])  # [UNK], b, a (2 each: tie)
    custom = L.TextVectorization(standardize=lambda s: s.replace("-", " "), split=str.split)
    custom.adapt(["x-y y"])
    assert custom.get_vocabulary()[2:] == ["y", "x"]
    trigrams = L.TextVectorization(ngrams=(3,))
    trigrams.adapt(["a b c d"])
    assert trigrams.get_vocabulary()[2:] == ["b c d", "a b c"]


def test_max_tokens_pad_to_max_tokens_and_tf_idf():
    texts = ["a a a b b c", "a b d", "a e"]
    layer = L.TextVectorization(max_tokens=4, output_mode="multi_hot", pad_to_max_tokens=True)
    layer.adapt(texts)
    # No mask token outside 'int' mode; of the tokens seen once, Keras keeps the last in order.
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "e"]
    np.testing.assert_array_equal(layer(["b c z"]), [[1, 0, 1, 0]])
    padded = L.TextVectorization(max_tokens=8, output_mode="count", pad_to_max_tokens=True)
    padded.adapt(texts)
    assert padded.get_vocabulary() == ["[UNK]", "a", "b", "e", "d", "c"]
    np.testing.assert_array_equal(padded(["b c z z"]), [[2, 0, 1, 0, 0, 1, 0, 0]])
    tf_idf = L.TextVectorization(output_mode="tf_idf")
    tf_idf.adapt(texts)
    vocabulary = tf_idf.get_vocabulary()
    documents = {"a": 3, "b": 2, "c": 1, "d": 1, "e": 1}
    idf = [np.log(1 + 3 / (1 + documents[t])) for t in vocabulary[1:]]
    expected = np.zeros(len(vocabulary))
    for token in "a a b q".split():
        i = vocabulary.index(token) if token in vocabulary else 0
        expected[i] += 1
    np.testing.assert_allclose(
        tf_idf(["a a b q"])[0], expected * np.array([np.mean(idf), *idf]), rtol=1e-6
    )


def test_config_rebuilds_the_layer_and_saves_its_vocabulary():
    layer = L.TextVectorization(max_tokens=10, output_sequence_length=5, ngrams=2)
    layer.adapt(["one two three", "two three", "three"])
    twin = L.TextVectorization.from_config(layer.get_config())
    texts = ["three two one four", "two"]
    np.testing.assert_array_equal(twin(texts), layer(texts))
    assert twin.get_vocabulary() == layer.get_vocabulary()
    lookup = L.StringLookup(vocabulary=VOCAB, idf_weights=[1, 2, 3, 4], output_mode="tf_idf")
    np.testing.assert_array_equal(
        L.StringLookup.from_config(lookup.get_config())([["a", "z"]]), lookup([["a", "z"]])
    )
    with pytest.raises(ValueError, match="a config cannot hold"):
        L.TextVectorization(split=str.split).get_config()


def test_vocabulary_files_and_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\na\nb\n", encoding="utf-8")
    assert L.StringLookup(vocabulary=str(path)).get_vocabulary() == ["[UNK]", "a", "b"]
    with pytest.raises(ValueError, match="may only come first"):
        L.StringLookup(vocabulary=["a", "[UNK]"])
    with pytest.raises(ValueError, match="repeats tokens"):
        L.StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="more than max_tokens"):
        L.StringLookup(max_tokens=3, vocabulary=VOCAB)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: L.StringLookup(output_mode="binary"), "output_mode must be one of"),
        (lambda: L.StringLookup(num_oov_indices=2), "num_oov_indices must be 0 or 1"),
        (lambda: L.StringLookup(invert=True, output_mode="count"), "invert=True needs"),
        (lambda: L.StringLookup(pad_to_max_tokens=True), "pad_to_max_tokens=True needs"),
        (lambda: L.StringLookup(vocabulary=VOCAB, output_mode="tf_idf"), "needs idf_weights"),
        (lambda: L.TextVectorization(standardize="upper"), "standardize must be"),
        (lambda: L.TextVectorization(split="comma"), "split must be"),
        (lambda: L.TextVectorization(output_mode="count", output_sequence_length=3), "is for"),
        (lambda: L.TextVectorization(max_tokens=2), "leaves no room"),
    ],
)
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_use_is_named():
    strict = L.StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    with pytest.raises(ValueError, match="'z' is not"):
        strict([["a", "z"]])
    with pytest.raises(RuntimeError, match="needs a vocabulary"):
        L.TextVectorization(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="cannot adapt a layer whose vocabulary was set"):
        L.StringLookup(vocabulary=VOCAB).adapt([["a"]])
    with pytest.raises(ValueError, match="takes texts of shape"):
        L.TextVectorization()(np.array([["a", "b"]]))


def test_keras_text_classifier_trains_on_vectorized_text(device):
    """Keras' "text classification from scratch" recipe on a toy corpus: reviews that say
    good or bad words, vectorized outside the model, then Embedding, Conv1D and
    GlobalMaxPooling1D."""
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "superb", "fine"], ["awful", "dull", "poor", "boring"]
    filler = ["the", "film", "was", "a", "plot", "and", "acting", "really", "quite"]
    texts, labels = [], []
    for _ in range(300):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(filler, 6)) + [rng.choice(good if label else bad)]
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + "!")
        labels.append(label)
    vectorize = layers.TextVectorization(max_tokens=50, output_sequence_length=10)
    vectorize.adapt(texts[:200])
    x, y = vectorize(texts), np.array(labels)
    model = Sequential(
        [
            Input((10,)),
            layers.Embedding(50, 8),
            layers.Conv1D(8, 3, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.02), "binary_crossentropy", ["accuracy"])
    model.fit(x[:200], y[:200], batch_size=32, epochs=8, verbose=0)
    assert model.evaluate(x[200:], y[200:], verbose=0)[1] > 0.9


def test_adapt_reads_a_dataset_or_a_generator_of_batches():
    from minicnn.utils import PyDataset

    texts = ["b a", "c a", "a d", "b"]

    class Reviews(PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.array(texts[2 * i : 2 * i + 2]), np.zeros(2)

    for data in (Reviews(), (np.array(texts[i : i + 2]) for i in (0, 2))):
        layer = L.TextVectorization()
        layer.adapt(data)
        assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "d", "c"]
    first = L.TextVectorization()
    first.adapt(Reviews(), steps=1)
    assert first.get_vocabulary() == ["", "[UNK]", "a", "c", "b"]


TEXTS = np.array(
    [
        "the movie was great",
        "terrible plot and acting",
        "great acting",
        "a terrible movie",
        "what a great film",
        "bad and terrible",
    ]
)


def test_a_model_that_takes_raw_text(tmp_path, device):
    """Keras' end-to-end text model: Input(dtype="string"), then TextVectorization."""
    vectorize = L.TextVectorization(max_tokens=30)
    vectorize.adapt(TEXTS)
    texts = Input(shape=(1,), dtype="string")
    embedding, pooling, dense = (
        L.Embedding(30, 4, mask_zero=True),
        L.GlobalAveragePooling1D(),
        L.Dense(1),
    )
    model = Model(texts, dense(pooling(embedding(vectorize(texts))))).to(device)
    assert model.layers[1].sample_output_shape == (None,)
    ids = Input((None,), dtype="int64")
    on_ids = Model(ids, dense(pooling(embedding(ids)))).to(device)  # the same layers
    np.testing.assert_allclose(
        model.predict(TEXTS, verbose=0), on_ids.predict(vectorize(TEXTS), verbose=0), rtol=1e-6
    )
    model.compile(optimizers.Adam(0.05), "mse")
    targets = np.array([1, 0, 1, 0, 1, 0], np.float32)
    history = model.fit(TEXTS, targets, epochs=15, batch_size=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    model.save(tmp_path / "text.keras")
    loaded = load_model(tmp_path / "text.keras")
    assert loaded.inputs[0].dtype == "string"
    np.testing.assert_allclose(
        loaded.predict(["a great film", "terrible"], verbose=0),
        model.predict(["a great film", "terrible"], verbose=0),
        rtol=1e-6,
    )
    with pytest.raises(TypeError, match="takes texts"):
        model.predict(np.ones((2, 1)), verbose=0)


def test_lookups_and_vectors_in_a_graph():
    words = Input(shape=(3,), dtype="string")
    ids = L.StringLookup(vocabulary=VOCAB)(words)
    assert ids.shape == (None, 3)
    hot = L.TextVectorization(output_mode="multi_hot", vocabulary=["great", "bad"])
    vectors = hot(Input(shape=(1,), dtype="string"))
    assert vectors.shape == (None, 3)  # [UNK], great, bad
    model = Model(words, ids)
    np.testing.assert_array_equal(model.predict([["a", "z", "d"]], verbose=0), [[1, 0, 4]])


def test_a_sequential_model_of_raw_text_saves_its_input_dtype(tmp_path):
    vectorize = L.TextVectorization(max_tokens=30)
    vectorize.adapt(TEXTS)
    model = Sequential(
        [
            Input((1,), dtype="string"),
            vectorize,
            L.Embedding(30, 4),
            L.GlobalAveragePooling1D(),
            L.Dense(1),
        ]
    )
    model.save(tmp_path / "text.keras")
    loaded = load_model(tmp_path / "text.keras")
    np.testing.assert_allclose(
        loaded.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0), rtol=1e-6
    )
