"""Keras' ``keras.mixed_precision`` policies: minicnn computes in float32, so "float32" is the
one policy; the mixed ones (float16 or bfloat16 compute) are refused by name."""

from __future__ import annotations

from . import config


class Policy:
    """A dtype policy: compute and variable dtypes, both float32 here."""

    def __init__(self, name: str) -> None:
        if name != "float32":
            raise ValueError(
                f"Policy {name!r}: minicnn computes in float32 only; mixed precision "
                "(float16 or bfloat16 compute) is not available."
            )
        self.name = name
        self.compute_dtype = self.variable_dtype = config.floatx()

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


_policy = Policy("float32")


def set_global_policy(policy: str | Policy) -> None:
    global _policy
    _policy = policy if isinstance(policy, Policy) else Policy(str(policy))


def global_policy() -> Policy:
    return _policy
