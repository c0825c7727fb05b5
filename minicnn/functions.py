"""The differentiable operations. Each is a small ``Function`` class with a snake_case entry.

Arrays are NHWC. Every operation works in the dtype of its inputs: float32 for training, float64
for gradient checks.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from . import backend, workspace
from .autograd import Function, Tensor
from .config import epsilon as backend_epsilon


def _kernels(xp: Any) -> Any:
    """The kernel module for an array module: Numba for NumPy, CUDA for CuPy."""
    if xp is np:
        from .kernels import cpu

        return cpu
    from .kernels import cuda

    return cuda


# --- geometry -------------------------------------------------------------------------------


def window_geometry(size: int, window: int, stride: int, padding: str) -> tuple[int, int, int]:
    """Output length and (before, after) padding of a sliding window, as Keras computes them.

    'same' gives ceil(size / stride) outputs and puts the odd padding pixel after, so even windows
    work too; 'valid' uses no padding. The output length is < 1 when the window does not fit.
    """
    if padding == "valid":
        return (size - window) // stride + 1, 0, 0
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + window - size, 0)
        return out, total // 2, total - total // 2
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")


def image_geometry(
    op: str,
    x_shape: tuple[int, ...],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> tuple[int, int, int, int]:
    """(out_h, out_w, pad_top, pad_left) of a window slid over NHWC input, or an error that
    names ``op`` when the window does not fit."""
    h, w = x_shape[1], x_shape[2]
    oh, pt, _ = window_geometry(h, window[0], strides[0], padding)
    ow, pl, _ = window_geometry(w, window[1], strides[1], padding)
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: a {window[0]}x{window[1]} window does not fit a {h}x{w} input.")
    return oh, ow, pt, pl


# --- elementwise and linear algebra -----------------------------------------------------------


def _unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Add(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, grad: Any) -> tuple[Any, Any]:
        return _unbroadcast(grad, self.shapes[0]), _unbroadcast(grad, self.shapes[1])


class Mul(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: Any) -> tuple[Any, Any]:
        return (
            _unbroadcast(grad * self.b, self.a.shape),
            _unbroadcast(grad * self.a, self.b.shape),
        )


def matmul_arrays(a: Any, b: Any, out: Any = None) -> Any:
    """a @ b on raw arrays (into ``out`` if given). In a step that is, or is about to be,
    captured in a CUDA graph (``backend.graph_safe``), a GPU product goes to minicnn's own GEMM
    kernel: CuPy refuses to call cuBLAS while a stream captures."""
    xp = backend.get_array_module(a)
    if xp is not np and a.ndim == 2 and b.ndim == 2 and backend.graph_safe():
        return _kernels(xp).gemm(a, b, out)
    if out is None:
        return a @ b
    return xp.matmul(a, b, out=out)


def batched_product(a: Any, b: Any) -> Any:
    """(..., m, k) @ (..., k, n), the leading axes broadcast. In a step that a CUDA graph
    captures (no cuBLAS there), one product of minicnn's GEMM kernel per leading index."""
    xp = backend.get_array_module(a)
    if xp is np or not backend.graph_safe():
        return xp.matmul(a, b)
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = backend.contiguous(xp.broadcast_to(a, (*lead, *a.shape[-2:])), a.dtype)
    b3 = backend.contiguous(xp.broadcast_to(b, (*lead, *b.shape[-2:])), b.dtype)
    a3, b3 = a3.reshape(-1, *a.shape[-2:]), b3.reshape(-1, *b.shape[-2:])
    out = xp.empty((a3.shape[0], a3.shape[1], b3.shape[2]), dtype=a.dtype)
    for i in range(a3.shape[0]):
        matmul_arrays(a3[i], b3[i], out=out[i])
    return out.reshape(*lead, a3.shape[1], b3.shape[2])


class MatMul(Function):
    """NumPy's matmul: matrices, vectors (a 1-D operand as a row or a column, that axis then
    dropped) and stacks of matrices with broadcast leading axes."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        if a.ndim == 2 and b.ndim == 2:
            return matmul_arrays(a, b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: operands must have at least 1 axis, got {a.shape} @ {b.shape}."
            )
        if min(a.ndim, b.ndim) >= 2:
            return batched_product(a, b)
        return backend.get_array_module(a).asarray(a @ b)  # vectors' product: a 0-d array

    def backward(self, grad: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:
            return matmul_arrays(grad, b.T), matmul_arrays(a.T, grad)
        xp = backend.get_array_module(grad)
        # A vector is a one-row (a) or one-column (b) matrix whose axis the product dropped.
        matrix_a = a[None, :] if a.ndim == 1 else a
        matrix_b = b[:, None] if b.ndim == 1 else b
        lead = np.broadcast_shapes(matrix_a.shape[:-2], matrix_b.shape[:-2])
        grad = grad.reshape(*lead, matrix_a.shape[-2], matrix_b.shape[-1])
        grad_a = batched_product(grad, xp.swapaxes(matrix_b, -1, -2))
        grad_b = batched_product(xp.swapaxes(matrix_a, -1, -2), grad)
        return (
            _unbroadcast(grad_a, matrix_a.shape).reshape(a.shape),
            _unbroadcast(grad_b, matrix_b.shape).reshape(b.shape),
        )


class SumAll(Function):
    def forward(self, a: Any) -> Any:
        self.shape = a.shape
        return a.sum()

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        return xp.broadcast_to(grad, self.shape).copy()


def add(a: Any, b: Any) -> Tensor:
    return Add()(a, b)


def mul(a: Any, b: Any) -> Tensor:
    return Mul()(a, b)


def matmul(a: Any, b: Any) -> Tensor:
    return MatMul()(a, b)


def sum_all(a: Any) -> Tensor:
    return SumAll()(a)


def _add_bias(out: Any, b: Any, relu: bool) -> Any:
    """out += b, then ReLU if asked, in place on a 2-D array (one pass on the CPU); no bias
    (None): the ReLU alone, or nothing."""
    if b is None:
        if relu:
            backend.get_array_module(out).maximum(out, out.dtype.type(0), out=out)
        return out
    b = backend.contiguous(b, out.dtype)  # float32 weights on float64 input compute in float64
    if relu:
        _kernels(backend.get_array_module(out)).bias_relu(out, b)
    else:
        out += b
    return out


def _relu_grad(grad: Any, y: Any) -> Any:
    """The gradient through a ReLU whose output was y."""
    xp = backend.get_array_module(grad)
    grad = backend.contiguous(grad)
    return _kernels(xp).relu_backward(grad, y, xp.empty_like(grad))


def _bias_grad(g: Any) -> Any:
    xp = backend.get_array_module(g)
    if xp is not np:
        return g.sum(axis=0)  # one reduction kernel
    # A GEMV with a ones vector: several times faster than NumPy's g.sum(axis=0) on tall, thin
    # arrays.
    return xp.ones(g.shape[0], dtype=g.dtype) @ g


class Linear(Function):
    """y = x @ W + b for x of shape (N, in), W (in, out), b (out,); ReLU fused in if asked."""

    def __init__(self, relu: bool = False) -> None:
        self.relu = relu

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        out = _add_bias(matmul_arrays(x, w), b, self.relu)
        if self.recording:
            self.x, self.w = x, w
            self.y = out if self.relu else None
        return out

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        if self.relu:
            grad = _relu_grad(grad, self.y)
        dx = matmul_arrays(grad, self.w.T) if self.inputs[0].requires_grad else None
        return dx, matmul_arrays(self.x.T, grad), _bias_grad(grad)


def linear(x: Any, w: Any, b: Any, relu: bool = False) -> Tensor:
    """x @ w + b, and relu() of it when ``relu`` (fused: one pass, one saved array)."""
    return Linear(relu)(x, w, b)


class ReLU(Function):
    def forward(self, x: Any) -> Any:
        y = backend.get_array_module(x).maximum(x, x.dtype.type(0))
        if self.recording:
            self.y = y  # the gradient passes where y > 0 (x > 0)
        return y

    def backward(self, grad: Any) -> Any:
        if grad.ndim == 0:
            return grad * (self.y > 0)
        rows = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        return _relu_grad(rows, self.y.reshape(rows.shape)).reshape(grad.shape)


def relu(x: Any) -> Tensor:
    return ReLU()(x)


class Sigmoid(Function):
    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        # 1 / (1 + e^-x) written through tanh, which never overflows for large |x|.
        self.y = xp.tanh(x * 0.5)
        self.y += 1
        self.y *= 0.5
        return self.y

    def backward(self, grad: Any) -> Any:
        return grad * self.y * (1 - self.y)


def sigmoid(x: Any) -> Tensor:
    return Sigmoid()(x)


class Tanh(Function):
    def forward(self, x: Any) -> Any:
        self.y = backend.get_array_module(x).tanh(x)
        return self.y

    def backward(self, grad: Any) -> Any:
        return grad * (1 - self.y * self.y)


def tanh(x: Any) -> Tensor:
    return Tanh()(x)


class Softmax(Function):
    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        e = xp.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, grad: Any) -> Any:
        y = self.y
        return y * (grad - (grad * y).sum(axis=-1, keepdims=True))


def softmax(x: Any) -> Tensor:
    return Softmax()(x)


class Dropout(Function):
    """Inverted dropout: kept units are scaled by 1/(1-rate), so inference needs no change."""

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def forward(self, x: Any) -> Any:
        return x * self.mask

    def backward(self, grad: Any) -> Any:
        return grad * self.mask


DROPOUT_BITS = 24  # a unit is kept when 24 bits of its hash reach rate * 2**24


def dropout_mask(
    shape: tuple[int, ...],
    rate: float,
    dtype: Any,
    xp: Any = np,
    generator: np.random.Generator | None = None,
) -> Any:
    """A mask of 0 and 1/(1-rate) that drops a fraction ``rate`` of the units.

    The mask is a hash of (seed, position) made where it is used, so a GPU draws it without a
    transfer, and CPU and GPU draw the same mask; the seed comes from ``generator`` (a layer's
    own, made from its ``seed``) or minicnn's.
    """
    seed = backend.step_scalar(functools.partial(draw_seed, generator), np.uint32)
    threshold = math.ceil(rate * 2**DROPOUT_BITS)
    mask = xp.empty(shape, dtype=dtype)
    if xp is np:
        seed = int(seed)  # the Numba kernel is compiled for a Python int
    return _kernels(xp).dropout_mask(seed, threshold, 1.0 / (1.0 - rate), mask)


def draw_seed(generator: np.random.Generator | None = None) -> int:
    """A 32-bit seed from ``generator`` (minicnn's own by default)."""
    return int((generator or backend.rng()).integers(0, 2**32))


def dropout(
    x: Any,
    rate: float,
    training: bool = True,
    mask: Any = None,
    noise_shape: tuple[int, ...] | None = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Drop a fraction ``rate`` of ``x`` in training, else pass it; ``mask`` fixes the draw.
    ``noise_shape`` (Keras') is the shape of the mask, broadcast over ``x``: a 1 drops the
    same units along that axis."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"Dropout rate must be in [0, 1), got {rate}.")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if not training or rate == 0.0:
        return x
    if mask is None:
        shape = x.shape if noise_shape is None else noise_shape
        mask = dropout_mask(shape, rate, x.dtype, backend.get_array_module(x.data), generator)
    return Dropout(mask)(x)


class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad: Any) -> Any:
        return grad.reshape(self.in_shape)


def reshape(x: Any, shape: tuple[int, ...]) -> Tensor:
    return Reshape(shape)(x)


def flatten(x: Any) -> Tensor:
    """(N, ...) -> (N, prod(...))."""
    n = x.shape[0]
    return Reshape((n, -1))(x)


# --- convolution and pooling -----------------------------------------------------------------


def _convolution_route(channels: int, filters: int) -> bool:
    """Whether a stride-1 convolution's input gradient on the CPU is better made as a
    convolution of the output gradient than by col2im. Narrow inputs make col2im's gather
    slow (a 16-channel 3x3 'same' layer: 33 ms a backward pass against 20), from 64 channels
    on it is not; and the route's im2col holds a column per filter, so it loses where the
    filters far outnumber the channels (1 to 16 channels in 3-D: 118 ms against 33)."""
    return channels < 64 and filters <= 2 * channels


class Conv2D(Function):
    """2-D cross-correlation by im2col + one GEMM. x (N,H,W,C), kernel (kh,kw,C,F), bias (F,).

    With ``relu`` the bias and the ReLU are applied in one pass over the GEMM's output.
    """

    def __init__(
        self, strides: tuple[int, int] = (1, 1), padding: str = "valid", relu: bool = False
    ) -> None:
        self.strides = strides
        self.padding = padding
        self.relu = relu

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        xp = backend.get_array_module(x)
        n, h, wd, c = x.shape
        kh, kw, cin, f = w.shape
        if cin != c:
            raise ValueError(f"conv2d: input has {c} channels but the kernel expects {cin}.")
        sh, sw = self.strides
        oh, ow, pt, pl = image_geometry("conv2d", x.shape, (kh, kw), self.strides, self.padding)
        # A 1x1 window at stride 1 reads each pixel once: x's rows are im2col's matrix.
        self.pointwise = kh == kw == 1 and self.strides == (1, 1)
        if self.pointwise:
            cols = backend.contiguous(x).reshape(n * h * wd, c)
        else:
            cols = workspace.take(xp, (n * oh * ow, kh * kw * c), x.dtype)
            windows = cols.reshape(n, oh, ow, kh, kw, c)
            _kernels(xp).im2col(backend.contiguous(x), kh, kw, sh, sw, pt, pl, oh, ow, windows)
        out = _add_bias(matmul_arrays(cols, w.reshape(kh * kw * c, f)), b, self.relu)
        if self.recording:
            self.cols, self.w = cols, w
            self.y = out if self.relu else None
            self.geometry = (x.shape, (n, oh, ow, kh, kw, c), pt, pl)
        elif not self.pointwise:
            workspace.give(cols)
        return out.reshape(n, oh, ow, f)

    def backward(self, grad: Any) -> tuple[Any, ...]:
        """(dx, dw, db), or (dx, dw) for a convolution without a bias."""
        return self._gradients(grad)[: len(self.inputs)]

    def _gradients(self, grad: Any) -> tuple[Any, Any, Any]:
        xp = backend.get_array_module(grad)
        x_shape, cols_shape, pt, pl = self.geometry
        f = self.w.shape[3]
        g = grad.reshape(-1, f)
        if self.relu:
            g = _relu_grad(g, self.y)
        dw = matmul_arrays(self.cols.T, g).reshape(self.w.shape)
        if not self.pointwise:
            workspace.give(self.cols)
        self.cols = None
        db = _bias_grad(g) if len(self.inputs) > 2 else None
        dx = None
        if self.pointwise and self.inputs[0].requires_grad:
            dx = matmul_arrays(g, self.w.reshape(-1, f).T).reshape(x_shape)
            return dx, dw, db
        route = xp is np and self.strides == (1, 1) and _convolution_route(x_shape[3], f)
        if self.inputs[0].requires_grad and route:
            dx = self._input_grad_by_convolution(xp, g, x_shape, cols_shape, pt, pl)
        elif self.inputs[0].requires_grad:
            dcols = workspace.take(xp, (g.shape[0], math.prod(cols_shape[3:])), g.dtype)
            matmul_arrays(g, self.w.reshape(-1, f).T, out=dcols)
            dx = xp.empty(x_shape, dtype=grad.dtype)
            _kernels(xp).col2im(
                dcols.reshape(cols_shape), self.strides[0], self.strides[1], pt, pl, dx
            )
            workspace.give(dcols)
        return dx, dw, db

    def _input_grad_by_convolution(
        self, xp: Any, g: Any, x_shape: Any, cols_shape: Any, pt: int, pl: int
    ) -> Any:
        """dx of a stride-1 convolution as a convolution itself: the output gradient,
        padded by the window less the forward padding, slid under the kernel turned by 180
        degrees with its channel axes swapped. The same GEMM work as col2im's route, but
        its memory pass is an im2col, which streams its writes, where col2im gathers
        every pixel's taps from rows far apart."""
        n, h, w, c = x_shape
        _, oh, ow, kh, kw, _ = cols_shape
        f = self.w.shape[3]
        cols = workspace.take(xp, (n * h * w, kh * kw * f), g.dtype)
        windows = cols.reshape(n, h, w, kh, kw, f)
        grad = backend.contiguous(g.reshape(n, oh, ow, f))
        _kernels(xp).im2col(grad, kh, kw, 1, 1, kh - 1 - pt, kw - 1 - pl, h, w, windows)
        turned = self.w[::-1, ::-1].transpose(0, 1, 3, 2).reshape(kh * kw * f, c)
        dx = matmul_arrays(cols, backend.contiguous(turned, g.dtype))
        workspace.give(cols)
        return dx.reshape(x_shape)


def conv2d(
    x: Any,
    kernel: Any,
    bias: Any,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    relu: bool = False,
) -> Tensor:
    """Conv2D on NHWC input with a (kh, kw, in, out) kernel, Keras' layout and padding rules;
    ``relu`` fuses the activation into the bias pass. ``bias`` None: none is added (a pass
    over the output and the bias gradient's reduction saved)."""
    operation = Conv2D(_pair(strides), padding, relu)
    return operation(x, kernel) if bias is None else operation(x, kernel, bias)


class _Pool2D(Function):
    """A pool_size window slid by strides over each channel of NHWC input."""

    name = ""

    def __init__(self, pool_size: tuple[int, int], strides: tuple[int, int], padding: str) -> None:
        self.pool_size = pool_size
        self.strides = strides
        self.padding = padding

    def _geometry(self, x: Any) -> tuple[int, int, int, int]:
        """(out_h, out_w, pad_top, pad_left), or a clear error when the window does not fit."""
        oh, ow, pt, pl = image_geometry(
            self.name, x.shape, self.pool_size, self.strides, self.padding
        )
        self.x_shape, self.pads = x.shape, (pt, pl)
        return oh, ow, pt, pl

    @classmethod
    def apply(
        cls,
        x: Any,
        pool_size: int | tuple[int, int],
        strides: int | tuple[int, int] | None,
        padding: str,
    ) -> Tensor:
        """The public entry: strides default to the window, as in Keras."""
        pool = _pair(pool_size)
        return cls(pool, _pair(strides) if strides is not None else pool, padding)(x)


class MaxPool2D(_Pool2D):
    """Max pooling that remembers the winner of each window for backward."""

    name = "max_pool2d"

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        oh, ow, pt, pl = self._geometry(x)
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        out = xp.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
        argmax = xp.empty(out.shape, dtype=np.int32)
        _kernels(xp).max_pool_forward(backend.contiguous(x), ph, pw, sh, sw, pt, pl, out, argmax)
        self.argmax = argmax
        return out

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        dx = xp.empty(self.x_shape, dtype=grad.dtype)
        (ph, pw), (sh, sw), (pt, pl) = self.pool_size, self.strides, self.pads
        grad = backend.contiguous(grad)
        _kernels(xp).max_pool_backward(grad, self.argmax, ph, pw, sh, sw, pt, pl, dx)
        return dx


def max_pool2d(
    x: Any,
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
) -> Tensor:
    return MaxPool2D.apply(x, pool_size, strides, padding)


class AvgPool2D(_Pool2D):
    """Average pooling by im2col: each window's mean over the pixels inside the input, so a
    'same' window at the border averages fewer pixels (as Keras does) rather than zeros."""

    name = "avg_pool2d"

    def _counts(self, xp: Any, oh: int, ow: int, pt: int, pl: int) -> Any:
        """(oh, ow, 1): how many input pixels each window covers; built on the device."""
        h, w = self.x_shape[1], self.x_shape[2]
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        top = xp.arange(oh) * sh - pt
        left = xp.arange(ow) * sw - pl
        rows = xp.minimum(top + ph, h) - xp.maximum(top, 0)
        cols = xp.minimum(left + pw, w) - xp.maximum(left, 0)
        return (rows[:, None] * cols[None, :])[:, :, None]

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        oh, ow, pt, pl = self._geometry(x)
        n, c = x.shape[0], x.shape[3]
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        self.cols_shape = (n, oh, ow, ph, pw, c)
        cols = workspace.take(xp, (n * oh * ow, ph * pw * c), x.dtype)
        windows = cols.reshape(self.cols_shape)
        _kernels(xp).im2col(backend.contiguous(x), ph, pw, sh, sw, pt, pl, oh, ow, windows)
        out = cols.reshape(n, oh, ow, ph * pw, c).sum(axis=3)
        workspace.give(cols)
        self.counts = self._counts(xp, oh, ow, pt, pl).astype(x.dtype)
        out /= self.counts
        return out

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        share = (grad / self.counts)[:, :, :, None, None, :]
        dcols = backend.contiguous(xp.broadcast_to(share, self.cols_shape))
        dx = xp.empty(self.x_shape, dtype=grad.dtype)
        _kernels(xp).col2im(dcols, self.strides[0], self.strides[1], *self.pads, dx)
        return dx


def avg_pool2d(
    x: Any,
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
) -> Tensor:
    return AvgPool2D.apply(x, pool_size, strides, padding)


def _pair(v: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


class GlobalPool2D(Function):
    """The mean or the max of each channel over all positions: (N, H, W, C) -> (N, C)."""

    def __init__(self, mode: str) -> None:
        if mode not in ("avg", "max"):
            raise ValueError(f"global pooling mode must be 'avg' or 'max', got {mode!r}.")
        self.mode = mode

    def forward(self, x: Any) -> Any:
        if x.ndim != 4:
            raise ValueError(f"global pooling needs (N, H, W, C) input, got shape {x.shape}.")
        self.x_shape = x.shape
        if self.mode == "avg":
            return x.mean(axis=(1, 2))
        out = x.max(axis=(1, 2))
        if self.recording:
            # Ties share the gradient, as TensorFlow's and PyTorch's max reductions do.
            winners = (x == out[:, None, None, :]).astype(x.dtype)
            winners /= winners.sum(axis=(1, 2), keepdims=True)
            self.winners = winners
        return out

    def backward(self, grad: Any) -> Any:
        if self.mode == "max":
            return self.winners * grad[:, None, None, :]
        xp = backend.get_array_module(grad)
        n, h, w, c = self.x_shape
        share = grad[:, None, None, :] / grad.dtype.type(h * w)
        return xp.broadcast_to(share, self.x_shape).copy()


def global_avg_pool2d(x: Any) -> Tensor:
    return GlobalPool2D("avg")(x)


def global_max_pool2d(x: Any) -> Tensor:
    return GlobalPool2D("max")(x)


# --- merging -----------------------------------------------------------------------------------


class Merge(Function):
    """An elementwise combination of inputs that broadcast to one shape: 'add', 'subtract'
    (exactly two), 'multiply', 'average', 'maximum' or 'minimum' (the gradient goes to the
    first input that holds the extreme, as TensorFlow's does)."""

    MODES = ("add", "subtract", "multiply", "average", "maximum", "minimum")

    def __init__(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"merge mode must be one of {', '.join(self.MODES)}; got {mode!r}.")
        self.mode = mode

    def forward(self, *xs: Any) -> Any:
        xp = backend.get_array_module(*xs)
        self.shapes = [x.shape for x in xs]
        shape = np.broadcast_shapes(*self.shapes)  # Keras' merge layers broadcast
        if self.mode == "subtract":
            return xs[0] - xs[1]
        if self.mode in ("maximum", "minimum"):
            stacked = xp.stack([xp.broadcast_to(x, shape) for x in xs])
            pick = xp.argmax if self.mode == "maximum" else xp.argmin
            self.winner = pick(stacked, axis=0)
            return xp.take_along_axis(stacked, self.winner[None], axis=0)[0]
        out = xp.array(xp.broadcast_to(xs[0], shape))
        for x in xs[1:]:
            if self.mode == "multiply":
                out *= x
            else:
                out += x
        if self.mode == "average":
            out /= out.dtype.type(len(xs))
        if self.mode == "multiply" and self.recording:
            self.xs = xs
        return out

    def backward(self, grad: Any) -> tuple[Any, ...]:
        grads = self._broadcast_grads(grad)
        return tuple(_unbroadcast(g, shape) for g, shape in zip(grads, self.shapes, strict=True))

    def _broadcast_grads(self, grad: Any) -> tuple[Any, ...]:
        """Each input's gradient at the output's shape."""
        n = len(self.inputs)
        if self.mode == "add":
            return (grad,) * n
        if self.mode == "subtract":
            return grad, -grad
        if self.mode == "average":
            share = grad / grad.dtype.type(n)
            return (share,) * n
        if self.mode == "multiply":
            grads = []
            for i in range(n):
                g = grad.copy()
                for j, x in enumerate(self.xs):
                    if j != i:
                        g *= x  # g has the output's shape: x broadcasts into it
                grads.append(g)
            return tuple(grads)
        return tuple(grad * (self.winner == i).astype(grad.dtype) for i in range(n))


def merge(mode: str, *xs: Any) -> Tensor:
    return Merge(mode)(*xs)


class Concatenate(Function):
    """Inputs joined along ``axis``; the gradient is cut back into their pieces."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: Any) -> Any:
        xp = backend.get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, grad: Any) -> tuple[Any, ...]:
        pieces, start = [], 0
        index: list[Any] = [slice(None)] * grad.ndim
        for size in self.sizes:
            index[self.axis] = slice(start, start + size)
            pieces.append(grad[tuple(index)])
            start += size
        return tuple(pieces)


def concatenate(xs: list[Any], axis: int = -1) -> Tensor:
    return Concatenate(axis)(*xs)


# --- padding, cropping, upsampling --------------------------------------------------------------


def _inner(borders: tuple[tuple[int, int], ...], sizes: tuple[int, ...]) -> tuple[slice, ...]:
    """The samples' part of arrays with (before, after) borders on the spatial axes 1, 2, ..."""
    return (slice(None), *(slice(a, s - b) for s, (a, b) in zip(sizes, borders, strict=True)))


class ZeroPad(Function):
    """Zeros around each image ((top, bottom), (left, right)) or volume ((front, back),
    (top, bottom), (left, right)): one pair per spatial axis after the batch axis."""

    def __init__(self, padding: tuple[tuple[int, int], ...]) -> None:
        self.padding = padding

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        rank = len(self.padding)
        spatial = x.shape[1 : rank + 1]
        sizes = tuple(s + a + b for s, (a, b) in zip(spatial, self.padding, strict=True))
        out = xp.zeros((x.shape[0], *sizes, *x.shape[rank + 1 :]), dtype=x.dtype)
        out[_inner(self.padding, sizes)] = x
        return out

    def backward(self, grad: Any) -> Any:
        return grad[_inner(self.padding, grad.shape[1 : len(self.padding) + 1])]


class Crop(Function):
    """Each image or volume without its (before, after) border pixels on each spatial axis."""

    def __init__(self, cropping: tuple[tuple[int, int], ...]) -> None:
        self.cropping = cropping

    def forward(self, x: Any) -> Any:
        return x[_inner(self.cropping, x.shape[1 : len(self.cropping) + 1])]

    def backward(self, grad: Any) -> Any:
        return ZeroPad(self.cropping).forward(grad)


class UpSample(Function):
    """Each pixel (voxel) repeated into a block of ``size`` (nearest-neighbour upsampling)."""

    def __init__(self, size: tuple[int, ...]) -> None:
        self.size = size

    def forward(self, x: Any) -> Any:
        for axis, repeats in enumerate(self.size, start=1):
            x = x.repeat(repeats, axis=axis)
        return x

    def backward(self, grad: Any) -> Any:
        blocks = [grad.shape[0]]
        for size, repeats in zip(grad.shape[1:], self.size, strict=False):
            blocks += [size // repeats, repeats]
        rank = len(self.size)
        blocks += grad.shape[rank + 1 :]
        return grad.reshape(blocks).sum(axis=tuple(range(2, 2 * rank + 1, 2)))


# --- normalization -----------------------------------------------------------------------------


class BatchNorm(Function):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, per index of ``axis``.

    Without given statistics it uses the batch's own (biased) mean and variance, keeps them in
    ``batch_mean``/``batch_variance``, and its gradient flows through them too.
    """

    def __init__(self, axis: int, epsilon: float, mean: Any = None, variance: Any = None) -> None:
        self.axis, self.epsilon = axis, epsilon
        self.mean, self.variance = mean, variance

    def _geometry(self, x: Any) -> tuple[tuple[int, ...], list[int]]:
        axis = self.axis % x.ndim
        reduce = tuple(i for i in range(x.ndim) if i != axis)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        return reduce, shape

    def _by_kernel(self, x: Any) -> bool:
        """Whether the CPU kernels do it: batch statistics over the last axis of a
        C-contiguous float array (NHWC images, tokens' features), many rows of it."""
        return (
            self.mean is None
            and isinstance(x, np.ndarray)
            and self.axis % x.ndim == x.ndim - 1
            and x.dtype in (np.float32, np.float64)
            and x.flags.c_contiguous
            and x.size >= 4096
        )

    def _forward_by_kernel(self, x: Any, gamma: Any, beta: Any) -> Any:
        from .kernels import cpu

        rows = x.reshape(-1, x.shape[-1])
        out = np.empty_like(rows)
        mean, variance = np.empty(rows.shape[1], x.dtype), np.empty(rows.shape[1], x.dtype)
        gamma = backend.contiguous(gamma, x.dtype)
        beta = backend.contiguous(beta, x.dtype)
        inv_std = cpu.batch_norm_forward(
            rows, gamma, beta, x.dtype.type(self.epsilon), out, mean, variance
        )
        self.batch_mean, self.batch_variance = mean, variance
        if self.recording:  # the backward pass makes the normalized values again from x
            self.rows, self.inv_std, self.gamma = rows, inv_std, gamma
        return out.reshape(x.shape)

    def forward(self, x: Any, gamma: Any, beta: Any) -> Any:
        xp = backend.get_array_module(x)
        if self._by_kernel(x):
            return self._forward_by_kernel(x, gamma, beta)
        reduce, shape = self._geometry(x)
        if self.mean is None:
            mean = x.mean(axis=reduce)
            centered = x - mean.reshape(shape)
            variance = (centered * centered).mean(axis=reduce)
            self.batch_mean, self.batch_variance = mean, variance
        else:
            centered = x - self.mean.astype(x.dtype).reshape(shape)
            variance = self.variance.astype(x.dtype)
        inv_std = 1 / xp.sqrt(variance + x.dtype.type(self.epsilon))
        normalized = centered * inv_std.reshape(shape)
        gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
        out = normalized * gamma.reshape(shape) + beta.reshape(shape)
        if self.recording:
            self.normalized, self.scale = normalized, gamma * inv_std
        return out

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        if getattr(self, "rows", None) is not None:  # the forward pass ran in the kernel
            from .kernels import cpu

            rows = backend.contiguous(grad.reshape(self.rows.shape), self.rows.dtype)
            channels = rows.shape[1]
            dgamma, dbeta = np.empty(channels, rows.dtype), np.empty(channels, rows.dtype)
            dx = np.empty_like(rows)
            cpu.batch_norm_backward(
                rows, self.rows, self.batch_mean, self.inv_std, self.gamma, dx, dgamma, dbeta
            )
            return dx.reshape(grad.shape), dgamma, dbeta
        reduce, shape = self._geometry(grad)
        dbeta = grad.sum(axis=reduce)
        dgamma = (grad * self.normalized).sum(axis=reduce)
        scale = self.scale.reshape(shape)
        if self.mean is not None:
            return grad * scale, dgamma, dbeta
        # Through the batch statistics as well: the mean and the variance depend on every x.
        m = grad.dtype.type(grad.size // grad.shape[self.axis % grad.ndim])
        dx = grad - (dbeta / m).reshape(shape)
        dx -= self.normalized * (dgamma / m).reshape(shape)
        dx *= scale
        return dx, dgamma, dbeta


def batch_normalization(
    x: Any,
    gamma: Any,
    beta: Any,
    moving_mean: Any,
    moving_variance: Any,
    training: bool,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    axis: int = -1,
) -> Tensor:
    """Batch normalization as Keras does it. In training, by the batch's statistics, and the
    moving ones (arrays, updated in place) move towards them: moving = moving * momentum +
    batch * (1 - momentum). Otherwise, by the moving statistics."""
    if not training:
        return BatchNorm(axis, epsilon, moving_mean, moving_variance)(x, gamma, beta)
    norm = BatchNorm(axis, epsilon)
    out = norm(x, gamma, beta)
    for moving, batch in ((moving_mean, norm.batch_mean), (moving_variance, norm.batch_variance)):
        moving *= moving.dtype.type(momentum)
        moving += moving.dtype.type(1 - momentum) * batch.astype(moving.dtype, copy=False)
    return out


# --- losses ------------------------------------------------------------------------------------


def _check_labels(labels: Any, classes: int) -> None:
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(
            f"Labels must be integers in 0..{classes - 1}; got values from {int(labels.min())} "
            f"to {int(labels.max())}."
        )


class RowLoss(Function):
    """A loss that is the mean of per-sample losses, or with ``weights`` (one per sample, as
    Keras' ``sample_weight``) the mean of weighted ones: sum(w_i * l_i) / n. Weights of shape
    (samples, positions) weight each position of outputs (samples, *positions, features)
    (a padding mask, as Keras applies it), and the rows are then positions."""

    def __init__(self, weights: Any = None) -> None:
        self.weights = weights

    def _rows(self, values: Any) -> Any:
        """The mean of each sample's values, or of each weighted position's."""
        w = self.weights
        if w is None or w.ndim == 1:
            return values.reshape(values.shape[0], -1).mean(axis=1)
        return values.reshape(*w.shape, -1).mean(axis=2)

    def _mean(self, rows: Any) -> Any:
        return rows.mean() if self.weights is None else (rows * self.weights).mean()

    def _weighted(self, d: Any) -> Any:
        """An unweighted gradient with each sample's (or position's) values scaled by its
        weight."""
        w = self.weights
        if w is None:
            return d
        if w.ndim == 1:
            return d * w.reshape((-1,) + (1,) * (d.ndim - 1)).astype(d.dtype)
        return (d.reshape(*w.shape, -1) * w[:, :, None].astype(d.dtype)).reshape(d.shape)


class SoftmaxCrossEntropy(RowLoss):
    """Mean sparse categorical cross-entropy of softmax(logits), fused so it never takes log(0).

    On a GPU one kernel makes the probabilities and the per-row losses, and one the gradient.
    """

    def forward(self, logits: Any, labels: Any) -> Any:
        xp = backend.get_array_module(logits)
        if xp is not np:
            logits = backend.contiguous(logits)
            self.probs, self.labels = xp.empty_like(logits), labels
            row_loss = xp.empty(logits.shape[0], dtype=logits.dtype)
            _kernels(xp).softmax_cross_entropy(logits, labels, self.probs, row_loss)
            return self._mean(row_loss)
        n = logits.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_sum = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_sum
        rows = xp.arange(n)
        self.probs = xp.exp(log_probs)
        self.labels = labels
        return self._mean(-log_probs[rows, labels])

    def backward(self, grad: Any) -> tuple[Any, None]:
        xp = backend.get_array_module(grad)
        if xp is not np:
            d = xp.empty_like(self.probs)
            _kernels(xp).softmax_cross_entropy_backward(self.probs, self.labels, grad, d)
            return self._weighted(d), None
        n = self.probs.shape[0]
        d = self.probs.copy()
        d[xp.arange(n), self.labels] -= 1
        d *= grad / n
        return self._weighted(d), None


def _labels_for(outputs: Any, labels: Any, classes: int, checked: bool) -> Any:
    """Labels as int64 on the outputs' device; range-checked unless the caller already did
    (a check reads the labels back, which a GPU training step must not wait for)."""
    labels = labels.data if isinstance(labels, Tensor) else labels
    data = outputs.data if isinstance(outputs, Tensor) else outputs
    xp = backend.get_array_module(data)
    labels = backend.contiguous(xp.asarray(labels, dtype=np.int64))
    if not checked:
        _check_labels(labels, classes)
    return labels


def softmax_cross_entropy(
    logits: Any, labels: Any, checked: bool = False, sample_weight: Any = None
) -> Tensor:
    """Mean cross-entropy of integer ``labels`` under softmax(``logits``); ``checked`` says the
    labels are known to be in range."""
    labels = _labels_for(logits, labels, logits.shape[1], checked)
    return SoftmaxCrossEntropy(_weights_for(logits, sample_weight))(logits, labels)


class CrossEntropyFromProbs(RowLoss):
    """Mean sparse categorical cross-entropy of given probabilities (Keras' from_logits=False):
    each row scaled to sum to 1 (as Keras scales it), its label's entry clipped to [eps,
    1 - eps], -log of it averaged over rows."""

    def forward(self, probs: Any, labels: Any) -> Any:
        xp = backend.get_array_module(probs)
        rows = xp.arange(probs.shape[0])
        self.row_sums = probs.sum(axis=1)
        self.picked = probs[rows, labels] / self.row_sums
        eps = backend_epsilon()
        self.clipped = xp.clip(self.picked, eps, 1 - eps)
        self.inside = (self.picked > eps) & (self.picked < 1 - eps)
        self.shape, self.labels = probs.shape, labels
        return self._mean(-xp.log(self.clipped))

    def backward(self, grad: Any) -> tuple[Any, None]:
        xp = backend.get_array_module(grad)
        n = self.shape[0]
        # g = dL/dq_y for q = p / s; then dL/dp_k = (g [k = y] - g q_y) / s.
        g = -(grad / n) / self.clipped * self.inside
        d = xp.empty(self.shape, dtype=self.clipped.dtype)
        d[...] = (-(g * self.picked) / self.row_sums)[:, None]
        d[xp.arange(n), self.labels] += g / self.row_sums
        return self._weighted(d), None


def cross_entropy_from_probs(
    probs: Any, labels: Any, checked: bool = False, sample_weight: Any = None
) -> Tensor:
    labels = _labels_for(probs, labels, probs.shape[1], checked)
    return CrossEntropyFromProbs(_weights_for(probs, sample_weight))(probs, labels)


# --- cross-entropy against distributions (Keras' categorical_crossentropy) ---------------------


class SoftmaxCrossEntropyDense(RowLoss):
    """Mean of -sum(t * log softmax(logits)) over rows, for target rows t (one-hot or soft);
    from log-softmax, so it never takes log(0)."""

    def forward(self, logits: Any, targets: Any) -> Any:
        xp = backend.get_array_module(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        self.probs, self.targets = xp.exp(log_probs), targets
        return self._mean(-(targets * log_probs).sum(axis=1))

    def backward(self, grad: Any) -> tuple[Any, None]:
        # d/dz of -sum(t * log softmax(z)) is softmax(z) * sum(t) - t.
        d = self.probs * self.targets.sum(axis=1, keepdims=True)
        d -= self.targets
        d *= grad / self.probs.shape[0]
        return self._weighted(d), None


class CrossEntropyFromProbsDense(RowLoss):
    """Keras' categorical cross-entropy of given probabilities: each row is scaled to sum to 1,
    clipped to [eps, 1 - eps], and -sum(t * log) is averaged over rows."""

    def forward(self, probs: Any, targets: Any) -> Any:
        xp = backend.get_array_module(probs)
        self.row_sums = probs.sum(axis=1, keepdims=True)
        self.scaled = probs / self.row_sums
        eps = backend_epsilon()
        self.clipped = xp.clip(self.scaled, eps, 1 - eps)
        self.inside = (self.scaled > eps) & (self.scaled < 1 - eps)
        self.targets = targets
        return self._mean(-(targets * xp.log(self.clipped)).sum(axis=1))

    def backward(self, grad: Any) -> tuple[Any, None]:
        # g = dL/d(scaled); scaling by the row sum s gives dL/dp_k = (g_k - sum_j g_j q_j) / s.
        g = -(grad / self.scaled.shape[0]) * self.targets / self.clipped * self.inside
        d = g - (g * self.scaled).sum(axis=1, keepdims=True)
        d /= self.row_sums
        return self._weighted(d), None


def _targets_for(outputs: Any, targets: Any) -> Any:
    """Target rows on the outputs' device, in the outputs' dtype, with the outputs' shape."""
    targets = targets.data if isinstance(targets, Tensor) else targets
    data = outputs.data if isinstance(outputs, Tensor) else outputs
    xp = backend.get_array_module(data)
    targets = backend.contiguous(xp.asarray(targets), data.dtype)
    if targets.shape != data.shape:
        raise ValueError(
            f"Targets of shape {targets.shape} do not match outputs of shape {data.shape}."
        )
    return targets


def softmax_cross_entropy_dense(logits: Any, targets: Any, sample_weight: Any = None) -> Tensor:
    """Mean cross-entropy of target distributions (rows of ``targets``) under
    softmax(``logits``)."""
    weights = _weights_for(logits, sample_weight)
    return SoftmaxCrossEntropyDense(weights)(logits, _targets_for(logits, targets))


def cross_entropy_from_probs_dense(probs: Any, targets: Any, sample_weight: Any = None) -> Tensor:
    weights = _weights_for(probs, sample_weight)
    return CrossEntropyFromProbsDense(weights)(probs, _targets_for(probs, targets))


def _weights_for(outputs: Any, sample_weight: Any) -> Any:
    """Sample weights as a flat array on the outputs' device, in their dtype (or None); a
    (samples, positions) array of weights for outputs (samples, *positions, features) stays
    one weight per position."""
    if sample_weight is None:
        return None
    data = outputs.data if isinstance(outputs, Tensor) else outputs
    xp = backend.get_array_module(data)
    weights = xp.asarray(sample_weight).astype(data.dtype, copy=False)
    positions = math.prod(data.shape[1:-1])
    if not (weights.ndim == 2 and data.ndim > 2 and weights.shape == (len(data), positions)):
        weights = weights.reshape(-1)
    if weights.shape[0] != data.shape[0]:
        raise ValueError(
            f"{weights.shape[0]} sample weights for a batch of {data.shape[0]} samples."
        )
    return weights
