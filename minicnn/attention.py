"""Attention, as Keras has it: ``MultiHeadAttention`` (Vaswani et al.) and ``Attention``
(dot-product, Luong-style) over (batch, steps, features), and ``Permute``; with the two
differentiable operations they need, a transpose and a batched product."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend, constraints, initializers, regularizers
from . import functions as F
from .autograd import Function, Tensor
from .data_checks import positive_int
from .layer_base import Layer, Shape, is_symbolic

MASKED = -1e9  # added to the scores a causal mask hides: softmax gives them no weight


class Transpose(Function):
    """The axes of x in the order ``axes`` (NumPy's transpose)."""

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x: Any) -> Any:
        return backend.get_array_module(x).transpose(x, self.axes)

    def backward(self, grad: Any) -> Any:
        return backend.get_array_module(grad).transpose(grad, tuple(np.argsort(self.axes)))


def transpose(x: Any, axes: tuple[int, ...]) -> Tensor:
    return Transpose(axes)(x)


def _causal_mask(xp: Any, queries: int, keys: int, dtype: Any) -> Any:
    """0 where query step i may see key step j <= i, MASKED above the diagonal (made on the
    device: no copy from the host)."""
    rows = xp.arange(queries)[:, None]
    cols = xp.arange(keys)[None, :]
    return xp.where(cols > rows, dtype.type(MASKED), dtype.type(0))


def dot_scores(query: Tensor, key: Tensor) -> Tensor:
    """Luong's scores: query key^T over the last two axes."""
    return F.matmul(query, transpose(key, (*range(key.ndim - 2), key.ndim - 1, key.ndim - 2)))


def additive_scores(query: Tensor, key: Tensor, scale: Any = None) -> Tensor:
    """Bahdanau's scores: sum over features of ``scale * tanh(query_i + key_j)``, for every
    query step i and key step j: (batch, Tq, Tv)."""
    from . import ops

    pairs = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
    return ops.sum(pairs if scale is None else pairs * scale, axis=-1)


def attention_weights(
    scores: Tensor, causal: bool, keep: Any = None, zero_hidden: bool = False
) -> Tensor:
    """softmax(scores) over the last axis, the scores that ``keep`` (booleans, Keras'
    attention mask, broadcast against them) or the causal mask hide given no weight (each
    hidden score MASKED once, as Keras adds it). ``zero_hidden``: a query that sees no key
    gets no weights at all, as Keras' Softmax layer gives them (else uniform weights, as its
    fused dot_product_attention gives them)."""
    xp = backend.get_array_module(scores.data)
    if causal and keep is None:
        scores = F.add(scores, _causal_mask(xp, scores.shape[-2], scores.shape[-1], scores.dtype))
    elif keep is not None:
        if causal:
            rows = xp.arange(scores.shape[-2])[:, None]
            keep = keep & (xp.arange(scores.shape[-1])[None, :] <= rows)
        hidden = xp.where(keep, scores.dtype.type(0), scores.dtype.type(MASKED))
        scores = F.add(scores, hidden)
    weights = F.softmax(scores)
    if zero_hidden and keep is not None:
        weights = weights * Tensor(keep.any(axis=-1, keepdims=True).astype(weights.dtype))
    return weights


def _dropped(
    weights: Tensor, dropout: float, training: bool, generator: np.random.Generator | None
) -> Tensor:
    if training and dropout:
        return F.dropout(weights, dropout, training=True, generator=generator)
    return weights


def _sequences(shapes: list[Shape], owner: str, count: tuple[int, ...]) -> None:
    if len(shapes) not in count or any(len(s) != 2 for s in shapes):
        raise ValueError(
            f"{owner} takes [query, value] or [query, value, key], each of shape (batch, steps, "
            f"features); got {[(None, *s) for s in shapes]}."
        )


def erases_input_masks(layer: Any) -> bool:
    """Keras' MultiHeadAttention (not GroupQueryAttention) erases the masks of the tensors
    it reads, so that the calls after it that read them find none."""
    return isinstance(layer, MultiHeadAttention) and not isinstance(layer, GroupQueryAttention)


class _AttentionLayer(Layer):
    """Keras' call: ``layer(query, value)``, ``layer(query, value, key)`` or a list of them;
    ``use_causal_mask=True`` lets query step i see key steps up to i only."""

    takes_list = True
    # A model's graph hands it the padding masks of its inputs (query, value, key), as Keras.
    reads_list_masks = True
    supports_masking = True
    # Keras' call argument kept with each call in a model's graph: the output, then the
    # attention weights.
    call_arguments = ("return_attention_scores",)
    # Keras' names of the inputs' masks given to a call (MultiHeadAttention's: one each).
    MASK_ARGUMENTS: tuple[str, ...] = ("mask",)

    def masked_call(self, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        return self.call(x, training, masks=list(mask), **kwargs)

    def compute_mask(self, x: Any, mask: Any = None, return_attention_scores: bool = False) -> Any:
        """The query's padding mask goes on with the output, as Keras' (the weights have
        none)."""
        query_mask = mask[0] if isinstance(mask, (list, tuple)) else None
        return [query_mask, None] if return_attention_scores else query_mask

    def call_output_shape(self, input_shape: Any, kwargs: dict[str, Any]) -> Any:
        """With ``return_attention_scores``: the output's shape and the weights'; with an
        attention mask among the inputs, the shape without it."""
        if kwargs.get("attention_mask") is True:
            input_shape = list(input_shape)[:-1]
        elif not kwargs.get("return_attention_scores"):
            return None
        if not self.built:
            self._build_for_graph(input_shape)
        out = self.compute_output_shape(input_shape)
        if kwargs.get("return_attention_scores"):
            return (out, self.scores_shape(input_shape))
        return out

    def _call_on_list(
        self, inputs: list[Any], training: bool | None, kwargs: dict | None = None
    ) -> Any:
        if (kwargs or {}).get("attention_mask") is True and not is_symbolic(inputs):
            # the mask, the last input of a graph's call, taken out of the layer's inputs
            *inputs, mask_input = inputs
            masks = (kwargs or {}).get("mask")
            kwargs = {**(kwargs or {}), "attention_mask": mask_input}
            if masks is not None:
                kwargs["mask"] = list(masks)[: len(inputs)]
        return super()._call_on_list(inputs, training, kwargs)

    def _connect(self, x: Any, kwargs: dict | None = None) -> Any:
        """With ``return_attention_scores``, two tensors (the output, the weights), each a
        SelectOutput of the layer's node, as Keras' call gives a tuple."""
        result = super()._connect(x, kwargs) if kwargs else super()._connect(x)
        if not (kwargs or {}).get("return_attention_scores"):
            return result
        from .models import SelectOutput

        return tuple(
            SelectOutput(i, name=backend.unique_name(f"{self.name}_{part}"))(result)
            for i, part in enumerate(("output", "scores"))
        )

    def __init__(self, dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ValueError(f"{self.describe()}: dropout must be a number in [0, 1).")
        if not 0 <= dropout < 1:
            raise ValueError(f"{self.describe()}: dropout must be in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)
        self.use_causal_mask = False
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def __call__(
        self,
        query: Any,
        value: Any = None,
        key: Any = None,
        training: bool | None = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
        **masks: Any,
    ) -> Any:
        """Keras' call. The inputs' padding masks come with them (an Embedding's with
        ``mask_zero``), or as Keras' arguments: ``mask=[query_mask, value_mask]``
        (Attention), ``query_mask``, ``value_mask``, ``key_mask`` and ``attention_mask``
        (MultiHeadAttention). ``return_attention_scores``: (output, weights)."""
        unknown = sorted(set(masks) - set(self.MASK_ARGUMENTS))
        if unknown:
            raise TypeError(f"{self.describe()} got unexpected call arguments {unknown}.")
        if isinstance(query, (list, tuple)) and value is None:
            inputs = list(query)  # Keras' call on a list, as a model's graph hands them over
            if use_causal_mask:  # the graph's later calls leave the layer's choice as it is
                self.use_causal_mask = True
        else:
            if value is None:
                raise TypeError(f"{self.describe()} needs a query and a value.")
            inputs = [query, value] + ([key] if key is not None else [])
            self.use_causal_mask = bool(use_causal_mask)
        kwargs: dict[str, Any] = {}
        if return_attention_scores:
            kwargs["return_attention_scores"] = True
        attention_mask = masks.pop("attention_mask", None)
        # attention_mask=True: a model's graph's call, whose last input is the mask.
        tensors = inputs[:-1] if attention_mask is True else inputs
        given = self._given_masks(tensors, masks)
        if given is not None:
            if is_symbolic(inputs):
                raise TypeError(
                    f"{self.describe()}: in a model's graph the padding masks come with the "
                    "inputs (an Embedding with mask_zero=True, Masking), not as arguments."
                )
            kwargs["mask"] = given
        if attention_mask is True:
            kwargs["attention_mask"] = True
        elif attention_mask is not None and is_symbolic(inputs):
            if not is_symbolic(attention_mask):
                raise TypeError(
                    f"{self.describe()}: in a model's graph, attention_mask must be a tensor "
                    "of the graph (an Input, or computed from one)."
                )
            # In a model's graph the mask is an input of the call, its last, marked by
            # attention_mask=True in the graph's config (Keras' file: the argument's tensor).
            kwargs["attention_mask"] = True
            inputs = [*inputs, attention_mask]
        elif attention_mask is not None:
            kwargs["attention_mask"] = attention_mask
        out = self._call_on_list(inputs, training, kwargs)
        if erases_input_masks(self) and not is_symbolic(inputs):
            for tensor in tensors:  # as Keras' MultiHeadAttention does to its inputs
                if isinstance(tensor, Tensor):
                    tensor._keras_mask = None
        return out

    def _given_masks(self, inputs: list[Any], masks: dict[str, Any]) -> list[Any] | None:
        """The inputs' masks as Keras' arguments give them, the others those the inputs
        carry; None when no argument gives one."""
        listed = masks.get("mask")
        if listed is not None:
            if not isinstance(listed, (list, tuple)) or len(listed) not in (2, 3):
                raise ValueError(
                    f"{self.describe()}: mask must be a list [query_mask, value_mask], got "
                    f"{type(listed).__name__}."
                )
            listed = list(listed)
        else:
            # Keras 3.15's MultiHeadAttention reads the query's mask from the query alone
            # (its call replaces the query_mask argument by the one the query carries).
            named = [None, masks.get("value_mask"), masks.get("key_mask")]
            if all(m is None for m in named):
                return None
            listed = named
        carried = [getattr(t, "_keras_mask", None) for t in inputs]
        carried += [None] * (len(listed) - len(carried))  # a key's mask, the value the key
        return [g if g is not None else c for g, c in zip(listed, carried, strict=False)]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "dropout": self.dropout,
            "seed": self.seed,
            # Keras' is an argument of the call; a config holds it only where it is set.
            **({"use_causal_mask": True} if self.use_causal_mask else {}),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _AttentionLayer:
        config = dict(config)
        causal = config.pop("use_causal_mask", False)
        layer = cls(**config)
        layer.use_causal_mask = bool(causal)
        return layer


class MultiHeadAttention(_AttentionLayer):
    """Keras' MultiHeadAttention: query, key and value projected into ``num_heads`` heads of
    ``key_dim`` (values: ``value_dim``) features, scaled dot-product attention in each head,
    and the heads projected back to the query's features (or ``output_shape``). Weights as
    Keras': query, key and value kernels (features, heads, dim) with biases (heads, dim), then
    the output kernel (heads, value_dim, out) and bias (out,)."""

    _keras_defaults = {"sliding_window": None, "use_gate": False}
    _lists_activity_regularizer = True

    shape_arguments = ("value_shape", "key_shape")  # Keras' build(query_shape, value_shape)

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: int | None = None,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        attention_axes: Any = None,
        flash_attention: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(dropout=dropout, **kwargs)
        owner = self.describe()
        axes = (attention_axes,) if isinstance(attention_axes, int) else attention_axes
        if axes is not None and (
            not isinstance(axes, (list, tuple))
            or not axes
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
        ):
            raise ValueError(
                f"{owner}: attention_axes must be an int, a list of ints or None; got "
                f"{attention_axes!r}."
            )
        # Keras' axes of the input (the batch's counted) attention runs over; None: every
        # axis between the batch and the features.
        self.attention_axes = None if axes is None else list(axes)
        if flash_attention:
            raise ValueError(
                f"{owner}: flash_attention=True asks for fused attention kernels, which "
                "minicnn does not call; leave it None or False."
            )
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.num_heads = positive_int(num_heads, f"{owner}: num_heads")
        self.key_dim = positive_int(key_dim, f"{owner}: key_dim")
        self.value_dim = positive_int(value_dim or key_dim, f"{owner}: value_dim")
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            output_shape = output_shape[0] if len(output_shape) == 1 else output_shape
        self.output_dim = (
            None if output_shape is None else positive_int(output_shape, f"{owner}: output_shape")
        )
        self._init_names = {
            "kernel_initializer": initializers.config_of(kernel_initializer),
            "bias_initializer": initializers.config_of(bias_initializer),
        }
        self._initializers = {k: initializers.get(v) for k, v in self._init_names.items()}
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.key_value_heads = self.num_heads  # fewer in GroupQueryAttention

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        owner = self.describe()
        if len(input_shape) not in (2, 3) or any(len(s) < 2 for s in input_shape):
            raise ValueError(
                f"{owner} takes [query, value] or [query, value, key], each of shape (batch, "
                f"*steps, features); got {[(None, *s) for s in input_shape]}."
            )
        if len({len(s) for s in input_shape}) != 1:
            raise ValueError(f"{owner}: query, value and key must have as many axes.")
        query = input_shape[0]
        kept = self._kept_axes(len(query) + 1)
        for other in input_shape[1:]:
            if any(other[a - 1] != query[a - 1] for a in kept):
                raise ValueError(
                    f"{owner}: the axes attention does not run over must agree; query "
                    f"{(None, *query)}, value or key {(None, *other)}."
                )
        return (*query[:-1], self.output_dim or query[-1])

    def _attention_axes(self, rank: int) -> list[int]:
        """The axes (of an input of ``rank`` axes) attention runs over."""
        if self.attention_axes is None:
            return list(range(1, rank - 1))
        axes = sorted({a % rank for a in self.attention_axes})
        if any(not 1 <= a < rank - 1 for a in axes) or any(
            not -rank <= a < rank for a in self.attention_axes
        ):
            raise ValueError(
                f"{self.describe()}: attention_axes {self.attention_axes} must lie between "
                f"the batch and the features of inputs of {rank} axes."
            )
        return axes

    def _kept_axes(self, rank: int) -> list[int]:
        """The axes between the batch and the features that attention does not run over
        (each index a batch of its own)."""
        attended = self._attention_axes(rank)
        return [a for a in range(1, rank - 1) if a not in attended]

    def _create_weights(self, input_shape: list[Shape]) -> list[np.ndarray]:
        # Keras' build makes a Softmax and a Dropout layer, which take those names next.
        backend.unique_name("softmax"), backend.unique_name("dropout")
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        heads, out = self.num_heads, self.output_dim or query[-1]
        kernel = self._initializers["kernel_initializer"]
        bias = self._initializers["bias_initializer"]
        shared = self.key_value_heads
        sizes = (
            (query[-1], heads, self.key_dim),
            (key[-1], shared, self.key_dim),
            (value[-1], shared, self.value_dim),
        )
        weights = []
        for features, count, dim in sizes:
            weights.append(kernel((features, count, dim)))
            if self.use_bias:
                weights.append(bias((count, dim)))
        weights.append(kernel((heads, self.value_dim, out)))
        if self.use_bias:
            weights.append(bias((out,)))
        return weights

    OUTPUT_NAME = "attention_output"  # Keras' name of the output projection
    MASK_ARGUMENTS = ("query_mask", "value_mask", "key_mask", "attention_mask")

    def _weight_names(self) -> list[str]:
        """Keras' sublayers' paths: query/kernel, query/bias, key/..., value/..., and the
        output projection's."""
        names = []
        for part in ("query", "key", "value", self.OUTPUT_NAME):
            names += [f"{part}/kernel"] + ([f"{part}/bias"] if self.use_bias else [])
        return names

    def _project(self, x: Tensor, kernel: Tensor, bias: Any) -> Tensor:
        """(batch, *steps, features) -> (batch * kept, heads, attended, dim): the kept axes'
        indices batched, the attended axes' positions in one row."""
        features, heads, dim = kernel.shape
        rows = F.reshape(x, (-1, features))
        flat = F.linear(rows, F.reshape(kernel, (features, heads * dim)), bias)
        split = F.reshape(flat, (*x.shape[:-1], heads, dim))
        rank = x.ndim
        attended, kept = self._attention_axes(rank), self._kept_axes(rank)
        order = (0, *kept, rank - 1, *attended, rank)  # batch, kept, heads, attended, dim
        moved = transpose(split, order) if order != tuple(range(rank + 1)) else split
        batch = x.shape[0] * math.prod(x.shape[a] for a in kept)
        return F.reshape(moved, (batch, heads, math.prod(x.shape[a] for a in attended), dim))

    def _unproject(self, heads: Tensor, query: Tensor) -> Tensor:
        """(batch * kept, heads, attended, dim) -> rows (batch * steps, heads * dim) in the
        query's order of axes."""
        rank = query.ndim
        attended, kept = self._attention_axes(rank), self._kept_axes(rank)
        count, dim = heads.shape[1], heads.shape[3]
        shape = (
            query.shape[0],
            *(query.shape[a] for a in kept),
            count,
            *(query.shape[a] for a in attended),
            dim,
        )
        order = (0, *kept, rank - 1, *attended, rank)
        back = [order.index(a) for a in range(rank - 1)] + [order.index(rank - 1), rank]
        steps = transpose(F.reshape(heads, shape), tuple(back))  # batch, *steps, heads, dim
        return F.reshape(steps, (-1, count * dim))

    def scores_shape(self, input_shape: list[Shape]) -> Shape:
        """The attention weights' shape (batch left out), as Keras': the axes attention does
        not run over, the heads, the query's attended axes, then the key's."""
        query = input_shape[0]
        key = input_shape[2] if len(input_shape) == 3 else input_shape[1]
        rank = len(query) + 1
        kept = [query[a - 1] for a in self._kept_axes(rank)]
        attended = self._attention_axes(rank)
        return (
            *kept,
            self.num_heads,
            *(query[a - 1] for a in attended),
            *(key[a - 1] for a in attended),
        )

    def _keep(
        self, masks: Any, rank: int, attention_mask: Any, mask_shape: tuple[int, ...], like: Tensor
    ) -> Any:
        """Keras' attention mask from the inputs' padding masks and ``attention_mask``:
        query position i may look at key position j where all of them keep it, shaped
        (batch * kept, 1, Tq, Tk) as the heads' scores are; None without any."""
        keep = None
        if attention_mask is not None:
            keep = self._given_attention_mask(attention_mask, rank, mask_shape, like)
        if not masks or all(m is None for m in masks):
            return keep
        if rank != 3 or self._attention_axes(rank) != [1]:
            raise ValueError(
                f"{self.describe()}: padding masks apply to attention over the steps of "
                "(batch, steps, features) inputs."
            )
        query_mask, value_mask = masks[0], masks[1]
        key_mask = masks[2] if len(masks) > 2 else value_mask
        padding = None if query_mask is None else query_mask[:, :, None].astype(bool)
        for other in (value_mask, key_mask):
            if other is not None:
                seen = other[:, None, :].astype(bool)
                padding = seen if padding is None else padding & seen
        padding = padding[:, None]  # one mask for every head
        return padding if keep is None else keep & padding

    def _given_attention_mask(
        self, attention_mask: Any, rank: int, expected: tuple[int, ...], like: Tensor
    ) -> Any:
        """A call's ``attention_mask`` (batch, Tq, Tk), or on inputs of more axes (batch,
        *kept, *query's attended, *key's attended), as the heads' scores take it."""
        xp = backend.get_array_module(like.data)
        data = attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask
        data = (
            backend.to_device(np.asarray(data), backend.device_of(like.data))
            if isinstance(data, np.ndarray)
            else xp.asarray(data)
        )
        data = data > 0.5 if data.dtype != bool else data  # Keras keeps values above 0.5
        try:
            full = xp.broadcast_to(data, expected)
        except ValueError:
            raise ValueError(
                f"{self.describe()}: attention_mask of shape {tuple(data.shape)} does not fit "
                f"the scores' {expected} (batch, *query positions, *key positions)."
            ) from None
        kept = len(self._kept_axes(rank))
        batch = math.prod(expected[: 1 + kept])
        attended = len(self._attention_axes(rank))
        queries = math.prod(expected[1 + kept : 1 + kept + attended])
        return full.reshape(batch, 1, queries, -1)

    def call(
        self,
        inputs: list[Tensor],
        training: bool,
        masks: Any = None,
        attention_mask: Any = None,
        return_attention_scores: bool = False,
    ) -> Any:
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        xp = backend.get_array_module(query.data)
        weights = list(self._weights)
        rank = query.ndim
        attended = self._attention_axes(rank)
        mask_shape = (
            query.shape[0],
            *(query.shape[a] for a in self._kept_axes(rank)),
            *(query.shape[a] for a in attended),
            *(key.shape[a] for a in attended),
        )
        keep = self._keep(masks, rank, attention_mask, mask_shape, query)

        def bias_of(shape: tuple[int, ...]) -> Any:
            if self.use_bias:
                return F.reshape(weights.pop(0), (math.prod(shape),))
            return xp.zeros(math.prod(shape), dtype=query.dtype)

        projected = []
        for x in (query, key, value):
            kernel = weights.pop(0)
            projected.append(self._project(x, kernel, bias_of(kernel.shape[1:])))
        q, k, v = projected
        if self.key_value_heads != self.num_heads:  # each shared head serves a group in turn
            from . import ops

            group = self.num_heads // self.key_value_heads
            k, v = (ops.repeat(t, group, axis=1) for t in (k, v))
        q = q * (1.0 / math.sqrt(self.key_dim))
        if self.use_causal_mask and len(self._attention_axes(query.ndim)) != 1:
            raise ValueError(
                f"{self.describe()}: use_causal_mask needs attention over one axis; it runs "
                f"over {self._attention_axes(query.ndim)}."
            )
        # Keras' Softmax layer (not its fused attention) gives a query that sees no key no
        # weights: with dropout, with the weights returned, or over several axes.
        softmax_layer = bool(self.dropout) or return_attention_scores or rank != 3
        attention = attention_weights(dot_scores(q, k), self.use_causal_mask, keep, softmax_layer)
        heads = F.matmul(_dropped(attention, self.dropout, training, self._generator), v)
        joined = self._unproject(heads, query)
        kernel = weights.pop(0)
        out_dim = kernel.shape[2]
        bias = weights.pop(0) if self.use_bias else xp.zeros(out_dim, dtype=query.dtype)
        out = F.reshape(
            F.linear(joined, F.reshape(kernel, (-1, out_dim)), bias), (*query.shape[:-1], out_dim)
        )
        if not return_attention_scores:
            return out
        return out, self._scores_as_keras(attention, query, key)

    def _scores_as_keras(self, attention: Tensor, query: Tensor, key: Tensor) -> Tensor:
        """(batch * kept, heads, Tq, Tk) -> Keras' (batch, *kept, heads, *Tq axes, *Tk axes)."""
        rank = query.ndim
        kept, attended = self._kept_axes(rank), self._attention_axes(rank)
        return F.reshape(
            attention,
            (
                query.shape[0],
                *(query.shape[a] for a in kept),
                attention.shape[1],
                *(query.shape[a] for a in attended),
                *(key.shape[a] for a in attended),
            ),
        )

    def _attach_constraints(self) -> None:
        for i, weight in enumerate(self._weights):
            is_bias = self.use_bias and i % 2 == 1
            weight.constraint = self.bias_constraint if is_bias else self.kernel_constraint

    @property
    def losses(self) -> list[Tensor]:
        step = 2 if self.use_bias else 1
        kernels = [(self.kernel_regularizer, i * step) for i in range(4)]
        biases = [(self.bias_regularizer, i * 2 + 1) for i in range(4)] if self.use_bias else []
        return self._penalties(kernels + biases)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "use_bias": self.use_bias,
            "output_shape": None if self.output_dim is None else (self.output_dim,),
            "attention_axes": self.attention_axes,
            **self._init_names,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class GroupQueryAttention(MultiHeadAttention):
    """Keras' GroupQueryAttention (Ainslie et al.): ``num_query_heads`` heads of queries of
    ``head_dim`` features share ``num_key_value_heads`` heads of keys and values, each of
    these serving a group of consecutive query heads (one: multi-query attention; as many:
    multi-head). The output has the query's features. Weights as Keras': the query kernel
    (features, query heads, head_dim) and bias, the key's and value's (features, key-value
    heads, head_dim) and biases, then the output kernel (query heads, head_dim, features)
    and bias."""

    OUTPUT_NAME = "output_dense"

    def __init__(
        self,
        head_dim: int,
        num_query_heads: int,
        num_key_value_heads: int,
        dropout: float = 0.0,
        use_bias: bool = True,
        flash_attention: bool | None = None,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_heads=num_query_heads,
            key_dim=head_dim,
            dropout=dropout,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            flash_attention=flash_attention,
            **kwargs,
        )
        owner = self.describe()
        shared = positive_int(num_key_value_heads, f"{owner}: num_key_value_heads")
        if self.num_heads % shared:
            raise ValueError(
                f"{owner}: num_query_heads ({self.num_heads}) must be a multiple of "
                f"num_key_value_heads ({shared})."
            )
        self.key_value_heads = shared

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("num_heads", "key_dim", "value_dim", "output_shape", "attention_axes"):
            del config[key]
        return {
            **config,
            "head_dim": self.key_dim,
            "num_query_heads": self.num_heads,
            "num_key_value_heads": self.key_value_heads,
        }


class Attention(_AttentionLayer):
    """Keras' Attention: softmax(scores) value. ``score_mode="dot"`` (Luong): the scores are
    query key^T, times a learned scalar with ``use_scale``; ``"concat"``: a learned scalar
    times the sum over features of tanh(query_i + key_j) (inside it, times the scale with
    ``use_scale``), as Keras computes it. The query's and key's features must agree."""

    SCORE_MODES = ("dot", "concat")

    def _weight_names(self) -> list[str]:
        names = ["scale"] if self.use_scale else []
        return names + (["concat_score_weight"] if self.score_mode == "concat" else [])

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score_mode not in self.SCORE_MODES:
            raise ValueError(
                f"{self.describe()}: score_mode must be one of {', '.join(self.SCORE_MODES)}; "
                f"got {score_mode!r}."
            )
        self.use_scale, self.score_mode = bool(use_scale), score_mode

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        _sequences(input_shape, self.describe(), (2, 3))
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if query[1] != key[1] or key[0] != value[0]:
            raise ValueError(
                f"{self.describe()}: the query's and key's features, and the key's and value's "
                f"steps, must agree; got {[(None, *s) for s in input_shape]}."
            )
        return (query[0], value[1])

    def _create_weights(self, input_shape: list[Shape]) -> list[np.ndarray]:
        scale = [np.ones((), backend.FLOAT)] if self.use_scale else []  # Keras' order
        return scale + ([np.ones((), backend.FLOAT)] if self.score_mode == "concat" else [])

    def scores(self, query: Tensor, key: Tensor) -> Tensor:
        """(batch, Tq, Tv): how much each query step attends to each key step, unnormalized."""
        scale = self._weights[0] if self.use_scale else None
        if self.score_mode == "concat":
            concat_weight = self._weights[-1]
            inside = query if scale is None else query * scale
            outside = key if scale is None else key * scale
            return additive_scores(inside, outside) * concat_weight
        product = dot_scores(query, key)
        return product if scale is None else product * scale

    def scores_shape(self, input_shape: list[Shape]) -> Shape:
        """The attention weights' shape (batch left out): (Tq, Tv)."""
        return (input_shape[0][0], input_shape[1][0])

    def call(
        self,
        inputs: list[Tensor],
        training: bool,
        masks: Any = None,
        return_attention_scores: bool = False,
    ) -> Any:
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        query_mask, value_mask = (masks or [None, None])[:2]
        keep = None if value_mask is None else value_mask[:, None, :].astype(bool)
        attention = attention_weights(self.scores(query, key), self.use_causal_mask, keep)
        # Keras returns the weights its dropout left.
        attention = _dropped(attention, self.dropout, training, self._generator)
        out = F.matmul(attention, value)
        if query_mask is not None:  # Keras zeroes the padded queries' results
            out = out * Tensor(query_mask[..., None].astype(out.dtype))
        return (out, attention) if return_attention_scores else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
        }


class AdditiveAttention(Attention):
    """Keras' AdditiveAttention (Bahdanau): softmax(scores) value with scores the sum over
    features of ``scale * tanh(query_i + key_j)``; with ``use_scale`` (the default) the
    scale is a learned vector of the features (Keras' glorot_uniform at first)."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def _create_weights(self, input_shape: list[Shape]) -> list[np.ndarray]:
        features = input_shape[0][-1]
        if not self.use_scale:
            return []
        return [initializers.get("glorot_uniform")((features,)).astype(backend.FLOAT)]

    def scores(self, query: Tensor, key: Tensor) -> Tensor:
        return additive_scores(query, key, self._weights[0] if self.use_scale else None)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config


class Permute(Layer):
    """Keras' Permute: the sample axes in the order ``dims`` (1-based; the batch stays)."""

    keeps_dtype = True

    def __init__(self, dims: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"{self.describe()}: dims must order the sample axes 1..{len(dims)}, got {dims}."
            )
        self.dims = dims

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != len(self.dims):
            raise ValueError(
                f"{self.describe()}: dims {self.dims} for samples of shape {input_shape}."
            )
        return tuple(input_shape[d - 1] for d in self.dims)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return transpose(x, (0, *self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": tuple(self.dims)}
