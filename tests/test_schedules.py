"""Learning-rate schedules: Keras' formulas, step counting from 0, and their place in the
optimizer's config, saving and checkpoints."""

import math

import numpy as np
import pytest
from test_models import small_cnn, toy_data

from minicnn import backend, load_model, optimizers
from minicnn.autograd import Tensor
from minicnn.optimizers import schedules


def test_exponential_and_inverse_time_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    # Values in float32, as Keras gives them.
    assert s(0) == np.float32(0.1) and s(10) == pytest.approx(0.05)
    assert s(5) == pytest.approx(0.1 * 0.5**0.5)
    stairs = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stairs(9) == np.float32(0.1) and stairs(15) == pytest.approx(0.05)
    inverse = schedules.InverseTimeDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert inverse(8) == pytest.approx(0.1 / 2) and inverse(2) == pytest.approx(0.1 / 1.25)
    assert schedules.InverseTimeDecay(0.1, 4, 0.5, staircase=True)(7) == pytest.approx(0.1 / 1.5)


def test_piecewise_constant_decay_includes_each_boundary_in_the_segment_before():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    tenth = np.float32(0.1)
    assert [s(0), s(10), s(11), s(20), s(21), s(1000)] == [1.0, 1.0, 0.5, 0.5, tenth, tenth]
    with pytest.raises(ValueError, match="one more value than boundaries"):
        schedules.PiecewiseConstantDecay([10], [1.0])
    with pytest.raises(ValueError, match="boundaries must increase"):
        schedules.PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1])


def test_polynomial_decay_with_and_without_cycles():
    s = schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.1, power=2.0)
    assert s(0) == 1.0 and s(5) == pytest.approx(0.9 * 0.25 + 0.1) and s(30) == pytest.approx(0.1)
    cycled = schedules.PolynomialDecay(1.0, 10, 0.1, cycle=True)
    assert cycled(15) == pytest.approx(0.9 * (1 - 15 / 20) + 0.1)
    assert cycled(0) == 1.0


def test_cosine_decay_with_warmup():
    s = schedules.CosineDecay(0.0 + 1e-3, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(1e-3) and s(100) == pytest.approx(1e-4) and s(500) == s(100)
    assert s(50) == pytest.approx(1e-3 * (0.9 * 0.5 + 0.1))
    warm = schedules.CosineDecay(1e-4, decay_steps=10, warmup_target=1e-2, warmup_steps=4)
    assert warm(2) == pytest.approx(1e-4 + (1e-2 - 1e-4) / 2)
    assert warm(4) == pytest.approx(1e-2) and warm(9) == pytest.approx(1e-2 * 0.5)
    # Without a warmup_target, Keras ignores warmup_steps.
    plain = schedules.CosineDecay(1.0, decay_steps=10, warmup_steps=5)
    assert plain(5) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))


def test_cosine_decay_restarts_runs_ever_longer_lower_cosines():
    """Periods of 10, 20, 40 steps (t_mul 2), each starting half as high (m_mul 0.5)."""
    s = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, m_mul=0.5)
    expected = {0: 1.0, 5: 0.5, 10: 0.5, 20: 0.25, 30: 0.25, 50: 0.125, 70: 0.125}
    for step, rate in expected.items():
        assert s(step) == pytest.approx(rate, abs=1e-12), step
    assert s(9.999) < 1e-6  # the end of the first period reaches alpha (0)
    flat = schedules.CosineDecayRestarts(2.0, 10, t_mul=1.0, alpha=0.25)
    assert flat(15) == pytest.approx(2.0 * (0.75 * 0.5 + 0.25)) and flat(20) == 2.0
    again = optimizers.get(optimizers.SGD(s).get_config())
    assert again._schedule.get_config() == s.get_config()


def test_an_optimizer_steps_with_the_scheduled_rates_from_step_0():
    rates = schedules.PiecewiseConstantDecay([0, 1], [0.5, 0.25, 0.125])
    sgd = optimizers.SGD(learning_rate=rates)
    p = Tensor(np.zeros(1), requires_grad=True)
    seen = []
    for _ in range(4):
        seen.append(sgd.learning_rate)
        p.grad = np.ones(1)
        sgd.update_weights([p])
    assert seen == [0.5, 0.25, 0.125, 0.125]
    np.testing.assert_allclose(p.data, [-(0.5 + 0.25 + 0.125 + 0.125)])
    with pytest.raises(TypeError, match="cannot be set"):
        sgd.learning_rate = 0.1


def test_adam_with_a_schedule_uses_each_steps_rate():
    schedule = schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.5)
    scheduled = optimizers.Adam(schedule)
    by_hand = optimizers.Adam(0.01)
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    for step in range(3):
        by_hand.learning_rate = schedule(step)
        for p, opt in ((a, scheduled), (b, by_hand)):
            p.grad = np.array([0.1, -0.2, 0.3]) * (step + 1)
            opt.update_weights([p])
    np.testing.assert_allclose(a.data, b.data, rtol=1e-14)


def test_schedules_survive_save_load_and_checkpoints(tmp_path):
    x, y = toy_data(64)
    schedule = schedules.CosineDecay(0.01, decay_steps=20, warmup_target=0.02, warmup_steps=2)
    model = small_cnn()
    model.compile(optimizers.Adam(schedule), metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.save(tmp_path / "m.minicnn")
    loaded = load_model(tmp_path / "m.minicnn")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    # In float32, as Keras' schedules compute.
    assert (
        loaded.optimizer.learning_rate == model.optimizer.learning_rate == np.float32(schedule(8))
    )

    def run(epochs, checkpoint):
        backend.clear_session()
        backend.set_random_seed(2)
        m = small_cnn()
        m.compile(optimizers.SGD(schedules.ExponentialDecay(0.1, 4, 0.5), momentum=0.9))
        m.fit(x, y, batch_size=16, epochs=epochs, verbose=0, checkpoint=checkpoint)
        return m.get_weights()

    straight = run(3, tmp_path / "a.npz")
    run(2, tmp_path / "b.npz")
    for got, expected in zip(run(3, tmp_path / "b.npz"), straight, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_unknown_schedules_are_named():
    with pytest.raises(ValueError, match="Unknown learning-rate schedule 'StepDecay'"):
        optimizers.Adam({"class_name": "StepDecay", "config": {}})
    with pytest.raises(ValueError, match="decay_steps must be a positive number"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
