"""Keras' augmentation policies built from the other augmentation layers: RandAugment (a
few operations drawn from Keras' list, one after another) and AugMix (chains of them, mixed
with Dirichlet weights, then with the image by a Beta draw). Keras draws the operations once
per batch; here each image draws its own, as the papers' per-image pipelines do, so that
nothing is read back from the device: every candidate runs on the batch and each image keeps
its own choice (on small images that is cheap next to the model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, image_ops
from . import ops as tensor_ops
from .augmentation import (
    RandomRotation,
    RandomShear,
    RandomTranslation,
    _RandomAffine,
    _RandomLayer,
    _unit_fraction,
    _value_range,
)
from .autograd import Tensor
from .color_augmentation import (
    AutoContrast,
    Equalization,
    RandomBrightness,
    RandomColorDegeneration,
    RandomContrast,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)
from .image_ops import checked_interpolation


def _operations(
    names: tuple[str, ...],
    strength: float,
    value_range: tuple[float, float],
    interpolation: str,
    seed: int | None,
) -> dict[str, Any]:
    """Keras' operations of ``strength`` in [0, 1]: each a function of a batch, or, for the
    warps, the layer (``apply_chosen`` runs them together)."""
    seeds = iter(range(1, 100)) if seed is not None else None

    def kw() -> dict[str, Any]:
        return {"seed": None if seeds is None else seed + next(seeds)}

    f, span = strength, {"value_range": value_range}
    warp = {"interpolation": interpolation, "fill_mode": "constant"}
    bits = max(1, round(8 - 4 * f))  # Keras' posterize levels: 8 bits at 0, 4 at full strength
    made: dict[str, Any] = {
        "shear": RandomShear(f, f, **warp, **kw()),
        "translation": RandomTranslation(f / 2, f / 2, **warp, **kw()),
        "rotation": RandomRotation(f / 4, **warp, **kw()),
        "brightness": RandomBrightness(f, **span, **kw()),
        "color_degeneration": RandomColorDegeneration(f, **span, **kw()),
        "contrast": RandomContrast(f, **span, **kw()),
        "sharpness": RandomSharpness(f, **span, **kw()),
        "posterization": RandomPosterization((bits, 8), **span, **kw()),
        "solarization": Solarization(0.0, (1.0 - f, 1.0), **span, **kw()),
        "auto_contrast": AutoContrast(**span),
        "equalization": Equalization(**span),
    }
    out: dict[str, Any] = {}
    for name in names:
        layer = made[name]
        if isinstance(layer, _RandomAffine):
            out[name] = layer  # warps: one per slot for all of them (``apply_chosen``)
        elif isinstance(layer, _RandomLayer):
            out[name] = layer.augment
        else:
            out[name] = lambda x, layer=layer: layer.call(x, True)
    if "color_degeneration" in out:  # a gray image's gray version is itself
        degenerate = out["color_degeneration"]
        out["color_degeneration"] = lambda x: degenerate(x) if x.shape[-1] == 3 else x
    return out


def apply_chosen(x: Tensor, operations: list[Any], choice: Any) -> Tensor:
    """Each image through the operation ``choice`` (one index per image) picks for it. The
    warps (shear, translation, rotation) run as one: each image's matrix is its chosen
    warp's (the identity otherwise), so the batch is read once."""
    xp = backend.get_array_module(x.data)
    n, h, w, _ = x.shape
    out = x
    warps = [(k, op) for k, op in enumerate(operations) if isinstance(op, _RandomAffine)]
    if warps:
        rows = xp.broadcast_to(xp.asarray([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), (n, 6))
        for k, warp in warps:
            rows = xp.where((choice == k)[:, None], warp.matrices(xp, n, h, w), rows)
        first = warps[0][1]
        warped = image_ops.affine_transform(
            x, rows, first.fill_mode, first.interpolation, first.fill_value
        )
        picked = xp.zeros(n, dtype=bool)
        for k, _ in warps:
            picked = picked | (choice == k)
        out = tensor_ops.where(picked.reshape(n, 1, 1, 1), warped, out)
    for k, operation in enumerate(operations):
        if not isinstance(operation, _RandomAffine):
            out = tensor_ops.where((choice == k).reshape(n, 1, 1, 1), operation(x), out)
    return out


RAND_AUGMENT_OPERATIONS = (
    "shear",
    "translation",
    "rotation",
    "brightness",
    "color_degeneration",
    "contrast",
    "sharpness",
    "posterization",
    "solarization",
    "auto_contrast",
    "equalization",
)


class RandAugment(_RandomLayer):
    """Keras' RandAugment: ``num_ops`` operations, one after another, each drawn per image
    from Keras' eleven (shear, translation, rotation, brightness, color degeneration,
    contrast, sharpness, posterization, solarization, auto-contrast, equalization) at the
    strength ``factor`` f in [0, 1]: shears up to f, shifts up to f / 2 of the size, turns up
    to f / 4 of a circle, brightness, contrast, color and sharpness changes up to f,
    posterization to round(8 - 4 f) bits or more, solarization above a threshold drawn from
    [1 - f, 1] of the range; values stay within ``value_range``."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        num_ops: int = 2,
        factor: float = 0.5,
        interpolation: str = "bilinear",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.value_range = _value_range(value_range, owner)
        if isinstance(num_ops, bool) or not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"{owner}: num_ops must be an int >= 0, got {num_ops!r}.")
        self.num_ops = num_ops
        # The strength is the range's top; the config keeps the range, as Keras'.
        self.factor_range = _unit_fraction(factor, "factor", owner)
        self.factor = self.factor_range[1]
        self.interpolation = checked_interpolation(interpolation, owner)
        self.operations = list(
            _operations(
                RAND_AUGMENT_OPERATIONS,
                self.factor,
                self.value_range,
                self.interpolation,
                self.seed,
            ).values()
        )

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        count = len(self.operations)
        for _ in range(self.num_ops):
            draws = self._uniform(xp, x.shape[0], 0.0, 1.0)
            choice = xp.minimum(xp.floor(draws * count), count - 1).astype(np.int64)
            x = apply_chosen(x, self.operations, choice)
        return x

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "num_ops": self.num_ops,
            "factor": list(self.factor_range),
            "interpolation": self.interpolation,
        }


AUGMIX_OPERATIONS = (
    "auto_contrast",
    "equalization",
    "posterization",
    "rotation",
    "solarization",
    "shear",
    "translation",
)
ALL_OPERATIONS = (*AUGMIX_OPERATIONS, "color_degeneration", "contrast", "brightness", "sharpness")


class AugMix(_RandomLayer):
    """Keras' AugMix (Hendrycks et al.): ``num_chains`` chains, each of 1 to
    ``chain_depth`` operations drawn per image (AugMix's seven, or all eleven with
    ``all_ops``) at strength ``factor``; the chains are mixed with weights from
    Dirichlet(alpha), and the mix with the image by m from Beta(alpha, alpha):
    ``m x + (1 - m) mix``."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        num_chains: int = 3,
        chain_depth: int = 3,
        factor: float = 0.3,
        alpha: float = 1.0,
        all_ops: bool = True,
        interpolation: str = "bilinear",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self.describe()
        self.value_range = _value_range(value_range, owner)
        for name, value in (("num_chains", num_chains), ("chain_depth", chain_depth)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{owner}: {name} must be an int >= 1, got {value!r}.")
        self.num_chains, self.chain_depth = num_chains, chain_depth
        self.factor_range = _unit_fraction(factor, "factor", owner)
        self.factor = self.factor_range[1]
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"{owner}: alpha must be a number > 0, got {alpha!r}.")
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.interpolation = checked_interpolation(interpolation, owner)
        names = ALL_OPERATIONS if self.all_ops else AUGMIX_OPERATIONS
        self.operations = list(
            _operations(
                names, self.factor, self.value_range, self.interpolation, self.seed
            ).values()
        )

    def augment(self, x: Tensor) -> Tensor:
        xp = backend.get_array_module(x.data)
        n, count = x.shape[0], len(self.operations)
        gammas = self._gamma(xp, n * self.num_chains, self.alpha).reshape(n, self.num_chains)
        weights = (gammas / gammas.sum(axis=1, keepdims=True)).astype(x.dtype)
        keep = self._symmetric_beta(xp, n, self.alpha, self.alpha).astype(x.dtype)
        mix = 0.0
        for chain in range(self.num_chains):
            draws = self._uniform(xp, n * (self.chain_depth + 1), 0.0, 1.0)
            depth = 1 + xp.minimum(xp.floor(draws[:n] * self.chain_depth), self.chain_depth - 1)
            image = x
            for step in range(self.chain_depth):
                u = draws[n * (step + 1) : n * (step + 2)]
                choice = xp.minimum(xp.floor(u * count), count - 1).astype(np.int64)
                choice = xp.where(step < depth, choice, -1)  # -1: this image's chain has ended
                image = apply_chosen(image, self.operations, choice)
            mix = mix + image * weights[:, chain].reshape(n, 1, 1, 1)
        m = keep.reshape(n, 1, 1, 1)
        return tensor_ops.clip(x * m + mix * (1 - m), *self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": list(self.value_range),
            "num_chains": self.num_chains,
            "chain_depth": self.chain_depth,
            "factor": list(self.factor_range),
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            "interpolation": self.interpolation,
        }
