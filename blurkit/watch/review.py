"""The review desk: what the web app (`blurkit serve`) uses to list, re-render, approve and
reject the items that wait in the watch folder's review stage. Plain data in and out.

The desk has its own connection to the watcher's journal (SQLite WAL, busy timeout), so it is
safe beside a running Watcher in another thread or process. It only ever changes items in
state `review`, each change in one IMMEDIATE transaction that first checks the state and the
`revision` the reviewer saw (ReviewConflict otherwise); the watcher only ever changes the
items it finishes (`approved`, `rejected`, and the ones before review). So the two never
write the same row at the same time.

Files: the output waiting for review lives in the watch state folder,
`<state_dir>/review/<id>/<revision folder>/<name>` (not in ready/, which is often a shared
folder: nothing there may be seen before approval). A re-render is written by the web into a
fresh folder from `new_render_path()` and becomes current with `replace_output()`; the old
file is removed only after that is committed. The watcher removes `<state_dir>/review/<id>/`
when the item is finished.

    desk = ReviewDesk.for_settings(settings)
    for item in desk.pending():
        ...
        desk.approve(item.id, "kim", decisions, expected_revision=item.revision)
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from blurkit.audit import normalise_entry, utc_now
from blurkit.engine.secondlook.people import report_counts
from blurkit.errors import BlurkitError
from blurkit.fsutil import fsync_dir, fsync_path, makedirs_durable, sha256_file
from blurkit.watch.journal import JOURNAL_DB, REVIEW_DIR, Journal

__all__ = ["ReviewConflict", "ReviewDesk", "ReviewItem", "review_audit_entry"]


class ReviewConflict(BlurkitError):
    """The item is not (or no longer) waiting in review, or another revision is current."""

    def __init__(self, item_id: int, state: str | None, revision: int | None) -> None:
        super().__init__("review.conflict", id=item_id, state=state or "-",
                         revision=revision if revision is not None else "-")
        self.item_id, self.state, self.revision = item_id, state, revision


@dataclass(frozen=True)
class ReviewItem:
    id: int
    rel: str                  # where it was dropped, relative to the inbox
    kind: str                 # photo | video
    purpose: str
    state: str               # review | approved | rejected | finishing | done | declined | ...
    created: str
    updated: str
    revision: int
    output: Path | None      # the anonymized file awaiting review (None when not in review)
    original: Path | None    # the original in the inbox work area (None once disposed)
    report: dict             # ItemResult.to_dict() of the current revision
    sha256: str | None       # of the original
    out_sha256: str | None   # of `output`
    reviewer: str | None
    decisions: list[dict] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)   # corrections not rendered yet (video)


def review_audit_entry(base: dict, report: dict, decision: str, reviewer: str,
                       revision: int, decisions: list[dict]) -> dict:
    """The item's one audit entry after review, from the entry recorded when it was processed
    (`base`: kind, purpose, input, models, details.watch_item). Approved: the faces and the
    persons shown are those of the approved output (`report`), the operator is the reviewer.
    Rejected: status failed, reason review.rejected, nobody shown (nothing was published)."""
    entry = json.loads(json.dumps(base))
    details = dict(entry.get("details") or {})
    details["review"] = {"decision": decision, "by": reviewer, "revision": int(revision),
                         "decisions": decisions}
    entry["details"] = details
    entry["operator"] = reviewer
    if decision == "approved":
        entry["status"] = "ok"
        entry["faces"] = len(report.get("faces") or [])
        entry["shown"] = [{"person_id": s["person_id"], "consent_id": s["consent_id"]}
                          for s in report.get("shown") or []]
        entry.pop("reason", None)
    else:
        entry["status"] = "failed"
        entry["reason"] = "review.rejected"
        entry["shown"] = []
        entry.pop("output_path", None)
        entry.pop("output_sha256", None)
    return entry


def _check_decision(reviewer: str, decisions: list[dict]) -> list[dict]:
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise ValueError("reviewer: a name is needed")
    if not isinstance(decisions, list) or not all(isinstance(d, dict) for d in decisions):
        raise ValueError("decisions: a list of objects")
    decisions = json.loads(json.dumps(decisions))     # JSON values only (raises otherwise)
    # the audit log must accept it later (no biometric-looking number lists): ask it now
    normalise_entry({"kind": "photo", "details": {"review": {"decisions": decisions}}},
                    reviewer)
    return decisions


def _check_report(report: dict) -> None:
    """What the watcher later needs from a report to write the audit entry."""
    if not isinstance(report, dict):
        raise ValueError("report: an ItemResult.to_dict()")
    for s in report.get("shown") or []:
        if not (isinstance(s, dict) and isinstance(s.get("person_id"), int)
                and isinstance(s.get("consent_id"), int)):
            raise ValueError(f"report: shown items are {{person_id, consent_id}}, not {s!r}")
    if not all(isinstance(f, dict) for f in report.get("faces") or []):
        raise ValueError("report: faces are objects")


def _serialised(method):
    """One call at a time per desk: it may be shared by the web server's threads."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


class ReviewDesk:
    """Open one per process (or per thread); one desk may also be shared by threads: its
    calls are serialised."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self._lock = threading.RLock()
        self.journal = Journal(self.state_dir / JOURNAL_DB, any_thread=True)
        self.crash_hook: Callable[[str], None] | None = None   # tests: simulate kill -9
        self._inbox: str | None = None

    @classmethod
    def for_settings(cls, settings, inbox: Path | None = None) -> ReviewDesk:
        """The desk of the watcher of `inbox` (default: the default inbox)."""
        from blurkit.watch.config import default_folders, state_dir_for

        inbox = Path(inbox) if inbox is not None else default_folders(settings.data_dir)["inbox"]
        return cls(state_dir_for(settings.data_dir, inbox))

    @_serialised
    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> ReviewDesk:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _crashpoint(self, name: str) -> None:
        if self.crash_hook is not None:
            self.crash_hook(name)

    # reading -------------------------------------------------------------------------------

    def _item(self, row: sqlite3.Row) -> ReviewItem:
        output = None
        if row["state"] in ("review", "approved", "rejected") and row["review_rel"]:
            output = self.state_dir / row["review_rel"]
        original = None
        if self._inbox is None:            # the state folder belongs to one inbox
            self._inbox = self.journal.inbox
        inbox = self._inbox
        if inbox and not row["original_done"] and row["work"]:
            p = Path(inbox) / row["work"]
            original = p if p.is_file() else None
        return ReviewItem(
            id=row["id"], rel=row["rel"], kind=row["kind"], purpose=row["purpose"],
            state=row["state"], created=row["created"], updated=row["updated"],
            revision=row["revision"], output=output, original=original,
            report=json.loads(row["report_json"]) if row["report_json"] else {},
            sha256=row["sha256"], out_sha256=row["out_sha256"], reviewer=row["reviewer"],
            decisions=json.loads(row["decisions_json"]) if row["decisions_json"] else [],
            pending=(json.loads(row["pending_json"]) if row["pending_json"]
                     and row["pending_revision"] == row["revision"] else []))

    @_serialised
    def pending(self, limit: int | None = None, offset: int = 0) -> list[ReviewItem]:
        """Items waiting in review, oldest first (photos and videos)."""
        rows = self.journal.conn.execute(
            "SELECT * FROM item WHERE state = 'review' ORDER BY id LIMIT ? OFFSET ?",
            (-1 if limit is None else int(limit), int(offset))).fetchall()
        return [self._item(r) for r in rows]

    @_serialised
    def pending_ids(self) -> list[int]:
        """The ids of the items waiting in review, oldest first (cheap: no reports read)."""
        return [r[0] for r in self.journal.conn.execute(
            "SELECT id FROM item WHERE state = 'review' ORDER BY id")]

    @_serialised
    def count_pending(self) -> int:
        return self.journal.conn.execute(
            "SELECT COUNT(*) FROM item WHERE state = 'review'").fetchone()[0]

    @_serialised
    def get(self, item_id: int) -> ReviewItem | None:
        row = self.journal.get(int(item_id))
        return None if row is None else self._item(row)

    @_serialised
    def recent(self, limit: int = 50) -> list[ReviewItem]:
        """The latest items decided or finished (approved, rejected, done, declined, failed,
        duplicate), newest first."""
        rows = self.journal.conn.execute(
            "SELECT * FROM item WHERE state IN ('approved', 'rejected', 'done', 'declined', "
            "'failed', 'duplicate') ORDER BY updated DESC, id DESC LIMIT ?",
            (int(limit),)).fetchall()
        return [self._item(r) for r in rows]

    # changing ------------------------------------------------------------------------------

    def _area(self, item_id: int) -> Path:
        return self.state_dir / REVIEW_DIR / str(int(item_id))

    def _in_review(self, item_id: int, expected_revision: int | None) -> sqlite3.Row:
        """Inside a transaction: the row, or ReviewConflict."""
        row = self.journal.get(int(item_id))
        if row is None or row["state"] != "review" or (
                expected_revision is not None and row["revision"] != int(expected_revision)):
            raise ReviewConflict(int(item_id), None if row is None else row["state"],
                                 None if row is None else row["revision"])
        return row

    def _transaction(self, item_id: int, expected_revision: int | None, **cols) -> sqlite3.Row:
        conn = self.journal.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._in_review(item_id, expected_revision)
            if cols:
                self.journal.update(row["id"], **cols)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return row

    @_serialised
    def new_render_path(self, item_id: int, name: str) -> Path:
        """A fresh empty folder in the item's review area (the same file system as its current
        output) + `name`: where the web writes a re-rendered output before replace_output()."""
        if not name or name != PurePosixPath(name).name or name in (".", "..") \
                or "\\" in name or "\x00" in name:
            raise ValueError(f"not a plain file name: {name!r}")
        row = self._in_review(item_id, None)
        folder = self._area(item_id) / f"r{row['revision'] + 1}-{uuid.uuid4().hex[:8]}"
        makedirs_durable(folder)
        return folder / name

    @_serialised
    def replace_output(self, item_id: int, new_file: Path, report: dict,
                       expected_revision: int) -> ReviewItem:
        """Make `new_file` (written at a path from new_render_path) the output under review:
        fsynced, hashed, then revision+1 with its SHA-256 and `report` in one transaction.
        The previous output is removed after the commit. ReviewConflict when the item left
        review or another revision is current (new_file is then left to the caller)."""
        new_file = Path(new_file)
        area = self._area(item_id).resolve()
        resolved = new_file.resolve()
        if area not in resolved.parents or resolved.parent == area or not resolved.is_file():
            raise ValueError(f"{new_file}: not a file from new_render_path({item_id}, ...)")
        _check_report(report)
        report_json = json.dumps(report, ensure_ascii=False, default=str)
        fsync_path(resolved)
        fsync_dir(resolved.parent)
        sha = sha256_file(resolved)
        faces = report.get("faces") or []
        current = self.journal.get(int(item_id))
        kind = current["kind"] if current is not None else "photo"
        self._crashpoint("replace.written")
        old = self._transaction(
            item_id, expected_revision, revision=int(expected_revision) + 1,
            review_rel=resolved.relative_to(self.state_dir.resolve()).as_posix(),
            out_sha256=sha, report_json=report_json, faces=len(faces),
            hidden=report_counts(report, kind)[0],
            shown=len(report.get("shown") or []))
        self._crashpoint("replace.committed")
        if old["review_rel"]:
            previous = (self.state_dir / old["review_rel"]).parent
            if previous.resolve() != resolved.parent and area in previous.resolve().parents:
                shutil.rmtree(previous, ignore_errors=True)
                fsync_dir(area)
        return self.get(item_id)

    @_serialised
    def set_pending(self, item_id: int, decisions: list[dict], expected_revision: int) -> None:
        """Keep corrections that are rendered later (a video's, at approval) with the item,
        for the revision they were made on. ReviewConflict when not in review at it."""
        decisions = _check_decision("-", decisions)
        self._transaction(item_id, expected_revision,
                          pending_json=json.dumps(decisions, ensure_ascii=False) if decisions
                          else None,
                          pending_revision=int(expected_revision) if decisions else None)

    @_serialised
    def approve(self, item_id: int, reviewer: str, decisions: list[dict],
                expected_revision: int) -> None:
        """review -> approved: the watcher publishes it (one audit entry naming the reviewer
        and the decisions). ReviewConflict when not in review at that revision."""
        self._decide(item_id, "approved", reviewer, decisions, expected_revision)

    @_serialised
    def reject(self, item_id: int, reviewer: str, decisions: list[dict],
               expected_revision: int) -> None:
        """review -> rejected: nothing is published; the original is kept as configured."""
        self._decide(item_id, "rejected", reviewer, decisions, expected_revision)

    def _decide(self, item_id: int, state: str, reviewer: str, decisions: list[dict],
                expected_revision: int) -> None:
        decisions = _check_decision(reviewer, decisions)
        self._transaction(item_id, expected_revision, state=state, reviewer=reviewer.strip(),
                          decisions_json=json.dumps(decisions, ensure_ascii=False),
                          reviewed=utc_now())
        self._crashpoint("decided")
