"""The review page in a real browser (Debian's Chromium through playwright): upload, review,
draw a box over a face the detector missed, approve with the keyboard, and check the published
file's pixels and the audit entry. Every request the browser makes is logged: none may leave
the app's origin.

Set BLURKIT_SCREENSHOTS=DIR to keep the screenshots (the README's come from here)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES

from blurkit.audit import AuditLog
from tests.webkit import (
    LiveServer,
    WatcherThread,
    add_account,
    drop,
    in_ready,
    make_web,
    pending,
    wait_for,
)
from tests.webmedia import detail, load_rgb, missed_face_photo

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AFTER_VERDICT = re.compile(r".*/review(/\d+)?(\?.*)?$")   # the next item, or the queue


@pytest.fixture()
def site(data_dir, models_dir):
    web, app = make_web(data_dir)
    with WatcherThread(web), LiveServer(app) as server:
        yield web, server


@pytest.fixture()
def requests_seen(page):
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url))
    return seen


def screenshot(page, name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("BLURKIT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(keep) / name)


def only_own_origin(seen: list[str], server) -> None:
    foreign = [u for u in seen if not u.startswith(server.url + "/")]
    assert seen and not foreign, foreign


def last_photo_entry(web):
    """The newest photo entry of the audit log, or None."""
    with AuditLog.open(web.settings) as audit:
        entries = [e for e in audit.entries() if e.kind == "photo"]
    return entries[-1] if entries else None


def test_upload_draw_over_a_missed_face_and_approve(site, page, requests_seen, tmp_path):
    web, server = site
    src = tmp_path / "kalas.jpg"
    box = missed_face_photo(src)

    page.goto(server.url + "/upload")
    assert page.locator("h1").inner_text() == "Ladda upp foton och videor"
    page.set_input_files("#files", str(src))
    page.click("#upload-submit")
    page.wait_for_selector("#progress li.ok", timeout=30_000)
    assert "mottagen" in page.locator("#progress").inner_text()
    (item,) = pending(web)
    drop(web, SAMPLES / "group_photo.jpg", "gruppbild.jpg")
    pending(web, 2)

    page.goto(server.url + "/review")
    assert page.locator("h1").inner_text() == "Granska före publicering"
    page.wait_for_selector(f'img[src^="/review/{item.id}/thumb"]')
    screenshot(page, "queue.png", tmp_path)
    page.click(f'a[href="/review/{item.id}"]')
    page.wait_for_selector("#overlay")

    # draw the box with the mouse, from corner to corner, in screen coordinates
    overlay = page.locator("#overlay").bounding_box()
    sx, sy = overlay["width"] / 640, overlay["height"] / 480
    page.mouse.move(overlay["x"] + box[0] * sx, overlay["y"] + box[1] * sy)
    page.mouse.down()
    page.mouse.move(overlay["x"] + box[2] * sx, overlay["y"] + box[3] * sy, steps=5)
    page.mouse.up()
    values = [int(page.input_value(f"#{k}")) for k in ("x1", "y1", "x2", "y2")]
    assert all(abs(v - b) <= 3 for v, b in zip(values, box)), values
    page.keyboard.press("h")
    page.wait_for_selector(".decisions li")
    assert "Område dolt" in page.locator(".decisions").inner_text()
    screenshot(page, "photo-region.png", tmp_path)

    page.keyboard.press("a")                      # approve
    page.wait_for_url(AFTER_VERDICT)
    out = wait_for(lambda: in_ready(web, "kalas.jpg"),
                   what="the published copy")
    assert detail(load_rgb(out), box) < 0.25 * detail(load_rgb(src), box)
    # the copy is published first and the audit entry appended right after: wait for both
    entry = wait_for(lambda: last_photo_entry(web), what="the audit entry")
    assert entry.details["review"]["by"] == web.settings.operator
    assert entry.details["review"]["decisions"][0]["action"] == "hide_region"
    only_own_origin(requests_seen, server)


def test_keyboard_only_review_and_the_english_switch(site, page, requests_seen, tmp_path):
    web, server = site
    drop(web, SAMPLES / "group_photo.jpg", "portratt.jpg")
    (item,) = pending(web)
    page.goto(server.url + "/review")
    # Tab until the "start reviewing" link has the focus, then Enter: no mouse anywhere
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "start":
            break
    else:
        pytest.fail("the start link cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/review/{item.id}")
    focus = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus is not None
    page.keyboard.press("o")                      # boxes off and on again
    assert page.get_attribute("#toggle-overlay", "aria-pressed") == "false"
    page.keyboard.press("o")
    page.wait_for_selector("#picture")
    page.wait_for_function("document.getElementById('picture').complete")
    screenshot(page, "photo.png", tmp_path)
    page.keyboard.press("a")
    page.wait_for_url(AFTER_VERDICT)
    assert wait_for(lambda: in_ready(web, "portratt.jpg"),
                    what="the published copy")

    page.click("text=English")
    assert page.locator("h1").inner_text() == "Review before publishing"
    page.reload()
    assert page.locator("h1").inner_text() == "Review before publishing"     # remembered
    only_own_origin(requests_seen, server)


def test_on_the_network_no_page_without_a_login(data_dir, models_dir, page, requests_seen):
    web, app = make_web(data_dir, lan=True)
    add_account(data_dir, "kim", "staff")
    with LiveServer(app) as server:
        for path in ("/review", "/upload", "/status"):
            page.goto(server.url + path)
            assert page.url.startswith(server.url + "/login")
        page.fill("#name", "kim")
        page.fill("#password", "correct horse 42")
        page.keyboard.press("Enter")
        page.wait_for_url(server.url + "/status")        # back where the login was asked for
        assert "kim" in page.locator(".user").inner_text()
        cookie = next(c for c in page.context.cookies() if c["name"] == "blurkit_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        only_own_origin(requests_seen, server)


def test_unhide_show_from_a_suggestion_and_the_original(site, page, requests_seen, tmp_path):
    """Un-hide a false positive, show a consenting person chosen from the page's suggestion
    (loaded by htmx), look at the original (not cached, audited), and the app's refusals."""
    import subprocess
    import sys

    from conftest import ROOT

    web, server = site
    drop(web, SAMPLES / "group_photo.jpg", "grupp.jpg")
    (item,) = pending(web)
    proc = subprocess.run(
        [sys.executable, "-m", "blurkit", "--data-dir", str(web.settings.data_dir), "consent",
         "add", "Grace Hopper", "--photo", str(SAMPLES / "portrait_exif_gps_thumbnail.jpg"),
         "--purpose", "public", "--signed", "2026-01-01", "--form-ref", "F-9"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "BLURKIT_LANG": "en"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    faces = item.report["faces"]
    largest = max(range(len(faces)), key=lambda i: faces[i]["box"][2] - faces[i]["box"][0])
    sure = [i for i in range(len(faces)) if faces[i]["score"] >= 0.5 and i != largest]
    smallest = min(sure, key=lambda i: faces[i]["box"][2] - faces[i]["box"][0])

    page.goto(f"{server.url}/review/{item.id}")
    # show: the suggestion list arrives through htmx, nearest first, with the similarity
    page.click(f"#face-{largest} >> text=Visa som person med samtycke")
    page.wait_for_selector(f"#person-{largest}")
    option = page.locator(f"#person-{largest} option").first.inner_text()
    assert "Grace Hopper" in option and "likhet" in option
    page.click(f"#show-{largest} button[type=submit]")
    page.wait_for_selector(f"#face-{largest}.shown")
    # un-hide a false positive (the smallest sure face stands in for a poster): the machine
    # is sure it is a face, so the page asks first
    page.click(f"#face-{smallest} >> text=Inte ett ansikte")
    page.wait_for_selector("#confirm-unhide")
    assert "Lämna det synligt ändå?" in page.locator("#message").inner_text()
    page.click("#confirm-unhide")
    page.wait_for_selector(f"#face-{smallest}.untouched")
    assert page.locator(".decisions li").count() == 2

    # the original, only while the compare button is held, never cached, and recorded
    with page.expect_response(lambda r: "/original" in r.url) as caught:
        page.locator("#compare").dispatch_event("pointerdown")
    response = caught.value
    assert response.status == 200 and "no-store" in response.headers["cache-control"]
    assert "ORIGINAL" in page.locator("#showing").inner_text()
    page.locator("#compare").dispatch_event("pointerup")
    assert page.locator("#showing").inner_text() == ""
    with AuditLog.open(web.settings) as audit:
        assert [e.kind for e in audit.entries()].count("original-viewed") == 1

    # a POST without the CSRF token is refused; an id that is a path is not found
    r = page.request.post(f"{server.url}/review/{item.id}/approve", form={"revision": "9"})
    assert r.status == 403
    r = page.request.get(f"{server.url}/review/..%2F..%2Fetc%2Fpasswd")
    assert r.status == 404
    page.keyboard.press("a")
    page.wait_for_url(AFTER_VERDICT)
    out = wait_for(lambda: in_ready(web, "grupp.jpg"),
                   what="the published copy")
    with AuditLog.open(web.settings) as audit:
        entry = [e for e in audit.entries() if e.kind == "photo"][-1]
    assert len(entry.person_ids) == 1
    assert [d["action"] for d in entry.details["review"]["decisions"]] == ["show", "unhide"]
    box = faces[largest]["box"]
    assert detail(load_rgb(out), box) > 0.7 * detail(load_rgb(SAMPLES / "group_photo.jpg"), box)
    only_own_origin(requests_seen, server)


def test_video_tracks_shown_and_hidden(site, page, requests_seen, tmp_path):
    """A clip processed before Grace registered: show her track. Another clip of the same
    scene processed after: hide the track the machine showed. Both render on approval, with
    progress, and are checked frame by frame."""
    import time

    from facevideo import make_face_clip

    from blurkit.media.video import probe_video, read_frames
    from tests.test_web_video import register_grace, track_of

    web, server = site

    def review_clip(name: str, frames: int):
        src = tmp_path / name
        truth = make_face_clip(src, n=frames)
        drop(web, src, name)

        def find():
            return next((i for i in web.review.desk.pending() if i.rel == name), None)
        item = wait_for(find, timeout=180, what=name)
        return src, truth, item, track_of(item, truth, 0)

    def approve_and_check(src, truth, visible: bool):
        page.keyboard.press("a")
        page.wait_for_url(re.compile(r".*/render$"))
        page.wait_for_selector("#render-done", timeout=300_000)
        out = wait_for(lambda: in_ready(web, src.name), what=src.name)
        before = {f.index: f.rgb for f in read_frames(src, probe_video(src))}
        after = {f.index: f.rgb for f in read_frames(out, probe_video(out))}
        ratios = [detail(after[i], truth[i][0]) / detail(before[i], truth[i][0])
                  for i in range(len(truth))]
        assert (min(ratios) > 0.8) if visible else (max(ratios) < 0.5), ratios

    src, truth, first, grace = review_clip("forst.mp4", 40)
    assert grace["action"] == "hidden"
    person = register_grace(web.settings.data_dir)
    page.goto(f"{server.url}/review/{first.id}")
    page.select_option(f"#person-t{grace['id']}", str(person))
    # never compared (Grace registered after the clip was processed): a registrar's call,
    # with a reason written down (the local user is an administrator)
    page.fill(f"#track-{grace['id']} input[name=reason]", "Grace vid bordet, jag var där")
    page.click(f"#track-{grace['id']} button[type=submit]")
    page.wait_for_selector("text=Rättelser att göra")
    screenshot(page, "video.png", tmp_path)
    assert page.locator("#approve").inner_text().startswith("Godkänn (videon görs om)")
    approve_and_check(src, truth, visible=True)

    time.sleep(1.1)
    src, truth, second, grace = review_clip("sedan.mp4", 44)
    assert grace["action"] == "shown" and grace["person_id"] == person
    page.goto(f"{server.url}/review/{second.id}")
    page.click(f"#track-{grace['id']} button[type=submit]")        # Dölj
    page.wait_for_selector("text=Rättelser att göra")
    approve_and_check(src, truth, visible=False)
    only_own_origin(requests_seen, server)


def test_video_a_missed_face_is_drawn_over_the_paused_frame(site, page, tmp_path):
    """Pause, D, draw a box over the frame, I and O mark the time, H: the region waits as a
    correction with its box in the video's pixels and its times from the player."""
    from facevideo import make_face_clip

    web, server = site
    src = tmp_path / "missad.mp4"
    truth = make_face_clip(src, n=40)
    drop(web, src, "missad.mp4")
    (item,) = pending(web)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server.url}/review/{item.id}")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    page.evaluate("document.getElementById('player').currentTime = 0.5")
    page.keyboard.press("d")                              # draw mode: the player pauses
    assert page.evaluate("document.getElementById('player').paused")
    page.keyboard.press("i")
    box = truth[10][1]                                    # the second face at 0.5 s
    overlay = page.locator("#overlay").bounding_box()
    sx, sy = overlay["width"] / item.report["width"], overlay["height"] / item.report["height"]
    page.mouse.move(overlay["x"] + box[0] * sx, overlay["y"] + box[1] * sy)
    page.mouse.down()
    page.mouse.move(overlay["x"] + box[2] * sx, overlay["y"] + box[3] * sy, steps=4)
    page.mouse.up()
    values = [int(page.input_value(f"#{k}")) for k in ("x1", "y1", "x2", "y2")]
    assert all(abs(v - b) <= 4 for v, b in zip(values, box, strict=True)), (values, box)
    page.evaluate("document.getElementById('player').currentTime = 1.2")
    page.keyboard.press("o")
    assert float(page.input_value("#t-from")) == pytest.approx(0.5, abs=0.05)
    assert float(page.input_value("#t-to")) == pytest.approx(1.2, abs=0.05)
    page.keyboard.press("h")
    page.wait_for_selector("text=Rättelser att göra")
    screenshot(page, "video-region.png", tmp_path)
    (d,) = web.review.desk.get(item.id).pending
    assert d["action"] == "hide_region" and d["from"] == pytest.approx(0.5, abs=0.05)
