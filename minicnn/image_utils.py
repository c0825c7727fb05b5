"""Keras' image helpers: ``load_img`` (a Pillow image, resized as Keras does),
``img_to_array``, ``array_to_img`` and ``save_img`` (written atomically); channels last, as
minicnn's models take them."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .datasets.image_folders import COLOR_MODES
from .fileio import atomic_write
from .layer_base import channels_last

# Keras' names of Pillow's resampling filters.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pillow() -> Any:
    from PIL import Image

    return Image


def load_img(
    path: str | os.PathLike,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Any:
    """The image at ``path`` as a Pillow image in ``color_mode`` ('grayscale', 'rgb' or
    'rgba'), resized to ``target_size`` (height, width) with ``interpolation``; with
    ``keep_aspect_ratio`` the largest centered box of the target's aspect ratio is cut out
    first, as Keras does."""
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {', '.join(COLOR_MODES)}; got {color_mode!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"interpolation must be one of {', '.join(INTERPOLATIONS)}; got {interpolation!r}."
        )
    image_module = _pillow()
    from PIL import UnidentifiedImageError

    try:
        with image_module.open(path) as opened:
            image = opened.convert(COLOR_MODES[color_mode][0])
    except FileNotFoundError:
        raise FileNotFoundError(f"No image at {os.fspath(path)!r}.") from None
    except (OSError, UnidentifiedImageError) as e:
        raise ValueError(f"{os.fspath(path)} is not an image file Pillow can read ({e}).") from None
    if target_size is None:
        return image
    height, width = (int(d) for d in target_size)
    if height < 1 or width < 1:
        raise ValueError(f"target_size must be positive (height, width), got {target_size!r}.")
    if keep_aspect_ratio:
        box_width = min(image.width, image.height * width // height)
        box_height = min(image.height, image.width * height // width)
        left, top = (image.width - box_width) // 2, (image.height - box_height) // 2
        image = image.crop((left, top, left + box_width, top + box_height))
    resample = getattr(image_module.Resampling, interpolation.upper())
    if image.size != (width, height):
        image = image.resize((width, height), resample)
    return image


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A Pillow image as an array (height, width, channels), float32 by default, or
    (channels, height, width) with data_format='channels_first'; a grayscale image gets one
    channel."""
    channels_first = channels_last(data_format, "img_to_array") == "channels_first"
    array = np.asarray(img, dtype=dtype or np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"An image gives (height, width[, channels]); got shape {array.shape}.")
    return array.transpose(2, 0, 1) if channels_first else array


def array_to_img(
    x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None
) -> Any:
    """An array (height, width, channels of 1, 3 or 4; channels first with
    data_format='channels_first') as a Pillow image. ``scale`` maps its range onto 0..255
    first (x - min, then times 255 / max); the values are then cut to whole numbers, as
    Keras does, and a grayscale array above 255 becomes a 32-bit image (mode "I")."""
    channels_first = channels_last(data_format, "array_to_img") == "channels_first"
    x = np.asarray(x, dtype=dtype or np.float32)
    if x.ndim == 3 and channels_first:
        x = x.transpose(1, 2, 0)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"array_to_img takes (height, width, channels) with 1, 3 or 4 channels; got shape "
            f"{x.shape}."
        )
    if scale:
        x = x - x.min()
        top = x.max()
        if top:
            x = x / top
        x = x * 255
    pil = _pillow()
    if x.shape[-1] == 1:
        if x.max() > 255:
            return pil.fromarray(x[:, :, 0].astype(np.int32), "I")
        return pil.fromarray(np.clip(x[:, :, 0], 0, 255).astype(np.uint8), "L")
    pixels = np.clip(x, 0, 255).astype(np.uint8)
    return pil.fromarray(pixels, "RGB" if x.shape[-1] == 3 else "RGBA")


def save_img(
    path: str | os.PathLike,
    x: Any,
    data_format: str | None = None,
    file_format: str | None = None,
    scale: bool = True,
    **kwargs: Any,
) -> None:
    """``array_to_img(x)`` saved at ``path`` (the format from its suffix, or
    ``file_format``), written to a temporary file and renamed, so a crash never leaves half
    an image."""
    image = array_to_img(x, data_format, scale)
    file_format = file_format or os.path.splitext(os.fspath(path))[1].lstrip(".").upper()
    if file_format == "JPG":
        file_format = "JPEG"
    if image.mode == "RGBA" and file_format == "JPEG":
        image = image.convert("RGB")  # JPEG has no alpha channel; Keras drops it too
    atomic_write(path, lambda f: image.save(f, format=file_format or None, **kwargs))


def smart_resize(
    x: Any,
    size: Any,
    interpolation: str = "bilinear",
    data_format: str = "channels_last",
    backend_module: Any = None,
) -> Any:
    """Keras' smart_resize: an image (or a batch) resized to ``size`` without distorting it:
    the largest centered window of the target's aspect ratio, resized. A NumPy array gives
    a NumPy array."""
    from . import ops
    from .backend import to_numpy

    out = ops.image.resize(
        x, tuple(size), interpolation, crop_to_aspect_ratio=True, data_format=data_format
    )
    return to_numpy(out.data) if isinstance(x, np.ndarray) else out
