"""Keras' ``keras.random`` for minicnn: normal, uniform, truncated_normal, randint, dropout,
shuffle, gamma, beta, binomial, categorical and SeedGenerator. The numbers are made on the
device where they are used (``minicnn.device``, or the running model's) from a 32-bit seed
hashed with each draw's index, as the augmentation layers make theirs: a GPU draws them
without a copy from the host, a captured step draws new ones at every replay, and the CPU
and a GPU draw the same ones. ``seed`` is an int (the same numbers every call, as in Keras),
a SeedGenerator (new numbers each call, repeatable from its seed) or None (minicnn's own
generator, which ``set_random_seed`` seeds)."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Tensor
from .functions import draw_seed
from .image_ops import hashed_uniform

# A truncated or Gamma draw keeps the first of this many candidates that qualifies; all of
# them fail with odds under 2^-40 (each qualifies with probability above 0.95).
TRIES = 12


class SeedGenerator:
    """Keras' SeedGenerator: a stream of seeds, one per draw, repeatable from ``seed``."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def next_seed(self) -> int:
        return draw_seed(self._generator)

    def __repr__(self) -> str:
        return f"<SeedGenerator seed={self.seed}>"


def draw_seed_scalar(seed: Any) -> Any:
    """The 32-bit seed of one draw, for ``seed`` as above (in a captured step, a device
    scalar that each replay refills)."""
    if isinstance(seed, SeedGenerator):
        make = seed.next_seed
    elif seed is None:
        make = draw_seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.uint32(int(seed) % 2**32)
    else:
        raise TypeError(f"seed must be an int, a SeedGenerator or None, got {seed!r}.")
    return backend.step_scalar(make, np.uint32)


# --- arrays on a device (``xp``) from one seed ----------------------------------------------


def uniform_array(xp: Any, count: int, seed: Any) -> Any:
    """``count`` floats in [0, 1), float64."""
    return hashed_uniform(xp, seed, count)


def normal_array(xp: Any, count: int, seed: Any) -> Any:
    """``count`` standard normal numbers by Box-Muller (|z| < 5.8)."""
    u = uniform_array(xp, 2 * count, seed)
    radius = xp.sqrt(-2.0 * xp.log(1.0 - u[:count]))
    return radius * xp.cos(2 * math.pi * u[count:])


def truncated_normal_array(xp: Any, count: int, seed: Any) -> Any:
    """Standard normal numbers within two standard deviations: the first of TRIES candidates
    inside (each is with probability 0.954)."""
    z = normal_array(xp, TRIES * count, seed).reshape(TRIES, count)
    inside = xp.abs(z) <= 2.0
    first = xp.argmax(inside, axis=0)
    return xp.where(inside.any(axis=0), xp.take_along_axis(z, first[None], axis=0)[0], 0.0)


def gamma_array(xp: Any, count: int, alpha: Any, seed: Any) -> Any:
    """``count`` draws from Gamma(alpha, 1) (alpha a number or an array of ``count``) by
    Marsaglia and Tsang's method; alpha < 1 as Gamma(alpha + 1) times u^(1 / alpha)."""
    alpha = xp.asarray(alpha, dtype=np.float64)
    shape = xp.where(alpha < 1, alpha + 1.0, alpha)
    d = shape - 1.0 / 3.0
    c = 1.0 / xp.sqrt(9.0 * d)
    u = uniform_array(xp, 3 * TRIES * count + count, seed)
    z = normal_array(xp, TRIES * count, seed ^ np.uint32(0x5BD1E995))
    z = z.reshape(TRIES, count)
    v = (1.0 + c * z) ** 3
    safe_v = xp.where(v > 0, v, 1.0)
    test = xp.log1p(-u[: TRIES * count].reshape(TRIES, count))
    kept = (v > 0) & (test < 0.5 * z * z + d - d * safe_v + d * xp.log(safe_v))
    first = xp.argmax(kept, axis=0)
    draws = d * xp.take_along_axis(safe_v, first[None], axis=0)[0]
    draws = xp.where(kept.any(axis=0), draws, d)
    boost = (1.0 - u[3 * TRIES * count :]) ** (1.0 / xp.maximum(alpha, 1e-30))
    return xp.where(alpha < 1, draws * boost, draws)


# --- Keras' functions ------------------------------------------------------------------------


def _device() -> Any:
    return backend.xp_for(backend.current_device())


def _shape(shape: Any) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def _result(values: Any, dtype: Any) -> Tensor:
    return Tensor(values.astype(np.dtype(dtype) if dtype is not None else backend.FLOAT))


def uniform(
    shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None, seed: Any = None
) -> Tensor:
    xp, shape = _device(), _shape(shape)
    u = uniform_array(xp, math.prod(shape), draw_seed_scalar(seed)).reshape(shape)
    return _result(minval + (maxval - minval) * u, dtype)


def normal(
    shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None
) -> Tensor:
    xp, shape = _device(), _shape(shape)
    z = normal_array(xp, math.prod(shape), draw_seed_scalar(seed)).reshape(shape)
    return _result(mean + stddev * z, dtype)


def truncated_normal(
    shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None
) -> Tensor:
    """Normal numbers, those more than two standard deviations out drawn again."""
    xp, shape = _device(), _shape(shape)
    z = truncated_normal_array(xp, math.prod(shape), draw_seed_scalar(seed)).reshape(shape)
    return _result(mean + stddev * z, dtype)


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> Tensor:
    """Integers from minval up to maxval - 1, each as likely."""
    if maxval <= minval:
        raise ValueError(f"randint: maxval must exceed minval, got {minval} and {maxval}.")
    xp, shape = _device(), _shape(shape)
    u = uniform_array(xp, math.prod(shape), draw_seed_scalar(seed)).reshape(shape)
    values = minval + xp.minimum(xp.floor(u * (maxval - minval)), maxval - minval - 1)
    return Tensor(values.astype(np.dtype(dtype)))


def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> Tensor:
    """Each value zeroed with probability ``rate``, the others divided by 1 - rate (a mask
    of ``noise_shape`` broadcast, if given); differentiable."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate!r}.")
    x = O.convert_to_tensor(inputs)
    xp = backend.get_array_module(x.data)
    shape = (
        x.shape
        if noise_shape is None
        else tuple(x.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    )
    kept = uniform_array(xp, math.prod(shape), draw_seed_scalar(seed)).reshape(shape) >= rate
    return x * Tensor((kept / (1.0 - rate)).astype(x.dtype))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> Tensor:
    """x with its slices along ``axis`` in a random order (differentiable)."""
    x = O.convert_to_tensor(x)
    xp = backend.get_array_module(x.data)
    order = xp.argsort(uniform_array(xp, x.shape[axis], draw_seed_scalar(seed)))
    return O.take(x, order, axis=axis)


def gamma(shape: Any, alpha: float, dtype: Any = None, seed: Any = None) -> Tensor:
    xp, shape = _device(), _shape(shape)
    return _result(
        gamma_array(xp, math.prod(shape), alpha, draw_seed_scalar(seed)).reshape(shape), dtype
    )


def beta(shape: Any, alpha: Any, beta: Any, dtype: Any = None, seed: Any = None) -> Tensor:  # noqa: A002
    """Beta(alpha, beta) as X / (X + Y), X and Y Gamma draws."""
    xp, shape = _device(), _shape(shape)
    count = math.prod(shape)
    pair_seed = draw_seed_scalar(seed)
    a = xp.broadcast_to(xp.asarray(alpha, dtype=np.float64), shape).reshape(-1)
    b = xp.broadcast_to(xp.asarray(beta, dtype=np.float64), shape).reshape(-1)
    x = gamma_array(xp, count, a, pair_seed)
    y = gamma_array(xp, count, b, pair_seed ^ np.uint32(0x68E31DA4))
    return _result((x / (x + y)).reshape(shape), dtype)


def binomial(
    shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None
) -> Tensor:
    """The number of successes in ``counts`` trials of probability ``probabilities`` (each
    broadcast to ``shape``), as a sum of Bernoulli trials."""
    xp, shape = _device(), _shape(shape)
    n = xp.broadcast_to(xp.asarray(counts, dtype=np.float64), shape)
    p = xp.broadcast_to(xp.asarray(probabilities, dtype=np.float64), shape)
    most = int(np.max(backend.to_numpy(n))) if n.size else 0
    u = uniform_array(xp, most * math.prod(shape), draw_seed_scalar(seed)).reshape(most, *shape)
    trial = xp.arange(most).reshape(most, *(1,) * len(shape))
    successes = ((u < p) & (trial < n)).sum(axis=0)
    return _result(successes, dtype)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> Tensor:
    """For each row of logits (batch, classes), ``num_samples`` class ids drawn with the
    softmax's probabilities (the Gumbel-max trick), (batch, num_samples)."""
    scores = O._data(O.convert_to_tensor(logits))
    xp = backend.get_array_module(scores)
    batch, classes = scores.shape
    u = uniform_array(xp, batch * num_samples * classes, draw_seed_scalar(seed))
    u = u.reshape(batch, num_samples, classes) + 0.5 / 2**24  # in (0, 1): no log of 0
    gumbel = -xp.log(-xp.log(u))
    return Tensor(xp.argmax(scores[:, None, :] + gumbel, axis=-1).astype(np.dtype(dtype)))


def layer_seed(generator: np.random.Generator | None) -> Any:
    """A draw's seed from a layer's generator (minicnn's own when None)."""
    return backend.step_scalar(partial(draw_seed, generator), np.uint32)
