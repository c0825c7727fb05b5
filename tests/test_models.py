import io
import json
import re

import numpy as np
import pytest

from minicnn import Input, Sequential, backend, load_model, optimizers
from minicnn import layers as L
from minicnn.experiments import zoo
from minicnn.progress import ProgressBar
from minicnn.saving import ModelFileError
from minicnn.utils import to_categorical


def small_cnn():
    return Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(6, 2, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(12, activation="relu"),
            L.Dropout(0.2),
            L.Dense(3, activation="softmax"),
        ]
    )


def toy_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 8, 8, 1)).astype(np.float32) * 0.3
    for i, label in enumerate(y):
        x[i, 2 * label : 2 * label + 3, :, 0] += 0.7
    return x, y


def assert_learns_and_reloads(model, x, y, path, device, epochs=10, batch_size=16, drop=0.8):
    """Fit ``model`` (compiled with Adam, and sparse cross-entropy unless it is compiled
    already), expect the loss to fall below ``drop`` times its first epoch's, then save it
    under ``path`` and expect the loaded model to predict the same and keep every layer's
    config. Returns the loaded model."""
    if model.optimizer is None:
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    assert history.history["loss"][-1] < drop * history.history["loss"][0]
    model.save(path / "model.minicnn")
    loaded = load_model(path / "model.minicnn", device=device)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [a.get_config() for a in loaded.layers] == [b.get_config() for b in model.layers]
    return loaded


def compiled(model, lr=0.01):
    model.compile(
        optimizers.Adam(learning_rate=lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


@pytest.mark.parametrize("model_id", [spec.id for spec in zoo.STUDY])
def test_every_study_model_has_its_exact_parameter_count(model_id):
    model = zoo.build_model(model_id)
    assert model.count_params() == zoo.get_spec(model_id).params
    assert model.count_params() == sum(w.size for w in model.get_weights())


BASE_ROWS = [
    ("conv2d (Conv2D)", "(None, 28, 28, 32)", "320"),
    ("max_pooling2d (MaxPooling2D)", "(None, 14, 14, 32)", "0"),
    ("conv2d_1 (Conv2D)", "(None, 14, 14, 64)", "18,496"),
    ("max_pooling2d_1 (MaxPooling2D)", "(None, 7, 7, 64)", "0"),
    ("conv2d_2 (Conv2D)", "(None, 5, 5, 128)", "73,856"),
    ("conv2d_3 (Conv2D)", "(None, 3, 3, 128)", "147,584"),
    ("conv2d_4 (Conv2D)", "(None, 3, 3, 64)", "73,792"),
    ("max_pooling2d_2 (MaxPooling2D)", "(None, 1, 1, 64)", "0"),
    ("flatten (Flatten)", "(None, 64)", "0"),
    ("dense (Dense)", "(None, 128)", "8,320"),
    ("dropout (Dropout)", "(None, 128)", "0"),
    ("dense_1 (Dense)", "(None, 64)", "8,256"),
    ("dropout_1 (Dropout)", "(None, 64)", "0"),
    ("dense_2 (Dense)", "(None, 10)", "650"),
]


def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def table_rows(text):
    rows = []
    for line in text.splitlines():
        if line.startswith("│"):
            rows.append(tuple(cell.strip() for cell in line.strip("│").split("│")))
    return rows


def test_base_summary_is_the_documents_table():
    text = summary_text(zoo.build_model("base"))
    lines = text.splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert (
        lines[2] == "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃"
    )
    assert (
        lines[4] == "│ conv2d (Conv2D)                 │ (None, 28, 28, 32)     │           320 │"
    )
    assert table_rows(text) == BASE_ROWS
    assert lines[-3:] == [
        " Total params: 331,274 (1.26 MB)",
        " Trainable params: 331,274 (1.26 MB)",
        " Non-trainable params: 0 (0.00 B)",
    ]
    assert len({len(line) for line in lines[1:-3]}) == 1, "the box must be rectangular"


def test_cmp_and_mlp_summaries():
    cmp_text = summary_text(zoo.build_model("cmp"))
    assert ("max_pooling2d_2 (MaxPooling2D)", "(None, 2, 2, 64)", "0") in table_rows(cmp_text)
    assert ("dense (Dense)", "(None, 128)", "32,896") in table_rows(cmp_text)
    assert " Total params: 355,850 (1.36 MB)" in cmp_text
    backend.clear_session()
    mlp_text = summary_text(zoo.build_model("mlp"))
    assert table_rows(mlp_text)[1:] == [
        ("dense (Dense)", "(None, 128)", "100,480"),
        ("dense_1 (Dense)", "(None, 160)", "20,640"),
        ("dense_2 (Dense)", "(None, 150)", "24,150"),
        ("dense_3 (Dense)", "(None, 10)", "1,510"),
    ]
    assert " Total params: 146,780 (573.36 KB)" in mlp_text


def test_names_count_up_per_session_like_keras():
    zoo.build_model("mlp")
    second = zoo.build_model("mlp")
    assert second.name == "sequential_1"
    assert second.layers[1].name == "dense_4"
    backend.clear_session()
    assert zoo.build_model("mlp").layers[1].name == "dense"


def test_an_unbuilt_models_summary_shows_its_layers_unbuilt_as_keras_does():
    lines = []
    Sequential([L.Dense(3)]).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "│ ?" in text and "0 (unbuilt) │" in text and " Total params: 0 (0.00 B)" in text


def test_deferred_build_from_data_and_input_shape_argument():
    model = Sequential([L.Flatten(), L.Dense(3, activation="softmax")])
    out = model.predict(np.zeros((2, 4, 4, 1)), verbose=0)
    assert out.shape == (2, 3) and model.count_params() == 16 * 3 + 3
    model2 = Sequential([L.Dense(5, input_shape=(7,))])
    assert model2.built and model2.output_shape == (None, 5)


def test_fit_learns_and_returns_keras_history(device):
    backend.set_random_seed(1)
    model = compiled(small_cnn().to(device))
    x, y = toy_data()
    history = model.fit(x, y, batch_size=16, epochs=6, validation_data=toy_data(48, 1), verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 6 for v in history.history.values())
    assert history.epoch == list(range(6))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.9
    loss, acc = model.evaluate(*toy_data(48, 1), verbose=0)
    assert acc == pytest.approx(history.history["val_accuracy"][-1])
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    probs = model.predict(x, verbose=0)
    assert probs.shape == (96, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_train_on_batch_returns_loss_and_accuracy(device):
    model = compiled(small_cnn().to(device))
    x, y = toy_data(32)
    first = model.train_on_batch(x, y)
    assert isinstance(first, list) and len(first) == 2 and 0 <= first[1] <= 1
    for _ in range(30):
        last = model.train_on_batch(x, y)
    assert last[0] < first[0]


def test_sgd_with_momentum_trains():
    model = small_cnn()
    # lr 0.1 with momentum 0.9 overshoots on this toy set for some seeds; 0.05 trains on all.
    model.compile(optimizers.SGD(learning_rate=0.05, momentum=0.9), metrics=["accuracy"])
    x, y = toy_data()
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.5


def test_adam_matches_keras_update_rule():
    w0 = np.array([[0.5, -0.25]], np.float64)
    g = np.array([[0.1, -0.3]], np.float64)
    from minicnn.autograd import Tensor

    p = Tensor(w0.copy(), requires_grad=True)
    opt = optimizers.Adam(learning_rate=0.01)
    m = v = np.zeros_like(w0)
    w = w0.copy()
    for t in range(1, 4):
        p.grad = g
        opt.update_weights([p])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        alpha = float(np.float32(0.01)) * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)  # a float32 rate
        w = w - alpha * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(p.data, w, rtol=1e-12)


def test_softmax_output_loss_equals_probability_loss():
    # The fused softmax+cross-entropy path must give Keras' loss on probabilities.
    model = compiled(small_cnn())
    x, y = toy_data(32)
    loss, _ = model.evaluate(x, y, verbose=0)
    probs = model.predict(x, verbose=0).astype(np.float64)
    assert loss == pytest.approx(-np.log(probs[np.arange(32), y]).mean(), rel=1e-5)


def test_same_seed_gives_bit_identical_weights_and_losses():
    def run():
        backend.clear_session()
        backend.set_random_seed(123)
        model = compiled(small_cnn())
        x, y = toy_data()
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return model.get_weights(), history.history["loss"]

    (w1, l1), (w2, l2) = run(), run()
    assert l1 == l2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2, strict=True))
    backend.set_random_seed(124)
    other = compiled(small_cnn()).get_weights()
    assert not np.array_equal(other[0], w1[0])


def test_save_load_round_trip(tmp_path):
    model = compiled(small_cnn())
    x, y = toy_data(32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = load_model(path)
    assert loaded.get_config() == model.get_config()
    assert all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True)
    )
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert isinstance(loaded.optimizer, optimizers.Adam)
    assert loaded.optimizer.learning_rate == np.float32(0.01)  # a float32 variable's, as Keras
    assert loaded.metrics_names == ["loss", "compile_metrics"]  # Keras 3.15
    assert [m.name for m in loaded.metrics[1].metrics] == ["accuracy"]
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled and trainable again
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"], "no temporary file left"


def test_a_loaded_model_trains_on_from_its_optimizer_state(tmp_path):
    """The file keeps Adam's moments and step count, as a Keras model file does: training a
    loaded model gives the same weights as training the saved one further."""
    model = compiled(small_cnn())
    x, y = toy_data(32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 2
    for m in (model, loaded):
        backend.set_random_seed(9)  # the same dropout mask for both
        m.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    fresh = load_model(tmp_path / "model.npz", compile=False)
    assert not fresh.compiled


def _write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _config_bytes(document):
    import json

    return np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)


def test_bad_model_files_get_clear_errors(tmp_path):
    good = tmp_path / "good.npz"
    compiled(small_cnn()).save(good)
    with np.load(good) as archive:
        arrays = {k: archive[k] for k in archive.files}
    import json

    document = json.loads(arrays["minicnn_config"].tobytes())

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelFileError, match="not a minicnn model file"):
        load_model(garbage)

    plain = _write_npz(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match="no minicnn_config entry"):
        load_model(plain)

    newer = dict(arrays, minicnn_config=_config_bytes({**document, "format_version": 99}))
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(_write_npz(tmp_path / "newer.npz", **newer))

    missing = {k: v for k, v in arrays.items() if k != "weight_3"}
    with pytest.raises(ModelFileError, match="weight_3 is missing"):
        load_model(_write_npz(tmp_path / "missing.npz", **missing))

    wrong = dict(arrays, weight_0=np.zeros((5, 5, 1, 4), np.float32))
    with pytest.raises(ModelFileError, match="do not fit the model.*shape"):
        load_model(_write_npz(tmp_path / "wrong.npz", **wrong))

    pickled = dict(arrays, weight_0=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="without unpickling"):
        load_model(_write_npz(tmp_path / "pickled.npz", **pickled))

    unknown = dict(document)
    layers = [{"class_name": "LocallyConnected2D", "config": {}}]
    unknown["model"] = dict(document["model"], layers=layers)
    with pytest.raises(ModelFileError, match="unknown layer class 'LocallyConnected2D'"):
        load_model(_write_npz(tmp_path / "lambda.npz", minicnn_config=_config_bytes(unknown)))
    lambda_file = dict(document)
    lambda_file["model"] = dict(
        document["model"], layers=[{"class_name": "Lambda", "config": {"function": "f"}}]
    )
    with pytest.raises(ModelFileError, match="A Lambda layer \\(f\\) runs Python code"):
        load_model(_write_npz(tmp_path / "f.npz", minicnn_config=_config_bytes(lambda_file)))


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = compiled(small_cnn())
    model.save(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


@pytest.mark.parametrize(
    "x,y,error,match",
    [
        # (4, 8, 8) would do: Keras adds the channel axis of size 1, as minicnn does.
        (np.zeros((4, 8)), np.zeros(4), ValueError, r"expects input of shape \(None, 8, 8, 1\)"),
        (np.zeros((4, 8, 8, 3)), np.zeros(4), ValueError, r"got x of shape \(4, 8, 8, 3\)"),
        (np.array([["a"] * 64] * 4).reshape(4, 8, 8, 1), np.zeros(4), TypeError, "numeric"),
        (np.zeros((0, 8, 8, 1)), np.zeros(0), ValueError, "x is empty"),
        (np.full((4, 8, 8, 1), np.nan), np.zeros(4), ValueError, "NaN or inf"),
        (np.zeros((4, 8, 8, 1)), np.array([0, 1, 2, 3]), ValueError, r"Labels must be in 0\.\.2"),
        (np.zeros((4, 8, 8, 1)), np.array([0, -1, 2, 1]), ValueError, r"0\.\.2"),
        (np.zeros((4, 8, 8, 1)), np.eye(3)[[0, 1, 2, 0]], ValueError, "looks one-hot"),
        (np.zeros((4, 8, 8, 1)), np.array([0.5, 1, 2, 0]), ValueError, "non-integer"),
        (np.zeros((4, 8, 8, 1)), np.zeros(5), ValueError, "4 samples but y has 5"),
    ],
)
def test_bad_training_data_is_named(x, y, error, match):
    model = compiled(small_cnn())
    with pytest.raises(error, match=match):
        model.fit(x, y, verbose=0)


def test_labels_as_column_and_integer_floats_are_accepted():
    model = compiled(small_cnn())
    x, y = toy_data(16)
    model.train_on_batch(x, y.reshape(-1, 1))
    model.train_on_batch(x, y.astype(np.float32))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"optimizer": "adabelief"}, "Unknown optimizer 'adabelief'"),
        ({"loss": "triplet_margin"}, "Unknown loss 'triplet_margin'"),
        ({"metrics": ["f1_score"]}, "Unknown metric 'f1_score'"),
    ],
)
def test_unknown_compile_names(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_cnn().compile(**kwargs)


def test_fit_before_compile_is_an_error():
    with pytest.raises(RuntimeError, match="must be compiled"):
        small_cnn().fit(*toy_data(8), verbose=0)


def test_progress_line_follows_keras_when_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(10, verbose=1, stream=stream)
    bar.update(3, {"accuracy": 0.5, "loss": 1.0})  # not a terminal: nothing until the end
    assert stream.getvalue() == ""
    bar.finish({"accuracy": 0.8281, "loss": 0.4939, "val_accuracy": 0.8659, "val_loss": 0.3725})
    line = stream.getvalue()
    assert re.match(
        r"^10/10 ━{20} \d+s \d+(ms|us|s)/step - accuracy: 0\.8281 - loss: 0\.4939 - "
        r"val_accuracy: 0\.8659 - val_loss: 0\.3725\n$",
        line,
    ), line
    stream2 = io.StringIO()
    ProgressBar(469, verbose=2, stream=stream2).finish({"loss": 0.00012})
    assert re.match(
        r"^469/469 - \d+s - \d+(us|ms|s)/step - loss: 1\.2000e-04\n$", stream2.getvalue()
    )


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = ProgressBar(4, verbose=1, stream=stream)
    bar.min_redraw_seconds = 0
    for step in range(1, 5):
        bar.update(step, {"loss": 1.0})
    bar.finish({"loss": 0.5})
    out = stream.getvalue()
    assert out.count("\r") == 5 and out.endswith("\n") and out.count("\n") == 1
    assert "\x1b[32m" + "━" * 20 in out  # the full green bar at the end


def test_progress_bar_redraws_in_place_in_a_notebook(monkeypatch, capsys):
    import sys

    assert not ProgressBar(4).dynamic  # captured stdout is not a terminal
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # what a Jupyter kernel has loaded
    assert ProgressBar(4).dynamic
    assert not ProgressBar(4, stream=io.StringIO()).dynamic  # only the notebook's own output
    assert not ProgressBar(4, verbose=2).dynamic


def test_fit_prints_epoch_lines(capsys):
    model = compiled(small_cnn())
    x, y = toy_data(40)
    model.fit(x, y, batch_size=16, epochs=2, verbose=1, validation_data=(x, y))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    assert re.match(
        r"^3/3 ━{20} \d+s .*/step - accuracy: .* - loss: .* - val_accuracy: .* - "
        r"val_loss: \d\.\d{4}$",
        out[1],
    ), out[1]


def test_keras_batch_methods_and_return_dict():
    x, y = toy_data(48)
    model = compiled(small_cnn())
    logs = model.train_on_batch(x[:16], y[:16], return_dict=True)
    assert list(logs) == ["accuracy", "loss"]
    # test_on_batch and evaluate agree on one batch, as lists and as dicts.
    loss, accuracy = model.test_on_batch(x[:16], y[:16])
    assert model.evaluate(x[:16], y[:16], batch_size=16, verbose=0) == [loss, accuracy]
    assert model.evaluate(x[:16], y[:16], verbose=0, return_dict=True) == {
        "accuracy": accuracy,
        "loss": loss,
    }
    assert model.test_on_batch(x[:16], y[:16], return_dict=True) == {
        "accuracy": accuracy,
        "loss": loss,
    }
    np.testing.assert_array_equal(model.predict_on_batch(x[:5]), model.predict(x[:5], verbose=0))
    # batch_size=None is Keras' 32; a bad one is named.
    assert model.evaluate(x, y, batch_size=None, verbose=0) == model.evaluate(x, y, verbose=0)
    for call in (model.evaluate, model.fit):
        with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
            call(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 2.5"):
        model.predict(x, batch_size=2.5, verbose=0)


def test_validation_freq_and_batch_size(monkeypatch):
    x, y = toy_data(48)
    model = compiled(small_cnn())
    sizes = []
    evaluate = model._evaluate

    def spy(batches, bar=None, hooks=None):
        sizes.append(batches.batch_size)
        return evaluate(batches, bar, hooks)

    monkeypatch.setattr(model, "_evaluate", spy)
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=5,
        verbose=0,
        validation_data=(x, y),
        validation_freq=2,
        validation_batch_size=24,
    )
    assert len(history.history["loss"]) == 5
    assert len(history.history["val_loss"]) == 2  # after epochs 2 and 4, as in Keras
    assert sizes == [24, 24]
    with pytest.raises(ValueError, match="validation_freq must be a positive int"):
        model.fit(x, y, validation_data=(x, y), validation_freq=0, verbose=0)


def test_pop_removes_the_last_layer_and_a_new_head_trains():
    x, y = toy_data(48)
    model = compiled(small_cnn())
    model.fit(x, y, epochs=1, verbose=0)
    head = model.pop()
    assert isinstance(head, L.Dense) and model.output_shape == (None, 12)
    model.add(L.Dense(3, activation="softmax"))
    with pytest.raises(ValueError, match="compile the model again"):
        model.fit(x, y, epochs=1, verbose=0)
    compiled(model).fit(x, y, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="no layers to pop"):
        Sequential([Input((4,))]).pop()


def test_categorical_crossentropy_on_one_hot_rows_trains_like_the_sparse_loss(device):
    x, y = toy_data(48)
    histories = []
    for loss, labels in (
        ("sparse_categorical_crossentropy", y),
        ("categorical_crossentropy", np.eye(3)[y]),
    ):
        backend.set_random_seed(4)
        model = small_cnn().to(device)
        model.compile(optimizers.Adam(0.01), loss, metrics=["accuracy"])
        histories.append(model.fit(x, labels, batch_size=16, epochs=2, verbose=0).history)
        assert model.evaluate(x, labels, verbose=0, return_dict=True)["accuracy"] == pytest.approx(
            float((model.predict(x, verbose=0).argmax(1) == y).mean())
        )
    sparse, categorical = histories
    assert categorical["loss"] == pytest.approx(sparse["loss"], rel=1e-4)
    assert categorical["accuracy"] == pytest.approx(sparse["accuracy"], abs=1 / 48 + 1e-9)


def test_categorical_crossentropy_label_smoothing_soft_rows_and_errors(tmp_path):
    x, y = toy_data(48)
    model = small_cnn()
    model.compile(
        "adam", {"name": "categorical_crossentropy", "label_smoothing": 0.2}, ["accuracy"]
    )
    soft = np.random.default_rng(5).dirichlet(np.ones(3), size=48)
    model.fit(x, soft, epochs=1, verbose=0)
    probs = model.predict(x, verbose=0).astype(np.float64)
    smoothed = soft * 0.8 + 0.2 / 3
    expected = -(smoothed * np.log(probs)).sum(1).mean()
    loss, accuracy = model.evaluate(x, soft, verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx((probs.argmax(1) == soft.argmax(1)).mean())
    model.save(tmp_path / "m.npz")
    assert load_model(tmp_path / "m.npz").loss.get_config() == {  # Keras' config
        "name": "categorical_crossentropy",
        "reduction": "sum_over_batch_size",
        "from_logits": False,
        "label_smoothing": 0.2,
        "axis": -1,
    }
    with pytest.raises(ValueError, match="looks like class ids"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"target rows of shape \(N, 3\)"):
        model.fit(x, np.eye(4)[y % 4], verbose=0)
    with pytest.raises(ValueError, match="finite, non-negative"):
        model.fit(x, -soft, verbose=0)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        model.compile("adam", {"name": "categorical_crossentropy", "label_smoothing": 2})


def test_to_categorical_follows_keras():
    np.testing.assert_array_equal(to_categorical([2, 0, 1]), np.eye(3)[[2, 0, 1]])
    assert to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    assert to_categorical(np.array([[1, 0], [2, 2]])).shape == (2, 2, 3)
    assert to_categorical(np.array([1.0, 0.0])).dtype == np.float32
    with pytest.raises(ValueError, match=r"in 0\.\.2; got values from 0 to 3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="non-integer"):
        to_categorical([0.5])


def test_summary_after_training_counts_the_optimizer_like_keras_3(device):
    # Keras 3 printed, for a 1280 -> 5 Dense head trained with Adam: "Trainable params: 6,405
    # (25.02 KB)" and "Optimizer params: 12,812 (50.05 KB)" (two moments per weight, plus its
    # step counter and learning rate), and adds the latter into "Total params".
    model = Sequential([Input((1280,)), L.Dense(5, activation="softmax")], device=device)
    model.compile("adam", metrics=["accuracy"])
    assert "Optimizer params" not in summary_text(model)
    x = np.random.default_rng(0).random((4, 1280), np.float32)
    model.train_on_batch(x, np.array([0, 1, 2, 3]))
    tail = summary_text(model).splitlines()[-4:]
    assert tail == [
        " Total params: 19,217 (75.07 KB)",
        " Trainable params: 6,405 (25.02 KB)",
        " Non-trainable params: 0 (0.00 B)",
        " Optimizer params: 12,812 (50.05 KB)",
    ]
    # Plain SGD keeps no per-weight state: only the counter and the rate.
    model.compile("sgd")
    model.train_on_batch(x, np.array([0, 1, 2, 3]))
    assert summary_text(model).splitlines()[-1] == " Optimizer params: 2 (12.00 B)"


def test_a_built_layer_added_to_a_sequential_keeps_its_weights():
    dense = L.Dense(3)
    dense.build((None, 4))
    weights = [w.copy() for w in dense.get_weights()]
    model = Sequential([Input((4,)), dense])
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compile_config_round_trips_as_in_keras():
    x, y = toy_data(32)
    model = small_cnn()
    assert model.get_compile_config() == {}  # Keras' before compile
    model.compile(
        optimizers.Adam(0.01),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],
    )
    config = model.get_compile_config()
    # Keras' form of the optimizer: its class and config
    assert config["optimizer"]["class_name"] == "Adam"
    assert config["optimizer"]["config"]["learning_rate"] == 0.009999999776482582  # Keras' too
    twin = small_cnn()
    twin.set_weights(model.get_weights())
    twin.compile_from_config(json.loads(json.dumps(config)))  # plain data, as a file holds
    assert twin.metrics_names == model.metrics_names == ["loss", "compile_metrics"]  # Keras 3
    names = ["accuracy", "weighted_accuracy"]
    assert [m.name for m in twin.metrics[1].metrics] == [m.name for m in model.metrics[1].metrics]
    assert [m.name for m in model.metrics[1].metrics] == names
    assert twin.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_inputs_a_rank_off_with_an_axis_of_size_one_are_adjusted_as_in_keras():
    """Keras' functional models add a last axis of size 1 that x lacks (volumes for an
    Input of (..., 1)) and take one off that x has more."""
    model = Sequential([Input((4, 4, 1)), L.Flatten(), L.Dense(2)])
    x = np.random.default_rng(0).random((3, 4, 4)).astype(np.float32)
    expected = model.predict(x[..., None], verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    flat = Sequential([Input((4,)), L.Dense(2)])
    v = np.ones((3, 4, 1), np.float32)
    np.testing.assert_array_equal(flat.predict(v, verbose=0), flat.predict(v[..., 0], verbose=0))


def test_compile_from_config_is_compile_of_the_config_as_in_keras():
    # Keras' compile(**config): what the config leaves out takes compile's default.
    model = small_cnn()
    assert model.get_compile_config() == {}
    model.compile_from_config({"loss": "mse", "metrics": ["mae"]})
    assert model.compiled and model.get_compile_config()["loss"] == "mse"
    assert type(model.optimizer).__name__ == "Adam"  # compile's default
    model.compile_from_config({})
    assert model.get_compile_config()["loss"] == "sparse_categorical_crossentropy"
