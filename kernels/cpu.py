"""Numba CPU kernels for the loops NumPy cannot express without copies: im2col, col2im, pooling.

All arrays are NHWC. Every kernel runs ``prange`` over the batch, and each batch row is written by
exactly one thread, so there are no races and results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def im2col(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, cols):  # pragma: no cover
    """cols[n, i, j, p, q, c] = x[n, i*sh - pad_top + p, j*sw - pad_left + q, c], 0 outside x."""
    n, h, w, c = x.shape
    for b in prange(n):
        for i in range(out_h):
            for p in range(kh):
                hi = i * sh - pad_top + p
                row_inside = 0 <= hi < h
                for j in range(out_w):
                    for q in range(kw):
                        wi = j * sw - pad_left + q
                        if row_inside and 0 <= wi < w:
                            for ch in range(c):
                                cols[b, i, j, p, q, ch] = x[b, hi, wi, ch]
                        else:
                            for ch in range(c):
                                cols[b, i, j, p, q, ch] = 0.0
    return cols


@njit(parallel=True, cache=True)
def col2im(dcols, sh, sw, pad_top, pad_left, dx):  # pragma: no cover
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


@njit(parallel=True, cache=True)
def max_pool_forward(x, ph, pw, sh, sw, pad_top, pad_left, out, argmax):  # pragma: no cover
    """Max over each window; pixels outside x count as -inf. argmax holds h*W + w of the winner."""
    n, h, w, c = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for b in prange(n):
        for i in range(out_h):
            for j in range(out_w):
                for ch in range(c):
                    out[b, i, j, ch] = -np.inf
                    argmax[b, i, j, ch] = -1
                for p in range(ph):
                    hi = i * sh - pad_top + p
                    if hi < 0 or hi >= h:
                        continue
                    for q in range(pw):
                        wi = j * sw - pad_left + q
                        if wi < 0 or wi >= w:
                            continue
                        for ch in range(c):
                            v = x[b, hi, wi, ch]
                            # The first maximum wins ties; a NaN wins so that it propagates.
                            if argmax[b, i, j, ch] < 0 or v > out[b, i, j, ch] or v != v:
                                if out[b, i, j, ch] == out[b, i, j, ch]:
                                    out[b, i, j, ch] = v
                                    argmax[b, i, j, ch] = hi * w + wi
    return out, argmax


@njit(parallel=True, cache=True)
def max_pool_backward(dout, argmax, dx):  # pragma: no cover
    """Route each output gradient to the input pixel that won its window."""
    n, out_h, out_w, c = dout.shape
    w = dx.shape[2]
    for b in prange(n):
        dx[b] = 0.0
        for i in range(out_h):
            for j in range(out_w):
                for ch in range(c):
                    k = argmax[b, i, j, ch]
                    dx[b, k // w, k % w, ch] += dout[b, i, j, ch]
    return dx
