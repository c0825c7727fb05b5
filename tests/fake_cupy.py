"""A stand-in for CuPy on a machine without a GPU: device arrays live in host memory, and raw
kernels run through ``cuda_emulator``.

It is strict where CuPy is strict, so that GPU-path mistakes show up in CI: a NumPy array
mixed into a device operation, or converted implicitly (``np.asarray(device_array)``), raises
TypeError as in CuPy. It also counts what a real GPU would pay for: copies to the host (``get``,
``asnumpy``, ``float()``...), copies from the host, and explicit synchronisations, so tests can
check that a training step never waits for the device. And it offers only what the real CuPy
offers (``cupy_api``): a NumPy function CuPy lacks, or a keyword argument it does not take, fails
here as it would on a GPU.

It also captures CUDA graphs as a GPU does (``Stream.begin_capture``): while a stream captures,
nothing runs. An operation that writes into existing arrays (``out=``, ``a[...] = b``, ``+=``, a
kernel launch) is only recorded; one that makes a new array records how to remake it in the
same memory, and the new array holds garbage (NaN) until the graph is launched. ``launch``
replays the records on whatever the arrays hold then, with every other argument as it was at
the capture. So a captured step that rebinds an array instead of writing into it, bakes in a
number that should change from step to step, or reads a result before the first launch, goes
wrong here as it would on a GPU; and a copy between host and device, or a synchronisation,
raises during a capture, as CuPy does.
"""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Callable
from typing import Any

import cuda_emulator
import cupy_api
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

# What the current test has made the "device" do; reset by the fixture.
traffic: Counter = Counter()
# Calls into CuPy by kind (kernel launches, functions, array methods, operators, indexing). On a
# GPU each costs the host some microseconds, and a small model's step is bound by them.
calls: Counter = Counter()

# Functions that take host arrays (a copy to the device); every other function refuses them.
_TAKES_HOST = {"asarray", "array"}
# Functions and array methods whose result's shape depends on the values: CuPy reads a count
# back to the host first, which a capture forbids.
_SHAPE_FROM_VALUES = {"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract"}
# What calls cuBLAS, which CuPy refuses while a stream captures ("calling cuBLAS API during
# stream capture is currently unsupported", from cupy_backends' cublas.setStream).
_CUBLAS = {"matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "kron"}
# Array methods, and functions, that write into an argument instead of making a new array
# (cupy.sort and cupy.partition return sorted copies; the methods sort in place).
_WRITES_ARGUMENT = {"fill", "put", "sort", "partition", "scatter_add", "scatter_max"}
_FUNCTIONS_WRITING = {"copyto", "put"}

# The operations of the CUDA graph being captured (None when no stream captures), and the
# allocator in use (None: CuPy's default memory pool).
_capture: list[Callable[[], None]] | None = None
_allocator: Any = None


def _forbid_in_capture(what: str) -> None:
    if _capture is not None:
        raise RuntimeError(f"{what}: operation not permitted when stream is capturing")


def _refuse_cublas_in_capture() -> None:
    if _capture is not None:
        raise NotImplementedError(
            "calling cuBLAS API during stream capture is currently unsupported"
        )


def _deferred(run: Callable[[], Any]) -> None:
    """An operation that writes into existing arrays: it runs now, or when the graph does."""
    if _capture is None:
        run()
    else:
        _capture.append(run)


def _raw_arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, FakeArray):
        return [value._array]
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _raw_arrays(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _raw_arrays(v)]
    return []


def _as_arrays(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _computed(compute: Callable[[], Any], sources: Any) -> Any:
    """An operation that makes new arrays from ``sources``: its result. While capturing, a
    result that is not a view of a source holds garbage, and the graph recomputes it into the
    same memory whenever it is launched."""
    if _capture is None:
        return compute()
    with np.errstate(all="ignore"):
        result = compute()
    if isinstance(result, np.generic):
        result = np.asarray(result)
    inputs = _raw_arrays(sources)
    made = [
        k
        for k, r in enumerate(_as_arrays(result))
        if isinstance(r, np.ndarray) and not any(np.may_share_memory(r, a) for a in inputs)
    ]
    if not made:
        return result
    outputs = _as_arrays(result)
    for k in made:
        _garbage(outputs[k])

    def replay() -> None:
        again = _as_arrays(compute())
        for k in made:
            np.copyto(outputs[k], again[k])

    _capture.append(replay)
    return result


def _garbage(a: np.ndarray) -> None:
    """What memory holds before anything has written it: NaN for floats; zeros (valid indices)
    for integers."""
    a[...] = np.nan if a.dtype.kind in "fc" else 0


class FakeArray(NDArrayOperatorsMixin):
    """A device array: a NumPy array that only device operations may touch."""

    __array_priority__ = 100

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    # -- what CuPy refuses or charges for ------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            "a device array does not turn into a NumPy array by itself; .get() copies it to "
            "the host (CuPy refuses this conversion too)"
        )

    def get(self) -> np.ndarray:
        _forbid_in_capture("get")
        traffic["d2h"] += 1
        return self._array.copy()

    def item(self) -> Any:
        _forbid_in_capture("item")
        traffic["d2h"] += 1
        return self._array.item()

    def tolist(self) -> Any:
        _forbid_in_capture("tolist")
        traffic["d2h"] += 1
        return self._array.tolist()

    def __float__(self) -> float:
        _forbid_in_capture("__float__")
        traffic["d2h"] += 1
        return float(self._array)

    def __int__(self) -> int:
        _forbid_in_capture("__int__")
        traffic["d2h"] += 1
        return int(self._array)

    def __bool__(self) -> bool:
        _forbid_in_capture("__bool__")
        traffic["d2h"] += 1
        return bool(self._array)

    # -- array protocol ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        calls["operator"] += 1
        if ufunc.__name__ in _CUBLAS:
            _refuse_cublas_in_capture()
        out = kwargs.get("out")
        run = getattr(ufunc, method)

        def compute() -> Any:
            return run(*_unwrap(inputs), **_unwrap(kwargs))

        if out is not None:
            _deferred(compute)
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(_computed(compute, (inputs, kwargs)))

    def __getitem__(self, key: Any) -> Any:
        calls["index"] += 1
        index = _index(key)
        if any(isinstance(k, np.ndarray) and k.dtype == bool for k in _as_arrays(index)):
            # The result's shape is the mask's count of True: CuPy reads it back to the host.
            _forbid_in_capture("a boolean mask index")
        return _wrap(_computed(lambda: self._array[index], (self, index)))

    def __setitem__(self, key: Any, value: Any) -> None:
        calls["index"] += 1
        index = _index(key)
        _deferred(lambda: self._array.__setitem__(index, _unwrap(value)))

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        """CuPy's copy from the host into this array, in place."""
        calls["method"] += 1
        _forbid_in_capture("set")
        traffic["h2d"] += 1
        if not isinstance(arr, np.ndarray) or arr.shape != self._array.shape:
            raise ValueError("set needs a NumPy array of the same shape")
        self._array[...] = arr

    def __len__(self) -> int:
        return len(self._array)

    def __repr__(self) -> str:
        return f"fake_cupy.array({self._array!r})"

    @property
    def T(self) -> FakeArray:
        return FakeArray(self._array.T)

    def scatter_add(self, slices: Any, value: Any) -> None:
        """CuPy's atomic self[slices] += value, repeated indices adding up (NumPy has no such
        method: ``np.add.at`` is its equivalent)."""
        calls["method"] += 1
        _deferred(lambda: np.add.at(self._array, _unwrap(slices), _unwrap(value)))

    def __getattr__(self, name: str) -> Any:
        record = cupy_api.entry("ndarray", name, "'cupy.ndarray' object")
        value = getattr(self._array, name)
        if not callable(value):
            return value

        def method(*args: Any, **kwargs: Any) -> Any:
            calls["method"] += 1
            cupy_api.check_call(f"ndarray.{name}", record, kwargs)

            def compute() -> Any:
                return value(*_unwrap(args), **_unwrap(kwargs))

            if name in _SHAPE_FROM_VALUES:
                _forbid_in_capture(f"ndarray.{name}")
            if name in _CUBLAS:
                _refuse_cublas_in_capture()
            if name in _WRITES_ARGUMENT or kwargs.get("out") is not None:
                _deferred(compute)
                return kwargs.get("out")
            return _wrap(_computed(compute, (self, args, kwargs)))

        return method


def _unwrap(value: Any) -> Any:
    if isinstance(value, FakeArray):
        return value._array
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}: a NumPy array in a device operation.")
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _index(key: Any) -> Any:
    """CuPy takes NumPy index arrays, but copies them to the device first."""
    keys = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, np.ndarray) for k in keys):
        _forbid_in_capture("an index array from the host")
        traffic["h2d"] += 1
        keys = tuple(FakeArray(k) if isinstance(k, np.ndarray) else k for k in keys)
    unwrapped = _unwrap(keys)
    return unwrapped if isinstance(key, tuple) else unwrapped[0]


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return FakeArray(value)
    if isinstance(value, np.generic):
        return FakeArray(np.asarray(value))  # CuPy reductions return 0-d device arrays
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _host_to_device(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        _forbid_in_capture("a copy from the host")
        traffic["h2d"] += 1
        return FakeArray(value.copy())
    return value


class _Graph:
    """A captured CUDA graph: its operations, replayed at each launch."""

    def __init__(self, operations: list[Callable[[], None]]) -> None:
        self.operations = operations

    def launch(self, stream: Any = None) -> None:
        _forbid_in_capture("Graph.launch")
        calls["graph_launch"] += 1
        for run in self.operations:
            run()


class _Stream:
    """A CUDA stream; ``with stream:`` makes it current, as in CuPy."""

    null: _Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False) -> None:
        self.is_null = null
        self._capturing = False
        self._outer: list[_Stream] = []

    def synchronize(self) -> None:
        _forbid_in_capture("Stream.synchronize")
        traffic["sync"] += 1

    def __enter__(self) -> _Stream:
        self._outer.append(_current_stream[0])
        _current_stream[0] = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _current_stream[0] = self._outer.pop()

    def begin_capture(self, mode: Any = None) -> None:
        global _capture
        if self.is_null:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if _capture is not None:
            raise RuntimeError("a stream is capturing already")
        if _allocator is None:
            # minicnn's rule, not CuPy's: memory that the capture frees goes back to the pool,
            # where later work would take it while the graph still writes there.
            raise RuntimeError("capture with a private memory pool (cupy.cuda.using_allocator)")
        _capture = []
        self._capturing = True

    def end_capture(self) -> _Graph:
        global _capture
        if not self._capturing:
            raise RuntimeError("the stream is not capturing")
        operations, _capture = _capture, None
        self._capturing = False
        return _Graph(operations)

    def is_capturing(self) -> bool:
        return self._capturing


_Stream.null = _Stream(null=True)
_current_stream = [_Stream.null]


class _MemoryPool:
    def __init__(self, allocator: Any = None) -> None:
        pass

    def total_bytes(self) -> int:
        return 0  # the fake's arrays are NumPy's; nothing is held on a device

    def malloc(self, size: int) -> Any:
        raise NotImplementedError("the fake's arrays are NumPy's")


class _UsingAllocator:
    def __init__(self, allocator: Any = None) -> None:
        self.allocator = allocator

    def __enter__(self) -> None:
        global _allocator
        self._outer, _allocator = _allocator, self.allocator

    def __exit__(self, *exc: Any) -> None:
        global _allocator
        _allocator = self._outer


class _Module:
    """A compiled module whose kernels launch through the capture rules."""

    def __init__(self, module: cuda_emulator.EmulatedModule) -> None:
        self.module = module

    def get_function(self, name: str) -> Any:
        kernel = self.module.get_function(name)

        def launch(grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
            calls["launch"] += 1  # a graph's replay of it costs the host nothing
            _deferred(lambda: kernel(grid, block, args, shared_mem))

        return launch


class FakeCupy(types.ModuleType):
    """The slice of the cupy module that minicnn uses, with NumPy doing the work."""

    ndarray = FakeArray

    def __init__(self) -> None:
        super().__init__("cupy")
        self.__version__ = f"{cupy_api.recorded()['cupy_version']} (fake)"
        properties = {
            "name": b"emulated GPU (the fake CuPy of minicnn's tests)",
            "totalGlobalMem": 0,
            "multiProcessorCount": cuda_emulator.THREADS,
        }
        self.cuda = types.SimpleNamespace(
            runtime=types.SimpleNamespace(
                getDeviceCount=lambda: 1,
                getDeviceProperties=lambda device: properties,
                runtimeGetVersion=lambda: 13000,
            ),
            get_current_stream=lambda: _current_stream[0],
            Stream=_Stream,
            MemoryPool=_MemoryPool,
            using_allocator=_UsingAllocator,
        )
        self.linalg = _Linalg()

    def RawModule(self, code: str, options: tuple = (), **kwargs: Any) -> Any:  # noqa: N802
        record = cupy_api.entry("nested", "RawModule", "module 'cupy'")
        cupy_api.check_call("RawModule", record, {"code": code, "options": options, **kwargs})
        return _Module(
            cuda_emulator.EmulatedModule(code, options, device_arrays=FakeArray, **kwargs)
        )

    def get_default_memory_pool(self) -> _MemoryPool:
        return _MemoryPool()

    def asnumpy(self, a: Any) -> np.ndarray:
        if isinstance(a, FakeArray):
            return a.get()
        return np.asarray(a)

    def __getattr__(self, name: str) -> Any:
        record = cupy_api.entry("module", name, "module 'cupy'")
        target = getattr(np, name)
        if isinstance(target, type) or not callable(target):
            return target  # dtypes and constants
        return _device_function(name, target, record)


class _Linalg(types.ModuleType):
    """cupy.linalg: NumPy's, on device arrays; cuSOLVER, like cuBLAS, refuses a capture."""

    def __init__(self) -> None:
        super().__init__("cupy.linalg")

    def __getattr__(self, name: str) -> Any:
        record = cupy_api.entry("nested", f"linalg.{name}", "module 'cupy.linalg'")
        return _device_function(f"linalg.{name}", getattr(np.linalg, name), record)


def _device_function(name: str, target: Callable[..., Any], record: Any) -> Callable[..., Any]:
    """cupy.<name>: ``target`` on the arrays inside device arrays, by CuPy's rules."""

    def function(*args: Any, **kwargs: Any) -> Any:
        calls["function"] += 1
        cupy_api.check_call(f"cupy.{name}", record, kwargs)
        if name in _TAKES_HOST:
            args = tuple(_host_to_device(a) for a in args)
        if name in _SHAPE_FROM_VALUES or (name == "where" and len(args) == 1):
            _forbid_in_capture(f"cupy.{name}")
        if name in _CUBLAS or name.startswith("linalg."):
            _refuse_cublas_in_capture()
        out = kwargs.get("out")

        def compute() -> Any:
            return target(*_unwrap(args), **_unwrap(kwargs))

        if out is not None or name in _FUNCTIONS_WRITING:
            _deferred(compute)
            return out
        return _wrap(_computed(compute, (args, kwargs)))

    function.__name__ = name.rpartition(".")[2]
    return function
