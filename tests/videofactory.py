"""Synthetic test clips made with PyAV: no shared media needed, nothing copied into the repo.

`make_clip(path, ...)` writes a short clip whose *upright* picture (what a viewer sees after
the display rotation) has

- a red square in the top-left corner and a blue square in the top-right corner (so rotation
  and mirroring can be checked on the pixels),
- a white flash on the frame at `flash_at` seconds, and the audio a loud 1 kHz burst starting at
  the same time (A/V sync check), quiet 440 Hz tone elsewhere,
- optional container/stream tags (location, creation time, make, model, handler names...),
  chapters, a timecode track, a data track, a subtitle track and cover art where the muxer
  allows them.

It returns a `Clip` describing what it wrote (timestamps, sizes, what it tried to hide), so
tests can compare an output with the truth instead of with another decoder's opinion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

MARK = 16          # marker square size in pixels
RED = (255, 0, 0)
BLUE = (0, 0, 255)

# A phone's worth of identifying tags (fake, but in the real formats).
PHONE_TAGS = {
    "location": "+59.3293+018.0686+012.000/",
    "location-eng": "+59.3293+018.0686+012.000/",
    "creation_time": "2024-05-17T10:11:12.000000Z",
    "make": "Apple",
    "model": "iPhone 12 Pro",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 12 Pro",
    "com.apple.quicktime.software": "17.4.1",
    "com.apple.quicktime.location.ISO6709": "+59.3293+018.0686+012.000/",
    "com.apple.quicktime.creationdate": "2024-05-17T12:11:12+0200",
    "encoder": "Lavf-fake-camera 1.0",
    "title": "Anna och Pelle på dagverksamheten",
    "comment": "filmed at Solgårdens dagcenter",
    "artist": "Kim Svensson",
}
STREAM_TAGS = {
    "handler_name": "Core Media Video iPhone 12 Pro",
    "creation_time": "2024-05-17T10:11:12.000000Z",
    "encoder": "H.264 iPhone",
    "language": "swe",
}


@dataclass
class Clip:
    path: Path
    width: int                # upright display size
    height: int
    rotation: int             # clockwise degrees a viewer applies (legacy "rotate" tag)
    pts: list[int]            # video timestamps written, in time_base
    time_base: Fraction
    audio: list[str]          # audio codecs written, in stream order
    duration: float           # seconds (last frame end)
    flash_index: int | None
    flash_time: float | None
    extras: list[str] = field(default_factory=list)   # what else was muxed ("chapters", "data"...)


def upright_picture(i: int, w: int, h: int, flash: bool) -> np.ndarray:
    """The picture a viewer should see for frame `i`."""
    img = np.empty((h, w, 3), np.uint8)
    if flash:
        img[:] = 255
    else:
        ramp = np.linspace(40, 200, w, dtype=np.float32)
        img[:] = np.stack([ramp * 0 + 60, ramp, (i * 7) % 200 + 30 + ramp * 0],
                          axis=-1)[None].astype(np.uint8)
    img[:MARK, :MARK] = RED
    img[:MARK, w - MARK:] = BLUE
    return img


def frame_times(n: int, fps: float, vfr: bool) -> list[float]:
    """Presentation times in seconds; VFR alternates short and long frame durations."""
    if not vfr:
        return [i / fps for i in range(n)]
    pattern = [1 / 60, 1 / 30, 1 / 15, 1 / 30, 1 / 24]
    t, out = 0.0, []
    for i in range(n):
        out.append(t)
        t += pattern[i % len(pattern)]
    return out


def _tone(n_samples: int, rate: int, start: int, burst: tuple[int, int] | None) -> np.ndarray:
    t = (np.arange(start, start + n_samples) / rate).astype(np.float64)
    s = 0.05 * np.sin(2 * np.pi * 440 * t)
    if burst is not None:
        b0, b1 = burst
        idx = np.arange(start, start + n_samples)
        loud = (idx >= b0) & (idx < b1)
        s = np.where(loud, 0.8 * np.sin(2 * np.pi * 1000 * t), s)
    return s


def _what_is_inside(path: Path) -> list[str]:
    """What the muxer really kept besides video and audio (some refuse some kinds)."""
    found = []
    with av.open(str(path)) as c:
        if c.chapters():
            found.append("chapters")
        for s in c.streams:
            if s.type == "video" and s.disposition & av.stream.Disposition.attached_pic:
                found.append("cover")
            elif s.type in ("data", "subtitle", "attachment"):
                found.append(s.type)
    return found


def make_clip(path, *, width: int = 320, height: int = 240, n: int = 30, fps: float = 25.0,
              vcodec: str = "libx264", fmt: str | None = None, rotate: int = 0,
              mirror: bool = False, vfr: bool = False, time_base: Fraction | None = None,
              audio: tuple[str, ...] | list[str] = ("aac",), audio_rate: int | None = None,
              channels: int = 2, tags: dict | None = None, stream_tags: dict | None = None,
              chapters: bool = False, timecode: bool = False, data: bool = False,
              subtitle: bool = False, cover: bool = False, flash_at: float | None = 0.4,
              pix_fmt: str = "yuv420p", start_offset: float = 0.0) -> Clip:
    """Write a synthetic clip (see module docstring). `rotate`: clockwise display rotation."""
    path = Path(path)
    # use_metadata_tags: MOV/MP4 also get Apple-style `keys` metadata (mdta), as iPhones write
    opts = ({"movflags": "use_metadata_tags"} if path.suffix.lower() in (".mov", ".mp4", ".m4v")
            else {})
    out = av.open(str(path), "w", format=fmt, container_options=opts)
    extras = []
    if tags:
        out.metadata.update(tags)
    if chapters:
        out.set_chapters([
            {"id": 1, "start": 0, "end": 500, "time_base": Fraction(1, 1000),
             "metadata": {"title": "Anna dansar"}},
            {"id": 2, "start": 500, "end": 1000, "time_base": Fraction(1, 1000),
             "metadata": {"title": "Pelle sjunger"}},
        ])
        extras.append("chapters")

    # stored size: rotated by 90/270 => swapped
    sw, sh = (height, width) if rotate in (90, 270) else (width, height)
    rate = Fraction(fps).limit_denominator(1001)
    opts = {"x265-params": "log-level=error"} if vcodec == "libx265" else None
    vs = out.add_stream(vcodec, rate=rate, options=opts)
    vs.width, vs.height = sw, sh
    vs.pix_fmt = pix_fmt
    tb = time_base or (Fraction(1, 90000) if vfr else Fraction(1, 1) / rate)
    vs.time_base = tb
    vs.codec_context.time_base = tb
    if stream_tags:
        vs.metadata.update(stream_tags)
    if timecode:
        vs.metadata["timecode"] = "10:11:12:13"
        extras.append("timecode")
    if rotate or mirror:
        # PyAV takes counter-clockwise degrees; a viewer turns the picture clockwise by `rotate`
        vs.set_display_rotation(-rotate, hflip=mirror)

    astreams = []
    for codec in audio:
        if codec.startswith("pcm_"):
            a = out.add_stream(codec, rate=audio_rate or 48000)
        elif codec in ("libopus", "opus"):
            a = out.add_stream(codec, rate=48000)
        else:
            a = out.add_stream(codec, rate=audio_rate or 44100)
        a.layout = "mono" if channels == 1 else "stereo"
        if stream_tags:
            a.metadata.update({k: v for k, v in stream_tags.items() if k != "encoder"})
        astreams.append(a)

    if data:
        try:
            ds = out.add_data_stream("bin_data")
            extras.append("data")
        except Exception:
            ds = None
    else:
        ds = None
    if subtitle:
        try:
            mp4like = out.format.name in ("mp4", "mov", "ipod")
            ss = out.add_mux_stream("mov_text" if mp4like else "subrip")
            ss.time_base = Fraction(1, 1000)
            extras.append("subtitle")
        except Exception:
            ss = None
    else:
        ss = None
    cov = None
    if cover:
        try:
            cov = out.add_stream("mjpeg")
            cov.width = cov.height = 64
            cov.pix_fmt = "yuvj420p"
            cov.disposition = av.stream.Disposition.attached_pic
            extras.append("cover")
        except Exception:
            cov = None

    times = frame_times(n, fps, vfr)
    ends = times[1:] + [times[-1] + (times[-1] - times[-2] if n > 1 else 1 / fps)]
    flash_index = None
    if flash_at is not None:
        flash_index = min(range(n), key=lambda i: abs(times[i] - flash_at))
    pts_list = []
    k = {90: 1, 180: 2, 270: 3}.get(rotate, 0)
    offset = round(start_offset / tb)
    for i, t in enumerate(times):
        up = upright_picture(i, width, height, flash=(i == flash_index))
        if mirror:
            up = up[:, ::-1]
        stored = np.ascontiguousarray(np.rot90(up, k))
        f = av.VideoFrame.from_ndarray(stored, format="rgb24")
        if pix_fmt != "rgb24":
            f = f.reformat(format=pix_fmt)
        pts = int(round(t / tb)) + offset
        f.pts = pts
        f.time_base = tb
        pts_list.append(pts)
        out.mux(vs.encode(f))
    out.mux(vs.encode(None))

    duration = ends[-1]
    for a in astreams:
        rate_a = a.codec_context.sample_rate
        total = int(round(duration * rate_a))
        burst = None
        if flash_index is not None:
            b0 = int(round(times[flash_index] * rate_a))
            burst = (b0, b0 + int(0.1 * rate_a))
        chunk = a.codec_context.frame_size or 1024
        pos = 0
        while pos < total:
            m = min(chunk, total - pos)
            s = _tone(m, rate_a, pos, burst).astype(np.float32)
            planes = np.stack([s] * (1 if channels == 1 else 2))
            af = av.AudioFrame.from_ndarray(planes, format="fltp",
                                            layout="mono" if channels == 1 else "stereo")
            af.sample_rate = rate_a
            af.pts = pos + int(round(start_offset * rate_a))
            af.time_base = Fraction(1, rate_a)
            out.mux(a.encode(af))
            pos += m
        out.mux(a.encode(None))

    if ds is not None:
        for i in range(3):
            p = av.Packet(b"GPS5" + bytes(f"+59.3293+018.0686 {i}", "ascii"))
            p.stream = ds
            p.pts = p.dts = i
            p.time_base = Fraction(1, 1)
            try:
                out.mux(p)
            except Exception:
                pass
    if ss is not None:
        try:
            text = b"Anna Svensson"
            p = av.Packet((len(text).to_bytes(2, "big") + text) if mp4like else text)
            p.stream = ss
            p.pts = p.dts = 0
            p.duration = 500
            p.time_base = Fraction(1, 1000)
            out.mux(p)
        except Exception:
            pass
    if cov is not None:
        img = np.full((64, 64, 3), 200, np.uint8)
        cf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuvj420p")
        cf.pts = 0
        for p in cov.encode(cf):
            out.mux(p)
        for p in cov.encode(None):
            out.mux(p)
    out.close()
    extras = _what_is_inside(path)
    return Clip(path=path, width=width, height=height, rotation=rotate, pts=pts_list,
                time_base=tb, audio=list(audio), duration=duration,
                flash_index=flash_index,
                flash_time=times[flash_index] if flash_index is not None else None,
                extras=extras)
