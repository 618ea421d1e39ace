"""SIGTERM handled as Ctrl-C: a plain `kill` (systemd, a shell, a container stop) must clean
up exactly as an interrupt from the keyboard does, never leave a half-written file.

`terminate_as_interrupt()` turns SIGTERM into `Terminated`, a KeyboardInterrupt, for the
time of a block, so every `except KeyboardInterrupt` clean-up path (the batch runner's, the
video writer's `atomic_output`) runs for it too; the caller can tell the two apart and exit
with the conventional status 143 (128 + SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["Terminated", "terminate_as_interrupt", "TERMINATED_STATUS"]

TERMINATED_STATUS = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (raised where the main thread was, like KeyboardInterrupt)."""


def _raise(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises `Terminated` in the main thread (elsewhere: no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
