"""``model.summary()``: the Keras 3 table, drawn with the same box characters, columns and
line breaks. Keras sizes it for the terminal (a line of 88 characters, 108 with "Connected
to", at most the terminal's width less 4; 80 columns where there is no terminal) and Rich
lays it out: each column's share of the line, less what the borders and padding take, taken
evenly from the columns; a cell's text broken between words, a word too long for its column
cut with "…". This module does the same arithmetic."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from typing import Any

HEADER = ("Layer (type)", "Output Shape", "Param #")


def readable_memory_size(size: float) -> str:
    """Bytes as Keras prints them: 1.26 MB, 573.36 KB, 0.00 B."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def format_shape(shape: Any, batch: bool = True, batch_size: int | None = None) -> str:
    """``(None, 28, 28, 1)`` (the batch size where an Input gave one); a list of them, as
    Keras shows it, for several outputs; without ``batch``, a value of the whole batch's own
    shape: ``()``, ``(32,)``."""
    if shape and all(isinstance(d, (tuple, list)) for d in shape):
        return "[" + ", ".join(format_shape(tuple(d), batch, batch_size) for d in shape) + "]"
    if not batch:
        return str(tuple(shape))
    return "(" + ", ".join([str(batch_size), *(str(d) for d in shape)]) + ")"


def _batch_size(layer: Any) -> int | None:
    """The batch size its output has in the model's graph (an Input's ``batch_size``)."""
    output = getattr(layer, "_called_output", None)
    if isinstance(output, (list, tuple)):
        output = output[0] if output else None
    return getattr(output, "batch_size", None)


def _shown_operations(model: Any) -> list[Any]:
    """The model's operations that are rows of its summary: not the holder of a subclassed
    model's own weights (Keras counts them in the totals alone)."""
    return [la for la in model._operations if not getattr(la, "holds_model_weights", False)]


def _connections(model: Any) -> list[str] | None:
    """Keras' "Connected to" cells (``name[call][0]``, the inputs joined by ", "; a shared
    layer's calls one after another), one per layer of ``model.operations``, or None for a model
    whose layers each take the one before (a Sequential or a chain), which has no column."""
    from .functional import call_indices, input_count, is_chain

    nodes = model._nodes()
    if is_chain(nodes):
        return None
    k, calls = input_count(nodes), call_indices(nodes)
    # Keras names a call by its index among all the layer's calls, in any model (a layer
    # called again in a second model: lstm[1][0] there).
    for node, index in getattr(model, "_node_calls", {}).items():
        calls[node] = index

    def ref(slot: int) -> str:
        """``name[call][index]``: an output of a layer of several outputs by its index, as
        Keras writes it (minicnn's SelectOutput picking it is no row of Keras')."""
        layer, sources = nodes[slot - k]
        if getattr(layer, "selects_output", False):
            source = next(s for s in sources if s >= k)
            return f"{nodes[source - k][0].name}[{calls[source - k]}][{layer.index}]"
        return f"{layer.name}[{calls[slot - k]}][0]"

    cells: dict[int, list[str]] = {}
    for layer, sources in nodes:
        cells.setdefault(id(layer), []).extend(ref(s) for s in sources if s >= k)
    return [", ".join(cells.get(id(layer), [])) or "-" for layer in _shown_operations(model)]


def _shown_shape(layer: Any) -> Any:
    """The output shape in the table: the last call's, as Keras shows it, where a call's own
    arguments change it (ReversibleEmbedding's reverse projection); else its first call's
    in a graph (Keras' node 0: an Embedding built for one id and called on sequences); else
    the layer's."""
    last = getattr(layer, "_called_output", None) if getattr(layer, "call_arguments", ()) else None
    if hasattr(last, "shape"):
        return last.sample_shape
    first = layer.__dict__.get("_first_output")
    return first.sample_shape if hasattr(first, "sample_shape") else layer.sample_output_shape


def _shape_and_params(layer: Any, batch: int | None) -> tuple[str, str]:
    """A row's Output Shape and Param # cells; Keras' "?" and "0 (unbuilt)" for a layer not
    built yet (a Sequential without an Input before its first data). ``batch``: the batch
    size a subclassed model was first run on, which Keras shows on its layers' rows."""
    if not layer.built:
        return "?", "0 (unbuilt)"
    if _shape_unknown_to_keras(layer):
        return "?", f"{layer.count_params():,}"
    own = _eager_model_shape(layer) if batch is not None else None
    if own is not None:  # a model a subclassed model's code calls: Keras shows its own shape
        return own, f"{layer.count_params():,}"
    shape = format_shape(
        _shown_shape(layer),
        not getattr(layer, "batch_valued", False),
        _batch_size(layer) or batch,
    )
    return shape, f"{layer.count_params():,}"


# Keras' layers built when they are made (``_build_at_init``: no build of their own), which
# so keep no build shapes: called by a subclassed model's code, their rows show "?".
BUILT_AT_INIT = frozenset(
    "Activation ActivityRegularization AlphaDropout AveragePooling1D AveragePooling2D "
    "AveragePooling3D Dropout ELU GaussianDropout GaussianNoise GlobalAveragePooling1D "
    "GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D GlobalMaxPooling2D "
    "GlobalMaxPooling3D Identity LeakyReLU Masking MaxPooling1D MaxPooling2D MaxPooling3D ReLU "
    "Reshape Softmax SpatialDropout1D SpatialDropout2D SpatialDropout3D UnitNormalization".split()
)


def _eager_model_shape(layer: Any) -> str | None:
    """A nested model with an Input of its own called by code, not in a graph: its
    ``output_shape`` (the Input's batch size), as Keras' row. (One built on data, a
    Sequential without an Input, shows the first batch's size, as the other rows do.)"""
    if not getattr(layer, "is_model", False) or layer.__dict__.get("_called_output") is not None:
        return None
    if layer.__dict__.get("_build_batch") is not None:
        return None
    shape = layer.output_shape
    if isinstance(shape, list):  # several outputs: Keras' format of a tuple of them
        return "(" + ", ".join(str(tuple(s)) for s in shape) + ")"
    if not isinstance(shape, tuple) or not shape:
        return None
    return format_shape(shape[1:], True, shape[0])


def _shape_unknown_to_keras(layer: Any) -> bool:
    """A layer that a subclassed model's code called (no graph call) whose shape Keras'
    summary does not know ("?"): a user's layer without compute_output_shape, having none to
    ask, or one of Keras' layers built when made, having no build shapes."""
    from .layer_base import Layer

    if getattr(layer, "is_model", False) or getattr(layer, "_called_output", None) is not None:
        return False
    cls = type(layer)
    if not cls.__module__.startswith("minicnn."):
        if cls.compute_output_shape is Layer.compute_output_shape:
            return True
        if any("build" in vars(c) for c in cls.__mro__ if not c.__module__.startswith("minicnn.")):
            return False  # a build of its own: Keras builds it on the first call's shapes
    named = [getattr(c, "keras_class_name", None) for c in cls.__mro__]
    keras_names = {n for n in named if isinstance(n, str)} | {c.__name__ for c in cls.__mro__}
    return bool(keras_names & BUILT_AT_INIT)


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


def _entries(
    layers: list[Any], expand_nested: bool, owner: Any, level: int = 0
) -> list[tuple[Any, str, Any]]:
    """The layers of the table with their name prefix and the model that holds them; with
    ``expand_nested`` a nested model's layers follow it, indented as Keras 3 does ("   "
    per level, then "└ ")."""
    out = []
    prefix = "   " * level + "└ " if level else ""
    for layer in layers:
        out.append((layer, prefix, owner))
        if expand_nested and getattr(layer, "layers", None):
            out.extend(_entries(layer.layers, expand_nested, layer, level + 1))
    return out


def _first_batch(model: Any) -> int | None:
    """The batch size a subclassed model was first run on, which Keras shows on the rows
    of the layers its code calls (a graph's layers show their graph's)."""
    return model._build_batch if getattr(model, "_subclassed", False) else None


def column_widths(
    sequential_like: bool,
    show_trainable: bool = False,
    line_length: int | None = None,
    positions: Any = None,
) -> list[int]:
    """The columns' text widths of Keras' table, as Rich draws it: Keras gives each column
    its share of the line (``positions``, fractions of it); Rich adds a space each side,
    fits the whole within the line less its borders, and takes the excess from the
    columns in turn (``round`` of an even share of what is left, as Rich's ratio_reduce)."""
    default = 88 if sequential_like else 108
    shares = list(positions or ([0.45, 0.80, 1.0] if sequential_like else [0.3, 0.56, 0.74, 1.0]))
    if show_trainable:
        default += 12
        shares = [p * 0.90 for p in shares] + [1.0]
    terminal = shutil.get_terminal_size().columns
    line = line_length or min(default, terminal - 4)
    widths, current = [], 0
    for share in shares:
        width = int(share * line) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    padded = [w + 2 for w in widths]
    excess = sum(padded) - (line - len(padded) - 1)
    left, count = excess, len(padded)
    for i in range(len(padded)):
        if left <= 0:
            break
        taken = min(padded[i], round(left / count))
        padded[i] -= taken
        left, count = left - taken, count - 1
    return [w - 2 for w in padded]


def wrapped(text: str, width: int) -> list[str]:
    """A cell's text in lines of ``width``, as Rich wraps it: broken before a word that
    does not fit (a word with its spaces after it, the leading ones kept), each line's end
    stripped, a line still too long cut to width - 1 characters and "…"."""
    lines = []
    for paragraph in text.split("\n"):
        breaks, used = [], 0
        for found in re.finditer(r"\s*\S+\s*", paragraph):
            word = found.group()
            length = len(word.rstrip())
            if width - used >= length:
                used += len(word)
                continue
            if found.start():
                breaks.append(found.start())
            used = len(word)
        starts = [0, *breaks]
        ends = [*breaks, len(paragraph)]
        for start, end in zip(starts, ends, strict=True):
            line = paragraph[start:end].rstrip()
            lines.append(line if len(line) <= width else line[: width - 1] + "…")
    return lines


def _justified(text: str, width: int, how: str) -> str:
    if how == "right":
        return text.rjust(width)
    if how == "center":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def summary_lines(
    model: Any,
    show_trainable: bool = False,
    expand_nested: bool = False,
    layer_range: Any = None,
    line_length: int | None = None,
    positions: Any = None,
) -> list[str]:
    connections = _connections(model)
    header = HEADER if connections is None else (*HEADER, "Connected to")
    cell_of = dict(zip(map(id, _shown_operations(model)), connections or [], strict=False))
    shown = [la for la in _shown_operations(model) if not getattr(la, "selects_output", False)]
    first, last = layer_index_range(shown, layer_range)
    top = shown[first:last]
    entries = _entries(top, expand_nested, model)
    rows = [
        (
            f"{prefix}{layer.name} ({getattr(layer, 'keras_class_name', type(layer).__name__)})",
            *_shape_and_params(layer, _first_batch(owner)),
        )
        for layer, prefix, owner in entries
    ]
    if connections is not None:
        # A nested model's own layers are not connected in this model's graph.
        rows = [
            (*row, cell_of.get(id(layer), "-") if not prefix else "-")
            for row, (layer, prefix, _) in zip(rows, entries, strict=True)
        ]
    justify = ["left", "left", "right"] + ([] if connections is None else ["left"])
    if show_trainable:
        header, justify = (*header, "Trainable"), [*justify, "center"]
        rows = [
            (*row, _trainable_cell(layer)) for row, (layer, _, _) in zip(rows, entries, strict=True)
        ]
    widths = column_widths(connections is None, show_trainable, line_length, positions)

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(values: tuple[str, ...], edge: str) -> list[str]:
        """One row, over as many lines as its tallest cell."""
        columns = [wrapped(v, w) for v, w in zip(values, widths, strict=True)]
        height = max(len(c) for c in columns)
        lines = []
        for k in range(height):
            texts = [
                _justified(c[k] if k < len(c) else "", w, how)
                for c, w, how in zip(columns, widths, justify, strict=True)
            ]
            lines.append(edge + edge.join(f" {t} " for t in texts) + edge)
        return lines

    table = [rule("┏", "━", "┳", "┓"), *cells(header, "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            table.append(rule("├", "─", "┼", "┤"))
        table.extend(cells(row, "│"))
    table.append(rule("└", "─", "┴", "┘"))
    # A line_length wider than the terminal: Rich cuts each line at the terminal's width.
    terminal = shutil.get_terminal_size().columns
    lines = [f'Model: "{model.name}"', *(line[:terminal] for line in table)]
    trainable = sum(w.data.size for w in model.trainable_weights)
    trainable_bytes = sum(w.data.nbytes for w in model.trainable_weights)
    frozen = sum(w.data.size for w in model.non_trainable_weights)
    frozen_bytes = sum(w.data.nbytes for w in model.non_trainable_weights)
    optimizer = model.optimizer if model.compiled else None
    built = optimizer is not None and optimizer.built
    # Keras counts its optimizer's variables: its step counter and learning rate too.
    state = [v.data for v in optimizer.variables] if built else []
    optimizer_count = sum(a.size for a in state)
    optimizer_bytes = sum(a.nbytes for a in state)
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
    line_length: int | None = None,
    positions: Any = None,
) -> None:
    text = "\n".join(
        summary_lines(model, show_trainable, expand_nested, layer_range, line_length, positions)
    )
    if print_fn is None:
        from .progress import print_msg

        print_fn = print_msg
    print_fn(text)
