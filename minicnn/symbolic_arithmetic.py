"""Arithmetic and indexing on a functional model's symbolic tensors, as on Keras'
KerasTensors: ``x + 3.0``, ``2 * x``, ``x * y``, ``x / y``, ``x ** 2``, ``-x``, ``abs(x)``,
``x @ w`` each become a TensorArithmetic layer of the graph, and ``x[:, 0]``, ``x[..., :3]``
a GetItem layer (saved and loaded with the model), computed by ``minicnn.ops`` with its
gradients; operands broadcast as NumPy's do."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .layer_base import Layer, Shape, SymbolicTensor

OPERATIONS = (
    "add",
    "subtract",
    "multiply",
    "divide",
    "floor_divide",
    "mod",
    "power",
    "matmul",
    "negative",
    "absolute",
)
UNARY = ("negative", "absolute")
KERAS_OP_NAMES = {"divide": "true_divide"}


def keras_op_class(name: str) -> str:
    """The class of Keras' op of a ``keras.ops`` function, as its summary shows it: "mean"
    is Mean, "top_k" TopK, "image.resize" Resize."""
    return "".join(part.capitalize() for part in name.rsplit(".", 1)[-1].split("_"))


class TensorArithmetic(Layer):
    """One NumPy-style operation on one or two symbolic inputs and at most one constant
    (a number or an array), e.g. ``TensorArithmetic("multiply", constant=0.5)([x])``: what
    ``x * 0.5`` makes. ``constant_first`` puts the constant on the left (``2 - x``)."""

    takes_list = True
    takes_batch_values = True
    keras_operation = True

    def __init__(
        self,
        operation: str,
        constant: Any = None,
        constant_first: bool = False,
        **kwargs: Any,
    ) -> None:
        if operation not in OPERATIONS:
            raise ValueError(
                f"TensorArithmetic: operation must be one of {', '.join(OPERATIONS)}; "
                f"got {operation!r}."
            )
        # Keras' name for the op of ``x / y`` is true_divide.
        kwargs.setdefault("name", backend.unique_name(KERAS_OP_NAMES.get(operation, operation)))
        super().__init__(**kwargs)
        self.operation, self.constant_first = operation, bool(constant_first)
        self.constant = None if constant is None else np.asarray(constant, np.float32)
        self._constant_data: Any = None

    def symbolic_dtype(self, input_dtypes: list[str]) -> str:
        """Integers of integers (no constant, which is kept as a float; no true division),
        else float32 (float64 of float64)."""
        kinds = {np.dtype(d).kind for d in input_dtypes}
        if kinds <= {"i", "u"} and self.constant is None and self.operation != "divide":
            return str(np.result_type(*input_dtypes))
        return "float64" if "float64" in input_dtypes else np.dtype(backend.FLOAT).name

    @property
    def keras_class_name(self) -> str:
        """Keras' class of the op, for the summary ("Multiply", "TrueDivide")."""
        return keras_op_class(KERAS_OP_NAMES.get(self.operation, self.operation))

    def _operands(self, values: list[Any], constant: Any) -> list[Any]:
        """The operation's operands: the inputs, and the constant on its side."""
        if self.constant is None:
            return list(values)
        return [constant, *values] if self.constant_first else [*values, constant]

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        wanted = 1 if self.operation in UNARY else 2
        shapes = self._operands([tuple(s) for s in input_shape], np.shape(self.constant))
        if len(shapes) != wanted:
            raise ValueError(
                f"{self.describe()}: {self.operation} takes {wanted} operand(s); got {len(shapes)}."
            )
        whole = getattr(self, "_batch_inputs", None) or [False] * len(input_shape)
        if any(whole):
            return self._batch_value_shape([tuple(s) for s in input_shape], whole, shapes)
        ranks = {len(tuple(s)) for s in input_shape}
        if len(ranks) > 1:
            raise ValueError(
                f"{self.describe()}: the symbolic operands of {self.operation} must have samples "
                f"of one rank; got {', '.join(str(tuple(s)) for s in input_shape)}."
            )
        if self.operation == "matmul":
            zeros = [np.zeros(s, np.float32) for s in shapes]
            try:  # the product of one sample's operands (each batch axis comes first)
                if min(len(s) for s in shapes) >= 2:
                    return tuple(np.matmul(*zeros).shape)
            except ValueError:
                pass
        else:
            try:
                out = tuple(np.broadcast_shapes(*shapes))
                if len(out) == max(len(s) for s in map(tuple, input_shape)):
                    return out
            except ValueError:
                pass
        described = ", ".join(str(s) for s in shapes)
        raise ValueError(
            f"{self.describe()}: the operands of {self.operation} do not fit together (sample "
            f"shapes, the batch left out: {described})."
        )

    def _batch_value_shape(
        self, inputs: list[Shape], whole: list[bool], operands: list[Shape]
    ) -> Shape:
        """The shape where a value of the whole batch takes part: a batch value again when
        every symbolic operand is one, else a tensor per sample that the value broadcasts
        over (its rank at most a sample's, so the batch axis stays the batch axis)."""
        samples = [s for s, w in zip(inputs, whole, strict=True) if not w]
        described = ", ".join(str(s) for s in operands)
        try:
            if self.operation == "matmul":
                if min(len(s) for s in operands) < 2:
                    raise ValueError("matmul needs two axes")
                out = np.matmul(*[np.zeros(s, np.float32) for s in operands]).shape
            else:
                out = np.broadcast_shapes(*operands)
        except ValueError:
            raise ValueError(
                f"{self.describe()}: the operands of {self.operation} do not fit together "
                f"(shapes: {described})."
            ) from None
        if not samples:
            return tuple(out)
        if self.operation == "matmul" or len(out) != len(samples[0]):
            raise ValueError(
                f"{self.describe()}: {self.operation} of a value of the whole batch and a "
                "tensor per sample takes the value over a sample's trailing axes, as "
                f"x - ops.mean(x, axis=0); got shapes {described} (samples without the batch)."
            )
        return tuple(out)

    def _place_constants(self) -> None:
        if self.constant is not None and self.constant.ndim:  # an array, not a number
            self._constant_data = backend.to_device(self.constant, self.device)

    def call(self, x: list[Tensor], training: bool) -> Tensor:
        from . import ops

        constant = self._constant_data
        if self.constant is not None and constant is None:
            constant = float(self.constant)  # a number: no array to move between devices
        return getattr(ops, self.operation)(*self._operands(x, constant))

    def get_config(self) -> dict[str, Any]:
        constant = None if self.constant is None else self.constant.tolist()
        return {
            **super().get_config(),
            "operation": self.operation,
            "constant": constant,
            "constant_first": self.constant_first,
        }


def symbolic_operation(operation: str, left: Any, right: Any = None) -> SymbolicTensor:
    """The layer for ``left <operation> right`` where one or both are symbolic tensors."""
    if operation in UNARY:
        return TensorArithmetic(operation)([left])
    symbolic = [isinstance(v, SymbolicTensor) for v in (left, right)]
    if all(symbolic):
        return TensorArithmetic(operation)([left, right])
    constant = right if symbolic[0] else left
    if isinstance(constant, Tensor) or hasattr(constant, "__cuda_array_interface__"):
        raise TypeError(
            f"{operation} of a symbolic tensor and a {type(constant).__name__}: give a number "
            "or a NumPy array (a model's constant), or an Input."
        )
    try:
        np.asarray(constant, np.float32)
    except (TypeError, ValueError):
        return NotImplemented
    if operation == "matmul" and not symbolic[0]:
        raise ValueError(
            "constant @ symbolic tensor is not available: the batch axis comes first; write "
            "x @ constant, or use a Dense layer."
        )
    source = left if symbolic[0] else right
    return TensorArithmetic(operation, constant=constant, constant_first=not symbolic[0])([source])


class GetItem(Layer):
    """Keras' GetItem: ``x[key]`` with NumPy's basic indexing (ints, slices, ``None`` and
    ``...``), the key read with the batch axis first, which it must keep: ``x[:, 0]``."""

    keras_operation = True
    keeps_dtype = True

    def __init__(self, key: Any, **kwargs: Any) -> None:
        kwargs.setdefault("name", backend.unique_name("get_item"))
        super().__init__(**kwargs)
        self.key = _decoded(key) if isinstance(key, list) else _checked_key(key)

    takes_batch_values = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if getattr(self, "_batch_inputs", None) == [True]:  # a value of the whole batch
            try:
                return tuple(np.zeros(input_shape, np.float32)[self.key].shape)
            except IndexError as error:
                raise ValueError(
                    f"{self.describe()}: the key {self.key!r} does not index a value of shape "
                    f"{tuple(input_shape)}: {error}."
                ) from None
        shapes = []
        for batch in (2, 3):  # each sample filled with its index: it must stay in its place
            ids = np.arange(batch, dtype=np.float32).reshape(-1, *(1,) * len(input_shape))
            try:
                out = np.broadcast_to(ids, (batch, *input_shape))[self.key]
            except IndexError as error:
                raise ValueError(
                    f"{self.describe()}: the key {self.key!r} does not index samples of shape "
                    f"{(None, *input_shape)}: {error}."
                ) from None
            kept = out.ndim > 0 and out.shape[0] == batch
            if not kept or not all((out[i] == i).all() for i in range(batch)):
                raise ValueError(
                    f"{self.describe()}: the key {self.key!r} must keep the batch axis first "
                    "and whole, as x[:, 0] does."
                )
            shapes.append(out.shape[1:])
        return shapes[0]

    def call(self, x: Tensor, training: bool) -> Tensor:
        return x[self.key]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "key": _encoded(self.key)}


def _checked_key(key: Any) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    for item in key:
        simple = item is None or item is Ellipsis or isinstance(item, slice)
        if not (simple or (isinstance(item, (int, np.integer)) and not isinstance(item, bool))):
            raise TypeError(
                f"GetItem: a symbolic tensor takes ints, slices, None and ... as indices; got "
                f"{item!r}."
            )
    return tuple(int(i) if isinstance(i, np.integer) else i for i in key)


def _encoded(key: tuple[Any, ...]) -> list[Any]:
    """The key as JSON: ints as they are, slices as [start, stop, step], None and ...
    as the strings "newaxis" and "..."."""
    out: list[Any] = []
    for item in key:
        if isinstance(item, slice):
            out.append([item.start, item.stop, item.step])
        elif item is None:
            out.append("newaxis")
        elif item is Ellipsis:
            out.append("...")
        else:
            out.append(item)
    return out


def _decoded(items: list[Any]) -> tuple[Any, ...]:
    names = {"newaxis": None, "...": Ellipsis}
    return _checked_key(tuple(slice(*i) if isinstance(i, list) else names.get(i, i) for i in items))
