"""The watch folder's review stage and the ReviewDesk API the web app uses.

In-process: a Watcher driven step by step (FakeWorker: fast, content-preserving) with
`review=True`, a ReviewDesk on the same journal, and simulated kill -9 (`crash_hook`) at every
new step of the order of operations, in the watcher and in the desk; then a fresh watcher (and
desk) on the same folders: nothing published without approval, nothing published twice,
nothing lost, exactly one audit entry per finished item.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import mediafactory as mf
import pytest
from watch_fakes import FakeWorker
from watch_helpers import Drop, SimulatedCrash, crash_at, drop, folders_of, verify

from blurkit import i18n
from blurkit.audit import AuditLog
from blurkit.config import load_settings
from blurkit.engine.pipeline import Options
from blurkit.watch import (
    InlineWorker,
    ProcessWorker,
    ReviewConflict,
    ReviewDesk,
    Watcher,
    make_config,
    watch_status,
)


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("BLURKIT_LANG", "en")
    monkeypatch.delenv("BLURKIT_DATA_DIR", raising=False)
    yield
    i18n.set_language(None)


@pytest.fixture(scope="module")
def real():
    """The pipeline's Worker (real models; the tiny photos take milliseconds)."""
    import os

    from blurkit.engine.pipeline import Worker

    worker = Worker(Options(models_dir=Path(os.environ["BLURKIT_MODELS_DIR"]), language="en"))
    return InlineWorker(lambda options: worker)


def photo(seed: int) -> bytes:
    return mf.encode(mf.pattern(64, 48, seed=seed), "JPEG")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_watcher(data_dir: Path, worker=None, **cfg) -> Watcher:
    settings = load_settings(data_dir)
    cfg = {"settle": 0.0, "rescan": 3600.0, "tick": 0.01, "review": True, **cfg}
    config = make_config(settings, **cfg)
    options = Options(models_dir=settings.models_dir, language="en", threads=1)
    w = Watcher(config, settings, options, worker=worker or InlineWorker(FakeWorker))
    w.open()
    return w


def ready_files(w: Watcher) -> list[Path]:
    return sorted(p for p in w.config.ready.rglob("*")
                  if p.is_file() and ".blurkit-work" not in p.parts)


def audit_entries(data_dir: Path) -> list:
    with AuditLog.open(load_settings(data_dir)) as audit:
        assert audit.verify().ok
        return audit.entries()


BOXES = [{"action": "hide", "shape": "rect", "box": [10 + i, 12, 30, 40]} for i in range(10)]


def test_review_keeps_outputs_out_of_ready_until_approved(data_dir):
    w = make_watcher(data_dir)
    a, b = photo(1), photo(2)
    drop(w, "trip/a.jpg", a)
    drop(w, "b.jpg", b)
    w.run_until_idle()
    assert ready_files(w) == []                          # nothing published yet
    assert audit_entries(data_dir) == []                 # nor any audit entry
    desk = ReviewDesk(w.config.state_dir)
    items = desk.pending()
    assert {i.rel for i in items} == {"trip/a.jpg", "b.jpg"} and desk.count_pending() == 2
    assert items[0].id < items[1].id                                   # oldest first
    first = next(i for i in items if i.rel == "trip/a.jpg")
    assert first.state == "review" and first.revision == 1 and first.kind == "photo"
    assert first.output is not None and first.output.is_file()
    assert w.config.ready not in first.output.parents                # not in ready/
    assert w.config.state_dir in first.output.parents
    assert (w.config.state_dir / "review").stat().st_mode & 0o077 == 0  # owner-only
    assert hashlib.sha256(first.output.read_bytes()).hexdigest() == first.out_sha256
    assert first.original is not None and first.original.read_bytes() == a
    assert first.report["faces"] == [{"action": "hidden"}] and first.report["hidden"] == 1
    assert watch_status(w.config.state_dir)["counts"]["review"] == 2
    assert [i.id for i in desk.pending(limit=1, offset=1)] == [items[1].id]

    desk.approve(first.id, "kim", BOXES, expected_revision=1)   # ten small boxes: accepted
    assert desk.get(first.id).state == "approved"
    w.step()
    w.run_until_idle()
    out = w.config.ready / "trip" / "a.jpg"
    assert ready_files(w) == [out]
    assert out.read_bytes() == a + b"anonymized"
    assert (not first.output.exists()
            and not (w.config.state_dir / "review" / str(first.id)).exists())
    assert (w.config.originals / "trip" / "a.jpg").read_bytes() == a
    done = desk.get(first.id)
    assert done.state == "done" and done.output is None and done.original is None
    assert done.reviewer == "kim" and done.decisions == BOXES
    [entry] = audit_entries(data_dir)
    assert entry.kind == "photo" and entry.status == "ok" and entry.operator == "kim"
    assert entry.output_sha256 == sha(a + b"anonymized") and entry.input_sha256 == sha(a)
    review = entry.body["details"]["review"]
    assert review == {"decision": "approved", "by": "kim", "revision": 1, "decisions": BOXES}
    assert entry.body["details"]["watch_item"].endswith(f":{first.id}")
    assert [i.id for i in desk.recent()][:1] == [first.id]
    assert desk.count_pending() == 1
    desk.close()
    w.close()


def test_a_rejected_item_publishes_nothing_and_keeps_its_original(data_dir):
    w = make_watcher(data_dir)
    a = photo(3)
    drop(w, "a.jpg", a)
    w.run_until_idle()
    desk = ReviewDesk.for_settings(load_settings(data_dir))
    [item] = desk.pending()
    desk.reject(item.id, "ana", [{"reason": "a face is not hidden"}], expected_revision=1)
    w.run_until_idle()
    assert ready_files(w) == []
    assert (w.config.originals / "a.jpg").read_bytes() == a
    got = desk.get(item.id)
    assert got.state == "declined" and got.output is None
    [entry] = audit_entries(data_dir)
    assert entry.status == "failed" and entry.reason == "review.rejected"
    assert entry.operator == "ana" and entry.body["shown"] == [] and entry.output_path is None
    assert entry.body["details"]["review"]["decision"] == "rejected"
    assert watch_status(w.config.state_dir)["counts"]["declined"] == 1
    # retention as for any kept original: deleted after keep_days with its own entry
    w.clock = lambda: time.time() + 31 * 86400
    w.retention()
    assert not (w.config.originals / "a.jpg").exists()
    kinds = [e.kind for e in audit_entries(data_dir)]
    assert kinds == ["photo", "retention-delete"]
    desk.close()
    w.close()


def test_replace_output_and_conflicts(data_dir):
    w = make_watcher(data_dir)
    drop(w, "a.jpg", photo(4))
    w.run_until_idle()
    desk = ReviewDesk(w.config.state_dir)
    [item] = desk.pending()
    with pytest.raises(ValueError):
        desk.new_render_path(item.id, "../escape.jpg")
    new = desk.new_render_path(item.id, "a.jpg")
    assert new.parent.is_dir() and not any(new.parent.iterdir())
    assert new.parent.parent == item.output.parent.parent          # same review area
    new.write_bytes(b"re-rendered by the web")
    report = dict(item.report, faces=[{"action": "hidden"}, {"action": "hidden"}])
    with pytest.raises(ReviewConflict):
        desk.replace_output(item.id, new, report, expected_revision=7)
    with pytest.raises(ValueError):                                 # not from new_render_path
        other = data_dir / "elsewhere.jpg"
        other.write_bytes(b"x")
        desk.replace_output(item.id, other, report, expected_revision=1)
    got = desk.replace_output(item.id, new, report, expected_revision=1)
    assert got.revision == 2 and got.output.resolve() == new.resolve()
    assert got.out_sha256 == sha(b"re-rendered by the web") and len(got.report["faces"]) == 2
    assert not item.output.exists()                                 # the old one is gone
    with pytest.raises(ReviewConflict) as err:
        desk.approve(item.id, "kim", [], expected_revision=1)        # saw the old revision
    assert "version 2" in err.value.message("en") and "version 2" in err.value.message("sv")
    with pytest.raises(ValueError):
        desk.approve(item.id, " ", [], expected_revision=2)          # nobody
    with pytest.raises(ValueError):                                  # looks like a template
        desk.approve(item.id, "kim", [{"embedding": [0.1] * 64}], expected_revision=2)
    desk.approve(item.id, "kim", [{"action": "hide", "box": [1, 2, 3, 4]}], expected_revision=2)
    with pytest.raises(ReviewConflict):
        desk.approve(item.id, "kim", [], expected_revision=2)        # already decided
    with pytest.raises(ReviewConflict):
        desk.reject(item.id, "kim", [], expected_revision=2)
    with pytest.raises(ReviewConflict):
        desk.new_render_path(item.id, "a.jpg")
    with pytest.raises(ReviewConflict):
        desk.approve(999, "kim", [], expected_revision=1)
    assert desk.get(999) is None
    w.run_until_idle()
    [out] = ready_files(w)
    assert out.read_bytes() == b"re-rendered by the web"           # the approved revision
    [entry] = audit_entries(data_dir)
    assert entry.faces == 2 and entry.output_sha256 == sha(b"re-rendered by the web")
    assert entry.body["details"]["review"]["revision"] == 2
    desk.close()
    w.close()


def test_content_waiting_in_review_is_not_processed_twice(data_dir):
    w = make_watcher(data_dir)
    a = photo(5)
    drop(w, "a.jpg", a)
    w.run_until_idle()
    drop(w, "copy of a.jpg", a)
    w.run_until_idle()
    counts = watch_status(w.config.state_dir)["counts"]
    assert counts["review"] == 1 and counts["duplicate"] == 1
    note = (w.config.originals / "duplicates" / "copy of a.jpg.reason.txt").read_text("utf-8")
    assert "waiting for review" in note and "väntar på granskning" in note
    desk = ReviewDesk(w.config.state_dir)
    [item] = desk.pending()
    desk.approve(item.id, "kim", [], expected_revision=1)
    w.run_until_idle()
    drop(w, "third.jpg", a)                      # published now: a duplicate as ever
    w.run_until_idle()
    assert len(ready_files(w)) == 1 and watch_status(w.config.state_dir)["counts"]["duplicate"] == 2
    desk.close()
    w.close()


def test_review_off_publishes_at_once(data_dir):
    w = make_watcher(data_dir, review=False)
    drop(w, "a.jpg", photo(6))
    w.run_until_idle()
    assert [p.name for p in ready_files(w)] == ["a.jpg"]
    assert ReviewDesk(w.config.state_dir).count_pending() == 0
    w.close()


# --------------------------------------------------------------------------- kill -9

_WATCHER_POINTS = ["result.recorded", "review.named", "review.moved", "review.recorded",
                   "approve.staged", "approve.recorded", "reject.recorded", "publish.named",
                   "publish.linked", "publish.recorded", "audit.appended", "audit.recorded",
                   "dispose.named", "dispose.moved", "dispose.deleted", "final"]


def _review_corpus() -> list[Drop]:
    a = photo(11)
    return [Drop("keep/a.jpg", a, "valid"), Drop("b.jpg", photo(12), "valid"),
            Drop("no/c.jpg", photo(13), "valid"), Drop("again.jpg", a, "valid"),
            Drop("broken.jpg", b"BAD" * 40, "invalid")]


def _decide_all(desk: ReviewDesk) -> None:
    """The reviewer: approve everything except files under no/."""
    for item in desk.pending():
        if item.rel.startswith("no/"):
            desk.reject(item.id, "ana", [{"reason": "wrong picture"}], item.revision)
        else:
            desk.approve(item.id, "kim", BOXES[:3], item.revision)


def _check(data_dir: Path, w: Watcher, drops: list[Drop], keep_days: float) -> None:
    rejected = {d.sha for d in drops if d.rel.startswith("no/")}
    summary = verify(data_dir, folders_of(w), drops, keep_days=keep_days, rejected=rejected)
    assert summary["problems"] == []


@pytest.mark.parametrize("keep_days", [30, 0])
@pytest.mark.parametrize("point", _WATCHER_POINTS)
def test_a_kill_at_any_review_step_loses_and_duplicates_nothing(data_dir, real, point,
                                                                keep_days):
    drops = _review_corpus()
    w = make_watcher(data_dir, real, keep_days=keep_days)
    w.crash_hook = crash_at(point)
    for d in drops:
        drop(w, d.rel, d.data)
    desk = ReviewDesk(w.config.state_dir)
    crashed = False
    try:
        w.run_until_idle()
        _decide_all(desk)
        w.run_until_idle()
    except SimulatedCrash:
        crashed = True
        w.abandon()
    if point not in ("dispose.deleted",) or keep_days == 0:
        assert crashed, point
    w2 = make_watcher(data_dir, real, keep_days=keep_days) if crashed else w
    w2.run_until_idle()
    _decide_all(desk)
    w2.run_until_idle()
    assert desk.count_pending() == 0
    _check(data_dir, w2, drops, keep_days)
    desk.close()
    w2.close()


@pytest.mark.parametrize("point", ["replace.written", "replace.committed", "decided"])
def test_a_kill_inside_the_desk_leaves_a_consistent_item(data_dir, real, point):
    w = make_watcher(data_dir, real)
    a = photo(21)
    drops = [Drop("a.jpg", a, "valid")]
    drop(w, "a.jpg", a)
    w.run_until_idle()
    desk = ReviewDesk(w.config.state_dir)
    desk.crash_hook = crash_at(point)
    [item] = desk.pending()
    new = desk.new_render_path(item.id, "a.jpg")
    new.write_bytes(item.output.read_bytes())   # a re-render (the same pixels here)
    with pytest.raises(SimulatedCrash):
        got = desk.replace_output(item.id, new, item.report, expected_revision=1)
        desk.approve(item.id, "kim", [], expected_revision=got.revision)
    desk.journal.close()                      # the web process died
    desk = ReviewDesk(w.config.state_dir)
    item = desk.get(item.id)
    assert item.output.is_file() and sha(item.output.read_bytes()) == item.out_sha256
    assert item.revision == (1 if point == "replace.written" else 2)
    if item.state == "review":
        desk.approve(item.id, "kim", [], expected_revision=item.revision)
    w.run_until_idle()
    _check(data_dir, w, drops, 30)
    assert not (w.config.state_dir / "review" / str(item.id)).exists()   # leftovers swept
    desk.close()
    w.close()


def test_a_watcher_killed_while_items_wait_in_review_keeps_them(data_dir, real):
    drops = _review_corpus()
    w = make_watcher(data_dir, real)
    for d in drops:
        drop(w, d.rel, d.data)
    w.run_until_idle()
    w.abandon()                               # kill -9 with everything in review
    desk = ReviewDesk(w.config.state_dir)
    _decide_all(desk)                         # the reviewer goes on while it is down
    w2 = make_watcher(data_dir, real)
    w2.run_until_idle()
    _check(data_dir, w2, drops, 30)
    desk.close()
    w2.close()


# --------------------------------------------------------------------------- threads

def test_the_watcher_runs_in_a_thread_beside_the_desk(data_dir):
    """`blurkit serve`: the web server in the main thread, the watcher (with its worker
    process) in another; approvals are picked up by the running watcher; request_stop()
    from the main thread ends it."""
    lock = data_dir / "worker.lock"
    w = make_watcher(data_dir, worker=ProcessWorker(lock, factory="watch_fakes:FakeWorker"),
                     tick=0.05)
    w.close()                                  # run() opens it again, in the thread
    a = photo(31)
    (w.config.inbox / "a.jpg").write_bytes(a)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            w.run()
        except BaseException as exc:   # reported below
            errors.append(exc)

    t = threading.Thread(target=target, name="watcher")
    t.start()
    desk = ReviewDesk(w.config.state_dir)

    def wait_for(cond, what: str) -> None:
        deadline = time.monotonic() + 120
        while not cond():
            assert t.is_alive() and time.monotonic() < deadline, (what, errors)
            time.sleep(0.05)

    wait_for(lambda: desk.count_pending() == 1, "item in review")
    [item] = desk.pending()
    desk.approve(item.id, "kim", [], expected_revision=item.revision)
    wait_for(lambda: desk.get(item.id).state == "done", "item published")
    w.request_stop()
    t.join(60)
    assert not t.is_alive() and errors == []
    assert (w.config.ready / "a.jpg").read_bytes() == a + b"anonymized"
    assert not watch_status(w.config.state_dir)["running"]
    desk.close()


def test_review_setting_and_cli_flag(data_dir):
    (data_dir / "settings.toml").write_text("review = false\n", encoding="utf-8")
    settings = load_settings(data_dir)
    assert settings.review is False
    assert make_config(settings).review is False
    assert make_config(settings, review=True).review is True
    (data_dir / "settings.toml").write_text('review = "yes"\n', encoding="utf-8")
    from blurkit.errors import ConfigError
    with pytest.raises(ConfigError) as err:
        load_settings(data_dir)
    assert "'review'" in err.value.message("sv") and "true | false" in err.value.message("en")
    (data_dir / "settings.toml").unlink()
    assert load_settings(data_dir).review is True
    from click.testing import CliRunner

    import blurkit.cli.watch  # noqa: F401
    from blurkit.cli import cli
    out = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "watch", "--help"]).output
    assert "--no-review" in out
    json.dumps(out)


def test_status_shows_what_waits_in_review(data_dir):
    from click.testing import CliRunner

    import blurkit.cli.watch  # noqa: F401
    from blurkit.cli import cli

    w = make_watcher(data_dir)
    drop(w, "a.jpg", photo(41))
    drop(w, "b.jpg", photo(42))
    w.run_until_idle()
    runner = CliRunner()
    result = runner.invoke(cli, ["--data-dir", str(data_dir), "--lang", "sv", "status"])
    assert "Väntar på granskning: 2" in result.output, (result.output, result.exception)
    desk = ReviewDesk(w.config.state_dir)
    item = desk.pending()[0]
    desk.reject(item.id, "kim", [], item.revision)
    w.run_until_idle()
    out = runner.invoke(cli, ["--data-dir", str(data_dir), "status", "--json"]).output
    counts = json.loads(out)["watches"][0]["counts"]
    assert counts["review"] == 1 and counts["declined"] == 1
    out = runner.invoke(cli, ["--data-dir", str(data_dir), "--lang", "en", "status"]).output
    assert "Waiting for review: 1" in out and "rejected in review: 1" in out
    desk.close()
    w.close()


def test_an_entry_appended_before_a_kill_is_not_appended_again_after_other_items(data_dir,
                                                                                 real):
    """A retention deletion killed right after its audit entry was appended; before the
    restart a reviewer approves another item, which the new watcher finishes first (its
    entry recorded with a higher number). The deletion's entry must still be found, not
    written twice (the log is searched from the number recorded at start-up)."""
    w = make_watcher(data_dir, real, keep_days=2)
    drop(w, "a.jpg", photo(51))
    drop(w, "b.jpg", photo(52))
    w.run_until_idle()
    desk = ReviewDesk(w.config.state_dir)
    a, b = desk.pending()
    desk.approve(a.id, "kim", [], a.revision)
    w.run_until_idle()
    later = time.time() + 3 * 86400
    w.clock = lambda: later
    w.crash_hook = crash_at("audit.appended")
    with pytest.raises(SimulatedCrash):
        w.retention()
    w.abandon()
    desk.approve(b.id, "kim", [], b.revision)
    w2 = make_watcher(data_dir, real, keep_days=2)
    w2.clock = lambda: later
    w2.run_until_idle()
    tokens = [e.body["details"]["watch_item"] for e in audit_entries(data_dir)]
    assert len(tokens) == len(set(tokens)) == 4, tokens   # 2 photos, 2 deletions, once each
    desk.close()
    w2.close()


def test_a_journal_of_the_previous_version_is_migrated(tmp_path):
    """A watcher updated in place: its journal (schema 1, items finished and waiting) gains
    the review columns and those of corrections waiting to be rendered; nothing is lost."""
    from blurkit.audit import connect_db, migrate
    from blurkit.watch.journal import MIGRATIONS, Journal

    path = tmp_path / "journal.sqlite3"
    conn = connect_db(path)
    migrate(conn, MIGRATIONS[:1], path)
    conn.execute("INSERT INTO item (rel, kind, size, mtime_ns, work, purpose, state, created, "
                 "updated) VALUES ('a.jpg', 'photo', 1, 1, 'w', 'public', 'queued', 't', 't')")
    conn.close()
    j = Journal(path)
    assert j.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 3
    row = j.all_items()[0]
    assert row["rel"] == "a.jpg" and row["state"] == "queued" and row["revision"] == 0
    assert row["report_json"] is None and row["reviewer"] is None
    assert row["pending_json"] is None and row["pending_revision"] is None
    assert j.counts()["review"] == 0 and j.counts()["queued"] == 1
    j.close()


def test_one_desk_shared_by_threads(data_dir):
    """The web server may call one desk from its worker threads (not only the thread that
    opened it); calls are serialised, each decision happens exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    w = make_watcher(data_dir)
    for k in range(6):
        drop(w, f"p{k}.jpg", photo(60 + k))
    w.run_until_idle()
    desk = ReviewDesk(w.config.state_dir)
    items = desk.pending()

    def approve(item) -> str:
        try:
            desk.approve(item.id, "kim", [], item.revision)
            return "ok"
        except ReviewConflict:
            return "conflict"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(approve, items + items))        # each one twice
        assert sorted(outcomes) == ["conflict"] * 6 + ["ok"] * 6
        assert list(pool.map(lambda _: desk.count_pending(), range(8))) == [0] * 8
    w.run_until_idle()
    assert len(ready_files(w)) == 6
    desk.close()
    w.close()


def test_the_audit_log_takes_original_viewed_entries(data_dir):
    """The web page records every view of an original (kind original-viewed)."""
    with AuditLog.open(load_settings(data_dir)) as audit:
        seq = audit.append({"kind": "original-viewed", "input_path": "/x/inbox/a.jpg",
                            "input_sha256": "ab" * 32, "operator": "kim",
                            "details": {"source": "web", "review_item": 1}})
        [entry] = audit.entries()
        assert entry.seq == seq and entry.kind == "original-viewed" and entry.operator == "kim"
        assert audit.verify().ok
        with pytest.raises(ValueError):
            audit.append({"kind": "original-peeked"})
