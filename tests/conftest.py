import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The suite is written for the CPU; GPU tests ask for device="gpu" themselves, so that on a GPU
# machine 'auto' does not move every other test there.
os.environ.setdefault("MINICNN_DEVICE", "cpu")

from minicnn import backend  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    backend.clear_session()
    backend.set_random_seed(0)
    yield


@pytest.fixture(params=["emulated", "cuda"])
def gpu(request, monkeypatch):
    """The GPU backend: CuPy on a real GPU ("cuda"), or, on any machine with g++, the fake CuPy
    whose kernels are the same CUDA source run on the CPU ("emulated"). Yields the array
    module; each case skips where it cannot run."""
    from minicnn.kernels import cuda

    from minicnn import workspace

    if request.param == "cuda":
        if backend.xp_for("gpu") is None or not backend.gpu_available():
            pytest.skip("needs CuPy and a GPU")
        yield backend.xp_for("gpu")
        return
    import cuda_emulator
    import fake_cupy

    if not cuda_emulator.available():
        pytest.skip("the CUDA emulator needs g++")
    fake = fake_cupy.FakeCupy()
    monkeypatch.setattr(backend, "_cupy", fake)
    # Kernels compiled for one cupy module must not serve another.
    monkeypatch.setattr(cuda, "_modules", {})
    monkeypatch.setattr(cuda, "_functions", {})
    workspace.clear()
    fake_cupy.traffic.clear()
    yield fake
    workspace.clear()
