"""Filesystem helpers: atomic, durable writes and hashing.

An output appears under its final name only when it is complete and flushed to disk:
it is written to a hidden temporary file in the same directory, fsynced, renamed over the
final name, and the directory entry is fsynced too. If anything fails (or the process is
killed), only the temporary `.<name>.<random>.part` file can remain; `cleanup_partials()`
removes such leftovers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

PART_SUFFIX = ".part"
_CHUNK = 1 << 20


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a directory's entries, to disk. Best effort: a path that
    cannot be opened (a directory on some systems, a file that vanished) is left alone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or create inside `path` durable."""
    fsync_path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_path_for(final: Path) -> Path:
    """A fresh, unused temporary path next to `final` (same filesystem, so rename is atomic).

    The file gets ordinary permissions (0666 minus the umask), like any file a program
    creates, so published copies are readable by the colleagues the umask allows; mkstemp
    alone would make them owner-only.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=PART_SUFFIX, dir=final.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return Path(tmp)


def commit(tmp: Path, final: Path, overwrite: bool = False) -> None:
    """fsync `tmp`, then move it to `final` atomically.

    With overwrite=False an existing `final` is never replaced (FileExistsError); the check
    and the move are one step (a hard link), so two writers cannot both win.
    """
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    if overwrite:
        os.replace(tmp, final)
    else:
        try:
            os.link(tmp, final)
        except OSError as exc:
            if isinstance(exc, FileExistsError):
                raise
            # filesystems without hard links (some network shares, FAT): check, then rename
            if final.exists():
                raise FileExistsError(str(final)) from exc
            os.rename(tmp, final)
        else:
            os.unlink(tmp)
    fsync_dir(final.parent)


@contextlib.contextmanager
def atomic_output(final: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes `final`, on error it is removed.

        with atomic_output(out) as tmp:
            write_to(tmp)
            check(tmp)          # raise here and nothing appears at `out`
    """
    final = Path(final)
    tmp = temp_path_for(final)
    try:
        yield tmp
        commit(tmp, final, overwrite=overwrite)
    finally:
        if tmp.exists():
            tmp.unlink()


def cleanup_partials(folder: Path) -> list[Path]:
    """Remove leftover temporary files of interrupted writes under `folder`."""
    removed = []
    for p in Path(folder).rglob(f".*{PART_SUFFIX}"):
        if p.is_file():
            p.unlink()
            removed.append(p)
    return removed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
