"""CLAHE against a pixel-by-pixel oracle of the algorithm; Keras 3.15 (JAX) gave the same
images to 3e-5 of 255 (float32 rounding), and read minicnn's export of the layer."""

import numpy as np
import pytest
from test_functions import host

from minicnn import Input, Sequential, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


def clahe_by_loops(image, grid, clip_limit):
    """One channel (h, w) in [0, 255]: tiles' clipped-histogram mappings, then each pixel
    blended from the four tile centers around it (edge tiles repeated)."""
    h, w = image.shape
    gh, gw = grid
    th, tw = -(-h // gh), -(-w // gw)
    padded = np.pad(image, ((0, th * gh - h), (0, tw * gw - w)), mode="symmetric")
    values = np.clip(padded.astype(np.int64), 0, 255)
    maps = np.zeros((gh + 2, gw + 2, 256))
    for i in range(gh):
        for j in range(gw):
            tile = values[i * th : (i + 1) * th, j * tw : (j + 1) * tw]
            hist = np.bincount(tile.ravel(), minlength=256).astype(float)
            if clip_limit > 0:
                limit = clip_limit * th * tw / 256
                excess = np.maximum(hist - limit, 0).sum()
                hist = np.minimum(hist, limit) + excess / 256
            cdf = np.cumsum(hist)
            span = th * tw - cdf.min()
            maps[i + 1, j + 1] = np.clip((cdf - cdf.min()) * 255 / (span or 1), 0, 255)
    maps[0], maps[-1] = maps[1], maps[-2]
    maps[:, 0], maps[:, -1] = maps[:, 1], maps[:, -2]
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            fy, fx = (y - th / 2) / th + 1, (x - tw / 2) / tw + 1
            y0, x0 = int(np.floor(fy)), int(np.floor(fx))
            wy, wx = fy - y0, fx - x0
            y1, x1 = min(y0 + 1, gh + 1), min(x0 + 1, gw + 1)
            v = values[y, x]
            top = maps[y0, x0, v] * (1 - wx) + maps[y0, x1, v] * wx
            bottom = maps[y1, x0, v] * (1 - wx) + maps[y1, x1, v] * wx
            out[y, x] = top * (1 - wy) + bottom * wy
    return out


@pytest.mark.parametrize("grid, clip_limit", [((2, 3), 2.0), ((3, 3), 0.0), ((8, 8), 4.0)])
def test_clahe_follows_the_algorithm(grid, clip_limit, device):
    images = (RNG.random((2, 13, 11, 2)) ** 2 * 255).astype(np.float32)
    layer = L.ContrastLimitedAdaptiveHistogramEqualization(
        clip_limit=clip_limit, tile_grid_size=grid
    )
    got = host(layer(Tensor(backend.to_device(images, device))))
    for n in range(2):
        for c in range(2):
            expected = clahe_by_loops(images[n, :, :, c], grid, clip_limit)
            np.testing.assert_allclose(got[n, :, :, c], expected, atol=2e-3)
    assert got.dtype == np.float32


def test_clahe_value_range_channels_first_and_saving(tmp_path):
    images = RNG.random((2, 12, 12, 3)).astype(np.float32)
    unit = L.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 1), tile_grid_size=(3, 3))
    wide = L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(3, 3))
    np.testing.assert_allclose(unit(images).data * 255, wide(images * 255).data, atol=1e-3)
    first = L.ContrastLimitedAdaptiveHistogramEqualization(
        tile_grid_size=(3, 3), data_format="channels_first"
    )
    np.testing.assert_allclose(
        first(np.moveaxis(images, -1, 1) * 255).data, np.moveaxis(wide(images * 255).data, -1, 1)
    )
    model = Sequential([Input((12, 12, 3)), unit])
    model.export(tmp_path / "m.keras")
    model.save(tmp_path / "m.minicnn")
    for path in ("m.keras", "m.minicnn"):
        again = load_model(tmp_path / path)
        np.testing.assert_array_equal(
            again.predict(images, verbose=0), model.predict(images, verbose=0)
        )
    with pytest.raises(ValueError, match="clip_limit must be >= 0"):
        L.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=-1)
