"""Layers that combine several inputs, for functional models: ``Add()([x, y])``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from . import functions as F
from .autograd import Tensor
from .layer_base import Layer, Shape


class _Merge(Layer):
    """A layer called on a list of inputs."""

    takes_list = True
    # A model's graph hands it its inputs' padding masks, as Keras' merges read them.
    reads_list_masks = True
    supports_masking = True

    def masked_call(self, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        """The merge given its inputs' masks; most merges' values do not depend on them."""
        return self.call(x, training)

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """Keras' merge mask: a step is kept where any input keeps it (None when an input
        has no mask)."""
        if not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        out = mask[0].astype(bool)
        for other in mask[1:]:
            out = out | other.astype(bool)
        return out

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        if not isinstance(x, (list, tuple)) or len(x) < 2:
            count = f" of {len(x)}" if isinstance(x, (list, tuple)) else ""
            raise TypeError(
                f"{self.describe()} takes a list of at least two inputs, got "
                f"{type(x).__name__}{count}."
            )
        return self._call_on_list(list(x), training)


class _Elementwise(_Merge):
    mode = ""

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        if self.mode == "subtract" and len(input_shape) != 2:
            raise ValueError(f"{self.describe()} takes exactly two inputs, got {len(input_shape)}.")
        if len({len(s) for s in input_shape}) > 1:
            shapes = ", ".join(str((None, *s)) for s in input_shape)
            raise ValueError(f"{self.describe()} needs inputs of one rank, got {shapes}.")
        try:  # Keras broadcasts: (None, 7, 7, 32) times (None, 1, 1, 32), say
            return tuple(np.broadcast_shapes(*input_shape))
        except ValueError:
            shapes = ", ".join(str((None, *s)) for s in input_shape)
            raise ValueError(
                f"{self.describe()} needs inputs that broadcast to one shape, got {shapes}."
            ) from None

    def call(self, x: list[Tensor], training: bool) -> Tensor:
        return F.merge(self.mode, *x)


def _spread(mask: Any, x: Tensor) -> Any:
    """A (batch, steps) mask as booleans of x's shape, each step's features alike."""
    xp = backend.get_array_module(x.data)
    return xp.broadcast_to(mask.astype(bool)[..., None], x.shape)


class _MaskedExtreme(_Elementwise):
    """Maximum and Minimum as Keras' take masks: a masked-out value is replaced by the other
    operand's, so that it never wins; the output keeps what any input keeps."""

    def masked_call(self, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        from . import ops

        inputs = [v if isinstance(v, Tensor) else Tensor(v) for v in x]
        out, out_mask = inputs[0], None if mask[0] is None else _spread(mask[0], inputs[0])
        for value, m in zip(inputs[1:], mask[1:], strict=True):
            m = None if m is None else _spread(m, value)
            if m is not None:
                value = ops.where(m, value, out)
            if out_mask is not None:
                out = ops.where(out_mask, out, value)
            out_mask = out_mask | m if m is not None and out_mask is not None else None
            out = F.merge(self.mode, out, value)
        return out


class _MaskedProduct(_Elementwise):
    """Multiply as Keras' takes masks: masked-out values count as 1, and where every input
    has a mask, the product is 0 wherever none keeps the step."""

    def masked_call(self, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        from . import ops

        inputs = [v if isinstance(v, Tensor) else Tensor(v) for v in x]
        every = all(m is not None for m in mask)
        out, out_mask = None, None
        for value, m in zip(inputs, mask, strict=True):
            if m is not None:
                m = _spread(m, value)
                value = ops.where(m, value, np.asarray(1, dtype=value.dtype))
                if every:
                    out_mask = m if out_mask is None else out_mask | m
            out = value if out is None else F.merge("multiply", out, value)
        if every:
            out = ops.where(out_mask, out, np.asarray(0, dtype=out.dtype))
        return out


class CustomScaleLayer(_Merge):
    """The layer of Keras' InceptionResNetV2 (its applications module): ``x + y * scale``
    of its two inputs, a block's input and its branch; here so that Keras' files of that
    model are read."""

    reads_list_masks = supports_masking = False  # a plain Keras layer: it takes no masks

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = float(scale)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        if len(input_shape) != 2 or tuple(input_shape[0]) != tuple(input_shape[1]):
            shapes = ", ".join(str((None, *s)) for s in input_shape)
            raise ValueError(f"{self.describe()} takes two inputs of one shape, got {shapes}.")
        return input_shape[0]

    def call(self, x: list[Tensor], training: bool) -> Tensor:
        return x[0] + x[1] * self.scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


class Add(_Elementwise):
    mode = "add"


class Subtract(_Elementwise):
    mode = "subtract"


class Multiply(_MaskedProduct):
    mode = "multiply"


class Average(_Elementwise):
    mode = "average"


class Maximum(_MaskedExtreme):
    mode = "maximum"


class Minimum(_MaskedExtreme):
    mode = "minimum"


class Concatenate(_Merge):
    """Inputs joined along ``axis`` (the last by default); every other dimension must agree."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _sample_axis(self, rank: int) -> int:
        """The axis in a sample's shape (the batch axis left out)."""
        axis = self.axis + rank + 1 if self.axis < 0 else self.axis
        if not 1 <= axis <= rank:
            raise ValueError(
                f"{self.describe()}: axis {self.axis} is not an axis of samples of rank {rank} "
                "(the batch axis cannot be joined)."
            )
        return axis - 1

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        ranks = {len(s) for s in input_shape}
        shapes = ", ".join(str((None, *s)) for s in input_shape)
        if len(ranks) != 1:
            raise ValueError(f"{self.describe()} needs inputs of one rank, got {shapes}.")
        axis = self._sample_axis(ranks.pop())
        others = {s[:axis] + s[axis + 1 :] for s in input_shape}
        if len(others) != 1:
            raise ValueError(
                f"{self.describe()} needs inputs that agree on every axis but axis {self.axis}, "
                f"got {shapes}."
            )
        out = list(input_shape[0])
        out[axis] = sum(s[axis] for s in input_shape)
        return tuple(out)

    def call(self, x: list[Tensor], training: bool) -> Tensor:
        return F.concatenate(x, axis=self._sample_axis(len(x[0].shape) - 1) + 1)

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """Keras' Concatenate mask: the inputs' masks (all True for one without) spread over
        their features, joined along the axis, then kept where any feature is kept."""
        if not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        xp = backend.get_array_module(*(m for m in mask if m is not None))
        full = []
        for value, m in zip(x, mask, strict=True):
            shape = tuple(value.shape)
            if m is None:
                full.append(xp.ones(shape, dtype=bool))
            elif m.ndim < len(shape):
                full.append(xp.broadcast_to(m.astype(bool)[..., None], shape))
            else:
                full.append(m.astype(bool))
        axis = self._sample_axis(len(x[0].shape) - 1) + 1
        return xp.concatenate(full, axis=axis).any(axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Keras' Dot: the dot product of two inputs along ``axes`` (one axis for both, or a pair,
    counted with the batch axis as 0), per sample; the output's axes are the first input's
    others, then the second's (its batch axis left out), and (batch, 1) when none remain.
    ``normalize``: L2-normalized along those axes first, giving cosine similarities."""

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = [axes, axes] if isinstance(axes, int) and not isinstance(axes, bool) else axes
        if not (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(a, int) and not isinstance(a, bool) for a in pair)
        ):
            raise ValueError(
                f"{self.describe()}: axes must be an int or a pair of ints, got {axes!r}."
            )
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = bool(normalize)

    def _axes(self, ranks: list[int]) -> list[int]:
        """Each input's axis (batch axis 0) for inputs of these ranks, batch included."""
        pair = [self.axes] * 2 if isinstance(self.axes, int) else self.axes
        found = [a % rank if a < 0 else a for a, rank in zip(pair, ranks, strict=True)]
        if any(not 1 <= a < rank for a, rank in zip(found, ranks, strict=True)):
            raise ValueError(
                f"{self.describe()}: axes {self.axes} are not sample axes of inputs of ranks "
                f"{ranks} (the batch axis 0 cannot be summed)."
            )
        return found

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        if len(input_shape) != 2:
            raise ValueError(f"{self.describe()} takes exactly two inputs, got {len(input_shape)}.")
        first, second = ((None, *s) for s in input_shape)
        a, b = self._axes([len(first), len(second)])
        if first[a] != second[b]:
            raise ValueError(
                f"{self.describe()}: the axes to sum differ in size, {first[a]} (axis {a} of "
                f"{first}) and {second[b]} (axis {b} of {second})."
            )
        out = first[1:a] + first[a + 1 :] + second[1:b] + second[b + 1 :]
        return tuple(out) or (1,)

    def call(self, x: list[Tensor], training: bool) -> Tensor:
        from . import ops

        first, second = x
        a, b = self._axes([first.ndim, second.ndim])
        if self.normalize:
            first, second = ops.normalize(first, axis=a), ops.normalize(second, axis=b)
        n = first.shape[0]
        # (n, rest of first, k) @ (n, k, rest of second), the summed axes brought together.
        left = ops.moveaxis(first, a, -1)
        right = ops.moveaxis(second, b, 1)
        rows, columns = left.shape[1:-1], right.shape[2:]
        product = ops.matmul(
            ops.reshape(left, (n, -1, left.shape[-1])),
            ops.reshape(right, (n, right.shape[1], -1)),
        )
        return ops.reshape(product, (n, *rows, *columns) if rows or columns else (n, 1))

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        return None  # Keras' Dot keeps no mask

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


# Keras' functional forms: ``add([x, y])`` is ``Add()([x, y])``.


def add(inputs: list[Any], **kwargs: Any) -> Any:
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: Any = -1, **kwargs: Any) -> Any:
    return Dot(axes=axes, **kwargs)(inputs)
