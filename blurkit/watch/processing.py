"""Handing queued items to the worker and recording their outcome: a mixin of the Watcher
(it uses the Watcher's config, journal, worker, pause and crashpoints)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from blurkit import i18n
from blurkit.audit import utc_now
from blurkit.errors import BlurkitError
from blurkit.fsutil import FULL_TEXTS, free_mb, makedirs_durable
from blurkit.i18n import t as T
from blurkit.watch.workers import WorkerStartError

log = logging.getLogger("blurkit.watch")

TIME_SYNCED = Path("/run/systemd/timesync/synchronized")   # systemd-timesyncd: clock is set
def _grace(config) -> float:
    """How long after the worker's own time limit the watcher gives up on it (a minute)."""
    return min(60.0, config.time_limit)


_OUTPUT_KEYS = {"image.write_failed", "video.write_failed", "pipeline.exists",
                "image.write_exists", "video.output_exists", "pipeline.disk_full",
                "pipeline.read_only"}


class Processor:
    """Watcher methods for `queued` -> `processing` -> the outcome."""

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
                    self.worker.start(dataclasses.replace(self.options, snapshot=snapshot,
                                                          time_limit=c.time_limit),
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
        from blurkit.engine.pipeline import Job

        self.worker.submit(row["id"], Job(work, staging, Path("."), row["kind"]), row["rel"])
        # the worker stops a file itself at its time limit (timelimit.py); this deadline, a
        # minute later, is for a hang its signal cannot reach (inside C code)
        from blurkit.timelimit import seconds_for
        self.busy = (row["id"], time.monotonic(),
                     time.monotonic() + seconds_for(row["size"], c.time_limit) + _grace(c))
        self.journal.set_runtime(current_id=row["id"], progress=None)
        return True

    def _registry_key(self) -> tuple:
        from blurkit.consent.registry import registry_key

        return registry_key(self.settings.data_dir)

    def _load_snapshot(self):
        from blurkit.consent.registry import load_snapshot

        return load_snapshot(self.settings)

    def _wait_result(self, timeout: float) -> None:
        item_id, started, deadline = self.busy
        msg = self.worker.poll(timeout)
        if msg is not None and msg[0] == "progress":
            # a long video's frames: alive, so the deadline moves on (a hang is no progress
            # for 15 minutes); status shows how far it got
            now = time.monotonic()
            self.busy = (item_id, started,
                         max(deadline, now + self.config.time_limit + _grace(self.config)))
            if now - self._progress_written >= 2.0 or msg[3] == msg[4]:
                self._progress_written = now
                self.journal.set_runtime(progress=f"{msg[2]} {msg[3]}/{msg[4]}")
            return
        if msg is None:
            if time.monotonic() <= deadline:
                return
            # no answer in time: a hang the worker's own limit could not stop. Not retried
            # (it would hang again, blocking the queue each time): failed/, with the reason
            self.worker.kill()
            self.busy = None
            self.journal.set_runtime(current_id=None, progress=None)
            row = self.journal.get(item_id)
            log.warning(T("watch.worker_died", name=row["rel"], reason="time limit",
                          attempt=row["attempts"], max=self.config.max_attempts))
            self._fail(row, "watch.reason.timeout", name=row["rel"],
                       seconds=f"{time.monotonic() - started:.0f}")
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
        from blurkit.engine.pipeline import audit_entry

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
                item_id, state="finishing",
                outcome="review" if c.review or result.extra.get("text_review") else "ok",
                staged=staged, out_sha256=result.output_sha256, faces=len(result.faces),
                hidden=result.hidden, shown=len(result.shown),
                audit_json=json.dumps(entry, ensure_ascii=False),
                report_json=json.dumps(result.to_dict(), ensure_ascii=False, default=str),
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
                        any(t in text.lower() for t in FULL_TEXTS) or \
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
        if key in ("watch.reason.crashed", "watch.reason.timeout"):
            cols["audit_json"] = json.dumps({
                "kind": row["kind"], "status": "failed", "purpose": row["purpose"],
                "input_path": str(self.config.inbox / row["rel"]),
                "input_sha256": row["sha256"], "reason": key,
                "details": {"source": "watch", "watch_item": self._token(row["id"])}})
        self.journal.update(row["id"], **cols)
        self.crashpoint("result.recorded")
        self._finish(self.journal.get(row["id"]))


def _minus_minutes(iso: str, minutes: int) -> str:
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(minutes=minutes)
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")
