"""The consent registry: people, their consent records and their encrypted face templates.

One SQLite file, `<data_dir>/registry.sqlite3`, created on first use and brought up to date
by numbered migrations (`PRAGMA user_version`). Connections run with foreign keys on, a WAL
journal and `secure_delete = ON`; after an erasure the WAL is checkpointed and truncated, so
neither the database nor its -wal file keeps the erased bytes.

Face templates and (only with --keep-photos) reference photos are encrypted with
AES-256-GCM (see `crypto`). They are decrypted only in memory, by `templates()`,
`snapshot()` and `photos()`; nothing here logs or prints them.

Person and consent record ids are never reused (AUTOINCREMENT), because the audit log refers
to them after a person is removed. Consent records are kept as entered (they document a
signed form); the only change they get is a withdrawal date. A correction is a withdrawal
plus a new record. Every change appends an entry to the audit log, with ids only.
"""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from blurkit import choices
from blurkit.audit import AuditLog, checkpoint, connect_db, migrate, utc_now
from blurkit.config import Settings
from blurkit.consent import crypto
from blurkit.consent.rules import (
    Consent,
    ConsentError,
    Decision,
    Person,
    check_birth_year,
    check_name,
    check_new_consent,
    consent_for,
)

REGISTRY_DB = "registry.sqlite3"
MIN_TEMPLATE_DIM, MAX_TEMPLATE_DIM = 8, 8192

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: people, consent records, encrypted templates and photos, key check
        """CREATE TABLE person (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL CHECK (length(trim(name)) > 0),
            birth_year INTEGER,
            staff INTEGER NOT NULL DEFAULT 0 CHECK (staff IN (0, 1)),
            protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1)),
            deceased INTEGER NOT NULL DEFAULT 0 CHECK (deceased IN (0, 1)),
            deceased_may_appear INTEGER NOT NULL DEFAULT 0
                CHECK (deceased_may_appear IN (0, 1)),
            created TEXT NOT NULL,
            updated TEXT NOT NULL)""",
        """CREATE TABLE consent (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            purpose TEXT NOT NULL CHECK (purpose IN ('public', 'internal')),
            kind TEXT NOT NULL CHECK (kind IN ('written', 'oral')),
            form_ref TEXT,
            recorded_by TEXT,
            signed TEXT NOT NULL,
            expires TEXT,
            guardian_consent INTEGER CHECK (guardian_consent IN (0, 1)),
            withdrawn TEXT,
            operator TEXT NOT NULL,
            created TEXT NOT NULL)""",
        "CREATE INDEX consent_person ON consent (person_id)",
        """CREATE TABLE template (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            nonce BLOB NOT NULL,
            ciphertext BLOB NOT NULL,
            created TEXT NOT NULL)""",
        "CREATE INDEX template_person ON template (person_id)",
        "CREATE INDEX template_model ON template (model)",
        """CREATE TABLE photo (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            suffix TEXT NOT NULL,
            nonce BLOB NOT NULL,
            ciphertext BLOB NOT NULL,
            created TEXT NOT NULL)""",
        "CREATE INDEX photo_person ON photo (person_id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    ),
    (  # 2: purposes are named in blurkit.choices, not in the schema (migration 1 listed them
       # in a CHECK that SQLite cannot alter, so adding a purpose needed a new database):
       # the consent table is rebuilt without that CHECK; the code checks the name
        """CREATE TABLE consent_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            purpose TEXT NOT NULL CHECK (length(purpose) > 0),
            kind TEXT NOT NULL CHECK (kind IN ('written', 'oral')),
            form_ref TEXT,
            recorded_by TEXT,
            signed TEXT NOT NULL,
            expires TEXT,
            guardian_consent INTEGER CHECK (guardian_consent IN (0, 1)),
            withdrawn TEXT,
            operator TEXT NOT NULL,
            created TEXT NOT NULL)""",
        "INSERT INTO consent_v2 SELECT * FROM consent",
        "DROP TABLE consent",
        "ALTER TABLE consent_v2 RENAME TO consent",
        "CREATE INDEX consent_person ON consent (person_id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_PERSON_FIELDS = ("name", "birth_year", "staff", "protected", "deceased", "deceased_may_appear")


@dataclass(frozen=True)
class Template:
    """A decrypted face template (in memory only)."""
    id: int
    person_id: int
    model: str
    vector: np.ndarray = field(repr=False, compare=False)
    created: str = field(default="", compare=False)   # UTC ISO time it was stored


@dataclass(frozen=True)
class Snapshot:
    """An immutable, picklable view of the registry on `today` for the pipeline and its
    worker processes: every person, every consent record, every decrypted template (all
    identities, consented or not, so that matching can demand a margin to the next one)."""

    today: date
    persons: tuple[Person, ...]
    consents: tuple[Consent, ...]
    templates: tuple[Template, ...] = field(repr=False)

    def person(self, person_id: int) -> Person | None:
        return next((p for p in self.persons if p.id == person_id), None)

    def registered(self, person_id: int) -> str | None:
        """The day the person's newest face template was stored (YYYY-MM-DD), or None."""
        days = [t.created[:10] for t in self.templates
                if t.person_id == person_id and t.created]
        return max(days) if days else None

    def for_model(self, model: str) -> list[tuple[int, np.ndarray]]:
        """(person_id, vector) of every template made with `model`."""
        return [(t.person_id, t.vector) for t in self.templates if t.model == model]

    def decide(self, person_id: int, purpose: str) -> Decision:
        """May this person be shown in an output for `purpose` today?"""
        person = self.person(person_id)
        if person is None:
            return Decision(False, None, "consent.reason.unknown_person",
                            {"person_id": person_id})
        return consent_for(person, self.consents, purpose, self.today)


@dataclass(frozen=True)
class Withdrawal:
    person_id: int
    date: date
    consent_ids: tuple[int, ...]      # records withdrawn now
    templates_erased: int
    photos_erased: int
    still_active: tuple[str, ...]     # purposes with a record not withdrawn
    storage_cleared: bool             # WAL checkpointed and truncated


@dataclass(frozen=True)
class Erasure:
    person_id: int
    consents_erased: int
    templates_erased: int
    photos_erased: int
    storage_cleared: bool


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _b(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _person(row: sqlite3.Row) -> Person:
    return Person(id=row["id"], name=row["name"], birth_year=row["birth_year"],
                  staff=bool(row["staff"]), protected=bool(row["protected"]),
                  deceased=bool(row["deceased"]),
                  deceased_may_appear=bool(row["deceased_may_appear"]),
                  created=row["created"], updated=row["updated"])


def _consent(row: sqlite3.Row) -> Consent:
    return Consent(id=row["id"], person_id=row["person_id"], purpose=row["purpose"],
                   kind=row["kind"], signed=date.fromisoformat(row["signed"]),
                   form_ref=row["form_ref"], recorded_by=row["recorded_by"],
                   expires=_d(row["expires"]), guardian_consent=_b(row["guardian_consent"]),
                   withdrawn=_d(row["withdrawn"]), operator=row["operator"],
                   created=row["created"])


def _as_vector(v: object) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1 or not MIN_TEMPLATE_DIM <= a.size <= MAX_TEMPLATE_DIM:
        raise ValueError(f"a face template is a 1-D vector of {MIN_TEMPLATE_DIM}-"
                         f"{MAX_TEMPLATE_DIM} numbers, not shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("a face template must hold finite numbers")
    return np.ascontiguousarray(a, dtype="<f4")


class Registry:
    """Open with `Registry.open(settings)` (or as a context manager); one per process."""

    def __init__(self, settings: Settings, conn: sqlite3.Connection) -> None:
        self.settings = settings
        self.path = Path(settings.data_dir) / REGISTRY_DB
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self._cipher: crypto.Cipher | None = None
        self._depth = 0
        self._pending_audit: list[dict] = []
        self._audit: AuditLog | None = None

    @classmethod
    def open(cls, settings: Settings) -> Registry:
        path = Path(settings.data_dir) / REGISTRY_DB
        conn = connect_db(path)
        try:
            migrate(conn, MIGRATIONS, path)
        except BaseException:
            conn.close()
            raise
        return cls(settings, conn)

    def close(self) -> None:
        self._conn.close()
        if self._audit is not None:
            self._audit.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def audit(self) -> AuditLog:
        if self._audit is None:
            self._audit = AuditLog.open(self.settings)
        return self._audit

    # transactions and audit ----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Registry]:
        """Group several changes into one all-or-nothing step (nesting joins the outer one).
        Their audit entries are written once the registry change is committed."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
            self._depth = 0
            pending, self._pending_audit = self._pending_audit, []
            self._conn.execute("COMMIT")
        except BaseException:
            self._depth = 0
            self._pending_audit.clear()
            self._cipher = None  # a key check written in this transaction is gone again
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        for entry in pending:
            self.audit.append(entry)

    def _note(self, kind: str, person_id: int, **details: object) -> None:
        self._pending_audit.append({"kind": kind, "person_id": person_id,
                                    "operator": self.settings.operator, "details": details})

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()

    # key -----------------------------------------------------------------------------------

    def _has_encrypted_data(self) -> bool:
        return bool(self._read("SELECT EXISTS (SELECT 1 FROM template) "
                               "OR EXISTS (SELECT 1 FROM photo)")[0][0])

    def _get_cipher(self, *, writing: bool) -> crypto.Cipher | None:
        """The cipher, checked against the registry's key check. When writing (inside a
        transaction) a first key is created if the registry never had one."""
        if self._cipher is not None:
            return self._cipher
        row = self._read("SELECT value FROM meta WHERE key = 'key_check'")
        established = bool(row) or self._has_encrypted_data()
        loaded = crypto.load_key(self.settings.data_dir, may_create=writing and not established)
        if loaded is None:
            if not established:
                return None
            raise crypto.missing_key_error(self.settings.data_dir)
        cipher = crypto.Cipher(*loaded)
        if row:
            blob = bytes(row[0][0])
            if not cipher.matches(blob[:crypto.NONCE_BYTES], blob[crypto.NONCE_BYTES:]):
                raise crypto.wrong_key_error(cipher.source)
        elif writing:
            nonce, ct = cipher.key_check()
            self._conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)",
                               (nonce + ct,))
        if row or writing:  # keep it only once the registry's key check is in place
            self._cipher = cipher
        return cipher

    def check_key(self) -> None:
        """Raise RegistryKeyError now if encrypted data exists and the key is missing/wrong."""
        self._get_cipher(writing=False)

    # people --------------------------------------------------------------------------------

    def persons(self) -> list[Person]:
        return [_person(r) for r in self._read("SELECT * FROM person ORDER BY id")]

    def person(self, person_id: int) -> Person:
        rows = self._read("SELECT * FROM person WHERE id = ?", (int(person_id),))
        if not rows:
            raise ConsentError("consent.err.not_found", person_id=person_id)
        return _person(rows[0])

    def find_by_name(self, name: str) -> list[Person]:
        return [_person(r) for r in self._read(
            "SELECT * FROM person WHERE lower(name) = lower(?) ORDER BY id", (name.strip(),))]

    def add_person(self, name: str, *, birth_year: int | None = None, staff: bool = False,
                   protected: bool = False, deceased: bool = False,
                   deceased_may_appear: bool = False, today: date | None = None) -> Person:
        today = today or date.today()
        name = check_name(name)
        birth_year = check_birth_year(birth_year, today)
        now = utc_now()
        with self.transaction():
            cur = self._conn.execute(
                "INSERT INTO person (name, birth_year, staff, protected, deceased, "
                "deceased_may_appear, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, birth_year, int(staff), int(protected), int(deceased),
                 int(deceased_may_appear), now, now))
            person_id = cur.lastrowid
            self._note("consent-change", person_id, action="person-added")
        return self.person(person_id)

    def edit_person(self, person_id: int, *, today: date | None = None,
                    **changes: object) -> Person:
        """Change any of name, birth_year (None clears it), staff, protected, deceased,
        deceased_may_appear. Only the names of changed fields go to the audit log."""
        today = today or date.today()
        for key in changes:
            if key not in _PERSON_FIELDS:
                raise ConsentError("consent.err.unknown_field", field=key)
        with self.transaction():
            before = self.person(person_id)
            values = {k: getattr(before, k) for k in _PERSON_FIELDS}
            values.update(changes)
            values["name"] = check_name(str(values["name"]))
            values["birth_year"] = check_birth_year(values["birth_year"], today)
            for flag in _PERSON_FIELDS[2:]:
                values[flag] = bool(values[flag])
            changed = sorted(k for k in _PERSON_FIELDS if values[k] != getattr(before, k))
            if changed:
                self._conn.execute(
                    "UPDATE person SET name = ?, birth_year = ?, staff = ?, protected = ?, "
                    "deceased = ?, deceased_may_appear = ?, updated = ? WHERE id = ?",
                    (values["name"], values["birth_year"], int(values["staff"]),
                     int(values["protected"]), int(values["deceased"]),
                     int(values["deceased_may_appear"]), utc_now(), before.id))
                self._note("consent-change", before.id, action="person-edited", fields=changed)
        return self.person(person_id)

    # consent records -----------------------------------------------------------------------

    def consents(self, person_id: int | None = None) -> list[Consent]:
        if person_id is None:
            rows = self._read("SELECT * FROM consent ORDER BY id")
        else:
            rows = self._read("SELECT * FROM consent WHERE person_id = ? ORDER BY id",
                              (int(person_id),))
        return [_consent(r) for r in rows]

    def add_consent(self, person_id: int, *, purpose: str, signed: date, kind: str = "written",
                    form_ref: str | None = None, recorded_by: str | None = None,
                    expires: date | None = None, guardian_consent: bool | None = None,
                    today: date | None = None) -> Consent:
        """Record a consent (rules.check_new_consent decides what is accepted; its warnings
        are for the caller to show, who can get them by calling it first)."""
        today = today or date.today()
        form_ref = (form_ref or "").strip() or None
        recorded_by = (recorded_by or "").strip() or None
        with self.transaction():
            person = self.person(person_id)
            check_new_consent(person, purpose=purpose, kind=kind, signed=signed,
                              form_ref=form_ref, recorded_by=recorded_by, expires=expires,
                              guardian_consent=guardian_consent, today=today)
            cur = self._conn.execute(
                "INSERT INTO consent (person_id, purpose, kind, form_ref, recorded_by, signed, "
                "expires, guardian_consent, withdrawn, operator, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (person.id, purpose, kind, form_ref, recorded_by, signed.isoformat(),
                 expires.isoformat() if expires else None,
                 None if guardian_consent is None else int(guardian_consent),
                 self.settings.operator, utc_now()))
            consent_id = cur.lastrowid
            self._note("consent-change", person.id, action="consent-added",
                       consent_id=consent_id, purpose=purpose, type=kind,
                       signed=signed.isoformat(),
                       expires=expires.isoformat() if expires else None)
        return _consent(self._read("SELECT * FROM consent WHERE id = ?", (consent_id,))[0])

    def decide(self, person_id: int, purpose: str, today: date | None = None) -> Decision:
        person = self.person(person_id)
        return consent_for(person, self.consents(person_id), purpose, today or date.today())

    # templates and photos ------------------------------------------------------------------

    def add_templates(self, person_id: int, vectors: Iterable[object], model: str, *,
                      confirmed_same_person_by: str | None = None) -> list[int]:
        """Store face templates (float32 vectors of one embedding model), encrypted.

        confirmed_same_person_by: the registrar who confirmed that the reference photos show
        this one person although the matcher found them too unlike (blurkit.identify.enrol);
        recorded in the audit entry of the change."""
        vectors = [_as_vector(v) for v in vectors]
        model = str(model).strip()
        if not model:
            raise ValueError("the embedding model must be named")
        confirmer = " ".join(str(confirmed_same_person_by or "").split()) or None
        ids = []
        with self.transaction():
            person = self.person(person_id)
            cipher = self._get_cipher(writing=True)
            assert cipher is not None
            for v in vectors:
                cur = self._conn.execute(
                    "INSERT INTO template (person_id, model, dim, nonce, ciphertext, created) "
                    "VALUES (?, ?, ?, x'', x'', ?)", (person.id, model, v.size, utc_now()))
                tid = cur.lastrowid
                nonce, ct = cipher.encrypt(v.tobytes(), crypto.template_aad(person.id, tid, model))
                self._conn.execute("UPDATE template SET nonce = ?, ciphertext = ? WHERE id = ?",
                                   (nonce, ct, tid))
                ids.append(tid)
            if ids:
                extra = {"confirmed_same_person_by": confirmer} if confirmer else {}
                self._note("consent-change", person.id, action="templates-added",
                           count=len(ids), model=model, **extra)
        return ids

    def add_photo(self, person_id: int, data: bytes, suffix: str) -> int:
        """Keep a reference photo (only when the user asked), encrypted."""
        suffix = str(suffix).lower()[:16]
        with self.transaction():
            person = self.person(person_id)
            cipher = self._get_cipher(writing=True)
            assert cipher is not None
            cur = self._conn.execute(
                "INSERT INTO photo (person_id, suffix, nonce, ciphertext, created) "
                "VALUES (?, ?, x'', x'', ?)", (person.id, suffix, utc_now()))
            photo_id = cur.lastrowid
            nonce, ct = cipher.encrypt(bytes(data), crypto.photo_aad(person.id, photo_id))
            self._conn.execute("UPDATE photo SET nonce = ?, ciphertext = ? WHERE id = ?",
                               (nonce, ct, photo_id))
            self._note("consent-change", person.id, action="photo-kept", photo_id=photo_id)
        return photo_id

    def _decrypt_templates(self, rows: list[sqlite3.Row]) -> list[Template]:
        if not rows:
            return []
        cipher = self._get_cipher(writing=False)
        assert cipher is not None  # encrypted rows exist, so it raised if the key is missing
        out = []
        for r in rows:
            raw = cipher.decrypt(bytes(r["nonce"]), bytes(r["ciphertext"]),
                                 crypto.template_aad(r["person_id"], r["id"], r["model"]),
                                 what="template", item_id=r["id"])
            v = np.frombuffer(raw, dtype="<f4").astype(np.float32)
            if v.size != r["dim"]:
                raise crypto.RegistryKeyError("consent.key.decrypt_failed.template",
                                              item_id=r["id"])
            v.setflags(write=False)
            out.append(Template(r["id"], r["person_id"], r["model"], v, r["created"]))
        return out

    def templates(self, model: str | None = None) -> list[tuple[int, np.ndarray]]:
        """(person_id, vector) of every template (of `model`, if given), decrypted in memory."""
        return [(t.person_id, t.vector) for t in self._templates(model)]

    def _templates(self, model: str | None) -> list[Template]:
        if model is None:
            rows = self._read("SELECT * FROM template ORDER BY id")
        else:
            rows = self._read("SELECT * FROM template WHERE model = ? ORDER BY id", (model,))
        return self._decrypt_templates(rows)

    def template_counts(self, person_id: int | None = None) -> dict[str, int]:
        """Number of templates per embedding model (of one person, or of everyone)."""
        sql = "SELECT model, COUNT(*) FROM template"
        params: tuple = ()
        if person_id is not None:
            sql += " WHERE person_id = ?"
            params = (int(person_id),)
        return {m: n for m, n in self._read(sql + " GROUP BY model ORDER BY model", params)}

    def template_records(self, person_id: int) -> list[tuple[int, str, int, str]]:
        """(template id, model, dimension, created UTC) of the person's templates: what a
        page may show about them. Never the vectors (not even encrypted)."""
        return [(r["id"], r["model"], r["dim"], r["created"]) for r in self._read(
            "SELECT id, model, dim, created FROM template WHERE person_id = ? ORDER BY id",
            (int(person_id),))]

    def photo_records(self, person_id: int) -> list[tuple[int, str, str]]:
        """(photo id, suffix, created UTC) of the person's kept reference photos."""
        return [(r["id"], r["suffix"], r["created"]) for r in self._read(
            "SELECT id, suffix, created FROM photo WHERE person_id = ? ORDER BY id",
            (int(person_id),))]

    def photo_count(self, person_id: int) -> int:
        return self._read("SELECT COUNT(*) FROM photo WHERE person_id = ?",
                          (int(person_id),))[0][0]

    def photos(self, person_id: int) -> list[tuple[int, str, bytes]]:
        """(photo_id, suffix, decrypted bytes) of the kept reference photos."""
        rows = self._read("SELECT * FROM photo WHERE person_id = ? ORDER BY id", (int(person_id),))
        if not rows:
            return []
        cipher = self._get_cipher(writing=False)
        assert cipher is not None  # encrypted rows exist, so it raised if the key is missing
        return [(r["id"], r["suffix"],
                 cipher.decrypt(bytes(r["nonce"]), bytes(r["ciphertext"]),
                                crypto.photo_aad(r["person_id"], r["id"]),
                                what="photo", item_id=r["id"]))
                for r in rows]

    # withdrawal and erasure ----------------------------------------------------------------

    def _clear_storage(self) -> bool:
        """Push deletions out of the WAL so the erased bytes are overwritten everywhere."""
        return checkpoint(self._conn)

    def withdraw(self, person_id: int, purpose: str | None = None,
                 date: datetime.date | None = None,
                 today: datetime.date | None = None) -> Withdrawal:
        """Withdraw the person's consent for `purpose` (None: every purpose) as of `date`
        (default today; a date in the future is refused) and erase ALL of the person's face
        templates and kept photos: from now on they are not recognised, hence hidden in every
        new output, until new reference photos are enrolled."""
        today = today or datetime.date.today()
        when = date or today
        if when > today:
            raise ConsentError("consent.err.withdraw_future", date=when, today=today)
        if purpose is not None and purpose not in choices.PURPOSES:
            raise ConsentError("consent.err.bad_purpose", purpose=purpose,
                               choices=", ".join(choices.PURPOSES))
        with self.transaction():
            person = self.person(person_id)
            sql, params = "person_id = ? AND withdrawn IS NULL", [person.id]
            if purpose is not None:
                sql += " AND purpose = ?"
                params.append(purpose)
            ids = tuple(r[0] for r in self._read(f"SELECT id FROM consent WHERE {sql} "
                                                 "ORDER BY id", params))
            self._conn.execute(f"UPDATE consent SET withdrawn = ? WHERE {sql}",
                               [when.isoformat(), *params])
            n_templates = self._conn.execute("DELETE FROM template WHERE person_id = ?",
                                             (person.id,)).rowcount
            n_photos = self._conn.execute("DELETE FROM photo WHERE person_id = ?",
                                          (person.id,)).rowcount
            active = tuple(sorted({r[0] for r in self._read(
                "SELECT purpose FROM consent WHERE person_id = ? AND withdrawn IS NULL",
                (person.id,))}))
            self._note("consent-change", person.id, action="withdrawn",
                       purpose=purpose, date=when.isoformat(), consent_ids=list(ids),
                       templates_erased=n_templates, photos_erased=n_photos)
        return Withdrawal(person.id, when, ids, n_templates, n_photos, active,
                          self._clear_storage())

    def remove(self, person_id: int) -> Erasure:
        """Erase the person and everything about them from the registry. The audit log keeps
        that it happened (ids and counts, no name, nothing biometric)."""
        with self.transaction():
            person = self.person(person_id)
            counts = [self._read(f"SELECT COUNT(*) FROM {table} WHERE person_id = ?",
                                 (person.id,))[0][0]
                      for table in ("consent", "template", "photo")]
            self._conn.execute("DELETE FROM person WHERE id = ?", (person.id,))
            self._note("erasure", person.id, action="person-removed",
                       consents_erased=counts[0], templates_erased=counts[1],
                       photos_erased=counts[2])
        return Erasure(person.id, *counts, storage_cleared=self._clear_storage())

    # the pipeline's view -------------------------------------------------------------------

    def snapshot(self, today: date | None = None, model: str | None = None) -> Snapshot:
        """Everything the pipeline needs, read consistently and decrypted, as plain data.
        `model` limits the templates to one embedding model."""
        today = today or date.today()
        self._conn.execute("BEGIN")
        try:
            persons = tuple(self.persons())
            consents = tuple(self.consents())
            templates = tuple(self._templates(model))
        finally:
            self._conn.execute("COMMIT")
        return Snapshot(today, persons, consents, templates)


def registry_key(data_dir: Path) -> tuple:
    """Changes whenever the registry's files change (a committed change touches the WAL
    file) or the date changes (consent validity depends on the day): long-running readers
    (the watcher, the web page) read the registry again when it changes."""
    db = Path(data_dir) / REGISTRY_DB
    key: list[object] = [date.today().isoformat()]
    for p in (db, Path(str(db) + "-wal")):
        try:
            st = p.stat()
            key.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            key.append(None)
    return tuple(key)


def load_snapshot(settings) -> Snapshot | None:
    """The registry as of today, as `blurkit process` reads it; None when there is none."""
    if not (Path(settings.data_dir) / REGISTRY_DB).exists():
        return None
    with Registry.open(settings) as reg:
        return reg.snapshot()
