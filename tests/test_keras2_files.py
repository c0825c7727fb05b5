"""Keras' legacy HDF5 files (tests/keras2_files): models that TensorFlow 2.15's Keras 2 saved
with ``model.save("name.h5")`` (make_keras2_files.py), one that Keras 3 saved in that format
(make_keras3_legacy_file.py) and a weights-only file of ``save_weights``. minicnn reads them:
its predictions equal Keras', and one more training step from the restored optimizer state
gives Keras' weights."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, load_model
from minicnn import layers as L
from minicnn.keras_files import KerasFileError

h5py = pytest.importorskip("h5py", reason="reading Keras' weight files needs h5py")

FILES = Path(__file__).parent / "keras2_files"
OPTIMIZERS = [
    "rmsprop",
    "adagrad",
    "adamax",
    "nadam",
    "adamw",
    "adadelta",
    "ftrl",
    "lion",
    "adafactor",
]


def _saved(name):
    data = np.load(FILES / f"{name}.npz")

    def listed(prefix):
        found = [data[k] for k in sorted(data.files, key=_number) if k.startswith(prefix)]
        return found

    return listed("x"), listed("y"), listed("predicted"), listed("next")


def _number(key):
    return int("".join(c for c in key if c.isdigit()) or 0)


def _one_or_all(values, rows=slice(None)):
    return values[0][rows] if len(values) == 1 else [v[rows] for v in values]


def _loaded(name, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compiled as saved, with its optimizer's state
        return load_model(FILES / f"{name}.h5", **kwargs)


def _next_step_difference(model, x, y, expected):
    model.train_on_batch(_one_or_all(x, slice(0, 8)), _one_or_all(y, slice(0, 8)))
    return max(
        float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), expected, strict=True)
    )


@pytest.mark.parametrize(
    "name, tolerance",
    [
        ("sequential", 1e-6),
        ("functional", 1e-5),  # SGD with momentum through an LSTM and BatchNormalization
        ("optimizer_v2", 1e-6),
        ("keras3_legacy", 1e-6),
        ("optimizer_sgd_v2", 1e-6),
        *[(f"optimizer_{k}", 1e-6) for k in OPTIMIZERS if k != "nadam"],
    ],
)
def test_legacy_model_predicts_and_trains_on_as_keras(name, tolerance):
    x, y, predicted, after = _saved(name)
    model = _loaded(name)
    got = model.predict(_one_or_all(x), verbose=0)
    for a, b in zip(got if isinstance(got, list) else [got], predicted, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6)
    fresh = _loaded(name, compile=False)
    fresh.compile(type(model.optimizer)(**_rate_only(model)), model.loss)
    restored = _next_step_difference(model, x, y, after)
    assert restored <= tolerance
    if name not in ("optimizer_ftrl", "optimizer_adadelta", "optimizer_adagrad"):
        # A fresh optimizer's step is far from Keras' (the state was read, not restarted);
        # these three make steps too small after two epochs to tell apart.
        assert _next_step_difference(fresh, x, y, after) > 100 * max(restored, 1e-8)


def _rate_only(model):
    config = model.optimizer.get_config()
    config.pop("name", None)
    return config


def test_keras2_nadam_state_is_read_and_its_product_follows_from_the_iterations():
    """Keras 2 does not save Nadam's momentum product; minicnn computes it from the
    iteration count (TensorFlow reloading its own file restarts it at 1: 6.3e-3 off)."""
    x, y, _, after = _saved("optimizer_nadam")
    model = _loaded("optimizer_nadam")
    assert model.optimizer.iterations == 4
    assert _next_step_difference(model, x, y, after) < 1e-3


def test_keras2_compile_settings_are_read():
    model = _loaded("functional")
    assert isinstance(model.optimizer, minicnn.optimizers.SGD)
    assert model.optimizer.momentum == pytest.approx(0.9)
    assert model.optimizer.iterations == 4
    x, y, _, _ = _saved("functional")
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert {"loss", "sum_mae", "flag_accuracy"} <= set(results)
    sequential = _loaded("sequential")
    assert type(sequential.optimizer).__name__ == "Adam"
    sx, sy, _, _ = _saved("sequential")
    assert "accuracy" in sequential.evaluate(sx[0], sy[0], verbose=0, return_dict=True)
    assert _loaded("optimizer_v2").optimizer.amsgrad
    model = load_model(FILES / "functional.h5", compile=False)
    assert not model.compiled


def test_keras2_architecture_is_rebuilt():
    model = _loaded("functional")
    assert model.output_names == ["sum", "flag"]
    assert [type(la).__name__ for la in model.get_layer("block").layers][-3:] == [
        "Dense",
        "BatchNormalization",
        "Dense",
    ]
    assert model.get_layer("embedding").mask_zero
    assert model.get_layer("batch_normalization").axis in (3, -1)
    sequential = _loaded("sequential")
    assert sequential.count_params() == 4 * 9 + 4 + 36 * 3 + 3


def test_keras2_layers_whose_configs_differ_from_keras_3s_are_read():
    x, _, predicted, _ = _saved("zoo")
    model = load_model(FILES / "zoo.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), predicted[0], atol=2e-5)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"SeparableConv2D", "LeakyReLU", "ReLU", "ConvLSTM2D", "MultiHeadAttention"} <= kinds
    assert {"CustomScaleLayer", "Normalization"} <= kinds
    assert model.get_layer("normalization").get_config()["axis"] == (3,)  # Keras' tuple
    assert model.get_layer("leaky_re_lu").get_config()["negative_slope"] == pytest.approx(0.2)
    assert model.get_layer("thresholded_re_lu").get_config()["threshold"] == pytest.approx(0.1)
    assert model.get_layer("conv_lstm2d").get_config()["recurrent_activation"] == (
        "legacy_hard_sigmoid"
    )


def _weights_only_model():
    """The architecture of weights_only.h5, built here with minicnn's own layer names."""
    return Sequential(
        [
            Input((6, 3)),
            L.Conv1D(4, 3, padding="same", activation="relu"),
            L.Bidirectional(L.GRU(3, return_sequences=True)),
            L.LayerNormalization(),
            L.Dropout(0.3),
            L.GlobalMaxPooling1D(),
            L.Dense(2),
        ]
    )


def test_keras2_weights_only_file_loads_in_order_into_a_model_built_here():
    """Keras 2 matches a weights file's layers to the model's in order, whatever their
    names; so does minicnn (and by name on request)."""
    data = np.load(FILES / "weights_only.npz")
    minicnn.utils.set_random_seed(1)
    model = _weights_only_model()
    model.load_weights(FILES / "weights_only.h5")
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["predicted"], atol=1e-6)
    with pytest.raises(KerasFileError, match="has weights of shapes"):
        Sequential(
            [
                Input((6, 3)),
                L.Conv1D(5, 3),
                L.Bidirectional(L.GRU(3)),
                L.LayerNormalization(),
                L.Dense(2),
            ]
        ).load_weights(FILES / "weights_only.h5")
    with pytest.raises(KerasFileError, match="holds weights for 4 layers; the model has 1"):
        Sequential([Input((6, 3)), L.Dense(2)]).load_weights(FILES / "weights_only.h5")
    with pytest.raises(KerasFileError, match="holds weights only"):
        load_model(FILES / "weights_only.h5")


def test_keras2_weights_by_name_and_skip_mismatch(tmp_path):
    model = Sequential(
        [Input((8, 8, 1)), L.Conv2D(4, 3, name="conv2d"), L.Flatten(), L.Dense(7, name="dense")]
    )
    before = model.get_layer("dense").get_weights()
    with pytest.warns(UserWarning, match="layer 'dense' has weights of shapes .* Skipped"):
        model.load_weights(FILES / "sequential.h5", by_name=True, skip_mismatch=True)
    keras_model = _loaded("sequential", compile=False)
    for a, b in zip(
        model.get_layer("conv2d").get_weights(), keras_model.layers[0].get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_layer("dense").get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="apply to Keras 2's .h5 files"):
        model.save_weights(tmp_path / "w.weights.h5")
        model.load_weights(tmp_path / "w.weights.h5", by_name=True)


def test_damaged_legacy_files_are_refused_by_name(tmp_path):
    path = tmp_path / "m.h5"
    shutil.copy(FILES / "sequential.h5", path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["model_config"] = h5.attrs["model_config"].replace("Conv2D", "Conv9D")
    with pytest.raises(KerasFileError, match="no layer 'Conv9D'"):
        load_model(path)
    shutil.copy(FILES / "sequential.h5", path)
    with h5py.File(path, "r+") as h5:
        del h5["model_weights/dense/dense/kernel:0"]
        h5["model_weights/dense/dense/kernel:0"] = np.zeros((35, 3), np.float32)
    with pytest.raises(KerasFileError, match=r"layer 'dense' has weights of shapes \[\(36, 3\)"):
        load_model(path)
    shutil.copy(FILES / "sequential.h5", path)
    with h5py.File(path, "r+") as h5:
        group = h5["model_weights"]
        group.attrs["layer_names"] = [n for n in group.attrs["layer_names"] if n != "dense"]
    with pytest.raises(KerasFileError, match="no weights for layer 'dense'"):
        load_model(path)


def test_an_optimizer_state_minicnn_cannot_follow_starts_afresh_with_a_warning(tmp_path):
    path = tmp_path / "m.h5"
    shutil.copy(FILES / "optimizer_v2.h5", path)
    with h5py.File(path, "r+") as h5:
        group = h5["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        group.attrs["weight_names"] = [n.replace("/vhat:", "/rms:") for n in names]
        for n in names:
            if "/vhat:" in n:
                group[n.replace("/vhat:", "/rms:")] = np.asarray(group[n])
    with pytest.warns(UserWarning, match="Adam optimizer's saved state is not read"):
        model = load_model(path)
    assert model.optimizer.iterations == 0


def test_keras2_hard_sigmoid_is_its_own(tmp_path):
    """Keras 2's "hard_sigmoid" is clip(0.2 x + 0.5, 0, 1) (its LSTM's and ConvLSTM2D's
    default recurrent activation), not Keras 3's relu6(x + 3) / 6: its files load with
    minicnn's "legacy_hard_sigmoid", which Keras 3's format cannot hold."""
    x = np.array([-3.0, -2.5, -1.0, 0.0, 1.0, 2.0, 2.5, 4.0], np.float32)
    legacy = minicnn.activations.get("legacy_hard_sigmoid")
    np.testing.assert_allclose(legacy(x).data, np.clip(0.2 * x + 0.5, 0, 1), rtol=1e-6)
    path = tmp_path / "m.h5"
    shutil.copy(FILES / "optimizer_rmsprop.h5", path)
    with h5py.File(path, "r+") as h5:
        config = h5.attrs["model_config"]
        h5.attrs["model_config"] = config.replace(
            '"activation": "tanh"', '"activation": "hard_sigmoid"'
        )
    model = load_model(path, compile=False)
    assert model.layers[0].get_config()["activation"] == "legacy_hard_sigmoid"
    with pytest.raises(KerasFileError, match="Keras 3 has no activation 'legacy_hard_sigmoid'"):
        model.export(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_keras2_learning_rate_decay_is_an_inverse_time_schedule(tmp_path):
    """Keras 2's optimizers took ``decay``: rate / (1 + decay * iterations)."""
    path = tmp_path / "m.h5"
    shutil.copy(FILES / "optimizer_v2.h5", path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["training_config"] = h5.attrs["training_config"].replace(
            '"decay": 0.0', '"decay": 0.5'
        )
    model = _loaded(str(path)[: -len(".h5")])
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "InverseTimeDecay"
    rate = minicnn.optimizers.schedules.deserialize(schedule)
    assert rate(4) == pytest.approx(0.01 / (1 + 0.5 * 4))


def test_keras2_tensorflow_calls_on_keras_tensors_become_minicnn_ops(tmp_path):
    """``a + b``, ``tf.concat``, ``x[:, 1:5]``, ``tf.split``... in a Keras 2 model were
    TFOpLambda and SlicingOpLambda layers: each is minicnn's op, as TensorFlow computed it."""
    for name in ("tf_ops", "tf_ops_more"):  # every function keras2_ops maps, between them
        x, _, predicted, _ = _saved(name)
        model = load_model(FILES / f"{name}.h5")
        np.testing.assert_allclose(model.predict(x, verbose=0), predicted[0], atol=2e-6)
    model.save(tmp_path / "ops.npz")
    again = load_model(tmp_path / "ops.npz")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    path = tmp_path / "m.h5"
    shutil.copy(FILES / "tf_ops.h5", path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["model_config"] = h5.attrs["model_config"].replace(
            '"function": "math.squared_difference"', '"function": "math.bessel_i0"'
        )
    with pytest.raises(KerasFileError, match="no counterpart of TensorFlow's tf.math.bessel_i0"):
        load_model(path)


def test_save_h5_writes_keras_2s_legacy_file(tmp_path):
    """``model.save("m.h5")`` gives Keras' legacy HDF5 file in TensorFlow 2's dialect (which
    TF 2.15 read back for 72 of 73 layer cases and 15 of 16 applications, predicting the
    same: check_keras2_layers.py, check_keras2_applications.py); minicnn reads it too."""
    import json

    x, _, _, _ = _saved("functional")
    model = _loaded("functional")
    model.save(tmp_path / "again.h5")
    with h5py.File(tmp_path / "again.h5", "r") as h5:
        config = json.loads(h5.attrs["model_config"])
        training = json.loads(h5.attrs["training_config"])
        assert h5.attrs["keras_version"] == "2.15.0"
        names = [str(n, "utf8") for n in h5["model_weights"].attrs["layer_names"].astype(bytes)]
    entries = {e["name"]: e for e in config["config"]["layers"]}
    assert entries["img"]["config"]["batch_input_shape"] == [None, 8, 8, 1]
    assert entries["concatenate"]["inbound_nodes"] == [
        [["global_average_pooling2d", 0, 0, {}], ["lstm", 0, 0, {}]]
    ]
    # Keras 2 counts a nested model's calls after the one on its own input.
    assert entries["shared"]["inbound_nodes"][0] == [["block", 1, 0, {}]]
    assert entries["conv2d_1"]["config"]["dtype"] == "float32"
    assert training["optimizer_config"]["class_name"] == "Custom>SGD"
    assert names[:2] == ["img", "conv2d_1"]
    again = load_model(tmp_path / "again.h5")
    for a, b in zip(again.predict(x, verbose=0), model.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)
    assert isinstance(again.optimizer, minicnn.optimizers.SGD)
    assert again.optimizer.iterations == 4  # the state travels too
    built = Sequential([Input((5,)), L.Dense(3, activation="legacy_hard_sigmoid")])
    built.save(tmp_path / "plain.h5")
    data = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    np.testing.assert_array_equal(
        load_model(tmp_path / "plain.h5").predict(data, verbose=0),
        built.predict(data, verbose=0),
    )


def test_save_h5_refuses_what_keras_2_cannot_hold(tmp_path):
    model = Sequential([Input((4,)), L.Dense(3, activation="hard_sigmoid")])
    with pytest.raises(KerasFileError, match="Keras 2's hard_sigmoid is clip"):
        model.save(tmp_path / "m.h5")
    x = Input((4,))
    model = minicnn.Model(x, minicnn.ops.sin(x))
    with pytest.raises(KerasFileError, match=r"layer 'sin' \(OpCall 'sin'.* no TensorFlow"):
        model.save(tmp_path / "m.h5")
    # TensorFlow 2.15 said "Unknown layer: 'RMSNormalization'" for such a file.
    model = Sequential([Input((6,)), L.RMSNormalization(name="norm"), L.Dense(2)])
    with pytest.raises(KerasFileError, match="layer 'norm': TensorFlow 2.15's Keras has no"):
        model.save(tmp_path / "m.h5")
    model.export(tmp_path / "m.keras")  # Keras 3's file holds it
    assert not (tmp_path / "m.h5").exists()  # nothing half-written


def test_save_h5_writes_ops_as_tensorflow_calls(tmp_path):
    """minicnn's ops on symbolic tensors (those read from Keras 2's TFOpLambda layers, and
    ``x * 2``, ``x[:, 1:]``) are written as TFOpLambda and SlicingOpLambda layers: TF 2.15
    read both fixtures back from minicnn's files with the same predictions (to 2.4e-7)."""
    import json

    for name in ("tf_ops", "tf_ops_more"):
        x, _, predicted, _ = _saved(name)
        load_model(FILES / f"{name}.h5").save(tmp_path / f"{name}.h5")
        again = load_model(tmp_path / f"{name}.h5")
        np.testing.assert_allclose(again.predict(x, verbose=0), predicted[0], atol=2e-6)
    with h5py.File(tmp_path / "tf_ops.h5", "r") as h5:
        entries = {e["name"]: e for e in json.loads(h5.attrs["model_config"])["config"]["layers"]}
    add = entries["tf.__operators__.add"]
    assert add["config"]["function"] == "math.add"
    # One tensor is one flat reference; the other operand a reference among the keywords.
    assert add["inbound_nodes"] == [["a", 0, 0, {"y": ["b", 0, 0]}]]
    assert entries["tf.__operators__.add_1"]["inbound_nodes"][0][:3] == ["_CONSTANT_VALUE", -1, 1.0]
    assert entries["tf.concat"]["inbound_nodes"][0][1][:3] == ["b", 0, 0]
    assert entries["tf.__operators__.getitem"]["class_name"] == "SlicingOpLambda"
    inputs = Input((6,))
    halves = minicnn.ops.split(inputs * 2.0, [2], axis=1)
    model = minicnn.Model(inputs, minicnn.ops.concatenate([halves[1], inputs[:, :2]], axis=1))
    model.save(tmp_path / "split.h5")
    with h5py.File(tmp_path / "split.h5", "r") as h5:
        entries = json.loads(h5.attrs["model_config"])["config"]["layers"]
    split = next(e for e in entries if e["config"].get("function") == "split")
    assert split["inbound_nodes"][0][3]["num_or_size_splits"] == [2, 4]  # sizes, not cuts
    data = np.random.default_rng(0).random((3, 6)).astype(np.float32)
    np.testing.assert_allclose(
        load_model(tmp_path / "split.h5").predict(data, verbose=0),
        model.predict(data, verbose=0),
        rtol=1e-6,
    )


def test_save_h5_writes_gathers_pads_and_logical_ops_as_tensorflow_calls(tmp_path):
    """ops.take as tf.gather (negative indices counted from the end, which TensorFlow's
    gather needs), ops.pad as tf.pad (its modes in capitals), the logical ops; arrays as
    plain lists, as Keras 2 wrote them. TF 2.15 read such a file with the same outputs
    (difference 0); minicnn reads it back."""
    import json

    x = Input((4, 3))
    outputs = [
        minicnn.ops.take(x, np.array([-1, 1]), axis=-2),
        minicnn.ops.pad(x, ((0, 0), (1, 2), (0, 1)), mode="reflect"),
        minicnn.ops.pad(x, ((0, 0), (1, 0), (0, 0)), constant_values=2.0),
        minicnn.ops.cast(minicnn.ops.logical_not(minicnn.ops.greater(x, 0.5)), "float32"),
        minicnn.ops.cast(
            minicnn.ops.logical_xor(minicnn.ops.greater(x, 0.5), minicnn.ops.less(x, 0.7)),
            "float32",
        ),
        x * np.array([1.0, 2.0, 3.0], np.float32),
    ]
    model = minicnn.Model(x, outputs)
    model.save(tmp_path / "ops.h5")
    with h5py.File(tmp_path / "ops.h5", "r") as h5:
        entries = json.loads(h5.attrs["model_config"])["config"]["layers"]
    # Each call's node: [layer, node, tensor, its other arguments].
    calls = {e["config"].get("function"): e["inbound_nodes"][0] for e in entries[1:]}
    assert calls["compat.v1.gather"][3] == {"indices": [3, 1], "axis": -2}
    assert calls["compat.v1.pad"][3]["mode"] in ("REFLECT", "CONSTANT")
    assert "math.logical_not" in calls and "math.logical_xor" in calls
    assert calls["math.multiply"][3]["y"] == [1.0, 2.0, 3.0]  # not Keras 3's __numpy__
    data = np.random.default_rng(0).random((2, 4, 3)).astype(np.float32)
    again = load_model(tmp_path / "ops.h5")
    for a, b in zip(again.predict(data, verbose=0), model.predict(data, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)
    edge = minicnn.Model(x, minicnn.ops.pad(x, ((0, 0), (1, 1), (0, 0)), mode="edge"))
    with pytest.raises(KerasFileError, match="TensorFlow's pad has no mode 'edge'"):
        edge.save(tmp_path / "edge.h5")
    hard = Sequential([Input((3,)), L.Dense(2, activation="hard_silu")])
    with pytest.raises(KerasFileError, match="Keras 2 has no activation 'hard_silu'"):
        hard.save(tmp_path / "hard.h5")
    assert not (tmp_path / "edge.h5").exists() and not (tmp_path / "hard.h5").exists()
    resized = Sequential([Input((8, 8, 1)), L.Resizing(4, 4)])  # antialias=False: Keras 2's
    resized.save(tmp_path / "resized.h5")
    with h5py.File(tmp_path / "resized.h5", "r") as h5:
        layers = json.loads(h5.attrs["model_config"])["config"]["layers"]
    assert "antialias" not in layers[-1]["config"]


def test_long_name_lists_are_split_as_keras_splits_them(tmp_path):
    """HDF5 keeps at most 64 KB of attributes on an object: Keras 2 splits a longer list of
    names into layer_names0, layer_names1, ...; so does minicnn, and it reads them back. A
    layer named "a/b" is a group inside "a" (MobileNetV3's names)."""
    from minicnn.keras_legacy import _listed
    from minicnn.keras_legacy_writing import _set_listed

    names = [f"layer_with_a_long_name_{i:05d}" for i in range(3000)]
    with h5py.File(tmp_path / "names.h5", "w") as h5:
        _set_listed(h5, "layer_names", names)
        assert "layer_names" not in h5.attrs and "layer_names1" in h5.attrs
        assert all(h5.attrs[k].nbytes <= 64512 for k in h5.attrs)
        assert _listed(h5, "layer_names") == names
    model = Sequential([Input((3,)), L.Dense(4, name="block/project"), L.Dense(2, name="block")])
    model.save(tmp_path / "slashes.h5")
    data = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(
        load_model(tmp_path / "slashes.h5").predict(data, verbose=0),
        model.predict(data, verbose=0),
    )


@pytest.mark.parametrize(
    "name",
    ["sequential", "functional", "optimizer_v2", *[f"optimizer_{k}" for k in OPTIMIZERS]],
)
def test_save_h5_keeps_the_optimizer_state_as_keras_2_names_it(name, tmp_path):
    """The state goes into ``optimizer_weights`` as TensorFlow 2.11+'s Keras writes it
    ("Adam/m/dense/kernel:0"): TensorFlow 2.15 loaded minicnn's files of these models and
    took exactly its own next step (difference 0; Nadam 6e-3, as from TF's own file, whose
    momentum product TF restarts), and so does minicnn."""
    x, y, _, after = _saved(name)
    _loaded(name).save(tmp_path / "again.h5")
    with h5py.File(tmp_path / "again.h5", "r") as h5:
        names = [
            str(n, "utf8") for n in h5["optimizer_weights"].attrs["weight_names"].astype(bytes)
        ]
    assert names[0] == "iteration:0" and "/" in names[1]
    again = _loaded(str(tmp_path / "again"))
    assert again.optimizer.iterations == 4
    tolerance = 1e-3 if name == "optimizer_nadam" else 1e-5
    assert _next_step_difference(again, x, y, after) <= tolerance


def test_ema_averages_go_into_keras_2_files_by_keras_2s_name(tmp_path):
    """use_ema's moving averages are TensorFlow 2's "Adam/average/dense/kernel:0", before
    Adam's slots: TensorFlow 2.15 loaded minicnn's file and took the same next step (to
    3e-7), and minicnn TensorFlow's (to 2.2e-7)."""
    minicnn.utils.set_random_seed(0)
    model = Sequential([Input((5,)), L.Dense(4, activation="tanh"), L.Dense(2)])
    model.compile(minicnn.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.9), "mse")
    rng = np.random.default_rng(0)
    x, y = rng.random((24, 5)).astype(np.float32), rng.random((24, 2)).astype(np.float32)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "ema.h5")
    with h5py.File(tmp_path / "ema.h5", "r") as h5:
        names = [
            str(n, "utf8") for n in h5["optimizer_weights"].attrs["weight_names"].astype(bytes)
        ]
    assert names[1:3] == ["Adam/average/dense/kernel:0", "Adam/average/dense/bias:0"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the state is read, not started afresh
        again = load_model(tmp_path / "ema.h5")
    model.train_on_batch(x[:8], y[:8])
    again.train_on_batch(x[:8], y[:8])
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_save_weights_h5_writes_keras_2s_weights_only_file(tmp_path):
    """``save_weights("w.h5")`` gives Keras 2's weights-only file (Keras 3 wants the name
    ``w.weights.h5``, which gives its own): the layers' groups at the root, loaded in order
    by minicnn and by TensorFlow's ``load_weights``."""
    data = np.load(FILES / "weights_only.npz")

    model = _weights_only_model()
    model.load_weights(FILES / "weights_only.h5")
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as h5:
        assert "layer_names" in h5.attrs and "model_weights" not in h5
    again = _weights_only_model()
    again.load_weights(tmp_path / "w.h5")
    np.testing.assert_allclose(again.predict(data["x"], verbose=0), data["predicted"], atol=1e-6)
    model.save_weights(tmp_path / "w.weights.h5")  # Keras 3's file
    with h5py.File(tmp_path / "w.weights.h5", "r") as h5:
        assert "layers" in h5 and "layer_names" not in h5.attrs
