"""Layer configs in Keras' format: ``get_config()`` of every layer class Keras 3.15 and
minicnn share equals Keras' (tests/data/keras_layer_configs.txt holds what
``tests/keras_io/layer_configs.py keras`` printed under Keras 3.15), and each config makes
the same layer again."""

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path

import pytest

import minicnn
from minicnn import layers

HERE = Path(__file__).parent

# Where Keras' config differs on purpose, and why.
KNOWN_DIFFERENCES = {
    # Keras 3.15 draws these factors from [-f, f] (its base bounds), against its own docs'
    # [0, f]; minicnn follows the docs.
    "RandomColorDegeneration": {"factor"},
    "RandomSaturation": {"factor"},
    # Keras 3.15 draws the contrast from [1, 1 + f] (its lower bound is clipped to 0),
    # against its docs' [1 - f, 1 + f]; minicnn follows the docs.
    "RandomContrast": {"factor"},
    # Keras makes up a random seed where none is given.
    "RandomCrop": {"seed"},
    # Keras' configs of these two leave out the seed they take; minicnn's keep it.
    "RandomGrayscale": {"seed"},
    "SimpleRNN": {"seed"},
}


def configs(lines):
    found = {}
    for line in lines:
        name, text = line.split(" ", 1)
        found[name] = None if text.startswith("error") else json.loads(text)
    return found


def printed_configs(name):
    """The configs a script of tests/keras_io prints when it runs in minicnn."""
    script = HERE / "keras_io" / f"{name}.py"
    argv, sys.argv = sys.argv, [str(script), "minicnn"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(script), run_name=name)
    finally:
        sys.argv = argv
    return configs(out.getvalue().splitlines())


def differing(expected, got):
    """The keys whose values differ (or that one config lacks)."""
    return {k for k in set(expected) | set(got) if expected.get(k, ...) != got.get(k, ...)}


@pytest.fixture(scope="module")
def minicnn_configs():
    return printed_configs("layer_configs")


KERAS = configs((HERE / "data" / "keras_layer_configs.txt").read_text().splitlines())


@pytest.mark.parametrize("name", sorted(KERAS))
def test_a_layers_config_is_kerass(name, minicnn_configs):
    got = minicnn_configs.get(name)
    assert got is not None, f"minicnn could not make {name}"
    assert differing(KERAS[name], got) == KNOWN_DIFFERENCES.get(name, set())


def test_the_keras_configs_cover_the_main_layers():
    for name in ("Dense", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "LSTM", "Embedding"):
        assert KERAS[name] is not None
    assert len(KERAS) >= 160


MADE_AGAIN = [
    lambda: layers.Dense(
        3, activation="softmax", kernel_regularizer="l2", kernel_constraint="non_neg"
    ),
    lambda: layers.Conv2D(2, 3, activity_regularizer="l1", bias_initializer="ones"),
    lambda: layers.Conv2DTranspose(2, 3, strides=2),
    lambda: layers.Conv1DTranspose(2, 3),
    lambda: layers.Conv3DTranspose(2, 3),
    lambda: layers.SeparableConv2D(
        2, 3, pointwise_regularizer="l2", depthwise_constraint="non_neg"
    ),
    lambda: layers.DepthwiseConv1D(3, depthwise_constraint="max_norm"),
    lambda: layers.BatchNormalization(),
    lambda: layers.LayerNormalization(),
    lambda: layers.RMSNormalization(),
    lambda: layers.Embedding(10, 4),
    lambda: layers.LSTM(3, zero_output_for_mask=True),
    lambda: layers.MultiHeadAttention(2, 4, output_shape=6),
    lambda: layers.Normalization(axis=None, mean=1.0, variance=4.0),
    lambda: layers.RandomFlip(),
    lambda: layers.RandomTranslation(0.1, (-0.2, 0.3)),
    lambda: layers.RandomShear(0.2, (0.1, 0.3)),
    lambda: layers.Resizing(4, 5),
    lambda: layers.InputLayer(shape=(3, 2), batch_size=4),
    lambda: layers.SpatialDropout2D(0.3),
    lambda: layers.Discretization(bin_boundaries=[0.0, 1.0]),
    lambda: layers.PReLU(alpha_constraint="non_neg"),
    lambda: layers.ZeroPadding1D(2, data_format="channels_first"),
    lambda: layers.Bidirectional(layers.GRU(2)),
    lambda: layers.TimeDistributed(layers.Dense(2)),
    lambda: layers.AugMix(factor=0.4),
]


@pytest.mark.parametrize("make", MADE_AGAIN)
def test_a_config_makes_the_same_layer_again(make):
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert json.dumps(again.get_config(), default=repr, sort_keys=True).replace(
        again.name, "N"
    ) == json.dumps(config, default=repr, sort_keys=True).replace(layer.name, "N")


def test_initializers_regularizers_and_constraints_are_kerass_entries():
    config = layers.Dense(2, kernel_regularizer="l2", bias_constraint="non_neg").get_config()
    assert config["kernel_initializer"] == {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    assert config["kernel_regularizer"] == {
        "module": "keras.regularizers",
        "class_name": "L2",
        "config": {"l2": 0.01},
        "registered_name": None,
    }
    assert config["bias_constraint"]["class_name"] == "NonNeg"
    assert config["activation"] == "linear"
    assert config["quantization_config"] is None


def test_keras_arguments_minicnn_computes_at_their_default_only():
    layers.BatchNormalization(renorm=False, renorm_clipping=None)  # Keras' defaults: taken
    layers.Conv2DTranspose(2, 3, dilation_rate=1)
    with pytest.raises(ValueError, match="renorm=True"):
        layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv2DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="channels_last"):
        layers.RandomFlip(data_format="channels_first")


def test_a_separable_convolutions_pointwise_regularizer_and_constraint_act():
    model = minicnn.Sequential(
        [
            minicnn.Input((5, 5, 2)),
            layers.SeparableConv2D(
                3,
                3,
                pointwise_regularizer=minicnn.regularizers.L2(0.5),
                pointwise_constraint=minicnn.constraints.NonNeg(),
            ),
        ]
    )
    layer = model.layers[0]
    pointwise = layer.get_weights()[1]
    (penalty,) = layer.losses
    assert float(penalty.data) == pytest.approx(
        0.5 * float((pointwise.astype("float64") ** 2).sum()), rel=1e-5
    )
    assert layer._weights[1].constraint is layer.pointwise_constraint


def test_prelus_alpha_constraint_acts_after_an_update():
    model = minicnn.Sequential(
        [
            minicnn.Input((4,)),
            layers.PReLU(
                alpha_initializer="ones", alpha_constraint=minicnn.constraints.MaxNorm(0.5, axis=0)
            ),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    import numpy as np

    x = np.ones((8, 4), "float32")
    model.fit(x, x, epochs=1, verbose=0)
    assert np.all(np.abs(model.layers[0].get_weights()[0]) <= 0.5 + 1e-6)


def _functional_model():
    first, second = minicnn.Input((6,), name="p"), minicnn.Input((6,), name="q")
    shared = layers.Dense(4, activation="relu", name="shared")
    inner = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(2, name="inner_dense")])
    joined = layers.Concatenate()([shared(first), layers.Dropout(0.1)(shared(second))])
    return minicnn.Model([first, second], [layers.Dense(1)(joined), inner(shared(second))])


@pytest.mark.parametrize(
    "make",
    [
        lambda: minicnn.Sequential([minicnn.Input((6,)), layers.Dense(3), layers.Dropout(0.5)]),
        _functional_model,
    ],
)
def test_a_models_keras_config_makes_the_same_model_again(make):
    import numpy as np

    model = make()
    config = model.get_config()
    assert "input_shape" not in config  # Keras' config, not minicnn's own
    again = type(model).from_config(config)
    assert type(again) is type(model)
    again.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((3, 6)).astype("float32")
    inputs = [x, x] if len(model.inputs) == 2 else x
    got, expected = again.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    if not isinstance(expected, list):
        got, expected = [got], [expected]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.get_config() == config


def test_a_model_not_built_gives_minicnns_own_config_which_makes_it_again():
    model = minicnn.Sequential([layers.Dense(3), layers.Dense(2)])
    config = model.get_config()
    assert config["input_shape"] is None
    again = minicnn.Sequential.from_config(config)
    assert [type(layer).__name__ for layer in again.layers] == ["Dense", "Dense"]


# Keras' configs of these leave out an argument that minicnn's keep (Keras' Identity loses
# its gain, CosineSimilarity its axis and Huber its delta on a round trip).
KNOWN_OBJECT_DIFFERENCES = {
    "losses.CosineSimilarity": {"axis"},
    "losses.Huber": {"delta"},
    "metrics.CosineSimilarity": {"axis"},
    "initializers.Identity": {"gain"},
    "initializers.IdentityInitializer": {"gain"},
}
KERAS_OBJECTS = configs((HERE / "data" / "keras_object_configs.txt").read_text().splitlines())


@pytest.fixture(scope="module")
def minicnn_object_configs():
    return printed_configs("object_configs")


@pytest.mark.parametrize("name", sorted(n for n, c in KERAS_OBJECTS.items() if c is not None))
def test_an_objects_config_is_kerass(name, minicnn_object_configs):
    got = minicnn_object_configs.get(name)
    assert got is not None, f"minicnn could not make {name}"
    assert differing(KERAS_OBJECTS[name], got) == KNOWN_OBJECT_DIFFERENCES.get(name, set())


def test_a_losss_config_makes_the_same_loss_again():
    for loss in (
        minicnn.losses.CategoricalCrossentropy(label_smoothing=0.1, name="smooth"),
        minicnn.losses.SparseCategoricalCrossentropy(ignore_class=0, reduction="sum"),
        minicnn.losses.Huber(delta=2.0),
        minicnn.losses.Tversky(alpha=0.3, beta=0.7, axis=[1, 2]),
    ):
        again = minicnn.losses.deserialize(minicnn.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()


def test_one_outputs_loss_weight_scales_its_loss_and_is_kept_as_given():
    import numpy as np

    x = np.random.default_rng(1).random((16, 4)).astype("float32")
    y = np.arange(16) % 3

    def evaluated(weights):
        minicnn.utils.set_random_seed(0)
        model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy", loss_weights=weights)
        return model.evaluate(x, y, verbose=0), model.get_compile_config()

    plain, config = evaluated(None)
    assert config["loss_weights"] is None and config["weighted_metrics"] is None
    half, config = evaluated([0.5])
    assert half == pytest.approx(plain / 2, rel=1e-6) and config["loss_weights"] == [0.5]
    assert evaluated(2.0)[0] == pytest.approx(2 * plain, rel=1e-6)
    with pytest.raises(ValueError, match="one output, so one weight"):
        evaluated([1.0, 2.0])


# tests/keras_io/compile_configs.py: what Keras 3.15 printed, and where minicnn differs.
KERAS_COMPILE = configs((HERE / "data" / "keras_compile_configs.txt").read_text().splitlines())
KNOWN_COMPILE_DIFFERENCES = {"dict_by_output": {"loss"}}  # Huber's delta (see above)


def comparable(config):
    """A compile config less what depends on more than compile's arguments: the optimizer's
    name (numbered by how many the process made before) and jit_compile (Keras' "auto" is
    True under JAX, for XLA; minicnn's True means a CUDA graph)."""
    config = {k: v for k, v in config.items() if k != "jit_compile"}
    optimizer = config["optimizer"]
    inner = {k: v for k, v in optimizer["config"].items() if k != "name"}
    return {**config, "optimizer": {**optimizer, "config": inner}}


@pytest.fixture(scope="module")
def compile_script():
    """The script's globals (its cases) and the compile configs it printed in minicnn."""
    script = HERE / "keras_io" / "compile_configs.py"
    argv, sys.argv = sys.argv, [str(script), "minicnn"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            found = runpy.run_path(str(script), run_name="compile_configs")
    finally:
        sys.argv = argv
    return found, configs(out.getvalue().splitlines())


@pytest.mark.parametrize("name", sorted(KERAS_COMPILE))
def test_a_compile_config_is_kerass(name, compile_script):
    got = comparable(compile_script[1][name])
    differ = differing(comparable(KERAS_COMPILE[name]), got)
    assert differ == KNOWN_COMPILE_DIFFERENCES.get(name, set())


def test_a_compile_config_compiles_the_model_again(compile_script):
    found, printed = compile_script
    made = [
        (name, model, model.get_compile_config(), [m.name for m in model._logged_metrics])
        for name, model in found["cases"]()
    ]
    assert [case[0] for case in made] == list(printed)
    for name, model, config, metric_names in made:
        again = minicnn.models.clone_model(model)
        # A function that is not registered is found by name in custom_objects, as in Keras.
        with minicnn.saving.custom_object_scope({"unregistered": found["unregistered"]}):
            again.compile_from_config(json.loads(json.dumps(config)))
        if name != "compiled_again_without_metrics":  # (it keeps metrics its config lacks)
            assert [m.name for m in again._logged_metrics] == metric_names, name
        assert comparable(again.get_compile_config()) == comparable(config), name
