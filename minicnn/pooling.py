"""Pooling layers: max and average over windows, and global pooling over all positions. The
bases serve the 3-D layers (``volume_layers``) too."""

from __future__ import annotations

import math
from typing import Any

from . import functions as F
from .autograd import Tensor
from .layer_base import Layer, Shape, _padding, positive_sizes, require_spatial


class _Pooling(Layer):
    """A pool_size window slid by strides (the window itself by default) over each channel
    of ``rank`` spatial axes; ``pool`` is the operation."""

    takes_data_format = True

    rank = 2

    def __init__(
        self,
        pool_size: int | tuple[int, ...] = 2,
        strides: int | tuple[int, ...] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        layer = self.describe()
        self.pool_size = positive_sizes(pool_size, "pool_size", layer, self.rank)
        self.strides = (
            self.pool_size
            if strides is None
            else positive_sizes(strides, "strides", layer, self.rank)
        )
        self.padding = _padding(padding, layer)

    @staticmethod
    def pool(x: Tensor, pool_size: Any, strides: Any, padding: str) -> Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), "Pooling", self.rank)
        sizes = [
            F.window_geometry(size, p, s, self.padding)[0]
            for size, p, s in zip(input_shape[:-1], self.pool_size, self.strides, strict=True)
        ]
        if min(sizes) < 1:
            by = lambda sizes: "x".join(map(str, sizes))  # noqa: E731
            raise ValueError(
                f"{self.describe()}: a {by(self.pool_size)} pool does not fit its "
                f"{by(input_shape[:-1])} input; the output would be {by(sizes)}."
            )
        return (*sizes, input_shape[-1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return self.pool(x, self.pool_size, self.strides, self.padding)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": tuple(self.pool_size),
            "strides": tuple(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling):
    """Max over pool_size windows; 'same' padding counts outside pixels as -inf."""

    pool = staticmethod(F.max_pool2d)


class AveragePooling2D(_Pooling):
    """Mean over pool_size windows; with 'same' padding a border window averages only the
    pixels inside the input, as in Keras."""

    pool = staticmethod(F.avg_pool2d)


class _GlobalPooling(Layer):
    """One value per channel over all positions; ``keepdims`` keeps them as an image (or a
    volume) of one pixel."""

    takes_data_format = True

    mode = ""
    rank = 2

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), "Global pooling", self.rank)
        channels = input_shape[-1]
        return (*(1,) * self.rank, channels) if self.keepdims else (channels,)

    def call(self, x: Tensor, training: bool) -> Tensor:
        n, *spatial, c = x.shape
        if self.rank != 2:  # a volume pools as an image of its depth * height rows
            x = F.reshape(x, (n, math.prod(spatial[:-1]), spatial[-1], c))
        out = F.GlobalPool2D(self.mode)(x)
        return F.reshape(out, (-1, *(1,) * self.rank, c)) if self.keepdims else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling):
    mode = "avg"


class GlobalMaxPooling2D(_GlobalPooling):
    mode = "max"
