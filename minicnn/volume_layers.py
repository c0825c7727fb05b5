"""Keras' layers for volumes (batch, depth, height, width, channels): Conv3D, Conv3DTranspose,
MaxPooling3D, AveragePooling3D, the global 3-D pools, ZeroPadding3D, Cropping3D, UpSampling3D
and SpatialDropout3D. Each is its 2-D layer's base over three spatial axes; the operations are
in ``volume_ops``."""

from __future__ import annotations

from typing import Any

from . import functions as F
from . import volume_ops
from .autograd import Tensor
from .layer_base import Layer, Shape, positive_sizes, require_spatial
from .layers import SpatialDropout2D, _Convolution, _TransposedConvolution
from .pooling import _GlobalPooling, _Pooling
from .reshaping import _Cropping, _ZeroPadding


class Conv3D(_Convolution):
    """3-D convolution; kernel (kd, kh, kw, in / groups, filters) and bias (filters,) as in
    Keras, ``dilation_rate`` and ``groups`` as in Conv2D."""

    rank = 3
    convolve = staticmethod(volume_ops.conv3d)


class Conv3DTranspose(_TransposedConvolution):
    """Keras' Conv3DTranspose, the adjoint of a Conv3D: kernel (kd, kh, kw, filters, in) and
    bias (filters,)."""

    _keras_defaults = {"dilation_rate": (1, 1, 1)}  # undilated only

    rank = 3
    transpose = staticmethod(volume_ops.conv3d_transpose)


class MaxPooling3D(_Pooling):
    """Max over pool_size windows; 'same' padding counts outside voxels as -inf."""

    rank = 3
    pool = staticmethod(volume_ops.max_pool3d)


class AveragePooling3D(_Pooling):
    """Mean over pool_size windows; a 'same' border window averages only the voxels inside
    the input, as in Keras."""

    rank = 3
    pool = staticmethod(volume_ops.avg_pool3d)


class GlobalAveragePooling3D(_GlobalPooling):
    mode, rank = "avg", 3


class GlobalMaxPooling3D(_GlobalPooling):
    mode, rank = "max", 3


class ZeroPadding3D(_ZeroPadding):
    """Zeros around each volume: an int, (depth, height, width) or three (before, after)
    pairs."""

    rank = 3


class Cropping3D(_Cropping):
    """Each volume without some voxels at its borders (Keras' default: one on every side)."""

    rank = 3

    def __init__(self, cropping: Any = 1, **kwargs: Any) -> None:
        super().__init__(cropping, **kwargs)


class UpSampling3D(Layer):
    """Each voxel repeated ``size`` times along depth, height and width."""

    takes_data_format = True

    def __init__(self, size: Any = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = positive_sizes(size, "size", self.describe(), 3)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), "UpSampling3D", 3)
        sizes = [s * k for s, k in zip(input_shape[:3], self.size, strict=True)]
        return (*sizes, input_shape[3])

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.UpSample(self.size)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": tuple(self.size)}


class SpatialDropout3D(SpatialDropout2D):
    """Dropout of whole channels: each volume loses a fraction ``rate`` of its feature maps,
    in training only."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), "SpatialDropout3D", 3)
        return input_shape


VOLUME_LAYERS = (
    Conv3D,
    Conv3DTranspose,
    MaxPooling3D,
    AveragePooling3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    ZeroPadding3D,
    Cropping3D,
    UpSampling3D,
    SpatialDropout3D,
)
