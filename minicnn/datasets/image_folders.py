"""Keras' ``image_dataset_from_directory``: image files in one folder per class, as batches
for fit, evaluate and predict.

    main_directory/
        cats/  a.jpg b.png ...
        dogs/  c.jpg ...

Classes are the subfolders in alphanumeric order (or ``class_names``), labels their index.
Images are decoded with Pillow (matplotlib's own image library), converted to the color mode,
and resized as Keras resizes them (``image_ops.resize``: TensorFlow's half-pixel rule); pixel
values stay in [0, 255], as Keras gives them (a ``Rescaling(1 / 255)`` layer scales them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import image_ops
from ..batches import PyDataset
from ..data_checks import positive_int

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both")


def _image_files(folder: str, follow_links: bool) -> list[str]:
    """The image files under ``folder`` (at any depth), in alphanumeric order of their paths."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        found += [os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def _index(
    directory: str, labels: Any, class_names: Sequence[str] | None, follow_links: bool
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
            files = _image_files(os.path.join(directory, name), follow_links)
            paths += files
            ids += [k] * len(files)
        return paths, np.array(ids, np.int64), folders
    paths = _image_files(directory, follow_links)
    if labels is None:
        return paths, None, []
    given = np.asarray(labels)
    if given.ndim != 1 or len(given) != len(paths):
        raise ValueError(
            f"labels must be 'inferred', None, or one label per image file ({len(paths)} found "
            f"in {directory}, in alphanumeric order of their paths); got {len(given)} labels."
        )
    return paths, given.astype(np.int64), [str(k) for k in range(int(given.max()) + 1)]


class ImageFolderDataset(PyDataset):
    """Batches of (images, labels), or images alone when unlabeled, loaded when asked for.
    ``class_names`` and ``file_paths`` are Keras' attributes; with ``shuffle`` the images are
    dealt into batches anew after every epoch."""

    def __init__(
        self,
        paths: list[str],
        ids: np.ndarray | None,
        class_names: list[str],
        label_mode: str | None,
        color_mode: str,
        batch_size: int,
        image_size: tuple[int, int],
        interpolation: str,
        crop_to_aspect_ratio: bool,
        pad_to_aspect_ratio: bool,
        shuffle: bool,
        seed: int | None,
    ) -> None:
        super().__init__()
        self.file_paths, self.ids, self.class_names = paths, ids, class_names
        self.label_mode, self.color_mode = label_mode, color_mode
        self.batch_size, self.image_size = batch_size, image_size
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.shuffle = shuffle
        self._generator = np.random.default_rng(seed)
        self._order = np.arange(len(paths))

    def __len__(self) -> int:
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        images = np.stack([self._load(self.file_paths[i]) for i in rows])
        if self.ids is None or self.label_mode is None:
            return images
        return images, self._labels(self.ids[rows])

    def _labels(self, ids: np.ndarray) -> np.ndarray:
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[ids]
        if self.label_mode == "binary":
            return ids.astype(np.float32)[:, None]
        return ids

    def _load(self, path: str) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        mode, _ = COLOR_MODES[self.color_mode]
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert(mode), dtype=np.float32)
        except (OSError, UnidentifiedImageError) as e:
            raise ValueError(f"{path} is not an image file Pillow can read ({e}).") from None
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        resized = image_ops.resize(
            pixels[None],
            self.image_size,
            self.interpolation,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
        )
        return resized.data[0]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._generator.shuffle(self._order)


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    verbose: bool = True,
) -> ImageFolderDataset | tuple[ImageFolderDataset, ImageFolderDataset]:
    """Keras' ``image_dataset_from_directory``, with its arguments and messages: a dataset
    to give ``fit`` (or, with ``subset="both"``, the training and validation datasets).

    ``label_mode`` is 'int' (class ids), 'categorical' (one-hot rows), 'binary' (0/1 of shape
    (batch, 1), for two classes) or None (images alone). ``validation_split`` with ``subset``
    'training' or 'validation' takes the first or the last fraction of the (shuffled) files;
    shuffling then needs a ``seed``, so that both subsets come from the same order."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}.")
    if labels not in ("inferred", None) and isinstance(labels, str):
        raise ValueError(f"labels must be 'inferred', None or a list of labels; got {labels!r}.")
    if label_mode not in LABEL_MODES:
        raise ValueError(
            f"label_mode must be one of int, categorical, binary or None; got {label_mode!r}."
        )
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {', '.join(COLOR_MODES)}; got {color_mode!r}.")
    image_ops.checked_interpolation(interpolation)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
    batch_size = positive_int(batch_size, "batch_size")
    size = (positive_int(image_size[0], "image_size"), positive_int(image_size[1], "image_size"))
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

    paths, ids, names = _index(directory, labels, class_names, follow_links)
    if ids is None:
        label_mode = None
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    if verbose:
        if ids is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(names)} classes.")
    if not paths:
        raise ValueError(
            f"No images found in directory {directory}. Allowed formats: {IMAGE_EXTENSIONS}"
        )
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        ids = None if ids is None else ids[order]

    def make(part: slice) -> ImageFolderDataset:
        return ImageFolderDataset(
            paths[part],
            None if ids is None else ids[part],
            names,
            label_mode,
            color_mode,
            batch_size,
            size,
            interpolation,
            crop_to_aspect_ratio,
            pad_to_aspect_ratio,
            shuffle,
            seed,
        )

    if validation_split is None:
        return make(slice(None))
    held_out = int(validation_split * len(paths))
    training, validation = slice(0, len(paths) - held_out), slice(len(paths) - held_out, None)
    if verbose:
        if subset in ("training", "both"):
            print(f"Using {len(paths) - held_out} files for training.")
        if subset in ("validation", "both"):
            print(f"Using {held_out} files for validation.")
    if subset == "both":
        return make(training), make(validation)
    return make(training if subset == "training" else validation)
