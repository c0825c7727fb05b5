"""Keras' ``keras.ops`` neural-network functions for minicnn Tensors (its ``ops.nn``):
convolutions and pools of 1, 2 and 3 spatial axes with Keras' arguments, the activations,
the cross-entropies on values, moments and normalizations, dot-product attention, and a
few helpers (multi_hot, psnr, extract_sequences, in_top_k, segment sums). Re-exported by
``minicnn.ops``; built on the layers' own differentiable operations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import activations as act
from . import backend, conv_ops, volume_ops
from . import functions as F
from . import ops as O
from .adaptive_pooling import adaptive_average_pool, adaptive_max_pool
from .autograd import Function, Tensor
from .config import epsilon as backend_epsilon

__all__ = [
    "adaptive_average_pool",
    "adaptive_max_pool",
    "average_pool",
    "batch_normalization",
    "binary_crossentropy",
    "categorical_crossentropy",
    "celu",
    "conv",
    "conv_transpose",
    "depth_to_space",
    "depthwise_conv",
    "dot_product_attention",
    "elu",
    "erf",
    "erfc",
    "erfinv",
    "extract_sequences",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "in_top_k",
    "layer_normalization",
    "leaky_relu",
    "log_sigmoid",
    "max_pool",
    "moments",
    "multi_hot",
    "psnr",
    "relu6",
    "segment_max",
    "segment_sum",
    "selu",
    "separable_conv",
    "silu",
    "soft_shrink",
    "softsign",
    "space_to_depth",
    "sparse_categorical_crossentropy",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh_shrink",
    "threshold",
    "unfold",
    "fold",
]

relu6, elu, selu, celu, glu = act.relu6, act.elu, act.selu, act.celu, act.glu


def gelu(x: Any, approximate: bool = True) -> Tensor:
    """Keras' ``ops.gelu``: the tanh form by default (``activations.gelu``, and the layer's
    "gelu", default to the exact x Phi(x))."""
    return act.gelu(x, approximate=approximate)


leaky_relu, log_sigmoid, sparse_plus = act.leaky_relu, act.log_sigmoid, act.sparse_plus
sparsemax, squareplus, hard_tanh = act.sparsemax, act.squareplus, act.hard_tanh
hard_shrink, soft_shrink, tanh_shrink = act.hard_shrink, act.soft_shrink, act.tanh_shrink
threshold = act.threshold


sparse_sigmoid = act.get("sparse_sigmoid")  # 0 below -1, 1 above 1, (x + 1) / 2 between
silu = swish = act.get("silu")
hard_silu = hard_swish = act.get("hard_silu")
hard_sigmoid, softsign = act.get("hard_sigmoid"), act.get("softsign")


# --- convolutions and pools --------------------------------------------------------------------


def _spatial(x: Tensor, data_format: str | None, owner: str) -> int:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{owner}: data_format 'channels_last' (the default) is available.")
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{owner}: inputs of 1, 2 or 3 spatial axes, got shape {x.shape}.")
    return rank


def _tuple(value: Any, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * rank


def _as_2d(x: Tensor, rank: int) -> Tensor:
    """A (batch, steps, channels) sequence as a one-row image (batch, 1, steps, channels)."""
    return F.reshape(x, (x.shape[0], 1, *x.shape[1:])) if rank == 1 else x


def _back(out: Tensor, rank: int) -> Tensor:
    return F.reshape(out, (out.shape[0], *out.shape[2:])) if rank == 1 else out


def _lifted(
    x: Tensor, w: Tensor, strides: Any, rates: Any, rank: int
) -> tuple[Tensor, Tensor, tuple[int, ...], tuple[int, ...]]:
    """The input, kernel, strides and rates, a 1-D case as a one-row 2-D one (the kernel
    (1, k, ...), strides and rates (1, s)); ``_back`` takes the result back."""
    steps, spread = _tuple(strides, rank), _tuple(rates, rank)
    if rank != 1:
        return x, w, steps, spread
    return _as_2d(x, 1), F.reshape(w, (1, *w.shape)), (1, *steps), (1, *spread)


def conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """Keras' ops.conv: channels-last inputs of 1, 2 or 3 spatial axes by a kernel
    (*window, in_channels / groups, out_channels); groups follow from the channels."""
    x, w = O.convert_to_tensor(inputs), O.convert_to_tensor(kernel)
    rank = _spatial(x, data_format, "conv")
    image, w, steps, rates = _lifted(x, w, strides, dilation_rate, rank)
    if any(r > 1 for r in rates):
        w = conv_ops.DilateKernel(rates)(w)
    groups = x.shape[-1] // w.shape[-2]
    if groups * w.shape[-2] != x.shape[-1]:
        raise ValueError(
            f"conv: the kernel's {w.shape[-2]} input channels do not divide the inputs' "
            f"{x.shape[-1]}."
        )
    if groups > 1:
        w = conv_ops.group_kernel(w, groups)
    bias = backend.get_array_module(x.data).zeros(w.shape[-1], x.dtype)
    if rank == 3:
        return volume_ops.conv3d(image, w, bias, steps, padding)
    return _back(F.conv2d(image, w, bias, steps, padding), rank)


def depthwise_conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """Keras' ops.depthwise_conv: each channel by its own filters, kernel (*window,
    channels, depth_multiplier); 1 or 2 spatial axes."""
    x, w = O.convert_to_tensor(inputs), O.convert_to_tensor(kernel)
    rank = _spatial(x, data_format, "depthwise_conv")
    if rank == 3:
        raise ValueError("depthwise_conv: 1 or 2 spatial axes (Keras has no 3-D one either).")
    image, w, steps, rates = _lifted(x, w, strides, dilation_rate, rank)
    if any(r > 1 for r in rates):
        w = conv_ops.dilate_kernel(w, rates)
    bias = backend.get_array_module(x.data).zeros(w.shape[-2] * w.shape[-1], x.dtype)
    return _back(conv_ops.depthwise_conv2d(image, w, bias, steps, padding), rank)


def separable_conv(
    inputs: Any,
    depthwise_kernel: Any,
    pointwise_kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """A depthwise convolution, then a pointwise (1 x 1) one, as Keras' ops.separable_conv."""
    deep = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(deep, pointwise_kernel, 1, "valid", data_format)


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """Keras' ops.conv_transpose (the adjoint of conv), kernel (*window, out_channels,
    in_channels); 1, 2 or 3 spatial axes; ``output_padding`` as Keras sizes the output;
    no dilation."""
    x, w = O.convert_to_tensor(inputs), O.convert_to_tensor(kernel)
    rank = _spatial(x, data_format, "conv_transpose")
    if any(r != 1 for r in _tuple(dilation_rate, rank)):
        raise ValueError("conv_transpose: dilation_rate is not available.")
    extra = None if output_padding is None else _tuple(output_padding, rank)
    bias = backend.get_array_module(x.data).zeros(w.shape[-2], x.dtype)
    image, w, steps, _ = _lifted(x, w, strides, 1, rank)
    if rank == 3:
        return volume_ops.conv3d_transpose(image, w, bias, steps, padding, extra)
    if rank == 1 and extra is not None:
        extra = (0, extra[0])
    return _back(conv_ops.conv2d_transpose(image, w, bias, steps, padding, extra), rank)


def _pool(
    kind: str, inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: Any
) -> Tensor:
    x = O.convert_to_tensor(inputs)
    rank = _spatial(x, data_format, f"{kind}_pool")
    size = _tuple(pool_size, rank)
    steps = size if strides is None else _tuple(strides, rank)
    if rank == 3:
        pool3d = volume_ops.max_pool3d if kind == "max" else volume_ops.avg_pool3d
        return pool3d(x, size, steps, padding)
    pool2d = F.max_pool2d if kind == "max" else F.avg_pool2d
    if rank == 1:
        size, steps = (1, size[0]), (1, steps[0])
    return _back(pool2d(_as_2d(x, rank), size, steps, padding), rank)


def max_pool(
    inputs: Any,
    pool_size: Any,
    strides: Any = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    return _pool("max", inputs, pool_size, strides, padding, data_format)


def average_pool(
    inputs: Any,
    pool_size: Any,
    strides: Any = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    return _pool("average", inputs, pool_size, strides, padding, data_format)


class _Unfold(Function):
    """PyTorch's unfold on (N, C, H, W): each window's taps as a column, (N, C*kh*kw, L)."""

    def __init__(self, window: Any, dilation: Any, padding: Any, stride: Any) -> None:
        self.window, self.dilation = _tuple(window, 2), _tuple(dilation, 2)
        self.padding, self.stride = _tuple(padding, 2), _tuple(stride, 2)

    def _taps(self, height: int, width: int) -> list[tuple[slice, slice]]:
        """Each tap's strided slice of the padded image, in the columns' (i, j) order."""
        (kh, kw), (dh, dw), (sh, sw) = self.window, self.dilation, self.stride
        self.out = ((height - dh * (kh - 1) - 1) // sh + 1, (width - dw * (kw - 1) - 1) // sw + 1)
        if min(self.out) < 1:
            raise ValueError(
                f"unfold: a {kh}x{kw} window (dilation {dh}x{dw}) does not fit the padded "
                f"{height}x{width} input."
            )
        oh, ow = self.out
        return [
            (
                slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
                slice(j * dw, j * dw + (ow - 1) * sw + 1, sw),
            )
            for i in range(kh)
            for j in range(kw)
        ]

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        if x.ndim != 4:
            raise ValueError(f"unfold: input (N, C, H, W), got shape {x.shape}.")
        ph, pw = self.padding
        padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        self.padded_shape = padded.shape
        taps = [padded[:, :, rows, cols] for rows, cols in self._taps(*padded.shape[2:])]
        n, c = x.shape[:2]
        return xp.stack(taps, axis=2).reshape(n, c * len(taps), -1)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        n, c, height, width = self.padded_shape
        taps = self._taps(height, width)
        columns = grad.reshape(n, c, len(taps), *self.out)
        dx = xp.zeros(self.padded_shape, dtype=grad.dtype)
        for k, (rows, cols) in enumerate(taps):  # one vectorized add per tap: no races
            dx[:, :, rows, cols] += columns[:, :, k]
        ph, pw = self.padding
        return dx[:, :, ph : height - ph, pw : width - pw]


def unfold(
    input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:  # noqa: A002
    """Keras' ops.unfold, PyTorch's ``unfold``: the sliding windows of an (N, C, H, W) input
    as columns (N, C * kh * kw, L), channel slowest, then the window's rows and columns; zero
    ``padding`` on both sides. Differentiable (the backward adds each tap back)."""
    return _Unfold(kernel_size, dilation, padding, stride)(O.convert_to_tensor(input))


class _Fold(Function):
    """PyTorch's fold, the adjoint of unfold: each column's taps added back into an image
    (N, C, oH, oW), overlapping windows summing; its backward is unfold."""

    def __init__(self, output_size: Any, window: Any, dilation: Any, padding: Any, stride: Any):
        self.unfold = _Unfold(window, dilation, padding, stride)
        self.output_size = _tuple(output_size, 2)

    def forward(self, x: Any) -> Any:
        if x.ndim != 3:
            raise ValueError(f"fold: input (N, C * kh * kw, L), got shape {x.shape}.")
        (kh, kw), (oh, ow), (ph, pw) = self.unfold.window, self.output_size, self.unfold.padding
        n, rows, blocks = x.shape
        if rows % (kh * kw):
            raise ValueError(f"fold: {rows} rows do not divide into {kh}x{kw} windows.")
        self.unfold.padded_shape = (n, rows // (kh * kw), oh + 2 * ph, ow + 2 * pw)
        self.unfold._taps(oh + 2 * ph, ow + 2 * pw)  # the blocks the windows make
        if blocks != self.unfold.out[0] * self.unfold.out[1]:
            raise ValueError(
                f"fold: {blocks} blocks, but the windows make {self.unfold.out[0]}x"
                f"{self.unfold.out[1]} of them on a {oh}x{ow} output."
            )
        return self.unfold.backward(x)

    def backward(self, grad: Any) -> Any:
        return self.unfold.forward(grad)


def fold(
    x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """Keras' ops.fold, PyTorch's ``fold`` (col2im): the columns (N, C * kh * kw, L) that
    ``unfold`` makes, added back into (N, C, oH, oW) where their windows overlap (``padding``
    cut off again). Differentiable (the backward is unfold)."""
    return _Fold(output_size, kernel_size, dilation, padding, stride)(O.convert_to_tensor(x))


def _blocks(x: Tensor, block_size: int, data_format: str, owner: str) -> int:
    if x.ndim != 4:
        raise ValueError(f"{owner}: a 4-D input, got shape {x.shape}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{owner}: data_format 'channels_last' or 'channels_first'.")
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"{owner}: block_size must be a positive int, got {block_size!r}.")
    return int(block_size)


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Keras' ops.depth_to_space (pixel shuffle): (N, H, W, C * b * b) -> (N, H b, W b, C),
    channels in (row, column, channel) order as TensorFlow's; channels first as PyTorch's
    pixel_shuffle, (N, C b b, H, W) -> (N, C, H b, W b)."""
    x = O.convert_to_tensor(x)
    b = _blocks(x, block_size, data_format, "depth_to_space")
    depth = x.shape[3] if data_format == "channels_last" else x.shape[1]
    if depth % (b * b):
        raise ValueError(f"depth_to_space: {depth} channels do not divide by {b}**2.")
    if data_format == "channels_last":
        n, h, w, c = x.shape
        blocks = O.transpose(O.reshape(x, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5))
        return O.reshape(blocks, (n, h * b, w * b, c // (b * b)))
    n, c, h, w = x.shape
    blocks = O.transpose(O.reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return O.reshape(blocks, (n, c // (b * b), h * b, w * b))


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Keras' ops.space_to_depth, depth_to_space's inverse: (N, H b, W b, C) -> (N, H, W,
    C b b); channels first as PyTorch's pixel_unshuffle."""
    x = O.convert_to_tensor(x)
    b = _blocks(x, block_size, data_format, "space_to_depth")
    spatial = x.shape[1:3] if data_format == "channels_last" else x.shape[2:]
    if spatial[0] % b or spatial[1] % b:
        raise ValueError(
            f"space_to_depth: a {spatial[0]}x{spatial[1]} input does not divide by {b}."
        )
    if data_format == "channels_last":
        n, h, w, c = x.shape
        blocks = O.transpose(O.reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        return O.reshape(blocks, (n, h // b, w // b, c * b * b))
    n, c, h, w = x.shape
    blocks = O.transpose(O.reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
    return O.reshape(blocks, (n, c * b * b, h // b, w // b))


# --- losses on values, normalizations --------------------------------------------------------


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise, as Keras' ops.binary_crossentropy (probabilities clipped to [eps,
    1 - eps]; logits by the stable formula)."""
    t, y = (O.convert_to_tensor(v) for v in O._operands(target, output))
    if from_logits:
        return O.maximum(y, 0.0) - y * t + O.log1p(O.exp(-O.abs(y)))
    eps = backend_epsilon()
    p = O.clip(y, eps, 1 - eps)
    return -(t * O.log(p) + (1.0 - t) * O.log(1.0 - p))


def categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Per sample, as Keras' ops.categorical_crossentropy (probabilities renormalized and
    clipped; logits through log_softmax)."""
    t, y = (O.convert_to_tensor(v) for v in O._operands(target, output))
    if from_logits:
        return -O.sum(t * O.log_softmax(y, axis=axis), axis=axis)
    eps = backend_epsilon()
    p = O.clip(y / O.sum(y, axis=axis, keepdims=True), eps, 1 - eps)
    return -O.sum(t * O.log(p), axis=axis)


def sparse_categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> Tensor:
    y = O.convert_to_tensor(output)
    labels = O._data(O.convert_to_tensor(target)).astype(np.int64)
    hot = O.one_hot(labels, y.shape[axis]).data  # an array, so it goes to y's device
    return categorical_crossentropy(hot, y, from_logits, axis)


def multi_hot(inputs: Any, num_classes: int, axis: int = -1, dtype: Any = None) -> Tensor:
    """Keras' ops.multi_hot: 1 for each class a sample's ids hold (ids of rank 1: one set)."""
    ids = O._data(O.convert_to_tensor(inputs)).astype(np.int64)
    hot = O.one_hot(ids, num_classes).data
    out = hot.max(axis=1 if ids.ndim > 1 else 0)
    return Tensor(out if dtype is None else out.astype(dtype))


def moments(
    x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False
) -> tuple[Tensor, Tensor]:
    """The mean and the (biased) variance over ``axes``."""
    axes = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    mean = O.mean(x, axis=axes, keepdims=True)
    variance = O.mean(O.square(O.subtract(x, mean)), axis=axes, keepdims=keepdims)
    return (mean if keepdims else O.mean(x, axis=axes)), variance


def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    axis: int,
    offset: Any = None,
    scale: Any = None,
    epsilon: float = 1e-3,
) -> Tensor:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the 1-D statistics along
    ``axis``, as Keras' ops.batch_normalization."""
    x = O.convert_to_tensor(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def along(v: Any) -> Any:
        v = O.convert_to_tensor(v)
        return O.reshape(v, tuple(shape)) if v.ndim == 1 else v

    out = O.multiply(O.subtract(x, along(mean)), O.rsqrt(O.add(along(variance), epsilon)))
    if scale is not None:
        out = O.multiply(out, along(scale))
    return out if offset is None else O.add(out, along(offset))


def layer_normalization(
    x: Any, gamma: Any = None, beta: Any = None, axis: int = -1, epsilon: float | None = None
) -> Tensor:
    """Keras' ops.layer_normalization: each sample over ``axis`` (epsilon None: 1e-7)."""
    mean, variance = moments(x, axis, keepdims=True)
    out = O.subtract(x, mean) * O.rsqrt(
        variance + (backend_epsilon() if epsilon is None else epsilon)
    )
    if gamma is not None:
        out = O.multiply(out, gamma)
    return out if beta is None else O.add(out, beta)


def psnr(x1: Any, x2: Any, max_val: float) -> Tensor:
    """Peak signal-to-noise ratio in decibels: 20 log10(max) - 10 log10(mean squared error)."""
    mse = O.mean(O.square(O.subtract(x1, x2)))
    return 20.0 * math.log10(max_val) - 10.0 * O.log10(mse)


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    scale: float | None = None,
    is_causal: bool = False,
    flash_attention: bool | None = None,
) -> Tensor:
    """Keras' ops.dot_product_attention on (batch, steps, heads, dim) inputs: softmax(q k^T
    * scale + bias, masked) v, scale 1 / sqrt(dim) by default; ``mask`` True where a query
    may attend; ``is_causal`` masks later keys."""
    if flash_attention:
        raise ValueError("dot_product_attention: flash_attention=True is not available.")
    q, k, v = (O.transpose(O.convert_to_tensor(t), (0, 2, 1, 3)) for t in (query, key, value))
    scores = O.matmul(q, O.swapaxes(k, -1, -2)) * (
        1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    )
    if bias is not None:
        scores = O.add(scores, bias)
    xp = backend.get_array_module(scores.data)
    allowed = xp.ones(scores.shape, dtype=bool)
    if mask is not None:
        allowed = allowed & xp.asarray(O._data(O.convert_to_tensor(mask))).astype(bool)
    if is_causal:
        allowed = allowed & xp.tri(scores.shape[-2], scores.shape[-1], dtype=bool)
    scores = O.where(allowed, scores, -1e9)
    return O.transpose(O.matmul(O.softmax(scores, axis=-1), v), (0, 2, 1, 3))


# --- sequences, ranks, segments ---------------------------------------------------------------


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> Tensor:
    """The last axis cut into frames: (..., frames, sequence_length)."""
    x = O.convert_to_tensor(x)
    frames = (x.shape[-1] - sequence_length) // sequence_stride + 1
    places = np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)
    return x[..., backend.get_array_module(x.data).asarray(places)]


def in_top_k(targets: Any, predictions: Any, k: int) -> Tensor:
    """Whether each sample's target class is among its k highest predictions (ties with the
    k-th count, as TensorFlow counts them)."""
    p = O._data(O.convert_to_tensor(predictions))
    xp = backend.get_array_module(p)
    t = xp.asarray(O._data(O.convert_to_tensor(targets))).astype(np.int64)
    target_score = xp.take_along_axis(p, t[:, None], axis=1)
    return Tensor((p > target_score).sum(axis=1) < k)


def segment_sum(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> Tensor:  # noqa: A002
    """The rows of ``data`` summed by their segment id (an id outside the segments is
    dropped); differentiable."""
    data = O.convert_to_tensor(data)
    ids = O._data(O.convert_to_tensor(segment_ids)).astype(np.int64)
    xp = backend.get_array_module(data.data)
    count = int(ids.max()) + 1 if num_segments is None else num_segments
    member = (xp.asarray(ids)[None, :] == xp.arange(count)[:, None]).astype(data.dtype)
    flat = O.reshape(data, (data.shape[0], -1))
    return O.reshape(O.matmul(Tensor(member), flat), (count, *data.shape[1:]))


def segment_max(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> Tensor:  # noqa: A002
    """The rows of ``data``, max by segment id (an empty segment: the dtype's lowest)."""
    data = O.convert_to_tensor(data)
    ids = O._data(O.convert_to_tensor(segment_ids)).astype(np.int64)
    xp = backend.get_array_module(data.data)
    count = int(ids.max()) + 1 if num_segments is None else num_segments
    member = xp.asarray(ids)[None, :] == xp.arange(count)[:, None]
    member = member.reshape(count, data.shape[0], *(1,) * (data.ndim - 1))
    lowest = float(np.finfo(data.dtype).min)
    spread = O.where(xp.broadcast_to(member, (count, *data.shape)), O.expand_dims(data, 0), lowest)
    return O.max(spread, axis=1)


# --- the error function -------------------------------------------------------------------------


class _Erf(Function):
    """erf by the Numba or CUDA kernel, or with ``complement`` erfc = 1 - erf by its own
    (1 - erf(x) is 0 in float32 from x = 4, where erfc is 1.5e-8); the slope is
    +-2 / sqrt(pi) exp(-x^2)."""

    def __init__(self, complement: bool = False) -> None:
        self.complement = complement

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        x = backend.contiguous(x, x.dtype if x.dtype.kind == "f" else backend.FLOAT)
        if self.recording:
            self.x = x
        kernels = F._kernels(xp)
        return (kernels.erfc if self.complement else kernels.erf)(x, xp.empty_like(x))

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        slope = (-2.0 if self.complement else 2.0) / math.sqrt(math.pi)
        return grad * slope * xp.exp(-self.x * self.x)


def erf(x: Any) -> Tensor:
    """Keras' ops.erf, the error function (differentiable)."""
    return _Erf()(O.convert_to_tensor(x))


def erfc(x: Any) -> Tensor:
    """Keras' ops.erfc, the complementary error function 1 - erf(x) (differentiable)."""
    return _Erf(complement=True)(O.convert_to_tensor(x))


class _ErfInv(Function):
    """The inverse of erf: Winitzki's approximation, then Newton steps on erf; its slope is
    sqrt(pi) / 2 exp(y^2)."""

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        x = backend.contiguous(x, x.dtype if x.dtype.kind == "f" else backend.FLOAT)
        with np.errstate(all="ignore"):  # +-1 and beyond are set below
            y = self._inverse(xp, x)
        if self.recording:
            self.y = y
        return y

    @staticmethod
    def _inverse(xp: Any, x: Any) -> Any:
        kernels = F._kernels(xp)
        a = 0.147
        log_term = xp.log(xp.maximum(1 - x * x, xp.finfo(x.dtype).tiny))
        first = 2 / (math.pi * a) + log_term / 2
        y = xp.sign(x) * xp.sqrt(xp.sqrt(first * first - log_term / a) - first)
        for _ in range(3):  # Newton on erf(y) = x; the guess is within 2e-3
            step = (kernels.erf(y, xp.empty_like(y)) - x) / (
                (2 / math.sqrt(math.pi)) * xp.exp(-y * y)
            )
            y = y - xp.where(xp.isfinite(step), step, 0)
        y = xp.where(xp.abs(x) == 1, xp.where(x > 0, xp.inf, -xp.inf), y)
        return xp.where(xp.abs(x) > 1, xp.nan, y)

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        return grad * (math.sqrt(math.pi) / 2) * xp.exp(self.y * self.y)


def erfinv(x: Any) -> Tensor:
    """Keras' ops.erfinv: y with erf(y) = x, for x in (-1, 1) (+-inf at +-1; NaN beyond)."""
    return _ErfInv()(O.convert_to_tensor(x))
