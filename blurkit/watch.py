"""The watch folder: staff drop photos and clips into an inbox, anonymized copies appear in
ready/, and no file is ever lost, not even by a power cut.

Folders (defaults under `<data_dir>/watch/`; folders dropped in keep their structure in each):

    inbox/       where people drop files (a hidden `.blurkit-work/` holds files being processed)
    ready/       the anonymized copies (a hidden `.blurkit-work/` stages them while written)
    originals/   the originals of published copies, kept `keep_days` days, then deleted with
                 an audit entry (0 = deleted as soon as the copy is published and verified);
                 `originals/duplicates/` holds files dropped again, with a note
    failed/      files that could not be anonymized, each with `NAME.reason.txt` (Swedish and
                 English) saying why

A file is taken only when its size and modification time have not changed for `settle`
seconds, it can be opened, and (on Linux, local disks, where a lease can tell) no process has
it open for writing. Temporary and system names are never touched (see `ignored_name`).

Order of operations for one file (see `watchjournal` for the states); each step is recorded
in the journal before or after it happens so that a restart after `kill -9` or a power cut
knows where it stands, and each step can be repeated safely:

 1. claim: journal row (`claimed`) -> rename into the inbox's work area (atomic, same file
    system) -> fsync the file and both folders -> hash -> `queued` (or straight to the end
    as "not a photo or video"). When its turn comes, content already published for the same
    purpose (and still in ready/) is set aside as a duplicate instead of processed.
 2. process: `processing` with attempts+1 is committed before the worker gets the job; the
    worker (a separate process, so a decoder crash cannot take the watcher down) writes the
    output atomically into a fresh staging folder inside ready/ (same file system).
    A restart finds `processing` rows: back to `queued` (the staging folder is wiped), or to
    failed/ once `max_attempts` runs were cut short (a file that crashes the worker cannot
    block the queue).
 3. `finishing` (outcome recorded): choose and record the output's name -> hard-link the
    staged file there (never overwriting) -> fsync -> check its SHA-256 -> `published` ->
    audit entry (its id recorded; after a crash the log is searched for the item's token
    before appending, so there is never a second entry) -> original: choose and record its
    name -> link into originals/ (or failed/, after writing the reason file; or delete it
    when keep_days is 0, with a `retention-delete` audit entry) -> fsync -> unlink from the
    work area -> final state.

The original is therefore only ever removed from the work area after the copy in ready/ is
complete, fsynced, verified and journalled, and an output only appears in ready/ under its
final name when it is complete. The SHA-256 of every original is kept: content that was
already published (and whose copy is still in ready/) is not processed again.

A full disk pauses the queue (log + `blurkit status`) before anything is written, and the
watcher resumes by itself when space returns; the same happens when the models or the
consent registry cannot be used, and when the clock is earlier than the journal's last
entry (a Raspberry Pi without a real-time clock after a power cut). The consent registry is re-read before an item whenever
its files changed or the date changed (consent validity depends on the day).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import queue
import shutil
import signal
import sqlite3
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

from blurkit import i18n
from blurkit.audit import AuditError, AuditLog, utc_now
from blurkit.config import Settings
from blurkit.errors import BlurkitError
from blurkit.fsutil import (cleanup_partials, commit, fsync_dir, fsync_path, sha256_file,
                            temp_path_for)
from blurkit.watchjournal import FINAL, JOURNAL_DB, WORK_DIR, Journal

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("blurkit.watch")

i18n.register({
    "watch.started": {
        "en": "Watching {inbox}: anonymized copies go to {ready} (purpose {purpose}; {mode}). "
              "Originals are kept in {originals} for {keep}, files that cannot be anonymized "
              "go to {failed}.",
        "sv": "Bevakar {inbox}: anonymiserade kopior hamnar i {ready} (syfte {purpose}; {mode}). "
              "Originalen sparas i {originals} i {keep}, filer som inte kan anonymiseras "
              "hamnar i {failed}.",
    },
    "watch.mode.events": {"en": "file events, and a check of the whole folder every {seconds} s",
                          "sv": "filhändelser, och en genomgång av hela mappen med {seconds} s "
                                "mellanrum"},
    "watch.mode.poll": {"en": "checking the folder every {seconds} s",
                        "sv": "går igenom mappen med {seconds} s mellanrum"},
    "watch.keep.days": {"en": "{days} day(s)", "sv": "{days} dag(ar)"},
    "watch.keep.none": {"en": "no time (deleted once the copy is verified)",
                        "sv": "ingen tid (raderas när kopian är kontrollerad)"},
    "watch.stopped": {"en": "The watcher stopped.", "sv": "Bevakningen stoppades."},
    "watch.done": {
        "en": "{name}: anonymized into {output} ({hidden} face(s) hidden, {shown} shown with "
              "consent).",
        "sv": "{name}: anonymiserad till {output} ({hidden} ansikte(n) dolda, {shown} visade "
              "med samtycke).",
    },
    "watch.failed": {"en": "{name}: could not be anonymized, moved to {dest}: {reason}",
                     "sv": "{name}: kunde inte anonymiseras, flyttad till {dest}: {reason}"},
    "watch.duplicate": {
        "en": "{name}: the same file was already anonymized ({other}); no second copy was made. "
              "Moved to {dest}.",
        "sv": "{name}: samma fil har redan anonymiserats ({other}); ingen andra kopia gjordes. "
              "Flyttad till {dest}.",
    },
    "watch.retention_deleted": {
        "en": "{path}: original deleted after {days} day(s), as configured.",
        "sv": "{path}: originalet raderat efter {days} dag(ar), enligt inställningen.",
    },
    "watch.retention_not_ours": {
        "en": "{path}: not deleted: the file there is no longer the original blurkit kept.",
        "sv": "{path}: raderades inte: filen där är inte längre originalet som blurkit sparade.",
    },
    "watch.already_running": {
        "en": "Another watcher is already processing {inbox} (process {pid}). Stop it first, "
              "or check it with: blurkit status",
        "sv": "En annan bevakning behandlar redan {inbox} (process {pid}). Stoppa den först, "
              "eller se hur det går med: blurkit status",
    },
    "watch.waiting_for_worker": {
        "en": "Waiting for the worker of the previous run to stop...",
        "sv": "Väntar på att förra körningens arbetsprocess ska sluta...",
    },
    "watch.bad_folders": {
        "en": "{a} and {b} must be different folders, and neither may be inside the other.",
        "sv": "{a} och {b} måste vara olika mappar, och ingen av dem får ligga i den andra.",
    },
    "watch.no_parent": {
        "en": "{path}: the folder above it does not exist (is a network share not mounted?).",
        "sv": "{path}: mappen ovanför finns inte (är en nätverksresurs inte ansluten?).",
    },
    "watch.events_unavailable": {
        "en": "File events are not available ({reason}); checking the folder every {seconds} s "
              "instead.",
        "sv": "Filhändelser är inte tillgängliga ({reason}); går igenom mappen med {seconds} s "
              "mellanrum i stället.",
    },
    "watch.inbox_unreachable": {
        "en": "The inbox {path} cannot be read ({reason}); trying again.",
        "sv": "Inkorgen {path} kan inte läsas ({reason}); försöker igen.",
    },
    "watch.cannot_take": {
        "en": "{name}: cannot be taken from the inbox ({reason}); trying again later.",
        "sv": "{name}: kan inte tas från inkorgen ({reason}); försöker igen senare.",
    },
    "watch.paused.disk_full": {
        "en": "Paused: only {free_mb} MB free on {path}, {need_mb} MB needed. Nothing is "
              "written until there is room; the queue continues by itself.",
        "sv": "Pausad: bara {free_mb} MB ledigt på {path}, {need_mb} MB behövs. Inget skrivs "
              "förrän det finns plats; kön fortsätter av sig själv.",
    },
    "watch.paused.models": {
        "en": "Paused: the models cannot be loaded: {reason}",
        "sv": "Pausad: modellerna kan inte laddas: {reason}",
    },
    "watch.paused.registry": {
        "en": "Paused: the consent registry cannot be read: {reason}",
        "sv": "Pausad: samtyckesregistret kan inte läsas: {reason}",
    },
    "watch.paused.output": {
        "en": "Paused: anonymized copies cannot be written: {reason}. Trying again in a minute.",
        "sv": "Pausad: anonymiserade kopior kan inte skrivas: {reason}. Försöker igen om en "
              "minut.",
    },
    "watch.paused.error": {
        "en": "Paused after an unexpected error: {reason}. Trying again in {seconds} s.",
        "sv": "Pausad efter ett oväntat fel: {reason}. Försöker igen om {seconds} s.",
    },
    "watch.paused.clock": {
        "en": "Paused: the clock says {now}, earlier than blurkit's last work ({latest}); it "
              "was probably reset by a power cut. Consent validity depends on the date, so "
              "nothing is processed until the clock is right (network time, or: sudo date -s).",
        "sv": "Pausad: klockan säger {now}, tidigare än blurkits senaste arbete ({latest}); "
              "den har troligen ställts om av ett strömavbrott. Samtyckens giltighet beror på "
              "datumet, så inget behandlas förrän klockan går rätt (nättid, eller: sudo date -s).",
    },
    "watch.resumed": {"en": "Resumed.", "sv": "Fortsätter."},
    "watch.worker_died": {
        "en": "{name}: the worker process stopped while processing it ({reason}); attempt "
              "{attempt} of {max}.",
        "sv": "{name}: arbetsprocessen avbröts under behandlingen ({reason}); försök {attempt} "
              "av {max}.",
    },
    "watch.requeued": {
        "en": "{name}: processing was interrupted; it will be processed again.",
        "sv": "{name}: behandlingen avbröts; filen behandlas igen.",
    },
    "watch.reason.not_media": {
        "en": "{name}: this is not a photo or video file. Photos (JPEG, PNG, WebP, TIFF, HEIC, "
              "AVIF) and videos (MP4, MOV, MKV, AVI, WebM, ...) are anonymized.",
        "sv": "{name}: det här är inte en foto- eller videofil. Foton (JPEG, PNG, WebP, TIFF, "
              "HEIC, AVIF) och videor (MP4, MOV, MKV, AVI, WebM, ...) anonymiseras.",
    },
    "watch.reason.crashed": {
        "en": "{name}: processing was cut short {n} times (the program stopped or crashed while "
              "working on this file); nothing was published from it.",
        "sv": "{name}: behandlingen avbröts {n} gånger (programmet stannade eller kraschade "
              "medan det arbetade med filen); inget publicerades från den.",
    },
    "watch.reason.vanished": {
        "en": "{name}: the file disappeared from blurkit's work folder before it was "
              "processed; nothing was published from it.",
        "sv": "{name}: filen försvann ur blurkits arbetsmapp innan den behandlades; inget "
              "publicerades från den.",
    },
    "watch.note.failed": {
        "en": "ENGLISH\nblurkit could not anonymize this file, so nothing was published from "
              "it.\nFile: {name}\nReason: {reason}\nWhat to do: check the file (open it, or "
              "export it again from the camera or phone) and drop it into the inbox again. "
              "If it keeps failing, ask the person who looks after blurkit.",
        "sv": "SVENSKA\nblurkit kunde inte anonymisera den här filen, så inget publicerades "
              "från den.\nFil: {name}\nOrsak: {reason}\nVad du kan göra: kontrollera filen "
              "(öppna den, eller exportera den igen från kameran eller telefonen) och lägg den "
              "i inkorgen igen. Om det fortsätter att misslyckas, fråga den som sköter blurkit.",
    },
    "watch.note.duplicate": {
        "en": "ENGLISH\nThis file is identical to {other}, {status} No second copy was made. "
              "This file is deleted after {days} day(s).",
        "sv": "SVENSKA\nDen här filen är identisk med {other}, {status} Ingen andra kopia "
              "gjordes. Den här filen raderas efter {days} dag(ar).",
    },
    "watch.note.twin_done": {"en": "which was already anonymized: {output}.",
                             "sv": "som redan har anonymiserats: {output}."},
    "watch.note.twin_busy": {"en": "which is being anonymized right now.",
                             "sv": "som håller på att anonymiseras."},
})
T = i18n.t

NOTE_SUFFIX = ".reason.txt"
TIME_SYNCED = Path("/run/systemd/timesync/synchronized")   # systemd-timesyncd: clock is set
DUPLICATES = "duplicates"
STATE_DIRS = "watch-state"
_SYSTEM_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", "icon\r"}
_TEMP_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp",
                  ".filepart", ".opdownload", ".!qb", ".!ut", "~")
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_OUTPUT_KEYS = {"image.write_failed", "video.write_failed", "pipeline.exists",
                "image.write_exists", "video.output_exists", "pipeline.disk_full"}
_FULL_TEXTS = ("no space left", "disk quota", "database or disk is full", "errno 28",
               "read-only file system")


def ignored_name(name: str) -> bool:
    """Names a copy in progress or an operating system leaves behind; never taken."""
    low = name.lower()
    return (name.startswith((".", "~$")) or low in _SYSTEM_NAMES
            or low.endswith(_TEMP_SUFFIXES))


def kind_of(name: str) -> str:
    from blurkit.pipeline import MEDIA_SUFFIXES, VIDEO_SUFFIXES

    suffix = PurePosixPath(name).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "photo" if suffix in MEDIA_SUFFIXES else "other"


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class WatchConfig:
    inbox: Path
    ready: Path
    originals: Path
    failed: Path
    state_dir: Path
    purpose: str = "public"
    poll: float | None = None       # seconds between scans; None: file events (+ rescan)
    rescan: float = 60.0            # event mode: full scan as a safety net
    settle: float = 5.0             # size and mtime unchanged this long before a file is taken
    keep_days: float = 30.0         # originals of published copies; 0 = delete once verified
    min_free_mb: int = 200          # pause when less is free where outputs are written
    max_attempts: int = 3           # processing runs cut short before a file goes to failed/
    recycle_after: int = 500        # restart the worker process after so many files
    tick: float = 0.5

    @property
    def empty_settle(self) -> float:
        """An empty file is often a copy that has not started writing yet: wait longer."""
        return self.settle * 4


def default_folders(data_dir: Path) -> dict[str, Path]:
    root = Path(data_dir) / "watch"
    return {name: root / name for name in ("inbox", "ready", "originals", "failed")}


def state_dir_for(data_dir: Path, inbox: Path) -> Path:
    resolved = str(Path(inbox).expanduser().resolve())
    key = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    return Path(data_dir) / STATE_DIRS / f"inbox-{key}"


def make_config(settings: Settings, inbox: Path | None = None, ready: Path | None = None,
                originals: Path | None = None, failed: Path | None = None,
                **options: Any) -> WatchConfig:
    """Folders resolved (defaults under the data directory) and checked: all different, none
    inside another. Folders are created; a named folder's parent must exist."""
    defaults = default_folders(settings.data_dir)
    given = {"inbox": inbox, "ready": ready, "originals": originals, "failed": failed}
    folders: dict[str, Path] = {}
    for name, path in given.items():
        if path is None:
            path = defaults[name]
            path.mkdir(parents=True, exist_ok=True)
        else:
            path = Path(path).expanduser()
            if not path.is_dir():
                if not path.parent.is_dir():
                    raise BlurkitError("watch.no_parent", path=path)
                path.mkdir(exist_ok=True)
        folders[name] = path.resolve()
    data = Path(settings.data_dir).expanduser().resolve()
    if folders["inbox"] == data or folders["inbox"] in data.parents:
        raise BlurkitError("watch.bad_folders", a=folders["inbox"], b=data)
    names = list(folders)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pa, pb = folders[a], folders[b]
            if pa == pb or pa in pb.parents or pb in pa.parents:
                raise BlurkitError("watch.bad_folders", a=pa, b=pb)
    return WatchConfig(state_dir=state_dir_for(settings.data_dir, folders["inbox"]),
                       **folders, **options)


# --------------------------------------------------------------------------- file system

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


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return any(t in text for t in _FULL_TEXTS[:4])


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


# --------------------------------------------------------------------------- the worker

class WorkerStartError(Exception):
    def __init__(self, key: str, en: str, sv: str) -> None:
        super().__init__(en)
        self.key, self.en, self.sv = key, en, sv

    def message(self) -> str:
        return self.sv if i18n.language() == "sv" else self.en


def run_job(worker, job, display: str):
    """worker.process(job) and, for a failure, its reason in Swedish and English with the
    work-area path replaced by the name the file was dropped as."""
    result = worker.process(job)
    if result.ok:
        return result, None
    source = str(job.source)
    params = {k: v.replace(source, display) for k, v in result.error_params.items()}

    def word(lang: str) -> str:
        try:
            return i18n.t(result.error_key, lang, **params)
        except (KeyError, IndexError, ValueError):
            return (result.error or result.error_key or "?").replace(source, display)

    return result, {lang: word(lang) for lang in i18n.LANGUAGES}


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the worker is killed when the watcher dies, even by SIGKILL, so an orphan
    can never write into ready/ behind the back of the next watcher."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(0)


def _load(factory: str) -> Callable:
    import importlib

    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)


def _child_main(conn, options, factory: str, lock_path: str, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl+C is the watcher's to handle
    lock = FileLock(Path(lock_path))
    lock.acquire(timeout=3600)
    lock.write(str(os.getpid()))
    try:
        worker = _load(factory)(options)
    except BlurkitError as exc:
        conn.send(("init_error", exc.key, exc.message("en"), exc.message("sv")))
        return
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        conn.send(("init_error", "watch.paused.models", text, text))
        return
    current: dict[str, Any] = {"id": None, "last": 0.0}
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:
            conn.send(msg)

    def progress(job, phase: str, done: int, total: int) -> None:
        """Long videos report their frames: shown by `blurkit status`, and proof of life."""
        now = time.monotonic()
        if now - current["last"] >= 1.0 or done == total:
            current["last"] = now
            send(("progress", current["id"], phase, done, total))

    if hasattr(worker, "progress"):
        worker.progress = progress
    send(("ready", dict(worker.models)))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        if msg[0] == "snapshot":
            worker.set_snapshot(msg[1])
            send(("models", dict(worker.models)))
        elif msg[0] == "job":
            _, item_id, job, display = msg
            current["id"], current["last"] = item_id, 0.0
            result, reasons = run_job(worker, job, display)
            send(("result", item_id, result, reasons, dict(worker.models)))


class ProcessWorker:
    """The pipeline's Worker in a separate process: models loaded once, a crash in a decoder
    costs one attempt of one file instead of the watcher."""

    def __init__(self, lock_path: Path, factory: str = "blurkit.pipeline:Worker") -> None:
        self.lock_path = Path(lock_path)
        self.factory = factory
        self.proc = None
        self.conn = None
        self.models: dict[str, str] = {}
        self.jobs = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def start(self, options, stop: Callable[[], bool] = lambda: False) -> dict[str, str]:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, name="blurkit-worker", daemon=True,
                                args=(child, options, self.factory, str(self.lock_path),
                                      os.getpid()))
        self.proc.start()
        child.close()
        self.conn, self.jobs = parent, 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not stop():
            if parent.poll(0.5):
                try:
                    msg = parent.recv()
                except (EOFError, OSError):
                    break
                if msg[0] == "ready":
                    self.models = msg[1]
                    return self.models
                self.kill()
                raise WorkerStartError(*msg[1:])
            if not self.proc.is_alive():
                break
        code = self.proc.exitcode if self.proc is not None else None
        self.kill()
        text = f"the worker process did not start (exit code {code})"
        raise WorkerStartError("watch.paused.models", text, text)

    def set_snapshot(self, snapshot) -> None:
        self.conn.send(("snapshot", snapshot))
        while True:  # only sent between jobs: nothing else is in flight
            msg = self.conn.recv()
            if msg[0] == "models":
                self.models = msg[1]
                return

    def submit(self, item_id: int, job, display: str) -> None:
        self.conn.send(("job", item_id, job, display))
        self.jobs += 1

    def poll(self, timeout: float):
        """('result', id, ItemResult, reasons, models), ('progress', id, phase, done, total),
        ('died', reason) or None."""
        try:
            if not self.conn.poll(timeout):
                if self.proc.is_alive():
                    return None
                return ("died", f"exit code {self.proc.exitcode}")
            msg = self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(5)
            code = self.proc.exitcode
            reason = (f"signal {-code}" if code is not None and code < 0
                      else f"exit code {code}")
            return ("died", reason)
        if msg[0] == "result":
            self.models = msg[4]
        return msg

    def stop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.send(("stop",))
        if self.proc is not None:
            self.proc.join(10)
        self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.proc = self.conn = None


class InlineWorker:
    """The same interface, in this process (tests, and debugging)."""

    def __init__(self, factory: Callable) -> None:
        self.factory = factory
        self.worker = None
        self.models: dict[str, str] = {}
        self.jobs = 0
        self._pending = None

    @property
    def alive(self) -> bool:
        return self.worker is not None

    def start(self, options, stop: Callable[[], bool] = lambda: False) -> dict[str, str]:
        try:
            self.worker = self.factory(options)
        except BlurkitError as exc:
            raise WorkerStartError(exc.key, exc.message("en"), exc.message("sv")) from exc
        self.models = dict(self.worker.models)
        self.jobs = 0
        return self.models

    def set_snapshot(self, snapshot) -> None:
        self.worker.set_snapshot(snapshot)
        self.models = dict(self.worker.models)

    def submit(self, item_id: int, job, display: str) -> None:
        result, reasons = run_job(self.worker, job, display)
        self._pending = ("result", item_id, result, reasons, dict(self.worker.models))
        self.jobs += 1

    def poll(self, timeout: float):
        msg, self._pending = self._pending, None
        return msg

    def stop(self) -> None:
        self.worker = None

    kill = stop


# --------------------------------------------------------------------------- the inbox

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
            if any(not (n.lower() in _SYSTEM_NAMES or n.startswith("._")) for n in names):
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


# --------------------------------------------------------------------------- the watcher

class AlreadyRunning(BlurkitError):
    pass


class _Stop(Exception):
    pass


@dataclass
class Pause:
    key: str
    params: dict = field(default_factory=dict)
    until: float = 0.0             # monotonic; retry after


class Watcher:
    """One inbox. `run()` until `request_stop()`; or drive it with `open()`, `step()`,
    `close()` (tests)."""

    def __init__(self, config: WatchConfig, settings: Settings, options,
                 worker=None, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.settings = settings
        self.options = dataclasses.replace(options, purpose=config.purpose)
        self.worker = worker if worker is not None else ProcessWorker(
            config.state_dir / "worker.lock")
        self.clock = clock
        self.journal: Journal | None = None
        self.audit: AuditLog | None = None
        self.tracker = InboxTracker(config.inbox, config.settle, config.empty_settle,
                                    prune_after=max(120.0, config.settle * 10))
        # SimpleQueue: put() is safe from a signal handler (request_stop) and other threads
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._announced = False
        self.observer = None
        self.mode = "poll" if config.poll else "events"
        self.busy: tuple[int, float, float] | None = None   # item id, started, deadline
        self._progress_written = 0.0
        self._clock_floor: str | None = None
        self.pause: Pause | None = None
        self.snapshot_key: tuple | None = None
        self.audit_index: dict[str, int] | None = None
        self.audit_uncertain: set[str] = set()
        self.stop_requested = threading.Event()
        self.crash_hook: Callable[[str], None] | None = None   # tests: simulate kill -9
        self.stuck: dict[str, str] = {}
        self._locks: list[FileLock] = []
        self._next_scan = 0.0
        self._next_retention = 0.0
        self._next_heartbeat = 0.0
        self._inbox_ino: int | None = None

    # paths ---------------------------------------------------------------------------------

    @property
    def work_root(self) -> Path:
        return self.config.inbox / WORK_DIR

    @property
    def staging_root(self) -> Path:
        return self.config.ready / WORK_DIR

    def _root(self, disposal: str) -> Path:
        return {"originals": self.config.originals, "failed": self.config.failed,
                "duplicates": self.config.originals / DUPLICATES}[disposal]

    def crashpoint(self, name: str) -> None:
        if self.crash_hook is not None:
            self.crash_hook(name)

    # start and stop ------------------------------------------------------------------------

    def open(self) -> None:
        c = self.config
        c.state_dir.mkdir(parents=True, exist_ok=True)
        for d in (c.inbox, c.ready, c.originals, c.failed):
            d.mkdir(parents=True, exist_ok=True)
        self.work_root.mkdir(exist_ok=True)
        for path in (c.state_dir / "watch.lock", self.work_root / "watch.lock"):
            lock = FileLock(path)
            if not lock.acquire():
                holder = FileLock.holder(path) or "?"
                self._release_locks()
                raise AlreadyRunning("watch.already_running", inbox=c.inbox,
                                     pid=holder.split()[0] if holder else "?")
            lock.write(f"{os.getpid()} {c.inbox}\n")
            self._locks.append(lock)
        # a worker of a previous run (only possible where the kernel cannot kill it with its
        # parent) finishes its file first: it must not write beside the new one
        wlock = FileLock(c.state_dir / "worker.lock")
        if not wlock.acquire(timeout=1.0):
            log.warning(T("watch.waiting_for_worker"))
            wlock.acquire(timeout=24 * 3600, stop=self.stop_requested.is_set)
        wlock.release()
        self.journal = Journal(c.state_dir / JOURNAL_DB, inbox=c.inbox)
        self.audit = AuditLog.open(self.settings)
        self.journal.set_runtime(
            pid=os.getpid(), started=utc_now(), heartbeat=utc_now(), mode=self._mode_text(),
            purpose=c.purpose, ready=str(c.ready), originals=str(c.originals),
            failed=str(c.failed), keep_days=c.keep_days, paused_key=None, paused_params=None,
            current_id=None, stuck=None, stopped=None, progress=None,
            models_dir=str(self.options.models_dir))
        self._clock_floor = self.journal.latest_time()
        self.recover()

    def _mode_text(self) -> str:
        if self.mode == "poll":
            return f"poll {self.config.poll:g}s"
        return f"events + rescan {self.config.rescan:g}s"

    def start_watching(self) -> None:
        c = self.config
        keep = (T("watch.keep.days", days=f"{c.keep_days:g}") if c.keep_days > 0
                else T("watch.keep.none"))
        if self.mode == "events":
            try:
                from watchdog.events import FileSystemEventHandler
                from watchdog.observers import Observer

                events = self.events

                class Handler(FileSystemEventHandler):
                    def on_any_event(self, event):  # noqa: D401 - watchdog callback
                        if event.event_type in ("opened", "closed_no_write"):
                            return
                        events.put(os.fsdecode(event.src_path))
                        dest = getattr(event, "dest_path", "")
                        if dest:
                            events.put(os.fsdecode(dest))

                # watchdog warns when inotify reuses a watch id for a new folder (our
                # work-area folders come and go); harmless, but it would fill the journal
                warnings.filterwarnings("ignore", "Callback with id", RuntimeWarning)
                self.observer = Observer()
                self.observer.schedule(Handler(), str(c.inbox), recursive=True)
                self.observer.start()
                self._inbox_ino = os.stat(c.inbox).st_ino
            except Exception as exc:
                self.observer = None
                self.mode = "poll"
                self.config = dataclasses.replace(c, poll=c.rescan if c.poll is None else c.poll)
                log.warning(T("watch.events_unavailable", reason=exc,
                              seconds=f"{self.config.poll:g}"))
                self.journal.set_runtime(mode=self._mode_text())
        if self._announced:
            return
        self._announced = True
        mode = (T("watch.mode.poll", seconds=f"{self.config.poll:g}") if self.mode == "poll"
                else T("watch.mode.events", seconds=f"{c.rescan:g}"))
        log.info(T("watch.started", inbox=c.inbox, ready=c.ready, purpose=c.purpose, mode=mode,
                   originals=c.originals, keep=keep, failed=c.failed))

    def _stop_observer(self) -> None:
        if self.observer is not None:
            with contextlib.suppress(Exception):
                self.observer.stop()
                self.observer.join(5)
            self.observer = None

    def request_stop(self) -> None:
        self.stop_requested.set()
        self.events.put("")   # wake the loop

    def run(self) -> None:
        self.open()
        try:
            self.start_watching()
            self.tracker.scan(time.monotonic())
            while not self.stop_requested.is_set():
                self.step()
        finally:
            self.close()

    def close(self) -> None:
        """A clean stop: an interrupted item goes back to the queue without counting as an
        attempt (it was not the file's fault)."""
        self._stop_observer()
        if self.busy is not None and self.journal is not None:
            item_id = self.busy[0]
            self.busy = None
            self.worker.kill()
            with contextlib.suppress(Exception):
                row = self.journal.get(item_id)
                if row is not None and row["state"] == "processing":
                    self.journal.update(item_id, state="queued",
                                        attempts=max(0, row["attempts"] - 1))
        else:
            self.worker.stop()
        if self.journal is not None:
            with contextlib.suppress(Exception):
                self.journal.set_runtime(pid=None, stopped=utc_now(), current_id=None)
            self.journal.close()
            self.journal = None
        if self.audit is not None:
            self.audit.close()
            self.audit = None
        self._release_locks()
        log.info(T("watch.stopped"))

    def abandon(self) -> None:
        """Tests: what kill -9 leaves (nothing cleaned up, locks dropped by the 'kernel')."""
        self._stop_observer()
        self.worker.kill()
        if self.journal is not None:
            self.journal.close()
        if self.audit is not None:
            self.audit.close()
        self._release_locks()

    def _release_locks(self) -> None:
        for lock in self._locks:
            lock.release()
        self._locks = []

    # recovery ------------------------------------------------------------------------------

    def recover(self) -> None:
        """Bring every unfinished item to a state the loop can continue from."""
        j, c = self.journal, self.config
        for folder in (c.ready, c.originals, c.failed):
            with contextlib.suppress(OSError):
                cleanup_partials(folder)
        for row in j.in_states("claimed"):
            self._resume_claim(row)
        for row in j.in_states("processing"):
            name = row["rel"]
            if row["attempts"] >= c.max_attempts:
                self._fail(row, "watch.reason.crashed", name=name, n=row["attempts"])
            else:
                log.warning(T("watch.requeued", name=name))
                j.update(row["id"], state="queued")
        # an audit entry may have been appended just before the crash, its id not yet noted
        for row in j.in_states("finishing") + j.half_deleted():
            if row["audit_json"] and row["audit_seq"] is None:
                self.audit_uncertain.add(self._token(row["id"]))
            if row["deleting"] and row["delete_audit_seq"] is None:
                self.audit_uncertain.add(self._token(row["id"], "delete"))
        self._sweep_staging()
        self._sweep_work()

    def _sweep_staging(self) -> None:
        if not self.staging_root.is_dir():
            return
        for d in self.staging_root.iterdir():
            row = self.journal.get(int(d.name)) if d.name.isdigit() else None
            keep = (row is not None and row["state"] == "finishing" and row["outcome"] == "ok"
                    and not row["published"])
            if not keep:
                shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink()

    def _sweep_work(self) -> None:
        """Files in the work area the journal does not know (its file was lost or replaced)
        go back to the inbox, to be taken again."""
        for d in self.work_root.iterdir():
            if not d.is_dir() or not d.name.isdigit():
                continue
            row = self.journal.get(int(d.name))
            if row is not None and row["state"] not in FINAL:
                continue
            for path in sorted(p for p in d.rglob("*") if p.is_file()):
                rel = path.relative_to(d).as_posix()
                if row is not None and row["sha256"] and path.is_file() \
                        and sha256_file(path) == row["sha256"] and row["original_done"]:
                    path.unlink()            # our copy already moved on: a stale link
                    continue
                dest = self.config.inbox / free_name(self.config.inbox, rel)
                makedirs_durable(dest.parent)
                os.rename(path, dest)
                fsync_dir(dest.parent)
            shutil.rmtree(d, ignore_errors=True)

    def _resume_claim(self, row) -> None:
        work = self.config.inbox / row["work"]
        if work.is_file():
            self._finish_claim(row)
        else:  # never moved: the file is still in the inbox (or was removed); forget the row
            self.journal.delete(row["id"])

    # the loop ------------------------------------------------------------------------------

    def step(self) -> None:
        """One turn of the loop: events, scans, taking files, finishing, one job."""
        try:
            now = time.monotonic()
            self._drain_events(now)
            if now >= self._next_scan:
                self._scan(now)
            self._take_stable(now)
            if not self._paused(now):
                self._advance_finishing()
            if now >= self._next_retention and not self._paused(now):
                self._next_retention = now + 600
                self.retention()
            if self.busy is not None:
                self._wait_result(self.config.tick)
            elif not self._dispatch_next(now):
                self._idle(self.config.tick)
            if now >= self._next_heartbeat:
                self._heartbeat(now)
        except Exception as exc:   # (a test's simulated kill is a BaseException)
            self._trouble(exc)

    def run_until_idle(self, timeout: float = 120.0) -> None:
        """Tests: steps until the inbox is empty and nothing is waiting or in progress."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            if self.idle():
                return
        raise TimeoutError("watcher did not become idle")

    def idle(self) -> bool:
        counts = self.journal.counts()
        return (not self.tracker.seen and self.busy is None
                and not any(counts[s] for s in ("claimed", "queued", "processing",
                                                  "finishing")))

    def _trouble(self, exc: Exception) -> None:
        if is_disk_full(exc) or (isinstance(exc, (sqlite3.OperationalError, AuditError))
                                 and "full" in str(exc).lower()):
            where = getattr(exc, "filename", None) or self.config.ready
            self._set_pause("watch.paused.disk_full", 10, path=where,
                            free_mb=free_mb(Path(where)) or 0, need_mb=self.config.min_free_mb)
        else:
            log.exception("watch loop: %s", exc)
            self._set_pause("watch.paused.error", 30, reason=f"{type(exc).__name__}: {exc}",
                            seconds=30)
        if isinstance(exc, AuditError):
            self.audit_index = None
        time.sleep(self.config.tick)

    def _set_pause(self, key: str, retry_in: float, **params: object) -> None:
        params = {k: str(v) if isinstance(v, Path) else v for k, v in params.items()}
        changed = self.pause is None or (self.pause.key, self.pause.params) != (key, params)
        self.pause = Pause(key, params, time.monotonic() + retry_in)
        if changed:
            log.warning(T(key, **params))
            with contextlib.suppress(Exception):
                self.journal.set_runtime(paused_key=key, paused_params=params)

    def _resume(self) -> None:
        if self.pause is not None:
            self.pause = None
            log.info(T("watch.resumed"))
            self.journal.set_runtime(paused_key=None, paused_params=None)

    def _paused(self, now: float) -> bool:
        return self.pause is not None and now < self.pause.until

    def _heartbeat(self, now: float) -> None:
        self._next_heartbeat = now + 10
        seen = self.tracker.seen
        oldest = min((s.first for s in seen.values()), default=None)
        self.journal.set_runtime(
            heartbeat=utc_now(), inbox_pending=len(seen),
            inbox_oldest=None if oldest is None else datetime.fromtimestamp(
                oldest, timezone.utc).isoformat(timespec="seconds"),
            stuck=dict(list(self.stuck.items())[:10]) or None)

    # discovering and taking files ----------------------------------------------------------

    def _drain_events(self, now: float) -> None:
        while True:
            try:
                path = self.events.get_nowait()
            except queue.Empty:
                return
            if path:
                self.tracker.note(Path(path), now)

    def _idle(self, timeout: float) -> None:
        """Sleep until an event arrives or `timeout` passes."""
        try:
            path = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        if path:
            self.tracker.note(Path(path), time.monotonic())

    def _scan(self, now: float) -> None:
        c = self.config
        interval = c.poll if self.mode == "poll" else c.rescan
        self._next_scan = now + interval
        if not c.inbox.is_dir():
            with contextlib.suppress(OSError):
                c.inbox.mkdir()
                self.work_root.mkdir(exist_ok=True)
        self.tracker.scan(now)
        if self.tracker.problem:
            log.warning(T("watch.inbox_unreachable", path=c.inbox, reason=self.tracker.problem))
        if self.mode == "events":
            try:
                ino = os.stat(c.inbox).st_ino
            except OSError:
                ino = None
            alive = self.observer is not None and self.observer.is_alive()
            if ino is not None and (not alive or ino != self._inbox_ino):
                self._stop_observer()   # the folder was replaced or the observer died
                self.start_watching()

    def _take_stable(self, now: float, limit: int = 50) -> None:
        taken = 0
        for rel, seen in self.tracker.stable(now):
            if taken >= limit or self.stop_requested.is_set():
                return
            path = self.config.inbox / rel
            try:
                with open(path, "rb"):
                    pass
                if open_for_writing_elsewhere(path):
                    seen.since = now      # still being written: start waiting again
                    continue
                self._claim(rel, seen)
                taken += 1
                self.stuck.pop(rel, None)
            except FileNotFoundError:
                self.tracker.forget(rel)
            except PermissionError as exc:
                self._cannot_take(rel, seen, now, exc)
            except OSError as exc:
                if is_disk_full(exc):
                    raise
                self._cannot_take(rel, seen, now, exc)

    def _cannot_take(self, rel: str, seen: Seen, now: float, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        if self.stuck.get(rel) != reason:
            log.warning(T("watch.cannot_take", name=rel, reason=reason))
        self.stuck[rel] = reason
        seen.retry_at = now + 60

    def _claim(self, rel: str, seen: Seen) -> None:
        j = self.journal
        src = self.config.inbox / rel
        row = j.claim(rel, kind_of(rel), seen.size, seen.mtime_ns, self.config.purpose)
        self.crashpoint("claim.recorded")
        work = self.config.inbox / row["work"]
        try:
            makedirs_durable(work.parent)
            os.rename(src, work)
        except BaseException:
            j.delete(row["id"])
            with contextlib.suppress(OSError):
                shutil.rmtree(self.work_root / str(row["id"]))
            raise
        self.tracker.forget(rel)
        fsync_dir(work.parent)
        fsync_dir(src.parent)
        self.crashpoint("claim.moved")
        self._finish_claim(row)

    def _finish_claim(self, row) -> None:
        work = self.config.inbox / row["work"]
        fsync_path(work)            # the copier may never have flushed it
        sha = sha256_file(work)
        name = row["rel"]
        if row["kind"] == "other":
            self._fail(row, "watch.reason.not_media", sha256=sha, name=name)
            return
        self.journal.update(row["id"], sha256=sha, state="queued")
        self.crashpoint("claim.hashed")

    def _published_twin(self, row):
        """The item that already published this content for this purpose, if its copy is
        still in ready/ (asked when the item's turn comes: one worker runs the queue in
        order, so an identical file dropped earlier has its outcome by then; one that
        failed does not count, dropping it again is how to retry)."""
        twin = self.journal.published_twin(row["sha256"], row["purpose"], row["id"])
        if twin is not None and twin["state"] == "done" and twin["ready_rel"] and \
                not os.path.lexists(self.config.ready / twin["ready_rel"]):
            return None             # its copy was removed from ready/: make a new one
        return twin

    # processing ----------------------------------------------------------------------------

    def _dispatch_next(self, now: float) -> bool:
        if self._paused(now):
            return False
        row = self.journal.next_queued()
        if row is None:
            if self.pause is not None:   # nothing waits for whatever paused us
                self.pause = None
                self.journal.set_runtime(paused_key=None, paused_params=None)
            return False
        c = self.config
        work = c.inbox / row["work"]
        if not work.is_file():
            self._fail(row, "watch.reason.vanished", name=row["rel"])
            return True
        twin = self._published_twin(row)
        if twin is not None:
            self.journal.update(row["id"], state="finishing", outcome="duplicate",
                                duplicate_of=twin["id"], disposal="duplicates")
            self.crashpoint("result.recorded")
            self._finish(self.journal.get(row["id"]))
            return True
        now_text = utc_now()
        if self._clock_floor and now_text < _minus_minutes(self._clock_floor, 10) \
                and not TIME_SYNCED.exists():
            # a Raspberry Pi without a real-time clock can come back from a power cut in
            # the past, where an expired consent would look valid (once network time is
            # synchronized the clock is right, and the journal's later times were wrong)
            self._set_pause("watch.paused.clock", 60, now=now_text[:16].replace("T", " "),
                            latest=self._clock_floor[:16].replace("T", " "))
            return False
        need = c.min_free_mb + 2 * (row["size"] >> 20) + 1
        for where in (c.ready, c.state_dir, c.originals):
            free = free_mb(where)
            if free is not None and free < need:
                self._set_pause("watch.paused.disk_full", 10, path=where, free_mb=free,
                                need_mb=need)
                return False
        restart = not self.worker.alive or self.worker.jobs >= c.recycle_after
        key = self._registry_key()
        if restart or key != self.snapshot_key:
            try:
                snapshot = self._load_snapshot()
            except Exception as exc:
                reason = exc.message() if isinstance(exc, BlurkitError) else str(exc)
                self._set_pause("watch.paused.registry", 30, reason=reason)
                return False
            if restart:
                if self.worker.alive:
                    self.worker.stop()
                try:
                    self.worker.start(dataclasses.replace(self.options, snapshot=snapshot),
                                      stop=self.stop_requested.is_set)
                except WorkerStartError as exc:
                    self._set_pause("watch.paused.models", 60, reason=exc.message())
                    return False
            else:
                self.worker.set_snapshot(snapshot)
            self.snapshot_key = key
        if self.pause is not None:
            self._resume()
        staging = self.staging_root / str(row["id"])
        shutil.rmtree(staging, ignore_errors=True)
        makedirs_durable(staging)
        row = self.journal.update(row["id"], state="processing", attempts=row["attempts"] + 1)
        self.crashpoint("dispatch.recorded")
        from blurkit.pipeline import Job

        self.worker.submit(row["id"], Job(work, staging, Path("."), row["kind"]), row["rel"])
        mb = row["size"] / (1 << 20)
        self.busy = (row["id"], time.monotonic(), time.monotonic() + 900 + 30 * mb)
        self.journal.set_runtime(current_id=row["id"], progress=None)
        return True

    def _registry_key(self) -> tuple:
        """Changes whenever the consent registry's files change (a committed change touches
        the WAL file) or the date changes (validity depends on the day)."""
        from blurkit.consent.registry import REGISTRY_DB

        db = Path(self.settings.data_dir) / REGISTRY_DB
        key: list[object] = [date.today().isoformat()]
        for p in (db, Path(str(db) + "-wal")):
            try:
                st = p.stat()
                key.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                key.append(None)
        return tuple(key)

    def _load_snapshot(self):
        """The registry as of today, as `blurkit process` reads it; None when there is none."""
        from blurkit.consent.registry import REGISTRY_DB

        if not (Path(self.settings.data_dir) / REGISTRY_DB).exists():
            return None
        from blurkit.consent import Registry

        with Registry.open(self.settings) as reg:
            return reg.snapshot()

    def _wait_result(self, timeout: float) -> None:
        item_id, started, deadline = self.busy
        msg = self.worker.poll(timeout)
        if msg is not None and msg[0] == "progress":
            # a long video's frames: alive, so the deadline moves on (a hang is no progress
            # for 15 minutes); status shows how far it got
            now = time.monotonic()
            self.busy = (item_id, started, max(deadline, now + 900))
            if now - self._progress_written >= 2.0 or msg[3] == msg[4]:
                self._progress_written = now
                self.journal.set_runtime(progress=f"{msg[2]} {msg[3]}/{msg[4]}")
            return
        if msg is None:
            if time.monotonic() > deadline:
                self.worker.kill()
                msg = ("died", "no answer in time")
            else:
                return
        self.busy = None
        self.journal.set_runtime(current_id=None, progress=None)
        row = self.journal.get(item_id)
        if msg[0] == "died":
            self.worker.kill()
            log.warning(T("watch.worker_died", name=row["rel"], reason=msg[1],
                          attempt=row["attempts"], max=self.config.max_attempts))
            if row["attempts"] >= self.config.max_attempts:
                self._fail(row, "watch.reason.crashed", name=row["rel"], n=row["attempts"])
            else:
                self.journal.update(item_id, state="queued")
            return
        _, rid, result, reasons, models = msg
        assert rid == item_id, (rid, item_id)
        self._on_result(row, result, reasons, models)

    def _audit_base(self, row, result, models) -> dict:
        from blurkit.pipeline import audit_entry

        entry = audit_entry(dataclasses.replace(result, source=str(self.config.inbox / row["rel"]),
                                                output=None), self.options, models)
        entry.pop("output_path", None)
        entry["details"] = {"source": "watch", "watch_item": self._token(row["id"])}
        return entry

    def _on_result(self, row, result, reasons, models) -> None:
        c = self.config
        item_id = row["id"]
        if result.ok:
            if result.input_sha256 and result.input_sha256 != row["sha256"]:
                log.warning("%s: the worker read other bytes than were hashed; again", row["rel"])
                self.journal.update(item_id, state="queued")
                return
            staged = Path(result.output).relative_to(c.ready).as_posix()
            entry = self._audit_base(row, result, models)
            self.journal.update(
                item_id, state="finishing", outcome="ok", staged=staged,
                out_sha256=result.output_sha256, faces=len(result.faces), hidden=result.hidden,
                shown=len(result.shown), audit_json=json.dumps(entry, ensure_ascii=False),
                disposal="delete" if c.keep_days <= 0 else "originals")
            self.crashpoint("result.recorded")
            self._finish(self.journal.get(item_id))
            return
        if result.error_key in _OUTPUT_KEYS:
            text = (reasons or {}).get("en", "") + " " + (result.error or "")
            if row["output_retries"] + 1 < 5:
                self.journal.update(item_id, state="queued", attempts=max(0, row["attempts"] - 1),
                                    output_retries=row["output_retries"] + 1)
                free = free_mb(c.ready)
                if result.error_key == "pipeline.disk_full" or \
                        any(t in text.lower() for t in _FULL_TEXTS) or \
                        (free is not None and free < c.min_free_mb):
                    self._set_pause("watch.paused.disk_full", 10, path=c.ready, free_mb=free or 0,
                                    need_mb=c.min_free_mb)
                else:
                    self._set_pause("watch.paused.output", 60,
                                    reason=(reasons or {}).get(i18n.language(), text))
                return
        entry = self._audit_base(row, result, models)
        reasons = reasons or {lang: result.error or "?" for lang in i18n.LANGUAGES}
        self.journal.update(item_id, state="finishing", outcome="error",
                            reason_key=result.error_key, reason_en=reasons["en"],
                            reason_sv=reasons["sv"], disposal="failed",
                            audit_json=json.dumps(entry, ensure_ascii=False))
        self.crashpoint("result.recorded")
        self._finish(self.journal.get(item_id))

    def _fail(self, row, key: str, sha256: str | None = None, **params: object) -> None:
        """An outcome decided by the watcher itself (not media, crashed too often, gone)."""
        cols: dict[str, Any] = {"state": "finishing", "outcome": "error", "reason_key": key,
                                "reason_en": T(key, "en", **params),
                                "reason_sv": T(key, "sv", **params), "disposal": "failed"}
        if sha256 is not None:
            cols["sha256"] = sha256
        if key == "watch.reason.crashed":
            cols["audit_json"] = json.dumps({
                "kind": row["kind"], "status": "failed", "purpose": row["purpose"],
                "input_path": str(self.config.inbox / row["rel"]),
                "input_sha256": row["sha256"], "reason": key,
                "details": {"source": "watch", "watch_item": self._token(row["id"])}})
        self.journal.update(row["id"], **cols)
        self.crashpoint("result.recorded")
        self._finish(self.journal.get(row["id"]))

    # finishing -----------------------------------------------------------------------------

    def _advance_finishing(self) -> None:
        for row in self.journal.in_states("finishing"):
            self._finish(row)

    def _finish(self, row) -> None:
        """The repeatable steps after the outcome, each skipped when already done."""
        item_id = row["id"]
        if row["outcome"] == "ok" and not row["published"]:
            row = self._publish(row)
            if row is None:
                return
        if row["audit_json"] and row["audit_seq"] is None:
            seq = self._append_audit(row, "process")
            row = self.journal.update(item_id, audit_seq=seq)
            self.crashpoint("audit.recorded")
        if not row["original_done"]:
            row = self._dispose(row)
        final = {"ok": "done", "error": "failed", "duplicate": "duplicate"}[row["outcome"]]
        self.journal.update(item_id, state=final, finished=utc_now())
        self.crashpoint("final")
        shutil.rmtree(self.work_root / str(item_id), ignore_errors=True)
        shutil.rmtree(self.staging_root / str(item_id), ignore_errors=True)
        self._log_outcome(self.journal.get(item_id))

    def _reserved(self, column: str):
        def reserved(rel: str) -> bool:
            return self.journal.conn.execute(
                f"SELECT 1 FROM item WHERE {column} = ? AND state = 'finishing' LIMIT 1",
                (rel,)).fetchone() is not None
        return reserved

    def _publish(self, row):
        c, j = self.config, self.journal
        staged = c.ready / row["staged"]
        if row["ready_rel"] is None:
            rel = PurePosixPath(row["rel"])
            wanted = (rel.parent / (rel.stem + staged.suffix)).as_posix()
            row = j.update(row["id"], ready_rel=free_name(c.ready, wanted,
                                                          reserved=self._reserved("ready_rel")))
            self.crashpoint("publish.named")
        final = c.ready / row["ready_rel"]
        if os.path.lexists(final):
            if not (final.is_file() and sha256_file(final) == row["out_sha256"]):
                j.update(row["id"], ready_rel=None)   # someone else's file: another name
                return self._publish(j.get(row["id"]))
        elif not staged.is_file():
            # the staged copy is gone (removed by hand?): process the file again
            log.warning(T("watch.requeued", name=row["rel"]))
            j.update(row["id"], state="queued", outcome=None, staged=None, out_sha256=None,
                     ready_rel=None, audit_json=None, disposal=None,
                     attempts=max(0, row["attempts"] - 1))
            return None
        else:
            makedirs_durable(final.parent)
            try:
                link_no_overwrite(staged, final)
            except FileExistsError:
                j.update(row["id"], ready_rel=None)
                return self._publish(j.get(row["id"]))
            fsync_dir(final.parent)
            self.crashpoint("publish.linked")
            if sha256_file(final) != row["out_sha256"]:
                raise OSError(errno.EIO, f"{final}: the published copy does not match its SHA-256")
        row = j.update(row["id"], published=1)
        self.crashpoint("publish.recorded")
        with contextlib.suppress(OSError):
            if staged.is_file():
                staged.unlink()
        shutil.rmtree(c.ready / WORK_DIR / str(row["id"]), ignore_errors=True)
        return row

    def _token(self, item_id: int, what: str = "") -> str:
        return f"{self.journal.id}:{item_id}" + (f":{what}" if what else "")

    def _append_audit(self, row, what: str) -> int:
        """Append the item's audit entry exactly once: when an earlier append may have
        happened just before a crash, the log is searched for the item's token first."""
        token = self._token(row["id"], "" if what == "process" else what)
        if token in self.audit_uncertain:
            if self.audit_index is None:
                self.audit_index = {}
                for e in self.audit.entries(since=self.journal.last_audit_seq()):
                    t = (e.body.get("details") or {}).get("watch_item")
                    if t:
                        self.audit_index[t] = e.seq
            if token in self.audit_index:
                self.audit_uncertain.discard(token)
                return self.audit_index[token]
        if what == "process":
            entry = json.loads(row["audit_json"])
            if row["outcome"] == "ok":
                entry["output_path"] = str(self.config.ready / row["ready_rel"])
                entry["output_sha256"] = row["out_sha256"]
        else:
            entry = self._deletion_entry(row)
        self.audit_uncertain.add(token)       # from here until recorded, we cannot be sure
        seq = self.audit.append(entry)
        if self.audit_index is not None:
            self.audit_index[token] = seq
        self.crashpoint("audit.appended")
        self.audit_uncertain.discard(token)
        return seq

    def _deletion_entry(self, row) -> dict:
        if row["disposal"] == "delete":
            path = self.config.inbox / row["work"]
        else:
            path = self._root(row["disposal"]) / row["dest_rel"]
        return {"kind": "retention-delete", "purpose": row["purpose"], "input_path": str(path),
                "input_sha256": row["sha256"],
                "details": {"source": "watch", "watch_item": self._token(row["id"], "delete"),
                            "dropped_as": row["rel"], "keep_days": self.config.keep_days,
                            "duplicate": row["outcome"] == "duplicate",
                            "found": bool(row["deleting"] != 2)}}

    def _dispose(self, row):
        c, j = self.config, self.journal
        work = c.inbox / row["work"]
        if row["disposal"] == "delete":      # keep_days 0: the copy is published and verified
            if not row["deleting"]:
                row = j.update(row["id"], deleting=1)
            if os.path.lexists(work):
                os.unlink(work)
                fsync_dir(work.parent)
            self.crashpoint("dispose.deleted")
            seq = self._append_audit(row, "delete")
            return j.update(row["id"], original_done=1, original_deleted=utc_now(),
                            delete_audit_seq=seq)
        root = self._root(row["disposal"])
        note = row["disposal"] in ("failed", "duplicates")
        extra = (NOTE_SUFFIX,) if note else ()
        if row["dest_rel"] is None:
            row = j.update(row["id"], dest_rel=free_name(root, row["rel"], extra,
                                                         self._reserved("dest_rel")))
            self.crashpoint("dispose.named")
        dst = root / row["dest_rel"]
        if note:
            makedirs_durable(dst.parent)
            with _atomic_text(Path(str(dst) + NOTE_SUFFIX)) as fh:
                fh.write(self._note_text(row))
            self.crashpoint("dispose.note")
        try:
            outcome = durable_move(work, dst, row["sha256"] or "")
        except NameTaken:
            if note:
                with contextlib.suppress(OSError):
                    os.unlink(str(dst) + NOTE_SUFFIX)
            row = j.update(row["id"], dest_rel=None)
            return self._dispose(row)
        if outcome == "missing":
            log.error("%s: the original was not found in %s (nor at %s)", row["rel"], work, dst)
        self.crashpoint("dispose.moved")
        return j.update(row["id"], original_done=1)

    def _note_text(self, row) -> str:
        if row["outcome"] == "duplicate":
            twin = self.journal.get(row["duplicate_of"])
            days = f"{max(self.config.keep_days, 1):g}"
            parts = []
            for lang in ("sv", "en"):
                if twin is not None and twin["ready_rel"] and twin["state"] == "done":
                    status = T("watch.note.twin_done", lang, output="ready/" + twin["ready_rel"])
                else:
                    status = T("watch.note.twin_busy", lang)
                parts.append(T("watch.note.duplicate", lang, status=status, days=days,
                               other=twin["rel"] if twin is not None else "?"))
        else:
            parts = [T("watch.note.failed", lang, name=row["rel"],
                       reason=_bare(row["reason_" + lang], row["rel"])) for lang in ("sv", "en")]
        return ("\n\n".join(parts) + f"\n\nSHA-256: {row['sha256'] or '-'}\n{utc_now()}\n")

    def _log_outcome(self, row) -> None:
        if row["outcome"] == "ok":
            log.info(T("watch.done", name=row["rel"], output=self.config.ready / row["ready_rel"],
                       hidden=row["hidden"] or 0, shown=row["shown"] or 0))
        elif row["outcome"] == "duplicate":
            twin = self.journal.get(row["duplicate_of"])
            log.info(T("watch.duplicate", name=row["rel"], other=twin["rel"] if twin else "?",
                       dest=self._root("duplicates") / (row["dest_rel"] or "")))
        else:
            reason = row["reason_sv"] if i18n.language() == "sv" else row["reason_en"]
            log.warning(T("watch.failed", name=row["rel"],
                          dest=self.config.failed / (row["dest_rel"] or ""),
                          reason=_bare(reason, row["rel"])))

    # retention -----------------------------------------------------------------------------

    def retention(self) -> None:
        """Delete originals kept longer than keep_days (duplicates: at least a day), each with
        a retention-delete audit entry. Files a person put in their place are left alone."""
        c = self.config
        now = datetime.fromtimestamp(self.clock(), timezone.utc)

        def cutoff(days: float) -> str:
            return (now - timedelta(days=days)).isoformat(timespec="microseconds").replace(
                "+00:00", "Z")

        rows = {r["id"]: r for r in self.journal.half_deleted()}
        for r in self.journal.due_for_retention(cutoff(max(c.keep_days, 0))):
            if r["disposal"] == "originals" or r["finished"] <= cutoff(max(c.keep_days, 1)):
                rows.setdefault(r["id"], r)
        for row in rows.values():
            if self.stop_requested.is_set():
                return
            self._delete_kept(row)

    def _delete_kept(self, row) -> None:
        j = self.journal
        root = self._root(row["disposal"])
        path = root / row["dest_rel"]
        if not row["deleting"]:
            ours = path.is_file() and sha256_file(path) == row["sha256"]
            row = j.update(row["id"], deleting=1 if ours else 2)
            self.crashpoint("retention.marked")
        if row["deleting"] == 1 and os.path.lexists(path):
            os.unlink(path)
            fsync_dir(path.parent)
        elif row["deleting"] == 2:
            log.warning(T("watch.retention_not_ours", path=path))
        with contextlib.suppress(OSError):
            os.unlink(str(path) + NOTE_SUFFIX)
        self.crashpoint("retention.deleted")
        seq = self._append_audit(row, "delete")
        j.update(row["id"], original_deleted=utc_now(), delete_audit_seq=seq)
        remove_empty_parents(path.parent, root)
        if row["deleting"] == 1:
            log.info(T("watch.retention_deleted", path=path, days=f"{self.config.keep_days:g}"))


def _minus_minutes(iso: str, minutes: int) -> str:
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(minutes=minutes)
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _bare(reason: str | None, name: str) -> str:
    """A reason without the leading "NAME: " (where the name is already shown)."""
    reason = reason or "?"
    return reason[len(name) + 2:] if reason.startswith(name + ": ") else reason


@contextlib.contextmanager
def _atomic_text(path: Path):
    from blurkit.fsutil import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            yield fh


# --------------------------------------------------------------------------- status

def known_watches(data_dir: Path) -> list[Path]:
    root = Path(data_dir) / STATE_DIRS
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if (d / JOURNAL_DB).is_file())


def watch_status(state_dir: Path, n_errors: int = 5) -> dict:
    """What `blurkit status` shows about one inbox (read while the watcher runs)."""
    holder = FileLock.holder(state_dir / "watch.lock")
    j = Journal.open_existing(state_dir / JOURNAL_DB)
    if j is None:
        return {"state_dir": str(state_dir), "running": holder is not None}
    try:
        rt = j.runtime()
        counts = j.counts()
        oldest = j.oldest_waiting()
        current = j.current()
        failed = j.last_failed(n_errors)
        lang = i18n.language()
        out = {
            "state_dir": str(state_dir),
            "inbox": j.inbox,
            "running": holder is not None,
            "pid": int(holder.split()[0]) if holder and holder.split()[0].isdigit() else None,
            "runtime": rt,
            "counts": counts,
            "oldest_waiting": None if oldest is None else {"name": oldest["rel"],
                                                           "since": oldest["created"]},
            "current": [{"name": r["rel"], "state": r["state"], "since": r["updated"],
                         "attempts": r["attempts"],
                         "progress": rt.get("progress") if r["id"] == rt.get("current_id")
                         and holder is not None else None} for r in current],
            "last_errors": [{"name": r["rel"], "time": r["finished"],
                             "reason": r["reason_sv"] if lang == "sv" else r["reason_en"],
                             "moved_to": r["dest_rel"]} for r in failed],
        }
        if rt.get("paused_key") and holder is not None:
            out["paused"] = T(rt["paused_key"], **(rt.get("paused_params") or {}))
        return out
    finally:
        j.close()
