"""The consent registry: schema migrations, encryption at rest, key handling, withdrawal and
erasure (nothing left on disk), snapshots for the pipeline."""

import base64
import os
import pickle
import sqlite3
from datetime import date, timedelta

import numpy as np
import pytest

from blurkit.audit import AuditLog, StoreError
from blurkit.config import load_settings
from blurkit.consent import registry as registry_mod
from blurkit.consent.crypto import KEY_ENV, RegistryKeyError
from blurkit.consent.registry import REGISTRY_DB, SCHEMA_VERSION, Registry
from blurkit.consent.rules import ConsentError

TODAY = date.today()
SIGNED = TODAY - timedelta(days=30)
MODEL = "test-model"


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture()
def settings(data_dir):
    return load_settings(data_dir).replace(operator="kim")


@pytest.fixture()
def reg(settings):
    with Registry.open(settings) as r:
        yield r


def vectors(n: int, seed: int, dim: int = 128) -> list[np.ndarray]:
    """Distinctive synthetic face templates (no real model needed for the registry)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=dim).astype(np.float32) for _ in range(n)]


def enrol(reg, name="Anna", purposes=("public",), n=3, seed=1, **person):
    person.setdefault("birth_year", 1980)
    p = reg.add_person(name, **person)
    cs = [reg.add_consent(p.id, purpose=pu, signed=SIGNED, form_ref="F-1") for pu in purposes]
    vs = vectors(n, seed)
    reg.add_templates(p.id, vs, MODEL)
    return p, cs, vs


def db_files(data_dir, name=REGISTRY_DB):
    return [data_dir / (name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def disk_bytes(data_dir, name=REGISTRY_DB) -> bytes:
    return b"".join(p.read_bytes() for p in db_files(data_dir, name) if p.exists())


# --- schema -------------------------------------------------------------------------------

def test_first_open_creates_the_current_schema_with_safe_pragmas(reg, data_dir):
    conn = reg._conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"person", "consent", "template", "photo", "meta"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert (data_dir / REGISTRY_DB).stat().st_mode & 0o077 == 0


def test_migration_upgrades_an_existing_registry_and_keeps_its_data(settings, monkeypatch):
    with Registry.open(settings) as r:
        p, cs, vs = enrol(r)
    extra = (("ALTER TABLE person ADD COLUMN note TEXT",
              "UPDATE person SET note = 'migrated'"),)
    monkeypatch.setattr(registry_mod, "MIGRATIONS", registry_mod.MIGRATIONS + extra)
    with Registry.open(settings) as r:
        conn = r._conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert conn.execute("SELECT note FROM person").fetchone()[0] == "migrated"
        assert r.person(p.id).name == "Anna"
        assert np.array_equal(r.templates(MODEL)[0][1], vs[0])
    with Registry.open(settings) as r:  # opening again applies nothing twice
        assert r._conn.execute("SELECT COUNT(*) FROM person").fetchone()[0] == 1


def test_a_failing_migration_leaves_the_old_schema(settings, monkeypatch):
    Registry.open(settings).close()
    bad = (("ALTER TABLE person ADD COLUMN note TEXT", "THIS IS NOT SQL"),)
    monkeypatch.setattr(registry_mod, "MIGRATIONS", registry_mod.MIGRATIONS + bad)
    with pytest.raises(sqlite3.OperationalError):
        Registry.open(settings)
    conn = sqlite3.connect(settings.data_dir / REGISTRY_DB)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "note" not in [r[1] for r in conn.execute("PRAGMA table_info(person)")]


def test_a_registry_from_a_newer_blurkit_is_refused(settings):
    Registry.open(settings).close()
    conn = sqlite3.connect(settings.data_dir / REGISTRY_DB)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError) as err:
        Registry.open(settings)
    assert err.value.key == "store.too_new"
    assert "blurkit" in err.value.message("sv")


# --- people, records, templates -------------------------------------------------------------

def test_add_and_read_back(reg):
    p, (c,), vs = enrol(reg, birth_year=1990, staff=True)
    assert reg.person(p.id).birth_year == 1990 and reg.person(p.id).staff
    assert reg.consents(p.id) == [c]
    assert (c.purpose, c.kind, c.signed, c.form_ref, c.operator) == \
        ("public", "written", SIGNED, "F-1", "kim")
    got = reg.templates(MODEL)
    assert [pid for pid, _ in got] == [p.id] * 3
    for (_, v), expected in zip(got, vs):
        assert v.dtype == np.float32 and np.array_equal(v, expected)
        assert not v.flags.writeable
    assert reg.templates("other-model") == []
    assert reg.template_counts() == {MODEL: 3}
    assert reg.decide(p.id, "public").valid
    assert not reg.decide(p.id, "internal").valid


def test_entry_rules_are_enforced_by_the_registry(reg):
    teen = reg.add_person("Teen", birth_year=TODAY.year - 15)
    with pytest.raises(ConsentError) as err:
        reg.add_consent(teen.id, purpose="public", signed=SIGNED, form_ref="F")
    assert err.value.key == "consent.err.guardian_unstated"
    assert reg.consents(teen.id) == []
    with pytest.raises(ConsentError) as err:
        reg.add_consent(teen.id, purpose="public", signed=SIGNED, kind="oral", recorded_by="Kim",
                        guardian_consent=True)
    assert err.value.key == "consent.err.oral_staff_only"
    with pytest.raises(ConsentError) as err:
        reg.add_person("Future", birth_year=TODAY.year + 1)
    assert err.value.key == "consent.err.bad_birth_year"
    with pytest.raises(ConsentError) as err:
        reg.person(999)
    assert err.value.key == "consent.err.not_found"
    with pytest.raises(ValueError):
        reg.add_templates(teen.id, [np.zeros((3, 3), np.float32)], MODEL)
    with pytest.raises(ValueError):
        reg.add_templates(teen.id, [np.full(128, np.nan, np.float32)], MODEL)


def test_a_failed_transaction_writes_nothing_and_logs_nothing(reg, settings):
    with pytest.raises(ConsentError):
        with reg.transaction():
            p = reg.add_person("Half")
            reg.add_templates(p.id, vectors(1, 5), MODEL)
            reg.add_consent(p.id, purpose="public", signed=SIGNED)  # no form ref: refused
    assert reg.persons() == [] and reg.template_counts() == {}
    assert AuditLog.open(settings).entries() == []


def test_edit_person_and_protected_identity(reg):
    p, _, _ = enrol(reg)
    assert reg.decide(p.id, "public").valid
    after = reg.edit_person(p.id, protected=True, name="A. S.")
    assert after.protected and after.name == "A. S."
    d = reg.decide(p.id, "public")
    assert not d.valid and d.reason_key == "consent.reason.protected"
    assert reg.edit_person(p.id, birth_year=None).birth_year is None
    with pytest.raises(ConsentError):
        reg.edit_person(p.id, consent="yes")


def test_deceased_person(reg):
    p, _, _ = enrol(reg)
    reg.edit_person(p.id, deceased=True)
    assert reg.decide(p.id, "public").reason_key == "consent.reason.deceased"
    reg.edit_person(p.id, deceased_may_appear=True)
    assert reg.decide(p.id, "public").valid


def test_ids_are_never_reused_after_removal(reg):
    a, (ca,), _ = enrol(reg, "A")
    reg.remove(a.id)
    b, (cb,), _ = enrol(reg, "B")
    assert b.id > a.id and cb.id > ca.id


def test_snapshot_is_plain_picklable_data(reg):
    a, (ca,), va = enrol(reg, "A", seed=1)
    b, _, _ = enrol(reg, "B", seed=2, protected=True)
    snap = reg.snapshot(TODAY)
    snap2 = pickle.loads(pickle.dumps(snap))
    for s in (snap, snap2):
        assert s.today == TODAY
        assert [p.name for p in s.persons] == ["A", "B"]
        assert s.decide(a.id, "public").consent_id == ca.id
        assert s.decide(b.id, "public").reason_key == "consent.reason.protected"
        assert s.decide(999, "public").reason_key == "consent.reason.unknown_person"
        pairs = s.for_model(MODEL)
        assert len(pairs) == 6 and {pid for pid, _ in pairs} == {a.id, b.id}
        assert np.array_equal(pairs[0][1], va[0])
    # an expiry judged on the snapshot's own date
    later = reg.snapshot(TODAY + timedelta(days=10000))
    assert later.decide(a.id, "public").valid  # no expiry date
    assert "vector" not in repr(snap) and str(va[0][0])[:6] not in repr(snap)


# --- encryption at rest and erasure ---------------------------------------------------------

def _slices(v: np.ndarray) -> list[bytes]:
    raw = v.astype("<f4").tobytes()
    return [raw] + [raw[i:i + 16] for i in range(0, len(raw) - 16, 96)]


def _ciphertexts(data_dir) -> list[bytes]:
    conn = sqlite3.connect(data_dir / REGISTRY_DB)
    try:
        return [bytes(r[0]) for r in conn.execute("SELECT ciphertext FROM template")] + \
               [bytes(r[0]) for r in conn.execute("SELECT ciphertext FROM photo")]
    finally:
        conn.close()


def test_templates_are_never_on_disk_in_plaintext_and_are_gone_after_withdrawal(reg, data_dir):
    p, _, vs = enrol(reg, n=4, seed=42)
    other, _, keep = enrol(reg, "Other", n=2, seed=43)
    disk = disk_bytes(data_dir)
    assert (data_dir / (REGISTRY_DB + "-wal")).exists()  # the WAL is scanned too
    for v in vs + keep:
        for chunk in _slices(v):
            assert chunk not in disk
    cts = _ciphertexts(data_dir)
    assert len(cts) == 6 and all(len(c) == 128 * 4 + 16 for c in cts)
    mine = cts[:4]
    assert all(c in disk for c in mine)  # the scan can see stored blobs at all

    w = reg.withdraw(p.id)
    assert w.templates_erased == 4 and w.storage_cleared
    disk = disk_bytes(data_dir)
    for c in mine:
        assert c not in disk and c[:16] not in disk and c[-16:] not in disk
    for v in vs:
        for chunk in _slices(v):
            assert chunk not in disk
    assert [pid for pid, _ in reg.templates(MODEL)] == [other.id] * 2
    wal = data_dir / (REGISTRY_DB + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_remove_erases_name_templates_and_kept_photos_everywhere(reg, data_dir, settings):
    name = "Zebulon Quintavalle"
    p, _, vs = enrol(reg, name, n=2, seed=7)
    photo = b"\xff\xd8JPEG-" + os.urandom(3000)
    reg.add_photo(p.id, photo, ".JPG")
    assert reg.photos(p.id) == [(1, ".jpg", photo)]
    disk = disk_bytes(data_dir)
    assert photo[6:40] not in disk and name.encode() in disk
    cts = _ciphertexts(data_dir)
    e = reg.remove(p.id)
    assert (e.consents_erased, e.templates_erased, e.photos_erased) == (1, 2, 1)
    assert e.storage_cleared
    disk = disk_bytes(data_dir)
    for c in cts:
        assert c[:32] not in disk and c[-32:] not in disk
    for v in vs:
        for chunk in _slices(v):
            assert chunk not in disk
    assert name.encode() not in disk
    # nothing of the person in the audit log either, except ids and counts
    assert name.encode() not in disk_bytes(data_dir, "audit.sqlite3")
    with pytest.raises(ConsentError):
        reg.person(p.id)
    entry = AuditLog.open(settings).history(p.id)[-1]
    assert entry.kind == "erasure" and entry.details["templates_erased"] == 2


def test_withdrawal_valid_before_invalid_after_and_takedown_list(reg, settings):
    p, (c, _internal), _ = enrol(reg, purposes=("public", "internal"))
    other, (oc,), _ = enrol(reg, "Other", seed=9)
    log = AuditLog.open(settings)
    sha = "ab" * 32
    outputs = [[(p.id, c.id)], [(other.id, oc.id)], [(p.id, c.id), (other.id, oc.id)]]
    for i, shown in enumerate(outputs):
        log.append({"kind": "photo", "purpose": "public", "input_path": f"in{i}.jpg",
                    "input_sha256": sha, "output_path": f"out{i}.jpg", "output_sha256": sha,
                    "faces": 2, "shown": shown, "models": {MODEL: "1"}})
    log.append({"kind": "photo", "status": "failed", "reason": "media.corrupt",
                "input_path": "bad.jpg", "shown": [(p.id, c.id)]})
    snap_before = reg.snapshot(TODAY)
    assert snap_before.decide(p.id, "public").valid

    w = reg.withdraw(p.id, purpose="public")
    assert w.consent_ids == (c.id,) and w.date == TODAY and w.still_active == ("internal",)
    assert w.templates_erased == 3  # every template goes, whatever the purpose
    snap = reg.snapshot(TODAY)
    assert snap.decide(p.id, "public").reason_key == "consent.reason.withdrawn"
    assert snap.decide(p.id, "internal").valid  # still consented, but no longer recognisable:
    assert all(pid != p.id for pid, _ in snap.for_model(MODEL))
    assert snap.decide(other.id, "public").valid
    assert [e.output_path for e in log.find_person(p.id)] == ["out0.jpg", "out2.jpg"]
    actions = [e.details["action"] for e in log.history(p.id)]
    assert actions[-1] == "withdrawn"
    assert snap_before.decide(p.id, "public").valid  # an old snapshot stays what it was


def test_withdrawal_dates(reg):
    p, (c,), _ = enrol(reg)
    with pytest.raises(ConsentError) as err:
        reg.withdraw(p.id, date=TODAY + timedelta(days=1))
    assert err.value.key == "consent.err.withdraw_future"
    w = reg.withdraw(p.id, date=SIGNED + timedelta(days=5))
    assert reg.consents(p.id)[0].withdrawn == SIGNED + timedelta(days=5)
    assert reg.decide(p.id, "public", today=SIGNED + timedelta(days=4)).valid
    assert not reg.decide(p.id, "public", today=SIGNED + timedelta(days=5)).valid
    # withdrawing again keeps the first date and withdraws nothing new
    again = reg.withdraw(p.id)
    assert again.consent_ids == () and w.consent_ids == (c.id,)
    assert reg.consents(p.id)[0].withdrawn == SIGNED + timedelta(days=5)


def test_audit_entries_of_consent_changes_hold_no_name_and_nothing_biometric(reg, settings):
    p, _, vs = enrol(reg, "Ylva Örn")
    reg.edit_person(p.id, birth_year=1981)
    reg.withdraw(p.id)
    entries = AuditLog.open(settings).history(p.id)
    assert [e.details["action"] for e in entries] == \
        ["person-added", "consent-added", "templates-added", "person-edited", "withdrawn"]
    assert entries[3].details["fields"] == ["birth_year"]
    text = repr([e.body for e in entries])
    assert "Ylva" not in text and "1981" not in text
    assert f"{float(vs[0][0]):.5f}"[:7] not in text
    assert all(e.kind == "consent-change" and e.operator == "kim" for e in entries)


# --- the key ----------------------------------------------------------------------------------

def test_key_file_is_owner_only_and_made_once(reg, data_dir):
    assert not (data_dir / "registry.key").exists()  # made on first use
    enrol(reg)
    key_file = data_dir / "registry.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_bytes()
    assert len(key) == 32
    enrol(reg, "B", seed=3)
    assert key_file.read_bytes() == key
    assert not list(data_dir.glob(".registry.key.*"))


def test_missing_key_is_a_clear_error_and_no_new_key_is_made(settings, data_dir):
    with Registry.open(settings) as r:
        p, _, _ = enrol(r)
    (data_dir / "registry.key").unlink()
    with Registry.open(settings) as r:
        assert r.persons()[0].id == p.id  # the rest of the registry still reads
        for call in (lambda: r.templates(MODEL), lambda: r.snapshot(),
                     lambda: r.add_templates(p.id, vectors(1, 8), MODEL), r.check_key):
            with pytest.raises(RegistryKeyError) as err:
                call()
            assert err.value.key == "consent.key.missing"
            assert "registry.key" in err.value.message("sv")
    assert not (data_dir / "registry.key").exists()


def test_missing_key_after_everything_was_withdrawn_is_still_refused(settings, data_dir):
    with Registry.open(settings) as r:
        p, _, _ = enrol(r)
        r.withdraw(p.id)
    (data_dir / "registry.key").unlink()
    with Registry.open(settings) as r:
        assert r.templates(MODEL) == []  # nothing encrypted to read
        with pytest.raises(RegistryKeyError):  # but the registry had a key: restore it
            r.add_templates(p.id, vectors(1, 8), MODEL)
    assert not (data_dir / "registry.key").exists()


def test_wrong_key_is_a_clear_error(settings, data_dir):
    with Registry.open(settings) as r:
        enrol(r)
    key_file = data_dir / "registry.key"
    key_file.write_bytes(os.urandom(32))
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.wrong"


def test_key_from_the_environment(settings, data_dir, monkeypatch):
    key = os.urandom(32)
    monkeypatch.setenv(KEY_ENV, base64.b64encode(key).decode())
    with Registry.open(settings) as r:
        p, _, vs = enrol(r)
        assert np.array_equal(r.templates(MODEL)[0][1], vs[0])
    assert not (data_dir / "registry.key").exists()
    monkeypatch.setenv(KEY_ENV, base64.b64encode(os.urandom(32)).decode())
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.wrong"
    monkeypatch.setenv(KEY_ENV, "not base64!")
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.bad_env"
    monkeypatch.delenv(KEY_ENV)
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.missing"


def test_unsafe_or_damaged_key_file_is_refused(settings, data_dir):
    with Registry.open(settings) as r:
        enrol(r)
    key_file = data_dir / "registry.key"
    key_file.chmod(0o644)
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.too_open"
    key_file.chmod(0o600)
    key_file.write_bytes(b"short")
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.bad_file"


def test_a_template_moved_to_another_person_does_not_decrypt(settings, data_dir):
    with Registry.open(settings) as r:
        a, _, _ = enrol(r, "A", n=1)
        b, _, _ = enrol(r, "B", n=1, seed=2)
    conn = sqlite3.connect(data_dir / REGISTRY_DB)
    conn.execute("UPDATE template SET person_id = ? WHERE person_id = ?", (b.id, a.id))
    conn.commit()
    conn.close()
    with Registry.open(settings) as r, pytest.raises(RegistryKeyError) as err:
        r.templates(MODEL)
    assert err.value.key == "consent.key.decrypt_failed.template"
