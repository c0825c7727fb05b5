"""Numba CPU kernels for the loops NumPy cannot express without copies: im2col, col2im, pooling,
and the augmentation layers' affine warp.

All arrays are NHWC. Every kernel runs ``prange`` over the batch, and each batch row is written by
exactly one thread, so there are no races and results do not depend on the thread count.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit, prange

# These kernels run between BLAS calls and are memory-bound. On a small machine their threads
# only fight OpenBLAS's for the cores (a base training step on 2 cores: ~120 ms with one thread,
# up to ~280 ms with two), so they use one thread unless MINICNN_KERNEL_THREADS says otherwise.
KERNEL_THREADS = max(1, int(os.environ.get("MINICNN_KERNEL_THREADS", "1")))
# One thread needs no parallel compile, which is what makes a cold start slow (~19 s against
# ~5 s); prange then runs as a plain loop.
PARALLEL = KERNEL_THREADS > 1


def _with_threads(kernel: Callable[..., Any]) -> Callable[..., Any]:
    """Run a parallel kernel on at most KERNEL_THREADS threads (and never more than the caller's
    Numba setting, which a worker process may have lowered)."""
    if not PARALLEL:
        return kernel  # compiled serial: there is no thread count to set

    @functools.wraps(kernel)
    def run(*args: Any) -> Any:
        previous = numba.get_num_threads()
        threads = min(KERNEL_THREADS, previous)
        if threads == previous:
            return kernel(*args)
        numba.set_num_threads(threads)
        try:
            return kernel(*args)
        finally:
            numba.set_num_threads(previous)

    return run


@njit(parallel=PARALLEL, cache=True)
def _im2col(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, cols):  # pragma: no cover
    """cols[n, i, j, p, q, c] = x[n, i*sh - pad_top + p, j*sw - pad_left + q, c], 0 outside x."""
    n, h, w, c = x.shape
    # The loops run in the order of cols' axes, so that its writes are sequential: the
    # stores, not the loads, bound this copy (twice as fast as taking the window's rows
    # outermost).
    for b in prange(n):
        for i in range(out_h):
            for j in range(out_w):
                for p in range(kh):
                    hi = i * sh - pad_top + p
                    row_inside = 0 <= hi < h
                    for q in range(kw):
                        wi = j * sw - pad_left + q
                        if row_inside and 0 <= wi < w:
                            for ch in range(c):
                                cols[b, i, j, p, q, ch] = x[b, hi, wi, ch]
                        else:
                            for ch in range(c):
                                cols[b, i, j, p, q, ch] = 0.0
    return cols


@njit(parallel=PARALLEL, cache=True)
def _col2im(dcols, sh, sw, pad_top, pad_left, dx):  # pragma: no cover
    """The adjoint of im2col, as a gather: each dx pixel sums the window taps that read it."""
    n, out_h, out_w, kh, kw, c = dcols.shape
    h, w = dx.shape[1], dx.shape[2]
    for b in prange(n):
        for y in range(h):
            for xx in range(w):
                for ch in range(c):
                    dx[b, y, xx, ch] = 0.0
                for p in range(kh):
                    t = y + pad_top - p
                    if t < 0 or t % sh != 0:
                        continue
                    i = t // sh
                    if i >= out_h:
                        continue
                    for q in range(kw):
                        u = xx + pad_left - q
                        if u < 0 or u % sw != 0:
                            continue
                        j = u // sw
                        if j >= out_w:
                            continue
                        for ch in range(c):
                            dx[b, y, xx, ch] += dcols[b, i, j, p, q, ch]
    return dx


@njit(parallel=PARALLEL, cache=True)
def _im2col3d(x, window, strides, pads, out_shape, cols):  # pragma: no cover
    """cols[n, i, j, k, a, p, q, c] = x[n, i*sd - pf + a, j*sh - pt + p, k*sw - pl + q, c],
    0 outside x: im2col over volumes (window, strides, pads and out_shape are (d, h, w))."""
    n, d, h, w, c = x.shape
    kd, kh, kw = window
    sd, sh, sw = strides
    out_d, out_h, out_w = out_shape
    run = kw * c
    # A window row inside x is kw * c contiguous numbers of x: one copy loop, no branches.
    rows = x.reshape(n, d, h, w * c)
    out = cols.reshape(n, out_d, out_h, out_w, kd, kh, run)
    for b in prange(n):
        for i in range(out_d):
            for a in range(kd):
                di = i * sd - pads[0] + a
                depth_inside = 0 <= di < d
                for j in range(out_h):
                    for p in range(kh):
                        hi = j * sh - pads[1] + p
                        if not (depth_inside and 0 <= hi < h):
                            for k in range(out_w):
                                for e in range(run):
                                    out[b, i, j, k, a, p, e] = 0.0
                            continue
                        for k in range(out_w):
                            wi = k * sw - pads[2]
                            if 0 <= wi and wi + kw <= w:
                                start = wi * c
                                for e in range(run):
                                    out[b, i, j, k, a, p, e] = rows[b, di, hi, start + e]
                                continue
                            for q in range(kw):
                                inside = 0 <= wi + q < w
                                for ch in range(c):
                                    v = x[b, di, hi, wi + q, ch] if inside else 0.0
                                    out[b, i, j, k, a, p, q * c + ch] = v
    return cols


@njit(cache=True)
def _readers(size, pad, stride, window, out_size):  # pragma: no cover
    """Along one axis: which (tap, window) pairs read each position, as tables ``count[pos]``,
    ``tap[pos, m]`` and ``at[pos, m]`` (tap + at * stride - pad = pos)."""
    count = np.zeros(size, np.int64)
    tap = np.zeros((size, window), np.int64)
    at = np.zeros((size, window), np.int64)
    for i in range(out_size):
        for a in range(window):
            pos = i * stride - pad + a
            if 0 <= pos < size:
                m = count[pos]
                tap[pos, m], at[pos, m] = a, i
                count[pos] = m + 1
    return count, tap, at


@njit(parallel=PARALLEL, cache=True)
def _col2im3d(dcols, strides, pads, dx):  # pragma: no cover
    """The adjoint of im2col3d, as a gather: each dx voxel sums the window taps that read it,
    which per-axis tables list (no divisions in the loops)."""
    n, out_d, out_h, out_w, kd, kh, kw, c = dcols.shape
    d, h, w = dx.shape[1], dx.shape[2], dx.shape[3]
    z_count, z_tap, z_at = _readers(d, pads[0], strides[0], kd, out_d)
    y_count, y_tap, y_at = _readers(h, pads[1], strides[1], kh, out_h)
    x_count, x_tap, x_at = _readers(w, pads[2], strides[2], kw, out_w)
    # One row of taps * c numbers per window; each voxel adds c-long runs of some rows.
    windows = dcols.reshape(n * out_d * out_h * out_w, kd * kh * kw * c)
    voxels = dx.reshape(n * d * h * w, c)
    for b in prange(n):
        total = np.empty(c, dx.dtype)
        for z in range(d):
            for y in range(h):
                for xx in range(w):
                    total[:] = 0.0
                    for mz in range(z_count[z]):
                        plane = b * out_d + z_at[z, mz]
                        for my in range(y_count[y]):
                            line = plane * out_h + y_at[y, my]
                            tap_zy = z_tap[z, mz] * kh + y_tap[y, my]
                            for mx in range(x_count[xx]):
                                row = line * out_w + x_at[xx, mx]
                                start = (tap_zy * kw + x_tap[xx, mx]) * c
                                for ch in range(c):
                                    total[ch] += windows[row, start + ch]
                    voxel = ((b * d + z) * h + y) * w + xx
                    for ch in range(c):
                        voxels[voxel, ch] = total[ch]
    return dx


@njit(parallel=PARALLEL, cache=True)
def _max_pool_forward(x, ph, pw, sh, sw, pad_top, pad_left, out, argmax):  # pragma: no cover
    """Max over each window; pixels outside x count as -inf. argmax holds h*W + w of the winner.

    The first pixel of a window seeds its maximum, then the others compete channel by channel
    without branches (the loop vectorizes); the first maximum wins ties, and a NaN wins and
    stays, so that it propagates."""
    n, h, w, c = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for b in prange(n):
        for i in range(out_h):
            for j in range(out_w):
                seeded = False
                for p in range(ph):
                    hi = i * sh - pad_top + p
                    if hi < 0 or hi >= h:
                        continue
                    for q in range(pw):
                        wi = j * sw - pad_left + q
                        if wi < 0 or wi >= w:
                            continue
                        where = hi * w + wi
                        if not seeded:
                            for ch in range(c):
                                out[b, i, j, ch] = x[b, hi, wi, ch]
                                argmax[b, i, j, ch] = where
                            seeded = True
                            continue
                        for ch in range(c):
                            v = x[b, hi, wi, ch]
                            best = out[b, i, j, ch]
                            take = v > best or (v != v and best == best)
                            out[b, i, j, ch] = v if take else best
                            argmax[b, i, j, ch] = where if take else argmax[b, i, j, ch]
                if not seeded:
                    for ch in range(c):
                        out[b, i, j, ch] = -np.inf
                        argmax[b, i, j, ch] = -1
    return out, argmax


@njit(parallel=PARALLEL, cache=True)
def _max_pool_backward(dout, argmax, ph, pw, sh, sw, pad_top, pad_left, dx):  # pragma: no cover
    """Each input pixel gathers the gradients of the windows it won, as the GPU kernel does:
    every dx element is written once, in order (no zeroing pass, no scattered adds), and
    overlapping windows need nothing special."""
    n, out_h, out_w, c = dout.shape
    h, w = dx.shape[1], dx.shape[2]
    for b in prange(n):
        for y in range(h):
            top = y + pad_top - ph + 1
            i_lo = 0 if top <= 0 else (top + sh - 1) // sh
            i_hi = min(out_h - 1, (y + pad_top) // sh)
            for xx in range(w):
                left = xx + pad_left - pw + 1
                j_lo = 0 if left <= 0 else (left + sw - 1) // sw
                j_hi = min(out_w - 1, (xx + pad_left) // sw)
                me = y * w + xx
                for ch in range(c):
                    dx[b, y, xx, ch] = 0.0
                for i in range(i_lo, i_hi + 1):
                    for j in range(j_lo, j_hi + 1):
                        for ch in range(c):
                            won = argmax[b, i, j, ch] == me
                            dx[b, y, xx, ch] += dout[b, i, j, ch] if won else 0.0
    return dx


@njit(parallel=PARALLEL, cache=True)
def _bias_relu(out, bias):  # pragma: no cover
    """out = relu(out + bias) in place, rows of a 2-D array in parallel; NaN stays NaN."""
    m, f = out.shape
    for i in prange(m):
        for j in range(f):
            v = out[i, j] + bias[j]
            out[i, j] = 0.0 if v <= 0.0 else v
    return out


@njit(parallel=PARALLEL, cache=True)
def _relu_backward(grad, y, out):  # pragma: no cover
    """out = grad where the ReLU's output y was positive, else 0."""
    m, f = grad.shape
    for i in prange(m):
        for j in range(f):
            out[i, j] = grad[i, j] if y[i, j] > 0.0 else 0.0
    return out


@njit(cache=True)
def batch_norm_forward(x, gamma, beta, eps, out, mean, variance):  # pragma: no cover
    """Batch normalization of the rows of a 2-D array (rows, channels) by their own
    statistics, per channel: out = (x - mean) / sqrt(variance + eps) * gamma + beta, with
    the biased variance. Two passes over x, which is what costs (the step is bound by
    memory): the sums of x and x^2 in float64, taken from the first row's values so that
    a mean far from zero loses nothing to cancellation. Gives 1 / sqrt(variance + eps)."""
    rows, channels = x.shape
    shift = np.empty(channels, np.float64)
    for c in range(channels):
        shift[c] = x[0, c]
    sums = np.zeros(channels, np.float64)
    squares = np.zeros(channels, np.float64)
    for i in range(rows):
        for c in range(channels):
            d = x[i, c] - shift[c]
            sums[c] += d
            squares[c] += d * d
    inv_std = np.empty(channels, x.dtype)
    center = np.empty(channels, x.dtype)
    weight = np.empty(channels, x.dtype)
    offset = np.empty(channels, x.dtype)
    for c in range(channels):
        m = sums[c] / rows
        var = max(squares[c] / rows - m * m, 0.0)
        center[c] = mean[c] = shift[c] + m
        variance[c] = var
        inv_std[c] = 1.0 / np.sqrt(variance[c] + eps)
        weight[c] = gamma[c] * inv_std[c]
        offset[c] = beta[c]
    for i in range(rows):
        for c in range(channels):
            out[i, c] = (x[i, c] - center[c]) * weight[c] + offset[c]
    return inv_std


@njit(cache=True)
def batch_norm_backward(grad, x, mean, inv_std, gamma, dx, dgamma, dbeta):  # pragma: no cover
    """The gradient of ``batch_norm_forward`` through the batch statistics, the normalized
    values n = (x - mean) * inv_std made again as they are read: dbeta = sum(g), dgamma =
    sum(g * n), dx = (g - dbeta / m - n * dgamma / m) * gamma * inv_std, per channel."""
    rows, channels = grad.shape
    center = np.empty(channels, x.dtype)
    inv = np.empty(channels, x.dtype)
    for c in range(channels):
        center[c], inv[c] = mean[c], inv_std[c]
    sum_g = np.zeros(channels, np.float64)
    sum_gn = np.zeros(channels, np.float64)
    for i in range(rows):
        for c in range(channels):
            g = grad[i, c]
            sum_g[c] += g
            sum_gn[c] += g * ((x[i, c] - center[c]) * inv[c])
    mean_g = np.empty(channels, grad.dtype)
    mean_gn = np.empty(channels, grad.dtype)
    scale = np.empty(channels, grad.dtype)
    for c in range(channels):
        dbeta[c] = sum_g[c]
        dgamma[c] = sum_gn[c]
        mean_g[c] = sum_g[c] / rows
        mean_gn[c] = sum_gn[c] / rows
        scale[c] = gamma[c] * inv[c]
    for i in range(rows):
        for c in range(channels):
            n = (x[i, c] - center[c]) * inv[c]
            dx[i, c] = (grad[i, c] - mean_g[c] - n * mean_gn[c]) * scale[c]
    return dx


@njit(cache=True)
def scatter_add_rows(target, indices, values):  # pragma: no cover
    """target[indices[i]] += values[i] for each i in order (repeated indices add up): an
    embedding table's gradient. One thread, so the sums do not depend on a thread count."""
    for i in range(indices.shape[0]):
        row = indices[i]
        for j in range(values.shape[1]):
            target[row, j] += values[i, j]
    return target


@njit(cache=True)
def depthwise_forward(x, w, sh, sw, pad_top, pad_left, out):  # pragma: no cover
    """out[n, i, j, c] = sum over the window's taps (p, q) of
    x[n, i*sh - pad_top + p, j*sw - pad_left + q, c] * w[p, q, c], taps outside x left out:
    a depthwise convolution of multiplier 1, read straight from x (no im2col copy)."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[0], w.shape[1]
    oh, ow = out.shape[1], out.shape[2]
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    out[b, i, j, ch] = 0.0
                for p in range(kh):
                    y = i * sh - pad_top + p
                    if y < 0 or y >= h:
                        continue
                    for q in range(kw):
                        xx = j * sw - pad_left + q
                        if xx < 0 or xx >= wd:
                            continue
                        for ch in range(c):
                            out[b, i, j, ch] += x[b, y, xx, ch] * w[p, q, ch]
    return out


@njit(cache=True)
def depthwise_backward_input(grad, w, sh, sw, pad_top, pad_left, dx):  # pragma: no cover
    """The input gradient of ``depthwise_forward``, as a gather: each dx pixel sums the
    output gradients of the windows that read it, times the tap's weight."""
    n, h, wd, c = dx.shape
    kh, kw = w.shape[0], w.shape[1]
    oh, ow = grad.shape[1], grad.shape[2]
    for b in range(n):
        for y in range(h):
            for xx in range(wd):
                for ch in range(c):
                    dx[b, y, xx, ch] = 0.0
                for p in range(kh):
                    t = y + pad_top - p
                    if t < 0 or t % sh != 0 or t // sh >= oh:
                        continue
                    i = t // sh
                    for q in range(kw):
                        u = xx + pad_left - q
                        if u < 0 or u % sw != 0 or u // sw >= ow:
                            continue
                        j = u // sw
                        for ch in range(c):
                            dx[b, y, xx, ch] += grad[b, i, j, ch] * w[p, q, ch]
    return dx


@njit(cache=True)
def depthwise_backward_filter(x, grad, sh, sw, pad_top, pad_left, dw):  # pragma: no cover
    """The kernel gradient of ``depthwise_forward``: dw[p, q, c] sums x * grad over every
    window position that tap (p, q) reads inside x, in float64."""
    n, h, wd, c = x.shape
    kh, kw = dw.shape[0], dw.shape[1]
    oh, ow = grad.shape[1], grad.shape[2]
    total = np.zeros((kh, kw, c), np.float64)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for p in range(kh):
                    y = i * sh - pad_top + p
                    if y < 0 or y >= h:
                        continue
                    for q in range(kw):
                        xx = j * sw - pad_left + q
                        if xx < 0 or xx >= wd:
                            continue
                        for ch in range(c):
                            total[p, q, ch] += x[b, y, xx, ch] * grad[b, i, j, ch]
    for p in range(kh):
        for q in range(kw):
            for ch in range(c):
                dw[p, q, ch] = total[p, q, ch]
    return dw


_U32 = np.uint64(0xFFFFFFFF)
_MIX_1 = np.uint64(0x7FEB352D)
_MIX_2 = np.uint64(0x846CA68B)


@njit(inline="always")
def _mix32(x):  # pragma: no cover
    """lowbias32, the GPU kernels' hash, on uint64 holding 32-bit values (Numba has no wrapping
    uint32 arithmetic)."""
    x ^= x >> np.uint64(16)
    x = (x * _MIX_1) & _U32
    x ^= x >> np.uint64(15)
    x = (x * _MIX_2) & _U32
    x ^= x >> np.uint64(16)
    return x


@njit(cache=True)
def _dropout_mask(seed, threshold, scale, mask):  # pragma: no cover
    """mask = scale where hash(seed, index) >> 8 >= threshold, else 0: the GPU draws the same."""
    flat = mask.reshape(-1)
    s = np.uint64(seed)
    limit = np.uint64(threshold)
    for t in range(flat.size):
        bits = _mix32(_mix32(np.uint64(t)) ^ s)
        flat[t] = scale if (bits >> np.uint64(8)) >= limit else 0.0
    return mask


_SQRT_HALF = 0.7071067811865476  # 1/sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1/sqrt(2 pi)


@njit(parallel=PARALLEL, cache=True)
def _gelu_forward(x, y):  # pragma: no cover
    """y = x * Phi(x), Phi the standard normal CDF (the exact GELU, Keras' default)."""
    xs, ys = x.reshape(-1), y.reshape(-1)
    for t in prange(xs.size):
        v = xs[t]
        ys[t] = 0.5 * v * (1.0 + math.erf(v * _SQRT_HALF))
    return y


@njit(parallel=PARALLEL, cache=True)
def _gelu_backward(x, grad, dx):  # pragma: no cover
    """dx = grad * (Phi(x) + x * phi(x))."""
    xs, gs, ds = x.reshape(-1), grad.reshape(-1), dx.reshape(-1)
    for t in prange(xs.size):
        v = xs[t]
        cdf = 0.5 * (1.0 + math.erf(v * _SQRT_HALF))
        ds[t] = gs[t] * (cdf + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v))
    return dx


@njit(parallel=PARALLEL, cache=True)
def _erf(x, y):  # pragma: no cover
    """y = erf(x), elementwise (NumPy has no erf)."""
    xs, ys = x.reshape(-1), y.reshape(-1)
    for t in prange(xs.size):
        ys[t] = math.erf(xs[t])
    return y


# Fill modes of the warp, as image_ops.source_index names them.
FILL_CODES = {"reflect": 0, "wrap": 1, "nearest": 2, "constant": 3, "mirror": 4}


@njit(inline="always")
def _source(index, size, mode):  # pragma: no cover
    """Where integer position ``index`` reads in an axis of ``size`` extended by ``mode``;
    -1 outside it for 'constant'."""
    if mode == 0:  # reflect: d c b a | a b c d | d c b a
        m = index % (2 * size)
        return m if m < size else 2 * size - 1 - m
    if mode == 1:  # wrap
        return index % size
    if mode == 4:  # mirror: d c b | a b c d | c b a
        if size == 1:
            return 0
        m = index % (2 * size - 2)
        return m if m < size else 2 * size - 2 - m
    if mode == 3 and (index < 0 or index >= size):
        return -1
    return min(max(index, 0), size - 1)  # nearest


@njit(parallel=PARALLEL, cache=True)
def _affine_warp(x, coefficients, projective, nearest, mode, fill, out):  # pragma: no cover
    """out[b, y, x] = x[b] read at (b0 x + b1 y + b2, a0 x + a1 y + a2) (both over c0 x + c1 y
    + 1 when ``projective``), bilinear or nearest, each coefficient row (a0 a1 a2 b0 b1 b2 c0
    c1) an image's. The arithmetic is image_ops.AffineTransform's, in its order (float64
    places, float32 sums of the four taps), so the two give the same bits."""
    n, h, w, c = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for b in prange(n):
        a0, a1, a2 = coefficients[b, 0], coefficients[b, 1], coefficients[b, 2]
        b0, b1, b2 = coefficients[b, 3], coefficients[b, 4], coefficients[b, 5]
        for yi in range(out_h):
            ys = float(yi)
            for xi in range(out_w):
                xs = float(xi)
                col = a0 * xs + a1 * ys + a2
                row = b0 * xs + b1 * ys + b2
                if projective:
                    depth = coefficients[b, 6] * xs + coefficients[b, 7] * ys + 1.0
                    col = col / depth
                    row = row / depth
                for ch in range(c):
                    out[b, yi, xi, ch] = 0.0
                if nearest:
                    r = _source(int(math.floor(row + 0.5)), h, mode)
                    q = _source(int(math.floor(col + 0.5)), w, mode)
                    for ch in range(c):
                        out[b, yi, xi, ch] = fill if r < 0 or q < 0 else x[b, r, q, ch]
                    continue
                r0, c0 = math.floor(row), math.floor(col)
                fr, fc = row - r0, col - c0
                for corner in range(4):
                    dr, dc = corner // 2, corner % 2
                    weight = (fr if dr else 1 - fr) * (fc if dc else 1 - fc)
                    r = _source(int(r0) + dr, h, mode)
                    q = _source(int(c0) + dc, w, mode)
                    share = np.float32(weight)
                    for ch in range(c):
                        value = fill if r < 0 or q < 0 else x[b, r, q, ch]
                        out[b, yi, xi, ch] += share * value
    return out


im2col = _with_threads(_im2col)


@njit(parallel=PARALLEL, cache=True)
def _erfc(x, y):  # pragma: no cover
    """y = erfc(x), elementwise: small far out, where 1 - erf(x) would be 0."""
    xs, ys = x.reshape(-1), y.reshape(-1)
    for t in prange(xs.size):
        ys[t] = math.erfc(xs[t])
    return y


col2im = _with_threads(_col2im)
im2col3d = _with_threads(_im2col3d)
col2im3d = _with_threads(_col2im3d)
max_pool_forward = _with_threads(_max_pool_forward)
max_pool_backward = _with_threads(_max_pool_backward)
bias_relu = _with_threads(_bias_relu)
relu_backward = _with_threads(_relu_backward)
gelu_forward = _with_threads(_gelu_forward)
gelu_backward = _with_threads(_gelu_backward)
erf = _with_threads(_erf)
erfc = _with_threads(_erfc)
affine_warp = _with_threads(_affine_warp)


def dropout_mask(seed: int, threshold: int, scale: float, mask: np.ndarray) -> np.ndarray:
    return _dropout_mask(seed, threshold, mask.dtype.type(scale), mask)
