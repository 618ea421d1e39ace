"""Face templates and matching: who among the enrolled people is this face, if anyone?

Model: dlib's ResNet face descriptor (128-D) after dlib's 5-point alignment, both from
face_recognition_models==0.3.0 (CC0), loaded through the hash-checked model store.
Templates carry MODEL_NAME; templates of another model are never compared.

For the pipeline::

    from blurkit.identify import MODEL_NAME, Recognizer
    rec = Recognizer(models_dir, snapshot.for_model(MODEL_NAME))
    for det, ident in zip(dets, rec.identify(rgb, dets)):
        if ident.person_id is not None and snapshot.decide(ident.person_id, purpose).valid:
            ...  # may stay visible; every other face is hidden

For the consent CLI: `enrol_photos(paths, settings, faces) -> EnrolResult(templates, model)`;
for the register page: `faces_in_photo(photo, models_dir) -> PhotoFaces` and
`enrol_choices([PhotoChoice(photo, face)], models_dir, ...) -> Enrolment` (see enrol.py).

Modules: quality.py (the gate: large, sharp, frontal enough to judge), embedder.py (alignment
and templates), matching.py (threshold, margin, one face per person), bars.py (the strict bar
for showing automatically, the doubtful band of suggestions), suggest.py (the report's
suggestion, `may_confirm` and CONFIRM_FLOOR: who may confirm a suggested person),
recognizer.py, enrol.py. The numbers are chosen by benchmarks/recognition.py and
benchmarks/twobars.py.
"""

from __future__ import annotations

from blurkit import i18n
from blurkit.identify.bars import BARS, DOUBTFUL, Bars, PersonProfile, Suggestion
from blurkit.identify.embedder import DIM, MODEL_NAME, Embedder, load_embedder
from blurkit.identify.enrol import (
    Enrolment,
    EnrolResult,
    FaceInfo,
    PhotoChoice,
    PhotoFaces,
    PhotoVerdict,
    SamePersonCheck,
    check_matches_registered,
    check_same_person,
    enrol_choices,
    enrol_photos,
    faces_in_photo,
    verdict_text,
)
from blurkit.identify.matching import (
    AMBIGUOUS,
    DUPLICATE,
    MARGIN,
    NO_MATCH,
    THRESHOLD,
    UNKNOWN_SIMILARITY,
    Gallery,
    Identity,
)
from blurkit.identify.quality import (
    BLURRY,
    ENROLMENT,
    LOW_SCORE,
    MISALIGNED,
    PARTIAL,
    POSE,
    RECOGNITION,
    TOO_SMALL,
    FaceQuality,
    QualityLimits,
)
from blurkit.identify.recognizer import Recognizer, mean_template
from blurkit.identify.suggest import CONFIRM_FLOOR, ConfirmCheck, may_confirm

__all__ = ["MODEL_NAME", "DIM", "Recognizer", "Identity", "FaceQuality", "QualityLimits",
           "EnrolResult", "enrol_photos", "check_same_person", "check_matches_registered",
           "faces_in_photo", "enrol_choices", "Enrolment", "FaceInfo", "PhotoChoice", "PhotoFaces",
           "PhotoVerdict", "SamePersonCheck", "verdict_text",
           "mean_template", "Gallery",
           "Embedder", "load_embedder", "THRESHOLD", "MARGIN", "UNKNOWN_SIMILARITY",
           "RECOGNITION", "ENROLMENT", "REASONS", "reason_text",
           "BARS", "Bars", "PersonProfile", "Suggestion", "DOUBTFUL",
           "CONFIRM_FLOOR", "ConfirmCheck", "may_confirm"]

REASONS = (LOW_SCORE, PARTIAL, TOO_SMALL, MISALIGNED, POSE, BLURRY, NO_MATCH, AMBIGUOUS,
           DUPLICATE, DOUBTFUL)

REASON_WORDS = {
    LOW_SCORE: "identify.reason.low_score", PARTIAL: "identify.reason.partial",
    TOO_SMALL: "identify.reason.too_small", MISALIGNED: "identify.reason.misaligned",
    POSE: "identify.reason.pose", BLURRY: "identify.reason.blurry",
    NO_MATCH: "identify.reason.no_match", AMBIGUOUS: "identify.reason.ambiguous",
    DUPLICATE: "identify.reason.duplicate_in_image", DOUBTFUL: "identify.reason.doubtful",
}


def reason_text(reason: str, lang: str | None = None) -> str:
    """Why a face was not recognised, for people (Swedish or English)."""
    return i18n.t(REASON_WORDS[reason], lang=lang)
