"""Hiding readable text: the mask follows the text line's rotated box, plus a margin.

A text region (`blurkit.detect.text.TextRegion`) is hidden in the style chosen for faces
(`blurkit.engine.redact.Style`: destroy, blur, pixelate, solid; `sticker` destroys text as
`destroy` does: a sticker is a head's decoration). The effect is computed over the region's
axis-aligned bounding rectangle and laid on through a mask shaped like the line's rotated
rectangle grown by `margin` x the line's height on every side (at least MIN_MARGIN_PX):
fully hidden out to half the margin, fading out over the outer half so the hidden patch
meets its surroundings without a hard seam. The detector's box is already the line grown
by PaddleOCR's unclip (about 0.4 line heights for a long line); the margin adds room for
ascenders, descenders and a box that sits a little off.

`text_visible` is the pixel self-check, the text twin of `redact.still_visible`: over the
pixels inside each line's own (ungrown) quadrilateral, does the high-pass detail of the
output still correlate with the original's? `hide_text_checked` hides, checks, hides what
survived again with `destroy` and a doubled margin, and raises when anything still shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from blurkit import choices
from blurkit.detect.text import TextRegion
from blurkit.engine.redact import (
    _REGION_STYLES,
    DETAIL_FLOOR,
    DETAIL_LIMIT,
    HIDDEN_LIMIT,
    Style,
    _gray,
)
from blurkit.engine.styles.destroy import effect as _destroy
from blurkit.errors import OutputError

ACTIONS = ("hidden", "shown", "kept")   # the report's text actions (see `actions`)
KEPT_INSIDE = 0.8       # a region this much inside a face shown with consent is kept: the
                        # face's own detail (glasses, brows) read as text, not a name
TEXT_MARGIN = 0.25      # of the line's height, each side (chosen on the tune half: DESIGN.md)
MIN_MARGIN_PX = 3.0
CHECK_MIN_HEIGHT = 6.0  # px: thinner lines are not judged by the self-check (no letters
                        # a reader could make out, and the high-pass's reach is ~8 px)


def grown_quad(region: TextRegion, margin: float) -> np.ndarray:
    """The region's rotated rectangle grown by `margin` x its height (at least MIN_MARGIN_PX)
    on every side; 4 x 2 float array, same corner order."""
    q = np.asarray(region.quad, np.float64)
    ux, uy = q[1] - q[0], q[3] - q[0]
    lx, ly = np.linalg.norm(ux), np.linalg.norm(uy)
    ux = ux / lx if lx > 1e-6 else np.array([1.0, 0.0])
    uy = uy / ly if ly > 1e-6 else np.array([0.0, 1.0])
    d = max(margin * region.height, MIN_MARGIN_PX)
    return np.array([q[0] - ux * d - uy * d, q[1] + ux * d - uy * d,
                     q[2] + ux * d + uy * d, q[3] - ux * d + uy * d])


def _bounds(pts: np.ndarray, width: int, height: int):
    x1 = max(0, int(np.floor(pts[:, 0].min())))
    y1 = max(0, int(np.floor(pts[:, 1].min())))
    x2 = min(width, int(np.ceil(pts[:, 0].max())))
    y2 = min(height, int(np.ceil(pts[:, 1].max())))
    return x1, y1, x2, y2


def _poly_mask(pts: np.ndarray, x1: int, y1: int, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round((pts - [x1, y1]) * 16).astype(np.int32)], 255,
                 lineType=cv2.LINE_8, shift=4)
    return m


def hide_text(rgb: np.ndarray, regions: Iterable[TextRegion], style: Style = Style(),
              margin: float = TEXT_MARGIN, in_place: bool = False) -> np.ndarray:
    """A copy of `rgb` with every text region hidden (see the module's docstring); with
    `in_place`, `rgb` itself (no second full-size picture: the memory budget)."""
    out = rgb if in_place else rgb.copy()
    height, width = out.shape[:2]
    # a region style's own effect; a style that paints pictures (sticker) destroys text
    effect = choices.STYLES[style.mode].load() if style.mode in _REGION_STYLES else _destroy
    for region in sorted(regions, key=lambda r: r.height, reverse=True):
        outer = grown_quad(region, margin)
        core = grown_quad(region, margin / 2)
        x1, y1, x2, y2 = _bounds(outer, width, height)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        roi = out[y1:y2, x1:x2]
        hidden = effect(roi)
        ramp = max(margin * region.height / 2, 1.0)
        soft = _poly_mask(outer, x1, y1, y2 - y1, x2 - x1).astype(np.float32) / 255.0
        soft = cv2.GaussianBlur(soft, (0, 0), ramp / 2)
        full = _poly_mask(core, x1, y1, y2 - y1, x2 - x1) > 0
        alpha = np.where(full, 1.0, np.clip(soft, 0.0, 1.0)).astype(np.float32)
        roi[...] = cv2.blendLinear(np.ascontiguousarray(hidden), np.ascontiguousarray(roi),
                                   alpha, 1.0 - alpha)
    return out


def text_visible(original: np.ndarray, output: np.ndarray,
                 regions: Sequence[TextRegion]) -> list[TextRegion]:
    """The regions whose fine detail survived (should be none): inside each line's own
    quadrilateral, the high-pass detail (image minus its sigma-2 blur) of the output keeps
    at least DETAIL_LIMIT of the original's strength and correlates with it at
    HIDDEN_LIMIT or more, where the original had more than DETAIL_FLOOR to begin with."""
    height, width = original.shape[:2]
    bad = []
    pad = 8
    for region in regions:
        if region.height < CHECK_MIN_HEIGHT:
            continue
        q = np.asarray(region.quad, np.float64)
        x1, y1, x2, y2 = _bounds(q, width, height)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        cx1, cy1 = max(0, x1 - pad), max(0, y1 - pad)
        cx2, cy2 = min(width, x2 + pad), min(height, y2 + pad)
        both = cv2.merge([_gray(original[cy1:cy2, cx1:cx2]),
                          _gray(output[cy1:cy2, cx1:cx2])]).astype(np.float32)
        detail = (both - cv2.GaussianBlur(both, (0, 0), 2.0))[y1 - cy1:y2 - cy1,
                                                              x1 - cx1:x2 - cx1]
        mask = _poly_mask(q, x1, y1, y2 - y1, x2 - x1) > 0
        if mask.sum() < 4:
            continue
        a, b = detail[..., 0][mask].astype(np.float64), detail[..., 1][mask].astype(np.float64)
        sa, sb = a.std(), b.std()
        if sa < DETAIL_FLOOR or sb < DETAIL_LIMIT * sa:
            continue
        corr = float(((a - a.mean()) * (b - b.mean())).mean() / max(sa * sb, 1e-12))
        if corr >= HIDDEN_LIMIT:
            bad.append(region)
    return bad


def hide_text_checked(original: np.ndarray, out: np.ndarray, regions: Sequence[TextRegion],
                      style: Style, source, margin: float = TEXT_MARGIN,
                      in_place: bool = False):
    """Hide `regions` on `out` (faces may already be hidden there) and check each from the
    pixels against `original`. Returns (pixels, number hidden again). `in_place`: `out`
    is the caller's own working copy and is painted on."""
    if not regions:
        return out, 0
    out = hide_text(out, regions, style, margin, in_place=in_place)
    leaks = text_visible(original, out, regions)
    if leaks:
        out = hide_text(out, leaks, Style(mode="destroy", mask="box"), 2 * margin,
                        in_place=True)
        if text_visible(original, out, leaks):
            raise OutputError("text.redaction_failed", path=source)
    return out, len(leaks)


def actions(regions: Sequence[TextRegion], shown_faces: Sequence = ()) -> list[str]:
    """What happens to each region: "kept" when it lies mostly inside the box of a face
    shown with consent (hiding it would blot the face the person agreed to show), else
    "hidden". ("shown" is a reviewer's decision: blurkit.engine.revise.)"""
    from blurkit.engine.decide import inside_share

    return ["kept" if any(inside_share(r.box, f) >= KEPT_INSIDE for f in shown_faces)
            else "hidden" for r in regions]
