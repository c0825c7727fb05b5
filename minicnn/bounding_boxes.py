"""Keras' ``keras.utils.bounding_boxes``: boxes of shape (..., 4) in Keras' formats, as
NumPy arrays (a dict {"boxes", "labels"} where Keras takes one). ``convert_format``
goes through xyxy as Keras does (Keras 3.15 gave the same to float32's rounding, 1e-7, over
all 81 pairs of formats; clip, crop, pad and compute_iou exactly)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops

EPSILON = 1e-7  # Keras' backend.epsilon(), in compute_iou's denominator

SUPPORTED_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)


def _parts(boxes: np.ndarray) -> list[np.ndarray]:
    return np.split(boxes, 4, axis=-1)


def _joined(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts, axis=-1)


def _to_xyxy(boxes: np.ndarray, source: str, height: Any, width: Any) -> np.ndarray:
    a, b, c, d = _parts(boxes)
    if source == "xyxy":
        return boxes
    if source == "yxyx":
        return _joined(b, a, d, c)
    if source == "xywh":
        return _joined(a, b, a + c, b + d)
    if source in ("center_xywh", "center_yxhw"):
        cx, cy, w, h = (a, b, c, d) if source == "center_xywh" else (b, a, d, c)
        return _joined(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    if source == "rel_xyxy":
        return _joined(a * width, b * height, c * width, d * height)
    if source == "rel_yxyx":
        return _joined(b * width, a * height, d * width, c * height)
    if source == "rel_xywh":
        return _joined(a * width, b * height, (a + c) * width, (b + d) * height)
    half_w, half_h = c / 2.0, d / 2.0  # rel_center_xywh
    return _joined(
        (a - half_w) * width, (b - half_h) * height, (a + half_w) * width, (b + half_h) * height
    )


def _from_xyxy(boxes: np.ndarray, target: str, height: Any, width: Any) -> np.ndarray:
    x1, y1, x2, y2 = _parts(boxes)
    if target == "xyxy":
        return boxes
    if target == "yxyx":
        return _joined(y1, x1, y2, x2)
    if target == "xywh":
        return _joined(x1, y1, x2 - x1, y2 - y1)
    cx, cy = x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0
    if target == "center_xywh":
        return _joined(cx, cy, x2 - x1, y2 - y1)
    if target == "center_yxhw":
        return _joined(cy, cx, y2 - y1, x2 - x1)
    if target == "rel_xyxy":
        return _joined(x1 / width, y1 / height, x2 / width, y2 / height)
    if target == "rel_yxyx":
        return _joined(y1 / height, x1 / width, y2 / height, x2 / width)
    if target == "rel_xywh":
        return _joined(x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
    return _joined(cx / width, cy / height, (x2 - x1) / width, (y2 - y1) / height)


def convert_format(
    boxes: Any,
    source: str,
    target: str,
    height: Any = None,
    width: Any = None,
    dtype: str = "float32",
) -> Any:
    """Boxes from format ``source`` to ``target`` (case-insensitive): xyxy, yxyx, xywh,
    center_xywh, center_yxhw and the relative rel_xyxy, rel_yxyx, rel_xywh and
    rel_center_xywh, which need the image's ``height`` and ``width``."""
    if isinstance(boxes, dict):
        converted = convert_format(boxes["boxes"], source, target, height, width, dtype)
        boxes["boxes"] = converted
        return boxes
    array = ops.convert_to_numpy(boxes)
    if array.shape[-1:] != (4,):
        raise ValueError(
            "`boxes` must be a tensor with the last dimension of 4. "
            f"Received: boxes.shape={array.shape}"
        )
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}")
    relative = source.startswith("rel_") or target.startswith("rel_")
    if relative and (width is None or height is None):
        raise ValueError(
            "convert_format() must receive `height` and `width` transforming between "
            f"relative and absolute formats; got source={source!r}, target={target!r}, "
            f"height={height} and width={width}."
        )
    array = array.astype(dtype)
    if source == target:
        return array
    kind = np.dtype(dtype).type
    height = None if height is None else kind(height)
    width = None if width is None else kind(width)
    if source.startswith("rel_") and target.startswith("rel_"):  # one scale: none needed
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(array, source, height, width), target, height, width)


def _area(boxes: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = _parts(boxes)
    return ((x2 - x1) * (y2 - y1))[..., 0]


def clip_to_image_size(
    bounding_boxes: dict[str, Any],
    height: Any = None,
    width: Any = None,
    bounding_box_format: str = "xyxy",
) -> dict[str, Any]:
    """Boxes (xyxy, or rel_xyxy within [0, 1]) clipped to the image; a box left with no
    area gets label -1, as Keras marks it."""
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            f"clip_to_image_size: bounding_box_format 'xyxy' or 'rel_xyxy', as Keras' takes; "
            f"got {bounding_box_format!r}."
        )
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = ops.convert_to_numpy(bounding_boxes["boxes"])
    if bounding_box_format == "xyxy":
        high = np.array([width, height, width, height], boxes.dtype)
        boxes = np.clip(boxes, 0, high)
    else:
        boxes = np.clip(boxes, 0.0, 1.0)
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if bounding_boxes.get("labels") is not None:
        result["labels"] = np.where(
            _area(boxes) > 0, ops.convert_to_numpy(bounding_boxes["labels"]), -1
        )
    return result


def crop(
    boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy"
) -> np.ndarray:
    """xyxy boxes in the frame of the crop at (top, left), clipped to its size."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("crop: Keras takes xyxy boxes only.")
    x1, y1, x2, y2 = _parts(ops.convert_to_numpy(boxes))
    clipped = [
        np.clip(v, 0, size)
        for v, size in zip(
            (x1 - left, y1 - top, x2 - left, y2 - top), (width, height, width, height), strict=True
        )
    ]
    return _joined(*clipped)


def pad(
    boxes: Any,
    top: Any,
    left: Any,
    height: Any = None,
    width: Any = None,
    bounding_box_format: str = "xyxy",
) -> np.ndarray:
    """xyxy boxes in the frame of the image padded by ``top`` rows and ``left`` columns."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("pad: Keras takes xyxy boxes only.")
    x1, y1, x2, y2 = _parts(ops.convert_to_numpy(boxes))
    return _joined(x1 + left, y1 + top, x2 + left, y2 + top)


def compute_iou(
    boxes1: Any,
    boxes2: Any,
    bounding_box_format: str,
    use_masking: bool = False,
    mask_val: float = -1,
    image_shape: Any = None,
) -> np.ndarray:
    """Intersection over union of each box of ``boxes1`` (N, 4) with each of ``boxes2``
    (M, 4): (N, M), or (batch, N, M) for batched boxes. With ``use_masking``, pairs where
    either box is padding (all its coordinates negative) get ``mask_val``."""
    first, second = ops.convert_to_numpy(boxes1), ops.convert_to_numpy(boxes2)
    for name, a in (("boxes1", first), ("boxes2", second)):
        if a.ndim not in (2, 3):
            raise ValueError(
                f"compute_iou() expects {name} to be batched, or to be unbatched: rank 2 or "
                f"3. Received len({name}.shape)={a.ndim}."
            )
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError(
            "When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` "
            f"argument must be provided. Received `image_shape`: {image_shape}"
        )
    height, width = (None, None) if image_shape is None else tuple(image_shape)[:2]
    first = convert_format(first, bounding_box_format, "yxyx", height, width)
    second = convert_format(second, bounding_box_format, "yxyx", height, width)
    low = np.maximum(first[..., :, None, :2], second[..., None, :, :2])
    high = np.minimum(first[..., :, None, 2:4], second[..., None, :, 2:4])
    sides = np.maximum(high - low, 0)
    intersection = sides[..., 0] * sides[..., 1]
    areas = [(b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) for b in (first, second)]
    union = areas[0][..., :, None] + areas[1][..., None, :] - intersection
    iou = intersection / (union + np.float32(EPSILON))
    if not use_masking:
        return iou
    padding = (first.max(axis=-1) < 0)[..., :, None] | (second.max(axis=-1) < 0)[..., None, :]
    return np.where(padding, np.asarray(mask_val, iou.dtype), iou)
