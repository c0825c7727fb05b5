"""Keras' EfficientNetV2B0 to B3, S, M and L (Tan and Le, 2021): fused MBConv blocks (one
full convolution in place of expansion and depthwise) early, MBConv blocks with squeeze and
excitation later. The preprocessing is in the model (``include_preprocessing``: the B
variants rescale to [0, 1] and normalize by ImageNet's statistics, the others rescale to
[-1, 1]), so inputs are pixels in [0, 255]."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, finish, image_input
from .efficientnet import CONV_KERNEL_INITIALIZER, classifier, squeeze_excite
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401

# (repeats, filters in, filters out, expansion, squeeze ratio, stride, fused) of each stage;
# every kernel is 3x3.
B_STAGES = [
    (1, 32, 16, 1, 0.0, 1, True),
    (2, 16, 32, 4, 0.0, 2, True),
    (2, 32, 48, 4, 0.0, 2, True),
    (3, 48, 96, 4, 0.25, 2, False),
    (5, 96, 112, 6, 0.25, 1, False),
    (8, 112, 192, 6, 0.25, 2, False),
]
STAGES = {
    "s": [
        (2, 24, 24, 1, 0.0, 1, True),
        (4, 24, 48, 4, 0.0, 2, True),
        (4, 48, 64, 4, 0.0, 2, True),
        (6, 64, 128, 4, 0.25, 2, False),
        (9, 128, 160, 6, 0.25, 1, False),
        (15, 160, 256, 6, 0.25, 2, False),
    ],
    "m": [
        (3, 24, 24, 1, 0.0, 1, True),
        (5, 24, 48, 4, 0.0, 2, True),
        (5, 48, 80, 4, 0.0, 2, True),
        (7, 80, 160, 4, 0.25, 2, False),
        (14, 160, 176, 6, 0.25, 1, False),
        (18, 176, 304, 6, 0.25, 2, False),
        (5, 304, 512, 6, 0.25, 1, False),
    ],
    "l": [
        (4, 32, 32, 1, 0.0, 1, True),
        (7, 32, 64, 4, 0.0, 2, True),
        (7, 64, 96, 4, 0.0, 2, True),
        (10, 96, 192, 4, 0.25, 2, False),
        (19, 192, 224, 6, 0.25, 1, False),
        (25, 224, 384, 6, 0.25, 2, False),
        (7, 384, 640, 6, 0.25, 1, False),
    ],
}
_BN = {"momentum": 0.9}


def _conv(filters: int, kernel: int, strides: int, name: str, **kwargs: Any) -> L.Conv2D:
    return L.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER,
        name=name,
        **kwargs,
    )


def _block(
    inputs: Tensor,
    filters_in: int,
    filters_out: int,
    expansion: int,
    ratio: float,
    stride: int,
    fused: bool,
    drop_rate: float,
    name: str,
) -> Tensor:
    """Keras' MBConvBlock, or FusedMBConvBlock with ``fused``: its expansion is a 3x3
    convolution carrying the stride, and without expansion the projection is that 3x3."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = _conv(filters, 3 if fused else 1, stride if fused else 1, f"{name}expand_conv")(x)
        x = L.BatchNormalization(**_BN, name=f"{name}expand_bn")(x)
        x = L.Activation("swish", name=f"{name}expand_activation")(x)
    if not fused:
        x = L.DepthwiseConv2D(
            3,
            strides=stride,
            padding="same",
            use_bias=False,
            depthwise_initializer=CONV_KERNEL_INITIALIZER,
            name=f"{name}dwconv2",
        )(x)
        x = L.BatchNormalization(**_BN, name=f"{name}bn")(x)
        x = L.Activation("swish", name=f"{name}activation")(x)
    if 0 < ratio <= 1:
        x = squeeze_excite(x, filters_in, ratio, name)
    projects_fused = fused and expansion == 1
    x = _conv(
        filters_out,
        3 if projects_fused else 1,
        stride if projects_fused else 1,
        f"{name}project_conv",
    )(x)
    x = L.BatchNormalization(**_BN, name=f"{name}project_bn")(x)
    if projects_fused:
        x = L.Activation("swish", name=f"{name}project_activation")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate:
            x = L.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = L.add([x, inputs], name=f"{name}add")
    return x


def _round_filters(filters: float, width: float, divisor: int = 8) -> int:
    """EfficientNetV2's rounding: to the nearest multiple of 8, at least 8 (no 10% rule)."""
    return int(max(divisor, int(filters * width + divisor / 2) // divisor * divisor))


def _efficientnet_v2(
    variant: str,
    width: float,
    depth: float,
    default_size: int,
    options: Options,
    include_preprocessing: bool,
    dropout_rate: float = 0.2,
    drop_connect_rate: float = 0.2,
) -> Model:
    inputs = image_input(options.input_shape, default_size, 32, options.input_tensor)
    stages = STAGES.get(variant, B_STAGES)
    x = inputs
    if include_preprocessing:
        if variant.startswith("b") and inputs.sample_shape[-1] == 3:
            x = L.Rescaling(1.0 / 255)(x)
            x = L.Normalization(
                mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2]
            )(x)
        else:
            x = L.Rescaling(1.0 / 128.0, offset=-1)(x)
    x = _conv(_round_filters(stages[0][1], width), 3, 2, "stem_conv")(x)
    x = L.BatchNormalization(**_BN, name="stem_bn")(x)
    x = L.Activation("swish", name="stem_activation")(x)
    total, b = float(sum(stage[0] for stage in stages)), 0
    for i, (repeats, f_in, f_out, expansion, ratio, stride, fused) in enumerate(stages):
        f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
        for j in range(int(math.ceil(depth * repeats))):
            x = _block(
                x,
                f_in if j == 0 else f_out,
                f_out,
                expansion,
                ratio,
                stride if j == 0 else 1,
                fused,
                drop_connect_rate * b / total,
                f"block{i + 1}{chr(j + 97)}_",
            )
            b += 1
    x = _conv(_round_filters(1280, width), 1, 1, "top_conv")(x)
    x = L.BatchNormalization(**_BN, name="top_bn")(x)
    x = L.Activation("swish", name="top_activation")(x)
    return finish(inputs, x, options, partial(classifier, options=options, rate=dropout_rate))


def _family(variant: str, width: float, depth: float, size: int) -> Callable[..., Model]:
    model_name = f"efficientnetv2-{variant}"

    def build(
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
        include_preprocessing: bool = True,
        name: str = model_name,
    ) -> Model:
        options = Options(
            include_top,
            weights,
            input_shape,
            pooling,
            classes,
            classifier_activation,
            name,
            input_tensor,
        )
        return _efficientnet_v2(variant, width, depth, size, options, include_preprocessing)

    build.__name__ = build.__qualname__ = f"EfficientNetV2{variant.upper()}"
    build.__doc__ = (
        f"Keras' {build.__name__}: width x{width}, depth x{depth}, {size}x{size} inputs by "
        "default; pixels in [0, 255] with ``include_preprocessing``, else in [-1, 1]."
    )
    return build


EfficientNetV2B0 = _family("b0", 1.0, 1.0, 224)
EfficientNetV2B1 = _family("b1", 1.0, 1.1, 240)
EfficientNetV2B2 = _family("b2", 1.1, 1.2, 260)
EfficientNetV2B3 = _family("b3", 1.2, 1.4, 300)
EfficientNetV2S = _family("s", 1.0, 1.0, 384)
EfficientNetV2M = _family("m", 1.0, 1.0, 480)
EfficientNetV2L = _family("l", 1.0, 1.0, 480)


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing(None)
