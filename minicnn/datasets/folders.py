"""What Keras' ``*_dataset_from_directory`` functions share: files in one folder per class
(or labels given, or none), their order, shuffling, the validation split and its messages,
and batches of (items, labels) loaded when asked for. Each kind (images, texts, audio) says
which files it reads and how it loads one."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..data_checks import positive_int
from ..dataset_methods import BatchedDataset
from ..progress import print_msg

LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both")


def _files(folder: str, follow_links: bool, extensions: tuple[str, ...]) -> list[str]:
    """The files of ``extensions`` under ``folder`` (at any depth), in alphanumeric order."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        found += [os.path.join(root, f) for f in files if f.lower().endswith(extensions)]
    return sorted(found)


def index_files(
    directory: str,
    labels: Any,
    class_names: Sequence[str] | None,
    follow_links: bool,
    extensions: tuple[str, ...],
    kind: str,
) -> tuple[list[str], np.ndarray | None, list[str]]:
    """The files, their labels (None when unlabeled) and the class names."""
    if labels == "inferred":
        folders = sorted(
            d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))
        )
        if class_names is not None:
            if sorted(class_names) != folders:
                raise ValueError(
                    f"class_names {list(class_names)} must be the subfolders of {directory}: "
                    f"{folders}."
                )
            folders = list(class_names)
        paths, ids = [], []
        for k, name in enumerate(folders):
            files = _files(os.path.join(directory, name), follow_links, extensions)
            paths += files
            ids += [k] * len(files)
        return paths, np.array(ids, np.int64), folders
    paths = _files(directory, follow_links, extensions)
    if labels is None:
        return paths, None, []
    given = np.asarray(labels)
    if given.ndim != 1 or len(given) != len(paths):
        raise ValueError(
            f"labels must be 'inferred', None, or one label per file ({len(paths)} {kind} found "
            f"in {directory}, in alphanumeric order of their paths); got {len(given)} labels."
        )
    return paths, given.astype(np.int64), [str(k) for k in range(int(given.max()) + 1)]


class FolderDataset(BatchedDataset):
    """Batches of (items, labels), or items alone when unlabeled, loaded when asked for.
    ``class_names`` and ``file_paths`` are Keras' attributes; with ``shuffle`` the files are
    dealt into batches anew after every epoch. A kind writes ``load`` (one file) and
    ``stack`` (a batch of them)."""

    def __init__(
        self,
        paths: list[str],
        ids: np.ndarray | None,
        class_names: list[str],
        label_mode: str | None,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
    ) -> None:
        super().__init__()
        self.file_paths, self.ids, self.class_names = paths, ids, class_names
        self.label_mode, self.batch_size, self.shuffle = label_mode, batch_size, shuffle
        self._generator = np.random.default_rng(seed)
        self._order = np.arange(len(paths))

    def load(self, path: str) -> Any:
        raise NotImplementedError

    def stack(self, items: list[Any]) -> np.ndarray:
        return np.stack(items)

    def __len__(self) -> int:
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        items = self.stack([self.load(self.file_paths[i]) for i in rows])
        if self.ids is None or self.label_mode is None:
            return items
        return items, self._labels(self.ids[rows])

    def _labels(self, ids: np.ndarray) -> np.ndarray:
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[ids]
        if self.label_mode == "binary":
            return ids.astype(np.float32)[:, None]
        return ids

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._generator.shuffle(self._order)


def from_directory(
    directory: str | os.PathLike,
    extensions: tuple[str, ...],
    kind: str,  # what the files are, plural: "images", "text files", "audio files"
    make: Callable[[list[str], np.ndarray | None, list[str], str | None, int], FolderDataset],
    labels: Any,
    label_mode: str | None,
    class_names: Sequence[str] | None,
    batch_size: int,
    shuffle: bool,
    seed: int | None,
    validation_split: float | None,
    subset: str | None,
    follow_links: bool,
    verbose: bool,
) -> Any:
    """Keras' checks, messages, shuffle and split; ``make(paths, ids, class_names,
    label_mode, batch_size)`` builds each dataset."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}.")
    if labels not in ("inferred", None) and isinstance(labels, str):
        raise ValueError(f"labels must be 'inferred', None or a list of labels; got {labels!r}.")
    if label_mode not in LABEL_MODES:
        raise ValueError(
            f"label_mode must be one of int, categorical, binary or None; got {label_mode!r}."
        )
    batch_size = positive_int(batch_size, "batch_size")
    if validation_split is not None:
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}.")
        if subset not in SUBSETS:
            raise ValueError(
                f"With validation_split, subset must be 'training', 'validation' or 'both'; got "
                f"{subset!r}."
            )
        if shuffle and seed is None:
            raise ValueError(
                "If using `validation_split` and shuffling the data, you must provide a `seed` "
                "argument, to make sure that there is no overlap between the training and "
                "validation subset."
            )
    elif subset is not None:
        raise ValueError(f"subset={subset!r} needs a validation_split.")

    paths, ids, names = index_files(directory, labels, class_names, follow_links, extensions, kind)
    if ids is None:
        label_mode = None
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    if verbose:
        if ids is None:
            print_msg(f"Found {len(paths)} files.")
        else:
            print_msg(f"Found {len(paths)} files belonging to {len(names)} classes.")
    if not paths:
        raise ValueError(f"No {kind} found in directory {directory}. Allowed formats: {extensions}")
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        ids = None if ids is None else ids[order]

    def part(where: slice) -> FolderDataset:
        return make(
            paths[where], None if ids is None else ids[where], names, label_mode, batch_size
        )

    if validation_split is None:
        return part(slice(None))
    held_out = int(validation_split * len(paths))
    training, validation = slice(0, len(paths) - held_out), slice(len(paths) - held_out, None)
    if verbose:
        if subset in ("training", "both"):
            print_msg(f"Using {len(paths) - held_out} files for training.")
        if subset in ("validation", "both"):
            print_msg(f"Using {held_out} files for validation.")
    if subset == "both":
        return part(training), part(validation)
    return part(training if subset == "training" else validation)
