"""Keras' name scopes: the paths weights are made under. While a layer builds or runs, its
scope is open, so that what it builds then sits under it ("sequential/dense/kernel",
"my_layer/lstm/lstm_cell/kernel"); ``name_scope("outer")`` opens one by hand. A layer's
place (its parent path) is fixed the first time it opens its scope, as in Keras, so a layer
built on its own and then put in a model keeps its short path."""

from __future__ import annotations

from typing import Any

# The open scopes, innermost last: (the layer or name_scope that opened it, its full path).
_open: list[tuple[Any, str]] = []


def current_path() -> str:
    """The path of the innermost open scope ("" outside any)."""
    return _open[-1][1] if _open else ""


def joined(*parts: str) -> str:
    return "/".join(p for p in parts if p)


class name_scope:  # noqa: N801 -- Keras' name
    """Keras' ``name_scope(name)``: weights and layers made inside it are under ``name``.
    ``caller`` (a layer) puts the scope at that layer's fixed path, and a layer's scope
    opened again inside itself is not doubled."""

    def __init__(self, name: str, caller: Any = None) -> None:
        # (a layer's own name may hold one: Keras 2's "expanded_conv/depthwise")
        if caller is None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"name_scope: the name must be a string without '/', got {name!r}.")
        self.name, self.caller = name, caller
        self._pushed = False

    def __enter__(self) -> name_scope:
        owner = self.caller if self.caller is not None else self
        if _open and _open[-1][0] is owner:
            return self
        if self.caller is not None:
            self.caller._fix_parent_path()
            path = self.caller.path
        else:
            path = joined(current_path(), self.name)
        _open.append((owner, path))
        self._pushed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pushed:
            _open.pop()
            self._pushed = False


def unscoped_path(weight: Any) -> str | None:
    """A weight's path without the scopes its layer sits in ("dense/kernel" of
    "sequential/dense/kernel"), as Keras 2 and minicnn's earlier paths name it."""
    path, scope = weight.path, weight.scope
    if path and scope and path.startswith(scope + "/"):
        return path[len(scope) + 1 :]
    return path
