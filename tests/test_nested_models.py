"""Models used as layers, as in Keras: a Sequential block of augmentation layers, a base network
frozen under a new head, a functional block inside a Sequential. The nested model's weights are
the outer model's, in Keras' order; it trains, freezes, saves, loads and moves between devices
with it."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_models import toy_data

from minicnn import Input, Model, Sequential, backend, load_model, optimizers
from minicnn import layers as L


def feature_block(name="features"):
    return Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(6, 3, activation="relu"),
        ],
        name=name,
    )


def nested_cnn(device="cpu"):
    augment = Sequential([L.RandomFlip("horizontal"), L.RandomTranslation(0.1, 0.1)], name="aug")
    return Sequential(
        [Input((8, 8, 1)), augment, feature_block(), L.Flatten(), L.Dense(3, activation="softmax")],
        device=device,
    )


def flat_cnn(device="cpu"):
    """The same layers without the nesting."""
    return Sequential(
        [
            Input((8, 8, 1)),
            L.RandomFlip("horizontal"),
            L.RandomTranslation(0.1, 0.1),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(6, 3, activation="relu"),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ],
        device=device,
    )


def test_a_nested_model_trains_exactly_like_its_layers_inline(device):
    x, y = toy_data(64)
    histories, weights = [], []
    for build in (nested_cnn, flat_cnn):
        backend.set_random_seed(1)
        model = build(device)
        model.compile(optimizers.Adam(0.01), metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=16, epochs=3, verbose=0).history)
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in weights[0]] == [(3, 3, 1, 4), (4,), (3, 3, 4, 6), (6,), (24, 3), (3,)]


def test_the_summary_shows_a_nested_model_as_one_row():
    lines = []
    nested_cnn().summary(print_fn=lines.append)
    text = lines[0]
    assert "│ aug (Sequential)                │ (None, 8, 8, 1)        │             0 │" in text
    assert "│ features (Sequential)           │ (None, 2, 2, 6)        │           262 │" in text
    assert " Total params: 337 (1.32 KB)" in text
    inputs = Input((8, 8, 1))
    block = Model(inputs, L.Conv2D(2, 3)(inputs), name="block")
    lines = []
    Sequential([Input((8, 8, 1)), block, L.Flatten()]).summary(print_fn=lines.append)
    assert "block (Functional)" in lines[0]


def test_a_frozen_base_keeps_its_weights_under_a_new_head(tmp_path, device):
    """Keras' transfer learning: base.trainable = False, a new head, fit; then save and load."""
    x, y = toy_data(64)
    base = feature_block("base")
    base.build((None, 8, 8, 1))
    inputs = Input((8, 8, 1))
    outputs = L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(base(inputs)))
    model = Model(inputs, outputs, device=device)
    base.trainable = False
    before = [w.copy() for w in base.get_weights()]
    model.compile(optimizers.Adam(0.05))
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for a, b in zip(before, base.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "InputLayer",
        "Sequential",
        "GlobalAveragePooling2D",
        "Dense",
    ]
    assert loaded.layers[1].trainable is False
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # The weights load into a model built anew in another session (other layer names).
    again = Model(inputs, outputs)
    again.load_weights(tmp_path / "m.minicnn")


def test_gradients_flow_through_a_nested_model(device):
    inner = Sequential([Input((5,)), L.Dense(4, activation="tanh"), L.Dense(3)])
    outer = Sequential([Input((5,)), inner, L.Dense(2)]).to(device)
    for w in outer.weights:
        w.data = w.data.astype(np.float64)
    x = np.random.default_rng(0).standard_normal((3, 5))
    check_gradients(lambda t: outer(t), x, device=device)


def test_nesting_errors_are_named():
    block = feature_block()
    with pytest.raises(ValueError, match=r"was built for input shape \(8, 8, 1\), and is called"):
        Model(Input((9, 9, 1)), block(Input((9, 9, 1))))
    small = Input((8, 8, 1))
    flat = Model(small, L.Flatten()(small))
    with pytest.raises(ValueError, match=r"takes samples of shape \(8, 8, 1\), got \(9, 9, 1\)"):
        Sequential([Input((9, 9, 1)), flat])


def test_clone_model_and_json_rebuild_the_architecture_with_new_weights(device):
    from minicnn.models import clone_model, model_from_json

    for model in (nested_cnn(device), feature_block()):
        clone = clone_model(model)
        assert type(clone) is type(model) and clone.device == model.device
        assert clone.get_config() == model.get_config()
        assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
        assert all(a is not b for a, b in zip(clone.weights, model.weights, strict=True))
        again = model_from_json(model.to_json())
        assert again.get_config() == model.get_config()
    inputs = Input((8, 8, 1))
    functional = Model(inputs, L.Dense(2)(L.Flatten()(feature_block("f")(inputs))))
    rebuilt = model_from_json(functional.to_json())
    assert type(rebuilt).__name__ == "Functional"
    assert rebuilt.count_params() == functional.count_params()
    rebuilt.set_weights(functional.get_weights())
    x = np.random.default_rng(0).random((4, 8, 8, 1), np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), functional.predict(x, verbose=0))
    with pytest.raises(ValueError, match="Not a model's JSON"):
        model_from_json('{"class_name": "Dense"}')


def test_summary_shows_what_trains_as_keras_does(monkeypatch):
    from summary_table import table_rows

    monkeypatch.setenv("COLUMNS", "200")
    model = nested_cnn()
    model.layers[1].trainable = False  # the features block
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True)
    table = lines[0]
    assert "Traina…" in table.splitlines()[2]  # Keras' header: the column is 7 wide
    rows = {row[0].split()[0]: row for row in table_rows(table)}
    assert rows["aug"][-1] == "-"  # no weights
    assert rows["features"][-1] == "N"
    assert rows["dense"][-1] == "Y"


def test_summary_expands_nested_models_and_takes_a_layer_range():
    """Keras 3's expand_nested ("   " per level, then "└ ") and layer_range (regular
    expressions of names, from the first match of one to the last of the other)."""
    from summary_table import table_rows

    model = nested_cnn()
    lines = []
    model.summary(print_fn=lines.append, expand_nested=True)
    names = [row[0].split(" (")[0] for row in table_rows(lines[0])]
    assert names == [
        "aug",
        "└ random_flip",
        "└ random_translation",
        "features",
        "└ conv2d",
        "└ max_pooling2d",
        "└ conv2d_1",
        "flatten",
        "dense",
    ]
    # The totals count every weight once, nested or not.
    plain = []
    model.summary(print_fn=plain.append)
    assert lines[0].splitlines()[-3:] == plain[0].splitlines()[-3:]
    ranged = []
    model.summary(print_fn=ranged.append, layer_range=["feat", "flat.*"])
    assert [r[0].split()[0] for r in table_rows(ranged[0])] == ["features", "flatten"]
    inputs = Input((8, 8, 1))
    branch = feature_block("branch")
    joined = L.Concatenate()([L.Flatten()(branch(inputs)), L.Flatten()(inputs)])
    functional = Model(inputs, L.Dense(2)(joined))
    deep = []
    functional.summary(print_fn=deep.append, expand_nested=True, show_trainable=True)
    nested_rows = [row for row in table_rows(deep[0]) if row[0].startswith("└ conv2d")]
    assert nested_rows and all(row[3] == "-" for row in nested_rows)  # no connections
    for bad, message in (
        (["dense"], "length 2"),
        ([1, 2], "string type only"),
        (["nothing", "dense"], "do not match"),
    ):
        with pytest.raises(ValueError, match=message):
            model.summary(layer_range=bad)


def test_a_base_called_with_training_false_stays_in_inference_mode(tmp_path):
    """Keras' transfer-learning guide: x = base(inputs, training=False) keeps the base's
    batch norm in inference mode in fit, also once the base is unfrozen to fine-tune, and
    the model saves that call."""
    base = Sequential(
        [Input((8, 8, 3)), L.Conv2D(4, 3), L.BatchNormalization(), L.Dropout(0.5)], name="base"
    )
    inputs = Input((8, 8, 3))
    outputs = L.Dense(1)(L.GlobalAveragePooling2D()(base(inputs, training=False)))
    model = Model(inputs, outputs)
    batch_norm = base.layers[1]
    before = batch_norm.get_weights()
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    data, targets = rng.random((32, 8, 8, 3)).astype(np.float32), rng.random((32, 1))
    model.fit(data, targets, epochs=2, verbose=0)
    gamma, beta, mean, variance = batch_norm.get_weights()
    np.testing.assert_array_equal(mean, before[2])  # the moving statistics never moved
    np.testing.assert_array_equal(variance, before[3])
    assert not np.allclose(gamma, before[0])  # while the weights trained
    # Dropout is off too: two predictions in "training" agree.
    np.testing.assert_array_equal(model(data, training=True).data, model(data, training=True).data)
    model.save(tmp_path / "tuned.keras")
    loaded = load_model(tmp_path / "tuned.keras")
    np.testing.assert_array_equal(loaded(data, training=True).data, model(data, training=True).data)


def test_a_frozen_models_flag_is_its_own_as_in_keras():
    # Keras' transfer-learning guide: the outer model frozen, the inner one unfrozen after.
    inner = Sequential([Input((3,)), L.Dense(3, activation="relu"), L.Dense(3)])
    model = Sequential([Input((3,)), inner, L.Dense(3, activation="sigmoid")])
    model.trainable = False
    inner.trainable = True
    assert inner.layers[0].trainable
    # Keras 3.15: False True 0 (a frozen model trains nothing).
    assert (model.trainable, inner.trainable, len(model.trainable_weights)) == (False, True, 0)
    assert len(model.non_trainable_weights) == len(model.weights) == 6
    model.trainable = True
    assert len(model.trainable_weights) == 6
