"""The base of every optimizer: Keras' gradient clipping, decoupled weight decay, learning
rates and schedules, step scalars for captured steps, and the state kept per weight."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import backend, schedules
from .autograd import Tensor
from .schedules import LearningRateSchedule


def positive_or_none(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number or None, got {value!r}.")
    return float(value)


def _rate(value: float) -> float:
    """The rate as Keras holds it, in a float32 variable: Adam's 0.001 reads back as
    0.0010000000474974513, in get_config and in ReduceLROnPlateau's message. 0 is taken, as
    Keras takes it (the weights stay; the optimizer's state and step count move on)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"learning_rate must be a number >= 0, got {value!r}.")
    return float(np.float32(value))


def weights_to_build_on(variables: Any) -> list[Tensor]:
    """``variables`` as a list, checked to be weights."""
    variables = list(variables)
    if not all(isinstance(v, Tensor) for v in variables):
        raise TypeError(
            "An optimizer is built on weights: a list of Tensors, such as model.trainable_weights."
        )
    return variables


def fraction(value: float, name: str) -> float:
    """A decay rate such as beta_1 or rho: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}.")
    return float(value)


class Optimizer:
    """What every optimizer shares, with Keras' arguments: gradient clipping (``clipnorm`` per
    weight, ``clipvalue`` per element, or ``global_clipnorm`` over all weights; at most one),
    then decoupled weight decay (w -= w * weight_decay * learning_rate), then the update.

    ``gradient_accumulation_steps=n`` (Keras' rule) adds up the gradients of n calls and
    updates on the n-th with their mean; ``iterations`` counts updates and
    ``steps_applied`` counts calls, as Keras' ``iterations`` and ``_iterations`` do (a
    schedule reads the calls, as in Keras). ``loss_scale_factor`` multiplies the loss before
    the gradients (``scale_loss``) and divides the gradients by it again."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
    ) -> None:
        # Keras' name, also the scope of its variables' paths ("adam/iteration"): the class's
        # in snake case, numbered where one repeats ("adam_1"), unless given.
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"An optimizer's name must be a non-empty string, got {name!r}.")
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        if isinstance(learning_rate, dict):
            learning_rate = schedules.deserialize(learning_rate)
        self._schedule = learning_rate if isinstance(learning_rate, LearningRateSchedule) else None
        if self._schedule is None:
            self._rate = _rate(learning_rate)
        self._rate_in_use = 0.0  # the rate of the update being made
        self.weight_decay = positive_or_none(weight_decay, "weight_decay")
        self.clipnorm = positive_or_none(clipnorm, "clipnorm")
        self.clipvalue = positive_or_none(clipvalue, "clipvalue")
        self.global_clipnorm = positive_or_none(global_clipnorm, "global_clipnorm")
        if sum(c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set, as in Keras."
            )
        self.use_ema = bool(use_ema)
        if not isinstance(ema_momentum, (int, float)) or not 0 <= ema_momentum <= 1:
            raise ValueError(f"ema_momentum must be in [0, 1], got {ema_momentum!r}.")
        self.ema_momentum = float(ema_momentum)
        if ema_overwrite_frequency is not None and (
            isinstance(ema_overwrite_frequency, bool)
            or not isinstance(ema_overwrite_frequency, int)
            or ema_overwrite_frequency < 1
        ):
            raise ValueError(
                f"ema_overwrite_frequency must be a positive int or None, got "
                f"{ema_overwrite_frequency!r}."
            )
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = positive_or_none(loss_scale_factor, "loss_scale_factor")
        if gradient_accumulation_steps is not None and (
            isinstance(gradient_accumulation_steps, bool)
            or not isinstance(gradient_accumulation_steps, int)
            or gradient_accumulation_steps < 2
        ):
            raise ValueError(
                "gradient_accumulation_steps must be an integer >= 2 or None (as in Keras), "
                f"got {gradient_accumulation_steps!r}."
            )
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.steps_applied = 0  # Keras' _iterations: every call, accumulating ones too
        self._updates_before = 0  # the updates made before this call (EMA reads it)
        self._scalars: dict[tuple[str, Any], Any] = {}  # this update's step scalars
        self._slots: list[dict[str, Any]] = []
        self._params: list[Tensor] = []  # the weights the slots belong to
        # Each weight's path by id, compile gives the model's: without the scopes its layer
        # sits in ("dense/kernel"), and Keras' own ("sequential/dense/kernel").
        self.weight_paths: dict[int, str] = {}
        self.scoped_paths: dict[int, str] = {}
        self._no_decay_ids: set[int] = set()  # exclude_from_weight_decay's
        self._no_decay_pattern: re.Pattern[str] | None = None

    @property
    def iterations(self) -> int:
        """The updates made (Keras' ``iterations``): ``steps_applied``, or with gradient
        accumulation the whole cycles of it; an int with a Variable's attributes
        (``iterations.numpy()``, ``iterations.assign(0)``), as Keras' is a Variable."""
        from .optimizer_variables import StepCount

        count = self.steps_applied // (self.gradient_accumulation_steps or 1)
        return StepCount(count, f"{self.name}/iteration", self._set_iterations)

    def _set_iterations(self, value: Any) -> None:
        self.iterations = value

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.steps_applied = int(value) * (self.gradient_accumulation_steps or 1)

    @property
    def learning_rate(self) -> float:
        """The rate of the next update: the schedule's value at ``steps_applied`` (Keras'
        count) if there is one; a float with a Variable's attributes (``numpy()``,
        ``assign(0.01)``), as Keras' is a Variable."""
        from .optimizer_variables import RateValue

        schedule = self._schedule
        rate = self._rate if schedule is None else float(np.float32(schedule(self.steps_applied)))
        return RateValue(rate, f"{self.name}/learning_rate", self._set_learning_rate)

    def _set_learning_rate(self, value: Any) -> None:
        self.learning_rate = value

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if self._schedule is not None:
            raise TypeError(
                f"This optimizer's learning rate follows {self._schedule!r}; it cannot be set "
                "(Keras refuses too). Give a number as learning_rate to change it later."
            )
        self._rate = _rate(value)

    @property
    def accumulates_gradients(self) -> bool:
        """Whether some calls only add up gradients (the host decides which)."""
        return self.gradient_accumulation_steps is not None

    @property
    def decides_on_host(self) -> bool:
        """Whether the host decides, step by step, what an update does (gradient
        accumulation; loss scaling's skipped steps): such a step is not captured in a CUDA
        graph."""
        return self.accumulates_gradients

    def host_state(self) -> tuple[Any, ...]:
        """What an update changes on the host (its counts and rate), for ``restore_host``
        after a step that was abandoned (a failed CUDA graph capture)."""
        return (self.steps_applied, self._updates_before, self._rate_in_use)

    def restore_host(self, state: tuple[Any, ...]) -> None:
        self.steps_applied, self._updates_before, self._rate_in_use = state

    def update_weights(self, params: list[Tensor]) -> None:
        """One update of every parameter from its ``.grad`` (parameters without one are skipped);
        fit's step. The first call builds the state for ``params``; later ones must give the
        same list."""
        if not self.built:
            self.build(params)
        elif len(self._params) != len(params) or any(
            a is not b for a, b in zip(self._params, params, strict=True)
        ):
            raise ValueError(
                f"This optimizer was built for other weights ({len(self._params)} arrays; now "
                f"{len(params)}); compile the model again after adding, removing, rebuilding, "
                "freezing or unfreezing layers."
            )
        self._apply_at(list(range(len(params))), [p.grad for p in params])

    def build(self, variables: list[Tensor]) -> None:
        """Make the state (moments, ...) for these weights, as Keras' ``optimizer.build``."""
        variables = weights_to_build_on(variables)
        self._slots = [self._all_slots(p) for p in variables]
        self._params = variables

    def apply(self, grads: list[Any], trainable_variables: list[Tensor] | None = None) -> None:
        """Keras 3's ``optimizer.apply``: one update of ``trainable_variables`` (all the weights
        it was built on, when None) from ``grads``, in the same order (arrays or Tensors; None
        leaves a weight as it is). The first call builds the optimizer on the weights it gets;
        later calls may update any of those."""
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "apply(grads) without trainable_variables needs a built optimizer: call "
                    "optimizer.build(model.trainable_weights) first, or give the weights."
                )
            variables = self._params
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"apply got {len(grads)} gradients for {len(variables)} weights; give one per "
                "weight (None for a weight to leave as it is)."
            )
        position = {id(p): i for i, p in enumerate(self._params)}
        indices = []
        for v in variables:
            if id(v) not in position:
                raise ValueError(
                    f"This optimizer was built for other weights and does not know {v!r}; use a "
                    "new optimizer for these weights."
                )
            indices.append(position[id(v)])
        if len(set(indices)) != len(indices):
            raise ValueError("apply got the same weight twice.")
        arrays = [
            self._checked_grad(g, self._params[i]) for g, i in zip(grads, indices, strict=True)
        ]
        if all(g is None for g in arrays):
            raise ValueError("No gradients provided for any weight (every gradient is None).")
        self._apply_at(indices, arrays)

    def apply_gradients(self, grads_and_vars: Any) -> None:
        """Keras' (and tf.keras') ``apply_gradients``: ``apply`` on (gradient, weight) pairs."""
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError("apply_gradients got no (gradient, weight) pairs.")
        grads, variables = zip(*pairs, strict=True)
        self.apply(list(grads), list(variables))

    @staticmethod
    def _checked_grad(grad: Any, p: Tensor) -> Any:
        """A gradient as an array of its weight's shape, dtype and device."""
        if grad is None:
            return None
        if isinstance(grad, Tensor):
            grad = grad.data
        device = backend.device_of(p.data)
        array = backend.to_device(grad, device)
        if tuple(array.shape) != p.shape:
            raise ValueError(
                f"A gradient of shape {tuple(array.shape)} for weight {p.name or ''} of shape "
                f"{p.shape}; gradients must match their weights."
            )
        return array.astype(p.data.dtype, copy=False)

    def _apply_at(self, indices: list[int], grads: list[Any]) -> None:
        """One update of the built weights at ``indices`` from ``grads`` (None: skipped)."""
        if self.loss_scale_factor is not None:
            grads = [None if g is None else g / g.dtype.type(self.loss_scale_factor) for g in grads]
        steps = self.gradient_accumulation_steps
        if steps is not None:
            grads = self._accumulated(indices, grads, steps)
            if grads is None:
                return
        self.advance()
        grads = self._clipped(grads)
        for i, grad in zip(indices, grads, strict=True):
            if grad is None:
                continue
            p, slots = self._params[i], self._slots[i]
            decay = self._decay_of(p)
            if decay is not None:
                factor = self._step_scalar(decay, p.data.dtype, self._decay_factors[decay])
                p.data -= p.data * factor
            self._update(p.data, grad, slots)
            if p.constraint is not None:
                p.data[...] = p.constraint(p.data)
        if self.use_ema:
            self._follow_average(self._params)

    def _accumulated(self, indices: list[int], grads: list[Any], steps: int) -> list[Any] | None:
        """Keras' gradient accumulation: on all but every ``steps``-th call, the gradients
        are added to their accumulators and None is returned (the weights stay; only their
        moving average follows, as in Keras); on that call, the mean of the cycle's
        gradients, with the accumulators emptied."""
        if (self.steps_applied + 1) % steps:
            for i, grad in zip(indices, grads, strict=True):
                if grad is not None:
                    self._slots[i]["gradient_accumulator"] += grad
            self._updates_before = int(self.iterations)
            self.steps_applied += 1
            if self.use_ema:
                self._scalars = {}
                self._follow_average(self._params)
            return None
        means = []
        for i, grad in zip(indices, grads, strict=True):
            total = self._slots[i]["gradient_accumulator"]
            means.append(None if grad is None else (grad + total) / grad.dtype.type(steps))
            total[...] = 0
        return means

    def scale_loss(self, loss: Any) -> Any:
        """Keras' ``scale_loss``: the loss times ``loss_scale_factor`` (when set), which
        the update divides out of the gradients again."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def _all_slots(self, p: Tensor) -> dict[str, Any]:
        """The update's state for ``p``, its moving average with ``use_ema`` and its
        gradients' sum with ``gradient_accumulation_steps``."""
        slots = self._new_slots(p)
        xp = backend.get_array_module(p.data)
        if self.use_ema:
            slots["ema"] = xp.zeros_like(p.data)
        if self.gradient_accumulation_steps is not None:
            slots["gradient_accumulator"] = xp.zeros_like(p.data)
        return slots

    def _ema_rate(self) -> float:
        """Keras' EMA: until the first update is made it copies the weights; then it moves by
        1 - momentum."""
        return 0.0 if self._updates_before == 0 else self.ema_momentum

    def _overwrites_now(self) -> float:
        """1 on the calls after which the weights take their average's values, else 0:
        Keras' (iterations + 1) % ema_overwrite_frequency == 0, with iterations counted
        before the call."""
        every = self.ema_overwrite_frequency
        return float(every is not None and (self._updates_before + 1) % every == 0)

    def _follow_average(self, params: list[Tensor]) -> None:
        """ema = momentum * ema + (1 - momentum) * w for every weight, and, every
        ``ema_overwrite_frequency`` updates, w = ema. Both are arithmetic on step scalars, so
        that a step captured in a CUDA graph replays them."""
        for p, slots in zip(params, self._slots, strict=True):
            ema, dtype = slots["ema"], p.data.dtype
            rate = self._step_scalar("ema_rate", dtype, self._ema_rate)
            ema *= rate
            ema += (1 - rate) * p.data
            if self.ema_overwrite_frequency is not None:
                flag = self._step_scalar("ema_overwrite", dtype, self._overwrites_now)
                p.data += flag * (ema - p.data)

    def finalize_variable_values(self, params: list[Tensor]) -> None:
        """Keras' end of training with ``use_ema``: the weights take their moving averages'
        values (fit calls this after its last epoch)."""
        if not (self.use_ema and self._slots):
            return
        for p, slots in zip(self._params, self._slots, strict=True):
            p.data[...] = slots["ema"]

    def advance(self) -> None:
        """The host's part of an update: count it and fix its learning rate. A step replayed
        from a CUDA graph calls only this; its device work and step scalars replay."""
        self._rate_in_use = float(self.learning_rate)
        self._updates_before = int(self.iterations)
        self.steps_applied += 1
        self._scalars = {}

    def _step_scalar(self, name: str, dtype: Any, make: Any) -> Any:
        """``backend.step_scalar(make, dtype)``, made once per update (not once per weight)."""
        key = (name, dtype)
        value = self._scalars.get(key)
        if value is None:
            value = self._scalars[key] = backend.step_scalar(make, dtype)
        return value

    def _rate_scalar(self, dtype: Any) -> Any:
        """This update's learning rate as a step scalar (a schedule or a callback changes it)."""
        return self._step_scalar("rate", dtype, self._current_rate)

    def _current_rate(self) -> float:
        return self._rate_in_use

    @property
    def _decay_factors(self) -> dict[str, Any]:
        """Each kind of weight decay's factor for this update (w -= w * factor), by the name
        that ``_decay_of`` gives."""
        return {"decay": lambda: self.weight_decay * self._rate_in_use}

    def _decay_of(self, p: Tensor) -> str | None:
        """Which weight decay ``p`` takes (a key of ``_decay_factors``), or None: Keras'
        ``weight_decay`` for every weight but those ``exclude_from_weight_decay`` named."""
        if self.weight_decay is None or not self._decays(p):
            return None
        return "decay"

    def exclude_from_weight_decay(
        self, var_list: list[Tensor] | None = None, var_names: list[str] | None = None
    ) -> None:
        """Keras' ``exclude_from_weight_decay``: the weights of ``var_list``, and those whose
        name (``kernel``, ``bias``, ``gamma``...) contains a pattern of ``var_names`` (regular
        expressions), take no weight decay. Called before the optimizer is built, as in
        Keras; a later call replaces an earlier one."""
        if self.built:
            raise ValueError(
                "exclude_from_weight_decay() can only be configured before the optimizer is "
                "built (as in Keras): call it before the first training step."
            )
        if var_list is not None and not all(isinstance(v, Tensor) for v in var_list):
            raise TypeError("var_list must be a list of weights (Tensors), such as layer.kernel.")
        if isinstance(var_names, str):
            raise TypeError(f"var_names must be a list of strings, got the string {var_names!r}.")
        self._no_decay_ids = {id(v) for v in var_list or []}
        names = sorted(set(var_names or []))
        self._no_decay_pattern = re.compile("|".join(names)) if names else None

    def _decays(self, p: Tensor) -> bool:
        """Whether ``exclude_from_weight_decay`` leaves ``p`` its weight decay."""
        if id(p) in self._no_decay_ids:
            return False
        pattern = self._no_decay_pattern
        return pattern is None or pattern.search(p.name or "") is None

    def _clipped(self, grads: list[Any]) -> list[Any]:
        """The gradients after clipping; computed on their device, with no read to the host."""
        if self.clipvalue is not None:
            xp = backend.get_array_module(*[g for g in grads if g is not None])
            return [
                None if g is None else xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads
            ]
        if self.clipnorm is not None:
            return [None if g is None else self._scaled(g, _norm(g), self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            present = [g for g in grads if g is not None]
            if not present:
                return grads
            xp = backend.get_array_module(*present)
            total = xp.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in present))
            return [
                None if g is None else self._scaled(g, total, self.global_clipnorm) for g in grads
            ]
        return grads

    @staticmethod
    def _scaled(grad: Any, norm: Any, limit: float) -> Any:
        """grad * limit / max(norm, limit): unchanged when the norm is within the limit."""
        xp = backend.get_array_module(grad)
        factor = limit / xp.maximum(norm, limit)
        return grad * factor.astype(grad.dtype)

    @property
    def built(self) -> bool:
        """Whether the first update has made the state for its weights (Keras builds then too)."""
        return bool(self._params)

    def _new_slots(self, p: Tensor) -> dict[str, Any]:
        return {}

    def _update(self, value: Any, grad: Any, slots: dict[str, Any]) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "learning_rate": (
                self._schedule.serialize()
                if self._schedule is not None
                else float(self.learning_rate)
            ),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Optimizer:
        """Keras' ``from_config``: the optimizer ``get_config`` described (a schedule given
        as its config is rebuilt)."""
        from . import registry

        with registry.custom_object_scope(custom_objects):
            return cls(**config)

    def state_arrays(self) -> list[Any]:
        """The optimizer's state arrays, in a fixed order (for checkpoints)."""
        return [slots[k] for slots in self._slots for k in sorted(slots)]

    @property
    def variables(self) -> list[Tensor]:
        """Keras' ``optimizer.variables``: its step count (int64) and learning rate (float32;
        none with a schedule), then its state in Keras' order and names
        ("adam/sequential_dense_kernel_momentum"). A state variable holds the optimizer's
        own array (``assign`` writes the state); the count and the rate are copies."""
        from .optimizer_variables import keras_variables

        return keras_variables(self)

    def set_state(self, params: list[Tensor], steps_applied: int, arrays: list[Any]) -> None:
        """Restore what ``steps_applied`` and ``state_arrays()`` described, for these
        parameters."""
        self._slots = [self._all_slots(p) for p in params]
        self._params = list(params)
        slots = [(s, k) for s in self._slots for k in sorted(s)]
        if len(slots) != len(arrays):
            raise ValueError(f"optimizer state has {len(arrays)} arrays, expected {len(slots)}.")
        for (s, k), a in zip(slots, arrays, strict=True):
            if tuple(a.shape) != tuple(s[k].shape):
                raise ValueError(f"optimizer array of shape {a.shape}, expected {s[k].shape}.")
            s[k][...] = backend.to_device(a, backend.device_of(s[k]))
        self.steps_applied = int(steps_applied)

    def to(self, device: str) -> None:
        """Move the state arrays along with the model."""
        for slots in self._slots:
            for k in slots:
                slots[k] = backend.to_device(slots[k], device)


def _norm(grad: Any) -> Any:
    """The L2 norm of one gradient, as a 0-d array on its device."""
    xp = backend.get_array_module(grad)
    return xp.sqrt((grad.astype(np.float64) ** 2).sum())
