"""callbacks.TensorBoard and minicnn.tensorboard: event files TensorBoard reads, checked by
an independent reader written here (TFRecord frames with their masked CRC-32C, protobuf
fields), against the History of the same fit."""

import struct

import numpy as np
import pytest
from test_models import toy_data

import minicnn
from minicnn import Input, Sequential, optimizers
from minicnn import layers as L
from minicnn.callbacks import TensorBoard
from minicnn.optimizers import schedules
from minicnn.tensorboard import crc32c


def fields(data):
    """A protobuf message's (field, value) pairs: ints, floats (wire 1 as double, 5 as
    float) and bytes."""
    out, i = [], 0
    while i < len(data):
        key, i = varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 1:
            value, i = struct.unpack("<d", data[i : i + 8])[0], i + 8
        elif wire == 5:
            value, i = struct.unpack("<f", data[i : i + 4])[0], i + 4
        else:
            size, i = varint(data, i)
            value, i = data[i : i + size], i + size
        out.append((field, value))
    return out


def varint(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def unmask(crc):
    crc = (crc - 0xA282EAD8) & 0xFFFFFFFF
    return ((crc >> 17) | (crc << 15)) & 0xFFFFFFFF


def events(folder):
    """Every Event of the folder's one event file, its frames' checksums verified."""
    (path,) = folder.glob("events.out.tfevents.*.v2")
    data, i, out = path.read_bytes(), 0, []
    while i < len(data):
        header = data[i : i + 8]
        (length,) = struct.unpack("<Q", header)
        assert unmask(struct.unpack("<I", data[i + 8 : i + 12])[0]) == crc32c(header)
        body = data[i + 12 : i + 12 + length]
        assert unmask(struct.unpack("<I", data[i + 12 + length : i + 16 + length])[0]) == crc32c(
            body
        )
        out.append(dict(fields(body)))
        i += 16 + length
    return out


def scalars(folder):
    """{tag: [(step, value), ...]} of the folder's scalar summaries."""
    found = {}
    for event in events(folder):
        if 5 in event:
            value = dict(fields(dict(fields(event[5]))[1]))
            if 2 in value:
                found.setdefault(value[1].decode(), []).append((event[2], value[2]))
    return found


def test_crc32c_known_answer():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_fit_writes_what_history_holds(tmp_path):
    minicnn.set_random_seed(0)
    x, y = toy_data(48)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(2, 3, activation="relu"),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )
    rate = schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)
    model.compile(optimizers.Adam(rate), "sparse_categorical_crossentropy", ["accuracy"])
    board = TensorBoard(tmp_path, histogram_freq=1, update_freq=2, write_steps_per_second=True)
    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y), callbacks=[board]
    )
    first = events(tmp_path / "train")[0]
    assert first[3] == b"brain.Event:2"
    train, validation = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    for key in ("loss", "accuracy"):
        steps, values = zip(*train[f"epoch_{key}"], strict=True)
        assert steps == (0, 1)
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)
        np.testing.assert_allclose(
            [v for _, v in validation[f"epoch_{key}"]], history.history[f"val_{key}"], rtol=1e-6
        )
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8, 10, 12]  # 6 steps an epoch
    assert len(train["epoch_learning_rate"]) == 2 and train["epoch_steps_per_second"][0][1] > 0
    histograms = {}
    for event in events(tmp_path / "train"):
        if 5 in event:
            value = dict(fields(dict(fields(event[5]))[1]))
            if 5 in value:
                histograms.setdefault(value[1].decode(), []).append(dict(fields(value[5])))
    kernel = model.layers[0].get_weights()[0]
    assert set(histograms) == {
        "conv2d/kernel/histogram",
        "conv2d/bias/histogram",
        "dense/kernel/histogram",
        "dense/bias/histogram",
    }
    last = histograms["conv2d/kernel/histogram"][-1]
    assert last[3] == kernel.size and last[4] == pytest.approx(float(kernel.sum()), rel=1e-5)
    assert last[1] == pytest.approx(float(kernel.min()), rel=1e-6)
    counts = np.frombuffer(last[7], "<f8")
    assert counts.sum() == kernel.size


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="update_freq must be"):
        TensorBoard(update_freq=0)
    with pytest.raises(ValueError, match="profile_batch and embeddings are not available"):
        TensorBoard(write_images=True)
    with pytest.raises(ValueError, match="histogram_freq must be"):
        TensorBoard(histogram_freq=-1)
