"""The watch folder's journal: one SQLite file (WAL, synchronous=FULL) per inbox.

Every file the watcher takes from the inbox gets one `item` row, written *before* anything
is done to the file, and every later step records what it is about to do (the name it will
use) before doing it, and that it is done after it. After a crash or a power cut the row and
the file system together say exactly which step comes next; every step can be repeated.

States (the `state` column):

    claimed     row written; the file is being moved from inbox/REL to the work area
                (inbox/.blurkit-work/ID/REL, same file system) and hashed
    queued      in the work area, SHA-256 known, waiting for the worker
    processing  handed to the worker (attempts counted before the hand-over); the output is
                written into a private staging folder (ready/.blurkit-work/ID/)
    finishing   the outcome is known and recorded (ok + staged output and its SHA-256, or
                error + reason in Swedish and English, or duplicate); what remains is a
                series of repeatable steps: publish the output into ready/ under a name
                chosen and recorded first, append the audit entry, move the original to
                originals/ (or delete it, or move it to failed/ or originals/duplicates/ with
                a reason file)
    done | failed | duplicate   final

With the review stage on (setting `review`, default true), an ok result does not go to
ready/ by itself:

    finishing (outcome `review`)  the output is moved from ready/'s staging area to the
                review area of the watcher's state folder (<state_dir>/review/ID/REV/NAME,
                name recorded first), fsynced and checked -> `review`
    review      waiting for a person (the web page, through `watch.review.ReviewDesk`);
                `revision` counts re-renders, `report_json` holds the current report
    approved | rejected   set by the reviewer (with `reviewer`, `decisions_json`,
                `reviewed`); the watcher takes it from there:
                approved -> the review output is copied into ready/'s staging area and
                checked -> finishing (outcome ok) -> the usual publish steps -> done;
                rejected -> finishing (outcome rejected): no output, one audit entry, the
                original to originals/ (retention as usual) -> declined
    declined    final: rejected in review, nothing published

`blurkit status` reads the same file (with the `runtime` row the running watcher keeps up to
date) while the watcher runs.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from blurkit.audit import connect_db, migrate, utc_now

JOURNAL_DB = "journal.sqlite3"

WAITING = ("claimed", "queued")
ACTIVE = ("processing", "finishing")
REVIEW = ("review", "approved", "rejected")
DECIDED = ("approved", "rejected")          # waiting for the watcher to finish them
FINAL = ("done", "failed", "duplicate", "declined")
STATES = WAITING + ACTIVE + REVIEW + FINAL
REVIEW_DIR = "review"                        # in the state folder

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1
        """CREATE TABLE item (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rel TEXT NOT NULL,              -- where it was dropped, relative to the inbox
            kind TEXT NOT NULL,             -- photo | video | other
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            work TEXT NOT NULL,             -- relative to the inbox, in the work area
            purpose TEXT NOT NULL,
            sha256 TEXT,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            output_retries INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            finished TEXT,
            outcome TEXT,                   -- ok | error | duplicate
            staged TEXT,                    -- relative to ready/, in its staging area
            out_sha256 TEXT,
            ready_rel TEXT,                 -- the output's name in ready/, chosen before use
            published INTEGER NOT NULL DEFAULT 0,
            faces INTEGER,
            hidden INTEGER,
            shown INTEGER,
            audit_json TEXT,
            audit_seq INTEGER,
            reason_key TEXT,
            reason_en TEXT,
            reason_sv TEXT,
            duplicate_of INTEGER,
            disposal TEXT,                  -- originals | duplicates | failed | delete
            dest_rel TEXT,                  -- the original's name there, chosen before use
            original_done INTEGER NOT NULL DEFAULT 0,
            deleting INTEGER NOT NULL DEFAULT 0,
            original_deleted TEXT,
            delete_audit_seq INTEGER)""",
        "CREATE INDEX item_state ON item (state)",
        "CREATE INDEX item_sha ON item (sha256)",
        "CREATE INDEX item_retention ON item (original_done, original_deleted)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE runtime (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            pid INTEGER, started TEXT, heartbeat TEXT, mode TEXT, purpose TEXT,
            ready TEXT, originals TEXT, failed TEXT, keep_days INTEGER,
            paused_key TEXT, paused_params TEXT, current_id INTEGER,
            inbox_pending INTEGER, inbox_oldest TEXT, stuck TEXT, stopped TEXT,
            progress TEXT, models_dir TEXT)""",
        "INSERT INTO runtime (one) VALUES (1)",
    ),
    (  # 2: the review stage
        "ALTER TABLE item ADD COLUMN report_json TEXT",      # ItemResult.to_dict() (current)
        "ALTER TABLE item ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE item ADD COLUMN review_rel TEXT",       # relative to the state folder
        "ALTER TABLE item ADD COLUMN reviewer TEXT",
        "ALTER TABLE item ADD COLUMN decisions_json TEXT",
        "ALTER TABLE item ADD COLUMN reviewed TEXT",
    ),
    (  # 3: corrections waiting to be rendered (a video's, rendered once at approval), kept
       # with the item like a photo's, with the revision they were made on
        "ALTER TABLE item ADD COLUMN pending_json TEXT",
        "ALTER TABLE item ADD COLUMN pending_revision INTEGER",
    ),
)

_ITEM_COLUMNS = {
    "rel", "kind", "size", "mtime_ns", "work", "purpose", "sha256", "state", "attempts",
    "output_retries", "finished", "outcome", "staged", "out_sha256", "ready_rel", "published",
    "faces", "hidden", "shown", "audit_json", "audit_seq", "reason_key", "reason_en",
    "reason_sv", "duplicate_of", "disposal", "dest_rel", "original_done", "deleting",
    "original_deleted", "delete_audit_seq", "report_json", "revision", "review_rel",
    "reviewer", "decisions_json", "reviewed", "pending_json", "pending_revision",
}
_RUNTIME_COLUMNS = {
    "pid", "started", "heartbeat", "mode", "purpose", "ready", "originals", "failed",
    "keep_days", "paused_key", "paused_params", "current_id", "inbox_pending", "inbox_oldest",
    "stuck", "stopped", "progress", "models_dir",
}
WORK_DIR = ".blurkit-work"


class Journal:
    def __init__(self, path: Path, inbox: Path | None = None, any_thread: bool = False) -> None:
        """`any_thread`: the connection may be used from other threads than this one (the
        caller serialises the use: see ReviewDesk)."""
        self.path = Path(path)
        self.conn = connect_db(self.path)
        if any_thread:   # the same settings, on a connection not tied to this thread
            pragmas = [(p, self.conn.execute(f"PRAGMA {p}").fetchone()[0])
                       for p in ("busy_timeout", "foreign_keys", "secure_delete", "synchronous")]
            self.conn.close()
            self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode = WAL")
            for name, value in pragmas:
                self.conn.execute(f"PRAGMA {name} = {int(value)}")
        self.conn.row_factory = sqlite3.Row
        migrate(self.conn, MIGRATIONS, self.path)
        self.id = self._meta("journal_id") or self._set_meta("journal_id", uuid.uuid4().hex)
        if inbox is not None and self._meta("inbox") != str(inbox):
            self._set_meta("inbox", str(inbox))

    @classmethod
    def open_existing(cls, path: Path) -> Journal | None:
        """For readers (`blurkit status`): None when no watcher ever used this journal."""
        return cls(path) if Path(path).is_file() else None

    def close(self) -> None:
        self.conn.close()

    # meta ------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> str:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                          "DO UPDATE SET value = excluded.value", (key, value))
        return value

    @property
    def inbox(self) -> str | None:
        return self._meta("inbox")

    # items -----------------------------------------------------------------------------------

    def claim(self, rel: str, kind: str, size: int, mtime_ns: int, purpose: str) -> sqlite3.Row:
        """A new row in state `claimed`; its work path holds the row id."""
        now = utc_now()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            cur = self.conn.execute(
                "INSERT INTO item (rel, kind, size, mtime_ns, work, purpose, state, created, "
                "updated) VALUES (?, ?, ?, ?, '', ?, 'claimed', ?, ?)",
                (rel, kind, size, mtime_ns, purpose, now, now))
            item_id = cur.lastrowid
            work = f"{WORK_DIR}/{item_id}/{rel}"
            self.conn.execute("UPDATE item SET work = ? WHERE id = ?", (work, item_id))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return self.get(item_id)

    def get(self, item_id: int) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM item WHERE id = ?", (item_id,)).fetchone()

    def update(self, item_id: int, **cols: Any) -> sqlite3.Row:
        unknown = set(cols) - _ITEM_COLUMNS
        if unknown:
            raise ValueError(f"unknown item column(s) {sorted(unknown)}")
        cols["updated"] = utc_now()
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.conn.execute(f"UPDATE item SET {sets} WHERE id = ?", (*cols.values(), item_id))
        return self.get(item_id)

    def delete(self, item_id: int) -> None:
        self.conn.execute("DELETE FROM item WHERE id = ?", (item_id,))

    def in_states(self, *states: str) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(states))
        return self.conn.execute(f"SELECT * FROM item WHERE state IN ({marks}) ORDER BY id",
                                 states).fetchall()

    def ids(self) -> set[int]:
        return {r[0] for r in self.conn.execute("SELECT id FROM item")}

    def next_queued(self) -> sqlite3.Row | None:
        """Photos before videos (a photo takes a second, a video minutes), each oldest first."""
        return self.conn.execute(
            "SELECT * FROM item WHERE state = 'queued' "
            "ORDER BY (kind = 'video'), id LIMIT 1").fetchone()

    def published_twin(self, sha256: str, purpose: str, not_id: int) -> sqlite3.Row | None:
        """The latest other item with the same content and purpose that was anonymized (or
        whose copy is being published, or waits in review)."""
        return self.conn.execute(
            "SELECT * FROM item WHERE sha256 = ? AND purpose = ? AND id != ? AND ("
            "state IN ('done', 'review', 'approved') "
            "OR (state = 'finishing' AND outcome IN ('ok', 'review'))) "
            "ORDER BY id DESC LIMIT 1", (sha256, purpose, not_id)).fetchone()

    def due_for_retention(self, cutoff: str) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM item WHERE state IN ('done', 'duplicate', 'declined') "
            "AND original_done = 1 "
            "AND original_deleted IS NULL AND disposal IN ('originals', 'duplicates') "
            "AND finished <= ? ORDER BY id", (cutoff,)).fetchall()

    def half_deleted(self) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM item WHERE deleting = 1 AND original_deleted IS NULL "
            "AND state IN ('done', 'duplicate', 'declined') ORDER BY id").fetchall()

    def last_audit_seq(self) -> int:
        """The highest audit sequence number recorded for any item (0 if none): an entry
        appended just before a crash, its number not yet recorded, comes after it."""
        row = self.conn.execute("SELECT MAX(MAX(COALESCE(audit_seq, 0)), "
                                "MAX(COALESCE(delete_audit_seq, 0))) FROM item").fetchone()
        return int(row[0] or 0)

    def latest_time(self) -> str | None:
        """The time of the last change recorded (UTC, ISO 8601): the clock must not be
        earlier than this."""
        return self.conn.execute("SELECT MAX(updated) FROM item").fetchone()[0]

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATES}
        for state, n in self.conn.execute("SELECT state, COUNT(*) FROM item GROUP BY state"):
            counts[state] = n
        return counts

    def oldest_waiting(self) -> sqlite3.Row | None:
        return self.conn.execute(
            "SELECT * FROM item WHERE state IN ('claimed', 'queued') "
            "ORDER BY created LIMIT 1").fetchone()

    def current(self) -> list[sqlite3.Row]:
        return self.in_states(*ACTIVE)

    def last_failed(self, n: int = 5) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM item WHERE state = 'failed' "
                                 "ORDER BY finished DESC, id DESC LIMIT ?", (n,)).fetchall()

    def all_items(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM item ORDER BY id").fetchall()

    # runtime (what `blurkit status` shows about the running watcher) ------------------------

    def set_runtime(self, **cols: Any) -> None:
        unknown = set(cols) - _RUNTIME_COLUMNS
        if unknown:
            raise ValueError(f"unknown runtime column(s) {sorted(unknown)}")
        for key in ("paused_params", "stuck"):
            if key in cols and cols[key] is not None and not isinstance(cols[key], str):
                cols[key] = json.dumps(cols[key], ensure_ascii=False, default=str)
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.conn.execute(f"UPDATE runtime SET {sets} WHERE one = 1", tuple(cols.values()))

    def runtime(self) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM runtime WHERE one = 1").fetchone()
        out = dict(row) if row is not None else {}
        for key in ("paused_params", "stuck"):
            if out.get(key):
                try:
                    out[key] = json.loads(out[key])
                except ValueError:
                    out[key] = None
        return out


def rows_as_dicts(rows: Iterable[sqlite3.Row]) -> list[dict]:
    return [dict(r) for r in rows]
