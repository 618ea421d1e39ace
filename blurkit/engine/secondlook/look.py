"""The second look: where the review page must point, found independently of the detector.

The hiding detector (CenterFace over a pyramid) is at its limit: its remaining misses score
no higher than face-free photos. So after a photo is anonymized, a second look compares the
output with the original and returns *pointers*, the places a reviewer must check:

* `possible_face`: a review candidate of the hiding detector (a detection just under the
  threshold that applied) that a second, independent detector (RetinaFace-MobileNet0.25,
  other weights, other architecture, other training code) also calls a face, on a crop of
  the output enlarged so the face is ~48 px tall; and, unconfirmed, a candidate that came
  close to the threshold (`near_score`) and is not small (`near_height`); and the weaker
  places the hiding detector saw (down to `weak_floor`, in photos that are not group
  photos) where the second detector, on the same kind of crop, is fairly sure
  (`weak_confirm`);
* `large_face`/`possible_face`: RetinaFace on a small copy of the whole output (long side
  320 px) sees a face where the output still shows the original's detail: a face that fills
  the frame (CenterFace misses very large faces), or any large face left visible;
* `crowd`: a region holding a cluster of many weak, small hidden detections: the faces a
  crowd's search missed sit among them (crowd.py). Hiding the region whole is one action.

A place counts as visible in the output when its detail still correlates with the
original's (`redact.detail_correlation` >= HIDDEN_LIMIT, the pipeline's own self-check
measure) and at most `changed_max` of it was changed: a detector's hit on a hidden face's
hair, neck or shoulders is not a face left visible.

Where the second detector is sure of a candidate (`hide_score`), the pipeline may hide it
at once (returned as `hide`), with the same irreversible style and self-check as any face.

Plain data in and out: numpy RGB pictures, boxes as (x1, y1, x2, y2) tuples, scores; the
thresholds are in `LookParams` and were chosen on the tune half (benchmarks/secondlook.py,
DESIGN.md "Second look").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from blurkit.engine.redact import HIDDEN_LIMIT, detail_correlation
from blurkit.engine.secondlook.crowd import crowd_regions

Box = tuple[float, float, float, float]
KINDS = ("possible_face", "large_face", "crowd")


@dataclass(frozen=True)
class Pointer:
    """One place the review page must point at."""
    box: Box
    kind: str                 # one of KINDS
    why: str                  # message key (i18n), explains the place in plain words
    score: float              # the evidence: a detector score, or for a crowd the number of
                              # weak detections in it
    params: dict = field(default_factory=dict)   # for the message (e.g. {"n": 120})
    time: float | None = None   # video: seconds into the clip
    frame: int | None = None    # video: frame index
    last_time: float | None = None   # video: the same place until then
    last_frame: int | None = None

    def to_dict(self) -> dict:
        d = {"box": [round(float(v), 1) for v in self.box], "kind": self.kind, "why": self.why,
             "score": round(float(self.score), 4)}
        if self.params:
            d["params"] = dict(self.params)
        for key in ("time", "frame", "last_time", "last_frame"):
            value = getattr(self, key)
            if value is not None:
                d[key] = round(value, 3) if isinstance(value, float) else value
        return d


@dataclass(frozen=True)
class LookParams:
    floor: float = 0.1              # lowest second-detector score observed (judged later)
    # review candidates, looked at again on a crop of the output
    crop_face_px: float = 48.0      # the candidate is enlarged to about this height ...
    crop_max_zoom: float = 4.0      # ... by at most this factor (never shrunk)
    crop_context: float = 1.0       # crop = the box grown by this many box sides each way
    confirm_score: float = 0.5      # a candidate the second detector scores this high: pointer
    hide_score: float | None = 0.9   # ... this high: hidden at once (None: never)
    near_score: float = 0.3         # a candidate this close to the threshold (0.4) and ...
    near_height: float = 32.0       # ... this tall is pointed at even unconfirmed
    # weaker places the hiding detector saw (below its review floor, photos that are not
    # group photos), checked on crops the same way but never pointed at unconfirmed. Off
    # (weak_max 0): on the tune half it doubled the cost and flagged 4-8 more clean photos
    # for at most one more visible face under a pointer (DESIGN.md "Second look").
    weak_floor: float = 0.1
    weak_max: int = 0
    weak_confirm: float = 0.5
    # the whole output, small: faces that fill the frame, large faces left visible
    coarse_side: int = 320
    coarse_score: float = 0.9
    large_share: float = 0.3        # a face this tall a share of the short side: large_face
    min_height: float = 16.0        # px in the photo: smaller hits are not pointed at
    changed_max: float = 0.2        # a hit more changed than this lies on a hidden face
    # crowds
    crowd_weak_below: float = 0.4
    crowd_max_height: float = 32.0
    crowd_link: float = 2.0
    crowd_min: int = 160
    crowd_pad: float = 1.0


@dataclass
class Observation:
    """What the second detector saw (raw, above `floor`), so that thresholds can be judged
    without running it again."""
    coarse_boxes: np.ndarray                  # (N, 4) in the photo's coordinates
    coarse_scores: np.ndarray                 # (N,)
    candidate_scores: list[float]             # best second-detector score at each candidate
    weak_scores: list[float] = field(default_factory=list)   # ... at each weak candidate
    seconds: float = 0.0


@dataclass
class Look:
    pointers: list[Pointer]
    hide: list[tuple[Box, float]]             # confirmed faces to hide at once (box, score)
    seconds: float = 0.0

    def pointer_dicts(self) -> list[dict]:
        return [p.to_dict() for p in self.pointers]


def _crop_box(box: Box, params: LookParams, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1)
    grow = params.crop_context * side
    return (max(0, int(x1 - grow)), max(0, int(y1 - grow)),
            min(width, int(np.ceil(x2 + grow))), min(height, int(np.ceil(y2 + grow))))


def _overlaps(a: Box, b: np.ndarray) -> np.ndarray:
    """IoU of box a with boxes b (N, 4)."""
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(union, 1e-6)


def changed_share(original: np.ndarray, output: np.ndarray, box: Box) -> float:
    """Share of the inner 70 % of `box` whose grey level moved by more than 6 (5x5 mean):
    benchmarks/photosplit.changed_mask's measure, over one box."""
    height, width = original.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = 0.15 * (x2 - x1), 0.15 * (y2 - y1)
    xa, ya = max(0, int(x1 + dx)), max(0, int(y1 + dy))
    xb, yb = min(width, int(np.ceil(x2 - dx))), min(height, int(np.ceil(y2 - dy)))
    if xb - xa < 2 or yb - ya < 2:
        return 0.0
    a = cv2.cvtColor(original[ya:yb, xa:xb], cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(output[ya:yb, xa:xb], cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float((cv2.blur(np.abs(a - b), (5, 5)) > 6.0).mean())


def visible(original: np.ndarray, output: np.ndarray, box: Box, params: LookParams) -> bool:
    """Does the output still show the original's detail over `box` (not hidden there)?"""
    return (changed_share(original, output, box) <= params.changed_max
            and detail_correlation(original, output, box) >= HIDDEN_LIMIT)


class SecondLook:
    """The second detector and the rules; one per worker process."""

    def __init__(self, models_dir: Path, threads: int = 1, params: LookParams = LookParams()):
        from blurkit import modelstore
        from blurkit.engine.secondlook.retina import RetinaNet

        self.net = RetinaNet(modelstore.model_path(models_dir, "retinaface"), threads)
        self.params = params

    # ------------------------------------------------------------------ observing

    def observe(self, output: np.ndarray, candidates: list[Box],
                weak: list[Box] = ()) -> Observation:
        """Run the second detector: once on a small copy of the whole output, and once on a
        crop of the output around each review candidate and each weak candidate."""
        t = time.perf_counter()
        p = self.params
        height, width = output.shape[:2]
        scale = min(1.0, p.coarse_side / max(height, width))
        boxes, scores = self.net.detect(output, p.floor, scale)
        found = [self._crop_score(output, box) for box in candidates]
        found_weak = [self._crop_score(output, box) for box in weak]
        return Observation(boxes, scores, found, found_weak, time.perf_counter() - t)

    def _crop_score(self, output: np.ndarray, box: Box) -> float:
        p = self.params
        height, width = output.shape[:2]
        x1, y1, x2, y2 = _crop_box(box, p, width, height)
        if x2 - x1 < 4 or y2 - y1 < 4:
            return 0.0
        zoom = float(np.clip(p.crop_face_px / max(box[3] - box[1], 1.0), 1.0, p.crop_max_zoom))
        b, s = self.net.detect(np.ascontiguousarray(output[y1:y2, x1:x2]), p.floor, zoom)
        if len(s) == 0:
            return 0.0
        b = b + np.array([x1, y1, x1, y1], np.float32)
        same = _overlaps(tuple(box), b) >= 0.3
        return float(s[same].max()) if same.any() else 0.0

    # ------------------------------------------------------------------ judging

    def look(self, original: np.ndarray, output: np.ndarray, hidden: list[tuple[Box, float]],
             candidates: list[tuple[Box, float]],
             weak: list[tuple[Box, float]] = ()) -> Look:
        """Pointers for one anonymized photo. `hidden`: the (box, score) of every detection
        hidden; `candidates`: the (box, score) review candidates (not hidden); `weak`: the
        weaker candidates (FaceSearch.detect_for_review)."""
        t = time.perf_counter()
        obs = self.observe(output, [b for b, _ in candidates], [b for b, _ in weak])
        result = judge(original, output, hidden, candidates, obs, self.params, weak)
        result.seconds = time.perf_counter() - t
        return result


def judge(original: np.ndarray, output: np.ndarray, hidden: list[tuple[Box, float]],
          candidates: list[tuple[Box, float]], obs: Observation,
          params: LookParams = LookParams(), weak: list[tuple[Box, float]] = ()) -> Look:
    """The rules over what the second detector saw (see the module's docstring)."""
    p = params
    height, width = original.shape[:2]
    pointers: list[Pointer] = []
    hide: list[tuple[Box, float]] = []
    for (box, _), score in list(zip(weak, obs.weak_scores))[:p.weak_max]:
        if score < p.weak_confirm or box[3] - box[1] < p.min_height \
                or not visible(original, output, box, p):
            continue
        if p.hide_score is not None and score >= p.hide_score:
            hide.append((tuple(box), score))
        else:
            pointers.append(Pointer(tuple(box), "possible_face", "secondlook.why.visible_face",
                                    score))
    for (box, first), score in zip(candidates, obs.candidate_scores):
        near = first >= p.near_score and box[3] - box[1] >= p.near_height
        if (score < p.confirm_score and not near) or not visible(original, output, box, p):
            continue
        if p.hide_score is not None and score >= p.hide_score:
            hide.append((tuple(box), score))
        elif score >= p.confirm_score:
            pointers.append(Pointer(tuple(box), "possible_face", "secondlook.why.possible_face",
                                    score))
        else:
            pointers.append(Pointer(tuple(box), "possible_face", "secondlook.why.near_face",
                                    first))
    short = min(height, width)
    for box, score in zip(obs.coarse_boxes.tolist(), obs.coarse_scores.tolist()):
        box = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]),
               min(float(height), box[3]))
        if score < p.coarse_score or box[3] - box[1] < p.min_height:
            continue
        if not visible(original, output, box, p):
            continue
        if any(_overlaps(box, np.array([q.box], np.float32))[0] >= 0.3 for q in pointers):
            continue
        large = box[3] - box[1] >= p.large_share * short
        pointers.append(Pointer(box, "large_face" if large else "possible_face",
                                "secondlook.why.large_face" if large
                                else "secondlook.why.visible_face", score))
    if hidden:
        regions = crowd_regions([b for b, _ in hidden], [s for _, s in hidden],
                                weak_below=p.crowd_weak_below, max_height=p.crowd_max_height,
                                link=p.crowd_link, min_count=p.crowd_min, pad=p.crowd_pad,
                                width=width, height=height)
        for box, n in regions:
            pointers.append(Pointer(box, "crowd", "secondlook.why.crowd", float(n), {"n": n}))
    return Look(pointers, hide)


def needs_look(report: dict) -> bool:
    """Does this item wait in the review queue flagged? Exactly when the second look left
    any pointer in its report (photo or video): `report["extra"]["pointers"]`."""
    extra = (report or {}).get("extra") or {}
    return bool(extra.get("pointers"))
