"""The graph of a functional model: traced from its outputs back to its Inputs, stored as a
list of nodes, and written to / read from a config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .layer_base import Input, InputLayer, Layer, SymbolicTensor

# A node: a layer and the slots of its inputs. With k model inputs, slots 0..k-1 hold them,
# and node j writes slot k + j. The first k nodes are the InputLayers (node i reads slot i).
Node = tuple[Layer, tuple[int, ...]]


def as_list(value: Any, what: str) -> list[Any]:
    """One tensor, or a non-empty list of them, as a list."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"Model {what}: give at least one.")
    return values


def trace(inputs: Any, outputs: Any) -> tuple[list[Layer], list[Node], list[int]]:
    """The model's layers and nodes in an order where every input comes before its use, and
    the slot of each output."""
    model_inputs = as_list(inputs, "inputs")
    model_outputs = as_list(outputs, "outputs")
    for t in model_inputs:
        if not isinstance(t, Input):
            raise TypeError(f"Model inputs must be Inputs (Input(shape=...)), got {t!r}.")
    if len({id(t) for t in model_inputs}) != len(model_inputs):
        raise ValueError("Model inputs: each Input may be given once.")
    for t in model_outputs:
        if not isinstance(t, SymbolicTensor):
            raise TypeError(
                f"Model outputs must be what layers called on the Inputs gave, got {t!r}."
            )
    order: list[SymbolicTensor] = []
    done: set[int] = set()
    # Depth-first, inputs before the tensor they feed (post-order), without recursion.
    stack: list[tuple[SymbolicTensor, bool]] = [(t, False) for t in reversed(model_outputs)]
    while stack:
        tensor, expanded = stack.pop()
        if id(tensor) in done:
            continue
        if expanded:
            done.add(id(tensor))
            order.append(tensor)
            continue
        stack.append((tensor, True))
        stack.extend((source, False) for source in reversed(tensor.inputs))
    given = {id(t) for t in model_inputs}
    stray = [t for t in order if t.layer is None and id(t) not in given]
    if stray:
        raise ValueError(
            "The model's outputs must be computed from its inputs alone; they depend on "
            + ", ".join(repr(t) for t in stray)
            + f" but the inputs given are {', '.join(repr(t) for t in model_inputs)}."
        )
    k = len(model_inputs)
    nodes: list[Node] = [(t.input_layer, (i,)) for i, t in enumerate(model_inputs)]
    # An Input's value is what its InputLayer node writes.
    slots = {id(t): k + i for i, t in enumerate(model_inputs)}
    for tensor in order:
        if tensor.layer is None:
            continue
        nodes.append((tensor.layer, tuple(slots[id(s)] for s in tensor.inputs)))
        slots[id(tensor)] = k + len(nodes) - 1
    layers = [layer for layer, _ in nodes]
    seen: set[int] = set()
    for layer in layers:
        if id(layer) in seen:
            raise ValueError(
                f"{layer.describe()} is used at more than one place in the graph; layers are "
                "not shared here: give each place a layer of its own."
            )
        seen.add(id(layer))
    return layers, nodes, [slots[id(t)] for t in model_outputs]


def is_chain(nodes: list[Node]) -> bool:
    """Whether each node takes exactly the one before it (Keras calls such a model
    sequential-like, and its summary needs no "Connected to" column)."""
    return all(sources == (k,) for k, (_, sources) in enumerate(nodes))


def input_count(nodes: list[Node]) -> int:
    """How many model inputs the nodes read (their first nodes are the InputLayers)."""
    return sum(1 for layer, _ in nodes if isinstance(layer, InputLayer))


def inbound_names(nodes: list[Node]) -> list[list[str]]:
    """For each node, the names of the layers whose outputs it takes."""
    k = input_count(nodes)
    return [[nodes[s - k][0].name for s in sources if s >= k] for _, sources in nodes]


def graph_config(name: str, nodes: list[Node], output_slots: list[int]) -> dict[str, Any]:
    k = input_count(nodes)
    config: dict[str, Any] = {
        "name": name,
        "class_name": "Functional",
        "input_shape": list(nodes[0][0].shape),
        "layers": [
            {"class_name": type(layer).__name__, "config": layer.get_config(), "inbound": inbound}
            for (layer, _), inbound in zip(nodes, inbound_names(nodes), strict=True)
        ],
    }
    if k > 1 or output_slots != [k + len(nodes) - 1]:
        config["inputs"] = [layer.name for layer, _ in nodes[:k]]
        config["outputs"] = [nodes[s - k][0].name for s in output_slots]
    return config


def rebuild(
    config: dict[str, Any], layer_class: Callable[[str], type[Layer] | None]
) -> tuple[list[Input], list[Any]]:
    """The Inputs and the output tensors that ``graph_config`` described, with new layers
    (``layer_class`` finds the class of a ``class_name``)."""
    tensors: dict[str, Any] = {}
    inputs: list[Input] = []
    last: Any = None
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            model_input = Input(entry["config"]["shape"], name=entry["config"]["name"])
            tensors[model_input.name] = last = model_input
            inputs.append(model_input)
            continue
        cls = layer_class(entry["class_name"])
        if cls is None:
            raise ValueError(f"unknown layer class {entry['class_name']!r}")
        layer = cls.from_config(entry["config"])
        missing = [n for n in entry["inbound"] if n not in tensors]
        if missing or not entry["inbound"]:
            raise ValueError(f"layer {layer.name!r} takes unknown inputs {entry['inbound']!r}")
        sources = [tensors[n] for n in entry["inbound"]]
        last = layer(sources if layer.takes_list else sources[0])
        tensors[layer.name] = last
    if not inputs:
        raise ValueError("a functional model starts with its InputLayers.")
    if "inputs" in config:
        inputs = [tensors[n] for n in config["inputs"]]
    outputs = [tensors[n] for n in config["outputs"]] if "outputs" in config else [last]
    return inputs, outputs
