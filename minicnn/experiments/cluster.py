"""Running a sweep's runs on a Dask distributed cluster (the ``dist`` extra).

Each run is submitted as ``train_run(task)``, a plain function of a JSON-ready task that returns
a JSON-ready record (never a CuPy array), so any worker can run it. The client stays the only
writer of results.jsonl and appends each record as it arrives: a crash of the client or of a
worker loses at most the runs in flight, and a re-run resumes as always. Dask reschedules the
runs of a worker that dies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .results import ResultsStore


def _train_on_worker(task: dict[str, Any]) -> dict[str, Any]:
    from distributed import get_worker

    from .runner import train_run

    record = train_run(task)
    record["worker"] = get_worker().address
    return record


def connect(scheduler: Any) -> Any:
    """A ``distributed.Client`` for an address like ``tcp://host:8786`` (or the client given)."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError(
            "--scheduler needs Dask distributed: pip install 'minicnn[dist]'"
        ) from None
    if isinstance(scheduler, Client):
        return scheduler
    import dask

    # Dask's own setting (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT), 30 s unless changed.
    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None


def run_on_cluster(
    tasks: Sequence[dict[str, Any]],
    store: ResultsStore,
    scheduler: Any,
    device: str = "cpu",
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Submit every task; append each record to ``store`` as soon as it comes back."""
    from distributed import as_completed

    client = connect(scheduler)
    # A GPU run asks for one unit of the workers' GPU resource: one run per GPU at a time.
    resources = {"GPU": 1} if device == "gpu" else None
    futures = [
        client.submit(
            _train_on_worker,
            task,
            key=f"minicnn-{task['model']}-seed{task['seed']}-{task['key']}",
            resources=resources,
            pure=False,
            retries=2,
        )
        for task in tasks
    ]
    done = []
    try:
        for _future, record in as_completed(futures, with_results=True):
            store.append(record)
            done.append(record)
            if on_result:
                on_result(record)
    finally:
        for future in futures:
            future.cancel()
        if client is not scheduler:
            client.close()
    return done
