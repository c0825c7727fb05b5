"""Writes tests/keras_files/summaries.json: Keras 3's ``model.summary()`` text of the models
in tests/summary_models.py, with each set of arguments, on terminals 80 and 120 columns
wide. Run it where Keras 3 and JAX are installed:

    KERAS_BACKEND=jax python tests/keras_files/make_summaries.py
"""

import contextlib
import io
import json
import os
import sys

import keras

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from summary_models import summary_models  # noqa: E402

found = []
for columns in ("80", "120"):
    os.environ["COLUMNS"] = columns
    keras.utils.clear_session()  # the same automatic layer names each time
    for name, model, kwargs in summary_models(keras):
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            model.summary(**kwargs)
        found.append(
            {"columns": int(columns), "model": name, "arguments": kwargs, "text": text.getvalue()}
        )
with open(os.path.join(HERE, "summaries.json"), "w") as f:
    json.dump(found, f, indent=1, ensure_ascii=False)
print(len(found), "summaries")
