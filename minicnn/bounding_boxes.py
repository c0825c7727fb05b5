"""Keras' ``keras.utils.bounding_boxes``: boxes of shape (..., 4) in Keras' formats, as
NumPy arrays (a dict {"boxes", "labels"} where Keras takes one). ``convert_format``
goes through xyxy as Keras does (Keras 3.15 gave the same to float32's rounding, 1e-7, over
all 81 pairs of formats; clip, crop, pad and compute_iou exactly; affine_transform, compute_ciou
and the anchor deltas to float32's rounding)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import ops
from .config import epsilon as backend_epsilon

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


def _image_size(image_shape: Any) -> tuple[Any, Any]:
    return (None, None) if image_shape is None else tuple(image_shape)[:2]


def _pair_as(
    first: Any, second: Any, source: str, target: str, image_shape: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of boxes in ``target`` format; relative ones need the image's shape."""
    if "rel" in source and image_shape is None:
        raise ValueError(
            "When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` "
            f"argument must be provided. Received `image_shape`: {image_shape}"
        )
    height, width = _image_size(image_shape)
    return (
        convert_format(first, source, target, height, width),
        convert_format(second, source, target, height, width),
    )


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
    first, second = _pair_as(first, second, bounding_box_format, "yxyx", image_shape)
    low = np.maximum(first[..., :, None, :2], second[..., None, :, :2])
    high = np.minimum(first[..., :, None, 2:4], second[..., None, :, 2:4])
    sides = np.maximum(high - low, 0)
    intersection = sides[..., 0] * sides[..., 1]
    areas = [(b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) for b in (first, second)]
    union = areas[0][..., :, None] + areas[1][..., None, :] - intersection
    iou = intersection / (union + np.float32(backend_epsilon()))
    if not use_masking:
        return iou
    padding = (first.max(axis=-1) < 0)[..., :, None] | (second.max(axis=-1) < 0)[..., None, :]
    return np.where(padding, np.asarray(mask_val, iou.dtype), iou)


def compute_ciou(
    boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None
) -> np.ndarray:
    """Complete IoU of each box of ``boxes1`` with the box at the same place in ``boxes2``
    (shapes (..., 4) that broadcast): the IoU less the squared distance of the centres over
    the squared diagonal of the smallest box around both, less the aspect-ratio term of
    Zheng et al. (2020), with Keras' epsilons."""
    first, second = _pair_as(boxes1, boxes2, bounding_box_format, "xyxy", image_shape)
    eps = np.float32(backend_epsilon())
    x1, y1, x2, y2 = (v[..., 0] for v in _parts(first))
    u1, v1, u2, v2 = (v[..., 0] for v in _parts(second))
    width1, height1 = x2 - x1, y2 - y1 + eps
    width2, height2 = u2 - u1, v2 - v1 + eps
    intersection = np.maximum(np.minimum(x2, u2) - np.maximum(x1, u1), 0) * np.maximum(
        np.minimum(y2, v2) - np.maximum(y1, v1), 0
    )
    union = width1 * height1 + width2 * height2 - intersection + eps
    iou = intersection / (union + eps)
    hull_width = np.maximum(x2, u2) - np.minimum(x1, u1)
    hull_height = np.maximum(y2, v2) - np.minimum(y1, v1)
    diagonal = hull_width**2 + hull_height**2 + eps
    centres = ((x1 + x2) / 2 - (u1 + u2) / 2) ** 2 + ((y1 + y2) / 2 - (v1 + v2) / 2) ** 2
    shape_term = (
        np.float32(4 / math.pi**2)
        * (np.arctan(width2 / height2) - np.arctan(width1 / height1)) ** 2
    )
    alpha = shape_term / (shape_term - iou + (1 + eps))
    return iou - (centres / diagonal + shape_term * alpha)


def _inverse_affine_matrix(
    angle: np.ndarray,
    translate_x: np.ndarray,
    translate_y: np.ndarray,
    scale: np.ndarray,
    shear_x: np.ndarray,
    shear_y: np.ndarray,
    height: Any,
    width: Any,
    center_x: Any,
    center_y: Any,
) -> np.ndarray:
    """Keras' (and TF's) matrix of an image's affine transform, (batch, 2, 3): it maps the
    pixel grid of the output image to the input's, which moves points the other way."""
    radians = np.float32(math.pi / 180)
    rot, sx, sy = -angle * radians, -shear_x * radians, -shear_y * radians
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    tx, ty = -translate_x * (width - 1), -translate_y * (height - 1)
    cos_sy, tan_sx = np.cos(sy), np.tan(sx)
    a = np.cos(rot - sy) / cos_sy
    b = a * tan_sx + np.sin(rot)
    c = -np.sin(rot - sy) / cos_sy
    d = np.cos(rot) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    return np.stack([np.stack([a0, a1, a2], -1), np.stack([b0, b1, b2], -1)], -2)


def affine_transform(
    boxes: Any,
    angle: Any,
    translate_x: Any,
    translate_y: Any,
    scale: Any,
    shear_x: Any,
    shear_y: Any,
    height: Any,
    width: Any,
    center_x: Any = None,
    center_y: Any = None,
    bounding_box_format: str = "xyxy",
) -> np.ndarray:
    """xyxy boxes (batch, N, 4), or (N, 4) for one image, through Keras' affine transform
    of an image of ``height`` x ``width``: the corners pass through the matrix of
    RandomAffine-style parameters (degrees for angle and shears, fractions of the image for
    the translations and the centre, 0.5 by default), one value per image or one for all;
    each box becomes the smallest box around its four moved corners."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("affine_transform: Keras takes xyxy boxes only.")
    array = ops.convert_to_numpy(boxes).astype(np.float32)
    single = array.ndim == 2
    if single:
        array = array[None]
    if array.ndim != 3 or array.shape[-1] != 4:
        raise ValueError(
            f"affine_transform: boxes of shape (batch, N, 4) or (N, 4); got {array.shape}."
        )
    batch = array.shape[0]

    def per_image(value: Any, name: str) -> np.ndarray:
        v = np.asarray(ops.convert_to_numpy(value), np.float32).reshape(-1)
        if v.size not in (1, batch):
            raise ValueError(f"affine_transform: {name} has {v.size} values for {batch} images.")
        return np.broadcast_to(v, (batch,))

    matrix = _inverse_affine_matrix(
        per_image(angle, "angle"),
        per_image(translate_x, "translate_x"),
        per_image(translate_y, "translate_y"),
        per_image(scale, "scale"),
        per_image(shear_x, "shear_x"),
        per_image(shear_y, "shear_y"),
        np.float32(height),
        np.float32(width),
        per_image(0.5 if center_x is None else center_x, "center_x"),
        per_image(0.5 if center_y is None else center_y, "center_y"),
    )
    x1, y1, x2, y2 = (array[..., i] for i in range(4))
    corners = np.stack(
        [np.stack(pair, -1) for pair in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], -2
    )
    homogeneous = np.concatenate([corners, np.ones_like(corners[..., :1])], -1)
    moved = np.einsum("bnky,bxy->bnkx", homogeneous, matrix)
    result = np.concatenate([moved.min(axis=2), moved.max(axis=2)], -1)
    return result[0] if single else result


def _anchor_arguments(variance: Any, encoding: str, name: str) -> np.ndarray | None:
    if encoding not in ("center_xywh", "center_yxhw"):
        raise ValueError(
            f"`{name}` should be one of 'center_xywh' or 'center_yxhw', got {encoding}"
        )
    if variance is None:
        return None
    variance = np.asarray(ops.convert_to_numpy(variance), np.float32)
    if variance.shape[-1:] != (4,):
        raise ValueError(f"`variance` must be length 4, got {variance}")
    return variance


def encode_box_to_deltas(
    anchors: Any,
    boxes: Any,
    anchor_format: str,
    box_format: str,
    encoding_format: str = "center_yxhw",
    variance: Any = None,
    image_shape: Any = None,
) -> np.ndarray:
    """The regression targets of ``boxes`` (N, 4) or (batch, N, 4) against ``anchors``
    (N, 4): the centre's offset in anchor sizes and the log of the size ratio, in
    ``encoding_format`` order, divided by ``variance`` when given."""
    variance = _anchor_arguments(variance, encoding_format, "encoding_format")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    eps = np.float32(backend_epsilon())
    anchor_sizes = np.maximum(anchors[..., 2:], eps)
    box_sizes = np.maximum(boxes[..., 2:], eps)
    deltas = np.concatenate(
        [(boxes[..., :2] - anchors[..., :2]) / anchor_sizes, np.log(box_sizes / anchor_sizes)],
        axis=-1,
    )
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(
    anchors: Any,
    boxes_delta: Any,
    anchor_format: str,
    box_format: str,
    encoded_format: str = "center_yxhw",
    variance: Any = None,
    image_shape: Any = None,
) -> Any:
    """The inverse of ``encode_box_to_deltas``: boxes in ``box_format`` from the deltas
    against the anchors; dicts of levels (as a feature pyramid's) decode level by level."""
    variance = _anchor_arguments(variance, encoded_format, "encoded_format")
    height, width = _image_size(image_shape)

    def decode_level(anchor: Any, delta: Any) -> np.ndarray:
        encoded = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = np.asarray(ops.convert_to_numpy(delta), np.float32)
        if variance is not None:
            delta = delta * variance
        box = np.concatenate(
            [
                delta[..., :2] * encoded[..., 2:] + encoded[..., :2],
                np.exp(delta[..., 2:]) * encoded[..., 2:],
            ],
            axis=-1,
        )
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode_level(a, boxes_delta[level]) for level, a in anchors.items()}
    return decode_level(anchors, boxes_delta)
