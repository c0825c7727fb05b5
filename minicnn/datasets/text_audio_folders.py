"""Keras' ``text_dataset_from_directory`` (.txt files: batches of strings, for
TextVectorization) and ``audio_dataset_from_directory`` (.wav files, read with Python's
``wave``: batches of float32 samples in [-1, 1], (batch, samples, channels), zero-padded to
the longest of the batch or to ``output_sequence_length``), with the folder layout, labels,
shuffling and validation split of ``image_dataset_from_directory``."""

from __future__ import annotations

import os
import wave
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data_checks import positive_int
from .folders import FolderDataset, from_directory


class TextFolderDataset(FolderDataset):
    """Batches of (texts, labels): each file's text (UTF-8), cut at ``max_length``
    characters when given."""

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_length = max_length

    def load(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as e:
            raise ValueError(f"{path} is not UTF-8 text ({e}).") from None
        return text if self.max_length is None else text[: self.max_length]

    def stack(self, items: list[Any]) -> np.ndarray:
        return np.array(items, dtype=object)


def text_dataset_from_directory(
    directory: str | os.PathLike,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
) -> Any:
    """Keras' ``text_dataset_from_directory``: a dataset of (texts, labels) batches (or the
    training and validation ones with ``subset="both"``)."""
    length = None if max_length is None else positive_int(max_length, "max_length")

    def make(paths, ids, names, mode, batch):  # noqa: ANN001, ANN202
        return TextFolderDataset(paths, ids, names, mode, batch, shuffle, seed, max_length=length)

    return from_directory(
        directory,
        (".txt",),
        "text files",
        make,
        labels,
        label_mode,
        class_names,
        batch_size,
        shuffle,
        seed,
        validation_split,
        subset,
        follow_links,
        verbose,
    )


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """A PCM .wav file's samples as float32 (samples, channels) in [-1, 1], and its rate."""
    try:
        with wave.open(path, "rb") as f:
            width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
            frames = f.readframes(f.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise ValueError(f"{path} is not a PCM .wav file Python's wave can read ({e}).") from None
    if width == 1:  # 8-bit PCM is unsigned, centered on 128
        samples = (np.frombuffer(frames, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        full_scale = 2.0 ** (8 * width - 1)  # 32768 for 16 bits
        samples = np.frombuffer(frames, f"<i{width}").astype(np.float32) / full_scale
    else:
        raise ValueError(f"{path}: {8 * width}-bit samples; 8, 16 or 32-bit PCM are read.")
    return samples.reshape(-1, channels), rate


class AudioFolderDataset(FolderDataset):
    """Batches of (audio, labels): (batch, samples, channels) float32, zero-padded."""

    def __init__(
        self,
        *args: Any,
        sampling_rate: int | None = None,
        output_sequence_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sampling_rate, self.output_sequence_length = sampling_rate, output_sequence_length

    def load(self, path: str) -> np.ndarray:
        samples, rate = read_wav(path)
        if self.sampling_rate is not None and rate != self.sampling_rate:
            raise ValueError(
                f"{path} is sampled at {rate} Hz, not the sampling_rate {self.sampling_rate} "
                "(minicnn does not resample: convert the files first)."
            )
        if self.output_sequence_length is not None:
            samples = samples[: self.output_sequence_length]
        return samples

    def stack(self, items: list[Any]) -> np.ndarray:
        channels = {item.shape[1] for item in items}
        if len(channels) != 1:
            raise ValueError(f"A batch mixes audio of {sorted(channels)} channels.")
        length = self.output_sequence_length or max(len(item) for item in items)
        out = np.zeros((len(items), length, channels.pop()), np.float32)
        for row, item in zip(out, items, strict=True):
            row[: len(item)] = item
        return out


def audio_dataset_from_directory(
    directory: str | os.PathLike,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int = 32,
    sampling_rate: int | None = None,
    output_sequence_length: int | None = None,
    ragged: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
) -> Any:
    """Keras' ``audio_dataset_from_directory``: (audio, labels) batches of .wav files; files
    at another rate than ``sampling_rate`` are refused by name (no resampling here)."""
    if ragged:
        raise ValueError("ragged=True is not available: batches are zero-padded arrays.")
    rate = None if sampling_rate is None else positive_int(sampling_rate, "sampling_rate")
    length = (
        None
        if output_sequence_length is None
        else positive_int(output_sequence_length, "output_sequence_length")
    )

    def make(paths, ids, names, mode, batch):  # noqa: ANN001, ANN202
        return AudioFolderDataset(
            paths,
            ids,
            names,
            mode,
            batch,
            shuffle,
            seed,
            sampling_rate=rate,
            output_sequence_length=length,
        )

    return from_directory(
        directory,
        (".wav",),
        "audio files",
        make,
        labels,
        label_mode,
        class_names,
        batch_size,
        shuffle,
        seed,
        validation_split,
        subset,
        follow_links,
        verbose,
    )
