"""Operations on volumes (N, D, H, W, C): the 3-D convolution, its transpose and pooling.

A convolution is one GEMM on the im2col matrix of the volume's windows (kernels ``im2col3d``
and ``col2im3d``; the adjoint is written as a gather: no atomics on a GPU, no races on the
CPU). Max and average pooling are separable: the 2-D pool of each depth slice, then a pool
over depth, whose taps read strided depth slices that never overlap within one tap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend, workspace
from .autograd import Function, Tensor
from .conv_ops import transposed_geometry
from .functions import (
    _add_bias,
    _bias_grad,
    _convolution_route,
    _kernels,
    _relu_grad,
    avg_pool2d,
    image_geometry,
    matmul_arrays,
    max_pool2d,
    reshape,
    window_geometry,
)

Triple = tuple[int, int, int]


def triple(v: int | tuple[int, int, int] | list[int]) -> Triple:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v), int(v)
    a, b, c = v
    return int(a), int(b), int(c)


class _VolumeGeometry:
    """Where a (kd, kh, kw) window slid by ``strides`` reads a volume of ``shape``: the output
    sizes and the padding before each axis (the depth padding after, too)."""

    def __init__(
        self, op: str, shape: tuple[int, ...], window: Triple, strides: Triple, padding: str
    ) -> None:
        if len(shape) != 5:
            raise ValueError(f"{op} needs (N, D, H, W, C) input, got shape {tuple(shape)}.")
        self.shape, self.window, self.strides = tuple(shape), tuple(window), tuple(strides)
        n, d, h, w, c = shape
        self.od, self.front, self.back = window_geometry(d, window[0], strides[0], padding)
        if self.od < 1:
            raise ValueError(
                f"{op}: a {'x'.join(map(str, window))} window does not fit a {d}x{h}x{w} input."
            )
        self.oh, self.ow, self.top, self.left = image_geometry(
            op, (n * d, h, w, c), window[1:], strides[1:], padding
        )

    @property
    def cols_shape(self) -> tuple[int, ...]:
        """im2col's array: one (kd, kh, kw, C) window per output voxel."""
        return (self.shape[0], self.od, self.oh, self.ow, *self.window, self.shape[4])

    def im2col(self, x: Any) -> Any:
        """The (windows, kd * kh * kw * C) matrix of every window's voxels, zeros outside x
        (a workspace array: give it back when done)."""
        xp = backend.get_array_module(x)
        shape = self.cols_shape
        cols = workspace.take(xp, (math.prod(shape[:4]), math.prod(shape[4:])), x.dtype)
        _kernels(xp).im2col3d(
            backend.contiguous(x),
            self.window,
            self.strides,
            (self.front, self.top, self.left),
            (self.od, self.oh, self.ow),
            cols.reshape(shape),
        )
        return cols

    def col2im(self, cols: Any) -> Any:
        """The adjoint of ``im2col``: each voxel sums the window entries that read it (``cols``
        is given back to the workspace)."""
        xp = backend.get_array_module(cols)
        dx = xp.empty(self.shape, dtype=cols.dtype)
        windows = backend.contiguous(cols).reshape(self.cols_shape)
        _kernels(xp).col2im3d(windows, self.strides, (self.front, self.top, self.left), dx)
        workspace.give(cols)
        return dx

    def depth_slices(self, tap: int) -> slice:
        """The depths (of the depth-padded volume) that tap ``tap`` of every window reads."""
        return slice(tap, tap + self.strides[0] * (self.od - 1) + 1, self.strides[0])

    def padded(self, x: Any, fill: float) -> Any:
        """x with its depth padding (``fill``) before and after."""
        if not (self.front or self.back):
            return x
        xp = backend.get_array_module(x)
        out = xp.full(
            (x.shape[0], x.shape[1] + self.front + self.back, *x.shape[2:]), fill, x.dtype
        )
        out[:, self.front : self.front + x.shape[1]] = x
        return out

    def unpadded(self, x: Any) -> Any:
        return x[:, self.front : self.front + self.shape[1]]


def _product(a: Any, b: Any) -> Any:
    """a @ b into a workspace array, which col2im reads and gives back: a fresh array of
    im2col's size would cost page faults on every first touch, several times the GEMM."""
    xp = backend.get_array_module(a)
    return matmul_arrays(a, b, out=workspace.take(xp, (a.shape[0], b.shape[1]), a.dtype))


class Conv3D(Function):
    """3-D cross-correlation by im2col + one GEMM: x (N,D,H,W,C), kernel (kd,kh,kw,C,F), bias
    (F,), Keras' layout and padding; with ``relu`` the activation is fused into the bias
    pass."""

    def __init__(self, strides: Triple, padding: str, relu: bool = False) -> None:
        self.strides, self.padding, self.relu = strides, padding, relu

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        if w.ndim != 5 or w.shape[3] != x.shape[-1]:
            raise ValueError(
                f"conv3d: input of shape {tuple(x.shape)} and kernel of shape {tuple(w.shape)} "
                "do not match; the kernel is (kd, kh, kw, in_channels, filters)."
            )
        geometry = _VolumeGeometry("conv3d", x.shape, w.shape[:3], self.strides, self.padding)
        cols = geometry.im2col(x)
        matrix = w.reshape(-1, w.shape[4]).astype(x.dtype, copy=False)
        out = _add_bias(matmul_arrays(cols, matrix), b, self.relu)
        if self.recording:
            self.geometry, self.cols, self.matrix = geometry, cols, matrix
            self.y = out if self.relu else None
        else:
            workspace.give(cols)
        return out.reshape(*geometry.cols_shape[:4], w.shape[4])

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        g = grad.reshape(-1, grad.shape[-1])
        if self.relu:
            g = _relu_grad(g, self.y)
        dw = matmul_arrays(self.cols.T, g).reshape(self.inputs[1].shape)
        workspace.give(self.cols)
        self.cols = None
        dx = None
        geometry = self.geometry
        narrow = isinstance(g, np.ndarray) and _convolution_route(geometry.shape[4], g.shape[1])
        if self.inputs[0].requires_grad and geometry.strides == (1, 1, 1) and narrow:
            dx = self._input_grad_by_convolution(g)
        elif self.inputs[0].requires_grad:
            dx = geometry.col2im(_product(g, self.matrix.T))
        return dx, dw, _bias_grad(g)

    def _input_grad_by_convolution(self, g: Any) -> Any:
        """dx of a stride-1 convolution on the CPU below 64 channels, as Conv2D's: the output
        gradient, padded by the window less the forward padding, slid under the kernel
        turned by 180 degrees (im2col's streaming writes, not col2im's gather)."""
        geometry = self.geometry
        n, d, h, w, c = geometry.shape
        kd, kh, kw = geometry.window
        f = g.shape[1]
        cols = workspace.take(np, (n * d * h * w, kd * kh * kw * f), g.dtype)
        grad = backend.contiguous(g.reshape(n, geometry.od, geometry.oh, geometry.ow, f))
        pads = (kd - 1 - geometry.front, kh - 1 - geometry.top, kw - 1 - geometry.left)
        _kernels(np).im2col3d(
            grad, (kd, kh, kw), (1, 1, 1), pads, (d, h, w), cols.reshape(n, d, h, w, kd, kh, kw, f)
        )
        kernel = self.matrix.reshape(kd, kh, kw, c, f)[::-1, ::-1, ::-1].transpose(0, 1, 2, 4, 3)
        dx = matmul_arrays(cols, backend.contiguous(kernel.reshape(-1, c), g.dtype))
        workspace.give(cols)
        return dx.reshape(geometry.shape)


def conv3d(
    x: Any,
    kernel: Any,
    bias: Any,
    strides: int | Triple = 1,
    padding: str = "valid",
    relu: bool = False,
) -> Tensor:
    """Conv3D on (N, D, H, W, C) input with a (kd, kh, kw, in, out) kernel."""
    return Conv3D(triple(strides), padding, relu)(x, kernel, bias)


class Conv3DTranspose(Function):
    """The adjoint of Conv3D with the same kernel, made with col2im3d: x (N,D,H,W,C_in),
    kernel (kd,kh,kw,C_out,C_in) as in Keras, bias (C_out,)."""

    def __init__(self, strides: Triple, padding: str, output_padding: Any = None) -> None:
        self.strides, self.padding = strides, padding
        self.output_padding = output_padding or (None, None, None)

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        if w.ndim != 5 or w.shape[4] != x.shape[-1]:
            raise ValueError(
                f"conv3d_transpose: input of shape {tuple(x.shape)} and kernel of shape "
                f"{tuple(w.shape)} do not match; the kernel is (kd, kh, kw, filters, "
                "in_channels)."
            )
        placed = [
            transposed_geometry(size, k, s, self.padding, p)
            for size, k, s, p in zip(
                x.shape[1:4], w.shape[:3], self.strides, self.output_padding, strict=True
            )
        ]
        shape = (x.shape[0], *(length for length, _ in placed), w.shape[3])
        geometry = _VolumeGeometry("conv3d_transpose", shape, w.shape[:3], self.strides, "same")
        # The windows are x's voxels, where Keras places them (its padding before each axis).
        geometry.od, geometry.oh, geometry.ow = x.shape[1:4]
        geometry.front, geometry.top, geometry.left = (start for _, start in placed)
        rows = x.reshape(-1, x.shape[-1])
        matrix = w.reshape(-1, w.shape[4]).astype(x.dtype, copy=False)
        out = geometry.col2im(_product(rows, matrix.T))
        out += b.astype(x.dtype, copy=False)
        if self.recording:
            self.geometry, self.rows, self.matrix = geometry, rows, matrix
        return out

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        cols = self.geometry.im2col(grad)
        dx = matmul_arrays(cols, self.matrix).reshape(self.inputs[0].shape)
        dw = matmul_arrays(cols.T, self.rows).reshape(self.inputs[1].shape)
        workspace.give(cols)
        db = grad.reshape(-1, grad.shape[-1]).sum(axis=0)
        return dx, dw, db


def conv3d_transpose(
    x: Any,
    kernel: Any,
    bias: Any,
    strides: int | Triple = 1,
    padding: str = "valid",
    output_padding: Any = None,
) -> Tensor:
    extra = None if output_padding is None else triple(output_padding)
    return Conv3DTranspose(triple(strides), padding, extra)(x, kernel, bias)


# --- pooling ---------------------------------------------------------------------------------


class DepthPool(Function):
    """Max or mean over windows along axis 1 of (N, D, ...): the depth half of a separable
    3-D pool. Max pads with -inf and keeps the winning tap of each window; the mean counts
    only the depths inside the input, as Keras' 'same' average pooling does."""

    def __init__(self, mode: str, window: int, stride: int, padding: str) -> None:
        self.mode, self.window, self.stride, self.padding = mode, window, stride, padding

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        d = x.shape[1]
        shape = (x.shape[0], d, 1, 1, 1)  # the 2-D axes are already pooled
        self.geometry = geometry = _VolumeGeometry(
            f"{self.mode}_pool3d", shape, (self.window, 1, 1), (self.stride, 1, 1), self.padding
        )
        self.x_shape = x.shape
        source = geometry.padded(x, -np.inf if self.mode == "max" else 0.0)
        taps = [source[:, geometry.depth_slices(t)] for t in range(self.window)]
        if self.mode == "max":
            # Tap by tap: the first maximum wins ties, as in the 2-D kernels.
            best = taps[0]
            winner = xp.zeros(best.shape, np.int8 if self.window < 128 else np.int32)
            for t, tap in enumerate(taps[1:], start=1):
                better = tap > best
                winner = xp.where(better, winner.dtype.type(t), winner)
                best = xp.where(better, tap, best)
            self.winner = winner
            return best if self.window > 1 else best.copy()  # never a view of the input
        out = taps[0].copy()
        for tap in taps[1:]:
            out += tap
        start = xp.arange(geometry.od) * self.stride - geometry.front
        counts = xp.minimum(start + self.window, d) - xp.maximum(start, 0)
        self.counts = counts.astype(x.dtype).reshape(-1, *(1,) * (x.ndim - 2))
        return out / self.counts

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        geometry = self.geometry
        total = xp.zeros(
            (grad.shape[0], self.x_shape[1] + geometry.front + geometry.back, *grad.shape[2:]),
            dtype=grad.dtype,
        )
        share = grad / self.counts if self.mode == "avg" else None
        for t in range(self.window):
            if self.mode == "max":
                total[:, geometry.depth_slices(t)] += xp.where(self.winner == t, grad, 0)
            else:
                total[:, geometry.depth_slices(t)] += share
        return geometry.unpadded(total)


def _pool3d(
    mode: str,
    x: Any,
    pool_size: int | Triple,
    strides: int | Triple | None,
    padding: str,
) -> Tensor:
    pool = triple(pool_size)
    steps = triple(strides) if strides is not None else pool
    _VolumeGeometry(f"{mode}_pool3d", x.shape, pool, steps, padding)  # a clear error first
    n, d, h, w, c = x.shape
    pool2d = max_pool2d if mode == "max" else avg_pool2d
    flat = pool2d(reshape(x, (n * d, h, w, c)), pool[1:], steps[1:], padding)
    per_depth = reshape(flat, (n, d, *flat.shape[1:]))
    return DepthPool(mode, pool[0], steps[0], padding)(per_depth)


def max_pool3d(
    x: Any,
    pool_size: int | Triple = 2,
    strides: int | Triple | None = None,
    padding: str = "valid",
) -> Tensor:
    """The max of each (pd, ph, pw) window of (N, D, H, W, C) input ('same' pads with -inf)."""
    return _pool3d("max", x, pool_size, strides, padding)


def avg_pool3d(
    x: Any,
    pool_size: int | Triple = 2,
    strides: int | Triple | None = None,
    padding: str = "valid",
) -> Tensor:
    """The mean of each window over the voxels inside the input."""
    return _pool3d("avg", x, pool_size, strides, padding)
