"""Reading pickled data without running code: an unpickler that accepts only plain
containers and NumPy arrays (the CIFAR batches), and an .npz reader whose object arrays
(ragged sequences, which NumPy stores as pickles: Keras' IMDB and Reuters files) go through
it, where ``np.load(allow_pickle=True)`` would run whatever a crafted file holds."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Any, BinaryIO

import numpy as np

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, "latin1").
    ("_codecs", "encode"),
}


class ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def safe_loads(data: bytes | BinaryIO, encoding: str = "ASCII") -> Any:
    """``pickle.loads`` that refuses every global but NumPy's array rebuilding."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    return ArraysOnlyUnpickler(stream, encoding=encoding).load()


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npz file by name; object arrays read by ``safe_loads``, the others
    by NumPy without pickles."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                if dtype.hasobject:
                    array = safe_loads(f, encoding="latin1")
                    if not isinstance(array, np.ndarray) or array.shape != shape:
                        raise ValueError(f"{member}: the pickle is not the array its header names")
                else:
                    f.close()
                    with archive.open(member) as again:
                        array = np.lib.format.read_array(again, allow_pickle=False)
            arrays[member[: -len(".npy")]] = array
    return arrays
