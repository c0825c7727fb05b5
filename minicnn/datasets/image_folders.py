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
from ..data_checks import positive_int
from .folders import FolderDataset, from_directory

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}


class ImageFolderDataset(FolderDataset):
    """Batches of (images, labels), or images alone when unlabeled, loaded when asked for."""

    def __init__(
        self,
        paths: list[str],
        ids: np.ndarray | None,
        class_names: list[str],
        label_mode: str | None,
        batch_size: int,
        color_mode: str,
        image_size: tuple[int, int],
        interpolation: str,
        crop_to_aspect_ratio: bool,
        pad_to_aspect_ratio: bool,
        shuffle: bool,
        seed: int | None,
    ) -> None:
        super().__init__(paths, ids, class_names, label_mode, batch_size, shuffle, seed)
        self.color_mode, self.image_size = color_mode, image_size
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio

    def load(self, path: str) -> np.ndarray:
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
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {', '.join(COLOR_MODES)}; got {color_mode!r}.")
    image_ops.checked_interpolation(interpolation, "", image_ops.RESIZE_INTERPOLATIONS)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
    size = (positive_int(image_size[0], "image_size"), positive_int(image_size[1], "image_size"))

    def make(paths, ids, names, mode, batch):  # noqa: ANN001, ANN202
        return ImageFolderDataset(
            paths,
            ids,
            names,
            mode,
            batch,
            color_mode,
            size,
            interpolation,
            crop_to_aspect_ratio,
            pad_to_aspect_ratio,
            shuffle,
            seed,
        )

    return from_directory(
        directory,
        IMAGE_EXTENSIONS,
        "images",
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
