"""What every architecture shares: the input, the weights argument, the top or the
pooling of a feature extractor."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import layers as L
from ..layer_base import SymbolicTensor
from ..models import Model
from ..utils import get_source_inputs

Tensor = Any  # a symbolic tensor of the model's graph

RESNET_BN = {"epsilon": 1.001e-5}  # the batch norm of Keras' ResNet and DenseNet


def image_input(input_shape: Any, default: int, min_size: int, input_tensor: Any = None) -> Any:
    """Keras' obtain_input_shape, for channels-last images: the default square with 3
    channels, or the given shape (at least ``min_size`` pixels a side; with weights=None a
    top's sizes follow it, as in Keras; a None size is unknown, for a feature extractor).
    ``input_tensor`` (Keras' argument: an Input, or a layer's output) is the input itself;
    the model then starts from the Inputs it comes from."""
    if input_tensor is not None:
        if not isinstance(input_tensor, SymbolicTensor):
            raise ValueError(
                "input_tensor must be a symbolic tensor (keras.Input(...), or a layer's output "
                f"on one); got {type(input_tensor).__name__}."
            )
        input_shape = input_shape or input_tensor.sample_shape
    if input_shape is None:
        return L.Input((default, default, 3))
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels); got {shape}.")
    if any(d is not None and d < min_size for d in shape[:2]):
        raise ValueError(
            f"Input size must be at least {min_size}x{min_size}; Received: input_shape={shape}"
        )
    return input_tensor if input_tensor is not None else L.Input(shape)


def weights_path(weights: Any) -> str | None:
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


@dataclass(frozen=True)
class Options:
    """The arguments every Keras application takes."""

    include_top: bool = True
    weights: Any = "imagenet"
    input_shape: Any = None
    pooling: str | None = None
    classes: int = 1000
    classifier_activation: Any = "softmax"
    name: str = ""
    input_tensor: Any = None


def finish(
    inputs: Any, x: Tensor, options: Options, top: Callable[[Tensor], Tensor] | None = None
) -> Model:
    """The top (``top``, or global pooling and a Dense), or the pooling of a feature
    extractor; then the model, with its weights loaded from a file if given."""
    path = weights_path(options.weights)
    if options.include_top:
        if top is not None:
            x = top(x)
        else:
            x = L.GlobalAveragePooling2D(name="avg_pool")(x)
            activation = options.classifier_activation
            x = L.Dense(options.classes, activation=activation, name="predictions")(x)
    else:
        x = feature_pooling(x, options.pooling, names=True)
    sources = get_source_inputs(inputs)  # an input_tensor's own Inputs, as Keras'
    model = Model(sources[0] if len(sources) == 1 else sources, x, name=options.name)
    if path is not None:
        model.load_weights(path)
    return model


def feature_pooling(x: Tensor, pooling: str | None, names: bool) -> Tensor:
    """A feature extractor's ``pooling``: None (the map), 'avg' or 'max'."""
    if pooling == "avg":
        return L.GlobalAveragePooling2D(name="avg_pool" if names else None)(x)
    if pooling == "max":
        return L.GlobalMaxPooling2D(name="max_pool" if names else None)(x)
    if pooling is not None:
        raise ValueError(f"pooling must be None, 'avg' or 'max'; got {pooling!r}.")
    return x


def application(
    builder: Callable[[Options], Model], function_name: str, model_name: str, doc: str
) -> Callable[..., Model]:
    """A Keras application function with Keras' arguments, building with ``builder``."""

    def build(
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
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
        return builder(options)

    build.__name__ = build.__qualname__ = function_name
    build.__doc__ = doc
    return build


def no_input_tensor(input_tensor: Any) -> None:
    if input_tensor is not None:
        raise ValueError("input_tensor is not available: give input_shape.")


def correct_pad(size: tuple[int, int], kernel: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' correct_pad: the zero padding before a strided 'valid' depthwise convolution
    (for an unknown size, the padding of an even one, as Keras')."""
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = kernel // 2
    return ((half - adjust[0], half), (half - adjust[1], half))
