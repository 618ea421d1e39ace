"""The repeatable steps after an item's outcome is known (publish, audit entry, the original's
disposal, the final state) and the retention of kept originals: the second half of the
Watcher, as a mixin (it uses the Watcher's config, journal, audit log and crashpoints)."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from blurkit import i18n
from blurkit.audit import utc_now
from blurkit.engine.secondlook.people import report_counts
from blurkit.fsutil import (
    NameTaken,
    atomic_output,
    durable_move,
    free_name,
    fsync_dir,
    link_no_overwrite,
    makedirs_durable,
    remove_empty_parents,
    sha256_file,
)
from blurkit.i18n import t as T
from blurkit.watch.journal import DECIDED, REVIEW_DIR, WORK_DIR
from blurkit.watch.review import review_audit_entry

log = logging.getLogger("blurkit.watch")

NOTE_SUFFIX = ".reason.txt"
_OWN_KINDS = ("photo", "video", "retention-delete")     # the entries the watcher appends
DUPLICATES = "duplicates"


class Finisher:
    """Watcher methods for the `finishing` state, the review stage's steps and retention."""

    def _advance_finishing(self) -> None:
        for row in self.journal.in_states("finishing"):  # what is under way first
            self._finish(row)
        for row in self.journal.in_states(*DECIDED):     # then a reviewer's decisions
            if row["state"] == "approved":
                self._approved(row)
            else:
                self._rejected(row)

    def _finish(self, row) -> None:
        """The repeatable steps after the outcome, each skipped when already done."""
        item_id = row["id"]
        if row["outcome"] == "review":
            self._to_review(row)
            return
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
        final = {"ok": "done", "error": "failed", "duplicate": "duplicate",
                 "rejected": "declined"}[row["outcome"]]
        self.journal.update(item_id, state=final, finished=utc_now())
        self.crashpoint("final")
        shutil.rmtree(self.work_root / str(item_id), ignore_errors=True)
        shutil.rmtree(self.staging_root / str(item_id), ignore_errors=True)
        shutil.rmtree(self.review_root / str(item_id), ignore_errors=True)
        self._log_outcome(self.journal.get(item_id))

    # the review stage ------------------------------------------------------------------------

    @property
    def review_root(self) -> Path:
        return self.config.state_dir / REVIEW_DIR

    def _requeue(self, row, why: str) -> None:
        """The output this item needs is gone (removed by hand?): process the file again."""
        log.warning(T("watch.requeued", name=row["rel"]) + f" ({why})")
        self.journal.update(row["id"], state="queued", outcome=None, staged=None,
                            out_sha256=None, ready_rel=None, audit_json=None, disposal=None,
                            review_rel=None, reviewer=None, decisions_json=None, reviewed=None,
                            attempts=max(0, row["attempts"] - 1))
        shutil.rmtree(self.review_root / str(row["id"]), ignore_errors=True)

    def _to_review(self, row) -> None:
        """finishing/review: move the staged output out of ready/ (often a shared folder) into
        the review area (name recorded first; the move is repeatable) -> state review."""
        j, item_id = self.journal, row["id"]
        if row["review_rel"] is None:
            name = PurePosixPath(row["staged"]).name
            row = j.update(item_id, review_rel=f"{REVIEW_DIR}/{item_id}/1/{name}", revision=1)
            self.crashpoint("review.named")
        dst = self.config.state_dir / row["review_rel"]
        staged = self.config.ready / row["staged"]
        try:
            moved = durable_move(staged, dst, row["out_sha256"])
        except NameTaken:            # a half-written leftover of ours: the area is private
            os.unlink(dst)
            moved = durable_move(staged, dst, row["out_sha256"])
        if moved == "missing":
            self._requeue(row, "staged output missing")
            return
        self.crashpoint("review.moved")
        j.update(item_id, state="review")
        self.crashpoint("review.recorded")
        shutil.rmtree(self.staging_root / str(item_id), ignore_errors=True)
        faces, areas = _counts(row)
        log.info(T("watch.in_review", name=row["rel"], hidden=faces, areas=areas,
                   shown=row["shown"] or 0))

    def _approved(self, row) -> None:
        """approved: copy the reviewed output into ready/'s staging area (ready/ may be on
        another file system), fsync, check its SHA-256 -> finishing/ok (then published as
        any output). Repeatable: the staging folder is made afresh."""
        j, c, item_id = self.journal, self.config, row["id"]
        src = c.state_dir / row["review_rel"] if row["review_rel"] else None
        if src is None or not src.is_file() or sha256_file(src) != row["out_sha256"]:
            self._requeue(row, "reviewed output missing or changed")
            return
        staging = self.staging_root / str(item_id)
        shutil.rmtree(staging, ignore_errors=True)
        makedirs_durable(staging)
        staged = staging / src.name
        with atomic_output(staged) as tmp:
            shutil.copyfile(src, tmp)
            if sha256_file(tmp) != row["out_sha256"]:
                raise OSError(errno.EIO, f"copy of {src} does not match its SHA-256")
        self.crashpoint("approve.staged")
        report = json.loads(row["report_json"] or "{}")
        entry = review_audit_entry(json.loads(row["audit_json"]), report, "approved",
                                   row["reviewer"], row["revision"],
                                   json.loads(row["decisions_json"] or "[]"))
        faces = report.get("faces") or []
        j.update(item_id, state="finishing", outcome="ok",
                 staged=staged.relative_to(c.ready).as_posix(),
                 audit_json=json.dumps(entry, ensure_ascii=False), faces=len(faces),
                 hidden=report_counts(report, row["kind"])[0],
                 shown=len(report.get("shown") or []))
        self.crashpoint("approve.recorded")
        self._finish(j.get(item_id))

    def _rejected(self, row) -> None:
        """rejected: nothing is published; one audit entry; the original as any other."""
        j, item_id = self.journal, row["id"]
        entry = review_audit_entry(json.loads(row["audit_json"]),
                                   json.loads(row["report_json"] or "{}"), "rejected",
                                   row["reviewer"], row["revision"],
                                   json.loads(row["decisions_json"] or "[]"))
        j.update(item_id, state="finishing", outcome="rejected",
                 audit_json=json.dumps(entry, ensure_ascii=False))
        self.crashpoint("reject.recorded")
        self._finish(j.get(item_id))

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
                floor = self.audit_floor
                for e in self.audit.entries(since=self.journal.last_audit_seq()
                                            if floor is None else floor):
                    t = (e.body.get("details") or {}).get("watch_item")
                    if t and e.kind in _OWN_KINDS:    # not, e.g., the web's original-viewed
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
        if self.audit_floor is None:
            self.audit_floor = self.journal.last_audit_seq()
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
                elif twin is not None and twin["state"] in ("review", "approved") or \
                        twin is not None and twin["outcome"] == "review":
                    status = T("watch.note.twin_review", lang)
                else:
                    status = T("watch.note.twin_busy", lang)
                parts.append(T("watch.note.duplicate", lang, status=status, days=days,
                               other=twin["rel"] if twin is not None else "?"))
        else:
            parts = [T("watch.note.failed", lang, name=row["rel"],
                       reason=_bare(row["reason_" + lang], row["rel"])) for lang in ("sv", "en")]
        return ("\n\n".join(parts) + f"\n\nSHA-256: {row['sha256'] or '-'}\n{utc_now()}\n")

    def _log_outcome(self, row) -> None:
        if row["outcome"] == "rejected":
            log.info(T("watch.declined", name=row["rel"], by=row["reviewer"] or "?",
                       dest=self._root("originals") / (row["dest_rel"] or "")
                       if row["disposal"] == "originals" else "-"))
        elif row["outcome"] == "ok":
            faces, areas = _counts(row)
            log.info(T("watch.done", name=row["rel"], output=self.config.ready / row["ready_rel"],
                       hidden=faces, areas=areas, shown=row["shown"] or 0))
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
        now = datetime.fromtimestamp(self.clock(), UTC)

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


def _counts(row) -> tuple[int, int]:
    """(faces hidden, further areas hidden) of an item's report: people, not detections."""
    try:
        report = json.loads(row["report_json"] or "{}")
    except ValueError:
        report = {}
    return report_counts(report, row["kind"]) if report else (row["hidden"] or 0, 0)


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
