"""File locks: one watcher per inbox, one worker per watcher."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class FileLock:
    """An exclusive advisory lock on a file, held while the process lives (the kernel drops
    it when the process dies, also on kill -9). Its text says who holds it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self, timeout: float = 0.0, stop: Callable[[], bool] = lambda: False) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                _lock_fd(fd)
            except BlockingIOError:
                if time.monotonic() >= deadline or stop():
                    os.close(fd)
                    return False
                time.sleep(0.2)
                continue
            except OSError as exc:
                if exc.errno != errno.ENOLCK:   # network file systems without locks:
                    os.close(fd)                # best effort, carry on unlocked
                    raise
            self.fd = fd
            return True

    def write(self, text: str) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.write(self.fd, text.encode("utf-8"))

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    @staticmethod
    def holder(path: Path) -> str | None:
        """The holder's text when the lock is held by someone, else None."""
        path = Path(path)
        if not path.exists():
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            try:
                _lock_fd(fd, shared=True)
            except BlockingIOError:
                try:
                    return os.read(fd, 4096).decode("utf-8", "replace") or "?"
                except OSError:
                    return "?"
            except OSError:
                return None
            return None
        finally:
            os.close(fd)


def _lock_fd(fd: int, shared: bool = False) -> None:
    if fcntl is not None:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        return
    import msvcrt  # pragma: no cover - Windows

    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        raise BlockingIOError(str(exc)) from exc
