"""Keras' weight constraints (MaxNorm, MinMaxNorm, NonNeg, UnitNorm): projections applied to
a weight after each optimizer update, on its device (``kernel_constraint=`` and
``bias_constraint=`` of a layer, ``constraint=`` of ``add_weight``)."""

from __future__ import annotations

from typing import Any

from . import backend
from .config import epsilon as backend_epsilon


class Constraint:
    """A projection of a weight's array onto the allowed set."""

    name = ""

    def __call__(self, w: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


def _norms(w: Any, axis: int | tuple[int, ...] | list[int]) -> Any:
    xp = backend.get_array_module(w)
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return xp.sqrt((w * w).sum(axis=axes, keepdims=True))


class MaxNorm(Constraint):
    """Each slice along ``axis`` (0: each unit's incoming weights of a Dense kernel; (0, 1, 2)
    for a Conv2D kernel) scaled down to norm at most ``max_value``."""

    name = "max_norm"

    def __init__(self, max_value: float = 2.0, axis: int | list[int] = 0) -> None:
        if not max_value > 0:
            raise ValueError(f"MaxNorm: max_value must be positive, got {max_value!r}.")
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, w: Any) -> Any:
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        desired = xp.clip(norms, 0, w.dtype.type(self.max_value))
        return w * (desired / (w.dtype.type(backend_epsilon()) + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms along ``axis`` moved into [min_value, max_value], by ``rate`` of the way."""

    name = "min_max_norm"

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: int | list[int] = 0,
    ) -> None:
        if not 0 <= min_value <= max_value:
            raise ValueError(
                f"MinMaxNorm: need 0 <= min_value <= max_value, got {min_value!r}, {max_value!r}."
            )
        if not 0 <= rate <= 1:
            raise ValueError(f"MinMaxNorm: rate must be in [0, 1], got {rate!r}.")
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.rate, self.axis = float(rate), axis

    def __call__(self, w: Any) -> Any:
        xp = backend.get_array_module(w)
        cast = w.dtype.type
        norms = _norms(w, self.axis)
        clipped = xp.clip(norms, cast(self.min_value), cast(self.max_value))
        desired = cast(self.rate) * clipped + cast(1 - self.rate) * norms
        return w * (desired / (cast(backend_epsilon()) + norms))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


class NonNeg(Constraint):
    """Negative entries set to 0."""

    name = "non_neg"

    def __call__(self, w: Any) -> Any:
        return w * (w >= 0)


class UnitNorm(Constraint):
    """Each slice along ``axis`` scaled to norm 1."""

    name = "unit_norm"

    def __init__(self, axis: int | list[int] = 0) -> None:
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        return w / (w.dtype.type(backend_epsilon()) + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


_CLASSES = {cls.__name__: cls for cls in (MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_BY_NAME = {cls.name: cls for cls in _CLASSES.values()}


def get(identifier: Any) -> Constraint | None:
    """A constraint from its Keras name ('max_norm', 'non_neg', ...), its serialized dict, or
    itself; None for None."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Unknown constraint {identifier!r}; known: {', '.join(_BY_NAME)}.")


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """Keras' entry of a constraint (its module, class, config and registered name)."""
    from .serialization import serialize_keras_object

    return serialize_keras_object(constraint)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Constraint | None:
    """Keras' ``deserialize``: what ``serialize`` described, a registered class's too."""
    from .registry import deserialized_with

    return deserialized_with(get, config, custom_objects)


# Keras' lowercase names of the classes.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
