"""Hiding faces: masks, and the hiding styles (`blurkit/engine/styles/`, named in
`blurkit.choices.STYLES`) applied through them.

The default style, `destroy`, is irreversible: the face region is averaged down to a mosaic
of a handful of cells (a few colours, no features), and that mosaic is blurred so no cell
edge survives. Plain Gaussian blur and fine pixelation can be partly undone or re-identified
by learned models, so they exist (`blur`, `pixelate`) for creative use only, never as
default. `solid` paints the region black. `sticker` destroys the head exactly like `destroy`
and then covers it with a picture fitted to the head (see its module).

The region is the face box enlarged by `margin` (a fraction of the box) on the sides and
bottom, and by 1.3 x `margin` on top for hair and forehead; `mask` chooses a box or the
ellipse inscribed in it. The outer half of the margin is a soft edge: the hidden region
fades into its surroundings there, so neighbouring regions in a crowd meet without hard
seams, while the face box itself is always covered completely.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from blurkit import choices

MODES = choices.names(choices.STYLES)
MASKS = choices.names(choices.MASKS)
# styles with effect(roi): applied region by region through the masks below; the others
# paint the whole picture themselves (sticker)
_REGION_STYLES = tuple(m for m in MODES if choices.STYLES[m].impl.endswith(":effect"))
VIDEO_MARGIN = 0.35 # box margin in video (Style.for_video)
MIN_CORE_PX = 4.0   # box/ellipse masks: full cover at least this far beyond the box
HEAD_MARGIN = 0.2   # default margin of the head mask         } chosen on the tune half of
SMALL_SIDE = 48.0   # px: faces smaller than this get up to   } benchmarks/photos.py with
SMALL_EXTRA = 0.3   # this much more margin (offsets of small } benchmarks/masktune.py
                    # boxes are large relative to their size) }


@dataclass(frozen=True)
class Style:
    mode: str = choices.DEFAULT_STYLE
    mask: str = choices.DEFAULT_MASK
    margin: float = HEAD_MARGIN
    sticker: str | None = None   # sticker mode: a PNG file; None = the default set, in turn

    def for_video(self) -> Style:
        """The style to hide video frames with. The head mask is for photos: in video a
        face moves between detections (the box lags it) and an oval of destroyed skin under
        hair is itself a head to an independent detector (benchmarks/video.py found one in
        12 of 105 pedestrian frames at margin 0.2, 1 at 0.5; detail correlation ~0, the faces
        were destroyed). The box mask with at least VIDEO_MARGIN found none."""
        if self.mask != "head":
            return self
        return dataclasses.replace(self, mask="box", margin=max(self.margin, VIDEO_MARGIN))

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}")


Box = tuple[float, float, float, float]


def _head_ellipse(box: Box, margin: float) -> tuple[float, float, float, float, float, float]:
    """The head mask of a face box: centre (cx, cy), the fully hidden core's semi-axes
    (ax, ay) and the soft edge's outer semi-axes (ox, oy).

    Faces under SMALL_SIDE pixels get up to SMALL_EXTRA more margin: a detector's box of a
    20 px face is off by a larger fraction of its size than that of a 200 px face.
    The core is the ellipse inscribed in the box grown by `margin` / 2 on every side,
    moved up by `margin` / 4 of the height (forehead and hair, not the neck); it holds the
    box's inner 80 % entirely (eyes, nose, mouth; what the self-check and the benchmark
    look at). The soft edge adds another `margin` / 2, fading out.
    """
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    margin = margin + SMALL_EXTRA * float(min(max((SMALL_SIDE - min(w, h)) / SMALL_SIDE, 0.0), 1.0))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 - margin * h / 4
    ax, ay = w * (0.5 + margin / 2), h * (0.5 + margin / 2)
    ox, oy = w * (0.5 + margin), h * (0.5 + margin)
    return cx, cy, ax, ay, ox, oy


def _box_margin(box: Box, margin: float) -> float:
    """The margin of a box or ellipse mask: `margin`, but wide enough that the fully hidden
    part reaches MIN_CORE_PX beyond the box. The high-pass the self-check (and any
    recogniser) looks through reaches a few pixels past a face's inner area; on a 12 px face
    a 0.2 margin is 1 px of full cover, and the untouched surroundings' edges then read as
    surviving detail."""
    side = max(min(box[2] - box[0], box[3] - box[1]), 1e-3)
    return max(margin, 2 * MIN_CORE_PX / side)


def _full_region(box: Box, margin: float, mask: str = "box") -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if mask == "head":
        cx, cy, _, _, ox, oy = _head_ellipse(box, margin)
        return (int(np.floor(cx - ox)), int(np.floor(cy - oy)),
                int(np.ceil(cx + ox)), int(np.ceil(cy + oy)))
    margin = _box_margin(box, margin)
    return (int(np.floor(x1 - margin * w)), int(np.floor(y1 - 1.3 * margin * h)),
            int(np.ceil(x2 + margin * w)), int(np.ceil(y2 + margin * h)))


def region(box: Box, margin: float, height: int, width: int,
           mask: str = "box") -> tuple[int, int, int, int]:
    """The integer region (x1, y1, x2, y2) hidden for a face box, clipped to the image."""
    rx1, ry1, rx2, ry2 = _full_region(box, margin, mask)
    return max(0, rx1), max(0, ry1), min(width, rx2), min(height, ry2)


def _ellipse_alpha(h: int, w: int, ramp_x: float, ramp_y: float) -> np.ndarray:
    """Opacity of the ellipse mask over its region: 1 inside, fading to 0 over the outer
    `ramp` pixels. (The box mask is separable: `_ramps`.)"""
    ys = np.arange(h, dtype=np.float32) + 0.5
    xs = np.arange(w, dtype=np.float32) + 0.5
    # normalised radius: 1 on the inscribed ellipse; the face box corners lie at ~0.81
    ry = (ys - h / 2) / (h / 2)
    rx = (xs - w / 2) / (w / 2)
    r = np.sqrt(ry[:, None] ** 2 + rx[None, :] ** 2)
    inner = 1.0 - max(ramp_x / (w / 2), ramp_y / (h / 2))
    inner = max(inner, 0.82)
    return np.clip((1.0 - r) / max(1.0 - inner, 1e-6), 0.0, 1.0).astype(np.float32)


def _ramps(h: int, w: int, ramp_x: float, ramp_y: float) -> tuple[np.ndarray, np.ndarray]:
    """The box mask's opacity along its rows and columns (the mask is their minimum)."""
    ys = np.arange(h, dtype=np.float32) + 0.5
    xs = np.arange(w, dtype=np.float32) + 0.5
    dy = np.minimum(ys, h - ys)
    dx = np.minimum(xs, w - xs)
    ay = np.clip(dy / ramp_y, 0.0, 1.0) if ramp_y > 0.5 else np.ones_like(dy)
    ax = np.clip(dx / ramp_x, 0.0, 1.0) if ramp_x > 0.5 else np.ones_like(dx)
    return ay.astype(np.float32), ax.astype(np.float32)


def _span(a: np.ndarray) -> tuple[int, int]:
    """First and end index of the run where `a` (rising, then falling) reaches 1."""
    full = np.flatnonzero(a >= 1.0)
    return (int(full[0]), int(full[-1]) + 1) if len(full) else (0, 0)


def _blend_box(roi: np.ndarray, hidden: np.ndarray, ay: np.ndarray, ax: np.ndarray):
    """`roi` := blend of `hidden` over `roi` with the box mask min(ay, ax), in place; returns
    the fully hidden rectangle (r0, r1, c0, c1) of `roi`. The same pixels as one blendLinear
    over the whole region, but only the soft edge is blended: the core is copied (weight 1)."""
    h, w = roi.shape[:2]
    r0, r1 = _span(ay)
    c0, c1 = _span(ax)
    if r1 <= r0 or c1 <= c0:
        r0 = r1 = c0 = c1 = 0
        strips = [((0, h), (0, w))]
    else:
        roi[r0:r1, c0:c1] = hidden[r0:r1, c0:c1]
        strips = [((0, r0), (0, w)), ((r1, h), (0, w)), ((r0, r1), (0, c0)), ((r0, r1), (c1, w))]
    for (ya, yb), (xa, xb) in strips:
        if yb <= ya or xb <= xa:
            continue
        alpha = np.minimum(ay[ya:yb, None], ax[None, xa:xb])
        roi[ya:yb, xa:xb] = cv2.blendLinear(np.ascontiguousarray(hidden[ya:yb, xa:xb]),
                                            np.ascontiguousarray(roi[ya:yb, xa:xb]),
                                            alpha, 1.0 - alpha)
    return r0, r1, c0, c1


def _head_alpha(box: Box, margin: float, fx1: int, fy1: int, h: int, w: int) -> np.ndarray:
    """Opacity of the head mask over the region starting at (fx1, fy1): 1 in the core
    ellipse, fading to 0 at the outer one."""
    cx, cy, ax, ay, ox, oy = _head_ellipse(box, margin)
    ys = (np.arange(h, dtype=np.float32) + fy1 + 0.5 - cy)[:, None]
    xs = (np.arange(w, dtype=np.float32) + fx1 + 0.5 - cx)[None, :]
    r_core = np.sqrt((xs / max(ax, 1e-3)) ** 2 + (ys / max(ay, 1e-3)) ** 2)
    edge = max(ox / max(ax, 1e-3), oy / max(ay, 1e-3)) - 1.0  # outer ellipse at r_core = 1 + edge
    if edge < 1e-3:
        return (r_core <= 1.0).astype(np.float32)
    return np.clip((1.0 + edge - r_core) / edge, 0.0, 1.0).astype(np.float32)


def redact(rgb: np.ndarray, boxes: Iterable[Box], style: Style = Style()) -> np.ndarray:
    """A copy of `rgb` with every box hidden according to `style`.

    A box whose face area is already fully inside earlier hidden regions is skipped: crowds
    yield many overlapping detections of one face, and hiding it again changes nothing.
    A style that paints the whole picture (sticker) does it all itself.
    """
    if style.mode not in _REGION_STYLES:               # a style that paints the picture
        return choices.STYLES[style.mode].load()(rgb, boxes, style)
    out = rgb.copy()
    height, width = out.shape[:2]
    effect = choices.STYLES[style.mode].load()
    done = np.zeros((height, width), bool)  # pixels fully hidden so far
    for box in sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True):
        bx1, by1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
        bx2, by2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
        if bx2 > bx1 and by2 > by1 and done[by1:by2, bx1:bx2].all():
            continue
        fx1, fy1, fx2, fy2 = _full_region(box, style.margin, style.mask)
        x1, y1, x2, y2 = max(0, fx1), max(0, fy1), min(width, fx2), min(height, fy2)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        roi = out[y1:y2, x1:x2]
        hidden = effect(roi)
        # the soft edge spans the outer half of the margin (never the face box itself); it
        # is laid out on the whole region, so where the image border clips it, no edge
        if style.mask == "head":
            alpha = _head_alpha(box, style.margin, x1, y1, y2 - y1, x2 - x1)
        else:
            margin = _box_margin(box, style.margin)
            ramp_x = 0.5 * margin * (box[2] - box[0])
            ramp_y = 0.5 * margin * (box[3] - box[1])
            if style.mask == "box":     # separable: blend the soft edge, copy the core
                ay, ax = _ramps(fy2 - fy1, fx2 - fx1, ramp_x, ramp_y)
                r0, r1, c0, c1 = _blend_box(roi, hidden, ay[y1 - fy1:y2 - fy1],
                                            ax[x1 - fx1:x2 - fx1])
                done[y1 + r0:y1 + r1, x1 + c0:x1 + c1] = True
                continue
            alpha = _ellipse_alpha(fy2 - fy1, fx2 - fx1, ramp_x, ramp_y)
            alpha = np.ascontiguousarray(alpha[y1 - fy1:y2 - fy1, x1 - fx1:x2 - fx1])
        roi[...] = cv2.blendLinear(hidden, np.ascontiguousarray(roi), alpha, 1.0 - alpha)
        done[y1:y2, x1:x2] |= alpha >= 1.0
    return out


def keep_shown(original: np.ndarray, out: np.ndarray, shown: Iterable[Box],
               hidden: Iterable[Box]) -> np.ndarray:
    """Give faces that are shown back their own box where only the margin of a hidden face
    covered it: margins are there for the hair and ears of the hidden face, and never take
    precedence over a consented face. Where a hidden face's own box overlaps, it stays hidden."""
    height, width = out.shape[:2]

    def ints(b: Box) -> tuple[int, int, int, int]:
        return (max(0, int(np.floor(b[0]))), max(0, int(np.floor(b[1]))),
                min(width, int(np.ceil(b[2]))), min(height, int(np.ceil(b[3]))))

    hidden = [ints(b) for b in hidden]
    for x1, y1, x2, y2 in map(ints, shown):
        if x2 <= x1 or y2 <= y1:
            continue
        keep = np.ones((y2 - y1, x2 - x1), bool)
        for hx1, hy1, hx2, hy2 in hidden:
            keep[max(hy1, y1) - y1:max(min(hy2, y2) - y1, 0),
                 max(hx1, x1) - x1:max(min(hx2, x2) - x1, 0)] = False
        out[y1:y2, x1:x2][keep] = original[y1:y2, x1:x2][keep]
    return out


def _highpass(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), 2.0)


def _inner(box: Box, height: int, width: int):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    ix1, ix2 = max(0, int(round(x1 + 0.15 * w))), min(width, int(round(x2 - 0.15 * w)))
    iy1, iy2 = max(0, int(round(y1 + 0.15 * h))), min(height, int(round(y2 - 0.15 * h)))
    if ix2 - ix1 < 2 or iy2 - iy1 < 2:
        return None
    return ix1, iy1, ix2, iy2


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def _detail_pair(original: np.ndarray, output: np.ndarray, box: Box):
    """High-pass detail of original and output over the inner 70% of `box` (flattened)."""
    height, width = original.shape[:2]
    inner = _inner(box, height, width)
    if inner is None:
        return None
    ix1, iy1, ix2, iy2 = inner
    # high-pass on a padded crop, so the result does not depend on the rest of the image
    pad = 8
    cx1, cy1 = max(0, ix1 - pad), max(0, iy1 - pad)
    cx2, cy2 = min(width, ix2 + pad), min(height, iy2 + pad)

    def detail(img: np.ndarray) -> np.ndarray:
        crop = _gray(img[cy1:cy2, cx1:cx2])
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
DETAIL_FLOOR = 2.0   # original detail (std of the high-pass, 0-255 scale) below this is noise
REGION_MAX_PX = 4_000_000  # the self-check's summed-area tables only over smaller regions
GRAY_ONCE = 16      # faces looked at one by one: from this many, the gray picture is made
                    # once (gray is per pixel: the same values as gray crops)
CHECK_MIN_SIDE = 12  # px: smaller boxes are below what identifies anyone, and below the
                     # high-pass's reach (its sigma-2 kernel mixes in the surroundings)


def still_visible(original: np.ndarray, output: np.ndarray, boxes: Iterable[Box]) -> list[Box]:
    """The boxes whose fine detail survived redaction (should be none).

    Detail survives when it still correlates with the original (>= HIDDEN_LIMIT) AND keeps
    a real fraction of its strength (>= DETAIL_LIMIT), in a region whose original had more
    than noise-level detail to begin with (>= DETAIL_FLOOR; a few-pixel "face" in a flat
    area has nothing to recognise). Boxes under CHECK_MIN_SIDE pixels are not judged. The
    strength test matters on the unencoded arrays the pipeline checks: a heavily smoothed face
    keeps a faint echo of its strongest outline whose correlation can read high although almost
    nothing is left. When the faces crowd a region of at most REGION_MAX_PX pixels, the
    high-pass is computed once over that region (summed-area tables give each face's
    statistics); otherwise each face is looked at on its own. Both ways compute the same
    statistics up to float rounding; tests/test_redact.py checks the verdicts of both.
    """
    boxes = [b for b in boxes if min(b[2] - b[0], b[3] - b[1]) >= CHECK_MIN_SIDE]
    inner = [(box, _inner(box, *original.shape[:2])) for box in boxes]
    inner = [(box, r) for box, r in inner if r is not None]
    if not inner:
        return []
    rects = np.array([r for _, r in inner], dtype=np.int64)
    pad = 8  # support of the sigma-2 high-pass
    ox, oy = max(0, int(rects[:, 0].min()) - pad), max(0, int(rects[:, 1].min()) - pad)
    ex = min(original.shape[1], int(rects[:, 2].max()) + pad)
    ey = min(original.shape[0], int(rects[:, 3].max()) + pad)
    crops = int(((rects[:, 2] - rects[:, 0] + 2 * pad)
                 * (rects[:, 3] - rects[:, 1] + 2 * pad)).sum())
    area = (ex - ox) * (ey - oy)
    if crops < area * 0.6 or area > REGION_MAX_PX:
        # few, small faces in a large picture, or a region too large for the summed-area
        # tables to pay (float64 tables of a 12-MP picture cost more than each face on its
        # own, even in a crowd): look at each face on its own
        if len(inner) >= GRAY_ONCE:   # one gray conversion of the part holding the boxes
            gray_a, gray_b = _gray(original[oy:ey, ox:ex]), _gray(output[oy:ey, ox:ex])
            shifted = (rects - np.array([ox, oy, ox, oy])).tolist()
            stats = [_crop_stats(gray_a, gray_b, r, pad) for r in shifted]
        else:
            stats = [_crop_stats(original, output, r, pad) for _, r in inner]
        sa, sb, corr = (np.array(v) for v in zip(*stats))
    else:
        sa, sb, corr = _region_stats(original, output, rects, (ox, oy, ex, ey))
    bad = (sa >= DETAIL_FLOOR) & (sb >= DETAIL_LIMIT * sa) & (corr >= HIDDEN_LIMIT)
    return [box for (box, _), v in zip(inner, bad) if v]


def _crop_stats(original: np.ndarray, output: np.ndarray, inner: tuple[int, int, int, int],
                pad: int) -> tuple[float, float, float]:
    """Detail strength of original and output and their correlation over the rectangle
    `inner`: the same high-pass as `_detail_pair` (on the rectangle padded by `pad`, clipped
    to the picture), both images in one two-channel pass and the statistics in float64 by
    OpenCV, at half the cost of numpy's per-array reductions on these small crops. The
    images may be RGB or already gray."""
    height, width = original.shape[:2]
    ix1, iy1, ix2, iy2 = inner
    cx1, cy1 = max(0, ix1 - pad), max(0, iy1 - pad)
    cx2, cy2 = min(width, ix2 + pad), min(height, iy2 + pad)
    both = cv2.merge([_gray(original[cy1:cy2, cx1:cx2]),
                      _gray(output[cy1:cy2, cx1:cx2])]).astype(np.float32)
    detail = both - cv2.GaussianBlur(both, (0, 0), 2.0)
    roi = detail[iy1 - cy1:iy2 - cy1, ix1 - cx1:ix2 - cx1]
    mean, std = cv2.meanStdDev(roi)
    sa, sb = float(std[0, 0]), float(std[1, 0])
    if sa < 1e-6 or sb < 1e-6:
        return sa, sb, 0.0
    product = cv2.mean(cv2.multiply(roi[..., 0], roi[..., 1], dtype=cv2.CV_64F))[0]
    return sa, sb, (product - float(mean[0, 0]) * float(mean[1, 0])) / (sa * sb)


def _region_stats(original, output, rects, bounds):
    """Detail strength and correlation of every box, from summed-area tables over the part
    of the picture that holds the boxes (many faces: O(1) per face)."""
    ox, oy, ex, ey = bounds
    a = _highpass(_gray(original[oy:ey, ox:ex])).astype(np.float64)
    b = _highpass(_gray(output[oy:ey, ox:ex])).astype(np.float64)
    x1, y1 = rects[:, 0] - ox, rects[:, 1] - oy
    x2, y2 = rects[:, 2] - ox, rects[:, 3] - oy
    n = ((x2 - x1) * (y2 - y1)).astype(np.float64)

    def box_means(img: np.ndarray) -> np.ndarray:
        t = cv2.integral(img, sdepth=cv2.CV_64F)
        return (t[y2, x2] - t[y1, x2] - t[y2, x1] + t[y1, x1]) / n

    ma, mb = box_means(a), box_means(b)
    sa = np.sqrt(np.maximum(box_means(a * a) - ma ** 2, 0.0))
    sb = np.sqrt(np.maximum(box_means(b * b) - mb ** 2, 0.0))
    cov = box_means(a * b) - ma * mb
    corr = np.where((sa >= 1e-6) & (sb >= 1e-6), cov / np.maximum(sa * sb, 1e-12), 0.0)
    return sa, sb, corr
