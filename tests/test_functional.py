"""Functional models (``Model(inputs, outputs)``) and the merge layers: the same engine as
Sequential on a graph, with branches, merges, saving, checkpoints and both devices."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import small_cnn, toy_data

from minicnn import Input, Model, Sequential, backend, load_model
from minicnn import functions as F
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.saving import ModelFileError


def residual_cnn(device="cpu", swapped=False):
    """A residual block, then features pooled two ways and joined (the other way round
    with ``swapped``: the same layers and weight shapes, wired otherwise)."""
    inputs = Input((8, 8, 1))
    x = L.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    branch = L.Conv2D(6, 3, padding="same", use_bias=False)(x)
    branch = L.BatchNormalization(momentum=0.9)(branch)
    x = L.Activation("relu")(L.Add()([x, branch]))
    x = L.MaxPooling2D()(x)
    # Flatten keeps where the features are; the global pool adds how strong they are.
    flat, largest = L.Flatten(), L.GlobalMaxPooling2D()
    pooled = [largest(x), flat(x)] if swapped else [flat(x), largest(x)]
    outputs = L.Dense(3, activation="softmax")(L.Dropout(0.1)(L.Concatenate()(pooled)))
    return Model(inputs, outputs, device=device)


def as_functional(sequential):
    """The same layers as a functional chain."""
    inputs = Input(sequential.input_shape[1:])
    x = inputs
    for layer in sequential.layers:
        x = layer(x)
    return Model(inputs, x)


# --- merge operations ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["add", "subtract", "multiply", "average", "maximum", "minimum"])
@pytest.mark.parametrize(
    "shapes",
    [[(2, 3, 4)] * 3, [(2, 1, 4), (2, 3, 4), (2, 3, 1)]],  # Keras broadcasts ones
    ids=["same", "broadcast"],
)
def test_merges_match_numpy_and_their_gradients_check(mode, shapes, device):
    rng = np.random.default_rng(0)
    count = 2 if mode == "subtract" else 3
    xs = [rng.standard_normal(shape) for shape in shapes[:count]]
    wide = np.broadcast_arrays(*xs)
    expected = {
        "add": sum(xs),
        "subtract": xs[0] - xs[1],
        "multiply": np.prod(wide, axis=0),
        "average": sum(xs) / count,
        "maximum": np.max(wide, axis=0),
        "minimum": np.min(wide, axis=0),
    }[mode]
    got = F.merge(mode, *[backend.to_device(x, device) for x in xs])
    np.testing.assert_allclose(host(got), expected, rtol=1e-12)
    check_gradients(lambda *ts: F.merge(mode, *ts), *xs, device=device)


def test_concatenate_matches_numpy_and_its_gradient_checks(device):
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, 3, k)) for k in (1, 4, 2)]
    got = F.concatenate([backend.to_device(x, device) for x in xs], axis=2)
    np.testing.assert_array_equal(host(got), np.concatenate(xs, axis=2))
    check_gradients(lambda *ts: F.concatenate(list(ts), axis=2), *xs, device=device)
    ys = [rng.standard_normal((2, k, 3)) for k in (2, 1)]
    check_gradients(lambda *ts: F.concatenate(list(ts), axis=1), *ys, device=device)


def test_merge_layers_check_their_inputs():
    a, b = Input((4, 3)), Input((4, 5))
    assert L.Concatenate()([a, b]).shape == (None, 4, 8)
    assert L.Concatenate(axis=1)([Input((2, 3)), Input((5, 3))]).shape == (None, 7, 3)
    with pytest.raises(
        ValueError, match=r"\(Add\) needs inputs that broadcast to one shape, got \(None, 4, 3\)"
    ):
        L.Add()([a, b])
    with pytest.raises(ValueError, match=r"agree on every axis but axis 1"):
        L.Concatenate(axis=1)([a, b])
    with pytest.raises(ValueError, match=r"axis 0 is not an axis of samples"):
        L.Concatenate(axis=0)([a, a])
    with pytest.raises(ValueError, match="takes exactly two inputs, got 3"):
        L.Subtract()([a, a, a])
    with pytest.raises(TypeError, match=r"\(Add\) takes a list of at least two inputs, got list"):
        L.Add()([a])
    with pytest.raises(TypeError, match=r"\(Dense\) takes one input, got a list of 2"):
        L.Dense(3)([a, a])
    with pytest.raises(ValueError, match="takes two inputs of one shape"):
        L.CustomScaleLayer(0.5)([a, b])
    # Eager calls take lists of arrays too.
    out = L.Multiply()([np.full((2, 3), 2.0), np.full((2, 3), 3.0)])
    np.testing.assert_array_equal(out.data, np.full((2, 3), 6.0))


# --- models --------------------------------------------------------------------------------


def test_a_functional_chain_is_the_sequential_model():
    """The same layers as Sequential and as Model(inputs, outputs): the same outputs, losses
    and weights after training, bit for bit."""
    x, y = toy_data(64)
    results = []
    for functional in (False, True):
        backend.clear_session()
        backend.set_random_seed(3)
        model = small_cnn()
        if functional:
            model = as_functional(model)
            assert isinstance(model, Model) and not isinstance(model, Sequential)
        model.compile("adam", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append((history.history["loss"], model.predict(x, verbose=0)))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_a_residual_model_learns(device):
    x, y = toy_data(192)
    model = residual_cnn(device)
    model.compile("adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    assert model._fuses_activation()  # the last softmax goes into the loss, as in Sequential
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_cpu_and_gpu_agree_on_a_residual_model(gpu):
    backend.set_random_seed(0)
    cpu_model = residual_cnn("cpu")
    gpu_model = residual_cnn("gpu")
    gpu_model.set_weights(cpu_model.get_weights())
    x = np.random.default_rng(2).random((5, 8, 8, 1), dtype=np.float32)
    results = []
    for model in (cpu_model, gpu_model):
        backend.set_random_seed(1)  # the same dropout mask
        xt = Tensor(backend.to_device(x, model.device), requires_grad=True)
        out = model(xt, training=True)
        (out * out).sum().backward()
        results.append([host(out), host(xt.grad)] + [host(w.grad) for w in model.trainable_weights])
    for got, expected in zip(results[1], results[0], strict=True):
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


def test_summary_follows_keras_3_for_functional_models(monkeypatch):
    from summary_table import table_rows

    monkeypatch.setenv("COLUMNS", "200")  # Keras' table for a wide terminal: 108 wide
    lines = []
    as_functional(small_cnn()).summary(print_fn=lines.append)
    text = lines[0]
    assert "│ input_layer" in text and "(InputLayer)" in text
    assert "Connected to" not in text  # a chain: Keras' sequential-like table
    lines = []
    residual_cnn().summary(print_fn=lines.append)
    table = lines[0].splitlines()
    assert "Connected to" in table[2]
    add_row = next(row for row in table_rows(lines[0]) if row[0] == "add (Add)")
    assert add_row[3].endswith("[0][0], batch_normalization[0][0]")
    assert {len(line) for line in table[1:-3]} == {108}  # every line of the table aligned


def test_functional_models_save_load_and_resume(tmp_path):
    x, y = toy_data(64)
    model = residual_cnn()
    model.compile("adam", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert type(loaded).__name__ == "Functional" and isinstance(loaded, Model)  # Keras' class
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(tmp_path / "w.npz")
    other = residual_cnn()
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))

    def run(epochs, checkpoint):
        backend.clear_session()
        backend.set_random_seed(4)
        m = residual_cnn()
        m.compile("adam")
        m.fit(x, y, batch_size=16, epochs=epochs, verbose=0, checkpoint=checkpoint)
        return m.get_weights()

    straight = run(3, tmp_path / "straight.npz")
    run(2, tmp_path / "ckpt.npz")
    resumed = run(3, tmp_path / "ckpt.npz")
    for a, b in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(a, b)


def test_weights_of_another_graph_are_refused(tmp_path):
    """The same layers, wired otherwise (the pooled features joined in the other order): the
    file does not fit, although every weight's shape does."""
    model = residual_cnn()
    model.save_weights(tmp_path / "w.npz")
    rewired = residual_cnn(swapped=True)
    with pytest.raises(ModelFileError, match="another architecture"):
        rewired.load_weights(tmp_path / "w.npz")


def test_bad_graphs_get_clear_errors():
    a, b = Input((4,)), Input((4,))
    dense = L.Dense(4)
    with pytest.raises(ValueError, match="computed from its inputs alone"):
        Model(a, L.Add()([dense(a), L.Dense(4)(b)]))
    shared = L.Conv1D(4, 1)
    shared(Input((4, 4)))
    # As in Keras, a built layer takes any input its weights fit (a longer sequence) ...
    assert shared(Input((5, 4))).shape == (None, 5, 4)
    # ... and no other (5 channels for a kernel of 4).
    with pytest.raises(ValueError, match=r"built for input shape \(4, 4\).*do not fit"):
        shared(Input((4, 5)))
    with pytest.raises(ValueError, match="each Input may be given once"):
        Model([a, a], L.Dense(2)(a))
    with pytest.raises(TypeError, match="for a stack of layers use Sequential"):
        Model()
    with pytest.raises(ValueError, match="computed from its inputs alone"):
        Model(L.Dense(2)(a), L.Dense(2)(a))  # a layer's output as input, not upstream of out
    with pytest.raises(TypeError, match="Model inputs must be Inputs"):
        Model(np.ones(3), L.Dense(2)(a))
    model = Model(a, L.Dense(2)(a))
    with pytest.raises(ValueError, match=r"was built for input shape \(4,\), and is called on"):
        model(Input((5,)))  # as a layer of another model
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 4\); got x of shape"):
        model.predict(np.ones((2, 5), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"takes samples of shape \(4,\), got \(5,\)"):
        model.build((None, 5))
    with pytest.raises(ValueError, match="was built for input shape"):
        dense(Input((7,)))


def test_feature_extractors_from_layer_outputs(device):
    """Keras' ``Model(model.inputs, model.get_layer(name).output)``, from a Sequential (whose
    layers are linked as a graph once it knows its input shape) and from a functional model;
    the extractor shares the weights, so it sees what training changed."""
    x, y = toy_data(48)
    model = small_cnn().to(device)
    conv = model.layers[0]
    assert model.input.shape == (None, 8, 8, 1) and model.output.shape == (None, 3)
    assert conv.output.shape == (None, *conv.sample_output_shape) and conv.input is model.inputs[0]
    extractor = Model(model.inputs, conv.output, device=device)
    model.compile("adam")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    features = extractor.predict(x, verbose=0)
    expected = host(conv(backend.to_device(x, device)))
    np.testing.assert_allclose(features, expected, rtol=1e-6)
    functional = residual_cnn(device)
    pooled = functional.get_layer(functional.layers[-3].name)
    assert Model(functional.input, pooled.output).output_shape == pooled.output.shape
    # A Sequential built later, and after pop, links its graph again.
    late = Sequential([L.Flatten(), L.Dense(4), L.Dense(2)])
    with pytest.raises(ValueError, match="has never been called and thus has no defined output"):
        _ = late.layers[0].output
    late.build((None, 3, 3))
    late.pop()
    assert late.output is late.layers[-1].output and late.output.shape == (None, 4)


def test_a_model_may_start_at_a_layers_output(tmp_path):
    """Keras allows an intermediate tensor as a model input: the model is the graph from
    there on (a head that shares the full model's layers)."""
    x = Input((4,))
    hidden = L.Dense(3, name="hidden")(x)
    out = L.Dense(2, name="out")(hidden)
    full, head = Model(x, out), Model(hidden, out)
    assert [layer.name for layer in head.layers][1:] == ["out"] and head.sample_input_shape == (3,)
    data = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    features = Model(x, hidden).predict(data, verbose=0)
    np.testing.assert_allclose(head.predict(features, verbose=0), full.predict(data, verbose=0))
    head.save(tmp_path / "head.keras")
    np.testing.assert_allclose(
        load_model(tmp_path / "head.keras").predict(features, verbose=0),
        head.predict(features, verbose=0),
    )


def test_every_layers_output_makes_a_feature_extractor():
    """Keras' guide: Model(model.input, [layer.output for layer in model.layers]), the
    InputLayer's output being the Input itself."""
    x = Input((6, 6, 1))
    y = L.Dense(2)(L.Flatten()(L.Conv2D(2, 3)(x)))
    model = Model(x, y)
    assert model.layers[0].output is x
    extractor = Model(model.input, [layer.output for layer in model.layers])
    data = np.random.default_rng(0).random((2, 6, 6, 1)).astype(np.float32)
    outputs = extractor.predict(data, verbose=0)
    assert [o.shape for o in outputs] == [(2, 6, 6, 1), (2, 4, 4, 2), (2, 32), (2, 2)]
    np.testing.assert_allclose(outputs[0], data)


def test_custom_scale_layer_is_the_scaled_residual_of_inception_resnet_v2(tmp_path):
    """Keras' InceptionResNetV2 layer: x + y * scale, with its gradients."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    layer = L.CustomScaleLayer(0.17)
    np.testing.assert_allclose(layer([x, y]).data, x + 0.17 * y, rtol=1e-12)
    check_gradients(lambda a, b: layer([a, b]), x, y)
    assert L.CustomScaleLayer.from_config(layer.get_config()).scale == 0.17


def test_a_shared_layers_output_is_its_first_calls_and_its_weights_count_once():
    """As Keras 3.15: a Sequential's layers are called once when it is built (node 0), so
    ``layer.output`` (its first call's) still cuts a feature extractor from the Sequential
    after the layer was called in another model; a model's summary numbers those later
    calls from 1; and a model holding two models that share a layer lists and counts the
    shared weights once (Keras' 23 parameters, where minicnn counted 38 and would have
    updated them twice a step)."""
    seq = Sequential([Input((4,)), L.Dense(3, name="d1"), L.Dense(2, name="d2")])
    a, b = Input((4,)), Input((4,))
    d1 = seq.get_layer("d1")
    pair = Model([a, b], L.Add()([d1(a), d1(b)]))
    lines = []
    pair.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "d1[1][0]," in text and "d1[2][0]" in text
    encoder = Model(seq.inputs, seq.get_layer("d1").output)
    x = Input((4,))
    both = Model(x, L.Concatenate()([encoder(x), seq(x)]))
    assert both.count_params() == 23
    assert len(both.weights) == len(both.trainable_weights) == 4
    data = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(
        both.predict(data, verbose=0)[:, :3], encoder.predict(data, verbose=0), rtol=1e-6
    )


def test_a_layer_built_for_one_shape_is_called_on_another_its_weights_fit():
    """As in Keras (its pretrained word-embedding example): Embedding.build((1,)) and
    set_weights, then called on sequences of any length; the summary shows the call's
    shape, Keras' node 0."""
    embedding = L.Embedding(10, 3)
    embedding.build((1,))
    ids = Input((None,), dtype="int32")
    out = embedding(ids)
    assert out.shape == (None, None, 3)
    model = Model(ids, L.GlobalMaxPooling1D()(out))
    lines = []
    model.summary(print_fn=lines.append)
    assert "│ (None, None, 3)" in "\n".join(lines)
    x = np.array([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(
        model.predict(x, verbose=0), np.asarray(embedding(x)).max(axis=1), rtol=1e-6
    )
