"""Checks minicnn's layers against Keras' own, one layer at a time: Keras builds a model of
each case below (its weights moved off their initial values), predicts and saves it; minicnn
loads the file and must predict the same (to 1e-4 of the outputs' scale). Run it with a
Python where Keras 3 and a backend are installed, naming minicnn's Python:

    MINICNN_PYTHON=.venv/bin/python KERAS_BACKEND=jax python tests/keras_files/check_layers.py

With Keras 3.15 on JAX, all 146 cases agree both ways (Equalization, which Keras 3.15 cannot
put in a functional model, and Hashing, which needs TensorFlow, are left out). Then minicnn
writes each model it read as Keras 3's archive again, and Keras must load it and predict the
same.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CHECK = """
import json, sys, warnings
import numpy as np
from minicnn import load_model
folder = sys.argv[1]
extension = sys.argv[2] if len(sys.argv) > 2 else "keras"  # "h5": Keras 2's files
made = json.load(open(f"{folder}/made.json"))
for name, status in made.items():
    if status != "ok":
        print(f"{name}: not made by Keras ({status})")
        continue
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model(f"{folder}/{name}.{extension}", compile=False)
        saved = np.load(f"{folder}/{name}.npz")
        got = np.asarray(model.predict(saved["x"], verbose=0), np.float64)
        worst = float(np.abs(got - saved["y"]).max())
        scale = max(1.0, float(np.abs(saved["y"]).max()))
        print(f"{name}: {'agrees' if worst <= 1e-4 * scale else 'DIFFERS'} ({worst:.3g})")
    except Exception as error:
        print(f"{name}: NOT READ ({type(error).__name__}: {error})")
"""


# minicnn writes each model it reads as Keras 3's .keras archive (argv[2]: the extension of
# the files it reads), which Keras 3 must load and predict the same from.
CONVERT = """
import os, sys, warnings
from minicnn import load_model
folder, extension = sys.argv[1], sys.argv[2]
os.makedirs(f"{folder}/keras3", exist_ok=True)
for name in sys.argv[3:]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model(f"{folder}/{name}.{extension}", compile=False)
            model.export(f"{folder}/keras3/{name}.keras")
    except Exception as error:
        print(f"{name}: NOT WRITTEN ({type(error).__name__}: {error})")
"""
IN_KERAS3 = """
import os, sys
import numpy as np
import keras
folder = sys.argv[1]
for name in sys.argv[2:]:
    path = f"{folder}/keras3/{name}.keras"
    if not os.path.exists(path):
        continue
    try:
        model = keras.saving.load_model(path, compile=False)
        saved = np.load(f"{folder}/{name}.npz")
        worst = float(np.abs(np.asarray(model.predict(saved["x"], verbose=0)) - saved["y"]).max())
        scale = max(1.0, float(np.abs(saved["y"]).max()))
        verdict = "agrees" if worst <= 1e-4 * scale else "DIFFERS"
        print(f"{name} written by minicnn, read by Keras 3: {verdict} ({worst:.3g})")
    except Exception as error:
        print(f"{name} written by minicnn: NOT READ by Keras 3 ({type(error).__name__}: {error})")
"""


def exported_to_keras3(python, keras3, folder, extension, names):
    """minicnn (``python``) writes each model of the folder as Keras 3's archive, and Keras 3
    (``keras3``) reads it and must predict what the model's .npz holds."""
    subprocess.run([python, "-c", CONVERT, folder, extension, *names], check=True)
    environment = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    subprocess.run([keras3, "-c", IN_KERAS3, folder, *names], check=True, env=environment)


def move_weights(model, rng, scale):
    """Each float weight (and statistic) of the model off its initial value."""
    for layer in model.layers:
        moved = [
            w + rng.normal(0, scale, w.shape).astype(w.dtype) if w.dtype.kind == "f" else w
            for w in layer.get_weights()
        ]
        if moved:
            layer.set_weights(moved)


def make_cases(keras, cases, layer_of, folder, extension):
    """Each case (name: (layer spec, input shape; "int" or None for ids)) as a one-layer
    model, saved with its input and predictions; made.json says which were made."""
    rng = np.random.default_rng(0)
    done = {}
    for name, (spec, shape) in cases.items():
        try:
            if shape == "masked":  # padded ids, embedded with their mask, then the layer
                inp = keras.Input((6,), dtype="int32")
                x = rng.integers(1, 12, (3, 6)).astype("int32")
                x[0, 4:], x[1, 2:] = 0, 0
            elif shape in ("int", None):  # ids: a category encoding's tokens, an embedding's
                inp = keras.Input((4,), dtype="int32")
                x = rng.integers(0, 6 if shape else 10, (3, 4)).astype("int32")
            elif shape[0] == "image":  # pixel values in [0, 255]
                inp = keras.Input(shape[1])
                x = rng.uniform(0, 255, size=(3, *shape[1])).round().astype("float32")
            else:
                inp = keras.Input(shape)
                x = rng.normal(size=(3, *shape)).astype("float32")
            if shape == "masked":  # the mask the layer gives on shows in a masked average
                out = layer_of(spec)(keras.layers.Embedding(12, 4, mask_zero=True)(inp))
                if len(out.shape) == 3:
                    out = keras.layers.GlobalAveragePooling1D()(out)
                model = keras.Model(inp, out)
            else:
                model = keras.Model(inp, layer_of(spec)(inp))
            move_weights(model, rng, 0.1)
            y = model.predict(x, verbose=0)
            model.save(os.path.join(folder, f"{name}.{extension}"))
            np.savez(os.path.join(folder, f"{name}.npz"), x=x, y=y)
            done[name] = "ok"
        except Exception as error:
            done[name] = f"{type(error).__name__}: {str(error)[:150]}"
    with open(os.path.join(folder, "made.json"), "w") as f:
        json.dump(done, f)
    return done


if __name__ == "__main__":
    import keras
    from keras import layers as L  # noqa: N812 - the cases below are written with it

    folder = tempfile.mkdtemp()
    CASES = {
        "Conv2D_same_stride": ("L.Conv2D(4, 3, strides=2, padding='same')", (9, 9, 3)),
        "Conv2D_groups": ("L.Conv2D(4, 3, groups=2)", (8, 8, 4)),
        "Conv1D_dilated": ("L.Conv1D(3, 3, dilation_rate=2, padding='same')", (10, 4)),
        "Conv3D": ("L.Conv3D(2, 3, padding='same')", (5, 5, 5, 2)),
        "Conv1DTranspose": ("L.Conv1DTranspose(3, 3, strides=2)", (6, 4)),
        "Conv2DTranspose_valid": ("L.Conv2DTranspose(3, 3, strides=2, padding='valid')", (5, 5, 2)),
        "Conv3DTranspose": ("L.Conv3DTranspose(2, 3, strides=2, padding='same')", (3, 3, 3, 2)),
        "DepthwiseConv2D_mult": (
            "L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding='same')",
            (8, 8, 3),
        ),
        "DepthwiseConv1D": ("L.DepthwiseConv1D(3, depth_multiplier=2)", (8, 3)),
        "SeparableConv1D": ("L.SeparableConv1D(4, 3, padding='same')", (8, 3)),
        "AveragePooling2D_same": ("L.AveragePooling2D(3, strides=2, padding='same')", (7, 7, 2)),
        "MaxPooling1D": ("L.MaxPooling1D(2)", (8, 3)),
        "AveragePooling1D_same": ("L.AveragePooling1D(3, strides=2, padding='same')", (7, 3)),
        "MaxPooling3D": ("L.MaxPooling3D(2)", (4, 4, 4, 2)),
        "AveragePooling3D": ("L.AveragePooling3D(2)", (4, 4, 4, 2)),
        "GlobalAveragePooling2D_keep": ("L.GlobalAveragePooling2D(keepdims=True)", (4, 4, 3)),
        "GlobalMaxPooling3D": ("L.GlobalMaxPooling3D()", (3, 3, 3, 2)),
        "BatchNormalization_axis": ("L.BatchNormalization(axis=1)", (4, 5)),
        "LayerNormalization_axes": ("L.LayerNormalization(axis=[1, 2])", (3, 4, 2)),
        "GroupNormalization": ("L.GroupNormalization(groups=2)", (4, 4, 4)),
        "UnitNormalization": ("L.UnitNormalization()", (5,)),
        "Dense_3d": ("L.Dense(3, activation='gelu')", (4, 5)),
        "EinsumDense": (
            "L.EinsumDense('abc,cd->abd', output_shape=(None, 3), bias_axes='d')",
            (4, 5),
        ),
        "Embedding": ("L.Embedding(10, 3)", None),
        "Activation_softsign": ("L.Activation('softsign')", (5,)),
        "Activation_hard_sigmoid": ("L.Activation('hard_sigmoid')", (5,)),
        "Activation_mish": ("L.Activation('mish')", (5,)),
        "Activation_relu6": ("L.Activation('relu6')", (5,)),
        "Activation_silu": ("L.Activation('silu')", (5,)),
        "Activation_elu": ("L.Activation('elu')", (5,)),
        "Activation_log_softmax": ("L.Activation('log_softmax')", (5,)),
        "ELU": ("L.ELU(alpha=0.5)", (5,)),
        "ReLU_args": ("L.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)", (5,)),
        "Softmax_axis": ("L.Softmax(axis=1)", (3, 4)),
        "PReLU_shared": ("L.PReLU(shared_axes=[1, 2])", (3, 3, 2)),
        "Cropping1D": ("L.Cropping1D((1, 2))", (6, 2)),
        "ZeroPadding1D": ("L.ZeroPadding1D(2)", (4, 2)),
        "UpSampling1D": ("L.UpSampling1D(2)", (3, 2)),
        "UpSampling2D_nearest": ("L.UpSampling2D((2, 3))", (2, 2, 2)),
        "UpSampling3D": ("L.UpSampling3D(2)", (2, 2, 2, 1)),
        "ZeroPadding3D": ("L.ZeroPadding3D(1)", (2, 2, 2, 1)),
        "Cropping3D": ("L.Cropping3D(1)", (4, 4, 4, 1)),
        "Flatten": ("L.Flatten()", (2, 3, 2)),
        "RepeatVector": ("L.RepeatVector(3)", (4,)),
        "Permute": ("L.Permute((2, 1))", (3, 4)),
        "Reshape": ("L.Reshape((-1, 2))", (3, 4)),
        "CenterCrop": ("L.CenterCrop(4, 4)", (6, 7, 3)),
        "Resizing_bicubic": ("L.Resizing(5, 7, interpolation='bicubic')", (8, 8, 2)),
        "Resizing_crop": ("L.Resizing(5, 5, crop_to_aspect_ratio=True)", (8, 6, 2)),
        "Rescaling": ("L.Rescaling(0.5, offset=1.0)", (3,)),
        "CategoryEncoding": ("L.CategoryEncoding(num_tokens=6, output_mode='count')", "int"),
        "Discretization": ("L.Discretization(bin_boundaries=[0.2, 0.5, 0.8])", (4,)),
        "SimpleRNN_relu": ("L.SimpleRNN(3, activation='relu', return_sequences=True)", (5, 2)),
        "LSTM_state": ("L.LSTM(3, go_backwards=True)", (5, 2)),
        "ConvLSTM2D": ("L.ConvLSTM2D(2, 3, padding='same')", (3, 5, 5, 1)),
        "ConvLSTM1D": ("L.ConvLSTM1D(2, 3)", (3, 6, 2)),
        "TimeDistributed_conv": ("L.TimeDistributed(L.Conv2D(2, 3))", (2, 5, 5, 1)),
        "Attention_layer": ("ATTN", (4, 3)),
        "AdditiveAttention_layer": ("ADDATTN", (4, 3)),
        "GroupQueryAttention": ("GQA", (4, 8)),
        "MHA_causal": ("MHACAUSAL", (4, 8)),
        "Dot_axes": ("DOT", (4, 3)),
        "Subtract": ("SUB", (4,)),
        "Average": ("AVG", (4,)),
        "Minimum": ("MIN", (4,)),
        "Concatenate_axis1": ("CONCAT", (2, 3)),
        "SpectralNormalization": ("L.SpectralNormalization(L.Dense(3))", (4,)),
        "Masking": ("L.Masking(mask_value=0.0)", (4, 2)),
        "ActivityRegularization": ("L.ActivityRegularization(l1=0.1)", (4,)),
        "Identity": ("L.Identity()", (4,)),
        "RMSNormalization": ("L.RMSNormalization()", (4, 3)),
        "AdaptiveAveragePooling2D": ("L.AdaptiveAveragePooling2D((3, 2))", (7, 5, 2)),
        "AdaptiveMaxPooling1D": ("L.AdaptiveMaxPooling1D(3)", (8, 2)),
        "AdaptiveAveragePooling3D": ("L.AdaptiveAveragePooling3D((2, 2, 2))", (5, 4, 3, 1)),
        "AdaptiveMaxPooling2D": ("L.AdaptiveMaxPooling2D((3, 3))", (7, 8, 2)),
        "AutoContrast": ("L.AutoContrast(value_range=(0, 255))", ("image", (6, 5, 3))),
        "CLAHE": (
            "L.ContrastLimitedAdaptiveHistogramEqualization("
            "value_range=(0, 255), tile_grid_size=(2, 2))",
            ("image", (8, 8, 1)),
        ),
        "MelSpectrogram": (
            "L.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8, "
            "sampling_rate=1600)",
            (256,),
        ),
        "STFTSpectrogram": (
            "L.STFTSpectrogram(mode='log', frame_length=16, frame_step=8, fft_length=16)",
            (64, 1),
        ),
        "StackedRNNCells": ("L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]))", (4, 2)),
        "SimpleRNNCell": ("L.RNN(L.SimpleRNNCell(3), return_sequences=True)", (4, 2)),
        "GRUCell_reset_before": ("L.RNN(L.GRUCell(3, reset_after=False))", (4, 2)),
        "ConvLSTM3D": ("L.ConvLSTM3D(2, 3, padding='same')", (2, 4, 4, 4, 1)),
        "GRU_reset_before": ("L.GRU(3, reset_after=False, return_sequences=True)", (5, 2)),
        "Bidirectional_sum": (
            "L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode='sum')",
            (5, 2),
        ),
        "Bidirectional_ConvLSTM2D": (
            "L.Bidirectional(L.ConvLSTM2D(2, 3, padding='same', return_sequences=True))",
            (3, 4, 4, 1),
        ),
        "Bidirectional_cells": (
            "L.Bidirectional(L.RNN([L.GRUCell(3), L.LSTMCell(2)]), merge_mode='ave')",
            (4, 2),
        ),
        "LeakyReLU": ("L.LeakyReLU(negative_slope=0.3)", (5,)),
        "Cropping2D": ("L.Cropping2D(((1, 0), (0, 2)))", (5, 6, 2)),
        "ZeroPadding2D": ("L.ZeroPadding2D(((1, 0), (2, 1)))", (3, 3, 2)),
        "SeparableConv2D": (
            "L.SeparableConv2D(4, 3, depth_multiplier=2, strides=2, padding='same')",
            (8, 8, 3),
        ),
        "Normalization_given": ("L.Normalization(mean=[0.5, 1.0], variance=[2.0, 0.5])", (3, 2)),
        "GlobalAveragePooling1D": ("L.GlobalAveragePooling1D()", (5, 3)),
        "GlobalMaxPooling1D": ("L.GlobalMaxPooling1D(keepdims=True)", (5, 3)),
        "GlobalMaxPooling2D": ("L.GlobalMaxPooling2D()", (4, 4, 3)),
        "GlobalAveragePooling3D": ("L.GlobalAveragePooling3D()", (3, 3, 3, 2)),
        "Conv1D_causal": ("L.Conv1D(3, 3, padding='causal', dilation_rate=2)", (8, 2)),
        "UpSampling2D_bilinear": ("L.UpSampling2D(2, interpolation='bilinear')", (3, 4, 2)),
        "Masked_average": ("MASKED", None),
        "Dot_normalized": ("DOTNORM", (4,)),
        "Multiply": ("MUL", (4,)),
        "Maximum": ("MAX", (4,)),
        "Add": ("ADD", (4,)),
    }
    # Each layer on an embedded padded sequence with its mask, a masked average after it:
    # how the layer reads the mask and which mask it gives on.
    MASKED_CASES = {
        "Dense": "L.Dense(3)",
        "EinsumDense": "L.EinsumDense('abc,cd->abd', output_shape=(None, 3))",
        "LSTM_sequences": "L.LSTM(3, return_sequences=True)",
        "GRU_last": "L.GRU(3)",
        "SimpleRNN_backwards": "L.SimpleRNN(3, go_backwards=True, return_sequences=True)",
        "RNN_LSTMCell": "L.RNN(L.LSTMCell(3), return_sequences=True)",
        "Bidirectional_sequences": "L.Bidirectional(L.LSTM(2, return_sequences=True))",
        "Bidirectional_last": "L.Bidirectional(L.GRU(2))",
        "Bidirectional_cell": "L.Bidirectional(L.RNN(L.GRUCell(2), return_sequences=True))",
        "LSTM_zero_output": "L.LSTM(3, zero_output_for_mask=True)",
        "RNN_cell_zero_output": "L.RNN(L.SimpleRNNCell(3), zero_output_for_mask=True)",
        "TimeDistributed": "L.TimeDistributed(L.Dense(3))",
        "LayerNormalization": "L.LayerNormalization()",
        "BatchNormalization": "L.BatchNormalization()",
        "RMSNormalization": "L.RMSNormalization()",
        "GroupNormalization": "L.GroupNormalization(groups=2)",
        "UnitNormalization": "L.UnitNormalization()",
        "Dropout": "L.Dropout(0.3)",
        "SpatialDropout1D": "L.SpatialDropout1D(0.3)",
        "GaussianNoise": "L.GaussianNoise(0.1)",
        "Activation": "L.Activation('tanh')",
        "ReLU": "L.ReLU()",
        "Identity": "L.Identity()",
        "Masking": "L.Masking(0.0)",
        "Conv1D": "L.Conv1D(3, 2, padding='same')",
        "MaxPooling1D": "L.MaxPooling1D(2)",
        "UpSampling1D": "L.UpSampling1D(2)",
        "ZeroPadding1D": "L.ZeroPadding1D(1)",
        "Cropping1D": "L.Cropping1D((1, 0))",
        "Reshape": "L.Reshape((6, 2, 2))",
        "Flatten": "L.Flatten()",
        "GlobalAveragePooling1D": "L.GlobalAveragePooling1D()",
        "GlobalMaxPooling1D": "L.GlobalMaxPooling1D()",
        "Add": "ADD",
        "Multiply": "MUL",
        "Maximum": "MAX",
        "Subtract": "SUB",
        "Concatenate_features": "L.Concatenate()([inp, L.Dense(3)(inp)])",
        "Concatenate_steps": "L.Concatenate(axis=1)([inp, L.Dense(4)(inp)])",
        "MultiHeadAttention": "L.MultiHeadAttention(2, 3)(inp, inp)",
        "MHA_then_Add": "L.Add()([inp, L.MultiHeadAttention(2, 3)(inp, inp)])",
        "Attention": "L.Attention()([inp, inp])",
        "AdditiveAttention": "ADDATTN",
    }
    CASES.update({f"masked_{name}": (spec, "masked") for name, spec in MASKED_CASES.items()})

    two_inputs = {
        "ATTN": lambda inp: L.Attention(use_scale=True)([inp, inp]),
        "ADDATTN": lambda inp: L.AdditiveAttention()([inp, inp]),
        "GQA": lambda inp: L.GroupQueryAttention(
            head_dim=2, num_query_heads=4, num_key_value_heads=2
        )(inp, inp),
        "MHACAUSAL": lambda inp: L.MultiHeadAttention(2, 3)(inp, inp, use_causal_mask=True),
        "DOT": lambda inp: L.Dot(axes=2)([inp, L.Dense(3)(inp)]),
        "SUB": lambda inp: L.Subtract()([inp, L.Dense(4)(inp)]),
        "AVG": lambda inp: L.Average()([inp, L.Dense(4)(inp)]),
        "MIN": lambda inp: L.Minimum()([inp, L.Dense(4)(inp)]),
        "CONCAT": lambda inp: L.Concatenate(axis=1)([inp, L.Dense(3)(inp)]),
        "MASKED": lambda inp: L.GlobalAveragePooling1D()(L.Embedding(10, 3, mask_zero=True)(inp)),
        "DOTNORM": lambda inp: L.Dot(axes=1, normalize=True)([inp, L.Dense(4)(inp)]),
        "MUL": lambda inp: L.Multiply()([inp, L.Dense(4)(inp)]),
        "MAX": lambda inp: L.Maximum()([inp, L.Dense(4)(inp)]),
        "ADD": lambda inp: L.Add()([inp, L.Dense(4)(inp)]),
    }

    def layer_of(spec):
        if spec in two_inputs:
            return two_inputs[spec]
        if "inp" in spec:  # a graph of its own on the input
            return lambda inp: eval(spec)
        return eval(spec)

    make_cases(keras, CASES, layer_of, folder, "keras")
    python = os.environ.get("MINICNN_PYTHON", sys.executable)
    subprocess.run([python, "-c", CHECK, folder], check=True)
    made = [
        name for name, status in json.load(open(f"{folder}/made.json")).items() if status == "ok"
    ]
    exported_to_keras3(python, sys.executable, folder, "keras", made)
