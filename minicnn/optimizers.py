"""Optimizers with Keras' names, arguments and update rules."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from . import backend, schedules
from .autograd import Tensor
from .loss_scale_optimizer import LossScaleOptimizer
from .multi_optimizer import MultiOptimizer, OptimizerMap
from .optimizer_base import Optimizer, fraction, positive_or_none
from .schedule_free import ScheduleFreeAdamW
from .schedules import LearningRateSchedule

__all__ = [
    "SGD",
    "Muon",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "Adamax",
    "AdamW",
    "Lion",
    "LossScaleOptimizer",
    "MultiOptimizer",
    "Nadam",
    "Optimizer",
    "OptimizerMap",
    "RMSprop",
    "ScheduleFreeAdamW",
    "get",
    "schedules",
]


class SGD(Optimizer):
    """Plain or momentum SGD: v = momentum * v - lr * g; w += v (Keras' form)."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.momentum = fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"velocity": xp.zeros_like(p.data)} if self.momentum else {}

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        lr = self._rate_scalar(value.dtype)
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
    """Adam as Keras writes it: epsilon is added outside the bias correction. With
    ``amsgrad`` (Reddi et al.) the step divides by the largest v seen so far, v_hat."""

    _takes_amsgrad = True  # Keras' Adam and AdamW; not its Adamax, Nadam or Lamb

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        if amsgrad and not self._takes_amsgrad:
            raise TypeError(f"{type(self).__name__} takes no argument 'amsgrad'")
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = fraction(beta_1, "beta_1"), fraction(beta_2, "beta_2")
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)
        self._alpha_at: tuple[int, float] | None = None
        self._alpha = 0.0

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        slots = {"m": xp.zeros_like(p.data), "v": xp.zeros_like(p.data)}
        if self.amsgrad:
            slots["v_hat"] = xp.zeros_like(p.data)
        return slots

    def _step_size(self) -> float:
        """lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), once per step rather than per weight."""
        t = self.iterations
        # Keyed on the rate too: a callback may change it between steps.
        rate = self._rate_in_use
        if self._alpha_at != (t, rate):
            alpha = rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
            self._alpha_at, self._alpha = (t, rate), alpha
        return self._alpha

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        alpha = self._step_scalar("alpha", value.dtype, self._step_size)
        cast = value.dtype.type
        m, v = slots["m"], slots["v"]
        if xp is not np and not self.amsgrad:
            # One launch instead of eight elementwise ones per weight.
            from .kernels import cuda

            grad = backend.contiguous(grad, value.dtype)
            cuda.adam_update(value, grad, m, v, self.beta_1, self.beta_2, self.epsilon, alpha)
            return
        m *= cast(self.beta_1)
        m += cast(1 - self.beta_1) * grad
        v *= cast(self.beta_2)
        v += cast(1 - self.beta_2) * (grad * grad)
        if self.amsgrad:
            v = xp.maximum(slots["v_hat"], v, out=slots["v_hat"])
        step = xp.sqrt(v, out=xp.empty_like(v))  # (an array even for a 0-d weight)
        step += cast(self.epsilon)
        xp.divide(m, step, out=step)
        step *= alpha
        value -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            **({"amsgrad": self.amsgrad} if self._takes_amsgrad else {}),
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter); Keras' default decay 0.004."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )


class RMSprop(Optimizer):
    """Keras' RMSprop: v = rho * v + (1 - rho) * g^2; step = lr * g / sqrt(v + epsilon), with
    ``centered`` subtracting the squared mean gradient from v, and plain momentum on the step."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum = fraction(rho, "rho"), fraction(momentum, "momentum")
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        slots = {"velocity": xp.zeros_like(p.data)}
        if self.centered:
            slots["average_gradient"] = xp.zeros_like(p.data)
        if self.momentum:
            slots["momentum"] = xp.zeros_like(p.data)
        return slots

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast = value.dtype.type
        v = slots["velocity"]
        v *= cast(self.rho)
        v += cast(1 - self.rho) * (grad * grad)
        denominator = v + cast(self.epsilon)
        if self.centered:
            mean = slots["average_gradient"]
            mean *= cast(self.rho)
            mean += cast(1 - self.rho) * grad
            denominator -= mean * mean
        step = grad * self._rate_scalar(value.dtype)
        step /= xp.sqrt(denominator)
        if self.momentum:
            m = slots["momentum"]
            m *= cast(self.momentum)
            m += step
            step = m
        value -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Keras' Adagrad: a = a + g^2 (a starts at ``initial_accumulator_value``);
    w -= lr * g / sqrt(a + epsilon)."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        if not isinstance(initial_accumulator_value, (int, float)) or initial_accumulator_value < 0:
            raise ValueError(
                "initial_accumulator_value must be a number >= 0, got "
                f"{initial_accumulator_value!r}."
            )
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"accumulator": xp.full_like(p.data, self.initial_accumulator_value)}

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        accumulator = slots["accumulator"]
        accumulator += grad * grad
        step = grad * self._rate_scalar(value.dtype)
        step /= xp.sqrt(accumulator + value.dtype.type(self.epsilon))
        value -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Keras' Adadelta: a = rho * a + (1 - rho) * g^2; d = -rms(D) * g / rms(a) with
    rms(x) = sqrt(x + epsilon); D = rho * D + (1 - rho) * d^2; w += lr * d."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = fraction(rho, "rho"), float(epsilon)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {
            "accumulated_grad": xp.zeros_like(p.data),
            "accumulated_delta_var": xp.zeros_like(p.data),
        }

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast = value.dtype.type
        accumulated, deltas = slots["accumulated_grad"], slots["accumulated_delta_var"]
        accumulated *= cast(self.rho)
        accumulated += cast(1 - self.rho) * (grad * grad)
        delta = xp.sqrt(deltas + cast(self.epsilon)) * grad
        delta /= xp.sqrt(accumulated + cast(self.epsilon))
        deltas *= cast(self.rho)
        deltas += cast(1 - self.rho) * (delta * delta)
        delta *= self._rate_scalar(value.dtype)
        value -= delta

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Adam):
    """Keras' Adamax, Adam with the infinity norm: m = m + (g - m) * (1 - beta_1);
    u = max(beta_2 * u, |g|); w -= lr * m / ((1 - beta_1^t) * (u + epsilon))."""

    _takes_amsgrad = False

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"m": xp.zeros_like(p.data), "u": xp.zeros_like(p.data)}

    def _corrected_rate(self) -> float:
        return self._rate_in_use / (1 - self.beta_1**self.iterations)

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast = value.dtype.type
        m, u = slots["m"], slots["u"]
        m += (grad - m) * cast(1 - self.beta_1)
        u *= cast(self.beta_2)
        xp.maximum(u, xp.abs(grad), out=u)
        step = m * self._step_scalar("corrected_rate", value.dtype, self._corrected_rate)
        step /= u + cast(self.epsilon)
        value -= step


class Nadam(Adam):
    """Keras' Nadam (Dozat), Adam with Nesterov momentum and its momentum schedule
    u_t = beta_1 * (1 - 0.5 * 0.96^t): with U_t = u_1 * ... * u_t,
    m_hat = u_{t+1} * m / (1 - U_t * u_{t+1}) + (1 - u_t) * g / (1 - U_t),
    v_hat = v / (1 - beta_2^t), w -= lr * m_hat / (sqrt(v_hat) + epsilon)."""

    _takes_amsgrad = False

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self._product_at = (0, 1.0)  # (t, U_t), so that U_t is one product per step

    def _momentum(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def _product(self) -> float:
        """U_t for this update's t; restarts from U_0 = 1 when t jumped (a restored state)."""
        t = self.iterations
        done, product = self._product_at
        if done > t:
            done, product = 0, 1.0
        for s in range(done + 1, t + 1):
            product *= self._momentum(s)
        self._product_at = (t, product)
        return product

    def _momentum_weight(self) -> float:
        next_momentum = self._momentum(self.iterations + 1)
        return next_momentum / (1 - self._product() * next_momentum)

    def _gradient_weight(self) -> float:
        return (1 - self._momentum(self.iterations)) / (1 - self._product())

    def _velocity_weight(self) -> float:
        return 1 / (1 - self.beta_2**self.iterations)

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast, dtype = value.dtype.type, value.dtype
        m, v = slots["m"], slots["v"]
        m += (grad - m) * cast(1 - self.beta_1)
        v += (grad * grad - v) * cast(1 - self.beta_2)
        step = m * self._step_scalar("momentum_weight", dtype, self._momentum_weight)
        step += grad * self._step_scalar("gradient_weight", dtype, self._gradient_weight)
        step *= self._rate_scalar(dtype)
        denominator = xp.sqrt(
            v * self._step_scalar("velocity_weight", dtype, self._velocity_weight)
        )
        denominator += cast(self.epsilon)
        step /= denominator
        value -= step


class Lion(Optimizer):
    """Keras' Lion (Chen et al., 2023): w -= lr * sign(beta_1 * m + (1 - beta_1) * g);
    m = beta_2 * m + (1 - beta_2) * g."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        if isinstance(beta_1, bool) or not isinstance(beta_1, (int, float)) or not 0 < beta_1 <= 1:
            raise ValueError(
                f"beta_1 must be in (0, 1], got {beta_1!r} (at 0, Lion is SignSGD, as Keras says)."
            )
        self.beta_1, self.beta_2 = float(beta_1), fraction(beta_2, "beta_2")

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {"momentum": xp.zeros_like(p.data)}

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast = value.dtype.type
        m = slots["momentum"]
        step = xp.sign(m * cast(self.beta_1) + grad * cast(1 - self.beta_1))
        step *= self._rate_scalar(value.dtype)
        value -= step
        m *= cast(self.beta_2)
        m += grad * cast(1 - self.beta_2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(Adam):
    """Keras' Lamb (You et al.): Adam's bias-corrected step, scaled per weight by the trust
    ratio ||w|| / ||step|| (1 when either is 0), for large batches. Adam's arguments."""

    _takes_amsgrad = False

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast = value.dtype.type
        first = self._step_scalar(
            "lamb_first", value.dtype, lambda: 1 / (1 - self.beta_1**self.iterations)
        )
        second = self._step_scalar(
            "lamb_second", value.dtype, lambda: 1 / (1 - self.beta_2**self.iterations)
        )
        m, v = slots["m"], slots["v"]
        m += (grad - m) * cast(1 - self.beta_1)
        v += (grad * grad - v) * cast(1 - self.beta_2)
        step = (m * first) / (xp.sqrt(v * second) + cast(self.epsilon))
        w_norm = xp.sqrt((value * value).sum())
        step_norm = xp.sqrt((step * step).sum())
        both = (w_norm > 0) & (step_norm > 0)
        ratio = xp.where(both, w_norm / xp.where(both, step_norm, cast(1)), cast(1))
        value -= step * (ratio * self._rate_scalar(value.dtype))


class Adafactor(Optimizer):
    """Keras' Adafactor (Shazeer and Stern): for a weight of two axes or more, the second
    moment of the last two axes kept as a row mean r and a column mean c (memory of their
    sum, not their product), v = (r / mean(r)) c; one axis: a full v. With t the step,
    beta = 1 - t^beta_2_decay, rho = min(lr, 1 / sqrt(t)), u = g / sqrt(v) clipped to an
    RMS of ``clip_threshold``, w -= max(epsilon_2, RMS(w)) rho u, as Keras computes it."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_2_decay: float = -0.8,
        epsilon_1: float = 1e-30,
        epsilon_2: float = 1e-3,
        clip_threshold: float = 1.0,
        relative_step: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay = float(beta_2_decay)
        self.epsilon_1, self.epsilon_2 = float(epsilon_1), float(epsilon_2)
        if not clip_threshold > 0:
            raise ValueError(f"clip_threshold must be positive, got {clip_threshold!r}.")
        self.clip_threshold = float(clip_threshold)
        self.relative_step = bool(relative_step)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        if p.data.ndim < 2:
            return {"v": xp.zeros_like(p.data)}
        shape = p.data.shape
        return {
            "r": xp.zeros(shape[:-1], p.data.dtype),
            "c": xp.zeros(shape[:-2] + shape[-1:], p.data.dtype),
            "v": xp.zeros_like(p.data),
        }

    def _rho(self) -> float:
        # Keras caps the rate at 1 / sqrt(t) whether or not relative_step is set.
        return min(self._rate_in_use, 1 / math.sqrt(self.iterations))

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast, dtype = value.dtype.type, value.dtype
        beta = self._step_scalar(
            "adafactor_beta", dtype, lambda: 1 - self.iterations**self.beta_2_decay
        )
        squared = grad * grad + cast(self.epsilon_1)
        v = slots["v"]
        if value.ndim >= 2:
            r, c = slots["r"], slots["c"]
            r += (squared.mean(axis=-1) - r) * (1 - beta)
            c += (squared.mean(axis=-2) - c) * (1 - beta)
            v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v += (squared - v) * (1 - beta)
        # Where the factored v underflows to 0 (a row and a column of zero gradients, in
        # float32) the gradient is 0 too: its step is 0, not Keras' 0 / 0.
        positive = v > 0
        u = xp.where(positive, grad, cast(0)) / xp.sqrt(xp.where(positive, v, cast(1)))
        u /= xp.maximum(cast(1), xp.sqrt((u * u).mean()) / cast(self.clip_threshold))
        scale = xp.maximum(cast(self.epsilon_2), xp.sqrt((value * value).mean()))
        value -= u * (scale * self._step_scalar("adafactor_rho", dtype, self._rho))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }


class Muon(Optimizer):
    """Keras' Muon (Jordan et al.; Liu et al.), as in Keras 3.15: a weight of two axes takes
    momentum (Nesterov's with ``nesterov``) orthogonalized by ``ns_steps`` Newton-Schulz
    iterations (Keras' quintic coefficients a, b, c), times sqrt(max(rows, cols)) *
    ``rms_rate`` (Moonlight's scale; None leaves it out) and decays by ``weight_decay``; the
    others (one axis, three or more, embeddings, and weights whose path matches a pattern of
    ``exclude_layers``) take AdamW at ``adam_lr_ratio`` of the rate, decaying by
    ``adam_weight_decay``. Both decays are decoupled and scale with the full rate."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        adam_beta_1: float = 0.9,
        adam_beta_2: float = 0.999,
        adam_weight_decay: float | None = 0.004,
        epsilon: float = 1e-7,
        weight_decay: float | None = 0.004,
        exclude_layers: list[str] | None = None,
        exclude_embeddings: bool = True,
        muon_a: float = 3.4445,
        muon_b: float = -4.7750,
        muon_c: float = 2.0315,
        adam_lr_ratio: float = 1.0,
        momentum: float = 0.95,
        ns_steps: int = 5,
        nesterov: bool = True,
        rms_rate: float | None = 0.2,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1 = fraction(adam_beta_1, "adam_beta_1")
        self.adam_beta_2 = fraction(adam_beta_2, "adam_beta_2")
        self.adam_weight_decay = positive_or_none(adam_weight_decay, "adam_weight_decay")
        self.epsilon = float(epsilon)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio, self.momentum = float(adam_lr_ratio), fraction(momentum, "momentum")
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"ns_steps must be an int >= 0, got {ns_steps!r}.")
        self.ns_steps, self.nesterov = ns_steps, bool(nesterov)
        self.rms_rate = positive_or_none(rms_rate, "rms_rate")

    def uses_adamw(self, p: Tensor) -> bool:
        """Keras' rule for which weights Muon leaves to AdamW."""
        if p.data.ndim != 2:
            return True
        path = self.scoped_paths.get(id(p)) or self.weight_paths.get(id(p), p.name or "")
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    @property
    def _decay_factors(self) -> dict[str, Any]:
        return {
            "decay": lambda: self.weight_decay * self._rate_in_use,
            "adam_decay": lambda: self.adam_weight_decay * self._rate_in_use,
        }

    def _decay_of(self, p: Tensor) -> str | None:
        if not self._decays(p):
            return None
        if self.uses_adamw(p):
            return None if self.adam_weight_decay is None else "adam_decay"
        return None if self.weight_decay is None else "decay"

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        slots = {"momentum": xp.zeros_like(p.data)}
        if self.uses_adamw(p):
            slots["velocity"] = xp.zeros_like(p.data)
        return slots

    def _adam_step(self) -> float:
        t = self.iterations
        rate = self._rate_in_use * self.adam_lr_ratio
        return rate * math.sqrt(1 - self.adam_beta_2**t) / (1 - self.adam_beta_1**t)

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        xp = backend.get_array_module(value)
        cast, dtype = value.dtype.type, value.dtype
        m = slots["momentum"]
        if "velocity" in slots:
            v = slots["velocity"]
            m += (grad - m) * cast(1 - self.adam_beta_1)
            v += (grad * grad - v) * cast(1 - self.adam_beta_2)
            alpha = self._step_scalar("muon_adam", dtype, self._adam_step)
            value -= (m * alpha) / (xp.sqrt(v) + cast(self.epsilon))
            return
        m *= cast(self.momentum)
        m += grad
        direction = grad + m * cast(self.momentum) if self.nesterov else m
        step = self._orthogonalized(xp, direction)
        if self.rms_rate is not None:
            step *= cast(max(value.shape) ** 0.5 * self.rms_rate)
        value -= step * self._rate_scalar(dtype)

    def _orthogonalized(self, xp: Any, x: Any) -> Any:
        """Keras' zeropower_via_newtonschulz5 over the last two axes."""
        from .functions import batched_product

        wide = x.shape[-2] <= x.shape[-1]
        if not wide:
            x = xp.swapaxes(x, -1, -2)
        norm = xp.sqrt((x * x).sum(axis=(-2, -1), keepdims=True))
        x = backend.contiguous(x / (norm + x.dtype.type(1e-7)), x.dtype)
        a, b, c = (x.dtype.type(v) for v in (self.muon_a, self.muon_b, self.muon_c))
        for _ in range(self.ns_steps):
            gram = batched_product(x, backend.contiguous(xp.swapaxes(x, -1, -2), x.dtype))
            mixed = gram * b + batched_product(gram, gram) * c
            x = x * a + batched_product(mixed, x)
        return x if wide else xp.swapaxes(x, -1, -2)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": self.exclude_layers,
            "exclude_embeddings": self.exclude_embeddings,
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "momentum": self.momentum,
            "ns_steps": self.ns_steps,
            "nesterov": self.nesterov,
            "adam_weight_decay": self.adam_weight_decay,
            "rms_rate": self.rms_rate,
        }


class Ftrl(Optimizer):
    """Keras' FTRL-proximal (McMahan et al.): per-coordinate rates from accumulated squared
    gradients (``learning_rate_power``), L1 (``l1_regularization_strength``, which makes
    weights exactly 0), L2 and L2-shrinkage regularization, and ``beta``."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        if learning_rate_power > 0:
            raise ValueError(
                f"learning_rate_power must be <= 0 (as in Keras), got {learning_rate_power!r}."
            )
        for name, value in (
            ("initial_accumulator_value", initial_accumulator_value),
            ("l1_regularization_strength", l1_regularization_strength),
            ("l2_regularization_strength", l2_regularization_strength),
            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0 (as in Keras), got {value!r}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        xp = backend.get_array_module(p.data)
        return {
            "accumulator": xp.full_like(p.data, self.initial_accumulator_value),
            "linear": xp.zeros_like(p.data),
        }

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        cast = value.dtype.type
        rate = self._rate_scalar(value.dtype)
        power = cast(-self.learning_rate_power)
        accumulator, linear = slots["accumulator"], slots["linear"]
        l2 = cast(self.l2_regularization_strength) + cast(self.beta) / (2 * rate)
        shrunk = grad + cast(2 * self.l2_shrinkage_regularization_strength) * value
        new_accumulator = accumulator + grad * grad
        linear += shrunk - (new_accumulator**power - accumulator**power) / rate * value
        quadratic = new_accumulator**power / rate + 2 * l2
        l1 = cast(self.l1_regularization_strength)
        backend.get_array_module(value).clip(linear, -l1, l1, out=value)
        value -= linear
        value /= quadratic
        accumulator[...] = new_accumulator

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }


_BY_NAME: dict[str, type[Optimizer]] = {
    "adadelta": Adadelta,
    "adagrad": Adagrad,
    "adam": Adam,
    "adamax": Adamax,
    "adamw": AdamW,
    "adafactor": Adafactor,
    "ftrl": Ftrl,
    "lamb": Lamb,
    "lion": Lion,
    "lossscaleoptimizer": LossScaleOptimizer,
    "loss_scale_optimizer": LossScaleOptimizer,
    "muon": Muon,
    "nadam": Nadam,
    "multioptimizer": MultiOptimizer,
    "rmsprop": RMSprop,
    "schedulefreeadamw": ScheduleFreeAdamW,
    "sgd": SGD,
}


def get(identifier: str | Optimizer | dict[str, Any]) -> Optimizer:
    """An optimizer from its name (Keras' short names: 'adam', 'adamw', 'rmsprop', 'sgd',
    'adagrad', 'adadelta', 'adamax', 'nadam', 'lion', 'adafactor', ...), its config dict, or
    itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict) and "class_name" in identifier:  # Keras' serialized form
        if "module" in identifier:
            return deserialize(identifier)
        inner = dict(identifier.get("config") or {})  # its name the instance's, kept
        if "optimizer_map" in inner:
            return MultiOptimizer.from_config(inner)
        if "inner_optimizer" in inner:
            return LossScaleOptimizer.from_config(inner)
        found = _BY_NAME.get(str(identifier["class_name"]).lower())
        if found is None:
            raise ValueError(
                f"Unknown optimizer {identifier['class_name']!r}; known: "
                f"{', '.join(sorted(_BY_NAME))}."
            )
        return found.from_config(inner)
    if isinstance(identifier, dict):
        if "optimizer_map" in identifier:  # a MultiOptimizer's, its name any name
            return MultiOptimizer.from_config(identifier)
        if "inner_optimizer" in identifier:  # a LossScaleOptimizer's
            return LossScaleOptimizer.from_config(identifier)
        config = dict(identifier)  # minicnn's short form: the name says the class
        name = config.pop("name", None)
        if name not in _BY_NAME:
            raise ValueError(f"Unknown optimizer {name!r}; known: {', '.join(sorted(_BY_NAME))}.")
        return _BY_NAME[name].from_config(config)
    key = identifier.lower() if isinstance(identifier, str) else identifier
    if key not in _BY_NAME:
        raise ValueError(f"Unknown optimizer {identifier!r}; known: {', '.join(sorted(_BY_NAME))}.")
    return _BY_NAME[key]()


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras' ``optimizers.serialize``: ``{"module", "class_name", "config",
    "registered_name"}``."""
    from .serialization import serialize_keras_object

    return serialize_keras_object(optimizer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """Keras' ``optimizers.deserialize``: the optimizer ``serialize`` wrote, or one ``get``
    takes."""
    from . import registry
    from .serialization import deserialize_keras_object

    if isinstance(config, dict) and "module" in config and "config" in config:
        return deserialize_keras_object(config, custom_objects)
    with registry.custom_object_scope(custom_objects):
        return get(config)
