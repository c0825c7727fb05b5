"""Keras-style layers: each knows its output shape, owns its weights and calls functions."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, constraints, conv_ops, initializers, regularizers
from . import functions as F
from .activation_layers import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .attention import (
    AdditiveAttention,
    Attention,
    GroupQueryAttention,
    MultiHeadAttention,
    Permute,
)
from .augmentation import (
    Pipeline,
    RandomCrop,
    RandomElasticTransform,
    RandomErasing,
    RandomFlip,
    RandomPerspective,
    RandomRotation,
    RandomShear,
    RandomTranslation,
    RandomZoom,
)
from .autograd import Tensor
from .batch_mixing import CutMix, MixUp
from .clahe import ContrastLimitedAdaptiveHistogramEqualization
from .color_augmentation import (
    AutoContrast,
    Equalization,
    RandomBrightness,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomContrast,
    RandomGaussianBlur,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from .convolution_op import ConvolutionOp
from .data_checks import positive_int
from .layer_base import (
    Input,
    InputLayer,
    Layer,
    Shape,
    SymbolicTensor,
    _Activated,
    _padding,
    _positive_pair,
    _require_image,
    batch_taken_off,
    checked_noise_shape,
    grouped_channels,
    groups_of,
    positive_sizes,
    require_spatial,
    resolved_noise_shape,
    to_keras_shapes,
)
from .lora import LowRankAdaptation
from .merging import (
    Add,
    Average,
    Concatenate,
    CustomScaleLayer,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .noise_layers import AlphaDropout, GaussianDropout, GaussianNoise
from .normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    RMSNormalization,
)
from .pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .preprocessing_layers import CenterCrop, Normalization, Rescaling, Resizing
from .quantization import Quantizable, int8_matmul
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from .reshaping import (
    ActivityRegularization,
    Cropping2D,
    Identity,
    RepeatVector,
    UnitNormalization,
    UpSampling2D,
    ZeroPadding2D,
)
from .sequence_layers import (
    AveragePooling1D,
    Conv1D,
    Embedding,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
    MaxPooling1D,
    ReversibleEmbedding,
    _require_sequence,
)
from .sequence_shapes import Cropping1D, UpSampling1D, ZeroPadding1D

__all__ = [
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "InputLayer",
    "LayerNormalization",
    "Maximum",
    "CustomScaleLayer",
    "Minimum",
    "AlphaDropout",
    "Attention",
    "AdditiveAttention",
    "GroupQueryAttention",
    "MultiHeadAttention",
    "Permute",
    "CenterCrop",
    "GaussianDropout",
    "GaussianNoise",
    "GroupNormalization",
    "RMSNormalization",
    "SpectralNormalization",
    "EinsumDense",
    "Hashing",
    "HashedCrossing",
    "STFTSpectrogram",
    "MelSpectrogram",
    "Cropping1D",
    "Identity",
    "SpatialDropout1D",
    "UpSampling1D",
    "ZeroPadding1D",
    "Normalization",
    "RepeatVector",
    "Bidirectional",
    "GRU",
    "LSTM",
    "Lambda",
    "SimpleRNN",
    "TimeDistributed",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "Rescaling",
    "Resizing",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RandomShear",
    "RandomInvert",
    "AutoContrast",
    "Pipeline",
    "RandomErasing",
    "Solarization",
    "RandomGrayscale",
    "RandomPosterization",
    "RandomColorDegeneration",
    "RandomSharpness",
    "RandomSaturation",
    "RandomHue",
    "RandomColorJitter",
    "RandomGaussianBlur",
    "Equalization",
    "ContrastLimitedAdaptiveHistogramEqualization",
    "MixUp",
    "CutMix",
    "RandomPerspective",
    "RandomElasticTransform",
    "RandAugment",
    "AugMix",
    "InputSpec",
    "Wrapper",
    "Multiply",
    "Subtract",
    "SymbolicTensor",
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Input",
    "Layer",
    "MaxPooling2D",
    "Reshape",
    "SeparableConv2D",
    "SpatialDropout2D",
    "UpSampling2D",
    "ZeroPadding2D",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softmax",
    "Conv1D",
    "Conv1DTranspose",
    "DepthwiseConv1D",
    "SeparableConv1D",
    "Embedding",
    "ReversibleEmbedding",
    "CategoryEncoding",
    "Discretization",
    "ActivityRegularization",
    "UnitNormalization",
    "Masking",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "Conv3D",
    "Conv3DTranspose",
    "MaxPooling3D",
    "AveragePooling3D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling3D",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "GetItem",
    "LayerScale",
    "StochasticDepth",
    "TensorArithmetic",
    "OpCall",
    "ZeroPadding3D",
    "Cropping3D",
    "UpSampling3D",
    "SpatialDropout3D",
    "StringLookup",
    "IntegerLookup",
    "TextVectorization",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "RNN",
    "SimpleRNNCell",
    "LSTMCell",
    "GRUCell",
    "StackedRNNCells",
    "PositionEmbedding",
    "ClassToken",
]


def conv_output_size(
    layer: str,
    input_shape: Shape,
    kernel_size: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    kind: str = "Conv2D",
) -> tuple[int, ...]:
    """The output size along each spatial axis of a window (of its effective, dilated size)
    slid over an image or a volume, or an error that says why it does not fit."""
    require_spatial(input_shape, layer, kind, len(kernel_size))
    sizes = tuple(
        F.window_geometry(size, k, s, padding)[0]
        for size, k, s in zip(input_shape[:-1], kernel_size, strides, strict=True)
    )
    if min(sizes) < 1:
        raise ValueError(
            f"{layer}: a {_by(kernel_size)} '{padding}' window does not fit its "
            f"{_by(input_shape[:-1])} input; the output would be {_by(sizes)}."
        )
    return sizes


def _by(sizes: tuple[int, ...]) -> str:
    return "x".join(map(str, sizes))


def dilation(value: Any, strides: tuple[int, ...], layer: str) -> tuple[int, ...]:
    rate = positive_sizes(value, "dilation_rate", layer, len(strides))
    ones = (1,) * len(strides)
    if rate != ones and strides != ones:
        raise ValueError(
            f"{layer}: strides > 1 together with dilation_rate > 1 is not supported (as in "
            "Keras); use one or the other."
        )
    return rate


def dilated_size(kernel_size: tuple[int, ...], rate: tuple[int, ...]) -> tuple[int, ...]:
    """The span of a kernel spread out by ``rate``."""
    return tuple((k - 1) * r + 1 for k, r in zip(kernel_size, rate, strict=True))


class _Convolution(ConvolutionOp, _Activated):
    """What Conv2D and Conv3D share: a kernel (*window, in / groups, filters) slid over
    ``rank`` spatial axes, with Keras' arguments. ``convolve`` is the operation."""

    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("kernel", "bias")
    saves_own_weights_only = True  # as Keras' BaseConv

    takes_data_format = True

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        dilation_rate: int | tuple[int, ...] = 1,
        groups: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        layer = self.describe()
        self.filters = positive_int(filters, f"{layer}: filters")
        self.kernel_size = positive_sizes(kernel_size, "kernel_size", layer, self.rank)
        self.strides = positive_sizes(strides, "strides", layer, self.rank)
        self.padding = _padding(padding, layer)
        self.dilation_rate = dilation(dilation_rate, self.strides, layer)
        self.groups = groups_of(groups, self.filters, layer)

    @staticmethod
    def convolve(x: Tensor, kernel: Any, bias: Any, strides: Any, padding: str, relu: bool):
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        span = dilated_size(self.kernel_size, self.dilation_rate)
        kind = type(self).__name__
        sizes = conv_output_size(
            self.describe(), input_shape, span, self.strides, self.padding, kind
        )
        grouped_channels(input_shape[-1], self.groups, self.describe())
        return (*sizes, self.filters)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        channels = input_shape[-1] // self.groups
        return self._kernel_and_bias((*self.kernel_size, channels, self.filters))

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        if self._replaces_convolution_op():  # a subclass's own, as Keras' BaseConv calls it
            return self._through_convolution_op(x, relu)
        kernel = self._weights[0]
        if self.groups > 1 and self.rank == 2 and kernel.shape[2] == 1:
            return self._per_channel(x, kernel, relu)
        if self.groups > 1:
            kernel = conv_ops.group_kernel(kernel, self.groups)
        if self.dilation_rate != (1,) * self.rank:
            kernel = conv_ops.DilateKernel(self.dilation_rate)(kernel)
        # Without a bias, Conv2D's operation adds none (not a pass of zeros)
        bias = self._bias(x.dtype) if self.use_bias or self.rank != 2 else None
        return self.convolve(x, kernel, bias, self.strides, self.padding, relu)

    def _per_channel(self, x: Tensor, kernel: Tensor, relu: bool) -> Tensor:
        """A group per input channel (ConvNeXt's 7x7) is a depthwise convolution: output
        channel g*m + j reads channel g, as depthwise multiplier j does. It skips the
        block-diagonal kernel, whose zeros cost ``groups`` times the work."""
        kh, kw, _, filters = kernel.shape
        kernel = F.reshape(kernel, (kh, kw, self.groups, filters // self.groups))
        if self.dilation_rate != (1, 1):
            kernel = conv_ops.dilate_kernel(kernel, self.dilation_rate)
        bias = self._bias(x.dtype)
        out = conv_ops.depthwise_conv2d(x, kernel, bias, self.strides, self.padding)
        return F.relu(out) if relu else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": tuple(self.kernel_size),
            "strides": tuple(self.strides),
            "padding": self.padding,
            "dilation_rate": tuple(self.dilation_rate),
            "groups": self.groups,
        }


class Conv2D(_Convolution):
    """2-D convolution over NHWC input; kernel (kh, kw, in, out) and bias (out,) as in Keras.
    With ``dilation_rate`` the kernel's taps are spread out (an atrous convolution); it runs
    as an ordinary convolution with zeros between the taps. With ``groups`` each of that many
    blocks of filters reads only its block of input channels (kernel (kh, kw, in / groups,
    out)); it runs as an ordinary convolution with a block-diagonal kernel."""

    rank = 2
    convolve = staticmethod(F.conv2d)


class _TransposedConvolution(_Activated):
    """What Conv2DTranspose and Conv3DTranspose share: the adjoint of a convolution, which
    upsamples by its strides; kernel (*window, filters, in) and bias (filters,) as in Keras,
    each output size (size - 1) * s + k with 'valid' padding and size * s with 'same'.
    ``transpose`` is the operation."""

    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("kernel", "bias")

    takes_data_format = True

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        output_padding: int | tuple[int, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        layer = self.describe()
        self.filters = positive_int(filters, f"{layer}: filters")
        self.kernel_size = positive_sizes(kernel_size, "kernel_size", layer, self.rank)
        self.strides = positive_sizes(strides, "strides", layer, self.rank)
        self.padding = _padding(padding, layer)
        self.output_padding = None
        if output_padding is not None:
            given = (
                (output_padding,) * self.rank if isinstance(output_padding, int) else output_padding
            )
            extra = tuple(int(p) for p in given)
            if len(extra) != self.rank or any(
                not 0 <= p < s for p, s in zip(extra, self.strides, strict=True)
            ):
                raise ValueError(
                    f"{layer}: output_padding must give {self.rank} sizes, each in [0, strides) "
                    f"(strides {self.strides}); got {output_padding!r}."
                )
            self.output_padding = extra

    @staticmethod
    def transpose(x: Tensor, kernel: Any, bias: Any, strides: Any, padding: str) -> Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        require_spatial(input_shape, self.describe(), type(self).__name__, self.rank)
        extra = self.output_padding or (None,) * self.rank
        sizes = [
            conv_ops.transposed_size(size, k, s, self.padding, p)
            for size, k, s, p in zip(
                input_shape[:-1], self.kernel_size, self.strides, extra, strict=True
            )
        ]
        return (*sizes, self.filters)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        kernel = self.kernel_initializer((*self.kernel_size, self.filters, input_shape[-1]))
        return [kernel, *([self.bias_initializer((self.filters,))] if self.use_bias else [])]

    def _bias_size(self) -> int:
        return self.filters  # the kernel's last axis is the input's channels

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        kernel, bias = self._weights[0], self._bias(x.dtype)
        if self.output_padding is None:
            out = self.transpose(x, kernel, bias, self.strides, self.padding)
        else:
            out = self.transpose(x, kernel, bias, self.strides, self.padding, self.output_padding)
        return F.relu(out) if relu else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": tuple(self.kernel_size),
            "strides": tuple(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
        }


class Conv2DTranspose(_TransposedConvolution):
    """Keras' Conv2DTranspose (a "deconvolution"): the adjoint of a Conv2D, which upsamples
    by its strides. Kernel (kh, kw, filters, in) and bias (filters,) as in Keras; the output
    is (H-1)*s + k high with 'valid' padding and H*s with 'same'."""

    _keras_defaults = {"dilation_rate": (1, 1)}  # undilated only

    rank = 2
    transpose = staticmethod(conv_ops.conv2d_transpose)


class DepthwiseConv2D(_Activated):
    """Each input channel convolved with its own ``depth_multiplier`` filters, as Keras'
    DepthwiseConv2D: kernel (kh, kw, in, depth_multiplier), bias (in * depth_multiplier,)."""

    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("kernel", "bias")

    takes_data_format = True

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        activation: str | None = None,
        use_bias: bool = True,
        depthwise_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        dilation_rate: int | tuple[int, int] = 1,
        depthwise_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if depthwise_constraint is None:  # (minicnn's older configs call it kernel_constraint)
            depthwise_constraint = kwargs.pop("kernel_constraint", None)
        super().__init__(
            activation,
            use_bias,
            depthwise_initializer,
            bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=depthwise_constraint,
            **kwargs,
        )
        self.kernel_size = _positive_pair(kernel_size, "kernel_size", self.describe())
        self.strides = _positive_pair(strides, "strides", self.describe())
        self.padding = _padding(padding, self.describe())
        self.depth_multiplier = positive_int(
            depth_multiplier, f"{self.describe()}: depth_multiplier"
        )
        self.dilation_rate = dilation(dilation_rate, self.strides, self.describe())

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        span = dilated_size(self.kernel_size, self.dilation_rate)
        kind = type(self).__name__
        h, w = conv_output_size(
            self.describe(), input_shape, span, self.strides, self.padding, kind
        )
        return (h, w, self._depthwise_channels(input_shape))

    def _depthwise_channels(self, input_shape: Shape) -> int:
        return input_shape[2] * self.depth_multiplier

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        kernel = self.kernel_initializer((*self.kernel_size, input_shape[2], self.depth_multiplier))
        bias = [self.bias_initializer((input_shape[2] * self.depth_multiplier,))]
        return [kernel, *(bias if self.use_bias else [])]

    def _depthwise(self, x: Tensor, bias: Any) -> Tensor:
        kernel = self._weights[0]
        if self.dilation_rate != (1, 1):
            kernel = conv_ops.dilate_kernel(kernel, self.dilation_rate)
        return conv_ops.depthwise_conv2d(x, kernel, bias, self.strides, self.padding)

    def _bias_size(self) -> int:
        return self._weights[0].shape[2] * self.depth_multiplier

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        out = self._depthwise(x, self._bias(x.dtype))
        return F.relu(out) if relu else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        config["depthwise_constraint"] = config.pop("kernel_constraint")
        return {
            **config,
            "kernel_size": tuple(self.kernel_size),
            "strides": tuple(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "dilation_rate": tuple(self.dilation_rate),
        }


class SeparableConv2D(DepthwiseConv2D):
    """Keras' SeparableConv2D: a depthwise convolution (no bias), then a 1x1 convolution to
    ``filters`` channels with the bias and the activation. Weights: depthwise kernel (kh, kw,
    in, depth_multiplier), pointwise kernel (1, 1, in * depth_multiplier, filters), bias."""

    WEIGHT_NAMES = ("depthwise_kernel", "pointwise_kernel", "bias")

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        activation: str | None = None,
        use_bias: bool = True,
        depthwise_initializer: str = "glorot_uniform",
        pointwise_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        dilation_rate: int | tuple[int, int] = 1,
        pointwise_regularizer: Any = None,
        pointwise_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            activation,
            use_bias,
            depthwise_initializer,
            bias_initializer,
            dilation_rate=dilation_rate,
            **kwargs,
        )
        self.filters = positive_int(filters, f"{self.describe()}: filters")
        self.pointwise_initializer_name = initializers.config_of(pointwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    bias_index = 2

    @property
    def losses(self) -> list[Tensor]:
        pairs = [(self.kernel_regularizer, 0), (self.pointwise_regularizer, 1)]
        if self.use_bias:
            pairs.append((self.bias_regularizer, self.bias_index))
        return self._penalties(pairs)

    def _attach_constraints(self) -> None:
        super()._attach_constraints()
        self._weights[1].constraint = self.pointwise_constraint

    def _depthwise_channels(self, input_shape: Shape) -> int:
        return self.filters

    def _bias_size(self) -> int:
        return self.filters

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        channels = input_shape[2] * self.depth_multiplier
        depthwise = self.kernel_initializer(
            (*self.kernel_size, input_shape[2], self.depth_multiplier)
        )
        pointwise = self.pointwise_initializer((1, 1, channels, self.filters))
        bias = [self.bias_initializer((self.filters,))] if self.use_bias else []
        return [depthwise, pointwise, *bias]

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        xp = backend.get_array_module(x.data)
        channels = self._weights[1].shape[2]
        mixed = self._depthwise(x, xp.zeros(channels, x.dtype))  # the bias comes after mixing
        return F.conv2d(mixed, self._weights[1], self._bias(x.dtype), 1, "valid", relu=relu)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "pointwise_initializer": self.pointwise_initializer_name,
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }


class Flatten(Layer):
    """Each sample as one vector, in channels-last order."""

    keeps_dtype = True

    takes_data_format = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(input_shape)),)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.flatten(x)


class Dense(Quantizable, LowRankAdaptation, _Activated):
    """y = activation(x @ kernel + bias) over the last axis; kernel (in, out) as in Keras.

    On input of more than one axis per sample, as in Keras, it acts on the last one: a
    (batch, h, w, c) input gives (batch, h, w, units). ``lora_rank`` fine-tunes it by LoRA
    (``minicnn.lora``): weights [kernel (frozen), bias, lora_kernel_a, lora_kernel_b].
    ``quantize("int8")`` (``minicnn.quantization``) keeps the kernel as int8: weights
    [kernel (int8), bias, kernel_scale], then LoRA's; ``quantize("int4")`` as int4, two to
    a byte: [kernel (inputs, ceil(units / 2)), bias, kernel_scale (blocks, units),
    kernel_zero, g_idx], or [kernel, bias, kernel_scale (units,)] with a scale per unit."""

    _keras_defaults = {"quantization_config": None}

    WEIGHT_NAMES = ("kernel", "bias")

    supports_masking = True  # a padding mask passes through, as in Keras

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        self.units = positive_int(units, f"{self.describe()}: units")
        self._lora_options(lora_rank, lora_alpha)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        return self._kernel_and_bias((input_shape[-1], self.units))

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if self.quantization_mode:  # rebuilt from a quantized model's config
            self._quantized_build()
        self._lora_build()

    def _matrix_shape(self) -> tuple[int, int]:
        return (self._weights[0].shape[0], self.units)  # int4 packs the units' axis only

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        if self.quantization_mode:
            return self._quantized_transform(x, relu)
        kernel = self._adapted(self._weights[0])
        if x.ndim == 2:
            return F.linear(x, kernel, self._bias(x.dtype), relu=relu)
        # Every position's features at once: one GEMM on (batch * positions, features).
        rows = F.reshape(x, (-1, x.shape[-1]))
        out = F.linear(rows, kernel, self._bias(x.dtype), relu=relu)
        return F.reshape(out, (*x.shape[:-1], self.units))

    def _quantized_transform(self, x: Tensor, relu: bool) -> Tensor:
        """Keras' quantized Dense, then LoRA's term, the bias and the activation in float32.
        int8: int8 rows times the int8 kernel, both scales divided out. int4 (weights
        only): the rows times the int4 values over the scales, or, in blocks, times the
        dequantized kernel. The gradient reaches x through the dequantized kernel."""
        rows = x if x.ndim == 2 else F.reshape(x, (-1, x.shape[-1]))
        if self.quantization_mode == "int8":
            out = int8_matmul(rows, self._weights[0], self.quantized_scale)
        elif self.quantization_block_size is None:
            out = (rows @ Tensor(self.quantized_values())) / self.quantized_scale
        else:
            out = rows @ Tensor(self.dequantized_matrix())
        if self.lora_enabled:
            a, b = self._weights[-2], self._weights[-1]
            out = out + (rows @ a) @ b * (self.lora_alpha / self.lora_rank)
        if self.use_bias:
            out = out + self._weights[self.bias_index]
        if relu:
            out = F.relu(out)
        return out if x.ndim == 2 else F.reshape(out, (*x.shape[:-1], self.units))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            **self._lora_config(),
            **self._quantized_policy_config(),
        }


class Dropout(Layer):
    """Inverted dropout of a fraction ``rate`` of the units, active only in training."""

    supports_masking = True  # a padding mask passes through, as in Keras

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"{self.describe()}: rate must be a number in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = checked_noise_shape(noise_shape, self.describe())
        self.seed = seed
        # A layer's own generator draws its masks' seeds, as Keras' seed does.
        self._generator = None if seed is None else np.random.default_rng(seed)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.dropout(
            x,
            self.rate,
            training,
            noise_shape=resolved_noise_shape(self.noise_shape, x.shape, self.describe()),
            generator=self._generator,
        )

    def get_config(self) -> dict[str, Any]:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}


class SpatialDropout2D(Dropout):
    """Dropout of whole channels: each image loses a fraction ``rate`` of its feature maps
    (neighbouring pixels are correlated, so dropping single ones regularizes little)."""

    takes_data_format = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_image(input_shape, self.describe(), "SpatialDropout2D")
        return input_shape

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)

    def call(self, x: Tensor, training: bool) -> Tensor:
        # One draw per sample and channel, the same at every position.
        shape = (x.shape[0], *(1,) * (x.ndim - 2), x.shape[-1])
        return F.dropout(x, self.rate, training, noise_shape=shape, generator=self._generator)

    def get_config(self) -> dict[str, Any]:
        # Keras' config of its spatial dropouts: no trainable, and the dtype by name.
        dtype = self.dtype_policy.variable_dtype
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": dtype}
        if self.takes_data_format:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(SpatialDropout2D):
    """Dropout of whole channels: each sequence loses a fraction ``rate`` of its features
    at every step at once, in training only."""

    takes_data_format = False  # as in Keras

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "SpatialDropout1D")
        return input_shape


class Reshape(Layer):
    """Each sample to ``target_shape``; one dimension may be -1, as in Keras."""

    keeps_dtype = True

    def __init__(self, target_shape: Shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = tuple(target_shape)
        if (
            not target
            or not all(isinstance(d, (int, np.integer)) and (d >= 1 or d == -1) for d in target)
            or target.count(-1) > 1
        ):
            raise ValueError(
                f"{self.describe()}: target_shape must be positive ints with at most one -1, "
                f"got {target_shape!r}."
            )
        self.target_shape = tuple(int(d) for d in target)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        size = int(np.prod(input_shape))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if -1 in self.target_shape and size % known == 0:
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size or -1 in self.target_shape:
            raise ValueError(
                f"{self.describe()}: an input of shape {(None, *input_shape)} ({size} values "
                f"per sample) cannot be reshaped to {(None, *self.target_shape)}."
            )
        return self.target_shape

    def call(self, x: Tensor, training: bool) -> Tensor:
        return F.reshape(x, (x.shape[0], *self.compute_output_shape(x.shape[1:])))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": tuple(self.target_shape)}


class Lambda(Layer):
    """Keras' Lambda: ``function`` (of a Tensor, giving a Tensor; called with ``arguments``
    as keywords) as a layer without weights, e.g. ``Lambda(lambda x: x / 255.0)``; Tensor
    arithmetic and ``minicnn.functions`` differentiate through it. The output shape is
    ``output_shape`` (a shape, or a function of the input shape), or found by running
    ``function`` on one sample of zeros. As in Keras, a function defined at a module's top
    level is saved by name and found again when the model is loaded (``custom_objects``, a
    registered object, or its module); a lambda is code, which a file does not hold."""

    def __init__(
        self,
        function: Any,
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        from .named_functions import named_function

        super().__init__(**kwargs)
        what = f"Lambda layer '{self.name}'"
        if isinstance(function, dict):  # Keras' entry of a function, from a file
            function = named_function(function, what)
        if not callable(function):
            raise TypeError(f"{self.describe()}: function must be callable, got {function!r}.")
        self.function = function
        if isinstance(output_shape, dict):  # Keras' entry of a named function
            output_shape = named_function(output_shape, f"{what}'s output_shape")
        self._output_shape = output_shape
        if mask is not None:
            raise ValueError(
                f"{what}: minicnn's Lambda takes no mask (a mask goes with the layers that "
                "make one, such as Embedding(mask_zero=True) or Masking)."
            )
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"{what}: arguments must be a dict of keywords, got {arguments!r}.")
        self.arguments = dict(arguments or {})

    @property
    def serializable(self) -> bool:  # type: ignore[override]
        from .named_functions import is_named

        shape_named = not callable(self._output_shape) or is_named(self._output_shape)
        return is_named(self.function) and shape_named

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.built:  # as Keras' Lambda, any of its inputs: a tensor, or a list
            self.takes_list = isinstance(x, (list, tuple))
        return super().__call__(x, *args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if callable(self._output_shape):
            # As in Keras, a function of the input shape(s) with the batch axis first.
            return batch_taken_off(self._output_shape(to_keras_shapes(input_shape)))
        if self._output_shape is not None:
            return tuple(self._output_shape)
        return self._probed_output_shape(input_shape)

    def call(self, x: Any, training: bool) -> Tensor:
        out = self.function(x, **self.arguments)
        return out if isinstance(out, Tensor) else Tensor(out)

    def get_config(self) -> dict[str, Any]:
        """Keras' config: the function by name (Keras' entry of it) and its arguments."""
        from .named_functions import function_entry, is_named

        if not is_named(self.function):
            name = getattr(self.function, "__qualname__", repr(self.function))
            return {**super().get_config(), "function": name}  # what a weights file checks
        config = {**super().get_config(), "function": function_entry(self.function)}
        if callable(self._output_shape):
            config["output_shape"] = function_entry(self._output_shape)
        elif self._output_shape is not None:
            config["output_shape"] = list(self._output_shape)
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Lambda:
        function = config.get("function")
        if isinstance(function, str):  # an unnamed function's name, from get_config
            raise ValueError(
                f"A Lambda layer ({function}) runs Python code, which a file cannot hold; "
                "build the model in code and load its weights."
            )
        return cls(**config)


from .adaptive_pooling import (  # noqa: E402
    ADAPTIVE_POOLING_LAYERS,
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)

# The 1-D twins subclass the 2-D layers above, so they are imported once those exist.
from .conv1d_twins import Conv1DTranspose, DepthwiseConv1D, SeparableConv1D  # noqa: E402
from .conv_recurrent import (  # noqa: E402
    CONV_RECURRENT_LAYERS,
    ConvLSTM1D,
    ConvLSTM2D,
    ConvLSTM3D,
)
from .einsum import EinsumDense  # noqa: E402
from .encoding_layers import CategoryEncoding, Discretization  # noqa: E402
from .hashing import HashedCrossing, Hashing  # noqa: E402
from .input_spec import InputSpec  # noqa: E402, F401
from .policy_augmentation import AugMix, RandAugment  # noqa: E402
from .residual_layers import LayerScale, StochasticDepth  # noqa: E402
from .rnn_cells import (  # noqa: E402
    CELL_LAYERS,
    RNN,
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    StackedRNNCells,
)
from .spectral_normalization import SpectralNormalization  # noqa: E402
from .spectrogram import MelSpectrogram, STFTSpectrogram  # noqa: E402
from .symbolic_arithmetic import GetItem, TensorArithmetic  # noqa: E402
from .symbolic_ops import OpCall  # noqa: E402
from .text_layers import (  # noqa: E402
    TEXT_LAYERS,
    IntegerLookup,
    StringLookup,
    TextVectorization,
)
from .token_layers import ClassToken, PositionEmbedding  # noqa: E402
from .volume_layers import (  # noqa: E402
    VOLUME_LAYERS,
    AveragePooling3D,
    Conv3D,
    Conv3DTranspose,
    Cropping3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    MaxPooling3D,
    SpatialDropout3D,
    UpSampling3D,
    ZeroPadding3D,
)
from .wrapper import Wrapper  # noqa: E402


def has_kernel(layer: Layer) -> bool:
    """Whether the layer's first weight is a kernel in Keras' sense (Keras' ``layer.kernel``
    or ``layer.embeddings``): Dense, the convolutions and Embedding, not the separable ones."""
    owners = (Dense, _Convolution, _TransposedConvolution, DepthwiseConv2D, Conv1D, Embedding)
    return isinstance(layer, owners) and not isinstance(layer, SeparableConv2D)


LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        Flatten,
        Dense,
        Dropout,
        Activation,
        ReLU,
        LeakyReLU,
        PReLU,
        Conv1D,
        Embedding,
        ReversibleEmbedding,
        MaxPooling1D,
        AveragePooling1D,
        GlobalAveragePooling1D,
        GlobalMaxPooling1D,
        ELU,
        Softmax,
        Reshape,
        BatchNormalization,
        InputLayer,
        Add,
        Subtract,
        Multiply,
        Average,
        Maximum,
        CustomScaleLayer,
        Minimum,
        Concatenate,
        Dot,
        RandomFlip,
        RandomTranslation,
        RandomRotation,
        RandomZoom,
        RandomCrop,
        RandomBrightness,
        RandomContrast,
        RandomShear,
        RandomInvert,
        AutoContrast,
        Pipeline,
        RandomErasing,
        Solarization,
        RandomGrayscale,
        RandomPosterization,
        RandomColorDegeneration,
        RandomSharpness,
        RandomSaturation,
        RandomHue,
        RandomColorJitter,
        RandomGaussianBlur,
        Equalization,
        ContrastLimitedAdaptiveHistogramEqualization,
        MixUp,
        CutMix,
        RandomPerspective,
        RandomElasticTransform,
        Rescaling,
        Resizing,
        Normalization,
        CenterCrop,
        LayerNormalization,
        GroupNormalization,
        RMSNormalization,
        SimpleRNN,
        LSTM,
        GRU,
        Bidirectional,
        TimeDistributed,
        RepeatVector,
        Identity,
        ZeroPadding1D,
        Cropping1D,
        UpSampling1D,
        SpatialDropout1D,
        MultiHeadAttention,
        Attention,
        AdditiveAttention,
        GroupQueryAttention,
        Permute,
        GaussianNoise,
        GaussianDropout,
        AlphaDropout,
        SpatialDropout2D,
        ZeroPadding2D,
        Cropping2D,
        UpSampling2D,
        Lambda,
        DepthwiseConv2D,
        SeparableConv2D,
        Conv2DTranspose,
        Conv1DTranspose,
        DepthwiseConv1D,
        SeparableConv1D,
        SpectralNormalization,
        EinsumDense,
        Hashing,
        HashedCrossing,
        STFTSpectrogram,
        MelSpectrogram,
        Masking,
        ActivityRegularization,
        UnitNormalization,
        CategoryEncoding,
        Discretization,
        *VOLUME_LAYERS,
        *ADAPTIVE_POOLING_LAYERS,
        RandAugment,
        AugMix,
        Wrapper,
        TensorArithmetic,
        OpCall,
        GetItem,
        LayerScale,
        StochasticDepth,
        PositionEmbedding,
        ClassToken,
        *TEXT_LAYERS,
        *CONV_RECURRENT_LAYERS,
        *CELL_LAYERS,
    )
}

# Keras' other names of layers (``layers.MaxPool2D``, ``layers.Convolution2D``).
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
__all__ += [  # noqa: PLE0605 - extended after the imports it names
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Convolution1DTranspose",
    "Convolution2DTranspose",
    "Convolution3DTranspose",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "serialize",
    "deserialize",
]


def serialize(layer: Layer) -> dict[str, Any]:
    """Keras' ``layers.serialize``: the layer as ``{"module", "class_name", "config",
    "registered_name"}``."""
    from .serialization import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """Keras' ``layers.deserialize``: a new layer from what ``serialize`` wrote (a custom
    class found in ``custom_objects`` or registered)."""
    from .serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects)
