"""README.md's Python examples run as written (on a small stand-in for Fashion-MNIST), so that
the documentation cannot drift from the API."""

import re
import shutil
import textwrap
from pathlib import Path

import numpy as np

from minicnn.datasets import fashion_mnist

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    """The README's ```python blocks, dedented (some sit inside a list item)."""
    text = README.read_text()
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)\n\s*```", text, re.S)]


def test_the_readme_examples_run(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)

    def small_fashion_mnist(*args, **kwargs):
        images = rng.integers(0, 256, (192, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, 192).astype(np.uint8)
        return (images[:128], labels[:128]), (images[128:], labels[128:])

    monkeypatch.setattr(fashion_mnist, "load_data", small_fashion_mnist)
    monkeypatch.chdir(tmp_path)
    # The ONNX example's file: a PyTorch CNN that torch.onnx.export wrote.
    shutil.copy(Path(__file__).parent / "onnx_files" / "classifier.onnx", tmp_path / "net.onnx")
    blocks = python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    out = capsys.readouterr().out
    assert 'Model: "sequential' in out and "Epoch 2/2" in out and "- val_accuracy: " in out
    assert len(namespace["history"].history["val_accuracy"]) == 2
    assert namespace["same"].count_params() == 421642
    assert namespace["again"].loss.fn is namespace["focal_crossentropy"]
    assert namespace["train_acc"]._seen == 128  # the hand-written loop saw every sample
    assert (tmp_path / "model.npz").exists()
    assert namespace["model"].output_shape == (None, 10)  # the residual block's model
