"""`blur`: a Gaussian blur of a sixth of the region. For creative use only: a plain blur can
be partly undone, so it is never the default."""

from __future__ import annotations

import cv2
import numpy as np


def effect(roi: np.ndarray) -> np.ndarray:
    h, w = roi.shape[:2]
    return cv2.GaussianBlur(roi, (0, 0), sigmaX=max(2.0, min(w, h) / 6),
                            borderType=cv2.BORDER_REPLICATE)
