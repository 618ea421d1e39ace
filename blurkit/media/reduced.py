"""Pictures at display size, decoded no larger than needed (the page's views of a photo).

The review page shows an output's preview (at most 1600 px) and, on explicit request, the
original. Decoding a 150-MP original whole to show 1600 px took the web server to 1.9 GB
(a 196-MP one-bit PNG). Here:

- JPEG: Pillow's `draft` makes libjpeg decode at 1/2, 1/4 or 1/8 of the size (DCT
  scaling), the largest reduction that still gives at least the display size;
- PNG, WebP, TIFF, AVIF: decoded in Pillow's own (compact: 1 byte a pixel for one-bit and
  palette pictures) storage, then converted and reduced a strip of rows at a time, so no
  full-size RGB copy exists;
- HEIF: libheif cannot decode reduced; its full decode is within the memory budget's limit.

The same checks as `read_photo` come first (content sniffed, declared size within this
machine's limit, truncated files refused), and the EXIF orientation is applied.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from blurkit.errors import InputError
from blurkit.media import budget, metadata

__all__ = ["display_image", "display_jpeg", "DISPLAY"]

DISPLAY = 1600
_STRIP = 512


def display_image(path: Path, limit: int = DISPLAY) -> Image.Image:
    """An RGB Pillow image of the photo at `path`, its long side at most `limit` (EXIF
    orientation applied); InputError when it cannot be read (as `read_photo`)."""
    from blurkit.media import image as img

    path = Path(path)
    data = img._read_file(path)
    fmt = metadata.sniff(data)
    if fmt is None:
        raise InputError("image.not_image", path=path)
    if fmt not in img.SUPPORTED_FORMATS:
        raise InputError("image.unsupported_format", path=path, format=fmt)
    st = metadata.inspect(data)
    limit_px = budget.photo_pixel_limit()
    if st.width is not None and st.height is not None:
        img._check_size(path, st.width, st.height, limit_px)
    if st.truncated:
        raise InputError("image.truncated", path=path, format=img._NAMES[fmt])
    if fmt == "HEIF":
        photo = img.read_photo(path)
        out = Image.fromarray(photo.pixels)
        del photo
        out.thumbnail((limit, limit), Image.Resampling.LANCZOS)
        return out
    try:
        with img._pillow_pixel_limit((st.width or 0) * (st.height or 0) or limit_px):
            with Image.open(io.BytesIO(data), formats=img._PIL_FORMATS[fmt]) as im:
                img._check_size(path, im.width, im.height, limit_px)
                orientation = st.orientation
                if orientation is None and fmt == "AVIF":
                    orientation = im.getexif().get(0x0112)
                if fmt == "JPEG":
                    im.draft("RGB", (limit, limit))     # DCT scaling: never below `limit`
                im.load()
                if fmt == "TIFF" and orientation and 0x0112 not in im.tag_v2:
                    orientation = None                  # Pillow applied it while loading
                out = _reduced_rgb(im, limit)
    except InputError:
        raise
    except Exception as exc:
        raise img._decode_error(path, img._NAMES[fmt], exc) from exc
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        out = Image.fromarray(img._orient(np.asarray(out), orientation))
    out.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    return out


def _reduced_rgb(im: Image.Image, limit: int) -> Image.Image:
    """`im` as RGB, reduced by a whole factor towards `limit`, a strip at a time."""
    width, height = im.size
    factor = max(1, min(width, height, max(width, height) // limit))
    target = "RGB"
    has_alpha = im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        target = "RGBA"
    rows = _STRIP // factor * factor or factor
    parts = []
    for y0 in range(0, height, rows):
        strip = im.crop((0, y0, width, min(height, y0 + rows)))
        if strip.mode != target:
            strip = strip.convert(target)
        if factor > 1:
            strip = strip.reduce(factor)
        parts.append(np.asarray(strip))
    arr = np.concatenate(parts, axis=0)
    if has_alpha:      # what a viewer shows: on white
        a = arr[..., 3:4].astype(np.uint16)
        arr = ((arr[..., :3].astype(np.uint16) * a + 255 * (255 - a) + 127) // 255
               ).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


def display_jpeg(path: Path, limit: int = DISPLAY, quality: int = 90) -> bytes:
    """A display JPEG of the photo at `path`, in memory (for originals: never on disk)."""
    im = display_image(path, limit)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
