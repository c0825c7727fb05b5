"""Keras 3's ``model.get_state_tree()`` and ``set_state_tree(tree)``: every variable of a
model as nested dicts, in Keras' layout: ``trainable_variables`` and
``non_trainable_variables`` by the model's name and each weight's path (``{"my_model":
{"dense": {"kernel": ..., "bias": ...}}}``), ``optimizer_variables`` by the optimizer's name
(``"iteration"``, ``"learning_rate"``, and each weight's state as
``"my_model_dense_kernel_momentum"``), and ``metrics_variables`` by metric name (a built-in
metric's ``"total"`` and ``"count"``, a metric subclass's own variables)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .keras_files import entry_path, entry_value

VALUE_FORMATS = ("backend_tensor", "numpy_array")


class StateTree:
    """The model's side (a mixin of Model)."""

    def get_state_tree(self, value_format: str = "backend_tensor") -> dict[str, Any]:
        """The model's variables as nested dicts, as Keras 3 gives them: arrays on the
        model's device ("backend_tensor"), or NumPy arrays ("numpy_array")."""
        if value_format not in VALUE_FORMATS:
            raise ValueError(f"value_format must be one of {VALUE_FORMATS}; got {value_format!r}.")

        def value(array: Any) -> Any:
            return np.array(backend.to_numpy(array)) if value_format == "numpy_array" else array

        tree: dict[str, Any] = {
            "trainable_variables": _nested((w.path, value(w.data)) for w in self.trainable_weights),
            "non_trainable_variables": _nested(
                (w.path, value(w.data)) for w in self.non_trainable_weights
            ),
        }
        if self.optimizer is not None:
            tree["optimizer_variables"] = self._optimizer_tree(value)
        if self.compiled:
            tree["metrics_variables"] = {
                m.name: _metric_state(m, value) for m in self._flat_metrics()
            }
        return tree

    def set_state_tree(self, state_tree: dict[str, Any]) -> None:
        """Assign what ``get_state_tree`` gave (all of it or some sections), checking every
        name and shape."""
        unknown = set(state_tree) - {
            "trainable_variables",
            "non_trainable_variables",
            "optimizer_variables",
            "metrics_variables",
        }
        if unknown:
            raise ValueError(f"set_state_tree: unknown sections {sorted(unknown)}.")
        for section, weights in (
            ("trainable_variables", self.trainable_weights),
            ("non_trainable_variables", self.non_trainable_weights),
        ):
            if section in state_tree:
                found = _flat(state_tree[section])
                for w in weights:
                    _assign(w.data, found.pop(w.path, None), w.path)
                _nothing_left(found, section)
        if "optimizer_variables" in state_tree:
            self._set_optimizer_state(state_tree["optimizer_variables"])
        if "metrics_variables" in state_tree:
            by_name = {m.name: m for m in self._flat_metrics()}
            for name, state in state_tree["metrics_variables"].items():
                if name not in by_name:
                    raise ValueError(f"set_state_tree: the model has no metric {name!r}.")
                _set_metric_state(by_name[name], state)

    # -- the parts ------------------------------------------------------------------------
    def _optimizer_tree(self, value: Any) -> dict[str, Any]:
        """``optimizer.variables`` by their paths, as Keras nests them ("adam" then
        "iteration", ..., a wrapped or mapped optimizer's under its own name); of two with
        one path, the first, as in Keras."""
        from .optimizer_variables import optimizer_entries

        entries = optimizer_entries(self.optimizer)
        return _nested((entry_path(e), value(entry_value(e))) for e in entries)

    def _set_optimizer_state(self, section: dict[str, Any]) -> None:
        from .optimizer_variables import optimizer_entries, set_entry

        if self.optimizer is None:
            raise ValueError("set_state_tree: optimizer_variables for a model not compiled.")
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_weights)
        found, seen = _flat(section), set()
        for entry in optimizer_entries(self.optimizer):
            path = entry_path(entry)
            if path in seen:  # a second variable of one path: the tree holds the first's
                continue
            seen.add(path)
            if path in found:
                set_entry(entry, found.pop(path), _assign)
            elif entry.kind == "slot" and entry.slot is not None:
                raise ValueError(f"set_state_tree: no value for {path!r}.")
        _nothing_left(found, "optimizer_variables")


def _nested(items: Any) -> dict[str, Any]:
    """(path, value) pairs as nested dicts by the parts of their paths ("a/b/c"); of two
    with one path, the first, as in Keras."""
    tree: dict[str, Any] = {}
    for path, item in items:
        *parents, leaf = path.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node.setdefault(leaf, item)
    return tree


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested dict's leaves by their "a/b/c" paths."""
    found: dict[str, Any] = {}
    for key, item in tree.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict):
            found.update(_flat(item, path + "/"))
        else:
            found[path] = item
    return found


def _assign(target: Any, value: Any, name: str) -> None:
    """Write ``value`` into the array ``target`` in place, as Keras assigns a variable."""
    if value is None:
        raise ValueError(f"set_state_tree: no value for {name!r}.")
    array = value if backend.is_device_array(value) else np.asarray(value)
    if tuple(array.shape) != tuple(target.shape):
        raise ValueError(
            f"set_state_tree: {name!r} has shape {tuple(target.shape)}; the tree gives "
            f"{tuple(array.shape)}."
        )
    target[...] = backend.to_device(array, backend.device_of(target)).astype(target.dtype)


def _nothing_left(found: dict[str, Any], section: str) -> None:
    if found:
        raise ValueError(f"set_state_tree: {section} names no variable {sorted(found)} holds.")


def _metric_state(metric: Any, value: Any) -> dict[str, Any]:
    """A metric's state by name: its own variables, or its running total and count."""
    if metric.variables:
        return {v.name: value(v.data) for v in metric.variables}
    total = 0.0 if metric._total is None else metric._total
    return {
        "total": value(total) if hasattr(total, "shape") else np.float32(total),
        "count": np.float32(metric._seen),
    }


def _set_metric_state(metric: Any, state: dict[str, Any]) -> None:
    if metric.variables:
        by_name = {v.name: v for v in metric.variables}
        for name, item in state.items():
            if name not in by_name:
                raise ValueError(f"set_state_tree: metric {metric.name!r} has no {name!r}.")
            _assign(by_name[name].data, item, f"{metric.name}/{name}")
        return
    if set(state) != {"total", "count"}:
        raise ValueError(
            f"set_state_tree: metric {metric.name!r} takes 'total' and 'count'; got "
            f"{sorted(state)}."
        )
    total = state["total"]
    metric._total = total if np.ndim(total) else float(total)
    metric._seen = float(state["count"])
