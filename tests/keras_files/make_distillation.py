"""Writes tests/keras_files/distillation.npz: Keras 3's Distiller on a small teacher and
student (weights drawn here), its logs before training, and the student's weights and
history after two epochs of SGD over unshuffled batches; the logits distillation with an
explicit ``KLDivergence()`` (see minicnn.distillation on Keras' string default), and a
feature distillation between hidden layers. Run it where Keras 3 and JAX are installed:

    KERAS_BACKEND=jax python tests/keras_files/make_distillation.py
"""

import os

import keras
import numpy as np
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def mlp(prefix, hidden):
    return keras.Sequential(
        [
            keras.Input((6,)),
            layers.Dense(hidden, activation="tanh", name=f"{prefix}_hidden"),
            layers.Dense(3, name=f"{prefix}_out"),
        ],
        name=prefix,
    )


teacher, student = mlp("teacher", 8), mlp("student", 8)
saved = {}
for model in (teacher, student):
    for i, weight in enumerate(model.weights):
        value = rng.normal(size=weight.shape).astype("float32") * 0.7
        weight.assign(value)
        saved[f"{model.name}/{i}"] = value
x = rng.normal(size=(48, 6)).astype("float32")
y = rng.integers(0, 3, 48)
distiller = keras.distillation.Distiller(
    teacher,
    student,
    [
        keras.distillation.LogitsDistillation(temperature=2.0, loss=keras.losses.KLDivergence()),
        keras.distillation.FeatureDistillation(
            teacher_layer_name="teacher_hidden", student_layer_name="student_hidden"
        ),
    ],
    distillation_loss_weights=[1.0, 0.5],
    student_loss_weight=0.3,
)
distiller.compile(
    keras.optimizers.SGD(0.1),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
before = distiller.evaluate(x, y, batch_size=48, verbose=0, return_dict=True)
history = distiller.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
for name, value in before.items():
    saved[f"before/{name}"] = np.float32(value)
for name, values in history.items():
    saved[f"history/{name}"] = np.asarray(values, np.float32)
for i, weight in enumerate(student.weights):
    saved[f"trained/{i}"] = np.asarray(weight.numpy())
np.savez(os.path.join(HERE, "distillation.npz"), x=x, y=y, **saved)
print(sorted(saved), before)
