"""Keras' mobilenet_v2 module: MobileNetV2 with mode 'tf'."""

from .imagenet_utils import decode_predictions, family_preprocessing
from .mobilenet import MobileNetV2

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

preprocess_input = family_preprocessing("tf")
