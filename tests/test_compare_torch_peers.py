"""The PyTorch twins in benchmarks/compare_torch.py are the same models as minicnn's: equal
trainable parameter counts (a twin with another width or another gate layout would time
something else). PyTorch is only the benchmarks' peer: without it these skip."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
compare_torch = pytest.importorskip("compare_torch")

# PyTorch's LSTM adds a second bias to each gate (b_hh beside b_ih); Keras' has one.
EXTRA_IN_TORCH = {"lstm": 4 * 64}


@pytest.mark.parametrize("name", sorted(compare_torch.PEERS))
def test_each_pytorch_twin_has_minicnn_models_trainable_parameter_count(name):
    torch = pytest.importorskip("torch")
    ours, theirs = compare_torch.PEERS[name](torch, "cpu")
    trainable = sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
    theirs_count = sum(p.numel() for p in theirs.parameters() if p.requires_grad)
    assert trainable == theirs_count - EXTRA_IN_TORCH.get(name, 0)
