"""A synthetic clip with real faces moving across it (from the project's public-domain
samples), with sound and phone-style tags, for end-to-end video tests. The face boxes of
every frame are known, so tests compare the output with the truth."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from blurkit.media.image import read_photo

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _face_crop(name: str, height: int) -> np.ndarray:
    box = json.loads((SAMPLES / "manifest.json").read_text())["files"][name]["faces"][0]
    x1, y1, x2, y2 = box
    pad_x, pad_y = (x2 - x1) // 3, (y2 - y1) // 3
    pixels = read_photo(SAMPLES / name).pixels
    crop = pixels[max(0, y1 - pad_y):y2 + pad_y, max(0, x1 - pad_x):x2 + pad_x]
    scale = height / (y2 - y1)
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale, (
        pad_x * scale, pad_y * scale)


def _gradient(width: int, height: int) -> np.ndarray:
    """The clips' plain background: a smooth blue-green gradient."""
    yy, xx = np.mgrid[:height, :width]
    return np.stack([60 + 100 * xx / width, 90 + 60 * yy / height,
                     120 + 0 * xx], -1).astype(np.uint8)


def _h264(path: Path, fps: int, width: int, height: int):
    """An MP4 container with one H.264 stream (crf 18) of the given size: (container, stream)."""
    out = av.open(str(path), "w", format="mp4")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
    vs.options = {"crf": "18"}
    return out, vs


def _encode(out, stream, frame) -> None:
    """Encode `frame` (None: flush the stream) and mux what comes out."""
    for packet in stream.encode(frame):
        out.mux(packet)


def make_face_clip(path: Path, *, n: int = 40, fps: int = 20, width: int = 480,
                   height: int = 272, tags: bool = True) -> list[list[tuple]]:
    """Write the clip; returns, per frame, the face boxes (x1, y1, x2, y2)."""
    faces = [(_face_crop("portrait_exif_gps_thumbnail.jpg", 90), 4, 40),
             (_face_crop("portrait_text_chunks.png", 60), -3, 150)]
    background = _gradient(width, height)
    out, vs = _h264(path, fps, width, height)
    if tags:
        out.metadata.update({"location": "+59.3293+018.0686/", "creation_time":
                             "2024-05-17T10:11:12.000000Z", "make": "Apple", "model": "iPhone"})
    au = out.add_stream("aac", rate=44100)
    au.layout = "mono"
    truth = []
    for i in range(n):
        img = background.copy()
        boxes = []
        for k, ((crop, scale, (px, py)), speed, y) in enumerate(faces):
            h, w = crop.shape[:2]
            span = width - w - 40                      # the face bounces between the edges
            step = (abs(speed) * i) % (2 * span)
            x = 20 + (step if step <= span else 2 * span - step)
            if speed < 0:
                x = width - w - x
            img[y:y + h, x:x + w] = crop
            boxes.append((x + px, y + py, x + w - px, y + h - py))
        truth.append(boxes)
        _encode(out, vs, av.VideoFrame.from_ndarray(img, format="rgb24"))
    samples_total = int(44100 * n / fps)
    t = np.arange(samples_total) / 44100
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, samples_total, 1024):
        chunk = tone[start:start + 1024]
        af = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        af.sample_rate = 44100
        af.pts = start
        af.time_base = Fraction(1, 44100)
        _encode(out, au, af)
    for stream in (vs, au):
        _encode(out, stream, None)
    out.close()
    return truth


def make_swap_clip(path: Path, *, mode: str = "cut", first: int = 45, n: int = 90,
                   fps: int = 20, width: int = 320, height: int = 240,
                   blur_second: bool = False) -> list[tuple]:
    """Two real people one after the other at the same place: Grace Hopper (the consent
    tests' enrolled face, from portrait_exif_gps_thumbnail.jpg) for `first` frames, then the
    astronaut (portrait_orientation6.jpg, as displayed). mode "cut": the background changes
    with her (a hard cut joins the two shots); mode "swap": the background stays and only the
    face is replaced in place, on a background that pans all the time (stripes moving 5 px a
    frame), so the change of face is no larger than the frame-to-frame change: no cut a
    frame difference could see. blur_second: the astronaut is blurred past what recognition
    judges (no template is ever made of her face, so only its look tells it changed).

    Returns per frame ("grace" | "astronaut", face box)."""
    grace = _face_crop("portrait_exif_gps_thumbnail.jpg", 110)
    astro = _face_crop("portrait_orientation6.jpg", 110)
    if blur_second:
        astro = (cv2.GaussianBlur(astro[0], (0, 0), 3.0),) + astro[1:]
    yy, xx = np.mgrid[:height, :width]
    backgrounds = [_gradient(width, height),
                   np.stack([200 - 80 * yy / height, 120 + 0 * xx, 60 + 90 * xx / width],
                            -1).astype(np.uint8)]
    out, vs = _h264(path, fps, width, height)
    truth = []
    for i in range(n):
        who = "grace" if i < first else "astronaut"
        crop, _, (px, py) = grace if who == "grace" else astro
        if mode == "cut":
            img = backgrounds[1 if who == "astronaut" else 0].copy()
        else:
            stripes = 128 + 100 * np.sin((xx + 5 * i) / 6.0)
            img = np.stack([stripes, 255 - stripes, 0 * xx + 128], -1).astype(np.uint8)
        h, w = crop.shape[:2]
        x, y = (width - w) // 2 + (i % 4), (height - h) // 2     # a little life: 0-3 px sway
        img[y:y + h, x:x + w] = crop
        truth.append((who, (x + px, y + py, x + w - px, y + h - py)))
        _encode(out, vs, av.VideoFrame.from_ndarray(img, format="rgb24"))
    _encode(out, vs, None)
    out.close()
    return truth


def make_cross_clip(path: Path, *, n: int = 80, fps: int = 20, width: int = 480,
                    height: int = 240) -> list[list[tuple]]:
    """Grace Hopper walks left to right and the astronaut right to left at the same height;
    the astronaut passes in front of her halfway (one face occludes the other, as people
    crossing a stage do). Returns per frame [(who, face box, share of the face covered by
    the other's picture)]."""
    grace = _face_crop("portrait_exif_gps_thumbnail.jpg", 100)
    astro = _face_crop("portrait_orientation6.jpg", 100)
    background = _gradient(width, height)
    out, vs = _h264(path, fps, width, height)
    truth = []
    for i in range(n):
        img = background.copy()
        placed = []
        for who, (crop, _, (px, py)), x0, x1 in (("grace", grace, 0, 1),
                                                  ("astronaut", astro, 1, 0)):
            h, w = crop.shape[:2]
            t = i / (n - 1)
            x = round((width - w) * (x0 + (x1 - x0) * t))
            y = (height - h) // 2
            img[y:y + h, x:x + w] = crop              # the astronaut is painted last: in front
            placed.append((who, (x + px, y + py, x + w - px, y + h - py), (x, y, x + w, y + h)))
        (_, gbox, _), (_, abox, arect) = placed
        ix = max(0.0, min(gbox[2], arect[2]) - max(gbox[0], arect[0]))
        iy = max(0.0, min(gbox[3], arect[3]) - max(gbox[1], arect[1]))
        covered = ix * iy / ((gbox[2] - gbox[0]) * (gbox[3] - gbox[1]))
        truth.append([("grace", gbox, covered), ("astronaut", abox, 0.0)])
        _encode(out, vs, av.VideoFrame.from_ndarray(img, format="rgb24"))
    _encode(out, vs, None)
    out.close()
    return truth
