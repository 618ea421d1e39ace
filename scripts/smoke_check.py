"""Check what an installed blurkit made of the project's samples: every face hidden, no
metadata left. Needs only blurkit and its dependencies (no checkout on sys.path), so it runs
in a fresh venv with just the wheel (tests/test_wheel.py) and inside an arm64 root under
qemu (scripts/aarch64-smoke).

    python smoke_check.py REPO OUT
        REPO  a folder with samples/ (and samples/manifest.json) and tests/facevideo.py
        OUT   the output folder of `blurkit process REPO/samples/<files> -o OUT`

Every sample of the manifest found in OUT is checked, and at least a photo with faces, the
HEIC and the clip must be there. Faces: the high-pass detail in each known face box must no
longer correlate with the original (blurkit.engine.redact.detail_correlation < 0.3, the measure the
tests and benchmarks use); for the clip in every frame, with the boxes the clip was generated
with. Metadata, read with Pillow and PyAV rather than blurkit: no EXIF (so no GPS), XMP, IPTC,
comments or APP segments beyond JFIF and the ICC profile in photos; no container or stream tags
beyond structural ones, no extra streams and none of the clip's tag values in the video.
Exit status 0 when all holds; each problem is printed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import pillow_heif
from PIL import Image

from blurkit.engine.redact import detail_correlation
from blurkit.media.image import read_photo

pillow_heif.register_heif_opener()

HIDDEN = 0.3
OUT_SUFFIX = {".heic": ".jpg", ".heif": ".jpg", ".avif": ".jpg"}
CLIP = "clip_two_faces.mp4"
REQUIRED = ["group_photo.jpg", "portrait_gps.heic", CLIP]
JPEG_APP_OK = {"APP0": b"JFIF", "APP2": b"ICC_PROFILE"}
INFO_FORBIDDEN = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc", "dpi_exif")
VIDEO_TAGS_OK = {"major_brand", "minor_version", "compatible_brands", "language",
                 "handler_name", "vendor_id", "encoder"}
CLIP_VALUES = [b"+59.3293", b"2024-05-17", b"iPhone", b"Apple"]


def check_photo(src: Path, out: Path, faces: list) -> list[str]:
    problems = []
    original = read_photo(src).pixels
    result = read_photo(out).pixels
    if result.shape != original.shape:
        return [f"{out.name}: size {result.shape} differs from the original {original.shape}"]
    for box in faces:
        corr = detail_correlation(original, result, box)
        if corr >= HIDDEN:
            problems.append(f"{out.name}: face {box} still shows detail (correlation {corr:.2f})")
    with Image.open(out) as im:
        if len(im.getexif()):
            problems.append(f"{out.name}: EXIF left: {dict(im.getexif())}")
        left = [k for k in INFO_FORBIDDEN if k in im.info]
        if left:
            problems.append(f"{out.name}: metadata left: {left}")
        for marker, content in getattr(im, "applist", []):
            if not content.startswith(JPEG_APP_OK.get(marker, b"\0never")):
                problems.append(f"{out.name}: JPEG segment {marker} {content[:16]!r} left")
    data = out.read_bytes()
    for needle in (b"Exif\0\0", b"http://ns.adobe.com/xap", b"Photoshop 3.0"):
        if needle in data:
            problems.append(f"{out.name}: {needle!r} found in the file")
    return problems


def clip_truth(repo: Path) -> list:
    """The face boxes of every frame of the sample clip: made again by the generator that
    made it (samples/make_video_sample.py), which returns them."""
    sys.path.insert(0, str(repo / "tests"))
    try:
        from facevideo import make_face_clip
    finally:
        sys.path.remove(str(repo / "tests"))
    with tempfile.TemporaryDirectory() as tmp:
        return make_face_clip(Path(tmp) / "clip.mp4", n=50, fps=20, tags=True)


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def check_clip(src: Path, out: Path, truth: list) -> list[str]:
    problems = []
    originals, outputs = frames(src), frames(out)
    if not len(originals) == len(outputs) == len(truth):
        return [f"{out.name}: {len(outputs)} frames, expected {len(originals)} ({len(truth)})"]
    for i, (a, b, boxes) in enumerate(zip(originals, outputs, truth)):
        for box in boxes:
            corr = detail_correlation(a, b, tuple(int(round(v)) for v in box))
            if corr >= HIDDEN:
                problems.append(f"{out.name}: frame {i} face {box} visible ({corr:.2f})")
    with av.open(str(out)) as container:
        kinds = sorted(s.type for s in container.streams)
        if kinds != ["audio", "video"]:
            problems.append(f"{out.name}: streams {kinds}, expected one video and its audio")
        tags = dict(container.metadata)
        for stream in container.streams:
            tags.update(stream.metadata)
        extra = sorted(set(tags) - VIDEO_TAGS_OK)
        if extra:
            problems.append(f"{out.name}: tags left: {extra}")
    data = out.read_bytes()
    problems += [f"{out.name}: {v!r} found in the file" for v in CLIP_VALUES if v in data]
    return problems


def main(repo: Path, out: Path) -> int:
    samples = repo / "samples"
    manifest = json.loads((samples / "manifest.json").read_text())["files"]
    problems, checked = [], []
    for name in sorted(manifest) + [CLIP]:
        suffix = Path(name).suffix.lower()
        result = out / (Path(name).stem + OUT_SUFFIX.get(suffix, suffix))
        if not result.is_file():
            if name in REQUIRED:
                problems.append(f"{name}: no output at {result}")
            continue
        if name == CLIP:
            problems += check_clip(samples / name, result, clip_truth(repo))
        else:
            problems += check_photo(samples / name, result, manifest[name]["faces"])
        checked.append(name)
    for p in problems:
        print("PROBLEM", p)
    print(f"checked {len(checked)} outputs ({', '.join(checked)}): "
          f"{'all faces hidden, no metadata' if not problems else f'{len(problems)} problems'}")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
