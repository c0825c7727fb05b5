"""Checks minicnn's reading of Keras 2's layers, one at a time: TensorFlow 2.15's Keras
builds a model of each case below (its weights moved off their initial values), predicts
and saves it as a legacy ``.h5`` file; minicnn loads the file and must predict the same (to
1e-4 of the outputs' scale); then minicnn writes each model again (``model.save(".h5")``)
and TensorFlow's Keras loads that file and must predict the same. Run it with a Python where
TensorFlow 2.15 is installed, naming minicnn's Python:

    MINICNN_PYTHON=.venv/bin/python python tests/keras2_files/check_keras2_layers.py

With KERAS3_PYTHON naming a Python where Keras 3 is installed, minicnn also converts each
model to Keras 3's ``.keras`` archive, and Keras 3 must load it and predict the same.
CASES="LSTM_initial_state,GRU_initial_state" checks those cases alone.

With TensorFlow 2.15.1, minicnn read 73 of the 74 cases (a Lambda's bytecode is refused by
name), and TensorFlow read back 72 of minicnn's 73 files, predicting the same: the one left,
SpectralNormalization's, is a legacy file TensorFlow does not read even when it wrote it.
"""

import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "keras_files"))

import numpy as np  # noqa: E402
from check_layers import CHECK, exported_to_keras3, make_cases  # noqa: E402

# minicnn writes each model it reads again, as Keras' legacy file.
EXPORT = """
import os, sys, warnings
from minicnn import load_model
folder = sys.argv[1]
os.makedirs(f"{folder}/again", exist_ok=True)
for name in sys.argv[2:]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_model(f"{folder}/{name}.h5", compile=False).save(f"{folder}/again/{name}.h5")
    except Exception as error:
        print(f"{name}: NOT WRITTEN ({type(error).__name__}: {error})")
"""


def check_in_keras3(python, folder, names):
    """With KERAS3_PYTHON (a Python where Keras 3 is installed), minicnn converts each Keras
    2 file to Keras 3's archive, which Keras 3 must load and predict the same from."""
    keras3 = os.environ.get("KERAS3_PYTHON")
    if keras3:
        exported_to_keras3(python, keras3, folder, "h5", names)


def check_written(keras, folder, names):
    """TensorFlow's Keras loads what minicnn wrote and predicts as the original did."""
    for name in names:
        path = os.path.join(folder, "again", f"{name}.h5")
        if not os.path.exists(path):
            continue
        try:
            model = keras.models.load_model(path, compile=False)
            saved = np.load(os.path.join(folder, f"{name}.npz"))
            got = np.asarray(model.predict(saved["x"], verbose=0), np.float64)
            worst = float(np.abs(got - saved["y"]).max())
            scale = max(1.0, float(np.abs(saved["y"]).max()))
            verdict = "agrees" if worst <= 1e-4 * scale else "DIFFERS"
            print(f"{name} written by minicnn, read by Keras 2: {verdict} ({worst:.3g})")
        except Exception as error:
            print(
                f"{name} written by minicnn: NOT READ by Keras 2 ({type(error).__name__}: {error})"
            )


if __name__ == "__main__":
    from tensorflow import keras
    from tensorflow.keras import layers as L  # noqa: N812 - the cases below are written with it

    folder = tempfile.mkdtemp()
    CASES = {
        "Conv2D_same_stride": ("L.Conv2D(4, 3, strides=2, padding='same')", (9, 9, 3)),
        "Conv2D_groups": ("L.Conv2D(4, 3, groups=2)", (8, 8, 4)),
        "Conv1D_causal": ("L.Conv1D(3, 3, dilation_rate=2, padding='causal')", (10, 4)),
        "Conv3D": ("L.Conv3D(2, 3, padding='same')", (5, 5, 5, 2)),
        "Conv1DTranspose": ("L.Conv1DTranspose(3, 3, strides=2)", (6, 4)),
        "Conv2DTranspose": ("L.Conv2DTranspose(3, 3, strides=2, padding='same')", (5, 5, 2)),
        "Conv3DTranspose": ("L.Conv3DTranspose(2, 3, strides=2, padding='same')", (3, 3, 3, 2)),
        "DepthwiseConv2D": ("L.DepthwiseConv2D(3, depth_multiplier=2, padding='same')", (8, 8, 3)),
        "DepthwiseConv1D": ("L.DepthwiseConv1D(3, depth_multiplier=2)", (8, 3)),
        "SeparableConv2D": ("L.SeparableConv2D(4, 3, padding='same')", (8, 8, 3)),
        "SeparableConv1D": ("L.SeparableConv1D(4, 3)", (8, 3)),
        "AveragePooling2D": ("L.AveragePooling2D(3, strides=2, padding='same')", (7, 7, 2)),
        "MaxPooling1D": ("L.MaxPooling1D(2)", (8, 3)),
        "MaxPooling3D": ("L.MaxPooling3D(2)", (4, 4, 4, 2)),
        "GlobalAveragePooling1D": ("L.GlobalAveragePooling1D()", (5, 3)),
        "GlobalMaxPooling2D_keep": ("L.GlobalMaxPooling2D(keepdims=True)", (4, 4, 3)),
        "BatchNormalization_axis1": ("L.BatchNormalization(axis=1)", (4, 5)),
        "BatchNormalization_conv": ("L.BatchNormalization(momentum=0.9)", (3, 3, 4)),
        "LayerNormalization_axes": ("L.LayerNormalization(axis=[1, 2])", (3, 4, 2)),
        "GroupNormalization": ("L.GroupNormalization(groups=2)", (4, 4, 4)),
        "UnitNormalization": ("L.UnitNormalization()", (5,)),
        "Normalization": ("L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])", (3, 2)),
        "Dense_regularized": (
            "L.Dense(3, kernel_regularizer='l1_l2', kernel_constraint='max_norm')",
            (5,),
        ),
        "EinsumDense": (
            "L.EinsumDense('abc,cd->abd', output_shape=(None, 3), bias_axes='d')",
            (4, 5),
        ),
        "Embedding": ("L.Embedding(10, 3, input_length=4)", None),
        "Activation_selu": ("L.Activation('selu')", (5,)),
        "Activation_gelu": ("L.Activation('gelu')", (5,)),
        "Activation_swish": ("L.Activation('swish')", (5,)),
        "LeakyReLU": ("L.LeakyReLU(alpha=0.2)", (5,)),
        "ThresholdedReLU": ("L.ThresholdedReLU(theta=0.3)", (5,)),
        "ELU": ("L.ELU(alpha=0.5)", (5,)),
        "ReLU_args": ("L.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)", (5,)),
        "Softmax_axis": ("L.Softmax(axis=1)", (3, 4)),
        "PReLU_shared": ("L.PReLU(shared_axes=[1, 2])", (3, 3, 2)),
        "Dropout": ("L.Dropout(0.5, noise_shape=None, seed=1)", (4,)),
        "SpatialDropout2D": ("L.SpatialDropout2D(0.3)", (4, 4, 2)),
        "GaussianNoise": ("L.GaussianNoise(0.1)", (4,)),
        "GaussianDropout": ("L.GaussianDropout(0.1)", (4,)),
        "AlphaDropout": ("L.AlphaDropout(0.1)", (4,)),
        "Cropping2D": ("L.Cropping2D(((1, 0), (0, 2)))", (5, 6, 2)),
        "ZeroPadding2D": ("L.ZeroPadding2D((1, 2))", (4, 4, 2)),
        "UpSampling2D_bilinear": ("L.UpSampling2D(2, interpolation='bilinear')", (3, 3, 2)),
        "Flatten": ("L.Flatten()", (2, 3, 2)),
        "RepeatVector": ("L.RepeatVector(3)", (4,)),
        "Permute": ("L.Permute((2, 1))", (3, 4)),
        "Reshape": ("L.Reshape((-1, 2))", (3, 4)),
        "CenterCrop": ("L.CenterCrop(4, 4)", (6, 7, 3)),
        "Resizing": ("L.Resizing(5, 7)", (8, 8, 2)),
        "Rescaling": ("L.Rescaling(0.5, offset=1.0)", (3,)),
        "RandomFlip": ("L.RandomFlip('horizontal')", (4, 4, 1)),
        "CategoryEncoding": ("L.CategoryEncoding(num_tokens=6, output_mode='count')", "int"),
        "Discretization": ("L.Discretization(bin_boundaries=[0.2, 0.5, 0.8])", (4,)),
        "SimpleRNN": ("L.SimpleRNN(3, activation='relu', return_sequences=True)", (5, 2)),
        "LSTM_backwards": ("L.LSTM(3, go_backwards=True)", (5, 2)),
        "GRU_reset_before": ("L.GRU(3, reset_after=False)", (5, 2)),
        "GRU_sequences": ("L.GRU(3, return_sequences=True)", (5, 2)),
        "Bidirectional_LSTM": ("L.Bidirectional(L.LSTM(3), merge_mode='sum')", (5, 2)),
        "ConvLSTM2D": ("L.ConvLSTM2D(2, 3, padding='same')", (3, 5, 5, 1)),
        "TimeDistributed_dense": ("L.TimeDistributed(L.Dense(2))", (3, 4)),
        "Masking_LSTM": ("MASKLSTM", (4, 2)),
        "Attention": ("ATTN", (4, 3)),
        "AdditiveAttention": ("ADDATTN", (4, 3)),
        "MultiHeadAttention": ("MHA", (4, 8)),
        "Dot_axes": ("DOT", (4, 3)),
        "Subtract": ("SUB", (4,)),
        "Multiply": ("MUL", (4,)),
        "Maximum": ("MAX", (4,)),
        "Concatenate_axis1": ("CONCAT", (2, 3)),
        "SpectralNormalization": ("L.SpectralNormalization(L.Dense(3))", (4,)),
        "ActivityRegularization": ("L.ActivityRegularization(l1=0.1)", (4,)),
        "Lambda": ("L.Lambda(lambda t: t * 2)", (4,)),
        "LSTM_initial_state": ("LSTMSTATE", (5, 2)),
        "GRU_initial_state": ("GRUSTATE", (5, 2)),
        "SimpleRNN_initial_state": ("RNNSTATE", (5, 2)),
    }
    only = os.environ.get("CASES")  # a comma-separated few, to check those alone
    if only:
        CASES = {name: case for name, case in CASES.items() if name in only.split(",")}

    two_inputs = {
        "MASKLSTM": lambda inp: L.LSTM(3)(L.Masking(mask_value=0.0)(inp)),
        "ATTN": lambda inp: L.Attention(use_scale=True)([inp, inp]),
        "ADDATTN": lambda inp: L.AdditiveAttention()([inp, inp]),
        "MHA": lambda inp: L.MultiHeadAttention(2, 3)(inp, inp),
        "DOT": lambda inp: L.Dot(axes=2)([inp, L.Dense(3)(inp)]),
        "SUB": lambda inp: L.Subtract()([inp, L.Dense(4)(inp)]),
        "MUL": lambda inp: L.Multiply()([inp, L.Dense(4)(inp)]),
        "MAX": lambda inp: L.Maximum()([inp, L.Dense(4)(inp)]),
        "CONCAT": lambda inp: L.Concatenate(axis=1)([inp, L.Dense(3)(inp)]),
        # A decoder started from its encoder's final states (Keras' initial_state).
        "LSTMSTATE": lambda inp: L.LSTM(3)(
            inp, initial_state=L.LSTM(3, return_state=True)(inp)[1:]
        ),
        "GRUSTATE": lambda inp: L.GRU(3)(inp, initial_state=L.GRU(3, return_state=True)(inp)[1]),
        "RNNSTATE": lambda inp: L.SimpleRNN(3)(
            inp, initial_state=L.SimpleRNN(3, return_state=True)(inp)[1]
        ),
    }
    done = make_cases(keras, CASES, lambda spec: two_inputs.get(spec) or eval(spec), folder, "h5")
    python = os.environ.get("MINICNN_PYTHON", sys.executable)
    subprocess.run([python, "-c", CHECK, folder, "h5"], check=True)
    made = [name for name, status in done.items() if status == "ok"]
    subprocess.run([python, "-c", EXPORT, folder, *made], check=True)
    check_written(keras, folder, made)
    check_in_keras3(python, folder, made)
