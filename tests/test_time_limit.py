"""A per-file time limit: one file that makes a reader hang goes to failed/ with its reason
(or fails with it in `process`), and the files after it go on."""

from __future__ import annotations

import os
from pathlib import Path

import mediafactory as mf
import pytest
from test_watch import drop, make_watcher

from blurkit import i18n  # noqa: F401
from blurkit.engine.pipeline import Job, Options, Worker, run
from blurkit.watch import NOTE_SUFFIX, ProcessWorker


def _photo(seed: int) -> bytes:
    return mf.encode(mf.pattern(64, 48, seed=seed), "JPEG")


@pytest.fixture
def models_dir():
    return Path(os.environ["BLURKIT_MODELS_DIR"])


@pytest.fixture(autouse=True)
def language_restored():

    yield
    i18n.set_language(None)      # a Worker sets the process's language (here Swedish)


def test_a_hanging_file_fails_with_its_reason_in_the_worker_and_the_batch(tmp_path, models_dir,
                                                                          monkeypatch):
    monkeypatch.setenv("BLURKIT_TEST_HANG_ON", "hang.jpg")
    for name, seed in (("hang.jpg", 1), ("good.jpg", 2)):
        (tmp_path / name).write_bytes(_photo(seed))
    out = tmp_path / "out"
    options = Options(models_dir=models_dir, language="sv", time_limit=2)
    result = Worker(options).process(Job(tmp_path / "hang.jpg", out, Path("."), "photo"))
    assert result.error_key == "pipeline.time_limit"
    assert "stoppades efter 2 s utan framsteg" in result.error
    # the batch runner (what `blurkit process` runs): worker processes, the rest goes on
    jobs = [Job(tmp_path / n, out, Path("."), "photo") for n in ("hang.jpg", "good.jpg")]
    results = {Path(r.source).name: r for r in run(jobs, options, workers=2)}
    assert results["hang.jpg"].error_key == "pipeline.time_limit"
    assert results["good.jpg"].ok and (out / "good.jpg").is_file()
    assert not (out / "hang.jpg").exists()


@pytest.mark.parametrize("hard", [False, True], ids=["in-python", "signal-blocked"])
def test_a_hanging_file_goes_to_failed_and_the_queue_goes_on(data_dir, monkeypatch, hard):
    monkeypatch.setenv("BLURKIT_TEST_HANG_ON", "hang.jpg")
    if hard:     # as a hang inside C code: only the watcher's own deadline can stop it
        monkeypatch.setenv("BLURKIT_TEST_HANG_HARD", "1")
    w = make_watcher(data_dir, worker=ProcessWorker(data_dir / "worker.lock"), time_limit=3)
    drop(w, "hang.jpg", _photo(1))
    drop(w, "later.jpg", _photo(2))
    w.run_until_idle(timeout=300)
    assert (w.config.ready / "later.jpg").is_file()
    assert (w.config.failed / "hang.jpg").is_file()
    note = (w.config.failed / ("hang.jpg" + NOTE_SUFFIX)).read_text()
    if hard:
        assert "stopped after" in note and "without an answer" in note
        assert "stoppades efter" in note
    else:
        assert "stopped after 3 s without progress" in note
    row = next(r for r in w.journal.all_items() if r["rel"] == "hang.jpg")
    assert row["attempts"] == 1                        # not retried: it would hang again
    w.close()
