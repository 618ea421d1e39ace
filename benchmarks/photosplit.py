"""The photo benchmark's fixed split and its per-face and per-image measures.

Split: every image (WIDER subset and negatives alike) belongs to the *tune* half when the
first byte of the SHA-256 of its file is even, to the *check* half when it is odd. The rule
depends on the bytes only (not on names, order or the number of images), so it never moves.
Thresholds, scales and rules are chosen on the tune half; the check half is what is quoted.

Attributes: WIDER FACE annotates every box with blur (0 clear, 1 normal, 2 heavy),
illumination (0 normal, 1 extreme), occlusion (0 none, 1 partial, 2 heavy) and pose
(0 typical, 1 atypical); `boxes_detailed.json` in the subset carries them.

Collateral: how much of a picture a tool changed, from pixels only. A pixel counts as
changed when the grey-level difference between original and output, averaged over its 5x5
neighbourhood, exceeds 6 (a JPEG re-encode at the tools' quality moves it by ~1-2; any
hiding of a textured or coloured region by much more). Reported as the changed area over the
area of the annotated face boxes (their union) and as a fraction of the image.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

HALVES = ("tune", "check")
ATTRIBUTES = {
    "occlusion": ("none", "partial", "heavy"),
    "pose": ("typical", "atypical"),
    "illumination": ("normal", "extreme"),
    "blur": ("clear", "normal", "heavy"),
}
CHANGED_LEVEL = 6.0


def half(path: Path) -> str:
    """'tune' or 'check': the parity of the first byte of the file's SHA-256."""
    return HALVES[hashlib.sha256(Path(path).read_bytes()).digest()[0] & 1]


def load_detailed(wider: Path) -> dict[Path, list[dict]]:
    """image path -> one dict per box: {"box": [x, y, w, h], attribute: value, ...}."""
    data = json.loads((wider / "boxes_detailed.json").read_text())["images"]
    out = {}
    for rel, entry in sorted(data.items()):
        attrs = entry["attributes"]
        out[wider / rel] = [{"box": box, **{a: int(attrs[a][i]) for a in ATTRIBUTES}}
                            for i, box in enumerate(entry["boxes_xywh"])]
    return out


def changed_mask(original: np.ndarray, output: np.ndarray) -> np.ndarray:
    a = cv2.cvtColor(original, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.blur(np.abs(a - b), (5, 5)) > CHANGED_LEVEL


def face_area(shape: tuple[int, int], boxes_xywh) -> int:
    """Pixels inside the union of the annotated face boxes."""
    m = np.zeros(shape[:2], bool)
    for x, y, w, h in boxes_xywh:
        m[max(0, int(y)):int(y + h), max(0, int(x)):int(x + w)] = True
    return int(m.sum())
