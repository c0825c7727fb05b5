"""Keras' convolution_op hook of Conv1D, Conv2D and Conv3D, and an InputLayer given to a
Sequential, as keras.io's "Customizing the convolution operation of a Conv2D layer" uses
them."""

import numpy as np
import pytest
from test_functions import host, naive_conv2d

import minicnn
from minicnn import Sequential, ops
from minicnn import layers as L


class StandardizedConv2D(L.Conv2D):
    """Replaces convolution_op: Conv2D's call computes through it."""

    def convolution_op(self, inputs, kernel):
        mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        return ops.conv(inputs, (kernel - mean) / ops.sqrt(var + 1e-10), strides=self.strides)


class DoubledKernelConv(L.Conv2D):
    """Calls convolution_op from its own call (so its activation is not applied)."""

    def call(self, inputs):
        return self.convolution_op(inputs, self.kernel * 2.0) + self.bias


def _standardized(kernel):
    mean = kernel.mean(axis=(0, 1, 2), keepdims=True)
    return (kernel - mean) / np.sqrt(kernel.var(axis=(0, 1, 2), keepdims=True) + 1e-10)


def test_a_replaced_convolution_op_is_what_conv2d_computes_then_bias_and_activation(device):
    minicnn.set_random_seed(1)
    layer = StandardizedConv2D(4, 3, strides=2, activation="relu", bias_initializer="ones")
    x = np.random.default_rng(0).standard_normal((2, 9, 9, 3)).astype(np.float32)
    model = Sequential([L.InputLayer(shape=(9, 9, 3)), layer]).to(device)
    kernel = layer.get_weights()[0].astype(np.float64)
    expected = naive_conv2d(x, _standardized(kernel), np.ones(4), stride=2, padding=0)
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(out, np.maximum(expected, 0), rtol=1e-4, atol=1e-4)
    assert model.output_shape == (None, 4, 4, 4)
    # Gradients reach the kernel through the user's operation.
    model.compile("sgd", "mse")
    before = layer.get_weights()[0].copy()
    model.fit(x, np.ones_like(out), epochs=1, verbose=0)
    assert not np.allclose(layer.get_weights()[0], before)


def test_a_call_of_convolution_op_reads_the_kernel_in_build_and_skips_the_activation():
    """Conv2D's call replaced: the output shape's probe in build reads self.kernel (by the
    class's weight name, before the weights are named), and the activation it does not
    apply is not applied, as in Keras."""
    minicnn.set_random_seed(2)
    layer = DoubledKernelConv(2, 3, activation="relu")
    x = np.random.default_rng(1).standard_normal((1, 5, 5, 1)).astype(np.float32)
    out = host(layer(x))
    kernel, bias = layer.get_weights()
    expected = naive_conv2d(x, 2.0 * kernel, bias, stride=1, padding=0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert out.min() < 0 and [w.name for w in layer.weights] == ["kernel", "bias"]


@pytest.mark.parametrize("layer_class, shape", [(L.Conv1D, (7, 2)), (L.Conv3D, (5, 5, 5, 2))])
def test_conv1d_and_conv3d_have_kerass_convolution_op(layer_class, shape):
    minicnn.set_random_seed(3)
    layer = layer_class(3, 3, dilation_rate=2, use_bias=False)
    x = np.random.default_rng(2).standard_normal((2, *shape)).astype(np.float32)
    out = host(layer(x))
    np.testing.assert_allclose(
        host(layer.convolution_op(x, layer.kernel)), out, rtol=1e-5, atol=1e-5
    )


def test_an_input_layer_starts_a_sequential_as_input_does(tmp_path):
    model = Sequential([L.InputLayer(shape=(6,)), L.Dense(2)])
    assert model.input_shape == (None, 6) and len(model.layers) == 1
    assert model.count_params() == 14
    batched = Sequential([L.InputLayer(batch_shape=(4, 3), name="pixels"), L.Dense(1)])
    assert batched.inputs[0].name == "pixels" and batched.input_shape == (4, 3)
    model.save(tmp_path / "m.keras")
    loaded = minicnn.saving.load_model(tmp_path / "m.keras")
    assert loaded.input_shape == (None, 6) and len(loaded.layers) == 1
    with pytest.raises(ValueError, match="Input must come first"):
        Sequential([L.Dense(2, input_shape=(3,)), L.InputLayer(shape=(2,))])
    with pytest.raises(ValueError, match="give shape or batch_shape, not both"):
        L.InputLayer(shape=(2,), batch_shape=(None, 2))
    with pytest.raises(ValueError, match="give the shape of one sample"):
        L.InputLayer()
