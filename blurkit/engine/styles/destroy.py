"""`destroy` (the default): irreversible. The region is averaged down to a mosaic of a
handful of cells (a few colours, no features) and the mosaic is blurred so no cell edge
survives."""

from __future__ import annotations

import cv2
import numpy as np

CELLS = 4     # mosaic cells across the short side of the region


def effect(roi: np.ndarray) -> np.ndarray:
    """Average down to a few cells, then blur the cell edges away: a handful of colours,
    no features. The blur runs on a small copy (4 pixels per cell, sigma 0.6 cell) that is
    scaled up smoothly, which looks the same as blurring at full size and costs little."""
    h, w = roi.shape[:2]
    # cells of at least ~8 px: a small region becomes one or two colours, not a fine mosaic
    cells = min(max(min(w, h) // 8, 1), CELLS)
    if w <= h:
        gw, gh = cells, max(1, round(cells * h / w))
    else:
        gw, gh = max(1, round(cells * w / h)), cells
    cells_img = cv2.resize(roi, (gw, gh), interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(cells_img, (gw * 4, gh * 4), interpolation=cv2.INTER_NEAREST)
    smooth = cv2.GaussianBlur(blocky, (0, 0), sigmaX=2.5, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR)
