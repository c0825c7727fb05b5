"""Arithmetic on a functional model's symbolic tensors (Keras' KerasTensor operators): each
operator gives NumPy's result, differentiates (float64 finite differences), trains, saves and
loads with its constants, and refuses operands that cannot fit with a reason."""

import numpy as np
import pytest
from gradcheck import check_gradients

from minicnn import Input, Model, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor

CASES = {
    "x + 3": (lambda x, y: x + 3.0, lambda x, y: x + 3.0),
    "2 - x": (lambda x, y: 2.0 - x, lambda x, y: 2.0 - x),
    "x * y": (lambda x, y: x * y, lambda x, y: x * y),
    "x / (y*y + 1)": (lambda x, y: x / (y * y + 1.0), lambda x, y: x / (y * y + 1.0)),
    "x ** 2": (lambda x, y: x**2, lambda x, y: x**2),
    "2 ** x": (lambda x, y: 2.0**x, lambda x, y: 2.0**x),
    "-abs(x)": (lambda x, y: -abs(x), lambda x, y: -np.abs(x)),
    "x @ y.T-ish": (lambda x, y: x @ np.ones((3, 2)), lambda x, y: x @ np.ones((3, 2))),
    "x * row": (lambda x, y: x * np.arange(3.0), lambda x, y: x * np.arange(3.0)),
    "x // 1 and x % 1": (lambda x, y: (x // 1.0) + x % 1.0, lambda x, y: x // 1.0 + x % 1.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_operators_give_numpys_results(case, device):
    symbolic, numeric = CASES[case]
    x, y = Input((4, 3)), Input((4, 3))
    model = Model([x, y], symbolic(x, y)).to(device)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((5, 4, 3)).astype(np.float32) for _ in range(2))
    np.testing.assert_allclose(
        model.predict([a, b], verbose=0), numeric(a, b), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "operation, constant, first",
    [
        ("add", 3.0, False),
        ("subtract", 2.0, True),
        ("multiply", None, False),
        ("divide", None, False),
        ("power", 3.0, False),
        ("power", 2.0, True),
        ("power", None, False),  # a tensor exponent: ops.power as Keras'
        ("matmul", np.linspace(-1, 1, 6).reshape(3, 2), False),
        ("absolute", None, False),
    ],
)
def test_each_operation_differentiates(operation, constant, first, device):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 4, 3)) + 3.0]  # away from 0: abs and divide stay smooth
    if constant is None and operation not in ("absolute",):
        arrays.append(rng.standard_normal((2, 4, 3)) + 3.0)
    layer = L.TensorArithmetic(operation, constant=constant, constant_first=first)
    check_gradients(lambda *ts: layer(list(ts)), *arrays, rtol=1e-4, device=device)


def test_a_model_with_arithmetic_trains_saves_and_loads(tmp_path, device):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    inputs = Input((6,))
    hidden = L.Dense(8, activation="relu")((inputs - np.full(6, 0.1)) * 0.5)
    outputs = L.Dense(2, activation="softmax")(hidden + 1.0 / (1.0 + abs(hidden)))
    model = Model(inputs, outputs).to(device)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "arithmetic.minicnn")
    loaded = load_model(tmp_path / "arithmetic.minicnn", device=device)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    kinds = [type(layer).__name__ for layer in loaded.operations]
    assert kinds.count("TensorArithmetic") == 6


def test_operands_that_cannot_fit_are_refused():
    x = Input((4, 3))
    with pytest.raises(ValueError, match="samples of one rank"):
        x + Input((3,))
    with pytest.raises(ValueError, match=r"do not fit together \(sample shapes"):
        x * np.ones((5, 3))
    with pytest.raises(ValueError, match="do not fit together"):
        x + np.ones((2, 4, 3))  # a constant may not add axes before the batch
    with pytest.raises(ValueError, match="the batch axis comes first"):
        np.ones((2, 4)).tolist() @ x
    with pytest.raises(TypeError, match="give a number or a NumPy array"):
        x + Tensor(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="operation must be one of"):
        L.TensorArithmetic("hypot")
    with pytest.raises(ValueError, match=r"\(Multiply\) needs inputs of one rank"):
        L.Multiply()([x, Input((3,))])


KEYS = [np.s_[:, 0], np.s_[..., :2], np.s_[:, None, 1:3, ::2, -1], np.s_[:, ::-1, 1]]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_indexing_a_symbolic_tensor_slices_each_sample(key, device, tmp_path):
    x = Input((4, 5, 3))
    model = Model(x, L.Dense(2)(L.Flatten()(x[key]))).to(device)
    data = np.random.default_rng(7).standard_normal((3, 4, 5, 3)).astype(np.float32)
    sliced = Model(x, x[key]).to(device)
    np.testing.assert_array_equal(sliced.predict(data, verbose=0), data[key])
    model.save(tmp_path / "sliced.minicnn")
    again = load_model(tmp_path / "sliced.minicnn", device=device)
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0))
    layer = L.GetItem(key)
    check_gradients(
        lambda t: layer(t), np.random.default_rng(8).standard_normal((2, 4, 5, 3)), device=device
    )


def test_keys_that_would_mix_samples_are_refused():
    x = Input((4, 3))
    for key in (0, np.s_[0:1], np.s_[::-1], np.s_[..., 0, 0, 0]):
        with pytest.raises(ValueError, match="must keep the batch axis first and whole"):
            x[key]
    with pytest.raises(ValueError, match="does not index samples of shape"):
        x[:, 7]
    with pytest.raises(TypeError, match="takes ints, slices, None and ... as indices"):
        x[:, [0, 1]]
    with pytest.raises(TypeError, match="Iterating over a symbolic tensor is not supported"):
        list(x)
