"""Keras' ``timeseries_dataset_from_array``: sliding windows over a series, in batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dataset_methods import BatchedDataset


def _count(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"timeseries_dataset_from_array: {what} must be an int >= {minimum}, got {value!r}."
        )
    return int(value)


class TimeseriesDataset(BatchedDataset):
    """Windows of ``sequence_length`` steps, ``sampling_rate`` apart, starting every
    ``sequence_stride`` steps, in batches: ``(windows, targets)`` or windows alone. The
    target of the window that starts at step i is ``targets[i]``, as in Keras. The windows
    are views of the series until a batch gathers them."""

    def __init__(
        self,
        data: np.ndarray,
        targets: np.ndarray | None,
        starts: np.ndarray,
        sequence_length: int,
        sampling_rate: int,
        batch_size: int,
        shuffler: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.data, self.targets, self.starts = data, targets, starts
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size, self.shuffler = batch_size, shuffler
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        """With ``shuffle``, a new order of the windows for each epoch (as tf.data's shuffle
        reshuffles each pass)."""
        if self.shuffler is not None:
            self.shuffler.shuffle(self.starts)

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of a dataset of {len(self)} batches")
        index %= len(self)
        starts = self.starts[index * self.batch_size : (index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self.offsets]
        if self.targets is None:
            return windows
        return windows, self.targets[starts]


def timeseries_dataset_from_array(
    data: Any,
    targets: Any,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
) -> TimeseriesDataset:
    """Keras' function: the windows ``data[i : i + sequence_length * sampling_rate :
    sampling_rate]`` for i = 0, sequence_stride, ... (within ``data[start_index:end_index]``),
    with ``targets[i]`` as each window's target (``targets=None``: windows only), in batches
    of ``batch_size`` that ``fit``, ``evaluate`` and ``predict`` take. ``shuffle`` shuffles
    the windows, anew each epoch (``seed`` fixes the orders)."""
    data = np.asarray(data)
    if data.ndim < 1 or len(data) == 0:
        raise ValueError("timeseries_dataset_from_array: data must hold at least one step.")
    sequence_length = _count(sequence_length, "sequence_length", 1)
    sequence_stride = _count(sequence_stride, "sequence_stride", 1)
    sampling_rate = _count(sampling_rate, "sampling_rate", 1)
    if batch_size is None:
        raise ValueError(
            "timeseries_dataset_from_array: batch_size must be an int: minicnn's datasets "
            "hand fit whole batches."
        )
    batch_size = _count(batch_size, "batch_size", 1)
    start = 0 if start_index is None else _count(start_index, "start_index", 0)
    end = len(data) if end_index is None else _count(end_index, "end_index", 0)
    if start >= len(data):
        raise ValueError(
            f"timeseries_dataset_from_array: start_index must be < len(data) ({len(data)}), "
            f"got {start}."
        )
    if not start < end <= len(data):
        raise ValueError(
            f"timeseries_dataset_from_array: end_index must be in ({start}, {len(data)}], "
            f"got {end}."
        )
    series = data[start:end]
    windows = len(series) - (sequence_length - 1) * sampling_rate
    labels = None
    if targets is not None:
        labels = np.asarray(targets)[start:end]
        windows = min(windows, len(labels))
    if windows < 1:
        span = (sequence_length - 1) * sampling_rate + 1
        raise ValueError(
            f"timeseries_dataset_from_array: a window spans {span} steps, more than the "
            f"{len(series)} of the data (and targets) it may use."
        )
    starts = np.arange(0, windows, sequence_stride)
    order = np.random.default_rng(seed) if shuffle else None
    return TimeseriesDataset(
        series, labels, starts, sequence_length, sampling_rate, batch_size, order
    )
