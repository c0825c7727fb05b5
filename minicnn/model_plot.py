"""``utils.plot_model``: Keras' picture of a model's graph, drawn with matplotlib (Keras needs
pydot and Graphviz; minicnn draws the boxes and arrows itself), or its Graphviz DOT text.

Each layer is a box (its name and class, with ``show_shapes`` its input and output shapes),
placed one row per step of the longest path from the inputs (``rankdir="TB"``; "LR": one
column per step), with an arrow from every layer to each layer that reads it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .fileio import atomic_write
from .functional import input_count
from .summary import format_shape

Box = dict[str, Any]


def _graph(model: Any) -> tuple[list[Box], list[tuple[int, int]]]:
    """The boxes (layer, label parts) and the edges (from box, to box) of the model."""
    nodes = model._nodes()
    k = input_count(nodes)
    boxes: list[Box] = []
    edges: list[tuple[int, int]] = []
    if k == 0:  # a Sequential (or subclassed) model: its input has no layer of its own
        shape = model.sample_input_shape
        boxes.append({"name": "input_layer", "kind": "InputLayer", "in": shape, "out": shape})
        for j, (layer, _) in enumerate(nodes):
            boxes.append(_box(layer))
            edges.append((j, j + 1))
        return boxes, edges
    for j, (layer, sources) in enumerate(nodes):
        boxes.append(_box(layer))
        edges.extend((s - k, j) for s in sources if s >= k)
    return boxes, edges


def _box(layer: Any) -> Box:
    return {
        "name": layer.name,
        "kind": getattr(layer, "keras_class_name", type(layer).__name__),
        "in": layer.sample_input_shape,
        "out": layer.sample_output_shape,
        # Values of the whole batch (functional add_loss's) show their own shapes.
        "batch_in": not all(getattr(layer, "_batch_inputs", None) or [False]),
        "batch_out": not getattr(layer, "batch_valued", False),
        "activation": getattr(layer, "activation_name", None),
        "trainable": layer.trainable if layer.weights else None,
    }


def _label(box: Box, show_shapes: bool, show_layer_names: bool, extras: dict[str, bool]) -> str:
    head = f"{box['name']} ({box['kind']})" if show_layer_names else box["kind"]
    lines = [head]
    if extras["show_dtype"]:
        lines.append("Output dtype: float32")  # minicnn computes in float32
    if extras["show_layer_activations"] and box.get("activation"):
        lines.append(f"Activation: {box['activation']}")
    if extras["show_trainable"] and box.get("trainable") is not None:
        lines.append(f"Trainable: {'Y' if box['trainable'] else 'N'}")
    if show_shapes:
        lines.append(f"Input shape: {_shape(box['in'], box.get('batch_in', True))}")
        lines.append(f"Output shape: {_shape(box['out'], box.get('batch_out', True))}")
    return "\n".join(lines)


def _shape(shape: Any, batch: bool = True) -> str:
    return "?" if shape is None else format_shape(shape, batch)


def _levels(count: int, edges: list[tuple[int, int]]) -> list[int]:
    """Each box's step along the longest path from an input (edges go forwards)."""
    level = [0] * count
    for source, target in sorted(edges, key=lambda e: e[1]):
        level[target] = max(level[target], level[source] + 1)
    return level


def _across(levels: list[int], edges: list[tuple[int, int]]) -> dict[int, float]:
    """Each box's place across its row: under the mean of its inputs' places (so a long
    arrow does not cross the boxes between), spread to at least one unit apart."""
    parents: dict[int, list[int]] = {}
    for a, b in edges:
        parents.setdefault(b, []).append(a)
    place: dict[int, float] = {}
    for level in range(max(levels) + 1):
        members = [i for i, v in enumerate(levels) if v == level]
        wanted = {
            i: (sum(place[p] for p in parents[i]) / len(parents[i]) if i in parents else 0.0)
            for i in members
        }
        if level == 0 or not any(i in parents for i in members):
            wanted = {i: k - (len(members) - 1) / 2 for k, i in enumerate(members)}
        ordered = sorted(members, key=lambda i: (wanted[i], i))
        spread = [wanted[ordered[0]]]
        for i in ordered[1:]:
            spread.append(max(wanted[i], spread[-1] + 1.0))
        shift = (sum(spread) - sum(wanted[i] for i in ordered)) / len(ordered)
        for i, x in zip(ordered, spread, strict=True):
            place[i] = x - shift
    return place


def model_to_dot(
    model: Any, show_shapes: bool = False, show_layer_names: bool = False, **extras: bool
) -> str:
    """The graph in Graphviz's DOT language, as text (``dot -Tpng`` draws it)."""
    model._require_built()
    boxes, edges = _graph(model)
    options = {
        "show_layer_activations": False,
        "show_trainable": False,
        "show_dtype": False,
        **extras,
    }
    lines = [f'digraph "{model.name}" {{', "  node [shape=box];"]
    for i, box in enumerate(boxes):
        label = _label(box, show_shapes, show_layer_names, options).replace("\n", "\\n")
        lines.append(f'  n{i} [label="{label}"];')
    lines += [f"  n{a} -> n{b};" for a, b in edges]
    return "\n".join([*lines, "}"]) + "\n"


def plot_model(
    model: Any,
    to_file: str = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
) -> None:
    """Keras' plot_model: the model's graph to ``to_file`` (.png, .pdf or .svg drawn with
    matplotlib; .dot the DOT text), written atomically. A nested model is one box
    (``expand_nested=True`` is refused)."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}.")
    if expand_nested:
        raise ValueError("plot_model: expand_nested=True is not available; summary() has it.")
    model._require_built()
    extras = {
        "show_layer_activations": show_layer_activations,
        "show_trainable": show_trainable,
        "show_dtype": show_dtype,
    }
    path = Path(to_file)
    if path.suffix.lower() == ".dot":
        text = model_to_dot(model, show_shapes, show_layer_names, **extras)
        atomic_write(path, lambda f: f.write(text.encode()))
        return
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ValueError(
            f"plot_model: to_file must end in .png, .pdf, .svg or .dot; got {to_file!r}."
        )
    _draw(model, path, show_shapes, show_layer_names, rankdir, dpi, extras)


def _draw(
    model: Any,
    path: Path,
    show_shapes: bool,
    show_layer_names: bool,
    rankdir: str,
    dpi: int,
    extras: dict[str, bool],
) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    boxes, edges = _graph(model)
    across = _across(_levels(len(boxes), edges), edges)
    levels = _levels(len(boxes), edges)
    place = {
        i: (
            (across[i] * 3.4, -levels[i] * 1.7)
            if rankdir == "TB"
            else (levels[i] * 4.4, -across[i] * 1.3)
        )
        for i in range(len(boxes))
    }
    width = max(across.values()) - min(across.values()) + 1
    depth = max(levels) + 1
    size = (max(4.0, 3.4 * width), max(2.0, 1.5 * depth))
    figure, axes = plt.subplots(figsize=size if rankdir == "TB" else (2.2 * size[1], size[0] / 2))
    style = {"boxstyle": "round,pad=0.4", "facecolor": "#eef3fb", "edgecolor": "#34495e"}
    texts = []
    for i, box in enumerate(boxes):
        label = _label(box, show_shapes, show_layer_names, extras)
        texts.append(
            axes.text(*place[i], label, ha="center", va="center", fontsize=8, bbox=style, zorder=2)
        )
    for a, b in edges:
        axes.annotate(
            "",
            xy=place[b],
            xytext=place[a],
            arrowprops={
                "arrowstyle": "-|>,head_length=0.6,head_width=0.3",
                "color": "#34495e",
                "patchA": texts[a].get_bbox_patch(),
                "patchB": texts[b].get_bbox_patch(),
                "shrinkA": 1,
                "shrinkB": 1,
            },
            zorder=3,
        )
    xs, ys = [p[0] for p in place.values()], [p[1] for p in place.values()]
    axes.set_xlim(min(xs) - 2, max(xs) + 2)
    axes.set_ylim(min(ys) - 1, max(ys) + 1)
    axes.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix[1:].lower(), dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
