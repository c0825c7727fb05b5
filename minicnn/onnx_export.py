"""``model.export(path, format="onnx")``: the model as an ONNX graph (opset 13), for
ONNX Runtime and the other ONNX engines, written without the ``onnx`` package: an ONNX
file is a protocol-buffer message, whose few kinds of fields this module writes itself.

Tensors stay channels-last between layers, as in minicnn; a convolution or a pooling
transposes to ONNX's channels-first and back around itself (engines fold such pairs
away). Inference only: Dropout and the noise layers are identities, BatchNormalization
uses its moving statistics. The layers of image and sequence classifiers are here: the
1-D and 2-D convolutions (depthwise and transposed ones too) and poolings, Dense,
Embedding, the reshaping layers, the normalizations, the activations and merges (README
lists them); another layer is refused by name."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .config import epsilon as backend_epsilon
from .layer_base import sample_shapes
from .onnx_names import ACTIVATIONS, ARITHMETIC
from .protobuf import bytes_field, float_field, int_field, text_field

OPSET = 13
FLOAT, INT64 = 1, 7  # ONNX's TensorProto data types


# --- ONNX messages ---------------------------------------------------------------------------


def tensor_proto(name: str, array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array)
    kind = INT64 if array.dtype.kind in "iu" else FLOAT
    array = array.astype("<i8" if kind == INT64 else "<f4")
    dims = b"".join(int_field(1, d) for d in array.shape)
    return dims + int_field(2, kind) + text_field(8, name) + bytes_field(9, array.tobytes())


def attribute_proto(name: str, value: Any) -> bytes:
    if isinstance(value, float):
        return text_field(1, name) + float_field(2, value) + int_field(20, 1)
    if isinstance(value, int):
        return text_field(1, name) + int_field(3, value) + int_field(20, 2)
    if isinstance(value, str):
        return text_field(1, name) + bytes_field(4, value.encode()) + int_field(20, 3)
    if all(isinstance(v, str) for v in value) and value:  # a list of strings
        return (
            text_field(1, name)
            + b"".join(bytes_field(9, v.encode()) for v in value)
            + int_field(20, 8)
        )
    values = [int(v) for v in value]  # a list of ints
    return text_field(1, name) + b"".join(int_field(8, v) for v in values) + int_field(20, 7)


def node_proto(op: str, inputs: list[str], outputs: list[str], name: str, **attrs: Any) -> bytes:
    return (
        b"".join(text_field(1, i) for i in inputs)
        + b"".join(text_field(2, o) for o in outputs)
        + text_field(3, name)
        + text_field(4, op)
        + b"".join(bytes_field(5, attribute_proto(k, v)) for k, v in attrs.items())
    )


def value_info_proto(name: str, shape: tuple[Any, ...], dtype: str = "float32") -> bytes:
    dims = b"".join(
        bytes_field(1, text_field(2, "batch") if d is None else int_field(1, d)) for d in shape
    )
    from .onnx_reading import DTYPES

    kind = next(k for k, v in DTYPES.items() if np.dtype(v) == np.dtype(dtype))
    tensor_type = int_field(1, kind) + bytes_field(2, dims)
    return text_field(1, name) + bytes_field(2, bytes_field(1, tensor_type))


# --- the graph ---------------------------------------------------------------------------------


class _Graph:
    """The nodes and constants of the graph being written, with fresh names for both."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.initializers: list[bytes] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint: str, array: Any) -> str:
        name = self.name(hint)
        self.initializers.append(tensor_proto(name, np.asarray(array)))
        return name

    def op(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self.name(hint)
        self.nodes.append(node_proto(op, inputs, [out], out, **attrs))
        return out


def _weights(layer: Any) -> list[np.ndarray]:
    """The layer's arrays as float32, a LoRA layer's kernel merged with its A and B (as
    Keras saves it)."""
    from .keras_writing import keras_arrays

    if getattr(layer, "quantization_mode", None):
        raise ValueError(
            f"export(format='onnx'): layer '{layer.name}' is quantized "
            f"({layer.quantization_mode}); export the float model."
        )
    return [np.asarray(a, np.float32) for a in keras_arrays(layer)]


def _activation(g: _Graph, x: str, activation: Any, hint: str) -> str:
    from . import activations

    name = activations.serialize(activation) if activation is not None else "linear"
    if name in (None, "linear"):
        return x
    simple = {**ACTIVATIONS, "elu": "Elu"}
    if name in simple:
        return g.op(simple[name], [x], f"{hint}_{name}")
    if name == "softmax":
        return g.op("Softmax", [x], f"{hint}_softmax", axis=-1)
    if name == "gelu":  # exact, as Keras' default: x (1 + erf(x / sqrt 2)) / 2
        half = g.op("Mul", [x, g.constant("half", np.float32(0.5))], f"{hint}_half")
        scaled = g.op("Mul", [x, g.constant("root_half", np.float32(math.sqrt(0.5)))], f"{hint}_s")
        erf = g.op("Erf", [scaled], f"{hint}_erf")
        one_plus = g.op("Add", [erf, g.constant("one", np.float32(1))], f"{hint}_1p")
        return g.op("Mul", [half, one_plus], f"{hint}_gelu")
    if name == "celu":  # Keras' alpha 1
        return g.op("Celu", [x], f"{hint}_celu", alpha=1.0)
    if name == "mish":  # x tanh(softplus(x)); ONNX's Mish is opset 18's
        soft = g.op("Softplus", [x], f"{hint}_softplus")
        return g.op("Mul", [x, g.op("Tanh", [soft], f"{hint}_tanh")], f"{hint}_mish")
    if name in ("silu", "swish"):
        return g.op("Mul", [x, g.op("Sigmoid", [x], f"{hint}_gate")], f"{hint}_silu")
    if name in ("hard_sigmoid", "hard_silu", "hard_swish"):  # relu6(x + 3) / 6, as Keras 3
        gate = g.op("HardSigmoid", [x], f"{hint}_hard_sigmoid", alpha=1 / 6, beta=0.5)
        return gate if name == "hard_sigmoid" else g.op("Mul", [x, gate], f"{hint}_{name}")
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], f"{hint}_leaky_relu", alpha=0.2)
    if name == "relu6":
        return g.op(
            "Clip",
            [x, g.constant("zero", np.float32(0)), g.constant("six", np.float32(6))],
            f"{hint}_relu6",
        )
    raise ValueError(f"export(format='onnx'): the activation {name!r} has no ONNX form here.")


def keras_same_pads(
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
) -> list[int]:
    """Keras' (TensorFlow's) 'same' padding as ONNX's pads: the begins, then the ends."""
    begins, ends = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilation, strict=True):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def _channels_first(g: _Graph, x: str, hint: str, rank: int = 2) -> str:
    """(batch, *spatial, channels) as ONNX's (batch, channels, *spatial)."""
    return g.op("Transpose", [x], f"{hint}_to_first", perm=[0, rank + 1, *range(1, rank + 1)])


def _channels_last(g: _Graph, x: str, hint: str, rank: int = 2) -> str:
    """ONNX's (batch, channels, *spatial) back to (batch, *spatial, channels)."""
    return g.op("Transpose", [x], f"{hint}_to_last", perm=[0, *range(2, rank + 2), 1])


def _spatial(value: Any, rank: int = 2) -> tuple[int, ...]:
    """A size, stride or dilation given once or per spatial axis, per spatial axis."""
    return (int(value),) * rank if isinstance(value, int) else tuple(int(v) for v in value)


def _kernel_inputs(
    g: _Graph, hint: str, x: str, kernel: np.ndarray, weights: list[np.ndarray]
) -> list[str]:
    """A convolution's inputs: x, its kernel in ONNX's layout, and its bias if it has one."""
    inputs = [x, g.constant(f"{hint}_kernel", kernel)]
    if len(weights) > 1:
        inputs.append(g.constant(f"{hint}_bias", weights[1]))
    return inputs


def _conv(
    g: _Graph, layer: Any, x: str, shape: tuple[int, ...], rank: int, depthwise: bool = False
) -> str:
    """Conv1D, Conv2D, Conv3D and DepthwiseConv2D: ONNX's Conv, channels first around it;
    'same' and 'causal' padding as Keras pads."""
    hint = layer.name
    weights = _weights(layer)
    kernel = weights[0]
    channels = shape[-1]
    if depthwise:  # (*k, C, multiplier) -> (C * multiplier, 1, *k)
        spread = kernel.reshape(*kernel.shape[:rank], -1)
        w = spread.transpose(rank, *range(rank))[:, None]
        group = channels
    else:  # (*k, C / groups, filters) -> (filters, C / groups, *k)
        w = kernel.transpose(rank + 1, rank, *range(rank))
        group = channels // kernel.shape[rank]
    size = tuple(w.shape[2:])
    strides = _spatial(layer.strides, rank)
    dilation = _spatial(getattr(layer, "dilation_rate", 1), rank)
    if layer.padding == "same":
        pads = keras_same_pads(tuple(shape[:rank]), size, strides, dilation)
    elif layer.padding == "causal":  # all before: a step sees only the steps up to it
        pads = [(size[0] - 1) * dilation[0], 0]
    else:
        pads = [0] * 2 * rank
    inputs = _kernel_inputs(g, hint, _channels_first(g, x, hint, rank), w, weights)
    y = g.op(
        "Conv",
        inputs,
        f"{hint}_conv",
        kernel_shape=list(size),
        strides=list(strides),
        dilations=list(dilation),
        pads=pads,
        group=group,
    )
    return _activation(g, _channels_last(g, y, hint, rank), layer.activation, hint)


def _conv_transpose(g: _Graph, layer: Any, x: str, shape: tuple[int, ...]) -> str:
    """Conv2DTranspose: ONNX's ConvTranspose, cropped (or extended) to Keras' sizes and
    placement (``conv_ops.transposed_geometry``: H*s with 'same', H*s + max(k - s, 0) with
    'valid', or as the layer's output_padding sets them)."""
    from .conv_ops import transposed_geometry

    hint = layer.name
    weights = _weights(layer)
    w = weights[0].transpose(3, 2, 0, 1)  # (kh, kw, filters, C) -> (C, filters, kh, kw)
    strides, kernel = _spatial(layer.strides), tuple(w.shape[2:])
    given = layer.output_padding or (None, None)
    begins, ends, extra = [], [], []
    for n, k, st, op in zip(shape[:2], kernel, strides, given, strict=True):
        out, start = transposed_geometry(n, k, st, layer.padding, op)
        end = (n - 1) * st + k - out - start  # what ONNX's natural size has past Keras'
        begins.append(start)
        ends.append(max(end, 0))
        extra.append(max(-end, 0))
    inputs = _kernel_inputs(g, hint, _channels_first(g, x, hint), w, weights)
    y = g.op(
        "ConvTranspose",
        inputs,
        f"{hint}_deconv",
        kernel_shape=list(kernel),
        strides=list(strides),
        pads=begins + ends,
        output_padding=extra,
    )
    return _activation(g, _channels_last(g, y, hint), layer.activation, hint)


def _standardized(g: _Graph, x: str, axes: list[int], epsilon: float, hint: str) -> str:
    """(x - mean) / sqrt(variance + epsilon) over ``axes``, in opset 13's operators."""
    mean = g.op("ReduceMean", [x], f"{hint}_mean", axes=axes, keepdims=1)
    centered = g.op("Sub", [x, mean], f"{hint}_centered")
    square = g.op("Mul", [centered, centered], f"{hint}_sq")
    variance = g.op("ReduceMean", [square], f"{hint}_var", axes=axes, keepdims=1)
    eps = g.constant(f"{hint}_eps", np.float32(epsilon))
    spread = g.op("Sqrt", [g.op("Add", [variance, eps], f"{hint}_var_eps")], f"{hint}_std")
    return g.op("Div", [centered, spread], f"{hint}_normed")


def _scaled_and_shifted(g: _Graph, layer: Any, y: str) -> str:
    """A normalization's gamma and beta, those it has, on ``y``."""
    hint = layer.name
    weights = iter(_weights(layer))
    if layer.scale:
        y = g.op("Mul", [y, g.constant(f"{hint}_gamma", next(weights))], f"{hint}_scaled")
    if layer.center:
        y = g.op("Add", [y, g.constant(f"{hint}_beta", next(weights))], f"{hint}_shifted")
    return y


def _reverse_embedding(g: _Graph, layer: Any, x: str) -> str:
    """ReversibleEmbedding(reverse=True): a MatMul by the table's transpose (or the layer's
    own reverse matrix), then the soft cap tanh(logits / c) * c where it has one."""
    hint = layer.name
    weights = _weights(layer)
    kernel = weights[0].T if layer.tie_weights else weights[1]
    matrix = g.constant(f"{hint}_reverse_kernel", np.ascontiguousarray(kernel))
    logits = g.op("MatMul", [x, matrix], f"{hint}_logits")
    if layer.logit_soft_cap is None:
        return logits
    cap = g.constant(f"{hint}_soft_cap", np.float32(layer.logit_soft_cap))
    squashed = g.op("Tanh", [g.op("Div", [logits, cap], f"{hint}_scaled")], f"{hint}_tanh")
    return g.op("Mul", [squashed, cap], f"{hint}_capped")


def _layer_norm(g: _Graph, layer: Any, x: str) -> str:
    """LayerNormalization over the last axis."""
    return _scaled_and_shifted(g, layer, _standardized(g, x, [-1], layer.epsilon, layer.name))


# Keras' gate blocks in ONNX's order: LSTM's (i, f, c, o) as (i, o, f, c); GRU's (z, r, h)
# and SimpleRNN's one block as they are.
_GATES = {"LSTM": [0, 3, 1, 2], "GRU": [0, 1, 2], "SimpleRNN": [0]}
_RECURRENT_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}


def _recurrent(
    g: _Graph, layer: Any, x: str, steps: int, states: list[str] | tuple[()] = ()
) -> str | list[str]:
    """LSTM, GRU and SimpleRNN as ONNX's LSTM, GRU and RNN (opset 13: time first), from
    ``states`` where it was called with initial states (h, and c); with return_state, the
    output and the last states (the list SelectOutput picks from)."""
    kind, hint = type(layer).__name__, layer.name
    if layer.stateful:
        raise ValueError(
            f"export(format='onnx'): layer '{hint}' ({kind}) is stateful; ONNX's form here "
            "starts each batch from zeros."
        )
    names = (
        [layer.activation]
        if kind == "SimpleRNN"
        else [layer.recurrent_activation, layer.activation]
    )
    if kind == "LSTM":
        names.append(layer.activation)
    names = [n if isinstance(n, str) else getattr(n, "__name__", "") for n in names]
    if any(n not in _RECURRENT_ACTIVATIONS for n in names):
        raise ValueError(f"export(format='onnx'): layer '{hint}' uses activations {names}.")
    weights = _weights(layer)
    order, units = _GATES[kind], layer.units

    def gates(
        matrix: np.ndarray,
    ) -> np.ndarray:  # (rows, gates * units) -> ONNX's (1, gates * units, rows)
        blocks = np.split(matrix, len(order), axis=-1)
        return np.concatenate([blocks[i] for i in order], axis=-1).T[None]

    inputs = [
        g.op("Transpose", [x], f"{hint}_time_first", perm=[1, 0, 2]),
        g.constant(f"{hint}_W", gates(weights[0])),
        g.constant(f"{hint}_R", gates(weights[1])),
    ]
    attrs: dict[str, Any] = {
        "hidden_size": units,
        "direction": "reverse" if layer.go_backwards else "forward",
        "activations": [_RECURRENT_ACTIVATIONS[n] for n in names],
    }
    if layer.use_bias:
        bias = weights[2]
        if kind == "GRU" and layer.reset_after:  # an input bias and a recurrent one
            both = np.concatenate([gates(bias[0][None])[0, :, 0], gates(bias[1][None])[0, :, 0]])
        else:
            both = np.concatenate(
                [gates(bias[None])[0, :, 0], np.zeros(len(order) * units, np.float32)]
            )
        inputs.append(g.constant(f"{hint}_B", both[None]))
    if states:  # ONNX's initial_h and initial_c: (directions, batch, units)
        inputs += [""] * (4 - len(inputs)) + [""]  # no bias given, no sequence_lens
        axis = g.constant(f"{hint}_state_axis", np.array([0], np.int64))
        for k, state in enumerate(states):
            inputs.append(g.op("Unsqueeze", [state, axis], f"{hint}_initial_{k}"))
    if kind == "GRU":
        attrs["linear_before_reset"] = int(bool(layer.reset_after))
    every, last = g.name(f"{hint}_Y"), g.name(f"{hint}_Y_h")
    outputs = [every, last] + ([g.name(f"{hint}_Y_c")] if kind == "LSTM" else [])
    op = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}[kind]
    g.nodes.append(node_proto(op, inputs, outputs, every, **attrs))

    def squeezed(name: str, axis: int) -> str:
        found = g.constant(f"{hint}_axis", np.array([axis], np.int64))
        return g.op("Squeeze", [name, found], f"{hint}_squeezed")

    if layer.return_sequences:  # (time, 1, batch, units) -> (batch, time, units)
        y = g.op("Transpose", [squeezed(every, 1)], f"{hint}_batch_first", perm=[1, 0, 2])
        if layer.go_backwards:  # Keras gives them last step first; ONNX in time order
            y = _reversed_steps(g, y, f"{hint}_reversed", steps)
    else:
        y = squeezed(last, 0)
    if not layer.return_state:
        return y
    return [y, *(squeezed(state, 0) for state in outputs[1:])]


def _attention_weights(
    g: _Graph, scores: str, causal: bool, shapes: list[tuple[int, ...]], hint: str
) -> str:
    """The softmax of attention scores over the keys; with ``causal``, a query step sees
    the key steps up to its own only (the others' scores pushed to -1e9, a constant)."""
    if causal:
        hidden = np.triu(np.full((shapes[0][0], shapes[-1][0]), -1e9, np.float32), k=1)
        scores = g.op("Add", [scores, g.constant(f"{hint}_causal", hidden)], f"{hint}_masked")
    return g.op("Softmax", [scores], f"{hint}_weights", axis=-1)


def _attention(g: _Graph, layer: Any, xs: list[str], shapes: list[tuple[int, ...]]) -> str:
    """MultiHeadAttention on (batch, steps, features) as ONNX products: each projection a
    MatMul to (batch, heads, steps, size), the scaled scores' softmax (the causal mask a
    constant), the heads' values joined and projected back."""
    hint = layer.name
    if layer.key_value_heads != layer.num_heads or any(len(s) != 2 for s in shapes):
        raise ValueError(
            f"export(format='onnx'): layer '{hint}' (MultiHeadAttention) has grouped heads "
            "or attends over more than one axis; ONNX's form here has neither."
        )
    query, value = xs[0], xs[1]
    key = xs[2] if len(xs) > 2 else value
    weights = {
        w.path.rsplit("/", 2)[-2] + "/" + w.name: backend.to_numpy(w.data) for w in layer.weights
    }
    heads = layer.num_heads

    def project(x: str, part: str, size: int) -> str:
        kernel = weights[f"{part}/kernel"]
        y = g.op(
            "MatMul",
            [x, g.constant(f"{hint}_{part}_kernel", kernel.reshape(kernel.shape[0], -1))],
            f"{hint}_{part}",
        )
        if f"{part}/bias" in weights:
            y = g.op(
                "Add",
                [y, g.constant(f"{hint}_{part}_bias", weights[f"{part}/bias"].reshape(-1))],
                f"{hint}_{part}_biased",
            )
        split = g.op(
            "Reshape",
            [y, g.constant(f"{hint}_{part}_heads", np.array([0, 0, heads, size], np.int64))],
            f"{hint}_{part}_split",
        )
        return g.op("Transpose", [split], f"{hint}_{part}_by_head", perm=[0, 2, 1, 3])

    q = project(query, "query", layer.key_dim)
    q = g.op(
        "Mul",
        [q, g.constant(f"{hint}_scale", np.float32(1 / math.sqrt(layer.key_dim)))],
        f"{hint}_q_scaled",
    )
    k = project(key, "key", layer.key_dim)
    v = project(value, "value", layer.value_dim)
    scores = g.op(
        "MatMul", [q, g.op("Transpose", [k], f"{hint}_kT", perm=[0, 1, 3, 2])], f"{hint}_scores"
    )
    weights_of = _attention_weights(g, scores, layer.use_causal_mask, shapes, hint)
    context = g.op("MatMul", [weights_of, v], f"{hint}_context")
    context = g.op("Transpose", [context], f"{hint}_by_step", perm=[0, 2, 1, 3])
    joined = g.op(
        "Reshape",
        [
            context,
            g.constant(f"{hint}_joined_shape", np.array([0, 0, heads * layer.value_dim], np.int64)),
        ],
        f"{hint}_joined",
    )
    kernel = weights["attention_output/kernel"]
    out = g.op(
        "MatMul",
        [joined, g.constant(f"{hint}_out_kernel", kernel.reshape(-1, kernel.shape[-1]))],
        f"{hint}_out",
    )
    if "attention_output/bias" in weights:
        out = g.op(
            "Add",
            [out, g.constant(f"{hint}_out_bias", weights["attention_output/bias"])],
            f"{hint}_output",
        )
    return out


def _separable(g: _Graph, layer: Any, x: str, shape: tuple[int, ...]) -> str:
    """SeparableConv2D: the depthwise convolution, then the pointwise one (with the bias)."""
    hint = layer.name
    weights = _weights(layer)
    kh, kw, c, m = weights[0].shape
    depthwise = weights[0].reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None]
    strides, dilation = _spatial(layer.strides), _spatial(layer.dilation_rate)
    pads = [0, 0, 0, 0]
    if layer.padding == "same":
        pads = keras_same_pads(tuple(shape[:2]), (kh, kw), strides, dilation)
    y = g.op(
        "Conv",
        [_channels_first(g, x, hint), g.constant(f"{hint}_depthwise", depthwise)],
        f"{hint}_depthwise",
        kernel_shape=[kh, kw],
        strides=list(strides),
        dilations=list(dilation),
        pads=pads,
        group=c,
    )
    pointwise = weights[1].transpose(3, 2, 0, 1)
    y = g.op(
        "Conv",
        _kernel_inputs(g, hint, y, pointwise, [pointwise, *weights[2:]]),
        f"{hint}_pointwise",
        kernel_shape=[1, 1],
    )
    return _activation(g, _channels_last(g, y, hint), layer.activation, hint)


def _bidirectional(g: _Graph, layer: Any, x: str) -> str:
    """Bidirectional: its forward and backward layers, each exported as it is, merged as
    ``merge_mode`` says; the backward layer's sequence turned back to time order, as Keras
    does."""
    hint = layer.name
    steps = layer.sample_input_shape[0]
    if layer.forward_layer.return_state:
        raise ValueError(
            f"export(format='onnx'): layer '{hint}' (Bidirectional) returns its states; "
            "ONNX's form here returns its output alone."
        )
    forward = _recurrent(g, layer.forward_layer, x, steps)
    backward_layer = layer.backward_layer
    if backward_layer.return_sequences:  # run backwards over the reversed steps, then turned
        backward_layer.go_backwards = False
        try:
            reversed_x = _reversed_steps(g, x, f"{hint}_reversed", layer.sample_input_shape[0])
            backward = _reversed_steps(
                g,
                _recurrent(g, backward_layer, reversed_x, steps),
                f"{hint}_back_in_order",
                steps,
            )
        finally:
            backward_layer.go_backwards = True
    else:
        backward = _recurrent(g, backward_layer, x, steps)
    if layer.merge_mode == "concat":
        return g.op("Concat", [forward, backward], f"{hint}_concat", axis=-1)
    op = {"sum": "Add", "mul": "Mul", "ave": "Mean"}.get(layer.merge_mode)
    if op is None:
        raise ValueError(f"export(format='onnx'): layer '{hint}' merges by {layer.merge_mode!r}.")
    return g.op(op, [forward, backward], f"{hint}_{layer.merge_mode}")


def _reversed_steps(g: _Graph, x: str, hint: str, steps: int) -> str:
    """x (batch, steps, ...) with its steps in reverse order."""
    return g.op(
        "Slice",
        [
            x,
            g.constant(f"{hint}_start", np.array([steps - 1], np.int64)),
            g.constant(f"{hint}_end", np.array([-steps - 1], np.int64)),
            g.constant(f"{hint}_axis", np.array([1], np.int64)),
            g.constant(f"{hint}_step", np.array([-1], np.int64)),
        ],
        hint,
    )


def _group_norm(g: _Graph, layer: Any, x: str, shape: tuple[int, ...]) -> str:
    """GroupNormalization over the last axis's groups (with the positions), in products."""
    hint = layer.name
    groups, channels = layer.groups, shape[-1]
    grouped = np.array([0, *shape[:-1], groups, channels // groups], np.int64)
    split = g.op("Reshape", [x, g.constant(f"{hint}_grouped", grouped)], f"{hint}_grouped")
    axes = [*range(1, len(shape)), len(shape) + 1]  # the positions and each group's channels
    normed = _standardized(g, split, axes, layer.epsilon, hint)
    back = g.constant(f"{hint}_back", np.array([0, *shape], np.int64))
    return _scaled_and_shifted(g, layer, g.op("Reshape", [normed, back], f"{hint}_joined"))


def _batch_size(g: _Graph, x: str, hint: str) -> str:
    """The batch size of ``x`` as a one-element shape (for a shape made at run time)."""
    return g.op(
        "Slice",
        [
            g.op("Shape", [x], f"{hint}_shape"),
            g.constant(f"{hint}_zero", np.array([0], np.int64)),
            g.constant(f"{hint}_one", np.array([1], np.int64)),
        ],
        f"{hint}_batch",
    )


def _learned_tokens(g: _Graph, layer: Any, x: str, shape: tuple[int, ...], hint: str) -> str:
    """A learned tensor spread over the batch (Expand to the batch's size): the position
    embeddings in the input's shape, or class tokens put before the steps."""
    table = _weights(layer)[0]
    if type(layer).__name__ == "PositionEmbedding":
        spread = g.op("Shape", [x], f"{hint}_shape")
        embeddings = g.constant(f"{hint}_embeddings", table[: shape[0]])
        return g.op("Expand", [embeddings, spread], f"{hint}_spread")
    batch = _batch_size(g, x, hint)
    ones = g.constant(f"{hint}_ones", np.array([1, 1], np.int64))
    spread = g.op("Concat", [batch, ones], f"{hint}_spread_shape", axis=0)
    tokens = g.op("Expand", [g.constant(f"{hint}_tokens", table[None]), spread], f"{hint}_t")
    return g.op("Concat", [tokens, x], f"{hint}_joined", axis=1)


def _resized(
    g: _Graph, x: str, size: tuple[int, int], channels: int, method: str, hint: str
) -> str:
    """Images (batch, rows, columns, channels) resized to ``size`` as Keras resizes them
    (TensorFlow's half-pixel centers; nearest takes floor((o + 0.5) * in / out))."""
    batch = _batch_size(g, x, hint)
    sizes = g.op(
        "Concat",
        [batch, g.constant(f"{hint}_size", np.array([*size, channels], np.int64))],
        f"{hint}_sizes",
        axis=0,
    )
    if method == "nearest":  # floor(x + 0.5) of half-pixel x: round half up
        attrs = {
            "mode": "nearest",
            "coordinate_transformation_mode": "half_pixel",
            "nearest_mode": "round_prefer_ceil",
        }
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    return g.op("Resize", [x, "", "", sizes], f"{hint}_resized", **attrs)


def _pool(g: _Graph, layer: Any, x: str, shape: tuple[int, ...], op: str, rank: int) -> str:
    """The 1-D, 2-D and 3-D max and average poolings: ONNX's MaxPool and AveragePool,
    channels first around them; an average over the pixels inside the input only."""
    hint = layer.name
    size = _spatial(layer.pool_size, rank)
    strides = _spatial(layer.strides, rank) if layer.strides is not None else size
    if layer.padding == "same":
        pads = keras_same_pads(tuple(shape[:rank]), size, strides, (1,) * rank)
    else:
        pads = [0] * 2 * rank
    attrs: dict[str, Any] = {"kernel_shape": list(size), "strides": list(strides), "pads": pads}
    if op == "AveragePool":
        attrs["count_include_pad"] = 0  # Keras averages the pixels inside the input only
    y = g.op(op, [_channels_first(g, x, hint, rank)], f"{hint}_pool", **attrs)
    return _channels_last(g, y, hint, rank)


# TensorArithmetic's operations (``x * 0.5``, ``x + y``) as ONNX operators.
_ARITHMETIC = {**ARITHMETIC, "matmul": "MatMul", "negative": "Neg", "absolute": "Abs"}


# The augmentation layers, which leave images as they are in inference.
_AUGMENTATIONS = {
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
    "RandomHue",
    "RandomSaturation",
    "RandomSharpness",
    "RandomColorDegeneration",
    "RandomGrayscale",
    "RandomErasing",
    "RandomGaussianBlur",
    "RandomInvert",
    "RandomPosterization",
    "RandomShear",
    "RandomPerspective",
    "RandomElasticTransform",
    "RandomColorJitter",
    "AugMix",
    "RandAugment",
    "Solarization",
    "MixUp",
    "CutMix",
}


def _layer(g: _Graph, layer: Any, xs: list[str], shapes: list[tuple[int, ...]]) -> str:
    if getattr(layer, "data_format", None) == "channels_first" and len(shapes[0]) > 1:
        # The same weights work channels-last: transposed there, exported so, and back.
        rank = len(shapes[0]) + 1
        x = g.op("Transpose", [xs[0]], f"{layer.name}_to_last", perm=[0, *range(2, rank), 1])
        y = _channels_last_layer(g, layer, [x], [(*shapes[0][1:], shapes[0][0])])
        if len(layer.compute_output_shape(shapes[0])) + 1 != rank:
            return y  # flattened or pooled away: no channel axis left to move
        return g.op(
            "Transpose", [y], f"{layer.name}_to_first", perm=[0, rank - 1, *range(1, rank - 1)]
        )
    return _channels_last_layer(g, layer, xs, shapes)


def _channels_last_layer(
    g: _Graph, layer: Any, xs: list[str], shapes: list[tuple[int, ...]]
) -> str:
    kind = type(layer).__name__
    x, shape, hint = xs[0], shapes[0], layer.name
    if kind in _AUGMENTATIONS:
        return x  # they act in training only
    if kind in (
        "InputLayer",
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
    ):
        return x  # identities in inference
    if kind == "Conv2D":
        return _conv(g, layer, x, shape, 2)
    if kind == "DepthwiseConv2D":
        return _conv(g, layer, x, shape, 2, depthwise=True)
    if kind in _GATES:
        states = xs[1:] if getattr(layer, "takes_list", False) else ()
        return _recurrent(g, layer, x, shape[0], states)
    if kind == "SelectOutput":  # one of a layer's several outputs (a recurrent layer's states)
        return xs[0][layer.index]
    if kind == "TensorArithmetic" and layer.operation in _ARITHMETIC:
        operands = list(xs)
        if layer.constant is not None:
            constant = g.constant(f"{hint}_constant", layer.constant.astype(np.float32))
            operands = [constant, *operands] if layer.constant_first else [*operands, constant]
        return g.op(_ARITHMETIC[layer.operation], operands, f"{hint}_{layer.operation}")
    if kind == "TimeDistributed":  # the layer on (batch * steps, ...), then steps apart
        steps, inner = shape[0], tuple(shape[1:])
        flat = g.op(
            "Reshape",
            [x, g.constant(f"{hint}_merged", np.array([-1, *inner], np.int64))],
            f"{hint}_merged",
        )
        y = _layer(g, layer.layer, [flat], [inner])
        out = tuple(layer.layer.compute_output_shape(inner))
        split = np.array([-1, steps, *out], np.int64)
        return g.op("Reshape", [y, g.constant(f"{hint}_split", split)], f"{hint}_split")
    if kind in ("PositionEmbedding", "ClassToken"):
        return _learned_tokens(g, layer, x, shape, hint)
    if kind == "LayerScale":
        return g.op("Mul", [x, g.constant(f"{hint}_gamma", _weights(layer)[0])], f"{hint}_scaled")
    if kind == "CustomScaleLayer":  # InceptionResNetV2's x[0] + scale * x[1]
        scaled = g.op(
            "Mul", [xs[1], g.constant(f"{hint}_scale", np.float32(layer.scale))], f"{hint}_s"
        )
        return g.op("Add", [xs[0], scaled], f"{hint}_sum")
    if kind == "MultiHeadAttention":
        return _attention(g, layer, xs, shapes)
    if kind == "Attention" and layer.score_mode == "dot":  # softmax(q k^T scale) v
        query, value = xs[0], xs[1]
        key = xs[2] if len(xs) > 2 else value
        turned = g.op("Transpose", [key], f"{hint}_kT", perm=[0, 2, 1])
        scores = g.op("MatMul", [query, turned], f"{hint}_scores")
        if layer.use_scale:
            scale = g.constant(f"{hint}_scale", _weights(layer)[0])
            scores = g.op("Mul", [scores, scale], f"{hint}_scaled")
        weights = _attention_weights(g, scores, layer.use_causal_mask, shapes, hint)
        return g.op("MatMul", [weights, value], f"{hint}_attended")
    if kind == "Conv3D":
        return _conv(g, layer, x, shape, 3)
    if kind in ("MaxPooling3D", "AveragePooling3D"):
        return _pool(g, layer, x, shape, "MaxPool" if kind.startswith("Max") else "AveragePool", 3)
    if kind == "UpSampling2D" and layer.interpolation == "bilinear":
        rows, cols = _spatial(layer.size)
        return _resized(g, x, (shape[0] * rows, shape[1] * cols), shape[2], "bilinear", hint)
    if kind == "Resizing" and not (layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio):
        if layer.interpolation in ("bilinear", "nearest") and not layer.antialias:
            return _resized(g, x, (layer.height, layer.width), shape[2], layer.interpolation, hint)
    if kind == "SeparableConv2D":
        return _separable(g, layer, x, shape)
    if kind == "Bidirectional" and type(layer.forward_layer).__name__ in _GATES:
        return _bidirectional(g, layer, x)
    if kind == "GroupNormalization" and layer.axis in (-1, len(shape)):
        return _group_norm(g, layer, x, shape)
    if kind == "Normalization":  # its statistics broadcast against x (1 where not kept)
        if layer._constants is not None:
            mean, variance = (backend.to_numpy(v) for v in layer._constants)
        else:
            mean, variance = (backend.to_numpy(w.data) for w in layer.weights[:2])
        mean, variance = (v.reshape((1, *layer._broadcast)) for v in (mean, variance))
        spread = np.maximum(np.sqrt(variance), np.float32(backend_epsilon())).astype(np.float32)
        if layer.invert:
            y = g.op("Mul", [x, g.constant(f"{hint}_spread", spread)], f"{hint}_spread")
            return g.op(
                "Add", [y, g.constant(f"{hint}_mean", mean.astype(np.float32))], f"{hint}_out"
            )
        y = g.op(
            "Sub", [x, g.constant(f"{hint}_mean", mean.astype(np.float32))], f"{hint}_centered"
        )
        return g.op(
            "Mul",
            [y, g.constant(f"{hint}_inverse", (1 / spread).astype(np.float32))],
            f"{hint}_out",
        )
    if kind == "Conv1D":
        return _conv(g, layer, x, shape, 1)
    if kind == "Conv2DTranspose":
        return _conv_transpose(g, layer, x, shape)
    if kind in ("MaxPooling1D", "AveragePooling1D"):
        return _pool(g, layer, x, shape, "MaxPool" if kind.startswith("Max") else "AveragePool", 1)
    if kind in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        op = "ReduceMean" if "Average" in kind else "ReduceMax"
        return g.op(op, [x], f"{hint}_pool", axes=[1], keepdims=int(bool(layer.keepdims)))
    if kind == "UpSampling2D" and layer.interpolation == "nearest":
        rows, cols = _spatial(layer.size)
        scales = g.constant(f"{hint}_scales", np.array([1, rows, cols, 1], np.float32))
        return g.op(
            "Resize",
            [x, "", scales],
            f"{hint}_up",
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )
    if kind == "LayerNormalization" and layer.axis in (-1, len(shape), [-1]):
        return _layer_norm(g, layer, x)
    if kind in ("Embedding", "ReversibleEmbedding") and layer.mask_zero:
        raise ValueError(
            f"export(format='onnx'): layer '{hint}' ({kind}) masks padding "
            "(mask_zero=True), which the layers after it read; ONNX's form here has no masks."
        )
    if kind in ("Embedding", "ReversibleEmbedding"):
        ids = g.op("Cast", [x], f"{hint}_ids", to=INT64)
        return g.op(
            "Gather", [g.constant(f"{hint}_table", _weights(layer)[0]), ids], f"{hint}_rows", axis=0
        )
    if kind == "Permute":
        return g.op("Transpose", [x], f"{hint}_permuted", perm=[0, *[int(d) for d in layer.dims]])
    if kind == "Cropping2D":
        (top, bottom), (left, right) = layer.cropping
        starts = g.constant(f"{hint}_starts", np.array([top, left], np.int64))
        ends = g.constant(f"{hint}_ends", np.array([shape[0] - bottom, shape[1] - right], np.int64))
        axes = g.constant(f"{hint}_axes", np.array([1, 2], np.int64))
        return g.op("Slice", [x, starts, ends, axes], f"{hint}_cropped")
    if kind == "LeakyReLU":
        return g.op("LeakyRelu", [x], f"{hint}_leaky", alpha=float(layer.negative_slope))
    if kind == "MaxPooling2D":
        return _pool(g, layer, x, shape, "MaxPool", 2)
    if kind == "AveragePooling2D":
        return _pool(g, layer, x, shape, "AveragePool", 2)
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        op = "ReduceMean" if "Average" in kind else "ReduceMax"
        return g.op(op, [x], f"{hint}_pool", axes=[1, 2], keepdims=int(bool(layer.keepdims)))
    if kind == "Flatten":
        return g.op("Flatten", [x], f"{hint}_flat", axis=1)
    if kind == "Reshape":
        target = g.constant(f"{hint}_shape", np.array([0, *layer.target_shape], np.int64))
        return g.op("Reshape", [x, target], f"{hint}_reshape")
    if kind == "Dense":
        weights = _weights(layer)
        kernel = g.constant(f"{hint}_kernel", weights[0])
        if len(shape) == 1:
            inputs = [x, kernel] + (
                [g.constant(f"{hint}_bias", weights[1])] if len(weights) > 1 else []
            )
            y = g.op("Gemm", inputs, f"{hint}_dense")
        else:
            y = g.op("MatMul", [x, kernel], f"{hint}_matmul")
            if len(weights) > 1:
                y = g.op("Add", [y, g.constant(f"{hint}_bias", weights[1])], f"{hint}_dense")
        return _activation(g, y, layer.activation, hint)
    if kind == "Activation":
        return _activation(g, x, layer.activation, hint)
    if kind == "ReLU" and not layer.negative_slope and not layer.threshold:
        if layer.max_value is None:
            return g.op("Relu", [x], f"{hint}_relu")
        low = g.constant(f"{hint}_zero", np.float32(0))
        high = g.constant(f"{hint}_max", np.float32(layer.max_value))
        return g.op("Clip", [x, low, high], f"{hint}_relu_max")
    if kind == "Softmax" and not getattr(layer, "takes_list", False):
        axis = layer.axis if isinstance(layer.axis, int) else -1
        return g.op("Softmax", [x], f"{hint}_softmax", axis=axis)
    if kind == "BatchNormalization" and isinstance(layer.axis, int):
        mean, variance = (
            backend.to_numpy(t.data) for t in (layer.moving_mean, layer.moving_variance)
        )
        gamma = backend.to_numpy(layer.gamma.data) if layer.scale else np.ones_like(mean)
        beta = backend.to_numpy(layer.beta.data) if layer.center else np.zeros_like(mean)
        along = [1] * len(shape)  # the constants broadcast along the layer's axis
        along[layer.axis % (len(shape) + 1) - 1] = -1
        scale = (gamma / np.sqrt(variance + layer.epsilon)).astype(np.float32).reshape(along)
        shift = (beta - mean * scale.reshape(-1)).astype(np.float32).reshape(along)
        y = g.op("Mul", [x, g.constant(f"{hint}_scale", scale)], f"{hint}_scaled")
        return g.op("Add", [y, g.constant(f"{hint}_shift", shift)], f"{hint}_bn")
    if kind == "Rescaling":
        y = g.op(
            "Mul",
            [
                x,
                g.constant(
                    f"{hint}_scale",
                    np.float32(layer.scale)
                    if np.ndim(layer.scale) == 0
                    else np.asarray(layer.scale, np.float32),
                ),
            ],
            f"{hint}_scaled",
        )
        return g.op(
            "Add",
            [y, g.constant(f"{hint}_offset", np.asarray(layer.offset, np.float32))],
            f"{hint}_rescaled",
        )
    if kind in ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"):
        sides = layer.padding if kind != "ZeroPadding1D" else (layer.padding,)
        sides = [tuple(int(p) for p in side) for side in sides]
        begins, ends = [0, *(b for b, _ in sides), 0], [0, *(e for _, e in sides), 0]
        pads = g.constant(f"{hint}_pads", np.array(begins + ends, np.int64))
        return g.op("Pad", [x, pads], f"{hint}_pad")
    if kind == "PReLU":  # alpha per sample axis, shared axes of size one: ONNX broadcasts it
        return g.op("PRelu", [x, g.constant(f"{hint}_slope", _weights(layer)[0])], f"{hint}_prelu")
    if kind in ("Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract", "Concatenate"):
        if kind == "Concatenate":
            return g.op("Concat", xs, f"{hint}_concat", axis=layer.axis)
        if kind == "Subtract":
            return g.op("Sub", xs, f"{hint}_sub")
        op = {
            "Add": "Sum",
            "Average": "Mean",
            "Maximum": "Max",
            "Minimum": "Min",
            "Multiply": "Mul",
        }[kind]
        if op == "Mul":
            y = xs[0]
            for other in xs[1:]:
                y = g.op("Mul", [y, other], f"{hint}_mul")
            return y
        return g.op(op, xs, f"{hint}_{op.lower()}")
    if kind in ("OpCall", "GetItem", "TensorArithmetic"):  # ops on symbolic tensors
        from .onnx_op_export import op_layer

        found = op_layer(g, layer, xs, len(shape) + 1)
        if found is not None:
            return found
    raise ValueError(
        f"export(format='onnx'): layer '{layer.name}' ({kind}) has no ONNX form here; the "
        "convolution, pooling, dense, reshaping, normalization, activation and merge layers "
        "of image classifiers do."
    )


def _model_graph(
    g: _Graph, model: Any, x: str, shape: tuple[int, ...]
) -> tuple[str, tuple[int, ...]]:
    """A model's nodes on input ``x`` (a nested model's inline): its output and shape."""
    if getattr(model, "_subclassed", False):
        raise ValueError(
            f"export(format='onnx'): model '{model.name}' is subclassed: its graph is its "
            "code; build it as a Sequential or functional model to export it."
        )
    if model._input_count != 1 or model._output_count != 1:
        raise ValueError(
            f"export(format='onnx'): model '{model.name}' must have one input and one output."
        )
    names, shapes = [x], [shape]
    arguments = getattr(model, "_call_arguments", None) or {}
    for k, (layer, sources) in enumerate(model._nodes()):
        xs = [names[s] for s in sources]
        ins = [shapes[s] for s in sources]
        own = arguments.get(k)
        unwritten = sorted(set(own or {}) - {"reverse"})
        if unwritten:  # the attention weights returned, or an attention mask given
            raise ValueError(
                f"export(format='onnx'): layer '{layer.name}' is called with {unwritten}, "
                "which ONNX's form here does not take."
            )
        if own and own.get("reverse"):  # ReversibleEmbedding's projection to the vocabulary
            names.append(_reverse_embedding(g, layer, xs[0]))
            shapes.append(tuple(layer.call_output_shape(ins[0], own)))
            continue
        if getattr(layer, "is_model", False):
            found, found_shape = _model_graph(g, layer, xs[0], ins[0])
            names.append(found)
            shapes.append(found_shape)
            continue
        names.append(_layer(g, layer, xs, ins))
        arg = ins if getattr(layer, "takes_list", False) else ins[0]
        shapes.append(tuple(layer.compute_output_shape(arg)))
    slot = (model._output_slots or [len(names) - 1])[0]
    return names[slot], shapes[slot]


def _input_dtype(model: Any) -> str:
    """The type of the model's input: float32, or the integers an Input was given (token
    ids), which the ops after it are written for."""
    inputs = getattr(model, "inputs", None) or [None]
    return str(getattr(inputs[0], "dtype", None) or "float32")


def export_onnx(model: Any, path: str | os.PathLike) -> None:
    """Write ``model`` (Sequential or functional, one input and one output) as ONNX."""
    from .fileio import atomic_write

    if getattr(model, "_subclassed", False):
        raise ValueError(
            "export(format='onnx'): a subclassed model's graph is its code; "
            "build it as a Sequential or functional model to export it."
        )
    if model.sample_input_shape is None:
        raise ValueError("export(format='onnx'): the model is not built; give it an Input.")
    g = _Graph()
    input_shape = tuple(model.sample_input_shape)
    with sample_shapes():  # the layers' shapes as minicnn's own code reads them
        result, shape = _model_graph(g, model, "input", input_shape)
    output = g.op("Identity", [result], "output")
    graph = (
        b"".join(bytes_field(1, n) for n in g.nodes)
        + text_field(2, model.name)
        + b"".join(bytes_field(5, t) for t in g.initializers)
        + bytes_field(11, value_info_proto("input", (None, *input_shape), _input_dtype(model)))
        + bytes_field(12, value_info_proto(output, (None, *shape)))
    )
    from . import __version__

    document = (
        int_field(1, 8)  # ONNX's IR version 8 (ONNX 1.10+), which opset 13 needs at least
        + text_field(2, "minicnn")
        + text_field(3, __version__)
        + bytes_field(7, graph)
        + bytes_field(8, text_field(1, "") + int_field(2, OPSET))
    )
    atomic_write(Path(path), lambda f: f.write(document))
