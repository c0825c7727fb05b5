"""Keras' MobileNetV3Small and MobileNetV3Large (Howard et al., 2019): inverted residual
blocks with hard-swish and squeeze and excitation, searched for mobile; preprocessing inside
the model (``include_preprocessing``: Rescaling to [-1, 1]), so inputs are pixels in
[0, 255]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, correct_pad, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401
from .mobilenet import _make_divisible

_BN_V3 = {"epsilon": 1e-3, "momentum": 0.999}
Activation = Callable[[Tensor], Tensor]

# (expansion, filters, kernel ("k": 5, or 3 in minimalistic form), stride, squeeze and
# excitation, activation ("hs": hard-swish, or ReLU in minimalistic form)) of each block
SMALL = [
    (1, 16, 3, 2, True, "relu"),
    (72 / 16, 24, 3, 2, False, "relu"),
    (88 / 24, 24, 3, 1, False, "relu"),
    (4, 40, "k", 2, True, "hs"),
    (6, 40, "k", 1, True, "hs"),
    (6, 40, "k", 1, True, "hs"),
    (3, 48, "k", 1, True, "hs"),
    (3, 48, "k", 1, True, "hs"),
    (6, 96, "k", 2, True, "hs"),
    (6, 96, "k", 1, True, "hs"),
    (6, 96, "k", 1, True, "hs"),
]
LARGE = [
    (1, 16, 3, 1, False, "relu"),
    (4, 24, 3, 2, False, "relu"),
    (3, 24, 3, 1, False, "relu"),
    (3, 40, "k", 2, True, "relu"),
    (3, 40, "k", 1, True, "relu"),
    (3, 40, "k", 1, True, "relu"),
    (6, 80, 3, 2, False, "hs"),
    (2.5, 80, 3, 1, False, "hs"),
    (2.3, 80, 3, 1, False, "hs"),
    (2.3, 80, 3, 1, False, "hs"),
    (6, 112, 3, 1, True, "hs"),
    (6, 112, 3, 1, True, "hs"),
    (6, 160, "k", 2, True, "hs"),
    (6, 160, "k", 1, True, "hs"),
    (6, 160, "k", 1, True, "hs"),
]


def _relu(x: Tensor) -> Tensor:
    return L.ReLU()(x)


def _hard_swish(x: Tensor) -> Tensor:
    return L.Activation("hard_swish")(x)


def _hard_sigmoid(x: Tensor) -> Tensor:
    """Keras' form, ReLU6(x + 3) / 6, as arithmetic on the graph's tensors."""
    return L.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _squeeze_excite(inputs: Tensor, filters: int, prefix: str) -> Tensor:
    x = L.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = L.Conv2D(
        _make_divisible(filters * 0.25), 1, padding="same", name=f"{prefix}squeeze_excite_conv"
    )(x)
    x = L.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = L.Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return L.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_block(
    x: Tensor,
    expansion: float,
    filters: int,
    kernel: int,
    stride: int,
    squeeze: bool,
    activation: Activation,
    block_id: int,
) -> Tensor:
    """Keras' _inverted_res_block of MobileNetV3."""
    shortcut, in_filters = x, x.sample_shape[-1]
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = L.Conv2D(
            _make_divisible(in_filters * expansion),
            1,
            padding="same",
            use_bias=False,
            name=f"{prefix}expand",
        )(x)
        x = L.BatchNormalization(**_BN_V3, name=f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = L.ZeroPadding2D(correct_pad(x.sample_shape[:2], kernel), name=f"{prefix}depthwise_pad")(
            x
        )
    x = L.DepthwiseConv2D(
        kernel,
        strides=stride,
        padding="same" if stride == 1 else "valid",
        use_bias=False,
        name=f"{prefix}depthwise",
    )(x)
    x = L.BatchNormalization(**_BN_V3, name=f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if squeeze:
        x = _squeeze_excite(x, _make_divisible(in_filters * expansion), prefix)
    x = L.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = L.BatchNormalization(**_BN_V3, name=f"{prefix}project_bn")(x)
    if stride == 1 and in_filters == filters:
        x = L.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _mobilenet_v3(
    blocks: list[tuple[Any, ...]],
    last_point: int,
    input_shape: Any,
    alpha: float,
    minimalistic: bool,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    classes: int,
    pooling: str | None,
    dropout_rate: float,
    classifier_activation: Any,
    include_preprocessing: bool,
    name: str,
) -> Model:
    inputs = image_input(input_shape, 224, 32, input_tensor)
    kernel, activation = (3, _relu) if minimalistic else (5, _hard_swish)
    x = inputs
    if include_preprocessing:
        x = L.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="conv")(x)
    x = L.BatchNormalization(**_BN_V3, name="conv_bn")(x)
    x = activation(x)
    for block_id, (expansion, filters, size, stride, squeeze, kind) in enumerate(blocks):
        x = _inverted_block(
            x,
            expansion,
            _make_divisible(filters * alpha),
            kernel if size == "k" else size,
            stride,
            squeeze and not minimalistic,
            _relu if kind == "relu" else activation,
            block_id,
        )
    last_conv = _make_divisible(x.sample_shape[-1] * 6)
    if alpha > 1.0:
        last_point = _make_divisible(last_point * alpha)
    x = L.Conv2D(last_conv, 1, padding="same", use_bias=False, name="conv_1")(x)
    x = L.BatchNormalization(**_BN_V3, name="conv_1_bn")(x)
    x = activation(x)

    def top(x: Tensor) -> Tensor:
        x = L.GlobalAveragePooling2D(keepdims=True)(x)
        x = L.Conv2D(last_point, 1, padding="same", name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = L.Dropout(dropout_rate)(x)
        x = L.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = L.Flatten()(x)
        return L.Activation(classifier_activation, name="predictions")(x)

    options = Options(
        include_top, weights, input_shape, pooling, classes, classifier_activation, name
    )
    return finish(inputs, x, options, top)


def _family(blocks: list[tuple[Any, ...]], last_point: int, name: str) -> Callable[..., Model]:
    def build(
        input_shape: Any = None,
        alpha: float = 1.0,
        minimalistic: bool = False,
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        classes: int = 1000,
        pooling: str | None = None,
        dropout_rate: float = 0.2,
        classifier_activation: Any = "softmax",
        include_preprocessing: bool = True,
        name: str = name,
    ) -> Model:
        return _mobilenet_v3(
            blocks,
            last_point,
            input_shape,
            alpha,
            minimalistic,
            include_top,
            weights,
            input_tensor,
            classes,
            pooling,
            dropout_rate,
            classifier_activation,
            include_preprocessing,
            name,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"Keras' {name}: width ``alpha``; ``minimalistic`` drops squeeze and excitation, "
        "hard-swish and 5x5 kernels; inputs of 224x224 by default (Keras' variable size is "
        "not available), pixels in [0, 255] with ``include_preprocessing``."
    )
    return build


MobileNetV3Small = _family(SMALL, 1024, "MobileNetV3Small")
MobileNetV3Large = _family(LARGE, 1280, "MobileNetV3Large")


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing(None)
