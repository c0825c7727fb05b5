"""Keras 3's ``keras.Variable``: a tensor that holds state, made from an initial value or an
initializer and a shape. A user's layer that keeps one as an attribute (``self.w =
Variable(...)``) holds it as a weight, as Keras tracks variables: trained when
``trainable``, counted, saved and moved with the layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, initializers
from .autograd import Tensor
from .name_scopes import current_path, joined


class Variable(Tensor):
    """Keras' ``Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``:
    ``initializer`` is the initial value (an array or a number) or an initializer (a name
    such as "zeros" or "glorot_uniform", or a function of the shape), which then needs
    ``shape``."""

    __slots__ = ("trainable",)
    is_variable = True  # a user's layer holds it as a weight

    def __init__(
        self,
        initializer: Any,
        shape: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - {"autocast", "aggregation", "synchronization"}
        if unknown:
            raise TypeError(f"Variable got unknown arguments {sorted(unknown)}.")
        if isinstance(initializer, str) or (
            callable(initializer) and not isinstance(initializer, (Tensor, np.ndarray))
        ):
            if shape is None:
                raise ValueError(
                    "Variable: an initializer needs a shape; give shape=, or an initial value."
                )
            shape = tuple(int(d) for d in shape)
            made = initializers.get(initializer) if isinstance(initializer, str) else initializer
            values = np.asarray(made(shape))
        else:
            values = np.asarray(backend.to_numpy(getattr(initializer, "data", initializer)))
            if shape is not None and tuple(values.shape) != tuple(shape):
                raise ValueError(
                    f"Variable: the initial value has shape {values.shape}, not {tuple(shape)}."
                )
        if dtype is None:  # floats as Keras' float32, ints and bools as they are
            dtype = backend.FLOAT if values.dtype.kind == "f" else values.dtype
        values = values.astype(dtype)
        super().__init__(values, requires_grad=bool(trainable), name=name)
        # Named and placed as Keras' are: "variable", "variable_1", ..., under the open scope.
        self.name = name or backend.unique_name("variable")
        self.scope = current_path()
        self.path = joined(self.scope, self.name)
        self.trainable = bool(trainable)
