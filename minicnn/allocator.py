"""Keep glibc's malloc from handing training's large arrays back to the kernel between steps.

glibc serves an allocation above its mmap threshold (128 KiB at first, raised on its own only
for blocks it has already freed) with fresh pages from the kernel and unmaps them on free, and it
trims the heap's free top above its trim threshold. A training step makes and frees the same
few-megabyte activations and gradients every time, so each step faults all of them in again,
zero-filled: a batch-normalized ResNet step on 32x32 images took ~15,000 page faults and ~25 %
of its time that way, a MobileNet step ~10,000 and ~40 %. With the thresholds raised, freed
blocks stay in the heap and the next step reuses them (1 fault a step).

What it costs: the heap keeps what a step freed (up to ``TRIM_THRESHOLD`` of free top) instead
of returning it, as the caching allocators of other frameworks do. ``MINICNN_MALLOC_TUNING=0``
leaves malloc as it is; it must be set before minicnn is imported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# mallopt's parameter numbers, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's own ceiling for the mmap threshold on 64-bit (4 MiB * sizeof(long)): blocks larger
# than this, such as a wide layer's im2col matrix, come from mmap still (minicnn's workspace
# keeps those).
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 512 << 20

tuned = False


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds once, unless ``MINICNN_MALLOC_TUNING`` is ``0``.
    True when malloc was tuned (by this call or an earlier one); False elsewhere (another C
    library, another system, or turned off)."""
    global tuned
    if tuned:
        return True
    if os.environ.get("MINICNN_MALLOC_TUNING", "1").strip() in ("0", "false", "no", "off"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt answers 1 when it took the setting, 0 when it refused it.
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return tuned
