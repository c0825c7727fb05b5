"""Learning-rate schedules, as Keras' ``keras.optimizers.schedules``: give one as an
optimizer's ``learning_rate`` and the rate of each step is ``schedule(step)``, with ``step``
the number of updates made before it (0 for the first)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np


def _positive(value: Any, name: str) -> Any:
    """A positive number, kept as given (Keras' configs keep an int step count an int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return value


_f32 = np.float32


def _in_float32(call: Any) -> Any:
    """A schedule's value as Keras gives it: a float32 (0.01 reads 0.009999999776482582)."""

    @functools.wraps(call)
    def value(self: LearningRateSchedule, step: int) -> float:
        return float(np.float32(call(self, step)))

    return value


class LearningRateSchedule:
    """The base of schedules, as Keras': a subclass gives ``__call__(step)`` and, to be
    saved, ``get_config``; ``from_config`` calls the class with that dict. minicnn's own
    give their values in float32, as Keras computes them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__ and "__call__" in cls.__dict__:
            cls.__call__ = _in_float32(cls.__dict__["__call__"])  # type: ignore[method-assign]

    def __call__(self, step: int) -> float:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
            "order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def serialize(self) -> dict[str, Any]:
        """As Keras writes it in an optimizer's config and a model file."""
        return {
            "module": "keras.optimizers.schedules",
            "class_name": type(self).__name__,
            "config": self.get_config(),
            "registered_name": None,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class ExponentialDecay(LearningRateSchedule):
    """initial * decay_rate ** (step / decay_steps), the exponent floored with ``staircase``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.decay_rate = _positive(decay_rate, "decay_rate")
        self.staircase = bool(staircase)
        self.name = name or type(self).__name__

    def __call__(self, step: int) -> float:
        # In float32 throughout, as Keras computes: 0.01 * 0.96 is 0.009599999524652958.
        p = _f32(step) / _f32(self.decay_steps)
        p = np.floor(p) if self.staircase else p
        return _f32(self.initial_learning_rate) * np.power(_f32(self.decay_rate), p)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class InverseTimeDecay(ExponentialDecay):
    """initial / (1 + decay_rate * step / decay_steps), the ratio floored with ``staircase``."""

    def __call__(self, step: int) -> float:
        p = _f32(step) / _f32(self.decay_steps)
        p = np.floor(p) if self.staircase else p
        return _f32(self.initial_learning_rate) / (_f32(1) + _f32(self.decay_rate) * p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to and including boundaries[0], values[1] up to boundaries[1], ...,
    values[-1] after the last boundary."""

    def __init__(
        self, boundaries: list[int], values: list[float], name: str = "PiecewiseConstant"
    ) -> None:
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(boundaries)} boundaries and {len(values)} values."
            )
        if list(boundaries) != sorted(boundaries):
            raise ValueError(f"boundaries must increase, got {boundaries!r}.")
        self.boundaries = [int(b) for b in boundaries]
        self.values = [_positive(v, "each value") for v in values]
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values, strict=False):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From initial to end_learning_rate over decay_steps along (1 - step/decay_steps) ** power;
    then end_learning_rate (with ``cycle``, decay_steps grows to the next multiple instead)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.end_learning_rate = _positive(end_learning_rate, "end_learning_rate")
        self.power = _positive(power, "power")
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step: int) -> float:
        step_, steps = _f32(step), _f32(self.decay_steps)
        if self.cycle:
            steps = steps * (_f32(1) if step == 0 else np.ceil(step_ / steps))
        else:
            step_ = min(step_, steps)
        fraction = np.power(_f32(1) - step_ / steps, _f32(self.power))
        start, end = _f32(self.initial_learning_rate), _f32(self.end_learning_rate)
        return (start - end) * fraction + end

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Keras' CosineDecay: with ``warmup_steps``, a linear rise from initial to
    ``warmup_target``; then half a cosine over ``decay_steps`` from the peak down to
    ``alpha`` times it, where it stays."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
        self.alpha = float(alpha)
        self.warmup_target = (
            None if warmup_target is None else _positive(warmup_target, "warmup_target")
        )
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be a non-negative int, got {warmup_steps!r}.")
        self.warmup_steps = warmup_steps
        self.name = name

    def __call__(self, step: int) -> float:
        peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        if self.warmup_target is not None and step < self.warmup_steps:
            rise = step / self.warmup_steps
            return self.initial_learning_rate + (peak - self.initial_learning_rate) * rise
        # As in Keras, warmup_steps count only with a warmup_target.
        start = self.warmup_steps if self.warmup_target is not None else 0
        done = min(step - start, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * done))
        return peak * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Keras' CosineDecayRestarts (SGDR, Loshchilov & Hutter): half cosines from the rate
    down to ``alpha`` times it, the first over ``first_decay_steps``, each next one
    ``t_mul`` times longer and starting ``m_mul`` times lower."""

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _positive(first_decay_steps, "first_decay_steps")
        self.t_mul, self.m_mul = _positive(t_mul, "t_mul"), _positive(m_mul, "m_mul")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
        self.alpha = float(alpha)
        self.name = name

    def __call__(self, step: int) -> float:
        done = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(done)
            done -= restart
        else:
            restart = math.floor(math.log(1 - done * (1 - self.t_mul)) / math.log(self.t_mul))
            before = (1 - self.t_mul**restart) / (1 - self.t_mul)
            done = (done - before) / self.t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1 + math.cos(math.pi * done))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_CLASSES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        InverseTimeDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras' ``optimizers.schedules.serialize``: the schedule as Keras writes it in a
    model file (``{"module", "class_name", "config", "registered_name"}``)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"serialize takes a LearningRateSchedule, got {schedule!r}.")
    return schedule.serialize()


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """A schedule from what ``serialize`` (the function or the method) gave."""
    cls = _CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"Unknown learning-rate schedule {config.get('class_name')!r}; known: "
            f"{', '.join(sorted(_CLASSES))}."
        )
    return cls(**config.get("config", {}))
