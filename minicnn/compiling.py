"""What ``Model.compile`` sets up, as a mixin of ``Model``: the optimizer, the loss (one per
output, with loss weights), the metrics and weighted metrics with Keras' names, Keras 3's
``metrics`` list and its ``compute_loss``/``compute_metrics``, and the loss of a batch (with
an output activation fused into the loss) that fit and evaluate train and report."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from . import backend, losses, optimizers
from . import metrics as metrics_module
from .autograd import Tensor, no_grad
from .layers import Activation, _Activated
from .metric_base import position_weights
from .name_scopes import unscoped_path


class CompileMetrics:
    """Keras 3's ``compile_metrics``: the metrics given to compile as one entry of
    ``model.metrics`` (so ``model.metrics_names`` is ['loss', 'compile_metrics', ...], as
    in Keras). ``update_state(y, y_pred, sample_weight)`` adds a batch to each of them (for
    several outputs, each reads its own output), ``result()`` gives their values by name
    (a dict, which a train_step's logs take apart, as Keras' do), ``reset_state()`` starts
    them again; ``metrics`` lists them."""

    name = "compile_metrics"

    def __init__(self, model: Any) -> None:
        self.model = model

    @property
    def metrics(self) -> list[Any]:
        return [
            m for m in self.model._compiled_metrics if not isinstance(m, metrics_module.OutputLoss)
        ]

    @property
    def variables(self) -> list[Any]:
        return [v for m in self.metrics for v in m.variables]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self.model._update_compiled_metrics(y_true, y_pred, sample_weight, losses=False)

    def result(self) -> dict[str, Any]:
        return {m.name: m.result() for m in self.metrics}

    def reset_state(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError("compile_metrics has no config (as in Keras): its metrics do.")

    def __repr__(self) -> str:
        return f"<CompileMetrics name=compile_metrics, metrics={[m.name for m in self.metrics]}>"


class _CompiledMetrics(CompileMetrics):
    """What tf.keras' ``model.compiled_metrics`` gave a train_step: the compiled metrics
    (and the model's added and layers' ones) as one; its ``update_state`` tracks each
    output's loss too, and ``result`` gives floats."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        warnings.warn(
            "`model.compiled_metrics()` is deprecated. Instead, use e.g.:\n```\nfor metric "
            "in self.metrics:\n    metric.update_state(y, y_pred)\n```\n",
            stacklevel=2,
        )
        self.model.compute_metrics(None, y_true, y_pred, sample_weight)

    @property
    def metrics(self) -> list[Any]:
        return list(self.model._logged_metrics)

    def result(self) -> dict[str, float]:
        return {m.name: float(m.result()) for m in self.metrics}


def _data_of(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


class _DefaultLoss(str):
    """compile's default loss, told apart from the same name given: a model that added its
    own losses (functional add_loss) then trains on them alone, as tf.keras'
    ``compile(optimizer)``."""


DEFAULT_LOSS = _DefaultLoss("sparse_categorical_crossentropy")


def _weighted(metric: Any, taken: set[str]) -> Any:
    """``metric`` as one of compile's weighted metrics: it reads the sample weights, and is
    called ``weighted_<name>`` when an unweighted metric has its name (Keras 3's rule)."""
    metric.weighted = True
    if metric.name in taken:
        metric.name = f"weighted_{metric.name}"
    return metric


class Compiler:
    """Model's compile settings and the loss of a batch (``models.Model`` supplies the
    graph, the forward pass and the weights)."""

    # The padding masks of the last batch's outputs, which the metrics read.
    _metric_masks: list[Any] = [None]

    # -- compiling -----------------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optimizers.Optimizer = "adam",
        loss: Any = DEFAULT_LOSS,
        metrics: Any = None,
        jit_compile: bool | str = False,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        auto_scale_loss: bool = True,
    ) -> None:
        """Keras' compile. ``weighted_metrics`` are metrics that weight each sample by fit's
        and evaluate's ``sample_weight`` (or ``class_weight``), as in Keras; one with the name
        of an unweighted metric is logged as ``weighted_<name>``. ``jit_compile=True``
        captures fit's training step in a CUDA graph on a GPU and replays it
        (``minicnn.graph_step``): the same results, with the host's per-launch cost paid
        once; on the CPU there is nothing to capture and it changes nothing. ``"auto"``
        means False here. ``run_eagerly=True`` turns ``jit_compile`` off (with Keras' warning),
        as in Keras; every step is eager Python otherwise too. ``steps_per_execution`` must be
        1, as with Keras 3's PyTorch backend. ``auto_scale_loss`` (Keras' switch) wraps the
        optimizer of a model whose dtype policy is "mixed_float16" in a LossScaleOptimizer,
        as Keras does (minicnn computes in float32 even then: the wrapper skips the steps
        whose gradients overflow).

        For a model with several outputs, ``loss`` is one loss for every output, a list (one
        per output) or a dict by output name; ``loss_weights`` (a list or dict, 1 by
        default) weight them in the sum that is trained; ``metrics`` is a list for every
        output, a list of lists, or a dict by output name. The logs then hold the total
        ``loss``, each ``<output>_loss`` and each ``<output>_<metric>``, as in Keras."""
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
        if steps_per_execution != 1:
            raise ValueError(
                "steps_per_execution must be 1 (as with Keras 3's PyTorch backend): minicnn "
                f"runs one step per call. Received: steps_per_execution={steps_per_execution!r}"
            )
        if jit_compile is True and run_eagerly:
            warnings.warn(
                "If `run_eagerly` is True, then `jit_compile` cannot also be True. Disabling "
                "`jit_compile`.",
                stacklevel=2,
            )
        if loss is DEFAULT_LOSS and self._adds_losses:
            loss = None
        # What compile was given, as Keras' compile config keeps it (serialized when read).
        given = {
            "optimizer": None,
            "loss": str(loss) if isinstance(loss, str) else loss,
            "loss_weights": loss_weights,
            "metrics": metrics,
            "weighted_metrics": weighted_metrics,
        }
        if metrics is None and weighted_metrics is None and self.compiled:
            # Compiled again without metrics, the model keeps its metrics, as Keras 3's does.
            metrics, weighted_metrics = self._compiled_metric_specs
        # Given no loss, fit(x) and evaluate(x) without targets train on and report the
        # losses the model adds (a layer's add_loss), as Keras' compile(optimizer) does.
        self._default_loss = loss is DEFAULT_LOSS
        self.run_eagerly = bool(run_eagerly)
        self.steps_per_execution = 1
        self.jit_compile = jit_compile is True and not self.run_eagerly
        self._captured_step = None
        self.optimizer = given["optimizer"] = optimizers.get(optimizer)
        # Keras wraps a mixed_float16 model's optimizer for loss scaling, and so its files
        # hold that state; compile_config still names the optimizer compile was given.
        self._scales_loss_itself = (
            auto_scale_loss
            and self.dtype_policy.name == "mixed_float16"
            and not isinstance(self.optimizer, optimizers.LossScaleOptimizer)
        )
        if self._scales_loss_itself:
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer)
        self.optimizer.weight_paths = self._weight_paths()
        self.optimizer.scoped_paths = self._scoped_weight_paths()
        self.__dict__.pop("_pending_outputs", None)
        if self._output_count > 1:
            self._compile_outputs(loss, metrics, loss_weights, weighted_metrics)
        elif self._subclassed and not self.built and loss is not DEFAULT_LOSS:
            # A subclassed model not called yet: its first call tells how many outputs
            # the losses are for, as Keras builds its compiled losses then.
            self._pending_outputs = (loss, metrics, loss_weights, weighted_metrics)
            if isinstance(loss, (list, tuple, dict)):
                self.loss, self._compiled_metrics = None, []
                self.loss_weights, self._metric_heads = None, []
            else:
                self._compile_one_output(loss, metrics, loss_weights, weighted_metrics)
        else:
            self._compile_one_output(loss, metrics, loss_weights, weighted_metrics)
        names = [m.name for m in self._logged_metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"Metric names must differ from each other and from 'loss': {names}.")
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.compiled = True
        self._compiled_metric_specs = (metrics, weighted_metrics)
        self._compile_arguments = given

    def _compile_one_output(
        self, loss: Any, metrics: Any, loss_weights: Any, weighted_metrics: Any
    ) -> None:
        if isinstance(loss, (list, tuple)) and len(loss) == 1:  # one output's list, as Keras
            loss = loss[0]
            metrics = metrics[0] if metrics and isinstance(metrics[0], (list, tuple)) else metrics
        self._one_loss_weight = _one_output_weight(loss_weights)
        # loss=None: a train_step of the model's own computes the loss (as in Keras).
        self.loss = None if loss is None else losses.get(loss)
        self._compiled_metrics = [metrics_module.get(m, self.loss) for m in metrics or []]
        plain = {m.name for m in self._compiled_metrics}
        for spec in weighted_metrics or []:
            self._compiled_metrics.append(_weighted(metrics_module.get(spec, self.loss), plain))
        for metric in self._compiled_metrics:
            if self.loss is not None:
                metric.check(self.loss)
        self.loss_weights, self._metric_heads = None, []

    def _compile_pending(self) -> None:
        """compile's arguments for a subclassed model compiled before its first call, now
        that the call has told how many outputs it gives."""
        pending = self.__dict__.pop("_pending_outputs", None)
        if pending is None:
            return
        if self._output_count > 1:
            self._compile_outputs(*pending)
        elif isinstance(pending[0], (list, tuple, dict)):
            loss = pending[0]
            loss = list(loss.values()) if isinstance(loss, dict) else loss
            self._compile_one_output(list(loss), *pending[1:])

    def _weight_paths(self) -> dict[int, str]:
        """Each weight's path without the scopes its layer sits in ('dense/kernel' of
        'sequential/dense/kernel'), by id: a map of optimizers may name weights so."""
        return self._paths_by(unscoped_path)

    def _scoped_weight_paths(self) -> dict[int, str]:
        """Each weight's Keras path ("sequential/dense/kernel"), by id: Keras' optimizers
        name their state and pick weights by it."""
        return self._paths_by(lambda weight: weight.path)

    def _paths_by(self, path_of: Any) -> dict[int, str]:
        paths = {}
        for layer in self._all_layers():
            for i, weight in enumerate(layer.weights):
                paths.setdefault(id(weight), path_of(weight) or f"{layer.name}/weight_{i}")
        return paths

    # -- the settings as a config, as Keras 3 keeps them ----------------------------------------
    def get_compile_config(self) -> dict[str, Any]:
        """compile's settings as plain data (what a model file keeps), ``{}`` before compile
        (as Keras); ``compile_from_config`` compiles a model with them."""
        if not self.compiled:
            return {}
        from .serialization import serialize_keras_object

        # Keras' config: compile's arguments as given, each object as its Keras entry.
        return {
            **serialize_keras_object(self._compile_arguments),
            "jit_compile": self.jit_compile,
            "run_eagerly": self.run_eagerly,
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """compile with what ``get_compile_config`` gave (custom losses and metrics are found
        by name: ``custom_object_scope`` or registration)."""
        from .serialization import deserialize_compile_argument as given

        # compile(**config), as Keras: what the config leaves out takes compile's default.
        arguments = {key: given(value) for key, value in config.items()}
        if "optimizer" in config:
            arguments["optimizer"] = optimizers.get(config["optimizer"])
        self.compile(**arguments)

    # -- metrics, as Keras 3 shows them ----------------------------------------------------------
    @property
    def metrics(self) -> list[Any]:
        """Keras 3's list: the loss tracker (a Mean called 'loss'), the compiled metrics as
        one ``CompileMetrics`` ("compile_metrics"), each output's loss (several outputs),
        then the metrics the model adds or keeps and its layers'. fit adds up its own
        totals; these objects keep state for a ``train_step`` of the user's, as in Keras."""
        if not self.compiled:
            return []
        compiled = CompileMetrics(self)
        losses = [m for m in self._compiled_metrics if isinstance(m, metrics_module.OutputLoss)]
        return [
            self._loss_tracker,
            *([compiled] if compiled.metrics else []),
            *losses,
            *self._added_trackers,
            *self._layer_metrics(),
        ]

    def _flat_metrics(self) -> list[metrics_module.Metric]:
        """Every metric object, the compiled ones one by one (what a state tree holds)."""
        return [self._loss_tracker, *self._logged_metrics] if self.compiled else []

    @property
    def _logged_metrics(self) -> list[metrics_module.Metric]:
        """The compiled metrics, the model's added ones (functional add_metric), then those
        it and its layers keep as attributes and update themselves (Keras tracks and logs
        them too)."""
        return [*self._compiled_metrics, *self._added_trackers, *self._layer_metrics()]

    def _layer_metrics(self) -> list[metrics_module.Metric]:
        layers = [la for la in self._all_layers() if not getattr(la, "is_model", False)]
        # A Mean of the user's called "loss" stands for the loss tracker (Keras 2's pattern).
        own = [m for m in self.__dict__.get("_tracked_metrics", []) if m.name != "loss"]
        return own + [m for layer in layers for m in layer.metrics]

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for metric in self.metrics:  # (a subclass's own list, where it gives one)
            metric.reset_state()

    def get_metrics_result(self) -> dict[str, float]:
        """Each metric's ``result()`` by name, as floats; a result that is a dict
        (compile_metrics') gives each of its values by its own name, as in Keras."""
        found: dict[str, float] = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                found.update({name: float(value) for name, value in result.items()})
            else:
                found[metric.name] = float(result)
        return found

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Tensor:
        """Keras 3's ``compute_loss``: the compiled loss of ``y_pred`` (a Tensor, or a list
        for several outputs, weighted by ``loss_weights``) against ``y``, weighted by
        ``sample_weight``, plus the layers' weight penalties (``model.losses``)."""
        self._require_compiled()
        y, y_pred = self._as_output_list(y), self._as_output_list(y_pred)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self.loss is None:  # as Keras 3: the model's losses alone
            return self._penalized(None)
        if self._output_count == 1:
            target = self._on_device(y)
            own = self._carried_mask_weights(weights, y_pred, target, self.loss)
            return self._penalized(self._weighted_loss(self.loss(target, y_pred, **own)))
        total: Any = None
        for loss, weight, target, out in zip(self.loss, self.loss_weights, y, y_pred, strict=True):
            if loss is None:
                continue
            target = self._on_device(target)
            own = self._carried_mask_weights(weights, out, target, loss)
            part = loss(target, out, **own) * weight
            total = part if total is None else total + part
        return self._penalized(total)

    def _carried_mask_weights(
        self, weights: dict[str, Any], y_pred: Any, target: Any, loss: Any
    ) -> dict[str, Any]:
        """The loss's weights with the padding mask ``y_pred`` carries (a model's output in
        a step of the user's), as Keras' loss reads it."""
        mask = getattr(y_pred, "_keras_mask", None)
        if mask is None:
            return weights
        return self._masked(weights, mask, tuple(y_pred.shape), target, loss)

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict[str, float]:
        """Keras 3's ``compute_metrics``: add the batch to every compiled metric (weighted
        ones take ``sample_weight``; for several outputs, each metric reads its output, and
        each output's loss is tracked), then ``get_metrics_result()``."""
        self._update_compiled_metrics(y, y_pred, sample_weight)
        self._track_added_metrics()
        return self.get_metrics_result()

    def _update_compiled_metrics(
        self, y: Any, y_pred: Any, sample_weight: Any, losses: bool = True
    ) -> None:
        """Add a batch to the compiled metrics (with each output's loss, where ``losses``)."""
        y, y_pred = self._as_output_list(y), self._as_output_list(y_pred)
        several = self._output_count > 1
        for metric, head in zip(
            self._compiled_metrics,
            self._metric_heads if several else [0] * len(self._compiled_metrics),
            strict=True,
        ):
            target = self._on_device(y[head] if several else y)
            out = y_pred[head] if several else y_pred
            weights = sample_weight if metric.weighted else None
            if isinstance(metric, metrics_module.OutputLoss):
                if not losses:
                    continue
                with no_grad():
                    metric.add(
                        self.loss[head](
                            target,
                            out,
                            **({} if sample_weight is None else {"sample_weight": sample_weight}),
                        ),
                        len(target),
                    )
            elif metric.keeps_own_state or (self.loss[head] if several else self.loss) is None:
                metric.update_state(target, out, sample_weight=weights)
            else:  # the targets read as fit's metrics read them: by the compiled loss
                metric.add_batch(target, out, weights, self.loss[head] if several else self.loss)

    # -- tf.keras' names, which Keras 3 keeps for train_steps written for them ----------------
    def compiled_loss(
        self,
        y: Any,
        y_pred: Any,
        sample_weight: Any = None,
        regularization_losses: Any = None,
    ) -> Tensor:
        """tf.keras' ``compiled_loss``: ``compute_loss`` (which adds ``model.losses``, so
        ``regularization_losses`` are not added twice), tracked as the logs' "loss", as
        tf.keras tracked it."""
        warnings.warn(
            "`model.compiled_loss()` is deprecated. Instead, use `model.compute_loss(x, y, "
            "y_pred, sample_weight, training)`.",
            stacklevel=2,
        )
        loss = self.compute_loss(None, y, y_pred, sample_weight)
        outputs = y_pred[0] if isinstance(y_pred, (list, tuple)) else y_pred
        self._loss_tracker.update_state(loss, sample_weight=len(_data_of(outputs)))
        return loss

    @property
    def compiled_metrics(self) -> _CompiledMetrics:
        """tf.keras' ``compiled_metrics``: ``update_state(y, y_pred, sample_weight)`` adds a
        batch to the compiled metrics, as ``compute_metrics`` does."""
        return _CompiledMetrics(self)

    def _on_device(self, y: Any) -> Any:
        """Targets as an array on the model's device (a Tensor's array as it is)."""
        if isinstance(y, Tensor):
            return y.data
        if not backend.is_device_array(y):
            y = np.asarray(y)
        return backend.to_device(y, self.device)

    def zero_grad(self) -> None:
        """Clear every weight's gradient (``Tensor.backward`` adds to it), as PyTorch's
        ``Module.zero_grad`` and Keras on PyTorch."""
        for weight in self.weights:
            weight.grad = None

    def _per_output(self, value: Any, what: str, single: Any) -> list[Any]:
        """One entry per output from one value for all (``single(value)`` says whether it is
        one), a list of them, or a dict by output name."""
        names = self.output_names
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise ValueError(f"{what} names no output {unknown}; the outputs are {names}.")
            missing = [n for n in names if n not in value]
            if missing and what not in ("metrics", "weighted_metrics"):
                raise ValueError(f"{what} gives nothing for the outputs {missing}.")
            return [value.get(n, []) for n in names]
        if single(value):
            return [value] * len(names)
        if not isinstance(value, (list, tuple)) or len(value) != len(names):
            raise ValueError(
                f"{what} must be one for every output, a list of {len(names)} (one per output: "
                f"{names}) or a dict by output name; got {value!r}."
            )
        return list(value)

    def _compile_outputs(
        self, loss: Any, metrics: Any, loss_weights: Any, weighted_metrics: Any = None
    ) -> None:
        names = self.output_names
        # An output whose loss is None is not trained on (Keras' loss=[None, "mse"]).
        self.loss = [
            None if x is None else losses.get(x)
            for x in self._per_output(loss, "loss", lambda v: not isinstance(v, (list, dict)))
        ]
        if all(x is None for x in self.loss):
            raise ValueError(f"compile: every output's loss is None; give one a loss: {names}.")
        weights = self._per_output(
            1.0 if loss_weights is None else loss_weights,
            "loss_weights",
            lambda v: isinstance(v, (int, float)),
        )
        self.loss_weights = [float(w) for w in weights]
        # Each output's loss is logged where there are two or more, as in Keras.
        trained = [i for i, x in enumerate(self.loss) if x is not None]
        trained = trained if len(trained) > 1 else []
        self._compiled_metrics = [metrics_module.OutputLoss(f"{names[i]}_loss") for i in trained]
        self._metric_heads = list(trained)
        self._head_metrics(metrics, "metrics", [set() for _ in names])
        plain = [
            {
                m.name
                for m, h in zip(self._compiled_metrics, self._metric_heads, strict=True)
                if h == i
            }
            for i in range(len(names))
        ]
        self._head_metrics(weighted_metrics, "weighted_metrics", plain)

    def _head_metrics(self, listed: Any, what: str, taken: list[set[str]]) -> None:
        """Add the metrics of each output (from compile's ``metrics``, or ``weighted_metrics``
        given ``taken``, the names already used at each output)."""
        names = self.output_names
        listed = listed or []
        flat = isinstance(listed, (list, tuple)) and not any(
            isinstance(m, (list, tuple)) for m in listed
        )
        per_output = (
            [list(listed)] * len(names)
            if flat
            else [
                list(m) if isinstance(m, (list, tuple)) else [m]
                for m in self._per_output(listed, what, lambda v: False)
            ]
        )
        for i, (name, wanted, head_loss) in enumerate(
            zip(names, per_output, self.loss, strict=True)
        ):
            for spec in wanted:
                # A copy per output: each takes its output's name.
                metric = copy.deepcopy(metrics_module.get(spec, head_loss))
                metric.reset_state()
                if what == "weighted_metrics":
                    _weighted(metric, {n.removeprefix(f"{name}_") for n in taken[i]})
                if head_loss is not None:
                    metric.check(head_loss)
                metric.name = f"{name}_{metric.name}"
                self._compiled_metrics.append(metric)
                self._metric_heads.append(i)

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"Model '{self.name}' must be compiled before training or evaluating."
            )

    def _fuses_activation(self) -> bool:
        """Whether the loss takes over the output layer's activation (softmax for the
        categorical cross-entropies, sigmoid for binary cross-entropy) and gets the logits."""
        if self._subclassed or self._output_count > 1:
            return False  # a subclassed model's last layer need not be its output
        return self._fusable(self._output_layer(), self.loss)

    def _output_layer(self) -> Any:
        """The layer that gives the model's output (in Keras' order of the layers a shared
        one comes where its first call does, not necessarily last)."""
        outputs = getattr(self, "_graph_outputs", None)
        if outputs and getattr(outputs[0], "layer", None) is not None:
            return outputs[0].layer
        return self._operations[-1] if self._operations else None

    @staticmethod
    def _fusable(layer: Any, loss: Any) -> bool:
        fused = getattr(loss, "fused_activation", None)
        return (
            fused is not None
            and getattr(layer, "activity_regularizer", None) is None  # it reads the output
            and not loss.from_logits
            and isinstance(layer, (_Activated, Activation))
            and layer.activation_name == fused
            # its transform computes channels-last; its call moves them back
            and getattr(layer, "data_format", "channels_last") == "channels_last"
        )

    def _fused_outputs(self) -> frozenset[int]:
        """The outputs of a model with several whose activation their loss takes over: each
        made by an activated layer whose output nothing else reads."""
        read = {s for _, sources in self._nodes() for s in sources}
        return frozenset(
            i
            for i, (tensor, slot) in enumerate(
                zip(self._graph_outputs, self._output_slots, strict=True)
            )
            if slot not in read
            and self.loss[i] is not None
            and self._fusable(tensor.layer, self.loss[i])
        )

    def _loss_and_outputs(
        self, x: Any, y: Any, training: bool, sample_weight: Any = None
    ) -> tuple[Tensor, Any]:
        """The loss Tensor and the raw outputs the metrics read; y (and the sample weights)
        have been checked by _prepare."""
        self._metric_masks = [None] * self._output_count  # none unless a pass finds some
        weights = {"sample_weight": sample_weight} if sample_weight is not None else {}
        if self.loss is None or (y is None and self._default_loss):
            # Compiled without a loss (or given no targets and no loss): the model's losses.
            out = self._forward(self._tensors(x), training)
            if self._output_count > 1:
                return self._penalized(None), ([o.data for o in out], [])
            return self._penalized(None), out.data
        if self._output_count > 1:
            return self._losses_and_outputs(x, y, training, weights)
        masks: list[Any] = []
        if self._fuses_activation():
            # The activation and the loss in one stable step on the logits.
            logits = self._forward(
                self._tensors(x), training, logits=frozenset({0}), output_masks=masks
            )
            weights = self._masked(weights, masks[0] if masks else None, logits.shape, y, self.loss)
            self._metric_masks = masks[:1] or [None]  # the metrics weight its positions too

            loss = self.loss.on_logits(y, logits, checked=True, **weights)
            loss = self._penalized(self._weighted_loss(loss))
            if all(metric.ranks_only for metric in self._compiled_metrics):
                return loss, logits.data  # argmax and top-k read logits as well
            return loss, self._output_layer().activation(Tensor(logits.data)).data
        out = self._forward(self._tensors(x), training, output_masks=masks)
        weights = self._masked(weights, masks[0] if masks else None, out.shape, y, self.loss)
        self._metric_masks = masks[:1] or [None]
        loss = self._weighted_loss(self.loss(y, out, checked=True, **weights))
        return self._penalized(loss), out.data

    def _weighted_loss(self, loss: Tensor) -> Tensor:
        """One output's loss times its ``loss_weights`` entry (where it is not 1)."""
        weight = self._one_loss_weight
        return loss if weight == 1.0 else loss * weight

    def _masked(
        self,
        weights: dict[str, Any],
        mask: Any,
        output_shape: tuple[int, ...],
        y: Any,
        loss: Any,
    ) -> dict[str, Any]:
        """The loss's weights with the output's padding mask, as Keras applies it: a
        position's weight is its sample's times mask * positions / kept positions, so the
        loss is the mean over the kept positions. A built-in loss reads it when the mask is
        one per position of outputs (batch, *positions, features): the cross-entropies on
        (batch, steps, classes), the losses on values (mean squared error, ...) on (batch,
        steps, features)."""
        if (
            mask is None
            or not getattr(loss, "weights_positions", False)
            or tuple(mask.shape) != tuple(output_shape[:-1])
        ):
            return weights
        xp = backend.get_array_module(mask)
        valid = loss.valid_positions(y, output_shape)
        if valid is not None:  # Keras joins the loss's own mask (ignore_class) to the padding
            mask = mask & valid
        keep = mask.reshape(len(mask), -1).astype(np.float32)
        keep = keep * (keep.size / (keep.sum() + np.float32(1e-7)))
        if "sample_weight" in weights:
            keep = keep * position_weights(xp.asarray(weights["sample_weight"]), keep)
        return {"sample_weight": keep}

    @staticmethod
    def _tensors(x: Any) -> Any:
        return [Tensor(a) for a in x] if isinstance(x, tuple) else Tensor(x)

    def _losses_and_outputs(
        self, x: Any, y: Any, training: bool, weights: dict[str, Any]
    ) -> tuple[Tensor, Any]:
        """For several outputs: the weighted sum of their losses (and the penalties), and,
        for the metrics, each output's values and loss."""
        fused = self._fused_outputs()
        masks: list[Any] = []
        outs = self._forward(self._tensors(x), training, logits=fused, output_masks=masks)
        total: Any = None
        values, losses_of = [], []
        for i, (out, target, loss, weight) in enumerate(
            zip(outs, y, self.loss, self.loss_weights, strict=True)
        ):
            if loss is None:  # an output not trained on: its values, for its metrics
                values.append(out.data)
                losses_of.append(None)
                continue
            # Each output's padding mask weights its loss, as Keras' per output.
            own = self._masked(weights, masks[i] if masks else None, out.shape, target, loss)
            if i in fused:
                part = loss.on_logits(target, out, checked=True, **own)
                heads = [
                    m
                    for m, h in zip(self._compiled_metrics, self._metric_heads, strict=True)
                    if h == i
                ]
                layer = self._graph_outputs[i].layer
                if all(m.ranks_only or isinstance(m, metrics_module.OutputLoss) for m in heads):
                    values.append(out.data)
                else:
                    values.append(layer.activation(Tensor(out.data)).data)
            else:
                part = loss(target, out, checked=True, **own)
                values.append(out.data)
            losses_of.append(part.data)
            term = part if weight == 1.0 else part * weight
            total = term if total is None else total + term
        self._metric_masks = masks or [None] * self._output_count
        return self._penalized(total), (values, losses_of)


def _one_output_weight(loss_weights: Any) -> float:
    """The weight of a one-output model's loss: Keras takes a number, or a list (or dict) of
    one."""
    weights = list(loss_weights.values()) if isinstance(loss_weights, dict) else loss_weights
    if isinstance(weights, (list, tuple)):
        if len(weights) != 1:
            raise ValueError(
                f"loss_weights: the model has one output, so one weight; got {loss_weights!r}."
            )
        weights = weights[0]
    weight = 1.0 if weights is None else weights
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ValueError(f"loss_weights must be numbers; got {loss_weights!r}.")
    return float(weight)
