"""Losses differentiated through their targets, as Keras' are."""

import numpy as np
import pytest

from minicnn import losses


@pytest.mark.parametrize(
    "loss",
    [
        losses.KLDivergence(),
        losses.MeanSquaredError(),
        losses.CategoricalCrossentropy(),
        losses.CategoricalCrossentropy(from_logits=True),
    ],
    ids=lambda loss: type(loss).__name__ + ("_logits" if getattr(loss, "from_logits", 0) else ""),
)
def test_targets_computed_by_a_model_get_gradients_as_in_keras(loss):
    """Targets that are a Tensor of a recorded graph (a teacher's softened predictions in
    distillation) are differentiated through, as Keras' losses are; the gradient matches
    finite differences in float64."""
    from minicnn import autograd, ops

    rng = np.random.default_rng(0)
    raw = rng.standard_normal((4, 5))
    pred = ops.softmax(autograd.Tensor(rng.standard_normal((4, 5))), axis=-1)

    def value(a):
        teacher = autograd.Tensor(a, requires_grad=True)
        return loss(ops.softmax(teacher, axis=-1), pred), teacher

    total, teacher = value(raw)
    (gradient,) = autograd.grad(total, [teacher])
    assert gradient is not None and np.abs(gradient).sum() > 0
    step, numeric = 1e-6, np.zeros_like(raw)
    for index in np.ndindex(raw.shape):
        up, down = raw.copy(), raw.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (float(value(up)[0]) - float(value(down)[0])) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)
