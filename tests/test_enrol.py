"""Registration (blurkit.identify.enrol): a reference photo's faces, the dominant-face rule,
picking a face, the same-person check and its confirmation by a registrar, through the
library the register page calls and through `blurkit consent add/edit`.

Runs on the project's own samples (public-domain portraits of Grace Hopper and Eileen
Collins), composed into photos with several faces; the test marked shared_data uses
../shared/data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import blurkit.identify.enrol as enrolmod
from blurkit import i18n
from blurkit.audit import AuditLog
from blurkit.config import load_settings
from blurkit.consent.crypto import KEY_ENV
from blurkit.consent.registry import Registry
from blurkit.errors import InputError
from blurkit.identify import (
    MODEL_NAME,
    PhotoChoice,
    enrol_choices,
    enrol_photos,
    faces_in_photo,
    verdict_text,
)
from blurkit.identify import quality as q
from blurkit.identify.enrol import FaceInfo, dominant_face
from blurkit.media.image import read_photo

ROOT = Path(__file__).resolve().parent.parent
HOPPER = ROOT / "samples" / "portrait_exif_gps_thumbnail.jpg"   # face ~205 px tall
COLLINS = ROOT / "samples" / "portrait_orientation6.jpg"        # face ~115 px, EXIF-rotated


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("BLURKIT_LANG", "en")
    yield
    i18n.set_language(None)


def pixels(path: Path) -> np.ndarray:
    return read_photo(path).pixels


def save(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def canvas(width: int, height: int, *parts: tuple[np.ndarray, int, int]) -> np.ndarray:
    """A grey canvas with each picture pasted at (x, y)."""
    out = np.full((height, width, 3), 128, np.uint8)
    for img, x, y in parts:
        out[y:y + img.shape[0], x:x + img.shape[1]] = img
    return out


def scaled(rgb: np.ndarray, k: float) -> np.ndarray:
    return cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def hopper():
    return pixels(HOPPER)


@pytest.fixture(scope="module")
def collins():
    return pixels(COLLINS)


@pytest.fixture(scope="module")
def bystander_photo(hopper, collins):
    """Hopper in the middle, Collins small at the right edge (a bystander): face ~205 px
    against ~90 px."""
    small = scaled(collins, 0.8)
    return canvas(1200, 620, (hopper, 344, 10), (small, 1200 - small.shape[1], 200))


@pytest.fixture(scope="module")
def couple_photo(hopper, collins):
    """Hopper and Collins side by side at similar sizes: nobody is dominant."""
    big = scaled(collins, 1.6)
    return canvas(512 + 40 + big.shape[1], max(600, big.shape[0]), (hopper, 0, 0),
                  (big, 552, 0))


def face(index, x1, y1, x2, y2, sharpness=100.0) -> FaceInfo:
    quality = q.FaceQuality(True, None, 0.9, float(y2 - y1), sharpness=sharpness)
    return FaceInfo(index, (x1, y1, x2, y2), 0.9, quality)


# ----------------------------------------------------------------------------- the rule

def test_dominant_rule_needs_a_much_larger_and_central_face():
    w, h = 1000, 800
    big = face(2, 400, 200, 600, 440)                       # 240 px, centred
    assert dominant_face([big], w, h) == 2                  # the only face
    assert dominant_face([face(1, 50, 300, 150, 420), big], w, h) == 2     # 120 px: 2x
    # a companion at more than 1 / DOMINANT_RATIO of its height: a person must pick
    assert dominant_face([face(1, 50, 300, 200, 450), big], w, h) is None  # 150 px: 1.6x
    # much larger but at the edge of the photo
    edge = face(3, 860, 200, 1000, 440)
    assert dominant_face([face(1, 400, 300, 480, 400), edge], w, h) is None
    # much larger, inside the central share, but a smaller face is even more central
    off = face(3, 180, 200, 420, 440)                       # centre at x = 0.30
    assert dominant_face([face(1, 450, 300, 550, 400), off], w, h) is None
    assert dominant_face([face(1, 900, 300, 980, 400), off], w, h) == 3
    # as large, but out of focus (the depth of field blurs a bystander): background
    sharp = face(2, 420, 200, 600, 440, sharpness=300.0)
    assert dominant_face([face(1, 0, 250, 170, 480, sharpness=40.0), sharp], w, h) == 2
    assert dominant_face([face(1, 0, 250, 170, 480, sharpness=60.0), sharp], w, h) is None
    # ... but only when the sharp face is the largest one
    assert dominant_face([face(1, 0, 150, 200, 450, sharpness=40.0), sharp], w, h) is None


def test_verdict_texts_are_plain_swedish_and_english():
    assert verdict_text("blurry", "sv") == "för suddigt"
    assert verdict_text("blurry", "en") == "too blurred"
    assert verdict_text("pose", "sv") == "huvudet är vänt"
    assert verdict_text("too_small", "en") == "too small"
    assert verdict_text(None, "sv") == "bra"
    for reason in enrolmod.PHOTO_REASONS:
        for lang in ("sv", "en"):
            assert verdict_text(reason, lang) != f"identify.verdict.{reason}"


# ----------------------------------------------------------------------------- library

def test_faces_in_photo_lists_faces_from_the_left_with_verdicts(models_dir, couple_photo):
    pf = faces_in_photo(couple_photo, models_dir, name="couple.jpg")
    assert pf.name == "couple.jpg" and (pf.height, pf.width) == couple_photo.shape[:2]
    assert [f.index for f in pf.faces] == [1, 2]
    assert pf.faces[0].box[0] < 512 < pf.faces[1].box[0]      # Hopper left, Collins right
    assert all(f.ok and f.reason is None for f in pf.faces)
    assert pf.dominant is None and pf.candidates == (1, 2)
    d = pf.to_dict()
    assert d["faces"][1]["index"] == 2 and d["faces"][1]["height_px"] > 100
    json.dumps(d)   # plain data for the web page


def test_a_dominant_face_is_used_and_the_bystander_ignored(models_dir, bystander_photo,
                                                           hopper):
    pf = faces_in_photo(bystander_photo, models_dir)
    assert len(pf.candidates) == 2 and pf.automatic == "dominant"
    res = enrol_choices([PhotoChoice(bystander_photo, name="party.jpg"),
                 PhotoChoice(hopper, name="hopper.jpg")], models_dir)
    assert res.ok, res.error and res.error.message("en")
    v = res.photos[0]
    assert v.accepted and v.chosen_by == "dominant" and len(v.ignored) == 1
    assert v.face.height_px > 180 and v.face.index == pf.dominant
    x1, y1, x2, y2 = v.face.crop_box(pf.width, pf.height)
    assert 0 <= x1 < v.face.box[0] and v.face.box[2] < x2 <= pf.width and 0 <= y1 and \
        y2 <= pf.height
    assert res.photos[1].chosen_by == "only" and res.photos[1].ignored == ()
    assert res.same_person.same_person and not res.same_person.different_people
    assert len(res.templates) == 2


def test_several_faces_are_listed_and_a_picked_face_is_used(models_dir, couple_photo,
                                                            hopper, collins):
    res = enrol_choices([PhotoChoice(couple_photo, name="couple.jpg")], models_dir)
    v = res.photos[0]
    assert not res.ok and not v.accepted and v.reason == "several_faces"
    assert res.error.key == "identify.enrol.several_faces"
    text = res.error.message("en")
    assert "--photo couple.jpg:N" in text and "face 1:" in text and "face 2:" in text
    assert "ansikte 2:" in res.error.message("sv")
    # picking Collins (face 2) gives her template, not Hopper's
    picked = enrol_choices([PhotoChoice(couple_photo, face=2, name="couple.jpg")], models_dir)
    assert picked.ok and picked.photos[0].chosen_by == "user"
    assert picked.photos[0].ignored == (1,)
    alone = enrol_choices([PhotoChoice(collins)], models_dir).templates[0]
    other = enrol_choices([PhotoChoice(hopper)], models_dir).templates[0]
    t = picked.templates[0]
    assert float(t @ alone) >= 0.94 > float(t @ other)
    # a face number the photo does not have
    none = enrol_choices([PhotoChoice(couple_photo, face=5, name="couple.jpg")], models_dir)
    assert none.photos[0].reason == "no_such_face" and "no face 5" in none.error.message("en")


def test_a_picked_face_must_still_be_good_enough(models_dir, hopper, tmp_path):
    blurred = cv2.GaussianBlur(hopper, (0, 0), 6)
    photo = canvas(1100, 600, (hopper, 0, 0), (blurred, 560, 0))
    res = enrol_choices([PhotoChoice(photo, face=2, name="b.jpg")], models_dir)
    v = res.photos[0]
    assert not v.accepted and v.reason == "blurry" and v.face.index == 2
    assert v.face.box[0] > 560              # the face judged, for the page to show it
    assert v.verdict("sv") == "för suddigt" and "not sharp enough" in v.message("en")


def test_two_people_are_said_to_be_two_and_a_registrar_may_confirm(models_dir, hopper,
                                                                   collins):
    choices = [PhotoChoice(hopper, name="a.jpg"), PhotoChoice(collins, name="b.jpg")]
    res = enrol_choices(choices, models_dir)
    assert all(v.accepted for v in res.photos)
    check = res.same_person
    assert not res.ok and check.different_people and not check.same_person
    assert check.weakest.similarity < 0.94 and (check.weakest.a, check.weakest.b) == (0, 1)
    assert res.error.key == "identify.enrol.not_same_person"
    assert "--same-person-confirmed-by" in res.error.message("en")
    confirmed = enrol_choices(choices, models_dir, confirmed_same_person_by="  Rut  Registrator ")
    assert confirmed.ok and confirmed.confirmed_same_person_by == "Rut Registrator"
    assert not confirmed.same_person.different_people and len(confirmed.templates) == 2
    with pytest.raises(InputError):
        enrol_choices(choices, models_dir, confirmed_same_person_by="   ")
    # what the page gets: plain JSON, Swedish texts, and no template anywhere in it
    page = res.to_dict("sv")
    json.dumps(page)
    assert page["same_person"]["different_people"] and "visar inte tydligt" in page["error"]
    assert page["photos"][0]["verdict"] == "bra" and "templates" not in page

    def longest_list(x) -> int:
        if isinstance(x, dict):
            return max((longest_list(v) for v in x.values()), default=0)
        if isinstance(x, list):
            return max([len(x)] + [longest_list(v) for v in x])
        return 0
    assert longest_list(page) < 8          # boxes (4), pairs - never a 128-value template
    # a confirmation is not recorded when nothing needed confirming
    same = enrol_choices([PhotoChoice(hopper), PhotoChoice(hopper[:, ::-1].copy())], models_dir,
                 confirmed_same_person_by="Rut")
    assert same.ok and same.confirmed_same_person_by is None


def test_new_photos_are_checked_against_the_registered_person(models_dir, hopper, collins):
    registered = enrol_choices([PhotoChoice(hopper)], models_dir).templates
    res = enrol_choices([PhotoChoice(collins, name="c.jpg")], models_dir, registered=registered,
                person_id=4)
    assert res.error.key == "identify.enrol.not_this_person"
    assert res.error.params["person_id"] == 4 and res.same_person.weakest.b is None
    ok = enrol_choices([PhotoChoice(hopper[:, ::-1].copy())], models_dir, registered=registered)
    assert ok.ok


def test_the_confirmation_is_recorded_with_the_templates(data_dir, models_dir, hopper,
                                                         collins):
    settings = load_settings(data_dir)
    res = enrol_choices([PhotoChoice(hopper), PhotoChoice(collins)], models_dir,
                confirmed_same_person_by="Rut")
    with Registry.open(settings) as reg:
        person = reg.add_person("Test Person")
        reg.add_templates(person.id, res.templates, res.model,
                          confirmed_same_person_by=res.confirmed_same_person_by)
    with AuditLog.open(settings) as log:
        entries = [e for e in log.history(person.id)
                   if (e.details or {}).get("action") == "templates-added"]
    assert len(entries) == 1
    assert entries[0].details["confirmed_same_person_by"] == "Rut"


# ----------------------------------------------------------------------------- CLI

@pytest.fixture()
def blurkit_cli(data_dir, models_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update(BLURKIT_DATA_DIR=str(data_dir), BLURKIT_MODELS_DIR=str(models_dir),
               BLURKIT_LANG="en", PYTHONPATH=str(ROOT))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "blurkit", *map(str, args)], env=env,
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)
    return run


RECORD = ("--purpose", "public", "--signed", "2026-01-01", "--form-ref", "F1")


def test_cli_picks_a_face_with_file_colon_n(blurkit_cli, data_dir, tmp_path, couple_photo,
                                            bystander_photo):
    couple = save(tmp_path / "couple.jpg", couple_photo)
    party = save(tmp_path / "party.jpg", bystander_photo)
    out = blurkit_cli("consent", "add", "Eileen", "--photo", couple, *RECORD)
    assert out.returncode != 0
    assert "couple.jpg: 2 faces found and none of them is clearly the main one" in out.stderr
    assert f"--photo {couple}:N" in out.stderr and "face 2:" in out.stderr
    out = blurkit_cli("--lang", "sv", "consent", "add", "Eileen", "--photo", couple, *RECORD)
    assert "ansikte 1:" in out.stderr and "numrerade från vänster" in out.stderr
    with Registry.open(load_settings(data_dir)) as reg:
        assert reg.persons() == []                     # nothing registered
    out = blurkit_cli("consent", "add", "Eileen", "--photo", f"{couple}:2", *RECORD)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "couple.jpg: used face 2 of 2 (as chosen); the other faces are ignored." in out.stdout
    assert "1 face template(s) stored" in out.stdout
    # the dominant face of a photo is used and the output says so; in Swedish too
    out = blurkit_cli("--lang", "sv", "consent", "add", "Grace", "--photo", party, *RECORD)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "party.jpg: använde ansikte 1 av 2 (det stora ansiktet i mitten)" in out.stdout
    with Registry.open(load_settings(data_dir)) as reg:
        assert [p.name for p in reg.persons()] == ["Eileen", "Grace"]
        assert len(reg.templates(MODEL_NAME)) == 2


def test_cli_face_option_pairs_with_one_photo_only(blurkit_cli, tmp_path, couple_photo):
    couple = save(tmp_path / "couple.jpg", couple_photo)
    out = blurkit_cli("consent", "add", "Eileen", "--photo", couple, "--photo", HOPPER,
                      "--face", "2", *RECORD)
    assert out.returncode == 2 and "FILE:N" in out.stderr
    out = blurkit_cli("consent", "add", "Eileen", "--photo", f"{couple}:2", "--face", "2",
                      *RECORD)
    assert out.returncode == 2 and "twice" in out.stderr
    out = blurkit_cli("consent", "add", "Eileen", "--photo", f"{tmp_path}/missing.jpg:2",
                      *RECORD)
    assert out.returncode == 2 and "not a readable file" in out.stderr
    out = blurkit_cli("consent", "add", "Eileen", "--photo", couple, "--face", "2", *RECORD)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "used face 2 of 2 (as chosen)" in out.stdout


def test_cli_registrar_confirms_same_person_and_it_is_recorded(blurkit_cli, data_dir):
    out = blurkit_cli("consent", "add", "Grace", "--photo", HOPPER, "--photo", COLLINS,
                      *RECORD)
    assert out.returncode != 0 and "do not clearly show the same person" in out.stderr
    out = blurkit_cli("consent", "add", "Grace", "--photo", HOPPER, "--photo", COLLINS,
                      "--same-person-confirmed-by", "Rut", *RECORD)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Rut confirmed that they do" in out.stdout
    settings = load_settings(data_dir)
    with AuditLog.open(settings) as log:
        details = [e.details or {} for e in log.history(1)]
    assert {"action": "templates-added", "count": 2, "model": MODEL_NAME,
            "confirmed_same_person_by": "Rut"}.items() <= \
        next(d for d in details if d.get("action") == "templates-added").items()
    # edit: a photo of someone else is refused unless confirmed
    out = blurkit_cli("consent", "edit", "1", "--photo", COLLINS)
    assert out.returncode == 0, out.stderr   # Collins is among the person's templates now


@pytest.mark.shared_data
def test_real_photos_bystander_ignored_two_actors_asked(shared_data, models_dir):
    """deepface img40: a photographer out of focus beside the person -> the person's face is
    taken; bbt2 (two actors in focus, one turned) -> a person must pick, and the picked face
    (Sheldon, on the right) is used."""
    settings = load_settings(Path("/nonexistent")).replace(models_dir_override=models_dir)
    img40 = shared_data / "identity_deepface_tests" / "images" / "img40.jpg"
    res = enrol_photos([img40], settings)
    v = res.photos[0]
    assert v.chosen_by == "dominant" and len(v.ignored) >= 1
    assert v.face.height_px > 1000                    # the portrait, not the photographer
    bbt2 = shared_data / "identity_faceapi_bbt" / "images" / "bbt2.jpg"
    pf = faces_in_photo(bbt2, models_dir)
    assert len(pf.candidates) >= 2 and pf.dominant is None
    with pytest.raises(InputError) as err:
        enrol_photos([bbt2], settings)
    assert err.value.key == "identify.enrol.several_faces"
    sheldon = next(f.index for f in pf.faces if f.box[0] <= 419 <= f.box[2])
    res = enrol_photos([bbt2], settings, faces=[sheldon])
    assert len(res.templates) == 1 and res.photos[0].chosen_by == "user"


# ----------------------------------------------------------------------------- matching step 4

def test_two_agreeing_references_match_a_little_below_the_threshold():
    from blurkit.identify import matching
    rule = matching.SupportRule(best=0.935, second=0.93, margin=0.03)   # case b off

    def decide(best, second_template, other=0.5, support=rule):
        scores = np.array([[best, other]], np.float32)
        seconds = np.array([[second_template, -1.0]], np.float32)
        return matching.decide(scores, np.array([1, 2]), 0.94, 0.04, 0.90, seconds,
                               support)[0]

    assert decide(0.937, 0.932)[0] == 1                       # two references agree
    assert decide(0.937, 0.925)[0] is None                    # the second one does not
    assert decide(0.937, -1.0)[0] is None                     # only one reference
    assert decide(0.937, 0.932, support=None)[3] == matching.NO_MATCH   # step 4 off
    assert decide(0.932, 0.931)[3] == matching.NO_MATCH       # below the rule's best
    assert decide(0.937, 0.936, other=0.91)[3] == matching.NO_MATCH   # margin 0.027 < 0.03
    # a second face claiming the same person hides both (one face per person)
    scores = np.array([[0.937, 0.5], [0.936, 0.5]], np.float32)
    seconds = np.array([[0.935, -1], [0.934, -1]], np.float32)
    out = matching.decide(scores, np.array([1, 2]), 0.94, 0.04, 0.90, seconds, rule)
    assert [o[0] for o in out] == [None, None]


def test_two_agreeing_references_beat_a_close_second_person():
    from blurkit.identify import matching
    rule = matching.SupportRule(0.935, 0.93, 0.03, close_best=0.945, close_margin=0.02,
                                close_lead=0.01)

    def decide(best, second_template, other, support=rule):
        scores = np.array([[best, other]], np.float32)
        seconds = np.array([[second_template, -1.0]], np.float32)
        return matching.decide(scores, np.array([1, 2]), 0.94, 0.04, 0.90, seconds,
                               support)[0]

    assert decide(0.950, 0.930, 0.925)[3] == matching.AMBIGUOUS   # step 4 needs two agreeing
    assert decide(0.950, 0.936, 0.925)[0] == 1      # both of P's photos beat the other person
    assert decide(0.950, 0.936, 0.925, support=matching.SupportRule(0.935, 0.93, 0.03)
                  )[3] == matching.AMBIGUOUS        # case b off
    assert decide(0.944, 0.940, 0.920)[3] == matching.AMBIGUOUS   # best below close_best
    assert decide(0.950, 0.945, 0.932)[3] == matching.AMBIGUOUS   # margin 0.018 < 0.02
    assert decide(0.950, 0.930, -1.0)[0] == 1        # nobody else: the main rule already


def test_gallery_second_scores():
    from blurkit.identify import matching
    e = np.eye(4, dtype=np.float32)
    g = matching.Gallery([(1, e[0]), (1, e[1]), (2, e[2])], 4)
    probe = (e[0] * 0.8 + e[1] * 0.6)[None]
    assert np.allclose(g.person_scores(probe), [[0.8, 0.0]])
    assert np.allclose(g.person_second_scores(probe), [[0.6, -1.0]])


def test_recognizer_uses_step_4_and_refuses_a_looser_one(models_dir):
    import pickle

    from blurkit.identify import Recognizer, matching
    rec = Recognizer(models_dir, [])
    assert rec.support == matching.SUPPORT
    assert pickle.loads(pickle.dumps(rec)).support == matching.SUPPORT
    assert Recognizer(models_dir, [], support=None).support is None
    looser = matching.SupportRule(matching.SUPPORT.best - 0.01, matching.SUPPORT.second,
                                  matching.SUPPORT.margin)
    with pytest.raises(ValueError):
        Recognizer(models_dir, [], support=looser)
    assert Recognizer(models_dir, [], support=looser, allow_looser=True).support == looser
