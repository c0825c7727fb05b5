"""ClassToken and PositionEmbedding (keras_hub's): what they compute, their gradients
(float64 finite differences, on every device), their errors, training, and their files
(minicnn's Keras archive, Keras' config names, ONNX both ways)."""

import json
import zipfile

import numpy as np
import pytest
from gradcheck import check_gradients

import minicnn
from minicnn import Input, Model, backend
from minicnn import layers as L
from minicnn.onnx_import import load_onnx

RNG = np.random.default_rng(5)


def test_class_tokens_go_before_the_steps_and_positions_are_added(device):
    x = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    token = L.ClassToken(2, initializer="random_normal")
    token.to(device)
    y = backend.to_numpy(token(backend.to_device(x, device)).data)
    tokens = token.get_weights()[0]
    assert y.shape == (3, 6, 2) and tokens.shape == (2, 2)
    np.testing.assert_array_equal(y[:, :2], np.broadcast_to(tokens, (3, 2, 2)))
    np.testing.assert_array_equal(y[:, 2:], x)
    positions = L.PositionEmbedding(6)
    positions.to(device)
    table = RNG.standard_normal((6, 2)).astype(np.float32)
    positions.build((None, 4, 2))
    positions.set_weights([table])
    p = backend.to_numpy(positions(backend.to_device(x, device)).data)
    np.testing.assert_array_equal(p, np.broadcast_to(table[:4], (3, 4, 2)))  # the first steps


@pytest.mark.parametrize("kind", ["ClassToken", "PositionEmbedding"])
def test_gradients_check_in_float64(kind, device):
    layer = L.ClassToken(3) if kind == "ClassToken" else L.PositionEmbedding(5)
    layer.to(device)
    layer.build((None, 4, 2))
    x = RNG.standard_normal((2, 4, 2))
    w = RNG.standard_normal(layer.get_weights()[0].shape)

    def run(xt, wt):
        layer._weights[0] = wt
        out = layer.call(xt, training=True)
        return out * xt[:, :1] if kind == "PositionEmbedding" else out  # x's gradient too

    check_gradients(run, x, w, device=device)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"takes sequences \(batch, steps, features\)"):
        L.ClassToken()(Input((4, 4, 3)))
    with pytest.raises(ValueError, match="has 3 positions; its input has 4 steps"):
        L.PositionEmbedding(3)(Input((4, 2)))
    with pytest.raises(ValueError, match="count"):
        L.ClassToken(0)


def test_a_vit_input_trains_and_saves(tmp_path):
    minicnn.set_random_seed(0)
    steps = Input((4, 6))
    joined = L.ClassToken(name="cls_token")(steps)
    placed = L.Add()([joined, L.PositionEmbedding(5, name="pos_embedding")(joined)])
    model = Model(steps, L.Dense(2)(placed[:, 0]))
    x = RNG.standard_normal((16, 4, 6)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, RNG.standard_normal((16, 2)), epochs=3, verbose=0)
    assert np.abs(model.get_layer("cls_token").get_weights()[0]).max() > 0  # it learned
    model.save(tmp_path / "m.keras")
    again = minicnn.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    model.export(tmp_path / "k.keras")  # Keras 3's own archive
    keras = minicnn.load_model(tmp_path / "k.keras", compile=False)
    np.testing.assert_allclose(keras.predict(x, verbose=0), model.predict(x, verbose=0))
    with zipfile.ZipFile(tmp_path / "k.keras") as archive:
        config = json.loads(archive.read("config.json"))
    entries = {e["class_name"]: e for e in config["config"]["layers"]}
    assert entries["PositionEmbedding"]["registered_name"] == "keras_hub>PositionEmbedding"
    assert entries["PositionEmbedding"]["config"]["sequence_length"] == 5
    assert entries["ClassToken"]["registered_name"] == "minicnn>ClassToken"
    model.export(tmp_path / "m.onnx", format="onnx")
    back = load_onnx(tmp_path / "m.onnx")
    kinds = [type(layer).__name__ for layer in back.layers]
    assert "ClassToken" in kinds and "PositionEmbedding" in kinds
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    (token,) = [layer for layer in back.layers if type(layer).__name__ == "ClassToken"]
    np.testing.assert_array_equal(
        token.get_weights()[0], model.get_layer("cls_token").get_weights()[0]
    )
