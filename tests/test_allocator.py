"""glibc's malloc tuned at import: a step's large arrays, freed and made again, reuse the same
pages instead of faulting fresh ones in from the kernel each time (allocator.py)."""

import os
import platform
import subprocess
import sys

import pytest

from minicnn import allocator

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the tuning is for glibc's malloc on Linux",
)

# Eight-megabyte arrays, as a small ResNet's activations at batch 128, made and freed as a
# training step does; the page faults of the last 20 rounds are counted.
FAULTS = """
import resource, sys
import minicnn, numpy as np
from minicnn import allocator
x = np.ones((128, 32, 32, 16), np.float32)
for _ in range(5):
    y = np.maximum(x, 0) * 2
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    y = np.maximum(x, 0) * 2
    del y
print(allocator.tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(env: dict[str, str]) -> tuple[str, int]:
    run = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, env=env, check=True
    )
    tuned, faults = run.stdout.split()
    return tuned, int(faults)


@pytest.mark.skipif(
    os.environ.get("MINICNN_MALLOC_TUNING", "1") == "0", reason="MINICNN_MALLOC_TUNING=0 is set"
)
def test_importing_minicnn_tunes_malloc() -> None:
    assert allocator.tuned
    assert allocator.tune_malloc()  # once is enough; again says so


def test_freed_large_arrays_are_reused_without_page_faults() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MINICNN_MALLOC_TUNING"}
    tuned, faults = _faults(env)
    assert tuned == "True"
    assert faults < 200  # one 8 MB array faulted in afresh is 2,048 pages
    untuned, untuned_faults = _faults({**env, "MINICNN_MALLOC_TUNING": "0"})
    assert untuned == "False"
    # glibc's defaults: the rounds fault their arrays in afresh (about half of them here).
    assert untuned_faults > 5 * 2048
