"""The graph of a functional model: traced from its outputs back to its Inputs, stored as a
list of nodes, and written to / read from a config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import backend
from .layer_base import Input, InputLayer, Layer, SymbolicTensor, call_node

# A node: a layer and the slots of its inputs. With k model inputs, slots 0..k-1 hold them,
# and node j writes slot k + j. The first k nodes are the InputLayers (node i reads slot i).
Node = tuple[Layer, tuple[int, ...]]


def as_list(value: Any, what: str) -> list[Any]:
    """One tensor, or a non-empty list of them, as a list."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"Model {what}: give at least one.")
    return values


def trace(
    inputs: Any, outputs: Any
) -> tuple[
    list[Layer],
    list[Node],
    list[int],
    list[Input],
    dict[int, bool],
    dict[int, dict],
    dict[int, int],
]:
    """The model's layers and nodes in an order where every input comes before its use, the
    slot of each output, the model's Inputs, the nodes whose call fixed ``training``
    (``base(x, training=False)``, as Keras records it: a frozen base's batch norm stays in
    inference mode in fit), the nodes' own call arguments (a user's layer's), and each
    node's call of its layer counted over every model (Keras' node index). A model
    input may also be a tensor some layer gave (Keras allows it: a FeatureSpace's encoded
    features): the model starts there, at a new Input of its shape, and what made it is left
    out."""
    model_inputs = as_list(inputs, "inputs")
    model_outputs = as_list(outputs, "outputs")
    for t in model_inputs:
        if not isinstance(t, SymbolicTensor):
            raise TypeError(f"Model inputs must be Inputs (Input(shape=...)), got {t!r}.")
    if len({id(t) for t in model_inputs}) != len(model_inputs):
        raise ValueError("Model inputs: each Input may be given once.")
    graph_inputs = [t if isinstance(t, Input) else _cut(t) for t in model_inputs]
    for t in model_outputs:
        if not isinstance(t, SymbolicTensor):
            raise TypeError(
                f"Model outputs must be what layers called on the Inputs gave, got {t!r}."
            )
    order: list[SymbolicTensor] = []
    done: set[int] = set()
    # Depth-first, inputs before the tensor they feed (post-order), without recursion.
    stack: list[tuple[SymbolicTensor, bool]] = [(t, False) for t in reversed(model_outputs)]
    starts = {id(t) for t in model_inputs}
    while stack:
        tensor, expanded = stack.pop()
        if id(tensor) in done:
            continue
        if expanded or id(tensor) in starts:
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
    nodes: list[Node] = [(t.input_layer, (i,)) for i, t in enumerate(graph_inputs)]
    # An Input's value is what its InputLayer node writes.
    slots = {id(t): k + i for i, t in enumerate(model_inputs)}
    fixed: dict[int, bool] = {}
    arguments: dict[int, dict] = {}
    calls: dict[int, int] = {}  # each node's call of its layer, counted over every model
    for tensor in order:
        if tensor.layer is None or id(tensor) in starts:
            continue
        nodes.append((tensor.layer, tuple(slots[id(s)] for s in tensor.inputs)))
        slots[id(tensor)] = k + len(nodes) - 1
        if getattr(tensor, "node_index", None) is not None:
            calls[len(nodes) - 1] = tensor.node_index
        if getattr(tensor, "call_training", None) is not None:
            fixed[len(nodes) - 1] = bool(tensor.call_training)
        if getattr(tensor, "call_kwargs", None):
            arguments[len(nodes) - 1] = dict(tensor.call_kwargs)
    # A layer called at several places (shared, as in a siamese network) is one layer, with
    # one set of weights: it appears once in the model's layers and once per call in nodes.
    layers: list[Layer] = []
    for layer, _ in nodes:
        if all(layer is not known for known in layers):
            layers.append(layer)
    outputs = [slots[id(t)] for t in model_outputs]
    return layers, nodes, outputs, graph_inputs, fixed, arguments, calls


def _cut(tensor: SymbolicTensor) -> Input:
    """A new Input where a model starts at a layer's output."""
    name = backend.unique_name(f"{tensor.layer.name}_input") if tensor.layer else None
    return Input(tensor.sample_shape, dtype=getattr(tensor, "_dtype", None), name=name)


def is_chain(nodes: list[Node]) -> bool:
    """Whether each node takes exactly the one before it and each layer is called once
    (Keras calls such a model sequential-like, and its summary needs no "Connected to"
    column)."""
    once = len({id(layer) for layer, _ in nodes}) == len(nodes)
    return once and all(sources == (k,) for k, (_, sources) in enumerate(nodes))


def input_count(nodes: list[Node]) -> int:
    """How many model inputs the nodes read (their first nodes are the InputLayers)."""
    return sum(1 for layer, _ in nodes if isinstance(layer, InputLayer))


def inbound_names(nodes: list[Node]) -> list[list[str]]:
    """For each node, the names of the layers whose outputs it takes."""
    k = input_count(nodes)
    return [[nodes[s - k][0].name for s in sources if s >= k] for _, sources in nodes]


def call_indices(nodes: list[Node]) -> list[int]:
    """For each node, how many times its layer was called before it (0 but for a layer
    shared by several nodes)."""
    counts: dict[int, int] = {}
    indices = []
    for layer, _ in nodes:
        indices.append(counts.get(id(layer), 0))
        counts[id(layer)] = indices[-1] + 1
    return indices


def inbound_refs(nodes: list[Node]) -> list[list[tuple[str, int]]]:
    """For each node, the (layer name, call index) of each output it takes."""
    k, calls = input_count(nodes), call_indices(nodes)
    return [
        [(nodes[s - k][0].name, calls[s - k]) for s in sources if s >= k] for _, sources in nodes
    ]


def _ref(name: str, call: int) -> str:
    return name if call == 0 else f"{name}#{call}"


def graph_config(
    name: str,
    nodes: list[Node],
    output_slots: list[int],
    fixed_training: dict[int, bool] | None = None,
    call_arguments: dict[int, dict] | None = None,
) -> dict[str, Any]:
    k = input_count(nodes)
    calls = call_indices(nodes)
    # Each entry names its layer for the graph's references, as Keras' does: a layer of the
    # user's whose config leaves its name out is named anew when it is made again.
    entries = [
        layer_entry(layer, name=layer.name, inbound=inbound)
        for (layer, _), inbound, call in zip(nodes, inbound_names(nodes), calls, strict=True)
        if call == 0
    ]
    config: dict[str, Any] = {
        "name": name,
        "class_name": "Functional",
        "input_shape": list(nodes[0][0].shape),
        "layers": entries,
    }
    if fixed_training:  # node index (after the InputLayers) -> the training it was called with
        config["call_training"] = [[i - k, value] for i, value in sorted(fixed_training.items())]
    if call_arguments:  # node index (after the InputLayers) -> its call's own arguments
        config["call_arguments"] = [[i - k, value] for i, value in sorted(call_arguments.items())]
    shared = any(call > 0 for call in calls)
    if k > 1 or output_slots != [k + len(nodes) - 1] or shared:
        config["inputs"] = [layer.name for layer, _ in nodes[:k]]
        config["outputs"] = slot_refs(nodes, output_slots)
    if shared:
        # Every call in the order it runs: a shared layer's outputs are told apart by "#k".
        config["nodes"] = [
            [layer.name, [_ref(*ref) for ref in refs]]
            for (layer, _), refs in zip(nodes[k:], inbound_refs(nodes)[k:], strict=True)
        ]
    return config


def layer_config(layer: Layer) -> dict[str, Any]:
    """A layer's config as minicnn's files keep it: a nested model's is minicnn's own, as
    the graph around it is."""
    return layer._own_config() if getattr(layer, "is_model", False) else layer.get_config()


def layer_entry(layer: Layer, **more: Any) -> dict[str, Any]:
    """A layer as a model's config keeps it: its class and config, and the build config of
    a layer whose class gives its own (a build of more than the input shape), which loading
    hands to its ``build_from_config``, as Keras' loading does."""
    entry = {"class_name": type(layer).__name__, **more, "config": layer_config(layer)}
    if layer.built and type(layer).get_build_config is not Layer.get_build_config:
        entry["build_config"] = layer.get_build_config()
    return entry


def _input_of(config: dict[str, Any]) -> Input:
    """The Input of an InputLayer's config: Keras' (batch_shape), or minicnn's older one
    (the sample's shape)."""
    if "shape" in config:
        shape, batch_size = config["shape"], None
    else:
        batch_size, *shape = config["batch_shape"]
    return Input(shape, batch_size, name=config["name"], dtype=config.get("dtype"))


def layer_from_entry(entry: dict[str, Any], cls: type[Layer]) -> Layer:
    """The layer ``layer_entry`` described, made again (and built, given its build config)."""
    layer = cls.from_config(entry["config"])
    if entry.get("build_config") is not None:
        layer.build_from_config(entry["build_config"])
    return layer


def slot_refs(nodes: list[Node], slots: list[int]) -> list[str]:
    """How a config names the tensors of some slots: "layer", or "layer#k" for the k-th
    call of a shared layer."""
    k, calls = input_count(nodes), call_indices(nodes)
    return [_ref(nodes[s - k][0].name, calls[s - k]) for s in slots]


def rebuild(
    config: dict[str, Any], layer_class: Callable[[str], type[Layer] | None]
) -> tuple[list[Input], list[Any], dict[str, Any]]:
    """The Inputs and the output tensors that ``graph_config`` described, with new layers
    (``layer_class`` finds the class of a ``class_name``), and every tensor by its ref."""
    if "nodes" in config:
        return _rebuild_shared(config, layer_class)
    fixed, arguments = _call_settings(config)
    tensors: dict[str, Any] = {}
    inputs: list[Input] = []
    last: Any = None
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            model_input = _input_of(entry["config"])
            tensors[model_input.name] = last = model_input
            inputs.append(model_input)
            continue
        cls = layer_class(entry["class_name"])
        if cls is None:
            raise ValueError(f"unknown layer class {entry['class_name']!r}")
        layer = layer_from_entry(entry, cls)
        name = entry.get("name", layer.name)
        missing = [n for n in entry["inbound"] if n not in tensors]
        if missing or not entry["inbound"]:
            raise ValueError(f"layer {name!r} takes unknown inputs {entry['inbound']!r}")
        sources = [tensors[n] for n in entry["inbound"]]
        j = len(tensors) - len(inputs)
        given = sources if layer.takes_list or len(sources) > 1 else sources[0]
        # A call of several results: its node (the graph's own SelectOutputs select again).
        last = call_node(layer(given, fixed.get(j), **arguments.get(j, {})))
        tensors[name] = last
    if not inputs:
        raise ValueError("a functional model starts with its InputLayers.")
    if "inputs" in config:
        inputs = [tensors[n] for n in config["inputs"]]
    outputs = [tensors[n] for n in config["outputs"]] if "outputs" in config else [last]
    return inputs, outputs, tensors


def _call_settings(config: dict[str, Any]) -> tuple[dict[int, bool], dict[int, dict]]:
    """The training and the own arguments each call of the graph was given, by node."""
    fixed = {int(i): bool(v) for i, v in config.get("call_training", [])}
    arguments = {int(i): dict(v) for i, v in config.get("call_arguments", [])}
    return fixed, arguments


def _rebuild_shared(
    config: dict[str, Any], layer_class: Callable[[str], type[Layer] | None]
) -> tuple[list[Input], list[Any]]:
    """``rebuild`` for a graph with shared layers: the layers once, then each call in the
    order of ``nodes``."""
    layers: dict[str, Any] = {}
    tensors: dict[str, Any] = {}
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            model_input = _input_of(entry["config"])
            tensors[model_input.name] = model_input
            continue
        cls = layer_class(entry["class_name"])
        if cls is None:
            raise ValueError(f"unknown layer class {entry['class_name']!r}")
        layer = layer_from_entry(entry, cls)
        layers[entry.get("name", layer.name)] = layer
    calls: dict[str, int] = {}
    fixed, arguments = _call_settings(config)
    for j, (name, refs) in enumerate(config["nodes"]):
        if name not in layers or any(ref not in tensors for ref in refs) or not refs:
            raise ValueError(f"a call of layer {name!r} takes unknown inputs {refs!r}")
        layer = layers[name]
        sources = [tensors[ref] for ref in refs]
        call = calls.get(name, 0)
        calls[name] = call + 1
        given = sources if layer.takes_list or len(sources) > 1 else sources[0]
        tensors[_ref(name, call)] = call_node(layer(given, fixed.get(j), **arguments.get(j, {})))
    inputs = [tensors[n] for n in config["inputs"]]
    return inputs, [tensors[n] for n in config["outputs"]], tensors


# -- Keras' order ------------------------------------------------------------------------------
def keras_layer_order(nodes: list[Node], output_slots: list[int] | None) -> list[Layer]:
    """Keras' order of a functional model's layers (``model.layers``, and so its weights):
    by depth from the inputs (the deepest, furthest from the outputs, first), and at one
    depth in the order a walk from the outputs first meets them (Keras' ``map_graph``). An
    input no output reads comes with the outputs' layers, first, as in Keras."""
    _, _, finished, layer_depth, first_seen = _keras_depths(nodes, output_slots)
    reached = {id(nodes[j][0]): nodes[j][0] for j in finished}
    for layer, _ in nodes:
        if id(layer) not in reached and isinstance(layer, InputLayer):
            reached[id(layer)] = layer
            layer_depth[id(layer)], first_seen[id(layer)] = 0, -1
    return sorted(reached.values(), key=lambda la: (-layer_depth[id(la)], first_seen[id(la)]))


def keras_node_order(nodes: list[Node], output_slots: list[int] | None) -> list[int]:
    """The nodes (indices) in the order Keras' functional model runs them: the deepest
    first, nodes of one depth in the graph's order; nodes no output reads last."""
    node_depth = _keras_depths(nodes, output_slots)[1]
    reached = sorted(node_depth, key=lambda j: (-node_depth[j], j))
    return reached + [j for j in range(len(nodes)) if j not in node_depth]


def _keras_depths(
    nodes: list[Node], output_slots: list[int] | None
) -> tuple[list[Node], dict[int, int], list[int], dict, dict]:
    """Keras' depths of a functional model's nodes and layers (0 at the outputs, a node's
    inputs one deeper than it; a layer as deep as its deepest call), the nodes a walk from
    the outputs reaches in the order it finishes them, and where it first met each layer."""
    k = sum(1 for layer, _ in nodes if isinstance(layer, InputLayer))

    def producer(j: int) -> int:
        """The node whose tensor node j is (a SelectOutput's is its source's: Keras has
        none, its layers give several tensors)."""
        while getattr(nodes[j][0], "selects_output", False):
            j = nodes[j][1][0] - k
        return j

    def parents(j: int) -> list[int]:
        if j < k:  # an InputLayer reads the model's input itself
            return []
        return [producer(s - k) for s in nodes[j][1]]

    outputs = [producer(s - k) for s in (output_slots or [k + len(nodes) - 1])]
    first_seen: dict[int, int] = {}
    finished: list[int] = []
    visited: set[int] = set()

    def walk(j: int) -> None:  # depth-first, as Keras' _build_map (graphs are shallow)
        if j in visited:
            return
        first_seen.setdefault(id(nodes[j][0]), len(first_seen))
        for p in parents(j):
            walk(p)
        visited.add(j)
        finished.append(j)

    for j in outputs:
        walk(j)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for j in reversed(finished):
        depth = max(node_depth.setdefault(j, 0), layer_depth.get(id(nodes[j][0]), 0))
        layer_depth[id(nodes[j][0])] = node_depth[j] = depth
        for p in parents(j):
            node_depth[p] = max(depth + 1, node_depth.get(p, 0))
    return nodes, node_depth, finished, layer_depth, first_seen
