"""Video consent when two people follow each other at the same place: the enrolled person's
votes must never make the other visible (a hard cut joining two shots, and a face replaced
in place with no cut at all). Real faces from samples/, real recognition, the real CLI."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES
from facevideo import make_cross_clip, make_swap_clip

from blurkit.engine.redact import detail_correlation
from blurkit.media.video import read_frames


def blurkit(*args, data_dir):
    return subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "BLURKIT_LANG": "en"})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("swap")
    data = base / "data"
    proc = blurkit("consent", "add", "Grace", "--photo",
                   str(SAMPLES / "portrait_exif_gps_thumbnail.jpg"), "--purpose", "public",
                   "--signed", "2026-01-01", "--form-ref", "F-1", data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (base / "in").mkdir()
    truths = {mode: make_swap_clip(base / "in" / f"{mode}.mp4", mode=mode)
              for mode in ("cut", "swap")}
    truths["swap_blurred"] = make_swap_clip(base / "in" / "swap_blurred.mp4", mode="swap",
                                            blur_second=True)
    cross = make_cross_clip(base / "in" / "cross.mp4")
    proc = blurkit("process", str(base / "in"), "-o", str(base / "out"), "--purpose", "public",
                   "--report", str(base / "r.json"), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    report = {os.path.basename(f["source"]): f for f in
              json.loads((base / "r.json").read_text())["files"]}
    return base, truths, report, cross


@pytest.mark.parametrize("mode", ["cut", "swap", "swap_blurred"])
def test_the_consenting_ones_votes_never_show_the_other(runs, mode):
    base, truths, report, _ = runs
    truth = truths[mode]
    originals = [f.rgb for f in read_frames(base / "in" / f"{mode}.mp4")]
    outputs = [f.rgb for f in read_frames(base / "out" / f"{mode}.mp4")]
    assert len(outputs) == len(originals) == len(truth)
    grace_frames = grace_visible = 0
    for i, (a, b, (who, box)) in enumerate(zip(originals, outputs, truth)):
        if who == "astronaut":
            assert detail_correlation(a, b, box) < 0.3, (mode, i)     # hidden, every frame
        else:
            grace_frames += 1
            grace_visible += detail_correlation(a, b, box) > 0.8
    # and she is not simply hidden too: her own track is shown (the frames right before the
    # change may be hidden, fail-safe)
    assert grace_visible >= 0.6 * grace_frames, (mode, grace_visible, grace_frames)
    tracks = report[f"{mode}.mp4"]["faces"]
    shown = [t for t in tracks if t["action"] == "shown"]
    assert shown and all(t["last_frame"] < 45 for t in shown), tracks
    assert all(t["first_frame"] < 45 for t in shown)


def test_the_report_says_why_per_track(runs):
    _, _, report, _ = runs
    item = report["cut.mp4"]
    assert item["extra"]["cuts"] == [45]
    for t in item["faces"]:
        assert {"id", "first_frame", "last_frame", "first_time", "last_time", "detections",
                "max_score", "action", "reason", "votes", "box", "box_frame"} <= set(t)
        assert len(t["votes"]) <= 30 and len(t["box"]) == 4
        assert t["first_frame"] <= t["box_frame"] <= t["last_frame"]
        for v in t["votes"]:
            assert v["kind"] in ("clear", "other", "stranger", "unsure")
            assert {"frame", "person_id", "similarity", "margin", "quality"} <= set(v)
    json.dumps(item)                                   # plain data
    later = [t for t in item["faces"] if t["first_frame"] >= 45]
    assert later and all(t["action"] == "hidden" for t in later)
    assert any(v["kind"] == "stranger" for t in later for v in t["votes"]), later


def test_a_face_crossing_in_front_of_the_consenting_one_stays_hidden(runs):
    base, _, report, truth = runs
    originals = [f.rgb for f in read_frames(base / "in" / "cross.mp4")]
    outputs = [f.rgb for f in read_frames(base / "out" / "cross.mp4")]
    free = free_visible = 0
    for i, (a, b, faces) in enumerate(zip(originals, outputs, truth)):
        (_, grace, covered), (_, astronaut, _) = faces
        # in front of her or not (the tracks in the message, should this ever fail again)
        assert detail_correlation(a, b, astronaut) < 0.3, (i, report["cross.mp4"]["faces"])
        if covered == 0:
            free += 1
            free_visible += detail_correlation(a, b, grace) > 0.8
    assert free_visible >= 0.5 * free, (free_visible, free, report["cross.mp4"]["faces"])
