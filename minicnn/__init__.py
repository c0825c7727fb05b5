"""minicnn: a from-scratch CNN engine you can read, with a Keras-like API."""

__version__ = "0.1.0"

from . import layers, losses, optimizers  # noqa: E402
from .backend import clear_session, set_random_seed  # noqa: E402
from .layers import Input  # noqa: E402
from .models import Sequential  # noqa: E402
from .saving import load_model  # noqa: E402

__all__ = [
    "Input",
    "Sequential",
    "clear_session",
    "layers",
    "load_model",
    "losses",
    "optimizers",
    "set_random_seed",
]
