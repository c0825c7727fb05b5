"""``load_onnx``: ONNX files that PyTorch 2.13's two exporters wrote (tests/onnx_files,
made by make_torch_files.py; PyTorch's own outputs are the oracle) and the files minicnn's
``export(format="onnx")`` writes, read back into trainable minicnn models."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import test_onnx_export as exported
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import layers as L
from minicnn.experiments.zoo import STUDY, build_model
from minicnn.onnx_export import node_proto, tensor_proto, value_info_proto
from minicnn.onnx_import import OnnxImportError, load_onnx
from minicnn.onnx_reading import OnnxFileError
from minicnn.protobuf import bytes_field, int_field, packed_doubles, text_field

FILES = Path(__file__).parent / "onnx_files"
RNG = np.random.default_rng(3)


def torch_file(name: str) -> tuple[Path, np.ndarray, np.ndarray]:
    """A test file's path, input and the output its own framework gave."""
    data = np.load(FILES / f"{name}.npz")
    return FILES / f"{name}.onnx", data["x"], data["expected"]


def kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.operations]


def close(got: np.ndarray, expected: np.ndarray, tolerance: float = 2e-6) -> None:
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance * scale)


@pytest.mark.parametrize(
    "name",
    [
        "classifier",
        "blocks",
        "sequence",
        "lookup",
        "edges",
        "resnet",
        "recurrent",
        "extras",
        "resizes",
        "vit",
    ],
)
def test_pytorch_exports_predict_as_pytorch(name):
    path, x, expected = torch_file(name)
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    if x.ndim >= 3 and name != "recurrent":  # the same model taking channels-last images
        last = load_onnx(path, channels_last=True)
        moved = np.moveaxis(x, 1, -1)
        got = last.predict(moved, verbose=0)
        close(got if got.ndim < 3 else np.moveaxis(got, -1, 1), expected)
        if name in ("classifier", "blocks", "edges", "resnet", "extras"):  # images first
            assert "Permute" not in kinds(last)[:2]  # taken channels-last as they come


def test_a_keras_export_comes_back_without_transposes():
    """Keras 3's own export (TensorFlow, tf2onnx; make_keras_files.py): channels-last in,
    a Transpose to ONNX's layout first, which costs nothing here."""
    path, x, expected = torch_file("keras_cnn")
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    assert model.input_shape == (None, 16, 16, 3) and "Permute" not in kinds(model)
    assert kinds(model).count("Conv2D") == 2 and "DepthwiseConv2D" in kinds(model)


def test_pytorch_recurrent_layers_become_keras_ones():
    """nn.LSTM, a bidirectional nn.GRU (its final states read too) and nn.RNN, batch first:
    ONNX's time-major ops come back as minicnn's layers, the transposes around them free."""
    path, x, expected = torch_file("recurrent")
    model = load_onnx(path)
    layers = kinds(model)
    assert layers.count("LSTM") == 1 and layers.count("GRU") == 2
    assert layers.count("SimpleRNN") == 1 and "Permute" not in layers
    (gru,) = [layer for layer in model.layers if isinstance(layer, L.GRU) and layer.go_backwards]
    assert gru.reset_after  # PyTorch's GRU applies the reset gate after the product
    (rnn,) = [layer for layer in model.layers if isinstance(layer, L.SimpleRNN)]
    assert minicnn.activations.serialize(rnn.activation) == "relu"
    model.compile("adam", "mse")
    model.fit(x, np.zeros_like(expected), epochs=1, verbose=0)  # it trains


def test_decoders_start_from_their_encoders_states():
    """A PyTorch seq2seq (dynamo exporter): an LSTM decoder given its encoder's (h, c), a
    bidirectional GRU decoder its encoder's h of both directions: Keras' initial_state."""
    path, x, expected = torch_file("seq2seq")
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    recurrent = [layer for layer in model.layers if isinstance(layer, (L.LSTM, L.GRU))]
    started = [type(layer).__name__ for layer in recurrent if layer.takes_list]
    assert sorted(started) == ["GRU", "GRU", "LSTM"]  # called with initial states
    model.compile("adam", "mse")
    history = model.fit(x, np.zeros_like(expected), epochs=3, verbose=0)  # the states' too
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_module_called_twice_is_one_layer():
    """A Siamese network (one encoder on two images): its Conv2d and Linear, each used twice
    in the file, come back as one Conv2D and one Dense called twice, their weights shared
    in training as in PyTorch."""
    data = np.load(FILES / "siamese.npz")
    model = load_onnx(FILES / "siamese.onnx")
    x = [data["a"], data["b"]]
    close(model.predict(x, verbose=0), data["expected"])
    assert kinds(model).count("Conv2D") == 1 and kinds(model).count("Dense") == 2  # +the head
    model.compile("adam", "mse")
    model.fit(x, np.zeros_like(data["expected"]), epochs=3, verbose=0)
    # Trained, one image on both sides still gives equal codes (one encoder, not two copies
    # trained apart): distance 0, so the score is the head's bias alone.
    (head,) = [
        layer for layer in model.layers if type(layer).__name__ == "Dense" and layer.units == 1
    ]
    expected = 1 / (1 + np.exp(-head.get_weights()[1]))
    same = model.predict([data["a"], data["a"]], verbose=0)
    np.testing.assert_allclose(same, np.broadcast_to(expected, same.shape), rtol=1e-6)


def test_a_pytorch_cnn_becomes_keras_layers():
    minicnn.clear_session()
    path, x, expected = torch_file("classifier")
    model = load_onnx(path)
    # Named after PyTorch's modules (their weights' names in the file).
    assert {"conv1", "bn1", "conv2", "fc1", "fc2"} <= {layer.name for layer in model.layers}
    assert model.get_layer("fc2").units == 5
    assert kinds(model)[:4] == ["InputLayer", "Permute", "Conv2D", "BatchNormalization"]
    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    assert [d.units for d in dense] == [16, 5]
    # The ReLU after fc1 is fc1's activation; the flattened image is not moved back to
    # channels-first: the kernel's rows are in minicnn's order instead.
    assert minicnn.activations.serialize(dense[0].activation) == "relu"
    assert kinds(model).count("Permute") == 1
    assert model.count_params() == 8 * 27 + 8 + 4 * 8 + 12 * 2 * 9 + 12 + 48 * 16 + 16 + 16 * 5 + 5


def test_pytorch_exports_with_external_weights(tmp_path):
    path, x, expected = torch_file("blocks")  # PyTorch's dynamo exporter: blocks.onnx.data
    assert (FILES / "blocks.onnx.data").is_file()
    copy = tmp_path / "model.onnx"
    shutil.copy(path, copy)
    with pytest.raises(OnnxFileError, match=r"blocks.onnx.data.*not there"):
        load_onnx(copy)
    shutil.copy(FILES / "blocks.onnx.data", tmp_path / "blocks.onnx.data")
    close(load_onnx(copy).predict(x, verbose=0), expected)
    (tmp_path / "blocks.onnx.data").write_bytes(b"\0" * 10)  # truncated
    with pytest.raises(OnnxFileError, match="truncated"):
        load_onnx(copy)


def test_an_imported_model_trains_saves_and_loads(tmp_path):
    path, x, _ = torch_file("classifier")
    model = load_onnx(path)
    images = RNG.standard_normal((64, *x.shape[1:])).astype(np.float32)
    labels = RNG.integers(0, 5, 64)
    # PyTorch's classifier gives logits (no softmax), as its CrossEntropyLoss takes them.
    loss = minicnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss, metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(images, labels, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.8
    assert all(
        not np.array_equal(a, b)
        for a, b in zip(before, model.get_weights(), strict=True)
        if a.ndim > 1
    )
    model.save(tmp_path / "m.keras")
    again = minicnn.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


def test_load_model_reads_onnx_files(tmp_path):
    path, x, expected = torch_file("lookup")
    model = minicnn.load_model(path)
    close(model.predict(x, verbose=0), expected)
    assert "Embedding" in kinds(model)


@pytest.mark.parametrize("spec", STUDY, ids=lambda s: s.id)
def test_the_study_models_come_back_from_onnx_as_they_were(spec, tmp_path):
    model = build_model(spec.id)
    model.export(tmp_path / "m.onnx", format="onnx")
    back = load_onnx(tmp_path / "m.onnx")
    x = RNG.random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    # Layer for layer: the transposes around each convolution cancel; Dropout (an identity
    # in ONNX) is gone, the softmax its own layer; ReLUs are the layers' activations again.
    wanted = [k for k in kinds(model) if k != "Dropout"]
    assert [k for k in kinds(back) if k != "Softmax"] == ["InputLayer", *wanted]
    assert back.count_params() == model.count_params()


@pytest.mark.parametrize(
    "make",
    [
        exported.cnn,
        exported.graph,
        exported.sequence,
        exported.steps,
        exported.per_step,
        exported.upsampling,
        exported.tokens,
        exported.separable,
        exported.volumes,
        exported.resizing,
        exported.channels_first,
        exported.nested,
        exported.recurrent,
        exported.both_ways,
        exported.dot_attention,
        exported.transformer,
        exported.vision_tokens,
        exported.encoder_decoder,
    ],
)
def test_minicnn_exports_come_back(make, tmp_path):
    minicnn.set_random_seed(0)
    model = make()
    for layer in model.layers:  # statistics and biases off their starting values
        if type(layer).__name__ == "BatchNormalization":
            layer.moving_mean.data[...] = RNG.standard_normal(layer.moving_mean.shape)
            layer.moving_variance.data[...] = RNG.random(layer.moving_variance.shape) + 0.5
        for w in layer.weights:
            if w.name in ("bias", "beta", "gamma"):
                w.data[...] = RNG.standard_normal(w.shape) * 0.5
    x = RNG.random((2, *model.input_shape[1:])).astype(np.float32)
    if make in (exported.tokens, exported.transformer):
        x = RNG.integers(0, 11, x.shape).astype(np.float32)
    model.export(tmp_path / "m.onnx", format="onnx")
    back = load_onnx(tmp_path / "m.onnx")
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-5)


def test_what_minicnn_cannot_read_is_named(tmp_path):
    nodes = [node_proto("NonMaxSuppression", ["x", "x"], ["y"], "nms")]
    path = onnx_file(tmp_path / "n.onnx", nodes, {}, {"x": (None, 4, 4)}, {"y": (None,)})
    with pytest.raises(OnnxImportError, match=r"'nms' \(NonMaxSuppression\): minicnn has no"):
        load_onnx(path)
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x08\x3a\xff\xff")  # a graph field cut short
    with pytest.raises(OnnxFileError, match="not a well-formed ONNX file"):
        load_onnx(tmp_path / "bad.onnx")
    with pytest.raises(FileNotFoundError):
        load_onnx(tmp_path / "missing.onnx")


# --- graphs written here, for the corners PyTorch's files leave out -----------------------------


def onnx_file(path, nodes, constants, inputs, outputs, opset=13, extra_tensors=b""):
    graph = (
        b"".join(bytes_field(1, n) for n in nodes)
        + text_field(2, "handmade")
        + b"".join(bytes_field(5, tensor_proto(k, v)) for k, v in constants.items())
        + extra_tensors
        + b"".join(bytes_field(11, value_info_proto(k, s)) for k, s in inputs.items())
        + b"".join(bytes_field(12, value_info_proto(k, s)) for k, s in outputs.items())
    )
    opsets = bytes_field(8, text_field(1, "") + int_field(2, opset))
    document = int_field(1, 8) + bytes_field(7, graph) + opsets
    Path(path).write_bytes(document)
    return path


def conv_reference(x, w, b, pads):
    """A direct convolution (N, C, H, W), stride 1: the oracle of the handmade graphs."""
    x = np.pad(x, [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])])
    k = w.shape[2:]
    rows, cols = x.shape[2] - k[0] + 1, x.shape[3] - k[1] + 1
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, :, i : i + k[0], j : j + k[1]]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    return out


@pytest.mark.parametrize(
    "equation, weight_shape, result_shape",
    [
        ("bij,jk->bik", (4, 5), (3, 5)),  # x and a weight: a trainable EinsumDense
        ("...ij,jk->...ik", (4, 2), (3, 2)),  # the ellipsis holds the batch
        ("bij,jk", (4, 2), (3, 2)),  # implicit result: the letters seen once
        ("bij,bkj->bik", None, (3, 3)),  # two tensors: the einsum op
    ],
)
def test_einsum_as_pytorch_writes_it(tmp_path, equation, weight_shape, result_shape):
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    if weight_shape is None:
        inputs, constants, operands = ["x", "x"], {}, [x, x]
    else:
        w = RNG.standard_normal(weight_shape).astype(np.float32)
        inputs, constants, operands = ["x", "w"], {"w": w}, [x, w]
    nodes = [node_proto("Einsum", inputs, ["y"], "einsum", equation=equation)]
    shapes = {"x": (None, 3, 4)}, {"y": (None, *result_shape)}
    model = load_onnx(onnx_file(tmp_path / "e.onnx", nodes, constants, *shapes))
    close(model.predict(x, verbose=0), np.einsum(equation, *operands))
    if weight_shape is not None:
        (layer,) = [layer for layer in model.layers if type(layer).__name__ == "EinsumDense"]
        np.testing.assert_array_equal(layer.get_weights()[0], constants["w"])


def test_an_einsum_that_moves_the_batch_is_refused(tmp_path):
    nodes = [node_proto("Einsum", ["x"], ["y"], "einsum", equation="bij->jb")]
    path = onnx_file(tmp_path / "e.onnx", nodes, {}, {"x": (None, 3, 4)}, {"y": (4, None)})
    with pytest.raises(OnnxImportError, match="batch axis is not the first"):
        load_onnx(path)


@pytest.mark.parametrize(
    "op, reference",
    [
        ("ReduceL1", lambda x, a, k: np.abs(x).sum(a, keepdims=k)),
        ("ReduceL2", lambda x, a, k: np.sqrt((x**2).sum(a, keepdims=k))),  # F.normalize's
        ("ReduceSumSquare", lambda x, a, k: (x**2).sum(a, keepdims=k)),
        ("ReduceLogSum", lambda x, a, k: np.log(np.abs(x).sum(a, keepdims=k))),
        ("ReduceLogSumExp", lambda x, a, k: np.log(np.exp(x).sum(a, keepdims=k))),
    ],
)
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reductions_made_of_several_ops(tmp_path, op, reference, keepdims):
    nodes = [node_proto(op, ["x"], ["y"], "reduce", axes=[1, 3], keepdims=keepdims)]
    if op == "ReduceLogSum":  # of positive numbers
        nodes = [
            node_proto("Abs", ["x"], ["a"], "abs"),
            node_proto(op, ["a"], ["y"], "reduce", axes=[1, 3], keepdims=keepdims),
        ]
    out = (None, 1, 4, 1) if keepdims else (None, 4)
    model = load_onnx(onnx_file(tmp_path / "r.onnx", nodes, {}, {"x": (None, 3, 4, 5)}, {"y": out}))
    x = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    close(model.predict(x, verbose=0), reference(x, (1, 3), bool(keepdims)))


@pytest.mark.parametrize("exclusive, reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumulative_sums(tmp_path, exclusive, reverse):
    nodes = [
        node_proto("CumSum", ["x", "axis"], ["y"], "cumsum", exclusive=exclusive, reverse=reverse)
    ]
    constants = {"axis": np.array(-1, np.int64)}
    model = load_onnx(
        onnx_file(tmp_path / "c.onnx", nodes, constants, {"x": (None, 3, 5)}, {"y": (None, 3, 5)})
    )
    x = RNG.standard_normal((2, 3, 5)).astype(np.float32)
    flipped = x[..., ::-1] if reverse else x
    sums = np.cumsum(flipped, -1) - (flipped if exclusive else 0)
    close(model.predict(x, verbose=0), sums[..., ::-1] if reverse else sums)
    across = [node_proto("CumSum", ["x", "zero"], ["y"], "batch_sums")]
    path = onnx_file(
        tmp_path / "b.onnx",
        across,
        {"zero": np.array(0, np.int64)},
        {"x": (None, 3, 5)},
        {"y": (None, 3, 5)},
    )
    with pytest.raises(OnnxImportError, match="sums across the batch"):
        load_onnx(path)


def local_response_reference(x, size, alpha, beta, bias):
    """ONNX's LRN: x / (bias + alpha / size * sum of squares over the channels from
    c - floor((size - 1) / 2) to c + ceil((size - 1) / 2)) ** beta."""
    squares = x.astype(np.float64) ** 2
    sums = np.empty_like(squares)
    for c in range(x.shape[1]):
        first, last = max(0, c - (size - 1) // 2), c + size // 2
        sums[:, c] = squares[:, first : last + 1].sum(1)
    return x / (bias + alpha / size * sums) ** beta


@pytest.mark.parametrize("size", [5, 4, 1])
def test_local_response_normalization(tmp_path, size):
    """ONNX's LRN (AlexNet's and GoogLeNet's in the ONNX model zoo), odd and even windows."""
    nodes = [node_proto("LRN", ["x"], ["y"], "lrn", size=size, alpha=0.01, beta=0.75, bias=2.0)]
    shapes = {"x": (None, 7, 4, 5)}, {"y": (None, 7, 4, 5)}
    model = load_onnx(onnx_file(tmp_path / "l.onnx", nodes, {}, *shapes))
    x = (RNG.standard_normal((2, 7, 4, 5)) * 3).astype(np.float32)
    expected = local_response_reference(x, size, 0.01, 0.75, 2.0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-6, atol=1e-6)


def test_asymmetric_pads_and_reflect_padding(tmp_path):
    w = RNG.standard_normal((4, 2, 3, 2)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    pads = [2, 0, 1, 1]  # top, left, bottom, right: not Keras' 'same'
    nodes = [
        node_proto("Conv", ["x", "w", "b"], ["c"], "conv", pads=pads),
        node_proto("Pad", ["c", "p"], ["y"], "pad", mode="reflect"),
    ]
    spread = np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)
    path = onnx_file(
        tmp_path / "p.onnx",
        nodes,
        {"w": w, "b": b, "p": spread},
        {"x": (None, 2, 6, 5)},
        {"y": (None, 4, 10, 8)},
    )
    x = RNG.standard_normal((2, 2, 6, 5)).astype(np.float32)
    spread_out = [(0, 0), (0, 0), (1, 2), (2, 1)]
    expected = np.pad(conv_reference(x, w, b, pads), spread_out, mode="reflect")
    model = load_onnx(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    assert "ZeroPadding2D" in kinds(model)


def test_tensors_in_typed_fields_and_packed_attributes(tmp_path):
    # float_data (packed floats), double_data and int64_data instead of raw_data; ints
    # attributes packed, as other writers store them.
    w = RNG.standard_normal((3, 2)).astype(np.float64)
    doubles = text_field(8, "w") + int_field(1, 3) + int_field(1, 2) + int_field(2, 11)
    doubles += packed_doubles(10, w.ravel())
    perm = text_field(1, "perm") + bytes_field(8, b"\x00\x02\x01") + int_field(20, 7)
    nodes = [
        node_proto("MatMul", ["x", "w"], ["m"], "matmul"),
        node_proto("Unsqueeze", ["m", "axes"], ["u"], "unsqueeze"),
        node_proto("Transpose", ["u"], ["t"], "turn") + bytes_field(5, perm),
    ]
    path = onnx_file(
        tmp_path / "t.onnx",
        nodes,
        {"axes": np.array([1], np.int64)},
        {"x": (None, 3)},
        {"t": (None, 2, 1)},
        extra_tensors=bytes_field(5, doubles),
    )
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    expected = (x @ w)[:, None, :].transpose(0, 2, 1)
    np.testing.assert_allclose(load_onnx(path).predict(x, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize(
    "target, error",
    [
        ([3, -1, 4], r"node 'fold' \(Reshape\): it reshapes \(batch, 2, 3, 4\) to \(3, -1, 4\)"),
        ([-1, 3, 4], r"output 'y' is \(2\*batch, 3, 4\) in ONNX: the batch merged"),
    ],
)
def test_reshapes_that_cut_the_batch_or_end_folded_are_refused(tmp_path, target, error):
    nodes = [node_proto("Reshape", ["x", "s"], ["y"], "fold")]
    path = onnx_file(
        tmp_path / "r.onnx",
        nodes,
        {"s": np.array(target, np.int64)},
        {"x": (None, 2, 3, 4)},
        {"y": (None, 3, 4)},
    )
    with pytest.raises(OnnxImportError, match=error):
        load_onnx(path)


def test_split_and_reductions_along_the_channels(tmp_path):
    w = RNG.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    nodes = [
        node_proto("Conv", ["x", "w", "b"], ["c"], "conv", pads=[1, 1, 1, 1]),
        node_proto("Split", ["c", "parts"], ["first", "rest"], "split", axis=1),
        node_proto("ReduceSum", ["rest", "axes"], ["total"], "sum", keepdims=1),
        node_proto("Mul", ["first", "total"], ["y"], "product"),
    ]
    constants = {
        "w": w,
        "b": b,
        "parts": np.array([1, 3], np.int64),
        "axes": np.array([1], np.int64),
    }
    path = onnx_file(tmp_path / "s.onnx", nodes, constants, {"x": (None, 2, 5, 4)}, {"y": (None,)})
    x = RNG.standard_normal((2, 2, 5, 4)).astype(np.float32)
    c = conv_reference(x, w, b, [1, 1, 1, 1])
    expected = c[:, :1] * c[:, 1:].sum(axis=1, keepdims=True)
    model = load_onnx(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert "Permute" in kinds(model)  # in, and out at the end: the rest is channels-last
    assert kinds(model).count("Permute") == 2


def test_inputs_of_unknown_size_are_refused(tmp_path):
    nodes = [node_proto("Relu", ["x"], ["y"], "relu")]
    path = onnx_file(tmp_path / "d.onnx", nodes, {}, {"x": (None, 3, None)}, {"y": (None,)})
    with pytest.raises(OnnxImportError, match="need every axis but the batch fixed"):
        load_onnx(path)


def test_gemm_scales_and_dropout_kept_for_training(tmp_path):
    w = RNG.standard_normal((5, 3)).astype(np.float32)  # transB: (units, features)
    c = RNG.standard_normal(5).astype(np.float32)
    nodes = [
        node_proto("Gemm", ["x", "w", "c"], ["g"], "dense", alpha=0.5, beta=2.0, transB=1),
        node_proto("Dropout", ["g", "ratio"], ["d"], "dropout"),
        node_proto("Relu", ["d"], ["y"], "relu"),
    ]
    constants = {"w": w, "c": c, "ratio": np.array(0.3, np.float32)}
    path = onnx_file(tmp_path / "g.onnx", nodes, constants, {"x": (None, 3)}, {"y": (None, 5)})
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    model = load_onnx(path)
    expected = np.maximum(0.5 * x @ w.T + 2.0 * c, 0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    (dropout,) = [layer for layer in model.layers if isinstance(layer, L.Dropout)]
    assert dropout.rate == pytest.approx(0.3)


def test_a_time_major_graph_input_to_an_lstm_is_refused_by_name(tmp_path):
    w = np.zeros((1, 8, 3), np.float32)
    r = np.zeros((1, 8, 2), np.float32)
    nodes = [node_proto("LSTM", ["x", "w", "r"], ["y", "h"], "lstm", hidden_size=2)]
    path = onnx_file(
        tmp_path / "l.onnx", nodes, {"w": w, "r": r}, {"x": (None, 4, 3)}, {"h": (None,)}
    )
    with pytest.raises(OnnxImportError, match=r"'lstm' \(LSTM\): its input is time-major"):
        load_onnx(path)


@pytest.mark.parametrize("name", ["resnet", "recurrent", "edges", "extras", "resizes", "vit"])
def test_imported_models_run_on_each_device(name, device):
    path, x, expected = torch_file(name)
    model = load_onnx(path, device=device)
    close(model.predict(x, verbose=0), expected, tolerance=1e-5)
    model.compile("sgd", "mse")
    before = model.evaluate(x, expected, verbose=0)
    model.fit(x, expected, epochs=2, verbose=0)
    assert np.isfinite(model.evaluate(x, expected, verbose=0)) and np.isfinite(before)


def test_depth_to_space_and_back_as_onnx_defines_them(tmp_path):
    nodes = [
        node_proto("DepthToSpace", ["x"], ["up"], "up", blocksize=2, mode="DCR"),
        node_proto("SpaceToDepth", ["up"], ["y"], "down", blocksize=2),
        node_proto("DepthToSpace", ["x"], ["z"], "crd", blocksize=2, mode="CRD"),
    ]
    path = onnx_file(
        tmp_path / "d.onnx", nodes, {}, {"x": (None, 8, 3, 4)}, {"y": (None,), "z": (None,)}
    )
    x = RNG.standard_normal((2, 8, 3, 4)).astype(np.float32)
    y, z = load_onnx(path).predict(x, verbose=0)
    np.testing.assert_array_equal(y, x)  # SpaceToDepth undoes DepthToSpace (DCR)
    crd = x.reshape(2, 2, 2, 2, 3, 4).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 8)
    np.testing.assert_array_equal(z, crd)  # ONNX's definition of CRD


@st.composite
def image_models(draw):
    """A random CNN of the layers image classifiers are made of."""
    size = draw(st.integers(6, 12))
    blocks = [L.Input((size, size, draw(st.integers(1, 3))))]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "depthwise", "max", "average", "norm", "pad", "up"]))
        padding = draw(st.sampled_from(["same", "valid"]))
        strides = draw(st.integers(1, 2))
        if kind == "conv":
            activation = draw(st.sampled_from([None, "relu", "sigmoid", "tanh", "relu6"]))
            filters, kernel = draw(st.integers(1, 5)), draw(st.integers(1, 3))
            blocks.append(L.Conv2D(filters, kernel, strides, padding, activation=activation))
        elif kind == "depthwise":
            blocks.append(L.DepthwiseConv2D(draw(st.integers(1, 3)), strides, padding))
        elif kind in ("max", "average"):
            pooling = L.MaxPooling2D if kind == "max" else L.AveragePooling2D
            blocks.append(pooling(draw(st.integers(1, 3)), strides, padding))
        elif kind == "norm":
            blocks.append(L.BatchNormalization())
        elif kind == "pad":
            blocks.append(L.ZeroPadding2D(((1, 0), (0, 2))))
        else:
            blocks.append(
                L.UpSampling2D(2, interpolation=draw(st.sampled_from(["nearest", "bilinear"])))
            )
    blocks.append(draw(st.sampled_from([L.Flatten(), L.GlobalAveragePooling2D()])))
    blocks.append(L.Dense(3, activation=draw(st.sampled_from([None, "softmax", "relu"]))))
    return blocks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_models(), st.integers(0, 2**16))
def test_random_cnns_come_back_from_onnx_with_their_predictions(blocks, seed):
    try:
        model = minicnn.Sequential(blocks)
    except ValueError:  # the image shrank to nothing: not a model
        assume(False)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        # Weights, biases and statistics off their starting values (scales and variances,
        # which start at one, stay positive).
        arrays = [
            rng.random(w.shape) + 0.5 if np.all(w == 1) else rng.standard_normal(w.shape) * 0.5
            for w in layer.get_weights()
        ]
        layer.set_weights([a.astype(np.float32) for a in arrays])
    x = rng.standard_normal((2, *model.input_shape[1:])).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        model.export(Path(folder) / "m.onnx", format="onnx")
        back = load_onnx(Path(folder) / "m.onnx")
    expected = model.predict(x, verbose=0)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_models_of_several_inputs_and_outputs(tmp_path):
    w = RNG.standard_normal((4, 3)).astype(np.float32)
    nodes = [
        node_proto("MatMul", ["a", "w"], ["m"], "dense"),
        node_proto("Add", ["m", "b"], ["sum"], "sum"),
        node_proto("Sigmoid", ["sum"], ["gate"], "gate"),
    ]
    path = onnx_file(
        tmp_path / "two.onnx",
        nodes,
        {"w": w},
        {"a": (None, 4), "b": (None, 3)},
        {"sum": (None, 3), "gate": (None, 3)},
    )
    model = load_onnx(path)
    assert model.input_shape == [(None, 4), (None, 3)]
    a, b = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 3))
    total, gate = model.predict([a.astype(np.float32), b.astype(np.float32)], verbose=0)
    np.testing.assert_allclose(total, a @ w + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gate, 1 / (1 + np.exp(-(a @ w + b))), rtol=1e-5, atol=1e-6)


def test_gemm_of_two_computed_tensors_and_a_refused_transA(tmp_path):
    nodes = [
        node_proto("MatMul", ["a", "w"], ["m"], "project"),  # (batch, 3) -> (batch, 4)
        node_proto("Unsqueeze", ["m", "one"], ["col"], "as_column"),  # (batch, 4, 1)
        node_proto("Unsqueeze", ["a", "one"], ["a3"], "a_column"),  # (batch, 3, 1)
        node_proto("Transpose", ["a3"], ["row"], "as_row", perm=[0, 2, 1]),  # (batch, 1, 3)
        node_proto("MatMul", ["col", "row"], ["outer"], "outer"),  # (batch, 4, 3)
    ]
    w = RNG.standard_normal((3, 4)).astype(np.float32)
    constants = {"w": w, "one": np.array([2], np.int64)}
    path = onnx_file(tmp_path / "o.onnx", nodes, constants, {"a": (None, 3)}, {"outer": (None,)})
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    expected = np.einsum("ni,nj->nij", a @ w, a)
    np.testing.assert_allclose(load_onnx(path).predict(a, verbose=0), expected, atol=1e-5)
    nodes = [node_proto("Gemm", ["a", "w"], ["y"], "gemm", transA=1)]
    path = onnx_file(tmp_path / "t.onnx", nodes, {"w": w}, {"a": (None, 3)}, {"y": (None,)})
    with pytest.raises(OnnxImportError, match=r"'gemm' \(Gemm\): transA"):
        load_onnx(path)


@pytest.mark.parametrize(
    "name", ["classifier", "resnet", "edges", "extras", "resizes", "vit", "recurrent", "lookup"]
)
def test_imported_models_go_on_to_keras_files(name, tmp_path):
    """PyTorch -> ONNX -> minicnn -> Keras 3's .keras archive (ops.pad's padding as Keras'
    Pad op, constant_values in its call): read back, it predicts what PyTorch did. Keras
    3.15 itself (JAX) read these files to the same figures (README's ONNX section)."""
    path, x, expected = torch_file(name)
    load_onnx(path).export(tmp_path / "m.keras", format="keras")
    close(minicnn.load_model(tmp_path / "m.keras").predict(x, verbose=0), expected, 2e-6)


def test_the_converter_takes_a_pytorch_model_to_keras_and_back(tmp_path, capsys):
    from minicnn.convert import main

    path, x, expected = torch_file("resnet")
    assert main([str(path), str(tmp_path / "resnet.keras")]) == 0
    assert "wrote" in capsys.readouterr().out
    keras_file = minicnn.load_model(tmp_path / "resnet.keras")
    close(keras_file.predict(x, verbose=0), expected)
    # Keras 3's archive on to ONNX and to minicnn's own file, channels-last all the way.
    assert main([str(tmp_path / "resnet.keras"), str(tmp_path / "again.onnx"), "--quiet"]) == 0
    assert main([str(tmp_path / "again.onnx"), str(tmp_path / "own.npz"), "--quiet"]) == 0
    images = np.moveaxis(x, 1, -1)
    close(load_onnx(tmp_path / "again.onnx").predict(x, verbose=0), expected)
    close(minicnn.load_model(tmp_path / "own.npz").predict(x, verbose=0), expected)
    assert images.shape[-1] == 3
    assert main([str(tmp_path / "missing.onnx"), str(tmp_path / "x.keras")]) == 2
    assert "convert:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    [
        "classifier",
        "resnet",
        "edges",
        "extras",
        "resizes",
        "vit",
        "lookup",
        "blocks",
        "keras_cnn",
        "recurrent",
    ],
)
def test_imported_models_export_to_onnx_again(name, tmp_path):
    """What load_onnx reads, export(format="onnx") writes again, its op layers (padding,
    slices, reductions, products) as ONNX operators: read back, it predicts what the first
    framework did. ONNX Runtime 1.32 ran these files (onnx.checker's full check passed) to
    the same figures."""
    path, x, expected = torch_file(name)
    load_onnx(path).export(tmp_path / "again.onnx", format="onnx")
    close(load_onnx(tmp_path / "again.onnx").predict(x, verbose=0), expected, 2e-6)


def test_patches_flattened_from_a_convolution_cost_no_transpose(tmp_path):
    """ViT's patch embedding: conv, flatten(2), transpose(1, 2), a dense layer. The
    reshape merges height and width, which lie together in the channels-last tensor: it
    is done there, and the transpose back to (batch, patches, channels) only relabels."""
    w = RNG.standard_normal((4, 3, 2, 2)).astype(np.float32)
    dense = RNG.standard_normal((4, 5)).astype(np.float32)
    nodes = [
        node_proto("Conv", ["x", "w"], ["c"], "patch", strides=[2, 2]),
        node_proto("Reshape", ["c", "shape"], ["flat"], "flatten2"),
        node_proto("Transpose", ["flat"], ["tokens"], "turn", perm=[0, 2, 1]),
        node_proto("MatMul", ["tokens", "dense"], ["y"], "dense"),
    ]
    constants = {"w": w, "dense": dense, "shape": np.array([0, 4, -1], np.int64)}
    path = onnx_file(tmp_path / "p.onnx", nodes, constants, {"x": (None, 3, 6, 8)}, {"y": (None,)})
    x = RNG.standard_normal((2, 3, 6, 8)).astype(np.float32)
    patches = x.reshape(2, 3, 3, 2, 4, 2).transpose(0, 2, 4, 1, 3, 5).reshape(2, 12, 12)
    expected = patches @ w.reshape(4, 12).T @ dense
    model = load_onnx(path, channels_last=True)
    np.testing.assert_allclose(model.predict(np.moveaxis(x, 1, -1), verbose=0), expected, atol=1e-4)
    assert "Permute" not in kinds(model)


def test_input_shape_fixes_the_sizes_a_file_leaves_open(tmp_path):
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes = [
        node_proto("Conv", ["x", "w"], ["c"], "conv", pads=[1, 1, 1, 1]),
        node_proto("GlobalAveragePool", ["c"], ["p"], "pool"),
        node_proto("Flatten", ["p"], ["y"], "flat"),
    ]
    path = onnx_file(
        tmp_path / "d.onnx", nodes, {"w": w}, {"x": (None, 3, None, None)}, {"y": (None,)}
    )
    with pytest.raises(OnnxImportError, match="give them as load_onnx's input_shape"):
        load_onnx(path)
    with pytest.raises(OnnxImportError, match=r"input_shape \(4, 8, 8\) does not fit input 'x'"):
        load_onnx(path, input_shape=(4, 8, 8))
    x = RNG.standard_normal((2, 3, 8, 6)).astype(np.float32)
    expected = conv_reference(x, w, np.zeros(4), [1, 1, 1, 1]).mean(axis=(2, 3))
    model = load_onnx(path, input_shape=(3, 8, 6))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    model = load_onnx(path, input_shape={"x": (3, 8, 6)}, channels_last=True)
    assert model.input_shape == (None, 8, 6, 3)


def test_the_converter_fixes_open_sizes_and_refuses_bad_ones(tmp_path, capsys):
    from minicnn.convert import main

    w = RNG.standard_normal((2, 3, 1, 1)).astype(np.float32)
    nodes = [node_proto("Conv", ["x", "w"], ["y"], "conv")]
    path = onnx_file(
        tmp_path / "d.onnx", nodes, {"w": w}, {"x": (None, 3, None, None)}, {"y": (None,)}
    )
    target = tmp_path / "d.keras"
    assert main([str(path), str(target), "--quiet"]) == 2
    assert "input_shape" in capsys.readouterr().err
    assert main([str(path), str(target), "--quiet", "--input-shape", "3,4,5"]) == 0
    assert minicnn.load_model(target).input_shape == (None, 3, 4, 5)
    assert main([str(path), str(target), "--input-shape", "3x4"]) == 2
    assert "--input-shape takes sizes such as 3,256,256" in capsys.readouterr().err


def test_gather_nd_by_one_axis(tmp_path):
    """GatherND with indices (..., 1), as PyTorch's dynamo exporter writes some resizes: a
    Gather along the first axis (here time, of a time-major sequence)."""
    nodes = [
        node_proto("Transpose", ["x"], ["t"], "steps_first", perm=[1, 0, 2]),
        node_proto("GatherND", ["t", "picks"], ["g"], "picked"),
        node_proto("Transpose", ["g"], ["y"], "batch_first", perm=[1, 0, 2]),
    ]
    picks = np.array([[2], [0], [3], [3]], np.int64)
    path = onnx_file(tmp_path / "g.onnx", nodes, {"picks": picks}, {"x": (None, 4, 3)}, {"y": ()})
    x = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    np.testing.assert_array_equal(load_onnx(path).predict(x, verbose=0), x[:, [2, 0, 3, 3]])
    wide = {"picks": np.array([[2, 1]], np.int64)}
    path = onnx_file(tmp_path / "w.onnx", nodes[1:2], wide, {"t": (None, 4, 3)}, {"g": ()})
    with pytest.raises(OnnxImportError, match="by several axes at once"):
        load_onnx(path)


def test_max_and_min_with_a_constant(tmp_path):
    """Max and Min of a tensor and a constant (PyTorch's clamp(min=1) of a count): op
    layers, as TensorArithmetic has no maximum."""
    nodes = [
        node_proto("Max", ["x", "one"], ["m"], "at_least"),
        node_proto("Min", ["m", "three"], ["y"], "at_most"),
    ]
    constants = {"one": np.float32(1.0), "three": np.full(4, 3.0, np.float32)}
    path = onnx_file(tmp_path / "m.onnx", nodes, constants, {"x": (None, 4)}, {"y": (None, 4)})
    x = RNG.standard_normal((5, 4)).astype(np.float32) * 4
    np.testing.assert_array_equal(load_onnx(path).predict(x, verbose=0), np.clip(x, 1, 3))
