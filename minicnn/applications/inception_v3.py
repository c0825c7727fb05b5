"""Keras' InceptionV3 (Szegedy et al., 2016): mixed blocks of parallel convolution branches,
factorized 7x7 and 3x3 kernels; preprocess_input mode 'tf'."""

from __future__ import annotations

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, application, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401


def _conv_bn(
    x: Tensor,
    filters: int,
    kernel: int | tuple[int, int],
    strides: int = 1,
    padding: str = "same",
    use_bias: bool = False,
    activation: str | None = "relu",
    name: str | None = None,
) -> Tensor:
    """Keras' conv2d_bn: a convolution, batch norm without scale (the ReLU after it makes a
    scale redundant) unless the convolution has a bias, and the activation; with ``name``,
    the layers are ``name``, ``name_bn`` and ``name_ac`` (InceptionResNetV2's names)."""
    x = L.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = L.BatchNormalization(scale=False, name=name and f"{name}_bn")(x)
    if activation is not None:
        x = L.Activation(activation, name=name and f"{name}_ac")(x)
    return x


def _chain(x: Tensor, *convs: tuple[int, tuple[int, int]]) -> Tensor:
    for filters, kernel in convs:
        x = _conv_bn(x, filters, kernel)
    return x


def _pooled(x: Tensor, filters: int) -> Tensor:
    """The pooling branch: 3x3 average pooling, then a 1x1 convolution."""
    return _conv_bn(L.AveragePooling2D(3, strides=1, padding="same")(x), filters, (1, 1))


def _mixed_35(x: Tensor, pool_filters: int, name: str) -> Tensor:
    """Blocks mixed0-2 at 35x35: 1x1, 5x5, double 3x3 and pooling branches."""
    return L.concatenate(
        [
            _conv_bn(x, 64, (1, 1)),
            _chain(x, (48, (1, 1)), (64, (5, 5))),
            _chain(x, (64, (1, 1)), (96, (3, 3)), (96, (3, 3))),
            _pooled(x, pool_filters),
        ],
        name=name,
    )


def _mixed_17(x: Tensor, width: int, name: str) -> Tensor:
    """Blocks mixed4-7 at 17x17: the 7x7 kernels factorized into 1x7 and 7x1."""
    return L.concatenate(
        [
            _conv_bn(x, 192, (1, 1)),
            _chain(x, (width, (1, 1)), (width, (1, 7)), (192, (7, 1))),
            _chain(
                x,
                (width, (1, 1)),
                (width, (7, 1)),
                (width, (1, 7)),
                (width, (7, 1)),
                (192, (1, 7)),
            ),
            _pooled(x, 192),
        ],
        name=name,
    )


def _mixed_8(x: Tensor, index: int) -> Tensor:
    """Blocks mixed9 and mixed10 at 8x8: the 3x3 kernels split into parallel 1x3 and 3x1."""
    wide = _conv_bn(x, 384, (1, 1))
    wide = L.concatenate(
        [_conv_bn(wide, 384, (1, 3)), _conv_bn(wide, 384, (3, 1))], name=f"mixed9_{index}"
    )
    double = _chain(x, (448, (1, 1)), (384, (3, 3)))
    double = L.concatenate([_conv_bn(double, 384, (1, 3)), _conv_bn(double, 384, (3, 1))])
    return L.concatenate(
        [_conv_bn(x, 320, (1, 1)), wide, double, _pooled(x, 192)], name=f"mixed{9 + index}"
    )


def _inception_v3(options: Options) -> Model:
    inputs = image_input(options.input_shape, 299, 75, options.input_tensor)
    x = _conv_bn(inputs, 32, (3, 3), strides=2, padding="valid")
    x = _conv_bn(x, 32, (3, 3), padding="valid")
    x = _conv_bn(x, 64, (3, 3))
    x = L.MaxPooling2D(3, strides=2)(x)
    x = _conv_bn(x, 80, (1, 1), padding="valid")
    x = _conv_bn(x, 192, (3, 3), padding="valid")
    x = L.MaxPooling2D(3, strides=2)(x)
    for index, pool_filters in enumerate((32, 64, 64)):
        x = _mixed_35(x, pool_filters, f"mixed{index}")
    x = L.concatenate(  # mixed3: to 17x17
        [
            _conv_bn(x, 384, (3, 3), strides=2, padding="valid"),
            _conv_bn(_chain(x, (64, (1, 1)), (96, (3, 3))), 96, (3, 3), strides=2, padding="valid"),
            L.MaxPooling2D(3, strides=2)(x),
        ],
        name="mixed3",
    )
    for index, width in zip(range(4, 8), (128, 160, 160, 192), strict=True):
        x = _mixed_17(x, width, f"mixed{index}")
    x = L.concatenate(  # mixed8: to 8x8
        [
            _conv_bn(_conv_bn(x, 192, (1, 1)), 320, (3, 3), strides=2, padding="valid"),
            _conv_bn(
                _chain(x, (192, (1, 1)), (192, (1, 7)), (192, (7, 1))),
                192,
                (3, 3),
                strides=2,
                padding="valid",
            ),
            L.MaxPooling2D(3, strides=2)(x),
        ],
        name="mixed8",
    )
    for index in range(2):
        x = _mixed_8(x, index)
    return finish(inputs, x, options)


InceptionV3 = application(
    _inception_v3,
    "InceptionV3",
    "inception_v3",
    "Keras' InceptionV3: 23,851,784 parameters with the top; inputs of 299x299 by "
    "default, at least 75x75.",
)


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("tf")
