"""Where fit, evaluate and predict take their batches from: arrays already on the model's
device (sliced, or gathered in a shuffled order, there), or a Keras-style dataset that makes
each batch itself (``PyDataset``: augmentation, data that does not fit in memory)."""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import warnings
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import numpy as np

from . import backend

Batch = tuple[Any, Any, Any]  # x, y and sample weights (None where absent)


def take(data: Any, rows: Any) -> Any:
    """The rows of an array, or of each array of a tuple (several inputs or outputs)."""
    if data is None:
        return None
    if isinstance(data, tuple):
        return tuple(take(a, rows) for a in data)
    if isinstance(data, np.ndarray) and backend.is_device_array(rows):
        return data[backend.to_numpy(rows)]  # texts stay on the host
    return data[rows]


def rows_of(data: Any) -> int:
    """The number of samples of an array, or of a tuple of them."""
    return len(data[0]) if isinstance(data, tuple) else len(data)


class PyDataset:
    """Base class for a dataset that makes its own batches, as ``keras.utils.PyDataset``:
    ``__len__`` is the number of batches, ``__getitem__(i)`` returns batch ``i`` as ``(x, y)``
    (or ``x`` alone, for ``predict``), and, as in Keras, ``on_epoch_begin()`` and
    ``on_epoch_end()`` run before and after each pass over it: each epoch of ``fit`` (the
    end, to reshuffle, say), each validation, ``evaluate`` and ``predict``.

    As in Keras, ``workers=N`` makes batches in N threads, up to ``max_queue_size`` ahead of
    training, still handed over in order (``__getitem__`` must then be safe to call from
    several threads; NumPy releases the GIL for array work, so loading and augmenting overlap
    with training). With ``use_multiprocessing=True`` they are N processes instead, started
    anew each epoch (so they see what ``on_epoch_end`` changed) by forking where the platform
    can (else the dataset must pickle); ``__getitem__`` must not use the GPU there."""

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"PyDataset: workers must be a positive int, got {workers!r}.")
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int):
            raise ValueError(f"PyDataset: max_queue_size must be an int, got {max_queue_size!r}.")
        if max_queue_size < 1:
            raise ValueError(f"PyDataset: max_queue_size must be >= 1, got {max_queue_size}.")
        self.workers, self.use_multiprocessing = workers, bool(use_multiprocessing)
        self.max_queue_size = max_queue_size

    def __len__(self) -> int:
        raise NotImplementedError("A PyDataset says how many batches it has in __len__.")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError("A PyDataset returns batch `index` from __getitem__.")

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


def is_dataset(x: Any) -> bool:
    """Whether x makes its own batches: a PyDataset, an object that acts as one (len and
    indexing) without being an array, or a generator or other iterator of batches."""
    if isinstance(x, PyDataset) or is_iterator(x):
        return True
    return (
        hasattr(x, "__len__")
        and hasattr(x, "__getitem__")
        and not hasattr(x, "__array__")
        and not isinstance(x, (list, tuple, str, bytes, dict))
    )


def is_iterator(x: Any) -> bool:
    """A generator or other iterator (of batches), not an array."""
    return hasattr(x, "__next__") and hasattr(x, "__iter__") and not hasattr(x, "__array__")


def warn_ran_out(stacklevel: int = 3) -> None:
    """Keras' warning when the data runs out before the steps it was asked for."""
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches.",
        UserWarning,
        stacklevel=stacklevel,
    )


class ArrayBatches:
    """Batches of arrays on the model's device: slices in order, or, shuffled, rows gathered
    through one permutation per epoch that goes to the device in one copy."""

    def __init__(self, x: Any, y: Any, batch_size: int, device: str, weights: Any = None) -> None:
        self.x, self.y, self.batch_size, self.device = x, y, batch_size, device
        self.weights = weights
        self.steps = -(-rows_of(x) // batch_size)

    def epoch(self, shuffle: bool) -> Iterator[Batch]:
        """(x, y, sample weights) batches; y and the weights are None where there are none."""
        n, size = rows_of(self.x), self.batch_size
        if shuffle:
            order = backend.to_device(backend.rng().permutation(n), self.device)
        for start in range(0, n, size):
            rows = order[start : start + size] if shuffle else slice(start, start + size)
            yield tuple(take(a, rows) for a in (self.x, self.y, self.weights))

    def begin_epoch(self) -> None:
        pass

    def end_epoch(self) -> None:
        pass


_SHARED_DATASET: Any = None  # a worker process's copy of the dataset


def _share(dataset: Any) -> None:
    global _SHARED_DATASET
    _SHARED_DATASET = dataset


def _shared_item(index: int) -> Any:
    return _SHARED_DATASET[index]


class DatasetBatches:
    """Batches that a dataset makes, each checked and moved to the device by ``prepare`` (the
    model's checks of x and y); shuffled, the order of the batches changes each epoch."""

    def __init__(
        self, dataset: Any, prepare: Callable[[Any, Any], Batch], with_targets: bool
    ) -> None:
        self.dataset, self.prepare, self.with_targets = dataset, prepare, with_targets
        self.steps = len(dataset)
        if self.steps < 1:
            raise ValueError(f"The dataset {type(dataset).__name__} has no batches (len is 0).")

    def epoch(self, shuffle: bool) -> Iterator[Batch]:
        order = backend.rng().permutation(self.steps) if shuffle else np.arange(self.steps)
        indices = [int(i) for i in order]
        workers = getattr(self.dataset, "workers", 1)
        made = self._made_by_workers(indices, workers) if workers > 1 else self._made(indices)
        for index, batch in zip(indices, made, strict=True):
            yield self._prepared(batch, index)

    def _made(self, indices: list[int]) -> Iterator[Any]:
        for index in indices:
            yield self.dataset[index]

    def _made_by_workers(self, indices: list[int], workers: int) -> Iterator[Any]:
        """The batches in order, made by ``workers`` threads (or processes) at most
        ``max_queue_size`` ahead; a training that stops early cancels what was not started."""
        ahead = max(workers, getattr(self.dataset, "max_queue_size", 10))
        pool: futures.Executor
        if getattr(self.dataset, "use_multiprocessing", False):
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            pool = futures.ProcessPoolExecutor(
                workers, mp_context=context, initializer=_share, initargs=(self.dataset,)
            )
            make: Callable[[int], Any] = _shared_item
        else:
            pool = futures.ThreadPoolExecutor(workers, thread_name_prefix="minicnn-batches")
            make = self.dataset.__getitem__
        pending: collections.deque[futures.Future[Any]] = collections.deque()
        try:
            queued = iter(indices)
            for index in itertools.islice(queued, ahead):
                pending.append(pool.submit(make, index))
            while pending:
                batch = pending.popleft().result()
                for index in itertools.islice(queued, 1):
                    pending.append(pool.submit(make, index))
                yield batch
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _prepared(self, batch: Any, index: int) -> Batch:
        if not self.with_targets:
            return self.prepare(batch[0] if isinstance(batch, tuple) else batch, None, None)
        if not (isinstance(batch, tuple) and len(batch) in (2, 3)):
            what = type(batch).__name__
            if isinstance(batch, tuple):
                what += f" of {len(batch)}"
            raise ValueError(
                f"Batch {index} of {type(self.dataset).__name__} must be an (x, y) or "
                f"(x, y, sample_weight) tuple; got {what}."
            )
        return self.prepare(*batch) if len(batch) == 3 else self.prepare(*batch, None)

    def begin_epoch(self) -> None:
        if hasattr(self.dataset, "on_epoch_begin"):
            self.dataset.on_epoch_begin()

    def end_epoch(self) -> None:
        if hasattr(self.dataset, "on_epoch_end"):
            self.dataset.on_epoch_end()


class IteratorBatches(DatasetBatches):
    """Batches from a generator or other iterator of ``(x, y)`` or ``(x, y, sample_weight)``
    tuples (``x`` alone for predict), as Keras takes them: the number of batches is unknown
    (``steps`` is None), so an epoch runs until the iterator runs out, unless
    ``steps_per_epoch`` says otherwise; the order is the iterator's (never shuffled)."""

    def __init__(
        self, iterator: Any, prepare: Callable[[Any, Any], Batch], with_targets: bool
    ) -> None:
        self.dataset, self.prepare, self.with_targets = iterator, prepare, with_targets
        self.steps = None

    def epoch(self, shuffle: bool) -> Iterator[Batch]:
        for index, batch in enumerate(self.dataset):
            yield self._prepared(batch, index)


def dataset_batches(
    data: Any, prepare: Callable[[Any, Any], Batch], with_targets: bool
) -> DatasetBatches:
    """The batches of a dataset, or of an iterator."""
    if is_iterator(data):
        return IteratorBatches(data, prepare, with_targets)
    return DatasetBatches(data, prepare, with_targets)


class StepsPerEpoch:
    """``steps`` batches an epoch from ``batches``, as Keras' ``steps_per_epoch``: a pass over
    the data goes on from one epoch into the next, and a new pass (shuffled anew) begins when
    one has run out. A pass that runs out inside an epoch ends the epoch early, with Keras'
    warning; an iterator that has run out gives no more batches."""

    def __init__(self, batches: ArrayBatches | DatasetBatches, steps: int) -> None:
        self.batches, self.steps = batches, steps
        self._pass: Iterator[Batch] | None = None
        self._taken = 0  # batches taken from the current pass

    def epoch(self, shuffle: bool) -> Iterator[Batch]:
        if self._pass is None:
            self._pass, self._taken = self.batches.epoch(shuffle), 0
        for _ in range(self.steps):
            batch = None if self._taken == self.batches.steps else next(self._pass, None)
            if batch is None:  # this pass ran out
                warn_ran_out(stacklevel=4)
                self._pass = None
                return
            self._taken += 1
            yield batch
        if self._taken == self.batches.steps:
            self._pass = None

    def begin_epoch(self) -> None:
        self.batches.begin_epoch()

    def end_epoch(self) -> None:
        self.batches.end_epoch()
