"""Keras' vgg16 module: VGG16 with mode 'caffe'."""

from .imagenet_utils import decode_predictions, family_preprocessing
from .vgg import VGG16

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]

preprocess_input = family_preprocessing("caffe")
