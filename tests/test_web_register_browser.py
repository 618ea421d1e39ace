"""The register and diarium pages in a real Chromium (pytest-playwright), against the app
served by uvicorn on 127.0.0.1 with a real data directory and the real models.

Skips cleanly where Debian's chromium (/usr/lib/chromium/chromium) or playwright is missing
(`playwright install` cannot download browsers here, so it is never called). The camera is
Chromium's fake capture device (a moving test pattern, no face): the page takes a frame with
getUserMedia, sends it as a file, and the server refuses it for having no face. Screenshots
go to BLURKIT_SCREENSHOTS (default: a temporary folder).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/lib/chromium/chromium"
pytest.importorskip("playwright")
pytest.importorskip("pytest_playwright")
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")]

from test_web_register import PASSWORD, SIGNED, Site, person_ids, photos, process  # noqa: E402,F401

# Chromium's launch arguments (with the fake camera) are set once for the session in
# tests/conftest.py: the browser is shared by every browser test.


@pytest.fixture()
def served(tmp_path, models_dir, monkeypatch):
    import uvicorn

    monkeypatch.setenv("BLURKIT_MODELS_DIR", str(models_dir))
    data = tmp_path / "data"
    data.mkdir()
    site = Site(data)
    site.web.lan = False           # loopback: http://127.0.0.1 is a secure context (camera)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    site.url = f"http://127.0.0.1:{port}"
    yield site
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture()
def shots(tmp_path) -> Path:
    d = Path(os.environ.get("BLURKIT_SCREENSHOTS", tmp_path / "shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture()
def csp_errors(page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    return errors


def login(page, site, name: str) -> None:
    page.goto(site.url + "/login?next=/people")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/people$"))


def fill_person(page, name: str) -> None:
    page.fill("#name", name)
    page.check("input[name=purpose][value=public]")
    page.fill("#form_ref", f"F-{name}")
    page.fill("#signed", SIGNED)


def test_register_by_clicking_the_face_then_the_next_photo_shows_her(served, page, photos,
                                                                       shots, csp_errors,
                                                                       tmp_path):
    login(page, served, "rita")
    page.click("#new-person")
    fill_person(page, "Grace")
    page.set_input_files("#photos", str(photos["two"]))
    page.screenshot(path=str(shots / "register-form.png"), full_page=True)
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/new/[A-Za-z0-9_-]+$"))
    assert page.get_by_text("Vilket ansikte är Graces?").is_visible()
    page.screenshot(path=str(shots / "register-pick-face.png"), full_page=True)
    page.set_viewport_size({"width": 768, "height": 1024})           # a tablet
    page.screenshot(path=str(shots / "register-pick-face-tablet.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.click("label.face-choice:has(input[value='1'])")
    assert page.is_checked("input[name=face_0][value='1']")
    page.click("#check-submit")
    page.wait_for_url(re.compile(r".*/people/\d+$"))
    assert page.get_by_text("Grace är registrerad").is_visible()
    page.screenshot(path=str(shots / "person.png"), full_page=True)
    (pid,) = person_ids(served)
    item = process(served, photos["group"], tmp_path / "out")
    assert [s["person_id"] for s in item.get("shown", [])] == [pid]
    page.goto(served.url + "/people")
    assert page.locator("tr[data-person] .tag.ok").first.inner_text() == "får synas: offentligt"
    page.screenshot(path=str(shots / "people.png"), full_page=True)
    page.goto(served.url + "/diarium")
    assert page.locator("#chain").inner_text().startswith("Diariet är intakt")
    page.screenshot(path=str(shots / "diarium.png"), full_page=True)
    assert csp_errors == []


def test_refused_photo_and_the_camera_photo_without_a_face(served, page, photos, shots,
                                                           csp_errors):
    login(page, served, "rita")
    page.goto(served.url + "/people/new")
    fill_person(page, "Grace")
    page.set_input_files("#photos", str(photos["blurred"]))
    page.click("#camera-start")
    page.wait_for_selector("#camera-live:not([hidden])")
    # poll from here: wait_for_function evaluates a string in the page, which the page's
    # Content-Security-Policy (no 'unsafe-eval') rightly refuses
    for _ in range(300):
        if page.evaluate("() => document.getElementById('camera-video').videoWidth > 0"):
            break
        page.wait_for_timeout(100)
    page.click("#camera-take")
    page.wait_for_selector("#camera-shots img")
    assert "kamera-1.jpg" in page.locator("#camera-shots").inner_text()
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/new/[A-Za-z0-9_-]+$"))
    first = page.locator("#photo-0")
    assert "Fotot kan inte användas" in first.inner_text()
    assert "inte tillräckligt skarpt" in first.inner_text()
    assert first.locator("label.face-choice.judged img").evaluate("i => i.naturalWidth") > 0
    camera = page.locator("#photo-1")
    assert "kamera-1.jpg" in camera.inner_text() and "Inget ansikte hittades" in camera.inner_text()
    page.screenshot(path=str(shots / "register-refused.png"), full_page=True)
    assert person_ids(served) == []
    assert csp_errors == []


def test_withdraw_shows_the_takedown_list_and_staff_is_refused(served, page, photos, shots,
                                                               tmp_path, browser):
    login(page, served, "rita")
    page.goto(served.url + "/people/new")
    fill_person(page, "Grace")
    page.set_input_files("#photos", str(photos["grace"]))
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/\d+$"))
    (pid,) = person_ids(served)
    process(served, photos["group"], tmp_path / "before")
    page.click("#act-withdraw")
    assert "ALLA personens ansiktsmallar (1)" in page.inner_text("main")
    page.screenshot(path=str(shots / "withdraw-confirm.png"), full_page=True)
    page.click("#withdraw-confirm")
    page.wait_for_url(re.compile(rf".*/people/{pid}/takedown$"))
    assert page.locator("#takedown td.file").all_inner_texts() == ["group.png"]
    page.screenshot(path=str(shots / "takedown.png"), full_page=True)
    after = process(served, photos["group"], tmp_path / "after")
    assert after.get("shown", []) == []

    staff = browser.new_context().new_page()
    login_staff = staff.goto(served.url + "/login?next=/upload")
    assert login_staff.ok
    staff.fill("#name", "sam")
    staff.fill("#password", PASSWORD)
    staff.click("form[action='/login'] button[type=submit]")
    staff.wait_for_url(re.compile(r".*/upload$"))
    assert staff.locator("a[href='/people']").count() == 0        # not in the menu either
    for url in ("/people", f"/people/{pid}", "/people/new", f"/people/{pid}/takedown",
                "/diarium", "/diarium/export.csv"):
        response = staff.goto(served.url + url)
        assert response.status == 403, url
        assert "Inte tillåtet" in staff.inner_text("main")
    staff.screenshot(path=str(shots / "staff-403.png"), full_page=True)
    staff.context.close()


def test_diarium_csv_download_equals_the_cli_export(served, page, photos, tmp_path):
    login(page, served, "rita")
    page.goto(served.url + "/people/new")
    fill_person(page, "Grace")
    page.set_input_files("#photos", str(photos["grace"]))
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/\d+$"))
    page.goto(served.url + "/diarium")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    got = tmp_path / "web.csv"
    download.save_as(got)
    assert download.suggested_filename.startswith("blurkit-diarium-")
    dest = tmp_path / "cli.csv"
    assert served.cli("audit", "export", "--csv", str(dest)).exit_code == 0
    assert got.read_bytes() == dest.read_bytes()


def test_expired_consent_and_minor_without_guardian_stay_hidden(served, page, photos, shots,
                                                                 tmp_path):
    from datetime import date, timedelta

    today = date.today()
    login(page, served, "rita")
    page.goto(served.url + "/people/new")
    fill_person(page, "Grace")
    page.fill("#signed", (today - timedelta(days=400)).isoformat())
    page.fill("#expires", (today - timedelta(days=10)).isoformat())
    page.set_input_files("#photos", str(photos["grace"]))
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/\d+$"))
    assert "upphörde att gälla" in page.inner_text("main")
    page.goto(served.url + "/people/new")
    fill_person(page, "Lill")
    page.fill("#birth_year", str(today.year - 8))
    page.select_option("#guardian", "no")
    page.set_input_files("#photos", str(photos["astronaut"]))
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/\d+$"))
    assert "blir ALDRIG giltigt" in page.inner_text("main")
    page.goto(served.url + "/people")
    grace = page.locator("tr", has_text="Grace").inner_text()
    lill = page.locator("tr", has_text="Lill").inner_text()
    assert "döljs: offentligt" in grace and "har gått ut" in grace
    assert "döljs: offentligt" in lill and "UTAN vårdnadshavares samtycke" in lill
    page.screenshot(path=str(shots / "people-states.png"), full_page=True)
    item = process(served, photos["two"], tmp_path / "out")
    assert item.get("shown", []) == [] and len(item["faces"]) == 2


# ------------------------------------------------------------------------------- a phone

def _fits(page) -> tuple[int, int]:
    """(the page's width, the window's): the page must not scroll sideways (a wide table
    may scroll inside its own .table-wrap)."""
    return tuple(page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"))


def _diarium_entries(served, pid: int) -> None:
    """Entries of every kind the diarium words: an approval that showed someone on a
    registrar's word, a rejection, a failure with its reason, a deletion, a viewed original,
    and a long file name."""
    from blurkit.audit import AuditLog

    long_name = "/srv/blurkit/ready/" + "sommarfest-pa-dagverksamheten-" * 4 + "IMG_0001.jpg"
    with AuditLog.open(served.settings.replace(operator="sam")) as log:
        log.append({"kind": "photo", "purpose": "public", "input_path": "/in/a.jpg",
                    "output_path": long_name, "faces": 3, "shown": [(pid, 1)],
                    "details": {"review": {"decision": "approved", "by": "sam", "decisions": [
                        {"action": "show", "face": 0, "person_id": pid, "by": "rita",
                         "grounds": "registrar", "reason": "Grace själv, syns tydligt"},
                        {"action": "hide_region", "box": [1, 2, 3, 4], "by": "sam"}]}}})
        log.append({"kind": "photo", "status": "failed", "purpose": "public",
                    "input_path": "/in/b.jpg", "reason": "review.rejected",
                    "details": {"review": {"decision": "rejected", "by": "sam",
                                           "decisions": []}}})
        log.append({"kind": "video", "status": "failed", "purpose": "internal",
                    "input_path": "/in/trasig.mp4", "reason": "video.corrupt"})
        log.append({"kind": "retention-delete", "purpose": "public", "input_path": "/in/a.jpg",
                    "details": {"keep_days": 30, "duplicate": False}})
        log.append({"kind": "original-viewed", "purpose": "public", "input_path": "/in/a.jpg",
                    "details": {"source": "web", "item": 7}})


def test_every_register_and_diarium_page_fits_1280_and_a_400_px_phone(served, page, photos,
                                                                       shots, tmp_path,
                                                                       csp_errors):
    login(page, served, "rita")
    page.goto(served.url + "/people/new")
    fill_person(page, "Grace Brewster Murray Hopper")
    page.check("input[name=keep_photos]")
    page.set_input_files("#photos", str(photos["grace"]))
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/\d+$"))
    (pid,) = person_ids(served)
    long_dir = tmp_path / ("publicerat-" + "x" * 60)
    process(served, photos["group"], long_dir)
    _diarium_entries(served, pid)
    # a registration waiting on its check step (two faces: a person picks one)
    page.goto(served.url + "/people/new")
    fill_person(page, "Astrid")
    page.set_input_files("#photos", str(photos["two"]))
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/people/new/[A-Za-z0-9_-]+$"))
    check = page.url[len(served.url):]

    pages = [("people", "/people"), ("person", f"/people/{pid}"),
             ("register", "/people/new"), ("check", check),
             ("photos", f"/people/{pid}/photos"), ("consent", f"/people/{pid}/consent"),
             ("edit", f"/people/{pid}/edit"), ("withdraw", f"/people/{pid}/withdraw"),
             ("remove", f"/people/{pid}/remove"), ("takedown", f"/people/{pid}/takedown"),
             ("diarium", "/diarium")]
    wide = []
    for width in (1280, 400):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages:
            response = page.goto(served.url + url)
            assert response.ok, (url, response.status)
            page.screenshot(path=str(shots / f"fit-{name}-{width}.png"), full_page=True)
            scroll, inner = _fits(page)
            if scroll > inner:
                wide.append((name, width, scroll, inner))
            # wide: real tables; a phone: one card per row, each value with its column's name
            shapes = set(page.evaluate(
                "() => [...document.querySelectorAll('table.as-cards')].map(t => "
                "getComputedStyle(t).display + '/' + getComputedStyle(t.tHead).position)"))
            assert shapes <= ({"table/static"} if width == 1280 else {"block/absolute"}), \
                (name, width, shapes)
    assert wide == []
    # the diarium in words, Swedish only: nobody reads a raw key or an English word there
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(served.url + "/diarium")
    text = page.inner_text("#entries")
    for english in ("approved", "rejected", "review.", "consent_ids", "templates_erased",
                    "video.corrupt", "failed", "=", "UTC"):
        assert english not in text, english
    assert "godkänd av sam" in text and "avvisad av sam" in text
    assert f"rita visade person {pid} som registrator: ”Grace själv, syns tydligt”" in text
    assert "misslyckades: trasig.mp4: ingen läsbar video" in text
    assert "lade till 1 ansiktsmall" in text
    assert "Tiderna är datorns lokala tid" in page.inner_text("#diar-count")
    rejected = page.locator("tr.rejected .tag").inner_text()
    assert rejected == "avvisad"                                # never "misslyckades"
    assert csp_errors == []


def test_a_too_large_photo_is_named_before_it_is_sent(served, page, shots, tmp_path):
    """The page names a photo over the per-photo limit as soon as it is chosen and does not
    send the form with it (the server refuses it by its size anyway: test_web_register)."""
    big = tmp_path / "semester-stor.jpg"
    with open(big, "wb") as fh:                    # 60 MB, sparse: nothing written to disk
        fh.write(b"\xff\xd8\xff\xe0")
        fh.truncate(60 << 20)
    login(page, served, "rita")
    page.goto(served.url + "/people/new")
    page.set_viewport_size({"width": 400, "height": 900})
    fill_person(page, "Grace")
    page.set_input_files("#photos", str(big))
    note = page.locator("#photos-size")
    assert note.is_visible() and note.inner_text() == "semester-stor.jpg: större än 50 MB."
    page.click("#register-submit")
    assert page.url.endswith("/people/new")               # not sent
    assert page.locator("#register-submit").is_enabled()
    assert _fits(page)[0] <= _fits(page)[1]
    page.screenshot(path=str(shots / "register-too-large-400.png"), full_page=True)
    assert person_ids(served) == []
