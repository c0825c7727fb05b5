"""Keras' ``keras.mixed_precision`` policies. minicnn computes in float32: "float32" is its
policy, and Keras' mixed ones, "mixed_float16" and "mixed_bfloat16", are kept by name (so that
Keras' mixed-precision files load, train and save as they were) while their layers compute in
float32 too, with float32 weights as in Keras: outputs differ from Keras' by float16's
rounding, not more. As in Keras, compile wraps the optimizer of a "mixed_float16" model in a
``LossScaleOptimizer``. A layer's ``dtype`` is a policy too: "int8_from_float32" or
"int4/128_from_float32" for a layer quantized to int8 or int4 (``minicnn.quantization``)."""

from __future__ import annotations

import re
import warnings
from typing import Any

from . import config

MIXED = ("mixed_float16", "mixed_bfloat16")  # kept by name; computed in float32
# Keras' quantized policies: "int8_from_float32", "int4/<block size>_from_float32" (-1: one
# scale per output unit) and the older "int4_from_float32" (per unit too).
_QUANTIZED = re.compile(r"(int8|int4)(?:/(-1|[1-9][0-9]*))?_from_float32")


def quantized_policy(name: str) -> tuple[str, int | None] | None:
    """A quantized policy's mode and int4 block size (-1 per unit; None for int8 and the
    older int4 name), or None for a float policy."""
    found = _QUANTIZED.fullmatch(name)
    if found is None or (found[1] == "int8" and found[2] is not None):
        return None
    return found[1], None if found[2] is None else int(found[2])


def quantized_policy_name(mode: str, block_size: int | None) -> str:
    """The policy of a layer quantized to ``mode`` (int4: in blocks of ``block_size``
    inputs, None for one scale per unit), as Keras 3.15 names it."""
    if mode == "int4":
        return f"int4/{-1 if block_size is None else block_size}_from_float32"
    return f"{mode}_from_float32"


class Policy:
    """A dtype policy: compute and variable dtypes, both float32 here, for Keras' mixed
    policies too (a quantized layer's policy also names its ``quantization_mode``, and an
    int4 one its ``block_size``)."""

    def __init__(self, name: str) -> None:
        quantized = quantized_policy(name)
        if name != "float32" and quantized is None and name not in MIXED:
            raise ValueError(
                f"Policy {name!r}: minicnn computes in float32; it takes 'float32', Keras' "
                f"mixed policies {MIXED} (computed in float32), 'int8_from_float32' and "
                "'int4/<block size>_from_float32'."
            )
        self.name = name
        self.compute_dtype = self.variable_dtype = config.floatx()
        self.quantization_mode, self.block_size = quantized or (None, None)

    @property
    def class_name(self) -> str:
        """Keras' class of the policy."""
        if self.block_size is not None:
            return "Int4DTypePolicy"
        return "QuantizedDTypePolicy" if self.quantization_mode else "DTypePolicy"

    def __repr__(self) -> str:
        return f'<{self.class_name} "{self.name}">'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def get_config(self) -> dict[str, Any]:
        """Keras' config: the name, or a quantized policy's mode and source."""
        if self.quantization_mode:
            mode, source = self.name.split("_from_")
            return {"mode": mode, "source_name": source}
        return {"name": self.name}


_policy = Policy("float32")


def set_global_policy(policy: str | Policy) -> None:
    global _policy
    found = policy if isinstance(policy, Policy) else Policy(str(policy))
    if found.quantization_mode:
        raise ValueError(
            f"Policy {found.name!r} is a quantized layer's; quantize a model with "
            "model.quantize(mode)."
        )
    if found.name in MIXED and found.name != _policy.name:
        warnings.warn(
            f"The global policy {found.name!r}: minicnn keeps it by name (files and loss "
            "scaling follow Keras) and computes in float32, its one compute type.",
            stacklevel=2,
        )
    _policy = found


def global_policy() -> Policy:
    return _policy


DTypePolicy = Policy  # Keras 3's name of the class; dtype_policy and set_dtype_policy too
dtype_policy = global_policy
set_dtype_policy = set_global_policy


def layer_policy(dtype: Any) -> Policy | None:
    """A layer's ``dtype`` argument as a policy (None: the global one): "float32" (or
    NumPy's float32), a quantized one ("int8_from_float32"), a Policy, or Keras' config of one."""
    if dtype is None or isinstance(dtype, Policy):
        return dtype
    if isinstance(dtype, dict):  # Keras' {"class_name": "DTypePolicy", "config": {"name"}}
        inner = dtype.get("config") or {}
        if "mode" in inner:  # a QuantizedDTypePolicy: {"mode", "source_name"}
            dtype = f"{inner['mode']}_from_{inner.get('source_name', 'float32')}"
        else:
            dtype = inner.get("name", dtype.get("name"))
    name = dtype if isinstance(dtype, str) else getattr(dtype, "__name__", str(dtype))
    return Policy("float32" if name in ("float32", "float") else name)


def mixed_config(holder: Any) -> dict[str, Any]:
    """``{"dtype": name}`` for a layer or model made under one of Keras' mixed policies (what
    its config keeps of it), else nothing."""
    policy = holder.__dict__.get("_dtype_policy")
    return {"dtype": policy.name} if policy is not None and policy.name in MIXED else {}


def restore_mixed(model: Any, config: dict[str, Any]) -> Any:
    """The model, with the mixed policy that ``mixed_config`` kept (if any)."""
    if config.get("dtype") is not None:
        model._dtype_policy = layer_policy(config["dtype"])
    return model


def __getattr__(name: str) -> Any:
    # Keras' mixed_precision.LossScaleOptimizer, the optimizers' class (imported late: the
    # optimizers import the layers, which import this module).
    if name == "LossScaleOptimizer":
        from .loss_scale_optimizer import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
