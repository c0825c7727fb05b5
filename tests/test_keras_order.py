"""A functional model's ``layers`` and ``get_weights()`` in Keras' order, so that Keras'
``model.layers[i]`` and ``set_weights(keras_model.get_weights())`` mean the same here.
The expected orders are Keras 3.15's for the same program."""

import numpy as np
import pytest

from minicnn import Input, Model
from minicnn import layers as L


def two_towers():
    image, meta = Input((8, 8, 1), name="img"), Input((3,), name="meta")
    x = L.Conv2D(4, 3, name="c1")(image)
    x = L.GlobalAveragePooling2D(name="gap")(L.Conv2D(5, 3, name="c2")(x))
    joined = L.Concatenate(name="cat")([x, L.Dense(6, name="dm")(meta)])
    shortcut = L.Dense(2, name="s2")(L.Flatten(name="fl")(L.Dense(7, name="short")(image)))
    out = L.Add(name="add")([L.Dense(2, name="out")(joined), shortcut])
    return Model([image, meta], out)


def test_a_graphs_layers_and_weights_come_in_keras_order():
    model = two_towers()
    names = ["img", "c1", "c2", "meta", "gap", "dm", "short", "cat", "fl", "out", "s2", "add"]
    assert [layer.name for layer in model.layers] == names
    shapes = [(3, 3, 1, 4), (4,), (3, 3, 4, 5), (5,), (3, 6), (6,), (1, 7), (7,)]
    shapes += [(11, 2), (2,), (448, 2), (2,)]
    assert [w.shape for w in model.get_weights()] == shapes
    # Weights in Keras' order go where Keras puts them.
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    model.set_weights(weights)
    np.testing.assert_array_equal(model.get_layer("out").get_weights()[0], weights[8])
    np.testing.assert_array_equal(model.get_layer("short").get_weights()[0], weights[6])


def test_an_input_read_late_comes_late_as_in_keras():
    image, label = Input((8, 4, 1), name="image"), Input((None,), name="label")
    x = L.Reshape((8, 4), name="reshape")(L.Conv2D(1, 3, padding="same", name="conv")(image))
    x = L.Dense(3, name="dense")(x)
    model = Model([image, label], L.Concatenate(name="cat")([label, L.Flatten(name="fl")(x)]))
    assert [layer.name for layer in model.layers] == [
        "image",
        "conv",
        "reshape",
        "dense",
        "label",
        "fl",
        "cat",
    ]


def test_the_summary_names_ops_as_keras_does():
    from minicnn import ops

    x = Input((4, 4, 2), name="x")
    outputs = [x + 1.0, x / 2.0, x // 1.0, -x, abs(x), x > 0, x[:, 0], 1.0 / x]
    outputs += [ops.mean(x, axis=1), ops.expand_dims(x, 1), ops.image.resize(x, (8, 8))]
    outputs += [ops.top_k(x, 1)[0], ops.matmul(x, ops.ones((2, 3)))]
    lines = []
    Model(x, outputs).summary(line_length=150, print_fn=lines.append)
    import re

    rows = re.findall(r"│ (\S+) \((\w+)\)", lines[0])
    assert rows == [  # Keras 3.15's summary of the same model
        ("x", "InputLayer"),
        ("add", "Add"),
        ("true_divide", "TrueDivide"),
        ("floor_divide", "FloorDivide"),
        ("negative", "Negative"),
        ("absolute", "Absolute"),
        ("greater", "Greater"),
        ("get_item", "GetItem"),
        ("true_divide_1", "TrueDivide"),
        ("mean", "Mean"),
        ("expand_dims", "ExpandDims"),
        ("resize", "Resize"),
        ("top_k", "TopK"),
        ("matmul", "Matmul"),
    ]


def test_layers_and_models_made_after_others_get_keras_names():
    from minicnn import Sequential

    x = Input((5, 4))
    L.MultiHeadAttention(2, 3)(x, x)  # Keras' build makes a Softmax and a Dropout
    assert [L.Dropout(0.1).name, L.Softmax().name, L.Dense(2).name] == [
        "dropout_1",
        "softmax_1",
        "dense",
    ]
    Sequential([Input((4,)), L.Dense(3), L.Dense(2)])  # Keras links them in a Functional
    ids = Input((3,))
    assert Model(ids, L.Dense(1)(ids)).name == "functional_1"
    later = Sequential([L.Dense(3)])
    later.build((None, 4))
    ids = Input((3,))
    assert (later.name, Model(ids, L.Dense(1)(ids)).name) == ("sequential_1", "functional_3")


def test_dicts_of_inputs_and_outputs_go_in_sorted_order_as_in_keras():
    zeta, alpha = Input((3,), name="zeta"), Input((2,), name="alpha")
    joined = L.concatenate([zeta, alpha])
    outputs = {"z_out": L.Dense(1, name="z_out")(joined), "a_out": L.Dense(2, name="a_out")(joined)}
    model = Model({"zeta": zeta, "alpha": alpha}, outputs)
    # Keras 3.15's values for the same program.
    assert [t.name for t in model.inputs] == ["alpha", "zeta"]
    assert model.input_shape == [(None, 2), (None, 3)]
    assert model.output_shape == [(None, 2), (None, 1)]
    assert [layer.name for layer in model.layers] == [
        "zeta",
        "alpha",
        "concatenate",
        "a_out",
        "z_out",
    ]
    assert [w.shape for w in model.get_weights()] == [(5, 2), (2,), (5, 1), (1,)]
    data = {"zeta": np.ones((4, 3), np.float32), "alpha": np.ones((4, 2), np.float32)}
    assert list(model.predict(data, verbose=0)) == ["a_out", "z_out"]


def test_a_shared_output_layer_is_not_last_yet_its_softmax_goes_to_the_loss():
    from minicnn import losses

    x = Input((4,))
    head = L.Dense(4, activation="softmax", name="head")
    out = head(L.Dense(4, activation="relu", name="mid")(head(x)))
    model = Model(x, out)
    assert [layer.name for layer in model.layers] == ["input_layer", "head", "mid"]  # Keras'
    model.compile("adam", "categorical_crossentropy")
    data = np.random.default_rng(0).random((8, 4)).astype(np.float32)
    targets = np.eye(4, dtype=np.float32)[np.arange(8) % 4]
    expected = losses.categorical_crossentropy(targets, model.predict(data, verbose=0))
    expected = float(np.mean(np.asarray(getattr(expected, "data", expected))))
    np.testing.assert_allclose(model.evaluate(data, targets, verbose=0), expected, rtol=1e-5)


def test_a_graphs_ops_are_operations_not_layers_as_in_keras():
    from minicnn import ops

    x = Input((4,))
    h = ops.relu(L.Dense(3)(x) + 1.0)
    model = Model(x, L.Dense(2)(h[:, :2]))
    # Keras 3.15: model.layers [InputLayer, Dense, Dense]; model.operations with its ops.
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]
    names = [op.name for op in model.operations]
    assert [n.rstrip("_0123456789") for n in names] == [
        "input_layer",
        "dense",
        "add",
        "relu",
        "get_item",
        "dense",
    ]
    assert model.get_layer(index=2) is model.layers[2] is model.operations[5]
    assert model.get_layer(model.layers[1].name) is model.layers[1]
    assert model.layers is not model.layers  # a new list each time, as Keras'
    for call, message in [
        (lambda: model.get_layer(index=3), "only has 3 layers"),
        (lambda: model.get_layer(names[2]), "No layer named"),
        (lambda: model.get_layer("x", index=0), "Provide only"),
        (lambda: model.get_layer(), "Provide either"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(AttributeError, match="reserved"):
        model.layers = []


def test_one_output_of_a_nested_model_is_no_layer_nor_operation():
    x = Input((3,))
    twin = Model(x, [L.Dense(2)(x), L.Dense(4)(x)])
    y = Input((3,))
    first, second = twin(y)
    model = Model(y, L.Concatenate()([first, second]))
    kinds = ["InputLayer", "Functional", "Concatenate"]
    assert [type(layer).__name__.replace("Model", "Functional") for layer in model.layers] == kinds
    assert len(model.operations) == 3
