"""Readable text in video: found on sampled frames, tracked and held between them like faces.

The video flow (blurkit/videoflow.py) looks for text on every `every`-th frame (a multiple of
the face detection's step) with the photo's text search (blurkit/detect/text.py) on the
full frame (or, when the flow decodes only reduced frames, on those). The lines found are
linked into tracks by the face tracker (blurkit/track.py: greedy overlap matching with
constant velocity), and every frame hides each track's box: interpolated between two
detections, held (and grown with the text's speed) for max(hold, every) frames before the
first and after the last one, so a sign moving through the picture is covered in the frames
between samples too. In video the mask is the tracked axis-aligned box (which holds the
rotated line), grown like a photo's text mask (blurkit/textmask.py), and every hidden box is
checked from the pixels.

Plain data: `TextTracks.report` gives one dict per track for the item's report, in the shape
of a photo's text list (box, quad, score, action) plus the frames and times it covers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from blurkit.detect.text import TextRegion, TextSearch
from blurkit.engine.textmask import hide_text_checked
from blurkit.engine.track import Tracker, box_at


def box_region(box, score: float = 1.0) -> TextRegion:
    x1, y1, x2, y2 = (float(v) for v in box)
    return TextRegion(((x1, y1), (x2, y1), (x2, y2), (x1, y2)), score)


class TextTracks:
    """The text found in one clip, as tracks."""

    def __init__(self, search: TextSearch, every: int, max_gap: int) -> None:
        self.search, self.every = search, max(1, every)
        self.tracker = Tracker(max_gap=max(max_gap, self.every + 1))
        self.hidden_again = 0

    def detect(self, index: int, rgb: np.ndarray, factor: float) -> list[TextRegion] | None:
        """The text lines of frame `index` in full-frame coordinates (`rgb` is the frame
        reduced by 1 / `factor`), or None when this frame is not one text is looked for on."""
        if index % self.every:
            return None
        return [TextRegion(tuple((x * factor, y * factor) for x, y in r.quad), r.score)
                for r in self.search.detect(rgb)]

    def update(self, index: int, regions: list[TextRegion] | None) -> None:
        """Link the lines found in frame `index` (frames in order; None: not looked at)."""
        if regions is None:
            return
        self.tracker.update(index, [r.box for r in regions], [r.score for r in regions])

    def regions_at(self, index: int, hold: int) -> list[TextRegion]:
        """The boxes that hide text in frame `index` (tracks known up to its lookahead)."""
        out = []
        for track in list(self.tracker.tracks):
            if not track.frames:
                continue
            box = box_at(track, index, hold, self.every)
            if box is not None:
                out.append(box_region(box))
        return out

    def hide(self, original: np.ndarray, out: np.ndarray, regions: list[TextRegion], style,
             source) -> np.ndarray:
        pixels, again = hide_text_checked(original, out, regions, style, source)
        self.hidden_again += again
        return pixels

    def report(self, when: Callable[[int], float]) -> list[dict]:
        """One dict per track: the largest box it was seen with (and that box's corners as
        its quad), the best score, the frames and times it was hidden between."""
        out = []
        for t in self.tracker.tracks:
            big = max(range(len(t.frames)), key=lambda i: (t.boxes[i][2] - t.boxes[i][0])
                      * (t.boxes[i][3] - t.boxes[i][1]))
            region = box_region(t.boxes[big], max(t.scores))
            out.append({**region.to_dict(), "action": "hidden", "id": t.id,
                        "first_frame": t.first, "last_frame": t.last,
                        "first_time": round(when(t.first), 3),
                        "last_time": round(when(t.last), 3), "detections": len(t.frames)})
        return out
