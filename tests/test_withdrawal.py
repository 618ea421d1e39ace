"""A withdrawal leaves nothing behind: a person shown in a photo and a video that wait in
review withdraws her consent (from the command line, while the page runs). Afterwards the
review copy of every waiting item hides her, approving cannot publish her face, and no file
in the whole data folder except the originals (kept as documented) shows her face: not a
preview, a thumbnail, a still of a track or an earlier revision.

"Shows her face" is judged by content, not by names: every picture and every frame of every
video under the data folder is searched for faces, and each face is compared with her
reference photo by the face recogniser."""

from __future__ import annotations

import html
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLES
from facevideo import make_face_clip
from starlette.testclient import TestClient

from blurkit.web import words
from tests.test_web_video import register_grace, track_of
from tests.webkit import WatcherThread, make_web, wait_for

pytestmark = pytest.mark.slow
LOCAL = "http://127.0.0.1:8470"
GRACE = SAMPLES / "portrait_exif_gps_thumbnail.jpg"
SAME_PERSON = 0.90       # dlib similarity: the same person scores ~0.92-0.99 (matching.py)


def grace_matcher(models_dir: Path):
    """similarity(rgb) -> the highest similarity of any face in `rgb` to Grace's photo."""
    from blurkit.detect import load_detector
    from blurkit.identify import Recognizer
    from blurkit.media.image import read_photo

    detector = load_detector("centerface", models_dir)
    bare = Recognizer(models_dir, [])
    reference = read_photo(GRACE).pixels
    faces = detector.detect(reference)
    template = bare.embed(reference, max(faces, key=lambda d: d.box[2] - d.box[0]))[0]
    assert template is not None

    def similarity(rgb: np.ndarray) -> float:
        best = 0.0
        for face in detector.detect(rgb):
            vector, _ = bare.embed(rgb, face)
            if vector is not None:
                best = max(best, float(np.dot(vector, template)))
        return best
    return similarity


def pictures_and_frames(path: Path):
    """Every picture in a file: the image, or every 4th frame of a video."""
    from blurkit.media.image import read_photo
    from blurkit.media.video import probe_video, read_frames

    if path.suffix.lower() in (".mp4", ".mov"):
        for frame in read_frames(path, probe_video(path)):
            if frame.index % 4 == 0:
                yield frame.rgb
    else:
        yield read_photo(path).pixels


def test_a_withdrawal_leaves_no_derived_copy_of_the_face(data_dir, models_dir, tmp_path):
    web, app = make_web(data_dir)
    person = register_grace(data_dir)
    time.sleep(1.1)                                  # the watcher reads the registry again
    clip = tmp_path / "scen.mp4"
    truth = make_face_clip(clip, n=40)
    with WatcherThread(web), TestClient(app, base_url=LOCAL) as client:
        for name, src in (("grace.jpg", GRACE), ("scen.mp4", clip)):
            tmp = web.watch.inbox / f".{name}.part"
            tmp.write_bytes(src.read_bytes())
            os.rename(tmp, web.watch.inbox / name)
        items = wait_for(lambda: (lambda i: i if len(i) == 2 else None)(
            web.review.desk.pending()), timeout=300, what="both items in review")
        photo = next(i for i in items if i.kind == "photo")
        video = next(i for i in items if i.kind == "video")
        assert [s["person_id"] for s in photo.report["shown"]] == [person]
        grace_track = track_of(video, truth, 0)
        assert grace_track["action"] == "shown" and grace_track["person_id"] == person
        # the page makes its derived copies: previews, thumbnails, a still of her track
        for path in (f"/review/{photo.id}/output?rev={photo.revision}",
                     f"/review/{photo.id}/thumb?rev={photo.revision}",
                     f"/review/{video.id}/thumb?rev={video.revision}",
                     f"/review/{video.id}/track/{grace_track['id']}/thumb"):
            assert client.get(path).status_code == 200, path
        cache = data_dir / "web-cache"
        assert len(list(cache.glob("*.jpg"))) == 4

        proc = subprocess.run(
            [sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), "consent",
             "withdraw", str(person)], capture_output=True, text=True, cwd=ROOT,
            env={**os.environ, "BLURKIT_LANG": "en"}, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "made again with the person hidden" in proc.stdout

        # every waiting item was rendered again without her; its old copies are gone
        photo, video = web.review.desk.get(photo.id), web.review.desk.get(video.id)
        assert photo.state == video.state == "review"
        assert photo.report["shown"] == [] and video.report["shown"] == []
        # and their pages say why, in words (the photo's face: no longer to be shown; the
        # video's tracks, her templates gone: nobody who may be shown)
        for item in (photo, video):
            page = client.get(f"/review/{item.id}")
            assert page.status_code == 200, (item.rel, page.text[:300])
            for face in item.report["faces"]:
                assert html.escape(words.reason(face["reason"], "sv")) in page.text, face
        assert [f["reason"] for f in photo.report["faces"]] == ["consent_not_valid_now"]

        similarity = grace_matcher(models_dir)
        originals = {(data_dir / "watch" / "inbox" / ".blurkit-work").resolve(),
                     (data_dir / "watch" / "originals").resolve()}
        searched = []
        for path in sorted(data_dir.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in (".jpg", ".jpeg", ".png",
                                                                  ".mp4", ".heic"):
                continue
            if any(o in path.resolve().parents for o in originals):
                continue
            searched.append(path.relative_to(data_dir).as_posix())
            for rgb in pictures_and_frames(path):
                assert similarity(rgb) < SAME_PERSON, f"her face is visible in {path}"
        # the search covered the review copies of both items (not an empty folder)
        assert any(p.endswith("grace.jpg") for p in searched), searched
        assert any(p.endswith("scen.mp4") for p in searched), searched
        # and the check itself sees her where she is: in the original
        assert similarity(next(pictures_and_frames(GRACE))) >= SAME_PERSON
