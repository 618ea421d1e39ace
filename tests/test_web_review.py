"""The review stage end to end at the HTTP level: the real watcher (in a thread, as under
`blurkit serve`) processes a dropped photo with the real models; a person corrects it on the
page; approving publishes it into ready/ with an audit entry naming the reviewer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from starlette.testclient import TestClient

from blurkit.audit import AuditLog
from blurkit.config import load_settings
from tests.webkit import WatcherThread, csrf_of, drop, in_ready, make_web, pending, wait_for
from tests.webmedia import detail, load_rgb, missed_face_photo

LOCAL = "http://127.0.0.1:8470"
PORTRAIT = SAMPLES / "portrait_exif_gps_thumbnail.jpg"
PORTRAIT_FACE = (150, 118, 372, 338)


@pytest.fixture()
def served(data_dir, models_dir):
    web, app = make_web(data_dir)
    with WatcherThread(web), TestClient(app, base_url=LOCAL) as client:
        yield web, client


def published(web, name: str) -> Path:
    return wait_for(lambda: in_ready(web, name),
                    what=f"{name} in ready/")


def form(client, item, **fields):
    token = csrf_of(client.get(f"/review/{item.id}").text)
    return {"csrf_token": token, "revision": str(item.revision), **fields}


def look(client, item):
    """What a reviewer's browser does before approval: show the anonymized copy."""
    r = client.get(f"/review/{item.id}/output?rev={item.revision}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


def last_entry(web):
    with AuditLog.open(web.settings) as audit:
        entries = [e for e in audit.entries() if e.kind in ("photo", "video")]
    return entries[-1] if entries else None


def test_a_face_the_detector_missed_is_hidden_by_a_reviewer(served, tmp_path):
    web, client = served
    src = tmp_path / "missed.jpg"
    box = missed_face_photo(src)
    drop(web, src, "missed.jpg")
    (item,) = pending(web)
    assert item.kind == "photo" and item.state == "review"
    faces = item.report.get("faces", [])
    assert not any(f["box"][0] < box[2] and box[0] < f["box"][2] and f["box"][1] < box[3]
                   and box[1] < f["box"][3] for f in faces), "the detector found the drawn face"
    assert not list(web.watch.ready.rglob("*.jpg")), "published before approval"
    assert client.get("/review").text.count(f'href="/review/{item.id}"') >= 1

    first = item.revision
    r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                    data=form(client, item, action="hide_region", shape="rect",
                              x1=box[0], y1=box[1], x2=box[2], y2=box[3]))
    assert r.status_code == 303, r.text
    desk = web.review.desk
    item = desk.get(item.id)
    assert item.revision == first + 1
    (decision,) = item.report["decisions"]
    assert decision["action"] == "hide_region" and decision["by"] == web.settings.operator
    # the page shows the re-rendered picture: the region is destroyed already
    assert detail(load_rgb(item.output), box) < 0.25 * detail(load_rgb(src), box)

    # approving what nobody was shown is refused: the page's picture must have been loaded
    r = client.post(f"/review/{item.id}/approve", data=form(client, item), follow_redirects=False)
    assert r.status_code == 409 and "har inte visats" in r.text
    look(client, item)
    r = client.post(f"/review/{item.id}/approve", data=form(client, item), follow_redirects=False)
    assert r.status_code == 303
    out = published(web, "missed.jpg")
    assert detail(load_rgb(out), box) < 0.25 * detail(load_rgb(src), box)
    entry = wait_for(lambda: last_entry(web), what="the approval's audit entry")
    assert entry.operator == web.settings.operator
    review = entry.details["review"]
    assert review["decision"] == "approved" and review["by"] == web.settings.operator
    assert [d["action"] for d in review["decisions"]] == ["hide_region"]
    assert entry.output_path and Path(entry.output_path).name == "missed.jpg"


def test_a_false_positive_is_left_untouched_and_reject_publishes_nothing(served, tmp_path):
    web, client = served
    drop(web, PORTRAIT, "poster.jpg")
    (item,) = pending(web)
    hidden = [i for i, f in enumerate(item.report["faces"]) if f["action"] == "hidden"]
    assert hidden
    for i in hidden:
        item = web.review.desk.get(item.id)
        sure = item.report["faces"][i]["score"] >= 0.5
        r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                        data=form(client, item, action="unhide", face=i))
        if sure:           # a face the machine is sure of: asked first, nothing changed yet
            assert r.status_code == 409 and "Lämna det synligt ändå?" in r.text
            assert 'id="confirm-unhide"' in r.text
            assert web.review.desk.get(item.id).revision == item.revision
            r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                            data=form(client, item, action="unhide", face=i, confirmed="1"))
        assert r.status_code == 303
    desk = web.review.desk
    item = desk.get(item.id)
    original = load_rgb(PORTRAIT)
    assert detail(load_rgb(item.output), PORTRAIT_FACE) > 0.7 * detail(original, PORTRAIT_FACE)
    assert {f["reason"] for f in item.report["faces"]} == {"reviewer_not_a_face"}

    # a stale revision is refused, not applied
    stale = form(client, item)
    stale["revision"] = str(item.revision - 1)
    r = client.post(f"/review/{item.id}/approve", data=stale, follow_redirects=False)
    assert r.status_code == 409

    r = client.post(f"/review/{item.id}/reject", data=form(client, item), follow_redirects=False)
    assert r.status_code == 303
    entry = wait_for(lambda: last_entry(web), what="the rejection's audit entry")
    assert entry.status == "failed" and entry.reason == "review.rejected"
    assert not list(web.watch.ready.rglob("*.jpg"))
    assert last_entry(web).details["review"]["decision"] == "rejected"


def test_a_consenting_person_is_shown_from_a_suggestion(served, tmp_path):
    web, client = served
    drop(web, PORTRAIT, "grace.jpg")
    (item,) = pending(web)
    assert all(f["action"] == "hidden" for f in item.report["faces"])   # nobody registered yet
    proc = subprocess.run(
        [sys.executable, "-m", "blurkit", "--data-dir", str(web.settings.data_dir), "consent",
         "add", "Grace Hopper", "--photo", str(PORTRAIT), "--purpose", "public", "--signed",
         "2026-01-01", "--form-ref", "F-7"], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "BLURKIT_LANG": "en"}, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    face = max(range(len(item.report["faces"])),
               key=lambda i: item.report["faces"][i]["box"][2] - item.report["faces"][i]["box"][0])
    r = client.get(f"/review/{item.id}/suggest/{face}")
    assert r.status_code == 200 and "Grace Hopper" in r.text
    similarity = float(re.search(r"likhet ([01]\.\d{3})", r.text).group(1))
    assert similarity >= 0.94          # the same person, compared on the real templates
    person_id = int(r.text.split('option value="')[1].split('"')[0])
    r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                    data=form(client, item, action="show", face=face, person_id=person_id))
    assert r.status_code == 303
    desk = web.review.desk
    item = desk.get(item.id)
    assert item.report["faces"][face]["action"] == "shown"
    assert item.report["shown"][0]["person_id"] == person_id
    look(client, item)
    client.post(f"/review/{item.id}/approve", data=form(client, item))
    out = published(web, "grace.jpg")
    assert detail(load_rgb(out), PORTRAIT_FACE) > 0.7 * detail(load_rgb(PORTRAIT), PORTRAIT_FACE)
    entry = wait_for(lambda: last_entry(web), what="the approval's audit entry")
    assert entry.person_ids == [person_id]
    assert entry.details["review"]["decisions"][0]["person_id"] == person_id


def test_showing_needs_a_valid_consent(served, tmp_path):
    web, client = served
    drop(web, PORTRAIT, "grace.jpg")
    (item,) = pending(web)
    r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                    data=form(client, item, action="show", face=0, person_id=4711))
    assert r.status_code == 409
    assert "kan inte väljas här" in r.text
    desk = web.review.desk
    assert desk.get(item.id).revision == item.revision


def test_an_original_is_never_cached_and_every_view_is_recorded(served, tmp_path):
    web, client = served
    drop(web, PORTRAIT, "orig.jpg")
    (item,) = pending(web)
    r = client.get(f"/review/{item.id}/original")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert "no-store" in r.headers["cache-control"]
    assert b"Exif" not in r.content[:2000] and b"GPS" not in r.content
    with AuditLog.open(load_settings(web.settings.data_dir)) as audit:
        views = [e for e in audit.entries() if e.kind == "original-viewed"]
    assert len(views) == 1 and views[0].details["item"] == item.id
    out = client.get(f"/review/{item.id}/output")
    assert out.status_code == 200 and "no-store" in out.headers["cache-control"]


def test_flags_come_from_the_report():
    from types import SimpleNamespace

    from blurkit.usecases.review import flags

    def item(kind="photo", **report):
        return SimpleNamespace(kind=kind, report=report)

    assert flags(item()) == []
    assert flags(item(extra={"hidden_again": 2})) == ["web.flag.self_check"]
    assert flags(item("video", extra={"frames_hidden_again": 1})) == ["web.flag.self_check"]
    # a possible miss is flagged exactly when the second look left a pointer
    assert flags(item(extra={"candidates": [{"box": [0, 0, 9, 9], "score": 0.3}],
                             "pointers": []})) == []
    assert flags(item(extra={"pointers": [{"box": [0, 0, 40, 40], "kind": "large_face",
                                           "why": "secondlook.why.large_face"}]})) == \
        ["web.flag.look"]
    assert flags(item(faces=[{"action": "hidden", "reason": "doubtful",
                              "suggestion": {"person_id": 3, "similarity": 0.94}}])) == \
        ["web.flag.suggestion"]
    assert flags(item("video", faces=[{"action": "hidden", "reason": "too_few_clear_frames"}])) \
        == ["web.flag.ambiguous_track"]


def register_near(data_dir, models_dir, similarity: float) -> int:
    """Grace registered with two templates this similar to her face in PORTRAIT (a face in
    the doubtful band: hidden, with a suggestion)."""
    from datetime import date

    from blurkit.consent import Registry
    from blurkit.identify import MODEL_NAME, enrol_photos
    from tests.test_bars import toward

    settings = load_settings(data_dir).replace(models_dir_override=models_dir)
    face = enrol_photos([PORTRAIT], settings).templates[0]
    with Registry.open(settings) as reg:
        person = reg.add_person("Grace Hopper")
        reg.add_consent(person.id, purpose="public", signed=date(2026, 1, 1), form_ref="F-1")
        reg.add_templates(person.id, [toward(face, similarity, 11),
                                      toward(face, similarity, 12)], MODEL_NAME)
    return person.id


@pytest.mark.parametrize("similarity, staff_may", [(0.941, True), (0.925, False)])
def test_a_suggestion_is_confirmed_by_a_reviewer_or_left_to_a_registrar(
        data_dir, models_dir, similarity, staff_may):
    """A face the machine held back ("Is this Grace Hopper?"): above the floor any reviewer
    confirms it with one click, and the diarium says on what grounds; below it a staff
    account cannot, only a registrar with a reason."""
    import time

    from tests.webkit import add_account, login

    person = register_near(data_dir, models_dir, similarity)
    time.sleep(1.1)
    web, app = make_web(data_dir, lan=True)
    add_account(data_dir, "kim", "staff")
    add_account(data_dir, "rut", "registrar")
    with WatcherThread(web), TestClient(app, base_url="http://blurkit.local:8470") as client:
        drop(web, PORTRAIT, "grace.jpg")
        (item,) = pending(web)
        face = next(i for i, f in enumerate(item.report["faces"]) if f.get("suggestion"))
        assert item.report["faces"][face]["action"] == "hidden"
        assert login(client, "kim").status_code == 303
        page = client.get(f"/review/{item.id}").text
        assert "Är det här Grace Hopper?" in page and "ett ansikte liknar någon" in page
        r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                        data=form(client, item, action="show", face=face, person_id=person))
        if staff_may:
            assert r.status_code == 303, r.text
            item = web.review.desk.get(item.id)
            (d,) = item.report["decisions"]
            assert d["grounds"] == "match" and d["by"] == "kim"
            assert d["similarity"] == pytest.approx(similarity, abs=0.01)
            assert item.report["faces"][face]["action"] == "shown"
            look(client, item)
            client.post(f"/review/{item.id}/approve", data=form(client, item))
            entry = wait_for(lambda: last_entry(web), what="the approval's audit entry")
            (shown,) = entry.details["review"]["decisions"]
            assert shown["grounds"] == "match" and shown["person_id"] == person
        else:
            assert r.status_code == 409 and "bara en registrator" in r.text
            assert web.review.desk.get(item.id).revision == item.revision
            token = csrf_of(client.get("/review").text)
            client.post("/logout", data={"csrf_token": token})
            assert login(client, "rut").status_code == 303
            r = client.post(f"/review/{item.id}/decide", follow_redirects=False,
                            data=form(client, item, action="show", face=face,
                                      person_id=person, reason="Grace själv, jag var där"))
            assert r.status_code == 303, r.text
            (d,) = web.review.desk.get(item.id).report["decisions"]
            assert d["grounds"] == "registrar" and d["reason"].startswith("Grace själv")
