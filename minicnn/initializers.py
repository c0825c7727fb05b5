"""Weight initialisers as in Keras, with Keras' scales and fan rules: by name
(``"he_normal"``) or as Keras' classes with their arguments (``HeNormal(seed=1)``,
``RandomNormal(stddev=0.01)``, ``Constant(0.1)``, ...). Each gives a float32 host array for a
shape; layers move it to their device. A config keeps a name as the name and an instance as
Keras' ``{"class_name": ..., "config": ...}``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend, registry

InitializerFunction = Callable[[tuple[int, ...]], np.ndarray]

# The standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it so that the
# truncated draws keep the variance it asks for.
_TRUNCATED_STD = 0.87962566103423978


def _fans(
    shape: tuple[int, ...], input_axes: Any = None, output_axes: Any = None
) -> tuple[int, int]:
    """Keras' compute_fans: the product of the given axes' sizes, else by the kernel's
    layout."""
    if input_axes is not None and output_axes is not None:
        fan_in = int(np.prod([shape[a] for a in input_axes], dtype=np.int64))
        return fan_in, int(np.prod([shape[a] for a in output_axes], dtype=np.int64))
    if len(shape) < 1:  # a scalar weight
        return 1, 1
    if len(shape) < 2:
        return shape[0], shape[0]
    # Conv kernels are (kh, kw, in, out): every tap of the window counts towards the fans.
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(
    stddev: float, shape: tuple[int, ...], rng: np.random.Generator | None = None
) -> np.ndarray:
    """Normal draws with every one beyond two standard deviations drawn again."""
    rng = rng or backend.rng()
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return (out * stddev).astype(backend.FLOAT)


def _uniform(
    limit: float, shape: tuple[int, ...], rng: np.random.Generator | None = None
) -> np.ndarray:
    return (rng or backend.rng()).uniform(-limit, limit, size=shape).astype(backend.FLOAT)


def _scaled(
    scale: float,
    mode: str,
    distribution: str,
    shape: tuple[int, ...],
    rng: np.random.Generator | None = None,
    axes: tuple[Any, Any] = (None, None),
) -> np.ndarray:
    """Keras' VarianceScaling: variance ``scale / n`` with n the fan in, out or their mean
    (``axes``: the input and output axes that count, as Keras' input_axes, output_axes)."""
    fan_in, fan_out = _fans(shape, *axes)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, n)
    if distribution == "uniform":
        return _uniform(np.sqrt(3.0 * variance), shape, rng)
    if distribution == "untruncated_normal":
        draws = (rng or backend.rng()).standard_normal(size=shape) * np.sqrt(variance)
        return draws.astype(backend.FLOAT)
    return _truncated_normal(np.sqrt(variance) / _TRUNCATED_STD, shape, rng)


def _variance_scaling(scale: float, mode: str, distribution: str) -> InitializerFunction:
    return lambda shape: _scaled(scale, mode, distribution, shape)


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


def orthogonal(
    shape: tuple[int, ...], rng: np.random.Generator | None = None, gain: float = 1.0
) -> np.ndarray:
    """Keras' Orthogonal: the kernel, flattened to (rows, last axis), has orthonormal rows or
    columns (Saxe et al., 2014), times ``gain``; the default of recurrent kernels."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    draws = (rng or backend.rng()).standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(draws)
    q *= np.sign(np.diag(r))  # a unique factorisation, so that the result is uniform
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(backend.FLOAT)


_orthogonal_values = orthogonal  # (the module's name "orthogonal" is Keras' class below)
_BY_NAME: dict[str, InitializerFunction] = {
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


class Initializer:
    """Keras' Initializer: ``initializer(shape, dtype=None)`` gives the initial values, a
    float32 array. Subclass it and write ``__call__`` (and ``get_config``) for your own.
    With a ``seed``, every call draws the same numbers (from its own generator)."""

    seed: int | None = None

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        raise NotImplementedError

    def _rng(self) -> np.random.Generator | None:
        return None if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class Constant(Initializer):
    """Keras' Constant: ``value`` everywhere, a number or an array that broadcasts to the
    weight's shape (a pretrained embedding matrix, as keras.io's word-embedding example
    gives Embedding). It keeps the value as given, as Keras does."""

    def __init__(self, value: Any = 0.0) -> None:
        try:
            np.asarray(value, np.float32)
        except (TypeError, ValueError):
            raise ValueError(
                f"Constant: the value must be a number or an array of numbers; got {value!r}."
            ) from None
        self.value = value

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        values = np.asarray(self.value, np.float32)
        try:
            return np.broadcast_to(values, tuple(shape)).astype(backend.FLOAT)
        except ValueError:
            raise ValueError(
                f"Constant: a value of shape {values.shape} does not broadcast to the "
                f"weight's shape {tuple(shape)}."
            ) from None

    def get_config(self) -> dict[str, Any]:
        """Keras' config: a number as it is, an array as Keras' ``__numpy__`` object."""
        from .keras_op_writing import keras_value

        return {"value": keras_value(self.value)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constant:
        if "value" not in config:  # Zeros and Ones: no config
            return cls()
        from .keras_reading import python_value

        return cls(python_value(config["value"]))


class Zeros(Constant):
    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Constant):
    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        draws = (self._rng() or backend.rng()).standard_normal(size=tuple(shape))
        return (self.mean + draws * self.stddev).astype(backend.FLOAT)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal draws, those beyond two standard deviations drawn again."""

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        return self.mean + _truncated_normal(self.stddev, tuple(shape), self._rng())


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        rng = self._rng() or backend.rng()
        return rng.uniform(self.minval, self.maxval, size=tuple(shape)).astype(backend.FLOAT)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Variance ``scale / n``, n the fan in, out or their average, by a truncated normal, an
    untruncated one or a uniform distribution."""

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: Any = None,
        output_axes: Any = None,
    ) -> None:
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                f"VarianceScaling: mode 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}."
            )
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling: distribution 'truncated_normal', 'untruncated_normal' or "
                f"'uniform', got {distribution!r}."
            )
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be > 0, got {scale!r}.")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed
        self.input_axes, self.output_axes = _axes(input_axes), _axes(output_axes)

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        axes = (self.input_axes, self.output_axes)
        return _scaled(self.scale, self.mode, self.distribution, tuple(shape), self._rng(), axes)

    def _axes_config(self) -> dict[str, Any]:
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            **self._axes_config(),
        }


def _axes(axes: Any) -> list[int] | None:
    return None if axes is None else [int(a) for a in axes]


def _fixed_scaling(name: str, scale: float, mode: str, distribution: str) -> type:
    """Keras' named VarianceScaling classes (GlorotUniform, HeNormal, ...): only a seed."""

    def __init__(
        self: VarianceScaling,
        seed: int | None = None,
        input_axes: Any = None,
        output_axes: Any = None,
    ) -> None:
        VarianceScaling.__init__(
            self, scale, mode, distribution, seed, input_axes=input_axes, output_axes=output_axes
        )

    def get_config(self: VarianceScaling) -> dict[str, Any]:
        return {"seed": self.seed, **self._axes_config()}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


GlorotNormal = _fixed_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _fixed_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _fixed_scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _fixed_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _fixed_scaling("LecunUniform", 1.0, "fan_in", "uniform")


class GlorotUniform(VarianceScaling):
    """Uniform in [-l, l], l = sqrt(6 / (fan_in + fan_out)): the default of kernels."""

    def __init__(
        self, seed: int | None = None, input_axes: Any = None, output_axes: Any = None
    ) -> None:
        super().__init__(1.0, "fan_avg", "uniform", seed, input_axes, output_axes)

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        fan_in, fan_out = _fans(tuple(shape), self.input_axes, self.output_axes)
        return _uniform(np.sqrt(6.0 / (fan_in + fan_out)), tuple(shape), self._rng())

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, **self._axes_config()}


class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        return _orthogonal_values(tuple(shape), self._rng(), self.gain)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """The identity matrix times ``gain``, for 2-D kernels."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity initializes 2-D kernels only, got shape {tuple(shape)}.")
        return (self.gain * np.eye(*shape)).astype(backend.FLOAT)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


class STFT(Initializer):
    """Keras' STFT initializer: the kernel (frame_length, 1, bins) of a short-time Fourier
    transform's real (``side="real"``: cos) or imaginary (``"imag"``: sin) part, times a
    window (SciPy's by name, periodic or not, or its values) over its L2 (``"density"``) or
    L1 (``"spectrum"``) norm; STFTSpectrogram's kernels."""

    def __init__(
        self,
        side: str = "real",
        window: Any = "hann",
        scaling: str | None = "density",
        periodic: bool = False,
    ) -> None:
        from .spectrogram import window_taps

        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            window_taps(window, 1, periodic)  # an unknown window's name fails here
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(
                "Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                f"Received scaling={scaling}"
            )
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        from .spectrogram import stft_kernel

        if len(shape) != 3 or shape[1] != 1:
            raise ValueError(
                f"STFT initializes kernels of shape (frame_length, 1, bins); got {tuple(shape)}."
            )
        frame_length, _, bins = shape
        return stft_kernel(
            self.side, frame_length, bins, self.window, self.scaling, bool(self.periodic)
        )

    def get_config(self) -> dict[str, Any]:
        window = self.window
        if window is not None and not isinstance(window, str):
            window = [float(v) for v in np.asarray(window).ravel()]
        return {
            "side": self.side,
            "window": window,
            "scaling": self.scaling,
            "periodic": self.periodic,
        }


CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Constant,
        Zeros,
        Ones,
        RandomNormal,
        RandomUniform,
        TruncatedNormal,
        VarianceScaling,
        GlorotNormal,
        GlorotUniform,
        HeNormal,
        HeUniform,
        LecunNormal,
        LecunUniform,
        Orthogonal,
        Identity,
        STFT,
    )
}
# Keras' other spellings of the classes' names.
CLASSES.update(
    {"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT}
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# The classes by Keras' snake-case names ("he_normal"), and its two short ones.
_BY_SNAKE_NAME = {_snake(name): cls for name, cls in CLASSES.items()}
_BY_SNAKE_NAME.update({"stft": STFT, "uniform": RandomUniform, "normal": RandomNormal})


def get(identifier: Any) -> Any:
    """An initializer from Keras' name (``"he_normal"`` or ``"HeNormal"``), an instance, its
    config dict, or a function ``f(shape, dtype=None)``; a name of a registered custom one
    (``register_keras_serializable``, ``custom_objects``) finds it."""
    if isinstance(identifier, Initializer) or (
        callable(identifier) and not isinstance(identifier, (str, type))
    ):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        config = identifier.get("config") or {}
        cls = CLASSES.get(name) or registry.get_registered_object(
            identifier.get("registered_name") or name
        )
        if cls is None:
            raise ValueError(
                f"Unknown initializer class {name!r}; known: {', '.join(sorted(CLASSES))}."
            )
        return cls.from_config(config) if isinstance(cls, type) else cls
    if isinstance(identifier, str):
        # As Keras: a name gives an instance of its class (``get("he_normal")`` a HeNormal,
        # which draws what the function of that name draws).
        cls = CLASSES.get(identifier) or _BY_SNAKE_NAME.get(_snake(identifier))
        if cls is not None:
            return cls()
        found = registry.get_registered_object(identifier)
        if found is not None:
            return get(found)
    raise ValueError(
        f"Unknown initializer {identifier!r}; known: {', '.join(sorted(_BY_NAME))}, or an "
        "instance such as minicnn.initializers.HeNormal(seed=1)."
    )


def serialize(identifier: Any) -> Any:
    """What a config keeps of an initializer: a name as it is, an instance as Keras'
    ``{"module", "class_name", "config", "registered_name"}``, a custom function by the name
    it is registered under."""
    if isinstance(identifier, (str, dict)) or identifier is None:
        return identifier
    if isinstance(identifier, Initializer):
        name = type(identifier).__name__
        builtin = CLASSES.get(name) is type(identifier)
        return {
            "module": "keras.initializers" if builtin else None,
            "class_name": name,
            "config": identifier.get_config(),
            "registered_name": None if builtin else registry.registered_name(type(identifier)),
        }
    return registry.registered_name(identifier)


def config_of(identifier: Any) -> Any:
    """What a layer's config records of its initializer argument, as Keras' layers do: the
    initializer it names, serialized (``"glorot_uniform"`` becomes GlorotUniform's dict); a
    user's function by its registered name."""
    return None if identifier is None else serialize(get(identifier))


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Keras' ``initializers.deserialize``: the initializer ``serialize`` wrote."""
    with registry.custom_object_scope(custom_objects):
        return get(config)


# Keras' other names of the classes: ``initializers.he_normal(seed=1)`` is a HeNormal (the
# functions of the same names stay what ``get("he_normal")`` gives).
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
STFTInitializer = stft = STFT  # Keras' other names of it
constant, zeros, ones, identity = Constant, Zeros, Ones, Identity
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_normal, glorot_uniform = GlorotNormal, GlorotUniform
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform
