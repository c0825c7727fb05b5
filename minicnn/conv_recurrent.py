"""Keras' ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: an LSTM whose input and recurrent products
are convolutions, over sequences of sequences, images or volumes (a video, a radar loop).

Each is written with minicnn's differentiable operations: one convolution of every frame at
once with the input kernel, then per step a 'same' convolution of the hidden state with the
recurrent kernel and Keras' gates (i, f, c, o), so autograd gives the backward pass. The
gradient check and a loop over samples with a naive convolution are the tests' oracles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import activations, backend, conv_ops, ops
from . import functions as F
from .autograd import Tensor
from .data_checks import positive_int
from .layer_base import Shape, _padding, positive_sizes
from .layers import conv_output_size, dilated_size, dilation
from .recurrent import RecurrentOptions, Reverse, StartsFromStates
from .volume_ops import conv3d


def _conv(rank: int, x: Tensor, kernel: Any, bias: Any, strides: Any, padding: str) -> Tensor:
    """The convolution of ``rank`` spatial axes (a 1-D one as a 2-D one on one row)."""
    if rank == 1:
        image = F.reshape(x, (x.shape[0], 1, *x.shape[1:]))
        out = F.conv2d(image, F.reshape(kernel, (1, *kernel.shape)), bias, (1, strides[0]), padding)
        return F.reshape(out, (out.shape[0], *out.shape[2:]))
    if rank == 2:
        return F.conv2d(x, kernel, bias, strides, padding)
    return conv3d(x, kernel, bias, strides, padding)


class _ConvLSTM(StartsFromStates, RecurrentOptions):
    """What the three share: Keras' arguments, weights (kernel (*window, in, 4 * filters),
    recurrent kernel (*window, filters, 4 * filters), bias (4 * filters,), gates in Keras'
    order i, f, c, o) and the recurrence; initial states, stateful runs and padding masks
    as Keras' RNN layer has them."""

    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")
    CELL_NAME = "conv_lstm_cell"

    rank = 2
    takes_data_format = True
    channels_first_axis = 1  # (time, channels, ...), as Keras' channels_first ConvLSTM

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        dilation_rate: int | tuple[int, ...] = 1,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        layer = self.describe()
        self.filters = positive_int(filters, f"{layer}: filters")
        self.kernel_size = positive_sizes(kernel_size, "kernel_size", layer, self.rank)
        self.strides = positive_sizes(strides, "strides", layer, self.rank)
        self.padding = _padding(padding, layer)
        self.dilation_rate = dilation(dilation_rate, self.strides, layer)
        self.activation, self.activation_name = activations.resolve(activation)
        self.recurrent_activation, self.recurrent_activation_name = activations.resolve(
            recurrent_activation
        )
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self._recurrent_options(
            {
                "kernel_initializer": kernel_initializer,
                "recurrent_initializer": recurrent_initializer,
                "bias_initializer": bias_initializer,
            },
            (kernel_regularizer, recurrent_regularizer, bias_regularizer),
            (kernel_constraint, recurrent_constraint, bias_constraint),
            dropout,
            recurrent_dropout,
            seed,
        )
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self._states = None
        # Keras' unroll changes how its loop runs, not what it gives; minicnn's is one loop.
        self.unroll = bool(unroll)
        # A masked step of a returned sequence: zeros, or (Keras' default) the last output.
        self.zero_output_for_mask = bool(zero_output_for_mask)

    # -- shapes and weights ----------------------------------------------------------------
    def _sequence_shape(self, input_shape: Any) -> Shape:
        """The input sequence's shape (the first of a list with initial states), the
        states checked against the step's output."""
        if not self.takes_list:
            return tuple(input_shape)
        sequence, *states = input_shape
        state = (*self._frame_output(tuple(sequence)), self.filters)
        for given in states:
            if tuple(given) != state:
                raise ValueError(
                    f"{self.describe()}: an initial state has the shape of a step's output, "
                    f"{(None, *state)}; got {(None, *given)}."
                )
        return tuple(sequence)

    def _frame_output(self, input_shape: Shape) -> tuple[int, ...]:
        """The spatial sizes of a step's output."""
        if len(input_shape) != self.rank + 2:
            axes = ("steps", "height, width", "depth, height, width")[self.rank - 1]
            raise ValueError(
                f"{self.describe()} expects input of shape (batch, time, {axes}, channels); "
                f"got {(None, *input_shape)}."
            )
        span = dilated_size(self.kernel_size, self.dilation_rate)
        return conv_output_size(
            self.describe(),
            tuple(input_shape[1:]),
            span,
            self.strides,
            self.padding,
            type(self).__name__,
        )

    def compute_output_shape(self, input_shape: Shape) -> Any:
        input_shape = self._sequence_shape(input_shape)
        frame = (*self._frame_output(input_shape), self.filters)
        out = (input_shape[0], *frame) if self.return_sequences else frame
        return [out, frame, frame] if self.return_state else out

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        input_shape = self._sequence_shape(input_shape)
        gates = 4 * self.filters
        made = self._initializers
        weights = [
            made["kernel_initializer"]((*self.kernel_size, input_shape[-1], gates)),
            made["recurrent_initializer"]((*self.kernel_size, self.filters, gates)),
        ]
        if self.use_bias:
            bias = made["bias_initializer"]((gates,))
            if self.unit_forget_bias:
                bias[self.filters : 2 * self.filters] = 1.0
            weights.append(bias)
        return weights

    # -- the recurrence --------------------------------------------------------------------------
    def _kernel(self, weights: list[Any], index: int) -> Any:
        kernel = weights[index]
        if self.dilation_rate != (1,) * self.rank:
            kernel = conv_ops.DilateKernel(self.dilation_rate)(kernel)
        return kernel

    def _step_mask(self, mask: Any, x: Tensor) -> Any:
        """A (batch, time) padding mask as booleans that broadcast over a step's state."""
        xp = backend.get_array_module(x.data)
        keep = xp.asarray(mask).astype(bool)
        if keep.shape != tuple(x.shape[:2]):
            raise ValueError(
                f"{self.describe()}: a padding mask has shape (batch, time) = "
                f"{tuple(x.shape[:2])}; got {keep.shape}."
            )
        keep = keep.reshape(*keep.shape, *(1,) * (self.rank + 1))
        return keep[:, ::-1] if self.go_backwards else keep

    def _run(
        self,
        x: Tensor,
        training: bool,
        weights: list[Any],
        mask: Any = None,
        initial: list[Any] | None = None,
    ) -> Any:
        """The recurrence over x's frames with these weights (a Bidirectional layer holds
        them), from ``initial`` states (h, c) or a stateful
        layer's or zeros; a step that ``mask`` (batch, time) hides keeps the states, as in
        Keras' rnn."""
        xp = backend.get_array_module(x.data)
        n, steps = x.shape[0], x.shape[1]
        keep = None if mask is None else self._step_mask(mask, x)
        if self.go_backwards:
            x = Reverse()(x)
        if training and self.dropout:
            noise = (n, 1, *x.shape[2:])
            x = F.dropout(x, self.dropout, True, noise_shape=noise, generator=self._generator)
        gates = 4 * self.filters
        bias = weights[2] if self.use_bias else xp.zeros(gates, x.dtype)
        frames = F.reshape(x, (n * steps, *x.shape[2:]))
        kernel = self._kernel(weights, 0)
        projected = _conv(self.rank, frames, kernel, bias, self.strides, self.padding)
        projected = F.reshape(projected, (n, steps, *projected.shape[1:]))
        state_shape = (n, *projected.shape[2:-1], self.filters)
        started = self._starting_states(initial, state_shape)
        h, c = started or [Tensor(xp.zeros(state_shape, x.dtype)) for _ in range(2)]
        recurrent_mask = None
        if training and self.recurrent_dropout:
            recurrent_mask = F.dropout_mask(
                state_shape, self.recurrent_dropout, x.dtype, xp, self._generator
            )
        recurrent_kernel, no_bias = self._kernel(weights, 1), xp.zeros(gates, x.dtype)
        ones = (1,) * self.rank
        f = self.filters
        outputs = []
        for t in range(steps):
            h_in = h if recurrent_mask is None else F.Dropout(recurrent_mask)(h)
            z = projected[:, t] + _conv(self.rank, h_in, recurrent_kernel, no_bias, ones, "same")
            i = self.recurrent_activation(z[..., :f])
            forget = self.recurrent_activation(z[..., f : 2 * f])
            candidate = self.activation(z[..., 2 * f : 3 * f])
            o = self.recurrent_activation(z[..., 3 * f :])
            new_c = forget * c + i * candidate
            new_h = o * self.activation(new_c)
            if keep is None:
                h, c, out = new_h, new_c, new_h
            else:  # Keras' rnn: a hidden step gives 0 or the previous output (h)
                kept = keep[:, t]
                held = Tensor(xp.zeros(state_shape, x.dtype)) if self.zero_output_for_mask else h
                out = ops.where(kept, new_h, held)
                h, c = ops.where(kept, new_h, h), ops.where(kept, new_c, c)
            outputs.append(out)
        self._keep_states([h, c])
        out = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [out, h, c] if self.return_state else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": tuple(self.kernel_size),
            "strides": tuple(self.strides),
            "padding": self.padding,
            "dilation_rate": tuple(self.dilation_rate),
            "activation": activations.config_entry(self.activation_name),
            "recurrent_activation": activations.config_entry(self.recurrent_activation_name),
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            **self._recurrent_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }


class ConvLSTM1D(_ConvLSTM):
    """Keras' ConvLSTM1D: input (batch, time, steps, channels)."""

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """Keras' ConvLSTM2D: input (batch, time, height, width, channels), a video."""

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """Keras' ConvLSTM3D: input (batch, time, depth, height, width, channels)."""

    rank = 3


CONV_RECURRENT_LAYERS = (ConvLSTM1D, ConvLSTM2D, ConvLSTM3D)
