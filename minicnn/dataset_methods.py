"""tf.data's methods that keras.io's examples call on what Keras' dataset utilities give
(``image_dataset_from_directory``, ``timeseries_dataset_from_array``, ...): the batches
taken, skipped, mapped, cached, iterated. Each gives a dataset of batches again, which
``fit``, ``evaluate`` and ``predict`` take."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .batches import PyDataset


class BatchedDataset(PyDataset):
    """A PyDataset of batches with tf.data's ``take``, ``skip``, ``map``, ``cache``,
    ``prefetch``, ``as_numpy_iterator`` and iteration (``for x, y in ds.take(1)``)."""

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def as_numpy_iterator(self) -> Iterator[Any]:
        return iter(self)

    def take(self, count: int) -> BatchedDataset:
        """The first ``count`` batches (all of them for -1, as tf.data)."""
        n = len(self) if count == -1 else max(0, min(_count(count, "take"), len(self)))
        return _Batches(self, range(n))

    def skip(self, count: int) -> BatchedDataset:
        """All but the first ``count`` batches (none for -1, as tf.data)."""
        n = len(self) if count == -1 else min(_count(count, "skip"), len(self))
        return _Batches(self, range(n, len(self)))

    def map(
        self, map_func: Callable[..., Any], num_parallel_calls: Any = None, **kwargs: Any
    ) -> BatchedDataset:
        """Each batch through ``map_func``: called with the batch's parts, ``f(x, y)``, as
        tf.data calls it on a tuple (``num_parallel_calls`` and the like change nothing)."""
        return _Mapped(self, map_func)

    def cache(self, filename: str = "") -> BatchedDataset:
        """The batches kept in memory once made: later passes read them (in the first
        pass's order, as a tf.data cache after a shuffle)."""
        return _Cached(self)

    def prefetch(self, buffer_size: Any = None) -> BatchedDataset:
        """The same batches: ``fit`` makes them ahead with PyDataset's ``workers``."""
        return self


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < -1:
        raise ValueError(f"{what} takes a count of batches (an int >= 0, or -1); got {value!r}.")
    return int(value)


class _Batches(BatchedDataset):
    """Some of a dataset's batches, by index."""

    def __init__(self, source: PyDataset, indices: range) -> None:
        super().__init__(source.workers, source.use_multiprocessing, source.max_queue_size)
        self.source, self.indices = source, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.source[self.indices[index]]

    def on_epoch_end(self) -> None:
        self.source.on_epoch_end()


class _Mapped(_Batches):
    def __init__(self, source: PyDataset, function: Callable[..., Any]) -> None:
        super().__init__(source, range(len(source)))
        self.function = function

    def __getitem__(self, index: int) -> Any:
        batch = self.source[self.indices[index]]
        return self.function(*batch) if isinstance(batch, tuple) else self.function(batch)


class _Cached(_Batches):
    def __init__(self, source: PyDataset) -> None:
        super().__init__(source, range(len(source)))
        self.kept: dict[int, Any] = {}

    def __getitem__(self, index: int) -> Any:
        index = self.indices[index]
        if index not in self.kept:
            self.kept[index] = self.source[index]
        return self.kept[index]

    def on_epoch_end(self) -> None:
        pass  # the kept batches stay as they are
