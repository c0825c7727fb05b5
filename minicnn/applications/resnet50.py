"""Keras' resnet50 module: ResNet50 with mode 'caffe'."""

from .imagenet_utils import decode_predictions, family_preprocessing
from .resnet import ResNet50

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]

preprocess_input = family_preprocessing("caffe")
