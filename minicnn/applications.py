"""Keras' ``keras.applications`` architectures as minicnn models: VGG16 and VGG19,
ResNet50/101/152 and their V2 forms, MobileNet and MobileNetV2, DenseNet121/169/201, layer
for layer as Keras builds them (the same layer names and parameter counts: ResNet50 has
25,636,712). ImageNet weights are Keras' .h5 files, which minicnn does not read: ``weights``
is None (random initialization, to train from scratch) or the path of weights saved by
minicnn (``save_weights``). ``preprocess_input`` of each family is Keras' ("caffe" or "tf" mode)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from . import layers as L
from .models import Model

Tensor = Any  # a symbolic tensor of the model's graph


# --- shared ------------------------------------------------------------------------------------


def _input(input_shape: Any, default: int, min_size: int) -> Any:
    """Keras' obtain_input_shape, for channels-last images: the default square with 3
    channels, or the given shape (at least ``min_size`` pixels a side; with weights=None a
    top's sizes follow it, as in Keras)."""
    if input_shape is None:
        return L.Input((default, default, 3))
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels); got {shape}.")
    if shape[0] < min_size or shape[1] < min_size:
        raise ValueError(
            f"Input size must be at least {min_size}x{min_size}; Received: input_shape={shape}"
        )
    return L.Input(shape)


def _weights(weights: Any) -> str | None:
    if weights is None:
        return None
    if weights == "imagenet":
        raise ValueError(
            "weights='imagenet': Keras' ImageNet weights are .h5 files, which minicnn does not "
            "read. Pass weights=None to start from random weights, or the path of weights "
            "saved by minicnn's save_weights."
        )
    if not os.path.exists(weights):
        raise ValueError(
            "The `weights` argument should be either `None` (random initialization) or the "
            f"path to the weights file to be loaded. Received: weights={weights}"
        )
    return os.fspath(weights)


def _finish(
    inputs: Any,
    x: Tensor,
    name: str,
    include_top: bool,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    top: Callable[[Tensor], Tensor] | None,
    weights: Any,
) -> Model:
    """The top (``top``, or global pooling and a Dense), or the pooling of a feature
    extractor; then the model, with its weights loaded from a file if given."""
    path = _weights(weights)
    if include_top:
        x = top(x) if top else L.GlobalAveragePooling2D(name="avg_pool")(x)
        if top is None:
            x = L.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = L.GlobalMaxPooling2D(name="max_pool")(x)
    elif pooling is not None:
        raise ValueError(f"pooling must be None, 'avg' or 'max'; got {pooling!r}.")
    model = Model(inputs, x, name=name)
    if path is not None:
        model.load_weights(path)
    return model


# --- VGG ---------------------------------------------------------------------------------------


def _vgg(
    convs: tuple[int, ...],
    name: str,
    include_top: bool,
    weights: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
) -> Model:
    inputs = _input(input_shape, 224, 32)
    x = inputs
    for block, (count, filters) in enumerate(
        zip(convs, (64, 128, 256, 512, 512), strict=True), start=1
    ):
        for k in range(1, count + 1):
            x = L.Conv2D(
                filters, 3, padding="same", activation="relu", name=f"block{block}_conv{k}"
            )(x)
        x = L.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)

    def top(x: Tensor) -> Tensor:
        x = L.Flatten(name="flatten")(x)
        x = L.Dense(4096, activation="relu", name="fc1")(x)
        x = L.Dense(4096, activation="relu", name="fc2")(x)
        return L.Dense(classes, activation=classifier_activation, name="predictions")(x)

    return _finish(
        inputs, x, name, include_top, pooling, classes, classifier_activation, top, weights
    )


def VGG16(  # noqa: N802 - Keras' name
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
) -> Model:
    """VGG16 (Simonyan and Zisserman): 13 3x3 convolutions in 5 blocks, then two 4096-unit
    Dense layers; 138,357,544 parameters with the top."""
    _no_tensor(input_tensor)
    args = (include_top, weights, input_shape, pooling, classes, classifier_activation)
    return _vgg((2, 2, 3, 3, 3), "vgg16", *args)


def VGG19(  # noqa: N802
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
) -> Model:
    """VGG19: 16 3x3 convolutions in 5 blocks; 143,667,240 parameters with the top."""
    _no_tensor(input_tensor)
    args = (include_top, weights, input_shape, pooling, classes, classifier_activation)
    return _vgg((2, 2, 4, 4, 4), "vgg19", *args)


def _no_tensor(input_tensor: Any) -> None:
    if input_tensor is not None:
        raise ValueError("input_tensor is not available: give input_shape.")


# --- ResNet ------------------------------------------------------------------------------------

_BN = {"epsilon": 1.001e-5}


def _block_v1(x: Tensor, filters: int, stride: int, shortcut: bool, name: str) -> Tensor:
    """Keras' residual_block_v1: a 1x1, 3x3, 1x1 bottleneck with BN, added to the input (or
    to its 1x1 projection)."""
    if shortcut:
        skip = L.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        skip = L.BatchNormalization(**_BN, name=f"{name}_0_bn")(skip)
    else:
        skip = x
    x = L.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = L.BatchNormalization(**_BN, name=f"{name}_1_bn")(x)
    x = L.Activation("relu", name=f"{name}_1_relu")(x)
    x = L.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = L.BatchNormalization(**_BN, name=f"{name}_2_bn")(x)
    x = L.Activation("relu", name=f"{name}_2_relu")(x)
    x = L.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = L.BatchNormalization(**_BN, name=f"{name}_3_bn")(x)
    x = L.Add(name=f"{name}_add")([skip, x])
    return L.Activation("relu", name=f"{name}_out")(x)


def _block_v2(x: Tensor, filters: int, stride: int, shortcut: bool, name: str) -> Tensor:
    """Keras' residual_block_v2: pre-activation, the stride on the 3x3 convolution."""
    pre = L.BatchNormalization(**_BN, name=f"{name}_preact_bn")(x)
    pre = L.Activation("relu", name=f"{name}_preact_relu")(pre)
    if shortcut:
        skip = L.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(pre)
    else:
        skip = L.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = L.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(pre)
    x = L.BatchNormalization(**_BN, name=f"{name}_1_bn")(x)
    x = L.Activation("relu", name=f"{name}_1_relu")(x)
    x = L.ZeroPadding2D(((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = L.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = L.BatchNormalization(**_BN, name=f"{name}_2_bn")(x)
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


def _resnet(
    depths: tuple[int, int, int, int],
    v2: bool,
    name: str,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
) -> Model:
    _no_tensor(input_tensor)
    inputs = _input(input_shape, 224, 32)
    x = L.ZeroPadding2D(((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = L.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    if not v2:
        x = L.BatchNormalization(**_BN, name="conv1_bn")(x)
        x = L.Activation("relu", name="conv1_relu")(x)
    x = L.ZeroPadding2D(((1, 1), (1, 1)), name="pool1_pad")(x)
    x = L.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for k, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
        stride = (1 if k == 0 else 2) if not v2 else (1 if k == 3 else 2)
        x = _stack(x, filters, blocks, stride, f"conv{k + 2}", v2)
    if v2:
        x = L.BatchNormalization(**_BN, name="post_bn")(x)
        x = L.Activation("relu", name="post_relu")(x)
    return _finish(
        inputs, x, name, include_top, pooling, classes, classifier_activation, None, weights
    )


def _resnet_family(depths: tuple[int, int, int, int], v2: bool, name: str) -> Callable[..., Model]:
    def build(
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
    ) -> Model:
        return _resnet(
            depths,
            v2,
            name,
            include_top,
            weights,
            input_tensor,
            input_shape,
            pooling,
            classes,
            classifier_activation,
        )

    version = "with pre-activation blocks (He et al., 2016b)" if v2 else "(He et al., 2016)"
    build.__name__ = build.__qualname__ = name.replace("resnet", "ResNet").replace("v2", "V2")
    build.__doc__ = f"Keras' {build.__name__} {version}: bottleneck blocks of {depths}."
    return build


ResNet50 = _resnet_family((3, 4, 6, 3), False, "resnet50")
ResNet101 = _resnet_family((3, 4, 23, 3), False, "resnet101")
ResNet152 = _resnet_family((3, 8, 36, 3), False, "resnet152")
ResNet50V2 = _resnet_family((3, 4, 6, 3), True, "resnet50v2")
ResNet101V2 = _resnet_family((3, 4, 23, 3), True, "resnet101v2")
ResNet152V2 = _resnet_family((3, 8, 36, 3), True, "resnet152v2")


# --- MobileNet ---------------------------------------------------------------------------------


def _make_divisible(v: float, divisor: int = 8) -> int:
    """Keras' channel rounding: to a multiple of ``divisor``, not more than 10% down."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def _correct_pad(size: tuple[int, int], kernel: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' correct_pad: the zero padding before a strided 'valid' depthwise convolution."""
    adjust = (1 - size[0] % 2, 1 - size[1] % 2)
    half = kernel // 2
    return ((half - adjust[0], half), (half - adjust[1], half))


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
    _no_tensor(input_tensor)
    inputs = _input(input_shape, 224, 32)
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

    rows = inputs.shape[0]
    name = f"mobilenet_{alpha:0.2f}_{rows}"
    return _finish(
        inputs, x, name, include_top, pooling, classes, classifier_activation, top, weights
    )


_BN_V2 = {"epsilon": 1e-3, "momentum": 0.999}


def _inverted_block(
    x: Tensor, expansion: int, stride: int, alpha: float, filters: int, block: int
) -> Tensor:
    """Keras' _inverted_res_block: expand (1x1), depthwise 3x3, project (1x1); added to the
    input when the shapes allow."""
    channels = x.shape[-1]
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
        x = L.ZeroPadding2D(_correct_pad(x.shape[:2], 3), name=f"{prefix}pad")(x)
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
    _no_tensor(input_tensor)
    inputs = _input(input_shape, 224, 32)
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
    rows = inputs.shape[0]
    model_name = name or f"mobilenetv2_{alpha:0.2f}_{rows}"
    return _finish(
        inputs, x, model_name, include_top, pooling, classes, classifier_activation, None, weights
    )


# --- DenseNet ----------------------------------------------------------------------------------


def _dense_block(x: Tensor, blocks: int, name: str, growth: int = 32) -> Tensor:
    """Keras' dense_block: ``blocks`` conv blocks, each concatenating ``growth`` new
    channels (BN, ReLU, 1x1 bottleneck of 4*growth, BN, ReLU, 3x3) to its input."""
    for i in range(1, blocks + 1):
        part = f"{name}_block{i}"
        y = L.BatchNormalization(**_BN, name=f"{part}_0_bn")(x)
        y = L.Activation("relu", name=f"{part}_0_relu")(y)
        y = L.Conv2D(4 * growth, 1, use_bias=False, name=f"{part}_1_conv")(y)
        y = L.BatchNormalization(**_BN, name=f"{part}_1_bn")(y)
        y = L.Activation("relu", name=f"{part}_1_relu")(y)
        y = L.Conv2D(growth, 3, padding="same", use_bias=False, name=f"{part}_2_conv")(y)
        x = L.Concatenate(name=f"{part}_concat")([x, y])
    return x


def _transition(x: Tensor, name: str) -> Tensor:
    """Keras' transition_block: BN, ReLU, a 1x1 convolution halving the channels, 2x2
    average pooling."""
    x = L.BatchNormalization(**_BN, name=f"{name}_bn")(x)
    x = L.Activation("relu", name=f"{name}_relu")(x)
    x = L.Conv2D(int(x.shape[-1] * 0.5), 1, use_bias=False, name=f"{name}_conv")(x)
    return L.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet_family(blocks: tuple[int, int, int, int], name: str) -> Callable[..., Model]:
    def build(
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
        name: str = name,
    ) -> Model:
        _no_tensor(input_tensor)
        inputs = _input(input_shape, 224, 32)
        x = L.ZeroPadding2D(((3, 3), (3, 3)))(inputs)
        x = L.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = L.BatchNormalization(**_BN, name="conv1_bn")(x)
        x = L.Activation("relu", name="conv1_relu")(x)
        x = L.ZeroPadding2D(((1, 1), (1, 1)))(x)
        x = L.MaxPooling2D(3, strides=2, name="pool1")(x)
        for k, count in enumerate(blocks, start=2):
            x = _dense_block(x, count, f"conv{k}")
            if k < 5:
                x = _transition(x, f"pool{k}")
        x = L.BatchNormalization(**_BN, name="bn")(x)
        x = L.Activation("relu", name="relu")(x)
        return _finish(
            inputs, x, name, include_top, pooling, classes, classifier_activation, None, weights
        )

    build.__name__ = build.__qualname__ = name.replace("densenet", "DenseNet")
    build.__doc__ = (
        f"Keras' {build.__name__} (Huang et al., 2017): dense blocks of {blocks} conv "
        "blocks, growth rate 32, transitions halving the channels; preprocess_input mode "
        "'torch'."
    )
    return build


DenseNet121 = _densenet_family((6, 12, 24, 16), "densenet121")
DenseNet169 = _densenet_family((6, 12, 32, 32), "densenet169")
DenseNet201 = _densenet_family((6, 12, 48, 32), "densenet201")


# --- preprocessing ------------------------------------------------------------------------------

_CAFFE_MEAN = np.array([103.939, 116.779, 123.68], np.float32)  # ImageNet's, in BGR order


def preprocess_input(x: Any, mode: str = "caffe") -> np.ndarray:
    """Keras' imagenet_utils.preprocess_input on channels-last RGB images in [0, 255]:
    'caffe' (VGG, ResNet): to BGR, less ImageNet's mean; 'tf' (MobileNet, ResNetV2): to
    [-1, 1]; 'torch': to [0, 1], less the mean, over the standard deviation."""
    x = np.asarray(x, np.float32)
    if mode == "caffe":
        return x[..., ::-1] - _CAFFE_MEAN
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        mean = np.array([0.485, 0.456, 0.406], np.float32)
        std = np.array([0.229, 0.224, 0.225], np.float32)
        return (x / 255.0 - mean) / std
    raise ValueError(f"mode must be 'caffe', 'tf' or 'torch'; got {mode!r}.")
