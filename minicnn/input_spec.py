"""Keras' InputSpec: what a layer says about the inputs it takes (rank, sizes of some axes,
dtype), checked on every call with Keras' messages. A layer sets ``self.input_spec`` (one
spec, or a list for a layer of several inputs) in ``__init__`` or ``build``."""

from __future__ import annotations

from typing import Any

import numpy as np


class InputSpec:
    """The rank (``ndim``, or ``min_ndim``/``max_ndim``), ``shape`` (None where any size
    goes), the sizes of some ``axes`` ({axis: size}) and the ``dtype`` an input must have;
    shapes include the batch axis, as in Keras."""

    def __init__(
        self,
        dtype: Any = None,
        shape: Any = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: dict[int, int] | None = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
        optional: bool = False,
    ) -> None:
        self.dtype = None if dtype is None else np.dtype(dtype).name
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name, self.optional = name, optional
        if self.ndim is not None:
            for axis in self.axes:
                if not -self.ndim <= axis < self.ndim:
                    raise ValueError(
                        f"Axis {axis} is greater than the maximum allowed value: {self.ndim - 1}"
                    )

    def __repr__(self) -> str:
        fields = {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes or None,
        }
        return "InputSpec(" + ", ".join(f"{k}={v}" for k, v in fields.items() if v) + ")"

    def get_config(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputSpec:
        return cls(**config)


def assert_input_compatibility(
    input_spec: Any, shapes: list[tuple[Any, ...]], dtypes: list[Any], layer_name: str
) -> None:
    """A ValueError, in Keras' words, unless each input (its full shape, batch included, and
    dtype) meets its spec."""
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    if len(shapes) != len(specs):
        raise ValueError(
            f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
            f"{len(shapes)} input tensors."
        )
    for index, (spec, shape, dtype) in enumerate(zip(specs, shapes, dtypes, strict=True)):
        if spec is None:
            continue
        shape = tuple(shape)
        ndim = len(shape)
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer:'
        received = f"Full shape received: {shape}"
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise ValueError(f"{where} expected ndim={spec.ndim}, found ndim={ndim}. {received}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise ValueError(
                f"{where} expected max_ndim={spec.max_ndim}, found ndim={ndim}. {received}"
            )
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise ValueError(
                f"{where} expected min_ndim={spec.min_ndim}, found ndim={ndim}. {received}"
            )
        if spec.dtype is not None and np.dtype(dtype).name != spec.dtype:
            raise ValueError(
                f"{where} expected dtype={spec.dtype}, found dtype={np.dtype(dtype).name}"
            )
        for axis, size in spec.axes.items():
            if size is not None and -ndim <= axis < ndim and shape[axis] not in (size, None):
                raise ValueError(
                    f"{where} expected axis {axis} of input shape to have value {size}, but "
                    f"received input with shape {shape}"
                )
        if spec.shape is not None:
            if spec.allow_last_axis_squeeze:
                shape = shape[:-1] if shape and shape[-1] == 1 else shape
                wanted = spec.shape[:-1] if spec.shape and spec.shape[-1] == 1 else spec.shape
            else:
                wanted = spec.shape
            if len(wanted) != len(shape) or any(
                w is not None and s is not None and w != s
                for w, s in zip(wanted, shape, strict=False)
            ):
                raise ValueError(f"{where} expected shape={spec.shape}, found shape={tuple(shape)}")
