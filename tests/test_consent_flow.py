"""Consent end to end through the real CLI: enrol with real recognition, process photos and a
video, withdraw, and find the outputs to take down."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from facevideo import make_face_clip

from blurkit.engine.redact import detail_correlation
from blurkit.media.image import read_photo
from blurkit.media.video import read_frames

GROUP = json.loads((SAMPLES / "manifest.json").read_text())["files"]["group_photo.jpg"]["faces"]
GRACE_BIG, ASTRONAUTS, SMALL_GRACE = (GROUP[0], [GROUP[i] for i in (1, 3, 4, 6)],
                                      [GROUP[5], GROUP[7]])
# the order in samples/make_samples.py: Grace 230 px, astronaut 150, Grace 90, astronaut 64,
# astronaut 40, Grace 30, astronaut 26, Grace 22


def blurkit(*args, data_dir):
    proc = subprocess.run([sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "BLURKIT_LANG": "en"})
    return proc


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    data = tmp_path_factory.mktemp("consent") / "data"
    proc = blurkit("consent", "add", "Grace", "--photo",
                   str(SAMPLES / "portrait_exif_gps_thumbnail.jpg"), "--purpose", "public",
                   "--signed", "2026-01-01", "--form-ref", "F-1", data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listing = blurkit("consent", "list", data_dir=data)
    person_id = int(listing.stdout.split()[listing.stdout.split().index("Grace") - 1].strip("#"))
    return data, person_id


def _process(data, src, out, purpose="public"):
    proc = blurkit("process", str(src), "-o", str(out), "--purpose", purpose,
                   "--report", str(out) + ".json", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    return json.loads(Path(str(out) + ".json").read_text())


def _group_with_grace_once(tmp_path) -> Path:
    """The sample group photo shows Grace Hopper twice (230 and 90 px): paint the smaller
    copy over, so the photo holds her once, as a real photo would."""
    import cv2
    pixels = read_photo(SAMPLES / "group_photo.jpg").pixels.copy()
    x1, y1, x2, y2 = GROUP[2]
    pixels[y1 - 40:y2 + 60, x1 - 40:x2 + 40] = pixels[20:20 + (y2 - y1) + 100,
                                                      20:20 + (x2 - x1) + 80]
    path = tmp_path / "group_photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    return path


def test_the_same_person_twice_in_one_photo_is_hidden_both_times(registry, tmp_path):
    data, _ = registry
    report = _process(data, SAMPLES / "group_photo.jpg", tmp_path / "twice")
    assert report["files"][0].get("shown", []) == []
    reasons = {f["reason"] for f in report["files"][0]["faces"]}
    assert "duplicate_in_image" in reasons


def test_consented_face_shown_everyone_else_hidden_then_withdrawn(registry, tmp_path):
    data, person_id = registry
    photo = _group_with_grace_once(tmp_path)
    original = read_photo(photo).pixels
    report = _process(data, photo, tmp_path / "public")
    item = report["files"][0]
    assert item["shown"] and all(s["person_id"] == person_id for s in item["shown"])
    out = read_photo(tmp_path / "public" / "group_photo.png").pixels
    assert detail_correlation(original, out, GRACE_BIG) > 0.9          # left as it was
    for box in ASTRONAUTS + SMALL_GRACE:                                # hidden
        assert detail_correlation(original, out, box) < 0.3, box

    # another purpose: no consent for it, so everyone is hidden
    internal = _process(data, photo, tmp_path / "internal", "internal")
    assert internal["files"][0].get("shown", []) == []
    out = read_photo(tmp_path / "internal" / "group_photo.png").pixels
    assert detail_correlation(original, out, GRACE_BIG) < 0.3

    # withdrawal: hidden from now on, and the earlier output is on the takedown list
    proc = blurkit("consent", "withdraw", str(person_id), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    after = _process(data, photo, tmp_path / "after")
    assert after["files"][0].get("shown", []) == []
    takedown = blurkit("audit", "find", "--person", str(person_id), data_dir=data)
    assert str(tmp_path / "public" / "group_photo.png") in takedown.stdout
    assert str(tmp_path / "after") not in takedown.stdout
    assert blurkit("audit", "verify", data_dir=data).returncode == 0


def test_video_track_of_a_consented_person_is_shown_and_the_other_hidden(tmp_path):
    data = tmp_path / "data"
    proc = blurkit("consent", "add", "Grace", "--photo",
                   str(SAMPLES / "portrait_exif_gps_thumbnail.jpg"), "--purpose", "public",
                   "--signed", "2026-01-01", "--form-ref", "F-1", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    src = tmp_path / "clip.mp4"
    truth = make_face_clip(src, n=40)
    report = _process(data, src, tmp_path / "out")
    tracks = report["files"][0]["faces"]
    assert any(t["action"] == "shown" for t in tracks), tracks
    originals = [f.rgb for f in read_frames(src)]
    outputs = [f.rgb for f in read_frames(tmp_path / "out" / "clip.mp4")]
    grace_visible = 0
    for a, b, (grace, astronaut) in zip(originals, outputs, truth):
        assert detail_correlation(a, b, astronaut) < 0.3      # never shown, in any frame
        grace_visible += detail_correlation(a, b, grace) > 0.8
    assert grace_visible >= 0.9 * len(truth)


def test_photos_added_later_must_show_the_registered_person(tmp_path):
    """`consent edit ID --photo` refuses a photo of someone else (a wrong person number would
    otherwise show that someone under this person's consent) and takes another of them."""
    data = tmp_path / "data"
    proc = blurkit("consent", "add", "Grace", "--photo",
                   str(SAMPLES / "portrait_exif_gps_thumbnail.jpg"), "--purpose", "public",
                   "--signed", "2026-01-01", "--form-ref", "F-1", data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    refused = blurkit("consent", "edit", "1", "--photo", str(SAMPLES / "portrait_orientation6.jpg"),
                      data_dir=data)
    assert refused.returncode != 0
    assert "portrait_orientation6.jpg does not clearly show person 1" in refused.stderr
    assert "Face templates: 1" in blurkit("consent", "show", "1", data_dir=data).stdout
    taken = blurkit("consent", "edit", "1", "--photo", str(SAMPLES / "portrait_exif_xmp.webp"),
                    data_dir=data)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert "Face templates: 2" in blurkit("consent", "show", "1", data_dir=data).stdout
