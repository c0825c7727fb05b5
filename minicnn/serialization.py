"""Keras' ``serialize_keras_object`` and ``deserialize_keras_object``: any of minicnn's
objects (a layer, a model, an initializer, a regularizer, a constraint, a loss, a metric, an
optimizer, an activation) or a registered custom one, as Keras' JSON-safe dict
``{"module", "class_name", "config", "registered_name"}``, and back. A custom layer's
``get_config`` uses them for the layers and objects it holds, as in Keras' guide."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import (
    activations,
    constraints,
    initializers,
    layer_base,
    losses,
    metrics,
    optimizers,
    registry,
    regularizers,
    schedules,
)

# Each kind: its Keras module, its base class, and how minicnn rebuilds it from its entry.
_KINDS: list[tuple[str, type]] = [
    ("keras.layers", layer_base.Layer),
    ("keras.initializers", initializers.Initializer),
    ("keras.regularizers", regularizers.Regularizer),
    ("keras.constraints", constraints.Constraint),
    ("keras.losses", losses.Loss),
    ("keras.metrics", metrics.Metric),
    ("keras.optimizers", optimizers.Optimizer),
    ("keras.optimizers.schedules", schedules.LearningRateSchedule),
]


def serialize_keras_object(obj: Any) -> Any:
    """``obj`` as JSON-safe data: plain values (and lists, dicts, arrays) as themselves, a
    function as Keras' entry of one (its registered name), an object as Keras' dict."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(o) for o in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (np.ndarray, np.generic)):
        return np.asarray(obj).tolist()
    for module, base in _KINDS:
        if isinstance(obj, base):
            name = type(obj).__name__
            custom = not type(obj).__module__.startswith("minicnn.")
            return {
                "module": None if custom else module,
                "class_name": name,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": registry.registered_name(type(obj)) if custom else None,
            }
    if callable(obj):  # Keras' entry of a function, by its registered name
        name = registry.registered_name(obj)
        return {
            "module": "builtins",
            "class_name": "function",
            "config": name,
            "registered_name": "function",
        }
    raise TypeError(f"Cannot serialize {obj!r}: give it a get_config() (and from_config).")


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The object ``serialize_keras_object`` wrote (a name: the registered or built-in
    function, such as an activation), with ``custom_objects`` found first."""
    with registry.custom_object_scope(custom_objects):
        return _rebuilt(config)


def _rebuilt(config: Any) -> Any:
    if isinstance(config, str):
        # A registered name, an activation's; any other string is itself (an optimizer or
        # metric named for compile: "SGD", "accuracy"), as Keras gives it back.
        found = registry.get_registered_object(config)
        if found is not None:
            return found
        try:
            return activations.get(config)
        except ValueError:
            return config
    if isinstance(config, list):  # Keras' lists (compile's metrics) are rebuilt entry by entry
        return [_rebuilt(c) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        return config
    if config["class_name"] == "function" and isinstance(config.get("config"), str):
        return _function(config["config"])
    name, inner = config["class_name"], config.get("config") or {}
    custom = registry.get_registered_object(config.get("registered_name") or name)
    module = config.get("module")
    if module == "keras.layers" or (custom is None and name in _layer_classes()):
        cls = custom or _layer_classes().get(name)
        if cls is None:
            raise ValueError(f"Unknown layer {name!r}: pass it in custom_objects or register it.")
        return cls.from_config(inner)
    if module == "keras.initializers":
        return initializers.get({"class_name": name, "config": inner})
    if module == "keras.regularizers":
        return regularizers.get({"class_name": name, "config": inner})
    if module == "keras.constraints":
        return constraints.get({"class_name": name, "config": inner})
    if module == "keras.losses":
        return losses.from_class_config(name, inner)
    if module == "keras.metrics":
        return metrics.get({"class_name": name, "config": inner, "registered_name": name})
    if module == "keras.optimizers":
        return optimizers.get({"class_name": name, "config": inner})
    if module == "keras.optimizers.schedules":
        return schedules.deserialize({"class_name": name, "config": inner})
    if custom is None and isinstance(inner, dict) and "reduction" in inner:  # a custom Loss's
        registry.saved_object(config.get("registered_name") or name, "loss", inner.get("name"))
    if custom is None:
        raise ValueError(
            f"Unknown object {name!r}: pass it in custom_objects or register it with "
            "register_keras_serializable."
        )
    return custom.from_config(inner) if hasattr(custom, "from_config") else custom(**inner)


def _layer_classes() -> dict[str, type]:
    from .layers import LAYER_CLASSES
    from .models import Model, Sequential

    return {**LAYER_CLASSES, "Sequential": Sequential, "Model": Model, "Functional": Model}


def _function(name: str) -> Any:
    """The function Keras' entry names: a registered one, else a metric, loss or activation
    function of minicnn's of that name; else the name itself (which compile reads)."""
    found = registry.get_registered_object(name)
    if found is not None:
        return found
    for module in (metrics, losses):
        found = getattr(module, name, None)
        if callable(found) and not isinstance(found, type):
            return found
    return _rebuilt(name)


def deserialize_compile_argument(value: Any) -> Any:
    """A loss, metrics or loss weights of a compile config as compile takes them again:
    Keras' entries as objects (a built-in function as its name), kept in their lists and
    dicts by output; names, numbers, and minicnn's older entries (no "module") as they are,
    which the losses and metrics read themselves."""
    if isinstance(value, list):
        return [deserialize_compile_argument(v) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        return _rebuilt(value) if "module" in value else value
    if isinstance(value, dict):  # one entry per output, by name
        return {k: deserialize_compile_argument(v) for k, v in value.items()}
    return value
