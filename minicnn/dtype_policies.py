"""Keras' ``keras.dtype_policies``: a layer's dtype policy as an object. minicnn computes in
float32, so ``DTypePolicy("float32")`` is the float policy (Keras' "mixed_float16" and
"mixed_bfloat16" are kept by name and computed in float32 too), ``QuantizedDTypePolicy``
that of a layer quantized to int8 (``model.quantize("int8")``) and ``Int4DTypePolicy`` to
int4; other policies (float16 or bfloat16 compute, float8, GPTQ, AWQ) are refused by name.
``serialize`` and ``deserialize`` write and read Keras' dicts of them."""

from __future__ import annotations

from typing import Any

from .mixed_precision import Policy, global_policy, quantized_policy

DTypePolicy = Policy
FloatDTypePolicy = Policy  # Keras' older name of the float policy


class QuantizedDTypePolicy(Policy):
    """The policy of a layer whose weights are quantized (``mode`` "int8", or "int4/128":
    int4 in blocks of 128 inputs) from ``source_name``'s floats: "int8_from_float32"."""

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        name = f"{mode}_from_{source_name or 'float32'}"
        if quantized_policy(name) is None:
            raise ValueError(
                f"{type(self).__name__}: minicnn quantizes to int8 or int4 from float32; got "
                f"mode {mode!r} from {source_name!r}."
            )
        super().__init__(name)


class Int4DTypePolicy(QuantizedDTypePolicy):
    """Keras' policy of an int4 layer: ``mode`` "int4/<block size>" (-1: a scale per unit)."""


def _quantized(mode: str, source: str | None) -> QuantizedDTypePolicy:
    return (Int4DTypePolicy if "/" in mode else QuantizedDTypePolicy)(mode, source)


def get(identifier: Any) -> Policy:
    """A policy from its name, Keras' dict of it, or itself (None: the global policy)."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, Policy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if quantized_policy(identifier) is not None:
            return _quantized(*identifier.split("_from_"))
        return DTypePolicy(identifier)
    raise ValueError(f"Cannot interpret `dtype` argument. Received: {identifier!r}")


def serialize(policy: Policy) -> dict[str, Any]:
    """Keras' dict of a policy, as its files hold it."""
    quantized = bool(policy.quantization_mode)
    return {
        "module": "keras.dtype_policies" if quantized else "keras",
        "class_name": policy.class_name,
        "config": policy.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Policy:
    """The policy of Keras' dict (``serialize``'s, or a Keras file's)."""
    name, inner = config.get("class_name"), config.get("config") or {}
    if name in ("QuantizedDTypePolicy", "Int4DTypePolicy"):
        return _quantized(inner.get("mode", ""), inner.get("source_name"))
    if name in ("DTypePolicy", "FloatDTypePolicy"):
        return get(inner.get("name"))
    raise ValueError(
        f"Unknown dtype policy class {name!r}: minicnn has DTypePolicy, QuantizedDTypePolicy and "
        "Int4DTypePolicy."
    )
