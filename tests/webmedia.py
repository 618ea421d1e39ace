"""Pictures for the web page's tests, made at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# where the drawn face of `missed_face_photo` is, in pixels
MISSED_BOX = (380, 120, 540, 300)


def missed_face_photo(path: Path) -> tuple[int, int, int, int]:
    """A 640x480 JPEG with a drawn face that no face detector takes for one (the tests check
    that the machine's report has no face there): the "face the detector missed" that a
    reviewer hides by drawing a box over it. Detailed, so that its destruction shows."""
    rng = np.random.default_rng(7)
    im = Image.fromarray(rng.integers(90, 160, (480, 640, 3)).astype(np.uint8))
    d = ImageDraw.Draw(im)
    x1, y1, x2, y2 = MISSED_BOX
    d.ellipse(MISSED_BOX, fill=(235, 200, 160), outline=(40, 20, 10), width=4)
    for ex in (415, 475):
        d.ellipse((ex, 175, ex + 30, 200), fill=(255, 255, 255), outline=(0, 0, 0), width=3)
        d.ellipse((ex + 10, 182, ex + 22, 194), fill=(20, 20, 20))
    d.line((460, 200, 450, 240, 468, 240), fill=(90, 40, 20), width=3)
    d.arc((420, 230, 500, 280), 20, 160, fill=(150, 20, 20), width=5)
    for k in range(0, 160, 8):
        d.line((x1 + k, y1, x1 + k + 20, y1 + 20), fill=(60, 40, 20), width=2)
    im.save(path, quality=92)
    return MISSED_BOX


def detail(arr: np.ndarray, box) -> float:
    """Fine detail (mean absolute Laplacian of the grey image) inside `box`."""
    import cv2

    x1, y1, x2, y2 = (int(v) for v in box)
    grey = cv2.cvtColor(np.ascontiguousarray(arr[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return float(np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)).mean())


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
