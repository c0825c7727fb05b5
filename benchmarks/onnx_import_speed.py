"""A PyTorch model brought in through ONNX trains as fast as the same model built in
minicnn: the study's model in PyTorch (``compare_torch.torch_model``), exported by
``torch.onnx.export``, read back with ``minicnn.load_onnx(..., channels_last=True)``, and
one training step of each timed, alternating, after a warm-up (medians).

    python benchmarks/onnx_import_speed.py --model base --steps 30

Needs PyTorch and onnxscript (PyTorch's exporter), never minicnn's dependencies.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    import torch
    from alternating import median_ms
    from compare_torch import torch_model

    import minicnn
    from minicnn.experiments.zoo import build_model

    torch.manual_seed(0)
    peer = torch_model(args.model, torch).eval()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{args.model}.onnx"
        torch.onnx.export(
            peer,
            (torch.zeros(2, 1, 28, 28),),
            path,
            dynamo=False,
            input_names=["image"],
            dynamic_axes={"image": {0: "batch"}},
        )
        imported = minicnn.load_onnx(path, channels_last=True)
    native = build_model(args.model)
    print("imported:", ", ".join(type(layer).__name__ for layer in imported.layers))
    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.batch_size)
    loss = minicnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    for model in (imported, native):
        model.compile(minicnn.optimizers.Adam(), loss)
    steps = {
        "imported": lambda: imported.train_on_batch(x, y),
        "native": lambda: native.train_on_batch(x, y),
    }
    median_ms(steps, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
