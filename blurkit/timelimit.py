"""A per-file time limit, so that one pathological file (a decoder or a parser looping on
hostile bytes) fails with a reason instead of blocking the queue.

`time_limit(seconds)` arms SIGALRM in the main thread of a worker process; when it fires,
`TimeLimitExceeded` is raised where the worker was (in Python code: the hand-written
parsers, the pipeline between library calls). `touch()` restarts the clock: a long video
reports progress and so only a stall counts. A hang inside C code that never returns to
Python is beyond a signal handler's reach: the watch folder's parent process kills its
worker at a later deadline (watch/processing.py), and the file goes to failed/ with the same
reason. Elsewhere than a main thread, or with no limit, the block runs unbounded.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["TimeLimitExceeded", "time_limit", "DEFAULT_SECONDS", "PER_MB_SECONDS",
           "seconds_for"]

DEFAULT_SECONDS = 900.0     # a file's base allowance (a 200-MP photo on a Pi 4: minutes)
PER_MB_SECONDS = 30.0       # and per megabyte of the file


class TimeLimitExceeded(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no progress for {seconds:.0f} s")
        self.seconds = seconds


def seconds_for(size_bytes: int, base: float = DEFAULT_SECONDS) -> float:
    """The allowance of a file of `size_bytes` (the watch folder's formula)."""
    return base + PER_MB_SECONDS * size_bytes / (1 << 20)


class _Clock:
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    def touch(self) -> None:
        """Progress: the limit starts again."""
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[_Clock]:
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield _Clock(None)
        return

    def fire(signum, frame) -> None:
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, fire)
    clock = _Clock(seconds)
    clock.touch()
    try:
        yield clock
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
