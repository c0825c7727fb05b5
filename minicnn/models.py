"""``Model`` (functional) and ``Sequential``: build, summary, the forward pass, weights,
save; compile and the loss of a batch come from ``compiling.Compiler``, fit, evaluate and
predict from ``training.Trainer``."""

from __future__ import annotations

import functools
import inspect
import json
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, functional, layer_base, optimizers, registry, tree
from . import metrics as metrics_module
from .autograd import Tensor, assignments_undone, no_grad
from .callbacks import (
    History,
)
from .compiling import Compiler
from .data_checks import fits
from .fileio import may_overwrite
from .graph_losses import GraphLosses
from .graph_step import CapturedTrainStep
from .layer_base import is_symbolic, sample_shape
from .layers import LAYER_CLASSES, Input, Layer
from .mixed_precision import mixed_config, restore_mixed
from .name_scopes import current_path, joined
from .state_tree import StateTree
from .summary import print_summary
from .training import Trainer, TrainingDivergedError  # noqa: F401 - re-exported


class Model(GraphLosses, StateTree, Layer, Compiler, Trainer):
    """A functional model, as Keras' ``Model(inputs, outputs)``: layers called on an
    ``Input`` and on each other's outputs, with branches and merges (``Add``,
    ``Concatenate``, ...), from one input to one output; each layer is used once.
    ``Sequential`` is the linear special case, and shares everything else: summary, compile,
    fit, evaluate, predict, weights and saving.

    A model is a layer too, as in Keras: it may be a layer of another model (a block of
    augmentation layers, a base network to freeze), and its weights are the outer model's.

    ``device`` is 'cpu', 'gpu' or 'auto' (the GPU when CuPy sees one); None reads
    $MINICNN_DEVICE, else 'auto'. ``to(device)`` moves a model later.
    """

    is_model = True
    # Keras 3's model.metrics (the loss tracker, the compiled ones, ...), not a layer's.
    metrics = Compiler.metrics

    _default_name = "functional"
    keras_class_name = "Functional"  # what Keras' summary calls it as a layer

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickling (and ``copy.deepcopy``, joblib, scikit-learn's persistence) keeps what
        ``save`` keeps: architecture, weights, compile settings and optimizer state; a model
        not built yet keeps its config. As in Keras, custom layers must be registered."""
        from . import saving

        if self._subclassed:
            return self._reduce_subclassed()
        if not self.built:
            self._require_config("pickle")
            return (_from_pickled_config, (type(self), self._own_config(), self.device))
        return (saving.model_from_bytes, (saving.model_to_bytes(self), self.device))

    def _reduce_subclassed(self) -> tuple[Any, tuple[Any, ...]]:
        """A subclassed model pickles as Keras' does: by its class (importable, as pickle
        needs) and the config its own ``get_config`` gives, with its build and weights (not
        its compile state). A class without its own ``get_config`` is refused: its
        architecture is its code, which its config would not rebuild."""
        if not self._has_config():
            raise TypeError(
                f"pickle: Model '{self.name}' is a subclassed model without its own "
                "get_config, made with arguments a config cannot hold, so nothing rebuilds it. "
                "Give its class get_config (its __init__'s arguments, as in Keras), or pickle "
                "its weights (get_weights)."
            )
        built = self.built and self.sample_input_shape is not None
        return (
            _unpickled_subclass,
            (
                type(self),
                self.get_config(),
                self.get_build_config() if built else None,
                self.get_weights() if built else None,
                self.device,
            ),
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__ and not cls.__module__.startswith("minicnn."):
            cls.build = _user_model_build(cls.__dict__["build"])

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        # Model(inputs, outputs) makes a Functional, as Keras' does (its type's name).
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            cls = Functional
        return super().__new__(cls, *args, **kwargs)  # a user's class: its arguments kept

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        name: str | None = None,
        device: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
    ):
        if inputs is None and outputs is None and type(self).call is not Model.call:
            # Keras' (and PyTorch's) subclassing: the layers are what __init__ assigns to the
            # model, and call() is the forward pass, run as it is written. Named after its
            # class, as Keras names it ("my_model").
            self._setup(
                name or backend.unique_name(backend.snake_case(type(self).__name__)), device
            )
            self._subclassed = True
            self._keras_arguments(trainable, dtype)
            return
        if inputs is None or outputs is None:
            raise TypeError(
                "Model(inputs, outputs) builds a functional model from an Input and the "
                "output of layers called on it; for a stack of layers use Sequential, or "
                "subclass Model with layers assigned in __init__ and a call(x, training)."
            )
        self._setup(name, device)
        self._keras_arguments(trainable, dtype)
        # Keras' dicts of inputs and outputs: data and results are dicts by these keys,
        # which Keras puts in sorted order (its tree.flatten): model.inputs, outputs, their
        # shapes, the layers' order and so the weights' follow it.
        self._input_keys = sorted(inputs) if isinstance(inputs, dict) else None
        self._output_keys = sorted(outputs) if isinstance(outputs, dict) else None
        # Whether they came as lists (Keras' config keeps one tensor, or a list of one).
        self._listed_ends = (isinstance(inputs, (list, tuple)), isinstance(outputs, (list, tuple)))
        inputs = [inputs[k] for k in self._input_keys] if isinstance(inputs, dict) else inputs
        outputs = [outputs[k] for k in self._output_keys] if isinstance(outputs, dict) else outputs
        self._traced_inputs = functional.as_list(inputs, "inputs")
        traced = functional.trace(inputs, outputs)
        _, self._graph, self._output_slots, self._graph_inputs = traced[:4]
        self._operations = functional.keras_layer_order(self._graph, self._output_slots)
        self._fixed_training, self._call_arguments = traced[4], traced[5]
        self._node_calls = traced[6]
        self._graph_outputs = functional.as_list(outputs, "outputs")
        for t in self._graph_outputs:
            if t.batch_value:
                raise ValueError(
                    f"Model outputs give a result per sample; {t!r} is one value for the whole "
                    "batch (a reduction over the batch axis): add it with model.add_loss or "
                    "model.add_metric."
                )
        shapes = [t.sample_shape for t in self._graph_inputs]
        self.sample_input_shape = shapes[0] if len(shapes) == 1 else shapes
        # As a layer of another model, one of several inputs takes a list of them.
        self.takes_list = len(shapes) > 1
        self.to(self.device)

    def _setup(self, name: str | None, device: str | None) -> None:
        from .mixed_precision import global_policy

        self._dtype_policy = global_policy()  # compile's loss scaling reads it, as Keras'
        self._subclassed = False
        self._fixed_training: dict[int, bool] = {}  # node -> the training its call fixed
        self._call_arguments: dict[int, dict] = {}  # node -> its call's own arguments
        self._call_losses: list[Tensor] = []
        self._weight_penalties: list[Any] = []
        self._traced_inputs: list[Any] = []  # as Model(inputs, ...) was given them
        self._added_losses: list[Any] = []  # functional add_loss's symbolic tensors
        self._added_metrics: list[tuple[Any, str]] = []  # and add_metric's, with their names
        self._added_slots: list[int] = []  # the graph's slots of both, losses first
        self._metric_means: list[Any] = []  # the added metrics' values of the last pass
        self._metric_rows = 0  # and its batch size
        self._added_trackers: list[metrics_module.Metric] = []  # what logs them
        self._input_keys: list[str] | None = None
        self._output_keys: list[str] | None = None
        self._graph: list[functional.Node] = []
        self.device = backend.resolve_device(device)
        self.name = name or backend.unique_name(self._default_name)
        self._operations: list[Layer] = []
        self._trainable = True  # the model's own flag (see ``trainable``)
        self._build_batch: int | None = None  # the batch size first built for, as Keras keeps
        self.sample_input_shape: tuple[int, ...] | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: Any = None
        self._default_loss = False  # compile was given no loss (see Compiler.compile)
        self._compiled_metrics: list[metrics_module.Metric] = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.compiled = False
        self.jit_compile = False
        self.run_eagerly = False  # as in Keras: True keeps fit's step out of a CUDA graph
        self.steps_per_execution = 1
        self._captured_step: CapturedTrainStep | None = None
        self.history: History | None = None
        self.stop_training = False  # a callback sets it to end fit after the current step
        self._graph_inputs: list[Input] = []
        self._graph_outputs: list[Any] = []
        self._output_slots: list[int] = []
        self.loss_weights: list[float] | None = None
        self._metric_heads: list[int] = []  # which output each metric reads (several outputs)
        self._one_loss_weight = 1.0

    def _require_graph(self) -> None:
        if not self._graph_inputs:
            raise ValueError(f"Model '{self.name}' has no input yet: give it an Input shape.")

    @property
    def input(self) -> Any:
        """The model's symbolic input (Keras' ``model.input``; a list for several)."""
        self._require_graph()
        return self._graph_inputs[0] if len(self._graph_inputs) == 1 else self._graph_inputs

    @property
    def output(self) -> Any:
        """The model's symbolic output (Keras' ``model.output``; a list for several)."""
        self._require_graph()
        return self._graph_outputs[0] if len(self._graph_outputs) == 1 else self._graph_outputs

    @property
    def inputs(self) -> list[Input]:
        self._require_graph()
        return list(self._graph_inputs)

    @property
    def outputs(self) -> list[Any]:
        self._require_graph()
        return list(self._graph_outputs)

    # A subclassed model's input as its first call gave it: None (one tensor), the keys of
    # a dict (sorted, as Keras flattens dicts), or the length of a list or tuple.
    _input_tree: Any = None

    @property
    def _input_count(self) -> int:
        if self._subclassed:
            tree = self._input_tree
            return 1 if tree is None else tree if isinstance(tree, int) else len(tree)
        return max(1, len(self._graph_inputs))

    @property
    def _output_count(self) -> int:
        if self._subclassed:  # its first call tells: a list of outputs, or one
            shape = self.__dict__.get("_subclass_output_shape")
            return len(shape) if isinstance(shape, list) else 1
        return max(1, len(self._output_slots))

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that make the outputs (Keras' ``output_names``), or the
        keys of a dict of outputs: the prefixes of a model with several outputs' log keys."""
        if self._output_keys is not None:
            return list(self._output_keys)
        if self._subclassed:  # its outputs have no layers of their own to name them
            return [f"output_{i}" for i in range(self._output_count)]
        return [t.layer.name for t in self._graph_outputs]

    @property
    def input_names(self) -> list[str]:
        """The names of the Inputs, or the keys of a dict of inputs: a dict of data is read
        by them."""
        if self._input_keys is not None:
            return list(self._input_keys)
        tree = self._input_tree
        if self._subclassed and tree is not None:  # a dict's keys, or a list's places
            return list(tree) if isinstance(tree, tuple) else [f"input_{i}" for i in range(tree)]
        return [t.name for t in self._graph_inputs]

    def _as_output_list(self, values: Any) -> Any:
        """A dict by output name as the list of outputs (anything else as it is); a
        subclassed model's nest of outputs as the list of its leaves."""
        if self.__dict__.get("_output_tree") is not None and tree.is_nested(values):
            return tree.flatten(values)
        if not isinstance(values, dict):  # (the names are read only for a dict)
            return values
        return self._listed_by_name(values, self.output_names, "output")

    def _listed_by_name(self, values: Any, names: list[str], kind: str) -> Any:
        """A dict by input (output) name as the list in the model's order, one value alone
        (anything else as it is)."""
        if not isinstance(values, dict) or self._subclassed:
            return values
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"Model '{self.name}': no value for the {kind}s {missing}.")
        listed = [values[n] for n in names]
        return listed if len(listed) > 1 else listed[0]

    def _structured(self, outputs: Any) -> Any:
        """The outputs as the model was given them: a dict by key for a dict of outputs; a
        subclassed model's in the nest its call returns."""
        nest = self.__dict__.get("_output_tree")
        if nest is not None and isinstance(outputs, (list, tuple)):
            return tree.pack_sequence_as(nest, list(outputs))
        if self._output_keys is None:
            return outputs
        listed = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return dict(zip(self._output_keys, listed, strict=True))

    def __setattr__(self, name: str, value: Any) -> None:
        """A subclassed model tracks the layers its code assigns (one, or a list of them), in
        the order of assignment, as Keras does: they are its layers and hold its weights."""
        if not name.startswith("_") and name != "layers":
            if isinstance(value, dict):  # a dict of layers, as Keras tracks it
                found = list(value.values())
            else:
                found = value if isinstance(value, (list, tuple)) else [value]
            for item in found:
                self._track_assigned(item)
            if type(value) is list and getattr(self, "_subclassed", False):
                value = layer_base.TrackedList(value, self._track_assigned)
            elif type(value) is dict and getattr(self, "_subclassed", False):
                value = layer_base.TrackedDict(value, self._track_assigned)
        super().__setattr__(name, value)

    def _track_assigned(self, item: Any) -> None:
        if (
            getattr(self, "_subclassed", False)
            and isinstance(item, Layer)
            and all(item is not k for k in self._operations)
        ):
            item.to(self.device)
            self._operations.append(item)
        elif getattr(self, "_subclassed", False) and getattr(item, "is_variable", False):
            self._own_variables()._hold_variable(item)  # a weight of the model's own
        elif getattr(item, "is_metric", False):  # Keras logs it after compile's
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if all(item is not m for m in tracked):
                tracked.append(item)

    @property
    def serializable(self) -> bool:
        """Whether ``get_config`` rebuilds the model: not a subclassed one, nor one with a
        Lambda layer (their architecture is Python code)."""
        return not self._subclassed and all(layer.serializable for layer in self._operations)

    def _has_config(self) -> bool:
        """Whether a subclassed model's config makes it again: its class's own get_config,
        or Keras' automatic one (the plain arguments it was made with)."""
        own = type(self).get_config is not Model.get_config
        return own or self.__dict__.get("_init_arguments") is not None

    def _require_config(self, what: str, subclass_with_config: bool = False) -> None:
        """Refuse ``what`` for a model whose architecture a config does not hold; with
        ``subclass_with_config``, a subclassed model whose class has its own get_config
        passes (Keras' file holds its class's name and config, as Keras writes it)."""
        if self._subclassed and subclass_with_config and not self._has_config():
            raise TypeError(
                f"{what}: Model '{self.name}' is a subclassed model without its own "
                "get_config, made with arguments a config cannot hold; give its class one "
                "(its __init__'s arguments, with super().get_config()) and register it "
                "(saving.register_keras_serializable), as Keras needs, or save its weights "
                "with save_weights."
            )
        if self._subclassed and not subclass_with_config:
            raise TypeError(
                f"{what}: Model '{self.name}' is a subclassed model, whose architecture is its "
                "Python code, which a file cannot hold. Save its weights with save_weights and "
                "load them into a new instance with load_weights."
            )
        for layer in self._operations:
            if not layer.serializable:
                raise TypeError(
                    f"{what}: {layer.describe()} runs Python code, which a file cannot hold "
                    "(a Lambda of a function defined at a module's top level is saved by "
                    "name). Save the weights with save_weights, and build the model in code "
                    "again to load them with load_weights."
                )

    def _call_default(self) -> bool:
        """The training a call without one runs in (no enclosing call giving one): a
        subclassed model's ``call(x, training=True)`` default, as Keras reads it, else
        inference."""
        if not self._subclassed:
            return False
        parameter = inspect.signature(self.call).parameters.get("training")
        default = None if parameter is None else parameter.default
        return default if isinstance(default, bool) else False

    def _run_call(self, x: Tensor, training: bool) -> Tensor:
        """A subclassed model's call(), given ``training`` when it takes it, and its input
        in the structure its first call had (a dict by key, a list)."""
        given = self._input_tree
        if given is not None:
            leaves = list(x) if isinstance(x, (list, tuple)) else [x]
            x = dict(zip(given, leaves, strict=True)) if isinstance(given, tuple) else leaves
        if "training" in inspect.signature(self.call).parameters:
            out = self.call(x, training=training)
        else:
            out = self.call(x)
        if _nests_outputs(out):  # (CaiT's logits and dicts of attention scores)
            self.__dict__.setdefault("_output_tree", tree.map_structure(lambda _: None, out))
            return tree.flatten(out)  # on as several outputs, repacked for the caller
        return out

    def __repr__(self) -> str:
        """Keras' ``<Sequential name=sequential, built=True>``, and the model's device."""
        kind = type(self).__name__ if self._subclassed else self.keras_class_name
        return f"<{kind} name={self.name}, built={self.built}, device={self.device}>"

    @property
    def input_shape_hint(self) -> tuple[int, ...] | None:
        """As a first layer without an Input, the model's own input shape."""
        return self.sample_input_shape

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None, device: str | None = None
    ) -> Model:
        """The model that ``get_config`` described (Keras' ``Functional`` config), with new
        layers; ``custom_objects`` names the user's classes in it, as in Keras."""
        if custom_objects is not None:
            with registry.custom_object_scope(custom_objects):
                return cls.from_config(config, device=device)
        if "layers" not in config:  # a user's model class's config: its arguments (Keras')
            return cls(**_init_taking(cls, config))
        if _is_keras_config(config):
            return _from_keras_config(config, "Functional", device)
        model_inputs, outputs, tensors = functional.rebuild(config, layer_class)
        inputs: Any = model_inputs[0] if len(model_inputs) == 1 else model_inputs
        if config.get("input_keys") is not None:
            inputs = dict(zip(config["input_keys"], model_inputs, strict=True))
        given: Any = outputs[0] if len(outputs) == 1 else outputs
        if config.get("output_keys") is not None:
            given = dict(zip(config["output_keys"], outputs, strict=True))
        model = Model(inputs, given, name=config["name"], device=device)
        if config.get("added_losses"):
            model.add_loss([tensors[ref] for ref in config["added_losses"]])
        for ref, name in config.get("added_metrics", []):
            model.add_metric(tensors[ref], name=name)
        return restore_mixed(_frozen_as_saved(model, config), config)

    def to(self, device: str) -> Model:
        """Move weights and optimizer state to 'cpu', 'gpu' or 'auto'; returns the model."""
        self.device = backend.resolve_device(device)
        self._captured_step = None
        for layer in self._operations:
            layer.to(self.device)
        if self.optimizer is not None:
            self.optimizer.to(self.device)
        return self

    def _nodes(self) -> list[functional.Node]:
        """The graph: each layer with the slots of its inputs (see ``functional.Node``); a
        subclassed model's layers are listed as a chain (its graph is its code)."""
        if self._subclassed:
            return [(layer, (i,)) for i, layer in enumerate(self._sublayers())]
        return self._graph

    def _sublayers(self) -> list[Layer]:
        """A subclassed model's layers, without the holder of its own weights."""
        return [la for la in self._operations if not isinstance(la, ModelVariables)]

    def add_weight(self, *args: Any, **kwargs: Any) -> Tensor:
        """Keras' ``add_weight`` in a subclassed model's ``__init__`` or ``build`` (a learned
        query, a temperature): a weight of the model itself, listed before its layers'
        weights and saved with them, as in Keras."""
        holder = self._own_variables()
        with self._name_scope():  # under the model's path ("my_model/token"), as Keras'
            scope = current_path()
            weight = Layer.add_weight(holder, *args, **kwargs)
        weight.path, weight.scope = joined(scope, weight.name), scope
        return weight

    add_variable = add_weight

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Build for ``get_build_config``'s input shape; a subclassed model keeps its batch
        size too, as its own build is given it (and Keras' summary shows it)."""
        shape = (config or {}).get("input_shape")
        if self._subclassed and isinstance(shape, (list, tuple)) and shape:
            first = shape[0] if isinstance(shape[0], (list, tuple)) else shape
            if first and isinstance(first[0], int):
                self._build_batch = first[0]
        super().build_from_config(config)

    def _held_variables(self) -> ModelVariables | None:
        """The holder of a subclassed model's own weights, if it has any."""
        first = self._operations[0] if self._operations else None
        return first if isinstance(first, ModelVariables) else None

    def _own_variables(self) -> ModelVariables:
        """The holder of a subclassed model's own weights, made at the first of them."""
        if not self._subclassed:
            raise TypeError(
                f"add_weight: Model '{self.name}' is not a subclassed model; a weight of its "
                "own belongs in a layer of it (a Layer subclass that adds it in build)."
            )
        held = self._held_variables()
        if held is not None:
            return held
        holder = ModelVariables(self)
        self._operations.insert(0, holder)
        return holder

    def build(self, input_shape: Any) -> None:
        """Keras' ``model.build(input_shape)``: the shape of a batch, its size first
        (``build((None, 784))``, ``build((1, 28, 28, 1))``; a list of them for several
        inputs)."""
        first = tuple(input_shape)
        if first and not isinstance(first[0], (list, tuple)):
            self._build_batch = first[0]  # a Sequential's Input takes it, as Keras' does
        self._build_sample_shape(_batch_dropped(input_shape))

    def _build_sample_shape(self, input_shape: Any) -> None:
        """A functional model is built by its Input; this checks that samples fit it. A
        subclassed model is built by running call() once on a sample of zeros: each layer
        makes its weights when it is first called, as in Keras."""
        if self._subclassed:
            several = isinstance(input_shape, list)
            if type(self).build is not Model.build and not self.__dict__.get("_in_user_build"):
                # The class's own build, as Keras calls it on the first call's shapes (a
                # batch's, its size first); it makes the model's weights and layers there.
                batch = self._build_batch
                self.build([(batch, *s) for s in input_shape] if several else (batch, *input_shape))
                return
            if several and self._input_tree is None:
                self._input_tree = len(input_shape)  # build([shape, shape]): a list
            shape = [sample_shape(s) for s in input_shape] if several else sample_shape(input_shape)

            logs: list[dict] = []

            def probed(sizes: tuple[int, ...]) -> Any:
                with layer_base.logging_shapes() as log, assignments_undone():
                    logs.append(log)
                    return self._zeros_output_shape(sizes)

            self.sample_input_shape = shape  # None sizes: the shapes are found at two sizes
            with self._name_scope():  # its layers' weights under its name, as in Keras
                self._subclass_output_shape = layer_base.sizes_found(probed, shape)
            if len(logs) == 2:  # each layer's shapes, None where they vary
                layer_base.settle_logged_shapes(logs)
            self._compile_pending()  # compile's losses per output, now that they are known
            return
        if self._input_count > 1:
            shapes = [sample_shape(shape) for shape in input_shape]
            if len(shapes) != len(self.sample_input_shape) or not all(
                fits(s, d) for s, d in zip(shapes, self.sample_input_shape, strict=True)
            ):
                raise ValueError(
                    f"Model '{self.name}' takes samples of shapes {self.sample_input_shape}, "
                    f"got {shapes}."
                )
            return
        if not fits(input_shape, self.sample_input_shape):
            raise ValueError(
                f"Model '{self.name}' takes samples of shape {self.sample_input_shape}, got "
                f"{tuple(input_shape)}."
            )

    @property
    def built(self) -> bool:
        if self._subclassed:  # a layer that call() never uses stays unbuilt, as in Keras
            return self.sample_input_shape is not None
        return self.sample_input_shape is not None and all(
            layer.built for layer in self._operations
        )

    @property
    def sample_output_shape(self) -> Any:
        """The output's shape of one sample (batch axis left out); a list for several."""
        self._require_built()
        if self._subclassed:
            return self._subclass_output_shape
        if self._output_count > 1:
            return [t.sample_shape for t in self._graph_outputs]
        if self._graph_outputs:
            return self._graph_outputs[0].sample_shape
        return (
            self._operations[-1].sample_output_shape
            if self._operations
            else self.sample_input_shape
        )

    @property
    def input_shape(self) -> Any:
        """Keras' ``model.input_shape``: the batch axis first (None, or Input's batch_size);
        a list for several inputs."""
        self._require_built()
        return self._keras_shapes(self._graph_inputs, self.sample_input_shape)

    @property
    def output_shape(self) -> Any:
        """Keras' ``model.output_shape``: the batch axis first; a list for several outputs."""
        outputs = [] if self._subclassed else self._graph_outputs
        return self._keras_shapes(outputs, self.sample_output_shape)

    def _keras_shapes(self, tensors: list[Any], shapes: Any) -> Any:
        if tensors and len(tensors) > 1:
            return [t.shape for t in tensors]
        if tensors and not isinstance(shapes, list):
            return tensors[0].shape
        return None if shapes is None else layer_base.to_keras_shapes(shapes)

    def _require_built(self) -> None:
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' has not been built yet: give it an Input(shape=...) first "
                "or call build(input_shape), fit or predict."
            )

    @property
    def weights(self) -> list[Tensor]:
        """Every weight once, as Keras lists them: a layer that two nested models share
        (an encoder cut from a model, beside that model) gives its weights once."""
        return _once(w for layer in self._operations for w in layer.weights)

    @property
    def trainable_weights(self) -> list[Tensor]:
        """The weights the optimizer updates (each once): none of a frozen layer, no moving
        statistics; none at all of a frozen model (as in Keras, even where a layer inside
        was unfrozen after it)."""
        if not self.trainable:
            return []
        return _once(w for layer in self._operations for w in layer.trainable_weights)

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        if not self.trainable:
            return self.weights
        return _once(w for layer in self._operations for w in layer.non_trainable_weights)

    @property
    def trainable(self) -> bool:
        """The model's own flag, as Keras': what was last set on it (True at first)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """``model.trainable = False`` freezes every layer, as in Keras."""
        self._trainable = bool(value)
        for layer in self._operations:
            layer.trainable = value

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Keras' ``model.compute_output_shape((None, 28, 28, 1))``: the output's shape for
        input of that shape, the batch axis first (one per output for several); sizes the
        model leaves open come out as that input gives them."""
        return self._zeros_output_shape(input_shape)

    def _takes_input_tree(self, x: Any) -> bool:
        """Whether x is a subclassed model's structured input, as Keras takes it: a dict of
        arrays, or a list or tuple of them. The first one fixes the structure of the model's
        input (``_input_tree``); another one must have it."""
        if isinstance(x, dict):
            leaves = list(x.values())
        elif isinstance(x, (list, tuple)) and x:
            leaves = list(x)
            if not all(hasattr(v, "shape") for v in leaves):
                return False  # a list of samples, not of inputs
        else:
            return False
        tree = tuple(sorted(x)) if isinstance(x, dict) else len(leaves)
        if self._input_tree is None and not self.built:
            self._input_tree = tree
        elif isinstance(self._input_tree, tuple) and tree == len(self._input_tree):
            return True  # a dict's values, flattened in its keys' order (fit's batches)
        elif self._input_tree != tree:
            raise ValueError(
                f"Model '{self.name}' takes {self._describe_tree(self._input_tree)}; got "
                f"{self._describe_tree(tree)}."
            )
        return True

    @staticmethod
    def _describe_tree(tree: Any) -> str:
        if tree is None:
            return "one array"
        return f"a dict of {list(tree)}" if isinstance(tree, tuple) else f"a list of {tree}"

    def _zeros_output_shape(self, input_shape: Any) -> Any:
        """The output's shape (a list for several outputs) of a pass on one sample of
        zeros of ``input_shape`` (a list of shapes for several inputs), no graph recorded."""
        several = isinstance(input_shape, list)
        # A subclassed model's pass is on its first batch's size, as Keras' first call
        # builds its layers (a Sequential built on data keeps that size).
        batch = (self._build_batch or 1) if self._subclassed else 1
        zeros = [
            Tensor(backend.to_device(np.zeros((batch, *shape), backend.FLOAT), self.device))
            for shape in (input_shape if several else [input_shape])
        ]
        with no_grad():
            out = self._forward(zeros if several else zeros[0], False)
        if isinstance(out, (list, tuple)):
            return [tuple(o.shape[1:]) for o in out]
        return tuple(out.shape[1:])

    def count_params(self) -> int:
        self._require_built()
        return int(sum(w.data.size for w in self.weights))

    def quantize(
        self, mode: str | None = None, config: Any = None, filters: Any = None, **kwargs: Any
    ) -> None:
        """Keras' ``model.quantize("int8")`` or ``("int4")``: every Dense, EinsumDense and
        Embedding layer (nested ones too; ``filters``: only those whose name matches a
        regex, one of a list of them, or for which a function says True) keeps its matrix
        quantized with its scales (``minicnn.quantization``; ``config``:
        ``quantizers.Int4QuantizationConfig(block_size=...)``, say); compile again before
        training (what trains is the biases and any LoRA enabled later)."""
        import re

        from .quantization import resolve_quantization

        unknown = set(kwargs) - {"type_check"}
        if unknown:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {unknown}"
            )
        resolve_quantization(mode, config, f"Model '{self.name}'")
        if filters is not None and not isinstance(filters, (str, list, tuple)):
            if not callable(filters):
                raise ValueError(
                    "The `filters` argument must be a regex string, a list of regex strings, "
                    f"or a callable. Received: {type(filters)}"
                )
        self._require_built()

        def chosen(layer: Layer) -> bool:
            if filters is None:
                return True
            if callable(filters):
                return bool(filters(layer))
            patterns = [filters] if isinstance(filters, str) else list(filters)
            return any(re.search(pattern, layer.name) for pattern in patterns)

        quantizable = [
            layer
            for layer in self._all_layers()
            if hasattr(layer, "quantize") and not getattr(layer, "is_model", False)
        ]
        for layer in quantizable:
            if layer.quantization_mode is None and chosen(layer):
                layer.quantize(mode, config=config)
        self._captured_step = None

    @property
    def layers(self) -> list[Layer]:
        """Keras' ``model.layers``: a functional model's InputLayers and layers in Keras'
        order, without the ops of its graph (``x + y``, ``ops.relu(x)``, ``x[:, 0]``, which
        ``operations`` lists too); a Sequential's layers; a subclassed model's, as its code
        assigned them. A new list each time, as in Keras."""
        return [
            layer
            for layer in self._operations
            if not layer.keras_operation
            and not getattr(layer, "selects_output", False)
            and not isinstance(layer, ModelVariables)
        ]

    @layers.setter
    def layers(self, _: Any) -> None:
        raise AttributeError(
            "`Model.layers` is reserved and cannot be assigned (as in Keras): give the "
            "attribute another name; a Sequential's layers change by add() and pop()."
        )

    @property
    def operations(self) -> list[Layer]:
        """Keras' ``model.operations``: the layers and the ops of the graph, in Keras' order."""
        return [
            la
            for la in self._operations
            if not getattr(la, "selects_output", False) and not isinstance(la, ModelVariables)
        ]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Keras' ``get_layer``: a layer of ``model.layers`` by its name or its index."""
        if index is not None and name is not None:
            raise ValueError(
                f"Provide only a layer name or a layer index. Received: index={index}, name={name}."
            )
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model "
                    f"'{self.name}' only has {len(layers)} layers."
                )
            return layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No layer named {name!r} in model '{self.name}'. Existing layers are: "
            f"{[layer.name for layer in layers]}."
        )

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Callable[[str], Any] | None = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Keras' table of layers, output shapes and parameter counts; ``show_trainable``
        adds Keras' Trainable column (Y, N, or - for a layer without weights),
        ``expand_nested`` lists a nested model's layers under it (indented with "└"), and
        ``layer_range`` (two regular expressions of layer names) limits the rows, as in
        Keras 3; sized as Keras sizes it for the terminal (``line_length`` and
        ``positions``, fractions of the line, as in Keras), long names broken between words
        and cut with "…" as Rich does. A model not built yet shows its layers as Keras does,
        each "?" and "0 (unbuilt)"."""
        print_summary(
            self, print_fn, show_trainable, expand_nested, layer_range, line_length, positions
        )

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self._operations for w in layer.get_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        self._require_built()
        expected = sum(len(layer.weights) for layer in self._operations)
        if len(weights) != expected:
            raise ValueError(
                f"Model '{self.name}' expects {expected} weight arrays, got {len(weights)}."
            )
        i = 0
        for layer in self._operations:
            k = len(layer.weights)
            layer.set_weights(list(weights[i : i + k]))
            i += k

    # -- forward -------------------------------------------------------------------------------
    def __call__(self, x: Any, training: bool | None = None) -> Any:
        """The model on a batch; an array goes to the model's device first (a Tensor as is).
        On a symbolic tensor, the model becomes a layer of the functional model being built.
        ``training`` unset: an enclosing call's, else False (inference)."""
        default = self._call_default() if training is None else False
        given, training = training, layer_base.resolve_training(training, default)
        x = self._listed_by_name(x, self.input_names, "input")
        result = self._called(x, training)
        if is_symbolic(x):
            layer_base.record_training(result, given)
        return self._structured(result)

    def _called(self, x: Any, training: bool) -> Any:
        if is_symbolic(x) and self._output_count > 1:
            return self._connect_outputs(x)
        if self._subclassed and not is_symbolic(x) and self._takes_input_tree(x):
            leaves = [x[k] for k in self._input_tree] if isinstance(x, dict) else list(x)
            if not self.built:  # as Keras builds on the first call's shapes
                self._build_batch = int(leaves[0].shape[0])
                self._build_sample_shape([tuple(t.shape[1:]) for t in leaves])
            x = leaves if len(leaves) > 1 else leaves[0]  # on to the arrays' own call
        if self._input_count > 1:
            if is_symbolic(x):
                return self._connect(list(x))
            tensors = [
                t if isinstance(t, Tensor) else Tensor(backend.to_device(t, self.device)) for t in x
            ]
            return self._masked_forward(tensors, training)
        if is_symbolic(x):
            return self._connect(x)
        out = x if isinstance(x, Tensor) else Tensor(backend.to_device(x, self.device))
        if not self.built:
            self._build_batch = int(out.shape[0])  # as Keras builds on the first call's shape
            self._build_sample_shape(out.shape[1:])
        return self._masked_forward(out, training)

    def _masked_forward(self, x: Any, training: bool) -> Any:
        """The forward pass of an eager call; each output carries its padding mask, as a
        Keras model's does (a train_step of the user's hands it to compute_loss)."""
        masks: list[Any] = []
        result = self._forward(x, training, output_masks=masks)
        layer_base.attach_masks(result, masks)
        return result

    def _connect_outputs(self, x: Any) -> list[Any]:
        """A model of several outputs called in another's graph: one node runs it, and a
        ``SelectOutput`` layer per output hands on its part, as Keras' model[i] tensors."""
        node = self._connect(list(x) if self._input_count > 1 else x)
        return [
            SelectOutput(i, name=backend.unique_name(f"{self.name}_{name}"))(node)
            for i, name in enumerate(self.output_names)
        ]

    def _forward(
        self,
        x: Any,
        training: bool,
        logits: frozenset[int] = frozenset(),
        output_masks: list[Any] | None = None,
    ) -> Any:
        """Run the graph on x (a list for several inputs): the output, or the list of them.
        The outputs whose positions are in ``logits`` come from their layer's ``transform``
        (the pre-activation values), for an activation fused into the loss."""
        if not layer_base._forward_depth[0]:  # a pass of its own: the model's losses anew
            self._call_losses = []
        for layer in self._all_layers():
            layer._clear_losses()
        layer_base._forward_depth[0] += 1
        try:
            with backend.on_device(self.device), layer_base.training_scope(training):
                return self._run_graph(x, training, logits, output_masks)
        finally:
            layer_base._forward_depth[0] -= 1

    def reset_states(self) -> None:
        """Every stateful recurrent layer's states back to zeros (Keras' reset_states)."""
        for layer in self._all_layers():
            if getattr(layer, "stateful", False):
                layer.reset_states()

    def _all_layers(self) -> list[Layer]:
        """The layers, and those of nested models, all the way down."""
        found = []
        for layer in self._operations:
            found.append(layer)
            if isinstance(layer, Model):
                found.extend(layer._all_layers())
        return found

    def _run_graph(
        self, x: Any, training: bool, logits: frozenset[int], output_masks: list[Any] | None
    ) -> Any:
        if self._subclassed:
            return self._run_call(x, training)
        nodes = self._nodes()
        values: list[Any] = list(x) if isinstance(x, (list, tuple)) else [x]
        masks: list[Any] = [None] * len(values)  # each slot's mask (Keras' padding masks)
        first = len(values)  # node k writes slot first + k
        outputs = self._output_slots or [first + len(nodes) - 1]
        fused = {outputs[i] for i in logits}
        kept = {*outputs, *self._added_slots}
        rows = values[0].shape[0]
        last_use = {}
        for k, (_, sources) in enumerate(nodes):
            for s in sources:
                last_use[s] = k
        fixed, arguments = self._fixed_training, self._call_arguments
        # Keras' masks as its run gives them: a layer that takes a mask argument gets the
        # one its graph recorded (``masks``); merges and attention layers read those their
        # inputs carry (``carried``), which a MultiHeadAttention erases from its inputs.
        erased = self._erased_reads(nodes)
        carried = list(masks) if erased else None
        for k, (layer, sources) in enumerate(nodes):
            args = [values[s] for s in sources]
            node_training = fixed.get(k, training) if fixed else training
            arg = args if layer.takes_list else args[0]
            lists = layer.takes_list and getattr(layer, "reads_list_masks", False)
            if layer.takes_list:  # an attention layer or a merge reads its inputs' masks
                mask = [masks[s] for s in sources] if lists else None
            else:
                mask = masks[sources[0]]
            read = mask
            if carried is not None:
                seen = [None if (k, s) in erased else carried[s] for s in sources]
                read = seen if lists else (None if layer.takes_list else seen[0])
            own = arguments.get(k, {}) if arguments else {}
            if first + k in fused:
                values.append(layer.transform(arg))
            else:
                values.append(layer.call_masked(arg, node_training, read if lists else mask, **own))
            # A recurrent layer started from states runs unmasked, as Keras' (its call gets
            # no mask with two tensor arguments), yet its output's mask is of the sequence's.
            started = layer.takes_list and getattr(layer, "passes_first_mask", False)
            if started:
                masks.append(_first_mask(layer, arg, masks[sources[0]], own))
            elif layer.takes_list and mask is None:
                masks.append(None)
            else:
                masks.append(layer.mask_of_call(arg, mask, own))
            if carried is not None and started:
                reached = None if (k, sources[0]) in erased else carried[sources[0]]
                carried.append(_first_mask(layer, arg, reached, own))
            elif carried is not None:
                carried.append(_carried_mask(layer, arg, mask, read, masks[-1], own))
            for s in sources:
                if last_use[s] == k and s not in kept:
                    values[s] = None  # free what no later layer reads
        self._add_graph_values(values, rows)
        results = [values[s] for s in outputs]
        if output_masks is not None:  # the outputs' padding masks, for the loss
            output_masks.extend(masks[s] for s in outputs)
        return results[0] if len(results) == 1 else results

    def _erased_reads(self, nodes: list[Any]) -> frozenset[tuple[int, int]]:
        """The (node, slot) reads that find no mask on the slot's tensor in Keras' run: a
        MultiHeadAttention erases the masks of the tensors it reads (Keras' own quirk),
        so each later call reading them (in Keras' order of running them) finds none."""
        cached = getattr(self, "_erased_cache", None)
        if cached is not None and cached[0] is nodes:
            return cached[1]
        from .attention import erases_input_masks

        readers = [k for k, (layer, _) in enumerate(nodes) if erases_input_masks(layer)]
        found: set[tuple[int, int]] = set()
        if readers:
            from .keras_files import execution_order

            rank = {j: i for i, j in enumerate(execution_order(self))}
            for m in readers:
                read = set(nodes[m][1])
                for k, (_, sources) in enumerate(nodes):
                    if k != m and rank[k] > rank[m]:
                        found.update((k, s) for s in sources if s in read)
        self._erased_cache = (nodes, frozenset(found))
        return self._erased_cache[1]

    @property
    def losses(self) -> list[Tensor]:
        """The layers' weight penalties and losses (Keras' ``model.losses``), and those the
        model's own call added (``self.add_loss`` in a subclassed model's ``call``)."""
        return [penalty for layer in self._operations for penalty in layer.losses] + list(
            self._call_losses
        )

    def _penalized(self, loss: Tensor | None) -> Tensor:
        """The loss plus every weight penalty and added loss, as Keras reports it in training
        and evaluation (None: compiled without a loss, the added losses alone)."""
        for penalty in self.losses:
            loss = penalty if loss is None else loss + penalty
        if loss is None:
            raise ValueError(
                f"Model '{self.name}' has no loss to compute: compile it with a loss, or add "
                "one (model.add_loss)."
            )
        return loss

    # -- training ------------------------------------------------------------------------------
    def _keras_arguments(self, trainable: bool, dtype: Any) -> None:
        """Keras' Model arguments that its configs hold (a subclassed model's base config
        gives them to its ``__init__``): trainable, and a float32 or mixed dtype policy."""
        from .mixed_precision import layer_policy

        if not trainable:
            self.trainable = False
        if dtype is not None:
            self._dtype_policy = layer_policy(dtype)

    def _architecture(self) -> dict[str, Any]:
        """What weight files and checkpoints check against: the config, or, for a
        subclassed model (whose architecture is its code), its layers' classes and
        configs."""
        if not self._subclassed:
            return self._own_config()
        return {
            "name": self.name,
            "class_name": type(self).__name__,
            "input_shape": None
            if self.sample_input_shape is None
            else list(self.sample_input_shape),
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self._operations
            ],
        }

    def get_config(self) -> dict[str, Any]:
        """Keras' config of the model (as its ``get_config`` gives it, and a .keras archive
        holds it); a model Keras' format cannot hold (not built yet, or with a layer Keras'
        files cannot keep) gives minicnn's own. ``from_config`` reads both."""
        if self._subclassed:
            return self._subclassed_config()
        from .keras_files import KerasFileError
        from .keras_writing import model_entry

        try:
            return model_entry(self)["config"] if self.built else self._own_config()
        except (KerasFileError, NotImplementedError, TypeError, ValueError):
            return self._own_config()

    def _subclassed_config(self) -> dict[str, Any]:
        """Keras' base config of a subclassed model, which a get_config of the user's
        extends with its __init__'s arguments ({**super().get_config(), "units": 4})."""
        from .dtype_policies import serialize

        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": serialize(self.dtype_policy),
        }
        captured = self.__dict__.get("_init_arguments")
        if type(self).get_config is Model.get_config and captured:
            # Keras' automatic config: the __init__ arguments it was made with.
            config.update(captured)
        return config

    def _own_config(self) -> dict[str, Any]:
        """minicnn's own config of the model: its graph as minicnn's files keep it (call
        settings, added losses, mixed precision); a subclassed model's is its get_config."""
        if self._subclassed:
            return self.get_config()
        config = functional.graph_config(
            self.name,
            self._nodes(),
            self._output_slots,
            self._fixed_training,
            self._call_arguments,
        )
        for key, value in (("input_keys", self._input_keys), ("output_keys", self._output_keys)):
            if value is not None:
                config[key] = value
        config.update(mixed_config(self))
        if not self.trainable:
            config["trainable"] = False
        if self._added_slots:
            nodes = self._nodes()
            config["inputs"] = [layer.name for layer, _ in nodes[: len(self._graph_inputs)]]
            config["outputs"] = functional.slot_refs(nodes, self._output_slots)
            config.update(self._added_config(functional.slot_refs(nodes, self._added_slots)))
        return config

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as Keras 3's JSON (no weights), as Keras' ``to_json`` writes it
        (what a .keras archive's config.json holds), so that ``keras.models.model_from_json``
        reads it, as ``minicnn.models.model_from_json`` does; ``kwargs`` go to json.dumps.
        A model not built yet, or with a layer that Keras' files cannot hold, is written in
        minicnn's own JSON, which model_from_json reads too."""
        self._require_config("to_json")
        from .keras_files import KerasFileError, keras_document

        try:
            document = keras_document(self) if self.built else None
        except (KerasFileError, NotImplementedError, TypeError, ValueError):
            document = None
        if document is None:
            document = {"class_name": self.keras_class_name, "config": self._own_config()}
        return json.dumps(document, **kwargs)

    def save(
        self, filepath: str | os.PathLike, overwrite: bool = True, zipped: bool | None = None
    ) -> None:
        """Architecture, weights and compile settings in one file, as Keras: a name ending in
        ``.keras`` gives Keras 3's archive (``minicnn.keras_files``; needs h5py), which
        Keras loads too; one ending in ``.h5`` Keras' legacy HDF5 file, in the dialect of
        TensorFlow 2's Keras (``minicnn.keras_legacy_writing``); any other name minicnn's
        own .npz file (``minicnn.saving``), which holds everything minicnn has.
        ``overwrite=False`` asks before replacing a file, as Keras asks. ``zipped=False``
        writes the archive's files into a folder named ``filepath`` instead (not ending in
        ``.keras``, as Keras), which ``load_model`` of either library reads."""
        path = filepath
        if zipped is False and str(path).endswith(".keras"):
            raise ValueError(
                "When using `zipped=False`, the `filepath` argument should not end in "
                f"`.keras`. Received: filepath={path}"
            )
        if not overwrite and not may_overwrite(path):
            return
        self._require_config("save", subclass_with_config=True)
        if zipped is False:
            from .keras_files import save_keras_folder

            save_keras_folder(self, Path(path))
            return
        if str(path).endswith(".h5"):
            self._require_config("save")  # Keras 2's file holds a graph
            from .keras_legacy_writing import save_legacy_h5

            save_legacy_h5(self, Path(path))
            return
        if str(path).endswith(".keras") and self._saved_as_keras_archive(path):
            return
        from .saving import save_minicnn_file

        save_minicnn_file(self, path)

    def _saved_as_keras_archive(self, path: str | os.PathLike) -> bool:
        """``save("m.keras")``: Keras 3's archive, as Keras writes it. A model it cannot hold
        (a layer or graph of minicnn's own, a subclassed model not registered; or no
        h5py) is written as minicnn's own file instead, with a warning saying why: minicnn's
        load_model reads it, Keras cannot."""
        from .keras_files import KerasFileError

        try:
            self.export(path, format="keras")
        except (KerasFileError, NotImplementedError, TypeError, ValueError) as error:
            # (as get_config falls back to minicnn's own config; the write was atomic)
            why = str(error).rstrip(".")
            warnings.warn(
                f"{path}: Keras' .keras archive cannot hold this model ({why}); it is "
                "written as minicnn's own model file, which minicnn's load_model reads "
                "(Keras cannot).",
                stacklevel=3,
            )
            return False
        return True

    def export(self, filepath: str | os.PathLike, format: str = "keras") -> None:
        """The model in a format for other software: ``format="keras"`` writes Keras 3's
        ``.keras`` archive, which ``keras.saving.load_model`` reads (``minicnn.keras_files``;
        needs h5py); ``format="onnx"`` an ONNX graph for inference (``minicnn.onnx_export``;
        no package needed). Keras' SavedModel and OpenVINO exports are not available."""
        if format == "onnx":
            from .onnx_export import export_onnx

            export_onnx(self, filepath)
            return
        if format != "keras":
            raise ValueError(
                f"export: format must be 'keras' (Keras 3's archive) or 'onnx'; got {format!r}. "
                "Keras' SavedModel and OpenVINO exports are not available."
            )
        from .keras_files import save_keras_archive

        self._require_config("export", subclass_with_config=True)
        save_keras_archive(self, Path(filepath))

    def save_weights(self, filepath: str | os.PathLike, overwrite: bool = True) -> None:
        """Only the weights, in one .npz file; ``load_weights`` puts them into a model of the
        same architecture. ``.weights.h5`` gives Keras 3's weight file, another ``.h5`` name
        Keras 2's. ``overwrite=False`` asks before replacing a file, as Keras asks."""
        from .saving import save_weights

        if overwrite or may_overwrite(filepath):
            save_weights(self, filepath)

    def load_weights(
        self, path: str | os.PathLike, skip_mismatch: bool = False, by_name: bool = False
    ) -> None:
        """Weights from ``save_weights`` (or from a ``save``d model file) into this model;
        Keras' weight files too (``by_name`` and ``skip_mismatch`` for Keras 2's ``.h5``)."""
        from .saving import load_weights

        load_weights(self, path, skip_mismatch=skip_mismatch, by_name=by_name)


class Functional(Model):
    """Keras' class of a model that ``Model(inputs, outputs)`` makes: a graph of layers
    from its Inputs to its outputs (all of it is Model's)."""


class Sequential(Model):
    """A linear stack of layers, used the way Keras' Sequential is.

    ``device`` is 'cpu', 'gpu' or 'auto' (the GPU when CuPy sees one); None reads
    $MINICNN_DEVICE, else 'auto'. ``to(device)`` moves a model later.
    """

    _default_name = "sequential"
    keras_class_name = "Sequential"

    def __init__(
        self,
        layers: Iterable[Layer | Input] | None = None,
        name: str | None = None,
        device: str | None = None,
    ):
        self._setup(name, device)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._named_as_keras_rebuilds()

    def _named_as_keras_rebuilds(self) -> None:
        """Keras' Sequential makes a Functional model of its layers each time it links
        them (made, a layer added or popped, built), which takes the next "functional"
        name: taken here too, so that later models and layers get Keras' names."""
        if self.sample_input_shape is not None and self._operations:
            backend.unique_name("functional")

    def _nodes(self) -> list[functional.Node]:
        return [(layer, (i,)) for i, layer in enumerate(self._operations)]

    # -- building ------------------------------------------------------------------------------
    def add(self, layer: Layer | Input, rebuild: bool = True) -> None:
        """Keras' ``add``: the layer appended, built for what the one before gives when the
        input shape is known. ``rebuild=False`` (what the constructor passes, as Keras')
        only leaves out the "functional" name Keras' relinking takes."""
        if isinstance(layer, layer_base.InputLayer):  # Keras takes it as its Input
            layer = Input.of_layer(layer)
        if isinstance(layer, Input):
            if self._operations or self.sample_input_shape is not None:
                raise ValueError("Input must come first in a Sequential model.")
            self.sample_input_shape = layer.sample_shape
            self._graph_inputs, self._graph_outputs = [layer], [layer]
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer or Input, got {type(layer).__name__}.")
        layer.to(self.device)
        if (
            not self._operations
            and self.sample_input_shape is None
            and layer.input_shape_hint is not None
        ):
            self.sample_input_shape = layer.input_shape_hint
        self._operations.append(layer)
        if self.sample_input_shape is not None:
            shape = (
                self._operations[-2].sample_output_shape
                if len(self._operations) > 1
                else self.sample_input_shape
            )
            layer.check_inputs([(None, *shape)], [backend.FLOAT])
            if not layer.built or layer.sample_input_shape != tuple(shape):
                # A layer built for this shape keeps its weights, as in Keras.
                with self._name_scope():
                    layer._build_sample_shape(shape)
            self._graph_outputs = [layer._connect(self._output_before(layer))]
        if rebuild:
            self._named_as_keras_rebuilds()

    def _output_before(self, layer: Layer) -> Any:
        """The symbolic output the layer just added takes: the graph's output so far where it
        is that of the layers before (each layer is called once, as in Keras' graph of a
        Sequential: its node 0), else the graph made anew."""
        count = len(self._operations) - 1
        last = self._graph_outputs[0] if self._graph_outputs else None
        before = self._operations[count - 1] if count else None
        inputs_fit = bool(self._graph_inputs) and (
            self._graph_inputs[0].sample_shape == self.sample_input_shape
        )
        if inputs_fit and last is not None:
            if (before is None and last is self._graph_inputs[0]) or (
                before is not None and getattr(last, "layer", None) is before
            ):
                return last
        return self._linked_output(count)

    def _linked_output(self, count: int) -> Any:
        """The symbolic output after the first ``count`` layers; the graph is made anew from
        the input when it is missing (built later, or layers popped), and the layers' input
        and output are those of the new graph."""
        if not self._graph_inputs or self._graph_inputs[0].sample_shape != self.sample_input_shape:
            dtype = self._graph_inputs[0]._dtype if self._graph_inputs else None
            self._graph_inputs = [
                Input(self.sample_input_shape, batch_size=self._build_batch, dtype=dtype)
            ]
        x: Any = self._graph_inputs[0]
        for layer in self._operations[:count]:
            layer._first_input = layer._first_output = None
            x = layer._connect(x)
        return x

    def pop(self) -> Layer:
        """Remove the last layer and return it, as Keras does (compile again before training:
        the optimizer's state belongs to the old layers)."""
        if not self._operations:
            raise TypeError(f"Model '{self.name}' has no layers to pop.")
        layer = self._operations.pop()
        if self.sample_input_shape is not None:
            self._graph_outputs = [self._linked_output(len(self._operations))]
        self._named_as_keras_rebuilds()
        return layer

    def _build_sample_shape(self, input_shape: Any) -> None:
        """Create every layer's weights for samples of ``input_shape`` (batch left out)."""
        shape = sample_shape(input_shape)
        self.sample_input_shape = shape
        for layer in self._operations:
            if not layer.built or layer.sample_input_shape != shape:
                with self._name_scope():
                    layer._build_sample_shape(shape)
            shape = layer.sample_output_shape
        self._graph_outputs = [self._linked_output(len(self._operations))]
        self._named_as_keras_rebuilds()

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None, device: str | None = None
    ) -> Sequential:
        if custom_objects is not None:
            with registry.custom_object_scope(custom_objects):
                return cls.from_config(config, device=device)
        if _is_keras_config(config):
            return _from_keras_config(config, "Sequential", device)
        model = Sequential(name=config["name"], device=device)
        if config["input_shape"] is not None:
            shape, name = tuple(config["input_shape"]), config.get("input_name")
            model.add(Input(shape, dtype=config.get("input_dtype"), name=name))
        for entry in config["layers"]:
            model.add(layer_from_config(entry))
        return restore_mixed(_frozen_as_saved(model, config), config)

    def _own_config(self) -> dict[str, Any]:
        dtype = self._graph_inputs[0]._dtype if self._graph_inputs else None
        return {
            "name": self.name,
            "input_shape": list(self.sample_input_shape)
            if self.sample_input_shape is not None
            else None,
            **({"input_dtype": dtype} if dtype is not None else {}),
            **({"input_name": self._graph_inputs[0].name} if self._graph_inputs else {}),
            **mixed_config(self),
            **({} if self.trainable else {"trainable": False}),
            "layers": [functional.layer_entry(layer) for layer in self._operations],
        }


def _is_keras_config(config: dict[str, Any]) -> bool:
    """Whether a model's config is Keras' (minicnn's own always has ``input_shape``)."""
    return "input_shape" not in config


def _from_keras_config(config: dict[str, Any], class_name: str, device: str | None) -> Model:
    from .keras_reading import model_from_keras_config

    return model_from_keras_config({"class_name": class_name, "config": config}, device)


def _frozen_as_saved(model: Model, config: dict[str, Any]) -> Model:
    """The model with the flag of a frozen model that its config kept (its layers keep
    their own, which may differ: one unfrozen after the model was frozen)."""
    if config.get("trainable") is False:
        model._trainable = False
    return model


def _first_mask(layer: Layer, x: Any, mask: Any, own: dict) -> Any:
    """The output mask of a layer that passes its first input's mask on (Keras' mask of a
    call's first argument), or None without one."""
    return None if mask is None else layer.mask_of_call(x, mask, own)


def _carried_mask(
    layer: Layer, x: Any, recorded_in: Any, read: Any, recorded_out: Any, own: dict
) -> Any:
    """The mask a call's output carries in Keras' run: the one its graph recorded, unless
    what the call read differs from the record (a mask erased upstream): then the layer's
    mask of what it read, or of the recorded one for a layer whose call takes a mask."""
    if read is recorded_in or (
        isinstance(read, list)
        and isinstance(recorded_in, list)
        and all(a is b for a, b in zip(read, recorded_in, strict=True))
    ):
        return recorded_out
    if layer.takes_list and not getattr(layer, "reads_list_masks", False):
        return None
    if not layer.takes_list and recorded_in is not None and _call_takes_mask(layer):
        return recorded_out
    return layer.mask_of_call(x, read, own)


def _call_takes_mask(layer: Layer) -> bool:
    """Whether Keras' call of this layer takes a mask argument (which its graph records)."""
    return (
        type(layer).masked_call is not Layer.masked_call
        or isinstance(layer, Model)
        or type(layer).__name__ in _KERAS_MASK_CALLS
    )


# Keras 3.15's layers whose call takes ``mask`` (a single input's).
_KERAS_MASK_CALLS = frozenset(
    "BatchNormalization Bidirectional ConvLSTM1D ConvLSTM2D ConvLSTM3D GRU LSTM "
    "GlobalAveragePooling1D Lambda Pipeline RNN SimpleRNN Softmax TimeDistributed".split()
)


class SelectOutput(Layer):
    """One output of a model of several used as a layer of another: it takes the list the
    model gives and hands on output ``index`` (the same Tensor, so gradients flow through)."""

    selects_output = True
    takes_batch_values = True  # one result of an op that reduced over the batch

    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"{self.describe()}: index must be an int >= 0, got {index!r}.")
        self.index = index

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        if is_symbolic(x):
            return self._connect(x)
        return x[self.index]

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """Its output's mask, of the layer's masks for each output (a recurrent layer's
        with return_state: the output's, then none for the states)."""
        return mask[self.index] if isinstance(mask, (list, tuple)) else None

    def call_masked(self, x: Any, training: bool, mask: Any, **kwargs: Any) -> Any:
        return x[self.index]  # the mask goes on by compute_mask

    def build(self, input_shape: Any) -> None:
        """``input_shape`` holds the model's output shapes."""
        shapes = tuple(sample_shape(shape) for shape in input_shape)
        self.sample_output_shape = self.compute_output_shape(shapes)
        self.sample_input_shape = shapes
        self._weights = []
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[int, ...]:
        shapes = list(input_shape)
        if self.index >= len(shapes) or not isinstance(shapes[self.index], tuple):
            raise ValueError(
                f"{self.describe()} picks output {self.index} of a model with outputs of "
                f"shapes {shapes}."
            )
        return tuple(shapes[self.index])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index}


def _batch_dropped(shape: Any) -> Any:
    """A Keras batch shape (its size first) as the sample shape (a list of shapes each on
    its own)."""
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [_batch_dropped(s) for s in shape]
    shape = tuple(shape)
    if not shape:
        raise ValueError(
            "build takes the shape of a batch, its size first: build((None, 784)); got ()."
        )
    return shape[1:]


def layer_class(class_name: str) -> type[Layer] | None:
    """The class of a layer config's ``class_name``: a layer's, or a model's (a model used as
    a layer)."""
    from .feature_space import FeatureSpaceLayer

    models = {
        "Sequential": Sequential,
        "Model": Model,
        "Functional": Model,
        "SelectOutput": SelectOutput,
        "FeatureSpaceLayer": FeatureSpaceLayer,
    }
    found = models.get(class_name) or LAYER_CLASSES.get(class_name)
    if found is None:  # a layer of the user's, by custom_objects or registration
        custom = registry.get_registered_object(class_name)
        found = custom if isinstance(custom, type) and issubclass(custom, Layer) else None
    return found


def layer_from_config(entry: dict[str, Any]) -> Layer:
    """A new layer (or model) from ``{"class_name": ..., "config": ...}``."""
    cls = layer_class(entry["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class {entry['class_name']!r}")
    return functional.layer_from_entry(entry, cls)


def _from_pickled_config(cls: type, config: dict[str, Any], device: str) -> Model:
    from . import backend

    return cls.from_config(config, device=backend.device_here(device))


def _nests_outputs(out: Any) -> bool:
    """Whether a call's outputs are a nest deeper than a list of tensors (a tuple holding
    dicts), which a subclassed model gives back as it came."""
    if not isinstance(out, (list, tuple, dict)):
        return False
    items = out.values() if isinstance(out, dict) else out
    return isinstance(out, dict) or any(tree.is_nested(item) for item in items)


def _user_model_build(user_build: Callable[..., Any]) -> Callable[..., Any]:
    """A subclassed model's own ``build``: while it runs, ``super().build(input_shape)``
    builds the model (runs call on zeros); one that does not call it leaves the model
    built all the same, as in Keras."""

    @functools.wraps(user_build)
    def build(self: Model, input_shape: Any, *args: Any, **kwargs: Any) -> None:
        depth = self.__dict__.get("_in_user_build", 0)
        self.__dict__["_in_user_build"] = depth + 1
        try:
            with self._name_scope():  # what it builds is the model's: under its name
                user_build(self, input_shape, *args, **kwargs)
            if not self.built:
                Model.build(self, input_shape)
        finally:
            self.__dict__["_in_user_build"] = depth

    return build


class ModelVariables(Layer):
    """The weights of a subclassed model's own (its ``add_weight``'s, the Variables it keeps
    as attributes), held as the first of its operations but not one of its layers: they go
    with its layers' weights (get_weights, the optimizer, files, devices) and come first,
    as Keras lists a model's own variables before its layers'."""

    holds_model_weights = True

    def __init__(self, model: Model) -> None:
        super().__init__(name=model.name)
        self.device = model.device

    def call(self, x: Tensor, training: bool) -> Tensor:
        return x

    def set_weights(self, weights: list[Any]) -> None:
        # Never built (its weights are made one by one, listed trainable first, as Keras
        # lists a model's own), yet its weights are there to set.
        self.built = True
        try:
            super().set_weights(weights)
        finally:
            self.built = False


def _once(weights: Iterable[Tensor]) -> list[Tensor]:
    """The weights in order, each the first time it comes."""
    seen: set[int] = set()
    return [w for w in weights if not (id(w) in seen or seen.add(id(w)))]


def _init_taking(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` less the base entries (name, trainable, dtype) a user's __init__ takes
    neither by name nor through **kwargs (Keras' own loading fails on them)."""
    base = {"name", "trainable", "dtype"}
    return {
        k: v
        for k, v in config.items()
        if k not in base or layer_base.takes_keyword(cls.__init__, k)
    }


def _unpickled_subclass(
    cls: type,
    config: dict[str, Any],
    built: Any,
    weights: Any,
    device: str,
    keras_built: Any = None,
) -> Model:
    """A pickled subclassed model made again: from its config, built, with its weights (or
    one read from Keras' file: built for the input shape Keras recorded, ``keras_built``)."""
    from . import backend

    uses_own = cls.from_config.__func__ is not Model.from_config.__func__
    model = cls.from_config(config) if uses_own else cls(**_init_taking(cls, config))
    if built is not None:
        model.build_from_config(built)
        model.set_weights(weights)
    elif keras_built:
        model.build_from_config(keras_built)
    if backend.device_here(device) == "gpu":
        model.to("gpu")
    return model


def clone_model(model: Model) -> Model:
    """Keras' ``clone_model``: the same architecture, with new layers and weights drawn anew
    (the original's weights are not shared; ``clone.set_weights(model.get_weights())`` copies
    them). Not compiled, on the original's device."""
    model._require_config("clone_model")
    return type(model).from_config(model._own_config(), device=model.device)


def model_from_json(
    text: str, custom_objects: dict[str, Any] | None = None, device: str | None = None
) -> Model:
    """The model that a ``to_json`` described, with new weights: Keras 3's (minicnn's
    to_json writes it), Keras 2's (tf.keras), or minicnn's own JSON. ``custom_objects``
    names the user's classes and functions it holds, as in Keras."""
    try:
        document = json.loads(text)
        class_name, config = document["class_name"], document["config"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"Not a model's JSON from to_json ({e!r}).") from None
    with registry.custom_object_scope(custom_objects):
        if "module" in document or "keras_version" in document:  # written by Keras
            return _model_from_keras_json(document, device)
        cls = {"Sequential": Sequential, "Functional": Model}.get(class_name)
        if cls is None:
            raise ValueError(f"Not a model's JSON from to_json (class {class_name!r}).")
        return cls.from_config(config, device=device)


def _model_from_keras_json(document: dict[str, Any], device: str | None) -> Model:
    from .keras_files import KerasFileError
    from .keras_legacy import modern_document
    from .keras_reading import model_from_keras_config

    try:
        if not str(document.get("keras_version", "3")).startswith("3"):
            document = modern_document(document)  # Keras 2's
        return model_from_keras_config(document, device)
    except (KeyError, TypeError, IndexError) as error:
        raise KerasFileError(f"model_from_json: Keras' JSON cannot be read ({error!r}).") from None


def save_model(model: Model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Keras' models.save_model: ``model.save(filepath, overwrite)``."""
    model.save(filepath, overwrite)


def load_model(filepath: str | os.PathLike, custom_objects: Any = None, **kwargs: Any) -> Model:
    """Keras' models.load_model (``minicnn.load_model``)."""
    from .saving import load_model as load

    return load(filepath, custom_objects=custom_objects, **kwargs)
