import numpy as np
import pytest

from minicnn import backend, optimizers
from minicnn.experiments import zoo

BATCH = 128


@pytest.fixture(scope="session")
def batch():
    rng = np.random.default_rng(0)
    return rng.random((BATCH, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, BATCH)


def compiled_study_model(model_id: str, device: str = "cpu", jit_compile: bool = False):
    backend.set_random_seed(0)
    model = zoo.build_model(model_id, device=device)
    model.compile(
        optimizers.Adam(),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model
