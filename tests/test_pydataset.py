"""fit, evaluate and predict on a dataset that makes its own batches (Keras' PyDataset)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from test_models import compiled, small_cnn, toy_data

from minicnn import backend
from minicnn.utils import PyDataset


class Slices(PyDataset):
    """The arrays in batches of ``size``, in order; it records what fit asks of it."""

    def __init__(self, x, y=None, size=16, with_targets=True):
        super().__init__()
        self.x, self.y, self.size, self.with_targets = x, y, size, with_targets
        self.requested = []
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, index):
        self.requested.append(index)
        part = slice(index * self.size, (index + 1) * self.size)
        return (self.x[part], self.y[part]) if self.with_targets else self.x[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def fresh(device="cpu"):
    backend.clear_session()
    backend.set_random_seed(5)
    return compiled(small_cnn().to(device))


def test_a_dataset_of_the_same_batches_trains_exactly_like_the_arrays(device):
    x, y = toy_data(40)  # the last batch holds 8
    arrays = fresh(device)
    arrays.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, validation_data=(x, y))
    dataset = Slices(x, y)
    model = fresh(device)
    history = model.fit(
        dataset, epochs=2, shuffle=False, verbose=0, validation_data=Slices(x, y, size=32)
    )
    assert history.params["steps"] == 3
    assert dataset.requested == [0, 1, 2] * 2 and dataset.epochs_ended == 2
    assert history.history["loss"] == arrays.history.history["loss"]
    assert history.history["val_loss"] == pytest.approx(arrays.history.history["val_loss"])
    for a, b in zip(arrays.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # evaluate and predict take datasets too, and agree with the arrays.
    assert model.evaluate(Slices(x, y), verbose=0) == model.evaluate(x, y, batch_size=16, verbose=0)
    expected = model.predict(x, batch_size=16, verbose=0)
    for batches in (Slices(x, y), Slices(x, with_targets=False)):
        np.testing.assert_array_equal(model.predict(batches, verbose=0), expected)


class Hooked(Slices):
    """Records Keras' epoch hooks, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hooks = []

    def on_epoch_begin(self):
        self.hooks.append("begin")

    def on_epoch_end(self):
        self.hooks.append("end")


def test_each_pass_over_a_dataset_begins_and_ends_an_epoch_as_in_keras():
    """Keras 3 calls a PyDataset's on_epoch_begin and on_epoch_end around every pass: each
    epoch of fit, each validation, evaluate and predict (before, evaluate and predict
    called neither, and there was no on_epoch_begin)."""
    x, y = toy_data(32)
    train, val = Hooked(x, y), Hooked(x, y)
    model = fresh()
    model.fit(train, epochs=2, verbose=0, validation_data=val)
    assert train.hooks == ["begin", "end"] * 2 and val.hooks == ["begin", "end"] * 2
    for method in (model.evaluate, model.predict):
        data = Hooked(x, y)
        method(data, verbose=0)
        assert data.hooks == ["begin", "end"]
    steps = Hooked(x, y)  # with steps_per_epoch, each epoch too
    model.fit(steps, epochs=3, steps_per_epoch=1, verbose=0)
    assert steps.hooks.count("begin") == 3


def test_shuffled_fit_visits_every_batch_once_an_epoch_in_a_new_order():
    x, y = toy_data(96)
    dataset = Slices(x, y)
    fresh().fit(dataset, epochs=3, verbose=0)
    epochs = [dataset.requested[i : i + 6] for i in range(0, 18, 6)]
    assert all(sorted(order) == list(range(6)) for order in epochs)
    assert len({tuple(order) for order in epochs}) > 1


def test_any_object_with_len_and_indexing_serves_as_a_dataset():
    x, y = toy_data(32)

    class Plain:
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return x[index * 16 : (index + 1) * 16], y[index * 16 : (index + 1) * 16]

    history = fresh().fit(Plain(), epochs=1, verbose=0)
    assert history.params["steps"] == 2 and len(history.history["loss"]) == 1


def test_dataset_problems_are_named():
    x, y = toy_data(32)
    model = fresh()
    with pytest.raises(ValueError, match="y must be None when x is a dataset"):
        model.fit(Slices(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="y must be None when x is a dataset"):
        model.evaluate(Slices(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model.fit(Slices(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(
        ValueError,
        match=r"Batch \d of Slices must be an \(x, y\) or \(x, y, sample_weight\) tuple; "
        r"got ndarray",
    ):
        model.fit(Slices(x, with_targets=False), verbose=0)
    with pytest.raises(ValueError, match="has no batches"):
        model.fit(Slices(x[:0], y[:0]), verbose=0)
    with pytest.raises(ValueError, match="Labels must be in 0..2"):
        model.fit(Slices(x, y + 5), verbose=0)
    with pytest.raises(ValueError, match="workers must be a positive int, got 0"):
        PyDataset(workers=0)
    with pytest.raises(ValueError, match="fit needs y"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="y \\(the targets\\) is needed"):
        model.evaluate(x, verbose=0)
    with pytest.raises(ValueError, match="got a tuple of 4"):
        model.fit(x, y, validation_data=(x, y, y, y), verbose=0)


def test_steps_per_epoch_carries_a_pass_over_into_the_next_epoch_as_in_keras():
    """Keras' steps_per_epoch: 5 batches at 2 an epoch are 2, 2, then 1 with a warning (the
    pass ran out), and the next epoch starts a new pass."""
    x, y = toy_data(80)
    data = Slices(x, y, size=16)
    model = fresh()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(data, epochs=4, steps_per_epoch=2, shuffle=False, verbose=0)
    assert data.requested == [0, 1, 2, 3, 4, 0, 1]
    assert history.params["steps"] == 2 and len(history.history["loss"]) == 4
    assert data.epochs_ended == 4
    assert model.optimizer.iterations == 7


def test_steps_per_epoch_and_validation_steps_take_arrays_too():
    x, y = toy_data(64)
    model = fresh()
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        steps_per_epoch=2,
        validation_data=(x, y),
        validation_steps=1,
        verbose=0,
    )
    assert model.optimizer.iterations == 4 and history.params["steps"] == 2
    assert "val_loss" in history.history
    for name, value in (("steps_per_epoch", 0), ("validation_steps", 1.5)):
        with pytest.raises(ValueError, match=name):
            model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), **{name: value})


def test_evaluate_and_predict_take_steps():
    x, y = toy_data(64)
    model = fresh()
    first_two = model.evaluate(x[:32], y[:32], batch_size=16, verbose=0)
    assert model.evaluate(x, y, batch_size=16, steps=2, verbose=0) == pytest.approx(first_two)
    np.testing.assert_allclose(
        model.predict(x, batch_size=16, steps=3, verbose=0),
        model.predict(x[:48], batch_size=16, verbose=0),
    )
    with pytest.raises(ValueError, match="steps"):
        model.predict(x, steps=-1, verbose=0)


def batches_of(x, y=None, size=16):
    """A generator of the arrays' batches, in order, once."""
    for start in range(0, len(x), size):
        part = slice(start, start + size)
        yield (x[part], y[part]) if y is not None else x[part]


def test_a_generator_with_steps_per_epoch_trains_like_the_arrays(device):
    x, y = toy_data(64)

    def forever():
        while True:
            yield from batches_of(x, y)

    from_arrays = fresh(device)  # each seeds minicnn's generator: the same dropout draws
    from_arrays.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    from_generator = fresh(device)
    history = from_generator.fit(forever(), steps_per_epoch=4, epochs=3, verbose=0)
    assert history.params["steps"] == 4 and len(history.history["loss"]) == 3
    for a, b in zip(from_arrays.get_weights(), from_generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_finite_generator_without_steps_ends_training_when_it_runs_out(capsys):
    x, y = toy_data(80)
    model = fresh()
    with pytest.warns(UserWarning, match="ran out of data; interrupting training"):
        history = model.fit(batches_of(x, y), epochs=3, verbose=2)
    assert len(history.history["loss"]) == 1 and history.params["steps"] is None
    assert model.optimizer.iterations == 5
    assert "5/Unknown" in capsys.readouterr().out  # Keras' progress line for unknown lengths


def test_evaluate_and_predict_take_generators():
    x, y = toy_data(48)
    model = fresh()
    assert model.evaluate(batches_of(x, y), verbose=0) == pytest.approx(
        model.evaluate(x, y, batch_size=16, verbose=0)
    )
    np.testing.assert_allclose(
        model.predict(batches_of(x), verbose=0), model.predict(x, batch_size=16, verbose=0)
    )
    spent = batches_of(x, y)
    list(spent)
    with pytest.raises(ValueError, match="no data to evaluate"):
        model.evaluate(spent, verbose=0)


class SlowSlices(Slices):
    """Slices made slowly in worker threads: each batch sleeps, and the threads it ran on and
    the most batches in the making at once are recorded."""

    def __init__(self, x, y, workers, max_queue_size=10, delay=0.02):
        PyDataset.__init__(self, workers=workers, max_queue_size=max_queue_size)
        self.x, self.y, self.size, self.with_targets = x, y, 16, True
        self.requested, self.epochs_ended, self.delay = [], 0, delay
        self.threads, self.busy, self.most_busy = set(), 0, 0
        self.lock = threading.Lock()

    def __getitem__(self, index):
        with self.lock:
            self.busy += 1
            self.most_busy = max(self.most_busy, self.busy)
            self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        batch = super().__getitem__(index)
        with self.lock:
            self.busy -= 1
        return batch


def test_worker_threads_make_batches_ahead_and_hand_them_over_in_order():
    x, y = toy_data(160)  # 10 batches
    plain = fresh()
    plain.fit(Slices(x, y), epochs=2, verbose=0)
    threaded = fresh()
    dataset = SlowSlices(x, y, workers=3)
    threaded.fit(dataset, epochs=2, verbose=0)
    assert threaded.history.history == plain.history.history  # the same batches, same order
    for a, b in zip(plain.get_weights(), threaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(dataset.threads) == 3 and dataset.most_busy == 3  # three made at once
    assert dataset.epochs_ended == 2
    # A queue of 1 still lets every worker make one batch ahead.
    narrow = SlowSlices(x, y, workers=2, max_queue_size=1)
    fresh().fit(narrow, epochs=1, verbose=0)
    assert narrow.most_busy == 2 and sorted(narrow.requested) == list(range(10))


def test_stopping_early_cancels_the_batches_not_started():
    x, y = toy_data(160)
    dataset = SlowSlices(x, y, workers=2, max_queue_size=4)
    model = fresh()
    model.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)
    time.sleep(0.1)
    assert len(dataset.requested) <= 3 + 4 and dataset.busy == 0
    assert not any(t.name.startswith("minicnn-batches") for t in threading.enumerate())


def test_a_failing_batch_raises_in_fit():
    class Broken(SlowSlices):
        def __getitem__(self, index):
            if index == 4:
                raise OSError("disk gone")
            return super().__getitem__(index)

    x, y = toy_data(160)
    with pytest.raises(OSError, match="disk gone"):
        fresh().fit(Broken(x, y, workers=2), epochs=1, shuffle=False, verbose=0)


class ProcessSlices(Slices):
    """Slices made in worker processes; each batch leaves a file naming the process and the
    epoch it was made in (the parent cannot see the workers' memory)."""

    def __init__(self, x, y, folder):
        PyDataset.__init__(self, workers=2, use_multiprocessing=True, max_queue_size=3)
        self.x, self.y, self.size, self.with_targets = x, y, 16, True
        self.requested, self.epochs_ended, self.folder = [], 0, folder

    def __getitem__(self, index):
        (self.folder / f"e{self.epochs_ended}-b{index}-p{os.getpid()}").touch()
        return super().__getitem__(index)


def test_worker_processes_make_the_same_batches_and_see_each_epochs_state(tmp_path):
    x, y = toy_data(96)  # 6 batches
    plain = fresh()
    plain.fit(Slices(x, y), epochs=2, verbose=0)
    dataset = ProcessSlices(x, y, tmp_path)
    model = fresh()
    model.fit(dataset, epochs=2, verbose=0)
    assert model.history.history == plain.history.history
    made = [name.split("-") for name in os.listdir(tmp_path)]
    assert sorted(e for e, _, _ in made) == ["e0"] * 6 + ["e1"] * 6  # on_epoch_end reached them
    pids = {p for _, _, p in made}
    assert f"p{os.getpid()}" not in pids and len(pids) >= 2
