"""image_dataset_from_directory on folders of PNG and JPEG files that the tests write: classes,
labels and their order, Keras' messages, splits, color modes, resizing, and a model trained
on it."""

import numpy as np
import pytest
from PIL import Image

from minicnn import Input, Sequential, backend, image_ops, optimizers
from minicnn import layers as L
from minicnn.utils import image_dataset_from_directory


def write_folders(root, per_class=(5, 3, 4), size=(12, 10)):
    """Class k's images: flat gray level 60 * k + 20 (PNG), every third one a JPEG; also a
    stray text file that is not an image."""
    names = ["cat", "dog", "emu"][: len(per_class)]
    for k, (name, count) in enumerate(zip(names, per_class, strict=True)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(count):
            pixels = np.full((*size, 3), 60 * k + 20, np.uint8)
            pixels[0, 0] = (255, 0, 0)  # one red corner, so that color modes differ
            ext = "jpg" if i % 3 == 2 else "png"
            Image.fromarray(pixels).save(folder / f"{i:02d}.{ext}", quality=100)
        (folder / "notes.txt").write_text("not an image")
    return names


def test_classes_labels_and_keras_messages(tmp_path, capsys):
    names = write_folders(tmp_path)
    data = image_dataset_from_directory(tmp_path, image_size=(6, 5), batch_size=4, shuffle=False)
    assert capsys.readouterr().out == "Found 12 files belonging to 3 classes.\n"
    assert data.class_names == names and len(data) == 3
    images, labels = zip(*(data[i] for i in range(len(data))), strict=True)
    images, labels = np.concatenate(images), np.concatenate(labels)
    assert images.shape == (12, 6, 5, 3) and images.dtype == np.float32
    assert labels.tolist() == [0] * 5 + [1] * 3 + [2] * 4
    # Flat images stay flat (up to JPEG's rounding) at their class's gray level.
    centers = images[:, 3, 2, 1]
    np.testing.assert_allclose(centers, 60 * labels + 20, atol=2)
    assert [p.rsplit("/", 2)[1:] for p in data.file_paths[:2]] == [
        ["cat", "00.png"],
        ["cat", "01.png"],
    ]


def test_images_are_resized_as_keras_resizes_them(tmp_path):
    folder = tmp_path / "only"
    folder.mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (9, 7), np.uint8)
    Image.fromarray(pixels).save(folder / "a.png")
    for kwargs in ({}, {"crop_to_aspect_ratio": True}, {"interpolation": "nearest"}):
        data = image_dataset_from_directory(
            tmp_path, color_mode="grayscale", image_size=(4, 6), verbose=False, **kwargs
        )
        images, labels = data[0]
        expected = image_ops.resize(
            pixels.astype(np.float32)[None, :, :, None],
            (4, 6),
            kwargs.get("interpolation", "bilinear"),
            kwargs.get("crop_to_aspect_ratio", False),
        ).data
        np.testing.assert_array_equal(images, expected)
        assert labels.tolist() == [0]


def test_label_and_color_modes(tmp_path):
    write_folders(tmp_path, per_class=(2, 2))
    options = dict(image_size=(4, 4), batch_size=4, shuffle=False, verbose=False)
    _, onehot = image_dataset_from_directory(tmp_path, label_mode="categorical", **options)[0]
    np.testing.assert_array_equal(onehot, np.eye(2, dtype=np.float32)[[0, 0, 1, 1]])
    _, binary = image_dataset_from_directory(tmp_path, label_mode="binary", **options)[0]
    assert binary.shape == (4, 1) and binary.dtype == np.float32
    alone = image_dataset_from_directory(tmp_path, label_mode=None, **options)[0]
    assert isinstance(alone, np.ndarray) and alone.shape == (4, 4, 4, 3)
    gray = image_dataset_from_directory(tmp_path, color_mode="grayscale", **options)[0][0]
    rgba = image_dataset_from_directory(tmp_path, color_mode="rgba", **options)[0][0]
    assert gray.shape[-1] == 1 and rgba.shape[-1] == 4
    np.testing.assert_array_equal(rgba[..., 3], 255)
    given = image_dataset_from_directory(tmp_path, labels=[1, 0, 1, 0], **options)
    assert given[0][1].tolist() == [1, 0, 1, 0]  # in the files' alphanumeric order
    reordered = image_dataset_from_directory(tmp_path, class_names=["dog", "cat"], **options)
    assert reordered[0][1].tolist() == [0, 0, 1, 1] and reordered.class_names == ["dog", "cat"]


def test_splits_are_disjoint_and_reproducible(tmp_path, capsys):
    write_folders(tmp_path)
    options = dict(image_size=(4, 4), batch_size=5, validation_split=0.25, seed=7)
    training, validation = image_dataset_from_directory(tmp_path, subset="both", **options)
    assert capsys.readouterr().out.splitlines() == [
        "Found 12 files belonging to 3 classes.",
        "Using 9 files for training.",
        "Using 3 files for validation.",
    ]
    assert set(training.file_paths).isdisjoint(validation.file_paths)
    again = image_dataset_from_directory(tmp_path, subset="validation", verbose=False, **options)
    assert again.file_paths == validation.file_paths


def test_a_model_learns_from_the_folders(tmp_path):
    write_folders(tmp_path, per_class=(8, 8, 8))
    data = image_dataset_from_directory(
        tmp_path, image_size=(8, 8), batch_size=6, seed=1, verbose=False
    )
    backend.set_random_seed(0)
    model = Sequential(
        [
            Input((8, 8, 3)),
            L.Rescaling(1 / 255),
            L.Conv2D(4, 3, activation="relu"),
            L.GlobalAveragePooling2D(),
            L.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizers.Adam(0.05), metrics=["accuracy"])
    history = model.fit(data, epochs=30, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert model.predict(data, verbose=0).shape == (24, 3)


def test_bad_folders_and_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="Could not find directory"):
        image_dataset_from_directory(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images found in directory"):
        image_dataset_from_directory(tmp_path, verbose=False)
    write_folders(tmp_path / "data")
    root = tmp_path / "data"
    with pytest.raises(ValueError, match="you must provide a `seed` argument"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="there must be exactly 2 class_names"):
        image_dataset_from_directory(root, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="class_names \\['cat'\\] must be the subfolders"):
        image_dataset_from_directory(root, class_names=["cat"])
    with pytest.raises(ValueError, match="one label per file \\(12 images found"):
        image_dataset_from_directory(root, labels=[0, 1], verbose=False)
    (root / "cat" / "broken.png").write_bytes(b"not really a png")
    data = image_dataset_from_directory(root, shuffle=False, batch_size=12, verbose=False)
    with pytest.raises(ValueError, match="broken.png is not an image file Pillow can read"):
        data[0]


def test_the_keras_io_pipeline_of_augmented_batches(tmp_path):
    """keras.io's "Image classification from scratch": the training batches mapped through
    the augmentation layers, prefetched, and one batch looked at with take(1)."""
    write_folders(tmp_path)
    train_ds = image_dataset_from_directory(tmp_path, image_size=(8, 8), batch_size=4, seed=1)
    augmentation = [L.RandomFlip("horizontal"), L.RandomRotation(0.1)]

    def data_augmentation(images):
        for layer in augmentation:
            images = layer(images)
        return images

    for images, labels in train_ds.take(1):
        assert images.shape == (4, 8, 8, 3) and labels.shape == (4,)
    assert train_ds.class_names == ["cat", "dog", "emu"]
    train_ds = train_ds.map(lambda img, label: (data_augmentation(img), label)).prefetch(2)
    images, labels = train_ds[0]
    assert np.asarray(images).shape == (4, 8, 8, 3)
    model = Sequential([Input((8, 8, 3)), L.Rescaling(1 / 255), L.Flatten(), L.Dense(3)])
    model.compile("adam", "sparse_categorical_crossentropy")
    assert len(model.fit(train_ds, epochs=2, verbose=0).history["loss"]) == 2
