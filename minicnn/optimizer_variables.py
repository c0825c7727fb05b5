"""Keras' ``optimizer.variables``: the optimizer's state as Keras lists it, each entry a
Variable with Keras' path ("adam/iteration", "adam/sequential_dense_kernel_momentum"). A
state variable holds the optimizer's own array, so ``assign`` writes the state; the step
count and the learning rate are copies (set ``optimizer.learning_rate`` to change it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import Tensor
from .keras_files import StateEntry, entry_path, entry_value, keras_state_entries


def keras_variables(optimizer: Any) -> list[Tensor]:
    return [_variable(entry) for entry in optimizer_entries(optimizer)]


def optimizer_entries(optimizer: Any) -> list[StateEntry]:
    """The optimizer's variables as ``keras_state_entries`` lists them, in Keras' order;
    for a layout minicnn does not follow, Keras' names in minicnn's order."""
    entries = keras_state_entries(optimizer, optimizer._params)
    if entries is None:
        entries = [StateEntry("iterations", optimizer)]
        if getattr(optimizer, "_schedule", None) is None:
            entries.append(StateEntry("learning_rate", optimizer))
        for weight, slots in zip(optimizer._params, optimizer._slots, strict=True):
            entries += [StateEntry("slot", optimizer, weight, slots, k) for k in sorted(slots)]
    return entries


def set_entry(entry: StateEntry, value: Any, assign: Any) -> None:
    """Write a value of the state tree into what the entry stands for: a slot's array (by
    ``assign``), the step count, the rate, a LossScaleOptimizer's scale and its count;
    Keras' placeholders, fixed zeros and Nadam's product (which follows from the count) take
    nothing."""
    owner = entry.owner
    if entry.kind == "slot" and entry.slot is not None:
        assign(entry.slots[entry.slot], value, entry_path(entry))
    elif entry.kind == "iterations":
        owner.steps_applied = int(np.asarray(value))
    elif entry.kind == "learning_rate":
        owner.learning_rate = float(np.asarray(value))
    elif entry.kind == "step_counter":
        owner.step_counter = int(np.asarray(value))
    elif entry.kind == "dynamic_scale":
        owner.dynamic_scale = float(np.asarray(value))


def _variable(entry: StateEntry) -> Tensor:
    variable = Tensor(entry_value(entry))  # the same array: Tensor() keeps it
    variable.path = entry_path(entry)
    variable.name = variable.path.rsplit("/", 1)[-1]
    variable.scope = variable.path.rsplit("/", 1)[0] if "/" in variable.path else ""
    return variable


class _OptimizerScalar:
    """What Keras' ``optimizer.iterations`` and ``optimizer.learning_rate`` are, a scalar
    Variable: here the number itself, which computes, compares and prints in a format spec
    as the number does, with a Variable's attributes (``path``, ``dtype``, ``numpy()``) and
    its ``assign``, which writes the optimizer's count or rate. Pickled or copied, it is the
    plain number."""

    variable_dtype = ""
    number: type = object  # the Python number it is (int, float)

    def __new__(cls, value: Any, path: str, write: Any) -> Any:
        scalar = super().__new__(cls, value)  # type: ignore[call-arg]
        scalar.path, scalar._write = path, write
        return scalar

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def dtype(self) -> str:
        return self.variable_dtype

    shape: tuple[int, ...] = ()
    ndim = 0
    trainable = False

    def numpy(self) -> Any:
        return np.asarray(self, self.variable_dtype)[()]

    @property
    def value(self) -> Any:
        return self.numpy()

    def assign(self, value: Any) -> None:
        self._write(np.asarray(value).item() if hasattr(value, "shape") else value)

    def assign_add(self, value: Any) -> None:
        self.assign(self.numpy() + np.asarray(value))

    def assign_sub(self, value: Any) -> None:
        self.assign(self.numpy() - np.asarray(value))

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path}, shape=(), dtype={self.variable_dtype}, "
            f"value={self.numpy()}>"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (self.number, (self.number(self),))


class StepCount(_OptimizerScalar, int):
    """``optimizer.iterations``: the updates made, an int (Keras' int64 variable)."""

    variable_dtype = "int64"
    number = int


class RateValue(_OptimizerScalar, float):
    """``optimizer.learning_rate``: the rate of the next update, a float (Keras' float32
    variable)."""

    variable_dtype = "float32"
    number = float
