"""`sticker`: every head is destroyed exactly as `destroy` does (all of them first, so no
later region smears an earlier sticker), then a picture (PNG, transparency kept) is laid over
each head, the largest first, fitted to the head mask. The picture is decoration: the
destruction under it is what makes it irreversible, so nothing of the face shows through the
picture's transparent parts."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from blurkit.engine.redact import Box, Style, _head_ellipse, redact
from blurkit.errors import ConfigError

STICKER_DIR = Path(__file__).resolve().parent.parent.parent / "stickers"
DEFAULT_STICKERS = ("smile", "wink", "cat", "flower")   # made by stickers/make_stickers.py
STICKER_OVERLAP = 0.3   # a face box this much under an earlier sticker gets no sticker of its
                        # own (it is destroyed all the same): crowds of detections otherwise
                        # pile up stickers


def paint(rgb: np.ndarray, boxes: Iterable[Box], style: Style) -> np.ndarray:
    """A copy of `rgb` with every head destroyed and covered with a sticker."""
    boxes = sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    pictures = stickers(style)
    out = redact(rgb, boxes, dataclasses.replace(style, mode="destroy"))
    pasted: list[Box] = []   # the squares stickers were drawn in
    for box in boxes:
        if any(_inside(box, p) > STICKER_OVERLAP for p in pasted):
            continue   # the same face found twice, or one mostly under a sticker already
        pasted.append(_paste_sticker(out, pictures[len(pasted) % len(pictures)], box,
                                     style.margin))
    return out


@functools.lru_cache(maxsize=16)
def load_sticker(path: str) -> np.ndarray:
    """A sticker as RGBA uint8 (a picture without alpha counts as opaque)."""
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None or data.ndim not in (2, 3) or data.dtype != np.uint8:
        raise ConfigError("redact.sticker_unreadable", path=path)
    if data.ndim == 2:
        data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGRA)
    elif data.shape[2] == 3:
        data = cv2.cvtColor(data, cv2.COLOR_BGR2BGRA)
    elif data.shape[2] != 4:
        raise ConfigError("redact.sticker_unreadable", path=path)
    height, width = data.shape[:2]
    if min(height, width) < 32:
        raise ConfigError("redact.sticker_small", path=path, width=width, height=height)
    rgba = cv2.cvtColor(data, cv2.COLOR_BGRA2RGBA)
    rgba.setflags(write=False)
    return rgba


def stickers(style: Style) -> list[np.ndarray]:
    """The pictures sticker mode uses: the chosen file, or the default set."""
    if style.sticker:
        return [load_sticker(str(style.sticker))]
    return [load_sticker(str(STICKER_DIR / f"{name}.png")) for name in DEFAULT_STICKERS]


def _paste_sticker(out: np.ndarray, sticker: np.ndarray, box: Box, margin: float) -> Box:
    """Cover the head of `box` with `sticker`: scaled (aspect kept) so that it spans the
    head mask's outer ellipse in both directions, centred on it, clipped at the border."""
    cx, cy, _, _, ox, oy = _head_ellipse(box, margin)
    sh, sw = sticker.shape[:2]
    scale = max(2 * ox / sw, 2 * oy / sh)
    tw, th = max(1, int(round(sw * scale))), max(1, int(round(sh * scale)))
    fx1, fy1 = int(round(cx - tw / 2)), int(round(cy - th / 2))
    height, width = out.shape[:2]
    x1, y1 = max(0, fx1), max(0, fy1)
    x2, y2 = min(width, fx1 + tw), min(height, fy1 + th)
    drawn = (float(fx1), float(fy1), float(fx1 + tw), float(fy1 + th))
    if x2 <= x1 or y2 <= y1:
        return drawn
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    fitted = cv2.resize(sticker, (tw, th), interpolation=interp)
    fitted = fitted[y1 - fy1:y2 - fy1, x1 - fx1:x2 - fx1]
    alpha = fitted[..., 3:4].astype(np.float32) / 255.0
    roi = out[y1:y2, x1:x2]
    roi[...] = np.round(fitted[..., :3] * alpha + roi * (1.0 - alpha)).astype(np.uint8)
    return drawn


def _inside(a: Box, b: Box) -> float:
    """The fraction of box `a` that lies inside box `b`."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max((a[2] - a[0]) * (a[3] - a[1]), 1e-6)
