"""Reviewing a video on the page: show a consenting person's track, hide a track, hide a region
the detector missed over a time range; approving renders the video again (progress page) and
publishes it. Real watcher, real models, a clip made from the project's sample faces."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SAMPLES
from facevideo import make_face_clip
from starlette.testclient import TestClient

from blurkit.audit import AuditLog
from blurkit.media.video import probe_video, read_frames
from tests.webkit import WatcherThread, csrf_of, in_ready, make_web, wait_for
from tests.webmedia import detail

pytestmark = pytest.mark.slow
LOCAL = "http://127.0.0.1:8470"


def register_grace(data_dir) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "blurkit", "--data-dir", str(data_dir), "consent", "add",
         "Grace Hopper", "--photo", str(SAMPLES / "portrait_exif_gps_thumbnail.jpg"),
         "--purpose", "public", "--signed", "2026-01-01", "--form-ref", "F-3"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "BLURKIT_LANG": "en"},
        timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return int(re.search(r"as person (\d+)", proc.stdout).group(1))


def drop_clip(web, tmp_path):
    src = tmp_path / "scen.mp4"
    truth = make_face_clip(src, n=40)
    tmp = web.watch.inbox / ".scen.mp4.part"
    tmp.write_bytes(src.read_bytes())
    os.rename(tmp, web.watch.inbox / "scen.mp4")
    return src, truth


def in_review(web):
    def one():
        desk = web.review.desk
        items = desk.pending()
        return items[0] if items else None
    return wait_for(one, timeout=180, what="the clip in review")


def track_of(item, truth, face: int) -> dict:
    """The machine's track that follows face `face` of the made-up clip."""
    for t in item.report["faces"]:
        b, want = t["box"], truth[t["box_frame"]][face]
        ix = min(b[2], want[2]) - max(b[0], want[0])
        iy = min(b[3], want[3]) - max(b[1], want[1])
        if ix > 0 and iy > 0 and ix * iy > 0.3 * (want[2] - want[0]) * (want[3] - want[1]):
            return t
    raise AssertionError(f"no track follows face {face}: {item.report['faces']}")


def post(client, item, path, **fields):
    token = csrf_of(client.get(f"/review/{item.id}").text)
    return client.post(f"/review/{item.id}/{path}", follow_redirects=False,
                       data={"csrf_token": token, "revision": str(item.revision), **fields})


def approve_and_wait(web, client, item):
    r = post(client, item, "approve")
    assert r.status_code == 303 and r.headers["location"] == f"/review/{item.id}/render"
    page = wait_for(lambda: (lambda t: t if ("Klart" in t or "kunde inte" in t) else None)(
        client.get(f"/review/{item.id}/render").text), timeout=300, what="the render")
    assert "Klart" in page, page
    return wait_for(lambda: in_ready(web, "scen.mp4"), timeout=120,
                    what="the published clip")


def frames_of(path):
    return {f.index: f.rgb for f in read_frames(path, probe_video(path))}


@pytest.fixture()
def served(data_dir, models_dir):
    web, app = make_web(data_dir)
    with WatcherThread(web), TestClient(app, base_url=LOCAL) as client:
        yield web, client


def test_show_a_track_and_hide_a_region_over_a_time_range(served, tmp_path):
    web, client = served
    src, truth = drop_clip(web, tmp_path)
    item = in_review(web)
    assert item.kind == "video"
    assert all(t["action"] == "hidden" for t in item.report["faces"])
    person = register_grace(web.settings.data_dir)
    grace = track_of(item, truth, 0)
    page = client.get(f"/review/{item.id}")
    assert "Grace Hopper" in page.text and f'id="track-{grace["id"]}"' in page.text
    assert client.get(f"/review/{item.id}/track/{grace['id']}/thumb").status_code == 200

    # nobody was registered when the clip was processed, so its tracks were never compared:
    # showing one is a registrar's call, with a reason (the local user is an administrator)
    r = post(client, item, "decide", kind="video", action="show_track", track=grace["id"],
             person_id=person)
    assert r.status_code == 409 and "Skriv varför du visar ansiktet" in r.text
    r = post(client, item, "decide", kind="video", action="show_track", track=grace["id"],
             person_id=person, reason="Grace står vid bordet, jag känner igen henne")
    assert r.status_code == 303, r.text
    # a region over Grace's way from 0.5 to 1.0 s: there she is hidden again, shown or not
    fps, window = 20, range(10, 21)
    region = (min(truth[i][0][0] for i in window), min(truth[i][0][1] for i in window),
              max(truth[i][0][2] for i in window), max(truth[i][0][3] for i in window))
    r = post(client, item, "decide", kind="video", action="hide_region", x1=region[0], y1=region[1],
             x2=region[2], y2=region[3], **{"from": "0.5", "to": "1.0"})
    assert r.status_code == 303, r.text
    page = client.get(f"/review/{item.id}").text
    assert "Rättelser att göra" in page and "Godkänn (videon görs om)" in page
    assert not list(web.watch.ready.rglob("*.mp4"))

    out = approve_and_wait(web, client, item)
    before, after = frames_of(src), frames_of(out)
    assert len(before) == len(after) == 40
    ratio = {face: [detail(after[i], truth[i][face]) / detail(before[i], truth[i][face])
                    for i in range(40)] for face in (0, 1)}
    outside = [i for i in range(40) if i / fps < 0.45 or i / fps > 1.05]
    inside = [i for i in range(40) if 0.5 <= i / fps <= 1.0]
    assert min(ratio[0][i] for i in outside) > 0.8, ratio[0]      # Grace visible...
    assert max(ratio[0][i] for i in inside) < 0.5, ratio[0]       # ...but under the region
    assert max(ratio[1]) < 0.5, ratio[1]          # the other face hidden in every frame
    with AuditLog.open(web.settings) as audit:
        entry = [e for e in audit.entries() if e.kind == "video"][-1]
    assert entry.person_ids == [person]
    assert [d["action"] for d in entry.details["review"]["decisions"]] == \
        ["show_track", "hide_region"]


def test_hide_a_track_the_machine_showed(served, tmp_path):
    web, client = served
    person = register_grace(web.settings.data_dir)
    time.sleep(1.1)                      # the watcher reads the registry again (new files)
    src, truth = drop_clip(web, tmp_path)
    item = in_review(web)
    grace = track_of(item, truth, 0)
    assert grace["action"] == "shown" and grace["person_id"] == person, grace
    r = post(client, item, "decide", kind="video", action="hide_track", track=grace["id"])
    assert r.status_code == 303
    out = approve_and_wait(web, client, item)
    before, after = frames_of(src), frames_of(out)
    ratios = [detail(after[i], truth[i][0]) / detail(before[i], truth[i][0]) for i in range(40)]
    assert max(ratios) < 0.5, ratios
    with AuditLog.open(web.settings) as audit:
        entry = [e for e in audit.entries() if e.kind == "video"][-1]
    assert entry.person_ids == []
