"""Face recognition (blurkit.identify): enrolment refusals, the quality gate, matching with
threshold and margin, one face per person per picture, and the consent CLI end to end.

Runs on the project's own samples (public-domain portraits of Grace Hopper and Eileen
Collins); the tests marked shared_data use ../shared/data (look-alike strangers, a second
photo of an enrolled person).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from blurkit import i18n, identify
from blurkit.config import load_settings
from blurkit.detect import load_detector
from blurkit.detect.common import Detection
from blurkit.errors import InputError
from blurkit.identify import (
    MODEL_NAME,
    FaceQuality,
    Identity,
    Recognizer,
    enrol_photos,
    matching,
    reason_text,
)
from blurkit.identify import quality as q
from blurkit.media.image import read_photo

ROOT = Path(__file__).resolve().parent.parent
HOPPER = ROOT / "samples" / "portrait_exif_gps_thumbnail.jpg"   # face ~220 px tall
COLLINS = ROOT / "samples" / "portrait_orientation6.jpg"        # face ~120 px, EXIF-rotated


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("BLURKIT_LANG", "en")
    yield
    i18n.set_language(None)


@pytest.fixture(scope="module")
def detector(models_dir):
    return load_detector("centerface", models_dir, threads=1)


@pytest.fixture()
def settings(data_dir, models_dir):
    return load_settings(data_dir).replace(models_dir_override=models_dir)


def pixels(path: Path) -> np.ndarray:
    return read_photo(path).pixels


def save(path: Path, rgb: np.ndarray, quality: int = 95) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path


def side_by_side(a: np.ndarray, b: np.ndarray, gap: int = 40) -> np.ndarray:
    h = max(a.shape[0], b.shape[0])
    canvas = np.full((h, a.shape[1] + b.shape[1] + gap, 3), 128, np.uint8)
    canvas[:a.shape[0], :a.shape[1]] = a
    canvas[:b.shape[0], a.shape[1] + gap:] = b
    return canvas


def main_face(detector, rgb: np.ndarray) -> Detection:
    return max(detector.detect(rgb), key=lambda d: d.score)


def refused(paths, settings) -> InputError:
    with pytest.raises(InputError) as info:
        enrol_photos(paths, settings)
    return info.value


@pytest.fixture(scope="module")
def hopper_template(models_dir):
    from blurkit.config import Settings
    res = enrol_photos([HOPPER], Settings(data_dir=Path("/nonexistent"),
                                          models_dir_override=models_dir))
    return res.templates[0]


# ----------------------------------------------------------------------------- enrolment

def test_enrol_makes_one_normalised_template_per_photo(settings):
    res = enrol_photos([HOPPER], settings)
    assert res.model == MODEL_NAME
    assert len(res.templates) == 1
    v = res.templates[0]
    assert v.dtype == np.float32 and v.shape == (128,)
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert res.qualities[0].usable and res.qualities[0].height_px >= q.ENROLMENT.min_height_px


def test_enrol_refuses_a_photo_without_a_face(settings, tmp_path):
    blank = save(tmp_path / "wall.jpg", np.full((400, 300, 3), 200, np.uint8))
    err = refused([blank], settings)
    assert err.key == "identify.enrol.no_face"
    assert str(blank) in err.message("en") and str(blank) in err.message("sv")
    rocket = refused([ROOT / "samples" / "no_face.jpg"], settings)
    assert rocket.key in ("identify.enrol.no_face", "identify.enrol.low_score")


def test_enrol_refuses_two_faces(settings, tmp_path):
    two = save(tmp_path / "two.jpg", side_by_side(pixels(HOPPER), pixels(HOPPER)[:, ::-1]))
    err = refused([two], settings)
    assert err.key == "identify.enrol.several_faces"
    assert err.params["count"] == 2
    assert "two.jpg" in err.message("en") and "ansikten" in err.message("sv")


def test_enrol_ignores_a_tiny_face_in_the_background(settings, tmp_path):
    big = pixels(HOPPER)
    small = cv2.resize(pixels(COLLINS), None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    res = enrol_photos([save(tmp_path / "poster.jpg", side_by_side(big, small))], settings)
    assert len(res.templates) == 1


def test_a_box_inside_a_larger_face_is_not_a_second_face():
    from blurkit.identify.enrol import _distinct
    face = Detection((100, 100, 500, 600), 0.97, None, "centerface@1x1")
    part = Detection((200, 250, 420, 520), 0.86, None, "centerface@1x1r90")   # inside it
    neighbour = Detection((480, 120, 860, 600), 0.9, None, "centerface@1x1")  # beside it
    assert _distinct([part, face]) == [face]
    assert _distinct([face, part, neighbour]) == [face, neighbour]


def test_enrol_refuses_a_small_face(settings, tmp_path):
    rgb = pixels(HOPPER)
    small = cv2.resize(rgb, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # face ~66 px
    err = refused([save(tmp_path / "small.jpg", small)], settings)
    assert err.key == "identify.enrol.too_small"
    assert "small.jpg" in err.message("en") and "för litet" in err.message("sv")


def test_enrol_refuses_a_blurred_face(settings, tmp_path):
    rgb = cv2.GaussianBlur(pixels(HOPPER), (0, 0), 6)
    err = refused([save(tmp_path / "blurred.jpg", rgb)], settings)
    assert err.key == "identify.enrol.blurry"
    assert "blurred.jpg" in err.message("en") and "skarpt" in err.message("sv")


def test_enrol_refuses_photos_of_two_different_people(settings):
    err = refused([HOPPER, COLLINS], settings)
    assert err.key == "identify.enrol.not_same_person"
    assert str(COLLINS) in err.message("en")


def test_enrol_refuses_an_unreadable_photo(settings, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not a photo")
    with pytest.raises(InputError):
        enrol_photos([bad], settings)


# ----------------------------------------------------------------------------- quality gate

def test_gate_reasons():
    lim = q.RECOGNITION
    geo = q.Geometry(eye_distance=60, yaw=0.0, nose_drop=0.7, eye_ratio=0.95, roll_deg=0)
    ok = dict(score=0.9, height_px=180, detector_tag="centerface@640x480", limits=lim)
    assert q.judge(**ok, geo=geo, sharp=200, inside=1.0).usable
    assert q.judge(**{**ok, "score": 0.3}).reason == q.LOW_SCORE
    assert q.judge(**{**ok, "height_px": 40}).reason == q.TOO_SMALL
    assert q.judge(**ok, geo=geo, sharp=3, inside=1.0).reason == q.BLURRY
    assert q.judge(**ok, geo=geo, sharp=200, inside=0.5).reason == q.PARTIAL
    turned = q.Geometry(60, 0.6, 0.7, 0.95, 0)
    assert q.judge(**ok, geo=turned, sharp=200, inside=1.0).reason == q.POSE
    nested = q.Geometry(150, 0.0, 0.7, 0.95, 0)  # eyes far apart for the box: another face's
    assert q.judge(**ok, geo=nested, sharp=200, inside=1.0).reason == q.MISALIGNED
    # the score limit follows the detector that found the face
    from blurkit.detect import NET_PARAMS
    assert q.min_score_for("scrfd@640x480r90", lim) == NET_PARAMS["scrfd"].confident
    assert q.min_score_for("centerface@640x480", lim) == NET_PARAMS["centerface"].confident


def test_blurred_small_and_cut_faces_are_never_matched(models_dir, detector, hopper_template):
    rec = Recognizer(models_dir, [(1, hopper_template)])
    rgb = pixels(HOPPER)
    det = main_face(detector, rgb)
    blurred = cv2.GaussianBlur(rgb, (0, 0), 8)
    v, qual = rec.embed(blurred, det)
    assert v is None and qual.reason == q.BLURRY
    tiny = cv2.resize(rgb, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    small = Detection(tuple(c * 0.15 for c in det.box), det.score, None, det.detector)
    [ident] = rec.identify(tiny, [small])
    assert ident.person_id is None and ident.reason == q.TOO_SMALL
    x1, y1, x2, y2 = det.box
    for keep, reasons in ((0.75, {q.PARTIAL}), (0.5, None)):
        # the photo ends inside the face: the right quarter / half of the face is missing
        cut = np.ascontiguousarray(rgb[:, : int(x1 + keep * (x2 - x1))])
        cut_det = Detection((x1, y1, cut.shape[1] - 1, y2), det.score, None, det.detector)
        [ident] = rec.identify(cut, [cut_det])
        assert ident.person_id is None
        if reasons:
            assert ident.reason in reasons


# ----------------------------------------------------------------------------- matching

def variant(rgb: np.ndarray, tmp_path: Path) -> np.ndarray:
    """The same photo mirrored, rescaled and recompressed hard."""
    v = cv2.resize(rgb[:, ::-1], None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    path = save(tmp_path / "variant.jpg", np.ascontiguousarray(v), quality=35)
    return pixels(path)


def test_same_person_matches_and_another_does_not(models_dir, detector, hopper_template,
                                                  tmp_path):
    rec = Recognizer(models_dir, [(7, hopper_template)])
    probe = variant(pixels(HOPPER), tmp_path)
    [ident] = rec.identify(probe, [main_face(detector, probe)])
    assert ident.person_id == 7 and ident.reason is None
    assert ident.similarity >= matching.THRESHOLD
    other = pixels(COLLINS)
    [ident] = rec.identify(other, [main_face(detector, other)])
    assert ident.person_id is None and ident.reason == matching.NO_MATCH
    assert ident.nearest_id == 7 and ident.similarity < matching.THRESHOLD


def test_no_gallery_and_no_faces(models_dir, detector):
    rec = Recognizer(models_dir, [])
    rgb = pixels(HOPPER)
    [ident] = rec.identify(rgb, [main_face(detector, rgb)])
    assert ident.person_id is None and ident.reason == matching.NO_MATCH
    assert rec.identify(rgb, []) == []


def close_to(v: np.ndarray, sim: float, seed: int) -> np.ndarray:
    """A unit vector with cosine similarity `sim` to the unit vector v."""
    rng = np.random.default_rng(seed)
    r = rng.normal(size=v.shape)
    r -= (r @ v) * v
    r /= np.linalg.norm(r)
    return (sim * v + np.sqrt(1 - sim ** 2) * r).astype(np.float32)


def test_margin_to_a_look_alike_hides_the_face(models_dir, detector, hopper_template):
    rgb = pixels(HOPPER)
    det = main_face(detector, rgb)
    # person 2 is enrolled (with or without consent) and almost as close as person 1
    look_alike = close_to(hopper_template, 0.985, seed=1)
    rec = Recognizer(models_dir, [(1, hopper_template), (2, look_alike)])
    [ident] = rec.identify(rgb, [det])
    assert ident.person_id is None and ident.reason == matching.AMBIGUOUS
    assert ident.similarity - ident.second_similarity < matching.MARGIN
    # a clearly different second person leaves the match alone
    rec = Recognizer(models_dir, [(1, hopper_template), (2, close_to(hopper_template, 0.7, 2))])
    [ident] = rec.identify(rgb, [det])
    assert ident.person_id == 1


def decide_one(scores, threshold=0.94, margin=0.04, unknown=0.90):
    return matching.decide(np.array([scores], np.float32), np.arange(1, len(scores) + 1),
                           threshold, margin, unknown)[0]


def test_margin_rule_numbers():
    assert decide_one([0.97, 0.80])[0] == 1
    assert decide_one([0.97, 0.96])[3] == matching.AMBIGUOUS
    assert decide_one([0.93, 0.50])[3] == matching.NO_MATCH
    # one enrolled person: the margin is measured against the unknown-stranger baseline
    pid, best, second, reason, _ = decide_one([0.95])
    assert pid == 1 and second == pytest.approx(0.90)
    assert decide_one([0.95], threshold=0.9, unknown=0.94)[3] == matching.AMBIGUOUS
    assert decide_one([0.95, 0.60], threshold=0.9, unknown=0.94)[3] == matching.AMBIGUOUS


def quality_ok() -> FaceQuality:
    return FaceQuality(usable=True, reason=None, score=0.9, height_px=200.0)


def test_two_faces_cannot_both_be_the_same_person(models_dir):
    base = np.zeros(128, np.float32)
    base[0] = 1
    gallery = [(1, base), (2, close_to(base, 0.5, 3))]
    rec = Recognizer(models_dir, gallery)
    strong, weak = close_to(base, 0.995, 4), close_to(base, 0.945, 5)
    ids = rec.match([weak, strong], [quality_ok(), quality_ok()])
    assert [i.person_id for i in ids] == [None, 1]
    assert ids[0].reason == matching.DUPLICATE
    # nearly as strong: we cannot tell which one is person 1, so neither is shown
    twin_a, twin_b = close_to(base, 0.975, 6), close_to(base, 0.97, 7)
    ids = rec.match([twin_a, twin_b], [quality_ok(), quality_ok()])
    assert [i.person_id for i in ids] == [None, None]
    assert {i.reason for i in ids} == {matching.DUPLICATE}
    # a face that failed the gate has no template and never claims anyone
    ids = rec.match([None, strong], [FaceQuality(False, q.BLURRY, 0.9, 100.0), quality_ok()])
    assert ids[0].reason == q.BLURRY and ids[1].person_id == 1


def test_two_copies_of_one_face_in_a_photo_are_both_hidden(models_dir, detector,
                                                            hopper_template):
    rgb = side_by_side(pixels(HOPPER), pixels(HOPPER))
    dets = [d for d in detector.detect(rgb) if d.score >= 0.5]
    assert len(dets) == 2
    ids = Recognizer(models_dir, [(1, hopper_template)]).identify(rgb, dets)
    assert [i.person_id for i in ids] == [None, None]
    assert all(i.reason == matching.DUPLICATE for i in ids)


def test_recognizer_guards(models_dir, hopper_template):
    with pytest.raises(ValueError):
        Recognizer(models_dir, [(1, np.ones(64, np.float32))])  # another model's size
    with pytest.raises(ValueError):
        Recognizer(models_dir, [(1, hopper_template)], threshold=0.5)  # looser than measured
    rec = Recognizer(models_dir, [(1, hopper_template)])
    clone = pickle.loads(pickle.dumps(rec))
    assert clone.threshold == rec.threshold and clone.gallery.template_count == 1
    assert rec.model == MODEL_NAME


def test_reasons_have_texts_in_both_languages():
    from blurkit.identify import REASONS
    for reason in REASONS:
        assert reason_text(reason, "en") != reason_text(reason, "sv")
    ident = Identity(None, None, None, quality_ok(), matching.NO_MATCH)
    assert json.dumps(ident.to_dict())


# ----------------------------------------------------------------------------- shared data

def chips_of(shared_data: Path, name: str) -> list[Path]:
    return sorted((shared_data / "identity_dlib_johns" / "images" / name).glob("*.jpg"))


@pytest.mark.shared_data
def test_look_alike_johns_are_never_matched(shared_data, models_dir, detector, settings):
    johns = ["John_Salley", "John_Savage", "John_Schneider", "John_Shimkus", "John_Simm"]
    enrolled = {"John_Savage": 1, "John_Simm": 2}
    gallery = []
    for name, pid in enrolled.items():
        res = enrol_photos(chips_of(shared_data, name)[:3], settings)
        gallery += [(pid, v) for v in res.templates]
    rec = Recognizer(models_dir, gallery)
    shown = 0
    for name in johns:
        for path in chips_of(shared_data, name)[3:7]:
            rgb = pixels(path)
            dets = [d for d in detector.detect(rgb) if d.score >= 0.5]
            for ident in rec.identify(rgb, dets):
                if ident.person_id is not None:
                    assert ident.person_id == enrolled.get(name), (name, path)
                    shown += 1
    assert shown >= 4  # enrolled Johns are recognised in most of their other chips


@pytest.mark.shared_data
def test_enrolled_person_is_found_in_a_group_photo(shared_data, models_dir, detector,
                                                   settings):
    base = shared_data / "identity_face_recognition_examples" / "images"
    obama = enrol_photos([base / "obama" / "obama.jpg", base / "obama" / "obama1.jpg"],
                         settings)
    biden_unenrolled = base / "multi_person" / "obama_and_biden.jpg"
    rec = Recognizer(models_dir, [(1, v) for v in obama.templates])
    rgb = pixels(biden_unenrolled)
    dets = [d for d in detector.detect(rgb) if d.score >= 0.5]
    ids = rec.identify(rgb, dets)
    shown = [d for d, i in zip(dets, ids) if i.person_id == 1]
    assert len(shown) == 1
    # Obama stands on the right (x ~1235 px), Biden on the left (x ~846 px)
    x1, _, x2, _ = shown[0].box
    assert x1 <= 1235 <= x2


# ----------------------------------------------------------------------------- CLI

def test_consent_add_enrols_with_the_real_recognition(data_dir, models_dir, tmp_path):
    from blurkit.consent.crypto import KEY_ENV
    from blurkit.consent.registry import Registry

    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update(BLURKIT_DATA_DIR=str(data_dir), BLURKIT_MODELS_DIR=str(models_dir),
               BLURKIT_LANG="en")

    def blurkit(*args):
        return subprocess.run([sys.executable, "-m", "blurkit", *map(str, args)], env=env,
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)

    result = blurkit("consent", "add", "Grace Hopper", "--photo", HOPPER, "--purpose", "public",
                     "--signed", "2026-01-01", "--form-ref", "F1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"1 face template(s) stored, encrypted (model {MODEL_NAME})" in result.stdout
    with Registry.open(load_settings(data_dir)) as reg:
        [person] = reg.persons()
        templates = reg.templates(MODEL_NAME)
        assert [pid for pid, _ in templates] == [person.id]
        assert templates[0][1].shape == (128,)
        assert reg.decide(person.id, "public", today=date(2026, 6, 1)).valid
    # a photo with two faces is refused with its reason, and nothing is registered
    two = save(tmp_path / "two.jpg", side_by_side(pixels(HOPPER), pixels(COLLINS)))
    result = blurkit("consent", "add", "Someone", "--photo", two, "--purpose", "public",
                     "--signed", "2026-01-01", "--form-ref", "F2")
    assert result.returncode != 0
    assert "two.jpg: 2 faces found" in result.stderr
    with Registry.open(load_settings(data_dir)) as reg:
        assert [p.name for p in reg.persons()] == ["Grace Hopper"]


def test_benchmark_models_are_pinned_and_blurkits_own_matches_identify(monkeypatch, tmp_path):
    """benchmarks/recognition.py --model: blurkit's model is measured at the matcher's own
    numbers, and each candidate's file is a pinned PyPI member with a SHA-256, installed
    through the model store - never listed in the project's manifest (not fetched for users)."""
    from blurkit import modelstore

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import recognition as bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    own = bench.MODELS[MODEL_NAME]
    assert (own.threshold, own.margin, own.unknown, own.spec) == (
        matching.THRESHOLD, matching.MARGIN, matching.UNKNOWN_SIMILARITY, None)
    assert (own.threshold, own.margin) in {(t, m) for t in own.thresholds for m in own.margins}
    project = {s.name for s in modelstore.load_manifest(modelstore.MANIFEST)}
    candidates = [m for m in bench.MODELS.values() if m.spec is not None]
    assert candidates
    for model in candidates:
        spec = modelstore.ModelSpec(**model.spec)
        assert spec.name not in project and len(spec.sha256) == 64 and spec.version
        # recorded by monkeypatch, so the variable the benchmark sets is undone afterwards
        monkeypatch.setenv("BLURKIT_MODEL_MANIFEST", str(modelstore.MANIFEST))
        bench.use_candidate_manifest(model)
        names = {s.name for s in modelstore.load_manifest()}
        assert names == project | {spec.name}
        assert modelstore.spec(spec.name) == spec
        os.unlink(os.environ["BLURKIT_MODEL_MANIFEST"])


def test_a_photo_added_later_must_match_the_registered_templates():
    base = np.zeros(128, np.float32)
    base[0] = 1
    registered = [close_to(base, 0.98, 1), close_to(base, 0.97, 2)]
    same, other = close_to(base, 0.99, 3), close_to(base, 0.80, 4)
    identify.check_matches_registered([same], registered, ["a.jpg"], 7)
    with pytest.raises(InputError) as err:
        identify.check_matches_registered([same, other], registered, ["a.jpg", "b.jpg"], 7)
    assert err.value.key == "identify.enrol.not_this_person"
    assert err.value.params["photo"] == "b.jpg" and err.value.params["person_id"] == 7
    identify.check_matches_registered([other], [], ["b.jpg"], 7)   # nothing registered
