"""Keras' ``keras.visualization``: images with their boxes and segmentation masks drawn in,
and galleries of them (matplotlib). Boxes and their labels are drawn by minicnn itself, where
Keras needs OpenCV: OpenCV's rectangles of ``line_thickness`` pixel for pixel (OpenCV 5.0
drew the same pixels for 200 random boxes of widths 1 to 6) and labels rasterized from
matplotlib's font outlines (so the text is not OpenCV's Hershey font, and its size only
follows ``font_scale`` as OpenCV's does)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from . import ops
from .bounding_boxes import convert_format
from .config import image_data_format
from .fileio import atomic_write

# OpenCV's FONT_HERSHEY_SIMPLEX is about 22 pixels from baseline to cap at font_scale 1; an
# em of matplotlib's DejaVu Sans this large has capitals that tall.
_EM_PIXELS = 30.0


def _images_of(images: Any, data_format: str | None) -> tuple[np.ndarray, bool]:
    """A batch of images as a (batch, height, width, channels) array, and whether it came
    channels-first."""
    array = ops.convert_to_numpy(images)
    if array.ndim != 4:
        raise ValueError(
            f"`images` must be batched 4D tensor. Received: images.shape={array.shape}"
        )
    first = (data_format or image_data_format()) == "channels_first"
    return (array.transpose(0, 2, 3, 1) if first else array), first


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """Keras' reading of pixel values: floats up to 1 are fractions of 255."""
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype(np.uint8)


def _to_255(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Images of ``value_range`` as uint8 pixels (0-255)."""
    low, high = value_range
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
    pixels = (images.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def _rectangle(image: np.ndarray, box: tuple[int, int, int, int], color: Any, width: int) -> None:
    """The outline of the box x1, y1, x2, y2 as OpenCV's ``rectangle`` draws it: the pixels
    within (width + 1) // 2 of its edges (on them, for a width of 1), so a thick outline has
    round outer corners; clipped to the image."""
    x1, x2 = sorted(box[0::2])
    y1, y2 = sorted(box[1::2])
    reach = 0.5 if width <= 1 else (width + 1) // 2
    pad = int(math.ceil(reach))
    height, across = image.shape[:2]
    top, bottom = max(y1 - pad, 0), min(y2 + pad, height - 1)
    left, right = max(x1 - pad, 0), min(x2 + pad, across - 1)
    if top > bottom or left > right:
        return
    yy, xx = np.mgrid[top : bottom + 1, left : right + 1]
    off_x = np.maximum.reduce([x1 - xx, xx - x2, np.zeros_like(xx)])
    off_y = np.maximum.reduce([y1 - yy, yy - y2, np.zeros_like(yy)])
    inside = np.minimum.reduce([xx - x1, x2 - xx, yy - y1, y2 - yy])
    outside = (off_x > 0) | (off_y > 0)
    distance = np.where(outside, np.hypot(off_x, off_y), inside)
    image[top : bottom + 1, left : right + 1][distance <= reach] = color


def _text_mask(text: str, font_scale: float, thickness: int) -> np.ndarray:
    """The pixels of ``text`` as a boolean (height, width) mask, its last row the baseline."""
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), text, size=_EM_PIXELS * font_scale * 0.75)
    extent = path.get_extents()
    width, height = int(math.ceil(extent.x1)) + 1, int(math.ceil(extent.y1)) + 1
    if width <= 1 or height <= 1:
        return np.zeros((0, 0), bool)
    xs, ys = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    inside = path.contains_points(np.stack([xs.ravel(), ys.ravel()], axis=1))
    mask = inside.reshape(height, width)[::-1]  # the glyphs' y axis points up
    for _ in range(max(thickness, 1) - 1):  # bolder, a pixel a step
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:, 1:] |= mask[:, :-1]
        mask = grown
    return mask


def _put_text(image: np.ndarray, mask: np.ndarray, x: int, baseline: int, color: Any) -> None:
    height, width = mask.shape
    top, left = baseline - height + 1, x
    rows = slice(max(top, 0), min(top + height, image.shape[0]))
    cols = slice(max(left, 0), min(left + width, image.shape[1]))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return
    part = mask[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
    image[rows, cols][part] = color


def _text_place(x: int, y: int, font_scale: float, thickness: int) -> tuple[int, int]:
    """Keras' place of a label: above the box where it fits, else inside its top."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def draw_bounding_boxes(
    images: Any,
    bounding_boxes: dict[str, Any],
    bounding_box_format: str,
    class_mapping: dict[int, str] | None = None,
    color: Any = (128, 128, 128),
    line_thickness: int = 2,
    text_thickness: int = 1,
    font_scale: float = 1.0,
    data_format: str | None = None,
) -> np.ndarray:
    """The images (batch, height, width, channels) as uint8, with each box of
    ``bounding_boxes["boxes"]`` (batch, boxes, 4; in ``bounding_box_format``) outlined in
    ``color``; a box whose label is -1 is padding and is skipped. Where ``class_mapping``
    names a box's label, the name (and its ``confidences`` score, if given) is written above
    the box. Floats up to 1 are taken as fractions of 255, as Keras takes them."""
    array, first = _images_of(images, data_format)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(
            "`bounding_boxes` should be a dict. Received: "
            f"bounding_boxes={bounding_boxes} of type {type(bounding_boxes)}"
        )
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(
            "`bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. "
            f"Received: bounding_boxes={bounding_boxes}"
        )
    height, width = array.shape[1:3]
    boxes = convert_format(bounding_boxes["boxes"], bounding_box_format, "xyxy", height, width)
    labels = ops.convert_to_numpy(bounding_boxes["labels"])
    scores = bounding_boxes.get("confidences")
    scores = None if scores is None else ops.convert_to_numpy(scores)
    if boxes.ndim != 3 or labels.shape != boxes.shape[:2] or len(boxes) != len(array):
        raise ValueError(
            f"draw_bounding_boxes: boxes of shape (batch, boxes, 4) and labels of shape "
            f"(batch, boxes) for {len(array)} images; got {boxes.shape} and {labels.shape}."
        )
    class_mapping = class_mapping or {}
    drawn = _as_uint8(array).copy()
    paint = np.asarray(color, np.uint8)[: drawn.shape[-1]]
    for i, image in enumerate(drawn):
        for j, box in enumerate(boxes[i]):
            label = int(labels[i, j])
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in box.astype(np.int32))
            _rectangle(image, (x1, y1, x2, y2), paint, line_thickness)
            if label in class_mapping:
                text = str(class_mapping[label])
                if scores is not None:
                    text = f"{text} | {float(scores[i, j]):.2f}"
                x, baseline = _text_place(x1, y1, font_scale, text_thickness)
                mask = _text_mask(text, font_scale, text_thickness)
                _put_text(image, mask, x, baseline, paint)
    return drawn.transpose(0, 3, 1, 2) if first else drawn


def _palette(num_classes: int) -> list[list[int]]:
    """Keras' default colours of classes."""
    steps = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * steps) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(
    images: Any,
    segmentation_masks: Any,
    num_classes: int | None = None,
    color_mapping: dict[int, Any] | None = None,
    alpha: float = 0.8,
    blend: bool = True,
    ignore_index: int = -1,
    data_format: str | None = None,
) -> np.ndarray:
    """The images with each pixel of class c (``segmentation_masks``: integer classes,
    (batch, height, width) or with a last axis of 1) painted in ``color_mapping[c]`` (Keras'
    palette by default), blended as ``image * (1 - alpha) + colour * alpha`` to uint8;
    pixels of ``ignore_index`` keep the image. ``num_classes`` defaults to the largest class
    plus one, so that every class present is painted (Keras' own default leaves its largest
    class out)."""
    array, first = _images_of(images, data_format)
    masks = ops.convert_to_numpy(segmentation_masks)
    if first and masks.ndim == 4:
        masks = masks.transpose(0, 2, 3, 1)
    if masks.dtype.kind not in "iu":
        raise TypeError(
            f"`segmentation_masks` must be in integer dtype. Received: "
            f"segmentation_masks.dtype={masks.dtype}"
        )
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.shape != array.shape[:3]:
        raise ValueError(
            f"segmentation_masks of shape {masks.shape} for images of shape {array.shape}: "
            "one class per pixel, (batch, height, width) or (batch, height, width, 1)."
        )
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    if num_classes is None:
        num_classes = int(masks.max()) + 1 if masks.size else 0
    if color_mapping is None:
        colors = _palette(num_classes)
    else:
        missing = [c for c in range(num_classes) if c not in color_mapping]
        if missing:
            raise ValueError(f"color_mapping has no colour for classes {missing}.")
        colors = [color_mapping[c] for c in range(num_classes)]
    images_float = array.astype(np.float32)
    painted = images_float.copy()
    for c, color in enumerate(colors):
        painted[masks == c] = np.asarray(color, np.float32)[: array.shape[-1]]
    if blend:
        mixed = images_float * (1 - alpha) + painted * alpha
        keep = (masks == ignore_index) | (masks < 0) | (masks >= num_classes)
        painted = np.where(keep[..., None], images_float, mixed)
    out = painted.astype(np.uint8)
    return out.transpose(0, 3, 1, 2) if first else out


def plot_image_gallery(
    images: Any,
    y_true: Any = None,
    y_pred: Any = None,
    label_map: dict[int, str] | None = None,
    rows: int | None = None,
    cols: int | None = None,
    value_range: tuple[float, float] = (0, 255),
    scale: float = 2,
    path: str | Path | None = None,
    show: bool | None = None,
    transparent: bool = True,
    dpi: int = 60,
    legend_handles: Any = None,
    data_format: str | None = None,
) -> None:
    """Keras' gallery: the first ``rows * cols`` images in a grid (by default about square),
    each titled with its label and prediction through ``label_map``; saved to ``path``
    (written whole or not at all) or shown. ``value_range`` is the images' range, mapped to
    0-255."""
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(
            "If `y_true` or `y_pred` are provided, a `label_map` must also be provided."
        )
    show = path is None if show is None else show
    array, _ = _images_of(images, data_format)
    count = len(array)
    rows = rows or int(math.ceil(math.sqrt(count)))
    cols = cols or max(int(math.ceil(count / rows)), 1)
    pixels = _to_255(array[: rows * cols], value_range)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)  # gray images as gray, not a colormap
    truth = None if y_true is None else ops.convert_to_numpy(y_true).reshape(-1)
    guess = None if y_pred is None else ops.convert_to_numpy(y_pred).reshape(-1)

    import matplotlib

    if not show:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False, squeeze=False
    )
    figure.subplots_adjust(wspace=0, hspace=0)
    if legend_handles is not None:
        figure.legend(handles=legend_handles, loc="lower center")
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index >= len(pixels):
            continue
        axis.imshow(pixels[index])
        axis.margins(x=0, y=0)
        title = []
        if truth is not None and index < len(truth):
            title.append(f"Label: {label_map.get(int(truth[index]), 'Unknown')}")
        if guess is not None and index < len(guess):
            title.append(f"Pred: {label_map.get(int(guess[index]), 'Unknown')}")
        if title:
            axis.set_title("  ".join(title), fontsize=8)
    figure.tight_layout()
    if path is not None:
        kind = Path(path).suffix.lstrip(".") or "png"
        atomic_write(
            path,
            lambda f: figure.savefig(
                f,
                format=kind,
                pad_inches=0,
                bbox_inches="tight",
                transparent=transparent,
                dpi=dpi,
            ),
        )
        plt.close(figure)
    elif show:
        plt.show()
        plt.close(figure)


def plot_bounding_box_gallery(
    images: Any,
    bounding_box_format: str,
    y_true: dict[str, Any] | None = None,
    y_pred: dict[str, Any] | None = None,
    value_range: tuple[float, float] = (0, 255),
    true_color: Any = (0, 188, 212),
    pred_color: Any = (255, 235, 59),
    line_thickness: int = 2,
    font_scale: float = 1.0,
    text_thickness: int | None = None,
    class_mapping: dict[int, str] | None = None,
    ground_truth_mapping: dict[int, str] | None = None,
    prediction_mapping: dict[int, str] | None = None,
    legend: bool = False,
    legend_handles: Any = None,
    rows: int | None = None,
    cols: int | None = None,
    data_format: str | None = None,
    **kwargs: Any,
) -> None:
    """A gallery (``plot_image_gallery``'s, which takes ``kwargs``) of the images with the
    true boxes drawn in ``true_color`` and the predicted ones in ``pred_color``; ``legend``
    adds a legend of the two."""
    if legend and legend_handles:
        raise ValueError(
            "Only pass `legend` OR `legend_handles` to "
            "`keras.visualization.plot_bounding_box_gallery()`."
        )
    array, _ = _images_of(images, data_format)
    drawn = _to_255(array, value_range)
    for boxes, color, mapping in (
        (y_true, true_color, ground_truth_mapping or class_mapping),
        (y_pred, pred_color, prediction_mapping or class_mapping),
    ):
        if boxes is not None:
            drawn = draw_bounding_boxes(
                drawn,
                boxes,
                bounding_box_format,
                class_mapping=mapping,
                color=color,
                line_thickness=line_thickness,
                text_thickness=text_thickness or line_thickness,
                font_scale=font_scale,
                data_format="channels_last",
            )
    if legend:
        from matplotlib import patches

        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    plot_image_gallery(
        drawn,
        value_range=(0, 255),
        legend_handles=legend_handles,
        rows=rows,
        cols=cols,
        data_format="channels_last",
        **kwargs,
    )


def plot_segmentation_mask_gallery(
    images: Any,
    num_classes: int,
    value_range: tuple[float, float] = (0, 255),
    y_true: Any = None,
    y_pred: Any = None,
    color_mapping: dict[int, Any] | None = None,
    blend: bool = True,
    alpha: float = 0.8,
    ignore_index: int = -1,
    data_format: str | None = None,
    **kwargs: Any,
) -> None:
    """A gallery of one row per image: the image, then its true and predicted masks drawn
    on it (``draw_segmentation_masks``)."""
    array, first = _images_of(images, data_format)
    pixels = _to_255(array, value_range)
    columns = [pixels]
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = ops.convert_to_numpy(masks)
            if first and masks.ndim == 4:
                masks = masks.transpose(0, 2, 3, 1)
            columns.append(
                draw_segmentation_masks(
                    pixels,
                    masks.astype(np.int32),
                    num_classes=num_classes,
                    color_mapping=color_mapping,
                    alpha=alpha,
                    blend=blend,
                    ignore_index=ignore_index,
                    data_format="channels_last",
                )
            )
    gallery = np.stack(columns, axis=1).reshape(-1, *pixels.shape[1:])
    plot_image_gallery(
        gallery,
        value_range=(0, 255),
        rows=len(array),
        cols=len(columns),
        data_format="channels_last",
        **kwargs,
    )
