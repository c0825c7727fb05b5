"""tf.keras' functional ``add_loss`` and ``add_metric``: on a functional model being built,
``model.add_loss(kl)`` and ``model.add_metric(kl, name="kl")`` take symbolic tensors computed
from the model's inputs (most often one value of the whole batch, ``ops.mean`` of its
layers' outputs); they join the model's graph, and every forward pass computes them. An
added loss goes into the loss that fit trains and evaluate reports (its sum, as Keras 3
sums an added loss), also with ``compile(loss=None)`` and ``fit(x)`` alone; an added
metric is logged by its name (the mean of its batches' means, as tf.keras' ``Mean``)."""

from __future__ import annotations

import inspect
from typing import Any

from . import functional
from .autograd import Tensor
from .layer_base import Layer, SymbolicTensor
from .metric_base import OutputLoss


class GraphLosses:
    """The functional model's side of ``add_loss`` and ``add_metric`` (a mixin of Model)."""

    _added_losses: list[SymbolicTensor]
    _added_metrics: list[tuple[SymbolicTensor, str]]
    _added_slots: list[int]

    def add_loss(self, loss: Any) -> None:
        """Keras' ``add_loss``. In a subclassed model's ``call``: a Tensor of this pass, as
        a layer's. On a functional model: a symbolic tensor (or a list of them) computed
        from its inputs, which every pass adds to the loss, as tf.keras' functional
        ``model.add_loss(kl_loss)``."""
        items = list(loss) if isinstance(loss, (list, tuple)) else [loss]
        if not any(isinstance(t, SymbolicTensor) for t in items):
            Layer.add_loss(self, loss)  # type: ignore[arg-type]
            return
        self._check_added(items, "add_loss")
        self._added_losses = [*self._added_losses, *items]
        self._retrace("add_loss")

    def add_metric(self, value: Any, name: str | None = None, aggregation: str = "mean") -> None:
        """tf.keras' functional ``add_metric``: a symbolic tensor computed from the model's
        inputs, logged under ``name`` (its layer's name by default) by fit and evaluate as
        the mean of its value over the batches (a value of several numbers: their mean)."""
        if aggregation not in ("mean", None):
            raise ValueError(
                f"add_metric: aggregation must be 'mean' (the mean over the batches); got "
                f"{aggregation!r}."
            )
        self._check_added([value], "add_metric")
        name = name or value.layer.name
        if not isinstance(name, str) or not name:
            raise ValueError(f"add_metric: name must be a non-empty string; got {name!r}.")
        taken = ["loss", *(n for _, n in self._added_metrics)]
        taken += [m.name for m in getattr(self, "_compiled_metrics", [])]
        if name in taken:
            raise ValueError(
                f"add_metric: the model logs {name!r} already; give the metric another name."
            )
        self._added_metrics = [*self._added_metrics, (value, name)]
        self._added_trackers = [*self._added_trackers, OutputLoss(name)]
        self._retrace("add_metric")

    def _check_added(self, items: list[Any], method: str) -> None:
        if self._subclassed or not self._traced_inputs:
            raise ValueError(
                f"Model '{self.name}': {method} of a symbolic tensor is for a functional model "
                "(Model(inputs, outputs)); a subclassed model calls self.add_loss on the "
                "tensors of its call."
            )
        for t in items:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(
                    f"{method} takes symbolic tensors computed from the model's inputs here; "
                    f"got {t!r}."
                )

    def _retrace(self, method: str) -> None:
        """The graph again, with the added losses and metrics as outputs of its own."""
        added = [*self._added_losses, *(t for t, _ in self._added_metrics)]
        try:
            traced = functional.trace(self._traced_inputs, [*self._graph_outputs, *added])
        except ValueError as error:
            raise ValueError(
                f"Model '{self.name}': {method} takes tensors computed from the model's inputs "
                f"alone. {error}"
            ) from None
        _, self._graph, slots, self._graph_inputs = traced[:4]
        self._operations = functional.keras_layer_order(self._graph, slots)  # Keras' order
        self._fixed_training, self._call_arguments = traced[4], traced[5]
        self._node_calls = traced[6]
        count = len(self._graph_outputs)
        self._output_slots, self._added_slots = slots[:count], slots[count:]
        self._captured_step = None
        self.to(self.device)

    def _add_graph_values(self, values: list[Any], rows: int) -> None:
        """After a pass on ``rows`` samples: the added losses (each summed) into this pass's
        losses, and the added metrics' values (each a mean, and the batch's size)."""
        if not self._added_slots:
            return
        count = len(self._added_losses)
        for slot in self._added_slots[:count]:
            loss = values[slot]
            self._call_losses.append(loss if loss.data.size == 1 else loss.sum())
        self._metric_means = [_mean(values[s]) for s in self._added_slots[count:]]
        self._metric_rows = rows

    def _added_metric_totals(self) -> list[Any]:
        """The added metrics' values of the last pass times its batch size, as fit's totals
        add up the loss."""
        return [mean * self._metric_rows for mean in self._metric_means]

    def _track_added_metrics(self) -> None:
        """The last pass's added metrics into their trackers (for a train_step of the
        user's, which reads ``model.metrics``)."""
        for tracker, mean in zip(self._added_trackers, self._metric_means, strict=True):
            tracker.add(mean, self._metric_rows)

    @property
    def _adds_losses(self) -> bool:
        """Whether the model has losses of its own: model.add_loss's, or a call of the
        user's (the model's, or a layer's in it) that calls add_loss, whose loss compile's
        ``compile(optimizer)`` trains on, as Keras' does."""
        return bool(self._added_losses) or _code_adds_losses(self, set())

    def _added_config(self, refs: list[str]) -> dict[str, Any]:
        """The config entries of the added losses and metrics, by the refs of their slots."""
        config: dict[str, Any] = {}
        count = len(self._added_losses)
        if count:
            config["added_losses"] = refs[:count]
        if self._added_metrics:
            config["added_metrics"] = [
                [ref, name]
                for ref, (_, name) in zip(refs[count:], self._added_metrics, strict=True)
            ]
        return config


def _mean(value: Any) -> Any:
    """A metric value of the batch: the mean of its numbers, as a device array."""
    data = value.data if isinstance(value, Tensor) else value
    return data.astype("float32").mean()


def _code_adds_losses(layer: Any, seen: set[int]) -> bool:
    """Whether ``layer``'s call, written by a user, calls ``add_loss``, or a layer's inside
    it does (the layers of a model, and those a layer keeps as attributes)."""
    if id(layer) in seen:
        return False
    seen.add(id(layer))
    call = getattr(type(layer), "call", None)
    code = getattr(inspect.unwrap(call), "__code__", None) if call is not None else None
    own = type(layer).__module__.startswith("minicnn.")
    if not own and code is not None and "add_loss" in code.co_names:
        return True
    inner = list(getattr(layer, "_operations", [])) + list(layer._inner_layers())
    return any(_code_adds_losses(sub, seen) for sub in inner)
