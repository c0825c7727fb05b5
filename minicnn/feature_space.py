"""Keras' ``keras.utils.FeatureSpace``: one object that turns a dict of raw columns
(floats, integer or string categories) into the vector a model takes, built from the
preprocessing layers: Normalization, Rescaling, Discretization, IntegerLookup, StringLookup,
Hashing and HashedCrossing, each index one-hot encoded with CategoryEncoding. Features are
concatenated in the order of their sorted names, then the crosses (also sorted), as Keras
does. It works on data (NumPy arrays, lists), before the model: ``fit(space(x), y)``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from . import backend
from . import layers as L
from .layer_base import Input, is_symbolic, wrapped_layer
from .text_layers import DataLayer

FEATURE_TYPES = (
    "float",
    "float_normalized",
    "float_rescaled",
    "float_discretized",
    "integer_categorical",
    "string_categorical",
    "integer_hashed",
    "string_hashed",
)


class Feature:
    """A column: its dtype ('float32', 'int32' or 'string'), the preprocessing layer, and how
    its output is given ('float' as it is, 'int' indices, or 'one_hot')."""

    def __init__(self, dtype: str, preprocessor: Any, output_mode: str) -> None:
        if output_mode not in ("int", "one_hot", "float"):
            raise ValueError(
                f"output_mode must be one of 'int', 'one_hot', 'float'; got {output_mode!r}."
            )
        self.dtype, self.preprocessor, self.output_mode = dtype, preprocessor, output_mode


class Cross:
    """Features crossed by hashing their joint values into ``crossing_dim`` bins."""

    def __init__(self, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"output_mode must be one of 'int', 'one_hot'; got {output_mode!r}.")
        self.feature_names = tuple(feature_names)
        self.crossing_dim, self.output_mode = int(crossing_dim), output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)


class _Identity:
    def __call__(self, x: Any) -> np.ndarray:
        return np.asarray(x, np.float32)


class FeatureSpace:
    """Keras' FeatureSpace(features, output_mode="concat", crosses=None, crossing_dim=32,
    hashing_dim=32, num_discretization_bins=32): ``features`` maps each column to a type name
    (see ``FEATURE_TYPES``) or to ``FeatureSpace.float_normalized()`` and the like; ``adapt``
    learns vocabularies, means and bins from data (a dict of columns, or an iterable of such
    dicts); calling it gives one float32 vector per sample (``"concat"``) or a dict of encoded
    columns (``"dict"``)."""

    @classmethod
    def cross(cls, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Any, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        return Feature("float32", _Identity(), "float")

    @classmethod
    def float_rescaled(
        cls, scale: float = 1.0, offset: float = 0.0, name: str | None = None
    ) -> Feature:
        return Feature("float32", L.Rescaling(scale, offset=offset), "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        return Feature("float32", L.Normalization(axis=-1), "float")

    @classmethod
    def float_discretized(
        cls,
        num_bins: int,
        bin_boundaries: Any = None,
        output_mode: str = "one_hot",
        name: str | None = None,
    ) -> Feature:
        if bin_boundaries is not None:
            layer = L.Discretization(bin_boundaries=bin_boundaries)
        else:
            layer = L.Discretization(num_bins=num_bins)
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(
        cls,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        output_mode: str = "one_hot",
        name: str | None = None,
    ) -> Feature:
        layer = L.IntegerLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(
        cls,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        output_mode: str = "one_hot",
        name: str | None = None,
    ) -> Feature:
        layer = L.StringLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(
        cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None
    ) -> Feature:
        return Feature("string", L.Hashing(num_bins), output_mode)

    @classmethod
    def integer_hashed(
        cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None
    ) -> Feature:
        return Feature("int32", L.Hashing(num_bins), output_mode)

    def __init__(
        self,
        features: dict[str, Any],
        output_mode: str = "concat",
        crosses: Any = None,
        crossing_dim: int = 32,
        hashing_dim: int = 32,
        num_discretization_bins: int = 32,
        name: str | None = None,
    ) -> None:
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        if output_mode not in ("concat", "dict"):
            raise ValueError(f"output_mode must be one of 'dict', 'concat'; got {output_mode!r}.")
        self.output_mode, self.name = output_mode, name
        self.crossing_dim, self.hashing_dim = crossing_dim, hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {key: self._standardize(key, value) for key, value in features.items()}
        self.crosses: list[Cross] = []
        for cross in crosses or []:
            if not isinstance(cross, Cross):
                unknown = [k for k in cross if k not in self.features]
                if unknown:
                    raise ValueError(
                        "All features referenced in the `crosses` argument should be present "
                        f"in the `features` dict. Received unknown features: {unknown}"
                    )
                cross = Cross(cross, crossing_dim)
            self.crosses.append(cross)
        self.preprocessors = {key: f.preprocessor for key, f in self.features.items()}
        self.crossers = {c.name: L.HashedCrossing(c.crossing_dim) for c in self.crosses}
        self._to_adapt = self._adaptable()
        self._adapted = not self._to_adapt
        self.inputs: dict[str, Any] | None = None
        self.encoded_features: Any = None

    def _standardize(self, key: str, feature: Any) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if feature == "float_discretized":
            return self.float_discretized(self.num_discretization_bins)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim)
        if feature in FEATURE_TYPES:
            return getattr(self, feature)()
        raise ValueError(f"Invalid feature type {feature!r} for {key!r}; known: {FEATURE_TYPES}.")

    def _adaptable(self) -> list[str]:
        """The features whose layer learns from data and has not been given its state."""
        names = []
        for key, layer in self.preprocessors.items():
            if isinstance(layer, L.Discretization) and layer.bin_boundaries is not None:
                continue
            if hasattr(layer, "adapt"):
                names.append(key)
        return names

    def adapt(self, dataset: Any) -> None:
        """Learn each adaptable layer's state from ``dataset``: a dict of columns, or an
        iterable (a list, a PyDataset) of dicts of batches."""
        columns = _columns(dataset, list(self.features))
        for key in self._to_adapt:
            self.preprocessors[key].adapt(columns[key])
        self._adapted = True

    # -- in a model, as Keras' guide "Structured data classification with FeatureSpace" -------
    def get_inputs(self) -> dict[str, Any]:
        """An Input per feature (shape (1,), the feature's dtype), by name: an inference
        model's inputs (``Model(space.get_inputs(), ...)``), the same each time."""
        if self.inputs is None:
            self.inputs = {
                key: Input(shape=(1,), dtype=feature.dtype, name=key)
                for key, feature in self.features.items()
            }
        return self.inputs

    def get_encoded_features(self) -> Any:
        """The encoded features of ``get_inputs()`` (one symbolic tensor, "concat" mode): a
        training model starts there (``Model(encoded, outputs)``, fit on ``space(x)``), and
        an inference model on the raw columns ends at the same outputs."""
        self._require_adapted()
        if self.encoded_features is None:
            self.encoded_features = self(self.get_inputs())
        return self.encoded_features

    def _require_adapted(self) -> None:
        if not self._adapted:
            raise ValueError(
                "You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                "using it."
            )

    def __call__(self, data: dict[str, Any]) -> Any:
        """The encoded features of ``data`` (a dict of columns; a dict of single values gives
        one sample); on a dict of symbolic tensors, the layer that encodes them in a model."""
        if not isinstance(data, dict):
            raise ValueError(
                f"A FeatureSpace can only be called with a dict. Received: data of type "
                f"{type(data).__name__}"
            )
        self._require_adapted()
        if any(is_symbolic(value) for value in data.values()):
            return self._connect(data)
        missing = [key for key in self.features if key not in data]
        if missing:
            raise ValueError(f"The data has no column {missing[0]!r} of this FeatureSpace.")
        single = all(np.ndim(data[key]) == 0 for key in self.features)
        columns = {key: _as_column(data[key], self.features[key].dtype) for key in self.features}
        indexed = {key: np.asarray(self.preprocessors[key](columns[key])) for key in columns}
        crossed = {  # crosses hash the preprocessed values, as Keras'
            cross.name: np.asarray(
                self.crossers[cross.name]([indexed[key] for key in cross.feature_names])
            )
            for cross in self.crosses
        }
        encoded = {}
        for key in sorted(indexed):
            mode = self.features[key].output_mode
            encoded[key] = self._encoded(mode, indexed[key], self._width(key))
        for name in sorted(crossed):
            cross = next(c for c in self.crosses if c.name == name)
            encoded[name] = self._encoded(cross.output_mode, crossed[name], cross.crossing_dim)
        if self.output_mode == "dict":
            return {k: v[0] if single else v for k, v in encoded.items()}
        if any(v.dtype.kind not in "f" for v in encoded.values()):
            name = next(k for k, v in encoded.items() if v.dtype.kind not in "f")
            raise ValueError(
                f"Cannot concatenate features because feature '{name}' has not been encoded "
                "(it gives indices). Consider using `output_mode='dict'`."
            )
        vector = np.concatenate([encoded[k] for k in encoded], axis=-1).astype(np.float32)
        return vector[0] if single else vector

    def _connect(self, data: dict[str, Any]) -> Any:
        """The encoding layer on the inputs: one vector ("concat"), or a dict of encoded
        features ("dict"), each a SelectOutput of the layer's results."""
        from .models import SelectOutput

        missing = [key for key in self.features if key not in data]
        if missing:
            raise ValueError(f"The inputs have no feature {missing[0]!r} of this FeatureSpace.")
        layer = FeatureSpaceLayer(self)
        node = layer([data[key] for key in self.features])
        if self.output_mode == "concat":
            return node
        encoded = {}
        for i, (key, dtype) in enumerate(zip(layer.output_keys, layer.output_dtypes, strict=True)):
            encoded[key] = SelectOutput(i, name=backend.unique_name(f"{layer.name}_{key}"))(node)
            encoded[key].dtype = dtype
        return encoded

    # -- saving ----------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Keras' arguments, each feature's layer with its learned state (vocabularies, bins,
        means and variances), and whether it was adapted."""
        return {
            "features": {
                key: {
                    "dtype": feature.dtype,
                    "output_mode": feature.output_mode,
                    "preprocessor": _layer_entry(feature.preprocessor),
                }
                for key, feature in self.features.items()
            },
            "output_mode": self.output_mode,
            "crosses": [
                {
                    "feature_names": list(c.feature_names),
                    "crossing_dim": c.crossing_dim,
                    "output_mode": c.output_mode,
                }
                for c in self.crosses
            ],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
            "name": self.name,
            "adapted": self._adapted,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FeatureSpace:
        config = dict(config)
        adapted = config.pop("adapted", False)
        features = {
            key: Feature(
                entry["dtype"],
                _Identity()
                if entry["preprocessor"] is None
                else wrapped_layer(entry["preprocessor"], "FeatureSpace"),
                entry["output_mode"],
            )
            for key, entry in config.pop("features").items()
        }
        crosses = [Cross(**c) for c in config.pop("crosses")]
        space = cls(features, crosses=crosses, **config)
        space._adapted = adapted or space._adapted
        return space

    def save(self, path: Any) -> None:
        """Keras' ``feature_space.save(path)``: the configuration and learned state, which
        ``minicnn.models.load_model(path)`` gives back as a FeatureSpace."""
        from .saving import save_feature_space

        save_feature_space(self, path)

    def _width(self, key: str) -> int | None:
        """How many one-hot places feature ``key`` takes."""
        layer = self.preprocessors[key]
        if isinstance(layer, (L.IntegerLookup, L.StringLookup)):
            return layer.vocabulary_size()
        if isinstance(layer, L.Discretization):
            given = layer.bin_boundaries
            return layer.num_bins if given is None else len(given) + 1
        if isinstance(layer, L.Hashing):
            return layer.num_bins
        return None

    @staticmethod
    def _encoded(mode: str, values: np.ndarray, width: int | None) -> np.ndarray:
        if mode == "float":
            return np.asarray(values, np.float32).reshape(len(values), -1)
        if mode == "int":
            return np.asarray(values).reshape(len(values), -1)
        if width is None:
            raise ValueError("This feature's size is not known, so it cannot be one-hot encoded.")
        encoder = L.CategoryEncoding(num_tokens=width, output_mode="multi_hot")
        return np.asarray(encoder(np.asarray(values).reshape(len(values), -1)), np.float32)


def _layer_entry(layer: Any) -> dict[str, Any] | None:
    """A preprocessing layer as a config entry; an adapted Normalization's mean and variance
    (its weights) go into its config, as given ones would."""
    if isinstance(layer, _Identity):
        return None
    config = layer.get_config()
    if isinstance(layer, L.Normalization) and config.get("mean") is None and layer.built:
        mean, variance = (np.asarray(w).reshape(-1).tolist() for w in layer.get_weights()[:2])
        config = {**config, "mean": mean, "variance": variance}
    return {"class_name": type(layer).__name__, "config": config}


class FeatureSpaceLayer(DataLayer):
    """A FeatureSpace in a model's graph: the feature columns in (in the space's order), the
    concatenated encoding out; saved with the space's configuration and learned state."""

    takes_list = True

    def __init__(self, space: FeatureSpace | dict[str, Any], **kwargs: Any) -> None:
        kwargs.setdefault("name", space.name if isinstance(space, FeatureSpace) else None)
        super().__init__(**kwargs)
        self.space = space if isinstance(space, FeatureSpace) else FeatureSpace.from_config(space)

    def on_data(self, x: Any) -> Any:
        """The encoding: one array ("concat"), or one per encoded feature ("dict")."""
        encoded = self.space(dict(zip(self.space.features, x, strict=True)))
        return list(encoded.values()) if isinstance(encoded, dict) else encoded

    def compute_output_shape(self, input_shape: Any) -> Any:
        probes = [
            getattr(f.preprocessor, "probe", DataLayer.probe.__get__(self))(shape, f.dtype)
            for f, shape in zip(self.space.features.values(), input_shape, strict=True)
        ]
        encoded = self.space(dict(zip(self.space.features, probes, strict=True)))
        if isinstance(encoded, dict):  # a shape and dtype per encoded feature
            self.output_keys = list(encoded)
            self.output_dtypes = [str(v.dtype) for v in encoded.values()]
            return tuple(tuple(v.shape[1:]) for v in encoded.values())
        self.output_dtype = "float32"
        return tuple(np.asarray(encoded).shape[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "space": self.space.get_config()}


def _as_column(values: Any, dtype: str) -> np.ndarray:
    """A column as (samples, 1), strings as str, numbers as their kind."""
    array = np.asarray(values)
    if dtype == "string":
        array = array.astype(str)
    elif dtype == "int32":
        array = array.astype(np.int64)
    else:
        array = array.astype(np.float32)
    return array.reshape(-1, 1)


def _columns(dataset: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Every value of each column, from a dict of columns or an iterable of dict batches."""
    batches: Iterable[Any] = [dataset] if isinstance(dataset, dict) else dataset
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for batch in batches:
        if isinstance(batch, tuple):  # (features, labels) batches: the features
            batch = batch[0]
        if not isinstance(batch, dict):
            kind = type(batch).__name__
            raise ValueError(f"adapt() takes a dict of columns or batches of them, got {kind}.")
        for name in names:
            parts[name].append(np.asarray(batch[name]).reshape(-1, 1))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}
