"""PyTorch models exported the plainest way, ``torch.onnx.export(model, (x,), path)`` with
a batch of one and no dynamic axes (the batch size written into the file's shapes as the
number 1), read back by ``minicnn.load_onnx`` and run on a batch of three: the models of
tests/onnx_files/make_torch_files.py and a few more, with both of PyTorch's exporters,
compared with PyTorch's own outputs.

    python benchmarks/onnx_traced_batch.py

Needs PyTorch and onnxscript (PyTorch's exporter), never minicnn's dependencies.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "onnx_files"))

SHAPES = {  # each model's input without the batch
    "Classifier": (3, 15, 15),
    "Blocks": (2, 8, 8),
    "Sequence": (4, 12),
    "Edges": (3, 13, 13),
    "ResNet": (3, 32, 32),
    "Recurrent": (7, 5),
    "Extras": (2, 6, 6),
    "Resizes": (2, 5, 6),
    "VisionTransformer": (3, 16, 16),
    "Attentions": (5, 16),
    "Transformer": (6,),
    "TokenViT": (3, 16, 16),
    "TimmViT": (3, 16, 16),
    "Frames": (4, 3, 10, 10),
    "Seq2Seq": (7, 5),
    "ConvNeXtBlock": (8, 8, 8),
    "WindowAttention": (3, 8, 8),
    "UnrolledRNN": (4, 5),
}


def main() -> int:
    import make_torch_files as made
    import torch

    import minicnn

    agreed = total = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, shape in SHAPES.items():
            torch.manual_seed(0)
            model = getattr(made, name)()
            made.draw_weights(model)  # as the test files' (batch norm's statistics too)

            def batch(n: int, shape: tuple[int, ...] = shape) -> torch.Tensor:
                if len(shape) == 1:  # token ids
                    return torch.randint(0, 20, (n, *shape))
                return torch.randn(n, *shape)

            for dynamo in (False, True):
                total += 1
                path = Path(folder) / f"{name}_{dynamo}.onnx"
                label = f"{name} ({'dynamo' if dynamo else 'TorchScript'} exporter)"
                try:
                    torch.onnx.export(model, (batch(1),), path, dynamo=dynamo)
                    imported = minicnn.load_onnx(path)
                except Exception as error:  # noqa: BLE001 - reported, the others go on
                    print(f"{label}: not read: {str(error)[:160]}")
                    continue
                x = batch(3)
                with torch.no_grad():
                    expected = model(x).numpy()
                got = imported.predict(x.numpy(), verbose=0)
                error = float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1.0))
                agreed += error < 1e-5
                print(f"{label}: batch of 3, largest difference {error:.1e} of the largest output")
    print(f"{agreed} of {total} files agree with PyTorch to 1e-5 for a batch of 3")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
