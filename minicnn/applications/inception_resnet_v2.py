"""Keras' InceptionResNetV2 (Szegedy et al., 2017): Inception branches whose output, scaled,
is added back to the block's input; preprocess_input mode 'tf'."""

from __future__ import annotations

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, application, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401
from .inception_v3 import _conv_bn

# Each block type's branches: a chain of (filters, kernel) convolutions per branch.
BRANCHES = {
    "block35": [[(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]],
    "block17": [[(192, 1)], [(128, 1), (160, (1, 7)), (192, (7, 1))]],
    "block8": [[(192, 1)], [(192, 1), (224, (1, 3)), (256, (3, 1))]],
}


def _residual_block(
    x: Tensor, scale: float, block: str, index: int, activation: str | None = "relu"
) -> Tensor:
    """Keras' inception_resnet_block: x + scale * (1x1 convolution of the branches joined);
    Keras' CustomScaleLayer is arithmetic on the graph here (no weights either way)."""
    branches = []
    for chain in BRANCHES[block]:
        y = x
        for filters, kernel in chain:
            y = _conv_bn(y, filters, kernel)
        branches.append(y)
    name = f"{block}_{index}"
    mixed = L.Concatenate(name=f"{name}_mixed")(branches)
    up = _conv_bn(mixed, x.sample_shape[-1], 1, use_bias=True, activation=None, name=f"{name}_conv")
    x = x + up * scale
    return L.Activation(activation, name=f"{name}_ac")(x) if activation else x


def _reduction(x: Tensor, chains: list[list[tuple[int, int, int]]], name: str) -> Tensor:
    """Mixed 6a and 7a: convolution chains of (filters, kernel, stride) ending at stride 2,
    and a strided max pool, joined."""
    branches = []
    for chain in chains:
        y = x
        for filters, kernel, stride in chain:
            y = _conv_bn(
                y, filters, kernel, strides=stride, padding="same" if stride == 1 else "valid"
            )
        branches.append(y)
    branches.append(L.MaxPooling2D(3, strides=2)(x))
    return L.Concatenate(name=name)(branches)


def _inception_resnet_v2(options: Options) -> Model:
    inputs = image_input(options.input_shape, 299, 75, options.input_tensor)
    x = _conv_bn(inputs, 32, 3, strides=2, padding="valid")
    x = _conv_bn(x, 32, 3, padding="valid")
    x = _conv_bn(x, 64, 3)
    x = L.MaxPooling2D(3, strides=2)(x)
    x = _conv_bn(x, 80, 1, padding="valid")
    x = _conv_bn(x, 192, 3, padding="valid")
    x = L.MaxPooling2D(3, strides=2)(x)
    pooled = _conv_bn(L.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    x = L.Concatenate(name="mixed_5b")(
        [
            _conv_bn(x, 96, 1),
            _conv_bn(_conv_bn(x, 48, 1), 64, 5),
            _conv_bn(_conv_bn(_conv_bn(x, 64, 1), 96, 3), 96, 3),
            pooled,
        ]
    )
    for index in range(1, 11):
        x = _residual_block(x, 0.17, "block35", index)
    x = _reduction(x, [[(384, 3, 2)], [(256, 1, 1), (256, 3, 1), (384, 3, 2)]], "mixed_6a")
    for index in range(1, 21):
        x = _residual_block(x, 0.1, "block17", index)
    x = _reduction(
        x,
        [
            [(256, 1, 1), (384, 3, 2)],
            [(256, 1, 1), (288, 3, 2)],
            [(256, 1, 1), (288, 3, 1), (320, 3, 2)],
        ],
        "mixed_7a",
    )
    for index in range(1, 10):
        x = _residual_block(x, 0.2, "block8", index)
    x = _residual_block(x, 1.0, "block8", 10, activation=None)
    x = _conv_bn(x, 1536, 1, name="conv_7b")
    return finish(inputs, x, options)


InceptionResNetV2 = application(
    _inception_resnet_v2,
    "InceptionResNetV2",
    "inception_resnet_v2",
    "Keras' InceptionResNetV2: 55,873,736 parameters with the top; inputs of 299x299 by "
    "default, at least 75x75.",
)


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("tf")
