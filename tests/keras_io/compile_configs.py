"""Models compiled with losses, metrics and optimizers given in each way Keras takes them
(names, objects, functions, a registered function and class, lists and dicts by output,
loss weights, a learning-rate schedule), and each ``get_compile_config()`` printed as JSON
(sorted keys), one line per case: Keras 3.15's and minicnn's are compared key by key
(tests/test_keras_layer_configs.py)."""

import json
import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
else:
    import minicnn as keras


@keras.saving.register_keras_serializable(package="my")
def mean_prediction(y_true, y_pred):
    return keras.ops.mean(y_pred, axis=-1)


@keras.saving.register_keras_serializable(package="my")
class MeanPrediction(keras.metrics.Mean):
    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_pred, sample_weight)


def unregistered(y_true, y_pred):
    return keras.ops.mean(y_pred, axis=-1)


def one_output():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])


def two_outputs():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(3, activation="softmax", name="a")(inputs)
    b = keras.layers.Dense(1, name="b")(inputs)
    return keras.Model(inputs, [a, b])


def cases():
    model = one_output()
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[
            mean_prediction,
            MeanPrediction(name="mp"),
            keras.metrics.AUC(),
            "mae",
            keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
        ],
        weighted_metrics=["accuracy", keras.metrics.SparseCategoricalAccuracy(name="wacc")],
    )
    yield "objects_names_functions", model
    model = one_output()
    model.compile(
        optimizer=keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), momentum=0.9
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=0),
        loss_weights=(2.0,),
        metrics=(keras.metrics.sparse_categorical_accuracy, unregistered),
    )
    yield "schedule_loss_object_tuple", model
    model.compile(optimizer="rmsprop", loss=keras.losses.sparse_categorical_crossentropy)
    yield "compiled_again_without_metrics", model
    model = two_outputs()
    model.compile(
        optimizer="adam",
        loss=["sparse_categorical_crossentropy", "mse"],
        metrics=[["accuracy", keras.metrics.SparseCategoricalAccuracy()], ["mae"]],
        loss_weights=[1.0, 0.5],
    )
    yield "list_per_output", model
    model = two_outputs()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss={"a": "sparse_categorical_crossentropy", "b": keras.losses.Huber(delta=2.0)},
        metrics={"a": "accuracy", "b": [keras.metrics.MeanAbsoluteError()]},
        weighted_metrics={"b": ["mse"]},
    )
    yield "dict_by_output", model


for name, model in cases():
    print(name, json.dumps(model.get_compile_config(), sort_keys=True))
