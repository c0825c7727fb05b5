"""Lambda layers: Python functions of tensors as layers, differentiated through, with output
shapes found by running them; models with them save weights, not architecture."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_models import toy_data

from minicnn import Input, Sequential, backend
from minicnn import functions as F
from minicnn import layers as L


def test_lambdas_compute_shapes_and_gradients(device):
    scale = L.Lambda(lambda x: x / 255.0 * 2 - 1)
    squash = L.Lambda(lambda x: F.tanh(x) * x.mean(axis=-1, keepdims=True))
    halves = L.Lambda(
        lambda x: F.reshape(x, (x.shape[0], -1, 2)), output_shape=lambda s: (s[0], 6, 2)
    )
    model = Sequential([Input((3, 4)), scale, squash, halves]).to(device)
    assert [layer.sample_output_shape for layer in model.layers] == [(3, 4), (3, 4), (6, 2)]
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 4))
    np.testing.assert_allclose(
        backend.to_numpy(model(backend.to_device(x, device)).data),
        (np.tanh(x / 127.5 - 1) * (x / 127.5 - 1).mean(axis=-1, keepdims=True)).reshape(2, 6, 2),
        rtol=1e-5,
    )
    check_gradients(lambda t: squash(scale(t)), x / 100, device=device)


def test_models_with_lambdas_train_and_keep_their_weights(tmp_path):
    x, y = toy_data(48)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Lambda(lambda t: t * 2 - 1),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(TypeError, match=r"save: Layer 'lambda.*' \(Lambda\) runs Python code"):
        model.save(tmp_path / "m.minicnn")
    model.save_weights(tmp_path / "w.npz")
    again = Sequential(
        [Input((8, 8, 1)), L.Lambda(lambda t: t * 2 - 1), L.Flatten(), L.Dense(3, "softmax")]
    )
    again.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not (tmp_path / "m.minicnn").exists()
    with pytest.raises(TypeError, match="function must be callable"):
        L.Lambda("x * 2")


def shifted(x, by=1.0):
    """A module's function: a Lambda of it is saved by name."""
    return x * 2 + by


def test_a_named_function_is_saved_by_name_and_found_again(tmp_path):
    from minicnn import load_model, ops

    model = Sequential(
        [
            Input((4,)),
            L.Lambda(shifted, arguments={"by": -3.0}, name="shift"),
            L.Dense(2),
            L.Lambda(ops.tanh),  # minicnn's own op: found in its module too
        ]
    )
    x = np.random.default_rng(1).random((3, 4)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    for name in ("m.minicnn", "m.keras", "m.h5"):
        path = tmp_path / name
        model.export(path) if name.endswith(".keras") else model.save(path)
        again = load_model(path, custom_objects={"shifted": shifted})
        np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-6)
        assert again.get_layer("shift").arguments == {"by": -3.0}
    config = model.get_layer("shift").get_config()
    assert config["function"] == {
        "module": __name__,
        "class_name": "function",
        "config": "shifted",
        "registered_name": "function",
    }
    with pytest.raises(ValueError, match=r"calls the function 'shifted', which is not known"):
        L.Lambda.from_config(config)  # its module is not searched: only custom_objects
    with pytest.raises(ValueError, match=r"calls the function 'gone', which is not known"):
        L.Lambda.from_config({**config, "function": {**config["function"], "config": "gone"}})
    from minicnn.registry import custom_object_scope

    with custom_object_scope({"shifted": lambda t, by: t - by}):
        layer = L.Lambda.from_config(config)
    np.testing.assert_allclose(layer(np.ones((1, 4), np.float32)).data, 4.0)


def test_keras_lambda_files_load_with_their_function_by_name():
    from pathlib import Path

    from minicnn import load_model, ops

    pytest.importorskip("h5py", reason="Keras' files need h5py")
    files = Path(__file__).parent / "keras_files"
    saved = np.load(files / "named_lambda.npz")

    def squash(x):  # Keras' file names it; this is minicnn's version of it
        return ops.square(x) * 0.5 + 1.0

    with pytest.raises(ValueError, match="calls the function 'squash', which is not known"):
        load_model(files / "named_lambda.keras")
    model = load_model(files / "named_lambda.keras", custom_objects={"squash": squash})
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["y0"], atol=1e-6)
    unnamed = Sequential([Input((4,)), L.Lambda(lambda t: t + 1)])
    with pytest.raises(TypeError, match="runs Python code"):
        unnamed.save(Path("unused.minicnn"))
    with pytest.raises(TypeError, match="saved by name"):
        unnamed.export(Path("unused.keras"))
    entry = {"class_name": "__lambda__", "config": {"code": "4wEAAA==", "defaults": None}}
    with pytest.raises(ValueError, match="holds a Python lambda as bytecode"):
        L.Lambda(entry)


def _distance(pair):
    from minicnn import ops

    a, b = pair
    return ops.sqrt(ops.maximum(ops.sum(ops.square(a - b), axis=1, keepdims=True), 1e-7))


@pytest.mark.parametrize(
    "output_shape", [(1,), lambda shapes: (shapes[0][0], 1)], ids=["tuple", "keras_function"]
)
def test_a_lambda_takes_a_list_as_in_kerass_siamese_example(output_shape):
    """keras.io's siamese network: a Lambda of the two towers' embeddings; a function for
    output_shape gets Keras' shapes (the batch axis first), as in Keras."""
    from minicnn import Model

    left, right = Input((4,)), Input((4,))
    tower = L.Dense(3)
    merged = L.Lambda(_distance, output_shape=output_shape)([tower(left), tower(right)])
    model = Model([left, right], L.Dense(1, activation="sigmoid")(merged))
    assert merged.shape == (None, 1) and model.output_shape == (None, 1)
    rng = np.random.default_rng(0)
    a, b = rng.random((8, 4)).astype(np.float32), rng.random((8, 4)).astype(np.float32)
    model.compile("rmsprop", "binary_crossentropy")
    model.fit([a, b], rng.integers(0, 2, 8).astype(np.float32), verbose=0)
    w, bias = tower.get_weights()
    expected = np.sqrt(np.maximum((((a - b) @ w) ** 2).sum(axis=1, keepdims=True), 1e-7))
    features = Model([left, right], merged).predict([a, b], verbose=0)
    np.testing.assert_allclose(features, expected, rtol=1e-5)
