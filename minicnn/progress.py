"""Keras 3's progress line, drawn by ``fit``, ``evaluate`` and ``predict``, and Keras'
interactive logging: what minicnn says goes to stdout, or, with
``disable_interactive_logging()`` (a job on a server), to the ``logging`` module as INFO
records of the "minicnn" logger, the progress line only once a run has ended."""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any, TextIO

_interactive = {"enabled": True}
LOGGER = logging.getLogger("minicnn")


def enable_interactive_logging() -> None:
    """Keras': messages and progress lines go to stdout (the default)."""
    _interactive["enabled"] = True


def disable_interactive_logging() -> None:
    """Keras': messages go to ``logging`` (the "minicnn" logger, INFO), and a progress line
    is logged once, when its run ends, instead of being redrawn."""
    _interactive["enabled"] = False


def is_interactive_logging_enabled() -> bool:
    return _interactive["enabled"]


def print_msg(message: Any, line_break: bool = True) -> None:
    """Keras' io_utils.print_msg: to stdout (flushed), or logged when interactive logging
    is off."""
    message = str(message)
    if _interactive["enabled"]:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        LOGGER.info(message)


def _format_per_step(seconds: float, unit: str = "step") -> str:
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def _format_value(value: float) -> str:
    return f" {value:.4f}" if abs(value) > 1e-3 else f" {value:.4e}"


class ProgressBar:
    """Keras 3's progress line: ``469/469 ━━━━━━━━━━━━━━━━━━━━ 12s 25ms/step - loss: 0.4939``.

    verbose=1 redraws one line in place on a terminal and writes one line per run otherwise;
    verbose=2 writes one line per run; verbose=0 writes nothing.
    """

    width = 20
    min_redraw_seconds = 0.05
    unit = "step"

    def __init__(self, target: int | None, verbose: int = 1, stream: TextIO | None = None) -> None:
        self.target = target
        self.verbose = verbose
        self.stream = stream or sys.stdout
        # With interactive logging off, lines sent to stdout are logged instead, the last only.
        self.logged = stream is None and not _interactive["enabled"]
        self.dynamic = verbose == 1 and not self.logged and _redraws_in_place(self.stream)
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._prev_width = 0

    def will_draw(self, current: int) -> bool:
        """Whether ``update(current, ...)`` now would redraw; a GPU reads its metrics only then."""
        if not self.dynamic:
            return False
        if self.target is not None and current >= self.target:
            return True
        return time.perf_counter() - self._last_draw >= self.min_redraw_seconds

    def update(self, current: int, values: dict[str, float] | None = None) -> None:
        if not self.will_draw(current):
            return
        now = time.perf_counter()
        self._last_draw = now
        self._draw(current, values or {}, now, final=False)

    def finish(self, values: dict[str, float] | None = None, current: int | None = None) -> None:
        """The last line of the run, with elapsed time and the final values; ``current`` is the
        step it ended at when a callback stopped it early (else the target)."""
        if self.verbose == 0:
            return
        current = self.target if current is None else current
        now = time.perf_counter()
        if self.verbose == 1:
            self._draw(current, values or {}, now, final=True)
            return
        line = f"{self._count(current)} - {now - self.start:.0f}s -"
        line += _format_per_step((now - self.start) / max(current, 1), self.unit)
        for key, value in (values or {}).items():
            line += f" - {key}:{_format_value(value)}"
        self._emit(line)

    def _emit(self, line: str) -> None:
        if self.logged:
            LOGGER.info(line)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def _draw(self, current: int, values: dict[str, float], now: float, final: bool) -> None:
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        count = self._count(current)
        if self.target is None:  # Keras: "12/Unknown 3s 250ms/step - loss: ..."
            bar = f"\x1b[1m{count}\x1b[0m" if self.dynamic else count
            info = f" {elapsed:.0f}s" + _format_per_step(per_step, self.unit)
            for key, value in values.items():
                info += f" - {key}:{_format_value(value)}"
            self._write(bar, len(count), info, final)
            return
        filled = int(self.width * current / max(self.target, 1))
        if self.dynamic:
            bar = f"\x1b[1m{count}\x1b[0m "
            if filled:
                bar += "\x1b[32m" + "━" * filled + "\x1b[0m"
            bar += "\x1b[37m" + "━" * (self.width - filled) + "\x1b[0m"
        else:
            bar = f"{count} " + "━" * self.width
        if final:
            info = f" {elapsed:.0f}s"
        else:
            info = f" {_format_eta(per_step * (self.target - current))}"
        info += _format_per_step(per_step, self.unit)
        for key, value in values.items():
            info += f" - {key}:{_format_value(value)}"
        self._write(bar, len(count) + 1 + self.width, info, final)

    def _count(self, current: int) -> str:
        if self.target is None:
            return f"{current}/Unknown"
        digits = int(math.log10(max(self.target, 1))) + 1
        return f"{current:{digits}d}/{self.target}"

    def _write(self, bar: str, bar_width: int, info: str, final: bool) -> None:
        visible = bar_width + len(info)
        line = bar + info + " " * max(self._prev_width - visible, 0)
        self._prev_width = visible
        if self.dynamic:
            self.stream.write("\r" + line + ("\n" if final else ""))
            self.stream.flush()
        else:
            self._emit(line)


def _format_eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{seconds // 3600:.0f}:{(seconds % 3600) // 60:02.0f}:{seconds % 60:02.0f}"
    if seconds > 60:
        return f"{seconds // 60:.0f}:{seconds % 60:02.0f}"
    return f"{seconds:.0f}s"


def _redraws_in_place(stream: TextIO) -> bool:
    """A terminal, or a Jupyter notebook's output (not a tty, but it honours '\\r' and colours,
    and Keras redraws there too)."""
    if stream is sys.stdout and "ipykernel" in sys.modules:
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progbar:
    """Keras' ``keras.utils.Progbar`` for a loop of your own: ``update(current, values)``
    with ``values`` a list of (name, value) pairs, shown as running means over the steps
    (weighted by how many steps each update covers), except ``stateful_metrics``, shown as
    given; ``add(n, values)`` moves on by n. The line is the one fit draws."""

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Any = None,
        unit_name: str = "step",
    ) -> None:
        self.target, self.verbose = target, verbose
        self.stateful_metrics = set(stateful_metrics or ())
        self.bar = ProgressBar(target, verbose)
        self.bar.width, self.bar.min_redraw_seconds, self.bar.unit = width, interval, unit_name
        self._values: dict[str, list[float]] = {}
        self._seen_so_far = 0

    def update(self, current: int, values: Any = None, finalize: bool | None = None) -> None:
        for name, value in values or []:
            value = float(value)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1.0]
                continue
            steps = max(current - self._seen_so_far, 1)
            total, count = self._values.get(name, [0.0, 0.0])
            self._values[name] = [total + value * steps, count + steps]
        self._seen_so_far = current
        shown = {name: total / max(count, 1.0) for name, (total, count) in self._values.items()}
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if finalize:
            self.bar.finish(shown, current=current)
        else:
            self.bar.update(current, shown)

    def add(self, n: int, values: Any = None) -> None:
        self.update(self._seen_so_far + n, values)
