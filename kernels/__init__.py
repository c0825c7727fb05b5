"""Hot loops of minicnn: Numba CPU kernels (``cpu``) and CuPy GPU kernels (``cuda``)."""
