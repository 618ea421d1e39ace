"""How an image is searched: which scales, tiles and rotations, and which scores count.

A single pass of a detector at one scale misses faces much smaller or larger than what the
network saw in training, and faces in photos taken sideways. So every image is searched
as a pyramid:

* a fine level at `fine_scale` (cut into overlapping tiles when large, so a 12-MP photo
  keeps ~16 px faces findable without an unbounded tensor),
* coarser levels, each half the previous, until the long side falls below
  `coarse_min_side`, for large faces,
* the first coarse level again rotated by 90° and 270°, for sideways faces — unless the
  upright levels already show a group of clear faces: such a photo is upright, and
  skipping the rotated passes there changed no measured coverage while saving a third of
  the search time on two photos out of three.

Scores: recall beats precision, but a landscape should not come out with blurred rocks and a
portrait not with a blurred flag and shoulder. A candidate is accepted when its score
reaches `threshold`; in a photo of a group — at least `crowd_faces` different clear faces
(score >= `confident`) — candidates down to `crowd_threshold` are accepted too. Low-scoring
true faces are overwhelmingly small, blurred or occluded faces in crowds next to clear ones,
while false alarms come from face-free scenes and from the clothes and background of
portraits. The numbers were chosen by measurement (`benchmarks/photos.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from blurkit.detect.common import Detection, distinct_faces
from blurkit.detect.nms import nms


class Net(Protocol):
    name: str

    def infer(self, rgb: np.ndarray, floor: float): ...


@dataclass(frozen=True)
class NetParams:
    floor: float            # lowest score kept from a pass
    threshold: float        # accepted anywhere
    confident: float        # a face this sure marks the image as one with people in it
    crowd_threshold: float  # accepted in images that have a confident face
    review_floor: float = 1.0  # below the applied threshold but at least this: a candidate
                               # for review (kept in the report, not hidden)


@dataclass(frozen=True)
class SearchParams:
    fine_scale: float = 0.75
    tile: int = 1280            # max side of one network input (pixels at pass scale)
    tile_overlap: int = 128     # overlap of neighbouring tiles (pixels at pass scale)
    coarse_min_side: int = 320  # coarser levels stop when the long side gets below this
    rotations: bool = True
    turns: tuple[int, ...] = (1, 3)  # quarter turns of the rotated passes (90 and 270 degrees;
                                     # 180 was measured and not adopted: DESIGN.md)
    nms_iou: float = 0.3
    crowd_faces: int = 2        # clear faces that make a photo a group photo
    rotated_whole_max: int = 1_800_000  # network pixels a rotated pass takes in one piece; a
                                        # larger level is searched in tiles (and the first
                                        # level within this, whole, for large faces): the
                                        # network's memory grows ~190 bytes per input pixel
                                        # (a 50-MP photo's level: 7 MP, 1.3 GB). Phone photos
                                        # up to 12.8 MP (4032 x 3024: 1134 x 1512) stay in one
                                        # piece, as before, and no input is much larger


REVIEW_OVERLAP = 0.3  # a candidate with this much of its box inside a kept face is that face
REVIEW_MAX = 20       # candidates kept per picture, best first


@dataclass
class Candidates:
    """Raw detections of one network over all passes, in original image coordinates."""
    boxes: np.ndarray
    scores: np.ndarray
    marks: np.ndarray
    tags: list[str]


def _tiles(length: int, tile: int, overlap: int, align: int = 32) -> list[tuple[int, int]]:
    """Start/end pairs covering [0, length) with as few tiles of at most `tile` as keep
    `overlap` between neighbours, each only as long as that needs (rounded up to `align`,
    the network's stride: the network pads its input to it anyway). Full-size tiles spread
    evenly overlapped by far more (a 12-MP photo's first coarse level ran as two 1280-px
    tiles overlapping by 1024): 13.3 M network pixels per 12-MP photo instead of 10.4."""
    if length <= tile:
        return [(0, length)]
    count = int(np.ceil((length - overlap) / (tile - overlap)))
    size = -(-(length + (count - 1) * overlap) // count)       # ceil
    size = min(tile, -(-size // align) * align, length)
    starts = np.linspace(0, length - size, count).round().astype(int)
    return [(int(s), int(s) + size) for s in starts]


def _unrotate(boxes: np.ndarray, marks: np.ndarray, k: int, height: int, width: int):
    """Map boxes/landmarks found in np.rot90(image, k) back to the image (k = 1, 2 or 3)."""
    if k == 1:    # rotated (x, y) shows original (W - y, x)
        to_x, to_y = (lambda x, y: width - y), (lambda x, y: x)
    elif k == 2:  # rotated (x, y) shows original (W - x, H - y)
        to_x, to_y = (lambda x, y: width - x), (lambda x, y: height - y)
    elif k == 3:  # rotated (x, y) shows original (y, H - x)
        to_x, to_y = (lambda x, y: y), (lambda x, y: height - x)
    else:
        raise ValueError(k)
    xs = np.stack([to_x(boxes[:, 0], boxes[:, 1]), to_x(boxes[:, 2], boxes[:, 3])], 1)
    ys = np.stack([to_y(boxes[:, 0], boxes[:, 1]), to_y(boxes[:, 2], boxes[:, 3])], 1)
    out = np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], 1)
    marks = np.stack([to_x(marks[..., 0], marks[..., 1]), to_y(marks[..., 0], marks[..., 1])], -1)
    return out.astype(np.float32), marks.astype(np.float32)


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interp)


def _limits(params: NetParams, c: Candidates, group: bool) -> np.ndarray:
    """The score each candidate needs to be hidden."""
    return np.full(len(c.scores), params.crowd_threshold if group else params.threshold,
                   np.float32)


class FaceSearch:
    """A detector (or an ensemble of them) run over a scale pyramid, tiles and rotations."""

    def __init__(self, nets: list[tuple[Net, NetParams]], params: SearchParams = SearchParams()):
        self.nets = nets
        self.params = params
        self.name = "+".join(net.name for net, _ in nets)

    def release_memory(self) -> None:
        """Between files: the networks give their memory arenas back (memory budget)."""
        for net, _ in self.nets:
            release = getattr(net, "release", None)
            if release is not None:
                release()

    def pyramid(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The image at each search level, finest first (each level from the previous one)."""
        p = self.params
        long_side = max(rgb.shape[:2])
        first = max(p.fine_scale, min(1.0, p.coarse_min_side / long_side))
        levels = [rgb if first == 1.0 else _resize(rgb, first)]
        while max(levels[-1].shape[:2]) / 2 >= p.coarse_min_side:
            levels.append(_resize(levels[-1], 0.5))
        return levels

    def _tiled(self, net: Net, floor: float, level: np.ndarray):
        p = self.params
        height, width = level.shape[:2]
        results = []
        for y0, y1 in _tiles(height, p.tile, p.tile_overlap):
            for x0, x1 in _tiles(width, p.tile, p.tile_overlap):
                boxes, scores, marks = net.infer(level[y0:y1, x0:x1], floor)
                boxes += np.array([x0, y0, x0, y0], np.float32)
                marks += np.array([x0, y0], np.float32)
                results.append((boxes, scores, marks))
        return results

    def candidates(self, rgb: np.ndarray) -> list[tuple[NetParams, Candidates]]:
        height, width = rgb.shape[:2]
        levels = self.pyramid(rgb)
        per_net = []  # (net, params, parts); parts: (boxes, scores, marks, tag) in original coords
        for net, params in self.nets:
            parts = []
            for level in levels:
                sx, sy = width / level.shape[1], height / level.shape[0]
                tag = f"{net.name}@{level.shape[1]}x{level.shape[0]}"
                for boxes, scores, marks in self._tiled(net, params.floor, level):
                    parts.append((boxes * np.array([sx, sy, sx, sy], np.float32),
                                  scores, marks * np.array([sx, sy], np.float32), tag))
            per_net.append((net, params, parts))
        if self.params.rotations and not self._is_group(
                [(params, np.concatenate([p[0] for p in parts]).reshape(-1, 4),
                  np.concatenate([p[1] for p in parts])) for _, params, parts in per_net]):
            for rotated_level, tiled in self._rotated_levels(levels):
                lh, lw = rotated_level.shape[:2]
                sx, sy = width / lw, height / lh
                for net, params, parts in per_net:
                    for k in self.params.turns:
                        turned = np.ascontiguousarray(np.rot90(rotated_level, k))
                        found = (self._tiled(net, params.floor, turned) if tiled
                                 else [net.infer(turned, params.floor)])
                        del turned
                        for b, s, m in found:
                            b, _ = _unrotate(b, m, k, lh, lw)
                            # the landmarks of a face found turned have no left and right in
                            # the picture's terms: none are given for it (NaN until the
                            # Detection)
                            parts.append((b * np.array([sx, sy, sx, sy], np.float32), s,
                                          np.full((len(s), 5, 2), np.nan, np.float32),
                                          f"{net.name}@{lw}x{lh}r{90 * k}"))
        out = []
        for net, params, parts in per_net:
            out.append((params, Candidates(
                boxes=np.concatenate([p[0] for p in parts]).reshape(-1, 4),
                scores=np.concatenate([p[1] for p in parts]),
                marks=np.concatenate([p[2] for p in parts]).reshape(-1, 5, 2),
                tags=[tag for _, s, _, tag in parts for _ in range(len(s))])))
        return out

    def _rotated_levels(self, levels: list[np.ndarray]) -> list[tuple[np.ndarray, bool]]:
        """(level, tiled?) of the rotated passes: the first coarse level whole, as always,
        when it is within `rotated_whole_max` network pixels; beyond that (photos over
        ~12.8 MP) in tiles, plus the first level within the bound whole (large sideways faces
        that tiles would cut)."""
        level = levels[1] if len(levels) > 1 else levels[0]
        if level.shape[0] * level.shape[1] <= self.params.rotated_whole_max:
            return [(level, False)]
        out = [(level, True)]
        whole = next((lv for lv in levels[2:]
                      if lv.shape[0] * lv.shape[1] <= self.params.rotated_whole_max), None)
        if whole is not None:
            out.append((whole, False))
        return out

    def _is_group(self, found: list[tuple[NetParams, np.ndarray, np.ndarray]]) -> bool:
        """At least `crowd_faces` different clear faces among (params, boxes, scores)?"""
        boxes = [b[s >= p.confident] for p, b, s in found]
        ranks = [s[s >= p.confident] / p.confident for p, _, s in found]
        boxes_a = np.concatenate(boxes).reshape(-1, 4)
        return len(boxes_a) > 0 and distinct_faces(
            boxes_a, np.concatenate(ranks),
            limit=self.params.crowd_faces) >= self.params.crowd_faces

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """The faces to hide in `rgb`."""
        return self._select(self.candidates(rgb), with_candidates=False)[0]

    def detect_with_candidates(self, rgb: np.ndarray) -> tuple[list[Detection], list[Detection]]:
        """The faces to hide, and the candidates for review: detections scoring below the
        threshold that applied to this picture but at or above the network's `review_floor`,
        that do not lie on a face already found (less than `REVIEW_OVERLAP` of the
        candidate's box inside a kept detection), best first, at most `REVIEW_MAX`. They come
        from the same passes: no extra inference."""
        return self._select(self.candidates(rgb), with_candidates=True)

    def detect_for_review(self, rgb: np.ndarray, weak_floor: float, weak_max: int):
        """`detect_with_candidates`, and the weaker candidates below the review floor down
        to `weak_floor` (same selection, best first, at most `weak_max`): places for the
        second look (blurkit/secondlook) to check with its own detector, not for the report.
        In a group photo everything down to the crowd threshold is hidden, so there are
        none. No extra inference."""
        per_net = self.candidates(rgb)
        kept, limits = self._kept(per_net)
        below = self._below(per_net, kept, [np.float32(p.review_floor) for p, _ in per_net],
                            limits)[:REVIEW_MAX]
        weak = self._below(per_net, kept, [np.float32(weak_floor)] * len(per_net),
                           [np.minimum(lim, p.review_floor) for (p, _), lim
                            in zip(per_net, limits)])[:weak_max]
        return kept, below, weak

    def _select(self, per_net: list[tuple[NetParams, Candidates]], with_candidates: bool):
        kept, limits = self._kept(per_net)
        if not with_candidates:
            return kept, []
        return kept, self._below(per_net, kept, [p.review_floor for p, _ in per_net],
                                 limits)[:REVIEW_MAX]

    def _kept(self, per_net: list[tuple[NetParams, Candidates]]):
        """The detections to hide, and the score each raw candidate needed (per network)."""
        group = self._is_group([(p, c.boxes, c.scores) for p, c in per_net])
        limits = [_limits(p, c, group) for p, c in per_net]
        kept = self._pick(per_net, [c.scores >= lim for (_, c), lim in zip(per_net, limits)])
        return kept, limits

    def _below(self, per_net, kept: list[Detection], floors, ceilings) -> list[Detection]:
        """Detections scoring in [floor, ceiling) per network that do not lie on a kept face
        (less than REVIEW_OVERLAP of their box inside one), best first."""
        below = self._pick(per_net, [(c.scores < top) & (c.scores >= low)
                                     for (_, c), low, top in zip(per_net, floors, ceilings)])
        if kept and below:
            kb = np.array([d.box for d in kept], np.float32)
            cb = np.array([d.box for d in below], np.float32)
            ix = np.clip(np.minimum(cb[:, None, 2], kb[None, :, 2])
                         - np.maximum(cb[:, None, 0], kb[None, :, 0]), 0, None)
            iy = np.clip(np.minimum(cb[:, None, 3], kb[None, :, 3])
                         - np.maximum(cb[:, None, 1], kb[None, :, 1]), 0, None)
            area = np.maximum((cb[:, 2] - cb[:, 0]) * (cb[:, 3] - cb[:, 1]), 1e-6)
            inside = (ix * iy).max(axis=1) / area
            below = [d for d, f in zip(below, inside) if f < REVIEW_OVERLAP]
        return below

    def _pick(self, per_net: list[tuple[NetParams, Candidates]], accept) -> list[Detection]:
        """Detections of all networks where `accept` (one mask per network) holds, after NMS."""
        boxes, scores, marks, rank, tags = [], [], [], [], []
        for (params, c), keep in zip(per_net, accept):
            boxes.append(c.boxes[keep])
            scores.append(c.scores[keep])
            marks.append(c.marks[keep])
            # detections of different networks compete on a common footing: score / threshold
            rank.append(c.scores[keep] / params.threshold)
            tags.extend(t for t, k in zip(c.tags, keep) if k)
        boxes_a = np.concatenate(boxes).reshape(-1, 4)
        scores_a = np.concatenate(scores)
        marks_a = np.concatenate(marks).reshape(-1, 5, 2)
        rank_a = np.concatenate(rank)
        keep = nms(boxes_a, rank_a, self.params.nms_iou)
        # converted to Python numbers once for all kept boxes (thousands in a 12-MP crowd)
        turned = np.isnan(marks_a[keep]).any(axis=(1, 2)).tolist()
        return [Detection(box=tuple(box), score=score,
                          landmarks=None if no_marks else tuple(map(tuple, marks)),
                          detector=tags[i])
                for i, box, score, marks, no_marks in zip(
                    keep.tolist(), boxes_a[keep].tolist(), scores_a[keep].tolist(),
                    marks_a[keep].tolist(), turned)]
