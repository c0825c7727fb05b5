"""The activations beyond ReLU/sigmoid/tanh/softmax and the activation layers, against their
formulas (Keras' definitions, written here independently with NumPy and math.erf) and float64
finite differences, on the CPU and the (emulated) GPU."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_layers import check_layer_gradients
from test_models import toy_data

from minicnn import Sequential, activations, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x):
    return np.log1p(np.exp(x))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
ORACLES = {
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
    "gelu": lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "softplus": softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "exponential": np.exp,
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "legacy_hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),  # Keras 2's
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "mish": lambda x: x * np.tanh(softplus(x)),
    # Keras 3's newer ones, as its docstrings define them
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.exp(x) - 1),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "log_sigmoid": lambda x: -np.logaddexp(0, -x),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "squareplus": lambda x: (x + np.sqrt(x**2 + 4)) / 2,
    "tanh_shrink": lambda x: x - np.tanh(x),
}
# Points on both sides of every kink (0, -3, 3, 6), none on one: a finite difference across a
# kink measures neither side's slope.
POINTS = np.array([-7.3, -3.4, -2.9, -1.2, -0.31, 0.27, 0.9, 2.6, 3.3, 5.8, 6.4, 11.0])


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_activation_values_and_gradients(device, name):
    fn = activations.get(name)
    # e^11 would drown the finite differences of the small entries in rounding.
    x = POINTS.reshape(3, 4) / (3 if name == "exponential" else 1)
    out = backend.to_numpy(fn(Tensor(backend.to_device(x, device))).data)
    np.testing.assert_allclose(out, ORACLES[name](x), rtol=1e-12, atol=1e-12)
    check_gradients(fn, x.copy(), device=device)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_activations_keep_float32_and_stay_finite_far_out(device, name):
    x = np.array([[-80.0, -1.0, 0.5, 30.0]], np.float32)
    out = activations.get(name)(Tensor(backend.to_device(x, device))).data
    assert out.dtype == np.float32
    if name != "exponential":  # e^30 is finite; e^80 would be inf in float32, as in Keras
        assert np.isfinite(backend.to_numpy(out)).all()


def test_relu_layer_arguments(device):
    layer = L.ReLU(max_value=4.0, negative_slope=0.1, threshold=0.5)
    x = POINTS.reshape(3, 4)
    expected = np.where(x >= 4.0, 4.0, np.where(x >= 0.5, x, 0.1 * (x - 0.5)))
    out = layer(Tensor(backend.to_device(x, device)))
    np.testing.assert_allclose(backend.to_numpy(out.data), expected, rtol=1e-12)
    check_gradients(lambda t: layer(t), x.copy(), device=device)


def test_leaky_relu_and_elu_layers(device):
    x = POINTS.reshape(3, 4)
    for layer, expected in (
        (L.LeakyReLU(), np.where(x >= 0, x, 0.3 * x)),
        (L.ELU(alpha=0.5), np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    ):
        out = layer(Tensor(backend.to_device(x, device)))
        np.testing.assert_allclose(backend.to_numpy(out.data), expected, rtol=1e-12)
        check_gradients(lambda t, layer=layer: layer(t), x.copy(), device=device)


def test_layer_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match="max_value must be a finite number >= 0"):
        L.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyReLU(negative_slope="steep")
    with pytest.raises(ValueError, match="axis must be an int"):
        L.Softmax(axis="rows")
    with pytest.raises(ValueError, match="Unknown activation 'gelu_fast'"):
        L.Dense(3, activation="gelu_fast")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert L.LeakyReLU(alpha=0.1).negative_slope == 0.1  # Keras 2's name
    assert any("deprecated" in str(w.message) for w in caught)


def test_a_model_of_the_new_activations_trains_saves_and_loads(device, tmp_path):
    backend.set_random_seed(0)
    model = Sequential(
        [
            L.Input((8, 8, 1)),
            L.Conv2D(4, 3, activation="gelu"),
            L.LeakyReLU(),
            L.Conv2D(4, 3, activation="swish"),
            L.ELU(),
            L.Flatten(),
            L.Dense(8, activation="mish"),
            L.ReLU(max_value=6.0),
            L.Dense(3),
            L.Softmax(),
        ],
        device=device,
    )
    model.compile("adam", metrics=["accuracy"])
    assert model._fuses_activation()  # the last Softmax goes into the loss, as a softmax Dense
    x, y = toy_data(64)
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "m.npz"
    model.save(path)
    again = load_model(path, device=device)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert [type(layer).__name__ for layer in again.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    assert again.layers[-1].get_config()["axis"] == -1


def test_prelu_learns_one_slope_per_value_or_per_shared_axes(device):
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4)) + 0.05
    layer = L.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2])
    layer.device = device
    layer.build(x.shape)
    (alpha,) = layer.get_weights()
    assert alpha.shape == (1, 1, 4) and layer.count_params() == 4
    out = layer(Tensor(backend.to_device(x.astype(np.float32), device)))
    expected = np.where(x > 0, x, alpha * x)
    np.testing.assert_allclose(backend.to_numpy(out.data), expected, rtol=1e-5, atol=1e-6)

    from minicnn.activation_ops import prelu

    check_gradients(prelu, x, np.asarray(alpha, np.float64) + 0.1, device=device)
    assert L.PReLU().build((None, 5, 2)) is None  # one alpha per value without shared axes
    with pytest.raises(ValueError, match=r"shared_axes \[3\] are not axes"):
        L.PReLU(shared_axes=3).build((None, 5, 2))


def test_prelu_saves_its_settings_and_adds_its_penalty(tmp_path):
    model = Sequential(
        [L.Input((4, 4, 2)), L.PReLU(alpha_regularizer="l2", shared_axes=[1, 2]), L.Flatten()]
    )
    model.layers[0].set_weights([np.full((1, 1, 2), 0.5, np.float32)])
    assert float(model.losses[0].data) == pytest.approx(0.01 * 0.5)  # l2 * sum(alpha ** 2)
    model.compile("sgd", loss="mse")
    path = tmp_path / "m.npz"
    model.save(path)
    again = load_model(path)
    assert again.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def numpy_sparsemax(row):
    """Martins and Astudillo's algorithm, written out for one row."""
    ordered = np.sort(row)[::-1]
    k = max(j for j in range(1, len(row) + 1) if 1 + j * ordered[j - 1] > ordered[:j].sum())
    tau = (ordered[:k].sum() - 1) / k
    return np.maximum(row - tau, 0)


def test_activations_with_arguments_follow_keras(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 6)) * 2
    on = Tensor(backend.to_device(x, device))
    host = backend.to_numpy
    np.testing.assert_allclose(
        host(activations.relu(on, negative_slope=0.1, max_value=2.0, threshold=0.5).data),
        np.where(x >= 0.5, np.minimum(x, 2.0), 0.1 * (x - 0.5)),
    )
    a, b = x[:, :3], x[:, 3:]
    np.testing.assert_allclose(host(activations.glu(on).data), a * sigmoid(b))
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(host(activations.gelu(on, approximate=True).data), tanh_form)
    thresholded = activations.threshold(on, 0.3, -1.0).data
    np.testing.assert_allclose(host(thresholded), np.where(x > 0.3, x, -1))
    log_softmax = x - np.log(np.exp(x).sum(-1, keepdims=True))
    np.testing.assert_allclose(host(activations.log_softmax(on).data), log_softmax)
    sparse = host(activations.sparsemax(on).data)
    np.testing.assert_allclose(sparse, [numpy_sparsemax(row) for row in x], atol=1e-12)
    np.testing.assert_allclose(sparse.sum(-1), 1)
    assert (sparse == 0).any()
    by_column = host(activations.sparsemax(on, axis=0).data).T
    np.testing.assert_allclose(by_column, [numpy_sparsemax(c) for c in x.T], atol=1e-12)
    for fn in (activations.glu, activations.sparsemax, lambda t: activations.gelu(t, True)):
        check_gradients(fn, x.copy(), device=device)
    with pytest.raises(ValueError, match="glu: axis -1 must have an even size"):
        activations.glu(Tensor(np.ones((2, 3))))


def test_layers_take_activation_functions_and_find_custom_ones_by_name(tmp_path):
    from minicnn import registry

    def scaled_tanh(x):
        return activations.tanh(x) * 1.7

    x, y = toy_data(48)
    model = Sequential(
        [
            L.Input((8, 8, 1)),
            L.Flatten(),
            L.Dense(8, activation=activations.swish),
            L.Dense(8, activation=scaled_tanh),
            L.Dense(3, activation="softmax"),
        ]
    )
    assert model.layers[1].get_config()["activation"] == "silu"  # Keras' name for swish
    assert model.layers[2].get_config()["activation"] == {  # Keras' entry of a function
        "module": "builtins",
        "class_name": "function",
        "config": "scaled_tanh",
        "registered_name": "function",
    }
    model.compile("adam", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "custom.minicnn")
    with pytest.raises(ValueError, match="Unknown activation 'scaled_tanh'"):
        load_model(tmp_path / "custom.minicnn")
    loaded = load_model(tmp_path / "custom.minicnn", custom_objects={"scaled_tanh": scaled_tanh})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    registry.register_keras_serializable("tests")(scaled_tanh)
    again = load_model(tmp_path / "custom.minicnn")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert activations.serialize(activations.get("hard_swish")) == "hard_silu"
    assert activations.deserialize("celu") is activations.celu


def test_softmax_over_another_axis_as_keras(device):
    from minicnn import Input, Sequential

    x = np.random.default_rng(4).normal(size=(2, 3, 4))
    model = Sequential([Input((3, 4)), L.Softmax(axis=1)]).to(device)
    got = model.predict(x.astype(np.float32), verbose=0)
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    check_gradients(lambda t: L.Softmax(axis=1)(t), x.copy(), device=device)
    with pytest.raises(ValueError, match="out of range"):
        Sequential([Input((3, 4)), L.Softmax(axis=4)])


def test_relu6_clips_in_one_pass_and_passes_gradients_strictly_inside(device):
    """ReLU(max_value=6) (MobileNetV2's) takes its own one-pass form: the same values as the
    general relu, and the gradient 1 only strictly between 0 and 6, as Keras' relu has it
    (0 at x = 0 and from 6 up)."""
    from minicnn import activation_ops
    from minicnn.autograd import Tensor

    values = np.array([-2.0, 0.0, 0.5, 5.9, 6.0, 9.0])
    x = Tensor(backend.to_device(values, device), requires_grad=True)
    y = L.ReLU(max_value=6.0)(x)
    assert isinstance(y.creator, activation_ops.ClippedReLU)
    y.backward(backend.to_device(np.ones(6), device))
    np.testing.assert_array_equal(host(y.data), [0, 0, 0.5, 5.9, 6, 6])
    np.testing.assert_array_equal(host(x.grad), [0, 0, 1, 1, 0, 0])
    check_layer_gradients(L.ReLU(max_value=1.5), np.array([[-1.0, 0.3, 0.9, 2.0]]), device=device)
