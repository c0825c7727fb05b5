"""Keras 3's knowledge distillation (``minicnn.distillation``): the Distiller's losses and
logs against Keras 3.15's own run (tests/keras_files/distillation.npz, made by
make_distillation.py), each distillation loss against its formula, and what is refused."""

from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, layers, losses, optimizers
from minicnn.autograd import Tensor
from minicnn.distillation import (
    DistillationLoss,
    Distiller,
    FeatureDistillation,
    LogitsDistillation,
)

FILES = Path(__file__).parent / "keras_files"


def _mlp(prefix, hidden=8):
    return Sequential(
        [
            Input((6,)),
            layers.Dense(hidden, activation="tanh", name=f"{prefix}_hidden"),
            layers.Dense(3, name=f"{prefix}_out"),
        ],
        name=prefix,
    )


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _keras_run():
    saved = np.load(FILES / "distillation.npz")
    teacher, student = _mlp("teacher"), _mlp("student")
    for model in (teacher, student):
        model.set_weights([saved[f"{model.name}/{i}"] for i in range(4)])
    distiller = Distiller(
        teacher,
        student,
        [
            LogitsDistillation(temperature=2.0),
            FeatureDistillation(
                teacher_layer_name="teacher_hidden", student_layer_name="student_hidden"
            ),
        ],
        distillation_loss_weights=[1.0, 0.5],
        student_loss_weight=0.3,
    )
    distiller.compile(
        optimizers.SGD(0.1),
        losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return saved, distiller


def test_a_distiller_logs_what_keras_logs_before_and_while_training():
    saved, distiller = _keras_run()
    x, y = saved["x"], saved["y"]
    logs = distiller.evaluate(x, y, batch_size=48, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "student_loss", "distillation_loss", "total_loss"}
    for name, value in logs.items():
        assert value == pytest.approx(float(saved[f"before/{name}"]), rel=1e-5), name
    teacher_before = distiller.teacher.get_weights()
    history = distiller.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    for name, values in history.items():
        np.testing.assert_allclose(values, saved[f"history/{name}"], rtol=1e-5, err_msg=name)
    for i, weight in enumerate(distiller.student.get_weights()):
        np.testing.assert_allclose(weight, saved[f"trained/{i}"], rtol=1e-5, atol=1e-6)
    for a, b in zip(teacher_before, distiller.teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the teacher is frozen
    np.testing.assert_array_equal(
        distiller.predict(x, verbose=0), distiller.student.predict(x, verbose=0)
    )


def test_logits_distillation_is_the_softened_kl_times_the_temperature_squared():
    rng = np.random.default_rng(1)
    teacher, student = (rng.normal(size=(5, 4)).astype(np.float32) for _ in range(2))
    p, q = _softmax(teacher / 3.0), _softmax(student / 3.0)
    expected = 9.0 * np.mean(np.sum(p * np.log(p / q), axis=-1))
    value = LogitsDistillation().compute_loss(Tensor(teacher), Tensor(student))
    assert float(value.data) == pytest.approx(expected, rel=1e-5)
    mse = LogitsDistillation(temperature=2.0, loss="mse")
    expected = np.mean(((teacher - student) / 2.0) ** 2)
    assert float(mse.compute_loss(Tensor(teacher), Tensor(student)).data) == pytest.approx(
        expected, rel=1e-5
    )
    skipped = LogitsDistillation(loss=[None, "kl_divergence"])
    both = skipped.compute_loss([Tensor(student), Tensor(teacher)], [Tensor(teacher)] * 2)
    assert float(both.data) == pytest.approx(0.0, abs=1e-6)  # the second pair is equal


def test_feature_distillation_compares_the_named_layers_outputs():
    minicnn.set_random_seed(2)
    teacher, student = _mlp("t", 8), _mlp("s", 8)
    x = np.random.default_rng(2).normal(size=(10, 6)).astype(np.float32)
    loss = FeatureDistillation(
        loss="mse", teacher_layer_name="t_hidden", student_layer_name="s_hidden"
    )
    distiller = Distiller(teacher, student, loss, student_loss_weight=0.0)
    distiller.compile("adam", "sparse_categorical_crossentropy")
    hidden = [
        minicnn.Model(m.inputs, m.get_layer(f"{n}_hidden").output).predict(x, verbose=0)
        for m, n in ((teacher, "t"), (student, "s"))
    ]
    total = distiller.compute_loss(x, None, distiller(x))
    assert float(total.data) == pytest.approx(np.mean((hidden[0] - hidden[1]) ** 2), rel=1e-5)


def test_a_student_learns_from_the_teacher_alone():
    """student_loss_weight=0: no labels reach the student, which still comes to agree with
    a teacher that knows the rule."""
    minicnn.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    teacher = _mlp("teacher", 32)
    teacher.compile(optimizers.Adam(0.02), losses.SparseCategoricalCrossentropy(from_logits=True))
    teacher.fit(x, y, epochs=30, verbose=0)
    student = _mlp("student", 16)
    distiller = Distiller(teacher, student, LogitsDistillation(), student_loss_weight=0.0)
    distiller.compile(optimizers.Adam(0.02), losses.SparseCategoricalCrossentropy(from_logits=True))
    agree = lambda: np.mean(  # noqa: E731
        teacher.predict(x, verbose=0).argmax(1) == student.predict(x, verbose=0).argmax(1)
    )
    before = agree()
    history = distiller.fit(x, np.zeros_like(y), epochs=30, verbose=0).history
    assert history["student_loss"][-1] == 0.0 and history["distillation_loss"][-1] < 0.1
    assert agree() > max(0.9, before)


class Halved(DistillationLoss):
    """A distillation loss of the user's: half the absolute difference of the outputs."""

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return minicnn.ops.mean(minicnn.ops.abs(teacher_outputs - student_outputs)) * 0.5


def test_a_distillation_loss_of_the_users_and_the_config_round_trip():
    minicnn.set_random_seed(4)
    teacher, student = _mlp("teacher"), _mlp("student")
    x = np.random.default_rng(4).normal(size=(8, 6)).astype(np.float32)
    distiller = Distiller(teacher, student, Halved(), student_loss_weight=0.0)
    distiller.compile("sgd", "sparse_categorical_crossentropy")
    expected = 0.5 * np.abs(teacher.predict(x, verbose=0) - student.predict(x, verbose=0)).mean()
    assert float(distiller.compute_loss(x, None, distiller(x)).data) == pytest.approx(expected)
    config = Distiller(
        teacher, student, [LogitsDistillation(4.0), FeatureDistillation("mae")], [2.0, 1.0]
    ).get_config()
    again = Distiller.from_config(config)
    assert again.distillation_loss_weights == [2.0, 1.0]
    assert again.distillation_losses[0].temperature == 4.0
    assert again.student.count_params() == student.count_params()


def test_what_a_distiller_refuses():
    teacher, student = _mlp("teacher"), _mlp("student")
    wide = Sequential([Input((6,)), layers.Dense(4)])
    with pytest.raises(ValueError, match="output shapes are incompatible"):
        Distiller(teacher, wide, LogitsDistillation())
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        Distiller(teacher, student, LogitsDistillation(), student_loss_weight=1.5)
    with pytest.raises(ValueError, match="must match number"):
        Distiller(teacher, student, [LogitsDistillation()], distillation_loss_weights=[1, 2])
    with pytest.raises(ValueError, match="cannot be `None`"):
        Distiller(teacher, student, None)
    with pytest.raises(ValueError, match="In teacher model"):
        Distiller(teacher, student, FeatureDistillation(teacher_layer_name="nope"))
    with pytest.raises(ValueError, match="temperature must be positive"):
        LogitsDistillation(temperature=0)
    with pytest.raises(ValueError, match="at least one loss"):
        FeatureDistillation(loss=[None])
    distiller = Distiller(teacher, student, LogitsDistillation())
    with pytest.raises(ValueError, match="'loss' cannot be `None`"):
        distiller.compile("adam")
