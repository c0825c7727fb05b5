"""PNG plots of the study (matplotlib, Agg backend: no screen needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))


def accuracy_vs_params(rows: Sequence[dict[str, Any]], title: str, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in rows:
        a = r["accuracy"]
        ax.errorbar(r["params"], a["mean"], yerr=a["std"], fmt="o", capsize=4, label=r["id"])
        ax.annotate(r["id"], (r["params"], a["mean"]), textcoords="offset points", xytext=(5, 5))
        if r["document"] is not None:
            ax.plot(r["params"], r["document"], "x", color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test accuracy, % (mean ± std over seeds; x = document)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _save(fig, path)


def training_curves(rows: Sequence[dict[str, Any]], path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for r in rows:
        for ax, key in zip(axes, ("accuracy", "loss"), strict=True):
            train = np.mean([run["history"][key] for run in r["runs"]], axis=0)
            val = np.mean([run["history"]["val_" + key] for run in r["runs"]], axis=0)
            epochs = np.arange(1, len(train) + 1)
            (line,) = ax.plot(epochs, train, "--", alpha=0.7)
            ax.plot(epochs, val, "-", color=line.get_color(), label=r["id"])
    for ax, key in zip(axes, ("accuracy", "loss"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{key} (dashed: training, solid: validation)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    _save(fig, path)


def confusion(run: dict[str, Any], title: str, path: Path) -> None:
    plt = _pyplot()
    matrix = np.asarray(run["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    names = run["class_names"]
    ax.set_xticks(range(10), names, rotation=60, ha="right")
    ax.set_yticks(range(10), names)
    for i in range(10):
        for j in range(10):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax)
    _save(fig, path)


def per_class_recall(rows: Sequence[dict[str, Any]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(rows), 1)
    positions = np.arange(10)
    for k, r in enumerate(rows):
        recalls = np.array([run["per_class"]["recall"] for run in r["runs"]])
        ax.bar(
            positions + k * width,
            recalls.mean(axis=0),
            width,
            yerr=recalls.std(axis=0, ddof=1) if len(recalls) > 1 else None,
            capsize=2,
            label=r["id"],
        )
    ax.set_xticks(positions + width * (len(rows) - 1) / 2, rows[0]["class_names"], rotation=45)
    ax.set_ylabel("recall (mean over seeds)")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
