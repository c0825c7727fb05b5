"""Keras' ContrastLimitedAdaptiveHistogramEqualization (CLAHE): histogram equalization
tile by tile, each tile's histogram clipped so that flat regions are not over-amplified,
and the tiles' mappings blended bilinearly so that no seams show."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .augmentation import _value_range
from .autograd import Tensor
from .data_checks import finite_number, positive_int
from .layer_base import Layer, Shape, _require_image, channels_last


def clahe(xp: Any, images: Any, grid: tuple[int, int], clip_limit: float) -> Any:
    """CLAHE of float32 images (n, h, w, c) in [0, 255], by Keras' steps: the images padded
    symmetrically to whole tiles; each tile's 256-bin histogram (of the values truncated
    to integers) clipped at ``clip_limit`` times the mean count, the excess spread evenly
    over all bins; each tile's mapping 255 (cdf - cdf_min) / (count - cdf_min); and each
    pixel's value the bilinear blend of the mappings of the four tiles around it, whose
    centers (edge tiles repeated) anchor the blend."""
    n, h, w, c = images.shape
    gh, gw = grid
    th, tw = -(-h // gh), -(-w // gw)  # tile sizes, rounded up
    padded = xp.pad(images, ((0, 0), (0, th * gh - h), (0, tw * gw - w), (0, 0)), mode="symmetric")
    pixels = xp.clip(padded.astype(np.int32), 0, 255)  # truncation, as Keras' cast
    tiles = pixels.reshape(n, gh, th, gw, tw, c).transpose(0, 1, 3, 5, 2, 4)
    tiles = tiles.reshape(-1, th * tw)
    counts = xp.zeros(tiles.shape[0] * 256, np.float32)
    rows = xp.arange(tiles.shape[0])[:, None] * 256
    backend.scatter_add(counts, (rows + tiles).reshape(-1), xp.ones(tiles.size, np.float32))
    hist = counts.reshape(n, gh, gw, c, 256)
    area = np.float32(th * tw)
    if clip_limit > 0:
        limit = np.float32(clip_limit * th * tw / 256.0)
        clipped = xp.minimum(hist, limit)
        hist = clipped + (hist - clipped).sum(axis=-1, keepdims=True) / np.float32(256)
    cdf = xp.cumsum(hist, axis=-1)
    lowest = cdf.min(axis=-1, keepdims=True)
    span = area - lowest
    mapping = xp.clip((cdf - lowest) * np.float32(255) / xp.where(span == 0, 1, span), 0, 255)
    # The tiles' mappings with the edge tiles repeated around them.
    mapping = xp.pad(mapping, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

    def anchors(size: int, tile: int, count: int) -> tuple[Any, Any, Any]:
        at = (xp.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile) + 1
        below = xp.floor(at)
        weight = at - below
        return (
            xp.clip(below, 0, count + 1).astype(np.int64),
            xp.clip(below + 1, 0, count + 1).astype(np.int64),
            weight,
        )

    y0, y1, wy = anchors(th * gh, th, gh)
    x0, x1, wx = anchors(tw * gw, tw, gw)
    b = xp.arange(n)[:, None, None, None]
    ch = xp.arange(c)[None, None, None, :]
    y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
    x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
    top = mapping[b, y0, x0, ch, pixels] * (1 - wx) + mapping[b, y0, x1, ch, pixels] * wx
    bottom = mapping[b, y1, x0, ch, pixels] * (1 - wx) + mapping[b, y1, x1, ch, pixels] * wx
    return (top * (1 - wy) + bottom * wy)[:, :h, :w, :]


class ContrastLimitedAdaptiveHistogramEqualization(Layer):
    """Keras' CLAHE layer (``clahe``): values in ``value_range`` (scaled to [0, 255] and
    back), ``clip_limit`` (0: no clipping) and ``tile_grid_size`` (rows, columns of
    tiles). It acts in training and inference; its gradient is zero, as a lookup's."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        clip_limit: float = 4.0,
        tile_grid_size: Any = (8, 8),
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.value_range = _value_range(value_range, owner)
        self.clip_limit = finite_number(clip_limit, "clip_limit", owner)
        if self.clip_limit < 0:
            raise ValueError(f"{owner}: clip_limit must be >= 0, got {clip_limit!r}.")
        if isinstance(tile_grid_size, int) or len(tile_grid_size) != 2:
            raise ValueError(f"{owner}: tile_grid_size is (rows, columns), got {tile_grid_size!r}.")
        self.tile_grid_size = tuple(
            positive_int(v, f"{owner}: tile_grid_size") for v in tile_grid_size
        )
        self.data_format = channels_last(data_format, owner)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "ContrastLimitedAdaptiveHistogramEqualization")
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        xp = backend.get_array_module(x.data)
        data = x.data
        if self.data_format == "channels_first":
            data = xp.moveaxis(data, 1, -1)
        low, high = self.value_range
        scaled = data.astype(np.float32)
        if (low, high) != (0, 255):
            scaled = (scaled - np.float32(low)) / np.float32(high - low) * np.float32(255)
        out = clahe(xp, scaled, self.tile_grid_size, self.clip_limit)
        if (low, high) != (0, 255):
            out = out / np.float32(255) * np.float32(high - low) + np.float32(low)
        if self.data_format == "channels_first":
            out = xp.moveaxis(out, -1, 1)
        return Tensor(out.astype(x.dtype))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "clip_limit": self.clip_limit,
            "tile_grid_size": list(self.tile_grid_size),
            "data_format": self.data_format,
        }
