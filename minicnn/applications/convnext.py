"""Keras' ConvNeXtTiny, Small, Base, Large and XLarge (Liu et al., 2022): 7x7 depthwise
convolutions, LayerNormalization, inverted pointwise Dense layers with GELU, LayerScale and
stochastic depth; preprocessing inside the model (``include_preprocessing``: a Normalization
by ImageNet's mean and variance, constants), so inputs are pixels in [0, 255]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import layers as L
from ..models import Model, Sequential
from ._base import Options, Tensor, feature_pooling, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401

CONFIGS = {  # depths and channels of the four stages
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}
_LN = {"epsilon": 1e-6}


def _block(
    x: Tensor, dim: int, drop_path_rate: float, layer_scale: float | None, name: str
) -> Tensor:
    """Keras' ConvNeXtBlock: x + the branch (depthwise 7x7, LayerNorm, Dense 4*dim, GELU,
    Dense dim, LayerScale), the branch dropped per sample with ``drop_path_rate``."""
    y = L.Conv2D(dim, 7, padding="same", groups=dim, name=f"{name}_depthwise_conv")(x)
    y = L.LayerNormalization(**_LN, name=f"{name}_layernorm")(y)
    y = L.Dense(4 * dim, name=f"{name}_pointwise_conv_1")(y)
    y = L.Activation("gelu", name=f"{name}_gelu")(y)
    y = L.Dense(dim, name=f"{name}_pointwise_conv_2")(y)
    if layer_scale is not None:
        y = L.LayerScale(layer_scale, dim, name=f"{name}_layer_scale")(y)
    if drop_path_rate:
        y = L.StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(y)
    else:
        y = L.Activation("linear", name=f"{name}_identity")(y)
    return x + y


def _convnext(
    size: str,
    name: str,
    include_top: bool,
    include_preprocessing: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    drop_path_rate: float = 0.0,
    layer_scale_init_value: float | None = 1e-6,
) -> Model:
    depths, dims = CONFIGS[size]
    inputs = image_input(input_shape, 224, 32, input_tensor)
    x = inputs
    if include_preprocessing and inputs.sample_shape[-1] == 3:
        mean = [0.485 * 255, 0.456 * 255, 0.406 * 255]
        variance = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]
        x = L.Normalization(mean=mean, variance=variance, name=f"{name}_prestem_normalization")(x)
    stem = Sequential(
        [
            L.Conv2D(dims[0], 4, strides=4, name=f"{name}_stem_conv"),
            L.LayerNormalization(**_LN, name=f"{name}_stem_layernorm"),
        ],
        name=f"{name}_stem",
    )
    downsampling = [stem] + [
        Sequential(
            [
                L.LayerNormalization(**_LN, name=f"{name}_downsampling_layernorm_{i}"),
                L.Conv2D(dims[i + 1], 2, strides=2, name=f"{name}_downsampling_conv_{i}"),
            ],
            name=f"{name}_downsampling_block_{i}",
        )
        for i in range(3)
    ]
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    done = 0
    for i, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
        x = downsampling[i](x)
        for j in range(depth):
            x = _block(
                x, dim, rates[done + j], layer_scale_init_value, f"{name}_stage_{i}_block_{j}"
            )
        done += depth
    if include_top:
        x = L.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = L.LayerNormalization(**_LN, name=f"{name}_head_layernorm")(x)
        x = L.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:  # Keras' feature extractor ends with a LayerNormalization too
        x = L.LayerNormalization(**_LN)(feature_pooling(x, pooling, names=False))
    options = Options(False, weights, input_shape, None, classes, classifier_activation, name)
    return finish(inputs, x, options)


def _family(size: str) -> Callable[..., Model]:
    default_name = f"convnext_{size}"

    def build(
        include_top: bool = True,
        include_preprocessing: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
        name: str = default_name,
    ) -> Model:
        return _convnext(
            size,
            name,
            include_top,
            include_preprocessing,
            weights,
            input_tensor,
            input_shape,
            pooling,
            classes,
            classifier_activation,
        )

    depths, dims = CONFIGS[size]
    suffix = "XLarge" if size == "xlarge" else size.capitalize()
    build.__name__ = build.__qualname__ = f"ConvNeXt{suffix}"
    build.__doc__ = f"Keras' {build.__name__}: stages of {depths} blocks, {dims} channels."
    return build


ConvNeXtTiny = _family("tiny")
ConvNeXtSmall = _family("small")
ConvNeXtBase = _family("base")
ConvNeXtLarge = _family("large")
ConvNeXtXLarge = _family("xlarge")


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing(None)
