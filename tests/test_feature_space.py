"""Keras' FeatureSpace on a small table: each feature type encoded as its preprocessing layer
encodes it (one-hot widths from the vocabularies and bins), Keras' order (sorted features,
then sorted crosses), dict output, single samples, adapt from batches, errors by name, and a
model that learns from the vectors."""

import numpy as np
import pytest

from minicnn import Input, Model, Sequential, load_model
from minicnn import layers as L
from minicnn.utils import FeatureSpace

RAW = {
    "float_values": [0.0, 0.1, 0.2, 0.3],
    "string_values": ["zero", "one", "two", "three"],
    "int_values": [0, 1, 2, 3],
}


def test_kerass_basic_example_and_its_layout():
    space = FeatureSpace(
        features={
            "float_values": "float_normalized",
            "string_values": "string_categorical",
            "int_values": "integer_categorical",
        },
        crosses=[("string_values", "int_values")],
        output_mode="concat",
    )
    space.adapt(RAW)
    out = space(RAW)
    # sorted: float_values (1), int_values (4 + OOV), string_values (4 + OOV); cross (32)
    assert out.shape == (4, 1 + 5 + 5 + 32) and out.dtype == np.float32
    values = np.array(RAW["float_values"])
    np.testing.assert_allclose(out[:, 0], (values - values.mean()) / values.std(), rtol=1e-5)
    ints = out[:, 1:6]
    lookup = space.preprocessors["int_values"]
    np.testing.assert_array_equal(
        ints.argmax(1), np.asarray(lookup(np.array(RAW["int_values"])[:, None])).ravel()
    )
    assert (out[:, 1:].sum(1) == 3).all()  # one place each for the two categories and the cross
    single = space({"float_values": 0.1, "string_values": "one", "int_values": 1})
    np.testing.assert_allclose(single, out[1], rtol=1e-6)


def test_every_type_dict_output_and_adapt_from_batches():
    rng = np.random.default_rng(0)
    table = {
        "f": rng.random(40),
        "r": rng.random(40),
        "d": rng.random(40),
        "h": rng.choice(["a", "b", "c"], 40),
        "i": rng.integers(0, 5, 40),
    }
    space = FeatureSpace(
        {
            "f": "float",
            "r": FeatureSpace.float_rescaled(scale=2.0, offset=1.0),
            "d": FeatureSpace.float_discretized(num_bins=4),
            "h": FeatureSpace.string_hashed(num_bins=8),
            "i": FeatureSpace.integer_hashed(num_bins=6, output_mode="int"),
        },
        output_mode="dict",
    )
    space.adapt([{k: v[:20] for k, v in table.items()}, {k: v[20:] for k, v in table.items()}])
    out = space(table)
    np.testing.assert_allclose(out["f"][:, 0], table["f"], rtol=1e-6)
    np.testing.assert_allclose(out["r"][:, 0], table["r"] * 2 + 1, rtol=1e-6)
    assert out["d"].shape == (40, 4) and (out["d"].sum(1) == 1).all()
    assert out["h"].shape == (40, 8) and out["i"].shape == (40, 1) and out["i"].max() < 6
    with pytest.raises(ValueError, match="feature 'i' has not been encoded"):
        FeatureSpace({"i": FeatureSpace.integer_hashed(6, output_mode="int")})({"i": [1, 2]})


def test_errors_are_named():
    with pytest.raises(ValueError, match="Invalid feature type 'floaty'"):
        FeatureSpace({"x": "floaty"})
    with pytest.raises(ValueError, match="Received unknown features: \\['z'\\]"):
        FeatureSpace({"x": "float"}, crosses=[("x", "z")])
    space = FeatureSpace({"s": "string_categorical"})
    with pytest.raises(ValueError, match="call `.adapt\\(dataset\\)`"):
        space({"s": ["a"]})
    space.adapt({"s": ["a", "b"]})
    with pytest.raises(ValueError, match="no column 's'"):
        space({"t": ["a"]})
    with pytest.raises(ValueError, match="can only be called with a dict"):
        space(["a"])


def test_a_model_learns_from_the_vectors():
    rng = np.random.default_rng(1)
    colour = rng.choice(["red", "green", "blue"], 300)
    size = rng.random(300)
    label = ((colour == "red") | (size > 0.8)).astype(np.int64)
    space = FeatureSpace({"colour": "string_categorical", "size": "float_normalized"})
    space.adapt({"colour": colour, "size": size})
    x = space({"colour": colour, "size": size})
    model = Sequential(
        [Input((x.shape[1],)), L.Dense(16, activation="relu"), L.Dense(2, activation="softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, label, epochs=40, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def _heart_like(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "age": rng.integers(20, 80, n).astype(np.float32),
        "sex": rng.integers(0, 2, n),
        "thal": rng.choice(["fixed", "normal", "reversible"], n),
        "chol": rng.normal(240, 40, n).astype(np.float32),
    }


def _guide_space():
    return FeatureSpace(
        features={
            "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
            "thal": FeatureSpace.string_categorical(num_oov_indices=0),
            "age": FeatureSpace.float_discretized(num_bins=6),
            "chol": FeatureSpace.float_normalized(),
        },
        crosses=[FeatureSpace.cross(feature_names=("sex", "age"), crossing_dim=8)],
        output_mode="concat",
    )


def test_the_guides_training_and_inference_models(tmp_path):
    """Keras' "Structured data classification with FeatureSpace": a training model on the
    encoded features, an inference model on the raw columns, the same predictions."""
    data = _heart_like()
    space = _guide_space()
    space.adapt(data)
    inputs = space.get_inputs()
    assert space.get_inputs() is inputs and inputs["thal"].dtype == "string"
    encoded = space.get_encoded_features()
    assert encoded.shape == (None, space(data).shape[1])
    hidden = L.Dense(8, activation="relu")(encoded)
    predictions = L.Dense(1, activation="sigmoid")(hidden)
    training_model = Model(inputs=encoded, outputs=predictions)
    inference_model = Model(inputs=inputs, outputs=predictions)
    assert training_model.input_shape == encoded.shape
    training_model.compile("adam", "binary_crossentropy")
    target = (data["age"] > 50).astype(np.float32)
    training_model.fit(space(data), target, epochs=2, verbose=0)
    np.testing.assert_allclose(
        inference_model.predict(data, verbose=0),
        training_model.predict(space(data), verbose=0),
        rtol=1e-6,
    )
    one = {
        "age": np.array([60.0]),
        "sex": np.array([1]),
        "thal": np.array(["fixed"]),
        "chol": np.array([239.0]),
    }
    assert inference_model.predict(one, verbose=0).shape == (1, 1)
    inference_model.save(tmp_path / "inference.keras")
    reloaded = load_model(tmp_path / "inference.keras")
    np.testing.assert_allclose(
        reloaded.predict(data, verbose=0), inference_model.predict(data, verbose=0), rtol=1e-6
    )


def test_a_feature_space_saves_and_loads_with_its_state(tmp_path):
    data = _heart_like(seed=1)
    space = _guide_space()
    space.adapt(data)
    space.save(tmp_path / "space.keras")
    again = load_model(tmp_path / "space.keras")
    assert isinstance(again, FeatureSpace)
    fresh = _heart_like(n=9, seed=2)
    np.testing.assert_allclose(again(fresh), space(fresh), rtol=1e-6)
    unadapted = _guide_space()
    unadapted.save(tmp_path / "raw.keras")
    with pytest.raises(ValueError, match="adapt"):
        load_model(tmp_path / "raw.keras")(fresh)


def test_a_dict_feature_space_in_a_graph_gives_a_tensor_per_feature(tmp_path):
    """output_mode="dict" in a model: each encoded feature its own tensor (an int index for
    an Embedding, one-hot vectors, normalized floats), as the space gives them on data."""
    data = _heart_like(n=30, seed=3)
    space = FeatureSpace(
        {
            "chol": "float_normalized",
            "thal": "string_categorical",
            "sex": FeatureSpace.integer_categorical(output_mode="int"),
        },
        output_mode="dict",
    )
    space.adapt(data)
    inputs = space.get_inputs()
    encoded = space(inputs)
    assert {k: v.shape for k, v in encoded.items()} == {
        "chol": (None, 1),
        "sex": (None, 1),
        "thal": (None, 4),
    }
    assert encoded["sex"].dtype == "int64"
    sex = L.Flatten()(L.Embedding(4, 2)(encoded["sex"]))
    model = Model(inputs, L.Dense(1)(L.concatenate([encoded["chol"], encoded["thal"], sex])))
    extractor = Model(inputs, [encoded["chol"], encoded["thal"]])
    chol, thal = extractor.predict(data, verbose=0)
    np.testing.assert_allclose(chol, space(data)["chol"], rtol=1e-6)
    np.testing.assert_array_equal(thal, space(data)["thal"])
    model.save(tmp_path / "dict.keras")
    np.testing.assert_allclose(
        load_model(tmp_path / "dict.keras").predict(data, verbose=0),
        model.predict(data, verbose=0),
        rtol=1e-6,
    )
