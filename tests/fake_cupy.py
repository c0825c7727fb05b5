"""A stand-in for CuPy on a machine without a GPU: device arrays live in host memory, and raw
kernels run through ``cuda_emulator``.

It is strict where CuPy is strict, so that GPU-path mistakes show up in CI: a NumPy array
mixed into a device operation, or converted implicitly (``np.asarray(device_array)``), raises
TypeError as in CuPy. It also counts what a real GPU would pay for: copies to the host (``get``,
``asnumpy``, ``float()``...), copies from the host, and explicit synchronisations, so tests can
check that a training step never waits for the device. And it offers only what the real CuPy
offers (``cupy_api``): a NumPy function CuPy lacks, or a keyword argument it does not take, fails
here as it would on a GPU.
"""

from __future__ import annotations

import types
from collections import Counter
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
        traffic["d2h"] += 1
        return self._array.copy()

    def item(self) -> Any:
        traffic["d2h"] += 1
        return self._array.item()

    def tolist(self) -> Any:
        traffic["d2h"] += 1
        return self._array.tolist()

    def __float__(self) -> float:
        traffic["d2h"] += 1
        return float(self._array)

    def __int__(self) -> int:
        traffic["d2h"] += 1
        return int(self._array)

    def __bool__(self) -> bool:
        traffic["d2h"] += 1
        return bool(self._array)

    # -- array protocol ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        calls["operator"] += 1
        out = kwargs.get("out")
        args = _unwrap(inputs)
        if out is not None:
            kwargs["out"] = _unwrap(out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(result)

    def __getitem__(self, key: Any) -> Any:
        calls["index"] += 1
        return _wrap(self._array[_index(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        calls["index"] += 1
        self._array[_index(key)] = _unwrap(value)

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
        np.add.at(self._array, _unwrap(slices), _unwrap(value))

    def __getattr__(self, name: str) -> Any:
        record = cupy_api.entry("ndarray", name, "'cupy.ndarray' object")
        value = getattr(self._array, name)
        if not callable(value):
            return value

        def method(*args: Any, **kwargs: Any) -> Any:
            calls["method"] += 1
            cupy_api.check_call(f"ndarray.{name}", record, kwargs)
            return _wrap(value(*_unwrap(args), **_unwrap(kwargs)))

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
        traffic["h2d"] += 1
        return FakeArray(value.copy())
    return value


def _count_launch(kernel_name: str) -> None:
    calls["launch"] += 1


class _Stream:
    def synchronize(self) -> None:
        traffic["sync"] += 1


class _MemoryPool:
    def total_bytes(self) -> int:
        return 0  # the fake's arrays are NumPy's; nothing is held on a device


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
            get_current_stream=lambda: _Stream(),
        )

    def RawModule(self, code: str, options: tuple = (), **kwargs: Any) -> Any:  # noqa: N802
        record = cupy_api.entry("nested", "RawModule", "module 'cupy'")
        cupy_api.check_call("RawModule", record, {"code": code, "options": options, **kwargs})
        return cuda_emulator.EmulatedModule(
            code, options, device_arrays=FakeArray, on_launch=_count_launch, **kwargs
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

        def function(*args: Any, **kwargs: Any) -> Any:
            calls["function"] += 1
            cupy_api.check_call(f"cupy.{name}", record, kwargs)
            if name in _TAKES_HOST:
                args = tuple(_host_to_device(a) for a in args)
            out = kwargs.get("out")
            result = target(*_unwrap(args), **_unwrap(kwargs))
            return out if out is not None else _wrap(result)

        function.__name__ = name
        return function
