"""A script of tests/keras_io run in this process under minicnn, with its arguments; what
it printed, line by line."""

import contextlib
import io
import runpy
import sys
from pathlib import Path

import minicnn

HERE = Path(__file__).parent


def printed_by(stem: str, *argv: str) -> list[str]:
    """tests/keras_io/<stem>.py run as ``python <stem>.py minicnn *argv``, its names
    counted from the start, as in a fresh process (where Keras ran it)."""
    script = HERE / "keras_io" / f"{stem}.py"
    old, sys.argv = sys.argv, [str(script), "minicnn", *argv]
    out = io.StringIO()
    minicnn.backend.clear_session()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(script), run_name=stem)
    finally:
        sys.argv = old
    return out.getvalue().splitlines()
