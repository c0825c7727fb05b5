"""Training and inference loops of a model: ``fit`` (with callbacks, validation, checkpoints
and a captured CUDA-graph step), ``evaluate``, ``predict`` and the per-batch forms."""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np

from . import backend, config
from .autograd import Tensor, no_grad
from .autograd import grad as autograd_grad
from .batches import (
    ArrayBatches,
    DatasetBatches,
    StepsPerEpoch,
    dataset_batches,
    is_dataset,
    rows_of,
    take,
    warn_ran_out,
)
from .callbacks import (
    BackupAndRestore,
    BatchLogs,
    Callback,
    CallbackList,
    History,
    TerminateOnNaN,
    as_list,
    draws_progress,
)
from .data_checks import (
    as_any_targets,
    as_input_batch,
    as_sample_weights,
    class_weights_to_sample_weights,
    positive_int,
)
from .graph_step import CapturedTrainStep
from .layer_base import takes_keyword
from .metric_base import OutputLoss, position_weighted_total
from .progress import ProgressBar, print_msg


def _on_model_device(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a model method in its device's scope, so that what the user's code (a custom
    train_step, loss or layer) makes with ``ops.zeros`` and the like lands on the model's
    device, as in Keras."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with backend.on_device(self.device):
            return method(self, *args, **kwargs)

    return run


def _one_per(value: Any, names: list[str], what: str, kind: str) -> list[Any]:
    """One array per input (output): a list or tuple in order, or a dict by name."""
    if len(names) == 1 and not isinstance(value, (list, tuple, dict)):
        return [value]
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"{what} gives no array for the {kind}s {missing}.")
        return [value[n] for n in names]
    if not isinstance(value, (list, tuple)) or len(value) != len(names):
        raise ValueError(
            f"{what} must be a list of {len(names)} arrays, one per {kind} ({names}), or a dict "
            f"by {kind} name; got {type(value).__name__}."
        )
    return list(value)


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; ``fit`` stops at once and keeps the History so far."""


class _RunningTotals:
    """An epoch's summed loss and metric hits. On a GPU they stay device arrays, so a step
    queues its work and moves on; ``read`` (for the progress line and the epoch's logs) waits
    for them."""

    def __init__(
        self, device: str, metrics: list[Any], make_logs: Callable[..., dict[str, float]]
    ) -> None:
        self.on_host = device == "cpu"
        self.metrics = metrics
        self.make_logs = make_logs
        self.loss_sum: Any = 0.0
        self.hits: list[Any] = []
        self.seen = 0
        for metric in metrics:
            if metric.keeps_own_state:
                metric.reset_state()

    def add(self, loss: Any, hits: list[Any], count: int) -> None:
        """A batch's loss and hits (None for a metric that keeps its own state)."""
        if self.on_host:
            loss = float(loss)
            hits = [None if h is None else np.asarray(h, np.float64) for h in hits]
        self.loss_sum = self.loss_sum + loss * count
        # New arrays, never the step's own: a captured step writes the same ones every time.
        self.hits = (
            [None if h is None else 0 + h for h in hits]
            if not self.hits
            else [None if b is None else a + b for a, b in zip(self.hits, hits, strict=True)]
        )
        self.seen += count

    def read(self) -> tuple[float, list[float]]:
        """Mean loss and metric values so far, as Python floats."""
        return float(self.loss_sum) / self.seen, metric_values(self.metrics, self.hits, self.seen)

    def logs(self) -> dict[str, float]:
        return self.make_logs(*self.read())

    def settle(self, loss_tracker: Any) -> None:
        """Leave the run's totals in the metrics themselves, as Keras' metrics hold them
        after fit and evaluate (``model.metrics``, ``get_metrics_result()``)."""
        if not self.seen:
            return
        loss_tracker._total, loss_tracker._seen = self.loss_sum, self.seen
        for metric, hits in zip(self.metrics, self.hits or [], strict=False):
            if hits is None:
                continue
            if _counts_weights(metric):
                metric._total, metric._seen = hits[0], hits[1]
            else:
                metric._total, metric._seen = hits, self.seen


class _StepLogs:
    """The running logs of a model that writes its own ``train_step`` or ``test_step``: what
    its last step returned (its metrics keep the values since the run began, as in Keras)."""

    on_host = True

    def __init__(self, model: Any) -> None:
        model.reset_metrics()
        self.last: dict[str, float] = {}
        self.seen = 0

    def add(self, logs: dict[str, float], hits: Any, count: int) -> None:
        self.last = logs
        self.seen += count

    def logs(self) -> dict[str, float]:
        return dict(self.last)

    def settle(self, loss_tracker: Any) -> None:
        """The model's own step keeps its metrics itself."""


def keras_ordered(logs: dict[str, Any]) -> dict[str, Any]:
    """Logs by name, as Keras 3 hands them to callbacks, History and ``return_dict``."""
    return dict(sorted(logs.items()))


def _float_logs(logs: Any, method: str) -> dict[str, float]:
    """A step's logs as Python floats (a dict of values, as Keras' ``result()`` of a list of
    metrics gives, is merged in)."""
    if not isinstance(logs, dict):
        raise TypeError(
            f"{method} must return a dict of logs (name: value), as in Keras; got "
            f"{type(logs).__name__}."
        )
    out: dict[str, float] = {}
    for name, value in logs.items():
        if isinstance(value, dict):
            out.update(_float_logs(value, method))
        else:
            out[name] = float(value)
    return out


def _data(out: Any) -> Any:
    """A Tensor's array, or an array as it is."""
    return out.data if isinstance(out, Tensor) else out


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Keras' helper for a ``train_step``: (x, y, sample_weight) from a batch of x, (x,),
    (x, y) or (x, y, sample_weight)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"A batch holds x, (x,), (x, y) or (x, y, sample_weight); got {len(data)}.")


def metric_values(metrics: list[Any], hits: list[Any], seen: int) -> list[float]:
    """Each metric's value from its summed hits (a weighted mean's hold its total and its
    weights' sum), or from its own state (its ``result()``)."""
    values = []
    for m, h in zip(metrics, hits, strict=True):
        if h is None:
            values.append(float(m.result()))
        elif _counts_weights(m):
            values.append(m.value(h[0], float(h[1])))
        else:
            values.append(m.value(h, seen))
    return values


def _counts_weights(metric: Any) -> bool:
    """Whether a metric's batch totals hold its weights' sum beside its total."""
    return (metric.weighted or metric.position_weighted) and metric.divides_by_seen


def _batch_total(
    metric: Any, outputs: Any, y: Any, loss: Any, weights: Any = None, mask: Any = None
) -> Any:
    """The metric's totals for a batch; a metric that keeps its own state (a Keras-style
    subclass with update_state and result) takes the batch itself, and gives None. A
    weighted metric reads the sample ``weights``; a weighted mean gives its total and the
    weights' sum (the batch size without weights) in one array. The output's padding
    ``mask`` (batch, *positions) weights a mean's positions, as Keras' mean metrics weight
    them: the value is the mean over the kept positions."""
    weights = weights if metric.weighted else None
    if metric.keeps_own_state:
        metric.update_state(Tensor(y), Tensor(outputs), sample_weight=weights)
        return None
    found = position_weighted_total(metric, outputs, y, loss, weights, mask)
    metric.position_weighted = found is not None
    if found is not None:
        return backend.get_array_module(outputs).stack(list(found))
    total = metric.total(outputs, y, loss, weights)
    if not (metric.weighted and metric.divides_by_seen):
        return total
    xp = backend.get_array_module(outputs)
    # Made on the device (xp.full, not a copy from the host), as a captured step requires.
    seen = xp.full((), len(outputs), total.dtype) if weights is None else weights.sum()
    return xp.stack([total, seen.astype(total.dtype)])


def _split_off_validation(x: Any, y: Any, fraction: float) -> tuple[Any, Any, tuple[Any, Any]]:
    """Keras' ``validation_split``: the last ``fraction`` of the samples, taken before any
    shuffling, become the validation data."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction!r}.")
    n = rows_of(x)
    split_at = math.floor(n * (1.0 - fraction))
    if split_at in (0, n):
        raise ValueError(
            f"validation_split={fraction} of {n} samples leaves no training or no "
            "validation sample; give more data or another fraction."
        )
    head, tail = slice(None, split_at), slice(split_at, None)
    return take(x, head), take(y, head), (take(x, tail), take(y, tail))


def _takes_dataset(x: Any, y: Any) -> bool:
    """Whether x is a dataset; its batches hold the targets, so y must then be None."""
    if not is_dataset(x):
        return False
    if y is not None:
        raise ValueError("y must be None when x is a dataset: its batches hold the targets.")
    return True


def _batch_size(value: int | None) -> int:
    """Keras' rule: None means 32."""
    return 32 if value is None else positive_int(value, "batch_size")


def _limited(batches: Any, steps: int | None, name: str) -> Any:
    """``batches``, or ``steps`` of them an epoch (Keras' ``steps_per_epoch``,
    ``validation_steps`` and ``steps``), at most ``config.max_steps_per_epoch()``."""
    cap = config.max_steps_per_epoch()
    if cap is not None and (steps is None or cap < steps):
        warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
        steps = cap
    return batches if steps is None else StepsPerEpoch(batches, positive_int(steps, name))


def _backup(callbacks: list[Callback], checkpoint: Any, checkpoint_every: int) -> tuple[Any, int]:
    """fit's checkpoint path and interval: a BackupAndRestore callback's, if there is one."""
    backups = [cb for cb in callbacks if isinstance(cb, BackupAndRestore)]
    if not backups:
        return checkpoint, checkpoint_every
    if len(backups) > 1 or checkpoint is not None:
        raise ValueError(
            "Give one BackupAndRestore callback or fit's checkpoint=, not both: each is a "
            "checkpoint that fit resumes from."
        )
    return backups[0].path, 1


def _check_finite(
    loss: float, epoch: int, step: int, steps: int, history: History, quietly: bool = False
) -> None:
    if not math.isfinite(loss) and not quietly:
        raise TrainingDivergedError(
            f"The loss became {loss} at epoch {epoch + 1}, step {step + 1}/{steps}; training "
            f"stopped. model.history keeps the {len(history.epoch)} finished epoch(s)."
        )


class Trainer:
    """What ``Model`` does with data, as a mixin: it uses the model's compile settings,
    forward pass and weights (``models.Model``)."""

    def _prepare(self, x: Any, y: Any = None, batch_size: int | None = None) -> tuple[Any, Any]:
        """Checked x (and y), on the model's device: a GPU gets the whole set in one copy.
        With several inputs (outputs), x (y) is a tuple of arrays, one per input (output)."""
        if self._subclassed and self._takes_input_tree(x):
            return self._prepare_several(x, y, batch_size)
        if self._input_count > 1 or self._output_count > 1:
            return self._prepare_several(x, y)
        x = as_input_batch(x, self.sample_input_shape, self.name, self._input_dtypes()[0])
        if not self.built:  # for the first batch's shape, as Keras builds (its batch size kept)
            self._build_batch = len(x) if batch_size is None else min(len(x), batch_size)
            self._build_sample_shape(x.shape[1:])
            if self._output_count > 1:  # a subclassed model's call gave several outputs
                return self._prepare_several(x, y)
        if y is None:
            return backend.to_device(x, self.device), None
        if self.loss is None:  # compiled without a loss: the model's own steps read y
            y = as_any_targets(y, len(x), "none", keep_integers=True)
        else:
            y = self.loss.targets(y, len(x), self.sample_output_shape, f"Model '{self.name}'")
        return backend.to_device(x, self.device), backend.to_device(y, self.device)

    def _input_dtypes(self) -> list[str | None]:
        """Each Input's dtype ("string" for texts), None where it has none."""
        inputs = getattr(self, "_graph_inputs", None) or [None] * self._input_count
        return [getattr(t, "_dtype", None) for t in inputs]

    def _prepare_several(self, x: Any, y: Any, batch_size: int | None = None) -> tuple[Any, Any]:
        names = self.input_names or ["input"]  # (a subclassed model's one array)
        shapes = self.sample_input_shape if self._input_count > 1 else [self.sample_input_shape]
        if not self.built:  # a subclassed model's first data: a dict or list of arrays
            shapes = [None] * len(names)
        xs = _one_per(x, names, "x", "input")
        arrays = [
            as_input_batch(a, shape, f"{self.name}' input '{name}", dtype)
            for a, shape, name, dtype in zip(xs, shapes, names, self._input_dtypes(), strict=True)
        ]
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(
                f"The inputs of model '{self.name}' hold different numbers of samples: "
                f"{[len(a) for a in arrays]}."
            )
        if not self.built:  # for the first batch's shapes, as Keras builds
            n = len(arrays[0])
            self._build_batch = n if batch_size is None else min(n, batch_size)
            self._build_sample_shape([a.shape[1:] for a in arrays])
        on_device = [backend.to_device(a, self.device) for a in arrays]
        x_dev = tuple(on_device) if self._input_count > 1 else on_device[0]
        if y is None:
            return x_dev, None
        n = len(arrays[0])
        if self._output_count == 1:
            if self.loss is None:
                y = as_any_targets(y, n, "none", keep_integers=True)
            else:
                y = self.loss.targets(y, n, self.sample_output_shape, f"Model '{self.name}'")
            return x_dev, backend.to_device(y, self.device)
        ys = self._targets_by_output(y)
        if self.loss is None:  # compiled without a loss: only the model's own steps read y
            targets = [as_any_targets(t, n, "none", keep_integers=True) for t in ys]
        else:
            targets = [
                np.zeros((n, 0), np.float32)  # no targets given: nothing reads them
                if target is None
                else as_any_targets(target, n, "none", keep_integers=True)
                if loss is None  # an output not trained on: its targets as they are
                else loss.targets(target, n, shape, f"Model '{self.name}' output '{name}'")
                for target, loss, shape, name in zip(
                    ys, self.loss, self.sample_output_shape, self.output_names, strict=True
                )
            ]
        return x_dev, tuple(backend.to_device(t, self.device) for t in targets)

    def _targets_by_output(self, y: Any) -> list[Any]:
        """y as one target per output. As in Keras, when some outputs have no loss, y may
        give targets to the others alone (an array, or a list in their order); the rest get
        None, and an output with metrics must have its own."""
        names = self.output_names
        trained = [i for i, loss in enumerate(self.loss or []) if loss is not None]
        given = [y] if not isinstance(y, (list, tuple, dict)) else y
        if not 0 < len(trained) < len(names) or not (
            isinstance(given, (list, tuple)) and len(given) == len(trained)
        ):
            return _one_per(y, names, "y", "output")
        ys: list[Any] = [None] * len(names)
        for i, target in zip(trained, given, strict=True):
            ys[i] = target
        measured = {names[h] for h in self._metric_heads if ys[h] is None}
        if measured:
            raise ValueError(
                f"y gives no targets to the outputs {sorted(measured)}, which have no loss but "
                "have metrics; give y one array per output."
            )
        return ys

    def _prepare_weighted(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        batch_size: int | None = None,
    ) -> tuple[Any, Any, Any]:
        """_prepare, plus checked sample weights on the device (None without any); Keras'
        ``class_weight`` gives each sample the weight of its class (1 for classes it omits)."""
        if sample_weight is not None and class_weight is not None:
            raise ValueError("Give class_weight or sample_weight, not both (as in Keras).")
        x_dev, y_dev = self._prepare(x, y, batch_size)
        if y is None or (sample_weight is None and class_weight is None):
            return x_dev, y_dev, None
        if class_weight is not None:
            if self._output_count > 1:
                raise ValueError("class_weight is for a model of one output (as in Keras).")
            sample_weight = class_weights_to_sample_weights(y, class_weight)
        weights = as_sample_weights(sample_weight, rows_of(x_dev))
        return x_dev, y_dev, backend.to_device(weights, self.device)

    def _train_step(self, x: Any, y: Any, sample_weight: Any = None) -> tuple[Any, Any]:
        """One update; the loss and the number of hits stay arrays on the model's device."""
        loss, outputs = self._loss_and_outputs(x, y, training=True, sample_weight=sample_weight)
        params = self.trainable_weights
        for p in params:
            p.grad = None
        self.optimizer.scale_loss(loss).backward()
        self.optimizer.update_weights(params)
        return loss.data, self._hits(outputs, y, sample_weight)

    def _fit_step(self) -> Callable[[Any, Any, Any], tuple[Any, list[Any]]]:
        """The training step of fit and train_on_batch: captured in a CUDA graph with
        ``jit_compile`` on a GPU."""
        if self._writes_own("train_step"):
            return partial(self._own_step, "train_step")
        self._require_loss("train_step")
        if not (self.jit_compile and not self.run_eagerly and self.device == "gpu"):
            return self._train_step
        if any(m.keeps_own_state for m in self._compiled_metrics) or self._layer_metrics():
            # Its update_state is host code, which a replayed graph would not run.
            return self._train_step
        if any(getattr(layer, "stateful", False) for layer in self._all_layers()):
            # Its states move from batch to batch on the host side of the step.
            return self._train_step
        if any(getattr(layer, "works_on_host", False) for layer in self._all_layers()):
            return self._train_step  # a text layer's work is host code, each step
        if self.optimizer.decides_on_host:
            return self._train_step  # which steps update is decided on the host, each step
        if self._captured_step is None:
            self._captured_step = CapturedTrainStep(self)
        return self._captured_step

    def _hits(self, outputs: Any, y: Any, weights: Any = None) -> list[Any]:
        """Each metric's totals for a batch (the sum of its scores, or its counts), as arrays
        on the model's device; then each added metric's value (functional add_metric)."""
        added = self._added_metric_totals()
        if self._compiled_metrics and y is None:
            raise ValueError(
                f"Model '{self.name}' was compiled with metrics, which need targets: give y."
            )
        added += [None] * len(self._layer_metrics())  # they keep their own state
        if self._output_count == 1:
            mask = self._metric_masks[0]
            return [
                _batch_total(metric, outputs, y, self.loss, weights, mask)
                for metric in self._compiled_metrics
            ] + added
        values, losses_of = outputs
        hits = []
        for metric, head in zip(self._compiled_metrics, self._metric_heads, strict=True):
            if isinstance(metric, OutputLoss):
                hits.append(losses_of[head] * values[head].shape[0])
            else:
                mask = self._metric_masks[head]
                hits.append(
                    _batch_total(metric, values[head], y[head], self.loss[head], weights, mask)
                )
        return hits + added

    def _writes_own(self, method: str) -> bool:
        """Whether the model's class replaces Trainer's ``method`` (a Keras-style
        ``train_step`` or ``test_step``), or what Keras' own steps call
        (``compute_loss``, ``compute_metrics``): then those steps run as written, so that
        the replacement counts, as in Keras."""
        if getattr(type(self), method) is not getattr(Trainer, method):
            return True
        from .compiling import Compiler

        return method in ("train_step", "test_step") and any(
            getattr(type(self), hook) is not getattr(Compiler, hook)
            for hook in ("compute_loss", "compute_metrics")
        )

    def _needs_targets(self, method: str) -> bool:
        """Whether a step needs y: not the model's own ``method``, nor a model trained on
        the losses it added alone (tf.keras' ``compile(optimizer)``, ``fit(x)``) without
        compiled metrics."""
        if self._writes_own(method):
            return False
        no_loss = (self.loss is None and self._adds_losses) or self._default_loss
        return not (no_loss and not self._compiled_metrics)

    def _require_loss(self, method: str) -> None:
        if self.loss is None and not self._adds_losses:
            raise ValueError(
                f"Model '{self.name}' was compiled without a loss (loss=None): give compile "
                f"a loss, or write the model's {method} to compute one, as in Keras."
            )

    def _own_step(self, method: str, x: Any, y: Any, w: Any) -> tuple[dict[str, float], None]:
        """The model's own ``train_step`` or ``test_step`` on a batch: its logs (no hits)."""
        if y is None:  # fit(x) alone, as for a GAN: the step gets x, as in Keras
            data = x
        else:
            data = (x, y) if w is None else (x, y, w)
        return keras_ordered(_float_logs(getattr(self, method)(data), method)), None

    # -- Keras 3's steps, to override --------------------------------------------------------
    def train_step(self, data: Any) -> dict[str, Any]:
        """Keras 3's training step, which a subclass may replace (fit then calls it on each
        batch, ``data`` = (x, y) or (x, y, sample_weight) on the model's device, and shows
        the logs it returns): the forward pass, ``compute_loss``, the gradients and
        ``optimizer.apply``, then ``compute_metrics``. fit runs the same update faster when
        it is not replaced."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss_of_step(x, y, y_pred, sample_weight, True)
        params = self.trainable_weights
        self.optimizer.apply(autograd_grad(loss, params), params)
        self._loss_tracker.update_state(loss, sample_weight=rows_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """Keras 3's evaluation step, which a subclass may replace (evaluate and fit's
        validation then call it on each batch, without gradients)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss_of_step(x, y, y_pred, sample_weight, False)
        self._loss_tracker.update_state(loss, sample_weight=rows_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _compute_loss_of_step(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool
    ) -> Any:
        """``compute_loss``, given ``training`` where it takes it: a subclass's own may not
        (Keras 3's guides write compute_loss(x, y, y_pred, sample_weight, allow_empty)),
        which Keras then calls without it."""
        if takes_keyword(self.compute_loss, "training"):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """Keras 3's prediction step, which a subclass may replace: the outputs (a Tensor,
        an array, or a list of them) of one batch ``data`` (its x, on the model's device; a
        list for several inputs) that predict gathers."""
        return self(data, training=False)

    @_on_model_device
    def train_on_batch(
        self,
        x: Any,
        y: Any,
        sample_weight: Any = None,
        class_weight: dict[int, float] | None = None,
        return_dict: bool = False,
    ) -> list[float] | float | dict[str, float]:
        """One optimizer step on one batch; returns [loss, accuracy] like Keras (a dict of
        the logs with ``return_dict``); with ``jit_compile`` on a GPU, the step is captured
        and replayed as in fit."""
        self._require_compiled()
        x, y, w = self._prepare_weighted(x, y, sample_weight, class_weight)
        self.reset_metrics()
        loss, hits = self._fit_step()(x, y, w)
        if hits is None:  # the model's own train_step gave its logs
            return self._returned(loss, return_dict)
        values = metric_values(self._logged_metrics, hits, rows_of(x))
        return self._returned(self._logs(float(loss), values), return_dict)

    @_on_model_device
    def test_on_batch(
        self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False
    ) -> list[float] | float | dict[str, float]:
        """Loss (and accuracy) on one batch, without training."""
        self._require_compiled()
        x, y, w = self._prepare_weighted(x, y, sample_weight)
        batches = ArrayBatches(x, y, rows_of(x), self.device, w)
        return self._returned(self._evaluate(batches), return_dict)

    @_on_model_device
    def predict_on_batch(self, x: Any) -> np.ndarray:
        """The outputs for one batch, as a NumPy array."""
        rows = rows_of(tuple(x)) if isinstance(x, (list, tuple)) else len(x)
        return self.predict(x, batch_size=rows, verbose=0)

    def _returned(
        self, logs: dict[str, float], return_dict: bool = False
    ) -> list[float] | float | dict[str, float]:
        """Keras' return value: the logs with ``return_dict`` (by name, as Keras sorts
        them); else the loss, or [loss, *the metrics' values in their order] when there
        are others."""
        if return_dict:
            return keras_ordered(logs)
        from .metrics import OutputLoss

        listed = self._logged_metrics
        if self._output_count > 1:
            # Keras looks an output's compiled metrics up by their own names, which its logs
            # prefix with the output's: not found, they come last, in the order of the names.
            kept = {id(m) for m in self._compiled_metrics if not isinstance(m, OutputLoss)}
            listed = [m for m in listed if id(m) not in kept]
        order = {m.name: i for i, m in enumerate(listed)}
        names = sorted(
            (n for n in logs if n != "loss"), key=lambda n: (order.get(n, len(order)), n)
        )
        rest = [logs[name] for name in names]
        if "loss" not in logs:
            return rest[0] if len(rest) == 1 else rest
        return [logs["loss"], *rest] if rest else logs["loss"]

    def _logs(self, loss: float, values: list[float], prefix: str = "") -> dict[str, float]:
        logs = {prefix + m.name: v for m, v in zip(self._logged_metrics, values, strict=True)}
        logs[prefix + "loss"] = loss
        return keras_ordered(logs)

    @_on_model_device
    def fit(
        self,
        x: Any,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        initial_epoch: int = 0,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        callbacks: Iterable[Callback] | None = None,
        validation_split: float = 0.0,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
    ) -> History:
        """Train for ``epochs`` passes over (x, y); returns a History like Keras.

        With ``checkpoint``, model, optimizer, random-generator state and History are saved there
        atomically every ``checkpoint_every`` epochs (and after the last); a later call with the
        same path resumes after the last saved epoch, and on the CPU it ends with the same
        weights as an uninterrupted run.
        A NaN or infinite loss stops training with ``TrainingDivergedError`` (on a GPU at the
        next read of the running loss: a progress-line redraw or the end of the epoch, since a
        step does not wait for the device).
        ``callbacks`` (``minicnn.callbacks``) are called as in Keras; one that sets
        ``model.stop_training`` ends training after the current step. ``BackupAndRestore``
        is ``checkpoint`` under Keras' name (deleted when training ends normally);
        ``TerminateOnNaN`` turns the error on a NaN loss into a quiet stop. ``validation_split``
        holds out the last fraction of (x, y), before shuffling, as validation data, unless
        ``validation_data`` is given; validation runs after every ``validation_freq``-th epoch,
        in batches of ``validation_batch_size`` (default: ``batch_size``).
        ``x`` (and ``validation_data``) may be a ``minicnn.batches.PyDataset`` that makes its
        own (x, y) batches, as in Keras; then ``y`` is None and ``batch_size`` is the dataset's.
        ``sample_weight`` (one weight per sample) or ``class_weight`` ({class: weight})
        weight each sample's loss: the loss is sum(w * l) / batch size, as Keras'; metrics
        stay unweighted, as Keras' ``metrics`` are.
        ``steps_per_epoch`` (and ``validation_steps``) make an epoch (a validation) that many
        batches, as in Keras: a pass over the data carries on into the next epoch, a new pass
        begins when it runs out, and one that runs out inside an epoch ends it with a warning.
        """
        self._require_compiled()
        cap = config.max_epochs()
        if cap is not None and cap < epochs:
            warnings.warn(f"Limiting epochs to {cap}", stacklevel=2)
            epochs = cap
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = _batch_size(batch_size)
        if validation_batch_size is None:
            validation_batch_size = batch_size
        validation_batch_size = positive_int(validation_batch_size, "validation_batch_size")
        validation_freq = positive_int(validation_freq, "validation_freq")
        # As in Keras, validation_data wins over validation_split.
        split = validation_split if validation_data is None else 0.0
        data, val = self._training_batches(
            x, y, batch_size, split, validation_batch_size, sample_weight, class_weight
        )
        if validation_data is not None:
            val = self._batches(validation_data, validation_batch_size)
        data = _limited(data, steps_per_epoch, "steps_per_epoch")
        if val is not None:
            val = _limited(val, validation_steps, "validation_steps")
        steps = data.steps
        callbacks = as_list(callbacks)
        checkpoint, checkpoint_every = _backup(callbacks, checkpoint, checkpoint_every)
        # With TerminateOnNaN a diverged loss ends training quietly, as in Keras.
        stop_quietly = any(isinstance(cb, TerminateOnNaN) for cb in callbacks)
        history = History()
        if checkpoint is not None and os.path.exists(checkpoint):
            from .saving import load_checkpoint

            initial_epoch = load_checkpoint(checkpoint, self, history)
            if verbose:
                print_msg(f"Resuming from {checkpoint} after epoch {initial_epoch}.")
        history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        history.set_model(self)
        self.history = history
        hooks = CallbackList(callbacks, model=self, **history.params)
        own_bar = 0 if draws_progress(callbacks) else verbose  # else a ProgbarLogger draws
        self.stop_training = False
        hooks.on_train_begin({})
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            if own_bar:
                print_msg(f"Epoch {epoch + 1}/{epochs}")
            hooks.on_epoch_begin(epoch, {})
            bar = ProgressBar(steps, own_bar)
            totals = self._totals("train_step")
            train_step = self._fit_step()
            epoch_start = time.perf_counter()
            step = -1
            data.begin_epoch()
            for step, (xb, yb, wb) in enumerate(data.epoch(shuffle)):
                hooks.on_train_batch_begin(step, {})
                loss, hits = train_step(xb, yb, wb)
                totals.add(loss, hits, rows_of(xb))
                # The CPU checks every step; a GPU only when it reads the totals anyway.
                if totals.on_host or bar.will_draw(step + 1):
                    now = totals.logs()
                    _check_finite(now.get("loss", 0.0), epoch, step, steps, history, stop_quietly)
                    bar.update(step + 1, now)
                if hooks.callbacks:
                    hooks.on_train_batch_end(step, BatchLogs(totals.logs))
                if self.stop_training:
                    break
            data.end_epoch()
            if step < 0:  # an iterator ran out before this epoch: training ends, as in Keras
                if not isinstance(data, StepsPerEpoch):
                    warn_ran_out()
                break
            logs = totals.logs()
            totals.settle(self._loss_tracker)
            _check_finite(logs.get("loss", 0.0), epoch, step, steps, history, stop_quietly)
            epoch_seconds = time.perf_counter() - epoch_start
            shown = list(logs)  # the progress line's first names, as its steps showed them
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate(val, hooks=hooks)
                logs.update({f"val_{name}": v for name, v in val_logs.items()})
                logs = keras_ordered(logs)
            # Keras' order: callbacks first (they may add to the logs), then the progress line.
            hooks.on_epoch_end(epoch, logs)
            bar.finish({**{k: logs[k] for k in shown if k in logs}, **logs}, current=step + 1)
            history.record(epoch, logs)
            history.epoch_seconds.append(epoch_seconds)
            if checkpoint is not None and (
                (epoch + 1) % max(1, checkpoint_every) == 0
                or epoch + 1 == epochs
                or self.stop_training
            ):
                from .saving import save_checkpoint

                save_checkpoint(checkpoint, self, epoch + 1, history)
            if self.stop_training:
                break
        if initial_epoch < epochs:
            self.optimizer.finalize_variable_values(self.trainable_weights)
        hooks.on_train_end(logs)
        return history

    # -- inference -----------------------------------------------------------------------------
    def _training_batches(
        self,
        x: Any,
        y: Any,
        batch_size: int,
        validation_split: float,
        validation_batch_size: int,
        sample_weight: Any = None,
        class_weight: dict[int, float] | None = None,
    ) -> tuple[ArrayBatches | DatasetBatches, ArrayBatches | None]:
        """fit's batches, and those of the samples ``validation_split`` holds out (or None)."""
        if _takes_dataset(x, y):
            if validation_split:
                raise ValueError(
                    "validation_split needs arrays; pass the dataset's validation data as "
                    "validation_data."
                )
            if sample_weight is not None or class_weight is not None:
                raise ValueError(
                    "A dataset gives its sample weights in its batches, as (x, y, "
                    "sample_weight); class_weight and sample_weight need arrays."
                )
            return dataset_batches(x, self._prepare_weighted, with_targets=True), None
        if y is None and self._needs_targets("train_step"):
            raise ValueError("fit needs y (the targets) when x is an array.")
        x, y, w = self._prepare_weighted(x, y, sample_weight, class_weight, batch_size)
        val = None
        if validation_split:
            x, y, (x_val, y_val) = _split_off_validation(x, y, validation_split)
            w_val = None if w is None else w[rows_of(x) :]
            w = None if w is None else w[: rows_of(x)]
            val = ArrayBatches(x_val, y_val, validation_batch_size, self.device, w_val)
        return ArrayBatches(x, y, batch_size, self.device, w), val

    def _batches(
        self, data: Any, batch_size: int, with_targets: bool = True
    ) -> ArrayBatches | DatasetBatches:
        """Batches of a dataset, or of arrays given as ``(x, y)`` or ``(x, y,
        sample_weight)`` (or ``x`` alone for predict)."""
        if is_dataset(data):
            return dataset_batches(data, self._prepare_weighted, with_targets)
        if not with_targets:
            x, _ = self._prepare(data, batch_size=batch_size)
            return ArrayBatches(x, None, batch_size, self.device)
        if not (isinstance(data, (tuple, list)) and len(data) in (2, 3)):
            what = f"a {type(data).__name__}"
            if isinstance(data, (tuple, list)):
                what += f" of {len(data)}"
            raise ValueError(
                f"Give (x, y) or (x, y, sample_weight) arrays, or a dataset of such batches; "
                f"got {what}."
            )
        if data[1] is None and self._needs_targets("test_step"):
            raise ValueError("y (the targets) is needed when x is an array.")
        x, y, w = self._prepare_weighted(*data, batch_size=batch_size)
        return ArrayBatches(x, y, batch_size, self.device, w)

    def _evaluate(
        self,
        batches: ArrayBatches | DatasetBatches | StepsPerEpoch,
        bar: ProgressBar | None = None,
        hooks: CallbackList | None = None,
    ) -> dict[str, float]:
        """The logs of a pass over ``batches`` without training (callbacks' test hooks
        called, when ``hooks`` has callbacks)."""
        totals = self._totals("test_step")
        own = self._writes_own("test_step")
        if not own:
            self._require_loss("test_step")
        watched = hooks is not None and hooks.callbacks
        if watched:
            hooks.on_test_begin({})
        batches.begin_epoch()
        with no_grad():
            for step, (xb, yb, wb) in enumerate(batches.epoch(shuffle=False)):
                if watched:
                    hooks.on_test_batch_begin(step, {})
                if own:
                    totals.add(self._own_step("test_step", xb, yb, wb)[0], None, rows_of(xb))
                else:
                    loss, outputs = self._loss_and_outputs(xb, yb, False, wb)
                    totals.add(loss.data, self._hits(outputs, yb, wb), rows_of(xb))
                if bar is not None and bar.will_draw(step + 1):
                    bar.update(step + 1, totals.logs())
                if watched:
                    hooks.on_test_batch_end(step, BatchLogs(totals.logs))
        batches.end_epoch()
        if not totals.seen:
            raise ValueError("There was no data to evaluate: the iterator had run out.")
        logs = totals.logs()
        totals.settle(self._loss_tracker)
        if watched:
            hooks.on_test_end(dict(logs))
        return logs

    def _totals(self, method: str) -> _RunningTotals | _StepLogs:
        """A run's running logs: the model's own steps' (``method`` replaced) or fit's."""
        if self._writes_own(method):
            return _StepLogs(self)
        for metric in self._layer_metrics():  # a run's own, as the compiled metrics
            metric.reset_state()
        return _RunningTotals(self.device, self._logged_metrics, self._logs)

    @_on_model_device
    def evaluate(
        self,
        x: Any,
        y: Any = None,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        return_dict: bool = False,
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list[Callback] | None = None,
    ) -> list[float] | float | dict[str, float]:
        """Loss (and accuracy, if compiled with it) over (x, y) or a dataset of (x, y)
        batches, without training; a dict ``{"accuracy": ..., "loss": ...}`` with
        ``return_dict``. ``sample_weight`` weights each sample's loss, as in fit; ``steps``
        takes only the first that many batches; ``callbacks`` get Keras' test hooks."""
        self._require_compiled()
        verbose = 1 if verbose == "auto" else int(verbose)
        if _takes_dataset(x, y):
            if sample_weight is not None:
                raise ValueError("A dataset gives its sample weights in its batches.")
            data = x
        else:
            data = (x, y) if sample_weight is None else (x, y, sample_weight)
        batches = _limited(self._batches(data, _batch_size(batch_size)), steps, "steps")
        callbacks = as_list(callbacks)
        bar = ProgressBar(batches.steps, 0 if draws_progress(callbacks) else verbose)
        hooks = CallbackList(callbacks, model=self, verbose=verbose, steps=batches.steps)
        logs = self._evaluate(batches, bar, hooks)
        bar.finish(logs)
        return self._returned(logs, return_dict)

    @_on_model_device
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        steps: int | None = None,
        callbacks: list[Callback] | None = None,
    ) -> np.ndarray:
        """The model's outputs (softmax probabilities for the study's models) as a NumPy array,
        for x or for each batch of a dataset, in order (of the first ``steps`` batches only,
        if given); ``callbacks`` get Keras' predict hooks (a batch's logs hold its
        ``outputs``, on the model's device)."""
        verbose = 1 if verbose == "auto" else int(verbose)
        batches = self._batches(x, _batch_size(batch_size), with_targets=False)
        batches = _limited(batches, steps, "steps")
        callbacks = as_list(callbacks)
        bar = ProgressBar(batches.steps, 0 if draws_progress(callbacks) else verbose)
        hooks = CallbackList(callbacks, model=self, verbose=verbose, steps=batches.steps)
        hooks.on_predict_begin({})
        outputs = []
        xp = backend.xp_for(self.device)
        batches.begin_epoch()
        with no_grad():
            for step, (xb, _, _) in enumerate(batches.epoch(shuffle=False)):
                hooks.on_predict_batch_begin(step, {})
                out = self._as_output_list(
                    self.predict_step(list(xb) if isinstance(xb, tuple) else xb)
                )
                outputs.append([_data(t) for t in out] if isinstance(out, list) else _data(out))
                hooks.on_predict_batch_end(step, {"outputs": outputs[-1]})
                bar.update(step + 1)
        batches.end_epoch()
        if not outputs:
            raise ValueError("There was no data to predict on: the iterator had run out.")
        hooks.on_predict_end({})
        bar.finish()
        if isinstance(outputs[0], list):  # one array per output
            parts = [backend.to_numpy(xp.concatenate(part)) for part in zip(*outputs, strict=True)]
            return self._structured(parts)
        return self._structured(backend.to_numpy(xp.concatenate(outputs)))  # one copy from a GPU

    # -- saving --------------------------------------------------------------------------------
