"""Face templates from reference photos: consent registration, for the CLI and the web page.

Both `blurkit consent add/edit --photo ...` and the register page call these functions; they
take and return plain data (paths or pixels in, dataclasses out) and never print.

Which face of a photo
---------------------
`faces_in_photo` lists every face the detector is confident about (score >= its "confident"
score; a box lying mostly inside a better one is the same face, see `_distinct`), numbered
1, 2, ... from left to right (then top to bottom), each with its box, its size and the
ENROLMENT quality verdict (ok, or a reason key with a plain-language text in Swedish and
English, `verdict_text`). Faces too small to be recognised at all
(< RECOGNITION.min_height_px = 56 px) are listed but never taken automatically.

The face used is, in this order:

1. the face the caller chose (`PhotoChoice.face`, CLI `--photo FILE:N`);
2. the only face large enough to be recognised (`chosen_by="only"`);
3. the clearly dominant face (`chosen_by="dominant"`): the tallest face, central (its centre
   in the middle CENTRAL_SHARE = 60 % of the photo's width, and nearer the middle than every
   other face), and every other face is background: at most 1 / DOMINANT_RATIO (1.8) of its
   height, or out of focus - its sharpness (quality.py: Laplacian variance of the aligned
   chip) at most 1 / FOCUS_RATIO (6) of the dominant face's. The others are ignored, and the
   verdict says so (`ignored`).
   Why: a photo taken OF a person is framed on them and focused on them; a bystander is
   smaller (further away) or blurred by the depth of field. Measured on every photo of the
   shared identity sets with two faces or more (benchmarks/registration.py prints them, with
   both ratios): in the 5 photos of one labelled person (deepface img31, img40, img54, img59,
   img62) every other face is at least 1.8x smaller or, where not, 7.5-83x less sharp; in
   the group photos (couple, two_people, obama_and_biden, kit_with_rose, bbt1-5) some other
   face is within 1.3x of the tallest one's height and at most 1.1x less sharp. 1.8 (a face
   1.8x as tall covers >3x the area) and 6 lie between. The group selfie is the exception
   that the "central" condition is for: its tallest face (the photographer's, cut by the
   right edge) is 1.8-3x taller than the rest. A face that merely fails the gate (e.g.
   turned away) does not count as background: in bbt2 the other actor is turned but as sharp
   and as large, and the photo is OF both. The data is small (15 photos) and all of it was
   used to set the rule; it errs towards asking, and the output always says which face was
   used.
4. otherwise the photo is refused with reason "several_faces", listing the faces, so that
   a person picks one.

Then the chosen face must pass the ENROLMENT quality gate (stricter than recognition).

Same person
-----------
The accepted photos of one call must look like one person: every pair at least
matching.THRESHOLD similar (the same bar a face must reach to be shown; the different-person
pairs of the shared identity sets reach at most 0.934). For `consent edit`, every new photo
must also reach it against one of the person's registered templates. A registrar who knows
that the photos show one person (e.g. years apart) may confirm it: `confirmed_same_person_by`
names them; the enrolment is then accepted and the name is stored with the templates' audit
entry (`Registry.add_templates(..., confirmed_same_person_by=...)`). Who may confirm is the
caller's decision (the web page lets registrars and admins, never staff).

API
---
faces_in_photo(photo, models_dir, *, detector="centerface", name=None) -> PhotoFaces
    photo: a path, or RGB uint8 pixels (H, W, 3) of the photo as displayed (EXIF orientation
    applied, as `blurkit.media.image.read_photo(path).pixels` gives them). The detector is
    deterministic: the same pixels give the same face numbers in `enrol_choices`.
    PhotoFaces: name, width, height, faces (FaceInfo ...), dominant (index or None),
    candidates (indices of faces >= 56 px), automatic ("only" / "dominant" / None),
    lines(lang), to_dict().
    FaceInfo: index (1-based, from the left), box (x1, y1, x2, y2 px), width_px, height_px,
    score, quality (quality.FaceQuality), ok, reason (None or a quality reason key),
    verdict(lang) ("bra" / "good", "för suddigt" / "too blurred", ...), crop_box(w, h),
    to_dict().
enrol_choices(choices, models_dir, *, detector="centerface", registered=(), person_id=None,
              confirmed_same_person_by=None) -> Enrolment
    choices: PhotoChoice(photo, face=None or 1-based index, name=None) per photo (1-3 usual).
    registered: the person's templates already stored (`consent edit`), person_id for the
    message. confirmed_same_person_by: the registrar's name; empty -> InputError.
    Never raises for a photo problem. Enrolment: photos (PhotoVerdict per choice, in order),
    templates (one per accepted photo; store only when ok), model, same_person
    (SamePersonCheck), error (the first problem as an InputError, or None), ok,
    confirmed_same_person_by, to_dict(lang) (JSON for a page, never the templates).
    PhotoVerdict: name, accepted, reason (None or a key of PHOTO_REASONS), face (the FaceInfo
    judged, or None), faces (PhotoFaces), chosen_by ("user" / "only" / "dominant"), ignored
    (indices), error, verdict(lang), message(lang), to_dict().
    SamePersonCheck: pairs (PairSimilarity(a, b, similarity, same); a, b index photos, b None
    = against the registered templates), minimum, same_person, confirmed_by,
    different_people (the page's "these look like two different people"), weakest.
    To store: Registry.add_templates(person_id, e.templates, e.model,
    confirmed_same_person_by=e.confirmed_same_person_by) - the name goes into the audit entry.
enrol_photos(paths, settings, faces=None, *, registered=(), person_id=None,
             confirmed_same_person_by=None) -> EnrolResult      (the CLI's call)
    The same, raising InputError with the first problem (listing the faces of a photo with
    several). EnrolResult: templates, model, qualities, photos, same_person.
verdict_text(reason, lang) -> the short plain-language verdict of a reason key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from blurkit import i18n
from blurkit.errors import InputError
from blurkit.identify import matching
from blurkit.identify import quality as q
from blurkit.identify.embedder import MODEL_NAME, check_image, load_embedder

# The dominant-face rule (see the module docstring).
DOMINANT_RATIO = 1.8
FOCUS_RATIO = 6.0
CENTRAL_SHARE = 0.6

# Reason keys of a photo refused as a whole (besides the quality reasons of its face).
NO_FACE = "no_face"
SEVERAL_FACES = "several_faces"
NO_SUCH_FACE = "no_such_face"
PHOTO_REASONS = (NO_FACE, SEVERAL_FACES, NO_SUCH_FACE) + q.QUALITY_REASONS


# ----------------------------------------------------------------------------- data

class FacesError(InputError):
    """An InputError whose message lists the faces of a photo, in the language asked for."""

    def __init__(self, key: str, photo_faces: PhotoFaces, **params: object) -> None:
        super().__init__(key, **params)
        self.photo_faces = photo_faces

    def message(self, lang: str | None = None) -> str:
        return i18n.t(self.key, lang=lang, faces=self.photo_faces.lines(lang), **self.params)


@dataclass(frozen=True)
class FaceInfo:
    """One face of a reference photo.

    index: 1-based, faces numbered from the left (the number `PhotoChoice.face` and the CLI's
        `--photo FILE:N` take).
    box: (x1, y1, x2, y2) in pixels of the photo as displayed (EXIF orientation applied).
    quality: the ENROLMENT gate's measures; reason: None (ok) or a quality reason key.
    """

    index: int
    box: tuple[float, float, float, float]
    score: float
    quality: q.FaceQuality
    detector: str = ""

    @property
    def width_px(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height_px(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def ok(self) -> bool:
        return self.quality.usable

    @property
    def reason(self) -> str | None:
        return self.quality.reason

    def verdict(self, lang: str | None = None) -> str:
        """Plain-language verdict: "bra" / "good", or why not ("för suddigt" / "too blurred")."""
        return verdict_text(self.reason, lang)

    def crop_box(self, width: int, height: int, margin: float = 0.3
                 ) -> tuple[int, int, int, int]:
        """The face's box grown by `margin` of its size on every side and clipped to the photo
        (`width` x `height`): what a page shows as the face judged."""
        x1, y1, x2, y2 = self.box
        mx, my = margin * (x2 - x1), margin * (y2 - y1)
        return (max(0, int(x1 - mx)), max(0, int(y1 - my)),
                min(int(width), int(np.ceil(x2 + mx))), min(int(height), int(np.ceil(y2 + my))))

    def line(self, lang: str | None = None) -> str:
        return i18n.t("identify.enrol.face_line", lang=lang, index=self.index,
                      width=self.width_px, height=self.height_px, x=self.box[0], y=self.box[1],
                      verdict=self.verdict(lang))

    def to_dict(self) -> dict:
        return {"index": self.index, "box": [round(float(v), 1) for v in self.box],
                "width_px": round(self.width_px, 1), "height_px": round(self.height_px, 1),
                "score": round(float(self.score), 4), "ok": self.ok, "reason": self.reason}


@dataclass(frozen=True)
class PhotoFaces:
    """Every face of one reference photo and which one would be taken automatically.

    name: how messages name the photo (its path, or the name the caller gave).
    width, height: the photo's size as displayed.
    dominant: index of the face taken without asking (the only face large enough to be
        recognised, or the clearly dominant one), or None when a person must pick.
    candidates: indices of the faces large enough to be the person's reference face.
    """

    name: str
    width: int
    height: int
    faces: tuple[FaceInfo, ...]
    dominant: int | None
    candidates: tuple[int, ...]

    def face(self, index: int) -> FaceInfo | None:
        return next((f for f in self.faces if f.index == index), None)

    @property
    def automatic(self) -> str | None:
        """"only" or "dominant" when `dominant` is set, else None."""
        if self.dominant is None:
            return None
        return "only" if len(self.candidates) == 1 else "dominant"

    def lines(self, lang: str | None = None) -> str:
        return "\n".join(f.line(lang) for f in self.faces)

    def to_dict(self) -> dict:
        return {"name": self.name, "width": self.width, "height": self.height,
                "faces": [f.to_dict() for f in self.faces], "dominant": self.dominant,
                "candidates": list(self.candidates)}


@dataclass(frozen=True)
class PhotoChoice:
    """One reference photo for `enrol_choices`: a path or RGB pixels, and which face (1-based index
    from `faces_in_photo`; None = the only / the dominant face)."""

    photo: Path | str | np.ndarray
    face: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class PhotoVerdict:
    """The result for one photo of an enrolment.

    accepted: the photo gives a template. reason: None, or a key of PHOTO_REASONS.
    face: the face judged (its box for a crop), None when no face could be judged.
    chosen_by: "user", "only" or "dominant" (None when no face was chosen).
    ignored: indices of the other faces of the photo, which were ignored.
    error: the detailed InputError for a refused photo (sv/en message with the numbers).
    """

    name: str
    accepted: bool
    reason: str | None
    face: FaceInfo | None
    faces: PhotoFaces | None
    chosen_by: str | None = None
    ignored: tuple[int, ...] = ()
    error: InputError | None = field(default=None, compare=False)

    def verdict(self, lang: str | None = None) -> str:
        return verdict_text(self.reason, lang)

    def message(self, lang: str | None = None) -> str:
        """The full sentence for a refused photo ('' when accepted)."""
        return self.error.message(lang) if self.error is not None else ""

    def to_dict(self) -> dict:
        return {"name": self.name, "accepted": self.accepted, "reason": self.reason,
                "face": self.face.to_dict() if self.face else None,
                "chosen_by": self.chosen_by, "ignored": list(self.ignored)}


@dataclass(frozen=True)
class PairSimilarity:
    """Similarity of two accepted photos (a, b: indices into Enrolment.photos), or of a new
    photo and the person's registered templates (b = None; the best of them)."""

    a: int
    b: int | None
    similarity: float
    same: bool          # similarity >= the same-person minimum


@dataclass(frozen=True)
class SamePersonCheck:
    """Do the accepted photos show one person?

    same_person: every pair reached `minimum`. confirmed_by: the registrar who confirmed
    that they do although they did not (recorded with the templates). `different_people`
    is the page's "these look like two different people": True when some pair failed and
    nobody confirmed."""

    pairs: tuple[PairSimilarity, ...]
    minimum: float
    same_person: bool
    confirmed_by: str | None = None

    @property
    def different_people(self) -> bool:
        return not self.same_person and self.confirmed_by is None

    @property
    def weakest(self) -> PairSimilarity | None:
        return min(self.pairs, key=lambda p: p.similarity) if self.pairs else None

    def to_dict(self) -> dict:
        return {"same_person": self.same_person, "different_people": self.different_people,
                "confirmed_by": self.confirmed_by, "minimum": self.minimum,
                "pairs": [{"a": p.a, "b": p.b, "similarity": round(p.similarity, 4),
                           "same": p.same} for p in self.pairs]}


@dataclass(frozen=True)
class Enrolment:
    """The result of `enrol_choices`. Store `templates` (of `model`) only when `ok`; pass
    `confirmed_same_person_by` on to Registry.add_templates so that it is recorded."""

    photos: tuple[PhotoVerdict, ...]
    templates: list[np.ndarray] = field(repr=False)   # one per accepted photo, in order
    model: str
    same_person: SamePersonCheck
    error: InputError | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def confirmed_same_person_by(self) -> str | None:
        return self.same_person.confirmed_by

    def to_dict(self, lang: str | None = None) -> dict:
        """Everything a page shows, as JSON-able data - never the templates (biometric data
        stays in the server's memory and the encrypted registry)."""
        return {"ok": self.ok, "model": self.model,
                "photos": [dict(v.to_dict(), verdict=v.verdict(lang),
                                message=v.message(lang)) for v in self.photos],
                "same_person": self.same_person.to_dict(),
                "error": self.error.message(lang) if self.error is not None else None}


@dataclass(frozen=True)
class EnrolResult:
    """What `enrol_photos` (the CLI's call) returns: one template per photo."""

    templates: list[np.ndarray]                       # float32, L2-normalised, one per photo
    model: str = MODEL_NAME
    qualities: list[q.FaceQuality] = field(default_factory=list)
    photos: list[PhotoVerdict] = field(default_factory=list)
    same_person: SamePersonCheck | None = None

    @property
    def confirmed_same_person_by(self) -> str | None:
        return self.same_person.confirmed_by if self.same_person is not None else None

    @property
    def weakest_similarity(self) -> float | None:
        weakest = self.same_person.weakest if self.same_person is not None else None
        return weakest.similarity if weakest is not None else None


VERDICT_WORDS = {
    None: "identify.verdict.ok", NO_FACE: "identify.verdict.no_face",
    SEVERAL_FACES: "identify.verdict.several_faces", NO_SUCH_FACE: "identify.verdict.no_such_face",
    q.LOW_SCORE: "identify.verdict.low_score", q.PARTIAL: "identify.verdict.partial",
    q.TOO_SMALL: "identify.verdict.too_small", q.MISALIGNED: "identify.verdict.misaligned",
    q.POSE: "identify.verdict.pose", q.BLURRY: "identify.verdict.blurry",
}
# how the face of a reference photo was chosen (PhotoVerdict.chosen_by)
CHOSEN_WORDS = {"user": "identify.chosen.user", "only": "identify.chosen.only",
                "dominant": "identify.chosen.dominant"}


def verdict_text(reason: str | None, lang: str | None = None) -> str:
    """Plain-language verdict for a reason key (None: "bra" / "good")."""
    return i18n.t(VERDICT_WORDS[reason], lang=lang)


# ----------------------------------------------------------------------------- faces

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


def dominant_face(faces: Sequence[FaceInfo], width: int, height: int) -> int | None:
    """Index of the clearly dominant face among `faces` (the candidates), or None.
    One candidate is dominant by itself. See the module docstring for the rule."""
    if not faces:
        return None
    if len(faces) == 1:
        return faces[0].index
    ranked = sorted(faces, key=lambda f: -f.height_px)
    top, others = ranked[0], ranked[1:]

    def background(g: FaceInfo) -> bool:
        if top.height_px >= DOMINANT_RATIO * g.height_px:
            return True                                   # much smaller
        ts, gs = top.quality.sharpness, g.quality.sharpness
        return ts is not None and gs is not None and gs * FOCUS_RATIO <= ts  # out of focus

    def edge_room(f: FaceInfo) -> float:
        """Distance of the face's centre from the nearer left/right edge, as a share of
        the width (0.5 = centred)."""
        cx = (f.box[0] + f.box[2]) / 2 / max(width, 1)
        return min(cx, 1.0 - cx)

    central = edge_room(top) >= (1.0 - CENTRAL_SHARE) / 2 and \
        all(edge_room(top) >= edge_room(g) for g in others)
    return top.index if central and all(background(g) for g in others) else None


def list_faces(rgb: np.ndarray, detections: Sequence, embedder, name: str) -> PhotoFaces:
    """PhotoFaces of one photo from its detections (the detector already ran)."""
    rgb = check_image(rgb)
    height, width = rgb.shape[:2]
    confident = _distinct([d for d in detections
                           if d.score >= q.min_score_for(getattr(d, "detector", ""),
                                                         q.ENROLMENT)])
    confident.sort(key=lambda d: ((d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2))
    faces = []
    for i, d in enumerate(confident, start=1):
        quality, _ = embedder.assess(rgb, d, q.ENROLMENT)
        faces.append(FaceInfo(i, tuple(float(v) for v in d.box), float(d.score), quality,
                              getattr(d, "detector", "")))
    candidates = [f for f in faces if f.height_px >= q.RECOGNITION.min_height_px]
    return PhotoFaces(name=name, width=int(width), height=int(height), faces=tuple(faces),
                      dominant=dominant_face(candidates, width, height),
                      candidates=tuple(f.index for f in candidates))


def _load(photo) -> np.ndarray:
    if isinstance(photo, np.ndarray):
        return check_image(photo)
    from blurkit.media.image import read_photo
    return read_photo(Path(photo)).pixels


def _name(photo, name: str | None) -> str:
    if name:
        return str(name)
    return "photo" if isinstance(photo, np.ndarray) else str(photo)


def faces_in_photo(photo, models_dir: Path, *, detector: str = "centerface",
                   name: str | None = None) -> PhotoFaces:
    """Every face of a reference photo (path or RGB pixels), numbered from the left, each
    with its box, size and quality verdict, and the one that would be taken automatically.
    InputError when the photo cannot be read."""
    from blurkit.detect import load_detector

    rgb = _load(photo)
    det = load_detector(detector, Path(models_dir), threads=1)
    return list_faces(rgb, det.detect(rgb), load_embedder(Path(models_dir)),
                      _name(photo, name))


# ----------------------------------------------------------------------------- judging

def _refusal(name: str, face: FaceInfo) -> InputError:
    quality, lim = face.quality, q.ENROLMENT
    reason = quality.reason
    if reason == q.LOW_SCORE:
        return InputError("identify.enrol.low_score", photo=name, score=quality.score,
                          minimum=q.min_score_for(face.detector, lim))
    if reason == q.TOO_SMALL:
        return InputError("identify.enrol.too_small", photo=name, height=quality.height_px,
                          eyes=quality.eye_distance_px or 0.0, min_height=lim.min_height_px,
                          min_eyes=lim.min_eye_distance_px)
    if reason == q.BLURRY:
        return InputError("identify.enrol.blurry", photo=name, sharpness=quality.sharpness or 0,
                          minimum=lim.min_sharpness)
    if reason == q.PARTIAL:
        return InputError("identify.enrol.partial", photo=name)
    if reason == q.MISALIGNED:
        return InputError("identify.enrol.misaligned", photo=name)
    return InputError("identify.enrol.pose", photo=name)


def choose_face(faces: PhotoFaces, face: int | None = None, *, pick_dominant: bool = True
                ) -> PhotoVerdict:
    """Which face of the photo is judged, before its template is made: the chosen one, else
    the only / dominant one (`pick_dominant=False`: only the only one, the rule before face
    picking existed). A refused verdict carries the reason and the InputError."""
    name = faces.name
    if face is not None:
        info = faces.face(int(face))
        if info is None:
            return PhotoVerdict(name, False, NO_SUCH_FACE, None, faces,
                                error=FacesError("identify.enrol.no_such_face", faces,
                                                 photo=name, index=face,
                                                 count=len(faces.faces)))
        chosen_by = "user"
    elif not faces.faces:
        return PhotoVerdict(name, False, NO_FACE, None, faces,
                            error=InputError("identify.enrol.no_face", photo=name))
    elif not faces.candidates:
        # nothing large enough: explain with the largest face why it cannot serve
        info = max(faces.faces, key=lambda f: f.height_px)
        chosen_by = "only"
    elif len(faces.candidates) == 1 or (pick_dominant and faces.dominant is not None):
        info = faces.face(faces.dominant if faces.dominant is not None
                          else faces.candidates[0])
        chosen_by = "only" if len(faces.candidates) == 1 else "dominant"
    else:
        return PhotoVerdict(name, False, SEVERAL_FACES, None, faces,
                            error=FacesError("identify.enrol.several_faces", faces, photo=name,
                                             count=len(faces.faces)))
    assert info is not None
    ignored = tuple(f.index for f in faces.faces if f.index != info.index)
    if not info.ok:
        return PhotoVerdict(name, False, info.reason, info, faces, chosen_by, ignored,
                            error=_refusal(name, info))
    return PhotoVerdict(name, True, None, info, faces, chosen_by, ignored)


def same_person_check(templates: Sequence[np.ndarray], registered: Sequence[np.ndarray] = (),
                      *, minimum: float = matching.THRESHOLD,
                      confirmed_by: str | None = None) -> SamePersonCheck:
    """Every pair of `templates`, and each template against the best of `registered`."""
    pairs = []
    for (i, a), (j, b) in combinations(enumerate(templates), 2):
        sim = float(np.dot(a, b))
        pairs.append(PairSimilarity(i, j, sim, sim >= minimum))
    if len(registered):
        known = np.stack([np.asarray(v, np.float32) for v in registered])
        for i, t in enumerate(templates):
            best = float(np.max(known @ t))
            pairs.append(PairSimilarity(i, None, best, best >= minimum))
    same = all(p.same for p in pairs)
    return SamePersonCheck(tuple(pairs), minimum, same, None if same else confirmed_by)


def _check_confirmer(confirmed_by: str | None) -> str | None:
    if confirmed_by is None:
        return None
    text = " ".join(str(confirmed_by).split())
    if not text:
        raise InputError("identify.enrol.empty_confirmer")
    return text


def enrol_detected(photos: Sequence[tuple[np.ndarray, Sequence, str, int | None]], embedder, *,
                   registered: Sequence[np.ndarray] = (), person_id: int | None = None,
                   confirmed_same_person_by: str | None = None, pick_dominant: bool = True,
                   minimum: float = matching.THRESHOLD) -> Enrolment:
    """`enrol_choices` on photos whose detections are known: (rgb, detections, name, face) each."""
    confirmer = _check_confirmer(confirmed_same_person_by)
    verdicts: list[PhotoVerdict] = []
    templates: list[np.ndarray] = []
    names: list[str] = []
    for rgb, detections, name, face in photos:
        faces = list_faces(rgb, detections, embedder, name)
        verdict = choose_face(faces, face, pick_dominant=pick_dominant)
        if verdict.accepted:
            det = _detection_for(detections, verdict.face)
            template, quality = embedder.embed(rgb, det, q.ENROLMENT)
            if template is None:  # the same gate as in list_faces: cannot happen
                verdict = PhotoVerdict(name, False, quality.reason, verdict.face, faces,
                                       verdict.chosen_by, verdict.ignored,
                                       error=_refusal(name, verdict.face))
            else:
                templates.append(template)
                names.append(name)
        verdicts.append(verdict)
    check = same_person_check(templates, registered, minimum=minimum, confirmed_by=confirmer)
    # pair indices refer to Enrolment.photos
    accepted_at = [i for i, v in enumerate(verdicts) if v.accepted]
    check = SamePersonCheck(tuple(PairSimilarity(accepted_at[p.a],
                                                 None if p.b is None else accepted_at[p.b],
                                                 p.similarity, p.same) for p in check.pairs),
                            check.minimum, check.same_person, check.confirmed_by)
    error = None
    if not verdicts:
        error = InputError("identify.enrol.no_photos")
    else:
        error = next((v.error for v in verdicts if not v.accepted), None)
    if error is None and check.different_people:
        p = check.weakest
        assert p is not None
        if p.b is None:
            error = InputError("identify.enrol.not_this_person", photo=verdicts[p.a].name,
                               person_id=person_id if person_id is not None else "?",
                               similarity=p.similarity, minimum=minimum)
        else:
            error = InputError("identify.enrol.not_same_person", photo_a=verdicts[p.a].name,
                               photo_b=verdicts[p.b].name, similarity=p.similarity,
                               minimum=minimum)
    return Enrolment(tuple(verdicts), templates, MODEL_NAME, check, error)


def _detection_for(detections: Sequence, face: FaceInfo):
    return next(d for d in detections if tuple(float(v) for v in d.box) == face.box)


def enrol_choices(choices: Sequence[PhotoChoice], models_dir: Path, *, detector: str = "centerface",
          registered: Sequence[np.ndarray] = (), person_id: int | None = None,
          confirmed_same_person_by: str | None = None) -> Enrolment:
    """Judge each chosen photo/face and make its template; check that the photos show one
    person (and, with `registered`, the person already registered as `person_id`).
    InputError only for a photo that cannot be read or an empty confirmer name."""
    from blurkit.detect import load_detector

    det = load_detector(detector, Path(models_dir), threads=1)
    embedder = load_embedder(Path(models_dir))
    loaded = []
    for c in choices:
        rgb = _load(c.photo)
        loaded.append((rgb, det.detect(rgb), _name(c.photo, c.name), c.face))
    return enrol_detected(loaded, embedder, registered=registered, person_id=person_id,
                          confirmed_same_person_by=confirmed_same_person_by)


def enrol_photos(paths: Sequence, settings, faces: Sequence[int | None] | None = None, *,
                 registered: Sequence[np.ndarray] = (), person_id: int | None = None,
                 confirmed_same_person_by: str | None = None) -> EnrolResult:
    """One template per reference photo (the CLI's call). `faces`: the chosen face per photo
    (1-based, None = automatic). Raises InputError (naming the photo and the reason) for a
    photo that cannot be read or is refused, and when the photos do not all show the same
    person (unless confirmed)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("identify.enrol.no_photos")
    faces = list(faces) if faces is not None else [None] * len(paths)
    if len(faces) != len(paths):
        raise ValueError("one face choice per photo expected")
    result = enrol_choices([PhotoChoice(p, f) for p, f in zip(paths, faces)],
                           settings.models_dir,
                           detector=getattr(settings, "detector", "centerface"),
                           registered=registered, person_id=person_id,
                           confirmed_same_person_by=confirmed_same_person_by)
    if result.error is not None:
        raise result.error
    return EnrolResult(templates=result.templates, model=result.model,
                       qualities=[v.face.quality for v in result.photos if v.face is not None],
                       photos=list(result.photos), same_person=result.same_person)


# ----------------------------------------------------------------------------- older API

def enrol_face(embedder, rgb: np.ndarray, detections: list, path: Path
               ) -> tuple[np.ndarray, q.FaceQuality]:
    """The template of the one face in a reference photo (only or dominant), or InputError."""
    res = enrol_detected([(rgb, detections, str(path), None)], embedder)
    if res.error is not None:
        raise res.error
    return res.templates[0], res.photos[0].face.quality


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
