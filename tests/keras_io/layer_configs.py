"""Every layer class that Keras 3.15 and minicnn both have, made with the same arguments,
and its ``get_config()`` printed as JSON (sorted keys, without the names that counters
give): the configs of the two libraries compared key by key. The arguments a layer needs
are taken by name from ARGUMENTS; SPECIAL adds layers made with more of their arguments
set (regularizers, constraints, initializers, wrappers, cells)."""

import inspect
import json
import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers

ARGUMENTS = {
    "units": 3,
    "filters": 2,
    "kernel_size": 3,
    "rate": 0.5,
    "num_heads": 2,
    "key_dim": 4,
    "input_dim": 10,
    "output_dim": 4,
    "target_shape": (2, 2),
    "height": 4,
    "width": 4,
    "size": 2,
    "dims": (1, 2),
    "n": 2,
    "axis": -1,
    "factor": 0.1,
    "pool_size": 2,
    "cropping": 1,
    "padding": 1,
    "scale": 1.0,
    "stddev": 0.1,
    "value": 0.0,
    "group_size": 2,
    "num_query_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 4,
    "alpha": 0.3,
    "negative_slope": 0.1,
    "activation": "relu",
    "num_classes": 3,
    "output_size": 2,
    "num_tokens": 4,
    "axes": 1,
    "shape": (3,),
    "value_range": (0, 255),
    "height_factor": 0.1,
    "width_factor": 0.2,
    "equation": "ab,bc->ac",
    "output_shape": 3,
}
# Not made from ARGUMENTS: they need a layer, a function or strings (and TensorFlow).
LEFT_OUT = {
    "Bidirectional",
    "Lambda",
    "StackedRNNCells",
    "RNN",
    "TimeDistributed",
    "Wrapper",
    "SpectralNormalization",
    "Pipeline",
    "RandomPosterization",
    "FlaxLayer",
    "JaxLayer",
    "TFSMLayer",
    "TorchModuleWrapper",
    "HashedCrossing",
    "Hashing",
    "IntegerLookup",
    "StringLookup",
    "TextVectorization",
    "MaxNumBoundingBoxes",
    "Layer",
    "InputSpec",
}
regularizers, constraints, initializers = keras.regularizers, keras.constraints, keras.initializers
SPECIAL = {
    "Bidirectional": lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True)),
    "Bidirectional_sum": lambda: layers.Bidirectional(layers.GRU(2), merge_mode="sum"),
    "TimeDistributed": lambda: layers.TimeDistributed(layers.Conv2D(2, 3)),
    "SpectralNormalization": lambda: layers.SpectralNormalization(
        layers.Dense(2), power_iterations=2
    ),
    "RNN_cells": lambda: layers.RNN([layers.LSTMCell(2), layers.GRUCell(3)]),
    "RNN": lambda: layers.RNN(layers.SimpleRNNCell(2), return_sequences=True),
    "StackedRNNCells": lambda: layers.StackedRNNCells([layers.LSTMCell(2), layers.GRUCell(3)]),
    "Pipeline": lambda: layers.Pipeline([layers.RandomFlip(), layers.RandomRotation(0.1)]),
    "Discretization": lambda: layers.Discretization(bin_boundaries=[0.0, 1.0]),
    "Discretization_bins": lambda: layers.Discretization(num_bins=4),
    "CategoryEncoding": lambda: layers.CategoryEncoding(num_tokens=4, output_mode="count"),
    "InputLayer": lambda: layers.InputLayer(shape=(3,)),
    "Dense_options": lambda: layers.Dense(
        3,
        activation="softmax",
        kernel_regularizer="l2",
        bias_regularizer=regularizers.L1L2(0.1, 0.2),
        kernel_constraint=constraints.MaxNorm(2),
        activity_regularizer="l1",
        kernel_initializer=initializers.HeNormal(seed=3),
    ),
    "Conv2D_options": lambda: layers.Conv2D(
        3,
        3,
        kernel_regularizer=regularizers.L2(0.01),
        bias_constraint="non_neg",
        kernel_initializer="he_uniform",
    ),
    "Embedding_options": lambda: layers.Embedding(
        10, 3, mask_zero=True, embeddings_initializer="normal"
    ),
    "LSTM_options": lambda: layers.LSTM(
        4,
        dropout=0.1,
        recurrent_dropout=0.2,
        return_sequences=True,
        return_state=True,
        go_backwards=True,
        kernel_initializer="lecun_normal",
        bias_initializer="ones",
    ),
    "BatchNormalization_options": lambda: layers.BatchNormalization(
        axis=1, momentum=0.9, epsilon=1e-5, center=False, gamma_initializer="random_normal"
    ),
    "MultiHeadAttention_options": lambda: layers.MultiHeadAttention(
        4, 8, value_dim=6, dropout=0.1, use_bias=False, output_shape=5, attention_axes=(1,)
    ),
    "Resizing_options": lambda: layers.Resizing(
        10, 12, interpolation="nearest", crop_to_aspect_ratio=True
    ),
    "Conv1DTranspose_options": lambda: layers.Conv1DTranspose(
        3, 2, strides=2, padding="same", output_padding=1
    ),
    "UpSampling2D_options": lambda: layers.UpSampling2D((2, 3), interpolation="bilinear"),
    "Cropping2D_options": lambda: layers.Cropping2D(((1, 2), (3, 4))),
    "ReLU_options": lambda: layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5),
    "AveragePooling2D_options": lambda: layers.AveragePooling2D(3, strides=2, padding="same"),
    "GlobalMaxPooling2D_options": lambda: layers.GlobalMaxPooling2D(keepdims=True),
    "ConvLSTM2D_options": lambda: layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True),
    "Attention_options": lambda: layers.Attention(use_scale=True, score_mode="concat"),
    "SeparableConv2D_options": lambda: layers.SeparableConv2D(
        2,
        3,
        depthwise_regularizer="l2",
        pointwise_regularizer="l1",
        pointwise_constraint="unit_norm",
        depthwise_constraint="non_neg",
    ),
    "PReLU_options": lambda: layers.PReLU(alpha_constraint="non_neg", shared_axes=[1, 2]),
    "InputLayer_options": lambda: layers.InputLayer(shape=(4, 2), batch_size=8, dtype="int32"),
    "Model_sequential": lambda: keras.Sequential(
        [keras.Input((6,), name="i"), layers.Dense(3, name="a"), layers.Dropout(0.1, name="b")],
        name="s",
    ),
    "Model_functional": lambda: functional(),
    "Model_functional_lists": lambda: functional(listed=True),
    "Model_functional_calls": lambda: calls(),
}


def calls():
    """Layers whose calls Keras records with their training or mask arguments."""
    images = keras.Input((6, 6, 3), name="images")
    x = layers.RandomFlip(name="flip")(images)
    x = layers.Conv2D(4, 3, name="conv")(x)
    x = layers.BatchNormalization(name="norm")(x)
    x = layers.Dropout(0.1, name="drop")(x)
    x = layers.Reshape((16, 4), name="steps")(x)
    x = layers.LSTM(3, return_sequences=True, name="lstm")(x)
    x = layers.Softmax(name="soft")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(0.2, name="kept")(x, training=True)
    return keras.Model(images, layers.Dense(2, name="head")(x), name="c")


def functional(listed=False):
    """Two inputs, a shared layer, a nested Sequential and two outputs (or lists of one)."""
    first, second = keras.Input((6,), name="p"), keras.Input((6,), name="q")
    shared = layers.Dense(4, activation="relu", name="shared")
    inner = keras.Sequential(
        [keras.Input((4,), name="inner_in"), layers.Dense(2, name="inner_dense")], name="inner"
    )
    joined = layers.Concatenate(name="join")([shared(first), shared(second)])
    out = layers.Dense(1, name="out")(joined)
    if listed:
        return keras.Model([first], [inner(shared(first))], name="f")
    return keras.Model([first, second], [out, inner(shared(second))], name="f")


def made_from_arguments(cls):
    """The layer, its required arguments taken by name from ARGUMENTS."""
    given = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            given[p.name] = ARGUMENTS[p.name]
    return cls(**given)


def without_names(value):
    if isinstance(value, dict):
        return {k: without_names(v) for k, v in value.items() if k != "name"}
    if isinstance(value, list):
        return [without_names(v) for v in value]
    return value


def main():
    made = {}
    for name in sorted(dir(layers)):
        cls = getattr(layers, name)
        if inspect.isclass(cls) and not name.startswith("_") and name not in LEFT_OUT:
            made[name] = lambda cls=cls: made_from_arguments(cls)
    made.update(SPECIAL)
    for name in sorted(made):
        try:
            config = made[name]().get_config()
        except Exception as error:  # a layer one library lacks, or refuses these arguments
            print(name, "error", type(error).__name__)
            continue
        plain = json.loads(json.dumps(config, default=repr))
        print(name, json.dumps(without_names(plain), sort_keys=True))


main()
