"""Keras' LPIPS (Zhang et al., 2018, "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric"): the distance of two images as the weighted squared differences of their
unit-normalized VGG16 features at five depths, averaged over space and summed; preprocess_input
mode 'torch'."""

from __future__ import annotations

from typing import Any

from .. import layers as L
from .. import ops
from ..models import Model
from ._base import no_input_tensor, weights_path
from .imagenet_utils import preprocess_input as imagenet_preprocess
from .vgg import VGG16

FEATURE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")


def _linear_heads(channels: list[int], sizes: list[tuple[int, int]]) -> Model:
    """Keras' linear_model: per depth, dropout and a 1x1 convolution to one channel without
    bias (the learned weight of each feature channel)."""
    inputs, outputs = [], []
    for i, (count, size) in enumerate(zip(channels, sizes, strict=True)):
        x = L.Input((*size, count))
        y = L.Dropout(rate=0.5)(x)
        outputs.append(L.Conv2D(1, 1, use_bias=False, name=f"linear_{i}")(y))
        inputs.append(x)
    return Model(inputs, outputs, name="linear_model")


def _unit_normalized(x: Any, eps: float = 1e-8) -> Any:
    return x * ops.rsqrt(eps + ops.sum(ops.square(x), axis=-1, keepdims=True))


def LPIPS(
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    network_type: str = "vgg",
    name: str = "lpips",
) -> Model:
    """Keras' LPIPS model: two image inputs ("input1", "input2") of any size by default
    (``input_shape`` (None, None, 3)), one distance per pair. Images go in as
    ``preprocess_input`` gives them. ``weights``: None, or a minicnn weights file ("imagenet",
    Keras' .h5, is refused as in the other applications)."""
    if network_type != "vgg":
        raise ValueError(
            f"Currently only VGG backbone is supported. Got network_type={network_type}"
        )
    no_input_tensor(input_tensor)
    path = weights_path(weights)
    shape = tuple(input_shape) if input_shape is not None else (None, None, 3)
    first, second = L.Input(shape, name="input1"), L.Input(shape, name="input2")
    vgg = VGG16(include_top=False, weights=None, input_shape=shape)
    backbone = Model(
        vgg.inputs, [vgg.get_layer(n).output for n in FEATURE_LAYERS], name="vgg_backbone"
    )
    features = [backbone(first), backbone(second)]
    diffs = [
        ops.square(_unit_normalized(a) - _unit_normalized(b))
        for a, b in zip(*features, strict=True)
    ]
    heads = _linear_heads(
        [d.sample_shape[-1] for d in diffs], [tuple(d.sample_shape[:2]) for d in diffs]
    )
    spatial = [ops.mean(t, axis=(1, 2)) for t in heads(diffs)]
    distance = ops.squeeze(L.Add(name="sum_of_depths")(spatial), axis=-1)
    model = Model([first, second], distance, name=name)
    if path is not None:
        model.load_weights(path)
    return model


def preprocess_input(x: Any, data_format: Any = None) -> Any:
    """Keras' lpips.preprocess_input: mode 'torch' (scaled to [0, 1], then ImageNet's mean
    and standard deviation), on channels-last images."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"data_format must be 'channels_last'; got {data_format!r}.")
    return imagenet_preprocess(x, mode="torch")
