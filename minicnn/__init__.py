"""minicnn: a from-scratch CNN engine you can read, with a Keras-like API."""

__version__ = "0.1.0"
