"""Hiding faces: obfuscation modes and masks.

The default mode, `destroy`, is irreversible: the face region is averaged down to a mosaic of
a handful of cells (a few colours, no features), and that mosaic is blurred so no cell edge
survives. Plain Gaussian blur and fine pixelation can be partly undone or re-identified by
learned models, so they exist (`blur`, `pixelate`) for creative use only, never as default.
`solid` paints the region black.

The region is the face box enlarged by `margin` (a fraction of the box) on the sides and
bottom, and by 1.3 x `margin` on top for hair and forehead; `mask` chooses a box or the
ellipse inscribed in it. The outer half of the margin is a soft edge: the hidden region
fades into its surroundings there, so neighbouring regions in a crowd meet without hard
seams, while the face box itself is always covered completely.
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


def _full_region(box: Box, margin: float) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return (int(np.floor(x1 - margin * w)), int(np.floor(y1 - 1.3 * margin * h)),
            int(np.ceil(x2 + margin * w)), int(np.ceil(y2 + margin * h)))


def region(box: Box, margin: float, height: int, width: int) -> tuple[int, int, int, int]:
    """The integer region (x1, y1, x2, y2) hidden for a face box, clipped to the image."""
    rx1, ry1, rx2, ry2 = _full_region(box, margin)
    return max(0, rx1), max(0, ry1), min(width, rx2), min(height, ry2)


def _destroy(roi: np.ndarray) -> np.ndarray:
    """Average down to a few cells, then blur the cell edges away.

    The blur runs on a small 8-pixels-per-cell copy and is scaled up smoothly, which looks
    the same as blurring at full size and costs almost nothing for large faces.
    """
    h, w = roi.shape[:2]
    # cells of at least ~8 px: a small region becomes one or two colours, not a fine mosaic
    cells = int(np.clip(min(w, h) // 8, 1, DESTROY_CELLS))
    gw, gh = (cells, max(1, round(cells * h / w))) if w <= h else (max(1, round(cells * w / h)), cells)
    cells_img = cv2.resize(roi, (gw, gh), interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(cells_img, (gw * 8, gh * 8), interpolation=cv2.INTER_NEAREST)
    smooth = cv2.GaussianBlur(blocky, (0, 0), sigmaX=5.0, borderType=cv2.BORDER_REPLICATE)
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


def _alpha(h: int, w: int, ramp_x: float, ramp_y: float, ellipse: bool) -> np.ndarray:
    """Opacity of the hidden region: 1 inside, fading to 0 over the outer `ramp` pixels."""
    ys = np.arange(h, dtype=np.float32) + 0.5
    xs = np.arange(w, dtype=np.float32) + 0.5
    if ellipse:
        # normalised radius: 1 on the inscribed ellipse; the face box corners lie at ~0.81
        ry = (ys - h / 2) / (h / 2)
        rx = (xs - w / 2) / (w / 2)
        r = np.sqrt(ry[:, None] ** 2 + rx[None, :] ** 2)
        inner = 1.0 - max(ramp_x / (w / 2), ramp_y / (h / 2))
        inner = max(inner, 0.82)
        return np.clip((1.0 - r) / max(1.0 - inner, 1e-6), 0.0, 1.0)
    dy = np.minimum(ys, h - ys)
    dx = np.minimum(xs, w - xs)
    ay = np.clip(dy / ramp_y, 0.0, 1.0) if ramp_y > 0.5 else np.ones_like(dy)
    ax = np.clip(dx / ramp_x, 0.0, 1.0) if ramp_x > 0.5 else np.ones_like(dx)
    return np.minimum(ay[:, None], ax[None, :])


def redact(rgb: np.ndarray, boxes: Iterable[Box], style: Style = Style()) -> np.ndarray:
    """A copy of `rgb` with every box hidden according to `style`."""
    out = rgb.copy()
    height, width = out.shape[:2]
    effect = _EFFECTS[style.mode]
    for box in boxes:
        fx1, fy1, fx2, fy2 = _full_region(box, style.margin)
        x1, y1, x2, y2 = max(0, fx1), max(0, fy1), min(width, fx2), min(height, fy2)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        roi = out[y1:y2, x1:x2]
        hidden = effect(roi)
        # the soft edge spans the outer half of the margin (never the face box itself); it
        # is laid out on the whole region, so where the image border clips it, no edge
        ramp_x = 0.5 * style.margin * (box[2] - box[0])
        ramp_y = 0.5 * style.margin * (box[3] - box[1])
        alpha = _alpha(fy2 - fy1, fx2 - fx1, ramp_x, ramp_y, style.mask == "ellipse")
        alpha = alpha[y1 - fy1:y2 - fy1, x1 - fx1:x2 - fx1, None]
        roi[...] = (alpha * hidden + (1.0 - alpha) * roi + 0.5).astype(np.uint8)
    return out


def _highpass(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), 2.0)


def _detail_pair(original: np.ndarray, output: np.ndarray, box: Box):
    """High-pass detail of original and output over the inner 70% of `box` (flattened)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    height, width = original.shape[:2]
    ix1, ix2 = max(0, int(round(x1 + 0.15 * w))), min(width, int(round(x2 - 0.15 * w)))
    iy1, iy2 = max(0, int(round(y1 + 0.15 * h))), min(height, int(round(y2 - 0.15 * h)))
    if ix2 - ix1 < 2 or iy2 - iy1 < 2:
        return None
    # high-pass on a padded crop, so the result does not depend on the rest of the image
    pad = 8
    cx1, cy1 = max(0, ix1 - pad), max(0, iy1 - pad)
    cx2, cy2 = min(width, ix2 + pad), min(height, iy2 + pad)

    def detail(img: np.ndarray) -> np.ndarray:
        crop = img[cy1:cy2, cx1:cx2]
        if crop.ndim == 3:
            crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        return _highpass(crop)[iy1 - cy1:iy2 - cy1, ix1 - cx1:ix2 - cx1].ravel()

    return detail(original), detail(output)


def detail_correlation(original: np.ndarray, output: np.ndarray, box: Box) -> float:
    """How much of a face's fine detail survives: the correlation between the high-pass
    detail (image minus its Gaussian blur, sigma 2) of the original and of the output over
    the inner 70% of the box. ~1 for an untouched face, ~0 for a destroyed one.

    Images are RGB (or gray) uint8 of the same size. This is the black-box measure the
    benchmarks use.
    """
    pair = _detail_pair(original, output, box)
    if pair is None:
        return 0.0
    a, b = pair
    sa, sb = a.std(), b.std()
    if sa < 1e-6 or sb < 1e-6:
        return 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


HIDDEN_LIMIT = 0.3   # detail correlation below which a face counts as hidden
DETAIL_LIMIT = 0.2   # ... or output detail weaker than this fraction of the original's


def still_visible(original: np.ndarray, output: np.ndarray, boxes: Iterable[Box]) -> list[Box]:
    """The boxes whose fine detail survived redaction (should be none).

    Detail survives when it still correlates with the original (>= HIDDEN_LIMIT) AND keeps
    a real fraction of its strength (>= DETAIL_LIMIT). The strength test matters on the
    unencoded arrays the pipeline checks: a heavily smoothed face keeps a faint echo of its
    strongest outline whose correlation can read high although almost nothing is left.
    """
    visible = []
    for box in boxes:
        pair = _detail_pair(original, output, box)
        if pair is None:
            continue
        a, b = pair
        sa, sb = a.std(), b.std()
        if sa < 1e-6 or sb < DETAIL_LIMIT * sa:
            continue
        if np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb) >= HIDDEN_LIMIT:
            visible.append(box)
    return visible
