"""Keras' Xception (Chollet, 2017): depthwise-separable convolutions in residual blocks;
preprocess_input mode 'tf'."""

from __future__ import annotations

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, application, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401


def _separable_bn(x: Tensor, filters: int, name: str) -> Tensor:
    x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return L.BatchNormalization(name=f"{name}_bn")(x)


def _downsampling_block(x: Tensor, filters: tuple[int, int], block: int, first: bool) -> Tensor:
    """Two separable convolutions and a strided max pool, added to the input's strided 1x1
    projection; the first such block starts without a ReLU (its input has just had one)."""
    residual = L.Conv2D(filters[1], 1, strides=2, padding="same", use_bias=False)(x)
    residual = L.BatchNormalization()(residual)
    prefix = f"block{block}"
    if not first:
        x = L.Activation("relu", name=f"{prefix}_sepconv1_act")(x)
    x = _separable_bn(x, filters[0], f"{prefix}_sepconv1")
    x = L.Activation("relu", name=f"{prefix}_sepconv2_act")(x)
    x = _separable_bn(x, filters[1], f"{prefix}_sepconv2")
    x = L.MaxPooling2D(3, strides=2, padding="same", name=f"{prefix}_pool")(x)
    return L.add([x, residual])


def _xception(options: Options) -> Model:
    inputs = image_input(options.input_shape, 299, 71, options.input_tensor)
    x = L.Conv2D(32, 3, strides=2, use_bias=False, name="block1_conv1")(inputs)
    x = L.BatchNormalization(name="block1_conv1_bn")(x)
    x = L.Activation("relu", name="block1_conv1_act")(x)
    x = L.Conv2D(64, 3, use_bias=False, name="block1_conv2")(x)
    x = L.BatchNormalization(name="block1_conv2_bn")(x)
    x = L.Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_block(x, (128, 128), 2, first=True)
    x = _downsampling_block(x, (256, 256), 3, first=False)
    x = _downsampling_block(x, (728, 728), 4, first=False)
    for block in range(5, 13):  # the middle flow: eight residual blocks at 728 channels
        residual = x
        for k in (1, 2, 3):
            x = L.Activation("relu", name=f"block{block}_sepconv{k}_act")(x)
            x = _separable_bn(x, 728, f"block{block}_sepconv{k}")
        x = L.add([x, residual])
    x = _downsampling_block(x, (728, 1024), 13, first=False)
    for k, filters in ((1, 1536), (2, 2048)):
        x = _separable_bn(x, filters, f"block14_sepconv{k}")
        x = L.Activation("relu", name=f"block14_sepconv{k}_act")(x)
    return finish(inputs, x, options)


Xception = application(
    _xception,
    "Xception",
    "xception",
    "Keras' Xception: 22,910,480 parameters with the top; inputs of 299x299 by "
    "default, at least 71x71.",
)


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("tf")
