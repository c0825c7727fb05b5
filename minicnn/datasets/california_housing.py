"""California Housing (StatLib, the 1990 U.S. census): 20,640 block groups, 8 features each,
and the median house value in dollars, as Keras' ``california_housing.load_data``."""

from __future__ import annotations

import os

from .housing import MIRRORS, Arrays, load_npz, split

FILE = "california_housing.npz"
SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
mirrors = list(MIRRORS)


def load_data(
    version: str = "large",
    test_split: float = 0.2,
    seed: int = 113,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)``; ``version="small"`` keeps the first 600
    samples (Keras' stand-in for Boston Housing)."""
    if version not in ("small", "large"):
        raise ValueError(f"version must be one of 'small', 'large'; got {version!r}.")
    x, y = load_npz(
        "California Housing", FILE, SHA256, "california-housing", data_dir, download, mirrors
    )
    if version == "small":
        x, y = x[:600], y[:600]
    return split(x, y, test_split, seed)
