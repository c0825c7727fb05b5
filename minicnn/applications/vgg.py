"""Keras' VGG16 and VGG19 (Simonyan and Zisserman, 2014); preprocess_input mode 'caffe'."""

from __future__ import annotations

from functools import partial

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, application, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401


def _vgg(convs: tuple[int, ...], options: Options) -> Model:
    inputs = image_input(options.input_shape, 224, 32, options.input_tensor)
    x = inputs
    for block, (count, filters) in enumerate(
        zip(convs, (64, 128, 256, 512, 512), strict=True), start=1
    ):
        for k in range(1, count + 1):
            x = L.Conv2D(
                filters, 3, padding="same", activation="relu", name=f"block{block}_conv{k}"
            )(x)
        x = L.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)

    def top(x: Tensor) -> Tensor:
        x = L.Flatten(name="flatten")(x)
        x = L.Dense(4096, activation="relu", name="fc1")(x)
        x = L.Dense(4096, activation="relu", name="fc2")(x)
        activation = options.classifier_activation
        return L.Dense(options.classes, activation=activation, name="predictions")(x)

    return finish(inputs, x, options, top)


VGG16 = application(
    partial(_vgg, (2, 2, 3, 3, 3)),
    "VGG16",
    "vgg16",
    "Keras' VGG16 (Simonyan and Zisserman, 2014): 13 3x3 convolutions in 5 blocks, then two "
    "4096-unit Dense layers; 138,357,544 parameters with the top.",
)
VGG19 = application(
    partial(_vgg, (2, 2, 4, 4, 4)),
    "VGG19",
    "vgg19",
    "Keras' VGG19: 16 3x3 convolutions in 5 blocks; 143,667,240 parameters with the top.",
)


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("caffe")
