"""Keras' ``keras.wrappers``: a compiled minicnn model (or a function that builds one) as a
scikit-learn estimator, so that it goes into pipelines, ``cross_val_score`` and
``GridSearchCV``. ``SKLearnClassifier`` one-hot encodes the labels for training (its model
ends in one output per class, as Keras' wrapper asks) and predicts the class of the largest
output; ``SKLearnRegressor`` predicts the model's outputs; ``SKLearnTransformer``'s
``transform`` is the model's ``predict`` (an embedding as features for another estimator).

``model`` is a compiled model, which each ``fit`` clones (new weights, the same compile
settings) unless ``warm_start=True`` and the estimator was fitted before; or a function
called as ``model(X=X, y=y, **model_kwargs)`` (y as the model trains on it: a
classifier's one-hot) that returns a compiled model. ``fit_kwargs``
(and keyword arguments of ``fit``, which take precedence) go to the model's ``fit``.
Inputs may have more than two axes (images), where scikit-learn's own estimators take
tables only."""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # scikit-learn is a dependency of minicnn; the wrappers say so if it is missing
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # pragma: no cover - depends on the machine
    BaseEstimator = ClassifierMixin = RegressorMixin = TransformerMixin = object

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _sklearn(owner: str) -> Any:
    try:
        import sklearn
    except ImportError:
        raise ImportError(
            f"{owner} requires `scikit-learn` to be installed. Run `pip install "
            "scikit-learn` to install it."
        ) from None
    return sklearn


class _Estimator(BaseEstimator):
    """What the three wrappers share: the model they fit, and the inputs they check."""

    def __init__(
        self,
        model: Any,
        warm_start: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        fit_kwargs: dict[str, Any] | None = None,
    ) -> None:
        _sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # weights are drawn anew at each fit
        return tags

    def __sklearn_clone__(self) -> _Estimator:
        """An unfitted twin that shares ``model`` (each fit clones it, or calls it)."""
        return type(self)(**self.get_params(deep=False))

    @property
    def epoch_(self) -> int:
        """How many epochs the last fit trained."""
        history = getattr(self, "history_", None) or {}
        return len(next(iter(history.values()), []))

    def fit(self, X: Any, y: Any, **kwargs: Any) -> _Estimator:
        """Train a fresh model (or, with ``warm_start``, the fitted one) on X and y; keyword
        arguments go to the model's ``fit``."""
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, allow_nd=True, multi_output=True, dtype="numeric")
        targets = self._encode(y, reset=True)
        model = self._model_to_fit(X, targets)  # a builder sees the one-hot labels
        settings = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(np.asarray(X, np.float32), targets, **settings).history
        self.model_ = model
        return self

    def _model_to_fit(self, X: Any, y: Any) -> Any:
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if hasattr(self.model, "fit") and hasattr(self.model, "get_config"):
            from .models import clone_model

            model = clone_model(self.model)
            if self.model.compiled:
                model.compile_from_config(self.model.get_compile_config())
        elif callable(self.model):
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        else:
            raise TypeError(
                f"{type(self).__name__}: model must be a compiled minicnn model or a function "
                f"that builds one; got {type(self.model).__name__}."
            )
        if not getattr(model, "compiled", False) or model.loss is None:
            raise RuntimeError(
                "Given model needs to be compiled, and have a loss and an optimizer."
            )
        return model

    def _outputs(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype="numeric")
        return np.asarray(self.model_.predict(np.asarray(X, np.float32), verbose=0))

    def _encode(self, y: np.ndarray, reset: bool) -> np.ndarray:
        """The targets as the model trains on them: a column per target (one target: a
        single column, as Keras' wrapper reshapes it)."""
        if reset:
            self._target_ndim = y.ndim
        return (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.float32)

    def predict(self, X: Any) -> np.ndarray:
        """The model's predictions for X (a classifier's: the classes)."""
        outputs = self._outputs(X)
        if self._target_ndim == 1 and outputs.ndim == 2 and outputs.shape[1] == 1:
            return outputs[:, 0]
        return outputs


class SKLearnClassifier(ClassifierMixin, _Estimator):
    """Keras' ``SKLearnClassifier``: binary or multiclass labels (any values; ``classes_``
    holds them sorted), one-hot encoded for training; ``predict`` gives the class of the
    largest output, ``decision_function`` the outputs, ``score`` the accuracy."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _encode(self, y: np.ndarray, reset: bool) -> np.ndarray:
        from sklearn.utils.multiclass import type_of_target
        from sklearn.utils.validation import column_or_1d

        kind = type_of_target(y, raise_unknown=True)
        if kind in ("binary", "multiclass"):
            y = column_or_1d(y, warn=True)  # a column of labels: warned, as scikit-learn's
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"Only binary and multiclass target types are supported. Target type: {kind}"
            )
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        index = np.searchsorted(self.classes_, y)
        return np.eye(len(self.classes_), dtype=np.float32)[index]

    def decision_function(self, X: Any) -> np.ndarray:
        """The model's outputs for X, one column per class."""
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """The class of each sample's largest output."""
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]


class SKLearnRegressor(RegressorMixin, _Estimator):
    """Keras' ``SKLearnRegressor``: ``predict`` gives the model's outputs (one target: a
    vector), ``score`` the coefficient of determination R^2."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True  # one output column per target
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """The model's outputs for X, in float64 as scikit-learn's regressors give them
        (one target: a vector)."""
        return super().predict(X).astype(np.float64)


class SKLearnTransformer(TransformerMixin, _Estimator):
    """Keras' ``SKLearnTransformer``: ``transform`` gives the model's outputs for X (say an
    embedding, as features for the next step of a pipeline)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def transform(self, X: Any) -> np.ndarray:
        """The model's outputs for X."""
        return self._outputs(X)
