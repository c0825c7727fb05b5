"""What every metric shares: a per-batch total on the model's device, and a value made from
the totals of many batches."""

from __future__ import annotations

from typing import Any


def per_sample_mean(values: Any) -> Any:
    """The sum over samples of each sample's mean value."""
    rows = values.reshape(values.shape[0], -1)
    return rows.mean(axis=1).sum()


class Metric:
    """Sums a per-sample score over a batch, from the outputs and the targets."""

    default_name = ""
    # Whether the score depends only on the order of the class scores; then logits serve as
    # well as probabilities, and a fused softmax needs no extra pass.
    ranks_only = False
    needs_classes = False

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.default_name

    def total(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        raise NotImplementedError

    def check(self, loss: Any) -> None:
        """Refuse a loss whose targets this metric cannot read."""
        if self.needs_classes and not getattr(loss, "classification", False):
            raise ValueError(
                f"Metric '{self.name}' compares classes; it needs a categorical cross-entropy "
                f"loss, not {loss.name}."
            )

    def result(self, total: Any, seen: int) -> float:
        """The metric's value from its totals summed over ``seen`` samples."""
        return float(total) / seen

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def serialize(self) -> dict[str, Any]:
        return {"class_name": type(self).__name__, "config": self.get_config()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class OutputLoss(Metric):
    """The loss of one output of a model with several (the logs' ``<output>_loss``): the
    model hands over its batch loss times the batch size, as the total loss adds up."""

    def total(self, outputs: Any, y_true: Any, loss: Any) -> Any:
        raise TypeError("The model computes an output's loss; OutputLoss only adds it up.")
