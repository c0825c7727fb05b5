"""Keras' ``keras.preprocessing.sequence``: token-id lists padded to one length."""

from ..utils import pad_sequences

__all__ = ["pad_sequences"]
