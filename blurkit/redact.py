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
    """Average down to a few cells, then blur the cell edges away.

    The blur runs on a small 8-pixels-per-cell copy and is scaled up smoothly, which looks
    the same as blurring at full size and costs almost nothing for large faces.
    """
    h, w = roi.shape[:2]
    cells = DESTROY_CELLS
    gw, gh = (cells, max(1, round(cells * h / w))) if w <= h else (max(1, round(cells * w / h)), cells)
    cells_img = cv2.resize(roi, (gw, gh), interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(cells_img, (gw * 8, gh * 8), interpolation=cv2.INTER_NEAREST)
    smooth = cv2.GaussianBlur(blocky, (0, 0), sigmaX=4.0, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR)


def _pixelate(roi: np.ndarray) -> np.ndarray:
    h, w = roi.shape[:2]
    cell = max(3, min(w, h) // 10)
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


def _highpass(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), 2.0)


def detail_correlation(original: np.ndarray, output: np.ndarray, box: Box) -> float:
    """How much of a face's fine detail survives: the correlation between the high-pass
    detail (image minus its Gaussian blur, sigma 2) of the original and of the output over
    the inner 70% of the box. ~1 for an untouched face, ~0 for a destroyed one.

    Images are RGB (or gray) uint8 of the same size. This is the black-box measure the
    benchmarks use; the pipeline uses it to check its own work before publishing.
    """
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    height, width = original.shape[:2]
    ix1, ix2 = max(0, int(round(x1 + 0.15 * w))), min(width, int(round(x2 - 0.15 * w)))
    iy1, iy2 = max(0, int(round(y1 + 0.15 * h))), min(height, int(round(y2 - 0.15 * h)))
    if ix2 - ix1 < 2 or iy2 - iy1 < 2:
        return 0.0
    # high-pass on a padded crop, so the result does not depend on the rest of the image
    pad = 8
    cx1, cy1 = max(0, ix1 - pad), max(0, iy1 - pad)
    cx2, cy2 = min(width, ix2 + pad), min(height, iy2 + pad)

    def detail(img: np.ndarray) -> np.ndarray:
        crop = img[cy1:cy2, cx1:cx2]
        if crop.ndim == 3:
            crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        return _highpass(crop)[iy1 - cy1:iy2 - cy1, ix1 - cx1:ix2 - cx1].ravel()

    a, b = detail(original), detail(output)
    sa, sb = a.std(), b.std()
    if sa < 1e-6 or sb < 1e-6:
        return 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


HIDDEN_LIMIT = 0.3  # detail correlation below which a face counts as hidden


def still_visible(original: np.ndarray, output: np.ndarray, boxes: Iterable[Box]) -> list[Box]:
    """The boxes whose detail survived redaction (should be none)."""
    return [b for b in boxes if detail_correlation(original, output, b) >= HIDDEN_LIMIT]
