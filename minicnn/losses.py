"""Losses by Keras name. Only what the study needs: sparse categorical cross-entropy."""

from __future__ import annotations

from typing import Any

from . import functions as F
from .autograd import Tensor


class SparseCategoricalCrossentropy:
    """Mean cross-entropy of integer labels; on probabilities, or on logits with from_logits."""

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def __call__(self, y_true: Any, y_pred: Tensor, checked: bool = False) -> Tensor:
        """The loss; ``checked`` says y_true is known to hold valid class ids."""
        if self.from_logits:
            return F.softmax_cross_entropy(y_pred, y_true, checked)
        return F.cross_entropy_from_probs(y_pred, y_true, checked)

    def on_logits(self, y_true: Any, logits: Tensor, checked: bool = False) -> Tensor:
        """The same loss, computed from the logits of a softmax output (stable, and faster)."""
        return F.softmax_cross_entropy(logits, y_true, checked)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}


_BY_NAME = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy}


def get(identifier: str | SparseCategoricalCrossentropy | dict[str, Any]) -> Any:
    if isinstance(identifier, SparseCategoricalCrossentropy):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if name not in _BY_NAME:
            raise ValueError(f"Unknown loss {name!r}; known: {', '.join(sorted(_BY_NAME))}.")
        return _BY_NAME[name](**config)
    if identifier not in _BY_NAME:
        raise ValueError(f"Unknown loss {identifier!r}; known: {', '.join(sorted(_BY_NAME))}.")
    return _BY_NAME[identifier]()
