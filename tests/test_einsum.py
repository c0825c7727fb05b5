"""ops.einsum against NumPy's einsum (one, two and three operands, ellipses), float64
gradient checks on every device, and Keras' EinsumDense: its docstring shapes, its values,
LoRA, a model that trains, saves and loads, and a captured GPU step."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients
from test_models import assert_learns_and_reloads, toy_data

from minicnn import Input, Sequential, backend, ops
from minicnn import layers as L
from minicnn.autograd import Tensor

EQUATIONS = {
    "matrix product": ("ab,bc->ac", [(3, 4), (4, 5)]),
    "heads": ("abc,cde->abde", [(2, 3, 4), (4, 5, 6)]),
    "batched outer": ("bi,bj->bij", [(2, 3), (2, 4)]),
    "summed alone": ("abc,d->ad", [(2, 3, 4), (5,)]),
    "ellipsis left": ("...b,bc->...c", [(2, 3, 4), (4, 5)]),
    "ellipsis right": ("ab...,bc->ac...", [(2, 4, 3, 2), (4, 5)]),
    "transpose": ("ab->ba", [(3, 4)]),
    "total": ("abc->", [(2, 3, 4)]),
    "chain": ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),
    "attention": ("aecd,abcd->acbe", [(2, 3, 2, 4), (2, 5, 2, 4)]),
}


@pytest.mark.parametrize("name", list(EQUATIONS))
def test_einsum_follows_numpy_and_its_gradients_check(name, device):
    equation, shapes = EQUATIONS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    got = ops.einsum(equation, *(Tensor(backend.to_device(a, device)) for a in arrays))
    np.testing.assert_allclose(host(got), np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)
    check_gradients(lambda *t: ops.einsum(equation, *t), *arrays, device=device)


def test_bad_einsum_equations_are_named():
    with pytest.raises(ValueError, match="is not of the form"):
        ops.einsum("a!b,bc->ac", np.ones((2, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="names 2 axes of an operand of 3"):
        ops.einsum("ab,bc->ac", np.ones((2, 3, 1)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="repeats an index"):
        ops.einsum("aa,ab->b", np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="index 'b' is 3 long in one operand and 4"):
        ops.einsum("ab,bc->ac", np.ones((2, 3)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="needs '->'"):
        ops.einsum("ab,bc", np.ones((2, 3)), np.ones((3, 4)))


@pytest.mark.parametrize(
    "equation, output_shape, bias_axes, input_shape, kernel, bias, out",
    [  # Keras' docstring examples, and a bias on an inner axis (Keras' trailing ones)
        ("ab,bc->ac", 64, "c", (32,), (32, 64), (64,), (64,)),
        ("abc,cd->abd", (None, 64), "d", (32, 128), (128, 64), (64,), (32, 64)),
        ("...b,bc->...c", 64, "c", (32, 128), (128, 64), (64,), (32, 64)),
        ("abc,cde->abde", (None, 4, 16), "d", (32, 8), (8, 4, 16), (4, 1), (32, 4, 16)),
    ],
)
def test_einsum_dense_shapes_follow_keras_docstring(
    equation, output_shape, bias_axes, input_shape, kernel, bias, out
):
    layer = L.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)
    result = layer(np.zeros((2, *input_shape), np.float32))
    assert result.shape == (2, *out) and layer.weights[0].shape == kernel
    assert layer.weights[1].shape == bias
    config = layer.get_config()
    assert L.EinsumDense.from_config(config).get_config() == config


def test_einsum_dense_values_gradients_and_dense_equivalence(device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5))
    layer = L.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="e", activation="tanh")
    layer.to(device)
    layer.build(x.shape)
    kernel, bias = (rng.standard_normal(w.shape) for w in layer.weights)
    assert bias.shape == (4,)
    layer.set_weights([kernel, bias])
    kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
    expected = np.tanh(np.einsum("abc,cde->abde", x, kernel) + bias)
    np.testing.assert_allclose(host(layer(backend.to_device(x, device))), expected, rtol=1e-6)
    relu = L.EinsumDense("abc,cde->abde", (None, 2, 4), "relu", "de")
    check_layer_gradients(relu, x, device=device)
    dense, einsum_dense = L.Dense(6), L.EinsumDense("ab,bc->ac", 6, bias_axes="c")
    flat = rng.standard_normal((4, 5)).astype(np.float32)
    dense(flat)
    einsum_dense(flat)
    einsum_dense.set_weights(dense.get_weights())
    np.testing.assert_allclose(einsum_dense(flat).data, dense(flat).data, rtol=1e-6)


def test_einsum_dense_lora_and_errors():
    layer = L.EinsumDense("abc,cde->abde", (None, 2, 4), lora_rank=3)
    layer(np.ones((2, 3, 5), np.float32))
    assert [tuple(w.shape) for w in layer.weights] == [(5, 2, 4), (5, 2, 3), (3, 4)]
    assert [w.requires_grad for w in layer.weights] == [False, True, True]
    with pytest.raises(ValueError, match="output_shape .* gives 1 axes; the equation"):
        L.EinsumDense("abc,cd->abd", 4)(np.ones((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match="bias_axes 'z' are not axes of the output"):
        L.EinsumDense("ab,bc->ac", 4, bias_axes="z")(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="is 3 in the input, not 4"):
        L.EinsumDense("abc,cd->abd", (4, 2))(np.ones((2, 3, 5), np.float32))


def test_an_einsum_dense_model_trains_saves_and_loads(tmp_path, device):
    x, y = toy_data(96)
    model = Sequential(
        [
            Input((8, 8, 1)),
            L.Reshape((8, 8)),
            L.EinsumDense("abc,cd->abd", (None, 6), "relu", "d"),
            L.Flatten(),
            L.EinsumDense("ab,bc->ac", 3, "softmax", "c"),
        ]
    ).to(device)
    assert_learns_and_reloads(model, x, y, tmp_path, device, epochs=8, drop=0.7)


def test_an_einsum_dense_step_is_captured_and_trains_the_same(gpu):
    from test_graph_step import assert_captured_trains_like_plain

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 4, 6)).astype(np.float32), rng.integers(0, 3, 40)
    assert_captured_trains_like_plain(
        lambda: [
            Input((4, 6)),
            L.EinsumDense("abc,cde->abde", (None, 2, 3), "relu", "de"),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ],
        x,
        y,
    )
