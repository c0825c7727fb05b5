"""Runs minicnn's CUDA source on the CPU, so that CI (which has no GPU) tests the kernels' code.

g++ compiles the very source that CuPy hands to NVRTC, behind a small shim that defines the
CUDA names it uses. A launch runs the kernel once per emulated thread, each with its own
``blockIdx.x`` in a grid of ``THREADS`` one-thread blocks: the grid-stride loops then split the
work as they would on a GPU, with another launch shape than the one asked for (the kernels
promise that the shape does not matter). Every argument is checked against the kernel's C
signature: arrays by dtype and contiguity, scalars by their exact NumPy type, which is what a
real launch silently needs.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

THREADS = 3

SHIM = r"""
#include <algorithm>
#include <cmath>
#include <cstring>
struct minicnn_dim3 { unsigned int x, y, z; };
static minicnn_dim3 threadIdx = {0, 0, 0};
static minicnn_dim3 blockIdx = {0, 0, 0};
static minicnn_dim3 blockDim = {1, 1, 1};
static minicnn_dim3 gridDim = {1, 1, 1};
#define __global__
#define __device__
#define __forceinline__ inline
using std::min;
static inline float __int_as_float(unsigned int i)
{ float f; std::memcpy(&f, &i, sizeof f); return f; }
static inline double __longlong_as_double(unsigned long long i)
{ double d; std::memcpy(&d, &i, sizeof d); return d; }
extern "C" void minicnn_emulate_thread(unsigned int thread, unsigned int threads)
{ blockIdx.x = thread; gridDim.x = threads; }
"""

SCALARS = {"int": np.int32, "unsigned int": np.uint32, "long long": np.int64}
CTYPES = {
    np.int32: ctypes.c_int32,
    np.uint32: ctypes.c_uint32,
    np.int64: ctypes.c_int64,
    np.float32: ctypes.c_float,
    np.float64: ctypes.c_double,
}
KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)', re.S)


def available() -> bool:
    return shutil.which("g++") is not None


def _real_type(code: str) -> type:
    match = re.search(r"typedef\s+(float|double)\s+real\s*;", code)
    if match is None:
        raise ValueError("the source does not define `real`")
    return np.float32 if match.group(1) == "float" else np.float64


def _parameters(code: str, real: type) -> dict[str, list[tuple[bool, type]]]:
    """Each kernel's parameters as (is_pointer, NumPy type)."""
    kernels = {}
    for name, params in KERNEL.findall(code):
        parsed = []
        for param in params.split(","):
            words = param.replace("*", " * ").split()
            words = [w for w in words if w not in ("const", "__restrict__")]
            pointer = "*" in words
            type_name = " ".join(words[: words.index("*")] if pointer else words[:-1])
            parsed.append((pointer, real if type_name == "real" else SCALARS[type_name]))
        kernels[name] = parsed
    return kernels


# Extra compiler flags, e.g. "-fsanitize=address" to catch out-of-bounds accesses (run Python
# with LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0).
EXTRA_FLAGS = os.environ.get("MINICNN_EMULATOR_CFLAGS", "").split()


def _compile(code: str) -> ctypes.CDLL:
    source = SHIM + code
    digest = hashlib.sha256((source + " ".join(EXTRA_FLAGS)).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "minicnn-cuda-emulator"
    folder.mkdir(exist_ok=True)
    library = folder / f"{digest}.so"
    if not library.exists():
        partial = folder / f"{digest}.{id(code)}.tmp.so"
        subprocess.run(
            # -O3 vectorizes the GEMM's loops: a captured step (all of whose products are
            # minicnn's own GEMM) runs 2x faster than at -O1, for a second more to compile.
            ["g++", "-O3", "-shared", "-fPIC", "-std=c++17", *EXTRA_FLAGS, "-x", "c++", "-"]
            + ["-o", str(partial)],
            input=source.encode(),
            check=True,
            capture_output=True,
        )
        partial.replace(library)
    return ctypes.CDLL(str(library))


class EmulatedKernel:
    def __init__(
        self,
        library: ctypes.CDLL,
        name: str,
        params: list,
        device_arrays: type | None,
        on_launch: Any = None,
    ) -> None:
        self.name = name
        self.on_launch = on_launch
        self.params = params
        self.function = getattr(library, name)
        self.function.restype = None
        self.set_thread = library.minicnn_emulate_thread
        self.device_arrays = device_arrays

    def _host_array(self, arg: Any, i: int, dtype: type) -> np.ndarray:
        if self.device_arrays is not None:
            if not isinstance(arg, self.device_arrays):
                raise TypeError(f"{self.name}: argument {i} must be a device array, got {arg!r}")
            arg = arg._array
        if not isinstance(arg, np.ndarray):
            raise TypeError(f"{self.name}: argument {i} must be an array, got {type(arg)}")
        if arg.dtype != dtype:
            raise TypeError(f"{self.name}: argument {i} is {arg.dtype}, the kernel takes {dtype}")
        if not arg.flags.c_contiguous:
            raise ValueError(f"{self.name}: argument {i} is not C-contiguous")
        return arg

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
        if self.on_launch is not None:
            self.on_launch(self.name)
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments, got {len(args)}")
        for size in (*grid, *block):
            if not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"{self.name}: bad launch shape {grid} x {block}")
        c_args = []
        for i, ((pointer, dtype), arg) in enumerate(zip(self.params, args, strict=True)):
            if pointer:
                array = self._host_array(arg, i, dtype)
                c_args.append(ctypes.c_void_p(array.ctypes.data))
            else:
                if type(arg) is not dtype:
                    raise TypeError(
                        f"{self.name}: argument {i} must be {dtype.__name__}, got {type(arg)}"
                    )
                c_args.append(CTYPES[dtype](arg))
        for thread in range(THREADS):
            self.set_thread(ctypes.c_uint(thread), ctypes.c_uint(THREADS))
            self.function(*c_args)


class EmulatedModule:
    """Stands in for ``cupy.RawModule(code=..., options=...)``."""

    def __init__(
        self,
        code: str,
        options: tuple = (),
        device_arrays: type | None = None,
        on_launch: Any = None,
        **_: Any,
    ) -> None:
        self.on_launch = on_launch  # called with the kernel's name at each launch
        real = _real_type(code)
        self.params = _parameters(code, real)
        self.library = _compile(code)
        self.device_arrays = device_arrays

    def get_function(self, name: str) -> EmulatedKernel:
        if name not in self.params:
            raise AttributeError(f"no kernel named {name!r} in the module")
        return EmulatedKernel(
            self.library, name, self.params[name], self.device_arrays, self.on_launch
        )
