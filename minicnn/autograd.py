"""A small define-by-run reverse-mode autograd.

A ``Tensor`` wraps an array (NumPy or CuPy) and remembers the ``Function`` that made it. Calling
``loss.backward()`` walks that graph from the newest node to the oldest and adds up gradients.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import backend

_grad_enabled = True
# Open ``assignments_undone`` scopes: each the tensors assigned in it, with their values
# before the first assignment.
_assignments_undone: list[dict[int, tuple[Tensor, Any]]] = []


@contextlib.contextmanager
def assignments_undone() -> Iterator[None]:
    """Inside, ``assign`` writes as always (what follows reads it); on leaving, every
    tensor assigned gets its values from before back, as Keras' stateless scope leaves its
    variables: a pass that only finds shapes changes no state (a counter of calls)."""
    _assignments_undone.append({})
    try:
        yield
    finally:
        for tensor, before in _assignments_undone.pop().values():
            tensor.data[...] = before


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block no graph is recorded: inference uses less memory and time."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


class Tensor:
    """An array plus what autograd needs: its gradient and the function that produced it."""

    __slots__ = (
        "data",
        "grad",
        "creator",
        "requires_grad",
        "generation",
        "name",
        "path",
        "scope",
        "constraint",
        "_keras_mask",
    )

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        xp = backend.get_array_module(data)
        self.data = data if isinstance(data, xp.ndarray) else xp.asarray(data)
        self.grad: Any = None
        self.creator: Function | None = None
        self.requires_grad = requires_grad
        self.generation = 0
        self.name = name
        # A weight's Keras path, "layer_name/weight_name", given when its layer is built.
        self.path: str | None = None
        # The scopes its layer sits in (Keras' parent path: "sequential"), "" at the top.
        self.scope: str | None = None
        # A weight's projection after each optimizer update (Keras' constraints), or None.
        self.constraint: Any = None
        # Keras' padding mask of an eager layer's output ((batch, steps) booleans), or None.
        self._keras_mask: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        if self.path is not None:  # a weight or a Variable: as Keras shows its Variables
            return (
                f"<Variable path={self.path}, shape={self.shape}, "
                f"dtype={np.dtype(self.dtype).name}, value={self.numpy()}>"
            )
        return f"Tensor(shape={self.shape}, dtype={self.dtype}, requires_grad={self.requires_grad})"

    def numpy(self) -> np.ndarray:
        return backend.to_numpy(self.data)

    def tolist(self) -> Any:
        """The values as nested Python lists, as a NumPy, JAX or PyTorch tensor gives them."""
        return self.numpy().tolist()

    def item(self) -> Any:
        """The one value of a one-element tensor, as a Python number."""
        values = self.numpy()
        if values.size != 1:
            raise ValueError(
                f"item() takes a tensor of one element; this one has shape {self.shape}."
            )
        return values.item()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """NumPy's view of the values (a host copy of a GPU Tensor), so a Tensor goes where
        arrays go: ``np.asarray(t)``, ``fit(t, ...)``, as Keras takes its backend's tensors."""
        values = backend.to_numpy(self.data)
        return values if dtype is None else values.astype(dtype, copy=False)

    def assign(self, value: Any) -> Tensor:
        """Keras' ``Variable.assign``: the values written into this tensor's own array (its
        shape and dtype kept, on its device), so training and a captured CUDA graph, which
        hold that array, see them."""
        source = self._on_my_device(value)
        if tuple(source.shape) != self.shape and source.size != 1:
            raise ValueError(
                f"assign: the value has shape {tuple(source.shape)}; this tensor has {self.shape}."
            )
        if _assignments_undone and id(self) not in _assignments_undone[-1]:
            _assignments_undone[-1][id(self)] = (self, self.data.copy())
        self.data[...] = source.astype(self.data.dtype, copy=False)
        return self

    def assign_add(self, delta: Any) -> Tensor:
        """Keras' ``Variable.assign_add``: this tensor's values plus ``delta``, in place."""
        return self.assign(self.data + self._on_my_device(delta))

    def assign_sub(self, delta: Any) -> Tensor:
        """Keras' ``Variable.assign_sub``: this tensor's values minus ``delta``, in place."""
        return self.assign(self.data - self._on_my_device(delta))

    def _on_my_device(self, value: Any) -> Any:
        """A value (Tensor, array, list, number) as an array on this tensor's device."""
        source = value.data if isinstance(value, Tensor) else value
        if not backend.is_device_array(source):
            source = np.asarray(source)
        return backend.to_device(source, backend.device_of(self.data))

    @property
    def value(self) -> Tensor:
        """The tensor itself: Keras on PyTorch reads a weight's gradient as
        ``v.value.grad``, which then works here as written."""
        return self

    def __float__(self) -> float:
        return float(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad: Any = None) -> None:
        """Fill ``.grad`` of every tensor this one depends on that requires a gradient."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a scalar; this tensor has shape "
                    f"{self.shape}."
                )
            xp = backend.get_array_module(self.data)
            grad = xp.ones_like(self.data)
        _backward_walk(self, grad)

    # Arithmetic, as NumPy's (with broadcasting); a Python number takes the tensor's dtype, so
    # float32 code stays float32.
    def _operand(self, other: Any) -> Any:
        """A Python number as a 0-d array of this tensor's dtype on its device (filled there:
        no copy from the host, which a GPU step captured in a CUDA graph could not make); a
        NumPy array next to a GPU tensor copied to the GPU, as Keras converts it."""
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            xp = backend.get_array_module(self.data)
            return xp.full((), other, dtype=self.data.dtype)
        if isinstance(other, np.ndarray) and backend.is_device_array(self.data):
            return backend.to_device(other, "gpu")
        return other

    def __add__(self, other: Any) -> Tensor:
        from .functions import add

        return add(self, self._operand(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Tensor:
        from .tensor_ops import sub

        return sub(self, self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        from .tensor_ops import sub

        return sub(self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        from .functions import mul

        return mul(self, self._operand(other))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Tensor:
        from .tensor_ops import div

        return div(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        from .tensor_ops import div

        return div(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return self * -1

    def __pow__(self, exponent: float) -> Tensor:
        from .tensor_ops import power

        return power(self, exponent)

    def __matmul__(self, other: Any) -> Tensor:
        from .functions import matmul

        return matmul(self, other)

    def __getitem__(self, key: Any) -> Tensor:
        from .tensor_ops import get_item

        return get_item(self, key)

    def __abs__(self) -> Tensor:
        from .ops import abs as absolute

        return absolute(self)

    # Comparisons and logic give boolean Tensors, as NumPy's (and Keras' tensors) do, == and
    # != too; a Tensor still hashes by identity, so dicts and sets of weights find it (they
    # try identity before ==). Against None or a string, == is identity.
    def _compared(self, name: str, *others: Any) -> Tensor:
        from . import ops

        return getattr(ops, name)(self, *others)

    def __eq__(self, other: object) -> Any:
        if other is None or isinstance(other, str):
            return NotImplemented
        return self._compared("equal", other)

    def __ne__(self, other: object) -> Any:
        if other is None or isinstance(other, str):
            return NotImplemented
        return self._compared("not_equal", other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        # NumPy's truth: of one entry, else an error (not "has a first axis of length > 0")
        return bool(self.data)

    def __lt__(self, other: Any) -> Tensor:
        return self._compared("less", other)

    def __le__(self, other: Any) -> Tensor:
        return self._compared("less_equal", other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compared("greater", other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compared("greater_equal", other)

    def __and__(self, other: Any) -> Tensor:
        return self._compared("logical_and", other)

    def __or__(self, other: Any) -> Tensor:
        return self._compared("logical_or", other)

    def __xor__(self, other: Any) -> Tensor:
        return self._compared("logical_xor", other)

    def __invert__(self) -> Tensor:
        return self._compared("logical_not")

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        if axis is None and not keepdims:
            from .functions import sum_all

            return sum_all(self)
        from .tensor_ops import reduce_sum

        return reduce_sum(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        from .tensor_ops import mean

        return mean(self, axis, keepdims)


def as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Function:
    """One differentiable operation: ``forward`` on raw arrays, ``backward`` on gradients.

    Subclasses keep on ``self`` only what their backward needs.
    """

    inputs: tuple[Tensor, ...]
    generation: int
    # True while the call is recorded for backward; forward may free its saved state when not.
    recording: bool = False

    def __call__(self, *inputs: Any) -> Tensor:
        tensors = tuple(as_tensor(x) for x in inputs)
        self.recording = _grad_enabled and any(t.requires_grad for t in tensors)
        out = self.forward(*(t.data for t in tensors))
        result = Tensor(out)
        if self.recording:
            self.inputs = tensors
            self.generation = max(t.generation for t in tensors)
            result.creator = self
            result.requires_grad = True
            result.generation = self.generation + 1
        return result

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> tuple[Any, ...]:
        """Gradients for each input, in order; None where an input needs none."""
        raise NotImplementedError


def grad(output: Tensor, inputs: Any) -> list[Any]:
    """The gradients of the scalar ``output`` with respect to ``inputs`` (a Tensor or a list:
    weights such as ``model.trainable_weights``, or any tensor the output was computed from),
    as arrays on their device, None for an input it does not depend on; as
    ``torch.autograd.grad``. Nothing's ``.grad`` changes, and the graph is used up."""
    targets = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not all(isinstance(t, Tensor) for t in targets):
        raise TypeError("grad() takes the Tensors to differentiate by, such as model weights.")
    if not isinstance(output, Tensor) or output.data.size != 1:
        shape = output.shape if isinstance(output, Tensor) else type(output).__name__
        raise ValueError(f"grad() differentiates a scalar Tensor, such as a loss; got {shape}.")
    watched = targets if any(t is output for t in targets) else [*targets, output]
    kept = [t.grad for t in watched]
    for t in watched:
        t.grad = None
    xp = backend.get_array_module(output.data)
    try:
        _backward_walk(output, xp.ones_like(output.data), {id(t) for t in targets})
        return [t.grad for t in targets]
    finally:
        for t, g in zip(watched, kept, strict=True):
            t.grad = g


def _backward_walk(root: Tensor, grad: Any, only: set[int] | None = None) -> None:
    """Add ``grad`` to the root's gradient and carry it back through the graph. With ``only``
    (ids of tensors), only those keep a gradient; other leaves get none."""
    # Newest function first (highest generation), so a node's gradient is complete before use.
    root.grad = grad if root.grad is None else root.grad + grad
    if root.creator is None:
        return
    heap: list[tuple[int, int, Function, Tensor]] = []
    seen: set[int] = set()
    counter = 0

    def push(t: Tensor) -> None:
        nonlocal counter
        f = t.creator
        if f is not None and id(f) not in seen:
            seen.add(id(f))
            heapq.heappush(heap, (-f.generation, counter, f, t))
            counter += 1

    push(root)
    while heap:
        _, _, f, out = heapq.heappop(heap)
        grads = f.backward(out.grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for t, g in zip(f.inputs, grads, strict=True):
            if g is None or not t.requires_grad:
                continue
            if only is not None and t.creator is None and id(t) not in only:
                continue
            t.grad = g if t.grad is None else t.grad + g
            push(t)
        if out is not root and (only is None or id(out) not in only):
            # Intermediate gradients are not needed once they have flowed on.
            out.grad = None
        # Free what backward kept, so a graph is released step by step.
        del f.inputs
