"""Keras' MobileNet (Howard et al., 2017) and MobileNetV2 (Sandler et al., 2018);
preprocess_input mode 'tf'."""

from __future__ import annotations

from typing import Any

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, correct_pad, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401


def _make_divisible(v: float, divisor: int = 8) -> int:
    """Keras' channel rounding: to a multiple of ``divisor``, not more than 10% down."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def MobileNet(  # noqa: N802
    input_shape: Any = None,
    alpha: float = 1.0,
    depth_multiplier: int = 1,
    dropout: float = 1e-3,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
) -> Model:
    """Keras' MobileNet (Howard et al., 2017): depthwise separable blocks, width ``alpha``;
    4,253,864 parameters at alpha 1 with the top."""
    inputs = image_input(input_shape, 224, 32, input_tensor)
    x = L.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(
        inputs
    )
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(6.0, name="conv1_relu")(x)
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    plan += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for block_id, (filters, stride) in enumerate(plan, start=1):
        if stride == 2:
            x = L.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
        x = L.DepthwiseConv2D(
            3,
            strides=stride,
            padding="same" if stride == 1 else "valid",
            depth_multiplier=depth_multiplier,
            use_bias=False,
            name=f"conv_dw_{block_id}",
        )(x)
        x = L.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
        x = L.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
        x = L.Conv2D(int(filters * alpha), 1, use_bias=False, name=f"conv_pw_{block_id}")(x)
        x = L.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
        x = L.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)

    def top(x: Tensor) -> Tensor:
        x = L.GlobalAveragePooling2D(keepdims=True)(x)
        x = L.Dropout(dropout, name="dropout")(x)
        x = L.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = L.Reshape((classes,), name="reshape_2")(x)
        return L.Activation(classifier_activation, name="predictions")(x)

    name = f"mobilenet_{alpha:0.2f}_{inputs.sample_shape[0]}"
    options = Options(
        include_top, weights, input_shape, pooling, classes, classifier_activation, name
    )
    return finish(inputs, x, options, top)


_BN_V2 = {"epsilon": 1e-3, "momentum": 0.999}


def _inverted_block(
    x: Tensor, expansion: int, stride: int, alpha: float, filters: int, block: int
) -> Tensor:
    """Keras' _inverted_res_block: expand (1x1), depthwise 3x3, project (1x1); added to the
    input when the shapes allow."""
    channels = x.sample_shape[-1]
    pointwise = _make_divisible(int(filters * alpha), 8)
    inputs, prefix = x, f"block_{block}_"
    if block:
        x = L.Conv2D(
            expansion * channels, 1, padding="same", use_bias=False, name=f"{prefix}expand"
        )(x)
        x = L.BatchNormalization(**_BN_V2, name=f"{prefix}expand_BN")(x)
        x = L.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = L.ZeroPadding2D(correct_pad(x.sample_shape[:2], 3), name=f"{prefix}pad")(x)
    x = L.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="same" if stride == 1 else "valid",
        name=f"{prefix}depthwise",
    )(x)
    x = L.BatchNormalization(**_BN_V2, name=f"{prefix}depthwise_BN")(x)
    x = L.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = L.Conv2D(pointwise, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = L.BatchNormalization(**_BN_V2, name=f"{prefix}project_BN")(x)
    if channels == pointwise and stride == 1:
        return L.Add(name=f"{prefix}add")([inputs, x])
    return x


def MobileNetV2(  # noqa: N802
    input_shape: Any = None,
    alpha: float = 1.0,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Model:
    """Keras' MobileNetV2 (Sandler et al., 2018): inverted residual blocks, width ``alpha``;
    3,538,984 parameters at alpha 1 with the top."""
    inputs = image_input(input_shape, 224, 32, input_tensor)
    first = _make_divisible(32 * alpha, 8)
    x = L.Conv2D(first, 3, strides=2, padding="same", use_bias=False, name="Conv1")(inputs)
    x = L.BatchNormalization(**_BN_V2, name="bn_Conv1")(x)
    x = L.ReLU(6.0, name="Conv1_relu")(x)
    plan = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6)]
    plan += [(64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6)]
    plan += [(160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]
    for block, (filters, stride, expansion) in enumerate(plan):
        x = _inverted_block(x, expansion, stride, alpha, filters, block)
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = L.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = L.BatchNormalization(**_BN_V2, name="Conv_1_bn")(x)
    x = L.ReLU(6.0, name="out_relu")(x)
    rows = inputs.sample_shape[0]
    name = name or f"mobilenetv2_{alpha:0.2f}_{rows}"
    options = Options(
        include_top, weights, input_shape, pooling, classes, classifier_activation, name
    )
    return finish(inputs, x, options)


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("tf")
