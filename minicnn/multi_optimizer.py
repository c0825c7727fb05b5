"""Keras 3.15's MultiOptimizer and OptimizerMap: each weight trained by the optimizer its path
chooses (Adam for a new head, SGD at a small rate for a pretrained body, say)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np

from .autograd import Tensor
from .optimizer_base import Optimizer, weights_to_build_on


class OptimizerMap(MutableMapping):
    """Keras' OptimizerMap: optimizers by weight path, ``default_optimizer`` for the rest. A
    key is a path ("head/kernel") or a regular expression that matches a whole path
    ("encoder/.*"); an exact key wins, and a path that two patterns match is an error.

    A weight's path is tried as Keras 3.15 gives it, under the scopes its layer sits in
    ("sequential/body/kernel"; a functional model's layers sit in none), and without them
    ("body/kernel"), as minicnn's paths were before it followed Keras' scopes."""

    def __init__(
        self, default_optimizer: Optimizer, optimizer_map: dict[str, Optimizer] | None = None
    ) -> None:
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be an optimizer, got {default_optimizer!r}.")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dict, got {optimizer_map!r}.")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        return self.lookup([key])

    def lookup(self, paths: list[str]) -> Optimizer:
        """The optimizer for a weight known by any of ``paths``."""
        for path in paths:
            if path in self._optimizer_map:
                return self._optimizer_map[path]
        matching = [
            pattern
            for pattern in self._optimizer_map
            if any(re.fullmatch(pattern, path) for path in paths)
        ]
        if len(matching) > 1:
            raise ValueError(
                f"Multiple optimizers assigned to variable {paths[0]} (patterns "
                f"{', '.join(repr(p) for p in matching)})."
            )
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key!r}")
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap; keys must not repeat.")
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, MultiOptimizer):
            raise ValueError(
                f"optimizer must be an optimizer other than a MultiOptimizer, got {optimizer!r}."
            )
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: Tensor) -> Optimizer:
        return self[variable.path or ""]

    def get_config(self) -> dict[str, Any]:
        from .optimizers import serialize

        return {
            "default_optimizer": serialize(self._default_optimizer),
            "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> OptimizerMap:
        from .optimizers import deserialize

        return cls(
            deserialize(config["default_optimizer"], custom_objects),
            {k: deserialize(v, custom_objects) for k, v in config["optimizer_map"].items()},
        )


class MultiOptimizer(Optimizer):
    """Keras' MultiOptimizer: each weight goes to the optimizer that ``optimizer_map`` (an
    OptimizerMap, or a function of the weight) gives it, and each optimizer updates its own
    weights with its own rate, state and count. ``loss_scale_factor`` is passed on to them.
    As in Keras, it has no learning rate of its own (set one on ``optimizers``), and its
    ``iterations`` counts its calls."""

    def __init__(
        self,
        optimizer_map: OptimizerMap | Callable[[Tensor], Optimizer],
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ) -> None:
        if not (isinstance(optimizer_map, OptimizerMap) or callable(optimizer_map)):
            raise TypeError(
                "optimizer_map must be an OptimizerMap or a function of a weight that returns "
                f"its optimizer, got {optimizer_map!r}."
            )
        self._inner: list[Optimizer] = []
        super().__init__(1.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        if isinstance(optimizer_map, OptimizerMap):
            for optimizer in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._adopt(optimizer)
        self._owner: list[int] = []  # for each weight, the index of its optimizer
        self._applied: list[Optimizer] = []  # the optimizers the last update applied

    def _adopt(self, optimizer: Optimizer) -> None:
        if not any(optimizer is known for known in self._inner):
            optimizer.loss_scale_factor = self.loss_scale_factor
            self._inner.append(optimizer)

    @property
    def optimizers(self) -> list[Optimizer]:
        """The optimizers it delegates to, in Keras' order (the map's, then the default)."""
        return list(self._inner)

    @property
    def learning_rate(self) -> float:
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate "
            "on the individual sub-optimizers instead (optimizer.optimizers)."
        )

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        raise AttributeError(
            "Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
            "individual sub-optimizers instead (optimizer.optimizers)."
        )

    @property
    def loss_scale_factor(self) -> float | None:
        return self._loss_scale_factor

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._loss_scale_factor = value
        for optimizer in self._inner:
            optimizer.loss_scale_factor = value

    @property
    def weight_paths(self) -> dict[int, str]:
        return self._weight_paths

    @weight_paths.setter
    def weight_paths(self, paths: dict[int, str]) -> None:
        self._weight_paths = paths
        for optimizer in self._inner:
            optimizer.weight_paths = paths

    @property
    def scoped_paths(self) -> dict[int, str]:
        return self._scoped_paths

    @scoped_paths.setter
    def scoped_paths(self, paths: dict[int, str]) -> None:
        self._scoped_paths = paths
        for optimizer in self._inner:
            optimizer.scoped_paths = paths

    @property
    def decides_on_host(self) -> bool:
        return any(optimizer.decides_on_host for optimizer in self._inner)

    def _optimizer_of(self, p: Tensor) -> Optimizer:
        if isinstance(self._optimizer_map, OptimizerMap):
            paths = [self.scoped_paths.get(id(p)), self.weight_paths.get(id(p), p.path)]
            optimizer = self._optimizer_map.lookup([q for q in paths if q])
        else:
            optimizer = self._optimizer_map(p)
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, MultiOptimizer):
            raise ValueError(
                f"The optimizer for weight {p.path or p.name} is not an optimizer other than "
                f"a MultiOptimizer: {optimizer!r}."
            )
        return optimizer

    def build(self, variables: list[Tensor]) -> None:
        variables = weights_to_build_on(variables)
        chosen = [self._optimizer_of(p) for p in variables]
        for optimizer in chosen:
            self._adopt(optimizer)
            optimizer.weight_paths, optimizer.scoped_paths = self.weight_paths, self.scoped_paths
        self._owner = [next(i for i, o in enumerate(self._inner) if o is c) for c in chosen]
        for i, optimizer in enumerate(self._inner):
            own = [p for p, owner in zip(variables, self._owner, strict=True) if owner == i]
            if own:
                optimizer.build(own)
        self._params = variables
        self._slots = [{} for _ in variables]

    def _apply_at(self, indices: list[int], grads: list[Any]) -> None:
        self._applied = []
        for i, optimizer in enumerate(self._inner):
            position = {id(p): k for k, p in enumerate(optimizer._params)}
            own = [
                (position[id(self._params[j])], g)
                for j, g in zip(indices, grads, strict=True)
                if self._owner[j] == i and g is not None
            ]
            if own:
                optimizer._apply_at([k for k, _ in own], [g for _, g in own])
                self._applied.append(optimizer)
        self.steps_applied += 1

    def advance(self) -> None:
        for optimizer in self._applied:
            optimizer.advance()
        self.steps_applied += 1

    def host_state(self) -> tuple[Any, ...]:
        return (self.steps_applied, [o.host_state() for o in self._inner])

    def restore_host(self, state: tuple[Any, ...]) -> None:
        self.steps_applied = state[0]
        for optimizer, own in zip(self._inner, state[1], strict=True):
            optimizer.restore_host(own)

    def scale_loss(self, loss: Any) -> Any:
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def finalize_variable_values(self, params: list[Tensor]) -> None:
        for optimizer in self._inner:
            optimizer.finalize_variable_values(params)

    def state_arrays(self) -> list[Any]:
        """Each optimizer's step count (int64) and learning rate (float32, where it has no
        schedule) as 0-d arrays, then its state: what Keras keeps of each, in its order."""
        arrays: list[Any] = []
        for optimizer in self._inner:
            arrays += _scalars(optimizer) + optimizer.state_arrays()
        return arrays

    def set_state(self, params: list[Tensor], steps_applied: int, arrays: list[Any]) -> None:
        self.build(params)
        arrays = list(arrays)
        for optimizer in self._inner:
            scalars = len(_scalars(optimizer))
            own = optimizer._params
            count = scalars + len(optimizer.state_arrays())
            if len(arrays) < count:
                raise ValueError("optimizer state has too few arrays for its optimizers.")
            head, arrays = arrays[:count], arrays[count:]
            if own:
                optimizer.set_state(own, int(head[0]), head[scalars:])
            else:
                optimizer.steps_applied = int(head[0])
            # Kept in float32 (Keras' variable): a rate that float32 cannot hold stays as it
            # is unless it was changed.
            if scalars == 2 and np.float32(optimizer.learning_rate) != np.float32(head[1]):
                optimizer.learning_rate = float(head[1])
        if arrays:
            raise ValueError(f"optimizer state has {len(arrays)} arrays too many.")
        self.steps_applied = int(steps_applied)

    def to(self, device: str) -> None:
        for optimizer in self._inner:
            optimizer.to(device)

    def get_config(self) -> dict[str, Any]:

        if not isinstance(self._optimizer_map, OptimizerMap):
            raise TypeError(
                "A MultiOptimizer that chooses by a function cannot be saved with the model; "
                "give it an OptimizerMap to save it."
            )
        return {
            "optimizer_map": {
                "module": "keras.optimizers",
                "class_name": "OptimizerMap",
                "config": self._optimizer_map.get_config(),
                "registered_name": None,
            },
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> MultiOptimizer:
        config = dict(config)
        mapping = config.pop("optimizer_map")
        if isinstance(mapping, dict):
            mapping = OptimizerMap.from_config(mapping.get("config", mapping), custom_objects)
        return cls(mapping, **config)


def _scalars(optimizer: Optimizer) -> list[Any]:
    """Keras' iteration and learning-rate variables of an optimizer, as 0-d arrays."""
    arrays = [np.asarray(optimizer.steps_applied, np.int64)]
    if optimizer._schedule is None:
        arrays.append(np.asarray(optimizer.learning_rate, np.float32))
    return arrays
