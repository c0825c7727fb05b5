"""Keras' LossScaleOptimizer: dynamic loss scaling around another optimizer. The loss is
multiplied by the scale before the gradients and the gradients divided by it again; a step
whose gradients are not all finite is skipped and halves the scale, and after
``dynamic_growth_steps`` finite steps in a row the scale doubles. minicnn computes in
float32, where scaling by a power of two changes no gradient; what it does there is skip
the steps that overflow. Whether a step is finite is read on the host, so a step of a
loss-scaled model is not captured in a CUDA graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .optimizer_base import Optimizer

# Keras' base-optimizer arguments that its LossScaleOptimizer takes only at their defaults
# (older Keras wrote them in its config).
_BASE_DEFAULTS = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


class LossScaleOptimizer(Optimizer):
    """Keras' ``LossScaleOptimizer(inner_optimizer, initial_scale=2**15,
    dynamic_growth_steps=2000)``. Its learning rate and ``iterations`` are the inner
    optimizer's; ``dynamic_scale`` and ``step_counter`` are its own state, as in Keras."""

    def __init__(
        self,
        inner_optimizer: Optimizer,
        initial_scale: float = 2.0**15,
        dynamic_growth_steps: int = 2000,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                "`loss_scale_factor` directly on the `inner_optimizer`."
            )
        for argument, default in _BASE_DEFAULTS.items():
            if argument in kwargs and kwargs.pop(argument) != default:
                raise ValueError(
                    f"LossScaleOptimizer does not support `{argument}`. Instead, set "
                    f"`{argument}` on the `inner_optimizer`."
                )
        if kwargs:
            raise ValueError(
                f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`."
            )
        if isinstance(inner_optimizer, dict):
            from .optimizers import deserialize

            inner_optimizer = deserialize(inner_optimizer)
        if not isinstance(inner_optimizer, Optimizer) or isinstance(
            inner_optimizer, LossScaleOptimizer
        ):
            raise TypeError(
                "LossScaleOptimizer wraps an optimizer (not another LossScaleOptimizer); got "
                f"{inner_optimizer!r}."
            )
        if isinstance(initial_scale, bool) or not (
            isinstance(initial_scale, (int, float)) and np.isfinite(initial_scale)
        ):
            raise ValueError(f"initial_scale must be a finite number, got {initial_scale!r}.")
        if initial_scale <= 0:
            raise ValueError(f"initial_scale must be positive, got {initial_scale!r}.")
        if (
            isinstance(dynamic_growth_steps, bool)
            or not isinstance(dynamic_growth_steps, int)
            or dynamic_growth_steps < 1
        ):
            raise ValueError(
                f"dynamic_growth_steps must be a positive integer, got {dynamic_growth_steps!r}."
            )
        super().__init__(1.0, name=name)  # its own rate is never used: the inner optimizer's is
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = dynamic_growth_steps
        # The inner optimizer must not scale the loss a second time.
        self.inner_optimizer.loss_scale_factor = None
        self.dynamic_scale = self.initial_scale
        self.step_counter = 0  # finite steps since the scale last changed

    # The inner optimizer's settings are the ones in use.
    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.learning_rate = value

    @property
    def iterations(self) -> int:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.inner_optimizer.iterations = value

    @property
    def _schedule(self) -> Any:
        return self.inner_optimizer._schedule if "inner_optimizer" in self.__dict__ else None

    @_schedule.setter
    def _schedule(self, value: Any) -> None:
        pass  # Optimizer.__init__ sets one; the inner optimizer's is the one in use

    @property
    def weight_paths(self) -> dict[int, str]:
        return self.inner_optimizer.weight_paths

    @weight_paths.setter
    def weight_paths(self, paths: dict[int, str]) -> None:
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.weight_paths = paths

    @property
    def scoped_paths(self) -> dict[int, str]:
        return self.inner_optimizer.scoped_paths

    @scoped_paths.setter
    def scoped_paths(self, paths: dict[int, str]) -> None:
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.scoped_paths = paths

    @property
    def decides_on_host(self) -> bool:
        return True  # whether a step is finite is read on the host

    @property
    def accumulates_gradients(self) -> bool:
        return self.inner_optimizer.accumulates_gradients

    def build(self, variables: list[Tensor]) -> None:
        self.inner_optimizer.build(variables)
        self._params = self.inner_optimizer._params
        self._slots = [{} for _ in self._params]

    def scale_loss(self, loss: Any) -> Any:
        """Keras' ``scale_loss``: the loss times the current scale."""
        return loss * self.dynamic_scale

    def _apply_at(self, indices: list[int], grads: list[Any]) -> None:
        present = [g for g in grads if g is not None]
        xp = backend.get_array_module(*present)
        # One read from the device for all the gradients.
        if present and not bool(xp.stack([xp.isfinite(g).all() for g in present]).all()):
            self.step_counter = 0
            self.dynamic_scale /= 2
            return
        scale = self.dynamic_scale
        unscaled = [None if g is None else g / g.dtype.type(scale) for g in grads]
        self.inner_optimizer._apply_at(indices, unscaled)
        if self.step_counter == self.dynamic_growth_steps - 1:
            self.step_counter = 0
            self.dynamic_scale *= 2
        else:
            self.step_counter += 1

    def advance(self) -> None:
        self.inner_optimizer.advance()

    def host_state(self) -> tuple[Any, ...]:
        return (self.dynamic_scale, self.step_counter, self.inner_optimizer.host_state())

    def restore_host(self, state: tuple[Any, ...]) -> None:
        self.dynamic_scale, self.step_counter = state[0], state[1]
        self.inner_optimizer.restore_host(state[2])

    @property
    def steps_applied(self) -> int:
        return self.inner_optimizer.steps_applied if "inner_optimizer" in self.__dict__ else 0

    @steps_applied.setter
    def steps_applied(self, value: int) -> None:
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.steps_applied = value

    def finalize_variable_values(self, params: list[Tensor]) -> None:
        self.inner_optimizer.finalize_variable_values(params)

    def state_arrays(self) -> list[Any]:
        """The scale and the count of finite steps (as 0-d arrays), then the inner
        optimizer's state."""
        return [
            np.asarray(self.dynamic_scale, np.float32),
            np.asarray(self.step_counter, np.int64),
            *self.inner_optimizer.state_arrays(),
        ]

    def set_state(self, params: list[Tensor], steps_applied: int, arrays: list[Any]) -> None:
        if len(arrays) < 2:
            raise ValueError("optimizer state has too few arrays for a LossScaleOptimizer.")
        self.dynamic_scale = float(backend.to_numpy(arrays[0]))
        self.step_counter = int(backend.to_numpy(arrays[1]))
        self.inner_optimizer.set_state(params, steps_applied, list(arrays[2:]))
        self._params = self.inner_optimizer._params
        self._slots = [{} for _ in self._params]

    def to(self, device: str) -> None:
        self.inner_optimizer.to(device)

    def get_config(self) -> dict[str, Any]:
        """Keras' config: its name, the inner optimizer serialized, and the two settings."""
        from .optimizers import serialize

        return {
            "name": self.name,
            "inner_optimizer": serialize(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> LossScaleOptimizer:
        from .optimizers import deserialize

        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)
