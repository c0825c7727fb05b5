"""Keras 3's knowledge distillation (``keras.distillation``): a ``Distiller`` trains a student
model on the labels and, at the same time, toward a frozen teacher's outputs (softened
logits, ``LogitsDistillation``) or its inner features (``FeatureDistillation``).

The loss fit minimizes is ``w * student_loss + (1 - w) * sum_i(weight_i * distill_i)``, with
``w = student_loss_weight``; each part is logged ("student_loss", "distillation_loss",
"total_loss"), after the compiled metrics, as in Keras.

One difference from Keras 3.15, on purpose: ``LogitsDistillation``'s default loss, the
string "kl_divergence", compares the softmax of the teacher's and the student's logits over
the temperature and scales it by the temperature squared (Hinton et al.; what Keras'
documentation describes and what Keras does for a ``KLDivergence()`` object). Keras 3.15
resolves that string to its bare function, which then reads the scaled logits as
probabilities. And the student's weight penalties (its layers' regularizers) are added to
its loss, which Keras' Distiller leaves out."""

from __future__ import annotations

from typing import Any

from . import losses as losses_module
from . import metrics, ops
from .autograd import Tensor, no_grad
from .models import Model


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _loss_functions(loss: Any, owner: str) -> list[Any]:
    """Each output's loss (None: that output is not distilled), at least one of them."""
    found = [None if item is None else losses_module.deserialize(item) for item in _as_list(loss)]
    if all(item is None for item in found):
        raise ValueError(f"{owner}: loss must name at least one loss that is not None.")
    return found


def _serialized(loss: Any) -> Any:
    parts = [None if item is None else losses_module.serialize(item) for item in loss]
    return parts if len(parts) > 1 else parts[0]


class DistillationLoss:
    """Keras' base of distillation losses: subclass it and write ``compute_loss(teacher_
    outputs, student_outputs)``, which returns a scalar (a Tensor the student's gradient
    flows through)."""

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Subclasses must implement compute_loss")

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        """Teacher and student give outputs of the same structure (one, or as many)."""
        teacher, student = _as_list(teacher_outputs), _as_list(student_outputs)
        if len(teacher) != len(student):
            raise ValueError(
                f"{type(self).__name__}: the teacher gives {len(teacher)} outputs here and the "
                f"student {len(student)}."
            )

    def validate_model_compatibility(self, teacher: Model, student: Model) -> None:
        """Called by the Distiller when it is made (nothing to check by default)."""

    def _per_output(self, teacher_outputs: Any, student_outputs: Any) -> list[Any]:
        teacher, student = _as_list(teacher_outputs), _as_list(student_outputs)
        if len(self.loss) != len(teacher):
            raise ValueError(
                f"{type(self).__name__}: {len(self.loss)} losses for {len(teacher)} outputs."
            )
        return list(zip(self.loss, teacher, student, strict=True))

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DistillationLoss:
        return cls(**config)


class LogitsDistillation(DistillationLoss):
    """The student's logits toward the teacher's, both divided by ``temperature``: with a
    KL divergence (the default), T**2 * mean(KL(softmax(t / T) || softmax(s / T))); with
    another loss, mean(loss(t / T, s / T)). ``loss`` may be a list, one per output (None:
    that output is left out)."""

    def __init__(self, temperature: float = 3.0, loss: Any = "kl_divergence") -> None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(f"temperature must be a number, got {type(temperature)}")
        if temperature <= 0.0:
            raise ValueError("temperature must be positive.")
        self.temperature = float(temperature)
        self.loss = _loss_functions(loss, "LogitsDistillation")

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        total: Any = 0.0
        scale = 1.0 / self.temperature
        for loss, teacher, student in self._per_output(teacher_outputs, student_outputs):
            if loss is None:
                continue
            teacher, student = teacher * scale, student * scale
            if isinstance(loss, losses_module.KLDivergence):
                value = ops.mean(loss(ops.softmax(teacher), ops.softmax(student)))
                total = total + value * self.temperature**2
            else:
                total = total + ops.mean(loss(teacher, student))
        return total

    def get_config(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "loss": _serialized(self.loss)}


class FeatureDistillation(DistillationLoss):
    """The output of the student's layer ``student_layer_name`` toward the teacher's layer
    ``teacher_layer_name`` (either None: that model's final output): mean(loss(teacher,
    student)), "mse" by default ("cosine_similarity" where the widths differ in meaning
    only, ...). The named layers need Functional or Sequential models."""

    def __init__(
        self,
        loss: Any = "mse",
        teacher_layer_name: str | None = None,
        student_layer_name: str | None = None,
    ) -> None:
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = _loss_functions(loss, "FeatureDistillation")

    def validate_model_compatibility(self, teacher: Model, student: Model) -> None:
        for role, model, name in (
            ("teacher", teacher, self.teacher_layer_name),
            ("student", student, self.student_layer_name),
        ):
            if name is None:
                continue
            if getattr(model, "_subclassed", False):
                raise ValueError(
                    f"FeatureDistillation with layer names needs Functional or Sequential "
                    f"models; the {role} '{model.name}' is subclassed (its graph is code). "
                    "Distill its final outputs, or use LogitsDistillation."
                )
            try:
                model.get_layer(name)
            except ValueError as error:
                raise ValueError(f"In {role} model: {error}") from None

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        total: Any = 0.0
        for loss, teacher, student in self._per_output(teacher_outputs, student_outputs):
            if loss is not None:
                total = total + ops.mean(loss(teacher, student))
        return total

    def get_config(self) -> dict[str, Any]:
        return {
            "loss": _serialized(self.loss),
            "teacher_layer_name": self.teacher_layer_name,
            "student_layer_name": self.student_layer_name,
        }


FINAL = "final_output"  # the features' key of a model's own output, as in Keras


class Distiller(Model):
    """Keras' Distiller: ``Distiller(teacher, student, distillation_losses)``, compiled with
    the student's loss (and metrics) and fitted on (x, y) as any model; its call, predict
    and evaluate are the student's. The teacher is frozen. ``distillation_loss_weights``
    weights each distillation loss (1 each by default), ``student_loss_weight`` (in [0, 1])
    the labels' part against the teacher's. ``distiller.student`` is the trained model."""

    def __init__(
        self,
        teacher: Model,
        student: Model,
        distillation_losses: Any,
        distillation_loss_weights: list[float] | None = None,
        student_loss_weight: float = 0.5,
        name: str = "distiller",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        for role, model in (("Teacher", teacher), ("Student", student)):
            if not getattr(model, "is_model", False):
                raise ValueError(f"{role} must be a minicnn Model, got {type(model)}")
        _check_compatible(teacher, student)
        if isinstance(student_loss_weight, bool) or not isinstance(
            student_loss_weight, (int, float)
        ):
            raise ValueError(
                f"student_loss_weight must be a number, got {type(student_loss_weight)}"
            )
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(
                f"student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}"
            )
        if distillation_losses is None:
            raise ValueError(
                "'distillation_losses' cannot be `None`. Provide a distillation loss (e.g., "
                "LogitsDistillation or FeatureDistillation) or a list of them."
            )
        several = isinstance(distillation_losses, (list, tuple))
        given = list(distillation_losses) if several else [distillation_losses]
        weights = [1.0] * len(given) if distillation_loss_weights is None or not several else None
        if weights is None:
            weights = [float(w) for w in distillation_loss_weights]
            if len(weights) != len(given):
                raise ValueError(
                    f"Number of distillation_loss_weights ({len(weights)}) must match number "
                    f"of distillation_losses ({len(given)})"
                )
        for loss in given:
            if not isinstance(loss, DistillationLoss):
                raise ValueError(f"A distillation loss must be a DistillationLoss, got {loss!r}.")
            loss.validate_model_compatibility(teacher, student)
        self.teacher = teacher
        self.student = student
        self.student_loss_weight = float(student_loss_weight)
        self.distillation_losses = given
        self.distillation_loss_weights = weights
        teacher.trainable = False
        self._teacher_features = _feature_extractor(teacher, given, "teacher_layer_name")
        self._student_features = _feature_extractor(student, given, "student_layer_name")
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.student(inputs, training=training)

    def compile(
        self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None, **kwargs: Any
    ) -> None:
        """The optimizer that trains the student, the student's loss on the labels (its
        metrics too, a list)."""
        if loss is None:
            raise ValueError("'loss' cannot be `None`.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list or tuple, got {type(metrics)}")
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    @property
    def losses(self) -> list[Tensor]:
        """The student's weight penalties (the frozen teacher's would be constants)."""
        return self.student.losses

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """``student_loss_weight`` times the student's compiled loss on ``y`` (with its
        penalties), plus the rest of 1 times the weighted distillation losses."""
        if y_pred is None:
            y_pred = self(x, training=training)
        weight = self.student_loss_weight
        student_loss: Any = 0.0
        if weight > 0.0 and y is not None:
            student_loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        distillation_loss: Any = 0.0
        if weight < 1.0:
            with no_grad():
                teacher = self._features(self.teacher, self._teacher_features, x, False, None)
            student = self._features(self.student, self._student_features, x, training, y_pred)
            for loss, loss_weight in zip(
                self.distillation_losses, self.distillation_loss_weights, strict=True
            ):
                teacher_out = teacher[getattr(loss, "teacher_layer_name", None) or FINAL]
                student_out = student[getattr(loss, "student_layer_name", None) or FINAL]
                if getattr(loss, "teacher_layer_name", None) is None:
                    student_out = y_pred  # the outputs the student's loss saw
                loss.validate_outputs(teacher_out, student_out)
                value = loss.compute_loss(teacher_out, student_out)
                if getattr(value, "ndim", 0):
                    raise ValueError(
                        f"Distillation loss {type(loss).__name__} returned a non-scalar loss "
                        f"with shape {value.shape}. The compute_loss method must return a "
                        "scalar tensor."
                    )
                distillation_loss = distillation_loss + value * loss_weight
        total = student_loss * weight + distillation_loss * (1.0 - weight)
        self.student_loss_tracker.update_state(_value(student_loss))
        self.distillation_loss_tracker.update_state(_value(distillation_loss))
        self.total_loss_tracker.update_state(_value(total))
        return total

    @staticmethod
    def _features(
        model: Model, extractor: Model | None, x: Any, training: bool, y_pred: Any
    ) -> dict[str, Any]:
        """The model's final output and the named layers' outputs, in one pass."""
        if extractor is None:
            return {FINAL: model(x, training=training) if y_pred is None else y_pred}
        found = extractor(x, training=training)
        finals = [found.pop(f"{FINAL}/{i}") for i in range(len(model.outputs))]
        return {**found, FINAL: finals[0] if len(finals) == 1 else finals}

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object

        return {
            "name": self.name,
            "teacher": serialize_keras_object(self.teacher),
            "student": serialize_keras_object(self.student),
            "distillation_losses": [
                {"class_name": type(loss).__name__, "config": loss.get_config()}
                for loss in self.distillation_losses
            ],
            "distillation_loss_weights": list(self.distillation_loss_weights),
            "student_loss_weight": self.student_loss_weight,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Distiller:
        from .serialization import deserialize_keras_object

        config = dict(config)
        for role in ("teacher", "student"):
            config[role] = deserialize_keras_object(config[role], custom_objects)
        kinds = {k.__name__: k for k in (LogitsDistillation, FeatureDistillation)}
        found = []
        for entry in config["distillation_losses"]:
            kind = kinds.get(entry["class_name"])
            if kind is None:
                raise ValueError(f"Unknown distillation loss {entry['class_name']!r}.")
            found.append(kind.from_config(entry["config"]))
        config["distillation_losses"] = found
        return cls(**config)


def _value(loss: Any) -> Any:
    """A loss for a Mean tracker: a Tensor's array (no graph kept), or the number."""
    return loss.data if isinstance(loss, Tensor) else loss


def _feature_extractor(model: Model, losses: list[DistillationLoss], key: str) -> Model | None:
    """One model that gives ``model``'s final output and each named layer's output (by the
    layer's name) in one pass, sharing its layers; None when no loss names a layer."""
    names = [n for n in dict.fromkeys(getattr(loss, key, None) for loss in losses) if n]
    if not names:
        return None
    outputs = {f"{FINAL}/{i}": output for i, output in enumerate(model.outputs)}
    outputs.update({name: model.get_layer(name).output for name in names})
    return Model(model.inputs, outputs, name=f"{model.name}_multi_feature_extractor")


def _check_compatible(teacher: Model, student: Model) -> None:
    """Inputs and outputs of the same shapes where both models know them."""
    for what in ("inputs", "outputs"):
        ours, theirs = getattr(teacher, what, None), getattr(student, what, None)
        if not ours or not theirs:
            continue
        if len(ours) != len(theirs):
            raise ValueError(
                f"Teacher and student have {len(ours)} and {len(theirs)} {what}; they must match."
            )
        for a, b in zip(ours, theirs, strict=True):
            a, b = tuple(a.sample_shape), tuple(b.sample_shape)
            if len(a) != len(b) or any(
                m is not None and n is not None and m != n for m, n in zip(a, b, strict=True)
            ):
                raise ValueError(
                    f"Teacher and student {what[:-1]} shapes are incompatible. Teacher: "
                    f"{(None, *a)}, Student: {(None, *b)}. All dimensions must match."
                )
