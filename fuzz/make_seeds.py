"""Build the kept seed corpora in fuzz/corpus/<target>/ (committed; bounded in size).

The corpus in the repository is what this script made, merged with what the campaigns
found (libFuzzer's -merge: the smallest set of inputs keeping all coverage seen):

    .venv/bin/python fuzz/campaign.py --seconds 90 --keep /tmp/fz
    fuzz/run.py TARGET -merge=1 -max_len=12288 NEW_DIR fuzz/corpus/TARGET /tmp/fz/TARGET/corpus


    .venv/bin/python fuzz/make_seeds.py [--shared ../shared/data]

Seeds are (a) small slices of public-licence files from ../shared/data (ExifTool's test
stubs, Artistic/GPL; immich's test assets, public domain; GoPro's GPMF samples, MIT/Apache)
— never a picture of a person: headers, box trees and 8x8 stubs only — and (b) tiny files
made here with the test suite's own factories (every metadata kind blurkit knows, bombs'
headers, clips in five containers). The project's samples are added at run time by
scripts/fuzz (fuzz/campaign.py), not copied. Bound: each seed <= MAX_SEED bytes and the
whole corpus <= MAX_TOTAL bytes (checked by tests/test_fuzz_corpus.py).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

MAX_SEED = 48 << 10
MAX_TOTAL = 2 << 20


def _save(target: str, data: bytes, out: Path) -> None:
    data = data[:MAX_SEED]
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def _mp4_skeleton(data: bytes) -> bytes:
    """ftyp + an 8-byte mdat + moov (+ whatever follows): the box tree without the media."""
    out, pos = b"", 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if size < 8:
            break
        out += struct.pack(">I", 16) + b"mdat" + bytes(8) if kind == b"mdat" \
            else data[pos:pos + size]
        pos += size
    return out


def shared_seeds(shared: Path, out: Path) -> None:
    stubs = shared / "exif_exiftool_testimages"
    for p in sorted(stubs.glob("*.jpg")):
        _save("jpeg", p.read_bytes(), out)
    if (stubs / "QuickTime.heic").exists():
        _save("heif", (stubs / "QuickTime.heic").read_bytes(), out)
    if (stubs / "QuickTime.mov").exists():
        _save("mp4_boxes", (stubs / "QuickTime.mov").read_bytes(), out)
        _save("video_probe", (stubs / "QuickTime.mov").read_bytes(), out)
    immich = shared / "exif_immich_test_assets"
    for rel, target, n in (("formats/heic/IMG_2682.heic", "heif", 16 << 10),
                           ("formats/motionphoto/samsung-one-ui-6.heic", "heif", 16 << 10),
                           ("formats/avif/8bit-sRGB.avif", "heif", 8 << 10),
                           ("formats/webp/denali.webp", "webp", 6 << 10),
                           ("metadata/dates/time-created.jpg", "jpeg", 4 << 10),
                           ("metadata/dates/datetimeoriginal-gps.jpg", "jpeg", 4 << 10),
                           ("metadata/dates/gps-datetime.jpg", "jpeg", 4 << 10)):
        p = immich / rel
        if p.exists():
            _save(target, p.read_bytes()[:n], out)
    clip = immich / "metadata/dates/future42603.mp4"
    if clip.exists():
        _save("video_probe", clip.read_bytes(), out)
        _save("mp4_boxes", clip.read_bytes(), out)
    for p in sorted((shared / "metadata_video_gopro_gpmf").glob("*.mp4")):
        _save("mp4_boxes", _mp4_skeleton(p.read_bytes()), out)


def made_seeds(out: Path) -> None:
    import mediafactory as mf
    import numpy as np
    import videofactory as vf
    from PIL import Image

    arr = mf.pattern(16, 12, seed=3)
    exif = mf.exif_bytes(orientation=6, gps=True, camera=True)
    jpeg = mf.encode(arr, "JPEG", quality=80)
    for data in (jpeg, mf.encode(arr, "JPEG", exif=exif),
                 mf.insert_segments(jpeg, mf.jfif_with_thumbnail(), mf.mpf_segment(),
                                    mf.jpeg_segment(0xFE, b"kommentar")),
                 mf.insert_segments(jpeg, mf.jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>")),
                 mf.with_sof_size(jpeg, 14000, 14000), jpeg + mf.mp4_trailer(),
                 mf.encode(arr, "JPEG", icc_profile=mf.icc_with({b"dmnd": b"desc" + bytes(12)})),
                 mf.encode(np.zeros((12, 16), np.uint8), "JPEG"),
                 mf.encode(np.zeros((12, 16, 4), np.uint8), "JPEG", mode="CMYK")):
        _save("jpeg", data, out)
    png = mf.encode(arr, "PNG")
    for data in (png, mf.png_declaring(14000, 14000),
                 mf.insert_png_chunks(png, mf.png_chunk(b"tEXt", b"Author\x00Anna"),
                                      mf.png_chunk(b"eXIf",
                                                   exif[6:] if exif[:4] == b"Exif" else exif),
                                      mf.png_chunk(b"tIME", bytes(7))),
                 mf.encode(np.zeros((12, 16), bool), "PNG"),
                 mf.encode(np.zeros((12, 16), np.uint8), "PNG", mode="P")):
        _save("png", data, out)
    frames = [Image.fromarray(arr), Image.fromarray(arr[::-1].copy())]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    _save("png", buf.getvalue(), out)
    webp = mf.encode(arr, "WEBP", quality=80)
    for data in (webp, mf.encode(arr, "WEBP", lossless=True),
                 mf.webp_add_chunk(webp, b"EXIF", exif), mf.encode(arr, "WEBP", exif=exif)):
        _save("webp", data, out)
    for data in (mf.encode(arr, "TIFF"), mf.encode(arr, "TIFF", exif=exif),
                 mf.encode(arr, "TIFF", compression="tiff_deflate")):
        _save("tiff", data, out)
    try:
        import pillow_heif
        buf = io.BytesIO()
        pillow_heif.from_bytes("RGB", (16, 12), arr.tobytes()).save(buf, quality=50, exif=exif)
        _save("heif", buf.getvalue(), out)
    except Exception as exc:   # a HEIF encoder is not everywhere
        print("no HEIF seed made:", exc)
    for target in ("registration_photo",):
        for i, data in enumerate((jpeg, png, webp, mf.encode(arr, "TIFF"))):
            _save(target, bytes([i]) + data, out)
    with tempfile.TemporaryDirectory() as tmp:
        for ext in (".mp4", ".mov", ".mkv", ".webm", ".avi"):
            path = Path(tmp) / f"c{ext}"
            codec = {".webm": "libvpx-vp9", ".avi": "mpeg4"}.get(ext, "libx264")
            audio = {".webm": ("libopus",), ".avi": ()}.get(ext, ("aac",))
            try:
                vf.make_clip(path, width=32, height=32, n=3, vcodec=codec, audio=audio,
                             flash_at=None)
            except Exception as exc:
                print(f"no {ext} seed made: {exc}")
                continue
            _save("video_probe", path.read_bytes(), out)
            if ext in (".mp4", ".mov"):
                _save("mp4_boxes", path.read_bytes(), out)
    for name in ("IMG_0001.JPG", "Utflykt/dag 1/bild.heic", "../../etc/passwd", "a\\b\\c.jpg",
                 "/abs/x.png", ".hidden/x.jpg", "ok/./x.jpg", "x" * 210 + ".jpg",
                 "Ånge – sommar 2024/åäö.webp", "con:x?.jpg"):
        _save("upload_name", name.encode("utf-8"), out)
    for form in ("action=hide_region&x1=1&y1=2&x2=30&y2=40&shape=rect&revision=3",
                 "action=hide_region&x1=nan&y1=inf&x2=-1e308&y2=1,5",
                 "action=show&face=0&person_id=7", "action=hide_candidate&candidate=0",
                 "action=hide_track&track=2",
                 "action=hide_region&x1=1&y1=1&x2=9&y2=9&from=0&to=2.5",
                 "purpose=public&purpose=internal&signed=2024-05-01&kind=oral&guardian=yes"
                 "&expires=2026-01-01&form_ref=A1&recorded_by=Eva&birth_year=2012&name=Anna"):
        _save("forms", form.encode(), out)
    for text in ('language = "sv"\nmode = "destroy"\nmargin = 0.4\n',
                 'jpeg_quality = 92\nworkers = 2\nreview = true\npurpose = "public"\n',
                 'detector = "ensemble"\nmask = "head"\noperator = "Eva"\n',
                 'margin = 1e400\n', 'jpeg_quality = 92.0\n', '[x]\ny = 1\n',
                 'language = "sv"\nlanguage = "en"\n'):
        _save("settings", text.encode(), out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    out = HERE / "corpus"
    out.mkdir(exist_ok=True)         # added to (names are content hashes): the inputs merged
    if args.shared.is_dir():         # in from campaigns stay
        shared_seeds(args.shared, out)
    made_seeds(out)
    sizes = [p.stat().st_size for p in out.rglob("*") if p.is_file()]
    print(f"{len(sizes)} seeds, {sum(sizes)} bytes in {out}")
    assert sum(sizes) <= MAX_TOTAL, "the corpus is over its bound"


if __name__ == "__main__":
    main()
