"""``load_onnx`` on quantized models: files that ONNX Runtime's ``quantize_static`` (QDQ and
QOperator formats) and ``quantize_dynamic`` wrote from PyTorch exports (tests/onnx_files,
made by make_quantized_files.py; ONNX Runtime's own outputs are the oracle) and handmade
graphs."""

import numpy as np
import pytest
from test_onnx_import import FILES, kinds, onnx_file

import minicnn
from minicnn import ops
from minicnn.autograd import Tensor
from minicnn.onnx_export import node_proto
from minicnn.onnx_import import OnnxImportError, load_onnx
from minicnn.onnx_quantized import fold_dequantize, fold_quantize
from minicnn.onnx_reading import Node, read_onnx
from minicnn.protobuf import bytes_field, int_field, text_field

RNG = np.random.default_rng(23)


@pytest.mark.parametrize(
    "name", ["classifier_qdq", "transformer_qdq", "classifier_qop", "transformer_qop"]
)
def test_quantized_models_predict_as_onnx_runtime(name):
    """Each QuantizeLinear -> DequantizeLinear pair rounds and saturates as ONNX does, and
    the QOperator format's integer ops (QLinearConv, QLinearMatMul, QGemm, QLinearAdd,
    QLinearMul, QLinearSoftmax, QLinearAveragePool, MaxPool of integers) are written so:
    the outputs are ONNX Runtime's, but where float sums that land on a rounding tie break
    it the other way (the QDQ CNN's average pool of four), by one step of the output's
    quantization."""
    data = np.load(FILES / f"{name}.npz")
    model = load_onnx(FILES / f"{name}.onnx")
    got = model.predict(data["x"], verbose=0)
    step = float(data["step"])
    assert np.abs(got - data["expected"]).max() <= step * 1.01
    assert np.mean(np.abs(got - data["expected"]) < 1e-5) >= 0.75
    # Quantized, not the float model: its outputs are farther off than a step.
    assert np.abs(got - data["float_expected"]).max() > 2 * step


def test_quantized_weights_are_dequantized_at_import():
    """The convolutions' kernels are the file's int8 weights times their per-channel scales
    (zero points 0), computed once: no layer dequantizes them."""
    graph = read_onnx(FILES / "classifier_qdq.onnx")
    model = load_onnx(FILES / "classifier_qdq.onnx")
    constants = graph.constants
    kernels = [
        fold_dequantize(None, node, [constants.get(i) for i in node.inputs])[0]
        for node in graph.nodes
        if node.op == "DequantizeLinear"
        and node.inputs[0] in constants
        and np.ndim(constants[node.inputs[0]]) == 4
    ]
    convolutions = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert len(kernels) == len(convolutions) == 2
    by_shape = {kernel.transpose(2, 3, 1, 0).shape: kernel for kernel in kernels}
    for layer in convolutions:
        held = layer.get_weights()[0]  # (h, w, in, out)
        np.testing.assert_array_equal(held, by_shape[held.shape].transpose(2, 3, 1, 0))


def test_quantize_folds_as_onnx_defines_it():
    x = np.array([-70.0, -1.25, -0.25, 0.25, 0.75, 1.25, 62.0, 90.0], np.float32)
    node = Node("QuantizeLinear", ["x", "s", "z"], ["q"], "q", {}, "")
    q = fold_quantize(None, node, [x, np.float32(0.5), np.int8(3)])[0]
    assert q.dtype == np.int8
    # x / s: -140, -2.5, -0.5, 0.5, 1.5, 2.5, 124, 180: halves to even, then saturated
    np.testing.assert_array_equal(q, [-128, 1, 3, 3, 5, 5, 127, 127])
    back = fold_dequantize(None, node, [q, np.float32(0.5), np.int8(3)])[0]
    np.testing.assert_array_equal(back, (q.astype(np.float32) - 3) * 0.5)
    q = fold_quantize(None, node, [x, np.float32(0.5)])[0]  # no zero point: uint8, 0
    assert q.dtype == np.uint8 and q.min() == 0 and q.max() == 180
    with pytest.raises(OnnxImportError, match="'q'.*zero point of type int64"):
        fold_quantize(None, node, [x, np.float32(0.5), np.int64(3)])
    blocked = Node("DequantizeLinear", ["q", "s"], ["y"], "blocks", {"block_size": 32}, "")
    with pytest.raises(OnnxImportError, match="'blocks'.*block_size"):
        fold_dequantize(None, blocked, [q, np.float32(0.5)])


def uint8_tensor(name: str, values: np.ndarray) -> bytes:
    """An initializer of ONNX's type uint8 (2), raw bytes (onnx_export writes int64s)."""
    values = np.ascontiguousarray(values, np.uint8)
    dims = b"".join(int_field(1, d) for d in values.shape)
    return bytes_field(
        5, dims + int_field(2, 2) + text_field(8, name) + bytes_field(9, values.tobytes())
    )


def fake_quantization_file(path, scale, zero_point):
    nodes = [
        node_proto("QuantizeLinear", ["x", "s", "z"], ["q"], "quantize"),
        node_proto("DequantizeLinear", ["q", "s", "z"], ["y"], "dequantize"),
    ]
    shapes = {"x": (None, 6)}, {"y": (None, 6)}
    zero = uint8_tensor("z", np.asarray(zero_point))
    return onnx_file(path, nodes, {"s": np.float32(scale)}, *shapes, extra_tensors=zero)


def test_fake_quantization_is_exact_forward_and_straight_through_backward(tmp_path):
    """Forward, dequantize(quantize(x)); backward, the gradient of the clipping alone, 1
    inside the integers' range and 0 outside (quantization-aware training's estimator)."""
    model = load_onnx(fake_quantization_file(tmp_path / "f.onnx", 0.1, 128))
    x = (RNG.standard_normal((50, 6)) * 8).astype(np.float32)
    expected = (np.clip(np.round(x / np.float32(0.1)) + 128, 0, 255) - 128) * np.float32(0.1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
    given = Tensor(x, requires_grad=True)
    ops.sum(model(given)).backward()
    inside = (x >= -12.8) & (x <= 12.7)
    assert 0 < inside.mean() < 1
    np.testing.assert_array_equal(given.grad, inside.astype(np.float32))
    assert "Conv2D" not in kinds(model)


def test_a_qlinear_matmul_is_its_integers_product_requantized(tmp_path):
    """QLinearMatMul(a, b) with uint8 a and b: dequantized, multiplied, quantized again with
    the output's scale and zero point (what the integer kernel computes)."""
    w = RNG.integers(0, 256, (6, 4)).astype(np.uint8)
    nodes = [
        node_proto("QuantizeLinear", ["x", "s", "z"], ["q"], "quantize"),
        node_proto("QLinearMatMul", ["q", "s", "z", "w", "ws", "z", "ys", "z"], ["m"], "mm"),
        node_proto("DequantizeLinear", ["m", "ys", "z"], ["y"], "dequantize"),
    ]
    constants = {"s": np.float32(0.05), "ws": np.float32(0.02), "ys": np.float32(0.25)}
    shapes = {"x": (None, 6)}, {"y": (None, 4)}
    raw = uint8_tensor("z", np.asarray(128)) + uint8_tensor("w", w)
    path = onnx_file(tmp_path / "q.onnx", nodes, constants, *shapes, extra_tensors=raw)
    model = load_onnx(path)
    x = RNG.standard_normal((20, 6)).astype(np.float32)
    a = (np.clip(np.round(x / np.float32(0.05)) + 128, 0, 255) - 128) * np.float32(0.05)
    product = a @ ((w.astype(np.float32) - 128) * np.float32(0.02))
    expected = (np.clip(np.round(product / np.float32(0.25)) + 128, 0, 255) - 128) * 0.25
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
    assert kinds(model).count("Dense") == 1  # the dequantized weights, learnable


def test_a_quantized_model_trains_as_quantization_aware_training():
    """Fine-tuning the imported int8 classifier: the straight-through gradient reaches
    every layer, and the loss falls."""
    data = np.load(FILES / "classifier_qdq.npz")
    model = load_onnx(FILES / "classifier_qdq.onnx")
    first = next(layer for layer in model.layers if type(layer).__name__ == "Conv2D")
    before = first.get_weights()[0].copy()
    x = RNG.standard_normal((64, *data["x"].shape[1:])).astype(np.float32)
    labels = RNG.integers(0, data["expected"].shape[1], 64)
    loss = minicnn.losses.SparseCategoricalCrossentropy(from_logits=True)  # fc2's logits
    model.compile("adam", loss)
    history = model.fit(x, labels, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.array_equal(first.get_weights()[0], before)


def test_a_quantized_model_exports_to_onnx_and_keras_2_again(tmp_path):
    """Its fake quantizations are op layers (clip, round, stop_gradient: Identity in ONNX,
    tf.stop_gradient in Keras 2), so the imported model goes on to other formats (ONNX
    Runtime and TensorFlow 2.15 ran the test files' models so, with the same outputs)."""
    data = np.load(FILES / "classifier_qop.npz")
    model = load_onnx(FILES / "classifier_qop.onnx")
    expected = model.predict(data["x"], verbose=0)
    model.export(tmp_path / "again.onnx", format="onnx")
    np.testing.assert_array_equal(
        load_onnx(tmp_path / "again.onnx").predict(data["x"], verbose=0), expected
    )
    model.save(tmp_path / "again.h5")
    np.testing.assert_array_equal(
        minicnn.load_model(tmp_path / "again.h5").predict(data["x"], verbose=0), expected
    )


# --- dynamic quantization (ONNX Runtime's quantize_dynamic) --------------------------------


def dynamic_reference(x: np.ndarray) -> np.ndarray:
    """ONNX's DynamicQuantizeLinear then DequantizeLinear, written out: uint8 over the
    range of the whole tensor widened to hold 0."""
    low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = np.float32((high - low) / 255.0)
    if scale == 0:
        return np.zeros_like(x)
    zero = np.clip(np.round(-low / scale), 0, 255)
    return ((np.clip(np.round(x / scale) + zero, 0, 255) - zero) * scale).astype(np.float32)


@pytest.mark.parametrize(
    "name", ["classifier_dynamic", "classifier_dynamic_fused", "transformer_dynamic"]
)
def test_dynamically_quantized_models_predict_as_onnx_runtime(name):
    """quantize_dynamic's files (ConvInteger and MatMulInteger, each input quantized with the
    scale of its range as the model runs; the fused file as ONNX Runtime's optimizer saves
    it, with DynamicQuantizeMatMul) give ONNX Runtime's outputs to float32's rounding of
    the integer sums, and not the float model's."""
    data = np.load(FILES / f"{name}.npz")
    model = load_onnx(FILES / f"{name}.onnx")
    got = model.predict(data["x"], verbose=0)
    expected = data["expected"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())
    assert np.abs(got - data["float_expected"]).max() > 1e-2 * np.abs(expected).max()
    assert "Dense" in kinds(model)  # the dequantized weights, learnable


def int8_tensor(name: str, values: np.ndarray) -> bytes:
    """An initializer of ONNX's type int8 (3), raw bytes."""
    values = np.ascontiguousarray(values, np.int8)
    dims = b"".join(int_field(1, d) for d in values.shape)
    return bytes_field(
        5, dims + int_field(2, 3) + text_field(8, name) + bytes_field(9, values.tobytes())
    )


def microsoft(node: bytes) -> bytes:
    """A node of ONNX Runtime's own domain."""
    return node + text_field(7, "com.microsoft")


def test_matmul_integer_to_float_with_a_dynamically_quantized_input(tmp_path):
    """ONNX Runtime's fusion MatMulIntegerToFloat (integers, their scales and zero points,
    a bias) after a DynamicQuantizeLinear: the input's fake quantization over the whole
    batch's range, the weights dequantized per column at import."""
    w = RNG.integers(-128, 128, (6, 4))
    w_zero = RNG.integers(-3, 4, 4)
    w_scale = np.float32([0.01, 0.02, 0.03, 0.04])
    bias = RNG.standard_normal(4).astype(np.float32)
    nodes = [
        node_proto("DynamicQuantizeLinear", ["x"], ["q", "s", "z"], "dynamic"),
        microsoft(
            node_proto("MatMulIntegerToFloat", ["q", "w", "s", "ws", "z", "wz", "b"], ["y"], "mm")
        ),
    ]
    constants = {"ws": w_scale, "b": bias}
    raw = int8_tensor("w", w) + int8_tensor("wz", w_zero)
    shapes = {"x": (None, 6)}, {"y": (None, 4)}
    path = onnx_file(tmp_path / "d.onnx", nodes, constants, *shapes, extra_tensors=raw)
    model = load_onnx(path)
    x = (RNG.standard_normal((20, 6)) * 3 + 1).astype(np.float32)
    weights = (w - w_zero) * w_scale
    expected = dynamic_reference(x) @ weights + bias
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert np.abs(got - (x @ weights + bias)).max() > 1e-3  # quantized, not the float product
    zeros = np.zeros((3, 6), np.float32)  # a range of 0: every integer the zero point
    np.testing.assert_allclose(model.predict(zeros, verbose=0), np.tile(bias, (3, 1)), atol=1e-6)


def test_the_range_of_a_dynamic_quantization_is_the_whole_batchs():
    """As ONNX Runtime computes it: one sample's outputs depend on the batch it comes in
    (a large value elsewhere coarsens every sample's steps)."""
    model = load_onnx(FILES / "classifier_dynamic.onnx")
    data = np.load(FILES / "classifier_dynamic.npz")
    alone = model.predict(data["x"][:1], verbose=0)
    loud = data["x"][:2].copy()
    loud[1] *= 50
    together = model.predict(loud, verbose=0)[:1]
    assert np.abs(alone - together).max() > 1e-3


def test_an_integer_product_not_scaled_as_quantize_dynamic_writes_it_is_refused(tmp_path):
    nodes = [
        node_proto("DynamicQuantizeLinear", ["x"], ["q", "s", "z"], "dynamic"),
        node_proto("MatMulInteger", ["q", "w", "z"], ["y"], "mm"),
    ]
    raw = int8_tensor("w", np.ones((6, 6)))
    shapes = {"x": (None, 6)}, {"y": (None, 6)}
    path = onnx_file(tmp_path / "d.onnx", nodes, {}, *shapes, extra_tensors=raw)
    with pytest.raises(OnnxImportError, match="int32 result is not cast to float"):
        load_onnx(path)


def test_fused_ops_of_dynamic_quantization_minicnn_lacks_are_named(tmp_path):
    nodes = [microsoft(node_proto("DynamicQuantizeLSTM", ["x"], ["y"], "lstm"))]
    path = onnx_file(tmp_path / "d.onnx", nodes, {}, {"x": (None, 3, 6)}, {"y": (None, 3, 6)})
    with pytest.raises(OnnxImportError, match="fused op of dynamic quantization"):
        load_onnx(path)


def test_a_dynamically_quantized_model_trains_and_exports_again(tmp_path):
    """Straight-through gradients reach the first convolution; minicnn's ONNX export writes
    the range as ReduceMin and ReduceMax over every axis, which load_onnx reads back as
    numbers of the whole batch; Keras 2 files keep the ops."""
    data = np.load(FILES / "classifier_dynamic.npz")
    model = load_onnx(FILES / "classifier_dynamic.onnx")
    expected = model.predict(data["x"], verbose=0)
    model.export(tmp_path / "again.onnx", format="onnx")
    again = load_onnx(tmp_path / "again.onnx")
    np.testing.assert_allclose(again.predict(data["x"], verbose=0), expected, rtol=0, atol=1e-6)
    model.save(tmp_path / "again.h5")
    np.testing.assert_array_equal(
        minicnn.load_model(tmp_path / "again.h5").predict(data["x"], verbose=0), expected
    )
    first = next(layer for layer in model.layers if type(layer).__name__ == "Conv2D")
    before = first.get_weights()[0].copy()
    x = RNG.standard_normal((64, *data["x"].shape[1:])).astype(np.float32)
    labels = RNG.integers(0, expected.shape[1], 64)
    model.compile("adam", minicnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, labels, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.array_equal(first.get_weights()[0], before)


def test_numbers_of_the_whole_batch_meet_tensors_in_elementwise_ops_only(tmp_path):
    """x / max(|x|) over every axis, the batch's too: one number as the model runs (its
    layout of no concern, channels-last or not); such a number as an output, or in an op
    that is not elementwise, is refused."""
    nodes = [
        node_proto("Abs", ["x"], ["a"], "abs"),
        node_proto("ReduceMax", ["a"], ["m"], "max", keepdims=0),
        node_proto("Add", ["m", "tiny"], ["d"], "add"),
        node_proto("Div", ["x", "d"], ["y"], "div"),
    ]
    shapes = {"x": (None, 2, 3, 3)}, {"y": (None, 2, 3, 3)}
    path = onnx_file(tmp_path / "n.onnx", nodes, {"tiny": np.float32(1e-6)}, *shapes)
    x = RNG.standard_normal((5, 2, 3, 3)).astype(np.float32)
    expected = x / (np.abs(x).max() + np.float32(1e-6))
    np.testing.assert_allclose(load_onnx(path).predict(x, verbose=0), expected, rtol=1e-6)
    last = load_onnx(path, channels_last=True).predict(x.transpose(0, 2, 3, 1), verbose=0)
    np.testing.assert_allclose(last, expected.transpose(0, 2, 3, 1), rtol=1e-6)
    out = onnx_file(tmp_path / "o.onnx", nodes[:2], {}, shapes[0], {"m": ()})
    with pytest.raises(OnnxImportError, match="one number of the whole batch"):
        load_onnx(out)
    reshaped = [*nodes[:2], node_proto("Reshape", ["m", "shape"], ["y"], "reshape")]
    bad = onnx_file(tmp_path / "r.onnx", reshaped, {"shape": np.int64([1])}, shapes[0], {"y": (1,)})
    with pytest.raises(OnnxImportError, match="elementwise ops only"):
        load_onnx(bad)
