"""`solid`: the region painted black."""

from __future__ import annotations

import numpy as np


def effect(roi: np.ndarray) -> np.ndarray:
    return np.zeros_like(roi)
