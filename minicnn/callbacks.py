"""Callbacks for ``fit``, as in ``keras.callbacks``: History, EarlyStopping, ModelCheckpoint,
BackupAndRestore, TerminateOnNaN, LearningRateScheduler, ReduceLROnPlateau, CSVLogger,
SwapEMAWeights, TensorBoard, LambdaCallback, RemoteMonitor, ProgbarLogger, CallbackList, and
the ``Callback`` base class to write your own."""

from __future__ import annotations

import csv
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from . import backend
from .fileio import atomic_write
from .progress import print_msg

Logs = dict[str, float]  # an epoch's logs; callbacks may add keys, as in Keras
StepLogs = Mapping[str, float]  # a step's running logs, read-only


class Callback:
    """Base class: override the hooks you need. ``self.model`` is the model being trained and
    ``self.params`` holds ``epochs``, ``steps`` and ``verbose``. Setting
    ``self.model.stop_training = True`` ends training after the current step."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None:
        pass

    def on_train_end(self, logs: Logs | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: StepLogs | None = None) -> None:
        self.on_batch_begin(batch, logs)  # Keras' older names still work

    def on_train_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: StepLogs | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        pass

    # evaluate (and fit's validation) and predict, as in Keras
    def on_test_begin(self, logs: Logs | None = None) -> None:
        pass

    def on_test_end(self, logs: Logs | None = None) -> None:
        pass

    def on_test_batch_begin(self, batch: int, logs: StepLogs | None = None) -> None:
        pass

    def on_test_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        pass

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        pass

    def on_predict_end(self, logs: Logs | None = None) -> None:
        pass

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        pass

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        pass


class History(Callback):
    """What ``fit`` returns: ``history.history['loss']`` etc., one value per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        # Wall seconds of each epoch's training steps (validation left out); not a Keras key.
        self.epoch_seconds: list[float] = []

    def record(self, epoch: int, logs: Logs) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"


class BatchLogs(Mapping):
    """A step's running ``loss``/``accuracy``, read from the device only when a callback looks:
    on a GPU, reading waits for the queued steps, so callbacks that ignore batch logs cost
    nothing. The first look reads the epoch's totals as they are then, so look inside the hook
    (or copy it with ``dict(logs)``) to get the step's values."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self._read = read
        self._values: dict[str, float] | None = None

    def _logs(self) -> dict[str, float]:
        if self._values is None:
            self._values = self._read()
        return self._values

    def __getitem__(self, key: str) -> float:
        return self._logs()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._logs())

    def __len__(self) -> int:
        return len(self._logs())


def as_list(callbacks: Any) -> list[Callback]:
    """fit's ``callbacks`` argument (None, one callback, or an iterable of them) as a list."""
    if callbacks is None:
        return []
    listed = [callbacks] if isinstance(callbacks, Callback) else list(callbacks)
    for cb in listed:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be minicnn.callbacks.Callback instances, got {cb!r}.")
    return listed


class CallbackList(Callback):
    """Keras' CallbackList: calls each hook of each of its callbacks in order (what fit,
    evaluate and predict do; a training loop of your own can too). ``add_history`` and
    ``add_progbar`` append a History and a ProgbarLogger where none is given; ``params``
    (``epochs``, ``steps``, ``verbose``) go to every callback."""

    def __init__(
        self,
        callbacks: Any = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.callbacks = as_list(callbacks)
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.callbacks.append(History())
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.extend(as_list(callback))
        callback.set_model(self.model)
        callback.set_params(self.params)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)


def _forwarding(hook: str) -> Callable[..., None]:
    indexed = "batch" in hook or "epoch" in hook  # (epoch or batch, logs); the others (logs)

    def forward(self: CallbackList, *args: Any) -> None:
        # As Keras' CallbackList, logs left out reach each callback as {}.
        args = args if len(args) == 1 + indexed else (*args, {})
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    forward.__name__ = hook
    return forward


for _hook in [name for name in vars(Callback) if name.startswith("on_")]:
    setattr(CallbackList, _hook, _forwarding(_hook))


class ProgbarLogger(Callback):
    """Keras' ProgbarLogger: the progress line as a callback, drawn by ``params``' verbose,
    epochs and steps, for fit's epochs (not its validation), evaluate and predict. fit,
    evaluate and predict draw their own line unless one is among their callbacks; a loop of
    your own gets it from ``CallbackList(add_progbar=True, verbose=1, epochs=..., steps=...)``."""

    def __init__(self) -> None:
        super().__init__()
        self.bar: Any = None
        self.seen = 0
        self.training = False

    def _start(self) -> None:
        from .progress import ProgressBar

        self.bar = ProgressBar(self.params.get("steps"), self.params.get("verbose", 1))
        self.seen = 0

    def _step(self, batch: int, logs: Any) -> None:
        self.seen = batch + 1
        if self.bar is not None and self.bar.will_draw(batch + 1):
            self.bar.update(batch + 1, dict(logs or {}))  # reads a GPU's totals only now

    def _finish(self, logs: Any) -> None:
        if self.bar is not None:
            self.bar.finish(dict(logs or {}), current=self.seen or None)
        self.bar = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        self.training = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.params.get("verbose", 1):
            print_msg(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}")
        self._start()

    def on_train_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        self._step(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._finish(logs)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        if not self.training:  # fit's validation draws no line of its own, as in Keras
            self._start()

    def on_test_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        if not self.training:
            self._step(batch, logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        if not self.training:
            self._finish(logs)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._start()

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._step(batch, None)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._finish(None)


def draws_progress(callbacks: Any) -> bool:
    """Whether a ProgbarLogger among ``callbacks`` draws the progress line."""
    return any(isinstance(cb, ProgbarLogger) for cb in callbacks)


def _check_count(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{owner} {name} must be an int >= 0, got {value!r}.")


class _Monitor:
    """Which way a logged quantity improves, and whether a value beats a reference. In the
    'auto' mode the model tells, when training starts, as in Keras: the loss goes down, and
    a compiled metric of that name goes its way (accuracies up, errors down)."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max', got {mode!r}.")
        self.owner = owner
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))

    def settle(self, model: Any) -> None:
        """The 'auto' mode made 'min' or 'max' by the model's metrics (Keras' rule)."""
        if self.mode != "auto":
            return
        name = self.monitor.removeprefix("val_")
        found = "min" if name == "loss" else None
        for metric in _compiled_metrics(model):
            direction = getattr(metric, "_direction", None)
            if metric.name == name and direction:
                found = "max" if direction == "up" else "min"
        if found is None:
            raise ValueError(
                f"{self.owner} callback received monitor={self.monitor}, but Keras isn't able "
                "to automatically determine whether that metric should be maximized or "
                "minimized. Pass `mode='max'` in order to monitor based on the highest metric "
                "value, or pass `mode='min'` in order to use the lowest value."
            )
        self.mode = found

    def worst(self) -> float | None:
        """Where the best value starts: None (the first value is best) until settled."""
        if self.mode == "auto":
            return None
        return math.inf if self.mode == "min" else -math.inf

    def improves(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def value(self, logs: Logs | None) -> float | None:
        logs = logs or {}
        if self.monitor not in logs:
            warnings.warn(
                f"{self.owner} monitors {self.monitor!r}, which is not in the logs; they have "
                f"{', '.join(logs) or 'nothing'}.",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        return float(logs[self.monitor])


def _compiled_metrics(model: Any) -> list[Any]:
    """The metrics compile made (inside Keras' CompileMetrics), which the 'auto' mode reads."""
    entries = getattr(model, "metrics", None) or []
    return [m for entry in entries for m in getattr(entry, "metrics", [])]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras'
    arguments and rules). With ``restore_best_weights``, training ends with the weights of the
    best epoch; ``baseline`` makes epochs that do not beat it count as no improvement;
    ``start_from_epoch`` leaves the first epochs unwatched."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        _check_count("EarlyStopping", "patience", patience)
        self._watch = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs: Logs | None = None) -> None:
        # A fresh start on each fit, so one instance can serve several.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._watch.worst()
        self.best_weights: list[Any] | None = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._watch.settle(self.model)  # here, as Keras: the model's metrics are built
        current = self._watch.value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._watch.improves(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only on an epoch that also beats the baseline.
            if self.baseline is None or self._watch.improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) after every
    epoch, or every ``save_freq`` steps, to ``filepath``, which may hold ``{epoch}``,
    ``{batch}`` and log keys as format fields (``"ckpt-{epoch:02d}-{val_loss:.2f}.npz"``).
    With ``save_best_only`` it saves only when ``monitor`` improves on the best so far (or on
    ``initial_value_threshold``). Each file is written whole or not at all."""

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        if save_freq != "epoch" and (
            not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1
        ):
            raise ValueError(
                f"ModelCheckpoint save_freq must be 'epoch' or a positive int, got {save_freq!r}."
            )
        self.filepath = os.fspath(filepath)
        self._watch = _Monitor("ModelCheckpoint", monitor, mode)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = initial_value_threshold  # None: nothing seen yet (Keras')
        self._epoch = 0
        self._steps_since_save = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._steps_since_save += 1
        if self._steps_since_save >= self.save_freq:
            self._steps_since_save = 0
            self._save(self._epoch, batch, dict(logs or {}))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, dict(logs or {}))

    def _path(self, epoch: int, batch: int | None, logs: dict[str, float]) -> str:
        fields = {**logs, "epoch": epoch + 1}
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint filepath {self.filepath!r} names {e}, which is none of "
                f"{', '.join(sorted(fields))}."
            ) from None

    def _save(self, epoch: int, batch: int | None, logs: dict[str, float]) -> None:
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            self._watch.settle(self.model)
            current = self._watch.value(logs)
            if current is not None:  # without the value, save anyway, as Keras does
                best = "None" if self.best is None else f"{self.best:.5f}"
                if self.best is not None and not self._watch.improves(current, self.best):
                    if self.verbose > 0:
                        print_msg(
                            f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}"
                        )
                    return
                if self.verbose > 0:
                    print_msg(
                        f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} "
                        f"to {current:.5f}, saving model to {path}"
                    )
                self.best = current
        elif self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
        if os.path.isdir(path):
            raise IsADirectoryError(
                f"ModelCheckpoint filepath {path} is an existing directory; give a file path."
            )
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {path}")


def _rated_optimizers(model: Any) -> list[tuple[Any, str]]:
    """The optimizers whose rates a callback sets, with the names its messages and logs
    give them: a MultiOptimizer's own (it has no rate of its own, as in Keras), else the
    model's, unnamed."""
    inner = getattr(model.optimizer, "optimizers", None)
    if inner is None:
        return [(model.optimizer, "")]
    return [(optimizer, optimizer.name) for optimizer in inner]


def _log_learning_rates(model: Any, logs: Logs | None) -> None:
    """Each epoch's ``learning_rate`` (``learning_rate_<name>`` of each of a
    MultiOptimizer's optimizers), as Keras logs them."""
    if logs is None:
        return
    for optimizer, name in _rated_optimizers(model):
        logs[f"learning_rate_{name}" if name else "learning_rate"] = float(optimizer.learning_rate)


def _set_learning_rate(optimizer: Any, rate: Any, owner: str) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not rate > 0:
        raise ValueError(f"{owner} got learning rate {rate!r}; it must be a positive number.")
    optimizer.learning_rate = float(rate)


class LearningRateScheduler(Callback):
    """At the start of each epoch, set the optimizer's rate to ``schedule(epoch, rate)`` (or
    ``schedule(epoch)``, Keras' older form); each epoch's logs get ``learning_rate``."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        for optimizer, name in _rated_optimizers(self.model):
            try:
                rate = self.schedule(epoch, float(optimizer.learning_rate))
            except TypeError:
                rate = self.schedule(epoch)
            _set_learning_rate(optimizer, rate, "LearningRateScheduler")
            if self.verbose > 0:
                named = f"{name} " if name else ""
                print_msg(
                    f"\nEpoch {epoch + 1}: LearningRateScheduler setting {named}learning rate "
                    f"to {rate}."
                )

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        _log_learning_rates(self.model, logs)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs, then wait ``cooldown`` epochs before counting again;
    never below ``min_lr``. Keras' arguments and rules; logs get ``learning_rate``."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor!r}.")
        _check_count("ReduceLROnPlateau", "patience", patience)
        _check_count("ReduceLROnPlateau", "cooldown", cooldown)
        if not min_lr >= 0:
            raise ValueError(f"ReduceLROnPlateau min_lr must be >= 0, got {min_lr!r}.")
        self._watch = _Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self.on_train_begin()

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.best = self._watch.worst()
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        _log_learning_rates(self.model, logs)
        self._watch.settle(self.model)
        current = self._watch.value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._watch.improves(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        reduced = False
        for optimizer, name in _rated_optimizers(self.model):
            old = float(optimizer.learning_rate)
            if old > self.min_lr:
                new = max(old * self.factor, self.min_lr)
                _set_learning_rate(optimizer, new, "ReduceLROnPlateau")
                reduced = True
                if self.verbose > 0:
                    named = f" {name}" if name else ""
                    print_msg(
                        f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{named} learning rate "
                        f"to {new}."
                    )
        if reduced:
            self.cooldown_counter = self.cooldown
            self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training at the first step whose loss is NaN or infinite, with Keras' message
    (``raise_error=True``: raise a RuntimeError instead). Without it, fit raises
    ``TrainingDivergedError``; with it, fit ends normally and keeps the History. It reads the
    loss after every step, so on a GPU each step waits for the device."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_train_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf found in loss at batch {batch}: {loss}.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class SwapEMAWeights(Callback):
    """Keras' SwapEMAWeights, for an optimizer with ``use_ema=True``: evaluation and
    prediction (fit's validation included) run on the weights' moving averages, swapped in
    place and back; with ``swap_on_epoch=True`` the averages are also in the model between
    epochs (for ModelCheckpoint, say)."""

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._averages_in_model = False

    def _pairs(self) -> list[tuple[Any, Any]]:
        optimizer = self.model.optimizer
        if optimizer is None or not optimizer.use_ema:
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Optimizer: {type(optimizer).__name__ if optimizer else None}"
            )
        pairs = zip(optimizer._params, optimizer._slots, strict=True)
        return [(p, slots["ema"]) for p, slots in pairs]

    def _swap(self) -> None:
        for weight, average in self._pairs():
            held = weight.data.copy()
            weight.data[...] = average
            average[...] = held
        self._averages_in_model = not self._averages_in_model

    def _swap_in(self) -> None:
        if not self._averages_in_model:
            self._swap()

    def _swap_out(self) -> None:
        if self._averages_in_model:
            self._swap()

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.swap_on_epoch:
            self._swap_in()
            if epoch == self.params.get("epochs", 0) - 1:
                # fit ends by copying the averages into the weights: they are the weights now.
                for weight, average in self._pairs():
                    average[...] = weight.data

    def on_test_begin(self, logs: Logs | None = None) -> None:
        self._swap_in()

    def on_test_end(self, logs: Logs | None = None) -> None:
        self._swap_out()

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end


class TensorBoard(Callback):
    """Keras' TensorBoard: the logs as TensorBoard event files (written by
    ``minicnn.tensorboard``, no TensorFlow needed) in ``log_dir``/train and
    ``log_dir``/validation: ``epoch_<metric>`` at each epoch (and ``epoch_learning_rate`` under
    a schedule, ``epoch_steps_per_second`` with ``write_steps_per_second``), ``batch_<metric>``
    every ``update_freq`` batches ("batch": each; each read waits for a GPU), and with
    ``histogram_freq`` N a histogram of every weight every N epochs. ``write_graph`` is taken
    but writes nothing (TensorBoard's graph is a TensorFlow GraphDef); images, profiling and
    embeddings are refused by name. ``tensorboard --logdir logs`` shows them."""

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ) -> None:
        super().__init__()
        if write_images or profile_batch or embeddings_freq or embeddings_metadata:
            raise ValueError(
                "TensorBoard: write_images, profile_batch and embeddings are not available; "
                "scalars and weight histograms are written."
            )
        if update_freq not in ("epoch", "batch") and not (
            isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0
        ):
            raise ValueError(
                f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got "
                f"{update_freq!r}."
            )
        if (
            isinstance(histogram_freq, bool)
            or not isinstance(histogram_freq, int)
            or histogram_freq < 0
        ):
            raise ValueError(
                f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}."
            )
        self.log_dir, self.histogram_freq = os.fspath(log_dir), histogram_freq
        self.write_graph, self.write_steps_per_second = (
            bool(write_graph),
            bool(write_steps_per_second),
        )
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers: dict[str, Any] = {}

    def _writer(self, kind: str) -> Any:
        from .tensorboard import EventWriter

        if kind not in self._writers:
            self._writers[kind] = EventWriter(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._steps = 0
        self._writer("train")

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_start, self._epoch_steps = time.perf_counter(), 0

    def on_train_batch_end(self, batch: int, logs: StepLogs | None = None) -> None:
        self._steps += 1
        self._epoch_steps += 1
        if self.update_freq == "epoch" or self._steps % self.update_freq:
            return
        for key, value in dict(logs or {}).items():
            self._writer("train").scalar(f"batch_{key}", value, self._steps)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        optimizer = self.model.optimizer
        if optimizer is not None and optimizer._schedule is not None:
            logs.setdefault("learning_rate", float(optimizer.learning_rate))  # a schedule's
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            logs["steps_per_second"] = self._epoch_steps / seconds if seconds > 0 else 0.0
        for key, value in logs.items():
            kind, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._writer(kind).scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for layer in self.model._all_layers():
                for i, weight in enumerate(layer.weights):
                    tag = f"{layer.name}/{_weight_name(layer, i, weight)}/histogram"
                    values = backend.to_numpy(weight.data)
                    self._writer("train").histogram(tag, values, epoch)

    def on_train_end(self, logs: Logs | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _weight_name(layer: Any, index: int, weight: Any) -> str:
    """A weight's name for a histogram: its own, else Keras' kernel and bias, else its
    index."""
    if getattr(weight, "name", None):
        return weight.name
    if hasattr(layer, "bias_index") and hasattr(layer, "kernel_initializer"):
        if index == 0:
            return "kernel"
        if getattr(layer, "use_bias", False) and index == layer.bias_index:
            return "bias"
    return f"weight_{index}"


class BackupAndRestore(Callback):
    """Keras' fault tolerance: after every epoch, model, optimizer, random-generator state and
    History go to a checkpoint in ``backup_dir`` (written atomically); a fit interrupted by a
    crash or a kill and started again with the same callback resumes after the last finished
    epoch. A fit that ends normally deletes the backup (unless ``delete_checkpoint=False``).
    It is fit's ``checkpoint=`` under Keras' name, so the resumed run ends, on the CPU, with the
    same weights as an uninterrupted one."""

    FILENAME = "backup.minicnn"

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str = "epoch",
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch' (backups mid-epoch are not "
                f"here), got {save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, bool(delete_checkpoint)

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, self.FILENAME)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)


class CSVLogger(Callback):
    """Each epoch's logs as a row of a CSV file (``epoch`` first, then the keys in sorted
    order), as Keras writes it. ``append=True`` adds to an existing file instead of replacing
    it; each epoch rewrites the file whole, so a crash never leaves half a row."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._rows: list[list[str]] = []
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._rows, self._keys = [], None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self._rows = list(csv.reader(f, delimiter=self.separator))
            if self._rows:
                self._keys = self._rows[0][1:]

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        if self._keys is None:
            self._keys = sorted(logs)
            self._rows.append(["epoch", *self._keys])
        self._rows.append([str(epoch), *(_csv_value(logs.get(k)) for k in self._keys)])

        def write(f: Any) -> None:
            text = "\n".join(self.separator.join(row) for row in self._rows) + "\n"
            f.write(text.encode())

        atomic_write(self.filename, write)


def _csv_value(value: float | None) -> str:
    return "NA" if value is None else repr(float(value))


class LambdaCallback(Callback):
    """A callback from plain functions, as in Keras: ``on_epoch_end=lambda epoch, logs: ...``;
    ``on_train_begin``/``on_train_end`` take ``logs`` only, the batch hooks ``batch, logs``."""

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)


class RemoteMonitor(Callback):
    """Keras' RemoteMonitor: at each epoch's end, POST ``{"epoch": epoch, **logs}`` to
    ``root + path``: as JSON with ``send_as_json``, else as a form whose ``field`` holds it
    in JSON, as Keras sends it. A server that cannot be reached is a warning, not an error,
    so training goes on."""

    def __init__(
        self,
        root: str = "http://localhost:9000",
        path: str = "/publish/epoch/end/",
        field: str = "data",
        headers: dict[str, str] | None = None,
        send_as_json: bool = False,
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers = dict(headers or {})
        self.send_as_json, self.timeout = bool(send_as_json), float(timeout)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        import json
        import urllib.error
        import urllib.parse
        import urllib.request

        sent = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        headers = dict(self.headers)
        if self.send_as_json:
            body = json.dumps(sent).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(sent)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError) as error:
            warnings.warn(
                f"Could not reach RemoteMonitor root server at {self.root} ({error}).",
                stacklevel=2,
            )
