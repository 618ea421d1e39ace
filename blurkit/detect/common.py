"""The one type every detector returns, and helpers shared by the backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Detection:
    """A face found in an image.

    box: (x1, y1, x2, y2) in pixels of the image as displayed (orientation applied).
    score: detector confidence, 0..1.
    landmarks: five (x, y) points or None, in this order: eye on the image's left,
        eye on the image's right, nose tip, mouth corner on the left, mouth corner on the right.
    detector: which backend (and pass) found it.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] | None = None
    detector: str = ""

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def to_dict(self) -> dict:
        d = {"box": [round(float(v), 1) for v in self.box], "score": round(float(self.score), 4),
             "detector": self.detector}
        if self.landmarks is not None:
            d["landmarks"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks]
        return d


class FaceDetector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces in an RGB uint8 image of shape (H, W, 3)."""
        ...


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (N,4) and b (M,4) in x1,y1,x2,y2."""
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def distinct_faces(boxes: np.ndarray, scores: np.ndarray, overlap: float = 0.5,
                   limit: int | None = None) -> int:
    """How many different faces the boxes show: a box is the same face as a better-scoring
    one when more than `overlap` of the smaller box lies inside the other (nested boxes from
    different scales of the search count once). With `limit`, counting stops there (the
    answer is then min(count, limit)): a crowd of 12-MP candidates need not be walked
    through to learn that it holds two faces."""
    kept: list[np.ndarray] = []
    for i in np.argsort(-scores):
        if limit is not None and len(kept) >= limit:
            break
        b = boxes[i]
        area = max((b[2] - b[0]) * (b[3] - b[1]), 1e-6)
        same = False
        for k in kept:
            inter = (max(0.0, min(b[2], k[2]) - max(b[0], k[0]))
                     * max(0.0, min(b[3], k[3]) - max(b[1], k[1])))
            smaller = min(area, max((k[2] - k[0]) * (k[3] - k[1]), 1e-6))
            if inter / smaller > overlap:
                same = True
                break
        if not same:
            kept.append(b)
    return len(kept)
