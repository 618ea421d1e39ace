"""The consent register and the diarium in the web page, over HTTP (Starlette's TestClient),
with a real data directory: real SQLite registry, real audit log, the real detector and
face recogniser (BLURKIT_MODELS_DIR), photos made from the project's own samples/.

Page and command line are one source of truth: registrations made on the page are processed
by `blurkit process` and seen by `blurkit consent list`; the CSV download is compared byte for
byte with `blurkit audit export --csv`.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES
from starlette.testclient import TestClient

import blurkit.cli.audit  # noqa: F401  (registers `blurkit audit`)
import blurkit.cli.consent  # noqa: F401  (registers `blurkit consent`)
import blurkit.cli.process  # noqa: F401  (registers `blurkit process`)
from blurkit.accounts import Accounts
from blurkit.audit import AuditLog
from blurkit.cli import cli
from blurkit.config import load_settings
from blurkit.consent.registry import REGISTRY_DB, Registry
from blurkit.media.image import read_photo
from blurkit.watch import make_config
from blurkit.web.app import WebApp, create_app

PASSWORD = "correct horse battery"
GROUP = json.loads((SAMPLES / "manifest.json").read_text())["files"]["group_photo.jpg"]["faces"]
TODAY = date.today()
SIGNED = (TODAY - timedelta(days=30)).isoformat()


# ------------------------------------------------------------------------------- photos

def _rgb(name: str) -> np.ndarray:
    return read_photo(SAMPLES / name).pixels


def _jpeg(pixels: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def _height(x: np.ndarray, h: int) -> np.ndarray:
    return cv2.resize(x, (int(x.shape[1] * h / x.shape[0]), h), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """grace.jpg (one face), astronaut.jpg (one face), two.jpg (Grace and the astronaut side
    by side, faces of about the same size: nobody is clearly the main one), blurred.jpg
    (Grace too blurred to serve), group.png (the sample group photo with Grace once)."""
    d = tmp_path_factory.mktemp("photos")
    grace = _rgb("portrait_exif_gps_thumbnail.jpg")
    astronaut = _rgb("portrait_text_chunks.png")[0:260, 50:300]
    out = {"grace": d / "grace.jpg", "astronaut": d / "astronaut.jpg", "two": d / "two.jpg",
           "blurred": d / "blurred.jpg", "group": d / "group.png"}
    out["grace"].write_bytes(_jpeg(grace))
    out["astronaut"].write_bytes(_jpeg(_height(astronaut, 420)))
    out["two"].write_bytes(_jpeg(np.concatenate([_height(grace, 420), _height(astronaut, 420)],
                                                axis=1)))
    out["blurred"].write_bytes(_jpeg(cv2.GaussianBlur(grace, (0, 0), 6)))
    # Grace, with a small bystander in the corner: she is clearly the main face
    main = grace.copy()
    small = _height(astronaut, 150)
    main[10:10 + small.shape[0], 10:10 + small.shape[1]] = small
    out["main"] = d / "main.jpg"
    out["main"].write_bytes(_jpeg(main))
    # the sample group photo shows Grace twice (230 and 90 px): paint the smaller copy over
    pixels = _rgb("group_photo.jpg").copy()
    x1, y1, x2, y2 = GROUP[2]
    pixels[y1 - 40:y2 + 60, x1 - 40:x2 + 40] = \
        pixels[20:20 + (y2 - y1) + 100, 20:20 + (x2 - x1) + 80]
    cv2.imwrite(str(out["group"]), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    return out


# ------------------------------------------------------------------------------- app

class Site:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.settings = load_settings(data_dir)
        self.web = WebApp(settings=self.settings, watch=make_config(self.settings), lan=True)
        self.app = create_app(self.web)
        with Accounts(data_dir) as accounts:
            accounts.add("rita", "registrar", PASSWORD)
            accounts.add("sam", "staff", PASSWORD)
            accounts.add("ada", "admin", PASSWORD)

    def client(self, name: str) -> TestClient:
        c = TestClient(self.app)
        r = c.get("/login")
        token = csrf_of(r.text)
        r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token,
                                   "next": "/people"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    def cli(self, *args: str):
        result = CliRunner().invoke(cli, ["--data-dir", str(self.data_dir), "--lang", "en",
                                          *args], catch_exceptions=False)
        return result


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


@pytest.fixture()
def site(tmp_path, models_dir, monkeypatch) -> Site:
    monkeypatch.setenv("BLURKIT_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("BLURKIT_LANG", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    return Site(data)


def register(client: TestClient, name: str, photos: list[Path], *, follow: bool = False,
             **fields) -> object:
    page = client.get("/people/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), "name": name, "purpose": ["public"],
            "kind": "written", "form_ref": f"F-{name}", "signed": SIGNED, **fields}
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
    return client.post("/people/new", data=data, files=files or None,
                       follow_redirects=follow)


def process(site: Site, src: Path, out: Path, purpose: str = "public") -> dict:
    result = site.cli("process", str(src), "-o", str(out), "--purpose", purpose,
                      "--report", str(out) + ".json")
    assert result.exit_code == 0, result.output
    return json.loads(Path(str(out) + ".json").read_text())["files"][0]


def person_ids(site: Site) -> list[int]:
    with Registry.open(site.settings) as reg:
        return [p.id for p in reg.persons()]


# ------------------------------------------------------------------------------- tests

def test_register_from_a_photo_with_two_faces_by_picking_the_right_one(site, photos,
                                                                         tmp_path):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["two"]])
    assert r.status_code == 303
    check_url = r.headers["location"]
    assert re.fullmatch(r"/people/new/[A-Za-z0-9_-]+", check_url)
    page = rita.get(check_url)
    assert page.status_code == 200
    assert "Vilket ansikte är Graces?" in page.text            # Swedish first
    assert "2 ansikten" in page.text and "inget av dem är tydligt huvudansiktet" in page.text
    crops = re.findall(rf'src="({re.escape(check_url)}/photo/0/face/[12])"', page.text)
    assert len(crops) == 2
    for url in crops:
        img = rita.get(url)
        assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
        assert img.headers["cache-control"].startswith("no-store")
    assert person_ids(site) == []                               # nothing stored yet

    # face 1 is Grace (numbered from the left)
    r = rita.post(check_url, data={"csrf_token": csrf_of(page.text), "face_0": "1"},
                  follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/people/\d+", r.headers["location"])
    person = rita.get(r.headers["location"])
    assert person.status_code == 200
    assert "Grace är registrerad" in person.text
    assert "ansikte 1 av 2 används" in person.text
    assert "Fotona sparades inte" in person.text
    (pid,) = person_ids(site)
    with Registry.open(site.settings) as reg:
        assert sum(reg.template_counts(pid).values()) == 1
        assert reg.photo_records(pid) == []                     # not kept
    with AuditLog.open(site.settings) as log:
        added = [e for e in log.history(pid) if e.details.get("action") == "templates-added"]
    assert added and added[0].operator == "rita"               # the web user, not the OS user
    assert rita.get(check_url).status_code == 404               # the draft is gone

    # the command line sees the registration at once, and the next processed photo shows her
    assert "Grace" in site.cli("consent", "list").output
    item = process(site, photos["group"], tmp_path / "out")
    assert [s["person_id"] for s in item.get("shown", [])] == [pid]


def test_a_refused_photo_says_why_and_shows_the_face_it_judged(site, photos):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["blurred"]])
    assert r.status_code == 303
    page = rita.get(r.headers["location"])
    assert "Fotot kan inte användas" in page.text
    assert "inte tillräckligt skarpt" in page.text               # the reason, in plain Swedish
    assert "för suddigt" in page.text                             # the face's short verdict
    assert re.search(r'class="face-choice judged">\s*<input type="radio" name="face_0" '
                     r'value="1"', page.text)
    crop = rita.get(r.headers["location"] + "/photo/0/face/1")
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
    # a file that is no picture at all is named with its reason (not a temporary path)
    more = rita.post(r.headers["location"], data={"csrf_token": csrf_of(page.text)},
                     files=[("photos", ("notes.jpg", b"just some words", "image/jpeg"))])
    assert "notes.jpg: innehållet är ingen bild" in more.text and "/tmp" not in more.text
    # trying again without changing anything still refuses it; nothing was stored
    again = rita.post(r.headers["location"], data={"csrf_token": csrf_of(page.text),
                                                   "face_0": "1"}, follow_redirects=True)
    assert "inte tillräckligt skarpt" in again.text
    assert person_ids(site) == []


def test_two_different_people_side_by_side_and_a_registrar_confirms(site, photos):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["grace"], photos["astronaut"]], keep_photos="1")
    page = rita.get(r.headers["location"])
    assert "Fotona ser ut att visa två olika personer" in page.text
    pair = page.text[page.text.index('id="different-people"'):]
    assert len(re.findall(r'/photo/[01]/face/1"', pair[:pair.index("</section>")])) == 2
    assert 'name="confirm_same"' in page.text
    assert person_ids(site) == []
    r = rita.post(r.headers["location"], data={"csrf_token": csrf_of(page.text), "face_0": "1",
                                               "face_1": "1", "confirm_same": "1"},
                  follow_redirects=True)
    assert r.status_code == 200 and "rita bekräftade att fotona visar en person" in r.text
    (pid,) = person_ids(site)
    with AuditLog.open(site.settings) as log:
        added = [e for e in log.history(pid) if e.details.get("action") == "templates-added"]
    assert added[0].details["confirmed_same_person_by"] == "rita"
    with Registry.open(site.settings) as reg:
        assert len(reg.photo_records(pid)) == 2                   # kept, as asked
    thumbs = re.findall(rf'src="(/people/{pid}/photo/\d+)"', r.text)
    assert len(thumbs) == 2 and rita.get(thumbs[0]).headers["content-type"] == "image/jpeg"


def test_withdraw_erases_templates_like_the_cli_and_lists_the_earlier_output(site, photos,
                                                                              tmp_path):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["grace"]], follow=True)
    assert "Grace är registrerad" in r.text                     # one clear face: no check step
    (pid,) = person_ids(site)
    before = process(site, photos["group"], tmp_path / "before")
    assert [s["person_id"] for s in before.get("shown", [])] == [pid]

    confirm = rita.get(f"/people/{pid}/withdraw")
    assert "ALLA personens ansiktsmallar (1)" in confirm.text
    assert "1 tidigare publicerade fil(er) visade personen" in confirm.text
    r = rita.post(f"/people/{pid}/withdraw", data={"csrf_token": csrf_of(confirm.text),
                                                   "purpose": "", "when": TODAY.isoformat()},
                  follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/people/{pid}/takedown"
    listing = rita.get(r.headers["location"])
    assert "Raderade 1 ansiktsmall(ar)" in listing.text
    rows = re.findall(r'<td class="path"[^>]*>([^<]+)</td>', listing.text)
    assert rows == [str(tmp_path / "before" / "group.png")]
    assert "offentligt" in listing.text                          # purpose on the list
    with Registry.open(site.settings) as reg:
        assert reg.template_counts(pid) == {} and reg.consents(pid)[0].withdrawn == TODAY
    with AuditLog.open(site.settings) as log:
        w = [e for e in log.history(pid) if e.details.get("action") == "withdrawn"]
    assert w[0].operator == "rita" and w[0].details["templates_erased"] == 1
    assert "1 output(s) showed person" in site.cli("audit", "find", "--person", str(pid)).output
    after = process(site, photos["group"], tmp_path / "after")
    assert after.get("shown", []) == []                                  # hidden in the next output
    page = rita.get(f"/people/{pid}")
    assert "återkallat" in page.text and "Inga ansiktsmallar" in page.text


def test_expired_consent_and_minor_without_guardian_are_not_shown(site, photos, tmp_path):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["grace"]], follow=True,
                 signed=(TODAY - timedelta(days=400)).isoformat(),
                 expires=(TODAY - timedelta(days=10)).isoformat())
    assert "upphörde att gälla" in r.text                        # the warning, on the page
    r = register(rita, "Lill", [photos["astronaut"]], follow=True,
                 birth_year=str(TODAY.year - 8), guardian="no")
    assert "blir ALDRIG giltigt" in r.text
    listing = rita.get("/people")
    grace_row = listing.text[listing.text.index(">Grace<"):listing.text.index("</tr>",
                                                                    listing.text.index(">Grace<"))]
    lill_row = listing.text[listing.text.index(">Lill<"):listing.text.index("</tr>",
                                                                  listing.text.index(">Lill<"))]
    assert "döljs: offentligt" in grace_row and "har gått ut" in grace_row
    assert "döljs: offentligt" in lill_row and "UTAN vårdnadshavares samtycke" in lill_row
    assert "får synas" not in grace_row + lill_row
    # the pipeline takes the same decision: nobody in the register may be shown, so both
    # faces of the next processed photo are hidden
    with Registry.open(site.settings) as reg:
        reasons = {p.name: reg.decide(p.id, "public").reason_key for p in reg.persons()}
    assert reasons == {"Grace": "consent.reason.expired",
                       "Lill": "consent.reason.minor_needs_guardian"}
    item = process(site, photos["two"], tmp_path / "out")
    assert item.get("shown", []) == [] and len(item["faces"]) == 2
    assert {f["action"] for f in item["faces"]} == {"hidden"}
    # search by name and by form reference
    found = rita.get("/people?q=lil").text
    assert ">Lill<" in found and ">Grace<" not in found
    assert ">Grace<" in rita.get("/people?q=F-Grace").text


def test_a_wrong_registry_key_is_said_above_the_list_on_page_and_command_line(site, photos,
                                                                              tmp_path):
    """The list reads names and consents without the key, so it would say "may be shown"
    while nothing can be processed: both say why, before the list."""
    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], follow=True)
    assert 'id="key-error"' not in rita.get("/people").text
    (site.data_dir / "registry.key").write_bytes(os.urandom(32))
    page = rita.get("/people")
    assert page.status_code == 200
    warning = page.text[page.text.index('id="key-error"'):]
    warning = warning[:warning.index("</p>")]
    assert "passar inte det här registret" in warning and "behandlas inga filer" in warning
    assert page.text.index('id="key-error"') < page.text.index(">Grace<")
    listed = site.cli("consent", "list")
    assert listed.exit_code == 0
    assert "does not match this registry" in listed.output
    assert "no file is processed" in listed.output
    refused = CliRunner().invoke(cli, ["--data-dir", str(site.data_dir), "process",
                                       str(photos["grace"]), "-o", str(tmp_path / "out")])
    assert getattr(refused.exception, "key", None) == "consent.key.wrong"  # before any work
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_staff_gets_403_on_every_register_and_diarium_url(site, photos):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["two"]])
    draft_url = r.headers["location"]
    draft = draft_url.rsplit("/", 1)[1]
    register(rita, "Ada", [photos["grace"]], keep_photos="1")
    pid = person_ids(site)[0]
    with Registry.open(site.settings) as reg:
        photo_id = reg.photo_records(pid)[0][0]
    sam = site.client("sam")
    token = csrf_of(sam.get("/upload").text)
    values = {"person_id": str(pid), "draft": draft, "photo": "0", "face": "1",
              "photo_id": str(photo_id)}
    checked = 0
    for route in site.app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(("/people", "/diarium")):
            continue
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], path)
        for method in sorted(route.methods - {"HEAD"}):
            r = sam.request(method, url, data={"csrf_token": token} if method == "POST" else None,
                            follow_redirects=False)
            assert r.status_code == 403, (method, url, r.status_code)
            assert "Inte tillåtet" in r.text and "registratorer och administratörer" in r.text
            checked += 1
    assert checked >= 20
    # and nothing changed meanwhile: the draft is still the registrar's, Grace not stored
    assert rita.get(draft_url).status_code == 200
    # a draft belongs to the session that made it, even for an administrator
    ada = site.client("ada")
    assert ada.get(draft_url).status_code == 404
    assert ada.get(draft_url + "/photo/0/face/1").status_code == 404
    assert len(person_ids(site)) == 1


def test_diarium_csv_equals_the_cli_export_byte_for_byte(site, photos, tmp_path):
    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], follow=True)
    (pid,) = person_ids(site)
    process(site, photos["group"], tmp_path / "out")
    ada = site.client("ada")
    r = ada.get("/diarium/export.csv")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert ".csv" in r.headers["content-disposition"]
    dest = tmp_path / "cli.csv"
    assert site.cli("audit", "export", "--csv", str(dest)).exit_code == 0
    assert r.content == dest.read_bytes()
    assert r.content.startswith(b"\xef\xbb\xbfseq;time;zone;operator")

    page = ada.get("/diarium")
    with AuditLog.open(site.settings) as log:
        v = log.verify()
        n = len(log.entries())
    assert "Diariet är intakt" in page.text and v.head_hash in page.text
    assert f"{n} poster" in page.text
    consent_only = ada.get("/diarium?kind=consent")
    kinds = set(re.findall(r'data-kind="([^"]+)"', consent_only.text))
    assert kinds == {"consent-change"}
    processed = ada.get(f"/diarium?kind=processed&person={pid}")
    assert set(re.findall(r'data-kind="([^"]+)"', processed.text)) == {"photo"}
    by_rita = ada.get("/diarium?operator=rita")
    assert len(re.findall(r"data-kind=", by_rita.text)) == 3     # added, consent, templates
    future = (TODAY + timedelta(days=2)).isoformat()
    assert "Inga poster" in ada.get(f"/diarium?from={future}").text


def test_diarium_pages_a_long_log_and_filters_approvals_and_views(site):
    with AuditLog.open(site.settings.replace(operator="watch")) as log:
        for i in range(230):
            log.append({"kind": "photo", "purpose": "public", "input_path": f"/in/{i}.jpg",
                        "output_path": f"/ready/{i}.jpg", "faces": 1})
        log.append({"kind": "photo", "purpose": "internal", "output_path": "/ready/ok.jpg",
                    "operator": "sam", "details": {"review": {"decision": "approved",
                                                              "by": "sam", "decisions": []}}})
    ada = site.client("ada")
    first = ada.get("/diarium")
    seqs = [int(s) for s in re.findall(r"<tr class=\"ok\" data-kind=\"photo\">\s*<td[^>]*>(\d+)",
                                       first.text)]
    assert seqs[0] == 231 and len(seqs) == 100                  # newest first, one page
    older = re.search(r'href="([^"]+)" rel="next" id="older"', first.text).group(1)
    second = ada.get(older.replace("&amp;", "&"))
    assert re.search(r"<td[^>]*>131</td>", second.text)
    approved = ada.get("/diarium?kind=approved")
    assert len(re.findall(r"data-kind=", approved.text)) == 1 and "godkänd" in approved.text
    assert "Inga poster" in ada.get("/diarium?kind=original").text  # none viewed (or no kind yet)


def test_no_response_to_staff_holds_templates_or_reference_photos(site, photos):
    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], keep_photos="1", follow=True)
    (pid,) = person_ids(site)
    with Registry.open(site.settings) as reg:
        vectors = [v for _, v in reg.templates()]
        (kept,) = reg.photos(pid)
    secrets = [v.tobytes()[i:i + 16] for v in vectors for i in range(0, 512, 64)]
    photo = kept[2]
    secrets += [photo[i:i + 32] for i in range(1000, len(photo) - 32, len(photo) // 8)]
    sam = site.client("sam")
    values = {"person_id": str(pid), "draft": "x" * 24, "photo": "0", "face": "1",
              "photo_id": str(kept[0]), "item_id": "1", "path": "app.css", "track": "0"}
    seen = 0
    for client, who in ((sam, "staff"), (rita, "registrar")):
        for route in site.app.routes:
            path = getattr(route, "path", "")
            if "GET" not in getattr(route, "methods", {"GET"}) or path.startswith("/static"):
                continue
            url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], path)
            try:
                r = client.get(url, follow_redirects=False)
            except Exception:        # a page of another part that cannot run here
                continue
            body = r.content
            for s in secrets[:8]:
                assert s not in body, (who, url)             # never a template, to anyone
            if who == "staff":
                for s in secrets[8:]:
                    assert s not in body, url                # never a reference photo
            seen += 1
    assert seen > 20


def test_the_register_database_and_wal_hold_no_template_in_plaintext(site, photos):
    rita = site.client("rita")
    # another program (the watcher) keeps the register open, so the WAL stays on disk
    holder = Registry.open(site.settings)
    holder.persons()
    register(rita, "Grace", [photos["grace"]], follow=True)
    register(rita, "Astrid", [photos["astronaut"]], follow=True)
    vectors = [v for _, v in holder.templates()]
    assert len(vectors) == 2
    files = [site.data_dir / (REGISTRY_DB + s) for s in ("", "-wal", "-shm", "-journal")]
    assert files[1].exists()                                      # the WAL is scanned too
    disk = b"".join(p.read_bytes() for p in files if p.exists())
    for v in vectors:
        raw = v.astype("<f4").tobytes()
        for i in range(0, len(raw) - 16, 16):
            assert raw[i:i + 16] not in disk
    ciphertexts = [bytes(r[0]) for r in holder._read("SELECT ciphertext FROM template")]
    assert all(c in disk for c in ciphertexts)                    # the scan sees stored blobs
    holder.close()


def test_english_switch_and_form_errors_keep_what_was_typed(site, photos):
    rita = site.client("rita")
    page = rita.get("/people/new")
    r = rita.post("/people/new", data={"csrf_token": csrf_of(page.text), "name": "Grace",
                                       "purpose": ["public"], "kind": "written",
                                       "signed": SIGNED, "form_ref": ""},
                  files=[("photos", ("grace.jpg", photos["grace"].read_bytes(), "image/jpeg"))])
    assert r.status_code == 400
    assert "Ett skriftligt samtycke behöver blankettens nummer." in r.text
    assert 'value="Grace"' in r.text and person_ids(site) == []
    rita.post("/lang", data={"csrf_token": csrf_of(page.text), "lang": "en", "next": "/people"})
    assert "Consent register" in rita.get("/people").text
    assert "Register a person" in rita.get("/people/new").text


def test_the_diarium_page_says_when_the_chain_is_broken(site, photos):
    import sqlite3

    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], follow=True)
    assert "Diariet är intakt" in rita.get("/diarium").text
    conn = sqlite3.connect(site.data_dir / "audit.sqlite3")
    conn.execute("DROP TRIGGER entry_no_update")
    conn.execute("UPDATE entry SET body = replace(body, '\"rita\"', '\"eve\"') WHERE id = 2")
    conn.commit()
    conn.close()
    page = rita.get("/diarium")
    assert "Diariet är INTE intakt, från post 2" in page.text
    assert "har skrivits om" in page.text or "har ändrats" in page.text


def test_page_and_command_line_see_each_others_changes(site, photos):
    """Add a consent and edit on the page -> `consent show`; edit with the CLI -> the page."""
    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], follow=True)
    (pid,) = person_ids(site)
    form = rita.get(f"/people/{pid}/consent")
    r = rita.post(f"/people/{pid}/consent", data={
        "csrf_token": csrf_of(form.text), "purpose": ["internal"], "kind": "written",
        "form_ref": "F-77", "signed": SIGNED}, follow_redirects=True)
    assert "Samtycke 2 registrerat: internt." in r.text
    shown = site.cli("consent", "show", str(pid)).output
    assert "internal: may be shown (consent 2)" in shown
    assert "public: may be shown (consent 1)" in shown

    form = rita.get(f"/people/{pid}/edit")
    r = rita.post(f"/people/{pid}/edit", data={"csrf_token": csrf_of(form.text),
                                               "name": "Grace H", "birth_year": "1950"},
                  follow_redirects=True)
    assert "Uppdaterat: namn, födelseår." in r.text
    assert "Grace H" in site.cli("consent", "list").output

    assert site.cli("consent", "edit", str(pid), "--protected").exit_code == 0
    page = rita.get(f"/people/{pid}")
    assert "skyddad identitet – döljs alltid" in page.text
    assert "döljs: offentligt" in page.text and "döljs: internt" in page.text
    with AuditLog.open(site.settings) as log:
        edits = [e.operator for e in log.history(pid)
                 if e.details.get("action") == "person-edited"]
    assert edits[0] == "rita" and len(edits) == 2       # the page's user, then the CLI's


def test_photos_added_later_must_show_the_same_person(site, photos):
    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], follow=True)
    (pid,) = person_ids(site)
    rita.post(f"/people/{pid}/withdraw", data={"csrf_token": csrf_of(
        rita.get(f"/people/{pid}/withdraw").text), "purpose": "public"})
    with Registry.open(site.settings) as reg:
        assert reg.template_counts(pid) == {}
    # after the withdrawal there is nothing to compare with: new photos of her are taken
    form = rita.get(f"/people/{pid}/photos")
    r = rita.post(f"/people/{pid}/photos", data={"csrf_token": csrf_of(form.text)},
                  files=[("photos", ("grace2.jpg", photos["grace"].read_bytes(), "image/jpeg"))],
                  follow_redirects=True)
    assert "1 ansiktsmall(ar) sparade" in r.text
    # a photo of someone else is refused, shown against the registered person
    form = rita.get(f"/people/{pid}/photos")
    r = rita.post(f"/people/{pid}/photos", data={"csrf_token": csrf_of(form.text)},
                  files=[("photos", ("other.jpg", photos["astronaut"].read_bytes(),
                                     "image/jpeg"))])
    page = r                                                       # the check page
    assert re.search(r"/people/new/[A-Za-z0-9_-]+$", str(r.url))
    assert "Fotot liknar inte personen som redan är registrerad" in page.text
    with Registry.open(site.settings) as reg:
        assert sum(reg.template_counts(pid).values()) == 1


def test_remove_keeps_the_takedown_list_available(site, photos, tmp_path):
    rita = site.client("rita")
    register(rita, "Grace", [photos["grace"]], keep_photos="1", follow=True)
    (pid,) = person_ids(site)
    process(site, photos["group"], tmp_path / "out")
    confirm = rita.get(f"/people/{pid}/remove")
    assert "1 samtyckespost(er), 1 ansiktsmall(ar) och 1 sparade foto(n)" in confirm.text
    r = rita.post(f"/people/{pid}/remove", data={"csrf_token": csrf_of(confirm.text)},
                  follow_redirects=True)
    assert r.url.path == f"/people/{pid}/takedown"
    assert "Person nr 1 är raderad" in r.text and "group.png" in r.text
    assert person_ids(site) == []
    assert rita.get(f"/people/{pid}").status_code == 404
    with AuditLog.open(site.settings) as log:
        erased = [e for e in log.history(pid) if e.kind == "erasure"]
    assert erased[0].operator == "rita" and erased[0].details["photos_erased"] == 1


def test_the_list_shows_each_state_at_a_glance(site):
    """Registered without photos (as `consent add` without --photo allows), so no model runs."""
    rita = site.client("rita")
    soon = TODAY + timedelta(days=10)
    r = register(rita, "Soon", [], follow=True, expires=soon.isoformat())
    assert "Inga foton: personen kan inte kännas igen" in r.text
    register(rita, "Hidden", [], follow=True, protected="1")
    register(rita, "Teen", [], follow=True, birth_year=str(TODAY.year - 15), guardian="yes")
    register(rita, "Staffan", [], follow=True, staff="1", kind="oral", recorded_by="rita",
             form_ref="")
    ids = {p: i for i, p in zip(person_ids(site), ("Soon", "Hidden", "Teen", "Staffan"))}
    assert site.cli("consent", "edit", str(ids["Hidden"]), "--deceased").exit_code == 0
    page = rita.get("/people").text

    def row(name):
        start = page.index(f">{name}<")
        return page[start:page.index("</tr>", start)]

    last = (soon - timedelta(days=1)).isoformat()
    assert f"offentligt går snart ut (sista dag {last})" in row("Soon")
    assert "får synas: offentligt" in row("Soon") and "inga ansiktsfoton" in row("Soon")
    assert "skyddad identitet – döljs alltid" in row("Hidden") and "avliden" in row("Hidden")
    assert "minderårig, med vårdnadshavares samtycke" in row("Teen")
    assert "får synas: offentligt" in row("Teen")
    assert "personal" in row("Staffan") and "får synas: offentligt" in row("Staffan")
    person = rita.get(f"/people/{ids['Staffan']}").text
    assert "muntligt, mottaget av rita" in person


def test_a_clearly_main_face_is_preselected_and_confirmed_by_a_person(site, photos):
    rita = site.client("rita")
    r = register(rita, "Grace", [photos["main"]])
    page = rita.get(r.headers["location"])
    assert "Bra: ansikte 2 används (" in page.text               # with how it was chosen
    assert "Övriga ansikten (1) används inte." in page.text
    checked = re.findall(r'name="face_0" value="(\w+)" checked', page.text)
    assert checked == ["2"]                                       # Grace, preselected
    assert person_ids(site) == []                                 # a person confirms first
    r = rita.post(r.headers["location"], data={"csrf_token": csrf_of(page.text),
                                               "face_0": checked[0]}, follow_redirects=True)
    assert "main.jpg: ansikte 2 av 2 används" in r.text
    assert len(person_ids(site)) == 1


# ------------------------------------------------------------------------------- limits

def _raw_post(url: str, path: str, cookie: str, content_type: str, length: int, parts,
              timeout: float = 120.0) -> tuple[int, dict, int]:
    """POST through a plain socket, the body sent piece by piece as `parts` yields it; stops
    sending as soon as the server has answered. (status, headers, bytes sent)."""
    import select
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(url)
    sock = socket.create_connection((where.hostname, where.port), timeout=timeout)
    try:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nCookie: {cookie}\r\n"
                      f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
                      "Connection: close\r\n\r\n").encode())
        sent = 0
        for part in parts:
            if select.select([sock], [], [], 0)[0]:
                break                                   # the answer is already there
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(part)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}, sent


def _multipart(fields: dict, name: str, size: int, boundary: str = "blurkit-limit-test"):
    """(content type, length, parts) of a registration form whose photo is `size` bytes,
    made of one reused 1 MB block (the test itself holds no more than that)."""
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                    f"{v}\r\n".encode() for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
             f'filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = b"\xff\xd8\xff\xe0" + bytes((1 << 20) - 4)

    def parts():
        yield head
        left = size
        while left > 0:
            yield block[:min(left, len(block))]
            left -= len(block)
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), parts()


def test_a_too_large_photo_is_refused_by_its_size_without_being_held_in_memory(site):
    """A 60 MB photo (the per-photo limit is 50 MB), streamed to the real server in 1 MB
    pieces: the registration's check page names it as too large, and the server's memory
    never held it (tracemalloc's peak stays far below the photo's size: the form parser
    spools file parts to disk and the photo is judged by its size, never read)."""
    import tracemalloc

    import httpx2 as httpx
    from webkit import LiveServer

    from blurkit.web.people import REGISTRATION_LIMIT

    with LiveServer(site.app) as server:
        client = httpx.Client(base_url=server.url)
        form = client.get("/login")
        client.post("/login", data={"name": "rita", "password": PASSWORD,
                                    "csrf_token": csrf_of(form.text), "next": "/people"})
        token = csrf_of(client.get("/people/new").text)      # warm: templates compiled
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        fields = {"csrf_token": token, "name": "Grace", "purpose": "public",
                  "kind": "written", "form_ref": "F-1", "signed": SIGNED}
        size = 60 << 20
        kind, length, parts = _multipart(fields, "stor.jpg", size)
        assert length < REGISTRATION_LIMIT                  # within the form's total limit
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            status, headers, sent = _raw_post(server.url, "/people/new", cookie, kind, length,
                                              parts)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert status == 303 and sent == length, (status, sent)
        assert peak < 16 << 20, f"the server held {peak >> 20} MB"       # not 60
        page = client.get(headers["location"])
        assert "stor.jpg: större än 50 MB." in page.text
        assert person_ids(site) == []
        client.close()


def test_a_registration_larger_than_its_limit_is_refused_before_it_is_sent(site):
    """A form declaring more than the registration's limit (three photos of 50 MB and the
    fields) is answered 413 at once: the answer arrives before the first byte of the body
    was sent."""
    import httpx2 as httpx
    from webkit import LiveServer

    from blurkit.web.people import REGISTRATION_LIMIT

    with LiveServer(site.app) as server:
        client = httpx.Client(base_url=server.url)
        form = client.get("/login")
        client.post("/login", data={"name": "rita", "password": PASSWORD,
                                    "csrf_token": csrf_of(form.text), "next": "/people"})
        token = csrf_of(client.get("/people/new").text)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        kind, length, parts = _multipart({"csrf_token": token, "name": "Grace"}, "stor.jpg",
                                         300 << 20)
        assert length > REGISTRATION_LIMIT

        # only the headers are sent: a server that waited for the body would never answer
        status, _, sent = _raw_post(server.url, "/people/new", cookie, kind, length, ())
        assert status == 413 and sent == 0, (status, sent)
        client.close()


def test_the_register_and_diarium_pages_are_a_thin_shell():
    """web/people.py and web/diarium.py parse, call the use cases in the thread pool, and
    render: no SQL, no registry or audit log of their own, no files, no models."""
    import ast

    import blurkit.web.diarium as diarium_page
    import blurkit.web.people as people_page

    banned_modules = ("sqlite3", "tempfile", "shutil", "os", "blurkit.consent",
                      "blurkit.audit", "blurkit.identify", "blurkit.detect", "blurkit.media",
                      "blurkit.engine", "blurkit.watch")
    banned_calls = {"open", "write_bytes", "read_bytes", "unlink", "rmtree", "connect",
                    "mkdtemp", "Registry", "AuditLog"}
    for module in (people_page, diarium_page):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                for name in names:
                    assert not name.startswith(banned_modules), (module.__name__, name)
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                assert name not in banned_calls, (module.__name__, name, node.lineno)
