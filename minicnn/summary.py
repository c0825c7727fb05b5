"""``model.summary()``: the Keras 3 table, drawn with the same box characters and columns."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Keras 3 sizes its three columns from an 76-character line on an 80-column terminal; these are
# the content widths it ends up with.
COLUMN_WIDTHS = (31, 22, 13)
HEADER = ("Layer (type)", "Output Shape", "Param #")
# With Keras' fourth column, "Connected to", for models with branches or merges.
CONNECTED_WIDTHS = (24, 20, 10, 18)


def readable_memory_size(size: float) -> str:
    """Bytes as Keras prints them: 1.26 MB, 573.36 KB, 0.00 B."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def format_shape(shape: Any, batch: bool = True) -> str:
    """``(None, 28, 28, 1)``; a list of them, as Keras shows it, for several outputs;
    without ``batch``, a value of the whole batch's own shape: ``()``, ``(32,)``."""
    if shape and all(isinstance(d, (tuple, list)) for d in shape):
        return "[" + ", ".join(format_shape(tuple(d), batch) for d in shape) + "]"
    if not batch:
        return str(tuple(shape))
    return "(" + ", ".join(["None", *(str(d) for d in shape)]) + ")"


def _connections(model: Any) -> list[str] | None:
    """Keras' "Connected to" cells (``name[call][0]``, one input a line; a shared layer's
    calls one after another), one per layer of ``model.layers``, or None for a model whose
    layers each take the one before (a Sequential or a chain), which has no column."""
    from .functional import inbound_refs, is_chain

    nodes = model._nodes()
    if is_chain(nodes):
        return None
    cells: dict[int, list[str]] = {}
    for (layer, _), refs in zip(nodes, inbound_refs(nodes), strict=True):
        cells.setdefault(id(layer), []).extend(f"{name}[{call}][0]" for name, call in refs)
    return [",\n".join(cells.get(id(layer), [])) or "-" for layer in model.layers]


def _shown_shape(layer: Any) -> Any:
    """The output shape in the table: the last call's, as Keras shows it, where a call's own
    arguments change it (ReversibleEmbedding's reverse projection); else the layer's."""
    last = getattr(layer, "_called_output", None) if getattr(layer, "call_arguments", ()) else None
    return last.shape if hasattr(last, "shape") else layer.output_shape


def _trainable_cell(layer: Any) -> str:
    """Keras' show_trainable column: Y or N for a layer with weights, - for one without."""
    if not layer.weights:
        return "-"
    return "Y" if layer.trainable else "N"


def layer_index_range(layers: list[Any], layer_range: Any) -> tuple[int, int]:
    """Keras' ``layer_range``: two regular expressions, matched (``re.match``) against layer
    names; the rows run from the first layer the first matches to the last layer the second
    matches."""
    if layer_range is None:
        return 0, len(layers)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError(
            f"layer_range must be a list or tuple of length 2. Received: layer_range={layer_range}"
        )
    if not all(isinstance(p, str) for p in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(
            f"Passed layer_names do not match the layer names in the model. Received: {layer_range}"
        )
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _entries(layers: list[Any], expand_nested: bool, level: int = 0) -> list[tuple[Any, str]]:
    """The layers of the table with their name prefix; with ``expand_nested`` a nested
    model's layers follow it, indented as Keras 3 does ("   " per level, then "└ ")."""
    out = []
    prefix = "   " * level + "└ " if level else ""
    for layer in layers:
        out.append((layer, prefix))
        if expand_nested and getattr(layer, "layers", None):
            out.extend(_entries(layer.layers, expand_nested, level + 1))
    return out


def summary_lines(
    model: Any,
    show_trainable: bool = False,
    expand_nested: bool = False,
    layer_range: Any = None,
) -> list[str]:
    connections = _connections(model)
    header = HEADER if connections is None else (*HEADER, "Connected to")
    first, last = layer_index_range(model.layers, layer_range)
    top = model.layers[first:last]
    cell_of = dict(zip(map(id, model.layers), connections or [], strict=False))
    entries = _entries(top, expand_nested)
    rows = [
        (
            f"{prefix}{layer.name} ({getattr(layer, 'keras_class_name', type(layer).__name__)})",
            format_shape(_shown_shape(layer), not getattr(layer, "batch_valued", False)),
            f"{layer.count_params():,}",
        )
        for layer, prefix in entries
    ]
    if connections is not None:
        # A nested model's own layers are not connected in this model's graph.
        rows = [
            (*row, cell_of.get(id(layer), "-") if not prefix else "-")
            for row, (layer, prefix) in zip(rows, entries, strict=True)
        ]
    minimum = COLUMN_WIDTHS if connections is None else CONNECTED_WIDTHS
    if show_trainable:
        header, minimum = (*header, "Trainable"), (*minimum, len("Trainable"))
        rows = [
            (*row, _trainable_cell(layer)) for row, (layer, _) in zip(rows, entries, strict=True)
        ]
    widths = [
        max([w, len(h)] + [len(line) for r in rows for line in r[i].split("\n")])
        for i, (w, h) in enumerate(zip(minimum, header, strict=True))
    ]

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(values: tuple[str, ...], edge: str) -> list[str]:
        """One row, over as many lines as its tallest cell."""
        columns = [v.split("\n") for v in values]
        height = max(len(c) for c in columns)
        lines = []
        for k in range(height):
            texts = [
                (c[k] if k < len(c) else "").rjust(w)
                if i == 2
                else (c[k] if k < len(c) else "").ljust(w)
                for i, (c, w) in enumerate(zip(columns, widths, strict=True))
            ]
            lines.append(edge + edge.join(f" {t} " for t in texts) + edge)
        return lines

    lines = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓"), *cells(header, "┃")]
    lines.append(rule("┡", "━", "╇", "┩"))
    for i, row in enumerate(rows):
        if i:
            lines.append(rule("├", "─", "┼", "┤"))
        lines.extend(cells(row, "│"))
    lines.append(rule("└", "─", "┴", "┘"))
    trainable = sum(w.data.size for w in model.trainable_weights)
    trainable_bytes = sum(w.data.nbytes for w in model.trainable_weights)
    frozen = sum(w.data.size for w in model.non_trainable_weights)
    frozen_bytes = sum(w.data.nbytes for w in model.non_trainable_weights)
    optimizer = model.optimizer if model.compiled else None
    built = optimizer is not None and optimizer.built
    # Keras counts its optimizer's step counter (int64) and learning rate (float32) too.
    state = optimizer.variables() if built else []
    optimizer_count = sum(a.size for a in state) + 2 if built else 0
    optimizer_bytes = sum(a.nbytes for a in state) + 8 + 4 if built else 0
    lines += [
        f" Total params: {trainable + frozen + optimizer_count:,} "
        f"({readable_memory_size(trainable_bytes + frozen_bytes + optimizer_bytes)})",
        f" Trainable params: {trainable:,} ({readable_memory_size(trainable_bytes)})",
        f" Non-trainable params: {frozen:,} ({readable_memory_size(frozen_bytes)})",
    ]
    if built:
        lines.append(
            f" Optimizer params: {optimizer_count:,} ({readable_memory_size(optimizer_bytes)})"
        )
    return lines


def print_summary(
    model: Any,
    print_fn: Callable[[str], Any] | None = None,
    show_trainable: bool = False,
    expand_nested: bool = False,
    layer_range: Any = None,
) -> None:
    text = "\n".join(summary_lines(model, show_trainable, expand_nested, layer_range))
    if print_fn is None:
        from .progress import print_msg

        print_fn = print_msg
    print_fn(text)
