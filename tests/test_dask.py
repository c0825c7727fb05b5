"""Sweeps on a real Dask LocalCluster with two worker processes."""

import os
import signal
import time

import pytest
from idx_files import write_fashion_dir

from minicnn.experiments import cli, sweep
from minicnn.experiments.cluster import run_on_cluster
from minicnn.experiments.results import ResultsStore
from minicnn.experiments.runner import make_task

distributed = pytest.importorskip("distributed", reason="Dask distributed is the 'dist' extra")

ARGS = [
    "--seeds",
    "2",
    "--epochs",
    "2",
    "--max-train",
    "96",
    "--max-test",
    "48",
    "--batch-size",
    "32",
]
COMPARED = ("test_loss", "test_accuracy", "history", "confusion_matrix", "params", "per_class")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    write_fashion_dir(d, 96, 48)
    return str(d)


def test_cluster_sweep_matches_the_local_executor(tmp_path, cluster, data_dir, capsys):
    from threadpoolctl import threadpool_limits

    common = ["--data-dir", data_dir, *ARGS]
    # Dask's workers run BLAS on one thread; so does the local reference, so that both sum in
    # the same order and agree to the last bit.
    with threadpool_limits(1):
        assert cli.main(["compare", "--out", str(tmp_path / "local"), *common]) == 0
    argv = ["compare", "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address]
    assert cli.main([*argv, *common]) == 0
    out = capsys.readouterr().out
    assert out.count(" on tcp://") == 4
    assert "trained 4 runs (0 failed) on 2 worker(s)" in out
    local = ResultsStore(tmp_path / "local" / "compare" / "results.jsonl").load()
    remote = ResultsStore(tmp_path / "dask" / "compare" / "results.jsonl").load()
    assert set(local) == set(remote) and len(local) == 4
    for key, record in local.items():
        for field in COMPARED:
            assert remote[key][field] == record[field], (record["model"], field)
        assert remote[key]["worker"].startswith("tcp://")
    assert (tmp_path / "dask" / "compare" / "report.md").exists()


def test_a_killed_worker_loses_no_recorded_result(tmp_path, cluster, data_dir):
    client = distributed.Client(cluster.scheduler_address)
    tasks = [make_task(m, s, 2, 32, 96, 48, data_dir) for m in ("mlp", "w1") for s in (0, 1, 2)]
    store = ResultsStore(tmp_path / "results.jsonl")
    killed = []

    def kill_a_worker_after_the_first_result(record):
        if not killed:
            victim = next(a for a in client.scheduler_info()["workers"] if a != record["worker"])
            pid = client.run(os.getpid, workers=[victim])[victim]
            killed.append(victim)
            os.kill(pid, signal.SIGKILL)

    try:
        records = run_on_cluster(
            tasks, store, client, on_result=kill_a_worker_after_the_first_result
        )
    finally:
        client.close()
    assert killed
    assert sorted(r["key"] for r in records) == sorted(t["key"] for t in tasks)
    assert set(store.load()) == {t["key"] for t in tasks}


def test_unreachable_scheduler_is_a_clear_error(tmp_path, data_dir, capsys):
    import dask

    # Dask's connect timeout decides how long the client tries (30 s by default).
    ctx = dask.config.set({"distributed.comm.timeouts.connect": "2s"})
    argv = [
        "compare",
        "--out",
        str(tmp_path),
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--data-dir",
        data_dir,
        *ARGS,
    ]
    with ctx:
        started = time.perf_counter()
        assert cli.main(argv) == 2
        assert time.perf_counter() - started < 15
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_experiments_are_plain_functions_of_json_tasks():
    import json

    task = make_task("base", 0, 1, 128, None, None)
    assert json.loads(json.dumps(task)) == task
    assert sweep.EXPERIMENTS["compare"][1] == ["cmp", "mlp"]
