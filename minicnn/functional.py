"""The graph of a functional model: traced from its output back to its Input, stored as a
list of nodes, and written to / read from a config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .layer_base import Input, Layer, SymbolicTensor

# A node: a layer and the slots of its inputs. Slot 0 holds the model's input; node k writes
# slot k + 1. The first node is the InputLayer, the last makes the model's output.
Node = tuple[Layer, tuple[int, ...]]


def single(value: Any, what: str) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(
                f"Model {what}: a model here has one input and one output, got {len(value)} {what}."
            )
        return value[0]
    return value


def trace(inputs: Any, outputs: Any) -> tuple[list[Layer], list[Node]]:
    """The model's layers and nodes in an order where every input comes before its use."""
    model_input = single(inputs, "inputs")
    output = single(outputs, "outputs")
    if not isinstance(model_input, Input):
        raise TypeError(f"Model inputs must be an Input(shape=...), got {model_input!r}.")
    if not isinstance(output, SymbolicTensor):
        raise TypeError(
            f"Model outputs must be what a layer called on the Input gave, got {output!r}."
        )
    order: list[SymbolicTensor] = []
    done: set[int] = set()
    # Depth-first, inputs before the tensor they feed (post-order), without recursion.
    stack: list[tuple[SymbolicTensor, bool]] = [(output, False)]
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
    leaves = [t for t in order if t.layer is None]
    if len(leaves) != 1 or leaves[0] is not model_input:
        raise ValueError(
            "The model's output must be computed from its input alone; it depends on "
            + ", ".join(repr(t) for t in leaves)
            + f" but the input given is {model_input!r}."
        )
    slots = {id(model_input): 1}
    nodes: list[Node] = [(model_input.input_layer, (0,))]
    for tensor in order:
        if tensor is model_input:
            continue
        nodes.append((tensor.layer, tuple(slots[id(s)] for s in tensor.inputs)))
        slots[id(tensor)] = len(nodes)
    layers = [layer for layer, _ in nodes]
    seen: set[int] = set()
    for layer in layers:
        if id(layer) in seen:
            raise ValueError(
                f"{layer.describe()} is used at more than one place in the graph; layers are "
                "not shared here: give each place a layer of its own."
            )
        seen.add(id(layer))
    return layers, nodes


def is_chain(nodes: list[Node]) -> bool:
    """Whether each node takes exactly the one before it (Keras calls such a model
    sequential-like, and its summary needs no "Connected to" column)."""
    return all(sources == (k,) for k, (_, sources) in enumerate(nodes))


def inbound_names(nodes: list[Node]) -> list[list[str]]:
    """For each node, the names of the layers whose outputs it takes."""
    return [[nodes[s - 1][0].name for s in sources if s > 0] for _, sources in nodes]


def graph_config(name: str, nodes: list[Node]) -> dict[str, Any]:
    return {
        "name": name,
        "class_name": "Functional",
        "input_shape": list(nodes[0][0].shape),
        "layers": [
            {"class_name": type(layer).__name__, "config": layer.get_config(), "inbound": inbound}
            for (layer, _), inbound in zip(nodes, inbound_names(nodes), strict=True)
        ],
    }


def rebuild(
    config: dict[str, Any], layer_class: Callable[[str], type[Layer] | None]
) -> tuple[Input, Any]:
    """The Input and the output tensor that ``graph_config`` described, with new layers
    (``layer_class`` finds the class of a ``class_name``)."""
    entries = config["layers"]
    first = entries[0]
    if first["class_name"] != "InputLayer":
        raise ValueError(f"a functional model starts with its InputLayer, not {first!r}.")
    model_input = Input(first["config"]["shape"], name=first["config"]["name"])
    tensors: dict[str, Any] = {model_input.name: model_input}
    output: Any = model_input
    for entry in entries[1:]:
        cls = layer_class(entry["class_name"])
        if cls is None:
            raise ValueError(f"unknown layer class {entry['class_name']!r}")
        layer = cls.from_config(entry["config"])
        missing = [n for n in entry["inbound"] if n not in tensors]
        if missing or not entry["inbound"]:
            raise ValueError(f"layer {layer.name!r} takes unknown inputs {entry['inbound']!r}")
        sources = [tensors[n] for n in entry["inbound"]]
        output = layer(sources if layer.takes_list else sources[0])
        tensors[layer.name] = output
    return model_input, output
