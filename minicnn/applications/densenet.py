"""Keras' DenseNet121/169/201 (Huang et al., 2017); preprocess_input mode 'torch'."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .. import layers as L
from ..models import Model
from ._base import RESNET_BN, Options, Tensor, application, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401


def _dense_block(x: Tensor, blocks: int, name: str, growth: int = 32) -> Tensor:
    """Keras' dense_block: ``blocks`` conv blocks, each concatenating ``growth`` new
    channels (BN, ReLU, 1x1 bottleneck of 4*growth, BN, ReLU, 3x3) to its input."""
    for i in range(1, blocks + 1):
        part = f"{name}_block{i}"
        y = L.BatchNormalization(**RESNET_BN, name=f"{part}_0_bn")(x)
        y = L.Activation("relu", name=f"{part}_0_relu")(y)
        y = L.Conv2D(4 * growth, 1, use_bias=False, name=f"{part}_1_conv")(y)
        y = L.BatchNormalization(**RESNET_BN, name=f"{part}_1_bn")(y)
        y = L.Activation("relu", name=f"{part}_1_relu")(y)
        y = L.Conv2D(growth, 3, padding="same", use_bias=False, name=f"{part}_2_conv")(y)
        x = L.Concatenate(name=f"{part}_concat")([x, y])
    return x


def _transition(x: Tensor, name: str) -> Tensor:
    """Keras' transition_block: BN, ReLU, a 1x1 convolution halving the channels, 2x2
    average pooling."""
    x = L.BatchNormalization(**RESNET_BN, name=f"{name}_bn")(x)
    x = L.Activation("relu", name=f"{name}_relu")(x)
    x = L.Conv2D(int(x.sample_shape[-1] * 0.5), 1, use_bias=False, name=f"{name}_conv")(x)
    return L.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(blocks: tuple[int, int, int, int], options: Options) -> Model:
    inputs = image_input(options.input_shape, 224, 32, options.input_tensor)
    x = L.ZeroPadding2D(((3, 3), (3, 3)))(inputs)
    x = L.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = L.BatchNormalization(**RESNET_BN, name="conv1_bn")(x)
    x = L.Activation("relu", name="conv1_relu")(x)
    x = L.ZeroPadding2D(((1, 1), (1, 1)))(x)
    x = L.MaxPooling2D(3, strides=2, name="pool1")(x)
    for k, count in enumerate(blocks, start=2):
        x = _dense_block(x, count, f"conv{k}")
        if k < 5:
            x = _transition(x, f"pool{k}")
    x = L.BatchNormalization(**RESNET_BN, name="bn")(x)
    x = L.Activation("relu", name="relu")(x)
    return finish(inputs, x, options)


def _densenet_family(blocks: tuple[int, int, int, int], name: str) -> Callable[..., Model]:
    function_name = name.replace("densenet", "DenseNet")
    doc = (
        f"Keras' {function_name} (Huang et al., 2017): dense blocks of {blocks} conv blocks, "
        "growth rate 32, transitions halving the channels; preprocess_input mode 'torch'."
    )
    return application(partial(_densenet, blocks), function_name, name, doc)


DenseNet121 = _densenet_family((6, 12, 24, 16), "densenet121")
DenseNet169 = _densenet_family((6, 12, 32, 32), "densenet169")
DenseNet201 = _densenet_family((6, 12, 48, 32), "densenet201")


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("torch")
