"""Video end to end through `blurkit process`: every frame's faces hidden, sound kept,
nothing hidden in the container, nothing partial left behind."""

import json
import signal
import subprocess
import sys
import time

import av
import pytest
from conftest import ROOT
from facevideo import make_face_clip

from blurkit.engine.redact import detail_correlation
from blurkit.media.video import read_frames


def blurkit(*args, data_dir, **kw):
    return subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, **kw)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    base = tmp_path_factory.mktemp("video")
    src = base / "in" / "dance.mp4"
    src.parent.mkdir()
    truth = make_face_clip(src)
    out = base / "out"
    proc = blurkit("process", str(src.parent), "-o", str(out), "--report", str(base / "r.json"),
                   data_dir=base / "data")
    return src, out / "dance.mp4", truth, proc, json.loads((base / "r.json").read_text())


def test_video_is_processed(clip):
    src, dest, truth, proc, report = clip
    assert proc.returncode == 0, proc.stderr
    assert dest.is_file()
    item = report["files"][0]
    assert item["kind"] == "video" and item["status"] == "ok"
    assert item["extra"]["frames"] == len(truth)
    assert len([t for t in item["faces"] if t["action"] == "hidden"]) >= 2
    assert set(item["timings"]) == {"analyse+write"}   # nobody may be shown: one pass


def test_every_face_is_hidden_in_every_frame(clip):
    src, dest, truth, _, _ = clip
    originals = [f.rgb for f in read_frames(src)]
    outputs = [f.rgb for f in read_frames(dest)]
    assert len(outputs) == len(originals) == len(truth)
    for i, (a, b, boxes) in enumerate(zip(originals, outputs, truth)):
        for box in boxes:
            assert detail_correlation(a, b, box) < 0.3, (i, box)


def test_sound_and_duration_kept_and_no_tags_or_extra_streams(clip):
    src, dest, _, _, _ = clip
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(dest)],
        capture_output=True, text=True, check=True).stdout)
    kinds = sorted(s["codec_type"] for s in probe["streams"])
    assert kinds == ["audio", "video"]
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    tags = {k.lower() for k in probe["format"].get("tags", {})}
    assert not tags & {"location", "creation_time", "make", "model", "encoder"}, tags
    with av.open(str(src)) as a, av.open(str(dest)) as b:
        assert abs(float(a.duration - b.duration) / 1e6) < 0.1


def test_ctrl_c_leaves_nothing_at_the_output_path(tmp_path):
    src = tmp_path / "long.mp4"
    make_face_clip(src, n=400, width=640, height=368, tags=False)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "blurkit", "--data-dir", str(tmp_path / "d"),
                             "process", str(src), "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.1)           # wait until the writer has started its temporary file
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert not (out / "long.mp4").exists()
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))
