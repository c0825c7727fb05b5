"""Keras' ``keras.config`` settings that minicnn has: the default image data format (which
layers take when their ``data_format`` is None) and the float type (float32, the type minicnn
trains in; others are refused by name)."""

from __future__ import annotations

import os
from typing import Any

_settings: dict[str, Any] = {"image_data_format": "channels_last", "epsilon": 1e-7}


def image_data_format() -> str:
    """'channels_last' (Keras' default) or 'channels_first': what layers created from now on
    take when their ``data_format`` is None."""
    return _settings["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format!r}"
        )
    _settings["image_data_format"] = data_format


def floatx() -> str:
    """The float type of weights and computations: float32."""
    return "float32"


def set_floatx(value: str) -> None:
    """Keras' set_floatx: float32 only (minicnn trains in float32; float64 is for its gradient
    checks, bfloat16 and float16 need kernels it does not have)."""
    if value != "float32":
        raise ValueError(
            f"set_floatx({value!r}): minicnn computes in float32 only; other float types "
            "are not available."
        )


def epsilon() -> float:
    """Keras' fuzz factor (1e-7 unless ``set_epsilon`` changed it), which the losses,
    metrics, constraints and Normalization read when they compute, as Keras'
    ``backend.epsilon()``."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    """Keras' ``set_epsilon``: the fuzz factor from now on (a positive number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"set_epsilon takes a number in (0, 1), got {value!r}.")
    _settings["epsilon"] = float(value)


def dtype_policy() -> Any:
    """Keras' config.dtype_policy: the global policy (``mixed_precision.global_policy``)."""
    from .mixed_precision import global_policy

    return global_policy()


def set_dtype_policy(policy: Any) -> None:
    """Keras' config.set_dtype_policy (``mixed_precision.set_global_policy``)."""
    from .mixed_precision import set_global_policy

    set_global_policy(policy)


def _limit_from_environment(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return _limit(int(value), name)
    except ValueError:
        raise ValueError(f"${name} must be a positive integer, got {value!r}.") from None


def _limit(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}.")
    return value


# Keras' debugging caps on fit (and evaluate and predict), also from its environment
# variables, so that a script runs short without an edit.
_caps: dict[str, int | None] = {
    "max_epochs": _limit_from_environment("KERAS_MAX_EPOCHS"),
    "max_steps_per_epoch": _limit_from_environment("KERAS_MAX_STEPS_PER_EPOCH"),
}


def set_max_epochs(max_epochs: int | None) -> None:
    """Keras' cap on the epochs of every ``fit`` (None: none), for quick debugging runs;
    ``$KERAS_MAX_EPOCHS`` sets it at import."""
    _caps["max_epochs"] = _limit(max_epochs, "max_epochs")


def max_epochs() -> int | None:
    return _caps["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Keras' cap on the steps of every epoch of ``fit`` and of ``evaluate`` and
    ``predict`` (None: none); ``$KERAS_MAX_STEPS_PER_EPOCH`` sets it at import."""
    _caps["max_steps_per_epoch"] = _limit(max_steps_per_epoch, "max_steps_per_epoch")


def max_steps_per_epoch() -> int | None:
    return _caps["max_steps_per_epoch"]


def enable_interactive_logging() -> None:
    """Keras': minicnn's messages and progress lines go to stdout (the default)."""
    from .progress import enable_interactive_logging as enable

    enable()


def disable_interactive_logging() -> None:
    """Keras': they go to the "minicnn" logger (INFO) instead, a progress line once its run
    has ended, as a job on a server wants."""
    from .progress import disable_interactive_logging as disable

    disable()


def is_interactive_logging_enabled() -> bool:
    from .progress import is_interactive_logging_enabled as enabled

    return enabled()
