"""Keras 3.15's ScheduleFreeAdamW (Defazio et al., 2024): no learning rate schedule, an
interpolation between Adam-style steps and their running average instead."""

from __future__ import annotations

from typing import Any

from . import backend
from .autograd import Tensor
from .optimizer_base import Optimizer, fraction
from .schedules import LearningRateSchedule


class ScheduleFreeAdamW(Optimizer):
    """Keras' ScheduleFreeAdamW. Each weight keeps z (Keras' ``momentum``, starting at the
    weight) and Adam's second moment v. A step moves z by lr * g / (sqrt(v / (1 - beta_2^t))
    + epsilon), lr rising linearly over ``warmup_steps``; the average x, recovered from the
    weight y = (1 - beta_1) z + beta_1 x, moves to z by 1/t; the weight becomes the new
    interpolation. As in Keras, the weights are y in training and evaluation alike."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.0025,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        warmup_steps: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = fraction(beta_1, "beta_1")
        if not self.beta_1 > 0:
            raise ValueError("beta_1 must be in (0, 1): the weight is recovered through it.")
        self.beta_2 = fraction(beta_2, "beta_2")
        self.epsilon = float(epsilon)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {warmup_steps!r}.")
        self.warmup_steps = warmup_steps

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"momentum": p.data.copy(), "velocity": xp.zeros_like(p.data)}

    def _warm_rate(self) -> float:
        if not self.warmup_steps:
            return self._rate_in_use
        return self._rate_in_use * min(self.iterations / self.warmup_steps, 1.0)

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast, dtype = value.dtype.type, value.dtype
        z, v = slots["momentum"], slots["velocity"]
        rate = self._step_scalar("schedule_free_rate", dtype, self._warm_rate)
        correction = self._step_scalar(
            "schedule_free_correction", dtype, lambda: 1 - self.beta_2**self.iterations
        )
        weight = self._step_scalar("schedule_free_weight", dtype, lambda: 1 / self.iterations)
        b1 = cast(self.beta_1)
        average = (value - (1 - b1) * z) / b1  # x before this step
        v += (grad * grad - v) * cast(1 - self.beta_2)
        z -= rate * grad / (xp.sqrt(v / correction) + cast(self.epsilon))
        average = (1 - weight) * average + weight * z
        value[...] = (1 - b1) * z + b1 * average

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": self.warmup_steps,
        }
