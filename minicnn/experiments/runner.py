"""Training one (model, seed) run, and sweeping many of them, serially or in worker processes.

``train_run`` is a plain function of a JSON-serialisable task that returns a plain record, so
any executor can run it; only the caller writes results.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import platform
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, backend, optimizers
from ..models import TrainingDivergedError
from . import zoo
from .data import class_names, load_dataset
from .results import ResultsStore, run_key

_DATA_CACHE: dict[tuple, Any] = {}


def make_task(
    model_id: str,
    seed: int,
    epochs: int,
    batch_size: int,
    max_train: int | None,
    max_test: int | None,
    data_dir: str | None = None,
    dataset: str = "fashion_mnist",
    device: str = "cpu",
    jit_compile: bool = False,
) -> dict[str, Any]:
    """Everything a run needs; ``key`` hashes all of it that can change the result.

    A GPU run is another run than the CPU one (other rounding, other timings); CPU keys stay
    what they were before GPUs existed, so earlier results are still found. ``jit_compile``
    (a training step captured in a CUDA graph) gives the same results, so it is no part of the
    key; the record says whether it was on."""
    spec = zoo.get_spec(model_id)
    identity = {
        "model": model_id,
        "layers": spec.layers,
        "recipe": {
            "epochs": epochs,
            "batch_size": batch_size,
            # minicnn's short form, its name the class's (a run's identity: kept as it was)
            "optimizer": {**optimizers.Adam().get_config(), "name": "adam"},
            "loss": "sparse_categorical_crossentropy",
            "dropout": zoo.DROPOUT_RATE,
            "initializer": "glorot_uniform",
        },
        "data": {"dataset": dataset, "max_train": max_train, "max_test": max_test},
        "seed": seed,
    }
    if device != "cpu":
        identity["device"] = device
    return {
        **identity,
        "key": run_key(identity),
        "data_dir": data_dir,
        "device": device,
        "jit_compile": jit_compile,
    }


def _data(task: dict[str, Any]) -> Any:
    d = task["data"]
    cache_key = (d["dataset"], task.get("data_dir"), d["max_train"], d["max_test"])
    if cache_key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # one data set per process at a time
        _DATA_CACHE[cache_key] = load_dataset(
            d["dataset"], task.get("data_dir"), d["max_train"], d["max_test"]
        )
    return _DATA_CACHE[cache_key]


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def train_run(
    task: dict[str, Any], verbose: int = 0, keep: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Train and test one model with one seed; returns a JSON-ready record. ``keep``, if
    given, receives the model and the test predictions."""
    (x_train, y_train), (x_test, y_test) = _data(task)
    backend.clear_session()
    backend.set_random_seed(task["seed"])
    recipe = task["recipe"]
    device = task.get("device", "cpu")
    model = zoo.build_model(task["model"], x_train.shape[1:], device=device)
    model.compile(
        optimizers.get(dict(recipe["optimizer"])),
        recipe["loss"],
        metrics=["accuracy"],
        jit_compile=task.get("jit_compile", False),
    )
    checkpoint = None
    if task.get("checkpoint_dir") and task.get("checkpoint_every"):
        Path(task["checkpoint_dir"]).mkdir(parents=True, exist_ok=True)
        checkpoint = Path(task["checkpoint_dir"]) / f"{task['key']}.npz"
    start = time.perf_counter()
    try:
        history = model.fit(
            x_train,
            y_train,
            batch_size=recipe["batch_size"],
            epochs=recipe["epochs"],
            validation_data=(x_test, y_test),
            verbose=verbose,
            checkpoint=checkpoint,
            checkpoint_every=task.get("checkpoint_every") or 1,
        )
    except TrainingDivergedError as e:
        # Recorded as failed, so that a sweep goes on and a re-run does not repeat it.
        return {
            **_identity(task),
            "status": "failed",
            "error": str(e),
            "history": model.history.history if model.history else {},
            **_provenance(device, task.get("jit_compile", False)),
        }
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(
        x_test, y_test, batch_size=recipe["batch_size"], verbose=0
    )
    predict_start = time.perf_counter()
    predicted = model.predict(x_test, batch_size=recipe["batch_size"], verbose=0).argmax(axis=1)
    if keep is not None:
        keep.update(
            model=model, predicted=predicted, predict_seconds=time.perf_counter() - predict_start
        )
    matrix, per_class = class_scores(y_test, predicted, 10)
    return {
        **_identity(task),
        "status": "ok",
        "params": model.count_params(),
        "test_loss": float(test_loss),
        "test_accuracy": float(test_accuracy),
        "per_class": per_class,
        "confusion_matrix": matrix,
        "history": history.history,
        "epoch_seconds": history.epoch_seconds,
        "seconds_per_epoch": float(np.mean(history.epoch_seconds)),
        "train_seconds": train_seconds,
        **_provenance(device, task.get("jit_compile", False)),
    }


def class_scores(
    truth: np.ndarray, predicted: np.ndarray, classes: int
) -> tuple[list[list[int]], dict[str, list[float]]]:
    """The confusion matrix (rows: true class) and each class's precision, recall, F1 and
    support, as scikit-learn's ``confusion_matrix`` and ``precision_recall_fscore_support(...,
    zero_division=0)`` give them. Counted here because importing scikit-learn costs each
    worker process of a sweep about 2 s."""
    truth = np.asarray(truth, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    matrix = np.bincount(truth * classes + predicted, minlength=classes * classes)
    matrix = matrix.reshape(classes, classes)
    hits = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    claimed = matrix.sum(axis=0)
    precision = np.divide(hits, claimed, out=np.zeros(classes), where=claimed > 0)
    recall = np.divide(hits, support, out=np.zeros(classes), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(classes), where=both > 0)
    per_class = {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
    }
    return matrix.tolist(), per_class


def _identity(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": task["key"],
        "model": task["model"],
        "seed": task["seed"],
        "layers": task["layers"],
        "recipe": task["recipe"],
        "data": task["data"],
        "class_names": class_names(task["data"]["dataset"]),
    }


def _provenance(device: str, jit_compile: bool = False) -> dict[str, Any]:
    return {
        "device": device,
        "jit_compile": jit_compile,
        "hostname": platform.node(),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "minicnn": __version__,
        },
        "git_commit": git_commit(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _train_in_pool(task: dict[str, Any]) -> dict[str, Any]:
    """train_run in a worker process of ``run_tasks``, naming the process in the record."""
    return {**train_run(task, 0), "worker": f"process {os.getpid()}"}


def _start_worker(threads: int) -> None:
    """Set up a worker process of ``run_tasks``. Each of N workers gets its share of the cores
    (BLAS and Numba alike). Ctrl-C reaches every process of the terminal's group, but only the
    parent acts on it (``_stop_pool``): a worker interrupted between runs would die in the
    middle of the pool's queue protocol and could leave the others waiting forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _stop_pool(pool: futures.ProcessPoolExecutor, workers: list[Any]) -> None:
    """End a sweep now (Ctrl-C, or a run that failed): runs not started are cancelled and the
    workers still training are ended, since what they would record is not wanted any more.
    A second Ctrl-C (a terminal and ``timeout`` may send two) must not cut this short, or the
    pool's shutdown is left half done and the process hangs at exit."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        for worker in workers:
            worker.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


def run_tasks(
    tasks: Iterable[dict[str, Any]],
    store: ResultsStore,
    jobs: int = 1,
    verbose: int = 0,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every task and append each record to ``store`` as soon as it is done."""
    tasks = list(tasks)
    done: list[dict[str, Any]] = []

    def record(result: dict[str, Any]) -> None:
        store.append(result)
        done.append(result)
        for task in tasks:
            # Once a run is recorded its checkpoint is no longer needed.
            if task["key"] == result["key"] and task.get("checkpoint_dir"):
                (Path(task["checkpoint_dir"]) / f"{task['key']}.npz").unlink(missing_ok=True)
        if on_result:
            on_result(result)

    if jobs <= 1:
        for task in tasks:
            record(train_run(task, verbose))
        return done
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")
    children_before = set(multiprocessing.active_children())
    pool = futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(threads,)
    )
    try:
        pending = [pool.submit(_train_in_pool, task) for task in tasks]
        for future in futures.as_completed(pending):
            record(future.result())
    except BaseException:
        workers = [p for p in multiprocessing.active_children() if p not in children_before]
        _stop_pool(pool, workers)
        raise
    pool.shutdown()
    return done
