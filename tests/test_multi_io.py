"""Functional models with several inputs and outputs, as in Keras: inputs and targets as lists
or dicts by name, one loss per output with loss_weights, per-output metrics and Keras' log
keys, predict's list of arrays, saving, datasets, every device and a captured step."""

import numpy as np
import pytest
from test_functions import host
from test_graph_step import assert_same_training
from test_models import toy_data

from minicnn import Input, Model, backend, load_model, optimizers
from minicnn import layers as L
from minicnn.utils import PyDataset


def two_headed(device="cpu"):
    """An image and three numbers in; a class (softmax) and a number (linear) out."""
    image, meta = Input((8, 8, 1), name="image"), Input((3,), name="meta")
    features = L.Flatten()(L.MaxPooling2D()(L.Conv2D(4, 3, activation="relu")(image)))
    hidden = L.Dense(12, activation="relu")(L.concatenate([features, meta]))
    kind = L.Dense(3, activation="softmax", name="kind")(hidden)
    size = L.Dense(1, name="size")(hidden)
    return Model([image, meta], [kind, size], device=device)


def data(n=96, seed=0):
    x, y = toy_data(n, seed)
    rng = np.random.default_rng(seed)
    meta = rng.standard_normal((n, 3)).astype(np.float32)
    size = (meta[:, :1] * 2 + y[:, None] * 0.5).astype(np.float32)
    return x, meta, y, size


def compiled(model):
    model.compile(
        optimizers.Adam(0.01),
        loss={"kind": "sparse_categorical_crossentropy", "size": "mse"},
        loss_weights={"kind": 1.0, "size": 0.5},
        metrics={"kind": ["accuracy"], "size": ["mae"]},
    )
    return model


def test_two_inputs_two_outputs_train_log_evaluate_and_predict(device):
    x, meta, y, size = data()
    backend.set_random_seed(0)
    model = compiled(two_headed(device))
    assert model.input_shape == [(None, 8, 8, 1), (None, 3)]
    assert model.output_shape == [(None, 3), (None, 1)]
    history = model.fit([x, meta], {"kind": y, "size": size}, batch_size=16, epochs=8, verbose=0)
    h = history.history
    assert list(h) == ["kind_accuracy", "kind_loss", "loss", "size_loss", "size_mae"]
    np.testing.assert_allclose(
        h["loss"], np.add(h["kind_loss"], 0.5 * np.array(h["size_loss"])), rtol=1e-5
    )
    assert h["loss"][-1] < 0.5 * h["loss"][0] and h["kind_accuracy"][-1] > 0.9
    # Batches of 10 (ragged): each value is the whole set's, from predict's two arrays.
    loss, kind_loss, size_loss, accuracy, mae = model.evaluate(
        {"image": x, "meta": meta}, [y, size], batch_size=10, verbose=0
    )
    probs, sizes = model.predict([x, meta], verbose=0)
    assert probs.shape == (96, 3) and sizes.shape == (96, 1)
    p = probs[np.arange(96), y].astype(np.float64)
    assert kind_loss == pytest.approx(-np.mean(np.log(p)), rel=1e-4)
    assert size_loss == pytest.approx(np.mean((sizes - size) ** 2), rel=1e-4)
    assert loss == pytest.approx(kind_loss + 0.5 * size_loss, rel=1e-5)
    assert accuracy == pytest.approx(np.mean(probs.argmax(axis=1) == y))
    assert mae == pytest.approx(np.mean(np.abs(sizes - size)), rel=1e-4)


def test_one_loss_for_every_output_and_flat_metrics():
    inputs = Input((8, 8, 1))
    hidden = L.Dense(6, activation="relu")(L.Flatten()(inputs))
    first = L.Dense(3, activation="softmax", name="first")(hidden)
    second = L.Dense(3, activation="softmax", name="second")(hidden)
    model = Model(inputs, [first, second])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = toy_data(32)
    logs = model.fit(x, [y, y], epochs=1, verbose=0).history
    assert set(logs) == {"loss", "first_loss", "second_loss", "first_accuracy", "second_accuracy"}
    assert len(model.predict(x, verbose=0)) == 2
    lines = []
    two_headed().summary(print_fn=lines.append)
    assert "image (InputLayer)" in lines[0] and "meta (InputLayer)" in lines[0]
    assert "flatten" in lines[0] and "meta[0][0]" in lines[0]  # concatenate's inputs


def test_targets_for_the_outputs_with_a_loss_alone(device):
    """Keras' loss=[loss, None] (keras.io's miniature GPT): y may give the trained outputs'
    targets alone, an array or a list in their order; it trains as with every target."""
    x, meta, y, size = data(32)

    def fitted(targets, **compile_args):
        backend.set_random_seed(2)
        model = two_headed(device)
        model.compile(optimizers.Adam(0.01), loss=[None, "mse"], **compile_args)
        return model, model.fit([x, meta], targets, batch_size=8, epochs=2, verbose=0)

    model, history = fitted(size)
    assert list(history.history) == ["loss"]
    _, with_list = fitted([size])
    _, with_both = fitted([y, size])
    assert history.history == with_list.history == with_both.history
    assert model.evaluate([x, meta], size, verbose=0) == model.evaluate(
        [x, meta], [y, size], verbose=0
    )
    with pytest.raises(ValueError, match=r"y gives no targets to the outputs \['kind'\]"):
        fitted(size, metrics=[["accuracy"], []])
    with pytest.raises(ValueError, match="y must be a list of 2 arrays"):
        fitted([size, size, size])


def test_saving_validation_datasets_and_errors(tmp_path):
    x, meta, y, size = data()
    backend.set_random_seed(1)
    model = compiled(two_headed())
    model.fit([x, meta], [y, size], validation_split=0.25, epochs=2, verbose=0)
    assert "val_kind_accuracy" in model.history.history
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert loaded.loss_weights == [1.0, 0.5]
    assert [m.name for m in loaded.metrics] == [m.name for m in model.metrics]
    for a, b in zip(
        loaded.predict([x, meta], verbose=0), model.predict([x, meta], verbose=0), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate([x, meta], [y, size], verbose=0) == model.evaluate(
        [x, meta], [y, size], verbose=0
    )

    class Batches(PyDataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            rows = slice(16 * i, 16 * (i + 1))
            return (x[rows], meta[rows]), (y[rows], size[rows])

    assert len(model.fit(Batches(), epochs=1, verbose=0).history["loss"]) == 1
    with pytest.raises(ValueError, match=r"x must be a list of 2 arrays, one per input"):
        model.fit(x, [y, size], verbose=0)
    with pytest.raises(ValueError, match=r"y gives no array for the outputs \['size'\]"):
        model.fit([x, meta], {"kind": y}, verbose=0)
    with pytest.raises(ValueError, match="hold different numbers of samples"):
        model.fit([x, meta[:10]], [y, size], verbose=0)
    with pytest.raises(ValueError, match=r"loss names no output \['colour'\]"):
        model.compile("adam", {"colour": "mse", "kind": "mse", "size": "mse"})
    with pytest.raises(ValueError, match="class_weight is for a model of one output"):
        model.fit([x, meta], [y, size], class_weight={0: 2.0}, verbose=0)


def test_cpu_and_gpu_agree_and_a_captured_step_replays(gpu):
    x, meta, y, size = data(44)

    def run(device, jit_compile):
        backend.set_random_seed(2)
        model = two_headed(device)
        model.compile(
            "adam",
            ["sparse_categorical_crossentropy", "mse"],
            metrics=[["accuracy"], []],
            jit_compile=jit_compile,
        )
        history = model.fit([x, meta], [y, size], batch_size=8, epochs=2, verbose=0)
        return model, history

    cpu, plain, captured = run("cpu", False), run("gpu", False), run("gpu", True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None
    for key in cpu[1].history:
        np.testing.assert_allclose(plain[1].history[key], cpu[1].history[key], rtol=1e-4)
    outs = plain[0]([backend.to_device(x, "gpu"), backend.to_device(meta, "gpu")])
    assert [host(o).shape for o in outs] == [(44, 3), (44, 1)]


def test_a_model_of_two_inputs_is_a_layer_of_another(tmp_path):
    a, b = Input((3,)), Input((3,))
    inner = Model([a, b], L.Dense(2)(L.concatenate([a, b])), name="inner")
    x, y = Input((3,)), Input((3,))
    outer = Model([x, y], L.Dense(1)(inner([x, y])))
    assert outer.count_params() == inner.count_params() + 3
    left, right = np.ones((4, 3), np.float32), np.arange(12, dtype=np.float32).reshape(4, 3)
    expected = outer.layers[-1](inner([left, right])).data
    np.testing.assert_allclose(outer.predict([left, right], verbose=0), expected, rtol=1e-6)
    outer.compile("adam", "mse")
    outer.fit([left, right], np.ones((4, 1), np.float32), verbose=0)
    outer.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    np.testing.assert_array_equal(
        loaded.predict([left, right], verbose=0), outer.predict([left, right], verbose=0)
    )


def test_a_model_of_two_outputs_is_a_layer_of_another(tmp_path, device):
    """Each output goes on through a SelectOutput layer; one node runs the inner model."""
    x, meta, y, size = data()
    backend.set_random_seed(0)
    inner = two_headed()
    image, numbers = Input((8, 8, 1)), Input((3,))
    kind, size_guess = inner([image, numbers])
    assert kind.shape == (None, 3) and size_guess.shape == (None, 1)
    refined = L.Dense(1, name="refined")(L.concatenate([kind, size_guess]))
    outer = Model([image, numbers], [refined, kind]).to(device)
    assert outer.count_params() == inner.count_params() + 5
    # Keras' layers: no SelectOutput (Keras' layers give several tensors), in Keras' order.
    assert [layer.name for layer in outer.layers] == [
        image.name,
        numbers.name,
        inner.name,
        outer.layers[3].name,
        "refined",
    ]
    assert sum(type(layer).__name__ == "SelectOutput" for layer, _ in outer._nodes()) == 2
    summary = []
    outer.summary(print_fn=summary.append)
    from summary_table import table_rows

    rows = {row[0].split()[0]: row for row in table_rows(summary[0])}
    assert rows[inner.name][1] == "[(None, 3), (None, 1)]"  # over two lines, as Keras'
    assert not any("SelectOutput" in row[0] for row in rows.values())  # Keras has no such row
    probs, sizes = inner.predict([x, meta], verbose=0)
    expected = np.concatenate([probs, sizes], axis=1) @ outer.get_layer("refined").get_weights()[0]
    got_refined, got_kind = outer.predict([x, meta], verbose=0)
    np.testing.assert_allclose(got_kind, probs, rtol=1e-5)
    np.testing.assert_allclose(
        got_refined, expected + outer.get_layer("refined").get_weights()[1], rtol=1e-4, atol=1e-6
    )
    before = [w.copy() for w in inner.get_weights()]
    outer.compile("adam", ["mse", "sparse_categorical_crossentropy"])
    history = outer.fit([x, meta], [size, y], epochs=3, batch_size=16, verbose=0)
    kind_name = outer.output_names[1]  # the SelectOutput layer's: "<inner>_kind"
    assert kind_name == f"{inner.name}_kind"
    assert list(history.history) == sorted(["refined_loss", f"{kind_name}_loss", "loss"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(not np.allclose(a, b) for a, b in zip(before, inner.get_weights(), strict=True))
    outer.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn", device=device)
    for a, b in zip(
        loaded.predict([x, meta], verbose=0), outer.predict([x, meta], verbose=0), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_a_shared_model_of_two_outputs(tmp_path):
    """Called on two inputs (a siamese pair): the same weights, two nodes."""
    a = Input((4,))
    hidden = L.Dense(3, activation="relu")(a)
    pair = Model(a, [L.Dense(2)(hidden), L.Dense(1)(hidden)], name="pair")
    left, right = Input((4,)), Input((4,))
    l2, l1 = pair(left)
    r2, r1 = pair(right)
    outer = Model([left, right], L.Dense(1)(L.concatenate([l2, r2, L.subtract([l1, r1])])))
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((8, 4)).astype(np.float32) for _ in range(2)]
    outer.compile("sgd", "mse")
    outer.fit(xs, np.ones((8, 1), np.float32), verbose=0)
    outer.save(tmp_path / "s.minicnn")
    loaded = load_model(tmp_path / "s.minicnn")
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), outer.predict(xs, verbose=0))
    assert loaded.count_params() == outer.count_params()


def _keyed_model():
    """Keras' functional-API guide example: dicts of inputs and of outputs, by keys that
    are not the layers' names, and token ids of any length."""
    title, tags = Input((None,), name="title_ids"), Input((3,), name="tag_flags")
    words = L.GRU(4)(L.Embedding(20, 4)(title))
    joined = L.concatenate([words, tags])
    outputs = {"priority": L.Dense(1)(joined), "department": L.Dense(2)(joined)}
    return Model({"title": title, "tags": tags}, outputs)


def test_dicts_of_inputs_and_outputs_as_in_kerass_guide(tmp_path, device):
    model = _keyed_model().to(device)
    # In Keras' order: a dict's keys sorted (Keras' tree.flatten).
    assert model.input_names == ["tags", "title"]
    assert model.output_names == ["department", "priority"]
    model.compile(
        optimizer="rmsprop",
        loss={"priority": "mse", "department": "sparse_categorical_crossentropy"},
        loss_weights={"priority": 1.0, "department": 0.2},
    )
    rng = np.random.default_rng(0)
    x = {"title": rng.integers(0, 20, (24, 7)), "tags": rng.random((24, 3))}
    y = {"priority": rng.random((24, 1)), "department": rng.integers(0, 2, 24)}
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert {"priority_loss", "department_loss", "loss"} <= set(history.history)
    predicted = model.predict(x, verbose=0)
    assert set(predicted) == {"priority", "department"}
    assert predicted["priority"].shape == (24, 1) and predicted["department"].shape == (24, 2)
    eager = model({"title": x["title"][:3], "tags": x["tags"][:3].astype(np.float32)})
    np.testing.assert_allclose(host(eager["department"].data), predicted["department"][:3])
    model.save(tmp_path / "keyed.keras")
    loaded = load_model(tmp_path / "keyed.keras")
    again = loaded.predict(x, verbose=0)
    np.testing.assert_allclose(again["priority"], predicted["priority"], rtol=1e-6)
    with pytest.raises(ValueError, match=r"no value for the inputs \['tags'\]"):
        model({"title": x["title"]})


def test_a_replaced_train_step_gets_dicts():
    class Stepped(Model):
        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            assert isinstance(y_pred, dict)
            return super().train_step(data)

    base = _keyed_model()
    (tags, title), (department, priority) = base.inputs, base.outputs  # keys sorted
    model = Stepped(
        {"title": title, "tags": tags}, {"priority": priority, "department": department}
    )
    model.compile("adam", {"priority": "mse", "department": "sparse_categorical_crossentropy"})
    rng = np.random.default_rng(1)
    x = {"title": rng.integers(0, 20, (8, 5)), "tags": rng.random((8, 3))}
    y = {"priority": rng.random((8, 1)), "department": rng.integers(0, 2, 8)}
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"]).all()
