"""Checks minicnn's applications against Keras' own: Keras builds each (``weights=None``,
BatchNormalization statistics drawn at random so that they matter), predicts on random
images and saves its weights (``model.weights.h5``); minicnn builds the same application,
reads those weights with ``load_weights`` and must predict the same. Run it with a Python
where Keras 3 and a backend are installed, naming minicnn's Python:

    MINICNN_PYTHON=.venv/bin/python KERAS_BACKEND=jax python tests/keras_files/check_applications.py

With Keras 3.15.1 on JAX all fifteen agreed (largest difference of the softmax outputs
3.8e-6, ResNet50; most below 3e-7) with equal parameter counts.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

SPECS = {
    "MobileNet": dict(input_shape=(64, 64, 3), classes=7, alpha=0.5),
    "MobileNetV2": dict(input_shape=(64, 64, 3), classes=7, alpha=0.35),
    "MobileNetV3Small": dict(input_shape=(64, 64, 3), classes=7),
    "MobileNetV3Large": dict(input_shape=(64, 64, 3), classes=7),
    "ResNet50": dict(input_shape=(64, 64, 3), classes=7),
    "ResNet50V2": dict(input_shape=(64, 64, 3), classes=7),
    "DenseNet121": dict(input_shape=(64, 64, 3), classes=7),
    "EfficientNetB0": dict(input_shape=(64, 64, 3), classes=7),
    "EfficientNetV2B0": dict(input_shape=(64, 64, 3), classes=7),
    "ConvNeXtTiny": dict(input_shape=(64, 64, 3), classes=7),
    "NASNetMobile": dict(input_shape=(64, 64, 3), classes=7),
    "VGG16": dict(input_shape=(64, 64, 3), classes=7),
    "Xception": dict(input_shape=(71, 71, 3), classes=7),
    "InceptionV3": dict(input_shape=(75, 75, 3), classes=7),
    "InceptionResNetV2": dict(input_shape=(75, 75, 3), classes=7),
}
CHECK = """
import sys
import numpy as np
from minicnn import applications
folder, name, spec = sys.argv[1], sys.argv[2], eval(sys.argv[3])
model = getattr(applications, name)(weights=None, **spec)
model.load_weights(f"{folder}/{name}.weights.h5")
saved = np.load(f"{folder}/{name}.npz")
worst = float(np.abs(model.predict(saved["x"], verbose=0) - saved["y"]).max())
print(f"{name}: {model.count_params():,} parameters, largest difference {worst:.3g}")
"""

if __name__ == "__main__":
    import keras

    folder = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    for name, spec in SPECS.items():
        model = getattr(keras.applications, name)(weights=None, **spec)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                weights = layer.get_weights()
                weights[-2] = rng.normal(0, 0.1, weights[-2].shape).astype("float32")
                weights[-1] = rng.uniform(0.5, 1.5, weights[-1].shape).astype("float32")
                layer.set_weights(weights)
        x = rng.uniform(0, 255, (2, *spec["input_shape"])).astype("float32")
        np.savez(os.path.join(folder, f"{name}.npz"), x=x, y=model.predict(x, verbose=0))
        model.save_weights(os.path.join(folder, f"{name}.weights.h5"))
        print(f"Keras {name}: {model.count_params():,} parameters", flush=True)
        python = os.environ.get("MINICNN_PYTHON", sys.executable)
        subprocess.run([python, "-c", CHECK, folder, name, repr(spec)], check=True)
