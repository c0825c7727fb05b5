"""Every image augmentation layer (and the policies over them, and adaptive pooling) inside a
training step captured in a CUDA graph: the captured fit trains as the uncaptured one, the
same draws replayed, with nothing copied from the host during the capture."""

import numpy as np
import pytest
from test_graph_step import assert_captured_trains_like_plain

from minicnn import Input
from minicnn import layers as L

GRAY = {
    "flip": lambda: L.RandomFlip(seed=1),
    "translation": lambda: L.RandomTranslation(0.2, 0.2, seed=1),
    "rotation": lambda: L.RandomRotation(0.1, seed=1),
    "zoom": lambda: L.RandomZoom(0.2, seed=1),
    "shear": lambda: L.RandomShear(0.3, 0.3, seed=1),
    "perspective": lambda: L.RandomPerspective(seed=1),
    "elastic": lambda: L.RandomElasticTransform(value_range=(0, 1), seed=1),
    "crop": lambda: L.RandomCrop(6, 6, seed=1),
    "erasing": lambda: L.RandomErasing(value_range=(0, 1), seed=1),
    "brightness": lambda: L.RandomBrightness(0.2, value_range=(0, 1), seed=1),
    "contrast": lambda: L.RandomContrast(0.2, value_range=(0, 1), seed=1),
    "invert": lambda: L.RandomInvert(value_range=(0, 1), seed=1),
    "sharpness": lambda: L.RandomSharpness(0.3, value_range=(0, 1), seed=1),
    "posterization": lambda: L.RandomPosterization((4, 8), value_range=(0, 1), seed=1),
    "solarization": lambda: L.Solarization(0.0, (0.5, 1.0), value_range=(0, 1), seed=1),
    "gaussian_blur": lambda: L.RandomGaussianBlur(value_range=(0, 1), seed=1),
    "auto_contrast": lambda: L.AutoContrast(value_range=(0, 1)),
    "equalization": lambda: L.Equalization(value_range=(0, 1)),
    "rand_augment": lambda: L.RandAugment(value_range=(0, 1), seed=1),
    "aug_mix": lambda: L.AugMix(value_range=(0, 1), seed=1),
    "adaptive_pools": lambda: L.Pipeline(
        [L.AdaptiveMaxPooling2D((5, 4)), L.AdaptiveAveragePooling2D(3)]
    ),
}
RGB = {
    "grayscale": lambda: L.RandomGrayscale(seed=1),
    "color_degeneration": lambda: L.RandomColorDegeneration(0.5, value_range=(0, 1), seed=1),
    "saturation": lambda: L.RandomSaturation(0.5, value_range=(0, 1), seed=1),
    "hue": lambda: L.RandomHue(0.5, value_range=(0, 1), seed=1),
    "color_jitter": lambda: L.RandomColorJitter(
        value_range=(0, 1), brightness_factor=0.2, contrast_factor=0.2, seed=1
    ),
}


@pytest.mark.parametrize("kind", [*GRAY, *RGB])
def test_a_captured_step_trains_as_an_uncaptured_one(kind, gpu):
    channels = 3 if kind in RGB else 1
    rng = np.random.default_rng(3)
    x = rng.random((32, 8, 8, channels)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    make = {**GRAY, **RGB}[kind]

    def layers():
        return [Input((8, 8, channels)), make(), L.Flatten(), L.Dense(3, activation="softmax")]

    assert_captured_trains_like_plain(layers, x, y)
