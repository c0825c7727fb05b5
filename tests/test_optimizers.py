"""The optimizers against Keras' rules, written out, and against the golden values of Keras'
own tests; weight decay and gradient clipping."""

import numpy as np
import pytest
from test_models import small_cnn, toy_data

from minicnn import Input, Sequential, load_model, optimizers, set_random_seed
from minicnn import layers as L
from minicnn.autograd import Tensor


def steps(optimizer, w0, grads):
    """The weights after applying each gradient in turn."""
    p = Tensor(np.array(w0, np.float64), requires_grad=True)
    for g in grads:
        p.grad = np.array(g, np.float64)
        optimizer.update_weights([p])
    return p.data


def f32(rate: float) -> float:
    """A rate as the optimizer holds it: in a float32 variable, as Keras does."""
    return float(np.float32(rate))


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
        increment = f32(0.01) * g / np.sqrt(denominator)
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
        p.data = p.data - p.data * 0.5 * f32(0.01)
        p.grad = g
        adam.update_weights([p])
    np.testing.assert_allclose(got, p.data, rtol=1e-12)
    assert optimizers.AdamW().weight_decay == 0.004  # Keras' default
    assert optimizers.get("AdamW").get_config()["weight_decay"] == 0.004
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)


def test_exclude_from_weight_decay_exempts_weights_by_list_or_name():
    """Keras' ``exclude_from_weight_decay``: ``var_names`` patterns match a weight's name
    (Keras' ``variable.name``: kernel, bias), ``var_list`` names weights themselves. Keras
    3.15's AdamW with var_names=["bias"] took the same steps (to 2e-7 in float32)."""
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((3, 4))
    kernel = Tensor(rng.standard_normal(4), requires_grad=True, name="kernel")
    bias = Tensor(rng.standard_normal(4), requires_grad=True, name="bias")
    start = kernel.data.copy(), bias.data.copy()
    optimizer = optimizers.AdamW(0.01, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    for g in grads:
        kernel.grad, bias.grad = g, g
        optimizer.update_weights([kernel, bias])
    np.testing.assert_allclose(kernel.data, steps(optimizers.AdamW(0.01, 0.5), start[0], grads))
    np.testing.assert_allclose(bias.data, steps(optimizers.Adam(0.01), start[1], grads))
    with pytest.raises(ValueError, match="before the optimizer is built"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])
    listed = optimizers.AdamW(0.01, weight_decay=0.5)
    listed.exclude_from_weight_decay(var_list=[kernel])
    got = kernel.data.copy()
    kernel.grad = grads[0]
    listed.update_weights([kernel])
    np.testing.assert_allclose(kernel.data, steps(optimizers.Adam(0.01), got, grads[:1]))
    with pytest.raises(TypeError, match="list of strings"):
        optimizers.AdamW().exclude_from_weight_decay(var_names="bias")


def test_amsgrad_divides_by_the_largest_second_moment_seen():
    """Keras' AMSGrad: v_hat = max(v_hat, v), and the step divides by sqrt(v_hat)."""
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal(5)
    # Large gradients first, then small ones, so that v falls below v_hat.
    grads = np.concatenate([3 * rng.standard_normal((3, 5)), 0.1 * rng.standard_normal((4, 5))])
    got = steps(optimizers.Adam(0.01, amsgrad=True), w0, grads)
    plain = steps(optimizers.Adam(0.01), w0, grads)
    w, m, v, v_hat = w0.copy(), np.zeros(5), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * 0.1
        v = v + (g * g - v) * 0.001
        v_hat = np.maximum(v_hat, v)
        alpha = f32(0.01) * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        w = w - alpha * m / (np.sqrt(v_hat) + 1e-7)
    np.testing.assert_allclose(got, w, rtol=1e-12)
    assert np.abs(got - plain).max() > 1e-6  # v_hat made a difference
    assert optimizers.Adam(amsgrad=True).get_config()["amsgrad"] is True
    assert optimizers.get({"class_name": "AdamW", "config": {"amsgrad": True}}).amsgrad
    assert "amsgrad" not in optimizers.Adamax().get_config()


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
    optimizers.SGD(**sgd, global_clipnorm=6.5).update_weights([a, b])
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
    with pytest.raises(TypeError, match="Adamax takes no argument 'amsgrad'"):
        optimizers.Adamax(amsgrad=True)
    with pytest.raises(TypeError, match="Nadam takes no argument 'amsgrad'"):
        optimizers.Nadam(amsgrad=True)
    with pytest.raises(ValueError, match="Unknown optimizer 'adabelief'; known: adadelta"):
        optimizers.get("adabelief")
    with pytest.raises(ValueError, match="learning_rate_power must be <= 0"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength must be >= 0"):
        optimizers.Ftrl(l1_regularization_strength=-1)
    with pytest.raises(ValueError, match="initial_accumulator_value must be a number >= 0"):
        optimizers.Adagrad(initial_accumulator_value=-0.1)
    with pytest.raises(ValueError, match=r"beta_1 must be in \(0, 1\], got 0"):
        optimizers.Lion(beta_1=0)
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\), got 1.5"):
        optimizers.Adadelta(rho=1.5)


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: optimizers.RMSprop(0.005),
        lambda: optimizers.AdamW(0.01, weight_decay=0.01, clipnorm=1.0),
        lambda: {"name": "rmsprop", "learning_rate": 0.01, "centered": True},
        lambda: optimizers.Nadam(0.005),
        lambda: optimizers.Adamax(0.01),
        lambda: optimizers.Adagrad(0.1),
        lambda: optimizers.Adadelta(10.0, epsilon=1e-6),
        lambda: optimizers.Lion(0.005, weight_decay=0.01),
        lambda: optimizers.Lamb(0.02),
        lambda: optimizers.Adafactor(0.05),
        lambda: optimizers.ScheduleFreeAdamW(0.01),
        # 36 calls: saved with one gradient of the next update's 5 added up.
        lambda: optimizers.Adam(0.03, gradient_accumulation_steps=5, use_ema=True),
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
    for a, b in zip(loaded.optimizer.state_arrays(), model.optimizer.state_arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    # Both go on identically from the saved state (and the same dropout masks).
    losses = []
    for m in (model, loaded):
        set_random_seed(5)
        history = m.fit(x[:64], y[:64], batch_size=16, epochs=1, shuffle=False, verbose=0)
        losses.append(history.history["loss"])
    assert losses[0] == losses[1]
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# Keras' test_correctness_with_golden (keras/src/optimizers/*_test.py): one step with the
# gradient 0.01 everywhere, then steps with 0.1, 0.2, ..., 1.0, from ones; the weights after
# each of the first five steps, to 4 decimals.
GOLDEN = {
    "adagrad": (
        lambda: optimizers.Adagrad(0.2, initial_accumulator_value=0.3, epsilon=1e-6),
        [
            [0.9963] * 10,
            [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
            [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
            [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
            [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825],
        ],
    ),
    "adadelta": (
        lambda: optimizers.Adadelta(1.0, rho=0.8, epsilon=1e-6),
        [[v] * 10 for v in (0.9978, 0.9947, 0.9915, 0.9882, 0.9849)],
    ),
    "adamax": (
        lambda: optimizers.Adamax(0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6),
        [
            [0.8] * 10,
            [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
            [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
            [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
            [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126],
        ],
    ),
    "nadam": (
        lambda: optimizers.Nadam(0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5),
        [
            [0.4281] * 10,
            [
                -0.1738,
                -0.1731,
                -0.1726,
                -0.1723,
                -0.1721,
                -0.172,
                -0.1719,
                -0.1718,
                -0.1718,
                -0.1717,
            ],
            [
                -0.7115,
                -0.7103,
                -0.7096,
                -0.7092,
                -0.709,
                -0.7088,
                -0.7086,
                -0.7085,
                -0.7085,
                -0.7084,
            ],
            [
                -1.2335,
                -1.2322,
                -1.2313,
                -1.2309,
                -1.2306,
                -1.2304,
                -1.2302,
                -1.2301,
                -1.23,
                -1.2299,
            ],
            [
                -1.7492,
                -1.7478,
                -1.7469,
                -1.7464,
                -1.7461,
                -1.7459,
                -1.7457,
                -1.7456,
                -1.7455,
                -1.7454,
            ],
        ],
    ),
    "lion": (lambda: optimizers.Lion(), [[v] * 10 for v in (0.999, 0.998, 0.997, 0.996, 0.995)]),
    "adafactor": (  # Keras' adafactor_test golden values
        lambda: optimizers.Adafactor(
            learning_rate=0.5,
            beta_2_decay=-0.65,
            epsilon_1=1e-15,
            epsilon_2=1e-4,
            clip_threshold=0.9,
            relative_step=False,
        ),
        [
            [0.55] * 10,
            [0.3031, 0.3026, 0.3025] + [0.3024] * 7,
            [0.1671, 0.1665] + [0.1663] * 8,
            [0.0923, 0.0916, 0.0915] + [0.0914] * 7,
            [0.0554, 0.0548] + [0.0546] * 5 + [0.0545] * 3,
        ],
    ),
    "lamb": (
        lambda: optimizers.Lamb(),
        [[v] * 10 for v in (0.999, 0.9982, 0.9974, 0.9965, 0.9955)],
    ),
    "ftrl": (
        lambda: optimizers.Ftrl(
            0.05,
            learning_rate_power=-0.2,
            initial_accumulator_value=0.4,
            l1_regularization_strength=0.05,
            l2_regularization_strength=0.15,
            l2_shrinkage_regularization_strength=0.01,
            beta=0.3,
        ),
        [
            [0.0] * 10,
            [
                -0.0034,
                -0.0077,
                -0.0118,
                -0.0157,
                -0.0194,
                -0.023,
                -0.0263,
                -0.0294,
                -0.0325,
                -0.0354,
            ],
            [
                -0.0078,
                -0.0162,
                -0.0242,
                -0.0317,
                -0.0387,
                -0.0454,
                -0.0516,
                -0.0575,
                -0.0631,
                -0.0685,
            ],
            [
                -0.0121,
                -0.0246,
                -0.0363,
                -0.0472,
                -0.0573,
                -0.0668,
                -0.0757,
                -0.0842,
                -0.0922,
                -0.0999,
            ],
            [
                -0.0164,
                -0.0328,
                -0.0481,
                -0.0623,
                -0.0753,
                -0.0875,
                -0.099,
                -0.1098,
                -0.1201,
                -0.1299,
            ],
        ],
    ),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_optimizers_reproduce_keras_golden_values(name):
    make, golden = GOLDEN[name]
    p = Tensor(np.ones(10), requires_grad=True)
    optimizer = make()
    for i, grad in enumerate([np.full(10, 0.01)] + [np.arange(1, 11) / 10] * 4):
        p.grad = grad
        optimizer.update_weights([p])
        np.testing.assert_allclose(p.data, golden[i], rtol=5e-4, atol=5e-4)
    assert type(optimizers.get(name)) is type(optimizer)


def test_single_steps_of_keras_docstrings_and_tests():
    grads, w = [[1.0, 6.0, 7.0, 2.0]], [1.0, 2.0, 3.0, 4.0]
    nadam = steps(optimizers.Nadam(0.5), w, grads)
    np.testing.assert_allclose(nadam, [0.4686, 1.4686, 2.4686, 3.4686], atol=1e-4)
    np.testing.assert_allclose(steps(optimizers.Lion(0.5), w, grads), [0.5, 1.5, 2.5, 3.5])
    lamb = steps(optimizers.Lamb(0.5), w, grads)
    np.testing.assert_allclose(lamb, [-0.3693, 0.6306, 1.6306, 2.6306], atol=1e-4)
    ftrl = steps(optimizers.Ftrl(0.5), w, grads)
    np.testing.assert_allclose(ftrl, [0.2218, 1.3954, 2.3651, 2.8814], atol=1e-4)
    # Keras' weight-decay test: three decays of 2.0 at rate 1.0 with a zero gradient.
    for make in (
        optimizers.Nadam,
        optimizers.Adamax,
        optimizers.Adagrad,
        optimizers.Lion,
        optimizers.Lamb,
    ):
        w = [2.0]
        for _ in range(3):
            w = steps(make(1.0, weight_decay=0.004), w, [[0.0]])
        assert w[0] == pytest.approx(1.9760959, abs=1e-6)


def test_nadam_follows_its_momentum_schedule_over_many_steps():
    """Keras' formulas written out, with the running product U_t kept as Keras keeps it."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal(6)
    grads = rng.standard_normal((40, 6))
    optimizer = optimizers.Nadam(0.01, beta_1=0.8, beta_2=0.9)
    got = steps(optimizer, w, grads)
    m = v = np.zeros(6)
    product = 1.0
    for t, g in enumerate(grads, start=1):
        u_t = 0.8 * (1 - 0.5 * 0.96**t)
        u_next = 0.8 * (1 - 0.5 * 0.96 ** (t + 1))
        product *= u_t
        m = m + (g - m) * 0.2
        v = v + (g * g - v) * 0.1
        m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
        v_hat = v / (1 - 0.9**t)
        w = w - f32(0.01) * m_hat / (np.sqrt(v_hat) + 1e-7)
    np.testing.assert_allclose(got, w, rtol=1e-12)
    # A state restored at step 40 goes on as the optimizer that made it.
    again = optimizers.Nadam(0.01, beta_1=0.8, beta_2=0.9)
    p = Tensor(got.copy(), requires_grad=True)
    again.set_state([p], optimizer.iterations, optimizer.state_arrays())
    q = Tensor(got.copy(), requires_grad=True)
    optimizer._params = [q]
    p.grad = q.grad = grads[0]
    again.update_weights([p])
    optimizer.update_weights([q])
    np.testing.assert_allclose(p.data, q.data, rtol=1e-15)


def test_ema_follows_keras_and_replaces_the_weights_at_the_end():
    """use_ema: the average starts at the first update's weights and moves by 1 - momentum;
    every ema_overwrite_frequency updates the weights take its values."""
    rng = np.random.default_rng(5)
    grads = rng.standard_normal((6, 3))
    optimizer = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=4)
    p = Tensor(np.zeros(3), requires_grad=True)
    w, ema = np.zeros(3), None
    for t, g in enumerate(grads, start=1):
        p.grad = g
        optimizer.update_weights([p])
        w = w - f32(0.1) * g
        ema = w.copy() if ema is None else 0.5 * ema + 0.5 * w
        if t % 4 == 0:
            w = ema.copy()
        np.testing.assert_allclose(p.data, w, rtol=1e-12)
        np.testing.assert_allclose(optimizer.state_arrays()[0], ema, rtol=1e-12)
    optimizer.finalize_variable_values([p])
    np.testing.assert_allclose(p.data, ema, rtol=1e-12)
    with pytest.raises(ValueError, match=r"ema_momentum must be in \[0, 1\]"):
        optimizers.Adam(use_ema=True, ema_momentum=2)


def test_gradient_accumulation_follows_keras_with_ema_and_a_schedule():
    """Keras' gradient_accumulation_steps: the gradients of n calls add up and the n-th
    updates with their mean; iterations counts updates, the schedule reads the calls; the
    moving average follows every call and copies until the first update. Keras 3.15 took
    the same steps on these cases (AdamW, within float32 rounding: 1.7e-6 after 8 calls,
    as plain AdamW at this rate)."""
    rng = np.random.default_rng(5)
    w0, grads = rng.standard_normal(4), rng.standard_normal((8, 4))
    p = Tensor(w0.copy(), requires_grad=True)
    schedule = optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    optimizer = optimizers.SGD(
        schedule, gradient_accumulation_steps=3, use_ema=True, ema_momentum=0.5, weight_decay=0.1
    )
    w, total, ema, updates = w0.copy(), np.zeros(4), None, 0
    for call, g in enumerate(grads):
        p.grad = g
        optimizer.update_weights([p])
        before = updates
        if (call + 1) % 3:
            total = total + g
        else:
            rate = f32(0.1 * 0.5**call)  # the schedule at Keras' _iterations, the calls so far
            w = w - w * 0.1 * rate
            w = w - rate * (total + g) / 3
            total, updates = np.zeros(4), updates + 1
        ema = w.copy() if before == 0 else 0.5 * ema + 0.5 * w
        np.testing.assert_allclose(p.data, w, rtol=1e-12)
        assert (optimizer.iterations, optimizer.steps_applied) == (updates, call + 1)
        slots = optimizer._slots[0]
        np.testing.assert_allclose(slots["gradient_accumulator"], total, rtol=1e-12)
        np.testing.assert_allclose(slots["ema"], ema, rtol=1e-12)
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be an integer >= 2"):
        optimizers.Adam(gradient_accumulation_steps=1)
    config = optimizer.get_config()
    assert config["gradient_accumulation_steps"] == 3 and config["loss_scale_factor"] is None
    assert optimizers.SGD.from_config(config).get_config() == config


def test_fit_accumulating_gradients_trains_as_a_larger_batch():
    """The mean loss's gradients of 3 batches of 8, averaged, are those of one batch of 24:
    fit with gradient_accumulation_steps=3 at batch 8 takes the steps of batch 24."""
    x, y = toy_data()
    x, y = x[:48], y[:48]
    trained = []
    for batch_size, steps in ((8, 3), (24, None)):
        set_random_seed(3)
        model = Sequential([la for la in small_cnn().layers if not isinstance(la, L.Dropout)])
        model.compile(optimizers.Adam(0.01, gradient_accumulation_steps=steps), jit_compile=True)
        model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
        assert model.optimizer.iterations == 4
        trained.append(model.get_weights())
    for a, b in zip(*trained, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_loss_scale_factor_scales_the_loss_and_unscales_the_gradients(tmp_path):
    """Keras' loss_scale_factor: fit scales the loss (scale_loss) and the update divides the
    gradients by the factor again, so training is the same; the logged loss is unscaled."""
    x, y = toy_data()
    runs = []
    for factor in (None, 1024.0):
        set_random_seed(3)
        model = small_cnn()
        model.compile(optimizers.Adam(0.01, loss_scale_factor=factor))
        history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        runs.append((history.history["loss"], model.get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert optimizers.Adam(loss_scale_factor=8.0).scale_loss(2.0) == 16.0


def test_fit_with_ema_ends_on_the_averaged_weights_and_saves_them(tmp_path):
    x, y = toy_data()
    set_random_seed(3)
    model = small_cnn()
    model.compile(optimizers.Adam(0.01, use_ema=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    averages = model.optimizer.state_arrays()[0::3]  # each weight's (ema, m, v), sorted by name
    for w, ema in zip(model.get_weights(), averages, strict=True):
        np.testing.assert_array_equal(w, ema)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert loaded.optimizer.get_config()["use_ema"] is True
    for a, b in zip(loaded.optimizer.state_arrays(), model.optimizer.state_arrays(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ftrl_trains_a_sparse_linear_model_and_l1_zeroes_weights():
    """FTRL is for linear models (it sets each weight from its accumulated gradients rather
    than moving it, so a deep network loses its random start): a logistic regression on
    two informative features of twenty."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 20)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int64)
    model = Sequential([Input((20,)), L.Dense(2, activation="softmax")])
    model.compile(optimizers.Ftrl(0.5, l1_regularization_strength=2.0), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=10, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    kernel = model.get_weights()[0]
    assert (kernel[2:] == 0).mean() > 0.5  # L1 keeps most noise features at exactly 0
    assert (kernel[:2] != 0).all()


def test_adafactor_single_steps_of_keras_tests():
    """Keras' adafactor_test: one step on a vector (a full second moment) and on a matrix
    (factored into row and column means)."""
    for grads, start, expected in (
        ([1.0, 6.0, 7.0, 2.0], [1.0, 2.0, 3.0, 4.0], [-0.3693, 0.6307, 1.6307, 2.6307]),
        ([[1.0, 6.0], [7.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]], [[0.7007, -0.0081], [1.2492, 3.4407]]),
    ):
        p = Tensor(np.array(start, np.float32), requires_grad=True)
        p.grad = np.array(grads, np.float32)
        optimizers.Adafactor(learning_rate=0.5).update_weights([p])
        np.testing.assert_allclose(p.data, expected, rtol=1e-4, atol=1e-4)
    big = Tensor(np.ones((2, 3, 4), np.float32), requires_grad=True)
    optimizer = optimizers.Adafactor()
    big.grad = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    optimizer.update_weights([big])
    assert sorted(v.shape for v in optimizer.state_arrays()) == [(2, 3), (2, 3, 4), (2, 4)]


def keras_muon_steps(weights, grads_per_step, lr=0.02, momentum=0.95, decays=(0.004, 0.01)):
    """Keras 3.15's Muon in NumPy (float64): for each weight, Muon or AdamW by its rank, with
    the defaults but adam_weight_decay (``decays``: Muon's, then AdamW's)."""
    a, b, c, steps = 3.4445, -4.7750, 2.0315, 5
    state = [{"m": np.zeros_like(w), "v": np.zeros_like(w)} for w in weights]
    for t, grads in enumerate(grads_per_step, start=1):
        for w, g, s in zip(weights, grads, state, strict=True):
            w -= w * decays[w.ndim != 2] * lr
            if w.ndim == 2:
                s["m"] = momentum * s["m"] + g
                x = g + momentum * s["m"]
                tall = x.shape[0] > x.shape[1]
                x = x.T if tall else x
                x = x / (np.linalg.norm(x) + 1e-7)
                for _ in range(steps):
                    gram = x @ x.T
                    x = a * x + (b * gram + c * gram @ gram) @ x
                x = x.T if tall else x
                w -= lr * x * np.sqrt(max(w.shape)) * 0.2
            else:
                alpha = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
                s["m"] += (g - s["m"]) * 0.1
                s["v"] += (g * g - s["v"]) * 0.001
                w -= s["m"] * alpha / (np.sqrt(s["v"]) + 1e-7)
    return weights


def test_schedule_free_adamw_follows_keras():
    """Schedule-free AdamW (Defazio et al.) as Keras 3.15 writes it, in float64: z takes
    the Adam-style steps, x averages the z's (weight 1/t), the weight is their
    interpolation; warmup scales the rate by t / warmup_steps. Keras 3.15 took the same
    steps (float32, to 6e-7 after 8 steps) and read and wrote the same files."""
    rng = np.random.default_rng(7)
    w0, grads = rng.standard_normal(5), rng.standard_normal((6, 5))
    got = steps(optimizers.ScheduleFreeAdamW(0.05, warmup_steps=3, weight_decay=0.1), w0, grads)
    y, z, x, v = w0.copy(), w0.copy(), w0.copy(), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        y = y - y * 0.1 * f32(0.05)  # decoupled decay, at the full rate, before the step
        x = (y - 0.1 * z) / 0.9  # x, recovered from the decayed weight as Keras does
        v = 0.999 * v + 0.001 * g * g
        z = z - f32(0.05) * min(t / 3, 1) * g / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        x = (1 - 1 / t) * x + z / t
        y = 0.1 * z + 0.9 * x
    np.testing.assert_allclose(got, y, rtol=1e-12)
    assert optimizers.get("schedulefreeadamw").get_config()["learning_rate"] == f32(0.0025)
    with pytest.raises(ValueError, match="warmup_steps must be an int >= 0"):
        optimizers.ScheduleFreeAdamW(warmup_steps=-1)


def test_muon_follows_keras_update_and_orthogonalizes():
    rng = np.random.default_rng(0)
    start = [
        rng.standard_normal((6, 4)),
        rng.standard_normal((3, 5)),
        rng.standard_normal(4),
        rng.standard_normal((2, 3, 4)),
    ]
    grads = [[rng.standard_normal(w.shape) for w in start] for _ in range(3)]
    params = [Tensor(w.copy(), requires_grad=True) for w in start]
    optimizer = optimizers.Muon(learning_rate=0.02, adam_weight_decay=0.01)
    for step in grads:
        for p, g in zip(params, step, strict=True):
            p.grad = g.copy()
        optimizer.update_weights(params)
    expected = keras_muon_steps([w.copy() for w in start], grads, lr=f32(0.02))
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12)
    slots = [sorted(s) for s in optimizer._slots]
    adamw = ["momentum", "velocity"]
    assert slots == [["momentum"], ["momentum"], adamw, adamw]
    single = optimizers.Muon(
        learning_rate=1.0, weight_decay=None, momentum=0.0, nesterov=False, rms_rate=None
    )
    w = Tensor(np.zeros((8, 8)), requires_grad=True)
    w.grad = -rng.standard_normal((8, 8))
    single.update_weights([w])
    singular = np.linalg.svd(w.data, compute_uv=False)
    assert 0.6 < singular.min() and singular.max() < 1.3  # Newton-Schulz: near orthogonal


def test_muon_leaves_embeddings_and_excluded_layers_to_adamw(tmp_path):
    from minicnn import Input, Sequential
    from minicnn import layers as L

    x = np.random.default_rng(1).integers(0, 10, (64, 5))
    y = (x.sum(1) > 22).astype(np.int64)
    model = Sequential(
        [
            Input((5,)),
            L.Embedding(10, 4),
            L.Flatten(),
            L.Dense(8, activation="relu", name="hidden"),
            L.Dense(2, activation="softmax", name="output_dense"),
        ]
    )
    model.compile(optimizers.Muon(0.02, exclude_layers=["output_dense"]), metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    kinds = {
        model.optimizer.weight_paths[id(p)]: "adamw" if "velocity" in s else "muon"
        for p, s in zip(model.optimizer._params, model.optimizer._slots, strict=True)
    }
    assert kinds["embedding/embeddings"] == "adamw" and kinds["hidden/kernel"] == "muon"
    assert kinds["output_dense/kernel"] == "adamw" and kinds["hidden/bias"] == "adamw"
    model.save(tmp_path / "muon.minicnn")
    loaded = load_model(tmp_path / "muon.minicnn")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_a_muon_step_is_captured_and_trains_the_same(gpu):
    from test_graph_step import assert_same_training, fit_twice

    from minicnn import Input, Sequential
    from minicnn import layers as L

    def build(device):
        return Sequential(
            [Input((8, 8, 1)), L.Flatten(), L.Dense(6, activation="relu"), L.Dense(3, "softmax")],
            device=device,
        )

    plain = fit_twice(build, optimizers.Muon(0.02), jit_compile=False)
    captured = fit_twice(build, optimizers.Muon(0.02), jit_compile=True)
    assert_same_training(plain, captured)
    assert captured[0]._captured_step.failure is None


def test_a_learning_rate_of_zero_leaves_the_weights_as_keras():
    # Keras takes 0 (its step count moves on); a negative rate is refused.
    model = Sequential([Input((4,)), L.Dense(3)])
    model.compile(optimizers.Adam(0.0), "mse")
    before = model.get_weights()
    x = np.linspace(0, 1, 40, dtype=np.float32).reshape(10, 4)
    model.fit(x, np.zeros((10, 3), np.float32), epochs=2, verbose=0)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    assert int(model.optimizer.iterations) == 2
    assert model.optimizer.get_config()["learning_rate"] == 0.0
    with pytest.raises(ValueError, match="learning_rate must be a number >= 0, got -0.1"):
        optimizers.SGD(-0.1)
