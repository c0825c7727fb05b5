import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The suite is written for the CPU; GPU tests ask for device="gpu" themselves, so that on a GPU
# machine 'auto' does not move every other test there.
os.environ.setdefault("MINICNN_DEVICE", "cpu")
# Summaries are sized for the terminal, as Keras sizes them: the suite's are an 80-column one's
# (the width where there is no terminal, as in CI).
os.environ["COLUMNS"] = "80"

from minicnn import backend  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    backend.clear_session()
    backend.set_random_seed(0)
    yield


def _gpu_backend(kind, monkeypatch):
    """Make the GPU backend ``kind`` current and return its array module, or skip: "cuda" is
    CuPy on a real GPU; "emulated", on any machine with g++, is the fake CuPy whose kernels are
    the same CUDA source run on the CPU."""
    from minicnn.kernels import cuda

    from minicnn import workspace

    workspace.clear()
    if kind == "cuda":
        if backend.xp_for("gpu") is None or not backend.gpu_available():
            pytest.skip("needs CuPy and a GPU")
        return backend.xp_for("gpu")
    import cuda_emulator
    import fake_cupy

    if not cuda_emulator.available():
        pytest.skip("the CUDA emulator needs g++")
    fake = fake_cupy.FakeCupy()
    monkeypatch.setattr(backend, "_cupy", fake)
    # Kernels compiled for one cupy module must not serve another.
    monkeypatch.setattr(cuda, "_modules", {})
    monkeypatch.setattr(cuda, "_functions", {})
    fake_cupy.traffic.clear()
    return fake


@pytest.fixture(params=["emulated", "cuda"])
def gpu(request, monkeypatch):
    """The GPU backend (see _gpu_backend); yields its array module."""
    from minicnn import workspace

    yield _gpu_backend(request.param, monkeypatch)
    workspace.clear()


@pytest.fixture(params=["cpu", "emulated", "cuda"])
def device(request, monkeypatch):
    """A test that takes ``device`` runs on the CPU and on each GPU backend that can run here."""
    from minicnn import workspace

    if request.param != "cpu":
        _gpu_backend(request.param, monkeypatch)
    yield "cpu" if request.param == "cpu" else "gpu"
    workspace.clear()
