"""Metrics by Keras name, each the mean over samples of a 0/1 score: accuracy and top-k
accuracy. A metric counts its hits in a batch as an array on the model's device, so a GPU
step adds them up without waiting; the model reads the sums when it shows or logs them."""

from __future__ import annotations

from typing import Any

from . import backend


class Metric:
    """Counts the samples of a batch that score 1, from the outputs and the class ids."""

    default_name = ""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.default_name

    def hits(self, outputs: Any, labels: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def serialize(self) -> dict[str, Any]:
        return {"class_name": type(self).__name__, "config": self.get_config()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class SparseCategoricalAccuracy(Metric):
    """Whether the largest output is the true class (integer labels)."""

    default_name = "sparse_categorical_accuracy"

    def hits(self, outputs: Any, labels: Any) -> Any:
        return (outputs.argmax(axis=1) == labels).sum()


class CategoricalAccuracy(SparseCategoricalAccuracy):
    """The same for one-hot or soft target rows: their argmax is the true class."""

    default_name = "categorical_accuracy"


class SparseTopKCategoricalAccuracy(Metric):
    """Whether the true class is among the ``k`` largest outputs; classes tied with the k-th
    count as inside, as in ``tf.math.in_top_k``."""

    default_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        super().__init__(name)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{type(self).__name__}: k must be a positive int, got {k!r}.")
        self.k = k

    def hits(self, outputs: Any, labels: Any) -> Any:
        rows = backend.get_array_module(labels).arange(labels.shape[0])
        true_scores = outputs[rows, labels]
        above = (outputs > true_scores[:, None]).sum(axis=1)
        return (above < self.k).sum()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


class TopKCategoricalAccuracy(SparseTopKCategoricalAccuracy):
    default_name = "top_k_categorical_accuracy"


_BY_NAME: dict[str, Any] = {
    "accuracy": lambda: SparseCategoricalAccuracy(name="accuracy"),
    "acc": lambda: SparseCategoricalAccuracy(name="acc"),
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
}
_CLASSES: dict[str, type[Metric]] = {
    cls.__name__: cls
    for cls in (
        SparseCategoricalAccuracy,
        CategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        TopKCategoricalAccuracy,
    )
}


def get(identifier: Any) -> Metric:
    """A metric from its Keras name ('accuracy', 'sparse_top_k_categorical_accuracy', ...),
    its serialized dict, or itself."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Unknown metric {identifier!r}; known: {', '.join(_BY_NAME)}.")


def serialize(metric: Metric) -> str | dict[str, Any]:
    """A name where the name alone rebuilds the metric (the file stays readable), else the
    class and config."""
    if metric.name in _BY_NAME and get(metric.name).get_config() == metric.get_config():
        if type(get(metric.name)) is type(metric):
            return metric.name
    return metric.serialize()
