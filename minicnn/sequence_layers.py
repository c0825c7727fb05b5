"""Keras' layers for sequences: Embedding, which turns token ids into vectors, and the 1-D layers
over (batch, steps, channels): Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D
and GlobalMaxPooling1D. Each 1-D layer runs as its 2-D twin on an image one row high, so the
kernels, the gradients and the GPU path are the 2-D ones."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, constraints, conv_ops, initializers, ops, regularizers, tensor_ops
from . import functions as F
from .autograd import Function, Tensor
from .convolution_op import ConvolutionOp
from .data_checks import positive_int
from .layer_base import Layer, Shape, _Activated, grouped_channels, groups_of
from .lora import LowRankAdaptation
from .quantization import (
    Quantizable,
    dequantize_with_sz_map,
    int8_matmul,
    unpack_int4_values,
)

PADDINGS = ("valid", "same", "causal")


def _require_sequence(input_shape: Shape, layer: str, kind: str) -> None:
    if len(input_shape) != 2:
        raise ValueError(
            f"{layer} expects input of shape (batch, steps, channels); got "
            f"{(None, *input_shape)}. {kind} cannot follow Flatten or Dense."
        )


def _positive(value: Any, what: str, layer: str) -> int:
    """A positive int, or a 1-tuple of one (Keras takes both)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return positive_int(value, f"{layer}: {what}")


def _padding(value: Any, layer: str, allowed: tuple[str, ...]) -> str:
    padding = str(value).lower()
    if padding not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {value!r}.")
    return padding


def _as_image(x: Tensor) -> Tensor:
    """(batch, steps, channels) as an image one row high."""
    return F.reshape(x, (x.shape[0], 1, *x.shape[1:]))


def _as_sequence(x: Tensor) -> Tensor:
    return F.reshape(x, (x.shape[0], x.shape[2], x.shape[3]))


def _output_steps(layer: Layer, steps: int, window: int, stride: int, padding: str) -> int:
    if padding == "causal":  # padded at the start by window - 1: a 'valid' window after that
        out = F.window_geometry(steps + window - 1, window, stride, "valid")[0]
    else:
        out = F.window_geometry(steps, window, stride, padding)[0]
    if out < 1:
        raise ValueError(
            f"{layer.describe()}: a window of {window} ('{padding}') does not fit its {steps} "
            f"steps; the output would have {out}."
        )
    return out


class Conv1D(ConvolutionOp, _Activated):
    """1-D convolution; kernel (kernel_size, in / groups, filters) and bias (filters,) as in
    Keras. ``padding="causal"`` pads only the start, so output step t sees input steps up to
    t; ``groups`` splits the channels as Conv2D's does."""

    WEIGHT_NAMES = ("kernel", "bias")
    saves_own_weights_only = True  # as Keras' BaseConv
    _lists_activity_regularizer = True

    takes_data_format = True

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
        dilation_rate: int | tuple[int] = 1,
        groups: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        layer = self.describe()
        self.filters = positive_int(filters, f"{layer}: filters")
        self.groups = groups_of(groups, self.filters, layer)
        self.kernel_size = _positive(kernel_size, "kernel_size", layer)
        self.strides = _positive(strides, "strides", layer)
        self.padding = _padding(padding, layer, PADDINGS)
        self.dilation_rate = _positive(dilation_rate, "dilation_rate", layer)
        if self.dilation_rate > 1 and self.strides > 1:
            raise ValueError(
                f"{layer}: strides > 1 together with dilation_rate > 1 is not supported (as in "
                "Keras); use one or the other."
            )

    @property
    def _span(self) -> int:
        return (self.kernel_size - 1) * self.dilation_rate + 1

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "Conv1D")
        grouped_channels(input_shape[-1], self.groups, self.describe())
        steps = _output_steps(self, input_shape[0], self._span, self.strides, self.padding)
        return (steps, self.filters)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        channels = input_shape[1] // self.groups
        return self._kernel_and_bias((self.kernel_size, channels, self.filters))

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        kernel = F.reshape(self._weights[0], (1, *self._weights[0].shape))
        if self.groups > 1:
            kernel = conv_ops.group_kernel(kernel, self.groups)
        if self.dilation_rate > 1:
            kernel = conv_ops.dilate_kernel(kernel, (1, self.dilation_rate))
        image = _as_image(x)
        padding = self.padding
        if padding == "causal":
            image = F.ZeroPad(((0, 0), (self._span - 1, 0)))(image)
            padding = "valid"
        out = F.conv2d(image, kernel, self._bias(x.dtype), (1, self.strides), padding, relu=relu)
        return _as_sequence(out)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": (self.kernel_size,),
            "strides": (self.strides,),
            "padding": self.padding,
            "dilation_rate": (self.dilation_rate,),
            "groups": self.groups,
        }


class _Pooling1D(Layer):
    """A pool_size window slid by strides (the window itself by default) over each channel."""

    takes_data_format = True

    pool2d: Any = None

    def __init__(
        self,
        pool_size: int | tuple[int] = 2,
        strides: int | tuple[int] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        layer = self.describe()
        self.pool_size = _positive(pool_size, "pool_size", layer)
        self.strides = self.pool_size if strides is None else _positive(strides, "strides", layer)
        self.padding = _padding(padding, layer, ("valid", "same"))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "Pooling")
        steps = _output_steps(self, input_shape[0], self.pool_size, self.strides, self.padding)
        return (steps, input_shape[1])

    def call(self, x: Tensor, training: bool) -> Tensor:
        pool = type(self).pool2d
        out = pool(_as_image(x), (1, self.pool_size), (1, self.strides), self.padding)
        return _as_sequence(out)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": (self.pool_size,),
            "strides": (self.strides,),
            "padding": self.padding,
        }


class MaxPooling1D(_Pooling1D):
    """Max over windows of steps; 'same' padding counts outside steps as -inf."""

    pool2d = staticmethod(F.max_pool2d)


class AveragePooling1D(_Pooling1D):
    """Mean over windows of steps; a 'same' border window averages only the steps inside."""

    pool2d = staticmethod(F.avg_pool2d)


class _GlobalPooling1D(Layer):
    """Over every step at once: (batch, steps, channels) -> (batch, channels), or (batch, 1,
    channels) with ``keepdims``."""

    takes_data_format = True

    pool2d: Any = None

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _require_sequence(input_shape, self.describe(), "Global pooling")
        return (1, input_shape[1]) if self.keepdims else (input_shape[1],)

    def call(self, x: Tensor, training: bool) -> Tensor:
        out = type(self).pool2d(_as_image(x))
        return F.reshape(out, (x.shape[0], 1, x.shape[2])) if self.keepdims else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps; given a mask, over the steps it keeps, as in Keras."""

    pool2d = staticmethod(F.global_avg_pool2d)
    supports_masking = True

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        return None

    def masked_call(self, x: Tensor, training: bool, mask: Any) -> Tensor:
        xp = backend.get_array_module(x.data)
        keep = xp.asarray(mask).reshape(x.shape[0], -1, 1).astype(x.dtype)
        counts = xp.maximum(keep.sum(axis=1, keepdims=self.keepdims), 1)
        return tensor_ops.reduce_sum(x * keep, 1, self.keepdims) / counts


class GlobalMaxPooling1D(_GlobalPooling1D):
    pool2d = staticmethod(F.global_max_pool2d)


class Masking(Layer):
    """Keras' Masking: a step whose values all equal ``mask_value`` is padding; it comes out
    as zeros, and the layers after it that read masks (the recurrent ones,
    GlobalAveragePooling1D) skip it."""

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise ValueError(f"{self.describe()}: mask_value must be a number, got {mask_value!r}.")
        self.mask_value = float(mask_value)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        data = x.data if isinstance(x, Tensor) else x
        return (data != data.dtype.type(self.mask_value)).any(axis=-1)

    def call(self, x: Tensor, training: bool) -> Tensor:
        keep = self.compute_mask(x, None)[..., None].astype(x.dtype)
        return F.mul(x, keep)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


class EmbeddingLookup(Function):
    """Rows of a (input_dim, output_dim) table picked by integer ids (held in a float array, as
    minicnn's inputs are); the table's gradient adds up the rows' gradients, repeated ids
    adding up."""

    def __init__(self, layer: str) -> None:
        self.layer = layer

    def forward(self, ids: Any, table: Any) -> Any:
        xp = backend.get_array_module(table)
        index = ids.astype(np.int64)
        if xp is np:
            bad = (index < 0) | (index >= len(table)) | (index != ids)
            if bad.any():
                value = ids[bad].flat[0]
                raise ValueError(
                    f"{self.layer}: ids must be integers in [0, {len(table)}); got {value}."
                )
        else:  # checking would make the GPU wait for the host; clamp, as Keras' GPUs do
            index = xp.clip(index, 0, len(table) - 1)
        self.index, self.table_shape = index, table.shape
        return table[index]

    def backward(self, grad: Any) -> tuple[None, Any]:
        xp = backend.get_array_module(grad)
        dtable = xp.zeros(self.table_shape, dtype=grad.dtype)
        backend.scatter_add(dtable, self.index.reshape(-1), grad.reshape(-1, self.table_shape[1]))
        return None, dtable


class Embedding(Quantizable, LowRankAdaptation, Layer):
    """Keras' Embedding: token ids (batch, ...) to vectors (batch, ..., output_dim), one
    learned row per id in [0, input_dim). On the CPU an id outside that range is an error; on a
    GPU it is clamped (a check would make the GPU wait for the host)."""

    _keras_defaults = {"quantization_config": None}
    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("embeddings",)

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: str = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._lora_options(lora_rank, lora_alpha)
        layer = self.describe()
        self.input_dim = positive_int(input_dim, f"{layer}: input_dim")
        self.output_dim = positive_int(output_dim, f"{layer}: output_dim")
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer_name = initializers.config_of(embeddings_initializer)
        self._initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        # Keras' weights: the starting embeddings (pretrained word vectors, say).
        self._given = None
        if weights is not None:
            given = weights[0] if isinstance(weights, (list, tuple)) else weights
            given = np.asarray(given, backend.FLOAT)
            if given.shape != (self.input_dim, self.output_dim):
                raise ValueError(
                    f"{layer}: weights must be one array of shape (input_dim, output_dim) = "
                    f"({self.input_dim}, {self.output_dim}); got {given.shape}."
                )
            self._given = given

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape, self.output_dim)

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        if self._given is not None:
            return [self._given.copy()]
        return [self._initializer((self.input_dim, self.output_dim))]

    def _attach_constraints(self) -> None:
        self._weights[0].constraint = self.embeddings_constraint

    lora_names = ("lora_embeddings_a", "lora_embeddings_b")
    # Keras' quantized Embedding: one scale per row of the table (int4: per block of a row).
    quantized_axis = -1
    scale_name = "embeddings_scale"
    zero_name = "embeddings_zero"

    def _matrix_shape(self) -> tuple[int, int]:
        return (self.input_dim, self.output_dim)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if self.quantization_mode:  # rebuilt from a quantized model's config
            self._quantized_build()
        self._lora_build()

    def call(self, x: Tensor, training: bool) -> Tensor:
        if self.quantization_mode:
            return self._quantized_call(x)
        return EmbeddingLookup(self.describe())(x, self._adapted(self._weights[0]))

    def _quantized_call(self, x: Tensor) -> Tensor:
        """Keras' quantized Embedding: each id's row of quantized values dequantized with
        its own scales (int4 in blocks: and zero points), plus LoRA's rows."""
        rows = EmbeddingLookup(self.describe())(x, self._weights[0]).data
        xp = backend.get_array_module(rows)
        index = xp.clip(xp.asarray(x.data).astype(np.int64), 0, self.input_dim - 1)
        out = Tensor(self.dequantize(self.quantized_values(rows), index))
        if self.lora_enabled:
            a, b = self._weights[-2], self._weights[-1]
            picked = EmbeddingLookup(self.describe())(x, a)
            out = out + (picked @ b) * (self.lora_alpha / self.lora_rank)
        return out

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """With ``mask_zero``, id 0 is padding: the layers after it that read masks (the
        recurrent ones, GlobalAveragePooling1D) skip those steps."""
        if not self.mask_zero:
            return None
        return (x.data if isinstance(x, Tensor) else x) != 0

    @property
    def losses(self) -> list[Tensor]:
        if self.quantization_mode:  # the quantized table is a constant
            return self._penalties([])
        return self._penalties([(self.embeddings_regularizer, 0)])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": self.embeddings_initializer_name,
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "mask_zero": self.mask_zero,
            **self._lora_config(),
            **self._quantized_policy_config(),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
        }


class ReversibleEmbedding(Embedding):
    """Keras' ReversibleEmbedding, a language model's tied input and output embedding:
    ``layer(ids)`` looks rows up as Embedding does, and ``layer(hidden, reverse=True)``
    projects (..., output_dim) back to (..., input_dim) logits with the table's transpose
    (``tie_weights``, the default) or a ``reverse_embeddings`` matrix of its own; with
    ``logit_soft_cap`` c the logits are tanh(logits / c) * c."""

    call_arguments = ("reverse",)

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer: str = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        reverse_dtype: Any = None,
        logit_soft_cap: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            **kwargs,
        )
        if reverse_dtype not in (None, "float32"):
            raise ValueError(
                f"{self.describe()}: reverse_dtype {reverse_dtype!r}; minicnn computes in "
                "float32 only."
            )
        if logit_soft_cap is not None and not float(logit_soft_cap) > 0:
            raise ValueError(f"{self.describe()}: logit_soft_cap must be positive.")
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = None if logit_soft_cap is None else float(logit_soft_cap)

    WEIGHT_NAMES = ("embeddings", "reverse_embeddings")
    OPTIONAL_WEIGHTS = {**Layer.OPTIONAL_WEIGHTS, "reverse_embeddings": "untied"}

    @property
    def untied(self) -> bool:
        return not self.tie_weights

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        table = super()._create_weights(input_shape)
        if self.tie_weights:
            return table
        return [*table, self._initializer((self.output_dim, self.input_dim))]

    def _attach_constraints(self) -> None:
        self._weights[0].constraint = self.embeddings_constraint

    def _quantized_build(self) -> None:
        """Keras' quantized ReversibleEmbedding: the table as Embedding's (the tied reverse
        projection reads it transposed), and an untied reverse matrix (output_dim,
        input_dim) quantized down its columns, a scale per id (int4: two to a byte along
        axis 0; in blocks, with the table's block size and float32 zero points, as Keras
        keeps them); in Keras' order: the table and its scales, then the reverse matrix
        and its."""
        super()._quantized_build()
        if self.tie_weights:
            return
        table, reverse, *table_extras = self._weights
        # Its scales cover its columns (axis 0), and int4 packs down them too.
        values, scale, zero = self._quantized_values(reverse.data, axis=0, pack_axis=0)
        reverse.data = values
        reverse.requires_grad = False
        self._frozen_weights.add(id(reverse))
        extras = {"reverse_embeddings_scale": scale}
        if zero is not None:
            extras["reverse_embeddings_zero"] = zero.astype(np.float32)
        for name, array in extras.items():
            array = backend.to_numpy(array)
            self.add_weight(array.shape, lambda shape, a=array: a, trainable=False, name=name)
        added = self._weights[-len(extras) :]
        self._weights[:] = [table, *table_extras, reverse, *added]

    def call(self, x: Tensor, training: bool, reverse: bool = False) -> Tensor:
        if not reverse:
            return super().call(x, training)
        self._check_reversed(tuple(x.shape))
        if self.quantization_mode == "int8":
            # Keras' int8 product: x quantized row by row, int8 x int8, both scales out.
            if self.tie_weights:
                kernel, scale = ops.transpose(self._weights[0], (1, 0)), self.quantized_scale
            else:
                kernel, scale = self._weight_named("reverse_embeddings"), self._reverse_scale
            logits = int8_matmul(x, kernel, scale)
        elif self.quantization_mode == "int4":
            logits = self._int4_reverse(x)
        elif self.tie_weights:
            logits = x @ ops.transpose(self._adapted(self._weights[0]), (1, 0))
        else:
            logits = x @ self._weights[1]
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = F.tanh(logits * (1.0 / cap)) * cap
        return logits

    @property
    def _reverse_scale(self) -> Tensor:
        return self._weight_named("reverse_embeddings_scale")

    def _int4_reverse(self, x: Tensor) -> Tensor:
        """Keras' int4 reverse call (weights only): x times the int4 values over their
        scales, or, in blocks, times the dequantized matrix; the tied one the table's,
        transposed."""
        per_unit = self.quantization_block_size is None
        if self.tie_weights:
            values = self.quantized_values()  # (input_dim, output_dim)
            if per_unit:
                return (x @ Tensor(values.T)) / self.quantized_scale
            return x @ Tensor(self.dequantize(values).T)
        packed = self._weight_named("reverse_embeddings").data
        values = unpack_int4_values(packed, self.output_dim, axis=0).astype(np.float32)
        if per_unit:
            return (x @ Tensor(values)) / self._reverse_scale
        zero = self._weight_named("reverse_embeddings_zero").data
        groups = self._weight_named("g_idx").data
        kernel = dequantize_with_sz_map(values, self._reverse_scale.data, zero, groups, 0)
        return x @ Tensor(kernel)

    def _check_reversed(self, shape: tuple[Any, ...]) -> None:
        """A reverse call's input: vectors of ``output_dim`` values."""
        if shape[-1] != self.output_dim:
            raise ValueError(
                f"{self.describe()}: reverse=True takes vectors of output_dim = "
                f"{self.output_dim} values; got shape {shape}."
            )

    def compute_mask(self, x: Any, mask: Any = None, reverse: bool = False) -> Any:
        return None if reverse else super().compute_mask(x, mask)

    def call_output_shape(self, input_shape: Shape, kwargs: dict[str, Any]) -> Shape | None:
        if not kwargs.get("reverse"):
            return None
        self._check_reversed((None, *input_shape))
        if not self.built:  # its weights do not depend on the ids' shape
            self._build_for_graph(tuple(input_shape[:-1]))
        return (*input_shape[:-1], self.input_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "tie_weights": self.tie_weights,
            "reverse_dtype": self.reverse_dtype,
            "logit_soft_cap": self.logit_soft_cap,
        }
