"""Keras' keras.visualization: boxes outlined as OpenCV outlines them, labels written above,
segmentation masks blended as Keras blends them (Keras 3.15 gave the same uint8 images for
random images and masks with num_classes given, blended or not, with and without a colour
mapping), and galleries written to PNG files."""

import numpy as np
import pytest

from minicnn import visualization as V

pytest.importorskip("matplotlib", reason="the galleries are drawn with matplotlib")


def _segment_distance(px, py, ax, ay, bx, by):
    length = (bx - ax) ** 2 + (by - ay) ** 2
    t = np.clip(((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length, 0, 1)
    return np.hypot(px - ax - t * (bx - ax), py - ay - t * (by - ay))


def _outline(height, width, x1, y1, x2, y2, thickness):
    """OpenCV's rectangle: the pixels within (thickness + 1) // 2 of one of the four edges
    (on one, for thickness 1). OpenCV 5.0's cv2.rectangle drew exactly these for 200 random
    boxes of thickness 1 to 6; so did Keras 3.15's draw_bounding_boxes with it, and minicnn's
    draw_bounding_boxes, byte for byte."""
    yy, xx = np.mgrid[:height, :width].astype(float)
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    distance = np.minimum.reduce(
        [_segment_distance(xx, yy, *corners[i], *corners[(i + 1) % 4]) for i in range(4)]
    )
    return distance <= (0 if thickness == 1 else (thickness + 1) // 2)


@pytest.mark.parametrize("thickness", [1, 2, 3, 4, 5])
def test_a_box_is_outlined_on_exactly_its_edges(thickness):
    images = np.zeros((1, 20, 24, 3), np.uint8)
    boxes = {"boxes": np.array([[[4, 3, 15, 12]]], np.float32), "labels": np.array([[0]])}
    drawn = V.draw_bounding_boxes(
        images, boxes, "xyxy", color=(255, 0, 9), line_thickness=thickness
    )
    assert drawn.shape == images.shape and drawn.dtype == np.uint8
    expected = _outline(20, 24, 4, 3, 15, 12, thickness)
    np.testing.assert_array_equal(drawn[0, ..., 0] == 255, expected)
    np.testing.assert_array_equal(drawn[0, ..., 2], np.where(expected, 9, 0))
    assert images.max() == 0  # the input is left as it was
    same = {"boxes": np.array([[[4, 3, 11, 9]]], np.float32), "labels": np.array([[0]])}
    np.testing.assert_array_equal(
        V.draw_bounding_boxes(images, same, "xywh", color=(255, 0, 9), line_thickness=thickness),
        drawn,
    )


def test_labels_are_written_and_padding_is_skipped():
    images = np.zeros((2, 64, 80, 3), np.float32)  # floats up to 1: fractions of 255
    boxes = {
        "boxes": np.array([[[10, 40, 60, 60], [5, 5, 20, 20]], [[0, 0, 5, 5], [1, 1, 9, 9]]]),
        "labels": np.array([[0, -1], [1, 1]]),
        "confidences": np.array([[0.9, 0.5], [0.2, 0.3]]),
    }
    plain = V.draw_bounding_boxes(images, boxes, "xyxy", color=(0, 255, 0))
    named = V.draw_bounding_boxes(
        images, boxes, "xyxy", class_mapping={0: "coat"}, color=(0, 255, 0), font_scale=0.5
    )
    assert not plain[0, 5:21, 5:21].any()  # label -1: padding, not drawn
    # "coat | 0.90" above the box (whose top is at y=40), on a baseline 8 rows above it.
    above = named[0, :39, 10:80, 1] == 255  # the outline, 2 wide, reaches up to row 39
    assert above[:33].sum() > 40 and not plain[0, :39, 10:80].any()
    assert not above[33:].any()  # nothing below the baseline's row, 32
    np.testing.assert_array_equal(named[1], plain[1])  # label 1 has no name: box only
    channels_first = V.draw_bounding_boxes(
        images.transpose(0, 3, 1, 2), boxes, "xyxy", color=(0, 255, 0), data_format="channels_first"
    )
    np.testing.assert_array_equal(channels_first, plain.transpose(0, 3, 1, 2))
    gray = V.draw_bounding_boxes(np.full((2, 64, 80, 1), 0.5), boxes, "xyxy", color=(200, 0, 0))
    assert gray.shape == (2, 64, 80, 1) and set(np.unique(gray)) == {127, 200}


def test_bad_boxes_are_named():
    images = np.zeros((1, 8, 8, 3), np.uint8)
    with pytest.raises(TypeError, match="should be a dict"):
        V.draw_bounding_boxes(images, np.zeros((1, 1, 4)), "xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels' keys"):
        V.draw_bounding_boxes(images, {"boxes": np.zeros((1, 1, 4))}, "xyxy")
    with pytest.raises(ValueError, match="batched 4D"):
        V.draw_bounding_boxes(images[0], {"boxes": [], "labels": []}, "xyxy")
    with pytest.raises(ValueError, match=r"labels of shape \(batch, boxes\)"):
        V.draw_bounding_boxes(
            images, {"boxes": np.zeros((1, 2, 4)), "labels": np.zeros((1, 3))}, "xyxy"
        )


def test_segmentation_masks_blend_as_keras():
    images = np.full((1, 4, 5, 3), 100.0, np.float32)
    masks = np.zeros((1, 4, 5), np.int32)
    masks[0, 1:3, 1:4] = 2
    masks[0, 0, 0] = -1  # ignore_index
    drawn = V.draw_segmentation_masks(images, masks, num_classes=3, alpha=0.5)
    palette = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    second = (2 * palette) % 255
    np.testing.assert_array_equal(drawn[0, 1, 1], (100 * 0.5 + second * 0.5).astype(np.uint8))
    np.testing.assert_array_equal(drawn[0, 3, 4], [50, 50, 50])  # class 0: black, blended
    np.testing.assert_array_equal(drawn[0, 0, 0], [100, 100, 100])
    mapping = {0: (0, 0, 0), 1: (9, 9, 9), 2: (255, 0, 0)}
    solid = V.draw_segmentation_masks(
        images, masks[..., None], color_mapping=mapping, blend=False, ignore_index=0
    )
    np.testing.assert_array_equal(solid[0, 2, 3], [255, 0, 0])
    assert solid.dtype == np.uint8
    with pytest.raises(TypeError, match="integer dtype"):
        V.draw_segmentation_masks(images, masks.astype(np.float32))
    with pytest.raises(ValueError, match="color_mapping has no colour for classes"):
        V.draw_segmentation_masks(images, masks, color_mapping={2: (1, 2, 3)})
    with pytest.raises(ValueError, match="one class per pixel"):
        V.draw_segmentation_masks(images, masks[:, :2])


def _png_shape(path):
    import matplotlib.image

    return matplotlib.image.imread(str(path)).shape


def test_galleries_are_written_whole(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((5, 28, 28, 1)).astype(np.float32)
    path = tmp_path / "gallery.png"
    names = {i: f"class {i}" for i in range(10)}
    V.plot_image_gallery(
        images,
        y_true=[1, 2, 3, 4, 5],
        y_pred=[1, 2, 3, 4, 0],
        label_map=names,
        value_range=(0, 1),
        path=path,
    )
    tall, wide, _ = _png_shape(path)
    assert tall > wide > 50  # 3 rows of 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.png"]  # no temporary left
    boxes = {"boxes": np.array([[[2, 2, 20, 20]]] * 5), "labels": np.zeros((5, 1), int)}
    V.plot_bounding_box_gallery(
        images,
        "xyxy",
        y_true=boxes,
        y_pred=boxes,
        value_range=(0, 1),
        class_mapping=names,
        legend=True,
        font_scale=0.3,
        rows=1,
        cols=5,
        path=tmp_path / "boxes.png",
    )
    tall, wide, _ = _png_shape(tmp_path / "boxes.png")
    assert wide > 3 * tall
    masks = (images[..., 0] > 0.5).astype(np.int32)
    V.plot_segmentation_mask_gallery(
        images, 2, value_range=(0, 1), y_true=masks, y_pred=1 - masks, path=tmp_path / "seg.png"
    )
    tall, wide, _ = _png_shape(tmp_path / "seg.png")
    assert tall > wide  # 5 rows of image, truth and prediction
    with pytest.raises(ValueError, match="either `path` to be set, or `show`"):
        V.plot_image_gallery(images, path=tmp_path / "x.png", show=True)
    with pytest.raises(ValueError, match="a `label_map` must also be provided"):
        V.plot_image_gallery(images, y_true=[1], path=tmp_path / "x.png")
    with pytest.raises(ValueError, match="Only pass `legend` OR `legend_handles`"):
        V.plot_bounding_box_gallery(images, "xyxy", legend=True, legend_handles=[1])
