"""Checks that a written MP4 hides nothing: used by `video.VideoWriter` before it publishes.

Two independent looks at the temporary output, both before the atomic rename:

1. **The box tree, read byte by byte** (`mp4_problems`). Every ISO-BMFF box down to the sample
   tables must be on an allow-list of purely structural boxes. Anything else fails: `udta`
   (user data: ©xyz location, make, model, ©too encoder, chapters), `meta`/`keys`/`ilst`
   (QuickTime metadata), `uuid` (XMP, Sony/GoPro blobs), `tref`/`chap` (chapter or timecode
   references), `GPMF`, and any unknown box. `hdlr` names must be the muxer's generic names,
   track matrices must be the identity (no rotation left to apply) and the creation and
   modification times in `mvhd`/`tkhd`/`mdhd` must be zero. Sample entries must be `avc1`
   (video) and known audio codecs. This does not depend on how FFmpeg *parses* the file.
2. **FFmpeg's view** (`stream_problems`): exactly one video stream (H.264, yuv420p, the expected
   size, no display matrix), the expected number of audio streams, no data, subtitle or
   attachment streams, no chapters, no tags beyond a structural allow-list, and the H.264
   bitstream carries no SEI messages (x264 writes its version and settings there).

Both return a list of human-readable problems (empty = clean); `check_output` turns them into
one `OutputError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

# Boxes whose children are boxes (we descend into them).
_CONTAINERS = {"moov", "trak", "mdia", "minf", "dinf", "stbl", "edts", "udta"}
# Structural boxes allowed at each level; anything else is a problem.
_ALLOWED = {
    "": {"ftyp", "moov", "mdat", "free", "skip", "wide"},
    "moov": {"mvhd", "trak", "free", "skip"},
    "trak": {"tkhd", "edts", "mdia", "free"},
    "edts": {"elst"},
    "mdia": {"mdhd", "hdlr", "minf"},
    "minf": {"vmhd", "smhd", "dinf", "stbl"},
    "dinf": {"dref"},
    "stbl": {"stsd", "stts", "stss", "ctts", "cslg", "stsc", "stsz", "stz2", "stco", "co64",
             "sgpd", "sbgp", "sdtp", "stps"},
}
# Generic handler names FFmpeg's mov muxer writes; a camera's own ("\tGoPro AVC",
# "Core Media Video", "Apple Video Media Handler") would be a device fingerprint.
ALLOWED_HANDLER_NAMES = {"VideoHandler", "SoundHandler", ""}
_VIDEO_ENTRIES = {"avc1"}
_AUDIO_ENTRIES = {"mp4a", "ac-3", "ec-3", "alac", "Opus", ".mp3"}

# Tags FFmpeg reports for a clean output: structural only.
ALLOWED_FORMAT_TAGS = {"major_brand", "minor_version", "compatible_brands"}
ALLOWED_STREAM_TAGS = {
    "language": {"und"},
    "handler_name": ALLOWED_HANDLER_NAMES,
    "vendor_id": {"[0][0][0][0]"},
}


@dataclass
class Box:
    path: str          # e.g. "moov/trak/mdia/hdlr"
    type: str
    start: int         # offset of the box header
    payload: int       # offset of the payload (after header)
    end: int           # offset just past the box


@dataclass
class Expectation:
    """What the writer believes it wrote; `check_output` compares the file with it."""
    width: int
    height: int
    video_frames: int
    audio_streams: int
    duration: float | None = None          # seconds, whole file; None = don't check
    video_end: float | None = None         # seconds, end of the last picture; None = don't check
    duration_tolerance: float = 0.1
    audio_codecs: tuple[str, ...] = field(default_factory=tuple)


_MAX_DEPTH = 16      # moov/trak/mdia/minf/stbl is 5 deep: a deeper tree is hostile


def walk_boxes(path: Path) -> tuple[list[Box], list[str]]:
    """All boxes of an MP4 file down to the sample tables (not into `stsd` or `mdat`)."""
    boxes: list[Box] = []
    problems: list[str] = []
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()

        def walk(start: int, end: int, parent: str) -> None:
            pos = start
            while pos < end:
                if end - pos < 8:
                    problems.append(f"{parent or 'file'}: {end - pos} stray bytes at {pos}")
                    return
                fh.seek(pos)
                head = fh.read(16)
                (length,) = struct.unpack(">I", head[:4])
                kind = head[4:8].decode("latin-1")
                header = 8
                if length == 1:
                    if end - pos < 16:      # (found by fuzzing: was struct.error)
                        problems.append(f"{parent or 'file'}/{kind}: cut-off 64-bit box size "
                                        f"at {pos}")
                        return
                    (length,) = struct.unpack(">Q", head[8:16])
                    header = 16
                elif length == 0:
                    length = end - pos
                if length < header or pos + length > end:
                    problems.append(f"{parent or 'file'}/{kind}: bad box size {length} at {pos}")
                    return
                box_path = f"{parent}/{kind}" if parent else kind
                boxes.append(Box(box_path, kind, pos, pos + header, pos + length))
                if kind in _CONTAINERS:
                    if box_path.count("/") >= _MAX_DEPTH:
                        problems.append(f"{box_path}: boxes nested deeper than {_MAX_DEPTH}")
                        return
                    walk(pos + header, pos + length, box_path)
                pos += length

        walk(0, size, "")
    return boxes, problems


def blank_boxes(path: Path, types: tuple[str, ...] = ("udta", "meta")) -> list[str]:
    """Turn every box of `types` into a zero-filled `free` box, in place; returns their paths.

    FFmpeg's mp4 muxer always writes `moov/udta/meta` (an iTunes `mdir` handler, vendor
    "appl", and an empty `ilst`) even with no metadata at all. Nothing in it identifies anyone,
    but exiftool shows "Handler Vendor ID: Apple" for it, which reads like device information.
    Blanking keeps every size and offset (so the sample tables stay valid) and leaves only
    padding.
    """
    boxes, _ = walk_boxes(path)
    done = []
    with open(path, "r+b") as fh:
        for box in boxes:
            if box.type in types and not any(d for d in done if box.path.startswith(d + "/")):
                fh.seek(box.start + 4)
                fh.write(b"free")
                fh.seek(box.payload)
                remaining = box.end - box.payload
                while remaining:
                    chunk = min(remaining, 1 << 16)
                    fh.write(b"\x00" * chunk)
                    remaining -= chunk
                done.append(box.path)
        fh.flush()
    return done


def _read(path: Path, box: Box, n: int | None = None) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(box.payload)
        return fh.read((box.end - box.payload) if n is None else n)


def mp4_problems(path: Path) -> list[str]:
    """Structural allow-list check of the box tree (see module docstring)."""
    path = Path(path)
    boxes, problems = walk_boxes(path)
    if not boxes or boxes[0].type != "ftyp":
        problems.append("file does not start with an ftyp box")
    for box in boxes:
        parent = box.path.rsplit("/", 2)[-2] if "/" in box.path else ""
        if box.type not in _ALLOWED.get(parent, set()):
            problems.append(f"unexpected box {box.path!r}")
            continue
        try:
            data = None
            if box.type in ("mvhd", "tkhd", "mdhd"):
                data = _read(path, box)
                version = data[0]
                if version == 1:
                    created, modified = struct.unpack(">QQ", data[4:20])
                else:
                    created, modified = struct.unpack(">II", data[4:12])
                if created or modified:
                    problems.append(f"{box.path}: creation/modification time is set")
                if box.type == "tkhd":
                    # matrix: after version/flags, times, track id, reserved, duration,
                    # 8 reserved bytes, layer, alternate group, volume, 2 reserved
                    off = (4 + (16 if version == 1 else 8) + 4 + 4 + (8 if version == 1 else 4)
                           + 8 + 8)
                    matrix = struct.unpack(">9i", data[off:off + 36])
                    if matrix != (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000):
                        problems.append(f"{box.path}: track matrix is not the identity {matrix}")
            elif box.type == "hdlr":
                data = _read(path, box)
                name = data[24:].split(b"\x00", 1)[0]
                # QuickTime-style Pascal strings start with their length byte
                if name and name[0] == len(name) - 1:
                    name = name[1:]
                text = name.decode("utf-8", "replace")
                if text not in ALLOWED_HANDLER_NAMES:
                    problems.append(f"{box.path}: handler name {text!r} is not a generic one")
                kind = data[8:12].decode("latin-1")
                if kind not in ("vide", "soun"):
                    problems.append(f"{box.path}: handler type {kind!r} "
                                    f"(only video and sound allowed)")
            elif box.type == "stsd":
                data = _read(path, box, 8 + 90)
                (count,) = struct.unpack(">I", data[4:8])
                entry = data[12:16].decode("latin-1")
                if count != 1:
                    problems.append(f"{box.path}: {count} sample descriptions")
                if entry not in _VIDEO_ENTRIES | _AUDIO_ENTRIES:
                    problems.append(f"{box.path}: unexpected sample entry {entry!r}")
                if entry in _VIDEO_ENTRIES:
                    # the 32-byte compressor name (QuickTime writers put the encoder there)
                    name = data[8 + 50:8 + 82]
                    if any(name):
                        problems.append(f"{box.path}: compressor name {name[1:1 + name[0]]!r}")
        except (struct.error, IndexError):
            # a box too short for its own fields (found by fuzzing): a problem, never a crash
            problems.append(f"{box.path}: box too short for its fields")
    return problems


def nal_units(buf: bytes, annexb: bool) -> list[tuple[int, int]] | None:
    """(start, end) of each NAL unit payload in an H.264 buffer; None if it is not well formed.

    `annexb`: start-code framing (what encoders emit) rather than 4-byte length prefixes (what
    MP4 stores). The caller must know which: an AVCC length of 256..511 bytes looks like a start
    code.
    """
    if annexb:
        if not (buf.startswith(b"\x00\x00\x01") or buf.startswith(b"\x00\x00\x00\x01")):
            return None
        units, pos = [], buf.find(b"\x00\x00\x01")
        while pos != -1:
            begin = pos + 3
            nxt = buf.find(b"\x00\x00\x01", begin)
            stop = len(buf) if nxt == -1 else nxt
            while stop > begin and buf[stop - 1] == 0:   # zero byte of a 4-byte start code
                stop -= 1
            units.append((begin, stop))
            pos = nxt
        return units
    units, pos = [], 0
    while pos + 5 <= len(buf):
        size = int.from_bytes(buf[pos:pos + 4], "big")
        if size == 0 or pos + 4 + size > len(buf):
            return None
        units.append((pos + 4, pos + 4 + size))
        pos += 4 + size
    return units if pos == len(buf) else None


def h264_sei_count(packets) -> int:
    """Number of SEI NAL units (type 6) in H.264 packets as MP4 stores them (length-prefixed)."""
    count = 0
    for pkt in packets:
        buf = bytes(pkt)
        for a, b in nal_units(buf, annexb=False) or ():
            if b > a and buf[a] & 0x1F == 6:
                count += 1
    return count


def stream_problems(path: Path, expect: Expectation) -> list[str]:
    """FFmpeg's view of the output (see module docstring)."""
    import av

    problems: list[str] = []
    with av.open(str(path), metadata_errors="replace") as c:
        if c.format.name.split(",")[0] != "mov":
            problems.append(f"container is {c.format.name}, not MP4")
        for key in c.metadata:
            if key not in ALLOWED_FORMAT_TAGS:
                problems.append(f"container tag {key!r} left")
        if c.chapters():
            problems.append(f"{len(c.chapters())} chapters left")
        videos = [s for s in c.streams if s.type == "video"]
        audios = [s for s in c.streams if s.type == "audio"]
        others = [s for s in c.streams if s.type not in ("video", "audio")]
        if len(videos) != 1:
            problems.append(f"{len(videos)} video streams (expected 1)")
        if len(audios) != expect.audio_streams:
            problems.append(f"{len(audios)} audio streams (expected {expect.audio_streams})")
        for s in others:
            problems.append(f"{s.type} stream #{s.index} left")
        for s in c.streams:
            if s.disposition & av.stream.Disposition.attached_pic:
                problems.append(f"stream #{s.index} is cover art")
            for key, value in s.metadata.items():
                allowed = ALLOWED_STREAM_TAGS.get(key)
                if allowed is None or value not in allowed:
                    problems.append(f"stream #{s.index} tag {key}={value!r} left")
        got_codecs = tuple(s.codec_context.codec.canonical_name for s in audios)
        if expect.audio_codecs and got_codecs != expect.audio_codecs:
            problems.append(f"audio codecs {list(got_codecs)} "
                            f"(expected {list(expect.audio_codecs)})")
        if len(videos) == 1:
            v = videos[0]
            cc = v.codec_context
            if cc.name != "h264":
                problems.append(f"video codec {cc.name} (expected h264)")
            if cc.format is None or cc.format.name != "yuv420p":
                problems.append(f"pixel format {cc.format.name if cc.format else None} "
                                f"(expected yuv420p)")
            if (cc.width, cc.height) != (expect.width, expect.height):
                problems.append(f"video size {cc.width}x{cc.height} "
                                f"(expected {expect.width}x{expect.height})")
            # count packets and look for SEI in them; decode the first frame for a display matrix
            packets = 0
            sei = 0
            first_checked = False
            for pkt in c.demux(v):
                if pkt.size == 0:
                    continue
                packets += 1
                sei += h264_sei_count([pkt])
                if not first_checked:
                    first_checked = True
                    for frame in v.decode(pkt):
                        if frame.rotation:
                            problems.append(f"first frame carries a rotation of {frame.rotation}")
            if expect.video_end is not None and v.duration is not None:
                end = float(((v.start_time or 0) + v.duration) * v.time_base)
                if abs(end - expect.video_end) > expect.duration_tolerance:
                    problems.append(f"pictures end at {end:.3f} s "
                                    f"(expected {expect.video_end:.3f} s)")
            if packets != expect.video_frames:
                problems.append(f"{packets} video frames in the file (wrote {expect.video_frames})")
            if sei:
                problems.append(f"{sei} SEI messages in the H.264 stream")
        if expect.duration is not None:
            got = (c.duration or 0) / 1_000_000
            if abs(got - expect.duration) > expect.duration_tolerance:
                problems.append(f"duration {got:.3f} s (expected {expect.duration:.3f} s)")
    return problems


def output_problems(path: Path, expect: Expectation) -> list[str]:
    """Both checks; an unreadable file is one problem, not an exception."""
    try:
        problems = mp4_problems(path)
    except (OSError, struct.error) as exc:
        return [f"box tree unreadable: {exc}"]
    try:
        problems += stream_problems(path, expect)
    except Exception as exc:  # any FFmpeg failure to re-read our own output is a failure
        problems.append(f"cannot re-read the output: {exc}")
    return problems


# --------------------------------------------------------------------------- the source's
# What a source video carried that its output leaves out, for the report's `removed_metadata`
# (a photo's entry lists what `media.metadata` found; a video's lists this). Names only,
# never values: a value (a place, a name) may itself identify someone.

_MAX_LISTED = 200        # a hostile file may carry thousands of tags


def _tag_name(key: object) -> str:
    text = "".join(c if c.isprintable() else "?" for c in str(key))
    return text if len(text) <= 64 else text[:61] + "..."


def _kept_tag(key: str, value: object, allowed: dict[str, set[str]] | set[str]) -> bool:
    """A structural tag the output carries as well (not metadata of the source)."""
    if isinstance(allowed, set):
        return key in allowed
    return key in allowed and str(value) in allowed[key]


def source_metadata(path: Path) -> list[str]:
    """What the source video at `path` carries besides pictures and sound, all of it left
    out of the output: container tags (location, make, model, creation time, title,
    encoder...), tags of each track (handler names, creation times, timecode...), chapters
    and the tracks that are dropped (data such as GoPro telemetry, subtitles, cover art,
    attachments). Names only (`container tag 'location'`), never their values."""
    import av

    found: list[str] = []
    with av.open(str(path), metadata_errors="replace") as container:
        for key, value in container.metadata.items():
            if not _kept_tag(key, value, ALLOWED_FORMAT_TAGS):
                found.append(f"container tag '{_tag_name(key)}'")
        try:
            chapters = len(container.chapters())
        except Exception:            # an old FFmpeg or a chapter list it cannot read
            chapters = 0
        if chapters:
            found.append(f"chapters ({chapters})")
        for s in container.streams:
            kind = s.type or "unknown"
            if kind == "video" and s.disposition & av.stream.Disposition.attached_pic:
                kind = "cover art"
            if kind not in ("video", "audio"):
                found.append(f"{kind} track {s.index} (dropped)")
            for key, value in s.metadata.items():
                if not _kept_tag(key, value, ALLOWED_STREAM_TAGS):
                    found.append(f"track {s.index} ({kind}) tag '{_tag_name(key)}'")
    if len(found) > _MAX_LISTED:
        found = found[:_MAX_LISTED] + [f"... and {len(found) - _MAX_LISTED} more"]
    return found
