"""Makes the default stickers (blurkit/stickers/*.png) with Pillow's drawing functions.

    python blurkit/stickers/make_stickers.py

Every shape is drawn here by the project; nothing is copied from elsewhere, so the images
are the project's own and released under CC0 (see README.md). Each is a 256 x 256 RGBA PNG:
an opaque round face on a transparent background, drawn at 4x and scaled down (smooth
edges). Re-running gives the same pictures.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
S = 4  # supersampling


def _canvas():
    img = Image.new("RGBA", (SIZE * S, SIZE * S), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _c(*v):  # coordinates in the 256 grid, scaled to the drawing grid
    return [x * S for x in v]


def _head(d, fill, outline=(60, 40, 20, 255)):
    d.ellipse(_c(8, 8, 248, 248), fill=fill, outline=outline, width=6 * S)


def _eyes(d, y=100, dx=42, r=14, colour=(40, 30, 20, 255)):
    for cx in (128 - dx, 128 + dx):
        d.ellipse(_c(cx - r, y - r, cx + r, y + r), fill=colour)


def smile():
    img, d = _canvas()
    _head(d, (255, 204, 51, 255))
    _eyes(d)
    d.arc(_c(68, 110, 188, 200), start=20, end=160, fill=(60, 40, 20, 255), width=10 * S)
    return img


def wink():
    img, d = _canvas()
    _head(d, (120, 200, 255, 255), outline=(20, 60, 110, 255))
    d.ellipse(_c(72, 86, 100, 114), fill=(20, 40, 80, 255))
    d.arc(_c(148, 88, 184, 112), start=200, end=340, fill=(20, 40, 80, 255), width=8 * S)
    d.ellipse(_c(96, 150, 160, 196), fill=(200, 60, 80, 255))
    return img


def cat():
    img, d = _canvas()
    fur, line = (245, 160, 80, 255), (90, 50, 20, 255)
    d.polygon(_c(30, 110, 50, 10, 110, 60), fill=fur, outline=line)
    d.polygon(_c(226, 110, 206, 10, 146, 60), fill=fur, outline=line)
    d.ellipse(_c(18, 40, 238, 248), fill=fur, outline=line, width=6 * S)
    _eyes(d, y=126, dx=44, r=13, colour=(30, 60, 30, 255))
    d.polygon(_c(116, 158, 140, 158, 128, 172), fill=(220, 90, 110, 255))
    for side in (-1, 1):
        for dy in (-8, 6):
            d.line(_c(128 + side * 30, 168, 128 + side * 96, 168 + dy), fill=line, width=3 * S)
    return img


def flower():
    img, d = _canvas()
    for i in range(8):
        import math
        a = i * math.pi / 4
        cx, cy = 128 + 78 * math.cos(a), 128 + 78 * math.sin(a)
        d.ellipse(_c(cx - 48, cy - 48, cx + 48, cy + 48), fill=(250, 120, 170, 255),
                  outline=(150, 40, 90, 255), width=3 * S)
    d.ellipse(_c(48, 48, 208, 208), fill=(255, 215, 70, 255), outline=(150, 100, 20, 255),
              width=5 * S)
    _eyes(d, y=112, dx=32, r=11)
    d.arc(_c(88, 120, 168, 176), start=20, end=160, fill=(60, 40, 20, 255), width=8 * S)
    return img


STICKERS = {"smile": smile, "wink": wink, "cat": cat, "flower": flower}


def main() -> None:
    here = Path(__file__).resolve().parent
    for name, draw in STICKERS.items():
        draw().resize((SIZE, SIZE), Image.LANCZOS).save(here / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
