"""What every metric shares: a per-batch total on the model's device, and a value made from
the totals of many batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor

# The position weights (batch, *positions) of an output's padding mask (times the sample
# weights) while a metric scores a batch of it: Keras' mean metrics weight each position.
_position_weights: list[Any] = []


@contextlib.contextmanager
def weighting_positions(weights: Any) -> Iterator[None]:
    """Within it, ``per_sample_mean`` weights each position by ``weights`` (batch,
    *positions): a metric's per-sample score becomes the mean over its kept positions."""
    _position_weights.append(weights)
    try:
        yield
    finally:
        _position_weights.pop()


def per_sample_mean(values: Any) -> Any:
    """Each sample's mean value: shape (n,); the weighted mean over the positions that
    ``weighting_positions`` weights (each position's values averaged first; 0 for a sample
    with none kept)."""
    weights = _position_weights[-1] if _position_weights else None
    if weights is None or tuple(values.shape[: weights.ndim]) != tuple(weights.shape):
        return values.reshape(values.shape[0], -1).mean(axis=1)
    n = values.shape[0]
    at_positions = values.reshape(*weights.shape, -1).mean(axis=-1).reshape(n, -1)
    flat = weights.reshape(n, -1).astype(values.dtype, copy=False)
    kept = flat.sum(axis=1)
    xp = backend.get_array_module(values)
    return (at_positions * flat).sum(axis=1) / xp.maximum(kept, values.dtype.type(1e-30))


def position_weights(weights: Any, like: Any) -> Any:
    """Sample weights to multiply ``like`` (batch, *positions) with: one per sample spread
    over its positions, or one per position (Keras' temporal weights), checked."""
    if weights.ndim == 1:
        return weights.reshape(-1, *(1,) * (like.ndim - 1))
    if weights.size != like.size:
        raise ValueError(
            f"sample_weight has shape {tuple(weights.shape)}; weights per position must "
            f"match the output's positions, {tuple(like.shape)}."
        )
    return weights.reshape(like.shape)


def weighs_positions(metric: Any, mask: Any, outputs: Any) -> bool:
    """Whether an output's padding mask weights this metric's positions: a mean metric (as
    Keras' mean wrappers, not the confusion counts) on outputs (batch, *positions, ...)."""
    return (
        mask is not None
        and metric.weighs_padding
        and metric.divides_by_seen
        and mask.ndim < outputs.ndim
        and tuple(outputs.shape[: mask.ndim]) == tuple(mask.shape)
    )


def position_weighted_total(
    metric: Any, outputs: Any, y: Any, loss: Any, weights: Any, mask: Any
) -> tuple[Any, Any] | None:
    """A mean metric's batch total and weights' sum where the output's padding ``mask``
    (batch, *positions), or sample ``weights`` per position (Keras' temporal weights),
    weight its positions, as Keras' mean metrics weight them: the value is the mean over
    the kept positions. None where nothing weights them."""
    xp = backend.get_array_module(outputs)
    if weights is not None and weights.ndim > 1 and mask is None:
        mask = xp.ones(weights.shape, bool)
    if not weighs_positions(metric, mask, outputs):
        return None
    kept = mask.astype(outputs.dtype)
    valid = metric.position_validity(outputs, y)
    if valid is not None:
        kept = kept * valid.astype(outputs.dtype)
    if weights is not None:
        kept = kept * position_weights(weights, kept).astype(outputs.dtype)
    # Each sample's weight is its mean kept weight (Keras' count); its score the mean of its
    # kept positions, so the total is the positions' weighted sum over their count.
    per_sample = kept.reshape(len(kept), -1).mean(axis=1)
    with weighting_positions(kept):
        total = metric.total(outputs, y, loss, per_sample)
    return total, per_sample.sum().astype(total.dtype)


def along_samples(weights: Any, like: Any, sample_axis: int = 0) -> Any:
    """Per-sample weights shaped to broadcast against ``like`` along ``sample_axis``."""
    shape = [1] * like.ndim
    shape[sample_axis] = -1
    return weights.reshape(shape)


class Metric:
    """A metric in Keras' two roles. In ``compile``, fit hands each batch to ``total`` (the
    batch's sum of per-sample ``scores``, or its counts) and turns the totals summed over
    batches into the logged number with ``value``. Standalone, as in Keras, ``update_state``
    adds a batch to the metric's own totals, ``result()`` reads them and ``reset_state``
    clears them; calling the metric does the first two."""

    default_name = ""
    is_metric = True  # (what a layer that keeps one as an attribute tracks)
    # Which way it improves, as Keras' ``_direction`` ("up", "down"; None: unknown): what
    # the 'auto' mode of EarlyStopping, ModelCheckpoint and ReduceLROnPlateau reads.
    _direction: str | None = None
    # Whether the score depends only on the order of the class scores; then logits serve as
    # well as probabilities, and a fused softmax needs no extra pass.
    ranks_only = False
    needs_classes = False
    # The loss whose targets this metric reads when it stands alone (None: targets of the
    # predictions' shape, as the value losses take).
    target_loss: Any = None
    # One of compile's weighted_metrics: it weights each sample by the sample weights.
    weighted = False
    # Whether the value is the total over the (weighted) count of samples; counts of true and
    # false positives make their value without it.
    divides_by_seen = True
    # Whether an output's padding mask weights its positions (Keras' mean wrappers: the
    # accuracies, cross-entropies and errors; not RootMeanSquaredError, a plain Mean there).
    weighs_padding = True
    # Whether a model's last batch weighted its positions by the output's padding mask (its
    # totals then hold the weights' sum too, as a weighted metric's do).
    position_weighted = False

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self.name = name or self.default_name or backend.snake_case(type(self).__name__)
        if dtype is not None and np.dtype(dtype) != np.dtype(backend.FLOAT):
            raise ValueError(f"Metric '{self.name}': metrics compute in float32; got {dtype}.")
        self.dtype = "float32"
        self._variables: list[MetricVariable] = []
        # The base's reset, not an override: a subclass's reset_state may read state that
        # its __init__ makes only after this.
        Metric.reset_state(self)

    @property
    def keeps_own_state(self) -> bool:
        """Whether this is a Keras-style subclass that writes ``update_state`` and
        ``result`` (rather than ``scores`` or ``total``): fit then hands it each batch as
        Tensors and reads its ``result()``."""
        cls = type(self)
        return (
            cls.update_state is not Metric.update_state
            and cls.scores is Metric.scores
            and cls.total is Metric.total
        )

    def add_variable(
        self,
        shape: tuple[int, ...] = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        name: str | None = None,
    ) -> MetricVariable:
        """A state variable, as Keras' ``Metric.add_variable``: ``assign``, ``assign_add``
        and ``assign_sub`` change it; ``reset_state`` sets it to zeros again."""
        if callable(initializer):
            values = np.asarray(initializer(tuple(shape)), dtype=dtype or backend.FLOAT)
        elif initializer in ("zeros", "ones"):
            values = (np.zeros if initializer == "zeros" else np.ones)(
                shape, dtype or backend.FLOAT
            )
        else:
            raise ValueError(
                f"Metric '{self.name}': add_variable takes initializer 'zeros', 'ones' or a "
                f"function of the shape; got {initializer!r}."
            )
        variable = MetricVariable(values, name=name)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list[MetricVariable]:
        return list(self._variables)

    def scores(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        """The score of each sample, shape (n,)."""
        raise NotImplementedError

    def position_validity(self, outputs: Any, y_true: Any) -> Any:
        """Which positions (batch, *positions) count where a padding mask weights them (a
        loss's ignore_class keeps out its positions, as Keras' mask of the values does);
        None: all."""
        return None

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        """The batch's sum of scores, each times its sample's weight when ``weights`` is
        given."""
        scores = self.scores(outputs, y_true, loss)
        return scores.sum() if weights is None else (scores * weights).sum()

    def check(self, loss: Any) -> None:
        """Refuse a loss whose targets this metric cannot read."""
        if self.needs_classes and not getattr(loss, "classification", False):
            raise ValueError(
                f"Metric '{self.name}' compares classes; it needs a categorical cross-entropy "
                f"loss, not {loss.name}."
            )

    def value(self, total: Any, seen: float) -> Any:
        """The metric's value from its totals summed over ``seen`` samples (their weights,
        when weighted)."""
        return float(total) / seen if seen else 0.0

    # --- Keras' standalone use --------------------------------------------------------------

    def reset_state(self) -> None:
        """Forget every batch seen so far (and set the state variables to zeros)."""
        self._total: Any = None
        self._seen: Any = 0.0
        for variable in getattr(self, "_variables", []):
            variable.assign(0)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch: targets, predictions (arrays, on the CPU or the GPU, or Tensors) and
        optional per-sample weights."""
        self.add_batch(y_true, y_pred, sample_weight, self._target_reader())

    def add_batch(self, y_true: Any, y_pred: Any, sample_weight: Any, reader: Any) -> None:
        """``update_state`` with the targets read by ``reader`` (the metric's loss, or a
        model's compiled one, which may let an ignore_class through)."""
        outputs, targets, weights = self._batch(y_true, y_pred, sample_weight, reader)
        # As Keras' mean metrics: a y_pred that carries its padding mask weights positions.
        mask = getattr(y_pred, "_keras_mask", None)
        mask = None if mask is None else backend.to_device(mask, backend.device_of(outputs))
        found = position_weighted_total(self, outputs, targets, reader, weights, mask)
        if found is not None:
            total, seen = found
        else:
            total = self.total(outputs, targets, reader, weights)
            seen = len(outputs) if weights is None else weights.sum()
        self._total = total if self._total is None else self._total + total
        self._seen = self._seen + seen

    def result(self) -> Any:
        """The value over every batch since the last reset (0 before any), as a float32 NumPy
        scalar (an array where the metric gives one number per class)."""
        if self._total is None:
            return np.float32(0.0)
        value = self.value(self._total, float(self._seen))
        return np.float32(value) if np.ndim(value) == 0 else np.asarray(value, np.float32)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """``update_state`` then ``result()``, as Keras does."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def _target_reader(self) -> Any:
        from . import losses

        return (self.target_loss or losses.MeanSquaredError)()

    def _batch(
        self, y_true: Any, y_pred: Any, sample_weight: Any, reader: Any
    ) -> tuple[Any, Any, Any]:
        """Predictions as a float array, targets checked as the metric's loss reads them, and
        weights, all on the predictions' device."""
        outputs = as_metric_array(y_pred, "y_pred")
        if outputs.ndim == 0 or not len(outputs):
            raise ValueError(
                f"Metric '{self.name}': y_pred must hold a batch of predictions; got shape "
                f"{tuple(outputs.shape)}."
            )
        if outputs.dtype.kind != "f":
            outputs = outputs.astype(np.float32)
        n, device = len(outputs), backend.device_of(outputs)
        raw_targets = as_metric_array(y_true, "y_true")
        if raw_targets.ndim == 0 or len(raw_targets) != n:
            raise ValueError(
                f"Metric '{self.name}': y_true holds {len(raw_targets) if raw_targets.ndim else 0} "
                f"samples but y_pred holds {n}."
            )
        shape = tuple(outputs.shape[1:]) or (1,)
        targets = reader.targets(raw_targets, n, shape, f"Metric '{self.name}'")
        if outputs.ndim == 1 and targets.ndim == 2 and targets.shape[1] == 1:
            targets = targets[:, 0]
        weights = None
        if sample_weight is not None:
            from .data_checks import as_sample_weights

            weights = as_sample_weights(backend.to_numpy(sample_weight), n)
            weights = backend.to_device(weights.astype(outputs.dtype), device)
        return outputs, backend.to_device(targets, device), weights

    # --- saving -----------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def serialize(self) -> dict[str, Any]:
        """Keras' entry of the metric (``serialize_keras_object``)."""
        from .serialization import serialize_keras_object

        return serialize_keras_object(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class MetricVariable(Tensor):
    """A metric's state: a Tensor that ``assign``, ``assign_add`` and ``assign_sub`` change
    in place. It moves to the device of the values given to it (a model on the GPU hands
    its metrics device arrays)."""

    __slots__ = ()

    def _moved(self, value: Any) -> Any:
        value = value.data if isinstance(value, Tensor) else value
        if backend.is_device_array(value) and not backend.is_device_array(self.data):
            self.data = backend.to_device(self.data, "gpu")
        return backend.to_device(value, backend.device_of(self.data))

    # Each moves the value (and maybe the variable) before it reads self.data.
    def assign(self, value: Any) -> None:
        value = self._moved(value)
        self.data[...] = value

    def assign_add(self, value: Any) -> None:
        value = self._moved(value)
        self.data += value

    def assign_sub(self, value: Any) -> None:
        value = self._moved(value)
        self.data -= value


def as_metric_array(values: Any, name: str) -> Any:
    """A Tensor's array, a device array as it is, anything else as a NumPy array."""
    if isinstance(values, Tensor):
        return values.data
    if backend.is_device_array(values) or isinstance(values, np.ndarray):
        return values
    array = np.asarray(values)
    if array.dtype == object:
        raise TypeError(f"{name} must hold numbers.")
    return array


class OutputLoss(Metric):
    """The loss of one output of a model with several (the logs' ``<output>_loss``): the
    model hands over its batch loss times the batch size, as the total loss adds up (or,
    for a ``train_step`` of the user's, ``add``s the loss of each batch)."""

    def total(self, outputs: Any, y_true: Any, loss: Any, weights: Any = None) -> Any:
        raise TypeError("The model computes an output's loss; OutputLoss only adds it up.")

    def add(self, loss: Any, count: int) -> None:
        """A batch's mean loss over ``count`` samples."""
        value = loss.data if isinstance(loss, Tensor) else loss
        self._total = value * count if self._total is None else self._total + value * count
        self._seen = self._seen + count
