"""``load_onnx`` on values the same for every sample (``minicnn.onnx_fills``): zeros as many
as the batch and what constants make of them, computed at import; an RNN that PyTorch's
dynamo exporter unrolls (tests/onnx_files, made by make_torch_files.py); handmade graphs."""

import numpy as np
import pytest
from test_onnx_import import FILES, close, kinds, onnx_file, torch_file

import minicnn
from minicnn.onnx_export import node_proto
from minicnn.onnx_fills import Fill, _as_fill, _with_batch
from minicnn.onnx_import import OnnxImportError, load_onnx
from minicnn.onnx_values import BATCH

RNG = np.random.default_rng(17)


def test_a_result_is_a_fill_only_where_the_batch_stays_one_axis():
    sample = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    fill = Fill(sample, 0)
    assert fill.shape() == (BATCH, 2, 3)
    assert fill.for_batch(2).shape == (2, 2, 3)
    found = _as_fill(sample.transpose(1, 0, 2), fill.for_batch(2).transpose(1, 0, 2))
    assert found is not None and found.axis == 1
    assert _as_fill(sample, fill.for_batch(2) + 1) is None  # samples that differ
    assert _as_fill(sample.reshape(1, 6), fill.for_batch(2).reshape(1, 12)) is None  # merged
    assert _as_fill(sample, sample) is None  # no batch axis left
    # Shape arithmetic: the batch size in, its multiples (the batch merged) refused.
    np.testing.assert_array_equal(_with_batch(np.array([BATCH, 4]), 2), [2, 4])
    assert _with_batch(np.array([BATCH * 3, 4]), 2) is None
    assert _with_batch(np.array([1.5, 2.0], np.float32), 2).dtype == np.float32


def zeros_of_the_batch(shape_tail: list[int]) -> tuple[list[bytes], dict[str, np.ndarray]]:
    """Nodes making zeros of shape (batch, *shape_tail) from input x, as PyTorch writes them."""
    nodes = [
        node_proto("Shape", ["x"], ["shape"], "shape"),
        node_proto("Slice", ["shape", "zero", "one"], ["batch"], "batch"),
        node_proto("Concat", ["batch", "tail"], ["size"], "size", axis=0),
        node_proto("ConstantOfShape", ["size"], ["zeros"], "zeros"),
    ]
    constants = {
        "zero": np.array([0], np.int64),
        "one": np.array([1], np.int64),
        "tail": np.array(shape_tail, np.int64),
    }
    return nodes, constants


def test_fills_computed_at_import_meet_tensors_as_constants(tmp_path):
    """zeros(batch, 3) + 1.5, Unsqueezed, times 2: one sample of it is computed at import and
    added to x (batch, 4, 3) as a constant; no layer but the addition's."""
    nodes, constants = zeros_of_the_batch([3])
    nodes += [
        node_proto("Add", ["zeros", "half"], ["filled"], "filled"),
        node_proto("Unsqueeze", ["filled", "axis1"], ["wide"], "wide"),
        node_proto("Mul", ["wide", "two"], ["doubled"], "doubled"),
        node_proto("Add", ["x", "doubled"], ["y"], "y"),
    ]
    constants |= {
        "half": np.array(1.5, np.float32),
        "two": np.array(2.0, np.float32),
        "axis1": np.array([1], np.int64),
    }
    shapes = {"x": (None, 4, 3)}, {"y": (None, 4, 3)}
    path = onnx_file(tmp_path / "f.onnx", nodes, constants, *shapes)
    model = load_onnx(path)
    x = RNG.standard_normal((5, 4, 3)).astype(np.float32)
    close(model.predict(x, verbose=0), x + 3.0)
    assert kinds(model) == ["InputLayer", "TensorArithmetic"]


def test_a_fill_times_a_matrix_is_learned_as_a_dense_layer(tmp_path):
    """(zeros(batch, 3) + 1.5) @ w + x[:, 0]: the matrix is a weight its Dense learns (the
    fill made a tensor first), not a constant computed at import."""
    nodes, constants = zeros_of_the_batch([3])
    w = RNG.standard_normal((3, 3)).astype(np.float32)
    nodes += [
        node_proto("Add", ["zeros", "half"], ["filled"], "filled"),
        node_proto("MatMul", ["filled", "w"], ["product"], "product"),
        node_proto("Add", ["x", "product"], ["y"], "y"),
    ]
    constants |= {"half": np.array(1.5, np.float32), "w": w}
    path = onnx_file(tmp_path / "m.onnx", nodes, constants, {"x": (None, 3)}, {"y": (None, 3)})
    model = load_onnx(path)
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    close(model.predict(x, verbose=0), x + np.full((1, 3), 1.5, np.float32) @ w)
    (dense,) = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    np.testing.assert_array_equal(dense.get_weights()[0], w)


def test_a_fill_that_an_op_needs_as_a_tensor_is_made_one(tmp_path):
    """Concat of x with ones as many as the batch: the fill is made a tensor from x's batch."""
    nodes, constants = zeros_of_the_batch([2])
    nodes += [
        node_proto("Add", ["zeros", "one_f"], ["ones"], "ones"),
        node_proto("Concat", ["x", "ones"], ["y"], "y", axis=1),
    ]
    constants["one_f"] = np.array(1.0, np.float32)
    path = onnx_file(tmp_path / "c.onnx", nodes, constants, {"x": (None, 3)}, {"y": (None, 5)})
    model = load_onnx(path)
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    close(model.predict(x, verbose=0), np.concatenate([x, np.ones((4, 2), np.float32)], 1))
    assert kinds(model).count("Concatenate") == 1


def test_a_fill_merged_with_its_batch_is_refused(tmp_path):
    """Fills joined along the batch axis are no longer one axis of the batch: refused."""
    nodes, constants = zeros_of_the_batch([3])
    nodes += [
        node_proto("Concat", ["zeros", "zeros"], ["twice"], "twice", axis=0),
        node_proto("Add", ["x", "twice"], ["y"], "y"),
    ]
    path = onnx_file(tmp_path / "r.onnx", nodes, constants, {"x": (None, 3)}, {"y": (None, 3)})
    with pytest.raises(OnnxImportError, match="node 'twice'"):
        load_onnx(path)


@pytest.mark.parametrize("name", ["rnn_unrolled", "rnn_unrolled_traced"])
def test_an_rnn_the_dynamo_exporter_unrolls_predicts_as_pytorch(name):
    path, x, expected = torch_file(name)
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    close(model.predict(np.concatenate([x, x[:1]]), verbose=0), expected[[0, 1, 2, 0]])
    data = np.load(FILES / f"{name}.npz")
    if "x_more" in data:
        close(model.predict(data["x_more"], verbose=0), data["expected_more"])


def test_an_unrolled_rnn_trains_as_one_rnn():
    """Each step's recurrent product is one Dense, called once per step, the zero state's
    step among them: after training, the model still computes the RNN of its (trained)
    weights, the first step's recurrent bias included."""
    minicnn.clear_session()
    path, x, expected = torch_file("rnn_unrolled")
    model = load_onnx(path)
    dense = {
        layer.get_weights()[0].shape: layer
        for layer in model.layers
        if type(layer).__name__ == "Dense"
    }
    assert sorted(dense) == [(3, 2), (3, 3), (5, 3)]
    recurrent = dense[(3, 3)]
    steps = x.shape[1]
    assert sum(layer is recurrent for layer, _ in model._nodes()) == steps
    sequences = RNG.standard_normal((48, *x.shape[1:])).astype(np.float32)
    targets = RNG.standard_normal((48, expected.shape[1])).astype(np.float32)
    model.compile(minicnn.optimizers.SGD(0.1), "mse")
    history = model.fit(sequences, targets, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    (w_ih, b_ih), (w_hh, b_hh), (w_fc, b_fc) = (
        dense[k].get_weights() for k in [(5, 3), (3, 3), (3, 2)]
    )
    h = np.zeros((len(sequences), 3), np.float32)
    for t in range(steps):
        h = np.tanh(sequences[:, t] @ w_ih + b_ih + h @ w_hh + b_hh)
    close(model.predict(sequences, verbose=0), h @ w_fc + b_fc, tolerance=1e-5)


def test_a_dense_layer_takes_a_tensor_whose_batch_is_not_first(tmp_path):
    """An RNN's computed initial state, h0.unsqueeze(0) @ w ((1, batch, 3) in ONNX): the
    product is a Dense on the features, the batch kept first where it is held."""
    w = RNG.standard_normal((3, 4)).astype(np.float32)
    nodes = [
        node_proto("Unsqueeze", ["x", "axis0"], ["layered"], "layered"),
        node_proto("MatMul", ["layered", "w"], ["product"], "product"),
        node_proto("Squeeze", ["product", "axis0"], ["y"], "y"),
    ]
    constants = {"axis0": np.array([0], np.int64), "w": w}
    path = onnx_file(tmp_path / "d.onnx", nodes, constants, {"x": (None, 3)}, {"y": (None, 4)})
    model = load_onnx(path)
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    close(model.predict(x, verbose=0), x @ w)
    assert kinds(model).count("Dense") == 1


def test_a_cast_of_a_mask_moved_by_a_reshape_is_kept():
    """PyTorch's (~mask).unsqueeze(-1).float(): the Cast reads a Reshape of a bool tensor,
    whose type the reshape does not hide, so the mask is cast before it multiplies floats
    (TensorFlow's Keras, reading the model's Keras 2 file, needs the types to agree)."""
    from minicnn.onnx_import import _dtype_of

    path, x, expected = torch_file("padding_mask")
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    for layer in model.layers:
        if type(layer).__name__ == "TensorArithmetic":
            inputs = layer.input if isinstance(layer.input, list) else [layer.input]
            assert all(_dtype_of(t) in (None, "float32") for t in inputs), layer.name
