"""``Model`` (functional) and ``Sequential``: build, summary, compile, the forward pass,
weights, save; fit, evaluate and predict come from ``training.Trainer``."""

from __future__ import annotations

import copy
import inspect
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import backend, functional, losses, optimizers
from . import metrics as metrics_module
from .autograd import Tensor, no_grad
from .callbacks import (
    History,
)
from .graph_step import CapturedTrainStep
from .layer_base import is_symbolic
from .layers import LAYER_CLASSES, Activation, Input, Layer, _Activated
from .summary import print_summary
from .training import Trainer, TrainingDivergedError  # noqa: F401 - re-exported


def _weighted(metric: Any, taken: set[str]) -> Any:
    """``metric`` as one of compile's weighted metrics: it reads the sample weights, and is
    called ``weighted_<name>`` when an unweighted metric has its name (Keras 3's rule)."""
    metric.weighted = True
    if metric.name in taken:
        metric.name = f"weighted_{metric.name}"
    return metric


class Model(Layer, Trainer):
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
        if inputs is None and outputs is None and type(self).call is not Model.call:
            # Keras' (and PyTorch's) subclassing: the layers are what __init__ assigns to the
            # model, and call() is the forward pass, run as it is written.
            self._setup(name, device)
            self._subclassed = True
            return
        if inputs is None or outputs is None:
            raise TypeError(
                "Model(inputs, outputs) builds a functional model from an Input and the "
                "output of layers called on it; for a stack of layers use Sequential, or "
                "subclass Model with layers assigned in __init__ and a call(x, training)."
            )
        self._setup(name, device)
        self.layers, self._graph, self._output_slots = functional.trace(inputs, outputs)
        self._graph_inputs = functional.as_list(inputs, "inputs")
        self._graph_outputs = functional.as_list(outputs, "outputs")
        shapes = [t.shape for t in self._graph_inputs]
        self.input_shape = shapes[0] if len(shapes) == 1 else shapes
        # As a layer of another model, one of several inputs takes a list of them.
        self.takes_list = len(shapes) > 1
        self.to(self.device)

    def _setup(self, name: str | None, device: str | None) -> None:
        self._subclassed = False
        self._graph: list[functional.Node] = []
        self.device = backend.resolve_device(device)
        self.name = name or backend.unique_name(self._default_name)
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: Any = None
        self._compiled_metrics: list[metrics_module.Metric] = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.compiled = False
        self.jit_compile = False
        self._captured_step: CapturedTrainStep | None = None
        self.history: History | None = None
        self.stop_training = False  # a callback sets it to end fit after the current step
        self._graph_inputs: list[Input] = []
        self._graph_outputs: list[Any] = []
        self._output_slots: list[int] = []
        self.loss_weights: list[float] | None = None
        self._metric_heads: list[int] = []  # which output each metric reads (several outputs)
        self._compile_specs: dict[str, Any] | None = None

    def _require_graph(self) -> None:
        if not self._graph_inputs:
            raise ValueError(f"Model '{self.name}' has no input yet: give it an Input shape.")

    @property
    def input(self) -> Any:
        """The model's symbolic input (Keras' ``model.input``; a list for several)."""
        self._require_graph()
        return self._graph_inputs[0] if len(self._graph_inputs) == 1 else self._graph_inputs

    @property
    def output(self) -> Any:
        """The model's symbolic output (Keras' ``model.output``; a list for several)."""
        self._require_graph()
        return self._graph_outputs[0] if len(self._graph_outputs) == 1 else self._graph_outputs

    @property
    def inputs(self) -> list[Input]:
        self._require_graph()
        return list(self._graph_inputs)

    @property
    def outputs(self) -> list[Any]:
        self._require_graph()
        return list(self._graph_outputs)

    @property
    def _input_count(self) -> int:
        return max(1, len(self._graph_inputs)) if not self._subclassed else 1

    @property
    def _output_count(self) -> int:
        return max(1, len(self._output_slots)) if not self._subclassed else 1

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that make the outputs (Keras' ``output_names``): the
        prefixes of a model with several outputs' log keys."""
        return [t.layer.name for t in self._graph_outputs]

    def __setattr__(self, name: str, value: Any) -> None:
        """A subclassed model tracks the layers its code assigns (one, or a list of them), in
        the order of assignment, as Keras does: they are its layers and hold its weights."""
        if getattr(self, "_subclassed", False) and not name.startswith("_") and name != "layers":
            found = value if isinstance(value, (list, tuple)) else [value]
            for layer in found:
                if isinstance(layer, Layer) and all(layer is not k for k in self.layers):
                    layer.to(self.device)
                    self.layers.append(layer)
        super().__setattr__(name, value)

    @property
    def serializable(self) -> bool:
        """Whether ``get_config`` rebuilds the model: not a subclassed one, nor one with a
        Lambda layer (their architecture is Python code)."""
        return not self._subclassed and all(layer.serializable for layer in self.layers)

    def _require_config(self, what: str) -> None:
        if self._subclassed:
            raise TypeError(
                f"{what}: Model '{self.name}' is a subclassed model, whose architecture is its "
                "Python code, which a file cannot hold. Save its weights with save_weights and "
                "load them into a new instance with load_weights."
            )
        for layer in self.layers:
            if not layer.serializable:
                raise TypeError(
                    f"{what}: {layer.describe()} runs Python code, which a file cannot hold. "
                    "Save the weights with save_weights, and build the model in code again "
                    "to load them with load_weights."
                )

    def _run_call(self, x: Tensor, training: bool) -> Tensor:
        """A subclassed model's call(), given ``training`` when it takes it."""
        if "training" in inspect.signature(self.call).parameters:
            return self.call(x, training=training)
        return self.call(x)

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
        model_inputs, outputs = functional.rebuild(config, layer_class)
        inputs = model_inputs[0] if len(model_inputs) == 1 else model_inputs
        return Model(
            inputs, outputs[0] if len(outputs) == 1 else outputs, name=config["name"], device=device
        )

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
        """The graph: each layer with the slots of its inputs (see ``functional.Node``); a
        subclassed model's layers are listed as a chain (its graph is its code)."""
        if self._subclassed:
            return [(layer, (i,)) for i, layer in enumerate(self.layers)]
        return self._graph

    def build(self, input_shape: tuple[int, ...]) -> None:
        """A functional model is built by its Input; this checks that samples fit it. A
        subclassed model is built by running call() once on a sample of zeros: each layer
        makes its weights when it is first called, as in Keras."""
        if self._subclassed:
            shape = tuple(int(d) for d in input_shape)
            probe = Tensor(backend.to_device(np.zeros((1, *shape), backend.FLOAT), self.device))
            self.input_shape = shape
            with no_grad():
                self._subclass_output_shape = tuple(self._forward(probe, False).shape[1:])
            return
        if self._input_count > 1:
            shapes = [tuple(int(d) for d in shape) for shape in input_shape]
            if shapes != self.input_shape:
                raise ValueError(
                    f"Model '{self.name}' takes samples of shapes {self.input_shape}, got {shapes}."
                )
            return
        if tuple(int(d) for d in input_shape) != self.input_shape:
            raise ValueError(
                f"Model '{self.name}' takes samples of shape {self.input_shape}, got "
                f"{tuple(input_shape)}."
            )

    @property
    def built(self) -> bool:
        if self._subclassed:  # a layer that call() never uses stays unbuilt, as in Keras
            return self.input_shape is not None
        return self.input_shape is not None and all(layer.built for layer in self.layers)

    @property
    def output_shape(self) -> tuple[int, ...]:
        self._require_built()
        if self._subclassed:
            return self._subclass_output_shape
        if self._output_count > 1:
            return [t.shape for t in self._graph_outputs]
        if self._graph_outputs:
            return self._graph_outputs[0].shape
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

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Callable[[str], Any] | None = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Keras' table of layers, output shapes and parameter counts; ``show_trainable``
        adds Keras' Trainable column (Y, N, or - for a layer without weights). The columns
        are sized to their contents: ``line_length`` and ``positions`` are taken and
        ignored; ``expand_nested`` and ``layer_range`` are not available."""
        if expand_nested or layer_range is not None:
            raise ValueError("summary: expand_nested and layer_range are not available.")
        self._require_built()
        print_summary(self, print_fn, show_trainable)

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
        loss: Any = "sparse_categorical_crossentropy",
        metrics: Any = None,
        jit_compile: bool | str = False,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
    ) -> None:
        """Keras' compile. ``weighted_metrics`` are metrics that weight each sample by fit's
        and evaluate's ``sample_weight`` (or ``class_weight``), as in Keras; one with the name
        of an unweighted metric is logged as ``weighted_<name>``. ``jit_compile=True``
        captures fit's training step in a CUDA graph on a GPU and replays it
        (``minicnn.graph_step``): the same results, with the host's per-launch cost paid
        once; on the CPU there is nothing to capture and it changes nothing. ``"auto"``
        means False here.

        For a model with several outputs, ``loss`` is one loss for every output, a list (one
        per output) or a dict by output name; ``loss_weights`` (a list or dict, 1 by
        default) weight them in the sum that is trained; ``metrics`` is a list for every
        output, a list of lists, or a dict by output name. The logs then hold the total
        ``loss``, each ``<output>_loss`` and each ``<output>_<metric>``, as in Keras."""
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
        self.jit_compile = jit_compile is True
        self._captured_step = None
        self.optimizer = optimizers.get(optimizer)
        if self._output_count > 1:
            self._compile_outputs(loss, metrics, loss_weights, weighted_metrics)
        else:
            if loss_weights is not None and loss_weights not in ([1], [1.0], 1, 1.0):
                raise ValueError("loss_weights weight the losses of a model with several outputs.")
            # loss=None: a train_step of the model's own computes the loss (as in Keras).
            self.loss = None if loss is None else losses.get(loss)
            self._compiled_metrics = [metrics_module.get(m, self.loss) for m in metrics or []]
            plain = {m.name for m in self._compiled_metrics}
            for spec in weighted_metrics or []:
                self._compiled_metrics.append(_weighted(metrics_module.get(spec, self.loss), plain))
            for metric in self._compiled_metrics:
                if self.loss is not None:
                    metric.check(self.loss)
            self.loss_weights, self._metric_heads, self._compile_specs = None, [], None
        names = [m.name for m in self._compiled_metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"Metric names must differ from each other and from 'loss': {names}.")
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.compiled = True

    # -- metrics, as Keras 3 shows them ----------------------------------------------------------
    @property
    def metrics(self) -> list[metrics_module.Metric]:
        """Keras 3's list: the loss tracker (a Mean called 'loss'), then the compiled metrics
        (for several outputs, each output's loss first). fit adds up its own totals; these
        objects keep state for a ``train_step`` of the user's, as in Keras."""
        return [self._loss_tracker, *self._compiled_metrics] if self.compiled else []

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self) -> dict[str, float]:
        """Each metric's ``result()`` by name, as floats."""
        return {m.name: float(m.result()) for m in self.metrics}

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
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self._output_count == 1:
            return self._penalized(self.loss(self._on_device(y), y_pred, **weights))
        total: Any = None
        for loss, weight, target, out in zip(self.loss, self.loss_weights, y, y_pred, strict=True):
            part = loss(self._on_device(target), out, **weights) * weight
            total = part if total is None else total + part
        return self._penalized(total)

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict[str, float]:
        """Keras 3's ``compute_metrics``: add the batch to every compiled metric (weighted
        ones take ``sample_weight``; for several outputs, each metric reads its output, and
        each output's loss is tracked), then ``get_metrics_result()``."""
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
                with no_grad():
                    metric.add(
                        self.loss[head](
                            target,
                            out,
                            **({} if sample_weight is None else {"sample_weight": sample_weight}),
                        ),
                        len(target),
                    )
            else:
                metric.update_state(target, out, sample_weight=weights)
        return self.get_metrics_result()

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
            if missing and what != "metrics":
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
        self.loss = [
            losses.get(x)
            for x in self._per_output(loss, "loss", lambda v: not isinstance(v, (list, dict)))
        ]
        weights = self._per_output(
            1.0 if loss_weights is None else loss_weights,
            "loss_weights",
            lambda v: isinstance(v, (int, float)),
        )
        self.loss_weights = [float(w) for w in weights]
        self._compiled_metrics = [metrics_module.OutputLoss(f"{name}_loss") for name in names]
        self._metric_heads = list(range(len(names)))
        specs = self._head_metrics(metrics, "metrics", [set() for _ in names])
        plain = [
            {
                m.name
                for m, h in zip(self._compiled_metrics, self._metric_heads, strict=True)
                if h == i
            }
            for i in range(len(names))
        ]
        weighted_specs = self._head_metrics(weighted_metrics, "weighted_metrics", plain)
        self._compile_specs = {
            "loss": [x.get_config() for x in self.loss],
            "loss_weights": self.loss_weights,
            "metrics": specs,
            "weighted_metrics": weighted_specs,
        }

    def _head_metrics(self, listed: Any, what: str, taken: list[set[str]] | None) -> list[Any]:
        """Add the metrics of each output (from compile's ``metrics`` or, with ``taken``,
        the names already used at each output, ``weighted_metrics``); their specs, per output,
        to save."""
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
        specs = []
        for i, (name, wanted, head_loss) in enumerate(
            zip(names, per_output, self.loss, strict=True)
        ):
            kept = []
            for spec in wanted:
                # A copy per output: each takes its output's name.
                metric = copy.deepcopy(metrics_module.get(spec, head_loss))
                metric.reset_state()
                if what == "weighted_metrics":
                    _weighted(metric, {n.removeprefix(f"{name}_") for n in taken[i]})
                kept.append(metrics_module.serialize(metric, head_loss))
                metric.check(head_loss)
                metric.name = f"{name}_{metric.name}"
                self._compiled_metrics.append(metric)
                self._metric_heads.append(i)
            specs.append(kept)
        return specs

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"Model '{self.name}' must be compiled before training or evaluating."
            )

    # -- forward -------------------------------------------------------------------------------
    def __call__(self, x: Any, training: bool = False) -> Any:
        """The model on a batch; an array goes to the model's device first (a Tensor as is).
        On a symbolic tensor, the model becomes a layer of the functional model being built."""
        if is_symbolic(x) and self._output_count > 1:
            raise TypeError(
                f"Model '{self.name}' has several outputs; such a model cannot be a layer of "
                "another one here (a layer gives one output)."
            )
        if self._input_count > 1:
            if is_symbolic(x):
                return self._connect(list(x))
            tensors = [
                t if isinstance(t, Tensor) else Tensor(backend.to_device(t, self.device)) for t in x
            ]
            return self._forward(tensors, training)
        if is_symbolic(x):
            return self._connect(x)
        out = x if isinstance(x, Tensor) else Tensor(backend.to_device(x, self.device))
        if not self.built:
            self.build(out.shape[1:])
        return self._forward(out, training)

    def _forward(self, x: Any, training: bool, logits: frozenset[int] = frozenset()) -> Any:
        """Run the graph on x (a list for several inputs): the output, or the list of them.
        The outputs whose positions are in ``logits`` come from their layer's ``transform``
        (the pre-activation values), for an activation fused into the loss."""
        if self._subclassed:
            return self._run_call(x, training)
        nodes = self._nodes()
        values: list[Any] = list(x) if isinstance(x, (list, tuple)) else [x]
        first = len(values)  # node k writes slot first + k
        outputs = self._output_slots or [first + len(nodes) - 1]
        fused = {outputs[i] for i in logits}
        last_use = {}
        for k, (_, sources) in enumerate(nodes):
            for s in sources:
                last_use[s] = k
        for k, (layer, sources) in enumerate(nodes):
            args = [values[s] for s in sources]
            arg = args if layer.takes_list else args[0]
            if first + k in fused:
                values.append(layer.transform(arg))
            else:
                values.append(layer(arg, training=training))
            for s in sources:
                if last_use[s] == k and s not in outputs:
                    values[s] = None  # free what no later layer reads
        results = [values[s] for s in outputs]
        return results[0] if len(results) == 1 else results

    def _fuses_activation(self) -> bool:
        """Whether the loss takes over the output layer's activation (softmax for the
        categorical cross-entropies, sigmoid for binary cross-entropy) and gets the logits."""
        if self._subclassed or self._output_count > 1:
            return False  # a subclassed model's last layer need not be its output
        last = self.layers[-1] if self.layers else None
        return self._fusable(last, self.loss)

    @staticmethod
    def _fusable(layer: Any, loss: Any) -> bool:
        fused = getattr(loss, "fused_activation", None)
        return (
            fused is not None
            and not loss.from_logits
            and isinstance(layer, (_Activated, Activation))
            and layer.activation_name == fused
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
            if slot not in read and self._fusable(tensor.layer, self.loss[i])
        )

    def _loss_and_outputs(
        self, x: Any, y: Any, training: bool, sample_weight: Any = None
    ) -> tuple[Tensor, Any]:
        """The loss Tensor and the raw outputs the metrics read; y (and the sample weights)
        have been checked by _prepare."""
        weights = {"sample_weight": sample_weight} if sample_weight is not None else {}
        if self._output_count > 1:
            return self._losses_and_outputs(x, y, training, weights)
        if self._fuses_activation():
            # The activation and the loss in one stable step on the logits.
            logits = self._forward(self._tensors(x), training, logits=frozenset({0}))
            loss = self._penalized(self.loss.on_logits(y, logits, checked=True, **weights))
            if all(metric.ranks_only for metric in self._compiled_metrics):
                return loss, logits.data  # argmax and top-k read logits as well
            return loss, self.layers[-1].activation(Tensor(logits.data)).data
        out = self._forward(self._tensors(x), training)
        return self._penalized(self.loss(y, out, checked=True, **weights)), out.data

    @staticmethod
    def _tensors(x: Any) -> Any:
        return [Tensor(a) for a in x] if isinstance(x, tuple) else Tensor(x)

    def _losses_and_outputs(
        self, x: Any, y: Any, training: bool, weights: dict[str, Any]
    ) -> tuple[Tensor, Any]:
        """For several outputs: the weighted sum of their losses (and the penalties), and,
        for the metrics, each output's values and loss."""
        fused = self._fused_outputs()
        outs = self._forward(self._tensors(x), training, logits=fused)
        total: Any = None
        values, losses_of = [], []
        for i, (out, target, loss, weight) in enumerate(
            zip(outs, y, self.loss, self.loss_weights, strict=True)
        ):
            if i in fused:
                part = loss.on_logits(target, out, checked=True, **weights)
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
                part = loss(target, out, checked=True, **weights)
                values.append(out.data)
            losses_of.append(part.data)
            term = part if weight == 1.0 else part * weight
            total = term if total is None else total + term
        return self._penalized(total), (values, losses_of)

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
    def get_config(self) -> dict[str, Any]:
        if self._subclassed:
            # What weight files and checkpoints check against; the architecture is the code.
            return {
                "name": self.name,
                "class_name": type(self).__name__,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [
                    {"class_name": type(layer).__name__, "config": layer.get_config()}
                    for layer in self.layers
                ],
            }
        return functional.graph_config(self.name, self._nodes(), self._output_slots)

    def to_json(self) -> str:
        """The architecture as JSON, as Keras' ``to_json`` (no weights); ``model_from_json``
        builds it again."""
        self._require_config("to_json")
        return json.dumps({"class_name": self.keras_class_name, "config": self.get_config()})

    def save(self, path: str) -> None:
        """Architecture, weights and compile settings in one .npz file; see ``minicnn.saving``."""
        self._require_config("save")
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
            self._graph_inputs, self._graph_outputs = [layer], [layer]
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer or Input, got {type(layer).__name__}.")
        layer.to(self.device)
        if not self.layers and self.input_shape is None and layer.input_shape_hint is not None:
            self.input_shape = layer.input_shape_hint
        self.layers.append(layer)
        if self.input_shape is not None:
            shape = self.layers[-2].output_shape if len(self.layers) > 1 else self.input_shape
            if not layer.built or layer.input_shape != tuple(shape):
                layer.build(shape)  # a layer built for this shape keeps its weights, as in Keras
            self._graph_outputs = [layer._connect(self._linked_output(len(self.layers) - 1))]

    def _linked_output(self, count: int) -> Any:
        """The symbolic output after the first ``count`` layers; the graph is made anew from
        the input when it is missing (built later, or layers popped)."""
        if not self._graph_inputs or self._graph_inputs[0].shape != self.input_shape:
            self._graph_inputs = [Input(self.input_shape)]
        x: Any = self._graph_inputs[0]
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
            self._graph_outputs = [self._linked_output(len(self.layers))]
        return layer

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create every layer's weights for samples of ``input_shape`` (batch left out)."""
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for layer in self.layers:
            if not layer.built or layer.input_shape != shape:
                layer.build(shape)
            shape = layer.output_shape
        self._graph_outputs = [self._linked_output(len(self.layers))]

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
    model._require_config("clone_model")
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
