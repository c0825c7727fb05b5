"""Models saved by Keras 3 itself (tests/keras_files, written by make_keras_files.py with
Keras 3.15 on JAX): ``load_model`` reads them, and minicnn's predictions equal Keras' own."""

import json
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Model, Sequential, load_model
from minicnn import layers as L
from minicnn.keras_files import keras_layers

pytest.importorskip("h5py", reason="reading Keras' weight files needs h5py")

FILES = Path(__file__).parent / "keras_files"


NAMES = [
    "cnn",
    "functional",
    "recurrent",
    "attention",
    "nested",
    "image_zoo",
    "sequence_zoo",
    "masked_sequences",
    "gru_reset_before",
    "quantized",
    "language_model",
    "quantized_language_model",
    "quantized_int4",
    "quantized_int4_language_model",
    "quantized_einsum",
    "rnn_cells",
    "bidirectional_states",
    "transposed_convolutions",
    "attention_axes",
    "masked_attention",
    "attention_scores",
    "erased_masks",
    "masked_cells",
    "conv_lstm_states",
    "zero_output_masks",
    "masked_seq2seq",
    "bidirectional_conv_lstm",
    "bidirectional_cells",
    "bidirectional_started",
    "masked_metrics",
    "ignored_labels",
    "masked_outputs",
    "temporal_weights",
]


def _inputs(expected):
    if "x" in expected:
        return expected["x"]
    return [expected[f"x{i}"] for i in range(sum(k.startswith("x") for k in expected.files))]


@pytest.mark.parametrize("name", NAMES)
def test_a_keras_model_predicts_what_keras_predicted(name):
    model = load_model(FILES / f"{name}.keras")
    expected = np.load(FILES / f"{name}.npz")
    predicted = model.predict(_inputs(expected), verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    for i, values in enumerate(predicted):
        np.testing.assert_allclose(values, expected[f"y{i}"], rtol=2e-5, atol=2e-6)


def test_a_keras_model_keeps_its_names_and_compile_settings():
    model = load_model(FILES / "cnn.keras")
    assert model.name == "cnn"
    assert [type(layer).__name__ for layer in model.layers[:3]] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
    ]
    assert isinstance(model.optimizer, minicnn.optimizers.Adam)
    assert model.loss.name == "sparse_categorical_crossentropy"
    x = np.load(FILES / "cnn.npz")["x"]
    y = np.array([1, 2, 3])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    model.fit(x, y, epochs=1, verbose=0)  # and it trains on
    assert not load_model(FILES / "cnn.keras", compile=False).compiled


def test_keras_weights_file_loads_into_the_same_architecture():
    inner = Sequential([L.Dense(4, activation="relu"), L.Dense(3)], name="inner")
    inputs = Input((5,))
    model = Model(inputs, L.Dense(2)(inner(inputs)))
    model.load_weights(FILES / "nested.weights.h5")
    expected = np.load(FILES / "nested.npz")
    np.testing.assert_allclose(
        model.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5, atol=2e-6
    )


def test_a_keras_weights_file_that_does_not_fit_says_where(tmp_path):
    model = Sequential([Input((5,)), L.Dense(7)])
    with pytest.raises(ValueError, match=r"layer 'dense.*shapes \[\(5, 7\), \(7,\)\]"):
        model.load_weights(FILES / "nested.weights.h5")
    broken = tmp_path / "broken.keras"
    shutil.copy(FILES / "cnn.keras", broken)
    with zipfile.ZipFile(FILES / "cnn.keras") as source, zipfile.ZipFile(broken, "w") as out:
        for item in source.namelist():
            data = source.read(item)
            if item == "config.json":
                data = data.replace(b'"Conv2D"', b'"Conv9D"')
            out.writestr(item, data)
    with pytest.raises(ValueError, match="no layer 'Conv9D'"):
        load_model(broken)


SEQUENTIAL = ("cnn", "recurrent", "gru_reset_before")  # (a Sequential's order is its list)
# Keras' graph holds the ops of masks that meet in merges and attention layers (not_equal,
# logical_or, ...) and orders its layers with them; minicnn orders its layers without them,
# and reads a Keras file's order from its config.
MASK_OPS_REORDER = ("masked_attention",)


@pytest.mark.parametrize(
    "name", [n for n in NAMES if n not in SEQUENTIAL and n not in MASK_OPS_REORDER]
)
def test_a_graph_orders_its_layers_as_keras_does(name):
    """What a bare weights file needs: Keras numbers its groups in this order."""
    with zipfile.ZipFile(FILES / f"{name}.keras") as archive:
        config = json.loads(archive.read("config.json"))["config"]
    model = load_model(FILES / f"{name}.keras", compile=False)
    entries = [e for e in config["layers"] if not e["module"].startswith("keras.src.ops")]
    assert [layer.name for layer in keras_layers(model)] == [
        entry["config"]["name"] for entry in entries
    ]


@pytest.mark.parametrize("name", NAMES)
def test_a_model_exported_in_keras_format_reads_back_the_same(name, tmp_path):
    """What ``export(format="keras")`` writes, minicnn reads as it reads Keras' own files;
    Keras 3.15 reads them too (``check_in_keras.py``, run where Keras is installed)."""
    model = load_model(FILES / f"{name}.keras", compile=False)
    model.export(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        assert set(archive.namelist()) == {"metadata.json", "config.json", "model.weights.h5"}
        document = json.loads(archive.read("config.json"))
    assert document["class_name"] in ("Sequential", "Functional")
    again = load_model(tmp_path / "again.keras", compile=False)
    expected = np.load(FILES / f"{name}.npz")
    predicted = again.predict(_inputs(expected), verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    for i, values in enumerate(predicted):
        np.testing.assert_allclose(values, expected[f"y{i}"], rtol=2e-5, atol=2e-6)


def test_a_minicnn_model_writes_keras_weight_files(tmp_path):
    minicnn.utils.set_random_seed(0)
    inputs = Input((6,))
    hidden = L.Dense(5, activation="relu")(inputs)
    model = Model(inputs, [L.Dense(2)(hidden), L.Dense(1)(hidden)])
    model.save_weights(tmp_path / "model.weights.h5")
    twin = Model.from_config(model.get_config())
    twin.load_weights(tmp_path / "model.weights.h5")
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    for a, b in zip(twin.predict(x, verbose=0), model.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_export_refuses_what_keras_format_cannot_hold(tmp_path):
    model = Sequential([Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match="format must be 'keras'"):
        model.export(tmp_path / "m", format="openvino")
    x = Input((3,))
    with_code = Model(x, L.Lambda(lambda t: t * 2)(x))
    with pytest.raises(TypeError, match=r"Layer 'lambda' \(Lambda\) runs Python code"):
        with_code.export(tmp_path / "code.keras")
    assert not (tmp_path / "code.keras").exists()


def test_the_optimizer_state_travels_with_the_keras_file(tmp_path):
    """Keras' Adam state in the archive: loaded, training goes on as if never saved (a fresh
    optimizer would step elsewhere); Keras 3.15 took the same next step as minicnn, to 6e-8,
    from both directions."""
    keras_trained = load_model(FILES / "functional.keras")
    assert keras_trained.optimizer.iterations == 2  # Keras' two steps
    assert any(np.abs(slots["m"]).max() > 0 for slots in keras_trained.optimizer._slots)
    minicnn.utils.set_random_seed(0)
    model = Sequential(
        [Input((6, 6, 1)), L.Conv2D(3, 3, activation="relu"), L.Flatten(), L.Dense(4)]
    )
    model.compile("adam", minicnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 6, 6, 1)).astype(np.float32), np.arange(16) % 4
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.export(tmp_path / "trained.keras")
    again = load_model(tmp_path / "trained.keras")
    assert again.optimizer.iterations == 4
    model.train_on_batch(x[:8], y[:8])
    again.train_on_batch(x[:8], y[:8])
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: minicnn.optimizers.RMSprop(0.01, momentum=0.9, centered=True),
        lambda: minicnn.optimizers.Nadam(0.01),
        lambda: minicnn.optimizers.Adamax(0.01),
        lambda: minicnn.optimizers.Adagrad(0.1),
        lambda: minicnn.optimizers.Adadelta(1.0),
        lambda: minicnn.optimizers.Lion(0.001),
        lambda: minicnn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        lambda: minicnn.optimizers.Lamb(0.01),
        lambda: minicnn.optimizers.Ftrl(0.1),
        lambda: minicnn.optimizers.Adam(0.01, amsgrad=True),
        lambda: minicnn.optimizers.AdamW(0.01, amsgrad=True),
        lambda: minicnn.optimizers.Adafactor(0.05),  # a vector's r and c: Keras' scalar 0s
        lambda: minicnn.optimizers.Muon(0.05),  # a velocity for the biases (AdamW's) only
        lambda: minicnn.optimizers.ScheduleFreeAdamW(0.05),
        lambda: minicnn.optimizers.MultiOptimizer(  # the biases with Adam, the rest with SGD
            minicnn.optimizers.OptimizerMap(
                minicnn.optimizers.SGD(0.1, momentum=0.9), {".*bias": minicnn.optimizers.Adam()}
            )
        ),
        # The moving averages, then the gradients' sums, before Adam's own: saved mid-cycle.
        lambda: minicnn.optimizers.Adam(0.01, use_ema=True, gradient_accumulation_steps=3),
    ],
)
def test_each_optimizer_state_goes_through_keras_layout(optimizer, tmp_path):
    """Keras' layout of each optimizer's state (segments of interleaved slots; Nadam's
    product at the end): written and read back, training goes on identically. Keras 3.15
    read and wrote the same files: next steps agreed to 1.2e-7 both ways (Muon's, through
    Newton-Schulz in float32, to 3.9e-7; Adam's with gradient accumulation to 5.4e-7, and
    Keras read minicnn's with use_ema too, to 2.7e-7)."""
    minicnn.utils.set_random_seed(0)
    model = Sequential([Input((5,)), L.Dense(4, activation="tanh"), L.Dense(2)])
    model.compile(optimizer(), "mse")
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 5)).astype(np.float32), rng.random((16, 2)).astype(np.float32)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.export(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the state is read, not started afresh
        again = load_model(tmp_path / "m.keras")
    model.train_on_batch(x[:8], y[:8])
    again.train_on_batch(x[:8], y[:8])
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_custom_scale_layer_is_written_as_keras_applications_own(tmp_path):
    """Keras keeps InceptionResNetV2's CustomScaleLayer in its applications module; Keras
    3.15 loaded minicnn's export of its InceptionResNetV2 file with difference 0."""
    x = Input((4,))
    model = Model(x, L.CustomScaleLayer(0.5)([x, L.Dense(4)(x)]))
    model.export(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    entry = next(e for e in config["config"]["layers"] if e["class_name"] == "CustomScaleLayer")
    assert entry["module"] == "keras.src.applications.inception_resnet_v2"
    assert entry["registered_name"] == "CustomScaleLayer"
    again = load_model(tmp_path / "m.keras")
    data = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(data, verbose=0), model.predict(data, verbose=0))


def test_ops_on_symbolic_tensors_are_written_as_keras_operations(tmp_path):
    """``x + y``, ``x * 0.5``, ``x[:, 1:3]``, ``ops.mean(x, axis=1)``... are Keras 3's
    operations in its file (their classes in keras.src.ops, the call's arguments in the node,
    the others in the config), as Keras saves ``keras.ops`` on KerasTensors: Keras 3.15 loaded
    this model from minicnn's file and predicted the same (largest difference 2.4e-7)."""
    x, y = Input((4, 6), name="x"), Input((4, 6), name="y")
    outputs = [
        x + y,
        2.0 - x * 0.5,
        x[:, 1:3],
        x[..., None, 0],
        minicnn.ops.mean(x, axis=1, keepdims=True),
        minicnn.ops.concatenate([x, y], axis=-1),
        minicnn.ops.reshape(x, (-1, 24)),
        minicnn.ops.transpose(y, (0, 2, 1)),
        minicnn.ops.clip(x, -0.5, 0.5),
        minicnn.ops.where(minicnn.ops.greater(x, 0.5), x, y),
        x + np.arange(6, dtype=np.float32),
        minicnn.ops.split(x, 2, axis=1)[1],
    ]
    model = Model([x, y], outputs)
    model.export(tmp_path / "ops.keras")
    with zipfile.ZipFile(tmp_path / "ops.keras") as archive:
        config = json.loads(archive.read("config.json"))
    entries = {e["config"]["name"]: e for e in config["config"]["layers"]}
    mean = next(e for e in entries.values() if e["class_name"] == "Mean")
    assert mean["module"] == "keras.src.ops.numpy"
    assert mean["config"]["axis"] == 1 and mean["config"]["keepdims"] is True
    assert mean["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["x", 0, 0]
    item = next(e for e in entries.values() if e["class_name"] == "GetItem")
    assert item["inbound_nodes"][0]["args"][1][1] == {
        "class_name": "__slice__",
        "config": {"start": 1, "stop": 3, "step": None},
    }
    again = load_model(tmp_path / "ops.keras")
    rng = np.random.default_rng(0)
    data = [rng.random((3, 4, 6)).astype(np.float32) for _ in range(2)]
    for a, b in zip(again.predict(data, verbose=0), model.predict(data, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_export_writes_what_keras_3_takes(tmp_path):
    """Attention's causal mask is an argument of Keras' call, not of its config;
    Discretization takes no ``trainable``; "/" in a layer's name (Keras 2's MobileNetV3 has
    "Conv/BatchNorm") becomes "_", with a warning. Keras 3.15 loaded such exports (70 layer
    cases of check_layers.py, and 72 of 73 Keras 2 layers and all 16 Keras 2 applications
    converted by minicnn) with the same predictions."""
    x = Input((4, 3))
    attended = L.Attention()([x, x], use_causal_mask=True)
    ids = L.Discretization(bin_boundaries=[0.2, 0.5])(L.Flatten(name="a/b")(x))
    model = Model(x, [attended, ids])
    with pytest.warns(UserWarning, match="'a/b' as 'a_b'"):
        model.export(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    entries = {e["class_name"]: e for e in config["config"]["layers"]}
    assert "use_causal_mask" not in entries["Attention"]["config"]
    assert entries["Attention"]["inbound_nodes"][0]["kwargs"] == {"use_causal_mask": True}
    assert "trainable" not in entries["Discretization"]["config"]
    assert entries["Flatten"]["config"]["name"] == "a_b"
    assert (
        entries["Discretization"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0]
        == "a_b"
    )
    data = np.random.default_rng(0).random((2, 4, 3)).astype(np.float32)
    again = load_model(tmp_path / "m.keras")
    for a, b in zip(again.predict(data, verbose=0), model.predict(data, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "name", ["string_lookup", "integer_lookup", "tf_idf_text", "nested_sequence"]
)
def test_lookup_vocabularies_kept_as_keras_assets_are_read(name, tmp_path):
    """Keras keeps an adapted lookup layer's vocabulary as an asset of the archive and a
    tf_idf layer's idf weights among the weights (files by make_lookup_files.py, Keras 3.15
    on TensorFlow 2.21): minicnn reads them and predicts as Keras did; its export gives the
    vocabulary in the config and the idf weights where Keras loads them, and Keras 3.15
    read those exports back with difference 0."""
    data = np.load(FILES / "lookups.npz")
    x = data[f"{name}_x"]
    model = load_model(FILES / f"lookup_{name}.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), data[f"{name}_y"], atol=1e-6)
    model.export(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        archive.extract("model.weights.h5", tmp_path)
    if name == "tf_idf_text":
        import h5py

        with h5py.File(tmp_path / "model.weights.h5", "r") as h5:
            kept = h5["layers/text_vectorization/vars/idf_weights"][()]
            assert kept.shape == (7,)
            assert "_lookup_layer" in h5["layers/text_vectorization"]
    again = load_model(tmp_path / "again.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_users_layer_of_sublayers_reads_and_writes_keras_paths(tmp_path):
    """Keras keeps a user's layer's sublayers under their attributes' paths ("outer/seq/
    layers/dense", "outer/heads/dense_1", the list's second Dense under "again", the name
    it met first); minicnn reads Keras' file, predicts what Keras did, and writes the same
    paths back."""
    pytest.importorskip("h5py")
    from custom_sublayers import define

    import minicnn

    define(minicnn)
    model = load_model(FILES / "custom_sublayers.keras")
    expected = np.load(FILES / "custom_sublayers.npz")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5)
    assert len(model.layers[1].weights) == 18  # the dict's layers are tracked too
    model.export(tmp_path / "again.keras")
    from test_quantization import _archive_paths

    assert _archive_paths(tmp_path / "again.keras") == _archive_paths(
        FILES / "custom_sublayers.keras"
    )
    again = load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5)


def test_a_subclassed_model_reads_and_writes_keras_archives_and_weight_files(tmp_path):
    """Keras' archive of a registered subclassed model (its class's name and config, the
    input shape it was built for, its layers under their attributes' paths, Adam's state):
    minicnn makes the model by its class, predicts what Keras did and goes on training
    from Keras' optimizer state; its own archive and weights file have Keras' paths."""
    pytest.importorskip("h5py")
    from custom_models import define
    from test_quantization import _archive_paths

    import minicnn

    TwoStage = define(minicnn)  # noqa: N806 - a class
    expected = np.load(FILES / "subclassed_model.npz")
    model = load_model(FILES / "subclassed_model.keras")
    assert type(model) is TwoStage and model.units == 5 and model.name == "two_stage"
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5)
    assert model.compiled and model.optimizer.iterations == 1  # Keras' Adam went one step
    fresh = TwoStage(5)
    fresh(expected["x"])
    fresh.load_weights(FILES / "subclassed_model.weights.h5")
    np.testing.assert_allclose(fresh.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5)
    model.export(tmp_path / "again.keras")
    assert _archive_paths(tmp_path / "again.keras") == _archive_paths(
        FILES / "subclassed_model.keras"
    )
    again = load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(expected["x"], verbose=0), expected["y0"], rtol=2e-5)
    fresh.save_weights(tmp_path / "again.weights.h5")
    import h5py

    def paths(path):
        with h5py.File(path, "r") as f:
            found = []
            f.visititems(lambda n, o: found.append((n, o.shape)) if hasattr(o, "shape") else None)
            return sorted(found)

    keras_paths = [
        p for p in paths(FILES / "subclassed_model.weights.h5") if "optimizer" not in p[0]
    ]
    assert paths(tmp_path / "again.weights.h5") == keras_paths  # not compiled: no optimizer
    model.save_weights(tmp_path / "compiled.weights.h5")  # with Adam's state, as Keras'
    assert paths(tmp_path / "compiled.weights.h5") == paths(FILES / "subclassed_model.weights.h5")
    fresh.compile(minicnn.optimizers.Adam(0.01), "mse")
    fresh.load_weights(FILES / "subclassed_model.weights.h5")
    assert fresh.optimizer.iterations == 1

    class Plain(minicnn.Model):
        def __init__(self, inner=None, **kwargs):
            super().__init__(**kwargs)
            self.dense = inner or minicnn.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    # Without a get_config of its own, Keras' automatic config: the plain arguments it was
    # made with (here none), so it is written and made again by its class.
    plain = Plain()
    plain(expected["x"])
    plain.export(tmp_path / "plain.keras")
    back = load_model(tmp_path / "plain.keras", custom_objects={"Plain": Plain})
    np.testing.assert_allclose(
        back.predict(expected["x"], verbose=0), plain.predict(expected["x"], verbose=0)
    )
    with pytest.raises(TypeError, match="made with arguments a config cannot hold"):
        held = Plain(minicnn.layers.Dense(1))  # a layer: no config holds it
        held(expected["x"])
        held.export(tmp_path / "held.keras")
