"""Adaptive pooling, as Keras' (and PyTorch's): pool each spatial axis to a fixed output size
whatever the input's. Bin ``i`` of ``out`` over an axis of ``size`` covers
``[floor(i * size / out), ceil((i + 1) * size / out))``, so neighbouring bins may share a
place. A box is a product of per-axis bins, so the pool runs one axis after another: an
average is a product with a (size, out) averaging matrix, a max a gather of each bin's places.

Keras' ops ``adaptive_average_pool`` and ``adaptive_max_pool`` and the layers
AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Function, Tensor
from .functions import matmul_arrays
from .layer_base import Layer, Shape, channels_last, positive_sizes, require_spatial


def adaptive_bins(xp: Any, size: int, out: int) -> tuple[Any, Any]:
    """Each bin's first place and the place after its last (made on the device: no copy
    from the host, which a captured step could not hold)."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _product(a: Any, b: Any) -> Any:
    """(..., k) @ (k, n) as one 2-D GEMM (minicnn's own in a captured step)."""
    rows = backend.contiguous(a, a.dtype).reshape(-1, a.shape[-1])
    return matmul_arrays(rows, b).reshape(*a.shape[:-1], b.shape[1])


def _widest(size: int, out: int) -> int:
    """The most places a bin covers (Python ints: it sets an array's shape)."""
    return max(-((-(i + 1) * size) // out) - (i * size) // out for i in range(out))


class AdaptivePoolAxis(Function):
    """Pool ``axis`` of x to ``out`` bins by ``mode`` ('average' or 'max')."""

    def __init__(self, mode: str, axis: int, out: int) -> None:
        self.mode, self.axis, self.out = mode, axis, out

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.axis %= x.ndim
        size = x.shape[self.axis]
        starts, stops = adaptive_bins(xp, size, self.out)
        moved = xp.moveaxis(x, self.axis, -1)
        if self.mode == "average":
            rows = xp.arange(size)
            inside = (rows >= starts[:, None]) & (rows < stops[:, None])  # (out, size)
            counts = (stops - starts)[:, None]
            self.weights = xp.ascontiguousarray((inside / counts).T.astype(x.dtype))
            pooled = _product(moved, self.weights)
        else:
            # A short bin repeats its last place, which leaves its max as it is.
            reach = xp.arange(_widest(size, self.out))
            taps = xp.minimum(starts[:, None] + reach, stops[:, None] - 1)
            picked = moved[..., taps]  # (..., out, width)
            best = picked.argmax(axis=-1)
            pooled = xp.take_along_axis(picked, best[..., None], axis=-1)[..., 0]
            if self.recording:
                self.winners = taps[xp.arange(self.out), best]  # (..., out) input places
                self.owners, self.owned = _owners(xp, starts, stops, size, self.out)
        return xp.ascontiguousarray(xp.moveaxis(pooled, -1, self.axis))

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        g = xp.moveaxis(grad, self.axis, -1)
        if self.mode == "average":
            dx = _product(g, xp.ascontiguousarray(self.weights.T))
        else:
            # A gather: each place sums the gradients of the bins whose max it was.
            size = self.owners.shape[0]
            won = self.winners[..., self.owners] == xp.arange(size)[:, None]
            dx = (g[..., self.owners] * (won & self.owned)).sum(axis=-1)
        return xp.ascontiguousarray(xp.moveaxis(dx, -1, self.axis))


def _owners(xp: Any, starts: Any, stops: Any, size: int, out: int) -> tuple[Any, Any]:
    """For each place, the bins that hold it, (size, most): bins first to last, those past
    the last padded with it, and which entries are real. The bins of place p run from the
    number of bins that stop at or before p to the number that start at or before it, less 1."""
    places = xp.arange(size)[:, None]
    first = (stops[None, :] <= places).sum(axis=1)
    last = (starts[None, :] <= places).sum(axis=1) - 1
    most = max(-(-(out + size - 1) // size), 1) + 1  # at most ceil(out / size) + 1 bins
    owners = first[:, None] + xp.arange(most)
    owned = owners <= last[:, None]
    return xp.minimum(owners, out - 1), owned


def _sizes(output_size: Any, rank: int, owner: str) -> tuple[int, ...]:
    return positive_sizes(output_size, "output_size", owner, rank)


def adaptive_pool(x: Any, output_size: Any, mode: str, owner: str = "adaptive pool") -> Tensor:
    """Channels-last x (batch, *spatial, channels) pooled to ``output_size`` per spatial axis."""
    for axis, out in enumerate(_sizes(output_size, x.ndim - 2, owner), start=1):
        x = AdaptivePoolAxis(mode, axis, out)(x)
    return x


def _functional(inputs: Any, output_size: Any, data_format: Any, mode: str) -> Tensor:
    from . import ops

    owner = f"adaptive_{mode}_pool"
    x = ops.convert_to_tensor(inputs)
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{owner}: inputs of 1, 2 or 3 spatial axes, got shape {x.shape}.")
    if channels_last(data_format, owner) == "channels_first":
        return ops.moveaxis(adaptive_pool(ops.moveaxis(x, 1, -1), output_size, mode, owner), -1, 1)
    return adaptive_pool(x, output_size, mode, owner)


def adaptive_average_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> Tensor:
    """Keras' ops.adaptive_average_pool: the mean of each adaptive bin."""
    return _functional(inputs, output_size, data_format, "average")


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> Tensor:
    """Keras' ops.adaptive_max_pool: the max of each adaptive bin."""
    return _functional(inputs, output_size, data_format, "max")


class _AdaptivePooling(Layer):
    """Pool each of ``rank`` spatial axes to ``output_size`` (an int for all of them)."""

    takes_data_format = True

    rank = 2
    mode = ""

    def __init__(self, output_size: int | tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_size = _sizes(output_size, self.rank, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), "Adaptive pooling", self.rank)
        return (*self.output_size, input_shape[-1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return adaptive_pool(x, self.output_size, self.mode, self.describe())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": list(self.output_size)}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    rank, mode = 1, "average"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    rank, mode = 2, "average"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    rank, mode = 3, "average"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    rank, mode = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    rank, mode = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    rank, mode = 3, "max"


ADAPTIVE_POOLING_LAYERS = (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
