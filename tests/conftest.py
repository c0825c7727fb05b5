import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from minicnn import backend  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    backend.clear_session()
    backend.set_random_seed(0)
    yield
