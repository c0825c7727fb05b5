"""Weight penalties: Keras' scale, their gradients, their place in the reported loss, and
their survival through save/load and checkpoints."""

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host
from test_models import toy_data

from minicnn import Input, Sequential, backend, load_model, regularizers
from minicnn import layers as L
from minicnn.autograd import Tensor
from minicnn.saving import _check_same_layers


@pytest.mark.parametrize(
    "regularizer", [regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.4)]
)
def test_penalties_and_their_gradients(regularizer, device):
    rng = np.random.default_rng(0)
    # Away from 0, where |w| has no derivative.
    w = rng.uniform(0.1, 1.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    value = backend.to_numpy(regularizer(backend.to_device(w, device)).data)
    # As in Keras, L1 has no l2 and L2 no l1.
    l1, l2 = getattr(regularizer, "l1", 0.0), getattr(regularizer, "l2", 0.0)
    expected = l1 * np.abs(w).sum() + l2 * (w * w).sum()
    assert float(value) == pytest.approx(expected, rel=1e-12)
    check_gradients(regularizer, w, device=device)


def test_names_and_configs_follow_keras():
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
    # Keras keeps L1's factor (only L1's) as a float32 tensor, which its config reads back.
    assert regularizers.get("L1").get_config() == {"l1": 0.009999999776482582}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    again = regularizers.get(regularizers.L2(0.5).serialize())
    assert isinstance(again, regularizers.L2) and again.l2 == 0.5
    with pytest.raises(ValueError, match="Unknown regularizer 'l3'"):
        L.Dense(2, kernel_regularizer="l3")
    message = "Invalid value for argument l2: expected a non-negative float.Received: l2=-1"
    with pytest.raises(ValueError, match=message):
        regularizers.L2(-1)
    assert not isinstance(regularizers.L1(), regularizers.L1L2)  # as in Keras
    assert regularizers.L1L2(l1=None, l2=0.5).get_config() == {"l1": 0.0, "l2": 0.5}

    class Unsaved(regularizers.Regularizer):
        pass

    with pytest.raises(NotImplementedError, match="does not implement get_config"):
        Unsaved().get_config()
    assert Unsaved()(Tensor(np.ones(3))) == 0.0


def model_with(kernel_regularizer=None, bias_regularizer=None):
    backend.set_random_seed(0)
    return Sequential(
        [
            Input((8, 8, 1)),
            L.Conv2D(3, 3, activation="relu", kernel_regularizer=kernel_regularizer),
            L.Flatten(),
            L.Dense(
                3,
                "softmax",
                kernel_regularizer=kernel_regularizer,
                bias_regularizer=bias_regularizer,
            ),
        ]
    )


def test_the_reported_loss_includes_the_penalties_as_in_keras(device):
    x, y = toy_data(32)
    plain = model_with().to(device)
    penalized = model_with(regularizers.L2(0.05), regularizers.L1(0.5)).to(device)
    penalized.set_weights(plain.get_weights())
    plain.compile("adam")
    penalized.compile("adam")
    conv_kernel, _, dense_kernel, dense_bias = plain.get_weights()
    dense_bias = np.full_like(dense_bias, 0.25)
    for m in (plain, penalized):
        m.layers[2].set_weights([dense_kernel, dense_bias])
    penalty = 0.05 * ((conv_kernel**2).sum() + (dense_kernel**2).sum()) + 0.5 * 0.75
    assert len(penalized.losses) == 3 and not plain.losses
    assert penalized.evaluate(x, y, verbose=0) == pytest.approx(
        plain.evaluate(x, y, verbose=0) + penalty, rel=1e-5
    )
    assert penalized.train_on_batch(x, y) == pytest.approx(
        plain.train_on_batch(x, y) + penalty, rel=1e-5
    )


def test_an_l2_penalty_keeps_the_weights_smaller():
    x, y = toy_data(96)
    norms = []
    for regularizer in (None, regularizers.L2(0.1)):
        model = model_with(regularizer)
        model.compile("adam")
        model.fit(x, y, batch_size=16, epochs=5, verbose=0)
        norms.append(sum(float((w**2).sum()) for w in model.get_weights()[::2]))
    assert norms[1] < 0.85 * norms[0], norms


def test_regularized_models_save_load_and_resume(tmp_path):
    x, y = toy_data(32)
    model = model_with(regularizers.L1L2(0.001, 0.01), "l2")
    model.compile("adam")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    dense = loaded.layers[2]
    assert isinstance(dense.kernel_regularizer, regularizers.L1L2)
    assert dense.bias_regularizer.get_config() == {"l2": 0.01}
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_files_from_before_new_layer_arguments_still_match():
    """A checkpoint written before ``trainable`` and the regularizers existed describes the
    same layers as today's defaults; a real difference is still found."""
    model = model_with()
    old = {"model": {"layers": []}}
    for layer in model.layers:
        config = {
            k: v
            for k, v in layer.get_config().items()
            if k not in ("trainable", "kernel_regularizer", "bias_regularizer")
        }
        old["model"]["layers"].append({"class_name": type(layer).__name__, "config": config})
    _check_same_layers(old, model, "old.npz")
    old["model"]["layers"][2]["config"]["units"] = 4
    with pytest.raises(Exception, match="another architecture"):
        _check_same_layers(old, model, "old.npz")


def keras_orthogonal(w, factor, mode):
    """Keras' formula, in NumPy: the mean |cosine| of distinct rows (or columns), halved."""
    vectors = w if mode == "rows" else w.T
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    gram = unit @ unit.T
    size = len(gram)
    return factor * 0.5 * np.abs(gram - np.diag(np.diag(gram))).sum() / (size * (size - 1) / 2)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_follows_keras(mode, device):
    w = np.random.default_rng(0).standard_normal((5, 4))
    penalty = regularizers.OrthogonalRegularizer(0.3, mode)
    value = float(host(penalty(Tensor(backend.to_device(w, device)))))
    assert value == pytest.approx(keras_orthogonal(w, 0.3, mode))
    check_gradients(lambda t: penalty(t), w, device=device)
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))[0]
    assert float(host(penalty(Tensor(q)))) == pytest.approx(0.0, abs=1e-12)
    again = regularizers.get(regularizers.serialize(penalty))
    assert (again.factor, again.mode) == (float(np.float32(0.3)), mode)  # Keras: float32
    assert isinstance(
        regularizers.get("orthogonal_regularizer"), regularizers.OrthogonalRegularizer
    )
    with pytest.raises(ValueError, match="2-D kernels"):
        penalty(Tensor(np.ones((2, 2, 2))))
