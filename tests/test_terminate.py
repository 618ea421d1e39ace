"""SIGTERM cleans up as Ctrl-C does, and stale `.part` files of blurkit's own naming are
removed at start (process, watch, serve), while a live writer's and other programs' are not."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SAMPLES
from facevideo import make_face_clip

from blurkit.fsutil import atomic_output, cleanup_partials, is_own_partial, is_stale_partial

STALE = ".holiday.mp4.k3x_9q0a.part"          # what a killed `process` leaves
UPLOAD = ".0123456789ab.upload.part"          # what a killed page upload leaves
FOREIGN = ("film.mp4.part", ".download.part", ".holiday.mp4.part")   # not blurkit's


def _env():
    env = {**os.environ, "BLURKIT_LANG": "en"}
    env.pop("BLURKIT_DATA_DIR", None)
    return env


def test_own_naming_is_recognised_and_nothing_else():
    assert is_own_partial(STALE) and is_own_partial(UPLOAD)
    for name in FOREIGN + ("holiday.mp4", ".k3x_9q0a.part.jpg"):
        assert not is_own_partial(name), name


def test_cleanup_skips_what_a_live_writer_holds(tmp_path):
    (tmp_path / STALE).write_bytes(b"left by a killed writer")
    for name in FOREIGN:
        (tmp_path / name).write_bytes(b"another program's")
    with atomic_output(tmp_path / "live.jpg") as tmp:
        tmp.write_bytes(b"being written")
        assert not is_stale_partial(tmp)
        removed = cleanup_partials(tmp_path)
        assert removed == [tmp_path / STALE]
        assert tmp.exists()                     # the live writer's file stays
    assert (tmp_path / "live.jpg").read_bytes() == b"being written"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FOREIGN + ("live.jpg",))


@pytest.mark.slow
def test_sigterm_during_a_video_leaves_nothing_and_exits_143(tmp_path):
    src = tmp_path / "long.mp4"
    make_face_clip(src, n=400, width=640, height=368, tags=False)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "blurkit", "--data-dir", str(tmp_path / "d"),
                             "process", str(src), "-o", str(out)], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and list(out.glob(".*.part"))):
        time.sleep(0.05)            # the writer has started its temporary file
    assert list(out.glob(".*.part")), "the video writer never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)          # a plain `kill`
    proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert list(out.iterdir()) == []          # neither the output nor a hidden .part


def test_process_removes_stale_parts_at_start(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / STALE).write_bytes(b"x" * 1000)
    (out / "sub" / STALE).write_bytes(b"x")
    for name in FOREIGN:
        (out / name).write_bytes(b"keep")
    live = out / ".other-run.jpg.abcdefgh.part"      # another `process` run, still writing
    live.write_bytes(b"live")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = subprocess.run([sys.executable, "-m", "blurkit", "--data-dir",
                               str(tmp_path / "d"), "process", str(SAMPLES / "group_photo.jpg"),
                               "-o", str(out), "--workers", "1"],
                              cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    finally:
        os.close(fd)
    assert proc.returncode == 0, proc.stderr
    assert not (out / STALE).exists() and not (out / "sub" / STALE).exists()
    assert live.exists()
    assert all((out / name).exists() for name in FOREIGN)
    assert (out / "group_photo.jpg").is_file()


def test_watch_removes_stale_parts_at_start_in_its_folders(tmp_path):
    from watch_helpers import WatcherProc, state_dir

    from blurkit.config import load_settings
    from blurkit.watch import make_config

    data_dir = tmp_path / "data"
    cfg = make_config(load_settings(data_dir))
    planted = [cfg.inbox / UPLOAD, cfg.inbox / "sub" / UPLOAD, cfg.ready / STALE,
               cfg.failed / STALE, cfg.originals / STALE]
    for p in planted:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"left by a killed service")
    foreign = cfg.inbox / "film.mp4.part"
    foreign.write_bytes(b"a copy in progress")
    w = WatcherProc(data_dir, ["--no-review", "--settle", "1"], tmp_path / "watch.log")
    w.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(p.exists() for p in planted):
            time.sleep(0.2)
    finally:
        rc = w.stop()
    assert rc == 0, (tmp_path / "watch.log").read_text()
    assert not [p for p in planted if p.exists()]
    assert foreign.exists()
    assert state_dir(data_dir, cfg.inbox).is_dir()


def test_serve_removes_stale_parts_at_start_and_stops_on_sigterm(tmp_path):
    from review_soak import ServeProc
    from webkit import free_port

    from blurkit.config import load_settings
    from blurkit.watch import make_config

    data_dir = tmp_path / "data"
    cfg = make_config(load_settings(data_dir))
    planted = [cfg.inbox / UPLOAD, cfg.ready / STALE, cfg.failed / "sub" / STALE]
    for p in planted:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"left by a killed page")
    foreign = cfg.inbox / ".download.part"
    foreign.write_bytes(b"another program's")
    w = ServeProc(data_dir, ["--settle", "1"], tmp_path / "serve.log", free_port())
    w.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(p.exists() for p in planted):
            time.sleep(0.2)
    finally:
        rc = w.stop()
    assert rc == 0, (tmp_path / "serve.log").read_text()
    assert not [p for p in planted if p.exists()]
    assert foreign.exists()
