"""Each of minicnn's applications (random weights, logits) through ``export(format="onnx")``
and ``minicnn.load_onnx``: the largest difference of the logits, relative to the largest
logit.

    python benchmarks/onnx_round_trip_applications.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import minicnn
from minicnn import applications

MODELS = {
    "MobileNetV2": (96, 96, 3),
    "MobileNetV3Small": (96, 96, 3),
    "EfficientNetB0": (96, 96, 3),
    "EfficientNetV2B0": (96, 96, 3),
    "ResNet50": (64, 64, 3),
    "ResNet50V2": (64, 64, 3),
    "DenseNet121": (64, 64, 3),
    "ConvNeXtTiny": (64, 64, 3),
    "InceptionV3": (96, 96, 3),
    "InceptionResNetV2": (96, 96, 3),
    "Xception": (96, 96, 3),
    "NASNetMobile": (96, 96, 3),
    "VGG16": (64, 64, 3),
}


def main() -> int:
    rng = np.random.default_rng(0)
    worst = 0.0
    for name, shape in MODELS.items():
        model = getattr(applications, name)(
            weights=None, input_shape=shape, classes=10, classifier_activation=None
        )
        x = rng.random((2, *shape)).astype(np.float32) * 255
        with tempfile.TemporaryDirectory() as folder:
            model.export(Path(folder) / "m.onnx", format="onnx")
            back = minicnn.load_onnx(Path(folder) / "m.onnx")
        expected, got = model.predict(x, verbose=0), back.predict(x, verbose=0)
        error = float(np.abs(got - expected).max() / np.abs(expected).max())
        worst = max(worst, error)
        print(f"{name}: {error:.1e} of the largest logit ({len(back.layers)} layers)")
    print(f"largest: {worst:.1e}")
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
