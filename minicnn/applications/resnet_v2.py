"""Keras' resnet_v2 module: ResNet50V2/101V2/152V2 with mode 'tf'."""

from .imagenet_utils import decode_predictions, family_preprocessing
from .resnet import ResNet50V2, ResNet101V2, ResNet152V2

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]

preprocess_input = family_preprocessing("tf")
