"""Read photos into RGB pixel arrays, and write them back with no metadata at all.

Reading (`read_photo`):

- The whole file is read once; its format comes from its content (a JPEG named `.png` is
  read as a JPEG, with a note). Supported: JPEG (incl. multi-picture MPO: the main picture
  is used), PNG, WebP, TIFF, HEIC/HEIF (pillow-heif) and AVIF (Pillow).
- Before any pixel is decoded, the size the file declares is checked (our own container
  walk in `metadata.inspect`, then the decoder's header): more than `max_pixels`, a side
  longer than `MAX_SIDE` or proportions beyond `MAX_ASPECT`:1 are refused. Truncated files
  are refused (Pillow's LOAD_TRUNCATED_IMAGES is never set), so are animations and
  multi-page files (fail safe: no frame goes unseen).
- EXIF orientation 1-8 is applied to the pixels (HEIF: libheif applies the container's
  rotation and mirroring; AVIF: Pillow turns them into an orientation value).
- Pixel formats: grayscale (incl. 1-bit and 16-bit) becomes RGB with `grayscale=True`, and
  is written back as grayscale when the redacted pixels are still gray; 16-bit samples are
  scaled to 8 bits; palette images become RGB (RGBA with transparency); CMYK/YCCK JPEGs are
  converted to RGB with Pillow's plain formula (the CMYK ICC profile is dropped, output is
  untagged RGB); float TIFFs and other exotic modes are refused. Alpha is kept for PNG, WebP
  and TIFF; HEIF/AVIF with alpha are flattened onto white because they are written as JPEG.
- JPEG (the common case) is decoded by OpenCV's libjpeg-turbo straight into a numpy array
  (about twice as fast as Pillow plus conversion); other formats by Pillow/pillow-heif.
  `pixels` is always C-contiguous and writable.

Writing (`write_photo`): a fresh encode of the given array in the output format (HEIC and
AVIF become JPEG), nothing but the pixels and, where it still fits, the ICC colour
profile. It goes through `fsutil.atomic_output`, and before the file is committed it is
read back: `metadata.find_metadata` must find nothing and it must decode to the right size.
Otherwise nothing appears at `dest`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pillow_heif
from PIL import Image

from blurkit import fsutil, i18n
from blurkit.errors import InputError, OutputError
from blurkit.media import budget, metadata

__all__ = ["Photo", "read_photo", "write_photo", "output_suffix", "PHOTO_SUFFIXES",
           "DEFAULT_MAX_PIXELS", "MAX_SIDE", "MAX_ASPECT"]

DEFAULT_MAX_PIXELS = 200_000_000   # a 200-MP phone photo (16320 x 12240) still passes
MAX_SIDE = 65_500                   # JPEG cannot hold more than 65535 per side
MAX_ASPECT = 100                    # wider than 100:1 is no photograph
MAX_FILE_BYTES = 1 << 30            # read at most 1 GiB into memory

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "HEIF", "AVIF")
# file name endings that hold photos (for callers choosing files; reading goes by content)
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif",
                            ".tiff", ".heic", ".heif", ".hif", ".avif"})
_EXT_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG",
               ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
               ".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF", ".avif": "AVIF"}
_OUTPUT_FORMAT = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "TIFF": "TIFF",
                  "HEIF": "JPEG", "AVIF": "JPEG"}
_OUTPUT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif"}
_OUTPUT_SUFFIXES = {"JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "PNG": {".png"},
                    "WEBP": {".webp"}, "TIFF": {".tif", ".tiff"}}
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "TIFF": "TIFF", "HEIF": "HEIC/HEIF",
          "AVIF": "AVIF"}
_ICC_MAX = 4 << 20


@dataclass(eq=False)
class Photo:
    """A decoded photo, ready for detection and redaction.

    pixels: RGB uint8 (H, W, 3), C-contiguous and writable, EXIF orientation applied.
    alpha: uint8 (H, W) when the source has transparency and the output keeps it, else None.
    format: the source format detected from the content: JPEG PNG WEBP TIFF HEIF AVIF.
    icc_profile: the source's ICC colour profile if it still describes `pixels`.
    """

    pixels: np.ndarray = field(repr=False)
    alpha: np.ndarray | None = field(repr=False)
    format: str
    icc_profile: bytes | None = field(repr=False, default=None)
    source: Path | None = None
    source_mode: str = "RGB"        # the stored pixel format: RGB, L, RGBA, P, CMYK, I;16, ...
    grayscale: bool = False         # no colour in the source: written as gray if still gray
    bit_depth: int = 8              # bits per sample in the source (reduced to 8)
    orientation: int = 1            # the EXIF orientation applied to `pixels` (1 = none)
    lossless: bool = False          # PNG, TIFF, lossless WebP: a WebP output stays lossless
    source_metadata: list[str] = field(default_factory=list)   # found in (and left out of) the
                                                               # source
    notes: list[str] = field(default_factory=list)             # remarks for the report, translated

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def output_format(self) -> str:
        return _OUTPUT_FORMAT[self.format]


def output_suffix(photo: Photo) -> str:
    """The file name ending of the output: HEIC/HEIF and AVIF become ".jpg"."""
    return _OUTPUT_SUFFIX[_OUTPUT_FORMAT[photo.format]]


# --------------------------------------------------------------------------- reading

def read_photo(path: Path, max_pixels: int | None = None) -> Photo:
    """Decode the photo at `path`; raise InputError (with a specific key) if it can't be.

    `max_pixels` None: the limit this machine's memory allows (`media.budget`: 200 MP at
    most; a 2-GB Pi refuses earlier than a 16-GB laptop, naming the size and the limit)."""
    path = Path(path)
    if max_pixels is None:
        max_pixels = budget.photo_pixel_limit()
    data = _read_file(path)
    fmt = metadata.sniff(data)
    if fmt is None:
        raise InputError("image.not_image", path=path)
    if fmt not in SUPPORTED_FORMATS:
        raise InputError("image.unsupported_format", path=path, format=fmt)
    name = _NAMES[fmt]
    st = metadata.inspect(data)
    if st.width is not None and st.height is not None:
        _check_size(path, st.width, st.height, max_pixels)
    if st.truncated:
        raise InputError("image.truncated", path=path, format=name)
    if fmt in ("PNG", "WEBP", "TIFF") and st.frames > 1:
        raise InputError("image.multi_frame", path=path, frames=st.frames)

    notes: list[str] = []
    ext = path.suffix.lower()
    if _EXT_FORMAT.get(ext, fmt) != fmt:
        notes.append(i18n.t("image.note.extension", ext=path.suffix, format=name))

    try:
        # decoders return the photo and the orientation still to apply to its pixels
        if fmt == "JPEG":
            photo, pending = _decode_jpeg(path, data, st, max_pixels, notes)
        elif fmt == "HEIF":
            photo, pending = _decode_heif(path, data, max_pixels)
        else:
            photo, pending = _decode_pillow(path, data, fmt, st, max_pixels, notes)
    except InputError:
        raise
    except MemoryError:
        raise InputError("image.out_of_memory", path=path, width=st.width,
                         height=st.height) from None
    except Exception as exc:   # decoders raise many types on hostile input; never crash
        raise _decode_error(path, name, exc) from exc

    if st.damaged or st.broken:
        notes.append(i18n.t("image.note.damaged", reason=st.damaged or st.broken))
    if st.trailing:
        notes.append(i18n.t("image.note.trailing", size=_size_text(st.trailing)))
    if photo.orientation not in range(1, 9):
        notes.append(i18n.t("image.note.bad_orientation", value=photo.orientation))
        photo.orientation = pending = 1
    if pending != 1:
        photo.pixels = _orient(photo.pixels, pending)
        if photo.alpha is not None:
            photo.alpha = _orient(photo.alpha, pending)
    if photo.alpha is not None and fmt not in _ALPHA_FORMATS:
        photo.pixels = _flatten(photo.pixels, photo.alpha)
        photo.alpha = None
        notes.append(i18n.t("image.note.flattened"))
    photo.source = path
    photo.source_metadata = list(st.problems)
    photo.notes = notes + photo.notes
    photo.bit_depth = max(photo.bit_depth, st.bit_depth or 8)
    if photo.bit_depth > 8:
        photo.notes.append(i18n.t("image.note.depth", bits=photo.bit_depth))
    return photo


def _read_file(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)                    # never blocks on a FIFO
    except (FileNotFoundError, NotADirectoryError):
        raise InputError("image.not_found", path=path) from None
    except IsADirectoryError:
        raise InputError("image.is_directory", path=path) from None
    except PermissionError:
        if path.is_dir():                            # Windows cannot open folders
            raise InputError("image.is_directory", path=path) from None
        raise InputError("image.permission_denied", path=path) from None
    except OSError as exc:
        raise InputError("image.read_failed", path=path, reason=exc.strerror or exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError("image.is_directory", path=path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("image.not_regular", path=path)
        if info.st_size == 0:
            raise InputError("image.empty", path=path)
        limit = max_file_bytes()
        if info.st_size > limit:
            raise InputError("image.file_too_large", path=path, size_mb=info.st_size >> 20,
                             limit_mb=limit >> 20)
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            # the size it has (read(limit) would reserve the whole limit up front)
            data = fh.read(min(limit, info.st_size) + 1)
            if len(data) > info.st_size:          # it grew meanwhile: up to the limit
                data += fh.read(limit + 1 - len(data))
        if len(data) > limit:
            raise InputError("image.file_too_large", path=path, size_mb=len(data) >> 20,
                             limit_mb=limit >> 20)
    except IsADirectoryError:
        raise InputError("image.is_directory", path=path) from None
    except OSError as exc:
        raise InputError("image.read_failed", path=path, reason=exc.strerror or exc) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if not data:
        raise InputError("image.empty", path=path)
    return data


def max_file_bytes() -> int:
    """The largest photo file read: 1 GiB, or a third of what this machine lets one file
    take (the file's bytes are held while they are decoded)."""
    b = budget.current()
    return int(min(MAX_FILE_BYTES, (b.budget_mb - budget.WORKER_BASE_MB) * 2**20 / 3))


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        if width * height > max_pixels:
            _too_many(path, width, height, max_pixels)
        raise InputError("image.bad_dimensions", path=path, width=width, height=height,
                         max_side=MAX_SIDE)
    if width * height > max_pixels:
        _too_many(path, width, height, max_pixels)
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError("image.bad_aspect", path=path, width=width, height=height,
                         max_ratio=MAX_ASPECT)


def _too_many(path: Path, width: int, height: int, max_pixels: int) -> None:
    b = budget.current()
    if width * height <= DEFAULT_MAX_PIXELS and max_pixels == b.photo_pixels \
            and max_pixels < DEFAULT_MAX_PIXELS:
        # an ordinary (if large) photo that this machine's memory cannot take safely
        raise InputError("image.too_large_for_memory", path=path, width=width, height=height,
                         megapixels=f"{width * height / 1e6:,.1f}",
                         limit=f"{max_pixels / 1e6:,.0f}", memory_gb=f"{b.total_mb / 1024:.1f}",
                         budget_mb=b.budget_mb)
    raise InputError("image.too_many_pixels", path=path, width=width, height=height,
                     megapixels=f"{width * height / 1e6:,.1f}",
                     limit=f"{max_pixels / 1e6:,.0f}")


def _size_text(n: int) -> str:
    return f"{n} B" if n < 10_000 else (f"{n / 1024:.0f} kB" if n < 10 << 20
                                        else f"{n / (1 << 20):.0f} MB")


def _decode_error(path: Path, name: str, exc: BaseException) -> InputError:
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if isinstance(exc, EOFError) or "truncat" in low or "end of file" in low \
            or "premature end" in low or "unexpected end" in low:
        return InputError("image.truncated", path=path, format=name)
    if isinstance(exc, Image.DecompressionBombError):
        return InputError("image.corrupt", path=path, format=name, reason=text)
    return InputError("image.corrupt", path=path, format=name,
                      reason=f"{type(exc).__name__}: {text}"[:200])


def _decode_jpeg(path: Path, data: bytes, st: metadata.Structure, max_pixels: int,
                 notes: list[str]) -> tuple[Photo, int]:
    if st.frames > 1:
        notes.append(i18n.t("image.note.multi_picture", count=st.frames))
    if st.components in (1, 3):
        flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        if pixels is not None and pixels.shape[:2] == (st.height, st.width):
            orientation = st.orientation or 1
            return Photo(pixels=pixels, alpha=None, format="JPEG",
                         icc_profile=_icc_for(st.icc_profile, "L" if st.components == 1
                                              else "RGB"),
                         source_mode="L" if st.components == 1 else "RGB",
                         grayscale=st.components == 1, orientation=orientation), orientation
    # CMYK/YCCK, or something OpenCV declined: Pillow decodes it or says what is wrong
    return _decode_pillow(path, data, "JPEG", st, max_pixels, notes)


def _decode_heif(path: Path, data: bytes, max_pixels: int) -> tuple[Photo, int]:
    # libheif applies the container's rotation and mirroring (irot/imir) itself; the
    # EXIF orientation inside a HEIF is informative only and is not applied again
    heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
    width, height = heif.size
    _check_size(path, width, height, max_pixels)
    if len(heif) > 1:
        raise InputError("image.multi_frame", path=path, frames=len(heif))
    mode = heif.mode
    bits = int(heif.info.get("bit_depth") or 8)
    arr = np.asarray(heif)                 # decodes; read-only view of libheif's buffer
    icc = heif.info.get("icc_profile")
    pixels, alpha, gray, depth = _split(arr, mode)
    # reported only: libheif's transforms normally say the same as the EXIF tag
    applied = metadata.exif_orientation(heif.info.get("exif"))
    return Photo(pixels=pixels, alpha=alpha, format="HEIF",
                 icc_profile=_icc_for(icc, "L" if gray else "RGB"), source_mode=mode,
                 grayscale=gray, bit_depth=max(bits, depth),
                 orientation=applied if applied in range(1, 9) else 1), 1


def _split(arr: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray | None, bool, int]:
    """RGB pixels, alpha, grayscale?, bit depth from an array in `mode`."""
    depth = 8
    if arr.dtype == np.uint16:
        depth = 16
        arr = _to8(arr)
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB), None, True, depth
    channels = arr.shape[2]
    if mode.startswith("BGR"):
        arr = arr[..., [2, 1, 0, 3][:channels]]
    if channels == 2:
        return (cv2.cvtColor(np.ascontiguousarray(arr[..., 0]), cv2.COLOR_GRAY2RGB),
                np.ascontiguousarray(arr[..., 1]), True, depth)
    if channels == 4:
        return (np.ascontiguousarray(arr[..., :3]), np.ascontiguousarray(arr[..., 3]),
                False, depth)
    return np.array(arr, order="C", copy=True), None, False, depth


def _to8(arr: np.ndarray) -> np.ndarray:
    """16-bit (or wider integer) samples scaled to 8 bits with rounding."""
    wide = np.clip(arr, 0, 65535).astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


_PIL_FORMATS = {"JPEG": ["JPEG"], "PNG": ["PNG"], "WEBP": ["WEBP"], "TIFF": ["TIFF"],
                "AVIF": ["AVIF"]}


def _decode_pillow(path: Path, data: bytes, fmt: str, st: metadata.Structure,
                   max_pixels: int, notes: list[str]) -> tuple[Photo, int]:
    declared = (st.width or 0) * (st.height or 0)
    with _pillow_pixel_limit(declared or max_pixels):
        with Image.open(io.BytesIO(data), formats=_PIL_FORMATS[fmt]) as im:
            _check_size(path, im.width, im.height, max_pixels)
            frames = getattr(im, "n_frames", 1)
            if frames > 1 and im.format != "MPO":
                raise InputError("image.multi_frame", path=path, frames=frames)
            orientation = st.orientation
            if orientation is None and fmt == "AVIF":
                orientation = im.getexif().get(0x0112)
            icc = im.info.get("icc_profile")
            im.load()
            pending = orientation or 1
            if fmt == "TIFF" and orientation and 0x0112 not in im.tag_v2:
                pending = 1      # Pillow >= 12 applies a TIFF's orientation while loading
            pixels, alpha, mode, gray, depth = _from_pillow_strips(path, im, _NAMES[fmt],
                                                                   notes)
    return Photo(pixels=pixels, alpha=alpha, format=fmt,
                 icc_profile=_icc_for(icc, "L" if gray else "RGB"), source_mode=mode,
                 grayscale=gray, bit_depth=depth, orientation=orientation or 1,
                 lossless=fmt in ("PNG", "TIFF") or bool(st.lossless)), pending


_GRAY16 = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _from_pillow(path: Path, im: Image.Image, name: str, notes: list[str]
                 ) -> tuple[np.ndarray, np.ndarray | None, str, bool, int]:
    mode = im.mode
    if mode in _GRAY16:
        arr = np.asarray(im)
        depth = 16 if mode != "I" or arr.max(initial=0) > 255 else 8
        gray = _to8(arr) if depth == 16 else arr.astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB), None, mode, True, depth
    if mode == "1":
        im = im.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        notes.append(i18n.t("image.note.palette"))
    elif mode == "La":
        im = im.convert("LA")
    elif mode in ("RGBa", "RGBX", "YCbCr"):
        im = im.convert("RGBA" if mode == "RGBa" else "RGB")
    elif mode == "CMYK":
        im = im.convert("RGB")
        notes.append(i18n.t("image.note.cmyk"))
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        raise InputError("image.unsupported_pixels", path=path, mode=mode, format=name)
    pixels, alpha, gray, depth = _split(np.asarray(im), im.mode)
    return pixels, alpha, mode, gray, depth


_STRIP_MODES = {"1": "L", "L": "L", "P": None, "PA": "RGBA", "LA": "LA", "La": "LA",
                "RGB": "RGB", "RGBA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB", "YCbCr": "RGB",
                "CMYK": "RGB"}
_STRIP_ROWS = 256


def _from_pillow_strips(path: Path, im: Image.Image, name: str, notes: list[str]
                        ) -> tuple[np.ndarray, np.ndarray | None, str, bool, int]:
    """What `_from_pillow` gives, for the 8-bit modes, converted a strip of rows at a time
    straight into the output arrays: no full-size intermediate copies (a 1-bit bomb of
    196 MP took 1 + 1 + 1 + 3 + 3 bytes a pixel at once that way; now 1 + 3).
    Conversions are per pixel, so the result is the same array."""
    mode = im.mode
    if mode not in _STRIP_MODES:
        return _from_pillow(path, im, name, notes)
    target = _STRIP_MODES[mode]
    if mode == "P":
        target = "RGBA" if "transparency" in im.info else "RGB"
    if mode in ("P", "PA"):
        notes.append(i18n.t("image.note.palette"))
    elif mode == "CMYK":
        notes.append(i18n.t("image.note.cmyk"))
    width, height = im.size
    gray = target in ("L", "LA")
    pixels = np.empty((height, width, 3), np.uint8)
    alpha = np.empty((height, width), np.uint8) if target in ("LA", "RGBA") else None
    for y0 in range(0, height, _STRIP_ROWS):
        y1 = min(height, y0 + _STRIP_ROWS)
        strip = im.crop((0, y0, width, y1))
        if strip.mode != target:
            strip = strip.convert(target)
        arr = np.asarray(strip)
        if gray:
            base = arr if arr.ndim == 2 else arr[..., 0]
            pixels[y0:y1] = base[..., None]
            if alpha is not None:
                alpha[y0:y1] = arr[..., 1]
        else:
            pixels[y0:y1] = arr[..., :3]
            if alpha is not None:
                alpha[y0:y1] = arr[..., 3]
    return pixels, alpha, mode, gray, 8


def _icc_for(icc: bytes | None, mode: str) -> bytes | None:
    """The ICC profile if it is sane and describes pixels of `mode` ("RGB" or "L")."""
    if not icc or len(icc) < 132 or len(icc) > _ICC_MAX or icc[36:40] != b"acsp":
        return None
    space = icc[16:20]
    if (mode == "RGB" and space == b"RGB ") or (mode == "L" and space == b"GRAY"):
        return metadata.clean_icc_profile(bytes(icc))
    return None


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation 2-8 (as ImageOps.exif_transpose does), returning a new array."""
    if orientation == 2:
        return cv2.flip(arr, 1)
    if orientation == 3:
        return cv2.rotate(arr, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(arr, 0)
    if orientation == 5:
        return np.ascontiguousarray(cv2.transpose(arr))
    if orientation == 6:
        return cv2.rotate(arr, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.rotate(cv2.transpose(arr), cv2.ROTATE_180)
    if orientation == 8:
        return cv2.rotate(arr, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return arr


def _flatten(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite onto white (what a viewer shows), since JPEG has no transparency."""
    a = alpha.astype(np.uint16)[..., None]
    out = (pixels.astype(np.uint16) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)


_limit_lock = threading.Lock()
_limit_users = 0
_limit_saved: int | None = None


@contextlib.contextmanager
def _pillow_pixel_limit(pixels: int) -> Iterator[None]:
    """Let Pillow open an image of `pixels` without its own bomb warning or error.

    Our limit (checked from the declared size before this) decides; Pillow's process-wide
    MAX_IMAGE_PIXELS (89.5 MP warning, twice that an error) would refuse a 200-MP photo.
    The value is raised only while such a large image is being read, and restored when
    the last reader is done.
    """
    global _limit_users, _limit_saved
    with _limit_lock:
        base = _limit_saved if _limit_users else Image.MAX_IMAGE_PIXELS
        if base is None or pixels <= base:
            raise_it = False
        else:
            raise_it = True
            if _limit_users == 0:
                _limit_saved = Image.MAX_IMAGE_PIXELS
            _limit_users += 1
            Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, pixels)
    try:
        yield
    finally:
        if raise_it:
            with _limit_lock:
                _limit_users -= 1
                if _limit_users == 0:
                    Image.MAX_IMAGE_PIXELS = _limit_saved


# --------------------------------------------------------------------------- writing

def write_photo(photo: Photo, pixels: np.ndarray, dest: Path, *, jpeg_quality: int = 92) -> None:
    """Encode `pixels` (RGB uint8, H x W x 3) as a fresh file at `dest`, with no metadata.

    The format is `photo.output_format`; alpha comes from `photo` (PNG, WebP, TIFF); the ICC
    profile is kept when it still describes the pixels. Never overwrites: an existing `dest`
    raises OutputError. The written file is re-read and checked (no metadata, decodes to
    the right size) before it appears at `dest`; on any failure nothing appears there.
    """
    dest = Path(dest)
    fmt = _OUTPUT_FORMAT[photo.format]
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 3 \
            or pixels.shape[2] != 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError("pixels must be an RGB uint8 array of shape (H, W, 3)")
    height, width = pixels.shape[:2]
    alpha = photo.alpha if fmt in _ALPHA_FORMATS else None
    if alpha is not None and alpha.shape != (height, width):
        raise ValueError(f"pixels {width}x{height} do not match the photo's alpha "
                         f"{alpha.shape[1]}x{alpha.shape[0]}")
    if dest.suffix.lower() not in _OUTPUT_SUFFIXES[fmt]:
        raise ValueError(f"{dest.name}: a {fmt} output must end in {_OUTPUT_SUFFIX[fmt]}")
    if not 1 <= int(jpeg_quality) <= 100:
        raise ValueError("jpeg_quality must be 1-100")
    if os.path.lexists(dest):
        raise OutputError("image.write_exists", path=dest)

    gray = photo.grayscale and _is_gray(pixels)
    icc = _icc_for(photo.icc_profile, "L" if gray else "RGB")
    try:
        with fsutil.atomic_output(dest) as tmp:
            # the encoder's copy (4 bytes a pixel) is gone before the read-back decodes
            _encode(_to_pillow(pixels, alpha, gray), tmp, dest, fmt, int(jpeg_quality), icc,
                    photo.lossless)
            _verify(tmp, dest, fmt, width, height)
    except FileExistsError:
        raise OutputError("image.write_exists", path=dest) from None
    except OSError as exc:
        raise OutputError("image.write_failed", path=dest, reason=exc.strerror or exc) from None


def _is_gray(pixels: np.ndarray) -> bool:
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1])
                and np.array_equal(pixels[..., 1], pixels[..., 2]))


def _to_pillow(pixels: np.ndarray, alpha: np.ndarray | None, gray: bool) -> Image.Image:
    if gray:
        base = np.ascontiguousarray(pixels[..., 0])
        if alpha is None:
            return Image.fromarray(base, "L")
        return Image.fromarray(np.dstack([base, alpha]), "LA")
    if alpha is None:
        return Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    return Image.fromarray(np.dstack([pixels, alpha]), "RGBA")


def _encode(im: Image.Image, tmp: Path, dest: Path, fmt: str, quality: int,
            icc: bytes | None, lossless: bool) -> None:
    # A fresh image from an array: its `info` is empty, so Pillow has nothing to copy
    # (no EXIF, XMP, comment, text chunks); only what is passed here is written.
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.update(quality=quality, optimize=False, progressive=False)
    elif fmt == "PNG":
        options.update(compress_level=4)
    elif fmt == "WEBP":
        options.update(lossless=lossless, quality=quality if not lossless else 80, method=4)
        if im.mode == "LA":
            im = im.convert("RGBA")
        elif im.mode == "L":
            im = im.convert("RGB")
    elif fmt == "TIFF":
        options.update(compression="tiff_adobe_deflate")
    try:
        with open(tmp, "wb") as fh:
            im.save(fh, format=fmt, **options)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES):
            raise
        raise OutputError("image.encode_failed", path=dest, format=fmt,
                          reason=str(exc)) from None
    except (ValueError, TypeError, KeyError) as exc:
        raise OutputError("image.encode_failed", path=dest, format=fmt,
                          reason=str(exc)) from None


def _verify(tmp: Path, dest: Path, fmt: str, width: int, height: int) -> None:
    """Re-read the written file: nothing but the picture, decodable, the right size."""
    data = tmp.read_bytes()
    if not data:
        raise OutputError("image.verify_decode", path=dest, reason="empty file")
    st = metadata.inspect(data)
    if st.format != fmt or st.truncated or st.broken or st.damaged:
        raise OutputError("image.verify_decode", path=dest,
                          reason="; ".join(st.findings()) or f"{st.format}, expected {fmt}")
    if st.problems:
        raise OutputError("image.verify_metadata", path=dest, problems="; ".join(st.problems))
    if fmt == "PNG":
        # read back as a stream (memory: a full decode would hold a second full-size copy
        # beside the pixels just written; media/budget.py)
        _verify_png_stream(data, dest, width, height)
        return
    try:
        with _pillow_pixel_limit(width * height):
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                if im.format != fmt or im.size != (width, height):
                    raise ValueError(f"{im.format} {im.width}x{im.height}, expected {fmt} "
                                     f"{width}x{height}")
                if getattr(im, "n_frames", 1) != 1:
                    raise ValueError(f"{im.n_frames} frames")
                if fmt == "JPEG":
                    # every coefficient is still entropy-decoded, only the IDCT is cheaper
                    im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))
                im.load()
    except OutputError:
        raise
    except Exception as exc:
        raise OutputError("image.verify_decode", path=dest,
                          reason=f"{type(exc).__name__}: {exc}"[:200]) from None


_PNG_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}     # colour type -> samples per pixel (8-bit)


def _verify_png_stream(data: bytes, dest: Path, width: int, height: int) -> None:
    """A written PNG checked without decoding it whole: every chunk's CRC, the header's size,
    8-bit non-interlaced, the image data inflating to exactly one filter byte (0-4) and
    `width` samples per row for `height` rows, and nothing after IEND."""
    import struct
    import zlib

    def bad(reason: str) -> OutputError:
        return OutputError("image.verify_decode", path=dest, reason=reason)

    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise bad("not a PNG")
    pos, row_bytes, filled, ended = 8, None, 0, False
    inflater = zlib.decompressobj()
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or zlib.crc32(kind + body) & 0xFFFFFFFF != \
                struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise bad(f"chunk {kind!r} damaged")
        pos += 12 + length
        if kind == b"IHDR":
            w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (w, h) != (width, height) or depth != 8 or interlace or colour not in _PNG_CHANNELS:
                raise bad(f"header {w}x{h}, depth {depth}, colour {colour}, "
                          f"interlace {interlace}; expected {width}x{height}")
            row_bytes = 1 + width * _PNG_CHANNELS[colour]
        elif kind == b"IDAT":
            if row_bytes is None:
                raise bad("image data before the header")
            feed = body
            while feed:
                try:      # at most 4 MB inflated at a time
                    chunk = inflater.decompress(feed, 4 << 20)
                except zlib.error as exc:
                    raise bad(f"image data: {exc}") from None
                feed = inflater.unconsumed_tail
                for i in range((-filled) % row_bytes, len(chunk), row_bytes):
                    if chunk[i] > 4:
                        raise bad(f"row {(filled + i) // row_bytes}: filter {chunk[i]}")
                filled += len(chunk)
                if filled > row_bytes * height:
                    raise bad("more image data than the header declares")
        elif kind == b"IEND":
            ended = True
            break
    if not ended or pos != len(data):
        raise bad("no end chunk, or data after it")
    if not inflater.eof or inflater.unused_data or filled != row_bytes * height:
        raise bad(f"image data holds {filled} bytes, expected {row_bytes * height}")
