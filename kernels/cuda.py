"""CuPy GPU kernels: the operations of ``cpu`` with the same signatures, plus the fused loss and
Adam steps that only pay off on a GPU.

The CUDA source is ``cuda_source.cu``; it is compiled once per floating type (float32 for
training, float64 for gradient checks) and each kernel is looked up once, then cached. Launches
are asynchronous: no wrapper here reads anything back to the host.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend

SOURCE_PATH = Path(__file__).with_name("cuda_source.cu")
BLOCK = 256
MAX_BLOCKS = 8192  # a grid-stride loop covers the rest; 2M threads fill any current GPU
# Kernels index with int; keep every launch's element count (plus one grid stride) below 2**31.
MAX_ELEMENTS = 2**31 - 1 - BLOCK * MAX_BLOCKS

# What `real` and its math functions mean in each compiled copy of the source.
PRELUDES = {
    "float32": (
        "typedef float real;\n#define real_exp expf\n#define real_log logf\n"
        "#define real_sqrt sqrtf\n#define real_erf erff\n#define real_erfc erfcf\n"
        "#define NEG_INF __int_as_float(0xff800000U)\n"
    ),
    "float64": (
        "typedef double real;\n#define real_exp exp\n#define real_log log\n"
        "#define real_sqrt sqrt\n#define real_erf erf\n#define real_erfc erfc\n"
        "#define NEG_INF __longlong_as_double(0xfff0000000000000ULL)\n"
    ),
}
COMPILE_OPTIONS: tuple[str, ...] = ()  # the source needs no dialect beyond the default

_modules: dict[str, Any] = {}
_functions: dict[tuple[str, Any], Any] = {}


def source(dtype: Any) -> str:
    """The complete CUDA source for arrays of ``dtype`` (float32 or float64)."""
    name = np.dtype(dtype).name
    if name not in PRELUDES:
        raise TypeError(f"GPU kernels take float32 or float64 arrays, got {name}.")
    return PRELUDES[name] + SOURCE_PATH.read_text()


def kernel(name: str, dtype: Any) -> Any:
    """The compiled kernel ``name`` for ``dtype``, compiled on first use and cached."""
    key = (name, dtype)  # the dtype object as given: np.dtype(...).name costs ~10 us a call
    function = _functions.get(key)
    if function is None:
        dtype_name = np.dtype(dtype).name
        module = _modules.get(dtype_name)
        if module is None:
            cupy = backend.cupy_module()
            module = cupy.RawModule(code=source(dtype), options=COMPILE_OPTIONS)
            _modules[dtype_name] = module
        function = _functions[key] = module.get_function(name)
    return function


def _launch(name: str, dtype: Any, total: int, *args: Any) -> None:
    if total <= 0:
        return
    if total > MAX_ELEMENTS:
        raise ValueError(f"{name}: {total} elements is too many for one launch.")
    blocks = min(math.ceil(total / BLOCK), MAX_BLOCKS)
    kernel(name, dtype)((blocks,), (BLOCK,), args)


def _i(*values: int) -> list[np.int32]:
    return [np.int32(v) for v in values]


def _checked(*arrays: Any) -> None:
    """A kernel reads raw memory: a strided array, or a float array of another type than the
    others, would be read wrong without any error, so both are refused."""
    floats = {a.dtype for a in arrays if a.dtype.kind == "f"}
    if len(floats) > 1:
        names = ", ".join(sorted(d.name for d in floats))
        raise TypeError(f"GPU kernels take arrays of one float type, got {names}.")
    for a in arrays:
        if not a.flags.c_contiguous:
            raise ValueError("GPU kernels need C-contiguous arrays.")


def _launch_over_batch(
    name: str, inputs: tuple[Any, ...], geometry: tuple[int, ...], outputs: tuple[Any, ...]
) -> None:
    """Launch ``name`` with one thread per element of ``outputs[0]``, in slices of the batch
    small enough for the kernels' int indices; the batch size leads the geometry arguments."""
    arrays = (*inputs, *outputs)
    _checked(*arrays)
    n = outputs[0].shape[0]
    per_sample = outputs[0].size // max(n, 1)
    largest = max(a.size // max(n, 1) for a in arrays)
    step = max(1, MAX_ELEMENTS // max(1, largest))
    if step >= n:  # the usual case: one launch, and no slicing (a view costs microseconds)
        _launch(name, inputs[0].dtype, outputs[0].size, *inputs, *_i(n, *geometry), *outputs)
        return
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        _launch(
            name,
            inputs[0].dtype,
            (hi - lo) * per_sample,
            *(a[lo:hi] for a in inputs),
            *_i(hi - lo, *geometry),
            *(a[lo:hi] for a in outputs),
        )


def im2col(
    x: Any,
    kh: Any,
    kw: Any,
    sh: Any,
    sw: Any,
    pad_top: Any,
    pad_left: Any,
    out_h: Any,
    out_w: Any,
    cols: Any,
) -> Any:
    """cols[n, i, j, p, q, c] = x[n, i*sh - pad_top + p, j*sw - pad_left + q, c], 0 outside x."""
    _, h, w, c = x.shape
    geometry = (h, w, c, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w)
    _launch_over_batch("im2col", (x,), geometry, (cols,))
    return cols


def col2im(dcols: Any, sh: Any, sw: Any, pad_top: Any, pad_left: Any, dx: Any) -> Any:
    """The adjoint of im2col, as a gather: each dx pixel sums the window taps that read it."""
    _, out_h, out_w, kh, kw, c = dcols.shape
    geometry = (out_h, out_w, kh, kw, c, sh, sw, pad_top, pad_left, dx.shape[1], dx.shape[2])
    _launch_over_batch("col2im", (dcols,), geometry, (dx,))
    return dx


def im2col3d(x: Any, window: Any, strides: Any, pads: Any, out_shape: Any, cols: Any) -> Any:
    """im2col over volumes: cols (n, od, oh, ow, kd, kh, kw, c) from x (n, d, h, w, c)."""
    _, d, h, w, c = x.shape
    geometry = (d, h, w, c, *window, *strides, *pads, *out_shape)
    _launch_over_batch("im2col3d", (x,), geometry, (cols,))
    return cols


def col2im3d(dcols: Any, strides: Any, pads: Any, dx: Any) -> Any:
    """The adjoint of im2col3d, as a gather: each dx voxel sums the window taps that read it."""
    out_d, out_h, out_w, kd, kh, kw, c = dcols.shape[1:]
    geometry = (out_d, out_h, out_w, kd, kh, kw, c, *strides, *pads, *dx.shape[1:4])
    _launch_over_batch("col2im3d", (dcols,), geometry, (dx,))
    return dx


def max_pool_forward(
    x: Any, ph: Any, pw: Any, sh: Any, sw: Any, pad_top: Any, pad_left: Any, out: Any, argmax: Any
) -> Any:
    """Max over each window; pixels outside x count as -inf. argmax holds h*W + w of the winner."""
    _, h, w, c = x.shape
    geometry = (h, w, c, ph, pw, sh, sw, pad_top, pad_left, out.shape[1], out.shape[2])
    _launch_over_batch("max_pool_forward", (x,), geometry, (out, argmax))
    return out, argmax


def max_pool_backward(
    dout: Any, argmax: Any, ph: Any, pw: Any, sh: Any, sw: Any, pad_top: Any, pad_left: Any, dx: Any
) -> Any:
    """Each input pixel gathers the gradients of the windows it won."""
    _, out_h, out_w, c = dout.shape
    geometry = (out_h, out_w, c, ph, pw, sh, sw, pad_top, pad_left, dx.shape[1], dx.shape[2])
    _launch_over_batch("max_pool_backward", (dout, argmax), geometry, (dx,))
    return dx


def bias_relu(out: Any, bias: Any) -> Any:
    """out = relu(out + bias) in place on a 2-D array; NaN stays NaN."""
    _checked(out, bias)
    m, f = out.shape
    _launch("bias_relu", out.dtype, m * f, out, bias, *_i(m, f))
    return out


def relu_backward(grad: Any, y: Any, out: Any) -> Any:
    """out = grad where the ReLU's output y was positive, else 0."""
    _checked(grad, y, out)
    _launch("relu_backward", grad.dtype, grad.size, grad, y, np.int32(grad.size), out)
    return out


def gelu_forward(x: Any, y: Any) -> Any:
    """y = x * Phi(x), the exact GELU."""
    _checked(x, y)
    _launch("gelu_forward", x.dtype, x.size, x, np.int32(x.size), y)
    return y


def gelu_backward(x: Any, grad: Any, dx: Any) -> Any:
    """dx = grad * (Phi(x) + x * phi(x))."""
    _checked(x, grad, dx)
    _launch("gelu_backward", x.dtype, x.size, x, grad, np.int32(x.size), dx)
    return dx


def erf(x: Any, y: Any) -> Any:
    """y = erf(x), elementwise."""
    _checked(x, y)
    _launch("erf_forward", x.dtype, x.size, x, np.int32(x.size), y)
    return y


def erfc(x: Any, y: Any) -> Any:
    """y = erfc(x) = 1 - erf(x), elementwise, without the cancellation of 1 - erf."""
    _checked(x, y)
    _launch("erfc_forward", x.dtype, x.size, x, np.int32(x.size), y)
    return y


def dropout_mask(seed: Any, threshold: Any, scale: Any, mask: Any) -> Any:
    """mask = scale where hash(seed, index) >> 8 >= threshold, else 0; the CPU draws the same.
    ``seed`` is a number, or a 0-d uint32 device array (``backend.step_scalar`` in a captured
    step) that the kernel reads when it runs."""
    _checked(mask)
    scale = mask.dtype.type(scale)
    flat = mask.reshape(-1)
    name, seed = _scalar_or_pointer("dropout_mask", seed, np.uint32)
    args = (seed, np.uint32(threshold), scale, np.int32(mask.size), flat)
    _launch(name, mask.dtype, mask.size, *args)
    return mask


def _scalar_or_pointer(name: str, value: Any, dtype: Any) -> tuple[str, Any]:
    """The kernel that takes ``value`` by value, or its ``_at`` twin that reads it from a 0-d
    device array of ``dtype``."""
    if backend.is_device_array(value):
        if value.dtype != dtype or value.size != 1:
            raise TypeError(f"{name}: a device scalar must be one {np.dtype(dtype).name}.")
        return f"{name}_at", value
    return name, np.dtype(dtype).type(value)


def softmax_cross_entropy(logits: Any, labels: Any, probs: Any, row_loss: Any) -> Any:
    """probs = softmax(logits) per row and row_loss = -log probs[label], in one pass."""
    _checked(logits, labels, probs, row_loss)
    if labels.dtype != np.int64:
        raise TypeError(f"labels must be int64 on the GPU, got {labels.dtype}.")
    n, k = logits.shape
    _launch("softmax_cross_entropy", logits.dtype, n, logits, labels, *_i(n, k), probs, row_loss)
    return probs, row_loss


def softmax_cross_entropy_backward(probs: Any, labels: Any, grad: Any, d: Any) -> Any:
    """d = (probs - onehot(labels)) * grad / n, reading the 0-d ``grad`` on the device."""
    _checked(probs, labels, d)
    n, k = probs.shape
    grad = backend.contiguous(grad, probs.dtype).reshape(1)
    args = (probs, labels, grad, *_i(n, k), d)
    _launch("softmax_cross_entropy_backward", probs.dtype, n * k, *args)
    return d


def adam_update(
    value: Any, grad: Any, m: Any, v: Any, beta_1: Any, beta_2: Any, epsilon: Any, alpha: Any
) -> Any:
    """One Keras-form Adam step on one parameter, in place, in a single launch; ``alpha`` may
    be a 0-d device array (a captured step's ``backend.step_scalar``)."""
    _checked(value, grad, m, v)
    cast = value.dtype.type
    args = (value, grad, m, v, np.int32(value.size))
    name, alpha = _scalar_or_pointer("adam_update", alpha, value.dtype)
    scalars = (cast(beta_1), cast(beta_2), cast(epsilon), alpha)
    _launch(name, value.dtype, value.size, *args, *scalars)
    return value


GEMM_TILE = 4  # as in cuda_source.cu
GEMM_THREADS = 1 << 16  # enough threads to fill a GPU; split k until a product has them
GEMM_MIN_CHUNK = 64


def _gemm_operand(x: Any) -> tuple[Any, int, int]:
    """A 2-D operand as (array in memory, transposed flag, leading dimension)."""
    if x.flags.c_contiguous:
        return x, 0, x.shape[1]
    if x.T.flags.c_contiguous:
        return x.T, 1, x.shape[0]
    x = backend.contiguous(x)
    return x, 0, x.shape[1]


def gemm(a: Any, b: Any, out: Any = None) -> Any:
    """a @ b for 2-D arrays (transposed views welcome) by minicnn's own kernel: the GEMM of a
    step captured in a CUDA graph, where CuPy does not call cuBLAS."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"gemm: shapes {a.shape} and {b.shape} do not multiply.")
    xp = backend.get_array_module(a)
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = xp.empty((m, n), dtype=a.dtype)
    if m == 0 or n == 0:
        return out
    if k == 0:
        out[...] = 0
        return out
    a_mem, ta, lda = _gemm_operand(a)
    b_mem, tb, ldb = _gemm_operand(b)
    _checked(a_mem, b_mem, out)
    tiles = math.ceil(m / GEMM_TILE) * math.ceil(n / GEMM_TILE)
    splits = max(1, min(math.ceil(GEMM_THREADS / tiles), k // GEMM_MIN_CHUNK))
    chunk = math.ceil(k / splits)
    splits = math.ceil(k / chunk)
    partial = out if splits == 1 else xp.empty((splits, m, n), dtype=out.dtype)
    args = (a_mem, b_mem, *_i(m, n, k, lda, ldb, ta, tb, splits, chunk), partial)
    _launch("gemm", a.dtype, splits * tiles, *args)
    if splits > 1:
        partial.sum(axis=0, out=out)
    return out
