"""Keras' ResNet50/101/152 (He et al., 2016; preprocess_input mode 'caffe') and their V2
forms with pre-activation blocks (mode 'tf')."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .. import layers as L
from ..models import Model
from ._base import RESNET_BN, Options, Tensor, application, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401


def _block_v1(x: Tensor, filters: int, stride: int, shortcut: bool, name: str) -> Tensor:
    """Keras' residual_block_v1: a 1x1, 3x3, 1x1 bottleneck with BN, added to the input (or
    to its 1x1 projection)."""
    if shortcut:
        skip = L.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        skip = L.BatchNormalization(**RESNET_BN, name=f"{name}_0_bn")(skip)
    else:
        skip = x
    x = L.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = L.BatchNormalization(**RESNET_BN, name=f"{name}_1_bn")(x)
    x = L.Activation("relu", name=f"{name}_1_relu")(x)
    x = L.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = L.BatchNormalization(**RESNET_BN, name=f"{name}_2_bn")(x)
    x = L.Activation("relu", name=f"{name}_2_relu")(x)
    x = L.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = L.BatchNormalization(**RESNET_BN, name=f"{name}_3_bn")(x)
    x = L.Add(name=f"{name}_add")([skip, x])
    return L.Activation("relu", name=f"{name}_out")(x)


def _block_v2(x: Tensor, filters: int, stride: int, shortcut: bool, name: str) -> Tensor:
    """Keras' residual_block_v2: pre-activation, the stride on the 3x3 convolution."""
    pre = L.BatchNormalization(**RESNET_BN, name=f"{name}_preact_bn")(x)
    pre = L.Activation("relu", name=f"{name}_preact_relu")(pre)
    if shortcut:
        skip = L.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(pre)
    else:
        skip = L.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = L.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(pre)
    x = L.BatchNormalization(**RESNET_BN, name=f"{name}_1_bn")(x)
    x = L.Activation("relu", name=f"{name}_1_relu")(x)
    x = L.ZeroPadding2D(((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = L.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = L.BatchNormalization(**RESNET_BN, name=f"{name}_2_bn")(x)
    x = L.Activation("relu", name=f"{name}_2_relu")(x)
    x = L.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return L.Add(name=f"{name}_out")([skip, x])


def _stack(x: Tensor, filters: int, blocks: int, stride: int, name: str, v2: bool) -> Tensor:
    if not v2:  # the stride on the first block
        x = _block_v1(x, filters, stride, True, f"{name}_block1")
        for i in range(2, blocks + 1):
            x = _block_v1(x, filters, 1, False, f"{name}_block{i}")
        return x
    x = _block_v2(x, filters, 1, True, f"{name}_block1")  # v2: the stride on the last block
    for i in range(2, blocks):
        x = _block_v2(x, filters, 1, False, f"{name}_block{i}")
    return _block_v2(x, filters, stride, False, f"{name}_block{blocks}")


def _resnet(depths: tuple[int, int, int, int], v2: bool, options: Options) -> Model:
    inputs = image_input(options.input_shape, 224, 32, options.input_tensor)
    x = L.ZeroPadding2D(((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = L.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    if not v2:
        x = L.BatchNormalization(**RESNET_BN, name="conv1_bn")(x)
        x = L.Activation("relu", name="conv1_relu")(x)
    x = L.ZeroPadding2D(((1, 1), (1, 1)), name="pool1_pad")(x)
    x = L.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for k, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
        stride = (1 if k == 0 else 2) if not v2 else (1 if k == 3 else 2)
        x = _stack(x, filters, blocks, stride, f"conv{k + 2}", v2)
    if v2:
        x = L.BatchNormalization(**RESNET_BN, name="post_bn")(x)
        x = L.Activation("relu", name="post_relu")(x)
    return finish(inputs, x, options)


def _resnet_family(depths: tuple[int, int, int, int], v2: bool, name: str) -> Callable[..., Model]:
    function_name = name.replace("resnet", "ResNet").replace("v2", "V2")
    version = "with pre-activation blocks (He et al., 2016b)" if v2 else "(He et al., 2016)"
    doc = f"Keras' {function_name} {version}: bottleneck blocks of {depths}."
    return application(partial(_resnet, depths, v2), function_name, name, doc)


ResNet50 = _resnet_family((3, 4, 6, 3), False, "resnet50")
ResNet101 = _resnet_family((3, 4, 23, 3), False, "resnet101")
ResNet152 = _resnet_family((3, 8, 36, 3), False, "resnet152")
ResNet50V2 = _resnet_family((3, 4, 6, 3), True, "resnet50v2")
ResNet101V2 = _resnet_family((3, 4, 23, 3), True, "resnet101v2")
ResNet152V2 = _resnet_family((3, 8, 36, 3), True, "resnet152v2")


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("caffe")
