"""Hiding faces: obfuscation modes and masks.

The default mode, `destroy`, is irreversible: the face region is averaged down to a mosaic of
a handful of cells (a few colours, no features), and that mosaic is blurred so no cell edge
survives. Plain Gaussian blur and fine pixelation can be partly undone or re-identified by
learned models, so they exist (`blur`, `pixelate`) for creative use only, never as default.
`solid` paints the region black.

The region is the face box enlarged by `margin` (a fraction of the box) on the sides and
bottom, and by 1.3 x `margin` on top for hair and forehead; `mask` chooses a box or the
ellipse inscribed in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

MODES = ("destroy", "blur", "pixelate", "solid")
MASKS = ("box", "ellipse")
DESTROY_CELLS = 4  # mosaic cells across the short side of the region in `destroy` mode


@dataclass(frozen=True)
class Style:
    mode: str = "destroy"
    mask: str = "box"
    margin: float = 0.35

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}")


Box = tuple[float, float, float, float]


def region(box: Box, margin: float, height: int, width: int) -> tuple[int, int, int, int]:
    """The integer region (x1, y1, x2, y2) hidden for a face box, clipped to the image."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    rx1 = int(np.floor(x1 - margin * w))
    rx2 = int(np.ceil(x2 + margin * w))
    ry1 = int(np.floor(y1 - 1.3 * margin * h))
    ry2 = int(np.ceil(y2 + margin * h))
    return max(0, rx1), max(0, ry1), min(width, rx2), min(height, ry2)


def _destroy(roi: np.ndarray) -> np.ndarray:
    h, w = roi.shape[:2]
    cells = DESTROY_CELLS
    gw, gh = (cells, max(1, round(cells * h / w))) if w <= h else (max(1, round(cells * w / h)), cells)
    small = cv2.resize(roi, (gw, gh), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    sigma = max(w / gw, h / gh) / 2
    return cv2.GaussianBlur(big, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)


def _pixelate(roi: np.ndarray) -> np.ndarray:
    h, w = roi.shape[:2]
    cell = max(2, min(w, h) // 12)
    small = cv2.resize(roi, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _blur(roi: np.ndarray) -> np.ndarray:
    h, w = roi.shape[:2]
    return cv2.GaussianBlur(roi, (0, 0), sigmaX=max(2.0, min(w, h) / 6),
                            borderType=cv2.BORDER_REPLICATE)


def _solid(roi: np.ndarray) -> np.ndarray:
    return np.zeros_like(roi)


_EFFECTS = {"destroy": _destroy, "pixelate": _pixelate, "blur": _blur, "solid": _solid}


def _ellipse_mask(h: int, w: int) -> np.ndarray:
    """The ellipse inscribed in an h x w region, as a boolean mask."""
    ys = (np.arange(h) + 0.5 - h / 2) / (h / 2)
    xs = (np.arange(w) + 0.5 - w / 2) / (w / 2)
    return ys[:, None] ** 2 + xs[None, :] ** 2 <= 1.0


def redact(rgb: np.ndarray, boxes: Iterable[Box], style: Style = Style()) -> np.ndarray:
    """A copy of `rgb` with every box hidden according to `style`."""
    out = rgb.copy()
    height, width = out.shape[:2]
    effect = _EFFECTS[style.mode]
    for box in boxes:
        x1, y1, x2, y2 = region(box, style.margin, height, width)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        roi = out[y1:y2, x1:x2]
        hidden = effect(roi)
        if style.mask == "ellipse":
            mask = _ellipse_mask(y2 - y1, x2 - x1)
            roi[mask] = hidden[mask]
        else:
            roi[...] = hidden
    return out
