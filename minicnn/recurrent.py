"""Keras' recurrent layers, SimpleRNN, LSTM and GRU, over (batch, steps, features).

Each layer is one differentiable operation over the whole sequence: ``forward`` projects every
step's input with one product, then runs the cell step by step; ``backward`` runs back through
time (BPTT) and forms the kernels' gradients with one product each. Weights are in Keras'
layout: kernel (features, gates * units), recurrent_kernel (units, gates * units), bias, with
Keras' gate order (LSTM: input, forget, cell, output; GRU: update, reset, candidate)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import activation_ops, backend, constraints, initializers, regularizers
from . import functions as F
from .autograd import Function, Tensor
from .data_checks import positive_int
from .functions import matmul_arrays
from .layer_base import Layer, Shape
from .wrapper import Wrapper


def _tanh(xp: Any, a: Any) -> Any:
    return xp.tanh(a)


def _forward_and_slope(name: str | None, owner: str) -> tuple[Any, Any]:
    """An activation of a cell, and its derivative as a function of its output."""
    table = {
        "tanh": (_tanh, lambda xp, y: 1 - y * y),
        "sigmoid": (activation_ops._stable_sigmoid, lambda xp, y: y * (1 - y)),
        "relu": (lambda xp, a: xp.maximum(a, 0), lambda xp, y: (y > 0).astype(y.dtype)),
        "hard_sigmoid": (
            lambda xp, a: xp.clip((a + 3) / 6, 0, 1),
            lambda xp, y: ((y > 0) & (y < 1)).astype(y.dtype) / 6,
        ),
        "legacy_hard_sigmoid": (
            activation_ops.legacy_hard_sigmoid,
            activation_ops.legacy_hard_sigmoid_slope,
        ),
        "linear": (lambda xp, a: a, lambda xp, y: xp.ones_like(y)),
    }
    key = "linear" if name is None else name
    if key not in table:
        raise ValueError(
            f"{owner}: a recurrent cell takes the activations {', '.join(table)}; got {name!r}."
        )
    return table[key]


class Reverse(Function):
    """The sequence in reverse order of its steps (Keras' ``go_backwards``)."""

    def forward(self, x: Any) -> Any:
        return x[:, ::-1]

    def backward(self, grad: Any) -> Any:
        return grad[:, ::-1]


class Recurrence(Function):
    """A cell run over the steps of a sequence from a zero state, or from the initial states
    given after the weights (h, and c for an LSTM). Subclasses give ``step`` (state -> new
    state and what backward needs) and ``step_back``.

    With ``return_state`` the output is one (batch, width) array: the output (flattened),
    then the final h (and c), which the layer slices apart; their gradients join the
    backward pass at the last step."""

    gates = 1
    cell_state = False  # whether the cell carries a c besides h (the LSTM)

    def __init__(
        self,
        activation: tuple[Any, Any],
        recurrent_activation: tuple[Any, Any],
        return_sequences: bool,
        recurrent_mask: Any,
        step_mask: Any = None,
        return_state: bool = False,
        zero_output: bool = False,
    ) -> None:
        self.act, self.act_slope = activation
        self.gate, self.gate_slope = recurrent_activation
        self.return_sequences, self.mask = return_sequences, recurrent_mask
        # (batch, steps, 1) of 0/1: a 0 step keeps the state and repeats the last output, as
        # Keras does for a padded step (its zero_output_for_mask=False).
        self.step_mask = step_mask
        self.return_state = return_state
        # Keras' zero_output_for_mask: a masked step's output is zeros (the state goes on).
        self.zero_output = zero_output and step_mask is not None

    def _biases(self, bias: Any) -> tuple[Any, Any]:
        """The bias added to the inputs' projection, and the one added to the recurrent
        product (None for all cells but GRU)."""
        return bias, None

    def forward(self, x: Any, kernel: Any, recurrent_kernel: Any, bias: Any, *initial: Any) -> Any:
        xp = backend.get_array_module(x)
        self.xp = xp
        n, steps, features = x.shape
        units = recurrent_kernel.shape[0]
        input_bias, recurrent_bias = self._biases(bias.astype(x.dtype, copy=False))
        kernel = kernel.astype(x.dtype, copy=False)
        recurrent_kernel = recurrent_kernel.astype(x.dtype, copy=False)
        projected = matmul_arrays(x.reshape(n * steps, features), kernel)
        projected = projected.reshape(n, steps, -1) + input_bias
        zeros = xp.zeros((n, units), dtype=x.dtype)
        h = initial[0].astype(x.dtype, copy=False) if initial else zeros
        c = initial[1].astype(x.dtype, copy=False) if len(initial) > 1 else zeros
        self.initial_count = len(initial)
        # Each step's output and the h its product read, written into whole arrays as they
        # come (a list stacked at the end is one more pass over them).
        outputs = xp.empty((n, steps, units), x.dtype) if self.return_sequences else None
        read = xp.empty((n, steps, units), x.dtype) if self.recording else None
        caches = []
        for t in range(steps):
            h_in = h if self.mask is None else h * self.mask
            recurrent = matmul_arrays(h_in, recurrent_kernel)
            if recurrent_bias is not None:
                recurrent = recurrent + recurrent_bias
            h_new, c_new, cache = self.step(projected[:, t], recurrent, h, c)
            if self.step_mask is None:
                h, c = h_new, c_new
            else:
                keep = self.step_mask[:, t]
                h = h + keep * (h_new - h)
                c = c + keep * (c_new - c)
            if read is not None:
                caches.append(cache)
                read[:, t] = h_in
            if self.return_sequences:
                outputs[:, t] = h * self.step_mask[:, t] if self.zero_output else h
        if self.recording:
            self.x, self.kernel, self.recurrent_kernel = x, kernel, recurrent_kernel
            self.caches, self.read = caches, read
        out = outputs if self.return_sequences else h
        if self.zero_output and not self.return_sequences:  # Keras' last output: the last step's
            out = h * self.step_mask[:, -1]
        if not self.return_state:
            return out
        states = [h, c] if self.cell_state else [h]
        return xp.concatenate([out.reshape(n, -1), *states], axis=1)

    def step(self, xz: Any, hz: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def step_back(self, dh: Any, dc: Any, cache: Any) -> tuple[Any, Any, Any, Any]:
        """(gradient of the input projection, of the recurrent product, of the previous h
        through the cell alone, of the previous c)."""
        raise NotImplementedError

    def backward(self, grad: Any) -> tuple[Any, ...]:
        xp, x = self.xp, self.x
        n, steps, features = x.shape
        units = self.recurrent_kernel.shape[0]
        kernel_t = self.recurrent_kernel.T
        dxz_all = dhz_all = None  # (batch, steps, gates * units), filled from the last step
        # The gradients of the final h and c: from the returned states, else none.
        dh = xp.zeros((n, units), dtype=grad.dtype)
        dc = xp.zeros((n, units), dtype=grad.dtype)
        if self.return_state:
            width = (steps if self.return_sequences else 1) * units
            dh = dh + grad[:, width : width + units]
            if self.cell_state:
                dc = dc + grad[:, width + units :]
            grad = (
                grad[:, :width].reshape(n, steps, units)
                if self.return_sequences
                else grad[:, :width]
            )
        for t in reversed(range(steps)):
            if self.return_sequences:
                dh = dh + (grad[:, t] * self.step_mask[:, t] if self.zero_output else grad[:, t])
            elif t == steps - 1:
                dh = dh + (grad * self.step_mask[:, t] if self.zero_output else grad)
            carried_h = carried_c = 0
            if self.step_mask is not None:  # a masked step passes its gradient straight back
                keep = self.step_mask[:, t]
                carried_h, carried_c = dh * (1 - keep), dc * (1 - keep)
                dh, dc = dh * keep, dc * keep
            dxz, dhz, dh_cell, dc = self.step_back(dh, dc, self.caches[t])
            if dxz_all is None:  # one array where the cell's two gradients are one (not GRU)
                dxz_all = xp.empty((n, steps, dxz.shape[1]), dxz.dtype)
                same = dhz is dxz
                dhz_all = dxz_all if same else xp.empty((n, steps, dhz.shape[1]), dhz.dtype)
            dxz_all[:, t] = dxz
            if not same:
                dhz_all[:, t] = dhz
            through_product = matmul_arrays(dhz, kernel_t)
            if self.mask is not None:
                through_product *= self.mask
            if self.step_mask is not None:
                dh = dh_cell + through_product + carried_h
                dc = dc + carried_c
            elif isinstance(dh_cell, int):  # the cell passes nothing to h directly (0)
                dh = through_product
            else:
                dh = dh_cell + through_product
        dxz_all = dxz_all.reshape(n * steps, -1)
        dhz_all = dhz_all.reshape(n * steps, -1)
        read = self.read.reshape(n * steps, units)
        x2d = x.reshape(n * steps, features)
        dx = matmul_arrays(dxz_all, self.kernel.T).reshape(x.shape)
        dkernel = matmul_arrays(x2d.T, dxz_all)
        drecurrent = matmul_arrays(read.T, dhz_all)
        dbias = self._bias_grad(dxz_all.sum(axis=0), dhz_all.sum(axis=0))
        # What is left of dh and dc is the initial states' gradient.
        return (dx, dkernel, drecurrent, dbias, *(dh, dc)[: self.initial_count])

    def _bias_grad(self, input_part: Any, recurrent_part: Any) -> Any:
        return input_part


class SimpleRNNRecurrence(Recurrence):
    """h = activation(x W + h_prev U + b)."""

    def step(self, xz: Any, hz: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
        new = self.act(self.xp, xz + hz)
        return new, c, new

    def step_back(self, dh: Any, dc: Any, cache: Any) -> tuple[Any, Any, Any, Any]:
        dz = dh * self.act_slope(self.xp, cache)
        return dz, dz, self.xp.zeros_like(dh), dc


class LSTMRecurrence(Recurrence):
    """i, f, o = gate(z_i), gate(z_f), gate(z_o); g = activation(z_g) for z = x W + h U + b;
    c = f c_prev + i g; h = o activation(c)."""

    gates = 4
    cell_state = True

    def _keras_cell(self, z: Any) -> tuple[Any, Any] | None:
        """For Keras' default cell (sigmoid gates, tanh): the per-column factors a, b with
        which all four gates are one tanh of the whole z, tanh(a z) * a + b (sigmoid(x) =
        (tanh(x / 2) + 1) / 2, and a = 1, b = 0 on the cell's block), else None."""
        if self.gate is not activation_ops._stable_sigmoid or self.act is not _tanh:
            return None
        if getattr(self, "_factors", None) is None:  # once per call: every step's z is alike
            # Made on z's device by its own kernels: a host copy would break a CUDA graph
            # capture of the step.
            u, xp = z.shape[1] // 4, self.xp
            a = xp.full(4 * u, 0.5, z.dtype)
            a[2 * u : 3 * u] = 1
            b = xp.full(4 * u, 0.5, z.dtype)
            b[2 * u : 3 * u] = 0
            self._factors = (a, b)
        return self._factors

    def step(self, xz: Any, hz: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
        u = h.shape[1]
        factors = self._keras_cell(hz)
        if factors is not None:  # a third of the array operations of the general form
            a, b = factors
            z = hz  # the step's own product: summed in place
            z += xz
            z *= a
            gates = self.xp.tanh(z, out=z)
            gates *= a
            gates += b
            i, f, g, o = (gates[:, k * u : (k + 1) * u] for k in range(4))
            c_new = f * c
            c_new += i * g
            squashed = self.xp.tanh(c_new)
            return o * squashed, c_new, (gates, c, squashed)
        z = xz + hz
        i, f = self.gate(self.xp, z[:, :u]), self.gate(self.xp, z[:, u : 2 * u])
        g, o = self.act(self.xp, z[:, 2 * u : 3 * u]), self.gate(self.xp, z[:, 3 * u :])
        c_new = f * c + i * g
        squashed = self.act(self.xp, c_new)
        return o * squashed, c_new, (i, f, g, o, c, squashed)

    def step_back(self, dh: Any, dc: Any, cache: Any) -> tuple[Any, Any, Any, Any]:
        xp = self.xp
        if len(cache) == 3:  # Keras' default cell, its gates in one array
            return self._keras_step_back(dh, dc, *cache)
        i, f, g, o, c_prev, squashed = cache
        dc = dc + dh * o * self.act_slope(xp, squashed)
        dz = xp.concatenate(
            [
                dc * g * self.gate_slope(xp, i),
                dc * c_prev * self.gate_slope(xp, f),
                dc * i * self.act_slope(xp, g),
                dh * squashed * self.gate_slope(xp, o),
            ],
            axis=1,
        )
        return dz, dz, xp.zeros_like(dh), dc * f

    def _keras_step_back(
        self, dh: Any, dc: Any, gates: Any, c_prev: Any, squashed: Any
    ) -> tuple[Any, Any, Any, Any]:
        xp = self.xp
        u = dh.shape[1]
        i, f, g, o = (gates[:, k * u : (k + 1) * u] for k in range(4))
        dc = dc + dh * o * (1 - squashed * squashed)
        slope = gates * (1 - gates)  # the sigmoids'; the cell's block is tanh's
        slope[:, 2 * u : 3 * u] = 1 - g * g
        dz = xp.concatenate([dc * g, dc * c_prev, dc * i, dh * squashed], axis=1)
        dz *= slope
        return dz, dz, 0, dc * f


class GRURecurrence(Recurrence):
    """Keras 3's GRU (reset_after): z, r = gate(x W_zr + b0 + h U_zr + b1);
    candidate = activation(x W_h + b0 + r (h U_h + b1)); h = z h_prev + (1 - z) candidate."""

    gates = 3

    def _biases(self, bias: Any) -> tuple[Any, Any]:
        return bias[0], bias[1]

    def step(self, xz: Any, hz: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
        u = h.shape[1]
        z = self.gate(self.xp, xz[:, :u] + hz[:, :u])
        r = self.gate(self.xp, xz[:, u : 2 * u] + hz[:, u : 2 * u])
        candidate = self.act(self.xp, xz[:, 2 * u :] + r * hz[:, 2 * u :])
        return z * h + (1 - z) * candidate, c, (z, r, candidate, hz[:, 2 * u :], h)

    def step_back(self, dh: Any, dc: Any, cache: Any) -> tuple[Any, Any, Any, Any]:
        xp = self.xp
        z, r, candidate, h_part, h_prev = cache
        da = dh * (1 - z) * self.act_slope(xp, candidate)
        dz = dh * (h_prev - candidate) * self.gate_slope(xp, z)
        dr = da * h_part * self.gate_slope(xp, r)
        return (
            xp.concatenate([dz, dr, da], axis=1),
            xp.concatenate([dz, dr, da * r], axis=1),
            dh * z,
            dc,
        )

    def _bias_grad(self, input_part: Any, recurrent_part: Any) -> Any:
        return self.xp.stack([input_part, recurrent_part])


class GRUResetBeforeRecurrence(GRURecurrence):
    """Keras' GRU with ``reset_after=False`` (Keras 2's default): the reset gate scales h
    before its product with the candidate's recurrent kernel, one bias (3 * units):
    candidate = activation(x W_h + b_h + (r h) U_h). The base computes h U for every gate;
    the candidate's block is computed again on r h here, and its kernel's gradient is kept
    apart (the base forms the others from the steps' h)."""

    def _biases(self, bias: Any) -> tuple[Any, Any]:
        return bias, None

    def forward(self, x: Any, kernel: Any, recurrent_kernel: Any, bias: Any, *initial: Any) -> Any:
        units = recurrent_kernel.shape[0]
        self.candidate_kernel = recurrent_kernel[:, 2 * units :].astype(x.dtype, copy=False)
        return super().forward(x, kernel, recurrent_kernel, bias, *initial)

    def step(self, xz: Any, hz: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
        u = h.shape[1]
        z = self.gate(self.xp, xz[:, :u] + hz[:, :u])
        r = self.gate(self.xp, xz[:, u : 2 * u] + hz[:, u : 2 * u])
        h_in = h if self.mask is None else h * self.mask
        reset = r * h_in
        candidate = self.act(self.xp, xz[:, 2 * u :] + matmul_arrays(reset, self.candidate_kernel))
        return z * h + (1 - z) * candidate, c, (z, r, candidate, reset, h, h_in)

    def step_back(self, dh: Any, dc: Any, cache: Any) -> tuple[Any, Any, Any, Any]:
        xp = self.xp
        z, r, candidate, reset, h_prev, h_in = cache
        da = dh * (1 - z) * self.act_slope(xp, candidate)
        dz = dh * (h_prev - candidate) * self.gate_slope(xp, z)
        d_reset = matmul_arrays(da, self.candidate_kernel.T)
        dr = d_reset * h_in * self.gate_slope(xp, r)
        self.candidate_grad = self.candidate_grad + matmul_arrays(reset.T, da)
        through_reset = d_reset * r if self.mask is None else d_reset * r * self.mask
        return (
            xp.concatenate([dz, dr, da], axis=1),
            xp.concatenate([dz, dr, xp.zeros_like(da)], axis=1),
            dh * z + through_reset,
            dc,
        )

    def backward(self, grad: Any) -> tuple[Any, ...]:
        self.candidate_grad = self.xp.zeros_like(self.candidate_kernel)
        dx, dkernel, drecurrent, *rest = super().backward(grad)
        units = self.candidate_kernel.shape[0]
        drecurrent[:, 2 * units :] += self.candidate_grad
        return (dx, dkernel, drecurrent, *rest)

    def _bias_grad(self, input_part: Any, recurrent_part: Any) -> Any:
        return input_part


class RecurrentOptions(Layer):
    """What every recurrent layer (SimpleRNN, LSTM, GRU, the ConvLSTMs) shares: Keras'
    initializer, regularizer, constraint, dropout and seed arguments for its kernel,
    recurrent kernel and bias (weights 0, 1 and 2), their penalties and constraints, and the
    tensors of ``return_state`` in a functional graph."""

    state_count = 2  # h and c (SimpleRNN and GRU carry h only)
    use_bias = True
    return_state = False
    # The name of Keras' cell that holds a layer's weights ("lstm/lstm_cell/kernel"); None
    # for a cell itself.
    CELL_NAME: str | None = None

    def _weight_names(self) -> list[str]:
        names = super()._weight_names()
        return [f"{self.CELL_NAME}/{name}" for name in names] if self.CELL_NAME else names

    def _recurrent_options(
        self,
        initializer_names: dict[str, Any],
        regularizer_specs: tuple[Any, Any, Any],
        constraint_specs: tuple[Any, Any, Any],
        dropout: float,
        recurrent_dropout: float,
        seed: int | None,
    ) -> None:
        owner = self.describe()
        self._init_names = {k: initializers.config_of(v) for k, v in initializer_names.items()}
        self._initializers = {k: initializers.get(v) for k, v in self._init_names.items()}
        (
            self.kernel_regularizer,
            self.recurrent_regularizer,
            self.bias_regularizer,
        ) = (regularizers.get(r) for r in regularizer_specs)
        (
            self.kernel_constraint,
            self.recurrent_constraint,
            self.bias_constraint,
        ) = (constraints.get(c) for c in constraint_specs)
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ValueError(f"{owner}: {name} must be a number in [0, 1), got {rate!r}.")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed = seed
        # A layer's own generator draws its dropout masks' seeds, as Keras' seed does.
        self._generator = None if seed is None else np.random.default_rng(seed)

    def _attach_constraints(self) -> None:
        chosen = [self.kernel_constraint, self.recurrent_constraint]
        chosen += [self.bias_constraint] if self.use_bias else []
        for weight, constraint in zip(self._weights, chosen, strict=False):
            weight.constraint = constraint

    @property
    def losses(self) -> list[Tensor]:
        pairs = [(self.kernel_regularizer, 0), (self.recurrent_regularizer, 1)]
        return self._penalties(pairs + ([(self.bias_regularizer, 2)] if self.use_bias else []))

    def _connect(self, x: Any) -> Any:
        """With ``return_state``, one tensor per result (output, state_h, state_c), each a
        SelectOutput of the layer's node, as Keras' call gives a list."""
        result = super()._connect(x)
        if not self.return_state:
            return result
        from .models import SelectOutput

        names = ["output", *("state_h", "state_c")[: self.state_count]]
        self._called_output = [  # layer.output too is the list, as Keras'
            SelectOutput(i, name=backend.unique_name(f"{self.name}_{name}"))(result)
            for i, name in enumerate(names)
        ]
        if self._first_output is result:  # (its first call)
            self._first_output = self._called_output
        return self._called_output

    def _recurrent_config(self) -> dict[str, Any]:
        config = {
            **self._init_names,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
        return config


class StartsFromStates:
    """Keras' RNN layers' states, shared by SimpleRNN, LSTM, GRU, the ConvLSTMs, RNN(cell)
    and Bidirectional: ``initial_state`` (or a list [x, *states]) starts the recurrence
    there instead of at zeros, and a stateful layer starts each batch where the previous
    one ended; and the calls and output masks of a layer whose ``_run`` runs it."""

    takes_list = False
    stateful = False
    _states: list[Any] | None = None  # a stateful layer's last states, per sample
    passes_first_mask = True  # called on [x, *states], its output's mask is x's

    def __call__(
        self,
        x: Any,
        training: bool | None = None,
        initial_state: Any = None,
        mask: Any = None,
    ) -> Any:
        """The layer on a sequence; ``initial_state`` (a list of h, and c for an LSTM, each
        shaped as the state) starts the recurrence there instead of at zeros, and their
        gradients flow back (a seq2seq decoder started from its encoder's states). As in
        Keras, a list [x, *states] means the same. With ``return_state`` the result is
        [output, *final states]."""
        if initial_state is not None:
            states = (
                list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            )
            x = [x, *states]
        if isinstance(x, (list, tuple)):
            if len(x) != 1 + self.state_count:
                raise ValueError(
                    f"{self.describe()} takes {self.state_count} initial state(s)"
                    f"{self._state_names()}, got {len(x) - 1}."
                )
            self.takes_list = True  # this layer's calls take [x, *states] from now on
        elif self.takes_list:
            raise ValueError(
                f"{self.describe()} was called with initial states; call it with them again."
            )
        if self.takes_list:
            return super().__call__(x, training)  # type: ignore[misc]
        return super().__call__(x, training, mask=mask)  # type: ignore[misc]

    def _state_names(self) -> str:
        return " (h and c)" if self.state_count == 2 else " (h)"

    # The calls of a layer whose ``_run(x, training, weights, mask, initial)`` runs the
    # recurrence on weights given apart from its own (a Bidirectional layer holds them).
    supports_masking = True

    def call(self, x: Any, training: bool) -> Any:
        if isinstance(x, (list, tuple)):
            return self._run(x[0], training, self._weights, initial=list(x[1:]))
        return self._run(x, training, self._weights)

    def masked_call(self, x: Tensor, training: bool, mask: Any) -> Any:
        return self._run(x, training, self._weights, mask)

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        output = mask if self.return_sequences else None
        # With return_state, as Keras: the output's mask, and none for each state.
        return [output, *[None] * self.state_count] if self.return_state else output

    def reset_states(self, states: Any = None) -> None:
        """A stateful layer's states back to zeros (or to ``states``, one array per state,
        each shaped (batch, *state)), as Keras' reset_states; the next batch starts there."""
        if not self.stateful:
            raise ValueError(f"{self.describe()} is not stateful (stateful=True keeps states).")
        if states is None:
            self._states = None
            return
        arrays = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(arrays) != self.state_count:
            raise ValueError(
                f"{self.describe()} keeps {self.state_count} state(s); got {len(arrays)}."
            )
        device = self.device  # type: ignore[attr-defined]
        self._states = [backend.to_device(np.asarray(a, backend.FLOAT), device) for a in arrays]

    reset_state = reset_states

    @property
    def states(self) -> list[Any] | None:
        """A stateful layer's current states (host copies), or None before its first batch."""
        return None if self._states is None else [backend.to_numpy(a) for a in self._states]

    def _starting_states(self, initial: list[Any] | None, shape: Any) -> list[Tensor]:
        """The states a run starts from: the given ones, a stateful layer's kept ones, or
        none (zeros); each checked to be ``shape`` (batch, *state), or the shape of its own
        where ``shape`` is a list of them."""
        shapes = [tuple(s) for s in shape] if isinstance(shape, list) else None
        batch = shapes[0][0] if shapes else shape[0]
        if self.stateful and not initial and self._states is not None:
            if self._states[0].shape[0] != batch:
                raise ValueError(
                    f"{self.describe()} is stateful with batches of {self._states[0].shape[0]} "
                    f"samples, and got {batch}: every batch must have as many (give fit a "
                    "batch_size that divides the samples, or call reset_states() first)."
                )
            initial = [Tensor(a) for a in self._states]
        states = [s if isinstance(s, Tensor) else Tensor(s) for s in initial or []]
        for k, state in enumerate(states):
            wanted = shapes[k] if shapes else tuple(shape)
            if tuple(state.shape) != wanted:
                raise ValueError(
                    f"{self.describe()}: an initial state has shape (batch, *state) = "
                    f"{wanted}; got {tuple(state.shape)}."
                )
        return states

    def _keep_states(self, final: list[Tensor]) -> None:
        """A stateful layer keeps the final states for the next batch, without a gradient
        path back to this one."""
        if self.stateful:
            self._states = [backend.contiguous(state.data).copy() for state in final]


class _RNN(StartsFromStates, RecurrentOptions):
    """What SimpleRNN, LSTM and GRU share: Keras' arguments, weights, dropout masks."""

    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")
    CELL_NAME = "simple_rnn_cell"

    recurrence: type[Recurrence] = Recurrence
    uses_gates = True  # whether ``recurrent_activation`` is an argument

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        seed: int | None = None,
        use_cudnn: bool | str = "auto",
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        # Keras' choice for masked steps of a returned sequence: zeros, or (the default)
        # the last output again; Bidirectional sets zeros, as Keras' does.
        self.zero_output_for_mask = bool(zero_output_for_mask)
        if use_cudnn not in ("auto", False, True):
            raise ValueError(
                f"{owner}: use_cudnn must be 'auto', True or False; got {use_cudnn!r}."
            )
        if use_cudnn is True:
            raise ValueError(
                f"{owner}: use_cudnn=True asks for cuDNN's fused kernels, which minicnn does not "
                "call (its recurrence is its own, on every device); use 'auto' or False."
            )
        # Keras' unroll trades memory for speed with the same results; minicnn's recurrence
        # is one loop over the steps either way.
        self.unroll, self.use_cudnn = bool(unroll), use_cudnn
        self.stateful = bool(stateful)
        self._states = None
        self.units = positive_int(units, f"{owner}: units")
        self.activation = activation
        self.recurrent_activation = recurrent_activation if self.uses_gates else None
        self._activations = (
            _forward_and_slope(activation, owner),
            _forward_and_slope(self.recurrent_activation, owner),
        )
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
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.return_state = bool(return_state)

    @property
    def state_count(self) -> int:  # type: ignore[override]
        """How many states the cell carries: h, and c for an LSTM."""
        return 2 if self.recurrence.cell_state else 1

    def _sequence_shape(self, input_shape: Any) -> Shape:
        """The input sequence's shape (the first of a list with initial states), checked."""
        if self.takes_list:
            sequence, *states = input_shape
            for state in states:
                if tuple(state) != (self.units,):
                    raise ValueError(
                        f"{self.describe()}: an initial state has shape (batch, units) = "
                        f"(None, {self.units}); got {(None, *state)}."
                    )
            input_shape = sequence
        if len(input_shape) != 2:
            raise ValueError(
                f"{self.describe()} expects input of shape (batch, steps, features); got "
                f"{(None, *input_shape)}."
            )
        return tuple(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Any:
        sequence = self._sequence_shape(input_shape)
        out = (sequence[0], self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return [out, *[(self.units,)] * self.state_count]
        return out

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.recurrence.gates * self.units,)

    def _initial_bias(self) -> np.ndarray:
        return self._initializers["bias_initializer"](self._bias_shape())

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        width = self.recurrence.gates * self.units
        features = self._sequence_shape(input_shape)[1]
        weights = [
            self._initializers["kernel_initializer"]((features, width)),
            self._initializers["recurrent_initializer"]((self.units, width)),
        ]
        return weights + ([self._initial_bias()] if self.use_bias else [])

    def _run(
        self,
        x: Tensor,
        training: bool,
        weights: list[Tensor],
        mask: Any = None,
        initial: list[Tensor] | None = None,
    ) -> Any:
        """The layer on x with these weights (a Bidirectional layer holds them); steps
        where ``mask`` (batch, steps) is False are skipped; ``initial`` states start it."""
        xp = backend.get_array_module(x.data)
        n, _, features = x.shape
        step_mask = None
        if mask is not None:
            step_mask = xp.asarray(mask).reshape(n, -1, 1).astype(x.dtype)
            step_mask = step_mask[:, ::-1] if self.go_backwards else step_mask
        if self.go_backwards:
            x = Reverse()(x)
        if training and self.dropout:
            mask = F.dropout_mask((n, 1, features), self.dropout, x.dtype, xp, self._generator)
            x = F.Dropout(mask)(x)
        recurrent_mask = None
        if training and self.recurrent_dropout:
            recurrent_mask = F.dropout_mask(
                (n, self.units), self.recurrent_dropout, x.dtype, xp, self._generator
            )
        kernel, recurrent_kernel, *rest = weights
        bias = rest[0] if rest else xp.zeros(self._bias_shape(), dtype=x.dtype)
        gives_states = self.return_state or self.stateful
        run = self.recurrence(
            *self._activations,
            self.return_sequences,
            recurrent_mask,
            step_mask,
            gives_states,
            self.zero_output_for_mask,
        )
        states = self._starting_states(initial, (n, self.units))
        out = run(x, kernel, recurrent_kernel, bias, *states)
        if not gives_states:
            return out
        # [output, h, (c)]: slices of the one array the recurrence gives.
        width = (x.shape[1] if self.return_sequences else 1) * self.units
        output = out[:, :width]
        if self.return_sequences:
            output = F.reshape(output, (n, x.shape[1], self.units))
        final = [
            out[:, width + k * self.units : width + (k + 1) * self.units]
            for k in range(self.state_count)
        ]
        self._keep_states(final)
        return [output, *final] if self.return_state else output

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            **self._recurrent_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        if self.uses_gates:
            config["recurrent_activation"] = self.recurrent_activation
        return config


class SimpleRNN(_RNN):
    """A fully connected recurrence: h = activation(x W + h_prev U + b)."""

    recurrence = SimpleRNNRecurrence
    uses_gates = False

    def __init__(self, units: int, activation: str | None = "tanh", **kwargs: Any) -> None:
        super().__init__(units, activation, **kwargs)


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber), as Keras computes it; with
    ``unit_forget_bias`` the forget gate's bias starts at 1."""

    recurrence = LSTMRecurrence
    CELL_NAME = "lstm_cell"

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _initial_bias(self) -> np.ndarray:
        bias = super()._initial_bias()
        if self.unit_forget_bias:
            bias[self.units : 2 * self.units] = 1.0
        return bias

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit (Cho et al.) in Keras 3's form (``reset_after=True``): the reset
    gate scales the recurrent product, and there are two biases, bias shape (2, 3 * units).
    ``reset_after=False`` is Keras 2's form: the reset gate scales h before the candidate's
    product, one bias (3 * units)."""

    recurrence = GRURecurrence
    CELL_NAME = "gru_cell"

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)
        if not self.reset_after:
            self.recurrence = GRUResetBeforeRecurrence

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}


class Bidirectional(StartsFromStates, Layer):
    """Keras' Bidirectional: the recurrent ``layer`` reads the sequence forwards, a copy of it
    backwards (``go_backwards`` flipped; or ``backward_layer``), and their outputs are merged
    by ``merge_mode``: 'concat' (last axis), 'sum', 'mul' or 'ave', or both given as they are
    (None). With return_sequences the backward outputs are put back in time order first.
    Weights: the forward layer's, then the backward layer's. ``initial_state`` gives the
    forward layer's states, then the backward layer's."""

    MERGES = {"concat": None, "sum": "add", "mul": "multiply", "ave": "average", None: None}

    def __init__(
        self,
        layer: Any,
        merge_mode: str | None = "concat",
        backward_layer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for given in (layer, backward_layer):
            if given is not None and type(given).__name__ not in _wrapped_kinds():
                raise TypeError(
                    f"{self.describe()} wraps a SimpleRNN, LSTM, GRU, ConvLSTM or RNN layer, "
                    f"got {type(given).__name__}."
                )
        if merge_mode not in self.MERGES:
            raise ValueError(
                f"{self.describe()}: merge_mode must be one of concat, sum, mul, ave or None; "
                f"got {merge_mode!r}."
            )
        if backward_layer is not None and backward_layer.return_state != layer.return_state:
            raise ValueError(
                f"{self.describe()}: the forward and backward layers must agree on return_state."
            )
        if backward_layer is None:
            config = {**layer.get_config(), "go_backwards": not layer.go_backwards}
            config["name"] = f"backward_{layer.name}"
            backward_layer = type(layer).from_config(config)
            layer.name = f"forward_{layer.name}"
        elif backward_layer.return_sequences != layer.return_sequences:
            raise ValueError(
                f"{self.describe()}: the forward and backward layers must agree on "
                "return_sequences."
            )
        self.forward_layer, self.backward_layer = layer, backward_layer
        # With return_state, as Keras': [merged output, forward states..., backward states...].
        self.return_state = layer.return_state
        # As Keras' Bidirectional: masked steps of returned sequences give zeros, so the
        # merge reads no stale step (a last output stays the last kept step's).
        zeros = layer.return_sequences
        layer.zero_output_for_mask = backward_layer.zero_output_for_mask = zeros
        self.merge_mode = merge_mode

    @property
    def state_count(self) -> int:
        """The states it takes and gives: the forward layer's, then the backward layer's."""
        return 2 * self.forward_layer.state_count

    def _state_names(self) -> str:
        return " (the forward layer's, then the backward layer's)"

    @property  # type: ignore[override]
    def stateful(self) -> bool:
        """Whether the two layers keep their states between batches (Keras' stateful)."""
        return bool(self.forward_layer.stateful)

    def reset_states(self, states: Any = None) -> None:
        """Both layers' states back to zeros (or to ``states``: the forward layer's, then
        the backward layer's)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        arrays = list(states)
        half = len(arrays) // 2
        self.forward_layer.reset_states(arrays[:half])
        self.backward_layer.reset_states(arrays[half:])

    reset_state = reset_states

    @property
    def states(self) -> list[Any] | None:
        """The two layers' current states (host copies), or None before a first batch."""
        forward, backward = self.forward_layer.states, self.backward_layer.states
        return None if forward is None or backward is None else [*forward, *backward]

    def _sequence_shape(self, input_shape: Any) -> Shape:
        """The sequence's shape (the first of a list with initial states)."""
        return tuple(input_shape[0] if self.takes_list else input_shape)

    def _output_count(self) -> int:
        """How many tensors a call gives: one merged output, or both (merge_mode None),
        then each direction's states with return_state."""
        merged = 2 if self.merge_mode is None else 1
        return merged + (self.state_count if self.return_state else 0)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = self._sequence_shape(input_shape)
        shape = self.forward_layer.compute_output_shape(input_shape)
        backward = self.backward_layer.compute_output_shape(input_shape)
        states: list[Any] = []
        if self.return_state:
            (shape, *forward_states), (backward, *backward_states) = shape, backward
            states = [*forward_states, *backward_states]
        if self.merge_mode is None:
            return [shape, backward, *states]
        if self.merge_mode == "concat":
            merged = (*shape[:-1], shape[-1] + backward[-1])
        elif backward != shape:
            raise ValueError(
                f"{self.describe()}: merge_mode {self.merge_mode!r} needs outputs of one "
                f"shape, got {shape} and {backward}."
            )
        else:
            merged = shape
        return [merged, *states] if self.return_state else merged

    def _connect(self, x: Any) -> Any:
        """With ``return_state``, one tensor per result (the merged output, then each
        direction's states), each a SelectOutput of the layer's node, as Keras' list."""
        result = super()._connect(x)
        if self._output_count() == 1:
            return result
        from .models import SelectOutput

        self._called_output = [  # layer.output too is the list, as Keras'
            SelectOutput(i, name=backend.unique_name(f"{self.name}_{i}"))(result)
            for i in range(self._output_count())
        ]
        if self._first_output is result:  # (its first call)
            self._first_output = self._called_output
        return self._called_output

    def build(self, input_shape: Shape) -> None:
        input_shape = self._as_input_shape(input_shape)
        self.sample_output_shape = self.compute_output_shape(input_shape)
        self.sample_input_shape = input_shape
        sequence = self._sequence_shape(input_shape)
        for layer in (self.forward_layer, self.backward_layer):
            layer.device = self.device
            layer.build(sequence)
        # The same Tensors as the two layers': training, saving and moving reach them here.
        self._weights = [*self.forward_layer.weights, *self.backward_layer.weights]
        self.built = True
        self._settle_trainable()

    def _inner_layers(self) -> list[Layer]:
        return [self.forward_layer, self.backward_layer]

    def to(self, device: str) -> None:
        super().to(device)
        self.forward_layer.device = self.backward_layer.device = device

    supports_masking = True

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        output = mask if self.forward_layer.return_sequences else None
        outputs = [output] * (2 if self.merge_mode is None else 1)
        if not self.return_state:
            return outputs if self.merge_mode is None else output
        return [*outputs, *[None] * self.state_count]

    def masked_call(self, x: Tensor, training: bool, mask: Any) -> Tensor:
        return self.call(x, training, mask)

    def call(self, x: Any, training: bool, mask: Any = None) -> Any:
        split = len(self.forward_layer.weights)
        forward_states = backward_states = None
        if isinstance(x, (list, tuple)):  # [x, *forward states, *backward states]
            x, *given = x
            half = len(given) // 2
            forward_states, backward_states = given[:half], given[half:]
        forward = self.forward_layer._run(
            x, training, self._weights[:split], mask, initial=forward_states
        )
        backward = self.backward_layer._run(
            x, training, self._weights[split:], mask, initial=backward_states
        )
        states: list[Tensor] = []
        if self.return_state:
            (forward, *forward_states), (backward, *backward_states) = forward, backward
            states = [*forward_states, *backward_states]
        if self.backward_layer.return_sequences:
            backward = Reverse()(backward)
        if self.merge_mode is None:
            return [forward, backward, *states]
        mode = self.MERGES[self.merge_mode]
        if mode is None:
            merged = F.concatenate([forward, backward], axis=-1)
        else:
            merged = F.merge(mode, forward, backward)
        return [merged, *states] if self.return_state else merged

    @property
    def losses(self) -> list[Tensor]:
        return self.forward_layer.losses + self.backward_layer.losses

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object as entry

        return {
            **super().get_config(),
            "layer": entry(self.forward_layer),
            "merge_mode": self.merge_mode,
            "backward_layer": entry(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        kinds = _wrapped_kinds()

        def rebuilt(entry: dict[str, Any]) -> Any:
            if entry["class_name"] not in kinds:
                raise ValueError(f"Bidirectional wraps no {entry['class_name']!r}.")
            return kinds[entry["class_name"]].from_config(entry["config"])

        layer = rebuilt(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        return cls(layer, backward_layer=None if backward is None else rebuilt(backward), **config)


def _wrapped_kinds() -> dict[str, type]:
    """The layers a Bidirectional wraps, by class name: each has ``_run(x, training,
    weights, mask)`` on weights given apart from its own."""
    from .conv_recurrent import CONV_RECURRENT_LAYERS
    from .rnn_cells import RNN

    return {c.__name__: c for c in (SimpleRNN, LSTM, GRU, *CONV_RECURRENT_LAYERS, RNN)}


class TimeDistributed(Wrapper):
    """Keras' TimeDistributed: ``layer`` applied to every step of (batch, steps, ...) alike
    (one set of weights), run as one call on (batch * steps, ...). Its weights are the
    layer's."""

    supports_masking = True

    def inner_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) < 2:
            raise ValueError(
                f"{self.describe()} expects input of shape (batch, steps, ...); got "
                f"{(None, *input_shape)}."
            )
        return input_shape[1:]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *super().compute_output_shape(input_shape))

    def call(self, x: Tensor, training: bool) -> Tensor:
        n, steps = x.shape[:2]
        self.layer._weights = self._weights
        out = self.layer.call(F.reshape(x, (n * steps, *x.shape[2:])), training)
        return F.reshape(out, (n, steps, *out.shape[1:]))
