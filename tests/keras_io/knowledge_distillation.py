"""keras.io example "Knowledge Distillation" (Keras 3's version: a Distiller model whose
compute_loss mixes the student's loss with the KL divergence to the teacher's softened
predictions, its own compile arguments, call giving the student's output). Made on small
random images, the weights set from one seed in both libraries so that the numbers can be
compared; a clone of the student trained from scratch as the example does. The
teacher's weights are trainable, so the distillation loss trains them too, as in Keras.
(Keras' metrics_names there are ['loss', 'compile_metrics'], minicnn's the metrics'
own names.)"""

import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


class Distiller(keras.Model):
    def __init__(self, student, teacher):
        super().__init__()
        self.teacher = teacher
        self.student = student

    def compile(
        self,
        optimizer,
        metrics,
        student_loss_fn,
        distillation_loss_fn,
        alpha=0.1,
        temperature=3,
    ):
        super().compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
        teacher_pred = self.teacher(x, training=False)
        student_loss = self.student_loss_fn(y, y_pred)
        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_pred / self.temperature, axis=1),
            ops.softmax(y_pred / self.temperature, axis=1),
        ) * (self.temperature**2)
        loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
        return loss

    def call(self, x):
        return self.student(x)


def seeded(model):
    model.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in model.get_weights()])
    return model


def convnet(name, filters):
    """The example's teacher and student, which differ in their widths alone."""
    return keras.Sequential(
        [
            keras.Input(shape=(12, 12, 1)),
            layers.Conv2D(filters, (3, 3), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
            layers.Conv2D(2 * filters, (3, 3), strides=(2, 2), padding="same"),
            layers.Flatten(),
            layers.Dense(10),
        ],
        name=name,
    )


teacher = convnet("teacher", 32)
student = convnet("student", 8)
seeded(teacher)
seeded(student)
student_scratch = keras.models.clone_model(student)
student_scratch.set_weights(student.get_weights())
print(student_scratch.name, [layer.name for layer in student_scratch.layers][:3])


def compile_plainly(model):
    """The example's compile of the teacher and of the student trained from scratch."""
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )


x_train = rng.random((96, 12, 12, 1)).astype("float32")
y_train = (x_train[:, :6].mean(axis=(1, 2, 3)) * 20).astype("int64") % 10
x_test, y_test = x_train[:32], y_train[:32]

compile_plainly(teacher)
history = teacher.fit(x_train, y_train, epochs=2, batch_size=32, shuffle=False, verbose=0)
print({k: [round(v, 3) for v in vs] for k, vs in history.history.items()})
print([round(v, 3) for v in teacher.evaluate(x_test, y_test, verbose=0)])

distiller = Distiller(student=student, teacher=teacher)
distiller.compile(
    optimizer=keras.optimizers.Adam(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
    student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    distillation_loss_fn=keras.losses.KLDivergence(),
    alpha=0.1,
    temperature=10,
)
history = distiller.fit(x_train, y_train, epochs=2, batch_size=32, shuffle=False, verbose=0)
print({k: [round(v, 3) for v in vs] for k, vs in history.history.items()})
print(len(distiller.trainable_weights), len(distiller.weights))
print([round(v, 3) for v in distiller.evaluate(x_test, y_test, verbose=0)])

compile_plainly(student_scratch)
history = student_scratch.fit(x_train, y_train, epochs=2, batch_size=32, shuffle=False, verbose=0)
print({k: [round(v, 3) for v in vs] for k, vs in history.history.items()})
print([round(v, 3) for v in student_scratch.evaluate(x_test, y_test, verbose=0)])
