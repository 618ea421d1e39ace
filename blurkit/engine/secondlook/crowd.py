"""Crowd regions: where many weak detections cluster, one region instead of hundreds of boxes.

In a group photo the hiding detector accepts candidates down to its crowd threshold, so a
crowd comes out as hundreds of small, weak boxes, and the faces it missed (16-31 px, blurred,
half-hidden behind a neighbour) sit among them. A region that holds such a cluster is one
place for a reviewer to look at, and one action (`{"action": "hide_region", "box": ...}`,
blurkit/revise.py) hides it whole. Plain numpy, no network.
"""

from __future__ import annotations

import numpy as np

Box = tuple[float, float, float, float]


def clusters(boxes: np.ndarray, link: float) -> list[np.ndarray]:
    """Single-linkage groups of boxes (N, 4): two boxes are linked when their centres are
    within `link` times the taller one's height of each other (in x and in y). Returns the
    index arrays of the groups."""
    n = len(boxes)
    if n == 0:
        return []
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(centres[:, 0])          # a sweep along x bounds the pairs compared
    xs = centres[order, 0]
    reach = link * heights.max()
    for a in range(n):
        i = order[a]
        end = np.searchsorted(xs, xs[a] + reach, side="right")
        js = order[a + 1:end]
        if len(js) == 0:
            continue
        lim = link * np.maximum(heights[js], heights[i])
        near = js[(np.abs(centres[js, 0] - centres[i, 0]) <= lim)
                  & (np.abs(centres[js, 1] - centres[i, 1]) <= lim)]
        ri = root(i)
        for j in near:
            rj = root(int(j))
            if rj != ri:
                parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return [np.array(g) for g in groups.values()]


def crowd_regions(boxes, scores, *, weak_below: float, max_height: float, link: float,
                  min_count: int, pad: float, width: int, height: int) -> list[tuple[Box, int]]:
    """Regions (box, number of weak detections in it) around clusters of at least
    `min_count` weak (score < `weak_below`), small (height < `max_height`) detections,
    padded by `pad` times the cluster's median face height and clipped to the picture."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    s = np.asarray(scores, np.float32).reshape(-1)
    keep = (s < weak_below) & ((b[:, 3] - b[:, 1]) < max_height)
    b = b[keep]
    out = []
    for g in clusters(b, link):
        if len(g) < min_count:
            continue
        part = b[g]
        grow = pad * float(np.median(part[:, 3] - part[:, 1]))
        box = (max(0.0, float(part[:, 0].min()) - grow), max(0.0, float(part[:, 1].min()) - grow),
               min(float(width), float(part[:, 2].max()) + grow),
               min(float(height), float(part[:, 3].max()) + grow))
        out.append((box, len(g)))
    return sorted(out, key=lambda r: -r[1])
