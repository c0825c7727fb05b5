"""Optimizers with Keras' names, arguments and update rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor


class Optimizer:
    def __init__(self, learning_rate: float) -> None:
        if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
        self.learning_rate = float(learning_rate)
        self.iterations = 0
        self._slots: list[dict[str, Any]] = []
        self._params: list[Tensor] = []  # the weights the slots belong to

    def apply(self, params: list[Tensor]) -> None:
        """One update of every parameter from its ``.grad`` (parameters without one are skipped)."""
        if not self._slots:
            self._slots = [self._new_slots(p) for p in params]
            self._params = list(params)
        elif len(self._params) != len(params) or any(
            a is not b for a, b in zip(self._params, params, strict=True)
        ):
            raise ValueError(
                f"This optimizer was built for other weights ({len(self._params)} arrays; now "
                f"{len(params)}); compile the model again after adding, removing or rebuilding "
                "layers."
            )
        self.iterations += 1
        for p, slots in zip(params, self._slots, strict=True):
            if p.grad is not None:
                self._update(p.data, p.grad, slots)

    @property
    def built(self) -> bool:
        """Whether the first update has made the state for its weights (Keras builds then too)."""
        return bool(self._params)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        return {}

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": type(self).__name__.lower(), "learning_rate": self.learning_rate}

    def variables(self) -> list[Any]:
        """The optimizer's state arrays, in a fixed order (for checkpoints)."""
        return [slots[k] for slots in self._slots for k in sorted(slots)]

    def set_state(self, params: list[Tensor], iterations: int, arrays: list[Any]) -> None:
        """Restore what ``iterations`` and ``variables()`` described, for these parameters."""
        self._slots = [self._new_slots(p) for p in params]
        self._params = list(params)
        slots = [(s, k) for s in self._slots for k in sorted(s)]
        if len(slots) != len(arrays):
            raise ValueError(f"optimizer state has {len(arrays)} arrays, expected {len(slots)}.")
        for (s, k), a in zip(slots, arrays, strict=True):
            if tuple(a.shape) != tuple(s[k].shape):
                raise ValueError(f"optimizer array of shape {a.shape}, expected {s[k].shape}.")
            s[k][...] = backend.to_device(a, backend.device_of(s[k]))
        self.iterations = int(iterations)

    def to(self, device: str) -> None:
        """Move the state arrays along with the model."""
        for slots in self._slots:
            for k in slots:
                slots[k] = backend.to_device(slots[k], device)


class SGD(Optimizer):
    """Plain or momentum SGD: v = momentum * v - lr * g; w += v (Keras' form)."""

    def __init__(
        self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(learning_rate)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"velocity": xp.zeros_like(p.data)} if self.momentum else {}

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        lr = value.dtype.type(self.learning_rate)
        if not self.momentum:
            value -= lr * grad
            return
        v = slots["velocity"]
        v *= value.dtype.type(self.momentum)
        v -= lr * grad
        if self.nesterov:
            value += value.dtype.type(self.momentum) * v - lr * grad
        else:
            value += v

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam as Keras writes it: epsilon is added outside the bias correction."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate)
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}.")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self._alpha_at: tuple[int, float] | None = None
        self._alpha = 0.0

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"m": xp.zeros_like(p.data), "v": xp.zeros_like(p.data)}

    def _step_size(self) -> float:
        """lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), once per step rather than per weight."""
        t = self.iterations
        # Keyed on the rate too: a callback may change it between steps.
        if self._alpha_at != (t, self.learning_rate):
            alpha = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
            self._alpha_at, self._alpha = (t, self.learning_rate), alpha
        return self._alpha

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        alpha = self._step_size()
        cast = value.dtype.type
        m, v = slots["m"], slots["v"]
        if xp is not np:
            # One launch instead of eight elementwise ones per weight.
            from .kernels import cuda

            grad = backend.contiguous(grad, value.dtype)
            cuda.adam_update(value, grad, m, v, self.beta_1, self.beta_2, self.epsilon, alpha)
            return
        m *= cast(self.beta_1)
        m += cast(1 - self.beta_1) * grad
        v *= cast(self.beta_2)
        v += cast(1 - self.beta_2) * (grad * grad)
        step = xp.sqrt(v)
        step += cast(self.epsilon)
        xp.divide(m, step, out=step)
        step *= cast(alpha)
        value -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


_BY_NAME: dict[str, type[Optimizer]] = {"adam": Adam, "sgd": SGD}


def get(identifier: str | Optimizer | dict[str, Any]) -> Optimizer:
    """An optimizer from its name ('adam', 'sgd'), its config dict, or itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if name not in _BY_NAME:
            raise ValueError(f"Unknown optimizer {name!r}; known: {', '.join(sorted(_BY_NAME))}.")
        return _BY_NAME[name](**config)
    key = identifier.lower() if isinstance(identifier, str) else identifier
    if key not in _BY_NAME:
        raise ValueError(f"Unknown optimizer {identifier!r}; known: {', '.join(sorted(_BY_NAME))}.")
    return _BY_NAME[key]()
