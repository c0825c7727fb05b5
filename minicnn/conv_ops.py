"""Depthwise convolution (on the CPU with one filter per channel, Numba kernels that read
the input in place; else by im2col and one einsum, on the same kernels as Conv2D) and the
dilated kernel that makes a dilated convolution an ordinary one."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Function, Tensor
from .functions import _kernels, _pair, image_geometry, matmul_arrays, window_geometry


def _per_channel(spec: str, a: Any, b: Any) -> Any:
    """``einsum(spec, a, b)`` for the three products of a depthwise convolution: windows
    (r, t, c), filters (t, c, m), output gradient (r, c, m). In a step that is or will be
    captured in a CUDA graph (where CuPy refuses cuBLAS, which einsum calls) they are products
    and sums instead, one multiplier m at a time (m is usually 1)."""
    xp = backend.get_array_module(a)
    if xp is np or not backend.graph_safe():
        return xp.einsum(spec, a, b)
    if spec == "rtc,tcm->rcm":  # windows, filters
        return xp.stack([(a * b[None, :, :, k]).sum(axis=1) for k in range(b.shape[2])], -1)
    if spec == "rtc,rcm->tcm":  # windows, gradient
        return xp.stack([(a * b[:, None, :, k]).sum(axis=0) for k in range(b.shape[2])], -1)
    if spec == "rcm,tcm->rtc":  # gradient, filters
        total = a[:, None, :, 0] * b[None, :, :, 0]
        for k in range(1, a.shape[2]):
            total += a[:, None, :, k] * b[None, :, :, k]
        return total
    raise ValueError(f"no graph-safe form of einsum {spec!r}")


class DepthwiseConv2D(Function):
    """Each input channel convolved with its own ``multiplier`` filters: x (N,H,W,C), kernel
    (kh,kw,C,M), bias (C*M,); output channel c*M + m is channel c's m-th filter, as in Keras."""

    def __init__(self, strides: tuple[int, int], padding: str) -> None:
        self.strides, self.padding = strides, padding

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        xp = backend.get_array_module(x)
        n, h, wd, c = x.shape
        kh, kw, cin, m = w.shape
        if cin != c:
            raise ValueError(f"depthwise_conv2d: input has {c} channels, the kernel {cin}.")
        (sh, sw), taps = self.strides, kh * kw
        oh, ow, pt, pl = image_geometry(
            "depthwise_conv2d", x.shape, (kh, kw), self.strides, self.padding
        )
        self.pads = (pt, pl)
        if xp is np and m == 1:  # Numba kernels read x in place: no 9-fold im2col copy
            return self._forward_in_place(x, w, b, (n, oh, ow, c))
        cols = xp.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
        _kernels(xp).im2col(backend.contiguous(x), kh, kw, sh, sw, pt, pl, oh, ow, cols)
        windows = cols.reshape(-1, taps, c)
        filters = w.reshape(taps, c, m).astype(x.dtype, copy=False)
        out = _per_channel("rtc,tcm->rcm", windows, filters).reshape(n, oh, ow, c * m)
        out += b.astype(x.dtype, copy=False)
        if self.recording:
            self.windows, self.filters, self.geometry = windows, filters, (x.shape, cols.shape)
        return out

    def _forward_in_place(self, x: Any, w: Any, b: Any, shape: tuple[int, ...]) -> Any:
        from .kernels import cpu

        x = backend.contiguous(x)
        kernel = backend.contiguous(w[:, :, :, 0], x.dtype)
        out = np.empty(shape, x.dtype)
        cpu.depthwise_forward(x, kernel, *self.strides, *self.pads, out)
        out += b.astype(x.dtype, copy=False)
        if self.recording:
            self.x, self.kernel = x, kernel
        return out

    def _backward_in_place(self, grad: Any) -> tuple[Any, Any, Any]:
        from .kernels import cpu

        grad = backend.contiguous(grad, self.x.dtype)
        dw = np.empty(self.kernel.shape, self.x.dtype)
        cpu.depthwise_backward_filter(self.x, grad, *self.strides, *self.pads, dw)
        dx = None
        if self.inputs[0].requires_grad:
            dx = np.empty_like(self.x)
            cpu.depthwise_backward_input(grad, self.kernel, *self.strides, *self.pads, dx)
        db = grad.reshape(-1, grad.shape[-1]).sum(axis=0)
        return dx, dw.reshape(self.inputs[1].shape), db

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        if getattr(self, "kernel", None) is not None:
            return self._backward_in_place(grad)
        xp = backend.get_array_module(grad)
        taps, c, m = self.filters.shape
        g = grad.reshape(-1, c, m)
        dw = _per_channel("rtc,rcm->tcm", self.windows, g)
        db = g.reshape(-1, c * m).sum(axis=0)
        dx = None
        if self.inputs[0].requires_grad:
            x_shape, cols_shape = self.geometry
            dwindows = _per_channel("rcm,tcm->rtc", g, self.filters)
            dx = xp.empty(x_shape, dtype=grad.dtype)
            dcols = backend.contiguous(dwindows.reshape(cols_shape))
            _kernels(xp).col2im(dcols, self.strides[0], self.strides[1], *self.pads, dx)
        return dx, dw.reshape(self.inputs[1].shape), db


def depthwise_conv2d(
    x: Any, kernel: Any, bias: Any, strides: int | tuple[int, int] = 1, padding: str = "valid"
) -> Tensor:
    return DepthwiseConv2D(_pair(strides), padding)(x, kernel, bias)


class DilateKernel(Function):
    """A kernel spread out by ``rate`` over its leading axes (one rate per spatial axis),
    zeros between its taps: a convolution with it is the dilated ("atrous") convolution with
    the original kernel."""

    def __init__(self, rate: tuple[int, ...]) -> None:
        self.rate = rate

    def _taps(self) -> tuple[slice, ...]:
        return tuple(slice(None, None, r) for r in self.rate)

    def forward(self, w: Any) -> Any:
        xp = backend.get_array_module(w)
        spans = [(k - 1) * r + 1 for k, r in zip(w.shape, self.rate, strict=False)]
        out = xp.zeros((*spans, *w.shape[len(self.rate) :]), dtype=w.dtype)
        out[self._taps()] = w
        return out

    def backward(self, grad: Any) -> Any:
        return grad[self._taps()]


def dilate_kernel(kernel: Any, rate: int | tuple[int, int]) -> Tensor:
    return DilateKernel(_pair(rate))(kernel)


class GroupKernel(Function):
    """A grouped convolution's (kh, kw, in / groups, out) kernel as the block-diagonal
    (kh, kw, in, out) kernel of an ordinary convolution: output block g reads only input
    block g, zeros elsewhere (Keras' ``groups``)."""

    def __init__(self, groups: int) -> None:
        self.groups = groups

    def _blocks(self, inputs: int, outputs: int) -> list[tuple[slice, slice]]:
        step_in, step_out = inputs // self.groups, outputs // self.groups
        return [
            (slice(g * step_in, (g + 1) * step_in), slice(g * step_out, (g + 1) * step_out))
            for g in range(self.groups)
        ]

    def forward(self, w: Any) -> Any:
        xp = backend.get_array_module(w)
        *taps, step_in, outputs = w.shape
        full = xp.zeros((*taps, step_in * self.groups, outputs), dtype=w.dtype)
        for rows, cols in self._blocks(step_in * self.groups, outputs):
            full[..., rows, cols] = w[..., :, cols]
        return full

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        blocks = self._blocks(grad.shape[-2], grad.shape[-1])
        return xp.concatenate([grad[..., rows, cols] for rows, cols in blocks], axis=-1)


def group_kernel(kernel: Any, groups: int) -> Tensor:
    return GroupKernel(groups)(kernel)


def transposed_size(
    size: int, kernel: int, stride: int, padding: str, output_padding: int | None = None
) -> int:
    """The length a transposed convolution makes of ``size``, by Keras' rule: without
    ``output_padding``, size * stride ('same') or size * stride + max(kernel - stride, 0)
    ('valid'); with it, (size - 1) * stride + kernel - 2 * pad + output_padding (pad:
    kernel // 2 for 'same', 0 for 'valid')."""
    return transposed_geometry(size, kernel, stride, padding, output_padding)[0]


def transposed_geometry(
    size: int, kernel: int, stride: int, padding: str, output_padding: int | None = None
) -> tuple[int, int]:
    """The output length and where the first window starts before it (the padding the
    adjoint convolution reads), as Keras places a transposed convolution's output."""
    if output_padding is None:
        if padding == "same":
            length = size * stride
        else:
            length = size * stride + max(kernel - stride, 0)
        return length, window_geometry(length, kernel, stride, padding)[1]
    if not 0 <= output_padding < stride:
        raise ValueError(
            f"output_padding must be in [0, strides) ({stride}), got {output_padding}."
        )
    if padding == "valid":
        return (size - 1) * stride + kernel + output_padding, 0
    length = (size - 1) * stride + kernel - 2 * (kernel // 2) + output_padding
    spread = kernel + kernel % 2 - 2 + output_padding
    return length, kernel - 1 - min(spread // 2 + spread % 2, kernel - 1)


class Conv2DTranspose(Function):
    """The transposed ("fractionally strided") convolution: the adjoint of Conv2D with the
    same kernel, made with col2im, which the forward pass of a convolution's input gradient
    is. x (N,H,W,C_in), kernel (kh,kw,C_out,C_in) as in Keras, bias (C_out,); the output is
    (H-1)*s + k high with 'valid' padding, H*s with 'same'."""

    def __init__(self, strides: tuple[int, int], padding: str, output_padding: Any = None) -> None:
        self.strides, self.padding = strides, padding
        self.output_padding = output_padding or (None, None)

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        xp = backend.get_array_module(x)
        n, h, wd, cin = x.shape
        kh, kw, cout, win = w.shape
        if win != cin:
            raise ValueError(f"conv2d_transpose: input has {cin} channels, the kernel {win}.")
        (sh, sw), (oph, opw) = self.strides, self.output_padding
        out_h, pt = transposed_geometry(h, kh, sh, self.padding, oph)
        out_w, pl = transposed_geometry(wd, kw, sw, self.padding, opw)
        matrix = w.reshape(kh * kw * cout, cin).astype(x.dtype, copy=False)
        cols = matmul_arrays(x.reshape(-1, cin), matrix.T)
        out = xp.empty((n, out_h, out_w, cout), dtype=x.dtype)
        _kernels(xp).col2im(cols.reshape(n, h, wd, kh, kw, cout), sh, sw, pt, pl, out)
        out += b.astype(x.dtype, copy=False)
        if self.recording:
            self.x, self.matrix, self.pads = x, matrix, (pt, pl)
        return out

    def backward(self, grad: Any) -> tuple[Any, Any, Any]:
        xp = backend.get_array_module(grad)
        n, h, wd, cin = self.x.shape
        kh, kw, cout, _ = self.inputs[1].shape
        (sh, sw), (pt, pl) = self.strides, self.pads
        dcols = xp.empty((n, h, wd, kh, kw, cout), dtype=grad.dtype)
        _kernels(xp).im2col(backend.contiguous(grad), kh, kw, sh, sw, pt, pl, h, wd, dcols)
        dcols = dcols.reshape(n * h * wd, kh * kw * cout)
        dx = matmul_arrays(dcols, self.matrix).reshape(self.x.shape)
        dw = matmul_arrays(dcols.T, self.x.reshape(-1, cin)).reshape(kh, kw, cout, cin)
        db = grad.reshape(-1, cout).sum(axis=0)
        return dx, dw, db


def conv2d_transpose(
    x: Any,
    kernel: Any,
    bias: Any,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    output_padding: Any = None,
) -> Tensor:
    """The adjoint of conv2d; ``output_padding`` (an int or one per axis, each below its
    stride) sets the output's size as Keras' does."""
    extra = None if output_padding is None else _pair(output_padding)
    return Conv2DTranspose(_pair(strides), padding, extra)(x, kernel, bias)
