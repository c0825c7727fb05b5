"""Writes the Keras files of lookup layers that Keras itself adapted, whose vocabularies it
keeps as assets (``assets/layers/string_lookup/vocabulary.txt``) and, for 'tf_idf', whose
idf weights it keeps among the weights: ``lookups.npz`` holds each model's input and
Keras' prediction. Keras' lookup layers need TensorFlow, so run it where Keras 3 and
TensorFlow are installed (neither is a dependency of minicnn; the files are kept):

    KERAS_BACKEND=tensorflow python tests/keras_files/make_lookup_files.py
"""

import os

import keras
import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = ["the cat sat", "the dog ran fast", "the cat ran"]


def string_lookup():
    inputs = keras.Input((3,), dtype="string")
    lookup = keras.layers.StringLookup(mask_token="")
    lookup.adapt(tf.constant([["a", "b", "c"], ["a", "d", "e"]]))
    return keras.Model(inputs, lookup(inputs)), [["a", "z", "e"], ["", "b", "a"]]


def integer_lookup():
    inputs = keras.Input((3,), dtype="int64")
    lookup = keras.layers.IntegerLookup(output_mode="multi_hot")
    lookup.adapt(np.array([[3, 5, 7], [3, 9, 11]]))
    return keras.Model(inputs, lookup(inputs)), [[3, 4, 11], [7, 7, 2]]


def tf_idf_text():
    inputs = keras.Input((1,), dtype="string")
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_mode="tf_idf")
    vectorize.adapt(TEXTS)
    return keras.Model(inputs, vectorize(inputs)), [["the cat ran far"], ["a dog, the dog"]]


def nested_sequence():
    """An int-mode TextVectorization inside a Sequential inside a functional model."""
    vectorize = keras.layers.TextVectorization(output_sequence_length=5)
    vectorize.adapt(TEXTS)
    inner = keras.Sequential([keras.Input((1,), dtype="string"), vectorize])
    inputs = keras.Input((1,), dtype="string")
    embedded = keras.layers.Embedding(20, 3)(inner(inputs))
    return keras.Model(inputs, embedded), [["the cat ran far"], ["sat"]]


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    found = {}
    for make in (string_lookup, integer_lookup, tf_idf_text, nested_sequence):
        model, data = make()
        model.save(os.path.join(HERE, f"lookup_{make.__name__}.keras"))
        x = np.array(data, dtype=object if isinstance(data[0][0], str) else np.int64)
        found[f"{make.__name__}_x"] = x.astype(str) if x.dtype == object else x
        found[f"{make.__name__}_y"] = np.asarray(model(tf.constant(data)))
    np.savez(os.path.join(HERE, "lookups.npz"), **found)
