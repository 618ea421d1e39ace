"""The Watcher: one inbox's state machine: start, stop, recovery after a crash, the loop and
taking files from the inbox. Handing an item to the worker and recording its outcome is in
`processing`, the steps after the outcome (review, publish, audit, original) in `finishing`;
both are mixins of the one Watcher class."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from blurkit.audit import AuditError, AuditLog, utc_now
from blurkit.config import Settings
from blurkit.errors import BlurkitError
from blurkit.fsutil import (
    cleanup_partials,
    free_mb,
    free_name,
    fsync_dir,
    fsync_path,
    is_disk_full,
    makedirs_durable,
    sha256_file,
)
from blurkit.i18n import t as T
from blurkit.watch.config import WatchConfig
from blurkit.watch.finishing import DUPLICATES, Finisher
from blurkit.watch.inbox import InboxTracker, Seen, kind_of, open_for_writing_elsewhere
from blurkit.watch.journal import FINAL, JOURNAL_DB, REVIEW_DIR, WORK_DIR, Journal
from blurkit.watch.locks import FileLock
from blurkit.watch.processing import Processor
from blurkit.watch.workers import ProcessWorker

log = logging.getLogger("blurkit.watch")




class AlreadyRunning(BlurkitError):
    pass


class _Stop(Exception):
    pass


@dataclass
class Pause:
    key: str
    params: dict = field(default_factory=dict)
    until: float = 0.0             # monotonic; retry after


class Watcher(Processor, Finisher):
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
        # entries after this sequence number are searched for uncertain tokens: the highest
        # number recorded when the first became uncertain (later items' entries, recorded
        # since, must not hide an entry appended just before a crash)
        self.audit_floor: int | None = None
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
        # outputs nobody has approved yet: the service user's only
        (c.state_dir / REVIEW_DIR).mkdir(mode=0o700, exist_ok=True)
        os.chmod(c.state_dir / REVIEW_DIR, 0o700)
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
        if c.review:
            log.info(T("watch.review_on", ready=c.ready))

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
        # the inbox too: uploads the page was writing when it was killed (blurkit's own
        # `.part` names only; another program's partial download is left alone)
        for folder in (c.ready, c.originals, c.failed, c.inbox):
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
        if self.audit_uncertain:
            self.audit_floor = j.last_audit_seq()
        self._sweep_staging()
        self._sweep_work()
        self._sweep_review()

    def _sweep_staging(self) -> None:
        if not self.staging_root.is_dir():
            return
        for d in self.staging_root.iterdir():
            row = self.journal.get(int(d.name)) if d.name.isdigit() else None
            keep = (row is not None and row["state"] == "finishing"
                    and row["outcome"] in ("ok", "review") and not row["published"])
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

    def _sweep_review(self) -> None:
        """The review area of items that are finished (or unknown) goes; an item still in
        review keeps everything (a reviewer may be writing a re-render beside it)."""
        root = self.config.state_dir / REVIEW_DIR
        if not root.is_dir():
            return
        for d in root.iterdir():
            row = self.journal.get(int(d.name)) if d.name.isdigit() else None
            if row is None or row["state"] in FINAL:
                shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink()

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
                                                  "finishing", "approved", "rejected")))

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
                oldest, UTC).isoformat(timespec="seconds"),
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
