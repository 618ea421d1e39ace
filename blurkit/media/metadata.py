"""Find every trace of metadata in an image file, by walking its container format.

This is the independent check that stands between an output and publication: it does not
use Pillow or any other decoder, it walks the file's own structure (JPEG segments, PNG
chunks, RIFF/WebP chunks, TIFF directories, ISO-BMFF/HEIF boxes) and names everything that
is not needed to show the picture:

- JPEG: any APPn segment other than a plain JFIF APP0 (without thumbnail) and ICC APP2
  (so EXIF, XMP, extended XMP, Photoshop/IPTC, MPF multi-picture, maker-specific segments),
  COM comments, and ANY byte after the end-of-image marker (motion photos append a video,
  multi-picture files append preview or depth images there).
- PNG: tEXt/zTXt/iTXt, eXIf, tIME, APNG animation and any chunk not on a short list of
  colour and structure chunks; bytes after IEND.
- WebP: EXIF and XMP chunks (and the VP8X flags announcing them), animation, unknown chunks,
  bytes after the RIFF container.
- TIFF: every tag beyond the image structure (Make, Model, DateTime, Software, Artist,
  ImageDescription, XMP, IPTC, Photoshop, EXIF/GPS/Interop IFD pointers, SubIFDs,
  thumbnails, ...), further IFDs (thumbnails, pages) and bytes no tag refers to.
- HEIF/AVIF: Exif and XMP/MIME items, thumbnails, auxiliary images (depth, HDR maps),
  additional images, video tracks (`moov`), Samsung motion-photo video (`mpvd`), vendor
  (`uuid`) and unknown boxes.

`find_metadata(path)` returns these findings as short English descriptions (technical
detail for reports and error messages); an empty list means clean. A file whose format is
not recognised, or whose structure is broken or cut short, is never reported clean.

`inspect(data)` returns the same walk as a `Structure`, which also carries what a reader
needs before decoding: the declared size (to refuse decompression bombs before any pixel
is decoded), the EXIF orientation, a JPEG's ICC profile, frame counts and whether the file
ends early.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Structure", "clean_icc_profile", "find_metadata", "icc_problems", "inspect",
           "sniff"]


@dataclass
class Structure:
    """What the walk of one file found."""

    format: str | None = None          # JPEG PNG WEBP TIFF HEIF AVIF, another name, or None
    supported: bool = False            # one of the formats blurkit reads
    width: int | None = None           # declared size of the main image (before orientation)
    height: int | None = None
    problems: list[str] = field(default_factory=list)   # metadata and hidden data found
    truncated: bool = False            # the file ends before the image does
    broken: str | None = None          # the structure is damaged (reason)
    damaged: str | None = None         # the structure holds, but the image data is damaged
    orientation: int | None = None     # EXIF orientation tag of the main image, if any
    icc_profile: bytes | None = None   # JPEG only: the ICC profile reassembled from APP2
    components: int | None = None      # JPEG only: colour components in the frame header
    lossless: bool | None = None       # WebP only: VP8L (lossless) bitstream
    bit_depth: int | None = None       # bits per sample (JPEG, PNG, TIFF)
    frames: int = 1                    # images/frames/pages the container declares
    trailing: int = 0                  # bytes after the end of the image

    def findings(self) -> list[str]:
        """Problems, plus the reasons the file cannot be shown clean."""
        out = list(self.problems)
        if self.format is None:
            out.append("unrecognised file format: cannot show that it carries no metadata")
        elif not self.supported:
            out.append(f"{self.format} file: not a format blurkit checks")
        if self.truncated:
            out.append("the file ends before the image does (truncated)")
        if self.broken:
            out.append(f"damaged structure: {self.broken}")
        if self.damaged:
            out.append(f"damaged image data: {self.damaged}")
        return out


def find_metadata(path: Path) -> list[str]:
    """Every piece of metadata or hidden data in the image file at `path`; [] means clean."""
    data = Path(path).read_bytes()
    if not data:
        return ["empty file"]
    return inspect(data).findings()


def sniff(data: bytes) -> str | None:
    """The format named by the file's first bytes (its content, not its name)."""
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        return _ftyp_format(data)
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF":
        return {b"AVI ": "AVI video", b"WAVE": "WAV audio"}.get(head[8:12], "RIFF")
    return None


_OTHER_MAGIC = (
    (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"), (b"%PDF", "PDF"), (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"), (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"), (b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (b"OggS", "Ogg"), (b"%!PS", "PostScript"), (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"qoif", "QOI"), (b"DDS ", "DDS"),
)

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
                b"mif1", b"msf1", b"mif2", b"MiHE", b"MiHB", b"MiHA"}
_AVIF_BRANDS = {b"avif", b"avis"}


def _ftyp_format(data: bytes) -> str:
    if len(data) < 16:
        return "ISO-BMFF"
    size = struct.unpack(">I", data[:4])[0]
    end = min(max(size, 16), len(data), 4096)
    brands = {bytes(data[8:12])} | {bytes(data[p:p + 4]) for p in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    return "MP4/QuickTime video"


def inspect(data: bytes) -> Structure:
    """Walk the container of `data` (the whole file) and describe it."""
    s = Structure()
    s.format = sniff(data)
    walker = _WALKERS.get(s.format or "")
    if walker is None:
        return s
    s.supported = True
    try:
        walker(data, s)
    except _Truncated:
        s.truncated = True
    except (_Broken, struct.error, IndexError, ValueError, OverflowError) as exc:
        s.broken = str(exc) or type(exc).__name__
    return s


class _Truncated(Exception):
    pass


class _Broken(Exception):
    pass


def _kb(n: int) -> str:
    if n == 1:
        return "1 byte"
    return f"{n} bytes" if n < 10_000 else f"{n // 1024} kB"


# --------------------------------------------------------------------------- TIFF / EXIF

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8, 17: 8, 18: 8}

# Tags a TIFF needs to hold a picture; everything else is reported.
_TIFF_STRUCTURE = {
    254: "NewSubfileType", 255: "SubfileType", 256: "ImageWidth", 257: "ImageLength",
    258: "BitsPerSample", 259: "Compression", 262: "PhotometricInterpretation",
    263: "Threshholding", 266: "FillOrder", 273: "StripOffsets", 277: "SamplesPerPixel",
    278: "RowsPerStrip", 279: "StripByteCounts", 280: "MinSampleValue",
    281: "MaxSampleValue", 282: "XResolution", 283: "YResolution",
    284: "PlanarConfiguration", 296: "ResolutionUnit", 301: "TransferFunction",
    317: "Predictor", 318: "WhitePoint", 319: "PrimaryChromaticities", 320: "ColorMap",
    322: "TileWidth", 323: "TileLength", 324: "TileOffsets", 325: "TileByteCounts",
    338: "ExtraSamples", 339: "SampleFormat", 340: "SMinSampleValue",
    341: "SMaxSampleValue", 347: "JPEGTables", 529: "YCbCrCoefficients",
    530: "YCbCrSubSampling", 531: "YCbCrPositioning", 532: "ReferenceBlackWhite",
    34675: "ICCProfile",
}

_TAG_NAMES = {
    269: "DocumentName", 270: "ImageDescription", 271: "Make (camera maker)",
    272: "Model (camera model)", 274: "Orientation", 285: "PageName", 286: "XPosition",
    287: "YPosition", 297: "PageNumber", 305: "Software", 306: "DateTime", 315: "Artist",
    316: "HostComputer", 330: "SubIFDs (further images)", 513: "JPEG thumbnail offset",
    514: "JPEG thumbnail length", 700: "XMP", 18246: "Rating", 18249: "RatingPercent",
    32781: "ImageID", 33421: "CFARepeatPatternDim", 33432: "Copyright", 33434: "ExposureTime",
    33437: "FNumber", 33723: "IPTC-NAA", 34377: "Photoshop (IPTC)",
    34665: "EXIF IFD pointer", 34853: "GPS IFD pointer (location)", 37393: "ImageNumber",
    37500: "MakerNote", 40091: "XPTitle", 40092: "XPComment", 40093: "XPAuthor",
    40094: "XPKeywords", 40095: "XPSubject", 40965: "Interoperability IFD pointer",
    42016: "ImageUniqueID", 42032: "CameraOwnerName", 42033: "BodySerialNumber",
    42037: "LensSerialNumber", 50341: "PrintImageMatching", 50706: "DNGVersion",
    50708: "UniqueCameraModel", 50735: "CameraSerialNumber", 59932: "Padding",
}


class _Tiff:
    """Minimal reader of a TIFF structure (classic or BigTIFF) inside `buf`."""

    def __init__(self, buf: bytes, start: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.start = start
        self.end = len(buf) if end is None else end
        order = bytes(buf[start:start + 2])
        if order == b"II":
            self.e = "<"
        elif order == b"MM":
            self.e = ">"
        else:
            raise _Broken("not a TIFF structure (byte order mark missing)")
        magic = self.u16(start + 2)
        if magic == 42:
            self.big = False
            self.first = self.u32(start + 4)
        elif magic == 43:
            self.big = True
            if self.u16(start + 4) != 8:
                raise _Broken("BigTIFF with unexpected offset size")
            self.first = self.u64(start + 8)
        else:
            raise _Broken(f"bad TIFF magic number {magic}")

    def _need(self, pos: int, n: int) -> None:
        if pos < self.start or pos + n > self.end:
            raise _Truncated()

    def u16(self, pos: int) -> int:
        self._need(pos, 2)
        return struct.unpack_from(self.e + "H", self.buf, pos)[0]

    def u32(self, pos: int) -> int:
        self._need(pos, 4)
        return struct.unpack_from(self.e + "I", self.buf, pos)[0]

    def u64(self, pos: int) -> int:
        self._need(pos, 8)
        return struct.unpack_from(self.e + "Q", self.buf, pos)[0]

    def ifd(self, rel: int) -> tuple[dict[int, tuple[int, int, int]], int, tuple[int, int]]:
        """Entries {tag: (type, count, absolute value position)}, next IFD offset, extent."""
        pos = self.start + rel
        count = self.u64(pos) if self.big else self.u16(pos)
        if count > 4096:
            raise _Broken(f"TIFF directory with {count} entries")
        esize, head, inline = (20, 8, 8) if self.big else (12, 2, 4)
        entries: dict[int, tuple[int, int, int]] = {}
        p = pos + head
        self._need(p, count * esize + (8 if self.big else 4))
        for _ in range(count):
            tag = self.u16(p)
            typ = self.u16(p + 2)
            n = self.u64(p + 4) if self.big else self.u32(p + 4)
            size = _TYPE_SIZES.get(typ, 1) * n
            if size <= inline:
                vpos = p + (12 if self.big else 8)
            else:
                vpos = self.start + (self.u64(p + 12) if self.big else self.u32(p + 8))
            entries.setdefault(tag, (typ, n, vpos))
            p += esize
        nxt = self.u64(p) if self.big else self.u32(p)
        end = p + (8 if self.big else 4)
        return entries, nxt, (pos, end)

    def ints(self, entry: tuple[int, int, int], limit: int = 1 << 20) -> list[int]:
        typ, n, vpos = entry
        fmt = {1: "B", 3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q", 6: "b", 8: "h", 9: "i",
               17: "q", 7: "B"}.get(typ)
        if fmt is None or n > limit:
            raise _Broken(f"unexpected TIFF value type {typ} x {n}")
        size = struct.calcsize(fmt) * n
        self._need(vpos, size)
        return list(struct.unpack_from(f"{self.e}{n}{fmt}", self.buf, vpos))

    def first_int(self, entries: dict, tag: int) -> int | None:
        entry = entries.get(tag)
        if entry is None or entry[1] < 1:
            return None
        try:
            return self.ints((entry[0], 1, entry[2]))[0]
        except (_Broken, _Truncated):
            return None

    def value_extent(self, entry: tuple[int, int, int]) -> tuple[int, int]:
        typ, n, vpos = entry
        return vpos, vpos + _TYPE_SIZES.get(typ, 1) * n


def _describe_exif(blob: bytes) -> tuple[list[str], int | None]:
    """What an EXIF block (a TIFF structure) reveals, and its orientation tag."""
    kinds: list[str] = []
    orientation = None
    try:
        t = _Tiff(blob)
        ifd0, nxt, _ = t.ifd(t.first)
        orientation = t.first_int(ifd0, 274)
        if 34853 in ifd0:
            kinds.append("GPS position")
        if 271 in ifd0 or 272 in ifd0:
            kinds.append("camera make/model")
        if 306 in ifd0:
            kinds.append("date")
        if 315 in ifd0 or 33432 in ifd0:
            kinds.append("artist/copyright")
        if 305 in ifd0:
            kinds.append("software")
        if 270 in ifd0:
            kinds.append("image description")
        exif_ptr = t.first_int(ifd0, 34665)
        if exif_ptr:
            try:
                exif, _, _ = t.ifd(exif_ptr)
                if 36867 in exif or 36868 in exif:
                    kinds.append("date taken")
                if 37500 in exif:
                    kinds.append("maker notes")
                if {42033, 42037, 42016} & exif.keys():
                    kinds.append("serial number/unique ID")
                if 42032 in exif:
                    kinds.append("owner name")
                if 37510 in exif:
                    kinds.append("user comment")
            except (_Broken, _Truncated):
                kinds.append("damaged EXIF IFD")
        if nxt:
            try:
                ifd1, _, _ = t.ifd(nxt)
                if 513 in ifd1 or 273 in ifd1:
                    kinds.append("embedded thumbnail image")
            except (_Broken, _Truncated):
                kinds.append("damaged IFD1")
    except (_Broken, _Truncated, struct.error):
        kinds.append("unreadable")
    return kinds, orientation


def exif_orientation(blob: bytes | None) -> int | None:
    """The orientation tag of an EXIF block (with or without its "Exif\\0\\0" prefix)."""
    if not blob:
        return None
    body = blob[6:] if blob[:6] == b"Exif\x00\x00" else blob
    return _describe_exif(body)[1]


def _exif_problem(where: str, blob: bytes) -> tuple[str, int | None]:
    body = blob[6:] if blob[:6] == b"Exif\x00\x00" else blob
    kinds, orientation = _describe_exif(body)
    detail = f": {', '.join(kinds)}" if kinds else ""
    return f"EXIF ({where}, {_kb(len(blob))}){detail}", orientation


def _walk_tiff(d: bytes, s: Structure) -> None:
    t = _Tiff(d)
    covered: list[tuple[int, int]] = [(0, 16 if t.big else 8)]
    seen: set[int] = set()
    rel = t.first
    index = 0
    while rel:
        if rel in seen or index >= 256:
            raise _Broken("TIFF directory chain loops")
        seen.add(rel)
        entries, nxt, extent = t.ifd(rel)
        covered.append(extent)
        if index == 0:
            width, height = t.first_int(entries, 256), t.first_int(entries, 257)
            if (width is not None and width < 1) or (height is not None and height < 1):
                # a signed type lets a hostile file declare a negative size (found by fuzzing)
                raise _Broken(f"TIFF declares the size {width}x{height}")
            s.width, s.height = width, height
            s.orientation = t.first_int(entries, 274)
            s.bit_depth = t.first_int(entries, 258)
            if 34675 in entries:
                start, end = t.value_extent(entries[34675])
                if end > len(d):
                    raise _Truncated()
                _check_icc(d[start:end], "TIFF ICC tag", s)
            for tag, entry in sorted(entries.items()):
                if tag not in _TIFF_STRUCTURE:
                    name = _TAG_NAMES.get(tag, f"tag {tag}")
                    s.problems.append(f"TIFF tag {name}")
        else:
            s.problems.append(f"additional image directory IFD{index} (thumbnail or page)")
        for tag, entry in entries.items():
            start, end = t.value_extent(entry)
            if end - start > (8 if t.big else 4):
                if end > len(d):
                    raise _Truncated()
                covered.append((start, end))
        for off_tag, cnt_tag in ((273, 279), (324, 325), (513, 514)):
            if off_tag in entries and cnt_tag in entries:
                offsets = t.ints(entries[off_tag])
                counts = t.ints(entries[cnt_tag])
                for o, c in zip(offsets, counts):
                    if o + c > len(d):
                        raise _Truncated()
                    covered.append((o, o + c))
        rel = nxt
        index += 1
    s.frames = index
    covered.sort()
    slack = 7 if t.big else 3          # word alignment pads values by a few bytes
    hidden = 0
    reach = 0
    for a, b in covered:
        if a - reach > slack:
            hidden += a - reach
        reach = max(reach, b)
    if len(d) - reach > slack:
        hidden += len(d) - reach
    if hidden:
        s.problems.append(f"{_kb(hidden)} not referenced by the image structure (hidden data)")


# --------------------------------------------------------------------------- ICC profiles

# Tags needed to convert colours. Everything else is left out of outputs: display
# make/model/serial (Apple 'mmod'), native display info, calibration curves and dates,
# device descriptions, metadata dictionaries, profile sequences with device descriptions.
_ICC_KEEP = {b"desc", b"cprt", b"wtpt", b"bkpt", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC",
             b"gTRC", b"bTRC", b"kTRC", b"chad", b"chrm", b"lumi", b"meas", b"view",
             b"tech", b"gamt", b"cicp", b"rig0", b"rig2", b"ciis",
             b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2",
             b"D2B0", b"D2B1", b"D2B2", b"D2B3", b"B2D0", b"B2D1", b"B2D2", b"B2D3"}
_ICC_NAMES = {b"mmod": "display make, model and serial number (mmod)",
              b"ndin": "native display information (ndin)",
              b"vcgt": "display calibration curves (vcgt)",
              b"dmnd": "device maker description (dmnd)",
              b"dmdd": "device model description (dmdd)",
              b"calt": "calibration date (calt)", b"targ": "characterization target (targ)",
              b"meta": "metadata dictionary (meta)",
              b"pseq": "profile sequence with device descriptions (pseq)",
              b"vued": "viewing conditions description (vued)"}
_ICC_MAX_TAGS = 200


def _icc_tags(icc: bytes) -> list[tuple[bytes, int, int]]:
    """The tag table of an ICC profile: (signature, offset, size); raises _Broken."""
    if len(icc) < 132 or icc[36:40] != b"acsp":
        raise _Broken("not an ICC profile")
    declared = struct.unpack_from(">I", icc, 0)[0]
    count = struct.unpack_from(">I", icc, 128)[0]
    if declared > len(icc) or count > _ICC_MAX_TAGS or 132 + 12 * count > len(icc):
        raise _Broken("damaged ICC profile header")
    tags = []
    for i in range(count):
        sig, off, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if off < 132 + 12 * count or off + size > declared:
            raise _Broken(f"ICC tag {sig!r} outside the profile")
        tags.append((sig, off, size))
    return tags


def icc_problems(icc: bytes) -> list[str]:
    """What an embedded ICC profile carries beyond colour conversion."""
    try:
        tags = _icc_tags(icc)
    except (_Broken, struct.error):
        return ["damaged ICC profile"]
    out = []
    for sig, _off, _size in tags:
        if sig not in _ICC_KEEP:
            name = _ICC_NAMES.get(sig, f"tag '{sig.decode('latin-1')}'")
            out.append(f"ICC profile {name}")
    return out


def clean_icc_profile(icc: bytes | None) -> bytes | None:
    """The profile rebuilt with colour tags only (header kept, profile ID zeroed).

    None when there is no profile or it is damaged (the output is then untagged).
    """
    if not icc:
        return None
    try:
        tags = _icc_tags(icc)
    except (_Broken, struct.error):
        return None
    keep = [(sig, off, size) for sig, off, size in tags if sig in _ICC_KEEP]
    if not keep:
        return None
    table = 132 + 12 * len(keep)
    blocks: dict[tuple[int, int], int] = {}
    body = bytearray()
    entries = []
    for sig, off, size in keep:
        where = blocks.get((off, size))
        if where is None:                          # shared data stays shared
            body += b"\x00" * (-(table + len(body)) % 4)
            where = table + len(body)
            blocks[(off, size)] = where
            body += icc[off:off + size]
        entries.append(struct.pack(">4sII", sig, where, size))
    header = bytearray(icc[:128])
    total = table + len(body)
    header[0:4] = struct.pack(">I", total)
    header[84:100] = bytes(16)                     # profile ID (MD5) = not computed
    return bytes(header) + struct.pack(">I", len(keep)) + b"".join(entries) + bytes(body)


def _check_icc(icc: bytes, where: str, s: Structure) -> None:
    for problem in icc_problems(icc):
        s.problems.append(f"{problem} ({where})")


# --------------------------------------------------------------------------- JPEG

# In entropy-coded data, 0xFF is followed by 0x00 (stuffing) or a restart marker; anything
# else is the next marker (0xFF 0xFF is fill before a marker).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STRUCTURE = {0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xDF}    # DHT DAC DQT DRI DNL EXP


def _ident(seg: bytes) -> str:
    raw = bytes(seg[:32]).split(b"\x00", 1)[0]
    text = "".join(chr(c) if 32 <= c < 127 else "." for c in raw[:24])
    return text or "no identifier"


def _walk_jpeg(d: bytes, s: Structure) -> None:
    n = len(d)
    pos = 2
    icc: dict[int, bytes] = {}
    icc_count = 0
    exif_seen = False
    bad_markers = 0
    while True:
        if pos >= n:
            raise _Truncated()
        if d[pos] != 0xFF:
            m = d.find(b"\xff", pos)
            if m < 0:
                raise _Truncated()
            s.problems.append(f"{_kb(m - pos)} of stray data between segments at offset {pos}")
            pos = m
        while pos < n and d[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise _Truncated()
        marker = d[pos]
        at = pos - 1
        pos += 1
        if marker == 0xD9:                                   # EOI
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:         # TEM, RSTn: no length
            continue
        if marker == 0xD8 or marker == 0x00:
            raise _Broken(f"unexpected marker 0xFF{marker:02X} at offset {at}")
        if pos + 2 > n:
            raise _Truncated()
        length = (d[pos] << 8) | d[pos + 1]
        if length < 2:
            raise _Broken(f"segment of length {length} at offset {at}")
        if pos + length > n:
            raise _Truncated()
        seg = d[pos + 2:pos + length] if marker != 0xDA else b""
        pos += length
        if marker in _SOF:
            if s.width is None:
                if len(seg) < 6:
                    raise _Broken("short frame header")
                s.height = (seg[1] << 8) | seg[2]
                s.width = (seg[3] << 8) | seg[4]
                s.components = seg[5]
                s.bit_depth = seg[0]
            else:
                s.problems.append(f"second frame header (SOF) at offset {at}")
        elif marker == 0xDA:                                 # SOS: skip entropy-coded data
            while True:
                m = _JPEG_MARKER.search(d, pos)
                if m is None:
                    raise _Truncated()
                j = m.start()
                while j < n and d[j] == 0xFF:
                    j += 1
                if j >= n:
                    raise _Truncated()
                if d[j] >= 0xC0:
                    pos = m.start()
                    break
                bad_markers += 1                             # not a marker: damaged data
                pos = j + 1
        elif marker in _JPEG_STRUCTURE:
            pass
        elif marker == 0xE0:
            if seg[:5] == b"JFIF\x00" and len(seg) >= 14:
                tw, th = seg[12], seg[13]
                if tw * th or len(seg) > 14:
                    s.problems.append(f"JFIF thumbnail ({tw}x{th}) in APP0")
            elif seg[:5] == b"JFXX\x00":
                s.problems.append("JFXX thumbnail extension (APP0)")
            else:
                s.problems.append(f"APP0 segment '{_ident(seg)}' ({_kb(len(seg))})")
        elif marker == 0xE1:
            if seg[:6] == b"Exif\x00\x00":
                problem, orientation = _exif_problem(f"APP1 at offset {at}", seg)
                s.problems.append(problem)
                if not exif_seen:
                    s.orientation = orientation
                    exif_seen = True
            elif seg.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
                s.problems.append(f"XMP (APP1 at offset {at}, {_kb(len(seg))})")
            elif seg.startswith(b"http://ns.adobe.com/xmp/extension/\x00"):
                s.problems.append(f"extended XMP (APP1 at offset {at}, {_kb(len(seg))})")
            else:
                s.problems.append(f"APP1 segment '{_ident(seg)}' ({_kb(len(seg))})")
        elif marker == 0xE2 and seg[:12] == b"ICC_PROFILE\x00" and len(seg) >= 14:
            icc[seg[12]] = bytes(seg[14:])
            icc_count = seg[13]
        elif marker == 0xE2 and seg[:4] == b"MPF\x00":
            s.problems.append("multi-picture index (MPF, APP2): further images such as "
                              "previews, depth or HDR maps")
            s.frames = max(s.frames, _mpf_count(seg[4:]))
        elif marker == 0xED:
            what = "Photoshop/IPTC" if seg[:14] == b"Photoshop 3.0\x00" else _ident(seg)
            s.problems.append(f"{what} (APP13, {_kb(len(seg))})")
        elif 0xE0 <= marker <= 0xEF:
            s.problems.append(f"APP{marker - 0xE0} segment '{_ident(seg)}' ({_kb(len(seg))})")
        elif marker == 0xFE:
            s.problems.append(f"comment (COM segment, {_kb(len(seg))})")
        elif 0xF0 <= marker <= 0xFD:
            s.problems.append(f"extension segment JPG{marker - 0xF0} ({_kb(len(seg))})")
        else:
            raise _Broken(f"unknown marker 0xFF{marker:02X} at offset {at}")
    if s.width is None:
        raise _Broken("no frame header (SOF) before the end of the image")
    if bad_markers:
        s.damaged = f"{bad_markers} invalid marker(s) inside the compressed image data"
    if icc:
        if icc_count and sorted(icc) == list(range(1, icc_count + 1)):
            s.icc_profile = b"".join(icc[i] for i in range(1, icc_count + 1))
            _check_icc(s.icc_profile, "APP2", s)
        else:
            s.problems.append("incomplete ICC profile (APP2)")
    s.trailing = n - pos
    if s.trailing:
        s.problems.append(_trailer_problem(d, pos))


def _mpf_count(blob: bytes) -> int:
    try:
        t = _Tiff(blob)
        entries, _, _ = t.ifd(t.first)
        return t.first_int(entries, 0xB001) or 1
    except (_Broken, _Truncated, struct.error):
        return 1


def _trailer_problem(d: bytes, pos: int) -> str:
    tail = d[pos:]
    what = []
    if b"ftyp" in tail[:4096] or b"ftypmp4" in tail or b"ftypisom" in tail:
        what.append("an embedded video (motion photo)")
    if b"\xff\xd8\xff" in tail[:64]:
        what.append("another JPEG image (preview, depth or HDR map)")
    if b"SEFH" in tail[-16:] or b"SEFT" in tail[-16:]:
        what.append("Samsung trailer")
    if not what and not tail.strip(b"\x00"):
        what.append("zero padding")
    detail = f": {', '.join(what)}" if what else ""
    return f"{_kb(len(tail))} after the end of the image{detail}"


# --------------------------------------------------------------------------- PNG

_PNG_OK = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT",
           b"sRGB", b"cICP", b"mDCV", b"cLLI", b"pHYs", b"bKGD", b"hIST"}
_PNG_NAMES = {b"tEXt": "text chunk tEXt", b"zTXt": "compressed text chunk zTXt",
              b"iTXt": "international text chunk iTXt", b"eXIf": "EXIF chunk eXIf",
              b"tIME": "modification time chunk tIME", b"acTL": "animation control (APNG)",
              b"fcTL": "animation frame (APNG)", b"fdAT": "animation frame data (APNG)"}


def _walk_png(d: bytes, s: Structure) -> None:
    n = len(d)
    pos = 8
    first = True
    frames_declared = 0
    counts: dict[bytes, int] = {}
    while True:
        if pos + 8 > n:
            raise _Truncated()
        length, ctype = struct.unpack_from(">I4s", d, pos)
        if length > 0x7FFFFFFF:
            raise _Broken(f"chunk length {length} at offset {pos}")
        body = pos + 8
        end = body + length + 4
        if end > n:
            raise _Truncated()
        if first and ctype != b"IHDR":
            raise _Broken("first chunk is not IHDR")
        first = False
        if ctype == b"IHDR":
            if length < 13:
                raise _Broken("short IHDR")
            s.width, s.height = struct.unpack_from(">II", d, body)
            s.bit_depth = d[body + 8]
        elif ctype == b"IEND":
            pos = end
            break
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            key = _ident(d[body:body + min(length, 80)])
            s.problems.append(f"PNG {_PNG_NAMES[ctype]} '{key}' ({_kb(length)})")
        elif ctype == b"iCCP":
            _check_icc(_png_icc(d[body:body + length]), "PNG iCCP chunk", s)
        elif ctype == b"eXIf":
            problem, s.orientation = _exif_problem("PNG eXIf chunk", d[body:body + length])
            s.problems.append(problem)
        elif ctype == b"acTL" and length >= 8:
            frames_declared = struct.unpack_from(">I", d, body)[0]
            counts[ctype] = counts.get(ctype, 0) + 1
        elif ctype not in _PNG_OK:
            counts[ctype] = counts.get(ctype, 0) + 1
        pos = end
    for ctype, count in counts.items():
        name = _PNG_NAMES.get(ctype, f"unknown chunk '{ctype.decode('latin-1')}'")
        s.problems.append(f"PNG {name}" + (f" x{count}" if count > 1 else ""))
    if frames_declared:
        s.frames = frames_declared
    s.trailing = n - pos
    if s.trailing:
        s.problems.append(_trailer_problem(d, pos))


def _png_icc(chunk: bytes) -> bytes:
    z = chunk.find(b"\x00")
    if z < 0 or z + 2 > len(chunk):
        return b""
    inflater = zlib.decompressobj()
    try:
        icc = inflater.decompress(chunk[z + 2:], 16 << 20)
    except zlib.error:
        return b""
    return icc


# --------------------------------------------------------------------------- WebP

def _walk_webp(d: bytes, s: Structure) -> None:
    n = len(d)
    riff_end = 8 + struct.unpack_from("<I", d, 4)[0]
    if riff_end > n:
        raise _Truncated()
    pos = 12
    frames = 0
    flags = 0
    while pos + 8 <= riff_end:
        ctype = bytes(d[pos:pos + 4])
        size = struct.unpack_from("<I", d, pos + 4)[0]
        body = pos + 8
        end = body + size + (size & 1)
        if body + size > riff_end:
            raise _Truncated()
        chunk = d[body:body + min(size, 32)]
        if ctype == b"VP8X":
            flags = chunk[0]
            s.width = 1 + int.from_bytes(chunk[4:7], "little")
            s.height = 1 + int.from_bytes(chunk[7:10], "little")
        elif ctype == b"VP8 ":
            if s.width is None and len(chunk) >= 10 and chunk[3:6] == b"\x9d\x01\x2a":
                s.width = int.from_bytes(chunk[6:8], "little") & 0x3FFF
                s.height = int.from_bytes(chunk[8:10], "little") & 0x3FFF
            s.lossless = False if s.lossless is None else s.lossless
        elif ctype == b"VP8L":
            if s.width is None and len(chunk) >= 5 and chunk[0] == 0x2F:
                bits = int.from_bytes(chunk[1:5], "little")
                s.width = (bits & 0x3FFF) + 1
                s.height = ((bits >> 14) & 0x3FFF) + 1
            s.lossless = True if s.lossless is None else s.lossless
        elif ctype == b"ALPH":
            pass
        elif ctype == b"ICCP":
            _check_icc(d[body:body + size], "WebP ICCP chunk", s)
        elif ctype == b"EXIF":
            problem, s.orientation = _exif_problem("WebP EXIF chunk", d[body:body + size])
            s.problems.append(problem)
        elif ctype == b"XMP ":
            s.problems.append(f"XMP (WebP chunk, {_kb(size)})")
        elif ctype == b"ANIM":
            pass
        elif ctype == b"ANMF":
            frames += 1
        else:
            s.problems.append(f"unknown WebP chunk '{ctype.decode('latin-1')}' ({_kb(size)})")
        pos = end
    if flags & 0x02 or frames:
        s.frames = max(frames, 1)
        s.problems.append(f"animation ({frames} frames)")
    if flags & 0x08 and not any(p.startswith("EXIF") for p in s.problems):
        s.problems.append("VP8X header announces EXIF")
    if flags & 0x04 and not any(p.startswith("XMP") for p in s.problems):
        s.problems.append("VP8X header announces XMP")
    s.trailing = n - riff_end
    if s.trailing:
        s.problems.append(_trailer_problem(d, riff_end))


# --------------------------------------------------------------------------- HEIF / AVIF

_IMAGE_ITEMS = {b"hvc1", b"av01", b"grid", b"iovl", b"iden", b"jpeg", b"unci", b"j2k1",
                b"vvc1", b"hvt1", b"avc1", b"tmap", b"mski"}
_META_OK = {b"hdlr", b"pitm", b"iloc", b"iinf", b"iref", b"iprp", b"idat", b"dinf", b"grpl"}


def _boxes(d: bytes, start: int, end: int):
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise _Truncated()
        size, btype = struct.unpack_from(">I4s", d, pos)
        head = 8
        if size == 1:
            if pos + 16 > end:
                raise _Truncated()
            size = struct.unpack_from(">Q", d, pos + 8)[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            raise _Broken(f"box '{btype!r}' of size {size} at offset {pos}")
        if pos + size > end:
            raise _Truncated()
        yield btype, pos + head, pos + size
        pos += size


def _cstr(d: bytes, pos: int, end: int) -> tuple[str, int]:
    z = d.find(b"\x00", pos, end)
    if z < 0:
        z = end
    return bytes(d[pos:z]).decode("utf-8", "replace"), z + 1


def _walk_bmff(d: bytes, s: Structure) -> None:
    saw_meta = False
    for btype, body, end in _boxes(d, 0, len(d)):
        if btype in (b"ftyp", b"mdat"):
            continue
        if btype == b"meta":
            saw_meta = True
            _walk_heif_meta(d, body + 4, end, s)
        elif btype == b"moov":
            s.problems.append(f"video track (moov box, {_kb(end - body)}): image sequence "
                              "or motion photo")
        elif btype == b"mpvd":
            s.problems.append(f"embedded video (Samsung motion photo 'mpvd' box, "
                              f"{_kb(end - body)})")
        elif btype in (b"free", b"skip"):
            if end > body:
                s.problems.append(f"unused '{btype.decode()}' box ({_kb(end - body)}) that "
                                  "may hold leftover data")
        elif btype == b"uuid":
            s.problems.append(f"vendor box (uuid, {_kb(end - body)})")
        else:
            s.problems.append(f"unknown box '{btype.decode('latin-1')}' ({_kb(end - body)})")
    if not saw_meta:
        raise _Broken("no 'meta' box: not a still image")


def _walk_heif_meta(d: bytes, start: int, end: int, s: Structure) -> None:
    items: dict[int, tuple[bytes, str]] = {}
    refs: list[tuple[bytes, int, list[int]]] = []
    props: list[tuple[bytes, int, int]] = []
    assoc: dict[int, list[int]] = {}
    primary = None
    for btype, body, bend in _boxes(d, start, end):
        version = d[body] if bend > body else 0
        if btype == b"pitm":
            primary = (struct.unpack_from(">H", d, body + 4)[0] if version == 0
                       else struct.unpack_from(">I", d, body + 4)[0])
        elif btype == b"iinf":
            first = body + (6 if version == 0 else 8)
            for itype, ibody, iend in _boxes(d, first, bend):
                if itype == b"infe":
                    iid, kind, ctype = _infe(d, ibody, iend)
                    items[iid] = (kind, ctype)
        elif btype == b"iref":
            wide = version != 0
            for rtype, rbody, rend in _boxes(d, body + 4, bend):
                fmt, w = (">I", 4) if wide else (">H", 2)
                src = struct.unpack_from(fmt, d, rbody)[0]
                cnt = struct.unpack_from(">H", d, rbody + w)[0]
                dst = [struct.unpack_from(fmt, d, rbody + w + 2 + i * w)[0] for i in range(cnt)]
                refs.append((rtype, src, dst))
        elif btype == b"iprp":
            for ptype, pbody, pend in _boxes(d, body, bend):
                if ptype == b"ipco":
                    props = list(_boxes(d, pbody, pend))
                elif ptype == b"ipma":
                    _ipma(d, pbody, pend, assoc)
        elif btype not in _META_OK:
            s.problems.append(f"unknown box 'meta/{btype.decode('latin-1')}'")
    if primary is None:
        raise _Broken("no primary item (pitm)")
    for index in assoc.get(primary, []):
        if 1 <= index <= len(props):
            ptype, pbody, _ = props[index - 1]
            if ptype == b"ispe":
                s.width, s.height = struct.unpack_from(">II", d, pbody + 4)
    part_of_primary = {primary}
    changed = True
    while changed:     # grid tiles, overlay parts, tone-map bases of the primary image
        changed = False
        for rtype, src, dst in refs:
            if rtype in (b"dimg", b"base") and src in part_of_primary:
                for i in dst:
                    if i not in part_of_primary:
                        part_of_primary.add(i)
                        changed = True
    roles: dict[int, str] = {}
    for rtype, src, _dst in refs:
        if rtype == b"thmb":
            roles[src] = "thumbnail image"
        elif rtype == b"auxl":
            roles.setdefault(src, "auxiliary image (alpha, depth or HDR map)")
    extra = 0
    for iid, (kind, ctype) in sorted(items.items()):
        if kind == b"Exif":
            s.problems.append(f"EXIF item (id {iid})")
        elif kind == b"mime":
            what = "XMP" if "rdf+xml" in ctype or "xmp" in ctype.lower() else f"'{ctype}'"
            s.problems.append(f"{what} metadata item (id {iid})")
        elif kind == b"uri ":
            s.problems.append(f"URI metadata item (id {iid})")
        elif kind in _IMAGE_ITEMS:
            if iid in part_of_primary:
                continue
            if iid in roles:
                s.problems.append(f"{roles[iid]} (item {iid})")
            elif not any(iid in dst and src != iid for _, src, dst in refs
                         if src in roles or src in part_of_primary):
                extra += 1
                s.problems.append(f"additional image (item {iid})")
        else:
            s.problems.append(f"item of type '{kind.decode('latin-1')}' (id {iid})")
    s.frames = 1 + extra


def _infe(d: bytes, body: int, end: int) -> tuple[int, bytes, str]:
    version = d[body]
    pos = body + 4
    if version >= 2:
        if version == 2:
            iid = struct.unpack_from(">H", d, pos)[0]
            pos += 2
        else:
            iid = struct.unpack_from(">I", d, pos)[0]
            pos += 4
        pos += 2                                   # protection index
        kind = bytes(d[pos:pos + 4])
        pos += 4
        _name, pos = _cstr(d, pos, end)
        ctype = ""
        if kind == b"mime":
            ctype, pos = _cstr(d, pos, end)
        return iid, kind, ctype
    iid = struct.unpack_from(">H", d, pos)[0]
    pos += 4
    _name, pos = _cstr(d, pos, end)
    ctype, pos = _cstr(d, pos, end)
    return iid, b"mime", ctype


def _ipma(d: bytes, body: int, end: int, out: dict[int, list[int]]) -> None:
    version = d[body]
    flags = int.from_bytes(d[body + 1:body + 4], "big")
    pos = body + 4
    count = struct.unpack_from(">I", d, pos)[0]
    pos += 4
    for _ in range(count):
        if version < 1:
            iid = struct.unpack_from(">H", d, pos)[0]
            pos += 2
        else:
            iid = struct.unpack_from(">I", d, pos)[0]
            pos += 4
        n = d[pos]
        pos += 1
        indices = []
        for _ in range(n):
            if flags & 1:
                indices.append(struct.unpack_from(">H", d, pos)[0] & 0x7FFF)
                pos += 2
            else:
                indices.append(d[pos] & 0x7F)
                pos += 1
        if pos > end:
            raise _Truncated()
        out[iid] = indices


_WALKERS = {"JPEG": _walk_jpeg, "PNG": _walk_png, "WEBP": _walk_webp, "TIFF": _walk_tiff,
            "HEIF": _walk_bmff, "AVIF": _walk_bmff}
