"""read_photo / write_photo: formats, orientation, bad input, atomic verified output.

The oracle for "no metadata left" is exiftool (independent of our own parser), run on every
output made from ../shared/data/exif_* and from the committed samples.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import mediafactory as mf
import numpy as np
import pytest
from PIL import Image, ImageOps

from blurkit import i18n
from blurkit.errors import InputError, OutputError
from blurkit.media import image as image_mod
from blurkit.media import metadata
from blurkit.media.image import DEFAULT_MAX_PIXELS, Photo, output_suffix, read_photo, write_photo
from blurkit.media.metadata import find_metadata

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
IMAGE_EXTS = {".jpg", ".jpeg", ".heic", ".heif", ".png", ".webp", ".tif", ".tiff", ".avif"}


@pytest.fixture(scope="module")
def exiftool() -> str:
    exe = shutil.which("exiftool")
    if exe is None:
        pytest.fail("exiftool is the metadata oracle and is missing: run scripts/setup --test "
                    "(Debian package libimage-exiftool-perl)")
    return exe


def put(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def roundtrip(photo: Photo, out_dir: Path, stem: str = "out") -> Path:
    dest = out_dir / f"{stem}{output_suffix(photo)}"
    write_photo(photo, photo.pixels, dest)
    return dest


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- exiftool oracle

@pytest.mark.shared_data
def test_exiftool_finds_nothing_in_outputs_of_every_shared_image(shared_data, tmp_path,
                                                                 exiftool):
    """Every decodable image under exif_* goes through read + write; exiftool must see
    nothing but image structure in the outputs. Files that cannot be decoded must raise
    a clean InputError and leave nothing behind."""
    files = sorted(p for p in shared_data.glob("exif_*/**/*")
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    out = tmp_path / "out"
    out.mkdir()
    outputs: dict[Path, Path] = {}
    refused: dict[Path, str] = {}
    for i, src in enumerate(files):
        try:
            photo = read_photo(src)
        except InputError as exc:
            refused[src] = exc.key
            continue
        assert photo.pixels.dtype == np.uint8 and photo.pixels.shape[2] == 3
        outputs[src] = roundtrip(photo, out, f"{i:03d}")
    print(f"{len(files)} shared images: {len(outputs)} written and checked by exiftool, "
          f"{len(refused)} refused: {sorted((p.name, k) for p, k in refused.items())}")
    assert len(outputs) >= 140, "too few files checked: the test would pass vacuously"
    # the only shared image that legitimately cannot be decoded is the QuickTime stub
    assert {p.name for p in refused} <= {"QuickTime.heic"}
    assert sorted(listing(out)) == sorted(p.name for p in outputs.values())

    records = mf.exiftool_records(list(outputs.values()))
    leaks = {}
    for src, dest in outputs.items():
        record = records.get(dest.resolve())
        assert record is not None, f"exiftool could not read the output of {src}"
        bad = mf.forbidden_tags(record)
        if bad:
            leaks[str(src)] = bad
    assert leaks == {}
    # and the sources did carry metadata, so the oracle can fail
    src_records = mf.exiftool_records(list(outputs))
    assert sum(1 for r in src_records.values() if mf.forbidden_tags(r)) >= 120


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir()
                                        if p.suffix.lower() in IMAGE_EXTS))
def test_samples_come_out_clean(name, tmp_path, exiftool):
    src = SAMPLES / name
    assert mf.forbidden_tags(mf.exiftool_records([src])[src.resolve()]) or name in (
        "group_photo.jpg", "no_face.jpg")
    photo = read_photo(src)
    dest = roundtrip(photo, tmp_path)
    assert find_metadata(dest) == []
    assert mf.forbidden_tags(mf.exiftool_records([dest])[dest.resolve()]) == []
    if src.suffix in (".heic",):
        assert dest.suffix == ".jpg"


def test_samples_are_small_and_described():
    import json
    manifest = json.loads((SAMPLES / "manifest.json").read_text())["files"]
    media = sorted(p.name for p in SAMPLES.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    assert media == sorted(manifest)
    readme = (SAMPLES / "README.md").read_text()
    sizes = {name: (SAMPLES / name).stat().st_size for name in media}
    for name, size in sizes.items():
        assert f"`{name}`" in readme
        assert size < 300_000, name
    assert sum(sizes.values()) < 2_000_000
    group = manifest["group_photo.jpg"]["faces"]
    assert len(group) >= 6 and min(b[3] - b[1] for b in group) <= 30


def test_sample_metadata_is_reported_and_motion_video_noted():
    photo = read_photo(SAMPLES / "portrait_exif_gps_thumbnail.jpg")
    assert any("GPS position" in p for p in photo.source_metadata)
    photo = read_photo(SAMPLES / "motion_photo.jpg")
    assert any("embedded video" in p for p in photo.source_metadata)
    assert any("motion" in n for n in photo.notes)


# --------------------------------------------------------------------------- orientation

def _stored_for(display: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores so that applying `orientation` shows `display`."""
    inverse = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1],
               4: lambda a: a[::-1], 5: lambda a: a.transpose(1, 0, 2),
               6: lambda a: np.rot90(a, 1), 7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
               8: lambda a: np.rot90(a, -1)}
    return np.ascontiguousarray(inverse[orientation](display))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "WEBP"])
def test_orientation_is_applied_exactly(tmp_path, fmt, orientation):
    display = mf.pattern(48, 32)
    stored = _stored_for(display, orientation)
    options = {"lossless": True} if fmt == "WEBP" else {}
    if fmt == "TIFF":
        options["tiffinfo"] = {0x0112: orientation}
    else:
        options["exif"] = mf.exif_bytes(orientation=orientation)
    src = put(tmp_path, f"o{orientation}.{fmt.lower()}", mf.encode(stored, fmt, **options))
    photo = read_photo(src)
    assert photo.orientation == orientation
    assert np.array_equal(photo.pixels, display)
    # Pillow's own exif_transpose agrees (an independent implementation)
    with Image.open(src) as im:
        assert np.array_equal(np.asarray(ImageOps.exif_transpose(im).convert("RGB")), display)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "AVIF"])
def test_lossy_orientation_matches_pillow(tmp_path, fmt, orientation):
    display = mf.pattern(64, 40)
    src = put(tmp_path, f"o{orientation}.{fmt.lower()}",
              mf.encode(_stored_for(display, orientation), fmt, quality=95,
                        exif=mf.exif_bytes(orientation=orientation)))
    photo = read_photo(src)
    assert photo.orientation == orientation
    with Image.open(src) as im:
        reference = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert photo.pixels.shape == reference.shape == display.shape
    assert np.abs(photo.pixels.astype(int) - reference).max() <= 1
    assert np.abs(photo.pixels.astype(int) - display).mean() < 8     # lossy, 4:2:0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_heic_orientation_is_applied_by_libheif_once(tmp_path, orientation):
    import pillow_heif
    display = mf.pattern(64, 48)
    buf = io.BytesIO()
    # pillow-heif turns the EXIF orientation into the container's rotation/mirroring
    pillow_heif.from_pillow(Image.fromarray(_stored_for(display, orientation))).save(
        buf, quality=95, exif=mf.exif_bytes(orientation=orientation))
    photo = read_photo(put(tmp_path, "o.heic", buf.getvalue()))
    assert photo.orientation == orientation
    assert photo.pixels.shape == display.shape
    assert np.abs(photo.pixels.astype(int) - display).mean() < 8


def test_alpha_follows_orientation(tmp_path):
    display = np.dstack([mf.pattern(30, 20), (np.arange(600) % 251).reshape(20, 30)
                         .astype(np.uint8)])
    src = put(tmp_path, "a.png", mf.encode(_stored_for(display, 6), "PNG",
                                           exif=mf.exif_bytes(orientation=6)))
    photo = read_photo(src)
    assert np.array_equal(photo.pixels, display[..., :3])
    assert np.array_equal(photo.alpha, display[..., 3])


@pytest.mark.shared_data
@pytest.mark.parametrize("kind", ["landscape", "portrait"])
def test_shared_orientation_files_all_show_the_same_picture(shared_data, kind):
    folder = shared_data / "exif_ianare_samples/jpg/orientation"
    upright = read_photo(folder / f"{kind}_1.jpg").pixels.astype(np.int16)
    for n in range(1, 9):
        photo = read_photo(folder / f"{kind}_{n}.jpg")
        assert photo.orientation == n
        assert photo.pixels.shape == upright.shape
        # of all eight ways to turn the stored pixels, the applied one is by far the
        # closest to the upright file (they were re-encoded separately, so not equal)
        with Image.open(folder / f"{kind}_{n}.jpg") as raw:
            stored = np.asarray(raw.convert("RGB"))
        distances = {}
        for k in range(1, 9):
            candidate = image_mod._orient(stored, k)
            if candidate.shape == upright.shape:
                distances[k] = np.abs(candidate.astype(np.int16) - upright).mean()
        ours = np.abs(photo.pixels.astype(np.int16) - upright).mean()
        others = sorted(d for k, d in distances.items() if k != n)
        assert ours == pytest.approx(distances[n], abs=0.5)
        assert ours < 20 and ours * 2 < others[0], f"{kind}_{n}: {distances}"


@pytest.mark.shared_data
def test_immich_portrait_orientation6_is_upright(shared_data):
    folder = shared_data / "exif_immich_test_assets/metadata/faces"
    rotated = read_photo(folder / "portrait-orientation-6.jpg")
    assert rotated.orientation == 6 and rotated.pixels.shape[:2] == (700, 840)
    assert rotated.grayscale                      # stored as a grayscale JPEG


# --------------------------------------------------------------------------- formats

def test_jpeg_fast_path_decodes_like_pillow(tmp_path):
    src = put(tmp_path, "p.jpg", mf.encode(mf.pattern(333, 217), "JPEG", quality=88))
    photo = read_photo(src)
    with Image.open(src) as im:
        reference = np.asarray(im.convert("RGB"))
    assert np.abs(photo.pixels.astype(int) - reference).max() <= 1
    assert photo.pixels.flags.writeable and photo.pixels.flags.c_contiguous
    assert photo.format == "JPEG" and photo.alpha is None and output_suffix(photo) == ".jpg"


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_alpha_is_kept(tmp_path, fmt, suffix):
    rgba = np.dstack([mf.pattern(40, 30), np.tile(np.arange(0, 240, 6, dtype=np.uint8),
                                                  (30, 1))])
    options = {"lossless": True} if fmt == "WEBP" else {}
    photo = read_photo(put(tmp_path, "a" + suffix, mf.encode(rgba, fmt, **options)))
    assert photo.alpha is not None and np.array_equal(photo.alpha, rgba[..., 3])
    dest = roundtrip(photo, tmp_path / "out")
    assert dest.suffix == suffix and find_metadata(dest) == []
    with Image.open(dest) as im:
        assert im.mode == "RGBA"
        back = np.asarray(im)
    assert np.array_equal(back[..., 3], rgba[..., 3])
    assert np.array_equal(back[..., :3][rgba[..., 3] > 0], rgba[..., :3][rgba[..., 3] > 0])


def test_lossless_webp_stays_lossless(tmp_path):
    arr = mf.pattern(50, 40)
    photo = read_photo(put(tmp_path, "l.webp", mf.encode(arr, "WEBP", lossless=True)))
    assert photo.lossless
    dest = roundtrip(photo, tmp_path / "out")
    assert metadata.inspect(dest.read_bytes()).lossless
    with Image.open(dest) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), arr)


def test_grayscale_in_grayscale_out(tmp_path):
    gray = mf.pattern(40, 30)[..., 1].copy()
    photo = read_photo(put(tmp_path, "g.jpg", mf.encode(gray, "JPEG", "L", quality=95)))
    assert photo.grayscale and photo.source_mode == "L" and photo.pixels.shape == (30, 40, 3)
    dest = roundtrip(photo, tmp_path / "out")
    with Image.open(dest) as im:
        assert im.mode == "L"
    # colour added by the redaction (e.g. a coloured fill) makes it an RGB output
    pixels = photo.pixels.copy()
    pixels[:5, :5] = (255, 0, 0)
    dest2 = tmp_path / "out" / "colour.jpg"
    write_photo(photo, pixels, dest2)
    with Image.open(dest2) as im:
        assert im.mode == "RGB"


def test_sixteen_bit_gray_png_is_scaled_to_8_bits(tmp_path):
    values = (np.arange(40 * 30, dtype=np.uint32).reshape(30, 40) * 54).astype(np.uint16)
    photo = read_photo(put(tmp_path, "g16.png", mf.encode(values, "PNG")))
    assert photo.bit_depth == 16 and photo.grayscale
    expected = np.round(values / 257.0).astype(np.uint8)
    assert np.abs(photo.pixels[..., 0].astype(int) - expected).max() <= 1
    assert any("16" in n for n in photo.notes)
    assert find_metadata(roundtrip(photo, tmp_path / "out")) == []


def test_sixteen_bit_rgb_png_is_read(tmp_path):
    rgb16 = (mf.pattern(20, 10).astype(np.uint16) * 257)
    raw = io.BytesIO()
    # Pillow cannot write 16-bit RGB PNGs; build one by hand
    import struct
    import zlib
    rows = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(10))
    raw.write(b"\x89PNG\r\n\x1a\n" + mf.png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20, 10, 16,
                                                                      2, 0, 0, 0))
              + mf.png_chunk(b"IDAT", zlib.compress(rows)) + mf.png_chunk(b"IEND", b""))
    photo = read_photo(put(tmp_path, "c16.png", raw.getvalue()))
    assert photo.bit_depth == 16
    assert np.abs(photo.pixels.astype(int) - mf.pattern(20, 10)).max() <= 1


def test_palette_with_transparency_becomes_rgba(tmp_path):
    im = Image.fromarray(mf.pattern(20, 20)).convert("P", palette=Image.Palette.ADAPTIVE)
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=0)
    photo = read_photo(put(tmp_path, "p.png", buf.getvalue()))
    assert photo.source_mode == "P" and photo.alpha is not None
    assert find_metadata(roundtrip(photo, tmp_path / "out")) == []


def test_bilevel_and_gray_alpha_png(tmp_path):
    bits = Image.fromarray(mf.pattern(16, 16)[..., 0] > 128)
    buf = io.BytesIO()
    bits.save(buf, "PNG")
    photo = read_photo(put(tmp_path, "b.png", buf.getvalue()))
    assert photo.grayscale and set(np.unique(photo.pixels)) <= {0, 255}
    la = np.dstack([mf.pattern(16, 16)[..., 0], np.full((16, 16), 99, np.uint8)])
    photo = read_photo(put(tmp_path, "la.png", mf.encode(la, "PNG", "LA")))
    assert photo.grayscale and np.all(photo.alpha == 99)
    dest = roundtrip(photo, tmp_path / "out")
    with Image.open(dest) as im:
        assert im.mode == "LA"


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    buf = io.BytesIO()
    Image.new("CMYK", (24, 16), (0, 255, 255, 0)).save(buf, "JPEG", quality=95)
    photo = read_photo(put(tmp_path, "c.jpg", buf.getvalue()))
    assert photo.source_mode == "CMYK" and photo.pixels.shape == (16, 24, 3)
    r, g, b = photo.pixels[8, 12]
    assert r > 200 and g < 60 and b < 60           # cyan 0, magenta+yellow full: red
    assert find_metadata(roundtrip(photo, tmp_path / "out")) == []


def test_sixteen_bit_tiff(tmp_path):
    values = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)
    photo = read_photo(put(tmp_path, "t.tif", mf.encode(values, "TIFF")))
    assert photo.bit_depth == 16 and photo.pixels.shape == (8, 8, 3)


def test_float_tiff_is_refused(tmp_path):
    src = put(tmp_path, "f.tif", mf.encode(np.ones((8, 8), np.float32), "TIFF"))
    with pytest.raises(InputError) as err:
        read_photo(src)
    assert err.value.key == "image.unsupported_pixels"


def test_heic_becomes_clean_jpeg(tmp_path):
    import pillow_heif
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(mf.pattern(64, 48))).save(
        buf, quality=90, exif=mf.exif_bytes(gps=True, camera=True), xmp=mf.XMP)
    src = put(tmp_path, "h.heic", buf.getvalue())
    photo = read_photo(src)
    assert photo.format == "HEIF" and photo.pixels.shape == (48, 64, 3)
    assert any("EXIF item" in p for p in photo.source_metadata)
    assert output_suffix(photo) == ".jpg"
    dest = roundtrip(photo, tmp_path / "out")
    assert dest.name == "out.jpg" and find_metadata(dest) == []
    assert np.abs(read_photo(dest).pixels.astype(int) - mf.pattern(64, 48)).mean() < 6


def test_heic_with_alpha_is_flattened_onto_white(tmp_path):
    import pillow_heif
    rgba = np.dstack([np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16), np.uint8)])
    rgba[:8, :, 3] = 255                            # top half opaque black, bottom clear
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(rgba, "RGBA")).save(buf, quality=100)
    photo = read_photo(put(tmp_path, "a.heic", buf.getvalue()))
    assert photo.alpha is None
    assert photo.pixels[2, 8].max() < 40 and photo.pixels[13, 8].min() > 215


def test_avif_becomes_jpeg(tmp_path):
    photo = read_photo(put(tmp_path, "a.avif", mf.encode(mf.pattern(32, 24), "AVIF",
                                                         quality=90)))
    assert photo.format == "AVIF" and output_suffix(photo) == ".jpg"
    assert find_metadata(roundtrip(photo, tmp_path / "out")) == []


def test_multi_picture_jpeg_uses_main_picture(tmp_path):
    main = mf.pattern(40, 30)
    buf = io.BytesIO()
    Image.fromarray(main).save(buf, "MPO", save_all=True, quality=95,
                               append_images=[Image.fromarray(np.zeros((30, 40, 3), np.uint8))])
    photo = read_photo(put(tmp_path, "m.jpg", buf.getvalue()))
    assert photo.format == "JPEG"
    assert np.abs(photo.pixels.astype(int) - main).mean() < 10     # not the black 2nd one
    assert any("2" in n for n in photo.notes)
    assert find_metadata(roundtrip(photo, tmp_path / "out")) == []


def test_wrong_extension_is_read_by_content(tmp_path):
    src = put(tmp_path, "holiday.png", mf.encode(mf.pattern(20, 10), "JPEG"))
    photo = read_photo(src)
    assert photo.format == "JPEG" and output_suffix(photo) == ".jpg"
    assert any(".png" in n and "JPEG" in n for n in photo.notes)
    src = put(tmp_path, "scan.jpg", mf.encode(mf.pattern(20, 10), "PNG"))
    assert read_photo(src).format == "PNG"


@pytest.mark.shared_data
def test_shared_motion_photo_and_display_profile(shared_data, tmp_path):
    motion = read_photo(shared_data / "exif_immich_test_assets/formats/motionphoto/"
                                      "samsung-one-ui-6.heic")
    assert motion.pixels.shape == (4000, 3000, 3)
    photo = read_photo(shared_data / "exif_ianare_samples/tiff/BSG1.tiff")
    assert photo.icc_profile and metadata.icc_problems(photo.icc_profile) == []
    dest = roundtrip(photo, tmp_path)
    assert find_metadata(dest) == []


# --------------------------------------------------------------------------- size limits

def test_large_real_photo_passes(tmp_path):
    arr = np.zeros((3000, 4000, 3), np.uint8)      # 12 MP
    arr[::97] = 255
    photo = read_photo(put(tmp_path, "big.jpg", mf.encode(arr, "JPEG", quality=70)))
    assert photo.pixels.shape == (3000, 4000, 3)


@pytest.mark.parametrize("size", [(4000, 3000), (8160, 6120), (16320, 12240), (12000, 3000)])
def test_phone_sizes_are_within_limits(size):
    image_mod._check_size(Path("x.jpg"), *size, DEFAULT_MAX_PIXELS)   # 12, 50, 200 MP, pano


def test_pillow_limit_is_lifted_only_while_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)   # Pillow would refuse 100x100
    src = put(tmp_path, "p.png", mf.encode(mf.pattern(100, 100), "PNG"))
    photo = read_photo(src)
    assert photo.pixels.shape == (100, 100, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_max_pixels_is_ours_to_choose(tmp_path):
    src = put(tmp_path, "p.png", mf.encode(mf.pattern(20, 20), "PNG"))
    with pytest.raises(InputError) as err:
        read_photo(src, max_pixels=399)
    assert err.value.key == "image.too_many_pixels"
    assert read_photo(src, max_pixels=400).pixels.shape == (20, 20, 3)


# --------------------------------------------------------------------------- bad input

def _animated_gif() -> bytes:
    frames = [Image.fromarray(mf.pattern(16, 16)), Image.fromarray(mf.pattern(16, 16, 2))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _two_frames(fmt: str, **options) -> bytes:
    frames = [Image.fromarray(mf.pattern(16, 16)), Image.fromarray(mf.pattern(16, 16, 2))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **options)
    return buf.getvalue()


def _jpeg() -> bytes:
    return mf.encode(mf.pattern(64, 48), "JPEG")


def _heic_declaring_huge() -> bytes:
    import pillow_heif
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(mf.pattern(64, 64))).save(buf, quality=50)
    data = bytearray(buf.getvalue())
    pos = data.find(b"ispe")
    data[pos + 8:pos + 16] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")
    return bytes(data)


BAD = {
    "empty": ("empty.jpg", lambda: b"", "image.empty"),
    "truncated-jpeg": ("cut.jpg", lambda: _jpeg()[: len(_jpeg()) // 2], "image.truncated"),
    "truncated-jpeg-no-eoi": ("cut2.jpg", lambda: _jpeg()[:-2], "image.truncated"),
    "truncated-png": ("cut.png", lambda: mf.encode(mf.pattern(64, 48), "PNG")[:-40],
                      "image.truncated"),
    "truncated-png-in-idat": ("cut2.png", lambda: mf.encode(mf.pattern(64, 48), "PNG")[:300],
                              "image.truncated"),
    "random-bytes": ("noise.jpg", lambda: np.random.default_rng(3).integers(
        0, 256, 4096, dtype=np.uint8).tobytes(), "image.not_image"),
    "text-named-jpg": ("notes.jpg", lambda: b"Meeting notes: nothing to see here.\n" * 20,
                       "image.not_image"),
    "corrupt-jpeg-header": ("corrupt.jpg", lambda: _jpeg()[:2] + b"\xff\xc0\x00\x02"
                            + _jpeg()[2:], "image.corrupt"),
    "gif": ("anim.gif", _animated_gif, "image.unsupported_format"),
    "bmp": ("pic.bmp", lambda: mf.encode(mf.pattern(8, 8), "BMP"), "image.unsupported_format"),
    "png-bomb": ("bomb.png", lambda: mf.png_declaring(100_000, 100_000),
                 "image.too_many_pixels"),
    "jpeg-bomb": ("bomb.jpg", lambda: mf.with_sof_size(_jpeg(), 60_000, 60_000),
                  "image.too_many_pixels"),
    "heic-bomb": ("bomb.heic", _heic_declaring_huge, "image.too_many_pixels"),
    "absurd-aspect": ("strip.png", lambda: mf.png_declaring(30_000, 3), "image.bad_aspect"),
    "zero-width": ("zero.png", lambda: mf.png_declaring(0, 10), "image.bad_dimensions"),
    "too-wide-for-any-photo": ("wide.png", lambda: mf.png_declaring(70_000, 1_000),
                               "image.bad_dimensions"),
    "apng": ("anim.png", lambda: _two_frames("PNG"), "image.multi_frame"),
    "animated-webp": ("anim.webp", lambda: _two_frames("WEBP", lossless=True),
                      "image.multi_frame"),
    "multipage-tiff": ("pages.tif", lambda: _two_frames("TIFF"), "image.multi_frame"),
    "heic-stub": ("stub.heic", lambda: _heic_declaring_huge()[:200], "image.truncated"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_specific_error_and_writes_nothing(tmp_path, case):
    name, build, key = BAD[case]
    src = put(tmp_path, name, build())
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError) as err:
        photo = read_photo(src)
        roundtrip(photo, out)                     # never reached
    assert err.value.key == key
    assert listing(out) == []
    for lang in ("en", "sv"):
        text = err.value.message(lang)
        assert str(src) in text and "\n" not in text


def test_bad_inputs_have_distinct_keys():
    keys = {key for _, _, key in BAD.values()}
    assert keys == {"image.empty", "image.truncated", "image.not_image", "image.corrupt",
                    "image.unsupported_format", "image.too_many_pixels", "image.bad_aspect",
                    "image.bad_dimensions", "image.multi_frame"}
    # plus image.not_found, image.is_directory, image.not_regular,
    # image.permission_denied: tested below


def test_missing_path(tmp_path):
    with pytest.raises(InputError) as err:
        read_photo(tmp_path / "gone.jpg")
    assert err.value.key == "image.not_found"
    with pytest.raises(InputError) as err:
        read_photo(tmp_path / "not-a-dir.jpg" / "x.jpg")
    assert err.value.key == "image.not_found"


def test_directory(tmp_path):
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    with pytest.raises(InputError) as err:
        read_photo(folder)
    assert err.value.key == "image.is_directory"


def test_fifo_is_not_read(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as err:
        read_photo(fifo)                           # must not block waiting for a writer
    assert err.value.key == "image.not_regular"


def test_unreadable_file(tmp_path):
    src = put(tmp_path, "secret.jpg", _jpeg())
    src.chmod(0)
    try:
        if os.access(src, os.R_OK):
            pytest.skip("running as root: chmod does not stop reading")
        with pytest.raises(InputError) as err:
            read_photo(src)
        assert err.value.key == "image.permission_denied"
    finally:
        src.chmod(0o644)


def test_permission_error_is_reported_as_such(tmp_path, monkeypatch):
    src = put(tmp_path, "secret.jpg", _jpeg())

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(image_mod.os, "open", deny)
    with pytest.raises(InputError) as err:
        read_photo(src)
    assert err.value.key == "image.permission_denied"


def test_file_vanishing_before_open_is_not_found(tmp_path, monkeypatch):
    src = put(tmp_path, "soon-gone.jpg", _jpeg())
    real_open = os.open

    def vanish(path, *args, **kwargs):
        Path(path).unlink()
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(image_mod.os, "open", vanish)
    with pytest.raises(InputError) as err:
        read_photo(src)
    assert err.value.key == "image.not_found"


def test_every_message_exists_in_both_languages():
    catalog = i18n.catalog()
    keys = [k for k in catalog if k.startswith("image.")]
    assert len(keys) > 25
    for key in keys:
        assert catalog[key]["en"] != catalog[key]["sv"]
        assert "\n" not in catalog[key]["en"] and "\n" not in catalog[key]["sv"]


# --------------------------------------------------------------------------- writing

def test_write_never_overwrites(tmp_path):
    photo = read_photo(put(tmp_path, "a.jpg", _jpeg()))
    dest = tmp_path / "out.jpg"
    dest.write_bytes(b"precious")
    with pytest.raises(OutputError) as err:
        write_photo(photo, photo.pixels, dest)
    assert err.value.key == "image.write_exists"
    assert dest.read_bytes() == b"precious"
    assert listing(tmp_path) == ["a.jpg", "out.jpg"]


def test_write_never_overwrites_even_if_the_file_appears_during_the_write(tmp_path,
                                                                          monkeypatch):
    photo = read_photo(put(tmp_path, "a.jpg", _jpeg()))
    dest = tmp_path / "out" / "race.jpg"
    real_verify = image_mod._verify

    def verify_then_race(tmp, *args):
        real_verify(tmp, *args)
        dest.write_bytes(b"someone else")

    monkeypatch.setattr(image_mod, "_verify", verify_then_race)
    with pytest.raises(OutputError) as err:
        write_photo(photo, photo.pixels, dest)
    assert err.value.key == "image.write_exists"
    assert dest.read_bytes() == b"someone else"
    assert listing(dest.parent) == ["race.jpg"]


def test_output_with_metadata_is_not_published(tmp_path, monkeypatch):
    photo = read_photo(put(tmp_path, "a.jpg", _jpeg()))
    real_encode = image_mod._encode

    def leaky_encode(im, tmp, dest, fmt, quality, icc, lossless):
        real_encode(im, tmp, dest, fmt, quality, icc, lossless)
        tmp.write_bytes(tmp.read_bytes() + mf.mp4_trailer())   # a "motion photo" leak

    monkeypatch.setattr(image_mod, "_encode", leaky_encode)
    out = tmp_path / "out"
    with pytest.raises(OutputError) as err:
        write_photo(photo, photo.pixels, out / "x.jpg")
    assert err.value.key == "image.verify_metadata"
    assert "embedded video" in err.value.message("en")
    assert listing(out) == []


def test_output_that_does_not_decode_is_not_published(tmp_path, monkeypatch):
    photo = read_photo(put(tmp_path, "a.png", mf.encode(mf.pattern(30, 20), "PNG")))
    real_encode = image_mod._encode

    def broken_encode(im, tmp, *args):
        real_encode(im, tmp, *args)
        data = bytearray(tmp.read_bytes())
        data[50:60] = bytes(10)                    # damage the compressed pixels
        tmp.write_bytes(bytes(data))

    monkeypatch.setattr(image_mod, "_encode", broken_encode)
    out = tmp_path / "out"
    with pytest.raises(OutputError) as err:
        write_photo(photo, photo.pixels, out / "x.png")
    assert err.value.key == "image.verify_decode"
    assert listing(out) == []


def test_encoder_failure_leaves_nothing(tmp_path, monkeypatch):
    photo = read_photo(put(tmp_path, "a.jpg", _jpeg()))

    def fail(self, fp, *args, **kwargs):
        fp.write(b"half an image")
        raise OSError("encoder error -2")

    monkeypatch.setattr(Image.Image, "save", fail)
    out = tmp_path / "out"
    with pytest.raises(OutputError) as err:
        write_photo(photo, photo.pixels, out / "x.jpg")
    assert err.value.key == "image.encode_failed"
    assert listing(out) == []


def test_disk_full_is_a_write_error(tmp_path, monkeypatch):
    import errno
    photo = read_photo(put(tmp_path, "a.jpg", _jpeg()))

    def full(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(OutputError) as err:
        write_photo(photo, photo.pixels, tmp_path / "out" / "x.jpg")
    assert err.value.key == "image.write_failed"
    assert listing(tmp_path / "out") == []


def test_redacted_pixels_are_what_is_written(tmp_path):
    photo = read_photo(put(tmp_path, "a.png", mf.encode(mf.pattern(30, 20), "PNG")))
    redacted = photo.pixels.copy()
    redacted[5:15, 5:15] = 0
    dest = tmp_path / "out.png"
    write_photo(photo, redacted, dest)
    with Image.open(dest) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), redacted)


def test_write_checks_its_arguments(tmp_path):
    photo = read_photo(put(tmp_path, "a.png", mf.encode(mf.pattern(30, 20), "PNG")))
    with pytest.raises(ValueError):
        write_photo(photo, photo.pixels.astype(np.float32), tmp_path / "x.png")
    with pytest.raises(ValueError):
        write_photo(photo, photo.pixels, tmp_path / "x.jpg")     # PNG content, .jpg name
    with pytest.raises(ValueError):
        write_photo(photo, photo.pixels, tmp_path / "x.png", jpeg_quality=0)
    assert listing(tmp_path) == ["a.png"]
