"""Checks that minicnn reads Keras 2's applications: TensorFlow 2.15's Keras builds each
(weights=None, 10 classes, its weights moved off their initial values), predicts and saves
it as a legacy ``.h5`` file; minicnn loads the file and must predict the same (to 1e-5 of
the outputs' scale) with as many parameters; then minicnn writes each again
(``model.save(".h5")``) and TensorFlow's Keras must predict the same from it. Run it with a
Python where TensorFlow 2.15 is installed, naming minicnn's Python:

    MINICNN_PYTHON=.venv/bin/python python tests/keras2_files/check_keras2_applications.py

With TensorFlow 2.15.1, minicnn read all 16 (the worst, ResNetRS50, to 6e-6 of its
outputs), and TensorFlow read back 15 of minicnn's 16 files with the same predictions: the
one left, ConvNeXtTiny's (its LayerScale), is a legacy file TensorFlow does not read even
when it wrote it.
"""

import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_keras2_layers import EXPORT, check_in_keras3, check_written  # noqa: E402
from check_layers import move_weights  # noqa: E402

CHECK = """
import sys, warnings
import numpy as np
from minicnn import load_model
folder = sys.argv[1]
for name in sys.argv[2:]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model(f"{folder}/{name}.h5", compile=False)
        saved = np.load(f"{folder}/{name}.npz")
        got = model.predict(saved["x"], verbose=0)
        worst = float(np.abs(got - saved["y"]).max())
        scale = float(np.abs(saved["y"]).max())
        same = worst <= 1e-5 * scale and model.count_params() == int(saved["params"])
        print(f"{name}: {'agrees' if same else 'DIFFERS'} ({worst / scale:.2g} of the outputs, "
              f"{model.count_params():,} parameters)")
    except Exception as error:
        print(f"{name}: NOT READ ({type(error).__name__}: {error})")
"""

# Each application with the smallest input it takes.
SIZES = {
    "MobileNet": 96,
    "MobileNetV2": 96,
    "MobileNetV3Small": 96,
    "ResNet50": 64,
    "ResNet50V2": 64,
    "ResNetRS50": 64,
    "DenseNet121": 64,
    "EfficientNetB0": 64,
    "EfficientNetV2B0": 64,
    "Xception": 71,
    "InceptionV3": 75,
    "InceptionResNetV2": 75,
    "VGG16": 32,
    "NASNetMobile": 224,
    "ConvNeXtTiny": 32,
    "RegNetX002": 64,
}

if __name__ == "__main__":
    from tensorflow import keras

    rng = np.random.default_rng(0)
    folder = tempfile.mkdtemp()
    made = []
    for name, size in SIZES.items():
        model = getattr(keras.applications, name)(
            weights=None, input_shape=(size, size, 3), classes=10
        )
        move_weights(model, rng, 0.02)
        x = rng.uniform(0, 255, (2, size, size, 3)).astype("float32")
        y = model.predict(x, verbose=0)
        model.save(os.path.join(folder, f"{name}.h5"))
        np.savez(os.path.join(folder, f"{name}.npz"), x=x, y=y, params=model.count_params())
        made.append(name)
    python = os.environ.get("MINICNN_PYTHON", sys.executable)
    subprocess.run([python, "-c", CHECK, folder, *made], check=True)
    subprocess.run([python, "-c", EXPORT, folder, *made], check=True)
    check_written(keras, folder, made)
    check_in_keras3(python, folder, made)
