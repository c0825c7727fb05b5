"""Checks that Keras 3 reads what minicnn writes: every model of this folder, loaded by
minicnn and written again with ``model.export(path, format="keras")``, is loaded by Keras,
whose predictions must equal the ones Keras saved beside the model. Run it with a Python
where Keras 3 and a backend are installed, naming minicnn's Python (neither depends on the
other):

    MINICNN_PYTHON=.venv/bin/python KERAS_BACKEND=jax python tests/keras_files/check_in_keras.py
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The models saved with their own predictions (the lookup layers' files share lookups.npz).
NAMES = [
    n[: -len(".keras")]
    for n in sorted(os.listdir(HERE))
    if n.endswith(".keras") and os.path.exists(os.path.join(HERE, n[: -len(".keras")] + ".npz"))
]
# named_lambda's Lambda calls squash, which each side finds by name in its custom objects.
EXPORT = """
import sys
import minicnn
from minicnn import load_model, ops

sys.path.insert(0, sys.argv[1] + "/..")
from custom_models import define as define_model  # a subclassed model, registered
from custom_sublayers import define  # a user's layer of sublayers, registered by name

define(minicnn)
define_model(minicnn)


def squash(x):
    return ops.square(x) * 0.5 + 1.0


source, target = sys.argv[1], sys.argv[2]
for name in sys.argv[3:]:
    model = load_model(f"{source}/{name}.keras", compile=False, custom_objects={"squash": squash})
    model.export(f"{target}/{name}.keras")
"""


def squash(x):
    import keras

    return keras.ops.square(x) * 0.5 + 1.0


if __name__ == "__main__":
    out = tempfile.mkdtemp()
    minicnn_python = os.environ.get("MINICNN_PYTHON", sys.executable)
    subprocess.run([minicnn_python, "-c", EXPORT, HERE, out, *NAMES], check=True)
    import keras

    sys.path.insert(0, os.path.join(HERE, ".."))
    from custom_models import define as define_model
    from custom_sublayers import define

    define(keras)
    define_model(keras)
    for name in NAMES:
        model = keras.saving.load_model(
            os.path.join(out, f"{name}.keras"), compile=False, custom_objects={"squash": squash}
        )
        expected = np.load(os.path.join(HERE, f"{name}.npz"))
        inputs = sorted((k for k in expected.files if k[0] == "x" and k[1:].isdigit()), key=len)
        x = expected["x"] if "x" in expected else [expected[k] for k in sorted(inputs)]
        predicted = model.predict(x, verbose=0)
        predicted = predicted if isinstance(predicted, list) else [predicted]
        worst = max(
            float(np.abs(np.asarray(p) - expected[f"y{i}"]).max()) for i, p in enumerate(predicted)
        )
        print(f"{name}: Keras reads minicnn's file; largest difference {worst:.3g}")
