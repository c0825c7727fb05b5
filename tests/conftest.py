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
