"""minicnn: a from-scratch CNN engine you can read, with a Keras-like API."""

import os

# OpenBLAS threads busy-wait for about 2**28 cycles after each GEMM by default, which takes both
# cores away from the Numba kernels that run between GEMMs (a training step of the study's base
# model goes from ~125 ms to ~280 ms). A short timeout makes them yield at once. OpenBLAS reads it
# when NumPy first loads it, so this works when minicnn is imported before NumPy; an explicit
# setting of the user's wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .allocator import tune_malloc  # noqa: E402

# A training step frees and makes again the same large arrays; glibc's defaults give their pages
# back to the kernel each time and fault them in again (see allocator.py).
tune_malloc()

__version__ = "0.1.0"

from . import (  # noqa: E402
    applications,
    callbacks,
    config,
    constraints,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    ops,
    optimizers,
    quantizers,
    random,
    regularizers,
    tree,
    utils,
    visualization,
)
from .autograd import grad, no_grad  # noqa: E402
from .backend import clear_session, device, set_random_seed  # noqa: E402
from .constraints import Constraint  # noqa: E402
from .initializers import Initializer  # noqa: E402
from .input_spec import InputSpec  # noqa: E402
from .layer_base import Layer  # noqa: E402
from .layer_base import SymbolicTensor as KerasTensor  # noqa: E402
from .layers import Input  # noqa: E402
from .losses import Loss  # noqa: E402
from .metrics import Metric  # noqa: E402
from .models import Model, Sequential  # noqa: E402
from .name_scopes import name_scope  # noqa: E402
from .onnx_import import load_onnx  # noqa: E402
from .optimizers import Optimizer  # noqa: E402
from .regularizers import Regularizer  # noqa: E402
from .saving import load_model  # noqa: E402
from .variables import Variable  # noqa: E402

# Namespaces imported when first used (the wrappers import scikit-learn, which takes time).
_LAZY = ("datasets", "distillation", "preprocessing", "wrappers")


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minicnn' has no attribute {name!r}")


__all__ = [
    "Constraint",
    "Initializer",
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Optimizer",
    "Regularizer",
    "applications",
    "Model",
    "Sequential",
    "Variable",
    "name_scope",
    "callbacks",
    "clear_session",
    "config",
    "constraints",
    "device",
    "distillation",
    "grad",
    "dtype_policies",
    "initializers",
    "layers",
    "load_model",
    "load_onnx",
    "losses",
    "metrics",
    "mixed_precision",
    "no_grad",
    "ops",
    "optimizers",
    "quantizers",
    "random",
    "regularizers",
    "tree",
    "set_random_seed",
    "utils",
    "visualization",
    "wrappers",
]
