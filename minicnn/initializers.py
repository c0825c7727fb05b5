"""Weight initialisers, named as in Keras, with Keras' scales and fan rules."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import backend

Initializer = Callable[[tuple[int, ...]], np.ndarray]

# The standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it so that the
# truncated draws keep the variance it asks for.
_TRUNCATED_STD = 0.87962566103423978


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        return shape[0], shape[0]
    # Conv kernels are (kh, kw, in, out): every tap of the window counts towards the fans.
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(stddev: float, shape: tuple[int, ...]) -> np.ndarray:
    """Normal draws with every one beyond two standard deviations drawn again."""
    rng = backend.rng()
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return (out * stddev).astype(backend.FLOAT)


def _uniform(limit: float, shape: tuple[int, ...]) -> np.ndarray:
    return backend.rng().uniform(-limit, limit, size=shape).astype(backend.FLOAT)


def _variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    """Keras' VarianceScaling: variance ``scale / n`` with n the fan in, out or their mean."""

    def initializer(shape: tuple[int, ...]) -> np.ndarray:
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, n)
        if distribution == "uniform":
            return _uniform(np.sqrt(3.0 * variance), shape)
        return _truncated_normal(np.sqrt(variance) / _TRUNCATED_STD, shape)

    return initializer


def glorot_uniform(shape: tuple[int, ...]) -> np.ndarray:
    """Uniform in [-l, l] with l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    # Written out rather than through _variance_scaling: the same limit to the last bit keeps
    # every seeded result of the study reproducible.
    fan_in, fan_out = _fans(shape)
    return _uniform(np.sqrt(6.0 / (fan_in + fan_out)), shape)


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape, dtype=backend.FLOAT)


def ones(shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, dtype=backend.FLOAT)


def random_normal(shape: tuple[int, ...]) -> np.ndarray:
    """Keras' default RandomNormal: mean 0, standard deviation 0.05."""
    return (backend.rng().standard_normal(size=shape) * 0.05).astype(backend.FLOAT)


def random_uniform(shape: tuple[int, ...]) -> np.ndarray:
    """Keras' default RandomUniform: uniform in [-0.05, 0.05]."""
    return _uniform(0.05, shape)


def orthogonal(shape: tuple[int, ...]) -> np.ndarray:
    """Keras' Orthogonal (gain 1): the kernel, flattened to (rows, last axis), has orthonormal
    rows or columns (Saxe et al., 2014); the default of recurrent kernels."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    draws = backend.rng().standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(draws)
    q *= np.sign(np.diag(r))  # a unique factorisation, so that the result is uniform
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(backend.FLOAT)


_BY_NAME: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": _variance_scaling(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "truncated_normal"),
    "random_normal": random_normal,
    "random_uniform": random_uniform,
    "zeros": zeros,
    "ones": ones,
}
# Keras' short names for the two (Embedding's default is "uniform").
_BY_NAME["orthogonal"] = orthogonal
_BY_NAME["uniform"] = random_uniform
_BY_NAME["normal"] = random_normal


def get(name: str) -> Initializer:
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown initializer {name!r}; known: {', '.join(sorted(_BY_NAME))}."
        ) from None
