"""Pooling layers: max and average over windows, and global pooling over all positions."""

from __future__ import annotations

from typing import Any

from . import functions as F
from .autograd import Tensor
from .layer_base import Layer, Shape, _padding, _positive_pair, _require_image


class _Pooling2D(Layer):
    """A pool_size window slid by strides (the window itself by default) over each channel."""

    def __init__(
        self,
        pool_size: int | tuple[int, int] = 2,
        strides: int | tuple[int, int] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_size = _positive_pair(pool_size, "pool_size", self.describe())
        self.strides = (
            self.pool_size
            if strides is None
            else _positive_pair(strides, "strides", self.describe())
        )
        self.padding = _padding(padding, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Pooling")
        sizes = [
            F.window_geometry(size, p, s, self.padding)[0]
            for size, p, s in zip(input_shape[:2], self.pool_size, self.strides, strict=True)
        ]
        if min(sizes) < 1:
            raise ValueError(
                f"{self.describe()}: a {self.pool_size[0]}x{self.pool_size[1]} pool does not fit "
                f"its {input_shape[0]}x{input_shape[1]} input; the output would be "
                f"{sizes[0]}x{sizes[1]}."
            )
        return (sizes[0], sizes[1], input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows; 'same' padding counts outside pixels as -inf."""

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows; with 'same' padding a border window averages only the
    pixels inside the input, as in Keras."""

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.avg_pool2d(x, self.pool_size, self.strides, self.padding)


class _GlobalPooling2D(Layer):
    """One value per channel over all positions; ``keepdims`` keeps them as a 1x1 image."""

    mode = ""

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "Global pooling")
        return (1, 1, input_shape[2]) if self.keepdims else (input_shape[2],)

    def call(self, x: Tensor, training: bool) -> Tensor:
        out = F.GlobalPool2D(self.mode)(x)
        return F.reshape(out, (-1, 1, 1, out.shape[1])) if self.keepdims else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    mode = "avg"


class GlobalMaxPooling2D(_GlobalPooling2D):
    mode = "max"
