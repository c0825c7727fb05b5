"""``minicnn.ops`` called on a functional model's symbolic tensors (Keras 3's ops on
KerasTensors): each call becomes an OpCall layer that gives what the same call gives on real
arrays, differentiates (float64 finite differences), trains, saves and loads with its
arguments, and refuses, with the reason, what cannot be a layer of a graph."""

import numpy as np
import pytest
from gradcheck import check_gradients

from minicnn import Input, Model, load_model, ops
from minicnn import layers as L
from minicnn.autograd import Tensor

ROWS = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(4, 3)

# name: (the op on one input of sample shape (4, 3), as a model's graph and as eager code)
CASES = {
    "mean over a list of axes": lambda x: ops.mean(x, axis=[1, 2]),
    "sum keepdims": lambda x: ops.sum(ops.square(x), axis=-1, keepdims=True),
    "rsqrt normalization": lambda x: x * ops.rsqrt(1e-8 + ops.sum(x * x, axis=-1, keepdims=True)),
    "concatenate": lambda x: ops.concatenate([x, ops.exp(x)], axis=-1),
    "stack": lambda x: ops.stack([x, x * 2.0], axis=1),
    "einsum": lambda x: ops.einsum("bij,bkj->bik", x, x),
    "where": lambda x: ops.where(x > 0.0, x, 0.1 * x),
    "clip": lambda x: ops.clip(x, -0.5, 0.5),
    "transpose keeping the batch": lambda x: ops.transpose(x, (0, 2, 1)),
    "reshape with -1": lambda x: ops.reshape(x, (-1, 12)),
    "matmul by a constant": lambda x: ops.matmul(x, ROWS.T),
    "constant first": lambda x: ops.subtract(ROWS, x),
    "take along the last axis": lambda x: ops.take(x, np.array([2, 0]), axis=-1),
    "cast to float64 and back": lambda x: ops.cast(ops.cast(x, "float64") * 2.0, "float32"),
    "softmax": lambda x: ops.softmax(x, axis=-1),
    "image resize": lambda x: ops.image.resize(ops.expand_dims(x, -1), (8, 6)),
    "linalg inverse": lambda x: ops.linalg.inv(ops.matmul(x, ops.transpose(x, (0, 2, 1))) + 3.0),
    "argmax": lambda x: ops.argmax(x, axis=-1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_op_in_a_graph_gives_what_it_gives_eagerly(case, device):
    op = CASES[case]
    x = Input((4, 3))
    model = Model(x, op(x)).to(device)
    data = np.random.default_rng(0).standard_normal((5, 4, 3)).astype(np.float32)
    expected = np.asarray(ops.convert_to_numpy(op(Tensor(data))))
    got = model.predict(data, verbose=0)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_ops_of_several_results_give_a_tensor_each():
    x = Input((6,))
    values, indices = ops.top_k(x, 2)
    parts = ops.split(x, 3, axis=-1)
    q, r = ops.linalg.qr(L.Reshape((3, 2))(x))
    assert (values.shape, indices.shape, len(parts), q.shape, r.shape) == (
        (None, 2),
        (None, 2),
        3,
        (None, 3, 2),
        (None, 2, 2),
    )
    model = Model(x, [values, parts[1], q @ r])
    data = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    top, middle, product = model.predict(data, verbose=0)
    np.testing.assert_allclose(top, -np.sort(-data, axis=-1)[:, :2])
    np.testing.assert_allclose(middle, data[:, 2:4])
    np.testing.assert_allclose(product, data.reshape(4, 3, 2), rtol=1e-4, atol=1e-5)


def test_int_inputs_keep_their_dtype_through_ops():
    ids = Input((5,), dtype="int32")
    codes = ops.one_hot(ids, 4)
    assert codes.shape == (None, 5, 4)
    model = Model(ids, ops.sum(codes * np.arange(4.0, dtype=np.float32), axis=-1))
    data = np.array([[0, 1, 2, 3, 1], [3, 3, 0, 0, 2]])
    np.testing.assert_allclose(model.predict(data, verbose=0), data.astype(np.float32))


def test_an_op_layer_differentiates():
    x = Input((4, 3))
    model = Model(x, ops.mean(x * ops.rsqrt(1.0 + ops.sum(x * x, axis=-1, keepdims=True)), [1]))
    ops_layers = [layer for layer in model.operations if isinstance(layer, L.OpCall)]
    assert [layer.function for layer in ops_layers] == ["sum", "rsqrt", "mean"]
    array = np.random.default_rng(2).standard_normal((2, 4, 3))
    check_gradients(lambda t: model(t), array, rtol=1e-4)


def test_a_model_with_ops_trains_saves_and_loads(tmp_path):
    x = Input((4, 3))
    h = L.Dense(5)(x)
    y = ops.mean(ops.concatenate([h, ops.matmul(x, ROWS.T)], axis=-1), axis=[1])
    model = Model(x, L.Dense(2, activation="softmax")(y))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(3)
    data = rng.standard_normal((32, 4, 3)).astype(np.float32)
    labels = (data.sum(axis=(1, 2)) > 0).astype(np.int64)
    history = model.fit(data, labels, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "ops.keras")
    loaded = load_model(tmp_path / "ops.keras")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    # minicnn's file keeps the op by name; Keras' config (get_config) as Keras' operation.
    config = next(c for c in loaded._own_config()["layers"] if c["class_name"] == "OpCall")
    assert config["config"]["function"] == "matmul"
    keras_entry = next(c for c in loaded.get_config()["layers"] if c["class_name"] == "Matmul")
    assert keras_entry["module"] == "keras.src.ops.numpy"


@pytest.mark.parametrize(
    "op, reason",
    [
        (lambda x: L.Dense(2)(ops.sum(x)), "one value for the whole batch"),
        (lambda x: ops.cumsum(x, axis=0), "a result of its own"),
        (lambda x: ops.flip(x, axis=0), "a result of its own"),
        (lambda x: ops.reshape(x, (-1,)), "keep the batch axis first"),
        (lambda x: ops.matmul(x, np.ones((5, 2), np.float32)), "failed"),
        (lambda x: ops.add(x, Tensor(np.ones(3), requires_grad=True)), "would not be trained"),
        (lambda x: ops.add(x, object()), "cannot go with symbolic tensors"),
    ],
)
def test_what_cannot_be_a_layer_is_refused_with_the_reason(op, reason):
    with pytest.raises((ValueError, TypeError), match=reason):
        op(Input((4, 3)))


def test_static_facts_need_no_layer():
    x = Input((4, 3))
    assert ops.shape(x) == (None, 4, 3)
    assert ops.ndim(x) == 3
    assert ops.convert_to_tensor(x) is x
    assert not ops.is_tensor(x)


def test_a_python_function_argument_runs_but_is_not_saved(tmp_path):
    x = Input((4, 3))
    model = Model(x, ops.map(lambda t: t * 2.0, x))
    data = np.ones((2, 4, 3), np.float32)
    np.testing.assert_allclose(model.predict(data, verbose=0), 2 * data)
    with pytest.raises(TypeError, match="Python code"):
        model.save(tmp_path / "map.keras")


@pytest.mark.parametrize("name", ["not_an_op", "np.save", "builtins.eval", "image.np", "_data"])
def test_only_ops_can_be_named(name):
    """A name read from a model file reaches minicnn's ops and nothing else (NumPy's save,
    Python's eval)."""
    with pytest.raises(ValueError, match="no function"):
        L.OpCall(name)


def test_eager_ops_take_a_list_of_axes():
    data = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_allclose(ops.mean(data, axis=[1, 2]).data, data.mean(axis=(1, 2)))
    np.testing.assert_allclose(ops.max(data, [0, 2]).data, data.max(axis=(0, 2)))
