"""Keras' ``keras.mixed_precision`` policies: minicnn computes in float32, so "float32" is the
one policy; the mixed ones (float16 or bfloat16 compute) are refused by name. A layer's
``dtype`` is a policy too: "float32", or "int8_from_float32" for a layer quantized to int8
(``minicnn.quantization``)."""

from __future__ import annotations

from typing import Any

from . import config

QUANTIZED = {"int8_from_float32": "int8"}  # Keras' quantized policies: their mode


class Policy:
    """A dtype policy: compute and variable dtypes, both float32 here (a quantized layer's
    policy also names its ``quantization_mode``)."""

    def __init__(self, name: str) -> None:
        if name != "float32" and name not in QUANTIZED:
            raise ValueError(
                f"Policy {name!r}: minicnn computes in float32 only; mixed precision "
                "(float16 or bfloat16 compute) is not available."
            )
        self.name = name
        self.compute_dtype = self.variable_dtype = config.floatx()
        self.quantization_mode = QUANTIZED.get(name)

    def __repr__(self) -> str:
        kind = "QuantizedDTypePolicy" if self.quantization_mode else "DTypePolicy"
        return f'<{kind} "{self.name}">'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def get_config(self) -> dict[str, Any]:
        """Keras' config: the name, or a quantized policy's mode and source."""
        if self.quantization_mode:
            return {"mode": self.quantization_mode, "source_name": self.name.split("_from_")[1]}
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
    _policy = found


def global_policy() -> Policy:
    return _policy


def layer_policy(dtype: Any) -> Policy | None:
    """A layer's ``dtype`` argument as a policy (None: the global one): "float32" (or
    NumPy's float32), "int8_from_float32", a Policy, or Keras' config of one."""
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
