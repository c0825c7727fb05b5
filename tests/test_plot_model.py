"""utils.plot_model and utils.model_to_dot: Keras' picture of a model's graph (drawn with
matplotlib, or as Graphviz DOT text), its edges checked against the model's graph."""

import re

import matplotlib.image
import pytest
from test_nested_models import feature_block

from minicnn import Input, Model, Sequential, utils
from minicnn import layers as L


def branchy():
    inputs = Input((8, 8, 1))
    joined = L.Concatenate()(
        [L.Flatten()(feature_block("branch")(inputs)), L.Flatten(name="skip")(inputs)]
    )
    return Model(inputs, L.Dense(2, activation="softmax", name="head")(joined))


def test_dot_text_holds_every_layer_and_edge():
    dot = utils.model_to_dot(branchy(), show_shapes=True, show_layer_names=True)
    labels = dict(re.findall(r'(n\d+) \[label="([^"]*)"\]', dot))
    names = {node: label.split(" (")[0] for node, label in labels.items()}
    edges = {(names[a], names[b]) for a, b in re.findall(r"(n\d+) -> (n\d+);", dot)}
    inputs = next(n for n in names.values() if n.startswith("input_layer"))
    flatten = next(n for n in names.values() if n.startswith("flatten"))
    concatenate = next(n for n in names.values() if n.startswith("concatenate"))
    assert edges == {
        (inputs, "branch"),
        (inputs, "skip"),
        ("branch", flatten),
        (flatten, concatenate),
        ("skip", concatenate),
        (concatenate, "head"),
    }
    assert "Output shape: (None, 88)" in dot and "Input shape: [(None, 24), (None, 64)]" in dot
    plain = utils.model_to_dot(branchy())
    assert "Input shape" not in plain and '"Dense"' in plain  # Keras' defaults: class names


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf", "dot"])
def test_plot_model_writes_each_format(suffix, tmp_path):
    path = tmp_path / f"model.{suffix}"
    utils.plot_model(
        branchy(),
        str(path),
        show_shapes=True,
        show_layer_names=True,
        show_dtype=True,
        show_layer_activations=True,
        show_trainable=True,
        dpi=60,
    )
    assert path.stat().st_size > 0 and [p.name for p in tmp_path.iterdir()] == [path.name]
    if suffix == "png":
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    if suffix == "dot":
        text = path.read_text()
        assert "Activation: softmax" in text and "Trainable: Y" in text
        assert "Output dtype: float32" in text


def test_a_sequential_model_left_to_right(tmp_path):
    model = Sequential([Input((28, 28, 1)), L.Conv2D(4, 3), L.Flatten(), L.Dense(10)])
    utils.plot_model(model, str(tmp_path / "s.png"), rankdir="LR", dpi=50)
    dot = utils.model_to_dot(model)
    assert dot.count("->") == 3 and "InputLayer" in dot


def test_bad_arguments_are_named(tmp_path):
    model = branchy()
    with pytest.raises(ValueError, match="rankdir must be 'TB' or 'LR'"):
        utils.plot_model(model, str(tmp_path / "m.png"), rankdir="BT")
    with pytest.raises(ValueError, match="must end in .png, .pdf, .svg or .dot"):
        utils.plot_model(model, str(tmp_path / "m.jpg"))
    with pytest.raises(ValueError, match="expand_nested=True is not available"):
        utils.plot_model(model, str(tmp_path / "m.png"), expand_nested=True)
    with pytest.raises(ValueError, match="not been built"):
        utils.plot_model(Sequential([L.Dense(2)]), str(tmp_path / "m.png"))
