"""Keras' vgg19 module: VGG19 with mode 'caffe'."""

from .imagenet_utils import decode_predictions, family_preprocessing
from .vgg import VGG19

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]

preprocess_input = family_preprocessing("caffe")
