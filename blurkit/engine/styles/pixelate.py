"""`pixelate`: a mosaic of ~10 cells across the region. For creative use only: coarse
pixelation can be partly re-identified by learned models, so it is never the default."""

from __future__ import annotations

import cv2
import numpy as np


def effect(roi: np.ndarray) -> np.ndarray:
    h, w = roi.shape[:2]
    cell = max(3, min(w, h) // 10)
    small = cv2.resize(roi, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
