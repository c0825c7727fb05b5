"""Keras' generic recurrent layer ``RNN(cell)`` and its cells: SimpleRNNCell, LSTMCell,
GRUCell, StackedRNNCells, and cells of the user's (a layer with ``state_size`` and
``call(inputs, states)`` returning ``(output, new_states)``), as in Keras' guide.

The loop runs the cell one step at a time on minicnn's differentiable operations, so
autograd gives the backward pass through time; the built-in cells compute what SimpleRNN,
LSTM and GRU compute (their fused recurrences are the faster form), with the same weights.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import numpy as np

from . import activations, backend, ops
from . import functions as F
from .autograd import Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape
from .recurrent import RecurrentOptions, Reverse, StartsFromStates


def _sizes(state_size: Any) -> list[int]:
    return list(state_size) if isinstance(state_size, (list, tuple)) else [int(state_size)]


def _run_cell(cell: Layer, x: Tensor, states: list[Tensor], training: bool) -> tuple[Any, Any]:
    """The cell's own call (a user's, unwrapped from minicnn's one-input form), on one step."""
    call = inspect.unwrap(type(cell).call)
    if "training" in inspect.signature(call).parameters:
        return call(cell, x, states, training=training)
    return call(cell, x, states)


def _build_cell(cell: Layer, features: int, device: str) -> None:
    """The cell's weights for steps of ``features`` (a user's build, run directly: a cell's
    output shape is its state size, not what a probe of call would give)."""
    if cell.built:
        return
    cell.device = device
    build = inspect.unwrap(type(cell).build)
    arrays = []
    if build is Layer.build or type(cell).__module__.startswith("minicnn."):
        arrays = cell._create_weights((features,))
        cell._weights = [*cell._weights, *(Tensor(backend.to_device(a, device)) for a in arrays)]
        cell._attach_constraints()
    else:
        build(cell, (features,))
    cell.sample_input_shape = (features,)
    cell.sample_output_shape = (getattr(cell, "output_size", None) or _sizes(cell.state_size)[0],)
    cell._name_weights()
    cell.built = True
    cell.trainable = cell._trainable


class _KerasCell(RecurrentOptions):
    """What the built-in cells share: units, activation, use_bias and the recurrent layers'
    options; weights kernel (features, gates * units), recurrent_kernel (units, gates *
    units) and bias."""

    WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")

    gates = 1

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = positive_int(units, f"{self.describe()}: units")
        self.activation, self.activation_name = activations.resolve(activation)
        self.use_bias = bool(use_bias)
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

    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def reset_dropout_masks(self) -> None:
        """Forget the masks of the last sequence (an RNN layer calls it before each one)."""
        self._masks: dict[str, Any] = {}

    def _dropped(self, x: Tensor, which: str, training: bool) -> Tensor:
        """x (a step's inputs, or the previous state) times its dropout mask, in training:
        as Keras' DropoutRNNCell, one mask for every step of a sequence."""
        rate = self.dropout if which == "inputs" else self.recurrent_dropout
        if not (training and rate):
            return x
        masks = self.__dict__.setdefault("_masks", {})
        if which not in masks or masks[which].shape != tuple(x.shape):
            xp = backend.get_array_module(x.data)
            masks[which] = F.dropout_mask(tuple(x.shape), rate, x.dtype, xp, self._generator)
        return x * Tensor(masks[which])

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def _initial_bias(self) -> np.ndarray:
        return self._initializers["bias_initializer"](self._bias_shape())

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        width = self.gates * self.units
        weights = [
            self._initializers["kernel_initializer"]((input_shape[-1], width)),
            self._initializers["recurrent_initializer"]((self.units, width)),
        ]
        return weights + ([self._initial_bias()] if self.use_bias else [])

    def _bias_or_zeros(self, x: Tensor) -> Any:
        if self.use_bias:
            return self._weights[2]
        xp = backend.get_array_module(x.data)
        return xp.zeros(self._bias_shape(), x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.config_entry(self.activation_name),
            "use_bias": self.use_bias,
            **self._recurrent_config(),
        }


class SimpleRNNCell(_KerasCell):
    """h = activation(x W + b + h_prev U)."""

    def call(self, inputs: Tensor, states: Any, training: bool = False) -> tuple[Tensor, list]:
        h = states[0] if isinstance(states, (list, tuple)) else states
        kernel, recurrent = self._weights[0], self._weights[1]
        x = self._dropped(inputs, "inputs", training)
        previous = self._dropped(h, "states", training)
        out = self.activation(
            ops.matmul(x, kernel) + self._bias_or_zeros(inputs) + ops.matmul(previous, recurrent)
        )
        return out, [out]


class _GatedCell(_KerasCell):
    def __init__(self, units: int, recurrent_activation: str | None = "sigmoid", **kwargs: Any):
        super().__init__(units, **kwargs)
        self.recurrent_activation, self.recurrent_activation_name = activations.resolve(
            recurrent_activation
        )

    def get_config(self) -> dict[str, Any]:
        name = self.recurrent_activation_name
        return {**super().get_config(), "recurrent_activation": activations.config_entry(name)}


class LSTMCell(_GatedCell):
    """Keras' LSTM cell, gates i, f, c, o; states [h, c]; ``unit_forget_bias`` starts the
    forget gate's bias at 1."""

    gates = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> Any:
        return [self.units, self.units]

    def _initial_bias(self) -> np.ndarray:
        bias = super()._initial_bias()
        if self.unit_forget_bias:
            bias[self.units : 2 * self.units] = 1.0
        return bias

    def call(self, inputs: Tensor, states: Any, training: bool = False) -> tuple[Tensor, list]:
        h, c = states
        u = self.units
        z = (
            ops.matmul(self._dropped(inputs, "inputs", training), self._weights[0])
            + ops.matmul(self._dropped(h, "states", training), self._weights[1])
            + self._bias_or_zeros(inputs)
        )
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u : 2 * u])
        c = f * c + i * self.activation(z[:, 2 * u : 3 * u])
        h = self.recurrent_activation(z[:, 3 * u :]) * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """Keras 3's GRU cell, gates z, r, h: with ``reset_after`` (the default) bias (2, 3 *
    units), the reset gate scaling the recurrent product; without it (Keras 2's and the
    original GRU's) bias (3 * units,), the reset gate scaling the state before its product."""

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs: Tensor, states: Any, training: bool = False) -> tuple[Tensor, list]:
        h = states[0] if isinstance(states, (list, tuple)) else states
        u = self.units
        bias = self._bias_or_zeros(inputs)
        kernel, recurrent = self._weights[0], self._weights[1]
        dropped = self._dropped(inputs, "inputs", training)
        previous = self._dropped(h, "states", training)  # the new state mixes in h itself
        if not self.reset_after:
            x = ops.matmul(dropped, kernel) + bias
            inner = ops.matmul(previous, recurrent[:, : 2 * u])
            z = self.recurrent_activation(x[:, :u] + inner[:, :u])
            r = self.recurrent_activation(x[:, u : 2 * u] + inner[:, u:])
            candidate = self.activation(
                x[:, 2 * u :] + ops.matmul(r * previous, recurrent[:, 2 * u :])
            )
            h = z * h + (1.0 - z) * candidate
            return h, [h]
        x = ops.matmul(dropped, kernel) + bias[0]
        inner = ops.matmul(previous, recurrent) + bias[1]
        z = self.recurrent_activation(x[:, :u] + inner[:, :u])
        r = self.recurrent_activation(x[:, u : 2 * u] + inner[:, u : 2 * u])
        candidate = self.activation(x[:, 2 * u :] + r * inner[:, 2 * u :])
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}


class StackedRNNCells(Layer):
    """Keras' StackedRNNCells: cells one above another within each step; its states are
    theirs, in order."""

    def __init__(self, cells: list[Layer], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not cells:
            raise ValueError(f"{self.describe()} needs at least one cell.")
        self.cells = list(cells)

    @property
    def state_size(self) -> list[int]:
        return [size for cell in self.cells for size in _sizes(cell.state_size)]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last.state_size)[0]

    def call(self, inputs: Tensor, states: Any, training: bool = False) -> tuple[Tensor, list]:
        out, new_states, start = inputs, [], 0
        for cell in self.cells:
            count = len(_sizes(cell.state_size))
            out, updated = _run_cell(cell, out, list(states[start : start + count]), training)
            new_states += list(updated) if isinstance(updated, (list, tuple)) else [updated]
            start += count
        return out, new_states

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object

        return {
            **super().get_config(),
            "cells": [serialize_keras_object(c) for c in self.cells],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StackedRNNCells:
        config = dict(config)
        config["cells"] = [_cell_from(entry) for entry in config["cells"]]
        return cls(**config)


def _cell_from(entry: dict[str, Any]) -> Layer:
    from .models import layer_class

    found = layer_class(entry["class_name"])
    if found is None:
        raise ValueError(f"Unknown RNN cell class {entry['class_name']!r}.")
    return found.from_config(entry["config"])


class RNN(StartsFromStates, Layer):
    """Keras' RNN: ``cell`` (or a list of cells, stacked) run over the steps of (batch,
    steps, features), with return_sequences, return_state, go_backwards and initial states
    (``rnn(x, initial_state=[...])``). Its weights are its cells'."""

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        if not hasattr(cell, "state_size") or not hasattr(cell, "call"):
            raise ValueError(
                f"{self.describe()}: cell must be a layer with state_size and call(inputs, "
                f"states); got {cell!r}."
            )
        self.cell = cell
        self.stateful, self._states = bool(stateful), None
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)

    def _cells(self) -> list[Layer]:
        return self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]

    @property
    def state_count(self) -> int:
        """How many states the cells carry, all together."""
        return len(_sizes(self.cell.state_size))

    def _state_names(self) -> str:
        return ""

    def _connect(self, x: Any) -> Any:
        result = super()._connect(x)
        if not self.return_state:
            return result
        from .models import SelectOutput

        count = 1 + len(_sizes(self.cell.state_size))
        return [
            SelectOutput(i, name=backend.unique_name(f"{self.name}_{i}"))(result)
            for i in range(count)
        ]

    def compute_output_shape(self, input_shape: Any) -> Any:
        sequence = input_shape[0] if self.takes_list else input_shape
        if len(sequence) != 2:
            raise ValueError(
                f"{self.describe()} expects input of shape (batch, steps, features); got "
                f"{(None, *sequence)}."
            )
        size = getattr(self.cell, "output_size", None) or _sizes(self.cell.state_size)[0]
        out = (sequence[0], size) if self.return_sequences else (size,)
        if self.return_state:
            return [out, *[(s,) for s in _sizes(self.cell.state_size)]]
        return out

    def build(self, input_shape: Any) -> None:
        input_shape = self._as_input_shape(input_shape)
        sequence = input_shape[0] if self.takes_list else input_shape
        self.sample_output_shape = self.compute_output_shape(input_shape)
        features = sequence[1]
        # The cells' weights under the layer's path, and a stack's ("rnn/stacked_rnn_cells/
        # gru_cell/kernel"), as Keras' are.
        stacked = isinstance(self.cell, StackedRNNCells)
        with self._name_scope(), self.cell._name_scope() if stacked else contextlib.nullcontext():
            for cell in self._cells():
                _build_cell(cell, features, self.device)
                features = getattr(cell, "output_size", None) or _sizes(cell.state_size)[0]
        self._weights = [w for cell in self._cells() for w in cell._weights]
        self.sample_input_shape = input_shape
        self.built = True
        self._settle_trainable()

    def _inner_layers(self) -> list[Layer]:
        return [cell for cell in self._cells() if isinstance(cell, Layer)]

    def to(self, device: str) -> None:
        super().to(device)
        for cell in self._cells():
            cell.to(device)
        self._weights = [w for cell in self._cells() for w in cell._weights]

    @property
    def losses(self) -> list[Tensor]:
        return [loss for cell in self._cells() for loss in cell.losses] + self._call_losses

    def _output_state(self) -> int:
        """Where the last cell's first state (its previous output) is among the states."""
        cells = self._cells()
        return sum(len(_sizes(cell.state_size)) for cell in cells[:-1])

    def _run(
        self,
        x: Tensor,
        training: bool,
        weights: list[Any],
        mask: Any = None,
        initial: list[Any] | None = None,
    ) -> Any:
        """The layer on x with these weights (a Bidirectional layer holds them: the same
        Tensors, or a gradient check's), which its cells compute with from now on; from
        ``initial`` states where given."""
        self._weights = list(weights)
        return self.call([x, *initial] if initial else x, training, mask=mask)

    def call(self, x: Any, training: bool, mask: Any = None) -> Any:
        # The layer's weights are its cells' (the same Tensors); a swap of the layer's list
        # (a gradient check's, say) reaches the cells that compute with their lists.
        start = 0
        for cell in self._cells():
            count = len(cell._weights)
            cell._weights = self._weights[start : start + count]
            start += count
        given = list(x[1:]) if isinstance(x, (list, tuple)) else []
        x = x[0] if isinstance(x, (list, tuple)) else x
        x = x if isinstance(x, Tensor) else Tensor(x)
        xp = backend.get_array_module(x.data)
        n, steps = x.shape[0], x.shape[1]
        sizes = _sizes(self.cell.state_size)
        states = self._starting_states(given, [(n, size) for size in sizes]) or [
            Tensor(xp.zeros((n, size), x.dtype)) for size in sizes
        ]
        if self.go_backwards:
            x = Reverse()(x)
        for cell in self._cells():  # each sequence its own dropout masks, as Keras'
            if hasattr(cell, "reset_dropout_masks"):
                cell.reset_dropout_masks()
        keep = None
        if mask is not None:  # (batch, steps): a masked step keeps the states, as Keras'
            keep = xp.asarray(mask).astype(bool).reshape(n, steps, 1)
            keep = keep[:, ::-1] if self.go_backwards else keep
        outputs = []
        for t in range(steps):
            out, found = _run_cell(self.cell, x[:, t], states, training)
            found = list(found) if isinstance(found, (list, tuple)) else [found]
            if keep is not None:
                kept = keep[:, t]
                # Keras' rnn: a masked step's output is 0 (zero_output_for_mask) or the
                # (last) cell's first state as it was: its previous output.
                previous = states[self._output_state()]
                if self.zero_output_for_mask or tuple(previous.shape) != tuple(out.shape):
                    held = Tensor(xp.zeros(out.shape, out.dtype))
                else:
                    held = previous
                out = ops.where(kept, out, held)
                found = [ops.where(kept, new, old) for new, old in zip(found, states, strict=True)]
            states = found
            outputs.append(out)
        self._keep_states(states)
        result = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [result, *states] if self.return_state else result

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object

        return {
            **super().get_config(),
            "cell": serialize_keras_object(self.cell),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNN:
        config = dict(config)
        config["cell"] = _cell_from(config["cell"])
        return cls(**config)


CELL_LAYERS = (RNN, SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells)
