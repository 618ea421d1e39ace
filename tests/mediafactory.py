"""Photos made at test time: files with each kind of metadata, odd pixel formats, bad inputs.

Nothing here is stored in the repository's samples/: bad inputs would make the demo fail.
Also the exiftool oracle shared by the photo tests (`exiftool_records`, `forbidden_tags`).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

XMP = (b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
       b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
       b"xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:creator>Test Person</dc:creator>"
       b"</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>")


def pattern(width: int = 64, height: int = 48, seed: int = 1) -> np.ndarray:
    """An RGB picture that looks different under every rotation and mirroring."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    arr = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                    (xx + yy) * 255 // max(1, width + height - 2)], axis=-1).astype(np.uint8)
    arr[: height // 4, : width // 3] = (250, 20, 20)      # a red block top-left
    arr[-3:, -width // 2:] = (20, 20, 250)                # a blue bar bottom-right
    arr += rng.integers(0, 3, arr.shape, dtype=np.uint8)
    return arr


def encode(arr: np.ndarray, fmt: str, mode: str | None = None, **options) -> bytes:
    im = Image.fromarray(arr, mode) if mode else Image.fromarray(arr)
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def exif_bytes(orientation: int | None = None, gps: bool = False, camera: bool = False) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if camera:
        exif[0x010F] = "SampleCam"
        exif[0x0110] = "SC-100"
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd[1] = "N"
        ifd[2] = (59.0, 19.0, 39.0)
        ifd[3] = "E"
        ifd[4] = (18.0, 3.0, 15.0)
    return exif.tobytes()


# --------------------------------------------------------------------------- JPEG surgery

def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_segments(jpeg: bytes, *segments: bytes) -> bytes:
    """Segments placed right after SOI (before the JFIF APP0 if any: order doesn't matter)."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def jfif_with_thumbnail() -> bytes:
    thumb = bytes(2 * 2 * 3)
    return jpeg_segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x02" + thumb)


def mpf_segment() -> bytes:
    tiff = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 1) + struct.pack(
        "<HHII", 0xB001, 4, 1, 2) + struct.pack("<I", 0)
    return jpeg_segment(0xE2, b"MPF\x00" + tiff)


def with_sof_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header declaring another size (a "bomb" header)."""
    data = bytearray(jpeg)
    pos = 2
    while True:
        marker = data[pos + 1]
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", data, pos + 5, height, width)
            return bytes(data)
        pos += 2 + length


def mp4_trailer() -> bytes:
    """What a motion photo appends after the JPEG: an MP4 (ftyp + mdat)."""
    return (struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00mp42isom"
            + struct.pack(">I", 8 + 64) + b"mdat" + bytes(range(64)))


# --------------------------------------------------------------------------- PNG surgery

def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(
        ">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def insert_png_chunks(png: bytes, *chunks: bytes) -> bytes:
    """Chunks placed right after IHDR."""
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(bytes(1024))) + png_chunk(b"IEND", b""))


# --------------------------------------------------------------------------- WebP surgery

def webp_add_chunk(webp: bytes, ctype: bytes, data: bytes) -> bytes:
    chunk = ctype + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")
    body = webp[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


# --------------------------------------------------------------------------- ICC

def icc_with(extra: dict[bytes, bytes]) -> bytes:
    """The sRGB profile littleCMS makes, with extra (e.g. private, device) tags appended."""
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    count = struct.unpack_from(">I", base, 128)[0]
    tags = [struct.unpack_from(">4sII", base, 132 + 12 * i) for i in range(count)]
    table_end = 132 + 12 * (count + len(extra))
    shift = 12 * len(extra)
    body = bytearray(base[132 + 12 * count:])
    entries = [struct.pack(">4sII", sig, off + shift, size) for sig, off, size in tags]
    for sig, data in extra.items():
        body += b"\x00" * (-(table_end + len(body)) % 4)
        entries.append(struct.pack(">4sII", sig, table_end + len(body), len(data)))
        body += data
    out = bytearray(base[:128]) + struct.pack(">I", count + len(extra)) + b"".join(entries)
    out += body
    struct.pack_into(">I", out, 0, len(out))
    return bytes(out)


# --------------------------------------------------------------------------- the exiftool oracle

EXIFTOOL_ARGS = ["-j", "-a", "-u", "-G1", "-ee", "-n", "-q", "-q"]

# Groups whose every tag is harmless (file system facts, colour-profile header/conditions).
ALLOWED_GROUPS = {"System", "ICC-header", "ICC-meas", "ICC-view", "ICC-chrm"}
# Other groups: only these tags (image structure, colour).
ALLOWED_TAGS = {
    "SourceFile": None,
    "ExifTool": {"ExifToolVersion"},
    "File": {"FileType", "FileTypeExtension", "MIMEType", "ImageWidth", "ImageHeight",
             "EncodingProcess", "BitsPerSample", "ColorComponents", "YCbCrSubSampling",
             "ExifByteOrder"},
    "Composite": {"ImageSize", "Megapixels"},
    "JFIF": {"JFIFVersion", "ResolutionUnit", "XResolution", "YResolution"},
    "ICC_Profile": {"ProfileDescription", "ProfileCopyright", "MediaWhitePoint",
                    "MediaBlackPoint", "RedMatrixColumn", "GreenMatrixColumn",
                    "BlueMatrixColumn", "RedTRC", "GreenTRC", "BlueTRC", "GrayTRC",
                    "ChromaticAdaptation", "Luminance", "Technology", "AToB0", "AToB1",
                    "AToB2", "BToA0", "BToA1", "BToA2", "Gamut", "ColorimetricIntentImageState",
                    "PerceptualRenderingIntentGamut", "SaturationRenderingIntentGamut",
                    "ChromaticityChannels"},
    "PNG": {"ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression", "Filter",
            "Interlace", "ProfileName", "SRGBRendering", "Gamma"},
    "RIFF": {"VP8Version", "ImageWidth", "ImageHeight", "HorizontalScale", "VerticalScale",
             "WebP_Flags", "AlphaPreprocessing", "AlphaFiltering", "AlphaCompression"},
    "IFD0": {"ImageWidth", "ImageHeight", "BitsPerSample", "Compression",
             "PhotometricInterpretation", "StripOffsets", "SamplesPerPixel", "RowsPerStrip",
             "StripByteCounts", "PlanarConfiguration", "ExtraSamples", "XResolution",
             "YResolution", "ResolutionUnit", "Predictor", "SampleFormat", "TileWidth",
             "TileLength", "TileOffsets", "TileByteCounts", "SubfileType",
             "OldSubfileType"},
    # ISO-BMFF structure (only ever seen in HEIF/AVIF inputs: outputs are never HEIF)
    "QuickTime": {"MajorBrand", "MinorVersion", "CompatibleBrands", "HandlerType",
                  "HandlerDescription", "ImageSpatialExtent", "ImagePixelDepth",
                  "AV1ConfigurationVersion", "SeqProfile", "SeqLevelIdx0", "SeqTier0",
                  "HighBitDepth", "TwelveBit", "ChromaFormat", "ChromaSamplePosition",
                  "InitialDelaySamples", "ColorProfiles", "ColorPrimaries",
                  "TransferCharacteristics", "MatrixCoefficients", "MediaDataSize",
                  "MediaDataOffset", "MediaData"},
    "Meta": {"PrimaryItemReference"},
}


def exiftool_records(paths: list[Path]) -> dict[Path, dict]:
    """exiftool's JSON for each file (one process for all of them)."""
    exe = shutil.which("exiftool")
    if exe is None:
        raise RuntimeError("exiftool is not installed (scripts/setup --test installs it)")
    out = subprocess.run([exe, *EXIFTOOL_ARGS, *map(str, paths)], capture_output=True,
                         check=False)
    records = json.loads(out.stdout or b"[]")
    return {Path(r["SourceFile"]).resolve(): r for r in records}


def forbidden_tags(record: dict) -> list[str]:
    """Every tag exiftool found that is not on the allow-lists above."""
    bad = []
    for key, value in record.items():
        group, _, tag = key.partition(":")
        if group in ALLOWED_GROUPS:
            continue
        allowed = ALLOWED_TAGS.get(group, set())
        if allowed is None or tag in allowed:
            continue
        bad.append(f"{key}={str(value)[:40]}")
    return bad
