"""The audit log (diarium): an append-only, hash-chained record of everything blurkit published
and every change to the consent registry.

It lives in `<data_dir>/audit.sqlite3`. Each entry is stored as canonical JSON (sorted keys,
no spaces, UTF-8) together with `prev_hash` and `hash = sha256(prev_hash + body)`; the body
holds its own sequence number `seq`, equal to the row id, starting at 1. A `head` row holds
the number of entries and the last hash, updated in the same transaction as every append.

`verify()` recomputes the chain and detects: an edited entry (hash), a deleted entry (gap in
seq, or the head count when the last one is gone), an inserted entry (gap / head), reordered
entries (seq vs. id, prev_hash). Limits, stated plainly: the chain proves nothing against
someone who rewrites the whole file consistently (every later hash and the head) or who puts
back an older copy of the entire file; it has no secret. For that, note the head hash that
`blurkit audit verify` prints (e.g. in the paper diarium or a signed e-mail) from time to
time: a later log must still contain that entry with that hash. Triggers also refuse
UPDATE and DELETE on entries, which stops accidents, not a determined person.

Nothing biometric belongs in an entry and person names are never written: only person ids
and consent record ids (an append-only log cannot honour an erasure request for what it
holds). `append()` refuses numeric arrays that look like face templates.

Entry fields (all optional except `kind`; unknown keys are a programming error):
    kind            photo | video | consent-change | erasure | retention-delete |
                    original-viewed (a person looked at an original in the review web page)
    status          ok (default) | failed
    reason          message key of the failure (or of a note), e.g. "media.corrupt"
    purpose         public | internal
    input_path      str;  input_sha256   64 hex
    output_path     str;  output_sha256  64 hex   (None when nothing was written)
    faces           int, number of faces found
    shown           list of {"person_id": int, "consent_id": int} (or (person_id, consent_id)
                    pairs): every person left visible and the consent record that allowed it
    models          {name: version} of the models used
    person_id       the person a consent-change / erasure concerns
    details         dict, small JSON-able extras
    operator        default: settings.operator
`append()` adds `seq` and `time` (UTC, ISO 8601) itself.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blurkit import choices, i18n
from blurkit.config import Settings
from blurkit.errors import BlurkitError
from blurkit.fsutil import atomic_output

AUDIT_DB = "audit.sqlite3"
GENESIS = "0" * 64
KINDS = ("photo", "video", "consent-change", "erasure", "retention-delete", "original-viewed")
STATUSES = ("ok", "failed")
FIELDS = ("kind", "status", "reason", "purpose", "input_path", "input_sha256", "output_path",
          "output_sha256", "faces", "shown", "models", "person_id", "details", "operator")
# The CSV export (`blurkit audit export --csv` and the diarium page's download, byte for byte
# the same): semicolon-separated, UTF-8 with a BOM, so that a spreadsheet set up for Swedish
# (where the comma is the decimal sign) opens it in columns with å, ä, ö intact. Times are
# this computer's local time to the second ("2025-03-01 14:05:09", which a spreadsheet reads
# as a time), with the zone in the next column ("UTC+01:00 (CET)"). The person/consent pairs
# of `shown` are JSON like `models` and `details` (a bare "1:10" would be read as a time).
CSV_COLUMNS = ("seq", "time", "zone", "operator", "kind", "status", "reason", "purpose",
               "input_path", "input_sha256", "output_path", "output_sha256", "faces", "shown",
               "person_id", "models", "details", "hash")
CSV_DELIMITER = ";"
CSV_BATCH = 500                       # rows per chunk of the export
_BIOMETRIC_LIKE = 32  # a list of this many numbers or more is refused (looks like a template)


class StoreError(BlurkitError):
    """A database file of the data directory cannot be used."""


class AuditError(BlurkitError):
    """The audit log cannot be written or read."""


# --- SQLite helpers shared with the consent registry --------------------------------------

def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def local_time(iso: str | None) -> datetime | None:
    """A stored UTC time ("2025-03-01T13:05:09.123456Z") as this computer's local time
    (aware, with its zone); None when there is none or it cannot be read."""
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


def zone_label(moment: datetime | None = None) -> str:
    """The zone of a local time as people can check it: "UTC+01:00 (CET)", or "UTC" (now,
    when no time is given)."""
    moment = moment or datetime.now().astimezone()
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    text = "UTC" if minutes == 0 else f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    name = moment.tzname() or ""
    if name and name.upper() not in ("UTC", "GMT", "Z") and name[:1] not in "+-" \
            and not name.upper().startswith(("UTC", "GMT")):
        text += f" ({name})"
    return text


def connect_db(path: Path) -> sqlite3.Connection:
    """Open (creating owner-only if new) an SQLite file in autocommit mode, with WAL journal,
    foreign keys, secure_delete and a generous busy timeout (several worker processes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # SQLite gives the -wal and -shm files the permissions of the database file
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as exc:
        raise StoreError("store.unreadable", path=path, reason=exc) from exc
    return conn


def migrate(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]], path: Path) -> int:
    """Bring the schema to version len(migrations) (PRAGMA user_version), one migration per
    transaction. Safe when several processes open a new file at once. Returns the version."""
    known = len(migrations)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError("store.unreadable", path=path, reason=exc) from exc
    if version == known:  # the common case takes no write lock
        return version
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise StoreError("store.unreadable", path=path, reason=exc) from exc
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > known:
                raise StoreError("store.too_new", path=path, found=version, known=known)
            if version == known:
                conn.execute("COMMIT")
                return version
            for statement in migrations[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the database and truncate it; True when the WAL is now empty."""
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


# --- the log -------------------------------------------------------------------------------

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: entries, head, append-only triggers
        "CREATE TABLE entry (id INTEGER PRIMARY KEY, body TEXT NOT NULL, "
        "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE head (one INTEGER PRIMARY KEY CHECK (one = 1), "
        "count INTEGER NOT NULL, last_hash TEXT NOT NULL)",
        f"INSERT INTO head (one, count, last_hash) VALUES (1, 0, '{GENESIS}')",
        "CREATE TRIGGER entry_no_update BEFORE UPDATE ON entry "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER entry_no_delete BEFORE DELETE ON entry "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER head_no_delete BEFORE DELETE ON head "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
)


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def chain_hash(prev_hash: str, body_text: str) -> str:
    return hashlib.sha256((prev_hash + body_text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    hash: str
    body: dict

    def __getattr__(self, name: str) -> Any:
        # entry.kind, entry.output_path, ... (absent fields read as None)
        if name in FIELDS or name == "time":
            return self.body.get(name)
        raise AttributeError(name)

    @property
    def person_ids(self) -> list[int]:
        return [s["person_id"] for s in self.body.get("shown") or []]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head_hash: str
    first_bad_id: int | None = None
    problem: str | None = None        # message key, see message()
    params: dict | None = None

    def message(self, lang: str | None = None) -> str | None:
        return None if self.problem is None else i18n.t(self.problem, lang=lang,
                                                         **(self.params or {}))


def _check_sha(value: object, name: str) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise ValueError(f"audit entry: {name} must be 64 hex digits")
    return text


def _refuse_biometric(value: object, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_biometric(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        numbers = sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if numbers >= _BIOMETRIC_LIKE:
            raise ValueError(f"audit entry: {where} holds {numbers} numbers; face templates "
                             f"and other biometric data never go into the audit log")
        for v in value:
            _refuse_biometric(v, where)
    elif not (value is None or isinstance(value, (str, int, float, bool))):
        raise ValueError(f"audit entry: {where} is a {type(value).__name__}; only JSON "
                         f"values are accepted")


def normalise_entry(entry: dict, operator: str) -> dict:
    """The body to store (without seq/time): checked, with defaults. Raises ValueError."""
    unknown = set(entry) - set(FIELDS)
    if unknown:
        raise ValueError(f"audit entry: unknown field(s) {sorted(unknown)}; known: {FIELDS}")
    body: dict[str, Any] = {k: None for k in FIELDS}
    body.update(entry)
    if body["kind"] not in KINDS:
        raise ValueError(f"audit entry: kind must be one of {KINDS}, not {body['kind']!r}")
    body["status"] = body["status"] or "ok"
    if body["status"] not in STATUSES:
        raise ValueError(f"audit entry: status must be one of {STATUSES}")
    if body["purpose"] is not None and body["purpose"] not in choices.PURPOSES:
        raise ValueError(f"audit entry: purpose must be one of {tuple(choices.PURPOSES)}")
    for name in ("input_path", "output_path", "reason"):
        if body[name] is not None:
            body[name] = str(body[name])
    body["input_sha256"] = _check_sha(body["input_sha256"], "input_sha256")
    body["output_sha256"] = _check_sha(body["output_sha256"], "output_sha256")
    if body["faces"] is not None:
        body["faces"] = int(body["faces"])
        if body["faces"] < 0:
            raise ValueError("audit entry: faces must be >= 0")
    if body["person_id"] is not None:
        body["person_id"] = int(body["person_id"])
    shown = []
    for item in body["shown"] or []:
        if isinstance(item, dict):
            if set(item) != {"person_id", "consent_id"}:
                raise ValueError("audit entry: shown items are {person_id, consent_id}")
            pid, cid = item["person_id"], item["consent_id"]
        else:
            pid, cid = item
        shown.append({"person_id": int(pid), "consent_id": int(cid)})
    body["shown"] = shown
    body["models"] = {str(k): str(v) for k, v in (body["models"] or {}).items()}
    body["details"] = dict(body["details"] or {})
    body["operator"] = str(body["operator"] or operator)
    _refuse_biometric(body, "entry")
    return body


class AuditLog:
    """The diarium. Open one per process (it reconnects by itself after a fork and pickles
    as its path only, so it can be handed to worker processes)."""

    def __init__(self, path: Path, operator: str) -> None:
        self.path = Path(path)
        self.operator = operator
        self._conn: sqlite3.Connection | None = None
        self._pid = -1

    @classmethod
    def open(cls, settings: Settings) -> AuditLog:
        log = cls(Path(settings.data_dir) / AUDIT_DB, settings.operator)
        log._db()
        return log

    def __getstate__(self) -> dict:
        return {"path": self.path, "operator": self.operator}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["operator"])

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            conn = connect_db(self.path)
            migrate(conn, MIGRATIONS, self.path)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    # writing ------------------------------------------------------------------------------

    def append(self, entry: dict) -> int:
        """Append one entry; returns its sequence number. Safe from several processes."""
        body = normalise_entry(entry, self.operator)
        conn = self._db()
        try:
            with transaction(conn):
                count, last_hash = conn.execute(
                    "SELECT count, last_hash FROM head WHERE one = 1").fetchone()
                max_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM entry").fetchone()[0]
                # chain onto what the head says was written last: a removed last entry
                # then shows up as a broken link, not as a silently healed chain
                seq = max(count, max_id) + 1
                body["seq"] = seq
                body["time"] = utc_now()
                text = canonical(body)
                digest = chain_hash(last_hash, text)
                conn.execute("INSERT INTO entry (id, body, prev_hash, hash) VALUES (?, ?, ?, ?)",
                             (seq, text, last_hash, digest))
                conn.execute("UPDATE head SET count = count + 1, last_hash = ? WHERE one = 1",
                             (digest,))
        except sqlite3.Error as exc:
            raise AuditError("audit.append_failed", path=self.path, reason=exc) from exc
        return seq

    # reading ------------------------------------------------------------------------------

    def _rows(self, since: int = 0) -> Iterator[tuple[int, str, str, str]]:
        conn = self._db()
        with transaction(conn, immediate=False):
            rows = conn.execute("SELECT id, body, prev_hash, hash FROM entry WHERE id > ? "
                                "ORDER BY id", (since,)).fetchall()
        return iter(rows)

    def entries(self, since: int = 0) -> list[AuditEntry]:
        """Every entry (or those after sequence number `since`), oldest first."""
        return [AuditEntry(seq, digest, json.loads(body))
                for seq, body, _, digest in self._rows(since)]

    def find_person(self, person_id: int) -> list[AuditEntry]:
        """Every entry of a written output in which this person was left visible (the
        takedown list), oldest first."""
        person_id = int(person_id)
        return [e for e in self.entries() if person_id in e.person_ids and e.output_path]

    def history(self, person_id: int) -> list[AuditEntry]:
        """Every consent change and erasure recorded for this person, oldest first."""
        person_id = int(person_id)
        return [e for e in self.entries() if e.body.get("person_id") == person_id]

    def verify(self) -> VerifyResult:
        conn = self._db()
        with transaction(conn, immediate=False):
            rows = conn.execute("SELECT id, body, prev_hash, hash FROM entry ORDER BY id")
            head_count, head_hash = conn.execute(
                "SELECT count, last_hash FROM head WHERE one = 1").fetchone()
            prev, n = GENESIS, 0

            def bad(seq: int, problem: str, **params: object) -> VerifyResult:
                return VerifyResult(False, n, head_hash, seq, problem,
                                    {"seq": seq, **params})

            for row_id, text, prev_hash, digest in rows:
                n += 1
                if row_id != n:
                    return bad(n, "audit.problem.gap")
                try:
                    body = json.loads(text)
                    ok_text = isinstance(body, dict) and canonical(body) == text
                except ValueError:
                    return bad(row_id, "audit.problem.unreadable")
                if not ok_text:
                    return bad(row_id, "audit.problem.not_canonical")
                if body.get("seq") != row_id:
                    return bad(row_id, "audit.problem.seq")
                if prev_hash != prev:
                    return bad(row_id, "audit.problem.prev_hash")
                if chain_hash(prev_hash, text) != digest:
                    return bad(row_id, "audit.problem.hash")
                prev = digest
        if head_count != n:
            return bad(min(head_count, n) + 1, "audit.problem.head_count",
                       expected=head_count, found=n)
        if head_hash != prev:
            return bad(n, "audit.problem.head_hash")
        return VerifyResult(True, n, head_hash)

    def export_csv(self, dest: Path, overwrite: bool = False) -> int:
        """Write every entry to a CSV file (see CSV_COLUMNS: semicolons, UTF-8 with BOM,
        local times with their zone); atomic. Returns the number of entries. Text cells that
        a spreadsheet would run as a formula get a leading apostrophe."""
        entries = self.entries()
        with atomic_output(Path(dest), overwrite=overwrite) as tmp:
            with open(tmp, "wb") as fh:
                for chunk in csv_chunks(entries):
                    fh.write(chunk)
        return len(entries)

    def fingerprint(self) -> tuple:
        """What changes whenever the log's files are written: the database file's identity,
        size and time, and the CONTENT of its WAL (the WAL file is made anew by every
        connection, so its times say nothing; its frames are where a change lands before a
        checkpoint). Equal fingerprints: the last full `verify()` still holds."""
        try:
            st = self.path.stat()
            main = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            main = None
        try:
            digest = hashlib.sha256()
            with open(str(self.path) + "-wal", "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            wal = digest.hexdigest()
        except OSError:
            wal = None
        return main, wal

    def search(self, *, since: str | None = None, until: str | None = None,
               person_id: int | None = None, operator: str | None = None,
               purpose: str | None = None, kinds: Sequence[str] = (),
               approved: bool = False, limit: int = 100, offset: int = 0
               ) -> tuple[int, list[AuditEntry]]:
        """(number of matching entries, one page of them, newest first). Filters (all
        optional, combined with AND): `since`/`until` compare with the entry's UTC time as
        text (give "YYYY-MM-DD" for since and the day AFTER the last one for until),
        `person_id` matches the person an entry is about or a person it showed,
        `operator` exactly, `purpose`, `kinds` (any of), `approved` only entries whose
        details say a reviewer approved them. Read in SQL, so a long log pages quickly."""
        where, params = [], []
        if since:
            where.append("json_extract(body, '$.time') >= ?")
            params.append(since)
        if until:
            where.append("json_extract(body, '$.time') < ?")
            params.append(until)
        if person_id is not None:
            where.append("(json_extract(body, '$.person_id') = ? OR EXISTS (SELECT 1 FROM "
                         "json_each(body, '$.shown') WHERE json_extract(value, "
                         "'$.person_id') = ?))")
            params += [int(person_id), int(person_id)]
        if operator:
            where.append("json_extract(body, '$.operator') = ?")
            params.append(operator)
        if purpose:
            where.append("json_extract(body, '$.purpose') = ?")
            params.append(purpose)
        if kinds:
            marks = ",".join("?" * len(kinds))
            where.append(f"json_extract(body, '$.kind') IN ({marks})")
            params += list(kinds)
        if approved:
            where.append("json_extract(body, '$.details.review.decision') = 'approved'")
        sql = " WHERE " + " AND ".join(where) if where else ""
        conn = self._db()
        with transaction(conn, immediate=False):
            total = conn.execute(f"SELECT COUNT(*) FROM entry{sql}", params).fetchone()[0]
            rows = conn.execute(f"SELECT id, body, hash FROM entry{sql} ORDER BY id DESC "
                                "LIMIT ? OFFSET ?",
                                [*params, max(0, int(limit)), max(0, int(offset))]).fetchall()
        return total, [AuditEntry(seq, digest, json.loads(body)) for seq, body, digest in rows]

    def operators(self) -> list[str]:
        """Every operator named in the log (for a filter's choices)."""
        conn = self._db()
        with transaction(conn, immediate=False):
            rows = conn.execute("SELECT DISTINCT json_extract(body, '$.operator') FROM entry "
                                "ORDER BY 1").fetchall()
        return [r[0] for r in rows if r[0]]


def csv_chunks(entries: Sequence[AuditEntry]) -> Iterator[bytes]:
    """The CSV export of `entries` (CSV_COLUMNS), as UTF-8 bytes in chunks: what
    `export_csv` writes to a file and the diarium page sends, byte for byte."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff".encode("utf-8") + buf.getvalue().encode("utf-8")
    for start in range(0, len(entries), CSV_BATCH):
        buf.seek(0)
        buf.truncate()
        for e in entries[start:start + CSV_BATCH]:
            writer.writerow([_csv_cell(_csv_value(e, col)) for col in CSV_COLUMNS])
        yield buf.getvalue().encode("utf-8")


def _csv_value(e: AuditEntry, column: str) -> object:
    if column == "seq":
        return e.seq
    if column == "hash":
        return e.hash
    if column in ("time", "zone"):
        moment = local_time(e.body.get("time"))
        if moment is None:
            return e.body.get("time") or ""
        return moment.strftime("%Y-%m-%d %H:%M:%S") if column == "time" else zone_label(moment)
    value = e.body.get(column)
    if column in ("shown", "models", "details"):
        return canonical(value) if value else ""
    return "" if value is None else value


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
