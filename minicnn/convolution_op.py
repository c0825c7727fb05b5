"""Keras' ``convolution_op`` hook of its convolution layers (Conv1D, Conv2D, Conv3D): the
convolution alone, by a kernel the caller gives. A subclass calls it from its own ``call``
(a kernel it standardized), or replaces it; Conv2D and Conv3D then compute through the
replacement, adding the bias and activation after it, as Keras' BaseConv does."""

from __future__ import annotations

from typing import Any

from . import functions as F
from . import nn_ops
from .autograd import Tensor


class ConvolutionOp:
    """The hook, for a layer with Keras' ``strides``, ``padding``, ``dilation_rate``, a
    kernel first among its weights and a bias at ``bias_index``."""

    def convolution_op(self, inputs: Any, kernel: Any) -> Tensor:
        """``inputs`` convolved with ``kernel`` (window, in / groups, filters) with the
        layer's strides, padding and dilation rate: no bias, no activation."""
        padding = "valid" if self.padding == "causal" else self.padding
        return nn_ops.conv(
            inputs,
            kernel,
            strides=self.strides,
            padding=padding,
            dilation_rate=self.dilation_rate,
        )

    def _replaces_convolution_op(self) -> bool:
        return type(self).convolution_op is not ConvolutionOp.convolution_op

    def _through_convolution_op(self, x: Tensor, relu: bool) -> Tensor:
        """The layer before its activation, as a subclass's ``convolution_op`` computes it."""
        out = self.convolution_op(x, self._weights[0])
        if self.use_bias:
            out = out + self._weights[self.bias_index]
        return F.relu(out) if relu else out
