"""Keras' image helpers: load_img (colour modes, target_size, interpolation,
keep_aspect_ratio), img_to_array, array_to_img (scaling), save_img (atomic), and a loaded
image classified by a model."""

import numpy as np
import pytest
from PIL import Image

from minicnn import Input, Sequential, utils
from minicnn import layers as L


@pytest.fixture
def picture(tmp_path):
    """A 6 x 10 RGB image: a red left half, a blue right half."""
    pixels = np.zeros((6, 10, 3), np.uint8)
    pixels[:, :5, 0] = 200
    pixels[:, 5:, 2] = 100
    path = tmp_path / "picture.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def test_load_img_and_img_to_array(picture):
    path, pixels = picture
    array = utils.img_to_array(utils.load_img(path))
    assert array.dtype == np.float32 and array.shape == (6, 10, 3)
    np.testing.assert_array_equal(array, pixels)
    gray = utils.img_to_array(utils.load_img(path, color_mode="grayscale"))
    assert gray.shape == (6, 10, 1)
    np.testing.assert_allclose(gray[0, 0, 0], round(200 * 0.299), atol=1)  # ITU-R 601
    small = utils.load_img(path, target_size=(3, 5))
    assert small.size == (5, 3)
    np.testing.assert_array_equal(utils.img_to_array(small)[:, 0], [[200, 0, 0]] * 3)
    square = utils.load_img(path, target_size=(4, 4), keep_aspect_ratio=True)
    # The centered 6 x 6 box (columns 2..7) keeps half red, half blue.
    array = utils.img_to_array(square)
    assert array[:, 0, 0].min() == 200 and array[:, -1, 2].min() == 100


def test_array_to_img_scales_and_save_img_round_trips(tmp_path):
    x = np.linspace(-1, 1, 4 * 4 * 3, dtype=np.float32).reshape(4, 4, 3)
    image = utils.array_to_img(x)
    back = utils.img_to_array(image)
    assert back.min() == 0 and back.max() == 255
    path = tmp_path / "saved.png"
    utils.save_img(path, x)
    np.testing.assert_array_equal(utils.img_to_array(utils.load_img(path)), back)
    assert [p.name for p in tmp_path.iterdir()] == ["saved.png"]  # no temporary file left
    # As Keras: scaled values are cut (not rounded) to whole numbers; channels first too.
    ramp = np.array([0.0, 0.3, 0.99, 1.0], np.float32).reshape(1, 4, 1)
    assert utils.img_to_array(utils.array_to_img(ramp))[0, :, 0].tolist() == [0, 76, 252, 255]
    first = utils.img_to_array(image, data_format="channels_first")
    np.testing.assert_array_equal(first, back.transpose(2, 0, 1))
    again = utils.array_to_img(first, data_format="channels_first", scale=False)
    np.testing.assert_array_equal(utils.img_to_array(again), back)
    wide = utils.array_to_img(np.full((2, 2, 1), 300.0), scale=False)
    assert wide.mode == "I" and utils.img_to_array(wide).max() == 300
    gray = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    utils.save_img(tmp_path / "gray.jpg", gray, scale=False, quality=95)
    assert utils.load_img(tmp_path / "gray.jpg", color_mode="grayscale").size == (4, 4)


def test_a_loaded_image_goes_through_a_model(picture):
    path, _ = picture
    batch = utils.img_to_array(utils.load_img(path, target_size=(8, 8)))[None] / 255.0
    model = Sequential([Input((8, 8, 3)), L.Conv2D(2, 3), L.GlobalAveragePooling2D()])
    assert model.predict(batch, verbose=0).shape == (1, 2)
    assert utils.Sequence is utils.PyDataset


def test_bad_input_is_named(tmp_path, picture):
    path, _ = picture
    with pytest.raises(FileNotFoundError, match="No image at"):
        utils.load_img(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="is not an image file Pillow can read"):
        utils.load_img(tmp_path / "text.png")
    with pytest.raises(ValueError, match="interpolation must be one of"):
        utils.load_img(path, interpolation="cubic")
    with pytest.raises(ValueError, match="with 1, 3 or 4 channels"):
        utils.array_to_img(np.zeros((4, 4, 2)))
    message = "img_to_array: data_format must be 'channels_last' or 'channels_first', got 'ch"
    with pytest.raises(ValueError, match=message):
        utils.img_to_array(utils.load_img(path), data_format="channels_middle")
