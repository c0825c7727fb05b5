"""benchmarks/gpu_check.sh, the one device call that measures the GPU backend, rehearsed on the
fake CuPy (benchmarks/gpu_rehearsal.sh): device time is scarce, so the script must not fail
there for a reason that shows here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import cuda_emulator
import pytest
from idx_files import write_fashion_dir

REPO = Path(__file__).resolve().parents[1]


def rehearse(tmp_path: Path, **settings: str) -> tuple[subprocess.CompletedProcess, Path]:
    """benchmarks/gpu_rehearsal.sh on small data; its result and OUT folder."""
    data = tmp_path / "data"
    write_fashion_dir(data, n_train=256, n_test=128)
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "MINICNN_DATA": str(data),
        # Long enough to start the study and stop it with Ctrl-C, which is what is checked.
        "STUDY_SECONDS": "10",
        "JOBS": "2",
        "EXPERIMENT_ARGS": "--epochs 1 --batch-size 64",
        "BENCH_ARGS": "--benchmark-disable -k mlp",
        # Step 1's GPU tests from one small file: the suite runs every emulated case itself
        # (gpu_rehearsal.sh by hand runs them all, as the device will).
        "GPU_TEST_PATHS": "tests/test_token_layers.py",
        **settings,
    }
    env.pop("MINICNN_DEVICE", None)  # the script asks for the GPU itself
    done = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_rehearsal.sh"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done, out


NEEDS_TOOLS = pytest.mark.skipif(
    shutil.which("bash") is None or not cuda_emulator.available(),
    reason="the rehearsal needs bash, and g++ for the emulated kernels",
)


@NEEDS_TOOLS
def test_the_device_script_runs_every_step_on_the_fake_gpu(tmp_path):
    done, out = rehearse(tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Traceback" not in log, log
    assert "gpu available to minicnn: True" in log
    assert "emulated GPU" in log  # the machine section names the GPU it ran on

    tests_log = (out / "gpu_tests.log").read_text()
    assert " passed" in tests_log and "failed" not in tests_log and "error" not in tests_log
    # PyTorch is missing here (CI) or has no GPU: compare_torch says so, and the script goes on.
    compare = (out / "compare_torch.log").read_text()
    assert "PyTorch is not installed" in compare or "PyTorch that both see a GPU" in compare
    assert (
        "3 passed" in (out / "bench_gpu.log").read_text()
    )  # mlp: a step; queued, eager and captured
    baseline = (out / "baseline.log").read_text()
    assert "Test accuracy" in baseline and "Seconds per epoch" in baseline
    # The captured-step tests pass on the fake GPU, so the baseline runs captured as well.
    assert " passed" in (out / "graph_tests.log").read_text()
    assert "Seconds per epoch" in (out / "baseline_jit.log").read_text()
    assert "steps 3 and 4 run with: --jit-compile" in log
    assert "distinct runs finished (the study has 19 models x 3 seeds = 57)" in log
    with tarfile.open(out / "runs.tar.gz") as runs:
        names = runs.getnames()
    assert "runs/baseline/report.md" in names
    assert any(name.endswith("results.jsonl") for name in names)


@NEEDS_TOOLS
def test_a_second_call_can_run_only_the_missing_steps(tmp_path):
    """STEPS="3" JIT_COMPILE=1: the baselines only, captured as 1b would have decided."""
    done, out = rehearse(tmp_path, STEPS="3", JIT_COMPILE="1")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Traceback" not in log, log
    assert not (out / "gpu_tests.log").exists() and not (out / "compare_torch.log").exists()
    assert "Seconds per epoch" in (out / "baseline.log").read_text()
    assert "Seconds per epoch" in (out / "baseline_jit.log").read_text()
    assert "experiments all" not in log
