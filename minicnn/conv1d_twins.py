"""Keras' Conv1DTranspose, DepthwiseConv1D and SeparableConv1D, each its 2-D twin over an
image one row high (as Conv1D is Conv2D's): the arguments (k,) become (1, k), the weights
keep Keras' 1-D layout (the 2-D kernel without its row axis), and the kernels, gradients and
GPU path are the 2-D ones."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import functions as F
from .autograd import Tensor
from .layer_base import Shape
from .layers import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from .sequence_layers import _as_image, _as_sequence, _positive, _require_sequence


def _row(value: Any, what: str, layer: str) -> tuple[int, int]:
    """A 1-D size (an int or a 1-tuple) as the (1, k) of the 2-D twin."""
    return (1, _positive(value, what, layer))


class _OneRow:
    """What the three share: shapes, weights, the forward pass and the config through the
    2-D twin (the next class in the method order)."""

    _pairs = ("kernel_size", "strides", "dilation_rate", "output_padding")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), type(self).__name__)
        _, steps, channels = super().compute_output_shape((1, *input_shape))
        return (steps, channels)

    def _create_weights(self, input_shape: Shape) -> list[Any]:
        arrays = super()._create_weights((1, *input_shape))
        return [a[0] if a.ndim == 4 else a for a in arrays]  # kernels lose their row axis

    @contextlib.contextmanager
    def _image_weights(self) -> Iterator[None]:
        """The kernels seen as the 2-D twin's (reshaped in the graph, so gradients reach
        the 1-D weights) while it runs."""
        stored = self._weights
        self._weights = [F.reshape(w, (1, *w.shape)) if w.ndim == 3 else w for w in stored]
        try:
            yield
        finally:
            self._weights = stored

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        with self._image_weights():
            return _as_sequence(super().transform(_as_image(x), relu))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in self._pairs:
            if config.get(key) is not None and len(config[key]) == 2:
                config[key] = (config[key][1],)
        return config


class Conv1DTranspose(_OneRow, Conv2DTranspose):
    """Keras' Conv1DTranspose: kernel (kernel_size, filters, in), bias (filters,); the output
    has (steps - 1) * strides + kernel_size steps with 'valid' padding, steps * strides with
    'same'."""

    _keras_defaults = {"dilation_rate": (1,)}  # undilated only

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int],
        strides: int | tuple[int] = 1,
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        output_padding: int | tuple[int] | None = None,
        **kwargs: Any,
    ) -> None:
        layer = f"Conv1DTranspose '{kwargs.get('name', '')}'"
        if output_padding is not None:  # none on the image's one row
            given = (
                output_padding[0] if isinstance(output_padding, (list, tuple)) else output_padding
            )
            output_padding = (0, int(given))
        super().__init__(
            filters,
            _row(kernel_size, "kernel_size", layer),
            _row(strides, "strides", layer),
            padding,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
            output_padding,
            **kwargs,
        )


class DepthwiseConv1D(_OneRow, DepthwiseConv2D):
    """Keras' DepthwiseConv1D: each channel convolved with its own ``depth_multiplier``
    filters; kernel (kernel_size, in, depth_multiplier), bias (in * depth_multiplier,)."""

    def __init__(
        self,
        kernel_size: int | tuple[int],
        strides: int | tuple[int] = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        activation: str | None = None,
        use_bias: bool = True,
        depthwise_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        dilation_rate: int | tuple[int] = 1,
        **kwargs: Any,
    ) -> None:
        layer = f"DepthwiseConv1D '{kwargs.get('name', '')}'"
        super().__init__(
            _row(kernel_size, "kernel_size", layer),
            _row(strides, "strides", layer),
            padding,
            depth_multiplier,
            activation,
            use_bias,
            depthwise_initializer,
            bias_initializer,
            depthwise_regularizer,
            bias_regularizer,
            _row(dilation_rate, "dilation_rate", layer),
            **kwargs,
        )


class SeparableConv1D(_OneRow, SeparableConv2D):
    """Keras' SeparableConv1D: a depthwise convolution, then a pointwise one to ``filters``
    channels; depthwise kernel (kernel_size, in, depth_multiplier), pointwise kernel (1, in *
    depth_multiplier, filters), bias (filters,)."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int],
        strides: int | tuple[int] = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        activation: str | None = None,
        use_bias: bool = True,
        depthwise_initializer: str = "glorot_uniform",
        pointwise_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        dilation_rate: int | tuple[int] = 1,
        **kwargs: Any,
    ) -> None:
        layer = f"SeparableConv1D '{kwargs.get('name', '')}'"
        super().__init__(
            filters,
            _row(kernel_size, "kernel_size", layer),
            _row(strides, "strides", layer),
            padding,
            depth_multiplier,
            activation,
            use_bias,
            depthwise_initializer,
            pointwise_initializer,
            bias_initializer,
            _row(dilation_rate, "dilation_rate", layer),
            **kwargs,
        )
