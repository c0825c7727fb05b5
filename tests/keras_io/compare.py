"""keras.io examples run in Keras 3.15 and in minicnn, the outputs compared line by line.

Each script here is a keras.io example (or Keras guide) cut to small random data, written
for Keras with only the import switched by its first argument (``keras`` or ``minicnn``);
it prints shapes, names, summaries and numbers. Run where Keras is installed:

    python tests/keras_io/compare.py --keras /path/to/keras-venv/bin/python

(``KERAS_BACKEND=torch`` for translation_transformer and miniature_gpt, whose causal masks
Keras' JAX backend cannot trace, and subclassing_conv_layers, whose ops.moments of
self.kernel it refuses; ``tensorflow`` for preprocessing_layers, whose string layers need it,
so that Python needs TensorFlow too; weather_forecast needs TensorFlow's datasets in Keras, so it is
run in minicnn alone.)
Differences are expected in what training from each library's own initial weights gives
(captcha_ocr's losses, timeseries_classification's test accuracy) and in
the optimizer bytes of text_classification_transformer, transfer_learning and
making_new_layers (Keras' JAX and PyTorch backends keep the step counter, and Normalization's
count, in int32; minicnn keeps them in int64, as Keras' default TensorFlow backend does).
What they found is fixed and kept by tests: test_keras_shapes, test_keras_order,
test_keras_io_examples, test_lambda, test_timeseries, test_image_folders, test_summaries."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
MINICNN_ONLY = {"weather_forecast"}
# Compared key by key against Keras' saved output by tests/test_keras_layer_configs.py (they
# print every class of each library, so their lines do not pair up one by one, and the
# compile configs differ in jit_compile); saving_hooks runs with arguments of its own
# (tests/test_keras_archive_saving.py).
NOT_COMPARED = {"layer_configs", "object_configs", "compile_configs", "saving_hooks"}
TORCH_BACKEND = {"translation_transformer", "subclassing_conv_layers", "miniature_gpt"}
TENSORFLOW_BACKEND = {"preprocessing_layers"}  # Keras' string layers need TensorFlow


def output(python: str, script: Path, library: str) -> list[str]:
    env = dict(os.environ)
    if script.stem in TORCH_BACKEND:
        env["KERAS_BACKEND"] = "torch"
    if script.stem in TENSORFLOW_BACKEND:
        env["KERAS_BACKEND"] = "tensorflow"
    run = subprocess.run(
        [python, str(script), library], capture_output=True, text=True, env=env, check=False
    )
    kept, after_warning = [], False
    for line in (run.stdout + run.stderr).splitlines():
        # A warning's line, and the source line Python prints under it, are left out.
        if "warn" in line.lower() or (after_warning and line.startswith("  ")):
            after_warning = "warn" in line.lower()
            continue
        after_warning = False
        kept.append(line)
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", required=True, help="a Python that has Keras 3.15")
    parser.add_argument("--minicnn", default=sys.executable, help="a Python that has minicnn")
    args = parser.parse_args()
    differ = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name == "compare.py" or script.stem in NOT_COMPARED:
            continue
        ours = output(args.minicnn, script, "minicnn")
        if script.stem in MINICNN_ONLY:
            print(f"{script.stem}: minicnn only\n  " + "\n  ".join(ours[-3:]))
            continue
        theirs = output(args.keras, script, "keras")
        same = ours == theirs
        differ += not same
        print(f"{script.stem}: {'same' if same else 'DIFFERENT'}")
        if not same:
            for a, b in zip(theirs, ours, strict=False):
                if a != b:
                    print(f"  keras:   {a}\n  minicnn: {b}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
