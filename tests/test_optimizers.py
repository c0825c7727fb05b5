"""RMSprop, AdamW, weight decay and gradient clipping against Keras' rules, written out."""

import numpy as np
import pytest
from test_models import small_cnn, toy_data

from minicnn import load_model, optimizers, set_random_seed
from minicnn.autograd import Tensor


def steps(optimizer, w0, grads):
    """The weights after applying each gradient in turn."""
    p = Tensor(np.array(w0, np.float64), requires_grad=True)
    for g in grads:
        p.grad = np.array(g, np.float64)
        optimizer.apply([p])
    return p.data


def test_rmsprop_reproduces_the_keras_docstring_example():
    # keras.optimizers.RMSprop(learning_rate=0.1) on loss var**2 / 2 from var = 10: 9.683772.
    assert steps(optimizers.RMSprop(0.1), [10.0], [[10.0]])[0] == pytest.approx(9.683772, abs=1e-6)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_rmsprop_follows_keras_update_rule(centered, momentum):
    rng = np.random.default_rng(0)
    w = rng.standard_normal(5)
    grads = rng.standard_normal((4, 5))
    got = steps(optimizers.RMSprop(0.01, 0.8, momentum, 1e-7, centered), w, grads)
    v = mg = m = np.zeros(5)
    for g in grads:
        v = 0.8 * v + 0.2 * g * g
        denominator = v + 1e-7
        if centered:
            mg = 0.8 * mg + 0.2 * g
            denominator = denominator - mg * mg
        increment = 0.01 * g / np.sqrt(denominator)
        m = momentum * m + increment
        w = w - (m if momentum else increment)
    np.testing.assert_allclose(got, w, rtol=1e-12)


def test_adamw_decays_the_weights_before_the_adam_step():
    rng = np.random.default_rng(1)
    w0, grads = rng.standard_normal(4), rng.standard_normal((3, 4))
    got = steps(optimizers.AdamW(0.01, weight_decay=0.5), w0, grads)
    adam = optimizers.Adam(0.01)
    p = Tensor(w0.copy(), requires_grad=True)
    for g in grads:
        p.data = p.data - p.data * 0.5 * 0.01
        p.grad = g
        adam.apply([p])
    np.testing.assert_allclose(got, p.data, rtol=1e-12)
    assert optimizers.AdamW().weight_decay == 0.004  # Keras' default
    assert optimizers.get("AdamW").get_config()["weight_decay"] == 0.004
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)


def test_clipping_follows_keras():
    g = np.array([3.0, -4.0])  # norm 5
    sgd = dict(learning_rate=1.0)
    np.testing.assert_allclose(steps(optimizers.SGD(**sgd, clipnorm=1.0), [0, 0], [g]), [-0.6, 0.8])
    np.testing.assert_allclose(steps(optimizers.SGD(**sgd, clipnorm=10.0), [0, 0], [g]), -g)
    np.testing.assert_allclose(steps(optimizers.SGD(**sgd, clipvalue=2.0), [0, 0], [g]), [-2, 2])
    # Global: two weights of norms 5 and 12, together 13, scaled to 6.5.
    a = Tensor(np.zeros(2), requires_grad=True)
    b = Tensor(np.zeros(2), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 4.0]), np.array([12.0, 0.0])
    optimizers.SGD(**sgd, global_clipnorm=6.5).apply([a, b])
    np.testing.assert_allclose(a.data, [-1.5, -2.0])
    np.testing.assert_allclose(b.data, [-6.0, 0.0])


def test_bad_optimizer_arguments_are_named():
    with pytest.raises(
        ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"
    ):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="clipnorm must be a positive number or None, got -1"):
        optimizers.SGD(clipnorm=-1)
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\)"):
        optimizers.RMSprop(rho=1.0)
    with pytest.raises(TypeError, match="amsgrad"):
        optimizers.Adam(amsgrad=True)
    with pytest.raises(ValueError, match="Unknown optimizer 'adagrad'; known: adam, adamw"):
        optimizers.get("adagrad")


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: optimizers.RMSprop(0.005),
        lambda: optimizers.AdamW(0.01, weight_decay=0.01, clipnorm=1.0),
        lambda: {"name": "rmsprop", "learning_rate": 0.01, "centered": True},
    ],
)
def test_the_new_optimizers_train_and_survive_save_and_load(optimizer, tmp_path):
    x, y = toy_data()
    model = small_cnn()
    model.compile(optimizer(), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.6
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.optimizer.variables(), model.optimizer.variables(), strict=True):
        np.testing.assert_array_equal(a, b)
    # Both go on identically from the saved state (and the same dropout masks).
    losses = []
    for m in (model, loaded):
        set_random_seed(5)
        losses.append(m.fit(x[:32], y[:32], epochs=1, shuffle=False, verbose=0).history["loss"])
    assert losses[0] == losses[1]
