"""``minicnn.ops`` on a functional model's symbolic tensors, as Keras 3's ops on KerasTensors:
``ops.mean(x, axis=[1, 2])``, ``ops.concatenate([x, y], axis=-1)``, ``ops.image.resize(x,
(8, 8))`` or ``ops.linalg.qr(x)`` called while building a model each add an OpCall layer to
its graph, which runs the same function on the real tensors (with its gradients) and is saved
and loaded with the model. The output shape comes from running the function once on small
probe batches, which also checks what a layer of the graph must do: keep the batch axis first,
and give each sample a result of its own."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor, no_grad
from .layer_base import Layer, Shape, SymbolicTensor
from .op_dtypes import float_arguments, keras_result
from .symbolic_arithmetic import keras_op_class

# Keys of the JSON form of an argument that is not plain JSON.
INPUT, CONSTANT, CALLABLE, TUPLE, SLICE, DTYPE = (
    "__input__",
    "__constant__",
    "__callable__",
    "__tuple__",
    "__slice__",
    "__dtype__",
)


class OpCall(Layer):
    """One call of a ``minicnn.ops`` function (``function`` is its name there: "mean",
    "image.resize", "linalg.qr") with its arguments: the symbolic tensors as
    ``{"__input__": i}``, the i-th of the layer's inputs, and array constants as
    ``{"__constant__": k}``, the k-th of ``constants``; what calling the function on symbolic
    tensors makes."""

    takes_list = True
    takes_batch_values = True
    keras_operation = True

    def __init__(
        self,
        function: str,
        arguments: list[Any] | None = None,
        keywords: dict[str, Any] | None = None,
        constants: list[Any] | None = None,
        input_dtypes: list[str] | None = None,
        callables: list[Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.function = function
        self._function = ops_function(function)  # an unknown name fails before the layer
        kwargs.setdefault("name", backend.unique_name(function.rsplit(".", 1)[-1]))
        super().__init__(**kwargs)
        self.arguments = list(arguments or [])
        self.keywords = dict(keywords or {})
        self.constants = [_array_from_config(c) for c in constants or []]
        self.input_dtypes = list(input_dtypes or [])
        self.callables = list(callables or [])
        self._placed: list[Any] = []  # the constants on the layer's device
        self.several_outputs = False  # whether the op gives a tuple (found when built)
        self.output_dtypes: list[str] = []
        self.reduces_batch = False  # whether it gives one value for the whole batch (found too)

    @property
    def keras_class_name(self) -> str:
        """Keras' class of the op, for the summary ("Mean", "TopK", "Resize")."""
        return keras_op_class(self.function)

    @property
    def serializable(self) -> bool:  # a Python function among the arguments is code
        return not self.callables

    def decoded(self, value: Any, inputs: list[Any], constants: list[Any]) -> Any:
        """Recorded arguments (``self.arguments``, ``self.keywords``) as Python values, with
        ``inputs[i]`` for the i-th input and ``constants[k]`` for the k-th constant."""
        if isinstance(value, list):
            return [self.decoded(v, inputs, constants) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, item),) = value.items()
            if key == INPUT:
                return inputs[item]
            if key == CONSTANT:
                return constants[item]
            if key == CALLABLE:
                return self.callables[item]
            if key == TUPLE:
                return tuple(self.decoded(v, inputs, constants) for v in item)
            if key == SLICE:
                return slice(*item)
            if key == DTYPE:
                return item
        return {k: self.decoded(v, inputs, constants) for k, v in value.items()}

    def _run(self, inputs: list[Any], constants: list[Any]) -> Any:
        arguments = self.decoded(self.arguments, inputs, constants)
        return self._function(*arguments, **self.decoded(self.keywords, inputs, constants))

    def compute_output_shape(self, input_shape: list[Shape]) -> Any:
        shapes = [tuple(s) for s in input_shape]
        dtypes = self.input_dtypes or [backend.FLOAT] * len(shapes)
        whole = getattr(self, "_batch_inputs", None) or [False] * len(shapes)
        results = []
        for batch in (2, 5):
            probes = [
                _probe(None if w else batch, s, d)
                for s, d, w in zip(shapes, dtypes, whole, strict=True)
            ]
            try:
                with no_grad(), np.errstate(all="ignore"):
                    result = self._run([Tensor(p) for p in probes], self.constants)
                self.several_outputs = isinstance(result, (tuple, list))
                results.append(_outputs(result))
            except Exception as error:
                raise ValueError(
                    f"{self.describe()}: ops.{self.function} on symbolic tensors of sample shapes "
                    f"{', '.join(map(str, shapes))} failed: {error}"
                ) from error
            if results[-1] is None:
                raise TypeError(
                    f"{self.describe()}: ops.{self.function} on symbolic tensors must give a "
                    "tensor or a tuple of tensors."
                )
        two, five = results
        self.output_dtypes = [str(a.dtype) for a in two]
        # A result whose shape does not follow the batch size is one value for the whole
        # batch (ops.mean(x), ops.sum(x, axis=0)), as every result is when all inputs are.
        self.reduces_batch = all(whole) or all(
            a.shape == b.shape for a, b in zip(two, five, strict=True)
        )
        if self.reduces_batch:
            shapes_out = [tuple(int(d) for d in a.shape) for a in two]
            return tuple(shapes_out) if self.several_outputs else shapes_out[0]
        for a, b in zip(two, five, strict=True):
            same = a.shape[1:] == b.shape[1:] and a.ndim and (len(a), len(b)) == (2, 5)
            if not same or not np.allclose(a, b[1:3], rtol=1e-4, atol=1e-6, equal_nan=True):
                raise ValueError(
                    f"{self.describe()}: ops.{self.function} in a model's graph must keep the "
                    "batch axis first and give each sample a result of its own (a reshape or "
                    "a mix of samples cannot be a layer; a reduction over the batch axis gives "
                    "one value for model.add_loss); compute it in the loss, or in a subclassed "
                    "model's call."
                )
        shapes_out = [tuple(int(d) for d in a.shape[1:]) for a in two]
        return tuple(shapes_out) if self.several_outputs else shapes_out[0]

    def gives_batch_value(self, batch_inputs: list[bool]) -> bool:
        return self.reduces_batch

    def _place_constants(self) -> None:
        self._placed = [backend.to_device(c, self.device) for c in self.constants]

    def call(self, x: list[Tensor], training: bool) -> Any:
        out = self._run(list(x), self._placed or self.constants)
        return list(out) if isinstance(out, (tuple, list)) else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "function": self.function,
            "arguments": self.arguments,
            "keywords": self.keywords,
            "constants": [{"values": c.tolist(), "dtype": str(c.dtype)} for c in self.constants],
            "input_dtypes": self.input_dtypes,
        }


def _array_from_config(entry: Any) -> np.ndarray:
    if isinstance(entry, dict):
        return np.asarray(entry["values"], dtype=entry["dtype"])
    return np.asarray(entry)


def _probe(batch: int | None, shape: Shape, dtype: str) -> np.ndarray:
    """A batch to find an op's output shape with: two samples, or the same two among three
    others, one before and two after (an op that mixes samples, even only one way, as a
    cumulative sum, or symmetrically, as a flip, changes them); floats in [0.5, 1) (log,
    sqrt and division are defined), square trailing matrices made diagonally dominant (inv,
    solve and cholesky are defined), and zeros as ints (indices). With no ``batch``, one
    value of ``shape`` (a value of the whole batch)."""
    kind = np.dtype(dtype).kind
    full = tuple(shape) if batch is None else (batch, *shape)
    if kind == "b":
        return np.ones(full, bool)
    if kind in "iu":
        return np.zeros(full, dtype)
    # Drawn straight in the probe's type where NumPy can, and only the samples needed: an
    # unknown size is probed at 200 (layer_base.UNKNOWN_SIZE_PROBES), so a probe of a deep
    # feature map holds 10^8 values.
    draw_type = dtype if np.dtype(dtype) in (np.float32, np.float64) else np.float64
    if batch is None:
        values = np.random.default_rng(1).random(full, dtype=draw_type)
    else:
        # The first three of the five samples, drawn alone, are the five's first three.
        values = np.random.default_rng(0).random((3 if batch == 2 else 5, *shape), draw_type)
        values = values[1:3] if batch == 2 else values
    values *= 0.5
    values += 0.5
    values = values.astype(dtype, copy=False)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        values += shape[-1] * np.eye(shape[-1], dtype=dtype)
    return values


def _outputs(result: Any) -> list[np.ndarray] | None:
    """The op's result as host arrays: one tensor, or each of a tuple's (None for anything
    else)."""
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    if not items or not all(isinstance(t, Tensor) for t in items):
        return None
    return [backend.to_numpy(t.data) for t in items]


def ops_function(name: str) -> Callable[..., Any]:
    """The ``minicnn.ops`` function of a name ("mean", "image.resize"), or a Keras loss or
    metric function ("losses.binary_crossentropy", "metrics.binary_accuracy"): only the
    ops themselves (a name read from a file must not reach ``ops.np`` or ``ops.builtins``)."""
    from . import ops

    parts = name.split(".")
    namespace: Any = None
    if len(parts) == 1:
        namespace = ops
    elif len(parts) == 2 and parts[0] in ("image", "linalg"):
        namespace = getattr(ops, parts[0])
    elif len(parts) == 2 and parts[0] == "losses":  # Keras' loss functions
        from . import loss_functions as namespace
    elif len(parts) == 2 and parts[0] == "metrics":  # and its accuracy functions
        from . import metric_functions as namespace
    found = getattr(namespace, parts[-1], None)
    if not getattr(found, "__wrapped_op__", False):
        raise ValueError(f"OpCall: minicnn.ops has no function {name!r}.")
    return found


# --- calling an op on symbolic tensors ---------------------------------------------------------


def _encoded(
    value: Any, inputs: list[SymbolicTensor], constants: list[Any], callables: list[Any]
) -> Any:
    """The JSON form of one argument, collecting its symbolic tensors, array constants and
    Python functions."""

    def encode(v: Any) -> Any:
        if isinstance(v, SymbolicTensor):
            inputs.append(v)
            return {INPUT: len(inputs) - 1}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, list):
            return [encode(i) for i in v]
        if isinstance(v, tuple):
            return {TUPLE: [encode(i) for i in v]}
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            return {k: encode(i) for k, i in v.items()}
        if isinstance(v, slice):
            return {SLICE: [encode(v.start), encode(v.stop), encode(v.step)]}
        if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
            return {DTYPE: str(np.dtype(v))}
        if isinstance(v, Tensor):
            if v.requires_grad:
                raise TypeError(
                    "A trainable tensor as an argument of an op on symbolic tensors would not be "
                    "trained: make it the weight of a layer (add_weight in a custom Layer)."
                )
            v = v.data
        if isinstance(v, np.ndarray) or backend.is_device_array(v):
            constants.append(np.array(backend.to_numpy(v)))
            return {CONSTANT: len(constants) - 1}
        if callable(v):
            callables.append(v)
            return {CALLABLE: len(callables) - 1}
        raise TypeError(
            f"An argument of type {type(v).__name__} cannot go with symbolic tensors into an op."
        )

    return encode(value)


def call_on_symbolic(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What ``ops.<name>(*args, **kwargs)`` gives when some arguments are symbolic tensors:
    the result of a new OpCall layer (a tuple of results for an op of several)."""
    from .models import SelectOutput

    inputs: list[SymbolicTensor] = []
    constants: list[Any] = []
    callables: list[Any] = []
    arguments = [_encoded(a, inputs, constants, callables) for a in args]
    keywords = {k: _encoded(v, inputs, constants, callables) for k, v in kwargs.items()}
    dtypes = [str(np.dtype(getattr(t, "dtype", None) or backend.FLOAT)) for t in inputs]
    layer = OpCall(name, arguments, keywords, constants, dtypes, callables)
    node = layer(inputs)
    if layer.several_outputs:  # one SelectOutput for each
        results = []
        for i, dtype in enumerate(layer.output_dtypes):
            result = SelectOutput(i, name=backend.unique_name(f"{layer.name}_{i}"))(node)
            result.dtype = dtype
            results.append(result)
        return tuple(results)
    node.dtype = layer.output_dtypes[0]
    return node


# What some ops give for a symbolic tensor without a layer: its static facts, as Keras'.
STATIC = {
    "shape": lambda x: x.shape,
    "ndim": lambda x: len(x.shape),
    "dtype": lambda x: getattr(x, "dtype", None) or backend.FLOAT,
    "is_tensor": lambda x: False,
    # With a dtype it is a cast: None sends it on to an OpCall layer.
    "convert_to_tensor": lambda x, dtype=None, **_: x if dtype is None else None,
}


def _has_symbolic(values: Any) -> bool:
    for v in values:
        if isinstance(v, SymbolicTensor):
            return True
        if isinstance(v, (list, tuple)) and any(isinstance(i, SymbolicTensor) for i in v):
            return True
    return False


def symbolic_aware(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``function`` as an op of ``minicnn.ops``: on symbolic tensors it adds an OpCall layer
    to the graph being built; a list ``axis`` is a tuple, as Keras takes both; and its
    result has Keras' dtype (``minicnn.op_dtypes``) unless a ``dtype`` is asked for."""
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        parameters = []
    axis_at = parameters.index("axis") if "axis" in parameters else None
    dtype_at = parameters.index("dtype") if "dtype" in parameters else None
    static = STATIC.get(name)
    base = name.rsplit(".", 1)[-1]

    @functools.wraps(function)
    def op(*args: Any, **kwargs: Any) -> Any:
        if _has_symbolic(args) or (kwargs and _has_symbolic(kwargs.values())):
            if static is not None:
                value = static(*args, **kwargs)
                if value is not None:
                    return value
            return call_on_symbolic(name, args, kwargs)
        if axis_at is not None:
            if isinstance(kwargs.get("axis"), list):
                kwargs["axis"] = tuple(kwargs["axis"])
            elif len(args) > axis_at and isinstance(args[axis_at], list):
                args = (*args[:axis_at], tuple(args[axis_at]), *args[axis_at + 1 :])
        args = float_arguments(base, args)
        result = function(*args, **kwargs)
        asked = kwargs.get("dtype") if dtype_at is None or len(args) <= dtype_at else args[dtype_at]
        return result if asked is not None else keras_result(result, args, kwargs)

    op.__wrapped_op__ = True  # type: ignore[attr-defined]
    return op


def make_symbolic_aware(namespace: Any, prefix: str = "") -> None:
    """Wrap each public function of a module (``minicnn.ops``, ``ops.image``, ``ops.linalg``)
    in place with ``symbolic_aware``."""
    names = getattr(namespace, "__all__", None) or [n for n in vars(namespace) if n[0] != "_"]
    for name in names:
        value = getattr(namespace, name, None)
        plain = inspect.isfunction(value) or isinstance(value, functools.partial)
        if plain and not getattr(value, "__wrapped_op__", False):
            setattr(namespace, name, symbolic_aware(value, prefix + name))


def keras_functions(functions: list[Callable[..., Any]], prefix: str, marker: str) -> dict:
    """Keras' loss or metric functions by name, each made ``symbolic_aware`` (an OpCall
    named ``prefix.name``) and marked with its Keras name (``marker``), by which compile
    finds the class of the same name."""
    found = {}
    for function in functions:
        wrapped = symbolic_aware(function, f"{prefix}.{function.__name__}")
        setattr(wrapped, marker, function.__name__)
        found[function.__name__] = wrapped
    return found
