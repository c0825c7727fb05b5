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
