"""The base of every layer: shapes, weights (trainable or not), config and calling; and the
symbolic tensors of functional models: ``Input``, the shape of one sample, and what a layer
called on one gives."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import activations, backend, constraints, initializers, regularizers
from .autograd import Tensor
from .data_checks import fits, has_unknown, positive_int, shape_text
from .name_scopes import current_path, joined, name_scope

Shape = tuple[int, ...]

# A layer called with its input by name (``layer(inputs=x)``): __call__'s x not given.
_NO_INPUT: Any = object()


_HOW_MANY = {1: "a 1-tuple", 2: "a pair of them", 3: "three of them"}
_SPATIAL_AXES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


def positive_sizes(value: Any, what: str, layer: str, rank: int) -> tuple[int, ...]:
    """One positive int per spatial axis (an int stands for all ``rank`` of them)."""
    sizes = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(sizes) != rank or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in sizes
    ):
        raise ValueError(
            f"{layer}: {what} must be a positive int or {_HOW_MANY[rank]}, got {value!r}."
        )
    return tuple(int(v) for v in sizes)


def _positive_pair(value: Any, what: str, layer: str) -> tuple[int, int]:
    return positive_sizes(value, what, layer, 2)  # type: ignore[return-value]


def _padding(value: Any, layer: str) -> str:
    padding = str(value).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {value!r}.")
    return padding


def require_spatial(input_shape: Shape, layer: str, kind: str, rank: int) -> None:
    """An error unless one sample is ``rank`` spatial axes and channels."""
    if len(input_shape) != rank + 1:
        raise ValueError(
            f"{layer} expects input of shape (batch, {_SPATIAL_AXES[rank]}, channels); "
            f"got {(None, *input_shape)}. {kind} cannot follow Flatten or Dense."
        )


def channels_last(value: Any, layer: str) -> str:
    """Keras' ``data_format``: 'channels_last' (Keras' default, minicnn's own layout) or
    'channels_first' (PyTorch's NCHW; the layer moves the channels last and back)."""
    if value is None:
        from .config import image_data_format

        return image_data_format()  # Keras' global default
    if value in ("channels_last", "channels_first"):
        return value
    raise ValueError(
        f"{layer}: data_format must be 'channels_last' or 'channels_first', got {value!r}."
    )


def attach_masks(out: Any, out_mask: Any) -> None:
    """Eager outputs carry their masks as ``_keras_mask`` (one each for a list of them)."""
    outs = out if isinstance(out, (list, tuple)) else [out]
    masks = out_mask if isinstance(out_mask, (list, tuple)) else [out_mask] * len(outs)
    for tensor, mask in zip(outs, masks, strict=False):
        if isinstance(tensor, Tensor) and mask is not None:
            tensor._keras_mask = mask


def _channel_last_order(ndim: int, channel: int) -> tuple[int, ...]:
    """The axes that move axis ``channel`` of an ``ndim``-array to the end."""
    return (*(a for a in range(ndim) if a != channel), channel)


def _channel_back(out_ndim: int, spatial: int) -> int | None:
    """Where the channels go back in an output of ``out_ndim`` axes (batch included): before
    as many spatial axes as the input had; None for an output without them (a flat one)."""
    return out_ndim - 1 - spatial if out_ndim >= spatial + 2 else None


def _channels_back(out: Any, spatial: int) -> Any:
    """An output (or list of them) with its channels moved back before its spatial axes."""
    from .ops import transpose

    if isinstance(out, (list, tuple)):
        return [_channels_back(o, spatial) for o in out]
    where = _channel_back(out.ndim, spatial)
    if where is None:
        return out
    order = list(range(out.ndim - 1))
    order.insert(where, out.ndim - 1)
    return transpose(out, tuple(order))


def _channels_first_call(layer: Any, x: Any, training: bool = False) -> Any:
    """A channels_first layer's call: every input (the sequence, and a ConvLSTM's initial
    states after it) with its channels moved last, and the outputs' moved back."""
    from .ops import transpose

    items = list(x) if isinstance(x, (list, tuple)) else [x]
    spatial = items[0].ndim - layer.channels_first_axis - 2
    moved = [transpose(t, _channel_last_order(t.ndim, t.ndim - spatial - 1)) for t in items]
    given = moved if isinstance(x, (list, tuple)) else moved[0]
    return _channels_back(type(layer).call(layer, given, training), spatial)


def _is_shape_list(input_shape: Any) -> bool:
    """Whether ``input_shape`` is a list of shapes (a layer called on several inputs)."""
    return (
        isinstance(input_shape, list)
        and bool(input_shape)
        and isinstance(input_shape[0], (list, tuple))
    )


def _channels_first_sample_shape(layer: Any, input_shape: Any) -> Any:
    main = input_shape[0] if _is_shape_list(input_shape) else input_shape
    spatial = len(main) - layer.channels_first_axis - 1
    given = input_shape if _is_shape_list(input_shape) else tuple(input_shape)
    out = type(layer).compute_output_shape(layer, layer._channels_last_shape(given))
    if isinstance(out, list):
        return [_to_channels_first(o, spatial) for o in out]
    return _to_channels_first(out, spatial)


def _to_channels_first(shape: Shape, spatial: int) -> Shape:
    """A channels-last sample shape in channels-first order (a flat one as it is)."""
    where = _channel_back(len(shape) + 1, spatial)
    if where is None:
        return tuple(shape)
    rest = list(shape[:-1])
    rest.insert(where - 1, shape[-1])
    return tuple(rest)


def checked_noise_shape(value: Any, layer: str) -> tuple[Any, ...] | None:
    """Keras' noise_shape of a dropout: positive ints or None (the input's size) per axis."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in value
    ):
        raise ValueError(
            f"{layer}: noise_shape must be a tuple of positive ints or None, got {value!r}."
        )
    return tuple(value)


def resolved_noise_shape(
    noise_shape: tuple[Any, ...] | None, shape: tuple[int, ...], layer: str
) -> tuple[int, ...] | None:
    """The drop pattern's shape for an input of ``shape``: noise_shape's None axes as the
    input's; each axis must be 1 or the input's size, so that it broadcasts."""
    if noise_shape is None:
        return None
    if len(noise_shape) != len(shape):
        raise ValueError(
            f"{layer}: noise_shape {noise_shape} does not match the input's rank {len(shape)} "
            f"(shape {shape})."
        )
    resolved = tuple(
        size if given is None else given for given, size in zip(noise_shape, shape, strict=True)
    )
    if any(d not in (1, size) for d, size in zip(resolved, shape, strict=True)):
        raise ValueError(
            f"{layer}: noise_shape {noise_shape} does not broadcast to the input's shape {shape}."
        )
    return resolved


def _require_image(input_shape: Shape, layer: str, kind: str) -> None:
    require_spatial(input_shape, layer, kind, 2)


def groups_of(value: Any, filters: int, layer: str) -> int:
    """Keras' ``groups``: a positive int that divides the filters (the input channels are
    checked when the layer is built)."""
    groups = positive_int(value, f"{layer}: groups")
    if filters % groups:
        raise ValueError(f"{layer}: filters ({filters}) must be divisible by groups ({groups}).")
    return groups


def grouped_channels(input_channels: int, groups: int, layer: str) -> int:
    """The input channels each group reads."""
    if input_channels % groups:
        raise ValueError(
            f"{layer}: the input's {input_channels} channels must be divisible by groups "
            f"({groups})."
        )
    return input_channels // groups


class Layer:
    """Base class: a name, a build step that creates weights from the input shape, and a call."""

    # How many of the weights, counted from the end, are state rather than parameters: updated
    # by the layer itself, never by the optimizer (BatchNormalization's moving statistics).
    state_weight_count = 0
    # Keras' masks (which steps of a sequence are padding): a layer that supports them hands
    # its input's mask on unchanged, unless it reads it (``masked_call``) or makes its own
    # (``compute_mask``); one that does not drops it.
    supports_masking = False
    # Where the layer sits among the scopes (Keras' parent path): fixed when it first opens
    # its scope or names its weights; None until then.
    _parent_path: str | None = None
    # What Keras keeps as an op of a functional graph, not a layer (``x + y``, ``ops.relu(x)``,
    # ``x[:, 0]``): in the model's ``operations`` and its summary, not in its ``layers``.
    keras_operation = False
    # Whether its output holds its input's entries, moved (Flatten, Reshape): of their dtype.
    keeps_dtype = False
    # The names of the input shapes after the first that Keras' build and
    # compute_output_shape take one by one (MultiHeadAttention's value_shape, key_shape).
    shape_arguments: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A layer written by a user, as in Keras' guide "Making new layers via
        subclassing": its ``build`` (which calls ``add_weight``) gets minicnn's bookkeeping
        around it, and a ``call(inputs)`` without ``training`` is called without it."""
        super().__init_subclass__(**kwargs)
        own = cls.__module__.startswith("minicnn.")
        if "compute_output_shape" in cls.__dict__:
            compute = cls.__dict__["compute_output_shape"]
            if own:
                cls.compute_output_shape = _taking_keras_shapes(_with_unknown_sizes(compute))
            else:
                cls.compute_output_shape = _in_keras_shapes(compute)
        model = getattr(cls, "is_model", False)  # a model's build takes Keras' shapes itself
        if own and "build" in cls.__dict__ and not model:
            cls.build = _taking_keras_shapes(cls.__dict__["build"])
        if own and "call" in cls.__dict__:
            cls.call = _in_sample_shapes(_training_optional(cls.__dict__["call"]), True)
        if own and "__call__" in cls.__dict__:
            cls.__call__ = _in_sample_shapes(cls.__dict__["__call__"], True)
        if model and not own and "call" in cls.__dict__:  # a subclassed model's, the user's
            cls.call = _in_sample_shapes(cls.__dict__["call"], False)
        if own or model:
            return  # minicnn's own layers, and models (their build and call are Model's)
        cls._tracks_layers = True
        if "build" in cls.__dict__:
            cls.build = _keeping_books(cls.__dict__["build"])
        if "call" in cls.__dict__:
            user_call = _dict_restored(cls.__dict__["call"])
            parameters = inspect.signature(user_call).parameters
            positional = [
                p
                for name, p in list(parameters.items())[1:]
                if name not in ("training", "mask")
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            if sum(p.default is p.empty for p in positional) >= 2:
                # Keras' call(targets, logits, sample_weights=None): tensors one by one.
                cls._spreads_inputs = cls.takes_list = True
                cls._spread_names = tuple(p.name for p in positional)
                cls.call = _in_sample_shapes(_spreading(user_call, "training" in parameters), False)
                return
            if len(positional) >= 2:
                # call(logits, targets=None, sample_weight=None): one tensor, or several
                # (an instance called with several is spread from then on).
                cls._spread_names = tuple(p.name for p in positional)
                cls._spread_defaults = {
                    p.name: p.default for p in positional if p.default is not p.empty
                }
            if "mask" in parameters:  # Keras' call(inputs, mask=None): it reads masks
                masked = _with_mask(user_call, "training" in parameters)
                cls.masked_call = _in_sample_shapes(masked, False)
                cls._reads_user_mask = True
                cls.reads_list_masks = True  # called on a list, it gets a mask each
            if not takes_keyword(user_call, "training"):
                cls.call = _without_training(user_call)
            if cls._spread_names:
                spread = _spreading(user_call, "training" in parameters)
                cls.call = _spread_or_plain(cls.call, spread)
            cls.call = _in_sample_shapes(cls.call, False)

    # Whether the layer takes Keras' ``data_format`` (the layers on images and volumes).
    takes_data_format = False
    # Keras' quantization mode ("int8" or "int4" once quantized; see minicnn.quantization),
    # and int4's block size (None: a scale per unit).
    quantization_mode: str | None = None
    quantization_block_size: int | None = None
    # Whether it is a user's layer whose ``call`` takes ``mask`` (its shape probe gives one).
    _reads_user_mask = False
    # Whether it is a user's layer whose ``call`` takes several tensors one by one (Keras'
    # ``endpoint(targets, logits, sample_weight)``): they arrive as a list and are spread.
    _spreads_inputs = False
    _spread_names: tuple[str, ...] = ()
    _spread_defaults: dict[str, Any] = {}
    # Keras' arguments that this layer computes at Keras' default only: its config records
    # them, as Keras' does, construction takes them back at that value, and refuses another.
    _keras_defaults: dict[str, Any] = {}  # (CHANNELS_LAST_ONLY: the image layers')
    # Whether the config lists activity_regularizer when there is none, as Keras' configs
    # of its convolutions, recurrent layers, embeddings and attention do (its Dense's not).
    _lists_activity_regularizer = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        layer = super().__new__(cls)
        if not cls.__module__.startswith("minicnn."):  # a user's class: Keras' automatic config
            layer.__dict__["_init_arguments"] = init_arguments(cls, args, kwargs)
        return layer

    def __init__(
        self,
        name: str | None = None,
        input_shape: Shape | None = None,
        trainable: bool = True,
        activity_regularizer: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        from .mixed_precision import global_policy, layer_policy

        # As in Keras, a layer keeps the global policy of the time it was made.
        self._dtype_policy = layer_policy(dtype) or global_policy()
        self.quantization_mode = getattr(self._dtype_policy, "quantization_mode", None)
        if self.quantization_mode == "int4":  # Keras' -1 (and the older int4 name's None)
            block = self._dtype_policy.block_size  # mean a scale per unit
            self.quantization_block_size = None if block in (None, -1) else block
        if self.quantization_mode and not hasattr(self, "quantize"):
            raise ValueError(
                f"{type(self).__name__} cannot be quantized (dtype {dtype!r}); Dense, "
                "EinsumDense and Embedding can."
            )
        if self.takes_data_format:
            self.data_format = channels_last(
                kwargs.pop("data_format", None), f"{type(self).__name__} '{name or ''}'"
            )
            if self.data_format == "channels_first":
                self._wrap_channels_first()
        for key, default in {**self._keras_defaults, "autocast": True}.items():
            if key in kwargs:
                _take_keras_default(type(self).__name__, key, kwargs.pop(key), default)
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self.input_shape_hint = tuple(input_shape) if input_shape is not None else None
        self.built = False
        self._trainable = bool(trainable)
        self.sample_input_shape: Shape | None = None
        self.sample_output_shape: Shape | None = None
        self._weights: list[Tensor] = []
        # add_weight's: which of them stay out of training, and their regularizers.
        self._frozen_weights: set[int] = set()
        self._added_weights: set[int] = set()  # add_weight's and Variables, not build's
        self._made_frozen: set[int] = set()  # of those, the ones made non-trainable
        self._weight_penalties: list[tuple[Any, Tensor]] = []
        # add_loss's, from the last forward pass (Keras' activity losses).
        self._call_losses: list[Tensor] = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
        # Where build() puts the weights; a model sets it, a lone layer takes its input's.
        self.device = "cpu"

    def __repr__(self) -> str:
        """Keras' ``<Dense name=dense, built=True>``."""
        kind = getattr(self, "keras_class_name", None) or type(self).__name__
        return f"<{kind} name={self.name}, built={self.built}>"

    # -- layers inside a user's layer ------------------------------------------------------------
    # Whether layers assigned as attributes are tracked (a user's layer, as Keras tracks them;
    # minicnn's own containers hold their inner layers' weights themselves).
    _tracks_layers = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._tracks_layers:
            if isinstance(value, dict):  # a dict of layers, as Keras tracks it
                items = list(value.values())
            else:
                items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                self._track_item(item)
            if type(value) is list:  # what is appended later is tracked too, as in Keras
                value = TrackedList(value, self._track_item)
            elif type(value) is dict:  # and what is set in a dict later
                value = TrackedDict(value, self._track_item)
        super().__setattr__(name, value)

    def _track_item(self, item: Any) -> None:
        """A user's layer keeps what its code assigns: layers, metrics and variables."""
        tracked = self.__dict__.setdefault("_tracked_layers", [])
        if isinstance(item, Layer) and all(item is not t for t in tracked):
            tracked.append(item)
        elif getattr(item, "is_metric", False):  # Keras: its layer's metrics
            metrics = self.__dict__.setdefault("_tracked_metrics", [])
            if all(item is not m for m in metrics):
                metrics.append(item)
        elif getattr(item, "is_variable", False) and "_weights" in self.__dict__:
            self._hold_variable(item)

    @property
    def metrics(self) -> list[Any]:
        """Keras' ``layer.metrics``: the metrics a user's layer keeps as attributes (and
        those of the layers it holds), which it updates in ``call``; a model logs them."""
        found = list(self.__dict__.get("_tracked_metrics", []))
        for layer in self.__dict__.get("_tracked_layers", []):
            found.extend(layer.metrics)
        return found

    def _hold_variable(self, variable: Tensor) -> None:
        """A Keras Variable kept as an attribute is one of the layer's weights."""
        if any(variable is w for w in self._weights):
            return
        variable.data = backend.to_device(variable.data, self.device)
        self._add_own_weight(variable, variable.trainable)

    def _add_own_weight(self, weight: Tensor, trainable: bool) -> None:
        """A weight added besides those ``build`` makes (add_weight's, a Variable's): marked
        trainable or not, and named now if the layer is built (LoRA's come later)."""
        weight.requires_grad = trainable and self._trainable
        if not trainable:
            self._frozen_weights.add(id(weight))
            if not self.built or self.__dict__.get("_inside_user_build"):
                # Keras lists it after the trainable ones (quantization's, made later, keep
                # their places: Keras makes a quantized layer's variables anew, in that order)
                self._made_frozen.add(id(weight))
        self._weights.append(weight)
        self._added_weights.add(id(weight))
        if self.built:
            self._name_weights()

    def _hold_tracked_weights(self, input_shape: Any) -> None:
        """A user's layer holds the weights of the layers it keeps as attributes, after its
        own (Keras' ``layer.weights``); a sublayer not built yet is built by running the layer
        once on zeros, as Keras' first call builds it."""
        tracked = self.__dict__.get("_tracked_layers", [])
        if not tracked:
            return
        if not all(t.built for t in tracked):
            sizes_found(self._probed_output_shape, input_shape)
        held = {id(w) for w in self._weights}
        self._weights += [w for t in tracked for w in t.weights if id(w) not in held]

    # -- data_format='channels_first' -------------------------------------------------------
    # Where the channels sit in a channels-first sample (after the time axis of a ConvLSTM).
    channels_first_axis = 0

    def _channels_last_shape(self, input_shape: Any) -> Any:
        """A sample shape as the layer computes with it: the channels last."""
        if getattr(self, "data_format", "channels_last") != "channels_first":
            return input_shape
        if _is_shape_list(input_shape):  # the sequence, then states without its time axis
            spatial = len(input_shape[0]) - self.channels_first_axis - 1
            return [
                tuple(s[a] for a in _channel_last_order(len(s), len(s) - spatial - 1))
                for s in input_shape
            ]
        order = _channel_last_order(len(input_shape), self.channels_first_axis)
        return tuple(input_shape[a] for a in order)

    def _wrap_channels_first(self) -> None:
        """Keras' channels_first: this layer's call and output shape take and give the
        channels at ``channels_first_axis``, moving them last (minicnn's layout) and back.
        (Partials of module functions, not closures, so that a copy of the layer calls
        itself.)"""
        self.call = functools.partial(_channels_first_call, self)
        self.compute_output_shape = functools.partial(_channels_first_shape, self)

    def describe(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    def symbolic_dtype(self, input_dtypes: list[str]) -> str:
        """The dtype of what the layer gives for inputs of ``input_dtypes`` in a graph (Keras'
        output spec): its inputs' where it only moves entries, else float32."""
        if self.keeps_dtype and input_dtypes:
            return input_dtypes[0]
        return np.dtype(backend.FLOAT).name

    # -- shapes and weights --------------------------------------------------------------------
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        raise NotImplementedError

    def build(self, input_shape: Any) -> None:
        """Check the input shape (a list of shapes for a layer that takes a list), create
        the weights, and remember both shapes."""
        input_shape = self._as_input_shape(input_shape)
        # The shape first: it checks the input before any weight is made for it.
        own_shape = _gives_output_shape(type(self))
        if own_shape:
            self.sample_output_shape = self.compute_output_shape(input_shape)
        # Initial weights are drawn on the host from minicnn's one generator, so a seed gives the
        # same model on every device.
        arrays = self._create_weights(self._channels_last_shape(input_shape))
        # The layer's own weights first (its call finds them by place), then those added in
        # __init__ (add_weight's, a Variable a subclass keeps).
        added = list(self._weights)
        self._weights = [Tensor(backend.to_device(w, self.device)) for w in arrays] + added
        if arrays and added:  # Keras lists these first, as they were made first
            self._weights_before_build = {id(w) for w in added}
        self.sample_input_shape = input_shape
        # Called by a user's build as super().build() (first, as Keras' guides do), the call
        # may read weights that build makes after: the user's build's wrapper finds the
        # output shape and the sublayers' weights once it returns.
        inside_user_build = self.__dict__.get("_inside_user_build", False)
        if not own_shape and not inside_user_build:
            self.sample_output_shape = self._output_shape_for(input_shape)
        if not inside_user_build:
            self._hold_tracked_weights(input_shape)
        self._attach_constraints()
        self._name_weights()
        self._place_constants()
        self.built = True
        self._settle_trainable()

    def _attach_constraints(self) -> None:
        """Give the weights their constraints (a layer with ``kernel_constraint`` etc.)."""

    def _output_shape_for(self, input_shape: Any) -> Shape:
        """``compute_output_shape``, or, for a layer of the user's that has none (Keras does
        not ask for it), the shape its call gives one sample of zeros."""
        with _shapes_mode(True):
            if _gives_output_shape(type(self)):
                return self.compute_output_shape(input_shape)
            return sizes_found(self._probed_output_shape, input_shape)

    def _probed_output_shape(self, input_shape: Shape, kwargs: dict | None = None) -> Shape:
        """The shape of what ``call`` gives one sample of zeros (no graph recorded)."""
        from .autograd import no_grad

        shapes = input_shape if self.takes_list else [input_shape]
        probes = [
            Tensor(backend.to_device(np.zeros((1, *shape), backend.FLOAT), self.device))
            for shape in shapes
        ]
        with no_grad():
            if self._reads_user_mask and not self.takes_list and len(input_shape) >= 1:
                keep = backend.xp_for(self.device).ones((1, input_shape[0]), bool)
                out = self.masked_call(probes[0], False, keep, **(kwargs or {}))  # all kept
            else:
                out = self.call(probes if self.takes_list else probes[0], False, **(kwargs or {}))
        if isinstance(out, (tuple, list)):  # several outputs: a shape each
            return tuple(tuple((o if isinstance(o, Tensor) else Tensor(o)).shape[1:]) for o in out)
        return tuple((out if isinstance(out, Tensor) else Tensor(out)).shape[1:])

    def _as_input_shape(self, input_shape: Any) -> Any:
        """A shape as ints and Nones (a list of them for a layer that takes a list)."""
        input_shape = from_keras_shapes(input_shape)
        if self.takes_list:
            return [sample_shape(shape) for shape in input_shape]
        return sample_shape(input_shape)

    def add_weight(
        self,
        shape: Any = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """A new weight of the layer, as Keras' ``add_weight``: ``initializer`` by name
        ('glorot_uniform' by default, 'zeros', 'random_normal', ...) or a function of the
        shape; ``trainable=False`` keeps it out of training (a statistic the layer updates);
        ``regularizer`` adds its penalty to ``layer.losses``. Keep it as an attribute and
        use it in ``call``."""
        unknown = set(kwargs) - {"autocast", "aggregation", "synchronization"}
        if unknown:
            raise TypeError(f"{self.describe()}: add_weight got unknown arguments {unknown}.")
        shape = tuple(int(d) for d in (shape or ()))
        if callable(initializer):
            values = initializer(shape)
        else:
            values = initializers.get(initializer or "glorot_uniform")(shape)
        values = np.asarray(values, dtype=dtype or backend.FLOAT)
        # Named and placed now, as Keras' are: "variable", "variable_1", ... across all layers,
        # under the layer's path, or under the open scope before the layer has a place.
        weight = Tensor(
            backend.to_device(values, self.device), name=name or backend.unique_name("variable")
        )
        scope = self._parent_path if self._parent_path is not None else current_path()
        weight.path = joined(scope, self.name, weight.name)
        weight.scope = scope
        weight.constraint = constraints.get(constraint)
        if regularizer is not None:
            self._weight_penalties.append((regularizers.get(regularizer), weight))
        self._add_own_weight(weight, bool(trainable))
        return weight

    add_variable = add_weight

    def to(self, device: str) -> None:
        """Move the weights to 'cpu' or 'gpu'; later builds create them there."""
        self.device = device
        for w in self._weights:
            w.data = backend.to_device(w.data, device)
        for layer in self.__dict__.get("_tracked_layers", ()):
            layer.to(device)
        self._place_constants()

    def _place_constants(self) -> None:
        """Put the arrays the layer computes with besides its weights (a given mean, a
        per-channel scale, an op's constant) on ``self.device``; ``build`` and ``to`` call
        it, so that a step copies nothing to a GPU (and can be captured in a CUDA graph)."""

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        return []

    # Keras' names of the weights ``_create_weights`` makes, in order. A name whose flag
    # (OPTIONAL_WEIGHTS) is off on the layer is left out: Dense(use_bias=False) has a kernel
    # alone, BatchNormalization(scale=False) no gamma.
    WEIGHT_NAMES: tuple[str, ...] = ()
    OPTIONAL_WEIGHTS = {"bias": "use_bias", "gamma": "scale", "beta": "center"}

    def _weight_names(self) -> list[str]:
        return [
            name
            for name in self.WEIGHT_NAMES
            if getattr(self, self.OPTIONAL_WEIGHTS.get(name, ""), True) is not False
        ]

    def _name_weights(self) -> None:
        """Give the layer's own weights Keras' names and paths ("dense/kernel", under the
        scopes the layer sits in): the class's names for what ``_create_weights`` made,
        else "variable", "variable_1", ... (a layer inside another keeps the names its own
        build gave)."""
        self._fix_parent_path()
        unnamed = [w for w in self._weights if w.name is None]
        names = self._weight_names()
        if len(names) != len(unnamed):
            names = [backend.unique_name("variable") for _ in unnamed]
        for weight, name in zip(unnamed, names, strict=True):
            # "query/kernel": a weight of Keras' sublayer "query", named "kernel"
            weight.name = name.rsplit("/", 1)[-1]
            weight.path = f"{self.path}/{name}"
        for weight in self._weights:
            if weight.path is None:
                weight.path = f"{self.path}/{weight.name}"
            if weight.scope is None:
                weight.scope = self._parent_path

    def _fix_parent_path(self) -> None:
        if self._parent_path is None:
            self._parent_path = current_path()

    def _name_scope(self) -> name_scope:
        """The layer's scope: what it builds while this is open sits under its path."""
        return name_scope(self.name, caller=self)

    def __getattr__(self, name: str) -> Any:
        # Keras' weight attributes: dense.kernel, batch_norm.moving_mean, embedding.embeddings
        if not name.startswith("_"):
            weights = self.__dict__.get("_weights", ())
            for weight in weights:
                if weight.name == name:
                    return weight
            # In build, before the weights are named (a subclass's call that the output
            # shape's probe runs reads self.kernel): the class's name for the place.
            unnamed = name in self.WEIGHT_NAMES and weights and weights[0].name is None
            names = self._weight_names() if unnamed else []
            if name in names and names.index(name) < len(weights):
                return weights[names.index(name)]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def weights(self) -> list[Tensor]:
        """Every weight, in Keras' order: the layer's own made trainable, then those made
        not, each as they were made (a Variable of ``__init__`` before build's), then its
        sublayers'. Internally build's weights come first, where the layer's call finds
        them by place."""
        early = self.__dict__.get("_weights_before_build") or set()
        made_frozen = self.__dict__.get("_made_frozen") or set()
        if not early and not made_frozen:  # build's own order is Keras' already
            return list(self._weights)
        # Keras lists a layer's own variables made trainable, then those made not (each in
        # the order they were made), then its sublayers'.
        held = {id(w) for layer in self._inner_layers() for w in layer.weights}
        own = [w for w in self._weights if id(w) not in held]
        made_in_order = [w for w in own if id(w) in early] + [w for w in own if id(w) not in early]
        built = [w for w in own if id(w) not in self._added_weights]
        count = self.state_weight_count
        later = {id(w) for w in built[len(built) - count :]} if count else set()
        later |= made_frozen
        return (
            [w for w in made_in_order if id(w) not in later]
            + [w for w in made_in_order if id(w) in later]
            + [w for w in self._weights if id(w) in held]
        )

    # Keras' Dense, EinsumDense, Embedding and convolutions save only the weights they make
    # themselves: a Variable a subclass adds in __init__ is that subclass's to save.
    saves_own_weights_only = False

    def _saved_weights(self) -> list[Tensor]:
        """The weights Keras' default ``save_own_variables`` stores, in its order."""
        if not self.saves_own_weights_only:
            return Layer.weights.fget(self)
        early = self.__dict__.get("_weights_before_build", ())
        return [w for w in self._weights if id(w) not in early]

    @property
    def trainable(self) -> bool:
        """Whether the optimizer updates this layer's weights (``layer.trainable = False``
        freezes them; compile again afterwards, as in Keras)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freezing or unfreezing a layer does the same to the layers inside it, as in Keras."""
        self._trainable = bool(value)
        for layer in self._inner_layers():
            layer.trainable = value
        self._mark_trainable()

    def _inner_layers(self) -> list[Layer]:
        """The layers whose weights this one holds (a wrapper's, a pipeline's, a user's
        layer's attributes): each marks its own weights, moving statistics and other state
        included."""
        return list(self.__dict__.get("_tracked_layers", ()))

    def _mark_trainable(self) -> None:
        """Which of the layer's own weights the optimizer updates: the parameters of a
        trainable layer, never its state (the last ``state_weight_count``)."""
        held = {id(w) for layer in self._inner_layers() for w in layer.weights}
        own = [w for w in self._weights if id(w) not in held]
        added = self.__dict__.get("_added_weights", set())
        made = [w for w in own if id(w) not in added]  # made by build, its state last
        state = {id(w) for w in made[len(made) - self.state_weight_count :]}
        if not self.state_weight_count:
            state = set()
        for w in own:
            w.requires_grad = (
                self._trainable and id(w) not in state and id(w) not in self._frozen_weights
            )

    def _settle_trainable(self) -> None:
        """After a build: a frozen layer freezes the layers inside it (built unfrozen), and
        its own weights get their marks; an inner layer frozen by itself stays frozen."""
        if not self._trainable:
            for layer in self._inner_layers():
                layer.trainable = False
        self._mark_trainable()

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [w for w in Layer.weights.fget(self) if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        return [w for w in Layer.weights.fget(self) if not w.requires_grad]

    # Keras 3's names of the same lists (a model's too, through its own ``weights``).
    @property
    def variables(self) -> list[Tensor]:
        return self.weights

    @property
    def trainable_variables(self) -> list[Tensor]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Tensor]:
        return self.non_trainable_weights

    # Keras' dtype attributes: minicnn keeps and computes everything in float32.
    @property
    def dtype(self) -> str:
        from .config import floatx

        return floatx()

    compute_dtype = variable_dtype = dtype

    @property
    def dtype_policy(self) -> Any:
        from .mixed_precision import Policy, global_policy

        if self.quantization_mode:
            from .mixed_precision import quantized_policy_name

            return Policy(
                quantized_policy_name(self.quantization_mode, self.quantization_block_size)
            )
        return self.__dict__.get("_dtype_policy") or global_policy()

    @property
    def path(self) -> str:
        """Keras' layer path: its name under the scopes it was first built or called in
        ("sequential/dense"; a layer of a functional model has its name alone)."""
        return joined(self._parent_path or "", self.name)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickling (and ``copy.deepcopy``) a layer keeps what a model file keeps of it: its
        config, its build and its state (``save_own_variables``), as Keras' layers pickle.
        A layer whose config cannot rebuild it (a Lambda of a Python lambda) is refused."""
        if not self.serializable:
            raise TypeError(f"{self.describe()} cannot be pickled: its config cannot rebuild it.")
        store: dict[str, Any] = {}
        if self.built:
            self.save_own_variables(store)
        built = self.get_build_config() if self.built else None
        return (_unpickled_layer, (type(self), self.get_config(), built, store, self.device))

    def get_build_config(self) -> dict[str, Any] | None:
        """Keras' build config: the input shape (batch axis None), or None before a build."""
        if self.sample_input_shape is None:
            return None
        if self.__dict__.get("_build_takes_no_shape"):  # a user's build(self), as Keras'
            return {"shapes_dict": {}}
        arguments = self.__dict__.get("_build_arguments")
        if arguments:  # a user's build(input_shape, layer_init): each argument, as Keras
            return {"shapes_dict": dict(arguments)}
        if isinstance(self.sample_input_shape, list):  # several inputs
            return {"input_shape": [(None, *shape) for shape in self.sample_input_shape]}
        return {"input_shape": (None, *self.sample_input_shape)}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Build for ``get_build_config``'s input shape."""
        if not config:
            return
        if config.get("shapes_dict") == {}:  # a user's build(self): its first call builds it
            return
        if "shapes_dict" in config:  # Keras' record of a build of several arguments
            with self._name_scope():
                self.build(**config["shapes_dict"])
            return
        shape = config["input_shape"]
        if isinstance(shape, dict):  # built on a dict of tensors: their shapes by key
            self.__dict__.setdefault("_input_dict_keys", sorted(shape))
            self.__dict__.setdefault("_input_dict_order", list(shape))
            self.takes_list = True
            shape = [shape[k] for k in sorted(shape)]
        if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
            self._build_sample_shape([tuple(s)[1:] for s in shape])
        else:
            self._build_sample_shape(tuple(shape)[1:])

    def _build_sample_shape(self, input_shape: Any) -> None:
        """``build`` for a sample's shape (a model's ``build`` takes Keras' batch shapes)."""
        with _shapes_mode(True), self._name_scope():
            self.build(input_shape)

    # -- Keras' saving hooks ---------------------------------------------------------------------
    def save_own_variables(self, store: dict[str, Any]) -> None:
        """Keras' hook: the layer's state into ``store`` (by default each weight, "0", "1",
        ...). A layer that replaces it (state beyond its weights) has its store saved with
        the model, and ``load_own_variables`` reads it back."""
        for i, array in enumerate(self._stored_arrays()):
            store[str(i)] = array

    def _stored_arrays(self) -> list[np.ndarray]:
        """Copies of the arrays Keras stores for this layer, in its order."""
        return [backend.to_numpy(w.data).copy() for w in self._saved_weights()]

    def _loaded_weights(self) -> list[Tensor]:
        """The weights ``load_own_variables`` fills from a store, in its order."""
        return self._saved_weights()

    def load_own_variables(self, store: dict[str, Any]) -> None:
        """Keras' hook: the layer's state from what ``save_own_variables`` stored."""
        weights = self._loaded_weights()
        if len(store) != len(weights):
            raise ValueError(
                f"{self.describe()} expects {len(weights)} variables, got {len(store)}."
            )
        for i, weight in enumerate(weights):
            weight.assign(store[str(i)])

    def count_params(self) -> int:
        return int(sum(w.data.size for w in self._weights))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as NumPy arrays, in Keras layout."""
        return [backend.to_numpy(w.data).copy() for w in Layer.weights.fget(self)]

    def set_weights(self, weights: list[Any]) -> None:
        if not self.built:
            raise ValueError(f"{self.describe()} is not built yet; it has no weights to set.")
        if len(weights) != len(self._weights):
            raise ValueError(
                f"{self.describe()} expects {len(self._weights)} weight arrays, got {len(weights)}."
            )
        ordered = Layer.weights.fget(self)
        new = []
        for i, (old, w) in enumerate(zip(ordered, weights, strict=True)):
            w = np.asarray(backend.to_numpy(w))
            if w.shape != old.shape:
                raise ValueError(
                    f"{self.describe()}: weight {i} must have shape {old.shape}, got {w.shape}."
                )
            new.append(w)
        device = backend.device_of(self._weights[0].data) if self._weights else "cpu"
        for old, w in zip(ordered, new, strict=True):
            # Written into the weight's own array, as Keras assigns a variable: training (and a
            # captured CUDA graph) holds that array; and a copy, so the caller's arrays and the
            # model's never share memory.
            old.data[...] = backend.to_device(w.astype(old.data.dtype, copy=False), device)

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The layer's config, as Keras' ``get_config``. A user's class without a
        get_config of its own gets Keras' automatic one: the arguments it was made with (its
        __init__'s defaults filled in), where they are plain values."""
        from .dtype_policies import serialize

        config: dict[str, Any] = {"name": self.name}
        if "_init_arguments" in self.__dict__ and type(self).get_config is Layer.get_config:
            config.update(self._automatic_config())
            parameters = inspect.signature(type(self).__init__).parameters
            takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
            if "name" not in parameters and not takes_kwargs:
                del config["name"]  # as Keras: its __init__ could not take it back
        config.update(trainable=self.trainable, dtype=serialize(self.dtype_policy))
        if self.takes_data_format:
            config["data_format"] = self.data_format
        if self.activity_regularizer is not None or self._lists_activity_regularizer:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return {**config, **self._keras_defaults}

    def _automatic_config(self) -> dict[str, Any]:
        captured = self.__dict__["_init_arguments"]
        if captured is None and not _configs_tolerated:
            raise NotImplementedError(
                f"Layer {type(self).__name__} was made with arguments that Keras' automatic "
                "config cannot hold (positional *args, or values other than str, int, float, "
                "bool, None and lists, tuples and dicts of them). Give its class a get_config "
                "of its __init__'s arguments, as in Keras:\n"
                "    def get_config(self):\n"
                '        return {**super().get_config(), "units": self.units}'
            )
        return captured or {}

    # -- losses made by a call ------------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Keras' ``add_loss``, inside ``call``: a scalar Tensor that the model adds to the
        loss of this forward pass (``layer.losses`` holds it until the next pass)."""
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise ValueError(
                f"{self.describe()}: add_loss takes a scalar Tensor computed in call(); got "
                f"{loss!r}."
            )
        self._call_losses.append(loss)

    def _clear_losses(self) -> None:
        self._call_losses = []
        for layer in self.__dict__.get("_tracked_layers", ()):
            layer._clear_losses()

    def _regularized(self, out: Any) -> Any:
        """The output, after adding its activity penalty (Keras divides it by the batch)."""
        if self.activity_regularizer is not None and isinstance(out, Tensor):
            self.add_loss(self.activity_regularizer(out) / out.shape[0])
        return out

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        try:
            return cls(**config)
        except TypeError as error:  # Keras' message: a user's __init__ without **kwargs
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using config={config}.\n\n"
                f"Exception encountered: {error}"
            ) from error

    # -- calling -------------------------------------------------------------------------------
    # Whether the layer takes a list of inputs (the merge layers) rather than one.
    takes_list = False
    # Whether its config rebuilds it (a Lambda's Python function cannot be written to a file).
    serializable = True
    # Whether it takes symbolic values of a whole batch (a reduction over the batch axis):
    # only ops and arithmetic do, on the way to a model's add_loss or add_metric.
    takes_batch_values = False

    def gives_batch_value(self, batch_inputs: list[bool]) -> bool:
        """Whether its symbolic result is a value of the whole batch, given which inputs
        are (``batch_inputs``); only for a layer that ``takes_batch_values``. Where
        tensors per sample take part, the result is one per sample."""
        return all(batch_inputs)

    # A layer of several inputs whose output's mask is its first input's (Keras' mask of
    # a call's first argument), though its call reads none: a recurrent layer started from
    # given states.
    passes_first_mask = False

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """The mask of the output, (batch, steps) booleans or None, from the input's; of a
        list's masks, the first (Keras pairs the masks with the outputs, one here)."""
        if not self.supports_masking:
            return None
        return mask[0] if isinstance(mask, list) and self.takes_list else mask

    def masked_call(self, x: Tensor, training: bool, mask: Any, **kwargs: Any) -> Tensor:
        """The call on an input with a mask; a layer that reads masks replaces it."""
        return self.call(x, training, **kwargs)

    def call_masked(self, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        """The layer on x given its mask (a model's graph passes it along): ``masked_call``
        when there is one; ``kwargs``, a user's layer's own call arguments."""
        if self.takes_list and getattr(self, "reads_list_masks", False) and mask is not None:
            # The graph's masks of the inputs (attention layers, merges), not the ones the
            # tensors carry from eager calls.
            return self._call_on_list(list(x), training, {**kwargs, "mask": list(mask)})
        if mask is None or self.takes_list:
            return self(x, training=training, **kwargs)
        x = x if isinstance(x, Tensor) else Tensor(x)
        return self._regularized(self.masked_call(x, training, mask, **kwargs))

    # Keras' default for ``training`` when neither the call nor an enclosing one gives it:
    # False, but True for the image preprocessing layers (Keras' ``call(data, training=True)``),
    # so ``RandomFlip()(images)`` flips, as in Keras' augmentation recipes.
    default_training = False

    def __call__(
        self,
        x: Any = _NO_INPUT,
        training: bool | None = None,
        mask: Any = None,
        *more: Any,
        **kwargs: Any,
    ) -> Any:
        """The layer on x. ``mask`` (Keras'; by default the one an earlier layer attached to
        x as ``x._keras_mask``, as an Embedding with ``mask_zero`` does) goes to a layer
        that reads masks, and the output carries the mask the layer gives on. A user's
        layer takes its own call arguments too (``block(x, scale=2.0)``), kept with the call
        in a model's graph; one whose call takes several tensors takes them one by one
        (``endpoint(targets, logits, sample_weight)``)."""
        if x is _NO_INPUT:  # Keras' layer(inputs=x), or a user's call(logits=..., ...)
            x = self._input_by_name(kwargs)
        if self._spread_names and not type(self)._spreads_inputs:
            x, training, mask, more = self._spread_if_several(x, training, mask, more, kwargs)
        if self._spreads_inputs and not isinstance(x, (list, tuple)):
            x = [x, *(v for v in (training, mask, *more) if v is not None)]
            training, mask = kwargs.pop("training", None), None
            for name in self._spread_names[len(x) :]:  # the later ones given by name
                if name not in kwargs:
                    break
                x.append(kwargs.pop(name))
        unexpected = sorted(set(kwargs) - set(self.call_arguments))
        if unexpected and not self._tracks_layers:
            raise TypeError(f"{self.describe()} got unexpected call arguments {unexpected}.")
        if self._tracks_layers and isinstance(x, dict):
            x = self._listed_dict(x)  # its call gets the dict back (``_dict_restored``)
        if self._tracks_layers and isinstance(x, (list, tuple)) and not self.built:
            self.takes_list = True  # a user's layer called on several tensors gets them all
        if self.takes_list:
            return self._call_on_list(x, training, kwargs)
        if is_symbolic(x):
            connected = self._connect(x, kwargs) if kwargs else self._connect(x)
            return record_training(connected, training)
        x = x if isinstance(x, Tensor) else Tensor(x)
        self.check_inputs([x.shape], [x.dtype])
        if not self.built:
            self.device = backend.device_of(x.data)
            with _building_for_batch(x.shape[0]):
                self._build_sample_shape(x.shape[1:])
        resolved = resolve_training(training, self.default_training)
        mask = x._keras_mask if mask is None else mask
        with training_scope(training):
            if not _forward_depth[0]:
                self._clear_losses()  # a call of its own, not a model's pass: fresh losses
                with backend.on_device(backend.device_of(x.data)):  # a model's pass sets its own
                    return self._masked_result(x, resolved, mask, kwargs)
            return self._masked_result(x, resolved, mask, kwargs)

    def _listed_dict(self, x: dict[str, Any]) -> list[Any]:
        """A user's layer called on a dict of tensors (a VariableSelection of a model's
        dict of Inputs): its values in the order of the sorted keys, as Keras flattens a
        dict; the first call's keys are the layer's from then on."""
        keys = sorted(x)
        known = self.__dict__.setdefault("_input_dict_keys", keys)
        if keys != known:
            raise ValueError(f"{self.describe()} was called on a dict of {known}; got {keys}.")
        self.__dict__.setdefault("_input_dict_order", list(x))  # the dict the call gets back
        return [x[k] for k in keys]

    def _input_by_name(self, kwargs: dict[str, Any]) -> Any:
        first = self._spread_names[0] if self._spread_names else "inputs"
        if first not in kwargs:
            raise TypeError(f"{self.describe()} was called without its input ('{first}').")
        return kwargs.pop(first)

    def _spread_if_several(
        self, x: Any, training: Any, mask: Any, more: tuple, kwargs: dict[str, Any]
    ) -> tuple[Any, Any, Any, tuple]:
        """A user's layer whose call takes one tensor and, optionally, more (Keras'
        ``call(logits, targets=None, sample_weight=None)``): called with several tensors,
        by position or by name, it takes them as a list, spread over its call's parameters
        as Keras' node arguments are; the parameters before the last tensor that get none
        are given by name (their defaults). Called with one, it is an ordinary layer."""
        names = self._spread_names
        positional = (training, mask, *more)
        if not any(_is_tensor_like(v) for v in positional):
            positional = ()
        tensors = {names[0]: x}
        for name, value in zip(names[1:], positional, strict=False):
            if value is not None:
                tensors[name] = value
        for name in names[1:]:  # by name, a tensor (an array there is a constant argument)
            if isinstance(kwargs.get(name), (Tensor, SymbolicTensor)):
                tensors[name] = kwargs.pop(name)
        if positional:
            training, mask, more = kwargs.pop("training", None), None, ()
        if isinstance(x, (list, tuple)) and not self.built:
            self._spreads_inputs = self.takes_list = True  # a saved graph's call, replayed
        if len(tensors) == 1:
            return x, training, mask, more
        if self.built and not self._spreads_inputs:
            raise TypeError(
                f"{self.describe()} was built for one input tensor; it is called with "
                f"{sorted(tensors)}."
            )
        self._spreads_inputs = self.takes_list = True
        last = max(names.index(n) for n in tensors)
        for name in names[1:last]:
            if name not in tensors:
                kwargs.setdefault(name, self._spread_defaults.get(name))
        return [tensors[n] for n in names if n in tensors], training, mask, more

    def _masked_result(self, x: Tensor, training: bool, mask: Any, kwargs: dict) -> Any:
        """The call (``masked_call`` given a mask), its output carrying its mask."""
        if mask is None:
            out = self._regularized(self.call(x, training, **kwargs))
            if _shape_logs:
                _log_shapes(self, x, out)
            if type(self).compute_mask is Layer.compute_mask:
                return out  # no mask in, none made: the common case, kept short
        else:
            out = self._regularized(self.masked_call(x, training, mask, **kwargs))
        if isinstance(out, Tensor):
            out_mask = self.mask_of_call(x, mask, kwargs)
            if out_mask is not None:
                out._keras_mask = out_mask
        elif isinstance(out, (list, tuple)):  # several outputs: a mask each, or one for all
            attach_masks(out, self.mask_of_call(x, mask, kwargs))
        return out

    def call(self, x: Tensor, training: bool) -> Tensor:
        raise NotImplementedError

    # Keras' call arguments of a minicnn layer besides the input, ``training`` and ``mask``
    # (ReversibleEmbedding's ``reverse``): a model's graph keeps them with each call.
    call_arguments: tuple[str, ...] = ()

    def mask_of_call(self, x: Any, mask: Any, kwargs: dict[str, Any]) -> Any:
        """``compute_mask`` for a call, given the call's own arguments that it takes."""
        own = {k: v for k, v in kwargs.items() if k in self.call_arguments}
        out = self.compute_mask(x, mask, **own) if own else self.compute_mask(x, mask)
        return _mask_arrays(out)

    def call_output_shape(self, input_shape: Shape, kwargs: dict[str, Any]) -> Shape | None:
        """The output shape of a call with ``kwargs`` that takes another input than the
        layer was built for (ReversibleEmbedding's reverse projection), the layer built;
        None: an ordinary call."""
        return None

    # Keras' InputSpec (one, or a list for a layer of several inputs), checked on each call.
    input_spec: Any = None

    def check_inputs(self, shapes: list[tuple[Any, ...]], dtypes: list[Any]) -> None:
        """Keras' check of full input shapes (batch included) against ``input_spec``."""
        if self.input_spec is not None:
            from .input_spec import assert_input_compatibility

            assert_input_compatibility(self.input_spec, shapes, dtypes, self.name)

    def _call_on_list(
        self, inputs: list[Any], training: bool | None, kwargs: dict | None = None
    ) -> Any:
        """A layer that takes a list (merges, attention) on real or symbolic inputs. One that
        reads its inputs' masks (``reads_list_masks``) takes them as ``kwargs["mask"]``, or
        else those the inputs carry (eager calls), and its output carries its own."""
        kwargs = dict(kwargs or {})
        reads_masks = getattr(self, "reads_list_masks", False)
        masks = kwargs.pop("mask", None) if reads_masks else None
        if is_symbolic(inputs):
            listed = list(inputs)
            connected = self._connect(listed, kwargs) if kwargs else self._connect(listed)
            return record_training(connected, training)
        if reads_masks and masks is None:
            masks = [getattr(t, "_keras_mask", None) for t in inputs]
        tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in inputs]
        self.check_inputs([t.shape for t in tensors], [t.dtype for t in tensors])
        if not self.built:
            self.device = backend.device_of(tensors[0].data)
            with _building_for_batch(tensors[0].shape[0]):
                self._build_sample_shape([t.shape[1:] for t in tensors])
        if masks is not None:
            masks = [_device_mask(m, tensors[0]) for m in masks]
            masks = masks if any(m is not None for m in masks) else None
        with training_scope(training):
            if not _forward_depth[0]:
                self._clear_losses()  # a call of its own, not a model's pass: fresh losses
            resolved = resolve_training(training, self.default_training)
            first = getattr(inputs[0], "_keras_mask", None)
            if masks is None and not (self.passes_first_mask and first is not None):
                return self._regularized(self.call(tensors, resolved, **kwargs))
            if masks is None:  # the call runs unmasked; its output's mask is the first input's
                out = self._regularized(self.call(tensors, resolved, **kwargs))
                out_mask = self.mask_of_call(tensors, first, kwargs)
                attach_masks(out, out_mask)
                return out
            out = self._regularized(self.masked_call(tensors, resolved, masks, **kwargs))
        # (output, attention weights): a mask each
        attach_masks(out, self.mask_of_call(tensors, masks, kwargs))
        return out

    def _connect(self, x: Any, kwargs: dict | None = None) -> SymbolicTensor:
        """A call on symbolic tensors, which builds a functional model's graph: the layer is
        built for their shapes, and the result remembers where it came from (and a user's
        layer's call arguments, which may change its output shape)."""
        sources = list(x) if isinstance(x, (list, tuple)) else [x]
        if self.takes_list != isinstance(x, (list, tuple)):
            wanted = "a list of inputs" if self.takes_list else "one input"
            raise TypeError(f"{self.describe()} takes {wanted}, got {_describe_inputs(x)}.")
        batch_inputs = [t.batch_value for t in sources]
        if any(batch_inputs) and not self.takes_batch_values:
            value = sources[batch_inputs.index(True)]
            raise ValueError(
                f"{self.describe()} takes tensors with a batch axis; {value!r} is one value for "
                "the whole batch (a reduction over the batch axis), which only ops, arithmetic, "
                "model.add_loss and model.add_metric take."
            )
        if self.takes_batch_values:  # what compute_output_shape reads
            self._batch_inputs = batch_inputs
        shape = [t.sample_shape for t in sources] if self.takes_list else sources[0].sample_shape
        self.check_inputs(
            [(None, *t.sample_shape) for t in sources], [_symbolic_dtype(t) for t in sources]
        )
        if kwargs:
            _check_call_arguments(self, kwargs)
        output_shape = self.call_output_shape(shape, kwargs) if kwargs else None
        if output_shape is None:
            if not self.built or self.sample_input_shape is None:  # (adapted data layers have none)
                self._build_for_graph(shape)
                output_shape = self.sample_output_shape
            elif _shapes_fit(shape, self.sample_input_shape):
                output_shape = self.sample_output_shape
            else:
                output_shape = self._output_shape_of_other_input(shape)
            if kwargs and not _gives_output_shape(type(self)):
                output_shape = sizes_found(lambda s: self._probed_output_shape(s, kwargs), shape)
        result = SymbolicTensor(output_shape, self, sources)
        # Keras' node index: how many times the layer was called on symbolic tensors before,
        # in any model (a summary's "Connected to" names it: lstm[1][0])
        result.node_index = self.__dict__.get("_symbolic_calls", 0)
        self._symbolic_calls = result.node_index + 1
        if self.takes_batch_values:
            result.batch_value = self.batch_valued = self.gives_batch_value(batch_inputs)
        if kwargs:
            result.call_kwargs = dict(kwargs)
        if self._tracks_layers and _several_shapes(output_shape):
            from .models import SelectOutput  # a user's layer that gives a tuple: one each

            name = backend.unique_name
            result = tuple(
                SelectOutput(i, name=name(f"{self.name}_{i}"))(result)
                for i in range(len(output_shape))
            )
        self._called_input, self._called_output = x, result
        if self.__dict__.get("_first_output") is None:  # Keras' layer.input and .output
            self._first_input, self._first_output = x, result
        return result

    def _output_shape_of_other_input(self, shape: Any) -> Any:
        """The output shape of a call on samples of another shape than the layer was built
        for. As in Keras, a built layer is not built again: it computes with the weights it
        has (an Embedding built for one id takes sequences; a convolution, larger images),
        and a call on zeros shows whether they fit."""
        try:
            with _shapes_mode(True):
                return sizes_found(self._probed_output_shape, shape)
        except Exception as error:
            raise ValueError(
                f"{self.describe()} was built for input shape {self.sample_input_shape}, "
                f"and is called on {shape}, which its weights do not fit ({error})."
            ) from error

    def _build_for_graph(self, shape: Any) -> None:
        """Build for a symbolic input's shape; a None size goes to ``build`` as in Keras,
        and a layer that needs that size to make its weights says so."""
        if not has_unknown(shape):
            try:
                self._build_sample_shape(shape)
            except IndexError as error:  # an axis read from a sample that has none
                scalar = shape == () or (self.takes_list and () in [tuple(s) for s in shape])
                if not scalar:
                    raise
                raise ValueError(
                    f"{self.describe()} takes samples with at least one axis, and its input "
                    "holds one value per sample (shape (None,)): give it an axis first, as "
                    "ops.expand_dims(x, -1) or Reshape((1,)) do."
                ) from error
            return
        try:
            self._build_sample_shape(shape)
        except TypeError as error:  # arithmetic on a None size
            shown = [shape_text(s) for s in shape] if self.takes_list else shape_text(shape)
            raise ValueError(
                f"{self.describe()} needs the size of every axis it makes weights or tables "
                f"for, and its input has shape {shown} (a None size: give it in the Input). "
                f"({error})"
            ) from error

    @property
    def input(self) -> Any:
        """Keras' ``layer.input``: the symbolic tensor (or list) the layer was last called on
        in a model's graph (a Sequential with an input shape has one too)."""
        return self._called("_first_input")

    @property
    def output(self) -> Any:
        """Keras' ``layer.output``: the symbolic tensor the layer gave in a model's graph, for
        a feature extractor: ``Model(model.inputs, model.get_layer("conv2d").output)``."""
        return self._called("_first_output")

    def _called(self, attribute: str) -> Any:
        value = getattr(self, attribute, None)
        if value is None:
            raise ValueError(
                f"The layer {self.name} has never been called and thus has no defined "
                f"{attribute.rsplit('_', 1)[1]} (give its model an Input shape first)."
            )
        return value

    @property
    def losses(self) -> list[Tensor]:
        """The weight penalties of this layer (Keras' ``layer.losses``), from its current
        weights; the model adds them to the loss."""
        own = [penalty(weight) for penalty, weight in self._weight_penalties]
        inner = [loss for t in self.__dict__.get("_tracked_layers", ()) for loss in t.losses]
        return own + self._call_losses + inner

    def _penalties(self, pairs: list[tuple[Any, int]]) -> list[Tensor]:
        """The penalties of the (regularizer, weight index) pairs that have a regularizer,
        and the losses of the last call."""
        if not self.built:
            return list(self._call_losses)
        weights = [penalty(self._weights[i]) for penalty, i in pairs if penalty is not None]
        added = [penalty(weight) for penalty, weight in self._weight_penalties]  # add_weight's
        return weights + added + self._call_losses


def _mask_arrays(mask: Any) -> Any:
    """Masks as the graph keeps them, arrays: a user's ``compute_mask`` may give Tensors
    (``ops.not_equal(inputs, 0)``, as Keras' guides write it)."""
    if isinstance(mask, Tensor):
        return mask.data
    if isinstance(mask, (list, tuple)):
        return type(mask)(_mask_arrays(m) for m in mask)
    return mask


def _keeping_books(user_build: Any) -> Any:
    """A user's ``build`` wrapped with what minicnn's own does: shapes checked and kept, the
    weights it adds on the layer's device, the output shape, trainability."""

    takes_shape = len(inspect.signature(user_build).parameters) > 1

    @functools.wraps(user_build)
    def build(self: Layer, input_shape: Any = None, *args: Any, **kwargs: Any) -> None:
        # (a build of more arguments than the shape takes them: its build_from_config's)
        keras = keras_shapes_given(input_shape)
        # build((8,)) by a user's code: a shape of one axis, which Keras' layers read as the
        # features (input_shape[-1]); its samples have that shape.
        features = keras and isinstance(input_shape, (list, tuple)) and len(input_shape) == 1
        features = features and isinstance(input_shape[0], int)
        batch = _batch_of(input_shape) if keras and not features else _eager_batch[-1]
        given = input_shape
        input_shape = self._as_input_shape(
            tuple(given) if features else as_sample_shapes(input_shape)
        )
        with _shapes_mode(False), self._name_scope():
            shown = tuple(given) if features else to_keras_shapes(input_shape, batch)
            keys = self.__dict__.get("_input_dict_keys")
            if keys and isinstance(shown, list) and len(shown) == len(keys):
                by_key = dict(zip(keys, shown, strict=True))  # built on a dict: shapes by key
                shown = {k: by_key[k] for k in self.__dict__["_input_dict_order"]}
            self._inside_user_build = True
            try:
                if takes_shape:
                    user_build(self, shown, *args, **kwargs)
                else:  # build(self): Keras hands it no shape
                    user_build(self)
                    self._build_takes_no_shape = True
            finally:
                self._inside_user_build = False
        if args or kwargs:  # Keras records a build of more arguments than the shape by name
            bound = inspect.signature(user_build).bind(self, shown, *args, **kwargs)
            self._build_arguments = dict(list(bound.arguments.items())[1:])
        self.sample_input_shape = input_shape
        self.sample_output_shape = self._output_shape_for(input_shape)
        self._hold_tracked_weights(input_shape)
        self._name_weights()
        self.built = True
        self._settle_trainable()

    return build


def _training_optional(call: Any) -> Any:
    """One of minicnn's own ``call(x, training)``, callable without ``training`` as Keras'
    layers are (a user's subclass of Dense calls ``super().call(x)``): it then inherits an
    enclosing call's. A call with a default already is as it is."""
    parameters = inspect.signature(call).parameters
    training = parameters.get("training")
    if training is None or training.default is not training.empty:
        return call
    at = list(parameters).index("training") - 1  # among the arguments after self

    @functools.wraps(call)
    def optional(self: Layer, *args: Any, **kwargs: Any) -> Any:
        if len(args) <= at and "training" not in kwargs:
            kwargs["training"] = resolve_training(None, False)
        return call(self, *args, **kwargs)

    return optional


def _without_training(user_call: Any) -> Any:
    """A user's ``call(inputs)``, called as minicnn calls layers: ``call(x, training)``."""

    @functools.wraps(user_call)
    def call(self: Layer, x: Any, training: bool = False, **kwargs: Any) -> Any:
        return user_call(self, x, **kwargs)

    return call


def _spreading(user_call: Any, takes_training: bool) -> Any:
    """A user's ``call(targets, logits, ...)`` or ``call(logits, targets=None, ...)``,
    called as minicnn calls layers: with the list of its tensors, each going to the next of
    its parameters that the call's keyword arguments do not give."""
    names = list(inspect.signature(user_call).parameters)[1:]

    @functools.wraps(user_call)
    def call(self: Layer, x: Any, training: bool = False, **kwargs: Any) -> Any:
        if takes_training:
            kwargs["training"] = training
        free = [n for n in names if n not in kwargs and n not in ("training", "mask")]
        return user_call(self, **dict(zip(free, x, strict=False)), **kwargs)

    return call


def _spread_or_plain(plain: Any, spread: Any) -> Any:
    """The call of a layer that takes one tensor or several: spread if this instance was
    called with several (``_spreads_inputs``)."""

    @functools.wraps(plain)
    def call(self: Layer, x: Any, *args: Any, **kwargs: Any) -> Any:
        return (spread if self._spreads_inputs else plain)(self, x, *args, **kwargs)

    return call


def _is_tensor_like(value: Any) -> bool:
    return isinstance(value, (Tensor, SymbolicTensor, np.ndarray)) or backend.is_device_array(value)


def _with_mask(user_call: Any, takes_training: bool) -> Any:
    """A user's ``call(inputs, mask=None)`` as the layer's ``masked_call``."""

    def masked_call(self: Layer, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        if takes_training:
            return user_call(self, x, training=training, mask=mask, **kwargs)
        return user_call(self, x, mask=mask, **kwargs)

    return masked_call


# While a subclassed model with None sizes is probed at two sizes: each eager layer call's
# sample shapes, by layer, to give every layer its shapes with None where they vary.
_shape_logs: list[dict[int, tuple[Layer, Any, Any]]] = []


def _log_shapes(layer: Layer, x: Tensor, out: Any) -> None:
    if isinstance(out, Tensor):
        _shape_logs[-1].setdefault(id(layer), (layer, x.shape[1:], out.shape[1:]))


@contextlib.contextmanager
def logging_shapes() -> Iterator[dict[int, tuple[Layer, Any, Any]]]:
    """Record the sample shapes of the layer calls made inside (``_shape_logs``)."""
    _shape_logs.append({})
    try:
        yield _shape_logs[-1]
    finally:
        _shape_logs.pop()


def settle_logged_shapes(logs: list[dict[int, tuple[Layer, Any, Any]]]) -> None:
    """Each logged layer's input and output shapes, None where the two probes differ."""
    first, second = logs
    for key, (layer, shape_in, shape_out) in first.items():
        if key in second and len(second[key][1]) == len(shape_in):
            layer.sample_input_shape = _merged(tuple(shape_in), tuple(second[key][1]))
            if len(second[key][2]) == len(shape_out):
                layer.sample_output_shape = _merged(tuple(shape_out), tuple(second[key][2]))


def _device_mask(mask: Any, like: Tensor) -> Any:
    """A mask given as a list, a NumPy array or a Tensor, as booleans on ``like``'s device."""
    if mask is None:
        return None
    data = mask.data if isinstance(mask, Tensor) else mask
    if isinstance(data, (list, tuple, np.ndarray)):
        data = backend.to_device(np.asarray(data), backend.device_of(like.data))
    return data.astype(bool) if data.dtype != bool else data


def _check_call_arguments(layer: Layer, kwargs: dict[str, Any]) -> None:
    """A call's own arguments in a model's graph are kept in its config: plain values."""

    def plain(value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        return value is None or isinstance(value, (bool, int, float, str))

    bad = sorted(k for k, v in kwargs.items() if not plain(v))
    if bad:
        raise TypeError(
            f"{layer.describe()}: in a model's graph, call arguments must be numbers, strings, "
            f"booleans, None or lists of them; {bad} are not (give tensors as inputs)."
        )


def record_training(result: Any, training: bool | None) -> Any:
    """A symbolic call given ``training`` (``base(x, training=False)``) keeps it on its node:
    the model runs that call so whatever its own pass is, as Keras does."""
    if training is not None:
        call_node(result).call_training = bool(training)
    return result


def call_node(result: Any) -> SymbolicTensor:
    """The node a symbolic call made: what it gave, or, for a call of several results (one
    SelectOutput tensor each, as a model of several outputs gives), the node they select
    from."""
    return result[0].inputs[0] if isinstance(result, (list, tuple)) else result


def sample_shape(shape: Any) -> Shape:
    """A sample shape as a tuple of ints, None where the size is unknown."""
    return tuple(None if d is None else int(d) for d in shape)


def _several_shapes(shape: Any) -> bool:
    """Whether an output shape is a tuple of shapes (a layer of several outputs)."""
    return bool(shape) and all(isinstance(s, (tuple, list)) for s in shape)


def _shapes_fit(actual: Any, declared: Any) -> bool:
    """Whether a call's input shape(s) fit those a layer was built for."""
    if isinstance(declared, list):
        return len(actual) == len(declared) and all(
            fits(a, d) for a, d in zip(actual, declared, strict=True)
        )
    return fits(actual, declared)


# Two sizes an unknown (None) axis takes to find a layer's output shape: an output size that
# differs between them is unknown too. Far apart and not powers of two, so that strided
# layers (even 32x, as ResNet's) still give different sizes.
UNKNOWN_SIZE_PROBES = (72, 200)
# Tried in turn when a call fails at those sizes because it needs the size small: a user's
# layer that looks up positions 0..length-1 in an Embedding of sequence_length rows
# (keras.io's translation example), where Keras, computing shapes alone, needs no values.
SMALLER_SIZE_PROBES = ((9, 13), (2, 3))


def _with_sizes(shape: Any, size: int) -> Any:
    if isinstance(shape, list):
        return [_with_sizes(s, size) for s in shape]
    if isinstance(shape, tuple) and any(isinstance(d, (tuple, list)) for d in shape):
        return tuple(_with_sizes(s, size) for s in shape)
    return tuple(size if d is None else d for d in shape)


def _merged(first: Any, second: Any) -> Any:
    """Two output shapes (or lists or tuples of them) as one: None where they differ."""
    if isinstance(first, (list, tuple)) and any(isinstance(d, (tuple, list)) for d in first):
        merged = [_merged(a, b) for a, b in zip(first, second, strict=True)]
        return merged if isinstance(first, list) else tuple(merged)
    if len(first) != len(second):
        raise ValueError(f"the output rank depends on an unknown size: {first} and {second}.")
    return tuple(a if a == b else None for a, b in zip(first, second, strict=True))


def sizes_found(compute: Any, input_shape: Any) -> Any:
    """``compute(input_shape)`` for a shape with None sizes: computed at two sizes and
    merged."""
    if not has_unknown(input_shape):
        return compute(input_shape)
    failure = None
    for sizes in (UNKNOWN_SIZE_PROBES, *SMALLER_SIZE_PROBES):
        try:
            first, second = (compute(_with_sizes(input_shape, n)) for n in sizes)
        except (ValueError, IndexError) as error:
            failure = failure or error
            continue
        return _merged(first, second)
    raise failure


class TrackedDict(dict):
    """A dict a layer (or a subclassed model) holds as an attribute, as Keras' DictWrapper:
    what is set in it later (``self.embeddings[name] = Embedding(...)``) is tracked as if
    assigned."""

    def __init__(self, items: Any, track: Callable[[Any], None]) -> None:
        super().__init__(items)
        self._track = track

    def __setitem__(self, key: Any, item: Any) -> None:
        super().__setitem__(key, item)
        self._track(item)

    def update(self, *args: Any, **kwargs: Any) -> None:
        added = dict(*args, **kwargs)
        super().update(added)
        for item in added.values():
            self._track(item)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class TrackedList(list):
    """A list a layer (or a subclassed model) holds as an attribute, as Keras' ListWrapper:
    what is appended, inserted or set in it later is tracked as if assigned."""

    def __init__(self, items: Any, track: Callable[[Any], None]) -> None:
        super().__init__(items)
        self._track = track

    def append(self, item: Any) -> None:
        super().append(item)
        self._track(item)

    def extend(self, items: Any) -> None:
        items = list(items)
        super().extend(items)
        for item in items:
            self._track(item)

    def insert(self, index: Any, item: Any) -> None:
        super().insert(index, item)
        self._track(item)

    def __iadd__(self, items: Any) -> TrackedList:
        self.extend(items)
        return self

    def __setitem__(self, index: Any, item: Any) -> None:
        super().__setitem__(index, item)
        for one in item if isinstance(index, slice) else [item]:
            self._track(one)

    def __reduce__(self) -> Any:  # pickled and copied as the plain list it is
        return (list, (list(self),))


class KerasShape(tuple):
    """A shape with Keras' batch axis first, as a user's ``build`` and ``compute_output_shape``
    get it (``input_shape[-1]``, ``(input_shape[0], units)`` as in Keras). Marked, so that
    minicnn's own layers, which work on a sample's shape, know to drop the batch axis when a
    user's build hands it on (``self.inner.build(input_shape)``, ``super().build(...)``)."""


def to_keras_shapes(shape: Any, batch_size: int | None = None) -> Any:
    """A sample shape (or a list or tuple of them) as KerasShapes, the batch size None or
    given."""
    if isinstance(shape, list) or _several_shapes(shape):
        return type(shape)(to_keras_shapes(s, batch_size) for s in shape)
    return KerasShape((batch_size, *shape))


# The batch size of the eager call that builds a layer now: a user's build gets it, as
# Keras' build of a layer first called on data gets the data's shape.
_eager_batch: list[int | None] = [None]


@contextlib.contextmanager
def _building_for_batch(size: int) -> Iterator[None]:
    _eager_batch.append(int(size))
    try:
        yield
    finally:
        _eager_batch.pop()


def from_keras_shapes(shape: Any) -> Any:
    """KerasShapes (alone, or in a list or tuple of shapes) as sample shapes; other shapes
    as they are."""
    if isinstance(shape, KerasShape):
        return tuple(shape[1:])
    if _holds_keras_shapes(shape):
        return type(shape)(from_keras_shapes(s) for s in shape)
    return shape


# Whether the shapes handed to a layer's build and compute_output_shape now are a sample's,
# as minicnn's own code passes them (its layers, models, graphs), or Keras' (the batch axis
# first), as a user's code passes them: a user's call of ``Dense(3).build((None, 4))``,
# ``conv.compute_output_shape(x.shape)``. The user's code runs in Keras' shapes; minicnn's
# own build, compute_output_shape and call run in a sample's.
_sample_shapes: list[bool] = [False]


@contextlib.contextmanager
def _shapes_mode(sample: bool) -> Iterator[None]:
    _sample_shapes.append(sample)
    try:
        yield
    finally:
        _sample_shapes.pop()


def sample_shapes() -> contextlib.AbstractContextManager[None]:
    """For minicnn's own code outside a layer (a file's writer): shapes without the batch
    axis."""
    return _shapes_mode(True)


def _in_sample_shapes(method: Any, sample: bool) -> Any:
    """``method`` run in a sample's shapes (minicnn's own code) or in Keras' (a user's)."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        # _shapes_mode's push and pop, without a context manager: every layer call runs this.
        _sample_shapes.append(sample)
        try:
            return method(*args, **kwargs)
        finally:
            _sample_shapes.pop()

    return run


def keras_shapes_given(shape: Any) -> bool:
    """Whether ``shape`` (one shape, or a list or tuple of them) is Keras' batch shape: a
    user's KerasShape, or any shape a user's code passes."""
    return _holds_keras_shapes(shape) or not _sample_shapes[-1]


def as_sample_shapes(shape: Any) -> Any:
    """A shape handed to build or compute_output_shape, as a sample's: the batch axis taken
    off Keras' shapes (see ``keras_shapes_given``)."""
    if not keras_shapes_given(shape) or not isinstance(shape, (list, tuple)):
        return shape
    if not shape or (_several_shapes(shape) and not all(shape)):
        raise ValueError(
            "A shape with Keras' batch axis first was expected (build((None, 4))), got ()."
        )
    return batch_taken_off(shape)


def _batch_of(shape: Any) -> int | None:
    """The batch size of Keras' shape (the first's of several)."""
    first = shape[0] if _several_shapes(shape) else shape
    return first[0] if first else None


def _taking_keras_shapes(method: Any) -> Any:
    """One of minicnn's own ``build`` or ``compute_output_shape`` (which take a sample's
    shape), also taking Keras' shapes from a user's code, and giving them back so."""

    @functools.wraps(method)
    def taking(self: Layer, input_shape: Any, *more: Any, **named: Any) -> Any:
        if more or named:  # Keras' build(query_shape, value_shape, key_shape=None)
            input_shape = _shapes_one_by_one(self, input_shape, more, named)
        keras = keras_shapes_given(input_shape)
        sample = as_sample_shapes(input_shape) if keras else input_shape
        try:
            with _shapes_mode(True):
                result = method(self, sample)
        except IndexError as error:  # an axis read from a sample that has none
            if not keras or () not in (sample if _several_shapes(sample) else [sample]):
                raise
            raise ValueError(
                f"{self.describe()} takes samples with at least one axis; {input_shape} is "
                "a batch of single values (a shape for build has the batch axis first, as "
                "in Keras: build((None, 4)))."
            ) from error
        if not keras or result is None:
            return result
        return to_keras_shapes(result, _batch_of(input_shape))

    return taking


def _shapes_one_by_one(layer: Layer, first: Any, more: tuple, named: dict) -> list[Any]:
    """The list of input shapes of a layer whose Keras build and compute_output_shape take
    them one by one (``shape_arguments``: the names of those after the first)."""
    names = layer.shape_arguments
    unknown = set(named) - set(names)
    if len(more) > len(names) or unknown:
        raise TypeError(
            f"{layer.describe()}: build and compute_output_shape take one input shape (a "
            f"list of them for several inputs), got more: {more or sorted(unknown)}."
        )
    given = {**dict(zip(names[: len(more)], more, strict=True)), **named}
    return [first, *(given[n] for n in names if given.get(n) is not None)]


def _in_keras_shapes(compute_output_shape: Any) -> Any:
    """A user's ``compute_output_shape``, written for Keras' shapes (the batch axis first),
    called with a sample's shape as minicnn's own layers are: the batch axis is put on the
    way in and taken off the way out."""

    @functools.wraps(compute_output_shape)
    def compute(self: Layer, input_shape: Any) -> Any:
        keras = keras_shapes_given(input_shape)  # a user's call with Keras' shapes
        with _shapes_mode(False):
            if keras:
                return compute_output_shape(self, input_shape)
            sample = self._as_input_shape(input_shape)
            return batch_taken_off(compute_output_shape(self, to_keras_shapes(sample)))

    return compute


def _holds_keras_shapes(shape: Any) -> bool:
    return isinstance(shape, KerasShape) or (
        isinstance(shape, (list, tuple)) and any(isinstance(s, KerasShape) for s in shape)
    )


def batch_taken_off(shape: Any) -> Any:
    """A user's output shape (or tuple or list of them), the batch axis dropped."""
    if _several_shapes(shape):
        return type(shape)(batch_taken_off(s) for s in shape)
    return sample_shape(tuple(shape)[1:])


def _with_unknown_sizes(compute_output_shape: Any) -> Any:
    """A layer class's ``compute_output_shape``, taking None sizes (see ``sizes_found``)."""

    @functools.wraps(compute_output_shape)
    def compute(self: Layer, input_shape: Any) -> Any:
        if not has_unknown(input_shape):
            return compute_output_shape(self, input_shape)
        return sizes_found(lambda shape: compute_output_shape(self, shape), input_shape)

    return compute


@functools.lru_cache(maxsize=256)
def _takes_keyword(function: Any, name: str) -> bool:
    parameters = inspect.signature(function).parameters
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def takes_keyword(function: Any, name: str) -> bool:
    """Whether ``function`` (a bound method too) takes the keyword ``name``, by name or
    through ``**kwargs``: a user's call without ``training``, a compute_loss without it.
    Asked once per function (a training step asks it every batch)."""
    return _takes_keyword(getattr(function, "__func__", function), name)


def _gives_output_shape(cls: type) -> bool:
    """Whether a layer class's ``compute_output_shape`` describes its ``call``: it has one
    of its own, and a user's class did not replace ``call`` below it (a Dense subclass whose
    call multiplies by a wider variable gives another shape than Dense's; its shape is found
    by running call on a sample of zeros instead)."""
    if cls.compute_output_shape is Layer.compute_output_shape:
        return False
    mro = cls.__mro__
    shape_owner = next(c for c in mro if "compute_output_shape" in vars(c))
    call_owner = next(c for c in mro if "call" in vars(c))
    return (
        call_owner is shape_owner
        or not issubclass(call_owner, shape_owner)
        or call_owner.__module__.startswith("minicnn.")
    )


def _symbolic_dtype(t: Any) -> Any:
    return getattr(t, "dtype", None) or backend.FLOAT


def wrapped_layer(entry: dict[str, Any], owner: str) -> Layer:
    """The layer a wrapper's config names (``{"class_name": ..., "config": ...}``), rebuilt."""
    from .layers import LAYER_CLASSES

    if entry["class_name"] not in LAYER_CLASSES:
        raise ValueError(f"{owner} wraps no {entry['class_name']!r}.")
    return LAYER_CLASSES[entry["class_name"]].from_config(entry["config"])


# Keras' call context: the ``training`` that the calls running now were given (None where none
# was), which a layer called inside them without one inherits (a Dropout in a subclassed
# model's call drops in fit and not in predict, as in Keras).
_training_context: list[bool | None] = [None]


@contextlib.contextmanager
def training_scope(training: bool | None) -> Iterator[None]:
    """Calls inside inherit ``training`` (or, given None, what the enclosing call had)."""
    _training_context.append(_training_context[-1] if training is None else bool(training))
    try:
        yield
    finally:
        _training_context.pop()


def resolve_training(training: bool | None, default: bool) -> bool:
    """Keras' order: the call's own ``training``, else an enclosing call's, else the
    layer's default."""
    if training is not None:
        return bool(training)
    inherited = _training_context[-1]
    return default if inherited is None else inherited


# How many model forward passes are running: a layer clears its call losses at a call of its
# own, but not inside a model's pass, which clears them all first (a shared layer keeps each
# call's losses).
_forward_depth = [0]


class SymbolicTensor:
    """What a layer called on a symbolic input gives (Keras' KerasTensor): the shape of one
    sample, the layer that makes it, and that layer's inputs. A reduction over the batch axis
    (``ops.mean(x)``) gives a ``batch_value``: one value for the whole batch, whose shape is
    all of it; it goes on into ops and arithmetic, and into a model's ``add_loss`` and
    ``add_metric`` (tf.keras' functional losses), but not into other layers or outputs."""

    # Class defaults: most tensors hold a result per sample, for batches of any size.
    batch_value = False
    batch_size: int | None = None
    _dtype: str | None = None  # an Input's given dtype, or what an op found; else the layer's
    _found_dtype: str | None = None  # the layer's, found once

    @property
    def dtype(self) -> str:
        """Keras' dtype of what the tensor holds: an Input's ("float32" unless given), an
        op's result's (a comparison's "bool"), else what its layer gives (see
        ``Layer.symbolic_dtype``)."""
        if self._dtype is not None:
            return self._dtype
        if self.layer is None or self.layer is getattr(self, "input_layer", None):
            return np.dtype(backend.FLOAT).name
        if self._found_dtype is None:  # once: a graph's tensors read it at every layer call
            given = [t.dtype for t in self.inputs if isinstance(t, SymbolicTensor)]
            self._found_dtype = self.layer.symbolic_dtype(given)
        return self._found_dtype

    @dtype.setter
    def dtype(self, value: str | None) -> None:
        self._dtype = value

    def __init__(self, shape: Shape, layer: Layer | None, inputs: list[SymbolicTensor]) -> None:
        self.sample_shape = tuple(shape)
        self.layer = layer
        self.inputs = list(inputs)
        sizes = {t.batch_size for t in self.inputs if isinstance(t, SymbolicTensor)}
        if len(sizes) == 1:  # a layer keeps its inputs' batch size (Input(batch_size=8))
            self.batch_size = sizes.pop()

    @property
    def shape(self) -> tuple[Any, ...]:
        """Keras' ``shape``: the batch axis first (None, or Input's ``batch_size``), then
        ``sample_shape``; a value of the whole batch has no batch axis."""
        if self.batch_value:
            return self.sample_shape
        return (self.batch_size, *self.sample_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        source = self.layer.name if self.layer is not None else "input"
        over = " over the batch" if self.batch_value else ""
        return f"<SymbolicTensor shape={self.shape}{over} from {source}>"

    # Keras' KerasTensor arithmetic: each operator adds a TensorArithmetic layer to the graph.
    def _operate(self, operation: str, left: Any, right: Any = None) -> Any:
        from .symbolic_arithmetic import symbolic_operation

        return symbolic_operation(operation, left, right)

    def __add__(self, other: Any) -> Any:
        return self._operate("add", self, other)

    def __radd__(self, other: Any) -> Any:
        return self._operate("add", other, self)

    def __sub__(self, other: Any) -> Any:
        return self._operate("subtract", self, other)

    def __rsub__(self, other: Any) -> Any:
        return self._operate("subtract", other, self)

    def __mul__(self, other: Any) -> Any:
        return self._operate("multiply", self, other)

    def __rmul__(self, other: Any) -> Any:
        return self._operate("multiply", other, self)

    def __truediv__(self, other: Any) -> Any:
        return self._operate("divide", self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._operate("divide", other, self)

    def __floordiv__(self, other: Any) -> Any:
        return self._operate("floor_divide", self, other)

    def __mod__(self, other: Any) -> Any:
        return self._operate("mod", self, other)

    def __pow__(self, other: Any) -> Any:
        return self._operate("power", self, other)

    def __rpow__(self, other: Any) -> Any:
        return self._operate("power", other, self)

    def __matmul__(self, other: Any) -> Any:
        return self._operate("matmul", self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return self._operate("matmul", other, self)

    def __neg__(self) -> Any:
        return self._operate("negative", self)

    def __abs__(self) -> Any:
        return self._operate("absolute", self)

    # Comparisons and logic as Keras' KerasTensor has them: an OpCall layer of minicnn.ops.
    def _op(self, name: str, *args: Any) -> Any:
        from . import ops

        return getattr(ops, name)(*args)

    def __lt__(self, other: Any) -> Any:
        return self._op("less", self, other)

    def __le__(self, other: Any) -> Any:
        return self._op("less_equal", self, other)

    def __gt__(self, other: Any) -> Any:
        return self._op("greater", self, other)

    def __ge__(self, other: Any) -> Any:
        return self._op("greater_equal", self, other)

    def __and__(self, other: Any) -> Any:
        return self._op("logical_and", self, other)

    def __or__(self, other: Any) -> Any:
        return self._op("logical_or", self, other)

    def __xor__(self, other: Any) -> Any:
        return self._op("logical_xor", self, other)

    def __invert__(self) -> Any:
        return self._op("logical_not", self)

    def __getitem__(self, key: Any) -> Any:
        from .symbolic_arithmetic import GetItem

        return GetItem(key)(self)

    def __iter__(self) -> Any:
        # Without this, Python would iterate by indexing x[0], x[1], ... (batch-axis keys).
        raise TypeError(
            "Iterating over a symbolic tensor is not supported (its batch size is unknown); "
            "index it (x[:, 0]) or split it with a layer."
        )


class Input(SymbolicTensor):
    """The shape of one sample, batch left out: ``Input(shape=(28, 28, 1))``. It starts a
    Sequential model, or a functional one: ``x = Input((28, 28, 1)); y = Dense(10)(x)``. A
    None size is unknown: ``Input((None,), dtype="int32")`` takes sequences of any length;
    ``Input(shape=())`` takes one value per sample (an id for Embedding, a word for
    StringLookup)."""

    def __init__(
        self,
        shape: Shape | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        batch_shape: Shape | None = None,
        name: str | None = None,
        tensor: Any = None,
        optional: bool = False,
    ) -> None:
        """Keras' Input: ``shape`` (or ``batch_shape``, the batch size first) of one sample;
        ``batch_size`` and ``dtype`` are kept (data of another dtype is converted, as the
        model computes in float32, or takes int ids in Embedding)."""
        batch_size, shape = _given_shape("Input", "Input", shape, batch_size, batch_shape)
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        known = [d for d in shape if d is not None]
        if not all(isinstance(d, (int, np.integer)) and d >= 1 for d in known):
            raise ValueError(f"Input shape must be positive ints or None, got {shape!r}.")
        if sparse or tensor is not None or optional:
            raise ValueError(
                "Input: sparse inputs, an existing tensor and optional inputs are not available."
            )
        if batch_size is not None:
            batch_size = positive_int(batch_size, "Input: batch_size")
        super().__init__(sample_shape(shape), None, [])
        self.batch_size, self._dtype = batch_size, input_dtype(dtype)
        self.name = name or backend.unique_name("input_layer")
        self._adopt(InputLayer(self.sample_shape, name=self.name, dtype=self._dtype))

    def _adopt(self, layer: InputLayer) -> None:
        self.input_layer = layer
        # Keras' model.layers[0].output (and .input) is the Input itself.
        layer._called_input = layer._called_output = self
        layer._first_input = layer._first_output = self

    @classmethod
    def of_layer(cls, layer: InputLayer) -> Input:
        """The Input whose layer is ``layer`` (an InputLayer made by a user)."""
        tensor = cls(layer.shape, layer.batch_size, layer.input_dtype, name=layer.name)
        tensor._adopt(layer)
        return tensor


def _given_shape(
    owner: str, made_by: str, shape: Any, batch_size: Any, batch_shape: Any
) -> tuple[Any, Any]:
    """(batch size, sample shape) from Keras' ``shape`` or ``batch_shape`` (the batch size
    first), which Input and InputLayer take."""
    if batch_shape is not None:
        if shape is not None:
            raise ValueError(f"{owner}: give shape or batch_shape, not both.")
        batch_size, shape = batch_shape[0], tuple(batch_shape)[1:]
    if shape is None:
        raise ValueError(
            f"{owner}: give the shape of one sample, e.g. {made_by}(shape=(28, 28, 1))."
        )
    return batch_size, shape


STRING = "string"  # Keras' dtype of text inputs (NumPy arrays of str or bytes)


def input_dtype(dtype: Any) -> str | None:
    """An Input's dtype by name: NumPy's, or "string" for text (Keras' name; str too)."""
    if dtype is None:
        return None
    if dtype in (STRING, "str", str, bytes, object) or (
        isinstance(dtype, np.dtype) and dtype.kind in "OUS"
    ):
        return STRING
    return str(np.dtype(dtype))


class InputLayer(Layer):
    """The first layer of a functional model, as in Keras: it passes its input on. Made
    by ``Input``; given to a Sequential (``Sequential([InputLayer(shape=...), ...])``, as
    Keras' guides write it) it takes an Input's place."""

    _keras_defaults = {"sparse": False, "ragged": False, "optional": False}

    def __init__(
        self,
        shape: Shape | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        batch_shape: Shape | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        batch_size, shape = _given_shape(owner, "InputLayer", shape, batch_size, batch_shape)
        self.batch_size = batch_size
        self.shape = sample_shape(shape)
        self.input_dtype = input_dtype(dtype)
        self._build_sample_shape(self.shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if not fits(input_shape, self.shape):
            raise ValueError(
                f"{self.describe()} expects samples of shape {self.shape}, got "
                f"{tuple(input_shape)}."
            )
        return tuple(input_shape)

    def call(self, x: Tensor, training: bool) -> Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        # Keras' config of an InputLayer: its dtype is its data's, not a policy.
        return {
            "batch_shape": (self.batch_size, *self.shape),
            "dtype": self.input_dtype or backend.floatx(),
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": False,
        }


# The _keras_defaults of Keras' image layers that take data_format and that minicnn runs
# channels-last only (its preprocessing layers): written as Keras writes it.
CHANNELS_LAST_ONLY: dict[str, Any] = {"data_format": "channels_last"}
# Keras' base Layer's arguments, which its automatic config of a user's class without an
# __init__ of its own records (minicnn's Layer takes others).
_KERAS_LAYER_ARGUMENTS = {"activity_regularizer": None, "trainable": True, "dtype": None}
_configs_tolerated = False  # (see tolerated_configs)


@contextlib.contextmanager
def tolerated_configs() -> Iterator[None]:
    """Within it, a layer whose automatic config cannot hold its arguments gives its base
    config instead of refusing: weights files and checkpoints check architectures with
    configs, which Keras' weights files do not need."""
    global _configs_tolerated
    before, _configs_tolerated = _configs_tolerated, True
    try:
        yield
    finally:
        _configs_tolerated = before


def is_plain(value: Any) -> bool:
    """Whether a value is JSON's (Keras' automatic config keeps only such arguments)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def init_arguments(cls: type, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """What Keras' automatic config records of a user's class made with ``args`` and
    ``kwargs``: its __init__'s arguments by name, defaults filled in, less ``name``; None
    where they cannot be bound or are not plain values (or come as ``*args``)."""
    owner = next(k for k in cls.__mro__ if "__init__" in vars(k))
    if owner.__module__.startswith("minicnn."):
        # No __init__ of the user's: Keras' base Layer's arguments (a model's: none).
        if args:
            return None
        model = getattr(cls, "is_model", False)
        found = {**({} if model else {**_KERAS_LAYER_ARGUMENTS, "autocast": True}), **kwargs}
    else:
        signature = inspect.signature(cls.__init__)
        try:
            bound = signature.bind(None, *args, **kwargs)
        except TypeError:
            return None
        bound.apply_defaults()
        found = {}
        for key, value in list(bound.arguments.items())[1:]:
            kind = signature.parameters[key].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    return None
            elif kind is inspect.Parameter.VAR_KEYWORD:
                found.update(value)
            else:
                found[key] = value
    found.pop("name", None)
    return found if is_plain(found) else None


def _plain(value: Any, like: Any = None) -> Any:
    """Lists for tuples; a number for a tuple of it where ``like`` is a tuple (Keras'
    ``dilation_rate=1`` for (1, 1))."""
    if isinstance(like, tuple) and isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * len(like)
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _take_keras_default(owner: str, key: str, value: Any, default: Any) -> None:
    """Keras' argument ``key`` as minicnn's layer takes it: at Keras' default (or None,
    Keras' "the default") only."""
    if value is not None and _plain(value, default) != _plain(default):
        raise ValueError(
            f"{owner}: minicnn computes Keras' {key}={default!r} only; got {key}={value!r}."
        )


def _dict_restored(user_call: Any) -> Any:
    """A user's call given back the dict its layer was called on (which goes through
    minicnn as a list, in the keys' sorted order)."""

    @functools.wraps(user_call)
    def call(self: Layer, *args: Any, **kwargs: Any) -> Any:
        keys = self.__dict__.get("_input_dict_keys")
        x = args[0] if args else None
        if keys is not None and isinstance(x, (list, tuple)) and len(x) == len(keys):
            by_key = dict(zip(keys, x, strict=True))  # in the order the dict came in
            x = {k: by_key[k] for k in self.__dict__.get("_input_dict_order", keys)}
            args = (x, *args[1:])
        return user_call(self, *args, **kwargs)

    return call


def is_symbolic(x: Any) -> bool:
    """Whether x is a symbolic tensor, or a non-empty list of them."""
    if isinstance(x, (list, tuple)):
        return bool(x) and all(isinstance(t, SymbolicTensor) for t in x)
    return isinstance(x, SymbolicTensor)


def _describe_inputs(x: Any) -> str:
    if isinstance(x, (list, tuple)):
        return f"a list of {len(x)}"
    return "one tensor"


class _Activated(Layer):
    """A layer with a kernel, an optional bias and an activation: activation(transform(x)).

    The model may fuse the last softmax into the loss; a ReLU is fused into the bias pass.
    """

    def __init__(
        self,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activation, self.activation_name = activations.resolve(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._init_names = (
            initializers.config_of(kernel_initializer),
            initializers.config_of(bias_initializer),
        )

    def _kernel_and_bias(self, kernel_shape: Shape) -> list[np.ndarray]:
        """Initial weights: the kernel, then a bias of its last dimension when used."""
        weights = [self.kernel_initializer(kernel_shape)]
        if self.use_bias:
            weights.append(self.bias_initializer((kernel_shape[-1],)))
        return weights

    # Where the bias sits among the weights: after the kernel (after both kernels in
    # SeparableConv2D).
    bias_index = 1

    def _bias_size(self) -> int:
        """The number of output channels, which the bias has one entry for."""
        return self._weights[0].shape[-1]

    def _bias(self, dtype: Any) -> Any:
        """The bias weight, or zeros of its size when the layer has none."""
        if self.use_bias:
            return self._weights[self.bias_index]
        xp = backend.get_array_module(self._weights[0].data)
        return xp.zeros(self._bias_size(), dtype)

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        """The layer before its activation (or with a fused ReLU when ``relu``)."""
        raise NotImplementedError

    def call(self, x: Tensor, training: bool) -> Tensor:
        if self.activation_name == "relu":
            return self.transform(x, relu=True)
        return self.activation(self.transform(x))

    @property
    def losses(self) -> list[Tensor]:
        # A quantized kernel is a constant: only the bias's penalty (and LoRA's) remain.
        pairs = [] if self.quantization_mode else [(self.kernel_regularizer, 0)]
        if self.use_bias:
            pairs.append((self.bias_regularizer, self.bias_index))
        return self._penalties(pairs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": activations.config_entry(self.activation_name or "linear"),
            "use_bias": self.use_bias,
            "kernel_initializer": self._init_names[0],
            "bias_initializer": self._init_names[1],
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            **self._constraint_config(),
        }

    def _constraint_config(self) -> dict[str, Any]:
        return {
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    def _attach_constraints(self) -> None:
        self._weights[0].constraint = self.kernel_constraint
        if self.use_bias:
            self._weights[self.bias_index].constraint = self.bias_constraint


def _unpickled_layer(
    cls: type, config: dict[str, Any], built: Any, store: dict[str, Any], device: str
) -> Layer:
    """A pickled layer made again: from its config, built as it was, with its state."""
    layer = cls.from_config(config)
    if built is not None:
        layer.build_from_config(built)
    if store:
        layer.load_own_variables(store)
    if backend.device_here(device) == "gpu":
        layer.to("gpu")
    return layer


# The base build too takes Keras' shapes from a user's code (Flatten().build((None, 4, 4))),
# and what the base __call__ does (build, output shapes) is minicnn's own code.
Layer.build = _taking_keras_shapes(Layer.build)  # type: ignore[method-assign]
Layer.__call__ = _in_sample_shapes(Layer.__call__, True)  # type: ignore[method-assign]


# A channels_first layer's compute_output_shape (a partial of it, see _wrap_channels_first),
# taking Keras' shapes from a user's code as the class's own does.
_channels_first_shape = _taking_keras_shapes(_channels_first_sample_shape)
