"""Face templates from reference photos (`blurkit consent add/edit --photo ...`).

A reference photo must hold exactly one face, and that face must pass the ENROLMENT quality
limits (stricter than recognition). Counting faces ignores what cannot be a person's
reference face: detections below the detector's "confident" score and faces too small to be
recognised at all (RECOGNITION.min_height_px). Any second face beyond that refuses the photo:
we would not know whose template we made.

The photos of one call must also look like one person (every pair at least the matching
threshold): a photo of someone else among them would make that person "consented".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from blurkit import i18n
from blurkit.errors import InputError
from blurkit.identify import matching
from blurkit.identify import quality as q
from blurkit.identify.embedder import MODEL_NAME, load_embedder

i18n.register({
    "identify.enrol.no_photos": {
        "en": "No reference photo was given.",
        "sv": "Inget referensfoto angavs.",
    },
    "identify.enrol.no_face": {
        "en": "{photo}: no face found. A reference photo must show the person's face clearly, "
              "from the front.",
        "sv": "{photo}: inget ansikte hittades. Ett referensfoto måste visa personens ansikte "
              "tydligt, framifrån.",
    },
    "identify.enrol.several_faces": {
        "en": "{photo}: {count} faces found. A reference photo must show only the person being "
              "registered: crop it so that only their face remains.",
        "sv": "{photo}: {count} ansikten hittades. Ett referensfoto får bara visa personen som "
              "registreras: beskär det så att bara hens ansikte finns kvar.",
    },
    "identify.enrol.low_score": {
        "en": "{photo}: the face is not clear enough to be sure it is a face (detector "
              "confidence {score:.2f}, at least {minimum:.2f} needed). Use a clearer photo.",
        "sv": "{photo}: ansiktet är för otydligt för att säkert vara ett ansikte (detektorns "
              "säkerhet {score:.2f}, minst {minimum:.2f} krävs). Använd ett tydligare foto.",
    },
    "identify.enrol.too_small": {
        "en": "{photo}: the face is too small ({height:.0f} pixels tall, eyes {eyes:.0f} pixels "
              "apart; at least {min_height:.0f} and {min_eyes:.0f} needed). Use a larger or "
              "closer photo.",
        "sv": "{photo}: ansiktet är för litet ({height:.0f} pixlar högt, ögonen {eyes:.0f} "
              "pixlar isär; minst {min_height:.0f} och {min_eyes:.0f} krävs). Använd ett större "
              "foto eller ett taget närmare.",
    },
    "identify.enrol.blurry": {
        "en": "{photo}: the face is not sharp enough (sharpness {sharpness:.0f}, at least "
              "{minimum:.0f} needed). Use a sharp photo.",
        "sv": "{photo}: ansiktet är inte tillräckligt skarpt (skärpa {sharpness:.0f}, minst "
              "{minimum:.0f} krävs). Använd ett skarpt foto.",
    },
    "identify.enrol.pose": {
        "en": "{photo}: the face is turned away or tilted too far. Use a photo taken from the "
              "front, with both eyes clearly visible.",
        "sv": "{photo}: ansiktet är vänt åt sidan eller för snett. Använd ett foto taget "
              "framifrån där båda ögonen syns tydligt.",
    },
    "identify.enrol.partial": {
        "en": "{photo}: the face is cut off by the edge of the photo. Use a photo that shows "
              "the whole face.",
        "sv": "{photo}: ansiktet är avskuret av bildkanten. Använd ett foto som visar hela "
              "ansiktet.",
    },
    "identify.enrol.misaligned": {
        "en": "{photo}: the eyes and nose of the face could not be located reliably. Use a "
              "clear photo taken from the front.",
        "sv": "{photo}: ansiktets ögon och näsa kunde inte lokaliseras säkert. Använd ett "
              "tydligt foto taget framifrån.",
    },
    "identify.enrol.not_same_person": {
        "en": "{photo_a} and {photo_b} do not clearly show the same person (similarity "
              "{similarity:.3f}, at least {minimum:.3f} needed). Give only photos of the person "
              "being registered.",
        "sv": "{photo_a} och {photo_b} visar inte tydligt samma person (likhet "
              "{similarity:.3f}, minst {minimum:.3f} krävs). Ange bara foton av personen som "
              "registreras.",
    },
    "identify.enrol.not_this_person": {
        "en": "{photo} does not clearly show person {person_id} (similarity {similarity:.3f} "
              "with the photos already registered for them, at least {minimum:.3f} needed). "
              "Check the person number; add only photos of that person.",
        "sv": "{photo} visar inte tydligt person {person_id} (likhet {similarity:.3f} med "
              "fotona som redan är registrerade för personen, minst {minimum:.3f} krävs). "
              "Kontrollera personnumret; lägg bara till foton av den personen.",
    },
})


@dataclass(frozen=True)
class EnrolResult:
    templates: list[np.ndarray]                       # float32, L2-normalised, one per photo
    model: str = MODEL_NAME
    qualities: list[q.FaceQuality] = field(default_factory=list)


def _refuse(path: Path, quality: q.FaceQuality, tag: str) -> InputError:
    photo = str(path)
    lim = q.ENROLMENT
    reason = quality.reason
    if reason == q.LOW_SCORE:
        return InputError("identify.enrol.low_score", photo=photo, score=quality.score,
                          minimum=q.min_score_for(tag, lim))
    if reason == q.TOO_SMALL:
        return InputError("identify.enrol.too_small", photo=photo, height=quality.height_px,
                          eyes=quality.eye_distance_px or 0.0, min_height=lim.min_height_px,
                          min_eyes=lim.min_eye_distance_px)
    if reason == q.BLURRY:
        return InputError("identify.enrol.blurry", photo=photo, sharpness=quality.sharpness or 0,
                          minimum=lim.min_sharpness)
    if reason == q.PARTIAL:
        return InputError("identify.enrol.partial", photo=photo)
    if reason == q.MISALIGNED:
        return InputError("identify.enrol.misaligned", photo=photo)
    return InputError("identify.enrol.pose", photo=photo)


def enrol_face(embedder, rgb: np.ndarray, detections: list, path: Path
               ) -> tuple[np.ndarray, q.FaceQuality]:
    """The template of the one face in a reference photo, or InputError with the reason."""
    counted = _distinct([d for d in detections
                         if d.score >= q.min_score_for(getattr(d, "detector", ""), q.ENROLMENT)
                         and d.height >= q.RECOGNITION.min_height_px])
    if len(counted) > 1:
        raise InputError("identify.enrol.several_faces", photo=str(path), count=len(counted))
    if not counted:
        if not detections:
            raise InputError("identify.enrol.no_face", photo=str(path))
        # explain with the most face-like candidate why it cannot serve
        best = max(detections, key=lambda d: (d.score, d.height))
        quality = q.judge(score=best.score, height_px=best.height,
                          detector_tag=getattr(best, "detector", ""), limits=q.ENROLMENT)
        if quality.usable:  # cannot happen: it was not counted
            raise InputError("identify.enrol.no_face", photo=str(path))
        raise _refuse(path, quality, getattr(best, "detector", ""))
    face = counted[0]
    template, quality = embedder.embed(rgb, face, q.ENROLMENT)
    if template is None:
        raise _refuse(path, quality, getattr(face, "detector", ""))
    return template, quality


def _distinct(detections: list) -> list:
    """Drop a detection lying mostly (>= 70 %) inside a better-scoring one: the detector
    sometimes boxes part of a large face again (deepface img49), and that is not a second
    person. Faces side by side overlap far less."""
    kept: list = []
    for d in sorted(detections, key=lambda d: -d.score):
        x1, y1, x2, y2 = d.box
        area = max((x2 - x1) * (y2 - y1), 1e-9)
        inside = False
        for k in kept:
            kx1, ky1, kx2, ky2 = k.box
            iw = max(0.0, min(x2, kx2) - max(x1, kx1))
            ih = max(0.0, min(y2, ky2) - max(y1, ky1))
            inside = inside or iw * ih >= 0.7 * area
        if not inside:
            kept.append(d)
    return kept


def enrol_photos(paths: list[Path], settings) -> EnrolResult:
    """One template per reference photo. Raises InputError (naming the photo and the reason)
    for a photo that cannot be read or does not hold exactly one usable face, and when the
    photos do not all show the same person."""
    from blurkit.detect import load_detector
    from blurkit.media.image import read_photo

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("identify.enrol.no_photos")
    detector = load_detector(getattr(settings, "detector", "centerface"), settings.models_dir,
                             threads=1)
    embedder = load_embedder(settings.models_dir)
    templates, qualities = [], []
    for path in paths:
        rgb = read_photo(path).pixels
        template, quality = enrol_face(embedder, rgb, detector.detect(rgb), path)
        templates.append(template)
        qualities.append(quality)
    check_same_person(templates, paths)
    return EnrolResult(templates=templates, model=MODEL_NAME, qualities=qualities)


def check_same_person(templates: list[np.ndarray], paths: list,
                      minimum: float = matching.THRESHOLD) -> None:
    """InputError unless every pair of templates is at least `minimum` similar. `paths` name
    the templates in the message (photo paths, or e.g. "registered template 2")."""
    for (i, a), (j, b) in combinations(enumerate(templates), 2):
        sim = float(np.dot(a, b))
        if sim < minimum:
            raise InputError("identify.enrol.not_same_person", photo_a=str(paths[i]),
                             photo_b=str(paths[j]), similarity=sim, minimum=minimum)


def check_matches_registered(templates: list[np.ndarray], registered: list[np.ndarray],
                             paths: list, person_id: int,
                             minimum: float = matching.THRESHOLD) -> None:
    """InputError unless each new template is at least `minimum` similar to one of the
    templates already registered for the person (photos added later must be recognised as
    them: a wrong person number would otherwise show someone else under their consent).
    Nothing to compare with (no templates left, e.g. after a withdrawal) passes."""
    if not registered:
        return
    known = np.stack(registered)
    for path, template in zip(paths, templates):
        best = float(np.max(known @ template))
        if best < minimum:
            raise InputError("identify.enrol.not_this_person", photo=str(path),
                             person_id=person_id, similarity=best, minimum=minimum)
