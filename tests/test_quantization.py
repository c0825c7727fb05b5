"""Keras 3's int8 quantization: ``model.quantize("int8")`` on Dense and Embedding, against
the int8 arithmetic written out with NumPy; saving, LoRA on top, and what it refuses."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, load_model, quantizers
from minicnn import layers as L
from minicnn.autograd import Tensor


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
