"""The study's first task: train one model, print its summary, log, accuracy and report."""

from __future__ import annotations

import platform
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, backend
from . import zoo
from .data import RECIPE, class_names
from .results import ResultsStore
from .runner import _data, make_task, train_run


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / 1e6 if sys.platform != "darwin" else kib / 1e6


def run(
    model_id: str = "base",
    epochs: int = 6,
    batch_size: int = 128,
    seed: int = 0,
    data_dir: str | None = None,
    max_train: int | None = None,
    max_test: int | None = None,
    verbose: int = 1,
    store: ResultsStore | None = None,
    dataset: str = "fashion_mnist",
    device: str = "cpu",
    jit_compile: bool = False,
) -> dict[str, Any]:
    """Train and report one model of the study; returns its result record (also appended to
    ``store`` when given)."""
    task = make_task(
        model_id,
        seed,
        epochs,
        batch_size,
        max_train,
        max_test,
        data_dir,
        dataset,
        device,
        jit_compile,
    )
    (x_train, _), (x_test, y_test) = _data(task)
    spec = zoo.get_spec(model_id)
    print(f"minicnn {__version__}, Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"Model {spec.id} ({spec.label}): {spec.layers}")
    print(f"Recipe: {RECIPE}")
    print(
        f"Data: {dataset}, {len(x_train)} train, {len(x_test)} test images; {epochs} epochs, batch "
        f"{batch_size}, seed {seed}\n"
    )
    backend.clear_session()
    zoo.build_model(model_id, x_train.shape[1:], device="cpu").summary()
    print()
    kept: dict[str, Any] = {}
    record = train_run(task, verbose=verbose, keep=kept)
    print(f"\nTest accuracy {100 * record['test_accuracy']:.2f}%\n")
    print("Classification Report:\n")
    from sklearn.metrics import classification_report  # slow to import; see train_run

    print(
        classification_report(
            y_test,
            kept["predicted"],
            labels=list(range(10)),
            target_names=class_names(dataset),
            digits=4,
            zero_division=0,
        )
    )
    # The first epoch includes the kernels' compilation and warm-up; leave it out of the speed
    # figure.
    seconds = record["epoch_seconds"]
    steady = float(np.mean(seconds[1:] or seconds))
    record["peak_rss_mb"] = peak_rss_mb()
    gpu_memory = backend.gpu_memory_mb() if device == "gpu" else None
    if gpu_memory is not None:
        record["gpu_pool_mb"] = gpu_memory
    print(
        f"Seconds per epoch: {steady:.1f} (each: "
        + ", ".join(f"{s:.1f}" for s in seconds)
        + f"); predict on {len(x_test)} images: {kept['predict_seconds']:.1f} s; "
        f"peak memory {record['peak_rss_mb']:.0f} MB RSS"
        + (f", {gpu_memory:.0f} MB held on the GPU" if gpu_memory is not None else "")
    )
    if store is not None:
        store.append(record)
    return record


def run_seeds(
    seeds: list[int], out: Path, fresh: bool = False, **kwargs: Any
) -> tuple[Path, list[dict[str, Any]]]:
    """Task 1 for each seed, recorded in ``out/baseline`` with a report."""
    from . import report
    from .sweep import EXPERIMENTS

    directory = out / "baseline"
    store = ResultsStore(directory / "results.jsonl")
    store.check_writable()
    if fresh:
        store.start_fresh()
    records = [run(seed=seed, store=store, **kwargs) for seed in seeds]
    model_id = kwargs.get("model_id", "base")
    title = EXPERIMENTS["baseline"][0] if model_id == "base" else f"Task 1: {model_id}"
    path = report.write_report("baseline", title, records, [model_id], directory)
    print(f"baseline: report written to {path}")
    return path, records
