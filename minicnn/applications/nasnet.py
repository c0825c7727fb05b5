"""Keras' NASNetMobile and NASNetLarge (Zoph et al., 2018): normal and reduction cells found
by architecture search, each cell reading the two cells before it; preprocess_input mode
'tf'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import layers as L
from ..models import Model
from ._base import Options, Tensor, correct_pad, finish, image_input
from .imagenet_utils import decode_predictions, family_preprocessing  # noqa: F401

_BN = {"momentum": 0.9997, "epsilon": 1e-3}


def _conv_bn(x: Tensor, filters: int, name: str, bn_name: str) -> Tensor:
    """ReLU, a 1x1 convolution (He-normal, no bias), batch norm."""
    x = L.Activation("relu")(x)
    x = L.Conv2D(
        filters, 1, padding="same", use_bias=False, kernel_initializer="he_normal", name=name
    )(x)
    return L.BatchNormalization(**_BN, name=bn_name)(x)


def _separable_block(x: Tensor, filters: int, kernel: int, stride: int, block: str) -> Tensor:
    """Keras' _separable_conv_block: twice ReLU, separable convolution, batch norm; the
    first strided one zero-padded as Keras' correct_pad pads."""
    x = L.Activation("relu")(x)
    padding = "same"
    if stride == 2:
        x = L.ZeroPadding2D(
            correct_pad(x.sample_shape[:2], kernel), name=f"separable_conv_1_pad_{block}"
        )(x)
        padding = "valid"
    for k in (1, 2):
        if k == 2:
            x = L.Activation("relu")(x)
        x = L.SeparableConv2D(
            filters,
            kernel,
            strides=stride if k == 1 else 1,
            padding=padding if k == 1 else "same",
            use_bias=False,
            name=f"separable_conv_{k}_{block}",
        )(x)
        x = L.BatchNormalization(**_BN, name=f"separable_conv_{k}_bn_{block}")(x)
    return x


def _adjust(p: Tensor | None, ip: Tensor, filters: int, block: str) -> Tensor:
    """Keras' _adjust_block: the previous cell's output made to match this cell's input,
    halved in size by two offset 1x1 average pools (a factorized reduction), or projected
    to ``filters`` channels."""
    if p is None:
        return ip
    if p.sample_shape[1] != ip.sample_shape[1]:
        p = L.Activation("relu", name=f"adjust_relu_1_{block}")(p)
        paths = []
        for k, source in ((1, p), (2, None)):
            if source is None:  # the second path is shifted by one pixel
                source = L.Cropping2D(((1, 0), (1, 0)))(L.ZeroPadding2D(((0, 1), (0, 1)))(p))
            y = L.AveragePooling2D(1, strides=2, name=f"adjust_avg_pool_{k}_{block}")(source)
            paths.append(
                L.Conv2D(
                    filters // 2,
                    1,
                    padding="same",
                    use_bias=False,
                    kernel_initializer="he_normal",
                    name=f"adjust_conv_{k}_{block}",
                )(y)
            )
        p = L.concatenate(paths)
        return L.BatchNormalization(**_BN, name=f"adjust_bn_{block}")(p)
    if p.sample_shape[-1] != filters:
        return _conv_bn(p, filters, f"adjust_conv_projection_{block}", f"adjust_bn_{block}")
    return p


def _avg(x: Tensor, stride: int, name: str | None = None) -> Tensor:
    padding = "same" if stride == 1 else "valid"
    return L.AveragePooling2D(3, strides=stride, padding=padding, name=name)(x)


def _normal_cell(ip: Tensor, p: Tensor | None, filters: int, block: str) -> tuple[Tensor, Tensor]:
    """Keras' _normal_a_cell (NASNet-A, Fig. 4)."""
    p = _adjust(p, ip, filters, block)
    h = _conv_bn(ip, filters, f"normal_conv_1_{block}", f"normal_bn_1_{block}")
    x1 = L.add(
        [
            _separable_block(h, filters, 5, 1, f"normal_left1_{block}"),
            _separable_block(p, filters, 3, 1, f"normal_right1_{block}"),
        ],
        name=f"normal_add_1_{block}",
    )
    x2 = L.add(
        [
            _separable_block(p, filters, 5, 1, f"normal_left2_{block}"),
            _separable_block(p, filters, 3, 1, f"normal_right2_{block}"),
        ],
        name=f"normal_add_2_{block}",
    )
    x3 = L.add([_avg(h, 1, f"normal_left3_{block}"), p], name=f"normal_add_3_{block}")
    x4 = L.add(
        [_avg(p, 1, f"normal_left4_{block}"), _avg(p, 1, f"normal_right4_{block}")],
        name=f"normal_add_4_{block}",
    )
    x5 = L.add(
        [_separable_block(h, filters, 3, 1, f"normal_left5_{block}"), h],
        name=f"normal_add_5_{block}",
    )
    joined = L.concatenate([p, x1, x2, x3, x4, x5], name=f"normal_concat_{block}")
    return joined, ip


def _reduction_cell(
    ip: Tensor, p: Tensor | None, filters: int, block: str
) -> tuple[Tensor, Tensor]:
    """Keras' _reduction_a_cell (NASNet-A, Fig. 4): the size halved."""
    p = _adjust(p, ip, filters, block)
    h = _conv_bn(ip, filters, f"reduction_conv_1_{block}", f"reduction_bn_1_{block}")
    h3 = L.ZeroPadding2D(correct_pad(h.sample_shape[:2], 3), name=f"reduction_pad_1_{block}")(h)
    x1 = L.add(
        [
            _separable_block(h, filters, 5, 2, f"reduction_left1_{block}"),
            _separable_block(p, filters, 7, 2, f"reduction_right1_{block}"),
        ],
        name=f"reduction_add_1_{block}",
    )
    x2 = L.add(
        [
            L.MaxPooling2D(3, strides=2, name=f"reduction_left2_{block}")(h3),
            _separable_block(p, filters, 7, 2, f"reduction_right2_{block}"),
        ],
        name=f"reduction_add_2_{block}",
    )
    x3 = L.add(
        [
            _avg(h3, 2, f"reduction_left3_{block}"),
            _separable_block(p, filters, 5, 2, f"reduction_right3_{block}"),
        ],
        name=f"reduction_add3_{block}",
    )
    x4 = L.add([x2, _avg(x1, 1, f"reduction_left4_{block}")])
    x5 = L.add(
        [
            _separable_block(x1, filters, 3, 1, f"reduction_left4_{block}"),
            L.MaxPooling2D(3, strides=2, name=f"reduction_right5_{block}")(h3),
        ],
        name=f"reduction_add4_{block}",
    )
    return L.concatenate([x2, x3, x4, x5], name=f"reduction_concat_{block}"), ip


def _nasnet(
    options: Options,
    default_size: int,
    penultimate_filters: int,
    blocks: int,
    stem_filters: int,
    skip_reduction: bool,
    multiplier: int = 2,
) -> Model:
    inputs = image_input(options.input_shape, default_size, 32, options.input_tensor)
    if None in inputs.sample_shape:
        raise ValueError(
            "NASNet needs a fixed input size: its blocks compare the sizes of their inputs as "
            f"the model is built; got input_shape={options.input_shape}."
        )
    filters = penultimate_filters // 24
    x = L.Conv2D(
        stem_filters,
        3,
        strides=2,
        use_bias=False,
        kernel_initializer="he_normal",
        name="stem_conv1",
    )(inputs)
    x = L.BatchNormalization(**_BN, name="stem_bn1")(x)
    x, p = _reduction_cell(x, None, filters // multiplier**2, "stem_1")
    x, p = _reduction_cell(x, p, filters // multiplier, "stem_2")
    for stage in range(3):
        width = filters * multiplier**stage
        if stage:
            x, reduced = _reduction_cell(x, p, width, f"reduce_{stage * blocks}")
            p = p if skip_reduction else reduced
        for i in range(blocks):
            # Keras' ids: 0.. in the first stage, then after each reduction's own number
            x, p = _normal_cell(x, p, width, str(stage * blocks + i + (1 if stage else 0)))
    x = L.Activation("relu")(x)
    return finish(inputs, x, options)


def _family(
    name: str, size: int, penultimate: int, blocks: int, stem: int, skip: bool, count: str
) -> Callable[..., Model]:
    def build(
        input_shape: Any = None,
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
    ) -> Model:
        options = Options(
            include_top,
            weights,
            input_shape,
            pooling,
            classes,
            classifier_activation,
            "NASNet",
            input_tensor,
        )
        return _nasnet(options, size, penultimate, blocks, stem, skip)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"Keras' {name}: {blocks} normal cells a stage, {size}x{size} inputs by default; "
        f"{count} parameters with the top."
    )
    return build


NASNetMobile = _family("NASNetMobile", 224, 1056, 4, 32, False, "5,326,716")
NASNetLarge = _family("NASNetLarge", 331, 4032, 6, 96, True, "88,949,818")


# Keras' module functions: its family's preprocessing, ImageNet's class names.
preprocess_input = family_preprocessing("tf")
