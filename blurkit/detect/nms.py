"""Greedy non-maximum suppression with OpenCV's result, fast enough for 12-MP crowds.

`nms` returns exactly the indices of cv2.dnn.NMSBoxes (`nms_reference`); above NMS_DIRECT
candidates it compares each box only with the boxes that can overlap it enough.
"""

from __future__ import annotations

import cv2
import numpy as np


def nms_reference(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """OpenCV's greedy NMS (cv2.dnn.NMSBoxes): each box in score order is compared with
    every box kept so far. What `nms` must return, and what it falls back to."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    keep = cv2.dnn.NMSBoxes(_xywh(boxes).tolist(), scores.astype(np.float64).tolist(),
                            score_threshold=0.0, nms_threshold=iou_threshold)
    return np.asarray(keep, dtype=np.int64).reshape(-1)


def _xywh(boxes: np.ndarray) -> np.ndarray:
    """x1, y1, x2, y2 as OpenCV's Rect2d (x, y, width, height): sizes in the boxes' dtype."""
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1).astype(np.float64)


NMS_DIRECT = 16000  # fewer boxes than this: OpenCV's loop is as fast (measured on 12-MP crowds)
NMS_CHUNK = 2048    # boxes decided together (a chunk's pairs among themselves are all checked)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best first (scores >= 0).

    The same indices as cv2.dnn.NMSBoxes (`nms_reference`: boxes with a score above 0, in
    score order, ties by index, each kept unless its overlap with a kept box exceeds the
    threshold; overlap computed as OpenCV does, to the bit). OpenCV compares every box with
    every kept box, and a 12-MP crowd has tens of thousands of candidates and thousands of
    kept boxes; here, above NMS_DIRECT boxes, the boxes are decided in chunks of NMS_CHUNK in
    score order, and a box is only compared with the boxes that can overlap it enough
    (`_Index.pairs`): first with those kept from earlier chunks, then with the survivors of its
    own chunk (`_greedy`). Boxes OpenCV treats specially (empty, not finite) go to the
    reference.
    """
    if len(boxes) < NMS_DIRECT:
        return nms_reference(boxes, scores, iou_threshold)
    rects = _xywh(boxes)
    with np.errstate(over="ignore", invalid="ignore"):
        area = rects[:, 2] * rects[:, 3]
        regular = (np.isfinite(rects).all() and np.isfinite(area).all()
                   and bool((rects[:, 2] > 0).all() and (rects[:, 3] > 0).all()
                            and (area > _EPS).all()))
    threshold = np.float32(iou_threshold)
    if not regular or not 0.01 <= threshold < 1:
        return nms_reference(boxes, scores, iou_threshold)
    s32 = scores.astype(np.float64).astype(np.float32)
    live = np.flatnonzero(s32 > 0)
    order = live[np.argsort(-s32[live], kind="stable")]
    if len(order) == 0:
        return order.astype(np.int64)
    rects, area = rects[order], area[order]
    classes = np.floor(np.log2(area)).astype(np.int64)
    classes -= classes.min()
    # areas of boxes that overlap more than t differ by less than 1/t: classes by less than
    # floor(log2(1/t)) + 1 (the 1e-4 covers float rounding of the overlap)
    reach = int(np.floor(np.log2(1.0 / (float(threshold) - 1e-4)))) + 1
    index = _Index(rects, classes, reach, threshold)
    kept = np.zeros(0, np.int64)
    for start in range(0, len(order), NMS_CHUNK):
        chunk = np.arange(start, min(start + NMS_CHUNK, len(order)))
        if len(kept):
            hit, _ = index.pairs(chunk, kept)
            chunk = chunk[~np.isin(chunk, hit)]
        later, earlier = index.pairs(chunk, chunk)
        kept = np.concatenate([kept, chunk[_greedy(chunk, earlier, later)]])
    return order[kept]


_EPS = np.finfo(np.float64).eps


def _overlap_f32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """OpenCV's overlap of Rect2d pairs (dnn's rectOverlap: 1.f - float(jaccardDistance)),
    row by row, with its operations in its order so the float32 result is the same bits.
    a, b: (K, 4) x, y, width, height (float64, finite, positive sizes)."""
    ax, ay, aw, ah = a.T
    bx, by, bw, bh = b.T

    def side(p, pw, q, qw):  # Rect_::operator&= along one axis (std::min: (b < a) ? b : a)
        p_min = p < q
        lo, lo_w = np.where(p_min, p, q), np.where(p_min, pw, qw)
        hi, hi_w = np.where(p_min, q, p), np.where(p_min, qw, pw)
        length = np.minimum(lo_w - (hi - lo), hi_w)
        return length, (lo < 0) & (lo + lo_w < hi)

    iw, cut_x = side(ax, aw, bx, bw)
    ih, cut_y = side(ay, ah, by, bh)
    inter = np.where(cut_x | cut_y | (iw <= 0) | (ih <= 0), 0.0, iw * ih)
    area_a, area_b = aw * ah, bw * bh
    distance = 1.0 - inter / (area_a + area_b - inter)
    return np.float32(1.0) - distance.astype(np.float32)


class _Index:
    """Finds the pairs of boxes whose overlap exceeds the threshold without comparing all.

    Overlap > t needs the smaller area above t times the larger, so boxes are put in classes
    by log2 of their area and a class is compared only with classes at most `reach` away;
    two boxes that intersect have centres less than half the sum of their sides apart on each
    axis, so on a grid of half the sum of the largest sides in the two classes they lie in the
    same or neighbouring cells. Candidate pairs from the grid are then checked exactly."""

    _NEAR = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], np.int64)

    def __init__(self, rects, classes, reach, threshold):
        self.rects, self.classes, self.reach, self.threshold = rects, classes, reach, threshold
        self.cx = rects[:, 0] + rects[:, 2] / 2
        self.cy = rects[:, 1] + rects[:, 3] / 2
        self.side = np.maximum(rects[:, 2], rects[:, 3])
        top = int(classes.max()) + 1
        self.class_side = np.zeros(top + reach + 1)
        np.maximum.at(self.class_side, classes, self.side)

    def pairs(self, query: np.ndarray, target: np.ndarray):
        """(q, t): boxes of `query` and of `target` (positions in score order) with t before
        q whose overlap exceeds the threshold (query may be target: each pair once)."""
        qc, tc = self.classes[query], self.classes[target]
        found_q, found_t = [], []
        for k in np.unique(qc):
            qk = query[qc == k]
            window = np.abs(tc - k) <= self.reach
            if not window.any():
                continue
            lo, hi = max(0, k - self.reach), k + self.reach + 1
            # |centre distance| < (query side + target side) / 2 on each axis: the cell
            cell = (self.class_side[k] + float(self.class_side[lo:hi].max())) / 2
            q, t = self._near(qk, target[window], cell)
            before = t < q
            if before.any():
                found_q.append(q[before])
                found_t.append(t[before])
        if not found_q:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        q, t = np.concatenate(found_q), np.concatenate(found_t)
        r = self.rects
        touch = ((np.maximum(r[q, 0], r[t, 0])
                  < np.minimum(r[q, 0] + r[q, 2], r[t, 0] + r[t, 2]))
                 & (np.maximum(r[q, 1], r[t, 1])
                    < np.minimum(r[q, 1] + r[q, 3], r[t, 1] + r[t, 3])))
        q, t = q[touch], t[touch]
        # OpenCV compares the candidate (later, q) with the kept box (earlier, t)
        suppress = ~(_overlap_f32(r[q], r[t]) <= self.threshold)
        return q[suppress], t[suppress]

    def _near(self, qk: np.ndarray, tl: np.ndarray, cell: float):
        """Pairs of `qk` and `tl` boxes whose centres lie in the same or neighbouring cells."""
        def cells(boxes):
            return (np.floor(self.cx[boxes] / cell).astype(np.int64),
                    np.floor(self.cy[boxes] / cell).astype(np.int64))

        (gx_q, gy_q), (gx_t, gy_t) = cells(qk), cells(tl)
        x0 = min(int(gx_q.min()), int(gx_t.min())) - 1
        y0 = min(int(gy_q.min()), int(gy_t.min())) - 1
        cols = max(int(gx_q.max()), int(gx_t.max())) - x0 + 2
        key_t = (gy_t - y0) * cols + (gx_t - x0)
        by_key = np.argsort(key_t, kind="stable")
        sorted_keys, sorted_t = key_t[by_key], tl[by_key]
        key_q = (gy_q - y0) * cols + (gx_q - x0)
        wanted = (key_q[:, None] + (self._NEAR[:, 0] * cols + self._NEAR[:, 1])[None, :]).ravel()
        lo = np.searchsorted(sorted_keys, wanted, "left")
        counts = np.searchsorted(sorted_keys, wanted, "right") - lo
        total = int(counts.sum())
        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        q = np.repeat(np.repeat(qk, len(self._NEAR)), counts)
        return q, sorted_t[starts + np.arange(total)]


def _greedy(boxes: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """Which of `boxes` (ascending positions) greedy suppression keeps, as a mask, given
    every pair where the earlier box suppresses the later one if it is kept. A box is
    decided once all its suppressors are: gone if one of them is kept, kept if none is;
    each round decides at least the first undecided box, and a few rounds decide all."""
    n = len(boxes)
    earlier, later = np.searchsorted(boxes, earlier), np.searchsorted(boxes, later)
    state = np.zeros(n, np.int8)   # 0 undecided, 1 kept, 2 suppressed
    while True:
        undecided = state == 0
        if not undecided.any():
            return state == 1
        live = undecided[later] & (state[earlier] != 2)
        earlier, later = earlier[live], later[live]
        by_kept = np.zeros(n, bool)
        by_kept[later[state[earlier] == 1]] = True
        waiting = np.zeros(n, bool)
        waiting[later[state[earlier] == 0]] = True
        state[undecided & by_kept] = 2
        state[undecided & ~by_kept & ~waiting] = 1
