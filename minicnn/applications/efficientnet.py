"""Keras' EfficientNetB0 to B7 (Tan and Le, 2019): MBConv blocks with squeeze and excitation,
scaled in width, depth and input size. The preprocessing is in the model (Rescaling to [0, 1],
then a Normalization to adapt), so inputs are pixels in [0, 255]."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, application, correct_pad, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401

# Keras' initializers for EfficientNet: He-like for convolutions, fan-out uniform for the top.
CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}

# (kernel, repeats, filters in, filters out, expansion, stride) of B0's seven stages; every
# block has squeeze and excitation of ratio 0.25 and an identity skip where shapes allow.
STAGES = [
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
]


def squeeze_excite(x: Tensor, filters_in: int, ratio: float, name: str) -> Tensor:
    """EfficientNet's squeeze and excitation: the channels' means, a swish bottleneck of
    ``filters_in * ratio`` channels, then sigmoid weights that scale each channel."""
    filters = x.sample_shape[-1]
    se = L.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = L.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    for width, activation, part in (
        (max(1, int(filters_in * ratio)), "swish", "reduce"),
        (filters, "sigmoid", "expand"),
    ):
        se = L.Conv2D(
            width,
            1,
            padding="same",
            activation=activation,
            kernel_initializer=CONV_KERNEL_INITIALIZER,
            name=f"{name}se_{part}",
        )(se)
    return L.multiply([x, se], name=f"{name}se_excite")


def classifier(x: Tensor, options: Options, rate: float) -> Tensor:
    """EfficientNet's top: global average pooling, dropout, the Dense classifier."""
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    if rate > 0:
        x = L.Dropout(rate, name="top_dropout")(x)
    return L.Dense(
        options.classes,
        activation=options.classifier_activation,
        kernel_initializer=DENSE_KERNEL_INITIALIZER,
        name="predictions",
    )(x)


def _mbconv(
    inputs: Tensor,
    drop_rate: float,
    name: str,
    filters_in: int,
    filters_out: int,
    kernel: int,
    stride: int,
    expansion: int,
) -> Tensor:
    """Keras' EfficientNet block: 1x1 expansion, depthwise convolution, squeeze and
    excitation, 1x1 projection; with stride 1 and equal widths, the input is added back
    through a dropout of whole samples (stochastic depth)."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = L.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=CONV_KERNEL_INITIALIZER,
            name=f"{name}expand_conv",
        )(x)
        x = L.BatchNormalization(name=f"{name}expand_bn")(x)
        x = L.Activation("swish", name=f"{name}expand_activation")(x)
    padding = "same"
    if stride == 2:
        x = L.ZeroPadding2D(correct_pad(x.sample_shape[:2], kernel), name=f"{name}dwconv_pad")(x)
        padding = "valid"
    x = L.DepthwiseConv2D(
        kernel,
        strides=stride,
        padding=padding,
        use_bias=False,
        depthwise_initializer=CONV_KERNEL_INITIALIZER,
        name=f"{name}dwconv",
    )(x)
    x = L.BatchNormalization(name=f"{name}bn")(x)
    x = L.Activation("swish", name=f"{name}activation")(x)
    x = squeeze_excite(x, filters_in, 0.25, name)
    x = L.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER,
        name=f"{name}project_conv",
    )(x)
    x = L.BatchNormalization(name=f"{name}project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = L.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = L.add([x, inputs], name=f"{name}add")
    return x


def _round_filters(filters: float, width: float, divisor: int = 8) -> int:
    """Keras' round_filters: scaled, to a multiple of 8, never more than 10% down."""
    filters *= width
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * filters else rounded)


def _efficientnet(
    width: float,
    depth: float,
    default_size: int,
    dropout_rate: float,
    options: Options,
    drop_connect_rate: float = 0.2,
) -> Model:
    inputs = image_input(options.input_shape, default_size, 32, options.input_tensor)
    x = L.Rescaling(1.0 / 255.0)(inputs)
    x = L.Normalization(axis=-1)(x)
    x = L.ZeroPadding2D(correct_pad(x.sample_shape[:2], 3), name="stem_conv_pad")(x)
    x = L.Conv2D(
        _round_filters(32, width),
        3,
        strides=2,
        padding="valid",
        use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER,
        name="stem_conv",
    )(x)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.Activation("swish", name="stem_activation")(x)
    repeats = [int(math.ceil(depth * stage[1])) for stage in STAGES]
    total, b = float(sum(repeats)), 0
    for i, ((kernel, _, f_in, f_out, expansion, stride), count) in enumerate(
        zip(STAGES, repeats, strict=True)
    ):
        f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
        for j in range(count):
            x = _mbconv(
                x,
                drop_connect_rate * b / total,
                f"block{i + 1}{chr(j + 97)}_",
                f_in if j == 0 else f_out,
                f_out,
                kernel,
                stride if j == 0 else 1,
                expansion,
            )
            b += 1
    x = L.Conv2D(
        _round_filters(1280, width),
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER,
        name="top_conv",
    )(x)
    x = L.BatchNormalization(name="top_bn")(x)
    x = L.Activation("swish", name="top_activation")(x)
    return finish(inputs, x, options, partial(classifier, options=options, rate=dropout_rate))


def _family(
    width: float, depth: float, size: int, dropout: float, name: str
) -> Callable[..., Model]:
    function_name = name.replace("efficientnetb", "EfficientNetB")
    doc = (
        f"Keras' {function_name}: width x{width}, depth x{depth}, {size}x{size} inputs by "
        f"default, dropout {dropout} before the top. To set the input statistics, ``adapt`` "
        "its Normalization layer to the training images scaled to [0, 1]."
    )
    builder = partial(_efficientnet, width, depth, size, dropout)
    return application(builder, function_name, name, doc)


EfficientNetB0 = _family(1.0, 1.0, 224, 0.2, "efficientnetb0")
EfficientNetB1 = _family(1.0, 1.1, 240, 0.2, "efficientnetb1")
EfficientNetB2 = _family(1.1, 1.2, 260, 0.3, "efficientnetb2")
EfficientNetB3 = _family(1.2, 1.4, 300, 0.3, "efficientnetb3")
EfficientNetB4 = _family(1.4, 1.8, 380, 0.4, "efficientnetb4")
EfficientNetB5 = _family(1.6, 2.2, 456, 0.4, "efficientnetb5")
EfficientNetB6 = _family(1.8, 2.6, 528, 0.5, "efficientnetb6")
EfficientNetB7 = _family(2.0, 3.1, 600, 0.5, "efficientnetb7")


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing(None)
