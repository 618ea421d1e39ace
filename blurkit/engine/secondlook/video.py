"""The second look over a video: sampled output frames, pointers with times.

The video flow hides tracks; a face its detector never found (or found too late) stays
visible for as long as the track is missing. A few output frames a second (`per_second`,
at most `max_samples` per clip, spread evenly when the clip is long: bounded cost) are
looked at by the second detector on a copy whose long side is `side` px; a face it is sure
of (`score`) where the frame was not hidden (the output still shows the original's detail,
look.visible) becomes a pointer with the frame and time. The same place seen again within
`merge_seconds` extends that pointer (last_frame, last_time) instead of adding one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from blurkit.engine.secondlook.look import Pointer, SecondLook, _overlaps, visible


@dataclass(frozen=True)
class VideoLookParams:
    per_second: float = 2.0
    max_samples: int = 240
    side: int = 640
    score: float = 0.9
    min_height: float = 20.0
    merge_seconds: float = 1.5


class VideoLook:
    """Collects pointers while a clip's frames are painted (frames arrive in order)."""

    def __init__(self, looker: SecondLook, fps: float, frame_count: int | None,
                 params: VideoLookParams = VideoLookParams()) -> None:
        self.looker, self.params = looker, params
        every = max(1, round(fps / params.per_second)) if fps and fps > 0 else 12
        if frame_count:
            every = max(every, -(-frame_count // params.max_samples))
        self.every = every
        self.samples = 0
        self.seconds = 0.0
        self._pointers: list[Pointer] = []

    def wants(self, index: int) -> bool:
        return index % self.every == 0 and self.samples < self.params.max_samples

    def add(self, index: int, when: float, original: np.ndarray, output: np.ndarray) -> None:
        """Look at one output frame (and its original)."""
        t = time.perf_counter()
        self.samples += 1
        p, look = self.params, self.looker.params
        height, width = output.shape[:2]
        scale = min(1.0, p.side / max(height, width))
        boxes, scores = self.looker.net.detect(output, p.score, scale)
        for box, score in zip(boxes.tolist(), scores.tolist()):
            box = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]),
                   min(float(height), box[3]))
            if box[3] - box[1] < p.min_height or not visible(original, output, box, look):
                continue
            self._note(Pointer(box, "possible_face", "secondlook.why.video_face", score,
                               {"time": round(when, 1)}, time=when, frame=index))
        self.seconds += time.perf_counter() - t

    def _note(self, ptr: Pointer) -> None:
        for i, old in enumerate(self._pointers):
            end = old.last_time if old.last_time is not None else old.time
            if ptr.time - end <= self.params.merge_seconds and \
                    _overlaps(old.box, np.array([ptr.box], np.float32))[0] >= 0.3:
                self._pointers[i] = Pointer(old.box, old.kind, old.why, max(old.score, ptr.score),
                                            old.params, old.time, old.frame, ptr.time, ptr.frame)
                return
        self._pointers.append(ptr)

    def pointers(self) -> list[dict]:
        return [p.to_dict() for p in self._pointers]


__all__ = ["VideoLook", "VideoLookParams"]
