"""Keras' preprocessing layers for categories and numbers: CategoryEncoding (token ids to
one-hot, multi-hot or count vectors) and Discretization (numbers to the ids of their bins,
from given boundaries or from quantiles that ``adapt`` finds). Their outputs take no
gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


class CategoryEncoding(Layer):
    """Token ids in [0, num_tokens) to vectors of ``num_tokens``: 'one_hot' (one id per
    sample, (batch,) or (batch, 1)), 'multi_hot' (1 for each id a sample holds) or 'count'
    (how many times; ``layer(ids, count_weights=w)`` adds up each id's weights instead). An
    id outside the range is an error, as in Keras."""

    call_arguments = ("count_weights",)

    def __init__(
        self, num_tokens: int | None = None, output_mode: str = "multi_hot", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if num_tokens is None:
            raise ValueError(f"{self.describe()}: give num_tokens, the number of token ids.")
        self.num_tokens = positive_int(num_tokens, f"{self.describe()}: num_tokens")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(
                f"{self.describe()}: output_mode must be one of {', '.join(OUTPUT_MODES)}; got "
                f"{output_mode!r}."
            )
        self.output_mode = output_mode

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) > 1 or (
            self.output_mode == "one_hot" and input_shape not in ((), (1,))
        ):
            raise ValueError(
                f"{self.describe()} takes ids of shape (batch,) or (batch, k) ((batch, 1) for "
                f"one_hot); got {(None, *input_shape)}."
            )
        return (self.num_tokens,)

    def call(self, x: Tensor, training: bool, count_weights: Any = None) -> Tensor:
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                "`count_weights` is not used when `output_mode` is not `'count'`. Received "
                f"`count_weights={count_weights}`."
            )
        xp = backend.get_array_module(x.data)
        ids = x.data.reshape(len(x.data), -1)
        if xp is np and ids.size and (ids.min() < 0 or ids.max() >= self.num_tokens):
            raise ValueError(
                f"{self.describe()}: ids must be in [0, {self.num_tokens}); got values from "
                f"{ids.min()} to {ids.max()}."
            )
        hits = ids.astype(np.int64)[:, :, None] == xp.arange(self.num_tokens)
        if count_weights is not None:
            weights = xp.asarray(getattr(count_weights, "data", count_weights), backend.FLOAT)
            if weights.size != ids.size:
                raise ValueError(
                    f"{self.describe()}: count_weights must have the ids' shape "
                    f"{tuple(x.shape)}; got {tuple(weights.shape)}."
                )
            weighted = hits * weights.reshape(ids.shape)[:, :, None]
            return Tensor(weighted.sum(axis=1).astype(backend.FLOAT))
        counts = hits.sum(axis=1).astype(backend.FLOAT)
        return Tensor(counts if self.output_mode == "count" else (counts > 0).astype(backend.FLOAT))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
        }


def _summary(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Sorted values cut to about 1/epsilon of them, each weighted by how many it stands
    for: (2, k), the values then the weights."""
    values = np.sort(values)
    step = max(values.size * epsilon, 1)
    kept = values[int(step - 1) :: int(step)]
    return np.stack([kept, np.full_like(kept, step)])


def _compressed(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """A summary read off at the fractions epsilon, 2 epsilon, ..., 1 of its total weight
    (linearly between its values), where it holds more than 1/epsilon values."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    totals = summary[1].cumsum()
    at = totals / totals[-1]
    values = np.interp(fractions, at, summary[0])
    reached = np.interp(fractions, at, totals)
    weights = reached - np.concatenate((np.zeros(1), reached[:-1]))
    return np.stack((values, weights)).astype(np.float32)


class Discretization(Layer):
    """Numbers to the ids of their bins (int64): with ``bin_boundaries`` [b0, b1, ...], id 0
    below b0, 1 in [b0, b1), ... as Keras does; or ``num_bins`` bins of equal counts, whose
    boundaries ``adapt(data)`` finds as quantiles of the data."""

    _keras_defaults = {"sparse": False}

    def __init__(
        self,
        bin_boundaries: list[float] | None = None,
        num_bins: int | None = None,
        epsilon: float = 0.01,
        output_mode: str = "int",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (bin_boundaries is None) == (num_bins is None):
            raise ValueError(
                f"{self.describe()}: give bin_boundaries or num_bins (then adapt), not both or "
                "neither."
            )
        if output_mode != "int":
            raise ValueError(
                f"{self.describe()}: output_mode 'int' is available (CategoryEncoding turns "
                f"the ids into vectors); got {output_mode!r}."
            )
        if num_bins is not None:
            num_bins = positive_int(num_bins, f"{self.describe()}: num_bins")
        self.num_bins, self.epsilon, self.output_mode = num_bins, float(epsilon), output_mode
        self.bin_boundaries = (
            None if bin_boundaries is None else sorted(float(b) for b in bin_boundaries)
        )
        self._edges: dict[tuple[str, Any], Any] = {}  # the boundaries on each device, once

    def adapt(self, data: Any) -> None:
        """Boundaries at the 1/num_bins, 2/num_bins, ... quantiles of every value in ``data``
        (an array, or an iterable of batches), found as Keras finds them: each batch
        summed up in about 1/epsilon weighted values, the summaries merged, the quantiles
        read off the merged one (so the boundaries are Keras' to the bit)."""
        if self.num_bins is None:
            raise ValueError(f"{self.describe()} has bin_boundaries; adapt needs num_bins.")
        parts = [data] if hasattr(data, "shape") else list(data)
        summary = np.zeros((2, 0), np.float32)
        for part in parts:
            values = np.asarray(backend.to_numpy(part), np.float32).ravel()
            merged = np.concatenate((_summary(values, self.epsilon), summary), axis=1)
            summary = _compressed(merged[:, np.argsort(merged[0])], self.epsilon)
        if not summary.size:
            raise ValueError(f"{self.describe()}: adapt got no data.")
        quantiles = _compressed(summary, 1.0 / self.num_bins)[0, :-1]
        self.bin_boundaries = [float(q) for q in quantiles]
        self._edges = {}

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def call(self, x: Tensor, training: bool) -> Tensor:
        if self.bin_boundaries is None:
            raise ValueError(f"{self.describe()} has no bin boundaries yet: call adapt first.")
        xp = backend.get_array_module(x.data)
        key = (backend.device_of(x.data), x.data.dtype)
        if key not in self._edges:  # copied once, not in every (maybe captured) step
            edges = np.asarray(self.bin_boundaries, dtype=x.data.dtype)
            self._edges[key] = backend.to_device(edges, key[0])
        return Tensor(xp.searchsorted(self._edges[key], x.data, side="right").astype(np.int64))

    def get_config(self) -> dict[str, Any]:
        # Keras' config of a Discretization: no trainable, the dtype by name.
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": None if self.bin_boundaries is not None else self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": False,
            "name": self.name,
            "dtype": self.dtype_policy.variable_dtype,
        }
