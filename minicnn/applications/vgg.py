"""Keras' VGG16 and VGG19 (Simonyan and Zisserman, 2014); preprocess_input mode 'caffe'."""

from __future__ import annotations

from typing import Any

from .. import layers as L
from ..models import Model
from ._base import Tensor, finish, image_input, no_input_tensor


def _vgg(
    convs: tuple[int, ...],
    name: str,
    include_top: bool,
    weights: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
) -> Model:
    inputs = image_input(input_shape, 224, 32)
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
        return L.Dense(classes, activation=classifier_activation, name="predictions")(x)

    return finish(
        inputs, x, name, include_top, pooling, classes, classifier_activation, top, weights
    )


def VGG16(  # noqa: N802 - Keras' name
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
) -> Model:
    """VGG16 (Simonyan and Zisserman): 13 3x3 convolutions in 5 blocks, then two 4096-unit
    Dense layers; 138,357,544 parameters with the top."""
    no_input_tensor(input_tensor)
    args = (include_top, weights, input_shape, pooling, classes, classifier_activation)
    return _vgg((2, 2, 3, 3, 3), "vgg16", *args)


def VGG19(  # noqa: N802
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
) -> Model:
    """VGG19: 16 3x3 convolutions in 5 blocks; 143,667,240 parameters with the top."""
    no_input_tensor(input_tensor)
    args = (include_top, weights, input_shape, pooling, classes, classifier_activation)
    return _vgg((2, 2, 4, 4, 4), "vgg19", *args)
