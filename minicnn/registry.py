"""The custom objects a saved model may name (a loss or metric function, a Loss or Metric
subclass), as Keras finds them: registered with ``register_keras_serializable``, or given for
a while by ``custom_object_scope`` (what ``load_model(custom_objects=...)`` does)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

_registered: dict[str, Any] = {}
_names: dict[int, str] = {}  # id(object) -> the name it was registered under
_scopes: list[dict[str, Any]] = []


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[Any], Any]:
    """A decorator that lets saved models name a custom function or class: it is found again
    when they are loaded, without ``custom_objects``. Keras' key is 'package>name'; a model
    file records it, and looking up either that key or the bare name finds the object."""

    def register(obj: Any) -> Any:
        bare = name or getattr(obj, "__name__", None)
        if not bare:
            raise ValueError(f"register_keras_serializable needs a name for {obj!r}.")
        key = f"{package}>{bare}"
        _registered[key] = _registered[bare] = obj
        _names[id(obj)] = key
        return obj

    return register


def get_custom_objects() -> dict[str, Any]:
    """Keras' ``get_custom_objects``: the registered objects by name, as a live dict (an
    entry set in it registers an object, as in Keras)."""
    return _registered


def registered_name(obj: Any) -> str:
    """The name a model file records for ``obj``: its registered key, else its ``__name__``."""
    if id(obj) in _names:
        return _names[id(obj)]
    cls_or_fn = obj if isinstance(obj, type) or callable(obj) else type(obj)
    return getattr(cls_or_fn, "__name__", repr(obj))


@contextlib.contextmanager
def custom_object_scope(custom_objects: dict[str, Any] | None) -> Iterator[None]:
    """Inside this block, names in ``custom_objects`` resolve to their objects."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"custom_objects must be a dict of name: object, got {custom_objects!r}.")
    _scopes.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _scopes.pop()


def saved_object(key: str, kind: str, name: str) -> Any:
    """The object a model file names by ``key`` (its ``kind``, 'loss' or 'metric', called
    ``name``), or a ValueError that says how to give it back."""
    found = get_registered_object(key)
    if found is None:
        raise ValueError(
            f"The {kind} '{name}' is a custom one ('{key}'): pass "
            f"custom_objects={{'{key.split('>')[-1]}': ...}} to load_model, register it with "
            "register_keras_serializable, or load with compile=False."
        )
    return found


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """The object ``name`` refers to: in ``custom_objects``, the innermost scope first, then
    the registered ones; None when nothing is called so. A key 'package>name' also finds an
    object given under its bare name."""
    bare = name.split(">", 1)[-1]
    for objects in [custom_objects or {}, *reversed(_scopes), _registered]:
        for key in (name, bare):
            if key in objects:
                return objects[key]
    return None


def deserialized_with(get: Any, config: Any, custom_objects: dict[str, Any] | None) -> Any:
    """Keras' ``deserialize`` of a kind whose ``get`` knows the built-in ones: a config
    naming a registered (or ``custom_objects``) class is rebuilt from it, others by ``get``."""
    with custom_object_scope(custom_objects):
        if isinstance(config, dict):
            found = get_registered_object(config.get("registered_name") or config.get("class_name"))
            if isinstance(found, type):
                inner = config.get("config") or {}
                return found.from_config(inner) if hasattr(found, "from_config") else found(**inner)
        return get(config)
