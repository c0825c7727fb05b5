"""Keras' MixUp and CutMix: each image mixed with another of its batch (a drawn permutation).
Called on Keras' dict ``{"images": ..., "labels": ...}`` they mix the one-hot labels by the
same weights; in a model they mix the images only, in training, as Keras' do."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from . import ops as tensor_ops
from .augmentation import _factor_range, _RandomLayer, beta_tries, box_mask
from .autograd import Tensor
from .data_checks import finite_number
from .layer_base import resolve_training

MOST_TRIES = 10_000  # past alpha ~5, Johnk's method would need more pairs than that


class _BatchMixing(_RandomLayer):
    def __call__(self, x: Any, training: bool | None = None) -> Any:
        if not isinstance(x, dict):
            return super().__call__(x, training)
        if "images" not in x:
            raise ValueError(f"{self.describe()}: a dict input needs an 'images' entry.")
        images = x["images"] if isinstance(x["images"], Tensor) else Tensor(x["images"])
        if not self.built:
            self.device = backend.device_of(images.data)
            self._build_sample_shape(images.shape[1:])
        out = dict(x)
        if not resolve_training(training, self.default_training):
            return out
        with backend.on_device(backend.device_of(images.data)):
            out["images"], label_weight, order = self.mix(images)
            if "labels" in x:
                out["labels"] = self._mixed_labels(x["labels"], label_weight, order)
        return out

    def _mixed_labels(self, labels: Any, weight: Any, order: Any) -> Tensor:
        if not isinstance(labels, Tensor):  # NumPy labels go where the images are
            device = backend.device_of(weight)
            labels = Tensor(backend.to_device(np.asarray(labels), device))
        n = weight.shape[0]
        if labels.ndim != 2 or labels.shape[0] != n or labels.dtype.kind != "f":
            raise ValueError(
                f"{self.describe()}: labels must be one-hot float rows, one per image "
                f"(shape ({n}, classes)), to be mixed; got {labels.dtype} of shape "
                f"{tuple(labels.shape)} (utils.to_categorical makes them)."
            )
        xp = backend.get_array_module(labels.data)
        weight = xp.asarray(weight, dtype=labels.dtype).reshape(n, 1)
        return labels * weight + labels[order] * (1 - weight)

    def _order(self, xp: Any, n: int) -> Any:
        """A random permutation of the batch, drawn on the device."""
        return xp.argsort(self._uniform(xp, n, 0.0, 1.0))

    def augment(self, x: Tensor) -> Tensor:
        return self.mix(x)[0]

    def mix(self, x: Tensor) -> tuple[Tensor, Any, Any]:
        """The mixed images, each one's weight of itself (for its label), and the order."""
        raise NotImplementedError


class MixUp(_BatchMixing):
    """Keras' MixUp (Zhang et al.): ``w x + (1 - w) x[order]`` with one weight w per batch
    drawn from Beta(alpha, alpha) and ``order`` a random permutation of the batch; the
    labels of a dict input mix by the same w."""

    def __init__(self, alpha: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = finite_number(alpha, "alpha", self.describe())
        if not 0 < self.alpha or beta_tries(self.alpha) > MOST_TRIES:
            raise ValueError(f"{self.describe()}: alpha must be in (0, 5], got {alpha!r}.")

    def mix(self, x: Tensor) -> tuple[Tensor, Any, Any]:
        xp = backend.get_array_module(x.data)
        n = x.shape[0]
        weight = self._symmetric_beta(xp, 1, self.alpha, self.alpha)
        order = self._order(xp, n)
        w = weight.astype(x.dtype).reshape(1, *(1,) * (x.ndim - 1))
        return x * w + x[order] * (1 - w), xp.broadcast_to(weight, (n,)), order

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(_BatchMixing):
    """Keras' CutMix (Yun et al.): each image gets a box of another (``order``, a random
    permutation of the batch) pasted in. Per batch an alpha is drawn from ``factor`` (a
    number f: from [0, f]; within [0, 1]; plus 1e-6), per image a weight w from
    Beta(alpha, alpha); the box's sides are sqrt(1 - w) of the image's, at a uniformly drawn
    place, and a dict's labels mix by the share of the image the box leaves, as Keras'."""

    def __init__(self, factor: Any = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            factor = (0.0, factor)
        self.factor = _factor_range(factor, "factor", self.describe(), 0, 1)

    def mix(self, x: Tensor) -> tuple[Tensor, Any, Any]:
        xp = backend.get_array_module(x.data)
        n, h, w = x.shape[0], x.shape[1], x.shape[2]
        low, high = self.factor
        alpha = low + (high - low) * self._uniform(xp, 1, 0.0, 1.0) + 1e-6
        weight = self._symmetric_beta(xp, n, alpha, high + 1e-6)
        side = xp.sqrt(1.0 - weight)
        starts = self._uniform(xp, 2 * n, 0.0, 1.0).reshape(2, n)
        x0 = starts[0] * (w - side * w)
        y0 = starts[1] * (h - side * h)
        x1, y1 = x0 + side * w, y0 + side * h
        inside = box_mask(xp, h, w, x0, x1, y0, y1)
        order = self._order(xp, n)
        mask = xp.broadcast_to(inside[..., None], x.shape)
        kept = 1.0 - (x1 - x0) * (y1 - y0) / (w * h)
        return tensor_ops.where(mask, x[order], x), kept, order

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor)}
