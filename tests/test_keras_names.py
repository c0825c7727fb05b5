"""Keras 3's other names and small helpers: layer aliases (``MaxPool2D``), each namespace's
``serialize``/``deserialize``, the initializers' snake_case classes, ``standardize_dtype``,
``Config``, ``get_custom_objects`` and the correlation metric functions."""

import numpy as np
import pytest

import minicnn
from minicnn import initializers, layers, losses, metrics, optimizers, saving, utils


@pytest.mark.parametrize(
    "alias, name",
    [
        ("Convolution2D", "Conv2D"),
        ("Convolution1DTranspose", "Conv1DTranspose"),
        ("SeparableConvolution2D", "SeparableConv2D"),
        ("MaxPool2D", "MaxPooling2D"),
        ("MaxPool3D", "MaxPooling3D"),
        ("AvgPool1D", "AveragePooling1D"),
        ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
        ("GlobalMaxPool1D", "GlobalMaxPooling1D"),
    ],
)
def test_keras_other_layer_names_are_the_same_classes(alias, name):
    assert getattr(layers, alias) is getattr(layers, name)
    assert alias in layers.__all__


def test_a_layer_serializes_and_deserializes_as_keras():
    dense = layers.Dense(3, activation="relu", name="head")
    config = layers.serialize(dense)
    assert config["module"] == "keras.layers" and config["class_name"] == "Dense"
    again = layers.deserialize(config)
    assert (type(again), again.units, again.name) == (layers.Dense, 3, "head")

    @minicnn.utils.register_keras_serializable("Tests")
    class Doubling(layers.Layer):
        def call(self, x):
            return x * 2.0

    custom = layers.deserialize(layers.serialize(Doubling(name="twice")))
    assert isinstance(custom, Doubling) and custom.name == "twice"


def test_losses_optimizers_metrics_and_initializers_round_trip():
    huber = losses.deserialize(losses.serialize(losses.Huber(delta=2.5, reduction="sum")))
    assert (huber.delta, huber.reduction) == (2.5, "sum")
    assert isinstance(losses.deserialize("mse"), losses.MeanSquaredError)
    adam = optimizers.deserialize(optimizers.serialize(optimizers.Adam(learning_rate=0.03)))
    assert isinstance(adam, optimizers.Adam) and adam.learning_rate == pytest.approx(0.03)
    assert optimizers.deserialize("sgd").__class__ is optimizers.SGD
    auc = metrics.deserialize(metrics.serialize(metrics.AUC(num_thresholds=50)))
    assert isinstance(auc, metrics.AUC) and auc.get_config()["num_thresholds"] == 50
    init = initializers.deserialize(initializers.serialize(initializers.HeNormal(seed=3)))
    assert isinstance(init, initializers.HeNormal)


def test_initializers_snake_case_names_are_keras_classes():
    assert isinstance(initializers.he_normal(seed=1), initializers.HeNormal)
    assert initializers.glorot_uniform is initializers.GlorotUniform
    assert initializers.OrthogonalInitializer is initializers.Orthogonal
    assert initializers.IdentityInitializer is initializers.Identity
    kernel = initializers.orthogonal(seed=0)((4, 4))
    np.testing.assert_allclose(kernel @ kernel.T, np.eye(4), atol=1e-5)
    # Names given to layers still find them.
    assert layers.Dense(2, kernel_initializer="he_normal").kernel_initializer is not None


def test_standardize_dtype_gives_keras_names():
    assert utils.standardize_dtype(None) == "float32"
    assert utils.standardize_dtype(float) == "float32"
    assert utils.standardize_dtype(int) == "int64"
    assert utils.standardize_dtype(bool) == "bool"
    assert utils.standardize_dtype(np.int32) == "int32"
    assert utils.standardize_dtype(np.dtype("float16")) == "float16"
    assert utils.standardize_dtype("string") == "string"
    with pytest.raises(ValueError, match="Invalid dtype"):
        utils.standardize_dtype("float31")


def test_config_reads_attributes_and_items_and_freezes():
    config = utils.Config(learning_rate=0.1, layers=[8, 4])
    config.dropout = 0.2
    config["seed"] = 7
    assert (config.learning_rate, config["dropout"], len(config)) == (0.1, 0.2, 4)
    assert "seed" in config and config.as_dict()["layers"] == [8, 4]
    config.freeze()
    with pytest.raises(ValueError, match="frozen"):
        config.dropout = 0.5
    config.unfreeze()
    del config.seed
    assert "seed" not in config
    with pytest.raises(AttributeError, match="Unknown attribute"):
        _ = config.missing


def test_get_custom_objects_is_a_live_registry():
    def halved(x):
        return x * 0.5

    objects = saving.get_custom_objects()
    objects["halved"] = halved
    try:
        assert utils.get_registered_object("halved") is halved
        assert saving.CustomObjectScope is utils.custom_object_scope
    finally:
        del objects["halved"]


def test_the_correlation_functions_give_one_value_per_row():
    rng = np.random.default_rng(0)
    t = rng.random((3, 6)).astype(np.float32)
    p = (t + 0.2 * rng.random((3, 6))).astype(np.float32)
    expected = [np.corrcoef(a, b)[0, 1] for a, b in zip(t, p, strict=True)]
    np.testing.assert_allclose(metrics.pearson_correlation(t, p).data, expected, rtol=1e-4)
    np.testing.assert_allclose(
        metrics.pearson_correlation(t.T, p.T, axis=0).data, expected, rtol=1e-4
    )
    concordance = metrics.concordance_correlation(t, p).data
    assert concordance.shape == (3,) and np.all(concordance <= 1.0)
    identical = metrics.concordance_correlation(t, t).data
    np.testing.assert_allclose(identical, 1.0, atol=1e-3)
