"""Killing and interrupting real sweeps in subprocesses: nothing recorded is ever lost."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from idx_files import write_fashion_dir

from minicnn.experiments import cli
from minicnn.experiments.results import ResultsStore

ARGS = [
    "--seeds",
    "3",
    "--epochs",
    "1",
    "--max-train",
    "64",
    "--max-test",
    "32",
    "--batch-size",
    "32",
]


def sweep_command(out, data_dir):
    return [
        sys.executable,
        "-m",
        "minicnn.experiments",
        "compare",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
        *ARGS,
    ]


def check_results(path):
    """Every line parses, no key twice; returns the keys."""
    keys = []
    for line in path.read_text().splitlines():
        if line.strip():
            keys.append(json.loads(line)["key"])
    assert len(keys) == len(set(keys)), "a run was recorded twice"
    return keys


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    write_fashion_dir(d, 64, 32)
    return d


def test_sigkill_at_random_points_loses_nothing(tmp_path, data_dir):
    out = tmp_path / "runs"
    results = out / "compare" / "results.jsonl"
    rng = random.Random(1)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _trial in range(4):
        process = subprocess.Popen(
            sweep_command(out, data_dir),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 6.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if results.exists():
            check_results(results)
    done = subprocess.run(
        sweep_command(out, data_dir), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    keys = check_results(results)
    assert len(keys) == 6
    trained = int(done.stdout.split(" to train")[0].rsplit(", ", 1)[1])
    recorded_before = int(done.stdout.split(" already recorded")[0].rsplit("; ", 1)[1])
    assert trained + recorded_before == 6


def test_sigint_stops_cleanly_with_exit_130(tmp_path, data_dir):
    out = tmp_path / "runs"
    process = subprocess.Popen(
        sweep_command(out, data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Wait for the sweep to start training before interrupting it.
    deadline = time.time() + 60
    line = ""
    while "to train" not in line and time.time() < deadline:
        line = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted" in err and "kept" in err


def _group_is_gone(pgid: int, within: float) -> bool:
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    "how,delay", [("terminal", 0.0), ("timeout", 0.0), ("timeout", 0.4), ("timeout", 0.9)]
)
def test_ctrl_c_stops_parallel_workers_at_once(tmp_path, data_dir, how, delay):
    """Ctrl-C in a terminal signals the whole process group, the workers as well as the
    parent; `timeout -s INT` signals the parent, then the group again, so the parent gets two.
    Every process must be gone promptly, with what finished kept and exit code 130. (Before
    this was handled, one such stop in about eight hung for good.)"""
    out = tmp_path / "runs"
    # Runs long enough that the sweep is still training 0.9 s after the first one finished: a
    # Ctrl-C that comes once the process is exiting meets Python's default handler (-2).
    command = [*sweep_command(out, data_dir), "--jobs", "2", "--epochs", "40"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.time() + 120
    line = ""
    while not line.startswith("[1/") and time.time() < deadline:
        line = process.stdout.readline()
    assert line.startswith("[1/"), "no run finished"
    time.sleep(delay)
    if how == "timeout":
        process.send_signal(signal.SIGINT)
    os.killpg(process.pid, signal.SIGINT)
    try:
        _, err = process.communicate(timeout=30)
    finally:
        if not _group_is_gone(process.pid, 10):
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("worker processes were left running after Ctrl-C")
    assert process.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    assert len(check_results(out / "compare" / "results.jsonl")) >= 1


def test_a_full_disk_leaves_no_partial_line(tmp_path, monkeypatch, capsys):
    store = ResultsStore(tmp_path / "results.jsonl")
    store.append({"key": "a"})
    before = store.path.read_bytes()

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        store.append({"key": "b"})
    assert store.path.read_bytes() == before


def test_unwritable_results_file_is_a_clear_error(tmp_path, capsys, monkeypatch, data_dir):
    out = tmp_path / "runs"
    (out / "compare").mkdir(parents=True)
    (out / "compare" / "results.jsonl").mkdir()  # a folder where the file should be
    code = cli.main(["compare", "--out", str(out), "--data-dir", str(data_dir), *ARGS])
    assert code == 2
    assert "results" in capsys.readouterr().err


def test_a_full_disk_is_reported_before_training(tmp_path, capsys, monkeypatch, data_dir):
    from minicnn.experiments import runner

    class Full:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(os, "statvfs", lambda path: Full())
    monkeypatch.setattr(runner, "train_run", lambda *a, **k: pytest.fail("trained"))
    code = cli.main(["compare", "--out", str(tmp_path), "--data-dir", str(data_dir), *ARGS])
    assert code == 2
    assert "40960 bytes free" in capsys.readouterr().err


def test_killed_run_resumes_from_its_checkpoint_with_identical_results(tmp_path, data_dir):
    common = [
        "--variants",
        "mlp",
        "--seeds",
        "1",
        "--epochs",
        "40",
        "--max-train",
        "64",
        "--max-test",
        "32",
        "--batch-size",
        "8",
        "--data-dir",
        str(data_dir),
    ]
    killed_out, clean_out = tmp_path / "killed", tmp_path / "clean"
    command = [sys.executable, "-m", "minicnn.experiments", "compare", "--checkpoint-every", "1"]
    process = subprocess.Popen(
        [*command, "--out", str(killed_out), *common],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = killed_out / "compare" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not any(checkpoints.glob("*.npz")):
        time.sleep(0.05)
    time.sleep(0.3)  # a few more epochs, then kill it mid-run
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert any(checkpoints.glob("*.npz")), "no checkpoint was written before the kill"
    assert not (killed_out / "compare" / "results.jsonl").read_text().strip()

    resumed = subprocess.run(
        [*command, "--out", str(killed_out), *common], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    # The reference runs in a fresh process too: same environment, same BLAS set-up.
    clean = subprocess.run(
        [*command, "--out", str(clean_out), *common], capture_output=True, text=True, timeout=300
    )
    assert clean.returncode == 0, clean.stderr
    (after_kill,) = ResultsStore(killed_out / "compare" / "results.jsonl").load().values()
    (uninterrupted,) = ResultsStore(clean_out / "compare" / "results.jsonl").load().values()
    assert after_kill["history"] == uninterrupted["history"]
    assert after_kill["test_loss"] == uninterrupted["test_loss"]
    assert not any(checkpoints.glob("*.npz")), "the checkpoint outlived its recorded run"
