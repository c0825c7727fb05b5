"""Keras' Dot merge layer: NumPy's einsum as the oracle for every pairing of axes, Keras'
docstring example, float64 gradient checks, cosine similarity with normalize, and a
two-tower model that trains, saves and loads."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import Input, Model, backend, load_model
from minicnn import layers as L
from minicnn.autograd import Tensor

# (first shape, second shape, axes, einsum of the batch dot product)
CASES = {
    "vectors": ((4, 5), (4, 5), 1, "bi,bi->b"),
    "keras docstring": ((1, 5, 2), (1, 2, 5), (1, 2), "bki,bjk->bij"),
    "last axes": ((3, 4, 6), (3, 5, 6), -1, "bik,bjk->bij"),
    "vector by matrix": ((3, 6), (3, 5, 6), (1, 2), "bk,bjk->bj"),
    "rank 4 by 3": ((2, 3, 4, 5), (2, 4, 6), (2, 1), "bikm,bkj->bimj"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_dot_follows_einsum_and_its_gradients_check(case, device):
    first_shape, second_shape, axes, spec = CASES[case]
    rng = np.random.default_rng(1)
    first, second = rng.standard_normal(first_shape), rng.standard_normal(second_shape)
    layer = L.Dot(axes=axes)
    on = [Tensor(backend.to_device(a, device)) for a in (first, second)]
    expected = np.einsum(spec, first, second)
    expected = expected.reshape(len(first), 1) if expected.ndim == 1 else expected
    out = layer(on)
    np.testing.assert_allclose(host(out), expected, rtol=1e-12)
    assert out.shape == layer.compute_output_shape([first_shape, second_shape])
    check_gradients(lambda a, b: L.Dot(axes=axes)([a, b]), first, second, device=device)


def test_dot_keras_example_and_cosine_similarity():
    x = np.arange(10, dtype=np.float64).reshape(1, 5, 2)
    y = np.arange(10, 20, dtype=np.float64).reshape(1, 2, 5)
    np.testing.assert_array_equal(L.Dot(axes=(1, 2))([x, y]).data, [[[260, 360], [320, 445]]])
    a, b = np.random.default_rng(2).standard_normal((2, 6, 8))
    cosine = L.Dot(axes=1, normalize=True)([a, b]).data[:, 0]
    expected = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(cosine, expected, rtol=1e-12)
    check_gradients(lambda p, q: L.Dot(axes=-1, normalize=True)([p, q]), a, b)
    with pytest.raises(ValueError, match="the axes to sum differ in size"):
        L.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="the batch axis 0 cannot be summed"):
        L.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="axes must be an int or a pair of ints"):
        L.Dot(axes=(1, 2, 3))


def test_a_two_tower_model_with_dot_trains_saves_and_loads(tmp_path, device):
    rng = np.random.default_rng(3)
    left, right = rng.standard_normal((2, 256, 6)).astype(np.float32)
    target = (np.sign((left * right).sum(1, keepdims=True)) > 0).astype(np.float32)
    a, b = Input((6,)), Input((6,))
    shared = L.Dense(6)
    score = L.dot([shared(a), shared(b)], axes=1)
    model = Model([a, b], L.Activation("sigmoid")(score)).to(device)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit([left, right], target, epochs=60, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    model.save(tmp_path / "towers.minicnn")
    loaded = load_model(tmp_path / "towers.minicnn", device=device)
    np.testing.assert_allclose(
        loaded.predict([left, right], verbose=0), model.predict([left, right], verbose=0)
    )
