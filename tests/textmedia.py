"""Pictures and a clip with readable text the tests make themselves (names on a badge and a
sign, drawn with Debian's DejaVu fonts into the project's public-domain samples), and the
independent reader the tests judge them with: Debian's Tesseract, as a subprocess (never
used by blurkit itself). Every word's quadrilateral is known, so the reader is pointed at
it: a fail-safe test."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from blurkit.media.image import read_photo

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def reader_missing() -> str | None:
    """Why the reader cannot run here (None: it can)."""
    if shutil.which("tesseract") is None:
        return "tesseract-ocr is not installed (scripts/setup --test installs it)"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    if "swe" not in langs.split():
        return "tesseract-ocr-swe is not installed"
    if not FONT.is_file():
        return "fonts-dejavu-core is not installed"
    return None


def card(words: list[str], height: int, bg=(250, 250, 250), fg=(20, 20, 20)):
    """An upright card (RGBA) with one line of `words`, letters `height` px tall; returns
    (card, [(word, x1, y1, x2, y2)])."""
    font = ImageFont.truetype(str(FONT), int(height * 1.35))
    line = " ".join(words)
    left, top, right, bottom = font.getbbox(line)
    pad = height // 2 + 2
    img = Image.new("RGBA", (right + 2 * pad, bottom - top + 2 * pad), bg + (255,))
    d = ImageDraw.Draw(img)
    d.text((pad, pad - top), line, font=font, fill=fg + (255,))
    boxes, x = [], pad
    for w in words:
        b = d.textbbox((x, pad - top), w, font=font)
        boxes.append((w, *b))
        x += font.getlength(w + " ")
    return np.asarray(img), boxes


def paste(rgb: np.ndarray, rgba: np.ndarray, boxes, cx: float, cy: float, angle: float):
    """Lay `rgba` (a card) on `rgb` in place, centred at (cx, cy), turned by `angle` degrees;
    returns [(word, quad)] in `rgb`'s pixels."""
    h, w = rgba.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    M[:, 2] += (cx - w / 2, cy - h / 2)
    H, W = rgb.shape[:2]
    layer = cv2.warpAffine(rgba.astype(np.float32), M, (W, H), flags=cv2.INTER_LINEAR,
                           borderValue=(0, 0, 0, 0))
    alpha = layer[..., 3:4] / 255.0
    colour = np.where(alpha > 1e-3, layer[..., :3] / np.maximum(alpha, 1e-3), 0)
    rgb[...] = np.clip(np.round(colour * alpha + rgb * (1 - alpha)), 0, 255).astype(np.uint8)
    out = []
    for word, x1, y1, x2, y2 in boxes:
        pts = np.array([[x1, y1, 1], [x2, y1, 1], [x2, y2, 1], [x1, y2, 1]], np.float64)
        out.append((word, (pts @ M.T).tolist()))
    return out


def text_photo(path: Path) -> list[tuple[str, list]]:
    """The group sample with a name badge (letters 18 px, turned 12 degrees) on a shirt and
    a door sign (28 px); saved as JPEG; returns the words and their quads."""
    rgb = read_photo(SAMPLES / "group_photo.jpg").pixels.copy()
    words = []
    c, b = card(["Lisa", "Andersson"], 18)
    words += paste(rgb, c, b, 700, 820, 12)
    c, b = card(["Dagcenter", "Solrosen"], 28, bg=(20, 70, 150), fg=(255, 255, 255))
    words += paste(rgb, c, b, 1250, 120, -6)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return words


def text_clip(path: Path, n: int = 24, fps: int = 12, width: int = 480, height: int = 272):
    """A scene (the rocket sample, panning) with a sign moving right and a name badge moving
    left and down through it, and a 440 Hz tone; returns, per frame, [(word, quad)]."""
    scene = read_photo(SAMPLES / "no_face.jpg").pixels
    sign, sign_boxes = card(["SOLROSEN"], 26, bg=(20, 110, 60), fg=(255, 255, 255))
    badge, badge_boxes = card(["Lisa", "Berg"], 18, bg=(255, 244, 200), fg=(10, 40, 120))
    out = av.open(str(path), "w", format="mp4")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
    vs.options = {"crf": "18"}
    au = out.add_stream("aac", rate=44100)
    au.layout = "mono"
    truth = []
    for i in range(n):
        x0 = int(i * (scene.shape[1] - width) / max(n - 1, 1))
        img = np.ascontiguousarray(scene[:height, x0:x0 + width]).copy()
        t = i / max(n - 1, 1)
        words = paste(img, sign, sign_boxes, 110 + 260 * t, 70, 4)
        words += paste(img, badge, badge_boxes, 380 - 200 * t, 150 + 60 * t, -10)
        truth.append(words)
        for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            out.mux(packet)
    total = int(44100 * n / fps)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(total) / 44100)).astype(np.float32)
    for start in range(0, total, 1024):
        af = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="flt",
                                        layout="mono")
        af.sample_rate, af.pts, af.time_base = 44100, start, Fraction(1, 44100)
        for packet in au.encode(af):
            out.mux(packet)
    for stream in (vs, au):
        for packet in stream.encode(None):
            out.mux(packet)
    out.close()
    return truth


def _crop(rgb: np.ndarray, quad) -> np.ndarray:
    """The word cut out along `quad` (a quarter of its height around it), upright, 48 px
    tall, grey."""
    q = np.asarray(quad, np.float32)
    wv, hv = ((q[1] - q[0]) + (q[2] - q[3])) / 2, ((q[3] - q[0]) + (q[2] - q[1])) / 2
    w, h = float(np.linalg.norm(wv)), float(np.linalg.norm(hv))
    uw, uh, m = wv / w, hv / h, 0.25 * h
    src = np.array([q[0] - uw * m - uh * m, q[1] + uw * m - uh * m,
                    q[2] + uw * m + uh * m, q[3] - uw * m + uh * m], np.float32)
    s = 48 / h
    tw, th = int(round((w + 2 * m) * s)), int(round((h + 2 * m) * s))
    M = cv2.getPerspectiveTransform(src, np.array([[0, 0], [tw, 0], [tw, th], [0, th]],
                                                  np.float32))
    return cv2.cvtColor(cv2.warpPerspective(rgb, M, (tw, th), flags=cv2.INTER_CUBIC,
                                            borderMode=cv2.BORDER_REPLICATE), cv2.COLOR_RGB2GRAY)


def _read(grey: np.ndarray, word: str, psm: int) -> bool:
    for img in (grey, 255 - grey):
        png = cv2.imencode(".png", img)[1].tobytes()
        text = subprocess.run(["tesseract", "stdin", "stdout", "--psm", str(psm), "-l",
                               "swe+eng"], input=png, capture_output=True, timeout=120,
                              env=_ENV).stdout.decode("utf-8", "replace")
        tokens = [t.strip(".,!?:;'\"|()[]{}") for t in text.split()]
        tokens += ["".join(line.split()) for line in text.splitlines()]
        if any(difflib.SequenceMatcher(None, word, t).ratio() >= 0.8 for t in tokens if t):
            return True
    return False


def reads(rgb: np.ndarray, word: str, quad) -> bool:
    """Does Tesseract read `word` where `quad` says it is? (cut out upright, 48 px tall,
    a quarter of its height around it; one line, as it is and inverted; Swedish + English;
    a token matching with a difflib ratio of 0.8 or more counts, as in
    benchmarks/textset.py)."""
    return _read(_crop(rgb, quad), word, 7)


def reads_anywhere(places, word: str) -> bool:
    """Does Tesseract read `word` in any of `places` ([(rgb, quad)], e.g. every frame of a
    clip)? The crops are stacked into one page (a grey gap between lines) and read as a
    block: one call for many frames."""
    crops = [_crop(rgb, q) for rgb, q in places]
    width = max(c.shape[1] for c in crops) + 16
    rows = []
    for c in crops:
        row = np.full((c.shape[0] + 24, width), 128, np.uint8)
        row[12:12 + c.shape[0], 8:8 + c.shape[1]] = c
        rows.append(row)
    return _read(np.vstack(rows), word, 6)
