"""Boston Housing (StatLib): 506 neighbourhoods, 13 features each, and the median house value
in k$, as Keras' ``boston_housing.load_data``. As Keras warns, one of its features (B) encodes
an assumption about race; prefer ``california_housing.load_data(version="small")``."""

from __future__ import annotations

import os

from .housing import MIRRORS, Arrays, load_npz, split

FILE = "boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
mirrors = list(MIRRORS)


def load_data(
    test_split: float = 0.2,
    seed: int = 113,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> Arrays:
    """``(x_train, y_train), (x_test, y_test)``, split as Keras splits it."""
    x, y = load_npz("Boston Housing", FILE, SHA256, "boston-housing", data_dir, download, mirrors)
    return split(x, y, test_split, seed)
