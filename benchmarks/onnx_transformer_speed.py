"""A PyTorch transformer brought in through ONNX trains in minicnn at PyTorch's pace: a
text classifier of ``nn.Embedding``, ``nn.TransformerEncoder`` (post-norm layers of
``nn.MultiheadAttention`` and a ReLU MLP) and a linear head, exported by
``torch.onnx.export`` and read back with ``minicnn.load_onnx``; one training step (Adam) of
each, timed alternating in one process after a warm-up (medians), and the two models'
predictions compared.

    python benchmarks/onnx_transformer_speed.py --steps 30

Needs PyTorch and onnxscript (PyTorch's exporter), never minicnn's dependencies.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def text_classifier(torch, width: int, layers: int, heads: int, vocabulary: int) -> object:
    nn = torch.nn

    class TextClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocabulary, width)
            layer = nn.TransformerEncoderLayer(
                width, heads, 2 * width, dropout=0.0, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(width, 4)

        def forward(self, ids):
            return self.head(self.encoder(self.embed(ids)).mean(1))

    return TextClassifier()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dynamo", action="store_true", help="PyTorch's newer exporter")
    args = parser.parse_args(argv)

    import torch
    from alternating import median_ms

    import minicnn

    torch.manual_seed(0)
    vocabulary = 1000
    peer = text_classifier(torch, args.width, args.layers, args.heads, vocabulary).eval()
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocabulary, (args.batch_size, args.length))
    labels = rng.integers(0, 4, args.batch_size)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transformer.onnx"
        example = (torch.zeros(2, args.length, dtype=torch.int64),)
        if args.dynamo:
            batch = torch.export.Dim("batch")
            torch.onnx.export(peer, example, path, dynamo=True, dynamic_shapes=({0: batch},))
        else:
            torch.onnx.export(
                peer,
                example,
                path,
                dynamo=False,
                input_names=["ids"],
                dynamic_axes={"ids": {0: "batch"}},
            )
        imported = minicnn.load_onnx(path)
    kinds = [type(layer).__name__ for layer in imported.layers]
    print(f"imported: {len(kinds)} layers, {kinds.count('Permute')} Permute")
    with torch.no_grad():
        expected = peer(torch.from_numpy(ids)).numpy()
    got = imported.predict(ids, verbose=0)
    print(f"largest difference from PyTorch: {np.abs(got - expected).max():.2e}")

    imported.compile(
        minicnn.optimizers.Adam(1e-3), minicnn.losses.SparseCategoricalCrossentropy(True)
    )
    peer.train()
    optimizer = torch.optim.Adam(peer.parameters(), 1e-3)
    torch_ids, torch_labels = torch.from_numpy(ids), torch.from_numpy(labels)

    def torch_step() -> None:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(peer(torch_ids), torch_labels)
        loss.backward()
        optimizer.step()

    steps = {"minicnn": lambda: imported.train_on_batch(ids, labels), "torch": torch_step}
    median_ms(steps, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
