"""Keras' ``keras.preprocessing``: the preprocessing layers that act the same in training
and inference (``minicnn.preprocessing_layers``), the dataset makers, and the ``image`` and
``sequence`` modules of Keras' older helpers, which import as Keras' do
(``from minicnn.preprocessing.image import load_img``)."""

from ..preprocessing_layers import CenterCrop, Normalization, Rescaling, Resizing
from ..utils import (
    image_dataset_from_directory,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)
from . import image, sequence

__all__ = [
    "CenterCrop",
    "Normalization",
    "Rescaling",
    "Resizing",
    "image",
    "image_dataset_from_directory",
    "sequence",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
]
