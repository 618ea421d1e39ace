"""The inbox: which files are there, which are ours to take (unchanged long enough, not open
for writing, not a temporary or system name)."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SYSTEM_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", "icon\r"}
_TEMP_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp",
                  ".filepart", ".opdownload", ".!qb", ".!ut", "~")


def ignored_name(name: str) -> bool:
    """Names a copy in progress or an operating system leaves behind; never taken."""
    low = name.lower()
    return (name.startswith((".", "~$")) or low in SYSTEM_NAMES
            or low.endswith(_TEMP_SUFFIXES))


def kind_of(name: str) -> str:
    from blurkit.engine.pipeline import MEDIA_SUFFIXES, VIDEO_SUFFIXES

    suffix = PurePosixPath(name).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "photo" if suffix in MEDIA_SUFFIXES else "other"




def open_for_writing_elsewhere(path: Path) -> bool:
    """True when (as far as Linux can tell cheaply) some process has the file open for
    writing: a read lease cannot be taken then. Unknown (other systems, network file
    systems, files of another owner) counts as False: stability is the main rule."""
    if fcntl is None or not hasattr(fcntl, "F_SETLEASE"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EBUSY)
    else:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)





@dataclass
class Seen:
    size: int
    mtime_ns: int
    ino: int
    since: float                 # monotonic time this size/mtime was first seen
    first: float                 # wall-clock time the file was first seen
    retry_at: float = 0.0        # after a failed attempt to take it
    problem: str | None = None


class InboxTracker:
    """Files in the inbox that are not ours yet, and how long each has been unchanged."""

    def __init__(self, root: Path, settle: float, empty_settle: float,
                 prune_after: float) -> None:
        self.root = root
        self.settle = settle
        self.empty_settle = empty_settle
        self.prune_after = prune_after
        self.seen: dict[str, Seen] = {}
        self.problem: str | None = None

    def _rel(self, path: Path) -> str | None:
        try:
            rel = Path(path).relative_to(self.root)
        except ValueError:
            return None
        if not rel.parts or any(ignored_name(part) for part in rel.parts):
            return None
        return rel.as_posix()

    def note(self, path: Path, now: float) -> None:
        """A file event: look at this path (a folder: at everything under it)."""
        rel = self._rel(path)
        if rel is None:
            return
        full = self.root / rel
        try:
            if full.is_dir() and not full.is_symlink():
                self._walk(full, now, prune=False)
            else:
                self._look(rel, now)
        except OSError:
            pass  # gone again already; the next scan sees what is there

    def scan(self, now: float) -> None:
        """Walk the whole inbox; forget files that are gone."""
        found: set[str] = set()
        try:
            self._walk(self.root, now, prune=True, found=found)
        except OSError as exc:
            self.problem = str(exc)
            return
        self.problem = None
        for rel in list(self.seen):
            if rel not in found:
                del self.seen[rel]

    def _walk(self, top: Path, now: float, prune: bool, found: set[str] | None = None) -> None:
        wall = time.time()
        for dirpath, dirnames, filenames in os.walk(top, onerror=self._walk_error(top)):
            d = Path(dirpath)
            dirnames[:] = sorted(n for n in dirnames if not ignored_name(n)
                                 and not (d / n).is_symlink())
            for name in sorted(filenames):
                if ignored_name(name):
                    continue
                rel = (d / name).relative_to(self.root).as_posix()
                if self._look(rel, now) and found is not None:
                    found.add(rel)
            if prune and d != self.root and not dirnames:
                self._prune(d, wall)

    def _walk_error(self, top: Path):
        def onerror(exc: OSError) -> None:
            if Path(exc.filename or "") == top:
                raise exc
        return onerror

    def _prune(self, d: Path, wall: float) -> None:
        """Remove a dropped folder once its files were taken (and nothing changed in it for
        a while); system files (.DS_Store, Thumbs.db...) alone don't keep it."""
        try:
            names = os.listdir(d)
            if any(not (n.lower() in SYSTEM_NAMES or n.startswith("._")) for n in names):
                return
            if wall - d.stat().st_mtime < self.prune_after:
                return
            for n in names:
                os.unlink(d / n)
            d.rmdir()
        except OSError:
            return

    def _look(self, rel: str, now: float) -> bool:
        """Update what we know about one file; True when it is a regular file."""
        try:
            st = os.lstat(self.root / rel)
        except OSError:
            self.seen.pop(rel, None)
            return False
        import stat as _stat

        if not _stat.S_ISREG(st.st_mode):
            self.seen.pop(rel, None)
            return False
        old = self.seen.get(rel)
        if old is None or (old.size, old.mtime_ns, old.ino) != (st.st_size, st.st_mtime_ns,
                                                                   st.st_ino):
            self.seen[rel] = Seen(st.st_size, st.st_mtime_ns, st.st_ino, now,
                                  old.first if old else time.time(),
                                  old.retry_at if old else 0.0)
        return True

    def stable(self, now: float) -> list[tuple[str, Seen]]:
        """Files unchanged long enough, oldest first (each re-checked on disk now)."""
        out = []
        for rel in sorted(self.seen, key=lambda r: self.seen[r].first):
            if not self._look(rel, now):
                continue
            s = self.seen[rel]
            wait = self.empty_settle if s.size == 0 else self.settle
            if now - s.since >= wait and now >= s.retry_at:
                out.append((rel, s))
        return out

    def forget(self, rel: str) -> None:
        self.seen.pop(rel, None)
