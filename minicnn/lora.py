"""Keras' LoRA (low-rank adaptation) for Dense, EinsumDense and Embedding: ``lora_rank`` (or
``layer.enable_lora(rank)`` on a built layer) freezes the kernel W and trains two small
matrices A (in, rank) and B (rank, out) instead; the layer computes with
W + (lora_alpha / rank) A B. B starts at zero, so the layer starts as it was."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, ops
from .autograd import Tensor
from .data_checks import positive_int


class LowRankAdaptation:
    """The LoRA part of a layer whose first weight is the adapted matrix. The layer calls
    ``_lora_options`` in its ``__init__`` and ``_lora_build`` after its weights exist, and
    computes with ``_adapted(self._weights[0])``."""

    lora_names = ("lora_kernel_a", "lora_kernel_b")

    def _lora_options(self, lora_rank: int | None, lora_alpha: float | None) -> None:
        self.lora_rank = None if lora_rank is None else positive_int(lora_rank, "lora_rank")
        self.lora_alpha = None if lora_alpha is None else float(lora_alpha)
        self.lora_enabled = False

    def _lora_build(self) -> None:
        if self.lora_rank and not self.lora_enabled:
            self.enable_lora(self.lora_rank, self.lora_alpha)

    def enable_lora(
        self,
        rank: int,
        lora_alpha: float | None = None,
        a_initializer: str = "he_uniform",
        b_initializer: str = "zeros",
    ) -> None:
        """Freeze the layer's matrix and train A and B of ``rank`` in its place (compile the
        model afterwards, as in Keras, so that the optimizer trains them)."""
        owner = self.describe()
        if getattr(self, "kernel_constraint", None) is not None or getattr(
            self, "embeddings_constraint", None
        ):
            raise ValueError(f"{owner}: LoRA is incompatible with a kernel constraint.")
        if not self.built:
            raise ValueError(f"{owner}: cannot enable LoRA on a layer that is not built yet.")
        if self.lora_enabled:
            raise ValueError(f"{owner}: LoRA is already enabled.")
        rank = positive_int(rank, f"{owner}: rank")
        base = self._weights[0]
        *rows, cols = self._lora_matrix_shape()
        regularizer = getattr(self, "kernel_regularizer", None) or getattr(
            self, "embeddings_regularizer", None
        )
        a_name, b_name = self.lora_names
        self.add_weight((*rows, rank), a_initializer, regularizer=regularizer, name=a_name)
        self.add_weight((rank, cols), b_initializer, regularizer=regularizer, name=b_name)
        self._frozen_weights.add(id(base))
        base.requires_grad = False
        self.lora_enabled, self.lora_rank = True, rank
        self.lora_alpha = float(rank if lora_alpha is None else lora_alpha)

    def _lora_matrix_shape(self) -> tuple[int, ...]:
        """The float matrix's shape, which A B adds to: an EinsumDense kernel may have more
        axes than two (A gets all but the last); an int4 matrix is stored packed."""
        if getattr(self, "quantization_mode", None):
            return self._matrix_shape()
        return self._weights[0].shape

    def _adapted(self, base: Tensor) -> Tensor:
        """The matrix the layer computes with: W, or W + (alpha / rank) A B with LoRA."""
        if not self.lora_enabled:
            return base
        a, b = self._weights[-2], self._weights[-1]
        return base + ops.matmul(a, b) * (self.lora_alpha / self.lora_rank)

    def _stored_arrays(self) -> list[np.ndarray]:
        """As Keras stores the layer: the kernel merged with A and B, which it does not store
        (it starts them at zeros when it loads), and quantized again if the layer is."""
        if not self.lora_enabled:
            return super()._stored_arrays()
        if self.quantization_mode:
            return self.merged_quantized_weights()
        merged = backend.to_numpy(self._adapted(self._weights[0]).data)
        return [merged, *super()._stored_arrays()[1:-2]]

    def _loaded_weights(self) -> list[Tensor]:
        """A store holds the merged kernel and no A and B: they restart at zeros."""
        weights = super()._loaded_weights()
        if not self.lora_enabled:
            return weights
        for adapter in weights[-2:]:
            adapter.assign(np.zeros(adapter.shape, np.float32))
        return weights[:-2]

    def _lora_config(self) -> dict[str, Any]:
        if not self.lora_rank:
            return {}
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha}
