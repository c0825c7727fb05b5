"""utils.timeseries_dataset_from_array: Keras' docstring examples, a naive loop over window
starts as oracle, shuffling, bad arguments, and a Conv1D forecaster trained on its batches."""

import numpy as np
import pytest

from minicnn import Input, Sequential, layers, optimizers
from minicnn.utils import timeseries_dataset_from_array


def batches(dataset):
    return [dataset[i] for i in range(len(dataset))]


def test_keras_example_1_sampling_and_stride():
    """Keras' docstring: indices 0..98, sequence_length=10, sampling_rate=2,
    sequence_stride=3."""
    dataset = timeseries_dataset_from_array(
        np.arange(99), None, sequence_length=10, sampling_rate=2, sequence_stride=3
    )
    windows = np.concatenate(batches(dataset))
    np.testing.assert_array_equal(windows[0], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
    np.testing.assert_array_equal(windows[1], [3, 5, 7, 9, 11, 13, 15, 17, 19, 21])
    np.testing.assert_array_equal(windows[2], [6, 8, 10, 12, 14, 16, 18, 20, 22, 24])
    np.testing.assert_array_equal(windows[-1], [78, 80, 82, 84, 86, 88, 90, 92, 94, 96])
    assert len(windows) == 27


def test_keras_example_2_temporal_regression():
    """Keras' docstring: the target of the window data[i : i + 10] is data[i + 10]."""
    data = np.arange(100)
    dataset = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = dataset[0]
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]
    assert sum(len(x) for x, _ in batches(dataset)) == 81  # 90 - 10 + 1 windows


def test_keras_example_3_two_aligned_datasets():
    x, y = np.arange(100), np.arange(100) * 2
    inputs = timeseries_dataset_from_array(x, None, sequence_length=20, sequence_stride=20)
    outputs = timeseries_dataset_from_array(y, None, sequence_length=20, sequence_stride=20)
    a, b = inputs[0], outputs[0]
    assert a.shape == b.shape == (5, 20)
    np.testing.assert_array_equal(a[0], x[:20])
    np.testing.assert_array_equal(b[0], y[:20])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sequence_length": 4},
        {"sequence_length": 3, "sequence_stride": 2, "sampling_rate": 3, "batch_size": 5},
        {"sequence_length": 5, "start_index": 7, "end_index": 40, "batch_size": 4},
        {"sequence_length": 1, "sequence_stride": 7, "batch_size": 1},
    ],
)
def test_windows_and_targets_match_a_loop(kwargs):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((50, 3)).astype(np.float32)
    targets = rng.integers(0, 4, 45)
    dataset = timeseries_dataset_from_array(data, targets, **kwargs)
    length = kwargs["sequence_length"]
    stride, rate = kwargs.get("sequence_stride", 1), kwargs.get("sampling_rate", 1)
    start, end = kwargs.get("start_index", 0), kwargs.get("end_index", 50)
    series, labels = data[start:end], targets[start:end]
    expected_x, expected_y = [], []
    i = 0
    while i + (length - 1) * rate < len(series) and i < len(labels):
        expected_x.append(series[i : i + (length - 1) * rate + 1 : rate])
        expected_y.append(labels[i])
        i += stride
    got = batches(dataset)
    assert all(len(x) <= kwargs.get("batch_size", 128) for x, _ in got)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in got]), expected_x)
    np.testing.assert_array_equal(np.concatenate([y for _, y in got]), expected_y)


def test_shuffle_is_seeded_and_new_each_epoch():
    data = np.arange(40)
    make = lambda: timeseries_dataset_from_array(  # noqa: E731
        data, data, sequence_length=3, batch_size=8, shuffle=True, seed=7
    )
    a, b = make(), make()
    first = np.concatenate([y for _, y in batches(a)])
    np.testing.assert_array_equal(first, np.concatenate([y for _, y in batches(b)]))
    assert sorted(first) == list(range(38)) and list(first) != list(range(38))
    a.on_epoch_end()
    second = np.concatenate([y for _, y in batches(a)])
    assert sorted(second) == sorted(first) and list(second) != list(first)
    for x, y in batches(a):
        np.testing.assert_array_equal(x[:, 0], y)  # each window still has its own target


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"sequence_length": 0}, "sequence_length must be an int >= 1"),
        ({"sequence_length": 3, "sampling_rate": 0}, "sampling_rate must be"),
        ({"sequence_length": 3, "batch_size": None}, "batch_size must be an int"),
        ({"sequence_length": 3, "start_index": 20}, "start_index must be < len"),
        ({"sequence_length": 3, "start_index": 5, "end_index": 5}, "end_index must be in"),
        ({"sequence_length": 30}, "a window spans 30 steps, more than the 20"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(np.arange(20), None, **kwargs)


def test_a_conv1d_forecaster_trains_on_its_batches(device):
    """Predict the next value of a noisy sine wave from the 16 before it."""
    steps = np.arange(1200)
    series = (np.sin(steps * 0.1) + np.random.default_rng(1).normal(0, 0.05, 1200)).astype(
        np.float32
    )
    train = timeseries_dataset_from_array(
        series[:1000, None],
        series[16:1016],
        sequence_length=16,
        batch_size=32,
        shuffle=True,
        seed=0,
    )
    test = timeseries_dataset_from_array(
        series[1000:-16, None], series[1016:], sequence_length=16, batch_size=64
    )
    model = Sequential(
        [
            Input((16, 1)),
            layers.Conv1D(8, 4, activation="relu"),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.01), "mse")
    model.fit(train, epochs=5, verbose=0)
    assert model.evaluate(test, verbose=0) < 0.05  # the series' variance is 0.5
    assert model.predict(test, verbose=0).shape == (169, 1)


def test_tf_data_methods_of_keras_io_examples():
    """keras.io's weather forecast: ``for batch in dataset_train.take(1)``; and take, skip,
    map, cache and prefetch give batches that fit takes."""
    series = np.arange(200, dtype=np.float32).reshape(100, 2)
    dataset = timeseries_dataset_from_array(series, series[5:, 0], sequence_length=5, batch_size=16)
    for inputs, targets in dataset.take(1):
        assert inputs.shape == (16, 5, 2) and targets.shape == (16,)
    assert len(dataset) == 6 and len(list(dataset)) == 6
    assert [len(d) for d in (dataset.take(2), dataset.skip(2), dataset.take(-1))] == [2, 4, 6]
    np.testing.assert_array_equal(
        dataset.skip(2).take(1).as_numpy_iterator().__next__()[0], dataset[2][0]
    )
    doubled = dataset.map(lambda x, y: (x * 2, y), num_parallel_calls=-1).cache().prefetch(1)
    x, y = doubled[1]
    np.testing.assert_array_equal(x, dataset[1][0] * 2)
    np.testing.assert_array_equal(y, dataset[1][1])
    model = Sequential([Input((5, 2)), layers.Flatten(), layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(doubled.take(3), validation_data=dataset.skip(3), epochs=2, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]
    assert model.predict(dataset.map(lambda x, y: x), verbose=0).shape == (95, 1)
    with pytest.raises(ValueError, match="count of batches"):
        dataset.take(1.5)
