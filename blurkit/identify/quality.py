"""Is a face large, sharp and frontal enough to judge who it is?

The gate runs before any face template is computed (the template costs ~140 ms, the gate
~1 ms), on the face as dlib aligns it:

* `height_px`: the detection box height in image pixels, the size a person means by "a face
  N pixels tall" (the benchmark's 80-px criterion is in these units).
* `eye_distance_px`: between the eye centres found by dlib's 5-point shape predictor.
* `sharpness`: variance of the Laplacian of the grey aligned face (150x150 chip, central
  90x90, pixels inside the photo only). The chip has a fixed size, so the number does not
  depend on the photo's resolution: a small face is upscaled into the chip and comes out soft,
  a blurred face too - both are exactly what makes a template unreliable.
* `yaw`: sideways offset of the nose from the eye midpoint, in eye distances (0 = frontal,
  about +-0.3 at a three-quarter view). `nose_drop`: the nose below the eye line, in eye
  distances; together with `eye_ratio` (narrower eye / wider eye) they catch landmarks that
  did not land on a face (a sideways or upside-down face, a false detection).
* `eye_distance_px / height_px` must look like one face: a box around part of a larger face
  (or around two faces) gets landmarks that do not fit it ("misaligned").
* `inside`: share of the central face area that lies inside the photo (a face cut by the
  photo's edge is judged on what is missing).
* `score`: the detector's confidence.

Limits are in `QualityLimits`; `RECOGNITION` is what a face in a processed photo must pass to
be matched at all, `ENROLMENT` is stricter because every later match rests on the template.
The numbers were chosen with benchmarks/recognition.py (see the comments at the values).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

# Reason codes a face can fail the gate with (checked in this order).
LOW_SCORE = "low_score"
PARTIAL = "partial"
TOO_SMALL = "too_small"
MISALIGNED = "misaligned"
POSE = "pose"
BLURRY = "blurry"
QUALITY_REASONS = (LOW_SCORE, PARTIAL, TOO_SMALL, MISALIGNED, POSE, BLURRY)


@dataclass(frozen=True)
class QualityLimits:
    min_score: float | None     # None: the detector's own "confident" score (see min_score_for)
    min_height_px: float
    min_eye_distance_px: float
    min_sharpness: float
    max_abs_yaw: float
    min_nose_drop: float
    max_nose_drop: float
    min_eye_ratio: float
    min_inside: float
    # eye distance / box height: 0.23-0.45 on every labelled face of the shared identity sets;
    # far outside, the landmarks belong to something else than the box (e.g. a detection of
    # part of a larger face finds that face's eyes: 0.64 and 0.80 in deepface img49)
    min_eye_to_height: float = 0.15
    max_eye_to_height: float = 0.58


# Recognition: what a face must pass before it is compared with anyone.
RECOGNITION = QualityLimits(
    # The detector's "confident" score (CenterFace 0.5, SCRFD 0.6): every labelled probe face
    # in the shared identity sets scores >= 0.79; faces below are small, occluded or not faces.
    min_score=None,
    # dlib's templates hold up when a face is scaled down to ~48 px (similarity to the full-size
    # template 0.985) and drift below that (0.966 at 32 px; `benchmarks/recognition.py
    # --calibrate`, "degradation" table). 56 px keeps a step above the drift.
    min_height_px=56.0,
    min_eye_distance_px=16.0,
    # Same table: a sharp face scaled to 56 px has sharpness ~40 (p10 25); Gaussian blur of
    # sigma 1 % of the face height gives ~17 (p10 10) and templates at 0.987 of themselves,
    # 1.5 % gives ~7 and 0.975, 3 % gives ~3 and 0.934. Below 12 a face is hidden.
    min_sharpness=12.0,
    # Beyond ~|0.35| the 5-point alignment degrades fast (three-quarter to profile views).
    max_abs_yaw=0.35,
    min_nose_drop=0.35,
    max_nose_drop=1.3,
    min_eye_ratio=0.45,
    min_inside=0.9,
)

# Enrolment: a reference photo makes every later decision, so it must be clearly better.
ENROLMENT = QualityLimits(
    min_score=None,
    min_height_px=80.0,
    min_eye_distance_px=22.0,
    min_sharpness=20.0,
    max_abs_yaw=0.25,
    min_nose_drop=0.35,
    max_nose_drop=1.3,
    min_eye_ratio=0.55,
    min_inside=0.97,
)

_DEFAULT_MIN_SCORE = 0.5


def min_score_for(detector_tag: str, limits: QualityLimits) -> float:
    """The lowest detector score accepted, for the network that produced the detection
    (its tag starts with the network name, e.g. "centerface@640x480r90")."""
    if limits.min_score is not None:
        return limits.min_score
    from blurkit import choices
    from blurkit.detect import net_params  # the detector's own notion of "a clear face"
    net = (detector_tag or "").split("@", 1)[0]
    return net_params(net).confident if net in choices.NETS else _DEFAULT_MIN_SCORE


@dataclass(frozen=True)
class FaceQuality:
    """How judgeable a face is. `usable` is False when `reason` names the first failed check.

    Measures that could not be taken (the face was refused before) are None."""

    usable: bool
    reason: str | None
    score: float
    height_px: float
    eye_distance_px: float | None = None
    sharpness: float | None = None
    yaw: float | None = None
    nose_drop: float | None = None
    eye_ratio: float | None = None
    inside: float | None = None

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Geometry:
    eye_distance: float
    yaw: float
    nose_drop: float
    eye_ratio: float
    roll_deg: float


def geometry(points: np.ndarray) -> Geometry:
    """Pose measures from dlib's 5 points: 0-1 corners of the eye on the image's right,
    2-3 corners of the eye on the image's left, 4 the base of the nose."""
    p = np.asarray(points, dtype=np.float64)
    right, left, nose = p[0:2].mean(0), p[2:4].mean(0), p[4]
    axis = right - left
    iod = float(np.hypot(*axis))
    if iod < 1e-6:
        return Geometry(0.0, 0.0, 0.0, 0.0, 0.0)
    u = axis / iod
    down = np.array([-u[1], u[0]])          # image y grows downwards: (-uy, ux) points down
    rel = nose - (left + right) / 2
    w_right = float(np.hypot(*(p[0] - p[1])))
    w_left = float(np.hypot(*(p[2] - p[3])))
    ratio = min(w_right, w_left) / max(w_right, w_left, 1e-6)
    roll = float(np.degrees(np.arctan2(axis[1], axis[0])))
    return Geometry(iod, float(rel @ u) / iod, float(rel @ down) / iod, ratio, roll)


def sharpness(chip: np.ndarray, inside_mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian over the central 90x90 of a 150x150 aligned face chip."""
    gray = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY).astype(np.float32)
    n = gray.shape[0]
    lo, hi = round(n * 0.2), round(n * 0.8)
    lap = cv2.Laplacian(gray, cv2.CV_32F, ksize=1)[lo:hi, lo:hi]
    if inside_mask is not None:
        # a 3x3 Laplacian touching the photo's edge sees a step to black: leave those out
        m = cv2.erode(inside_mask.astype(np.uint8), np.ones((3, 3), np.uint8))[lo:hi, lo:hi]
        values = lap[m > 0]
        if values.size < 0.25 * lap.size:
            return 0.0
        return float(values.var())
    return float(lap.var())


def inside_share(inside_mask: np.ndarray) -> float:
    """Share of the central face area of the chip that comes from inside the photo."""
    n = inside_mask.shape[0]
    lo, hi = round(n * 0.2), round(n * 0.8)
    return float(inside_mask[lo:hi, lo:hi].mean())


def judge(*, score: float, height_px: float, detector_tag: str, limits: QualityLimits,
          geo: Geometry | None = None, sharp: float | None = None,
          inside: float | None = None) -> FaceQuality:
    """Apply `limits`. Called twice by the embedder: first with the detection alone (score and
    size, before any alignment work), then with the aligned measures."""
    base = dict(score=float(score), height_px=float(height_px))
    if geo is not None:
        base.update(eye_distance_px=geo.eye_distance, yaw=geo.yaw, nose_drop=geo.nose_drop,
                    eye_ratio=geo.eye_ratio)
    if sharp is not None:
        base["sharpness"] = float(sharp)
    if inside is not None:
        base["inside"] = float(inside)

    def fail(reason: str) -> FaceQuality:
        return FaceQuality(usable=False, reason=reason, **base)

    if score < min_score_for(detector_tag, limits):
        return fail(LOW_SCORE)
    if height_px < limits.min_height_px:
        return fail(TOO_SMALL)
    if geo is None:
        return FaceQuality(usable=True, reason=None, **base)  # provisional: not aligned yet
    if inside is not None and inside < limits.min_inside:
        return fail(PARTIAL)
    # eyes and nose not where a face has them, or not in the box that was detected
    if not (limits.min_nose_drop <= geo.nose_drop <= limits.max_nose_drop) or not (
            limits.min_eye_to_height * height_px <= geo.eye_distance
            <= limits.max_eye_to_height * height_px):
        return fail(MISALIGNED)
    if geo.eye_ratio < limits.min_eye_ratio:
        return fail(POSE)
    if geo.eye_distance < limits.min_eye_distance_px:
        return fail(TOO_SMALL)
    if abs(geo.yaw) > limits.max_abs_yaw:
        return fail(POSE)
    if sharp is not None and sharp < limits.min_sharpness:
        return fail(BLURRY)
    return FaceQuality(usable=True, reason=None, **base)
