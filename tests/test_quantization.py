"""Keras 3's int8 and int4 quantization: ``model.quantize("int8")`` / ``("int4")`` on Dense
and Embedding, against the arithmetic written out with NumPy; saving, LoRA on top (and its
merge into the quantized matrix that Keras' files keep), and what it refuses."""

from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, load_model, quantizers
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.quantization import dequantize_with_sz_map

FILES = Path(__file__).parent / "keras_files"


def _int8(values, axis):
    """Keras' abs-max quantization, written out."""
    scale = 127.0 / (np.abs(values).max(axis=axis, keepdims=True) + 1e-7)
    return np.clip(np.round(values * scale), -127, 127), scale


def _model(seed=0):
    minicnn.utils.clear_session()
    minicnn.utils.set_random_seed(seed)
    return Sequential([Input((6,)), L.Dense(8, activation="relu"), L.Dense(3)], name="mlp")


def test_abs_max_quantize_is_keras_recipe():
    x = np.array([[0.5, -1.0, 0.25], [2.0, 0.1, -0.3]], np.float32)
    values, scale = quantizers.abs_max_quantize(x, axis=-1)
    assert values.dtype == np.int8
    expected, expected_scale = _int8(x, -1)
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_allclose(scale, expected_scale, rtol=1e-6)


def test_a_quantized_dense_computes_keras_int8_arithmetic(device):
    model = _model().to(device)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    before = model.predict(x, verbose=0)
    float_kernels = [layer.get_weights() for layer in model.layers]
    model.quantize("int8")
    dense = model.layers[0]
    assert dense.quantization_mode == "int8" and dense.kernel.data.dtype == np.int8
    assert [w.name for w in dense.weights] == ["kernel", "bias", "kernel_scale"]
    assert dense.trainable_weights == [dense.bias]
    h = x
    for (kernel, bias), layer in zip(float_kernels, model.layers, strict=True):
        kq, kscale = _int8(kernel, 0)
        xq, xscale = _int8(h, -1)
        h = (xq @ kq) / (xscale * kscale) + bias
        if layer.activation_name == "relu":
            h = np.maximum(h, 0)
    after = model.predict(x, verbose=0)
    np.testing.assert_allclose(after, h, rtol=1e-5, atol=1e-5)
    assert np.abs(after - before).max() < 0.05  # int8 keeps the model close


def test_a_quantized_model_saves_loads_and_trains_its_bias(tmp_path):
    model = _model()
    model.quantize("int8")
    x = np.random.default_rng(1).normal(size=(32, 6)).astype(np.float32)
    y = x[:, :3]
    model.save(tmp_path / "int8.keras")
    loaded = load_model(tmp_path / "int8.keras")
    assert loaded.layers[0].get_config()["dtype"] == "int8_from_float32"
    assert loaded.layers[0].kernel.data.dtype == np.int8
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    kernel = loaded.layers[0].kernel.data.copy()
    loaded.compile("adam", "mse")
    loaded.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(loaded.layers[0].kernel.data, kernel)  # frozen


def test_lora_trains_on_top_of_an_int8_dense():
    model = _model()
    model.quantize("int8")
    model.layers[1].enable_lora(2)
    model.compile(minicnn.optimizers.Adam(0.05), "mse")
    x = np.random.default_rng(2).normal(size=(64, 6)).astype(np.float32)
    y = x[:, :3]
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert {w.name for w in model.layers[1].trainable_weights} == {
        "bias",
        "lora_kernel_a",
        "lora_kernel_b",
    }


def test_a_quantized_embedding_divides_each_row_by_its_scale():
    minicnn.utils.set_random_seed(0)
    model = Sequential([Input((4,), dtype="int32"), L.Embedding(10, 5)])
    ids = np.array([[1, 2, 3, 9], [0, 0, 4, 5]])
    table = model.layers[0].embeddings.data.copy()
    model.quantize("int8")
    values, scale = _int8(table, -1)
    np.testing.assert_allclose(model.predict(ids, verbose=0), (values / scale)[ids], rtol=1e-6)


def test_quantize_refuses_what_it_cannot_do():
    model = _model()
    with pytest.raises(ValueError, match="quantization mode must be one of"):
        model.quantize("float8")
    with pytest.raises(ValueError, match="block_size must be None, -1, or a positive"):
        quantizers.Int4QuantizationConfig(block_size=0)
    with pytest.raises(ValueError, match="weights only"):
        quantizers.Int4QuantizationConfig(activation_quantizer=quantizers.AbsMaxQuantizer())
    with pytest.raises(ValueError, match="disagrees with the config's 'int4'"):
        model.quantize("int8", config=quantizers.Int4QuantizationConfig())
    with pytest.raises(ValueError, match="custom weight_quantizer"):
        quantizers.Int8QuantizationConfig(weight_quantizer=quantizers.AbsMaxQuantizer(axis=0))
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        model.quantize("int8", block_size=32)
    model.layers[0].enable_lora(2)
    with pytest.raises(ValueError, match="before enabling LoRA"):
        model.layers[0].quantize("int8")
    with pytest.raises(ValueError, match="not built"):
        L.Dense(3).quantize("int8")
    with pytest.raises(ValueError, match="float32"):
        L.Dense(3, dtype="float16")
    assert L.Dense(3, dtype="float32").dtype_policy.name == "float32"


def test_the_int8_product_differentiates_through_the_dequantized_kernel():
    rng = np.random.default_rng(3)
    kernel, scale = _int8(rng.normal(size=(4, 2)), 0)
    x = Tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    out = quantizers_matmul(x, kernel, scale)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((3, 2)) @ (kernel / scale).T, rtol=1e-5)


def quantizers_matmul(x, kernel, scale):
    from minicnn.quantization import int8_matmul

    return int8_matmul(
        x, Tensor(kernel.astype(np.int8)), Tensor(scale.reshape(-1).astype(np.float32))
    )


def _int4_blocks(matrix, block):
    """Keras' grouped int4 quantization written out a block at a time: each block of rows
    of each column (the last padded with zeros) mapped from its min..max to [-8, 7]."""
    rows, cols = matrix.shape
    values = np.zeros((rows, cols), np.int8)
    blocks = -(-rows // block)
    scale = np.zeros((blocks, cols), np.float32)
    zero = np.zeros((blocks, cols), np.int8)
    for g in range(blocks):
        for c in range(cols):
            part = np.zeros(block, np.float32)
            found = matrix[g * block : (g + 1) * block, c]
            part[: len(found)] = found
            s = np.float32((part.max() - part.min()) + np.float32(1e-7)) / np.float32(15)
            z = np.clip(np.round(-part.min() / s) - 8, -8, 7)
            scale[g, c], zero[g, c] = s, z
            values[g * block : g * block + len(found), c] = np.clip(np.round(found / s) + z, -8, 7)
    return values, scale, zero


def _unpacked(packed, length):
    """int4 values from bytes along the last axis, the even ones in the low nibbles."""
    low = (packed.view(np.uint8) & 0x0F).astype(np.int16)
    high = (packed.view(np.uint8) >> 4).astype(np.int16)
    both = np.stack([low, high], axis=-1).reshape(*packed.shape[:-1], -1)[..., :length]
    return np.where(both > 7, both - 16, both).astype(np.int8)


def test_grouped_int4_quantization_is_keras_recipe():
    matrix = np.random.default_rng(4).normal(size=(37, 5)).astype(np.float32)
    values, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(matrix, 16)
    expected_values, expected_scale, expected_zero = _int4_blocks(matrix, 16)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_allclose(scale, expected_scale, rtol=1e-6)
    np.testing.assert_array_equal(zero, expected_zero)
    assert values.dtype == zero.dtype == np.int8 and values.min() >= -8 and values.max() <= 7
    groups = np.arange(37) // 16
    dequantized = dequantize_with_sz_map(values, scale, zero, groups, group_axis=0)
    assert np.abs(dequantized - matrix).max() <= scale.max() / 2 + 1e-6


@pytest.mark.parametrize("block_size", [None, 4])
def test_an_int4_dense_computes_with_its_dequantized_kernel(device, block_size):
    """Weights only: float32 inputs times the int4 kernel, over the scales (a scale per
    unit), or times (value - zero) * scale of each block of inputs."""
    minicnn.utils.clear_session()
    minicnn.utils.set_random_seed(5)
    model = Sequential([Input((10,)), L.Dense(7, activation="relu"), L.Dense(3)]).to(device)
    x = np.random.default_rng(5).normal(size=(6, 10)).astype(np.float32)
    float_weights = [layer.get_weights() for layer in model.layers]
    before = model.predict(x, verbose=0)
    model.quantize(config=quantizers.Int4QuantizationConfig(block_size=block_size))
    h = x
    for (kernel, bias), layer in zip(float_weights, model.layers, strict=True):
        stored = layer.get_weights()
        assert stored[0].shape == (kernel.shape[0], (kernel.shape[1] + 1) // 2)
        values = _unpacked(stored[0], kernel.shape[1])
        if block_size is None:
            scale = 7 / (np.abs(kernel).max(axis=0) + 1e-7)
            np.testing.assert_array_equal(values, np.clip(np.round(kernel * scale), -8, 7))
            assert [w.name for w in layer.weights] == ["kernel", "bias", "kernel_scale"]
            h = (h @ values) / scale + bias
        else:
            expected_values, scale, zero = _int4_blocks(kernel, block_size)
            np.testing.assert_array_equal(values, expected_values)
            np.testing.assert_array_equal(stored[3], zero)
            np.testing.assert_array_equal(stored[4], np.arange(kernel.shape[0]) // block_size)
            h = h @ ((values - zero[stored[4].astype(int)]) * scale[stored[4].astype(int)]) + bias
        if layer.activation_name == "relu":
            h = np.maximum(h, 0)
    policy = "int4/-1_from_float32" if block_size is None else "int4/4_from_float32"
    assert model.layers[0].get_config()["dtype"] == policy
    after = model.predict(x, verbose=0)
    np.testing.assert_allclose(after, h, rtol=1e-5, atol=1e-5)
    assert np.abs(after - before).max() < 0.5  # int4 keeps the model near


def test_an_int4_dense_passes_gradients_to_its_inputs_through_the_dequantized_kernel():
    minicnn.utils.set_random_seed(6)
    dense = L.Dense(3)
    dense.build((None, 5))
    dense.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=2))
    x = Tensor(np.random.default_rng(6).normal(size=(4, 5)).astype(np.float32), requires_grad=True)
    dense(x).sum().backward()
    kernel = dense.dequantize(dense.quantized_values())
    np.testing.assert_allclose(x.grad, np.ones((4, 3)) @ kernel.T, rtol=1e-5)
    assert dense.trainable_weights == [dense.bias]


@pytest.mark.parametrize("block_size", [-1, 3])
def test_an_int4_embedding_dequantizes_each_row(device, block_size):
    minicnn.utils.set_random_seed(7)
    model = Sequential([Input((4,), dtype="int32"), L.Embedding(9, 7)]).to(device)
    table = model.layers[0].embeddings.data
    table = np.asarray(minicnn.backend.to_numpy(table)).copy()
    model.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=block_size))
    ids = np.array([[1, 2, 3, 8], [0, 0, 4, 5]])
    if block_size == -1:
        scale = 7 / (np.abs(table).max(axis=-1, keepdims=True) + 1e-7)
        expected = np.clip(np.round(table * scale), -8, 7) / scale
    else:
        values, scale, zero = _int4_blocks(table.T, block_size)
        groups = np.arange(7) // block_size
        expected = ((values - zero[groups]) * scale[groups]).T
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected[ids], rtol=1e-6, atol=1e-7)


def test_quantize_takes_keras_filters():
    model = _model()
    model.quantize("int4", filters=["dense_1$"])
    assert [layer.quantization_mode for layer in model.layers] == [None, "int4"]
    model.quantize("int8", filters=lambda layer: layer.name == "dense")
    assert [layer.quantization_mode for layer in model.layers] == ["int8", "int4"]
    with pytest.raises(ValueError, match="must be a regex string"):
        model.quantize("int8", filters=3)


def test_an_int4_model_saves_loads_and_trains_its_bias(tmp_path):
    model = _model()
    model.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=4))
    x = np.random.default_rng(8).normal(size=(32, 6)).astype(np.float32)
    model.save(tmp_path / "int4.keras")
    loaded = load_model(tmp_path / "int4.keras")
    assert loaded.layers[0].dtype_policy.name == "int4/4_from_float32"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    kernel = loaded.layers[0].kernel.data.copy()
    loaded.compile("adam", "mse")
    history = loaded.fit(x, x[:, :3], epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    np.testing.assert_array_equal(loaded.layers[0].kernel.data, kernel)  # frozen


def _archive_paths(path):
    """Every dataset's path and shape in a Keras archive's weights file."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    found = []
    weights.visititems(
        lambda name, item: found.append((name, item.shape)) if hasattr(item, "shape") else None
    )
    return sorted(found)


def _archive_arrays(path):
    """Each layer's arrays in a Keras archive's weights file, by the layer's group."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    found = {}
    for name, group in weights["layers"].items():
        arrays = group["vars"]
        if len(arrays):
            found[name] = [arrays[str(i)][()] for i in range(len(arrays))]
    return found


@pytest.mark.parametrize(("name", "layers"), [("quantized_lora", 3), ("quantized_einsum_lora", 2)])
def test_lora_on_quantized_layers_is_merged_and_quantized_again_as_keras_saves_it(
    tmp_path, name, layers
):
    """Keras 3.15's int4 Embedding (a scale per row), int4 Dense (blocks of 16) and int8
    Dense, or int8 and int4 EinsumDense (A of three axes), each with LoRA: minicnn, given
    the live weights, predicts what Keras predicted, and its Keras file holds each matrix
    merged with A B and quantized again, as Keras'."""
    pytest.importorskip("h5py")
    live = np.load(FILES / f"{name}_live.npz")
    model = load_model(FILES / f"{name}.keras")
    for layer in model.layers:
        arrays = sorted(k for k in live.files if k.startswith(f"{layer.name}/"))
        if arrays:
            layer.set_weights([live[k] for k in sorted(arrays, key=lambda k: int(k.split("/")[1]))])
    np.testing.assert_allclose(
        model.predict(live["x"], verbose=0), live["y0"], rtol=2e-5, atol=2e-6
    )
    model.export(tmp_path / "merged.keras")
    merged = _archive_arrays(tmp_path / "merged.keras")
    saved = _archive_arrays(FILES / f"{name}.keras")
    assert set(merged) == set(saved) and len(saved) == layers
    for name, arrays in saved.items():
        assert len(merged[name]) == len(arrays)
        for ours, keras in zip(merged[name], arrays, strict=True):
            assert ours.dtype == keras.dtype
            if ours.dtype == np.int8:
                np.testing.assert_array_equal(ours, keras)
            else:
                np.testing.assert_allclose(ours, keras, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("tie_weights", [True, False])
def test_an_int4_reversible_embedding_projects_back_through_its_dequantized_matrix(tie_weights):
    minicnn.utils.set_random_seed(9)
    layer = L.ReversibleEmbedding(11, 6, tie_weights=tie_weights)
    layer.build((None, 3))
    floats = [w.copy() for w in layer.get_weights()]
    layer.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=4))
    x = np.random.default_rng(9).normal(size=(2, 6)).astype(np.float32)
    logits = layer(Tensor(x), reverse=True).data
    groups = np.arange(6) // 4
    if tie_weights:
        values, scale, zero = _int4_blocks(floats[0].T, 4)  # the table's features in blocks
        kernel = (values - zero[groups]) * scale[groups]
    else:
        values, scale, zero = _int4_blocks(floats[1], 4)
        kernel = (values - zero[groups]) * scale[groups]
        names = [w.name for w in layer.weights]
        assert names[-3:] == [
            "reverse_embeddings",
            "reverse_embeddings_scale",
            "reverse_embeddings_zero",
        ]
        stored = layer.get_weights()
        assert stored[-3].shape == (3, 11)  # two to a byte down the columns
        np.testing.assert_array_equal(_unpacked(stored[-3].T, 6).T, values)
        assert stored[-1].dtype == np.float32  # Keras keeps these zero points as floats
    np.testing.assert_allclose(logits, x @ kernel, rtol=1e-5, atol=1e-6)


def _einsum_dense(equation, input_shape, output_shape, bias_axes=None, seed=10):
    minicnn.utils.clear_session()
    minicnn.utils.set_random_seed(seed)
    layer = L.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    model = Sequential([Input(input_shape), layer])
    layer.set_weights([w + 0.3 for w in layer.get_weights()])  # a bias off zero
    x = np.random.default_rng(seed).normal(size=(3, *input_shape)).astype(np.float32)
    return model, layer, x


@pytest.mark.parametrize(
    ("equation", "input_shape", "output_shape", "bias_axes"),
    [
        ("abc,cde->abde", (4, 6), (4, 2, 3), "de"),  # into heads
        ("abcd,cde->abe", (4, 2, 3), (4, 5), "e"),  # out of them: two summed axes
        ("abc,dc->abd", (4, 6), (4, 5), None),  # the summed axis last in the kernel
        ("...b,bc->...c", (2, 4, 6), (5,), "c"),  # an ellipsis
    ],
)
def test_an_int8_einsum_dense_computes_keras_arithmetic(
    device, equation, input_shape, output_shape, bias_axes
):
    """The kernel by its abs-max over the summed axes, the inputs alike, an einsum of the
    int8 values, both scales divided out; the kernel's scales stored along the output's
    axes, 1 where the kernel has no axis, as Keras stores them."""
    model, layer, x = _einsum_dense(equation, input_shape, output_shape, bias_axes)
    model.to(device)
    kernel, *bias = layer.get_weights()
    model.quantize("int8")
    ins, spec, out = equation.replace("...", "").replace("->", ",").split(",")
    lead = "xyz"[: x.ndim - len(ins)]  # the ellipsis' axes, written out
    ins, out = lead + ins, lead + out
    kq, kscale = _int8(kernel, tuple(i for i, c in enumerate(spec) if c not in out))
    xq, xscale = _int8(x, tuple(i for i, c in enumerate(ins) if c not in out))

    def along_output(scale, letters):
        kept = [c for c in out if c in letters]
        values = np.einsum(f"{letters}->{''.join(kept)}", scale)
        return values.reshape([scale.shape[letters.index(c)] if c in letters else 1 for c in out])

    stored = layer.get_weights()
    assert stored[0].dtype == np.int8 and [w.name for w in layer.weights][-1] == "kernel_scale"
    np.testing.assert_array_equal(stored[0], kq)
    np.testing.assert_allclose(stored[-1], along_output(kscale, spec), rtol=1e-6)
    product = np.einsum(f"{ins},{spec}->{out}", xq, kq)
    expected = product / (along_output(xscale, ins) * along_output(kscale, spec))
    expected = expected + (bias[0] if bias else 0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert layer.get_config()["dtype"] == "int8_from_float32"


@pytest.mark.parametrize("block_size", [-1, 4])
def test_an_int4_einsum_dense_quantizes_its_kernel_reshaped_to_a_matrix(device, block_size):
    """Weights only, as a Dense's kernel of (summed axes, other axes): Keras reshapes the
    kernel (6, 4) of 'abc,dc->abd' to (4, 6) as it lies, so a 'unit' there is a column of
    that reshape; the model computes with the dequantized kernel shaped back."""
    model, layer, x = _einsum_dense("abc,dc->abd", (3, 4), (3, 6), "d", seed=11)
    model.to(device)
    kernel, bias = layer.get_weights()
    model.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=block_size))
    matrix = kernel.reshape(4, 6)
    stored = layer.get_weights()
    assert stored[0].shape == (4, 3)  # two values to a byte
    values = _unpacked(stored[0], 6)
    if block_size == -1:
        scale = 7 / (np.abs(matrix).max(axis=0) + 1e-7)
        np.testing.assert_array_equal(values, np.clip(np.round(matrix * scale), -8, 7))
        dequantized = values / scale
    else:
        expected_values, scale, zero = _int4_blocks(matrix, block_size)
        np.testing.assert_array_equal(values, expected_values)
        dequantized = (values - zero[[0, 0, 0, 0]]) * scale[[0, 0, 0, 0]]
    expected = np.einsum("abc,dc->abd", x, dequantized.reshape(6, 4)) + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_a_quantized_einsum_dense_passes_gradients_through_its_dequantized_kernel(mode):
    _, layer, x = _einsum_dense("abcd,cde->abe", (4, 2, 3), (4, 5), "e", seed=12)
    layer.quantize(mode)
    kernel = layer.dequantized_matrix()
    assert kernel.shape == (2, 3, 5)
    inputs = Tensor(x, requires_grad=True)
    layer(inputs).sum().backward()
    expected = np.einsum("abe,cde->abcd", np.ones((3, 4, 5), np.float32), kernel)
    np.testing.assert_allclose(inputs.grad, expected, rtol=1e-5, atol=1e-6)
    assert layer.trainable_weights == [layer.bias]


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_a_quantized_einsum_dense_saves_loads_and_trains_lora(tmp_path, mode):
    model, layer, x = _einsum_dense("abc,cde->abde", (4, 6), (4, 2, 3), "de", seed=13)
    model.quantize(mode)
    model.save(tmp_path / "q.keras")
    loaded = load_model(tmp_path / "q.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    adapted = loaded.layers[0]
    adapted.enable_lora(2)
    assert adapted.lora_kernel_a.shape == (6, 2, 2) and adapted.lora_kernel_b.shape == (2, 3)
    stored = adapted.kernel.data.copy()
    loaded.compile(minicnn.optimizers.Adam(0.05), "mse")
    y = np.tanh(x[..., None, :3]).repeat(2, axis=2)
    history = loaded.fit(x.repeat(8, 0), y.repeat(8, 0), epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    np.testing.assert_array_equal(adapted.kernel.data, stored)  # frozen
