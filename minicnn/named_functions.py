"""Python functions in model files, as Keras 3 keeps them: by name
(``{"module", "class_name": "function", "config": name, "registered_name"}``), found again in
``custom_objects``, among the registered objects, or among minicnn's ops and activations (a
file does not get to call whatever some module holds). A lambda
(or a function defined inside another) has no name to find it by; Keras stores its bytecode,
which minicnn never runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from . import registry


def is_named(fn: Any) -> bool:
    """Whether ``fn`` can be written by name: a function of a module's top level (or a
    registered object)."""
    if registry.registered_name(fn) != getattr(fn, "__name__", None):
        return True  # registered under a name of its own
    qualname = getattr(fn, "__qualname__", "")
    return callable(fn) and bool(qualname) and "<" not in qualname


def function_entry(fn: Callable[..., Any]) -> dict[str, Any]:
    """Keras' serialized form of a named function."""
    name = registry.registered_name(fn)
    return {
        "module": getattr(fn, "__module__", None),
        "class_name": "function",
        "config": getattr(fn, "__name__", name),
        "registered_name": name if name != getattr(fn, "__name__", None) else "function",
    }


def _op_named(module: str, name: str) -> Any:
    """minicnn's op or activation ``name`` (ops.tanh) that ``module`` defines; a file may not
    pick any other function of minicnn (one that writes files, say), nor another module's."""
    from . import activations, ops

    found = getattr(sys.modules.get(module), name, None)
    exposed = (getattr(ops, name, None), getattr(activations, name, None))
    return found if found is not None and any(found is f for f in exposed) else None


def named_function(entry: Any, what: str) -> Callable[..., Any]:
    """The function Keras' ``entry`` refers to; ``what`` names its user in errors."""
    if isinstance(entry, dict) and entry.get("class_name") == "__lambda__":
        raise ValueError(
            f"{what} holds a Python lambda as bytecode, which minicnn does not run (Keras "
            "itself refuses it unless safe_mode=False). Build the model in code, or give the "
            "function a name (a def at a module's top level) and pass it in custom_objects."
        )
    if isinstance(entry, dict) and entry.get("class_name") == "function":
        name, module = entry.get("config"), entry.get("module")
        registered = entry.get("registered_name")
    else:
        raise ValueError(f"{what}: {entry!r} is not a function nor Keras' entry of one.")
    found = None
    if registered and registered != "function":
        found = registry.get_registered_object(registered)
    found = found or registry.get_registered_object(str(name))
    if found is None and str(module or "").split(".")[0] == "minicnn":
        found = _op_named(str(module), str(name))
    if not callable(found):
        raise ValueError(
            f"{what} calls the function {name!r}, which is not known here: pass it as "
            f"custom_objects={{{name!r}: function}} (or register it with "
            "register_keras_serializable)."
        )
    return found
