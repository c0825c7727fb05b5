"""Keras' lookup and text layers: StringLookup, IntegerLookup and TextVectorization.

They map tokens (strings or ints) to ids from a vocabulary that is given or that ``adapt``
learns (the most frequent tokens first, ties in reverse token order, as Keras sorts them), and
give ids ('int'), one-hot, multi-hot, count or TF-IDF vectors. Text is host data, so they run
on the host and return NumPy arrays, which ``fit`` takes: use them on the data, as Keras
advises for training on a GPU (``x = vectorize(texts)``), or as the first layers of a model
that takes raw text (``Input(shape=(1,), dtype="string")``), as Keras' end-to-end examples do.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .batches import is_dataset, is_iterator
from .data_checks import positive_int
from .layer_base import Layer, is_symbolic

LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# Keras' DEFAULT_STRIP_REGEX: ASCII punctuation.
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


def id_vectors(rows: Any, depth: int, counts: bool) -> np.ndarray:
    """One float32 row of ``depth`` per sample: how many times each id occurs in its ids
    (``counts``), or whether it does (Keras' count and multi_hot / one_hot)."""
    out = np.zeros((len(rows), depth), np.float32)
    for row, sample in zip(out, rows, strict=True):
        np.add.at(row, sample, 1.0)
    return out if counts else (out > 0).astype(np.float32)


class DataLayer(Layer):
    """A layer on data (text, categories): ``on_data`` does its work on the host. Called on
    the samples before a model (as Keras advises for GPU training), it gives NumPy arrays; in
    a model's graph (after an ``Input(dtype="string")``, say, for a model that takes raw
    text, as in Keras' end-to-end text examples), it gives the model tensors on its device,
    and the model's steps run uncaptured (host work each step)."""

    works_on_host = True
    output_dtype = "int64"  # of its results in a graph, found when it is built there

    def __call__(self, x: Any, training: bool | None = None, mask: Any = None) -> Any:
        parts = x if isinstance(x, (list, tuple)) else [x]
        if is_symbolic(x):
            self._input_dtypes = [getattr(p, "dtype", None) or "float32" for p in parts]
            result = super().__call__(x, training)
            result.dtype = self.output_dtype
            return result
        if any(is_symbolic(part) for part in parts):
            raise TypeError(f"{self.describe()}: give it all its inputs as symbolic tensors.")
        return self.on_data(x)

    def on_data(self, x: Any) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The shape of what ``on_data`` gives one ``probe`` sample: a lookup's ids, or a
        vector per sample (TextVectorization's ids, as long as a batch's longest text, are
        its own case)."""
        shapes = input_shape if self.takes_list else [input_shape]
        dtypes = getattr(self, "_input_dtypes", None) or ["float32"] * len(shapes)
        probes = [self.probe(shape, dtype) for shape, dtype in zip(shapes, dtypes, strict=True)]
        out = np.asarray(self.on_data(probes if self.takes_list else probes[0]))
        self.output_dtype = str(out.dtype)
        return tuple(int(d) for d in out.shape[1:])

    def probe(self, shape: Any, dtype: str) -> np.ndarray:
        """One sample this layer takes: a known token (the vocabulary's first), else "a"
        for texts and 0 for numbers."""
        known = getattr(self, "_tokens", None)
        value = known[0] if known else ("a" if dtype == "string" else 0)
        return np.full((1, *shape), value, object if dtype == "string" else None)

    def call_masked(self, x: Any, training: bool, mask: Any) -> Any:
        """The layer in a model's graph: its work on the host copy of the batch, the result
        a Tensor on the model's device."""
        parts = x if isinstance(x, (list, tuple)) else [x]
        host = [backend.to_numpy(p.data if isinstance(p, Tensor) else p) for p in parts]
        out = self.on_data(host if self.takes_list else host[0])
        if isinstance(out, list):  # several results (a FeatureSpace's dict): a Tensor each
            return [Tensor(backend.to_device(np.asarray(o), self.device)) for o in out]
        return Tensor(backend.to_device(np.asarray(out), self.device))


class _IndexLookup(DataLayer):
    """What the lookups share: the vocabulary, with ``mask_token`` (id 0 in 'int' mode) and
    one out-of-vocabulary id before the learned tokens, and the output modes."""

    def __init__(
        self,
        max_tokens: int | None,
        num_oov_indices: int,
        mask_token: Any,
        oov_token: Any,
        vocabulary: Any,
        idf_weights: Any,
        invert: bool,
        output_mode: str,
        pad_to_max_tokens: bool,
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        layer = self.describe()
        if output_mode not in LOOKUP_MODES:
            raise ValueError(
                f"{layer}: output_mode must be one of {', '.join(LOOKUP_MODES)}; got "
                f"{output_mode!r}."
            )
        if num_oov_indices not in (0, 1):
            raise ValueError(
                f"{layer}: num_oov_indices must be 0 or 1 (hashing out-of-vocabulary tokens "
                f"into several ids is not available); got {num_oov_indices!r}."
            )
        if invert and output_mode != "int":
            raise ValueError(f"{layer}: invert=True needs output_mode='int'.")
        if sparse:
            raise ValueError(f"{layer}: sparse outputs are not available; use sparse=False.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{layer}: pad_to_max_tokens=True needs max_tokens.")
        self.max_tokens = (
            None if max_tokens is None else positive_int(max_tokens, f"{layer}: max_tokens")
        )
        self.num_oov_indices, self.mask_token, self.oov_token = (
            num_oov_indices,
            mask_token,
            oov_token,
        )
        self.invert, self.output_mode = bool(invert), output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        if self.max_tokens is not None and self.max_tokens <= self._token_start():
            raise ValueError(
                f"{layer}: max_tokens ({max_tokens}) leaves no room for tokens after the "
                f"{self._token_start()} special ones."
            )
        self._tokens: list[Any] = []
        self._index: dict[Any, int] = {}
        self._idf: np.ndarray | None = None
        self._counts: collections.Counter = collections.Counter()
        self._document_counts: collections.Counter = collections.Counter()
        self._documents = 0
        self._given_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{layer}: idf_weights need a vocabulary.")

    # -- the vocabulary ----------------------------------------------------------------------
    def _masks_in_output(self) -> bool:
        return self.mask_token is not None and self.output_mode == "int"

    def _specials(self) -> list[Any]:
        """The tokens before the learned ones: the mask token ('int' mode), the OOV token."""
        specials = [self.mask_token] if self._masks_in_output() else []
        return specials + [self.oov_token] * self.num_oov_indices

    def _token_start(self) -> int:
        return len(self._specials())

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        return (self._specials() if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self) -> int:
        return self._token_start() + len(self._tokens)

    def _key(self, token: Any) -> Any:
        return token

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Keras' set_vocabulary: a list of tokens (or a file of one per line), which may
        start with the special tokens; ``idf_weights`` (one per token) for 'tf_idf'."""
        layer = self.describe()
        if isinstance(vocabulary, (str, Path)):
            vocabulary = Path(vocabulary).read_text(encoding="utf-8").splitlines()
        tokens = [self._key(t) for t in np.asarray(vocabulary).reshape(-1).tolist()]
        specials = self._specials()
        if tokens[: len(specials)] == specials:
            tokens = tokens[len(specials) :]
        for special in {self.mask_token, self.oov_token} - {None}:
            if special in tokens:
                raise ValueError(
                    f"{layer}: the special token {special!r} may only come first in the vocabulary."
                )
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{layer}: the vocabulary repeats tokens: {repeated[:10]}.")
        if self.max_tokens is not None and len(tokens) + len(specials) > self.max_tokens:
            raise ValueError(
                f"{layer}: the vocabulary has {len(tokens) + len(specials)} tokens with the "
                f"special ones, more than max_tokens ({self.max_tokens})."
            )
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(
                    f"{layer}: output_mode='tf_idf' with a vocabulary needs idf_weights."
                )
            weights = np.asarray(idf_weights, np.float32).reshape(-1)
            if len(weights) != len(tokens):
                raise ValueError(f"{layer}: {len(weights)} idf_weights for {len(tokens)} tokens.")
            self._idf = self._with_oov_idf(weights)
        elif idf_weights is not None:
            raise ValueError(f"{layer}: idf_weights are only for output_mode='tf_idf'.")
        self._tokens = tokens
        self._given_vocabulary = True
        self._rebuild_index()

    def load_keras_vocabulary(self, text: str, idf_weights: Any = None) -> None:
        """The vocabulary Keras keeps for a layer it adapted (the asset vocabulary.txt:
        one token per line, the special tokens first) and, for 'tf_idf', the idf weights it
        keeps among the layer's variables (the special tokens' included). A vocabulary the
        config gave stays, as in Keras."""
        if self._tokens:
            return
        lines = text.splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        integers = isinstance(self, IntegerLookup)
        tokens = [int(line) if integers else line for line in lines]
        idf = None
        if self.output_mode == "tf_idf" and idf_weights is not None:
            specials = self._specials()
            first = len(specials) if tokens[: len(specials)] == specials else 0
            idf = np.asarray(idf_weights, np.float32)[first : len(tokens)]
        self.set_vocabulary(tokens, idf)

    def keras_idf_weights(self) -> np.ndarray | None:
        """For 'tf_idf', the idf weights as Keras keeps them among the layer's variables:
        the special tokens' first, zeros after the tokens up to ``max_tokens`` with
        ``pad_to_max_tokens``; None in the other modes."""
        if self.output_mode != "tf_idf" or self._idf is None:
            return None
        if self.pad_to_max_tokens and self.max_tokens is not None:
            return np.pad(self._idf, (0, max(self.max_tokens - len(self._idf), 0)))
        return self._idf

    def _with_oov_idf(self, weights: np.ndarray) -> np.ndarray:
        """Keras' rule: the special ids weigh the mean idf (an OOV token's cannot be known)."""
        mean = weights.mean() if len(weights) else 0.0
        return np.concatenate([np.full(self._token_start(), mean, np.float32), weights])

    def _rebuild_index(self) -> None:
        start = self._token_start()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}

    # -- adapt ---------------------------------------------------------------------------------
    def _token_rows(self, data: Any) -> list[list[Any]]:
        """Each sample's tokens."""
        array = np.asarray(data, dtype=object)
        if array.ndim == 0:
            array = array.reshape(1)
        rows = array.reshape(len(array), -1) if array.ndim > 1 else array.reshape(-1, 1)
        return [[self._key(t) for t in row] for row in rows.tolist()]

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and document frequencies for 'tf_idf') from ``data``: an
        array or list of samples, or an iterable of batches (a dataset's, ``(x, y)`` pairs
        included, of which x is read)."""
        if self._given_vocabulary:
            raise ValueError(
                f"{self.describe()}: cannot adapt a layer whose vocabulary was set "
                "(the vocabulary argument or set_vocabulary)."
            )
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        total = 0
        for part in self._parts(data, steps):
            for row in self._token_rows(part):
                kept = [t for t in row if t != self.mask_token and t != self.oov_token]
                counts.update(kept)
                documents.update(set(kept))
                total += 1
        if not counts:
            raise ValueError(f"{self.describe()}: adapt found no tokens in the data.")
        # Keras' order: by count, most frequent first; ties in reverse token order.
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[: self.max_tokens - self._token_start()]
        self._tokens = [token for token, _ in ordered]
        if self.output_mode == "tf_idf":
            frequency = np.array([documents[t] for t in self._tokens], np.float64)
            self._idf = self._with_oov_idf(np.log(1 + total / (1 + frequency)).astype(np.float32))
        self._rebuild_index()
        self.built = True

    @staticmethod
    def _parts(data: Any, steps: int | None) -> Iterable[Any]:
        """The batches of samples in ``data``: itself, or a dataset's (``len`` and indexing,
        as a PyDataset) or an iterator's, up to ``steps``; of ``(x, y)`` batches, x."""
        if isinstance(data, (str, bytes, np.ndarray, list, tuple)):
            return [data]
        if is_dataset(data) and not is_iterator(data):
            dataset = data
            data = (dataset[i] for i in range(len(dataset)))
        parts = []
        for i, part in enumerate(data):
            if steps is not None and i >= steps:
                break
            parts.append(part[0] if isinstance(part, tuple) else part)
        return parts

    # -- calling -------------------------------------------------------------------------------
    def _ids(self, rows: list[list[Any]]) -> list[list[int]]:
        """Each row's tokens as ids; the mask token is 0 in 'int' mode and dropped in the
        others; an unknown token is the OOV id (an error without one)."""
        oov = 1 if self._masks_in_output() else 0
        out = []
        for row in rows:
            ids = []
            for token in row:
                if self.mask_token is not None and token == self.mask_token:
                    if self._masks_in_output():
                        ids.append(0)
                    continue
                found = self._index.get(token)
                if found is None:
                    if not self.num_oov_indices:
                        raise ValueError(
                            f"{self.describe()}: with num_oov_indices=0 every input must be in "
                            f"the vocabulary; {token!r} is not."
                        )
                    found = oov
                ids.append(found)
            out.append(ids)
        return out

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _encode(self, ids: list[list[int]], one_per_sample: bool) -> np.ndarray:
        """The vectors of the non-'int' modes, one row per sample."""
        if self.vocabulary_size() == self._token_start() and not self.pad_to_max_tokens:
            raise RuntimeError(
                f"{self.describe()}: output_mode='{self.output_mode}' needs a vocabulary: pass "
                "one, or call adapt first."
            )
        if self.output_mode == "one_hot" and not one_per_sample:
            raise ValueError(
                f"{self.describe()}: output_mode='one_hot' takes one token per sample, shape "
                "(batch,) or (batch, 1)."
            )
        out = id_vectors(ids, self._depth(), self.output_mode in ("count", "tf_idf"))
        if self.output_mode == "tf_idf":
            weights = np.zeros(self._depth(), np.float32)
            weights[: len(self._idf)] = self._idf
            out *= weights
        return out

    def on_data(self, inputs: Any) -> np.ndarray:
        array = np.asarray(inputs, dtype=object)
        if self.invert:
            return self._inverted(inputs)
        rows = self._token_rows(array)
        ids = self._ids(rows)
        if self.output_mode == "int":
            return np.array(ids, np.int64).reshape(array.shape)
        return self._encode(ids, one_per_sample=array.ndim <= 1 or array.shape[1:] == (1,))

    def _inverted(self, inputs: Any) -> np.ndarray:
        ids = np.asarray(inputs)
        vocabulary = self.get_vocabulary()
        if ids.size and (ids.min() < 0 or ids.max() >= len(vocabulary)):
            raise ValueError(
                f"{self.describe()}: ids must be in [0, {len(vocabulary)}); got values from "
                f"{ids.min()} to {ids.max()}."
            )
        out = np.empty(ids.shape, dtype=object)
        out.reshape(-1)[:] = [vocabulary[i] for i in ids.reshape(-1).tolist()]
        return out

    def get_config(self) -> dict[str, Any]:
        """The arguments, with the vocabulary (learned or given) and idf weights, so that a
        config rebuilds the same layer."""
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "vocabulary": list(self._tokens) if self._tokens else None,
            "idf_weights": (
                self._idf[self._token_start() :].tolist() if self._idf is not None else None
            ),
            "invert": self.invert,
            "output_mode": self.output_mode,
            "pad_to_max_tokens": self.pad_to_max_tokens,
        }


class StringLookup(_IndexLookup):
    """Keras' StringLookup: strings to ids (or vectors) from a vocabulary; id 0 is the OOV
    token '[UNK]' (after the mask token, when one is set, in 'int' mode); ``invert=True``
    maps ids back to strings."""

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: str | None = None,
        oov_token: str = "[UNK]",
        vocabulary: Any = None,
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        sparse: bool = False,
        encoding: str = "utf-8",
        **kwargs: Any,
    ) -> None:
        self.encoding = encoding
        super().__init__(
            max_tokens,
            num_oov_indices,
            mask_token,
            oov_token,
            vocabulary,
            idf_weights,
            invert,
            output_mode,
            pad_to_max_tokens,
            sparse,
            **kwargs,
        )

    def _key(self, token: Any) -> Any:
        return token.decode(self.encoding) if isinstance(token, bytes) else str(token)


class IntegerLookup(_IndexLookup):
    """Keras' IntegerLookup: integer tokens to ids (or vectors); the OOV token is -1."""

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: int | None = None,
        oov_token: int = -1,
        vocabulary: Any = None,
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            max_tokens,
            num_oov_indices,
            mask_token,
            oov_token,
            vocabulary,
            idf_weights,
            invert,
            output_mode,
            pad_to_max_tokens,
            sparse,
            **kwargs,
        )

    def _key(self, token: Any) -> Any:
        if isinstance(token, (bool, float)) or not isinstance(token, (int, np.integer)):
            raise TypeError(f"{self.describe()} takes integer tokens; got {token!r}.")
        return int(token)


STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")


class TextVectorization(StringLookup):
    """Keras' TextVectorization: each text standardized (``"lower_and_strip_punctuation"``:
    lower case, Keras' ASCII punctuation removed), split into tokens (``"whitespace"`` or
    ``"character"``), optionally joined into n-grams, and looked up: 'int' gives (batch,
    steps) ids (0 pads, 1 is '[UNK]'; ``output_sequence_length`` pads or cuts each row to that
    length, else rows pad to the longest), 'multi_hot', 'count' and 'tf_idf' one vector per
    text. Standardize and split may also be functions of one string."""

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: str | Callable[[str], str] | None = "lower_and_strip_punctuation",
        split: str | Callable[[str], list[str]] | None = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        **kwargs: Any,
    ) -> None:
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(
                "TextVectorization: output_mode must be one of int, multi_hot, count, tf_idf; "
                f"got {output_mode!r}."
            )
        if standardize is not None and not callable(standardize) and standardize not in STANDARDIZE:
            raise ValueError(
                f"TextVectorization: standardize must be None, a function or one of "
                f"{', '.join(STANDARDIZE)}; got {standardize!r}."
            )
        if split is not None and not callable(split) and split not in SPLIT:
            raise ValueError(
                f"TextVectorization: split must be None, a function or one of "
                f"{', '.join(SPLIT)}; got {split!r}."
            )
        if ragged:
            raise ValueError("TextVectorization: ragged outputs are not available.")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("TextVectorization: output_sequence_length is for output_mode='int'.")
        self.standardize, self.split = standardize, split
        widths = (
            None
            if ngrams is None
            else (
                tuple(range(1, positive_int(ngrams, "TextVectorization: ngrams") + 1))
                if isinstance(ngrams, (int, np.integer))
                else tuple(positive_int(n, "TextVectorization: ngrams") for n in ngrams)
            )
        )
        self.ngrams, self._widths = ngrams, widths
        self.output_sequence_length = (
            None
            if output_sequence_length is None
            else positive_int(output_sequence_length, "TextVectorization: output_sequence_length")
        )
        super().__init__(
            max_tokens=max_tokens,
            mask_token="",
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            encoding=encoding,
            **kwargs,
        )

    def _tokens_of(self, text: Any) -> list[str]:
        text = text.decode(self.encoding) if isinstance(text, bytes) else str(text)
        if callable(self.standardize):
            text = self.standardize(text)
        elif self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = PUNCTUATION.sub("", text)
        if self.split is None:
            tokens = [text]
        elif callable(self.split):
            tokens = list(self.split(text))
        elif self.split == "whitespace":
            tokens = text.split()
        else:
            tokens = list(text)
        if self._widths is None:
            return tokens
        return [
            " ".join(tokens[i : i + n]) for n in self._widths for i in range(len(tokens) - n + 1)
        ]

    def _token_rows(self, data: Any) -> list[list[Any]]:
        """Each text's tokens (texts of shape (batch,) or (batch, 1))."""
        array = np.asarray(data, dtype=object)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(
                f"{self.describe()} takes texts of shape (batch,) or (batch, 1); got {array.shape}."
            )
        return [self._tokens_of(text) for text in array.tolist()]

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == "int":  # ids of each text's tokens: the longest row's count
            self.output_dtype = "int64"
            return (self.output_sequence_length,)
        return super().compute_output_shape(input_shape)

    def on_data(self, inputs: Any) -> np.ndarray:
        ids = self._ids(self._token_rows(inputs))
        if self.output_mode != "int":
            return self._encode(ids, one_per_sample=False)
        length = self.output_sequence_length or max((len(row) for row in ids), default=0)
        out = np.zeros((len(ids), length), np.int64)
        for row, sample in zip(out, ids, strict=True):
            kept = sample[:length]
            row[: len(kept)] = kept
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("num_oov_indices", "mask_token", "oov_token", "invert"):
            config.pop(key)
        if callable(self.standardize) or callable(self.split):
            raise ValueError(
                f"{self.describe()}: a standardize or split function is Python code, which a "
                "config cannot hold."
            )
        return {
            **config,
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": self.ngrams,
            "output_sequence_length": self.output_sequence_length,
        }


TEXT_LAYERS = (StringLookup, IntegerLookup, TextVectorization)
