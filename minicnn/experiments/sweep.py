"""The study's experiments: which models each one trains, and running them with resumption."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import report, zoo
from .results import ResultsStore
from .runner import make_task, run_tasks

EXPERIMENTS: dict[str, tuple[str, list[str]]] = {
    "baseline": ("Task 1: the base model", ["base"]),
    "width": ("Task 2: accuracy against width", ["base", "w1", "w2", "w4", "w5", "w6", "w7"]),
    "window": ("Task 2: accuracy against the conv window", ["base", "k2", "k4", "k5", "dec"]),
    "depth": (
        "Task 3: accuracy against depth",
        ["base", "d3", "d4", "d6", "d7", "d6x3", "d3x3"],
    ),
    "compare": ("Task 4: the CNN against the fully connected network", ["cmp", "mlp"]),
}


def _other_records(out: Path, experiment: str | None = None) -> dict[str, dict[str, Any]]:
    """Runs already recorded under ``out`` by every experiment but ``experiment`` (by all of
    them when None): the same key is the same run, so base, in several tables, is trained
    once."""
    found: dict[str, dict[str, Any]] = {}
    for name in EXPERIMENTS:
        path = out / name / "results.jsonl"
        if name != experiment and path.exists():
            found.update(ResultsStore(path).load())
    return found


class _Plan:
    """One experiment's runs and results file."""

    def __init__(self, experiment: str, out: Path, seeds: Sequence[int], **options: Any) -> None:
        variants = options.pop("variants", None)
        checkpoint_every = options.pop("checkpoint_every", 0)
        self.experiment = experiment
        self.title, models = EXPERIMENTS[experiment]
        self.models = [m for m in models if m in variants] if variants else list(models)
        self.directory = out / experiment
        self.store = ResultsStore(self.directory / "results.jsonl")
        self.tasks = [make_task(m, s, **options) for m in self.models for s in seeds]
        if checkpoint_every:
            for task in self.tasks:
                task.update(
                    checkpoint_dir=str(self.directory / "checkpoints"),
                    checkpoint_every=checkpoint_every,
                )

    def open(self, fresh: bool) -> None:
        self.store.check_writable()
        if fresh:
            moved = self.store.start_fresh()
            if moved:
                print(f"{self.experiment}: earlier results moved to {moved}")


class _RoutedStore:
    """Appends each record to the results file of the experiment that asked for its run."""

    def __init__(self, stores: dict[str, ResultsStore]) -> None:
        self.stores = stores

    def append(self, record: dict[str, Any]) -> None:
        self.stores[record["key"]].append(record)


def _train(
    label: str,
    to_train: list[dict[str, Any]],
    store: Any,
    jobs: int,
    verbose: int,
    scheduler: Any,
    device: str,
) -> list[dict[str, Any]]:
    """Train ``to_train``, printing a line per finished run and a summary."""
    count = [0]

    def progress(record: dict[str, Any]) -> None:
        count[0] += 1
        if record.get("status", "ok") != "ok":
            print(
                f"[{count[0]}/{len(to_train)}] {record['model']} seed {record['seed']}: "
                f"FAILED: {record['error']}",
                flush=True,
            )
            return
        where = f" on {record['worker']}" if record.get("worker") else ""
        print(
            f"[{count[0]}/{len(to_train)}] {record['model']} seed {record['seed']}: test accuracy "
            f"{100 * record['test_accuracy']:.2f}%, {record['train_seconds']:.1f} s "
            f"({record['seconds_per_epoch']:.1f} s/epoch){where}",
            flush=True,
        )

    start = time.perf_counter()
    if scheduler is not None and to_train:
        from .cluster import run_on_cluster

        finished = run_on_cluster(to_train, store, scheduler, device=device, on_result=progress)
    else:
        finished = run_tasks(to_train, store, jobs=jobs, verbose=verbose, on_result=progress)
    if finished:
        workers = {r.get("worker") or "this process" for r in finished}
        failed = sum(r.get("status", "ok") != "ok" for r in finished)
        print(
            f"{label}: trained {len(finished)} runs ({failed} failed) on "
            f"{len(workers)} worker(s) in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
    return finished


def run_experiment(
    experiment: str,
    out: Path,
    seeds: Sequence[int],
    epochs: int,
    batch_size: int,
    max_train: int | None = None,
    max_test: int | None = None,
    data_dir: str | None = None,
    variants: Sequence[str] | None = None,
    jobs: int = 1,
    fresh: bool = False,
    verbose: int = 0,
    dataset: str = "fashion_mnist",
    checkpoint_every: int = 0,
    scheduler: Any = None,
    device: str = "cpu",
    jit_compile: bool = False,
) -> tuple[Path, list[dict[str, Any]]]:
    """Train every missing (model, seed) of ``experiment``, then write its report."""
    plan = _Plan(
        experiment,
        out,
        seeds,
        epochs=epochs,
        batch_size=batch_size,
        max_train=max_train,
        max_test=max_test,
        data_dir=data_dir,
        dataset=dataset,
        device=device,
        jit_compile=jit_compile,
        variants=variants,
        checkpoint_every=checkpoint_every,
    )
    plan.open(fresh)
    store, tasks = plan.store, plan.tasks
    recorded = store.load()
    missing = [t for t in tasks if t["key"] not in recorded]
    others = _other_records(out, experiment) if missing and not fresh else {}
    reused = [t for t in missing if t["key"] in others]
    for task in reused:
        store.append(others[task["key"]])
    to_train = [t for t in missing if t["key"] not in others]
    print(
        f"{experiment}: {len(tasks)} runs ({len(plan.models)} models x {len(seeds)} seeds); "
        f"{len(tasks) - len(missing)} already recorded, {len(reused)} taken from other "
        f"experiments, {len(to_train)} to train",
        flush=True,
    )
    _train(experiment, to_train, store, jobs, verbose, scheduler, device)
    recorded = store.load()
    records = [recorded[t["key"]] for t in tasks if t["key"] in recorded]
    path = report.write_report(experiment, plan.title, records, plan.models, plan.directory)
    print(f"{experiment}: report written to {path}", file=sys.stdout, flush=True)
    return path, records


def run_all(
    experiments: Sequence[str], out: Path, seeds: Sequence[int], **options: Any
) -> dict[str, tuple[Path, list[dict[str, Any]]]]:
    """Several experiments with one pool of workers: every missing run of every table is
    trained once, the biggest models first (so that the last runs to finish are short ones and
    no worker idles at the end of each table), then each table is reported."""
    fresh = options.pop("fresh", False)
    jobs, verbose = options.pop("jobs", 1), options.pop("verbose", 0)
    scheduler, device = options.pop("scheduler", None), options.get("device", "cpu")
    plans = [_Plan(name, out, seeds, **options) for name in experiments]
    for plan in plans:
        plan.open(fresh)
    # With fresh, every table starts over: nothing recorded anywhere counts.
    recorded = {} if fresh else _other_records(out)
    owners: dict[str, ResultsStore] = {}
    to_train = []
    for plan in plans:
        for task in plan.tasks:
            if task["key"] not in recorded and task["key"] not in owners:
                owners[task["key"]] = plan.store
                to_train.append(task)
    to_train.sort(key=lambda t: zoo.get_spec(t["model"]).params, reverse=True)
    print(
        f"all: {len(to_train)} distinct runs to train for {len(plans)} tables, "
        f"{len(recorded)} recorded already",
        flush=True,
    )
    _train("all", to_train, _RoutedStore(owners), jobs, verbose, scheduler, device)
    return {
        name: run_experiment(
            name, out, seeds, jobs=jobs, verbose=verbose, scheduler=scheduler, **options
        )
        for name in experiments
    }
