"""``Model`` (functional) and ``Sequential``: build, summary, compile, fit, evaluate, predict,
weights, save."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np

from . import backend, functional, losses, optimizers
from . import metrics as metrics_module
from .autograd import Tensor, no_grad
from .batches import (
    ArrayBatches,
    DatasetBatches,
    StepsPerEpoch,
    dataset_batches,
    is_dataset,
    warn_ran_out,
)
from .callbacks import (
    BackupAndRestore,
    BatchLogs,
    Callback,
    History,
    TerminateOnNaN,
    _CallbackList,
    as_list,
)
from .data_checks import (
    as_input_batch,
    as_sample_weights,
    class_weights_to_sample_weights,
    positive_int,
)
from .graph_step import CapturedTrainStep
from .layer_base import is_symbolic
from .layers import LAYER_CLASSES, Activation, Input, Layer, _Activated
from .progress import ProgressBar
from .summary import print_summary


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; ``fit`` stops at once and keeps the History so far."""


class _RunningTotals:
    """An epoch's summed loss and metric hits. On a GPU they stay device arrays, so a step
    queues its work and moves on; ``read`` (for the progress line and the epoch's logs) waits
    for them."""

    def __init__(self, device: str, metrics: list[Any]) -> None:
        self.on_host = device == "cpu"
        self.metrics = metrics
        self.loss_sum: Any = 0.0
        self.hits: list[Any] = []
        self.seen = 0

    def add(self, loss: Any, hits: list[Any], count: int) -> None:
        if self.on_host:
            loss, hits = float(loss), [np.asarray(h, np.float64) for h in hits]
        self.loss_sum = self.loss_sum + loss * count
        # New arrays, never the step's own: a captured step writes the same ones every time.
        self.hits = (
            [0 + h for h in hits]
            if not self.hits
            else [a + b for a, b in zip(self.hits, hits, strict=True)]
        )
        self.seen += count

    def read(self) -> tuple[float, list[float]]:
        """Mean loss and metric values so far, as Python floats."""
        values = [m.result(h, self.seen) for m, h in zip(self.metrics, self.hits, strict=True)]
        return float(self.loss_sum) / self.seen, values


def _split_off_validation(x: Any, y: Any, fraction: float) -> tuple[Any, Any, tuple[Any, Any]]:
    """Keras' ``validation_split``: the last ``fraction`` of the samples, taken before any
    shuffling, become the validation data."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction!r}.")
    split_at = math.floor(len(x) * (1.0 - fraction))
    if split_at in (0, len(x)):
        raise ValueError(
            f"validation_split={fraction} of {len(x)} samples leaves no training or no "
            "validation sample; give more data or another fraction."
        )
    return x[:split_at], y[:split_at], (x[split_at:], y[split_at:])


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
    ``validation_steps`` and ``steps``)."""
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


class Model(Layer):
    """A functional model, as Keras' ``Model(inputs, outputs)``: layers called on an
    ``Input`` and on each other's outputs, with branches and merges (``Add``,
    ``Concatenate``, ...), from one input to one output; each layer is used once.
    ``Sequential`` is the linear special case, and shares everything else: summary, compile,
    fit, evaluate, predict, weights and saving.

    A model is a layer too, as in Keras: it may be a layer of another model (a block of
    augmentation layers, a base network to freeze), and its weights are the outer model's.

    ``device`` is 'cpu', 'gpu' or 'auto' (the GPU when CuPy sees one); None reads
    $MINICNN_DEVICE, else 'auto'. ``to(device)`` moves a model later.
    """

    _default_name = "functional"
    keras_class_name = "Functional"  # what Keras' summary calls it as a layer

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        name: str | None = None,
        device: str | None = None,
    ):
        if inputs is None or outputs is None:
            raise TypeError(
                "Model(inputs, outputs) builds a functional model from an Input and the "
                "output of layers called on it; for a stack of layers use Sequential "
                "(subclassing Model with a call() of your own is not supported)."
            )
        self._setup(name, device)
        self.layers, self._graph = functional.trace(inputs, outputs)
        self._graph_input = functional.single(inputs, "inputs")
        self._graph_output = functional.single(outputs, "outputs")
        self.input_shape = self.layers[0].shape
        self.to(self.device)

    def _setup(self, name: str | None, device: str | None) -> None:
        self.device = backend.resolve_device(device)
        self.name = name or backend.unique_name(self._default_name)
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: Any = None
        self.metrics: list[metrics_module.Metric] = []
        self.compiled = False
        self.jit_compile = False
        self._captured_step: CapturedTrainStep | None = None
        self.history: History | None = None
        self.stop_training = False  # a callback sets it to end fit after the current step
        self._graph_input: Input | None = None
        self._graph_output: Any = None

    def _require_graph(self) -> None:
        if self._graph_input is None:
            raise ValueError(f"Model '{self.name}' has no input yet: give it an Input shape.")

    @property
    def input(self) -> Input:
        """The model's symbolic input (Keras' ``model.input``), where its graph starts."""
        self._require_graph()
        return self._graph_input

    @property
    def output(self) -> Any:
        """The model's symbolic output (Keras' ``model.output``)."""
        self._require_graph()
        return self._graph_output

    @property
    def inputs(self) -> list[Input]:
        return [self.input]

    @property
    def outputs(self) -> list[Any]:
        return [self.output]

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} name={self.name} layers={len(self.layers)} "
            f"device={self.device}>"
        )

    @property
    def input_shape_hint(self) -> tuple[int, ...] | None:
        """As a first layer without an Input, the model's own input shape."""
        return self.input_shape

    @classmethod
    def from_config(cls, config: dict[str, Any], device: str | None = None) -> Model:
        """The model that ``get_config`` described (Keras' ``Functional`` config), with new
        layers."""
        model_input, output = functional.rebuild(config, layer_class)
        return Model(model_input, output, name=config["name"], device=device)

    def to(self, device: str) -> Model:
        """Move weights and optimizer state to 'cpu', 'gpu' or 'auto'; returns the model."""
        self.device = backend.resolve_device(device)
        self._captured_step = None
        for layer in self.layers:
            layer.to(self.device)
        if self.optimizer is not None:
            self.optimizer.to(self.device)
        return self

    def _nodes(self) -> list[functional.Node]:
        """The graph: each layer with the slots of its inputs (see ``functional.Node``)."""
        return self._graph

    def build(self, input_shape: tuple[int, ...]) -> None:
        """A functional model is built by its Input; this checks that samples fit it."""
        if tuple(int(d) for d in input_shape) != self.input_shape:
            raise ValueError(
                f"Model '{self.name}' takes samples of shape {self.input_shape}, got "
                f"{tuple(input_shape)}."
            )

    @property
    def built(self) -> bool:
        return self.input_shape is not None and all(layer.built for layer in self.layers)

    @property
    def output_shape(self) -> tuple[int, ...]:
        self._require_built()
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def _require_built(self) -> None:
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' has not been built yet: give it an Input(shape=...) first "
                "or call build(input_shape), fit or predict."
            )

    @property
    def weights(self) -> list[Tensor]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Tensor]:
        """The weights the optimizer updates: none of a frozen layer, no moving statistics."""
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    @property
    def trainable(self) -> bool:
        return any(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """``model.trainable = False`` freezes every layer, as in Keras."""
        for layer in self.layers:
            layer.trainable = value

    def count_params(self) -> int:
        self._require_built()
        return sum(layer.count_params() for layer in self.layers)

    def get_layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model '{self.name}'.")

    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        self._require_built()
        print_summary(self, print_fn)

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        self._require_built()
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(
                f"Model '{self.name}' expects {expected} weight arrays, got {len(weights)}."
            )
        i = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(list(weights[i : i + k]))
            i += k

    # -- compiling -----------------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optimizers.Optimizer = "adam",
        loss: str | Any = "sparse_categorical_crossentropy",
        metrics: list[Any] | None = None,
        jit_compile: bool | str = False,
    ) -> None:
        """Keras' compile. ``jit_compile=True`` captures fit's training step in a CUDA graph
        on a GPU and replays it (``minicnn.graph_step``): the same results, with the host's
        per-launch cost paid once; on the CPU there is nothing to capture and it changes
        nothing. ``"auto"`` means False here."""
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
        self.jit_compile = jit_compile is True
        self._captured_step = None
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.metrics = [metrics_module.get(m, self.loss) for m in metrics or []]
        for metric in self.metrics:
            metric.check(self.loss)
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"Metric names must differ from each other and from 'loss': {names}.")
        self.compiled = True

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"Model '{self.name}' must be compiled before training or evaluating."
            )

    # -- forward -------------------------------------------------------------------------------
    def __call__(self, x: Any, training: bool = False) -> Any:
        """The model on a batch; an array goes to the model's device first (a Tensor as is).
        On a symbolic tensor, the model becomes a layer of the functional model being built."""
        if is_symbolic(x):
            return self._connect(x)
        out = x if isinstance(x, Tensor) else Tensor(backend.to_device(x, self.device))
        if not self.built:
            self.build(out.shape[1:])
        return self._forward(out, training)

    def _forward(self, x: Tensor, training: bool, logits: bool = False) -> Tensor:
        """Run the graph on x. With ``logits`` the last layer gives its pre-activation output
        (``transform``), for a softmax fused into the loss."""
        nodes = self._nodes()
        last_use = {}
        for k, (_, sources) in enumerate(nodes):
            for s in sources:
                last_use[s] = k
        values: list[Any] = [x]
        for k, (layer, sources) in enumerate(nodes):
            args = [values[s] for s in sources]
            arg = args if layer.takes_list else args[0]
            if logits and k == len(nodes) - 1:
                values.append(layer.transform(arg))
            else:
                values.append(layer(arg, training=training))
            for s in sources:
                if last_use[s] == k:
                    values[s] = None  # free what no later layer reads
        return values[-1]

    def _fuses_activation(self) -> bool:
        """Whether the loss takes over the output layer's activation (softmax for the
        categorical cross-entropies, sigmoid for binary cross-entropy) and gets the logits."""
        last = self.layers[-1] if self.layers else None
        fused = getattr(self.loss, "fused_activation", None)
        return (
            fused is not None
            and not self.loss.from_logits
            and isinstance(last, (_Activated, Activation))
            and last.activation_name == fused
        )

    def _loss_and_outputs(
        self, x: Any, y: Any, training: bool, sample_weight: Any = None
    ) -> tuple[Tensor, Any]:
        """The loss Tensor and the raw outputs the metrics read; y (and the sample weights)
        have been checked by _prepare."""
        weights = {"sample_weight": sample_weight} if sample_weight is not None else {}
        if self._fuses_activation():
            # The activation and the loss in one stable step on the logits.
            logits = self._forward(Tensor(x), training, logits=True)
            loss = self._penalized(self.loss.on_logits(y, logits, checked=True, **weights))
            if all(metric.ranks_only for metric in self.metrics):
                return loss, logits.data  # argmax and top-k read logits as well
            return loss, self.layers[-1].activation(Tensor(logits.data)).data
        out = self._forward(Tensor(x), training)
        return self._penalized(self.loss(y, out, checked=True, **weights)), out.data

    @property
    def losses(self) -> list[Tensor]:
        """The layers' weight penalties (Keras' ``model.losses``)."""
        return [penalty for layer in self.layers for penalty in layer.losses]

    def _penalized(self, loss: Tensor) -> Tensor:
        """The loss plus every weight penalty, as Keras reports it in training and evaluation."""
        for penalty in self.losses:
            loss = loss + penalty
        return loss

    # -- training ------------------------------------------------------------------------------
    def _prepare(self, x: Any, y: Any = None) -> tuple[Any, Any]:
        """Checked x (and y), on the model's device: a GPU gets the whole set in one copy."""
        x = as_input_batch(x, self.input_shape, self.name)
        if not self.built:
            self.build(x.shape[1:])
        if y is None:
            return backend.to_device(x, self.device), None
        y = self.loss.targets(y, len(x), self.output_shape, f"Model '{self.name}'")
        return backend.to_device(x, self.device), backend.to_device(y, self.device)

    def _prepare_weighted(
        self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None
    ) -> tuple[Any, Any, Any]:
        """_prepare, plus checked sample weights on the device (None without any); Keras'
        ``class_weight`` gives each sample the weight of its class (1 for classes it omits)."""
        if sample_weight is not None and class_weight is not None:
            raise ValueError("Give class_weight or sample_weight, not both (as in Keras).")
        x_dev, y_dev = self._prepare(x, y)
        if y is None or (sample_weight is None and class_weight is None):
            return x_dev, y_dev, None
        if class_weight is not None:
            sample_weight = class_weights_to_sample_weights(y, class_weight)
        weights = as_sample_weights(sample_weight, len(x_dev))
        return x_dev, y_dev, backend.to_device(weights, self.device)

    def _train_step(self, x: Any, y: Any, sample_weight: Any = None) -> tuple[Any, Any]:
        """One update; the loss and the number of hits stay arrays on the model's device."""
        loss, outputs = self._loss_and_outputs(x, y, training=True, sample_weight=sample_weight)
        params = self.trainable_weights
        for p in params:
            p.grad = None
        loss.backward()
        self.optimizer.apply(params)
        return loss.data, self._hits(outputs, y)

    def _fit_step(self) -> Callable[[Any, Any, Any], tuple[Any, list[Any]]]:
        """The training step of fit and train_on_batch: captured in a CUDA graph with
        ``jit_compile`` on a GPU."""
        if not (self.jit_compile and self.device == "gpu"):
            return self._train_step
        if self._captured_step is None:
            self._captured_step = CapturedTrainStep(self)
        return self._captured_step

    def _hits(self, outputs: Any, y: Any) -> list[Any]:
        """Each metric's totals for a batch (the sum of its scores, or its counts), as arrays
        on the model's device."""
        return [metric.total(outputs, y, self.loss) for metric in self.metrics]

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
        loss, hits = self._fit_step()(x, y, w)
        values = [m.result(h, len(x)) for m, h in zip(self.metrics, hits, strict=True)]
        return self._result(float(loss), values, return_dict)

    def test_on_batch(
        self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False
    ) -> list[float] | float | dict[str, float]:
        """Loss (and accuracy) on one batch, without training."""
        self._require_compiled()
        x, y, w = self._prepare_weighted(x, y, sample_weight)
        batches = ArrayBatches(x, y, len(x), self.device, w)
        return self._result(*self._evaluate(batches), return_dict)

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """The outputs for one batch, as a NumPy array."""
        return self.predict(x, batch_size=len(x), verbose=0)

    def _result(
        self, loss: float, values: list[float], return_dict: bool = False
    ) -> list[float] | float | dict[str, float]:
        """Keras' return value: the loss, or [loss, *metrics] when compiled with metrics."""
        if return_dict:
            return self._logs(loss, values)
        return [loss, *values] if self.metrics else loss

    def _running_logs(self, totals: _RunningTotals) -> dict[str, float]:
        return self._logs(*totals.read())

    def _logs(self, loss: float, values: list[float], prefix: str = "") -> dict[str, float]:
        logs = {prefix + m.name: v for m, v in zip(self.metrics, values, strict=True)}
        logs[prefix + "loss"] = loss
        return logs

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
                print(f"Resuming from {checkpoint} after epoch {initial_epoch}.", flush=True)
        history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        history.set_model(self)
        self.history = history
        hooks = _CallbackList(callbacks, self, history.params)
        self.stop_training = False
        hooks.train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            hooks.epoch_begin(epoch)
            bar = ProgressBar(steps, verbose)
            totals = _RunningTotals(self.device, self.metrics)
            train_step = self._fit_step()
            epoch_start = time.perf_counter()
            step = -1
            for step, (xb, yb, wb) in enumerate(data.epoch(shuffle)):
                hooks.batch_begin(step)
                loss, hits = train_step(xb, yb, wb)
                totals.add(loss, hits, len(xb))
                # The CPU checks every step; a GPU only when it reads the totals anyway.
                if totals.on_host or bar.will_draw(step + 1):
                    loss_mean, values = totals.read()
                    _check_finite(loss_mean, epoch, step, steps, history, stop_quietly)
                    bar.update(step + 1, self._logs(loss_mean, values))
                if hooks.callbacks:
                    hooks.batch_end(step, BatchLogs(partial(self._running_logs, totals)))
                if self.stop_training:
                    break
            data.end_epoch()
            if step < 0:  # an iterator ran out before this epoch: training ends, as in Keras
                if not isinstance(data, StepsPerEpoch):
                    warn_ran_out()
                break
            loss_mean, values = totals.read()
            _check_finite(loss_mean, epoch, step, steps, history, stop_quietly)
            logs = self._logs(loss_mean, values)
            epoch_seconds = time.perf_counter() - epoch_start
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_loss, val_values = self._evaluate(val)
                logs.update(self._logs(val_loss, val_values, prefix="val_"))
            # Keras' order: callbacks first (they may add to the logs), then the progress line.
            hooks.epoch_end(epoch, logs)
            bar.finish(logs, current=step + 1)
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
        hooks.train_end(logs)
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
        if y is None:
            raise ValueError("fit needs y (the targets) when x is an array.")
        x, y, w = self._prepare_weighted(x, y, sample_weight, class_weight)
        val = None
        if validation_split:
            x, y, (x_val, y_val) = _split_off_validation(x, y, validation_split)
            w_val = None if w is None else w[len(x) :]
            w = None if w is None else w[: len(x)]
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
            x, _ = self._prepare(data)
            return ArrayBatches(x, None, batch_size, self.device)
        if not (isinstance(data, (tuple, list)) and len(data) in (2, 3)):
            what = f"a {type(data).__name__}"
            if isinstance(data, (tuple, list)):
                what += f" of {len(data)}"
            raise ValueError(
                f"Give (x, y) or (x, y, sample_weight) arrays, or a dataset of such batches; "
                f"got {what}."
            )
        if data[1] is None:
            raise ValueError("y (the targets) is needed when x is an array.")
        x, y, w = self._prepare_weighted(*data)
        return ArrayBatches(x, y, batch_size, self.device, w)

    def _evaluate(
        self,
        batches: ArrayBatches | DatasetBatches | StepsPerEpoch,
        bar: ProgressBar | None = None,
    ) -> tuple[float, list[float]]:
        totals = _RunningTotals(self.device, self.metrics)
        with no_grad():
            for step, (xb, yb, wb) in enumerate(batches.epoch(shuffle=False)):
                loss, outputs = self._loss_and_outputs(xb, yb, False, wb)
                totals.add(loss.data, self._hits(outputs, yb), len(xb))
                if bar is not None and bar.will_draw(step + 1):
                    bar.update(step + 1, self._logs(*totals.read()))
        if not totals.seen:
            raise ValueError("There was no data to evaluate: the iterator had run out.")
        return totals.read()

    def evaluate(
        self,
        x: Any,
        y: Any = None,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        return_dict: bool = False,
        sample_weight: Any = None,
        steps: int | None = None,
    ) -> list[float] | float | dict[str, float]:
        """Loss (and accuracy, if compiled with it) over (x, y) or a dataset of (x, y)
        batches, without training; a dict ``{"accuracy": ..., "loss": ...}`` with
        ``return_dict``. ``sample_weight`` weights each sample's loss, as in fit; ``steps``
        takes only the first that many batches."""
        self._require_compiled()
        verbose = 1 if verbose == "auto" else int(verbose)
        if _takes_dataset(x, y):
            if sample_weight is not None:
                raise ValueError("A dataset gives its sample weights in its batches.")
            data = x
        else:
            data = (x, y) if sample_weight is None else (x, y, sample_weight)
        batches = _limited(self._batches(data, _batch_size(batch_size)), steps, "steps")
        bar = ProgressBar(batches.steps, verbose)
        loss, values = self._evaluate(batches, bar)
        bar.finish(self._logs(loss, values))
        return self._result(loss, values, return_dict)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        steps: int | None = None,
    ) -> np.ndarray:
        """The model's outputs (softmax probabilities for the study's models) as a NumPy array,
        for x or for each batch of a dataset, in order (of the first ``steps`` batches only,
        if given)."""
        verbose = 1 if verbose == "auto" else int(verbose)
        batches = self._batches(x, _batch_size(batch_size), with_targets=False)
        batches = _limited(batches, steps, "steps")
        bar = ProgressBar(batches.steps, verbose)
        outputs = []
        xp = backend.xp_for(self.device)
        with no_grad():
            for step, (xb, _, _) in enumerate(batches.epoch(shuffle=False)):
                outputs.append(self(xb).data)
                bar.update(step + 1)
        if not outputs:
            raise ValueError("There was no data to predict on: the iterator had run out.")
        result = backend.to_numpy(xp.concatenate(outputs))  # one copy back from a GPU
        bar.finish()
        return result

    # -- saving --------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return functional.graph_config(self.name, self._nodes())

    def to_json(self) -> str:
        """The architecture as JSON, as Keras' ``to_json`` (no weights); ``model_from_json``
        builds it again."""
        return json.dumps({"class_name": self.keras_class_name, "config": self.get_config()})

    def save(self, path: str) -> None:
        """Architecture, weights and compile settings in one .npz file; see ``minicnn.saving``."""
        from .saving import save_model

        save_model(self, path)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Only the weights, in one .npz file; ``load_weights`` puts them into a model of the
        same architecture."""
        from .saving import save_weights

        save_weights(self, path)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Weights from ``save_weights`` (or from a ``save``d model file) into this model."""
        from .saving import load_weights

        load_weights(self, path)


class Sequential(Model):
    """A linear stack of layers, used the way Keras' Sequential is.

    ``device`` is 'cpu', 'gpu' or 'auto' (the GPU when CuPy sees one); None reads
    $MINICNN_DEVICE, else 'auto'. ``to(device)`` moves a model later.
    """

    _default_name = "sequential"
    keras_class_name = "Sequential"

    def __init__(
        self,
        layers: Iterable[Layer | Input] | None = None,
        name: str | None = None,
        device: str | None = None,
    ):
        self._setup(name, device)
        for layer in layers or []:
            self.add(layer)

    def _nodes(self) -> list[functional.Node]:
        return [(layer, (i,)) for i, layer in enumerate(self.layers)]

    # -- building ------------------------------------------------------------------------------
    def add(self, layer: Layer | Input) -> None:
        if isinstance(layer, Input):
            if self.layers or self.input_shape is not None:
                raise ValueError("Input must come first in a Sequential model.")
            self.input_shape = layer.shape
            self._graph_input = self._graph_output = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer or Input, got {type(layer).__name__}.")
        layer.to(self.device)
        if not self.layers and self.input_shape is None and layer.input_shape_hint is not None:
            self.input_shape = layer.input_shape_hint
        self.layers.append(layer)
        if self.input_shape is not None:
            shape = self.layers[-2].output_shape if len(self.layers) > 1 else self.input_shape
            layer.build(shape)
            self._graph_output = layer._connect(self._linked_output(len(self.layers) - 1))

    def _linked_output(self, count: int) -> Any:
        """The symbolic output after the first ``count`` layers; the graph is made anew from
        the input when it is missing (built later, or layers popped)."""
        if self._graph_input is None or self._graph_input.shape != self.input_shape:
            self._graph_input = Input(self.input_shape)
        x: Any = self._graph_input
        for layer in self.layers[:count]:
            x = layer._connect(x)
        return x

    def pop(self) -> Layer:
        """Remove the last layer and return it, as Keras does (compile again before training:
        the optimizer's state belongs to the old layers)."""
        if not self.layers:
            raise TypeError(f"Model '{self.name}' has no layers to pop.")
        layer = self.layers.pop()
        if self.input_shape is not None:
            self._graph_output = self._linked_output(len(self.layers))
        return layer

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create every layer's weights for samples of ``input_shape`` (batch left out)."""
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for layer in self.layers:
            if not layer.built or layer.input_shape != shape:
                layer.build(shape)
            shape = layer.output_shape
        self._graph_output = self._linked_output(len(self.layers))

    @classmethod
    def from_config(cls, config: dict[str, Any], device: str | None = None) -> Sequential:
        model = Sequential(name=config["name"], device=device)
        if config["input_shape"] is not None:
            model.add(Input(tuple(config["input_shape"])))
        for entry in config["layers"]:
            model.add(layer_from_config(entry))
        return model

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape) if self.input_shape is not None else None,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }


def layer_class(class_name: str) -> type[Layer] | None:
    """The class of a layer config's ``class_name``: a layer's, or a model's (a model used as
    a layer)."""
    models = {"Sequential": Sequential, "Model": Model, "Functional": Model}
    return models.get(class_name) or LAYER_CLASSES.get(class_name)


def layer_from_config(entry: dict[str, Any]) -> Layer:
    """A new layer (or model) from ``{"class_name": ..., "config": ...}``."""
    cls = layer_class(entry["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class {entry['class_name']!r}")
    return cls.from_config(entry["config"])


def clone_model(model: Model) -> Model:
    """Keras' ``clone_model``: the same architecture, with new layers and weights drawn anew
    (the original's weights are not shared; ``clone.set_weights(model.get_weights())`` copies
    them). Not compiled, on the original's device."""
    return type(model).from_config(model.get_config(), device=model.device)


def model_from_json(text: str, device: str | None = None) -> Model:
    """The model that ``to_json`` described, with new weights."""
    try:
        document = json.loads(text)
        cls = {"Sequential": Sequential, "Functional": Model}[document["class_name"]]
        config = document["config"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"Not a model's JSON from to_json ({e!r}).") from None
    return cls.from_config(config, device=device)
