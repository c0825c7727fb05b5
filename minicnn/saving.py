"""The model file: one .npz archive that never needs unpickling.

Format (version 1): a NumPy ``.npz`` (zip) archive holding
- ``minicnn_config``: uint8 bytes of a UTF-8 JSON document
  ``{"format": "minicnn.model", "format_version": 1, "minicnn_version": ..., "model": {name,
  input_shape, layers: [{class_name, config}]}, "compile": {optimizer, loss, metrics} | null}``;
- ``weight_0`` ... ``weight_{k-1}``: every layer's weights in order, in Keras layout.
It is read with ``allow_pickle=False``, so nothing in a file can run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, losses, optimizers
from .fileio import atomic_write
from .layers import LAYER_CLASSES, Input
from .models import Sequential

FORMAT = "minicnn.model"
FORMAT_VERSION = 1
CONFIG_KEY = "minicnn_config"


class ModelFileError(ValueError):
    """A file that is not a minicnn model, or whose contents do not fit the model it describes."""


def save_model(model: Sequential, path: str | os.PathLike) -> None:
    model._require_built()
    compile_config = None
    if model.compiled:
        compile_config = {
            "optimizer": model.optimizer.get_config(),
            "loss": model.loss.get_config(),
            "metrics": model.metrics,
        }
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "minicnn_version": __version__,
        "model": model.get_config(),
        "compile": compile_config,
    }
    arrays = {CONFIG_KEY: np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)}
    arrays.update({f"weight_{i}": w for i, w in enumerate(model.get_weights())})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_model(path: str | os.PathLike, compile: bool = True) -> Sequential:
    """Rebuild a model saved by ``model.save``: same architecture, same weights, same compile."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path} is not a minicnn model file ({e}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{path} is not a minicnn model file (a bare .npy array).")
    with archive:
        if CONFIG_KEY not in archive.files:
            raise ModelFileError(f"{path} is not a minicnn model file (no {CONFIG_KEY} entry).")
        try:
            document = json.loads(_read(archive, CONFIG_KEY, path).tobytes().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFileError(
                f"{path}: its model description is not valid JSON ({e})."
            ) from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ModelFileError(f"{path} is not a minicnn model file (format is not {FORMAT!r}).")
        version = document.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelFileError(
                f"{path} uses model format version {version}; this minicnn ({__version__}) reads "
                f"up to version {FORMAT_VERSION}. Upgrade minicnn to load it."
            )
        model = _model_from_config(document.get("model"), path)
        count = len(model.weights)
        weights = []
        for i in range(count):
            key = f"weight_{i}"
            if key not in archive.files:
                raise ModelFileError(f"{path}: weight array {key} is missing ({count} expected).")
            weights.append(_read(archive, key, path))
        try:
            model.set_weights(weights)
        except ValueError as e:
            raise ModelFileError(f"{path}: its arrays do not fit the model: {e}") from None
    if compile and document.get("compile"):
        c = document["compile"]
        try:
            model.compile(optimizers.get(c["optimizer"]), losses.get(c["loss"]), c["metrics"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{path}: its compile settings are invalid ({e}).") from None
    return model


def _read(archive: Any, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as e:  # an object array, which would need unpickling
        raise ModelFileError(
            f"{path}: entry {key} cannot be read without unpickling ({e})."
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path}: entry {key} is corrupt ({e}).") from None


def _model_from_config(config: Any, path: Path) -> Sequential:
    try:
        model = Sequential(name=config["name"])
        if config["input_shape"] is not None:
            model.add(Input(tuple(config["input_shape"])))
        for entry in config["layers"]:
            cls = LAYER_CLASSES.get(entry["class_name"])
            if cls is None:
                raise ModelFileError(f"{path}: unknown layer class {entry['class_name']!r}.")
            model.add(cls.from_config(entry["config"]))
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: its model description is invalid ({e!r}).") from None
    return model


CHECKPOINT_FORMAT = "minicnn.checkpoint"


def save_checkpoint(path: str | os.PathLike, model: Sequential, epoch: int, history: Any) -> None:
    """Model, optimizer state, random-generator state and History after ``epoch`` epochs, in
    one .npz written atomically (the format of ``save_model`` plus ``optimizer_*`` arrays)."""
    from . import backend

    document = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "minicnn_version": __version__,
        "model": model.get_config(),
        "epoch": epoch,
        "optimizer": model.optimizer.get_config(),
        "optimizer_iterations": model.optimizer.iterations,
        "rng_state": backend.get_rng_state(),
        "history": {
            "history": history.history,
            "epoch": history.epoch,
            "epoch_seconds": history.epoch_seconds,
        },
    }
    arrays = {CONFIG_KEY: np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)}
    arrays.update({f"weight_{i}": w for i, w in enumerate(model.get_weights())})
    arrays.update(
        {f"optimizer_{i}": backend.to_numpy(a) for i, a in enumerate(model.optimizer.variables())}
    )
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: str | os.PathLike, model: Sequential, history: Any) -> int:
    """Restore a checkpoint into ``model`` (which must have the same architecture) and
    ``history``; returns the number of epochs it had finished."""
    from . import backend

    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path} is not a minicnn checkpoint ({e}).") from None
    with archive:
        if CONFIG_KEY not in archive.files:
            raise ModelFileError(f"{path} is not a minicnn checkpoint (no {CONFIG_KEY} entry).")
        document = json.loads(_read(archive, CONFIG_KEY, path).tobytes().decode())
        if document.get("format") != CHECKPOINT_FORMAT:
            raise ModelFileError(f"{path} is not a minicnn checkpoint.")
        if document["model"]["layers"] != model.get_config()["layers"]:
            raise ModelFileError(f"{path} was written for another architecture than this model's.")
        weights = [_read(archive, f"weight_{i}", path) for i in range(len(model.weights))]
        model.set_weights(weights)
        slots = sorted(k for k in archive.files if k.startswith("optimizer_"))
        arrays = [_read(archive, f"optimizer_{i}", path) for i in range(len(slots))]
    try:
        model.optimizer.set_state(model.weights, document["optimizer_iterations"], arrays)
    except ValueError as e:
        raise ModelFileError(f"{path}: {e}") from None
    backend.set_rng_state(document["rng_state"])
    saved = document["history"]
    history.epoch = list(saved["epoch"])
    history.history = {k: list(v) for k, v in saved["history"].items()}
    history.epoch_seconds = list(saved["epoch_seconds"])
    return int(document["epoch"])
