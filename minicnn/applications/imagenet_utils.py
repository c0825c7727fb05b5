"""Keras' imagenet_utils.preprocess_input."""

from __future__ import annotations

from typing import Any

import numpy as np

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
