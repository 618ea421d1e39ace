"""find_metadata: the independent container walk that must find every kind of metadata.

It is a check that must be able to fail, so most tests here feed it files WITH metadata
(crafted at test time, the committed samples, and every file under ../shared/data/exif_*
that exiftool finds metadata in) and assert that it says so; clean encodes must give [].
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import mediafactory as mf
import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from blurkit.media import metadata
from blurkit.media.metadata import clean_icc_profile, find_metadata, icc_problems, inspect

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ARR = mf.pattern(40, 30)
RGBA = np.dstack([ARR, np.full(ARR.shape[:2], 200, np.uint8)])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- clean files

CLEAN = {
    "jpeg": lambda: mf.encode(ARR, "JPEG", quality=90),
    "jpeg-gray": lambda: mf.encode(ARR[..., 0], "JPEG", "L"),
    "jpeg-progressive": lambda: mf.encode(ARR, "JPEG", progressive=True),
    "jpeg-icc": lambda: mf.encode(ARR, "JPEG", icc_profile=mf.icc_with({})),
    "png": lambda: mf.encode(ARR, "PNG"),
    "png-rgba": lambda: mf.encode(RGBA, "PNG"),
    "webp-lossy": lambda: mf.encode(ARR, "WEBP", quality=80),
    "webp-lossless": lambda: mf.encode(ARR, "WEBP", lossless=True),
    "webp-alpha": lambda: mf.encode(RGBA, "WEBP"),
    "webp-icc": lambda: mf.encode(ARR, "WEBP", icc_profile=mf.icc_with({})),
    "tiff": lambda: mf.encode(ARR, "TIFF"),
    "tiff-deflate": lambda: mf.encode(RGBA, "TIFF", compression="tiff_adobe_deflate"),
    "tiff-lzw": lambda: mf.encode(ARR, "TIFF", compression="tiff_lzw"),
}


@pytest.mark.parametrize("kind", sorted(CLEAN))
def test_fresh_encodes_are_clean(tmp_path, kind):
    path = write(tmp_path, f"clean-{kind}", CLEAN[kind]())
    assert find_metadata(path) == []


def test_structure_reports_declared_size_and_format():
    s = inspect(mf.encode(mf.pattern(37, 21), "PNG"))
    assert (s.format, s.width, s.height, s.truncated) == ("PNG", 37, 21, False)
    s = inspect(mf.encode(mf.pattern(37, 21), "JPEG"))
    assert (s.format, s.width, s.height, s.components) == ("JPEG", 37, 21, 3)
    s = inspect(mf.encode(mf.pattern(37, 21), "WEBP", lossless=True))
    assert (s.format, s.width, s.height, s.lossless) == ("WEBP", 37, 21, True)
    s = inspect(mf.encode(mf.pattern(37, 21), "TIFF"))
    assert (s.format, s.width, s.height) == ("TIFF", 37, 21)
    s = inspect(mf.png_declaring(100_000, 100_000))
    assert (s.width, s.height) == (100_000, 100_000)


# --------------------------------------------------------------------------- each kind of metadata

def _jpeg() -> bytes:
    return mf.encode(ARR, "JPEG", quality=90)


def _png() -> bytes:
    return mf.encode(ARR, "PNG")


def _tiff(**options) -> bytes:
    return mf.encode(ARR, "TIFF", **options)


def _tiff_tag(tag: int, value) -> bytes:
    info = {tag: value}
    return mf.encode(ARR, "TIFF", tiffinfo=info)


def _apng() -> bytes:
    frames = [Image.fromarray(ARR), Image.fromarray(ARR[::-1].copy())]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _animated_webp() -> bytes:
    frames = [Image.fromarray(ARR), Image.fromarray(ARR[::-1].copy())]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    return buf.getvalue()


def _multipage_tiff() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(ARR).save(buf, "TIFF", save_all=True,
                              append_images=[Image.fromarray(ARR[:8, :8].copy())])
    return buf.getvalue()


def _mpo() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(ARR).save(buf, "MPO", save_all=True,
                              append_images=[Image.fromarray(ARR[::-1].copy())])
    return buf.getvalue()


def _heif(**options) -> bytes:
    import pillow_heif
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(mf.pattern(64, 64))).save(buf, quality=50,
                                                                       **options)
    return buf.getvalue()


def _png_itxt() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", mf.XMP.decode())
    buf = io.BytesIO()
    Image.fromarray(ARR).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


MMOD = {b"mmod": b"\x00" * 40}

CASES = {
    # JPEG
    "jpeg-exif-gps": (lambda: mf.encode(ARR, "JPEG", exif=mf.exif_bytes(gps=True)),
                      "GPS position"),
    "jpeg-exif-camera": (lambda: mf.encode(ARR, "JPEG", exif=mf.exif_bytes(camera=True)),
                         "camera make/model"),
    "jpeg-exif-orientation-only": (lambda: mf.encode(ARR, "JPEG",
                                                     exif=mf.exif_bytes(orientation=6)),
                                   "EXIF"),
    "jpeg-xmp": (lambda: mf.insert_segments(_jpeg(), mf.jpeg_segment(
        0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + mf.XMP)), "XMP"),
    "jpeg-extended-xmp": (lambda: mf.insert_segments(_jpeg(), mf.jpeg_segment(
        0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 40 + mf.XMP)),
        "extended XMP"),
    "jpeg-iptc": (lambda: mf.insert_segments(_jpeg(), mf.jpeg_segment(
        0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x05\x1c\x02\x50\x00\x01X")),
        "Photoshop/IPTC"),
    "jpeg-comment": (lambda: mf.encode(ARR, "JPEG", comment=b"Taken by Test Person"),
                     "comment"),
    "jpeg-mpf": (lambda: mf.insert_segments(_jpeg(), mf.mpf_segment()), "MPF"),
    "jpeg-mpo-second-image": (_mpo, "after the end of the image"),
    "jpeg-jfif-thumbnail": (lambda: mf.insert_segments(_jpeg(), mf.jfif_with_thumbnail()),
                            "JFIF thumbnail"),
    "jpeg-jfxx": (lambda: mf.insert_segments(_jpeg(), mf.jpeg_segment(
        0xE0, b"JFXX\x00\x10" + bytes(20))), "JFXX"),
    "jpeg-maker-app": (lambda: mf.insert_segments(_jpeg(), mf.jpeg_segment(
        0xE6, b"GoPro\x00" + bytes(30))), "APP6"),
    "jpeg-adobe-app14": (lambda: mf.insert_segments(_jpeg(), mf.jpeg_segment(
        0xEE, b"Adobe\x00d\x00\x00\x00\x00\x01")), "APP14"),
    "jpeg-motion-photo": (lambda: _jpeg() + mf.mp4_trailer(), "embedded video"),
    "jpeg-trailing-zeros": (lambda: _jpeg() + bytes(100), "after the end of the image"),
    "jpeg-icc-device-tags": (lambda: mf.encode(ARR, "JPEG", icc_profile=mf.icc_with(MMOD)),
                             "display make, model and serial"),
    "jpeg-truncated": (lambda: _jpeg()[:-200], "truncated"),
    "jpeg-no-eoi": (lambda: _jpeg()[:-2], "truncated"),
    # PNG
    "png-text": (lambda: mf.insert_png_chunks(_png(), mf.png_chunk(
        b"tEXt", b"Author\x00Test Person")), "tEXt 'Author'"),
    "png-ztxt": (lambda: mf.insert_png_chunks(_png(), mf.png_chunk(
        b"zTXt", b"Comment\x00\x00" + __import__("zlib").compress(b"hello"))), "zTXt"),
    "png-itxt-xmp": (_png_itxt, "iTXt 'XML:com.adobe.xmp'"),
    "png-exif": (lambda: mf.encode(ARR, "PNG", exif=mf.exif_bytes(gps=True)),
                 "EXIF (PNG eXIf chunk"),
    "png-time": (lambda: mf.insert_png_chunks(_png(), mf.png_chunk(
        b"tIME", bytes([7, 232, 5, 17, 10, 30, 0]))), "tIME"),
    "png-private-chunk": (lambda: mf.insert_png_chunks(_png(), mf.png_chunk(
        b"prVt", b"secret")), "unknown chunk 'prVt'"),
    "png-apng": (_apng, "APNG"),
    "png-trailing": (lambda: _png() + mf.mp4_trailer(), "after the end of the image"),
    "png-icc-device-tags": (lambda: mf.encode(ARR, "PNG", icc_profile=mf.icc_with(MMOD)),
                            "display make, model and serial"),
    "png-truncated": (lambda: _png()[:-30], "truncated"),
    # WebP
    "webp-exif": (lambda: mf.encode(ARR, "WEBP", exif=mf.exif_bytes(gps=True)),
                  "GPS position"),
    "webp-xmp": (lambda: mf.encode(ARR, "WEBP", xmp=mf.XMP), "XMP (WebP chunk"),
    "webp-unknown-chunk": (lambda: mf.webp_add_chunk(mf.encode(ARR, "WEBP"), b"ABCD",
                                                     b"hidden"), "unknown WebP chunk"),
    "webp-trailing": (lambda: mf.encode(ARR, "WEBP") + b"trailing", "after the end"),
    "webp-animation": (_animated_webp, "animation"),
    "webp-truncated": (lambda: mf.encode(ARR, "WEBP")[:-20], "truncated"),
    # TIFF
    "tiff-make": (lambda: _tiff_tag(271, "SampleCam"), "Make"),
    "tiff-model": (lambda: _tiff_tag(272, "SC-100"), "Model"),
    "tiff-software": (lambda: _tiff_tag(305, "SampleCam 1.0"), "Software"),
    "tiff-datetime": (lambda: _tiff_tag(306, "2024:05:17 10:30:00"), "DateTime"),
    "tiff-artist": (lambda: _tiff_tag(315, "Test Person"), "Artist"),
    "tiff-description": (lambda: _tiff_tag(270, "A participant"), "ImageDescription"),
    "tiff-xmp": (lambda: _tiff_tag(700, mf.XMP), "XMP"),
    "tiff-exif-gps": (lambda: _tiff(exif=mf.exif_bytes(gps=True)), "GPS IFD"),
    "tiff-second-page": (_multipage_tiff, "IFD1"),
    "tiff-hidden-bytes": (lambda: _tiff() + b"x" * 64, "hidden data"),
    "tiff-icc-device-tags": (lambda: _tiff(icc_profile=mf.icc_with(MMOD)),
                             "display make, model and serial"),
    "tiff-truncated": (lambda: _tiff()[:-100], "truncated"),
    # HEIF
    "heif-exif": (lambda: _heif(exif=mf.exif_bytes(gps=True)), "EXIF item"),
    "heif-xmp": (lambda: _heif(xmp=mf.XMP), "XMP metadata item"),
    # not a clean image at all
    "unknown-bytes": (lambda: bytes(range(256)) * 4, "unrecognised file format"),
    "text-file": (lambda: b"hello, this is not an image\n" * 10, "unrecognised file format"),
    "gif": (lambda: mf.encode(ARR, "GIF"), "GIF file"),
    "bmp": (lambda: mf.encode(ARR, "BMP"), "BMP file"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_of_metadata_is_found(tmp_path, kind):
    build, expected = CASES[kind]
    path = write(tmp_path, f"case-{kind}", build())
    problems = find_metadata(path)
    assert problems, f"{kind}: nothing found"
    assert any(expected in p for p in problems), f"{kind}: {problems}"


def test_empty_file_is_not_clean(tmp_path):
    assert find_metadata(write(tmp_path, "empty.jpg", b"")) == ["empty file"]


def test_damaged_structures_never_report_clean(tmp_path):
    jpeg = bytearray(_jpeg())
    jpeg[2:4] = b"\xff\x02"                      # a reserved marker where a segment starts
    assert find_metadata(write(tmp_path, "bad.jpg", bytes(jpeg)))
    png = bytearray(_png())
    png[12:16] = b"XXXX"                         # first chunk is not IHDR
    assert find_metadata(write(tmp_path, "bad.png", bytes(png)))
    tiff = bytearray(_tiff())
    tiff[2:4] = b"\x00\x00"                      # bad magic number
    assert find_metadata(write(tmp_path, "bad.tif", bytes(tiff)))


def test_loops_and_absurd_counts_do_not_hang():
    # a TIFF whose IFD points to itself, and one claiming 60000 entries
    loop = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 0) + struct.pack("<I", 8)
    assert inspect(loop).broken
    many = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 60000) + bytes(20)
    assert inspect(many).broken or inspect(many).truncated


@pytest.mark.parametrize("name", ["portrait_exif_gps_thumbnail.jpg", "portrait_orientation6.jpg",
                                  "portrait_text_chunks.png", "portrait_exif_xmp.webp",
                                  "portrait_tags.tif", "portrait_gps.heic", "motion_photo.jpg"])
def test_committed_samples_with_metadata_are_flagged(name):
    problems = find_metadata(SAMPLES / name)
    assert problems
    if name == "portrait_exif_gps_thumbnail.jpg":
        text = " ".join(problems)
        for kind in ("GPS position", "embedded thumbnail image", "serial number",
                     "owner name", "XMP", "Photoshop/IPTC", "comment"):
            assert kind in text, kind
    if name == "motion_photo.jpg":
        assert any("embedded video" in p for p in problems)


# --------------------------------------------------------------------------- ICC profiles

def test_icc_profile_is_cut_down_to_colour_tags():
    icc = mf.icc_with({b"mmod": b"\x01" * 40, b"vcgt": b"vcgt" + bytes(30),
                       b"dmdd": b"desc" + bytes(30), b"zzzz": b"private"})
    found = " ".join(icc_problems(icc))
    for name in ("mmod", "vcgt", "dmdd", "'zzzz'"):
        assert name in found
    clean = clean_icc_profile(icc)
    assert clean is not None and icc_problems(clean) == []
    assert clean[84:100] == bytes(16)            # profile ID zeroed: content changed
    assert struct.unpack_from(">I", clean, 0)[0] == len(clean)
    # littleCMS still reads it, and it converts colours exactly as the original does
    original = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    cleaned = ImageCms.ImageCmsProfile(io.BytesIO(clean))
    lab = ImageCms.createProfile("LAB")
    img = Image.fromarray(mf.pattern(16, 16))
    a = ImageCms.profileToProfile(img, original, lab, outputMode="LAB")
    b = ImageCms.profileToProfile(img, cleaned, lab, outputMode="LAB")
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_damaged_icc_profile_is_dropped():
    assert clean_icc_profile(b"not a profile" * 20) is None
    assert clean_icc_profile(None) is None
    icc = bytearray(mf.icc_with({}))
    struct.pack_into(">I", icc, 132 + 4, 10_000_000)    # first tag points outside
    assert clean_icc_profile(bytes(icc)) is None
    assert icc_problems(bytes(icc)) == ["damaged ICC profile"]


# --------------------------------------------------------------------------- shared data

IMAGE_EXTS = {".jpg", ".jpeg", ".heic", ".heif", ".png", ".webp", ".tif", ".tiff", ".avif"}


def shared_images(shared: Path) -> list[Path]:
    return sorted(p for p in shared.glob("exif_*/**/*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


@pytest.mark.shared_data
def test_find_metadata_flags_every_source_exiftool_finds_metadata_in(shared_data):
    """Two independent readers must agree: whatever exiftool calls metadata, we flag too."""
    files = shared_images(shared_data)
    records = mf.exiftool_records(files)
    with_metadata = 0
    missed = []
    for path in files:
        forbidden = mf.forbidden_tags(records.get(path.resolve(), {}))
        if not forbidden:
            continue
        with_metadata += 1
        if not find_metadata(path):
            missed.append(f"{path}: exiftool sees {forbidden[:5]}")
    print(f"{with_metadata} of {len(files)} shared source files carry metadata per exiftool")
    assert with_metadata >= 120, "the oracle found too few files with metadata: vacuous"
    assert missed == []


@pytest.mark.shared_data
def test_find_metadata_names_gps_thumbnails_and_motion_video(shared_data):
    apple = " ".join(find_metadata(shared_data / "exif_exiftool_testimages/Apple.jpg"))
    assert "GPS position" in apple and "embedded thumbnail image" in apple
    motion = find_metadata(shared_data / "exif_immich_test_assets/formats/motionphoto/"
                                         "samsung-one-ui-6.heic")
    assert any("mpvd" in p for p in motion)
    iphone = " ".join(find_metadata(shared_data / "exif_ianare_samples/heic/mobile/"
                                                  "iphone_13_pro_max.HEIC"))
    assert "thumbnail image" in iphone and "EXIF item" in iphone
    display_icc = " ".join(find_metadata(shared_data / "exif_ianare_samples/tiff/BSG1.tiff"))
    assert "mmod" in display_icc


def test_sniff_names_formats_by_content():
    assert metadata.sniff(_jpeg()) == "JPEG"
    assert metadata.sniff(_png()) == "PNG"
    assert metadata.sniff(mf.encode(ARR, "WEBP")) == "WEBP"
    assert metadata.sniff(_tiff()) == "TIFF"
    assert metadata.sniff(_heif()) == "HEIF"
    assert metadata.sniff(mf.encode(ARR, "GIF")) == "GIF"
    assert metadata.sniff(b"random") is None
