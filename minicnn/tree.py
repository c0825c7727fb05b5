"""Keras' ``keras.tree``: nests of lists, tuples, namedtuples and dicts, walked as Keras
3.15 walks them. A dict's values go in the order of its sorted keys (and come back under
its own keys, in its own order); a namedtuple's in its fields' order; anything else,
None and strings included, is a leaf."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "MAP_TO_NONE",
    "assert_same_paths",
    "assert_same_structure",
    "flatten",
    "flatten_with_path",
    "is_nested",
    "lists_to_tuples",
    "map_shape_structure",
    "map_structure",
    "map_structure_up_to",
    "pack_sequence_as",
    "traverse",
]


class _MapToNone:
    """What a ``traverse`` function returns to put None in the place of a node."""

    def __repr__(self) -> str:
        return "MAP_TO_NONE"


MAP_TO_NONE = _MapToNone()


def is_nested(structure: Any) -> bool:
    """Whether ``structure`` is a list, tuple (namedtuples too) or dict."""
    return isinstance(structure, (list, tuple, Mapping))


def _children(node: Any) -> list[tuple[Any, Any]]:
    """(key, child) of a nested node, in Keras' order."""
    if isinstance(node, Mapping):
        return [(k, node[k]) for k in sorted(node)]
    return list(enumerate(node))


def _rebuilt(node: Any, values: list[Any]) -> Any:
    """A node of ``node``'s kind holding ``values`` (in ``_children``' order)."""
    if isinstance(node, Mapping):
        by_key = dict(zip(sorted(node), values, strict=True))
        items = [(k, by_key[k]) for k in node]
        return dict(items) if type(node) is dict else type(node)(items)
    if isinstance(node, tuple) and hasattr(node, "_fields"):  # a namedtuple
        return type(node)(*values)
    return type(node)(values)


def flatten_with_path(structure: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """Each leaf with its path, the keys and indices that lead to it."""
    found: list[tuple[tuple[Any, ...], Any]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if not is_nested(node):
            found.append((path, node))
            return
        for key, child in _children(node):
            walk(child, (*path, key))

    walk(structure, ())
    return found


def flatten(structure: Any) -> list[Any]:
    """The leaves, in order."""
    return [leaf for _, leaf in flatten_with_path(structure)]


def pack_sequence_as(structure: Any, flat_sequence: Any) -> Any:
    """``structure``'s nest with ``flat_sequence``'s values as its leaves, in order."""
    values = list(flat_sequence)
    count = len(flatten(structure))
    if len(values) != count:
        raise ValueError(
            f"The structure has {count} leaves, but flat_sequence has {len(values)} values."
        )
    position = iter(values)

    def build(node: Any) -> Any:
        if not is_nested(node):
            return next(position)
        return _rebuilt(node, [build(child) for _, child in _children(node)])

    return build(structure)


def assert_same_structure(a: Any, b: Any, check_types: bool | None = None) -> None:
    """Raise ValueError unless ``a`` and ``b`` nest alike, with nodes of the same types (any
    two dicts with the same keys agree; a list and a tuple do not: ``assert_same_paths``
    is the looser check). ``check_types`` has no effect, as in Keras 3.15."""
    if check_types is not None:
        warnings.warn(
            "The `check_types` argument is deprecated and no longer has any effect, please remove.",
            DeprecationWarning,
            stacklevel=2,
        )
    _check_same(a, b)


def _check_same(a: Any, b: Any) -> None:
    def check(x: Any, y: Any) -> None:
        if is_nested(x) != is_nested(y):
            raise ValueError("Structures don't have the same nested structure.")
        if not is_nested(x):
            return
        both_maps = isinstance(x, Mapping) and isinstance(y, Mapping)
        if not both_maps and type(x) is not type(y):
            raise ValueError(f"Expected an instance of {type(x).__name__}, got {y!r}.")
        xs, ys = _children(x), _children(y)
        if [k for k, _ in xs] != [k for k, _ in ys]:
            raise ValueError("Structures don't have the same nested structure.")
        for (_, cx), (_, cy) in zip(xs, ys, strict=True):
            check(cx, cy)

    check(a, b)


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise ValueError unless ``a`` and ``b`` have leaves at the same paths (their kinds of
    node may differ: a list and a tuple agree)."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(
            "`a` and `b` don't have the same paths.\n"
            f"Paths in `a` missing in `b`:\n{paths_a - paths_b}\n"
            f"Paths in `b` missing in `a`:\n{paths_b - paths_a}"
        )


def map_structure(func: Callable[..., Any], *structures: Any, none_is_leaf: bool = True) -> Any:
    """``func`` of the leaves at each place of ``structures`` (which nest alike), in the
    first one's nest."""
    if not structures:
        raise ValueError("map_structure needs at least one structure.")
    for other in structures[1:]:
        _check_same(structures[0], other)
    leaves = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [func(*args) for args in zip(*leaves, strict=True)])


def map_structure_up_to(shallow_structure: Any, func: Callable[..., Any], *structures: Any) -> Any:
    """``map_structure`` down to ``shallow_structure``'s leaves only: ``func`` takes what
    each structure holds there, nested or not."""

    def walk(shallow: Any, nodes: tuple[Any, ...]) -> Any:
        if not is_nested(shallow):
            return func(*nodes)
        keys = [k for k, _ in _children(shallow)]
        for node in nodes:
            if not is_nested(node) or [k for k, _ in _children(node)] != keys:
                raise ValueError(
                    f"The structure {node!r} does not hold the shallow structure {shallow!r}."
                )
        children = [
            walk(child, tuple(dict(_children(node))[key] for node in nodes))
            for key, child in _children(shallow)
        ]
        return _rebuilt(shallow, children)

    return walk(shallow_structure, structures)


def _is_shape(node: Any) -> bool:
    """A shape: a tuple (or list) of ints and None."""
    return isinstance(node, (tuple, list)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in node
    )


def map_shape_structure(func: Callable[[Any], Any], structure: Any) -> Any:
    """``map_structure`` with each shape (a tuple or list of ints and None) as one leaf."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuilt(
        structure, [map_shape_structure(func, child) for _, child in _children(structure)]
    )


def lists_to_tuples(structure: Any) -> Any:
    """The nest with each list made a tuple."""
    if not is_nested(structure):
        return structure
    children = [lists_to_tuples(child) for _, child in _children(structure)]
    return tuple(children) if isinstance(structure, list) else _rebuilt(structure, children)


def traverse(func: Callable[[Any], Any], structure: Any, top_down: bool = True) -> Any:
    """Keras' traverse: top down, ``func`` sees each node before its children; where it
    returns None the walk goes on into them, otherwise its value takes the node's place
    (``MAP_TO_NONE`` for None). Bottom up, ``func`` sees each node with its children
    already traversed, and None keeps what it saw."""

    def down(node: Any) -> Any:
        found = func(node)
        if found is MAP_TO_NONE:
            return None
        if found is not None:
            return found
        if not is_nested(node):
            return node
        return _rebuilt(node, [down(child) for _, child in _children(node)])

    def up(node: Any) -> Any:
        if is_nested(node):
            node = _rebuilt(node, [up(child) for _, child in _children(node)])
        found = func(node)
        if found is MAP_TO_NONE:
            return None
        return node if found is None else found

    return down(structure) if top_down else up(structure)
