"""The fuzz targets: every parser of untrusted bytes, each with the properties it must keep.

A target is a plain function `check_<name>(data: bytes) -> None` that feeds `data` to the
parser and raises `Finding` (or lets any unexpected exception through) when a property
breaks. The expected refusals (InputError, ConfigError, BadDecision, None from the name
cleaner) are not findings: a hostile input must be *refused with a reason*, never crash the
parser, hang it or slip past it.

They run under Atheris (fuzz/run.py, scripts/fuzz: coverage-guided, bounded in time) and,
without Atheris, over the kept corpus and every past finding in the test suite
(tests/test_fuzz_corpus.py), so a fixed crash stays fixed.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path, PurePosixPath

__all__ = ["TARGETS", "Finding"]


class Finding(AssertionError):
    """A property of the parser did not hold for this input."""


def _scratch() -> Path:
    """A private folder on tmpfs (when there is one) for targets that read paths."""
    global _SCRATCH
    if _SCRATCH is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _SCRATCH = Path(tempfile.mkdtemp(prefix="blurkit-fuzz-", dir=base))
    return _SCRATCH


_SCRATCH: Path | None = None

# --------------------------------------------------------------------------- photo metadata

# what Pillow may report of a file our walker calls clean: structure, not metadata
_BENIGN_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "adobe",
                "adobe_transform", "progressive", "progression", "icc_profile", "transparency",
                "gamma", "srgb", "aspect", "compression", "loop", "duration", "background",
                "interlace", "lossless", "mp", "mpoffset", "chromaticity", "bbox",
                "blend", "disposal", "default_image", "resolution", "unit", "exif_offset"}


def check_photo_metadata(data: bytes) -> None:
    """metadata.inspect (the JPEG, PNG, WebP, TIFF and HEIF/AVIF walkers): never raises; a
    file it calls clean and readable carries nothing Pillow's own parser finds (a
    differential check: metadata a hand-written walker skips would be published)."""
    from blurkit.media import metadata

    s = metadata.inspect(data)
    findings = s.findings()
    if not isinstance(findings, list) or not all(isinstance(f, str) for f in findings):
        raise Finding(f"findings are not a list of text: {findings!r}")
    if s.format != metadata.sniff(data):
        raise Finding(f"inspect says {s.format}, sniff says {metadata.sniff(data)}")
    if (s.width is not None and s.width < 0) or (s.height is not None and s.height < 0):
        raise Finding(f"declared size {s.width}x{s.height}")
    if s.icc_profile is not None:
        cleaned = metadata.clean_icc_profile(s.icc_profile)
        if cleaned is not None and metadata.icc_problems(cleaned):
            raise Finding(f"a cleaned ICC profile still has {metadata.icc_problems(cleaned)}")
    metadata.exif_orientation(data)           # any bytes as an EXIF blob: no exception
    if s.supported and not findings and s.format in ("JPEG", "PNG", "WEBP"):
        _pillow_agrees(data, s.format)


def _pillow_agrees(data: bytes, fmt: str) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = 1 << 24        # headers only; nothing large is decoded here
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            keys = set(im.info)
            exif = im.getexif()
    except Exception:      # Pillow refuses what our walker passed: not a metadata question
        return
    extra = {k for k in keys if str(k).lower() not in _BENIGN_INFO}
    if "exif" in keys and not exif and len(im.info["exif"]) <= 10:
        extra.discard("exif")      # an empty "Exif\0\0" header: nothing in it
    if extra or len(exif):
        raise Finding(f"walker found nothing, Pillow found {sorted(map(str, extra))} "
                      f"{dict(exif) if len(exif) else ''}")


# --------------------------------------------------------------------------- video containers

def _as_file(data: bytes, name: str) -> Path:
    path = _scratch() / name
    path.write_bytes(data)
    return path


def check_mp4_boxes(data: bytes) -> None:
    """videometa's QuickTime/MP4 box walker and structural check (what every published
    video passes) and the H.264 NAL unit splitter: never raise, always answer."""
    from blurkit.media import videometa

    path = _as_file(data, "boxes.mp4")
    boxes, problems = videometa.walk_boxes(path)
    for box in boxes:
        if not (0 <= box.start <= box.payload <= box.end <= len(data)):
            raise Finding(f"box {box.path} outside the file: {box}")
    result = videometa.mp4_problems(path)
    if not isinstance(result, list):
        raise Finding("mp4_problems did not answer")
    if (not boxes or boxes[0].type != "ftyp") and not result:
        raise Finding("a file without ftyp passed the structural check")
    for annexb in (True, False):
        units = videometa.nal_units(data, annexb)
        if units is not None:
            for start, end in units:
                if not 0 <= start <= end <= len(data):
                    raise Finding(f"NAL unit {start}-{end} outside {len(data)} bytes")


def check_video_probe(data: bytes) -> None:
    """The container probe (PyAV/FFmpeg behind probe_video): a VideoInfo or InputError."""
    from blurkit.errors import InputError
    from blurkit.media.video import probe_video

    path = _as_file(data, "probe.mp4")
    try:
        info = probe_video(path)
    except InputError:
        return
    if info.width <= 0 or info.height <= 0:
        raise Finding(f"probe accepted a {info.width}x{info.height} video")


# --------------------------------------------------------------------------- the page's forms

def check_upload_name(data: bytes) -> None:
    """upload.clean_rel (names a browser sends) and enrolment.safe_name: a cleaned name is
    a plain relative path that stays inside the inbox, or it is refused."""
    from blurkit.usecases.enrolment import safe_name
    from blurkit.usecases.uploads import MAX_DEPTH, clean_rel

    name = data.decode("utf-8", "replace")
    rel = clean_rel(name)
    if rel is not None:
        p = PurePosixPath(rel)
        parts = rel.split("/")
        if p.is_absolute() or not 1 <= len(parts) <= MAX_DEPTH:
            raise Finding(f"{name!r} -> {rel!r}: absolute or too deep")
        for part in parts:
            if part in ("", ".", "..") or part.startswith(".") or part != part.strip() \
                    or any(ord(c) < 32 or c in '\\<>:"|?*\x7f' for c in part) \
                    or len(part.encode("utf-8", "surrogatepass")) > 200:
                raise Finding(f"{name!r} -> {rel!r}: bad part {part!r}")
        root = Path("/nonexistent-inbox")
        if not (root / rel).resolve().is_relative_to(root):
            raise Finding(f"{name!r} -> {rel!r} leaves the inbox")
        if clean_rel(rel) != rel:
            raise Finding(f"{rel!r} is not stable under cleaning")
    shown = safe_name(name, "photo")
    if not shown or "/" in shown or "\\" in shown or shown.startswith(".") or len(shown) > 80:
        raise Finding(f"safe_name({name!r}) = {shown!r}")


def _form(data: bytes):
    from starlette.datastructures import FormData
    return FormData(urllib.parse.parse_qsl(data.decode("utf-8", "replace"),
                                           keep_blank_values=True, max_num_fields=200))


def check_forms(data: bytes) -> None:
    """The form fields of registration (web.people.record_from, form_values) and review
    (web.forms.photo_decision / video_decision, then revise.check_decisions): a value is
    understood or refused with a reason; a box that passes is finite and inside the picture."""
    from blurkit.engine.revise import BadDecision, check_decisions
    from blurkit.web.forms import photo_decision, video_decision
    from blurkit.web.people import FormError, form_values, record_from

    try:
        form = _form(data)
    except ValueError:      # more fields than a form may have: refused before any reader
        return
    form_values(form)
    try:
        purposes, record = record_from(form)
    except FormError:
        pass
    else:
        if not purposes or record.signed is None:
            raise Finding(f"record without purpose or date: {purposes} {record}")
    machine = {"faces": [{"box": [1, 1, 20, 20]}], "candidates": [{"box": [30, 30, 40, 40]}]}
    for parse in (photo_decision, video_decision):
        d = parse(form)
        if d is None:
            continue
        try:
            checked = check_decisions([d], machine, 64, 48)
        except BadDecision:
            continue
        box = checked[0].get("box")
        if box is not None and not (all(math.isfinite(v) for v in box)
                                    and 0 <= box[0] < box[2] <= 64 and 0 <= box[1] < box[3] <= 48):
            raise Finding(f"box {box} passed the check")


def check_registration_photo(data: bytes) -> None:
    """enrolment.decode (a registration photo, through read_photo and the image decoders):
    pixels or InputError. The first byte picks the name the browser sent."""
    import numpy as np

    from blurkit.errors import InputError
    from blurkit.usecases.enrolment import decode

    names = ("foto.jpg", "foto.png", "foto.webp", "foto.tif", "foto.heic", "foto.avif",
             "foto", "FOTO.JPG")
    name = names[data[0] % len(names)] if data else names[0]
    try:
        pixels = decode(data[1:], name)
    except InputError as exc:
        exc.message("sv")      # the reason can be worded
        return
    if not (isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.ndim == 3
            and pixels.shape[2] == 3 and pixels.flags.c_contiguous):
        raise Finding(f"decode gave {type(pixels)} {getattr(pixels, 'shape', None)}")


# --------------------------------------------------------------------------- settings

def check_settings(data: bytes) -> None:
    """settings.toml: Settings with checked values, or ConfigError (never another error)."""
    from blurkit.config import load_settings
    from blurkit.errors import ConfigError

    folder = _scratch() / "data"
    folder.mkdir(exist_ok=True)
    (folder / "settings.toml").write_bytes(data)
    try:
        s = load_settings(folder)
    except ConfigError as exc:
        exc.message("sv")
        return
    if not 0.0 <= s.margin <= 2.0 or not 50 <= s.jpeg_quality <= 100 or s.workers < 0:
        raise Finding(f"settings out of range passed: {s}")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "jpeg": check_photo_metadata,
    "png": check_photo_metadata,
    "webp": check_photo_metadata,
    "tiff": check_photo_metadata,
    "heif": check_photo_metadata,
    "mp4_boxes": check_mp4_boxes,
    "video_probe": check_video_probe,
    "upload_name": check_upload_name,
    "forms": check_forms,
    "registration_photo": check_registration_photo,
    "settings": check_settings,
}
