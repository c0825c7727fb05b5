"""Keras' ``keras.ops`` core functions for minicnn Tensors: control flow run eagerly
(``cond``, ``while_loop``, ``fori_loop``), scatters and slices (differentiable),
``custom_gradient``, and the type helpers. Re-exported by ``minicnn.ops``."""

from __future__ import annotations

import builtins  # ops.slice is Keras'; builtins.slice is Python's
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Function, Tensor, no_grad

__all__ = [
    "associative_scan",
    "cond",
    "convert_to_numpy",
    "custom_gradient",
    "dtype",
    "fori_loop",
    "is_tensor",
    "map",
    "saturate_cast",
    "scan",
    "scatter",
    "scatter_update",
    "slice",
    "slice_update",
    "switch",
    "vectorized_map",
    "while_loop",
]


def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` holds, else ``false_fn()`` (run eagerly: pred is read)."""
    return true_fn() if bool(np.asarray(O._data(pred))) else false_fn()


def while_loop(
    cond: Callable[..., Any],
    body: Callable[..., Any],
    loop_vars: Any,
    maximum_iterations: int | None = None,
) -> Any:
    """Keras' while_loop, eagerly: ``body`` while ``cond`` holds (a tuple or list of loop
    variables is spread over their arguments), at most ``maximum_iterations`` times."""
    spread = isinstance(loop_vars, (tuple, list))
    done = 0
    while maximum_iterations is None or done < maximum_iterations:
        if not bool(np.asarray(O._data(cond(*loop_vars) if spread else cond(loop_vars)))):
            break
        loop_vars = body(*loop_vars) if spread else body(loop_vars)
        done += 1
    return loop_vars


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any) -> Any:
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def _tree_map(f: Callable[..., Any], *trees: Any) -> Any:
    """``f`` on the leaves of like-shaped nests of lists, tuples and dicts."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: _tree_map(f, *(t[k] for t in trees)) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_tree_map(f, *parts) for parts in zip(*trees, strict=True))
    return f(*trees)


def _first_leaf(tree: Any) -> Any:
    if isinstance(tree, dict):
        return _first_leaf(next(iter(tree.values())))
    return _first_leaf(tree[0]) if isinstance(tree, (list, tuple)) else tree


def _stacked(items: list[Any], axis: int = 0) -> Any:
    return _tree_map(lambda *leaves: O.stack(list(leaves), axis=axis), *items)


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int = 1,
) -> tuple[Any, Any]:
    """JAX's and Keras' scan, run eagerly: ``carry, y = f(carry, x)`` for each slice x of
    ``xs`` along its first axis (or ``length`` times with x None); returns the last carry
    and the ys stacked (nests of Tensors allowed). Gradients flow through every step."""
    steps = int(length) if xs is None else O.convert_to_tensor(_first_leaf(xs)).shape[0]
    carry, ys = init, []
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for i in order:
        x = None if xs is None else _tree_map(lambda t, i=i: O.convert_to_tensor(t)[i], xs)
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    return carry, _stacked(ys)


def associative_scan(
    f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0
) -> Any:
    """The inclusive scan of ``elems`` along ``axis`` by the associative ``f`` (a cumulative
    sum for addition), in sequence: out[i] = f(out[i - 1], elems[i])."""

    def part(i: int) -> Any:
        return _tree_map(lambda t: O.take(O.convert_to_tensor(t), i, axis=axis), elems)

    count = O.convert_to_tensor(_first_leaf(elems)).shape[axis]
    order = list(range(count))[::-1] if reverse else list(range(count))
    running, outs = part(order[0]), {}
    outs[order[0]] = running
    for i in order[1:]:
        running = f(running, part(i)) if not reverse else f(part(i), running)
        outs[i] = running
    return _stacked([outs[i] for i in range(count)], axis=axis)


def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001
    """``f`` on each slice of ``xs`` along its first axis, the results stacked."""
    return scan(lambda carry, x: (carry, f(x)), None, xs)[1]


vectorized_map = map


def switch(index: Any, branches: list[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)``, the index clipped into range (read eagerly)."""
    at = int(np.asarray(O._data(index) if isinstance(index, Tensor) else index))
    return branches[builtins.min(builtins.max(at, 0), len(branches) - 1)](*operands)


def _places(indices: Any, depth_of: tuple[int, ...]) -> tuple[Any, ...]:
    """(N, depth) indices as a tuple of index arrays for the first ``depth`` axes."""
    index = np.asarray(O._data(indices) if isinstance(indices, Tensor) else indices)
    index = backend.to_numpy(index).astype(np.int64)
    if index.ndim != 2 or index.shape[1] > len(depth_of):
        raise ValueError(
            f"indices must be (count, depth) with depth <= {len(depth_of)}, got {index.shape}."
        )
    return tuple(index[:, i] for i in range(index.shape[1]))


class _Scatter(Function):
    """Zeros of ``shape`` with ``values`` added at the places (repeats add up)."""

    def __init__(self, places: tuple[Any, ...], shape: tuple[int, ...]) -> None:
        self.places, self.shape = places, shape

    def forward(self, values: Any) -> Any:
        xp = backend.get_array_module(values)
        self.places = tuple(xp.asarray(p) for p in self.places)
        out = xp.zeros(self.shape, values.dtype)
        backend.scatter_add(out, self.places, values)
        return out

    def backward(self, grad: Any) -> Any:
        return grad[self.places]


def scatter(indices: Any, values: Any, shape: Any) -> Tensor:
    """Keras' ops.scatter: a tensor of ``shape``, zeros but for ``values`` at ``indices``
    ((count, depth): the first depth axes' coordinates), repeats summed."""
    shape = tuple(int(s) for s in shape)
    return _Scatter(_places(indices, shape), shape)(O.convert_to_tensor(values))


def scatter_update(inputs: Any, indices: Any, updates: Any) -> Tensor:
    """Keras' ops.scatter_update: ``inputs`` with the entries at ``indices`` replaced by
    ``updates`` (each gradient goes to what is kept)."""
    x = O.convert_to_tensor(inputs)
    places = _places(indices, x.shape)
    xp = backend.get_array_module(x.data)
    replaced = xp.zeros(x.shape, dtype=bool)
    replaced[tuple(xp.asarray(p) for p in places)] = True
    new = _Scatter(places, x.shape)(O.convert_to_tensor(updates))
    return O.where(replaced, new, x)


def slice(inputs: Any, start_indices: Any, shape: Any) -> Tensor:  # noqa: A001
    """Keras' ops.slice: the block of ``shape`` starting at ``start_indices``."""
    x = O.convert_to_tensor(inputs)
    starts = [int(s) for s in np.asarray(O._data(start_indices)).reshape(-1).tolist()]
    return x[tuple(builtins.slice(s, s + int(n)) for s, n in zip(starts, shape, strict=True))]


def slice_update(inputs: Any, start_indices: Any, updates: Any) -> Tensor:
    """Keras' ops.slice_update: ``inputs`` with the block at ``start_indices`` replaced by
    ``updates``."""
    x, new = O.convert_to_tensor(inputs), O.convert_to_tensor(updates)
    starts = [int(s) for s in np.asarray(O._data(start_indices)).reshape(-1).tolist()]
    widths = [(s, n - s - u) for s, n, u in zip(starts, x.shape, new.shape, strict=True)]
    if any(after < 0 or before < 0 for before, after in widths):
        raise ValueError(
            f"slice_update: updates of shape {new.shape} at {starts} do not fit in {x.shape}."
        )
    placed = O.pad(new, widths)
    xp = backend.get_array_module(x.data)
    inside = xp.zeros(x.shape, dtype=bool)
    inside[tuple(builtins.slice(s, s + u) for s, u in zip(starts, new.shape, strict=True))] = True
    return O.where(inside, placed, x)


class _CustomGradient(Function):
    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f

    def forward(self, *arrays: Any) -> Any:
        with no_grad():
            out, self.gradient = self.f(*(Tensor(a) for a in arrays))
        return O._data(out)

    def backward(self, grad: Any) -> Any:
        with no_grad():
            grads = self.gradient(Tensor(grad))
        grads = grads if isinstance(grads, (tuple, list)) else (grads,)
        return tuple(None if g is None else O._data(O.convert_to_tensor(g)) for g in grads)


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Tensor]:
    """Keras' ops.custom_gradient: ``f(*inputs)`` returns ``(output, grad_fn)``, and
    ``grad_fn(upstream)`` gives the inputs' gradients, used in place of autograd's."""

    def wrapped(*inputs: Any) -> Tensor:
        return _CustomGradient(f)(*(O.convert_to_tensor(x) for x in inputs))

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped


def convert_to_numpy(x: Any) -> np.ndarray:
    return backend.to_numpy(O._data(x))


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def dtype(x: Any) -> str:
    """Keras' standardized dtype name, such as 'float32'."""
    return np.dtype(O._data(O.convert_to_tensor(x)).dtype).name


def saturate_cast(x: Any, dtype: Any) -> Tensor:
    """Cast to ``dtype``, values clipped to its range first (no wrap-around)."""
    target = np.dtype(dtype)
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
    data = O._data(O.convert_to_tensor(x))
    xp = backend.get_array_module(data)
    return Tensor(xp.clip(data, info.min, info.max).astype(target))
