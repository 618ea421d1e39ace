"""The audit log (diarium): append, hash chain, tamper detection, CSV export, person queries,
appends from several processes."""

import csv
import json
import multiprocessing
import os
import sqlite3
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

import blurkit.cli.audit  # noqa: F401  (registers `blurkit audit`)
from blurkit import i18n
from blurkit.audit import AUDIT_DB, GENESIS, AuditLog, StoreError, chain_hash
from blurkit.cli import cli
from blurkit.config import load_settings

SHA_IN, SHA_OUT = "1" * 64, "2" * 64


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("BLURKIT_LANG", "en")
    yield
    i18n.set_language(None)


@pytest.fixture()
def settings(data_dir):
    return load_settings(data_dir).replace(operator="kim")


@pytest.fixture()
def log(settings):
    with AuditLog.open(settings) as log:
        yield log


def photo(i: int, shown=((1, 10),), **kw) -> dict:
    entry = {"kind": "photo", "purpose": "public", "input_path": f"/in/IMG_{i}.jpg",
             "input_sha256": SHA_IN, "output_path": f"/out/IMG_{i}.jpg",
             "output_sha256": SHA_OUT, "faces": 3, "shown": list(shown),
             "models": {"centerface": "1.0", "dlib": "19.24"}}
    entry.update(kw)
    return entry


def fill(log, n=5) -> None:
    for i in range(1, n + 1):
        log.append(photo(i))


def raw(settings) -> sqlite3.Connection:
    """The file as someone with a database tool sees it, append-only triggers removed."""
    conn = sqlite3.connect(settings.data_dir / AUDIT_DB, isolation_level=None)
    for trigger in ("entry_no_update", "entry_no_delete", "head_no_delete"):
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def test_append_fills_in_sequence_time_operator_and_chains(log):
    assert log.verify().ok and log.verify().entries == 0
    assert log.append(photo(1)) == 1
    assert log.append({"kind": "video", "status": "failed", "reason": "media.corrupt",
                       "input_path": "/in/clip.mp4", "operator": "sam"}) == 2
    a, b = log.entries()
    assert (a.seq, a.kind, a.status, a.operator, a.faces) == (1, "photo", "ok", "kim", 3)
    assert a.shown == [{"person_id": 1, "consent_id": 10}]
    assert a.time.endswith("Z") and "T" in a.time
    assert (b.status, b.reason, b.operator, b.output_path, b.shown) == \
        ("failed", "media.corrupt", "sam", None, [])
    rows = raw_rows(log)
    assert rows[0][2] == GENESIS and rows[1][2] == rows[0][3]
    assert rows[1][3] == chain_hash(rows[0][3], rows[1][1])
    result = log.verify()
    assert result.ok and result.entries == 2 and result.head_hash == rows[1][3]


def raw_rows(log):
    return log._db().execute("SELECT id, body, prev_hash, hash FROM entry ORDER BY id").fetchall()


@pytest.mark.parametrize("bad", [
    {"kind": "tweet"},
    {"kind": "photo", "status": "maybe"},
    {"kind": "photo", "purpose": "everyone"},
    {"kind": "photo", "input_sha256": "abc"},
    {"kind": "photo", "faces": -1},
    {"kind": "photo", "person": 3},                                   # unknown field
    {"kind": "photo", "shown": [{"person_id": 1}]},
    {"kind": "photo", "details": {"template": [0.1] * 128}},          # looks biometric
    {"kind": "photo", "details": {"template": np.zeros(128, np.float32)}},
])
def test_malformed_or_biometric_entries_are_refused(log, bad):
    with pytest.raises(ValueError):
        log.append(bad)
    assert log.entries() == []


def test_the_log_refuses_update_and_delete(log, settings):
    fill(log, 2)
    conn = sqlite3.connect(settings.data_dir / AUDIT_DB)
    for sql in ("UPDATE entry SET body = '{}' WHERE id = 1", "DELETE FROM entry WHERE id = 2",
                "DELETE FROM head"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    conn.close()
    assert log.verify().ok


def _edit_field(conn):
    body = conn.execute("SELECT body FROM entry WHERE id = 3").fetchone()[0]
    conn.execute("UPDATE entry SET body = ? WHERE id = 3",
                 (body.replace("/out/IMG_3.jpg", "/out/IMG_X.jpg"),))


def _edit_field_and_rehash(conn):
    _edit_field(conn)
    prev, body = conn.execute("SELECT prev_hash, body FROM entry WHERE id = 3").fetchone()
    conn.execute("UPDATE entry SET hash = ? WHERE id = 3", (chain_hash(prev, body),))


def _rewrite_whitespace(conn):
    body = conn.execute("SELECT body FROM entry WHERE id = 2").fetchone()[0]
    conn.execute("UPDATE entry SET body = ? WHERE id = 2", (body.replace(",", ", ", 1),))


def _swap(conn):
    a = conn.execute("SELECT body, prev_hash, hash FROM entry WHERE id = 2").fetchone()
    b = conn.execute("SELECT body, prev_hash, hash FROM entry WHERE id = 4").fetchone()
    conn.execute("UPDATE entry SET body = ?, prev_hash = ?, hash = ? WHERE id = 2", b)
    conn.execute("UPDATE entry SET body = ?, prev_hash = ?, hash = ? WHERE id = 4", a)


def _renumber(conn):
    # move entries 4 and 5 one place down after deleting 3: contiguous ids again
    conn.execute("DELETE FROM entry WHERE id = 3")
    conn.execute("UPDATE entry SET id = id - 1 WHERE id > 3")


def _insert_at_end(conn):
    last = conn.execute("SELECT hash FROM entry WHERE id = 5").fetchone()[0]
    body = '{"kind":"photo","seq":6}'
    conn.execute("INSERT INTO entry VALUES (6, ?, ?, ?)", (body, last, chain_hash(last, body)))


def _insert_with_gap(conn):
    conn.execute("INSERT INTO entry VALUES (9, '{}', 'x', 'y')")


def _delete_last_and_head(conn):
    conn.execute("DELETE FROM entry WHERE id = 5")
    conn.execute("UPDATE head SET count = 4")  # head count fixed, but not the hash


@pytest.mark.parametrize("tamper, first_bad, problem", [
    (_edit_field, 3, "audit.problem.hash"),
    (_edit_field_and_rehash, 4, "audit.problem.prev_hash"),
    (_rewrite_whitespace, 2, "audit.problem.not_canonical"),
    (lambda c: c.execute("DELETE FROM entry WHERE id = 3"), 3, "audit.problem.gap"),
    (lambda c: c.execute("DELETE FROM entry WHERE id = 5"), 5, "audit.problem.head_count"),
    (lambda c: c.execute("DELETE FROM entry WHERE id = 1"), 1, "audit.problem.gap"),
    (_insert_at_end, 6, "audit.problem.head_count"),
    (_insert_with_gap, 6, "audit.problem.gap"),
    (_swap, 2, "audit.problem.seq"),
    (_renumber, 3, "audit.problem.seq"),
    (_delete_last_and_head, 4, "audit.problem.head_hash"),
    (lambda c: c.execute("UPDATE head SET last_hash = 'ab'"), 5, "audit.problem.head_hash"),
    (lambda c: c.execute("DELETE FROM entry"), 1, "audit.problem.head_count"),
])
def test_tampering_is_detected_by_verify_and_the_cli(log, settings, tamper, first_bad, problem):
    fill(log)
    assert log.verify().ok
    conn = raw(settings)
    tamper(conn)
    conn.close()
    result = log.verify()
    assert not result.ok
    assert (result.first_bad_id, result.problem) == (first_bad, problem)
    assert result.message("en") != result.message("sv")

    runner = CliRunner()
    out = runner.invoke(cli, ["--data-dir", str(settings.data_dir), "audit", "verify"])
    assert out.exit_code == 1
    assert "NOT intact" in out.output and f"entry {first_bad}" in out.output
    out = runner.invoke(cli, ["--data-dir", str(settings.data_dir), "--lang", "sv",
                              "audit", "verify"])
    assert out.exit_code == 1 and "INTE intakt" in out.output


def test_damage_stays_visible_after_more_appends(log, settings):
    fill(log)
    conn = raw(settings)
    conn.execute("DELETE FROM entry WHERE id = 5")
    conn.close()
    log.append(photo(6))
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4, 6]
    result = log.verify()
    assert (result.ok, result.first_bad_id, result.problem) == (False, 5, "audit.problem.gap")


def test_verify_cli_on_an_intact_log(log, settings):
    fill(log, 3)
    out = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "audit", "verify"])
    assert out.exit_code == 0, out.output
    assert "intact: 3 entries" in out.output and log.verify().head_hash in out.output


def test_find_person_is_the_takedown_list(log):
    log.append(photo(1, shown=[(1, 10)]))
    log.append(photo(2, shown=[(2, 20)]))
    log.append(photo(3, shown=[(2, 20), (1, 11)], purpose="internal"))
    log.append(photo(4, shown=[(1, 10)], status="failed", output_path=None,
                     output_sha256=None, reason="output.verify_failed"))
    log.append({"kind": "consent-change", "person_id": 1, "details": {"action": "withdrawn"}})
    assert [e.output_path for e in log.find_person(1)] == ["/out/IMG_1.jpg", "/out/IMG_3.jpg"]
    assert [e.seq for e in log.find_person(2)] == [2, 3]
    assert log.find_person(3) == []
    assert [e.seq for e in log.history(1)] == [5]


def test_export_csv(log, settings, tmp_path):
    """Semicolons and UTF-8 with a BOM (a spreadsheet set up for Swedish opens it in
    columns), times in local time with their zone stated, cells that a spreadsheet would
    take for a formula or a time kept as text."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Stockholm"
    time.tzset()
    try:
        log.append(photo(1, shown=[(1, 10), (2, 21)], input_path="/in/Åsa och Örjan.jpg"))
        log.append({"kind": "consent-change", "person_id": 7,
                    "details": {"action": "withdrawn"}})
        log.append(photo(3, input_path="=HYPERLINK(\"http://x\")", shown=[(4, 40)]))
        dest = tmp_path / "diarium.csv"
        assert log.export_csv(dest) == 3
        data = dest.read_bytes()
        assert data.startswith(b"\xef\xbb\xbfseq;time;zone;operator;kind;")  # BOM, semicolons
        with open(dest, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter=";"))
        entries = log.entries()
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
    assert [int(r["seq"]) for r in rows] == [1, 2, 3]
    first = rows[0]
    assert first["input_path"] == "/in/Åsa och Örjan.jpg"
    assert (first["kind"], first["status"], first["purpose"], first["operator"]) == \
        ("photo", "ok", "public", "kim")
    assert (first["input_sha256"], first["output_sha256"]) == (SHA_IN, SHA_OUT)
    assert first["faces"] == "3"
    assert json.loads(first["shown"]) == [{"consent_id": 10, "person_id": 1},
                                          {"consent_id": 21, "person_id": 2}]
    assert json.loads(rows[2]["shown"]) == [{"consent_id": 40, "person_id": 4}]  # not "4:40"
    assert first["models"] == '{"centerface":"1.0","dlib":"19.24"}'
    # the stored UTC time, as Stockholm's local time with its zone
    utc = datetime.fromisoformat(entries[0].time.replace("Z", "+00:00"))
    local = utc.astimezone(ZoneInfo("Europe/Stockholm"))
    assert first["time"] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert first["zone"] in ("UTC+01:00 (CET)", "UTC+02:00 (CEST)")
    assert first["zone"].startswith("UTC" + local.strftime("%z")[:3] + ":")
    assert first["hash"] == entries[0].hash
    assert rows[1]["person_id"] == "7" and rows[1]["details"] == '{"action":"withdrawn"}'
    assert rows[1]["output_path"] == "" and rows[1]["shown"] == ""
    assert rows[2]["input_path"] == "'=HYPERLINK(\"http://x\")"  # not run as a formula
    with pytest.raises(FileExistsError):
        log.export_csv(dest)
    log.append(photo(4))
    assert log.export_csv(dest, overwrite=True) == 4


def test_export_and_find_cli(log, settings, tmp_path):
    log.append(photo(1, shown=[(4, 40)]))
    log.append(photo(2, shown=[(5, 50)]))
    base = ["--data-dir", str(settings.data_dir)]
    runner = CliRunner()
    dest = tmp_path / "out.csv"
    out = runner.invoke(cli, base + ["audit", "export", "--csv", str(dest)])
    assert out.exit_code == 0, out.output
    assert "Exported 2 entries" in out.output and dest.is_file()
    out = runner.invoke(cli, base + ["audit", "export", "--csv", str(dest)])
    assert out.exit_code == 2 and "--overwrite" in out.output
    out = runner.invoke(cli, base + ["--lang", "sv", "audit", "find", "--person", "4"])
    assert out.exit_code == 0
    assert "/out/IMG_1.jpg" in out.output and "/out/IMG_2.jpg" not in out.output
    assert "1 utdata visade person 4" in out.output and "samtycke 40" in out.output


def test_a_newer_audit_log_is_refused(settings):
    AuditLog.open(settings).close()
    conn = sqlite3.connect(settings.data_dir / AUDIT_DB)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError):
        AuditLog.open(settings)


def _worker(log: AuditLog, worker: int, n: int) -> None:
    for i in range(n):
        log.append(photo(worker * 1000 + i, shown=[(worker, i)]))


def test_appends_from_several_processes_keep_one_chain(log):
    log.append(photo(0))  # the parent's connection exists before the fork
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(log, w, 15)) for w in (1, 2, 3)]
    for p in procs:
        p.start()
    _worker(log, 4, 15)
    for p in procs:
        p.join()
        assert p.exitcode == 0
    result = log.verify()
    assert result.ok and result.entries == 61
    assert sorted(e.seq for e in log.entries()) == list(range(1, 62))
    spawned = multiprocessing.get_context("spawn").Process(target=_worker, args=(log, 5, 2))
    spawned.start()
    spawned.join()
    assert spawned.exitcode == 0 and log.verify().entries == 63


# ------------------------------------------------------------------------------ the diarium

def _words(body: dict, lang: str) -> str:
    from blurkit.usecases.diarium import summary
    from blurkit.usecases.wording import say_all

    return say_all(summary(body), lang)


def test_every_register_change_is_worded_without_raw_keys(settings):
    """What the registry writes (every action of Registry._note), read back from the log and
    summed up in plain words: no raw key, no English on the Swedish side."""
    import re
    from datetime import date, timedelta

    from blurkit.consent.registry import Registry

    today = date.today()
    with Registry.open(settings) as reg:
        p = reg.add_person("Anna", birth_year=1990, today=today)
        reg.edit_person(p.id, name="Anna S", birth_year=1991, today=today)
        reg.add_consent(p.id, purpose="public", signed=today - timedelta(days=3),
                        form_ref="F-1", expires=today + timedelta(days=300), today=today)
        reg.add_templates(p.id, [np.ones(128, np.float32)], "m",
                          confirmed_same_person_by="rita")
        reg.add_photo(p.id, b"\xff\xd8 a photo", ".jpg")
        reg.withdraw(p.id, purpose="public", today=today)
        reg.remove(p.id)
    with AuditLog.open(settings) as log:
        bodies = [e.body for e in log.history(p.id)]
    assert [b["details"]["action"] for b in bodies] == [
        "person-added", "person-edited", "consent-added", "templates-added", "photo-kept",
        "withdrawn", "person-removed"]
    sv = [_words(b, "sv") for b in bodies]
    assert sv == [
        "person registrerad",
        "ändrat: födelseår, namn",
        f"samtycke 1 tillagt: offentligt, skriftligt, undertecknat "
        f"{today - timedelta(days=3)} · upphör {today + timedelta(days=300)}",
        "lade till 1 ansiktsmall · rita bekräftade att fotona visar en person",
        "referensfoto sparat, krypterat",
        f"samtycke 1 (offentligt) återkallat från {today} · raderade 1 ansiktsmall och "
        "1 referensfoto",
        "personen raderad ur registret: 1 samtyckespost, 0 ansiktsmallar, 0 referensfoton"]
    en = [_words(b, "en") for b in bodies]
    assert en[5] == (f"consent 1 (public) withdrawn from {today} · erased 1 face template and "
                     "1 reference photo")
    for text in sv + en:
        assert not re.search(r"\b[a-z]+[._][a-z_]+\b", text.replace(".jpg", "")), text
        assert "=" not in text and "{" not in text


def test_reviewed_and_failed_items_are_worded(log):
    approved = {"kind": "photo", "status": "ok", "faces": 1, "shown": [{"person_id": 3,
                                                                         "consent_id": 9}],
                "details": {"review": {"decision": "approved", "by": "kim", "decisions": [
                    {"action": "show", "person_id": 3, "grounds": "match",
                     "similarity": 0.9512, "by": "kim"}]}}}
    rejected = {"kind": "video", "status": "failed", "reason": "review.rejected",
                "details": {"review": {"decision": "rejected", "by": "kim", "decisions": []}}}
    failed = {"kind": "photo", "status": "failed", "reason": "image.not_image",
              "input_path": "/in/anteckningar.jpg"}
    old = {"kind": "photo", "status": "failed", "reason": "no.such.key"}
    assert _words(approved, "sv") == ("godkänd av kim · 1 rättelse · kim visade person 3 "
                                      "(likhet 0.951) · 1 ansikte, 1 visade")
    assert _words(rejected, "sv") == "avvisad av kim: inget publicerades"
    assert _words(failed, "sv").startswith("misslyckades: anteckningar.jpg: innehållet är "
                                           "ingen bild")
    assert _words(old, "sv") == "misslyckades: no.such.key"      # an id nobody knows: as is
    from blurkit.usecases.diarium import outcome

    assert [outcome(b) for b in (approved, rejected, failed)] == ["ok", "rejected", "failed"]


def test_day_filters_are_local_days_and_times_are_local(settings):
    """A local day begins at local midnight: in Stockholm, 00:30 on 1 March is 23:30 UTC on
    28 February, and the page (and the CSV) show 00:30."""
    from datetime import date

    from blurkit.usecases.diarium import DiariumService, filters, utc_bound

    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Stockholm"
    time.tzset()
    try:
        assert utc_bound(date(2025, 3, 1)) == "2025-02-28T23:00:00"
        assert utc_bound(date(2025, 7, 1)) == "2025-06-30T22:00:00"
        with AuditLog.open(settings) as log:
            log.append(photo(1))
        service = DiariumService(settings)
        page = service.page(filters())
        assert page.total == 1 and page.zone in ("UTC+01:00 (CET)", "UTC+02:00 (CEST)")
        assert page.rows[0].time.utcoffset() is not None
        today = date.today()
        assert service.page(filters(since=today, until=today)).total == 1
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_the_chain_check_is_cached_until_the_files_change(settings):
    """The diarium page checks the whole chain only when the log's files changed since
    the last check: an append, or an edit made behind blurkit's back (it lands in the WAL)."""
    from blurkit.usecases.diarium import DiariumService

    service = DiariumService(settings)
    with AuditLog.open(settings) as log:
        fill(log, 3)
        first = service.verify(log)
        assert first.ok and first.entries == 3
        assert service.verify(log) is first                       # nothing changed: cached
        log.append(photo(9))
        assert service.verify(log).entries == 4
        conn = sqlite3.connect(settings.data_dir / AUDIT_DB)
        conn.execute("DROP TRIGGER entry_no_update")
        conn.execute("UPDATE entry SET body = replace(body, 'IMG_1', 'IMG_X') WHERE id = 1")
        conn.commit()
        conn.close()
        broken = service.verify(log)
        assert not broken.ok and broken.first_bad_id == 1
