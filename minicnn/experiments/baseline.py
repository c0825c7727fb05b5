"""The study's first task: train one model, print its summary, log, accuracy and report."""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from typing import Any

import numpy as np
from sklearn.metrics import classification_report

from .. import __version__, backend, optimizers
from ..datasets import DatasetError, fashion_mnist
from . import zoo

RECIPE = (
    "Fashion-MNIST, pixels/255 as float32 (N, 28, 28, 1); Adam(lr 1e-3, beta_1 0.9, beta_2 0.999, "
    "epsilon 1e-7); sparse categorical cross-entropy on softmax; glorot-uniform weights, zero "
    "biases; dropout 0.2 after hidden dense layers; max-pool 2x2; reshuffled every epoch; "
    "the test set is the validation set."
)


def prepare_images(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / np.float32(255.0))[..., None]


def load_fashion_mnist(
    data_dir: str | None, max_train: int | None, max_test: int | None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(data_dir)
    x_train, y_train = x_train[:max_train], y_train[:max_train]
    x_test, y_test = x_test[:max_test], y_test[:max_test]
    return (prepare_images(x_train), y_train), (prepare_images(x_test), y_test)


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
) -> dict[str, Any]:
    """Train and report one model of the study; returns the figures it printed."""
    backend.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir, max_train, max_test)
    spec = zoo.get_spec(model_id)
    model = zoo.build_model(model_id, x_train.shape[1:])
    print(f"minicnn {__version__}, Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"Model {spec.id} ({spec.label}): {spec.layers}")
    print(f"Recipe: {RECIPE}")
    print(
        f"Data: {len(x_train)} train, {len(x_test)} test images; {epochs} epochs, batch "
        f"{batch_size}, seed {seed}\n"
    )
    model.summary()
    model.compile(
        optimizer=optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    print()
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_test, y_test),
        verbose=verbose,
    )
    test_loss, test_accuracy = model.evaluate(
        x_test, y_test, batch_size=batch_size, verbose=verbose
    )
    start = time.perf_counter()
    predictions = model.predict(x_test, batch_size=batch_size, verbose=verbose).argmax(axis=1)
    predict_seconds = time.perf_counter() - start
    print(f"\nTest accuracy {100 * test_accuracy:.2f}%\n")
    print("Classification Report:\n")
    print(
        classification_report(
            y_test,
            predictions,
            labels=list(range(10)),
            target_names=fashion_mnist.class_names,
            digits=4,
            zero_division=0,
        )
    )
    # The first epoch includes Numba's and BLAS's warm-up; report it apart.
    seconds = history.epoch_seconds
    steady = seconds[1:] or seconds
    figures = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "epoch_seconds": seconds,
        "seconds_per_epoch": float(np.mean(steady)),
        "predict_seconds": predict_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "params": model.count_params(),
    }
    print(
        f"Seconds per epoch: {figures['seconds_per_epoch']:.1f} (epochs: "
        + ", ".join(f"{s:.1f}" for s in seconds)
        + f"); predict on {len(x_test)} images: "
        f"{predict_seconds:.1f} s; peak memory {figures['peak_rss_mb']:.0f} MB RSS"
    )
    return figures


def run_from_args(args: argparse.Namespace) -> int:
    try:
        run(
            args.model,
            args.epochs,
            args.batch_size,
            args.seed,
            args.data_dir,
            args.max_train,
            args.max_test,
            args.verbose,
        )
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
