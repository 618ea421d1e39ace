"""Face tracks in video: detections linked over frames, and the masks they leave behind.

A detector blinks: a face found in frame 10 and 12 may be missed in 11, and a face may be
seen a few frames after it entered the picture. So detections are linked into tracks
(greedy matching on overlap with each track's predicted position, constant velocity), and
each track hides its face

* in every frame between two of its detections (box interpolated linearly),
* for `hold` frames before its first and after its last detection (box held, enlarged by
  the distance the face travels per frame, so a face moving fast stays covered),
* enlarged in every frame by the motion since the nearest detection.

A track must not cross people. `Tracker.cut(frame)` ends every track at a scene cut, and
`Tracker.split(track, i)` cuts a track in two where its face changed (the video flow decides
that from face templates). Each piece keeps its masks, so coverage never has a hole, but
outside the frames its own detections vouch for (`Track.lo`..`Track.hi`, set by a cut or a
split) a piece's box may only ever hide: `vouched(track, frame)` tells the painter.

Plain data in, plain data out: the video flow feeds per-frame detections and gets back,
for every frame, the boxes to hide.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]


@dataclass
class Track:
    id: int
    frames: list[int] = field(default_factory=list)     # frames with a detection, ascending
    boxes: list[Box] = field(default_factory=list)      # the detection in each of those frames
    scores: list[float] = field(default_factory=list)
    # frames outside lo..hi are not this face's for sure (a cut or a split lies between):
    # the track's masks still cover them, but never as a shown face
    lo: int | None = None
    hi: int | None = None

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def velocity(self) -> np.ndarray:
        """Box change per frame over the last two detections (zero for a single one)."""
        if len(self.frames) < 2:
            return np.zeros(4)
        gap = self.frames[-1] - self.frames[-2]
        return (np.asarray(self.boxes[-1]) - np.asarray(self.boxes[-2])) / max(gap, 1)

    def predict(self, frame: int) -> np.ndarray:
        return np.asarray(self.boxes[-1]) + self.velocity() * (frame - self.last)


def _match_matrix(pred: np.ndarray, boxes: np.ndarray, min_iou: float):
    """(fit, allowed) for each predicted track box (T,4) and detection (D,4).

    fit ranks candidate pairs: their IoU, or for a small fast face that moved off its
    predicted box, a small value that grows as the centres get closer. A pair is allowed
    when the IoU reaches `min_iou`, or the boxes overlap or their centres lie within one
    box size, with sizes that agree within a factor of two."""
    ix = np.clip(np.minimum(pred[:, None, 2], boxes[None, :, 2])
                 - np.maximum(pred[:, None, 0], boxes[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(pred[:, None, 3], boxes[None, :, 3])
                 - np.maximum(pred[:, None, 1], boxes[None, :, 1]), 0, None)
    inter = ix * iy
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_b = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    iou = inter / np.maximum(area_p[:, None] + area_b[None, :] - inter, 1e-9)
    hp = pred[:, 3] - pred[:, 1]
    hb = boxes[:, 3] - boxes[:, 1]
    size = np.maximum(np.maximum(pred[:, None, 2] - pred[:, None, 0], hp[:, None]),
                      np.maximum(boxes[None, :, 2] - boxes[None, :, 0], hb[None, :]))
    dist = np.hypot((pred[:, None, 0] + pred[:, None, 2]
                     - boxes[None, :, 0] - boxes[None, :, 2]) / 2,
                    (pred[:, None, 1] + pred[:, None, 3]
                     - boxes[None, :, 1] - boxes[None, :, 3]) / 2)
    ratio = hb[None, :] / np.maximum(hp[:, None], 1e-9)
    alike = (ratio >= 0.5) & (ratio <= 2.0)
    near = dist < size
    fit = np.where(iou > 0, iou, 0.01 * (1 - dist / np.maximum(size, 1e-9)))
    allowed = (iou >= min_iou) | (alike & ((iou > 0) | near))
    return fit, allowed


class Tracker:
    """Online linking of per-frame detections into tracks."""

    def __init__(self, max_gap: int = 15, min_match: float = 0.2) -> None:
        self.max_gap = max_gap
        self.min_match = min_match
        self.tracks: list[Track] = []
        self._active: list[Track] = []
        self._since: int | None = None      # the last scene cut: new tracks start after it
        self.cuts: list[int] = []

    def cut(self, frame: int) -> None:
        """A scene cut before `frame`: every live track ends, nothing links across it."""
        for t in self._active:
            t.hi = frame - 1 if t.hi is None else min(t.hi, frame - 1)
        self._active = []
        self._since = frame
        self.cuts.append(frame)

    def split(self, track: Track, index: int) -> Track:
        """Cut `track` before its detection number `index` (1 <= index < detections): the
        detections from there on become a new track (the live one, if `track` was live).
        Neither piece vouches for the frames between them."""
        if not 1 <= index < len(track.frames):
            raise ValueError("a split needs detections on both sides")
        new = Track(id=len(self.tracks), frames=track.frames[index:], boxes=track.boxes[index:],
                    scores=track.scores[index:], lo=track.frames[index], hi=track.hi)
        del track.frames[index:], track.boxes[index:], track.scores[index:]
        track.hi = track.frames[-1]
        self.tracks.append(new)
        self._active = [new if t is track else t for t in self._active]
        return new

    def update(self, frame: int, boxes: list[Box], scores: list[float]) -> list[int]:
        """Link this frame's detections; returns the track id of each detection."""
        self._active = [t for t in self._active if frame - t.last <= self.max_gap]
        ids: list[int | None] = [None] * len(boxes)
        if self._active and boxes:
            pred = np.stack([t.predict(frame) for t in self._active])
            fit, allowed = _match_matrix(pred, np.asarray(boxes, dtype=np.float64), self.min_match)
            ti, di = np.nonzero(allowed)
            order = np.argsort(-fit[ti, di], kind="stable")
            taken = set()
            for k in order:
                t, d = int(ti[k]), int(di[k])
                if t in taken or ids[d] is not None:
                    continue
                taken.add(t)
                ids[d] = self._active[t].id
                self._extend(self._active[t], frame, boxes[d], scores[d])
        for d, box in enumerate(boxes):
            if ids[d] is None:
                track = Track(id=len(self.tracks), lo=self._since)
                self._extend(track, frame, box, scores[d])
                self.tracks.append(track)
                self._active.append(track)
                ids[d] = track.id
        return ids

    @staticmethod
    def _extend(track: Track, frame: int, box: Box, score: float) -> None:
        # the frame last: a reader in another thread (one-pass video) that sees the frame
        # always finds its box and score
        track.boxes.append(tuple(float(v) for v in box))
        track.scores.append(float(score))
        track.frames.append(frame)


def box_at(track: Track, frame: int, hold: int, step: int = 1) -> Box | None:
    """The box that hides `track` in `frame`, or None if the track does not cover it.

    Between two detections: linear interpolation, enlarged by half the motion across the
    gap. Before the first and after the last detection: the box held for
    max(hold, step) frames, growing with the face's speed. `step` is how often detection
    ran (every `step`-th frame), so the hold is never shorter than one interval.
    """
    frames = track.frames
    pad = max(hold, step)
    if frame < frames[0]:
        d = frames[0] - frame
        return _grow(track.boxes[0], d * _speed(track, 0)) if d <= pad else None
    if frame > frames[-1]:
        d = frame - frames[-1]
        return _grow(track.boxes[-1], d * _speed(track, -2)) if d <= pad else None
    i = bisect.bisect_right(frames, frame) - 1
    if frames[i] == frame:
        return tuple(track.boxes[i])
    f0, f1 = frames[i], frames[i + 1]
    b0, b1 = np.asarray(track.boxes[i]), np.asarray(track.boxes[i + 1])
    t = (frame - f0) / (f1 - f0)
    return _grow(b0 + (b1 - b0) * t, float(np.abs(b1 - b0).max()) / 2)


def vouched(track: Track, frame: int) -> bool:
    """Is `frame` within the frames the track's own detections vouch for (no cut or split
    between)? Outside, its box may hide but never show."""
    return (track.lo is None or frame >= track.lo) and (track.hi is None or frame <= track.hi)


def track_boxes(track: Track, n_frames: int, hold: int, step: int = 1) -> dict[int, Box]:
    """`box_at` for every frame of the clip the track covers."""
    pad = max(hold, step)
    out = {}
    for f in range(max(0, track.first - pad), min(n_frames, track.last + pad + 1)):
        box = box_at(track, f, hold, step)
        if box is not None:
            out[f] = box
    return out


def _speed(track: Track, i: int) -> float:
    """Largest per-frame movement of any box edge between detections i and i+1 (i=0: the
    first two, i=-2: the last two); 0 for a single detection."""
    if len(track.frames) < 2:
        return 0.0
    j = i + 1 if i >= 0 else len(track.frames) - 1
    i = i if i >= 0 else len(track.frames) - 2
    gap = max(track.frames[j] - track.frames[i], 1)
    return float(np.abs(np.asarray(track.boxes[j]) - np.asarray(track.boxes[i])).max() / gap)


def _grow(box, by: float) -> Box:
    b = np.asarray(box, dtype=np.float64)
    return (float(b[0] - by), float(b[1] - by), float(b[2] + by), float(b[3] + by))
