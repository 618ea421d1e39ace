"""The planted-text test set, and the independent reader (Tesseract) that judges it.

    .venv/bin/python benchmarks/textset.py --half tune --out /tmp/textset [--limit N]

Every photo of `../shared/data` that photos.py uses (the WIDER FACE subset and the face-free
negatives) gets two or three pieces of text planted into it: names and short Swedish
phrases on a name badge, a sheet of paper, a screen, a cake or a door sign, drawn with
fonts from Debian packages (fonts-dejavu-core, fonts-liberation, fonts-noto-core), text
heights 10-80 px (log-uniform), turned by up to +-30 degrees, in perspective (each corner
moved by up to 8 % of the carrier's size), blurred (sigma 0-1.2 px) and the whole photo
saved as JPEG at quality 60-95. Everything is drawn from a random generator seeded by the
source photo's SHA-256, so the set is the same on every machine. The half of a planted
photo is its source photo's (benchmarks/photosplit.py): nothing tuned on the tune half
reaches the check half.

For each planted word `words.json` holds its text, its quadrilateral in the planted photo
(clockwise from top-left), its height in pixels (the mean of the quad's left and right
sides: the word's ink box as drawn, before blur), the carrier and the font.

The reader: Debian's Tesseract 5 (`tesseract-ocr`, `tesseract-ocr-swe`), as a subprocess,
never used by blurkit. `read_word` cuts the word out along its known quadrilateral (with a
margin of a quarter of its height), makes it upright and ~48 px tall, and asks Tesseract
for one line (`--psm 7`, Swedish + English). A word counts as read when a token of the
answer matches it with a similarity (difflib ratio, case and accents kept) of at least
READ_SIMILARITY: a name with one wrong letter still gives a person away. The reader is
given the word's position, which a person looking at the picture would not need to be
told: a fail-safe measure.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA  # noqa: E402
from photosplit import half, load_detailed  # noqa: E402

FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = ["dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf", "dejavu/DejaVuSerif.ttf",
         "dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf",
         "liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf",
         "liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Italic.ttf",
         "liberation/LiberationMono-Regular.ttf", "liberation/LiberationSansNarrow-Bold.ttf",
         "noto/NotoSans-Regular.ttf", "noto/NotoSans-Bold.ttf", "noto/NotoSerif-Regular.ttf",
         "noto/NotoSerif-BoldItalic.ttf", "noto/NotoSans-Italic.ttf"]
FIRST = ["Lisa", "Ahmed", "Maja", "Erik", "Fatima", "Sven", "Elsa", "Oskar", "Astrid", "Noah",
         "Ingrid", "Hassan", "Saga", "Olle", "Leila", "Göran", "Märta", "Yusuf", "Åsa", "Linnea",
         "Bengt", "Amira", "Kerstin", "Jonas", "Ebba", "Mohammed", "Greta", "Viktor"]
LAST = ["Andersson", "Karimi", "Lindqvist", "Johansson", "Ali", "Nilsson", "Berg", "Holm",
        "Lund", "Ekström", "Öberg", "Hussein", "Sjöberg", "Persson", "Wallin", "Åkesson",
        "Haddad", "Svensson", "Forsberg", "Björk"]
PHRASES = ["Grattis {first} 40 år", "Välkommen till Solrosen", "Dagverksamhet Björken",
           "Hej {first}!", "Tack för idag", "Glad påsk", "Lunch klockan tolv",
           "Måndag bad och bastu", "Daglig verksamhet Tallen", "Personalrum", "Grattis {first}",
           "{first} fyller år", "Träffpunkt Eken", "Boende Lärkan", "Rum {n} {first}",
           "Mottagning öppen", "Korttidsboende Linden", "Skåp {n} {first} {last}"]
KINDS = ("badge", "paper", "screen", "cake", "sign")
READ_SIMILARITY = 0.8
OCR_HEIGHT = 48
MIN_HEIGHT = 12          # the target counts words at least this tall
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}   # one Tesseract, one thread (2 run at once)


def font_path(name: str) -> Path:
    return FONT_DIR / name


def fonts_present() -> bool:
    return all(font_path(f).is_file() for f in FONTS)


def tesseract_ok() -> bool:
    if shutil.which("tesseract") is None:
        return False
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    return "swe" in langs.split()


# ------------------------------------------------------------------------- drawing

def _lines(kind: str, rng: random.Random) -> list[str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if kind == "badge":
        return [first, last] if rng.random() < 0.6 else [f"{first} {last}"]
    phrase = rng.choice(PHRASES).format(first=first, last=last, n=rng.randint(1, 24))
    if kind in ("paper", "sign") and rng.random() < 0.4:
        return [phrase, f"{first} {last}"]
    return [phrase]


_STYLE = {   # background, text colour choices, padding in text heights
    "badge": ([(250, 250, 250), (255, 244, 200), (220, 235, 255)], [(20, 20, 20), (10, 40, 120)]),
    "paper": ([(245, 242, 232), (255, 255, 255), (235, 240, 245)], [(25, 25, 30), (40, 40, 160)]),
    "screen": ([(15, 15, 20), (20, 30, 60), (0, 0, 0)], [(240, 240, 240), (120, 230, 120),
                                                         (255, 210, 80)]),
    "cake": ([(255, 220, 230), (250, 245, 225), (230, 200, 160)], [(200, 30, 60), (40, 90, 200),
                                                                  (120, 60, 20)]),
    "sign": ([(20, 70, 150), (20, 110, 60), (245, 245, 245), (120, 70, 40)],
             [(255, 255, 255), (250, 250, 240)]),
}


def _luma(rgb) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def draw_carrier(kind: str, lines: list[str], font_file: Path, height: int,
                 rng: random.Random):
    """An upright RGBA carrier with its text; returns (image, words) with each word's
    (text, x1, y1, x2, y2) ink box on it. `height` is the main line's ink height (cap
    height plus descenders as drawn)."""
    size = max(6, int(round(height * 1.05)))
    fonts = [ImageFont.truetype(str(font_file), size if i == 0 else max(6, int(size * 0.8)))
             for i in range(len(lines))]
    bgs, fgs = _STYLE[kind]
    bg, fg = rng.choice(bgs), rng.choice(fgs)
    if abs(_luma(fg) - _luma(bg)) < 90:      # a white sign gets dark letters
        fg = (20, 20, 20) if _luma(bg) > 128 else (250, 250, 250)
    pad = int(size * rng.uniform(0.5, 1.0))
    gap = int(size * 0.35)
    widths = [f.getbbox(line)[2] for f, line in zip(fonts, lines)]
    hs = [f.getbbox("ÅÄgjy")[3] for f in fonts]
    w = max(widths) + 2 * pad
    h = sum(hs) + gap * (len(lines) - 1) + 2 * pad
    if kind == "badge":
        h += int(size * 0.6)       # a coloured band on top
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    radius = int(size * 0.4)
    if kind == "cake":
        d.ellipse([-w * 0.15, -h * 0.25, w * 1.15, h * 1.25], fill=bg + (255,))
        img = img.crop((0, 0, w, h))
        d = ImageDraw.Draw(img)
    else:
        d.rounded_rectangle([0, 0, w - 1, h - 1], radius=radius if kind != "screen" else 2,
                            fill=bg + (255,),
                            outline=(60, 60, 60, 255) if kind in ("sign", "screen") else None,
                            width=max(1, size // 12))
    y = pad
    if kind == "badge":
        band = rng.choice([(200, 30, 40), (30, 90, 170), (20, 130, 80)])
        d.rounded_rectangle([0, 0, w - 1, int(size * 0.6)], radius=radius, fill=band + (255,))
        y += int(size * 0.6)
    words = []
    for f, line, lw, lh in zip(fonts, lines, widths, hs):
        x = (w - lw) // 2
        d.text((x, y), line, font=f, fill=fg + (255,))
        cursor = x
        for token in line.split(" "):
            if token:
                tb = d.textbbox((cursor, y), token, font=f)
                words.append((token, tb[0], tb[1], tb[2], tb[3]))
            cursor += f.getlength(token + " ")
        y += lh + gap
    return img, words


def _place(shape_hw, carrier_wh, rng: random.Random, angle: float, persp: float):
    """Destination corners of the carrier (clockwise from top-left) inside the photo, or
    None when it does not fit."""
    H, W = shape_hw
    cw, ch = carrier_wh
    rad = np.deg2rad(angle)
    rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]])
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float64) - [cw / 2, ch / 2]
    jitter = np.array([[rng.uniform(-persp, persp) * cw, rng.uniform(-persp, persp) * ch]
                       for _ in range(4)])
    pts = (corners + jitter) @ rot.T
    span = pts.max(axis=0) - pts.min(axis=0)
    if span[0] >= W - 4 or span[1] >= H - 4:
        return None
    cx = rng.uniform(-pts[:, 0].min() + 2, W - pts[:, 0].max() - 2)
    cy = rng.uniform(-pts[:, 1].min() + 2, H - pts[:, 1].max() - 2)
    return pts + [cx, cy]


def plant(rgb: np.ndarray, seed: int, pieces: int | None = None):
    """`rgb` with two or three carriers of text planted (deterministic for `seed`); returns
    (planted RGB before JPEG, JPEG quality, word records)."""
    rng = random.Random(seed)
    out = rgb.astype(np.float32)
    H, W = rgb.shape[:2]
    records = []
    occupied = np.zeros((H, W), bool)
    for piece in range(pieces or rng.choice((2, 3))):
        kind = KINDS[(seed + piece) % len(KINDS)] if rng.random() < 0.5 else rng.choice(KINDS)
        font = rng.choice(FONTS)
        height = int(round(np.exp(rng.uniform(np.log(10), np.log(80)))))
        angle = rng.uniform(-30, 30)
        persp = rng.uniform(0.0, 0.08)
        sigma = rng.uniform(0.0, 1.2)
        lines = _lines(kind, rng)
        for _ in range(12):      # shrink until it fits the photo and nothing planted before
            img, words = draw_carrier(kind, lines, font_path(font), height, rng)
            dst = _place((H, W), img.size, rng, angle, persp)
            if dst is not None:
                mask = np.zeros((H, W), np.uint8)
                cv2.fillPoly(mask, [np.round(dst).astype(np.int32)], 1)
                if not (occupied & mask.astype(bool)).any():
                    break
            height = max(10, int(height * 0.8))
            dst = None
        if dst is None:
            continue
        occupied |= mask.astype(bool)
        cw, ch = img.size
        src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
        M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        layer = cv2.warpPerspective(np.asarray(img, np.float32), M, (W, H),
                                    flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
        if sigma > 0.3:
            layer = cv2.GaussianBlur(layer, (0, 0), sigma)
        alpha = layer[..., 3:4] / 255.0
        # premultiplied by the warp's interpolation: colour / alpha where alpha > 0
        colour = np.where(alpha > 1e-3, layer[..., :3] / np.maximum(alpha, 1e-3), 0)
        out = colour * alpha + out * (1 - alpha)
        for text, x1, y1, x2, y2 in words:
            q = cv2.perspectiveTransform(np.array([[[x1, y1], [x2, y1], [x2, y2], [x1, y2]]],
                                                  np.float32), M)[0]
            h = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
            records.append({"text": text, "quad": [[round(float(x), 1), round(float(y), 1)]
                                                  for x, y in q],
                            "height": round(float(h), 1), "kind": kind, "font": font,
                            "angle": round(angle, 1), "blur": round(sigma, 2)})
    quality = rng.randint(60, 95)
    return np.clip(np.round(out), 0, 255).astype(np.uint8), quality, records


def sources(data: Path) -> list[Path]:
    """The photos photos.py uses: the WIDER subset and the negatives."""
    wider = sorted(load_detailed(data / "wider_face_val_subset"))
    return wider + sorted((data / "negatives_no_faces").glob("*.jpg"))


def build(data: Path, which: str, out: Path, limit: int | None = None) -> list[dict]:
    """Plant text into every source photo of half `which`; writes the JPEGs and
    words.json into `out` and returns the records (one per photo)."""
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for path in sources(data):
        if half(path) != which:
            continue
        digest = hashlib.sha256(path.read_bytes()).digest()
        seed = int.from_bytes(digest[:8], "big")
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        planted, quality, words = plant(rgb, seed)
        name = f"{path.parent.name}__{path.stem}.jpg"
        cv2.imwrite(str(out / name), cv2.cvtColor(planted, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, quality])
        items.append({"file": name, "source": str(path), "quality": quality, "words": words})
        if limit and len(items) >= limit:
            break
    (out / "words.json").write_text(json.dumps(items, ensure_ascii=False, indent=1),
                                    encoding="utf-8")
    return items


# ------------------------------------------------------------------------- the reader

def word_crop(rgb: np.ndarray, quad, margin: float = 0.25) -> np.ndarray:
    """The word cut out along `quad` (grown by `margin` of its height on every side),
    upright, OCR_HEIGHT px tall plus the margin, in grey."""
    q = np.asarray(quad, np.float32)
    wv = ((q[1] - q[0]) + (q[2] - q[3])) / 2
    hv = ((q[3] - q[0]) + (q[2] - q[1])) / 2
    w, h = float(np.linalg.norm(wv)), float(np.linalg.norm(hv))
    if w < 1 or h < 1:
        return np.zeros((OCR_HEIGHT, OCR_HEIGHT), np.uint8)
    uw, uh = wv / w, hv / h
    m = margin * h
    src = np.array([q[0] - uw * m - uh * m, q[1] + uw * m - uh * m,
                    q[2] + uw * m + uh * m, q[3] - uw * m + uh * m], np.float32)
    scale = OCR_HEIGHT / h
    tw, th = int(round((w + 2 * m) * scale)), int(round((h + 2 * m) * scale))
    dst = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], np.float32)
    M = cv2.getPerspectiveTransform(src, dst)
    crop = cv2.warpPerspective(rgb, M, (tw, th), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)


def ocr(gray: np.ndarray, psm: int = 7) -> str:
    ok, png = cv2.imencode(".png", gray)
    proc = subprocess.run(["tesseract", "stdin", "stdout", "--psm", str(psm), "-l", "swe+eng"],
                          input=png.tobytes(), capture_output=True, timeout=60, env=_ENV)
    return proc.stdout.decode("utf-8", "replace")


def matches(word: str, answer: str) -> bool:
    """Does a token of the reader's answer match `word` (ratio >= READ_SIMILARITY)?"""
    w = word.strip(".,!?:;")
    tokens = [t.strip(".,!?:;'\"|()[]{}") for t in answer.split()]
    joined = "".join(answer.split())
    cands = tokens + [joined]
    return any(difflib.SequenceMatcher(None, w, t).ratio() >= READ_SIMILARITY for t in cands if t)


def read_word(rgb: np.ndarray, word: dict) -> bool:
    """Can the reader read `word` (a words.json record) in `rgb`? Upright first; a word on
    a dark ground is tried inverted too."""
    crop = word_crop(rgb, word["quad"])
    for img in (crop, 255 - crop):
        if matches(word["text"], ocr(img)):
            return True
    return False


def read_all(pairs, workers: int = 2) -> list[bool]:
    """read_word over (rgb, word) pairs, `workers` Tesseracts at once."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: read_word(*p), pairs))


def page_words(rgb: np.ndarray, min_conf: float = 80.0) -> list[str]:
    """Words Tesseract reads on a whole picture (sparse text, `--psm 11`), with at least
    `min_conf` confidence and three letters: real text in a photo nobody annotated."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    proc = subprocess.run(["tesseract", "stdin", "stdout", "--psm", "11", "-l", "swe+eng",
                           "tsv"], input=png.tobytes(), capture_output=True, timeout=120, env=_ENV)
    words = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12:
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        letters = sum(ch.isalpha() for ch in text)
        if conf >= min_conf and letters >= 3 and letters >= 0.7 * len(text):
            words.append(text)
    return words


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--half", choices=("tune", "check"), default="tune")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--read", action="store_true", help="also ask the reader about every word")
    args = ap.parse_args()
    items = build(args.data, args.half, args.out, args.limit)
    words = [w for it in items for w in it["words"]]
    print(f"{len(items)} photos, {len(words)} words planted "
          f"({sum(w['height'] >= MIN_HEIGHT for w in words)} at least {MIN_HEIGHT} px) "
          f"in {args.out}")
    if args.read:
        pairs = []
        for it in items:
            rgb = cv2.cvtColor(cv2.imread(str(args.out / it["file"])), cv2.COLOR_BGR2RGB)
            pairs += [(rgb, w) for w in it["words"]]
        read = read_all(pairs)
        print(f"the reader reads {sum(read)} of {len(read)} planted words")


if __name__ == "__main__":
    main()
