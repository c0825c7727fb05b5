"""Reports: the study's tables with mean, spread and significance over seeds, and plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write
from . import zoo
from .data import RECIPE

ALPHA = 0.05


def _stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
        "n": len(a),
    }


def summarise(records: Sequence[dict[str, Any]], model_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One row per model id that has results: accuracy statistics, params and speed."""
    rows = []
    for model_id in model_ids:
        runs = sorted(
            (r for r in records if r["model"] == model_id and r.get("status", "ok") == "ok"),
            key=lambda r: r["seed"],
        )
        if not runs:
            continue
        spec = zoo.get_spec(model_id)
        accuracies = [100 * r["test_accuracy"] for r in runs]
        rows.append(
            {
                "id": model_id,
                "label": spec.label,
                "layers": spec.layers,
                "params": runs[0]["params"],
                # The document's figures are for Fashion-MNIST only.
                "document": spec.document_accuracy
                if runs[0]["data"]["dataset"] == "fashion_mnist"
                else None,
                "class_names": runs[0]["class_names"],
                "accuracies": accuracies,
                "seeds": [r["seed"] for r in runs],
                "accuracy": _stats(accuracies),
                "seconds_per_epoch": float(np.mean([r["seconds_per_epoch"] for r in runs])),
                "train_seconds": float(np.mean([r["train_seconds"] for r in runs])),
                "runs": runs,
            }
        )
    return rows


def welch(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test, or None when either side has under 2 seeds."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy import stats

    if np.std(a) == 0 and np.std(b) == 0:
        return 1.0 if np.mean(a) == np.mean(b) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def conclusions(rows: Sequence[dict[str, Any]], reference: str = "base") -> list[str]:
    """Sentences computed from the numbers: significance against ``reference`` and speed."""
    by_id = {r["id"]: r for r in rows}
    sentences = []
    ref = by_id.get(reference)
    if ref is not None:
        better, worse, same, untested = [], [], [], []
        for row in rows:
            if row["id"] == reference:
                continue
            p = welch(row["accuracies"], ref["accuracies"])
            diff = row["accuracy"]["mean"] - ref["accuracy"]["mean"]
            text = f"{row['id']} ({diff:+.2f} points, p={p:.3f})" if p is not None else row["id"]
            if p is None:
                untested.append(text)
            elif p < ALPHA:
                (better if diff > 0 else worse).append(text)
            else:
                same.append(text)
        if better:
            sentences.append(
                f"Significantly more accurate than {reference} (Welch's t-test, p < {ALPHA}): "
                + ", ".join(better)
                + "."
            )
        if worse:
            sentences.append(
                f"Significantly less accurate than {reference}: " + ", ".join(worse) + "."
            )
        if same:
            sentences.append(
                f"Not significantly different from {reference} at p < {ALPHA}: "
                + ", ".join(same)
                + "."
            )
        if untested:
            sentences.append(
                "Too few seeds (under 2 on a side) to test against "
                f"{reference}: " + ", ".join(untested) + "."
            )
    elif rows and reference:
        sentences.append(f"No {reference} results to compare against.")
    if rows:
        best = max(rows, key=lambda r: r["accuracy"]["mean"] / max(r["train_seconds"], 1e-9))
        sentences.append(
            f"Best accuracy per training second: {best['id']} "
            f"({best['accuracy']['mean']:.2f}% in {best['train_seconds']:.1f} s of training)."
        )
        top = max(rows, key=lambda r: r["accuracy"]["mean"])
        sentences.append(f"Highest mean accuracy: {top['id']} ({top['accuracy']['mean']:.2f}%).")
    return sentences


def table_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| id | document's label | params | document % | ours % mean ± std (n) | min–max "
        "| s/epoch |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        a = r["accuracy"]
        doc = f"{r['document']:.2f}" if r["document"] is not None else "–"
        lines.append(
            f"| {r['id']} | {r['label']} | {r['params']:,} | {doc} | "
            f"{a['mean']:.2f} ± {a['std']:.2f} ({a['n']}) | {a['min']:.2f}–{a['max']:.2f} | "
            f"{r['seconds_per_epoch']:.2f} |"
        )
    return lines


def side_by_side(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Classification reports of several models next to each other (means over seeds)."""
    names = rows[0]["class_names"]
    header = "| class | " + " | ".join(f"{r['id']} precision | recall | f1" for r in rows) + " |"
    lines = [header, "|---|" + "---:|---:|---:|" * len(rows)]

    def mean_metric(row: dict[str, Any], metric: str) -> np.ndarray:
        return np.mean([run["per_class"][metric] for run in row["runs"]], axis=0)

    metrics = {r["id"]: {m: mean_metric(r, m) for m in ("precision", "recall", "f1")} for r in rows}
    for k, name in enumerate(names):
        cells = [
            f"{metrics[r['id']]['precision'][k]:.4f} | {metrics[r['id']]['recall'][k]:.4f} | "
            f"{metrics[r['id']]['f1'][k]:.4f}"
            for r in rows
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    accuracy_cells = []
    for r in rows:
        accuracy_cells += ["", "", f"{r['accuracy']['mean'] / 100:.4f}"]
    lines.append("| accuracy | " + " | ".join(accuracy_cells) + " |")
    for average in ("macro avg", "weighted avg"):
        cells = []
        for r in rows:
            support = np.mean([run["per_class"]["support"] for run in r["runs"]], axis=0)
            weights = np.ones_like(support) if average == "macro avg" else support
            for m in ("precision", "recall", "f1"):
                cells.append(f"{np.average(metrics[r['id']][m], weights=weights):.4f}")
        lines.append(f"| {average} | " + " | ".join(cells) + " |")
    return lines


def _recipe_lines(records: Sequence[dict[str, Any]]) -> list[str]:
    first = records[0]
    recipe, data = first["recipe"], first["data"]
    seeds = sorted({r["seed"] for r in records})
    subset = (
        f"first {data['max_train']} training images"
        if data["max_train"]
        else "all 60,000 training images"
    ) + (f", first {data['max_test']} test images" if data["max_test"] else ", all 10,000 test")
    optimizer = dict(recipe["optimizer"])
    name = optimizer.pop("name", "optimizer").capitalize()
    settings = ", ".join(f"{k}={v}" for k, v in sorted(optimizer.items()))
    return [
        f"- Recipe: {RECIPE}",
        f"- {recipe['epochs']} epochs, batch {recipe['batch_size']}, {name}({settings}), "
        f"seeds {seeds}; data: {data['dataset']}, {subset}.",
        f"- Device: {first['device']}; minicnn {first['versions']['minicnn']}, Python "
        f"{first['versions']['python']}, NumPy {first['versions']['numpy']}; git commit "
        f"{first.get('git_commit') or 'unknown'}.",
    ]


def write_report(
    experiment: str,
    title: str,
    records: Sequence[dict[str, Any]],
    model_ids: Sequence[str],
    directory: Path,
) -> Path:
    """``directory/report.md`` with the table, computed conclusions and PNG plots."""
    from . import plots

    rows = summarise(records, model_ids)
    path = directory / "report.md"
    lines = [f"# {title}", ""]
    if not rows:
        lines.append("No results yet.")
        atomic_write(path, lambda f: f.write("\n".join(lines).encode() + b"\n"))
        return path
    lines += _recipe_lines(records) + ["", "## Results", ""] + table_markdown(rows)
    failed = [r for r in records if r.get("status", "ok") != "ok"]
    if failed:
        lines += ["", "Failed runs (left out of the statistics):", ""]
        lines += [f"- {r['model']} seed {r['seed']}: {r['error']}" for r in failed]
    lines += ["", "## What the numbers say", ""]
    reference = "mlp" if experiment == "compare" else "base"
    lines += [f"- {s}" for s in conclusions(rows, reference)]
    lines += ["", "## Plots", ""]
    if experiment in ("width", "window", "depth", "all"):
        plots.accuracy_vs_params(rows, title, directory / "accuracy_vs_params.png")
        lines.append("![accuracy vs parameters](accuracy_vs_params.png)")
    plots.training_curves(rows, directory / "curves.png")
    lines.append("![training and validation curves](curves.png)")
    by_id = {r["id"]: r for r in rows}
    if "base" in by_id:
        run = by_id["base"]["runs"][0]
        plots.confusion(run, f"base, seed {run['seed']}", directory / "confusion_base.png")
        lines.append("![confusion matrix of base](confusion_base.png)")
    if experiment == "compare":
        plots.per_class_recall(rows, directory / "recall_per_class.png")
        lines.append("![per-class recall](recall_per_class.png)")
        lines += ["", "## Classification reports side by side (means over seeds)", ""]
        lines += side_by_side(rows)
    lines += ["", "## Models", ""]
    lines += [f"- `{r['id']}` ({r['params']:,} params): `{r['layers']}`" for r in rows]
    lines += [
        "",
        "Notation: `C32-3s` Conv2D 32 filters 3x3 'same' + ReLU (`v` = 'valid'); `P` MaxPooling2D "
        "2x2; `F` Flatten; `D128` Dense 128 + ReLU; `Dr` Dropout 0.2; `O10` Dense 10 + softmax.",
    ]
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))
    return path


def write_index(out: Path, reports: dict[str, Path], records: Sequence[dict[str, Any]]) -> Path:
    """``out/index.md``: every model of the study in one table, and links to each report."""
    ids = [spec.id for spec in zoo.STUDY]
    rows = summarise(records, ids)
    lines = ["# The study, reproduced by minicnn", ""]
    if records:
        lines += _recipe_lines(records)
    lines += ["", "## Reports", ""]
    lines += [f"- [{name}]({path.relative_to(out).as_posix()})" for name, path in reports.items()]
    lines += ["", "## Every model", ""] + table_markdown(rows)
    text = "\n".join(lines) + "\n"
    path = out / "index.md"
    atomic_write(path, lambda f: f.write(text.encode()))
    return path
