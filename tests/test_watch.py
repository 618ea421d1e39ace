"""The watch folder (`blurkit watch`, `status`, `service install`).

Three layers:
- in-process: a `Watcher` driven step by step with the real pipeline Worker (tiny photos are
  fast) or a fake one, and a simulated `kill -9` raised at every step of the order of
  operations (`crash_hook`), then a fresh watcher on the same folders: nothing may be lost,
  duplicated, half-written or stuck;
- the worker process: a file that kills it ends in failed/ after a bounded number of
  attempts while the rest of the queue goes on;
- soak: real `blurkit watch` subprocesses killed with SIGKILL at random moments while a mixed
  corpus is dropped in, in event mode and in polling mode (SOAK_ITEMS = 200 each;
  benchmarks/watch_soak.py repeats it with more kills and seeds).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import mediafactory as mf
import pytest
from click.testing import CliRunner
from watch_fakes import FakeWorker
from watch_helpers import ROOT, Drop, SimulatedCrash, crash_at, drop, folders_of, soak, verify

import blurkit.cli.watch  # noqa: F401  (registers the commands)
from blurkit import i18n
from blurkit import watch as watchmod
from blurkit.audit import AuditLog
from blurkit.cli import cli
from blurkit.config import load_settings
from blurkit.engine.pipeline import Options
from blurkit.errors import BlurkitError
from blurkit.watch import (
    NOTE_SUFFIX,
    AlreadyRunning,
    InlineWorker,
    ProcessWorker,
    Watcher,
    durable_move,
    free_name,
    ignored_name,
    make_config,
    watch_status,
)
from blurkit.watch import processing as processingmod

# The issue asks for at least 200 items under SIGKILL; each mode runs that many here (about a
# minute each on two shared cores); benchmarks/watch_soak.py repeats it with more kills.
SOAK_ITEMS = 200


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("BLURKIT_LANG", "en")
    monkeypatch.delenv("BLURKIT_DATA_DIR", raising=False)
    FakeWorker.snapshots = []
    FakeWorker.disk_full = False
    yield
    i18n.set_language(None)


@pytest.fixture(scope="module")
def real_worker():
    from blurkit.engine.pipeline import Worker

    return Worker(Options(models_dir=Path(os.environ["BLURKIT_MODELS_DIR"]), language="en"))


def photo(seed: int, w: int = 64, h: int = 48, fmt: str = "JPEG") -> bytes:
    return mf.encode(mf.pattern(w, h, seed=seed), fmt)


def make_watcher(data_dir: Path, worker=None, real=None, **cfg) -> Watcher:
    settings = load_settings(data_dir)
    cfg = {"settle": 0.0, "rescan": 3600.0, "tick": 0.01, "review": False, **cfg}
    config = make_config(settings, **cfg)
    options = Options(models_dir=settings.models_dir, language="en", threads=1)
    if worker is None:
        worker = InlineWorker(lambda options: real)
    w = Watcher(config, settings, options, worker=worker)
    w.open()
    return w


def corpus() -> list[Drop]:
    a = photo(1)
    return [Drop("trip/a.jpg", a, "valid"), Drop("b.png", photo(2, fmt="PNG"), "valid"),
            Drop("empty.jpg", b"", "invalid"), Drop("notes.txt", b"shopping list", "invalid"),
            Drop("trip/day 2/again.jpg", a, "valid"), Drop("broken.jpg", b"BAD" * 50, "invalid")]


# --------------------------------------------------------------------------- units

def test_temporary_and_system_names_are_ignored():
    for name in (".DS_Store", "._IMG_1.jpg", "Thumbs.db", "desktop.ini", "~$report.docx",
                 "IMG_1.jpg.part", "clip.mp4.crdownload", "x.tmp", ".IMG_1.jpg.abc123.part",
                 "foo.jpg~", "upload.filepart", ".hidden.jpg"):
        assert ignored_name(name), name
    for name in ("IMG_1.jpg", "Partytime.jpg", "tmp.jpg", "report.docx", "film.MP4"):
        assert not ignored_name(name), name


def test_free_name_never_reuses_a_name(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"1")
    (tmp_path / "a (2).jpg").write_bytes(b"2")
    assert free_name(tmp_path, "a.jpg") == "a (3).jpg"
    assert free_name(tmp_path, "b.jpg") == "b.jpg"
    (tmp_path / "c.jpg.reason.txt").write_text("x")
    assert free_name(tmp_path, "c.jpg", (NOTE_SUFFIX,)) == "c (2).jpg"
    assert free_name(tmp_path, "d.jpg", reserved=lambda r: r == "d.jpg") == "d (2).jpg"


def test_durable_move_is_repeatable_and_never_overwrites(tmp_path, monkeypatch):
    import hashlib

    src, dst = tmp_path / "src" / "f.jpg", tmp_path / "dst" / "sub" / "f.jpg"
    src.parent.mkdir()
    src.write_bytes(b"original")
    sha = hashlib.sha256(b"original").hexdigest()
    os.makedirs(dst.parent)
    os.link(src, dst)               # a crash between link and unlink
    assert durable_move(src, dst, sha) == "already" and not src.exists()
    assert durable_move(src, dst, sha) == "already"
    other = tmp_path / "other.jpg"
    other.write_bytes(b"someone else's")
    with pytest.raises(watchmod.NameTaken):
        durable_move(other, dst, hashlib.sha256(b"someone else's").hexdigest())
    assert dst.read_bytes() == b"original" and other.exists()
    # another file system: copied, checked, published, then the source removed
    real_link = os.link

    def no_cross_device(a, b, **kw):
        if str(a).startswith(str(tmp_path / "x")):
            raise OSError(errno.EXDEV, "cross-device link")
        return real_link(a, b, **kw)

    monkeypatch.setattr(os, "link", no_cross_device)
    (tmp_path / "x").mkdir()
    x = tmp_path / "x" / "g.jpg"
    x.write_bytes(b"far away")
    assert durable_move(x, tmp_path / "dst" / "g.jpg",
                        hashlib.sha256(b"far away").hexdigest()) == "moved"
    assert not x.exists() and (tmp_path / "dst" / "g.jpg").read_bytes() == b"far away"
    assert not list((tmp_path / "dst").glob(".*.part"))


def test_folders_must_not_nest(data_dir):
    settings = load_settings(data_dir)
    inbox = data_dir / "in"
    with pytest.raises(BlurkitError) as err:
        make_config(settings, inbox=inbox, ready=inbox / "ready")
    assert err.value.key == "watch.bad_folders"
    with pytest.raises(BlurkitError):
        make_config(settings, inbox=data_dir.parent)        # would take the journal itself
    with pytest.raises(BlurkitError) as err:
        make_config(settings, inbox=data_dir / "no" / "such" / "share")
    assert err.value.key == "watch.no_parent"


# --------------------------------------------------------------------------- in-process

def test_a_dropped_tree_comes_out_anonymized_with_structure_and_audit(data_dir, real_worker):
    w = make_watcher(data_dir, real=real_worker)
    drops = corpus() + [Drop(".DS_Store", b"mac", "ignored"),
                        Drop("x.jpg.part", b"half", "ignored")]
    for d in drops:
        drop(w, d.rel, d.data)
    w.run_until_idle()
    summary = verify(data_dir, folders_of(w), drops, keep_days=30)
    assert summary["problems"] == []
    assert (w.config.ready / "trip" / "a.jpg").is_file() or \
        (w.config.ready / "trip" / "day 2" / "again.jpg").is_file()
    note = (w.config.failed / ("empty.jpg" + NOTE_SUFFIX)).read_text("utf-8")
    assert "SVENSKA" in note and "filen är tom" in note and "the file is empty" in note
    assert "NOTE" not in note and str(w.config.inbox) not in note    # no work-area paths
    status = watch_status(w.config.state_dir)
    assert status["running"] and status["counts"]["done"] == 2
    assert status["counts"]["failed"] == 3 and status["counts"]["duplicate"] == 1
    assert {e["name"] for e in status["last_errors"]} == {"empty.jpg", "notes.txt", "broken.jpg"}
    w.close()
    assert not watch_status(w.config.state_dir)["running"]
    with AuditLog.open(load_settings(data_dir)) as audit:
        entries = audit.entries()
    photos = [e for e in entries if e.kind == "photo"]
    assert len(photos) == 4      # two published, two failed photos; no entry for notes.txt
    assert all(e.input_path.startswith(str(w.config.inbox)) for e in photos)
    assert all(".blurkit-work" not in (e.input_path + (e.output_path or "")) for e in photos)


_POINTS = ["claim.recorded", "claim.moved", "claim.hashed", "dispatch.recorded",
           "result.recorded", "publish.named", "publish.linked", "publish.recorded",
           "audit.appended", "audit.recorded", "dispose.named", "dispose.note",
           "dispose.moved", "final"]
_CASES = ([(p, 30, n) for p in _POINTS for n in (1, 2)] + [(p, 0, 1) for p in _POINTS]
          + [("dispose.deleted", 0, 1), ("dispose.deleted", 0, 2)])


@pytest.mark.parametrize("point,keep_days,nth", _CASES)
def test_a_kill_at_any_step_loses_and_duplicates_nothing(data_dir, real_worker, point,
                                                         keep_days, nth):
    drops = corpus()
    w = make_watcher(data_dir, real=real_worker, keep_days=keep_days)
    for d in drops:
        drop(w, d.rel, d.data)
    w.crash_hook = crash_at(point, nth)
    with pytest.raises(SimulatedCrash):
        w.run_until_idle()
    w.abandon()
    w2 = make_watcher(data_dir, real=real_worker, keep_days=keep_days)
    w2.run_until_idle()
    summary = verify(data_dir, folders_of(w2), drops, keep_days=keep_days)
    assert summary["problems"] == [], (point, summary["problems"])
    w2.close()


def test_retention_deletes_originals_after_their_time_with_an_audit_entry(data_dir, real_worker):
    drops = corpus()
    w = make_watcher(data_dir, real=real_worker, keep_days=2)
    for d in drops:
        drop(w, d.rel, d.data)
    w.run_until_idle()
    c = w.config
    kept = [p for p in c.originals.rglob("*") if p.is_file()]
    assert len(kept) == 4                      # a.jpg, b.png, the duplicate and its note
    replaced = c.originals / "b.png"
    replaced.write_bytes(b"a person put another file here")
    w.clock = lambda: time.time() + 1.5 * 86400
    w.retention()
    assert len([p for p in c.originals.rglob("*") if p.is_file()]) == 4
    w.clock = lambda: time.time() + 3 * 86400
    w.crash_hook = crash_at("retention.deleted")
    with pytest.raises(SimulatedCrash):
        w.retention()
    w.abandon()
    w2 = make_watcher(data_dir, real=real_worker, keep_days=2)
    w2.clock = lambda: time.time() + 3 * 86400
    w2.retention()
    w2.retention()
    left = sorted(p.relative_to(c.originals).as_posix() for p in c.originals.rglob("*")
                  if p.is_file())
    assert left == ["b.png"]                   # not ours any more: left alone
    assert not (c.originals / "trip").exists()  # emptied folders removed
    assert len([p for p in c.failed.iterdir() if not p.name.endswith(NOTE_SUFFIX)]) == 3
    with AuditLog.open(load_settings(data_dir)) as audit:
        deletions = [e for e in audit.entries() if e.kind == "retention-delete"]
    assert len(deletions) == 3
    assert sorted(e.details["found"] for e in deletions) == [False, True, True]
    assert sum(e.details["duplicate"] for e in deletions) == 1
    w2.close()


def test_processing_cut_short_again_and_again_ends_in_failed(data_dir, real_worker):
    drops = [Drop("first.jpg", photo(5), "valid")]
    for attempt in range(3):
        w = make_watcher(data_dir, real=real_worker, max_attempts=3)
        if attempt == 0:
            for d in drops:
                drop(w, d.rel, d.data)
        w.crash_hook = crash_at("dispatch.recorded")
        with pytest.raises(SimulatedCrash):
            w.run_until_idle()
        w.abandon()
    w = make_watcher(data_dir, real=real_worker, max_attempts=3)
    drop(w, "second.jpg", photo(6))
    w.run_until_idle()
    assert (w.config.ready / "second.jpg").is_file()
    note = (w.config.failed / ("first.jpg" + NOTE_SUFFIX)).read_text("utf-8")
    assert "cut short 3 times" in note and "avbröts 3 gånger" in note
    assert (w.config.failed / "first.jpg").read_bytes() == drops[0].data
    w.close()


def test_a_file_that_kills_the_worker_goes_to_failed_and_the_queue_goes_on(data_dir):
    w = make_watcher(data_dir, worker=ProcessWorker(
        data_dir / "worker.lock", factory="watch_fakes:FakeWorker"), max_attempts=2)
    drop(w, "poison.jpg", b"poison pill")
    drop(w, "good.jpg", b"fine")
    drop(w, "later.jpg", b"also fine")
    w.run_until_idle(timeout=240)
    assert (w.config.ready / "good.jpg").read_bytes() == b"fineanonymized"
    assert (w.config.ready / "later.jpg").is_file()
    assert (w.config.failed / "poison.jpg").read_bytes() == b"poison pill"
    assert "cut short 2 times" in (w.config.failed / ("poison.jpg" + NOTE_SUFFIX)).read_text()
    w.close()


def test_a_clean_stop_puts_the_current_file_back_without_counting_an_attempt(data_dir):
    lock = data_dir / "worker.lock"
    w = make_watcher(data_dir, worker=ProcessWorker(lock, factory="watch_fakes:FakeWorker"))
    drop(w, "sleepy film.mp4", b"a long video")
    deadline = time.monotonic() + 120
    while w.busy is None and time.monotonic() < deadline:
        w.step()
    assert w.journal.counts()["processing"] == 1
    w.request_stop()            # what SIGTERM does
    w.close()
    assert watchmod.FileLock.holder(lock) is None            # the worker is gone
    from blurkit.watch.journal import Journal
    j = Journal(w.config.state_dir / "journal.sqlite3")
    row = j.all_items()[0]
    assert (row["state"], row["attempts"]) == ("queued", 0)
    assert (w.config.inbox / row["work"]).read_bytes() == b"a long video"
    assert j.runtime()["pid"] is None and j.runtime()["stopped"]
    j.close()


def test_log_file_rotates(tmp_path):
    import logging

    from blurkit.cli.watch import setup_logging

    setup_logging(tmp_path / "logs" / "watch.log")
    try:
        logging.getLogger("blurkit.watch").info("hej %s", "åäö")
        text = (tmp_path / "logs" / "watch.log").read_text("utf-8")
        assert "INFO hej åäö" in text
        handler = logging.getLogger("blurkit").handlers[0]
        assert handler.maxBytes == 5 << 20 and handler.backupCount == 5
    finally:
        for h in list(logging.getLogger("blurkit").handlers):
            h.close()
            logging.getLogger("blurkit").removeHandler(h)
        logging.getLogger("blurkit").propagate = True


def test_same_name_other_content_and_redrops(data_dir, real_worker):
    w = make_watcher(data_dir, real=real_worker)
    a, b = photo(11), photo(12)
    drop(w, "IMG_1.jpg", a)
    w.run_until_idle()
    drop(w, "IMG_1.jpg", b)                      # another day, another phone, same name
    w.run_until_idle()
    ready = w.config.ready
    assert sorted(p.name for p in ready.iterdir() if p.is_file()) == ["IMG_1 (2).jpg", "IMG_1.jpg"]
    assert (w.config.originals / "IMG_1 (2).jpg").read_bytes() == b
    drop(w, "IMG_1.jpg", a)                      # the same photo again: no second copy
    w.run_until_idle()
    assert len([p for p in ready.iterdir() if p.is_file()]) == 2
    note = (w.config.originals / "duplicates" / ("IMG_1.jpg" + NOTE_SUFFIX)).read_text("utf-8")
    assert "ready/IMG_1.jpg" in note and "identisk" in note
    (ready / "IMG_1.jpg").unlink()               # the copy was removed: dropping it again
    drop(w, "IMG_1.jpg", a)                      # makes a new one
    w.run_until_idle()
    assert (ready / "IMG_1.jpg").is_file()
    assert w.journal.counts()["done"] == 3 and w.journal.counts()["duplicate"] == 1
    w.close()


def test_files_still_being_copied_are_left_alone(data_dir, real_worker):
    w = make_watcher(data_dir, real=real_worker, settle=1.0)
    kept_open, reopened = photo(21, 160, 120), photo(22, 160, 120, "PNG")

    def copy_open():       # one open file written in chunks (the lease sees the writer)
        with open(w.config.inbox / "open.jpg", "wb") as fh:
            for i in range(0, len(kept_open), len(kept_open) // 6 + 1):
                fh.write(kept_open[i:i + len(kept_open) // 6 + 1])
                fh.flush()
                time.sleep(0.3)

    def copy_reopened():   # opened and closed for every chunk (only stability tells)
        size = len(reopened) // 6 + 1
        for i in range(0, len(reopened), size):
            with open(w.config.inbox / "reopened.png", "ab") as fh:
                fh.write(reopened[i:i + size])
            time.sleep(0.3)

    threads = [threading.Thread(target=copy_open), threading.Thread(target=copy_reopened)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        w.step()
        assert w.journal.all_items() == [], "took a file while it was being copied"
    w.run_until_idle()
    assert (w.config.originals / "open.jpg").read_bytes() == kept_open
    assert (w.config.originals / "reopened.png").read_bytes() == reopened
    assert (w.config.ready / "open.jpg").is_file() and (w.config.ready / "reopened.png").is_file()
    w.close()


def test_a_second_watcher_on_the_same_inbox_is_refused(data_dir, tmp_path, real_worker):
    w = make_watcher(data_dir, real=real_worker)
    with pytest.raises(AlreadyRunning):
        make_watcher(data_dir, real=real_worker)
    other_data = tmp_path / "other-data"
    other_data.mkdir()
    with pytest.raises(AlreadyRunning):     # another data directory, the same inbox
        make_watcher(other_data, real=real_worker, inbox=w.config.inbox)
    env = dict(os.environ, BLURKIT_LANG="sv")
    out = subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), "watch"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 2
    assert "En annan bevakning behandlar redan" in out.stderr and str(os.getpid()) in out.stderr
    w.close()


def test_orphans_in_the_work_area_go_back_to_the_inbox(data_dir, real_worker):
    w = make_watcher(data_dir, real=real_worker)
    w.close()
    lost = w.config.inbox / ".blurkit-work" / "977" / "x" / "y.jpg"   # its journal row is gone
    lost.parent.mkdir(parents=True)
    lost.write_bytes(photo(31))
    w = make_watcher(data_dir, real=real_worker)
    assert (w.config.inbox / "x" / "y.jpg").is_file()
    w.run_until_idle()
    assert (w.config.ready / "x" / "y.jpg").is_file()
    w.close()


def test_a_full_disk_pauses_the_queue_and_it_resumes(data_dir, monkeypatch):
    w = make_watcher(data_dir, worker=InlineWorker(FakeWorker))
    monkeypatch.setattr(processingmod, "free_mb", lambda path: 3)
    drop(w, "a.jpg", b"aaa")
    for _ in range(20):
        w.step()
    assert w.journal.counts()["queued"] == 1 and w.journal.counts()["failed"] == 0
    status = watch_status(w.config.state_dir)
    assert "Paused: only 3 MB free" in status["paused"]
    monkeypatch.undo()
    monkeypatch.setenv("BLURKIT_LANG", "en")
    w.pause.until = 0
    w.run_until_idle()
    assert (w.config.ready / "a.jpg").is_file()
    assert "paused" not in watch_status(w.config.state_dir)
    # the disk fills while the copy is written: back in the queue, not failed
    FakeWorker.disk_full = True
    drop(w, "b.jpg", b"NOSPACE but a fine photo")
    for _ in range(20):
        w.step()
    assert w.journal.counts()["queued"] == 1 and w.journal.counts()["failed"] == 0
    assert w.pause is not None and w.pause.key == "watch.paused.disk_full"
    FakeWorker.disk_full = False
    w.pause.until = 0
    w.run_until_idle()
    assert (w.config.ready / "b.jpg").is_file()
    w.close()


def test_a_clock_set_back_by_a_power_cut_pauses_the_queue(data_dir, monkeypatch):
    w = make_watcher(data_dir, worker=InlineWorker(FakeWorker))
    drop(w, "a.jpg", b"1")
    w.run_until_idle()
    w.close()
    monkeypatch.setattr(processingmod, "utc_now", lambda: "2020-01-01T00:00:00.000000Z")
    monkeypatch.setattr(processingmod, "TIME_SYNCED", data_dir / "not-synchronized")
    w = make_watcher(data_dir, worker=InlineWorker(FakeWorker))
    drop(w, "b.jpg", b"2")
    for _ in range(20):
        w.step()
    assert w.journal.counts()["queued"] == 1
    assert "Paused: the clock says 2020-01-01 00:00" in watch_status(w.config.state_dir)["paused"]
    monkeypatch.undo()
    monkeypatch.setenv("BLURKIT_LANG", "en")
    w.pause.until = 0
    w.run_until_idle()
    assert (w.config.ready / "b.jpg").is_file()
    w.close()


def test_the_registry_is_read_again_when_it_changes_or_the_day_changes(data_dir, monkeypatch):
    from blurkit.consent import Registry

    settings = load_settings(data_dir)
    with Registry.open(settings) as reg:
        reg.add_person("Anna")
    w = make_watcher(data_dir, worker=InlineWorker(FakeWorker))
    drop(w, "a.jpg", b"1")
    w.run_until_idle()
    assert [len(s.persons) for _, s in FakeWorker.snapshots] == [1]
    drop(w, "b.jpg", b"2")
    w.run_until_idle()
    assert len(FakeWorker.snapshots) == 1           # unchanged: not read again
    with Registry.open(settings) as reg:
        reg.add_person("Pelle")
    drop(w, "c.jpg", b"3")
    w.run_until_idle()
    assert FakeWorker.snapshots[-1][0] == "set" and len(FakeWorker.snapshots[-1][1].persons) == 2

    class Tomorrow(date):
        @classmethod
        def today(cls):
            return date.today() + timedelta(days=1)

    import blurkit.consent.registry as registrymod
    monkeypatch.setattr(registrymod, "date", Tomorrow)
    drop(w, "d.jpg", b"4")
    w.run_until_idle()
    assert len(FakeWorker.snapshots) == 3 and FakeWorker.snapshots[-1][0] == "set"
    w.close()


# --------------------------------------------------------------------------- CLI

def test_status_without_a_watch_folder(data_dir):
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "status"])
    assert result.exit_code == 0, result.output      # a fresh install: nothing is wrong
    assert "No watch folder has been used yet" in result.output
    assert "blurkit serve" in result.output
    assert "Models: installed and verified" in result.output
    assert "Consent registry: not created yet" in result.output


def test_status_after_a_run_in_swedish_and_json(data_dir, real_worker):
    w = make_watcher(data_dir, real=real_worker)
    drop(w, "a.jpg", photo(41))
    drop(w, "trasig.jpg", b"")
    w.run_until_idle()
    w.close()
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--lang", "sv", "status"])
    assert result.exit_code == 1, result.output        # the watcher is not running
    assert "Bevakning: körs INTE" in result.output
    assert "Klara: 1; misslyckade: 1" in result.output
    assert "trasig.jpg: filen är tom" in result.output
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "status", "--json"])
    data = json.loads(result.output)
    assert data["watches"][0]["counts"]["done"] == 1 and data["models"]["ok"]


def test_service_install_writes_a_user_unit(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    inbox = tmp_path / "Delad mapp" / "in"
    inbox.mkdir(parents=True)
    args = ["--data-dir", str(data_dir), "service", "install", "--inbox", str(inbox),
            "--poll", "--keep-days", "7", "--log-file", str(tmp_path / "w.log")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    unit = tmp_path / "config" / "systemd" / "user" / "blurkit-watch.service"
    text = unit.read_text()
    assert f'"--inbox" "{inbox}"' not in text and f'"{inbox}"' in text   # quoted: a space
    assert f"-m blurkit --data-dir {data_dir} serve" in text     # the web page with the folder
    assert "--poll 10 --keep-days 7 --log-file" in text
    assert "Restart=always" in text and "WantedBy=default.target" in text
    assert "KillMode=mixed" in text and "User=" not in text
    assert "loginctl enable-linger" in result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--force" in again.output
    assert CliRunner().invoke(cli, args + ["--force"]).exit_code == 0
    assert CliRunner().invoke(cli, args + ["--force", "--no-web", "--port", "9000"]).exit_code == 0
    assert f"-m blurkit --data-dir {data_dir} watch" in unit.read_text()
    assert CliRunner().invoke(cli, args + ["--force", "--port", "9000"]).exit_code == 0
    assert "serve --port 9000 --inbox" in unit.read_text()


def test_service_install_system_unit(data_dir):
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "service", "install",
                                      "--system", "--run-as", "daemon", "--print",
                                      "--purpose", "internal"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "User=daemon" in text and "WantedBy=multi-user.target" in text
    assert f"RequiresMountsFor={data_dir}" in text and "--purpose internal" in text
    if os.path.exists("/usr/bin/systemd-analyze"):
        unit = data_dir / "blurkit-watch.service"
        unit.write_text(text)
        check = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                               text=True, timeout=60)
        bad = [line for line in check.stderr.splitlines() if "blurkit-watch.service" in line]
        assert not bad, check.stderr


# --------------------------------------------------------------------------- soak

@pytest.mark.slow
@pytest.mark.parametrize("mode", ["events", "poll"])
def test_soak_kill_9_at_random_moments(tmp_path, mode):
    """200 items (photos, samples, clips, junk, zero-byte, corrupt, slow copies, a tree, a
    folder moved in, re-drops, system files) with 4 SIGKILLs; polling with keep-days 0."""
    summary = soak(tmp_path, n_items=SOAK_ITEMS, kills=4,
                   poll=0.5 if mode == "poll" else None,
                   keep_days=0 if mode == "poll" else 30, seed=7 if mode == "poll" else 3,
                   log=lambda s: print(s))
    assert summary["problems"] == [], summary["problems"]
    assert summary["kills"] == 4 and summary["outputs"] >= 150


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["events", "poll"])
def test_soak_with_review_kill_9_during_review_and_approval(tmp_path, mode):
    """The review stage on: a simulated reviewer approves (and rejects about one content in
    five, and sometimes replaces an output with a re-render) through ReviewDesk while the
    watcher is SIGKILLed, half of the kills while approved/rejected items are being finished.
    Nothing lost, nothing published twice, every approved item exactly one verified output,
    rejected ones none, every finished item exactly one audit entry."""
    summary = soak(tmp_path, n_items=80, kills=6, poll=0.5 if mode == "poll" else None,
                   keep_days=0 if mode == "poll" else 30, seed=11 if mode == "poll" else 5,
                   log=lambda s: print(s), review=True)
    assert summary["problems"] == [], summary["problems"]
    assert summary["kills"] == 6 and summary["approved"] >= 40 and summary["rejected"] >= 5
    during = [k for k in summary["kill_log"]
              if k["states"].get("approved") or k["states"].get("rejected")]
    assert during, "no kill happened while decisions were being finished"
