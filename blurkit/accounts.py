"""Accounts, sessions and login throttling for the staff web page (SQLite, `web.sqlite3`).

- Accounts: name, role (`staff` reviews and approves; `registrar` also keeps the consent
  register and reads the diarium; `admin` may do everything), a password hashed with Argon2id
  (argon2-cffi's defaults: memory-hard, salted). Passwords are never stored or logged.
- Sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie; only its SHA-256 is
  stored, so a copy of the database does not hand out sessions. Each session has its own CSRF
  token and ends after `IDLE_MINUTES` without a request.
- Throttling, which an outsider cannot turn against a known account: failures count per
  name AND address together (`PAIR_FREE` free tries) and per address alone (`ADDRESS_FREE`,
  against guessing many names); past them each further attempt waits `FIRST_DELAY` seconds,
  doubling with each failure up to `MAX_DELAY`, counted from the LAST failure. Someone at
  another computer who mistypes a name's password five times delays only themselves: the
  owner of the name, from their own computer, logs in as always.

When no account exists and the page is served on the loopback address only, the person at
the computer is the local user (the same trust as the command line); as soon as one account
exists, every page needs a login.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from blurkit.audit import connect_db, migrate, utc_now
from blurkit.errors import BlurkitError

WEB_DB = "web.sqlite3"
ROLES = ("staff", "registrar", "admin")
IDLE_MINUTES = 30
SEEN_EVERY = 1               # minutes: how often a session's last use is written down
PAIR_FREE = 5                # failed logins of one name from one address before delays
ADDRESS_FREE = 20            # failed logins from one address (any names) before delays
FIRST_DELAY = 30             # seconds: the first delay; it doubles with each further failure
MAX_DELAY = 15 * 60          # seconds
FAILURE_MEMORY = 24 * 60     # minutes a failure is remembered
MIN_PASSWORD = 10
_NAME = re.compile(r"^[\w.@-]{1,64}$")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE account (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            pw_hash TEXT NOT NULL,
            created TEXT NOT NULL,
            changed TEXT NOT NULL)""",
        """CREATE TABLE session (
            token_hash TEXT PRIMARY KEY,
            account TEXT,                  -- NULL: the local user (loopback, no accounts);
                                           -- '': before login
            csrf TEXT NOT NULL,
            created TEXT NOT NULL,
            seen TEXT NOT NULL)""",
        """CREATE TABLE login_failure (
            key TEXT NOT NULL,             -- 'name:NAME' or 'addr:ADDRESS'
            time TEXT NOT NULL)""",
        "CREATE INDEX login_failure_key ON login_failure (key, time)",
    ),
    (   # 2: a video's corrections waited here until approval rendered them (until journal
        # migration 3 kept them with the item; the table stays for old databases)
        """CREATE TABLE pending_decision (
            item_id INTEGER PRIMARY KEY,
            revision INTEGER NOT NULL,      -- the review revision they were made on
            decisions_json TEXT NOT NULL,
            updated TEXT NOT NULL)""",
    ),
)


class AccountError(BlurkitError):
    pass


@dataclass(frozen=True)
class Account:
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


# What each role may do; the web page checks these, never the role names.
PERMISSIONS: dict[str, frozenset[str]] = {
    "staff": frozenset({"review", "upload", "status"}),
    "registrar": frozenset({"review", "upload", "status", "register", "diarium"}),
    "admin": frozenset({"review", "upload", "status", "register", "diarium", "admin"}),
}


@dataclass(frozen=True)
class Session:
    token_hash: str
    account: Account | None     # None: the local user (only where no account exists)
    csrf: str
    pre_login: bool = False     # only carries the login form's CSRF token


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ago(minutes: float) -> str:
    t = datetime.now(UTC) - timedelta(minutes=minutes)
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


class Accounts:
    """The account store of one data directory. One connection; not shared across threads
    (the web app opens one per request through `open`)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / WEB_DB
        self.conn = connect_db(self.path)
        self.conn.row_factory = sqlite3.Row
        migrate(self.conn, MIGRATIONS, self.path)
        self.hasher = PasswordHasher()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # accounts ------------------------------------------------------------------------------

    @staticmethod
    def _check(name: str, role: str | None = None, password: str | None = None) -> None:
        if not _NAME.match(name or ""):
            raise AccountError("accounts.bad_name", name=name)
        if role is not None and role not in ROLES:
            raise AccountError("accounts.bad_role", role=role, roles=", ".join(ROLES))
        if password is not None and len(password) < MIN_PASSWORD:
            raise AccountError("accounts.short_password", n=MIN_PASSWORD)

    def add(self, name: str, role: str, password: str) -> Account:
        self._check(name, role, password)
        now = utc_now()
        try:
            self.conn.execute("INSERT INTO account (name, role, pw_hash, created, changed) "
                              "VALUES (?, ?, ?, ?, ?)",
                              (name, role, self.hasher.hash(password), now, now))
        except sqlite3.IntegrityError:
            raise AccountError("accounts.exists", name=name) from None
        return Account(name, role)

    def set_password(self, name: str, password: str) -> None:
        self._check(name, password=password)
        cur = self.conn.execute("UPDATE account SET pw_hash = ?, changed = ? WHERE name = ?",
                                (self.hasher.hash(password), utc_now(), name))
        if cur.rowcount == 0:
            raise AccountError("accounts.unknown", name=name)
        self.conn.execute("DELETE FROM session WHERE account = ?", (name,))

    def set_role(self, name: str, role: str) -> None:
        self._check(name, role)
        cur = self.conn.execute("UPDATE account SET role = ?, changed = ? WHERE name = ?",
                                (role, utc_now(), name))
        if cur.rowcount == 0:
            raise AccountError("accounts.unknown", name=name)

    def remove(self, name: str) -> None:
        cur = self.conn.execute("DELETE FROM account WHERE name = ?", (name,))
        if cur.rowcount == 0:
            raise AccountError("accounts.unknown", name=name)
        self.conn.execute("DELETE FROM session WHERE account = ?", (name,))

    def list(self) -> list[Account]:
        return [Account(r["name"], r["role"]) for r in
                self.conn.execute("SELECT name, role FROM account ORDER BY name")]

    def any(self) -> bool:
        return self.conn.execute("SELECT 1 FROM account LIMIT 1").fetchone() is not None

    def get(self, name: str) -> Account | None:
        r = self.conn.execute("SELECT name, role FROM account WHERE name = ?", (name,)).fetchone()
        return None if r is None else Account(r["name"], r["role"])

    # login ---------------------------------------------------------------------------------

    @staticmethod
    def _keys(name: str, address: str) -> list[tuple[str, int]]:
        return [(f"pair:{name.lower()}|{address}", PAIR_FREE), (f"addr:{address}", ADDRESS_FREE)]

    def wait_seconds(self, name: str, address: str) -> float:
        """How long a login of `name` from `address` must still wait (0: it may try)."""
        now = datetime.now(UTC)
        wait = 0.0
        for key, free in self._keys(name, address):
            rows = self.conn.execute(
                "SELECT time FROM login_failure WHERE key = ? AND time > ? ORDER BY time",
                (key, _ago(FAILURE_MEMORY))).fetchall()
            if len(rows) < free:
                continue
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (len(rows) - free))
            last = datetime.fromisoformat(rows[-1][0].replace("Z", "+00:00"))
            wait = max(wait, delay - (now - last).total_seconds())
        return max(0.0, wait)

    def throttled(self, name: str, address: str) -> bool:
        return self.wait_seconds(name, address) > 0

    def verify(self, name: str, password: str, address: str) -> Account | None:
        """The account when name and password match (and the attempt need not wait); a
        failure is counted for the name at this address and for the address."""
        if self.throttled(name, address):
            return None
        row = self.conn.execute("SELECT * FROM account WHERE name = ?", (name,)).fetchone()
        ok = False
        if row is not None:
            try:
                ok = self.hasher.verify(row["pw_hash"], password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        else:
            # the same work for an unknown name, so timing does not tell which names exist
            try:
                self.hasher.verify(self._dummy_hash(), password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                pass
        if not ok:
            now = utc_now()
            self.conn.executemany("INSERT INTO login_failure (key, time) VALUES (?, ?)",
                                  [(key, now) for key, _ in self._keys(name, address)])
            self.conn.execute("DELETE FROM login_failure WHERE time < ?",
                              (_ago(FAILURE_MEMORY),))
            return None
        self.conn.execute("DELETE FROM login_failure WHERE key = ?",
                          (self._keys(name, address)[0][0],))
        if self.hasher.check_needs_rehash(row["pw_hash"]):
            self.conn.execute("UPDATE account SET pw_hash = ? WHERE name = ?",
                              (self.hasher.hash(password), name))
        return Account(row["name"], row["role"])

    _dummy: str | None = None

    def _dummy_hash(self) -> str:
        if Accounts._dummy is None:
            Accounts._dummy = self.hasher.hash(secrets.token_hex(16))
        return Accounts._dummy

    # sessions ------------------------------------------------------------------------------

    def new_session(self, account: Account | None) -> tuple[str, Session]:
        """A new session (token for the cookie, and the session). Old idle sessions go.
        `account` None: the local user (loopback, no accounts)."""
        return self._new(account.name if account else None, account)

    def new_anonymous(self) -> tuple[str, Session]:
        """A session before login: it only carries the login form's CSRF token."""
        return self._new("", None)

    def _new(self, stored: str | None, account: Account | None) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        th, csrf, now = _hash_token(token), secrets.token_urlsafe(32), utc_now()
        self.conn.execute("DELETE FROM session WHERE seen < ?", (_ago(IDLE_MINUTES),))
        self.conn.execute("INSERT INTO session (token_hash, account, csrf, created, seen) "
                          "VALUES (?, ?, ?, ?, ?)", (th, stored, csrf, now, now))
        return token, Session(th, account, csrf, pre_login=stored == "")

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token (its idle clock restarts), else None."""
        if not token or len(token) > 200:
            return None
        th = _hash_token(token)
        row = self.conn.execute("SELECT * FROM session WHERE token_hash = ?", (th,)).fetchone()
        if row is None:
            return None
        if row["seen"] < _ago(IDLE_MINUTES):
            self.conn.execute("DELETE FROM session WHERE token_hash = ?", (th,))
            return None
        account = None
        if row["account"] == "":
            return Session(th, None, row["csrf"], pre_login=True)
        if row["account"] is not None:
            account = self.get(row["account"])
            if account is None:          # removed meanwhile
                self.conn.execute("DELETE FROM session WHERE token_hash = ?", (th,))
                return None
        if row["seen"] < _ago(SEEN_EVERY):   # the idle clock needs minutes, not every request
            self.conn.execute("UPDATE session SET seen = ? WHERE token_hash = ?", (utc_now(), th))
        return Session(th, account, row["csrf"])

    def end_session(self, token_hash: str) -> None:
        self.conn.execute("DELETE FROM session WHERE token_hash = ?", (token_hash,))
