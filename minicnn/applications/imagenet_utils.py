"""Keras' imagenet_utils: preprocess_input and decode_predictions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..file_download import get_file

# Keras' ImageNet class index: 1000 entries of [WordNet id, name], and Keras' MD5 of the file.
CLASS_INDEX_PATH = (
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
)
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

_CAFFE_MEAN = np.array([103.939, 116.779, 123.68], np.float32)  # ImageNet's, in BGR order


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> np.ndarray:
    """Keras' imagenet_utils.preprocess_input on RGB images in [0, 255] (channels last, or
    first by ``data_format``): 'caffe' (VGG, ResNet): to BGR, less ImageNet's mean; 'tf'
    (MobileNet, ResNetV2): to [-1, 1]; 'torch': to [0, 1], less the mean, over the standard
    deviation."""
    from ..layer_base import channels_last

    if data_format in ("caffe", "tf", "torch"):  # the old positional mode
        raise ValueError(
            f"preprocess_input's second argument is data_format, as in Keras; give the mode "
            f"by name: preprocess_input(x, mode={data_format!r})."
        )
    x = np.asarray(x, np.float32)
    first = channels_last(data_format, "preprocess_input") == "channels_first"
    axis = (0 if x.ndim == 3 else 1) if first else -1
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "caffe":
        return np.flip(x, axis) - _CAFFE_MEAN.reshape(shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(shape)
        std = np.array([0.229, 0.224, 0.225], np.float32).reshape(shape)
        return (x / 255.0 - mean) / std
    raise ValueError(f"mode must be 'caffe', 'tf' or 'torch'; got {mode!r}.")


def family_preprocessing(mode: str | None) -> Any:
    """The ``preprocess_input(x, data_format=None)`` of a Keras application module: its
    family's mode, or (None) the input as it is, for the models that preprocess inside
    (EfficientNet, MobileNetV3, ConvNeXt)."""

    def family_preprocess_input(x: Any, data_format: str | None = None) -> Any:
        if mode is None:
            return x
        return preprocess_input(x, data_format=data_format, mode=mode)

    family_preprocess_input.__name__ = "preprocess_input"
    family_preprocess_input.__doc__ = (
        f"Keras' preprocess_input of this family: mode {mode!r} (see imagenet_utils)."
        if mode
        else "Keras' preprocess_input of this family: the input as it is (the model "
        "preprocesses inside)."
    )
    return family_preprocess_input


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Keras' decode_predictions: for each row of ImageNet class scores (samples, 1000), the
    ``top`` classes as (WordNet id, name, score), best first. The class index is fetched once
    into minicnn's cache (``utils.get_file``, checked by Keras' MD5)."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
            f"(samples, 1000)). Received array with shape: {preds.shape}"
        )
    path = get_file(
        "imagenet_class_index.json",
        CLASS_INDEX_PATH,
        cache_subdir="models",
        file_hash=CLASS_INDEX_HASH,
    )
    with open(path) as f:
        index = json.load(f)
    results = []
    for row in preds:
        best = np.argsort(row)[::-1][:top]
        results.append([(*index[str(i)], float(row[i])) for i in best])
    return results
