"""ONNX's recurrent operators (LSTM, GRU, RNN), for ``onnx_import``: minicnn's LSTM, GRU
and SimpleRNN layers (in a Bidirectional for both directions) with the file's weights,
the gates put in Keras' order. ONNX's sequences are time-major, (steps, batch, features):
minicnn holds them batch-first and remembers which ONNX axis is which (Value.order), so
PyTorch's transposes around an LSTM cost nothing."""

from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_reading import Node
from .onnx_shapes import constant_node
from .onnx_values import layer_module, op_module

# ONNX's gate blocks in Keras' order: LSTM (i, o, f, c) -> (i, f, c, o); GRU (z, r, h) both.
_KERAS_GATES = {"LSTM": [0, 2, 3, 1], "GRU": [0, 1, 2], "RNN": [0]}
_DEFAULT_ACTIVATIONS = {
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "RNN": ["Tanh"],
}
_KERAS_ACTIVATIONS = {"Tanh": "tanh", "Sigmoid": "sigmoid", "Relu": "relu"}


class RecurrentOps:
    """The recurrent operators' handlers of the importer (a mixin of ``onnx_import``'s)."""

    def op_LSTM(self, node: Node, index: int) -> None:
        self.recurrent(node, "LSTM")

    def op_GRU(self, node: Node, index: int) -> None:
        self.recurrent(node, "GRU")

    def op_RNN(self, node: Node, index: int) -> None:
        self.recurrent(node, "RNN")

    def recurrent_settings(self, node: Node, kind: str) -> tuple[int, str, dict[str, Any]]:
        """Units, direction and the Keras layer's settings, or a refusal naming the setting
        minicnn's layers lack."""
        units = int(self.attr("hidden_size"))
        direction = self.attr("direction", "forward")
        directions = 2 if direction == "bidirectional" else 1
        for name in ("clip", "activation_alpha", "activation_beta"):
            if self.attr(name) is not None:
                raise self.fail(f"its {name}; minicnn's recurrent layers have none.")
        if self.attr("input_forget", 0):
            raise self.fail("input_forget couples its gates; minicnn's LSTM has no such setting.")
        defaults = _DEFAULT_ACTIVATIONS[kind]
        activations = self.attr("activations") or defaults * directions
        step = len(defaults)
        per_direction = [activations[i : i + step] for i in range(0, len(activations), step)]
        if any(a != per_direction[0] for a in per_direction) or any(
            a not in _KERAS_ACTIVATIONS for a in per_direction[0]
        ):
            raise self.fail(f"activations {activations}; minicnn reads Tanh, Sigmoid and Relu.")
        names = [_KERAS_ACTIVATIONS[a] for a in per_direction[0]]
        settings: dict[str, Any] = {}
        if kind == "RNN":
            settings["activation"] = names[0]
        else:
            settings["recurrent_activation"], settings["activation"] = names[0], names[1]
            if kind == "LSTM" and names[2] != names[1]:
                raise self.fail("its cell and output activations differ; Keras' LSTM has one.")
        if kind == "GRU":
            settings["reset_after"] = bool(self.attr("linear_before_reset", 0))
        return units, direction, settings

    def recurrent(self, node: Node, kind: str) -> None:
        units, direction, settings = self.recurrent_settings(node, kind)
        inputs = node.inputs + [""] * (8 - len(node.inputs))
        if inputs[4]:
            raise self.fail("sequence_lens; minicnn's recurrent layers run every step.")
        initial = self.initial_states(kind, inputs[5], inputs[6])
        if inputs[7]:
            raise self.fail("peepholes; minicnn's LSTM has none.")
        w = self.constant(inputs[1], "input weights").astype(np.float32)
        r = self.constant(inputs[2], "recurrent weights").astype(np.float32)
        b = None if not inputs[3] else self.constant(inputs[3], "bias").astype(np.float32)
        gates = _KERAS_GATES[kind]

        def keras(matrix: np.ndarray) -> np.ndarray:  # (gates * units, n) -> (n, gates * units)
            blocks = np.split(matrix, len(gates), axis=0)
            return np.concatenate([blocks[i] for i in gates], axis=0).T

        def weights(d: int) -> list[np.ndarray]:
            out = [keras(w[d]), keras(r[d])]
            if b is not None:
                size = len(gates) * units
                inward, recurrent = keras(b[d, :size, None])[0], keras(b[d, size:, None])[0]
                out.append(
                    np.stack([inward, recurrent])
                    if settings.get("reset_after")
                    else inward + recurrent
                )
            return out

        layout = int(self.attr("layout", 0))
        v = self.value(inputs[0])
        if layout == 0 and (v.order or (0, 1, 2))[0] != 1:
            raise self.fail(
                "its input is time-major (steps, batch, features), but the batch is not its "
                "second axis here: minicnn's inputs are batch-first (PyTorch: batch_first=True)."
            )
        x = self.in_order(v, (1, 0, 2) if layout == 0 else None)  # (batch, steps, features)
        outputs = node.outputs + [""] * (3 - len(node.outputs))
        wants_steps, wants_last, wants_cell = (self.used(o) for o in outputs[:3])
        # The last output alone is the layer's own output (no return_state needed).
        wants_state = wants_cell or (wants_last and wants_steps)
        L = layer_module()
        kind_layer = {"LSTM": L.LSTM, "GRU": L.GRU, "RNN": L.SimpleRNN}[kind]

        def layer(backwards: bool) -> Any:
            return kind_layer(
                units,
                use_bias=b is not None,
                return_sequences=wants_steps,
                return_state=wants_state,
                go_backwards=backwards,
                **settings,
            )

        runs = []  # per direction: the layer's outputs, steps in time order
        for d, backwards in enumerate(
            [False, True] if direction == "bidirectional" else [direction == "reverse"]
        ):
            one = layer(backwards)
            found = one(x) if initial is None else one(x, initial_state=[s[:, d] for s in initial])
            one.set_weights(weights(d))
            found = found if isinstance(found, list) else [found]
            if backwards and wants_steps:  # Keras returns them last step first
                found = [found[0][:, ::-1], *found[1:]]
            runs.append(found)
        if wants_last and not wants_state:  # the layers' outputs are their last states
            steps, kept = [], [[run[0] for run in runs]]
        else:
            steps = [run[0] for run in runs]
            kept = [[run[i] for run in runs] for i in range(1, len(runs[0]))]
        self.recurrent_outputs(outputs, steps, kept, wants_steps)

    def initial_states(self, kind: str, h: str, c: str) -> list[Any] | None:
        """The computed initial states (directions, batch, units), held (batch, directions,
        units), as a seq2seq decoder takes its encoder's; None where they are zeros."""
        names = [h, c] if kind == "LSTM" else [h]
        given = [bool(name) and not self.is_zero(name) for name in names]
        if not any(given):
            return None
        if not all(given):
            raise self.fail(
                "initial_h without initial_c (or the other way): minicnn's LSTM "
                "takes both or neither."
            )
        for name in names:
            if self.is_constant(name):
                raise self.fail(
                    "a constant non-zero initial state; minicnn's layers take "
                    "computed ones (an encoder's final states) or start from zeros."
                )
        return [self.in_order(self.value(name), (1, 0, 2)) for name in names]

    def squeezing_reader(self, name: str, axis: int) -> int | None:
        """The node that alone reads ``name``, if it is a Squeeze of ``axis`` alone."""
        reader = self.only_reader(name)
        if reader is None or self.graph.nodes[reader].op != "Squeeze":
            return None
        node = self.graph.nodes[reader]
        axes = node.attrs.get("axes")
        if axes is None and len(node.inputs) > 1:
            found = self.constant_ahead(node.inputs[1])
            axes = None if found is None else np.ravel(found).tolist()
        return reader if axes is not None and [int(a) for a in axes] == [axis] else None

    def constant_ahead(self, name: str) -> np.ndarray | None:
        """A constant, also one whose Constant node comes later in the graph."""
        if name in self.constants:
            return self.constants[name]
        for node in self.graph.nodes:
            if node.op == "Constant" and node.outputs[0] == name:
                return constant_node(node)
        return None

    def recurrent_outputs(
        self, outputs: list[str], steps: list[Any], kept: list[list[Any]], wants_steps: bool
    ) -> None:
        """Y (steps, directions, batch, units), held (batch, steps, directions, units), and
        Y_h, Y_c (directions, batch, units), held (batch, directions, units). One direction's
        Squeeze of its directions axis (PyTorch's, minicnn's) is made here: no reshapes."""
        L, ops = layer_module(), op_module()
        if wants_steps:
            squeeze = self.squeezing_reader(outputs[0], 1) if len(steps) == 1 else None
            if squeeze is not None:
                self.fused.add(squeeze)
                self.set(self.graph.nodes[squeeze].outputs[0], steps[0], order=(1, 0, 2))
            elif len(steps) == 1:
                y = L.Reshape((steps[0].sample_shape[0], 1, steps[0].sample_shape[1]))(steps[0])
                self.set(outputs[0], y, order=(2, 0, 1, 3))
            else:
                self.set(outputs[0], ops.stack(steps, axis=2), order=(2, 0, 1, 3))
        for name, states in zip(outputs[1:], kept, strict=False):
            if not self.used(name):
                continue
            squeeze = self.squeezing_reader(name, 0) if len(states) == 1 else None
            if squeeze is not None:
                self.fused.add(squeeze)
                self.set(self.graph.nodes[squeeze].outputs[0], states[0])
            elif len(states) == 1:
                s = L.Reshape((1, states[0].sample_shape[-1]))(states[0])
                self.set(name, s, order=(1, 0, 2))
            else:
                self.set(name, ops.stack(states, axis=1), order=(1, 0, 2))
