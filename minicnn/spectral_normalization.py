"""Keras' SpectralNormalization wrapper (Miyato et al.): the wrapped layer's kernel divided,
at each training call, by its largest singular value, estimated by power iteration."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, initializers
from .autograd import Tensor
from .data_checks import positive_int
from .functions import matmul_arrays
from .layer_base import Layer
from .wrapper import Wrapper


class SpectralNormalization(Wrapper):
    """Keras' SpectralNormalization(layer, power_iterations=1): ``layer`` (one with a kernel:
    Dense, a convolution, or Embedding's embeddings) whose kernel, reshaped to (-1, its last
    axis), is divided by its spectral norm sigma before each training call, as Keras does it:
    the kernel itself is rescaled (not reparametrized), and a vector u of the last axis'
    size (Keras' truncated normal, stddev 0.02 at first), a non-trainable weight, carries
    the power iteration from call to call. An all-zero kernel is left alone. In inference
    the layer runs as it is. Its weights: the layer's, then u."""

    state_weight_count = 1  # u: updated by the layer, never by the optimizer

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        self.power_iterations = positive_int(
            power_iterations, f"{self.describe()}: power_iterations"
        )

    def own_weights(self) -> list[Tensor]:
        from .layers import has_kernel

        if not has_kernel(self.layer):
            raise ValueError(
                f"{self.describe()}: {type(self.layer).__name__} has no kernel (nor embeddings) "
                "to normalize; wrap a Dense, a convolution or an Embedding."
            )
        columns = self.layer.weights[0].shape[-1]
        u = initializers._truncated_normal(0.02, (1, columns))  # Keras' TruncatedNormal(0.02)
        return [Tensor(backend.to_device(u, self.device))]

    def normalize_kernel(self) -> None:
        """One step of Keras' update: u through ``power_iterations`` rounds of the power
        method on W (the kernel as rows of its last axis), then W / sigma, with sigma = v W
        u^T; both written in place (the optimizer and a captured step keep their arrays)."""
        kernel, u = self._weights[0], self._weights[-1]
        xp = backend.get_array_module(kernel.data)
        w = backend.contiguous(kernel.data.reshape(-1, kernel.shape[-1]), kernel.dtype)
        vector_u = u.data
        for _ in range(self.power_iterations):
            vector_v = _unit(xp, matmul_arrays(w, vector_u.reshape(-1, 1)).reshape(1, -1))
            vector_u = _unit(xp, matmul_arrays(vector_v, w))
        sigma = (matmul_arrays(vector_v, w) * vector_u).sum()
        zero = ~xp.any(kernel.data)
        safe_sigma = xp.where(sigma == 0, kernel.dtype.type(1), sigma)
        kernel.data[...] = xp.where(zero, kernel.data, kernel.data / safe_sigma)
        u.data[...] = xp.where(zero, u.data, vector_u)

    def call(self, x: Tensor, training: bool) -> Tensor:
        self.layer._weights = self._weights[:-1]  # the same Tensors as the layer's
        if training:
            self.normalize_kernel()
        return self.layer.call(x, training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _unit(xp: Any, row: Any) -> Any:
    """``row`` over its L2 norm (a zero row stays zero), as Keras' normalize."""
    norm = xp.sqrt((row * row).sum())
    return row / xp.where(norm == 0, np.float32(1), norm)
