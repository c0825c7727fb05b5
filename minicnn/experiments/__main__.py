import signal
import sys

from .cli import main


def _interrupt_once(signum: int, frame: object) -> None:
    # The first Ctrl-C stops the sweep; the ones after it (a terminal, or `timeout`, may send
    # more than one) only repeat it, and must not cut the clean stop short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


signal.signal(signal.SIGINT, _interrupt_once)
sys.exit(main())
