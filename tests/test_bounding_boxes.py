"""Keras' keras.utils.bounding_boxes: formats, clipping, crops, pads and IoU, checked by
hand-made boxes (Keras 3.15 agreed on random ones: see minicnn/bounding_boxes.py); CIoU,
affine transforms of boxes and anchor deltas."""

import itertools

import numpy as np
import pytest

from minicnn.utils import bounding_boxes as bb

BOXES = np.array([[10, 20, 30, 40], [50, 60, 70, 80]], np.float32)  # xyxy


def test_conversions_follow_keras_examples_and_go_back():
    np.testing.assert_array_equal(
        bb.convert_format(BOXES, "xyxy", "xywh"), [[10, 20, 20, 20], [50, 60, 20, 20]]
    )
    rel = bb.convert_format(BOXES, source="xyxy", target="rel_xyxy", height=200, width=300)
    np.testing.assert_allclose(rel, [[10 / 300, 0.1, 0.1, 0.2], [50 / 300, 0.3, 70 / 300, 0.4]])
    np.testing.assert_array_equal(
        bb.convert_format(BOXES, "xyxy", "center_yxhw"), [[30, 20, 20, 20], [70, 60, 20, 20]]
    )
    np.testing.assert_array_equal(
        bb.convert_format(BOXES, "XYXY", "yxyx"), [[20, 10, 40, 30], [60, 50, 80, 70]]
    )
    for source, target in itertools.permutations(bb.SUPPORTED_FORMATS, 2):
        there = bb.convert_format(BOXES, "xyxy", source, height=100, width=120)
        moved = bb.convert_format(there, source, target, height=100, width=120)
        back = bb.convert_format(moved, target, "xyxy", height=100, width=120)
        np.testing.assert_allclose(back, BOXES, rtol=1e-5, err_msg=f"{source} -> {target}")
    converted = bb.convert_format({"boxes": BOXES, "labels": np.array([1, 2])}, "xyxy", "xywh")
    assert converted["labels"].tolist() == [1, 2] and converted["boxes"][0, 2] == 20


def test_bad_boxes_and_formats_are_named():
    with pytest.raises(ValueError, match="last dimension of 4"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "xywh")
    with pytest.raises(ValueError, match="Invalid source or target format"):
        bb.convert_format(BOXES, "xyxy", "cxcywh")
    with pytest.raises(ValueError, match="must receive `height` and `width`"):
        bb.convert_format(BOXES, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="batched, or to be unbatched"):
        bb.compute_iou(BOXES[0], BOXES, "xyxy")


def test_clipping_marks_boxes_left_without_area():
    boxes = {
        "boxes": np.array([[-10, -20, 150, 160], [50, 40, 70, 80], [130, 10, 140, 20]]),
        "labels": np.array([0, 1, 2]),
    }
    clipped = bb.clip_to_image_size(boxes, height=100, width=120)
    np.testing.assert_array_equal(
        clipped["boxes"], [[0, 0, 120, 100], [50, 40, 70, 80], [120, 10, 120, 20]]
    )
    assert clipped["labels"].tolist() == [0, 1, -1]
    relative = bb.clip_to_image_size(
        {"boxes": np.array([[-0.5, 0.2, 1.5, 0.9]])}, bounding_box_format="rel_xyxy"
    )
    np.testing.assert_array_equal(relative["boxes"], [[0.0, 0.2, 1.0, 0.9]])
    with pytest.raises(ValueError, match="`height` and `width` must be set"):
        bb.clip_to_image_size(boxes)


def test_crop_and_pad_move_boxes_into_the_new_frame():
    np.testing.assert_array_equal(
        bb.crop(BOXES, 30, 20, 40, 45), [[0, 0, 10, 10], [30, 30, 45, 40]]
    )
    np.testing.assert_array_equal(bb.pad(BOXES, 5, 7), [[17, 25, 37, 45], [57, 65, 77, 85]])


def test_iou_of_every_pair_batched_and_masked():
    others = np.array([[20, 30, 40, 50], [10, 20, 30, 40], [-1, -1, -1, -1]], np.float32)
    iou = bb.compute_iou(BOXES, others, "xyxy")
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou[0, :2], [100 / 700, 1.0], rtol=1e-5)
    assert iou[1, 0] == 0
    masked = bb.compute_iou(BOXES, others, "xyxy", use_masking=True, mask_val=-1)
    assert masked[0, 2] == -1 and masked[1, 2] == -1 and masked[0, 1] == pytest.approx(1.0)
    batched = bb.compute_iou(np.stack([BOXES, BOXES + 5]), np.stack([BOXES, BOXES]), "xyxy")
    assert batched.shape == (2, 2, 2)
    np.testing.assert_allclose(batched[1, 0, 0], 225 / 575, rtol=1e-5)
    relative = bb.compute_iou(BOXES / 100, others / 100, "rel_xyxy", image_shape=(100, 100, 3))
    np.testing.assert_allclose(relative[:, :2], iou[:, :2], rtol=1e-5)


def test_ciou_is_iou_less_centre_distance_and_shape_terms():
    # Side by side, same shape: IoU 1/3, centres 5 apart, hull 15 x 10, no shape term.
    same_shape = bb.compute_ciou([0, 0, 10, 10], [5, 0, 15, 10], "xyxy")
    np.testing.assert_allclose(same_shape, 1 / 3 - 25 / 325, rtol=1e-6)
    apart = bb.compute_ciou([0, 0, 10, 10], [20, 0, 30, 20], "xyxy")
    np.testing.assert_allclose(apart, -0.32861254, rtol=1e-6)  # Keras 3.15's value
    pairs = bb.compute_ciou(BOXES, BOXES[::-1], "xyxy")
    assert pairs.shape == (2,) and (pairs < 0).all()
    np.testing.assert_allclose(bb.compute_ciou(BOXES, BOXES, "xyxy"), 1.0, atol=1e-6)
    relative = bb.convert_format(BOXES, "xyxy", "rel_xyxy", height=100, width=100)
    np.testing.assert_allclose(
        bb.compute_ciou(relative, relative[::-1], "rel_xyxy", image_shape=(100, 100, 3)),
        pairs,
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="`image_shape` argument must be provided"):
        bb.compute_ciou(relative, relative, "rel_xyxy")


@pytest.mark.parametrize(
    "angle, translate, scale, shear, expected",
    [  # Keras 3.15's boxes for a 101 x 101 image, around its centre (50, 50)
        (90, (0, 0), 1, 0, [[20, 70, 40, 90], [60, 30, 80, 50]]),
        (0, (0.1, -0.2), 1, 0, [[20, 0, 40, 20], [60, 40, 80, 60]]),
        (0, (0, 0), 2, 0, [[-30, -10, 10, 30], [50, 70, 90, 110]]),
        (0, (0, 0), 1, 45, [[-20, 20, 20, 40], [60, 60, 100, 80]]),
    ],
)
def test_affine_transform_moves_boxes_as_keras(angle, translate, scale, shear, expected):
    moved = bb.affine_transform(BOXES, angle, *translate, scale, shear, 0, 101, 101)
    np.testing.assert_allclose(moved, expected, atol=1e-4)
    batched = bb.affine_transform(
        np.stack([BOXES, BOXES]),
        [angle, 0],
        [translate[0], 0],
        [translate[1], 0],
        [scale, 1],
        [shear, 0],
        [0, 0],
        101,
        101,
    )
    np.testing.assert_allclose(batched[0], expected, atol=1e-4)
    np.testing.assert_allclose(batched[1], BOXES, atol=1e-4)  # the identity


def test_affine_transform_refuses_bad_arguments():
    with pytest.raises(NotImplementedError, match="xyxy"):
        bb.affine_transform(BOXES, 0, 0, 0, 1, 0, 0, 10, 10, bounding_box_format="xywh")
    with pytest.raises(ValueError, match="angle has 3 values for 2 images"):
        bb.affine_transform(np.stack([BOXES, BOXES]), [1, 2, 3], 0, 0, 1, 0, 0, 10, 10)


def test_anchor_deltas_encode_and_decode_back():
    anchors = np.array([[0, 0, 20, 10], [40, 40, 60, 80]], np.float32)  # xyxy
    same = bb.encode_box_to_deltas(anchors, anchors, "xyxy", "xyxy")
    np.testing.assert_allclose(same, 0, atol=1e-6)
    # Centre (10, 5) -> (15, 5): half an anchor width right; twice as tall.
    moved = bb.encode_box_to_deltas(
        anchors[:1], [[5, -5, 25, 15]], "xyxy", "xyxy", encoding_format="center_xywh"
    )
    np.testing.assert_allclose(moved, [[0.25, 0, 0, np.log(2)]], atol=1e-6)
    scaled = bb.encode_box_to_deltas(
        anchors[:1], [[5, -5, 25, 15]], "xyxy", "xyxy", "center_xywh", variance=[0.1, 0.1, 0.2, 0.2]
    )
    np.testing.assert_allclose(scaled, [[2.5, 0, 0, np.log(2) / 0.2]], rtol=1e-6)
    boxes = np.stack([BOXES, BOXES + 5])
    for encoding in ("center_yxhw", "center_xywh"):
        deltas = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", encoding, [1, 1, 2, 2])
        back = bb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "xywh", encoding, [1, 1, 2, 2])
        np.testing.assert_allclose(back, bb.convert_format(boxes, "xyxy", "xywh"), rtol=1e-5)
    levels = bb.decode_deltas_to_boxes({"P3": anchors}, {"P3": same}, "xyxy", "xyxy")
    np.testing.assert_allclose(levels["P3"], anchors, atol=1e-5)
    with pytest.raises(ValueError, match="`variance` must be length 4"):
        bb.encode_box_to_deltas(anchors, anchors, "xyxy", "xyxy", variance=[1, 2])
    with pytest.raises(ValueError, match="'center_xywh' or 'center_yxhw'"):
        bb.decode_deltas_to_boxes(anchors, same, "xyxy", "xyxy", encoded_format="xyxy")
