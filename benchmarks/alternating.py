"""Steps of several programs timed in turn, in one process: a warm-up first (kernels
compiled, buffers sized), then each step alone, alternating, so that the machine's drift
touches all alike; the medians, printed with their ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(
    steps: dict[str, Callable[[], object]], count: int, warmup: int = 3
) -> dict[str, float]:
    """Each step's median time in milliseconds over ``count`` alternating runs, printed as
    "name: X ms/step", then "ratio first/second: R" of the first two."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(count):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    for name, ms in medians.items():
        print(f"{name}: {ms:.1f} ms/step")
    first, second = list(medians)[:2]
    print(f"ratio {first}/{second}: {medians[first] / medians[second]:.2f}")
    return medians
