"""The one place that decides between NumPy and CuPy, and owns every random draw.

Nothing else in minicnn imports cupy: callers ask for ``get_array_module(x)`` or ``xp(device)``.
It also has Keras' ``keras.backend`` functions (``epsilon``, ``floatx``, ``image_data_format``,
``standardize_dtype``, ``get_uid``, ``clear_session``, ...), for code that imports Keras'
backend as ``K``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

try:  # CuPy is an optional extra; minicnn must import and run without it.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

FLOAT = np.float32
DEVICES = ("cpu", "gpu")


def gpu_unavailable_reason() -> str | None:
    """Why minicnn cannot use a GPU here, or None when it can."""
    if _cupy is None:
        return "CuPy is not installed (pip install 'minicnn[gpu]')"
    try:
        count = _cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, a driver too old for CuPy's CUDA, ...
        return f"CuPy sees no GPU ({e})"
    return None if count > 0 else "CuPy sees no GPU"


def gpu_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    return gpu_unavailable_reason() is None


def resolve_device(device: str | None = None) -> str:
    """Turn 'auto', None or $MINICNN_DEVICE into 'cpu' or 'gpu'."""
    device = (device or os.environ.get("MINICNN_DEVICE") or "auto").lower()
    if device == "auto":
        return "gpu" if gpu_available() else "cpu"
    if device not in DEVICES:
        raise ValueError(f"Unknown device {device!r}: expected one of 'auto', 'cpu', 'gpu'.")
    if device == "gpu":
        reason = gpu_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"device='gpu' was asked for, but {reason}.")
    return device


# The device of `with minicnn.device(...)`, or of the model that runs: where arrays that ops
# make from nothing (zeros, ones, arange, ...) are made, as Keras makes them on its device.
_device_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "minicnn_device", default=None
)


def device_here(device: str) -> str:
    """``device`` where it is available, else the CPU: where an unpickled model or layer
    goes (pickled beside a GPU, it may be loaded where there is none)."""
    return "cpu" if device == "gpu" and not gpu_available() else device


def device_name(name: str) -> str:
    """Keras' and PyTorch's device names ('cpu', 'gpu', 'gpu:0', 'cuda', 'cuda:0', 'auto') as
    minicnn's 'cpu', 'gpu' or 'auto' (one GPU: index 0 only)."""
    kind, _, index = str(name).lower().partition(":")
    kind = "gpu" if kind == "cuda" else kind
    if kind not in (*DEVICES, "auto") or index not in ("", "0") or (index and kind == "auto"):
        raise ValueError(
            f"Unknown device {name!r}: expected 'cpu', 'gpu' (or 'gpu:0', 'cuda'), or 'auto'."
        )
    return kind


def current_device() -> str:
    """The innermost ``device`` scope's device, else $MINICNN_DEVICE's (default 'auto')."""
    scoped = _device_scope.get()
    return scoped if scoped is not None else resolve_device(None)


def device(name: str) -> contextlib.AbstractContextManager[None]:
    """Keras' ``keras.device``: ``with minicnn.device("gpu"):`` makes the arrays that ops
    create from nothing on that device. A model's passes run in its own device's scope."""
    return on_device(resolve_device(device_name(name)))


@contextlib.contextmanager
def on_device(resolved: str) -> Iterator[None]:
    """The scope of a device already resolved to 'cpu' or 'gpu' (a model's, an array's):
    no checks, so that a training step pays nothing for it."""
    token = _device_scope.set(resolved)
    try:
        yield
    finally:
        _device_scope.reset(token)


def cupy_module() -> Any:
    """The cupy module itself, for the GPU kernels; a clear error when it is missing."""
    if _cupy is None:
        raise RuntimeError("CuPy is not installed: pip install 'minicnn[gpu]'.")
    return _cupy


def device_of(a: Any) -> str:
    """'gpu' for a CuPy array, else 'cpu'."""
    return "gpu" if _cupy is not None and isinstance(a, _cupy.ndarray) else "cpu"


def is_device_array(a: Any) -> bool:
    """Whether ``a`` is a CuPy array."""
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def synchronize(device: str) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU); for timings."""
    if device == "gpu":
        _cupy.cuda.get_current_stream().synchronize()


def gpu_memory_mb() -> float | None:
    """GPU memory held by CuPy's memory pool, in MB (the pool keeps what a run has used, so
    after training this is about its peak); None without CuPy."""
    if _cupy is None:
        return None
    return _cupy.get_default_memory_pool().total_bytes() / 1e6


def xp_for(device: str) -> Any:
    """The array module (numpy or cupy) for a resolved device name."""
    return _cupy if device == "gpu" else np


def get_array_module(*arrays: Any) -> Any:
    """numpy or cupy, whichever owns the given arrays (numpy when CuPy is absent)."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def contiguous(a: Any, dtype: Any = None) -> Any:
    """``a`` itself when it is C-contiguous (and of ``dtype``), else a copy that is. The check
    reads two attributes, where ``xp.ascontiguousarray`` is a call into CuPy: microseconds of
    host time, and a GPU training step is bound by its host time."""
    if a.flags.c_contiguous and (dtype is None or a.dtype == dtype):
        return a
    return get_array_module(a).ascontiguousarray(a, dtype=dtype)


def to_numpy(a: Any) -> np.ndarray:
    """A host (NumPy) copy or view of an array from either backend."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def to_device(a: Any, device: str) -> Any:
    """Move an array to 'cpu' or 'gpu' (no copy when it is already there); texts (NumPy
    arrays of str, bytes or objects) stay on the host, where the text layers read them."""
    if isinstance(a, np.ndarray) and a.dtype.kind in "OUS":
        return a
    if device == "gpu":
        return cupy_module().asarray(a)
    return to_numpy(a)


# --- values a step computes on the host -----------------------------------------------------


class StepScalars:
    """The host-made numbers of a training step captured in a CUDA graph (dropout seeds, Adam's
    step size, the learning rate), in one small device buffer.

    A graph replays its launches with the arguments they had when it was captured, so a number
    that changes from step to step cannot be an argument: each ``step_scalar`` made during the
    capture becomes a slot of this buffer, read by the kernels when they run, and remembers how
    to make its next value; ``refill`` makes them all, in the capture's order (so random draws
    come in the same order as in an uncaptured step), and copies them up before each replay.
    """

    SLOT_BYTES = 8
    # Room for the seeds of augmentation policies (AugMix draws about a hundred a step); the
    # buffer is 8 KB, one copy up per replay.
    SLOTS = 1024

    def __init__(self, xp: Any) -> None:
        self.host = np.zeros(self.SLOTS * self.SLOT_BYTES, np.uint8)
        self.device = xp.zeros(self.host.shape, np.uint8)  # made before the capture begins
        self.slots: list[tuple[Callable[[], Any], np.dtype, int]] = []

    def add(self, make: Callable[[], Any], dtype: Any, value: Any) -> Any:
        """A 0-d device view of a new slot holding ``value``; ``make`` gives the later ones."""
        if len(self.slots) == self.SLOTS:
            raise RuntimeError(f"a captured step can take at most {self.SLOTS} step scalars.")
        dtype = np.dtype(dtype)
        start = len(self.slots) * self.SLOT_BYTES
        self.slots.append((make, dtype, start))
        self._write(dtype, start, value)
        return self.device[start : start + dtype.itemsize].view(dtype).reshape(())

    def _write(self, dtype: np.dtype, start: int, value: Any) -> None:
        self.host[start : start + dtype.itemsize].view(dtype)[0] = value

    def refill(self) -> None:
        """Make every slot's next value, in order."""
        for make, dtype, start in self.slots:
            self._write(dtype, start, make())

    def upload(self) -> None:
        """Copy the values up, ordered on the stream after the work already queued."""
        self.device.set(self.host)


class DeviceScalars:
    """Step scalars as fresh 0-d device arrays, for a step run uncaptured before its capture:
    it then launches the very kernels the capture will (the ``_at`` twins, operations on a 0-d
    array), so that they are compiled and loaded before the capture begins."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def add(self, make: Callable[[], Any], dtype: Any, value: Any) -> Any:
        return self.xp.full((), value, dtype=dtype)


_step_scalars: StepScalars | DeviceScalars | None = None


def step_scalar(make: Callable[[], Any], dtype: Any) -> Any:
    """``make()`` as a ``dtype`` scalar for a kernel argument; while a step is being captured
    (``capturing_step``), a 0-d device array that each replay refills with a new ``make()``."""
    value = make()
    if _step_scalars is None:
        return np.dtype(dtype).type(value)
    return _step_scalars.add(make, dtype, value)


def graph_safe() -> bool:
    """Whether the step running now is, or is about to be, captured in a CUDA graph: then
    operations avoid what a capture cannot hold (cuBLAS through CuPy)."""
    return _step_scalars is not None


class capturing_step:  # noqa: N801 - a context manager, named like one
    """While active, ``step_scalar`` values go to ``scalars``."""

    def __init__(self, scalars: StepScalars | DeviceScalars) -> None:
        self.scalars = scalars

    def __enter__(self) -> StepScalars | DeviceScalars:
        global _step_scalars
        if _step_scalars is not None:
            raise RuntimeError("a step is already being captured.")
        _step_scalars = self.scalars
        return self.scalars

    def __exit__(self, *exc: Any) -> None:
        global _step_scalars
        _step_scalars = None


# --- random numbers -------------------------------------------------------------------------
# Every random draw of minicnn (initial weights, shuffling, dropout masks) comes from this one
# generator, so one seed fixes a whole run.
_rng = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Seed every random draw minicnn makes, and, as ``keras.utils.set_random_seed`` does,
    Python's ``random`` and NumPy's global generator (a script's ``np.random.permutation``
    after it draws what it draws under Keras)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    _rng = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def rng() -> np.random.Generator:
    """The generator every random draw of minicnn comes from."""
    return _rng


def get_rng_state() -> dict:
    """The generator's exact state (JSON-serialisable), for checkpoints."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state


# --- naming ---------------------------------------------------------------------------------
# Keras names layers from one counter per kind for the whole session: conv2d, conv2d_1, ...
_name_counts: dict[str, int] = {}


def snake_case(name: str) -> str:
    """A class name as Keras names its instances: 'MaxPooling2D' -> 'max_pooling2d'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    count = _name_counts.get(prefix, 0)
    _name_counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


_uids: dict[str, int] = {}


def get_uid(prefix: str = "") -> int:
    """Keras' ``backend.get_uid``: 1, 2, 3, ... for each prefix, until ``clear_session``."""
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def clear_session() -> None:
    """Restart automatic layer and model names (like ``keras.backend.clear_session``)."""
    _name_counts.clear()
    _uids.clear()


# --- Keras' ``keras.backend`` functions (``from minicnn import backend as K``) ------------------
def backend() -> str:
    """Keras' ``backend.backend()``: the name of the engine that computes, "minicnn"."""
    return "minicnn"


def epsilon() -> float:
    from . import config

    return config.epsilon()


def set_epsilon(value: float) -> None:
    from . import config

    config.set_epsilon(value)


def floatx() -> str:
    from . import config

    return config.floatx()


def set_floatx(value: str) -> None:
    from . import config

    config.set_floatx(value)


def image_data_format() -> str:
    from . import config

    return config.image_data_format()


def set_image_data_format(data_format: str) -> None:
    from . import config

    config.set_image_data_format(data_format)


def standardize_dtype(dtype: Any) -> str:
    from . import utils

    return utils.standardize_dtype(dtype)


def is_float_dtype(dtype: Any) -> bool:
    """Whether a dtype is a float type (Keras': float16, bfloat16, float32, float64)."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """Whether a dtype is an integer type, signed or not (bool is not)."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


# Keras' type promotion, JAX's lattice: each type and the types just above it. "int" and
# "float" are Python's numbers, weak types that take the width of what they meet.
_PROMOTIONS = {
    "bool": ("int",),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int": ("uint8", "int8"),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64",),
    "float64": (),
}


def _above(node: str) -> frozenset[str]:
    """The node and every type above it on the lattice."""
    found, todo = {node}, [node]
    while todo:
        for higher in _PROMOTIONS[todo.pop()]:
            if higher not in found:
                found.add(higher)
                todo.append(higher)
    return frozenset(found)


_UPPER_BOUNDS = {node: _above(node) for node in _PROMOTIONS}
_NARROWED = {"int64": "int32", "uint64": "uint32", "float64": "float32"}


def _least_upper_bound(nodes: set[str]) -> str:
    for node in nodes:
        if node not in _UPPER_BOUNDS:
            raise ValueError(f"dtype={node!r} is not a valid dtype for Keras type promotion.")
    common = frozenset.intersection(*(_UPPER_BOUNDS[n] for n in nodes))
    least = (common & nodes) or {c for c in common if common <= _UPPER_BOUNDS[c]}
    return next(iter(least))  # the lattice has one least upper bound for any set


def result_type(*dtypes: Any) -> str:
    """Keras' ``backend.result_type``: the dtype of an operation on these dtypes (or
    Python's int, float and bool, which as weak types take the width of what they meet),
    by JAX's promotion lattice, with 64-bit results narrowed to 32 bits as on every Keras
    backend but TensorFlow's (and Python's numbers alone taking float32 and int32)."""
    if not dtypes:
        return floatx()
    weak = [d is int or d is float for d in dtypes]
    names = [
        {int: "int32", float: "float32", bool: "bool"}.get(d) or standardize_dtype(d)
        for d in dtypes
    ]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(set(names)), True
    else:
        pairs = zip(names, weak, strict=True)
        nodes = {("float" if "float" in n else "int") if w else n for n, w in pairs}
        out = _least_upper_bound(nodes)
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":
        out = {"b": "bool", "i": "int32", "u": "uint32"}.get(out[0], "float32")
    return _NARROWED.get(out, out)


def is_keras_tensor(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor of a graph being built (``Input``'s and the
    layers' outputs on it), as Keras' KerasTensor."""
    from . import utils

    return utils.is_keras_tensor(x)


def scatter_add(target: Any, indices: Any, values: Any) -> None:
    """target[indices] += values, with repeated indices adding up (NumPy's ``add.at``; CuPy's
    ``scatter_add``, which adds atomically)."""
    if isinstance(target, np.ndarray):
        if not _scatter_common_case(target, indices, values):
            np.add.at(target, indices, values)
    else:
        target.scatter_add(indices, values)


def _scatter_common_case(target: np.ndarray, indices: Any, values: Any) -> bool:
    """NumPy's add.at is slow (an embedding's gradient of 5120 ids: 5 ms); the common cases
    are done another way, and True said: counts into a vector by ``bincount``, rows into a
    matrix by a Numba loop (0.1 ms)."""
    if not (isinstance(indices, np.ndarray) and indices.ndim == 1 and indices.dtype.kind in "iu"):
        return False
    if len(indices) < 64 or indices.min() < 0 or indices.max() >= len(target):
        return False  # small, or negative indices (which add.at counts from the end)
    values = np.asarray(values)
    if target.ndim == 1 and values.shape == indices.shape:
        counts = np.bincount(indices, weights=values, minlength=len(target))
        target += counts.astype(target.dtype, copy=False)
        return True
    if target.ndim == 2 and values.shape == (len(indices), target.shape[1]):
        from .kernels import cpu

        cpu.scatter_add_rows(target, indices, values.astype(target.dtype, copy=False))
        return True
    return False
