"""Layers of modern residual blocks, as Keras' ConvNeXt defines them: LayerScale (a learned
scale per channel on the residual branch) and StochasticDepth (the branch dropped for whole
samples in training)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functions as F
from .autograd import Tensor
from .layer_base import Layer, Shape
from .layers import Dropout


class LayerScale(Layer):
    """Keras' LayerScale (Touvron et al., 2021): ``x * gamma``, gamma one weight per channel
    (``projection_dim`` of them), starting at ``init_values``."""

    WEIGHT_NAMES = ("gamma",)

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values, self.projection_dim = float(init_values), int(projection_dim)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if input_shape[-1] != self.projection_dim:
            raise ValueError(
                f"{self.describe()} scales {self.projection_dim} channels; its input has "
                f"{input_shape[-1]} (shape {(None, *input_shape)})."
            )
        return input_shape

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        return [np.full((self.projection_dim,), self.init_values, np.float32)]

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.mul(x, self._weights[0])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "init_values": self.init_values,
            "projection_dim": self.projection_dim,
        }


class StochasticDepth(Dropout):
    """Keras' StochasticDepth (Huang et al., 2016): in training, each sample's residual
    branch is dropped with probability ``drop_path_rate`` (and kept ones scaled by
    1 / (1 - rate)); in inference, the branch as it is. Dropout of whole samples."""

    def __init__(self, drop_path_rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(drop_path_rate, seed=seed, **kwargs)
        self.drop_path_rate = self.rate

    def call(self, x: Tensor, training: bool) -> Tensor:
        shape = (x.shape[0], *(1,) * (x.ndim - 1))  # one draw per sample
        return F.dropout(x, self.rate, training, noise_shape=shape, generator=self._generator)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("rate", "noise_shape"):
            config.pop(key)
        return {**config, "drop_path_rate": self.drop_path_rate}
