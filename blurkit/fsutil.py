"""Filesystem helpers: atomic, durable writes, durable moves and hashing.

An output appears under its final name only when it is complete and flushed to disk:
it is written to a hidden temporary file in the same directory, fsynced, renamed over the
final name, and the directory entry is fsynced too. If anything fails (or the process is
killed), only the temporary `.<name>.<random>.part` file can remain; `cleanup_partials()`
removes such leftovers. While an output is being written its temporary file is held under an
advisory lock (flock), so a cleanup run beside a live writer (two `blurkit process` runs into
one folder) removes only what a dead writer left: `is_stale_partial()`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

try:
    import fcntl
except ImportError:          # not POSIX: no writer can be told apart, every leftover is stale
    fcntl = None

PART_SUFFIX = ".part"
# blurkit's own temporary names: `.<final name>.<8 mkstemp characters>.part` (temp_path_for,
# the model store, the registry key) and the page's uploads `.<12 hex>.upload.part`; a
# `.part` file of any other shape (a browser's download, another program's) is never touched
_OWN_PART = re.compile(r"^\..+\.[a-z0-9_]{8}\.part$|^\.[0-9a-f]{12}\.upload\.part$")
_CHUNK = 1 << 20
DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
FULL_TEXTS = ("no space left", "disk quota", "database or disk is full", "errno 28",
              "read-only file system")


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
    held = _hold(tmp)      # released by close (or by the kernel when the process dies)
    try:
        yield tmp
        commit(tmp, final, overwrite=overwrite)
    finally:
        try:
            if tmp.exists():
                tmp.unlink()
        finally:
            if held is not None:
                os.close(held)


def _hold(path: Path) -> int | None:
    """An open descriptor of `path` holding an exclusive flock: 'a writer is alive'."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass
    return fd


def hold_while_writing(fd: int) -> None:
    """Mark an open temporary file as being written (see `is_stale_partial`)."""
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def is_own_partial(name: str) -> bool:
    """Does `name` have the shape of one of blurkit's temporary files?"""
    return bool(_OWN_PART.match(name))


def is_stale_partial(path: Path) -> bool:
    """A blurkit temporary file that no live writer holds (its writer was killed)."""
    if not is_own_partial(Path(path).name):
        return False
    if fcntl is None:
        return True
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False           # held: a writer is at work
    finally:
        os.close(fd)
    return True


def cleanup_partials(folder: Path) -> list[Path]:
    """Remove the temporary files that interrupted writes of blurkit left under `folder`
    (its own naming only; one a live writer still holds is left alone)."""
    removed = []
    for p in Path(folder).rglob(f".*{PART_SUFFIX}"):
        if p.is_file() and not p.is_symlink() and is_stale_partial(p):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- durable moves
# (crash-safe steps of the watch folder: each can be repeated after a kill -9)

class NameTaken(Exception):
    """The chosen name is in use by a file that is not ours: choose another."""


def makedirs_durable(path: Path) -> None:
    """mkdir -p, fsyncing the parent of every folder created (a new folder's entry is data
    too: without it a power cut could lose the files inside)."""
    path = Path(path)
    missing = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            pass
        fsync_dir(d.parent)


def link_no_overwrite(src: Path, dst: Path) -> None:
    """Give `src` the additional name `dst`, never replacing a file (FileExistsError).
    Where hard links are not supported (some shares, FAT) `src` is renamed instead."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise
        if os.path.lexists(dst):
            raise FileExistsError(str(dst)) from exc
        os.rename(src, dst)


def durable_move(src: Path, dst: Path, sha256: str) -> str:
    """Move a file we own (content `sha256`) to `dst` without ever replacing another file and
    so that a crash at any moment leaves it at one of the two places, complete. Repeatable:
    'moved', 'already' (it is at dst: a previous run got that far) or 'missing'."""
    if os.path.lexists(dst):
        if dst.is_file() and sha256_file(dst) == sha256:
            if os.path.lexists(src):
                os.unlink(src)
                fsync_dir(src.parent)
            return "already"
        raise NameTaken(str(dst))
    if not os.path.lexists(src):
        return "missing"
    makedirs_durable(dst.parent)
    try:
        link_no_overwrite(src, dst)
    except FileExistsError:
        raise NameTaken(str(dst)) from None
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        tmp = temp_path_for(dst)        # another file system: copy, check, then publish
        try:
            shutil.copyfile(src, tmp)
            if sha256_file(tmp) != sha256:
                raise OSError(errno.EIO, f"copy of {src} does not match its SHA-256")
            try:
                commit(tmp, dst)
            except FileExistsError:
                raise NameTaken(str(dst)) from None
        finally:
            if tmp.exists():
                tmp.unlink()
    fsync_dir(dst.parent)
    if os.path.lexists(src):
        os.unlink(src)
        fsync_dir(src.parent)
    return "moved"


def free_name(root: Path, rel: str, extra: tuple[str, ...] = (),
              reserved: Callable[[str], bool] = lambda r: False) -> str:
    """`rel`, or `stem (2).ext`, `stem (3).ext`, ... : the first name not in use under root
    (nor `name + s` for s in extra, nor reserved by another item)."""
    p = PurePosixPath(rel)
    stem, suffix = p.stem, p.suffix
    n = 1
    while True:
        name = p.name if n == 1 else f"{stem} ({n}){suffix}"
        cand = (p.parent / name).as_posix()
        if not any(os.path.lexists(root / (cand + s)) for s in ("",) + extra) \
                and not reserved(cand):
            return cand
        n += 1


def remove_empty_parents(path: Path, root: Path) -> None:
    p = Path(path)
    while p != root and root in p.parents:
        try:
            p.rmdir()
        except OSError:
            return
        p = p.parent


def free_mb(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free // (1 << 20)
    except OSError:
        return None


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return any(t in text for t in FULL_TEXTS[:4])
